/* Tests for src/imap/notify-parse.c (RFC 5465 8). */
#include <string.h>

#include "imap/fetch-parse.h"
#include "imap/notify-parse.h"
#include "imap/parser.h"
#include "lib/arena.h"
#include "test.h"
#include "util.h"

static const struct imap_parser_limits parser_limits = {
    .max_line = 65536,
    .max_literal = 65536,
    .max_literal_total = 65536,
    .max_nonsync_literal = 65536,
    .max_depth = 32,
    .max_args = 100000,
};

/* One parsed NOTIFY: the IMAP parser owns the arguments, the arena the
 * request. */
struct parsed {
	struct imap_parser *parser;
	struct arena *arena;
	struct notify_request req;
	bool none;
	enum notify_parse_status status;
	const char *error;
};

/* Feeds "t NOTIFY <args>\r\n" to the IMAP parser, then notify_parse(). */
static void
parse(struct parsed *p, const char *args, bool utf8)
{
	memset(p, 0, sizeof(*p));
	p->parser = imap_parser_create(&parser_limits);
	p->arena = arena_create(1024);
	char line[4096];
	snprintf(line, sizeof(line), "t NOTIFY%s%s\r\n", *args ? " " : "",
	         args);
	const struct imap_command_line *cmd = NULL;
	size_t used;
	enum imap_parse_result r =
	    imap_parser_parse(p->parser, line, strlen(line), &used, &cmd);
	test_assert(r == IMAP_PARSE_COMMAND);
	if (r != IMAP_PARSE_COMMAND) {
		p->status = NOTIFY_PARSE_BAD;
		return;
	}
	p->status = notify_parse(p->arena, cmd->args, cmd->arg_count, utf8,
	                         &p->none, &p->req, &p->error);
}

static void
parsed_free(struct parsed *p)
{
	imap_parser_destroy(&p->parser);
	arena_destroy(&p->arena);
}

static enum notify_parse_status
status_of(const char *args)
{
	struct parsed p;
	parse(&p, args, false);
	enum notify_parse_status st = p.status;
	test_assert(st == NOTIFY_PARSE_OK || p.error != NULL);
	parsed_free(&p);
	return st;
}

static void
test_none(void)
{
	struct parsed p;
	parse(&p, "none", false);
	test_assert(p.status == NOTIFY_PARSE_OK && p.none);
	parsed_free(&p);
}

static void
test_set(void)
{
	struct parsed p;
	parse(&p,
	      "SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge)) "
	      "(personal (messagenew messageexpunge flagchange MailboxName "
	      "SubscriptionChange)) (subtree (Lists \"Other One\") NONE) "
	      "(mailboxes inbox (MailboxName))",
	      false);
	test_assert(p.status == NOTIFY_PARSE_OK && !p.none && p.req.status);
	test_assert(p.req.group_count == 4);
	if (p.req.group_count == 4) {
		const struct notify_group *g = p.req.groups;
		test_assert(g[0].filter == NOTIFY_FILTER_SELECTED);
		test_assert(g[0].events == (NOTIFY_EVENT_MESSAGE_NEW |
		                            NOTIFY_EVENT_MESSAGE_EXPUNGE));
		test_assert(g[1].filter == NOTIFY_FILTER_PERSONAL);
		test_assert(g[1].events == NOTIFY_EVENT_SUPPORTED);
		test_assert(g[2].filter == NOTIFY_FILTER_SUBTREE &&
		            g[2].events == 0 && g[2].name_count == 2);
		test_assert(g[2].name_count == 2 &&
		            strcmp(g[2].names[0], "Lists") == 0 &&
		            strcmp(g[2].names[1], "Other One") == 0);
		/* INBOX in any case is INBOX. */
		test_assert(g[3].name_count == 1 &&
		            strcmp(g[3].names[0], "INBOX") == 0);
	}
	test_assert(p.req.new_fetch_count == 2 &&
	            p.req.new_fetch[0].type == FETCH_ITEM_UID &&
	            p.req.new_fetch[1].type == FETCH_ITEM_FLAGS);
	parsed_free(&p);
}

static void
test_names(void)
{
	struct parsed p;
	/* Modified UTF-7 unless the client speaks UTF-8; names no mailbox
	 * can have (bad mUTF-7, wildcards) are dropped (6.6). */
	parse(&p, "SET (mailboxes (&AOk-t&AOk- &Jjo &AOk-x% ok) NONE)", false);
	test_assert(p.status == NOTIFY_PARSE_OK && p.req.group_count == 1);
	const struct notify_group *g = &p.req.groups[0];
	test_assert(g->name_count == 2 &&
	            strcmp(g->names[0], "\xc3\xa9t\xc3\xa9") == 0 &&
	            strcmp(g->names[1], "ok") == 0);
	parsed_free(&p);
	parse(&p, "SET (subtree \"\xc3\xa9t\xc3\xa9\" NONE)", true);
	test_assert(p.status == NOTIFY_PARSE_OK &&
	            p.req.groups[0].name_count == 1 &&
	            strcmp(p.req.groups[0].names[0], "\xc3\xa9t\xc3\xa9") == 0);
	parsed_free(&p);
}

static void
test_bad(void)
{
	static const char *const bad[] = {
	    "",
	    "SET",
	    "NONE x",
	    "NONE (x)",
	    "FOO",
	    "SET STATUS",
	    "SET personal",
	    "SET ()",
	    "SET (personal)",
	    "SET (personal ())",
	    "SET (personal x)",
	    "SET (personal NONE x)",
	    "SET (bogus (MessageNew MessageExpunge))",
	    "SET (subtree (MessageNew MessageExpunge))",
	    "SET (subtree () NONE)",
	    "SET (subtree (a (b)) NONE)",
	    "SET (inboxes a NONE)",
	    "SET (personal (MessageNew))",
	    "SET (personal (MessageExpunge))",
	    "SET (personal (FlagChange))",
	    "SET (personal (MessageNew AnnotationChange))",
	    "SET (selected (MessageNew MessageExpunge SubscriptionChange))",
	    "SET (selected-delayed (MailboxName))",
	    "SET (selected NONE) (selected-delayed NONE)",
	    "SET (selected NONE) (selected NONE)",
	    "SET (personal (MessageNew (UID) MessageExpunge))",
	    "SET (selected (MessageNew () MessageExpunge))",
	    "SET (selected (MessageNew (UID \"FLAGS\") MessageExpunge))",
	    "SET (selected (MessageNew (BOGUS) MessageExpunge))",
	    "SET (personal (\"MessageNew\" MessageExpunge))",
	    "SET (personal ((MessageNew) MessageExpunge))",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		enum notify_parse_status st = status_of(bad[i]);
		if (st != NOTIFY_PARSE_BAD)
			fprintf(stderr, "  not BAD: %s\n", bad[i]);
		test_assert(st == NOTIFY_PARSE_BAD);
	}
}

static void
test_badevent(void)
{
	static const char *const unsupported[] = {
	    "SET (personal (MessageNew MessageExpunge AnnotationChange))",
	    "SET (personal (MailboxMetadataChange))",
	    "SET (personal (ServerMetadataChange))",
	    "SET (personal (NewFangledEvent))",
	    "SET (selected NONE) (personal (MailboxName Future))",
	};
	for (size_t i = 0; i < N_ELEMENTS(unsupported); i++)
		test_assert(status_of(unsupported[i]) == NOTIFY_PARSE_BADEVENT);
	/* Syntax goes first. */
	test_assert(status_of("SET (personal (Future)) (personal x)") ==
	            NOTIFY_PARSE_BAD);
}

static void
test_fetch_attributes(void)
{
	test_assert(status_of("SET (selected (MessageNew (UID FLAGS "
	                      "INTERNALDATE RFC822.SIZE ENVELOPE BODY "
	                      "BODYSTRUCTURE RFC822.HEADER BODY.PEEK[HEADER] "
	                      "BODY.PEEK[HEADER.FIELDS (From Subject)] "
	                      "BODY.PEEK[HEADER.FIELDS.NOT (To)]) "
	                      "MessageExpunge))") == NOTIFY_PARSE_OK);
	static const char *const cannot[] = {
	    "BODY[]",
	    "BODY[HEADER]",
	    "RFC822",
	    "RFC822.TEXT",
	    "BODY.PEEK[TEXT]",
	    "BODY.PEEK[1]",
	    "BODY.PEEK[HEADER]<0.10>",
	    "BINARY.PEEK[1]",
	    "BINARY.SIZE[1]",
	};
	for (size_t i = 0; i < N_ELEMENTS(cannot); i++) {
		char args[256];
		snprintf(args, sizeof(args),
		         "SET (selected-delayed (MessageNew (UID %s) "
		         "MessageExpunge))",
		         cannot[i]);
		test_assert(status_of(args) == NOTIFY_PARSE_CANNOT);
	}
}

static void
test_limits(void)
{
	char args[8192];
	size_t n = (size_t)snprintf(args, sizeof(args), "SET");
	for (int i = 0; i <= NOTIFY_MAX_GROUPS; i++)
		n += (size_t)snprintf(args + n, sizeof(args) - n,
		                      " (personal NONE)");
	test_assert(status_of(args) == NOTIFY_PARSE_BAD);
}

static const struct test_case cases[] = {
    {"none", test_none},         {"set", test_set},
    {"names", test_names},       {"bad", test_bad},
    {"badevent", test_badevent}, {"fetch attributes", test_fetch_attributes},
    {"limits", test_limits},
};

int
main(void)
{
	return test_run("notify-parse", cases, N_ELEMENTS(cases));
}
