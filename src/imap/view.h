#ifndef CASELLA_IMAP_VIEW_H
#define CASELLA_IMAP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;
struct store;
struct seqset;
struct arena;

/*
 * A session's view of its selected mailbox: the sequence-number-to-UID map
 * and the flags as this session last reported them.  Other sessions'
 * changes reach the view only through view_sync(), which sends the
 * untagged EXISTS / EXPUNGE / FETCH responses that bring the client up to
 * date, so sequence numbers never shift under a client unannounced.
 */

struct view_message {
	uint32_t uid;
	uint32_t flags;       /* enum store_flag bits, as last reported */
	const char *keywords; /* interned in the view; "" if none */
	uint64_t modseq;
};

struct mailbox_view {
	struct client *client; /* whose view; it is in the worker's index
	                          of sessions by selected mailbox */
	int64_t mailbox_id;
	char *name; /* stored form, heap */
	uint32_t uidvalidity;
	uint32_t uidnext;              /* first UID not yet in messages[] */
	uint64_t modseq;               /* changes up to here are reflected */
	bool readonly;                 /* EXAMINE */
	struct view_message *messages; /* index = sequence number - 1 */
	size_t count, capacity;
	uint32_t *recent_uids; /* \Recent for this session, ascending */
	size_t recent_count, recent_capacity;
	char **keywords; /* interned keyword sets */
	size_t keyword_count, keyword_capacity;
	char **mailbox_keywords; /* distinct keywords announced in FLAGS */
	size_t mailbox_keyword_count, mailbox_keyword_capacity;
	uint32_t *searchres; /* SEARCHRES "$" saved UIDs, or NULL */
	size_t searchres_count;
};

/* Loads the mailbox, claims \Recent (unless readonly), and sends the
 * SELECT/EXAMINE untagged responses.  Returns 0, or -1 with *error_r. */
struct store_mailbox;
int view_open(struct client *client, const struct store_mailbox *mailbox,
              bool readonly, const char **error_r);
void view_close(struct mailbox_view **view);

/*
 * Sends what changed since the last sync: new messages (EXISTS, and RECENT
 * for rev1), flag changes (FETCH), and if allow_expunge, expunges
 * (EXPUNGE).  Without allow_expunge, expunged messages stay in the view
 * until a later sync.  Returns 0, or -1 with *error_r.
 */
int view_sync(struct client *client, bool allow_expunge, const char **error_r);
/*
 * view_sync() for a push the client did not ask for (RFC 5465 NOTIFY
 * without FlagChange): unless flags_alone, changes that are only flag
 * changes (no new message, and no expunge it may send) are left for a
 * later sync and nothing is sent.
 */
int view_sync_if(struct client *client, bool allow_expunge, bool flags_alone,
                 const char **error_r);

/* Around one hub dispatch round on a worker: sessions whose views stand
 * at the same point of the same mailbox share one fetch of its changes
 * (the results are only used within the round). */
void view_share_begin(void);
void view_share_end(void);

/*
 * RFC 7162 (view-resync.c).  view_send_vanished_earlier() sends
 * "* VANISHED (EARLIER) set" for the UIDs expunged since since_modseq
 * that the view no longer holds, within limit (a resolved UID set) if not
 * NULL; nothing if none.  Returns 0, or -1 with *error_r.
 * view_send_changed_since() sends FETCH (UID FLAGS MODSEQ) for the
 * view's messages changed since since_modseq, within limit.
 * view_condstore_enable() is every CONDSTORE enabling command's (3.1):
 * the first one with a mailbox selected also sends its HIGHESTMODSEQ.
 */
int view_send_vanished_earlier(struct client *client, uint64_t since_modseq,
                               const struct seqset *limit, struct arena *arena,
                               const char **error_r);
void view_send_changed_since(struct client *client, uint64_t since_modseq,
                             const struct seqset *limit);
void view_condstore_enable(struct client *client);

/* Index of the first message with a UID >= uid (view->count if none):
 * messages are ascending by UID. */
size_t view_index_at_or_after(const struct mailbox_view *view, uint32_t uid);
/* Sequence number (1-based) of uid, or 0 if not in the view. */
uint32_t view_seq_of_uid(const struct mailbox_view *view, uint32_t uid);
bool view_is_recent(const struct mailbox_view *view, uint32_t uid);
/* Interns a keyword set so view_message.keywords can point at it. */
const char *view_intern_keywords(struct mailbox_view *view,
                                 const char *keywords);
/* Writes the flag list "(\Seen kw1 ...)" for a message into out; \Recent
 * is added for rev1 clients. */
struct str;
void view_write_flags(const struct client *client,
                      const struct view_message *msg, struct str *out);
/* Updates the cached flags after this session changed them. */
void view_set_flags(struct mailbox_view *view, struct view_message *msg,
                    uint32_t flags, const char *keywords, uint64_t modseq);
/* The message with that UID, or NULL. */
struct view_message *view_find_uid(struct mailbox_view *view, uint32_t uid);

/*
 * Turns a sequence set (uid=false) or UID set (uid=true) from a command
 * into the ascending list of UIDs it names that are in the view.  For
 * sequence sets, numbers beyond the view are an error (*error_r, returns
 * -1) per RFC 9051; UIDs not present are skipped.  "$" uses SEARCHRES.
 */
int view_resolve_set(const struct mailbox_view *view, struct arena *arena,
                     const char *set_text, size_t set_len, bool uid,
                     uint32_t **uids_r, size_t *count_r, const char **error_r);

#endif
