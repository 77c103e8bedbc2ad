/* Commands about the session itself: CAPABILITY, NOOP, CHECK, LOGOUT, ID,
 * ENABLE, NAMESPACE. */
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "lib/log.h"
#include "lib/str.h"

/* ID (RFC 2971) keeps at most this many fields from the client. */
#define ID_MAX_FIELDS 30

enum cmd_result
cmd_capability(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CAPABILITY takes no arguments");
	client_send(cmd->client, "* CAPABILITY %s\r\n",
	            client_capabilities(cmd->client));
	return cmd_ok(cmd, "CAPABILITY completed");
}

enum cmd_result
cmd_noop(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "NOOP takes no arguments");
	return cmd_ok(cmd, "NOOP completed");
}

enum cmd_result
cmd_check(struct command *cmd)
{
	/* RFC 9051 removed CHECK; in rev1 it is a NOOP for us because every
	 * change is already durable. */
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CHECK takes no arguments");
	return cmd_ok(cmd, "CHECK completed");
}

enum cmd_result
cmd_logout(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "LOGOUT takes no arguments");
	client_send(cmd->client, "* BYE Logging out\r\n");
	cmd->client->state = CLIENT_STATE_LOGOUT;
	cmd->skip_sync = true;
	return cmd_ok(cmd, "LOGOUT completed");
}

enum cmd_result
cmd_id(struct command *cmd)
{
	/* RFC 2971: ID ("name" "value" ...) or ID NIL. */
	if (cmd->arg_count != 1)
		return cmd_bad(cmd, "ID takes one argument");
	const struct imap_arg *arg = &cmd->args[0];
	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count % 2 != 0 ||
		    arg->list_count > ID_MAX_FIELDS * 2)
			return cmd_bad(cmd, "Invalid ID parameter list");
		for (size_t i = 0; i < arg->list_count; i++) {
			const struct imap_arg *f = &arg->list[i];
			if (!imap_arg_is_string(f) && f->type != IMAP_ARG_NIL)
				return cmd_bad(cmd, "Invalid ID field");
		}
	} else if (arg->type != IMAP_ARG_NIL) {
		return cmd_bad(cmd, "ID needs a list or NIL");
	}
	client_send(cmd->client, "* ID (\"name\" \"Casella\" "
	                         "\"vendor\" \"Casella\")\r\n");
	return cmd_ok(cmd, "ID completed");
}

enum cmd_result
cmd_enable(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count == 0)
		return cmd_bad(cmd, "ENABLE needs capability names");
	struct str enabled;
	str_init(&enabled, 1024);
	for (size_t i = 0; i < cmd->arg_count; i++) {
		const struct imap_arg *arg = &cmd->args[i];
		if (arg->type != IMAP_ARG_ATOM) {
			str_free(&enabled);
			return cmd_bad(cmd, "ENABLE takes capability atoms");
		}
		unsigned bit = 0;
		if (strcasecmp(arg->str, "IMAP4rev2") == 0)
			bit = CLIENT_ENABLED_IMAP4REV2;
		else if (strcasecmp(arg->str, "UTF8=ACCEPT") == 0)
			bit = CLIENT_ENABLED_UTF8_ACCEPT;
		/* RFC 5161 3.1: unknown extensions are ignored; and one
		 * already enabled is not listed again. */
		if (bit == 0 || (client->enabled & bit) != 0)
			continue;
		client->enabled |= bit;
		str_printf(&enabled, " %s",
		           bit == CLIENT_ENABLED_IMAP4REV2 ? "IMAP4rev2"
		                                           : "UTF8=ACCEPT");
	}
	client_send(client, "* ENABLED%s\r\n",
	            enabled.data != NULL ? enabled.data : "");
	str_free(&enabled);
	return cmd_ok(cmd, "ENABLE completed");
}

enum cmd_result
cmd_namespace(struct command *cmd)
{
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "NAMESPACE takes no arguments");
	client_send(cmd->client, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	return cmd_ok(cmd, "NAMESPACE completed");
}
