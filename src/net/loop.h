#ifndef CASELLA_LOOP_H
#define CASELLA_LOOP_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One epoll event loop per worker thread.  Callers own struct loop_io (it
 * lives inside their connection object) and keep it registered while the
 * fd is open.  Callbacks run on the loop's thread only.
 */
struct loop;
struct loop_io;

typedef void loop_io_cb(struct loop_io *io, uint32_t events);
typedef void loop_tick_cb(void *context);

struct loop_io {
	int fd;
	uint32_t events; /* EPOLLIN/EPOLLOUT currently asked for */
	loop_io_cb *callback;
	void *context;
};

struct loop *loop_create(void);
void loop_destroy(struct loop **loop);

/* Registers io (fd, callback, context set by the caller) for events. */
int loop_io_add(struct loop *loop, struct loop_io *io, uint32_t events);
/* Changes the event mask; a no-op if it is unchanged. */
int loop_io_update(struct loop *loop, struct loop_io *io, uint32_t events);
void loop_io_remove(struct loop *loop, struct loop_io *io);

/* Calls tick every interval_ms (roughly) for timeouts. */
void loop_set_tick(struct loop *loop, unsigned interval_ms, loop_tick_cb *tick,
                   void *context);
/* Calls after after every batch of events: the place to free objects
 * whose destruction was deferred so that no later event in the same batch
 * sees freed memory. */
void loop_set_after_batch(struct loop *loop, loop_tick_cb *after,
                          void *context);
/* Blocks SIGTERM, SIGINT and SIGHUP for this thread (and the threads it
 * starts), ignores SIGPIPE, and returns a non-blocking signalfd for the
 * three, to register as any other descriptor. */
int loop_signal_fd(void);
/* Reads one signal from such a descriptor: its number, or 0. */
int loop_signal_read(int fd);

/* Runs until loop_stop() is called from a callback on this thread. */
void loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

#endif
