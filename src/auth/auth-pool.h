#ifndef CASELLA_AUTH_POOL_H
#define CASELLA_AUTH_POOL_H

#include "auth/userdb.h"

/*
 * The auth process's worker threads.  Everything that may take time
 * (password hashing, a Kerberos replay cache, an HTTP token check) runs
 * here, never on the event loop: a storm of logins cannot stall anyone.
 * The threads run at a lower priority (nice AUTH_POOL_NICE), so on a
 * busy machine the mail process's sessions go first.  Each thread has
 * its own user source handle.
 */
#define AUTH_POOL_NICE 10

struct auth_job;
typedef void auth_job_func(struct auth_job *job, struct userdb *userdb);

/* Callers embed a job in their own object; the pool owns it from submit
 * until it comes back from auth_pool_take_done(). */
struct auth_job {
	auth_job_func *run; /* called on a pool thread */
	struct auth_job *next;
};

struct auth_pool;

/* Starts threads, each with a user source opened on data_dir.  Returns
 * NULL with *error_r if a source cannot be opened. */
struct auth_pool *auth_pool_create(unsigned threads, const char *data_dir,
                                   const char **error_r);
/* Stops and joins the threads, then gives every job it still holds
 * (queued or finished) to leftover, to be freed. */
void auth_pool_destroy(struct auth_pool **pool,
                       void (*leftover)(struct auth_job *job));

void auth_pool_submit(struct auth_pool *pool, struct auth_job *job);
/* An eventfd that is readable while finished jobs wait. */
int auth_pool_done_fd(const struct auth_pool *pool);
/* The next finished job, oldest first, or NULL. */
struct auth_job *auth_pool_take_done(struct auth_pool *pool);

#endif
