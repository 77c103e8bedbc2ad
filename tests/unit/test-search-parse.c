/* Tests for src/imap/search-parse.c and the matcher of search/search-eval.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "search/search-eval.h"
#include "imap/search-parse.h"
#include "imap/imap-date.h"
#include "imap/parser.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "store/store.h"
#include "test.h"
#include "util.h"

static const struct imap_parser_limits parser_limits = {
    .max_line = 1024 * 1024,
    .max_literal = 65536,
    .max_literal_total = 65536,
    .max_nonsync_literal = 65536,
    .max_depth = 200,
    .max_args = 200000,
};

/* One parsed SEARCH: the IMAP parser owns the arguments, the arena the
 * search tree. */
struct parsed {
	struct imap_parser *parser;
	struct arena *arena;
	struct search_program prog;
	enum search_parse_status status;
	const char *error;
	bool line_ok; /* the IMAP parser accepted the line */
};

/* Feeds "t SEARCH <args>\r\n" to the IMAP parser, then search_parse().
 * args may hold sync literals "{n}\r\n..." (the whole line is fed). */
static void
parse_args(struct parsed *p, const char *args, size_t args_len)
{
	memset(p, 0, sizeof(*p));
	p->parser = imap_parser_create(&parser_limits);
	p->arena = arena_create(4096);
	struct str line;
	str_init(&line, 4 * 1024 * 1024);
	str_append_cstr(&line, args_len > 0 ? "t SEARCH " : "t SEARCH");
	str_append(&line, args, args_len);
	str_append_cstr(&line, "\r\n");
	const struct imap_command_line *cmd = NULL;
	size_t pos = 0, used;
	enum imap_parse_result r = IMAP_PARSE_CONTINUE;
	while (r == IMAP_PARSE_CONTINUE || r == IMAP_PARSE_MORE) {
		if (r == IMAP_PARSE_MORE && pos == line.len)
			break;
		r = imap_parser_parse(p->parser, line.data + pos,
		                      line.len - pos, &used, &cmd);
		pos += used;
	}
	str_free(&line);
	p->line_ok = r == IMAP_PARSE_COMMAND;
	if (!p->line_ok)
		return;
	p->status = search_parse(p->arena, cmd->args, cmd->arg_count, &p->prog,
	                         &p->error);
}

static void
parsed_free(struct parsed *p)
{
	imap_parser_destroy(&p->parser);
	arena_destroy(&p->arena);
}

static const char *
flag_name(uint32_t flag)
{
	switch (flag) {
	case STORE_FLAG_SEEN:
		return "seen";
	case STORE_FLAG_ANSWERED:
		return "answered";
	case STORE_FLAG_FLAGGED:
		return "flagged";
	case STORE_FLAG_DELETED:
		return "deleted";
	case STORE_FLAG_DRAFT:
		return "draft";
	}
	return "?";
}

static void dump_key(struct str *out, const struct search_key *key);

static void
dump_children(struct str *out, const char *name, const struct search_key *key)
{
	str_printf(out, "(%s", name);
	for (const struct search_key *c = key->children; c != NULL;
	     c = c->next) {
		str_append_char(out, ' ');
		dump_key(out, c);
	}
	str_append_char(out, ')');
}

static void
dump_day(struct str *out, const char *name, int64_t day)
{
	str_printf(out, "%s:%lld", name, (long long)day);
}

/* The tree as an S-expression, for comparing with expectations. */
static void
dump_key(struct str *out, const struct search_key *key)
{
	static const char *const day_names[] = {
	    [SEARCH_KEY_BEFORE] = "before",
	    [SEARCH_KEY_ON] = "on",
	    [SEARCH_KEY_SINCE] = "since",
	    [SEARCH_KEY_SENTBEFORE] = "sentbefore",
	    [SEARCH_KEY_SENTON] = "senton",
	    [SEARCH_KEY_SENTSINCE] = "sentsince",
	};
	switch (key->type) {
	case SEARCH_KEY_ALL:
		str_append_cstr(out, "all");
		break;
	case SEARCH_KEY_AND:
		dump_children(out, "and", key);
		break;
	case SEARCH_KEY_OR:
		dump_children(out, "or", key);
		break;
	case SEARCH_KEY_NOT:
		dump_children(out, "not", key);
		break;
	case SEARCH_KEY_FLAG:
		str_printf(out, "%c%s", key->flag_set ? '+' : '-',
		           flag_name(key->flag));
		break;
	case SEARCH_KEY_KEYWORD:
		str_printf(out, "%ckw:%s", key->flag_set ? '+' : '-', key->str);
		break;
	case SEARCH_KEY_RECENT:
		str_append_cstr(out, "recent");
		break;
	case SEARCH_KEY_NEW:
		str_append_cstr(out, "new");
		break;
	case SEARCH_KEY_OLD:
		str_append_cstr(out, "old");
		break;
	case SEARCH_KEY_SEQSET:
		str_printf(out, "seq:%.*s", (int)key->set_len, key->set);
		break;
	case SEARCH_KEY_UIDSET:
		str_printf(out, "uid:%.*s", (int)key->set_len, key->set);
		break;
	case SEARCH_KEY_MODSEQ:
		str_printf(out, "modseq:%llu", (unsigned long long)key->number);
		break;
	case SEARCH_KEY_LARGER:
		str_printf(out, "larger:%llu", (unsigned long long)key->number);
		break;
	case SEARCH_KEY_SMALLER:
		str_printf(out, "smaller:%llu",
		           (unsigned long long)key->number);
		break;
	case SEARCH_KEY_BEFORE:
	case SEARCH_KEY_ON:
	case SEARCH_KEY_SINCE:
	case SEARCH_KEY_SENTBEFORE:
	case SEARCH_KEY_SENTON:
	case SEARCH_KEY_SENTSINCE:
		dump_day(out, day_names[key->type], key->day);
		break;
	case SEARCH_KEY_HEADER:
		str_printf(out, "hdr:%.*s=%.*s", (int)key->field_len,
		           key->field, (int)key->len, key->str);
		break;
	case SEARCH_KEY_BODY:
		str_printf(out, "body:%.*s", (int)key->len, key->str);
		break;
	case SEARCH_KEY_TEXT:
		str_printf(out, "text:%.*s", (int)key->len, key->str);
		break;
	}
}

/* Parses args and checks the dumped tree (the root AND included). */
static bool
check_tree(const char *args, const char *want)
{
	struct parsed p;
	parse_args(&p, args, strlen(args));
	bool ok = p.line_ok && p.status == SEARCH_PARSE_OK;
	if (ok) {
		struct str out;
		str_init(&out, 65536);
		dump_key(&out, p.prog.root);
		ok = strcmp(out.data, want) == 0;
		if (!ok)
			fprintf(stderr, "  %s\n    got  %s\n    want %s\n",
			        args, out.data, want);
		str_free(&out);
	} else {
		fprintf(stderr, "  %s: rejected (%s)\n", args,
		        p.error != NULL ? p.error : "line");
	}
	parsed_free(&p);
	return ok;
}

static enum search_parse_status
status_of(const char *args)
{
	struct parsed p;
	parse_args(&p, args, strlen(args));
	test_assert(p.line_ok);
	enum search_parse_status s = p.status;
	if (s != SEARCH_PARSE_OK)
		test_assert(p.error != NULL);
	parsed_free(&p);
	return s;
}

static void
test_flag_keys(void)
{
	test_assert(check_tree("ALL", "(and all)"));
	test_assert(check_tree("ANSWERED DELETED DRAFT FLAGGED SEEN",
	                       "(and +answered +deleted +draft +flagged "
	                       "+seen)"));
	test_assert(check_tree("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN",
	                       "(and -answered -deleted -draft -flagged "
	                       "-seen)"));
	test_assert(check_tree("KEYWORD $Junk UNKEYWORD foo",
	                       "(and +kw:$Junk -kw:foo)"));
	test_assert(check_tree("NEW OLD RECENT", "(and new old recent)"));
	/* Key names are case-insensitive. */
	test_assert(check_tree("all Seen uNsEeN keyword x",
	                       "(and all +seen -seen +kw:x)"));
}

static void
test_string_keys(void)
{
	test_assert(check_tree("FROM alice TO bob CC carol BCC dave",
	                       "(and hdr:From=alice hdr:To=bob hdr:Cc=carol "
	                       "hdr:Bcc=dave)"));
	test_assert(check_tree("SUBJECT \"hello world\"",
	                       "(and hdr:Subject=hello world)"));
	test_assert(check_tree("HEADER X-Spam \"\"", "(and hdr:X-Spam=)"));
	test_assert(check_tree("HEADER \"List-Id\" {4}\r\nlist",
	                       "(and hdr:List-Id=list)"));
	test_assert(
	    check_tree("BODY foo TEXT {3+}\r\nbar", "(and body:foo text:bar)"));
	/* The atom NIL is a string here. */
	test_assert(check_tree("SUBJECT NIL", "(and hdr:Subject=NIL)"));
	test_assert(check_tree("KEYWORD \"x y\"", "(and +kw:x y)"));
}

static bool
check_day(const char *key, const char *date, const char *name, int y,
          unsigned m, unsigned d)
{
	char args[128], want[128];
	snprintf(args, sizeof(args), "%s %s", key, date);
	snprintf(want, sizeof(want), "(and %s:%lld)", name,
	         (long long)imap_date_days_from_civil(y, m, d));
	return check_tree(args, want);
}

static void
test_date_keys(void)
{
	test_assert(check_day("BEFORE", "1-Feb-1994", "before", 1994, 2, 1));
	test_assert(check_day("ON", "01-Feb-1994", "on", 1994, 2, 1));
	test_assert(
	    check_day("SINCE", "\"31-Dec-1969\"", "since", 1969, 12, 31));
	test_assert(
	    check_day("SENTBEFORE", "29-feb-2000", "sentbefore", 2000, 2, 29));
	test_assert(check_day("SENTON", "1-Jan-1970", "senton", 1970, 1, 1));
	test_assert(
	    check_day("SENTSINCE", "31-DEC-9999", "sentsince", 9999, 12, 31));
	test_assert(status_of("BEFORE 32-Jan-2020") == SEARCH_PARSE_BAD);
	test_assert(status_of("BEFORE 29-Feb-2001") == SEARCH_PARSE_BAD);
	test_assert(status_of("ON 1-Foo-2020") == SEARCH_PARSE_BAD);
	test_assert(status_of("SINCE 2020-01-01") == SEARCH_PARSE_BAD);
	test_assert(status_of("SENTON \"1-Jan-2020 10:00:00 +0000\"") ==
	            SEARCH_PARSE_BAD);
	test_assert(status_of("SENTSINCE") == SEARCH_PARSE_BAD);
	test_assert(status_of("BEFORE (1-Jan-2020)") == SEARCH_PARSE_BAD);
}

static void
test_number_and_set_keys(void)
{
	test_assert(
	    check_tree("LARGER 100 SMALLER 0", "(and larger:100 smaller:0)"));
	test_assert(check_tree("MODSEQ 5 MODSEQ \"/flags/\\\\seen\" all 7",
	                       "(and modseq:5 modseq:7)"));
	test_assert(check_tree("LARGER 9223372036854775807",
	                       "(and larger:9223372036854775807)"));
	test_assert(status_of("LARGER 9223372036854775808") ==
	            SEARCH_PARSE_BAD);
	test_assert(status_of("LARGER -1") == SEARCH_PARSE_BAD);
	test_assert(status_of("LARGER x") == SEARCH_PARSE_BAD);
	test_assert(status_of("SMALLER \"10\"") == SEARCH_PARSE_BAD);
	test_assert(status_of("SMALLER") == SEARCH_PARSE_BAD);

	test_assert(check_tree("1:3,5 * $ UID 7:* UID $",
	                       "(and seq:1:3,5 seq:* seq:$ uid:7:* uid:$)"));
	test_assert(status_of("0") == SEARCH_PARSE_BAD);
	test_assert(status_of("1:") == SEARCH_PARSE_BAD);
	test_assert(status_of("1,,2") == SEARCH_PARSE_BAD);
	test_assert(status_of("$,1") == SEARCH_PARSE_BAD);
	test_assert(status_of("4294967296") == SEARCH_PARSE_BAD);
	test_assert(status_of("UID") == SEARCH_PARSE_BAD);
	test_assert(status_of("UID abc") == SEARCH_PARSE_BAD);
	test_assert(status_of("UID \"1\"") == SEARCH_PARSE_BAD);
}

static void
test_nesting(void)
{
	test_assert(check_tree("NOT SEEN", "(and (not +seen))"));
	test_assert(check_tree("OR SEEN FLAGGED", "(and (or +seen +flagged))"));
	test_assert(check_tree("OR (SEEN FLAGGED) NOT (FROM x TO y) DRAFT",
	                       "(and (or (and +seen +flagged) (not (and "
	                       "hdr:From=x hdr:To=y))) +draft)"));
	test_assert(check_tree("OR OR SEEN DRAFT NOT NOT 1",
	                       "(and (or (or +seen +draft) (not (not "
	                       "seq:1))))"));
	test_assert(check_tree("((ALL))", "(and (and (and all)))"));
	test_assert(status_of("()") == SEARCH_PARSE_BAD);
	test_assert(status_of("NOT") == SEARCH_PARSE_BAD);
	test_assert(status_of("OR SEEN") == SEARCH_PARSE_BAD);
	test_assert(status_of("(SEEN NOT)") == SEARCH_PARSE_BAD);
	/* A key's arguments do not leak out of its parentheses. */
	test_assert(status_of("(FROM) x") == SEARCH_PARSE_BAD);
}

/* Cheap keys are told apart from ones that read the message. */
static void
test_costs(void)
{
	struct parsed p;
	parse_args(&p, "SEEN UID 1:* NOT 3", strlen("SEEN UID 1:* NOT 3"));
	test_assert(p.status == SEARCH_PARSE_OK &&
	            p.prog.root->cost == SEARCH_COST_VIEW);
	parsed_free(&p);
	parse_args(&p, "SEEN OR LARGER 5 SINCE 1-Jan-2000",
	           strlen("SEEN OR LARGER 5 SINCE 1-Jan-2000"));
	test_assert(p.status == SEARCH_PARSE_OK &&
	            p.prog.root->cost == SEARCH_COST_META);
	parsed_free(&p);
	parse_args(&p, "NOT (SEEN SENTON 1-Jan-2000)",
	           strlen("NOT (SEEN SENTON 1-Jan-2000)"));
	test_assert(p.status == SEARCH_PARSE_OK &&
	            p.prog.root->cost == SEARCH_COST_HEADER);
	parsed_free(&p);
	parse_args(&p, "OR SUBJECT x TEXT y", strlen("OR SUBJECT x TEXT y"));
	test_assert(p.status == SEARCH_PARSE_OK &&
	            p.prog.root->cost == SEARCH_COST_BODY &&
	            p.prog.root->children->children->cost ==
	                SEARCH_COST_HEADER);
	parsed_free(&p);
}

static void
test_errors(void)
{
	test_assert(status_of("") == SEARCH_PARSE_BAD);
	test_assert(status_of("FOO") == SEARCH_PARSE_BAD);
	test_assert(status_of("SEEN FOO") == SEARCH_PARSE_BAD);
	test_assert(status_of("\"ALL\"") == SEARCH_PARSE_BAD);
	test_assert(status_of("NIL") == SEARCH_PARSE_BAD);
	test_assert(status_of("FROM") == SEARCH_PARSE_BAD);
	test_assert(status_of("FROM (x)") == SEARCH_PARSE_BAD);
	test_assert(status_of("HEADER From") == SEARCH_PARSE_BAD);
	test_assert(status_of("HEADER") == SEARCH_PARSE_BAD);
	test_assert(status_of("KEYWORD") == SEARCH_PARSE_BAD);
	test_assert(status_of("UNSEEN 1 BODY") == SEARCH_PARSE_BAD);
	/* A NUL inside a literal is not a valid astring. */
	struct parsed p;
	static const char nul[] = "BODY {3}\r\na\0b";
	parse_args(&p, nul, sizeof(nul) - 1);
	test_assert(p.line_ok && p.status == SEARCH_PARSE_BAD);
	parsed_free(&p);
}

static void
test_charset(void)
{
	test_assert(check_tree("CHARSET UTF-8 ALL", "(and all)"));
	test_assert(check_tree("CHARSET us-ascii SEEN", "(and +seen)"));
	test_assert(check_tree("charset \"utf-8\" SEEN", "(and +seen)"));
	test_assert(status_of("CHARSET KOI8-R ALL") == SEARCH_PARSE_BADCHARSET);
	test_assert(status_of("CHARSET ISO-8859-1 FOO") ==
	            SEARCH_PARSE_BADCHARSET);
	test_assert(status_of("CHARSET") == SEARCH_PARSE_BAD);
	test_assert(status_of("CHARSET UTF-8") == SEARCH_PARSE_BAD);
	test_assert(status_of("CHARSET (UTF-8) ALL") == SEARCH_PARSE_BAD);
	/* CHARSET comes after RETURN, never twice. */
	test_assert(status_of("CHARSET UTF-8 RETURN (MIN) ALL") ==
	            SEARCH_PARSE_BAD);
	test_assert(status_of("CHARSET UTF-8 CHARSET UTF-8 ALL") ==
	            SEARCH_PARSE_BAD);
}

static unsigned
return_opts_of(const char *args, enum search_parse_status want)
{
	struct parsed p;
	parse_args(&p, args, strlen(args));
	test_assert(p.line_ok && p.status == want);
	unsigned opts = p.prog.return_opts;
	if (want == SEARCH_PARSE_OK)
		test_assert(p.prog.has_return);
	parsed_free(&p);
	return opts;
}

static void
test_return(void)
{
	test_assert(return_opts_of("RETURN () ALL", SEARCH_PARSE_OK) ==
	            SEARCH_RETURN_ALL);
	test_assert(return_opts_of("RETURN (MIN MAX) SEEN", SEARCH_PARSE_OK) ==
	            (SEARCH_RETURN_MIN | SEARCH_RETURN_MAX));
	test_assert(
	    return_opts_of("return (count all save) SEEN", SEARCH_PARSE_OK) ==
	    (SEARCH_RETURN_COUNT | SEARCH_RETURN_ALL | SEARCH_RETURN_SAVE));
	test_assert(return_opts_of("RETURN (SAVE) CHARSET UTF-8 1:*",
	                           SEARCH_PARSE_OK) == SEARCH_RETURN_SAVE);
	/* SAVE is still reported when the command fails later. */
	test_assert(return_opts_of("RETURN (SAVE) FOO", SEARCH_PARSE_BAD) ==
	            SEARCH_RETURN_SAVE);
	test_assert(
	    (return_opts_of("RETURN (SAVE BOGUS) ALL", SEARCH_PARSE_BAD) &
	     SEARCH_RETURN_SAVE) != 0);
	return_opts_of("RETURN (MIN)", SEARCH_PARSE_BAD);
	return_opts_of("RETURN MIN ALL", SEARCH_PARSE_BAD);
	return_opts_of("RETURN", SEARCH_PARSE_BAD);
	return_opts_of("RETURN ((MIN)) ALL", SEARCH_PARSE_BAD);
	return_opts_of("RETURN (\"MIN\") ALL", SEARCH_PARSE_BAD);

	struct parsed p;
	parse_args(&p, "ALL", 3);
	test_assert(p.status == SEARCH_PARSE_OK && !p.prog.has_return &&
	            p.prog.return_opts == 0);
	parsed_free(&p);
}

static char *
repeat(const char *unit, size_t n, const char *tail)
{
	size_t ulen = strlen(unit), tlen = strlen(tail);
	char *s = xmalloc(ulen * n + tlen + 1);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * ulen, unit, ulen);
	memcpy(s + ulen * n, tail, tlen + 1);
	return s;
}

static void
test_search_limits(void)
{
	/* The top-level key is at depth 0, so 63 NOTs still fit. */
	char *s = repeat("NOT ", SEARCH_MAX_DEPTH - 1, "ALL");
	test_assert(status_of(s) == SEARCH_PARSE_OK);
	free(s);
	s = repeat("NOT ", SEARCH_MAX_DEPTH, "ALL");
	test_assert(status_of(s) == SEARCH_PARSE_BAD);
	free(s);
	s = repeat("OR ALL ", 200, "ALL");
	test_assert(status_of(s) == SEARCH_PARSE_BAD);
	free(s);
	s = repeat("(", 100, "ALL");
	char *line = xmalloc(strlen(s) + 101);
	strcpy(line, s);
	memset(line + strlen(s), ')', 100);
	line[strlen(s) + 100] = '\0';
	test_assert(status_of(line) == SEARCH_PARSE_BAD);
	free(line);
	free(s);

	/* The root AND is one node of SEARCH_MAX_NODES. */
	s = repeat("ALL ", SEARCH_MAX_NODES - 2, "ALL");
	test_assert(status_of(s) == SEARCH_PARSE_OK);
	free(s);
	s = repeat("ALL ", SEARCH_MAX_NODES - 1, "ALL");
	struct parsed p;
	parse_args(&p, s, strlen(s));
	test_assert(p.status == SEARCH_PARSE_BAD && p.error != NULL &&
	            strncmp(p.error, "[LIMIT]", 7) == 0);
	parsed_free(&p);
	free(s);
}

static bool
find(const char *needle, const char *hay, bool unfold)
{
	struct arena *arena = arena_create(1024);
	unsigned char *folded;
	size_t *kmp;
	search_needle_prepare(arena, needle, strlen(needle), &folded, &kmp);
	bool r =
	    search_find(folded, kmp, strlen(needle), hay, strlen(hay), unfold);
	arena_destroy(&arena);
	return r;
}

static void
test_find(void)
{
	test_assert(find("", "", false));
	test_assert(find("", "abc", false));
	test_assert(find("abc", "abc", false));
	test_assert(find("ABC", "xxabcxx", false));
	test_assert(find("abc", "xxAbCxx", false));
	test_assert(!find("abcd", "abc", false));
	test_assert(!find("abd", "abcabc", false));
	/* Overlapping prefixes exercise the failure table. */
	test_assert(find("aab", "aaab", false));
	test_assert(find("abab", "abaabab", false));
	test_assert(find("aabaabaaa", "aabaabaabaabaaa", false));
	test_assert(!find("aabaabaaa", "aabaabaabaabaab", false));
	/* Non-ASCII bytes compare exactly. */
	test_assert(find("\xc3\xa9t\xc3\xa9", "L'\xc3\xa9T\xc3\xa9", false));
	test_assert(!find("\xc3\xa9", "\xc3\x89", false));
	/* Unfolding skips line ends before white space only. */
	test_assert(find("hello world", "hello\r\n world", true));
	test_assert(find("hello\tworld", "hello\n\tworld", true));
	test_assert(!find("hello world", "hello\r\n world", false));
	test_assert(!find("helloworld", "hello\r\nworld", true));
	test_assert(find("hello\r\nworld", "hello\r\nworld", true));
	test_assert(find("a\r", "a\r", true));
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"flag keys", test_flag_keys},
	    {"string keys", test_string_keys},
	    {"date keys", test_date_keys},
	    {"number and set keys", test_number_and_set_keys},
	    {"nesting", test_nesting},
	    {"costs", test_costs},
	    {"errors", test_errors},
	    {"charset", test_charset},
	    {"return options", test_return},
	    {"limits", test_search_limits},
	    {"substring matching", test_find},
	};
	return test_run("search-parse", cases, N_ELEMENTS(cases));
}
