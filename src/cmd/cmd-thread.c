/*
 * THREAD and UID THREAD (RFC 5256 4): the command and its thread-data
 * response (RFC 5256 5); the algorithms are in search/thread.c.
 */
#include <stdbool.h>

#include "cmd/search-select.h"
#include "imap/client.h"
#include "imap/command.h"
#include "lib/str.h"
#include "search/sort-msgs.h"
#include "search/thread.h"

/* RFC 5256 5: thread = ["UID" SP] "THREAD" SP thread-alg SP
 * search-criteria. */
enum cmd_result
cmd_thread(struct command *cmd)
{
	enum thread_algorithm algorithm;
	if (cmd->arg_count > 0 &&
	    imap_arg_atom_equals(&cmd->args[0], "REFERENCES"))
		algorithm = THREAD_REFERENCES;
	else if (cmd->arg_count > 0 &&
	         imap_arg_atom_equals(&cmd->args[0], "ORDEREDSUBJECT"))
		algorithm = THREAD_ORDEREDSUBJECT;
	else
		return cmd_bad(cmd, "Unknown threading algorithm");
	uint32_t *seqs;
	size_t count;
	if (!search_select(cmd, 1, &seqs, &count))
		return CMD_DONE;

	struct client *client = cmd->client;
	unsigned needs =
	    SORT_NEED_SUBJECT | SORT_NEED_DATE |
	    (algorithm == THREAD_REFERENCES ? SORT_NEED_THREAD : 0);
	struct sort_msg *msgs;
	const char *error;
	if (sort_msgs_load(client_store(client), client->view, cmd->arena, seqs,
	                   count, needs, &msgs, &error) < 0)
		return cmd_store_error(cmd, error);
	struct thread_ctx *threads =
	    thread_build(cmd->arena, msgs, count, algorithm);
	if (threads == NULL)
		return cmd_no(cmd, "[LIMIT] Too many message ids to thread");
	/* RFC 5256 5: thread-data = "THREAD" [SP 1*thread-list]. */
	struct str *out = &client->conn->output;
	str_append_cstr(out, "* THREAD");
	thread_write(out, threads, cmd->uid);
	str_append_cstr(out, "\r\n");
	return cmd_ok(cmd, "%sTHREAD completed", cmd->uid ? "UID " : "");
}
