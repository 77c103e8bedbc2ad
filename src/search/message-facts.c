#include "search/message-facts.h"

#include <string.h>

#include "mime/mime-part.h"
#include "mime/imap-structure.h"
#include "search/search-text.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "mime/header.h"
#include "store/store.h"

/* Same bound as SEARCH applies per message (search-eval.c). */
#define FACTS_TEXT_MAX (16 * 1024 * 1024)
/* ENVELOPE and BODYSTRUCTURE strings are small; a huge one is odd mail,
 * computed at FETCH time instead. */
#define FACTS_STRUCTURE_MAX (1024 * 1024)

/* Copies s into arena, or NULL if it overflowed or holds a NUL. */
static const char *
facts_keep(struct arena *arena, const struct str *s)
{
	if (str_failed(s) || (s->len > 0 && memchr(s->data, '\0', s->len)))
		return NULL;
	return arena_strndup(arena, s->len > 0 ? s->data : "", s->len);
}

static void
facts_structure(struct arena *arena, const char *data, size_t len,
                const struct mime_part *root, struct store_body_facts *facts)
{
	struct str s;
	str_init(&s, FACTS_STRUCTURE_MAX);
	/* Written for a client without UTF8=ACCEPT: 8-bit text goes out as
	 * literals, which every client accepts. */
	envelope_write(&s, data, header_size(data, len), false);
	facts->envelope = facts_keep(arena, &s);
	str_reset(&s);
	bodystructure_write(&s, arena, root, false, false);
	facts->body = facts_keep(arena, &s);
	str_reset(&s);
	bodystructure_write(&s, arena, root, true, false);
	facts->bodystructure = facts_keep(arena, &s);
	str_free(&s);
}

void
message_facts_build(struct arena *arena, const char *data, size_t len,
                    struct store_body_facts *facts_r)
{
	memset(facts_r, 0, sizeof(*facts_r));
	struct mime_part *root = mime_parse(arena, data, len);
	facts_structure(arena, data, len, root, facts_r);
}

void
message_text_build(struct arena *arena, const char *data, size_t len,
                   struct store_body_facts *facts_r)
{
	memset(facts_r, 0, sizeof(*facts_r));
	struct mime_part *root = mime_parse(arena, data, len);
	struct search_text st;
	struct str header, body;
	search_text_init(&st, FACTS_TEXT_MAX);
	str_init(&header, FACTS_TEXT_MAX);
	str_init(&body, FACTS_TEXT_MAX);
	search_text_fold_header(&st, &header, data, header_size(data, len));
	search_text_fold_body(&st, &body, root);
	facts_r->header_text = facts_keep(arena, &header);
	facts_r->body_text = facts_keep(arena, &body);
	/* Only complete text may stand in for a scan. */
	facts_r->indexed =
	    facts_r->header_text != NULL && facts_r->body_text != NULL;
	str_free(&header);
	str_free(&body);
	search_text_deinit(&st);
}
