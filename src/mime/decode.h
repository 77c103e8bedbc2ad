#ifndef CASELLA_MIME_DECODE_H
#define CASELLA_MIME_DECODE_H

#include <stddef.h>

struct str;

/*
 * Lenient decoders for search: RFC 2047 encoded words in header values,
 * and the quoted-printable and base64 transfer encodings (RFC 2045 6.7,
 * 6.8) of bodies.  Broken input is decoded as far as it makes sense and
 * never refused.  Output is appended to a struct str, whose maximum bounds
 * it (sticky error, see lib/str.h); input is read only within len.
 */

/*
 * Appends a header field value as UTF-8 text: unfolded (RFC 5322 2.2.3,
 * line ends dropped), encoded words "=?charset?B|Q?text?=" decoded and
 * converted from their charset (RFC 2047 4, 5), white space between two
 * adjacent encoded words dropped (RFC 2047 6.2), and other text read as
 * UTF-8 (RFC 6532) or ISO-8859-1.  Malformed encoded words stay as
 * written.
 */
void decode_header_value(struct str *out, const char *value, size_t len);

/*
 * RFC 2045 6.7 quoted-printable: "=XX" escapes (either case), soft line
 * breaks ("=" at the end of a line, trailing white space allowed), and
 * white space at line ends removed.  A "=" not followed by two hex digits
 * is kept as it is.
 */
void decode_qp(struct str *out, const char *data, size_t len);

/*
 * RFC 2045 6.8 base64: characters outside the alphabet (line breaks,
 * garbage) are ignored; "=" ends a group, and decoding goes on after it
 * so concatenated encodings also decode.
 */
void decode_base64(struct str *out, const char *data, size_t len);

#endif
