#include <stdlib.h>
#include <string.h>

#include "lmtp/lmtp-parse.h"
#include "test.h"
#include "util.h"

/* Each parser gets a copy of exactly the line's bytes, no NUL after, so
 * ASan sees any read past the end. */
static char *
exact(const char *s, size_t *len_r)
{
	*len_r = strlen(s);
	char *copy = xmalloc(*len_r + 1);
	memcpy(copy, s, *len_r);
	return copy;
}

static int
mail(const char *arg, struct lmtp_mail *m, const char **reply)
{
	size_t len;
	char *copy = exact(arg, &len);
	int r = lmtp_parse_mail(copy, len, m, reply);
	free(copy);
	return r;
}

static int
rcpt(const char *arg, bool utf8, struct lmtp_rcpt *r, const char **reply)
{
	size_t len;
	char *copy = exact(arg, &len);
	int ret = lmtp_parse_rcpt(copy, len, utf8, r, reply);
	free(copy);
	return ret;
}

static void
test_commands(void)
{
	struct lmtp_command cmd;
	lmtp_parse_command("lhlo client.example", 19, &cmd);
	test_assert(cmd.verb == LMTP_LHLO && cmd.arg_len == 14);
	lmtp_parse_command("EHLO x", 6, &cmd);
	test_assert(cmd.verb == LMTP_HELO);
	lmtp_parse_command("DATA", 4, &cmd);
	test_assert(cmd.verb == LMTP_DATA && cmd.arg_len == 0);
	lmtp_parse_command("DATAX", 5, &cmd);
	test_assert(cmd.verb == LMTP_UNKNOWN);
	lmtp_parse_command("", 0, &cmd);
	test_assert(cmd.verb == LMTP_UNKNOWN);
}

static void
test_mail(void)
{
	struct lmtp_mail m;
	const char *reply;
	test_assert(mail("FROM:<a@b.example>", &m, &reply) == 0);
	test_assert(strcmp(m.sender, "a@b.example") == 0 && m.size == 0);
	test_assert(mail("from: <> SIZE=1000 BODY=8BITMIME", &m, &reply) == 0);
	test_assert(m.sender[0] == '\0' && m.size == 1000 &&
	            m.body == LMTP_BODY_8BITMIME);
	test_assert(mail("FROM:<@relay.example:a@b>", &m, &reply) == 0);
	test_assert(strcmp(m.sender, "a@b") == 0);
	test_assert(mail("FROM:<\"two words\"@b>", &m, &reply) == 0);
	test_assert(mail("FROM:<a b@c>", &m, &reply) < 0);
	test_assert(mail("FROM:a@b", &m, &reply) < 0);
	test_assert(mail("FROM:<a@b", &m, &reply) < 0);
	test_assert(mail("FROM:<a@b> BODY=BINARYMIME", &m, &reply) < 0 &&
	            strncmp(reply, "555", 3) == 0);
	test_assert(mail("FROM:<a@b> SIZE=x", &m, &reply) < 0);
	test_assert(mail("FROM:<a@b> FOO", &m, &reply) < 0 &&
	            strncmp(reply, "555", 3) == 0);
	/* 8-bit only with SMTPUTF8 (RFC 6531 3.3). */
	test_assert(mail("FROM:<j\xc3\xb6rg@b>", &m, &reply) < 0);
	test_assert(mail("FROM:<j\xc3\xb6rg@b> SMTPUTF8", &m, &reply) == 0 &&
	            m.smtputf8);
	test_assert(mail("FROM:<a@b> XTRACE=NO", &m, &reply) == 0 &&
	            m.no_trace);
	char long_path[300];
	memset(long_path, 'a', sizeof(long_path));
	memcpy(long_path, "FROM:<", 6);
	memcpy(long_path + sizeof(long_path) - 2, ">", 2);
	test_assert(mail(long_path, &m, &reply) < 0 &&
	            strncmp(reply, "501 5.1.3", 9) == 0);
}

static void
test_rcpt(void)
{
	struct lmtp_rcpt r;
	const char *reply;
	test_assert(rcpt("TO:<alice+Lists@example.org>", false, &r, &reply) ==
	            0);
	test_assert(strcmp(r.address, "alice+Lists@example.org") == 0 &&
	            r.folder[0] == '\0');
	test_assert(rcpt("TO:<>", false, &r, &reply) < 0);
	test_assert(rcpt("TO:<a> XFOLDER=Lists+2FWork+20Mail XFOLDER-STRICT",
	                 false, &r, &reply) == 0);
	test_assert(strcmp(r.folder, "Lists/Work Mail") == 0 && r.folder_strict);
	test_assert(rcpt("TO:<a> XFOLDER=a+00", false, &r, &reply) < 0);
	test_assert(rcpt("TO:<a> XFOLDER=a+2", false, &r, &reply) < 0);
	test_assert(rcpt("TO:<a> NOTIFY=NEVER", false, &r, &reply) < 0);
}

static void
test_bdat(void)
{
	uint64_t size;
	bool last;
	test_assert(lmtp_parse_bdat("100", 3, &size, &last) == 0 &&
	            size == 100 && !last);
	test_assert(lmtp_parse_bdat("0 LAST", 6, &size, &last) == 0 &&
	            size == 0 && last);
	test_assert(lmtp_parse_bdat("10 FIRST", 8, &size, &last) < 0);
	test_assert(lmtp_parse_bdat("", 0, &size, &last) < 0);
	test_assert(lmtp_parse_bdat("-1", 2, &size, &last) < 0);
}

static void
test_address_split(void)
{
	char local[64], domain[64];
	test_assert(lmtp_address_split("alice@example.org", local,
	                               sizeof(local), domain, sizeof(domain)));
	test_assert(strcmp(local, "alice") == 0 &&
	            strcmp(domain, "example.org") == 0);
	test_assert(lmtp_address_split("\"a@b\\\"c\"@d", local, sizeof(local),
	                               domain, sizeof(domain)));
	test_assert(strcmp(local, "a@b\"c") == 0 && strcmp(domain, "d") == 0);
	test_assert(lmtp_address_split("postmaster", local, sizeof(local),
	                               domain, sizeof(domain)));
	test_assert(strcmp(local, "postmaster") == 0 && domain[0] == '\0');
	test_assert(!lmtp_address_split("averyveryverylonglocalpart@d", local,
	                                8, domain, sizeof(domain)));
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"commands", test_commands},
	    {"mail", test_mail},
	    {"rcpt", test_rcpt},
	    {"bdat", test_bdat},
	    {"address_split", test_address_split},
	};
	return test_run("lmtp-parse", cases, N_ELEMENTS(cases));
}
