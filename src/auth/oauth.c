/* Bearer tokens: signed JWTs (RFC 7519, RFC 7515, RFC 7518) and token
 * introspection (RFC 7662). */
#include "auth/oauth.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lib/base64.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"

/* Bytes of the key file, at most. */
#define OAUTH_KEY_FILE_MAX (64 * 1024)
/* Nesting of JSON arrays and objects, at most.  Claims are nearly flat,
 * and jansson's own limit (2048 levels) recurses deep on a worker's
 * stack. */
#define OAUTH_JSON_DEPTH_MAX 16
/* A DER ECDSA signature for P-384, with room to spare. */
#define JWT_ECDSA_DER_MAX 128

struct oauth_state {
	EVP_PKEY *keys[OAUTH_KEYS_MAX]; /* from oauth_jwt_key_file */
	size_t key_count;
	bool curl_ready; /* curl_global_init() succeeded */
};

/* One JWS algorithm we accept (RFC 7518 3.1). */
struct jwt_alg {
	const char *name;          /* the "alg" header value */
	const char *key_type;      /* for EVP_PKEY_is_a() */
	const EVP_MD *(*md)(void); /* the hash */
	bool pss;                  /* RSASSA-PSS (RFC 7518 3.5) */
	int curve;                 /* ECDSA: NID of the curve, else 0 */
	size_t ec_half;            /* ECDSA: bytes of R, and of S */
};

static const struct jwt_alg jwt_algs[] = {
    {.name = "RS256", .key_type = "RSA", .md = EVP_sha256},
    {.name = "RS384", .key_type = "RSA", .md = EVP_sha384},
    {.name = "RS512", .key_type = "RSA", .md = EVP_sha512},
    {.name = "PS256", .key_type = "RSA", .md = EVP_sha256, .pss = true},
    {.name = "ES256",
     .key_type = "EC",
     .md = EVP_sha256,
     .curve = NID_X9_62_prime256v1,
     .ec_half = 32},
    {.name = "ES384",
     .key_type = "EC",
     .md = EVP_sha384,
     .curve = NID_secp384r1,
     .ec_half = 48},
};

/* The three parts of a JWS in compact form (RFC 7515 7.1). */
struct jwt_parts {
	const char *part[3]; /* header, payload, signature: base64url */
	size_t len[3];
};

bool
oauth_configured(const struct sasl_settings *settings)
{
	return settings->oauth_jwt_key_file != NULL ||
	       settings->oauth_introspect_url != NULL;
}

static enum oauth_result
oauth_invalid(const char *reason)
{
	log_debug("oauth token rejected reason=\"%s\"", reason);
	return OAUTH_INVALID;
}

static enum oauth_result
oauth_tempfail(const char *reason)
{
	log_warn("oauth token check failed reason=\"%s\"", reason);
	return OAUTH_TEMPFAIL;
}

/* ---- Keys ---- */

/* The NID of an EC key's curve, or NID_undef. */
static int
oauth_key_curve(EVP_PKEY *key)
{
	char name[64];
	size_t len;
	if (EVP_PKEY_get_group_name(key, name, sizeof(name), &len) != 1)
		return NID_undef;
	int nid = OBJ_sn2nid(name);
	return nid != NID_undef ? nid : EC_curve_nist2nid(name);
}

/* RFC 7518 3.3: RSA keys of 2048 bits or more; RFC 7518 3.4: EC keys on
 * the curves of ES256 and ES384. */
static bool
oauth_key_acceptable(EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_is_a(key, "RSA-PSS"))
		return EVP_PKEY_get_bits(key) >= 2048;
	if (EVP_PKEY_is_a(key, "EC")) {
		int nid = oauth_key_curve(key);
		return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1;
	}
	return false;
}

/* Reads the first PEM public key at pem; NULL if it is none. */
static EVP_PKEY *
oauth_read_key(const char *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key =
	    bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	return key;
}

/* Adds every PEM block of the file to state: each must be a public key
 * we accept, so that a damaged key is reported, not skipped. */
static const char *
oauth_parse_keys(struct oauth_state *state, const char *pem, size_t len)
{
	const char *end = pem + len;
	const char *p = pem;
	while ((p = memmem(p, (size_t)(end - p), "-----BEGIN ", 11)) != NULL) {
		if (state->key_count == OAUTH_KEYS_MAX)
			return "too many keys in the JWT key file";
		EVP_PKEY *key = oauth_read_key(p, (size_t)(end - p));
		if (key == NULL)
			return "unreadable public key in the JWT key file";
		state->keys[state->key_count++] = key;
		if (!oauth_key_acceptable(key))
			return "JWT key is not RSA >= 2048 bits, P-256 or "
			       "P-384";
		p = memmem(p, (size_t)(end - p), "-----END ", 9);
		i_assert(p != NULL); /* OpenSSL just read the block */
		p += 9;
	}
	return state->key_count == 0 ? "no public key in the JWT key file"
	                             : NULL;
}

static int
oauth_load_keys(struct oauth_state *state, const char *path,
                const char **error_r)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*error_r = "cannot open the JWT key file";
		return -1;
	}
	char *pem = xmalloc(OAUTH_KEY_FILE_MAX + 1);
	size_t len = fread(pem, 1, OAUTH_KEY_FILE_MAX + 1, f);
	if (ferror(f))
		*error_r = "cannot read the JWT key file";
	else if (len > OAUTH_KEY_FILE_MAX)
		*error_r = "JWT key file too large";
	else
		*error_r = oauth_parse_keys(state, pem, len);
	fclose(f);
	free(pem);
	return *error_r == NULL ? 0 : -1;
}

int
oauth_init(struct sasl_settings *settings, const char **error_r)
{
	i_assert(settings->oauth_state == NULL);
	if (!oauth_configured(settings))
		return 0;
	/* jansson seeds its hash on first use; do it now, single-threaded. */
	json_object_seed(0);
	struct oauth_state *state = xcalloc(1, sizeof(*state));
	settings->oauth_state = state;
	if (settings->oauth_jwt_key_file != NULL &&
	    oauth_load_keys(state, settings->oauth_jwt_key_file, error_r) < 0) {
		oauth_deinit(settings);
		return -1;
	}
	if (settings->oauth_introspect_url != NULL) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			*error_r = "curl_global_init failed";
			oauth_deinit(settings);
			return -1;
		}
		state->curl_ready = true;
	}
	return 0;
}

void
oauth_deinit(struct sasl_settings *settings)
{
	struct oauth_state *state = settings->oauth_state;
	if (state == NULL)
		return;
	for (size_t i = 0; i < state->key_count; i++)
		EVP_PKEY_free(state->keys[i]);
	if (state->curl_ready)
		curl_global_cleanup();
	free(state);
	settings->oauth_state = NULL;
}

/* ---- Syntax ---- */

/* RFC 6750 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
 * "+" / "/" ) *"=". */
static bool
oauth_token_syntax_ok(const char *token, size_t len)
{
	size_t i = 0;
	while (i < len &&
	       (base64_value((unsigned char)token[i]) >= 0 || token[i] == '-' ||
	        token[i] == '.' || token[i] == '_' || token[i] == '~'))
		i++;
	if (i == 0)
		return false;
	while (i < len && token[i] == '=')
		i++;
	return i == len;
}

static int
oauth_b64url_value(unsigned char c)
{
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	if (c == '+' || c == '/')
		return -1;
	return base64_value(c);
}

/* RFC 7515 2 and RFC 4648 5: base64url without padding.  Strict, so a
 * value has one encoding: no '=', no stray bits in the last character.
 * out needs room for len * 3 / 4 bytes. */
static bool
oauth_b64url_decode(const char *in, size_t len, unsigned char *out,
                    size_t *out_len_r)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t o = 0;
	if (len % 4 == 1)
		return false;
	for (size_t i = 0; i < len; i++) {
		int v = oauth_b64url_value((unsigned char)in[i]);
		if (v < 0)
			return false;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	*out_len_r = o;
	return acc == 0;
}

/* Whether JSON text nests arrays and objects at most max deep.  Strings
 * (with their escapes) are skipped; jansson checks the rest. */
static bool
oauth_json_depth_ok(const char *p, size_t len, unsigned max)
{
	unsigned depth = 0;
	bool in_string = false;
	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = false;
		} else if (p[i] == '"') {
			in_string = true;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return false;
		} else if ((p[i] == ']' || p[i] == '}') && depth > 0) {
			depth--;
		}
	}
	return true;
}

/* Parses a JSON object; NULL if it is not one.  Duplicate members are
 * refused (RFC 7515 4, RFC 7519 4: no guessing which one counts); NUL in
 * strings is refused by jansson without JSON_ALLOW_NUL. */
static json_t *
oauth_json_parse(const char *p, size_t len)
{
	if (len == 0 || !oauth_json_depth_ok(p, len, OAUTH_JSON_DEPTH_MAX))
		return NULL;
	json_error_t error;
	json_t *json = json_loadb(p, len, JSON_REJECT_DUPLICATES, &error);
	if (json != NULL && !json_is_object(json)) {
		json_decref(json);
		json = NULL;
	}
	return json;
}

/* ---- Claims, shared by JWTs and introspection ---- */

/* RFC 7519 4.1.4 and 4.1.5 (and RFC 7662 2.2): NumericDates, with
 * OAUTH_CLOCK_SKEW of leeway.  Returns NULL or why not. */
static const char *
oauth_check_times(const json_t *claims, bool exp_required)
{
	double now = (double)time(NULL);
	const json_t *exp = json_object_get(claims, "exp");
	const json_t *nbf = json_object_get(claims, "nbf");
	if (exp == NULL && exp_required)
		return "no exp";
	if (exp != NULL && (!json_is_number(exp) ||
	                    now >= json_number_value(exp) + OAUTH_CLOCK_SKEW))
		return "expired";
	if (nbf != NULL && (!json_is_number(nbf) ||
	                    now + OAUTH_CLOCK_SKEW < json_number_value(nbf)))
		return "not yet valid";
	return NULL;
}

static bool
oauth_string_is(const json_t *value, const char *want)
{
	return json_is_string(value) &&
	       strcmp(json_string_value(value), want) == 0;
}

/* RFC 7519 4.1.3: "aud" is a string or an array of strings, one of which
 * must name us. */
static bool
oauth_aud_has(const json_t *aud, const char *want)
{
	if (!json_is_array(aud))
		return oauth_string_is(aud, want);
	size_t i;
	const json_t *value;
	json_array_foreach(aud, i, value)
	{
		if (oauth_string_is(value, want))
			return true;
	}
	return false;
}

/* RFC 7519 4.1.1 and 4.1.3: the issuer and audience, as configured. */
static const char *
oauth_check_parties(const struct sasl_settings *settings, const json_t *claims)
{
	if (settings->oauth_issuer != NULL &&
	    !oauth_string_is(json_object_get(claims, "iss"),
	                     settings->oauth_issuer))
		return "wrong issuer";
	if (settings->oauth_audience != NULL &&
	    !oauth_aud_has(json_object_get(claims, "aud"),
	                   settings->oauth_audience))
		return "wrong audience";
	return NULL;
}

/* Checks the claims and copies the user that claim names to user_r. */
static enum oauth_result
oauth_accept(const struct sasl_settings *settings, const json_t *claims,
             bool exp_required, const char *default_claim, char *user_r,
             size_t size)
{
	const char *why = oauth_check_times(claims, exp_required);
	if (why == NULL)
		why = oauth_check_parties(settings, claims);
	if (why != NULL)
		return oauth_invalid(why);
	const char *claim = settings->oauth_user_claim != NULL
	                        ? settings->oauth_user_claim
	                        : default_claim;
	const json_t *user = json_object_get(claims, claim);
	if (!json_is_string(user) || json_string_length(user) == 0)
		return oauth_invalid("no user claim");
	if (casella_strlcpy(user_r, json_string_value(user), size) >= size) {
		user_r[0] = '\0';
		return oauth_invalid("user claim too long");
	}
	return OAUTH_OK;
}

/* ---- JWT ---- */

/* RFC 7515 7.1: three parts separated by dots.  Five would be a JWE
 * (RFC 7516), which we do not decrypt. */
static bool
jwt_split(const char *token, size_t len, struct jwt_parts *parts)
{
	const char *end = token + len;
	const char *p = token;
	for (size_t i = 0; i < 2; i++) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		if (dot == NULL)
			return false;
		parts->part[i] = p;
		parts->len[i] = (size_t)(dot - p);
		p = dot + 1;
	}
	parts->part[2] = p;
	parts->len[2] = (size_t)(end - p);
	return memchr(p, '.', parts->len[2]) == NULL;
}

/* Decodes a part into a new buffer, to free(); NULL if not base64url. */
static unsigned char *
jwt_decode_part(const char *part, size_t len, size_t *out_len_r)
{
	unsigned char *buf = xmalloc(len / 4 * 3 + 3);
	if (!oauth_b64url_decode(part, len, buf, out_len_r)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static json_t *
jwt_decode_json(const char *part, size_t len)
{
	size_t json_len;
	unsigned char *buf = jwt_decode_part(part, len, &json_len);
	json_t *json =
	    buf != NULL ? oauth_json_parse((const char *)buf, json_len) : NULL;
	free(buf);
	return json;
}

/* RFC 7515 4.1.1: "alg" is one we allow; never "none" (RFC 7518 3.6) nor
 * HMAC, as no shared secret is configured (RFC 8725 2.1, 3.1).  RFC 7515
 * 4.1.11: "crit" names extensions we do not understand. */
static const struct jwt_alg *
jwt_header_alg(const json_t *header)
{
	if (json_object_get(header, "crit") != NULL)
		return NULL;
	const char *name = json_string_value(json_object_get(header, "alg"));
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < N_ELEMENTS(jwt_algs); i++) {
		if (strcmp(jwt_algs[i].name, name) == 0)
			return &jwt_algs[i];
	}
	return NULL;
}

static bool
jwt_key_fits(const struct jwt_alg *alg, EVP_PKEY *key)
{
	if (alg->pss && EVP_PKEY_is_a(key, "RSA-PSS"))
		return true;
	if (!EVP_PKEY_is_a(key, alg->key_type))
		return false;
	return alg->curve == 0 || oauth_key_curve(key) == alg->curve;
}

/* RFC 7518 3.5: MGF1 with the same hash (OpenSSL's default), and a salt
 * as long as the hash. */
static bool
jwt_set_pss(EVP_PKEY_CTX *pctx)
{
	return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
	       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) ==
	           1;
}

static bool
jwt_verify_key(const struct jwt_alg *alg, EVP_PKEY *key,
               const unsigned char *sig, size_t sig_len, const char *data,
               size_t len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = ctx != NULL &&
	          EVP_DigestVerifyInit(ctx, &pctx, alg->md(), NULL, key) == 1 &&
	          (!alg->pss || jwt_set_pss(pctx)) &&
	          EVP_DigestVerify(ctx, sig, sig_len,
	                           (const unsigned char *)data, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* RFC 7518 3.4: a JWS ECDSA signature is R || S, big-endian, each padded
 * to the curve's size; OpenSSL verifies the DER form (RFC 3279 2.2.3).
 * der needs JWT_ECDSA_DER_MAX bytes. */
static bool
jwt_ecdsa_to_der(const unsigned char *raw, size_t raw_len, size_t half,
                 unsigned char *der, size_t *der_len_r)
{
	if (raw_len != 2 * half)
		return false;
	ECDSA_SIG *sig = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)half, NULL);
	BIGNUM *s = BN_bin2bn(raw + half, (int)half, NULL);
	if (sig == NULL || r == NULL || s == NULL ||
	    ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return false;
	}
	int len = i2d_ECDSA_SIG(sig, NULL);
	bool ok = len > 0 && len <= JWT_ECDSA_DER_MAX &&
	          i2d_ECDSA_SIG(sig, &der) == len;
	ECDSA_SIG_free(sig);
	*der_len_r = (size_t)len;
	return ok;
}

/* Whether one of the configured keys of alg's type signed data. */
static bool
jwt_verify(const struct oauth_state *state, const struct jwt_alg *alg,
           const unsigned char *sig, size_t sig_len, const char *data,
           size_t len)
{
	unsigned char der[JWT_ECDSA_DER_MAX];
	if (alg->ec_half != 0) {
		if (!jwt_ecdsa_to_der(sig, sig_len, alg->ec_half, der,
		                      &sig_len))
			return false;
		sig = der;
	}
	for (size_t i = 0; i < state->key_count; i++) {
		if (jwt_key_fits(alg, state->keys[i]) &&
		    jwt_verify_key(alg, state->keys[i], sig, sig_len, data,
		                   len))
			return true;
	}
	return false;
}

/* RFC 7515 5.2: the signature covers the header and payload as sent. */
static bool
jwt_signature_ok(const struct oauth_state *state, const struct jwt_alg *alg,
                 const struct jwt_parts *parts)
{
	size_t sig_len;
	unsigned char *sig =
	    jwt_decode_part(parts->part[2], parts->len[2], &sig_len);
	if (sig == NULL)
		return false;
	bool ok = jwt_verify(state, alg, sig, sig_len, parts->part[0],
	                     parts->len[0] + 1 + parts->len[1]);
	secure_zero(sig, sig_len);
	free(sig);
	return ok;
}

/* RFC 7519 7.2: the header, then the signature, then the claims. */
static enum oauth_result
jwt_validate(const struct sasl_settings *settings,
             const struct jwt_parts *parts, char *user_r, size_t size)
{
	json_t *header = jwt_decode_json(parts->part[0], parts->len[0]);
	const struct jwt_alg *alg =
	    header != NULL ? jwt_header_alg(header) : NULL;
	json_decref(header);
	if (alg == NULL)
		return oauth_invalid("bad JWT header or alg");
	if (!jwt_signature_ok(settings->oauth_state, alg, parts))
		return oauth_invalid("bad JWT signature");
	json_t *claims = jwt_decode_json(parts->part[1], parts->len[1]);
	if (claims == NULL)
		return oauth_invalid("bad JWT claims");
	enum oauth_result r =
	    oauth_accept(settings, claims, true, "sub", user_r, size);
	json_decref(claims);
	return r;
}

/* ---- Introspection ---- */

static size_t
oauth_curl_write(char *data, size_t size, size_t count, void *context)
{
	struct str *body = context;
	str_append(body, data, size * count);
	return str_failed(body) ? 0 : size * count; /* 0: curl stops */
}

/* RFC 7662 2.1: token=TOKEN&token_type_hint=access_token, form-urlencoded
 * (of a b64token, only "+", "/" and "=" need it).  Built in one buffer,
 * so no copy of the token is left behind; free() it after wiping. */
static char *
oauth_introspect_form(const char *token, size_t len, size_t *form_len_r)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char tail[] = "&token_type_hint=access_token";
	char *form = xmalloc(6 + 3 * len + sizeof(tail));
	memcpy(form, "token=", 6);
	size_t o = 6;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)token[i];
		if (c == '+' || c == '/' || c == '=') {
			form[o++] = '%';
			form[o++] = hex[c >> 4];
			form[o++] = hex[c & 15];
		} else {
			form[o++] = (char)c;
		}
	}
	memcpy(form + o, tail, sizeof(tail));
	*form_len_r = o + sizeof(tail) - 1;
	return form;
}

/* RFC 6749 2.3.1: the client id and secret are form-urlencoded, then
 * sent as HTTP Basic user and password.  curl copies both. */
static bool
oauth_curl_client_auth(CURL *curl, const struct sasl_settings *settings)
{
	if (settings->oauth_client_id == NULL)
		return true;
	const char *secret = settings->oauth_client_secret != NULL
	                         ? settings->oauth_client_secret
	                         : "";
	char *user = curl_easy_escape(curl, settings->oauth_client_id, 0);
	char *password = curl_easy_escape(curl, secret, 0);
	if (user == NULL || password == NULL)
		fatal("curl_easy_escape: out of memory");
	bool ok =
	    curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC) ==
	        CURLE_OK &&
	    curl_easy_setopt(curl, CURLOPT_USERNAME, user) == CURLE_OK &&
	    curl_easy_setopt(curl, CURLOPT_PASSWORD, password) == CURLE_OK;
	secure_zero(password, strlen(password));
	curl_free(user);
	curl_free(password);
	return ok;
}

/* A bounded POST: 3 s to connect, 5 s in all, no redirects, no signals
 * (we run on worker threads). */
static bool
oauth_curl_setup(CURL *curl, const char *url, const char *form, size_t form_len,
                 struct curl_slist *headers, struct str *body)
{
	return curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") ==
	           CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L) ==
	           CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form_len) ==
	           CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers) ==
	           CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_MAXFILESIZE,
	                        (long)OAUTH_INTROSPECT_BODY_MAX) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION,
	                        oauth_curl_write) == CURLE_OK &&
	       curl_easy_setopt(curl, CURLOPT_WRITEDATA, body) == CURLE_OK;
}

static struct curl_slist *
oauth_curl_headers(void)
{
	struct curl_slist *headers =
	    curl_slist_append(NULL, "Accept: application/json");
	/* No "Expect: 100-continue" round trip for a long token. */
	if (headers == NULL || curl_slist_append(headers, "Expect:") == NULL)
		fatal("curl_slist_append: out of memory");
	return headers;
}

/* Runs the request; returns NULL, or why it failed (our error or the
 * endpoint's, never the client's). */
static const char *
oauth_curl_perform(CURL *curl, const struct sasl_settings *settings,
                   const char *form, size_t form_len, struct str *body)
{
	struct curl_slist *headers = oauth_curl_headers();
	const char *why = NULL;
	long status = 0;
	CURLcode code;
	if (!oauth_curl_setup(curl, settings->oauth_introspect_url, form,
	                      form_len, headers, body) ||
	    !oauth_curl_client_auth(curl, settings))
		why = "cannot set up the request";
	else if ((code = curl_easy_perform(curl)) != CURLE_OK)
		why = curl_easy_strerror(code);
	else if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) !=
	             CURLE_OK ||
	         status != 200)
		why = "introspection endpoint did not answer 200";
	curl_slist_free_all(headers);
	return why;
}

/* RFC 7662 2.2: an inactive token is {"active": false}; an active one
 * carries claims as a JWT would, exp among them if it expires. */
static enum oauth_result
oauth_introspect_reply(const struct sasl_settings *settings,
                       const struct str *body, char *user_r, size_t size)
{
	json_t *reply = oauth_json_parse(body->data, body->len);
	if (reply == NULL)
		return oauth_tempfail(
		    "introspection answer is not a JSON object");
	enum oauth_result r =
	    json_is_true(json_object_get(reply, "active"))
	        ? oauth_accept(settings, reply, false, "username", user_r, size)
	        : oauth_invalid("token not active");
	json_decref(reply);
	return r;
}

/* RFC 7662 2.1: asks the endpoint about the token. */
static enum oauth_result
oauth_introspect(const struct sasl_settings *settings, const char *token,
                 size_t len, char *user_r, size_t size)
{
	const struct oauth_state *state = settings->oauth_state;
	CURL *curl = state->curl_ready ? curl_easy_init() : NULL;
	if (curl == NULL)
		return oauth_tempfail("libcurl not initialised");
	size_t form_len;
	char *form = oauth_introspect_form(token, len, &form_len);
	struct str body;
	str_init(&body, OAUTH_INTROSPECT_BODY_MAX);
	const char *why =
	    oauth_curl_perform(curl, settings, form, form_len, &body);
	curl_easy_cleanup(curl);
	secure_zero(form, form_len);
	free(form);
	enum oauth_result r =
	    why != NULL ? oauth_tempfail(why)
	                : oauth_introspect_reply(settings, &body, user_r, size);
	str_free(&body);
	return r;
}

/* ---- Either ---- */

enum oauth_result
oauth_validate(const struct sasl_settings *settings, const char *token,
               size_t len, char *user_r, size_t size)
{
	const struct oauth_state *state = settings->oauth_state;
	i_assert(size > 0);
	user_r[0] = '\0';
	if (!oauth_configured(settings))
		return oauth_invalid("OAuth not configured");
	i_assert(state != NULL); /* oauth_init() was called */
	if (len > OAUTH_TOKEN_MAX || !oauth_token_syntax_ok(token, len))
		return oauth_invalid("malformed token");
	struct jwt_parts parts;
	if (state->key_count > 0 && jwt_split(token, len, &parts))
		return jwt_validate(settings, &parts, user_r, size);
	if (settings->oauth_introspect_url != NULL)
		return oauth_introspect(settings, token, len, user_r, size);
	return oauth_invalid("not a JWT");
}
