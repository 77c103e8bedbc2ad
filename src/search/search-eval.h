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
 * String keys (RFC 9051 6.4.4) match substrings of decoded text under
 * i;unicode-casemap (RFC 5051, see mime/casefold.h): header keys the
 * field values with RFC 2047 words decoded to UTF-8; BODY the text parts (type
 * text) (also inside message/rfc822 parts) with base64 or quoted-printable
 * undone, converted to UTF-8 from their charset, and text/html reduced to
 * its visible text; TEXT the decoded header fields as well.  Search
 * strings must be UTF-8 (cmd-search.c converts other SEARCH CHARSETs).
 * Decoded text is searched up to 16 MiB each of header and body per
 * message.
 *
 * On SEARCH_EVAL_OK, *seqs_r (arena) holds the ascending sequence numbers
 * of the matches and *count_r their number.  Otherwise *error_r says why.
 * The tree is annotated in place (resolved sets; str and len of string
 * keys replaced by their comparison form).
 */
enum search_eval_status search_eval(struct store *store,
                                    const struct mailbox_view *view,
                                    struct arena *arena,
                                    struct search_key *root, uint32_t **seqs_r,
                                    size_t *count_r, const char **error_r);

/*
 * Prepares a needle for search_find(): ASCII lower-cased copy and KMP
 * failure table, from arena.  These two compare bytes, ASCII letters
 * case-insensitively; search_eval() gives them text already in its
 * casemap form, so they compare that form exactly.
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
