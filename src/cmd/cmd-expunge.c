/* EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, 6.4.9; UIDPLUS RFC 4315).
 * The store removes the messages; the EXPUNGE responses come from the
 * view sync that ends every command, exactly as for other sessions. */
#include "imap/client.h"
#include "imap/command.h"
#include "imap/view.h"
#include "store/store.h"

enum cmd_result
cmd_expunge(struct command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox_view *view = client->view;
	const uint32_t *only = NULL;
	uint32_t *set_uids;
	size_t only_count = 0;
	const char *error;
	if (cmd->uid) {
		if (cmd->arg_count != 1 || cmd->args[0].type != IMAP_ARG_ATOM)
			return cmd_bad(cmd, "UID EXPUNGE needs a UID set");
		if (view_resolve_set(view, cmd->arena, cmd->args[0].str,
		                     cmd->args[0].len, true, &set_uids,
		                     &only_count, &error) < 0)
			return cmd_bad(cmd, "%s", error);
		if (only_count == 0)
			return cmd_ok(cmd, "UID EXPUNGE completed");
		only = set_uids;
	} else if (cmd->arg_count != 0) {
		return cmd_bad(cmd, "EXPUNGE takes no arguments");
	}
	if (view->readonly)
		return cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	uint32_t *expunged;
	size_t count;
	if (store_expunge(client_store(client), view->mailbox_id, only,
	                  only_count, cmd->arena, &expunged, &count,
	                  &error) != STORE_OK)
		return cmd_store_error(cmd, error);
	return cmd_ok(cmd, "%sEXPUNGE completed", cmd->uid ? "UID " : "");
}
