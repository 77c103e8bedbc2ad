/* IDLE (RFC 9051 6.3.13, RFC 2177): updates go out the moment another
 * session or a delivery changes the mailbox (client_notify_mailbox), and
 * "* OK Still here" keeps NATs from forgetting the flow
 * (client_idle_begin). */
#include <strings.h>

#include "imap/client.h"
#include "imap/command.h"
#include "imap/view.h"
#include "lib/log.h"

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
	/* Changes that came before IDLE are sent right away. */
	if (client->view != NULL) {
		const char *error;
		if (view_sync(client, true, &error) < 0)
			log_error("session=%llx sync failed: %s",
			          (unsigned long long)client->id, error);
		client->mailbox_changed = false;
	}
	client_send(client, "+ idling\r\n");
	cmd->input_line = idle_input;
	cmd->cleanup = idle_cleanup;
	client_idle_begin(client);
	return CMD_WAIT_INPUT;
}
