/*
 * LOGIN and AUTHENTICATE (RFC 9051 6.2.2, 6.2.3; SASL-IR, RFC 4959).  The
 * session only frames the exchange: mechanisms run in the auth process
 * (auth/auth-server.h), which this login process reaches through
 * login/auth-client.h.  LOGIN is PLAIN with the user name and password
 * as its initial response.
 */
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"
#include "lib/arena.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/util.h"
#include "login/auth-client.h"

/* Bounds of what we accept as LOGIN credentials. */
#define LOGIN_USER_MAX     256
#define LOGIN_PASSWORD_MAX 1024

/* A command's exchange with the auth process. */
struct login_exchange {
	struct command *cmd;
	struct auth_request *request; /* NULL once it ended */
	/* Set when the final data went out as a challenge: the login
	 * completes on the client's empty answer. */
	const char *user;
	const unsigned char *ticket;
	size_t ticket_len;
};

static void
login_exchange_cleanup(struct command *cmd)
{
	struct login_exchange *ex = cmd->context;
	if (ex != NULL)
		auth_request_abort(&ex->request);
}

static enum cmd_result
login_failed(struct command *cmd, enum sasl_failure failure)
{
	/* Our own trouble is not the client's failure. */
	if (failure != SASL_FAIL_TEMPORARY)
		client_auth_failed(cmd->client);
	switch (failure) {
	case SASL_FAIL_AUTHZ:
		return cmd_no(cmd, "[AUTHORIZATIONFAILED] Not authorized");
	case SASL_FAIL_TEMPORARY:
		return cmd_no(cmd, "[UNAVAILABLE] Authentication is not "
		                   "available now; try again later");
	case SASL_FAIL_CANCELLED:
		return cmd_bad(cmd, "Authentication cancelled");
	default:
		return cmd_no(cmd, "[AUTHENTICATIONFAILED] Authentication "
		                   "failed");
	}
}

static enum cmd_result login_sasl_line(struct command *cmd, const char *line,
                                       size_t len);

/* Sends "+ base64(data)" and waits for the client's line. */
static void
login_send_challenge(struct command *cmd, const unsigned char *data, size_t len)
{
	char *b64 = arena_alloc(cmd->arena, 4 * ((len + 2) / 3) + 1);
	base64_encode(data, len, b64);
	client_send(cmd->client, "+ %s\r\n", b64);
	cmd->input_line = login_sasl_line;
}

static void
login_reply(void *context, const struct auth_reply *reply)
{
	struct login_exchange *ex = context;
	struct command *cmd = ex->cmd;
	enum cmd_result r = CMD_WAIT_EVENT;
	if (reply->status != AUTH_REPLY_CONTINUE)
		ex->request = NULL;
	/* The client went away earlier in this batch of events: its
	 * memory lives until the batch ends, its connection does not.
	 * (Seen: a handover of a closed connection, under bench-smoke's
	 * authstorm.) */
	if (cmd->client->destroyed)
		return;
	switch (reply->status) {
	case AUTH_REPLY_CONTINUE:
		login_send_challenge(cmd, reply->data, reply->data_len);
		r = CMD_WAIT_INPUT;
		break;
	case AUTH_REPLY_OK:
		/* RFC 9051 6.2.2: additional data with success goes out as
		 * a last challenge, answered by an empty line. */
		if (reply->data_len > 0) {
			login_send_challenge(cmd, reply->data, reply->data_len);
			ex->user = arena_strdup(cmd->arena, reply->user);
			ex->ticket = arena_memdup(cmd->arena, reply->ticket,
			                          reply->ticket_len);
			ex->ticket_len = reply->ticket_len;
			r = CMD_WAIT_INPUT;
			break;
		}
		r = client_authenticated(cmd->client, cmd, reply->user,
		                         reply->ticket, reply->ticket_len);
		break;
	case AUTH_REPLY_FAIL:
		r = login_failed(cmd, reply->failure);
		break;
	}
	client_command_resume(cmd->client, r);
}

/* One line of the client's SASL answer: base64, or "*" to cancel. */
static enum cmd_result
login_sasl_line(struct command *cmd, const char *line, size_t len)
{
	struct login_exchange *ex = cmd->context;
	cmd->input_line = NULL;
	if (len == 1 && line[0] == '*') {
		auth_request_abort(&ex->request);
		return login_failed(cmd, SASL_FAIL_CANCELLED);
	}
	if (ex->user != NULL) {
		if (len != 0)
			return login_failed(cmd, SASL_FAIL_MALFORMED);
		return client_authenticated(cmd->client, cmd, ex->user,
		                            ex->ticket, ex->ticket_len);
	}
	unsigned char *raw = arena_alloc(cmd->arena, base64_decoded_max(len));
	size_t raw_len;
	if (!base64_decode(line, len, raw, &raw_len)) {
		auth_request_abort(&ex->request);
		return cmd_bad(cmd, "Invalid base64 in response");
	}
	/* The auth process takes no more: a longer one would be a broken
	 * message on the channel every session of this process shares. */
	if (raw_len > SASL_INPUT_MAX) {
		secure_zero(raw, raw_len);
		auth_request_abort(&ex->request);
		return cmd_bad(cmd, "[TOOBIG] Response too long");
	}
	auth_request_continue(ex->request, raw, raw_len);
	secure_zero(raw, raw_len);
	return CMD_WAIT_EVENT;
}

/* Starts an exchange with the auth process. */
static enum cmd_result
login_begin(struct command *cmd, const char *mech, const unsigned char *ir,
            size_t ir_len)
{
	struct client *client = cmd->client;
	struct login_exchange *ex =
	    arena_new(cmd->arena, struct login_exchange);
	ex->cmd = cmd;
	struct sasl_conn_info info;
	client_sasl_info(client, &info);
	ex->request = auth_client_begin(client_auth(client), mech, ir, ir_len,
	                                &info, client_plaintext_allowed(client),
	                                login_reply, ex);
	secure_zero(&info, sizeof(info));
	if (ex->request == NULL)
		return login_failed(cmd, SASL_FAIL_TEMPORARY);
	cmd->context = ex;
	cmd->cleanup = login_exchange_cleanup;
	return CMD_WAIT_EVENT;
}

enum cmd_result
cmd_login(struct command *cmd)
{
	const char *user, *password;
	size_t user_len, password_len;
	if (cmd->arg_count != 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &user, &user_len) ||
	    !imap_arg_get_astring(&cmd->args[1], &password, &password_len))
		return cmd_bad(cmd, "LOGIN needs a user name and a password");
	/* RFC 9051 6.2.3: refused without TLS, and LOGINDISABLED says so. */
	if (!client_plaintext_allowed(cmd->client))
		return cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
	if (user_len == 0 || user_len > LOGIN_USER_MAX ||
	    password_len > LOGIN_PASSWORD_MAX)
		return login_failed(cmd, SASL_FAIL_CREDENTIALS);
	/* PLAIN's message: NUL user NUL password (RFC 4616 2). */
	size_t len = 1 + user_len + 1 + password_len;
	unsigned char *plain = arena_alloc(cmd->arena, len);
	memcpy(plain + 1, user, user_len);
	memcpy(plain + 2 + user_len, password, password_len);
	enum cmd_result r = login_begin(cmd, "PLAIN", plain, len);
	secure_zero(plain, len);
	return r;
}

/* Decodes a SASL-IR initial response: "=" is an empty one (RFC 4959). */
static bool
login_initial_response(struct command *cmd, const struct imap_arg *arg,
                       unsigned char **raw_r, size_t *len_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return false;
	*raw_r = arena_alloc(cmd->arena, base64_decoded_max(arg->len));
	if (arg->len == 1 && arg->str[0] == '=') {
		*len_r = 0;
		return true;
	}
	return base64_decode(arg->str, arg->len, *raw_r, len_r);
}

enum cmd_result
cmd_authenticate(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM)
		return cmd_bad(cmd, "AUTHENTICATE needs a mechanism name");
	const char *mech = cmd->args[0].str;
	switch (client_mech_usable(client, mech)) {
	case CLIENT_MECH_UNKNOWN:
		return cmd_no(cmd, "[CANNOT] Unsupported mechanism");
	case CLIENT_MECH_NEEDS_TLS:
		return cmd_no(cmd, "[PRIVACYREQUIRED] Use STARTTLS first");
	case CLIENT_MECH_USABLE:
		break;
	}
	unsigned char *ir = NULL;
	size_t ir_len = 0;
	if (cmd->arg_count == 2 &&
	    !login_initial_response(cmd, &cmd->args[1], &ir, &ir_len))
		return cmd_bad(cmd, "Invalid initial response");
	enum cmd_result r = login_begin(cmd, mech, ir, ir_len);
	if (ir != NULL)
		secure_zero(ir, ir_len);
	return r;
}
