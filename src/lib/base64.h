#ifndef CASELLA_BASE64_H
#define CASELLA_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Strict RFC 4648 base64 decoding (padding required, no whitespace), as
 * SASL (RFC 4422) needs.  out must have room for base64_decoded_max(len)
 * bytes.  Returns false on any invalid input.
 */
static inline size_t
base64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}
/* The 6-bit value of a base64 alphabet character, or -1. */
int base64_value(unsigned char c);
bool base64_decode(const char *in, size_t len, unsigned char *out,
                   size_t *out_len_r);
/* out needs 4 * ((len + 2) / 3) + 1 bytes; NUL-terminated. */
void base64_encode(const unsigned char *in, size_t len, char *out);

#endif
