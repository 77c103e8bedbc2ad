/* Flags and keywords: normalising keyword lists and STORE. */
#include "store-private.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

/* One keyword inside a list being built; points into its source. */
struct store_kw {
	const char *s;
	size_t len;
	size_t order; /* position in the input, to keep the first spelling */
};

static unsigned char
store_kw_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* RFC 9051 2.3.2: flag names are matched without regard to ASCII case. */
static int
store_kw_cmp_name(const struct store_kw *x, const struct store_kw *y)
{
	size_t n = x->len < y->len ? x->len : y->len;
	for (size_t i = 0; i < n; i++) {
		unsigned char a = store_kw_lower((unsigned char)x->s[i]);
		unsigned char b = store_kw_lower((unsigned char)y->s[i]);
		if (a != b)
			return a < b ? -1 : 1;
	}
	return x->len < y->len ? -1 : x->len > y->len;
}

static int
store_kw_cmp(const void *a, const void *b)
{
	const struct store_kw *x = a, *y = b;
	int cmp = store_kw_cmp_name(x, y);
	if (cmp != 0)
		return cmp;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* Adds the space-separated words of s to vec. */
static void
store_kw_split(const char *s, struct store_vec *vec)
{
	while (s != NULL && *s != '\0') {
		while (*s == ' ')
			s++;
		size_t len = strcspn(s, " ");
		if (len > 0) {
			struct store_kw *kw = store_vec_push(vec);
			kw->s = s;
			kw->len = len;
			kw->order = vec->count;
		}
		s += len;
	}
}

/* Sorts and drops case-insensitive duplicates, keeping the earliest. */
static void
store_kw_sort_unique(struct store_vec *vec)
{
	struct store_kw *kw = vec->data;
	size_t n = 0;

	if (vec->count == 0)
		return;
	qsort(kw, vec->count, sizeof(*kw), store_kw_cmp);
	for (size_t i = 0; i < vec->count; i++) {
		if (n > 0 && store_kw_cmp_name(&kw[n - 1], &kw[i]) == 0)
			continue;
		kw[n++] = kw[i];
	}
	vec->count = n;
}

static bool
store_kw_contains(const struct store_vec *sorted, const struct store_kw *kw)
{
	const struct store_kw *items = sorted->data;
	size_t lo = 0, hi = sorted->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = store_kw_cmp_name(&items[mid], kw);
		if (cmp == 0)
			return true;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Joins a sorted, unique list into a heap string, within the limits. */
static enum store_result
store_kw_join(struct store *store, const struct store_vec *vec, char **result_r)
{
	const struct store_kw *kw = vec->data;
	size_t total = 0;

	*result_r = NULL;
	for (size_t i = 0; i < vec->count; i++)
		total += kw[i].len + 1;
	if (vec->count > STORE_KEYWORDS_MAX || total > STORE_KEYWORDS_MAX_LEN)
		return store_fail(store, STORE_LIMIT,
		                  "too many keywords on a message");
	char *out = xmalloc(total + 1), *p = out;
	for (size_t i = 0; i < vec->count; i++) {
		if (i > 0)
			*p++ = ' ';
		memcpy(p, kw[i].s, kw[i].len);
		p += kw[i].len;
	}
	*p = '\0';
	*result_r = out;
	return STORE_OK;
}

enum store_result
store_keywords_normalize(struct store *store, const char *keywords,
                         char **result_r)
{
	struct store_vec vec;

	store_vec_init(&vec, sizeof(struct store_kw));
	store_kw_split(keywords, &vec);
	store_kw_sort_unique(&vec);
	enum store_result ret = store_kw_join(store, &vec, result_r);
	store_vec_free(&vec);
	return ret;
}

/* The keywords a STORE asks for, prepared once for all messages. */
struct store_kw_request {
	enum store_flags_mode mode;
	struct store_vec sorted; /* points into the caller's string */
	char *joined;            /* heap, normalised */
};

/* Computes a message's new keyword list into a heap string. */
static enum store_result
store_kw_apply(struct store *store, const struct store_kw_request *req,
               const char *current, char **result_r)
{
	struct store_vec vec;

	if (req->mode == STORE_FLAGS_REPLACE ||
	    (current[0] == '\0' && req->mode == STORE_FLAGS_ADD)) {
		*result_r = xstrdup(req->joined);
		return STORE_OK;
	}
	store_vec_init(&vec, sizeof(struct store_kw));
	store_kw_split(current, &vec);
	if (req->mode == STORE_FLAGS_ADD) {
		const struct store_kw *add = req->sorted.data;
		for (size_t i = 0; i < req->sorted.count; i++) {
			struct store_kw *kw = store_vec_push(&vec);
			*kw = add[i];
			kw->order = vec.count;
		}
	} else {
		struct store_kw *kw = vec.data;
		size_t n = 0;
		for (size_t i = 0; i < vec.count; i++) {
			if (!store_kw_contains(&req->sorted, &kw[i]))
				kw[n++] = kw[i];
		}
		vec.count = n;
	}
	store_kw_sort_unique(&vec);
	enum store_result ret = store_kw_join(store, &vec, result_r);
	store_vec_free(&vec);
	return ret;
}

static uint32_t
store_flags_apply(enum store_flags_mode mode, uint32_t current, uint32_t flags)
{
	switch (mode) {
	case STORE_FLAGS_ADD:
		return (current | flags) & STORE_FLAGS_ALL;
	case STORE_FLAGS_REMOVE:
		return current & ~flags & STORE_FLAGS_ALL;
	case STORE_FLAGS_REPLACE:
		break;
	}
	return flags & STORE_FLAGS_ALL;
}

/* Fills msg from a row of MESSAGE_COLUMNS, strings copied to the arena. */
void
store_message_from_row(sqlite3_stmt *stmt, struct arena *arena,
                       struct store_message *msg)
{
	const char *kw = (const char *)sqlite3_column_text(stmt, 2);
	const char *blob = (const char *)sqlite3_column_text(stmt, 7);

	msg->uid = (uint32_t)sqlite3_column_int64(stmt, 0);
	msg->flags = (uint32_t)sqlite3_column_int64(stmt, 1);
	msg->keywords = arena_strdup(arena, kw != NULL ? kw : "");
	msg->modseq = (uint64_t)sqlite3_column_int64(stmt, 3);
	msg->internaldate = sqlite3_column_int64(stmt, 4);
	msg->internaldate_tz = (int32_t)sqlite3_column_int64(stmt, 5);
	msg->size = (uint64_t)sqlite3_column_int64(stmt, 6);
	msg->blob_id = arena_strdup(arena, blob != NULL ? blob : "");
}

/* Reads one message inside a transaction: STORE_NOT_FOUND if gone. */
enum store_result
store_message_get(struct store *store, int64_t mailbox_id, uint32_t uid,
                  struct arena *arena, struct store_message *msg_r)
{
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_GET);
	if (stmt == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	int rc = sqlite3_step(stmt);
	enum store_result ret = STORE_OK;
	if (rc == SQLITE_ROW)
		store_message_from_row(stmt, arena, msg_r);
	else if (rc == SQLITE_DONE)
		ret = STORE_NOT_FOUND;
	else
		ret = store_sql_fail(store, "read message");
	sqlite3_reset(stmt);
	return ret;
}

/* What one STORE does to the messages of one mailbox. */
struct store_flags_ctx {
	int64_t mailbox_id;
	int64_t user_id;          /* the mailbox's owner */
	uint64_t modseq;          /* given to every changed message */
	uint64_t unchanged_since; /* 0: no CONDSTORE check */
	uint32_t flags;
	struct store_kw_request kw;
	struct arena *arena;
	struct store_vec changed; /* struct store_message */
	struct store_vec failed;  /* uint32_t */
};

static enum store_result
store_flags_one(struct store *store, struct store_flags_ctx *ctx, uint32_t uid)
{
	struct store_message msg;
	char *keywords;

	enum store_result ret =
	    store_message_get(store, ctx->mailbox_id, uid, ctx->arena, &msg);
	if (ret == STORE_NOT_FOUND)
		return STORE_OK;
	if (ret != STORE_OK)
		return ret;
	/* RFC 7162 3.2: changed since the client looked: leave it alone. */
	if (ctx->unchanged_since != 0 && msg.modseq > ctx->unchanged_since) {
		*(uint32_t *)store_vec_push(&ctx->failed) = uid;
		return STORE_OK;
	}
	uint32_t flags = store_flags_apply(ctx->kw.mode, msg.flags, ctx->flags);
	if ((ret = store_kw_apply(store, &ctx->kw, msg.keywords, &keywords)) !=
	    STORE_OK)
		return ret;
	if (flags == msg.flags && strcmp(keywords, msg.keywords) == 0) {
		free(keywords);
		return STORE_OK;
	}
	sqlite3_stmt *stmt = store_stmt(store, STMT_MESSAGE_SET_FLAGS);
	if (stmt == NULL) {
		free(keywords);
		return STORE_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, ctx->mailbox_id);
	sqlite3_bind_int64(stmt, 2, uid);
	sqlite3_bind_int64(stmt, 3, flags);
	sqlite3_bind_text(stmt, 4, keywords, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, (int64_t)ctx->modseq);
	ret = store_step_done(store, stmt, "update flags");
	if (ret == STORE_OK) {
		msg.flags = flags;
		msg.keywords = arena_strdup(ctx->arena, keywords);
		msg.modseq = ctx->modseq;
		*(struct store_message *)store_vec_push(&ctx->changed) = msg;
	}
	free(keywords);
	return ret;
}

static enum store_result
store_flags_locked(struct store *store, struct store_flags_ctx *ctx,
                   const uint32_t *uids, size_t uid_count)
{
	struct store_mailbox_row row;

	enum store_result ret =
	    store_mailbox_row_get(store, ctx->mailbox_id, &row);
	if (ret != STORE_OK)
		return ret;
	ctx->user_id = row.user_id;
	ctx->modseq = row.highestmodseq + 1;
	for (size_t i = 0; i < uid_count && ret == STORE_OK; i++) {
		i_assert(i == 0 || uids[i] >= uids[i - 1]);
		/* A repeated UID would look changed-since by now. */
		if (i > 0 && uids[i] == uids[i - 1])
			continue;
		ret = store_flags_one(store, ctx, uids[i]);
	}
	if (ret == STORE_OK && ctx->changed.count > 0) {
		row.highestmodseq = ctx->modseq;
		ret = store_mailbox_row_save(store, &row);
	}
	return ret;
}

enum store_result
store_flags_update(struct store *store, int64_t mailbox_id,
                   const uint32_t *uids, size_t uid_count,
                   enum store_flags_mode mode, uint32_t flags,
                   const char *keywords, uint64_t unchanged_since,
                   struct arena *arena, struct store_message **changed_r,
                   size_t *changed_count_r, uint32_t **failed_r,
                   size_t *failed_count_r, const char **error_r)
{
	struct store_flags_ctx ctx = {
	    .mailbox_id = mailbox_id,
	    .unchanged_since = unchanged_since,
	    .flags = flags & STORE_FLAGS_ALL,
	    .kw = {.mode = mode},
	    .arena = arena,
	};

	*changed_r = NULL;
	*failed_r = NULL;
	*changed_count_r = *failed_count_r = 0;
	store_vec_init(&ctx.kw.sorted, sizeof(struct store_kw));
	store_vec_init(&ctx.changed, sizeof(struct store_message));
	store_vec_init(&ctx.failed, sizeof(uint32_t));
	store_kw_split(keywords, &ctx.kw.sorted);
	store_kw_sort_unique(&ctx.kw.sorted);
	enum store_result ret =
	    store_kw_join(store, &ctx.kw.sorted, &ctx.kw.joined);
	if (ret == STORE_OK)
		ret = store_tx_begin(store, true);
	if (ret == STORE_OK)
		ret = store_tx_end(
		    store, store_flags_locked(store, &ctx, uids, uid_count));
	if (ret == STORE_OK) {
		bool changed = ctx.changed.count > 0;
		*changed_r =
		    store_vec_finish(&ctx.changed, arena, changed_count_r);
		*failed_r =
		    store_vec_finish(&ctx.failed, arena, failed_count_r);
		if (changed)
			store_changed(store, STORE_CHANGE_MESSAGES, ctx.user_id,
			              mailbox_id);
	}
	store_vec_free(&ctx.changed);
	store_vec_free(&ctx.failed);
	store_vec_free(&ctx.kw.sorted);
	free(ctx.kw.joined);
	return store_result(store, ret, error_r);
}
