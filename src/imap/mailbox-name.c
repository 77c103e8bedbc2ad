/*
 * Mailbox names: client form <-> stored form, LIST pattern matching.
 */
#include "mailbox-name.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "mutf7.h"
#include "util.h"

/*
 * Longest client form we look at.  mUTF-7 can be up to 2.5 times longer
 * than the stored UTF-8 (a 2-byte character alone takes "&AOQ-"), so this
 * leaves room for any name that fits MAILBOX_NAME_MAX once decoded while
 * bounding the work done on junk.
 */
#define MAILBOX_NAME_CLIENT_MAX (MAILBOX_NAME_MAX * 3)

static bool
mailbox_is_wildcard(char c)
{
	return c == '*' || c == '%';
}

/*
 * RFC 9051 5.1: names SHOULD be Net-Unicode (RFC 5198 2), which has no C0
 * or C1 controls and no DEL.  s is valid UTF-8.
 */
static bool
mailbox_has_control(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return true;
		/* U+0080..U+009F is 0xc2 0x80..0x9f in UTF-8. */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
			return true;
	}
	return false;
}

/* Checks the components of s[0..len), which has no leading or trailing
   separator and is not empty. */
static const char *
mailbox_check_components(const char *s, size_t len)
{
	size_t depth = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != MAILBOX_NAME_SEP)
			continue;
		size_t clen = i - start;
		if (clen == 0)
			return "Mailbox name has an empty component";
		if ((clen == 1 && s[start] == '.') ||
		    (clen == 2 && s[start] == '.' && s[start + 1] == '.'))
			return "Mailbox name has a '.' or '..' component";
		if (++depth > MAILBOX_NAME_MAX_DEPTH)
			return "Mailbox name is nested too deep";
		start = i + 1;
	}
	return NULL;
}

/* RFC 9051 5.1: INBOX is case-insensitive; spell a first component of
   "inbox" the one way.  s[0..len) has no leading separator. */
static void
mailbox_canonicalize_inbox(char *s, size_t len)
{
	if (len >= 5 && strncasecmp(s, "INBOX", 5) == 0 &&
	    (len == 5 || s[5] == MAILBOX_NAME_SEP))
		memcpy(s, "INBOX", 5);
}

static const char *
mailbox_check(char *name, size_t len, bool allow_wildcards)
{
	size_t start = 0, end = len;

	if (len > MAILBOX_NAME_MAX)
		return "Mailbox name too long";
	if (mailbox_has_control(name, len))
		return "Mailbox name contains control characters";
	if (!allow_wildcards) {
		if (memchr(name, '*', len) != NULL ||
		    memchr(name, '%', len) != NULL)
			return "Mailbox name contains '*' or '%'";
		if (len == 0)
			return "Empty mailbox name";
	} else {
		/* A LIST reference "a/" or pattern "/x" is meaningful. */
		if (len > 0 && name[0] == MAILBOX_NAME_SEP)
			start = 1;
		if (end > start && name[end - 1] == MAILBOX_NAME_SEP)
			end--;
		if (start == end)
			return len <= 1 ? NULL
			                : "Mailbox name has an empty component";
	}
	if (name[start] == MAILBOX_NAME_SEP)
		return "Mailbox name starts with '/'";
	if (name[end - 1] == MAILBOX_NAME_SEP)
		return "Mailbox name ends with '/'";
	const char *error = mailbox_check_components(name + start, end - start);
	if (error != NULL)
		return error;
	mailbox_canonicalize_inbox(name + start, end - start);
	return NULL;
}

char *
mailbox_name_from_client(struct arena *arena, const char *name, size_t len,
                         bool utf8, bool allow_wildcards, const char **error_r)
{
	char *stored;

	*error_r = NULL;
	if (len > MAILBOX_NAME_CLIENT_MAX) {
		*error_r = "Mailbox name too long";
		return NULL;
	}
	if (utf8) {
		/* RFC 9051 5.1: IMAP4rev2 names are UTF-8; "&" is literal. */
		if (!utf8_valid(name, len)) {
			*error_r = "Mailbox name is not valid UTF-8";
			return NULL;
		}
		stored = arena_strndup(arena, name, len);
	} else {
		stored = mutf7_to_utf8(arena, name, len);
		if (stored == NULL) {
			*error_r = "Mailbox name is not valid modified UTF-7";
			return NULL;
		}
		len = strlen(stored);
	}
	*error_r = mailbox_check(stored, len, allow_wildcards);
	return *error_r == NULL ? stored : NULL;
}

char *
mailbox_name_to_client(struct arena *arena, const char *name, bool utf8)
{
	if (utf8)
		return arena_strdup(arena, name);
	return utf8_to_mutf7(arena, name, strlen(name));
}

/*
 * Simulates the pattern as a non-deterministic automaton: state i means
 * "pattern[0..i) matched the name so far".  Every name byte updates all
 * states at once, so the cost is O(plen * nlen) whatever the pattern.
 */
static bool
mailbox_match_states(const char *pattern, size_t plen, const char *name,
                     unsigned char *cur, unsigned char *next)
{
	memset(cur, 0, plen + 1);
	cur[0] = 1;
	for (size_t i = 0; i < plen && mailbox_is_wildcard(pattern[i]); i++)
		cur[i + 1] = 1;

	for (const char *n = name; *n != '\0'; n++) {
		bool any = false;

		memset(next, 0, plen + 1);
		for (size_t i = 0; i < plen; i++) {
			if (!cur[i])
				continue;
			char p = pattern[i];
			if (p == '*' || (p == '%' && *n != MAILBOX_NAME_SEP))
				next[i] = 1;
			else if (p == *n)
				next[i + 1] = 1;
		}
		/* A wildcard may also match nothing. */
		for (size_t i = 0; i < plen; i++) {
			if (next[i] && mailbox_is_wildcard(pattern[i]))
				next[i + 1] = 1;
			any = any || next[i];
		}
		if (!any && !next[plen])
			return false;
		unsigned char *tmp = cur;
		cur = next;
		next = tmp;
	}
	return cur[plen] != 0;
}

bool
mailbox_pattern_match(const char *pattern, const char *name)
{
	unsigned char stack[2 * (MAILBOX_NAME_MAX + 1)];
	size_t plen = strlen(pattern);
	unsigned char *states = stack;
	bool ret;

	if (plen + 1 > MAILBOX_NAME_MAX + 1)
		states = xmalloc(2 * (plen + 1));
	ret = mailbox_match_states(pattern, plen, name, states,
	                           states + plen + 1);
	if (states != stack)
		free(states);
	return ret;
}

char *
mailbox_pattern_join(struct arena *arena, const char *reference,
                     const char *pattern)
{
	char *joined;

	if (pattern[0] == MAILBOX_NAME_SEP || reference[0] == '\0') {
		/* Absolute pattern, or nothing to prepend. */
		if (pattern[0] == MAILBOX_NAME_SEP)
			pattern++;
		joined = arena_strdup(arena, pattern);
	} else {
		joined = arena_printf(arena, "%s%s", reference, pattern);
	}
	size_t len = strlen(joined);
	if (len > MAILBOX_NAME_MAX)
		return NULL;
	mailbox_canonicalize_inbox(joined, len);
	return joined;
}

char *
mailbox_name_parent(struct arena *arena, const char *name)
{
	const char *sep = strrchr(name, MAILBOX_NAME_SEP);

	if (sep == NULL)
		return NULL;
	return arena_strndup(arena, name, (size_t)(sep - name));
}
