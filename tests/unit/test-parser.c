/*
 * Parser tests.  Each input is fed whole, one byte at a time and in a few
 * other chunk sizes; every way must give the same transcript of results.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/parser.h"
#include "str.h"
#include "test.h"
#include "util.h"

#define TRANSCRIPT_MAX (1024 * 1024)

static const struct imap_parser_limits default_limits = {
    .max_line = 8192,
    .max_literal = 1024 * 1024,
    .max_literal_total = 2 * 1024 * 1024,
    .max_nonsync_literal = 4096,
    .max_depth = 8,
    .max_args = 256,
};

static const char *const error_names[] = {
    [IMAP_PARSER_ERROR_NONE] = "NONE",
    [IMAP_PARSER_ERROR_SYNTAX] = "SYNTAX",
    [IMAP_PARSER_ERROR_LINE_TOO_LONG] = "LINE_TOO_LONG",
    [IMAP_PARSER_ERROR_LITERAL_TOO_BIG] = "LITERAL_TOO_BIG",
    [IMAP_PARSER_ERROR_TOO_DEEP] = "TOO_DEEP",
    [IMAP_PARSER_ERROR_TOO_MANY_ARGS] = "TOO_MANY_ARGS",
};

static void
append_escaped(struct str *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			str_printf(out, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			str_printf(out, "\\x%02x", c);
		else
			str_append_char(out, (char)c);
	}
}

/* Writes args in a canonical form and checks their invariants. */
static void
append_args(struct str *out, const struct imap_arg *args, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		if (i > 0)
			str_append_char(out, ' ');
		if (a->type != IMAP_ARG_LIST) {
			test_assert(a->str != NULL && a->str[a->len] == '\0');
			test_assert(a->list == NULL && a->list_count == 0);
		}
		test_assert(!a->literal8 || a->type == IMAP_ARG_LITERAL);
		switch (a->type) {
		case IMAP_ARG_ATOM:
			test_assert(!mem_case_eq(a->str, a->len, "NIL"));
			str_append(out, a->str, a->len);
			break;
		case IMAP_ARG_NIL:
			test_assert(mem_case_eq(a->str, a->len, "NIL"));
			str_append_cstr(out, "NIL");
			break;
		case IMAP_ARG_QUOTED:
			str_append_char(out, '"');
			append_escaped(out, a->str, a->len);
			str_append_char(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			str_printf(out, "%s{%zu}", a->literal8 ? "~" : "",
			           a->len);
			append_escaped(out, a->str, a->len);
			break;
		case IMAP_ARG_LIST:
			test_assert(a->str == NULL);
			test_assert((a->list == NULL) == (a->list_count == 0));
			str_append_char(out, '(');
			append_args(out, a->list, a->list_count);
			str_append_char(out, ')');
			break;
		}
	}
}

static void
append_event(struct str *out, struct imap_parser *p, enum imap_parse_result r,
             const struct imap_command_line *cmd)
{
	if (out->len > 0)
		str_append_char(out, '\n');
	if (r == IMAP_PARSE_CONTINUE) {
		str_append_char(out, '+');
	} else if (r == IMAP_PARSE_COMMAND) {
		str_printf(out, "CMD %s %s", cmd->tag, cmd->name);
		if (cmd->arg_count > 0)
			str_append_char(out, ' ');
		append_args(out, cmd->args, cmd->arg_count);
	} else {
		const char *tag = imap_parser_error_tag(p);
		str_printf(out, "ERR %s %s%s",
		           error_names[imap_parser_error(p)],
		           tag != NULL ? tag : "-",
		           imap_parser_error_fatal(p) ? " FATAL" : "");
		test_assert(strcmp(imap_parser_error_text(p), "No error") != 0);
	}
}

/*
 * Runs input through a fresh parser, chunk bytes arriving at a time (0:
 * all at once), and returns the transcript of results, one per line; a
 * parser left in the middle of a command adds "BUSY".  Stops at a fatal
 * error.
 */
static char *
run_parser(const struct imap_parser_limits *limits, const char *in, size_t len,
           size_t chunk)
{
	struct imap_parser *p = imap_parser_create(limits);
	struct str out;
	size_t arrived = 0, pos = 0;
	bool stop = false;

	str_init(&out, TRANSCRIPT_MAX);
	while (!stop && pos < len) {
		arrived =
		    chunk == 0 || len - arrived < chunk ? len : arrived + chunk;
		while (!stop) {
			const struct imap_command_line *cmd;
			size_t consumed;
			enum imap_parse_result r = imap_parser_parse(
			    p, in + pos, arrived - pos, &consumed, &cmd);
			test_assert(consumed <= arrived - pos);
			pos += consumed;
			if (r == IMAP_PARSE_MORE) {
				test_assert(pos == arrived);
				break;
			}
			test_assert(consumed > 0);
			test_assert((r == IMAP_PARSE_COMMAND) == (cmd != NULL));
			append_event(&out, p, r, cmd);
			if (r == IMAP_PARSE_ERROR && imap_parser_error_fatal(p))
				stop = true;
			if (consumed == 0 || pos == arrived)
				break;
		}
	}
	if (!stop && imap_parser_busy(p))
		str_append_cstr(&out, out.len > 0 ? "\nBUSY" : "BUSY");
	test_assert(!str_failed(&out));
	imap_parser_destroy(&p);
	test_assert(p == NULL);
	char *ret = xstrdup(out.data != NULL ? out.data : "");
	str_free(&out);
	return ret;
}

static void
check_limits(const struct imap_parser_limits *limits, const char *in,
             size_t len, const char *expected)
{
	static const size_t chunks[] = {0, 1, 2, 3, 7, 64};
	for (size_t i = 0; i < N_ELEMENTS(chunks); i++) {
		char *got = run_parser(limits, in, len, chunks[i]);
		if (strcmp(got, expected) != 0) {
			fprintf(stderr,
			        "  chunk %zu: input:\n%.*s\n  expected:\n%s\n"
			        "  got:\n%s\n",
			        chunks[i], (int)len, in, expected, got);
			test_assert(strcmp(got, expected) == 0);
		}
		free(got);
	}
}

/* For inputs with NUL bytes: the length comes from the array. */
#define check_l(limits, in, expected)                                          \
	check_limits((limits), (in), sizeof(in) - 1, (expected))

static void
check(const char *in, const char *expected)
{
	check_limits(&default_limits, in, strlen(in), expected);
}

static void
test_simple(void)
{
	check("a NOOP\r\n", "CMD a NOOP");
	check("A001 noop\r\n", "CMD A001 noop");
	/* A bare LF ends a line too. */
	check("a NOOP\n", "CMD a NOOP");
	/* RFC 9051 9: ']' may appear in a tag. */
	check("a]1 NOOP\r\n", "CMD a]1 NOOP");
	check("a SELECT INBOX\r\n", "CMD a SELECT INBOX");
	check("a NOOP", "BUSY");
	check("a NOOP\r", "BUSY");
}

static void
test_atoms(void)
{
	check("a STORE 1:*,5 +FLAGS (\\Seen \\Deleted $ * % \\*)\r\n",
	      "CMD a STORE 1:*,5 +FLAGS (\\Seen \\Deleted $ * % \\*)");
	check("a ENABLE UTF8=ACCEPT\r\n", "CMD a ENABLE UTF8=ACCEPT");
	check("a LIST \"\" %\r\n", "CMD a LIST \"\" %");
	/* 8-bit bytes and '"'/'{' inside an atom are tolerated. */
	check("a SELECT Gr\xc3\xbc\xc3\x9f{e\"\r\n",
	      "CMD a SELECT Gr\xc3\xbc\xc3\x9f{e\"");
	/* A '~' not followed by '{' starts an atom. */
	check("a X ~foo ~ (~)\r\n", "CMD a X ~foo ~ (~)");
	check("a X ]]\r\n", "CMD a X ]]");
}

static void
test_nil(void)
{
	check("a X NIL nil (Nil NIL) NILS NI\r\n",
	      "CMD a X NIL NIL (NIL NIL) NILS NI");
	check("a X \"NIL\" {3+}\r\nNIL\r\n", "CMD a X \"NIL\" {3}NIL");
}

static void
test_quoted(void)
{
	check("a LOGIN \"bob\" \"p\\\"a\\\\ss\"\r\n",
	      "CMD a LOGIN \"bob\" \"p\\\"a\\\\ss\"");
	check("a X \"\" (\"\")\r\n", "CMD a X \"\" (\"\")");
	check("a X \"a b (c) {3} [\"\r\n", "CMD a X \"a b (c) {3} [\"");
	/* RFC 9051: UTF-8 is allowed in quoted strings. */
	check("a X \"\xe2\x82\xac\"\r\n", "CMD a X \"\\xe2\\x82\\xac\"");
	check("a X \"tab\there\"\r\n", "CMD a X \"tab\\x09here\"");
}

static void
test_quoted_errors(void)
{
	check("a X \"a\\qb\"\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X \"abc\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X \"abc\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X \"ab\\\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check_l(&default_limits, "a X \"a\0b\"\r\nb NOOP\r\n",
	        "ERR SYNTAX a\nCMD b NOOP");
	check("a X \"a\"b\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
}

static void
test_literals(void)
{
	check("a LOGIN {3}\r\nbob {4}\r\npass\r\n",
	      "+\n+\nCMD a LOGIN {3}bob {4}pass");
	check("a APPEND INBOX (\\Seen) {5}\r\nhello\r\n",
	      "+\nCMD a APPEND INBOX (\\Seen) {5}hello");
	/* RFC 7888 non-synchronizing: no continuation. */
	check("a LOGIN {3+}\r\nbob {4+}\r\npass\r\n",
	      "CMD a LOGIN {3}bob {4}pass");
	/* RFC 3516 literal8. */
	check("a APPEND INBOX ~{5}\r\nhe\r\no\r\n", "+\nCMD a APPEND INBOX "
	                                            "~{5}he\\x0d\\x0ao");
	check("a APPEND INBOX UTF8 (~{5+}\r\nhello)\r\n",
	      "CMD a APPEND INBOX UTF8 (~{5}hello)");
	/* Bare LF after the header; zero-length literals. */
	check("a X {2}\nab {0}\r\n\r\n", "+\n+\nCMD a X {2}ab {0}");
	check("a X {0+}\r\n {00}\r\n\r\n", "+\nCMD a X {0} {0}");
	/* Literal data looks like anything. */
	check("a X {8}\r\n) \"{1}\r\n\r\n",
	      "+\nCMD a X {8}) \\\"{1}\\x0d\\x0a");
	/* A literal as the tag or name is not allowed. */
	check("{3}\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
}

static void
test_literal_nul(void)
{
	static const char in[] = "a X {5}\r\nab\0cd ~{1+}\r\n\0\r\n";
	check_limits(&default_limits, in, sizeof(in) - 1,
	             "+\nCMD a X {5}ab\\x00cd ~{1}\\x00");

	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed;
	test_assert(imap_parser_parse(p, in, sizeof(in) - 1, &consumed, &cmd) ==
	            IMAP_PARSE_CONTINUE);
	test_assert(imap_parser_parse(p, in + consumed,
	                              sizeof(in) - 1 - consumed, &consumed,
	                              &cmd) == IMAP_PARSE_COMMAND);
	test_assert(cmd->arg_count == 2);
	test_assert(cmd->args[0].len == 5 &&
	            memcmp(cmd->args[0].str, "ab\0cd", 6) == 0);
	test_assert(cmd->args[1].literal8 && cmd->args[1].len == 1);
	/* An astring with NUL would be cut short: refuse it. */
	const char *s;
	size_t len;
	test_assert(!imap_arg_get_astring(&cmd->args[0], &s, &len));
	test_assert(!imap_arg_get_nstring(&cmd->args[0], &s, &len));
	imap_parser_destroy(&p);
}

static void
test_literal_errors(void)
{
	check("a X {}\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {+}\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {3x}\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {3-}\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {3+ }\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {3} \r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {3}\rx\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X {123456789012345678901}\r\nb NOOP\r\n",
	      "ERR SYNTAX a\nCMD b NOOP");
	/* No space between a literal and what follows. */
	check("a X {1+}\r\nab\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X ~x{1}\r\nb NOOP\r\n", "CMD a X ~x{1}\nCMD b NOOP");
}

static void
test_brackets(void)
{
	check("a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> BODY[] "
	      "BINARY[1.2] FLAGS)\r\n",
	      "CMD a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To)]<0.100> "
	      "BODY[] BINARY[1.2] FLAGS)");
	check("a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X]\" Y\\)]\r\n",
	      "CMD a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X]\" Y\\)]");
	check("a FETCH 1 BODY[1[2]3] x[\r\nb NOOP\r\n",
	      "ERR SYNTAX a\nCMD b NOOP");
	check("a FETCH 1 BODY[1[2]3]\r\n", "CMD a FETCH 1 BODY[1[2]3]");
	check("a FETCH 1 BODY[\"a\\\"]\"]\r\n",
	      "CMD a FETCH 1 BODY[\"a\\\"]\"]");
	check("a FETCH 1 BODY[\"a\\x\"]\r\nb NOOP\r\n",
	      "ERR SYNTAX a\nCMD b NOOP");
	check("a FETCH 1 [a b]\r\n", "CMD a FETCH 1 [a b]");
	check("a FETCH 1 (BODY[TEXT\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
}

static void
test_lists(void)
{
	check("a X () (()) (a (b (c)) d) e\r\n",
	      "CMD a X () (()) (a (b (c)) d) e");
	check("a SEARCH OR (FROM x) (TO {1}\r\ny)\r\n",
	      "+\nCMD a SEARCH OR (FROM x) (TO {1}y)");
	check("a X (((((((())))))))\r\n", "CMD a X (((((((())))))))");
	check("a X ((((((((()))))))))\r\nb NOOP\r\n",
	      "ERR TOO_DEEP a\nCMD b NOOP");
	check("a X ( a)\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X (a )\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X (a)(b)\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X a(b)\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X (a\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X a)\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X )\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a (X)\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
}

/* Walks the built tree: each list's elements must be in order. */
static void
test_list_layout(void)
{
	static const char in[] = "t X a (b (c d) e) (f) g\r\n";
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed;
	test_assert(imap_parser_parse(p, in, sizeof(in) - 1, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(consumed == sizeof(in) - 1);
	test_assert(strcmp(cmd->tag, "t") == 0 && strcmp(cmd->name, "X") == 0);
	test_assert(cmd->arg_count == 4);
	const struct imap_arg *l = &cmd->args[1];
	test_assert(l->type == IMAP_ARG_LIST && l->list_count == 3);
	test_assert(imap_arg_atom_equals(&l->list[0], "B"));
	test_assert(l->list[1].type == IMAP_ARG_LIST);
	test_assert(l->list[1].list_count == 2);
	test_assert(imap_arg_atom_equals(&l->list[1].list[1], "d"));
	test_assert(imap_arg_atom_equals(&l->list[2], "e"));
	test_assert(cmd->args[2].list_count == 1);
	test_assert(imap_arg_atom_equals(&cmd->args[2].list[0], "f"));
	test_assert(imap_arg_atom_equals(&cmd->args[3], "g"));
	imap_parser_destroy(&p);
}

static void
test_pipelined(void)
{
	static const char in[] = "a NOOP\r\nb LOGIN x {1+}\r\ny\r\nc CHECK";
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed, pos = 0, len = sizeof(in) - 1;

	test_assert(imap_parser_parse(p, in, len, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(consumed == 8 && strcmp(cmd->tag, "a") == 0);
	pos += consumed;
	test_assert(imap_parser_parse(p, in + pos, len - pos, &consumed,
	                              &cmd) == IMAP_PARSE_COMMAND);
	test_assert(strcmp(cmd->tag, "b") == 0 && cmd->arg_count == 2);
	pos += consumed;
	test_assert(strcmp(in + pos, "c CHECK") == 0);
	test_assert(!imap_parser_busy(p));
	test_assert(imap_parser_parse(p, in + pos, len - pos, &consumed,
	                              &cmd) == IMAP_PARSE_MORE);
	test_assert(consumed == len - pos && cmd == NULL);
	test_assert(imap_parser_busy(p));
	imap_parser_destroy(&p);

	check("a NOOP\r\nb NOOP\nc X \"y\" z\r\n",
	      "CMD a NOOP\nCMD b NOOP\nCMD c X \"y\" z");
}

static void
test_syntax_errors(void)
{
	check("\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check("\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check("a\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a \r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("+ NOOP\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check("a+ NOOP\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check("* NOOP\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check(" a NOOP\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	check("a  NOOP\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a NOOP \r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X  y\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a NO%OP\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	/* RFC 9051 9: '[' is an ATOM-CHAR. */
	check("a NO[OP\r\n", "CMD a NO[OP");
	check("a NOOP\rx\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check("a X y\tz\r\nb NOOP\r\n", "ERR SYNTAX a\nCMD b NOOP");
	check_l(&default_limits, "a X y\0\r\nb NOOP\r\n",
	        "ERR SYNTAX a\nCMD b NOOP");
	check("a\tNOOP\r\nb NOOP\r\n", "ERR SYNTAX -\nCMD b NOOP");
	/* An error line still in progress is not reported yet. */
	check("a X )", "BUSY");
}

static void
test_too_many_args(void)
{
	struct imap_parser_limits l = default_limits;
	l.max_args = 4;
	check_l(&l, "a X 1 2 3 4\r\n", "CMD a X 1 2 3 4");
	check_l(&l, "a X 1 2 3 4 5\r\nb NOOP\r\n",
	        "ERR TOO_MANY_ARGS a\nCMD b NOOP");
	/* Lists and their elements count. */
	check_l(&l, "a X (1 2) (3)\r\nb NOOP\r\n",
	        "ERR TOO_MANY_ARGS a\nCMD b NOOP");
	check_l(&l, "a X (1 (2)) \"x\"\r\nb NOOP\r\n",
	        "ERR TOO_MANY_ARGS a\nCMD b NOOP");
	check_l(&l, "a X 1 2 3 4 {1}\r\nb NOOP\r\n",
	        "ERR TOO_MANY_ARGS a\nCMD b NOOP");
}

static void
test_line_too_long(void)
{
	struct imap_parser_limits l = default_limits;
	l.max_line = 16;
	/* 16 bytes including CRLF is the most allowed. */
	check_l(&l, "a X 0123456789\r\n", "CMD a X 0123456789");
	check_l(&l, "a X 01234567890\r\nb NOOP\r\n",
	        "ERR LINE_TOO_LONG a\nCMD b NOOP");
	check_l(&l, "a0123456789012345 X\r\nb NOOP\r\n",
	        "ERR LINE_TOO_LONG -\nCMD b NOOP");
	/* Literal data does not count; the rest of the line does. */
	check_l(&l, "a X {20}\r\n01234567890123456789 y\r\n",
	        "+\nCMD a X {20}01234567890123456789 y");
	check_l(&l, "a X {1}\r\n0 abcdefghi\r\nb NOOP\r\n",
	        "+\nERR LINE_TOO_LONG a\nCMD b NOOP");
}

static void
test_literal_too_big(void)
{
	struct imap_parser_limits l = default_limits;
	l.max_literal = 10;
	l.max_literal_total = 15;
	l.max_nonsync_literal = 5;
	/* Synchronizing: the client sends nothing more; go on. */
	check_l(&l, "a APPEND x {11}\r\nb NOOP\r\n",
	        "ERR LITERAL_TOO_BIG a\nCMD b NOOP");
	check_l(&l, "a X {10}\r\n0123456789 {6}\r\nb NOOP\r\n",
	        "+\nERR LITERAL_TOO_BIG a\nCMD b NOOP");
	check_l(&l, "a X {10}\r\n0123456789 {5}\r\n01234\r\n",
	        "+\n+\nCMD a X {10}0123456789 {5}01234");
	check_l(&l, "a X {99999999999999999999}\r\nb NOOP\r\n",
	        "ERR LITERAL_TOO_BIG a\nCMD b NOOP");
	/* Non-synchronizing: the data is on its way; give up. */
	check_l(&l, "a X {6+}\r\n012345\r\nb NOOP\r\n",
	        "ERR LITERAL_TOO_BIG a FATAL");
	check_l(&l, "a X {5+}\r\n01234\r\nb NOOP\r\n",
	        "CMD a X {5}01234\nCMD b NOOP");
	l.max_nonsync_literal = 100;
	check_l(&l, "a X {11+}\r\n", "ERR LITERAL_TOO_BIG a FATAL");
	check_l(&l, "a X {10+}\r\n0123456789 ~{6+}\r\n",
	        "ERR LITERAL_TOO_BIG a FATAL");

	/* After a fatal error the parser refuses further input. */
	struct imap_parser *p = imap_parser_create(&l);
	const struct imap_command_line *cmd;
	size_t consumed;
	test_assert(imap_parser_parse(p, "a X {11+}\r\nxx", 13, &consumed,
	                              &cmd) == IMAP_PARSE_ERROR);
	test_assert(consumed == 11 && imap_parser_error_fatal(p));
	test_assert(strcmp(imap_parser_error_tag(p), "a") == 0);
	test_assert(imap_parser_parse(p, "xx", 2, &consumed, &cmd) ==
	            IMAP_PARSE_ERROR);
	test_assert(consumed == 0 && imap_parser_error_fatal(p));
	imap_parser_destroy(&p);
}

/* A line skipped after an error may end in {N+}: skip its data too. */
static void
test_skip_nonsync_literal(void)
{
	check("a X ) {5+}\r\nb NO)\r\nc NOOP\r\n", "ERR SYNTAX a\nCMD c NOOP");
	check("a X ) {0+}\r\n\r\nc NOOP\r\n", "ERR SYNTAX a\nCMD c NOOP");
	check("a X ) {5+}\r\nb NO)\nc NOOP\r\n", "ERR SYNTAX a\nCMD c NOOP");
	check("a X ) {5+}\r\nb NO)\nc X ) {1}\nd NOOP\r\n",
	      "ERR SYNTAX a\nERR SYNTAX c\nCMD d NOOP");
	check("a X ) ~{3+}\r\nx\r\n {1+}\r\n\n\r\nc NOOP\r\n",
	      "ERR SYNTAX a\nCMD c NOOP");
	/* A synchronizing literal ends the bad command. */
	check("a X ) {5}\r\nc NOOP\r\n", "ERR SYNTAX a\nCMD c NOOP");
	check("a X ) {5000+}\r\n", "ERR LITERAL_TOO_BIG a FATAL");

	struct imap_parser_limits l = default_limits;
	l.max_args = 1;
	check_l(&l, "a X y {4+}\r\nb NO\r\nc NOOP\r\n",
	        "ERR TOO_MANY_ARGS a\nCMD c NOOP");
	/* The limit hits inside the literal header. */
	l = default_limits;
	l.max_line = 6;
	check_l(&l, "a X {0004+}\r\nb NO\r\nc X\r\n",
	        "ERR LINE_TOO_LONG a\nCMD c X");
	l.max_line = 10;
	check_l(&l, "a X {0004+}\r\nb NO\r\nc X\r\n",
	        "ERR LINE_TOO_LONG a\nCMD c X");
	l.max_line = 11;
	check_l(&l, "a X {0004+}\r\nb NO\r\nc X\r\n",
	        "ERR LINE_TOO_LONG a\nCMD c X");
	l.max_line = 12;
	check_l(&l, "a X {0004+}\r\nb NO\r\nc X\r\n",
	        "ERR LINE_TOO_LONG a\nCMD c X");
}

static void
test_error_tag_lifetime(void)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed;
	test_assert(imap_parser_error_tag(p) == NULL);
	test_assert(imap_parser_error(p) == IMAP_PARSER_ERROR_NONE);
	test_assert(imap_parser_parse(p, "tag1 X (\r\n", 10, &consumed, &cmd) ==
	            IMAP_PARSE_ERROR);
	test_assert(imap_parser_error(p) == IMAP_PARSER_ERROR_SYNTAX);
	test_assert(!imap_parser_error_fatal(p));
	test_assert(strcmp(imap_parser_error_tag(p), "tag1") == 0);
	test_assert(!imap_parser_busy(p));
	test_assert(imap_parser_parse(p, "t2 NOOP\r\n", 9, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(imap_parser_error(p) == IMAP_PARSER_ERROR_NONE);
	test_assert(imap_parser_error_tag(p) == NULL);
	imap_parser_destroy(&p);
}

static void
test_continue_once(void)
{
	static const char in[] = "a X {3}\r\nabc {2}\r\nde\r\n";
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed, pos = 0, len = sizeof(in) - 1;
	unsigned continues = 0, commands = 0;

	/* Feed the bytes one at a time, counting every result. */
	for (size_t i = 1; i <= len; i++) {
		enum imap_parse_result r;
		while (pos < i) {
			r = imap_parser_parse(p, in + pos, i - pos, &consumed,
			                      &cmd);
			pos += consumed;
			if (r == IMAP_PARSE_CONTINUE) {
				continues++;
				test_assert(in[pos - 1] == '\n');
			} else if (r == IMAP_PARSE_COMMAND) {
				commands++;
			} else {
				test_assert(r == IMAP_PARSE_MORE);
			}
		}
	}
	test_assert(continues == 2 && commands == 1);
	imap_parser_destroy(&p);
}

static void
test_busy(void)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed;
	test_assert(!imap_parser_busy(p));
	test_assert(imap_parser_parse(p, "", 0, &consumed, &cmd) ==
	            IMAP_PARSE_MORE);
	test_assert(!imap_parser_busy(p));
	test_assert(imap_parser_parse(p, "a", 1, &consumed, &cmd) ==
	            IMAP_PARSE_MORE);
	test_assert(imap_parser_busy(p));
	test_assert(imap_parser_parse(p, " X {1}\r\n", 8, &consumed, &cmd) ==
	            IMAP_PARSE_CONTINUE);
	test_assert(imap_parser_busy(p));
	test_assert(imap_parser_parse(p, "z\r\n", 3, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(!imap_parser_busy(p));
	imap_parser_destroy(&p);
}

static void
test_set_limits(void)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	struct imap_parser_limits l = default_limits;
	const struct imap_command_line *cmd;
	size_t consumed;
	l.max_args = 1;
	test_assert(imap_parser_parse(p, "a X", 3, &consumed, &cmd) ==
	            IMAP_PARSE_MORE);
	/* Mid-command: the old limits stay for this command. */
	imap_parser_set_limits(p, &l);
	test_assert(imap_parser_parse(p, " 1 2\r\n", 6, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(imap_parser_parse(p, "b X 1 2\r\n", 9, &consumed, &cmd) ==
	            IMAP_PARSE_ERROR);
	test_assert(imap_parser_error(p) == IMAP_PARSER_ERROR_TOO_MANY_ARGS);
	test_assert(imap_parser_parse(p, "c X 1\r\n", 7, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	imap_parser_destroy(&p);
}

static void
test_arg_helpers(void)
{
	static const char in[] = "a X atom \"q\" {1+}\r\nl NIL (x) nil\r\n";
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	const char *s;
	size_t consumed, len;
	test_assert(imap_parser_parse(p, in, sizeof(in) - 1, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(cmd->arg_count == 6);
	const struct imap_arg *a = cmd->args;
	for (size_t i = 0; i < 3; i++) {
		test_assert(imap_arg_is_string(&a[i]));
		test_assert(imap_arg_get_astring(&a[i], &s, &len));
		test_assert(len == 1 || len == 4);
		test_assert(imap_arg_get_nstring(&a[i], &s, &len) && s != NULL);
	}
	test_assert(imap_arg_get_astring(&a[2], &s, &len) && len == 1 &&
	            s[0] == 'l');
	test_assert(imap_arg_atom_equals(&a[0], "ATOM"));
	test_assert(!imap_arg_atom_equals(&a[0], "ATO"));
	test_assert(!imap_arg_atom_equals(&a[1], "q"));
	/* NIL: an nstring NULL, an astring "NIL" (SELECT NIL). */
	test_assert(!imap_arg_is_string(&a[3]));
	test_assert(imap_arg_get_nstring(&a[3], &s, &len) && s == NULL &&
	            len == 0);
	test_assert(imap_arg_get_astring(&a[3], &s, &len) &&
	            strcmp(s, "NIL") == 0);
	test_assert(imap_arg_atom_equals(&a[5], "NIL"));
	test_assert(!imap_arg_get_astring(&a[4], &s, &len));
	test_assert(!imap_arg_get_nstring(&a[4], &s, &len));
	test_assert(!imap_arg_atom_equals(&a[4], "x"));
	imap_parser_destroy(&p);
}

/* A 1 MB line is discarded as it arrives, never buffered. */
static void
test_huge_line(void)
{
	const size_t big = 1024 * 1024;
	struct imap_parser_limits l = default_limits;
	l.max_line = 65536;
	char *in = xmalloc(big + 64);
	size_t len = 0;
	memcpy(in, "a X ", 4);
	len = 4;
	memset(in + len, 'x', big);
	len += big;
	memcpy(in + len, "\r\nb NOOP\r\n", 10);
	len += 10;

	struct imap_parser *p = imap_parser_create(&l);
	const struct imap_command_line *cmd;
	size_t consumed, pos = 0, max_mem = 0;
	unsigned errors = 0, commands = 0;
	while (pos < len) {
		size_t n = len - pos < 4096 ? len - pos : 4096;
		enum imap_parse_result r =
		    imap_parser_parse(p, in + pos, n, &consumed, &cmd);
		pos += consumed;
		if (imap_parser_memory(p) > max_mem)
			max_mem = imap_parser_memory(p);
		if (r == IMAP_PARSE_ERROR) {
			errors++;
			test_assert(imap_parser_error(p) ==
			            IMAP_PARSER_ERROR_LINE_TOO_LONG);
			test_assert(!imap_parser_error_fatal(p));
			test_assert(strcmp(imap_parser_error_tag(p), "a") == 0);
			test_assert(pos == 4 + big + 2);
		} else if (r == IMAP_PARSE_COMMAND) {
			commands++;
			test_assert(strcmp(cmd->tag, "b") == 0);
		}
	}
	test_assert(errors == 1 && commands == 1);
	test_assert(max_mem <= l.max_line + 4096);
	/* The text buffer grew to max_line before the error; it shrinks. */
	test_assert(max_mem > l.max_line);
	imap_parser_release(p);
	test_assert(imap_parser_memory(p) < 16384);
	free(in);
	imap_parser_destroy(&p);
}

/* After a 10 MB literal the parser gives the memory back. */
static void
test_big_literal_shrinks(void)
{
	const size_t big = 10 * 1024 * 1024;
	struct imap_parser_limits l = default_limits;
	l.max_literal = 16 * 1024 * 1024;
	l.max_literal_total = l.max_literal;
	struct imap_parser *p = imap_parser_create(&l);
	const struct imap_command_line *cmd;
	size_t consumed;
	size_t idle = imap_parser_memory(p);
	char hdr[64];
	int n = snprintf(hdr, sizeof(hdr), "a APPEND INBOX {%zu}\r\n", big);
	test_assert(imap_parser_parse(p, hdr, (size_t)n, &consumed, &cmd) ==
	            IMAP_PARSE_CONTINUE);

	char *data = xmalloc(big + 2);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i % 251);
	memcpy(data + big, "\r\n", 2);
	size_t pos = 0;
	enum imap_parse_result r = IMAP_PARSE_MORE;
	while (pos < big + 2 && r == IMAP_PARSE_MORE) {
		size_t chunk = big + 2 - pos < 65536 ? big + 2 - pos : 65536;
		r = imap_parser_parse(p, data + pos, chunk, &consumed, &cmd);
		pos += consumed;
	}
	test_assert(r == IMAP_PARSE_COMMAND && pos == big + 2);
	test_assert(cmd->args[1].len == big);
	test_assert(memcmp(cmd->args[1].str, data, big) == 0);
	test_assert(imap_parser_memory(p) >= big);
	/* One copy of the data: no more than the literal plus a little. */
	test_assert(imap_parser_memory(p) < big + 16384);
	imap_parser_release(p);
	test_assert(imap_parser_memory(p) < 16384);
	test_assert(imap_parser_memory(p) <= idle + 8192);
	test_assert(imap_parser_parse(p, "b NOOP\r\n", 8, &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(imap_parser_memory(p) < 16384);
	free(data);
	imap_parser_destroy(&p);
}

/* Many arguments grow the node arrays; they shrink afterwards. */
static void
test_many_args_shrink(void)
{
	struct imap_parser *p = imap_parser_create(&default_limits);
	const struct imap_command_line *cmd;
	size_t consumed;
	char in[1024] = "a X";
	for (int i = 0; i < 250; i++)
		casella_strlcat(in, i % 50 == 0 ? " (y)" : " x", sizeof(in));
	casella_strlcat(in, "\r\n", sizeof(in));
	test_assert(imap_parser_parse(p, in, strlen(in), &consumed, &cmd) ==
	            IMAP_PARSE_COMMAND);
	test_assert(cmd->arg_count == 250);
	test_assert(cmd->args[200].list_count == 1);
	test_assert(imap_arg_atom_equals(&cmd->args[200].list[0], "y"));
	test_assert(imap_arg_atom_equals(&cmd->args[249], "x"));
	size_t big = imap_parser_memory(p);
	test_assert(big > 16384);
	imap_parser_release(p);
	/* Both the node array and the built arguments shrink. */
	test_assert(imap_parser_memory(p) < big / 2);
	imap_parser_destroy(&p);
}

static const struct test_case cases[] = {
    {"simple", test_simple},
    {"atoms", test_atoms},
    {"nil", test_nil},
    {"quoted", test_quoted},
    {"quoted errors", test_quoted_errors},
    {"literals", test_literals},
    {"literal with NUL", test_literal_nul},
    {"literal errors", test_literal_errors},
    {"bracket atoms", test_brackets},
    {"lists", test_lists},
    {"list layout", test_list_layout},
    {"pipelined", test_pipelined},
    {"syntax errors", test_syntax_errors},
    {"too many args", test_too_many_args},
    {"line too long", test_line_too_long},
    {"literal too big", test_literal_too_big},
    {"skip non-sync literal", test_skip_nonsync_literal},
    {"error tag lifetime", test_error_tag_lifetime},
    {"continue once", test_continue_once},
    {"busy", test_busy},
    {"set limits", test_set_limits},
    {"arg helpers", test_arg_helpers},
    {"huge line", test_huge_line},
    {"big literal shrinks", test_big_literal_shrinks},
    {"many args shrink", test_many_args_shrink},
};

int
main(void)
{
	return test_run("parser", cases, N_ELEMENTS(cases));
}
