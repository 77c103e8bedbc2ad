/*
 * SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677), and their -PLUS
 * variants with channel binding: tls-server-end-point and tls-unique
 * (RFC 5929), tls-exporter (RFC 9266).  The server checks the client's
 * proof against the RFC 5803 credential in the store and never sees the
 * password.
 *
 * No SASLprep (RFC 4013, required by RFC 5802 5.1): user names are ASCII
 * by the store's rules (sasl_user_name_valid()), and passwords are used
 * as given, byte for byte, both here and when credentials are made.  A
 * client that normalises a non-ASCII password to other bytes than the
 * ones it was set with fails to log in; ASCII passwords are unaffected.
 */
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "auth/credentials.h"
#include "auth/sasl.h"
#include "auth/scram.h"
#include "lib/base64.h"
#include "lib/util.h"

/* Bytes in one client message, at most: real ones take about 100. */
#define SCRAM_MESSAGE_MAX 1024
/* Characters in the client's nonce and in ours, at most. */
#define SCRAM_CNONCE_MAX 255
#define SCRAM_SNONCE_MAX 64
/* Salt bytes in a stored credential, at most. */
#define SCRAM_SALT_MAX 64
/* The largest digest: SHA-256. */
#define SCRAM_HASH_MAX 32
/* "p=" cb-name (the longest we accept, tls-server-end-point, is 20) ","
 * "a=" saslname ",": each byte of a name takes up to 3 ("=2C"). */
#define SCRAM_GS2_HEADER_MAX (2 + 20 + 1 + 2 + 3 * USERDB_NAME_MAX + 1)
/* Channel-binding data: the largest array of struct sasl_conn_info. */
#define SCRAM_CBIND_DATA_MAX  64
#define SCRAM_CBIND_INPUT_MAX (SCRAM_GS2_HEADER_MAX + SCRAM_CBIND_DATA_MAX)
/* client-first-bare, server-first and client-final-without-proof. */
#define SCRAM_AUTH_MESSAGE_MAX (3 * SCRAM_MESSAGE_MAX)
/* Length of the base64 of n bytes, and room for it with its NUL. */
#define SCRAM_B64_LEN(n)  (4 * (((n) + 2) / 3))
#define SCRAM_B64_SIZE(n) (SCRAM_B64_LEN(n) + 1)

static_assert(SCRAM_SNONCE_BYTES % 3 == 0, "a server nonce has no padding");
static_assert(SCRAM_B64_LEN(SCRAM_SNONCE_BYTES) <= SCRAM_SNONCE_MAX,
              "a random server nonce fits");
static_assert(SCRAM_SALT_BYTES <= SCRAM_SALT_MAX, "a made salt fits");

/* One hash function of the SCRAM family. */
struct scram_hash {
	const char *name;          /* "SCRAM-SHA-1": the RFC 5803 prefix */
	enum userdb_kind kind;     /* the credential it uses */
	const EVP_MD *(*md)(void); /* OpenSSL's implementation */
	size_t len;                /* digest bytes */
};

static const struct scram_hash scram_sha1 = {"SCRAM-SHA-1", USERDB_SCRAM_SHA1,
                                             EVP_sha1, 20};
static const struct scram_hash scram_sha256 = {
    "SCRAM-SHA-256", USERDB_SCRAM_SHA256, EVP_sha256, 32};

/* What an RFC 5803 credential holds. */
struct scram_credential {
	unsigned iterations;                      /* i= */
	unsigned char salt[SCRAM_SALT_MAX];       /* s= */
	size_t salt_len;                          /* bytes used in salt */
	unsigned char stored_key[SCRAM_HASH_MAX]; /* H(ClientKey) */
	unsigned char server_key[SCRAM_HASH_MAX]; /* signs our answer */
};

enum scram_phase {
	SCRAM_WANT_FIRST, /* client-first-message next */
	SCRAM_WANT_FINAL, /* client-final-message next */
	SCRAM_DONE,
};

/* A session's state between the two client messages. */
struct scram_state {
	const struct scram_hash *hash;
	struct scram_credential cred;      /* the user's, or a fake one */
	bool known;                        /* cred is the user's own */
	char authcid[USERDB_NAME_MAX + 1]; /* n=, decoded */
	size_t authcid_len;
	char authzid[USERDB_NAME_MAX + 1]; /* a=, decoded, or "" */
	size_t authzid_len;
	/* gs2-header || channel-binding data: c= must be its base64. */
	unsigned char cbind_input[SCRAM_CBIND_INPUT_MAX];
	size_t cbind_input_len;
	char nonce[SCRAM_CNONCE_MAX + SCRAM_SNONCE_MAX + 1]; /* c + s */
	size_t nonce_len;
	struct str auth_message; /* RFC 5802 3: AuthMessage, as it grows */
};

/* A client-first-message (RFC 5802 7), pointing into it. */
struct scram_client_first {
	char cbind_flag;     /* 'n', 'y' or 'p' */
	const char *cb_name; /* with 'p': the channel-binding type */
	size_t cb_name_len;
	const char *authzid; /* saslname, encoded; NULL if none */
	size_t authzid_len;
	size_t gs2_header_len; /* bytes before client-first-message-bare */
	const char *bare;      /* client-first-message-bare */
	size_t bare_len;
	const char *user; /* n=: saslname, encoded */
	size_t user_len;
	const char *cnonce; /* r= */
	size_t cnonce_len;
};

/* A client-final-message (RFC 5802 7), pointing into it. */
struct scram_client_final {
	const char *cbind; /* c=: base64 */
	size_t cbind_len;
	const char *nonce; /* r= */
	size_t nonce_len;
	size_t without_proof_len; /* client-final-message-without-proof */
	const char *proof;        /* p=: base64 */
	size_t proof_len;
};

/* Where a parser stands in a message. */
struct scram_cursor {
	const char *p;   /* next byte */
	const char *end; /* end of the message */
};

/* A key for fake salts, random per process. */
static pthread_once_t scram_fake_key_once = PTHREAD_ONCE_INIT;
static unsigned char scram_fake_key[32];

static const struct scram_hash *
scram_hash_of_kind(enum userdb_kind kind)
{
	switch (kind) {
	case USERDB_SCRAM_SHA1:
		return &scram_sha1;
	case USERDB_SCRAM_SHA256:
		return &scram_sha256;
	default:
		return NULL;
	}
}

static const struct scram_hash *
scram_hash_of_mech(const struct sasl_mech *mech)
{
	if (mech == &sasl_mech_scram_sha1 || mech == &sasl_mech_scram_sha1_plus)
		return &scram_sha1;
	i_assert(mech == &sasl_mech_scram_sha256 ||
	         mech == &sasl_mech_scram_sha256_plus);
	return &scram_sha256;
}

static bool
scram_mech_is_plus(const struct sasl_mech *mech)
{
	return (mech->flags & SASL_MECH_NEEDS_TLS) != 0;
}

/* For functions that answer bool: records a failure, returns false. */
static bool
scram_fail(struct sasl_session *s, enum sasl_failure failure,
           const char *reason)
{
	sasl_fail(s, failure, reason);
	return false;
}

/* --- RFC 5802 3: the algorithm -------------------------------------- */

static bool
scram_hmac(const struct scram_hash *h, const void *key, size_t key_len,
           const void *data, size_t len, unsigned char *out)
{
	unsigned out_len = 0;
	return HMAC(h->md(), key, (int)key_len, data, len, out, &out_len) !=
	           NULL &&
	       out_len == h->len;
}

static bool
scram_digest(const struct scram_hash *h, const void *data, size_t len,
             unsigned char *out)
{
	unsigned out_len = 0;
	return EVP_Digest(data, len, out, &out_len, h->md(), NULL) == 1 &&
	       out_len == h->len;
}

/* StoredKey and ServerKey of a password.  Hi() is PBKDF2 (RFC 8018)
 * with the hash's HMAC and one block of output. */
static bool
scram_keys_derive(const struct scram_hash *h, const char *password,
                  struct scram_credential *cred)
{
	unsigned char salted[SCRAM_HASH_MAX], client_key[SCRAM_HASH_MAX];
	bool ok =
	    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), cred->salt,
	                      (int)cred->salt_len, (int)cred->iterations,
	                      h->md(), (int)h->len, salted) == 1 &&
	    scram_hmac(h, salted, h->len, "Client Key", 10, client_key) &&
	    scram_digest(h, client_key, h->len, cred->stored_key) &&
	    scram_hmac(h, salted, h->len, "Server Key", 10, cred->server_key);
	secure_zero(salted, sizeof(salted));
	secure_zero(client_key, sizeof(client_key));
	return ok;
}

/* ClientKey = ClientProof XOR HMAC(StoredKey, AuthMessage); the proof
 * holds if H(ClientKey) is StoredKey. */
static bool
scram_proof_verify(const struct scram_state *st, const unsigned char *proof)
{
	const struct scram_hash *h = st->hash;
	unsigned char sig[SCRAM_HASH_MAX], key[SCRAM_HASH_MAX];
	unsigned char stored[SCRAM_HASH_MAX];
	bool ok = scram_hmac(h, st->cred.stored_key, h->len,
	                     st->auth_message.data, st->auth_message.len, sig);
	for (size_t i = 0; i < h->len; i++)
		key[i] = proof[i] ^ sig[i];
	ok = ok && scram_digest(h, key, h->len, stored) &&
	     CRYPTO_memcmp(stored, st->cred.stored_key, h->len) == 0;
	secure_zero(sig, sizeof(sig));
	secure_zero(key, sizeof(key));
	secure_zero(stored, sizeof(stored));
	return ok;
}

/* --- RFC 5803: credentials ------------------------------------------ */

/* Decodes the base64 at *p, up to sep ('\0': the end), into min..max
 * bytes of out, and moves *p past sep. */
static bool
scram_field_decode(const char **p, char sep, unsigned char *out, size_t min,
                   size_t max, size_t *len_r)
{
	const char *end = sep == '\0' ? *p + strlen(*p) : strchr(*p, sep);
	unsigned char tmp[SCRAM_SALT_MAX + 8];
	static_assert(SCRAM_HASH_MAX <= SCRAM_SALT_MAX, "tmp fits a key");
	if (end == NULL ||
	    base64_decoded_max((size_t)(end - *p)) > sizeof(tmp) ||
	    !base64_decode(*p, (size_t)(end - *p), tmp, len_r) ||
	    *len_r < min || *len_r > max)
		return false;
	memcpy(out, tmp, *len_r);
	secure_zero(tmp, sizeof(tmp));
	*p = sep == '\0' ? end : end + 1;
	return true;
}

/* "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY" (RFC 5803 3). */
static bool
scram_credential_parse(const struct scram_hash *h, const char *value,
                       struct scram_credential *cred_r)
{
	size_t name_len = strlen(h->name), key_len;
	if (strncmp(value, h->name, name_len) != 0 || value[name_len] != '$')
		return false;
	const char *p = value + name_len + 1;
	const char *colon = strchr(p, ':');
	uint32_t iterations;
	if (colon == NULL || !parse_u32(p, (size_t)(colon - p), &iterations) ||
	    iterations == 0 || iterations > INT_MAX)
		return false;
	cred_r->iterations = iterations;
	p = colon + 1;
	return scram_field_decode(&p, '$', cred_r->salt, 1, SCRAM_SALT_MAX,
	                          &cred_r->salt_len) &&
	       scram_field_decode(&p, ':', cred_r->stored_key, h->len, h->len,
	                          &key_len) &&
	       scram_field_decode(&p, '\0', cred_r->server_key, h->len, h->len,
	                          &key_len);
}

static bool
scram_credential_format(const struct scram_hash *h,
                        const struct scram_credential *cred, char *value_r,
                        size_t size)
{
	char salt[SCRAM_B64_SIZE(SCRAM_SALT_MAX)];
	char stored[SCRAM_B64_SIZE(SCRAM_HASH_MAX)];
	char server[SCRAM_B64_SIZE(SCRAM_HASH_MAX)];
	base64_encode(cred->salt, cred->salt_len, salt);
	base64_encode(cred->stored_key, h->len, stored);
	base64_encode(cred->server_key, h->len, server);
	int n = snprintf(value_r, size, "%s$%u:%s$%s:%s", h->name,
	                 cred->iterations, salt, stored, server);
	secure_zero(stored, sizeof(stored));
	secure_zero(server, sizeof(server));
	if (n >= 0 && (size_t)n < size)
		return true;
	if (size > 0)
		secure_zero(value_r, size);
	return false;
}

int
scram_credential_make_salted(const char *password, enum userdb_kind kind,
                             unsigned iterations, const unsigned char *salt,
                             size_t salt_len, char *value_r, size_t size)
{
	const struct scram_hash *h = scram_hash_of_kind(kind);
	if (h == NULL || salt_len == 0 || salt_len > SCRAM_SALT_MAX ||
	    iterations == 0 || iterations > INT_MAX ||
	    strlen(password) > INT_MAX)
		return -1;
	struct scram_credential cred = {.iterations = iterations,
	                                .salt_len = salt_len};
	memcpy(cred.salt, salt, salt_len);
	bool ok = scram_keys_derive(h, password, &cred) &&
	          scram_credential_format(h, &cred, value_r, size);
	secure_zero(&cred, sizeof(cred));
	return ok ? 0 : -1;
}

int
scram_credential_make(const char *password, enum userdb_kind kind,
                      unsigned iterations, char *value_r, size_t size)
{
	unsigned char salt[SCRAM_SALT_BYTES];
	sasl_random(salt, sizeof(salt));
	return scram_credential_make_salted(password, kind, iterations, salt,
	                                    sizeof(salt), value_r, size);
}

/* --- RFC 5802 7: syntax --------------------------------------------- */

static bool
scram_at(const struct scram_cursor *c, char name)
{
	return c->end - c->p >= 2 && c->p[0] == name && c->p[1] == '=';
}

/* attr "=" value, the value running to the next ',' or the end; values
 * are never empty.  Leaves c before the ','. */
static bool
scram_attr(struct scram_cursor *c, char name, const char **value_r,
           size_t *len_r)
{
	if (!scram_at(c, name))
		return false;
	const char *value = c->p + 2;
	const char *comma = memchr(value, ',', (size_t)(c->end - value));
	const char *end = comma != NULL ? comma : c->end;
	if (end == value)
		return false;
	*value_r = value;
	*len_r = (size_t)(end - value);
	c->p = end;
	return true;
}

static bool
scram_comma(struct scram_cursor *c)
{
	if (c->p == c->end || *c->p != ',')
		return false;
	c->p++;
	return true;
}

static bool
scram_is_alpha(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* printable = %x21-2B / %x2D-7E: the nonce's characters. */
static bool
scram_printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	}
	return true;
}

/* cb-name = 1*(ALPHA / DIGIT / "." / "-") */
static bool
scram_cb_name_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!scram_is_alpha(s[i]) && !(s[i] >= '0' && s[i] <= '9') &&
		    s[i] != '.' && s[i] != '-')
			return false;
	}
	return true;
}

/* One attr-val of "extensions": unknown ones are ignored, but "m" MUST
 * fail the exchange (RFC 5802 5.1), and the letters this version defines
 * are not extensions in the wrong place. */
static const char *
scram_parse_extension(struct scram_cursor *c)
{
	const char *value;
	size_t len;
	char name = c->p < c->end ? *c->p : '\0';
	if (name == 'm')
		return "mandatory extension not supported";
	if (!scram_is_alpha(name) || !scram_attr(c, name, &value, &len))
		return "malformed extension";
	if (strchr("acegimnprsv", name) != NULL)
		return "misplaced attribute";
	return NULL;
}

/* Rejects what no message of ours may hold, before parsing. */
static const char *
scram_message_check(const unsigned char *in, size_t len)
{
	if (len > SCRAM_MESSAGE_MAX)
		return "message too long";
	if (len > 0 && memchr(in, '\0', len) != NULL)
		return "NUL in message";
	return NULL;
}

/* gs2-header = gs2-cbind-flag "," [ authzid ] "," */
static const char *
scram_parse_gs2_header(struct scram_cursor *c, struct scram_client_first *f)
{
	const char *start = c->p;
	if (scram_attr(c, 'p', &f->cb_name, &f->cb_name_len)) {
		f->cbind_flag = 'p';
		if (!scram_cb_name_valid(f->cb_name, f->cb_name_len))
			return "invalid channel binding name";
	} else if (c->p < c->end && (*c->p == 'n' || *c->p == 'y')) {
		f->cbind_flag = *c->p++;
	} else {
		return "invalid channel binding flag";
	}
	if (!scram_comma(c))
		return "malformed gs2 header";
	if (scram_at(c, 'a') &&
	    !scram_attr(c, 'a', &f->authzid, &f->authzid_len))
		return "malformed authzid";
	if (!scram_comma(c))
		return "malformed gs2 header";
	f->gs2_header_len = (size_t)(c->p - start);
	return NULL;
}

/* client-first-message-bare = [reserved-mext ","] username "," nonce
 * ["," extensions] */
static const char *
scram_parse_first_bare(struct scram_cursor *c, struct scram_client_first *f)
{
	f->bare = c->p;
	f->bare_len = (size_t)(c->end - c->p);
	if (scram_at(c, 'm'))
		return "mandatory extension not supported";
	if (!scram_attr(c, 'n', &f->user, &f->user_len) || !scram_comma(c) ||
	    !scram_attr(c, 'r', &f->cnonce, &f->cnonce_len))
		return "malformed client-first-message";
	if (f->cnonce_len > SCRAM_CNONCE_MAX ||
	    !scram_printable(f->cnonce, f->cnonce_len))
		return "invalid nonce";
	while (c->p < c->end) {
		const char *err =
		    scram_comma(c) ? scram_parse_extension(c) : "trailing junk";
		if (err != NULL)
			return err;
	}
	return NULL;
}

static const char *
scram_parse_first(const unsigned char *in, size_t len,
                  struct scram_client_first *f)
{
	struct scram_cursor c = {(const char *)in, (const char *)in + len};
	memset(f, 0, sizeof(*f));
	const char *err = scram_message_check(in, len);
	if (err == NULL)
		err = scram_parse_gs2_header(&c, f);
	if (err == NULL)
		err = scram_parse_first_bare(&c, f);
	return err;
}

/* client-final-message = channel-binding "," nonce ["," extensions] ","
 * proof */
static const char *
scram_parse_final(const unsigned char *in, size_t len,
                  struct scram_client_final *f)
{
	struct scram_cursor c = {(const char *)in, (const char *)in + len};
	const char *err = scram_message_check(in, len);
	if (err != NULL)
		return err;
	if (!scram_attr(&c, 'c', &f->cbind, &f->cbind_len) ||
	    !scram_comma(&c) || !scram_attr(&c, 'r', &f->nonce, &f->nonce_len))
		return "malformed client-final-message";
	for (;;) {
		if (!scram_comma(&c))
			return "missing proof";
		if (scram_at(&c, 'p'))
			break;
		if ((err = scram_parse_extension(&c)) != NULL)
			return err;
	}
	f->without_proof_len = (size_t)(c.p - 1 - (const char *)in);
	if (!scram_attr(&c, 'p', &f->proof, &f->proof_len) || c.p != c.end)
		return "malformed proof";
	return NULL;
}

/* saslname (RFC 5802 5.1): "=2C" is ',' and "=3D" is '=' (either case,
 * as ABNF strings are, RFC 5234 2.3); any other '=' MUST fail.  Decodes
 * into out (USERDB_NAME_MAX + 1 bytes); false if invalid or too long. */
static bool
scram_saslname_decode(const char *in, size_t len, char *out, size_t *len_r)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];
		if (ch == '=') {
			if (len - i < 3)
				return false;
			if (in[i + 1] == '2' && (in[i + 2] | 0x20) == 'c')
				ch = ',';
			else if (in[i + 1] == '3' && (in[i + 2] | 0x20) == 'd')
				ch = '=';
			else
				return false;
			i += 2;
		}
		if (o == USERDB_NAME_MAX)
			return false;
		out[o++] = ch;
	}
	out[o] = '\0';
	*len_r = o;
	return true;
}

/* --- The exchange --------------------------------------------------- */

/* The connection's channel-binding data of the type named; false if it
 * has none of that type. */
static bool
scram_cbind_data(const struct sasl_conn_info *info, const char *name,
                 size_t len, const unsigned char **data_r, size_t *len_r)
{
	if (len == 12 && memcmp(name, "tls-exporter", len) == 0) {
		*data_r = info->cb_tls_exporter;
		*len_r = info->cb_tls_exporter_len;
	} else if (len == 20 &&
	           memcmp(name, "tls-server-end-point", len) == 0) {
		*data_r = info->cb_tls_server_end_point;
		*len_r = info->cb_tls_server_end_point_len;
	} else if (len == 10 && memcmp(name, "tls-unique", len) == 0) {
		*data_r = info->cb_tls_unique;
		*len_r = info->cb_tls_unique_len;
	} else {
		return false;
	}
	i_assert(*len_r <= SCRAM_CBIND_DATA_MAX);
	return info->secured && *len_r > 0;
}

/* Whether this connection offers the -PLUS mechanisms. */
static bool
scram_cbind_offered(const struct sasl_conn_info *info)
{
	return info->secured && (info->cb_tls_exporter_len > 0 ||
	                         info->cb_tls_server_end_point_len > 0 ||
	                         info->cb_tls_unique_len > 0);
}

/* RFC 5802 6: the gs2-cbind-flag against the mechanism and connection;
 * keeps gs2-header || channel-binding data for the c= check. */
static bool
scram_cbind_check(struct sasl_session *s, struct scram_state *st,
                  const struct scram_client_first *f, const unsigned char *in)
{
	const unsigned char *data = NULL;
	size_t data_len = 0;
	if (f->cbind_flag == 'p' && !scram_mech_is_plus(s->mech))
		return scram_fail(s, SASL_FAIL_MALFORMED,
		                  "channel binding without -PLUS");
	if (f->cbind_flag != 'p' && scram_mech_is_plus(s->mech))
		return scram_fail(s, SASL_FAIL_MALFORMED,
		                  "-PLUS without channel binding");
	if (f->cbind_flag == 'p' &&
	    !scram_cbind_data(s->info, f->cb_name, f->cb_name_len, &data,
	                      &data_len))
		return scram_fail(s, SASL_FAIL_MALFORMED,
		                  "channel binding type not supported");
	/* "y": the client can bind but saw no -PLUS offered.  Had we offered
	 * it, someone removed it from the list on the way. */
	if (f->cbind_flag == 'y' && scram_cbind_offered(s->info))
		return scram_fail(s, SASL_FAIL_CREDENTIALS,
		                  "server does support channel binding");
	i_assert(f->gs2_header_len <= SCRAM_GS2_HEADER_MAX);
	memcpy(st->cbind_input, in, f->gs2_header_len);
	if (data_len > 0)
		memcpy(st->cbind_input + f->gs2_header_len, data, data_len);
	st->cbind_input_len = f->gs2_header_len + data_len;
	return true;
}

static bool
scram_names_decode(struct sasl_session *s, struct scram_state *st,
                   const struct scram_client_first *f)
{
	if (!scram_saslname_decode(f->user, f->user_len, st->authcid,
	                           &st->authcid_len) ||
	    (f->authzid != NULL &&
	     !scram_saslname_decode(f->authzid, f->authzid_len, st->authzid,
	                            &st->authzid_len)))
		return scram_fail(s, SASL_FAIL_MALFORMED, "invalid saslname");
	return true;
}

static void
scram_fake_key_init(void)
{
	if (RAND_bytes(scram_fake_key, sizeof(scram_fake_key)) != 1)
		fatal("RAND_bytes failed");
}

/* For a user or credential that does not exist: a salt that stays the
 * same for the name, as a real one would, and the default iterations, so
 * that the server-first-message does not tell.  The keys stay zero and
 * st->known false: the final step fails whatever the proof. */
static bool
scram_credential_fake(struct scram_state *st)
{
	unsigned char msg[16 + USERDB_NAME_MAX], mac[32];
	size_t name_len = strlen(st->hash->name) + 1; /* with its NUL */
	unsigned mac_len = 0;
	memcpy(msg, st->hash->name, name_len);
	memcpy(msg + name_len, st->authcid, st->authcid_len);
	pthread_once(&scram_fake_key_once, scram_fake_key_init);
	if (HMAC(EVP_sha256(), scram_fake_key, sizeof(scram_fake_key), msg,
	         name_len + st->authcid_len, mac, &mac_len) == NULL)
		return false;
	static_assert(SCRAM_SALT_BYTES <= sizeof(mac), "a fake salt fits");
	memcpy(st->cred.salt, mac, SCRAM_SALT_BYTES);
	st->cred.salt_len = SCRAM_SALT_BYTES;
	st->cred.iterations = SCRAM_DEFAULT_ITERATIONS;
	return true;
}

/* Loads the user's credential into st, or a fake one. */
static bool
scram_credential_lookup(struct sasl_session *s, struct scram_state *st)
{
	char value[USERDB_VALUE_MAX];
	enum userdb_result r = USERDB_NOT_FOUND;
	if (sasl_user_name_valid(st->authcid, st->authcid_len))
		r = userdb_get(s->userdb, st->authcid, st->hash->kind, value,
		               sizeof(value));
	if (r == USERDB_ERROR)
		return scram_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	if (r != USERDB_OK)
		return scram_credential_fake(st) ||
		       scram_fail(s, SASL_FAIL_TEMPORARY, "HMAC failed");
	st->known = scram_credential_parse(st->hash, value, &st->cred);
	secure_zero(value, sizeof(value));
	return st->known ||
	       scram_fail(s, SASL_FAIL_TEMPORARY, "stored credential bad");
}

/* server-first-message = nonce "," salt "," iteration-count; starts
 * AuthMessage as client-first-message-bare "," server-first-message ",". */
static void
scram_server_first_append(struct scram_state *st,
                          const struct scram_client_first *f, struct str *out)
{
	char salt[SCRAM_B64_SIZE(SCRAM_SALT_MAX)];
	base64_encode(st->cred.salt, st->cred.salt_len, salt);
	struct str *am = &st->auth_message;
	str_append(am, f->bare, f->bare_len);
	str_append_char(am, ',');
	size_t start = am->len;
	str_printf(am, "r=%.*s,s=%s,i=%u", (int)st->nonce_len, st->nonce, salt,
	           st->cred.iterations);
	i_assert(!str_failed(am));
	str_append(out, am->data + start, am->len - start);
	str_append_char(am, ',');
}

static struct scram_state *
scram_state_new(struct sasl_session *s)
{
	i_assert(s->phase == SCRAM_WANT_FIRST && s->mech_state == NULL);
	struct scram_state *st = xcalloc(1, sizeof(*st));
	st->hash = scram_hash_of_mech(s->mech);
	str_init(&st->auth_message, SCRAM_AUTH_MESSAGE_MAX);
	s->mech_state = st;
	return st;
}

enum sasl_result
scram_server_first(struct sasl_session *s, const unsigned char *in,
                   size_t in_len, const char *snonce, struct str *out)
{
	struct scram_state *st = scram_state_new(s);
	size_t snonce_len = strlen(snonce);
	i_assert(snonce_len > 0 && snonce_len <= SCRAM_SNONCE_MAX &&
	         scram_printable(snonce, snonce_len));
	struct scram_client_first f;
	const char *err = scram_parse_first(in, in_len, &f);
	if (err != NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, err);
	if (!scram_names_decode(s, st, &f) ||
	    !scram_cbind_check(s, st, &f, in) ||
	    !scram_credential_lookup(s, st))
		return SASL_FAIL;
	memcpy(st->nonce, f.cnonce, f.cnonce_len);
	memcpy(st->nonce + f.cnonce_len, snonce, snonce_len);
	st->nonce_len = f.cnonce_len + snonce_len;
	scram_server_first_append(st, &f, out);
	s->phase = SCRAM_WANT_FINAL;
	return SASL_CONTINUE;
}

/* The checks of a client-final-message that need no secret; the decoded
 * proof goes to proof_r (room for base64_decoded_max() of its base64). */
static const char *
scram_final_check(const struct scram_state *st,
                  const struct scram_client_final *f, unsigned char *proof_r)
{
	unsigned char cbind[SCRAM_MESSAGE_MAX / 4 * 3 + 3];
	size_t len;
	if (!base64_decode(f->cbind, f->cbind_len, cbind, &len))
		return "invalid channel binding encoding";
	if (f->nonce_len != st->nonce_len ||
	    memcmp(f->nonce, st->nonce, st->nonce_len) != 0)
		return "wrong nonce";
	if (f->proof_len != SCRAM_B64_LEN(st->hash->len) ||
	    !base64_decode(f->proof, f->proof_len, proof_r, &len) ||
	    len != st->hash->len)
		return "invalid proof encoding";
	return NULL;
}

/* c= must be exactly base64(gs2-header || channel-binding data): RFC
 * 5802 7 and, for the data, RFC 5929 and RFC 9266. */
static bool
scram_cbind_matches(const struct scram_state *st,
                    const struct scram_client_final *f)
{
	char expected[SCRAM_B64_SIZE(SCRAM_CBIND_INPUT_MAX)];
	base64_encode(st->cbind_input, st->cbind_input_len, expected);
	size_t len = strlen(expected);
	return f->cbind_len == len &&
	       CRYPTO_memcmp(f->cbind, expected, len) == 0;
}

/* server-final-message = "v=" base64(HMAC(ServerKey, AuthMessage)). */
static bool
scram_server_signature(const struct scram_state *st,
                       char b64_r[SCRAM_B64_SIZE(SCRAM_HASH_MAX)])
{
	unsigned char sig[SCRAM_HASH_MAX];
	if (!scram_hmac(st->hash, st->cred.server_key, st->hash->len,
	                st->auth_message.data, st->auth_message.len, sig))
		return false;
	base64_encode(sig, st->hash->len, b64_r);
	secure_zero(sig, sizeof(sig));
	return true;
}

/* The client's proof of the channel and of the password. */
static bool
scram_final_verify(struct sasl_session *s, struct scram_state *st,
                   const struct scram_client_final *f, const unsigned char *in,
                   const unsigned char *proof)
{
	if (!scram_cbind_matches(st, f))
		return scram_fail(s, SASL_FAIL_CREDENTIALS,
		                  "channel bindings don't match");
	str_append(&st->auth_message, in, f->without_proof_len);
	i_assert(!str_failed(&st->auth_message));
	/* An unknown user is checked against the fake keys all the same. */
	if (!scram_proof_verify(st, proof) || !st->known)
		return scram_fail(s, SASL_FAIL_CREDENTIALS, "invalid proof");
	return true;
}

static enum sasl_result
scram_server_final(struct sasl_session *s, const unsigned char *in,
                   size_t in_len, struct str *out)
{
	struct scram_state *st = s->mech_state;
	struct scram_client_final f;
	unsigned char proof[SCRAM_B64_LEN(SCRAM_HASH_MAX) / 4 * 3 + 3];
	char sig[SCRAM_B64_SIZE(SCRAM_HASH_MAX)];
	s->phase = SCRAM_DONE;
	const char *err = scram_parse_final(in, in_len, &f);
	if (err == NULL)
		err = scram_final_check(st, &f, proof);
	if (err != NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, err);
	bool ok = scram_final_verify(s, st, &f, in, proof);
	secure_zero(proof, sizeof(proof));
	if (!ok)
		return SASL_FAIL;
	if (!scram_server_signature(st, sig))
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "HMAC failed");
	if (!sasl_set_user(s, st->authcid, st->authcid_len, st->authzid,
	                   st->authzid_len))
		return SASL_FAIL;
	str_append_cstr(out, "v=");
	str_append_cstr(out, sig);
	return SASL_OK;
}

/* RFC 5802 5: the client speaks first; without an initial response it
 * gets an empty challenge. */
static enum sasl_result
scram_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
           struct str *out)
{
	unsigned char raw[SCRAM_SNONCE_BYTES];
	char snonce[SCRAM_B64_SIZE(SCRAM_SNONCE_BYTES)];
	switch (s->phase) {
	case SCRAM_WANT_FIRST:
		if (in == NULL)
			return SASL_CONTINUE;
		sasl_random(raw, sizeof(raw));
		base64_encode(raw, sizeof(raw), snonce);
		return scram_server_first(s, in, in_len, snonce, out);
	case SCRAM_WANT_FINAL:
		return scram_server_final(s, in, in_len, out);
	default:
		return sasl_fail(s, SASL_FAIL_MALFORMED, "exchange finished");
	}
}

static void
scram_free(struct sasl_session *s)
{
	struct scram_state *st = s->mech_state;
	if (st == NULL)
		return;
	if (st->auth_message.data != NULL)
		secure_zero(st->auth_message.data, st->auth_message.cap);
	str_free(&st->auth_message);
	secure_zero(st, sizeof(*st));
	free(st);
	s->mech_state = NULL;
}

const struct sasl_mech sasl_mech_scram_sha1 = {
    .name = "SCRAM-SHA-1",
    .step = scram_step,
    .free = scram_free,
};

const struct sasl_mech sasl_mech_scram_sha1_plus = {
    .name = "SCRAM-SHA-1-PLUS",
    .flags = SASL_MECH_NEEDS_TLS,
    .step = scram_step,
    .free = scram_free,
};

const struct sasl_mech sasl_mech_scram_sha256 = {
    .name = "SCRAM-SHA-256",
    .step = scram_step,
    .free = scram_free,
};

const struct sasl_mech sasl_mech_scram_sha256_plus = {
    .name = "SCRAM-SHA-256-PLUS",
    .flags = SASL_MECH_NEEDS_TLS,
    .step = scram_step,
    .free = scram_free,
};
