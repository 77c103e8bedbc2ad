#include "arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct arena_block {
	struct arena_block *next; /* older block, NULL for the first */
	size_t size;              /* usable bytes in data[] */
	size_t used;              /* bytes handed out from data[] */
	max_align_t data[];
};

struct arena {
	struct arena_block *head;  /* current block */
	struct arena_block *first; /* kept across arena_clear() */
	size_t total;              /* bytes in all blocks */
};

static struct arena_block *
arena_block_new(size_t size)
{
	struct arena_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct arena *
arena_create(size_t first_block_size)
{
	struct arena *arena = xcalloc(1, sizeof(*arena));
	if (first_block_size < 256)
		first_block_size = 256;
	arena->first = arena->head = arena_block_new(first_block_size);
	arena->total = first_block_size;
	return arena;
}

void
arena_clear(struct arena *arena)
{
	struct arena_block *b = arena->head;
	while (b != arena->first) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	arena->head = arena->first;
	arena->first->used = 0;
	arena->total = arena->first->size;
}

void
arena_destroy(struct arena **arena_p)
{
	struct arena *arena = *arena_p;
	if (arena == NULL)
		return;
	arena_clear(arena);
	free(arena->first);
	free(arena);
	*arena_p = NULL;
}

void *
arena_alloc(struct arena *arena, size_t size)
{
	const size_t align = sizeof(max_align_t);
	size = (size + align - 1) & ~(align - 1);
	if (size == 0)
		size = align;
	struct arena_block *b = arena->head;
	if (b->size - b->used < size) {
		size_t want = b->size * 2;
		if (want < size)
			want = size;
		b = arena_block_new(want);
		b->next = arena->head;
		arena->head = b;
		arena->total += want;
	}
	void *p = (char *)b->data + b->used;
	b->used += size;
	memset(p, 0, size);
	return p;
}

void *
arena_memdup(struct arena *arena, const void *data, size_t size)
{
	void *p = arena_alloc(arena, size);
	if (size > 0)
		memcpy(p, data, size);
	return p;
}

char *
arena_strndup(struct arena *arena, const char *s, size_t len)
{
	char *p = arena_alloc(arena, len + 1);
	if (len > 0)
		memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
arena_strdup(struct arena *arena, const char *s)
{
	return arena_strndup(arena, s, strlen(s));
}

char *
arena_vprintf(struct arena *arena, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		fatal("arena_vprintf: bad format");
	char *p = arena_alloc(arena, (size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
arena_printf(struct arena *arena, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = arena_vprintf(arena, fmt, ap);
	va_end(ap);
	return p;
}

size_t
arena_used(const struct arena *arena)
{
	return arena->total;
}
