/* PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login): the password
 * itself crosses the connection, so both need TLS outside loopback. */
#include <stdlib.h>
#include <string.h>

#include "auth/password-cache.h"
#include "auth/password.h"
#include "auth/sasl.h"
#include "lib/util.h"

/* Checks the password of s->user.  An unknown user, an unacceptable
 * password and a store without a password hash all cost one hash, so
 * timing tells nothing about which names exist. */
static enum sasl_result
sasl_password_check(struct sasl_session *s, const unsigned char *password,
                    size_t len)
{
	char hash[USERDB_VALUE_MAX];
	enum userdb_result r =
	    userdb_get(s->userdb, s->user, USERDB_PASSWORD, hash, sizeof(hash));
	if (r == USERDB_ERROR)
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	bool known = r == USERDB_OK;
	bool acceptable =
	    len <= PASSWORD_MAX_LEN && memchr(password, '\0', len) == NULL;
	char *pw = xcalloc(1, PASSWORD_MAX_LEN + 1);
	if (acceptable)
		memcpy(pw, password, len);
	bool ok = known && acceptable && password_cache_check(hash, pw);
	if (!ok) {
		/* Not cached: verify, unless another thread is verifying the
		 * same password right now; then its result is the answer. */
		bool claimed =
		    !known || !acceptable || password_cache_claim(hash, pw);
		if (!claimed) {
			ok = password_cache_check(hash, pw);
		} else {
			ok = password_verify(pw, known ? hash : NULL);
			if (ok && known && acceptable)
				password_cache_add(hash, pw);
			if (known && acceptable)
				password_cache_release(hash, pw);
		}
	}
	secure_zero(pw, PASSWORD_MAX_LEN + 1);
	free(pw);
	secure_zero(hash, sizeof(hash));
	if (!ok || !known || !acceptable || len == 0)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, "wrong password");
	return SASL_OK;
}

/* RFC 4616 2: [authzid] NUL authcid NUL passwd. */
static enum sasl_result
sasl_plain_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
                struct str *out)
{
	if (in == NULL)
		return SASL_CONTINUE; /* empty challenge: client goes first */
	const unsigned char *nul1 = memchr(in, '\0', in_len);
	const unsigned char *nul2 =
	    nul1 == NULL
	        ? NULL
	        : memchr(nul1 + 1, '\0', in_len - (size_t)(nul1 + 1 - in));
	if (nul2 == NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "malformed PLAIN");
	const char *authzid = (const char *)in;
	size_t authzid_len = (size_t)(nul1 - in);
	const char *authcid = (const char *)nul1 + 1;
	size_t authcid_len = (size_t)(nul2 - nul1 - 1);
	if (!sasl_set_user(s, authcid, authcid_len, authzid, authzid_len))
		return SASL_FAIL;
	return sasl_password_check(s, nul2 + 1,
	                           in_len - (size_t)(nul2 + 1 - in));
}

const struct sasl_mech sasl_mech_plain = {
    .name = "PLAIN",
    .flags = SASL_MECH_PLAINTEXT,
    .step = sasl_plain_step,
};

enum sasl_login_phase {
	LOGIN_WANT_USER,
	LOGIN_WANT_PASSWORD,
	LOGIN_BAD_USER, /* still asks for a password, then fails */
};

/* LOGIN asks for the user name, then the password, each as a challenge
 * of its own; an initial response is the user name. */
static enum sasl_result
sasl_login_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
                struct str *out)
{
	switch (s->phase) {
	case LOGIN_WANT_USER:
		if (in == NULL) {
			str_append_cstr(out, "Username:");
			return SASL_CONTINUE;
		}
		/* A bad name is asked for its password all the same: the
		 * answer must not tell that the name is unknown. */
		s->phase = sasl_set_user(s, (const char *)in, in_len, NULL, 0)
		               ? LOGIN_WANT_PASSWORD
		               : LOGIN_BAD_USER;
		str_append_cstr(out, "Password:");
		return SASL_CONTINUE;
	case LOGIN_WANT_PASSWORD:
		return sasl_password_check(
		    s, in != NULL ? in : (const unsigned char *)"", in_len);
	default:
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, "invalid user name");
	}
}

const struct sasl_mech sasl_mech_login = {
    .name = "LOGIN",
    .flags = SASL_MECH_PLAINTEXT,
    .step = sasl_login_step,
};
