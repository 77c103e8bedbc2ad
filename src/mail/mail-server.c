/*
 * The mail process: the logged-in IMAP sessions, handed over by the
 * login processes (imap/handover.h), on one worker thread per core, each
 * with its own store handle; plus the change hub and the indexer.  It
 * never sees a password: only tickets, which it checks (auth/ticket.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/ticket.h"
#include "imap/client.h"
#include "imap/handover.h"
#include "imap/notify-session.h"
#include "imap/view.h"
#include "imap/worker.h"
#include "lib/idmap.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mail/hub.h"
#include "mail/indexer.h"
#include "mail/user-limit.h"
#include "master/control.h"
#include "master/privsep.h"
#include "net/conn.h"
#include "store/notify.h"
#include "store/store.h"

/* How often timeouts are checked. */
#define WORKER_TICK_MS 1000

/* What every worker shares: the ticket key, the record of used tickets
 * and the sessions per user. */
static unsigned char mail_ticket_key[TICKET_KEY_LEN];
static bool mail_have_key;
static struct ticket_replay *mail_replay;
static struct user_limit *mail_user_limit;

/* Checks a handover's ticket; logs why it is refused. */
static bool
mail_ticket_ok(const struct handover *h)
{
	unsigned char nonce[TICKET_NONCE_LEN];
	const char *why = NULL;
	if (!ticket_check(mail_ticket_key, h->user, h->session_id, h->ticket,
	                  h->ticket_len, nonce))
		why = "bad or expired ticket";
	else if (!ticket_replay_use(mail_replay, nonce))
		why = "ticket used before";
	if (why != NULL)
		log_error("session=%llx handover refused peer=%s reason=\"%s\"",
		          (unsigned long long)h->session_id, h->peer.name, why);
	return why == NULL;
}

/* Answers the LOGIN or AUTHENTICATE that the login process left open. */
static void
mail_welcome(struct worker *worker, struct conn *conn, const struct handover *h)
{
	int64_t user_id;
	const char *error;
	enum store_result r =
	    store_user_lookup(worker->store, h->user, &user_id, &error);
	if (r != STORE_OK) {
		conn_printf(conn, "%s NO %s\r\n", h->tag,
		            r == STORE_NOT_FOUND
		                ? "[AUTHENTICATIONFAILED] Authentication failed"
		                : "[UNAVAILABLE] Try again later");
		conn_close_after_output(conn, "user not in the mail store");
		conn_settle(conn);
		return;
	}
	if (!user_limit_take(mail_user_limit, h->user)) {
		conn_printf(conn,
		            "%s NO [LIMIT] Too many connections for this "
		            "user\r\n* BYE Too many connections\r\n",
		            h->tag);
		conn_close_after_output(conn, "too many sessions of the user");
		conn_settle(conn);
		return;
	}
	struct client *client = client_create_authenticated(
	    worker, conn, h->session_id, user_id, h->user, h->secured);
	str_append(&conn->input, h->input, h->input_len);
	client_send(client, "%s OK [CAPABILITY %s] Logged in\r\n", h->tag,
	            client_capabilities(client));
	log_info("session=%llx login user=\"%s\" peer=%s",
	         (unsigned long long)h->session_id, client->username,
	         conn->peer.name);
	conn_run(conn);
}

static void
mail_handover(struct worker *worker, struct ipc_msg *msg)
{
	struct handover h;
	int fd = msg->fd;
	msg->fd = -1;
	if (fd < 0 || !handover_read(msg, &h)) {
		log_error("handover refused: malformed message");
		if (fd >= 0)
			close(fd);
		return;
	}
	if (!mail_ticket_ok(&h)) {
		close(fd);
		return;
	}
	struct conn *conn = conn_create(worker->conns, fd, &h.peer);
	mail_welcome(worker, conn, &h);
}

static void
mail_handover_io(struct loop_io *io, uint32_t events)
{
	struct worker *worker = io->context;
	static _Thread_local struct ipc_msg msg;
	for (int i = 0; i < 64 && !worker->stopping; i++) {
		int r = ipc_recv(io->fd, &msg);
		if (r == 0)
			return;
		if (r < 0) {
			log_error("a login process's channel closed");
			loop_io_remove(worker->loop, io);
			return;
		}
		mail_handover(worker, &msg);
		if (msg.fd >= 0)
			close(msg.fd);
	}
}

static void
mail_client_gone(struct worker *worker, struct client *client)
{
	if (client->username != NULL)
		user_limit_release(mail_user_limit, client->username);
}

#define CLIENT_OF(node, member)                                                \
	((struct client *)((char *)(node)-offsetof(struct client, member)))

/* Puts a session on this round's list, once. */
static void
worker_queue_wake(struct worker *worker, struct client *c)
{
	if (c->wake_queued || c->destroyed)
		return;
	c->wake_queued = true;
	c->wake_next = worker->wake_list;
	worker->wake_list = c;
}

/* Tells a NOTIFY session of its user's change (RFC 5465 5); false if
 * it need not hear of it. */
static bool
worker_note_notify(struct client *c, const struct hub_event *ev)
{
	switch (ev->kind) {
	case HUB_MESSAGES:
		/* 5: its own changes need not come back to it. */
		if (ev->origin == c->id)
			return false;
		notify_session_note_mailbox(c->notify, ev->mailbox_id);
		return true;
	case HUB_MAILBOXES:
		notify_session_note_mailboxes(c->notify);
		return true;
	case HUB_SUBSCRIPTION:
		notify_session_note_subscriptions(c->notify);
		return true;
	}
	return false;
}

/* Marks the sessions one change concerns: those with the mailbox
 * selected, and those of its user with NOTIFY. */
static void
worker_route(struct worker *worker, const struct hub_event *ev)
{
	struct idmap_node *node;
	if (ev->kind != HUB_SUBSCRIPTION) {
		for (node = idmap_first(&worker->by_mailbox, ev->mailbox_id);
		     node != NULL; node = idmap_next(node)) {
			struct client *c = CLIENT_OF(node, mailbox_node);
			c->mailbox_changed = true;
			worker_queue_wake(worker, c);
		}
	}
	if (ev->user_id == 0)
		return;
	for (node = idmap_first(&worker->by_user, ev->user_id); node != NULL;
	     node = idmap_next(node)) {
		struct client *c = CLIENT_OF(node, user_node);
		if (worker_note_notify(c, ev))
			worker_queue_wake(worker, c);
	}
}

/* Changes were lost to the queue limit: everyone rechecks everything. */
static void
worker_route_all(struct worker *worker)
{
	for (struct client *c = worker->clients; c != NULL; c = c->next) {
		if (c->view != NULL)
			c->mailbox_changed = true;
		if (c->notify != NULL)
			notify_session_note_all(c->notify);
		if (c->view != NULL || c->notify != NULL)
			worker_queue_wake(worker, c);
	}
}

/* Lets the sessions a round of changes concerns catch up, each once. */
static void
worker_dispatch_changes(struct worker *worker)
{
	static _Thread_local struct hub_event events[HUB_QUEUE_MAX];
	int overflow;
	size_t n = hub_take(worker->hub_slot, events, &overflow);
	if (overflow)
		worker_route_all(worker);
	for (size_t i = 0; i < n && !overflow; i++)
		worker_route(worker, &events[i]);
	view_share_begin();
	struct client *c;
	while ((c = worker->wake_list) != NULL) {
		worker->wake_list = c->wake_next;
		c->wake_next = NULL;
		c->wake_queued = false;
		client_wake(c);
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

/* Mailbox owners never change and ids are never reused, so a datagram's
 * mailbox id is mapped to its user through this cache (worker 0 only). */
#define MAIL_OWNER_CACHE 256
static struct {
	int64_t mailbox_id, user_id;
} mail_owner_cache[MAIL_OWNER_CACHE];

static int64_t
worker_mailbox_owner(struct worker *worker, int64_t mailbox_id)
{
	size_t slot = (size_t)((uint64_t)mailbox_id % MAIL_OWNER_CACHE);
	if (mail_owner_cache[slot].mailbox_id == mailbox_id)
		return mail_owner_cache[slot].user_id;
	int64_t user_id;
	const char *error;
	/* Gone already: the sessions that had it selected still hear. */
	if (store_mailbox_owner(worker->store, mailbox_id, &user_id, &error) !=
	    STORE_OK)
		return 0;
	mail_owner_cache[slot].mailbox_id = mailbox_id;
	mail_owner_cache[slot].user_id = user_id;
	return user_id;
}

/* Another process (`casella deliver`, the LMTP server) changed messages
 * of a mailbox and sent its id (store/notify.h). */
static void
worker_notify_socket(struct loop_io *io, uint32_t events)
{
	struct worker *worker = io->context;
	int64_t mailbox_id;
	int r;
	while ((r = notify_receive(io->fd, &mailbox_id)) != 0) {
		if (r < 0)
			continue;
		if (mailbox_id == NOTIFY_ALL) {
			hub_publish_all();
			continue;
		}
		struct hub_event ev = {
		    .kind = HUB_MESSAGES,
		    .user_id = worker_mailbox_owner(worker, mailbox_id),
		    .mailbox_id = mailbox_id,
		};
		hub_publish(&ev);
	}
	/* Another process stored bodies that may wait for the index. */
	indexer_wake();
}

static void
worker_store_changed(void *context, const struct store_change *change)
{
	struct worker *worker = context;
	static const enum hub_kind kinds[] = {
	    [STORE_CHANGE_MESSAGES] = HUB_MESSAGES,
	    [STORE_CHANGE_CREATED] = HUB_MAILBOXES,
	    [STORE_CHANGE_DELETED] = HUB_MAILBOXES,
	    [STORE_CHANGE_RENAMED] = HUB_MAILBOXES,
	    [STORE_CHANGE_SUBSCRIPTION] = HUB_SUBSCRIPTION,
	};
	struct hub_event ev = {
	    .kind = kinds[change->kind],
	    .user_id = change->user_id,
	    .mailbox_id = change->mailbox_id,
	    .origin = worker->origin,
	};
	hub_publish(&ev);
	/* New bodies may wait for the index. */
	if (change->kind != STORE_CHANGE_SUBSCRIPTION)
		indexer_wake();
}

static void
worker_tick(void *context)
{
	struct worker *worker = context;
	conn_set_tick(worker->conns);
	client_keepalive_tick(worker, now_ms());
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
	int handover[WORKER_MAX]; /* one per login process, -1 if missing */
};

static int
server_setup_fd(void *context, enum control_fd_kind kind, uint32_t index,
                int fd)
{
	struct server_fds *fds = context;
	if (kind != CONTROL_FD_HANDOVER ||
	    index >= fds->config->login_processes ||
	    fds->handover[index] >= 0) {
		close(fd);
		return -1;
	}
	fds->handover[index] = fd;
	return 0;
}

static int
server_setup_key(void *context, const unsigned char *key, size_t len)
{
	if (len != TICKET_KEY_LEN)
		return -1;
	memcpy(mail_ticket_key, key, len);
	mail_have_key = true;
	return 0;
}

static int
server_receive_fds(int control, struct server_fds *fds, const char **error_r)
{
	memset(fds->handover, -1, sizeof(fds->handover));
	static const struct control_setup_ops ops = {.fd = server_setup_fd,
	                                             .key = server_setup_key};
	if (control_receive_setup(control, &ops, fds, error_r) < 0)
		return -1;
	for (unsigned l = 0; l < fds->config->login_processes; l++) {
		if (fds->handover[l] < 0) {
			*error_r = "a handover channel is missing";
			return -1;
		}
	}
	if (!mail_have_key) {
		*error_r = "no ticket key";
		return -1;
	}
	return 0;
}

static void
server_close_fds(struct server_fds *fds)
{
	for (unsigned l = 0; l < WORKER_MAX; l++) {
		if (fds->handover[l] >= 0)
			close(fds->handover[l]);
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
	worker->client_gone = mail_client_gone;
	/* Login process l hands its sessions to worker l mod workers. */
	for (unsigned l = index; l < config->login_processes;
	     l += config->worker_count) {
		struct loop_io *io =
		    &worker->handover_io[worker->handover_count++];
		*io = (struct loop_io){.fd = fds->handover[l],
		                       .callback = mail_handover_io,
		                       .context = worker};
		fds->handover[l] = -1;
		loop_io_add(worker->loop, io, EPOLLIN);
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
	for (size_t i = 0; i < worker->handover_count; i++)
		close(worker->handover_io[i].fd);
	if (worker->has_notify)
		close(worker->notify_io.fd);
	if (worker->event_io.fd > 0)
		close(worker->event_io.fd);
	idmap_free(&worker->by_mailbox);
	idmap_free(&worker->by_user);
	conn_set_destroy(&worker->conns);
	store_close(&worker->store);
	loop_destroy(&worker->loop);
}

/* The mail process's shared state and environment, once it is in its
 * data directory as its user. */
static void
server_prepare(const struct server_config *config)
{
	mail_replay = ticket_replay_create();
	mail_user_limit = user_limit_create(config->max_per_user);
	hub_init();
	store_use_private_tmp(config->data_dir);
}

/* Opens every worker's store, cages the process (its files now exist),
 * then starts the indexer and the workers: threads started after the
 * cage are caged too.  *started_r counts running workers; *count_r the
 * initialised ones.  Returns 0 or -1 (logged). */
static int
server_start(const struct server_config *config, struct worker *workers,
             struct server_fds *fds, unsigned *count_r, unsigned *started_r)
{
	const char *error = NULL;
	for (unsigned i = 0; i < config->worker_count; i++) {
		*count_r = i + 1;
		if (worker_init(&workers[i], config, i, fds, &error) < 0)
			goto fail;
	}
	if (privsep_cage_mail(config->data_dir, &error) < 0 ||
	    indexer_start(config->data_dir, &error) < 0)
		goto fail;
	for (unsigned i = 0; i < *count_r; i++, (*started_r)++)
		pthread_create(&workers[i].thread, NULL, worker_main,
		               &workers[i]);
	return 0;
fail:
	log_error("startup failed: %s", error);
	return -1;
}

/* Asks the workers to say goodbye, joins them, frees everything. */
static void
server_stop(struct worker *workers, unsigned count, unsigned started)
{
	for (unsigned i = 0; i < started; i++) {
		static const uint64_t one = 1;
		workers[i].stopping = true;
		(void)!write(workers[i].event_io.fd, &one, sizeof(one));
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	for (unsigned i = 0; i < count; i++)
		worker_deinit(&workers[i]);
	indexer_stop();
	ticket_replay_destroy(&mail_replay);
	user_limit_destroy(&mail_user_limit);
	secure_zero(mail_ticket_key, sizeof(mail_ticket_key));
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
	struct server_config local;
	if (server_receive_fds(control, &fds, &setup_error) < 0 ||
	    privsep_enter_data_dir(config, &local, &setup_error) < 0) {
		log_error("mail: startup failed: %s", setup_error);
		server_close_fds(&fds);
		return 1;
	}
	config = &local;
	server_prepare(config);
	struct worker *workers =
	    xcalloc(config->worker_count, sizeof(*workers));
	unsigned count = 0, started = 0;
	int ret = server_start(config, workers, &fds, &count, &started);
	int sig;
	while (ret == 0 && sigwait(&signals, &sig) == 0 && sig == SIGHUP)
		;
	server_close_fds(&fds);
	server_stop(workers, count, started);
	free(workers);
	return ret < 0 ? 1 : 0;
}
