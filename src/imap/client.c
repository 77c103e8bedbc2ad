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
#include "imap/parser.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "lib/util.h"
#include "auth/sasl.h"
#include "login/auth-client.h"
#include "net/worker.h"
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
/* Failed authentications per connection before it is closed. */
#define CLIENT_AUTH_FAILURES_MAX 5

static void client_io(struct loop_io *io, uint32_t events);
static void client_run(struct client *client);

struct client *
client_create(struct worker *worker, int fd, const struct client_peer *peer)
{
	struct client *client = xcalloc(1, sizeof(*client));
	client->worker = worker;
	client->id = ++worker->next_client_id * 64 + worker->index;
	casella_strlcpy(client->peer, peer->name, sizeof(client->peer));
	casella_strlcpy(client->peer_ip, peer->ip, sizeof(client->peer_ip));
	client->peer_loopback = peer->loopback;
	client->io.fd = fd;
	client->io.callback = client_io;
	client->io.context = client;
	client->state = CLIENT_STATE_NOT_AUTHENTICATED;
	client->parser = imap_parser_create(&preauth_limits);
	/* Room for the longest SASL line, and a chunk read beyond it. */
	str_init(&client->input, CLIENT_WAIT_LINE_MAX + CLIENT_INPUT_CHUNK);
	str_init(&client->output, CLIENT_OUTPUT_MAX);
	worker_client_add(worker, client);
	if (loop_io_add(worker->loop, &client->io, EPOLLIN) < 0) {
		client_destroy(client, "epoll failed");
		return client;
	}
	log_info("session=%llx connect peer=%s", (unsigned long long)client->id,
	         client->peer);
	client_send(client, "* OK [CAPABILITY %s] Casella ready\r\n",
	            client_capabilities(client));
	client_run(client);
	return client;
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

void
client_destroy(struct client *client, const char *reason)
{
	if (client->destroyed)
		return;
	client->destroyed = true;
	log_info("session=%llx disconnect reason=\"%s\"",
	         (unsigned long long)client->id, reason);
	loop_io_remove(client->worker->loop, &client->io);
	close(client->io.fd);
	client->io.fd = -1;
	worker_client_remove(client->worker, client);
	worker_client_bury(client->worker, client);
}

void
client_free(struct client *client)
{
	client_command_free(client);
	if (client->bulk != NULL && client->bulk_release != NULL)
		client->bulk_release(client->bulk, client->bulk_len);
	view_close(&client->view);
	imap_parser_destroy(&client->parser);
	str_free(&client->input);
	str_free(&client->output);
	free(client->username);
	free(client);
}

void
client_send_raw(struct client *client, const void *data, size_t len)
{
	i_assert(client->bulk == NULL);
	str_append(&client->output, data, len);
}

void
client_send(struct client *client, const char *fmt, ...)
{
	i_assert(client->bulk == NULL);
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(&client->output, fmt, ap);
	va_end(ap);
}

void
client_send_bulk(struct client *client, const char *data, size_t len,
                 void (*release)(const char *data, size_t len))
{
	i_assert(client->bulk == NULL);
	client->bulk = data;
	client->bulk_len = len;
	client->bulk_sent = 0;
	client->bulk_release = release;
}

size_t
client_output_pending(const struct client *client)
{
	return client->output.len + (client->bulk != NULL
	                                 ? client->bulk_len - client->bulk_sent
	                                 : 0);
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
	worker_client_touch(client->worker, client);
}

bool
client_plaintext_allowed(const struct client *client)
{
	return client->secured || client->peer_loopback;
}

/* Whether a mechanism with these flags may be used on this session. */
static enum client_mech_use
client_mech_flags_use(const struct client *client, unsigned flags)
{
	if ((flags & SASL_MECH_NEEDS_TLS) != 0 && !client->secured)
		return CLIENT_MECH_NEEDS_TLS;
	if ((flags & SASL_MECH_PLAINTEXT) != 0 &&
	    !client_plaintext_allowed(client))
		return CLIENT_MECH_NEEDS_TLS;
	return CLIENT_MECH_USABLE;
}

enum client_mech_use
client_mech_usable(const struct client *client, const char *mech)
{
	const struct auth_client *auth = client->worker->auth;
	const char *name;
	unsigned flags;
	for (size_t i = 0; (name = auth_client_mech(auth, i, &flags)) != NULL;
	     i++) {
		if (strcasecmp(name, mech) == 0)
			return client_mech_flags_use(client, flags);
	}
	return CLIENT_MECH_UNKNOWN;
}

/* "AUTH=..." for every mechanism usable now (RFC 9051 7.2.2). */
static void
client_auth_capabilities(const struct client *client, struct str *out)
{
	const struct auth_client *auth = client->worker->auth;
	const char *name;
	unsigned flags;
	for (size_t i = 0; (name = auth_client_mech(auth, i, &flags)) != NULL;
	     i++) {
		if (client_mech_flags_use(client, flags) == CLIENT_MECH_USABLE)
			str_printf(out, " AUTH=%s", name);
	}
	if (!client_plaintext_allowed(client))
		str_append_cstr(out, " LOGINDISABLED");
}

const char *
client_capabilities(const struct client *client)
{
	static _Thread_local char buf[1024];
	if (client->state != CLIENT_STATE_NOT_AUTHENTICATED) {
		return "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL+ ID ENABLE IDLE "
		       "NAMESPACE UNSELECT UIDPLUS MOVE MULTIAPPEND CHILDREN "
		       "LIST-EXTENDED LIST-STATUS SPECIAL-USE "
		       "CREATE-SPECIAL-USE ESEARCH STATUS=SIZE SORT "
		       "SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES "
		       "ESORT";
	}
	struct str out;
	str_init(&out, sizeof(buf) - 1);
	str_append_cstr(&out, "IMAP4rev1 IMAP4rev2 SASL-IR LITERAL- ID "
	                      "ENABLE IDLE");
	client_auth_capabilities(client, &out);
	casella_strlcpy(buf, out.data, sizeof(buf));
	str_free(&out);
	return buf;
}

void
client_sasl_info(const struct client *client, struct sasl_conn_info *info_r)
{
	memset(info_r, 0, sizeof(*info_r));
	info_r->secured = client->secured;
	info_r->trusted = client->peer_loopback;
	info_r->peer_ip = client->peer_ip;
	info_r->session_id = client->id;
}

struct auth_client *
client_auth(struct client *client)
{
	return client->worker->auth;
}

void
client_auth_failed(struct client *client)
{
	/* The auth process delays and throttles; this only stops one
	 * connection from trying for ever. */
	if (++client->auth_failures >= CLIENT_AUTH_FAILURES_MAX) {
		client_send(client, "* BYE Too many authentication "
		                    "failures\r\n");
		client->closing = true;
	}
}

enum cmd_result
client_authenticated(struct client *client, struct command *cmd,
                     const char *user, const unsigned char *ticket,
                     size_t ticket_len)
{
	int64_t user_id;
	const char *error;
	enum store_result r =
	    store_user_lookup(client_store(client), user, &user_id, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication "
		                   "failed");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	client_login(client, user_id, user);
	return cmd_ok(cmd, "[CAPABILITY %s] Logged in",
	              client_capabilities(client));
}

/* Writes as much queued output as the socket takes.  Returns -1 if the
 * connection failed. */
static int
client_flush(struct client *client)
{
	while (client_output_pending(client) > 0) {
		struct iovec iov[2];
		int n = 0;
		if (client->output.len > 0) {
			iov[n].iov_base = client->output.data;
			iov[n++].iov_len = client->output.len;
		}
		if (client->bulk != NULL) {
			iov[n].iov_base =
			    (char *)client->bulk + client->bulk_sent;
			iov[n++].iov_len = client->bulk_len - client->bulk_sent;
		}
		ssize_t w = writev(client->io.fd, iov, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		size_t written = (size_t)w;
		size_t from_output =
		    written < client->output.len ? written : client->output.len;
		str_consume(&client->output, from_output);
		client->bulk_sent += written - from_output;
		if (client->bulk != NULL &&
		    client->bulk_sent == client->bulk_len) {
			if (client->bulk_release != NULL)
				client->bulk_release(client->bulk,
				                     client->bulk_len);
			client->bulk = NULL;
		}
	}
	/* An idle session keeps no output memory (STYLE.md 4). */
	str_shrink(&client->output, 4096);
	return 0;
}

static void
client_send_tagged(struct client *client, struct command *cmd)
{
	i_assert(cmd->result != NULL);
	client_send(client, "%s %s %s\r\n", cmd->tag, cmd->result,
	            cmd->result_text != NULL ? cmd->result_text : "done");
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
		const char *error;
		if (view_sync(client, allow_expunge, &error) < 0)
			log_error("session=%llx sync failed: %s",
			          (unsigned long long)client->id, error);
		client->mailbox_changed = false;
	}
	client_send_tagged(client, cmd);
	client_command_free(client);
	/* Drop the command's arguments now: an APPEND literal may be large,
	 * and the next parse may be far off. */
	imap_parser_release(client->parser);
	if (client->state == CLIENT_STATE_LOGOUT)
		client->closing = true;
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
	client_command_result(client, cmd->func(cmd));
}

void
client_command_resume(struct client *client, enum cmd_result r)
{
	if (client->destroyed || client->command == NULL)
		return;
	client->command->waiting_event = false;
	client_command_result(client, r);
	client_run(client);
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
		client->closing = true;
	}
}

/* Handles one line of input for a command in CMD_WAIT_INPUT.  Returns
 * false if no full line is buffered yet. */
static bool
client_feed_wait_input(struct client *client)
{
	char *lf = memchr(client->input.data, '\n', client->input.len);
	if (lf == NULL) {
		if (client->input.len > CLIENT_WAIT_LINE_MAX) {
			client_send(client, "* BYE Line too long\r\n");
			client->closing = true;
		}
		return false;
	}
	size_t line_len = (size_t)(lf - client->input.data);
	size_t consumed = line_len + 1;
	if (line_len > 0 && client->input.data[line_len - 1] == '\r')
		line_len--;
	struct command *cmd = client->command;
	char *line = arena_strndup(cmd->arena, client->input.data, line_len);
	str_consume(&client->input, consumed);
	client_command_result(client, cmd->input_line(cmd, line, line_len));
	return true;
}

/* Parses and runs buffered commands until input runs out, output backs
 * up, or a command pauses.  Returns false when nothing more can be done
 * now. */
static bool
client_step(struct client *client)
{
	if (client->closing || client->destroyed)
		return false;
	if (client_output_pending(client) > CLIENT_OUTPUT_HIGH)
		return false;
	struct command *cmd = client->command;
	if (cmd != NULL) {
		if (cmd->waiting_event)
			return false;
		if (cmd->input_line != NULL)
			return client->input.len > 0 &&
			       client_feed_wait_input(client);
		/* A paused command resumes only after its bulk is out. */
		if (client->bulk != NULL) {
			if (client_flush(client) < 0) {
				client_destroy(client, "write failed");
				return false;
			}
			if (client->bulk != NULL)
				return false;
		}
		client_call(client);
		return true;
	}
	if (client->input.len == 0)
		return false;
	size_t consumed = 0;
	const struct imap_command_line *line = NULL;
	enum imap_parse_result r =
	    imap_parser_parse(client->parser, client->input.data,
	                      client->input.len, &consumed, &line);
	str_consume(&client->input, consumed);
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

/* Reads what the socket has, bounded by the input buffer.  Returns -1 on
 * error or EOF. */
static int
client_read(struct client *client)
{
	char buf[CLIENT_INPUT_CHUNK];
	size_t room = client->input.max - client->input.len;
	if (room == 0)
		return 0;
	ssize_t n =
	    read(client->io.fd, buf, room < sizeof(buf) ? room : sizeof(buf));
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) {
		client->input_closed = true;
		return -1;
	}
	str_append(&client->input, buf, (size_t)n);
	client->last_activity_ms = now_ms();
	worker_client_touch(client->worker, client);
	return 1;
}

/* Decides what to wait for next: input only when we can use it. */
static void
client_update_events(struct client *client)
{
	uint32_t events = 0;
	size_t pending = client_output_pending(client);
	bool busy = client->command != NULL &&
	            client->command->input_line == NULL &&
	            !client->command->waiting_event;
	bool waiting =
	    client->command != NULL && client->command->waiting_event;
	/* A paused command resumes on writability, even with nothing left
	 * to write (its bulk went out in client_run()'s last flush). */
	if (pending > 0 || busy)
		events |= EPOLLOUT;
	if (!client->closing && !busy && !waiting &&
	    pending <= CLIENT_OUTPUT_HIGH &&
	    client->input.len < client->input.max)
		events |= EPOLLIN;
	if (loop_io_update(client->worker->loop, &client->io, events) < 0)
		client_destroy(client, "epoll update failed");
}

static void
client_run(struct client *client)
{
	while (client_step(client)) {
		/* Write early so a long pipeline streams. */
		if (client->output.len > CLIENT_OUTPUT_HIGH / 2 &&
		    client_flush(client) < 0) {
			client_destroy(client, "write failed");
			return;
		}
	}
	if (client->destroyed)
		return;
	if (client_flush(client) < 0) {
		client_destroy(client, "write failed");
		return;
	}
	if (client->closing && client_output_pending(client) == 0) {
		client_destroy(client, client->state == CLIENT_STATE_LOGOUT
		                           ? "logout"
		                           : "closed by server");
		return;
	}
	if (str_failed(&client->output)) {
		client_destroy(client, "output limit exceeded");
		return;
	}
	/* An idle session keeps no input memory either. */
	if (client->input.len == 0)
		str_shrink(&client->input, 0);
	client_update_events(client);
}

static void
client_io(struct loop_io *io, uint32_t events)
{
	struct client *client = io->context;
	if (client->destroyed)
		return;
	if ((events & (EPOLLERR | EPOLLHUP)) != 0 && !(events & EPOLLIN)) {
		client_destroy(client, "connection reset");
		return;
	}
	if ((events & EPOLLOUT) != 0 && client_flush(client) < 0) {
		client_destroy(client, "write failed");
		return;
	}
	if ((events & EPOLLIN) != 0) {
		if (client_read(client) < 0) {
			client_destroy(client, client->input_closed
			                           ? "eof"
			                           : "read failed");
			return;
		}
	}
	client_run(client);
}

void
client_notify_mailbox(struct client *client)
{
	if (client->destroyed || client->view == NULL)
		return;
	client->mailbox_changed = true;
	struct command *cmd = client->command;
	/* Only IDLE listens while a command is running (RFC 9051 6.3.13:
	 * updates are sent at once during IDLE). */
	if (cmd == NULL || cmd->input_line == NULL ||
	    strcmp(cmd->name, "IDLE") != 0)
		return;
	const char *error;
	if (view_sync(client, true, &error) < 0)
		log_error("session=%llx sync failed: %s",
		          (unsigned long long)client->id, error);
	client->mailbox_changed = false;
	client_run(client);
}
