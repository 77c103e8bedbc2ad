#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/cram.h"
#include "auth/credentials.h"
#include "auth/sasl.h"
#include "auth/userdb-memory.h"
#include "test.h"

#define RFC_CHALLENGE "<1896.697170952@postoffice.reston.mci.net>"
#define RFC_RESPONSE  "tim b913a602c7eda7a495b4e6e7334d3890"

/* One server session over an in-memory user source. */
struct fixture {
	struct userdb_memory mem;
	struct sasl_settings settings;
	struct sasl_conn_info info;
	struct sasl_session s;
	struct str out;
};

static void
fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	userdb_memory_init(&f->mem);
	f->settings.hostname = "imap.example.org";
	f->settings.cram_md5 = true;
	sasl_session_init(&f->s, &sasl_mech_cram_md5, &f->settings, &f->info,
	                  &f->mem.db);
	str_init(&f->out, 1024);
}

static void
fixture_restart(struct fixture *f)
{
	sasl_session_free(&f->s);
	sasl_session_init(&f->s, &sasl_mech_cram_md5, &f->settings, &f->info,
	                  &f->mem.db);
	str_reset(&f->out);
}

static void
fixture_free(struct fixture *f)
{
	sasl_session_free(&f->s);
	str_free(&f->out);
}

static void
user_add(struct fixture *f, const char *name, const char *password)
{
	char value[USERDB_VALUE_MAX];
	test_assert(cram_md5_credential_make(password, value, sizeof(value)) ==
	            0);
	userdb_memory_set(&f->mem, name, USERDB_CRAM_MD5, value);
}

static enum sasl_result
step_len(struct fixture *f, const char *msg, size_t len)
{
	str_reset(&f->out);
	return sasl_step(&f->s, (const unsigned char *)msg, len, &f->out);
}

static enum sasl_result
step(struct fixture *f, const char *msg)
{
	return step_len(f, msg, strlen(msg));
}

/* Starts the exchange with the mechanism's own challenge; returns it. */
static const char *
start(struct fixture *f)
{
	str_reset(&f->out);
	test_assert(sasl_step(&f->s, NULL, 0, &f->out) == SASL_CONTINUE);
	return f->out.data != NULL ? f->out.data : "";
}

/* "user HEXDIGEST", the digest by OpenSSL's HMAC-MD5. */
static void
response_make(const char *user, const char *password, const char *challenge,
              char *out_r)
{
	unsigned char mac[16];
	HMAC(EVP_md5(), password, (int)strlen(password),
	     (const unsigned char *)challenge, strlen(challenge), mac, NULL);
	int n = sprintf(out_r, "%s ", user);
	for (size_t i = 0; i < sizeof(mac); i++)
		n += sprintf(out_r + n, "%02x", mac[i]);
}

/* RFC 2195 2: tim, tanstaaftanstaaf, the challenge of 1992. */
static void
test_rfc2195_example(void)
{
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "tim", "tanstaaftanstaaf");
	test_assert(cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out) ==
	            SASL_CONTINUE);
	test_assert(strcmp(f.out.data, RFC_CHALLENGE) == 0);
	test_assert(step(&f, RFC_RESPONSE) == SASL_OK);
	test_assert(strcmp(f.s.user, "tim") == 0);
	test_assert(f.out.len == 0);
	fixture_free(&f);
}

static void
test_credential_format(void)
{
	char v[USERDB_VALUE_MAX];
	test_assert(
	    cram_md5_credential_make("tanstaaftanstaaf", v, sizeof(v)) == 0);
	test_assert(strlen(v) == 9 + 32 + 1 + 32);
	test_assert(strncmp(v, "CRAM-MD5$", 9) == 0 && v[9 + 32] == '$');
	test_assert(strspn(v + 9, "0123456789abcdef") == 32);
	test_assert(strspn(v + 42, "0123456789abcdef") == 32);
	/* Too small a buffer: fails and leaves no partial secret. */
	test_assert(cram_md5_credential_make("pw", v, 40) < 0);
	test_assert(v[0] == '\0' && v[39] == '\0');
}

/* The stored states finish the same HMAC-MD5 as OpenSSL's, for keys of
 * every kind (RFC 2104 2: up to a block, and hashed beyond). */
static void
test_round_trip(void)
{
	char long_key[201], response[300];
	memset(long_key, 'k', 200);
	long_key[200] = '\0';
	const char *passwords[] = {
	    "",
	    "a",
	    "tanstaaftanstaaf",
	    "0123456789012345678901234567890123456789012345678901234567890123",
	    "01234567890123456789012345678901234567890123456789012345678901234",
	    long_key};
	struct fixture f;
	fixture_init(&f);
	for (size_t i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
		fixture_restart(&f);
		user_add(&f, "user", passwords[i]);
		response_make("user", passwords[i], start(&f), response);
		test_assert(step(&f, response) == SASL_OK);
	}
	fixture_free(&f);
}

/* A challenge of several MD5 blocks, and a digest in upper case. */
static void
test_long_challenge(void)
{
	char challenge[CRAM_MD5_CHALLENGE_MAX + 1], response[300];
	memset(challenge, 'c', CRAM_MD5_CHALLENGE_MAX);
	challenge[CRAM_MD5_CHALLENGE_MAX] = '\0';
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "user", "pencil");
	test_assert(cram_md5_challenge_send(&f.s, challenge, &f.out) ==
	            SASL_CONTINUE);
	response_make("user", "pencil", challenge, response);
	for (char *p = response + 5; *p != '\0'; p++)
		*p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
	test_assert(step(&f, response) == SASL_OK);
	fixture_free(&f);
}

static void
random_fixed(void *buf, size_t len)
{
	memset(buf, 0, len);
	((unsigned char *)buf)[0] = 42;
}

/* "<RANDOM.TIME@HOST>": digits, now, our name (or localhost). */
static void
challenge_check(const char *hostname, const char *expected_host)
{
	struct fixture f;
	char host[300];
	unsigned long long random, when;
	fixture_init(&f);
	f.settings.hostname = hostname;
	sasl_random_set_hook(random_fixed);
	const char *c = start(&f);
	sasl_random_set_hook(NULL);
	test_assert(sscanf(c, "<%llu.%llu@%299[^>]>", &random, &when, host) ==
	            3);
	test_assert(c[strlen(c) - 1] == '>');
	test_assert(strcmp(host, expected_host) == 0);
	uint64_t expected;
	random_fixed(&expected, sizeof(expected));
	test_assert(random == expected);
	test_assert(when + 5 >= (unsigned long long)time(NULL));
	fixture_free(&f);
}

static void
test_challenge_format(void)
{
	char long_host[300];
	memset(long_host, 'h', 299);
	long_host[299] = '\0';
	challenge_check("imap.example.org", "imap.example.org");
	challenge_check(NULL, "localhost");
	challenge_check("", "localhost");
	challenge_check(long_host, "localhost");
}

static void
test_challenges_differ(void)
{
	struct fixture f;
	char first[CRAM_MD5_CHALLENGE_MAX + 1];
	fixture_init(&f);
	snprintf(first, sizeof(first), "%s", start(&f));
	fixture_restart(&f);
	test_assert(strcmp(first, start(&f)) != 0);
	fixture_free(&f);
}

static void
expect_failure(struct fixture *f, const char *response,
               enum sasl_failure failure)
{
	if (step(f, response) != SASL_FAIL || f->s.failure != failure) {
		fprintf(stderr, "  response: %s\n", response);
		test_assert(!"unexpected answer");
	}
	test_assert(f->s.user[0] == '\0');
}

/* A wrong digest, an unknown user, a user without the credential and a
 * name that cannot exist all get one answer. */
static void
test_refused(void)
{
	static const char *const responses[] = {
	    "tim b913a602c7eda7a495b4e6e7334d3891",
	    "tom b913a602c7eda7a495b4e6e7334d3890",
	    "nocram b913a602c7eda7a495b4e6e7334d3890",
	    "tim, b913a602c7eda7a495b4e6e7334d3890",
	    "tim  b913a602c7eda7a495b4e6e7334d3890",
	    " b913a602c7eda7a495b4e6e7334d3890",
	    "Tim b913a602c7eda7a495b4e6e7334d3890",
	};
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "tim", "tanstaaftanstaaf");
	userdb_memory_set(&f.mem, "nocram", USERDB_SCRAM_SHA1, "x");
	for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
		fixture_restart(&f);
		cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out);
		expect_failure(&f, responses[i], SASL_FAIL_CREDENTIALS);
		test_assert(strcmp(f.s.fail_reason, "wrong password") == 0);
	}
	fixture_free(&f);
}

static void
test_malformed(void)
{
	static const char *const responses[] = {
	    "",
	    "tim",
	    "tim ",
	    "timb913a602c7eda7a495b4e6e7334d3890",
	    "tim b913a602c7eda7a495b4e6e7334d389",
	    "tim b913a602c7eda7a495b4e6e7334d3890 ",
	    "tim b913a602c7eda7a495b4e6e7334d3890\r\n",
	    "tim b913a602c7eda7a495b4e6e7334d389g",
	    "tim  913a602c7eda7a495b4e6e7334d3890",
	    "tim b913a602c7eda7a495b4e6e7334d3890x",
	};
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "tim", "tanstaaftanstaaf");
	for (size_t i = 0; i < sizeof(responses) / sizeof(responses[0]); i++) {
		fixture_restart(&f);
		cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out);
		expect_failure(&f, responses[i], SASL_FAIL_MALFORMED);
	}
	fixture_free(&f);
}

/* The server speaks first: any initial response, even empty, fails. */
static void
test_initial_response(void)
{
	struct fixture f;
	fixture_init(&f);
	expect_failure(&f, RFC_RESPONSE, SASL_FAIL_MALFORMED);
	fixture_restart(&f);
	expect_failure(&f, "", SASL_FAIL_MALFORMED);
	fixture_free(&f);
}

static void
test_userdb_failure(void)
{
	static const char *const bad[] = {
	    "CRAM-MD5$0123456789abcdef0123456789abcdef",
	    "CRAM-MD4$0123456789abcdef0123456789abcdef$"
	    "0123456789abcdef0123456789abcdef",
	    "CRAM-MD5$0123456789abcdef0123456789abcdeg$"
	    "0123456789abcdef0123456789abcdef",
	    "CRAM-MD5$0123456789abcdef0123456789abcdef:"
	    "0123456789abcdef0123456789abcdef",
	    "CRAM-MD5$0123456789abcdef0123456789abcdef$"
	    "0123456789abcdef0123456789abcdef0",
	};
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "tim", "tanstaaftanstaaf");
	f.mem.fail = true;
	cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out);
	expect_failure(&f, RFC_RESPONSE, SASL_FAIL_TEMPORARY);
	f.mem.fail = false;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		userdb_memory_set(&f.mem, "tim", USERDB_CRAM_MD5, bad[i]);
		fixture_restart(&f);
		cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out);
		expect_failure(&f, RFC_RESPONSE, SASL_FAIL_TEMPORARY);
	}
	fixture_free(&f);
}

static void
test_finished_exchange(void)
{
	struct fixture f;
	fixture_init(&f);
	user_add(&f, "tim", "tanstaaftanstaaf");
	cram_md5_challenge_send(&f.s, RFC_CHALLENGE, &f.out);
	test_assert(step(&f, RFC_RESPONSE) == SASL_OK);
	test_assert(step(&f, RFC_RESPONSE) == SASL_FAIL);
	/* A session abandoned after the challenge frees its state. */
	fixture_restart(&f);
	start(&f);
	fixture_free(&f);
}

static void
test_available(void)
{
	struct sasl_settings settings = {.cram_md5 = false};
	const struct sasl_mech *m = sasl_mech_find("cram-md5", 8);
	test_assert(m == &sasl_mech_cram_md5 && m->flags == 0);
	test_assert(!sasl_mech_usable(m, &settings, true, true));
	settings.cram_md5 = true;
	test_assert(sasl_mech_usable(m, &settings, false, false));
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"RFC 2195 example", test_rfc2195_example},
	    {"credential format", test_credential_format},
	    {"round trip", test_round_trip},
	    {"long challenge", test_long_challenge},
	    {"challenge format", test_challenge_format},
	    {"challenges differ", test_challenges_differ},
	    {"refused", test_refused},
	    {"malformed", test_malformed},
	    {"initial response", test_initial_response},
	    {"userdb failure", test_userdb_failure},
	    {"finished exchange", test_finished_exchange},
	    {"available", test_available},
	};
	return test_run("cram", cases, sizeof(cases) / sizeof(cases[0]));
}
