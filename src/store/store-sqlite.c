/*
 * The embedded store: the handle, the schema, cached statements,
 * transactions and body garbage collection.  Users, mailboxes and
 * messages live in store-user.c, store-mailbox.c, store-message.c and
 * store-flags.c.  docs/store.md describes the layout and why it is
 * crash-safe.
 */
#include "store-private.h"

#include <pthread.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "util.h"

/* Bodies checked per GC transaction, so other writers get a turn. */
#define STORE_GC_BATCH 256

#define MESSAGE_COLUMNS                                                        \
	"uid, flags, keywords, modseq, internaldate, internaldate_tz, size, "  \
	"blob_id"

static const char *const store_stmt_sql[STORE_STMT_COUNT] = {
    [STMT_BEGIN_READ] = "BEGIN",
    [STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [STMT_COMMIT] = "COMMIT",
    [STMT_ROLLBACK] = "ROLLBACK",
    [STMT_META_GET] = "SELECT value FROM meta WHERE key = ?1",
    [STMT_META_SET] = "UPDATE meta SET value = ?2 WHERE key = ?1",
    [STMT_USER_GET] = "SELECT id FROM users WHERE name = ?1",
    [STMT_USER_EXISTS] = "SELECT 1 FROM users WHERE id = ?1",
    [STMT_USER_INSERT] = "INSERT INTO users (name) VALUES (?1)",
    [STMT_USER_LIST] = "SELECT name FROM users ORDER BY name",
    [STMT_USER_DELETE] = "DELETE FROM users WHERE id = ?1",
    [STMT_USER_MAILBOXES] = "SELECT id FROM mailboxes WHERE user_id = ?1",
    [STMT_SUB_ADD] = "INSERT INTO subscriptions (user_id, name) "
                     "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [STMT_SUB_REMOVE] =
        "DELETE FROM subscriptions WHERE user_id = ?1 AND name = ?2",
    [STMT_SUB_LIST] = "SELECT name FROM subscriptions WHERE user_id = ?1 "
                      "ORDER BY name",
    [STMT_SUB_DELETE_USER] = "DELETE FROM subscriptions WHERE user_id = ?1",
    [STMT_MAILBOX_BY_NAME] =
        "SELECT id, uidvalidity, uidnext, highestmodseq, special_use "
        "FROM mailboxes WHERE user_id = ?1 AND name = ?2",
    [STMT_MAILBOX_BY_ID] =
        "SELECT uidvalidity, uidnext, highestmodseq, recent_uid, user_id, "
        "vanished_floor, vanished_count FROM mailboxes WHERE id = ?1",
    [STMT_MAILBOX_LIST] = "SELECT id, name, uidvalidity, uidnext, "
                          "highestmodseq, special_use FROM mailboxes "
                          "WHERE user_id = ?1 ORDER BY name",
    /* name in [?2, ?3) is a byte-wise prefix match, see rename. */
    [STMT_MAILBOX_CHILDREN] =
        "SELECT id, name FROM mailboxes WHERE user_id = ?1 "
        "AND name >= ?2 AND name < ?3",
    [STMT_MAILBOX_INSERT] =
        "INSERT INTO mailboxes (user_id, name, uidvalidity, uidnext, "
        "highestmodseq, recent_uid, special_use) "
        "VALUES (?1, ?2, ?3, 1, 1, 1, ?4)",
    [STMT_MAILBOX_SET_COUNTERS] = "UPDATE mailboxes SET uidnext = ?2, "
                                  "highestmodseq = ?3 WHERE id = ?1",
    [STMT_MAILBOX_SET_RECENT] =
        "UPDATE mailboxes SET recent_uid = ?2 WHERE id = ?1",
    [STMT_MAILBOX_SET_NAME] = "UPDATE mailboxes SET name = ?2 WHERE id = ?1",
    [STMT_MAILBOX_DELETE] = "DELETE FROM mailboxes WHERE id = ?1",
    [STMT_MAILBOX_COUNTS] =
        "SELECT message_count, (SELECT count(*) FROM messages "
        "WHERE mailbox_id = ?1 AND uid >= ?2), unseen_count, "
        "deleted_count, total_size FROM mailboxes WHERE id = ?1",
    [STMT_MAILBOX_BLOBS] =
        "SELECT DISTINCT blob_id FROM messages WHERE mailbox_id = ?1",
    [STMT_MAILBOX_DELETE_MESSAGES] =
        "DELETE FROM messages WHERE mailbox_id = ?1",
    [STMT_MAILBOX_DELETE_EXPUNGED] =
        "DELETE FROM expunged WHERE mailbox_id = ?1",
    [STMT_MAILBOX_RENUMBER_INTO] =
        "INSERT INTO messages (mailbox_id, uid, blob_id, size, "
        "internaldate, internaldate_tz, flags, keywords, modseq) "
        "SELECT ?2, row_number() OVER (ORDER BY uid), blob_id, size, "
        "internaldate, internaldate_tz, flags, keywords, ?3 "
        "FROM messages WHERE mailbox_id = ?1",
    [STMT_MAILBOX_EXPUNGE_ALL] =
        "INSERT INTO expunged (mailbox_id, uid, modseq) "
        "SELECT mailbox_id, uid, ?2 FROM messages WHERE mailbox_id = ?1",
    [STMT_MESSAGES_LOAD] = "SELECT " MESSAGE_COLUMNS " FROM messages "
                           "WHERE mailbox_id = ?1 AND uid >= ?2 "
                           "ORDER BY uid",
    [STMT_MESSAGES_CHANGED] =
        "SELECT " MESSAGE_COLUMNS " FROM messages "
        "WHERE mailbox_id = ?1 AND modseq > ?2 AND uid < ?3 "
        "ORDER BY uid",
    [STMT_MESSAGES_DELETED] =
        "SELECT uid, blob_id FROM messages WHERE mailbox_id = ?1 "
        "AND (flags & 8) <> 0 ORDER BY uid",
    [STMT_MESSAGE_GET] = "SELECT " MESSAGE_COLUMNS " FROM messages "
                         "WHERE mailbox_id = ?1 AND uid = ?2",
    [STMT_MESSAGE_INSERT] =
        "INSERT INTO messages (mailbox_id, uid, blob_id, size, "
        "internaldate, internaldate_tz, flags, keywords, modseq) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [STMT_MESSAGE_SET_FLAGS] =
        "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5 "
        "WHERE mailbox_id = ?1 AND uid = ?2",
    [STMT_MESSAGE_DELETE] =
        "DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2",
    [STMT_EXPUNGED_INSERT] = "INSERT INTO expunged (mailbox_id, uid, "
                             "modseq) VALUES (?1, ?2, ?3)",
    [STMT_EXPUNGED_SINCE] = "SELECT uid FROM expunged WHERE mailbox_id = ?1 "
                            "AND modseq > ?2 ORDER BY uid",
    [STMT_EXPUNGED_PRUNE_POINT] =
        "SELECT modseq FROM expunged WHERE mailbox_id = ?1 "
        "ORDER BY modseq DESC LIMIT 1 OFFSET ?2",
    [STMT_EXPUNGED_PRUNE] =
        "DELETE FROM expunged WHERE mailbox_id = ?1 AND modseq <= ?2",
    [STMT_MAILBOX_SET_FLOOR] =
        "UPDATE mailboxes SET vanished_floor = ?2 WHERE id = ?1",
    [STMT_BLOB_REFERENCED] =
        "SELECT 1 FROM messages WHERE blob_id = ?1 LIMIT 1",
    [STMT_FACTS_INSERT] =
        "INSERT OR IGNORE INTO blob_facts (blob_id, envelope, body, "
        "bodystructure, indexed) VALUES (?1, ?2, ?3, ?4, ?5)",
    [STMT_FACTS_TEXT_INSERT] =
        "INSERT INTO blob_text (rowid, header, body) VALUES (?1, ?2, ?3)",
    [STMT_FACTS_PENDING] = "SELECT id, blob_id FROM blob_facts "
                           "WHERE indexed = 0 ORDER BY id LIMIT ?1",
    [STMT_FACTS_SET_INDEXED] = "UPDATE blob_facts SET indexed = ?2 "
                               "WHERE id = ?1 AND indexed = 0",
    [STMT_FACTS_GET] = "SELECT envelope, body, bodystructure, indexed "
                       "FROM blob_facts WHERE blob_id = ?1",
    [STMT_FACTS_TEXT_DELETE] = "DELETE FROM blob_text WHERE rowid = "
                               "(SELECT id FROM blob_facts WHERE blob_id = ?1)",
    [STMT_FACTS_DELETE] = "DELETE FROM blob_facts WHERE blob_id = ?1",
    /* Driven from the index's matches (CROSS JOIN fixes the order, and
     * +mailbox_id keeps the planner on messages_blob): the cost follows
     * the number of matching bodies, not the mailbox size. */
    [STMT_FACTS_FOUND] =
        "SELECT m.uid FROM (SELECT rowid AS id FROM blob_text "
        "WHERE blob_text MATCH ?2) t "
        "CROSS JOIN blob_facts f CROSS JOIN messages m "
        "WHERE f.id = t.id AND f.indexed = 1 AND m.blob_id = f.blob_id "
        "AND +m.mailbox_id = ?1 ORDER BY m.uid",
    [STMT_FACTS_UNSURE] =
        "SELECT m.uid FROM blob_facts f CROSS JOIN messages m "
        "WHERE f.indexed <> 1 AND m.blob_id = f.blob_id "
        "AND +m.mailbox_id = ?1 ORDER BY m.uid",
};

/*
 * Plain INTEGER and TEXT columns so the schema carries over to
 * PostgreSQL.  meta holds schema_version and uidvalidity_counter (the
 * last UIDVALIDITY handed out).
 */
static const char store_schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " name TEXT NOT NULL UNIQUE);"
    "CREATE TABLE mailboxes ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " user_id INTEGER NOT NULL REFERENCES users (id),"
    " name TEXT NOT NULL,"
    " uidvalidity INTEGER NOT NULL,"
    " uidnext INTEGER NOT NULL,"
    " highestmodseq INTEGER NOT NULL,"
    " recent_uid INTEGER NOT NULL,"
    " special_use INTEGER NOT NULL,"
    /* Kept by the triggers below, so STATUS reads one row. */
    " message_count INTEGER NOT NULL DEFAULT 0,"
    " unseen_count INTEGER NOT NULL DEFAULT 0,"
    " deleted_count INTEGER NOT NULL DEFAULT 0,"
    " total_size INTEGER NOT NULL DEFAULT 0,"
    /* RFC 7162 3.2.5: expunged UIDs are kept up to a bound; those with
     * modseq <= vanished_floor were forgotten (store_vanished_prune). */
    " vanished_floor INTEGER NOT NULL DEFAULT 0,"
    " vanished_count INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (user_id, name));"
    "CREATE TABLE messages ("
    " mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),"
    " uid INTEGER NOT NULL,"
    " blob_id TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " internaldate INTEGER NOT NULL,"
    " internaldate_tz INTEGER NOT NULL,"
    " flags INTEGER NOT NULL,"
    " keywords TEXT NOT NULL,"
    " modseq INTEGER NOT NULL,"
    " PRIMARY KEY (mailbox_id, uid));"
    "CREATE INDEX messages_modseq ON messages (mailbox_id, modseq);"
    "CREATE TRIGGER messages_counted_in AFTER INSERT ON messages BEGIN"
    " UPDATE mailboxes SET message_count = message_count + 1,"
    " unseen_count = unseen_count + ((NEW.flags & 1) = 0),"
    " deleted_count = deleted_count + ((NEW.flags & 8) <> 0),"
    " total_size = total_size + NEW.size WHERE id = NEW.mailbox_id; END;"
    "CREATE TRIGGER messages_counted_out AFTER DELETE ON messages BEGIN"
    " UPDATE mailboxes SET message_count = message_count - 1,"
    " unseen_count = unseen_count - ((OLD.flags & 1) = 0),"
    " deleted_count = deleted_count - ((OLD.flags & 8) <> 0),"
    " total_size = total_size - OLD.size WHERE id = OLD.mailbox_id; END;"
    "CREATE TRIGGER messages_counted_flags AFTER UPDATE OF flags ON messages"
    " BEGIN UPDATE mailboxes SET"
    " unseen_count = unseen_count - ((OLD.flags & 1) = 0)"
    " + ((NEW.flags & 1) = 0),"
    " deleted_count = deleted_count - ((OLD.flags & 8) <> 0)"
    " + ((NEW.flags & 8) <> 0) WHERE id = NEW.mailbox_id; END;"
    "CREATE INDEX messages_blob ON messages (blob_id);"
    "CREATE TABLE expunged ("
    " mailbox_id INTEGER NOT NULL REFERENCES mailboxes (id),"
    " uid INTEGER NOT NULL,"
    " modseq INTEGER NOT NULL,"
    " PRIMARY KEY (mailbox_id, uid));"
    "CREATE INDEX expunged_modseq ON expunged (mailbox_id, "
    "modseq);" STORE_VANISHED_TRIGGERS_SQL "CREATE TABLE blob_facts ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " blob_id TEXT NOT NULL UNIQUE,"
    " envelope TEXT,"
    " body TEXT,"
    " bodystructure TEXT,"
    /* 0: waiting for the indexer, 1: in blob_text, 2: too big to index
     * (searched by reading it). */
    " indexed INTEGER NOT NULL);"
    "CREATE INDEX blob_facts_unindexed ON blob_facts (indexed) "
    " WHERE indexed <> 1;"
    /* SQLite's own full-text index; trigrams give the substring and
     * case-insensitive matching IMAP SEARCH asks for.  A PostgreSQL
     * backend would use pg_trgm.  rowid = blob_facts.id. */
    "CREATE VIRTUAL TABLE blob_text USING fts5("
    " header, body, tokenize='trigram case_sensitive 1');"
    "CREATE TABLE subscriptions ("
    " user_id INTEGER NOT NULL REFERENCES users (id),"
    " name TEXT NOT NULL,"
    " PRIMARY KEY (user_id, name));"
    "INSERT INTO meta (key, value) VALUES ('uidvalidity_counter', '0');";

/* store_open() has no handle to keep its error in. */
static _Thread_local char store_open_error[512];

void
store_vec_init(struct store_vec *vec, size_t elem_size)
{
	memset(vec, 0, sizeof(*vec));
	vec->elem_size = elem_size;
}

void *
store_vec_push(struct store_vec *vec)
{
	if (vec->count == vec->capacity) {
		size_t cap = vec->capacity == 0 ? 16 : vec->capacity * 2;
		i_assert(cap < SIZE_MAX / vec->elem_size);
		vec->data = xrealloc(vec->data, cap * vec->elem_size);
		vec->capacity = cap;
	}
	void *slot = (char *)vec->data + vec->count * vec->elem_size;
	memset(slot, 0, vec->elem_size);
	vec->count++;
	return slot;
}

void *
store_vec_finish(struct store_vec *vec, struct arena *arena, size_t *count_r)
{
	void *out = arena_alloc(arena, vec->count * vec->elem_size);
	if (vec->count > 0)
		memcpy(out, vec->data, vec->count * vec->elem_size);
	*count_r = vec->count;
	store_vec_free(vec);
	return out;
}

void
store_vec_free(struct store_vec *vec)
{
	free(vec->data);
	vec->data = NULL;
	vec->count = vec->capacity = 0;
}

enum store_result
store_fail(struct store *store, enum store_result ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store->error, sizeof(store->error), fmt, ap);
	va_end(ap);
	return ret;
}

enum store_result
store_sql_fail(struct store *store, const char *what)
{
	return store_fail(store, STORE_ERROR, "%s: %s", what,
	                  sqlite3_errmsg(store->db));
}

enum store_result
store_result(struct store *store, enum store_result ret, const char **error_r)
{
	if (ret != STORE_OK && error_r != NULL)
		*error_r = store->error;
	return ret;
}

sqlite3_stmt *
store_stmt(struct store *store, enum store_stmt id)
{
	i_assert(id < STORE_STMT_COUNT);
	sqlite3_stmt *stmt = store->stmts[id];
	if (stmt == NULL) {
		if (sqlite3_prepare_v3(store->db, store_stmt_sql[id], -1,
		                       SQLITE_PREPARE_PERSISTENT, &stmt,
		                       NULL) != SQLITE_OK) {
			(void)store_sql_fail(store, "prepare");
			return NULL;
		}
		store->stmts[id] = stmt;
	}
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return stmt;
}

enum store_result
store_step_done(struct store *store, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sql_fail(store, what);
	sqlite3_reset(stmt);
	return ret;
}

static enum store_result
store_run(struct store *store, enum store_stmt id, const char *what)
{
	sqlite3_stmt *stmt = store_stmt(store, id);
	if (stmt == NULL)
		return STORE_ERROR;
	return store_step_done(store, stmt, what);
}

/*
 * Writers of one process queue on this mutex before asking SQLite for its
 * write lock.  SQLite's busy handler sleeps and retries (1 ms, 2 ms, 5 ms,
 * ... 100 ms), so two threads contending there wait far longer than the
 * lock is held; a mutex hands it over at once.  Other processes (casella
 * deliver) still meet at SQLite's lock.
 */
static pthread_mutex_t store_write_lock = PTHREAD_MUTEX_INITIALIZER;

enum store_result
store_tx_begin(struct store *store, bool write)
{
	i_assert(sqlite3_get_autocommit(store->db));
	i_assert(!store->write_locked);
	if (write) {
		pthread_mutex_lock(&store_write_lock);
		store->write_locked = true;
	}
	enum store_result ret =
	    store_run(store, write ? STMT_BEGIN_WRITE : STMT_BEGIN_READ,
	              "begin transaction");
	if (ret != STORE_OK && write) {
		store->write_locked = false;
		pthread_mutex_unlock(&store_write_lock);
	}
	return ret;
}

enum store_result
store_tx_end(struct store *store, enum store_result ret)
{
	if (ret == STORE_OK)
		ret = store_run(store, STMT_COMMIT, "commit");
	/* Some errors (disk full, I/O) already rolled SQLite back. */
	if (ret != STORE_OK && !sqlite3_get_autocommit(store->db))
		(void)store_run(store, STMT_ROLLBACK, "rollback");
	if (store->write_locked) {
		store->write_locked = false;
		pthread_mutex_unlock(&store_write_lock);
	}
	return ret;
}

void
store_gc_add(struct store *store, const char *blob_id)
{
	if (store->gc_count == store->gc_capacity) {
		size_t cap =
		    store->gc_capacity == 0 ? 16 : store->gc_capacity * 2;
		store->gc_ids =
		    xrealloc(store->gc_ids, cap * sizeof(store->gc_ids[0]));
		store->gc_capacity = cap;
	}
	casella_strlcpy(store->gc_ids[store->gc_count++], blob_id,
	                BLOB_ID_LEN + 1);
}

void
store_gc_forget(struct store *store)
{
	free(store->gc_ids);
	store->gc_ids = NULL;
	store->gc_count = store->gc_capacity = 0;
}

/* Removes a body if no row references it.  The caller holds the write
 * lock, which keeps an append from referencing the body meanwhile:
 * appends install their bodies under the same lock. */
static enum store_result
store_gc_one(struct store *store, const char *id)
{
	const char *op;

	if (!blob_id_valid(id))
		return STORE_OK;
	sqlite3_stmt *stmt = store_stmt(store, STMT_BLOB_REFERENCED);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_DONE && store_facts_delete(store, id) != STORE_OK)
		ret = STORE_ERROR;
	else if (rc == SQLITE_DONE && blob_remove(store->data_dir, id, &op) < 0)
		ret = store_fail(store, STORE_ERROR, "%s: %s", op,
		                 strerror(errno));
	else if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_sql_fail(store, "gc lookup");
	sqlite3_reset(stmt);
	return ret;
}

static enum store_result
store_gc_batch(struct store *store, size_t start, size_t end)
{
	enum store_result ret = store_tx_begin(store, true);
	if (ret != STORE_OK)
		return ret;
	for (size_t i = start; i < end && ret == STORE_OK; i++)
		ret = store_gc_one(store, store->gc_ids[i]);
	/* The commit makes the facts deletions durable and releases the
	 * lock. */
	return store_tx_end(store, ret);
}

void
store_gc_run(struct store *store)
{
	for (size_t i = 0; i < store->gc_count; i += STORE_GC_BATCH) {
		size_t end = i + STORE_GC_BATCH;
		if (end > store->gc_count)
			end = store->gc_count;
		if (store_gc_batch(store, i, end) != STORE_OK) {
			/* Unreferenced bodies left behind are harmless. */
			log_warn("store: body gc failed error=\"%s\"",
			         store->error);
			break;
		}
	}
	store_gc_forget(store);
}

void
store_changed(struct store *store, enum store_change_kind kind, int64_t user_id,
              int64_t mailbox_id)
{
	const struct store_change change = {
	    .kind = kind, .user_id = user_id, .mailbox_id = mailbox_id};
	if (store->hook != NULL)
		store->hook(store->hook_context, &change);
}

void
store_use_private_tmp(const char *data_dir)
{
	char tmpdir[4200];
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", data_dir);
	setenv("SQLITE_TMPDIR", tmpdir, 1);
}

void
store_set_change_hook(struct store *store, store_change_hook *hook,
                      void *context)
{
	store->hook = hook;
	store->hook_context = context;
}

static enum store_result
store_exec(struct store *store, const char *sql, const char *what)
{
	char *msg = NULL;
	if (sqlite3_exec(store->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		enum store_result ret =
		    store_fail(store, STORE_ERROR, "%s: %s", what,
		               msg != NULL ? msg : sqlite3_errmsg(store->db));
		sqlite3_free(msg);
		return ret;
	}
	return STORE_OK;
}

/* Reads the schema version, 0 if the database is new. */
static enum store_result
store_schema_version(struct store *store, int64_t *version_r)
{
	sqlite3_stmt *stmt;
	const char *sql = "SELECT value FROM meta WHERE key = 'schema_version'";

	*version_r = 0;
	if (sqlite3_prepare_v2(store->db,
	                       "SELECT 1 FROM sqlite_master WHERE type = "
	                       "'table' AND name = 'meta'",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return store_sql_fail(store, "read schema");
	int rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return STORE_OK;
	if (rc != SQLITE_ROW)
		return store_sql_fail(store, "read schema");
	if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return store_sql_fail(store, "read schema version");
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*version_r = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(store, STORE_ERROR,
		                  "database has no schema version");
	return STORE_OK;
}

/* Creates the tables in a new database; one transaction, so two
 * processes opening a new data directory at once don't both do it. */
static enum store_result
store_schema_init(struct store *store)
{
	char sql[128];
	int64_t version;

	enum store_result ret = store_exec(store, "BEGIN IMMEDIATE", "begin");
	if (ret != STORE_OK)
		return ret;
	ret = store_schema_version(store, &version);
	if (ret == STORE_OK && version == 0) {
		ret = store_exec(store, store_schema_sql, "create schema");
		snprintf(sql, sizeof(sql),
		         "INSERT INTO meta (key, value) VALUES "
		         "('schema_version', '%d')",
		         STORE_SCHEMA_VERSION);
		if (ret == STORE_OK)
			ret = store_exec(store, sql, "create schema");
	} else if (ret == STORE_OK && version != STORE_SCHEMA_VERSION) {
		ret = store_fail(store, STORE_ERROR,
		                 "database schema version %lld is not %d",
		                 (long long)version, STORE_SCHEMA_VERSION);
	}
	if (ret == STORE_OK)
		return store_exec(store, "COMMIT", "commit schema");
	(void)store_exec(store, "ROLLBACK", "rollback");
	return ret;
}

/*
 * Another process holds the write lock (the LMTP process and the mail
 * process write the same store).  sqlite3_busy_timeout() sleeps 1, 2, 5,
 * ... up to 100 ms between tries, so a writer that just missed a lock
 * held for a millisecond waited up to 100 ms: the tail of LMTP delivery
 * and APPEND latency.  Here every try is at most STORE_BUSY_STEP_US
 * apart, up to the same total timeout.
 */
static int
store_busy(void *context, int count)
{
	(void)context;
	uint64_t step = (uint64_t)(count + 1) * 100;
	if (step > STORE_BUSY_STEP_US)
		step = STORE_BUSY_STEP_US;
	/* Past the first steps each try sleeps STORE_BUSY_STEP_US. */
	if ((uint64_t)count * STORE_BUSY_STEP_US >
	    (uint64_t)STORE_BUSY_TIMEOUT_MSECS * 1000)
		return 0;
	usleep((useconds_t)step);
	return 1;
}

static enum store_result
store_configure(struct store *store)
{
	sqlite3_stmt *stmt;

	sqlite3_busy_handler(store->db, store_busy, NULL);
	/* WAL: readers don't block the writer; the setting is persistent. */
	if (sqlite3_prepare_v2(store->db, "PRAGMA journal_mode = WAL", -1,
	                       &stmt, NULL) != SQLITE_OK)
		return store_sql_fail(store, "journal_mode");
	int rc = sqlite3_step(stmt);
	bool wal =
	    rc == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(stmt, 0), "wal") == 0;
	sqlite3_finalize(stmt);
	if (!wal)
		return rc == SQLITE_ROW
		           ? store_fail(store, STORE_ERROR,
		                        "cannot enable WAL journal mode")
		           : store_sql_fail(store, "journal_mode");
	/* FULL: a commit is durable once COMMIT returns. */
	enum store_result ret =
	    store_exec(store, "PRAGMA synchronous = FULL", "synchronous");
	if (ret == STORE_OK)
		ret = store_exec(store, "PRAGMA foreign_keys = ON",
		                 "foreign_keys");
	/* A bigger page cache and WAL: the index pages an append touches
	 * stay cached, and checkpoints (which copy the WAL into the
	 * database and fsync it) come less often. */
	if (ret == STORE_OK)
		ret = store_exec(store, "PRAGMA cache_size = -16384",
		                 "cache_size");
	if (ret == STORE_OK)
		ret = store_exec(store, "PRAGMA wal_autocheckpoint = 8192",
		                 "wal_autocheckpoint");
	return ret;
}

static enum store_result
store_open_db(struct store *store)
{
	char path[BLOB_PATH_MAX];
	snprintf(path, sizeof(path), "%s/casella.db", store->data_dir);

	int rc = sqlite3_open_v2(path, &store->db,
	                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                             SQLITE_OPEN_NOMUTEX,
	                         NULL);
	if (rc != SQLITE_OK) {
		if (store->db == NULL)
			return store_fail(store, STORE_ERROR,
			                  "cannot open %s: out of memory",
			                  path);
		return store_sql_fail(store, "open database");
	}
	sqlite3_extended_result_codes(store->db, 1);
	enum store_result ret = store_configure(store);
	if (ret == STORE_OK)
		ret = store_schema_init(store);
	return ret;
}

enum store_result
store_open(const char *data_dir, struct store **store_r, const char **error_r)
{
	size_t len = strlen(data_dir);
	const char *op;

	*store_r = NULL;
	if (len == 0 || len > BLOB_DATA_DIR_MAX) {
		snprintf(store_open_error, sizeof(store_open_error),
		         "data directory path must be 1..%d bytes",
		         BLOB_DATA_DIR_MAX);
		*error_r = store_open_error;
		return STORE_ERROR;
	}
	if (blob_dirs_create(data_dir, &op) < 0) {
		snprintf(store_open_error, sizeof(store_open_error),
		         "%s %s: %s", op, data_dir, strerror(errno));
		*error_r = store_open_error;
		return STORE_ERROR;
	}
	struct store *store = xcalloc(1, sizeof(*store));
	store->data_dir = xstrdup(data_dir);
	enum store_result ret = store_open_db(store);
	if (ret != STORE_OK) {
		casella_strlcpy(store_open_error, store->error,
		                sizeof(store_open_error));
		*error_r = store_open_error;
		store_close(&store);
		return ret;
	}
	blob_tmp_cleanup(data_dir);
	*store_r = store;
	return STORE_OK;
}

void
store_close(struct store **store_p)
{
	struct store *store = *store_p;
	if (store == NULL)
		return;
	for (size_t i = 0; i < STORE_STMT_COUNT; i++)
		sqlite3_finalize(store->stmts[i]);
	if (store->db != NULL && sqlite3_close(store->db) != SQLITE_OK)
		log_warn("store: close failed error=\"%s\"",
		         sqlite3_errmsg(store->db));
	store_gc_forget(store);
	free(store->data_dir);
	free(store);
	*store_p = NULL;
}
