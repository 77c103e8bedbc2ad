#ifndef CASELLA_IDMAP_H
#define CASELLA_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A hash multimap from 64-bit ids to caller-owned nodes, intrusive like
 * the kernel's hlist: a struct embeds a struct idmap_node per map it can
 * be in, and the map never allocates per entry.  Many nodes may share a
 * key (every session with one mailbox selected); finding them costs the
 * length of one bucket chain.  Adding and removing are O(1) (adding
 * doubles the bucket array now and then).  Not thread-safe: one map
 * belongs to one worker.
 */

struct idmap_node {
	int64_t key;
	struct idmap_node *next, *prev; /* bucket chain */
	bool linked;                    /* in a map now */
};

struct idmap {
	struct idmap_node **buckets; /* NULL until the first add */
	size_t bucket_count;         /* a power of two, or 0 */
	size_t count;                /* nodes linked */
};

/* A zeroed struct idmap is an empty map; idmap_free() releases it (the
 * nodes are the caller's, and are left as they are). */
void idmap_free(struct idmap *map);
/* Links node under key; it must not be linked yet. */
void idmap_add(struct idmap *map, struct idmap_node *node, int64_t key);
/* Unlinks node if it is linked; otherwise does nothing. */
void idmap_remove(struct idmap *map, struct idmap_node *node);
/* The first node with key, or NULL; then idmap_next() until NULL.  The
 * map must not change during the walk. */
struct idmap_node *idmap_first(const struct idmap *map, int64_t key);
struct idmap_node *idmap_next(const struct idmap_node *node);

#endif
