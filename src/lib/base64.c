#include "base64.h"

#include <stdint.h>

static const char base64_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool
base64_decode(const char *in, size_t len, unsigned char *out, size_t *out_len_r)
{
	size_t o = 0;
	if (len % 4 != 0)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = in[i + k];
			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (pad > 0 || (v[k] = base64_value(
			                           (unsigned char)c)) < 0) {
				return false;
			}
		}
		uint32_t n = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
		             (uint32_t)v[2] << 6 | (uint32_t)v[3];
		out[o++] = (unsigned char)(n >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(n >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)n;
	}
	*out_len_r = o;
	return true;
}

void
base64_encode(const unsigned char *in, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t n = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			n |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < len)
			n |= in[i + 2];
		out[o++] = base64_chars[(n >> 18) & 63];
		out[o++] = base64_chars[(n >> 12) & 63];
		out[o++] = i + 1 < len ? base64_chars[(n >> 6) & 63] : '=';
		out[o++] = i + 2 < len ? base64_chars[n & 63] : '=';
	}
	out[o] = '\0';
}
