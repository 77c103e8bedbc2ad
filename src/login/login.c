/*
 * A login process; see login.h.  One event loop, one struct worker, the
 * IMAP sessions before login; TLS ends here and, for TLS sessions, stays
 * here as a relay (login-proxy.c) after the handover.
 */
#include "login/login.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "imap/client.h"
#include "imap/handover.h"
#include "imap/worker.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/util.h"
#include "login/auth-client.h"
#include "login/login-proxy.h"
#include "login/peer-limit.h"
#include "master/control.h"
#include "master/privsep.h"
#include "net/conn.h"
#include "net/proxy.h"
#include "net/tls.h"

#define LOGIN_TICK_MS 1000
/* How long accepting pauses when descriptors run out. */
#define LOGIN_ACCEPT_PAUSE_MS 1000
/* A handover waits this long for the mail process to take it. */
#define LOGIN_HANDOVER_TIMEOUT_S 2
/* How long a new login process waits for the auth process's hello. */
#define LOGIN_AUTH_WAIT_MS 30000

struct login_listener {
	struct loop_io io;
	bool tls;
};

/* TLS material arriving from the master, one certificate per message. */
struct login_tls_pending {
	char *chain[TLS_MAX_CERTS], *key[TLS_MAX_CERTS];
	size_t chain_len[TLS_MAX_CERTS], key_len[TLS_MAX_CERTS];
	size_t count;
};

struct login {
	const struct server_config *config;
	struct worker worker;
	struct login_listener listeners[SERVER_MAX_LISTEN];
	size_t listener_count;
	int auth_fd;
	struct loop_io signal_io, control_io;
	struct login_tls_pending tls_pending;
	bool accept_paused;
	uint64_t accept_resume_ms, emfile_logged_ms;
	unsigned emfile_count;
	struct peer_limit *peer_limit;
	struct ipc_msg msg;
};

/* The one login of this process. */
static struct login *login_self;

/* --- TLS configuration from the master */

static char *
login_memdup(const void *data, size_t len)
{
	char *copy = xmalloc(len + 1);
	memcpy(copy, data, len);
	copy[len] = '\0';
	return copy;
}

static void
login_tls_pending_clear(struct login_tls_pending *p)
{
	for (size_t i = 0; i < p->count; i++) {
		secure_zero(p->key[i], p->key_len[i]);
		free(p->key[i]);
		free(p->chain[i]);
	}
	p->count = 0;
}

static bool
login_tls_cert(struct login *login, struct ipc_msg *msg)
{
	struct login_tls_pending *p = &login->tls_pending;
	const unsigned char *chain, *key;
	size_t chain_len, key_len;
	if (p->count == TLS_MAX_CERTS ||
	    !ipc_get_bytes(msg, &chain, &chain_len, IPC_MSG_MAX) ||
	    !ipc_get_bytes(msg, &key, &key_len, IPC_MSG_MAX) ||
	    !ipc_get_end(msg))
		return false;
	p->chain[p->count] = login_memdup(chain, chain_len);
	p->chain_len[p->count] = chain_len;
	p->key[p->count] = login_memdup(key, key_len);
	p->key_len[p->count] = key_len;
	p->count++;
	secure_zero((void *)key, key_len);
	return true;
}

/* Builds the configuration the master just sent; a bad one is logged and
 * the old one stays. */
static bool
login_tls_end(struct login *login, struct ipc_msg *msg)
{
	struct login_tls_pending *p = &login->tls_pending;
	const unsigned char *ca, *ticket_key;
	size_t ca_len, ticket_key_len;
	if (!ipc_get_bytes(msg, &ca, &ca_len, IPC_MSG_MAX) ||
	    !ipc_get_bytes(msg, &ticket_key, &ticket_key_len,
	                   TLS_TICKET_KEY_LEN) ||
	    ticket_key_len != TLS_TICKET_KEY_LEN || !ipc_get_end(msg))
		return false;
	struct tls_settings settings = {
	    .cert_count = p->count,
	    .client_ca = ca_len > 0 ? (const char *)ca : NULL,
	    .client_ca_len = ca_len,
	    .client_user = login->config->tls_client_user_email
	                       ? TLS_CLIENT_USER_EMAIL
	                       : TLS_CLIENT_USER_CN,
	    .alpn = "imap",
	};
	memcpy(settings.ticket_key, ticket_key, TLS_TICKET_KEY_LEN);
	for (size_t i = 0; i < p->count; i++)
		settings.certs[i] = (struct tls_cert_pem){
		    p->chain[i], p->chain_len[i], p->key[i], p->key_len[i]};
	const char *error;
	size_t count = p->count;
	struct tls_server *server =
	    count > 0 ? tls_server_create(&settings, &error) : NULL;
	secure_zero(&settings, sizeof(settings));
	secure_zero((void *)ticket_key, ticket_key_len);
	login_tls_pending_clear(p);
	if (server == NULL && count > 0) {
		log_error("login: TLS configuration refused, the previous one "
		          "stays: %s",
		          error);
		return true;
	}
	if (login->worker.tls != NULL)
		log_info("login: TLS configuration reloaded (%zu certificates)",
		         count);
	tls_server_unref(&login->worker.tls);
	login->worker.tls = server;
	return true;
}

static int
login_control_message(void *context, struct ipc_msg *msg)
{
	struct login *login = context;
	bool ok = false;
	if (msg->type == CONTROL_MSG_TLS_CERT)
		ok = login_tls_cert(login, msg);
	else if (msg->type == CONTROL_MSG_TLS_END)
		ok = login_tls_end(login, msg);
	return ok ? 0 : -1;
}

static int
login_setup_fd(void *context, enum control_fd_kind kind, uint32_t index, int fd)
{
	struct login *login = context;
	if (kind == CONTROL_FD_LISTEN && index < login->config->listen_count &&
	    login->listeners[index].io.fd < 0) {
		login->listeners[index].io.fd = fd;
		return 0;
	}
	if (kind == CONTROL_FD_AUTH && login->auth_fd < 0) {
		login->auth_fd = fd;
		return 0;
	}
	if (kind == CONTROL_FD_MAIL && login->worker.mail_fd < 0) {
		login->worker.mail_fd = fd;
		return 0;
	}
	close(fd);
	return -1;
}

/* After start: certificate reloads (SIGHUP at the master). */
static void
login_control(struct loop_io *io, uint32_t events)
{
	struct login *login = io->context;
	int r = ipc_recv(io->fd, &login->msg);
	if (r == 0)
		return;
	if (r < 0 || login->msg.fd >= 0 ||
	    login_control_message(login, &login->msg) < 0) {
		if (login->msg.fd >= 0)
			close(login->msg.fd);
		/* The master is gone or confused: stop. */
		loop_io_remove(login->worker.loop, io);
		loop_stop(login->worker.loop);
	}
}

static bool
login_proxy_trusted(const struct login *login,
                    const struct sockaddr_storage *ss)
{
	for (size_t i = 0; i < login->config->proxy_trusted_count; i++) {
		if (cidr_match(&login->config->proxy_trusted[i], ss))
			return true;
	}
	return false;
}

/* A session starts on conn: TLS first on an implicit-TLS listener. */
static void
login_start_session(struct login *login, struct conn *conn, bool tls,
                    bool proxied_tls)
{
	struct worker *worker = &login->worker;
	if (!peer_limit_take(login->peer_limit, conn->peer.ip)) {
		if (!tls)
			conn_printf(conn, "* BYE [UNAVAILABLE] Too many "
			                  "connections from your address\r\n");
		(void)conn_flush(conn);
		log_info("connection refused peer=%s reason=\"too many from "
		         "this address\"",
		         conn->peer.name);
		conn_close(conn, "too many from this address");
		return;
	}
	struct client *client = client_create(worker, conn);
	client->secured = tls || proxied_tls;
	client_greet(client);
	if (!tls) {
		conn_run(conn);
		return;
	}
	/* The greeting waits for the handshake, which may end it at once
	 * (the ClientHello is often there already). */
	if (worker->tls == NULL || conn_start_tls(conn, worker->tls) < 0)
		client_destroy(client, "no TLS configuration");
}

/* A load balancer's connection: its PROXY header comes first. */
struct login_proxy_wait {
	struct login *login;
	struct conn *conn;
	bool tls;
};

static void
login_proxy_wait_run(void *context)
{
	struct login_proxy_wait *w = context;
	struct conn *conn = w->conn;
	struct proxy_info info;
	size_t consumed;
	int r =
	    proxy_parse(conn->input.data, conn->input.len, &info, &consumed);
	if (r == 0 && conn->input.len < PROXY_HEADER_MAX)
		return;
	if (r <= 0) {
		conn_close(conn, "bad PROXY header");
		return;
	}
	str_consume(&conn->input, consumed);
	if (!info.local)
		conn_peer_describe(&info.src, &conn->peer);
	struct login *login = w->login;
	bool tls = w->tls;
	conn_set_handler(conn, NULL, NULL);
	free(w);
	login_start_session(login, conn, tls, info.ssl);
}

static void
login_proxy_wait_closed(void *context, const char *reason)
{
	struct login_proxy_wait *w = context;
	log_info("connection closed peer=%s reason=\"%s\"", w->conn->peer.name,
	         reason);
	free(w);
}

static void
login_proxy_wait_expire(void *context, enum conn_expiry why)
{
	struct login_proxy_wait *w = context;
	conn_close(w->conn, "no PROXY header in time");
}

static const struct conn_handler login_proxy_wait_handler = {
    .run = login_proxy_wait_run,
    .closed = login_proxy_wait_closed,
    .expire = login_proxy_wait_expire,
};

static void
login_accepted(struct login *login, struct login_listener *listener, int fd,
               const struct sockaddr_storage *ss)
{
	struct worker *worker = &login->worker;
	unsigned per_process =
	    login->config->max_clients / login->config->login_processes;
	if (worker->client_count >= per_process) {
		static const char bye[] =
		    "* BYE [UNAVAILABLE] Too many connections\r\n";
		if (!listener->tls)
			(void)!write(fd, bye, sizeof(bye) - 1);
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct conn_peer peer;
	conn_peer_describe(ss, &peer);
	struct conn *conn = conn_create(worker->conns, fd, &peer);
	if (!login_proxy_trusted(login, ss)) {
		login_start_session(login, conn, listener->tls, false);
		return;
	}
	struct login_proxy_wait *w = xcalloc(1, sizeof(*w));
	*w = (struct login_proxy_wait){login, conn, listener->tls};
	conn_set_handler(conn, &login_proxy_wait_handler, w);
	uint64_t login_ms = (uint64_t)login->config->login_timeout_s * 1000;
	conn_set_timeouts(conn, login_ms, now_ms() + login_ms);
	conn_settle(conn);
}

/* Out of descriptors: stop accepting for a moment rather than spin,
 * log once a minute, and pick up again by ourselves (the kernel queues
 * the connections meanwhile). */
static void
login_accept_pause(struct login *login)
{
	uint64_t now = now_ms();
	login->emfile_count++;
	if (now - login->emfile_logged_ms >= 60000 ||
	    login->emfile_logged_ms == 0) {
		log_warn("accept paused: out of file descriptors (%u times "
		         "since the last message)",
		         login->emfile_count);
		login->emfile_logged_ms = now;
		login->emfile_count = 0;
	}
	login->accept_paused = true;
	login->accept_resume_ms = now + LOGIN_ACCEPT_PAUSE_MS;
	for (size_t i = 0; i < login->listener_count; i++)
		(void)loop_io_update(login->worker.loop,
		                     &login->listeners[i].io, 0);
}

static void
login_accept_resume(struct login *login)
{
	login->accept_paused = false;
	for (size_t i = 0; i < login->listener_count; i++)
		(void)loop_io_update(login->worker.loop,
		                     &login->listeners[i].io, EPOLLIN);
}

static void
login_accept(struct loop_io *io, uint32_t events)
{
	struct login *login = login_self;
	struct login_listener *listener = io->context;
	for (int i = 0; i < 64 && !login->worker.stopping; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(io->fd, (struct sockaddr *)&ss, &len,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			login_accepted(login, listener, fd, &ss);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			login_accept_pause(login);
		else if (errno != EAGAIN && errno != EINTR &&
		         errno != ECONNABORTED)
			log_warn("accept failed: %s", strerror(errno));
		return;
	}
}

/* --- handing sessions over */

static int
login_send_handover(struct login *login, const struct handover *h, int fd)
{
	handover_write(&login->msg, h);
	int r = ipc_send(login->worker.mail_fd, &login->msg, fd);
	secure_zero(login->msg.data, login->msg.len);
	if (r < 0)
		log_error("session=%llx handover failed: %s",
		          (unsigned long long)h->session_id, strerror(errno));
	return r;
}

static void
login_handover_fill(struct client *client, const char *tag, const char *user,
                    const unsigned char *ticket, size_t ticket_len,
                    struct handover *h)
{
	struct conn *conn = client->conn;
	memset(h, 0, sizeof(*h));
	h->session_id = client->id;
	casella_strlcpy(h->user, user, sizeof(h->user));
	if (ticket_len <= sizeof(h->ticket)) {
		memcpy(h->ticket, ticket, ticket_len);
		h->ticket_len = ticket_len;
	}
	casella_strlcpy(h->tag, tag, sizeof(h->tag));
	h->peer = conn->peer;
	h->secured = client->secured;
	/* Commands the client sent after LOGIN go along, unparsed. */
	h->input = (const unsigned char *)conn->input.data;
	h->input_len = conn->input.len;
}

int
login_handover(struct client *client, const char *tag, const char *user,
               const unsigned char *ticket, size_t ticket_len)
{
	struct login *login = login_self;
	struct conn *conn = client->conn;
	struct handover h;
	login_handover_fill(client, tag, user, ticket, ticket_len, &h);
	if (conn->tls == NULL) {
		if (login_send_handover(login, &h, conn->io.fd) < 0)
			return -1;
		client_hand_off(client);
		close(conn_detach(conn));
		return 0;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) < 0) {
		log_error("socketpair: %s", strerror(errno));
		return -1;
	}
	int r = login_send_handover(login, &h, sv[1]);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return -1;
	}
	str_consume(&conn->input, conn->input.len);
	client_hand_off(client);
	struct conn *mail =
	    conn_create(login->worker.conns, sv[0], &conn->peer);
	login_proxy_start(conn, mail, h.session_id);
	return 0;
}

static void
login_client_gone(struct worker *worker, struct client *client)
{
	peer_limit_release(login_self->peer_limit, client->conn->peer.ip);
}

/* --- the process */

static void
login_signal(struct loop_io *io, uint32_t events)
{
	struct login *login = io->context;
	int sig = loop_signal_read(io->fd);
	if (sig == SIGTERM || sig == SIGINT) {
		login->worker.stopping = true;
		loop_stop(login->worker.loop);
	}
}

static void
login_tick(void *context)
{
	struct login *login = context;
	if (login->accept_paused && now_ms() >= login->accept_resume_ms)
		login_accept_resume(login);
	conn_set_tick(login->worker.conns);
}

static void
login_after_batch(void *context)
{
	struct login *login = context;
	conn_set_free_closed(login->worker.conns);
	while (login->worker.graveyard != NULL) {
		struct client *c = login->worker.graveyard;
		login->worker.graveyard = c->free_next;
		client_free(c);
	}
}

static void
login_add_io(struct login *login, struct loop_io *io, int fd,
             loop_io_cb *callback, void *context)
{
	*io = (struct loop_io){
	    .fd = fd, .callback = callback, .context = context};
	if (loop_io_add(login->worker.loop, io, EPOLLIN) < 0)
		fatal("epoll: %m");
}

/* The handover channel blocks for a moment at most: the mail process
 * reads it promptly, and a login must not be lost to a full buffer. */
static void
login_mail_channel_setup(int fd)
{
	struct timeval tv = {.tv_sec = LOGIN_HANDOVER_TIMEOUT_S};
	int flags = fcntl(fd, F_GETFL);
	(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
login_setup(struct login *login, int control, const char **error_r)
{
	const struct server_config *config = login->config;
	for (size_t i = 0; i < SERVER_MAX_LISTEN; i++)
		login->listeners[i].io.fd = -1;
	login->auth_fd = -1;
	login->worker.mail_fd = -1;
	static const struct control_setup_ops ops = {
	    .fd = login_setup_fd, .message = login_control_message};
	if (control_receive_setup(control, &ops, login, error_r) < 0)
		return -1;
	for (size_t i = 0; i < config->listen_count; i++) {
		if (login->listeners[i].io.fd < 0) {
			*error_r = "a listener is missing";
			return -1;
		}
	}
	if (login->auth_fd < 0 || login->worker.mail_fd < 0) {
		*error_r = "a channel is missing";
		return -1;
	}
	return 0;
}

static void
login_start_listening(struct login *login)
{
	const struct server_config *config = login->config;
	for (size_t i = 0; i < config->listen_count; i++) {
		struct login_listener *l = &login->listeners[i];
		l->tls = config->listen[i].tls;
		login_add_io(login, &l->io, l->io.fd, login_accept, l);
		login->listener_count++;
	}
}

static void
login_free(struct login *login)
{
	conn_set_shutdown(login->worker.conns);
	login_after_batch(login);
	for (size_t i = 0; i < SERVER_MAX_LISTEN; i++) {
		if (login->listeners[i].io.fd >= 0)
			close(login->listeners[i].io.fd);
	}
	if (login->worker.mail_fd >= 0)
		close(login->worker.mail_fd);
	if (login->auth_fd >= 0 && login->worker.auth == NULL)
		close(login->auth_fd);
	auth_client_destroy(&login->worker.auth);
	tls_server_unref(&login->worker.tls);
	login_tls_pending_clear(&login->tls_pending);
	conn_set_destroy(&login->worker.conns);
	peer_limit_destroy(&login->peer_limit);
	close(login->signal_io.fd);
	loop_destroy(&login->worker.loop);
	free(login);
	login_self = NULL;
}

/* Everything is received: lock the process up (privsep.h). */
static int
login_cage(const struct server_config *config, const char **error_r)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	/* OpenSSL reads its configuration file once, before the cage. */
	OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL);
	if (geteuid() == 0 &&
	    privsep_user(config->login_user, &uid, &gid, error_r) < 0)
		return -1;
	return privsep_cage_login(uid, gid, error_r);
}

int
login_main(const struct server_config *config, unsigned index, int control)
{
	struct login *login = xcalloc(1, sizeof(*login));
	login_self = login;
	login->config = config;
	struct worker *worker = &login->worker;
	worker->index = index;
	worker->config = config;
	worker->loop = loop_create();
	worker->conns = conn_set_create(worker->loop);
	worker->client_gone = login_client_gone;
	unsigned share =
	    (config->max_preauth_per_ip + config->login_processes - 1) /
	    config->login_processes;
	login->peer_limit = peer_limit_create(share);
	login_add_io(login, &login->signal_io, loop_signal_fd(), login_signal,
	             login);
	const char *error;
	if (login_setup(login, control, &error) < 0 ||
	    login_cage(config, &error) < 0) {
		log_error("login: startup failed: %s", error);
		login_free(login);
		return 1;
	}
	worker->auth = auth_client_create(worker->loop, login->auth_fd);
	if (!auth_client_wait_ready(worker->auth, LOGIN_AUTH_WAIT_MS)) {
		log_error("login: the auth process did not answer");
		login_free(login);
		return 1;
	}
	login_mail_channel_setup(worker->mail_fd);
	login_add_io(login, &login->control_io, control, login_control, login);
	login_start_listening(login);
	loop_set_tick(worker->loop, LOGIN_TICK_MS, login_tick, login);
	loop_set_after_batch(worker->loop, login_after_batch, login);
	loop_run(worker->loop);
	login_free(login);
	return 0;
}
