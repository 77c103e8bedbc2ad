/* Users and subscriptions. */
#include "store-private.h"

#include <string.h>

#include "arena.h"
#include "util.h"

#define STORE_USER_NAME_MAX 64

/* 1..64 bytes of [A-Za-z0-9._@+-], not starting with '.': safe in logs,
 * shells and file names alike. */
static bool
store_user_name_is_valid(const char *name)
{
	size_t len = strnlen(name, STORE_USER_NAME_MAX + 1);

	if (len == 0 || len > STORE_USER_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("._@+-", c) != NULL))
			return false;
	}
	return true;
}

/* Looks a user up. */
static enum store_result
store_user_get(struct store *store, const char *name, int64_t *user_id_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_USER_GET);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		*user_id_r = sqlite3_column_int64(stmt, 0);
	} else if (rc == SQLITE_DONE) {
		ret = store_fail(store, STORE_NOT_FOUND, "no such user");
	} else {
		ret = store_sql_fail(store, "look up user");
	}
	sqlite3_reset(stmt);
	return ret;
}

bool
store_user_name_valid(const char *name)
{
	return store_user_name_is_valid(name);
}

enum store_result
store_user_add(struct store *store, const char *name, const char **error_r)
{
	int64_t user_id, inbox_id;

	if (!store_user_name_is_valid(name))
		return store_result(
		    store,
		    store_fail(store, STORE_DENIED,
		               "invalid user name: use 1..%d of "
		               "A-Z a-z 0-9 . _ @ + -, not starting with '.'",
		               STORE_USER_NAME_MAX),
		    error_r);
	enum store_result ret = store_tx_begin(store, true);
	if (ret == STORE_OK) {
		ret = store_user_get(store, name, &user_id);
		if (ret == STORE_OK)
			ret = store_fail(store, STORE_EXISTS,
			                 "user already exists");
		else if (ret == STORE_NOT_FOUND)
			ret = STORE_OK;
	}
	sqlite3_stmt *stmt = NULL;
	if (ret == STORE_OK &&
	    (stmt = store_stmt(store, STMT_USER_INSERT)) == NULL)
		ret = STORE_ERROR;
	if (ret == STORE_OK) {
		sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
		ret = store_step_done(store, stmt, "insert user");
	}
	if (ret == STORE_OK) {
		user_id = sqlite3_last_insert_rowid(store->db);
		ret =
		    store_mailbox_insert(store, user_id, "INBOX", 0, &inbox_id);
	}
	return store_result(store, store_tx_end(store, ret), error_r);
}

/* Deletes every mailbox of the user, then the user; inside a
 * transaction.  The mailbox ids go to ids for the change hook. */
static enum store_result
store_user_purge(struct store *store, int64_t user_id, struct store_vec *ids)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_USER_MAILBOXES);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*(int64_t *)store_vec_push(ids) = sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return store_sql_fail(store, "list mailboxes");

	enum store_result ret = STORE_OK;
	const int64_t *id = ids->data;
	for (size_t i = 0; i < ids->count && ret == STORE_OK; i++)
		ret = store_mailbox_purge(store, id[i]);
	enum store_stmt deletes[] = {STMT_SUB_DELETE_USER, STMT_USER_DELETE};
	for (size_t i = 0; i < N_ELEMENTS(deletes) && ret == STORE_OK; i++) {
		if ((stmt = store_stmt(store, deletes[i])) == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, user_id);
		ret = store_step_done(store, stmt, "delete user");
	}
	return ret;
}

enum store_result
store_user_delete(struct store *store, const char *name, const char **error_r)
{
	struct store_vec ids;
	int64_t user_id;

	store_vec_init(&ids, sizeof(int64_t));
	enum store_result ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_user_get(store, name, &user_id);
	if (ret == STORE_OK)
		ret = store_user_purge(store, user_id, &ids);
	ret = store_tx_end(store, ret);
	if (ret == STORE_OK) {
		store_gc_run(store);
		const int64_t *id = ids.data;
		for (size_t i = 0; i < ids.count; i++)
			store_changed(store, STORE_CHANGE_DELETED, user_id,
			              id[i]);
	} else {
		store_gc_forget(store);
	}
	store_vec_free(&ids);
	return store_result(store, ret, error_r);
}

/* Runs a statement whose rows are one name each, copying the names into
 * the arena. */
static enum store_result
store_list_names(struct store *store, sqlite3_stmt *stmt, struct arena *arena,
                 const char ***names_r, size_t *count_r)
{
	struct store_vec names;
	int rc;

	store_vec_init(&names, sizeof(const char *));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 0);
		*(const char **)store_vec_push(&names) =
		    arena_strdup(arena, name != NULL ? name : "");
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		store_vec_free(&names);
		return store_sql_fail(store, "list names");
	}
	*names_r = store_vec_finish(&names, arena, count_r);
	return STORE_OK;
}

enum store_result
store_user_list(struct store *store, struct arena *arena, const char ***names_r,
                size_t *count_r, const char **error_r)
{
	*names_r = NULL;
	*count_r = 0;
	sqlite3_stmt *stmt = store_stmt(store, STMT_USER_LIST);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	return store_result(
	    store, store_list_names(store, stmt, arena, names_r, count_r),
	    error_r);
}

enum store_result
store_user_lookup(struct store *store, const char *name, int64_t *user_id_r,
                  const char **error_r)
{
	return store_result(store, store_user_get(store, name, user_id_r),
	                    error_r);
}

enum store_result
store_subscription_set(struct store *store, int64_t user_id, const char *name,
                       bool subscribed, const char **error_r)
{
	size_t len = strnlen(name, STORE_NAME_MAX + 1);
	if (len == 0 || len > STORE_NAME_MAX)
		return store_result(store,
		                    store_fail(store, STORE_LIMIT,
		                               "mailbox name must be 1..%d "
		                               "bytes",
		                               STORE_NAME_MAX),
		                    error_r);
	sqlite3_stmt *stmt =
	    store_stmt(store, subscribed ? STMT_SUB_ADD : STMT_SUB_REMOVE);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = store_fail(store, STORE_NOT_FOUND, "no such user");
	else if (rc != SQLITE_DONE)
		ret = store_sql_fail(store, "set subscription");
	sqlite3_reset(stmt);
	/* Subscribing twice changes nothing and tells nobody. */
	if (ret == STORE_OK && sqlite3_changes(store->db) > 0)
		store_changed(store, STORE_CHANGE_SUBSCRIPTION, user_id, 0);
	return store_result(store, ret, error_r);
}

enum store_result
store_subscription_list(struct store *store, int64_t user_id,
                        struct arena *arena, const char ***names_r,
                        size_t *count_r, const char **error_r)
{
	*names_r = NULL;
	*count_r = 0;
	sqlite3_stmt *stmt = store_stmt(store, STMT_SUB_LIST);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, user_id);
	return store_result(
	    store, store_list_names(store, stmt, arena, names_r, count_r),
	    error_r);
}
