#ifndef CASELLA_STORE_PRIVATE_H
#define CASELLA_STORE_PRIVATE_H

#include <sqlite3.h>

#include "blob.h"
#include "store.h"

/*
 * Internals shared by the SQLite backend's files: store-sqlite.c (handle,
 * statements, transactions, body GC), store-user.c, store-mailbox.c,
 * store-message.c and store-flags.c.  Nothing outside src/store includes
 * this.
 */

/* Longest mailbox or subscription name, in bytes. */
#define STORE_NAME_MAX 1024
/* Highest UID: UIDNEXT must still fit in 32 bits. */
#define STORE_UID_MAX 0xfffffffeu
/* Most messages in one store_append() call. */
#define STORE_APPEND_MAX_COUNT 100000
/* Keywords on one message: how many, and their total bytes. */
#define STORE_KEYWORDS_MAX       256
#define STORE_KEYWORDS_MAX_LEN   16384
#define STORE_BUSY_TIMEOUT_MSECS 10000
/* The longest sleep between two tries for another process's lock. */
#define STORE_BUSY_STEP_US   1000
#define STORE_SCHEMA_VERSION 3

/* Triggers that keep mailboxes.vanished_count (schema 3). */
#define STORE_VANISHED_TRIGGERS_SQL                                            \
	"CREATE TRIGGER expunged_counted_in AFTER INSERT ON expunged BEGIN"    \
	" UPDATE mailboxes SET vanished_count = vanished_count + 1"            \
	" WHERE id = NEW.mailbox_id; END;"                                     \
	"CREATE TRIGGER expunged_counted_out AFTER DELETE ON expunged BEGIN"   \
	" UPDATE mailboxes SET vanished_count = vanished_count - 1"            \
	" WHERE id = OLD.mailbox_id; END;"

/* Cached prepared statements; SQL text is in store-sqlite.c. */
enum store_stmt {
	STMT_BEGIN_READ,
	STMT_BEGIN_WRITE,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_META_GET,
	STMT_META_SET,
	STMT_USER_GET,
	STMT_USER_EXISTS,
	STMT_USER_INSERT,
	STMT_USER_LIST,
	STMT_USER_DELETE,
	STMT_USER_MAILBOXES,
	STMT_SUB_ADD,
	STMT_SUB_REMOVE,
	STMT_SUB_LIST,
	STMT_SUB_DELETE_USER,
	STMT_MAILBOX_BY_NAME,
	STMT_MAILBOX_BY_ID,
	STMT_MAILBOX_LIST,
	STMT_MAILBOX_CHILDREN,
	STMT_MAILBOX_INSERT,
	STMT_MAILBOX_SET_COUNTERS,
	STMT_MAILBOX_SET_RECENT,
	STMT_MAILBOX_SET_NAME,
	STMT_MAILBOX_DELETE,
	STMT_MAILBOX_COUNTS,
	STMT_MAILBOX_BLOBS,
	STMT_MAILBOX_DELETE_MESSAGES,
	STMT_MAILBOX_DELETE_EXPUNGED,
	STMT_MAILBOX_RENUMBER_INTO,
	STMT_MAILBOX_EXPUNGE_ALL,
	STMT_MESSAGES_LOAD,
	STMT_MESSAGES_CHANGED,
	STMT_MESSAGES_DELETED,
	STMT_MESSAGE_GET,
	STMT_MESSAGE_INSERT,
	STMT_MESSAGE_SET_FLAGS,
	STMT_MESSAGE_DELETE,
	STMT_EXPUNGED_INSERT,
	STMT_EXPUNGED_SINCE,
	STMT_EXPUNGED_PRUNE_POINT,
	STMT_EXPUNGED_PRUNE,
	STMT_MAILBOX_SET_FLOOR,
	STMT_BLOB_REFERENCED,
	STMT_FACTS_INSERT,
	STMT_FACTS_TEXT_INSERT,
	STMT_FACTS_PENDING,
	STMT_FACTS_SET_INDEXED,
	STMT_FACTS_GET,
	STMT_FACTS_TEXT_DELETE,
	STMT_FACTS_DELETE,
	STMT_FACTS_FOUND,
	STMT_FACTS_UNSURE,
	STORE_STMT_COUNT
};

struct store {
	char *data_dir; /* heap copy of the path given to open */
	sqlite3 *db;
	sqlite3_stmt *stmts[STORE_STMT_COUNT]; /* prepared on first use */
	store_change_hook *hook;
	void *hook_context;
	/* Bodies whose rows went away in the current transaction; checked
	 * and removed by store_gc_run() after the commit. */
	char (*gc_ids)[BLOB_ID_LEN + 1];
	size_t gc_count, gc_capacity;
	char error[512];   /* the message *error_r points to */
	bool write_locked; /* holds the process's writer mutex */
};

/* A mailbox's counters as read inside a transaction. */
struct store_mailbox_row {
	int64_t id;
	int64_t user_id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t recent_uid; /* first UID not yet claimed as \Recent */
	uint64_t highestmodseq;
	uint64_t vanished_floor; /* expunges up to here are forgotten */
	uint64_t vanished_count; /* rows in expunged */
};

/* A heap array that grows by doubling; results are copied to the
 * caller's arena at the end.  Zeroed slots. */
struct store_vec {
	void *data;
	size_t count, capacity;
	size_t elem_size;
};

void store_vec_init(struct store_vec *vec, size_t elem_size);
void *store_vec_push(struct store_vec *vec);
/* Copies the elements into the arena (non-NULL even when empty) and frees
 * the heap array. */
void *store_vec_finish(struct store_vec *vec, struct arena *arena,
                       size_t *count_r);
void store_vec_free(struct store_vec *vec);

/* Returns the cached statement, reset and with bindings cleared, or NULL
 * with store->error set. */
sqlite3_stmt *store_stmt(struct store *store, enum store_stmt id);

/* Formats store->error and returns ret. */
enum store_result store_fail(struct store *store, enum store_result ret,
                             const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* store_fail(STORE_ERROR) with SQLite's message after what. */
enum store_result store_sql_fail(struct store *store, const char *what);
/* Points *error_r at store->error unless ret is STORE_OK; returns ret. */
enum store_result store_result(struct store *store, enum store_result ret,
                               const char **error_r);

/* Steps a statement that returns no rows, then resets it. */
enum store_result store_step_done(struct store *store, sqlite3_stmt *stmt,
                                  const char *what);

/* BEGIN IMMEDIATE (write) takes the write lock up front, so a writer never
 * fails half-way on a lock upgrade; BEGIN (read) gives a snapshot. */
enum store_result store_tx_begin(struct store *store, bool write);
/* Commits if ret is STORE_OK, else rolls back; returns the outcome. */
enum store_result store_tx_end(struct store *store, enum store_result ret);

/* Body GC, see struct store.gc_ids. */
void store_gc_add(struct store *store, const char *blob_id);
/* Facts (store-facts.c).  prepare runs the builder before the write lock;
 * insert (under it) stores them unless the body has some already; delete
 * drops them with the body. */
void store_facts_prepare(struct arena *arena, const void *data, size_t len,
                         struct store_body_facts *facts_r);
enum store_result store_facts_insert(struct store *store, const char *blob_id,
                                     const struct store_body_facts *facts);
enum store_result store_facts_delete(struct store *store, const char *blob_id);
void store_gc_run(struct store *store);
void store_gc_forget(struct store *store);

/* Calls the change hook, if any. */
void store_changed(struct store *store, enum store_change_kind kind,
                   int64_t user_id, int64_t mailbox_id);

/* Inside a transaction. */
enum store_result store_mailbox_row_get(struct store *store, int64_t mailbox_id,
                                        struct store_mailbox_row *row_r);
enum store_result store_mailbox_row_save(struct store *store,
                                         const struct store_mailbox_row *row);
enum store_result store_mailbox_insert(struct store *store, int64_t user_id,
                                       const char *name, unsigned special_use,
                                       int64_t *mailbox_id_r);
/* Deletes a mailbox with its messages and expunge records, queueing its
 * bodies for GC. */
enum store_result store_mailbox_purge(struct store *store, int64_t mailbox_id);

/* Normalises a space-separated keyword list into a heap string: sorted,
 * without ASCII-case-insensitive duplicates (the first spelling wins).
 * STORE_LIMIT past STORE_KEYWORDS_MAX or STORE_KEYWORDS_MAX_LEN. */
enum store_result store_keywords_normalize(struct store *store,
                                           const char *keywords,
                                           char **result_r);
/* Fills msg from a row of MESSAGE_COLUMNS (uid, flags, keywords, modseq,
 * internaldate, internaldate_tz, size, blob_id), strings in the arena. */
void store_message_from_row(sqlite3_stmt *stmt, struct arena *arena,
                            struct store_message *msg);
/* Reads one message inside a transaction; STORE_NOT_FOUND if absent. */
enum store_result store_message_get(struct store *store, int64_t mailbox_id,
                                    uint32_t uid, struct arena *arena,
                                    struct store_message *msg_r);

/* Bounds the expunge history of a mailbox (store-message.c). */
enum store_result store_vanished_prune(struct store *store, int64_t mailbox_id);

#endif
