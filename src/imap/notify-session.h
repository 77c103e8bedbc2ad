#ifndef CASELLA_IMAP_NOTIFY_SESSION_H
#define CASELLA_IMAP_NOTIFY_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct client;
struct fetch_item;
struct notify_session;

/*
 * What a session asked for with NOTIFY SET (RFC 5465), and what it last
 * told the client about its other mailboxes.
 *
 * The session keeps a snapshot of its user's mailboxes (ids, names, the
 * counts it last reported) and subscriptions.  A change from the hub only
 * marks what to look at again; notify_session_flush() then compares the
 * store with the snapshot and sends STATUS (5.1-5.3) and LIST (5.4, 5.5)
 * responses for the differences.  So changes that were coalesced, or lost
 * to a full queue (notify_session_note_all()), still end in the right
 * state.  The selected mailbox is the view's business (imap/view.h); this
 * only says which events the client wants for it.
 */

/* Event types (RFC 5465 5), as bits. */
enum notify_event {
	NOTIFY_EVENT_MESSAGE_NEW = 0x01,
	NOTIFY_EVENT_MESSAGE_EXPUNGE = 0x02,
	NOTIFY_EVENT_FLAG_CHANGE = 0x04,
	NOTIFY_EVENT_ANNOTATION_CHANGE = 0x08,
	NOTIFY_EVENT_MAILBOX_NAME = 0x10,
	NOTIFY_EVENT_SUBSCRIPTION_CHANGE = 0x20,
	NOTIFY_EVENT_MAILBOX_METADATA_CHANGE = 0x40,
	NOTIFY_EVENT_SERVER_METADATA_CHANGE = 0x80,
};
/* RFC 5465 8 message-event. */
#define NOTIFY_EVENT_MESSAGE                                                   \
	(NOTIFY_EVENT_MESSAGE_NEW | NOTIFY_EVENT_MESSAGE_EXPUNGE |             \
	 NOTIFY_EVENT_FLAG_CHANGE | NOTIFY_EVENT_ANNOTATION_CHANGE)
/* The events this server can report; the others get NO [BADEVENT]. */
#define NOTIFY_EVENT_SUPPORTED                                                 \
	(NOTIFY_EVENT_MESSAGE_NEW | NOTIFY_EVENT_MESSAGE_EXPUNGE |             \
	 NOTIFY_EVENT_FLAG_CHANGE | NOTIFY_EVENT_MAILBOX_NAME |                \
	 NOTIFY_EVENT_SUBSCRIPTION_CHANGE)

/* Mailbox specifiers (RFC 5465 6). */
enum notify_filter {
	NOTIFY_FILTER_SELECTED,         /* 6.1 */
	NOTIFY_FILTER_SELECTED_DELAYED, /* 6.1, expunges held back */
	NOTIFY_FILTER_INBOXES,          /* 6.3 */
	NOTIFY_FILTER_PERSONAL,         /* 6.2 */
	NOTIFY_FILTER_SUBSCRIBED,       /* 6.4 */
	NOTIFY_FILTER_SUBTREE,          /* 6.5 */
	NOTIFY_FILTER_MAILBOXES,        /* 6.6 */
};

struct notify_group {
	enum notify_filter filter;
	unsigned events;    /* enum notify_event bits; 0 for NONE */
	const char **names; /* SUBTREE, MAILBOXES: stored form; a name the
	                       client could not have meant (bad mUTF-7)
	                       is left out, as 6.6 says to ignore it */
	size_t name_count;
};

/* A parsed NOTIFY SET; all memory in the arena given with it. */
struct notify_request {
	bool status; /* the STATUS indicator (3.1) */
	struct notify_group *groups;
	size_t group_count;
	/* 5.2: MessageNew's fetch attributes, for the selected mailbox */
	struct fetch_item *new_fetch;
	size_t new_fetch_count;
};

/* More mailboxes than this for one session: NOTIFICATIONOVERFLOW. */
#define NOTIFY_MAX_MAILBOXES 10000

enum notify_set_result {
	NOTIFY_SET_OK,
	NOTIFY_SET_OVERFLOW, /* too many mailboxes: NO [NOTIFICATIONOVERFLOW] */
	NOTIFY_SET_ERROR,    /* store failure, *error_r */
};

/*
 * NOTIFY SET: replaces the session's request with req (the session takes
 * arena, which holds req, and frees it later) and loads the snapshot;
 * with the STATUS indicator, queues a STATUS response for each watched
 * mailbox but the selected one (3.1).  On failure the session keeps no
 * NOTIFY state and arena is freed.
 */
enum notify_set_result notify_session_set(struct client *client,
                                          struct arena *arena,
                                          const struct notify_request *req,
                                          const char **error_r);
/* NOTIFY NONE, or the end of the session. */
void notify_session_clear(struct client *client);
void notify_session_free(struct notify_session **session);

/* What the worker saw for this session's user (mail/hub.h): messages of
 * one mailbox, the mailbox list, the subscriptions, or (changes were
 * lost) everything. */
void notify_session_note_mailbox(struct notify_session *session,
                                 int64_t mailbox_id);
void notify_session_note_mailboxes(struct notify_session *session);
void notify_session_note_subscriptions(struct notify_session *session);
void notify_session_note_all(struct notify_session *session);

/* Sends STATUS and LIST responses for what changed since the last time
 * (nothing if nothing was noted). */
void notify_session_flush(struct client *client);

/* The events asked for the selected mailbox (0 for none), and whether
 * through selected-delayed. */
unsigned notify_session_selected_events(const struct notify_session *session,
                                        bool *delayed_r);
/* After a sync of the selected mailbox: FETCH responses with MessageNew's
 * fetch attributes for the messages from first_uid on (5.2). */
void notify_session_announce_new(struct client *client, uint32_t first_uid);

/*
 * The session itself changed its mailboxes or subscriptions (RFC 5465 5:
 * the client is not told of its own changes): the snapshot takes the
 * change, so the later comparison finds nothing to report.  No-ops
 * without NOTIFY.
 */
void notify_session_own_create(struct client *client, int64_t mailbox_id,
                               const char *name);
void notify_session_own_delete(struct client *client, const char *name);
void notify_session_own_rename(struct client *client, const char *old_name,
                               const char *new_name);
void notify_session_own_subscribe(struct client *client, const char *name,
                                  bool subscribed);

/* Writes "* n FETCH (...)" with items for each of the selected mailbox's
 * messages uids (ascending, in the view); in src/cmd/notify-fetch.c,
 * which knows FETCH's attributes. */
void notify_fetch_write(struct client *client, const struct fetch_item *items,
                        size_t item_count, const uint32_t *uids,
                        size_t uid_count);

#endif
