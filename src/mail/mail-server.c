#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap/client.h"
#include "net/conn.h"
#include "login/auth-client.h"
#include "master/control.h"
#include "imap/view.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/hub.h"
#include "net/indexer.h"
#include "net/worker.h"
#include "store/notify.h"
#include "store/store.h"

/* How often timeouts are checked. */
#define WORKER_TICK_MS 1000

/* Names a peer for logs, throttling and the loopback rule. */
static void
peer_describe(const struct sockaddr_storage *ss, struct conn_peer *peer)
{
	unsigned port = 0;
	casella_strlcpy(peer->ip, "?", sizeof(peer->ip));
	peer->loopback = false;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, peer->ip, sizeof(peer->ip));
		port = ntohs(sin->sin_port);
		peer->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, peer->ip,
		          sizeof(peer->ip));
		port = ntohs(sin6->sin6_port);
		peer->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
	snprintf(peer->name, sizeof(peer->name),
	         ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", peer->ip,
	         port);
}

static void
worker_accept(struct loop_io *io, uint32_t events)
{
	struct worker *worker = io->context;
	for (int i = 0; i < 64 && !worker->stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				log_warn("accept failed: %s", strerror(errno));
			return;
		}
		unsigned per_worker =
		    worker->config->max_clients / worker->config->worker_count;
		if (worker->client_count >= per_worker) {
			static const char bye[] =
			    "* BYE [UNAVAILABLE] Too many connections\r\n";
			(void)!write(fd, bye, sizeof(bye) - 1);
			close(fd);
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct conn_peer peer;
		peer_describe(&ss, &peer);
		struct conn *conn = conn_create(worker->conns, fd, &peer);
		client_greet(client_create(worker, conn));
	}
}

/* Lets every session with a changed mailbox catch up. */
static void
worker_dispatch_changes(struct worker *worker)
{
	int64_t ids[HUB_QUEUE_MAX];
	int overflow;
	size_t n = hub_take(worker->hub_slot, ids, &overflow);
	struct client *next;
	view_share_begin();
	for (struct client *c = worker->clients; c != NULL; c = next) {
		next = c->next;
		if (c->view == NULL)
			continue;
		bool hit = overflow;
		for (size_t i = 0; i < n && !hit; i++)
			hit = ids[i] == c->view->mailbox_id;
		if (hit)
			client_notify_mailbox(c);
	}
	view_share_end();
}

static void
worker_event(struct loop_io *io, uint32_t events)
{
	struct worker *worker = io->context;
	uint64_t value;
	(void)!read(io->fd, &value, sizeof(value));
	if (worker->stopping) {
		loop_stop(worker->loop);
		return;
	}
	worker_dispatch_changes(worker);
}

static void
worker_notify_socket(struct loop_io *io, uint32_t events)
{
	int64_t mailbox_id;
	int r;
	while ((r = notify_receive(io->fd, &mailbox_id)) != 0) {
		if (r > 0)
			hub_publish(mailbox_id);
	}
}

static void
worker_store_changed(void *context, int64_t mailbox_id)
{
	(void)context;
	hub_publish(mailbox_id);
	/* New bodies may wait for the index. */
	indexer_wake();
}

static void
worker_tick(void *context)
{
	struct worker *worker = context;
	conn_set_tick(worker->conns);
}

static void
worker_free_graveyard(void *context)
{
	struct worker *worker = context;
	conn_set_free_closed(worker->conns);
	while (worker->graveyard != NULL) {
		struct client *c = worker->graveyard;
		worker->graveyard = c->free_next;
		client_free(c);
	}
}

/* Says goodbye to every session: RFC 9051 7.1.5 BYE on shutdown. */
static void
worker_close_all(struct worker *worker)
{
	conn_set_shutdown(worker->conns);
	worker_free_graveyard(worker);
}

static void *
worker_main(void *arg)
{
	struct worker *worker = arg;
	loop_run(worker->loop);
	worker_close_all(worker);
	return NULL;
}

/* The descriptors the master hands the mail process. */
struct server_fds {
	const struct server_config *config;
	int listen[SERVER_MAX_LISTEN][WORKER_MAX]; /* -1 if missing */
	int auth[WORKER_MAX];
};

static int
server_setup_fd(void *context, enum control_fd_kind kind, uint32_t index,
                int fd)
{
	struct server_fds *fds = context;
	unsigned workers = fds->config->worker_count;
	int *slot = NULL;
	if (kind == CONTROL_FD_LISTEN &&
	    index < fds->config->listen_count * workers)
		slot = &fds->listen[index / workers][index % workers];
	else if (kind == CONTROL_FD_AUTH && index < workers)
		slot = &fds->auth[index];
	if (slot == NULL || *slot >= 0) {
		close(fd);
		return -1;
	}
	*slot = fd;
	return 0;
}

static int
server_receive_fds(int control, struct server_fds *fds, const char **error_r)
{
	memset(fds->listen, -1, sizeof(fds->listen));
	memset(fds->auth, -1, sizeof(fds->auth));
	static const struct control_setup_ops ops = {.fd = server_setup_fd};
	if (control_receive_setup(control, &ops, fds, error_r) < 0)
		return -1;
	for (unsigned w = 0; w < fds->config->worker_count; w++) {
		for (size_t l = 0; l < fds->config->listen_count; l++) {
			if (fds->listen[l][w] < 0) {
				*error_r = "a listener is missing";
				return -1;
			}
		}
		if (fds->auth[w] < 0) {
			*error_r = "an auth channel is missing";
			return -1;
		}
	}
	return 0;
}

static void
server_close_fds(struct server_fds *fds)
{
	for (unsigned w = 0; w < WORKER_MAX; w++) {
		for (size_t l = 0; l < SERVER_MAX_LISTEN; l++) {
			if (fds->listen[l][w] >= 0)
				close(fds->listen[l][w]);
		}
		if (fds->auth[w] >= 0)
			close(fds->auth[w]);
	}
}

static int
worker_init(struct worker *worker, const struct server_config *config,
            unsigned index, struct server_fds *fds, const char **error_r)
{
	worker->index = index;
	worker->config = config;
	worker->loop = loop_create();
	worker->conns = conn_set_create(worker->loop);
	if (store_open(config->data_dir, &worker->store, error_r) != STORE_OK)
		return -1;
	store_set_change_hook(worker->store, worker_store_changed, worker);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	worker->event_io = (struct loop_io){
	    .fd = efd, .callback = worker_event, .context = worker};
	loop_io_add(worker->loop, &worker->event_io, EPOLLIN);
	worker->hub_slot = hub_register_worker(efd);
	worker->auth = auth_client_create(worker->loop, fds->auth[index]);
	fds->auth[index] = -1;
	for (size_t i = 0; i < config->listen_count; i++) {
		int fd = fds->listen[i][index];
		fds->listen[i][index] = -1;
		worker->listen_io[i] = (struct loop_io){
		    .fd = fd, .callback = worker_accept, .context = worker};
		loop_io_add(worker->loop, &worker->listen_io[i], EPOLLIN);
		worker->listen_count++;
	}
	if (index == 0) {
		int fd = notify_listen(config->data_dir, error_r);
		if (fd < 0)
			return -1;
		worker->notify_io =
		    (struct loop_io){.fd = fd,
		                     .callback = worker_notify_socket,
		                     .context = worker};
		loop_io_add(worker->loop, &worker->notify_io, EPOLLIN);
		worker->has_notify = true;
	}
	loop_set_tick(worker->loop, WORKER_TICK_MS, worker_tick, worker);
	loop_set_after_batch(worker->loop, worker_free_graveyard, worker);
	return 0;
}

static void
worker_deinit(struct worker *worker)
{
	for (size_t i = 0; i < worker->listen_count; i++)
		close(worker->listen_io[i].fd);
	if (worker->has_notify)
		close(worker->notify_io.fd);
	if (worker->event_io.fd > 0)
		close(worker->event_io.fd);
	auth_client_destroy(&worker->auth);
	conn_set_destroy(&worker->conns);
	store_close(&worker->store);
	loop_destroy(&worker->loop);
}

int
server_run(const struct server_config *config, int control)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct server_fds fds = {.config = config};
	const char *setup_error;
	if (server_receive_fds(control, &fds, &setup_error) < 0) {
		log_error("mail: startup failed: %s", setup_error);
		server_close_fds(&fds);
		return 1;
	}
	hub_init();
	const char *index_error;
	if (indexer_start(config->data_dir, &index_error) < 0) {
		log_error("startup failed: indexer: %s", index_error);
		server_close_fds(&fds);
		return 1;
	}
	unsigned count = config->worker_count;
	struct worker *workers = xcalloc(count, sizeof(*workers));
	int ret = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < count; i++) {
		const char *error;
		if (worker_init(&workers[i], config, i, &fds, &error) < 0) {
			log_error("startup failed: %s", error);
			ret = 1;
			count = i + 1;
			goto out;
		}
	}
	for (unsigned i = 0; i < count; i++, started++)
		pthread_create(&workers[i].thread, NULL, worker_main,
		               &workers[i]);

	int sig;
	do {
		sigwait(&signals, &sig);
	} while (sig == SIGHUP);
out:
	server_close_fds(&fds);
	for (unsigned i = 0; i < started; i++) {
		static const uint64_t one = 1;
		workers[i].stopping = true;
		(void)!write(workers[i].event_io.fd, &one, sizeof(one));
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned i = 0; i < count; i++)
		worker_deinit(&workers[i]);
	free(workers);
	indexer_stop();
	return ret;
}
