#include "idmap.h"

#include <stdlib.h>

#include "util.h"

#define IDMAP_MIN_BUCKETS 64

static size_t
idmap_bucket(size_t bucket_count, int64_t key)
{
	/* Fibonacci hashing: ids are dense and sequential, so spread the
	 * high bits of the product over the table. */
	uint64_t h = (uint64_t)key * UINT64_C(0x9E3779B97F4A7C15);
	return (size_t)(h >> 32) & (bucket_count - 1);
}

static void
idmap_link(struct idmap_node **buckets, size_t bucket_count,
           struct idmap_node *node)
{
	struct idmap_node **head =
	    &buckets[idmap_bucket(bucket_count, node->key)];
	node->prev = NULL;
	node->next = *head;
	if (*head != NULL)
		(*head)->prev = node;
	*head = node;
}

/* Doubles the buckets (or makes the first ones) and relinks every node. */
static void
idmap_grow(struct idmap *map)
{
	size_t n =
	    map->bucket_count == 0 ? IDMAP_MIN_BUCKETS : map->bucket_count * 2;
	struct idmap_node **buckets = xcalloc(n, sizeof(*buckets));
	for (size_t i = 0; i < map->bucket_count; i++) {
		struct idmap_node *node = map->buckets[i], *next;
		for (; node != NULL; node = next) {
			next = node->next;
			idmap_link(buckets, n, node);
		}
	}
	free(map->buckets);
	map->buckets = buckets;
	map->bucket_count = n;
}

void
idmap_free(struct idmap *map)
{
	free(map->buckets);
	map->buckets = NULL;
	map->bucket_count = 0;
	map->count = 0;
}

void
idmap_add(struct idmap *map, struct idmap_node *node, int64_t key)
{
	i_assert(!node->linked);
	if (map->count >= map->bucket_count)
		idmap_grow(map);
	node->key = key;
	node->linked = true;
	idmap_link(map->buckets, map->bucket_count, node);
	map->count++;
}

void
idmap_remove(struct idmap *map, struct idmap_node *node)
{
	if (!node->linked)
		return;
	if (node->prev != NULL)
		node->prev->next = node->next;
	else
		map->buckets[idmap_bucket(map->bucket_count, node->key)] =
		    node->next;
	if (node->next != NULL)
		node->next->prev = node->prev;
	node->next = node->prev = NULL;
	node->linked = false;
	map->count--;
}

static struct idmap_node *
idmap_skip(struct idmap_node *node, int64_t key)
{
	while (node != NULL && node->key != key)
		node = node->next;
	return node;
}

struct idmap_node *
idmap_first(const struct idmap *map, int64_t key)
{
	if (map->bucket_count == 0)
		return NULL;
	return idmap_skip(map->buckets[idmap_bucket(map->bucket_count, key)],
	                  key);
}

struct idmap_node *
idmap_next(const struct idmap_node *node)
{
	return idmap_skip(node->next, node->key);
}
