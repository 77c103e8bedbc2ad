/* Tests for src/mime/casefold.c (RFC 5051 i;unicode-casemap forms). */
#include <stdlib.h>
#include <string.h>

#include "mime/casefold.h"
#include "mime/charset.h"
#include "str.h"
#include "test.h"
#include "util.h"

/* The comparison form of s, heap-allocated. */
static char *
fold(const char *s, size_t len)
{
	struct str out;
	str_init(&out, 3 * len + 1);
	casefold_utf8(&out, s, len);
	test_assert(!str_failed(&out));
	char *r = strndup(out.len > 0 ? out.data : "", out.len);
	str_free(&out);
	return r;
}

/* True if a and b have the same comparison form. */
static bool
same(const char *a, const char *b)
{
	char *fa = fold(a, strlen(a)), *fb = fold(b, strlen(b));
	bool r = strcmp(fa, fb) == 0;
	free(fa);
	free(fb);
	return r;
}

static bool
folds_to(const char *in, const char *want)
{
	char *f = fold(in, strlen(in));
	bool r = strcmp(f, want) == 0;
	if (!r)
		fprintf(stderr, "  \"%s\" folds to \"%s\"\n", in, f);
	free(f);
	return r;
}

static void
test_ascii(void)
{
	test_assert(
	    folds_to("Hello, WORLD 123 @[]`{}", "hello, world 123 @[]`{}"));
	test_assert(same("SUBJECT", "subject"));
	test_assert(!same("a", "b"));
	test_assert(folds_to("", ""));
}

static void
test_latin1(void)
{
	/* É and é fold and decompose to "e" + U+0301. */
	test_assert(folds_to("\xc3\x89", "e\xcc\x81"));
	test_assert(same("\xc3\x89"
	                 "COLE",
	                 "\xc3\xa9"
	                 "cole"));
	test_assert(same("E\xcc\x81"
	                 "cole",
	                 "\xc3\xa9"
	                 "cole"));
	test_assert(same("\xc3\x9c"
	                 "BER",
	                 "\xc3\xbc"
	                 "ber"));
	test_assert(same("\xc3\x85", "\xc3\xa5")); /* Å å */
	test_assert(same("\xc3\x98", "\xc3\xb8")); /* Ø ø */
	test_assert(same("\xc5\xb8", "\xc3\xbf")); /* Ÿ ÿ */
	test_assert(same("\xc3\x86", "\xc3\xa6")); /* Æ æ */
	/* Marks are kept: "ecole" is not "école" (NFKD keeps them). */
	test_assert(!same("ecole", "\xc3\xa9"
	                           "cole"));
	/* ß has no one-to-one upper case; ẞ folds to it. */
	test_assert(same("\xe1\xba\x9e", "\xc3\x9f"));
	test_assert(!same("ss", "\xc3\x9f"));
	/* Latin Extended-A: Ł ł, Ő ő. */
	test_assert(same("\xc5\x81\xc3\xb3\x64\xc5\xba",
	                 "\xc5\x82\xc3\xb3\x64\xc5\xba"));
	test_assert(same("\xc5\x90", "\xc5\x91"));
}

static void
test_greek(void)
{
	/* ΑΒΓ αβγ; Σ σ ς all one. */
	test_assert(
	    same("\xce\x91\xce\x92\xce\x93", "\xce\xb1\xce\xb2\xce\xb3"));
	test_assert(same("\xce\xa3", "\xcf\x83"));
	test_assert(same("\xcf\x82", "\xcf\x83"));
	/* Ά ά both become α + U+0301. */
	test_assert(folds_to("\xce\x86", "\xce\xb1\xcc\x81"));
	test_assert(same("\xce\x86", "\xce\xac"));
	/* Greek Extended: ᾈ (capital with prosgegrammeni) and ᾀ. */
	test_assert(same("\xe1\xbe\x88", "\xe1\xbe\x80"));
	/* The micro sign is Greek mu. */
	test_assert(same("\xc2\xb5", "\xce\xbc"));
}

static void
test_cyrillic(void)
{
	/* ПРИВЕТ привет */
	test_assert(same("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x92\xd0\x95\xd0\xa2",
	                 "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"));
	test_assert(same("\xd0\x81", "\xd1\x91"));         /* Ё ё */
	test_assert(same("\xd0\x99", "\xd0\xb8\xcc\x86")); /* Й, и + breve */
	test_assert(!same("\xd0\xb5", "\xd1\x91"));        /* е is not ё */
}

static void
test_compat(void)
{
	/* Fullwidth "Ａｂ", the "ﬁ" ligature, no-break space. */
	test_assert(folds_to("\xef\xbc\xa1\xef\xbd\x82", "ab"));
	test_assert(folds_to("\xef\xac\x81le", "file"));
	test_assert(folds_to("a\xc2\xa0"
	                     "b",
	                     "a b"));
	/* Scripts without case pass through. */
	test_assert(
	    folds_to("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac"));
}

static void
test_invalid(void)
{
	/* Each invalid byte becomes U+FFFD: invalid bytes match only each
	 * other, never valid text. */
	test_assert(folds_to("a\xff"
	                     "b",
	                     "a\xef\xbf\xbd"
	                     "b"));
	test_assert(folds_to("\xc3", "\xef\xbf\xbd"));
	test_assert(folds_to("\xe6\x97", "\xef\xbf\xbd\xef\xbf\xbd"));
	test_assert(same("\xff", "\xfe"));
}

/* Every code point folds to a form at most three times its length, as
 * casefold.h promises (callers size buffers by it), and the fold is
 * idempotent. */
static void
test_every_code_point(void)
{
	size_t bad_growth = 0, bad_idem = 0;
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		struct str in;
		str_init(&in, 8);
		charset_utf8_append(&in, cp);
		char *f = fold(in.data, in.len);
		if (strlen(f) > 3 * in.len)
			bad_growth++;
		char *ff = fold(f, strlen(f));
		if (strcmp(f, ff) != 0)
			bad_idem++;
		free(ff);
		free(f);
		str_free(&in);
	}
	test_assert(bad_growth == 0);
	test_assert(bad_idem == 0);
	if (bad_idem > 0)
		fprintf(stderr, "  %zu code points fold differently twice\n",
		        bad_idem);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"ascii", test_ascii},
	    {"latin-1 and latin extended", test_latin1},
	    {"greek", test_greek},
	    {"cyrillic", test_cyrillic},
	    {"compatibility forms", test_compat},
	    {"invalid utf-8", test_invalid},
	    {"every code point", test_every_code_point},
	};
	return test_run("casefold", cases, N_ELEMENTS(cases));
}
