/*
 * RFC 5256 2.1: the base subject of a message, the text left once reply
 * and forward markers, list tags ("[list]") and whitespace are removed.
 * The grammar is RFC 5256 5 (subject, subj-leader, subj-blob, subj-refwd,
 * subj-fwd, subj-trailer); its literal strings are case-insensitive.
 */
#include "base-subject.h"

#include <string.h>

#include "arena.h"
#include "decode.h"
#include "str.h"

/* The subject while markers are removed: s[start..end) is what is left. */
struct subj {
	char *s;      /* normalized copy, arena */
	size_t start; /* first byte not yet removed */
	size_t end;   /* one past the last byte not yet removed */
	bool reply;   /* a reply or forward marker was removed */
};

static unsigned char
subj_upper(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? (unsigned char)(c - 'a' + 'A') : c;
}

/* True if s (len bytes) starts with lit, ignoring ASCII case. */
static bool
subj_prefix(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (subj_upper((unsigned char)s[i]) !=
		    subj_upper((unsigned char)lit[i]))
			return false;
	}
	return true;
}

/*
 * RFC 5256 2.1 step 1: RFC 2047 encoded words are decoded to UTF-8, then
 * tabs and line breaks (continuations) become spaces and runs of spaces
 * become one.  A subject whose decoding would not fit its bound is used
 * as written.
 */
static void
base_subject_normalize(struct arena *arena, const char *subject, size_t len,
                       struct subj *sj)
{
	struct str decoded;
	str_init(&decoded, len * 4 + 64);
	decode_header_value(&decoded, subject, len);
	if (!str_failed(&decoded)) {
		subject = decoded.data != NULL ? decoded.data : "";
		len = decoded.len;
	}
	sj->s = arena_alloc(arena, len + 1);
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		char c = subject[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && n > 0 && sj->s[n - 1] == ' ')
			continue;
		sj->s[n++] = c;
	}
	sj->start = 0;
	sj->end = n;
	str_free(&decoded);
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP: bytes it spans at s, or 0. */
static size_t
subj_blob_len(const char *s, size_t len)
{
	if (len == 0 || s[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && s[i] != '[' && s[i] != ']')
		i++;
	if (i == len || s[i] != ']')
		return 0;
	for (i++; i < len && s[i] == ' '; i++)
		;
	return i;
}

/* subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":": its length. */
static size_t
subj_refwd_len(const char *s, size_t len)
{
	size_t i;
	if (subj_prefix(s, len, "re"))
		i = 2;
	else if (subj_prefix(s, len, "fwd"))
		i = 3;
	else if (subj_prefix(s, len, "fw"))
		i = 2;
	else
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	i += subj_blob_len(s + i, len - i);
	return i < len && s[i] == ':' ? i + 1 : 0;
}

/* Step 2: subj-trailer = "(fwd)" / WSP, removed until none is left. */
static void
subj_strip_trailers(struct subj *sj)
{
	for (;;) {
		size_t len = sj->end - sj->start;
		if (len > 0 && sj->s[sj->end - 1] == ' ') {
			sj->end--;
		} else if (len >= 5 &&
		           subj_prefix(sj->s + sj->end - 5, 5, "(fwd)")) {
			sj->end -= 5;
			sj->reply = true;
		} else {
			return;
		}
	}
}

/* Step 3: one subj-leader = (*subj-blob subj-refwd) / WSP. */
static bool
subj_strip_leader(struct subj *sj)
{
	if (sj->start < sj->end && sj->s[sj->start] == ' ') {
		sj->start++;
		return true;
	}
	size_t i = sj->start, n;
	while ((n = subj_blob_len(sj->s + i, sj->end - i)) > 0)
		i += n;
	n = subj_refwd_len(sj->s + i, sj->end - i);
	if (n == 0)
		return false;
	sj->start = i + n;
	sj->reply = true;
	return true;
}

/* Step 4: a leading subj-blob goes if a non-empty subj-base remains. */
static bool
subj_strip_blob(struct subj *sj)
{
	size_t n = subj_blob_len(sj->s + sj->start, sj->end - sj->start);
	if (n == 0 || sj->start + n == sj->end)
		return false;
	sj->start += n;
	return true;
}

/* Step 6: "[fwd:" subject "]" around everything is unwrapped. */
static bool
subj_strip_fwd(struct subj *sj)
{
	size_t len = sj->end - sj->start;
	if (len < 6 || !subj_prefix(sj->s + sj->start, len, "[fwd:") ||
	    sj->s[sj->end - 1] != ']')
		return false;
	sj->start += 5;
	sj->end--;
	sj->reply = true;
	return true;
}

const char *
base_subject(struct arena *arena, const char *subject, size_t len,
             bool *reply_r)
{
	struct subj sj;
	base_subject_normalize(arena, subject, len, &sj);
	sj.reply = false;
	do {
		subj_strip_trailers(&sj);
		/* Steps 3 to 5: leaders and blobs until neither matches. */
		while (subj_strip_leader(&sj) || subj_strip_blob(&sj))
			;
	} while (subj_strip_fwd(&sj));
	if (reply_r != NULL)
		*reply_r = sj.reply;
	/* Step 7: what is left is the base subject.  The copy is in place:
	   s[] was allocated with room for the NUL. */
	sj.s[sj.end] = '\0';
	return sj.s + sj.start;
}

int
base_subject_compare(const char *a, const char *b)
{
	const unsigned char *x = (const unsigned char *)a;
	const unsigned char *y = (const unsigned char *)b;
	while (*x != '\0' && subj_upper(*x) == subj_upper(*y)) {
		x++;
		y++;
	}
	return (int)subj_upper(*x) - (int)subj_upper(*y);
}
