#ifndef CASELLA_IMAP_COMMAND_H
#define CASELLA_IMAP_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/parser.h"

struct arena;
struct client;

/*
 * A running command.  Handlers live in src/cmd/, one file per command or
 * family.  A handler checks its arguments, does the work, queues untagged
 * responses with client_send(), and finishes with cmd_ok()/cmd_no()/
 * cmd_bad(); the client then sends the pending mailbox updates that the
 * command allows (RFC 9051 7.5.1) and the tagged line.
 *
 * A handler may return CMD_MORE to be called again once the output buffer
 * has drained (FETCH of many messages), keeping its progress in
 * cmd->context (allocated from cmd->arena).
 */

enum cmd_result {
	CMD_DONE,       /* the tagged result is set */
	CMD_MORE,       /* call again when output drains */
	CMD_WAIT_INPUT, /* IDLE/AUTHENTICATE: call input_line on each line */
	CMD_WAIT_EVENT, /* waits for another process (the auth process):
	                   nothing runs until client_command_resume() */
};

enum command_flags {
	CMD_FLAG_NOT_AUTH = 0x01,  /* allowed before login */
	CMD_FLAG_AUTH = 0x02,      /* allowed when authenticated */
	CMD_FLAG_SELECTED = 0x04,  /* allowed when a mailbox is selected */
	CMD_FLAG_USES_SEQS = 0x08, /* FETCH/STORE/SEARCH by sequence number:
	                              no EXPUNGE may be sent while it runs */
	CMD_FLAG_UID = 0x10,       /* may be prefixed by UID */
};
#define CMD_FLAG_ANY_STATE                                                     \
	(CMD_FLAG_NOT_AUTH | CMD_FLAG_AUTH | CMD_FLAG_SELECTED)
#define CMD_FLAG_AUTHED (CMD_FLAG_AUTH | CMD_FLAG_SELECTED)

struct command;
typedef enum cmd_result command_func(struct command *cmd);
/* For CMD_WAIT_INPUT: one line of input (without CRLF). */
typedef enum cmd_result command_input_func(struct command *cmd,
                                           const char *line, size_t len);

struct command_def {
	const char *name; /* upper case */
	command_func *func;
	unsigned flags; /* enum command_flags */
};

struct command {
	struct client *client;
	struct arena *arena; /* freed when the command ends */
	const struct command_def *def;
	const char *tag;
	const char *name; /* e.g. "FETCH" */
	bool uid;         /* sent as UID <name> */
	const struct imap_arg *args;
	size_t arg_count;

	command_func *func;             /* the handler to call (again) */
	command_input_func *input_line; /* with CMD_WAIT_INPUT */
	void *context;                  /* the handler's progress */
	/* Called once when the command ends in any way (done, or the
	 * connection closed while it was paused): frees what the handler
	 * holds outside cmd->arena. */
	void (*cleanup)(struct command *cmd);

	bool waiting_event;      /* returned CMD_WAIT_EVENT */
	const char *result;      /* "OK", "NO" or "BAD" once done */
	const char *result_text; /* e.g. "[TRYCREATE] No such mailbox" */
	bool skip_sync;          /* send no mailbox updates before the tag */
};

/* Sets the tagged result; text may start with a [CODE]. */
enum cmd_result cmd_ok(struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum cmd_result cmd_no(struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum cmd_result cmd_bad(struct command *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* cmd_no with "[SERVERBUG]"-style text for a store error; logs it. */
enum cmd_result cmd_store_error(struct command *cmd, const char *error);

const struct command_def *command_find(const char *name);

/* Every handler, registered in command.c's table. */
command_func cmd_capability, cmd_noop, cmd_logout, cmd_id, cmd_enable,
    cmd_namespace, cmd_login, cmd_authenticate, cmd_select, cmd_examine,
    cmd_create, cmd_delete, cmd_rename, cmd_subscribe, cmd_unsubscribe,
    cmd_list, cmd_lsub, cmd_status, cmd_append, cmd_idle, cmd_check, cmd_close,
    cmd_unselect, cmd_expunge, cmd_search, cmd_fetch, cmd_store, cmd_copy,
    cmd_move, cmd_sort, cmd_thread, cmd_starttls, cmd_notify;

#endif
