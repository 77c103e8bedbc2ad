/*
 * The search that selects the messages of SORT and THREAD (RFC 5256 5),
 * shared by cmd-sort.c and cmd-thread.c.
 */
#include "cmd/search-select.h"

#include "imap/client.h"
#include "imap/command.h"
#include "imap/search-parse.h"
#include "lib/util.h"
#include "search/search-eval.h"
#include "search/sort-msgs.h"

/* RFC 5256 5: charset = atom / quoted; RFC 9051 6.4.4 names the two
 * every server supports. */
static bool
sort_charset(struct command *cmd, const struct imap_arg *arg)
{
	const char *name;
	size_t len;
	if (!imap_arg_get_astring(arg, &name, &len)) {
		cmd_bad(cmd, "Missing charset");
		return false;
	}
	if (!mem_case_eq(name, len, "US-ASCII") &&
	    !mem_case_eq(name, len, "UTF-8")) {
		cmd_no(cmd, "[BADCHARSET (" SEARCH_CHARSETS ")] "
		            "Unsupported charset");
		return false;
	}
	return true;
}

bool
search_select(struct command *cmd, size_t pos, uint32_t **seqs_r,
              size_t *count_r)
{
	const struct imap_arg *args = cmd->args;
	size_t count = cmd->arg_count;
	if (pos >= count) {
		cmd_bad(cmd, "Missing charset");
		return false;
	}
	if (!sort_charset(cmd, &args[pos++]))
		return false;
	/* search-criteria is 1*search-key; SEARCH's RETURN and CHARSET
	   prefixes are not keys. */
	if (pos >= count || imap_arg_atom_equals(&args[pos], "RETURN") ||
	    imap_arg_atom_equals(&args[pos], "CHARSET")) {
		cmd_bad(cmd, "Missing search criteria");
		return false;
	}
	struct search_program prog;
	const char *error;
	if (search_parse(cmd->arena, args + pos, count - pos, &prog, &error) !=
	    SEARCH_PARSE_OK) {
		cmd_bad(cmd, "%s", error);
		return false;
	}
	struct client *client = cmd->client;
	enum search_eval_status es =
	    search_eval(client_store(client), client->view, cmd->arena,
	                prog.root, seqs_r, count_r, &error);
	if (es == SEARCH_EVAL_BAD)
		cmd_bad(cmd, "%s", error);
	else if (es == SEARCH_EVAL_ERROR)
		cmd_store_error(cmd, error);
	else if (*count_r > SORT_MAX_MESSAGES)
		cmd_no(cmd, "[LIMIT] More than %d messages match",
		       SORT_MAX_MESSAGES);
	return es == SEARCH_EVAL_OK && *count_r <= SORT_MAX_MESSAGES;
}
