/* Throttling of failed authentication; see throttle.h. */
#include "auth/throttle.h"

#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

/* Keys are hashed with a per-process random seed, so an attacker cannot
 * aim names at one slot to push others out. */
#define THROTTLE_KEY_MAX 160
#define THROTTLE_PROBE   8   /* slots looked at per lookup */
#define THROTTLE_ONE     256 /* fixed point: one failure */

struct throttle_entry {
	char key[THROTTLE_KEY_MAX]; /* "" = free */
	uint32_t fails;             /* failures x THROTTLE_ONE, decaying */
	uint64_t updated_ms;        /* when fails was last decayed */
	uint64_t next_ms;           /* earliest next attempt, when limited */
};

struct throttle_table {
	struct throttle_entry *slots;
	unsigned free_fails; /* failures allowed before limiting */
};

struct throttle {
	struct throttle_table ip, user, pair;
	uint64_t seed;
};

static void
throttle_table_init(struct throttle_table *table, unsigned free_fails)
{
	table->slots = xcalloc(THROTTLE_SLOTS, sizeof(*table->slots));
	table->free_fails = free_fails;
}

struct throttle *
throttle_create(void)
{
	struct throttle *t = xcalloc(1, sizeof(*t));
	throttle_table_init(&t->ip, THROTTLE_IP_FREE);
	throttle_table_init(&t->user, THROTTLE_USER_FREE);
	throttle_table_init(&t->pair, THROTTLE_PAIR_FREE);
	t->seed = now_ms() ^ ((uint64_t)(uintptr_t)t << 16);
	return t;
}

void
throttle_destroy(struct throttle **t_p)
{
	struct throttle *t = *t_p;
	if (t == NULL)
		return;
	free(t->ip.slots);
	free(t->user.slots);
	free(t->pair.slots);
	free(t);
	*t_p = NULL;
}

/* Halves fails for every half-life since the last update. */
static void
throttle_decay(struct throttle_entry *e, uint64_t now)
{
	uint64_t halvings = (now - e->updated_ms) / THROTTLE_HALF_LIFE_MS;
	e->fails = halvings >= 32 ? 0 : e->fails >> halvings;
	e->updated_ms += halvings * THROTTLE_HALF_LIFE_MS;
}

/* The entry for key, or a recycled one (the least recently updated of
 * the probed slots). */
static struct throttle_entry *
throttle_lookup(const struct throttle *t, struct throttle_table *table,
                const char *key, uint64_t now)
{
	uint64_t h = str_hash(key, t->seed);
	struct throttle_entry *victim = NULL;
	for (unsigned i = 0; i < THROTTLE_PROBE; i++) {
		struct throttle_entry *e =
		    &table->slots[(h + i) % THROTTLE_SLOTS];
		if (strcmp(e->key, key) == 0) {
			throttle_decay(e, now);
			return e;
		}
		if (victim == NULL || e->updated_ms < victim->updated_ms)
			victim = e;
	}
	memset(victim, 0, sizeof(*victim));
	casella_strlcpy(victim->key, key, sizeof(victim->key));
	victim->updated_ms = now;
	return victim;
}

/* The wait after an attempt by a limited key: one second at the
 * threshold, doubling per failure beyond it. */
static uint64_t
throttle_interval(const struct throttle_table *table,
                  const struct throttle_entry *e)
{
	unsigned fails = e->fails / THROTTLE_ONE;
	if (fails < table->free_fails)
		return 0;
	unsigned over = fails - table->free_fails;
	return over >= 6 ? THROTTLE_MAX_INTERVAL_MS : 1000ULL << over;
}

uint64_t
throttle_admit(struct throttle *t, const char *ip, uint64_t now)
{
	if (ip == NULL)
		return now;
	struct throttle_entry *e = throttle_lookup(t, &t->ip, ip, now);
	uint64_t interval = throttle_interval(&t->ip, e);
	if (interval == 0)
		return now;
	uint64_t start = e->next_ms > now ? e->next_ms : now;
	e->next_ms = start + interval;
	return start;
}

static void
throttle_pair_key(const char *ip, const char *user, char *key, size_t size)
{
	casella_strlcpy(key, ip, size);
	casella_strlcat(key, " ", size);
	casella_strlcat(key, user, size);
}

/* Counts a failure and schedules the key's next attempt after at. */
static void
throttle_fail(struct throttle_table *table, struct throttle_entry *e,
              uint64_t at)
{
	if (e->fails < UINT32_MAX - THROTTLE_ONE)
		e->fails += THROTTLE_ONE;
	uint64_t interval = throttle_interval(table, e);
	if (interval != 0)
		e->next_ms = at + interval;
}

/* The answer's time and the bookkeeping for a named user. */
static uint64_t
throttle_finish_user(struct throttle *t, const char *ip, const char *user,
                     bool success, uint64_t now)
{
	char pair_key[THROTTLE_KEY_MAX];
	throttle_pair_key(ip != NULL ? ip : "trusted", user, pair_key,
	                  sizeof(pair_key));
	struct throttle_entry *pair =
	    throttle_lookup(t, &t->pair, pair_key, now);
	struct throttle_entry *u = throttle_lookup(t, &t->user, user, now);
	uint64_t at = now;
	if (throttle_interval(&t->pair, pair) != 0 && pair->next_ms > at)
		at = pair->next_ms;
	if (throttle_interval(&t->user, u) != 0 && u->next_ms > at)
		at = u->next_ms;
	if (success) {
		/* The owner is here: forget the pair's failures. */
		pair->fails = 0;
		return at;
	}
	throttle_fail(&t->pair, pair, at);
	throttle_fail(&t->user, u, at);
	if (throttle_interval(&t->user, u) > THROTTLE_USER_INTERVAL_MS)
		u->next_ms = at + THROTTLE_USER_INTERVAL_MS;
	return at;
}

uint64_t
throttle_finish(struct throttle *t, const char *ip, const char *user,
                bool success, uint64_t now)
{
	uint64_t at = user[0] != '\0'
	                  ? throttle_finish_user(t, ip, user, success, now)
	                  : now;
	if (ip == NULL)
		return at;
	struct throttle_entry *e = throttle_lookup(t, &t->ip, ip, now);
	if (success) {
		/* And the address earns some trust back. */
		e->fails = e->fails > 4 * THROTTLE_ONE
		               ? e->fails - 4 * THROTTLE_ONE
		               : 0;
	} else {
		throttle_fail(&t->ip, e, now);
	}
	return at;
}
