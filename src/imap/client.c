#include "imap/client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "imap/command.h"
#include "imap/notify-session.h"
#include "imap/parser.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/util.h"
#include "auth/sasl.h"
#include "net/conn.h"
#include "imap/worker.h"
#include "store/store.h"

/* Before login a client gets small limits (STYLE.md 5: tighter limits
 * before login); after login APPEND may carry a whole message. */
static const struct imap_parser_limits preauth_limits = {
    .max_line = 8192,
    .max_literal = 8192,
    .max_literal_total = 16384,
    .max_nonsync_literal = 4096,
    .max_depth = 8,
    .max_args = 64,
};
static const struct imap_parser_limits authed_limits = {
    .max_line = 65536,
    .max_literal = 64 * 1024 * 1024,
    .max_literal_total = 64 * 1024 * 1024,
    .max_nonsync_literal = 64 * 1024 * 1024,
    .max_depth = 32,
    .max_args = 100000,
};

/* An IDLE "DONE" or SASL response line may be this long at most: the
 * base64 of the largest SASL response. */
#define CLIENT_WAIT_LINE_MAX (4 * (SASL_INPUT_MAX / 3) + 8)

static void client_run_steps(void *context);
static void client_discard_input(struct client *client);
static void client_closed(void *context, const char *reason);
static void client_expire(void *context, enum conn_expiry why);

static const struct conn_handler client_handler = {
    .run = client_run_steps,
    .closed = client_closed,
    .expire = client_expire,
};

static void
client_link(struct worker *worker, struct client *client)
{
	client->next = worker->clients;
	if (worker->clients != NULL)
		worker->clients->prev = client;
	worker->clients = client;
	worker->client_count++;
}

static void
client_unlink(struct worker *worker, struct client *client)
{
	if (client->prev != NULL)
		client->prev->next = client->next;
	else
		worker->clients = client->next;
	if (client->next != NULL)
		client->next->prev = client->prev;
	client->prev = client->next = NULL;
	worker->client_count--;
}

struct client *
client_create(struct worker *worker, struct conn *conn)
{
	struct client *client = xcalloc(1, sizeof(*client));
	client->worker = worker;
	client->conn = conn;
	client->id = ++worker->next_client_id * 64 + worker->index;
	client->state = CLIENT_STATE_NOT_AUTHENTICATED;
	client->parser = imap_parser_create(&preauth_limits);
	client_link(worker, client);
	conn_set_handler(conn, &client_handler, client);
	const struct server_config *config = worker->config;
	uint64_t login_ms = (uint64_t)config->login_timeout_s * 1000;
	/* Before login: idle for at most login_ms, and logged in within
	 * login_ms of connecting, however the bytes trickle in. */
	conn_set_timeouts(conn, login_ms, now_ms() + login_ms);
	log_info("session=%llx connect peer=%s", (unsigned long long)client->id,
	         conn->peer.name);
	return client;
}

void
client_greet(struct client *client)
{
	client_send(client, "* OK [CAPABILITY %s] Casella ready\r\n",
	            client_capabilities(client));
}

static void
client_command_free(struct client *client)
{
	if (client->command == NULL)
		return;
	if (client->command->cleanup != NULL)
		client->command->cleanup(client->command);
	/* The command itself lives in its arena. */
	struct arena *arena = client->command->arena;
	client->command = NULL;
	arena_destroy(&arena);
}

/* The connection went away: the session ends, its memory goes after the
 * batch (the connection's too, so late output is harmless). */
static void
client_bury(struct client *client)
{
	struct worker *worker = client->worker;
	client->destroyed = true;
	client_idle_end(client);
	/* No change reaches it any more. */
	idmap_remove(&worker->by_mailbox, &client->mailbox_node);
	idmap_remove(&worker->by_user, &client->user_node);
	if (worker->client_gone != NULL)
		worker->client_gone(worker, client);
	client_unlink(worker, client);
	client->free_next = worker->graveyard;
	worker->graveyard = client;
}

static void
client_idlers_append(struct worker *worker, struct client *client)
{
	client->idle_next = NULL;
	client->idle_prev = worker->idlers_tail;
	if (worker->idlers_tail != NULL)
		worker->idlers_tail->idle_next = client;
	else
		worker->idlers_head = client;
	worker->idlers_tail = client;
	client->in_idlers = true;
}

void
client_idle_begin(struct client *client)
{
	unsigned interval = client->worker->config->idle_keepalive_s;
	if (interval == 0 || client->in_idlers)
		return;
	client->keepalive_due_ms = now_ms() + (uint64_t)interval * 1000;
	client_idlers_append(client->worker, client);
}

void
client_idle_end(struct client *client)
{
	struct worker *worker = client->worker;
	if (!client->in_idlers)
		return;
	if (client->idle_prev != NULL)
		client->idle_prev->idle_next = client->idle_next;
	else
		worker->idlers_head = client->idle_next;
	if (client->idle_next != NULL)
		client->idle_next->idle_prev = client->idle_prev;
	else
		worker->idlers_tail = client->idle_prev;
	client->idle_prev = client->idle_next = NULL;
	client->in_idlers = false;
}

void
client_keepalive_tick(struct worker *worker, uint64_t now)
{
	struct client *client;
	while ((client = worker->idlers_head) != NULL &&
	       client->keepalive_due_ms <= now) {
		client_idle_end(client);
		/* A session that cannot take even this much is stuck; its
		 * output limit or idle timeout ends it. */
		if (client->conn->bulk == NULL &&
		    conn_output_pending(client->conn) < CLIENT_OUTPUT_HIGH) {
			client_send(client, "* OK Still here\r\n");
			conn_settle(client->conn);
		}
		client_idle_begin(client);
	}
}

static void
client_closed(void *context, const char *reason)
{
	struct client *client = context;
	log_info("session=%llx disconnect reason=\"%s\"",
	         (unsigned long long)client->id, reason);
	client_bury(client);
}

void
client_hand_off(struct client *client)
{
	conn_set_handler(client->conn, NULL, NULL);
	client_bury(client);
	/* The connection lives on elsewhere: nothing here may touch it. */
	client->conn = NULL;
}

struct client *
client_create_authenticated(struct worker *worker, struct conn *conn,
                            uint64_t id, int64_t user_id, const char *user,
                            bool secured)
{
	struct client *client = xcalloc(1, sizeof(*client));
	client->worker = worker;
	client->conn = conn;
	client->id = id;
	client->secured = secured;
	client->state = CLIENT_STATE_NOT_AUTHENTICATED;
	client->parser = imap_parser_create(&preauth_limits);
	client_link(worker, client);
	conn_set_handler(conn, &client_handler, client);
	client_login(client, user_id, user);
	return client;
}

void
client_destroy(struct client *client, const char *reason)
{
	if (!client->destroyed)
		conn_close(client->conn, reason);
}

static void
client_expire(void *context, enum conn_expiry why)
{
	struct client *client = context;
	/* RFC 9051 7.1.5: BYE before we close. */
	if (client->conn->bulk == NULL)
		client_send(client,
		            why == CONN_EXPIRY_SHUTDOWN
		                ? "* BYE Server shutting down\r\n"
		                : "* BYE Autologout; idle too long\r\n");
	(void)conn_flush(client->conn);
	client_destroy(client, why == CONN_EXPIRY_SHUTDOWN ? "shutdown"
	                                                   : "idle timeout");
}

void
client_free(struct client *client)
{
	client_command_free(client);
	view_close(&client->view);
	notify_session_free(&client->notify);
	imap_parser_destroy(&client->parser);
	free(client->username);
	free(client);
}

void
client_send_raw(struct client *client, const void *data, size_t len)
{
	conn_send(client->conn, data, len);
}

void
client_send(struct client *client, const char *fmt, ...)
{
	i_assert(client->conn->bulk == NULL);
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(&client->conn->output, fmt, ap);
	va_end(ap);
}

void
client_send_bulk(struct client *client, const char *data, size_t len,
                 void (*release)(const char *data, size_t len))
{
	conn_send_bulk(client->conn, data, len, release);
}

size_t
client_output_pending(const struct client *client)
{
	return conn_output_pending(client->conn);
}

struct store *
client_store(struct client *client)
{
	return client->worker->store;
}

void
client_login(struct client *client, int64_t user_id, const char *username)
{
	client->state = CLIENT_STATE_AUTHENTICATED;
	client->user_id = user_id;
	free(client->username);
	client->username = xstrdup(username);
	imap_parser_set_limits(client->parser, &authed_limits);
	uint64_t idle_ms =
	    (uint64_t)client->worker->config->idle_timeout_s * 1000;
	conn_set_timeouts(client->conn, idle_ms, 0);
}

static void
client_send_tagged(struct client *client, struct command *cmd)
{
	i_assert(cmd->result != NULL);
	client_send(client, "%s %s %s\r\n", cmd->tag, cmd->result,
	            cmd->result_text != NULL ? cmd->result_text : "done");
}

/* Sends the selected mailbox's changes (RFC 9051 7.5.1 decides which may
 * go now), then, with NOTIFY, the fetch attributes MessageNew asked for
 * (RFC 5465 5.2).  flags_alone as for view_sync_if(). */
static void
client_sync_view(struct client *client, bool allow_expunge, bool flags_alone)
{
	uint32_t first_new = client->view->uidnext;
	const char *error;
	if (view_sync_if(client, allow_expunge, flags_alone, &error) < 0)
		log_error("session=%llx sync failed: %s",
		          (unsigned long long)client->id, error);
	if (client->notify != NULL && client->view != NULL)
		notify_session_announce_new(client, first_new);
}

/* The command finished: mailbox updates, then the tagged line. */
static void
client_finish_command(struct client *client)
{
	struct command *cmd = client->command;
	if (client->view != NULL && !cmd->skip_sync &&
	    client->state == CLIENT_STATE_SELECTED) {
		bool allow_expunge =
		    !(cmd->def->flags & CMD_FLAG_USES_SEQS) || cmd->uid;
		client_sync_view(client, allow_expunge, true);
		client->mailbox_changed = false;
	}
	/* RFC 5465: other mailboxes' news may go before any tagged line. */
	if (client->notify != NULL && !cmd->skip_sync)
		notify_session_flush(client);
	client_send_tagged(client, cmd);
	client_command_free(client);
	/* Drop the command's arguments now: an APPEND literal may be large,
	 * and the next parse may be far off. */
	imap_parser_release(client->parser);
	if (client->state == CLIENT_STATE_LOGOUT)
		conn_close_after_output(client->conn, "logout");
	if (client->starttls)
		client_discard_input(client);
}

/* Acts on what a handler returned. */
static void
client_command_result(struct client *client, enum cmd_result r)
{
	if (r == CMD_DONE)
		client_finish_command(client);
	else if (r == CMD_WAIT_EVENT)
		client->command->waiting_event = true;
}

static void
client_call(struct client *client)
{
	struct command *cmd = client->command;
	/* Changes the command commits name this session as their origin,
	 * so its own NOTIFY does not echo them (RFC 5465 5). */
	client->worker->origin = client->id;
	enum cmd_result r = cmd->func(cmd);
	client->worker->origin = 0;
	client_command_result(client, r);
}

void
client_command_resume(struct client *client, enum cmd_result r)
{
	if (client->destroyed || client->command == NULL)
		return;
	client->command->waiting_event = false;
	client_command_result(client, r);
	if (!client->destroyed)
		conn_run(client->conn);
}

/* Finds whether the command may run in the current state. */
static const char *
client_state_error(const struct client *client, const struct command_def *def)
{
	unsigned need;
	switch (client->state) {
	case CLIENT_STATE_NOT_AUTHENTICATED:
		need = CMD_FLAG_NOT_AUTH;
		break;
	case CLIENT_STATE_AUTHENTICATED:
		need = CMD_FLAG_AUTH;
		break;
	case CLIENT_STATE_SELECTED:
		need = CMD_FLAG_SELECTED;
		break;
	default:
		return "Logging out";
	}
	if ((def->flags & need) != 0)
		return NULL;
	if (client->state == CLIENT_STATE_NOT_AUTHENTICATED)
		return "Log in first";
	if ((def->flags & CMD_FLAG_SELECTED) != 0)
		return "No mailbox selected";
	return "Already logged in";
}

static void
client_start_command(struct client *client,
                     const struct imap_command_line *line)
{
	const char *name = line->name;
	const struct imap_arg *args = line->args;
	size_t arg_count = line->arg_count;
	bool uid = false;
	if (strcasecmp(name, "UID") == 0) {
		if (arg_count == 0 || args[0].type != IMAP_ARG_ATOM) {
			client_send(client, "%s BAD Missing UID command\r\n",
			            line->tag);
			return;
		}
		uid = true;
		name = args[0].str;
		args++;
		arg_count--;
	}
	const struct command_def *def = command_find(name);
	if (def == NULL || (uid && !(def->flags & CMD_FLAG_UID))) {
		client_send(client, "%s BAD Unknown command\r\n", line->tag);
		return;
	}
	const char *state_error = client_state_error(client, def);
	if (state_error != NULL) {
		client_send(client, "%s BAD %s\r\n", line->tag, state_error);
		return;
	}
	struct arena *arena = arena_create(4096);
	struct command *cmd = arena_new(arena, struct command);
	cmd->client = client;
	cmd->arena = arena;
	cmd->def = def;
	cmd->tag = arena_strdup(arena, line->tag);
	cmd->name = def->name;
	cmd->uid = uid;
	/* The parser owns args until its next call, which comes only after
	 * this command has finished, so paused commands may keep using them. */
	cmd->args = args;
	cmd->arg_count = arg_count;
	cmd->func = def->func;
	client->command = cmd;
	client_call(client);
}

static void
client_parse_error(struct client *client)
{
	const struct imap_parser *p = client->parser;
	const char *tag = imap_parser_error_tag(p);
	const char *code;
	const char *result = "BAD";
	switch (imap_parser_error(p)) {
	case IMAP_PARSER_ERROR_LINE_TOO_LONG:
		code = "[TOOBIG] ";
		break;
	case IMAP_PARSER_ERROR_LITERAL_TOO_BIG:
		code = "[TOOBIG] ";
		result =
		    tag != NULL && !imap_parser_error_fatal(p) ? "NO" : "BAD";
		break;
	case IMAP_PARSER_ERROR_TOO_DEEP:
	case IMAP_PARSER_ERROR_TOO_MANY_ARGS:
		code = "[LIMIT] ";
		break;
	default:
		code = "[PARSE] ";
		break;
	}
	client_send(client, "%s %s %s%s\r\n", tag != NULL ? tag : "*", result,
	            code, imap_parser_error_text(p));
	if (imap_parser_error_fatal(p)) {
		client_send(client, "* BYE Too much invalid input\r\n");
		conn_close_after_output(client->conn, "closed by server");
	}
}

/* Handles one line of input for a command in CMD_WAIT_INPUT.  Returns
 * false if no full line is buffered yet. */
static bool
client_feed_wait_input(struct client *client)
{
	struct str *input = &client->conn->input;
	char *lf = memchr(input->data, '\n', input->len);
	if (lf == NULL) {
		if (input->len > CLIENT_WAIT_LINE_MAX) {
			client_send(client, "* BYE Line too long\r\n");
			conn_close_after_output(client->conn,
			                        "closed by server");
		}
		return false;
	}
	size_t line_len = (size_t)(lf - input->data);
	size_t consumed = line_len + 1;
	if (line_len > 0 && input->data[line_len - 1] == '\r')
		line_len--;
	struct command *cmd = client->command;
	char *line = arena_strndup(cmd->arena, input->data, line_len);
	secure_zero(input->data, consumed); /* may be a SASL secret */
	str_consume(input, consumed);
	client_command_result(client, cmd->input_line(cmd, line, line_len));
	return true;
}

/* Parses and runs buffered commands until input runs out, output backs
 * up, or a command pauses.  Returns false when nothing more can be done
 * now. */
static bool
client_step(struct client *client)
{
	struct conn *conn = client->conn;
	if (client->destroyed || conn->closing)
		return false;
	if (conn_output_pending(conn) > CONN_OUTPUT_HIGH)
		return false;
	struct command *cmd = client->command;
	if (cmd != NULL) {
		if (cmd->waiting_event)
			return false;
		if (cmd->input_line != NULL)
			return conn->input.len > 0 &&
			       client_feed_wait_input(client);
		/* A paused command resumes only after its bulk is out. */
		if (conn->bulk != NULL) {
			if (conn_flush(conn) < 0) {
				client_destroy(client, "write failed");
				return false;
			}
			if (conn->bulk != NULL)
				return false;
		}
		client_call(client);
		return true;
	}
	if (conn->input.len == 0)
		return false;
	size_t consumed = 0;
	const struct imap_command_line *line = NULL;
	enum imap_parse_result r =
	    imap_parser_parse(client->parser, conn->input.data, conn->input.len,
	                      &consumed, &line);
	str_consume(&conn->input, consumed);
	switch (r) {
	case IMAP_PARSE_MORE:
		return false;
	case IMAP_PARSE_CONTINUE:
		client_send(client, "+ Ready for literal data\r\n");
		return true;
	case IMAP_PARSE_ERROR:
		client_parse_error(client);
		return true;
	case IMAP_PARSE_COMMAND:
		client_start_command(client, line);
		if (client->command == NULL)
			imap_parser_release(client->parser);
		return true;
	}
	return false;
}

/* Tells the connection what the session can take now: no input while a
 * command runs or waits for another process, and a call on writability
 * while a command is paused (CMD_MORE) even with nothing left to write. */
static void
client_set_flow(struct client *client)
{
	struct command *cmd = client->command;
	bool busy =
	    cmd != NULL && cmd->input_line == NULL && !cmd->waiting_event;
	client->conn->want_drain = busy;
	client->conn->input_paused =
	    busy || (cmd != NULL && cmd->waiting_event);
}

/* RFC 9051 6.2.1 and the STARTTLS injection attacks (RFC 3207 bug
 * class, CVE-2011-0411 and kin): bytes that came with or after STARTTLS
 * in the clear are dropped, never parsed. */
static void
client_discard_input(struct client *client)
{
	struct str *input = &client->conn->input;
	if (input->len > 0) {
		secure_zero(input->data, input->len);
		str_consume(input, input->len);
	}
}

/* After STARTTLS's OK is written, the handshake begins. */
static void
client_start_tls(struct client *client)
{
	struct conn *conn = client->conn;
	client_discard_input(client);
	if (conn_flush(conn) < 0) {
		client_destroy(client, "write failed");
		return;
	}
	if (conn_output_pending(conn) > 0) {
		conn->want_drain = true;
		conn->input_paused = true;
		return;
	}
	client->starttls = false;
	client->secured = true;
	if (conn_start_tls(conn, client->worker->tls) < 0)
		client_destroy(client, "TLS failed to start");
}

/* True while IDLE waits for DONE. */
static bool
client_in_idle(const struct client *client)
{
	const struct command *cmd = client->command;
	return cmd != NULL && cmd->input_line != NULL &&
	       strcmp(cmd->name, "IDLE") == 0;
}

/* The connection's run(): as many steps as can be done now. */
static void
client_run_steps(void *context)
{
	struct client *client = context;
	while (!client->starttls && client_step(client)) {
		/* A step may end the session or hand it over. */
		if (client->destroyed)
			return;
		/* Write early so a long pipeline streams. */
		if (client->conn->output.len > CONN_OUTPUT_HIGH / 2 &&
		    conn_flush(client->conn) < 0) {
			client_destroy(client, "write failed");
			return;
		}
	}
	if (client->destroyed)
		return;
	/* Between commands, or in IDLE: updates held back for output to
	 * drain, or noted by the worker, go now. */
	if (client->command == NULL)
		client_push_updates(client, CLIENT_PUSH_BETWEEN);
	else if (client_in_idle(client))
		client_push_updates(client, CLIENT_PUSH_IDLE);
	client_set_flow(client);
	if (client->starttls)
		client_start_tls(client);
}

/*
 * The selected mailbox's changes, pushed (not before a tagged line).
 * force: look even if no hub notice came (IDLE's start).
 */
static void
client_push_view(struct client *client, bool idle, bool force)
{
	if (!client->mailbox_changed && !force)
		return;
	if (client->notify == NULL) {
		/* Plain IMAP: only IDLE hears at once (RFC 9051 6.3.13). */
		if (!idle)
			return;
		client_sync_view(client, true, true);
		client->mailbox_changed = false;
		return;
	}
	bool delayed;
	unsigned events =
	    notify_session_selected_events(client->notify, &delayed);
	/* RFC 5465 3.1: without a selected group the client wants no
	 * message events for it, and 4: IDLE sends just what NOTIFY asked
	 * for.  The changes then wait for a command's end. */
	if ((events & NOTIFY_EVENT_MESSAGE_NEW) == 0)
		return;
	/* 6.1: selected-delayed holds expunges back until a command that
	 * may report them runs, and IDLE may. */
	client_sync_view(client, idle || !delayed,
	                 (events & NOTIFY_EVENT_FLAG_CHANGE) != 0);
	client->mailbox_changed = false;
}

void
client_push_updates(struct client *client, enum client_push when)
{
	bool idle = when != CLIENT_PUSH_BETWEEN;
	struct conn *conn = client->conn;
	if (client->destroyed || conn->closing || conn->bulk != NULL)
		return;
	/* A client that does not read gets nothing more now; run() comes
	 * again as the output drains, and the changes stay noted. */
	if (conn_output_pending(conn) > CLIENT_OUTPUT_HIGH)
		return;
	if (client->view != NULL && client->state == CLIENT_STATE_SELECTED)
		client_push_view(client, idle, when == CLIENT_PUSH_IDLE_START);
	if (client->notify != NULL && !client->destroyed)
		notify_session_flush(client);
}

void
client_wake(struct client *client)
{
	if (client->destroyed)
		return;
	/* Outside IDLE a running command sends the news before its tagged
	 * line, and without NOTIFY nothing is sent between commands. */
	if (!client_in_idle(client) &&
	    (client->command != NULL || client->notify == NULL))
		return;
	conn_run(client->conn);
}
