/* LOGIN and AUTHENTICATE PLAIN (RFC 9051 6.2.2, 6.2.3; RFC 4616; SASL-IR
 * RFC 4959). */
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"
#include "lib/arena.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

/* Bounds of what we accept as credentials. */
#define LOGIN_USER_MAX     256
#define LOGIN_PASSWORD_MAX 1024

static enum cmd_result
login_check(struct command *cmd, const char *user, size_t user_len,
            const char *password, size_t password_len)
{
	struct client *client = cmd->client;
	char esc[128];
	if (user_len == 0 || user_len > LOGIN_USER_MAX ||
	    password_len > LOGIN_PASSWORD_MAX ||
	    memchr(user, '\0', user_len) != NULL ||
	    memchr(password, '\0', password_len) != NULL)
		return cmd_no(cmd,
		              "[AUTHENTICATIONFAILED] Invalid credentials");
	char *user_z = arena_strndup(cmd->arena, user, user_len);
	char *password_z = arena_strndup(cmd->arena, password, password_len);
	int64_t user_id;
	const char *error;
	enum store_result r = store_user_authenticate(
	    client_store(client), user_z, password_z, &user_id, &error);
	secure_zero(password_z, password_len);
	log_escape(esc, sizeof(esc), user, user_len);
	if (r == STORE_DENIED) {
		log_info("session=%llx login failed user=\"%s\"",
		         (unsigned long long)client->id, esc);
		return cmd_no(cmd,
		              "[AUTHENTICATIONFAILED] Invalid credentials");
	}
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	client_login(client, user_id, user_z);
	log_info("session=%llx login user=\"%s\"",
	         (unsigned long long)client->id, esc);
	return cmd_ok(cmd, "[CAPABILITY %s] Logged in",
	              client_capabilities(client));
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
	return login_check(cmd, user, user_len, password, password_len);
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static enum cmd_result
auth_plain_response(struct command *cmd, const char *b64, size_t len)
{
	if (len == 1 && b64[0] == '*')
		return cmd_bad(cmd, "Authentication cancelled");
	if (len == 1 && b64[0] == '=')
		len = 0; /* RFC 4959: "=" is an empty initial response */
	if (len > 4 * (LOGIN_USER_MAX * 2 + LOGIN_PASSWORD_MAX) / 3 + 8)
		return cmd_bad(cmd, "Authentication response too long");
	unsigned char *raw = arena_alloc(cmd->arena, base64_decoded_max(len));
	size_t raw_len;
	if (!base64_decode(b64, len, raw, &raw_len))
		return cmd_bad(cmd, "Invalid base64 in response");
	unsigned char *nul1 = memchr(raw, '\0', raw_len);
	unsigned char *nul2 =
	    nul1 == NULL
	        ? NULL
	        : memchr(nul1 + 1, '\0', raw_len - (size_t)(nul1 + 1 - raw));
	if (nul2 == NULL) {
		secure_zero(raw, raw_len);
		return cmd_bad(cmd, "Malformed PLAIN response");
	}
	const char *authzid = (const char *)raw;
	size_t authzid_len = (size_t)(nul1 - raw);
	const char *authcid = (const char *)nul1 + 1;
	size_t authcid_len = (size_t)(nul2 - nul1 - 1);
	const char *password = (const char *)nul2 + 1;
	size_t password_len = raw_len - (size_t)(nul2 + 1 - raw);
	enum cmd_result r;
	/* Logging in as someone else needs a master user; we have none. */
	if (authzid_len > 0 && (authzid_len != authcid_len ||
	                        memcmp(authzid, authcid, authcid_len) != 0))
		r = cmd_no(cmd, "[AUTHORIZATIONFAILED] Not authorized");
	else
		r = login_check(cmd, authcid, authcid_len, password,
		                password_len);
	secure_zero(raw, raw_len);
	return r;
}

static enum cmd_result
auth_plain_input(struct command *cmd, const char *line, size_t len)
{
	cmd->input_line = NULL;
	return auth_plain_response(cmd, line, len);
}

enum cmd_result
cmd_authenticate(struct command *cmd)
{
	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    cmd->args[0].type != IMAP_ARG_ATOM)
		return cmd_bad(cmd, "AUTHENTICATE needs a mechanism name");
	if (strcasecmp(cmd->args[0].str, "PLAIN") != 0)
		return cmd_no(cmd, "[CANNOT] Unsupported mechanism");
	if (cmd->arg_count == 2) {
		const struct imap_arg *ir = &cmd->args[1];
		if (ir->type != IMAP_ARG_ATOM)
			return cmd_bad(cmd, "Invalid initial response");
		return auth_plain_response(cmd, ir->str, ir->len);
	}
	client_send(cmd->client, "+ \r\n");
	cmd->input_line = auth_plain_input;
	return CMD_WAIT_INPUT;
}
