/* IDLE (RFC 9051 6.3.13, RFC 2177): updates go out the moment another
 * session or a delivery changes the mailbox (client_wake), and
 * "* OK Still here" keeps NATs from forgetting the flow
 * (client_idle_begin). */
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"

static void
idle_cleanup(struct command *cmd)
{
	client_idle_end(cmd->client);
}

static enum cmd_result
idle_input(struct command *cmd, const char *line, size_t len)
{
	cmd->input_line = NULL;
	client_idle_end(cmd->client);
	if (len != 4 || strncasecmp(line, "DONE", 4) != 0)
		return cmd_bad(cmd, "Expected DONE");
	return cmd_ok(cmd, "IDLE terminated");
}

enum cmd_result
cmd_idle(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "IDLE takes no arguments");
	/* Changes that came before IDLE are sent right away (with NOTIFY,
	 * those it asked for: RFC 5465 4). */
	client_push_updates(client, CLIENT_PUSH_IDLE_START);
	client_send(client, "+ idling\r\n");
	cmd->input_line = idle_input;
	cmd->cleanup = idle_cleanup;
	client_idle_begin(client);
	return CMD_WAIT_INPUT;
}
