/*
 * SEARCH argument parser (RFC 9051 6.4.4 and 9 "search-key", RFC 3501's
 * NEW/OLD/RECENT, RFC 4731 RETURN, RFC 5182 SAVE and "$").  It builds a
 * bounded tree: SEARCH_MAX_DEPTH levels, SEARCH_MAX_NODES keys.
 */
#include "imap/search-parse.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "imap/imap-date.h"
#include "imap/parser.h"
#include "imap/seqset.h"
#include "lib/arena.h"
#include "lib/util.h"
#include "store/store.h"

/* What follows a key name. */
enum search_arg_kind {
	SEARCH_ARG_NONE,
	SEARCH_ARG_STRING, /* astring */
	SEARCH_ARG_HEADER, /* field-name astring, then astring */
	SEARCH_ARG_DATE,
	SEARCH_ARG_NUMBER,
	SEARCH_ARG_SET,    /* sequence-set atom */
	SEARCH_ARG_KEY,    /* NOT */
	SEARCH_ARG_KEY2,   /* OR */
	SEARCH_ARG_MODSEQ, /* [entry-name entry-type-req] mod-sequence */
};

struct search_key_def {
	const char *name;
	enum search_key_type type;
	enum search_arg_kind arg;
	uint32_t flag;     /* FLAG: the store flag */
	bool flag_set;     /* FLAG, KEYWORD: must be set */
	const char *field; /* FROM, TO...: the header field */
};

static const struct search_key_def search_key_defs[] = {
    {"ALL", SEARCH_KEY_ALL, SEARCH_ARG_NONE, 0, false, NULL},
    {"ANSWERED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_ANSWERED, true,
     NULL},
    {"BCC", SEARCH_KEY_HEADER, SEARCH_ARG_STRING, 0, false, "Bcc"},
    {"BEFORE", SEARCH_KEY_BEFORE, SEARCH_ARG_DATE, 0, false, NULL},
    {"BODY", SEARCH_KEY_BODY, SEARCH_ARG_STRING, 0, false, NULL},
    {"CC", SEARCH_KEY_HEADER, SEARCH_ARG_STRING, 0, false, "Cc"},
    {"DELETED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_DELETED, true,
     NULL},
    {"DRAFT", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_DRAFT, true, NULL},
    {"FLAGGED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_FLAGGED, true,
     NULL},
    {"FROM", SEARCH_KEY_HEADER, SEARCH_ARG_STRING, 0, false, "From"},
    {"HEADER", SEARCH_KEY_HEADER, SEARCH_ARG_HEADER, 0, false, NULL},
    {"KEYWORD", SEARCH_KEY_KEYWORD, SEARCH_ARG_STRING, 0, true, NULL},
    {"LARGER", SEARCH_KEY_LARGER, SEARCH_ARG_NUMBER, 0, false, NULL},
    {"MODSEQ", SEARCH_KEY_MODSEQ, SEARCH_ARG_MODSEQ, 0, false, NULL},
    {"NEW", SEARCH_KEY_NEW, SEARCH_ARG_NONE, 0, false, NULL},
    {"NOT", SEARCH_KEY_NOT, SEARCH_ARG_KEY, 0, false, NULL},
    {"OLD", SEARCH_KEY_OLD, SEARCH_ARG_NONE, 0, false, NULL},
    {"ON", SEARCH_KEY_ON, SEARCH_ARG_DATE, 0, false, NULL},
    {"OR", SEARCH_KEY_OR, SEARCH_ARG_KEY2, 0, false, NULL},
    {"RECENT", SEARCH_KEY_RECENT, SEARCH_ARG_NONE, 0, false, NULL},
    {"SEEN", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_SEEN, true, NULL},
    {"SENTBEFORE", SEARCH_KEY_SENTBEFORE, SEARCH_ARG_DATE, 0, false, NULL},
    {"SENTON", SEARCH_KEY_SENTON, SEARCH_ARG_DATE, 0, false, NULL},
    {"SENTSINCE", SEARCH_KEY_SENTSINCE, SEARCH_ARG_DATE, 0, false, NULL},
    {"SINCE", SEARCH_KEY_SINCE, SEARCH_ARG_DATE, 0, false, NULL},
    {"SMALLER", SEARCH_KEY_SMALLER, SEARCH_ARG_NUMBER, 0, false, NULL},
    {"SUBJECT", SEARCH_KEY_HEADER, SEARCH_ARG_STRING, 0, false, "Subject"},
    {"TEXT", SEARCH_KEY_TEXT, SEARCH_ARG_STRING, 0, false, NULL},
    {"TO", SEARCH_KEY_HEADER, SEARCH_ARG_STRING, 0, false, "To"},
    {"UID", SEARCH_KEY_UIDSET, SEARCH_ARG_SET, 0, false, NULL},
    {"UNANSWERED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_ANSWERED, false,
     NULL},
    {"UNDELETED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_DELETED, false,
     NULL},
    {"UNDRAFT", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_DRAFT, false,
     NULL},
    {"UNFLAGGED", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_FLAGGED, false,
     NULL},
    {"UNKEYWORD", SEARCH_KEY_KEYWORD, SEARCH_ARG_STRING, 0, false, NULL},
    {"UNSEEN", SEARCH_KEY_FLAG, SEARCH_ARG_NONE, STORE_FLAG_SEEN, false, NULL},
};

/* The arguments still to read at one level of the tree. */
struct search_cursor {
	const struct imap_arg *args;
	size_t count;
	size_t pos;
};

struct search_parser {
	struct arena *arena;
	size_t nodes;
	const char *error; /* first error, static text */
	bool has_modseq;
};

static struct search_key *search_parse_key(struct search_parser *p,
                                           struct search_cursor *cur,
                                           unsigned depth);

static void *
search_fail(struct search_parser *p, const char *error)
{
	if (p->error == NULL)
		p->error = error;
	return NULL;
}

static struct search_key *
search_new_key(struct search_parser *p, enum search_key_type type)
{
	if (p->nodes >= SEARCH_MAX_NODES)
		return search_fail(p, "[LIMIT] Too many search keys");
	p->nodes++;
	struct search_key *key = arena_new(p->arena, struct search_key);
	key->type = type;
	return key;
}

static const struct imap_arg *
search_next_arg(struct search_parser *p, struct search_cursor *cur,
                const char *missing)
{
	if (cur->pos >= cur->count)
		return search_fail(p, missing);
	return &cur->args[cur->pos++];
}

static const struct search_key_def *
search_find_def(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(search_key_defs); i++) {
		if (mem_case_eq(name, len, search_key_defs[i].name))
			return &search_key_defs[i];
	}
	return NULL;
}

static bool
search_read_string(struct search_parser *p, struct search_cursor *cur,
                   const char **str_r, size_t *len_r)
{
	const struct imap_arg *arg =
	    search_next_arg(p, cur, "Missing search string");
	if (arg == NULL)
		return false;
	if (!imap_arg_get_astring(arg, str_r, len_r)) {
		search_fail(p, "Invalid search string");
		return false;
	}
	return true;
}

static int64_t
search_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool
search_read_date(struct search_parser *p, struct search_cursor *cur,
                 int64_t *day_r)
{
	const char *str;
	size_t len;
	int64_t day_start;
	if (!search_read_string(p, cur, &str, &len))
		return false;
	if (!imap_date_parse(str, len, &day_start)) {
		search_fail(p, "Invalid search date");
		return false;
	}
	*day_r = search_floor_div(day_start, 86400);
	return true;
}

static bool
search_read_number(struct search_parser *p, struct search_cursor *cur,
                   uint64_t *number_r)
{
	const struct imap_arg *arg =
	    search_next_arg(p, cur, "Missing search size");
	if (arg == NULL)
		return false;
	/* RFC 9051 9: LARGER and SMALLER take a number64. */
	if (arg->type != IMAP_ARG_ATOM ||
	    !parse_u64(arg->str, arg->len, INT64_MAX, number_r)) {
		search_fail(p, "Invalid search size");
		return false;
	}
	return true;
}

/*
 * RFC 7162 3.1.5: MODSEQ [entry-name SP entry-type-req] mod-sequence-valzer,
 * entry-name a quoted "/flags/<flag>", entry-type-req "priv", "shared"
 * or "all".  Casella keeps one mod-sequence per message, which stands for
 * every entry, so the entry only has to be well-formed.
 */
static bool
search_read_modseq(struct search_parser *p, struct search_cursor *cur,
                   uint64_t *modseq_r)
{
	const struct imap_arg *arg = search_next_arg(p, cur, "Missing MODSEQ");
	if (arg != NULL && arg->type != IMAP_ARG_ATOM &&
	    imap_arg_is_string(arg)) {
		const struct imap_arg *type =
		    search_next_arg(p, cur, "Missing MODSEQ entry type");
		if (type == NULL)
			return false;
		if (arg->len < 7 || strncasecmp(arg->str, "/flags/", 7) != 0 ||
		    !(imap_arg_atom_equals(type, "priv") ||
		      imap_arg_atom_equals(type, "shared") ||
		      imap_arg_atom_equals(type, "all"))) {
			search_fail(p, "Invalid MODSEQ entry");
			return false;
		}
		arg = search_next_arg(p, cur, "Missing MODSEQ value");
	}
	if (arg == NULL)
		return false;
	if (arg->type != IMAP_ARG_ATOM ||
	    !parse_u64(arg->str, arg->len, INT64_MAX, modseq_r)) {
		search_fail(p, "Invalid MODSEQ value");
		return false;
	}
	p->has_modseq = true;
	return true;
}

/* A sequence set, or "$" (RFC 5182). */
static bool
search_check_set(struct search_parser *p, const struct imap_arg *arg)
{
	struct seqset set;
	if (arg->type != IMAP_ARG_ATOM ||
	    !seqset_parse(p->arena, arg->str, arg->len, SEARCH_MAX_SET_RANGES,
	                  &set)) {
		search_fail(p, "Invalid sequence set");
		return false;
	}
	return true;
}

static enum search_cost
search_max_cost(enum search_cost a, enum search_cost b)
{
	return a > b ? a : b;
}

/* The cost of a key that has no children. */
static enum search_cost
search_leaf_cost(enum search_key_type type)
{
	switch (type) {
	case SEARCH_KEY_LARGER:
	case SEARCH_KEY_SMALLER:
	case SEARCH_KEY_BEFORE:
	case SEARCH_KEY_ON:
	case SEARCH_KEY_SINCE:
		return SEARCH_COST_META;
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
	case SEARCH_KEY_HEADER:
		return SEARCH_COST_HEADER;
	case SEARCH_KEY_BODY:
	case SEARCH_KEY_TEXT:
		return SEARCH_COST_BODY;
	default:
		return SEARCH_COST_VIEW;
	}
}

/* Reads a parenthesised list or the top level: one or more keys. */
static struct search_key *
search_parse_list(struct search_parser *p, const struct imap_arg *args,
                  size_t count, unsigned depth)
{
	if (count == 0)
		return search_fail(p, "Missing search key");
	struct search_key *and = search_new_key(p, SEARCH_KEY_AND);
	if (and == NULL)
		return NULL;
	struct search_cursor cur = {args, count, 0};
	struct search_key **tail = &and->children;
	while (cur.pos < cur.count) {
		struct search_key *key = search_parse_key(p, &cur, depth);
		if (key == NULL)
			return NULL;
		and->cost = search_max_cost(and->cost, key->cost);
		*tail = key;
		tail = &key->next;
	}
	return and;
}

/* NOT key, OR key key: the children follow at the same level. */
static bool
search_parse_children(struct search_parser *p, struct search_cursor *cur,
                      struct search_key *key, unsigned n, unsigned depth)
{
	struct search_key **tail = &key->children;
	for (unsigned i = 0; i < n; i++) {
		struct search_key *child = search_parse_key(p, cur, depth + 1);
		if (child == NULL)
			return false;
		key->cost = search_max_cost(key->cost, child->cost);
		*tail = child;
		tail = &child->next;
	}
	return true;
}

/* Reads what follows a key name into key. */
static bool
search_parse_args(struct search_parser *p, struct search_cursor *cur,
                  const struct search_key_def *def, struct search_key *key,
                  unsigned depth)
{
	const struct imap_arg *arg;
	switch (def->arg) {
	case SEARCH_ARG_NONE:
		return true;
	case SEARCH_ARG_HEADER:
		if (!search_read_string(p, cur, &key->field, &key->field_len))
			return false;
		return search_read_string(p, cur, &key->str, &key->len);
	case SEARCH_ARG_STRING:
		return search_read_string(p, cur, &key->str, &key->len);
	case SEARCH_ARG_DATE:
		return search_read_date(p, cur, &key->day);
	case SEARCH_ARG_NUMBER:
		return search_read_number(p, cur, &key->number);
	case SEARCH_ARG_MODSEQ:
		return search_read_modseq(p, cur, &key->number);
	case SEARCH_ARG_SET:
		arg = search_next_arg(p, cur, "Missing UID set");
		if (arg == NULL || !search_check_set(p, arg))
			return false;
		key->set = arg->str;
		key->set_len = arg->len;
		return true;
	case SEARCH_ARG_KEY:
		return search_parse_children(p, cur, key, 1, depth);
	case SEARCH_ARG_KEY2:
		return search_parse_children(p, cur, key, 2, depth);
	}
	return false;
}

static struct search_key *
search_parse_set_key(struct search_parser *p, const struct imap_arg *arg)
{
	if (!search_check_set(p, arg))
		return NULL;
	struct search_key *key = search_new_key(p, SEARCH_KEY_SEQSET);
	if (key == NULL)
		return NULL;
	key->set = arg->str;
	key->set_len = arg->len;
	return key;
}

static struct search_key *
search_parse_key(struct search_parser *p, struct search_cursor *cur,
                 unsigned depth)
{
	if (depth >= SEARCH_MAX_DEPTH)
		return search_fail(p, "[LIMIT] Search keys nested too deeply");
	const struct imap_arg *arg =
	    search_next_arg(p, cur, "Missing search key");
	if (arg == NULL)
		return NULL;
	if (arg->type == IMAP_ARG_LIST)
		return search_parse_list(p, arg->list, arg->list_count,
		                         depth + 1);
	if (arg->type != IMAP_ARG_ATOM || arg->len == 0)
		return search_fail(p, "Invalid search key");
	char c = arg->str[0];
	if ((c >= '0' && c <= '9') || c == '*' || c == '$')
		return search_parse_set_key(p, arg);

	const struct search_key_def *def = search_find_def(arg->str, arg->len);
	if (def == NULL)
		return search_fail(p, "Unknown search key");
	struct search_key *key = search_new_key(p, def->type);
	if (key == NULL)
		return NULL;
	key->flag = def->flag;
	key->flag_set = def->flag_set;
	if (def->field != NULL) {
		key->field = def->field;
		key->field_len = strlen(def->field);
	}
	key->cost = search_leaf_cost(def->type);
	if (!search_parse_args(p, cur, def, key, depth))
		return NULL;
	return key;
}

/* RFC 4731 3.1: RETURN (MIN MAX ALL COUNT), RFC 5182: SAVE. */
static bool
search_parse_return(struct search_parser *p, const struct imap_arg *list,
                    unsigned *opts_r)
{
	static const struct {
		const char *name;
		unsigned opt;
	} options[] = {
	    {"MIN", SEARCH_RETURN_MIN},   {"MAX", SEARCH_RETURN_MAX},
	    {"ALL", SEARCH_RETURN_ALL},   {"COUNT", SEARCH_RETURN_COUNT},
	    {"SAVE", SEARCH_RETURN_SAVE},
	};
	unsigned opts = 0;
	bool ok = true;
	for (size_t i = 0; i < list->list_count; i++) {
		unsigned found = 0;
		for (size_t j = 0; j < N_ELEMENTS(options); j++) {
			if (list->list[i].type == IMAP_ARG_ATOM &&
			    imap_arg_atom_equals(&list->list[i],
			                         options[j].name))
				found = options[j].opt;
		}
		if (found == 0)
			ok = false;
		opts |= found;
	}
	/* RFC 4731 3.1: RETURN () means RETURN (ALL). */
	*opts_r = list->list_count == 0 ? SEARCH_RETURN_ALL : opts;
	if (!ok)
		search_fail(p, "Unknown search return option");
	return ok;
}

/* RFC 9051 6.4.4: US-ASCII and UTF-8 must be supported. */
static bool
search_charset_ok(const struct imap_arg *arg)
{
	const char *name;
	size_t len;
	if (!imap_arg_get_astring(arg, &name, &len))
		return false;
	return mem_case_eq(name, len, "US-ASCII") ||
	       mem_case_eq(name, len, "UTF-8");
}

/* Reads RETURN and CHARSET; leaves *pos at the first key. */
static enum search_parse_status
search_parse_prefix(struct search_parser *p, const struct imap_arg *args,
                    size_t count, size_t *pos, struct search_program *prog)
{
	if (*pos < count && imap_arg_atom_equals(&args[*pos], "RETURN")) {
		(*pos)++;
		if (*pos >= count || args[*pos].type != IMAP_ARG_LIST) {
			search_fail(p, "RETURN needs a list of options");
			return SEARCH_PARSE_BAD;
		}
		prog->has_return = true;
		if (!search_parse_return(p, &args[(*pos)++],
		                         &prog->return_opts))
			return SEARCH_PARSE_BAD;
	}
	if (*pos < count && imap_arg_atom_equals(&args[*pos], "CHARSET")) {
		(*pos)++;
		if (*pos >= count || !imap_arg_is_string(&args[*pos])) {
			search_fail(p, "Missing charset name");
			return SEARCH_PARSE_BAD;
		}
		if (!search_charset_ok(&args[(*pos)++])) {
			search_fail(p, "Unsupported charset");
			return SEARCH_PARSE_BADCHARSET;
		}
	}
	return SEARCH_PARSE_OK;
}

enum search_parse_status
search_parse(struct arena *arena, const struct imap_arg *args, size_t count,
             struct search_program *prog_r, const char **error_r)
{
	struct search_parser p = {.arena = arena};
	size_t pos = 0;
	memset(prog_r, 0, sizeof(*prog_r));
	enum search_parse_status status =
	    search_parse_prefix(&p, args, count, &pos, prog_r);
	if (status == SEARCH_PARSE_OK) {
		prog_r->root =
		    search_parse_list(&p, args + pos, count - pos, 0);
		if (prog_r->root == NULL)
			status = SEARCH_PARSE_BAD;
	}
	prog_r->node_count = p.nodes;
	prog_r->has_modseq = p.has_modseq;
	*error_r = p.error;
	if (status != SEARCH_PARSE_OK)
		i_assert(p.error != NULL);
	return status;
}
