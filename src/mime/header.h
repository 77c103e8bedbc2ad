#ifndef CASELLA_MIME_HEADER_H
#define CASELLA_MIME_HEADER_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct str;

/*
 * RFC 5322 header access on raw message bytes.  The message may use CRLF
 * or bare LF line ends, may lack a blank line or a body, and may hold NUL
 * bytes; nothing here reads past len.  Pointers returned in struct
 * header_field point into the caller's buffer and live as long as it.
 */

/*
 * Size of the header including the blank line that ends it, so the body
 * starts at msg + size.  Without a blank line the whole message is
 * header and len is returned.
 */
size_t header_size(const char *msg, size_t len);

struct header_field {
	const char *name;  /* field name, without the colon */
	size_t name_len;   /* bytes of name; trailing WSP before ':' excluded */
	const char *raw;   /* name through the line end of its last line */
	size_t raw_len;    /* bytes of raw, including that line end */
	const char *value; /* right after "name:", still folded */
	size_t value_len;  /* bytes of value, up to but excluding the
	                      final line end */
};

/*
 * Iterates the fields of hdr (a header as sized by header_size(), or any
 * part of one).  *pos starts at 0 and is advanced past each field; returns
 * true with *field_r filled, false at the end (or at the blank line).
 * Lines without a colon, and continuation lines with no field before
 * them, are skipped.  A field's continuation lines are the following
 * lines starting with a space or tab.
 */
bool header_next(const char *hdr, size_t hdr_len, size_t *pos,
                 struct header_field *field_r);

/*
 * Value of the first field called name (case-insensitive), unfolded (each
 * line end before WSP removed, RFC 5322 2.2.3) and trimmed of leading and
 * trailing WSP, NUL-terminated in arena.  NULs inside the value are kept
 * (so strlen() may stop early).  NULL if there is no such field.
 */
char *header_get(struct arena *arena, const char *hdr, size_t hdr_len,
                 const char *name);

/*
 * RFC 9051 6.4.5 BODY[HEADER.FIELDS (...)] and HEADER.FIELDS.NOT: appends
 * to out the raw fields whose name is in names[0..count), or not in it if
 * exclude, compared case-insensitively, in message order.  Each line ends
 * in CRLF (bare LF becomes CRLF), and a final CRLF (the blank line) is
 * appended, even when no field matched.  out's limit applies (sticky
 * error).
 */
void header_filter(struct str *out, const char *hdr, size_t hdr_len,
                   const char *const *names, size_t count, bool exclude);

#endif
