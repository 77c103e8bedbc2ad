#ifndef CASELLA_SEARCH_TEXT_H
#define CASELLA_SEARCH_TEXT_H

#include <stddef.h>

#include "lib/str.h"

struct header_field;
struct mime_part;

/*
 * The text SEARCH compares against, in its i;unicode-casemap comparison
 * form (mime/casefold.h): header field values with RFC 2047 words decoded,
 * and the text parts of a body with their transfer encoding undone,
 * converted to UTF-8 and, for HTML, stripped of markup.  SEARCH builds it
 * per message when it must read the body, and the store's facts builder
 * builds the same text once at delivery for the full-text index, so an
 * index lookup finds everything a scan would (search/message-facts.c).
 */
struct search_text {
	struct str step[3]; /* scratch for one part's decoding steps */
};

void search_text_init(struct search_text *st, size_t max);
void search_text_deinit(struct search_text *st);
/* Gives back scratch memory beyond keep bytes. */
void search_text_release(struct search_text *st, size_t keep);

/* Appends the comparison form of a field's decoded value. */
void search_text_fold_value(struct search_text *st, struct str *out,
                            const struct header_field *field);
/* Appends "name:value\n" for each field of hdr, decoded and folded. */
void search_text_fold_header(struct search_text *st, struct str *out,
                             const char *hdr, size_t len);
/* Appends the text parts under part (and the headers and text of
 * enclosed messages), each followed by "\n". */
void search_text_fold_body(struct search_text *st, struct str *out,
                           const struct mime_part *part);

#endif
