/*
 * Modified UTF-7 (RFC 3501 5.1.3) and strict UTF-8 (RFC 3629).
 *
 * Decoding is strict so that every name has exactly one encoding: a client
 * that sends a non-canonical form would otherwise see a different name in
 * LIST than the one it created.
 */
#include "mutf7.h"

#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "util.h"

/* RFC 3501 5.1.3: base64 with ',' instead of '/', no padding. */
static const char mutf7_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
mutf7_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool
mutf7_is_direct(uint32_t cp)
{
	/* RFC 3501 5.1.3: 0x20..0x7e represent themselves, except '&'. */
	return cp >= 0x20 && cp <= 0x7e;
}

/* Appends cp as UTF-8 at out; returns the number of bytes written. */
static size_t
utf8_put(char *out, uint32_t cp)
{
	unsigned char *o = (unsigned char *)out;

	if (cp < 0x80) {
		o[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = 0xc0 | (cp >> 6);
		o[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = 0xe0 | (cp >> 12);
		o[1] = 0x80 | ((cp >> 6) & 0x3f);
		o[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	o[0] = 0xf0 | (cp >> 18);
	o[1] = 0x80 | ((cp >> 12) & 0x3f);
	o[2] = 0x80 | ((cp >> 6) & 0x3f);
	o[3] = 0x80 | (cp & 0x3f);
	return 4;
}

/*
 * Decodes one UTF-8 sequence at s[0..len).  Returns its length and sets
 * *cp_r, or 0 if the sequence is invalid (RFC 3629 4 syntax: this rejects
 * overlongs, surrogates and values over U+10FFFF by construction).
 */
static size_t
utf8_get(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp, min;

	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

bool
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		size_t n = utf8_get(p + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/*
 * Decodes the base64 run in[0..len) (between '&' and '-') and appends the
 * UTF-8 form at out.  Returns bytes written, or (size_t)-1 if the run is
 * not canonical, valid UTF-16 of non-direct characters.
 */
static size_t
mutf7_decode_run(const unsigned char *in, size_t len, char *out)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t written = 0;

	for (size_t i = 0; i < len; i++) {
		int v = mutf7_b64_value(in[i]);
		if (v < 0)
			return (size_t)-1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;

		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return (size_t)-1;
			uint32_t cp =
			    0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00);
			written += utf8_put(out + written, cp);
			high = 0;
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return (size_t)-1;
		} else if (mutf7_is_direct(unit) || unit == 0) {
			/* Printable ASCII must be sent directly; NUL could
			   not be returned in a C string. */
			return (size_t)-1;
		} else {
			written += utf8_put(out + written, unit);
		}
	}
	/* Canonical: fewer than 6 leftover bits, all zero, and no
	   dangling high surrogate. */
	if (high != 0 || nbits >= 6 || bits != 0 || written == 0)
		return (size_t)-1;
	return written;
}

char *
mutf7_to_utf8(struct arena *arena, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	bool prev_was_run = false;
	size_t o = 0;

	/* Each base64 character yields at most 9/8 UTF-8 bytes. */
	i_assert(len < SIZE_MAX / 2);
	char *out = arena_alloc(arena, len + len / 8 + 4);

	for (size_t i = 0; i < len;) {
		if (p[i] < 0x20 || p[i] > 0x7e)
			return NULL;
		if (p[i] != '&') {
			out[o++] = (char)p[i++];
			prev_was_run = false;
			continue;
		}
		const unsigned char *end = memchr(p + i + 1, '-', len - i - 1);
		if (end == NULL)
			return NULL;
		size_t run_len = (size_t)(end - (p + i + 1));
		if (run_len == 0) {
			out[o++] = '&';
			prev_was_run = false;
		} else {
			/* "&AOQ-&AOQ-" must be written "&AOQA5A-". */
			if (prev_was_run)
				return NULL;
			size_t n =
			    mutf7_decode_run(p + i + 1, run_len, out + o);
			if (n == (size_t)-1)
				return NULL;
			o += n;
			prev_was_run = true;
		}
		i += run_len + 2;
	}
	out[o] = '\0';
	return out;
}

/* Appends the UTF-16 unit to the base64 state, flushing whole sextets. */
static void
mutf7_put_unit(char *out, size_t *o, uint32_t *bits, unsigned *nbits,
               uint32_t unit)
{
	*bits = (*bits << 16) | unit;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		out[(*o)++] = mutf7_b64[(*bits >> *nbits) & 0x3f];
	}
	*bits &= (1u << *nbits) - 1;
}

char *
utf8_to_mutf7(struct arena *arena, const char *in, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	uint32_t bits = 0;
	unsigned nbits = 0;
	bool in_run = false;
	size_t o = 0;

	/* Worst case is a 2-byte character between ASCII: "&AOQ-", 2.5x. */
	i_assert(len < SIZE_MAX / 4);
	char *out = arena_alloc(arena, len * 3 + 4);

	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_get(p + i, len - i, &cp);

		i_assert(n != 0);
		i += n;
		if (mutf7_is_direct(cp)) {
			if (in_run) {
				if (nbits > 0)
					out[o++] =
					    mutf7_b64[(bits << (6 - nbits)) &
					              0x3f];
				out[o++] = '-';
				bits = 0;
				nbits = 0;
				in_run = false;
			}
			out[o++] = (char)cp;
			if (cp == '&')
				out[o++] = '-';
			continue;
		}
		if (!in_run) {
			out[o++] = '&';
			in_run = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			mutf7_put_unit(out, &o, &bits, &nbits,
			               0xd800 + (cp >> 10));
			mutf7_put_unit(out, &o, &bits, &nbits,
			               0xdc00 + (cp & 0x3ff));
		} else {
			mutf7_put_unit(out, &o, &bits, &nbits, cp);
		}
	}
	if (in_run) {
		if (nbits > 0)
			out[o++] = mutf7_b64[(bits << (6 - nbits)) & 0x3f];
		out[o++] = '-';
	}
	out[o] = '\0';
	return out;
}
