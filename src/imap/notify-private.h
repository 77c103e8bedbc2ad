#ifndef CASELLA_IMAP_NOTIFY_PRIVATE_H
#define CASELLA_IMAP_NOTIFY_PRIVATE_H

#include "imap/notify-session.h"

/*
 * Inside the NOTIFY session: notify-session.c (the request, the notes,
 * STATUS) and notify-lists.c (the mailbox and subscription snapshots and
 * their LIST responses).
 */

struct str;

/* One of the user's mailboxes as the session last reported it. */
struct notify_mailbox {
	int64_t id;
	char *name;   /* stored form, heap */
	bool known;   /* uidnext and highestmodseq are what the client was
	                 told, or what it started from */
	bool counted; /* and so are messages and unseen */
	uint32_t messages, uidnext, unseen;
	uint64_t highestmodseq;
};

/* Mailboxes whose messages changed, remembered one by one up to this;
 * past it the session rechecks them all. */
#define NOTIFY_DIRTY_MAX 32

struct notify_session {
	struct arena *arena; /* the request's memory */
	struct notify_request req;
	int selected_group;  /* index in req.groups, or -1 */
	bool watches_others; /* a group names other mailboxes: the session
	                        has snapshots and is in worker->by_user */

	struct notify_mailbox *mailboxes; /* sorted by name (strcmp) */
	size_t mailbox_count;
	char **subscriptions; /* sorted, heap */
	size_t subscription_count;

	int64_t dirty[NOTIFY_DIRTY_MAX]; /* mailbox ids to recheck */
	size_t dirty_count;
	bool recheck_all;         /* every mailbox, list and subscription */
	bool mailboxes_dirty;     /* the mailbox list */
	bool subscriptions_dirty; /* the subscription list */
	bool overflow;            /* the list grew past the limit */
};

/* The events the groups for other mailboxes ask for name; subscribed:
 * whether it counts as subscribed (RFC 5465 6.4). */
unsigned notify_events_for(const struct notify_session *ns, const char *name,
                           bool subscribed);
bool notify_is_subscribed(const struct notify_session *ns, const char *name);
struct notify_mailbox *notify_find_id(struct notify_session *ns, int64_t id);
/* Writes a stored name as this client reads it. */
void notify_write_name(struct client *client, struct str *out,
                       const char *name);

/* notify-lists.c.  Loading returns 0, or -1 with *error_r; *overflow_r
 * for more than NOTIFY_MAX_MAILBOXES. */
int notify_lists_load(struct client *client, struct notify_session *ns,
                      bool *overflow_r, const char **error_r);
void notify_lists_free(struct notify_session *ns);
/* Compares the store's lists with the snapshots (those marked dirty, or
 * both), sends LIST responses (5.4, 5.5), takes the new lists and marks
 * new mailboxes dirty.  Returns 0 or -1 with *error_r. */
int notify_lists_refresh(struct client *client, struct notify_session *ns,
                         bool mailboxes, bool subscriptions,
                         const char **error_r);
/* Snapshot edits for the session's own changes. */
void notify_lists_add_mailbox(struct notify_session *ns, int64_t id,
                              const char *name);
void notify_lists_remove_mailbox(struct notify_session *ns, const char *name);
void notify_lists_rename(struct notify_session *ns, const char *old_name,
                         const char *new_name);
void notify_lists_subscribe(struct notify_session *ns, const char *name,
                            bool subscribed);

#endif
