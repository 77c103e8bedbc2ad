/* OAUTHBEARER (RFC 7628) and XOAUTH2 (Google's older framing of the same
 * bearer token): the client sends a token, oauth.c checks it.  A bearer
 * token works for anyone holding it, so both need TLS outside loopback. */
#include <string.h>
#include <strings.h>

#include "auth/oauth.h"
#include "auth/sasl.h"
#include "lib/util.h"

#define KVSEP '\x01' /* RFC 7628 3.1 */

/* Sent when a token is refused (RFC 7628 3.2.2).  The scope is left out:
 * Casella does not know which one the provider wants. */
#define OAUTHBEARER_ERROR                                                      \
	"{\"status\":\"invalid_token\",\"schemes\":\"bearer\"}"
/* What Google sends for XOAUTH2. */
#define XOAUTH2_ERROR "{\"status\":\"400\",\"schemes\":\"Bearer\"}"

enum oauth_phase {
	OAUTH_PHASE_RESPONSE,   /* waiting for the client's token */
	OAUTH_PHASE_ERROR_SENT, /* refused; waiting for the client's
	                           acknowledgement (RFC 7628 3.2.3) */
};

/* What the client sent; pointers into its response. */
struct oauth_message {
	const char *authzid; /* OAUTHBEARER gs2 "a=", still escaped */
	size_t authzid_len;
	const char *user; /* XOAUTH2 "user=" */
	size_t user_len;
	const char *auth; /* "auth=" */
	size_t auth_len;
	const char *token; /* the b64token in auth */
	size_t token_len;
};

/* Internal result of checking a message. */
enum oauth_verdict {
	OAUTH_VERDICT_OK,       /* s->user is set */
	OAUTH_VERDICT_REFUSED,  /* failure recorded; tell the client first */
	OAUTH_VERDICT_TEMPFAIL, /* failure recorded; end now */
};

static bool
oauth_mech_available(const struct sasl_settings *settings)
{
	return oauth_configured(settings);
}

/* RFC 5801 4: saslname = 1*(UTF8-char-safe / "=2C" / "=3D").  It is
 * compared escaped: a valid user name holds neither ',' nor '=', so an
 * escaped authzid can never match one, which is the right answer. */
static bool
oauth_saslname_ok(const char *p, size_t len)
{
	if (len == 0 || memchr(p, '\0', len) != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '=' &&
		    (len - i < 3 || (memcmp(p + i, "=2C", 3) != 0 &&
		                     memcmp(p + i, "=3D", 3) != 0)))
			return false;
	}
	return true;
}

/* RFC 7628 3.1, RFC 5801 4: gs2-header = "n," [ "a=" saslname ] ",".
 * OAUTHBEARER has no channel binding, so "y" and "p=" are refused. */
static const char *
oauthbearer_parse_gs2(const char **p, const char *end, struct oauth_message *m)
{
	const char *s = *p;
	if (end - s >= 1 && (s[0] == 'y' || s[0] == 'p'))
		return "channel binding not supported";
	if (end - s < 2 || s[0] != 'n' || s[1] != ',')
		return "malformed gs2 header";
	s += 2;
	const char *comma = memchr(s, ',', (size_t)(end - s));
	if (comma == NULL)
		return "malformed gs2 header";
	if (comma > s) {
		size_t len = (size_t)(comma - s);
		if (len < 2 || s[0] != 'a' || s[1] != '=' ||
		    !oauth_saslname_ok(s + 2, len - 2))
			return "malformed gs2 authzid";
		m->authzid = s + 2;
		m->authzid_len = len - 2;
	}
	*p = comma + 1;
	return NULL;
}

static bool
oauth_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 7628 3.1: value = *(VCHAR / SP / HTAB / CR / LF). */
static bool
oauth_value_char(char c)
{
	return (c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t' || c == '\r' ||
	       c == '\n';
}

/* Stores value under the key named, refusing a second one. */
static const char *
oauth_keep(const char **field, size_t *field_len, const char *value, size_t len)
{
	if (*field != NULL)
		return "duplicate key";
	*field = value;
	*field_len = len;
	return NULL;
}

/* RFC 7628 3.1: kvpair = key "=" value kvsep, key = 1*ALPHA.  Keeps
 * "auth" and "user"; others (host, port) are ignored. */
static const char *
oauth_parse_kvpair(const char *p, const char *sep, struct oauth_message *m)
{
	const char *eq = memchr(p, '=', (size_t)(sep - p));
	if (eq == NULL || eq == p)
		return "malformed key-value pair";
	for (const char *k = p; k < eq; k++) {
		if (!oauth_key_char(*k))
			return "malformed key";
	}
	for (const char *v = eq + 1; v < sep; v++) {
		if (!oauth_value_char(*v))
			return "malformed value";
	}
	size_t key_len = (size_t)(eq - p);
	size_t value_len = (size_t)(sep - eq - 1);
	if (key_len == 4 && memcmp(p, "auth", 4) == 0)
		return oauth_keep(&m->auth, &m->auth_len, eq + 1, value_len);
	if (key_len == 4 && memcmp(p, "user", 4) == 0)
		return oauth_keep(&m->user, &m->user_len, eq + 1, value_len);
	return NULL;
}

/* *kvpair kvsep, to the end of the input. */
static const char *
oauth_parse_kvpairs(const char *p, const char *end, struct oauth_message *m)
{
	while (p < end && *p != KVSEP) {
		const char *sep = memchr(p, KVSEP, (size_t)(end - p));
		if (sep == NULL)
			return "unterminated key-value pair";
		const char *why = oauth_parse_kvpair(p, sep, m);
		if (why != NULL)
			return why;
		p = sep + 1;
	}
	if (end - p != 1)
		return "missing or extra final separator";
	return m->auth == NULL ? "no auth key" : NULL;
}

/* RFC 7628 3.1: auth-value = "Bearer" 1*SP b64token; the scheme is
 * case-insensitive, as in HTTP (RFC 6750 2.1). */
static const char *
oauth_parse_bearer(struct oauth_message *m)
{
	if (m->auth_len < 7 || strncasecmp(m->auth, "Bearer ", 7) != 0)
		return "not a Bearer token";
	const char *end = m->auth + m->auth_len;
	const char *t = m->auth + 6;
	while (t < end && *t == ' ')
		t++;
	m->token = t;
	m->token_len = (size_t)(end - t);
	return m->token_len == 0 ? "empty token" : NULL;
}

/* RFC 7628 3.1: client-resp = gs2-header kvsep *kvpair kvsep. */
static const char *
oauthbearer_parse(const unsigned char *in, size_t in_len,
                  struct oauth_message *m)
{
	const char *p = (const char *)in;
	const char *end = p + in_len;
	memset(m, 0, sizeof(*m));
	const char *why = oauthbearer_parse_gs2(&p, end, m);
	if (why == NULL && (p == end || *p++ != KVSEP))
		why = "no separator after the gs2 header";
	if (why == NULL)
		why = oauth_parse_kvpairs(p, end, m);
	return why != NULL ? why : oauth_parse_bearer(m);
}

/* "user=" USER ^A "auth=Bearer " TOKEN ^A ^A. */
static const char *
xoauth2_parse(const unsigned char *in, size_t in_len, struct oauth_message *m)
{
	const char *p = (const char *)in;
	memset(m, 0, sizeof(*m));
	const char *why = oauth_parse_kvpairs(p, p + in_len, m);
	if (why == NULL && m->user_len == 0)
		why = "no user";
	return why != NULL ? why : oauth_parse_bearer(m);
}

/* Validates the token and checks that its user is the one the client
 * named (name_len 0: none), and exists. */
static enum oauth_verdict
oauth_check(struct sasl_session *s, const struct oauth_message *m,
            const char *name, size_t name_len)
{
	char user[USERDB_NAME_MAX + 1];
	switch (oauth_validate(s->settings, m->token, m->token_len, user,
	                       sizeof(user))) {
	case OAUTH_OK:
		break;
	case OAUTH_INVALID:
		sasl_fail(s, SASL_FAIL_CREDENTIALS, "invalid token");
		return OAUTH_VERDICT_REFUSED;
	default:
		sasl_fail(s, SASL_FAIL_TEMPORARY, "token check unavailable");
		return OAUTH_VERDICT_TEMPFAIL;
	}
	if (!sasl_set_user(s, user, strlen(user), name, name_len))
		return OAUTH_VERDICT_REFUSED;
	switch (userdb_exists(s->userdb, s->user)) {
	case USERDB_OK:
		return OAUTH_VERDICT_OK;
	case USERDB_NOT_FOUND:
		sasl_fail(s, SASL_FAIL_CREDENTIALS, "unknown user");
		return OAUTH_VERDICT_REFUSED;
	default:
		sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
		return OAUTH_VERDICT_TEMPFAIL;
	}
}

/* RFC 7628 3.2.2: a refusal is a challenge holding the error, which the
 * client acknowledges before the exchange fails. */
static enum sasl_result
oauth_conclude(struct sasl_session *s, enum oauth_verdict verdict,
               const char *error_json, struct str *out)
{
	switch (verdict) {
	case OAUTH_VERDICT_OK:
		return SASL_OK;
	case OAUTH_VERDICT_REFUSED:
		str_append_cstr(out, error_json);
		s->phase = OAUTH_PHASE_ERROR_SENT;
		return SASL_CONTINUE;
	default:
		return SASL_FAIL;
	}
}

/* The client acknowledged the error challenge (ack: in the expected
 * form): fail as recorded then. */
static enum sasl_result
oauth_after_error(struct sasl_session *s, bool ack)
{
	if (!ack)
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "unexpected response to the error challenge");
	return sasl_fail(s, s->failure, s->fail_reason);
}

static enum sasl_result
oauthbearer_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
                 struct str *out)
{
	/* RFC 7628 3.2.3: the acknowledgement is a lone kvsep. */
	if (s->phase == OAUTH_PHASE_ERROR_SENT)
		return oauth_after_error(s, in_len == 1 && in[0] == KVSEP);
	if (in == NULL)
		return SASL_CONTINUE; /* empty challenge: client goes first */
	struct oauth_message m;
	const char *why = oauthbearer_parse(in, in_len, &m);
	if (why != NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, why);
	return oauth_conclude(s, oauth_check(s, &m, m.authzid, m.authzid_len),
	                      OAUTHBEARER_ERROR, out);
}

const struct sasl_mech sasl_mech_oauthbearer = {
    .name = "OAUTHBEARER",
    .flags = SASL_MECH_PLAINTEXT,
    .available = oauth_mech_available,
    .step = oauthbearer_step,
};

static enum sasl_result
xoauth2_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
             struct str *out)
{
	/* The acknowledgement is an empty response. */
	if (s->phase == OAUTH_PHASE_ERROR_SENT)
		return oauth_after_error(s, in_len == 0);
	if (in == NULL)
		return SASL_CONTINUE; /* empty challenge: client goes first */
	struct oauth_message m;
	const char *why = xoauth2_parse(in, in_len, &m);
	if (why != NULL)
		return sasl_fail(s, SASL_FAIL_MALFORMED, why);
	return oauth_conclude(s, oauth_check(s, &m, m.user, m.user_len),
	                      XOAUTH2_ERROR, out);
}

const struct sasl_mech sasl_mech_xoauth2 = {
    .name = "XOAUTH2",
    .flags = SASL_MECH_PLAINTEXT,
    .available = oauth_mech_available,
    .step = xoauth2_step,
};
