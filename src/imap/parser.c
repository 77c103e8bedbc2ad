/*
 * IMAP command parser: a push state machine (see parser.h for the contract).
 *
 * Token text (tag, name, atoms, quoted strings) is copied once into one
 * growable buffer, NUL-terminated; literal data is copied once into its
 * own exactly sized allocation.  Arguments are recorded as a flat array of
 * nodes in the order they appear; when the line is complete the nodes are
 * laid out into struct imap_arg arrays so that each list's elements are
 * contiguous.  Offsets, not pointers, are kept while parsing because the
 * text buffer may move when it grows.
 *
 * max_line counts every byte of the command except literal data, CRLFs
 * included; the scanners are never given bytes beyond it, so the text
 * buffer stays within max_line + 2.  An error (other than a rejected
 * literal) is reported once the rest of its line has been discarded, as
 * parser.h promises; a discarded line ending in "{N+}" has its N data
 * bytes discarded too.
 */
#include "imap/parser.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Text buffer and node arrays kept between commands; larger ones shrink. */
#define PARSER_BUF_INITIAL   256
#define PARSER_BUF_KEEP      4096
#define PARSER_NODES_INITIAL 16
#define PARSER_NODES_KEEP    64
/* number64 has at most 20 digits (RFC 9051 4.1 allows up to 2^63-1). */
#define PARSER_LIT_DIGITS_MAX 20
/* Room for "{" 20 digits "+}" CR: the end of a line being skipped. */
#define PARSER_TAIL_MAX 32
#define NODE_NONE       UINT32_MAX

enum parser_state {
	PS_TAG,                /* reading the tag */
	PS_NAME,               /* reading the command name */
	PS_SEP,                /* after a token: SP, ')' or end of line */
	PS_ARG,                /* after SP: an argument must start */
	PS_LIST_FIRST,         /* after '(': an argument or ')' */
	PS_ATOM,               /* inside an atom */
	PS_BRACKET,            /* inside an atom's [...] section */
	PS_BRACKET_QUOTED,     /* inside a quoted string within [...] */
	PS_BRACKET_QUOTED_ESC, /* after '\' in a quoted string in [...] */
	PS_TILDE,              /* after '~': literal8 or an atom */
	PS_QUOTED,             /* inside a quoted string */
	PS_QUOTED_ESC,         /* after '\' in a quoted string */
	PS_LIT_SIZE,           /* after '{': digits */
	PS_LIT_CLOSE,          /* after '+': expecting '}' */
	PS_LIT_CR,             /* after '}': expecting CRLF */
	PS_LIT_LF,             /* after '}' CR: expecting LF */
	PS_LIT_DATA,           /* copying literal data */
	PS_EOL_LF,             /* CR at the end of the command: expecting LF */
	PS_SKIP,               /* after an error: discarding through LF */
	PS_SKIP_DATA,          /* discarding a skipped line's {N+} data */
	PS_FATAL,              /* fatal error: the connection must close */
};

enum step_result {
	STEP_GO,       /* keep going with the next input byte */
	STEP_COMMAND,  /* a command is complete */
	STEP_CONTINUE, /* a synchronizing literal was accepted */
	STEP_ERROR,    /* error reported (error, error_text, fatal set) */
};

/* One argument as recorded while parsing. */
struct parser_node {
	char *data;      /* literal data (own allocation), else NULL */
	size_t off;      /* atom/quoted text: offset into buf */
	size_t len;      /* text or literal length */
	uint32_t parent; /* index of the enclosing list, or NODE_NONE */
	uint32_t index;  /* position within the parent (or top level) */
	uint32_t count;  /* lists: number of elements */
	uint32_t block;  /* lists: first element's slot, set by build */
	uint8_t type;    /* enum imap_arg_type */
	bool literal8;   /* literal written as ~{N} */
};

struct imap_parser {
	struct imap_parser_limits limits;
	struct imap_parser_limits next_limits; /* from set_limits() */
	bool limits_pending;                   /* next_limits not applied */

	enum parser_state state;
	bool done; /* a command or error was returned: reset first */

	char *buf;       /* token text, each token NUL-terminated */
	size_t buf_len;  /* bytes used in buf */
	size_t buf_cap;  /* bytes allocated for buf */
	size_t line_len; /* command bytes so far, literal data excluded */
	size_t tag_len;  /* tag bytes so far (tag is at buf offset 0) */
	bool tag_done;   /* the tag is complete and NUL-terminated */
	size_t name_off; /* command name offset in buf */

	struct parser_node *nodes; /* all arguments in order of appearance */
	uint32_t node_count;       /* nodes used */
	uint32_t node_cap;         /* nodes allocated */
	uint32_t top_count;        /* top-level arguments */
	uint32_t token;            /* node being read (atom, quoted) */
	unsigned arg_count;        /* arguments started, for max_args */
	uint32_t *stack;           /* node indexes of the open lists */
	unsigned depth;            /* open lists */
	unsigned stack_cap;        /* stack entries allocated */
	size_t bracket_depth;      /* '[' nesting inside an atom */

	struct imap_arg *out;         /* built arguments, node_count of them */
	uint32_t out_cap;             /* entries allocated in out */
	struct imap_command_line cmd; /* the returned command */

	uint64_t lit_size; /* literal header: size so far */
	char lit_digits[PARSER_LIT_DIGITS_MAX]; /* its digits, for skipping */
	uint8_t lit_ndigits;                    /* digits read */
	bool lit_nonsync;                       /* header had '+' */
	bool lit8;                              /* header started with '~' */
	uint32_t lit_node;  /* node receiving literal data */
	uint64_t lit_left;  /* data bytes still expected */
	uint64_t lit_total; /* literal bytes in this command */
	size_t lit_held;    /* bytes allocated for literals */

	char tail[PARSER_TAIL_MAX]; /* last bytes of a line being skipped */
	uint8_t tail_len;           /* bytes in tail */
	uint64_t skip_left;         /* {N+} data bytes still to discard */

	enum imap_parser_error error;
	const char *error_text;
	bool fatal;
};

/*
 * Byte classes, one table lookup per byte in the scanning loops.
 * RFC 9051 9: atom-specials are "(" ")" "{" SP CTL list-wildcards
 * quoted-specials resp-specials; a tag is ASTRING-CHAR except "+".
 */
#define CC_TAG     0x01 /* tag byte */
#define CC_NAME    0x02 /* ATOM-CHAR: command name byte */
#define CC_ATOM    0x04 /* permissive atom byte ('[' handled apart) */
#define CC_BRACKET 0x08 /* plain byte inside an atom's [...] */
#define CC_QUOTED  0x10 /* plain byte inside a quoted string */

#define IS_CTL(c) ((c) < 0x20 || (c) == 0x7f)
#define IS_ATOM_SPECIAL(c)                                                     \
	((c) == '(' || (c) == ')' || (c) == '{' || (c) == ' ' || IS_CTL(c) ||  \
	 (c) == '%' || (c) == '*' || (c) == '"' || (c) == '\\' || (c) == ']')
#define IS_ATOM_CHAR(c) ((c) < 0x80 && !IS_ATOM_SPECIAL(c))
#define CLASS(c)                                                               \
	((((IS_ATOM_CHAR(c) || (c) == ']') && (c) != '+') ? CC_TAG : 0) |      \
	 (IS_ATOM_CHAR(c) ? CC_NAME : 0) |                                     \
	 ((!IS_CTL(c) && (c) != ' ' && (c) != '(' && (c) != ')' && (c) != '[') \
	      ? CC_ATOM                                                        \
	      : 0) |                                                           \
	 ((!IS_CTL(c) && (c) != '[' && (c) != ']' && (c) != '"') ? CC_BRACKET  \
	                                                         : 0) |        \
	 (((c) != '"' && (c) != '\\' && (c) != '\r' && (c) != '\n' &&          \
	   (c) != 0)                                                           \
	      ? CC_QUOTED                                                      \
	      : 0))
#define CLASS4(c)  CLASS(c), CLASS((c) + 1), CLASS((c) + 2), CLASS((c) + 3)
#define CLASS16(c) CLASS4(c), CLASS4((c) + 4), CLASS4((c) + 8), CLASS4((c) + 12)
#define CLASS64(c)                                                             \
	CLASS16(c), CLASS16((c) + 16), CLASS16((c) + 32), CLASS16((c) + 48)

static const uint8_t cclass[256] = {
    CLASS64(0),
    CLASS64(64),
    CLASS64(128),
    CLASS64(192),
};

static bool
state_counts_line(enum parser_state state)
{
	return state != PS_LIT_DATA && state != PS_SKIP &&
	       state != PS_SKIP_DATA && state != PS_FATAL;
}

static size_t
parser_buf_limit(const struct imap_parser *p)
{
	/* Text never exceeds the counted line bytes plus one pending NUL. */
	return p->limits.max_line < SIZE_MAX - 2 ? p->limits.max_line + 2
	                                         : SIZE_MAX;
}

static void
buf_append(struct imap_parser *p, const void *data, size_t n)
{
	size_t need = p->buf_len + n + 1;
	if (need > p->buf_cap) {
		size_t limit = parser_buf_limit(p);
		i_assert(need <= limit);
		size_t cap = p->buf_cap < PARSER_BUF_INITIAL / 2
		                 ? PARSER_BUF_INITIAL
		                 : p->buf_cap * 2;
		if (cap > limit)
			cap = limit;
		if (cap < need)
			cap = need;
		p->buf = xrealloc(p->buf, cap);
		p->buf_cap = cap;
	}
	if (n > 0)
		memcpy(p->buf + p->buf_len, data, n);
	p->buf_len += n;
}

static void
buf_nul(struct imap_parser *p)
{
	buf_append(p, "", 1);
}

static void
parser_free_literals(struct imap_parser *p)
{
	for (uint32_t i = 0; i < p->node_count; i++) {
		free(p->nodes[i].data);
		p->nodes[i].data = NULL;
	}
	p->lit_held = 0;
}

static void
parser_apply_limits(struct imap_parser *p)
{
	p->limits = p->next_limits;
	p->limits_pending = false;
}

/* Forgets the finished command; big buffers are given back. */
static void
parser_reset(struct imap_parser *p)
{
	parser_free_literals(p);
	if (p->buf_cap > PARSER_BUF_KEEP) {
		p->buf = xrealloc(p->buf, PARSER_BUF_KEEP);
		p->buf_cap = PARSER_BUF_KEEP;
	}
	if (p->node_cap > PARSER_NODES_KEEP) {
		p->nodes =
		    xrealloc(p->nodes, PARSER_NODES_KEEP * sizeof(*p->nodes));
		p->node_cap = PARSER_NODES_KEEP;
	}
	if (p->out_cap > PARSER_NODES_KEEP) {
		p->out = xrealloc(p->out, PARSER_NODES_KEEP * sizeof(*p->out));
		p->out_cap = PARSER_NODES_KEEP;
	}
	p->state = PS_TAG;
	p->done = false;
	p->buf_len = 0;
	p->line_len = 0;
	p->tag_len = 0;
	p->tag_done = false;
	p->name_off = 0;
	p->node_count = 0;
	p->top_count = 0;
	p->arg_count = 0;
	p->depth = 0;
	p->lit_total = 0;
	p->tail_len = 0;
	p->skip_left = 0;
	p->error = IMAP_PARSER_ERROR_NONE;
	p->error_text = NULL;
	memset(&p->cmd, 0, sizeof(p->cmd));
}

struct imap_parser *
imap_parser_create(const struct imap_parser_limits *limits)
{
	struct imap_parser *p = xcalloc(1, sizeof(*p));
	p->limits = *limits;
	p->next_limits = *limits;
	p->state = PS_TAG;
	return p;
}

void
imap_parser_destroy(struct imap_parser **parser)
{
	struct imap_parser *p = *parser;
	if (p == NULL)
		return;
	parser_free_literals(p);
	free(p->buf);
	free(p->nodes);
	free(p->out);
	free(p->stack);
	free(p);
	*parser = NULL;
}

void
imap_parser_set_limits(struct imap_parser *parser,
                       const struct imap_parser_limits *limits)
{
	parser->next_limits = *limits;
	parser->limits_pending = true;
}

void
imap_parser_release(struct imap_parser *parser)
{
	if (parser->done)
		parser_reset(parser);
}

/* Appends bytes to the tail kept while skipping, keeping the last ones. */
static void
tail_add(struct imap_parser *p, const void *data, size_t n)
{
	const char *s = data;
	if (n >= PARSER_TAIL_MAX) {
		memcpy(p->tail, s + n - PARSER_TAIL_MAX, PARSER_TAIL_MAX);
		p->tail_len = PARSER_TAIL_MAX;
		return;
	}
	if (p->tail_len + n > PARSER_TAIL_MAX) {
		size_t drop = p->tail_len + n - PARSER_TAIL_MAX;
		memmove(p->tail, p->tail + drop, p->tail_len - drop);
		p->tail_len = (uint8_t)(p->tail_len - drop);
	}
	memcpy(p->tail + p->tail_len, s, n);
	p->tail_len = (uint8_t)(p->tail_len + n);
}

/* A literal header cut short by an error goes into the tail, so that a
 * line ending in a valid "{N+}" is still recognised while skipping. */
static void
tail_seed_literal(struct imap_parser *p)
{
	if (p->state != PS_LIT_SIZE && p->state != PS_LIT_CLOSE &&
	    p->state != PS_LIT_CR && p->state != PS_LIT_LF)
		return;
	tail_add(p, "{", 1);
	tail_add(p, p->lit_digits, p->lit_ndigits);
	if (p->state == PS_LIT_SIZE)
		return;
	if (p->lit_nonsync)
		tail_add(p, "+", 1);
	if (p->state == PS_LIT_CR || p->state == PS_LIT_LF)
		tail_add(p, "}", 1);
	if (p->state == PS_LIT_LF)
		tail_add(p, "\r", 1);
}

/* Saturating decimal accumulation: any overflow is simply "too big". */
static uint64_t
size_add_digit(uint64_t size, char digit)
{
	unsigned d = (unsigned)(digit - '0');
	if (size > (UINT64_MAX - d) / 10)
		return UINT64_MAX;
	return size * 10 + d;
}

/*
 * RFC 7888: if a skipped line ended in a non-synchronizing literal header,
 * its data follows at once and must be skipped too, or it would be read
 * as commands.  A synchronizing one is never sent since we do not answer
 * "+".
 */
static bool
tail_nonsync_literal(const struct imap_parser *p, uint64_t *size_r)
{
	size_t n = p->tail_len;
	const char *t = p->tail;
	if (n > 0 && t[n - 1] == '\r')
		n--;
	if (n < 4 || t[n - 1] != '}' || t[n - 2] != '+')
		return false;
	size_t end = n - 2, start = end;
	while (start > 0 && t[start - 1] >= '0' && t[start - 1] <= '9')
		start--;
	if (start == end || start == 0 || t[start - 1] != '{')
		return false;
	uint64_t size = 0;
	for (size_t i = start; i < end; i++)
		size = size_add_digit(size, t[i]);
	*size_r = size;
	return true;
}

/* Records an error and starts skipping through the end of the line. */
static enum step_result
parser_fail(struct imap_parser *p, enum imap_parser_error error,
            const char *text)
{
	p->error = error;
	p->error_text = text;
	parser_free_literals(p);
	p->tail_len = 0;
	tail_seed_literal(p);
	p->state = PS_SKIP;
	return STEP_GO;
}

static enum step_result
parser_fatal(struct imap_parser *p, enum imap_parser_error error,
             const char *text)
{
	p->error = error;
	p->error_text = text;
	p->fatal = true;
	parser_free_literals(p);
	p->state = PS_FATAL;
	return STEP_ERROR;
}

static uint32_t
node_new(struct imap_parser *p, enum imap_arg_type type)
{
	/* Every node was counted against max_args when it started. */
	i_assert(p->node_count < p->limits.max_args);
	if (p->node_count == p->node_cap) {
		uint32_t cap =
		    p->node_cap == 0 ? PARSER_NODES_INITIAL : p->node_cap * 2;
		if (cap > p->limits.max_args || cap < p->node_cap)
			cap = p->limits.max_args;
		p->nodes = xrealloc(p->nodes, cap * sizeof(*p->nodes));
		p->node_cap = cap;
	}
	uint32_t idx = p->node_count++;
	struct parser_node *n = &p->nodes[idx];
	memset(n, 0, sizeof(*n));
	n->type = (uint8_t)type;
	n->off = p->buf_len;
	if (p->depth > 0) {
		n->parent = p->stack[p->depth - 1];
		n->index = p->nodes[n->parent].count++;
	} else {
		n->parent = NODE_NONE;
		n->index = p->top_count++;
	}
	return idx;
}

/* Finishes the atom or quoted string being read. */
static void
token_finish(struct imap_parser *p)
{
	struct parser_node *n = &p->nodes[p->token];
	n->len = p->buf_len - n->off;
	buf_nul(p);
	if (n->type == IMAP_ARG_ATOM && n->len == 3 &&
	    mem_case_eq(p->buf + n->off, 3, "NIL"))
		n->type = IMAP_ARG_NIL;
}

static bool
parser_count_arg(struct imap_parser *p)
{
	if (p->arg_count >= p->limits.max_args)
		return false;
	p->arg_count++;
	return true;
}

static bool
list_open(struct imap_parser *p)
{
	if (p->depth >= p->limits.max_depth)
		return false;
	if (p->depth == p->stack_cap) {
		unsigned cap = p->stack_cap == 0 ? 8 : p->stack_cap * 2;
		if (cap > p->limits.max_depth || cap < p->stack_cap)
			cap = p->limits.max_depth;
		p->stack = xrealloc(p->stack, cap * sizeof(*p->stack));
		p->stack_cap = cap;
	}
	uint32_t idx = node_new(p, IMAP_ARG_LIST);
	p->stack[p->depth++] = idx;
	return true;
}

/* Lays the nodes out as imap_arg arrays, each list's elements together. */
static enum step_result
parser_build(struct imap_parser *p)
{
	if (p->node_count > p->out_cap) {
		p->out = xrealloc(p->out, p->node_count * sizeof(*p->out));
		p->out_cap = p->node_count;
	}
	uint32_t next = p->top_count;
	for (uint32_t i = 0; i < p->node_count; i++) {
		struct parser_node *n = &p->nodes[i];
		uint32_t base =
		    n->parent == NODE_NONE ? 0 : p->nodes[n->parent].block;
		struct imap_arg *a = &p->out[base + n->index];
		memset(a, 0, sizeof(*a));
		a->type = (enum imap_arg_type)n->type;
		if (n->type == IMAP_ARG_LIST) {
			n->block = next;
			a->list = n->count > 0 ? p->out + next : NULL;
			a->list_count = n->count;
			next += n->count;
		} else if (n->type == IMAP_ARG_LITERAL) {
			a->str = n->data;
			a->len = n->len;
			a->literal8 = n->literal8;
		} else {
			a->str = p->buf + n->off;
			a->len = n->len;
		}
	}
	i_assert(next == p->node_count);
	p->cmd.tag = p->buf;
	p->cmd.name = p->buf + p->name_off;
	p->cmd.args = p->top_count > 0 ? p->out : NULL;
	p->cmd.arg_count = p->top_count;
	p->done = true;
	return STEP_COMMAND;
}

static enum step_result
step_tag(struct imap_parser *p, const unsigned char *d, size_t end, size_t *pos)
{
	size_t i = *pos;
	while (i < end && (cclass[d[i]] & CC_TAG) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	p->tag_len += i - *pos;
	*pos = i;
	if (i == end)
		return STEP_GO;
	unsigned char c = d[i];
	if (c == '\r' || c == '\n') {
		if (p->tag_len == 0)
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Empty command line");
		buf_nul(p);
		p->tag_done = true;
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Missing command name");
	}
	if (c != ' ' || p->tag_len == 0)
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX, "Invalid tag");
	buf_nul(p);
	p->tag_done = true;
	p->name_off = p->buf_len;
	(*pos)++;
	p->state = PS_NAME;
	return STEP_GO;
}

static enum step_result
step_name(struct imap_parser *p, const unsigned char *d, size_t end,
          size_t *pos)
{
	size_t i = *pos;
	while (i < end && (cclass[d[i]] & CC_NAME) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	*pos = i;
	if (i == end)
		return STEP_GO;
	unsigned char c = d[i];
	if (c != ' ' && c != '\r' && c != '\n')
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Invalid character in command name");
	if (p->buf_len == p->name_off)
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Missing command name");
	buf_nul(p);
	p->state = PS_SEP;
	return STEP_GO;
}

static enum step_result
step_sep(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	switch (d[*pos]) {
	case ' ':
		p->state = PS_ARG;
		break;
	case ')':
		if (p->depth == 0)
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Unexpected ')'");
		p->depth--;
		break;
	case '\r':
	case '\n':
		if (p->depth > 0)
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Missing ')'");
		if (d[(*pos)++] == '\n')
			return parser_build(p);
		p->state = PS_EOL_LF;
		return STEP_GO;
	default:
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Expected space between arguments");
	}
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_eol_lf(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	if (d[*pos] != '\n')
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "CR not followed by LF");
	(*pos)++;
	return parser_build(p);
}

static enum step_result
step_arg(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	unsigned char c = d[*pos];
	if (c == ')' && p->state == PS_LIST_FIRST) {
		(*pos)++;
		p->depth--;
		p->state = PS_SEP;
		return STEP_GO;
	}
	bool atom = (cclass[c] & CC_ATOM) != 0 || c == '[';
	if (!atom && c != '(')
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   c == '\r' || c == '\n'
		                       ? "Missing argument"
		                       : "Invalid character at argument");
	if (!parser_count_arg(p))
		return parser_fail(p, IMAP_PARSER_ERROR_TOO_MANY_ARGS,
		                   "Too many arguments");
	switch (c) {
	case '"':
		p->token = node_new(p, IMAP_ARG_QUOTED);
		p->state = PS_QUOTED;
		break;
	case '~':
		p->state = PS_TILDE;
		break;
	case '{':
		p->lit8 = false;
		p->lit_size = 0;
		p->lit_ndigits = 0;
		p->lit_nonsync = false;
		p->state = PS_LIT_SIZE;
		break;
	case '(':
		if (!list_open(p))
			return parser_fail(p, IMAP_PARSER_ERROR_TOO_DEEP,
			                   "Lists nested too deeply");
		p->state = PS_LIST_FIRST;
		break;
	default:
		/* The atom scan reads this byte again. */
		p->token = node_new(p, IMAP_ARG_ATOM);
		p->state = PS_ATOM;
		return STEP_GO;
	}
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_atom(struct imap_parser *p, const unsigned char *d, size_t end,
          size_t *pos)
{
	size_t i = *pos;
	while (i < end && (cclass[d[i]] & CC_ATOM) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	*pos = i;
	if (i == end)
		return STEP_GO;
	if (d[i] == '[') {
		/* FETCH's BODY[HEADER.FIELDS (A B)]: one atom. */
		buf_append(p, "[", 1);
		(*pos)++;
		p->bracket_depth = 1;
		p->state = PS_BRACKET;
		return STEP_GO;
	}
	token_finish(p);
	p->state = PS_SEP;
	return STEP_GO;
}

static enum step_result
step_bracket(struct imap_parser *p, const unsigned char *d, size_t end,
             size_t *pos)
{
	size_t i = *pos;
	while (i < end && (cclass[d[i]] & CC_BRACKET) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	*pos = i;
	if (i == end)
		return STEP_GO;
	unsigned char c = d[i];
	if (c == '[') {
		p->bracket_depth++;
	} else if (c == ']') {
		if (--p->bracket_depth == 0)
			p->state = PS_ATOM;
	} else if (c == '"') {
		/* RFC 9051 header-fld-name is an astring: may be quoted. */
		p->state = PS_BRACKET_QUOTED;
	} else {
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX, "Missing ']'");
	}
	buf_append(p, &c, 1);
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_bracket_quoted(struct imap_parser *p, const unsigned char *d, size_t end,
                    size_t *pos)
{
	size_t i = *pos;
	if (p->state == PS_BRACKET_QUOTED_ESC) {
		if (d[i] != '"' && d[i] != '\\')
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Invalid escape in quoted string");
		buf_append(p, d + i, 1);
		*pos = i + 1;
		p->state = PS_BRACKET_QUOTED;
		return STEP_GO;
	}
	while (i < end && (cclass[d[i]] & CC_QUOTED) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	*pos = i;
	if (i == end)
		return STEP_GO;
	if (d[i] == '"')
		p->state = PS_BRACKET;
	else if (d[i] == '\\')
		p->state = PS_BRACKET_QUOTED_ESC;
	else
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Unterminated quoted string");
	buf_append(p, d + i, 1);
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_quoted(struct imap_parser *p, const unsigned char *d, size_t end,
            size_t *pos)
{
	size_t i = *pos;
	while (i < end && (cclass[d[i]] & CC_QUOTED) != 0)
		i++;
	buf_append(p, d + *pos, i - *pos);
	*pos = i;
	if (i == end)
		return STEP_GO;
	if (d[i] == '"') {
		token_finish(p);
		p->state = PS_SEP;
	} else if (d[i] == '\\') {
		p->state = PS_QUOTED_ESC;
	} else {
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   d[i] == 0 ? "NUL in quoted string"
		                             : "Unterminated quoted string");
	}
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_quoted_esc(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	/* RFC 9051 9: only quoted-specials may follow '\'. */
	if (d[*pos] != '"' && d[*pos] != '\\')
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Invalid escape in quoted string");
	buf_append(p, d + *pos, 1);
	(*pos)++;
	p->state = PS_QUOTED;
	return STEP_GO;
}

static enum step_result
step_tilde(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	if (d[*pos] == '{') {
		/* RFC 9051 9: literal8 = "~{" number64 ["+"] "}" CRLF */
		p->lit8 = true;
		p->lit_size = 0;
		p->lit_ndigits = 0;
		p->lit_nonsync = false;
		p->state = PS_LIT_SIZE;
		(*pos)++;
		return STEP_GO;
	}
	/* Just an atom starting with '~'; the scan rereads this byte. */
	p->token = node_new(p, IMAP_ARG_ATOM);
	buf_append(p, "~", 1);
	p->state = PS_ATOM;
	return STEP_GO;
}

static enum step_result
step_lit_size(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	unsigned char c = d[*pos];
	if (c >= '0' && c <= '9') {
		if (p->lit_ndigits == PARSER_LIT_DIGITS_MAX)
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Literal size too long");
		p->lit_digits[p->lit_ndigits++] = (char)c;
		p->lit_size = size_add_digit(p->lit_size, (char)c);
	} else if (p->lit_ndigits == 0 || (c != '+' && c != '}')) {
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Invalid literal size");
	} else if (c == '+') {
		/* RFC 7888 LITERAL+ / LITERAL- */
		p->lit_nonsync = true;
		p->state = PS_LIT_CLOSE;
	} else {
		p->state = PS_LIT_CR;
	}
	(*pos)++;
	return STEP_GO;
}

/* The literal header's CRLF was read: check the limits, then take data. */
static enum step_result
literal_accept(struct imap_parser *p)
{
	const struct imap_parser_limits *l = &p->limits;
	uint64_t size = p->lit_size;
	bool too_big = size > l->max_literal || size >= SIZE_MAX ||
	               size > l->max_literal_total ||
	               p->lit_total > l->max_literal_total - size;
	if (p->lit_nonsync && size > l->max_nonsync_literal)
		too_big = true;
	if (too_big) {
		/* RFC 7888 4: non-sync data is already on its way. */
		if (p->lit_nonsync)
			return parser_fatal(p,
			                    IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
			                    "Literal too big");
		/* The client waits for "+" and will not send the data. */
		p->error = IMAP_PARSER_ERROR_LITERAL_TOO_BIG;
		p->error_text = "Literal too big";
		parser_free_literals(p);
		p->done = true;
		return STEP_ERROR;
	}
	p->lit_total += size;
	uint32_t idx = node_new(p, IMAP_ARG_LITERAL);
	struct parser_node *n = &p->nodes[idx];
	n->literal8 = p->lit8;
	n->len = (size_t)size;
	n->data = xmalloc(n->len + 1);
	n->data[n->len] = '\0';
	p->lit_held += n->len + 1;
	p->lit_node = idx;
	p->lit_left = size;
	p->state = size > 0 ? PS_LIT_DATA : PS_SEP;
	return p->lit_nonsync ? STEP_GO : STEP_CONTINUE;
}

static enum step_result
step_lit_end(struct imap_parser *p, const unsigned char *d, size_t *pos)
{
	unsigned char c = d[*pos];
	if (p->state == PS_LIT_CLOSE) {
		if (c != '}')
			return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
			                   "Invalid literal size");
		p->state = PS_LIT_CR;
	} else if (c == '\r' && p->state == PS_LIT_CR) {
		p->state = PS_LIT_LF;
	} else if (c == '\n') {
		(*pos)++;
		return literal_accept(p);
	} else {
		return parser_fail(p, IMAP_PARSER_ERROR_SYNTAX,
		                   "Literal header not followed by CRLF");
	}
	(*pos)++;
	return STEP_GO;
}

static enum step_result
step_lit_data(struct imap_parser *p, const unsigned char *d, size_t end,
              size_t *pos)
{
	struct parser_node *n = &p->nodes[p->lit_node];
	size_t n_bytes = end - *pos;
	if (n_bytes > p->lit_left)
		n_bytes = (size_t)p->lit_left;
	memcpy(n->data + (n->len - p->lit_left), d + *pos, n_bytes);
	*pos += n_bytes;
	p->lit_left -= n_bytes;
	if (p->lit_left == 0)
		p->state = PS_SEP;
	return STEP_GO;
}

/* Discards through LF without keeping the bytes; then reports the error. */
static enum step_result
step_skip(struct imap_parser *p, const unsigned char *d, size_t end,
          size_t *pos)
{
	if (p->state == PS_SKIP_DATA) {
		size_t n = end - *pos;
		if (n > p->skip_left)
			n = (size_t)p->skip_left;
		*pos += n;
		p->skip_left -= n;
		if (p->skip_left == 0)
			p->state = PS_SKIP;
		return STEP_GO;
	}
	const unsigned char *s = d + *pos;
	const unsigned char *lf = memchr(s, '\n', end - *pos);
	size_t seg = lf != NULL ? (size_t)(lf - s) : end - *pos;
	tail_add(p, s, seg);
	if (lf == NULL) {
		*pos = end;
		return STEP_GO;
	}
	*pos += seg + 1;
	uint64_t size;
	if (tail_nonsync_literal(p, &size)) {
		p->tail_len = 0;
		if (size > p->limits.max_nonsync_literal ||
		    size > p->limits.max_literal)
			return parser_fatal(p,
			                    IMAP_PARSER_ERROR_LITERAL_TOO_BIG,
			                    "Literal too big");
		p->skip_left = size;
		p->state = size > 0 ? PS_SKIP_DATA : PS_SKIP;
		return STEP_GO;
	}
	p->done = true;
	return STEP_ERROR;
}

static enum step_result
parser_step(struct imap_parser *p, const unsigned char *d, size_t end,
            size_t *pos)
{
	switch (p->state) {
	case PS_TAG:
		return step_tag(p, d, end, pos);
	case PS_NAME:
		return step_name(p, d, end, pos);
	case PS_SEP:
		return step_sep(p, d, pos);
	case PS_ARG:
	case PS_LIST_FIRST:
		return step_arg(p, d, pos);
	case PS_ATOM:
		return step_atom(p, d, end, pos);
	case PS_BRACKET:
		return step_bracket(p, d, end, pos);
	case PS_BRACKET_QUOTED:
	case PS_BRACKET_QUOTED_ESC:
		return step_bracket_quoted(p, d, end, pos);
	case PS_TILDE:
		return step_tilde(p, d, pos);
	case PS_QUOTED:
		return step_quoted(p, d, end, pos);
	case PS_QUOTED_ESC:
		return step_quoted_esc(p, d, pos);
	case PS_LIT_SIZE:
		return step_lit_size(p, d, pos);
	case PS_LIT_CLOSE:
	case PS_LIT_CR:
	case PS_LIT_LF:
		return step_lit_end(p, d, pos);
	case PS_LIT_DATA:
		return step_lit_data(p, d, end, pos);
	case PS_EOL_LF:
		return step_eol_lf(p, d, pos);
	case PS_SKIP:
	case PS_SKIP_DATA:
		return step_skip(p, d, end, pos);
	case PS_FATAL:
		break;
	}
	fatal("imap parser: bad state %d", (int)p->state);
}

enum imap_parse_result
imap_parser_parse(struct imap_parser *parser, const char *data, size_t len,
                  size_t *consumed_r, const struct imap_command_line **cmd_r)
{
	struct imap_parser *p = parser;
	const unsigned char *d = (const unsigned char *)data;
	size_t pos = 0;

	*consumed_r = 0;
	*cmd_r = NULL;
	if (p->state == PS_FATAL)
		return IMAP_PARSE_ERROR;
	if (p->done)
		parser_reset(p);
	if (p->limits_pending && !imap_parser_busy(p))
		parser_apply_limits(p);

	while (pos < len) {
		enum step_result r;
		if (state_counts_line(p->state)) {
			/* Never look past max_line: nothing beyond is kept. */
			size_t room = p->limits.max_line - p->line_len;
			if (room == 0) {
				parser_fail(p, IMAP_PARSER_ERROR_LINE_TOO_LONG,
				            "Command line too long");
				continue;
			}
			size_t start = pos;
			size_t end = len - pos > room ? pos + room : len;
			r = parser_step(p, d, end, &pos);
			p->line_len += pos - start;
		} else {
			r = parser_step(p, d, len, &pos);
		}
		if (r == STEP_GO)
			continue;
		*consumed_r = pos;
		switch (r) {
		case STEP_COMMAND:
			*cmd_r = &p->cmd;
			return IMAP_PARSE_COMMAND;
		case STEP_CONTINUE:
			return IMAP_PARSE_CONTINUE;
		default:
			return IMAP_PARSE_ERROR;
		}
	}
	*consumed_r = pos;
	return IMAP_PARSE_MORE;
}

enum imap_parser_error
imap_parser_error(const struct imap_parser *parser)
{
	return parser->error;
}

const char *
imap_parser_error_text(const struct imap_parser *parser)
{
	return parser->error_text != NULL ? parser->error_text : "No error";
}

const char *
imap_parser_error_tag(const struct imap_parser *parser)
{
	if (parser->error == IMAP_PARSER_ERROR_NONE || !parser->tag_done)
		return NULL;
	return parser->buf;
}

bool
imap_parser_error_fatal(const struct imap_parser *parser)
{
	return parser->fatal;
}

bool
imap_parser_busy(const struct imap_parser *parser)
{
	if (parser->done || parser->state == PS_FATAL)
		return false;
	return parser->state != PS_TAG || parser->tag_len > 0;
}

size_t
imap_parser_memory(const struct imap_parser *parser)
{
	const struct imap_parser *p = parser;
	return sizeof(*p) + p->buf_cap + p->node_cap * sizeof(*p->nodes) +
	       p->out_cap * sizeof(*p->out) + p->stack_cap * sizeof(*p->stack) +
	       p->lit_held;
}

static bool
arg_has_nul(const struct imap_arg *arg)
{
	/* Only literals can carry NUL; names must not be cut short. */
	return arg->type == IMAP_ARG_LITERAL &&
	       memchr(arg->str, '\0', arg->len) != NULL;
}

bool
imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
                     size_t *len_r)
{
	/* The atom NIL is a valid astring ("SELECT NIL"). */
	if ((!imap_arg_is_string(arg) && arg->type != IMAP_ARG_NIL) ||
	    arg_has_nul(arg))
		return false;
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

bool
imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
                     size_t *len_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = NULL;
		*len_r = 0;
		return true;
	}
	if (!imap_arg_is_string(arg) || arg_has_nul(arg))
		return false;
	*str_r = arg->str;
	*len_r = arg->len;
	return true;
}

bool
imap_arg_atom_equals(const struct imap_arg *arg, const char *atom)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	return mem_case_eq(arg->str, arg->len, atom);
}
