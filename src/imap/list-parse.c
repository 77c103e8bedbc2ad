/* Arguments of the mailbox commands: names, special-use attributes, and
 * LIST / LSUB references, patterns and options (RFC 9051 6.3.9, RFC 5258,
 * RFC 5819, RFC 6154). */
#include "imap/list-parse.h"

#include <string.h>

#include "imap/status-write.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/mailbox-name.h"
#include "imap/parser.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

static const struct {
	const char *name;
	unsigned bit;
} special_uses[] = {
    {"\\All", STORE_SPECIAL_ALL},       {"\\Archive", STORE_SPECIAL_ARCHIVE},
    {"\\Drafts", STORE_SPECIAL_DRAFTS}, {"\\Flagged", STORE_SPECIAL_FLAGGED},
    {"\\Junk", STORE_SPECIAL_JUNK},     {"\\Sent", STORE_SPECIAL_SENT},
    {"\\Trash", STORE_SPECIAL_TRASH},
};

bool
mailbox_arg_string(const struct imap_arg *arg, const char **str_r,
                   size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		/* NIL is a valid astring: a mailbox may be called that. */
		*str_r = "NIL";
		*len_r = 3;
		return true;
	}
	if (!imap_arg_is_string(arg) || arg->literal8)
		return false;
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

const char *
mailbox_arg_convert(struct command *cmd, const char *s, size_t len)
{
	const char *error;
	const char *name = mailbox_name_from_client(
	    cmd->arena, s, len, client_utf8(cmd->client), false, &error);
	if (name == NULL)
		cmd_no(cmd, "[CANNOT] %s", error);
	return name;
}

const char *
mailbox_arg_name(struct command *cmd, const struct imap_arg *arg)
{
	const char *s;
	size_t len;
	if (!mailbox_arg_string(arg, &s, &len)) {
		cmd_bad(cmd, "%s needs a mailbox name", cmd->name);
		return NULL;
	}
	return mailbox_arg_convert(cmd, s, len);
}

/*
 * True if a name can go out as a bare atom.  ASTRING-CHAR would also
 * allow ']' and more, but clients parse such atoms badly, and quoting
 * costs nothing, so only plain names go bare.
 */
static bool
mailbox_name_plain(const char *s, size_t len)
{
	static const char extra[] = "-_./&+,:=@!#$~";
	if (len == 0 || len > 256 || mem_case_eq(s, len, "NIL"))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		             (c >= '0' && c <= '9');
		if (!alnum && (c == 0 || strchr(extra, c) == NULL))
			return false;
	}
	return true;
}

void
mailbox_write_name(struct command *cmd, struct str *out, const char *name)
{
	bool utf8 = client_utf8(cmd->client);
	const char *sent = mailbox_name_to_client(cmd->arena, name, utf8);
	if (sent == NULL) {
		/* Not valid UTF-8 in the store: send the bytes as a
		 * literal rather than nothing. */
		imap_write_string(out, name, strlen(name), false);
		return;
	}
	size_t len = strlen(sent);
	if (mailbox_name_plain(sent, len))
		str_append(out, sent, len);
	else
		imap_write_string(out, sent, len, utf8);
}

unsigned
special_use_parse(const char *s, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(special_uses); i++) {
		if (mem_case_eq(s, len, special_uses[i].name))
			return special_uses[i].bit;
	}
	return 0;
}

void
special_use_write(struct str *out, unsigned special_use, bool *first)
{
	for (size_t i = 0; i < N_ELEMENTS(special_uses); i++) {
		if ((special_use & special_uses[i].bit) == 0)
			continue;
		if (!*first)
			str_append_char(out, ' ');
		str_append_cstr(out, special_uses[i].name);
		*first = false;
	}
}

/* RFC 5258 3.1 selection options; RFC 6154 adds SPECIAL-USE. */
static int
list_parse_select(const struct imap_arg *list, unsigned *select_r,
                  const char **error_r)
{
	unsigned select = 0;
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *opt = &list->list[i];
		if (opt->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid LIST selection option";
			return -1;
		}
		if (mem_case_eq(opt->str, opt->len, "SUBSCRIBED"))
			select |= LIST_SELECT_SUBSCRIBED;
		else if (mem_case_eq(opt->str, opt->len, "REMOTE"))
			select |= LIST_SELECT_REMOTE;
		else if (mem_case_eq(opt->str, opt->len, "RECURSIVEMATCH"))
			select |= LIST_SELECT_RECURSIVEMATCH;
		else if (mem_case_eq(opt->str, opt->len, "SPECIAL-USE"))
			select |= LIST_SELECT_SPECIAL_USE;
		else {
			*error_r = "Unknown LIST selection option";
			return -1;
		}
	}
	/* RFC 5258 3.1: RECURSIVEMATCH alone (or with only REMOTE) makes
	 * no sense and MUST be answered with BAD. */
	if ((select & LIST_SELECT_RECURSIVEMATCH) != 0 &&
	    (select & (LIST_SELECT_SUBSCRIBED | LIST_SELECT_SPECIAL_USE)) ==
	        0) {
		*error_r = "RECURSIVEMATCH needs another selection option";
		return -1;
	}
	*select_r = select;
	return 0;
}

/* RFC 5258 3.2 return options, RFC 5819 STATUS, RFC 6154 SPECIAL-USE. */
static int
list_parse_return(const struct imap_arg *list, struct list_request *req,
                  const char **error_r)
{
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *opt = &list->list[i];
		if (opt->type != IMAP_ARG_ATOM) {
			*error_r = "Invalid LIST return option";
			return -1;
		}
		if (mem_case_eq(opt->str, opt->len, "SUBSCRIBED")) {
			req->ret |= LIST_RETURN_SUBSCRIBED;
		} else if (mem_case_eq(opt->str, opt->len, "CHILDREN")) {
			req->ret |= LIST_RETURN_CHILDREN;
		} else if (mem_case_eq(opt->str, opt->len, "SPECIAL-USE")) {
			req->ret |= LIST_RETURN_SPECIAL_USE;
		} else if (mem_case_eq(opt->str, opt->len, "STATUS") &&
		           i + 1 < list->list_count) {
			unsigned items;
			if (status_items_parse(&list->list[++i], &items,
			                       error_r) < 0)
				return -1;
			req->ret |= LIST_RETURN_STATUS;
			req->status_items |= items;
		} else {
			*error_r = "Unknown LIST return option";
			return -1;
		}
	}
	return 0;
}

/* The reference in stored form, or NULL if it can't prefix any name. */
static const char *
list_reference(struct command *cmd, const char *s, size_t len)
{
	const char *error;
	if (len == 0)
		return "";
	return mailbox_name_from_client(cmd->arena, s, len,
	                                client_utf8(cmd->client), true, &error);
}

/* Converts the patterns (count string arguments) joined with the
 * reference into req. */
static int
list_convert_patterns(struct command *cmd, const struct imap_arg *ref_arg,
                      const struct imap_arg *pats, size_t count,
                      struct list_request *req, const char **error_r)
{
	const char *ref_str, *error;
	size_t ref_len;
	if (!mailbox_arg_string(ref_arg, &ref_str, &ref_len)) {
		*error_r = "Invalid LIST reference";
		return -1;
	}
	if (count == 0 || count > LIST_PATTERNS_MAX) {
		*error_r = "Wrong number of LIST patterns";
		return -1;
	}
	const char *ref = list_reference(cmd, ref_str, ref_len);
	req->patterns = arena_new_array(cmd->arena, const char *, count);
	req->pattern_count = count;
	for (size_t i = 0; i < count; i++) {
		const char *s;
		size_t len;
		if (!mailbox_arg_string(&pats[i], &s, &len)) {
			*error_r = "Invalid LIST pattern";
			return -1;
		}
		if (len == 0) {
			/* RFC 9051 6.3.9: "" asks for the delimiter. */
			req->want_root = true;
			continue;
		}
		const char *pat = mailbox_name_from_client(
		    cmd->arena, s, len, client_utf8(cmd->client), true, &error);
		/* A pattern no name can match just matches nothing. */
		if (pat != NULL && ref != NULL)
			req->patterns[i] =
			    mailbox_pattern_join(cmd->arena, ref, pat);
	}
	return 0;
}

int
list_parse(struct command *cmd, struct list_request *req_r,
           const char **error_r)
{
	const struct imap_arg *args = cmd->args;
	size_t argc = cmd->arg_count, i = 0;

	memset(req_r, 0, sizeof(*req_r));
	if (argc > 0 && args[0].type == IMAP_ARG_LIST) {
		if (list_parse_select(&args[0], &req_r->select, error_r) < 0)
			return -1;
		i++;
	}
	if (argc < i + 2) {
		*error_r = "LIST needs a reference and a mailbox pattern";
		return -1;
	}
	const struct imap_arg *pat = &args[i + 1];
	int ret =
	    pat->type == IMAP_ARG_LIST
	        ? list_convert_patterns(cmd, &args[i], pat->list,
	                                pat->list_count, req_r, error_r)
	        : list_convert_patterns(cmd, &args[i], pat, 1, req_r, error_r);
	if (ret < 0)
		return -1;
	i += 2;
	if (i < argc) {
		if (i + 2 != argc ||
		    !imap_arg_atom_equals(&args[i], "RETURN") ||
		    args[i + 1].type != IMAP_ARG_LIST) {
			*error_r = "Invalid LIST arguments";
			return -1;
		}
		if (list_parse_return(&args[i + 1], req_r, error_r) < 0)
			return -1;
	}
	/* RFC 5258 3.1: SUBSCRIBED selection implies the return option;
	 * RFC 6154 3: so does SPECIAL-USE. */
	if ((req_r->select & LIST_SELECT_SUBSCRIBED) != 0)
		req_r->ret |= LIST_RETURN_SUBSCRIBED;
	if ((req_r->select & LIST_SELECT_SPECIAL_USE) != 0)
		req_r->ret |= LIST_RETURN_SPECIAL_USE;
	return 0;
}

int
list_parse_lsub(struct command *cmd, struct list_request *req_r,
                const char **error_r)
{
	memset(req_r, 0, sizeof(*req_r));
	if (cmd->arg_count != 2) {
		*error_r = "LSUB needs a reference and a mailbox pattern";
		return -1;
	}
	return list_convert_patterns(cmd, &cmd->args[0], &cmd->args[1], 1,
	                             req_r, error_r);
}
