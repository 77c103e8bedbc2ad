#ifndef CASELLA_FLAGS_PARSE_H
#define CASELLA_FLAGS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct arena;
struct imap_arg;

/* Limits on keywords in one flag list (RFC 9051 2.3.2 sets none). */
#define FLAGS_MAX_KEYWORDS    64
#define FLAGS_MAX_KEYWORD_LEN 100

/*
 * Parses a flag list as sent by STORE or APPEND: either a parenthesised
 * list "(\Seen $Label kw)" or a single flag atom (STORE's "flag ..." form).
 * System flags (case-insensitive) become enum store_flag bits in *flags_r;
 * keywords must be atoms (no '\', no atom-specials) and become one
 * space-separated string in *keywords_r ("" if none), allocated from
 * arena, sorted ignoring ASCII case like the store's sets; duplicates
 * that differ only in case (RFC 9051 2.3.2) keep the first spelling.
 * "\Recent" is skipped if allow_recent, an error otherwise; other
 * unknown "\..." flags are errors.
 *
 * Returns 0 on success, or -1 with *error_r set to a static text suitable
 * for a BAD answer.
 */
int flags_parse(struct arena *arena, const struct imap_arg *arg,
                bool allow_recent, uint32_t *flags_r, const char **keywords_r,
                const char **error_r);

/* True if s is a valid keyword: 1..FLAGS_MAX_KEYWORD_LEN atom characters
 * (RFC 9051 9 ATOM-CHAR), so no backslash. */
bool flags_keyword_valid(const char *s, size_t len);

/*
 * The keyword set that results from applying STORE's +FLAGS (ADD),
 * -FLAGS (REMOVE) or FLAGS (REPLACE) with keywords to current; both are
 * space-separated sets.  Matching ignores case; the result is sorted
 * (ignoring ASCII case, as flags_parse() and the store sort) and
 * allocated from arena.
 */
const char *flags_keywords_apply(struct arena *arena, const char *current,
                                 enum store_flags_mode mode,
                                 const char *keywords);

#endif
