/* SELECT, EXAMINE, CLOSE and UNSELECT (RFC 9051 6.3.2, 6.3.3, 6.4.1,
 * 6.4.2). */
#include <string.h>

#include "imap/client.h"
#include "imap/command.h"
#include "imap/mailbox-name.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "store/store.h"

static void
select_close_current(struct client *client)
{
	if (client->view == NULL)
		return;
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	/* RFC 9051 7.1: [CLOSED] marks where the old mailbox's responses
	 * end, so the client can tell them from the new one's. */
	client_send(client, "* OK [CLOSED] Previous mailbox closed\r\n");
}

static enum cmd_result
select_open(struct command *cmd, bool readonly)
{
	struct client *client = cmd->client;
	const char *raw, *error;
	size_t raw_len;
	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &raw, &raw_len))
		return cmd_bad(cmd, "%s needs a mailbox name", cmd->name);
	if (cmd->arg_count == 2 && (cmd->args[1].type != IMAP_ARG_LIST ||
	                            cmd->args[1].list_count != 0))
		return cmd_bad(cmd, "Unsupported %s parameters", cmd->name);
	const char *name = mailbox_name_from_client(
	    cmd->arena, raw, raw_len, client_utf8(client), false, &error);
	select_close_current(client);
	if (name == NULL)
		return cmd_no(cmd, "[NONEXISTENT] %s", error);
	struct store_mailbox mailbox;
	enum store_result r =
	    store_mailbox_find(client_store(client), client->user_id, name,
	                       cmd->arena, &mailbox, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	if (view_open(client, &mailbox, readonly, &error) < 0)
		return cmd_store_error(cmd, error);
	client->state = CLIENT_STATE_SELECTED;
	return cmd_ok(cmd, "[%s] %s completed",
	              readonly ? "READ-ONLY" : "READ-WRITE", cmd->name);
}

enum cmd_result
cmd_select(struct command *cmd)
{
	return select_open(cmd, false);
}

enum cmd_result
cmd_examine(struct command *cmd)
{
	return select_open(cmd, true);
}

enum cmd_result
cmd_close(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CLOSE takes no arguments");
	cmd->skip_sync = true;
	if (!client->view->readonly) {
		/* RFC 9051 6.4.1: expunge silently, no EXPUNGE responses. */
		uint32_t *uids;
		size_t count;
		const char *error;
		if (store_expunge(client_store(client),
		                  client->view->mailbox_id, NULL, 0, cmd->arena,
		                  &uids, &count, &error) != STORE_OK) {
			view_close(&client->view);
			client->state = CLIENT_STATE_AUTHENTICATED;
			return cmd_store_error(cmd, error);
		}
	}
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	return cmd_ok(cmd, "CLOSE completed");
}

enum cmd_result
cmd_unselect(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "UNSELECT takes no arguments");
	cmd->skip_sync = true;
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	return cmd_ok(cmd, "UNSELECT completed");
}
