#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "imap/seqset.h"
#include "str.h"
#include "test.h"
#include "util.h"

#define MAX_RANGES 100

/* Writes a set as "lo:hi,lo:hi" with '*' for unresolved STAR ends. */
static void
format_set(const struct seqset *set, char *buf, size_t size)
{
	struct str s;
	str_init(&s, 4096);
	if (set->is_saved)
		str_append_cstr(&s, "$");
	for (size_t i = 0; i < set->count; i++) {
		const struct seq_range *r = &set->ranges[i];
		if (i > 0)
			str_append_char(&s, ',');
		bool lo_star = r->lo == SEQSET_STAR &&
		               (r->numbers & SEQ_RANGE_LO_NUMBER) == 0;
		bool hi_star = r->hi == SEQSET_STAR &&
		               (r->numbers & SEQ_RANGE_HI_NUMBER) == 0;
		if (lo_star)
			str_append_char(&s, '*');
		else
			str_printf(&s, "%u", r->lo);
		if (hi_star)
			str_append_cstr(&s, ":*");
		else
			str_printf(&s, ":%u", r->hi);
	}
	casella_strlcpy(buf, s.data != NULL ? s.data : "", size);
	str_free(&s);
}

/* Parses text; expected NULL means it must be rejected. */
static void
check_parse(const char *text, const char *expected)
{
	struct arena *arena = arena_create(1024);
	struct seqset set;
	bool ok = seqset_parse(arena, text, strlen(text), MAX_RANGES, &set);
	if (expected == NULL) {
		if (ok)
			fprintf(stderr, "  accepted bad set '%s'\n", text);
		test_assert(!ok);
	} else if (!ok) {
		fprintf(stderr, "  rejected '%s'\n", text);
		test_assert(ok);
	} else {
		char buf[512];
		format_set(&set, buf, sizeof(buf));
		if (strcmp(buf, expected) != 0)
			fprintf(stderr, "  '%s': got '%s', want '%s'\n", text,
			        buf, expected);
		test_assert(strcmp(buf, expected) == 0);
	}
	arena_destroy(&arena);
}

static void
check_resolve(const char *text, uint32_t star, const char *expected)
{
	struct arena *arena = arena_create(1024);
	struct seqset set;
	char buf[512];
	test_assert(seqset_parse(arena, text, strlen(text), MAX_RANGES, &set));
	seqset_resolve(&set, star);
	format_set(&set, buf, sizeof(buf));
	if (strcmp(buf, expected) != 0)
		fprintf(stderr, "  '%s' star=%u: got '%s', want '%s'\n", text,
		        star, buf, expected);
	test_assert(strcmp(buf, expected) == 0);
	/* Resolved ranges are ascending and disjoint, not adjacent. */
	for (size_t i = 0; i < set.count; i++) {
		test_assert(set.ranges[i].lo >= 1);
		test_assert(set.ranges[i].lo <= set.ranges[i].hi);
		if (i > 0)
			test_assert(set.ranges[i].lo >
			            set.ranges[i - 1].hi + 1ULL);
	}
	/* Resolving twice changes nothing. */
	seqset_resolve(&set, star == 0 ? 7 : star - 1);
	char again[512];
	format_set(&set, again, sizeof(again));
	test_assert(strcmp(buf, again) == 0);
	arena_destroy(&arena);
}

static void
test_parse_valid(void)
{
	check_parse("1", "1:1");
	check_parse("1:5", "1:5");
	check_parse("2,4:7,9", "2:2,4:7,9:9");
	check_parse("*", "*:*");
	check_parse("5:*", "5:*");
	check_parse("*:5", "5:*");
	check_parse("7:3", "3:7");
	check_parse("4294967295", "4294967295:4294967295");
	check_parse("1:4294967295", "1:4294967295");
	check_parse("4294967295:*", "4294967295:*");
	check_parse("*:4294967295", "4294967295:*");
	check_parse("3,3,1:2", "3:3,3:3,1:2");
	check_parse("$", "$");
}

static void
test_parse_invalid(void)
{
	static const char *const bad[] = {
	    "",
	    "0",
	    "0:5",
	    "5:0",
	    "01",
	    "1,",
	    ",1",
	    "1,,2",
	    "1 ,2",
	    " 1",
	    "1 ",
	    "1:",
	    ":1",
	    "1::2",
	    "1:2:3",
	    "**",
	    "*5",
	    "5*",
	    "$,1",
	    "1,$",
	    "$$",
	    "$:1",
	    "a",
	    "1a",
	    "-1",
	    "+1",
	    "4294967296",
	    "99999999999999999999",
	    "1:4294967296",
	    "1.5",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		check_parse(bad[i], NULL);
}

static void
test_parse_max_ranges(void)
{
	struct arena *arena = arena_create(1024);
	struct seqset set;
	test_assert(seqset_parse(arena, "1,2,3", 5, 3, &set) && set.count == 3);
	test_assert(!seqset_parse(arena, "1,2,3,4", 7, 3, &set));
	test_assert(!seqset_parse(arena, "1", 1, 0, &set));
	/* Text is not NUL-terminated: only len bytes count. */
	test_assert(seqset_parse(arena, "12,x", 2, 3, &set) && set.count == 1 &&
	            set.ranges[0].lo == 12);
	arena_destroy(&arena);
}

static void
test_resolve(void)
{
	check_resolve("1:*", 10, "1:10");
	check_resolve("*", 10, "10:10");
	check_resolve("*:3", 10, "3:10");
	check_resolve("20:*", 10, "10:20");
	check_resolve("9,1:3,5,4,2", 10, "1:5,9:9");
	check_resolve("5:7,1:2,3:4", 10, "1:7");
	check_resolve("1:3,5:7", 10, "1:3,5:7");
	check_resolve("2:8,3:4", 10, "2:8");
	check_resolve("3,3,3", 10, "3:3");
	check_resolve("4294967295,1", 10, "1:1,4294967295:4294967295");
	check_resolve("4294967294,4294967295", 10, "4294967294:4294967295");
	check_resolve("1:4294967295,5", 10, "1:4294967295");
	check_resolve("*", 4294967295u, "4294967295:4294967295");
	check_resolve("1:*,4294967295", 4294967295u, "1:4294967295");
}

/* An explicit 4294967295 is a number, not '*'. */
static void
test_resolve_max_number(void)
{
	/* RFC 9051: 100:4294967295 is everything from 100 up; on a
	 * mailbox whose largest UID is 50 it matches nothing. */
	check_resolve("100:4294967295", 50, "100:4294967295");
	check_resolve("100:*", 50, "50:100");
	check_resolve("4294967295", 50, "4294967295:4294967295");
}

static void
test_resolve_empty(void)
{
	/* star_value 0: "*" is gone, "1:*" keeps only 1 (no message). */
	check_resolve("*", 0, "");
	check_resolve("*:*,*", 0, "");
	check_resolve("1:*", 0, "1:1");
	check_resolve("3:*", 0, "1:3");
	check_resolve("*,5", 0, "5:5");

	struct arena *arena = arena_create(1024);
	struct seqset set;
	test_assert(seqset_parse(arena, "$", 1, 10, &set));
	seqset_resolve(&set, 5);
	test_assert(set.is_saved && set.count == 0);
	test_assert(!seqset_contains(&set, 1));
	arena_destroy(&arena);
}

static void
test_contains(void)
{
	struct arena *arena = arena_create(1024);
	struct seqset set;
	const char *text = "2,4:7,9,20:30,100:*";
	test_assert(seqset_parse(arena, text, strlen(text), MAX_RANGES, &set));
	seqset_resolve(&set, 150);
	static const uint32_t yes[] = {2, 4, 5, 7, 9, 20, 25, 30, 100, 150};
	static const uint32_t no[] = {0,  1,  3,  8,   10,
	                              19, 31, 99, 151, UINT32_MAX};
	for (size_t i = 0; i < N_ELEMENTS(yes); i++)
		test_assert(seqset_contains(&set, yes[i]));
	for (size_t i = 0; i < N_ELEMENTS(no); i++)
		test_assert(!seqset_contains(&set, no[i]));

	/* Compare against a linear scan on many ranges. */
	struct str s;
	str_init(&s, 8192);
	for (uint32_t v = 1; v < 600; v += (v % 7) + 2)
		str_printf(&s, "%s%u:%u", s.len > 0 ? "," : "", v, v + (v % 3));
	test_assert(!str_failed(&s));
	test_assert(seqset_parse(arena, s.data, s.len, 1000, &set));
	struct seqset raw = set;
	struct seq_range copy[1000];
	memcpy(copy, set.ranges, set.count * sizeof(*copy));
	raw.ranges = copy;
	seqset_resolve(&set, 600);
	for (uint32_t v = 0; v < 700; v++) {
		bool linear = false;
		for (size_t i = 0; i < raw.count; i++) {
			if (v >= copy[i].lo && v <= copy[i].hi)
				linear = true;
		}
		test_assert(seqset_contains(&set, v) == linear);
	}
	str_free(&s);

	struct seqset empty = {0};
	test_assert(!seqset_contains(&empty, 1));
	arena_destroy(&arena);
}

static const struct test_case cases[] = {
    {"parse valid", test_parse_valid},
    {"parse invalid", test_parse_invalid},
    {"parse max ranges", test_parse_max_ranges},
    {"resolve", test_resolve},
    {"resolve max number", test_resolve_max_number},
    {"resolve empty mailbox", test_resolve_empty},
    {"contains", test_contains},
};

int
main(void)
{
	return test_run("seqset", cases, N_ELEMENTS(cases));
}
