#ifndef CASELLA_LIST_PARSE_H
#define CASELLA_LIST_PARSE_H

#include <stdbool.h>
#include <stddef.h>

struct command;
struct imap_arg;
struct str;

/*
 * Arguments of the mailbox commands (CREATE ... STATUS): mailbox names,
 * special-use attributes, and the LIST / LSUB reference, patterns and
 * RFC 5258 options.
 */

/* Patterns in one "LIST ref (p1 p2 ...)"; more is BAD. */
#define LIST_PATTERNS_MAX 64

/* RFC 5258 3.1 selection options, RFC 6154 SPECIAL-USE. */
enum list_select {
	LIST_SELECT_SUBSCRIBED = 0x01,
	LIST_SELECT_REMOTE = 0x02,
	LIST_SELECT_RECURSIVEMATCH = 0x04,
	LIST_SELECT_SPECIAL_USE = 0x08,
};

/* RFC 5258 3.2 return options, RFC 5819 STATUS, RFC 6154 SPECIAL-USE. */
enum list_return {
	LIST_RETURN_SUBSCRIBED = 0x01,
	LIST_RETURN_CHILDREN = 0x02,
	LIST_RETURN_SPECIAL_USE = 0x04,
	LIST_RETURN_STATUS = 0x08,
};

struct list_request {
	unsigned select;       /* enum list_select bits */
	unsigned ret;          /* enum list_return bits */
	unsigned status_items; /* status-write.h bits, with RETURN STATUS */
	const char **patterns; /* reference joined with each pattern, in
	                          stored form; NULL for one that can match
	                          no name (e.g. invalid mUTF-7) */
	size_t pattern_count;
	bool want_root; /* a pattern was "": report the delimiter */
};

/*
 * The text of a mailbox argument: an astring, or NIL, which as an astring
 * is simply the name "NIL".  False for a list.
 */
bool mailbox_arg_string(const struct imap_arg *arg, const char **str_r,
                        size_t *len_r);

/*
 * Converts a client's mailbox name (s, len) to the stored form, UTF-8 or
 * mUTF-7 as the client speaks.  On an invalid name, sets the tagged
 * result to NO [CANNOT] (RFC 5530) and returns NULL; the caller then
 * returns CMD_DONE.
 */
const char *mailbox_arg_convert(struct command *cmd, const char *s, size_t len);

/* mailbox_arg_string() then mailbox_arg_convert(); a non-string argument
 * sets BAD.  NULL means the tagged result is set. */
const char *mailbox_arg_name(struct command *cmd, const struct imap_arg *arg);

/* Writes a stored name as the client reads it (mUTF-7 or UTF-8), as an
 * atom, quoted string or literal. */
void mailbox_write_name(struct command *cmd, struct str *out, const char *name);

/* RFC 6154 2: "\Sent" (any case) to its enum store_special_use bit, or 0
 * for an unknown attribute. */
unsigned special_use_parse(const char *s, size_t len);
/* Appends " \Sent" etc. for each bit; *first tells whether the attribute
 * list is still empty (then no leading space) and is cleared. */
void special_use_write(struct str *out, unsigned special_use, bool *first);

/*
 * Parses LIST arguments (RFC 9051 6.3.9, RFC 5258 3):
 *   LIST [(selection-options)] reference pattern-or-(patterns)
 *        [RETURN (return-options)]
 * Returns 0, or -1 with *error_r a static text for a BAD answer.
 * Memory comes from cmd->arena.
 */
int list_parse(struct command *cmd, struct list_request *req_r,
               const char **error_r);

/* Parses LSUB arguments "reference pattern" (RFC 3501 6.3.9) into the
 * same form, with no options.  Returns 0 or -1 as list_parse(). */
int list_parse_lsub(struct command *cmd, struct list_request *req_r,
                    const char **error_r);

#endif
