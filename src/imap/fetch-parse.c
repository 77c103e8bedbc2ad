/* FETCH attributes (RFC 9051 6.4.5, RFC 3516 BINARY). */
#include "imap/fetch-parse.h"

#include <string.h>

#include "imap/parser.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"

/* Attributes that are a plain atom, and what they become. */
static const struct {
	const char *name;
	enum fetch_item_type type;
	enum fetch_section section; /* for the RFC822 forms */
	bool peek;
} fetch_simple_items[] = {
    {"UID", FETCH_ITEM_UID, FETCH_SECTION_ALL, true},
    {"FLAGS", FETCH_ITEM_FLAGS, FETCH_SECTION_ALL, true},
    {"INTERNALDATE", FETCH_ITEM_INTERNALDATE, FETCH_SECTION_ALL, true},
    {"RFC822.SIZE", FETCH_ITEM_RFC822_SIZE, FETCH_SECTION_ALL, true},
    {"ENVELOPE", FETCH_ITEM_ENVELOPE, FETCH_SECTION_ALL, true},
    {"BODY", FETCH_ITEM_BODY, FETCH_SECTION_ALL, true},
    {"BODYSTRUCTURE", FETCH_ITEM_BODYSTRUCTURE, FETCH_SECTION_ALL, true},
    {"MODSEQ", FETCH_ITEM_MODSEQ, FETCH_SECTION_ALL, true},
    /* RFC 3501 6.4.5: RFC822 is BODY[], RFC822.HEADER is
     * BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT]. */
    {"RFC822", FETCH_ITEM_SECTION, FETCH_SECTION_ALL, false},
    {"RFC822.HEADER", FETCH_ITEM_SECTION, FETCH_SECTION_HEADER, true},
    {"RFC822.TEXT", FETCH_ITEM_SECTION, FETCH_SECTION_TEXT, false},
};

/* RFC 9051 6.4.5 macros. */
static const struct {
	const char *name;
	const char *items[5];
} fetch_macros[] = {
    {"ALL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}},
    {"FAST", {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}},
    {"FULL", {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}},
};

/* Text keywords of a section, longest first so prefixes don't win. */
static const struct {
	const char *name;
	enum fetch_section section;
} fetch_section_names[] = {
    {"HEADER.FIELDS.NOT", FETCH_SECTION_HEADER_FIELDS_NOT},
    {"HEADER.FIELDS", FETCH_SECTION_HEADER_FIELDS},
    {"HEADER", FETCH_SECTION_HEADER},
    {"TEXT", FETCH_SECTION_TEXT},
    {"MIME", FETCH_SECTION_MIME},
};

static bool
fetch_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9051 9 ATOM-CHAR. */
static bool
fetch_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

/* RFC 5322 2.2 ftext: printable US-ASCII except ':'. */
static bool
fetch_field_name_valid(const char *s, size_t len)
{
	if (len == 0 || len > FETCH_MAX_FIELD_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 33 || s[i] > 126 || s[i] == ':')
			return false;
	}
	return true;
}

/* Reads one header-fld-name (astring: atom or quoted) at s[*pos]. */
static const char *
fetch_parse_field(struct arena *arena, const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;
	char *name = arena_alloc(arena, len - i + 1);
	size_t n = 0;
	if (s[i] == '"') {
		for (i++; i < len && s[i] != '"'; i++) {
			if (s[i] == '\\' && i + 1 < len &&
			    (s[i + 1] == '"' || s[i + 1] == '\\'))
				i++;
			name[n++] = s[i];
		}
		if (i == len)
			return NULL;
		i++;
	} else {
		while (i < len && fetch_is_atom_char((unsigned char)s[i]))
			name[n++] = s[i++];
	}
	if (!fetch_field_name_valid(name, n))
		return NULL;
	*pos = i;
	return name;
}

/* Parses " (name name ...)" which must end exactly at len. */
static int
fetch_parse_fields(struct arena *arena, const char *s, size_t len,
                   struct fetch_item *item)
{
	size_t i = 0;
	if (len < 3 || s[i++] != ' ' || s[i++] != '(')
		return -1;
	item->fields = arena_new_array(arena, const char *, FETCH_MAX_FIELDS);
	for (;;) {
		if (item->field_count == FETCH_MAX_FIELDS || i >= len)
			return -1;
		const char *name = fetch_parse_field(arena, s, len, &i);
		if (name == NULL)
			return -1;
		item->fields[item->field_count++] = name;
		if (i < len && s[i] == ')')
			break;
		if (i >= len || s[i++] != ' ')
			return -1;
	}
	return i + 1 == len ? 0 : -1;
}

/* Parses section-part "1.2.3" at the start of s; *pos ends after the part
 * and its trailing '.' if section text follows. */
static int
fetch_parse_parts(const char *s, size_t len, size_t *pos,
                  struct fetch_item *item)
{
	size_t i = 0;
	while (i < len && fetch_is_digit(s[i])) {
		size_t start = i;
		while (i < len && fetch_is_digit(s[i]))
			i++;
		uint32_t n;
		if (s[start] == '0' || !parse_u32(s + start, i - start, &n) ||
		    item->part_count == FETCH_MAX_PARTS)
			return -1;
		item->parts[item->part_count++] = n;
		if (i == len)
			break;
		/* A '.' must be followed by another part or section text. */
		if (s[i] != '.' || i + 1 == len)
			return -1;
		i++;
	}
	*pos = i;
	return 0;
}

/* Parses the text between '[' and ']'. */
static int
fetch_parse_section(struct arena *arena, const char *s, size_t len, bool binary,
                    struct fetch_item *item)
{
	size_t i;
	if (fetch_parse_parts(s, len, &i, item) < 0)
		return -1;
	if (i == len)
		return 0;
	/* RFC 3516: BINARY sections are part numbers only. */
	if (binary)
		return -1;
	for (size_t k = 0; k < N_ELEMENTS(fetch_section_names); k++) {
		size_t n = strlen(fetch_section_names[k].name);
		if (len - i < n ||
		    !mem_case_eq(s + i, n, fetch_section_names[k].name))
			continue;
		item->section = fetch_section_names[k].section;
		if (item->section == FETCH_SECTION_HEADER_FIELDS ||
		    item->section == FETCH_SECTION_HEADER_FIELDS_NOT)
			return fetch_parse_fields(arena, s + i + n, len - i - n,
			                          item);
		if (i + n != len)
			return -1;
		/* RFC 9051 6.4.5: MIME only follows a part number. */
		if (item->section == FETCH_SECTION_MIME &&
		    item->part_count == 0)
			return -1;
		return 0;
	}
	return -1;
}

/* Parses "<origin.count>" which must be all of s. */
static int
fetch_parse_partial(const char *s, size_t len, struct fetch_item *item)
{
	if (len < 5 || s[0] != '<' || s[len - 1] != '>')
		return -1;
	const char *dot = memchr(s, '.', len);
	if (dot == NULL)
		return -1;
	size_t origin_len = (size_t)(dot - s) - 1;
	size_t count_len = len - 2 - origin_len - 1;
	/* RFC 9051 9: partial = "<" number64 "." nz-number64 ">". */
	if (!parse_u64(s + 1, origin_len, INT64_MAX, &item->origin) ||
	    !parse_u64(dot + 1, count_len, INT64_MAX, &item->count) ||
	    item->count == 0)
		return -1;
	item->partial = true;
	return 0;
}

/* Writes a field name as an atom if it is one, else quoted. */
static void
fetch_write_field(struct str *out, const char *name)
{
	bool atom = true;
	for (const char *p = name; *p != '\0' && atom; p++)
		atom = fetch_is_atom_char((unsigned char)*p);
	if (atom) {
		str_append_cstr(out, name);
		return;
	}
	str_append_char(out, '"');
	for (const char *p = name; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			str_append_char(out, '\\');
		str_append_char(out, *p);
	}
	str_append_char(out, '"');
}

/* Builds the response name "BODY[1.HEADER.FIELDS (A B)]". */
static const char *
fetch_section_name(struct arena *arena, const char *prefix,
                   const struct fetch_item *item)
{
	struct str out;
	str_init(&out, 64 * 1024);
	str_printf(&out, "%s[", prefix);
	for (size_t i = 0; i < item->part_count; i++)
		str_printf(&out, "%s%u", i > 0 ? "." : "", item->parts[i]);
	if (item->section != FETCH_SECTION_ALL) {
		for (size_t k = 0; k < N_ELEMENTS(fetch_section_names); k++) {
			if (fetch_section_names[k].section == item->section)
				str_printf(&out, "%s%s",
				           item->part_count > 0 ? "." : "",
				           fetch_section_names[k].name);
		}
	}
	if (item->field_count > 0) {
		str_append_cstr(&out, " (");
		for (size_t i = 0; i < item->field_count; i++) {
			if (i > 0)
				str_append_char(&out, ' ');
			fetch_write_field(&out, item->fields[i]);
		}
		str_append_char(&out, ')');
	}
	str_append_char(&out, ']');
	const char *name = arena_strndup(arena, out.data, out.len);
	str_free(&out);
	return name;
}

/* Finds the ']' closing the section that starts after open; quoted
 * strings inside may hold ']'. */
static const char *
fetch_section_end(const char *open, const char *end)
{
	bool quoted = false;
	for (const char *p = open + 1; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == ']')
			return p;
	}
	return NULL;
}

static int
fetch_parse_simple(const char *atom, size_t len, struct fetch_item *item)
{
	for (size_t i = 0; i < N_ELEMENTS(fetch_simple_items); i++) {
		if (mem_case_eq(atom, len, fetch_simple_items[i].name)) {
			item->type = fetch_simple_items[i].type;
			item->section = fetch_simple_items[i].section;
			item->peek = fetch_simple_items[i].peek;
			item->name = fetch_simple_items[i].name;
			return 0;
		}
	}
	return -1;
}

/* Body section attributes: what comes before '['. */
static const struct {
	const char *name;
	const char *response; /* name in the response */
	enum fetch_item_type type;
	bool peek, binary;
} fetch_section_items[] = {
    {"BODY", "BODY", FETCH_ITEM_SECTION, false, false},
    {"BODY.PEEK", "BODY", FETCH_ITEM_SECTION, true, false},
    {"BINARY", "BINARY", FETCH_ITEM_SECTION, false, true},
    {"BINARY.PEEK", "BINARY", FETCH_ITEM_SECTION, true, true},
    {"BINARY.SIZE", "BINARY.SIZE", FETCH_ITEM_BINARY_SIZE, true, true},
};

int
fetch_parse_item(struct arena *arena, const char *atom, size_t len,
                 struct fetch_item *item_r, const char **error_r)
{
	memset(item_r, 0, sizeof(*item_r));
	const char *open = memchr(atom, '[', len);
	*error_r = "Unknown FETCH attribute";
	if (open == NULL)
		return fetch_parse_simple(atom, len, item_r);
	size_t prefix_len = (size_t)(open - atom);
	size_t k = 0;
	while (k < N_ELEMENTS(fetch_section_items) &&
	       !mem_case_eq(atom, prefix_len, fetch_section_items[k].name))
		k++;
	if (k == N_ELEMENTS(fetch_section_items))
		return -1;
	item_r->type = fetch_section_items[k].type;
	item_r->peek = fetch_section_items[k].peek;
	item_r->binary = fetch_section_items[k].binary;
	const char *close = fetch_section_end(open, atom + len);
	*error_r = "Invalid section in FETCH attribute";
	if (close == NULL ||
	    fetch_parse_section(arena, open + 1, (size_t)(close - open - 1),
	                        item_r->binary, item_r) < 0)
		return -1;
	size_t rest = len - (size_t)(close + 1 - atom);
	*error_r = "Invalid partial in FETCH attribute";
	/* RFC 3516: BINARY.SIZE takes no partial. */
	if (rest > 0 && (item_r->type == FETCH_ITEM_BINARY_SIZE ||
	                 fetch_parse_partial(close + 1, rest, item_r) < 0))
		return -1;
	item_r->name =
	    fetch_section_name(arena, fetch_section_items[k].response, item_r);
	return 0;
}

bool
fetch_item_needs_body(const struct fetch_item *item)
{
	switch (item->type) {
	case FETCH_ITEM_SECTION:
	case FETCH_ITEM_ENVELOPE:
	case FETCH_ITEM_BODY:
	case FETCH_ITEM_BODYSTRUCTURE:
		return true;
	case FETCH_ITEM_BINARY_SIZE:
		/* The whole message's size is known without reading it. */
		return item->part_count > 0;
	default:
		return false;
	}
}

static void
fetch_note_item(struct fetch_request *req, const struct fetch_item *item)
{
	if (item->type == FETCH_ITEM_UID)
		req->has_uid = true;
	else if (item->type == FETCH_ITEM_FLAGS)
		req->has_flags = true;
	else if (item->type == FETCH_ITEM_MODSEQ)
		req->has_modseq = true;
	else if (item->type == FETCH_ITEM_SECTION && !item->peek)
		req->set_seen = true;
}

static int
fetch_add_item(struct arena *arena, struct fetch_request *req, const char *atom,
               size_t len, const char **error_r)
{
	struct fetch_item *item = &req->items[req->count];
	if (fetch_parse_item(arena, atom, len, item, error_r) < 0)
		return -1;
	fetch_note_item(req, item);
	req->count++;
	return 0;
}

static int
fetch_parse_macro(struct arena *arena, const struct imap_arg *arg,
                  struct fetch_request *req, const char **error_r)
{
	for (size_t i = 0; i < N_ELEMENTS(fetch_macros); i++) {
		if (!mem_case_eq(arg->str, arg->len, fetch_macros[i].name))
			continue;
		for (size_t j = 0; j < N_ELEMENTS(fetch_macros[i].items) &&
		                   fetch_macros[i].items[j] != NULL;
		     j++) {
			const char *name = fetch_macros[i].items[j];
			if (fetch_add_item(arena, req, name, strlen(name),
			                   error_r) < 0)
				return -1;
		}
		return 1;
	}
	return 0;
}

int
fetch_parse(struct arena *arena, const struct imap_arg *arg,
            struct fetch_request *req_r, const char **error_r)
{
	memset(req_r, 0, sizeof(*req_r));
	req_r->items =
	    arena_new_array(arena, struct fetch_item, FETCH_MAX_ITEMS);
	if (arg->type == IMAP_ARG_ATOM) {
		int r = fetch_parse_macro(arena, arg, req_r, error_r);
		if (r != 0)
			return r < 0 ? -1 : 0;
		return fetch_add_item(arena, req_r, arg->str, arg->len,
		                      error_r);
	}
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0) {
		*error_r = "Expected FETCH attributes";
		return -1;
	}
	if (arg->list_count > FETCH_MAX_ITEMS) {
		*error_r = "Too many FETCH attributes";
		return -1;
	}
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *a = &arg->list[i];
		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "FETCH attributes must be atoms";
			return -1;
		}
		if (fetch_add_item(arena, req_r, a->str, a->len, error_r) < 0)
			return -1;
	}
	return 0;
}
