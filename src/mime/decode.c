/*
 * Lenient decoding for SEARCH (RFC 9051 6.4.4 compares decoded text):
 * RFC 2047 encoded words, quoted-printable and base64 (RFC 2045 6.7, 6.8).
 */
#include "mime/decode.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/charset.h"

/* One RFC 2047 encoded word: "=?charset?encoding?text?=". */
struct decode_word {
	char charset[CHARSET_NAME_MAX]; /* language suffix still attached */
	char encoding;                  /* 'B' or 'Q' */
	const char *text;               /* the encoded text */
	size_t text_len;
	size_t end; /* offset just after "?=" */
};

static bool
decode_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Reads up to the next '?' into *field_r; false on white space or end. */
static bool
decode_word_field(const char *s, size_t len, size_t *pos, size_t *start_r,
                  size_t *len_r)
{
	size_t i = *pos;
	while (i < len && s[i] != '?') {
		if (decode_is_space(s[i]))
			return false;
		i++;
	}
	if (i >= len)
		return false;
	*start_r = *pos;
	*len_r = i - *pos;
	*pos = i + 1;
	return true;
}

/* Parses the encoded word at s[pos] ("=?" there); false if it is not
 * one (RFC 2047 2: no white space inside, B or Q, ends in "?="). */
static bool
decode_parse_word(const char *s, size_t len, size_t pos, struct decode_word *w)
{
	size_t i = pos + 2, cs, cs_len, enc, enc_len, text, text_len;
	if (!decode_word_field(s, len, &i, &cs, &cs_len) || cs_len == 0 ||
	    cs_len >= sizeof(w->charset))
		return false;
	if (!decode_word_field(s, len, &i, &enc, &enc_len) || enc_len != 1)
		return false;
	char e = (char)(s[enc] & ~0x20);
	if (e != 'B' && e != 'Q')
		return false;
	if (!decode_word_field(s, len, &i, &text, &text_len) || i >= len ||
	    s[i] != '=')
		return false;
	memcpy(w->charset, s + cs, cs_len);
	w->charset[cs_len] = '\0';
	w->encoding = e;
	w->text = s + text;
	w->text_len = text_len;
	w->end = i + 1;
	return true;
}

/* RFC 2047 4.2: "_" is a space, "=XX" a byte; bad escapes stay. */
static void
decode_q(struct str *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi, lo;
		char c = s[i];
		if (c == '_') {
			c = ' ';
		} else if (c == '=' && i + 2 < len &&
		           (hi = hex_digit_value((unsigned char)s[i + 1])) >=
		               0 &&
		           (lo = hex_digit_value((unsigned char)s[i + 2])) >=
		               0) {
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		str_append_char(out, c);
	}
}

/* Unencoded header text: line ends dropped (unfolding), the rest read as
 * UTF-8 or ISO-8859-1. */
static void
decode_plain(struct str *out, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = 0;
		while (i + n < len && s[i + n] != '\r' && s[i + n] != '\n')
			n++;
		charset_to_utf8(out, NULL, s + i, n);
		i += n;
		while (i < len && (s[i] == '\r' || s[i] == '\n'))
			i++;
	}
}

/* Header decoding state: decoded bytes of adjacent encoded words in one
 * charset wait in pending, so a character split between two words
 * (RFC 2047 5 forbids it, mailers do it) converts whole. */
struct decode_header {
	struct str *out;
	struct str pending;
	char charset[CHARSET_NAME_MAX];
};

static void
decode_flush(struct decode_header *h)
{
	if (h->pending.len > 0)
		charset_to_utf8(h->out, h->charset, h->pending.data,
		                h->pending.len);
	str_reset(&h->pending);
}

static void
decode_add_word(struct decode_header *h, const struct decode_word *w)
{
	if (strcmp(h->charset, w->charset) != 0) {
		decode_flush(h);
		memcpy(h->charset, w->charset, sizeof(h->charset));
	}
	if (w->encoding == 'B')
		decode_base64(&h->pending, w->text, w->text_len);
	else
		decode_q(&h->pending, w->text, w->text_len);
}

static bool
decode_all_space(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!decode_is_space(s[i]))
			return false;
	}
	return true;
}

void
decode_header_value(struct str *out, const char *value, size_t len)
{
	struct decode_header h = {.out = out};
	str_init(&h.pending, out->max);
	size_t plain = 0; /* start of text not yet written */
	bool after_word = false;
	for (size_t i = 0; i + 1 < len; i++) {
		struct decode_word w;
		if (value[i] != '=' || value[i + 1] != '?' ||
		    !decode_parse_word(value, len, i, &w))
			continue;
		/* RFC 2047 6.2: space between encoded words is dropped. */
		if (!after_word ||
		    !decode_all_space(value + plain, i - plain)) {
			decode_flush(&h);
			decode_plain(out, value + plain, i - plain);
		}
		decode_add_word(&h, &w);
		after_word = true;
		plain = w.end;
		i = w.end - 1;
	}
	decode_flush(&h);
	decode_plain(out, value + plain, len - plain);
	str_free(&h.pending);
}

/* Decodes one quoted-printable line's text (no line end). */
static void
decode_qp_line(struct str *out, const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		const char *eq = memchr(s + i, '=', len - i);
		size_t n = eq != NULL ? (size_t)(eq - (s + i)) : len - i;
		str_append(out, s + i, n);
		i += n;
		if (i >= len)
			break;
		int hi =
		    i + 2 < len ? hex_digit_value((unsigned char)s[i + 1]) : -1;
		int lo =
		    hi >= 0 ? hex_digit_value((unsigned char)s[i + 2]) : -1;
		if (lo >= 0) {
			str_append_char(out, (char)(hi * 16 + lo));
			i += 3;
		} else {
			str_append_char(out, '=');
			i++;
		}
	}
}

void
decode_qp(struct str *out, const char *data, size_t len)
{
	size_t pos = 0;
	while (pos < len && !str_failed(out)) {
		const char *s = data + pos;
		const char *lf = memchr(s, '\n', len - pos);
		size_t eol = lf != NULL ? (size_t)(lf - s) : len - pos;
		size_t text = eol;
		/* RFC 2045 6.7 rule 3: white space at a line end is
		 * padding added in transport. */
		while (text > 0 && (s[text - 1] == ' ' || s[text - 1] == '\t' ||
		                    s[text - 1] == '\r'))
			text--;
		/* Rule 5: "=" at the end of a line is a soft line break. */
		bool soft = text > 0 && s[text - 1] == '=';
		decode_qp_line(out, s, soft ? text - 1 : text);
		if (lf != NULL && !soft)
			str_append_char(out, '\n');
		pos += lf != NULL ? eol + 1 : eol;
	}
}

void
decode_base64(struct str *out, const char *data, size_t len)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len && !str_failed(out); i++) {
		if (data[i] == '=') {
			/* Padding: the group ends, its spare bits go. */
			acc = 0;
			bits = 0;
			continue;
		}
		int v = base64_value((unsigned char)data[i]);
		if (v < 0)
			continue;
		acc = ((acc << 6) | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_append_char(out, (char)(acc >> bits));
		}
	}
}
