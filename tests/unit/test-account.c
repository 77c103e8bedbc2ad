/* Tests for accounts (auth/account.c), the credential store
 * (store/store-cred.c), password checks through SASL PLAIN and LOGIN
 * (auth/sasl-plain.c over auth/userdb-local.c) and the schema 1 upgrade
 * (store/store-upgrade.c). */
#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/account.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "auth/userdb-local.h"
#include "store/cred.h"
#include "store/store.h"
#include "test.h"
#include "util.h"

static char test_dir[64];
static struct store *test_store;
static struct cred_store *test_creds;

static int
test_rm_entry(const char *path, const struct stat *st, int flag,
              struct FTW *ftw)
{
	return remove(path);
}

static void
test_start(void)
{
	const char *error;
	casella_strlcpy(test_dir, "/tmp/casella-test-XXXXXX", sizeof(test_dir));
	if (mkdtemp(test_dir) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	if (store_open(test_dir, &test_store, &error) != STORE_OK ||
	    cred_store_open(test_dir, &test_creds, &error) != STORE_OK)
		fatal("open: %s", error);
}

static void
test_finish(void)
{
	store_close(&test_store);
	cred_store_close(&test_creds);
	(void)nftw(test_dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs one PLAIN exchange against the local user source. */
static enum sasl_result
test_plain(const char *user, const char *password)
{
	const char *error;
	struct userdb *db = userdb_local_open(test_dir, &error);
	if (db == NULL)
		fatal("userdb: %s", error);
	struct sasl_settings settings = {.service = "imap"};
	struct sasl_conn_info info = {.peer_ip = "127.0.0.1"};
	struct sasl_session s;
	sasl_session_init(&s, &sasl_mech_plain, &settings, &info, db);
	size_t ulen = strlen(user), plen = strlen(password);
	unsigned char *msg = xcalloc(1, ulen + plen + 2);
	memcpy(msg + 1, user, ulen);
	memcpy(msg + 2 + ulen, password, plen);
	struct str out;
	str_init(&out, 1024);
	enum sasl_result r = sasl_step(&s, msg, ulen + plen + 2, &out);
	if (r == SASL_OK && strcmp(s.user, user) != 0)
		r = SASL_FAIL;
	str_free(&out);
	free(msg);
	sasl_session_free(&s);
	userdb_local_close(&db);
	return r;
}

static int
test_cred_sql_int(const char *sql)
{
	char path[256];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	(void)cred_store_path(test_dir, path, sizeof(path));
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fatal("sql: %s", sqlite3_errmsg(db));
	int v =
	    sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static void
test_add_and_check(void)
{
	const char *error;
	test_start();
	test_assert(account_add(test_store, test_creds, "alice", "secret",
	                        &error) == STORE_OK);
	test_assert(account_add(test_store, test_creds, "alice", "other",
	                        &error) == STORE_EXISTS);
	test_assert(account_add(test_store, test_creds, "a b", "pw", &error) ==
	            STORE_DENIED);
	test_assert(account_add(test_store, test_creds, "nopw", "", &error) ==
	            STORE_DENIED);
	int64_t id;
	test_assert(store_user_lookup(test_store, "alice", &id, &error) ==
	            STORE_OK);
	test_assert(store_user_lookup(test_store, "nopw", &id, &error) ==
	            STORE_NOT_FOUND);
	test_assert(test_plain("alice", "secret") == SASL_OK);
	test_assert(test_plain("alice", "Secret") == SASL_FAIL);
	test_assert(test_plain("alice", "") == SASL_FAIL);
	test_assert(test_plain("nobody", "secret") == SASL_FAIL);
	/* Stored as yescrypt, never in clear. */
	test_assert(test_cred_sql_int("SELECT count(*) FROM credentials WHERE "
	                              "kind = 'password' AND value LIKE "
	                              "'$y$%'") == 1);
	test_assert(test_cred_sql_int("SELECT count(*) FROM credentials WHERE "
	                              "value LIKE '%secret%'") == 0);
	test_finish();
}

static void
test_long_passwords(void)
{
	const char *error;
	test_start();
	char *pw = xmalloc(1026);
	memset(pw, 'p', 1025);
	pw[1025] = '\0';
	test_assert(account_add(test_store, test_creds, "longpw", pw, &error) ==
	            STORE_DENIED);
	pw[1024] = '\0';
	test_assert(account_add(test_store, test_creds, "longpw", pw, &error) ==
	            STORE_OK);
	test_assert(test_plain("longpw", pw) == SASL_OK);
	/* Past libcrypt's 511 bytes every byte still counts. */
	pw[1023] = 'q';
	test_assert(test_plain("longpw", pw) == SASL_FAIL);
	pw[600] = '\0';
	test_assert(test_plain("longpw", pw) == SASL_FAIL);
	free(pw);
	test_finish();
}

static void
test_passwd_and_delete(void)
{
	const char *error;
	test_start();
	test_assert(account_add(test_store, test_creds, "alice", "secret",
	                        &error) == STORE_OK);
	test_assert(account_set_password(test_creds, "alice", "new", &error) ==
	            STORE_OK);
	test_assert(test_plain("alice", "secret") == SASL_FAIL);
	test_assert(test_plain("alice", "new") == SASL_OK);
	test_assert(account_set_password(test_creds, "nobody", "x", &error) ==
	            STORE_NOT_FOUND);
	test_assert(account_set_password(test_creds, "alice", "", &error) ==
	            STORE_DENIED);
	test_assert(account_delete(test_store, test_creds, "alice", &error) ==
	            STORE_OK);
	test_assert(test_plain("alice", "new") == SASL_FAIL);
	test_assert(account_delete(test_store, test_creds, "alice", &error) ==
	            STORE_NOT_FOUND);
	test_assert(test_cred_sql_int("SELECT count(*) FROM credentials") == 0);
	test_finish();
}

static void
test_swap(void)
{
	const char *error;
	char value[64];
	test_start();
	struct cred_value v = {"otp", "md5 500 seed 0011"};
	test_assert(cred_store_put(test_creds, "alice", CRED_PUT_CREATE, &v, 1,
	                           &error) == STORE_OK);
	test_assert(cred_store_swap(test_creds, "alice", "otp",
	                            "md5 500 seed 0011", "md5 499 seed 2233",
	                            &error) == STORE_OK);
	/* The same old value a second time: someone was first. */
	test_assert(cred_store_swap(test_creds, "alice", "otp",
	                            "md5 500 seed 0011", "md5 499 seed 4455",
	                            &error) == STORE_CONFLICT);
	test_assert(cred_store_get(test_creds, "alice", "otp", value,
	                           sizeof(value), &error) == STORE_OK);
	test_assert(strcmp(value, "md5 499 seed 2233") == 0);
	test_assert(cred_store_get(test_creds, "alice", "password", value,
	                           sizeof(value), &error) == STORE_NOT_FOUND);
	test_assert(cred_store_user_exists(test_creds, "bob", &error) ==
	            STORE_NOT_FOUND);
	test_finish();
}

static double
test_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An unknown user must cost a hash like a wrong password does. */
static void
test_timing(void)
{
	const char *error;
	double known = 1e9, unknown = 1e9;
	test_start();
	test_assert(account_add(test_store, test_creds, "alice", "secret",
	                        &error) == STORE_OK);
	for (int i = 0; i < 3; i++) {
		double t0 = test_seconds();
		(void)test_plain("alice", "wrong");
		double t1 = test_seconds();
		(void)test_plain("nobody", "wrong");
		double t2 = test_seconds();
		if (t1 - t0 < known)
			known = t1 - t0;
		if (t2 - t1 < unknown)
			unknown = t2 - t1;
	}
	test_assert(unknown > known / 3);
	test_finish();
}

/* A schema 1 data directory: hashes in casella.db move out. */
static void
test_upgrade(void)
{
	const char *error;
	char path[128], hash[PASSWORD_HASH_SIZE], sql[1024];
	casella_strlcpy(test_dir, "/tmp/casella-test-XXXXXX", sizeof(test_dir));
	if (mkdtemp(test_dir) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/casella.db", test_dir);
	test_assert(password_hash("oldpw", hash) == 0);
	snprintf(sql, sizeof(sql),
	         "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);"
	         "INSERT INTO meta VALUES ('schema_version', '1');"
	         "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT "
	         "UNIQUE, password_hash TEXT NOT NULL);"
	         "INSERT INTO users (name, password_hash) VALUES "
	         "('old', '%s');"
	         "CREATE TABLE mailboxes (id INTEGER PRIMARY KEY);"
	         "CREATE TABLE expunged (mailbox_id INTEGER, uid INTEGER, "
	         "modseq INTEGER);",
	         hash);
	sqlite3 *db;
	test_assert(sqlite3_open(path, &db) == SQLITE_OK);
	test_assert(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	test_assert(store_upgrade(test_dir, &error) == STORE_OK);
	test_assert(test_plain("old", "oldpw") == SASL_OK);
	test_assert(test_plain("old", "wrong") == SASL_FAIL);
	test_assert(sqlite3_open(path, &db) == SQLITE_OK);
	sqlite3_stmt *stmt;
	test_assert(sqlite3_prepare_v2(db,
	                               "SELECT count(*) FROM pragma_table_info("
	                               "'users') WHERE name = "
	                               "'password_hash'",
	                               -1, &stmt, NULL) == SQLITE_OK);
	test_assert(sqlite3_step(stmt) == SQLITE_ROW &&
	            sqlite3_column_int(stmt, 0) == 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	/* Running it again changes nothing. */
	test_assert(store_upgrade(test_dir, &error) == STORE_OK);
	(void)nftw(test_dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"add and check", test_add_and_check},
	    {"long passwords", test_long_passwords},
	    {"passwd and delete", test_passwd_and_delete},
	    {"compare and swap", test_swap},
	    {"unknown user costs a hash", test_timing},
	    {"upgrade from schema 1", test_upgrade},
	};
	return test_run("account", cases, N_ELEMENTS(cases));
}
