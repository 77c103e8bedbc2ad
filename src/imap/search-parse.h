#ifndef CASELLA_SEARCH_PARSE_H
#define CASELLA_SEARCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "search/search-key.h"

struct arena;
struct imap_arg;

/*
 * SEARCH arguments (RFC 9051 6.4.4, RFC 4731 RETURN, RFC 5182 SAVE) parsed
 * into a tree of search keys (search/search-key.h).  The parser only
 * checks syntax; sets are resolved against the mailbox and strings
 * prepared for matching by search/search-eval.c.
 */

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
	bool has_modseq; /* a MODSEQ key: results carry (MODSEQ n) */
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
