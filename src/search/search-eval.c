/*
 * SEARCH evaluation (RFC 9051 6.4.4).  Keys are sorted so the cheap ones
 * (view flags and sets) decide first; AND and OR stop at the first key
 * that settles them, so message files are opened only for messages that
 * still need a header or body key.
 *
 * String keys match decoded text: header values with their RFC 2047
 * words decoded, and the text parts of the body with their transfer
 * encoding undone, converted to UTF-8 and, for HTML, stripped of markup.
 * Both sides are compared in their i;unicode-casemap form (RFC 5051,
 * mime/casefold.h), the collation RFC 9051 6.4.4 names for SEARCH.
 */
#include "search/search-eval.h"

#include <string.h>

#include "mime/mime-part.h"
#include "search/search-key.h"
#include "search/search-text.h"
#include "imap/imap-date.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/casefold.h"
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "mime/html-text.h"
#include "store/store.h"

/* Decoded text kept per message (each of header and body), and per
 * decoding step; text past it is not searched. */
#define SEARCH_TEXT_MAX (16 * 1024 * 1024)
/* Buffer memory kept from one message to the next. */
#define SEARCH_TEXT_KEEP (256 * 1024)

struct search_eval {
	struct store *store;
	const struct mailbox_view *view;
	struct arena *arena;
	const char *error;       /* set when a store call failed */
	struct arena *scratch;   /* per message: its MIME tree */
	struct str header;       /* folded decoded header of this message */
	struct str body;         /* folded decoded text of its text parts */
	struct str step1;        /* scratch: one field's folded value */
	struct search_text text; /* decoding scratch */
};

/* One message being matched; the file is mapped on first need. */
struct search_msg {
	const struct view_message *vm;
	const struct store_message *meta; /* NULL if not loaded */
	const char *data;                 /* the mapped file, or NULL */
	size_t len;
	size_t header_len;
	bool sent_day_known;
	int64_t sent_day;
	bool header_ready; /* ev->header holds this message's header */
	bool body_ready;   /* ev->body holds this message's body text */
};

static unsigned char
search_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

void
search_needle_prepare(struct arena *arena, const char *str, size_t len,
                      unsigned char **folded_r, size_t **kmp_r)
{
	unsigned char *folded = arena_alloc(arena, len + 1);
	size_t *kmp = arena_new_array(arena, size_t, len + 1);
	for (size_t i = 0; i < len; i++)
		folded[i] = search_lower((unsigned char)str[i]);
	/* kmp[i]: longest proper prefix of folded[0..i] that ends there. */
	size_t k = 0;
	for (size_t i = 1; i < len; i++) {
		while (k > 0 && folded[i] != folded[k])
			k = kmp[k - 1];
		if (folded[i] == folded[k])
			k++;
		kmp[i] = k;
	}
	*folded_r = folded;
	*kmp_r = kmp;
}

/* Length of a folding line end at data[i] (0 if there is none). */
static size_t
search_fold_len(const char *data, size_t len, size_t i)
{
	size_t j = i;
	if (data[j] == '\r' && j + 1 < len && data[j + 1] == '\n')
		j++;
	if (data[j] != '\n' || j + 1 >= len)
		return 0;
	return data[j + 1] == ' ' || data[j + 1] == '\t' ? j - i + 1 : 0;
}

bool
search_find(const unsigned char *folded, const size_t *kmp, size_t needle_len,
            const char *data, size_t len, bool unfold)
{
	if (needle_len == 0)
		return true;
	size_t q = 0;
	for (size_t i = 0; i < len; i++) {
		if (unfold && (data[i] == '\r' || data[i] == '\n')) {
			size_t skip = search_fold_len(data, len, i);
			if (skip > 0) {
				i += skip - 1;
				continue;
			}
		}
		unsigned char c = search_lower((unsigned char)data[i]);
		while (q > 0 && folded[q] != c)
			q = kmp[q - 1];
		if (folded[q] == c)
			q++;
		if (q == needle_len)
			return true;
	}
	return false;
}

/* Stable reorder of key's children, cheapest first. */
static void
search_sort_children(struct search_key *key)
{
	struct search_key *heads[SEARCH_COST_BODY + 1] = {NULL};
	struct search_key **tails[SEARCH_COST_BODY + 1];
	for (size_t c = 0; c <= SEARCH_COST_BODY; c++)
		tails[c] = &heads[c];
	struct search_key *child = key->children, *next;
	for (; child != NULL; child = next) {
		next = child->next;
		child->next = NULL;
		*tails[child->cost] = child;
		tails[child->cost] = &child->next;
	}
	struct search_key **out = &key->children;
	for (size_t c = 0; c <= SEARCH_COST_BODY; c++) {
		if (heads[c] == NULL)
			continue;
		*out = heads[c];
		out = tails[c];
	}
	*out = NULL;
}

/* Replaces key->str with its comparison form and prepares matching. */
static void
search_fold_key(struct search_eval *ev, struct search_key *key)
{
	struct str folded;
	str_init(&folded, key->len * 3 + 1);
	casefold_utf8(&folded, key->str, key->len);
	i_assert(!str_failed(&folded));
	key->len = folded.len;
	key->str = arena_strndup(ev->arena, folded.len > 0 ? folded.data : "",
	                         folded.len);
	str_free(&folded);
	search_needle_prepare(ev->arena, key->str, key->len, &key->folded,
	                      &key->kmp);
}

static bool search_uid_in(const uint32_t *uids, size_t count, uint32_t uid);

/*
 * Asks the full-text index about the key's string.  The index holds the
 * very folded text a scan would build (search/message-facts.c), compared as
 * bytes, so for BODY and TEXT its answer is the scan's answer; for a
 * header key it names the messages whose header holds the string
 * somewhere, and the field still has to be checked.  Bodies the index
 * doesn't cover, and strings too short for it, are scanned.
 */
static void
search_prefilter(struct search_eval *ev, struct search_key *key)
{
	static const enum store_text_field fields[] = {
	    [SEARCH_KEY_HEADER] = STORE_TEXT_HEADER,
	    [SEARCH_KEY_BODY] = STORE_TEXT_BODY,
	    [SEARCH_KEY_TEXT] = STORE_TEXT_ANY,
	};
	bool usable = false;
	const char *error;
	if (strlen(key->str) != key->len)
		return; /* a NUL in the string: the index can't say */
	if (store_text_search(ev->store, ev->view->mailbox_id,
	                      fields[key->type], key->str, ev->arena, &usable,
	                      &key->found, &key->found_count, &key->unsure,
	                      &key->unsure_count, &error) != STORE_OK)
		usable = false;
	key->prefiltered = usable;
}

/* What the index says of msg for key: 1 match, 0 no match, -1 read it. */
static int
search_index_says(const struct search_key *key, const struct search_msg *msg)
{
	uint32_t uid = msg->vm->uid;
	if (search_uid_in(key->unsure, key->unsure_count, uid))
		return -1;
	if (!search_uid_in(key->found, key->found_count, uid))
		return 0;
	return key->type == SEARCH_KEY_HEADER ? -1 : 1;
}

/* Resolves sets, folds strings and sorts children, depth first. */
static enum search_eval_status
search_prepare(struct search_eval *ev, struct search_key *key,
               const char **error_r)
{
	switch (key->type) {
	case SEARCH_KEY_SEQSET:
	case SEARCH_KEY_UIDSET:
		/* RFC 9051 6.4.4: a set names messages by number or UID. */
		if (view_resolve_set(ev->view, ev->arena, key->set,
		                     key->set_len,
		                     key->type == SEARCH_KEY_UIDSET, &key->uids,
		                     &key->uid_count, error_r) < 0)
			return SEARCH_EVAL_BAD;
		return SEARCH_EVAL_OK;
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		search_fold_key(ev, key);
		search_prefilter(ev, key);
		return SEARCH_EVAL_OK;
	default:
		break;
	}
	for (struct search_key *c = key->children; c != NULL; c = c->next) {
		enum search_eval_status s = search_prepare(ev, c, error_r);
		if (s != SEARCH_EVAL_OK)
			return s;
	}
	if (key->type == SEARCH_KEY_AND || key->type == SEARCH_KEY_OR)
		search_sort_children(key);
	return SEARCH_EVAL_OK;
}

static bool
search_uid_in(const uint32_t *uids, size_t count, uint32_t uid)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (uids[mid] == uid)
			return true;
		if (uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Keywords are case-insensitive (RFC 9051 2.3.2 flag names). */
static bool
search_has_keyword(const char *keywords, const char *kw, size_t len)
{
	while (*keywords != '\0') {
		size_t n = strcspn(keywords, " ");
		if (n == len && mem_case_eq(keywords, n, kw) && len > 0)
			return true;
		keywords += n;
		while (*keywords == ' ')
			keywords++;
	}
	return false;
}

static int64_t
search_day_of(int64_t time, int32_t tz_minutes)
{
	int64_t local = time + (int64_t)tz_minutes * 60;
	int64_t day = local / 86400;
	return (local % 86400 != 0 && local < 0) ? day - 1 : day;
}

/* Compares a message day with the key's day for BEFORE / ON / SINCE. */
static bool
search_day_matches(enum search_key_type type, int64_t day, int64_t key_day)
{
	switch (type) {
	case SEARCH_KEY_BEFORE:
	case SEARCH_KEY_SENTBEFORE:
		return day < key_day;
	case SEARCH_KEY_ON:
	case SEARCH_KEY_SENTON:
		return day == key_day;
	default:
		return day >= key_day;
	}
}

/* Maps the message file once; 0, or -1 with ev->error. */
static int
search_msg_map(struct search_eval *ev, struct search_msg *msg)
{
	if (msg->data != NULL)
		return 0;
	const char *error;
	if (store_body_map(ev->store, msg->meta->blob_id, &msg->data, &msg->len,
	                   &error) != STORE_OK) {
		msg->data = NULL;
		ev->error = error;
		return -1;
	}
	msg->header_len = header_size(msg->data, msg->len);
	return 0;
}

/* HEADER field string: any occurrence of the field whose decoded value
 * contains the string; "" matches every message with the field. */
static int
search_match_header(struct search_eval *ev, struct search_msg *msg,
                    const struct search_key *key)
{
	if (search_msg_map(ev, msg) < 0)
		return -1;
	struct str *folded = &ev->step1;
	struct header_field f;
	size_t pos = 0;
	while (header_next(msg->data, msg->header_len, &pos, &f)) {
		if (!mem_case_eq(f.name, f.name_len, key->field))
			continue;
		str_reset(folded);
		search_text_fold_value(&ev->text, folded, &f);
		if (search_find(key->folded, key->kmp, key->len, folded->data,
		                folded->len, false))
			return 1;
	}
	return 0;
}

/* Builds ev->header (TEXT) or ev->body once per message. */
static int
search_msg_text(struct search_eval *ev, struct search_msg *msg, bool body)
{
	if (search_msg_map(ev, msg) < 0)
		return -1;
	if (body && !msg->body_ready) {
		str_reset(&ev->body);
		struct mime_part *root =
		    mime_parse(ev->scratch, msg->data, msg->len);
		search_text_fold_body(&ev->text, &ev->body, root);
		msg->body_ready = true;
	} else if (!body && !msg->header_ready) {
		str_reset(&ev->header);
		search_text_fold_header(&ev->text, &ev->header, msg->data,
		                        msg->header_len);
		msg->header_ready = true;
	}
	return 0;
}

/* RFC 9051 6.4.4: SENT* use the Date: header, disregarding time and
 * zone; without a usable one we fall back to the internal date. */
static int
search_sent_day(struct search_eval *ev, struct search_msg *msg, int64_t *day_r)
{
	if (!msg->sent_day_known) {
		if (search_msg_map(ev, msg) < 0)
			return -1;
		int64_t time = msg->meta->internaldate;
		int32_t tz = msg->meta->internaldate_tz;
		struct header_field f;
		size_t pos = 0;
		while (header_next(msg->data, msg->header_len, &pos, &f)) {
			if (mem_case_eq(f.name, f.name_len, "Date")) {
				int64_t t;
				int32_t z;
				if (rfc5322_date_parse(f.value, f.value_len, &t,
				                       &z)) {
					time = t;
					tz = z;
				}
				break;
			}
		}
		msg->sent_day = search_day_of(time, tz);
		msg->sent_day_known = true;
	}
	*day_r = msg->sent_day;
	return 0;
}

/* BODY: the decoded text parts; TEXT: the decoded header, then those. */
static int
search_match_text(struct search_eval *ev, struct search_msg *msg,
                  const struct search_key *key)
{
	if (key->type == SEARCH_KEY_TEXT) {
		if (search_msg_text(ev, msg, false) < 0)
			return -1;
		if (search_find(key->folded, key->kmp, key->len,
		                ev->header.data, ev->header.len, false))
			return 1;
	}
	if (search_msg_text(ev, msg, true) < 0)
		return -1;
	return search_find(key->folded, key->kmp, key->len, ev->body.data,
	                   ev->body.len, false);
}

static int search_match(struct search_eval *ev, struct search_msg *msg,
                        const struct search_key *key);

/* AND, OR and NOT, stopping as soon as the result is known. */
static int
search_match_bool(struct search_eval *ev, struct search_msg *msg,
                  const struct search_key *key)
{
	const struct search_key *c = key->children;
	int r;
	switch (key->type) {
	case SEARCH_KEY_AND:
		for (; c != NULL; c = c->next) {
			if ((r = search_match(ev, msg, c)) != 1)
				return r;
		}
		return 1;
	case SEARCH_KEY_OR:
		for (; c != NULL; c = c->next) {
			if ((r = search_match(ev, msg, c)) != 0)
				return r;
		}
		return 0;
	default:
		r = search_match(ev, msg, c);
		return r < 0 ? r : !r;
	}
}

/* Keys answered from the view alone. */
static bool
search_match_view(struct search_eval *ev, const struct search_msg *msg,
                  const struct search_key *key)
{
	const struct view_message *vm = msg->vm;
	switch (key->type) {
	case SEARCH_KEY_FLAG:
		return ((vm->flags & key->flag) != 0) == key->flag_set;
	case SEARCH_KEY_KEYWORD:
		return search_has_keyword(vm->keywords, key->str, key->len) ==
		       key->flag_set;
	case SEARCH_KEY_RECENT:
		return view_is_recent(ev->view, vm->uid);
	case SEARCH_KEY_NEW:
		return (vm->flags & STORE_FLAG_SEEN) == 0 &&
		       view_is_recent(ev->view, vm->uid);
	case SEARCH_KEY_OLD:
		return !view_is_recent(ev->view, vm->uid);
	case SEARCH_KEY_SEQSET:
	case SEARCH_KEY_UIDSET:
		return search_uid_in(key->uids, key->uid_count, vm->uid);
	case SEARCH_KEY_MODSEQ:
		return vm->modseq >= key->number;
	default:
		return true;
	}
}

/* 1 match, 0 no match, -1 store error (ev->error). */
static int
search_match(struct search_eval *ev, struct search_msg *msg,
             const struct search_key *key)
{
	int64_t day;
	switch (key->type) {
	case SEARCH_KEY_AND:
	case SEARCH_KEY_OR:
	case SEARCH_KEY_NOT:
		return search_match_bool(ev, msg, key);
	case SEARCH_KEY_LARGER:
		return msg->meta->size > key->number;
	case SEARCH_KEY_SMALLER:
		return msg->meta->size < key->number;
	case SEARCH_KEY_BEFORE:
	case SEARCH_KEY_ON:
	case SEARCH_KEY_SINCE:
		/* RFC 9051 6.4.4: the day as seen in the stored zone. */
		day = search_day_of(msg->meta->internaldate,
		                    msg->meta->internaldate_tz);
		return search_day_matches(key->type, day, key->day);
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
		if (search_sent_day(ev, msg, &day) < 0)
			return -1;
		return search_day_matches(key->type, day, key->day);
	case SEARCH_KEY_HEADER:
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		if (key->prefiltered) {
			int said = search_index_says(key, msg);
			if (said >= 0)
				return said;
		}
		if (key->type == SEARCH_KEY_HEADER)
			return search_match_header(ev, msg, key);
		return search_match_text(ev, msg, key);
	default:
		return search_match_view(ev, msg, key);
	}
}

/* Drops one message's decoded text, keeping modest buffers for the next. */
static void
search_msg_release(struct search_eval *ev)
{
	str_shrink(&ev->header, SEARCH_TEXT_KEEP);
	str_shrink(&ev->body, SEARCH_TEXT_KEEP);
	str_shrink(&ev->step1, SEARCH_TEXT_KEEP);
	search_text_release(&ev->text, SEARCH_TEXT_KEEP);
	arena_clear(ev->scratch);
}

static void
search_eval_init(struct search_eval *ev)
{
	ev->scratch = arena_create(16 * 1024);
	str_init(&ev->header, SEARCH_TEXT_MAX);
	str_init(&ev->body, SEARCH_TEXT_MAX);
	str_init(&ev->step1, SEARCH_TEXT_MAX);
	search_text_init(&ev->text, SEARCH_TEXT_MAX);
}

static void
search_eval_deinit(struct search_eval *ev)
{
	arena_destroy(&ev->scratch);
	str_free(&ev->header);
	str_free(&ev->body);
	str_free(&ev->step1);
	search_text_deinit(&ev->text);
}

/* Matches every message in the view; metas (ascending by UID) is NULL
 * when no key needs store metadata. */
static enum search_eval_status
search_run(struct search_eval *ev, const struct search_key *root,
           const struct store_message *metas, size_t meta_count, uint32_t *seqs,
           size_t *count_r)
{
	const struct mailbox_view *view = ev->view;
	size_t n = 0, j = 0;
	for (size_t i = 0; i < view->count; i++) {
		struct search_msg msg = {.vm = &view->messages[i]};
		if (metas != NULL) {
			while (j < meta_count && metas[j].uid < msg.vm->uid)
				j++;
			/* Expunged by another session: nothing to read. */
			if (j == meta_count || metas[j].uid != msg.vm->uid)
				continue;
			msg.meta = &metas[j];
		}
		int r = search_match(ev, &msg, root);
		if (msg.data != NULL) {
			store_body_unmap(msg.data, msg.len);
			search_msg_release(ev);
		}
		if (r < 0)
			return SEARCH_EVAL_ERROR;
		if (r > 0)
			seqs[n++] = (uint32_t)i + 1;
	}
	*count_r = n;
	return SEARCH_EVAL_OK;
}

/* The key whose index candidates bound the whole result: the root, or a
 * key that a root AND requires. */
static const struct search_key *
search_narrowing_key(const struct search_key *root)
{
	if (root->prefiltered)
		return root;
	if (root->type != SEARCH_KEY_AND)
		return NULL;
	for (const struct search_key *c = root->children; c != NULL;
	     c = c->next) {
		if (c->prefiltered)
			return c;
	}
	return NULL;
}

/* The UIDs the index names for key, found or unsure, ascending. */
static uint32_t *
search_merge_uids(struct arena *arena, const struct search_key *key,
                  size_t *count_r)
{
	size_t nf = key->found_count, nu = key->unsure_count;
	uint32_t *out = arena_new_array(arena, uint32_t, nf + nu + 1);
	size_t n = 0, i = 0, j = 0;
	while (i < nf || j < nu) {
		if (j == nu || (i < nf && key->found[i] < key->unsure[j]))
			out[n++] = key->found[i++];
		else
			out[n++] = key->unsure[j++];
	}
	*count_r = n;
	return out;
}

/* A lone BODY or TEXT key the index fully answers: the result is its
 * list, mapped to this view's sequence numbers, and nothing is read. */
static bool
search_run_index_only(const struct mailbox_view *view,
                      const struct search_key *root, uint32_t *seqs,
                      size_t *count_r)
{
	if (!root->prefiltered || root->type == SEARCH_KEY_HEADER ||
	    root->unsure_count > 0)
		return false;
	size_t n = 0;
	for (size_t i = 0; i < root->found_count; i++) {
		uint32_t seq = view_seq_of_uid(view, root->found[i]);
		if (seq != 0)
			seqs[n++] = seq;
	}
	*count_r = n;
	return true;
}

/* Matches only the index's candidates: on a large mailbox a BODY search
 * then touches a handful of rows instead of all of them. */
static enum search_eval_status
search_run_narrow(struct search_eval *ev, const struct search_key *root,
                  const struct search_key *narrow, uint32_t *seqs,
                  size_t *count_r)
{
	struct store_message *metas;
	size_t meta_count, n = 0, uid_count;
	uint32_t *uids = search_merge_uids(ev->arena, narrow, &uid_count);
	if (store_messages_get(ev->store, ev->view->mailbox_id, uids, uid_count,
	                       ev->arena, &metas, &meta_count,
	                       &ev->error) != STORE_OK)
		return SEARCH_EVAL_ERROR;
	for (size_t i = 0; i < meta_count; i++) {
		uint32_t seq = view_seq_of_uid(ev->view, metas[i].uid);
		if (seq == 0)
			continue; /* newer than this session's view */
		struct search_msg msg = {.vm = &ev->view->messages[seq - 1],
		                         .meta = &metas[i]};
		int r = search_match(ev, &msg, root);
		if (msg.data != NULL) {
			store_body_unmap(msg.data, msg.len);
			search_msg_release(ev);
		}
		if (r < 0)
			return SEARCH_EVAL_ERROR;
		if (r > 0)
			seqs[n++] = seq;
	}
	*count_r = n;
	return SEARCH_EVAL_OK;
}

enum search_eval_status
search_eval(struct store *store, const struct mailbox_view *view,
            struct arena *arena, struct search_key *root, uint32_t **seqs_r,
            size_t *count_r, const char **error_r)
{
	struct search_eval ev = {.store = store, .view = view, .arena = arena};
	*seqs_r = NULL;
	*count_r = 0;
	enum search_eval_status s = search_prepare(&ev, root, error_r);
	if (s != SEARCH_EVAL_OK)
		return s;

	uint32_t *seqs = arena_new_array(arena, uint32_t, view->count + 1);
	if (search_run_index_only(view, root, seqs, count_r)) {
		*seqs_r = seqs;
		return SEARCH_EVAL_OK;
	}
	const struct search_key *narrow = search_narrowing_key(root);
	if (narrow != NULL) {
		search_eval_init(&ev);
		s = search_run_narrow(&ev, root, narrow, seqs, count_r);
		search_eval_deinit(&ev);
		if (s == SEARCH_EVAL_ERROR) {
			*error_r = ev.error;
			return s;
		}
		*seqs_r = seqs;
		return SEARCH_EVAL_OK;
	}

	struct store_message *metas = NULL;
	size_t meta_count = 0;
	if (root->cost >= SEARCH_COST_META && view->count > 0 &&
	    store_messages_load(store, view->mailbox_id, view->messages[0].uid,
	                        arena, &metas, &meta_count,
	                        error_r) != STORE_OK)
		return SEARCH_EVAL_ERROR;
	if (root->cost >= SEARCH_COST_META && metas == NULL)
		metas = arena_new(arena, struct store_message);

	search_eval_init(&ev);
	s = search_run(&ev, root, metas, meta_count, seqs, count_r);
	search_eval_deinit(&ev);
	if (s == SEARCH_EVAL_ERROR) {
		*error_r = ev.error;
		return s;
	}
	*seqs_r = seqs;
	return SEARCH_EVAL_OK;
}
