/* Mailboxes: create, list, delete, rename, status, \Recent. */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "util.h"

#define STORE_SPECIAL_USE_ALL 0x7f

static bool
store_name_is_inbox(const char *name)
{
	return strcmp(name, "INBOX") == 0;
}

/* Checks a name's length.  A name that must exist already (existing)
 * can't if it is too long, so that is STORE_NOT_FOUND. */
static enum store_result
store_check_name(struct store *store, const char *name, bool existing)
{
	size_t len = strnlen(name, STORE_NAME_MAX + 1);

	if (len >= 1 && len <= STORE_NAME_MAX)
		return STORE_OK;
	if (existing)
		return store_fail(store, STORE_NOT_FOUND, "no such mailbox");
	if (len == 0)
		return store_fail(store, STORE_DENIED, "empty mailbox name");
	return store_fail(store, STORE_LIMIT,
	                  "mailbox name longer than %d bytes", STORE_NAME_MAX);
}

enum store_result
store_mailbox_row_get(struct store *store, int64_t mailbox_id,
                      struct store_mailbox_row *row_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_BY_ID);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		row_r->id = mailbox_id;
		row_r->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 0);
		row_r->uidnext = (uint32_t)sqlite3_column_int64(stmt, 1);
		row_r->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 2);
		row_r->recent_uid = (uint32_t)sqlite3_column_int64(stmt, 3);
		row_r->user_id = sqlite3_column_int64(stmt, 4);
		row_r->vanished_floor = (uint64_t)sqlite3_column_int64(stmt, 5);
		row_r->vanished_count = (uint64_t)sqlite3_column_int64(stmt, 6);
	} else if (rc == SQLITE_DONE) {
		ret = store_fail(store, STORE_NOT_FOUND, "no such mailbox");
	} else {
		ret = store_sql_fail(store, "read mailbox");
	}
	sqlite3_reset(stmt);
	return ret;
}

enum store_result
store_mailbox_row_save(struct store *store, const struct store_mailbox_row *row)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_SET_COUNTERS);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, row->id);
	sqlite3_bind_int64(stmt, 2, row->uidnext);
	sqlite3_bind_int64(stmt, 3, (int64_t)row->highestmodseq);
	return store_step_done(store, stmt, "update mailbox");
}

/* Finds a mailbox by name inside a transaction; mailbox_r may be NULL. */
static enum store_result
store_mailbox_get(struct store *store, int64_t user_id, const char *name,
                  struct store_mailbox *mailbox_r, int64_t *id_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_BY_NAME);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		*id_r = sqlite3_column_int64(stmt, 0);
		if (mailbox_r != NULL) {
			mailbox_r->id = *id_r;
			mailbox_r->uidvalidity =
			    (uint32_t)sqlite3_column_int64(stmt, 1);
			mailbox_r->uidnext =
			    (uint32_t)sqlite3_column_int64(stmt, 2);
			mailbox_r->highestmodseq =
			    (uint64_t)sqlite3_column_int64(stmt, 3);
			mailbox_r->special_use =
			    (unsigned)sqlite3_column_int64(stmt, 4);
		}
	} else if (rc == SQLITE_DONE) {
		ret = store_fail(store, STORE_NOT_FOUND, "no such mailbox");
	} else {
		ret = store_sql_fail(store, "look up mailbox");
	}
	sqlite3_reset(stmt);
	return ret;
}

/* STORE_OK if the name is free, STORE_EXISTS if taken. */
static enum store_result
store_mailbox_check_free(struct store *store, int64_t user_id, const char *name,
                         int64_t *id_r)
{
	enum store_result ret =
	    store_mailbox_get(store, user_id, name, NULL, id_r);
	if (ret == STORE_OK)
		return store_fail(store, STORE_EXISTS,
		                  "mailbox already exists");
	return ret == STORE_NOT_FOUND ? STORE_OK : ret;
}

/* RFC 9051 2.3.1.1: a new mailbox must not reuse the UIDVALIDITY of one
 * deleted before, so we keep a counter and also follow the clock. */
static enum store_result
store_uidvalidity_next(struct store *store, uint32_t *uidvalidity_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_META_GET);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, "uidvalidity_counter", -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	int64_t counter = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return store_sql_fail(store, "read uidvalidity counter");

	int64_t next = counter + 1;
	int64_t now = (int64_t)time(NULL);
	if (now > next)
		next = now;
	if (next > UINT32_MAX)
		return store_fail(store, STORE_LIMIT,
		                  "UIDVALIDITY values exhausted");
	if ((stmt = store_stmt(store, STMT_META_SET)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, "uidvalidity_counter", -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, next);
	*uidvalidity_r = (uint32_t)next;
	return store_step_done(store, stmt, "update uidvalidity counter");
}

enum store_result
store_mailbox_insert(struct store *store, int64_t user_id, const char *name,
                     unsigned special_use, int64_t *mailbox_id_r)
{
	uint32_t uidvalidity = 0;

	enum store_result ret = store_uidvalidity_next(store, &uidvalidity);
	if (ret != STORE_OK)
		return ret;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_INSERT);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, user_id);
	sqlite3_bind_text(stmt, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, uidvalidity);
	sqlite3_bind_int64(stmt, 4, special_use & STORE_SPECIAL_USE_ALL);
	ret = store_step_done(store, stmt, "insert mailbox");
	if (ret == STORE_OK)
		*mailbox_id_r = sqlite3_last_insert_rowid(store->db);
	return ret;
}

enum store_result
store_mailbox_purge(struct store *store, int64_t mailbox_id)
{
	static const enum store_stmt deletes[] = {
	    STMT_MAILBOX_DELETE_MESSAGES,
	    STMT_MAILBOX_DELETE_EXPUNGED,
	    STMT_MAILBOX_DELETE,
	};
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_BLOBS);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);
		if (id != NULL)
			store_gc_add(store, id);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE)
		return store_sql_fail(store, "list mailbox bodies");
	for (size_t i = 0; i < N_ELEMENTS(deletes); i++) {
		if ((stmt = store_stmt(store, deletes[i])) == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		enum store_result ret =
		    store_step_done(store, stmt, "delete mailbox");
		if (ret != STORE_OK)
			return ret;
	}
	return STORE_OK;
}

enum store_result
store_mailbox_list(struct store *store, int64_t user_id, struct arena *arena,
                   struct store_mailbox **mailboxes_r, size_t *count_r,
                   const char **error_r)
{
	struct store_vec vec;
	int rc;

	*mailboxes_r = NULL;
	*count_r = 0;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_LIST);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, user_id);
	store_vec_init(&vec, sizeof(struct store_mailbox));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_mailbox *mb = store_vec_push(&vec);
		const char *name = (const char *)sqlite3_column_text(stmt, 1);
		mb->id = sqlite3_column_int64(stmt, 0);
		mb->name = arena_strdup(arena, name != NULL ? name : "");
		mb->uidvalidity = (uint32_t)sqlite3_column_int64(stmt, 2);
		mb->uidnext = (uint32_t)sqlite3_column_int64(stmt, 3);
		mb->highestmodseq = (uint64_t)sqlite3_column_int64(stmt, 4);
		mb->special_use = (unsigned)sqlite3_column_int64(stmt, 5);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		store_vec_free(&vec);
		return store_result(
		    store, store_sql_fail(store, "list mailboxes"), error_r);
	}
	*mailboxes_r = store_vec_finish(&vec, arena, count_r);
	return STORE_OK;
}

enum store_result
store_mailbox_find(struct store *store, int64_t user_id, const char *name,
                   struct arena *arena, struct store_mailbox *mailbox_r,
                   const char **error_r)
{
	int64_t id;

	enum store_result ret = store_check_name(store, name, true);
	if (ret == STORE_OK)
		ret = store_mailbox_get(store, user_id, name, mailbox_r, &id);
	if (ret == STORE_OK)
		mailbox_r->name = arena_strdup(arena, name);
	return store_result(store, ret, error_r);
}

enum store_result
store_mailbox_create(struct store *store, int64_t user_id, const char *name,
                     unsigned special_use, int64_t *mailbox_id_r,
                     const char **error_r)
{
	int64_t id;

	enum store_result ret = store_check_name(store, name, false);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	ret = store_tx_begin(store, true);
	sqlite3_stmt *stmt = NULL;
	if (ret == STORE_OK &&
	    (stmt = store_stmt(store, STMT_USER_EXISTS)) == NULL)
		ret = STORE_ERROR;
	if (ret == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, user_id);
		int rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc == SQLITE_DONE)
			ret =
			    store_fail(store, STORE_NOT_FOUND, "no such user");
		else if (rc != SQLITE_ROW)
			ret = store_sql_fail(store, "look up user");
	}
	if (ret == STORE_OK)
		ret = store_mailbox_check_free(store, user_id, name, &id);
	if (ret == STORE_OK)
		ret = store_mailbox_insert(store, user_id, name, special_use,
		                           mailbox_id_r);
	ret = store_tx_end(store, ret);
	if (ret == STORE_OK)
		store_changed(store, STORE_CHANGE_CREATED, user_id,
		              *mailbox_id_r);
	return store_result(store, ret, error_r);
}

enum store_result
store_mailbox_delete(struct store *store, int64_t user_id, const char *name,
                     const char **error_r)
{
	int64_t id = 0;

	enum store_result ret = store_check_name(store, name, true);
	if (ret == STORE_OK && store_name_is_inbox(name))
		ret = store_fail(store, STORE_DENIED, "INBOX can't be deleted");
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_mailbox_get(store, user_id, name, NULL, &id);
	if (ret == STORE_OK)
		ret = store_mailbox_purge(store, id);
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK) {
		store_gc_forget(store);
		return store_result(store, ret, error_r);
	}
	store_gc_run(store);
	store_changed(store, STORE_CHANGE_DELETED, user_id, id);
	return STORE_OK;
}

/* One mailbox moving in a rename. */
struct store_rename {
	int64_t id;
	char *new_name; /* heap */
	size_t old_len;
};

static int
store_rename_cmp_len(const void *a, const void *b)
{
	const struct store_rename *x = a, *y = b;
	return x->old_len < y->old_len ? -1 : x->old_len > y->old_len;
}

static void
store_renames_free(struct store_vec *vec)
{
	struct store_rename *r = vec->data;
	for (size_t i = 0; i < vec->count; i++)
		free(r[i].new_name);
	store_vec_free(vec);
}

/* Collects old_name's children (byte-wise prefix "old_name/", found as the
 * range ["old_name/", "old_name0") since '0' follows '/') with their new
 * names. */
static enum store_result
store_rename_collect(struct store *store, int64_t user_id, const char *old_name,
                     const char *new_name, struct store_vec *renames)
{
	size_t old_len = strlen(old_name), new_len = strlen(new_name);
	char *lo = xmalloc(old_len + 2), *hi = xmalloc(old_len + 2);
	memcpy(lo, old_name, old_len);
	memcpy(hi, old_name, old_len);
	lo[old_len] = '/';
	hi[old_len] = '0';
	lo[old_len + 1] = hi[old_len + 1] = '\0';

	enum store_result ret = STORE_OK;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_CHILDREN);
	if (stmt == NULL)
		ret = STORE_ERROR;
	int rc = SQLITE_DONE;
	if (ret == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, user_id);
		sqlite3_bind_text(stmt, 2, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(stmt, 3, hi, -1, SQLITE_STATIC);
	}
	while (ret == STORE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(stmt, 1);
		size_t len = strlen(name);
		if (len - old_len + new_len > STORE_NAME_MAX) {
			ret = store_fail(store, STORE_LIMIT,
			                 "renamed child name too long");
			break;
		}
		struct store_rename *r = store_vec_push(renames);
		r->id = sqlite3_column_int64(stmt, 0);
		r->old_len = len;
		r->new_name = xmalloc(len - old_len + new_len + 1);
		memcpy(r->new_name, new_name, new_len);
		memcpy(r->new_name + new_len, name + old_len,
		       len - old_len + 1);
	}
	if (stmt != NULL)
		sqlite3_reset(stmt);
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_sql_fail(store, "list child mailboxes");
	free(lo);
	free(hi);
	return ret;
}

/* A target name may be taken only by a mailbox that moves away itself. */
static enum store_result
store_rename_check_targets(struct store *store, int64_t user_id,
                           const struct store_vec *renames)
{
	const struct store_rename *r = renames->data;
	for (size_t i = 0; i < renames->count; i++) {
		int64_t taken;
		enum store_result ret = store_mailbox_check_free(
		    store, user_id, r[i].new_name, &taken);
		if (ret == STORE_OK)
			continue;
		if (ret != STORE_EXISTS)
			return ret;
		size_t j = 0;
		while (j < renames->count && r[j].id != taken)
			j++;
		if (j == renames->count)
			return ret;
	}
	return STORE_OK;
}

/*
 * Renames a mailbox and its children inside a transaction.  Names are
 * unique, and a target may be the old name of another mailbox in the
 * set.  Every rename changes the length by the same amount, and a name's
 * target is never its own length: so when names shrink, renaming the
 * shortest first frees each target before it is needed, and when they
 * grow, the longest first.
 */
static enum store_result
store_rename_tree(struct store *store, int64_t user_id, int64_t id,
                  const char *old_name, const char *new_name,
                  struct store_vec *renames)
{
	struct store_rename *top = store_vec_push(renames);
	top->id = id;
	top->old_len = strlen(old_name);
	top->new_name = xstrdup(new_name);
	enum store_result ret =
	    store_rename_collect(store, user_id, old_name, new_name, renames);
	if (ret == STORE_OK)
		ret = store_rename_check_targets(store, user_id, renames);
	if (ret != STORE_OK)
		return ret;

	struct store_rename *r = renames->data;
	qsort(r, renames->count, sizeof(*r), store_rename_cmp_len);
	bool grow = strlen(new_name) > strlen(old_name);
	for (size_t k = 0; k < renames->count && ret == STORE_OK; k++) {
		size_t i = grow ? renames->count - 1 - k : k;
		sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_SET_NAME);
		if (stmt == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, r[i].id);
		sqlite3_bind_text(stmt, 2, r[i].new_name, -1, SQLITE_STATIC);
		ret = store_step_done(store, stmt, "rename mailbox");
	}
	return ret;
}

/*
 * RFC 9051 6.3.6: renaming INBOX moves its messages to a new mailbox and
 * leaves INBOX empty.  The messages get UIDs 1..n there; in INBOX they
 * are recorded as expunged so sessions and QRESYNC clients see them go.
 * INBOX's children stay where they are.
 */
static enum store_result
store_rename_inbox(struct store *store, int64_t user_id, const char *new_name,
                   struct store_vec *renames)
{
	struct store_mailbox_row inbox, dst;
	int64_t inbox_id, dst_id;

	enum store_result ret =
	    store_mailbox_get(store, user_id, "INBOX", NULL, &inbox_id);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, inbox_id, &inbox);
	if (ret == STORE_OK)
		ret =
		    store_mailbox_insert(store, user_id, new_name, 0, &dst_id);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, dst_id, &dst);
	if (ret != STORE_OK)
		return ret;
	*(int64_t *)store_vec_push(renames) = inbox_id;
	*(int64_t *)store_vec_push(renames) = dst_id;

	uint64_t inbox_modseq = inbox.highestmodseq + 1;
	uint64_t dst_modseq = dst.highestmodseq + 1;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_RENUMBER_INTO);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, inbox_id);
	sqlite3_bind_int64(stmt, 2, dst_id);
	sqlite3_bind_int64(stmt, 3, (int64_t)dst_modseq);
	if ((ret = store_step_done(store, stmt, "move messages")) != STORE_OK)
		return ret;
	int moved = sqlite3_changes(store->db);
	if (moved == 0)
		return STORE_OK;

	static const enum store_stmt steps[] = {
	    STMT_MAILBOX_EXPUNGE_ALL,
	    STMT_MAILBOX_DELETE_MESSAGES,
	};
	for (size_t i = 0; i < N_ELEMENTS(steps); i++) {
		if ((stmt = store_stmt(store, steps[i])) == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, inbox_id);
		if (steps[i] == STMT_MAILBOX_EXPUNGE_ALL)
			sqlite3_bind_int64(stmt, 2, (int64_t)inbox_modseq);
		if ((ret = store_step_done(store, stmt, "empty INBOX")) !=
		    STORE_OK)
			return ret;
	}
	inbox.highestmodseq = inbox_modseq;
	dst.highestmodseq = dst_modseq;
	dst.uidnext = (uint32_t)moved + 1;
	ret = store_mailbox_row_save(store, &inbox);
	if (ret == STORE_OK)
		ret = store_mailbox_row_save(store, &dst);
	if (ret == STORE_OK)
		ret = store_vanished_prune(store, inbox_id);
	return ret;
}

static enum store_result
store_rename_check(struct store *store, const char *old_name,
                   const char *new_name)
{
	enum store_result ret = store_check_name(store, old_name, true);
	if (ret == STORE_OK)
		ret = store_check_name(store, new_name, false);
	if (ret != STORE_OK)
		return ret;
	if (strcmp(old_name, new_name) == 0 || store_name_is_inbox(new_name))
		return store_fail(store, STORE_EXISTS,
		                  "mailbox already exists");
	size_t old_len = strlen(old_name);
	if (!store_name_is_inbox(old_name) &&
	    strncmp(new_name, old_name, old_len) == 0 &&
	    new_name[old_len] == '/')
		return store_fail(store, STORE_DENIED,
		                  "can't rename a mailbox into itself");
	return STORE_OK;
}

enum store_result
store_mailbox_rename(struct store *store, int64_t user_id, const char *old_name,
                     const char *new_name, const char **error_r)
{
	struct store_vec renames;
	int64_t id;
	bool inbox = store_name_is_inbox(old_name);

	enum store_result ret = store_rename_check(store, old_name, new_name);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	store_vec_init(&renames,
	               inbox ? sizeof(int64_t) : sizeof(struct store_rename));
	ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_mailbox_get(store, user_id, old_name, NULL, &id);
	if (ret == STORE_OK) {
		int64_t taken;
		ret =
		    store_mailbox_check_free(store, user_id, new_name, &taken);
	}
	if (ret == STORE_OK && inbox)
		ret = store_rename_inbox(store, user_id, new_name, &renames);
	else if (ret == STORE_OK)
		ret = store_rename_tree(store, user_id, id, old_name, new_name,
		                        &renames);
	ret = store_tx_end(store, ret);
	for (size_t i = 0; ret == STORE_OK && i < renames.count; i++) {
		/* Renaming INBOX empties it into a new mailbox. */
		if (inbox)
			store_changed(store,
			              i == 0 ? STORE_CHANGE_MESSAGES
			                     : STORE_CHANGE_CREATED,
			              user_id, ((int64_t *)renames.data)[i]);
		else
			store_changed(
			    store, STORE_CHANGE_RENAMED, user_id,
			    ((struct store_rename *)renames.data)[i].id);
	}
	if (inbox)
		store_vec_free(&renames);
	else
		store_renames_free(&renames);
	return store_result(store, ret, error_r);
}

enum store_result
store_mailbox_owner(struct store *store, int64_t mailbox_id, int64_t *user_id_r,
                    const char **error_r)
{
	struct store_mailbox_row row;
	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	*user_id_r = ret == STORE_OK ? row.user_id : 0;
	return store_result(store, ret, error_r);
}

enum store_result
store_mailbox_counters(struct store *store, int64_t mailbox_id,
                       struct store_status *status_r, const char **error_r)
{
	struct store_mailbox_row row;
	memset(status_r, 0, sizeof(*status_r));
	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	status_r->uidnext = row.uidnext;
	status_r->uidvalidity = row.uidvalidity;
	status_r->highestmodseq = row.highestmodseq;
	status_r->vanished_floor = row.vanished_floor;
	/* Messages no session has claimed as \Recent yet. */
	status_r->recent =
	    row.uidnext > row.recent_uid ? row.uidnext - row.recent_uid : 0;
	return STORE_OK;
}

enum store_result
store_mailbox_status(struct store *store, int64_t mailbox_id,
                     struct store_status *status_r, const char **error_r)
{
	struct store_mailbox_row row;

	memset(status_r, 0, sizeof(*status_r));
	/* One snapshot, so the counts match the counters. */
	enum store_result ret = store_tx_begin(store, false);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, mailbox_id, &row);
	sqlite3_stmt *stmt = NULL;
	if (ret == STORE_OK &&
	    (stmt = store_stmt(store, STMT_MAILBOX_COUNTS)) == NULL)
		ret = STORE_ERROR;
	if (ret == STORE_OK) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, row.recent_uid);
		if (sqlite3_step(stmt) == SQLITE_ROW) {
			status_r->messages =
			    (uint32_t)sqlite3_column_int64(stmt, 0);
			status_r->recent =
			    (uint32_t)sqlite3_column_int64(stmt, 1);
			status_r->unseen =
			    (uint32_t)sqlite3_column_int64(stmt, 2);
			status_r->deleted =
			    (uint32_t)sqlite3_column_int64(stmt, 3);
			status_r->size =
			    (uint64_t)sqlite3_column_int64(stmt, 4);
		} else {
			ret = store_sql_fail(store, "count messages");
		}
		sqlite3_reset(stmt);
	}
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	status_r->uidnext = row.uidnext;
	status_r->uidvalidity = row.uidvalidity;
	status_r->highestmodseq = row.highestmodseq;
	status_r->vanished_floor = row.vanished_floor;
	return STORE_OK;
}

enum store_result
store_mailbox_claim_recent(struct store *store, int64_t mailbox_id,
                           uint32_t *first_uid_r, uint32_t *end_uid_r,
                           const char **error_r)
{
	struct store_mailbox_row row;

	*first_uid_r = *end_uid_r = 0;
	/* Usually there is nothing to claim: find out without taking the
	 * write lock, which every session in IDLE would queue for. */
	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	if (row.recent_uid >= row.uidnext) {
		*first_uid_r = *end_uid_r = row.uidnext;
		return STORE_OK;
	}
	ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, mailbox_id, &row);
	if (ret == STORE_OK && row.recent_uid < row.uidnext) {
		sqlite3_stmt *stmt = store_stmt(store, STMT_MAILBOX_SET_RECENT);
		if (stmt == NULL) {
			ret = STORE_ERROR;
		} else {
			sqlite3_bind_int64(stmt, 1, mailbox_id);
			sqlite3_bind_int64(stmt, 2, row.uidnext);
			ret = store_step_done(store, stmt, "claim recent");
		}
	}
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK)
		return store_result(store, ret, error_r);
	*first_uid_r =
	    row.recent_uid < row.uidnext ? row.recent_uid : row.uidnext;
	*end_uid_r = row.uidnext;
	return STORE_OK;
}
