#ifndef CASELLA_ARENA_H
#define CASELLA_ARENA_H

#include <stdarg.h>
#include <stddef.h>

/*
 * A bump allocator for objects that share one lifetime (a connection, a
 * command).  Memory comes zeroed and is released all at once by
 * arena_clear() or arena_destroy(); code that allocates from an arena never
 * calls free().  Out of memory aborts: every input is bounded, so running
 * out is not a code path.
 */
struct arena;

struct arena *arena_create(size_t first_block_size);
/* Frees everything allocated so far but keeps the first block for reuse. */
void arena_clear(struct arena *arena);
void arena_destroy(struct arena **arena);

void *arena_alloc(struct arena *arena, size_t size);
void *arena_memdup(struct arena *arena, const void *data, size_t size);
/* Copies len bytes and appends a NUL. */
char *arena_strndup(struct arena *arena, const char *s, size_t len);
char *arena_strdup(struct arena *arena, const char *s);
char *arena_printf(struct arena *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *arena, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Bytes currently held, for limits and benchmarks. */
size_t arena_used(const struct arena *arena);

#define arena_new(arena, type) ((type *)arena_alloc((arena), sizeof(type)))
#define arena_new_array(arena, type, n)                                        \
	((type *)arena_alloc((arena), sizeof(type) * (n)))

#endif
