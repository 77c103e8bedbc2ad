/* ENVELOPE and BODYSTRUCTURE (RFC 9051 7.5.2). */
#include "mime/imap-structure.h"

#include <string.h>
#include <strings.h>

#include "mime/mime-part.h"
#include "imap/imap-write.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/header.h"

/* ------------------------------------------------------- ENVELOPE */

/* Addresses written per list at most; the rest are dropped. */
#define FETCH_MAX_ADDRESSES 1000

enum addr_token {
	ADDR_END,
	ADDR_WORD,    /* atom, dot-atom piece or [domain literal] */
	ADDR_QUOTED,  /* quoted-string; tok still holds its escapes */
	ADDR_SPECIAL, /* one of < > @ , ; : . and stray ] ) */
};

struct addr_lexer {
	const char *s;
	size_t len, pos;
	enum addr_token type;
	const char *tok;
	size_t tok_len;
	char special;
	bool space_before; /* whitespace or a comment preceded it */
};

/* One address as it is being read. */
struct addr_current {
	struct str phrase; /* display name (or group name) */
	struct str spec;   /* addr-spec outside <>, without spaces */
	struct str angle;  /* addr-spec inside <> */
	struct str route;  /* obs-route inside <>, "@a,@b" */
	bool has_angle;
};

static void
addr_skip_comment(struct addr_lexer *lx)
{
	unsigned depth = 0;
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos++];
		if (c == '\\' && lx->pos < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && --depth == 0)
			return;
	}
}

static void
addr_next(struct addr_lexer *lx)
{
	lx->space_before = false;
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];
		if (c == '(')
			addr_skip_comment(lx);
		else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			lx->pos++;
		else
			break;
		lx->space_before = true;
	}
	if (lx->pos == lx->len) {
		lx->type = ADDR_END;
		return;
	}
	size_t start = lx->pos;
	char c = lx->s[lx->pos++];
	if (c == '"' || c == '[') {
		char close = c == '"' ? '"' : ']';
		while (lx->pos < lx->len && lx->s[lx->pos] != close) {
			if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
				lx->pos++;
			lx->pos++;
		}
		size_t end = lx->pos;
		if (lx->pos < lx->len)
			lx->pos++;
		lx->type = c == '"' ? ADDR_QUOTED : ADDR_WORD;
		lx->tok = c == '"' ? lx->s + start + 1 : lx->s + start;
		lx->tok_len = c == '"' ? end - start - 1 : lx->pos - start;
		return;
	}
	if (strchr("<>@,;:.])", c) != NULL) {
		lx->type = ADDR_SPECIAL;
		lx->special = c;
		return;
	}
	while (lx->pos < lx->len &&
	       strchr("<>@,;:.])([\" \t\r\n", lx->s[lx->pos]) == NULL)
		lx->pos++;
	lx->type = ADDR_WORD;
	lx->tok = lx->s + start;
	lx->tok_len = lx->pos - start;
}

/* Appends the current token; a quoted string loses its quoting. */
static void
addr_append_token(struct str *out, const struct addr_lexer *lx)
{
	if (lx->type == ADDR_SPECIAL) {
		str_append_char(out, lx->special);
		return;
	}
	if (lx->type != ADDR_QUOTED) {
		str_append(out, lx->tok, lx->tok_len);
		return;
	}
	for (size_t i = 0; i < lx->tok_len; i++) {
		if (lx->tok[i] == '\\' && i + 1 < lx->tok_len)
			i++;
		str_append_char(out, lx->tok[i]);
	}
}

static void
addr_append_phrase(struct str *phrase, const struct addr_lexer *lx)
{
	if (lx->space_before && phrase->len > 0)
		str_append_char(phrase, ' ');
	addr_append_token(phrase, lx);
}

/* Reads "<[@route,@route:]local@domain>" after the '<'. */
static void
addr_read_angle(struct addr_lexer *lx, struct addr_current *cur)
{
	cur->has_angle = true;
	str_reset(&cur->angle);
	str_reset(&cur->route);
	for (addr_next(lx); lx->type != ADDR_END; addr_next(lx)) {
		if (lx->type == ADDR_SPECIAL && lx->special == '>')
			return;
		if (lx->type == ADDR_SPECIAL && lx->special == ':' &&
		    cur->angle.len > 0 && cur->angle.data[0] == '@') {
			/* RFC 5322 4.4 obs-route: what came so far was it. */
			str_append(&cur->route, cur->angle.data,
			           cur->angle.len);
			str_reset(&cur->angle);
			continue;
		}
		addr_append_token(&cur->angle, lx);
	}
}

static void
addr_write_nstr(struct str *out, const struct str *s, bool utf8)
{
	if (s == NULL || s->len == 0)
		str_append_cstr(out, "NIL");
	else
		imap_write_string(out, s->data, s->len, utf8);
}

/* Writes one address from the current state, then clears it; nothing
 * for an empty one.  Returns 1 if an address was written. */
static int
addr_flush(struct str *out, struct addr_current *cur, bool utf8)
{
	const struct str *spec = cur->has_angle ? &cur->angle : &cur->spec;
	int written = 0;
	if (spec->len > 0) {
		const char *at = memrchr(spec->data, '@', spec->len);
		size_t local_len =
		    at != NULL ? (size_t)(at - spec->data) : spec->len;
		str_append_char(out, '(');
		addr_write_nstr(out, cur->has_angle ? &cur->phrase : NULL,
		                utf8);
		str_append_char(out, ' ');
		addr_write_nstr(out, cur->has_angle ? &cur->route : NULL, utf8);
		str_append_char(out, ' ');
		imap_write_string(out, spec->data, local_len, utf8);
		str_append_char(out, ' ');
		/* A NIL host would mean a group: use "" when there is none. */
		if (at != NULL)
			imap_write_string(out, at + 1,
			                  spec->len - local_len - 1, utf8);
		else
			str_append_cstr(out, "\"\"");
		str_append_char(out, ')');
		written = 1;
	}
	str_reset(&cur->phrase);
	str_reset(&cur->spec);
	str_reset(&cur->angle);
	str_reset(&cur->route);
	cur->has_angle = false;
	return written;
}

/* Handles one token; returns how many addresses were written. */
static int
addr_token(struct str *out, struct addr_lexer *lx, struct addr_current *cur,
           bool *in_group, bool utf8)
{
	char special = lx->type == ADDR_SPECIAL ? lx->special : '\0';
	int n = 0;
	if (special == ',') {
		return addr_flush(out, cur, utf8);
	} else if (special == ':' && !*in_group) {
		/* RFC 9051 7.5.2: a group starts with (NIL NIL name NIL). */
		str_append_cstr(out, "(NIL NIL ");
		addr_write_nstr(out, &cur->phrase, utf8);
		str_append_cstr(out, " NIL)");
		str_reset(&cur->phrase);
		str_reset(&cur->spec);
		*in_group = true;
		return 1;
	} else if ((special == ';' && *in_group) || lx->type == ADDR_END) {
		n = addr_flush(out, cur, utf8);
		if (*in_group)
			str_append_cstr(out, "(NIL NIL NIL NIL)");
		*in_group = false;
		return n;
	} else if (special == '<') {
		addr_read_angle(lx, cur);
	} else if (!cur->has_angle) {
		addr_append_phrase(&cur->phrase, lx);
		addr_append_token(&cur->spec, lx);
	}
	return 0;
}

static void
addr_current_init(struct addr_current *cur, size_t max)
{
	str_init(&cur->phrase, max);
	str_init(&cur->spec, max);
	str_init(&cur->angle, max);
	str_init(&cur->route, max);
	cur->has_angle = false;
}

static void
addr_current_free(struct addr_current *cur)
{
	str_free(&cur->phrase);
	str_free(&cur->spec);
	str_free(&cur->angle);
	str_free(&cur->route);
}

/* Writes an address list "((...)(...))", or NIL if value is NULL or
 * holds no address.  Returns false for NIL. */
static bool
fetch_write_addresses(struct str *out, const char *value, bool utf8)
{
	if (value == NULL) {
		str_append_cstr(out, "NIL");
		return false;
	}
	struct addr_lexer lx = {.s = value, .len = strlen(value)};
	struct addr_current cur;
	addr_current_init(&cur, lx.len + 1);
	struct str list;
	/* An address writes at most ~15 bytes per byte read ("a,"). */
	str_init(&list, 16 * lx.len + 4096);
	bool in_group = false;
	int count = 0;
	do {
		addr_next(&lx);
		if (count < FETCH_MAX_ADDRESSES)
			count += addr_token(&list, &lx, &cur, &in_group, utf8);
	} while (lx.type != ADDR_END);
	bool any = list.len > 0 && !str_failed(&list);
	if (any) {
		str_append_char(out, '(');
		str_append(out, list.data, list.len);
		str_append_char(out, ')');
	} else {
		str_append_cstr(out, "NIL");
	}
	str_free(&list);
	addr_current_free(&cur);
	return any;
}

static void
fetch_write_header_nstring(struct str *out, struct arena *arena,
                           const char *hdr, size_t hdr_len, const char *name,
                           bool utf8)
{
	const char *value = header_get(arena, hdr, hdr_len, name);
	imap_write_nstring(out, value, value != NULL ? strlen(value) : 0, utf8);
}

/* Writes Sender or Reply-To, or From's list if that gives NIL. */
static void
fetch_write_defaulted(struct str *out, const char *value,
                      const struct str *from, bool utf8)
{
	struct str list;
	str_init(&list, out->max);
	if (fetch_write_addresses(&list, value, utf8))
		str_append(out, list.data, list.len);
	else
		str_append(out, from->data, from->len);
	str_free(&list);
}

void
envelope_write(struct str *out, const char *hdr, size_t hdr_len, bool utf8)
{
	struct arena *arena = arena_create(4096);
	str_append_char(out, '(');
	fetch_write_header_nstring(out, arena, hdr, hdr_len, "Date", utf8);
	str_append_char(out, ' ');
	fetch_write_header_nstring(out, arena, hdr, hdr_len, "Subject", utf8);
	str_append_char(out, ' ');
	struct str from;
	str_init(&from, out->max);
	fetch_write_addresses(&from, header_get(arena, hdr, hdr_len, "From"),
	                      utf8);
	str_append(out, from.data, from.len);
	/* RFC 9051 7.5.2: absent or empty Sender and Reply-To are set to
	 * the value of From. */
	str_append_char(out, ' ');
	fetch_write_defaulted(out, header_get(arena, hdr, hdr_len, "Sender"),
	                      &from, utf8);
	str_append_char(out, ' ');
	fetch_write_defaulted(out, header_get(arena, hdr, hdr_len, "Reply-To"),
	                      &from, utf8);
	str_free(&from);
	static const char *const lists[] = {"To", "Cc", "Bcc"};
	for (size_t i = 0; i < N_ELEMENTS(lists); i++) {
		str_append_char(out, ' ');
		fetch_write_addresses(
		    out, header_get(arena, hdr, hdr_len, lists[i]), utf8);
	}
	str_append_char(out, ' ');
	fetch_write_header_nstring(out, arena, hdr, hdr_len, "In-Reply-To",
	                           utf8);
	str_append_char(out, ' ');
	fetch_write_header_nstring(out, arena, hdr, hdr_len, "Message-ID",
	                           utf8);
	str_append_char(out, ')');
	arena_destroy(&arena);
}

/* -------------------------------------------------- BODYSTRUCTURE */

static void
structure_write_nstring(struct str *out, const char *s, bool utf8)
{
	imap_write_nstring(out, s, s != NULL ? strlen(s) : 0, utf8);
}

/* body-fld-param: ("name" "value" ...) or NIL.  RFC 2045 5.2 makes
 * us-ascii the charset of text without one; clients want it spelled. */
static void
structure_write_params(struct str *out, const struct mime_param *params,
                       size_t count, bool add_charset, bool utf8)
{
	if (add_charset && mime_param_get(params, count, "charset") != NULL)
		add_charset = false;
	if (count == 0 && !add_charset) {
		str_append_cstr(out, "NIL");
		return;
	}
	str_append_char(out, '(');
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			str_append_char(out, ' ');
		structure_write_nstring(out, params[i].name, utf8);
		str_append_char(out, ' ');
		structure_write_nstring(out, params[i].value, utf8);
	}
	if (add_charset)
		str_append_cstr(out, count > 0 ? " \"charset\" \"us-ascii\""
		                               : "\"charset\" \"us-ascii\"");
	str_append_char(out, ')');
}

static const char *
structure_header(struct arena *arena, const struct mime_part *part,
                 const char *name)
{
	return header_get(arena, part->header, part->header_len, name);
}

/* body-fld-dsp: ("attachment" ("filename" "x")) or NIL. */
static void
structure_write_disposition(struct str *out, struct arena *arena,
                            const struct mime_part *part, bool utf8)
{
	const char *value =
	    structure_header(arena, part, "Content-Disposition");
	const char *main = "";
	struct mime_param *params = NULL;
	size_t count = 0;
	if (value != NULL)
		mime_parse_field(arena, value, &main, &params, &count);
	if (main[0] == '\0') {
		str_append_cstr(out, "NIL");
		return;
	}
	str_append_char(out, '(');
	structure_write_nstring(out, main, utf8);
	str_append_char(out, ' ');
	structure_write_params(out, params, count, false, utf8);
	str_append_char(out, ')');
}

/* body-fld-lang: NIL, "en" or ("en" "de") from Content-Language. */
static void
structure_write_language(struct str *out, struct arena *arena,
                         const struct mime_part *part, bool utf8)
{
	const char *value = structure_header(arena, part, "Content-Language");
	const char *tags[MIME_MAX_PARAMS];
	size_t count = 0;
	while (value != NULL && *value != '\0' && count < MIME_MAX_PARAMS) {
		value += strspn(value, " \t,");
		size_t len = strcspn(value, " \t,");
		if (len > 0)
			tags[count++] = arena_strndup(arena, value, len);
		value += len;
	}
	if (count == 0) {
		str_append_cstr(out, "NIL");
		return;
	}
	if (count > 1)
		str_append_char(out, '(');
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			str_append_char(out, ' ');
		structure_write_nstring(out, tags[i], utf8);
	}
	if (count > 1)
		str_append_char(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc, shared by both kinds
 * of extension data. */
static void
structure_write_ext_common(struct str *out, struct arena *arena,
                           const struct mime_part *part, bool utf8)
{
	str_append_char(out, ' ');
	structure_write_disposition(out, arena, part, utf8);
	str_append_char(out, ' ');
	structure_write_language(out, arena, part, utf8);
	str_append_char(out, ' ');
	structure_write_nstring(
	    out, structure_header(arena, part, "Content-Location"), utf8);
}

/* body-fields: params id description encoding octets. */
static void
structure_write_fields(struct str *out, struct arena *arena,
                       const struct mime_part *part, bool utf8)
{
	structure_write_params(out, part->params, part->param_count,
	                       mime_part_is(part, "text", NULL), utf8);
	str_append_char(out, ' ');
	structure_write_nstring(
	    out, structure_header(arena, part, "Content-ID"), utf8);
	str_append_char(out, ' ');
	structure_write_nstring(
	    out, structure_header(arena, part, "Content-Description"), utf8);
	str_append_char(out, ' ');
	const char *enc = part->encoding != NULL && part->encoding[0] != '\0'
	                      ? part->encoding
	                      : "7BIT";
	structure_write_nstring(out, enc, utf8);
	str_printf(out, " %zu", part->body_len);
}

static void structure_write_part(struct str *out, struct arena *arena,
                                 const struct mime_part *part, bool extended,
                                 unsigned depth, bool utf8);

/* body-type-1part: basic, text (with lines) or message (with envelope,
 * body and lines). */
static void
structure_write_single(struct str *out, struct arena *arena,
                       const struct mime_part *part, bool extended,
                       unsigned depth, bool utf8)
{
	str_append_char(out, '(');
	structure_write_nstring(out, part->type, utf8);
	str_append_char(out, ' ');
	structure_write_nstring(out, part->subtype, utf8);
	str_append_char(out, ' ');
	structure_write_fields(out, arena, part, utf8);
	if (part->message != NULL) {
		const struct mime_part *msg = part->message;
		str_append_char(out, ' ');
		envelope_write(out, msg->header, msg->header_len, utf8);
		str_append_char(out, ' ');
		structure_write_part(out, arena, msg, extended, depth + 1,
		                     utf8);
	}
	if (part->message != NULL || mime_part_is(part, "text", NULL))
		str_printf(out, " %llu",
		           (unsigned long long)mime_count_lines(
		               part->body, part->body_len));
	if (extended) {
		str_append_char(out, ' ');
		structure_write_nstring(
		    out, structure_header(arena, part, "Content-MD5"), utf8);
		structure_write_ext_common(out, arena, part, utf8);
	}
	str_append_char(out, ')');
}

/* body-type-mpart: the parts, the subtype, then extension data. */
static void
structure_write_multi(struct str *out, struct arena *arena,
                      const struct mime_part *part, bool extended,
                      unsigned depth, bool utf8)
{
	str_append_char(out, '(');
	for (size_t i = 0; i < part->child_count; i++)
		structure_write_part(out, arena, &part->children[i], extended,
		                     depth + 1, utf8);
	/* RFC 9051 9 needs 1*body: a multipart without parts shows one
	 * empty text part. */
	if (part->child_count == 0)
		str_append_cstr(out, "(\"text\" \"plain\" (\"charset\" "
		                     "\"us-ascii\") NIL NIL \"7bit\" 0 0)");
	str_append_char(out, ' ');
	structure_write_nstring(out, part->subtype, utf8);
	if (extended) {
		str_append_char(out, ' ');
		structure_write_params(out, part->params, part->param_count,
		                       false, utf8);
		structure_write_ext_common(out, arena, part, utf8);
	}
	str_append_char(out, ')');
}

static void
structure_write_part(struct str *out, struct arena *arena,
                     const struct mime_part *part, bool extended,
                     unsigned depth, bool utf8)
{
	/* mime_parse() bounds the depth; this keeps the recursion honest. */
	i_assert(depth <= MIME_MAX_DEPTH + 1);
	if (part->multipart)
		structure_write_multi(out, arena, part, extended, depth, utf8);
	else
		structure_write_single(out, arena, part, extended, depth, utf8);
}

void
bodystructure_write(struct str *out, struct arena *arena,
                    const struct mime_part *part, bool extended, bool utf8)
{
	structure_write_part(out, arena, part, extended, 0, utf8);
}
