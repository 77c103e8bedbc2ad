/* Tests for src/mime/header.c. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "mime/header.h"
#include "str.h"
#include "test.h"
#include "util.h"

#define CRLF_MSG                                                               \
	"From: Alice <a@example.org>\r\n"                                      \
	"To: bob@example.org,\r\n"                                             \
	"\tcarol@example.org\r\n"                                              \
	"Subject:  Hello\r\n"                                                  \
	"  folded   world \r\n"                                                \
	"X-Empty:\r\n"                                                         \
	"subject: second\r\n"                                                  \
	"\r\n"                                                                 \
	"Body: not a header\r\n"

#define LF_MSG                                                                 \
	"From: Alice <a@example.org>\n"                                        \
	"To: bob@example.org,\n"                                               \
	"\tcarol@example.org\n"                                                \
	"Subject:  Hello\n"                                                    \
	"  folded   world \n"                                                  \
	"X-Empty:\n"                                                           \
	"subject: second\n"                                                    \
	"\n"                                                                   \
	"Body: not a header\n"

/* Copies s to an exactly sized heap buffer so ASan sees any overread. */
static char *
exact_copy(const char *s, size_t len)
{
	char *p = malloc(len == 0 ? 1 : len);

	memcpy(p, s, len);
	return p;
}

static void
test_header_size(void)
{
	static const struct {
		const char *msg;
		size_t len;
		size_t size;
	} cases[] = {
	    {CRLF_MSG, sizeof(CRLF_MSG) - 1, sizeof(CRLF_MSG) - 1 - 20},
	    {LF_MSG, sizeof(LF_MSG) - 1, sizeof(LF_MSG) - 1 - 19},
	    {"", 0, 0},
	    {"\r\n", 2, 2},
	    {"\n", 1, 1},
	    {"\r\nbody", 6, 2},
	    {"\nbody", 5, 1},
	    {"A: b", 4, 4},
	    {"A: b\r\n", 6, 6},
	    {"A: b\r\n\r", 7, 7},
	    {"A: b\r\n\r\n", 8, 8},
	    {"A: b\n\r\nx", 8, 7},
	    {"A: b\r\n \r\nB: c\r\n\r\nx", 18, 17},
	    {"A: \0b\n\nx", 8, 7},
	    {"A: b\r\rB: c\n\nx", 13, 12},
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		char *m = exact_copy(cases[i].msg, cases[i].len);
		size_t size = header_size(m, cases[i].len);
		if (size != cases[i].size)
			fprintf(stderr, "  case %zu: %zu\n", i, size);
		test_assert(size == cases[i].size);
		free(m);
	}
}

struct expected_field {
	const char *name;
	const char *raw;
	const char *value;
};

static void
check_fields(const char *msg, size_t len, const struct expected_field *want,
             size_t count)
{
	char *m = exact_copy(msg, len);
	struct header_field f;
	size_t pos = 0, n = 0;

	while (header_next(m, len, &pos, &f)) {
		test_assert(pos <= len);
		if (n >= count) {
			n++;
			break;
		}
		test_assert(f.name_len == strlen(want[n].name) &&
		            memcmp(f.name, want[n].name, f.name_len) == 0);
		test_assert(f.raw_len == strlen(want[n].raw) &&
		            memcmp(f.raw, want[n].raw, f.raw_len) == 0);
		test_assert(f.value_len == strlen(want[n].value) &&
		            memcmp(f.value, want[n].value, f.value_len) == 0);
		n++;
	}
	test_assert(n == count);
	/* Stays at the end. */
	test_assert(!header_next(m, len, &pos, &f));
	free(m);
}

static void
test_header_next(void)
{
	static const struct expected_field crlf[] = {
	    {"From", "From: Alice <a@example.org>\r\n",
	     " Alice <a@example.org>"},
	    {"To", "To: bob@example.org,\r\n\tcarol@example.org\r\n",
	     " bob@example.org,\r\n\tcarol@example.org"},
	    {"Subject", "Subject:  Hello\r\n  folded   world \r\n",
	     "  Hello\r\n  folded   world "},
	    {"X-Empty", "X-Empty:\r\n", ""},
	    {"subject", "subject: second\r\n", " second"},
	};
	static const struct expected_field lf[] = {
	    {"From", "From: Alice <a@example.org>\n", " Alice <a@example.org>"},
	    {"To", "To: bob@example.org,\n\tcarol@example.org\n",
	     " bob@example.org,\n\tcarol@example.org"},
	    {"Subject", "Subject:  Hello\n  folded   world \n",
	     "  Hello\n  folded   world "},
	    {"X-Empty", "X-Empty:\n", ""},
	    {"subject", "subject: second\n", " second"},
	};
	static const char odd[] = " orphan continuation\r\n"
	                          "no colon here\r\n"
	                          "  with continuation: but no field\r\n"
	                          "From user Mon Jul  1 10:52:37 2003\r\n"
	                          ": empty name\r\n"
	                          "Obs-Name \t: v\r\n"
	                          "A:b\r\n"
	                          "Last: x\r\n"
	                          " y";
	static const struct expected_field odd_want[] = {
	    {"Obs-Name", "Obs-Name \t: v\r\n", " v"},
	    {"A", "A:b\r\n", "b"},
	    {"Last", "Last: x\r\n y", " x\r\n y"},
	};
	static const char nul[] = "A: x\0y\r\nB\0: z\r\nC: w\r\n";
	static const struct expected_field nul_want[] = {
	    {"A", "A: x\0y\r\n", " x\0y"},
	    {"C", "C: w\r\n", " w"},
	};

	check_fields(CRLF_MSG, sizeof(CRLF_MSG) - 1, crlf, N_ELEMENTS(crlf));
	check_fields(LF_MSG, sizeof(LF_MSG) - 1, lf, N_ELEMENTS(lf));
	check_fields(odd, sizeof(odd) - 1, odd_want, N_ELEMENTS(odd_want));
	check_fields("", 0, NULL, 0);
	check_fields("\r\nA: b\r\n", 8, NULL, 0);
	check_fields("no colon", 8, NULL, 0);

	/* memcmp in check_fields stops at NUL-free lengths; compare the
	   NUL-holding field by hand. */
	char *m = exact_copy(nul, sizeof(nul) - 1);
	struct header_field f;
	size_t pos = 0;
	test_assert(header_next(m, sizeof(nul) - 1, &pos, &f));
	test_assert(f.name_len == 1 && f.name[0] == 'A');
	test_assert(f.raw_len == 8 && memcmp(f.raw, nul_want[0].raw, 8) == 0);
	test_assert(f.value_len == 4 && memcmp(f.value, " x\0y", 4) == 0);
	test_assert(header_next(m, sizeof(nul) - 1, &pos, &f));
	test_assert(f.name_len == 1 && f.name[0] == 'C');
	test_assert(!header_next(m, sizeof(nul) - 1, &pos, &f));
	free(m);

	/* Every prefix of the message is iterated without overreading. */
	for (size_t len = 0; len <= sizeof(CRLF_MSG) - 1; len++) {
		char *p = exact_copy(CRLF_MSG, len);
		size_t n = 0;
		pos = 0;
		while (header_next(p, len, &pos, &f) && n < 100)
			n++;
		test_assert(n <= N_ELEMENTS(crlf));
		free(p);
	}
}

static void
test_header_get(void)
{
	struct arena *arena = arena_create(1024);
	const char *msgs[] = {CRLF_MSG, LF_MSG};
	char *v;

	for (size_t i = 0; i < N_ELEMENTS(msgs); i++) {
		size_t len = strlen(msgs[i]);
		size_t hlen = header_size(msgs[i], len);
		char *m = exact_copy(msgs[i], hlen);

		v = header_get(arena, m, hlen, "subject");
		test_assert(v != NULL &&
		            strcmp(v, "Hello  folded   world") == 0);
		v = header_get(arena, m, hlen, "TO");
		test_assert(v != NULL &&
		            strcmp(v, "bob@example.org,\tcarol@example.org") ==
		                0);
		v = header_get(arena, m, hlen, "x-empty");
		test_assert(v != NULL && strcmp(v, "") == 0);
		test_assert(header_get(arena, m, hlen, "Body") == NULL);
		test_assert(header_get(arena, m, hlen, "Subj") == NULL);
		test_assert(header_get(arena, m, hlen, "Subjects") == NULL);
		free(m);
		/* Without sizing, the body is still not searched. */
		test_assert(header_get(arena, msgs[i], len, "Body") == NULL);
	}
	/* No blank line, no final line end. */
	v = header_get(arena, "A: 1\nB:  2 ", 11, "b");
	test_assert(v != NULL && strcmp(v, "2") == 0);
	/* A bare CR inside a value is data, not a line end. */
	v = header_get(arena, "A: x\ry\r\n", 8, "a");
	test_assert(v != NULL && strcmp(v, "x\ry") == 0);
	test_assert(header_get(arena, "", 0, "a") == NULL);
	arena_destroy(&arena);
}

static void
filter(struct str *out, const char *msg, const char *const *names, size_t count,
       bool exclude)
{
	size_t len = strlen(msg);
	char *m = exact_copy(msg, len);

	str_reset(out);
	header_filter(out, m, header_size(m, len), names, count, exclude);
	free(m);
}

static void
test_header_filter(void)
{
	static const char *const names[] = {"SUBJECT", "to"};
	static const char *const none[] = {"X-Nothing"};
	struct str out;

	str_init(&out, 65536);
	filter(&out, CRLF_MSG, names, 2, false);
	test_assert(strcmp(out.data, "To: bob@example.org,\r\n"
	                             "\tcarol@example.org\r\n"
	                             "Subject:  Hello\r\n"
	                             "  folded   world \r\n"
	                             "subject: second\r\n"
	                             "\r\n") == 0);
	/* Bare LF becomes CRLF: same bytes out. */
	char *crlf_result = xstrdup(out.data);
	filter(&out, LF_MSG, names, 2, false);
	test_assert(strcmp(out.data, crlf_result) == 0);
	free(crlf_result);

	filter(&out, CRLF_MSG, names, 2, true);
	test_assert(strcmp(out.data, "From: Alice <a@example.org>\r\n"
	                             "X-Empty:\r\n"
	                             "\r\n") == 0);
	filter(&out, LF_MSG, names, 2, true);
	test_assert(strcmp(out.data, "From: Alice <a@example.org>\r\n"
	                             "X-Empty:\r\n"
	                             "\r\n") == 0);

	filter(&out, CRLF_MSG, none, 1, false);
	test_assert(strcmp(out.data, "\r\n") == 0);
	filter(&out, CRLF_MSG, NULL, 0, true);
	test_assert(out.len == strlen(CRLF_MSG) - 20);
	filter(&out, "", names, 2, true);
	test_assert(strcmp(out.data, "\r\n") == 0);

	/* No final line end; a header cut between CR and LF. */
	filter(&out, "To: x\nSubject: y", names, 2, false);
	test_assert(strcmp(out.data, "To: x\r\nSubject: y\r\n\r\n") == 0);
	filter(&out, "To: x\r", names, 2, false);
	test_assert(strcmp(out.data, "To: x\r\n\r\n") == 0);
	/* Lines without a colon are dropped from .NOT too. */
	filter(&out, "junk\nTo: x\n\n", names, 2, false);
	test_assert(strcmp(out.data, "To: x\r\n\r\n") == 0);
	filter(&out, "junk\nTo: x\nA: b\n\n", names, 2, true);
	test_assert(strcmp(out.data, "A: b\r\n\r\n") == 0);

	/* A NUL inside a field is passed through. */
	str_reset(&out);
	header_filter(&out, "To: a\0b\nX: y\n\n", 14, names, 2, false);
	test_assert(out.len == 11 &&
	            memcmp(out.data, "To: a\0b\r\n\r\n", 11) == 0);

	/* The output limit is sticky. */
	struct str small;
	str_init(&small, 8);
	filter(&small, CRLF_MSG, NULL, 0, true);
	test_assert(str_failed(&small));
	str_free(&small);
	str_free(&out);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"header_size", test_header_size},
	    {"header_next", test_header_next},
	    {"header_get", test_header_get},
	    {"header_filter", test_header_filter},
	};

	return test_run("header", cases, N_ELEMENTS(cases));
}
