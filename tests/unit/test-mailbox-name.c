/* Tests for src/imap/mutf7.c and src/imap/mailbox-name.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "imap/mailbox-name.h"
#include "imap/mutf7.h"
#include "test.h"
#include "util.h"

/* UTF-8 spelled in bytes so the test does not depend on source encoding. */
#define U_AUML    "\xc3\xa4"
#define U_OUML    "\xc3\xb6"
#define U_UUML    "\xc3\xbc"
#define U_TAI_BEI "\xe5\x8f\xb0\xe5\x8c\x97"             /* Taipei */
#define U_NIHONGO "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" /* Japanese */
#define U_GRIN    "\xf0\x9f\x98\x80"                     /* U+1F600 */

struct mutf7_pair {
	const char *utf8;
	const char *mutf7;
};

/* Expected forms cross-checked against Python's UTF-7 codec with the
   RFC 3501 5.1.3 changes ('&' shift, ',' for '/', explicit '-'). */
static const struct mutf7_pair mutf7_pairs[] = {
    {"", ""},
    {"INBOX", "INBOX"},
    {"&", "&-"},
    {"a&b&&", "a&-b&-&-"},
    {"Entw" U_UUML "rfe", "Entw&APw-rfe"},
    {U_TAI_BEI, "&U,BTFw-"},
    {U_NIHONGO, "&ZeVnLIqe-"},
    /* RFC 3501 5.1.3's own example. */
    {"~peter/mail/" U_TAI_BEI "/" U_NIHONGO, "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
    {"~peter/mail/" U_NIHONGO "/" U_TAI_BEI, "~peter/mail/&ZeVnLIqe-/&U,BTFw-"},
    {U_AUML U_OUML, "&AOQA9g-"},
    {U_AUML " " U_OUML, "&AOQ- &APY-"},
    {"\xce\xa9", "&A6k-"},
    {"\xe2\x82\xac", "&IKw-"},
    {U_GRIN, "&2D3eAA-"},
    {"x" U_GRIN "&" U_AUML, "x&2D3eAA-&-&AOQ-"},
    /* Control characters are not direct, so they are base64. */
    {"\x01", "&AAE-"},
    {"\x7f", "&AH8-"},
};

static void
test_mutf7_round_trip(void)
{
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(mutf7_pairs); i++) {
		const struct mutf7_pair *p = &mutf7_pairs[i];
		char *enc = utf8_to_mutf7(arena, p->utf8, strlen(p->utf8));
		char *dec = mutf7_to_utf8(arena, p->mutf7, strlen(p->mutf7));

		test_assert(strcmp(enc, p->mutf7) == 0);
		test_assert(dec != NULL && strcmp(dec, p->utf8) == 0);
	}
	arena_destroy(&arena);
}

static void
test_mutf7_invalid(void)
{
	static const char *const invalid[] = {
	    "&",               /* unterminated */
	    "&AOQ",            /* unterminated */
	    "a&U,BTFw",        /* unterminated */
	    "&AGE-",           /* 'a' must be direct */
	    "&ACY-",           /* '&' must be "&-" */
	    "&ACA-",           /* ' ' must be direct */
	    "&AAA-",           /* U+0000 */
	    "&AOQ-&APY-",      /* must be one run: "&AOQA9g-" */
	    "&AOR-",           /* non-zero padding bits */
	    "&AOQA-",          /* a whole sextet of padding */
	    "&AO-",            /* under 16 bits */
	    "&A-",             /* under 16 bits */
	    "&2D0-",           /* lone high surrogate */
	    "&AOTYPQ-",        /* U+00E4, then a high surrogate at the end */
	    "&2D0A5A-",        /* high surrogate, then U+00E4 */
	    "&3gA-",           /* lone low surrogate */
	    "&2D3YPQ-",        /* high surrogate followed by high */
	    "&AOQ=-",          /* '=' padding is not allowed */
	    "&AOQ/-",          /* '/' is ',' in modified base64 */
	    "&AO Q-",          /* space inside base64 */
	    "\x80",            /* 8-bit */
	    "Entw\xc3\xbcrfe", /* raw UTF-8 is not mUTF-7 */
	    "a\tb",            /* control character sent raw */
	    "a\x7f",           /* DEL sent raw */
	};
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(invalid); i++) {
		char *dec =
		    mutf7_to_utf8(arena, invalid[i], strlen(invalid[i]));
		if (dec != NULL)
			fprintf(stderr, "  accepted %s\n", invalid[i]);
		test_assert(dec == NULL);
	}
	/* An embedded NUL is outside 0x20..0x7e. */
	test_assert(mutf7_to_utf8(arena, "a\0b", 3) == NULL);
	/* The same bytes are fine once length says where they end. */
	test_assert(mutf7_to_utf8(arena, "&AOQA9g-xyz", 8) != NULL);
	test_assert(mutf7_to_utf8(arena, "&AOQA9g-", 7) == NULL);
	arena_destroy(&arena);
}

static void
test_utf8_valid(void)
{
	static const struct {
		const char *s;
		size_t len;
		bool valid;
	} cases[] = {
	    {"", 0, true},
	    {"plain", 5, true},
	    {"a\0b", 3, true},
	    {U_AUML, 2, true},
	    {U_NIHONGO, 9, true},
	    {U_GRIN, 4, true},
	    {"\xed\x9f\xbf", 3, true},      /* U+D7FF */
	    {"\xee\x80\x80", 3, true},      /* U+E000 */
	    {"\xf4\x8f\xbf\xbf", 4, true},  /* U+10FFFF */
	    {"\xc3", 1, false},             /* truncated */
	    {"\xe6\x97", 2, false},         /* truncated */
	    {"\xc0\x80", 2, false},         /* overlong NUL */
	    {"\xc1\xbf", 2, false},         /* overlong */
	    {"\xe0\x80\xaf", 3, false},     /* overlong '/' */
	    {"\xe0\x9f\xbf", 3, false},     /* overlong U+07FF */
	    {"\xf0\x8f\xbf\xbf", 4, false}, /* overlong U+FFFF */
	    {"\xed\xa0\x80", 3, false},     /* U+D800 */
	    {"\xed\xbf\xbf", 3, false},     /* U+DFFF */
	    {"\xf4\x90\x80\x80", 4, false}, /* U+110000 */
	    {"\xf5\x80\x80\x80", 4, false},
	    {"\xff", 1, false},
	    {"\x80", 1, false},     /* lone continuation */
	    {"\xc3\x28", 2, false}, /* bad continuation */
	    {"\xe6\x97\xa5\xe6\x9c", 5, false},
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++)
		test_assert(utf8_valid(cases[i].s, cases[i].len) ==
		            cases[i].valid);
}

/* Every BMP and a sample of astral code points survive a round trip. */
static void
test_mutf7_all_code_points(void)
{
	struct arena *arena = arena_create(4096);
	char buf[16];

	for (uint32_t cp = 1; cp <= 0x10ffff; cp += cp < 0x10000 ? 1 : 97) {
		size_t n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		/* Surround it so runs start and end in the middle. */
		buf[0] = 'a';
		if (cp < 0x80) {
			buf[1] = (char)cp;
			n = 2;
		} else if (cp < 0x800) {
			buf[1] = (char)(0xc0 | (cp >> 6));
			buf[2] = (char)(0x80 | (cp & 0x3f));
			n = 3;
		} else if (cp < 0x10000) {
			buf[1] = (char)(0xe0 | (cp >> 12));
			buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[3] = (char)(0x80 | (cp & 0x3f));
			n = 4;
		} else {
			buf[1] = (char)(0xf0 | (cp >> 18));
			buf[2] = (char)(0x80 | ((cp >> 12) & 0x3f));
			buf[3] = (char)(0x80 | ((cp >> 6) & 0x3f));
			buf[4] = (char)(0x80 | (cp & 0x3f));
			n = 5;
		}
		buf[n++] = 'z';
		if (!utf8_valid(buf, n)) {
			test_assert(false);
			break;
		}
		char *enc = utf8_to_mutf7(arena, buf, n);
		char *dec = mutf7_to_utf8(arena, enc, strlen(enc));
		if (dec == NULL || strlen(dec) != n ||
		    memcmp(dec, buf, n) != 0) {
			fprintf(stderr, "  U+%04X failed\n", (unsigned)cp);
			test_assert(false);
			break;
		}
		arena_clear(arena);
	}
	arena_destroy(&arena);
}

static char *
from_client(struct arena *arena, const char *name, bool utf8, bool wild)
{
	const char *error = NULL;
	char *ret = mailbox_name_from_client(arena, name, strlen(name), utf8,
	                                     wild, &error);

	/* The error is set exactly when the name is refused. */
	test_assert((ret == NULL) == (error != NULL));
	return ret;
}

static void
test_mailbox_name_from_client(void)
{
	static const struct {
		const char *in;
		bool utf8;
		const char *stored;
	} cases[] = {
	    {"INBOX", false, "INBOX"},
	    {"inbox", false, "INBOX"},
	    {"InBoX", true, "INBOX"},
	    {"inbox/x", false, "INBOX/x"},
	    {"Inbox/Sub/inbox", true, "INBOX/Sub/inbox"},
	    {"inboxes", false, "inboxes"},
	    {"My/inbox", false, "My/inbox"},
	    {"Entw&APw-rfe", false, "Entw" U_UUML "rfe"},
	    {"Entw" U_UUML "rfe", true, "Entw" U_UUML "rfe"},
	    {"~peter/mail/&U,BTFw-/&ZeVnLIqe-", false,
	     "~peter/mail/" U_TAI_BEI "/" U_NIHONGO},
	    /* A UTF-8 client's "&" is literal, even in valid mUTF-7. */
	    {"&U,BTFw-", true, "&U,BTFw-"},
	    {"A&-B", false, "A&B"},
	    {"A&-B", true, "A&-B"},
	    {"a.b/.c/..d/c.", false, "a.b/.c/..d/c."},
	    {"with space", false, "with space"},
	};
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *s = from_client(arena, cases[i].in, cases[i].utf8, false);
		test_assert(s != NULL && strcmp(s, cases[i].stored) == 0);
		/* A name is also a valid pattern, with the same result. */
		s = from_client(arena, cases[i].in, cases[i].utf8, true);
		test_assert(s != NULL && strcmp(s, cases[i].stored) == 0);
	}
	arena_destroy(&arena);
}

static void
test_mailbox_name_reject(void)
{
	static const struct {
		const char *in;
		bool utf8;
		bool bad_pattern_too;
	} cases[] = {
	    {"", false, false},
	    {"", true, false},
	    {"/a", false, false},
	    {"a/", true, false},
	    {"/", false, false},
	    {"a//b", false, true},
	    {"//", false, true},
	    {"a/./b", false, true},
	    {"a/../b", true, true},
	    {".", false, true},
	    {"..", false, true},
	    {"a/..", false, true},
	    {"a*", false, false},
	    {"%", true, false},
	    {"a\tb", true, true},
	    {"a\x7f", true, true},
	    {"a\x1f", true, true},
	    {"a\xc2\x85", true, true},        /* U+0085, C1 */
	    {"&AAE-", false, true},           /* U+0001 via mUTF-7 */
	    {"&AIU-", false, true},           /* U+0085 via mUTF-7 */
	    {"&AGE-", false, true},           /* non-canonical */
	    {"&U,BTFw", false, true},         /* unterminated */
	    {"Entw\xc3\xbcrfe", false, true}, /* 8-bit, not UTF-8 mode */
	    {"\xc0\xaf", true, true},         /* overlong */
	    {"\xed\xa0\x80", true, true},     /* surrogate */
	    {"a\xff", true, true},
	    {"a/&AC8-", false, true}, /* '/' smuggled in base64 */
	};
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		test_assert(from_client(arena, cases[i].in, cases[i].utf8,
		                        false) == NULL);
		bool ok = from_client(arena, cases[i].in, cases[i].utf8,
		                      true) != NULL;
		if (ok == cases[i].bad_pattern_too)
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].in);
		test_assert(ok != cases[i].bad_pattern_too);
	}

	/* Embedded NUL, which strlen() based code would miss. */
	const char *error;
	test_assert(mailbox_name_from_client(arena, "a\0b", 3, true, false,
	                                     &error) == NULL);
	test_assert(mailbox_name_from_client(arena, "a\0b", 3, false, false,
	                                     &error) == NULL);
	arena_destroy(&arena);
}

static void
test_mailbox_name_limits(void)
{
	struct arena *arena = arena_create(1024);
	char buf[4 * MAILBOX_NAME_MAX];
	const char *error;

	/* Exactly MAILBOX_NAME_MAX bytes is fine, one more is not. */
	memset(buf, 'a', sizeof(buf));
	test_assert(mailbox_name_from_client(arena, buf, MAILBOX_NAME_MAX, true,
	                                     false, &error) != NULL);
	test_assert(mailbox_name_from_client(arena, buf, MAILBOX_NAME_MAX + 1,
	                                     true, false, &error) == NULL);
	test_assert(mailbox_name_from_client(arena, buf, sizeof(buf), false,
	                                     false, &error) == NULL);

	/* The limit is on the stored form: 500 x "a" U+00E4 is 1500 bytes
	   stored; 333 x is 999 bytes but 2331 bytes of mUTF-7. */
	size_t n = 0;
	for (int i = 0; i < 333; i++) {
		memcpy(buf + n, "a&AOQ-", 6);
		n += 6;
	}
	char *s = mailbox_name_from_client(arena, buf, n, false, false, &error);
	test_assert(s != NULL && strlen(s) == 999);
	memcpy(buf + n, "a&AOQ-", 6);
	n += 6;
	test_assert(mailbox_name_from_client(arena, buf, n, false, false,
	                                     &error) == NULL);

	/* Depth: 64 components fine, 65 refused. */
	n = 0;
	for (int i = 0; i < MAILBOX_NAME_MAX_DEPTH; i++) {
		buf[n++] = 'x';
		buf[n++] = '/';
	}
	test_assert(mailbox_name_from_client(arena, buf, n - 1, false, false,
	                                     &error) != NULL);
	buf[n++] = 'x';
	test_assert(mailbox_name_from_client(arena, buf, n, false, false,
	                                     &error) == NULL);
	arena_destroy(&arena);
}

static void
test_mailbox_pattern_from_client(void)
{
	static const struct {
		const char *in;
		const char *stored;
	} cases[] = {
	    {"", ""},
	    {"*", "*"},
	    {"%", "%"},
	    {"inbox", "INBOX"},
	    {"inbox/%", "INBOX/%"},
	    {"inbox*", "inbox*"},
	    {"Archive/", "Archive/"},
	    {"/x", "/x"},
	    {"/", "/"},
	    {"/inbox/", "/INBOX/"},
	    {"&ZeVnLIqe-/*", U_NIHONGO "/*"},
	};
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *s = from_client(arena, cases[i].in, false, true);
		test_assert(s != NULL && strcmp(s, cases[i].stored) == 0);
	}
	arena_destroy(&arena);
}

static void
test_mailbox_name_to_client(void)
{
	struct arena *arena = arena_create(1024);
	const char *name = "~peter/mail/" U_TAI_BEI "/" U_NIHONGO;

	test_assert(strcmp(mailbox_name_to_client(arena, name, false),
	                   "~peter/mail/&U,BTFw-/&ZeVnLIqe-") == 0);
	test_assert(strcmp(mailbox_name_to_client(arena, name, true), name) ==
	            0);
	test_assert(
	    strcmp(mailbox_name_to_client(arena, "A&B", false), "A&-B") == 0);
	test_assert(strcmp(mailbox_name_to_client(arena, "A&B", true), "A&B") ==
	            0);
	arena_destroy(&arena);
}

static void
test_mailbox_pattern_match(void)
{
	static const struct {
		const char *pattern;
		const char *name;
		bool match;
	} cases[] = {
	    /* RFC 9051 6.3.9: "%" does not cross the separator. */
	    {"*", "foo", true},
	    {"*", "foo/bar/baz", true},
	    {"*", "", true},
	    {"%", "foo", true},
	    {"%", "foo/bar", false},
	    {"foo/%", "foo/bar", true},
	    {"foo/%", "foo/bar/baz", false},
	    {"foo/*", "foo/bar/baz", true},
	    {"foo*", "foo", true},
	    {"foo*", "foobar/baz", true},
	    {"foo%", "foobar", true},
	    {"foo%", "foobar/baz", false},
	    {"%/%", "a/b", true},
	    {"%/%", "a/b/c", false},
	    {"%/%", "a", false},
	    {"*/%", "a/b/c", true},
	    {"%a%", "bab", true},
	    {"%a%", "b/a", false},
	    {"INBOX", "INBOX", true},
	    {"INBOX", "INBOX/x", false},
	    {"INBOX*", "INBOX/x", true},
	    {"", "", true},
	    {"", "a", false},
	    {"a", "", false},
	    {"a", "A", false},
	    {"a*b", "ab", true},
	    {"a*b", "acccb", true},
	    {"a*b", "acccbc", false},
	    {"a%b%c", "axbyc", true},
	    {"a%b%c", "ax/byc", false},
	    {"**", "x/y", true},
	    {"%*%", "x/y", true},
	    {"*%", "x/y", true},
	    {"%*", "x/y", true},
	    {"*a*a*a*a*b", "aaaaaaaaab", true},
	    {"*a*a*a*a*b", "aaaaaaaaaa", false},
	    {"foo/" U_NIHONGO "/%", "foo/" U_NIHONGO "/x", true},
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		bool m = mailbox_pattern_match(cases[i].pattern, cases[i].name);
		if (m != cases[i].match)
			fprintf(stderr, "  %s vs %s\n", cases[i].pattern,
			        cases[i].name);
		test_assert(m == cases[i].match);
	}
}

static double
cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A backtracking matcher needs ~n^k steps here; ours must not. */
static void
test_mailbox_pattern_pathological(void)
{
	char pattern[MAILBOX_NAME_MAX + 1], name[MAILBOX_NAME_MAX + 1];
	size_t n = 0;

	while (n + 2 < MAILBOX_NAME_MAX - 1) {
		pattern[n++] = '*';
		pattern[n++] = 'a';
	}
	pattern[n++] = 'b';
	pattern[n] = '\0';
	memset(name, 'a', MAILBOX_NAME_MAX);
	name[MAILBOX_NAME_MAX] = '\0';

	double start = cpu_seconds();
	for (int i = 0; i < 10; i++) {
		test_assert(!mailbox_pattern_match(pattern, name));
		test_assert(
		    !mailbox_pattern_match("*a*a*a*a*a*a*a*a*a*b", name));
		test_assert(
		    !mailbox_pattern_match("%a%a%a%a%a%a%a%a%a%b", name));
	}
	name[MAILBOX_NAME_MAX - 1] = 'b';
	test_assert(mailbox_pattern_match("*a*a*a*a*a*a*a*a*a*b", name));
	/* 30 matches of 1000x1000 states: milliseconds, even under ASan. */
	test_assert(cpu_seconds() - start < 2.0);

	/* Patterns longer than the stack buffer use the heap path. */
	char *big = malloc(3 * MAILBOX_NAME_MAX);
	memset(big, '*', 3 * MAILBOX_NAME_MAX - 1);
	big[3 * MAILBOX_NAME_MAX - 1] = '\0';
	test_assert(mailbox_pattern_match(big, name));
	big[0] = 'x';
	test_assert(!mailbox_pattern_match(big, name));
	free(big);
}

static void
test_mailbox_pattern_join(void)
{
	static const struct {
		const char *reference;
		const char *pattern;
		const char *joined;
	} cases[] = {
	    {"", "*", "*"},
	    {"", "", ""},
	    {"a/", "b*", "a/b*"},
	    {"a", "b*", "ab*"},
	    {"~smith/Mail/", "foo*", "~smith/Mail/foo*"},
	    {"a/", "/b", "b"},
	    {"a/", "", "a/"},
	    {"inbox/", "%", "INBOX/%"},
	    {"in", "box", "INBOX"},
	    {"in", "boxes", "inboxes"},
	};
	struct arena *arena = arena_create(1024);

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *j = mailbox_pattern_join(arena, cases[i].reference,
		                               cases[i].pattern);
		test_assert(j != NULL && strcmp(j, cases[i].joined) == 0);
	}

	char *half = arena_alloc(arena, MAILBOX_NAME_MAX / 2 + 2);
	memset(half, 'x', MAILBOX_NAME_MAX / 2 + 1);
	test_assert(mailbox_pattern_join(arena, half, half) == NULL);
	half[MAILBOX_NAME_MAX / 2] = '\0';
	test_assert(mailbox_pattern_join(arena, half, half) != NULL);
	arena_destroy(&arena);
}

static void
test_mailbox_name_parent(void)
{
	struct arena *arena = arena_create(1024);
	char *p;

	p = mailbox_name_parent(arena, "a/b/c");
	test_assert(p != NULL && strcmp(p, "a/b") == 0);
	p = mailbox_name_parent(arena, p);
	test_assert(p != NULL && strcmp(p, "a") == 0);
	test_assert(mailbox_name_parent(arena, p) == NULL);
	test_assert(mailbox_name_parent(arena, "INBOX") == NULL);
	p = mailbox_name_parent(arena, "INBOX/" U_NIHONGO);
	test_assert(p != NULL && strcmp(p, "INBOX") == 0);
	arena_destroy(&arena);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"mutf7 round trip", test_mutf7_round_trip},
	    {"mutf7 invalid", test_mutf7_invalid},
	    {"utf8 valid", test_utf8_valid},
	    {"mutf7 all code points", test_mutf7_all_code_points},
	    {"from client", test_mailbox_name_from_client},
	    {"from client rejects", test_mailbox_name_reject},
	    {"from client limits", test_mailbox_name_limits},
	    {"patterns from client", test_mailbox_pattern_from_client},
	    {"to client", test_mailbox_name_to_client},
	    {"pattern match", test_mailbox_pattern_match},
	    {"pattern pathological", test_mailbox_pattern_pathological},
	    {"pattern join", test_mailbox_pattern_join},
	    {"parent", test_mailbox_name_parent},
	};

	return test_run("mailbox-name", cases, N_ELEMENTS(cases));
}
