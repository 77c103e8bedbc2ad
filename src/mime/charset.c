/*
 * Charset conversion to UTF-8 (RFC 2045 5.1, RFC 2046 4.1.2, RFC 2047 3)
 * with glibc's iconv.  Search must see some text whatever the message
 * claims, so nothing here fails: unknown charsets and invalid bytes fall
 * back to UTF-8 where valid, ISO-8859-1 otherwise.
 */
#include "mime/charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

#include "lib/str.h"

/* Output chunk of one iconv() call. */
#define CHARSET_CHUNK 4096

void
charset_utf8_append(struct str *out, uint32_t cp)
{
	char buf[4];
	size_t n;
	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		buf[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		buf[0] = (char)(0xc0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		buf[0] = (char)(0xf0 | (cp >> 18));
		buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_append(out, buf, n);
}

size_t
charset_utf8_decode(const unsigned char *data, size_t len, uint32_t *cp_r)
{
	static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
	unsigned char c = data[0];
	size_t n;
	uint32_t cp;
	if (c < 0x80) {
		*cp_r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((data[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (data[i] & 0x3f);
	}
	/* RFC 3629 3: no overlong forms, surrogates or values past U+10FFFF. */
	if (cp < min_cp[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

/* Valid UTF-8 is copied; each other byte is read as ISO-8859-1. */
static void
charset_fallback(struct str *out, const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)data;
	size_t i = 0;
	while (i < len && !str_failed(out)) {
		size_t run = i;
		uint32_t cp;
		size_t n;
		while (run < len &&
		       (n = charset_utf8_decode(s + run, len - run, &cp)) > 0)
			run += n;
		str_append(out, data + i, run - i);
		if (run < len)
			charset_utf8_append(out, s[run++]);
		i = run;
	}
}

/* Copies name into buf without quotes, blanks or an RFC 2231 language
 * suffix; false if nothing is left or it does not fit. */
static bool
charset_clean_name(const char *name, char *buf, size_t size)
{
	if (name == NULL)
		return false;
	while (*name == ' ' || *name == '\t' || *name == '"')
		name++;
	size_t n = strcspn(name, "*\" \t");
	if (n == 0 || n >= size)
		return false;
	memcpy(buf, name, n);
	buf[n] = '\0';
	return true;
}

/* Names handled without iconv: they are read by charset_fallback(). */
static bool
charset_is_utf8_like(const char *name)
{
	return strcasecmp(name, "utf-8") == 0 ||
	       strcasecmp(name, "utf8") == 0 ||
	       strcasecmp(name, "us-ascii") == 0 ||
	       strcasecmp(name, "ascii") == 0;
}

bool
charset_is_known(const char *name)
{
	char buf[CHARSET_NAME_MAX];
	if (!charset_clean_name(name, buf, sizeof(buf)))
		return false;
	if (charset_is_utf8_like(buf))
		return true;
	iconv_t cd = iconv_open("UTF-8", buf);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

/* Runs iconv over all input; bytes it refuses go through the fallback.
 * A NULL *in flushes a stateful decoder (ISO-2022-JP). */
static void
charset_iconv(struct str *out, iconv_t cd, const char *data, size_t len)
{
	char chunk[CHARSET_CHUNK];
	char *in = (char *)data;
	size_t in_left = len;
	for (;;) {
		char *o = chunk;
		size_t o_left = sizeof(chunk);
		size_t r =
		    iconv(cd, data != NULL ? &in : NULL, &in_left, &o, &o_left);
		int err = r == (size_t)-1 ? errno : 0;
		str_append(out, chunk, sizeof(chunk) - o_left);
		if (str_failed(out) || data == NULL || err == 0)
			return;
		if (err == E2BIG)
			continue;
		if (err == EINVAL) {
			/* A sequence cut short at the end of the input. */
			charset_fallback(out, in, in_left);
			return;
		}
		/* EILSEQ: one byte is skipped, shown as ISO-8859-1. */
		charset_utf8_append(out, (unsigned char)*in);
		in++;
		in_left--;
		if (in_left == 0)
			return;
	}
}

void
charset_to_utf8(struct str *out, const char *charset, const char *data,
                size_t len)
{
	char name[CHARSET_NAME_MAX];
	if (!charset_clean_name(charset, name, sizeof(name)) ||
	    charset_is_utf8_like(name)) {
		charset_fallback(out, data, len);
		return;
	}
	iconv_t cd = iconv_open("UTF-8", name);
	if (cd == (iconv_t)-1) {
		charset_fallback(out, data, len);
		return;
	}
	if (len > 0)
		charset_iconv(out, cd, data, len);
	charset_iconv(out, cd, NULL, 0);
	iconv_close(cd);
}
