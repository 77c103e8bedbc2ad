/*
 * Selecting and describing the messages of SORT and THREAD (RFC 5256):
 * the search that picks them, and their sort values (RFC 5256 3, RFC
 * 5957 3), read once per message so the sort itself touches no files.
 */
#include "search/sort-msgs.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap-date.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/base-subject.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "store/store.h"

/* The parts of the first address of an address list being collected. */
struct addr_parts {
	char *phrase; /* display name or group name, words joined by SP */
	size_t phrase_len;
	char *local; /* local part, quotes removed */
	size_t local_len;
	char *host; /* domain */
	size_t host_len;
};

/* RFC 5322 3.2.3 specials, plus whitespace: what ends an atom. */
static bool
addr_special(char c)
{
	return c == '\0' || strchr(" \t\r\n()<>@,;:\\\".[]", c) != NULL;
}

/* Skips whitespace and (nested) comments, RFC 5322 3.2.2 CFWS. */
static const char *
addr_skip_cfws(const char *p)
{
	size_t depth = 0;
	while (*p != '\0') {
		if (depth == 0 && strchr(" \t\r\n", *p) == NULL && *p != '(')
			break;
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (*p == '\\' && p[1] != '\0')
			p++;
		p++;
	}
	return p;
}

/* Appends the atom or quoted string at p (unquoted) to buf[*len]. */
static const char *
addr_word(const char *p, char *buf, size_t *len)
{
	if (*p != '"') {
		while (!addr_special(*p))
			buf[(*len)++] = *p++;
		return p;
	}
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		buf[(*len)++] = *p;
	}
	return *p == '"' ? p + 1 : p;
}

/* Reads a domain (atoms, dots, domain literals) up to '>', ',' or the
 * end. */
static const char *
addr_domain(const char *p, struct addr_parts *a)
{
	for (;;) {
		p = addr_skip_cfws(p);
		if (*p == '\0' || *p == '>' || *p == ',' || *p == ';')
			return p;
		if (*p == '[' || *p == ']' || *p == '.' || *p == '@' ||
		    *p == ':' || *p == '<' || *p == '\\' || *p == '"') {
			a->host[a->host_len++] = *p++;
			continue;
		}
		p = addr_word(p, a->host, &a->host_len);
	}
}

/* RFC 5322 3.4 angle-addr after its '<': [obs-route] local "@" domain. */
static void
addr_angle(const char *p, struct addr_parts *a)
{
	p = addr_skip_cfws(p);
	if (*p == '@') {
		/* RFC 5322 4.4 obs-route "@a,@b:" is ignored. */
		const char *colon = strchr(p, ':');
		if (colon != NULL)
			p = colon + 1;
	}
	for (;;) {
		p = addr_skip_cfws(p);
		if (*p == '\0' || *p == '>')
			return;
		if (*p == '@') {
			addr_domain(p + 1, a);
			return;
		}
		if (addr_special(*p))
			a->local[a->local_len++] = *p++;
		else
			p = addr_word(p, a->local, &a->local_len);
	}
}

/* A word of a phrase: to the display name after a space, and to the
 * local part as is (the same words form "first.last@host"). */
static const char *
addr_phrase_word(const char *p, struct addr_parts *a)
{
	if (a->phrase_len > 0 && *p != '.')
		a->phrase[a->phrase_len++] = ' ';
	size_t start = a->phrase_len;
	if (*p == '.')
		a->phrase[a->phrase_len++] = *p++;
	else
		p = addr_word(p, a->phrase, &a->phrase_len);
	memcpy(a->local + a->local_len, a->phrase + start,
	       a->phrase_len - start);
	a->local_len += a->phrase_len - start;
	return p;
}

/* A display name with its RFC 2047 words decoded (RFC 5957 3). */
static const char *
sort_decode(struct arena *arena, const char *phrase)
{
	size_t len = strlen(phrase);
	struct str out;
	str_init(&out, len * 4 + 64);
	decode_header_value(&out, phrase, len);
	const char *r =
	    str_failed(&out)
	        ? phrase
	        : arena_strndup(arena, out.data != NULL ? out.data : "",
	                        out.len);
	str_free(&out);
	return r;
}

/*
 * The first address of an RFC 5322 3.4 address list, as the ENVELOPE
 * structure (RFC 9051 7.5.2) would show it: *mailbox_r is addr-mailbox
 * (for a group, the group name); *display_r is the RFC 5957 3 display
 * value: the display name (RFC 2047 words decoded), or addr-mailbox "@"
 * addr-host without one.
 */
static void
sort_first_address(struct arena *arena, const char *value,
                   const char **mailbox_r, const char **display_r)
{
	size_t n = value == NULL ? 0 : strlen(value);
	struct addr_parts a = {
	    .phrase = arena_alloc(arena, 2 * n + 2),
	    .local = arena_alloc(arena, 2 * n + 2),
	    .host = arena_alloc(arena, n + 1),
	};
	const char *p = value == NULL ? "" : value;
	bool group = false;
	for (;;) {
		p = addr_skip_cfws(p);
		if (*p == '\0' || *p == ',' || *p == ';' || *p == '<' ||
		    *p == '@' || *p == ':')
			break;
		if (*p == '.' || !addr_special(*p) || *p == '"')
			p = addr_phrase_word(p, &a);
		else
			p++; /* a stray special: skipped */
	}
	if (*p == '<') {
		a.local_len = 0;
		addr_angle(p + 1, &a);
	} else if (*p == '@') {
		a.phrase_len = 0; /* addr-spec: no display name */
		addr_domain(p + 1, &a);
	} else if (*p == ':') {
		group = true;
	} else {
		a.phrase_len = 0;
	}
	*mailbox_r = group ? a.phrase : a.local;
	if (a.phrase_len == 0 && a.host_len > 0) {
		a.local[a.local_len++] = '@';
		memcpy(a.local + a.local_len, a.host, a.host_len);
	}
	*display_r = a.phrase_len > 0 ? sort_decode(arena, a.phrase) : a.local;
}

/* Reads the header values that needs asks for. */
static void
sort_msg_headers(struct arena *arena, const char *hdr, size_t hdr_len,
                 unsigned needs, struct sort_msg *m)
{
	const char *v, *unused;
	if ((needs & (SORT_NEED_SUBJECT | SORT_NEED_THREAD)) != 0) {
		v = header_get(arena, hdr, hdr_len, "Subject");
		m->subject = base_subject(arena, v == NULL ? "" : v,
		                          v == NULL ? 0 : strlen(v), &m->reply);
	}
	if ((needs & (SORT_NEED_DATE | SORT_NEED_THREAD)) != 0) {
		v = header_get(arena, hdr, hdr_len, "Date");
		int64_t t;
		int32_t tz;
		/* RFC 5256 2.2: in UTC; without a usable Date, the
		   internal date. */
		if (v != NULL && rfc5322_date_parse(v, strlen(v), &t, &tz))
			m->sent = t;
	}
	if ((needs & (SORT_NEED_FROM | SORT_NEED_DISPLAY)) != 0)
		sort_first_address(arena,
		                   header_get(arena, hdr, hdr_len, "From"),
		                   &m->from, &m->disp_from);
	if ((needs & (SORT_NEED_TO | SORT_NEED_DISPLAY)) != 0)
		sort_first_address(arena, header_get(arena, hdr, hdr_len, "To"),
		                   &m->to, &m->disp_to);
	if ((needs & SORT_NEED_CC) != 0)
		sort_first_address(arena, header_get(arena, hdr, hdr_len, "Cc"),
		                   &m->cc, &unused);
	if ((needs & SORT_NEED_THREAD) != 0) {
		m->message_id = header_get(arena, hdr, hdr_len, "Message-ID");
		m->references = header_get(arena, hdr, hdr_len, "References");
		m->in_reply_to = header_get(arena, hdr, hdr_len, "In-Reply-To");
	}
}

/* Fills one message from its metadata (NULL if expunged meanwhile). */
static int
sort_msg_fill(struct store *store, struct arena *arena,
              const struct store_message *meta, unsigned needs,
              struct sort_msg *m, const char **error_r)
{
	m->subject = m->from = m->to = m->cc = "";
	m->disp_from = m->disp_to = "";
	if (meta == NULL)
		return 0;
	m->size = meta->size;
	m->arrival = m->sent = meta->internaldate;
	if (needs == 0)
		return 0;
	const char *data;
	size_t len;
	if (store_body_map(store, meta->blob_id, &data, &len, error_r) !=
	    STORE_OK)
		return -1;
	sort_msg_headers(arena, data, header_size(data, len), needs, m);
	store_body_unmap(data, len);
	return 0;
}

int
sort_msgs_load(struct store *store, const struct mailbox_view *view,
               struct arena *arena, const uint32_t *seqs, size_t count,
               unsigned needs, struct sort_msg **msgs_r, const char **error_r)
{
	struct sort_msg *msgs =
	    arena_new_array(arena, struct sort_msg, count + 1);
	*msgs_r = msgs;
	if (count == 0)
		return 0;
	struct store_message *metas;
	size_t meta_count, j = 0;
	if (store_messages_load(store, view->mailbox_id,
	                        view->messages[seqs[0] - 1].uid, arena, &metas,
	                        &meta_count, error_r) != STORE_OK)
		return -1;
	for (size_t i = 0; i < count; i++) {
		struct sort_msg *m = &msgs[i];
		m->seq = seqs[i];
		m->uid = view->messages[seqs[i] - 1].uid;
		while (j < meta_count && metas[j].uid < m->uid)
			j++;
		const struct store_message *meta =
		    j < meta_count && metas[j].uid == m->uid ? &metas[j] : NULL;
		if (sort_msg_fill(store, arena, meta, needs, m, error_r) < 0)
			return -1;
	}
	return 0;
}

int
sort_msg_compare_sent(const struct sort_msg *a, const struct sort_msg *b)
{
	if (a->sent != b->sent)
		return a->sent < b->sent ? -1 : 1;
	if (a->seq != b->seq)
		return a->seq < b->seq ? -1 : 1;
	return 0;
}

static int
sort_cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int
sort_cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* RFC 5256 3: one key; strings compare with i;ascii-casemap. */
static int
sort_cmp_key(const struct sort_msg *a, const struct sort_msg *b,
             enum sort_key key)
{
	switch (key) {
	case SORT_KEY_ARRIVAL:
		return sort_cmp_i64(a->arrival, b->arrival);
	case SORT_KEY_CC:
		return base_subject_compare(a->cc, b->cc);
	case SORT_KEY_DATE:
		return sort_cmp_i64(a->sent, b->sent);
	case SORT_KEY_FROM:
		return base_subject_compare(a->from, b->from);
	case SORT_KEY_SIZE:
		return sort_cmp_u64(a->size, b->size);
	case SORT_KEY_SUBJECT:
		return base_subject_compare(a->subject, b->subject);
	case SORT_KEY_TO:
		return base_subject_compare(a->to, b->to);
	case SORT_KEY_DISPLAYFROM:
		return base_subject_compare(a->disp_from, b->disp_from);
	case SORT_KEY_DISPLAYTO:
		return base_subject_compare(a->disp_to, b->disp_to);
	}
	return 0;
}

struct sort_order {
	const struct sort_criterion *crit;
	size_t count;
};

/* RFC 5256 3: messages equal on every key keep sequence order. */
static int
sort_cmp(const void *pa, const void *pb, void *context)
{
	const struct sort_order *order = context;
	const struct sort_msg *a = *(const struct sort_msg *const *)pa;
	const struct sort_msg *b = *(const struct sort_msg *const *)pb;
	for (size_t i = 0; i < order->count; i++) {
		int r = sort_cmp_key(a, b, order->crit[i].key);
		if (r != 0)
			return order->crit[i].reverse ? -r : r;
	}
	return sort_cmp_u64(a->seq, b->seq);
}

void
sort_msgs_order(const struct sort_msg **msgs, size_t count,
                const struct sort_criterion *crit, size_t crit_count)
{
	struct sort_order order = {crit, crit_count};
	qsort_r(msgs, count, sizeof(*msgs), sort_cmp, &order);
}
