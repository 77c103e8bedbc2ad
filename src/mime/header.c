/*
 * RFC 5322 header fields on raw message bytes.  Line ends are "\n" with an
 * optional "\r" before it; a bare "\r" is an ordinary byte.  Every scan is
 * bounded by the length given, never by a NUL.
 */
#include "header.h"

#include <string.h>

#include "arena.h"
#include "str.h"
#include "util.h"

/* Where the line at s[pos] ends: *content_end_r before "\r\n"/"\n",
   return value after it (or len for a last line without one). */
static size_t
header_line_end(const char *s, size_t len, size_t pos, size_t *content_end_r)
{
	const char *nl = memchr(s + pos, '\n', len - pos);

	if (nl == NULL) {
		*content_end_r = len;
		return len;
	}
	size_t end = (size_t)(nl - s);
	*content_end_r = end > pos && s[end - 1] == '\r' ? end - 1 : end;
	return end + 1;
}

static bool
header_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

size_t
header_size(const char *msg, size_t len)
{
	size_t pos = 0;

	while (pos < len) {
		size_t content_end;
		size_t next = header_line_end(msg, len, pos, &content_end);

		/* RFC 5322 2.1: the header ends at the first empty line. */
		if (content_end == pos)
			return next;
		pos = next;
	}
	return len;
}

/* RFC 5322 3.6.8 ftext: printable US-ASCII except ':'. */
static bool
header_name_valid(const char *name, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

bool
header_next(const char *hdr, size_t hdr_len, size_t *pos,
            struct header_field *field_r)
{
	while (*pos < hdr_len) {
		size_t start = *pos, content_end;
		size_t next =
		    header_line_end(hdr, hdr_len, start, &content_end);

		if (content_end == start) {
			/* The blank line: nothing after it is header. */
			*pos = hdr_len;
			return false;
		}
		*pos = next;
		const char *colon =
		    memchr(hdr + start, ':', content_end - start);
		if (colon == NULL)
			continue;
		size_t name_len = (size_t)(colon - (hdr + start));
		/* RFC 5322 4.5.4 obs-optional: WSP before the colon. */
		while (name_len > 0 && header_is_wsp(hdr[start + name_len - 1]))
			name_len--;
		/* Skips mbox "From user Mon Jul  1 10:52:37 2003" lines and
		   continuations with no field before them (leading WSP). */
		if (!header_name_valid(hdr + start, name_len))
			continue;

		while (next < hdr_len && header_is_wsp(hdr[next]))
			next =
			    header_line_end(hdr, hdr_len, next, &content_end);
		*pos = next;

		size_t value_start = (size_t)(colon - hdr) + 1;
		field_r->name = hdr + start;
		field_r->name_len = name_len;
		field_r->raw = hdr + start;
		field_r->raw_len = next - start;
		field_r->value = hdr + value_start;
		field_r->value_len = content_end - value_start;
		return true;
	}
	return false;
}

char *
header_get(struct arena *arena, const char *hdr, size_t hdr_len,
           const char *name)
{
	struct header_field field;
	size_t pos = 0;

	while (header_next(hdr, hdr_len, &pos, &field)) {
		if (!mem_case_eq(field.name, field.name_len, name))
			continue;

		const char *v = field.value;
		size_t len = field.value_len, o = 0;
		char *out = arena_alloc(arena, len + 1);

		/* RFC 5322 2.2.3: unfolding removes each CRLF before WSP;
		   inside value every line end precedes a continuation. */
		for (size_t i = 0; i < len; i++) {
			if (v[i] == '\n' ||
			    (v[i] == '\r' && i + 1 < len && v[i + 1] == '\n'))
				continue;
			out[o++] = v[i];
		}
		size_t first = 0;
		while (first < o && header_is_wsp(out[first]))
			first++;
		while (o > first && header_is_wsp(out[o - 1]))
			o--;
		memmove(out, out + first, o - first);
		out[o - first] = '\0';
		return out;
	}
	return NULL;
}

static bool
header_name_listed(const struct header_field *field, const char *const *names,
                   size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (mem_case_eq(field->name, field->name_len, names[i]))
			return true;
	}
	return false;
}

/* Appends raw with every line ending in CRLF. */
static void
header_append_crlf(struct str *out, const char *raw, size_t len)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (raw[i] != '\n' || (i > 0 && raw[i - 1] == '\r'))
			continue;
		str_append(out, raw + start, i - start);
		str_append(out, "\r\n", 2);
		start = i + 1;
	}
	str_append(out, raw + start, len - start);
	/* The last field of a header without a final line end; one cut
	   between CR and LF only lacks the LF. */
	if (len > 0 && raw[len - 1] == '\r')
		str_append_char(out, '\n');
	else if (len == 0 || raw[len - 1] != '\n')
		str_append(out, "\r\n", 2);
}

void
header_filter(struct str *out, const char *hdr, size_t hdr_len,
              const char *const *names, size_t count, bool exclude)
{
	struct header_field field;
	size_t pos = 0;

	while (header_next(hdr, hdr_len, &pos, &field)) {
		if (header_name_listed(&field, names, count) != exclude)
			header_append_crlf(out, field.raw, field.raw_len);
	}
	str_append(out, "\r\n", 2);
}
