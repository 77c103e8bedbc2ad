/* APPEND with MULTIAPPEND (RFC 9051 6.3.12, RFC 3502) and APPENDUID
 * (UIDPLUS, RFC 4315).  All messages of one command are stored in one
 * transaction: all or nothing. */
#include <time.h>

#include "imap/flags-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-date.h"
#include "imap/imap-write.h"
#include "imap/mailbox-name.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "store/store.h"

/* Messages in one MULTIAPPEND. */
#define APPEND_MAX_MESSAGES 1000

/* Parses "[(flags)] [date-time] literal" at args[*pos]. */
static int
append_parse_one(struct command *cmd, size_t *pos,
                 struct store_append_request *req, const char **error_r)
{
	const struct imap_arg *args = cmd->args;
	size_t i = *pos;
	req->internaldate = (int64_t)time(NULL);
	req->internaldate_tz = 0;
	req->keywords = "";
	if (i < cmd->arg_count && args[i].type == IMAP_ARG_LIST) {
		if (flags_parse(cmd->arena, &args[i], true, &req->flags,
		                &req->keywords, error_r) < 0)
			return -1;
		i++;
	}
	if (i < cmd->arg_count && args[i].type == IMAP_ARG_QUOTED) {
		if (!imap_date_time_parse(args[i].str, args[i].len,
		                          &req->internaldate,
		                          &req->internaldate_tz)) {
			*error_r = "Invalid date-time";
			return -1;
		}
		i++;
	}
	if (i >= cmd->arg_count || args[i].type != IMAP_ARG_LITERAL) {
		*error_r = "Expected the message as a literal";
		return -1;
	}
	req->data = args[i].str;
	req->len = args[i].len;
	*pos = i + 1;
	return 0;
}

static enum cmd_result
append_reply(struct command *cmd, uint32_t uidvalidity, const uint32_t *uids,
             size_t count)
{
	struct str code;
	str_init(&code, 64 * 1024);
	imap_write_uid_set(&code, uids, count);
	enum cmd_result r = cmd_ok(cmd, "[APPENDUID %u %s] APPEND completed",
	                           uidvalidity, code.data);
	str_free(&code);
	return r;
}

enum cmd_result
cmd_append(struct command *cmd)
{
	struct client *client = cmd->client;
	const char *raw, *error;
	size_t raw_len;
	if (cmd->arg_count < 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &raw, &raw_len))
		return cmd_bad(cmd, "APPEND needs a mailbox and a message");
	struct store_append_request *reqs = arena_new_array(
	    cmd->arena, struct store_append_request, APPEND_MAX_MESSAGES);
	size_t count = 0, pos = 1;
	while (pos < cmd->arg_count) {
		if (count == APPEND_MAX_MESSAGES)
			return cmd_no(cmd, "[LIMIT] Too many messages");
		if (append_parse_one(cmd, &pos, &reqs[count], &error) < 0)
			return cmd_bad(cmd, "%s", error);
		count++;
	}
	const char *name = mailbox_name_from_client(
	    cmd->arena, raw, raw_len, client_utf8(client), false, &error);
	if (name == NULL)
		return cmd_no(cmd, "[TRYCREATE] %s", error);
	struct store *store = client_store(client);
	struct store_mailbox mailbox;
	enum store_result r = store_mailbox_find(store, client->user_id, name,
	                                         cmd->arena, &mailbox, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[TRYCREATE] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	uint32_t *uids = arena_new_array(cmd->arena, uint32_t, count);
	uint32_t uidvalidity;
	r = store_append(store, mailbox.id, reqs, count, uids, &uidvalidity,
	                 &error);
	if (r == STORE_LIMIT)
		return cmd_no(cmd, "[LIMIT] %s", error);
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	return append_reply(cmd, uidvalidity, uids, count);
}
