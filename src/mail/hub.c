#include "mail/hub.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct hub_worker {
	int event_fd;
	size_t count;  /* ids queued */
	bool overflow; /* some ids were dropped */
	int64_t ids[HUB_QUEUE_MAX];
};

static pthread_mutex_t hub_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hub_worker *hub_workers[HUB_MAX_WORKERS];
static unsigned hub_worker_count;

void
hub_init(void)
{
	hub_worker_count = 0;
}

unsigned
hub_register_worker(int event_fd)
{
	pthread_mutex_lock(&hub_lock);
	i_assert(hub_worker_count < HUB_MAX_WORKERS);
	unsigned slot = hub_worker_count++;
	struct hub_worker *w = xcalloc(1, sizeof(*w));
	w->event_fd = event_fd;
	hub_workers[slot] = w;
	pthread_mutex_unlock(&hub_lock);
	return slot;
}

static bool
hub_queued(const struct hub_worker *w, int64_t mailbox_id)
{
	/* Recent ids are at the end; a burst of deliveries to one mailbox
	 * then costs one queue entry. */
	for (size_t i = w->count; i > 0 && i + 8 > w->count; i--) {
		if (w->ids[i - 1] == mailbox_id)
			return true;
	}
	return false;
}

void
hub_publish(int64_t mailbox_id)
{
	static const uint64_t one = 1;
	pthread_mutex_lock(&hub_lock);
	for (unsigned i = 0; i < hub_worker_count; i++) {
		struct hub_worker *w = hub_workers[i];
		if (hub_queued(w, mailbox_id))
			continue;
		if (w->count < HUB_QUEUE_MAX)
			w->ids[w->count++] = mailbox_id;
		else
			w->overflow = true;
		/* An eventfd write only fails when the counter would
		 * overflow, and then the worker is awake anyway. */
		(void)!write(w->event_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&hub_lock);
}

void
hub_publish_all(void)
{
	static const uint64_t one = 1;
	pthread_mutex_lock(&hub_lock);
	for (unsigned i = 0; i < hub_worker_count; i++) {
		hub_workers[i]->overflow = true;
		(void)!write(hub_workers[i]->event_fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&hub_lock);
}

size_t
hub_take(unsigned slot, int64_t *ids, int *overflow_r)
{
	pthread_mutex_lock(&hub_lock);
	struct hub_worker *w = hub_workers[slot];
	size_t n = w->count;
	memcpy(ids, w->ids, n * sizeof(*ids));
	*overflow_r = w->overflow;
	w->count = 0;
	w->overflow = false;
	pthread_mutex_unlock(&hub_lock);
	return n;
}
