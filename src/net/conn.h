#ifndef CASELLA_CONN_H
#define CASELLA_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"
#include "net/loop.h"

/*
 * A connection, whatever protocol runs on it (IMAP today, LMTP next):
 * the socket, optional TLS (tls.h), buffered input and output with
 * back-pressure, zero-copy bulk writes, and idle and absolute timeouts.
 * The protocol implements struct conn_handler, as Dovecot's connection.c
 * users or OpenSMTPD's io.c users do, and never touches the socket.
 *
 * Every connection belongs to a struct conn_set, the connections of one
 * event loop.  A closed connection's memory lives until the loop's
 * current batch of events is over (conn_set_free_closed()), so a later
 * event of the same batch never sees freed memory.
 */

#define CONN_INPUT_CHUNK 16384              /* bytes read per read() */
#define CONN_OUTPUT_HIGH (256 * 1024)       /* stop producing above this */
#define CONN_OUTPUT_MAX  (16 * 1024 * 1024) /* hard cap of the buffer */

/* Where a connection comes from. */
struct conn_peer {
	char name[64]; /* "ip:port" or "[ip6]:port" */
	char ip[64];
	bool loopback; /* 127.0.0.0/8 or ::1 */
};

enum conn_expiry {
	CONN_EXPIRY_IDLE,     /* nothing arrived for the idle timeout */
	CONN_EXPIRY_DEADLINE, /* the absolute deadline passed */
	CONN_EXPIRY_SHUTDOWN, /* the process is stopping */
};

struct conn_handler {
	/*
	 * The protocol's turn: consume conn->input, queue output.  Called
	 * when input arrived, when the TLS handshake completed, when the
	 * output drained while conn->want_drain is set, and from
	 * conn_run().  The connection settles afterwards (writes, closes if
	 * asked, re-arms its events).
	 */
	void (*run)(void *context);
	/* The connection closed (conn_close(), EOF, an error): the protocol
	 * must not use it again.  reason is for the log. */
	void (*closed)(void *context, const char *reason);
	/* A timeout or shutdown: say goodbye (conn_send(), then
	 * conn_close()). */
	void (*expire)(void *context, enum conn_expiry why);
};

struct conn_set;
struct tls_conn;
struct tls_server;

struct conn {
	struct loop_io io;
	struct conn_set *set;
	const struct conn_handler *handler;
	void *context;
	struct conn_peer peer;

	struct tls_conn *tls;   /* NULL for plaintext */
	bool tls_handshaking;   /* data waits until the handshake is done */
	bool tls_write_blocked; /* the last TLS write wants readability */
	struct str input;       /* read, not yet consumed */
	struct str output;      /* waiting to be written */
	const char *bulk;       /* written after output, not copied */
	size_t bulk_len, bulk_sent;
	void (*bulk_release)(const char *data, size_t len);

	bool input_closed; /* the peer sent EOF */
	bool input_paused; /* the protocol takes no input now */
	bool want_drain;   /* run() again once output is written */
	bool closing;      /* close once output is written */
	bool closed;       /* waiting to be freed */
	const char *closing_reason;
	uint64_t last_activity_ms;
	uint64_t idle_timeout_ms;         /* 0: none */
	uint64_t deadline_ms;             /* absolute, 0: none */
	struct conn *all_prev, *all_next; /* every connection of the set */
	struct conn *prev, *next;         /* the set's list by activity */
	struct conn *dl_prev, *dl_next;   /* the set's deadline list */
	struct conn *free_next;           /* closed, freed after the batch */
};

struct sockaddr_storage;
/* Names an accepted socket's peer (loopback for a unix socket). */
void conn_peer_describe(const struct sockaddr_storage *ss,
                        struct conn_peer *peer);

struct conn_set *conn_set_create(struct loop *loop);
/* Frees the set; every connection must be closed and freed first. */
void conn_set_destroy(struct conn_set **set);
size_t conn_set_count(const struct conn_set *set);
/* Runs timeouts; call about once a second. */
void conn_set_tick(struct conn_set *set);
/* Asks every connection to say goodbye (CONN_EXPIRY_SHUTDOWN) and closes
 * those that did not. */
void conn_set_shutdown(struct conn_set *set);
/* Frees connections closed during the batch; call after each batch. */
void conn_set_free_closed(struct conn_set *set);

/* Takes ownership of fd, a connected non-blocking socket.  Nothing is
 * read until a handler is set. */
struct conn *conn_create(struct conn_set *set, int fd,
                         const struct conn_peer *peer);
void conn_set_handler(struct conn *conn, const struct conn_handler *handler,
                      void *context);
void conn_set_timeouts(struct conn *conn, uint64_t idle_timeout_ms,
                       uint64_t deadline_ms);
/* Starts TLS as the server side: at once for an implicit-TLS listener,
 * after STARTTLS's answer went out otherwise.  Queued output waits for
 * the handshake.  Returns -1 if TLS cannot start. */
int conn_start_tls(struct conn *conn, struct tls_server *server);

/* Output.  Nothing is written before the connection settles. */
void conn_send(struct conn *conn, const void *data, size_t len);
void conn_printf(struct conn *conn, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Queues len bytes to be written after everything queued, without
 * copying; release(data, len) runs once they are written or the
 * connection closed.  One bulk at a time: nothing may be queued after it
 * until it is out (conn->bulk is NULL again).
 */
void conn_send_bulk(struct conn *conn, const char *data, size_t len,
                    void (*release)(const char *data, size_t len));
size_t conn_output_pending(const struct conn *conn);
/* Writes what the socket takes now.  Returns -1 if the connection failed
 * (the caller closes it). */
int conn_flush(struct conn *conn);

/* Calls the handler's run(), then settles the connection: for protocol
 * events from elsewhere (a mailbox change, an auth answer). */
void conn_run(struct conn *conn);
/* Writes, closes if asked, re-arms events: what happens after run(). */
void conn_settle(struct conn *conn);
/* Counts as activity for the idle timeout. */
void conn_touch(struct conn *conn);

/* Closes once everything queued is written. */
void conn_close_after_output(struct conn *conn, const char *reason);
/* Closes now: the handler's closed() runs at once, the memory is freed
 * after the batch. */
void conn_close(struct conn *conn, const char *reason);
/*
 * Gives the socket up without closing it (to hand a plaintext session
 * to another process): returns the fd, and the connection is gone as if
 * closed, without the closed() callback.  Only for a connection without
 * TLS.
 */
int conn_detach(struct conn *conn);

#endif
