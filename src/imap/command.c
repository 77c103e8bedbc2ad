#include "imap/command.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/client.h"
#include "lib/arena.h"
#include "lib/log.h"

/* Sorted by name for bsearch. */
static const struct command_def command_table[] = {
    {"APPEND", cmd_append, CMD_FLAG_AUTHED},
    {"AUTHENTICATE", cmd_authenticate, CMD_FLAG_NOT_AUTH},
    {"CAPABILITY", cmd_capability, CMD_FLAG_ANY_STATE},
    {"CHECK", cmd_check, CMD_FLAG_SELECTED},
    {"CLOSE", cmd_close, CMD_FLAG_SELECTED},
    {"COPY", cmd_copy, CMD_FLAG_SELECTED | CMD_FLAG_UID},
    {"CREATE", cmd_create, CMD_FLAG_AUTHED},
    {"DELETE", cmd_delete, CMD_FLAG_AUTHED},
    {"ENABLE", cmd_enable, CMD_FLAG_AUTHED},
    {"EXAMINE", cmd_examine, CMD_FLAG_AUTHED},
    {"EXPUNGE", cmd_expunge, CMD_FLAG_SELECTED | CMD_FLAG_UID},
    {"FETCH", cmd_fetch, CMD_FLAG_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS},
    {"ID", cmd_id, CMD_FLAG_ANY_STATE},
    {"IDLE", cmd_idle, CMD_FLAG_AUTHED},
    {"LIST", cmd_list, CMD_FLAG_AUTHED},
    {"LOGIN", cmd_login, CMD_FLAG_NOT_AUTH},
    {"LOGOUT", cmd_logout, CMD_FLAG_ANY_STATE},
    {"LSUB", cmd_lsub, CMD_FLAG_AUTHED},
    {"MOVE", cmd_move, CMD_FLAG_SELECTED | CMD_FLAG_UID},
    {"NAMESPACE", cmd_namespace, CMD_FLAG_AUTHED},
    {"NOOP", cmd_noop, CMD_FLAG_ANY_STATE},
    {"NOTIFY", cmd_notify, CMD_FLAG_AUTHED},
    {"RENAME", cmd_rename, CMD_FLAG_AUTHED},
    {"SEARCH", cmd_search,
     CMD_FLAG_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS},
    {"SELECT", cmd_select, CMD_FLAG_AUTHED},
    {"SORT", cmd_sort, CMD_FLAG_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS},
    {"STARTTLS", cmd_starttls, CMD_FLAG_NOT_AUTH},
    {"STATUS", cmd_status, CMD_FLAG_AUTHED},
    {"STORE", cmd_store, CMD_FLAG_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS},
    {"SUBSCRIBE", cmd_subscribe, CMD_FLAG_AUTHED},
    {"THREAD", cmd_thread,
     CMD_FLAG_SELECTED | CMD_FLAG_UID | CMD_FLAG_USES_SEQS},
    {"UNSELECT", cmd_unselect, CMD_FLAG_SELECTED},
    {"UNSUBSCRIBE", cmd_unsubscribe, CMD_FLAG_AUTHED},
};

static int
command_compare(const void *key, const void *elem)
{
	const struct command_def *def = elem;
	return strcasecmp(key, def->name);
}

const struct command_def *
command_find(const char *name)
{
	return bsearch(name, command_table,
	               sizeof(command_table) / sizeof(command_table[0]),
	               sizeof(command_table[0]), command_compare);
}

static enum cmd_result cmd_result_set(struct command *cmd, const char *result,
                                      const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static enum cmd_result
cmd_result_set(struct command *cmd, const char *result, const char *fmt,
               va_list ap)
{
	cmd->result = result;
	cmd->result_text = arena_vprintf(cmd->arena, fmt, ap);
	return CMD_DONE;
}

enum cmd_result
cmd_ok(struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cmd_result_set(cmd, "OK", fmt, ap);
	va_end(ap);
	return CMD_DONE;
}

enum cmd_result
cmd_no(struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cmd_result_set(cmd, "NO", fmt, ap);
	va_end(ap);
	return CMD_DONE;
}

enum cmd_result
cmd_bad(struct command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	cmd_result_set(cmd, "BAD", fmt, ap);
	va_end(ap);
	return CMD_DONE;
}

enum cmd_result
cmd_store_error(struct command *cmd, const char *error)
{
	log_error("session=%llx command=%s store error: %s",
	          (unsigned long long)cmd->client->id, cmd->name, error);
	return cmd_no(cmd, "[SERVERBUG] Internal storage error");
}
