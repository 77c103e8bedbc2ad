/* Messages: reading, APPEND, COPY/MOVE, EXPUNGE and bodies. */
#include "store-private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "util.h"

/* Runs a message query inside a read transaction after checking that the
 * mailbox exists; rows go to the arena. */
static enum store_result
store_messages_query(struct store *store, sqlite3_stmt *stmt,
                     int64_t mailbox_id, struct arena *arena,
                     struct store_message **messages_r, size_t *count_r)
{
	struct store_mailbox_row row;
	struct store_vec vec;
	int rc = SQLITE_DONE;

	store_vec_init(&vec, sizeof(struct store_message));
	enum store_result ret = store_tx_begin(store, false);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, mailbox_id, &row);
	while (ret == STORE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		store_message_from_row(stmt, arena, store_vec_push(&vec));
	sqlite3_reset(stmt);
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_sql_fail(store, "read messages");
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK) {
		store_vec_free(&vec);
		return ret;
	}
	*messages_r = store_vec_finish(&vec, arena, count_r);
	return STORE_OK;
}

enum store_result
store_messages_load(struct store *store, int64_t mailbox_id, uint32_t min_uid,
                    struct arena *arena, struct store_message **messages_r,
                    size_t *count_r, const char **error_r)
{
	*messages_r = NULL;
	*count_r = 0;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGES_LOAD);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, min_uid);
	return store_result(store,
	                    store_messages_query(store, stmt, mailbox_id, arena,
	                                         messages_r, count_r),
	                    error_r);
}

enum store_result
store_messages_get(struct store *store, int64_t mailbox_id,
                   const uint32_t *uids, size_t uid_count, struct arena *arena,
                   struct store_message **messages_r, size_t *count_r,
                   const char **error_r)
{
	struct store_vec vec;
	int rc = SQLITE_DONE;
	*messages_r = NULL;
	*count_r = 0;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_GET);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	store_vec_init(&vec, sizeof(struct store_message));
	/* One read transaction: every row comes from the same snapshot. */
	enum store_result ret = store_tx_begin(store, false);
	for (size_t i = 0; i < uid_count && ret == STORE_OK; i++) {
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, uids[i]);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			store_message_from_row(stmt, arena,
			                       store_vec_push(&vec));
		else if (rc != SQLITE_DONE)
			ret = store_sql_fail(store, "read message");
		sqlite3_reset(stmt);
	}
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK) {
		store_vec_free(&vec);
		return store_result(store, ret, error_r);
	}
	*messages_r = store_vec_finish(&vec, arena, count_r);
	return STORE_OK;
}

enum store_result
store_messages_changed(struct store *store, int64_t mailbox_id,
                       uint64_t since_modseq, uint32_t below_uid,
                       struct arena *arena, struct store_message **messages_r,
                       size_t *count_r, const char **error_r)
{
	*messages_r = NULL;
	*count_r = 0;
	/* Stored mod-sequences are below 2^63. */
	if (since_modseq > INT64_MAX)
		since_modseq = INT64_MAX;
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGES_CHANGED);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)since_modseq);
	sqlite3_bind_int64(stmt, 3, below_uid);
	return store_result(store,
	                    store_messages_query(store, stmt, mailbox_id, arena,
	                                         messages_r, count_r),
	                    error_r);
}

enum store_result
store_messages_expunged_since(struct store *store, int64_t mailbox_id,
                              uint64_t since_modseq, struct arena *arena,
                              uint32_t **uids_r, size_t *count_r,
                              const char **error_r)
{
	struct store_mailbox_row row;
	struct store_vec vec;
	int rc = SQLITE_DONE;

	*uids_r = NULL;
	*count_r = 0;
	if (since_modseq > INT64_MAX)
		since_modseq = INT64_MAX;
	sqlite3_stmt *stmt = store_stmt(store, STMT_EXPUNGED_SINCE);
	if (stmt == NULL)
		return store_result(store, STORE_ERROR, error_r);
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)since_modseq);
	store_vec_init(&vec, sizeof(uint32_t));
	enum store_result ret = store_tx_begin(store, false);
	if (ret == STORE_OK)
		ret = store_mailbox_row_get(store, mailbox_id, &row);
	while (ret == STORE_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*(uint32_t *)store_vec_push(&vec) =
		    (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_reset(stmt);
	if (ret == STORE_OK && rc != SQLITE_DONE)
		ret = store_sql_fail(store, "read expunged");
	ret = store_tx_end(store, ret);
	if (ret != STORE_OK) {
		store_vec_free(&vec);
		return store_result(store, ret, error_r);
	}
	*uids_r = store_vec_finish(&vec, arena, count_r);
	return STORE_OK;
}

static uint64_t vanished_max = STORE_VANISHED_MAX;

void
store_set_vanished_max(uint64_t max)
{
	vanished_max = max > 0 ? max : 1;
}

/*
 * Keeps a mailbox's expunge history bounded (RFC 7162 3.2.5 lets a server
 * forget): past vanished_max rows, forgets the oldest quarter, whole
 * modseqs at a time so what is kept is complete above the new floor.
 * Runs inside the caller's write transaction.
 */
enum store_result
store_vanished_prune(struct store *store, int64_t mailbox_id)
{
	struct store_mailbox_row row;
	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	if (ret != STORE_OK || row.vanished_count <= vanished_max)
		return ret;
	sqlite3_stmt *stmt = store_stmt(store, STMT_EXPUNGED_PRUNE_POINT);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)(vanished_max - vanished_max / 4));
	int rc = sqlite3_step(stmt);
	uint64_t floor =
	    rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_reset(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_OK
		                         : store_sql_fail(store, "prune point");
	if ((stmt = store_stmt(store, STMT_EXPUNGED_PRUNE)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, (int64_t)floor);
	if ((ret = store_step_done(store, stmt, "prune expunged")) != STORE_OK)
		return ret;
	if ((stmt = store_stmt(store, STMT_MAILBOX_SET_FLOOR)) == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(
	    stmt, 2,
	    (int64_t)(floor > row.vanished_floor ? floor : row.vanished_floor));
	return store_step_done(store, stmt, "raise vanished floor");
}

/* One message of an append on its way in. */
struct store_append_item {
	char blob_id[BLOB_ID_LEN + 1];
	struct store_body_facts facts; /* strings in the append's arena */
	char *tmp_path; /* heap; NULL once installed or not needed */
	char *keywords; /* heap, normalised */
};

static enum store_result
store_blob_fail(struct store *store, const char *op)
{
	return store_fail(store, STORE_ERROR, "%s: %s", op, strerror(errno));
}

/* Checks the requests, hashes the bodies and writes the new ones to
 * temporary files, all before taking the write lock. */
static enum store_result
store_append_prepare(struct store *store,
                     const struct store_append_request *requests, size_t count,
                     struct store_append_item *items, struct arena *arena)
{
	char tmp[BLOB_PATH_MAX];
	const char *op;

	for (size_t i = 0; i < count; i++) {
		const struct store_append_request *req = &requests[i];
		if (req->len > BLOB_MAX_SIZE)
			return store_fail(store, STORE_LIMIT,
			                  "message larger than %zu bytes",
			                  BLOB_MAX_SIZE);
		enum store_result ret = store_keywords_normalize(
		    store, req->keywords, &items[i].keywords);
		if (ret != STORE_OK)
			return ret;
		blob_id_compute(req->len > 0 ? req->data : "", req->len,
		                items[i].blob_id);
		/* Parsed once here, outside the write lock, so FETCH and
		 * SEARCH need not read the body again. */
		store_facts_prepare(arena, req->data, req->len,
		                    &items[i].facts);
		/* Present now, it may still be gone by the time we hold the
		 * lock; blob_install() then writes it after all. */
		if (blob_exists(store->data_dir, items[i].blob_id))
			continue;
		if (blob_tmp_write(store->data_dir, req->data, req->len, tmp,
		                   &op) < 0)
			return store_blob_fail(store, op);
		items[i].tmp_path = xstrdup(tmp);
	}
	return STORE_OK;
}

static unsigned
store_blob_prefix(const char *blob_id)
{
	unsigned v = 0;
	for (int i = 0; i < 2; i++) {
		char c = blob_id[i];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return v;
}

/* Puts every body in place and makes the renames durable; the rows that
 * reference them are committed only after this. */
static enum store_result
store_append_install(struct store *store,
                     const struct store_append_request *requests, size_t count,
                     struct store_append_item *items)
{
	bool sync[256] = {false};
	const char *op;

	for (size_t i = 0; i < count; i++) {
		struct store_append_item *item = &items[i];
		if (blob_install(store->data_dir, item->blob_id,
		                 item->tmp_path != NULL ? item->tmp_path : "",
		                 requests[i].data, requests[i].len, &op) < 0)
			return store_blob_fail(store, op);
		free(item->tmp_path);
		item->tmp_path = NULL;
		/* If the commit fails, GC takes back what nothing uses. */
		store_gc_add(store, item->blob_id);
		sync[store_blob_prefix(item->blob_id)] = true;
	}
	for (size_t i = 0; i < count; i++) {
		unsigned prefix = store_blob_prefix(items[i].blob_id);
		if (!sync[prefix])
			continue;
		sync[prefix] = false;
		if (blob_dir_sync(store->data_dir, items[i].blob_id, &op) < 0)
			return store_blob_fail(store, op);
	}
	return STORE_OK;
}

/*
 * The bodies were installed before the write lock was taken, so that the
 * slow part (rename, directory fsync) runs beside other appends.  Under
 * the lock, GC may have removed one meanwhile (an identical body whose
 * last message went away): put any such body back before referencing it.
 */
static enum store_result
store_append_recheck(struct store *store,
                     const struct store_append_request *requests, size_t count,
                     struct store_append_item *items)
{
	const char *op;
	for (size_t i = 0; i < count; i++) {
		if (blob_exists(store->data_dir, items[i].blob_id))
			continue;
		if (blob_install(store->data_dir, items[i].blob_id, "",
		                 requests[i].data, requests[i].len, &op) < 0 ||
		    blob_dir_sync(store->data_dir, items[i].blob_id, &op) < 0)
			return store_blob_fail(store, op);
	}
	return STORE_OK;
}

static enum store_result
store_message_insert(struct store *store, int64_t mailbox_id,
                     const struct store_message *msg)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_INSERT);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, msg->uid);
	sqlite3_bind_text(stmt, 3, msg->blob_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 4, (int64_t)msg->size);
	sqlite3_bind_int64(stmt, 5, msg->internaldate);
	sqlite3_bind_int64(stmt, 6, msg->internaldate_tz);
	sqlite3_bind_int64(stmt, 7, msg->flags & STORE_FLAGS_ALL);
	sqlite3_bind_text(stmt, 8, msg->keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 9, (int64_t)msg->modseq);
	return store_step_done(store, stmt, "insert message");
}

static enum store_result
store_append_locked(struct store *store, int64_t mailbox_id,
                    const struct store_append_request *requests, size_t count,
                    struct store_append_item *items, uint32_t *uids_r,
                    uint32_t *uidvalidity_r, int64_t *user_id_r)
{
	struct store_mailbox_row row;

	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	if (ret != STORE_OK)
		return ret;
	*uidvalidity_r = row.uidvalidity;
	*user_id_r = row.user_id;
	if (count == 0)
		return STORE_OK;
	if (row.uidnext > STORE_UID_MAX ||
	    count - 1 > STORE_UID_MAX - row.uidnext)
		return store_fail(store, STORE_LIMIT,
		                  "mailbox has run out of UIDs");
	if ((ret = store_append_recheck(store, requests, count, items)) !=
	    STORE_OK)
		return ret;
	row.highestmodseq++;
	for (size_t i = 0; i < count && ret == STORE_OK; i++) {
		const struct store_append_request *req = &requests[i];
		struct store_message msg = {
		    .uid = row.uidnext++,
		    .flags = req->flags,
		    .keywords = items[i].keywords,
		    .modseq = row.highestmodseq,
		    .internaldate = req->internaldate,
		    .internaldate_tz = req->internaldate_tz,
		    .size = req->len,
		    .blob_id = items[i].blob_id,
		};
		uids_r[i] = msg.uid;
		ret = store_message_insert(store, mailbox_id, &msg);
		if (ret == STORE_OK)
			ret = store_facts_insert(store, items[i].blob_id,
			                         &items[i].facts);
	}
	if (ret == STORE_OK)
		ret = store_mailbox_row_save(store, &row);
	return ret;
}

static void
store_append_items_free(struct store_append_item *items, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (items[i].tmp_path != NULL)
			(void)unlink(items[i].tmp_path);
		free(items[i].tmp_path);
		free(items[i].keywords);
	}
	free(items);
}

/* The rows an append or a delivery adds, under the write lock. */
typedef enum store_result
store_rows_fn(struct store *store, void *context,
              const struct store_append_request *requests,
              struct store_append_item *items);

/* Writes the bodies outside the write lock, each once, then adds the
 * rows in one write transaction. */
static enum store_result
store_append_run(struct store *store,
                 const struct store_append_request *requests, size_t count,
                 store_rows_fn *rows, void *context)
{
	if (count > STORE_APPEND_MAX_COUNT)
		return store_fail(store, STORE_LIMIT,
		                  "more than %d messages in one append",
		                  STORE_APPEND_MAX_COUNT);
	struct store_append_item *items = xcalloc(count + 1, sizeof(*items));
	struct arena *arena = arena_create(16384);
	enum store_result ret =
	    store_append_prepare(store, requests, count, items, arena);
	if (ret == STORE_OK)
		ret = store_append_install(store, requests, count, items);
	if (ret == STORE_OK)
		ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret =
		    store_tx_end(store, rows(store, context, requests, items));
	if (ret == STORE_OK)
		store_gc_forget(store);
	else
		store_gc_run(store);
	store_append_items_free(items, count);
	arena_destroy(&arena);
	return ret;
}

struct store_append_ctx {
	int64_t mailbox_id;
	size_t count;
	uint32_t *uids_r;
	uint32_t *uidvalidity_r;
	int64_t user_id;
};

static enum store_result
store_append_rows(struct store *store, void *context,
                  const struct store_append_request *requests,
                  struct store_append_item *items)
{
	struct store_append_ctx *ctx = context;
	return store_append_locked(store, ctx->mailbox_id, requests, ctx->count,
	                           items, ctx->uids_r, ctx->uidvalidity_r,
	                           &ctx->user_id);
}

enum store_result
store_append(struct store *store, int64_t mailbox_id,
             const struct store_append_request *requests, size_t count,
             uint32_t *uids_r, uint32_t *uidvalidity_r, const char **error_r)
{
	*uidvalidity_r = 0;
	struct store_append_ctx ctx = {mailbox_id, count, uids_r, uidvalidity_r,
	                               0};
	enum store_result ret =
	    store_append_run(store, requests, count, store_append_rows, &ctx);
	if (ret == STORE_OK && count > 0)
		store_changed(store, STORE_CHANGE_MESSAGES, ctx.user_id,
		              mailbox_id);
	return store_result(store, ret, error_r);
}

struct store_deliver_ctx {
	const struct store_delivery *deliveries;
	size_t count;
	int64_t *user_ids; /* each (delivery, mailbox)'s owner, in order */
};

static enum store_result
store_deliver_rows(struct store *store, void *context,
                   const struct store_append_request *requests,
                   struct store_append_item *items)
{
	struct store_deliver_ctx *ctx = context;
	int64_t *user_id = ctx->user_ids;
	enum store_result ret = STORE_OK;
	uint32_t uidvalidity;
	for (size_t i = 0; i < ctx->count && ret == STORE_OK; i++) {
		const struct store_delivery *d = &ctx->deliveries[i];
		for (size_t m = 0; m < d->mailbox_count && ret == STORE_OK; m++)
			ret = store_append_locked(
			    store, d->mailbox_ids[m], &requests[i], 1,
			    &items[i], &d->uids_r[m], &uidvalidity, user_id++);
	}
	return ret;
}

static void
store_deliver_announce(struct store *store, const struct store_delivery *d,
                       size_t count, const int64_t *user_ids)
{
	for (size_t i = 0; i < count; i++) {
		for (size_t m = 0; m < d[i].mailbox_count; m++)
			store_changed(store, STORE_CHANGE_MESSAGES, *user_ids++,
			              d[i].mailbox_ids[m]);
	}
}

enum store_result
store_deliver(struct store *store, const struct store_delivery *deliveries,
              size_t count, const char **error_r)
{
	size_t rows = 0;
	struct store_append_request *requests =
	    xcalloc(count + 1, sizeof(*requests));
	for (size_t i = 0; i < count; i++) {
		requests[i] = deliveries[i].request;
		rows += deliveries[i].mailbox_count;
	}
	struct store_deliver_ctx ctx = {deliveries, count,
	                                xcalloc(rows + 1, sizeof(int64_t))};
	enum store_result ret =
	    store_append_run(store, requests, count, store_deliver_rows, &ctx);
	if (ret == STORE_OK)
		store_deliver_announce(store, deliveries, count, ctx.user_ids);
	free(ctx.user_ids);
	free(requests);
	return store_result(store, ret, error_r);
}

/* A COPY or MOVE in progress. */
struct store_copy_ctx {
	struct store_mailbox_row src, dst;
	struct store_mailbox_row *srcp; /* &src, or &dst copying in place */
	bool move;
	struct arena *scratch; /* one message's strings */
	struct store_vec src_uids, dst_uids;
};

static enum store_result
store_copy_one(struct store *store, struct store_copy_ctx *ctx, uint32_t uid)
{
	struct store_message msg;

	arena_clear(ctx->scratch);
	enum store_result ret =
	    store_message_get(store, ctx->srcp->id, uid, ctx->scratch, &msg);
	if (ret == STORE_NOT_FOUND)
		return STORE_OK;
	if (ret != STORE_OK)
		return ret;
	if (ctx->dst.uidnext > STORE_UID_MAX)
		return store_fail(store, STORE_LIMIT,
		                  "target mailbox has run out of UIDs");
	/* The body stays: the source row references it until our commit,
	 * and GC waits for the write lock we hold. */
	msg.uid = ctx->dst.uidnext++;
	msg.modseq = ctx->dst.highestmodseq + 1;
	if ((ret = store_message_insert(store, ctx->dst.id, &msg)) != STORE_OK)
		return ret;
	if (ctx->move) {
		sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_DELETE);
		if (stmt == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, ctx->srcp->id);
		sqlite3_bind_int64(stmt, 2, uid);
		if ((ret = store_step_done(store, stmt, "delete message")) !=
		    STORE_OK)
			return ret;
		if ((stmt = store_stmt(store, STMT_EXPUNGED_INSERT)) == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, ctx->srcp->id);
		sqlite3_bind_int64(stmt, 2, uid);
		sqlite3_bind_int64(stmt, 3,
		                   (int64_t)ctx->srcp->highestmodseq + 1);
		if ((ret = store_step_done(store, stmt, "record expunge")) !=
		    STORE_OK)
			return ret;
	}
	*(uint32_t *)store_vec_push(&ctx->src_uids) = uid;
	*(uint32_t *)store_vec_push(&ctx->dst_uids) = msg.uid;
	return STORE_OK;
}

static enum store_result
store_copy_locked(struct store *store, struct store_copy_ctx *ctx,
                  int64_t src_id, int64_t dst_id, const uint32_t *uids,
                  size_t uid_count)
{
	enum store_result ret = store_mailbox_row_get(store, dst_id, &ctx->dst);
	ctx->srcp = &ctx->dst;
	if (ret == STORE_OK && src_id != dst_id) {
		ret = store_mailbox_row_get(store, src_id, &ctx->src);
		ctx->srcp = &ctx->src;
	}
	if (ret != STORE_OK)
		return ret;
	/* Copying in place must not meet the copies it just made. */
	uint32_t src_end = ctx->srcp->uidnext;
	for (size_t i = 0; i < uid_count && ret == STORE_OK; i++) {
		i_assert(i == 0 || uids[i] >= uids[i - 1]);
		if (uids[i] >= src_end)
			break;
		if (i > 0 && uids[i] == uids[i - 1])
			continue;
		ret = store_copy_one(store, ctx, uids[i]);
	}
	if (ret != STORE_OK || ctx->src_uids.count == 0)
		return ret;
	ctx->dst.highestmodseq++;
	ret = store_mailbox_row_save(store, &ctx->dst);
	if (ret == STORE_OK && ctx->move && ctx->srcp == &ctx->src) {
		ctx->src.highestmodseq++;
		ret = store_mailbox_row_save(store, &ctx->src);
	}
	if (ret == STORE_OK && ctx->move)
		ret = store_vanished_prune(store, src_id);
	return ret;
}

enum store_result
store_messages_copy(struct store *store, int64_t src_id, const uint32_t *uids,
                    size_t uid_count, int64_t dst_id, bool move,
                    struct arena *arena, uint32_t **src_uids_r,
                    uint32_t **dst_uids_r, size_t *count_r,
                    uint32_t *dst_uidvalidity_r, const char **error_r)
{
	struct store_copy_ctx ctx = {.move = move};
	size_t n;

	*src_uids_r = *dst_uids_r = NULL;
	*count_r = 0;
	*dst_uidvalidity_r = 0;
	store_vec_init(&ctx.src_uids, sizeof(uint32_t));
	store_vec_init(&ctx.dst_uids, sizeof(uint32_t));
	ctx.scratch = arena_create(1024);
	enum store_result ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_tx_end(store,
		                   store_copy_locked(store, &ctx, src_id,
		                                     dst_id, uids, uid_count));
	arena_destroy(&ctx.scratch);
	if (ret != STORE_OK) {
		store_vec_free(&ctx.src_uids);
		store_vec_free(&ctx.dst_uids);
		return store_result(store, ret, error_r);
	}
	*dst_uidvalidity_r = ctx.dst.uidvalidity;
	*src_uids_r = store_vec_finish(&ctx.src_uids, arena, &n);
	*dst_uids_r = store_vec_finish(&ctx.dst_uids, arena, count_r);
	if (*count_r > 0) {
		store_changed(store, STORE_CHANGE_MESSAGES, ctx.dst.user_id,
		              dst_id);
		if (move && src_id != dst_id)
			store_changed(store, STORE_CHANGE_MESSAGES,
			              ctx.src.user_id, src_id);
	}
	return STORE_OK;
}

/* A message marked \Deleted. */
struct store_deleted {
	uint32_t uid;
	char blob_id[BLOB_ID_LEN + 1];
};

static enum store_result
store_deleted_list(struct store *store, int64_t mailbox_id,
                   const uint32_t *only_uids, size_t only_count,
                   struct store_vec *deleted)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGES_DELETED);
	size_t j = 0;
	int rc;

	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		uint32_t uid = (uint32_t)sqlite3_column_int64(stmt, 0);
		const char *blob = (const char *)sqlite3_column_text(stmt, 1);
		if (only_uids != NULL) {
			/* Both lists ascend: walk them together. */
			while (j < only_count && only_uids[j] < uid)
				j++;
			if (j == only_count || only_uids[j] != uid)
				continue;
		}
		struct store_deleted *d = store_vec_push(deleted);
		d->uid = uid;
		casella_strlcpy(d->blob_id, blob != NULL ? blob : "",
		                sizeof(d->blob_id));
	}
	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? STORE_OK
	                         : store_sql_fail(store, "list deleted");
}

static enum store_result
store_expunge_locked(struct store *store, int64_t mailbox_id,
                     const uint32_t *only_uids, size_t only_count,
                     struct store_vec *deleted, int64_t *user_id_r)
{
	struct store_mailbox_row row;

	enum store_result ret = store_mailbox_row_get(store, mailbox_id, &row);
	*user_id_r = ret == STORE_OK ? row.user_id : 0;
	if (ret == STORE_OK)
		ret = store_deleted_list(store, mailbox_id, only_uids,
		                         only_count, deleted);
	if (ret != STORE_OK || deleted->count == 0)
		return ret;
	row.highestmodseq++;
	const struct store_deleted *d = deleted->data;
	for (size_t i = 0; i < deleted->count && ret == STORE_OK; i++) {
		sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_DELETE);
		if (stmt == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, d[i].uid);
		if ((ret = store_step_done(store, stmt, "expunge")) != STORE_OK)
			break;
		if ((stmt = store_stmt(store, STMT_EXPUNGED_INSERT)) == NULL)
			return STORE_ERROR;
		sqlite3_bind_int64(stmt, 1, mailbox_id);
		sqlite3_bind_int64(stmt, 2, d[i].uid);
		sqlite3_bind_int64(stmt, 3, (int64_t)row.highestmodseq);
		ret = store_step_done(store, stmt, "record expunge");
		store_gc_add(store, d[i].blob_id);
	}
	if (ret == STORE_OK)
		ret = store_mailbox_row_save(store, &row);
	if (ret == STORE_OK)
		ret = store_vanished_prune(store, mailbox_id);
	return ret;
}

enum store_result
store_expunge(struct store *store, int64_t mailbox_id,
              const uint32_t *only_uids, size_t only_count, struct arena *arena,
              uint32_t **expunged_r, size_t *expunged_count_r,
              const char **error_r)
{
	struct store_vec deleted;
	int64_t user_id = 0;

	*expunged_r = NULL;
	*expunged_count_r = 0;
	store_vec_init(&deleted, sizeof(struct store_deleted));
	enum store_result ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_tx_end(store, store_expunge_locked(
		                              store, mailbox_id, only_uids,
		                              only_count, &deleted, &user_id));
	if (ret != STORE_OK) {
		store_gc_forget(store);
		store_vec_free(&deleted);
		return store_result(store, ret, error_r);
	}
	store_gc_run(store);
	uint32_t *uids = arena_new_array(arena, uint32_t, deleted.count + 1);
	const struct store_deleted *d = deleted.data;
	for (size_t i = 0; i < deleted.count; i++)
		uids[i] = d[i].uid;
	*expunged_r = uids;
	*expunged_count_r = deleted.count;
	if (deleted.count > 0)
		store_changed(store, STORE_CHANGE_MESSAGES, user_id,
		              mailbox_id);
	store_vec_free(&deleted);
	return STORE_OK;
}

enum store_result
store_body_map(struct store *store, const char *blob_id, const char **data_r,
               size_t *len_r, const char **error_r)
{
	const char *op;

	*data_r = NULL;
	*len_r = 0;
	if (blob_id == NULL || !blob_id_valid(blob_id))
		return store_result(
		    store,
		    store_fail(store, STORE_NOT_FOUND, "invalid body id"),
		    error_r);
	if (blob_map(store->data_dir, blob_id, data_r, len_r, &op) == 0)
		return STORE_OK;
	if (errno == ENOENT)
		return store_result(store,
		                    store_fail(store, STORE_NOT_FOUND,
		                               "message body %s is missing",
		                               blob_id),
		                    error_r);
	return store_result(store, store_blob_fail(store, op), error_r);
}

void
store_body_unmap(const char *data, size_t len)
{
	blob_unmap(data, len);
}
