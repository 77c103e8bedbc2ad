/*
 * CRAM-MD5 (RFC 2195): the server sends a challenge, the client answers
 * with its name and HMAC-MD5(password, challenge) (RFC 2104) in hex.
 *
 * The store keeps no password but the two MD5 states HMAC reaches after
 * the key pads (RFC 2104 4 suggests this precomputation), and finishes
 * HMAC from them.  OpenSSL 3 deprecates the low-level MD5 API, but EVP
 * can neither read nor set a digest's chaining state, and that state is
 * the stored secret; so this file alone suppresses the deprecation and
 * uses MD5_Init/MD5_Update/MD5_Final and MD5_CTX's public fields.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/md5.h>

#include "auth/credentials.h"
#include "auth/cram.h"
#include "auth/sasl.h"
#include "lib/util.h"

#define CRAM_MD5_PREFIX       "CRAM-MD5$"
#define CRAM_MD5_BLOCK        64 /* MD5's block: HMAC's B */
#define CRAM_MD5_STATE_BYTES  16 /* A, B, C, D, little-endian */
#define CRAM_MD5_HOSTNAME_MAX 255

enum cram_md5_phase {
	CRAM_MD5_WANT_SEND,     /* the challenge goes out next */
	CRAM_MD5_WANT_RESPONSE, /* "user digest" comes in next */
	CRAM_MD5_DONE,
};

/* The MD5 chaining states after the key pads: the stored secret. */
struct cram_md5_pads {
	MD5_LONG inner[4]; /* after one block of key ^ ipad */
	MD5_LONG outer[4]; /* after one block of key ^ opad */
};

struct cram_md5_state {
	char challenge[CRAM_MD5_CHALLENGE_MAX + 1]; /* as sent */
	size_t challenge_len;
};

/* The state after one block of key ^ pad (RFC 2104 2). */
static bool
cram_md5_pad_state(const unsigned char key[CRAM_MD5_BLOCK], unsigned char pad,
                   MD5_LONG state_r[4])
{
	unsigned char block[CRAM_MD5_BLOCK];
	MD5_CTX ctx;
	for (size_t i = 0; i < CRAM_MD5_BLOCK; i++)
		block[i] = key[i] ^ pad;
	bool ok =
	    MD5_Init(&ctx) == 1 && MD5_Update(&ctx, block, sizeof(block)) == 1;
	state_r[0] = ctx.A;
	state_r[1] = ctx.B;
	state_r[2] = ctx.C;
	state_r[3] = ctx.D;
	secure_zero(block, sizeof(block));
	secure_zero(&ctx, sizeof(ctx));
	return ok;
}

/* RFC 2104 2: a key longer than a block is replaced by its MD5. */
static bool
cram_md5_pads_make(const char *password, struct cram_md5_pads *pads_r)
{
	unsigned char key[CRAM_MD5_BLOCK] = {0};
	size_t len = strlen(password);
	bool ok = true;
	if (len > CRAM_MD5_BLOCK)
		ok = MD5((const unsigned char *)password, len, key) != NULL;
	else
		memcpy(key, password, len);
	ok = ok && cram_md5_pad_state(key, 0x36, pads_r->inner) &&
	     cram_md5_pad_state(key, 0x5c, pads_r->outer);
	secure_zero(key, sizeof(key));
	return ok;
}

/* Sets ctx as if it had just hashed one block and reached state. */
static bool
cram_md5_resume(MD5_CTX *ctx, const MD5_LONG state[4])
{
	if (MD5_Init(ctx) != 1)
		return false;
	ctx->A = state[0];
	ctx->B = state[1];
	ctx->C = state[2];
	ctx->D = state[3];
	ctx->Nl = CRAM_MD5_BLOCK * 8; /* bits hashed, low word */
	ctx->Nh = 0;
	return true;
}

/* HMAC-MD5(key, data), finished from the key's pad states. */
static bool
cram_md5_hmac(const struct cram_md5_pads *pads, const void *data, size_t len,
              unsigned char digest_r[MD5_DIGEST_LENGTH])
{
	unsigned char inner[MD5_DIGEST_LENGTH];
	MD5_CTX ctx;
	bool ok = cram_md5_resume(&ctx, pads->inner) &&
	          MD5_Update(&ctx, data, len) == 1 &&
	          MD5_Final(inner, &ctx) == 1 &&
	          cram_md5_resume(&ctx, pads->outer) &&
	          MD5_Update(&ctx, inner, sizeof(inner)) == 1 &&
	          MD5_Final(digest_r, &ctx) == 1;
	secure_zero(inner, sizeof(inner));
	secure_zero(&ctx, sizeof(ctx));
	return ok;
}

/* --- The credential: "CRAM-MD5$INNER$OUTER" ------------------------- */

/* A state as 32 hex digits: the words A, B, C, D, each as MD5 would
 * output it (little-endian), as RFC 1321 3.5 orders a digest. */
static void
cram_md5_state_hex(const MD5_LONG state[4], char *out)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < CRAM_MD5_STATE_BYTES; i++) {
		unsigned byte = (state[i / 4] >> (8 * (i % 4))) & 0xff;
		out[2 * i] = hex[byte >> 4];
		out[2 * i + 1] = hex[byte & 0xf];
	}
	out[2 * CRAM_MD5_STATE_BYTES] = '\0';
}

static bool
cram_md5_state_parse(const char *in, MD5_LONG state_r[4])
{
	memset(state_r, 0, 4 * sizeof(state_r[0]));
	for (size_t i = 0; i < CRAM_MD5_STATE_BYTES; i++) {
		int hi = hex_digit_value((unsigned char)in[2 * i]);
		int lo =
		    hi < 0 ? -1 : hex_digit_value((unsigned char)in[2 * i + 1]);
		if (lo < 0)
			return false;
		state_r[i / 4] |= (MD5_LONG)(hi << 4 | lo) << (8 * (i % 4));
	}
	return true;
}

static bool
cram_md5_credential_parse(const char *value, struct cram_md5_pads *pads_r)
{
	const size_t prefix = sizeof(CRAM_MD5_PREFIX) - 1;
	const size_t hex = 2 * CRAM_MD5_STATE_BYTES;
	return strlen(value) == prefix + hex + 1 + hex &&
	       strncmp(value, CRAM_MD5_PREFIX, prefix) == 0 &&
	       value[prefix + hex] == '$' &&
	       cram_md5_state_parse(value + prefix, pads_r->inner) &&
	       cram_md5_state_parse(value + prefix + hex + 1, pads_r->outer);
}

int
cram_md5_credential_make(const char *password, char *value_r, size_t size)
{
	struct cram_md5_pads pads;
	char inner[2 * CRAM_MD5_STATE_BYTES + 1];
	char outer[2 * CRAM_MD5_STATE_BYTES + 1];
	if (!cram_md5_pads_make(password, &pads))
		return -1;
	cram_md5_state_hex(pads.inner, inner);
	cram_md5_state_hex(pads.outer, outer);
	int n = snprintf(value_r, size, CRAM_MD5_PREFIX "%s$%s", inner, outer);
	secure_zero(&pads, sizeof(pads));
	secure_zero(inner, sizeof(inner));
	secure_zero(outer, sizeof(outer));
	if (n >= 0 && (size_t)n < size)
		return 0;
	if (size > 0)
		secure_zero(value_r, size);
	return -1;
}

/* --- The exchange --------------------------------------------------- */

enum sasl_result
cram_md5_challenge_send(struct sasl_session *s, const char *challenge,
                        struct str *out)
{
	i_assert(s->phase == CRAM_MD5_WANT_SEND && s->mech_state == NULL);
	struct cram_md5_state *st = xcalloc(1, sizeof(*st));
	st->challenge_len = strlen(challenge);
	i_assert(st->challenge_len > 0 &&
	         st->challenge_len <= CRAM_MD5_CHALLENGE_MAX);
	memcpy(st->challenge, challenge, st->challenge_len);
	s->mech_state = st;
	s->phase = CRAM_MD5_WANT_RESPONSE;
	str_append(out, st->challenge, st->challenge_len);
	return SASL_CONTINUE;
}

/* RFC 2195 2: a msg-id (RFC 822) of a random number, the time and our
 * name, unique to this exchange. */
static void
cram_md5_challenge_make(const struct sasl_settings *settings, char *out)
{
	const char *host = settings->hostname;
	if (host == NULL || host[0] == '\0' ||
	    strlen(host) > CRAM_MD5_HOSTNAME_MAX)
		host = "localhost";
	uint64_t random;
	sasl_random(&random, sizeof(random));
	snprintf(out, CRAM_MD5_CHALLENGE_MAX + 1, "<%" PRIu64 ".%lld@%s>",
	         random, (long long)time(NULL), host);
}

/* "user digest": the digest is the last 32 hex digits (RFC 2195 2 has
 * them lower case; either case is taken), the name all before the
 * space. */
static bool
cram_md5_response_parse(const unsigned char *in, size_t len, size_t *user_len_r,
                        unsigned char digest_r[MD5_DIGEST_LENGTH])
{
	const size_t hex = 2 * MD5_DIGEST_LENGTH;
	if (in == NULL || len < hex + 1 || in[len - hex - 1] != ' ')
		return false;
	for (size_t i = 0; i < MD5_DIGEST_LENGTH; i++) {
		int hi = hex_digit_value(in[len - hex + 2 * i]);
		int lo = hex_digit_value(in[len - hex + 2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		digest_r[i] = (unsigned char)(hi << 4 | lo);
	}
	*user_len_r = len - hex - 1;
	return true;
}

/* The user's pad states; for a user, name or credential that does not
 * exist, zero states, so that the digest is computed all the same. */
static bool
cram_md5_lookup(struct sasl_session *s, const char *user, size_t user_len,
                struct cram_md5_pads *pads_r, bool *known_r)
{
	char name[USERDB_NAME_MAX + 1], value[USERDB_VALUE_MAX];
	enum userdb_result r = USERDB_NOT_FOUND;
	memset(pads_r, 0, sizeof(*pads_r));
	if (sasl_user_name_valid(user, user_len)) {
		memcpy(name, user, user_len);
		name[user_len] = '\0';
		r = userdb_get(s->userdb, name, USERDB_CRAM_MD5, value,
		               sizeof(value));
	}
	*known_r = r == USERDB_OK;
	bool ok = r != USERDB_ERROR &&
	          (!*known_r || cram_md5_credential_parse(value, pads_r));
	if (*known_r)
		secure_zero(value, sizeof(value));
	if (r == USERDB_ERROR)
		sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	else if (!ok)
		sasl_fail(s, SASL_FAIL_TEMPORARY, "stored credential bad");
	return ok;
}

static enum sasl_result
cram_md5_response(struct sasl_session *s, const unsigned char *in,
                  size_t in_len)
{
	const struct cram_md5_state *st = s->mech_state;
	unsigned char digest[MD5_DIGEST_LENGTH], expected[MD5_DIGEST_LENGTH];
	struct cram_md5_pads pads;
	size_t user_len;
	bool known;
	s->phase = CRAM_MD5_DONE;
	if (!cram_md5_response_parse(in, in_len, &user_len, digest))
		return sasl_fail(s, SASL_FAIL_MALFORMED, "malformed response");
	const char *user = (const char *)in;
	if (!cram_md5_lookup(s, user, user_len, &pads, &known))
		return SASL_FAIL;
	bool computed =
	    cram_md5_hmac(&pads, st->challenge, st->challenge_len, expected);
	bool ok = computed && known &&
	          CRYPTO_memcmp(digest, expected, sizeof(digest)) == 0;
	secure_zero(&pads, sizeof(pads));
	secure_zero(expected, sizeof(expected));
	if (!computed)
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "MD5 failed");
	if (!ok)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, "wrong password");
	return sasl_set_user(s, user, user_len, NULL, 0) ? SASL_OK : SASL_FAIL;
}

/* The server speaks first: an initial response breaks the exchange. */
static enum sasl_result
cram_md5_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
              struct str *out)
{
	char challenge[CRAM_MD5_CHALLENGE_MAX + 1];
	switch (s->phase) {
	case CRAM_MD5_WANT_SEND:
		if (in != NULL)
			return sasl_fail(s, SASL_FAIL_MALFORMED,
			                 "initial response to CRAM-MD5");
		cram_md5_challenge_make(s->settings, challenge);
		return cram_md5_challenge_send(s, challenge, out);
	case CRAM_MD5_WANT_RESPONSE:
		return cram_md5_response(s, in, in_len);
	default:
		return sasl_fail(s, SASL_FAIL_MALFORMED, "exchange finished");
	}
}

static bool
cram_md5_available(const struct sasl_settings *settings)
{
	return settings->cram_md5;
}

static void
cram_md5_free(struct sasl_session *s)
{
	if (s->mech_state == NULL)
		return;
	secure_zero(s->mech_state, sizeof(struct cram_md5_state));
	free(s->mech_state);
	s->mech_state = NULL;
}

const struct sasl_mech sasl_mech_cram_md5 = {
    .name = "CRAM-MD5",
    .available = cram_md5_available,
    .step = cram_md5_step,
    .free = cram_md5_free,
};
