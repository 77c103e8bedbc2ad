/*
 * The LMTP process (docs/security.md): the mail transfer agent's door
 * into the store.  It runs as the store's user, caged like the mail
 * process (it never reads DATA/auth), with one event loop per worker
 * thread; each thread accepts on every listener (EPOLLEXCLUSIVE wakes
 * one of them per connection) and owns its sessions and store handle.
 */
#include "lmtp/lmtp-server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lmtp/lmtp-session.h"
#include "master/control.h"
#include "master/privsep.h"
#include "net/conn.h"
#include "net/loop.h"
#include "store/notify.h"
#include "store/store.h"

#define LMTP_TICK_MS 1000
/* Out of descriptors: how long accepting pauses. */
#define LMTP_ACCEPT_PAUSE_MS 1000
#define LMTP_UNSENT_MAX      64

struct lmtp_thread;

struct lmtp_listener {
	struct loop_io io;
	struct lmtp_thread *thread;
	bool is_unix;
	bool registered;
};

struct lmtp_thread {
	pthread_t thread;
	const struct server_config *config;
	struct loop *loop;
	struct conn_set *conns;
	struct store *store;
	struct lmtp_context ctx;
	struct loop_io stop_io; /* eventfd */
	bool stopping;
	struct lmtp_listener listeners[SERVER_MAX_LISTEN];
	size_t listener_count;
	uint64_t resume_ms; /* accepting paused until then; 0: not */
	/* Changes the mail process did not take yet (its queue was full),
	 * sent again each tick; past the room, one NOTIFY_ALL. */
	struct notifier notifier; /* to the mail process */
	int64_t unsent[LMTP_UNSENT_MAX];
	size_t unsent_count;
	bool unsent_all;
};

static char lmtp_hostname[256];

static void
lmtp_listeners_set(struct lmtp_thread *t, bool on)
{
	for (size_t i = 0; i < t->listener_count; i++) {
		struct lmtp_listener *l = &t->listeners[i];
		if (on && !l->registered)
			l->registered =
			    loop_io_add(t->loop, &l->io,
			                EPOLLIN | EPOLLEXCLUSIVE) == 0;
		else if (!on && l->registered) {
			loop_io_remove(t->loop, &l->io);
			l->registered = false;
		}
	}
}

static void
lmtp_accepted(struct lmtp_thread *t, struct lmtp_listener *l, int fd,
              const struct sockaddr_storage *ss)
{
	struct conn_peer peer;
	conn_peer_describe(ss, &peer);
	if (!l->is_unix) {
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	log_info("lmtp connect peer=%s", peer.name);
	struct conn *conn = conn_create(t->conns, fd, &peer);
	lmtp_session_start(conn, &t->ctx);
}

static void
lmtp_accept(struct loop_io *io, uint32_t events)
{
	struct lmtp_listener *l = io->context;
	struct lmtp_thread *t = l->thread;
	for (int i = 0; i < 64 && !t->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		memset(&ss, 0, sizeof(ss));
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			lmtp_accepted(t, l, fd, &ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			log_warn("lmtp: accept paused: %s", strerror(errno));
			t->resume_ms = now_ms() + LMTP_ACCEPT_PAUSE_MS;
			lmtp_listeners_set(t, false);
		} else if (errno != EAGAIN && errno != EINTR &&
		           errno != ECONNABORTED) {
			log_warn("lmtp: accept failed: %s", strerror(errno));
		}
		return;
	}
}

static void
lmtp_unsent_add(struct lmtp_thread *t, int64_t mailbox_id)
{
	for (size_t i = 0; i < t->unsent_count; i++) {
		if (t->unsent[i] == mailbox_id)
			return;
	}
	if (t->unsent_count < LMTP_UNSENT_MAX)
		t->unsent[t->unsent_count++] = mailbox_id;
	else
		t->unsent_all = true;
}

/* Sends what is waiting; keeps what the mail process cannot take yet. */
static void
lmtp_unsent_flush(struct lmtp_thread *t)
{
	if (t->unsent_all) {
		if (notifier_send(&t->notifier, NOTIFY_ALL) < 0)
			return;
		t->unsent_all = false;
		t->unsent_count = 0;
	}
	size_t kept = 0;
	for (size_t i = 0; i < t->unsent_count; i++) {
		if (notifier_send(&t->notifier, t->unsent[i]) < 0)
			t->unsent[kept++] = t->unsent[i];
	}
	t->unsent_count = kept;
}

/* A committed change: the mail process wakes the sessions watching.  A
 * notice it could not take is kept and sent again: never lost. */
static void
lmtp_store_changed(void *context, const struct store_change *change)
{
	struct lmtp_thread *t = context;
	int64_t mailbox_id = change->mailbox_id;
	if (mailbox_id == 0)
		return; /* NOTIFY_ALL is not what a subscription change means */
	lmtp_unsent_flush(t);
	if (t->unsent_count > 0 || t->unsent_all ||
	    notifier_send(&t->notifier, mailbox_id) < 0)
		lmtp_unsent_add(t, mailbox_id);
}

static void
lmtp_tick(void *context)
{
	struct lmtp_thread *t = context;
	conn_set_tick(t->conns);
	lmtp_unsent_flush(t);
	if (t->resume_ms != 0 && now_ms() >= t->resume_ms) {
		t->resume_ms = 0;
		lmtp_listeners_set(t, true);
	}
}

static void
lmtp_after_batch(void *context)
{
	struct lmtp_thread *t = context;
	lmtp_context_flush(&t->ctx);
	conn_set_free_closed(t->conns);
}

static void
lmtp_stop_event(struct loop_io *io, uint32_t events)
{
	struct lmtp_thread *t = io->context;
	uint64_t value;
	(void)!read(io->fd, &value, sizeof(value));
	t->stopping = true;
	loop_stop(t->loop);
}

static void *
lmtp_thread_main(void *arg)
{
	struct lmtp_thread *t = arg;
	loop_run(t->loop);
	lmtp_listeners_set(t, false);
	/* 421 to every session (RFC 5321 3.8), then free them. */
	conn_set_shutdown(t->conns);
	conn_set_free_closed(t->conns);
	return NULL;
}

static int
lmtp_thread_init(struct lmtp_thread *t, const struct server_config *config,
                 const int *fds, const char **error_r)
{
	t->config = config;
	notifier_init(&t->notifier, config->data_dir);
	t->loop = loop_create();
	t->conns = conn_set_create(t->loop);
	if (store_open(config->data_dir, &t->store, error_r) != STORE_OK)
		return -1;
	store_set_change_hook(t->store, lmtp_store_changed, t);
	t->ctx = (struct lmtp_context){.store = t->store,
	                               .settings = &config->delivery,
	                               .max_size = config->max_message_size,
	                               .hostname = lmtp_hostname};
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	t->stop_io = (struct loop_io){
	    .fd = efd, .callback = lmtp_stop_event, .context = t};
	loop_io_add(t->loop, &t->stop_io, EPOLLIN);
	t->listener_count = config->lmtp_listen_count;
	for (size_t i = 0; i < t->listener_count; i++)
		t->listeners[i] = (struct lmtp_listener){
		    .io = {.fd = fds[i],
		           .callback = lmtp_accept,
		           .context = &t->listeners[i]},
		    .thread = t,
		    .is_unix = config->lmtp_listen[i].is_unix};
	lmtp_listeners_set(t, true);
	loop_set_tick(t->loop, LMTP_TICK_MS, lmtp_tick, t);
	loop_set_after_batch(t->loop, lmtp_after_batch, t);
	return 0;
}

static void
lmtp_thread_deinit(struct lmtp_thread *t)
{
	if (t->stop_io.fd > 0)
		close(t->stop_io.fd);
	if (t->conns != NULL)
		conn_set_destroy(&t->conns);
	store_close(&t->store);
	notifier_close(&t->notifier);
	if (t->loop != NULL)
		loop_destroy(&t->loop);
}

/* The listeners the master sent: index = --lmtp-listen position. */
struct lmtp_fds {
	const struct server_config *config;
	int fd[SERVER_MAX_LISTEN];
};

static int
lmtp_setup_fd(void *context, enum control_fd_kind kind, uint32_t index, int fd)
{
	struct lmtp_fds *fds = context;
	if (kind != CONTROL_FD_LISTEN ||
	    index >= fds->config->lmtp_listen_count || fds->fd[index] >= 0) {
		close(fd);
		return -1;
	}
	fds->fd[index] = fd;
	return 0;
}

static int
lmtp_receive_fds(int control, struct lmtp_fds *fds, const char **error_r)
{
	memset(fds->fd, -1, sizeof(fds->fd));
	static const struct control_setup_ops ops = {.fd = lmtp_setup_fd};
	if (control_receive_setup(control, &ops, fds, error_r) < 0)
		return -1;
	for (size_t i = 0; i < fds->config->lmtp_listen_count; i++) {
		if (fds->fd[i] < 0) {
			*error_r = "a listener is missing";
			return -1;
		}
	}
	return 0;
}

static void
lmtp_close_fds(struct lmtp_fds *fds)
{
	for (size_t i = 0; i < SERVER_MAX_LISTEN; i++) {
		if (fds->fd[i] >= 0)
			close(fds->fd[i]);
	}
}

/* Opens every thread's store, cages the process, starts the threads. */
static int
lmtp_start(const struct server_config *config, struct lmtp_thread *threads,
           const int *fds, unsigned *count_r, unsigned *started_r)
{
	const char *error = NULL;
	for (unsigned i = 0; i < config->lmtp_threads; i++) {
		*count_r = i + 1;
		if (lmtp_thread_init(&threads[i], config, fds, &error) < 0)
			goto fail;
	}
	if (privsep_cage_mail(config->data_dir, &error) < 0)
		goto fail;
	for (unsigned i = 0; i < *count_r; i++, (*started_r)++)
		pthread_create(&threads[i].thread, NULL, lmtp_thread_main,
		               &threads[i]);
	return 0;
fail:
	log_error("lmtp: startup failed: %s", error);
	return -1;
}

static void
lmtp_stop(struct lmtp_thread *threads, unsigned count, unsigned started)
{
	static const uint64_t one = 1;
	for (unsigned i = 0; i < started; i++)
		(void)!write(threads[i].stop_io.fd, &one, sizeof(one));
	for (unsigned i = 0; i < started; i++)
		pthread_join(threads[i].thread, NULL);
	for (unsigned i = 0; i < count; i++)
		lmtp_thread_deinit(&threads[i]);
}

int
lmtp_main(const struct server_config *config, int control)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (gethostname(lmtp_hostname, sizeof(lmtp_hostname) - 1) < 0)
		casella_strlcpy(lmtp_hostname, "localhost",
		                sizeof(lmtp_hostname));

	struct lmtp_fds fds = {.config = config};
	struct server_config local;
	const char *error;
	if (lmtp_receive_fds(control, &fds, &error) < 0 ||
	    privsep_enter_data_dir(config, &local, &error) < 0) {
		log_error("lmtp: startup failed: %s", error);
		lmtp_close_fds(&fds);
		return 1;
	}
	config = &local;
	store_use_private_tmp(config->data_dir);
	struct lmtp_thread *threads =
	    xcalloc(config->lmtp_threads, sizeof(*threads));
	unsigned count = 0, started = 0;
	int ret = lmtp_start(config, threads, fds.fd, &count, &started);
	int sig;
	while (ret == 0 && sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		;
	lmtp_stop(threads, count, started);
	lmtp_close_fds(&fds);
	free(threads);
	return ret < 0 ? 1 : 0;
}
