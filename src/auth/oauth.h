#ifndef CASELLA_OAUTH_H
#define CASELLA_OAUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/sasl.h"

/*
 * Bearer token validation for OAUTHBEARER and XOAUTH2 (RFC 7628),
 * knowing nothing of SASL framing.  A token is accepted either as a JWT
 * (RFC 7519) signed by one of the public keys in oauth_jwt_key_file
 * (JWS compact form, RFC 7515; algorithms RS256, RS384, RS512, PS256,
 * ES256, ES384 of RFC 7518), or by asking the RFC 7662 introspection
 * endpoint oauth_introspect_url.  With both configured, tokens shaped like
 * a JWT are checked by key and others are introspected.
 */

/* Bytes of one token, at most. */
#define OAUTH_TOKEN_MAX (8 * 1024)
/* Bytes of an introspection response body, at most. */
#define OAUTH_INTROSPECT_BODY_MAX (64 * 1024)
/* Seconds of clock skew allowed on "exp" and "nbf". */
#define OAUTH_CLOCK_SKEW 60
/* Public keys in oauth_jwt_key_file, at most. */
#define OAUTH_KEYS_MAX 8

enum oauth_result {
	OAUTH_OK,       /* valid: user_r names the token's user */
	OAUTH_INVALID,  /* bad, expired, revoked or not for us */
	OAUTH_TEMPFAIL, /* the introspection endpoint could not answer */
};

/* Whether tokens can be checked at all: a key file or an endpoint is
 * configured.  Needs no oauth_init(), so a process without the keys can
 * decide what to advertise. */
bool oauth_configured(const struct sasl_settings *settings);

/*
 * Loads the PEM public keys (RSA of 2048 bits or more, EC on P-256 or
 * P-384; several may be concatenated) into settings->oauth_state, and
 * initialises libcurl if introspection is configured.  Call once at
 * startup, before any thread validates.  Returns 0, or -1 with a static
 * *error_r.  Does nothing (returns 0) when OAuth is not configured.
 */
int oauth_init(struct sasl_settings *settings, const char **error_r);
/* Frees what oauth_init() set up; settings->oauth_state is NULL after. */
void oauth_deinit(struct sasl_settings *settings);

/*
 * Validates the bearer token (len bytes, the b64token of RFC 6750 2.1)
 * and copies the user it names (claim oauth_user_claim, default "sub"
 * for a JWT and "username" for introspection) into user_r, size bytes,
 * NUL-terminated.  Checks exp (required in a JWT), nbf, iss and aud as
 * configured.  Blocks for up to 5 s when introspecting; thread-safe.
 */
enum oauth_result oauth_validate(const struct sasl_settings *settings,
                                 const char *token, size_t len, char *user_r,
                                 size_t size);

#endif
