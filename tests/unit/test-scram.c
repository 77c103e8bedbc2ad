#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "auth/credentials.h"
#include "auth/sasl.h"
#include "auth/scram.h"
#include "auth/userdb-memory.h"
#include "lib/base64.h"
#include "test.h"

/* One server session over an in-memory user source. */
struct fixture {
	struct userdb_memory mem;
	struct sasl_settings settings;
	struct sasl_conn_info info;
	struct sasl_session s;
	struct str out;
};

static void
fixture_init(struct fixture *f, const struct sasl_mech *mech)
{
	memset(f, 0, sizeof(*f));
	userdb_memory_init(&f->mem);
	f->settings.hostname = "imap.example.org";
	f->info.peer_ip = "192.0.2.1";
	sasl_session_init(&f->s, mech, &f->settings, &f->info, &f->mem.db);
	str_init(&f->out, 4096);
}

/* Starts the session again, keeping users and connection. */
static void
fixture_restart(struct fixture *f, const struct sasl_mech *mech)
{
	sasl_session_free(&f->s);
	sasl_session_init(&f->s, mech, &f->settings, &f->info, &f->mem.db);
	str_reset(&f->out);
}

static void
fixture_free(struct fixture *f)
{
	sasl_session_free(&f->s);
	str_free(&f->out);
}

static void
user_add(struct fixture *f, const char *name, const char *password)
{
	char value[USERDB_VALUE_MAX];
	test_assert(scram_credential_make(password, USERDB_SCRAM_SHA1, 4096,
	                                  value, sizeof(value)) == 0);
	userdb_memory_set(&f->mem, name, USERDB_SCRAM_SHA1, value);
	test_assert(scram_credential_make(password, USERDB_SCRAM_SHA256, 4096,
	                                  value, sizeof(value)) == 0);
	userdb_memory_set(&f->mem, name, USERDB_SCRAM_SHA256, value);
}

static enum sasl_result
step_len(struct fixture *f, const char *msg, size_t len)
{
	str_reset(&f->out);
	return sasl_step(&f->s, (const unsigned char *)msg, len, &f->out);
}

static enum sasl_result
step(struct fixture *f, const char *msg)
{
	return step_len(f, msg, strlen(msg));
}

static const char *
out(const struct fixture *f)
{
	return f->out.data != NULL ? f->out.data : "";
}

static const EVP_MD *
mech_md(const struct sasl_mech *mech)
{
	return strncmp(mech->name, "SCRAM-SHA-1", 11) == 0 ? EVP_sha1()
	                                                   : EVP_sha256();
}

/* --- A SCRAM client, after RFC 5802 3 ------------------------------- */

/* ClientKey and ServerKey from the salt and iterations of server_first. */
static size_t
client_keys(const EVP_MD *md, const char *password, const char *server_first,
            unsigned char *client_key, unsigned char *server_key)
{
	const char *salt_b64 = strstr(server_first, ",s=") + 3;
	const char *iter = strstr(server_first, ",i=") + 3;
	unsigned char salt[128], salted[EVP_MAX_MD_SIZE];
	size_t salt_len = 0, len = (size_t)EVP_MD_get_size(md);
	test_assert(base64_decode(salt_b64, (size_t)(iter - 3 - salt_b64), salt,
	                          &salt_len));
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
	                  atoi(iter), md, (int)len, salted);
	HMAC(md, salted, (int)len, (const unsigned char *)"Client Key", 10,
	     client_key, NULL);
	HMAC(md, salted, (int)len, (const unsigned char *)"Server Key", 10,
	     server_key, NULL);
	return len;
}

/* Appends ",p=PROOF" to without_proof into final_r, and puts the
 * server-final-message the client expects into v_r. */
static void
client_final(const EVP_MD *md, const char *password, const char *bare,
             const char *server_first, const char *without_proof, char *final_r,
             char *v_r)
{
	char auth[4096], b64[100];
	unsigned char ckey[EVP_MAX_MD_SIZE], skey[EVP_MAX_MD_SIZE];
	unsigned char stored[EVP_MAX_MD_SIZE], sig[EVP_MAX_MD_SIZE];
	snprintf(auth, sizeof(auth), "%s,%s,%s", bare, server_first,
	         without_proof);
	size_t len = client_keys(md, password, server_first, ckey, skey);
	EVP_Digest(ckey, len, stored, NULL, md, NULL);
	HMAC(md, stored, (int)len, (unsigned char *)auth, strlen(auth), sig,
	     NULL);
	for (size_t i = 0; i < len; i++)
		ckey[i] ^= sig[i];
	base64_encode(ckey, len, b64);
	sprintf(final_r, "%s,p=%s", without_proof, b64);
	HMAC(md, skey, (int)len, (unsigned char *)auth, strlen(auth), sig,
	     NULL);
	base64_encode(sig, len, b64);
	sprintf(v_r, "v=%s", b64);
}

/* The r= value of a server-first-message. */
static void
nonce_of(const char *server_first, char *nonce_r)
{
	size_t len = strcspn(server_first + 2, ",");
	memcpy(nonce_r, server_first + 2, len);
	nonce_r[len] = '\0';
}

/* "c=B64(gs2 || data),r=NONCE" */
static void
without_proof_make(const char *gs2, const unsigned char *data, size_t len,
                   const char *server_first, char *out_r)
{
	unsigned char input[512];
	char b64[800], nonce[300];
	memcpy(input, gs2, strlen(gs2));
	if (len > 0)
		memcpy(input + strlen(gs2), data, len);
	base64_encode(input, strlen(gs2) + len, b64);
	nonce_of(server_first, nonce);
	sprintf(out_r, "c=%s,r=%s", b64, nonce);
}

/* A whole exchange as a client that binds to data (len 0: none); the
 * final result, after checking the server's signature on success. */
static enum sasl_result
exchange(struct fixture *f, const char *password, const char *gs2,
         const char *bare, const unsigned char *data, size_t len)
{
	char first[1024], server_first[1024], wp[1200], final[1300], v[100];
	snprintf(first, sizeof(first), "%s%s", gs2, bare);
	enum sasl_result r = step(f, first);
	if (r != SASL_CONTINUE)
		return r;
	snprintf(server_first, sizeof(server_first), "%s", out(f));
	without_proof_make(gs2, data, len, server_first, wp);
	client_final(mech_md(f->s.mech), password, bare, server_first, wp,
	             final, v);
	r = step(f, final);
	if (r == SASL_OK)
		test_assert(strcmp(out(f), v) == 0);
	return r;
}

/* --- The RFC examples ----------------------------------------------- */

static void
rfc_user_add(struct fixture *f, enum userdb_kind kind, const char *salt_b64)
{
	unsigned char salt[32];
	size_t salt_len;
	char value[USERDB_VALUE_MAX];
	test_assert(base64_decode(salt_b64, strlen(salt_b64), salt, &salt_len));
	test_assert(scram_credential_make_salted("pencil", kind, 4096, salt,
	                                         salt_len, value,
	                                         sizeof(value)) == 0);
	userdb_memory_set(&f->mem, "user", kind, value);
}

/* Replays an RFC example: the client's two messages, the server's. */
static void
rfc_replay(struct fixture *f, const char *snonce, const char *c1,
           const char *s1, const char *c2, const char *s2)
{
	test_assert(scram_server_first(&f->s, (const unsigned char *)c1,
	                               strlen(c1), snonce,
	                               &f->out) == SASL_CONTINUE);
	test_assert(strcmp(out(f), s1) == 0);
	test_assert(step(f, c2) == SASL_OK);
	test_assert(strcmp(out(f), s2) == 0);
	test_assert(strcmp(f->s.user, "user") == 0);
}

/* RFC 5802 5: SCRAM-SHA-1, user "user", password "pencil". */
static void
test_rfc5802_example(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha1);
	rfc_user_add(&f, USERDB_SCRAM_SHA1, "QSXCR+Q6sek8bf92");
	rfc_replay(&f, "3rfcNHYJY1ZVvWVs7j",
	           "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
	           "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	           "s=QSXCR+Q6sek8bf92,i=4096",
	           "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,"
	           "p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
	           "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
	fixture_free(&f);
}

/* RFC 7677 3: SCRAM-SHA-256, the same user and password. */
static void
test_rfc7677_example(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	rfc_user_add(&f, USERDB_SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==");
	rfc_replay(
	    &f, "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
	    "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
	    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
	    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
	    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
	    "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	fixture_free(&f);
}

/* --- Credentials ---------------------------------------------------- */

static void
random_counting(void *buf, size_t len)
{
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)i;
}

static void
test_credential_format(void)
{
	char v1[USERDB_VALUE_MAX], v256[USERDB_VALUE_MAX];
	sasl_random_set_hook(random_counting);
	test_assert(scram_credential_make("pw", USERDB_SCRAM_SHA1, 4096, v1,
	                                  sizeof(v1)) == 0);
	test_assert(scram_credential_make("pw", USERDB_SCRAM_SHA256, 10000,
	                                  v256, sizeof(v256)) == 0);
	sasl_random_set_hook(NULL);
	/* RFC 5803 3: salt 00..0f, then 20- and 32-byte keys in base64. */
	const char *salt = "AAECAwQFBgcICQoLDA0ODw==";
	test_assert(strncmp(v1, "SCRAM-SHA-1$4096:", 17) == 0);
	test_assert(strncmp(v1 + 17, salt, 24) == 0 && v1[41] == '$');
	test_assert(strlen(v1) == 42 + 28 + 1 + 28 && v1[42 + 28] == ':');
	test_assert(strncmp(v256, "SCRAM-SHA-256$10000:", 20) == 0);
	test_assert(strncmp(v256 + 20, salt, 24) == 0 && v256[44] == '$');
	test_assert(strlen(v256) == 45 + 44 + 1 + 44 && v256[45 + 44] == ':');
}

static void
test_credential_random_salt(void)
{
	char a[USERDB_VALUE_MAX], b[USERDB_VALUE_MAX];
	test_assert(scram_credential_make("pw", USERDB_SCRAM_SHA256, 4096, a,
	                                  sizeof(a)) == 0);
	test_assert(scram_credential_make("pw", USERDB_SCRAM_SHA256, 4096, b,
	                                  sizeof(b)) == 0);
	test_assert(strcmp(a, b) != 0);
}

static void
test_credential_bad_arguments(void)
{
	char v[USERDB_VALUE_MAX];
	unsigned char salt[65] = {1};
	test_assert(scram_credential_make("pw", USERDB_PASSWORD, 4096, v,
	                                  sizeof(v)) < 0);
	test_assert(scram_credential_make("pw", USERDB_SCRAM_SHA1, 0, v,
	                                  sizeof(v)) < 0);
	test_assert(scram_credential_make_salted("pw", USERDB_SCRAM_SHA1, 1,
	                                         salt, 0, v, sizeof(v)) < 0);
	test_assert(scram_credential_make_salted("pw", USERDB_SCRAM_SHA1, 1,
	                                         salt, 65, v, sizeof(v)) < 0);
	/* Too small a buffer: fails and leaves no partial secret. */
	test_assert(
	    scram_credential_make("pw", USERDB_SCRAM_SHA256, 4096, v, 60) < 0);
	test_assert(v[0] == '\0' && v[59] == '\0');
}

/* The strings credentials_from_password() stores log in by SCRAM. */
static void
test_full_exchange_userdb(void)
{
	static const struct credentials_options options = {.cram_md5 = true};
	struct credentials creds;
	struct fixture f;
	test_assert(
	    credentials_from_password("s3cret pass", &options, &creds) == 0);
	fixture_init(&f, &sasl_mech_scram_sha1);
	for (int k = USERDB_SCRAM_SHA1; k <= USERDB_SCRAM_SHA256; k++)
		userdb_memory_set(&f.mem, "alice@example.org", k,
		                  creds.value[k]);
	credentials_wipe(&creds);
	test_assert(exchange(&f, "s3cret pass", "n,,",
	                     "n=alice@example.org,r=abcdefghijkl", NULL,
	                     0) == SASL_OK);
	test_assert(strcmp(f.s.user, "alice@example.org") == 0);
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "s3cret pass", "n,,",
	                     "n=alice@example.org,r=mnopqrstuvwx", NULL,
	                     0) == SASL_OK);
	test_assert(strcmp(f.s.user, "alice@example.org") == 0);
	fixture_free(&f);
}

/* --- The exchange --------------------------------------------------- */

static void
test_empty_initial_response(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	str_reset(&f.out);
	test_assert(sasl_step(&f.s, NULL, 0, &f.out) == SASL_CONTINUE);
	test_assert(f.out.len == 0);
	test_assert(exchange(&f, "pencil", "n,,", "n=user,r=abc", NULL, 0) ==
	            SASL_OK);
	fixture_free(&f);
}

/* The server nonce is the base64 of sasl_random()'s bytes. */
static void
test_random_server_nonce(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	sasl_random_set_hook(random_counting);
	test_assert(step(&f, "n,,n=user,r=abc") == SASL_CONTINUE);
	sasl_random_set_hook(NULL);
	test_assert(strncmp(out(&f), "r=abcAAECAwQFBgcICQoLDA0ODxAREhMUFRYX,",
	                    38) == 0);
	fixture_free(&f);
}

static void
test_wrong_password(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	test_assert(exchange(&f, "pen", "n,,", "n=user,r=abc", NULL, 0) ==
	            SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	test_assert(f.s.user[0] == '\0');
	fixture_free(&f);
}

/* The salt of a server-first-message, decoded. */
static size_t
salt_of(const char *server_first, unsigned char *salt_r)
{
	const char *b64 = strstr(server_first, ",s=") + 3;
	size_t len = 0;
	test_assert(base64_decode(b64, strcspn(b64, ","), salt_r, &len));
	return len;
}

/* An unknown user gets a salt like anyone's, the same every time, and
 * fails only at the end, as a wrong password does. */
static void
test_unknown_user(void)
{
	struct fixture f;
	unsigned char salt1[64], salt2[64], salt3[64];
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	test_assert(step(&f, "n,,n=nobody,r=abc") == SASL_CONTINUE);
	test_assert(strstr(out(&f), ",i=4096") != NULL);
	test_assert(salt_of(out(&f), salt1) == SCRAM_SALT_BYTES);
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "pencil", "n,,", "n=nobody,r=abc", NULL, 0) ==
	            SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(step(&f, "n,,n=nobody,r=xyz") == SASL_CONTINUE);
	test_assert(salt_of(out(&f), salt2) == SCRAM_SALT_BYTES);
	test_assert(memcmp(salt1, salt2, SCRAM_SALT_BYTES) == 0);
	fixture_restart(&f, &sasl_mech_scram_sha1);
	test_assert(step(&f, "n,,n=nobody,r=xyz") == SASL_CONTINUE);
	test_assert(salt_of(out(&f), salt3) == SCRAM_SALT_BYTES);
	test_assert(memcmp(salt1, salt3, SCRAM_SALT_BYTES) != 0);
	fixture_free(&f);
}

/* No credential of the kind, or a name the store cannot hold: the same
 * path as an unknown user. */
static void
test_missing_credential(void)
{
	struct fixture f;
	char value[USERDB_VALUE_MAX];
	fixture_init(&f, &sasl_mech_scram_sha256);
	test_assert(scram_credential_make("pencil", USERDB_SCRAM_SHA1, 4096,
	                                  value, sizeof(value)) == 0);
	userdb_memory_set(&f.mem, "old", USERDB_SCRAM_SHA1, value);
	test_assert(exchange(&f, "pencil", "n,,", "n=old,r=abc", NULL, 0) ==
	            SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "pencil", "n,,", "n=a=2Cb,r=abc", NULL, 0) ==
	            SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_restart(&f, &sasl_mech_scram_sha1);
	test_assert(exchange(&f, "pencil", "n,,", "n=old,r=abc", NULL, 0) ==
	            SASL_OK);
	fixture_free(&f);
}

static void
test_authzid(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	user_add(&f, "other", "pencil");
	test_assert(exchange(&f, "pencil", "n,a=user,", "n=user,r=abc", NULL,
	                     0) == SASL_OK);
	test_assert(strcmp(f.s.user, "user") == 0);
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "pencil", "n,a=other,", "n=user,r=abc", NULL,
	                     0) == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_AUTHZ && f.s.user[0] == '\0');
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "pencil", "n,a=us=3Der,", "n=user,r=abc", NULL,
	                     0) == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_AUTHZ);
	/* A wrong password with another authzid is still a wrong password. */
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(exchange(&f, "wrong", "n,a=other,", "n=user,r=abc", NULL,
	                     0) == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_free(&f);
}

/* --- Channel binding ------------------------------------------------ */

static const unsigned char cb_exporter[32] = "exporter-0123456789abcdef-012345";
static const unsigned char cb_end_point[32] =
    "end-point-0123456789abcdef-01234";
static const unsigned char cb_unique[12] = "unique-01234";

static void
info_tls(struct sasl_conn_info *info, bool exporter, bool end_point,
         bool unique)
{
	info->secured = true;
	memcpy(info->cb_tls_exporter, cb_exporter, sizeof(cb_exporter));
	info->cb_tls_exporter_len = exporter ? sizeof(cb_exporter) : 0;
	memcpy(info->cb_tls_server_end_point, cb_end_point,
	       sizeof(cb_end_point));
	info->cb_tls_server_end_point_len =
	    end_point ? sizeof(cb_end_point) : 0;
	memcpy(info->cb_tls_unique, cb_unique, sizeof(cb_unique));
	info->cb_tls_unique_len = unique ? sizeof(cb_unique) : 0;
}

static void
cbind_ok(const struct sasl_mech *mech, const char *gs2,
         const unsigned char *data, size_t len)
{
	struct fixture f;
	fixture_init(&f, mech);
	info_tls(&f.info, true, true, true);
	user_add(&f, "user", "pencil");
	test_assert(exchange(&f, "pencil", gs2, "n=user,r=abc", data, len) ==
	            SASL_OK);
	test_assert(strcmp(f.s.user, "user") == 0);
	fixture_free(&f);
}

static void
test_cbind_each_type(void)
{
	const struct sasl_mech *mechs[] = {&sasl_mech_scram_sha1_plus,
	                                   &sasl_mech_scram_sha256_plus};
	for (size_t i = 0; i < 2; i++) {
		cbind_ok(mechs[i], "p=tls-exporter,,", cb_exporter,
		         sizeof(cb_exporter));
		cbind_ok(mechs[i], "p=tls-server-end-point,,", cb_end_point,
		         sizeof(cb_end_point));
		cbind_ok(mechs[i], "p=tls-unique,,", cb_unique,
		         sizeof(cb_unique));
		cbind_ok(mechs[i], "p=tls-unique,a=user,", cb_unique,
		         sizeof(cb_unique));
	}
}

static void
cbind_fails(const char *gs2, const unsigned char *data, size_t len)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256_plus);
	info_tls(&f.info, true, true, true);
	user_add(&f, "user", "pencil");
	test_assert(exchange(&f, "pencil", gs2, "n=user,r=abc", data, len) ==
	            SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_free(&f);
}

/* c= of other data than the connection's, or of none: a man in the
 * middle, whatever the proof says. */
static void
test_cbind_wrong_data(void)
{
	cbind_fails("p=tls-exporter,,", cb_end_point, sizeof(cb_end_point));
	cbind_fails("p=tls-exporter,,", cb_exporter, sizeof(cb_exporter) - 1);
	cbind_fails("p=tls-exporter,,", NULL, 0);
	cbind_fails("p=tls-unique,,", cb_exporter, sizeof(cb_unique));
}

static void
plus_refused(bool secured, bool exporter, bool unique, const char *first)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha1_plus);
	info_tls(&f.info, exporter, false, unique);
	f.info.secured = secured;
	user_add(&f, "user", "pencil");
	test_assert(step(&f, first) == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_MALFORMED);
	fixture_free(&f);
}

/* -PLUS needs a type whose data the connection has, and binding. */
static void
test_plus_without_data(void)
{
	plus_refused(true, true, false, "p=tls-unique,,n=user,r=abc");
	plus_refused(true, false, true, "p=tls-exporter,,n=user,r=abc");
	plus_refused(true, false, false, "p=tls-server-end-point,,n=user,r=a");
	plus_refused(true, true, true, "p=tls-bogus,,n=user,r=abc");
	plus_refused(true, true, true, "p=TLS-UNIQUE,,n=user,r=abc");
	plus_refused(false, true, true, "p=tls-exporter,,n=user,r=abc");
	plus_refused(true, true, true, "n,,n=user,r=abc");
	plus_refused(true, true, true, "y,,n=user,r=abc");
}

static void
test_non_plus_with_binding(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	info_tls(&f.info, true, true, true);
	user_add(&f, "user", "pencil");
	test_assert(step(&f, "p=tls-exporter,,n=user,r=abc") == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_MALFORMED);
	fixture_free(&f);
}

static enum sasl_result
y_exchange(bool secured, bool exporter, bool end_point, bool unique)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	info_tls(&f.info, exporter, end_point, unique);
	f.info.secured = secured;
	user_add(&f, "user", "pencil");
	enum sasl_result r =
	    exchange(&f, "pencil", "y,,", "n=user,r=abc", NULL, 0);
	test_assert(r == SASL_OK || f.s.failure == SASL_FAIL_CREDENTIALS);
	fixture_free(&f);
	return r;
}

/* RFC 5802 6: "y" where we offer -PLUS means someone hid it. */
static void
test_y_downgrade(void)
{
	test_assert(y_exchange(true, true, false, false) == SASL_FAIL);
	test_assert(y_exchange(true, false, true, false) == SASL_FAIL);
	test_assert(y_exchange(true, false, false, true) == SASL_FAIL);
	test_assert(y_exchange(true, false, false, false) == SASL_OK);
	test_assert(y_exchange(false, true, true, true) == SASL_OK);
}

/* --- Malformed messages --------------------------------------------- */

static void
first_malformed(const char *msg, size_t len)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	if (step_len(&f, msg, len) != SASL_FAIL ||
	    f.s.failure != SASL_FAIL_MALFORMED) {
		fprintf(stderr, "  accepted: %.*s\n", (int)len, msg);
		test_assert(!"malformed client-first-message accepted");
	}
	fixture_free(&f);
}

static void
test_malformed_first(void)
{
	static const char *const msgs[] = {
	    "",
	    "n",
	    "n,",
	    "n,,",
	    "n,,n=user",
	    "n,,n=user,",
	    "n,,n=user,r=",
	    "n,,r=abc",
	    "n,,r=abc,n=user",
	    "n,,n=,r=abc",
	    "n,,n=user,r",
	    "x,,n=user,r=abc",
	    "N,,n=user,r=abc",
	    " n,,n=user,r=abc",
	    "yy,,n=user,r=abc",
	    "p,,n=user,r=abc",
	    "p=,,n=user,r=abc",
	    "n,a,n=user,r=abc",
	    "n,a=,n=user,r=abc",
	    "n,x=u,n=user,r=abc",
	    "n,a=user,,n=user,r=abc",
	    "n,,,n=user,r=abc",
	    "n,,n=us=er,r=abc",
	    "n,,n=user=2,r=abc",
	    "n,,n=user=3E,r=abc",
	    "n,a=us=er,n=user,r=abc",
	    "n,,n=user,r=abc,",
	    "n,,n=user,r=abc,junk",
	    "n,,n=user,r=abc,x=",
	    "n,,n=user,r=abc,1=x",
	    "n,,n=user,r=abc,r=def",
	    "n,,n=user,r=abc,p=def",
	    "n,,m=ext,n=user,r=abc",
	    "n,,n=user,r=abc,m=ext",
	    "n,,n=user,r=ab c",
	    "n,,n=user,r=abc\r\n",
	    "n,,n=user,r=ab\x7f",
	    "n,,n=user,r=ab\xc3\xa9",
	    "n,,n=user,m=x,r=abc",
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		first_malformed(msgs[i], strlen(msgs[i]));
	first_malformed("n,,n=us\0er,r=abc", 16);
	first_malformed("n,,n=user,r=abc\0", 16);
	char big[1100] = "n,,n=";
	memset(big + 5, 'a', USERDB_NAME_MAX + 1); /* longer than any name */
	strcat(big, ",r=abc");
	first_malformed(big, strlen(big));
	memset(big, 0, sizeof(big));
	strcpy(big, "n,,n=user,r=");
	memset(big + 12, 'x', 255 + 1); /* a nonce too long */
	first_malformed(big, strlen(big));
	memset(big, 0, sizeof(big));
	strcpy(big, "n,,n=user,r=abc,x=");
	memset(big + 18, 'x', 1025 - 18); /* a message too long */
	first_malformed(big, strlen(big));
}

/* Within bounds, extensions are skipped and the exchange goes on. */
static void
test_extensions_ignored(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	test_assert(exchange(&f, "pencil", "n,,", "n=user,r=abc,x=1,Y=a=b",
	                     NULL, 0) == SASL_OK);
	fixture_free(&f);
}

/* Sends a good client-first, then final with "NONCE" replaced by the
 * nonce and "PROOF" by a valid proof of the text before ",p=", and
 * extra_len bytes of its NUL and beyond. */
static enum sasl_result
final_try(const char *final_template, size_t extra_len,
          enum sasl_failure *failure_r)
{
	struct fixture f;
	char sf[512], nonce[300], tmpl[1200], wp[1200], final[1300], v[100];
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	test_assert(step(&f, "n,,n=user,r=abc") == SASL_CONTINUE);
	snprintf(sf, sizeof(sf), "%s", out(&f));
	nonce_of(sf, nonce);
	snprintf(tmpl, sizeof(tmpl), "%s", final_template);
	char *n = strstr(tmpl, "NONCE");
	if (n != NULL) {
		snprintf(wp, sizeof(wp), "%.*s%s%s", (int)(n - tmpl), tmpl,
		         nonce, n + 5);
		snprintf(tmpl, sizeof(tmpl), "%s", wp);
	}
	char *p = strstr(tmpl, ",p=PROOF");
	if (p != NULL) {
		snprintf(wp, sizeof(wp), "%.*s", (int)(p - tmpl), tmpl);
		client_final(EVP_sha256(), "pencil", "n=user,r=abc", sf, wp,
		             final, v);
		strcat(final, p + 8);
	} else {
		snprintf(final, sizeof(final), "%s", tmpl);
	}
	enum sasl_result r = step_len(&f, final, strlen(final) + extra_len);
	*failure_r = f.s.failure;
	fixture_free(&f);
	return r;
}

static bool
final_malformed(const char *final_template, size_t extra_len)
{
	enum sasl_failure failure;
	return final_try(final_template, extra_len, &failure) == SASL_FAIL &&
	       failure == SASL_FAIL_MALFORMED;
}

static void
test_malformed_final(void)
{
	static const char *const msgs[] = {
	    "",
	    "c=biws",
	    "c=biws,r=NONCE",
	    "c=biws,r=NONCE,",
	    "c=biws,r=NONCE,p=",
	    "c=biws,r=NONCE,p=PROOF,",
	    "c=biws,r=NONCE,p=PROOF,x=1",
	    "c=biws,r=NONCE,p=PROOF,p=abcd",
	    "r=NONCE,c=biws,p=PROOF",
	    "c=biws,p=PROOF",
	    "r=NONCE,p=PROOF",
	    "c=,r=NONCE,p=PROOF",
	    "c=biw,r=NONCE,p=PROOF",
	    "c=bi!s,r=NONCE,p=PROOF",
	    "c=biws,r=WRONG,p=PROOF",
	    "c=biws,r=NONCEx,p=PROOF",
	    "c=biws,r=abc,p=PROOF",
	    "c=biws,r=NONCE,m=1,p=PROOF",
	    "c=biws,r=NONCE,r=x,p=PROOF",
	    "c=biws,r=NONCE,x,p=PROOF",
	    "c=biws,r=NONCE,p=AAAA",
	    "c=biws,r=NONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "c=biws,r=NONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!",
	    "c=biws,r=NONCE,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	    "c=biws,r=NONCE,p=PROOF\r\n",
	    " c=biws,r=NONCE,p=PROOF",
	};
	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		if (!final_malformed(msgs[i], 0)) {
			fprintf(stderr, "  accepted: %s\n", msgs[i]);
			test_assert(!"malformed client-final-message accepted");
		}
	}
	/* With a NUL after the proof. */
	test_assert(final_malformed("c=biws,r=NONCE,p=PROOF", 1));
	char big[1100] = "c=biws,r=NONCE,x=";
	memset(big + 17, 'x', 1030 - 17);
	strcat(big, ",p=PROOF");
	test_assert(final_malformed(big, 0));
}

static void
test_final_good_forms(void)
{
	enum sasl_failure failure;
	test_assert(final_try("c=biws,r=NONCE,p=PROOF", 0, &failure) ==
	            SASL_OK);
	test_assert(final_try("c=biws,r=NONCE,x=ext,p=PROOF", 0, &failure) ==
	            SASL_OK);
	/* Valid base64 of other bytes than "n,,": "n,-", "y,,". */
	test_assert(final_try("c=biwt,r=NONCE,p=PROOF", 0, &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
	test_assert(final_try("c=eSws,r=NONCE,p=PROOF", 0, &failure) ==
	                SASL_FAIL &&
	            failure == SASL_FAIL_CREDENTIALS);
}

/* --- Failures of the environment, and the end of an exchange -------- */

static void
test_userdb_failure(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha1);
	user_add(&f, "user", "pencil");
	f.mem.fail = true;
	test_assert(step(&f, "n,,n=user,r=abc") == SASL_FAIL);
	test_assert(f.s.failure == SASL_FAIL_TEMPORARY);
	f.mem.fail = false;
	static const char *const bad[] = {
	    "SCRAM-SHA-256$4096:AAAA$AAAA:AAAA",
	    "SCRAM-SHA-1$0:AAAA$x:y",
	    "SCRAM-SHA-1$4096:AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	    /* an empty salt */
	    ("SCRAM-SHA-1$4096:$AAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
	     "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		userdb_memory_set(&f.mem, "user", USERDB_SCRAM_SHA1, bad[i]);
		fixture_restart(&f, &sasl_mech_scram_sha1);
		test_assert(step(&f, "n,,n=user,r=abc") == SASL_FAIL);
		test_assert(f.s.failure == SASL_FAIL_TEMPORARY);
	}
	fixture_free(&f);
}

static void
test_finished_exchange(void)
{
	struct fixture f;
	fixture_init(&f, &sasl_mech_scram_sha256);
	user_add(&f, "user", "pencil");
	test_assert(exchange(&f, "pencil", "n,,", "n=user,r=abc", NULL, 0) ==
	            SASL_OK);
	test_assert(step(&f, "") == SASL_FAIL);
	/* A session abandoned after the first step frees its state. */
	fixture_restart(&f, &sasl_mech_scram_sha256);
	test_assert(step(&f, "n,,n=user,r=abc") == SASL_CONTINUE);
	fixture_free(&f);
}

static void
test_mech_properties(void)
{
	static const struct sasl_settings settings = {.hostname = "h"};
	const struct sasl_mech *m = sasl_mech_find("scram-sha-256-plus", 18);
	test_assert(m == &sasl_mech_scram_sha256_plus);
	test_assert(sasl_mech_find("SCRAM-SHA-1", 11) == &sasl_mech_scram_sha1);
	test_assert(sasl_mech_scram_sha1_plus.flags == SASL_MECH_NEEDS_TLS);
	test_assert(sasl_mech_scram_sha256.flags == 0);
	test_assert(!sasl_mech_usable(m, &settings, false, true));
	test_assert(sasl_mech_usable(m, &settings, true, false));
	test_assert(
	    sasl_mech_usable(&sasl_mech_scram_sha1, &settings, false, false));
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"RFC 5802 example", test_rfc5802_example},
	    {"RFC 7677 example", test_rfc7677_example},
	    {"credential format", test_credential_format},
	    {"credential random salt", test_credential_random_salt},
	    {"credential bad arguments", test_credential_bad_arguments},
	    {"full exchange from userdb", test_full_exchange_userdb},
	    {"empty initial response", test_empty_initial_response},
	    {"random server nonce", test_random_server_nonce},
	    {"wrong password", test_wrong_password},
	    {"unknown user", test_unknown_user},
	    {"missing credential", test_missing_credential},
	    {"authzid", test_authzid},
	    {"channel binding, each type", test_cbind_each_type},
	    {"channel binding, wrong data", test_cbind_wrong_data},
	    {"-PLUS without data", test_plus_without_data},
	    {"non-PLUS with binding", test_non_plus_with_binding},
	    {"y downgrade", test_y_downgrade},
	    {"malformed client-first", test_malformed_first},
	    {"extensions ignored", test_extensions_ignored},
	    {"malformed client-final", test_malformed_final},
	    {"client-final good forms", test_final_good_forms},
	    {"userdb failure", test_userdb_failure},
	    {"finished exchange", test_finished_exchange},
	    {"mechanism properties", test_mech_properties},
	};
	return test_run("scram", cases, sizeof(cases) / sizeof(cases[0]));
}
