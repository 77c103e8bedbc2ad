/* STARTTLS (RFC 9051 6.2.1; RFC 8314 for why implicit TLS is better). */
#include "imap/client.h"
#include "imap/command.h"
#include "imap/worker.h"

enum cmd_result
cmd_starttls(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "STARTTLS takes no arguments");
	if (client->secured)
		return cmd_bad(cmd, "TLS is already active");
	if (client->worker->tls == NULL)
		return cmd_no(cmd, "[CANNOT] TLS is not configured here");
	/* The handshake starts once this answer is out; anything the
	 * client sent after the command is thrown away unread, so nothing
	 * injected before TLS is ever executed (client_start_tls()). */
	client->starttls = true;
	return cmd_ok(cmd, "Begin TLS negotiation now");
}
