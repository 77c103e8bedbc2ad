/* OTP (RFC 2444): the one-time passwords of RFC 2289, answered with the
 * extended responses of RFC 2243.  A response is good once: accepting it
 * swaps the stored state atomically, so a replay fails, even one racing
 * the first use in another session (RFC 2289 10). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/otp.h"
#include "auth/sasl.h"
#include "lib/util.h"

/* RFC 2243 2.2: the input is limited.  The longest response, init-word
 * with a 16-character seed, is about 100 bytes; the rest is room for the
 * whitespace the server must accept. */
#define SASL_OTP_RESPONSE_MAX 512
/* Fields of an extended response, at most: type:current:params:new. */
#define SASL_OTP_FIELDS_MAX 4
/* The challenge an unknown user gets, as for a new md5 chain. */
#define SASL_OTP_FAKE_SEQ      499
#define SASL_OTP_FAKE_KEY_SIZE 32

enum sasl_otp_phase {
	OTP_WANT_IDENTITY, /* authzid NUL authcid */
	OTP_WANT_RESPONSE, /* the answer to the challenge */
};

struct sasl_otp_context {
	struct otp_state state;        /* what the challenge was made from */
	char stored[USERDB_VALUE_MAX]; /* the credential as read: the swap's
	                                  expected old value */
	const char *unusable;          /* why there is no real chain (the
	                                  challenge is fake), or NULL */
};

/* A parsed extended response (RFC 2243 2). */
struct sasl_otp_response {
	unsigned char current[OTP_KEY_SIZE]; /* the OTP for the challenge */
	bool init;                           /* init-hex or init-word */
	bool params_ok;                      /* init: new chain well formed */
	struct otp_state next;               /* init: the new chain */
};

static unsigned char sasl_otp_fake_key[SASL_OTP_FAKE_KEY_SIZE];
static pthread_once_t sasl_otp_fake_once = PTHREAD_ONCE_INIT;

static void
sasl_otp_fake_key_init(void)
{
	sasl_random(sasl_otp_fake_key, sizeof(sasl_otp_fake_key));
}

/* A chain for a user without one: the same user always gets the same
 * seed, derived with a process-random key, so asking twice tells
 * nothing.  Its key matches no response. */
static void
sasl_otp_fake_state(const char *user, struct otp_state *state_r)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	pthread_once(&sasl_otp_fake_once, sasl_otp_fake_key_init);
	if (HMAC(EVP_sha256(), sasl_otp_fake_key, sizeof(sasl_otp_fake_key),
	         (const unsigned char *)user, strlen(user), mac,
	         &mac_len) == NULL)
		fatal("HMAC-SHA256 failed");
	state_r->alg = OTP_ALG_MD5;
	state_r->seq = SASL_OTP_FAKE_SEQ + 1;
	otp_seed_from_bytes(mac, state_r->seed);
	memcpy(state_r->key, mac + 8, OTP_KEY_SIZE);
	secure_zero(mac, sizeof(mac));
}

/* Reads the user's chain, or makes a fake one.  Returns false if the
 * user source failed. */
static bool
sasl_otp_load(struct sasl_session *s, struct sasl_otp_context *ctx)
{
	enum userdb_result r = userdb_get(s->userdb, s->user, USERDB_OTP,
	                                  ctx->stored, sizeof(ctx->stored));
	if (r == USERDB_ERROR)
		return false;
	if (r != USERDB_OK)
		ctx->unusable = "no OTP credential";
	else if (!otp_state_parse(ctx->stored, &ctx->state))
		ctx->unusable = "unreadable OTP credential";
	else if (ctx->state.seq == 0)
		ctx->unusable = "OTP sequence used up";
	if (ctx->unusable != NULL)
		sasl_otp_fake_state(s->user, &ctx->state);
	return true;
}

/* RFC 2444: the first message is authzid NUL authcid; the server answers
 * with an extended challenge (RFC 2243 2), the RFC 2289 7 challenge and
 * "ext": "otp-md5 499 ke1234 ext". */
static enum sasl_result
sasl_otp_identity(struct sasl_session *s, const unsigned char *in,
                  size_t in_len, struct str *out)
{
	const unsigned char *nul = memchr(in, '\0', in_len);
	if (nul == NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "malformed OTP start");
	size_t authzid_len = (size_t)(nul - in);
	if (!sasl_set_user(s, (const char *)nul + 1, in_len - authzid_len - 1,
	                   (const char *)in, authzid_len))
		return SASL_FAIL;
	struct sasl_otp_context *ctx = xcalloc(1, sizeof(*ctx));
	s->mech_state = ctx;
	if (!sasl_otp_load(s, ctx))
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	str_printf(out, "otp-%s %u %s ext", otp_alg_name(ctx->state.alg),
	           ctx->state.seq - 1, ctx->state.seed);
	s->phase = OTP_WANT_RESPONSE;
	return SASL_CONTINUE;
}

/* Splits at ':' into at most SASL_OTP_FIELDS_MAX fields; returns how
 * many there are, or one more if there are more. */
static size_t
sasl_otp_fields(const char *s, size_t len, const char **field_r, size_t *len_r)
{
	size_t n = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ':')
			continue;
		if (n == SASL_OTP_FIELDS_MAX)
			return n + 1;
		field_r[n] = s + start;
		len_r[n++] = i - start;
		start = i + 1;
	}
	return n;
}

static bool
sasl_otp_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The type field, compared case-insensitively and with whitespace around
 * it (RFC 2243 2.2).  Sets whether it is an init-* and whether its OTPs
 * are in hex. */
static bool
sasl_otp_type_parse(const char *s, size_t len, bool *init_r, bool *hex_r)
{
	while (len > 0 && sasl_otp_is_space(s[0]))
		s++, len--;
	while (len > 0 && sasl_otp_is_space(s[len - 1]))
		len--;
	*hex_r = mem_case_eq(s, len, "hex") || mem_case_eq(s, len, "init-hex");
	*init_r =
	    mem_case_eq(s, len, "init-hex") || mem_case_eq(s, len, "init-word");
	return *hex_r || *init_r || mem_case_eq(s, len, "word");
}

static bool
sasl_otp_key_parse(bool hex, const char *s, size_t len,
                   unsigned char key_r[OTP_KEY_SIZE])
{
	return hex ? otp_key_from_hex(s, len, key_r)
	           : otp_key_from_words(s, len, key_r);
}

/* RFC 2243 init-*: new-params, then the new chain's OTP at that
 * sequence (the next challenge is one lower).  The seed must change: the
 * same seed and pass phrase would bring back one-time passwords already
 * seen on the wire. */
static bool
sasl_otp_init_parse(const struct otp_state *cur, bool hex,
                    const char *const field[2], const size_t len[2],
                    struct otp_state *next_r)
{
	return otp_params_parse(field[0], len[0], next_r) && next_r->seq >= 1 &&
	       next_r->seq <= OTP_SEQ_MAX &&
	       strcmp(next_r->seed, cur->seed) != 0 &&
	       sasl_otp_key_parse(hex, field[1], len[1], next_r->key);
}

/*
 * Parses "hex:", "word:", "init-hex:" or "init-word:", the responses
 * RFC 2243 defines; RFC 2444 has the client send them.
 * Returns false if the type or the current OTP is malformed.  A bad rest
 * of an init-* only clears params_ok: the current OTP, if right, must
 * still be used up, since it crossed the wire.
 */
static bool
sasl_otp_response_parse(const struct otp_state *cur, const unsigned char *in,
                        size_t in_len, struct sasl_otp_response *resp_r)
{
	const char *field[SASL_OTP_FIELDS_MAX];
	size_t len[SASL_OTP_FIELDS_MAX];
	bool hex;
	if (in == NULL || in_len > SASL_OTP_RESPONSE_MAX ||
	    memchr(in, '\0', in_len) != NULL)
		return false;
	size_t n = sasl_otp_fields((const char *)in, in_len, field, len);
	if (n < 2 ||
	    !sasl_otp_type_parse(field[0], len[0], &resp_r->init, &hex) ||
	    (!resp_r->init && n != 2) ||
	    !sasl_otp_key_parse(hex, field[1], len[1], resp_r->current))
		return false;
	resp_r->params_ok =
	    resp_r->init && n == 4 &&
	    sasl_otp_init_parse(cur, hex, field + 2, len + 2, &resp_r->next);
	return true;
}

/* RFC 2289 8: the response is right if one more step gives the stored
 * OTP.  Returns 1 if so, 0 if not, -1 if the hash failed. */
static int
sasl_otp_verify(const struct sasl_otp_context *ctx,
                const unsigned char current[OTP_KEY_SIZE])
{
	unsigned char next[OTP_KEY_SIZE];
	if (otp_hash_fold(ctx->state.alg, current, OTP_KEY_SIZE, next) < 0)
		return -1;
	bool match = CRYPTO_memcmp(next, ctx->state.key, OTP_KEY_SIZE) == 0;
	return match && ctx->unusable == NULL ? 1 : 0;
}

/* The state after a right response: the new chain of a good init-*,
 * otherwise the response itself, one step down. */
static void
sasl_otp_next_state(const struct sasl_otp_context *ctx,
                    const struct sasl_otp_response *resp,
                    struct otp_state *next_r)
{
	if (resp->init && resp->params_ok) {
		*next_r = resp->next;
		return;
	}
	*next_r = ctx->state;
	next_r->seq--;
	memcpy(next_r->key, resp->current, OTP_KEY_SIZE);
}

/* Uses up the right response with one atomic swap; only the first
 * session to swap wins. */
static enum sasl_result
sasl_otp_consume(struct sasl_session *s, const struct sasl_otp_context *ctx,
                 const struct sasl_otp_response *resp)
{
	struct otp_state next;
	char value[USERDB_VALUE_MAX];
	sasl_otp_next_state(ctx, resp, &next);
	if (otp_state_format(&next, value, sizeof(value)) < 0)
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "OTP state too long");
	enum userdb_result r =
	    userdb_swap(s->userdb, s->user, USERDB_OTP, ctx->stored, value);
	if (r == USERDB_ERROR)
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	if (r != USERDB_OK)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, "OTP already used");
	if (resp->init && !resp->params_ok)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "bad OTP init params");
	/* The last OTP of a chain only serves to start a new one. */
	if (!resp->init && ctx->state.seq == 1)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, "OTP needs re-init");
	return SASL_OK;
}

/* Checks a parsed response against the challenge, then uses it up. */
static enum sasl_result
sasl_otp_check(struct sasl_session *s, const struct sasl_otp_context *ctx,
               const struct sasl_otp_response *resp)
{
	int v = sasl_otp_verify(ctx, resp->current);
	if (v < 0)
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "hash failed");
	if (v == 0)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 ctx->unusable != NULL ? ctx->unusable
		                                       : "wrong OTP");
	return sasl_otp_consume(s, ctx, resp);
}

static enum sasl_result
sasl_otp_answer(struct sasl_session *s, const unsigned char *in, size_t in_len)
{
	struct sasl_otp_context *ctx = s->mech_state;
	struct sasl_otp_response resp;
	memset(&resp, 0, sizeof(resp));
	enum sasl_result r =
	    sasl_otp_response_parse(&ctx->state, in, in_len, &resp)
	        ? sasl_otp_check(s, ctx, &resp)
	        : sasl_fail(s, SASL_FAIL_MALFORMED, "malformed OTP");
	secure_zero(&resp, sizeof(resp));
	return r;
}

static enum sasl_result
sasl_otp_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
              struct str *out)
{
	switch (s->phase) {
	case OTP_WANT_IDENTITY:
		if (in == NULL)
			return SASL_CONTINUE; /* empty: the client goes first */
		return sasl_otp_identity(s, in, in_len, out);
	case OTP_WANT_RESPONSE:
		return sasl_otp_answer(s, in, in_len);
	default:
		return sasl_fail(s, SASL_FAIL_MALFORMED, "OTP exchange over");
	}
}

static void
sasl_otp_free(struct sasl_session *s)
{
	if (s->mech_state == NULL)
		return;
	secure_zero(s->mech_state, sizeof(struct sasl_otp_context));
	free(s->mech_state);
	s->mech_state = NULL;
}

/* The response is good once, so it may cross an unencrypted connection
 * (RFC 2444, security considerations): flags 0. */
const struct sasl_mech sasl_mech_otp = {
    .name = "OTP",
    .flags = 0,
    .step = sasl_otp_step,
    .free = sasl_otp_free,
};
