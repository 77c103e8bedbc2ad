#ifndef CASELLA_SEARCH_EVAL_H
#define CASELLA_SEARCH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct mailbox_view;
struct search_key;
struct store;

enum search_eval_status {
	SEARCH_EVAL_OK,
	SEARCH_EVAL_BAD,   /* the client's fault (a bad sequence set) */
	SEARCH_EVAL_ERROR, /* the store failed */
};

/*
 * Finds the messages of view that match root (a tree from search_parse()).
 * Flags, UIDs and sequence numbers come from the view as this session last
 * reported them; size and internal date from store metadata, loaded only
 * if a key needs them; message files are mapped only for header and body
 * keys, and only for messages the cheaper keys did not already decide.
 *
 * Matching is ASCII case-insensitive substring on the raw bytes (header
 * values unfolded); RFC 2047 words, transfer encodings and charsets are
 * not decoded yet.
 *
 * On SEARCH_EVAL_OK, *seqs_r (arena) holds the ascending sequence numbers
 * of the matches and *count_r their number.  Otherwise *error_r says why.
 * The tree is annotated in place (resolved sets, folded strings).
 */
enum search_eval_status search_eval(struct store *store,
                                    const struct mailbox_view *view,
                                    struct arena *arena,
                                    struct search_key *root, uint32_t **seqs_r,
                                    size_t *count_r, const char **error_r);

/*
 * Prepares a needle for search_find(): ASCII lower-cased copy and KMP
 * failure table, from arena.
 */
void search_needle_prepare(struct arena *arena, const char *str, size_t len,
                           unsigned char **folded_r, size_t **kmp_r);
/*
 * True if the prepared needle occurs in data, ignoring ASCII case.  With
 * unfold, a line end (CRLF or LF) followed by a space or tab is skipped,
 * as RFC 5322 2.2.3 unfolding does.
 */
bool search_find(const unsigned char *folded, const size_t *kmp,
                 size_t needle_len, const char *data, size_t len, bool unfold);

#endif
