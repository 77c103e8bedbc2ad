#include "str.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
str_init(struct str *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void
str_free(struct str *s)
{
	free(s->data);
	s->data = NULL;
	s->len = s->cap = 0;
	s->overflow = false;
}

void
str_reset(struct str *s)
{
	s->len = 0;
	s->overflow = false;
	if (s->data != NULL)
		s->data[0] = '\0';
}

void
str_shrink(struct str *s, size_t keep)
{
	str_reset(s);
	if (s->cap > keep) {
		free(s->data);
		s->data = NULL;
		s->cap = 0;
	}
}

/* Makes room for extra more bytes plus the NUL; false if over max. */
static bool
str_reserve(struct str *s, size_t extra)
{
	if (s->overflow)
		return false;
	if (extra > s->max || s->len > s->max - extra) {
		s->overflow = true;
		return false;
	}
	size_t need = s->len + extra + 1;
	if (need <= s->cap)
		return true;
	size_t cap = s->cap < 64 ? 64 : s->cap;
	while (cap < need)
		cap *= 2;
	s->data = xrealloc(s->data, cap);
	s->cap = cap;
	return true;
}

void
str_append(struct str *s, const void *data, size_t len)
{
	if (!str_reserve(s, len))
		return;
	if (len > 0)
		memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

void
str_prepend(struct str *s, const void *data, size_t len)
{
	if (len == 0 || !str_reserve(s, len))
		return;
	memmove(s->data + len, s->data, s->len + 1);
	memcpy(s->data, data, len);
	s->len += len;
}

void
str_append_cstr(struct str *s, const char *cstr)
{
	str_append(s, cstr, strlen(cstr));
}

void
str_append_char(struct str *s, char c)
{
	str_append(s, &c, 1);
}

void
str_vprintf(struct str *s, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0 || !str_reserve(s, (size_t)n))
		return;
	vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
	s->len += (size_t)n;
}

void
str_printf(struct str *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(s, fmt, ap);
	va_end(ap);
}

void
str_consume(struct str *s, size_t n)
{
	if (n >= s->len) {
		str_reset(s);
		return;
	}
	memmove(s->data, s->data + n, s->len - n);
	s->len -= n;
	s->data[s->len] = '\0';
}
