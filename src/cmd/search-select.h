#ifndef CASELLA_SEARCH_SELECT_H
#define CASELLA_SEARCH_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct command;

/*
 * RFC 5256 5: "charset 1*(SP search-key)" from cmd->args[pos..].  Runs
 * the search with search_parse()/search_eval() and returns true with the
 * ascending sequence numbers of the matches (arena) in *seqs_r.  On
 * failure it has set the tagged result (BAD, NO [BADCHARSET], NO [LIMIT]
 * or a store error) and returns false.
 */
bool search_select(struct command *cmd, size_t pos, uint32_t **seqs_r,
                   size_t *count_r);

#endif
