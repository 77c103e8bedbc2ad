/* MIME structure for FETCH (RFC 2045, RFC 2046, RFC 9051 6.4.5). */
#include "mime/mime-part.h"

#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/base64.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/header.h"

struct mime_parser {
	struct arena *arena;
	size_t parts_left; /* MIME_MAX_PARTS budget */
};

/* ------------------------------------------------- structured values */

struct mime_lexer {
	const char *s;
	size_t len, pos;
};

/* Skips white space and (nested) comments: RFC 822 CFWS. */
static void
mime_skip_cfws(struct mime_lexer *lx)
{
	unsigned depth = 0;
	while (lx->pos < lx->len) {
		char c = lx->s[lx->pos];
		if (depth > 0 && c == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' &&
		         c != '\n')
			return;
		lx->pos++;
	}
}

/* RFC 2045 5.1 token: no SPACE, CTLs or tspecials. */
static bool
mime_is_token_char(unsigned char c)
{
	return c > 0x20 && c != 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static const char *
mime_read_token(struct mime_lexer *lx, struct arena *arena)
{
	size_t start = lx->pos;
	while (lx->pos < lx->len &&
	       mime_is_token_char((unsigned char)lx->s[lx->pos]))
		lx->pos++;
	return arena_strndup(arena, lx->s + start, lx->pos - start);
}

/* A token or a quoted-string, unquoted. */
static const char *
mime_read_value(struct mime_lexer *lx, struct arena *arena)
{
	if (lx->pos >= lx->len || lx->s[lx->pos] != '"')
		return mime_read_token(lx, arena);
	char *out = arena_alloc(arena, lx->len - lx->pos);
	size_t n = 0;
	for (lx->pos++; lx->pos < lx->len && lx->s[lx->pos] != '"'; lx->pos++) {
		if (lx->s[lx->pos] == '\\' && lx->pos + 1 < lx->len)
			lx->pos++;
		out[n++] = lx->s[lx->pos];
	}
	if (lx->pos < lx->len)
		lx->pos++;
	out[n] = '\0';
	return out;
}

/* Reads "; name=value" once; false at the end.  Garbage is skipped up
 * to the next ';' (RFC 2045 asks for leniency towards bad headers). */
static bool
mime_read_param(struct mime_lexer *lx, struct arena *arena,
                struct mime_param *param_r)
{
	for (;;) {
		const char *semi =
		    memchr(lx->s + lx->pos, ';', lx->len - lx->pos);
		if (semi == NULL)
			return false;
		lx->pos = (size_t)(semi - lx->s) + 1;
		mime_skip_cfws(lx);
		param_r->name = mime_read_token(lx, arena);
		mime_skip_cfws(lx);
		if (param_r->name[0] == '\0' || lx->pos >= lx->len ||
		    lx->s[lx->pos] != '=')
			continue;
		lx->pos++;
		mime_skip_cfws(lx);
		param_r->value = mime_read_value(lx, arena);
		return true;
	}
}

void
mime_parse_field(struct arena *arena, const char *value, const char **main_r,
                 struct mime_param **params_r, size_t *count_r)
{
	struct mime_lexer lx = {.s = value, .len = strlen(value)};
	mime_skip_cfws(&lx);
	size_t start = lx.pos;
	/* The main value: a token, or "type/subtype" with optional CFWS. */
	struct str main;
	str_init(&main, lx.len + 1);
	while (lx.pos < lx.len && lx.s[lx.pos] != ';') {
		char c = lx.s[lx.pos];
		if (mime_is_token_char((unsigned char)c) || c == '/') {
			str_append_char(&main, c);
			lx.pos++;
		} else {
			size_t before = lx.pos;
			mime_skip_cfws(&lx);
			if (lx.pos == before)
				lx.pos++;
		}
	}
	*main_r = lx.pos > start && main.len > 0
	              ? arena_strndup(arena, main.data, main.len)
	              : "";
	str_free(&main);
	struct mime_param *params =
	    arena_new_array(arena, struct mime_param, MIME_MAX_PARAMS);
	size_t count = 0;
	struct mime_param param;
	while (count < MIME_MAX_PARAMS && mime_read_param(&lx, arena, &param))
		params[count++] = param;
	*params_r = params;
	*count_r = count;
}

const char *
mime_param_get(const struct mime_param *params, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(params[i].name, name) == 0)
			return params[i].value;
	}
	return NULL;
}

bool
mime_part_is(const struct mime_part *part, const char *type,
             const char *subtype)
{
	return strcasecmp(part->type, type) == 0 &&
	       (subtype == NULL || strcasecmp(part->subtype, subtype) == 0);
}

/* ------------------------------------------------------- the tree */

/* Content-Type with the RFC 2045 5.2 / RFC 2046 5.1.5 defaults. */
static void
mime_parse_content_type(struct mime_parser *p, struct mime_part *part,
                        bool in_digest)
{
	const char *value = header_get(p->arena, part->header, part->header_len,
	                               "Content-Type");
	const char *main = "";
	if (value != NULL)
		mime_parse_field(p->arena, value, &main, &part->params,
		                 &part->param_count);
	const char *slash = strchr(main, '/');
	if (slash != NULL && slash != main && slash[1] != '\0' &&
	    strchr(slash + 1, '/') == NULL) {
		part->type =
		    arena_strndup(p->arena, main, (size_t)(slash - main));
		part->subtype = slash + 1;
		return;
	}
	/* Missing or invalid: the default, and its parameters go too. */
	part->type = in_digest ? "message" : "text";
	part->subtype = in_digest ? "rfc822" : "plain";
	part->param_count = 0;
	if (!in_digest) {
		part->params = arena_new(p->arena, struct mime_param);
		part->params[0].name = "charset";
		part->params[0].value = "us-ascii";
		part->param_count = 1;
	}
}

/*
 * Finds the next delimiter line "--boundary" (RFC 2046 5.1.1) starting at
 * a line start at or after pos.  *start_r is where it begins, *next_r
 * where the line after it begins; *close_r tells "--boundary--".
 */
static bool
mime_find_delimiter(const char *s, size_t len, size_t pos, const char *b,
                    size_t blen, size_t *start_r, size_t *next_r, bool *close_r)
{
	while (pos < len) {
		if (len - pos >= 2 + blen && s[pos] == '-' &&
		    s[pos + 1] == '-' && memcmp(s + pos + 2, b, blen) == 0) {
			size_t j = pos + 2 + blen;
			bool close =
			    len - j >= 2 && s[j] == '-' && s[j + 1] == '-';
			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (close || j == len || s[j] == '\r' || s[j] == '\n') {
				const char *lf = memchr(s + j, '\n', len - j);
				*start_r = pos;
				*next_r =
				    lf != NULL ? (size_t)(lf - s) + 1 : len;
				*close_r = close;
				return true;
			}
		}
		const char *lf = memchr(s + pos, '\n', len - pos);
		if (lf == NULL)
			break;
		pos = (size_t)(lf - s) + 1;
	}
	return false;
}

static void mime_parse_entity(struct mime_parser *p, struct mime_part *part,
                              const char *data, size_t len, unsigned depth,
                              bool in_digest);

/* Adds the body part data[start, end) to parent. */
static void
mime_add_child(struct mime_parser *p, struct mime_part *parent,
               size_t *capacity, const char *data, size_t len, unsigned depth)
{
	if (parent->child_count == *capacity) {
		size_t cap = *capacity < 8 ? 8 : *capacity * 2;
		struct mime_part *grown =
		    arena_new_array(p->arena, struct mime_part, cap);
		if (parent->child_count > 0)
			memcpy(grown, parent->children,
			       parent->child_count * sizeof(*grown));
		parent->children = grown;
		*capacity = cap;
	}
	struct mime_part *child = &parent->children[parent->child_count++];
	p->parts_left--;
	mime_parse_entity(p, child, data, len, depth + 1,
	                  mime_part_is(parent, "multipart", "digest"));
}

static void
mime_parse_multipart(struct mime_parser *p, struct mime_part *part,
                     const char *boundary, unsigned depth)
{
	const char *s = part->body;
	size_t len = part->body_len, blen = strlen(boundary);
	size_t start, next, capacity = 0;
	bool close;
	part->multipart = true;
	/* The preamble before the first delimiter is not a part. */
	if (!mime_find_delimiter(s, len, 0, boundary, blen, &start, &next,
	                         &close) ||
	    close)
		return;
	while (p->parts_left > 0) {
		size_t part_start = next, end = len;
		bool found = mime_find_delimiter(s, len, part_start, boundary,
		                                 blen, &start, &next, &close);
		if (found) {
			/* The line end before a delimiter belongs to it. */
			end = start;
			if (end > part_start && s[end - 1] == '\n')
				end--;
			if (end > part_start && s[end - 1] == '\r')
				end--;
		}
		mime_add_child(p, part, &capacity, s + part_start,
		               end - part_start, depth);
		if (!found || close)
			return;
	}
}

static void
mime_parse_entity(struct mime_parser *p, struct mime_part *part,
                  const char *data, size_t len, unsigned depth, bool in_digest)
{
	size_t hdr_len = header_size(data, len);
	part->header = data;
	part->header_len = hdr_len;
	part->body = data + hdr_len;
	part->body_len = len - hdr_len;
	mime_parse_content_type(p, part, in_digest);
	const char *cte =
	    header_get(p->arena, data, hdr_len, "Content-Transfer-Encoding");
	if (cte != NULL)
		mime_parse_field(p->arena, cte, &part->encoding,
		                 &(struct mime_param *){NULL}, &(size_t){0});
	if (depth >= MIME_MAX_DEPTH || p->parts_left == 0)
		return;
	const char *boundary =
	    mime_param_get(part->params, part->param_count, "boundary");
	if (mime_part_is(part, "multipart", NULL) && boundary != NULL &&
	    boundary[0] != '\0' && strlen(boundary) <= MIME_MAX_BOUNDARY) {
		mime_parse_multipart(p, part, boundary, depth);
	} else if ((mime_part_is(part, "message", "rfc822") ||
	            mime_part_is(part, "message", "global")) &&
	           mime_part_encoding(part) == MIME_ENCODING_IDENTITY) {
		/* RFC 2046 5.2.1: an encoded message/rfc822 is not parsed. */
		part->message = arena_new(p->arena, struct mime_part);
		p->parts_left--;
		mime_parse_entity(p, part->message, part->body, part->body_len,
		                  depth + 1, false);
	}
}

struct mime_part *
mime_parse(struct arena *arena, const char *msg, size_t len)
{
	struct mime_parser p = {.arena = arena, .parts_left = MIME_MAX_PARTS};
	struct mime_part *root = arena_new(arena, struct mime_part);
	mime_parse_entity(&p, root, msg, len, 0, false);
	return root;
}

/* Part n (1-based) of a message: its body parts, or itself. */
static const struct mime_part *
mime_message_part(const struct mime_part *msg, uint32_t n)
{
	if (msg->multipart)
		return n <= msg->child_count ? &msg->children[n - 1] : NULL;
	return n == 1 ? msg : NULL;
}

const struct mime_part *
mime_find_part(const struct mime_part *root, const uint32_t *parts,
               size_t count)
{
	const struct mime_part *node = root;
	for (size_t i = 0; i < count && node != NULL; i++) {
		uint32_t n = parts[i];
		if (i == 0)
			node = mime_message_part(root, n);
		else if (node->multipart)
			node = n <= node->child_count ? &node->children[n - 1]
			                              : NULL;
		else if (node->message != NULL)
			node = mime_message_part(node->message, n);
		else
			node = NULL;
	}
	return node;
}

/* ---------------------------------------------------------- decoding */

enum mime_encoding
mime_part_encoding(const struct mime_part *part)
{
	const char *e = part->encoding;
	if (e == NULL || e[0] == '\0' || strcasecmp(e, "7bit") == 0 ||
	    strcasecmp(e, "8bit") == 0 || strcasecmp(e, "binary") == 0)
		return MIME_ENCODING_IDENTITY;
	if (part->multipart || part->message != NULL)
		return MIME_ENCODING_IDENTITY;
	if (strcasecmp(e, "base64") == 0)
		return MIME_ENCODING_BASE64;
	if (strcasecmp(e, "quoted-printable") == 0)
		return MIME_ENCODING_QP;
	return MIME_ENCODING_UNKNOWN;
}

/* RFC 2045 6.8: characters outside the alphabet are ignored; '=' ends
 * the data. */
static size_t
mime_decode_base64(struct str *out, const char *data, size_t len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	for (size_t i = 0; i < len && data[i] != '='; i++) {
		int v = base64_value((unsigned char)data[i]);
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out != NULL)
				str_append_char(out, (char)(acc >> bits));
			n++;
		}
	}
	return n;
}

/* Decodes the =XX escapes of one line's text. */
static size_t
mime_qp_line(struct str *out, const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++, n++) {
		char c = s[i];
		int hi, lo;
		if (c == '=' && i + 2 < len &&
		    (hi = hex_digit_value((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hex_digit_value((unsigned char)s[i + 2])) >= 0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (out != NULL)
			str_append_char(out, c);
	}
	return n;
}

/* RFC 2045 6.7: =XX escapes, '=' soft line breaks, and trailing white
 * space (added in transport, rule 3) removed.  Hard line breaks stay as
 * they were written. */
static size_t
mime_decode_qp(struct str *out, const char *data, size_t len)
{
	size_t n = 0, pos = 0;
	while (pos < len) {
		const char *s = data + pos;
		const char *lf = memchr(s, '\n', len - pos);
		size_t eol = lf != NULL ? (size_t)(lf - s) : len - pos;
		bool crlf = lf != NULL && eol > 0 && s[eol - 1] == '\r';
		size_t text = crlf ? eol - 1 : eol;
		while (text > 0 && (s[text - 1] == ' ' || s[text - 1] == '\t'))
			text--;
		bool soft = text > 0 && s[text - 1] == '=';
		n += mime_qp_line(out, s, soft ? text - 1 : text);
		if (lf != NULL && !soft) {
			const char *brk = crlf ? "\r\n" : "\n";
			if (out != NULL)
				str_append_cstr(out, brk);
			n += strlen(brk);
		}
		pos += lf != NULL ? eol + 1 : eol;
	}
	return n;
}

size_t
mime_decode(struct str *out, enum mime_encoding encoding, const char *data,
            size_t len)
{
	switch (encoding) {
	case MIME_ENCODING_BASE64:
		return mime_decode_base64(out, data, len);
	case MIME_ENCODING_QP:
		return mime_decode_qp(out, data, len);
	case MIME_ENCODING_IDENTITY:
	case MIME_ENCODING_UNKNOWN:
		break;
	}
	if (out != NULL)
		str_append(out, data, len);
	return len;
}

uint64_t
mime_count_lines(const char *data, size_t len)
{
	uint64_t lines = 0;
	const char *p = data, *end = data + len;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		lines++;
		p++;
	}
	if (len > 0 && data[len - 1] != '\n')
		lines++;
	return lines;
}
