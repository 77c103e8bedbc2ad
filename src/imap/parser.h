#ifndef CASELLA_IMAP_PARSER_H
#define CASELLA_IMAP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Incremental, bounded IMAP command parser.  It does no I/O: the caller
 * feeds whatever bytes arrived and the parser keeps its state between calls,
 * so input may stop at any byte (even inside a literal or a CRLF).
 *
 * A command line is "tag SP name [SP args] CRLF"; arguments are atoms,
 * quoted strings, literals ({N}, {N+}, {N-}, and literal8 ~{N}), NIL and
 * parenthesised lists.  Atoms are read permissively (everything up to SP,
 * '(' , ')' or CRLF, so "\Seen", "1:*,5", "$" and "UTF8=ACCEPT" are atoms),
 * with one exception that FETCH needs: inside an atom, '[' opens a section
 * that runs to the matching ']' and may contain SP and parentheses, so
 * "BODY.PEEK[HEADER.FIELDS (From To)]<0.100>" is one atom.
 *
 * Limits (struct imap_parser_limits) bound everything: line length
 * (counted without literal data), literal size, total literal bytes per
 * command, list depth, argument count.  Nothing is allocated beyond them.
 */

enum imap_arg_type {
	IMAP_ARG_ATOM,    /* str/len: the atom text, never "NIL" */
	IMAP_ARG_NIL,     /* the atom NIL (any case) */
	IMAP_ARG_QUOTED,  /* str/len: unescaped content of a quoted string */
	IMAP_ARG_LITERAL, /* str/len: literal data (may hold NUL bytes) */
	IMAP_ARG_LIST,    /* list/list_count: a parenthesised list */
};

struct imap_arg {
	enum imap_arg_type type;
	const char *str; /* NUL-terminated copy; len excludes the NUL */
	size_t len;
	bool literal8;         /* IMAP_ARG_LITERAL written as ~{N} */
	struct imap_arg *list; /* IMAP_ARG_LIST: its elements */
	size_t list_count;
};

/* A complete command; all memory belongs to the parser until the next
 * imap_parser_parse() call after this one returned IMAP_PARSE_COMMAND. */
struct imap_command_line {
	const char *tag;       /* NUL-terminated */
	const char *name;      /* NUL-terminated, as sent (case kept) */
	struct imap_arg *args; /* top-level arguments after the name */
	size_t arg_count;
};

struct imap_parser_limits {
	size_t max_line;      /* bytes per command, literal data excluded */
	uint64_t max_literal; /* one literal's size */
	uint64_t max_literal_total;   /* all literals of one command together */
	uint64_t max_nonsync_literal; /* {N+}: LITERAL- caps this at 4096 */
	unsigned max_depth;           /* parenthesis nesting */
	unsigned max_args; /* arguments in all lists of one command */
};

enum imap_parse_result {
	IMAP_PARSE_MORE = 0,     /* all input consumed, need more bytes */
	IMAP_PARSE_COMMAND = 1,  /* a whole command is ready */
	IMAP_PARSE_CONTINUE = 2, /* a synchronizing literal {N} was accepted:
	                            send "+ ..." then keep feeding input */
	IMAP_PARSE_ERROR = -1,   /* see imap_parser_error() */
};

enum imap_parser_error {
	IMAP_PARSER_ERROR_NONE,
	IMAP_PARSER_ERROR_SYNTAX,          /* bad syntax: answer BAD [PARSE]? */
	IMAP_PARSER_ERROR_LINE_TOO_LONG,   /* BAD [TOOBIG] */
	IMAP_PARSER_ERROR_LITERAL_TOO_BIG, /* NO/BAD [TOOBIG] */
	IMAP_PARSER_ERROR_TOO_DEEP,        /* BAD [LIMIT] */
	IMAP_PARSER_ERROR_TOO_MANY_ARGS,   /* BAD [LIMIT] */
};

struct imap_parser;

struct imap_parser *imap_parser_create(const struct imap_parser_limits *limits);
void imap_parser_destroy(struct imap_parser **parser);
/* Changing limits takes effect for the next command (used after login). */
void imap_parser_set_limits(struct imap_parser *parser,
                            const struct imap_parser_limits *limits);

/*
 * Feeds len bytes.  *consumed_r tells how many were used; the caller keeps
 * the rest and feeds them again after handling the result.
 *  IMAP_PARSE_MORE: everything was consumed, call again with more input.
 *  IMAP_PARSE_COMMAND: *cmd_r is valid until the next call.
 *  IMAP_PARSE_CONTINUE: the line ended with a synchronizing literal that is
 *      within limits; the caller sends a continuation request and feeds on.
 *  IMAP_PARSE_ERROR: imap_parser_error() and imap_parser_error_tag() say
 *      what and for which tag; if imap_parser_error_fatal() the connection
 *      should be closed after the answer (e.g. a too-big non-synchronizing
 *      literal whose data is on its way), otherwise the parser has already
 *      skipped the rest of the bad command (through the end of its line; a
 *      rejected synchronizing literal ends the command) and is ready for
 *      the next one.
 */
enum imap_parse_result
imap_parser_parse(struct imap_parser *parser, const char *data, size_t len,
                  size_t *consumed_r, const struct imap_command_line **cmd_r);

enum imap_parser_error imap_parser_error(const struct imap_parser *parser);
/* Human-readable text of the last error. */
const char *imap_parser_error_text(const struct imap_parser *parser);
/* The tag of the failed command, or NULL if none was read ("*" answer). */
const char *imap_parser_error_tag(const struct imap_parser *parser);
bool imap_parser_error_fatal(const struct imap_parser *parser);
/* True while in the middle of a command (some bytes of it were read). */
bool imap_parser_busy(const struct imap_parser *parser);
/* Bytes of memory the parser holds now. */
size_t imap_parser_memory(const struct imap_parser *parser);
/*
 * Frees the last returned command (or error tag) now instead of at the
 * next imap_parser_parse() call, e.g. after a big APPEND when no more
 * input is buffered, so an idle connection holds little memory.  The
 * command line and error tag must not be used afterwards.
 */
void imap_parser_release(struct imap_parser *parser);

/* Helpers for command handlers. */
static inline bool
imap_arg_is_string(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_QUOTED ||
	       arg->type == IMAP_ARG_LITERAL;
}
/* astring: atom, quoted or literal. */
bool imap_arg_get_astring(const struct imap_arg *arg, const char **str_r,
                          size_t *len_r);
/* nstring: as astring or NIL (then *str_r = NULL). */
bool imap_arg_get_nstring(const struct imap_arg *arg, const char **str_r,
                          size_t *len_r);
bool imap_arg_atom_equals(const struct imap_arg *arg, const char *atom);

#endif
