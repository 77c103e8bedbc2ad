/* HTML to searchable text (see html-text.h; HTML 5 13.2 for the syntax
 * this approximates). */
#include "mime/html-text.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "lib/str.h"
#include "lib/util.h"
#include "mime/charset.h"

/* Longest element or entity name looked at. */
#define HTML_NAME_MAX 16

struct html_text {
	struct str *out;
	const char *s;
	size_t len;
	size_t pos;
	bool space; /* white space seen, not written yet */
	bool any;   /* something written: no leading space */
};

struct html_entity {
	const char *name;
	uint32_t cp;
};

/* HTML 5 13.5 named references; the most common ones only. */
static const struct html_entity html_entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},
    {"apos", '\''},    {"nbsp", ' '},     {"copy", 0xa9},     {"reg", 0xae},
    {"euro", 0x20ac},  {"pound", 0xa3},   {"laquo", 0xab},    {"raquo", 0xbb},
    {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"lsquo", 0x2018},
    {"rsquo", 0x2019}, {"ldquo", 0x201c}, {"rdquo", 0x201d},  {"bull", 0x2022},
    {"middot", 0xb7},  {"szlig", 0xdf},   {"agrave", 0xe0},   {"aacute", 0xe1},
    {"acirc", 0xe2},   {"auml", 0xe4},    {"ccedil", 0xe7},   {"egrave", 0xe8},
    {"eacute", 0xe9},  {"ecirc", 0xea},   {"iacute", 0xed},   {"ntilde", 0xf1},
    {"oacute", 0xf3},  {"ouml", 0xf6},    {"uacute", 0xfa},   {"uuml", 0xfc},
    {"Auml", 0xc4},    {"Eacute", 0xc9},  {"Ouml", 0xd6},     {"Uuml", 0xdc},
};

/* Elements whose start or end separates words. */
static const char *const html_block_tags[] = {
    "address", "article", "blockquote", "br", "dd",    "div", "dl",
    "dt",      "footer",  "h1",         "h2", "h3",    "h4",  "h5",
    "h6",      "header",  "hr",         "li", "ol",    "p",   "pre",
    "section", "table",   "td",         "th", "title", "tr",  "ul",
};

/* Writes text, first the pending space if any. */
static void
html_emit(struct html_text *h, const char *text, size_t n)
{
	if (h->space && h->any)
		str_append_char(h->out, ' ');
	h->space = false;
	h->any = true;
	str_append(h->out, text, n);
}

static void
html_emit_cp(struct html_text *h, uint32_t cp)
{
	if (cp == ' ') {
		h->space = true;
		return;
	}
	html_emit(h, "", 0);
	charset_utf8_append(h->out, cp);
}

static bool
html_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static bool
html_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

/* Finds needle (ASCII, lower case) from pos ignoring case; len if none. */
static size_t
html_find(const struct html_text *h, size_t pos, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = pos; i + n <= h->len; i++) {
		if (strncasecmp(h->s + i, needle, n) == 0)
			return i;
	}
	return h->len;
}

/* Numeric reference after "&#"; 0 if malformed. */
static uint32_t
html_numeric_ref(const struct html_text *h, size_t *pos)
{
	size_t i = *pos;
	unsigned base = 10;
	if (i < h->len && (h->s[i] == 'x' || h->s[i] == 'X')) {
		base = 16;
		i++;
	}
	uint32_t cp = 0;
	size_t digits = 0;
	for (; i < h->len && digits < 8; i++, digits++) {
		char c = h->s[i];
		unsigned v;
		if (c >= '0' && c <= '9')
			v = (unsigned)(c - '0');
		else if (base == 16 && (c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			v = (unsigned)((c | 0x20) - 'a' + 10);
		else
			break;
		cp = cp * base + v;
	}
	if (digits == 0)
		return 0;
	if (i < h->len && h->s[i] == ';')
		i++;
	*pos = i;
	return cp == 0 ? 0xfffd : cp;
}

/* A named reference after "&" (";" required); 0 if unknown. */
static uint32_t
html_named_ref(const struct html_text *h, size_t *pos)
{
	size_t i = *pos, n = 0;
	while (i + n < h->len && n <= HTML_NAME_MAX &&
	       html_is_alnum(h->s[i + n]))
		n++;
	if (n == 0 || n > HTML_NAME_MAX || i + n >= h->len ||
	    h->s[i + n] != ';')
		return 0;
	for (size_t k = 0; k < N_ELEMENTS(html_entities); k++) {
		const char *name = html_entities[k].name;
		if (strlen(name) == n && memcmp(name, h->s + i, n) == 0) {
			*pos = i + n + 1;
			return html_entities[k].cp;
		}
	}
	return 0;
}

/* At '&': writes the referenced character, or '&' itself. */
static void
html_reference(struct html_text *h)
{
	size_t pos = h->pos + 1;
	uint32_t cp;
	if (pos < h->len && h->s[pos] == '#') {
		pos++;
		cp = html_numeric_ref(h, &pos);
	} else {
		cp = html_named_ref(h, &pos);
	}
	if (cp == 0) {
		html_emit(h, "&", 1);
		h->pos++;
		return;
	}
	html_emit_cp(h, cp);
	h->pos = pos;
}

/* Skips to just after the '>' that ends the tag at pos, stepping over
 * quoted attribute values. */
static size_t
html_tag_end(const struct html_text *h, size_t pos)
{
	char quote = 0;
	for (; pos < h->len; pos++) {
		char c = h->s[pos];
		if (quote != 0) {
			if (c == quote)
				quote = 0;
		} else if (c == '"' || c == '\'') {
			quote = c;
		} else if (c == '>') {
			return pos + 1;
		}
	}
	return h->len;
}

static bool
html_is_block(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(html_block_tags); i++) {
		if (strcasecmp(name, html_block_tags[i]) == 0)
			return true;
	}
	return false;
}

/* Skips a script or style element's content and its end tag. */
static void
html_skip_raw(struct html_text *h, const char *name)
{
	char end[HTML_NAME_MAX + 3] = "</";
	casella_strlcat(end, name, sizeof(end));
	size_t at = html_find(h, h->pos, end);
	h->pos = at < h->len ? html_tag_end(h, at) : h->len;
}

/* At '<' followed by a letter or '/': an element's start or end tag. */
static void
html_tag(struct html_text *h)
{
	size_t i = h->pos + 1;
	bool closing = h->s[i] == '/';
	if (closing)
		i++;
	char name[HTML_NAME_MAX + 1];
	size_t n = 0;
	while (i < h->len && html_is_alnum(h->s[i]) && n < HTML_NAME_MAX)
		name[n++] = h->s[i++];
	name[n] = '\0';
	h->pos = html_tag_end(h, i);
	if (html_is_block(name))
		h->space = true;
	if (!closing &&
	    (strcasecmp(name, "script") == 0 || strcasecmp(name, "style") == 0))
		html_skip_raw(h, name);
}

/* At '<': a comment, a declaration, a tag or just a '<'. */
static void
html_markup(struct html_text *h)
{
	const char *s = h->s;
	size_t i = h->pos + 1;
	if (i < h->len && s[i] == '!' && i + 2 < h->len && s[i + 1] == '-' &&
	    s[i + 2] == '-') {
		size_t end = html_find(h, i + 3, "-->");
		h->pos = end < h->len ? end + 3 : h->len;
	} else if (i < h->len && (s[i] == '!' || s[i] == '?')) {
		h->pos = html_tag_end(h, i);
	} else if (i < h->len &&
	           (s[i] == '/' ||
	            (html_is_alnum(s[i]) && !(s[i] >= '0' && s[i] <= '9')))) {
		html_tag(h);
	} else {
		html_emit(h, "<", 1);
		h->pos++;
	}
}

void
html_to_text(struct str *out, const char *html, size_t len)
{
	struct html_text h = {.out = out, .s = html, .len = len};
	while (h.pos < h.len && !str_failed(out)) {
		char c = html[h.pos];
		if (c == '<') {
			html_markup(&h);
		} else if (c == '&') {
			html_reference(&h);
		} else if (html_is_space(c)) {
			h.space = true;
			h.pos++;
		} else {
			size_t n = 1;
			while (h.pos + n < h.len &&
			       !html_is_space(html[h.pos + n]) &&
			       html[h.pos + n] != '<' && html[h.pos + n] != '&')
				n++;
			html_emit(&h, html + h.pos, n);
			h.pos += n;
		}
	}
}
