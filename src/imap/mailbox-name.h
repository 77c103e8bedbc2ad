#ifndef CASELLA_IMAP_MAILBOX_NAME_H
#define CASELLA_IMAP_MAILBOX_NAME_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/*
 * Mailbox names.  The stored form is UTF-8 with "/" as the hierarchy
 * separator, and INBOX (any case, RFC 9051 5.1) always spelled "INBOX".
 * Every returned string is NUL-terminated and allocated from arena.
 */

#define MAILBOX_NAME_MAX       1000 /* bytes of the stored form */
#define MAILBOX_NAME_MAX_DEPTH 64   /* components, "a/b/c" is 3 */
#define MAILBOX_NAME_SEP       '/'

/*
 * Converts a name sent by a client into the stored form.
 *
 * utf8: the client speaks UTF-8 names (IMAP4rev2, or UTF8=ACCEPT enabled,
 * RFC 9051 5.1 / RFC 6855 3); the name is taken as UTF-8 as is, and "&"
 * sequences are NOT decoded.  When !utf8 the name is modified UTF-7
 * (RFC 3501 5.1.3) and is decoded.
 *
 * "INBOX" in any case becomes "INBOX", and "inbox/x" becomes "INBOX/x".
 *
 * allow_wildcards: the name is a LIST reference or pattern; '*' and '%'
 * are kept, "" is valid, and a leading or trailing "/" is allowed (a
 * reference "Archive/" or a pattern "/x" means something in LIST).
 * Otherwise names containing '*' or '%' are rejected.
 *
 * Returns NULL with *error_r set to a short human text (static storage)
 * for: an empty name, invalid UTF-8 or mUTF-7 (including raw 8-bit bytes
 * when !utf8), control characters (< 0x20, 0x7f, and the C1 range
 * U+0080..U+009F that RFC 5198 Net-Unicode excludes), a leading or
 * trailing "/" (except as allowed above), an empty component ("a//b"), a
 * component "." or "..", more than MAILBOX_NAME_MAX bytes of stored form
 * or MAILBOX_NAME_MAX_DEPTH components.  On success *error_r is NULL.
 */
char *mailbox_name_from_client(struct arena *arena, const char *name,
                               size_t len, bool utf8, bool allow_wildcards,
                               const char **error_r);

/*
 * Stored form (a valid stored name, NUL-terminated) to the form we send:
 * modified UTF-7 unless utf8.  Quoting for the wire is the caller's job.
 */
char *mailbox_name_to_client(struct arena *arena, const char *name, bool utf8);

/*
 * RFC 9051 6.3.9 LIST matching on stored forms: '*' matches any run of
 * characters, '%' any run not containing "/".  Case-sensitive, except
 * that both sides are expected to have INBOX already canonicalised.
 * Runs in O(len(pattern) * len(name)) time at worst; no backtracking
 * blow-up on patterns like "*a*a*a*a*b".
 */
bool mailbox_pattern_match(const char *pattern, const char *name);

/*
 * Joins a LIST reference and pattern (each already through
 * mailbox_name_from_client() with allow_wildcards, so may be "") into one
 * pattern.  RFC 9051 6.3.9 says the reference is prepended to the
 * pattern; we keep it that simple:
 *   - a pattern starting with "/" is absolute in our single namespace:
 *     the reference is ignored and the leading "/" dropped;
 *   - otherwise the result is reference + pattern, plain concatenation
 *     ("a/" + "b*" is "a/b*", "a" + "b*" is "ab*"; no "/" is added).
 * A first component spelling "inbox" in any case becomes "INBOX".
 * Returns NULL if the result would exceed MAILBOX_NAME_MAX bytes.
 */
char *mailbox_pattern_join(struct arena *arena, const char *reference,
                           const char *pattern);

/* Parent of "a/b/c" is "a/b"; NULL for a top-level name. */
char *mailbox_name_parent(struct arena *arena, const char *name);

#endif
