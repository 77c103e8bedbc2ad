#include "mail/hub.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

struct hub_worker {
	int event_fd;
	size_t count;  /* changes queued */
	bool overflow; /* some changes were dropped */
	struct hub_event events[HUB_QUEUE_MAX];
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

/* Folds event into a recent queued change of the same kind and place;
 * a burst of deliveries to one mailbox then costs one queue entry.  The
 * merged change's origin is unknown unless both had the same. */
static bool
hub_coalesce(struct hub_worker *w, const struct hub_event *event)
{
	for (size_t i = w->count; i > 0 && i + 8 > w->count; i--) {
		struct hub_event *q = &w->events[i - 1];
		if (q->kind == event->kind && q->user_id == event->user_id &&
		    q->mailbox_id == event->mailbox_id) {
			if (q->origin != event->origin)
				q->origin = 0;
			return true;
		}
	}
	return false;
}

void
hub_publish(const struct hub_event *event)
{
	static const uint64_t one = 1;
	pthread_mutex_lock(&hub_lock);
	for (unsigned i = 0; i < hub_worker_count; i++) {
		struct hub_worker *w = hub_workers[i];
		if (hub_coalesce(w, event))
			continue;
		if (w->count < HUB_QUEUE_MAX)
			w->events[w->count++] = *event;
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
hub_take(unsigned slot, struct hub_event *events, int *overflow_r)
{
	pthread_mutex_lock(&hub_lock);
	struct hub_worker *w = hub_workers[slot];
	size_t n = w->count;
	memcpy(events, w->events, n * sizeof(*events));
	*overflow_r = w->overflow;
	w->count = 0;
	w->overflow = false;
	pthread_mutex_unlock(&hub_lock);
	return n;
}
