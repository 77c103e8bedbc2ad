/*
 * EXTERNAL (RFC 4422 appendix A) with TLS client certificates: the login
 * process verified the certificate against the configured CA and mapped
 * it to a user name by configuration (sasl_conn_info.cert_user); the
 * client's message is only its authorization identity.
 */
#include <string.h>

#include "auth/sasl.h"

static bool
sasl_external_available(const struct sasl_settings *settings)
{
	return settings->external;
}

static enum sasl_result
sasl_external_step(struct sasl_session *s, const unsigned char *in,
                   size_t in_len, struct str *out)
{
	if (in == NULL)
		return SASL_CONTINUE; /* empty challenge: client goes first */
	const char *user = s->info->cert_user;
	if (memchr(in, '\0', in_len) != NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "NUL in authzid");
	if (user[0] == '\0')
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "no verified client certificate");
	if (!sasl_set_user(s, user, strlen(user), (const char *)in, in_len))
		return SASL_FAIL;
	switch (userdb_exists(s->userdb, s->user)) {
	case USERDB_OK:
		return SASL_OK;
	case USERDB_NOT_FOUND:
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "certificate names an unknown user");
	default:
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	}
}

const struct sasl_mech sasl_mech_external = {
    .name = "EXTERNAL",
    .flags = SASL_MECH_NEEDS_TLS,
    .available = sasl_external_available,
    .step = sasl_external_step,
};
