/* COPY and MOVE with their UID forms (RFC 9051 6.4.7, 6.4.8; MOVE RFC
 * 6851; COPYUID from UIDPLUS RFC 4315). */
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/mailbox-name.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "store/store.h"

static enum cmd_result
copy_run(struct command *cmd, bool move)
{
	struct client *client = cmd->client;
	struct mailbox_view *view = client->view;
	const char *raw, *error;
	size_t raw_len;
	if (cmd->arg_count != 2 || cmd->args[0].type != IMAP_ARG_ATOM ||
	    !imap_arg_get_astring(&cmd->args[1], &raw, &raw_len))
		return cmd_bad(cmd, "%s needs a set and a mailbox", cmd->name);
	uint32_t *uids;
	size_t uid_count;
	if (view_resolve_set(view, cmd->arena, cmd->args[0].str,
	                     cmd->args[0].len, cmd->uid, &uids, &uid_count,
	                     &error) < 0)
		return cmd_bad(cmd, "%s", error);
	const char *name = mailbox_name_from_client(
	    cmd->arena, raw, raw_len, client_utf8(client), false, &error);
	if (name == NULL)
		return cmd_no(cmd, "[TRYCREATE] %s", error);
	if (move && view->readonly)
		return cmd_no(cmd, "[READ-ONLY] Mailbox is read-only");
	struct store *store = client_store(client);
	struct store_mailbox dst;
	enum store_result r = store_mailbox_find(store, client->user_id, name,
	                                         cmd->arena, &dst, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[TRYCREATE] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	if (uid_count == 0)
		return cmd_ok(cmd, "%s completed, nothing to do", cmd->name);
	uint32_t *src_uids, *dst_uids, uidvalidity;
	size_t count;
	r = store_messages_copy(store, view->mailbox_id, uids, uid_count,
	                        dst.id, move, cmd->arena, &src_uids, &dst_uids,
	                        &count, &uidvalidity, &error);
	if (r == STORE_LIMIT)
		return cmd_no(cmd, "[LIMIT] %s", error);
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	if (count == 0)
		return cmd_ok(cmd, "%s completed, nothing to do", cmd->name);
	struct str code;
	str_init(&code, 1024 * 1024);
	str_printf(&code, "[COPYUID %u ", uidvalidity);
	imap_write_uid_set(&code, src_uids, count);
	str_append_char(&code, ' ');
	imap_write_uid_set(&code, dst_uids, count);
	str_append_char(&code, ']');
	enum cmd_result result;
	if (move) {
		/* RFC 6851 4.3: COPYUID goes in an untagged OK before the
		 * EXPUNGE responses, which the closing sync sends. */
		client_send(client, "* OK %s Moved\r\n", code.data);
		result = cmd_ok(cmd, "MOVE completed");
	} else {
		result = cmd_ok(cmd, "%s COPY completed", code.data);
	}
	str_free(&code);
	return result;
}

enum cmd_result
cmd_copy(struct command *cmd)
{
	return copy_run(cmd, false);
}

enum cmd_result
cmd_move(struct command *cmd)
{
	return copy_run(cmd, true);
}
