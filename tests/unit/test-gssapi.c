/*
 * GSSAPI (RFC 4752), server side, with this file playing the client
 * through gss_init_sec_context().  Two suites:
 *
 *   gssapi      needs no KDC: garbage tokens against a keytab of random
 *               keys made here, the probe, the principal mapping.
 *   gssapi-kdc  real logins against a throwaway MIT KDC, run only when
 *               CASELLA_TEST_KDC_DIR names a directory prepared by
 *                 eval "$(/work/shared/scripts/start-kdc DIR)"
 *                 kinit alice <<<"$KDC_USER_PASS"
 *               (DIR/krb5.conf, DIR/imap.keytab, DIR/alice.ccache).
 *
 * The environment of each suite is set from its own directory, and the
 * KDC suite uses a replay cache of its own (start-kdc turns the replay
 * cache off for servers; the replay test needs one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "auth/sasl-gssapi.h"
#include "auth/sasl.h"
#include "auth/userdb-memory.h"
#include "lib/str.h"
#include "test.h"

#define MUTUAL_INTEG (GSS_C_MUTUAL_FLAG | GSS_C_INTEG_FLAG)

/*
 * LeakSanitizer: MIT krb5 1.20 leaks the acceptor principal when
 * gss_acquire_cred() fails for a named acceptor (acquire_accept_cred()
 * keeps kg_acceptor_princ()'s result in the new cred, whose error path
 * frees everything else): 88 bytes per failed acquisition, here from the
 * probe and wrong-host cases.  Only principals that krb5_build_principal()
 * made are excused; a leaked cred, name, context or buffer of ours is
 * still reported, as its own allocation does not come from there.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:krb5_build_principal_alloc_va\n";
}

static char offline_dir[] = "/tmp/casella-test-gssapi-XXXXXX";

/* One exchange: the server's session and the client's context. */
struct exchange {
	struct sasl_settings settings;
	struct sasl_conn_info info;
	struct userdb_memory mem;
	struct sasl_session s;
	struct str out;        /* the last challenge */
	gss_name_t target;     /* imap@localhost */
	gss_ctx_id_t client;   /* the initiator's context */
	OM_uint32 req_flags;   /* what the client asks for */
	gss_buffer_desc first; /* a copy of the client's first token */
};

static void
exchange_begin(struct exchange *ex, OM_uint32 req_flags)
{
	memset(ex, 0, sizeof(*ex));
	ex->settings.hostname = "localhost";
	ex->settings.gssapi = true;
	ex->settings.gssapi_host = "localhost";
	ex->settings.service = "imap";
	userdb_memory_init(&ex->mem);
	userdb_memory_set(&ex->mem, "alice", USERDB_PASSWORD, "x");
	userdb_memory_set(&ex->mem, "bob", USERDB_PASSWORD, "x");
	str_init(&ex->out, SASL_INPUT_MAX);
	sasl_session_init(&ex->s, &sasl_mech_gssapi, &ex->settings, &ex->info,
	                  &ex->mem.db);
	OM_uint32 minor;
	gss_buffer_desc name = {strlen("imap@localhost"), "imap@localhost"};
	gss_import_name(&minor, &name, GSS_C_NT_HOSTBASED_SERVICE, &ex->target);
	ex->client = GSS_C_NO_CONTEXT;
	ex->req_flags = req_flags;
}

static void
exchange_end(struct exchange *ex)
{
	OM_uint32 minor;
	sasl_session_free(&ex->s);
	str_free(&ex->out);
	if (ex->client != GSS_C_NO_CONTEXT)
		gss_delete_sec_context(&minor, &ex->client, GSS_C_NO_BUFFER);
	gss_release_name(&minor, &ex->target);
	free(ex->first.value);
}

/* The server's step on in (NULL: no initial response). */
static enum sasl_result
server(struct exchange *ex, const void *in, size_t len)
{
	str_reset(&ex->out);
	return sasl_step(&ex->s, in, len, &ex->out);
}

/* The client's step on the last challenge (none if in is false); the
 * token goes to token_r, to be released by the caller. */
static OM_uint32
client(struct exchange *ex, bool in, gss_buffer_desc *token_r)
{
	gss_buffer_desc challenge = {ex->out.len, ex->out.data};
	OM_uint32 minor;
	*token_r = (gss_buffer_desc)GSS_C_EMPTY_BUFFER;
	return gss_init_sec_context(
	    &minor, GSS_C_NO_CREDENTIAL, &ex->client, ex->target, gss_mech_krb5,
	    ex->req_flags, 0, GSS_C_NO_CHANNEL_BINDINGS,
	    in ? &challenge : GSS_C_NO_BUFFER, NULL, token_r, NULL, NULL);
}

/* Sends the client's first token, keeping a copy in ex->first. */
static enum sasl_result
send_first_token(struct exchange *ex)
{
	gss_buffer_desc token;
	OM_uint32 minor, major = client(ex, false, &token);
	test_assert(!GSS_ERROR(major));
	ex->first.length = token.length;
	ex->first.value = malloc(token.length + 1);
	if (token.length > 0)
		memcpy(ex->first.value, token.value, token.length);
	gss_release_buffer(&minor, &token);
	return server(ex, ex->first.value, ex->first.length);
}

/* Runs the exchange up to the server's layer offer (in ex->out). */
static bool
establish(struct exchange *ex)
{
	if (server(ex, NULL, 0) != SASL_CONTINUE || ex->out.len != 0)
		return false;
	if (send_first_token(ex) != SASL_CONTINUE)
		return false;
	if ((ex->req_flags & GSS_C_MUTUAL_FLAG) == 0)
		return true; /* no AP-REP: the offer came at once */
	/* RFC 4752 3.1: the last context token, then an empty answer. */
	gss_buffer_desc token;
	OM_uint32 minor, major = client(ex, true, &token);
	bool ok = major == GSS_S_COMPLETE && token.length == 0;
	gss_release_buffer(&minor, &token);
	return ok && server(ex, "", 0) == SASL_CONTINUE;
}

/* Unwraps the server's offer: true if it is exactly "no layer, size 0"
 * and was not encrypted (RFC 4752 3.2: conf_flag FALSE). */
static bool
offer_is_no_layer(struct exchange *ex)
{
	gss_buffer_desc wrapped = {ex->out.len, ex->out.data};
	gss_buffer_desc plain;
	int conf = 1;
	OM_uint32 minor;
	if (GSS_ERROR(
	        gss_unwrap(&minor, ex->client, &wrapped, &plain, &conf, NULL)))
		return false;
	static const unsigned char want[4] = {1, 0, 0, 0};
	bool ok =
	    plain.length == 4 && memcmp(plain.value, want, 4) == 0 && conf == 0;
	gss_release_buffer(&minor, &plain);
	return ok;
}

/* Wraps msg as the client and sends it; flip != 0 spoils one byte. */
static enum sasl_result
send_wrapped(struct exchange *ex, const void *msg, size_t len,
             unsigned char flip)
{
	gss_buffer_desc plain = {len, (void *)msg}, wrapped;
	OM_uint32 minor;
	if (GSS_ERROR(gss_wrap(&minor, ex->client, 0, GSS_C_QOP_DEFAULT, &plain,
	                       NULL, &wrapped)))
		return SASL_CONTINUE; /* not a result the server gives here */
	((unsigned char *)wrapped.value)[wrapped.length / 2] ^= flip;
	enum sasl_result r = server(ex, wrapped.value, wrapped.length);
	gss_release_buffer(&minor, &wrapped);
	return r;
}

/* The client's choice: layer, max size 0, then authzid. */
static enum sasl_result
answer(struct exchange *ex, unsigned char layer, const char *authzid)
{
	unsigned char msg[4 + 64] = {layer, 0, 0, 0};
	size_t len = strlen(authzid);
	memcpy(msg + 4, authzid, len);
	return send_wrapped(ex, msg, 4 + len, 0);
}

/* A whole login with the given client flags and authorization id. */
static enum sasl_result
login(struct exchange *ex, OM_uint32 flags, const char *authzid)
{
	exchange_begin(ex, flags);
	if (!establish(ex))
		return SASL_CONTINUE;
	test_assert(offer_is_no_layer(ex));
	return answer(ex, 1, authzid);
}

static void
setenv_path(const char *name, const char *prefix, const char *dir,
            const char *file)
{
	char value[512];
	snprintf(value, sizeof(value), "%s%s/%s", prefix, dir, file);
	setenv(name, value, 1);
}

/* ---- the KDC suite ---- */

static void
test_login(void)
{
	struct exchange ex;
	test_assert(login(&ex, MUTUAL_INTEG, "") == SASL_OK);
	test_assert(strcmp(ex.s.user, "alice") == 0);
	exchange_end(&ex);
}

static void
test_login_authzid_self(void)
{
	struct exchange ex;
	test_assert(login(&ex, MUTUAL_INTEG, "alice") == SASL_OK);
	test_assert(strcmp(ex.s.user, "alice") == 0);
	exchange_end(&ex);
}

static void
test_login_without_mutual(void)
{
	/* No AP-REP: the layer offer is the answer to the first token. */
	struct exchange ex;
	test_assert(login(&ex, GSS_C_INTEG_FLAG, "") == SASL_OK);
	test_assert(strcmp(ex.s.user, "alice") == 0);
	exchange_end(&ex);
}

static void
test_login_any_key(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	ex.settings.gssapi_host = NULL;
	test_assert(establish(&ex));
	test_assert(answer(&ex, 1, "") == SASL_OK);
	test_assert(strcmp(ex.s.user, "alice") == 0);
	exchange_end(&ex);
}

static void
test_any_key_other_service_refused(void)
{
	/* RFC 4752 3.2: accepting any key, the server checks the service
	 * the ticket is for (imap/localhost here, but it serves "pop"). */
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	ex.settings.gssapi_host = NULL;
	ex.settings.service = "pop";
	test_assert(server(&ex, NULL, 0) == SASL_CONTINUE);
	test_assert(send_first_token(&ex) == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_CREDENTIALS);
	test_assert(strstr(ex.s.fail_reason, "another service") != NULL);
	exchange_end(&ex);
}

static void
test_authzid_other_refused(void)
{
	struct exchange ex;
	test_assert(login(&ex, MUTUAL_INTEG, "bob") == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_AUTHZ);
	test_assert(ex.s.user[0] == '\0');
	exchange_end(&ex);
}

static void
test_user_missing_refused(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	userdb_memory_init(&ex.mem); /* nobody */
	test_assert(establish(&ex));
	test_assert(answer(&ex, 1, "") == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_CREDENTIALS);
	exchange_end(&ex);
}

static void
test_userdb_error_temporary(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	ex.mem.fail = true;
	test_assert(establish(&ex));
	test_assert(answer(&ex, 1, "") == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_TEMPORARY);
	exchange_end(&ex);
}

static void
test_wrong_layer_refused(void)
{
	/* RFC 4752 3.3: 2 integrity, 4 confidentiality; 0 chooses none. */
	static const unsigned char layers[] = {0, 2, 3, 4, 7, 0x81};
	for (size_t i = 0; i < sizeof(layers); i++) {
		struct exchange ex;
		exchange_begin(&ex, MUTUAL_INTEG);
		test_assert(establish(&ex));
		test_assert(answer(&ex, layers[i], "") == SASL_FAIL);
		test_assert(ex.s.failure == SASL_FAIL_MALFORMED);
		exchange_end(&ex);
	}
}

static void
test_bad_layer_answers_refused(void)
{
	static const unsigned char short_msg[3] = {1, 0, 0};
	for (int kind = 0; kind < 4; kind++) {
		struct exchange ex;
		exchange_begin(&ex, MUTUAL_INTEG);
		test_assert(establish(&ex));
		enum sasl_result r;
		if (kind == 0) /* too short */
			r = send_wrapped(&ex, short_msg, sizeof(short_msg), 0);
		else if (kind == 1) /* integrity check fails */
			r = send_wrapped(&ex, "\1\0\0\0", 4, 0x40);
		else if (kind == 2) /* not wrapped at all */
			r = server(&ex, "\1\0\0\0", 4);
		else /* empty */
			r = server(&ex, "", 0);
		test_assert(r == SASL_FAIL);
		test_assert(ex.s.failure == SASL_FAIL_MALFORMED);
		exchange_end(&ex);
	}
}

static void
test_data_instead_of_empty_refused(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	test_assert(server(&ex, NULL, 0) == SASL_CONTINUE);
	test_assert(send_first_token(&ex) == SASL_CONTINUE);
	test_assert(ex.out.len > 0); /* the AP-REP */
	test_assert(server(&ex, "x", 1) == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_MALFORMED);
	exchange_end(&ex);
}

static void
test_replay_refused(void)
{
	struct exchange ex, again;
	test_assert(login(&ex, MUTUAL_INTEG, "") == SASL_OK);
	exchange_begin(&again, MUTUAL_INTEG);
	test_assert(server(&again, ex.first.value, ex.first.length) ==
	            SASL_FAIL);
	test_assert(again.s.failure == SASL_FAIL_CREDENTIALS);
	test_assert(again.s.fail_reason != NULL &&
	            strstr(again.s.fail_reason, "replay") != NULL);
	exchange_end(&again);
	exchange_end(&ex);
}

static void
test_truncated_token_refused(void)
{
	struct exchange ex, cut;
	exchange_begin(&ex, MUTUAL_INTEG);
	test_assert(send_first_token(&ex) == SASL_CONTINUE);
	exchange_begin(&cut, MUTUAL_INTEG);
	test_assert(server(&cut, ex.first.value, ex.first.length / 2) ==
	            SASL_FAIL);
	/* MIT reports a cut AP-REQ as GSS_S_FAILURE, as it does a bad
	 * ticket: either answer refuses it. */
	test_assert(cut.s.failure == SASL_FAIL_MALFORMED ||
	            cut.s.failure == SASL_FAIL_CREDENTIALS);
	exchange_end(&cut);
	exchange_end(&ex);
}

static void
test_abandoned_exchanges(void)
{
	/* Freed at each stage; LeakSanitizer checks that nothing stays. */
	for (int stage = 0; stage < 3; stage++) {
		struct exchange ex;
		exchange_begin(&ex, MUTUAL_INTEG);
		if (stage == 0) {
			test_assert(send_first_token(&ex) == SASL_CONTINUE);
		} else {
			test_assert(establish(&ex));
			if (stage == 2)
				test_assert(offer_is_no_layer(&ex));
		}
		exchange_end(&ex);
	}
}

static void
test_probe_kdc(void)
{
	const char *error = NULL;
	test_assert(sasl_gssapi_probe("imap", "localhost", &error));
	test_assert(sasl_gssapi_probe("imap", NULL, &error));
	test_assert(!sasl_gssapi_probe("imap", "elsewhere.invalid", &error));
	test_assert(error != NULL && error[0] != '\0');
	test_assert(!sasl_gssapi_probe("pop", "localhost", &error));
}

static void
test_wrong_host_temporary(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	ex.settings.gssapi_host = "elsewhere.invalid";
	test_assert(server(&ex, NULL, 0) == SASL_CONTINUE);
	test_assert(send_first_token(&ex) == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_TEMPORARY);
	exchange_end(&ex);
}

/* ---- the suite without a KDC ---- */

/* A keytab with a random key for imap/localhost: enough for the server
 * to accept (and refuse) tokens, no KDC involved. */
static bool
keytab_write_random(const char *path)
{
	unsigned char key[32];
	sasl_random(key, sizeof(key));
	krb5_context kc;
	if (krb5_init_context(&kc) != 0)
		return false;
	krb5_keytab kt;
	krb5_keytab_entry entry;
	memset(&entry, 0, sizeof(entry));
	bool ok = krb5_kt_resolve(kc, path, &kt) == 0;
	if (ok) {
		ok = krb5_parse_name(kc, "imap/localhost@CASELLA.TEST",
		                     &entry.principal) == 0;
		entry.vno = 1;
		entry.key.enctype = ENCTYPE_AES256_CTS_HMAC_SHA1_96;
		entry.key.length = sizeof(key);
		entry.key.contents = key;
		ok = ok && krb5_kt_add_entry(kc, kt, &entry) == 0;
		krb5_free_principal(kc, entry.principal);
		krb5_kt_close(kc, kt);
	}
	krb5_free_context(kc);
	return ok;
}

static bool
offline_setup(void)
{
	if (mkdtemp(offline_dir) == NULL)
		return false;
	char path[512];
	snprintf(path, sizeof(path), "%s/krb5.conf", offline_dir);
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return false;
	fputs("[libdefaults]\n default_realm = CASELLA.TEST\n", f);
	fclose(f);
	setenv("KRB5_CONFIG", path, 1);
	setenv_path("KRB5_KTNAME", "FILE:", offline_dir, "imap.keytab");
	setenv_path("KRB5RCACHENAME", "file2:", offline_dir, "rcache2");
	unsetenv("KRB5RCACHETYPE");
	return keytab_write_random(getenv("KRB5_KTNAME"));
}

static void
offline_cleanup(void)
{
	static const char *const files[] = {"krb5.conf", "imap.keytab",
	                                    "rcache2"};
	char path[512];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", offline_dir, files[i]);
		unlink(path);
	}
	rmdir(offline_dir);
}

/* Sends one token as the initial response; returns the failure. */
static enum sasl_failure
garbage_failure(const void *token, size_t len)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	enum sasl_result r = server(&ex, token, len);
	enum sasl_failure failure = ex.s.failure;
	exchange_end(&ex);
	return r == SASL_FAIL ? failure : SASL_FAIL_CANCELLED;
}

static void
test_garbage_tokens_refused(void)
{
	/* RFC 2743 3.1 framing: 0x60, DER length, the mechanism OID. */
	static const unsigned char truncated_der[] = {0x60, 0x82, 0x01};
	static const unsigned char other_mech[] = {
	    0x60, 0x0d, 0x06, 0x09, 0x2b, 0x06, 0x01, 0x04,
	    0x01, 0x82, 0x37, 0x02, 0x0a, 0x01, 0x00}; /* NTLM's OID */
	static const unsigned char krb5_junk[] = {
	    0x60, 0x11, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12,
	    0x01, 0x02, 0x02, 0x01, 0x00, 0x6e, 0x02, 0x30, 0x00};
	test_assert(garbage_failure("garbage", 7) == SASL_FAIL_MALFORMED);
	test_assert(garbage_failure(truncated_der, sizeof(truncated_der)) ==
	            SASL_FAIL_MALFORMED);
	test_assert(garbage_failure(other_mech, sizeof(other_mech)) ==
	            SASL_FAIL_MALFORMED);
	/* MIT says GSS_S_FAILURE for an AP-REQ it cannot decode. */
	enum sasl_failure f = garbage_failure(krb5_junk, sizeof(krb5_junk));
	test_assert(f == SASL_FAIL_MALFORMED || f == SASL_FAIL_CREDENTIALS);
	test_assert(garbage_failure("", 0) == SASL_FAIL_MALFORMED);
}

static void
test_garbage_after_empty_challenge(void)
{
	struct exchange ex;
	exchange_begin(&ex, MUTUAL_INTEG);
	test_assert(server(&ex, NULL, 0) == SASL_CONTINUE);
	test_assert(ex.out.len == 0);
	test_assert(server(&ex, "\x60\x01", 2) == SASL_FAIL);
	test_assert(ex.s.failure == SASL_FAIL_MALFORMED);
	exchange_end(&ex);
}

static void
test_probe_offline(void)
{
	const char *error = NULL;
	test_assert(sasl_gssapi_probe("imap", NULL, &error));
	test_assert(sasl_gssapi_probe("imap", "localhost", &error));
	char *saved = strdup(getenv("KRB5_KTNAME"));
	setenv("KRB5_KTNAME", "FILE:/nonexistent/casella.keytab", 1);
	test_assert(!sasl_gssapi_probe("imap", NULL, &error));
	test_assert(error != NULL && error[0] != '\0');
	test_assert(!sasl_gssapi_probe("imap", "localhost", &error));
	setenv("KRB5_KTNAME", saved, 1);
	free(saved);
}

static void
test_no_keytab_temporary(void)
{
	char *saved = strdup(getenv("KRB5_KTNAME"));
	setenv("KRB5_KTNAME", "FILE:/nonexistent/casella.keytab", 1);
	test_assert(garbage_failure("garbage", 7) == SASL_FAIL_TEMPORARY);
	setenv("KRB5_KTNAME", saved, 1);
	free(saved);
}

static void
test_available(void)
{
	struct sasl_settings settings = {.gssapi = false};
	test_assert(
	    !sasl_mech_usable(&sasl_mech_gssapi, &settings, true, false));
	settings.gssapi = true;
	test_assert(
	    sasl_mech_usable(&sasl_mech_gssapi, &settings, false, false));
	test_assert(sasl_mech_find("gssapi", 6) == &sasl_mech_gssapi);
}

/* Whether name maps to want (NULL: is refused) in realm R. */
static bool
maps_to(const char *name, const char *want)
{
	size_t len = 0;
	const char *reason =
	    sasl_gssapi_principal_user(name, strlen(name), "R.TEST", &len);
	if (want == NULL)
		return reason != NULL;
	return reason == NULL && len == strlen(want) &&
	       memcmp(name, want, len) == 0;
}

static void
test_principal_mapping(void)
{
	test_assert(maps_to("alice@R.TEST", "alice"));
	test_assert(maps_to("a.b-c_d+e@R.TEST", "a.b-c_d+e"));
	test_assert(maps_to("alice/admin@R.TEST", NULL));
	test_assert(maps_to("imap/localhost@R.TEST", NULL));
	test_assert(maps_to("alice@OTHER.TEST", NULL));
	test_assert(maps_to("alice@r.test", NULL));
	test_assert(maps_to("alice@R.TEST.", NULL));
	test_assert(maps_to("alice@", NULL));
	test_assert(maps_to("alice", NULL));
	test_assert(maps_to("@R.TEST", NULL));
	test_assert(maps_to("bob\\@example.org@R.TEST", NULL));
	test_assert(maps_to("a\\/b@R.TEST", NULL));
	test_assert(maps_to("WELLKNOWN/ANONYMOUS@WELLKNOWN:ANONYMOUS", NULL));
}

static int
run_offline(void)
{
	static const struct test_case cases[] = {
	    {"garbage tokens refused", test_garbage_tokens_refused},
	    {"garbage after empty challenge",
	     test_garbage_after_empty_challenge},
	    {"probe", test_probe_offline},
	    {"no keytab is temporary", test_no_keytab_temporary},
	    {"available", test_available},
	    {"principal mapping", test_principal_mapping},
	};
	if (!offline_setup()) {
		printf("FAIL gssapi: cannot make a keytab in %s\n",
		       offline_dir);
		return 1;
	}
	int rc = test_run("gssapi", cases, sizeof(cases) / sizeof(cases[0]));
	offline_cleanup();
	return rc;
}

static int
run_kdc(const char *dir)
{
	static const struct test_case cases[] = {
	    {"login", test_login},
	    {"login, authzid = self", test_login_authzid_self},
	    {"login without mutual auth", test_login_without_mutual},
	    {"login, any key in the keytab", test_login_any_key},
	    {"any key, other service refused",
	     test_any_key_other_service_refused},
	    {"other authzid refused", test_authzid_other_refused},
	    {"user missing from userdb", test_user_missing_refused},
	    {"userdb error is temporary", test_userdb_error_temporary},
	    {"wrong layer refused", test_wrong_layer_refused},
	    {"bad layer answers refused", test_bad_layer_answers_refused},
	    {"data instead of empty answer",
	     test_data_instead_of_empty_refused},
	    {"replayed token refused", test_replay_refused},
	    {"truncated token refused", test_truncated_token_refused},
	    {"abandoned exchanges", test_abandoned_exchanges},
	    {"probe", test_probe_kdc},
	    {"wrong host is temporary", test_wrong_host_temporary},
	};
	char path[512];
	snprintf(path, sizeof(path), "%s/alice.ccache", dir);
	if (access(path, R_OK) != 0) {
		printf("FAIL gssapi-kdc: no %s: run start-kdc %s, then kinit "
		       "alice\n",
		       path, dir);
		return 1;
	}
	setenv_path("KRB5_CONFIG", "", dir, "krb5.conf");
	setenv_path("KRB5_KTNAME", "FILE:", dir, "imap.keytab");
	setenv_path("KRB5CCNAME", "FILE:", dir, "alice.ccache");
	snprintf(path, sizeof(path), "%s/test-gssapi.rcache2", dir);
	unlink(path);
	setenv_path("KRB5RCACHENAME", "file2:", dir, "test-gssapi.rcache2");
	unsetenv("KRB5RCACHETYPE");
	return test_run("gssapi-kdc", cases, sizeof(cases) / sizeof(cases[0]));
}

int
main(void)
{
	int rc = run_offline();
	const char *dir = getenv("CASELLA_TEST_KDC_DIR");
	if (dir == NULL || dir[0] == '\0') {
		printf("SKIP gssapi-kdc: CASELLA_TEST_KDC_DIR is not set, so "
		       "no login against a KDC was tried (see the comment at "
		       "the top of tests/unit/test-gssapi.c)\n");
		return rc;
	}
	return run_kdc(dir) != 0 ? 1 : rc;
}
