#include "mail/indexer.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

/* Bodies per transaction: large enough to share the commit and the FTS
 * segment, small enough that a writer never waits long behind it. */
#define INDEXER_BATCH 32
/* How often to look for bodies stored by other processes. */
#define INDEXER_POLL_MS 2000
/* Indexing waits for this long a pause in changes: on two cores it would
 * halve APPEND throughput, and searches stay correct without it. */
#define INDEXER_QUIET_MS 300
/* ...but never lags a change by more than this. */
#define INDEXER_MAX_LAG_MS 10000
/* Scheduling niceness relative to the workers. */
#define INDEXER_NICE 5

static struct {
	pthread_t thread;
	int event_fd; /* wakes the thread */
	atomic_bool stopping;
	atomic_uint_fast64_t last_change_ms; /* of the last indexer_wake() */
	struct store *store;
	bool running;
} indexer = {.event_fd = -1};

/* Indexes while changes pause (or have waited too long).  Returns how
 * long to wait before looking again, or -1 once the backlog is empty. */
static int
indexer_work(uint64_t *backlog_since_ms)
{
	size_t done = INDEXER_BATCH;
	const char *error;
	while (done == INDEXER_BATCH && !atomic_load(&indexer.stopping)) {
		uint64_t now = now_ms();
		uint64_t quiet = now - atomic_load(&indexer.last_change_ms);
		if (quiet < INDEXER_QUIET_MS &&
		    now - *backlog_since_ms < INDEXER_MAX_LAG_MS)
			return (int)(INDEXER_QUIET_MS - quiet);
		if (store_index_pending(indexer.store, INDEXER_BATCH, &done,
		                        &error) != STORE_OK) {
			log_error("indexer: %s", error);
			return INDEXER_POLL_MS;
		}
	}
	return -1;
}

static void *
indexer_main(void *arg)
{
	(void)arg;
	/* Linux applies a thread's nice value to that thread alone. */
	(void)setpriority(PRIO_PROCESS, 0, INDEXER_NICE);
	uint64_t backlog_since_ms = now_ms();
	while (!atomic_load(&indexer.stopping)) {
		int wait_ms = indexer_work(&backlog_since_ms);
		if (wait_ms < 0)
			wait_ms = INDEXER_POLL_MS;
		struct pollfd pfd = {.fd = indexer.event_fd, .events = POLLIN};
		if (poll(&pfd, 1, wait_ms) > 0) {
			uint64_t value;
			(void)!read(indexer.event_fd, &value, sizeof(value));
		}
		/* The backlog's age counts from the first change after the
		 * index last caught up. */
		if (wait_ms == INDEXER_POLL_MS)
			backlog_since_ms = now_ms();
	}
	return NULL;
}

int
indexer_start(const char *data_dir, const char **error_r)
{
	if (store_open(data_dir, &indexer.store, error_r) != STORE_OK)
		return -1;
	indexer.event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (indexer.event_fd < 0) {
		*error_r = strerror(errno);
		store_close(&indexer.store);
		return -1;
	}
	atomic_store(&indexer.stopping, false);
	if (pthread_create(&indexer.thread, NULL, indexer_main, NULL) != 0) {
		*error_r = "cannot start the indexer thread";
		close(indexer.event_fd);
		indexer.event_fd = -1;
		store_close(&indexer.store);
		return -1;
	}
	indexer.running = true;
	return 0;
}

void
indexer_wake(void)
{
	static const uint64_t one = 1;
	atomic_store(&indexer.last_change_ms, now_ms());
	if (indexer.event_fd >= 0)
		(void)!write(indexer.event_fd, &one, sizeof(one));
}

void
indexer_stop(void)
{
	if (!indexer.running)
		return;
	atomic_store(&indexer.stopping, true);
	indexer_wake();
	pthread_join(indexer.thread, NULL);
	close(indexer.event_fd);
	indexer.event_fd = -1;
	store_close(&indexer.store);
	indexer.running = false;
}
