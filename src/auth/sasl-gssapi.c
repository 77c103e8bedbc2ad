/*
 * GSSAPI (RFC 4752): Kerberos V5 through GSS-API (RFC 2743), over MIT's
 * libgssapi_krb5.  The client's tokens go to GSS_Accept_sec_context until
 * the context is established; then the server offers security layers in
 * a wrapped 4-octet message and the client answers with its choice and
 * an authorization identity.  Casella offers no security layer: TLS
 * protects the connection.  The user is the client's principal without
 * its realm, for single-component principals of the default realm only:
 * alice@EXAMPLE.ORG logs in as "alice" (sasl_gssapi_principal_user()).
 * Replays are caught by MIT's replay cache, on by default; an acceptor
 * run with KRB5RCACHETYPE=none has none.
 *
 * Every GSS-API object a session holds lives in its mech_state, so that
 * sasl_gssapi_free() releases it on every path, an abandoned exchange
 * included.  Nothing is logged here: failures carry a static reason.
 */
#include "auth/sasl-gssapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "auth/sasl.h"
#include "lib/util.h"

/* RFC 4752 3.3: the security layer bits of the first octet. */
#define GSSAPI_LAYER_NONE 0x01
/* RFC 4752 3.2: bit mask and a 3-octet maximum size, then the
 * authorization identity in the client's answer. */
#define GSSAPI_LAYER_MSG_LEN 4

enum gssapi_phase {
	GSSAPI_ACCEPT,     /* establishing the context */
	GSSAPI_WANT_EMPTY, /* sent the last context token; want "" back */
	GSSAPI_WANT_LAYER, /* sent the layer offer; want the choice */
};

struct gssapi_state {
	gss_cred_id_t cred; /* acceptor credentials, from the keytab */
	gss_ctx_id_t ctx;   /* the security context, once begun */
	gss_name_t peer;    /* the initiator, once the context is set up */
};

/* RFC 2743 4.1: "service@host" names the acceptor SERVICE/HOST; no name
 * at all lets any key in the keytab accept. */
static OM_uint32
gssapi_service_name(const char *service, const char *host, gss_name_t *name_r,
                    OM_uint32 *minor_r)
{
	*name_r = GSS_C_NO_NAME;
	*minor_r = 0;
	if (host == NULL)
		return GSS_S_COMPLETE;
	char text[320];
	int n = snprintf(text, sizeof(text), "%s@%s", service, host);
	if (n < 0 || (size_t)n >= sizeof(text))
		return GSS_S_BAD_NAME;
	gss_buffer_desc buf = {(size_t)n, text};
	return gss_import_name(minor_r, &buf, GSS_C_NT_HOSTBASED_SERVICE,
	                       name_r);
}

/* RFC 2743 2.1.1: acceptor credentials for Kerberos V5 alone, so that no
 * other mechanism (SPNEGO, say) can be negotiated under this name. */
static OM_uint32
gssapi_acquire(const char *service, const char *host, gss_cred_id_t *cred_r,
               OM_uint32 *minor_r)
{
	gss_name_t name;
	OM_uint32 major = gssapi_service_name(service, host, &name, minor_r);
	if (GSS_ERROR(major))
		return major;
	gss_OID_set_desc mechs = {1, gss_mech_krb5};
	major = gss_acquire_cred(minor_r, name, GSS_C_INDEFINITE, &mechs,
	                         GSS_C_ACCEPT, cred_r, NULL, NULL);
	OM_uint32 ignored;
	gss_release_name(&ignored, &name);
	return major;
}

/* Appends GSS-API's first message for code (RFC 2743 2.4.1) to buf. */
static void
gssapi_status_append(char *buf, size_t size, OM_uint32 code, int type)
{
	OM_uint32 minor, more = 0;
	gss_buffer_desc msg = GSS_C_EMPTY_BUFFER;
	if (GSS_ERROR(gss_display_status(&minor, code, type, GSS_C_NO_OID,
	                                 &more, &msg)))
		return;
	size_t used = strlen(buf);
	snprintf(buf + used, size - used, "%s%.*s", used > 0 ? ": " : "",
	         (int)msg.length, (const char *)msg.value);
	gss_release_buffer(&minor, &msg);
}

bool
sasl_gssapi_probe(const char *service, const char *host, const char **error_r)
{
	static _Thread_local char error[256];
	gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
	OM_uint32 minor;
	OM_uint32 major = gssapi_acquire(service, host, &cred, &minor);
	if (!GSS_ERROR(major)) {
		gss_release_cred(&minor, &cred);
		return true;
	}
	error[0] = '\0';
	gssapi_status_append(error, sizeof(error), major, GSS_C_GSS_CODE);
	if (minor != 0)
		gssapi_status_append(error, sizeof(error), minor,
		                     GSS_C_MECH_CODE);
	*error_r = error;
	return false;
}

const char *
sasl_gssapi_principal_user(const char *principal, size_t len, const char *realm,
                           size_t *user_len_r)
{
	/* RFC 1964 2.1.1: "/" separates components, "@" starts the realm
	 * and "\" escapes either inside a component.  A user is one plain
	 * component: nothing escaped, no instance. */
	const char *at = memchr(principal, '@', len);
	if (at == NULL)
		return "GSSAPI: principal without a realm";
	size_t user_len = (size_t)(at - principal);
	if (user_len == 0 || memchr(principal, '\\', user_len) != NULL)
		return "GSSAPI: unusual principal name";
	if (memchr(principal, '/', user_len) != NULL)
		return "GSSAPI: principal with an instance";
	size_t realm_len = len - user_len - 1;
	if (realm_len != strlen(realm) || memcmp(at + 1, realm, realm_len) != 0)
		return "GSSAPI: principal of another realm";
	*user_len_r = user_len;
	return NULL;
}

/* The user of principal if it is in the default realm of krb5.conf: the
 * only realm whose principals are Casella users. */
static const char *
gssapi_local_user(const char *principal, size_t len, size_t *user_len_r)
{
	krb5_context kc;
	if (krb5_init_context(&kc) != 0)
		return "GSSAPI: cannot read the Kerberos configuration";
	char *realm;
	const char *reason = "GSSAPI: no default realm";
	if (krb5_get_default_realm(kc, &realm) == 0) {
		reason = sasl_gssapi_principal_user(principal, len, realm,
		                                    user_len_r);
		krb5_free_default_realm(kc, realm);
	}
	krb5_free_context(kc);
	return reason;
}

/* Maps a GSS-API error (RFC 2743 1.2.1.1) to a SASL failure: a token
 * GSS-API cannot parse is malformed; anything else (a ticket for a key
 * not in the keytab, expired, forged, replayed) is bad credentials. */
static enum sasl_result
gssapi_fail(struct sasl_session *s, OM_uint32 major, OM_uint32 minor)
{
	if ((major & (GSS_S_DUPLICATE_TOKEN | GSS_S_OLD_TOKEN)) != 0 ||
	    minor == (OM_uint32)KRB5KRB_AP_ERR_REPEAT)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "GSSAPI: replayed token");
	switch (GSS_ROUTINE_ERROR(major)) {
	case GSS_S_DEFECTIVE_TOKEN:
	case GSS_S_BAD_MECH:
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: malformed token");
	default:
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "GSSAPI: ticket rejected");
	}
}

static enum sasl_result
gssapi_user_exists(struct sasl_session *s)
{
	switch (userdb_exists(s->userdb, s->user)) {
	case USERDB_OK:
		return SASL_OK;
	case USERDB_NOT_FOUND:
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "GSSAPI: no such user");
	default:
		return sasl_fail(s, SASL_FAIL_TEMPORARY, "user source failed");
	}
}

/* RFC 4752 3.2: the server verifies that the initiator (src_name) may
 * act as the authorization identity; in Casella, only as itself. */
static enum sasl_result
gssapi_authorize(struct sasl_session *s, const char *authzid,
                 size_t authzid_len)
{
	struct gssapi_state *st = s->mech_state;
	OM_uint32 minor;
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	if (GSS_ERROR(gss_display_name(&minor, st->peer, &name, NULL)))
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "GSSAPI: initiator without a name");
	size_t user_len = 0;
	const char *reason =
	    gssapi_local_user(name.value, name.length, &user_len);
	bool ok = reason == NULL &&
	          sasl_set_user(s, name.value, user_len, authzid, authzid_len);
	gss_release_buffer(&minor, &name);
	if (reason != NULL)
		return sasl_fail(s, SASL_FAIL_CREDENTIALS, reason);
	return ok ? gssapi_user_exists(s) : SASL_FAIL;
}

/* RFC 4752 3.2: the unwrapped answer is the chosen layer, the client's
 * maximum size and the authorization identity. */
static enum sasl_result
gssapi_check_choice(struct sasl_session *s, const unsigned char *msg,
                    size_t len)
{
	if (len < GSSAPI_LAYER_MSG_LEN)
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: short security layer answer");
	/* Exactly the one layer offered.  RFC 4752 3.2 also has the server
	 * check that the client's size is 0 with no layer; it is ignored
	 * instead, as some clients send their buffer size all the same and
	 * with no layer nothing more is wrapped in either direction. */
	if (msg[0] != GSSAPI_LAYER_NONE)
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: security layer not offered");
	return gssapi_authorize(s, (const char *)msg + GSSAPI_LAYER_MSG_LEN,
	                        len - GSSAPI_LAYER_MSG_LEN);
}

/* RFC 4752 3.2: the client's answer to the offer, through GSS_Unwrap
 * (RFC 2743 2.3.4), which checks its integrity. */
static enum sasl_result
gssapi_choose_layer(struct sasl_session *s, const unsigned char *in,
                    size_t in_len)
{
	struct gssapi_state *st = s->mech_state;
	gss_buffer_desc wrapped = {in_len, (void *)in};
	gss_buffer_desc plain = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	OM_uint32 major =
	    gss_unwrap(&minor, st->ctx, &wrapped, &plain, NULL, NULL);
	/* RFC 4752 3.3: anything but GSS_S_COMPLETE is fatal, a
	 * supplementary status (a duplicate or out-of-order token) too. */
	if (major != GSS_S_COMPLETE) {
		gss_release_buffer(&minor, &plain);
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: bad security layer answer");
	}
	enum sasl_result r = gssapi_check_choice(s, plain.value, plain.length);
	gss_release_buffer(&minor, &plain);
	return r;
}

/* Whether a display name is SERVICE/HOST@REALM: two components, the
 * first one service. */
static bool
gssapi_is_service(const char *name, size_t len, const char *service)
{
	size_t service_len = strlen(service);
	if (len <= service_len + 1 || memcmp(name, service, service_len) != 0 ||
	    name[service_len] != '/')
		return false;
	const char *host = name + service_len + 1;
	size_t rest = len - service_len - 1;
	const char *at = memchr(host, '@', rest);
	size_t host_len = at != NULL ? (size_t)(at - host) : rest;
	return host_len > 0 && memchr(host, '/', host_len) == NULL;
}

/* RFC 4752 3.2: an acceptor of any key in the keytab (GSS_C_NO_NAME)
 * checks with GSS_Inquire_context (RFC 2743 2.2.6) that the client asked
 * for our service, on whatever host: the keytab may hold keys of others
 * (host/, HTTP/). */
static bool
gssapi_target_ok(struct sasl_session *s)
{
	if (s->settings->gssapi_host != NULL)
		return true; /* the credentials hold SERVICE/HOST alone */
	struct gssapi_state *st = s->mech_state;
	gss_name_t target = GSS_C_NO_NAME;
	gss_buffer_desc name = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	bool ok =
	    !GSS_ERROR(gss_inquire_context(&minor, st->ctx, NULL, &target, NULL,
	                                   NULL, NULL, NULL, NULL)) &&
	    !GSS_ERROR(gss_display_name(&minor, target, &name, NULL)) &&
	    gssapi_is_service(name.value, name.length, s->settings->service);
	gss_release_buffer(&minor, &name);
	gss_release_name(&minor, &target);
	return ok;
}

/*
 * RFC 4752 3.2: the security layers the server supports and the largest
 * wrapped message it takes, through GSS_Wrap (RFC 2743 2.3.3) without
 * confidentiality.  Casella offers "no security layer" only, so the size
 * must be 0: TLS gives the connection its privacy and integrity, and a
 * SASL layer would wrap the whole IMAP stream a second time.
 */
static enum sasl_result
gssapi_offer_layers(struct sasl_session *s, struct str *out)
{
	static const unsigned char offer[GSSAPI_LAYER_MSG_LEN] = {
	    GSSAPI_LAYER_NONE, 0, 0, 0};
	struct gssapi_state *st = s->mech_state;
	gss_buffer_desc plain = {sizeof(offer), (void *)offer};
	gss_buffer_desc wrapped = GSS_C_EMPTY_BUFFER;
	OM_uint32 minor;
	OM_uint32 major = gss_wrap(&minor, st->ctx, 0, GSS_C_QOP_DEFAULT,
	                           &plain, NULL, &wrapped);
	if (!GSS_ERROR(major))
		str_append(out, wrapped.value, wrapped.length);
	OM_uint32 ignored;
	gss_release_buffer(&ignored, &wrapped);
	if (GSS_ERROR(major))
		return gssapi_fail(s, major, minor);
	s->phase = GSSAPI_WANT_LAYER;
	return SASL_CONTINUE;
}

/*
 * RFC 4752 3.2: with the context established, the mechanism must be
 * Kerberos V5 and, for an acceptor of any key, the service ours; a last
 * output token goes out on its own and the client's empty answer comes
 * back before the layers are offered.  RFC 4752 3.1 makes the client ask
 * for integrity, which wrapping the layer messages needs (RFC 4752 7).
 * Mutual authentication it must ask for only if it wants a security
 * layer: Casella offers none, so a client may skip it, and the last
 * token with it.
 */
static enum sasl_result
gssapi_established(struct sasl_session *s, gss_const_OID mech, OM_uint32 flags,
                   bool token_sent, struct str *out)
{
	if (mech == GSS_C_NO_OID || !gss_oid_equal(mech, gss_mech_krb5))
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: not Kerberos V5");
	if ((flags & GSS_C_INTEG_FLAG) == 0)
		return sasl_fail(s, SASL_FAIL_MALFORMED,
		                 "GSSAPI: integrity not requested");
	if (!gssapi_target_ok(s))
		return sasl_fail(s, SASL_FAIL_CREDENTIALS,
		                 "GSSAPI: ticket for another service");
	if (token_sent) {
		s->phase = GSSAPI_WANT_EMPTY;
		return SASL_CONTINUE;
	}
	return gssapi_offer_layers(s, out);
}

/* RFC 4752 3.2: one client token through GSS_Accept_sec_context (RFC
 * 2743 2.2.2); its output token, possibly empty, is the challenge.  An
 * error token is not sent: RFC 4752 has no place for one. */
static enum sasl_result
gssapi_accept(struct sasl_session *s, const unsigned char *in, size_t in_len,
              struct str *out)
{
	struct gssapi_state *st = s->mech_state;
	gss_buffer_desc token = {in_len, (void *)in};
	gss_buffer_desc reply = GSS_C_EMPTY_BUFFER;
	gss_name_t peer = GSS_C_NO_NAME;
	gss_OID mech = GSS_C_NO_OID;
	OM_uint32 minor, ignored, flags = 0;
	OM_uint32 major = gss_accept_sec_context(
	    &minor, &st->ctx, st->cred, &token, GSS_C_NO_CHANNEL_BINDINGS,
	    &peer, &mech, &reply, &flags, NULL, NULL);
	/* RFC 4752 3: any other status, supplementary bits included (a
	 * replay reported as such), fails the authentication. */
	bool ok = major == GSS_S_COMPLETE || major == GSS_S_CONTINUE_NEEDED;
	bool token_sent = ok && reply.length > 0;
	if (token_sent)
		str_append(out, reply.value, reply.length);
	gss_release_buffer(&ignored, &reply);
	if (major != GSS_S_COMPLETE) {
		gss_release_name(&ignored, &peer);
		return ok ? SASL_CONTINUE : gssapi_fail(s, major, minor);
	}
	st->peer = peer;
	return gssapi_established(s, mech, flags, token_sent, out);
}

/* Starts the session's state with the acceptor credentials; false (and
 * the failure recorded) if the keytab no longer has them. */
static bool
gssapi_begin(struct sasl_session *s)
{
	struct gssapi_state *st = xcalloc(1, sizeof(*st));
	st->cred = GSS_C_NO_CREDENTIAL;
	st->ctx = GSS_C_NO_CONTEXT;
	st->peer = GSS_C_NO_NAME;
	s->mech_state = st;
	OM_uint32 minor;
	if (!GSS_ERROR(gssapi_acquire(s->settings->service,
	                              s->settings->gssapi_host, &st->cred,
	                              &minor)))
		return true;
	sasl_fail(s, SASL_FAIL_TEMPORARY, "GSSAPI: no acceptor credentials");
	return false;
}

static enum sasl_result
gssapi_accept_step(struct sasl_session *s, const unsigned char *in,
                   size_t in_len, struct str *out)
{
	if (s->mech_state == NULL) {
		/* RFC 4422 5: the client speaks first; without an initial
		 * response, it gets an empty challenge. */
		if (in == NULL)
			return SASL_CONTINUE;
		if (!gssapi_begin(s))
			return SASL_FAIL;
	}
	if (in_len == 0)
		return sasl_fail(s, SASL_FAIL_MALFORMED, "GSSAPI: empty token");
	return gssapi_accept(s, in, in_len, out);
}

static enum sasl_result
sasl_gssapi_step(struct sasl_session *s, const unsigned char *in, size_t in_len,
                 struct str *out)
{
	switch (s->phase) {
	case GSSAPI_ACCEPT:
		return gssapi_accept_step(s, in, in_len, out);
	case GSSAPI_WANT_EMPTY:
		if (in_len != 0)
			return sasl_fail(s, SASL_FAIL_MALFORMED,
			                 "GSSAPI: data after the last token");
		return gssapi_offer_layers(s, out);
	default:
		return gssapi_choose_layer(s, in, in_len);
	}
}

static void
sasl_gssapi_free(struct sasl_session *s)
{
	struct gssapi_state *st = s->mech_state;
	if (st == NULL)
		return;
	OM_uint32 minor;
	/* Deleting the context wipes its keys (RFC 2743 2.2.3). */
	if (st->ctx != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &st->ctx, GSS_C_NO_BUFFER);
	if (st->peer != GSS_C_NO_NAME)
		gss_release_name(&minor, &st->peer);
	if (st->cred != GSS_C_NO_CREDENTIAL)
		gss_release_cred(&minor, &st->cred);
	free(st);
	s->mech_state = NULL;
}

static bool
sasl_gssapi_available(const struct sasl_settings *settings)
{
	return settings->gssapi;
}

const struct sasl_mech sasl_mech_gssapi = {
    .name = "GSSAPI",
    .flags = 0,
    .available = sasl_gssapi_available,
    .step = sasl_gssapi_step,
    .free = sasl_gssapi_free,
};

/* The keytab copy that outlives the process's privileges. */
static krb5_context gssapi_kt_context;
static krb5_keytab gssapi_kt_memory;

/* Copies every entry of the default keytab into a MEMORY keytab. */
static krb5_error_code
gssapi_keytab_copy(krb5_context kc, krb5_keytab from, krb5_keytab to)
{
	krb5_kt_cursor cursor;
	krb5_keytab_entry entry;
	krb5_error_code ret = krb5_kt_start_seq_get(kc, from, &cursor);
	if (ret != 0)
		return ret;
	while ((ret = krb5_kt_next_entry(kc, from, &entry, &cursor)) == 0) {
		krb5_error_code add = krb5_kt_add_entry(kc, to, &entry);
		krb5_free_keytab_entry_contents(kc, &entry);
		if (add != 0) {
			ret = add;
			break;
		}
	}
	krb5_kt_end_seq_get(kc, from, &cursor);
	return ret == KRB5_KT_END ? 0 : ret;
}

int
sasl_gssapi_keytab_preload(void)
{
	krb5_keytab from;
	if (krb5_init_context(&gssapi_kt_context) != 0)
		return -1;
	if (krb5_kt_default(gssapi_kt_context, &from) != 0)
		return -1;
	krb5_error_code ret = krb5_kt_resolve(
	    gssapi_kt_context, "MEMORY:casella-auth", &gssapi_kt_memory);
	if (ret == 0)
		ret = gssapi_keytab_copy(gssapi_kt_context, from,
		                         gssapi_kt_memory);
	krb5_kt_close(gssapi_kt_context, from);
	if (ret != 0)
		return -1;
	/* MIT's own variable: every acceptor context reads it. */
	return setenv("KRB5_KTNAME", "MEMORY:casella-auth", 1);
}

void
sasl_gssapi_keytab_release(void)
{
	if (gssapi_kt_memory != NULL)
		krb5_kt_close(gssapi_kt_context, gssapi_kt_memory);
	if (gssapi_kt_context != NULL)
		krb5_free_context(gssapi_kt_context);
	gssapi_kt_memory = NULL;
	gssapi_kt_context = NULL;
}
