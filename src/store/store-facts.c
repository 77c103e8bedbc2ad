/* Facts derived from bodies (ENVELOPE, BODYSTRUCTURE, decoded text) and
 * the full-text index over them; see store.h struct store_body_facts. */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "str.h"
#include "util.h"

/* The trigram tokenizer needs at least three characters. */
#define FACTS_MIN_NEEDLE_CHARS 3
/* A needle is a search string; IMAP lines are bounded well below this. */
#define FACTS_MAX_NEEDLE 65536

static store_facts_builder *facts_builder;
static store_facts_builder *text_builder;

void
store_set_facts_builder(store_facts_builder *builder)
{
	facts_builder = builder;
}

void
store_set_text_builder(store_facts_builder *builder)
{
	text_builder = builder;
}

void
store_facts_prepare(struct arena *arena, const void *data, size_t len,
                    struct store_body_facts *facts_r)
{
	memset(facts_r, 0, sizeof(*facts_r));
	if (facts_builder != NULL)
		facts_builder(arena, len > 0 ? data : "", len, facts_r);
}

static void
facts_bind_text(sqlite3_stmt *stmt, int index, const char *text)
{
	if (text != NULL)
		sqlite3_bind_text(stmt, index, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, index);
}

enum store_result
store_facts_insert(struct store *store, const char *blob_id,
                   const struct store_body_facts *facts)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_FACTS_INSERT);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, blob_id, -1, SQLITE_STATIC);
	facts_bind_text(stmt, 2, facts->envelope);
	facts_bind_text(stmt, 3, facts->body);
	facts_bind_text(stmt, 4, facts->bodystructure);
	/* Text waits for the indexer: appends stay cheap. */
	sqlite3_bind_int(stmt, 5, 0);
	return store_step_done(store, stmt, "insert facts");
}

enum store_result
store_facts_delete(struct store *store, const char *blob_id)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_FACTS_TEXT_DELETE);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, blob_id, -1, SQLITE_STATIC);
	enum store_result ret = store_step_done(store, stmt, "unindex text");
	if (ret != STORE_OK)
		return ret;
	stmt = store_stmt(store, STMT_FACTS_DELETE);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, blob_id, -1, SQLITE_STATIC);
	return store_step_done(store, stmt, "delete facts");
}

static const char *
facts_column_text(struct arena *arena, sqlite3_stmt *stmt, int column)
{
	const unsigned char *text = sqlite3_column_text(stmt, column);
	if (text == NULL)
		return NULL;
	return arena_strndup(arena, (const char *)text,
	                     (size_t)sqlite3_column_bytes(stmt, column));
}

enum store_result
store_body_facts_get(struct store *store, const char *blob_id,
                     struct arena *arena, struct store_body_facts *facts_r,
                     const char **error_r)
{
	memset(facts_r, 0, sizeof(*facts_r));
	sqlite3_stmt *stmt = store_stmt(store, STMT_FACTS_GET);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_text(stmt, 1, blob_id, -1, SQLITE_STATIC);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_ROW) {
		facts_r->envelope = facts_column_text(arena, stmt, 0);
		facts_r->body = facts_column_text(arena, stmt, 1);
		facts_r->bodystructure = facts_column_text(arena, stmt, 2);
		facts_r->indexed = sqlite3_column_int(stmt, 3) == 1;
	} else if (rc == SQLITE_DONE) {
		ret = store_fail(store, STORE_NOT_FOUND, "no facts for body");
	} else {
		ret = store_sql_fail(store, "get facts");
	}
	sqlite3_reset(stmt);
	return store_result(store, ret, error_r);
}

static size_t
facts_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* An FTS5 query for one phrase in the chosen column(s); '"' doubles. */
static void
facts_match_query(struct str *q, enum store_text_field field,
                  const char *needle)
{
	if (field == STORE_TEXT_HEADER)
		str_append_cstr(q, "header : ");
	else if (field == STORE_TEXT_BODY)
		str_append_cstr(q, "body : ");
	str_append_char(q, '"');
	for (const char *p = needle; *p != '\0'; p++) {
		if (*p == '"')
			str_append_char(q, '"');
		str_append_char(q, *p);
	}
	str_append_char(q, '"');
}

/* Runs one UID query (bound to mailbox_id, and match if non-NULL). */
static enum store_result
facts_uid_query(struct store *store, enum store_stmt id, int64_t mailbox_id,
                const struct str *match, struct arena *arena, uint32_t **uids_r,
                size_t *count_r)
{
	sqlite3_stmt *stmt = store_stmt(store, id);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	if (match != NULL)
		sqlite3_bind_text(stmt, 2, match->data, (int)match->len,
		                  SQLITE_STATIC);
	struct store_vec uids;
	store_vec_init(&uids, sizeof(uint32_t));
	int rc;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*(uint32_t *)store_vec_push(&uids) =
		    (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		store_vec_free(&uids);
		return store_sql_fail(store, "text search");
	}
	*uids_r = store_vec_finish(&uids, arena, count_r);
	return STORE_OK;
}

enum store_result
store_text_search(struct store *store, int64_t mailbox_id,
                  enum store_text_field field, const char *needle,
                  struct arena *arena, bool *usable_r, uint32_t **found_r,
                  size_t *found_count_r, uint32_t **unsure_r,
                  size_t *unsure_count_r, const char **error_r)
{
	*usable_r = false;
	*found_r = *unsure_r = NULL;
	*found_count_r = *unsure_count_r = 0;
	if (facts_utf8_chars(needle) < FACTS_MIN_NEEDLE_CHARS ||
	    strlen(needle) > FACTS_MAX_NEEDLE)
		return STORE_OK;
	struct str q;
	str_init(&q, FACTS_MAX_NEEDLE * 2 + 64);
	facts_match_query(&q, field, needle);
	/* One snapshot for both lists. */
	enum store_result ret = store_tx_begin(store, false);
	if (ret == STORE_OK)
		ret = facts_uid_query(store, STMT_FACTS_FOUND, mailbox_id, &q,
		                      arena, found_r, found_count_r);
	if (ret == STORE_OK)
		ret = facts_uid_query(store, STMT_FACTS_UNSURE, mailbox_id,
		                      NULL, arena, unsure_r, unsure_count_r);
	ret = store_tx_end(store, ret);
	str_free(&q);
	*usable_r = ret == STORE_OK;
	return store_result(store, ret, error_r);
}

/* A body waiting for the index. */
struct facts_pending {
	int64_t id;
	char *blob_id;
	struct store_body_facts text;
};

static enum store_result
facts_pending_list(struct store *store, size_t max, struct arena *arena,
                   struct facts_pending **list_r, size_t *count_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_FACTS_PENDING);
	if (stmt == NULL)
		return STORE_ERROR;
	struct facts_pending *list =
	    arena_new_array(arena, struct facts_pending, max);
	size_t n = 0;
	int rc;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		list[n].id = sqlite3_column_int64(stmt, 0);
		list[n].blob_id = (char *)facts_column_text(arena, stmt, 1);
		n++;
	}
	sqlite3_reset(stmt);
	*list_r = list;
	*count_r = n;
	return STORE_OK;
}

/* Builds one body's text outside any transaction; a body that went
 * away meanwhile is skipped (its facts row goes with it). */
static void
facts_pending_build(struct store *store, struct arena *arena,
                    struct facts_pending *p)
{
	const char *data, *error;
	size_t len;
	if (p->blob_id == NULL ||
	    store_body_map(store, p->blob_id, &data, &len, &error) != STORE_OK)
		return;
	text_builder(arena, data, len, &p->text);
	store_body_unmap(data, len);
}

static enum store_result
facts_pending_store(struct store *store, const struct facts_pending *p)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_FACTS_SET_INDEXED);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, p->id);
	sqlite3_bind_int(stmt, 2, p->text.indexed ? 1 : 2);
	enum store_result ret = store_step_done(store, stmt, "mark indexed");
	/* Someone else indexed it, or it is gone. */
	if (ret != STORE_OK || sqlite3_changes(store->db) == 0 ||
	    !p->text.indexed)
		return ret;
	stmt = store_stmt(store, STMT_FACTS_TEXT_INSERT);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, p->id);
	facts_bind_text(stmt, 2, p->text.header_text);
	facts_bind_text(stmt, 3, p->text.body_text);
	return store_step_done(store, stmt, "index text");
}

enum store_result
store_index_pending(struct store *store, size_t max, size_t *indexed_r,
                    const char **error_r)
{
	*indexed_r = 0;
	if (text_builder == NULL || max == 0)
		return STORE_OK;
	struct arena *arena = arena_create(65536);
	struct facts_pending *list;
	size_t n;
	enum store_result ret =
	    facts_pending_list(store, max, arena, &list, &n);
	for (size_t i = 0; i < n && ret == STORE_OK; i++)
		facts_pending_build(store, arena, &list[i]);
	/* One transaction for the batch: FTS5 writes one segment for it,
	 * and the commit's fsync is shared. */
	bool in_tx = false;
	if (ret == STORE_OK && n > 0) {
		ret = store_tx_begin(store, true);
		in_tx = ret == STORE_OK;
	}
	for (size_t i = 0; i < n && ret == STORE_OK; i++)
		ret = facts_pending_store(store, &list[i]);
	if (in_tx)
		ret = store_tx_end(store, ret);
	arena_destroy(&arena);
	if (ret == STORE_OK)
		*indexed_r = n;
	return store_result(store, ret, error_r);
}
