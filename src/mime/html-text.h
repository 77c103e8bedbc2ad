#ifndef CASELLA_MIME_HTML_TEXT_H
#define CASELLA_MIME_HTML_TEXT_H

#include <stddef.h>

struct str;

/*
 * Crude HTML to text, so SEARCH BODY finds what a reader sees in a
 * text/html part (RFC 9051 6.4.4 matches the text, not the markup):
 * - tags, comments, "<!...>" and "<?...?>" are dropped; block-level tags
 *   (p, br, div, td, li, h1...) become a space, inline ones (b, a, span)
 *   nothing, so "<b>wo</b>rd" reads "word";
 * - the contents of script and style elements are dropped;
 * - character references are decoded: &#NNN; &#xHH; and the names amp,
 *   lt, gt, quot, apos, nbsp (as a space) and a few common Latin-1 and
 *   punctuation names; an unknown or malformed one stays as written;
 * - runs of white space become one space.
 * html is UTF-8 (already converted from its charset); the output is too.
 * A tag left open at the end of the input drops the rest.  out bounds the
 * output (sticky error).
 */
void html_to_text(struct str *out, const char *html, size_t len);

#endif
