#ifndef CASELLA_STR_H
#define CASELLA_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * A growable byte string with a hard maximum and a sticky error, after
 * SQLite's StrAccum: append freely, check str_failed() once at the end.
 * Data is always NUL-terminated (the NUL is not counted in len) but may
 * hold NULs itself.  Heap-backed; str_free() releases it.
 */
struct str {
	char *data;    /* NULL until the first append */
	size_t len;    /* bytes used, excluding the trailing NUL */
	size_t cap;    /* bytes allocated */
	size_t max;    /* appends past this many bytes fail */
	bool overflow; /* set once an append did not fit */
};

void str_init(struct str *s, size_t max);
void str_free(struct str *s);
/* Empties the string but keeps its memory (and clears the error). */
void str_reset(struct str *s);
/* Empties the string and gives back memory beyond keep bytes. */
void str_shrink(struct str *s, size_t keep);

void str_append(struct str *s, const void *data, size_t len);
/* Inserts data before the current contents (a memmove of them). */
void str_prepend(struct str *s, const void *data, size_t len);
void str_append_cstr(struct str *s, const char *cstr);
void str_append_char(struct str *s, char c);
void str_printf(struct str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void str_vprintf(struct str *s, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Removes the first n bytes. */
void str_consume(struct str *s, size_t n);

static inline bool
str_failed(const struct str *s)
{
	return s->overflow;
}

#endif
