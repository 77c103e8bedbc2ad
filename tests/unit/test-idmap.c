/* Tests for src/lib/idmap.c. */
#include <stddef.h>
#include <stdlib.h>

#include "idmap.h"
#include "test.h"
#include "util.h"

struct item {
	int id;
	struct idmap_node node;
};

#define ITEM_OF(n) ((struct item *)((char *)(n)-offsetof(struct item, node)))

static size_t
count_key(const struct idmap *map, int64_t key, int *sum_r)
{
	size_t n = 0;
	*sum_r = 0;
	for (struct idmap_node *node = idmap_first(map, key); node != NULL;
	     node = idmap_next(node)) {
		test_assert(node->key == key);
		*sum_r += ITEM_OF(node)->id;
		n++;
	}
	return n;
}

static void
test_empty(void)
{
	struct idmap map = {0};
	int sum;
	test_assert(idmap_first(&map, 1) == NULL);
	test_assert(count_key(&map, 0, &sum) == 0);
	struct item it = {.id = 1};
	idmap_remove(&map, &it.node); /* not linked: nothing */
	idmap_free(&map);
}

static void
test_shared_keys(void)
{
	struct idmap map = {0};
	enum { N = 5000 };
	struct item *items = xcalloc(N, sizeof(*items));
	/* Grows past several bucket sizes; keys 0..9 each shared. */
	for (int i = 0; i < N; i++) {
		items[i].id = i;
		idmap_add(&map, &items[i].node, i % 10);
	}
	test_assert(map.count == N);
	int sum;
	test_assert(count_key(&map, 3, &sum) == N / 10);
	test_assert(sum == (N / 10) * 3 + 10 * ((N / 10) * (N / 10 - 1) / 2));
	test_assert(count_key(&map, 10, &sum) == 0);
	/* Remove every other node of key 3, and one twice. */
	for (int i = 3; i < N; i += 20)
		idmap_remove(&map, &items[i].node);
	idmap_remove(&map, &items[3].node);
	test_assert(count_key(&map, 3, &sum) == N / 20);
	test_assert(map.count == N - N / 20);
	/* A removed node can be added again under another key. */
	idmap_add(&map, &items[3].node, -7);
	test_assert(count_key(&map, -7, &sum) == 1 && sum == 3);
	for (int i = 0; i < N; i++)
		idmap_remove(&map, &items[i].node);
	test_assert(map.count == 0);
	test_assert(idmap_first(&map, 3) == NULL);
	idmap_free(&map);
	free(items);
}

static void
test_large_keys(void)
{
	struct idmap map = {0};
	struct item a = {.id = 1}, b = {.id = 2};
	idmap_add(&map, &a.node, INT64_MAX);
	idmap_add(&map, &b.node, INT64_MIN);
	int sum;
	test_assert(count_key(&map, INT64_MAX, &sum) == 1 && sum == 1);
	test_assert(count_key(&map, INT64_MIN, &sum) == 1 && sum == 2);
	idmap_free(&map);
}

static const struct test_case cases[] = {
    {"empty", test_empty},
    {"shared keys", test_shared_keys},
    {"large keys", test_large_keys},
};

int
main(void)
{
	return test_run("idmap", cases, N_ELEMENTS(cases));
}
