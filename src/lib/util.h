#ifndef CASELLA_UTIL_H
#define CASELLA_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define N_ELEMENTS(a) (sizeof(a) / sizeof((a)[0]))

/* Always-on assertion: a failed one is our bug, so we stop. */
#define i_assert(expr)                                                         \
	do {                                                                   \
		if (!(expr))                                                   \
			fatal("assertion failed: %s (%s:%d)", #expr, __FILE__, \
			      __LINE__);                                       \
	} while (0)

void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Allocation that aborts on failure (inputs are bounded; OOM is a bug). */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* BSD strlcpy/strlcat: return the length they tried to create. */
size_t casella_strlcpy(char *dst, const char *src, size_t size);
size_t casella_strlcat(char *dst, const char *src, size_t size);

/*
 * Parse an unsigned decimal of exactly len bytes (no sign, no spaces).
 * Returns false on empty input, a non-digit, or a value above max.
 */
bool parse_u64(const char *s, size_t len, uint64_t max, uint64_t *value_r);
bool parse_u32(const char *s, size_t len, uint32_t *value_r);

/* Value of a hexadecimal digit (either case), or -1. */
int hex_digit_value(unsigned char c);

/* ASCII case-insensitive compare of (ptr,len) against a C string. */
bool mem_case_eq(const char *s, size_t len, const char *cstr);

/* FNV-1a of a C string, mixed with seed: for the fixed-size tables of
 * counters (a per-process random seed keeps their slots unpredictable). */
uint64_t str_hash(const char *s, uint64_t seed);

/* Wipes memory holding a secret; not optimised away. */
void secure_zero(void *p, size_t len);

/* Monotonic milliseconds. */
uint64_t now_ms(void);

#endif
