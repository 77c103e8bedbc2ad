#ifndef CASELLA_MIME_PART_H
#define CASELLA_MIME_PART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct str;

/*
 * The MIME structure of a message (RFC 2045, RFC 2046) as FETCH needs it:
 * part sections (RFC 9051 6.4.5 BODY[1.2]), BINARY decoding (RFC 3516)
 * and BODYSTRUCTURE.  Every pointer into the message points into the
 * caller's buffer and lives as long as it; the tree itself lives in the
 * arena given to mime_parse().
 */

#define MIME_MAX_DEPTH    32   /* nesting of multiparts and messages */
#define MIME_MAX_PARTS    2000 /* parts in one message */
#define MIME_MAX_PARAMS   32   /* parameters kept per header field */
#define MIME_MAX_BOUNDARY 200  /* RFC 2046 5.1.1 allows 70 */

struct mime_param {
	const char *name;  /* as written, NUL-terminated */
	const char *value; /* unquoted, NUL-terminated */
};

struct mime_part {
	const char *header; /* the part's header, blank line included */
	size_t header_len;
	const char *body; /* what follows the header */
	size_t body_len;
	const char *type;    /* Content-Type, as written; "text" */
	const char *subtype; /* by default (RFC 2045 5.2): "plain" */
	struct mime_param *params;
	size_t param_count;
	const char *encoding; /* Content-Transfer-Encoding or NULL */
	bool multipart;       /* children are its body parts */
	struct mime_part *children;
	size_t child_count;
	struct mime_part *message; /* message/rfc822: what it encloses */
};

enum mime_encoding {
	MIME_ENCODING_IDENTITY, /* 7bit, 8bit, binary, or none given */
	MIME_ENCODING_BASE64,
	MIME_ENCODING_QP,
	MIME_ENCODING_UNKNOWN,
};

/* Parses a whole message.  Beyond the limits above, parts are treated as
 * opaque leaves. */
struct mime_part *mime_parse(struct arena *arena, const char *msg, size_t len);

/*
 * The part named by section-part numbers (RFC 9051 6.4.5): in a multipart
 * the n-th body part, in a message/rfc822 part the parts of the enclosed
 * message, and part 1 of a message that is not multipart is the message
 * itself.  NULL if there is no such part.
 */
const struct mime_part *mime_find_part(const struct mime_part *root,
                                       const uint32_t *parts, size_t count);

/* True if the part's type (and subtype, unless NULL) match, ignoring
 * case. */
bool mime_part_is(const struct mime_part *part, const char *type,
                  const char *subtype);
const char *mime_param_get(const struct mime_param *params, size_t count,
                           const char *name);

/* How the part's body is encoded; multiparts and enclosed messages are
 * never decoded. */
enum mime_encoding mime_part_encoding(const struct mime_part *part);

/* Decodes data; appends to out unless out is NULL.  Returns the decoded
 * size.  Invalid input is decoded leniently, never refused. */
size_t mime_decode(struct str *out, enum mime_encoding encoding,
                   const char *data, size_t len);

/* Lines of text in data (RFC 9051 body-fld-lines): line ends, plus one
 * for a last line without one. */
uint64_t mime_count_lines(const char *data, size_t len);

/*
 * Parses a structured field value "main; name=value; name="value""
 * (RFC 2045 5.1, comments allowed).  *main_r gets the main value (e.g.
 * "text/plain" or "attachment") or "" if missing; parameters beyond
 * MIME_MAX_PARAMS are dropped.  All arena-allocated.
 */
void mime_parse_field(struct arena *arena, const char *value,
                      const char **main_r, struct mime_param **params_r,
                      size_t *count_r);

#endif
