/*
 * SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), with ESEARCH
 * results (RFC 4731, RFC 9051 7.3.4) and the saved result "$" (RFC 5182).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-eval.h"
#include "imap/search-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/parser.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/charset.h"

/* The matches of one SEARCH, as sequence numbers, and how to show them. */
struct search_result {
	const struct mailbox_view *view;
	const uint32_t *seqs; /* ascending */
	size_t count;
	bool uid;            /* show UIDs rather than sequence numbers */
	bool modseq;         /* a MODSEQ key was used (RFC 7162 3.1.5) */
	uint64_t max_modseq; /* the highest of the matches */
};

/* RFC 7162 3.1.5: the highest mod-sequence among the matches. */
static uint64_t
search_result_max_modseq(const struct search_result *res)
{
	uint64_t max = 0;
	for (size_t i = 0; i < res->count; i++) {
		uint64_t m = res->view->messages[res->seqs[i] - 1].modseq;
		if (m > max)
			max = m;
	}
	return max;
}

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
	uint32_t *values = xmalloc(res->count * sizeof(*values));
	for (size_t i = 0; i < res->count; i++)
		values[i] = search_result_value(res, i);
	imap_write_uid_set(out, values, res->count);
	free(values);
}

/* RFC 3501 7.2.5: "* SEARCH 2 3 6". */
static void
search_write_rev1(struct str *out, const struct search_result *res)
{
	str_append_cstr(out, "* SEARCH");
	for (size_t i = 0; i < res->count; i++)
		str_printf(out, " %u", search_result_value(res, i));
	/* RFC 7162 3.1.5: "(MODSEQ n)" unless nothing matched. */
	if (res->modseq && res->count > 0)
		str_printf(out, " (MODSEQ %" PRIu64 ")", res->max_modseq);
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
	/* RFC 7162 3.1.5 / RFC 4731 3.2: search-return-data MODSEQ. */
	if (res->modseq && res->count > 0)
		str_printf(out, " MODSEQ %" PRIu64, res->max_modseq);
	str_append_cstr(out, "\r\n");
}

static void
search_respond(struct command *cmd, const struct search_program *prog,
               const struct search_result *res)
{
	struct client *client = cmd->client;
	/* RFC 9051 6.4.4: without RETURN, a rev2 client gets ESEARCH ALL. */
	if (!prog->has_return && !client_is_rev2(client)) {
		search_write_rev1(&client->conn->output, res);
		return;
	}
	unsigned opts =
	    prog->has_return ? prog->return_opts : SEARCH_RETURN_ALL;
	/* RFC 5182 2.1: RETURN (SAVE) alone produces no ESEARCH. */
	if ((opts & ~(unsigned)SEARCH_RETURN_SAVE) == 0)
		return;
	search_write_esearch(&client->conn->output, cmd->tag, res, opts);
}

/*
 * RFC 9051 6.4.4: "CHARSET x" names the charset of the search strings;
 * US-ASCII and UTF-8 must work, and we take any other charset iconv
 * knows.  The parser accepts only the first two, so for another known
 * charset *args_r becomes a copy of args naming UTF-8 and *charset_r the
 * charset to convert from.  Unknown names are left for the parser to
 * answer NO [BADCHARSET].
 */
static void
search_find_charset(struct arena *arena, const struct imap_arg *args,
                    size_t count, const struct imap_arg **args_r,
                    const char **charset_r)
{
	size_t pos = 0;
	*args_r = args;
	*charset_r = NULL;
	if (count >= 2 && imap_arg_atom_equals(&args[0], "RETURN"))
		pos = 2;
	if (pos + 1 >= count || !imap_arg_atom_equals(&args[pos], "CHARSET"))
		return;
	const struct imap_arg *name = &args[pos + 1];
	if (!imap_arg_is_string(name) || strlen(name->str) != name->len ||
	    mem_case_eq(name->str, name->len, "US-ASCII") ||
	    mem_case_eq(name->str, name->len, "UTF-8") ||
	    name->len >= CHARSET_NAME_MAX || !charset_is_known(name->str))
		return;
	struct imap_arg *copy =
	    arena_memdup(arena, args, count * sizeof(*args));
	copy[pos + 1] =
	    (struct imap_arg){.type = IMAP_ARG_ATOM, .str = "UTF-8", .len = 5};
	*args_r = copy;
	*charset_r = name->str;
}

/* Converts the strings of header and text keys from charset to UTF-8;
 * false if one grew past any sane size. */
static bool
search_convert_strings(struct arena *arena, struct search_key *key,
                       const char *charset)
{
	for (; key != NULL; key = key->next) {
		if (!search_convert_strings(arena, key->children, charset))
			return false;
		if (key->type != SEARCH_KEY_HEADER &&
		    key->type != SEARCH_KEY_BODY &&
		    key->type != SEARCH_KEY_TEXT)
			continue;
		/* Real charsets need at most 4 bytes of UTF-8 per byte. */
		struct str utf8;
		str_init(&utf8, key->len * 8 + 16);
		charset_to_utf8(&utf8, charset, key->str, key->len);
		bool ok = !str_failed(&utf8);
		key->str = arena_strndup(arena, utf8.len > 0 ? utf8.data : "",
		                         utf8.len);
		key->len = utf8.len;
		str_free(&utf8);
		if (!ok)
			return false;
	}
	return true;
}

enum cmd_result
cmd_search(struct command *cmd)
{
	struct client *client = cmd->client;
	struct mailbox_view *view = client->view;
	struct search_program prog;
	const char *error, *charset;
	const struct imap_arg *args;
	search_find_charset(cmd->arena, cmd->args, cmd->arg_count, &args,
	                    &charset);
	enum search_parse_status ps =
	    search_parse(cmd->arena, args, cmd->arg_count, &prog, &error);
	if (ps == SEARCH_PARSE_OK && charset != NULL &&
	    !search_convert_strings(cmd->arena, prog.root, charset)) {
		ps = SEARCH_PARSE_BAD;
		error = "Search string too long in UTF-8";
	}
	bool save = (prog.return_opts & SEARCH_RETURN_SAVE) != 0;
	if (ps != SEARCH_PARSE_OK && save)
		search_save_clear(view);
	if (ps == SEARCH_PARSE_BADCHARSET)
		return cmd_no(cmd, "[BADCHARSET (" SEARCH_CHARSETS ")] %s",
		              error);
	if (ps != SEARCH_PARSE_OK)
		return cmd_bad(cmd, "%s", error);
	/* RFC 7162 3.1: SEARCH MODSEQ enables CONDSTORE. */
	if (prog.has_modseq)
		view_condstore_enable(client);

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
	res.modseq = prog.has_modseq;
	if (res.modseq)
		res.max_modseq = search_result_max_modseq(&res);
	if (save)
		search_save(view, seqs, res.count, prog.return_opts);
	search_respond(cmd, &prog, &res);
	return cmd_ok(cmd, "%sSEARCH completed", cmd->uid ? "UID " : "");
}
