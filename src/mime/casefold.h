#ifndef CASELLA_MIME_CASEFOLD_H
#define CASELLA_MIME_CASEFOLD_H

#include <stddef.h>
#include <stdint.h>

struct str;

/*
 * The comparison form of the i;unicode-casemap collation (RFC 5051 2),
 * which SEARCH uses for its substring matches (RFC 9051 6.4.4).  Two
 * strings are equal under the collation when their forms are byte-equal,
 * and one is a substring of the other when its form is a byte substring.
 *
 * RFC 5051 titlecases each character and then applies Unicode NFKD.  We
 * approximate that:
 * - case: each code point is mapped to upper case and back to lower case
 *   with the C.UTF-8 locale of glibc (towupper_l, towlower_l).  Folding
 *   both sides to lower rather than title case gives the same equalities
 *   for one-to-one mappings; it covers Latin, Greek (final sigma too),
 *   Cyrillic, Armenian, Georgian and the other bicameral scripts.  The
 *   one-to-many mappings are not applied: "ß" stays "ß" (RFC 5051 would
 *   give "Ss", which does not equal "SS" either);
 * - decomposition: precomposed letters of Latin-1, Latin Extended-A/B,
 *   Latin Extended Additional, Greek (with Greek Extended) and Cyrillic
 *   are split into base letter and combining marks (their NFD, from
 *   Unicode 14 data), so "é" and "e" + U+0301 compare equal; combining
 *   marks are kept, as NFKD keeps them ("ecole" is not "école");
 * - compatibility: only the fullwidth ASCII forms, the Latin "ff/fi/fl"
 *   ligatures and no-break and typographic spaces are mapped.
 * Invalid UTF-8 bytes become U+FFFD.
 */

/* Appends the comparison form of UTF-8 data[0..len) to out (which bounds
 * it, sticky error).  The form is at most three times as long. */
void casefold_utf8(struct str *out, const char *data, size_t len);

/* The case-folded code point alone (no decomposition), for tests. */
uint32_t casefold_char(uint32_t cp);

#endif
