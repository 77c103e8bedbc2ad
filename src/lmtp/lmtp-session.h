#ifndef CASELLA_LMTP_SESSION_H
#define CASELLA_LMTP_SESSION_H

#include <stdint.h>

#include "lmtp/delivery.h"

/*
 * One LMTP session (RFC 2033) on a connection (net/conn.h): greeting,
 * LHLO, transactions with one reply per recipient after DATA or BDAT
 * LAST, and final delivery through lmtp/delivery.h.  It lives on one
 * event loop and frees itself when its connection closes.
 */

struct conn;
struct lmtp_session;
struct store;

/* What the sessions of one event loop share. */
struct lmtp_context {
	struct store *store;
	const struct delivery_settings *settings;
	uint64_t max_size; /* SIZE (RFC 1870): message bytes at most */
	const char *hostname;
	/* Sessions whose message waits for lmtp_context_flush(). */
	struct lmtp_session *ready;
};

/* Limits (RFC 5321 4.5.3.1): command lines, recipients, bad commands. */
#define LMTP_LINE_MAX        2048
#define LMTP_RCPT_MAX        1000
#define LMTP_ERRORS_MAX      20
#define LMTP_IDLE_TIMEOUT_MS (5 * 60 * 1000) /* RFC 5321 4.5.3.2.7 */
#define LMTP_HOST_MAX        255 /* the LHLO name kept for Received */
#define LMTP_RECEIVED_MAX    (LMTP_HOST_MAX + 2 * LMTP_PATH_MAX + 512)

/* Starts a session on conn: it becomes conn's handler and greets. */
void lmtp_session_start(struct conn *conn, struct lmtp_context *ctx);
/*
 * Group commit: stores every message that sessions finished since the
 * last call in one transaction (one fsync for all), then sends their
 * replies and lets them read on.  The event loop calls it after each
 * batch of events, so messages that end together commit together, and
 * a lone message waits for no one.
 */
void lmtp_context_flush(struct lmtp_context *ctx);

#endif
