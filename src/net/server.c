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

static int
listen_socket(const struct listen_spec *spec, const char **error_r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, spec->host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(spec->port);
		len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, spec->host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(spec->port);
		len = sizeof(*sin6);
	} else {
		*error_r = "listen address must be a numeric IP address";
		return -1;
	}
	int fd =
	    socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

static void
peer_name(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
	}
	snprintf(buf, size, "%s:%u", host, port);
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
		char peer[64];
		peer_name(&ss, peer, sizeof(peer));
		client_create(worker, fd, peer);
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
	for (struct client *c = worker->oldest; c != NULL; c = next) {
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
	uint64_t now = now_ms();
	uint64_t login_ms = (uint64_t)worker->config->login_timeout_s * 1000;
	uint64_t idle_ms = (uint64_t)worker->config->idle_timeout_s * 1000;
	struct client *next;
	for (struct client *c = worker->oldest; c != NULL; c = next) {
		next = c->next;
		uint64_t age = now - c->last_activity_ms;
		if (age < login_ms && age < idle_ms)
			break; /* the rest are younger */
		bool authed = c->state != CLIENT_STATE_NOT_AUTHENTICATED;
		if (age >= (authed ? idle_ms : login_ms)) {
			client_send(c, "* BYE Autologout; idle too long\r\n");
			(void)!write(c->io.fd, c->output.data, c->output.len);
			client_destroy(c, "idle timeout");
		}
	}
}

static void
worker_free_graveyard(void *context)
{
	struct worker *worker = context;
	while (worker->graveyard != NULL) {
		struct client *c = worker->graveyard;
		worker->graveyard = c->free_next;
		client_free(c);
	}
}

void
worker_client_add(struct worker *worker, struct client *client)
{
	client->last_activity_ms = now_ms();
	client->prev = worker->newest;
	client->next = NULL;
	if (worker->newest != NULL)
		worker->newest->next = client;
	else
		worker->oldest = client;
	worker->newest = client;
	worker->client_count++;
}

void
worker_client_remove(struct worker *worker, struct client *client)
{
	if (client->prev != NULL)
		client->prev->next = client->next;
	else
		worker->oldest = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	else
		worker->newest = client->prev;
	client->prev = client->next = NULL;
	worker->client_count--;
}

void
worker_client_touch(struct worker *worker, struct client *client)
{
	worker_client_remove(worker, client);
	worker_client_add(worker, client);
}

void
worker_client_bury(struct worker *worker, struct client *client)
{
	client->free_next = worker->graveyard;
	worker->graveyard = client;
}

/* Says goodbye to every session: RFC 9051 7.1.5 BYE on shutdown. */
static void
worker_close_all(struct worker *worker)
{
	while (worker->oldest != NULL) {
		struct client *c = worker->oldest;
		if (!c->destroyed && c->bulk == NULL) {
			client_send(c, "* BYE Server shutting down\r\n");
			(void)!write(c->io.fd, c->output.data, c->output.len);
		}
		client_destroy(c, "shutdown");
	}
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

static int
worker_init(struct worker *worker, const struct server_config *config,
            unsigned index, const char **error_r)
{
	worker->index = index;
	worker->config = config;
	worker->loop = loop_create();
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
	for (size_t i = 0; i < config->listen_count; i++) {
		int fd = listen_socket(&config->listen[i], error_r);
		if (fd < 0)
			return -1;
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
	store_close(&worker->store);
	loop_destroy(&worker->loop);
}

int
server_run(const struct server_config *config)
{
	sigset_t signals;
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	hub_init();
	const char *index_error;
	if (indexer_start(config->data_dir, &index_error) < 0) {
		log_error("startup failed: indexer: %s", index_error);
		return 1;
	}
	unsigned count = config->worker_count;
	struct worker *workers = xcalloc(count, sizeof(*workers));
	int ret = 0;
	unsigned started = 0;
	for (unsigned i = 0; i < count; i++) {
		const char *error;
		if (worker_init(&workers[i], config, i, &error) < 0) {
			log_error("startup failed: %s", error);
			ret = 1;
			count = i + 1;
			goto out;
		}
	}
	for (unsigned i = 0; i < count; i++, started++)
		pthread_create(&workers[i].thread, NULL, worker_main,
		               &workers[i]);
	for (size_t i = 0; i < config->listen_count; i++)
		log_info("listening on %s port %u", config->listen[i].host,
		         config->listen[i].port);

	int sig;
	do {
		sigwait(&signals, &sig);
	} while (sig == SIGHUP);
	log_info("signal %d: shutting down", sig);
out:
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
	log_info("stopped");
	return ret;
}
