#ifndef CASELLA_SEARCH_PARSE_H
#define CASELLA_SEARCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct imap_arg;

/*
 * SEARCH arguments (RFC 9051 6.4.4, RFC 4731 RETURN, RFC 5182 SAVE) parsed
 * into a tree of search keys.  The parser only checks syntax; sets are
 * resolved against the mailbox and strings prepared for matching by
 * search-eval.c.
 */

/* Nesting of keys (parentheses, NOT, OR) and total keys per command. */
#define SEARCH_MAX_DEPTH 64
#define SEARCH_MAX_NODES 10000
/* Ranges in one sequence set, as for FETCH. */
#define SEARCH_MAX_SET_RANGES 100000

enum search_key_type {
	SEARCH_KEY_ALL,
	SEARCH_KEY_AND,     /* children, all must match */
	SEARCH_KEY_OR,      /* two children */
	SEARCH_KEY_NOT,     /* one child */
	SEARCH_KEY_FLAG,    /* flag must be set (flag_set) or clear */
	SEARCH_KEY_KEYWORD, /* str must be set (flag_set) or clear */
	SEARCH_KEY_RECENT,  /* RFC 3501 RECENT */
	SEARCH_KEY_NEW,     /* RFC 3501 NEW: recent and not seen */
	SEARCH_KEY_OLD,     /* RFC 3501 OLD: not recent */
	SEARCH_KEY_SEQSET,  /* set: sequence numbers */
	SEARCH_KEY_UIDSET,  /* set: UIDs */
	SEARCH_KEY_LARGER,  /* number */
	SEARCH_KEY_SMALLER, /* number */
	SEARCH_KEY_BEFORE,  /* day, internal date */
	SEARCH_KEY_ON,
	SEARCH_KEY_SINCE,
	SEARCH_KEY_SENTBEFORE, /* day, Date: header */
	SEARCH_KEY_SENTON,
	SEARCH_KEY_SENTSINCE,
	SEARCH_KEY_HEADER, /* field contains str; FROM, SUBJECT... too */
	SEARCH_KEY_BODY,   /* body contains str */
	SEARCH_KEY_TEXT,   /* header or body contains str */
};

/* Which parts of a message a key needs, cheapest first. */
enum search_cost {
	SEARCH_COST_VIEW,   /* flags, UIDs, sequence numbers */
	SEARCH_COST_META,   /* size, internal date: store metadata */
	SEARCH_COST_HEADER, /* the header of the message file */
	SEARCH_COST_BODY,   /* the whole message file */
};

struct search_key {
	enum search_key_type type;
	struct search_key *children; /* AND, OR, NOT: first child */
	struct search_key *next;     /* next sibling */
	uint32_t flag;               /* FLAG: one enum store_flag bit */
	bool flag_set;               /* FLAG, KEYWORD: true = must be set */
	const char *str;             /* KEYWORD, HEADER, BODY, TEXT */
	size_t len;
	const char *field; /* HEADER: field name */
	size_t field_len;
	const char *set; /* SEQSET, UIDSET: text, maybe "$" */
	size_t set_len;
	uint64_t number;       /* LARGER, SMALLER */
	int64_t day;           /* dates: days since 1970-01-01 */
	enum search_cost cost; /* this key and all below it */

	/* Filled by search_eval() before matching. */
	uint32_t *uids; /* SEQSET, UIDSET: ascending UIDs */
	size_t uid_count;
	unsigned char *folded; /* HEADER, BODY, TEXT: lower-case str */
	size_t *kmp;           /* its failure table */
	bool prefiltered;      /* HEADER, BODY, TEXT: the index answered */
	uint32_t *found;       /* ascending UIDs whose indexed text holds
	                          str: BODY/TEXT match, HEADER may */
	size_t found_count;
	uint32_t *unsure; /* ascending UIDs the index can't speak for */
	size_t unsure_count;
};

/* RFC 4731 and RFC 5182 RETURN options. */
enum search_return {
	SEARCH_RETURN_MIN = 0x01,
	SEARCH_RETURN_MAX = 0x02,
	SEARCH_RETURN_ALL = 0x04,
	SEARCH_RETURN_COUNT = 0x08,
	SEARCH_RETURN_SAVE = 0x10,
};

struct search_program {
	struct search_key *root; /* an AND of the top-level keys */
	bool has_return;         /* RETURN (...) was given */
	unsigned return_opts;    /* enum search_return; RETURN () = ALL */
	size_t node_count;
};

enum search_parse_status {
	SEARCH_PARSE_OK,
	SEARCH_PARSE_BAD,        /* syntax: answer BAD */
	SEARCH_PARSE_BADCHARSET, /* answer NO [BADCHARSET (...)] */
};

/* The charsets SEARCH accepts, for the BADCHARSET response code. */
#define SEARCH_CHARSETS "US-ASCII UTF-8"

/*
 * Parses "[RETURN (opts)] [CHARSET name] key..." from args[0..count).
 * Keys and options are case-insensitive; key arguments are astrings,
 * numbers, dates or sequence sets.  On success fills *prog_r from arena.
 * Otherwise *error_r is a static text for the tagged answer; with
 * SEARCH_PARSE_BAD, prog_r->return_opts still tells whether SAVE was seen
 * (RFC 5182: a failed SEARCH with SAVE empties the saved result).
 */
enum search_parse_status search_parse(struct arena *arena,
                                      const struct imap_arg *args, size_t count,
                                      struct search_program *prog_r,
                                      const char **error_r);

#endif
