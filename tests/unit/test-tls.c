/*
 * TLS server tests: certificates are made here with OpenSSL's X509 API,
 * and every handshake runs over a non-blocking socketpair against an
 * OpenSSL client in the same process, both sides pumped in turn.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/util.h"
#include "net/tls.h"
#include "test.h"

#define PUMP_ROUNDS 200
#define EXPORTER    "EXPORTER-Channel-Binding"

/* PEM text, exactly len bytes (no NUL: the server must use lengths). */
struct pem {
	char *data;
	size_t len;
};

struct identity {
	EVP_PKEY *key;
	X509 *cert;
	struct pem cert_pem;
	struct pem key_pem;
};

struct cert_spec {
	const char *cn;
	size_t cn_len;     /* 0: strlen(cn) */
	const char *email; /* subject emailAddress, or NULL */
	const char *san;   /* subjectAltName in openssl.cnf syntax, or NULL */
	bool is_ca;
	const EVP_MD *md; /* the signature's hash; NULL: SHA-256 */
};

/* CAs, servers (by SNI name) and clients. */
static struct identity ca, other_ca;
static struct identity server_a, server_b, server_mail;
static struct identity alice, carol, bob, nul_cn, utf8_cn;

static struct pem
pem_from_bio(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	struct pem pem = {xmalloc((size_t)len), (size_t)len};
	memcpy(pem.data, data, (size_t)len);
	BIO_free(bio);
	return pem;
}

static struct pem
pem_concat(const struct pem *a, const struct pem *b)
{
	struct pem pem = {xmalloc(a->len + b->len), a->len + b->len};
	memcpy(pem.data, a->data, a->len);
	memcpy(pem.data + a->len, b->data, b->len);
	return pem;
}

static void
cert_add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	test_assert(ext != NULL && X509_add_ext(cert, ext, -1) == 1);
	X509_EXTENSION_free(ext);
}

static void
cert_set_subject(X509 *cert, const struct cert_spec *spec)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int len = (int)(spec->cn_len != 0 ? spec->cn_len : strlen(spec->cn));
	test_assert(X509_NAME_add_entry_by_NID(
	                name, NID_commonName, MBSTRING_UTF8,
	                (const unsigned char *)spec->cn, len, -1, 0) == 1);
	if (spec->email != NULL)
		test_assert(X509_NAME_add_entry_by_NID(
		                name, NID_pkcs9_emailAddress, MBSTRING_ASC,
		                (const unsigned char *)spec->email, -1, -1,
		                0) == 1);
}

static void
cert_set_extensions(X509 *cert, X509 *issuer, const struct cert_spec *spec)
{
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	cert_add_ext(cert, &v3, NID_basic_constraints,
	             spec->is_ca ? "critical,CA:TRUE" : "CA:FALSE");
	cert_add_ext(cert, &v3, NID_subject_key_identifier, "hash");
	if (spec->is_ca)
		cert_add_ext(cert, &v3, NID_key_usage,
		             "critical,keyCertSign,cRLSign");
	if (spec->san != NULL)
		cert_add_ext(cert, &v3, NID_subject_alt_name, spec->san);
}

/* A P-256 key and a certificate for it, signed by issuer (or itself). */
static void
identity_make(struct identity *id, const struct identity *issuer,
              const struct cert_spec *spec)
{
	static long serial = 1;
	id->key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_set_version(cert, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
	X509_set_pubkey(cert, id->key);
	cert_set_subject(cert, spec);
	X509 *issuer_cert = issuer != NULL ? issuer->cert : cert;
	X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));
	cert_set_extensions(cert, issuer_cert, spec);
	EVP_PKEY *sign_key = issuer != NULL ? issuer->key : id->key;
	test_assert(X509_sign(cert, sign_key,
	                      spec->md != NULL ? spec->md : EVP_sha256()) > 0);
	id->cert = cert;
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, cert);
	id->cert_pem = pem_from_bio(bio);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, id->key, NULL, NULL, 0, NULL, NULL);
	id->key_pem = pem_from_bio(bio);
}

static void
identity_free(struct identity *id)
{
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	free(id->cert_pem.data);
	free(id->key_pem.data);
}

static void
identities_make(void)
{
	identity_make(&ca, NULL,
	              &(struct cert_spec){.cn = "Casella CA", .is_ca = true});
	identity_make(&other_ca, NULL,
	              &(struct cert_spec){.cn = "Other CA", .is_ca = true});
	identity_make(
	    &server_a, &ca,
	    &(struct cert_spec){.cn = "a.example", .san = "DNS:a.example"});
	identity_make(&server_b, &ca,
	              &(struct cert_spec){.cn = "b certificate",
	                                  .san = "DNS:*.b.example"});
	/* No subjectAltName: its CN names it (RFC 6125 6.4.4). */
	identity_make(
	    &server_mail, &ca,
	    &(struct cert_spec){.cn = "mail.b.example", .md = EVP_sha384()});
	identity_make(
	    &alice, &ca,
	    &(struct cert_spec){.cn = "alice", .email = "alice@example.org"});
	identity_make(&carol, &ca,
	              &(struct cert_spec){.cn = "carol",
	                                  .san = "email:carol@example.org"});
	identity_make(
	    &bob, &other_ca,
	    &(struct cert_spec){.cn = "bob", .email = "bob@example.org"});
	identity_make(&nul_cn, &ca,
	              &(struct cert_spec){.cn = "ali\0ce", .cn_len = 6});
	identity_make(&utf8_cn, &ca, &(struct cert_spec){.cn = "J\xc3\xb6rg"});
}

static void
identities_free(void)
{
	struct identity *all[] = {&ca,          &other_ca, &server_a, &server_b,
	                          &server_mail, &alice,    &carol,    &bob,
	                          &nul_cn,      &utf8_cn};
	for (size_t i = 0; i < N_ELEMENTS(all); i++)
		identity_free(all[i]);
}

static void
settings_add_cert(struct tls_settings *settings, const struct pem *chain,
                  const struct pem *key)
{
	struct tls_cert_pem *pem = &settings->certs[settings->cert_count++];
	pem->chain = chain->data;
	pem->chain_len = chain->len;
	pem->key = key->data;
	pem->key_len = key->len;
}

/* One certificate, a.example, ALPN "imap", no client certificates. */
static void
settings_init(struct tls_settings *settings)
{
	memset(settings, 0, sizeof(*settings));
	settings_add_cert(settings, &server_a.cert_pem, &server_a.key_pem);
	for (size_t i = 0; i < TLS_TICKET_KEY_LEN; i++)
		settings->ticket_key[i] = (unsigned char)(i * 7 + 1);
	settings->alpn = "imap";
}

static void
settings_client_ca(struct tls_settings *settings, const struct identity *id,
                   enum tls_client_user rule)
{
	settings->client_ca = id->cert_pem.data;
	settings->client_ca_len = id->cert_pem.len;
	settings->client_user = rule;
}

static struct tls_server *
server_create(const struct tls_settings *settings)
{
	const char *error = NULL;
	struct tls_server *server = tls_server_create(settings, &error);
	if (server == NULL)
		fprintf(stderr, "  tls_server_create: %s\n", error);
	test_assert(server != NULL);
	return server;
}

/* What the test client does. */
struct client_opts {
	int min_version, max_version; /* 0: OpenSSL's */
	const char *ciphers;          /* TLS 1.2 list, or NULL */
	const char *sni;
	const char *alpn; /* wire format (RFC 7301 3.1), or NULL */
	const struct identity *cert;
	SSL_SESSION *session; /* to resume */
};

/* A server connection and its client over a socketpair. */
struct pair {
	int fds[2]; /* the server's, the client's */
	struct tls_conn *conn;
	SSL_CTX *client_ctx;
	SSL *client;
	enum tls_io server_result; /* of the handshake */
	const char *server_error;
	int client_result; /* 1 done, -1 failed */
};

static void
client_ctx_setup(SSL_CTX *ctx, const struct client_opts *opts)
{
	/* Else OpenSSL will not even offer TLS 1.1 or 1.0. */
	if (opts->max_version != 0 && opts->max_version < TLS1_2_VERSION)
		SSL_CTX_set_security_level(ctx, 0);
	if (opts->min_version != 0)
		SSL_CTX_set_min_proto_version(ctx, opts->min_version);
	if (opts->max_version != 0)
		SSL_CTX_set_max_proto_version(ctx, opts->max_version);
	if (opts->ciphers != NULL)
		test_assert(SSL_CTX_set_cipher_list(ctx, opts->ciphers) == 1);
}

static void
client_setup(SSL *ssl, const struct client_opts *opts)
{
	if (opts->sni != NULL)
		SSL_set_tlsext_host_name(ssl, opts->sni);
	if (opts->alpn != NULL)
		test_assert(
		    SSL_set_alpn_protos(ssl, (const unsigned char *)opts->alpn,
		                        (unsigned int)strlen(opts->alpn)) == 0);
	if (opts->cert != NULL) {
		test_assert(SSL_use_certificate(ssl, opts->cert->cert) == 1);
		test_assert(SSL_use_PrivateKey(ssl, opts->cert->key) == 1);
	}
	if (opts->session != NULL)
		test_assert(SSL_set_session(ssl, opts->session) == 1);
}

static void
pair_open(struct pair *p, struct tls_server *server,
          const struct client_opts *opts)
{
	memset(p, 0, sizeof(*p));
	test_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds) == 0);
	for (int i = 0; i < 2; i++)
		fcntl(p->fds[i], F_SETFL, O_NONBLOCK);
	p->conn = tls_conn_create(server, p->fds[0]);
	p->client_ctx = SSL_CTX_new(TLS_client_method());
	client_ctx_setup(p->client_ctx, opts);
	p->client = SSL_new(p->client_ctx);
	SSL_set_fd(p->client, p->fds[1]);
	SSL_set_connect_state(p->client);
	client_setup(p->client, opts);
}

static void
pair_close(struct pair *p)
{
	/* A client that does not send close_notify forgets its session
	 * (SSL_free(3)), and later resumptions would prove nothing. */
	if (SSL_is_init_finished(p->client))
		SSL_shutdown(p->client);
	tls_conn_free(&p->conn);
	SSL_free(p->client);
	SSL_CTX_free(p->client_ctx);
	close(p->fds[0]);
	close(p->fds[1]);
	ERR_clear_error();
}

/* One step of the client's handshake: 0 to go on, 1 done, -1 failed. */
static int
client_step(SSL *ssl)
{
	ERR_clear_error();
	int ret = SSL_do_handshake(ssl);
	if (ret == 1)
		return 1;
	int error = SSL_get_error(ssl, ret);
	return error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE
	           ? 0
	           : -1;
}

static bool
io_waits(enum tls_io io)
{
	return io == TLS_IO_WANT_READ || io == TLS_IO_WANT_WRITE;
}

/* Pumps both handshakes until each is done or failed. */
static void
pair_handshake(struct pair *p)
{
	p->server_result = TLS_IO_WANT_READ;
	p->server_error = NULL;
	p->client_result = 0;
	for (int round = 0; round < PUMP_ROUNDS; round++) {
		if (io_waits(p->server_result))
			p->server_result =
			    tls_conn_handshake(p->conn, &p->server_error);
		if (p->client_result == 0)
			p->client_result = client_step(p->client);
		if (!io_waits(p->server_result) && p->client_result != 0)
			break;
	}
}

/* A pair with a finished handshake. */
static bool
pair_connect(struct pair *p, struct tls_server *server,
             const struct client_opts *opts)
{
	pair_open(p, server, opts);
	pair_handshake(p);
	if (p->server_result != TLS_IO_OK)
		fprintf(stderr, "  server handshake: %d %s\n", p->server_result,
		        p->server_error != NULL ? p->server_error : "");
	test_assert(p->server_result == TLS_IO_OK);
	test_assert(p->client_result == 1);
	return p->server_result == TLS_IO_OK && p->client_result == 1;
}

/* Reads exactly len bytes on the client, pumping nothing else. */
static bool
client_read(struct pair *p, void *buf, size_t len)
{
	size_t got = 0;
	for (int round = 0; round < PUMP_ROUNDS && got < len; round++) {
		size_t n = 0;
		if (SSL_read_ex(p->client, (char *)buf + got, len - got, &n))
			got += n;
	}
	return got == len;
}

/* The server greets, so that a TLS 1.3 client also reads its ticket
 * (RFC 8446 4.6.1: it comes after the handshake). */
static void
pair_greet(struct pair *p)
{
	static const char greeting[] = "* OK ready\r\n";
	char buf[sizeof(greeting) - 1];
	test_assert(tls_conn_write(p->conn, greeting, sizeof(buf)) ==
	            (ssize_t)sizeof(buf));
	test_assert(client_read(p, buf, sizeof(buf)));
	test_assert(memcmp(buf, greeting, sizeof(buf)) == 0);
}

/* Connects, greets, and returns the client's session for resumption. */
static SSL_SESSION *
session_get(struct tls_server *server, const struct client_opts *opts)
{
	struct pair p;
	SSL_SESSION *session = NULL;
	if (pair_connect(&p, server, opts)) {
		test_assert(!tls_conn_resumed(p.conn));
		pair_greet(&p);
		session = SSL_get1_session(p.client);
		test_assert(SSL_SESSION_is_resumable(session));
	}
	pair_close(&p);
	return session;
}

static bool
cipher_is_modern(const char *cipher)
{
	if (strncmp(cipher, "TLS_", 4) == 0)
		return strstr(cipher, "GCM") != NULL ||
		       strstr(cipher, "CHACHA20") != NULL;
	return strncmp(cipher, "ECDHE-", 6) == 0 &&
	       (strstr(cipher, "-GCM-") != NULL ||
	        strstr(cipher, "CHACHA20-POLY1305") != NULL);
}

static void
check_version(int version, const char *name)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server,
	                 &(struct client_opts){.max_version = version})) {
		test_assert(strcmp(tls_conn_version(p.conn), name) == 0);
		test_assert(SSL_version(p.client) == version);
		test_assert(cipher_is_modern(tls_conn_cipher(p.conn)));
		test_assert(!tls_conn_resumed(p.conn));
		pair_greet(&p);
	}
	pair_close(&p);
	tls_server_unref(&server);
	test_assert(server == NULL);
}

static void
test_tls13(void)
{
	check_version(TLS1_3_VERSION, "TLSv1.3");
}

static void
test_tls12(void)
{
	check_version(TLS1_2_VERSION, "TLSv1.2");
}

/* The handshake must fail on the server with the given reason. */
static void
check_refused(const struct client_opts *opts, const char *reason)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	pair_open(&p, server, opts);
	pair_handshake(&p);
	test_assert(p.server_result == TLS_IO_ERROR);
	test_assert(p.client_result == -1);
	test_assert(p.server_error != NULL);
	if (p.server_error != NULL && strcmp(p.server_error, reason) != 0)
		fprintf(stderr, "  reason '%s', want '%s'\n", p.server_error,
		        reason);
	test_assert(p.server_error != NULL &&
	            strcmp(p.server_error, reason) == 0);
	/* No close_notify after a failure, and nothing breaks. */
	tls_conn_shutdown(p.conn);
	pair_close(&p);
	tls_server_unref(&server);
}

static void
test_old_versions(void)
{
	check_refused(&(struct client_opts){.min_version = TLS1_1_VERSION,
	                                    .max_version = TLS1_1_VERSION},
	              "unsupported protocol");
	check_refused(&(struct client_opts){.min_version = TLS1_VERSION,
	                                    .max_version = TLS1_VERSION},
	              "unsupported protocol");
}

static void
test_cipher_list(void)
{
	/* RSA key exchange and CBC are not on the list. */
	check_refused(&(struct client_opts){.max_version = TLS1_2_VERSION,
	                                    .ciphers =
	                                        "AES128-SHA256:"
	                                        "ECDHE-ECDSA-AES128-SHA"},
	              "no shared cipher");
	/* The server's preference wins (AES-128 before AES-256). */
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server,
	                 &(struct client_opts){
	                     .max_version = TLS1_2_VERSION,
	                     .ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384:"
	                                "ECDHE-ECDSA-AES128-GCM-SHA256"}))
		test_assert(strcmp(tls_conn_cipher(p.conn),
		                   "ECDHE-ECDSA-AES128-GCM-SHA256") == 0);
	pair_close(&p);
	tls_server_unref(&server);
}

static void
test_garbage_client(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	pair_open(&p, server, &(struct client_opts){0});
	static const char request[] = "GET / HTTP/1.0\r\n\r\n";
	test_assert(write(p.fds[1], request, sizeof(request) - 1) ==
	            (ssize_t)sizeof(request) - 1);
	const char *error = NULL;
	test_assert(tls_conn_handshake(p.conn, &error) == TLS_IO_ERROR);
	test_assert(error != NULL && strcmp(error, "http request") == 0);
	tls_conn_shutdown(p.conn);
	pair_close(&p);

	/* A client that closes mid-handshake. */
	pair_open(&p, server, &(struct client_opts){0});
	test_assert(client_step(p.client) == 0);
	shutdown(p.fds[1], SHUT_WR);
	error = NULL;
	test_assert(tls_conn_handshake(p.conn, &error) == TLS_IO_CLOSED);
	test_assert(error != NULL);
	pair_close(&p);
	tls_server_unref(&server);
}

/* Which certificate the client got for a server name. */
static void
check_sni(struct tls_server *server, const char *sni,
          const struct identity *want)
{
	struct pair p;
	if (pair_connect(&p, server, &(struct client_opts){.sni = sni})) {
		X509 *got = SSL_get0_peer_certificate(p.client);
		if (got == NULL || X509_cmp(got, want->cert) != 0)
			fprintf(stderr, "  SNI %s: wrong certificate\n",
			        sni != NULL ? sni : "(none)");
		test_assert(got != NULL && X509_cmp(got, want->cert) == 0);
	}
	pair_close(&p);
}

static void
test_sni(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	settings_add_cert(&settings, &server_b.cert_pem, &server_b.key_pem);
	settings_add_cert(&settings, &server_mail.cert_pem,
	                  &server_mail.key_pem);
	struct tls_server *server = server_create(&settings);
	check_sni(server, "a.example", &server_a);
	check_sni(server, "A.Example", &server_a);
	check_sni(server, "x.b.example", &server_b);
	check_sni(server, "X.B.EXAMPLE", &server_b);
	check_sni(server, "imap.b.example.", &server_b);
	/* An exact name before a wildcard. */
	check_sni(server, "mail.b.example", &server_mail);
	/* RFC 6125 6.4.3: "*" is one label, never none or two. */
	check_sni(server, "b.example", &server_a);
	check_sni(server, "y.x.b.example", &server_a);
	check_sni(server, "unknown.example", &server_a);
	check_sni(server, "example", &server_a);
	check_sni(server, NULL, &server_a);
	tls_server_unref(&server);
}

static void
test_chain(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct pem chain = pem_concat(&server_a.cert_pem, &ca.cert_pem);
	settings.certs[0].chain = chain.data;
	settings.certs[0].chain_len = chain.len;
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		/* On the client, the chain includes the leaf. */
		STACK_OF(X509) *got = SSL_get_peer_cert_chain(p.client);
		test_assert(sk_X509_num(got) == 2);
		test_assert(X509_cmp(sk_X509_value(got, 1), ca.cert) == 0);
	}
	pair_close(&p);
	tls_server_unref(&server);
	free(chain.data);
}

static void
check_alpn(const char *offer, bool ok, const char *selected)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	pair_open(&p, server, &(struct client_opts){.alpn = offer});
	pair_handshake(&p);
	test_assert((p.server_result == TLS_IO_OK) == ok);
	test_assert((p.client_result == 1) == ok);
	if (ok) {
		const unsigned char *got;
		unsigned int len;
		SSL_get0_alpn_selected(p.client, &got, &len);
		test_assert(len == strlen(selected));
		test_assert(len == 0 || memcmp(got, selected, len) == 0);
	} else {
		test_assert(p.server_error != NULL &&
		            strcmp(p.server_error, "no application protocol") ==
		                0);
	}
	pair_close(&p);
	tls_server_unref(&server);
}

static void
test_alpn(void)
{
	check_alpn("\x04imap", true, "imap");
	check_alpn("\x08http/1.1\x04imap", true, "imap");
	check_alpn("\x08http/1.1", false, NULL);
	check_alpn("\x05imaps\x04smtp", false, NULL);
	check_alpn(NULL, true, "");
}

/* A session from one server resumes on another made from the same
 * settings, as in another login process. */
static void
check_resume(int version)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *first = server_create(&settings);
	struct client_opts opts = {.max_version = version, .alpn = "\x04imap"};
	opts.session = session_get(first, &opts);
	tls_server_unref(&first);
	if (opts.session == NULL)
		return;
	struct tls_server *second = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, second, &opts)) {
		test_assert(tls_conn_resumed(p.conn));
		test_assert(SSL_session_reused(p.client));
		test_assert(SSL_version(p.client) == version);
		pair_greet(&p);
	}
	pair_close(&p);
	tls_server_unref(&second);
	/* Another ticket key: a full handshake. */
	test_assert(SSL_SESSION_is_resumable(opts.session));
	settings.ticket_key[0] ^= 1;
	struct tls_server *other = server_create(&settings);
	if (pair_connect(&p, other, &opts)) {
		test_assert(!tls_conn_resumed(p.conn));
		test_assert(!SSL_session_reused(p.client));
	}
	pair_close(&p);
	tls_server_unref(&other);
	SSL_SESSION_free(opts.session);
}

static void
test_resume(void)
{
	check_resume(TLS1_3_VERSION);
	check_resume(TLS1_2_VERSION);
}

static void
test_exporter(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	unsigned char got[64], want[32];
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		test_assert(tls_conn_cb_exporter(p.conn, got) == 32);
		test_assert(SSL_export_keying_material(
		                p.client, want, sizeof(want), EXPORTER,
		                strlen(EXPORTER), NULL, 0, 0) == 1);
		test_assert(memcmp(got, want, sizeof(want)) == 0);
		test_assert(tls_conn_cb_unique(p.conn, got) == 0);
	}
	pair_close(&p);
	if (pair_connect(&p, server,
	                 &(struct client_opts){.max_version = TLS1_2_VERSION}))
		test_assert(tls_conn_cb_exporter(p.conn, got) == 0);
	pair_close(&p);
	tls_server_unref(&server);
}

/* RFC 5929 3.1: tls-unique is the first Finished of the handshake. */
static void
check_unique(struct pair *p, bool resumed)
{
	unsigned char got[64], want[64];
	size_t len = tls_conn_cb_unique(p->conn, got);
	size_t want_len = resumed ? SSL_get_peer_finished(p->client, want, 64)
	                          : SSL_get_finished(p->client, want, 64);
	test_assert(len == 12 && want_len == 12);
	test_assert(memcmp(got, want, 12) == 0);
	test_assert(tls_conn_resumed(p->conn) == resumed);
}

static void
test_unique(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct client_opts opts = {.max_version = TLS1_2_VERSION};
	struct pair p;
	if (pair_connect(&p, server, &opts)) {
		check_unique(&p, false);
		pair_greet(&p);
		opts.session = SSL_get1_session(p.client);
	}
	pair_close(&p);
	test_assert(opts.session != NULL);
	if (opts.session != NULL) {
		if (pair_connect(&p, server, &opts))
			check_unique(&p, true);
		pair_close(&p);
	}
	SSL_SESSION_free(opts.session);
	tls_server_unref(&server);
}

/* RFC 5929 4.1: the certificate hashed with its signature's hash. */
static void
check_end_point(struct tls_server *server, const char *sni,
                const struct identity *id, const EVP_MD *md)
{
	unsigned char *der = NULL;
	int der_len = i2d_X509(id->cert, &der);
	unsigned char want[EVP_MAX_MD_SIZE], got[64];
	unsigned int want_len = 0;
	test_assert(
	    EVP_Digest(der, (size_t)der_len, want, &want_len, md, NULL) == 1);
	OPENSSL_free(der);
	struct pair p;
	if (pair_connect(&p, server, &(struct client_opts){.sni = sni})) {
		test_assert(tls_conn_cb_server_end_point(p.conn, got) ==
		            want_len);
		test_assert(memcmp(got, want, want_len) == 0);
	}
	pair_close(&p);
}

static void
test_server_end_point(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	settings_add_cert(&settings, &server_b.cert_pem, &server_b.key_pem);
	settings_add_cert(&settings, &server_mail.cert_pem,
	                  &server_mail.key_pem);
	struct tls_server *server = server_create(&settings);
	check_end_point(server, NULL, &server_a, EVP_sha256());
	check_end_point(server, "x.b.example", &server_b, EVP_sha256());
	check_end_point(server, "mail.b.example", &server_mail, EVP_sha384());
	tls_server_unref(&server);
}

/* The user a client certificate names on the server, or NULL. */
static void
check_client_user(struct tls_server *server, const struct client_opts *opts,
                  const char *want)
{
	struct pair p;
	char user[64];
	if (pair_connect(&p, server, opts)) {
		bool got = tls_conn_client_user(p.conn, user, sizeof(user));
		test_assert(got == (want != NULL));
		if (got && want != NULL && strcmp(user, want) != 0)
			fprintf(stderr, "  user '%s', want '%s'\n", user, want);
		test_assert(!got || want == NULL || strcmp(user, want) == 0);
		pair_greet(&p);
	}
	pair_close(&p);
}

static void
check_client_certs(int version)
{
	struct tls_settings settings;
	settings_init(&settings);
	settings_client_ca(&settings, &ca, TLS_CLIENT_USER_CN);
	struct tls_server *server = server_create(&settings);
	struct client_opts opts = {.max_version = version};
	check_client_user(server, &opts, NULL);
	opts.cert = &alice;
	check_client_user(server, &opts, "alice");
	opts.cert = &bob;
	check_client_user(server, &opts, NULL);
	opts.cert = &nul_cn;
	check_client_user(server, &opts, NULL);
	opts.cert = &utf8_cn;
	check_client_user(server, &opts, NULL);
	tls_server_unref(&server);

	settings_client_ca(&settings, &ca, TLS_CLIENT_USER_EMAIL);
	server = server_create(&settings);
	opts.cert = &alice;
	check_client_user(server, &opts, "alice@example.org");
	opts.cert = &carol;
	check_client_user(server, &opts, "carol@example.org");
	tls_server_unref(&server);
}

static void
test_client_certs(void)
{
	check_client_certs(TLS1_3_VERSION);
	check_client_certs(TLS1_2_VERSION);
}

static void
test_client_cert_details(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	/* Not asked for: a certificate the client has names nobody. */
	struct tls_server *server = server_create(&settings);
	check_client_user(server, &(struct client_opts){.cert = &alice}, NULL);
	tls_server_unref(&server);

	settings_client_ca(&settings, &ca, TLS_CLIENT_USER_CN);
	server = server_create(&settings);
	struct pair p;
	char user[6];
	if (pair_connect(&p, server, &(struct client_opts){.cert = &alice})) {
		/* The CA names the server sends (RFC 8446 4.2.4). */
		STACK_OF(X509_NAME) *names = SSL_get_client_CA_list(p.client);
		test_assert(sk_X509_NAME_num(names) == 1);
		test_assert(X509_NAME_cmp(sk_X509_NAME_value(names, 0),
		                          X509_get_subject_name(ca.cert)) == 0);
		test_assert(!tls_conn_client_user(p.conn, user, 5));
		test_assert(tls_conn_client_user(p.conn, user, 6));
		test_assert(strcmp(user, "alice") == 0);
	}
	pair_close(&p);
	tls_server_unref(&server);

	/* The certificate SNI picks verifies clients alike. */
	settings_add_cert(&settings, &server_b.cert_pem, &server_b.key_pem);
	server = server_create(&settings);
	for (int version = TLS1_2_VERSION; version <= TLS1_3_VERSION;
	     version++) {
		struct client_opts opts = {.max_version = version,
		                           .sni = "x.b.example"};
		opts.cert = &alice;
		check_client_user(server, &opts, "alice");
		opts.cert = &bob;
		check_client_user(server, &opts, NULL);
	}
	tls_server_unref(&server);
}

/* A resumed session keeps its client certificate, and only resumes
 * under the same client CA. */
static void
check_client_cert_resume(int version)
{
	struct tls_settings settings;
	settings_init(&settings);
	settings_client_ca(&settings, &ca, TLS_CLIENT_USER_CN);
	struct tls_server *server = server_create(&settings);
	struct client_opts opts = {.max_version = version, .cert = &alice};
	opts.session = session_get(server, &opts);
	if (opts.session == NULL) {
		tls_server_unref(&server);
		return;
	}
	struct pair p;
	char user[64];
	if (pair_connect(&p, server, &opts)) {
		test_assert(tls_conn_resumed(p.conn));
		test_assert(tls_conn_client_user(p.conn, user, sizeof(user)));
		test_assert(strcmp(user, "alice") == 0);
	}
	pair_close(&p);
	tls_server_unref(&server);
	test_assert(SSL_SESSION_is_resumable(opts.session));
	settings_client_ca(&settings, &other_ca, TLS_CLIENT_USER_CN);
	server = server_create(&settings);
	if (pair_connect(&p, server, &opts)) {
		test_assert(!tls_conn_resumed(p.conn));
		test_assert(!tls_conn_client_user(p.conn, user, sizeof(user)));
	}
	pair_close(&p);
	tls_server_unref(&server);
	SSL_SESSION_free(opts.session);
}

static void
test_client_cert_resume(void)
{
	check_client_cert_resume(TLS1_3_VERSION);
	check_client_cert_resume(TLS1_2_VERSION);
}

/* tls_server_create must fail with a message containing want. */
static void
check_create_fails(const struct tls_settings *settings, const char *want)
{
	const char *error = NULL;
	struct tls_server *server = tls_server_create(settings, &error);
	test_assert(server == NULL);
	test_assert(error != NULL);
	if (error != NULL && strstr(error, want) == NULL)
		fprintf(stderr, "  error '%s', want '%s'\n", error, want);
	test_assert(error != NULL && strstr(error, want) != NULL);
	tls_server_unref(&server);
	test_assert(ERR_peek_error() == 0);
}

static void
test_create_errors(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	settings.cert_count = 0;
	check_create_fails(&settings, "no certificate");
	/* The second certificate with the first's key. */
	settings_init(&settings);
	settings_add_cert(&settings, &server_b.cert_pem, &server_a.key_pem);
	check_create_fails(&settings, "TLS certificate 1: private key does "
	                              "not match");
	static const struct pem garbage = {"hello, world\n", 13};
	settings_init(&settings);
	settings_add_cert(&settings, &garbage, &server_b.key_pem);
	check_create_fails(&settings, "TLS certificate 1: no certificate: ");
	settings_init(&settings);
	settings.certs[0].key = garbage.data;
	settings.certs[0].key_len = garbage.len;
	check_create_fails(&settings, "TLS certificate 0: no private key");
	/* A chain certificate cut short. */
	struct pem chain = pem_concat(&server_a.cert_pem, &ca.cert_pem);
	settings_init(&settings);
	settings.certs[0].chain = chain.data;
	settings.certs[0].chain_len = chain.len - 80;
	check_create_fails(&settings, "TLS certificate 0: bad chain");
	free(chain.data);
	settings_init(&settings);
	settings.client_ca = garbage.data;
	settings.client_ca_len = garbage.len;
	check_create_fails(&settings, "TLS client CA: no certificate");
	settings_init(&settings);
	settings.alpn = "";
	check_create_fails(&settings, "ALPN");
}

/* The server writes more than the socket holds: partial writes, then
 * WANT_WRITE, retried from another buffer with the same bytes. */
static void
check_big_write(struct pair *p, size_t total)
{
	unsigned char *out = xmalloc(total), *in = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		out[i] = (unsigned char)(i * 31 + i / 251);
	size_t sent = 0, got = 0;
	bool partial = false, blocked = false;
	for (int round = 0; round < 100000 && got < total; round++) {
		/* Fill the socket first, then take turns. */
		for (int burst = 0; sent < total && burst < 64; burst++) {
			unsigned char *copy = xmalloc(total - sent);
			memcpy(copy, out + sent, total - sent);
			ssize_t n = tls_conn_write(p->conn, copy, total - sent);
			free(copy);
			if (n <= 0) {
				test_assert(n == TLS_IO_WANT_WRITE);
				blocked = true;
				break;
			}
			partial |= (size_t)n < total - sent;
			sent += (size_t)n;
		}
		size_t n = 0;
		if (SSL_read_ex(p->client, in + got, total - got, &n) == 1)
			got += n;
	}
	test_assert(got == total && sent == total);
	test_assert(partial && blocked);
	test_assert(memcmp(in, out, total) == 0);
	free(out);
	free(in);
}

/* The client writes; the server reads in small pieces. */
static void
check_client_write(struct pair *p, size_t total)
{
	unsigned char *out = xmalloc(total), *in = xmalloc(total);
	for (size_t i = 0; i < total; i++)
		out[i] = (unsigned char)(i * 13);
	size_t written = 0;
	test_assert(SSL_write_ex(p->client, out, total, &written) == 1);
	test_assert(written == total);
	size_t got = 0;
	while (got < total) {
		ssize_t n = tls_conn_read(p->conn, in + got, 1000);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	test_assert(got == total);
	test_assert(memcmp(in, out, total) == 0);
	test_assert(!tls_conn_pending(p->conn));
	test_assert(tls_conn_read(p->conn, in, 1) == TLS_IO_WANT_READ);
	free(out);
	free(in);
}

static void
check_data(int version)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server,
	                 &(struct client_opts){.max_version = version})) {
		char buf[16];
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) ==
		            TLS_IO_WANT_READ);
		check_big_write(&p, 1 << 20);
		check_client_write(&p, 50000);
	}
	pair_close(&p);
	tls_server_unref(&server);
}

static void
test_data(void)
{
	check_data(TLS1_3_VERSION);
	check_data(TLS1_2_VERSION);
}

static void
test_pending(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		char data[100], buf[200];
		memset(data, 'x', sizeof(data));
		test_assert(!tls_conn_pending(p.conn));
		test_assert(SSL_write(p.client, data, sizeof(data)) == 100);
		test_assert(tls_conn_read(p.conn, buf, 10) == 10);
		/* The rest is decrypted already: the socket is empty. */
		test_assert(tls_conn_pending(p.conn));
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) == 90);
		test_assert(!tls_conn_pending(p.conn));
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) ==
		            TLS_IO_WANT_READ);
	}
	pair_close(&p);
	tls_server_unref(&server);
}

static void
test_shutdown(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	char buf[16];
	/* Ours: the client sees close_notify (RFC 8446 6.1). */
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		pair_greet(&p);
		tls_conn_shutdown(p.conn);
		size_t n;
		test_assert(SSL_read_ex(p.client, buf, sizeof(buf), &n) == 0);
		test_assert(SSL_get_error(p.client, 0) ==
		            SSL_ERROR_ZERO_RETURN);
	}
	pair_close(&p);
	/* The client's close_notify, then a bare EOF. */
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		test_assert(SSL_shutdown(p.client) == 0);
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) ==
		            TLS_IO_CLOSED);
		tls_conn_shutdown(p.conn);
		test_assert(SSL_shutdown(p.client) == 1);
	}
	pair_close(&p);
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		shutdown(p.fds[1], SHUT_WR);
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) ==
		            TLS_IO_CLOSED);
		tls_conn_shutdown(p.conn);
	}
	pair_close(&p);
	tls_server_unref(&server);
}

/* A forged record after the handshake is an error, not a close. */
static void
test_bad_record(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	if (pair_connect(&p, server, &(struct client_opts){0})) {
		static const char record[] = "\x17\x03\x03\x00\x20"
		                             "0123456789abcdef0123456789abcdef";
		test_assert(write(p.fds[1], record, sizeof(record) - 1) ==
		            (ssize_t)sizeof(record) - 1);
		char buf[16];
		test_assert(tls_conn_read(p.conn, buf, sizeof(buf)) ==
		            TLS_IO_ERROR);
		tls_conn_shutdown(p.conn);
		test_assert(ERR_peek_error() == 0);
	}
	pair_close(&p);
	tls_server_unref(&server);
}

/* A connection keeps its server after the last other reference goes,
 * as after a reload. */
static void
test_reference(void)
{
	struct tls_settings settings;
	settings_init(&settings);
	struct tls_server *server = server_create(&settings);
	struct pair p;
	pair_open(&p, server, &(struct client_opts){.sni = "a.example"});
	tls_server_unref(&server);
	pair_handshake(&p);
	test_assert(p.server_result == TLS_IO_OK && p.client_result == 1);
	if (p.server_result == TLS_IO_OK)
		pair_greet(&p);
	pair_close(&p);
}

static const struct test_case cases[] = {
    {"TLS 1.3", test_tls13},
    {"TLS 1.2", test_tls12},
    {"TLS 1.1 and 1.0 refused", test_old_versions},
    {"cipher list", test_cipher_list},
    {"garbage client", test_garbage_client},
    {"SNI", test_sni},
    {"chain", test_chain},
    {"ALPN", test_alpn},
    {"resumption across servers", test_resume},
    {"tls-exporter", test_exporter},
    {"tls-unique", test_unique},
    {"tls-server-end-point", test_server_end_point},
    {"client certificates", test_client_certs},
    {"client certificate details", test_client_cert_details},
    {"client certificate resumption", test_client_cert_resume},
    {"create errors", test_create_errors},
    {"data", test_data},
    {"pending", test_pending},
    {"shutdown", test_shutdown},
    {"bad record", test_bad_record},
    {"reference", test_reference},
};

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	identities_make();
	int ret = test_run("tls", cases, N_ELEMENTS(cases));
	identities_free();
	return ret;
}
