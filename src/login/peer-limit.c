/* Pre-login connections per address; see peer-limit.h. */
#include "login/peer-limit.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

#define PEER_LIMIT_SLOTS 8192

struct peer_limit_slot {
	char ip[64];
	unsigned count;
};

struct peer_limit {
	unsigned max_per_ip;
	uint64_t seed;
	struct peer_limit_slot *slots;
};

struct peer_limit *
peer_limit_create(unsigned max_per_ip)
{
	struct peer_limit *pl = xcalloc(1, sizeof(*pl));
	pl->max_per_ip = max_per_ip;
	pl->seed = now_ms() ^ (uintptr_t)pl;
	pl->slots = xcalloc(PEER_LIMIT_SLOTS, sizeof(*pl->slots));
	return pl;
}

void
peer_limit_destroy(struct peer_limit **pl_p)
{
	struct peer_limit *pl = *pl_p;
	if (pl == NULL)
		return;
	free(pl->slots);
	free(pl);
	*pl_p = NULL;
}

static bool
peer_limit_exempt(const char *ip)
{
	return strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0;
}

static struct peer_limit_slot *
peer_limit_slot(struct peer_limit *pl, const char *ip)
{
	return &pl->slots[str_hash(ip, pl->seed) % PEER_LIMIT_SLOTS];
}

bool
peer_limit_take(struct peer_limit *pl, const char *ip)
{
	if (peer_limit_exempt(ip))
		return true;
	struct peer_limit_slot *slot = peer_limit_slot(pl, ip);
	if (slot->count == 0)
		casella_strlcpy(slot->ip, ip, sizeof(slot->ip));
	if (slot->count >= pl->max_per_ip)
		return false;
	slot->count++;
	return true;
}

void
peer_limit_release(struct peer_limit *pl, const char *ip)
{
	if (peer_limit_exempt(ip))
		return;
	struct peer_limit_slot *slot = peer_limit_slot(pl, ip);
	if (slot->count > 0)
		slot->count--;
}
