/* Connections, whatever protocol runs on them; see conn.h. */
#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "net/proxy.h"
#include "net/tls.h"

/* Input the buffer may hold: a long line being assembled and one more
 * read's worth. */
#define CONN_INPUT_MAX (96 * 1024)
/* Reads of data TLS already decrypted, per settle, at most. */
#define CONN_TLS_PENDING_ROUNDS 16

struct conn_set {
	struct loop *loop;
	struct conn *all;               /* every open connection */
	struct conn *oldest, *newest;   /* with an idle timeout, by activity */
	struct conn *dl_head, *dl_tail; /* with a deadline, soonest first */
	struct conn *graveyard;
	size_t count;
	uint64_t min_idle_ms; /* shortest idle timeout in use, 0: none */
};

static void conn_io(struct loop_io *io, uint32_t events);

/* --- the set */

struct conn_set *
conn_set_create(struct loop *loop)
{
	struct conn_set *set = xcalloc(1, sizeof(*set));
	set->loop = loop;
	return set;
}

void
conn_set_destroy(struct conn_set **set_p)
{
	struct conn_set *set = *set_p;
	if (set == NULL)
		return;
	i_assert(set->count == 0);
	conn_set_free_closed(set);
	free(set);
	*set_p = NULL;
}

size_t
conn_set_count(const struct conn_set *set)
{
	return set->count;
}

static void
conn_activity_unlink(struct conn *conn)
{
	struct conn_set *set = conn->set;
	if (conn->prev == NULL && set->oldest != conn)
		return; /* not in the list */
	if (conn->prev != NULL)
		conn->prev->next = conn->next;
	else
		set->oldest = conn->next;
	if (conn->next != NULL)
		conn->next->prev = conn->prev;
	else
		set->newest = conn->prev;
	conn->prev = conn->next = NULL;
}

static void
conn_activity_append(struct conn *conn)
{
	struct conn_set *set = conn->set;
	conn->prev = set->newest;
	conn->next = NULL;
	if (set->newest != NULL)
		set->newest->next = conn;
	else
		set->oldest = conn;
	set->newest = conn;
}

static void
conn_deadline_unlink(struct conn *conn)
{
	struct conn_set *set = conn->set;
	if (conn->dl_prev == NULL && set->dl_head != conn)
		return;
	if (conn->dl_prev != NULL)
		conn->dl_prev->dl_next = conn->dl_next;
	else
		set->dl_head = conn->dl_next;
	if (conn->dl_next != NULL)
		conn->dl_next->dl_prev = conn->dl_prev;
	else
		set->dl_tail = conn->dl_prev;
	conn->dl_prev = conn->dl_next = NULL;
}

/* Deadlines are mostly "now + the same timeout", so the right place is
 * almost always the tail. */
static void
conn_deadline_insert(struct conn *conn)
{
	struct conn_set *set = conn->set;
	struct conn *after = set->dl_tail;
	while (after != NULL && after->deadline_ms > conn->deadline_ms)
		after = after->dl_prev;
	conn->dl_prev = after;
	conn->dl_next = after != NULL ? after->dl_next : set->dl_head;
	if (conn->dl_next != NULL)
		conn->dl_next->dl_prev = conn;
	else
		set->dl_tail = conn;
	if (after != NULL)
		after->dl_next = conn;
	else
		set->dl_head = conn;
}

static void
conn_expire(struct conn *conn, enum conn_expiry why)
{
	if (conn->handler != NULL)
		conn->handler->expire(conn->context, why);
	if (!conn->closed)
		conn_close(conn, why == CONN_EXPIRY_SHUTDOWN ? "shutdown"
		                                             : "timeout");
}

void
conn_set_tick(struct conn_set *set)
{
	uint64_t now = now_ms();
	while (set->dl_head != NULL && set->dl_head->deadline_ms <= now)
		conn_expire(set->dl_head, CONN_EXPIRY_DEADLINE);
	struct conn *next;
	for (struct conn *c = set->oldest; c != NULL; c = next) {
		next = c->next;
		uint64_t age = now - c->last_activity_ms;
		if (age < set->min_idle_ms)
			break; /* the rest are younger */
		if (age >= c->idle_timeout_ms)
			conn_expire(c, CONN_EXPIRY_IDLE);
	}
}

void
conn_set_shutdown(struct conn_set *set)
{
	while (set->all != NULL)
		conn_expire(set->all, CONN_EXPIRY_SHUTDOWN);
}

static void
conn_free(struct conn *conn)
{
	str_free(&conn->input);
	str_free(&conn->output);
	free(conn);
}

void
conn_set_free_closed(struct conn_set *set)
{
	while (set->graveyard != NULL) {
		struct conn *conn = set->graveyard;
		set->graveyard = conn->free_next;
		conn_free(conn);
	}
}

/* --- one connection */

struct conn *
conn_create(struct conn_set *set, int fd, const struct conn_peer *peer)
{
	struct conn *conn = xcalloc(1, sizeof(*conn));
	conn->set = set;
	conn->peer = *peer;
	conn->io =
	    (struct loop_io){.fd = fd, .callback = conn_io, .context = conn};
	str_init(&conn->input, CONN_INPUT_MAX);
	str_init(&conn->output, CONN_OUTPUT_MAX);
	conn->last_activity_ms = now_ms();
	set->count++;
	conn->all_next = set->all;
	if (set->all != NULL)
		set->all->all_prev = conn;
	set->all = conn;
	if (loop_io_add(set->loop, &conn->io, 0) < 0)
		conn_close(conn, "epoll failed");
	return conn;
}

void
conn_set_handler(struct conn *conn, const struct conn_handler *handler,
                 void *context)
{
	conn->handler = handler;
	conn->context = context;
}

void
conn_set_timeouts(struct conn *conn, uint64_t idle_timeout_ms,
                  uint64_t deadline_ms)
{
	struct conn_set *set = conn->set;
	if (conn->closed)
		return;
	conn_activity_unlink(conn);
	conn_deadline_unlink(conn);
	conn->idle_timeout_ms = idle_timeout_ms;
	conn->deadline_ms = deadline_ms;
	if (idle_timeout_ms != 0) {
		conn->last_activity_ms = now_ms();
		conn_activity_append(conn);
		if (set->min_idle_ms == 0 || idle_timeout_ms < set->min_idle_ms)
			set->min_idle_ms = idle_timeout_ms;
	}
	if (deadline_ms != 0)
		conn_deadline_insert(conn);
}

void
conn_touch(struct conn *conn)
{
	conn->last_activity_ms = now_ms();
	if (conn->idle_timeout_ms != 0 && conn->set->newest != conn) {
		conn_activity_unlink(conn);
		conn_activity_append(conn);
	}
}

void
conn_send(struct conn *conn, const void *data, size_t len)
{
	i_assert(conn->bulk == NULL);
	str_append(&conn->output, data, len);
}

void
conn_printf(struct conn *conn, const char *fmt, ...)
{
	i_assert(conn->bulk == NULL);
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(&conn->output, fmt, ap);
	va_end(ap);
}

void
conn_send_bulk(struct conn *conn, const char *data, size_t len,
               void (*release)(const char *data, size_t len))
{
	i_assert(conn->bulk == NULL);
	conn->bulk = data;
	conn->bulk_len = len;
	conn->bulk_sent = 0;
	conn->bulk_release = release;
}

size_t
conn_output_pending(const struct conn *conn)
{
	return conn->output.len +
	       (conn->bulk != NULL ? conn->bulk_len - conn->bulk_sent : 0);
}

static void
conn_bulk_done(struct conn *conn)
{
	if (conn->bulk_release != NULL)
		conn->bulk_release(conn->bulk, conn->bulk_len);
	conn->bulk = NULL;
}

/* Accounts for n bytes written from output, then bulk. */
static void
conn_wrote(struct conn *conn, size_t n)
{
	size_t from_output = n < conn->output.len ? n : conn->output.len;
	str_consume(&conn->output, from_output);
	conn->bulk_sent += n - from_output;
	if (conn->bulk != NULL && conn->bulk_sent == conn->bulk_len)
		conn_bulk_done(conn);
}

/* One write of plaintext: both buffers in one sendmsg.  Not writev:
 * on a socket, that goes through the VFS first (fdget_pos, vfs_writev
 * were 9% of the mail process pushing EXISTS to 10,000 idlers). */
static ssize_t
conn_write_plain(struct conn *conn)
{
	struct iovec iov[2];
	int n = 0;
	if (conn->output.len > 0) {
		iov[n].iov_base = conn->output.data;
		iov[n++].iov_len = conn->output.len;
	}
	if (conn->bulk != NULL) {
		iov[n].iov_base = (char *)conn->bulk + conn->bulk_sent;
		iov[n++].iov_len = conn->bulk_len - conn->bulk_sent;
	}
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
	ssize_t w = sendmsg(conn->io.fd, &msg, MSG_NOSIGNAL);
	if (w < 0 && errno == EINTR)
		return 0;
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return TLS_IO_WANT_WRITE;
	return w < 0 ? TLS_IO_ERROR : w;
}

/* One TLS write: output first, then bulk (a record each). */
static ssize_t
conn_write_tls(struct conn *conn)
{
	const char *data = conn->output.data;
	size_t len = conn->output.len;
	if (len == 0) {
		data = conn->bulk + conn->bulk_sent;
		len = conn->bulk_len - conn->bulk_sent;
	}
	ssize_t w = tls_conn_write(conn->tls, data, len);
	conn->tls_write_blocked = w == TLS_IO_WANT_READ;
	return w;
}

int
conn_flush(struct conn *conn)
{
	if (conn->closed || conn->tls_handshaking)
		return 0;
	while (conn_output_pending(conn) > 0) {
		ssize_t w = conn->tls != NULL ? conn_write_tls(conn)
		                              : conn_write_plain(conn);
		if (w == TLS_IO_WANT_WRITE || w == TLS_IO_WANT_READ)
			return 0;
		if (w < 0)
			return -1;
		conn_wrote(conn, (size_t)w);
	}
	/* An idle connection keeps no output memory (STYLE.md 4). */
	str_shrink(&conn->output, 4096);
	return 0;
}

/* Reads what the socket (or TLS) has, bounded by the input buffer.
 * Returns 1 if bytes arrived, 0 if none, -1 on EOF or error. */
static int
conn_read(struct conn *conn)
{
	char buf[CONN_INPUT_CHUNK];
	size_t room = conn->input.max - conn->input.len;
	if (room == 0)
		return 0;
	size_t want = room < sizeof(buf) ? room : sizeof(buf);
	ssize_t n;
	if (conn->tls != NULL) {
		n = tls_conn_read(conn->tls, buf, want);
		if (n == TLS_IO_WANT_READ || n == TLS_IO_WANT_WRITE)
			return 0;
		if (n == TLS_IO_CLOSED)
			n = 0;
	} else {
		n = read(conn->io.fd, buf, want);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
	}
	if (n <= 0) {
		conn->input_closed = n == 0;
		return -1;
	}
	str_append(&conn->input, buf, (size_t)n);
	secure_zero(buf, (size_t)n);
	conn_touch(conn);
	return 1;
}

static bool
conn_may_read(const struct conn *conn)
{
	return !conn->closing && !conn->input_paused &&
	       conn_output_pending(conn) <= CONN_OUTPUT_HIGH &&
	       conn->input.len < conn->input.max;
}

/* Decides what to wait for next: input only when the protocol can use
 * it, output while something waits or the protocol wants to go on. */
static void
conn_update_events(struct conn *conn)
{
	uint32_t events = 0;
	if (conn->tls_handshaking) {
		events = conn->tls_write_blocked ? EPOLLOUT : EPOLLIN;
	} else {
		if (conn_output_pending(conn) > 0 || conn->want_drain)
			events |= EPOLLOUT;
		if (conn_may_read(conn) || conn->tls_write_blocked)
			events |= EPOLLIN;
	}
	if (loop_io_update(conn->set->loop, &conn->io, events) < 0)
		conn_close(conn, "epoll update failed");
}

/* TLS may hold decrypted bytes that no readiness event will announce. */
static void
conn_read_tls_pending(struct conn *conn)
{
	for (int i = 0; i < CONN_TLS_PENDING_ROUNDS && !conn->closed &&
	                conn->tls != NULL && tls_conn_pending(conn->tls) &&
	                conn_may_read(conn);
	     i++) {
		if (conn_read(conn) < 0) {
			conn_close(conn,
			           conn->input_closed ? "eof" : "read failed");
			return;
		}
		conn->handler->run(conn->context);
	}
}

void
conn_settle(struct conn *conn)
{
	if (conn->closed)
		return;
	conn_read_tls_pending(conn);
	if (conn->closed)
		return;
	if (conn_flush(conn) < 0) {
		conn_close(conn, "write failed");
		return;
	}
	if (conn->closing && conn_output_pending(conn) == 0) {
		conn_close(conn, conn->closing_reason);
		return;
	}
	if (str_failed(&conn->output)) {
		conn_close(conn, "output limit exceeded");
		return;
	}
	/* An idle connection keeps no input memory either. */
	if (conn->input.len == 0)
		str_shrink(&conn->input, 0);
	conn_update_events(conn);
}

void
conn_run(struct conn *conn)
{
	if (conn->closed || conn->handler == NULL || conn->tls_handshaking)
		return;
	conn->handler->run(conn->context);
	conn_settle(conn);
}

static void
conn_handshake(struct conn *conn)
{
	const char *error = NULL;
	enum tls_io r = tls_conn_handshake(conn->tls, &error);
	conn->tls_write_blocked = r == TLS_IO_WANT_WRITE;
	if (r == TLS_IO_WANT_READ || r == TLS_IO_WANT_WRITE) {
		conn_update_events(conn);
		return;
	}
	if (r != TLS_IO_OK) {
		char reason[160];
		snprintf(reason, sizeof(reason), "TLS handshake failed: %s",
		         error != NULL ? error : "error");
		/* The reason is logged at once, by the closed callback. */
		conn_close(conn, reason);
		return;
	}
	conn->tls_handshaking = false;
	conn_run(conn);
}

int
conn_start_tls(struct conn *conn, struct tls_server *server)
{
	i_assert(conn->tls == NULL);
	conn->tls = tls_conn_create(server, conn->io.fd);
	if (conn->tls == NULL)
		return -1;
	conn->tls_handshaking = true;
	conn_handshake(conn);
	return 0;
}

static void
conn_io(struct loop_io *io, uint32_t events)
{
	struct conn *conn = io->context;
	if (conn->closed || conn->handler == NULL)
		return;
	if ((events & (EPOLLERR | EPOLLHUP)) != 0 && !(events & EPOLLIN)) {
		conn_close(conn, "connection reset");
		return;
	}
	if (conn->tls_handshaking) {
		conn_handshake(conn);
		return;
	}
	if ((events & EPOLLOUT) != 0 && conn_flush(conn) < 0) {
		conn_close(conn, "write failed");
		return;
	}
	if ((events & EPOLLIN) != 0 && conn_may_read(conn) &&
	    conn_read(conn) < 0) {
		conn_close(conn, conn->input_closed ? "eof" : "read failed");
		return;
	}
	conn_run(conn);
}

void
conn_close_after_output(struct conn *conn, const char *reason)
{
	conn->closing = true;
	conn->closing_reason = reason;
}

/* Takes the connection out of the loop and its set's lists. */
static void
conn_unlink(struct conn *conn)
{
	struct conn_set *set = conn->set;
	conn->closed = true;
	loop_io_remove(set->loop, &conn->io);
	conn_activity_unlink(conn);
	conn_deadline_unlink(conn);
	if (conn->all_prev != NULL)
		conn->all_prev->all_next = conn->all_next;
	else
		set->all = conn->all_next;
	if (conn->all_next != NULL)
		conn->all_next->all_prev = conn->all_prev;
	if (conn->bulk != NULL)
		conn_bulk_done(conn);
	set->count--;
	conn->free_next = set->graveyard;
	set->graveyard = conn;
}

void
conn_close(struct conn *conn, const char *reason)
{
	if (conn->closed)
		return;
	if (conn->tls != NULL) {
		tls_conn_shutdown(conn->tls);
		tls_conn_free(&conn->tls);
	}
	conn_unlink(conn);
	close(conn->io.fd);
	conn->io.fd = -1;
	if (conn->handler != NULL)
		conn->handler->closed(conn->context, reason);
}

int
conn_detach(struct conn *conn)
{
	i_assert(conn->tls == NULL && !conn->closed);
	int fd = conn->io.fd;
	conn_unlink(conn);
	conn->io.fd = -1;
	return fd;
}

void
conn_peer_describe(const struct sockaddr_storage *ss, struct conn_peer *peer)
{
	casella_strlcpy(peer->ip, "?", sizeof(peer->ip));
	peer->loopback = false;
	if (ss->ss_family == AF_UNIX) {
		/* A local socket: as close as it gets. */
		casella_strlcpy(peer->name, "unix", sizeof(peer->name));
		casella_strlcpy(peer->ip, "local", sizeof(peer->ip));
		peer->loopback = true;
		return;
	}
	if (!proxy_addr_format(ss, peer->name, sizeof(peer->name)))
		casella_strlcpy(peer->name, "?", sizeof(peer->name));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)ss;
		inet_ntop(AF_INET, &sin->sin_addr, peer->ip, sizeof(peer->ip));
		peer->loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)ss;
		inet_ntop(AF_INET6, &sin6->sin6_addr, peer->ip,
		          sizeof(peer->ip));
		peer->loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	}
}
