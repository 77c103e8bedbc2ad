/*
 * Upgrades of older data directories, run before the store is opened.
 * Schema 1 kept each user's yescrypt hash in casella.db; schema 2 keeps
 * secrets only in the credential store (store-cred.c), which the mail
 * process cannot open.  Schema 3 bounds each mailbox's expunge history
 * for QRESYNC (mailboxes.vanished_floor, vanished_count and the triggers
 * that keep the count).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "blob.h"
#include "store-private.h"
#include "store/cred.h"
#include "util.h"

static _Thread_local char upgrade_error[512];

static enum store_result
upgrade_fail(const char *what, const char *detail)
{
	snprintf(upgrade_error, sizeof(upgrade_error),
	         "upgrade: %.300s: %.180s", what, detail);
	return STORE_ERROR;
}

/* Schema version of an open casella.db, 0 if it has none yet. */
static int
upgrade_schema_version(sqlite3 *db)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(db,
	                       "SELECT value FROM meta WHERE key = "
	                       "'schema_version'",
	                       -1, &stmt, NULL) != SQLITE_OK)
		return 0;
	int version =
	    sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	return version;
}

/* Copies every user's hash from casella.db into the credential store. */
static enum store_result
upgrade_copy_hashes(sqlite3 *db, struct cred_store *cs)
{
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v2(db, "SELECT name, password_hash FROM users", -1,
	                       &stmt, NULL) != SQLITE_OK)
		return upgrade_fail("read users", sqlite3_errmsg(db));
	enum store_result ret = STORE_OK;
	const char *error = NULL;
	while (ret == STORE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		const char *hash = (const char *)sqlite3_column_text(stmt, 1);
		struct cred_value v = {"password", hash != NULL ? hash : ""};
		ret = cred_store_put(cs, name, CRED_PUT_CREATE, &v, 1, &error);
		if (ret == STORE_EXISTS) /* copied by an interrupted run */
			ret = cred_store_put(cs, name, CRED_PUT_UPDATE, &v, 1,
			                     &error);
	}
	sqlite3_finalize(stmt);
	return ret == STORE_OK ? STORE_OK : upgrade_fail("copy hashes", error);
}

static enum store_result
upgrade_from_1(const char *data_dir, sqlite3 *db)
{
	struct cred_store *cs;
	const char *error;
	if (cred_store_open(data_dir, &cs, &error) != STORE_OK)
		return upgrade_fail("credential store", error);
	enum store_result ret = upgrade_copy_hashes(db, cs);
	cred_store_close(&cs);
	if (ret != STORE_OK)
		return ret;
	char *msg = NULL;
	if (sqlite3_exec(db,
	                 "BEGIN IMMEDIATE;"
	                 "ALTER TABLE users DROP COLUMN password_hash;"
	                 "UPDATE meta SET value = '2' "
	                 "WHERE key = 'schema_version';"
	                 "COMMIT;",
	                 NULL, NULL, &msg) != SQLITE_OK) {
		ret = upgrade_fail("drop hashes", msg != NULL ? msg : "failed");
		sqlite3_free(msg);
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	}
	return ret;
}

static enum store_result
upgrade_from_2(sqlite3 *db)
{
	char *msg = NULL;
	if (sqlite3_exec(db,
	                 "BEGIN IMMEDIATE;"
	                 "ALTER TABLE mailboxes ADD COLUMN vanished_floor "
	                 "INTEGER NOT NULL DEFAULT 0;"
	                 "ALTER TABLE mailboxes ADD COLUMN vanished_count "
	                 "INTEGER NOT NULL DEFAULT 0;"
	                 "UPDATE mailboxes SET vanished_count = (SELECT "
	                 "count(*) FROM expunged WHERE mailbox_id = "
	                 "mailboxes.id);" STORE_VANISHED_TRIGGERS_SQL
	                 "UPDATE meta SET value = '3' "
	                 "WHERE key = 'schema_version';"
	                 "COMMIT;",
	                 NULL, NULL, &msg) == SQLITE_OK)
		return STORE_OK;
	enum store_result ret =
	    upgrade_fail("expunge history", msg != NULL ? msg : "failed");
	sqlite3_free(msg);
	(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

enum store_result
store_upgrade(const char *data_dir, const char **error_r)
{
	char path[BLOB_PATH_MAX];
	*error_r = upgrade_error;
	if (snprintf(path, sizeof(path), "%s/casella.db", data_dir) >=
	    (int)sizeof(path))
		return upgrade_fail(data_dir, "path too long");
	if (access(path, F_OK) != 0)
		return STORE_OK; /* a new data directory */
	sqlite3 *db;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		enum store_result ret =
		    upgrade_fail(path, db != NULL ? sqlite3_errmsg(db) : "?");
		sqlite3_close(db);
		return ret;
	}
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MSECS);
	enum store_result ret = STORE_OK;
	if (upgrade_schema_version(db) == 1)
		ret = upgrade_from_1(data_dir, db);
	if (ret == STORE_OK && upgrade_schema_version(db) == 2)
		ret = upgrade_from_2(db);
	sqlite3_close(db);
	return ret;
}
