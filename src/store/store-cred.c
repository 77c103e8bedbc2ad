/*
 * The credential store: DATA/auth/credentials.db, a SQLite database of its
 * own so that only the auth process and the admin tool ever open the
 * secrets, never the mail process (docs/security.md).  Values are opaque
 * strings here; src/auth knows what they mean.
 */
#include "store/cred.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "blob.h"
#include "log.h"
#include "util.h"

#define CRED_SCHEMA_VERSION  1
#define CRED_BUSY_TIMEOUT_MS 10000

enum cred_stmt {
	CRED_GET,
	CRED_USER_EXISTS,
	CRED_USER_INSERT,
	CRED_USER_DELETE,
	CRED_UPSERT,
	CRED_DELETE_KIND,
	CRED_SWAP,
	CRED_SETTING_GET,
	CRED_SETTING_SET,
	CRED_DELETE_ALL_KIND,
	CRED_STMT_COUNT
};

static const char *const cred_stmt_sql[CRED_STMT_COUNT] = {
    [CRED_GET] = "SELECT value FROM credentials WHERE user = ?1 AND kind = ?2",
    [CRED_USER_EXISTS] = "SELECT 1 FROM users WHERE name = ?1",
    [CRED_USER_INSERT] = "INSERT INTO users (name) VALUES (?1)",
    [CRED_USER_DELETE] = "DELETE FROM users WHERE name = ?1",
    [CRED_UPSERT] = "INSERT INTO credentials (user, kind, value) "
                    "VALUES (?1, ?2, ?3) ON CONFLICT (user, kind) "
                    "DO UPDATE SET value = excluded.value",
    [CRED_DELETE_KIND] =
        "DELETE FROM credentials WHERE user = ?1 AND kind = ?2",
    [CRED_SWAP] = "UPDATE credentials SET value = ?4 WHERE user = ?1 "
                  "AND kind = ?2 AND value = ?3",
    [CRED_SETTING_GET] = "SELECT value FROM meta WHERE key = ?1",
    [CRED_DELETE_ALL_KIND] = "DELETE FROM credentials WHERE kind = ?1",
    [CRED_SETTING_SET] = "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                         "ON CONFLICT (key) DO UPDATE SET value = "
                         "excluded.value",
};

static const char cred_schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE users (name TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE credentials ("
    " user TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,"
    " kind TEXT NOT NULL,"
    " value TEXT NOT NULL,"
    " PRIMARY KEY (user, kind)) WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('schema_version', '1');";

struct cred_store {
	sqlite3 *db;
	sqlite3_stmt *stmts[CRED_STMT_COUNT];
	char error[512];
};

static _Thread_local char cred_open_error[512];

static enum store_result cred_fail(struct cred_store *cs, enum store_result ret,
                                   const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum store_result
cred_fail(struct cred_store *cs, enum store_result ret, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cs->error, sizeof(cs->error), fmt, ap);
	va_end(ap);
	return ret;
}

static enum store_result
cred_sql_fail(struct cred_store *cs, const char *what)
{
	return cred_fail(cs, STORE_ERROR, "credentials: %s: %s", what,
	                 sqlite3_errmsg(cs->db));
}

static enum store_result
cred_result(struct cred_store *cs, enum store_result ret, const char **error_r)
{
	if (ret != STORE_OK && error_r != NULL)
		*error_r = cs->error;
	return ret;
}

static sqlite3_stmt *
cred_stmt(struct cred_store *cs, enum cred_stmt id)
{
	sqlite3_stmt *stmt = cs->stmts[id];
	if (stmt == NULL && sqlite3_prepare_v3(cs->db, cred_stmt_sql[id], -1,
	                                       SQLITE_PREPARE_PERSISTENT, &stmt,
	                                       NULL) != SQLITE_OK) {
		(void)cred_sql_fail(cs, "prepare");
		return NULL;
	}
	cs->stmts[id] = stmt;
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return stmt;
}

/* Binds up to four strings (the first NULL ends them), steps once,
 * resets.  Returns SQLITE_ROW, SQLITE_DONE or an error code; a row's
 * first column goes to value_r when it is not NULL. */
static int
cred_run(struct cred_store *cs, enum cred_stmt id, const char *a, const char *b,
         const char *c, const char *d, char *value_r, size_t size)
{
	sqlite3_stmt *stmt = cred_stmt(cs, id);
	if (stmt == NULL)
		return SQLITE_ERROR;
	const char *args[] = {a, b, c, d};
	for (int i = 0; i < 4 && args[i] != NULL; i++)
		sqlite3_bind_text(stmt, i + 1, args[i], -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && value_r != NULL) {
		const char *v = (const char *)sqlite3_column_text(stmt, 0);
		if (casella_strlcpy(value_r, v != NULL ? v : "", size) >= size)
			rc = SQLITE_TOOBIG;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		(void)cred_sql_fail(cs, "query");
	sqlite3_reset(stmt);
	return rc;
}

static enum store_result
cred_exec(struct cred_store *cs, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(cs->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return STORE_OK;
	enum store_result ret =
	    cred_fail(cs, STORE_ERROR, "credentials: %s",
	              msg != NULL ? msg : sqlite3_errmsg(cs->db));
	sqlite3_free(msg);
	return ret;
}

/* Creates the schema in a new database, in one transaction so that two
 * processes starting at once don't both do it. */
static enum store_result
cred_schema_init(struct cred_store *cs)
{
	enum store_result ret = cred_exec(cs, "BEGIN IMMEDIATE");
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *stmt;
	int rc = sqlite3_prepare_v2(cs->db,
	                            "SELECT value FROM meta WHERE key = "
	                            "'schema_version'",
	                            -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		/* No meta table: a new database. */
		ret = cred_exec(cs, cred_schema_sql);
	} else {
		rc = sqlite3_step(stmt);
		if (rc != SQLITE_ROW ||
		    sqlite3_column_int(stmt, 0) != CRED_SCHEMA_VERSION)
			ret = cred_fail(cs, STORE_ERROR,
			                "credentials: unknown schema version");
		sqlite3_finalize(stmt);
	}
	if (ret == STORE_OK)
		return cred_exec(cs, "COMMIT");
	(void)cred_exec(cs, "ROLLBACK");
	return ret;
}

static enum store_result
cred_configure(struct cred_store *cs)
{
	sqlite3_busy_timeout(cs->db, CRED_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(cs->db, 1);
	/* WAL, so the auth process's reads never wait for `casella user
	 * add`; FULL, so an OTP sequence once used stays used. */
	enum store_result ret = cred_exec(cs, "PRAGMA journal_mode = WAL");
	if (ret == STORE_OK)
		ret = cred_exec(cs, "PRAGMA synchronous = FULL");
	if (ret == STORE_OK)
		ret = cred_exec(cs, "PRAGMA foreign_keys = ON");
	if (ret == STORE_OK)
		ret = cred_schema_init(cs);
	return ret;
}

int
cred_store_path(const char *data_dir, char *path_r, size_t size)
{
	int n = snprintf(path_r, size, "%s/" CRED_DIR_NAME "/credentials.db",
	                 data_dir);
	return n > 0 && (size_t)n < size ? 0 : -1;
}

enum store_result
cred_store_open(const char *data_dir, struct cred_store **cs_r,
                const char **error_r)
{
	char path[BLOB_PATH_MAX];
	*cs_r = NULL;
	*error_r = cred_open_error;
	if (snprintf(path, sizeof(path), "%s/" CRED_DIR_NAME, data_dir) >=
	        (int)sizeof(path) ||
	    (mkdir(path, 0700) < 0 && errno != EEXIST)) {
		snprintf(cred_open_error, sizeof(cred_open_error),
		         "credentials: mkdir %.400s: %s", path,
		         strerror(errno));
		return STORE_ERROR;
	}
	(void)cred_store_path(data_dir, path, sizeof(path));
	struct cred_store *cs = xcalloc(1, sizeof(*cs));
	enum store_result ret = STORE_OK;
	if (sqlite3_open_v2(path, &cs->db,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                        SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK)
		ret = cs->db == NULL
		          ? cred_fail(cs, STORE_ERROR, "out of memory")
		          : cred_sql_fail(cs, "open");
	if (ret == STORE_OK)
		ret = cred_configure(cs);
	if (ret != STORE_OK) {
		casella_strlcpy(cred_open_error, cs->error,
		                sizeof(cred_open_error));
		cred_store_close(&cs);
		return ret;
	}
	*cs_r = cs;
	return STORE_OK;
}

void
cred_store_close(struct cred_store **cs_p)
{
	struct cred_store *cs = *cs_p;
	if (cs == NULL)
		return;
	for (size_t i = 0; i < CRED_STMT_COUNT; i++)
		sqlite3_finalize(cs->stmts[i]);
	if (cs->db != NULL && sqlite3_close(cs->db) != SQLITE_OK)
		log_warn("credentials: close failed error=\"%s\"",
		         sqlite3_errmsg(cs->db));
	secure_zero(cs->error, sizeof(cs->error));
	free(cs);
	*cs_p = NULL;
}

static enum store_result
cred_row_result(struct cred_store *cs, int rc, const char *missing)
{
	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return cred_fail(cs, STORE_NOT_FOUND, "%s", missing);
	return STORE_ERROR;
}

enum store_result
cred_store_get(struct cred_store *cs, const char *user, const char *kind,
               char *value_r, size_t size, const char **error_r)
{
	int rc = cred_run(cs, CRED_GET, user, kind, NULL, NULL, value_r, size);
	if (rc != SQLITE_ROW)
		secure_zero(value_r, size);
	return cred_result(cs, cred_row_result(cs, rc, "no such credential"),
	                   error_r);
}

enum store_result
cred_store_user_exists(struct cred_store *cs, const char *user,
                       const char **error_r)
{
	int rc =
	    cred_run(cs, CRED_USER_EXISTS, user, NULL, NULL, NULL, NULL, 0);
	return cred_result(cs, cred_row_result(cs, rc, "no such user"),
	                   error_r);
}

/* Sets (or with value "", removes) each credential, inside a
 * transaction. */
static enum store_result
cred_put_values(struct cred_store *cs, const char *user,
                const struct cred_value *values, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct cred_value *v = &values[i];
		int rc = v->value[0] == '\0'
		             ? cred_run(cs, CRED_DELETE_KIND, user, v->kind,
		                        NULL, NULL, NULL, 0)
		             : cred_run(cs, CRED_UPSERT, user, v->kind,
		                        v->value, NULL, NULL, 0);
		if (rc != SQLITE_DONE)
			return STORE_ERROR;
	}
	return STORE_OK;
}

enum store_result
cred_store_put(struct cred_store *cs, const char *user, enum cred_put_mode mode,
               const struct cred_value *values, size_t count,
               const char **error_r)
{
	enum store_result ret = cred_exec(cs, "BEGIN IMMEDIATE");
	if (ret != STORE_OK)
		return cred_result(cs, ret, error_r);
	int rc =
	    cred_run(cs, CRED_USER_EXISTS, user, NULL, NULL, NULL, NULL, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = STORE_ERROR;
	else if (mode == CRED_PUT_CREATE && rc == SQLITE_ROW)
		ret = cred_fail(cs, STORE_EXISTS, "user already exists");
	else if (mode == CRED_PUT_UPDATE && rc == SQLITE_DONE)
		ret = cred_fail(cs, STORE_NOT_FOUND, "no such user");
	else if (rc == SQLITE_DONE &&
	         cred_run(cs, CRED_USER_INSERT, user, NULL, NULL, NULL, NULL,
	                  0) != SQLITE_DONE)
		ret = STORE_ERROR;
	if (ret == STORE_OK)
		ret = cred_put_values(cs, user, values, count);
	ret = cred_exec(cs, ret == STORE_OK ? "COMMIT" : "ROLLBACK") == STORE_OK
	          ? ret
	          : STORE_ERROR;
	return cred_result(cs, ret, error_r);
}

/* A statement meant to change exactly one row: none changed is `miss`. */
static enum store_result
cred_one_row(struct cred_store *cs, int rc, enum store_result miss,
             const char *why)
{
	if (rc != SQLITE_DONE)
		return STORE_ERROR;
	return sqlite3_changes(cs->db) == 1 ? STORE_OK
	                                    : cred_fail(cs, miss, "%s", why);
}

enum store_result
cred_store_swap(struct cred_store *cs, const char *user, const char *kind,
                const char *old_value, const char *new_value,
                const char **error_r)
{
	/* One UPDATE is one atomic transaction: of two sessions swapping
	 * the same old value, exactly one changes the row. */
	int rc =
	    cred_run(cs, CRED_SWAP, user, kind, old_value, new_value, NULL, 0);
	return cred_result(
	    cs, cred_one_row(cs, rc, STORE_CONFLICT, "credential changed"),
	    error_r);
}

enum store_result
cred_store_delete_user(struct cred_store *cs, const char *user,
                       const char **error_r)
{
	int rc =
	    cred_run(cs, CRED_USER_DELETE, user, NULL, NULL, NULL, NULL, 0);
	return cred_result(
	    cs, cred_one_row(cs, rc, STORE_NOT_FOUND, "no such user"), error_r);
}

enum store_result
cred_store_setting_get(struct cred_store *cs, const char *key, char *value_r,
                       size_t size, const char **error_r)
{
	int rc = cred_run(cs, CRED_SETTING_GET, key, NULL, NULL, NULL, value_r,
	                  size);
	return cred_result(cs, cred_row_result(cs, rc, "no such setting"),
	                   error_r);
}

enum store_result
cred_store_setting_set(struct cred_store *cs, const char *key,
                       const char *value, const char **error_r)
{
	int rc =
	    cred_run(cs, CRED_SETTING_SET, key, value, NULL, NULL, NULL, 0);
	return cred_result(cs, rc == SQLITE_DONE ? STORE_OK : STORE_ERROR,
	                   error_r);
}

enum store_result
cred_store_delete_kind(struct cred_store *cs, const char *kind,
                       const char **error_r)
{
	int rc =
	    cred_run(cs, CRED_DELETE_ALL_KIND, kind, NULL, NULL, NULL, NULL, 0);
	return cred_result(cs, rc == SQLITE_DONE ? STORE_OK : STORE_ERROR,
	                   error_r);
}
