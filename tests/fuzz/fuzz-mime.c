/*
 * Fuzzes the MIME walk and the BODYSTRUCTURE / ENVELOPE writer that FETCH
 * uses (src/mime/mime-part.c, src/mime/imap-structure.c).  Input: the
 * whole message, any bytes.  The message is copied into a buffer of
 * exactly its size so that ASan sees any read past the end.  Invariants
 * checked with i_assert():
 *   - every part's header and body lie inside the message, the body
 *     follows the header, and children lie inside their parent's body;
 *   - nesting is bounded by MIME_MAX_DEPTH and the part count by
 *     MIME_MAX_PARTS;
 *   - mime_find_part() finds every part by its section number;
 *   - mime_decode() returns the size it writes;
 *   - BODY, BODYSTRUCTURE and ENVELOPE come out well-formed: balanced
 *     parentheses outside quoted strings and literals, quoted strings
 *     closed and free of CR, LF and NUL (and 8-bit bytes unless UTF-8 is
 *     on), literals of the announced size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mime/mime-part.h"
#include "mime/imap-structure.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Section numbers deeper than this are not looked up again. */
#define FUZZ_MAX_SECTION 64

struct fuzz_walk {
	const char *msg; /* start of the message */
	size_t len;      /* its size */
	size_t parts;    /* parts seen */
	const struct mime_part *root;
	uint32_t section[FUZZ_MAX_SECTION]; /* the current part's number */
};

static bool
fuzz_within(const char *outer, size_t outer_len, const char *p, size_t len)
{
	return p >= outer && len <= outer_len &&
	       (size_t)(p - outer) <= outer_len - len;
}

static void
fuzz_check_decode(const struct mime_part *part)
{
	enum mime_encoding enc = mime_part_encoding(part);
	struct str out;
	str_init(&out, part->body_len + 16);
	size_t n = mime_decode(&out, enc, part->body, part->body_len);
	i_assert(!str_failed(&out));
	i_assert(n == out.len);
	/* Decoding never grows the data (base64 and QP only shrink). */
	i_assert(n <= part->body_len);
	str_free(&out);
	i_assert(mime_count_lines(part->body, part->body_len) <=
	         part->body_len);
}

/* Checks part and what lies below it.  depth counts multiparts and
 * enclosed messages above part; nsec is the length of its section
 * number in walk->section (0 for the root); numbered tells whether
 * that number names part itself. */
static void
fuzz_check_part(struct fuzz_walk *walk, const struct mime_part *part,
                const char *outer, size_t outer_len, unsigned depth,
                size_t nsec, bool numbered)
{
	i_assert(depth <= MIME_MAX_DEPTH + 1);
	i_assert(++walk->parts <= MIME_MAX_PARTS + 1);
	i_assert(part->type != NULL && part->subtype != NULL);
	i_assert(part->type[0] != '\0' && part->subtype[0] != '\0');
	i_assert(part->param_count <= MIME_MAX_PARAMS);
	i_assert(part->header == outer);
	i_assert(fuzz_within(outer, outer_len, part->header, part->header_len));
	i_assert(part->body == part->header + part->header_len);
	i_assert(part->header_len + part->body_len == outer_len);
	i_assert(fuzz_within(walk->msg, walk->len, part->body, part->body_len));
	i_assert(!(part->multipart && part->message != NULL));
	i_assert(part->multipart || part->child_count == 0);
	if (numbered && nsec > 0 && nsec <= FUZZ_MAX_SECTION)
		i_assert(mime_find_part(walk->root, walk->section, nsec) ==
		         part);
	fuzz_check_decode(part);
	const char *prev_end = part->body;
	for (size_t i = 0; i < part->child_count; i++) {
		const struct mime_part *child = &part->children[i];
		i_assert(fuzz_within(part->body, part->body_len, child->header,
		                     child->header_len + child->body_len));
		/* Body parts come in order and never overlap. */
		i_assert(child->header >= prev_end);
		prev_end = child->body + child->body_len;
		if (nsec < FUZZ_MAX_SECTION)
			walk->section[nsec] = (uint32_t)(i + 1);
		fuzz_check_part(walk, child, child->header,
		                child->header_len + child->body_len, depth + 1,
		                nsec + 1, true);
	}
	if (part->message != NULL) {
		const struct mime_part *m = part->message;
		/* The enclosed message is the whole body.  A multipart one
		 * has no number of its own: N.1 is its first body part. */
		if (m->multipart) {
			fuzz_check_part(walk, m, part->body, part->body_len,
			                depth + 1, nsec, false);
		} else {
			/* Part N.1 of a non-multipart message is itself. */
			if (nsec < FUZZ_MAX_SECTION)
				walk->section[nsec] = 1;
			fuzz_check_part(walk, m, part->body, part->body_len,
			                depth + 1, nsec + 1, true);
		}
	}
}

/* Checks the syntax of an IMAP response fragment: balanced parentheses
 * outside quoted strings and literals. */
static void
fuzz_check_syntax(const char *s, size_t len, bool utf8)
{
	long depth = 0;
	size_t i = 0;
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"') {
			for (i++; i < len && s[i] != '"'; i++) {
				unsigned char q = (unsigned char)s[i];
				if (q == '\\') {
					i++;
					i_assert(i < len &&
					         (s[i] == '\\' || s[i] == '"'));
					continue;
				}
				i_assert(q != '\r' && q != '\n' && q != '\0');
				i_assert(utf8 || q < 0x80);
			}
			i_assert(i < len); /* closed */
			i++;
		} else if (c == '{' ||
		           (c == '~' && i + 1 < len && s[i + 1] == '{')) {
			if (c == '~')
				i++;
			size_t n = 0, digits = 0;
			for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
				i_assert(n < SIZE_MAX / 16);
				n = n * 10 + (size_t)(s[i] - '0');
				digits++;
			}
			i_assert(digits > 0);
			i_assert(len - i >= 3 &&
			         memcmp(s + i, "}\r\n", 3) == 0);
			i += 3;
			i_assert(n <= len - i);
			i += n;
		} else {
			i_assert(c != '\r' && c != '\n' && c != '\0');
			if (c == '(')
				depth++;
			else if (c == ')')
				i_assert(--depth >= 0);
			i++;
		}
	}
	i_assert(depth == 0);
	/* One list: it starts with '(' and ends with ')'. */
	i_assert(len >= 2 && s[0] == '(' && s[len - 1] == ')');
}

static void
fuzz_check_output(const char *msg, size_t len, const struct mime_part *root,
                  bool extended, bool utf8)
{
	struct arena *arena = arena_create(4096);
	struct str out;
	/* Output grows with the input (addresses most); the limit only
	 * has to be generous. */
	str_init(&out, 64 * len + 65536);
	bodystructure_write(&out, arena, root, extended, utf8);
	i_assert(!str_failed(&out));
	fuzz_check_syntax(out.data, out.len, utf8);
	str_reset(&out);
	envelope_write(&out, msg, header_size(msg, len), utf8);
	i_assert(!str_failed(&out));
	fuzz_check_syntax(out.data, out.len, utf8);
	str_free(&out);
	arena_destroy(&arena);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* An exact-size copy, so that reading past the end is caught. */
	char *msg = xmalloc(size > 0 ? size : 1);
	if (size > 0)
		memcpy(msg, data, size);
	struct arena *arena = arena_create(16384);
	const struct mime_part *root = mime_parse(arena, msg, size);
	struct fuzz_walk walk = {.msg = msg, .len = size, .root = root};
	/* Numbered like an enclosed message: part 1 of a non-multipart
	 * message is the message itself. */
	walk.section[0] = 1;
	fuzz_check_part(&walk, root, msg, size, 0, root->multipart ? 0 : 1,
	                !root->multipart);
	bool utf8 = size > 0 && (data[0] & 1) != 0;
	fuzz_check_output(msg, size, root, true, utf8);
	fuzz_check_output(msg, size, root, false, !utf8);
	arena_destroy(&arena);
	free(msg);
	return 0;
}
