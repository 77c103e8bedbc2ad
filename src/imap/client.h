#ifndef CASELLA_IMAP_CLIENT_H
#define CASELLA_IMAP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/command.h"
#include "lib/idmap.h"
#include "lib/str.h"
#include "net/conn.h"

struct arena;
struct auth_client;
struct imap_parser;
struct sasl_conn_info;
struct mailbox_view;
struct notify_session;
struct worker;
struct command;

/*
 * One IMAP session on one connection.  It lives on one worker thread.
 * Input is read into a small buffer and fed to the parser; complete
 * commands run one at a time, in order.  Output is buffered and written
 * with back-pressure: while more than CLIENT_OUTPUT_HIGH bytes wait to be
 * sent, no further input is read and long commands (FETCH) pause.
 */

#define CLIENT_OUTPUT_HIGH CONN_OUTPUT_HIGH /* stop producing above this */

enum client_state {
	CLIENT_STATE_NOT_AUTHENTICATED,
	CLIENT_STATE_AUTHENTICATED,
	CLIENT_STATE_SELECTED,
	CLIENT_STATE_LOGOUT,
};

/* Extensions the client turned on with ENABLE. */
enum client_enabled {
	CLIENT_ENABLED_IMAP4REV2 = 0x01,
	CLIENT_ENABLED_UTF8_ACCEPT = 0x02,
	CLIENT_ENABLED_CONDSTORE = 0x04, /* RFC 7162 3.1 */
	CLIENT_ENABLED_QRESYNC = 0x08,   /* RFC 7162 3.2.3, with CONDSTORE */
};

struct client {
	struct conn *conn;      /* the connection (net/conn.h) */
	struct worker *worker;  /* owning thread */
	uint64_t id;            /* for logs */
	bool secured;           /* TLS */
	bool starttls;          /* STARTTLS answered; TLS starts next */
	unsigned auth_failures; /* on this connection */

	enum client_state state;
	unsigned enabled;          /* enum client_enabled bits */
	int64_t user_id;           /* once authenticated */
	char *username;            /* heap, once authenticated */
	struct mailbox_view *view; /* when SELECTED */

	struct imap_parser *parser;
	struct command *command;        /* running command, or NULL */
	bool destroyed;                 /* waiting to be freed */
	bool mailbox_changed;           /* a hub notice arrived */
	struct notify_session *notify;  /* RFC 5465 NOTIFY SET, or NULL */
	struct idmap_node mailbox_node; /* worker->by_mailbox, with a view */
	struct idmap_node user_node;    /* worker->by_user, with NOTIFY */
	struct client *wake_next;       /* worker->wake_list */
	bool wake_queued;               /* on worker->wake_list */
	struct client *prev, *next;     /* the worker's sessions */
	/* In IDLE: the worker's idlers, by when the keepalive is due. */
	struct client *idle_prev, *idle_next;
	uint64_t keepalive_due_ms;
	bool in_idlers;
	struct client *free_next; /* the worker's graveyard */
};

/* A session on conn, not yet logged in, with the login timeouts; it
 * becomes conn's handler. */
struct client *client_create(struct worker *worker, struct conn *conn);
/* Queues the greeting (RFC 9051 7.1.1); it goes out when the
 * connection next settles (after the TLS handshake, for TLS). */
void client_greet(struct client *client);
/* A session handed over by a login process (the mail process): already
 * authenticated as user, with the idle timeout.  Nothing is sent. */
struct client *client_create_authenticated(struct worker *worker,
                                           struct conn *conn, uint64_t id,
                                           int64_t user_id, const char *user,
                                           bool secured);
/* The session leaves this process (a login handing it over): it is
 * freed after the batch, and its connection is left alone. */
void client_hand_off(struct client *client);
/* Closes the connection; memory is freed after the current event batch. */
void client_destroy(struct client *client, const char *reason);
void client_free(struct client *client);

/* Appends output.  Nothing is written until the event loop flushes. */
void client_send(struct client *client, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void client_send_raw(struct client *client, const void *data, size_t len);
/*
 * Queues len bytes of data to be written after everything already queued,
 * without copying; release(data, len) is called once it was written or the
 * connection closed.  Only one bulk at a time: the caller (a command)
 * must return CMD_MORE and produce nothing else until it is resumed.
 */
void client_send_bulk(struct client *client, const char *data, size_t len,
                      void (*release)(const char *data, size_t len));
/* Bytes queued and not yet written. */
size_t client_output_pending(const struct client *client);

/* True if the client uses IMAP4rev2 semantics. */
static inline bool
client_is_rev2(const struct client *client)
{
	return (client->enabled & CLIENT_ENABLED_IMAP4REV2) != 0;
}
/* True if mailbox names and strings are UTF-8 for this client. */
static inline bool
client_utf8(const struct client *client)
{
	return (client->enabled &
	        (CLIENT_ENABLED_IMAP4REV2 | CLIENT_ENABLED_UTF8_ACCEPT)) != 0;
}

/* True once a CONDSTORE enabling command ran (RFC 7162 3.1): FETCH
 * responses carry MODSEQ. */
static inline bool
client_condstore(const struct client *client)
{
	return (client->enabled & CLIENT_ENABLED_CONDSTORE) != 0;
}
/* True after ENABLE QRESYNC: expunges are told as VANISHED. */
static inline bool
client_qresync(const struct client *client)
{
	return (client->enabled & CLIENT_ENABLED_QRESYNC) != 0;
}

/* The store handle of the client's thread. */
struct store *client_store(struct client *client);
/* Moves the client to the authenticated state. */
void client_login(struct client *client, int64_t user_id, const char *username);
/*
 * IDLE keepalives: while in IDLE a session gets "* OK Still here" every
 * idle_keepalive_s, because NATs of mobile carriers drop TCP flows that
 * stay silent for a few minutes.  Every interval is the same, so the
 * worker's list of idlers stays ordered by due time when sessions are
 * appended: a tick looks only at the sessions that are due.
 */
void client_idle_begin(struct client *client);
void client_idle_end(struct client *client);
void client_keepalive_tick(struct worker *worker, uint64_t now);
/*
 * Called by the worker once it noted changes for the session (its
 * mailbox_changed, or its NOTIFY state): sends what may go out now.
 * Without NOTIFY only IDLE hears at once (RFC 9051 6.3.13); with NOTIFY
 * (RFC 5465) updates also go out between commands.  A running command
 * sends them before its tagged response instead.
 */
void client_wake(struct client *client);
/* When client_push_updates() runs. */
enum client_push {
	CLIENT_PUSH_BETWEEN,    /* no command runs */
	CLIENT_PUSH_IDLE,       /* IDLE waits for DONE */
	CLIENT_PUSH_IDLE_START, /* IDLE begins: the selected mailbox is
	                           looked at even without a hub notice */
};
/* Sends the pending updates that may go out at that point. */
void client_push_updates(struct client *client, enum client_push when);
/* The capability list for the client's current state; valid until the
 * next call on this thread. */
const char *client_capabilities(const struct client *client);

/* Authentication (before login). */
/* Whether a plaintext password may be sent: over TLS, or where the
 * operator allows it (loopback by default). */
bool client_plaintext_allowed(const struct client *client);
enum client_mech_use {
	CLIENT_MECH_USABLE,
	CLIENT_MECH_UNKNOWN,   /* not offered by this server */
	CLIENT_MECH_NEEDS_TLS, /* offered once TLS is up */
};
enum client_mech_use client_mech_usable(const struct client *client,
                                        const char *mech);
/* The session's facts for the SASL mechanisms. */
void client_sasl_info(const struct client *client,
                      struct sasl_conn_info *info_r);
/* The worker's channel to the auth process. */
struct auth_client *client_auth(struct client *client);
/* Counts a failed authentication; too many close the connection. */
void client_auth_failed(struct client *client);
/* The auth process said OK for user: the session becomes
 * authenticated; returns the command's result. */
enum cmd_result client_authenticated(struct client *client, struct command *cmd,
                                     const char *user,
                                     const unsigned char *ticket,
                                     size_t ticket_len);
/* A command that returned CMD_WAIT_EVENT goes on with result r. */
void client_command_resume(struct client *client, enum cmd_result r);

#endif
