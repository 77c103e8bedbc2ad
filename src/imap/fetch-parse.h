#ifndef CASELLA_FETCH_PARSE_H
#define CASELLA_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct imap_arg;

/* Limits on one FETCH request. */
#define FETCH_MAX_ITEMS     256 /* attributes in the list */
#define FETCH_MAX_PARTS     32  /* depth of a section part "1.2.3" */
#define FETCH_MAX_FIELDS    256 /* names in HEADER.FIELDS (...) */
#define FETCH_MAX_FIELD_LEN 200

enum fetch_item_type {
	FETCH_ITEM_UID,
	FETCH_ITEM_FLAGS,
	FETCH_ITEM_INTERNALDATE,
	FETCH_ITEM_RFC822_SIZE,
	FETCH_ITEM_ENVELOPE,
	FETCH_ITEM_BODY, /* BODY without a section: structure */
	FETCH_ITEM_BODYSTRUCTURE,
	FETCH_ITEM_SECTION, /* BODY[..], BINARY[..], RFC822[.HEADER|.TEXT] */
	FETCH_ITEM_BINARY_SIZE, /* BINARY.SIZE[..] */
	FETCH_ITEM_MODSEQ,      /* RFC 7162 3.1.4.2 */
};

/* RFC 9051 6.4.5 section-msgtext / section-text. */
enum fetch_section {
	FETCH_SECTION_ALL, /* BODY[] or BODY[1] */
	FETCH_SECTION_HEADER,
	FETCH_SECTION_HEADER_FIELDS,
	FETCH_SECTION_HEADER_FIELDS_NOT,
	FETCH_SECTION_TEXT,
	FETCH_SECTION_MIME,
};

struct fetch_item {
	enum fetch_item_type type;
	/* Name in the response, e.g. "BODY[HEADER.FIELDS (From)]" or
	 * "RFC822.TEXT"; the partial origin is added when written. */
	const char *name;
	enum fetch_section section;
	uint32_t parts[FETCH_MAX_PARTS]; /* section-part numbers */
	size_t part_count;
	const char **fields; /* HEADER.FIELDS[.NOT] names */
	size_t field_count;
	bool peek;    /* does not set \Seen */
	bool binary;  /* BINARY[]: literal8 if it holds NUL */
	bool partial; /* <origin.count> was given */
	uint64_t origin, count;
};

struct fetch_request {
	struct fetch_item *items;
	size_t count;
	bool set_seen; /* some item implicitly sets \Seen */
	bool has_uid, has_flags, has_modseq;
};

/*
 * Parses FETCH's attribute argument (RFC 9051 6.4.5): a macro (ALL, FAST,
 * FULL), a single attribute atom, or a parenthesised list of attribute
 * atoms.  Everything is allocated from arena.  Returns 0, or -1 with a
 * static *error_r for a BAD answer.
 */
int fetch_parse(struct arena *arena, const struct imap_arg *arg,
                struct fetch_request *req_r, const char **error_r);

/*
 * Parses one attribute atom of len bytes, e.g. "BODY.PEEK[HEADER]<0.10>",
 * into *item_r.  Returns 0, or -1 with a static *error_r.
 */
int fetch_parse_item(struct arena *arena, const char *atom, size_t len,
                     struct fetch_item *item_r, const char **error_r);

/* True if writing the item needs the message body. */
bool fetch_item_needs_body(const struct fetch_item *item);

#endif
