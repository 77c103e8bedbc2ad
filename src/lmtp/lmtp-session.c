/*
 * An LMTP session: RFC 2033 over RFC 5321, with PIPELINING (RFC 2920),
 * ENHANCEDSTATUSCODES (RFC 2034), 8BITMIME (RFC 6152), SMTPUTF8
 * (RFC 6531), SIZE (RFC 1870) and CHUNKING (RFC 3030).  Commands are
 * read from the connection's input as they come, so a pipelined batch is
 * answered in one write.  A message is collected whole, then stored once
 * for every recipient; nothing is stored before the end of the data, so
 * a client that vanishes mid-message leaves nothing behind.
 */
#include "lmtp/lmtp-session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "net/conn.h"

enum lmtp_state {
	LMTP_STATE_GREETED, /* LHLO expected */
	LMTP_STATE_READY,   /* MAIL expected */
	LMTP_STATE_MAIL,    /* RCPT, DATA or BDAT expected */
	LMTP_STATE_DATA,    /* message lines up to "." */
	LMTP_STATE_BDAT,    /* a chunk's octets */
};

struct lmtp_session {
	struct conn *conn;
	struct lmtp_context *ctx;
	enum lmtp_state state;
	unsigned errors;   /* bad commands, for LMTP_ERRORS_MAX */
	bool discard_line; /* skipping the rest of an overlong line */
	bool in_run, closed;
	char lhlo[LMTP_HOST_MAX + 1]; /* the client's name, for Received */
	bool queued; /* a finished message waits in ctx->ready */
	struct lmtp_session *ready_next;

	/* The transaction. */
	struct lmtp_mail mail;
	struct delivery_rcpt *rcpts;
	size_t rcpt_count;
	struct str body; /* the message */
	bool too_big;    /* the message passed max_size */
	bool bare_lf;    /* a line ended in LF alone */
	bool line_start, prev_cr;
	bool bdat_started; /* BDAT was used: DATA may not follow */
	uint64_t bdat_left;
	bool bdat_last;
};

static void
lmtp_reply(struct lmtp_session *s, const char *text)
{
	conn_printf(s->conn, "%s\r\n", text);
}

static void
lmtp_reset(struct lmtp_session *s)
{
	memset(&s->mail, 0, sizeof(s->mail));
	free(s->rcpts);
	s->rcpts = NULL;
	s->rcpt_count = 0;
	str_free(&s->body);
	s->too_big = s->bare_lf = s->bdat_started = false;
	if (s->state != LMTP_STATE_GREETED)
		s->state = LMTP_STATE_READY;
}

/* A command refused: too many of them end the session. */
static void
lmtp_refuse(struct lmtp_session *s, const char *text)
{
	lmtp_reply(s, text);
	if (++s->errors < LMTP_ERRORS_MAX)
		return;
	lmtp_reply(s, "421 4.7.0 Too many errors, closing connection");
	conn_close_after_output(s->conn, "too many errors");
}

/* --- the message */

static void
lmtp_body_begin(struct lmtp_session *s)
{
	str_init(&s->body, (size_t)s->ctx->max_size + 4 * LMTP_PATH_MAX);
	s->line_start = true;
	s->prev_cr = false;
}

/* RFC 5321 2.3.8: lines end in CRLF; a bare LF is refused at the end
 * rather than guessed at. */
static void
lmtp_body_add(struct lmtp_session *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n' && !(i > 0 ? p[i - 1] == '\r' : s->prev_cr))
			s->bare_lf = true;
	}
	if (n > 0)
		s->prev_cr = p[n - 1] == '\r';
	if (s->too_big)
		return;
	if (s->body.len + n > s->ctx->max_size) {
		s->too_big = true;
		str_free(&s->body);
		return;
	}
	str_append(&s->body, p, n);
}

/* "250 2.0.0 <addr> ..." and the like: one per recipient. */
static void
lmtp_reply_rcpt(struct lmtp_session *s, const struct delivery_rcpt *r,
                const char *status)
{
	/* status is "ddd d.d.d text" (delivery_reply()). */
	conn_printf(s->conn, "%.9s <%s> %s\r\n", status, r->address,
	            status[9] != '\0' ? status + 10 : "");
}

static void
lmtp_log_delivery(struct lmtp_session *s, const struct delivery_rcpt *r)
{
	log_info("lmtp delivered from=<%s> to=<%s> user=\"%s\" "
	         "mailbox=%lld uid=%u size=%zu peer=%s",
	         s->mail.sender, r->address, r->user, (long long)r->mailbox_id,
	         r->uid, s->body.len, s->conn->peer.name);
}

/* One reply per recipient (RFC 2033 4.2): the delivery's outcome, or
 * the refusal of the whole message. */
static void
lmtp_replies(struct lmtp_session *s, const char *refusal)
{
	for (size_t i = 0; i < s->rcpt_count; i++) {
		struct delivery_rcpt *r = &s->rcpts[i];
		if (refusal != NULL) {
			lmtp_reply_rcpt(s, r, refusal);
		} else if (r->status == DELIVERY_OK) {
			conn_printf(s->conn,
			            "250 2.0.0 <%s> Saved as UID %u\r\n",
			            r->address, r->uid);
			lmtp_log_delivery(s, r);
		} else {
			lmtp_reply_rcpt(s, r, delivery_reply(r->status));
		}
	}
	lmtp_reset(s);
}

/* RFC 5321 4.4 trace: who handed the message over, when, and, with one
 * recipient, for whom (RFC 3848: "with LMTP"). */
static void
lmtp_received(const struct lmtp_session *s, char *out, size_t size)
{
	static _Thread_local uint64_t serial;
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	char rcpt[LMTP_PATH_MAX + 16] = "";
	if (s->rcpt_count == 1)
		snprintf(rcpt, sizeof(rcpt), "\r\n\tfor <%s>",
		         s->rcpts[0].address);
	snprintf(out, size,
	         "Received: from %s (%s)\r\n\tby %s (Casella) with LMTP id "
	         "%llx.%llx%s;\r\n\t%s\r\n",
	         s->lhlo, s->conn->peer.name, s->ctx->hostname,
	         (unsigned long long)getpid(), (unsigned long long)++serial,
	         rcpt, date);
}

/* After the final "." or BDAT LAST.  The message waits, with the
 * session's input, for the end of the event loop's batch, when every
 * message that ended meanwhile is stored in one transaction
 * (lmtp_context_flush()). */
static void
lmtp_finish(struct lmtp_session *s)
{
	if (s->too_big || s->bare_lf) {
		lmtp_replies(s, s->too_big ? "552 5.3.4 Message too big for "
		                             "this system"
		                           : "550 5.6.0 Message has a bare LF "
		                             "(RFC 5321 2.3.8)");
		return;
	}
	if (!s->mail.no_trace) {
		char received[LMTP_RECEIVED_MAX];
		lmtp_received(s, received, sizeof(received));
		delivery_add_trace(&s->body, s->mail.sender, s->rcpts,
		                   s->rcpt_count, received);
	}
	s->queued = true;
	s->conn->input_paused = true;
	s->ready_next = s->ctx->ready;
	s->ctx->ready = s;
}

static void
lmtp_unqueue(struct lmtp_session *s)
{
	struct lmtp_session **p = &s->ctx->ready;
	while (*p != NULL && *p != s)
		p = &(*p)->ready_next;
	if (*p == s)
		*p = s->ready_next;
	s->queued = false;
}

/* Stores what the sessions in the list finished, in one transaction,
 * and lets each answer and go on; returns how many there were. */
static size_t
lmtp_flush_list(struct lmtp_context *ctx, struct lmtp_session *list)
{
	size_t n = 0;
	for (struct lmtp_session *s = list; s != NULL; s = s->ready_next)
		n++;
	struct delivery_job *jobs = xcalloc(n + 1, sizeof(*jobs));
	size_t i = 0;
	for (struct lmtp_session *s = list; s != NULL; s = s->ready_next)
		jobs[i++] = (struct delivery_job){.rcpts = s->rcpts,
		                                  .count = s->rcpt_count,
		                                  .data = s->body.data,
		                                  .len = s->body.len};
	delivery_store_batch(ctx->store, jobs, n);
	free(jobs);
	struct lmtp_session *next;
	for (struct lmtp_session *s = list; s != NULL; s = next) {
		next = s->ready_next;
		s->queued = false;
		lmtp_replies(s, NULL);
		s->conn->input_paused = false;
		/* Pipelined commands that waited; s may be gone after. */
		conn_run(s->conn);
	}
	return n;
}

void
lmtp_context_flush(struct lmtp_context *ctx)
{
	/* A session going on may finish another message at once. */
	while (ctx->ready != NULL) {
		struct lmtp_session *list = ctx->ready;
		ctx->ready = NULL;
		lmtp_flush_list(ctx, list);
	}
}

/* Message lines up to CRLF "." CRLF, dot-unstuffed (RFC 5321 4.5.2).
 * Only that sequence ends the data: a bare LF never does. */
static bool
lmtp_data_step(struct lmtp_session *s)
{
	struct str *in = &s->conn->input;
	size_t pos = 0;
	bool done = false;
	while (pos < in->len && !done) {
		const char *p = in->data + pos;
		size_t left = in->len - pos;
		if (s->line_start && p[0] == '.') {
			if (left == 1 || (left == 2 && p[1] == '\r'))
				break; /* cannot tell yet */
			done = left >= 3 && p[1] == '\r' && p[2] == '\n';
			pos += done ? 3 : 1;
			s->line_start = s->prev_cr = false;
			continue;
		}
		const char *nl = memchr(p, '\n', left);
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : left;
		lmtp_body_add(s, p, n);
		s->line_start = nl != NULL;
		pos += n;
	}
	str_consume(in, pos);
	if (done)
		lmtp_finish(s);
	return done;
}

/* A BDAT chunk: exactly its octets, no dot-stuffing (RFC 3030 2). */
static bool
lmtp_bdat_step(struct lmtp_session *s)
{
	struct str *in = &s->conn->input;
	size_t n = in->len < s->bdat_left ? in->len : (size_t)s->bdat_left;
	if (s->rcpt_count > 0)
		lmtp_body_add(s, in->data, n);
	str_consume(in, n);
	s->bdat_left -= n;
	if (s->bdat_left > 0)
		return n > 0;
	s->state = LMTP_STATE_MAIL;
	if (s->rcpt_count == 0) {
		/* RFC 3030 2: a refused chunk is still read whole. */
		lmtp_refuse(s, "503 5.5.1 No valid recipients");
		if (s->bdat_last)
			lmtp_reset(s);
	} else if (s->bdat_last) {
		lmtp_finish(s);
	} else {
		lmtp_reply(s, "250 2.0.0 Chunk received");
	}
	return true;
}

/* --- commands */

/* The LHLO name, printable and bounded, as the Received field shows it. */
static void
lmtp_set_lhlo(struct lmtp_session *s, const char *name, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n < LMTP_HOST_MAX; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c > 32 && c < 127 && c != '(' && c != ')')
			s->lhlo[n++] = (char)c;
	}
	s->lhlo[n] = '\0';
}

static void
lmtp_cmd_lhlo(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (cmd->arg_len == 0) {
		lmtp_refuse(s, "501 5.5.4 LHLO needs a host name");
		return;
	}
	s->state = LMTP_STATE_READY;
	lmtp_reset(s);
	lmtp_set_lhlo(s, cmd->arg, cmd->arg_len);
	conn_printf(s->conn,
	            "250-%s\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
	            "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
	            "250-XCASELLA\r\n250 SIZE %llu\r\n",
	            s->ctx->hostname, (unsigned long long)s->ctx->max_size);
}

static void
lmtp_cmd_mail(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	const char *reply;
	if (s->state == LMTP_STATE_GREETED) {
		lmtp_refuse(s, "503 5.5.1 Send LHLO first");
		return;
	}
	if (s->state != LMTP_STATE_READY) {
		lmtp_refuse(s, "503 5.5.1 Nested MAIL command");
		return;
	}
	if (lmtp_parse_mail(cmd->arg, cmd->arg_len, &s->mail, &reply) < 0) {
		lmtp_refuse(s, reply);
		return;
	}
	if (s->mail.size > s->ctx->max_size) {
		lmtp_refuse(s, "552 5.3.4 Message size exceeds fixed "
		               "maximum message size");
		return;
	}
	s->state = LMTP_STATE_MAIL;
	lmtp_reply(s, "250 2.1.0 Ok");
}

static void
lmtp_cmd_rcpt(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	struct lmtp_rcpt rcpt;
	struct delivery_rcpt resolved;
	const char *reply;
	if (s->state != LMTP_STATE_MAIL || s->bdat_started) {
		lmtp_refuse(s, "503 5.5.1 Send MAIL first");
		return;
	}
	if (s->rcpt_count == LMTP_RCPT_MAX) {
		lmtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (lmtp_parse_rcpt(cmd->arg, cmd->arg_len, s->mail.smtputf8, &rcpt,
	                    &reply) < 0) {
		lmtp_refuse(s, reply);
		return;
	}
	enum delivery_status st =
	    delivery_resolve(s->ctx->store, s->ctx->settings, &rcpt, &resolved);
	if (st != DELIVERY_OK) {
		if (st == DELIVERY_NO_USER)
			log_info("lmtp unknown recipient to=<%s> peer=%s",
			         rcpt.address, s->conn->peer.name);
		lmtp_reply_rcpt(s, &resolved, delivery_reply(st));
		return;
	}
	/* rcpt_count is at most LMTP_RCPT_MAX: no overflow. */
	s->rcpts = xrealloc(s->rcpts, (s->rcpt_count + 1) * sizeof(*s->rcpts));
	s->rcpts[s->rcpt_count++] = resolved;
	lmtp_reply(s, "250 2.1.5 Ok");
}

static void
lmtp_cmd_data(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	if (s->state != LMTP_STATE_MAIL || s->bdat_started) {
		lmtp_refuse(s, "503 5.5.1 Send MAIL first");
		return;
	}
	if (cmd->arg_len != 0) {
		lmtp_refuse(s, "501 5.5.4 DATA takes no arguments");
		return;
	}
	/* RFC 2033 4.2: no successful RCPT, DATA fails with 503. */
	if (s->rcpt_count == 0) {
		lmtp_refuse(s, "503 5.5.1 No valid recipients");
		return;
	}
	lmtp_body_begin(s);
	s->state = LMTP_STATE_DATA;
	lmtp_reply(s, "354 Start mail input; end with <CRLF>.<CRLF>");
}

static void
lmtp_cmd_bdat(struct lmtp_session *s, const struct lmtp_command *cmd)
{
	uint64_t size;
	bool last;
	if (lmtp_parse_bdat(cmd->arg, cmd->arg_len, &size, &last) < 0) {
		/* Without a size the chunk's end is unknown. */
		lmtp_reply(s, "501 5.5.4 Bad BDAT syntax; closing");
		conn_close_after_output(s->conn, "bad BDAT");
		return;
	}
	if (s->state != LMTP_STATE_MAIL) {
		/* Its octets still follow: skip them as a failed chunk. */
		lmtp_reset(s);
		s->state = LMTP_STATE_MAIL;
	}
	if (!s->bdat_started && s->rcpt_count > 0)
		lmtp_body_begin(s);
	s->bdat_started = true;
	s->bdat_left = size;
	s->bdat_last = last;
	s->state = LMTP_STATE_BDAT;
}

static void
lmtp_command(struct lmtp_session *s, const char *line, size_t len)
{
	struct lmtp_command cmd;
	lmtp_parse_command(line, len, &cmd);
	switch (cmd.verb) {
	case LMTP_LHLO:
		lmtp_cmd_lhlo(s, &cmd);
		return;
	case LMTP_HELO:
		lmtp_refuse(s, "500 5.5.1 This is LMTP: use LHLO");
		return;
	case LMTP_MAIL:
		lmtp_cmd_mail(s, &cmd);
		return;
	case LMTP_RCPT:
		lmtp_cmd_rcpt(s, &cmd);
		return;
	case LMTP_DATA:
		lmtp_cmd_data(s, &cmd);
		return;
	case LMTP_BDAT:
		lmtp_cmd_bdat(s, &cmd);
		return;
	case LMTP_RSET:
		lmtp_reset(s);
		lmtp_reply(s, "250 2.0.0 Ok");
		return;
	case LMTP_NOOP:
		lmtp_reply(s, "250 2.0.0 Ok");
		return;
	case LMTP_QUIT:
		lmtp_reply(s, "221 2.0.0 Bye");
		conn_close_after_output(s->conn, "quit");
		return;
	case LMTP_VRFY:
		lmtp_reply(s, "252 2.0.0 Cannot VRFY; send the mail and see");
		return;
	case LMTP_HELP:
		lmtp_reply(s, "214 2.0.0 See RFC 2033");
		return;
	case LMTP_UNKNOWN:
		break;
	}
	lmtp_refuse(s, "500 5.5.2 Command not recognized");
}

/* One command line, LF or CRLF ended. */
static bool
lmtp_line_step(struct lmtp_session *s)
{
	struct str *in = &s->conn->input;
	const char *nl = memchr(in->data, '\n', in->len);
	if (nl == NULL) {
		if (in->len > LMTP_LINE_MAX) {
			if (!s->discard_line)
				lmtp_refuse(s, "500 5.5.2 Line too long");
			s->discard_line = true;
			str_consume(in, in->len);
		}
		return false;
	}
	size_t len = (size_t)(nl - in->data);
	size_t line_len = len > 0 && nl[-1] == '\r' ? len - 1 : len;
	if (s->discard_line)
		s->discard_line = false;
	else if (line_len > LMTP_LINE_MAX)
		lmtp_refuse(s, "500 5.5.2 Line too long");
	else
		lmtp_command(s, in->data, line_len);
	str_consume(in, len + 1);
	return true;
}

static bool
lmtp_step(struct lmtp_session *s)
{
	if (s->conn->input.len == 0 && s->state != LMTP_STATE_BDAT)
		return false;
	switch (s->state) {
	case LMTP_STATE_DATA:
		return lmtp_data_step(s);
	case LMTP_STATE_BDAT:
		return lmtp_bdat_step(s);
	default:
		return lmtp_line_step(s);
	}
}

static void
lmtp_session_free(struct lmtp_session *s)
{
	lmtp_reset(s);
	free(s);
}

static void
lmtp_run(void *context)
{
	struct lmtp_session *s = context;
	s->in_run = true;
	while (!s->closed && !s->conn->closing && !s->queued && lmtp_step(s)) {
		/* A client that does not read its replies gets no more. */
		if (conn_output_pending(s->conn) > CONN_OUTPUT_HIGH) {
			s->conn->want_drain = true;
			break;
		}
	}
	s->in_run = false;
	if (s->closed)
		lmtp_session_free(s);
}

static void
lmtp_closed(void *context, const char *reason)
{
	struct lmtp_session *s = context;
	log_info("lmtp disconnect peer=%s reason=\"%s\"", s->conn->peer.name,
	         reason);
	s->closed = true;
	/* Not acknowledged, so not stored: the MTA sends it again. */
	if (s->queued)
		lmtp_unqueue(s);
	if (!s->in_run)
		lmtp_session_free(s);
}

static void
lmtp_expire(void *context, enum conn_expiry why)
{
	struct lmtp_session *s = context;
	lmtp_reply(s, why == CONN_EXPIRY_SHUTDOWN
	                  ? "421 4.3.2 Shutting down"
	                  : "421 4.4.2 Idle too long, closing connection");
	(void)conn_flush(s->conn);
	conn_close(s->conn,
	           why == CONN_EXPIRY_SHUTDOWN ? "shutdown" : "idle timeout");
}

static const struct conn_handler lmtp_handler = {
    .run = lmtp_run,
    .closed = lmtp_closed,
    .expire = lmtp_expire,
};

void
lmtp_session_start(struct conn *conn, struct lmtp_context *ctx)
{
	struct lmtp_session *s = xcalloc(1, sizeof(*s));
	s->conn = conn;
	s->ctx = ctx;
	s->state = LMTP_STATE_GREETED;
	conn_set_handler(conn, &lmtp_handler, s);
	conn_set_timeouts(conn, LMTP_IDLE_TIMEOUT_MS, 0);
	conn_printf(conn, "220 %s Casella LMTP ready\r\n", ctx->hostname);
	conn_settle(conn);
}
