#ifndef CASELLA_IMAP_MUTF7_H
#define CASELLA_IMAP_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/*
 * Modified UTF-7 for mailbox names (RFC 3501 5.1.3), and strict UTF-8
 * validation.  Results are NUL-terminated and allocated from arena; they
 * live as long as the arena.  Inputs are (ptr, len) and may hold NULs.
 */

/*
 * Decodes len bytes of modified UTF-7 into UTF-8.  "&-" is "&".  Returns
 * NULL unless the input is valid, canonical modified UTF-7, so that each
 * name has exactly one encoding.  Rejected: bytes outside 0x20..0x7e,
 * bad or unterminated base64 ("&..." without "-"), non-zero padding bits
 * or a whole spare sextet, a shift sequence that encodes printable ASCII
 * ("&AGE-" for "a"), two shift sequences back to back ("&AOQ-&APY-"
 * for "&AOQA9g-"), unpaired UTF-16 surrogates, and U+0000 (the result
 * is a C string).
 */
char *mutf7_to_utf8(struct arena *arena, const char *in, size_t len);

/*
 * Encodes len bytes of UTF-8 as modified UTF-7.  The input must be valid
 * UTF-8 (see utf8_valid()); the caller checks first, invalid input is our
 * bug and asserts.  Every code point is encoded, U+0000 included, so
 * mutf7_to_utf8() inverts this for input without NULs.
 */
char *utf8_to_mutf7(struct arena *arena, const char *in, size_t len);

/*
 * Strict UTF-8 check (RFC 3629): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences.
 * NUL bytes are valid UTF-8; callers that forbid them check separately.
 */
bool utf8_valid(const char *s, size_t len);

#endif
