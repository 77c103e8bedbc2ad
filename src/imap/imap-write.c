#include "imap/imap-write.h"

#include <stdint.h>

#include "lib/str.h"

/* Longer strings go as literals: quoting them gains nothing. */
#define QUOTED_MAX 1024

static bool
imap_quotable(const char *s, size_t len, bool utf8)
{
	if (len > QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n' || c == '\0')
			return false;
		if (c >= 0x80 && !utf8)
			return false;
	}
	return true;
}

static bool
imap_is_atom(const char *s, size_t len)
{
	if (len == 0 || len > QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* RFC 9051 ATOM-CHAR minus list-wildcards and resp-specials,
		 * plus ']' which ASTRING-CHAR allows. */
		if (c <= 0x20 || c >= 0x7f || c == '(' || c == ')' ||
		    c == '{' || c == '%' || c == '*' || c == '"' || c == '\\')
			return false;
	}
	return true;
}

void
imap_write_string(struct str *out, const char *s, size_t len, bool utf8)
{
	if (!imap_quotable(s, len, utf8)) {
		str_printf(out, "{%zu}\r\n", len);
		str_append(out, s, len);
		return;
	}
	str_append_char(out, '"');
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			str_append(out, s + start, i - start);
			str_append_char(out, '\\');
			start = i;
		}
	}
	str_append(out, s + start, len - start);
	str_append_char(out, '"');
}

void
imap_write_nstring(struct str *out, const char *s, size_t len, bool utf8)
{
	if (s == NULL)
		str_append(out, "NIL", 3);
	else
		imap_write_string(out, s, len, utf8);
}

void
imap_write_astring(struct str *out, const char *s, size_t len, bool utf8)
{
	if (imap_is_atom(s, len) &&
	    !(len == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'i' &&
	      (s[2] | 0x20) == 'l'))
		str_append(out, s, len);
	else
		imap_write_string(out, s, len, utf8);
}

void
imap_write_uid_set(struct str *out, const uint32_t *uids, size_t count)
{
	for (size_t i = 0; i < count;) {
		size_t j = i;
		while (j + 1 < count && uids[j + 1] == uids[j] + 1)
			j++;
		if (i > 0)
			str_append_char(out, ',');
		if (j == i)
			str_printf(out, "%u", uids[i]);
		else
			str_printf(out, "%u:%u", uids[i], uids[j]);
		i = j + 1;
	}
}
