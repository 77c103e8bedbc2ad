#ifndef CASELLA_MIME_CHARSET_H
#define CASELLA_MIME_CHARSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct str;

/*
 * Conversion of text in a MIME charset (RFC 2045 5.1, RFC 2046 4.1.2) to
 * UTF-8 with glibc's iconv.  Conversion never fails: text in a charset
 * iconv does not know, and bytes that are invalid in their charset, are
 * read as UTF-8 where they form valid UTF-8 and as ISO-8859-1 otherwise,
 * so some text always comes out.  Output goes to a struct str, whose
 * maximum bounds it (sticky error, see lib/str.h).
 */

/* Longest charset name looked at; longer names are unknown. */
#define CHARSET_NAME_MAX 64

/*
 * True if name (NUL-terminated) is a charset conversion can use: UTF-8,
 * US-ASCII or anything iconv_open() accepts.  An RFC 2231 language
 * suffix ("utf-8*en") is ignored.
 */
bool charset_is_known(const char *name);

/*
 * Appends data, written in charset (NUL-terminated; NULL or "" means
 * US-ASCII), to out as UTF-8.  Invalid input is replaced as described
 * above, never refused.
 */
void charset_to_utf8(struct str *out, const char *charset, const char *data,
                     size_t len);

/* Appends code point cp as UTF-8 (U+FFFD if it is not a scalar value). */
void charset_utf8_append(struct str *out, uint32_t cp);

/*
 * Decodes one UTF-8 sequence at data[0..len), len > 0.  Returns its length
 * and sets *cp_r; an invalid or truncated sequence (overlong forms and
 * surrogates included) returns 0.
 */
size_t charset_utf8_decode(const unsigned char *data, size_t len,
                           uint32_t *cp_r);

#endif
