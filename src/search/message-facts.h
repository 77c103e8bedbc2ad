#ifndef CASELLA_MESSAGE_FACTS_H
#define CASELLA_MESSAGE_FACTS_H

#include <stddef.h>

struct arena;
struct store_body_facts;

/*
 * The store's builders (store_set_facts_builder/_text_builder).
 * message_facts_build parses a message as it is stored and derives the
 * ENVELOPE, BODY and BODYSTRUCTURE strings FETCH sends, so FETCH needn't
 * read the body again.  message_text_build, run by the background indexer,
 * derives the folded text SEARCH matches (search/search-text.h) for the
 * full-text index.  Strings that can't be kept as C strings (a NUL
 * inside) are left out, and text that overflowed its limit marks the body
 * as not indexable.
 */
void message_facts_build(struct arena *arena, const char *data, size_t len,
                         struct store_body_facts *facts_r);
void message_text_build(struct arena *arena, const char *data, size_t len,
                        struct store_body_facts *facts_r);

#endif
