#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void
fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("casella: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);
	if (p == NULL)
		fatal("out of memory allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (p == NULL)
		fatal("out of memory allocating %zu*%zu bytes", n, size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size == 0 ? 1 : size);
	if (q == NULL)
		fatal("out of memory reallocating %zu bytes", size);
	return q;
}

char *
xstrdup(const char *s)
{
	size_t len = strlen(s);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len + 1);
	return p;
}

size_t
casella_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (size > 0) {
		size_t n = len < size - 1 ? len : size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

size_t
casella_strlcat(char *dst, const char *src, size_t size)
{
	size_t dlen = strnlen(dst, size);
	if (dlen == size)
		return size + strlen(src);
	return dlen + casella_strlcpy(dst + dlen, src, size - dlen);
}

bool
parse_u64(const char *s, size_t len, uint64_t max, uint64_t *value_r)
{
	if (len == 0)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*value_r = v;
	return true;
}

bool
parse_u32(const char *s, size_t len, uint32_t *value_r)
{
	uint64_t v;
	if (!parse_u64(s, len, UINT32_MAX, &v))
		return false;
	*value_r = (uint32_t)v;
	return true;
}

int
hex_digit_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

bool
mem_case_eq(const char *s, size_t len, const char *cstr)
{
	return strlen(cstr) == len && strncasecmp(s, cstr, len) == 0;
}

void
secure_zero(void *p, size_t len)
{
	volatile unsigned char *v = p;
	while (len-- > 0)
		*v++ = 0;
}

uint64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
str_hash(const char *s, uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return h;
}
