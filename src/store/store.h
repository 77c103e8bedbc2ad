#ifndef CASELLA_STORE_H
#define CASELLA_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/*
 * The storage interface.  Protocol code talks only to this header; the
 * embedded backend (SQLite metadata + immutable body files) implements it
 * in store-sqlite.c, and a PostgreSQL backend can implement it later.
 *
 * A struct store is one handle, used by one thread at a time; each server
 * thread opens its own.  Several handles and several processes (the server,
 * `casella deliver`) may use one data directory at once: every change is
 * one transaction, and UIDs are never reused.
 *
 * Mailbox names here are already normalised by the protocol layer: UTF-8,
 * "/" as hierarchy separator, "INBOX" spelled in capitals.  Names are data
 * only; they never become file paths.
 *
 * Errors: functions return an enum store_result.  STORE_ERROR means the
 * environment failed (I/O, disk full, database busy beyond the timeout);
 * *error_r then points to a static or store-owned message valid until the
 * next call on the same handle.  Memory for results comes from the arena
 * the caller passes and lives as long as it.
 */

enum store_result {
	STORE_OK = 0,
	STORE_NOT_FOUND, /* no such user/mailbox/message */
	STORE_EXISTS,    /* the name is taken */
	STORE_DENIED,    /* bad password; or an operation not allowed */
	STORE_LIMIT,     /* a limit was reached (e.g. UIDs exhausted) */
	STORE_CONFLICT,  /* compare-and-swap found another value */
	STORE_ERROR,     /* environment failure, see *error_r */
};

/* System flags, stored as a bitmask. \Recent is not stored here. */
enum store_flag {
	STORE_FLAG_SEEN = 0x01,
	STORE_FLAG_ANSWERED = 0x02,
	STORE_FLAG_FLAGGED = 0x04,
	STORE_FLAG_DELETED = 0x08,
	STORE_FLAG_DRAFT = 0x10,
};
#define STORE_FLAGS_ALL 0x1f

/* RFC 6154 special-use attributes of a mailbox. */
enum store_special_use {
	STORE_SPECIAL_ALL = 0x01,
	STORE_SPECIAL_ARCHIVE = 0x02,
	STORE_SPECIAL_DRAFTS = 0x04,
	STORE_SPECIAL_FLAGGED = 0x08,
	STORE_SPECIAL_JUNK = 0x10,
	STORE_SPECIAL_SENT = 0x20,
	STORE_SPECIAL_TRASH = 0x40,
};

struct store_mailbox {
	int64_t id; /* never reused, even after delete */
	const char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highestmodseq;
	unsigned special_use; /* enum store_special_use bits */
};

struct store_status {
	uint32_t messages;
	uint32_t recent;  /* messages not yet claimed as \Recent */
	uint32_t unseen;  /* messages without \Seen */
	uint32_t deleted; /* messages with \Deleted */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t size; /* sum of RFC822.SIZE */
	uint64_t highestmodseq;
	/* Expunges with a modseq up to this one are no longer remembered
	 * (store_set_vanished_max()): changes since an older modseq can't
	 * list what was expunged. */
	uint64_t vanished_floor;
};

struct store_message {
	uint32_t uid;
	uint32_t flags;          /* enum store_flag bits */
	const char *keywords;    /* sorted, space-separated; "" if none */
	uint64_t modseq;         /* RFC 7162 mod-sequence of the last change */
	int64_t internaldate;    /* seconds since the epoch, UTC */
	int32_t internaldate_tz; /* zone offset in minutes, e.g. +120 */
	uint64_t size;           /* RFC822.SIZE: exact byte count of the body */
	const char *blob_id;     /* names the immutable body, hex */
};

/*
 * What is derived from a message body, so that FETCH of ENVELOPE and
 * BODYSTRUCTURE and SEARCH of text read no bodies: the IMAP ENVELOPE,
 * BODY and BODYSTRUCTURE strings, computed when the body is stored, and
 * the decoded UTF-8 text of the headers and of the text parts for the
 * full-text index, computed in the background (store_index_pending()).
 * Facts belong to a body, so copies share them.
 */
struct store;

struct store_body_facts {
	const char *envelope;      /* "(date subject ...)" or NULL */
	const char *body;          /* BODY (no extension data) or NULL */
	const char *bodystructure; /* BODYSTRUCTURE or NULL */
	const char *header_text;   /* decoded headers, or NULL */
	const char *body_text;     /* decoded text parts, or NULL */
	bool indexed;              /* the index holds all of the text, so
	                              searches may trust it for this body */
};

/* Fills in facts for one body; strings are allocated from arena.  The
 * programs (server, admin tool) install one builder for the structure
 * strings, run as a body is stored, and one for the texts, run by the
 * indexer; without them, bodies are searched by reading them. */
typedef void store_facts_builder(struct arena *arena, const char *data,
                                 size_t len, struct store_body_facts *facts_r);
void store_set_facts_builder(store_facts_builder *builder);
/* How many expunged UIDs a mailbox remembers for QRESYNC (RFC 7162
 * 3.2.5) and for sessions catching up; beyond it the oldest quarter is
 * forgotten and vanished_floor rises.  Default STORE_VANISHED_MAX. */
#define STORE_VANISHED_MAX 50000
void store_set_vanished_max(uint64_t max);
void store_set_text_builder(store_facts_builder *builder);

/* Indexes up to max bodies stored since the last call (oldest first), in
 * one transaction, with the text builder.  *indexed_r tells how many were
 * done; fewer than max means the index has caught up. */
enum store_result store_index_pending(struct store *store, size_t max,
                                      size_t *indexed_r, const char **error_r);

struct store_append_request {
	const void *data; /* the message, exactly as received */
	size_t len;
	uint32_t flags;
	const char *keywords; /* space-separated, validated by the caller */
	int64_t internaldate;
	int32_t internaldate_tz;
};

enum store_flags_mode {
	STORE_FLAGS_ADD,
	STORE_FLAGS_REMOVE,
	STORE_FLAGS_REPLACE,
};

struct store;

/* What one committed change touched, for the change hook. */
enum store_change_kind {
	STORE_CHANGE_MESSAGES,     /* appended, flags changed, expunged,
	                              copied or moved in or out */
	STORE_CHANGE_CREATED,      /* the mailbox was created */
	STORE_CHANGE_DELETED,      /* it was deleted (maybe with its user) */
	STORE_CHANGE_RENAMED,      /* it has a new name */
	STORE_CHANGE_SUBSCRIPTION, /* the user's subscriptions changed;
	                              mailbox_id is 0 */
};

struct store_change {
	enum store_change_kind kind;
	int64_t user_id;    /* whose mailbox or subscriptions */
	int64_t mailbox_id; /* 0 for STORE_CHANGE_SUBSCRIPTION */
};

/* Called after each committed change, once per mailbox it touched (a
 * rename of a tree: once per renamed mailbox), so sessions watching the
 * mailbox or the user can be told.  Not called when nothing changed. */
typedef void store_change_hook(void *context,
                               const struct store_change *change);

/* SQLite's temporary files (statement journals, big sorts, index
 * merges) go to DATA/tmp, the one place a caged process may write; call
 * before the first store_open() of a process. */
void store_use_private_tmp(const char *data_dir);
/* Opens (creating if needed) the store in data_dir. */
enum store_result store_open(const char *data_dir, struct store **store_r,
                             const char **error_r);
void store_close(struct store **store);
void store_set_change_hook(struct store *store, store_change_hook *hook,
                           void *context);

/* Users.  add also creates the user's INBOX.  Their secrets are not
 * here but in the credential store (store/cred.h), which the mail
 * process never opens. */
/* 1..64 bytes of [A-Za-z0-9._@+-], not starting with '.'. */
bool store_user_name_valid(const char *name);
enum store_result store_user_add(struct store *store, const char *name,
                                 const char **error_r);
enum store_result store_user_delete(struct store *store, const char *name,
                                    const char **error_r);
enum store_result store_user_list(struct store *store, struct arena *arena,
                                  const char ***names_r, size_t *count_r,
                                  const char **error_r);
enum store_result store_user_lookup(struct store *store, const char *name,
                                    int64_t *user_id_r, const char **error_r);

/*
 * Brings an older data directory up to date before anything opens it:
 * schema 1 kept password hashes in casella.db; they move to the
 * credential store.  Run by casellad's master and by the admin tool.
 */
enum store_result store_upgrade(const char *data_dir, const char **error_r);

/* Mailboxes.  list returns all of a user's mailboxes sorted by name. */
enum store_result store_mailbox_list(struct store *store, int64_t user_id,
                                     struct arena *arena,
                                     struct store_mailbox **mailboxes_r,
                                     size_t *count_r, const char **error_r);
enum store_result store_mailbox_find(struct store *store, int64_t user_id,
                                     const char *name, struct arena *arena,
                                     struct store_mailbox *mailbox_r,
                                     const char **error_r);
enum store_result store_mailbox_create(struct store *store, int64_t user_id,
                                       const char *name, unsigned special_use,
                                       int64_t *mailbox_id_r,
                                       const char **error_r);
/* Deletes the mailbox and its messages (bodies no longer referenced are
 * removed).  Children are not touched.  INBOX can't be deleted:
 * STORE_DENIED. */
enum store_result store_mailbox_delete(struct store *store, int64_t user_id,
                                       const char *name, const char **error_r);
/* Renames old_name and every "old_name/..." child to the new name.
 * Renaming INBOX creates new_name, moves INBOX's messages there (with new
 * UIDs) and leaves INBOX empty, per RFC 9051 6.3.6.  STORE_NOT_FOUND if
 * old_name doesn't exist, STORE_EXISTS if new_name (or a renamed child's
 * new name) does. */
enum store_result store_mailbox_rename(struct store *store, int64_t user_id,
                                       const char *old_name,
                                       const char *new_name,
                                       const char **error_r);
/* The user a mailbox belongs to: fixed for the mailbox's life, and ids
 * are never reused, so callers may cache the answer. */
enum store_result store_mailbox_owner(struct store *store, int64_t mailbox_id,
                                      int64_t *user_id_r, const char **error_r);
enum store_result store_mailbox_status(struct store *store, int64_t mailbox_id,
                                       struct store_status *status_r,
                                       const char **error_r);
/* Only what the mailbox row holds (UIDNEXT, UIDVALIDITY, HIGHESTMODSEQ,
 * and as recent the number of UIDs not yet claimed as \Recent): cheap,
 * unlike store_mailbox_status(), which counts messages.  The other fields
 * of *status_r are zero. */
enum store_result store_mailbox_counters(struct store *store,
                                         int64_t mailbox_id,
                                         struct store_status *status_r,
                                         const char **error_r);
/* Atomically claims the messages not yet seen as \Recent by any session:
 * on return, UIDs in [*first_uid_r, *end_uid_r) are recent for the caller
 * alone. */
enum store_result store_mailbox_claim_recent(struct store *store,
                                             int64_t mailbox_id,
                                             uint32_t *first_uid_r,
                                             uint32_t *end_uid_r,
                                             const char **error_r);

/* Subscriptions are names, independent of whether the mailbox exists. */
enum store_result store_subscription_set(struct store *store, int64_t user_id,
                                         const char *name, bool subscribed,
                                         const char **error_r);
enum store_result store_subscription_list(struct store *store, int64_t user_id,
                                          struct arena *arena,
                                          const char ***names_r,
                                          size_t *count_r,
                                          const char **error_r);

/* Messages with uid >= min_uid, ascending by UID. */
enum store_result store_messages_load(struct store *store, int64_t mailbox_id,
                                      uint32_t min_uid, struct arena *arena,
                                      struct store_message **messages_r,
                                      size_t *count_r, const char **error_r);
/* The messages with the given UIDs (ascending); UIDs that don't exist
 * are skipped, so *count_r may be smaller than uid_count. */
enum store_result store_messages_get(struct store *store, int64_t mailbox_id,
                                     const uint32_t *uids, size_t uid_count,
                                     struct arena *arena,
                                     struct store_message **messages_r,
                                     size_t *count_r, const char **error_r);
/* Messages with modseq > since_modseq and uid < below_uid, ascending. */
enum store_result
store_messages_changed(struct store *store, int64_t mailbox_id,
                       uint64_t since_modseq, uint32_t below_uid,
                       struct arena *arena, struct store_message **messages_r,
                       size_t *count_r, const char **error_r);
/* UIDs expunged with modseq > since_modseq, ascending.  Complete only if
 * since_modseq >= the mailbox's vanished_floor (struct store_status). */
enum store_result
store_messages_expunged_since(struct store *store, int64_t mailbox_id,
                              uint64_t since_modseq, struct arena *arena,
                              uint32_t **uids_r, size_t *count_r,
                              const char **error_r);

/* Appends count messages in one transaction (MULTIAPPEND is all or
 * nothing).  Bodies are written and fsynced before the commit, which is
 * durable (synchronous=FULL) when this returns STORE_OK.  uids_r has room
 * for count UIDs. */
enum store_result store_append(struct store *store, int64_t mailbox_id,
                               const struct store_append_request *requests,
                               size_t count, uint32_t *uids_r,
                               uint32_t *uidvalidity_r, const char **error_r);

/* One message into several mailboxes (an LMTP transaction's recipients):
 * the body is stored once and shared.  mailbox_ids must be distinct;
 * uids_r has room for mailbox_count UIDs, one per mailbox. */
struct store_delivery {
	struct store_append_request request;
	const int64_t *mailbox_ids;
	size_t mailbox_count;
	uint32_t *uids_r;
};
/* Several deliveries in one transaction, all or nothing: one commit (one
 * fsync of the log) for every LMTP transaction that ended together, the
 * group commit of deliveries. */
enum store_result store_deliver(struct store *store,
                                const struct store_delivery *deliveries,
                                size_t count, const char **error_r);
/* Changes flags and keywords of the given UIDs (ascending; UIDs that no
 * longer exist are skipped).  Messages whose flags really change get a new
 * modseq and are returned in *changed_r; if unchanged_since is non-zero,
 * messages with modseq > unchanged_since are left alone and their UIDs are
 * returned in *failed_r (RFC 7162 CONDSTORE). */
enum store_result store_flags_update(
    struct store *store, int64_t mailbox_id, const uint32_t *uids,
    size_t uid_count, enum store_flags_mode mode, uint32_t flags,
    const char *keywords, uint64_t unchanged_since, struct arena *arena,
    struct store_message **changed_r, size_t *changed_count_r,
    uint32_t **failed_r, size_t *failed_count_r, const char **error_r);

/* Copies (or with move, moves) the given UIDs (ascending) to dst, sharing
 * bodies.  *count_r returns how many existed and were copied; src_uids_r
 * and dst_uids_r (arena) list them pairwise, for COPYUID.  A move records
 * the source UIDs as expunged. */
enum store_result
store_messages_copy(struct store *store, int64_t src_id, const uint32_t *uids,
                    size_t uid_count, int64_t dst_id, bool move,
                    struct arena *arena, uint32_t **src_uids_r,
                    uint32_t **dst_uids_r, size_t *count_r,
                    uint32_t *dst_uidvalidity_r, const char **error_r);

/* Expunges messages with \Deleted; if only_uids is non-NULL, only those of
 * them in only_uids (ascending).  Returns the expunged UIDs ascending. */
enum store_result store_expunge(struct store *store, int64_t mailbox_id,
                                const uint32_t *only_uids, size_t only_count,
                                struct arena *arena, uint32_t **expunged_r,
                                size_t *expunged_count_r, const char **error_r);

/* The facts stored with a body: STORE_NOT_FOUND if it has none. */
enum store_result store_body_facts_get(struct store *store, const char *blob_id,
                                       struct arena *arena,
                                       struct store_body_facts *facts_r,
                                       const char **error_r);

enum store_text_field {
	STORE_TEXT_HEADER, /* decoded headers */
	STORE_TEXT_BODY,   /* decoded text parts */
	STORE_TEXT_ANY,    /* either */
};

/*
 * Full-text lookup over the text the facts builder indexed.  *found_r
 * gets the UIDs (ascending) of the mailbox's messages whose indexed text
 * of that field contains needle as a byte substring (the builder stores
 * text already case-folded, and callers fold needle the same way, so this
 * is exactly what a scan of that text would find).  *unsure_r gets the
 * messages whose body is not fully indexed, which the index can't speak
 * for: callers must read those.  *usable_r is false when the index can't
 * answer at all (needle under 3 characters): then scan everything.
 */
enum store_result store_text_search(struct store *store, int64_t mailbox_id,
                                    enum store_text_field field,
                                    const char *needle, struct arena *arena,
                                    bool *usable_r, uint32_t **found_r,
                                    size_t *found_count_r, uint32_t **unsure_r,
                                    size_t *unsure_count_r,
                                    const char **error_r);

/* Maps a message body read-only.  An empty body maps to a non-NULL
 * pointer and length 0.  Unmap with store_body_unmap(). */
enum store_result store_body_map(struct store *store, const char *blob_id,
                                 const char **data_r, size_t *len_r,
                                 const char **error_r);
void store_body_unmap(const char *data, size_t len);

#endif
