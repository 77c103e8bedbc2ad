#ifndef CASELLA_MESSAGE_FACTS_H
#define CASELLA_MESSAGE_FACTS_H

#include <stddef.h>

struct arena;
struct store_body_facts;

/*
 * The store's facts builder (store_set_facts_builder()): parses a message
 * once when it is stored and derives the ENVELOPE, BODY and BODYSTRUCTURE
 * strings FETCH sends and the folded text SEARCH matches
 * (cmd/search-text.h), so neither has to read the body again.  Strings
 * that can't be kept as C strings (a NUL inside) are left out, and text
 * that overflowed its limit marks the body as not fully indexed.
 */
void message_facts_build(struct arena *arena, const char *data, size_t len,
			 struct store_body_facts *facts_r);

#endif
