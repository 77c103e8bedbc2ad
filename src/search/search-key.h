#ifndef CASELLA_SEARCH_KEY_H
#define CASELLA_SEARCH_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A search program as a tree of keys (RFC 9051 6.4.4): what the IMAP
 * SEARCH parser (imap/search-parse.c) builds and search_eval() matches.
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
	SEARCH_KEY_MODSEQ, /* RFC 7162 3.1.5: modseq >= number */
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
	uint64_t number;       /* LARGER, SMALLER, MODSEQ */
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

#endif
