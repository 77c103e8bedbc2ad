/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), with ESEARCH
 * results (RFC 4731, RFC 9051 7.3.4) and the saved result "$" (RFC 5182).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/search-eval.h"
#include "cmd/search-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/view.h"
#include "lib/str.h"
#include "lib/util.h"

/* The matches of one SEARCH, as sequence numbers, and how to show them. */
struct search_result {
	const struct mailbox_view *view;
	const uint32_t *seqs; /* ascending */
	size_t count;
	bool uid; /* show UIDs rather than sequence numbers */
};

static uint32_t
search_result_value(const struct search_result *res, size_t i)
{
	uint32_t seq = res->seqs[i];
	return res->uid ? res->view->messages[seq - 1].uid : seq;
}

/* RFC 5182 2.4: with only MIN and/or MAX beside SAVE, only those are
 * saved; otherwise every match.  "$" is kept as UIDs. */
static void
search_save(struct mailbox_view *view, const uint32_t *seqs, size_t count,
            unsigned opts)
{
	unsigned minmax = SEARCH_RETURN_MIN | SEARCH_RETURN_MAX;
	bool only_minmax =
	    (opts & minmax) != 0 &&
	    (opts & (SEARCH_RETURN_ALL | SEARCH_RETURN_COUNT)) == 0;
	free(view->searchres);
	view->searchres = xmalloc((count + 1) * sizeof(uint32_t));
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		if (only_minmax &&
		    !((i == 0 && (opts & SEARCH_RETURN_MIN) != 0) ||
		      (i == count - 1 && (opts & SEARCH_RETURN_MAX) != 0)))
			continue;
		view->searchres[n++] = view->messages[seqs[i] - 1].uid;
	}
	view->searchres_count = n;
}

/* RFC 5182 2.1: a SEARCH with SAVE that fails leaves "$" empty. */
static void
search_save_clear(struct mailbox_view *view)
{
	free(view->searchres);
	view->searchres = NULL;
	view->searchres_count = 0;
}

/* Writes the values as a compact sequence set: "1:5,7,9:10". */
static void
search_write_set(struct str *out, const struct search_result *res)
{
	const char *sep = "";
	for (size_t i = 0; i < res->count; i++) {
		uint32_t lo = search_result_value(res, i), hi = lo;
		while (i + 1 < res->count &&
		       search_result_value(res, i + 1) == hi + 1) {
			hi++;
			i++;
		}
		if (lo == hi)
			str_printf(out, "%s%u", sep, lo);
		else
			str_printf(out, "%s%u:%u", sep, lo, hi);
		sep = ",";
	}
}

/* RFC 3501 7.2.5: "* SEARCH 2 3 6". */
static void
search_write_rev1(struct str *out, const struct search_result *res)
{
	str_append_cstr(out, "* SEARCH");
	for (size_t i = 0; i < res->count; i++)
		str_printf(out, " %u", search_result_value(res, i));
	str_append_cstr(out, "\r\n");
}

/* RFC 4731 3.1 / RFC 9051 7.3.4: MIN, MAX and ALL are left out when
 * nothing matched; COUNT 0 is still sent. */
static void
search_write_esearch(struct str *out, const char *tag,
                     const struct search_result *res, unsigned opts)
{
	str_append_cstr(out, "* ESEARCH (TAG ");
	imap_write_string(out, tag, strlen(tag), false);
	str_append_char(out, ')');
	if (res->uid)
		str_append_cstr(out, " UID");
	if ((opts & SEARCH_RETURN_MIN) != 0 && res->count > 0)
		str_printf(out, " MIN %u", search_result_value(res, 0));
	if ((opts & SEARCH_RETURN_MAX) != 0 && res->count > 0)
		str_printf(out, " MAX %u",
		           search_result_value(res, res->count - 1));
	if ((opts & SEARCH_RETURN_COUNT) != 0)
		str_printf(out, " COUNT %zu", res->count);
	if ((opts & SEARCH_RETURN_ALL) != 0 && res->count > 0) {
		str_append_cstr(out, " ALL ");
		search_write_set(out, res);
	}
	str_append_cstr(out, "\r\n");
}

static void
search_respond(struct command *cmd, const struct search_program *prog,
               const struct search_result *res)
{
	struct client *client = cmd->client;
	/* RFC 9051 6.4.4: without RETURN, a rev2 client gets ESEARCH ALL. */
	if (!prog->has_return && !client_is_rev2(client)) {
		search_write_rev1(&client->output, res);
		return;
	}
	unsigned opts =
	    prog->has_return ? prog->return_opts : SEARCH_RETURN_ALL;
	/* RFC 5182 2.1: RETURN (SAVE) alone produces no ESEARCH. */
	if ((opts & ~(unsigned)SEARCH_RETURN_SAVE) == 0)
		return;
	search_write_esearch(&client->output, cmd->tag, res, opts);
}

enum cmd_result
cmd_search(struct command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox_view *view = client->view;
	struct search_program prog;
	const char *error;
	enum search_parse_status ps =
	    search_parse(cmd->arena, cmd->args, cmd->arg_count, &prog, &error);
	bool save = (prog.return_opts & SEARCH_RETURN_SAVE) != 0;
	if (ps != SEARCH_PARSE_OK && save)
		search_save_clear(view);
	if (ps == SEARCH_PARSE_BADCHARSET)
		return cmd_no(cmd, "[BADCHARSET (" SEARCH_CHARSETS ")] %s",
		              error);
	if (ps != SEARCH_PARSE_OK)
		return cmd_bad(cmd, "%s", error);

	struct search_result res = {.view = view, .uid = cmd->uid};
	uint32_t *seqs;
	enum search_eval_status es =
	    search_eval(client_store(client), view, cmd->arena, prog.root,
	                &seqs, &res.count, &error);
	if (es != SEARCH_EVAL_OK && save)
		search_save_clear(view);
	if (es == SEARCH_EVAL_BAD)
		return cmd_bad(cmd, "%s", error);
	if (es == SEARCH_EVAL_ERROR)
		return cmd_store_error(cmd, error);
	res.seqs = seqs;
	if (save)
		search_save(view, seqs, res.count, prog.return_opts);
	search_respond(cmd, &prog, &res);
	return cmd_ok(cmd, "%sSEARCH completed", cmd->uid ? "UID " : "");
}
