/* Tests for src/mime/base-subject.c (RFC 5256 2.1). */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "mime/base-subject.h"
#include "test.h"
#include "util.h"

struct subject_case {
	const char *in;
	const char *base;
	bool reply;
};

/* Runs base_subject() on an exactly sized heap copy so ASan catches any
 * read outside the value. */
static bool
check(struct arena *arena, const struct subject_case *c)
{
	size_t len = strlen(c->in);
	char *copy = malloc(len == 0 ? 1 : len);
	memcpy(copy, c->in, len);
	bool reply = !c->reply;
	const char *base = base_subject(arena, copy, len, &reply);
	free(copy);
	if (strcmp(base, c->base) == 0 && reply == c->reply)
		return true;
	fprintf(stderr, "  \"%s\": got \"%s\" reply=%d, want \"%s\" reply=%d\n",
	        c->in, base, reply, c->base, c->reply);
	return false;
}

static void
run_cases(const struct subject_case *cases, size_t count)
{
	struct arena *arena = arena_create(1024);
	for (size_t i = 0; i < count; i++)
		test_assert(check(arena, &cases[i]));
	arena_destroy(&arena);
}

/* Step 3: subj-refwd leaders, with the blob forms of the grammar. */
static void
test_leaders(void)
{
	static const struct subject_case cases[] = {
	    {"Re: hello", "hello", true},
	    {"RE: hello", "hello", true},
	    {"re:hello", "hello", true},
	    {"Fwd: hello", "hello", true},
	    {"FW: hello", "hello", true},
	    {"fw:hello", "hello", true},
	    {"Re: Re: RE: hello", "hello", true},
	    {"Fwd: Re: Fw: hello", "hello", true},
	    {"Re[2]: hello", "hello", true},
	    {"Re [2]: hello", "hello", true},
	    {"Re  [2] : hello", "hello", true},
	    {"Re :hello", "hello", true},
	    /* Not leaders: no colon, or more letters. */
	    {"Re hello", "Re hello", false},
	    {"Reply: hello", "Reply: hello", false},
	    {"Fwdx: hello", "Fwdx: hello", false},
	    {"Rex", "Rex", false},
	    {"Re: ", "", true},
	    {"Re:", "", true},
	    {"hello Re: x", "hello Re: x", false},
	};
	run_cases(cases, N_ELEMENTS(cases));
}

/* Step 4: a leading subj-blob goes unless it is all that is left. */
static void
test_blobs(void)
{
	static const struct subject_case cases[] = {
	    {"[list] hello", "hello", false},
	    {"[list]hello", "hello", false},
	    {"[a][b] hello", "hello", false},
	    {"[list]", "[list]", false},
	    {"[list]   ", "[list]", false},
	    {"[a] [b]", "[b]", false},
	    {"[] hello", "hello", false},
	    {"[unclosed hello", "[unclosed hello", false},
	    {"[a[b] hello", "[a[b] hello", false},
	    {"hello [list]", "hello [list]", false},
	    /* Blobs before a refwd belong to the leader. */
	    {"[list] Re: hello", "hello", true},
	    {"Re: [list] Re: hello", "hello", true},
	    {"[x] Re: [list] Fwd: [y] hello", "hello", true},
	};
	run_cases(cases, N_ELEMENTS(cases));
}

/* Steps 2 and 6: "(fwd)" trailers and the "[fwd: ...]" wrapper. */
static void
test_forwards(void)
{
	static const struct subject_case cases[] = {
	    {"hello (fwd)", "hello", true},
	    {"hello (FWD)", "hello", true},
	    {"hello(fwd)(fwd) (Fwd)", "hello", true},
	    {"(fwd)", "", true},
	    {"hello (fwd) x", "hello (fwd) x", false},
	    {"[Fwd: hello]", "hello", true},
	    {"[fwd:hello]", "hello", true},
	    {"Re: [Fwd: Re: hello] (fwd)", "hello", true},
	    {"[Fwd: [Fwd: hello]]", "hello", true},
	    {"[Fwd: [list] hello]", "hello", true},
	    {"[fwd: hello", "[fwd: hello", false},
	    /* A blob that is not the whole subject is removed as a blob. */
	    {"[Fwd: a] b", "b", false},
	    {"[Fwd: ]", "", true},
	};
	run_cases(cases, N_ELEMENTS(cases));
}

/* Step 1: whitespace; encoded words are not decoded yet. */
static void
test_whitespace(void)
{
	static const struct subject_case cases[] = {
	    {"", "", false},
	    {"   ", "", false},
	    {"hello", "hello", false},
	    {"  hello  world  ", "hello world", false},
	    {"\thello\t\tworld\t", "hello world", false},
	    {"hello\r\n world", "hello world", false},
	    {"hello\n\tworld", "hello world", false},
	    {"Re:\r\n hello", "hello", true},
	    {"Re:\t [list]\t hello \t", "hello", true},
	    /* RFC 5256 2.1 step 1: encoded words are decoded first. */
	    {"=?utf-8?q?caf=C3=A9?=", "caf\xc3\xa9", false},
	    {"=?utf-8?q?Re=3A?= x", "x", true},
	    {"Re: =?iso-8859-1?q?Gr=FC=DFe?=",
	     "Gr\xc3\xbc\xc3\x9f"
	     "e",
	     true},
	    {"Re: caf\xc3\xa9", "caf\xc3\xa9", true},
	};
	run_cases(cases, N_ELEMENTS(cases));

	/* Only len counts: nothing past it is read. */
	struct arena *arena = arena_create(64);
	const char *base = base_subject(arena, "Re: ab", 5, NULL);
	test_assert(strcmp(base, "a") == 0);
	base = base_subject(arena, "Re: ab", 0, NULL);
	test_assert(strcmp(base, "") == 0);
	arena_destroy(&arena);
}

/* i;ascii-casemap: a-z sort as A-Z, so '_' (0x5f) is after 'a'. */
static void
test_compare(void)
{
	test_assert(base_subject_compare("abc", "ABC") == 0);
	test_assert(base_subject_compare("abc", "ABD") < 0);
	test_assert(base_subject_compare("b", "A") > 0);
	test_assert(base_subject_compare("", "a") < 0);
	test_assert(base_subject_compare("a", "") > 0);
	test_assert(base_subject_compare("ab", "a") > 0);
	test_assert(base_subject_compare("_", "a") > 0);
	test_assert(base_subject_compare("Z", "_") < 0);
	test_assert(base_subject_compare("\xc3", "z") > 0);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"leaders", test_leaders},   {"blobs", test_blobs},
	    {"forwards", test_forwards}, {"whitespace", test_whitespace},
	    {"compare", test_compare},
	};

	return test_run("base-subject", cases, N_ELEMENTS(cases));
}
