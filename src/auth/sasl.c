/* The SASL framework: sessions, limits, identities (RFC 4422). */
#include "auth/sasl.h"

#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "lib/util.h"

static sasl_random_func *sasl_random_hook;

/* The registry, in the order mechanisms are advertised: strongest first,
 * as clients that take the first one they know do best that way. */
static const struct sasl_mech *const sasl_mechs[] = {
    &sasl_mech_scram_sha256_plus,
    &sasl_mech_scram_sha256,
    &sasl_mech_scram_sha1_plus,
    &sasl_mech_scram_sha1,
    &sasl_mech_gssapi,
    &sasl_mech_external,
    &sasl_mech_oauthbearer,
    &sasl_mech_xoauth2,
    &sasl_mech_otp,
    &sasl_mech_cram_md5,
    &sasl_mech_plain,
    &sasl_mech_login,
};

const struct sasl_mech *
sasl_mech_at(size_t i)
{
	return i < N_ELEMENTS(sasl_mechs) ? sasl_mechs[i] : NULL;
}

const struct sasl_mech *
sasl_mech_find(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ELEMENTS(sasl_mechs); i++) {
		if (mem_case_eq(name, len, sasl_mechs[i]->name))
			return sasl_mechs[i];
	}
	return NULL;
}

bool
sasl_mech_usable(const struct sasl_mech *mech,
                 const struct sasl_settings *settings, bool secured,
                 bool allow_plaintext)
{
	if (mech->available != NULL && !mech->available(settings))
		return false;
	if ((mech->flags & SASL_MECH_NEEDS_TLS) != 0 && !secured)
		return false;
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !secured &&
	    !allow_plaintext)
		return false;
	return true;
}

void
sasl_session_init(struct sasl_session *s, const struct sasl_mech *mech,
                  const struct sasl_settings *settings,
                  const struct sasl_conn_info *info, struct userdb *userdb)
{
	memset(s, 0, sizeof(*s));
	s->mech = mech;
	s->settings = settings;
	s->info = info;
	s->userdb = userdb;
}

enum sasl_result
sasl_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
          struct str *out)
{
	if (in_len > SASL_INPUT_MAX)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "response too long");
	if (++s->steps > SASL_MAX_STEPS)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "too many steps");
	enum sasl_result r = s->mech->step(s, in, in_len, out);
	if (r == SASL_OK)
		i_assert(s->user[0] != '\0');
	if (r != SASL_CONTINUE)
		s->steps = SASL_MAX_STEPS; /* a finished session stays so */
	return r;
}

void
sasl_session_free(struct sasl_session *s)
{
	if (s->mech != NULL && s->mech->free != NULL)
		s->mech->free(s);
	s->mech_state = NULL;
	secure_zero(s->user, sizeof(s->user));
}

enum sasl_result
sasl_fail(struct sasl_session *s, enum sasl_failure failure, const char *reason)
{
	s->failure = failure;
	s->fail_reason = reason;
	s->user[0] = '\0';
	return SASL_FAIL;
}

bool
sasl_user_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > USERDB_NAME_MAX || name[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '@' || c == '+' || c == '-'))
			return false;
	}
	return true;
}

bool
sasl_set_user(struct sasl_session *s, const char *authcid, size_t authcid_len,
              const char *authzid, size_t authzid_len)
{
	size_t keep =
	    authcid_len < USERDB_NAME_MAX ? authcid_len : USERDB_NAME_MAX;
	memcpy(s->attempted, authcid, keep);
	s->attempted[keep] = '\0';
	if (!sasl_user_name_valid(authcid, authcid_len)) {
		/* Same answer as a wrong password: names are not revealed. */
		sasl_fail(s, SASL_FAIL_CREDENTIALS, "invalid user name");
		return false;
	}
	if (authzid_len > 0 && (authzid_len != authcid_len ||
	                        memcmp(authzid, authcid, authcid_len) != 0)) {
		sasl_fail(s, SASL_FAIL_AUTHZ, "authorization identity denied");
		return false;
	}
	memcpy(s->user, authcid, authcid_len);
	s->user[authcid_len] = '\0';
	return true;
}

void
sasl_random_set_hook(sasl_random_func *func)
{
	sasl_random_hook = func;
}

void
sasl_random(void *buf, size_t len)
{
	if (sasl_random_hook != NULL) {
		sasl_random_hook(buf, len);
		return;
	}
	if (RAND_bytes(buf, (int)len) != 1)
		fatal("RAND_bytes failed");
}
