/* The auth process's worker threads; see auth-pool.h. */
#include "auth/auth-pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include "auth/userdb-local.h"
#include "lib/log.h"
#include "lib/util.h"

struct auth_job_queue {
	struct auth_job *head, *tail;
};

struct auth_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct auth_job_queue todo, done;
	bool stopping;
	int done_fd;
	unsigned thread_count; /* threads started */
	struct auth_thread *threads;
	unsigned userdb_count; /* user sources opened */
};

struct auth_thread {
	struct auth_pool *pool;
	pthread_t tid;
	struct userdb *userdb;
};

static void
auth_queue_push(struct auth_job_queue *q, struct auth_job *job)
{
	job->next = NULL;
	if (q->tail != NULL)
		q->tail->next = job;
	else
		q->head = job;
	q->tail = job;
}

static struct auth_job *
auth_queue_pop(struct auth_job_queue *q)
{
	struct auth_job *job = q->head;
	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		job->next = NULL;
	}
	return job;
}

static void
auth_pool_finish(struct auth_pool *pool, struct auth_job *job)
{
	static const uint64_t one = 1;
	pthread_mutex_lock(&pool->lock);
	auth_queue_push(&pool->done, job);
	pthread_mutex_unlock(&pool->lock);
	(void)!write(pool->done_fd, &one, sizeof(one));
}

static void *
auth_pool_thread(void *arg)
{
	struct auth_thread *thread = arg;
	struct auth_pool *pool = thread->pool;
	/* Linux applies nice per thread. */
	(void)setpriority(PRIO_PROCESS, 0, AUTH_POOL_NICE);
	for (;;) {
		pthread_mutex_lock(&pool->lock);
		while (!pool->stopping && pool->todo.head == NULL)
			pthread_cond_wait(&pool->wake, &pool->lock);
		struct auth_job *job =
		    pool->stopping ? NULL : auth_queue_pop(&pool->todo);
		pthread_mutex_unlock(&pool->lock);
		if (job == NULL)
			return NULL;
		job->run(job, thread->userdb);
		auth_pool_finish(pool, job);
	}
}

struct auth_pool *
auth_pool_create(unsigned threads, const char *data_dir, const char **error_r)
{
	struct auth_pool *pool = xcalloc(1, sizeof(*pool));
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->done_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->done_fd < 0)
		fatal("eventfd: %m");
	pool->threads = xcalloc(threads, sizeof(*pool->threads));
	for (unsigned i = 0; i < threads; i++) {
		struct auth_thread *t = &pool->threads[i];
		t->pool = pool;
		t->userdb = userdb_local_open(data_dir, error_r);
		if (t->userdb == NULL) {
			auth_pool_destroy(&pool, NULL);
			return NULL;
		}
		pool->userdb_count++;
	}
	for (unsigned i = 0; i < threads; i++) {
		if (pthread_create(&pool->threads[i].tid, NULL,
		                   auth_pool_thread, &pool->threads[i]) != 0)
			fatal("pthread_create: %m");
		pool->thread_count++;
	}
	return pool;
}

void
auth_pool_destroy(struct auth_pool **pool_p,
                  void (*leftover)(struct auth_job *job))
{
	struct auth_pool *pool = *pool_p;
	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i].tid, NULL);
	struct auth_job *job;
	while ((job = auth_queue_pop(&pool->todo)) != NULL ||
	       (job = auth_queue_pop(&pool->done)) != NULL)
		if (leftover != NULL)
			leftover(job);
	for (unsigned i = 0; i < pool->userdb_count; i++)
		userdb_local_close(&pool->threads[i].userdb);
	close(pool->done_fd);
	pthread_cond_destroy(&pool->wake);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
	*pool_p = NULL;
}

void
auth_pool_submit(struct auth_pool *pool, struct auth_job *job)
{
	pthread_mutex_lock(&pool->lock);
	auth_queue_push(&pool->todo, job);
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

int
auth_pool_done_fd(const struct auth_pool *pool)
{
	return pool->done_fd;
}

struct auth_job *
auth_pool_take_done(struct auth_pool *pool)
{
	uint64_t value;
	pthread_mutex_lock(&pool->lock);
	struct auth_job *job = auth_queue_pop(&pool->done);
	if (pool->done.head == NULL)
		(void)!read(pool->done_fd, &value, sizeof(value));
	pthread_mutex_unlock(&pool->lock);
	return job;
}
