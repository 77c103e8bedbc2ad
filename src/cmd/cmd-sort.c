/*
 * SORT and UID SORT (RFC 5256 3), with the DISPLAYFROM and DISPLAYTO keys
 * of RFC 5957 and ESORT's RETURN options (RFC 5267 3).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/search-select.h"
#include "search/sort-msgs.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/base-subject.h"

/* Criteria in one sort program; more would only repeat keys. */
#define SORT_MAX_CRITERIA 16

/* RFC 5267 3: the RETURN options ESORT allows. */
enum sort_return {
	SORT_RETURN_MIN = 0x01,
	SORT_RETURN_MAX = 0x02,
	SORT_RETURN_ALL = 0x04,
	SORT_RETURN_COUNT = 0x08,
};

struct sort_program {
	struct sort_criterion crit[SORT_MAX_CRITERIA];
	size_t count;
	unsigned needs;       /* enum sort_need */
	bool has_return;      /* ESORT: answer with ESEARCH */
	unsigned return_opts; /* enum sort_return */
};

static const struct {
	const char *name;
	enum sort_key key;
	unsigned needs;
} sort_keys[] = {
    {"ARRIVAL", SORT_KEY_ARRIVAL, 0},
    {"CC", SORT_KEY_CC, SORT_NEED_CC},
    {"DATE", SORT_KEY_DATE, SORT_NEED_DATE},
    {"FROM", SORT_KEY_FROM, SORT_NEED_FROM},
    {"SIZE", SORT_KEY_SIZE, 0},
    {"SUBJECT", SORT_KEY_SUBJECT, SORT_NEED_SUBJECT},
    {"TO", SORT_KEY_TO, SORT_NEED_TO},
    {"DISPLAYFROM", SORT_KEY_DISPLAYFROM, SORT_NEED_DISPLAY},
    {"DISPLAYTO", SORT_KEY_DISPLAYTO, SORT_NEED_DISPLAY},
};

/* RFC 5256 5: sort-criteria = "(" sort-criterion *(SP sort-criterion)
 * ")", sort-criterion = ["REVERSE" SP] sort-key. */
static bool
sort_parse_criteria(const struct imap_arg *list, struct sort_program *prog)
{
	bool reverse = false;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *arg = &list->list[i];
		if (!reverse && imap_arg_atom_equals(arg, "REVERSE")) {
			reverse = true;
			continue;
		}
		size_t k = 0;
		while (k < N_ELEMENTS(sort_keys) &&
		       !imap_arg_atom_equals(arg, sort_keys[k].name))
			k++;
		if (k == N_ELEMENTS(sort_keys) ||
		    prog->count == SORT_MAX_CRITERIA)
			return false;
		prog->crit[prog->count].key = sort_keys[k].key;
		prog->crit[prog->count++].reverse = reverse;
		prog->needs |= sort_keys[k].needs;
		reverse = false;
	}
	return prog->count > 0 && !reverse;
}

/* RFC 5267 3 / RFC 4731 3.1: RETURN (MIN MAX COUNT ALL); () is ALL. */
static bool
sort_parse_return(const struct imap_arg *list, unsigned *opts_r)
{
	static const struct {
		const char *name;
		unsigned opt;
	} options[] = {
	    {"MIN", SORT_RETURN_MIN},
	    {"MAX", SORT_RETURN_MAX},
	    {"ALL", SORT_RETURN_ALL},
	    {"COUNT", SORT_RETURN_COUNT},
	};
	unsigned opts = 0;
	for (size_t i = 0; i < list->list_count; i++) {
		size_t j = 0;
		while (j < N_ELEMENTS(options) &&
		       !imap_arg_atom_equals(&list->list[i], options[j].name))
			j++;
		if (j == N_ELEMENTS(options))
			return false;
		opts |= options[j].opt;
	}
	*opts_r = opts == 0 ? SORT_RETURN_ALL : opts;
	return true;
}

/* "[RETURN (opts)] (criteria)"; *pos_r is left at the charset.  Sets
 * the BAD result and returns false on error. */
static bool
sort_parse_program(struct command *cmd, struct sort_program *prog,
                   size_t *pos_r)
{
	const struct imap_arg *args = cmd->args;
	size_t pos = 0;
	if (cmd->arg_count > 1 && imap_arg_atom_equals(&args[0], "RETURN")) {
		if (args[1].type != IMAP_ARG_LIST ||
		    !sort_parse_return(&args[1], &prog->return_opts)) {
			cmd_bad(cmd, "Invalid RETURN options");
			return false;
		}
		prog->has_return = true;
		pos = 2;
	}
	if (pos >= cmd->arg_count || args[pos].type != IMAP_ARG_LIST ||
	    !sort_parse_criteria(&args[pos], prog)) {
		cmd_bad(cmd, "Invalid sort criteria");
		return false;
	}
	*pos_r = pos + 1;
	return true;
}

static uint32_t
sort_value(const struct command *cmd, const struct sort_msg *m)
{
	return cmd->uid ? m->uid : m->seq;
}

/* RFC 5267 3: ALL in sort order.  A range "a:b" stands for ascending
 * a, a+1, ..., b only, so only ascending runs are compressed. */
static void
sort_write_all(struct str *out, const struct command *cmd,
               const struct sort_msg *const *order, size_t count)
{
	uint32_t *values = xmalloc(count * sizeof(*values));
	for (size_t i = 0; i < count; i++)
		values[i] = sort_value(cmd, order[i]);
	imap_write_uid_set(out, values, count);
	free(values);
}

/* RFC 5267 3: MIN and MAX are the first and last in sort order; they
 * and ALL are left out when nothing matched. */
static void
sort_write_esearch(struct command *cmd, const struct sort_program *prog,
                   const struct sort_msg *const *order, size_t count)
{
	struct str *out = &cmd->client->conn->output;
	unsigned opts = prog->return_opts;
	str_append_cstr(out, "* ESEARCH (TAG ");
	imap_write_string(out, cmd->tag, strlen(cmd->tag), false);
	str_append_char(out, ')');
	if (cmd->uid)
		str_append_cstr(out, " UID");
	if ((opts & SORT_RETURN_MIN) != 0 && count > 0)
		str_printf(out, " MIN %u", sort_value(cmd, order[0]));
	if ((opts & SORT_RETURN_MAX) != 0 && count > 0)
		str_printf(out, " MAX %u", sort_value(cmd, order[count - 1]));
	if ((opts & SORT_RETURN_COUNT) != 0)
		str_printf(out, " COUNT %zu", count);
	if ((opts & SORT_RETURN_ALL) != 0 && count > 0) {
		str_append_cstr(out, " ALL ");
		sort_write_all(out, cmd, order, count);
	}
	str_append_cstr(out, "\r\n");
}

/* RFC 5256 5: sort-data = "SORT" *(SP nz-number).  Also in rev2 mode:
 * only RETURN asks for ESEARCH (RFC 5267 3). */
static void
sort_respond(struct command *cmd, const struct sort_program *prog,
             const struct sort_msg *const *order, size_t count)
{
	if (prog->has_return) {
		sort_write_esearch(cmd, prog, order, count);
		return;
	}
	struct str *out = &cmd->client->conn->output;
	str_append_cstr(out, "* SORT");
	for (size_t i = 0; i < count; i++)
		str_printf(out, " %u", sort_value(cmd, order[i]));
	str_append_cstr(out, "\r\n");
}

enum cmd_result
cmd_sort(struct command *cmd)
{
	struct sort_program prog;
	memset(&prog, 0, sizeof(prog));
	size_t pos;
	uint32_t *seqs;
	size_t count;
	if (!sort_parse_program(cmd, &prog, &pos) ||
	    !search_select(cmd, pos, &seqs, &count))
		return CMD_DONE;

	struct client *client = cmd->client;
	struct sort_msg *msgs;
	const char *error;
	if (sort_msgs_load(client_store(client), client->view, cmd->arena, seqs,
	                   count, prog.needs, &msgs, &error) < 0)
		return cmd_store_error(cmd, error);
	const struct sort_msg **order =
	    arena_new_array(cmd->arena, const struct sort_msg *, count + 1);
	for (size_t i = 0; i < count; i++)
		order[i] = &msgs[i];
	sort_msgs_order(order, count, prog.crit, prog.count);
	sort_respond(cmd, &prog, order, count);
	return cmd_ok(cmd, "%sSORT completed", cmd->uid ? "UID " : "");
}
