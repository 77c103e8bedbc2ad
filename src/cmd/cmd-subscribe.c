/* SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8). */
#include "imap/list-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/notify-session.h"
#include "store/store.h"

enum cmd_result
cmd_subscribe(struct command *cmd)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	struct store_mailbox mb;
	const char *error;
	if (cmd->arg_count != 1)
		return cmd_bad(cmd, "SUBSCRIBE needs a mailbox name");
	const char *name = mailbox_arg_name(cmd, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	/* RFC 9051 6.3.7: the server MAY check that the mailbox exists;
	 * we do, so typos don't linger in the subscription list. */
	enum store_result r = store_mailbox_find(store, client->user_id, name,
	                                         cmd->arena, &mb, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	r = store_subscription_set(store, client->user_id, name, true, &error);
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	notify_session_own_subscribe(client, name, true);
	return cmd_ok(cmd, "SUBSCRIBE completed");
}

enum cmd_result
cmd_unsubscribe(struct command *cmd)
{
	struct client *client = cmd->client;
	const char *error;
	if (cmd->arg_count != 1)
		return cmd_bad(cmd, "UNSUBSCRIBE needs a mailbox name");
	const char *name = mailbox_arg_name(cmd, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;
	/* The name need not exist as a mailbox (it may have been deleted
	 * since), and removing a name that isn't subscribed is harmless. */
	enum store_result r = store_subscription_set(
	    client_store(client), client->user_id, name, false, &error);
	if (r != STORE_OK && r != STORE_NOT_FOUND)
		return cmd_store_error(cmd, error);
	notify_session_own_subscribe(client, name, false);
	return cmd_ok(cmd, "UNSUBSCRIBE completed");
}
