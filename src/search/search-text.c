/* The decoded, case-folded text SEARCH matches (see search-text.h). */
#include "search/search-text.h"

#include "mime/mime-part.h"
#include "lib/util.h"
#include "mime/casefold.h"
#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/header.h"
#include "mime/html-text.h"

void
search_text_init(struct search_text *st, size_t max)
{
	for (size_t i = 0; i < N_ELEMENTS(st->step); i++)
		str_init(&st->step[i], max);
}

void
search_text_deinit(struct search_text *st)
{
	for (size_t i = 0; i < N_ELEMENTS(st->step); i++)
		str_free(&st->step[i]);
}

void
search_text_release(struct search_text *st, size_t keep)
{
	for (size_t i = 0; i < N_ELEMENTS(st->step); i++)
		str_shrink(&st->step[i], keep);
}

/* Appends the comparison form of a field's decoded value. */
void
search_text_fold_value(struct search_text *st, struct str *out,
                       const struct header_field *f)
{
	struct str *utf8 = &st->step[0];
	str_reset(utf8);
	decode_header_value(utf8, f->value, f->value_len);
	casefold_utf8(out, utf8->data, utf8->len);
}

/* Appends "name:value\n" for each field of hdr, decoded and folded. */
void
search_text_fold_header(struct search_text *st, struct str *out,
                        const char *hdr, size_t len)
{
	struct header_field f;
	size_t pos = 0;
	while (header_next(hdr, len, &pos, &f) && !str_failed(out)) {
		casefold_utf8(out, f.name, f.name_len);
		str_append_char(out, ':');
		search_text_fold_value(st, out, &f);
		str_append_char(out, '\n');
	}
}

/* Appends the comparison form of a text leaf part: transfer encoding
 * undone (RFC 2045 6), converted from its charset (RFC 2046 4.1.2), HTML
 * reduced to its text. */
static void
search_text_fold_leaf(struct search_text *st, struct str *out,
                      const struct mime_part *part)
{
	const char *data = part->body;
	size_t len = part->body_len;
	struct str *raw = &st->step[0], *utf8 = &st->step[1];
	enum mime_encoding enc = mime_part_encoding(part);
	if (enc == MIME_ENCODING_BASE64 || enc == MIME_ENCODING_QP) {
		str_reset(raw);
		if (enc == MIME_ENCODING_BASE64)
			decode_base64(raw, data, len);
		else
			decode_qp(raw, data, len);
		data = raw->data;
		len = raw->len;
	}
	str_reset(utf8);
	charset_to_utf8(
	    utf8, mime_param_get(part->params, part->param_count, "charset"),
	    data, len);
	data = utf8->data;
	len = utf8->len;
	if (mime_part_is(part, "text", "html")) {
		struct str *text = &st->step[2];
		str_reset(text);
		html_to_text(text, data, len);
		data = text->data;
		len = text->len;
	}
	casefold_utf8(out, data, len);
	str_append_char(out, '\n');
}

/* Walks the MIME tree (bounded by MIME_MAX_DEPTH and MIME_MAX_PARTS):
 * text parts, and the header and text of enclosed messages. */
void
search_text_fold_body(struct search_text *st, struct str *out,
                      const struct mime_part *part)
{
	if (str_failed(out))
		return;
	if (part->multipart) {
		for (size_t i = 0; i < part->child_count; i++)
			search_text_fold_body(st, out, &part->children[i]);
	} else if (part->message != NULL) {
		search_text_fold_header(st, out, part->message->header,
		                        part->message->header_len);
		search_text_fold_body(st, out, part->message);
	} else if (mime_part_is(part, "text", NULL)) {
		search_text_fold_leaf(st, out, part);
	}
}
