#include "net/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <stdlib.h>
#include <unistd.h>

#include "util.h"

#define LOOP_MAX_EVENTS 256

struct loop {
	int epoll_fd;
	bool stopping;
	unsigned tick_interval_ms; /* 0: no tick */
	uint64_t next_tick_ms;     /* monotonic time of the next tick */
	loop_tick_cb *tick;
	void *tick_context;
	loop_tick_cb *after_batch;
	void *after_batch_context;
};

struct loop *
loop_create(void)
{
	struct loop *loop = xcalloc(1, sizeof(*loop));
	loop->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epoll_fd < 0)
		fatal("epoll_create1: %m");
	return loop;
}

void
loop_destroy(struct loop **loop_p)
{
	struct loop *loop = *loop_p;
	if (loop == NULL)
		return;
	close(loop->epoll_fd);
	free(loop);
	*loop_p = NULL;
}

int
loop_io_add(struct loop *loop, struct loop_io *io, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = io};
	io->events = events;
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_ADD, io->fd, &ev);
}

int
loop_io_update(struct loop *loop, struct loop_io *io, uint32_t events)
{
	if (io->events == events)
		return 0;
	struct epoll_event ev = {.events = events, .data.ptr = io};
	io->events = events;
	return epoll_ctl(loop->epoll_fd, EPOLL_CTL_MOD, io->fd, &ev);
}

void
loop_io_remove(struct loop *loop, struct loop_io *io)
{
	(void)epoll_ctl(loop->epoll_fd, EPOLL_CTL_DEL, io->fd, NULL);
}

void
loop_set_tick(struct loop *loop, unsigned interval_ms, loop_tick_cb *tick,
              void *context)
{
	loop->tick_interval_ms = interval_ms;
	loop->tick = tick;
	loop->tick_context = context;
	loop->next_tick_ms = now_ms() + interval_ms;
}

void
loop_set_after_batch(struct loop *loop, loop_tick_cb *after, void *context)
{
	loop->after_batch = after;
	loop->after_batch_context = context;
}

static int
loop_timeout_ms(struct loop *loop)
{
	if (loop->tick == NULL)
		return -1;
	uint64_t now = now_ms();
	if (now >= loop->next_tick_ms)
		return 0;
	return (int)(loop->next_tick_ms - now);
}

void
loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];
	loop->stopping = false;
	while (!loop->stopping) {
		int n = epoll_wait(loop->epoll_fd, events, LOOP_MAX_EVENTS,
		                   loop_timeout_ms(loop));
		if (n < 0 && errno != EINTR)
			fatal("epoll_wait: %m");
		for (int i = 0; i < n && !loop->stopping; i++) {
			struct loop_io *io = events[i].data.ptr;
			io->callback(io, events[i].events);
		}
		if (loop->tick != NULL && now_ms() >= loop->next_tick_ms) {
			loop->next_tick_ms = now_ms() + loop->tick_interval_ms;
			loop->tick(loop->tick_context);
		}
		if (loop->after_batch != NULL)
			loop->after_batch(loop->after_batch_context);
	}
}

void
loop_stop(struct loop *loop)
{
	loop->stopping = true;
}

int
loop_signal_fd(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		fatal("signalfd: %m");
	return fd;
}

int
loop_signal_read(int fd)
{
	struct signalfd_siginfo si;
	if (read(fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}
