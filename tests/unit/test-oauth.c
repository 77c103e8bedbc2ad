/* OAUTHBEARER and XOAUTH2 with JWTs made and signed here, and token
 * introspection against a one-shot HTTP server on 127.0.0.1. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth/oauth.h"
#include "auth/sasl.h"
#include "auth/userdb-memory.h"
#include "lib/base64.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "test.h"

#define SEP         "\x01"
#define ISSUER      "https://idp.example"
#define AUDIENCE    "casella"
#define TOKEN_BUF   (OAUTH_TOKEN_MAX + 4096)
#define BEARER_FAIL "{\"status\":\"invalid_token\",\"schemes\":\"bearer\"}"
#define XOAUTH_FAIL "{\"status\":\"400\",\"schemes\":\"Bearer\"}"

static EVP_PKEY *rsa_key, *ec_key, *stranger_key;
static char key_path[] = "/tmp/test-oauth-keys-XXXXXX";
static char intro_url[128] = "http://127.0.0.1:1/introspect";
static struct sasl_settings jwt_settings = {
    .oauth_issuer = ISSUER,
    .oauth_audience = AUDIENCE,
};
/* Both: JWTs by key, other tokens by introspection. */
static struct sasl_settings intro_settings = {
    .oauth_issuer = ISSUER,
    .oauth_audience = AUDIENCE,
    .oauth_introspect_url = intro_url,
    .oauth_client_id = "casella-id",
    .oauth_client_secret = "s3cret",
};
static struct userdb_memory users;

/* ---- Making tokens ---- */

static long long
now_plus(long seconds)
{
	return (long long)time(NULL) + seconds;
}

/* Appends data base64url-encoded without padding (RFC 7515 2). */
static void
b64url_append(struct str *out, const void *data, size_t len)
{
	char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);
	base64_encode(data, len, b64);
	for (const char *p = b64; *p != '\0' && *p != '='; p++)
		str_append_char(out, *p == '+' ? '-' : *p == '/' ? '_' : *p);
	free(b64);
}

/* RFC 7518 3.4: DER ECDSA to R || S, each half bytes. */
static size_t
ecdsa_der_to_raw(unsigned char *sig, size_t len, int half)
{
	const unsigned char *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	test_assert(es != NULL);
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, sig, half);
	BN_bn2binpad(s, sig + half, half);
	ECDSA_SIG_free(es);
	return 2 * (size_t)half;
}

/* The signature of data as alg would make it with key (RFC 7518 3). */
static size_t
sign(const char *alg, EVP_PKEY *key, const char *data, size_t len,
     unsigned char *sig, size_t size)
{
	if (strcmp(alg, "none") == 0)
		return 0;
	unsigned n = 0;
	if (strncmp(alg, "HS", 2) == 0) {
		HMAC(EVP_sha256(), "secret", 6, (const unsigned char *)data,
		     len, sig, &n);
		return n;
	}
	const EVP_MD *md = strstr(alg, "384") != NULL   ? EVP_sha384()
	                   : strstr(alg, "512") != NULL ? EVP_sha512()
	                                                : EVP_sha256();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t sig_len = size;
	test_assert(EVP_DigestSignInit(ctx, &pctx, md, NULL, key) == 1);
	if (alg[0] == 'P') {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	test_assert(EVP_DigestSign(ctx, sig, &sig_len,
	                           (const unsigned char *)data, len) == 1);
	EVP_MD_CTX_free(ctx);
	if (alg[0] == 'E')
		sig_len = ecdsa_der_to_raw(
		    sig, sig_len, strstr(alg, "384") != NULL ? 48 : 32);
	return sig_len;
}

/* header.payload.signature into out, signed as sign_alg says. */
static const char *
make_jwt_ex(char *out, const char *header, const char *claims,
            const char *sign_alg, EVP_PKEY *key)
{
	struct str s;
	str_init(&s, TOKEN_BUF - 1);
	b64url_append(&s, header, strlen(header));
	str_append_char(&s, '.');
	b64url_append(&s, claims, strlen(claims));
	unsigned char sig[1024];
	size_t n = sign(sign_alg, key, s.data, s.len, sig, sizeof(sig));
	str_append_char(&s, '.');
	b64url_append(&s, sig, n);
	test_assert(!str_failed(&s));
	casella_strlcpy(out, s.data, TOKEN_BUF);
	str_free(&s);
	return out;
}

static const char *
make_jwt(char *out, const char *alg, EVP_PKEY *key, const char *claims)
{
	char header[128];
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}",
	         alg);
	return make_jwt_ex(out, header, claims, alg, key);
}

/* Our issuer and audience, sub, exp, and extra members ("" or ",..."). */
static const char *
claims_for(char *buf, size_t size, const char *sub, long exp_in,
           const char *extra)
{
	snprintf(buf, size,
	         "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
	         "\"sub\":\"%s\",\"exp\":%lld%s}",
	         sub, now_plus(exp_in), extra);
	return buf;
}

/* A valid RS256 token for sub. */
static const char *
good_jwt(char *out, const char *sub)
{
	char claims[512];
	return make_jwt(out, "RS256", rsa_key,
	                claims_for(claims, sizeof(claims), sub, 300, ""));
}

/* ---- Running exchanges ---- */

struct outcome {
	enum sasl_result result;
	enum sasl_failure failure;
	bool challenged; /* the error challenge was sent, then acknowledged */
	char user[USERDB_NAME_MAX + 1];
};

/* One exchange; a refusal is acknowledged as the mechanism wants. */
static struct outcome
exchange_with(const struct sasl_settings *settings,
              const struct sasl_mech *mech, const char *msg, size_t len)
{
	bool xoauth2 = mech == &sasl_mech_xoauth2;
	struct sasl_conn_info info = {.secured = true};
	struct sasl_session s;
	struct outcome o = {0};
	struct str out;
	str_init(&out, 4096);
	sasl_session_init(&s, mech, settings, &info, &users.db);
	o.result = sasl_step(&s, (const unsigned char *)msg, len, &out);
	if (o.result == SASL_CONTINUE) {
		o.challenged = true;
		test_assert(
		    out.data != NULL &&
		    strcmp(out.data, xoauth2 ? XOAUTH_FAIL : BEARER_FAIL) == 0);
		o.result = sasl_step(&s, (const unsigned char *)SEP,
		                     xoauth2 ? 0 : 1, &out);
		test_assert(o.result == SASL_FAIL);
	}
	o.failure = s.failure;
	casella_strlcpy(o.user, s.user, sizeof(o.user));
	sasl_session_free(&s);
	str_free(&out);
	return o;
}

static char msg_buf[TOKEN_BUF + 256];

static struct outcome
bearer(const char *gs2, const char *token)
{
	int n = snprintf(msg_buf, sizeof(msg_buf),
	                 "%s" SEP "host=imap.example" SEP "port=143" SEP
	                 "auth=Bearer %s" SEP SEP,
	                 gs2, token);
	return exchange_with(&jwt_settings, &sasl_mech_oauthbearer, msg_buf,
	                     (size_t)n);
}

static struct outcome
xoauth2_with(const struct sasl_settings *settings, const char *user,
             const char *token)
{
	int n = snprintf(msg_buf, sizeof(msg_buf),
	                 "user=%s" SEP "auth=Bearer %s" SEP SEP, user, token);
	return exchange_with(settings, &sasl_mech_xoauth2, msg_buf, (size_t)n);
}

static struct outcome
xoauth2(const char *user, const char *token)
{
	return xoauth2_with(&jwt_settings, user, token);
}

static bool
logged_in(struct outcome o, const char *user)
{
	return o.result == SASL_OK && strcmp(o.user, user) == 0;
}

/* Refused after the error challenge, with failure. */
static bool
refused(struct outcome o, enum sasl_failure failure)
{
	return o.result == SASL_FAIL && o.challenged && o.failure == failure &&
	       o.user[0] == '\0';
}

/* Refused at once, without the error challenge. */
static bool
failed_now(struct outcome o, enum sasl_failure failure)
{
	return o.result == SASL_FAIL && !o.challenged && o.failure == failure;
}

/* Refused by token validation, through both mechanisms. */
static bool
token_refused(const char *token)
{
	return refused(bearer("n,a=alice,", token), SASL_FAIL_CREDENTIALS) &&
	       refused(xoauth2("alice", token), SASL_FAIL_CREDENTIALS);
}

static bool
claims_refused(const char *alg, EVP_PKEY *key, const char *claims)
{
	char token[TOKEN_BUF];
	return token_refused(make_jwt(token, alg, key, claims));
}

static bool
claims_accepted(const char *alg, EVP_PKEY *key, const char *claims)
{
	char token[TOKEN_BUF];
	make_jwt(token, alg, key, claims);
	return logged_in(bearer("n,a=alice,", token), "alice") &&
	       logged_in(xoauth2("alice", token), "alice");
}

static enum oauth_result
validate(const struct sasl_settings *settings, const char *token)
{
	char user[USERDB_NAME_MAX + 1];
	return oauth_validate(settings, token, strlen(token), user,
	                      sizeof(user));
}

/* ---- JWT tests ---- */

static void
test_valid_tokens(void)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256",
	                                   "ES256"};
	char claims[512];
	claims_for(claims, sizeof(claims), "alice", 300, "");
	for (size_t i = 0; i < N_ELEMENTS(algs); i++) {
		EVP_PKEY *key = algs[i][0] == 'E' ? ec_key : rsa_key;
		test_assert(claims_accepted(algs[i], key, claims));
	}
	char token[TOKEN_BUF];
	good_jwt(token, "alice");
	test_assert(logged_in(bearer("n,,", token), "alice"));
}

static void
test_no_initial_response(void)
{
	const struct sasl_mech *mechs[] = {&sasl_mech_oauthbearer,
	                                   &sasl_mech_xoauth2};
	char token[TOKEN_BUF];
	good_jwt(token, "alice");
	for (size_t i = 0; i < N_ELEMENTS(mechs); i++) {
		struct sasl_conn_info info = {.secured = true};
		struct sasl_session s;
		struct str out;
		str_init(&out, 4096);
		sasl_session_init(&s, mechs[i], &jwt_settings, &info,
		                  &users.db);
		test_assert(sasl_step(&s, NULL, 0, &out) == SASL_CONTINUE);
		test_assert(out.len == 0);
		int n =
		    snprintf(msg_buf, sizeof(msg_buf),
		             i == 0 ? "n,," SEP "auth=Bearer %s" SEP SEP
		                    : "user=alice" SEP "auth=Bearer %s" SEP SEP,
		             token);
		test_assert(sasl_step(&s, (const unsigned char *)msg_buf,
		                      (size_t)n, &out) == SASL_OK);
		test_assert(strcmp(s.user, "alice") == 0);
		sasl_session_free(&s);
		str_free(&out);
	}
}

static void
test_expiry(void)
{
	char claims[512];
	const char *alice = "\"sub\":\"alice\"";
	test_assert(claims_refused("RS256", rsa_key,
	                           claims_for(claims, 512, "alice", -120, "")));
	/* Within the 60 s of clock skew. */
	test_assert(claims_accepted("ES256", ec_key,
	                            claims_for(claims, 512, "alice", -30, "")));
	snprintf(claims, sizeof(claims),
	         "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",%s}", alice);
	test_assert(claims_refused("RS256", rsa_key, claims)); /* no exp */
	snprintf(claims, sizeof(claims),
	         "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\",%s,"
	         "\"exp\":\"%lld\"}",
	         alice, now_plus(300));
	test_assert(claims_refused("RS256", rsa_key, claims)); /* a string */
}

static void
test_not_before(void)
{
	char claims[512], extra[64];
	snprintf(extra, sizeof(extra), ",\"nbf\":%lld", now_plus(600));
	test_assert(claims_refused(
	    "RS256", rsa_key, claims_for(claims, 512, "alice", 900, extra)));
	snprintf(extra, sizeof(extra), ",\"nbf\":%lld", now_plus(30));
	test_assert(claims_accepted(
	    "RS256", rsa_key, claims_for(claims, 512, "alice", 900, extra)));
}

/* Claims with iss and aud given as JSON text. */
static const char *
claims_iss_aud(char *buf, size_t size, const char *iss, const char *aud)
{
	snprintf(buf, size, "{%s%s%s%s\"sub\":\"alice\",\"exp\":%lld}", iss,
	         iss[0] != '\0' ? "," : "", aud, aud[0] != '\0' ? "," : "",
	         now_plus(300));
	return buf;
}

static void
test_issuer_and_audience(void)
{
	char c[512];
	const char *iss = "\"iss\":\"" ISSUER "\"";
	const char *aud = "\"aud\":\"" AUDIENCE "\"";
	test_assert(claims_refused(
	    "RS256", rsa_key,
	    claims_iss_aud(c, 512, "\"iss\":\"https://evil.example\"", aud)));
	test_assert(
	    claims_refused("RS256", rsa_key, claims_iss_aud(c, 512, "", aud)));
	test_assert(
	    claims_refused("RS256", rsa_key,
	                   claims_iss_aud(c, 512, iss, "\"aud\":\"other\"")));
	test_assert(claims_refused(
	    "RS256", rsa_key,
	    claims_iss_aud(c, 512, iss, "\"aud\":[\"a\",\"b\"]")));
	test_assert(claims_refused("RS256", rsa_key,
	                           claims_iss_aud(c, 512, iss, "\"aud\":[]")));
	test_assert(
	    claims_refused("RS256", rsa_key, claims_iss_aud(c, 512, iss, "")));
	test_assert(claims_accepted(
	    "RS256", rsa_key,
	    claims_iss_aud(c, 512, iss, "\"aud\":[\"x\",\"" AUDIENCE "\"]")));
	/* Nothing configured: nothing required. */
	struct sasl_settings lax = jwt_settings;
	lax.oauth_issuer = lax.oauth_audience = NULL;
	char token[TOKEN_BUF];
	make_jwt(token, "RS256", rsa_key, claims_iss_aud(c, 512, "", ""));
	test_assert(validate(&lax, token) == OAUTH_OK);
	test_assert(validate(&jwt_settings, token) == OAUTH_INVALID);
}

static void
test_bad_signatures(void)
{
	char token[TOKEN_BUF], claims[512];
	claims_for(claims, sizeof(claims), "alice", 300, "");
	/* Signed by a key we do not know. */
	test_assert(claims_refused("RS256", stranger_key, claims));
	/* A changed payload under a good signature. */
	good_jwt(token, "alice");
	char other[TOKEN_BUF];
	good_jwt(other, "bob");
	char *dot = strchr(token, '.'), *odot = strchr(other, '.');
	char spliced[TOKEN_BUF];
	snprintf(spliced, sizeof(spliced), "%.*s%.*s%s", (int)(dot - token),
	         token, (int)(strrchr(other, '.') - odot), odot,
	         strrchr(token, '.'));
	test_assert(validate(&jwt_settings, spliced) == OAUTH_INVALID);
	/* An ES256 signature of the wrong length. */
	make_jwt(token, "ES256", ec_key, claims);
	token[strlen(token) - 4] = '\0';
	test_assert(validate(&jwt_settings, token) == OAUTH_INVALID);
	/* Key confusion: header ES256, RSA signature, and the reverse. */
	make_jwt_ex(token, "{\"alg\":\"ES256\"}", claims, "RS256", rsa_key);
	test_assert(token_refused(token));
	make_jwt_ex(token, "{\"alg\":\"RS256\"}", claims, "ES256", ec_key);
	test_assert(token_refused(token));
	/* RS256 header, PSS signature. */
	make_jwt_ex(token, "{\"alg\":\"RS256\"}", claims, "PS256", rsa_key);
	test_assert(token_refused(token));
}

static void
test_every_byte_matters(void)
{
	/* Changing any one character must break the token: the signature
	 * covers the header and payload, and base64url is strict. */
	char token[TOKEN_BUF], claims[512];
	make_jwt(token, "ES256", ec_key,
	         claims_for(claims, sizeof(claims), "alice", 300, ""));
	size_t len = strlen(token);
	test_assert(validate(&jwt_settings, token) == OAUTH_OK);
	for (size_t i = 0; i < len; i++) {
		char saved = token[i];
		token[i] = saved == 'A' ? 'B' : 'A';
		test_assert(validate(&jwt_settings, token) == OAUTH_INVALID);
		token[i] = saved;
	}
	/* And each truncation. */
	char user[USERDB_NAME_MAX + 1];
	for (size_t i = 0; i < len; i++)
		test_assert(oauth_validate(&jwt_settings, token, i, user,
		                           sizeof(user)) == OAUTH_INVALID &&
		            user[0] == '\0');
}

static void
test_forbidden_algs(void)
{
	char token[TOKEN_BUF], claims[512];
	claims_for(claims, sizeof(claims), "alice", 300, "");
	test_assert(claims_refused("none", NULL, claims));
	test_assert(claims_refused("HS256", NULL, claims));
	/* "none" with a signature anyway, and an unknown alg. */
	make_jwt_ex(token, "{\"alg\":\"none\"}", claims, "RS256", rsa_key);
	test_assert(token_refused(token));
	make_jwt_ex(token, "{\"alg\":\"ES512\"}", claims, "ES256", ec_key);
	test_assert(token_refused(token));
	/* RFC 7515 4.1.11: unknown critical extensions. */
	make_jwt_ex(token, "{\"alg\":\"RS256\",\"crit\":[\"exp\"]}", claims,
	            "RS256", rsa_key);
	test_assert(token_refused(token));
	/* No alg, alg not a string, duplicate alg. */
	make_jwt_ex(token, "{\"typ\":\"JWT\"}", claims, "RS256", rsa_key);
	test_assert(token_refused(token));
	make_jwt_ex(token, "{\"alg\":256}", claims, "RS256", rsa_key);
	test_assert(token_refused(token));
	make_jwt_ex(token, "{\"alg\":\"HS256\",\"alg\":\"RS256\"}", claims,
	            "RS256", rsa_key);
	test_assert(token_refused(token));
}

static void
test_garbage_tokens(void)
{
	static const char *const garbage[] = {
	    "abc",
	    "a.b.c",
	    "..",
	    "...",
	    "a.b.c.d.e",
	    "eyJhbGciOiJSUzI1NiJ9",
	    "eyJhbGciOiJSUzI1NiJ9..",
	    "eyJhbGciOiJSUzI1NiJ9=.e30.AAAA",
	    "====",
	    "=abc",
	    "ab c",
	    "ab\"c",
	};
	for (size_t i = 0; i < N_ELEMENTS(garbage); i++)
		test_assert(token_refused(garbage[i]));
	char user[8];
	test_assert(oauth_validate(&jwt_settings, "", 0, user, sizeof(user)) ==
	            OAUTH_INVALID);
	/* Valid JSON of the wrong shape, or nested too deep. */
	char token[TOKEN_BUF], claims[512];
	make_jwt_ex(token, "[\"RS256\"]", "{}", "RS256", rsa_key);
	test_assert(token_refused(token));
	test_assert(claims_refused("RS256", rsa_key, "[]"));
	test_assert(claims_refused("RS256", rsa_key, "not json"));
	char deep[256] = "";
	for (int i = 0; i < 20; i++)
		strcat(deep, "[");
	for (int i = 0; i < 20; i++)
		strcat(deep, "]");
	char extra[300];
	snprintf(extra, sizeof(extra), ",\"x\":%s", deep);
	test_assert(claims_refused(
	    "RS256", rsa_key, claims_for(claims, 512, "alice", 300, extra)));
	test_assert(claims_refused(
	    "RS256", rsa_key,
	    claims_for(claims, 512, "alice", 300, ",\"sub\":\"bob\"")));
}

static void
test_token_size(void)
{
	char *pad = xcalloc(1, OAUTH_TOKEN_MAX);
	char *claims = xcalloc(1, OAUTH_TOKEN_MAX + 200);
	char token[TOKEN_BUF];
	/* Base64url grows 4/3: 5500 bytes of padding fit in 8 KiB, 6500 do
	 * not. */
	memset(pad, 'x', 5500);
	snprintf(claims, OAUTH_TOKEN_MAX + 200,
	         "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
	         "\"sub\":\"alice\",\"exp\":%lld,\"pad\":\"%s\"}",
	         now_plus(300), pad);
	make_jwt(token, "RS256", rsa_key, claims);
	test_assert(strlen(token) <= OAUTH_TOKEN_MAX);
	test_assert(validate(&jwt_settings, token) == OAUTH_OK);
	memset(pad, 'x', 6500);
	snprintf(claims, OAUTH_TOKEN_MAX + 200,
	         "{\"iss\":\"" ISSUER "\",\"aud\":\"" AUDIENCE "\","
	         "\"sub\":\"alice\",\"exp\":%lld,\"pad\":\"%s\"}",
	         now_plus(300), pad);
	make_jwt(token, "RS256", rsa_key, claims);
	test_assert(strlen(token) > OAUTH_TOKEN_MAX);
	test_assert(token_refused(token));
	free(pad);
	free(claims);
}

static void
test_users(void)
{
	char token[TOKEN_BUF], claims[512];
	good_jwt(token, "alice");
	/* The token is alice's; the client names bob. */
	test_assert(refused(bearer("n,a=bob,", token), SASL_FAIL_AUTHZ));
	test_assert(refused(xoauth2("bob", token), SASL_FAIL_AUTHZ));
	test_assert(refused(xoauth2("Alice", token), SASL_FAIL_AUTHZ));
	test_assert(refused(bearer("n,a=alice=2C,", token), SASL_FAIL_AUTHZ));
	/* A good token for a user the store does not have. */
	good_jwt(token, "carol");
	test_assert(refused(bearer("n,,", token), SASL_FAIL_CREDENTIALS));
	test_assert(refused(xoauth2("carol", token), SASL_FAIL_CREDENTIALS));
	/* A name the store could not hold. */
	good_jwt(token, "../etc");
	test_assert(refused(bearer("n,,", token), SASL_FAIL_CREDENTIALS));
	/* No user claim. */
	make_jwt(token, "RS256", rsa_key, claims_iss_aud(claims, 512, "", ""));
	struct sasl_settings lax = jwt_settings;
	lax.oauth_issuer = lax.oauth_audience = NULL;
	lax.oauth_user_claim = "email";
	test_assert(validate(&lax, token) == OAUTH_INVALID);
	/* The configured claim names the user. */
	make_jwt(token, "RS256", rsa_key,
	         claims_for(claims, 512, "1234", 300,
	                    ",\"email\":\"alice@example.org\""));
	char user[USERDB_NAME_MAX + 1];
	test_assert(oauth_validate(&lax, token, strlen(token), user,
	                           sizeof(user)) == OAUTH_OK &&
	            strcmp(user, "alice@example.org") == 0);
	test_assert(oauth_validate(&lax, token, strlen(token), user, 8) ==
	                OAUTH_INVALID &&
	            user[0] == '\0');
}

static void
test_user_source_fails(void)
{
	char token[TOKEN_BUF];
	good_jwt(token, "alice");
	users.fail = true;
	test_assert(failed_now(bearer("n,,", token), SASL_FAIL_TEMPORARY));
	test_assert(failed_now(xoauth2("alice", token), SASL_FAIL_TEMPORARY));
	users.fail = false;
}

static void
test_failure_dance(void)
{
	const struct sasl_mech *mechs[] = {&sasl_mech_oauthbearer,
	                                   &sasl_mech_xoauth2};
	const char *first[] = {"n,," SEP "auth=Bearer x.y.z" SEP SEP,
	                       "user=alice" SEP "auth=Bearer x.y.z" SEP SEP};
	const char *errors[] = {BEARER_FAIL, XOAUTH_FAIL};
	/* Anything but the acknowledgement is malformed. */
	const char *wrong[] = {"x", SEP};
	for (size_t i = 0; i < N_ELEMENTS(mechs); i++) {
		struct sasl_conn_info info = {.secured = true};
		struct sasl_session s;
		struct str out;
		str_init(&out, 4096);
		sasl_session_init(&s, mechs[i], &jwt_settings, &info,
		                  &users.db);
		test_assert(sasl_step(&s, (const unsigned char *)first[i],
		                      strlen(first[i]), &out) == SASL_CONTINUE);
		test_assert(strcmp(out.data, errors[i]) == 0);
		str_reset(&out);
		test_assert(sasl_step(&s, (const unsigned char *)wrong[i], 1,
		                      &out) == SASL_FAIL);
		test_assert(s.failure == SASL_FAIL_MALFORMED);
		/* Finished stays finished. */
		test_assert(sasl_step(&s, (const unsigned char *)SEP, 1,
		                      &out) == SASL_FAIL);
		sasl_session_free(&s);
		str_free(&out);
	}
}

static struct outcome
raw(const struct sasl_mech *mech, const char *msg, size_t len)
{
	return exchange_with(&jwt_settings, mech, msg, len);
}

static void
test_malformed_oauthbearer(void)
{
	static const char *const bad[] = {
	    SEP,
	    "n,,",
	    "n,," SEP,
	    "n,," SEP SEP,
	    "n,," SEP "auth=Bearer T",
	    "n,," SEP "auth=Bearer T" SEP,
	    "n,," SEP "auth=Bearer T" SEP SEP SEP,
	    "n,," SEP "auth=Bearer T" SEP SEP "x",
	    "n,," SEP "auth=Bearer T" SEP "auth=Bearer T" SEP SEP,
	    "n,," SEP "auth=Basic dXNlcjpwdw==" SEP SEP,
	    "n,," SEP "auth=Bearer" SEP SEP,
	    "n,," SEP "auth=Bearer " SEP SEP,
	    "n,," SEP "auth=BearerT" SEP SEP,
	    "n,," SEP "au1h=x" SEP "auth=Bearer T" SEP SEP,
	    "n,," SEP "=x" SEP "auth=Bearer T" SEP SEP,
	    "n,," SEP "host" SEP "auth=Bearer T" SEP SEP,
	    "n,," SEP "host=a\x02" SEP "auth=Bearer T" SEP SEP,
	    "n,," SEP "auth=Bearer T\x7f" SEP SEP,
	    "n," SEP "auth=Bearer T" SEP SEP,
	    "n" SEP "auth=Bearer T" SEP SEP,
	    "n,a=," SEP "auth=Bearer T" SEP SEP,
	    "n,b=alice," SEP "auth=Bearer T" SEP SEP,
	    "n,a=al=ice," SEP "auth=Bearer T" SEP SEP,
	    "n,a=alice=2," SEP "auth=Bearer T" SEP SEP,
	    "N,," SEP "auth=Bearer T" SEP SEP,
	    "n,,x" SEP "auth=Bearer T" SEP SEP,
	    "auth=Bearer T" SEP SEP,
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(failed_now(
		    raw(&sasl_mech_oauthbearer, bad[i], strlen(bad[i])),
		    SASL_FAIL_MALFORMED));
	test_assert(failed_now(raw(&sasl_mech_oauthbearer, "", 0),
	                       SASL_FAIL_MALFORMED));
	static const char nul[] = "n,a=al\0ice," SEP "auth=Bearer T" SEP SEP;
	test_assert(
	    failed_now(raw(&sasl_mech_oauthbearer, nul, sizeof(nul) - 1),
	               SASL_FAIL_MALFORMED));
	/* Well-formed, though the token is not: a refusal, not an error.
	 * The scheme is case-insensitive, unknown keys are ignored. */
	const char *ok = "n,," SEP "AUTH=x" SEP "auth=bEARER  T" SEP SEP;
	test_assert(refused(raw(&sasl_mech_oauthbearer, ok, strlen(ok)),
	                    SASL_FAIL_CREDENTIALS));
}

static void
test_malformed_xoauth2(void)
{
	static const char *const bad[] = {
	    SEP,
	    "user=alice" SEP "auth=Bearer T" SEP,
	    "user=alice" SEP SEP,
	    "auth=Bearer T" SEP SEP,
	    "user=" SEP "auth=Bearer T" SEP SEP,
	    "user=alice" SEP "user=alice" SEP "auth=Bearer T" SEP SEP,
	    "user=alice" SEP "auth=Bearer T" SEP SEP SEP,
	    "user=alice" SEP "auth=T" SEP SEP,
	    "user=alice auth=Bearer T" SEP SEP,
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(
		    failed_now(raw(&sasl_mech_xoauth2, bad[i], strlen(bad[i])),
		               SASL_FAIL_MALFORMED));
	test_assert(
	    failed_now(raw(&sasl_mech_xoauth2, "", 0), SASL_FAIL_MALFORMED));
}

static void
test_channel_binding_refused(void)
{
	char token[TOKEN_BUF];
	good_jwt(token, "alice");
	test_assert(failed_now(bearer("y,,", token), SASL_FAIL_MALFORMED));
	test_assert(
	    failed_now(bearer("y,a=alice,", token), SASL_FAIL_MALFORMED));
	test_assert(
	    failed_now(bearer("p=tls-unique,,", token), SASL_FAIL_MALFORMED));
	test_assert(failed_now(bearer("p=tls-exporter,a=alice,", token),
	                       SASL_FAIL_MALFORMED));
}

static void
test_mechanism_properties(void)
{
	struct sasl_settings none = {0};
	struct sasl_settings url = {.oauth_introspect_url = "https://x/"};
	const struct sasl_mech *mechs[] = {&sasl_mech_oauthbearer,
	                                   &sasl_mech_xoauth2};
	for (size_t i = 0; i < N_ELEMENTS(mechs); i++) {
		test_assert(mechs[i]->flags == SASL_MECH_PLAINTEXT);
		test_assert(!mechs[i]->available(&none));
		test_assert(mechs[i]->available(&url));
		test_assert(mechs[i]->available(&jwt_settings));
		test_assert(
		    !sasl_mech_usable(mechs[i], &jwt_settings, false, false));
		test_assert(
		    sasl_mech_usable(mechs[i], &jwt_settings, true, false));
	}
	test_assert(sasl_mech_find("oauthbearer", 11) ==
	            &sasl_mech_oauthbearer);
	test_assert(sasl_mech_find("XOAUTH2", 7) == &sasl_mech_xoauth2);
	char token[TOKEN_BUF];
	test_assert(validate(&none, good_jwt(token, "alice")) == OAUTH_INVALID);
}

/* ---- Key files ---- */

static void
write_keys(const char *path, EVP_PKEY *const *keys, size_t count,
           const char *trailer)
{
	FILE *f = fopen(path, "w");
	test_assert(f != NULL);
	for (size_t i = 0; i < count; i++)
		test_assert(PEM_write_PUBKEY(f, keys[i]) == 1);
	fputs(trailer, f);
	fclose(f);
}

/* oauth_init() on a file holding keys and trailer: 0 or -1. */
static int
init_with(EVP_PKEY *const *keys, size_t count, const char *trailer)
{
	char path[] = "/tmp/test-oauth-init-XXXXXX";
	int fd = mkstemp(path);
	test_assert(fd >= 0);
	close(fd);
	write_keys(path, keys, count, trailer);
	struct sasl_settings settings = {.oauth_jwt_key_file = path};
	const char *error = NULL;
	int ret = oauth_init(&settings, &error);
	test_assert((ret == 0) == (error == NULL));
	test_assert((ret == 0) == (settings.oauth_state != NULL));
	oauth_deinit(&settings);
	test_assert(settings.oauth_state == NULL);
	unlink(path);
	return ret;
}

static void
test_key_files(void)
{
	EVP_PKEY *small = EVP_RSA_gen(1024);
	EVP_PKEY *p521 = EVP_EC_gen("P-521");
	EVP_PKEY *p384 = EVP_EC_gen("P-384");
	EVP_PKEY *two[] = {rsa_key, ec_key};
	EVP_PKEY *many[OAUTH_KEYS_MAX + 1];
	for (size_t i = 0; i < N_ELEMENTS(many); i++)
		many[i] = ec_key;
	test_assert(init_with(two, 2, "") == 0);
	test_assert(init_with(&p384, 1, "\n") == 0);
	test_assert(init_with(many, OAUTH_KEYS_MAX, "") == 0);
	test_assert(init_with(many, OAUTH_KEYS_MAX + 1, "") < 0);
	test_assert(init_with(NULL, 0, "") < 0);
	test_assert(init_with(NULL, 0, "not a key\n") < 0);
	test_assert(init_with(&small, 1, "") < 0);
	test_assert(init_with(&p521, 1, "") < 0);
	test_assert(init_with(two, 2,
	                      "-----BEGIN PUBLIC KEY-----\nAAAA\n"
	                      "-----END PUBLIC KEY-----\n") < 0);
	struct sasl_settings missing = {.oauth_jwt_key_file = "/nonexistent"};
	const char *error = NULL;
	test_assert(oauth_init(&missing, &error) < 0 && error != NULL);
	test_assert(missing.oauth_state == NULL);
	struct sasl_settings none = {0};
	test_assert(oauth_init(&none, &error) == 0 && none.oauth_state == NULL);
	EVP_PKEY_free(small);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(p384);
}

/* ---- Introspection ---- */

struct http_server {
	int listen_fd;
	const char *status; /* "200 OK" */
	const char *body;
	char request[16384];
	size_t request_len;
	pthread_t thread;
};

static bool
http_request_complete(const struct http_server *h)
{
	const char *end = strstr(h->request, "\r\n\r\n");
	if (end == NULL)
		return false;
	const char *cl = strcasestr(h->request, "\r\nContent-Length:");
	size_t body = cl != NULL ? strtoul(cl + 17, NULL, 10) : 0;
	return h->request_len >= (size_t)(end + 4 - h->request) + body;
}

static void
http_read_request(struct http_server *h, int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (!http_request_complete(h) &&
	       h->request_len < sizeof(h->request) - 1 &&
	       poll(&pfd, 1, 5000) == 1) {
		ssize_t n = recv(fd, h->request + h->request_len,
		                 sizeof(h->request) - 1 - h->request_len, 0);
		if (n <= 0)
			break;
		h->request_len += (size_t)n;
		h->request[h->request_len] = '\0';
	}
}

static void *
http_serve(void *context)
{
	struct http_server *h = context;
	struct pollfd pfd = {.fd = h->listen_fd, .events = POLLIN};
	if (poll(&pfd, 1, 10000) != 1)
		return NULL;
	int fd = accept(h->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	http_read_request(h, fd);
	char head[256];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                 h->status, strlen(h->body));
	if (send(fd, head, (size_t)n, MSG_NOSIGNAL) == n)
		(void)send(fd, h->body, strlen(h->body), MSG_NOSIGNAL);
	close(fd);
	return NULL;
}

/* Listens on 127.0.0.1 at a free port, and points intro_url at it. */
static void
http_start(struct http_server *h, const char *status, const char *body)
{
	memset(h, 0, sizeof(*h));
	h->status = status;
	h->body = body;
	h->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sin);
	test_assert(bind(h->listen_fd, (struct sockaddr *)&sin, len) == 0 &&
	            listen(h->listen_fd, 1) == 0 &&
	            getsockname(h->listen_fd, (struct sockaddr *)&sin, &len) ==
	                0);
	snprintf(intro_url, sizeof(intro_url), "http://127.0.0.1:%d/introspect",
	         ntohs(sin.sin_port));
	test_assert(pthread_create(&h->thread, NULL, http_serve, h) == 0);
}

static void
http_stop(struct http_server *h)
{
	pthread_join(h->thread, NULL);
	close(h->listen_fd);
}

static enum oauth_result
introspect(struct http_server *h, const char *status, const char *body,
           const char *token, char *user, size_t size)
{
	http_start(h, status, body);
	enum oauth_result r =
	    oauth_validate(&intro_settings, token, strlen(token), user, size);
	http_stop(h);
	return r;
}

/* An answer for an active token of user, expiring in exp_in seconds. */
static const char *
active_reply(char *buf, size_t size, const char *user, long exp_in)
{
	snprintf(buf, size,
	         "{\"active\":true,\"username\":\"%s\",\"exp\":%lld,"
	         "\"aud\":[\"" AUDIENCE "\"],\"iss\":\"" ISSUER "\"}",
	         user, now_plus(exp_in));
	return buf;
}

static void
test_introspect_request(void)
{
	struct http_server h;
	char reply[512], user[USERDB_NAME_MAX + 1];
	active_reply(reply, sizeof(reply), "alice", 300);
	test_assert(introspect(&h, "200 OK", reply, "opaque~tok+/x==", user,
	                       sizeof(user)) == OAUTH_OK);
	test_assert(strcmp(user, "alice") == 0);
	test_assert(strncmp(h.request, "POST /introspect HTTP/1.1\r\n", 27) ==
	            0);
	char basic[64];
	base64_encode((const unsigned char *)"casella-id:s3cret", 17, basic);
	char auth[128];
	snprintf(auth, sizeof(auth), "\r\nAuthorization: Basic %s\r\n", basic);
	test_assert(strcasestr(h.request, auth) != NULL);
	test_assert(strcasestr(h.request, "\r\nContent-Type: application/"
	                                  "x-www-form-urlencoded\r\n") != NULL);
	const char *body = strstr(h.request, "\r\n\r\n");
	test_assert(body != NULL &&
	            strcmp(body + 4, "token=opaque~tok%2B%2Fx%3D%3D"
	                             "&token_type_hint=access_token") == 0);
}

static void
test_introspect_answers(void)
{
	struct http_server h;
	char reply[512], user[USERDB_NAME_MAX + 1];
	const char *t = "opaque-token";
	test_assert(introspect(&h, "200 OK", "{\"active\":false}", t, user,
	                       sizeof(user)) == OAUTH_INVALID);
	test_assert(introspect(&h, "200 OK",
	                       "{\"active\":\"true\",\"username\":\"alice\"}",
	                       t, user, sizeof(user)) == OAUTH_INVALID);
	test_assert(introspect(&h, "200 OK",
	                       active_reply(reply, 512, "alice", -300), t, user,
	                       sizeof(user)) == OAUTH_INVALID);
	test_assert(introspect(&h, "200 OK",
	                       "{\"active\":true,\"username\":\"alice\","
	                       "\"aud\":\"other\",\"iss\":\"" ISSUER "\"}",
	                       t, user, sizeof(user)) == OAUTH_INVALID);
	/* exp is optional in an answer. */
	test_assert(introspect(&h, "200 OK",
	                       "{\"active\":true,\"username\":\"alice\","
	                       "\"aud\":\"" AUDIENCE "\",\"iss\":\"" ISSUER
	                       "\"}",
	                       t, user, sizeof(user)) == OAUTH_OK);
	/* The endpoint's failures are temporary. */
	test_assert(introspect(&h, "500 Oops", "{}", t, user, sizeof(user)) ==
	            OAUTH_TEMPFAIL);
	test_assert(introspect(&h, "401 Unauthorized", "{}", t, user,
	                       sizeof(user)) == OAUTH_TEMPFAIL);
	test_assert(introspect(&h, "200 OK", "<html>", t, user, sizeof(user)) ==
	            OAUTH_TEMPFAIL);
	char *big = xcalloc(1, OAUTH_INTROSPECT_BODY_MAX + 16);
	memset(big, ' ', OAUTH_INTROSPECT_BODY_MAX + 8);
	big[0] = '{';
	big[OAUTH_INTROSPECT_BODY_MAX + 8] = '}';
	test_assert(introspect(&h, "200 OK", big, t, user, sizeof(user)) ==
	            OAUTH_TEMPFAIL);
	free(big);
}

static void
test_introspect_unreachable(void)
{
	/* A port nobody listens on. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(sin);
	test_assert(bind(fd, (struct sockaddr *)&sin, len) == 0 &&
	            getsockname(fd, (struct sockaddr *)&sin, &len) == 0);
	snprintf(intro_url, sizeof(intro_url), "http://127.0.0.1:%d/",
	         ntohs(sin.sin_port));
	test_assert(validate(&intro_settings, "opaque") == OAUTH_TEMPFAIL);
	close(fd);
	test_assert(failed_now(xoauth2_with(&intro_settings, "alice", "opaque"),
	                       SASL_FAIL_TEMPORARY));
	/* A JWT is checked by key, without asking the endpoint. */
	char token[TOKEN_BUF];
	test_assert(logged_in(
	    xoauth2_with(&intro_settings, "alice", good_jwt(token, "alice")),
	    "alice"));
}

static void
test_introspect_login(void)
{
	struct http_server h;
	char reply[512];
	http_start(&h, "200 OK", active_reply(reply, 512, "bob", 300));
	test_assert(
	    logged_in(xoauth2_with(&intro_settings, "bob", "opaque"), "bob"));
	http_stop(&h);
	http_start(&h, "200 OK", active_reply(reply, 512, "bob", 300));
	test_assert(refused(xoauth2_with(&intro_settings, "alice", "opaque"),
	                    SASL_FAIL_AUTHZ));
	http_stop(&h);
}

/* ---- Setup ---- */

static void
setup(void)
{
	rsa_key = EVP_RSA_gen(2048);
	ec_key = EVP_EC_gen("P-256");
	stranger_key = EVP_RSA_gen(2048);
	test_assert(rsa_key != NULL && ec_key != NULL && stranger_key != NULL);
	int fd = mkstemp(key_path);
	test_assert(fd >= 0);
	close(fd);
	EVP_PKEY *keys[] = {rsa_key, ec_key};
	write_keys(key_path, keys, 2, "");
	jwt_settings.oauth_jwt_key_file = key_path;
	intro_settings.oauth_jwt_key_file = key_path;
	const char *error = NULL;
	if (oauth_init(&jwt_settings, &error) < 0 ||
	    oauth_init(&intro_settings, &error) < 0)
		fatal("oauth_init: %s", error);
	userdb_memory_init(&users);
	userdb_memory_set(&users, "alice", USERDB_PASSWORD, "x");
	userdb_memory_set(&users, "bob", USERDB_PASSWORD, "x");
	userdb_memory_set(&users, "alice@example.org", USERDB_PASSWORD, "x");
	/* The test server is local, whatever proxy the environment names. */
	setenv("no_proxy", "127.0.0.1", 1);
	log_set_level(LOG_ERROR);
}

static void
teardown(void)
{
	oauth_deinit(&jwt_settings);
	oauth_deinit(&intro_settings);
	unlink(key_path);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(stranger_key);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"valid tokens log in", test_valid_tokens},
	    {"no initial response", test_no_initial_response},
	    {"expiry", test_expiry},
	    {"not before", test_not_before},
	    {"issuer and audience", test_issuer_and_audience},
	    {"bad signatures", test_bad_signatures},
	    {"every byte matters", test_every_byte_matters},
	    {"forbidden algs", test_forbidden_algs},
	    {"garbage tokens", test_garbage_tokens},
	    {"token size", test_token_size},
	    {"users", test_users},
	    {"user source fails", test_user_source_fails},
	    {"failure dance", test_failure_dance},
	    {"malformed OAUTHBEARER", test_malformed_oauthbearer},
	    {"malformed XOAUTH2", test_malformed_xoauth2},
	    {"channel binding refused", test_channel_binding_refused},
	    {"mechanism properties", test_mechanism_properties},
	    {"key files", test_key_files},
	    {"introspection request", test_introspect_request},
	    {"introspection answers", test_introspect_answers},
	    {"introspection unreachable", test_introspect_unreachable},
	    {"introspection login", test_introspect_login},
	};
	setup();
	int ret = test_run("oauth", cases, N_ELEMENTS(cases));
	teardown();
	return ret;
}
