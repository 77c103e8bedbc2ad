/* Sessions per user; see user-limit.h. */
#include "mail/user-limit.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/util.h"

#define USER_LIMIT_SLOTS 16384

struct user_limit {
	pthread_mutex_t lock;
	unsigned max_per_user;
	uint64_t seed;
	unsigned *counts;
};

struct user_limit *
user_limit_create(unsigned max_per_user)
{
	struct user_limit *ul = xcalloc(1, sizeof(*ul));
	pthread_mutex_init(&ul->lock, NULL);
	ul->max_per_user = max_per_user;
	ul->seed = now_ms() ^ (uintptr_t)ul;
	ul->counts = xcalloc(USER_LIMIT_SLOTS, sizeof(*ul->counts));
	return ul;
}

void
user_limit_destroy(struct user_limit **ul_p)
{
	struct user_limit *ul = *ul_p;
	if (ul == NULL)
		return;
	pthread_mutex_destroy(&ul->lock);
	free(ul->counts);
	free(ul);
	*ul_p = NULL;
}

static unsigned *
user_limit_slot(struct user_limit *ul, const char *user)
{
	return &ul->counts[str_hash(user, ul->seed) % USER_LIMIT_SLOTS];
}

bool
user_limit_take(struct user_limit *ul, const char *user)
{
	pthread_mutex_lock(&ul->lock);
	unsigned *count = user_limit_slot(ul, user);
	bool ok = *count < ul->max_per_user;
	if (ok)
		(*count)++;
	pthread_mutex_unlock(&ul->lock);
	return ok;
}

void
user_limit_release(struct user_limit *ul, const char *user)
{
	pthread_mutex_lock(&ul->lock);
	unsigned *count = user_limit_slot(ul, user);
	if (*count > 0)
		(*count)--;
	pthread_mutex_unlock(&ul->lock);
}
