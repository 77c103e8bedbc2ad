/*
 * TLS over OpenSSL 3 for the login processes (see tls.h).
 *
 * A tls_server holds one SSL_CTX per certificate, all configured alike;
 * a connection starts on the first and SNI (RFC 6066 3) moves it to the
 * one whose names match.  Session tickets (RFC 5077, and the TLS 1.3
 * PSKs of RFC 8446 4.6.1, which OpenSSL seals the same way) use the key
 * of the settings, so every login process opens every other one's, and
 * no session cache is kept.  Nothing is logged here: failures return a
 * reason for the caller's log line.
 */
#include "net/tls.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "lib/util.h"

/* RFC 9325 4.2: TLS 1.2 with ECDHE and AEAD ciphers only.  TLS 1.3 keeps
 * OpenSSL's suites, all of them AEAD (RFC 8446 B.4). */
#define TLS12_CIPHERS                                                          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define TLS_OPTIONS                                                            \
	(SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA |          \
	 SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION)

#define TLS_MODES                                                              \
	(SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |            \
	 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)

/* The parts of tls_settings.ticket_key, in order. */
#define TICKET_NAME_LEN 16
#define TICKET_HMAC_LEN 32
#define TICKET_AES_LEN  32
static_assert(TICKET_NAME_LEN + TICKET_HMAC_LEN + TICKET_AES_LEN ==
                  TLS_TICKET_KEY_LEN,
              "ticket key layout");
static_assert(TICKET_NAME_LEN == 16, "OpenSSL's ticket key name is 16");

/* RFC 9266 2: the exporter label and length of tls-exporter. */
#define CB_EXPORTER_LABEL "EXPORTER-Channel-Binding"
#define CB_EXPORTER_LEN   32
#define CB_MAX_LEN        64

/* RFC 1035 2.3.4: the longest DNS name. */
#define DNS_NAME_MAX 253

struct tls_cert {
	SSL_CTX *ctx;      /* this certificate's configuration */
	char **names;      /* its DNS names in lower case, for SNI */
	size_t name_count; /* entries in names */
};

struct tls_server {
	int refcount;                         /* this and each tls_conn */
	struct tls_cert certs[TLS_MAX_CERTS]; /* the first is the default */
	size_t cert_count;                    /* certificates loaded */
	unsigned char ticket_key[TLS_TICKET_KEY_LEN]; /* see tls.h */
	unsigned char alpn[255];          /* our ALPN protocol (RFC 7301) */
	size_t alpn_len;                  /* 0: no ALPN */
	bool verify_clients;              /* a client CA is set */
	enum tls_client_user client_user; /* how a certificate names a user */
};

struct tls_conn {
	struct tls_server *server; /* a reference */
	SSL *ssl;                  /* its app data is this conn */
	bool failed;               /* a fatal error: no SSL_shutdown() */
};

/* A list of certificates; the name keeps clang-format from mistaking
 * STACK_OF(X509) for a call. */
typedef STACK_OF(X509) x509_list;

static _Thread_local char tls_error[256];

/* The reason of the first error in the thread's queue, which is then
 * emptied; fallback when there is none. */
static const char *
tls_openssl_reason(const char *fallback)
{
	const char *reason = ERR_reason_error_string(ERR_peek_error());
	ERR_clear_error();
	return reason != NULL ? reason : fallback;
}

/* "what: reason (detail)" in tls_error, from OpenSSL's first error, whose
 * reason alone can be vague ("unsupported"); the queue is emptied. */
static const char *
tls_config_error(const char *what)
{
	const char *data = NULL;
	int flags = 0;
	unsigned long code = ERR_peek_error_data(&data, &flags);
	const char *reason = ERR_reason_error_string(code);
	bool detail =
	    data != NULL && data[0] != '\0' && (flags & ERR_TXT_STRING) != 0;
	snprintf(tls_error, sizeof(tls_error), "%s: %s%s%s%s", what,
	         reason != NULL ? reason : "unknown error", detail ? " (" : "",
	         detail ? data : "", detail ? ")" : "");
	ERR_clear_error();
	return tls_error;
}

/* "TLS certificate 1: no private key: ..." */
static const char *
tls_cert_error(size_t index, const char *what)
{
	char prefix[128];
	snprintf(prefix, sizeof(prefix), "TLS certificate %zu: %s", index,
	         what);
	return tls_config_error(prefix);
}

/* A memory BIO over PEM text, or NULL if there is none. */
static BIO *
tls_pem_bio(const char *pem, size_t len)
{
	if (pem == NULL || len == 0 || len > INT_MAX)
		return NULL;
	return BIO_new_mem_buf(pem, (int)len);
}

/* Keys come unencrypted from the master: never ask for a passphrase
 * (OpenSSL's default would prompt on the terminal). */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *context)
{
	return 0;
}

static X509 *
tls_read_cert(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, tls_no_passphrase, NULL);
}

/* After tls_read_cert() returned NULL: true, with the error queue
 * emptied, if that was the end of the text rather than a broken
 * certificate. */
static bool
tls_pem_at_end(void)
{
	unsigned long code = ERR_peek_last_error();
	if (ERR_GET_LIB(code) != ERR_LIB_PEM ||
	    ERR_GET_REASON(code) != PEM_R_NO_START_LINE)
		return false;
	ERR_clear_error();
	return true;
}

/* The chain certificates after the leaf, in the order given. */
static const char *
tls_load_chain_rest(SSL_CTX *ctx, BIO *bio)
{
	X509 *cert;
	while ((cert = tls_read_cert(bio)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, cert) != 1) {
			X509_free(cert);
			return "chain certificate refused";
		}
	}
	return tls_pem_at_end() ? NULL : "bad chain certificate";
}

/* The leaf certificate, then its chain. */
static const char *
tls_load_chain(SSL_CTX *ctx, const struct tls_cert_pem *pem)
{
	BIO *bio = tls_pem_bio(pem->chain, pem->chain_len);
	if (bio == NULL)
		return "no certificate PEM";
	const char *error = NULL;
	X509 *leaf = tls_read_cert(bio);
	if (leaf == NULL)
		error = "no certificate";
	else if (SSL_CTX_use_certificate(ctx, leaf) != 1)
		error = "certificate refused";
	else
		error = tls_load_chain_rest(ctx, bio);
	X509_free(leaf);
	BIO_free(bio);
	return error;
}

static const char *
tls_load_key(SSL_CTX *ctx, const struct tls_cert_pem *pem)
{
	BIO *bio = tls_pem_bio(pem->key, pem->key_len);
	if (bio == NULL)
		return "no private key PEM";
	EVP_PKEY *key =
	    PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, NULL);
	BIO_free(bio);
	const char *error = NULL;
	if (key == NULL)
		error = "no private key";
	else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	         SSL_CTX_check_private_key(ctx) != 1)
		error = "private key does not match the certificate";
	EVP_PKEY_free(key);
	return error;
}

/* Printable ASCII only: no NUL, no controls, nothing to escape in a
 * log or to confuse a comparison. */
static bool
tls_printable_ascii(const unsigned char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	}
	return true;
}

/* Adds a DNS name to the certificate's SNI list, in lower case; names
 * that cannot be host names are skipped. */
static void
tls_cert_add_name(struct tls_cert *cert, const ASN1_STRING *name)
{
	if (name == NULL)
		return;
	const unsigned char *data = ASN1_STRING_get0_data(name);
	size_t len = (size_t)ASN1_STRING_length(name);
	if (len == 0 || len > DNS_NAME_MAX || !tls_printable_ascii(data, len))
		return;
	char *copy = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		copy[i] = (char)(data[i] >= 'A' && data[i] <= 'Z' ? data[i] + 32
		                                                  : data[i]);
	copy[len] = '\0';
	cert->names = xrealloc(cert->names,
	                       (cert->name_count + 1) * sizeof(*cert->names));
	cert->names[cert->name_count++] = copy;
}

/* The number of nid entries in a certificate's subject; *first_r is the
 * first of them. */
static int
tls_subject_count(X509 *x509, int nid, const ASN1_STRING **first_r)
{
	const X509_NAME *subject = X509_get_subject_name(x509);
	int count = 0;
	*first_r = NULL;
	for (int i = -1;
	     (i = X509_NAME_get_index_by_NID(subject, nid, i)) >= 0;) {
		if (count++ == 0)
			*first_r = X509_NAME_ENTRY_get_data(
			    X509_NAME_get_entry(subject, i));
	}
	return count;
}

/* RFC 6125 6.4.4: the DNS names of subjectAltName, or the CN if there
 * are none. */
static void
tls_cert_names(struct tls_cert *cert, X509 *x509)
{
	GENERAL_NAMES *sans =
	    X509_get_ext_d2i(x509, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(sans, i);
		if (name->type == GEN_DNS)
			tls_cert_add_name(cert, name->d.dNSName);
	}
	GENERAL_NAMES_free(sans);
	const ASN1_STRING *cn;
	if (cert->name_count == 0 &&
	    tls_subject_count(x509, NID_commonName, &cn) == 1)
		tls_cert_add_name(cert, cn);
	ERR_clear_error();
}

/* RFC 6125 6.4.1 and 6.4.3: names compare without regard to case, and
 * a "*." pattern matches exactly one whole leftmost label. */
static bool
tls_name_matches(const char *pattern, const char *host, size_t len)
{
	if (pattern[0] != '*' || pattern[1] != '.')
		return mem_case_eq(host, len, pattern);
	const char *dot = memchr(host, '.', len);
	if (dot == NULL || dot == host)
		return false;
	return mem_case_eq(dot, len - (size_t)(dot - host), pattern + 1);
}

static bool
tls_cert_matches(const struct tls_cert *cert, const char *host, size_t len,
                 bool wildcards)
{
	for (size_t i = 0; i < cert->name_count; i++) {
		bool wildcard = cert->names[i][0] == '*';
		if (wildcard == wildcards &&
		    tls_name_matches(cert->names[i], host, len))
			return true;
	}
	return false;
}

/* The certificate for a server name: an exact match first, then a
 * wildcard one, then the default. */
static size_t
tls_server_pick(const struct tls_server *server, const char *host)
{
	size_t len = strlen(host);
	if (len > 0 && host[len - 1] == '.')
		len--;
	for (int wildcards = 0; wildcards < 2; wildcards++) {
		for (size_t i = 0; i < server->cert_count; i++) {
			if (tls_cert_matches(&server->certs[i], host, len,
			                     wildcards))
				return i;
		}
	}
	return 0;
}

/* RFC 6066 3: the client's server_name picks the certificate.  An
 * unknown name gets the default, without an alert: the client decides
 * whether it will take it. */
static int
tls_servername_cb(SSL *ssl, int *alert, void *context)
{
	const struct tls_server *server = context;
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (host == NULL)
		return SSL_TLSEXT_ERR_OK;
	SSL_CTX *ctx = server->certs[tls_server_pick(server, host)].ctx;
	if (ctx != SSL_get_SSL_CTX(ssl) && SSL_set_SSL_CTX(ssl, ctx) == NULL) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* RFC 7301 3.2: select our protocol, or refuse a client that offers
 * only others with no_application_protocol, so that a connection meant
 * for another protocol is never answered as ours (ALPACA).  A client
 * that offers no ALPN never gets here. */
static int
tls_alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *out_len,
            const unsigned char *in, unsigned int in_len, void *context)
{
	const struct tls_server *server = context;
	unsigned int pos = 0;
	while (pos < in_len) {
		unsigned int len = in[pos++];
		if (len > in_len - pos)
			break;
		if (len == server->alpn_len &&
		    memcmp(in + pos, server->alpn, len) == 0) {
			*out = in + pos;
			*out_len = (unsigned char)len;
			return SSL_TLSEXT_ERR_OK;
		}
		pos += len;
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* RFC 5077 4: tickets are AES-256-CBC with HMAC-SHA256 under the shared
 * key, named by its first 16 bytes; one under another name (another
 * key) gets a full handshake.  OpenSSL calls this on the connection's
 * first SSL_CTX, whichever SNI picked. */
static int
tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
              EVP_CIPHER_CTX *cipher, EVP_MAC_CTX *mac, int encrypt)
{
	struct tls_conn *conn = SSL_get_app_data(ssl);
	unsigned char *key = conn->server->ticket_key;
	unsigned char *hmac_key = key + TICKET_NAME_LEN;
	unsigned char *aes_key = hmac_key + TICKET_HMAC_LEN;
	const EVP_CIPHER *aes = EVP_aes_256_cbc();
	if (encrypt) {
		memcpy(name, key, TICKET_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1)
			return -1;
	} else if (memcmp(name, key, TICKET_NAME_LEN) != 0) {
		return 0;
	}
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, hmac_key,
	                                      TICKET_HMAC_LEN),
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	if (EVP_MAC_CTX_set_params(mac, params) != 1 ||
	    EVP_CipherInit_ex(cipher, aes, NULL, aes_key, iv, encrypt) != 1)
		return -1;
	/* 2 on decryption: the ticket is good, and a fresh one is sent.
	 * TLS 1.3 clients use each ticket once (RFC 8446 C.4), so without
	 * renewal every other reconnect would be a full handshake. */
	return encrypt ? 1 : 2;
}

/* A certificate that does not verify still lets the handshake go on:
 * EXTERNAL is optional, the other mechanisms remain, and
 * tls_conn_client_user() checks SSL_get_verify_result(). */
static int
tls_verify_cb(int preverify_ok, X509_STORE_CTX *store)
{
	return 1;
}

/*
 * The session id context names what a session was made under.  OpenSSL
 * resumes only sessions of the same context, and wants one whenever it
 * verifies clients, so that a session verified against another CA is
 * never resumed as verified (SSL_CTX_set_session_id_context(3)).  Every
 * tls_server with the same client CA has the same one.
 */
static void
tls_session_context(const struct tls_settings *settings,
                    unsigned char out[SSL_MAX_SID_CTX_LENGTH])
{
	static const char label[] = "casella tls session";
	static_assert(SSL_MAX_SID_CTX_LENGTH == 32, "a SHA-256 digest fits");
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(md, label, sizeof(label)) != 1 ||
	    EVP_DigestUpdate(md, settings->client_ca,
	                     settings->client_ca == NULL
	                         ? 0
	                         : settings->client_ca_len) != 1 ||
	    EVP_DigestFinal_ex(md, out, &len) != 1)
		fatal("TLS: SHA-256: %s", tls_openssl_reason("failed"));
	EVP_MD_CTX_free(md);
}

/* Every SSL_CTX alike, SNI's included.  RFC 8446 4.6.1: one TLS 1.3
 * ticket per handshake is enough, since each resumption brings a fresh
 * one; no early data, so no anti-replay state (RFC 8446 8). */
static bool
tls_ctx_setup(SSL_CTX *ctx, struct tls_server *server,
              const unsigned char *session_context)
{
	SSL_CTX_set_options(ctx, TLS_OPTIONS);
	SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_mode(ctx, TLS_MODES);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_tlsext_servername_callback(ctx, tls_servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, server);
	if (server->alpn_len > 0)
		SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_cb, server);
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	       SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
	       SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS) == 1 &&
	       SSL_CTX_set_num_tickets(ctx, 1) == 1 &&
	       SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, tls_ticket_cb) == 1 &&
	       SSL_CTX_set_session_id_context(ctx, session_context,
	                                      SSL_MAX_SID_CTX_LENGTH) == 1;
}

/* One SSL_CTX for settings->certs[index]; NULL or the error. */
static const char *
tls_server_add_cert(struct tls_server *server, const struct tls_cert_pem *pem,
                    const unsigned char *session_context)
{
	size_t index = server->cert_count;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL)
		return tls_cert_error(index, "SSL_CTX_new failed");
	struct tls_cert *cert = &server->certs[server->cert_count++];
	cert->ctx = ctx;
	const char *what = NULL;
	if (!tls_ctx_setup(ctx, server, session_context))
		what = "TLS settings refused";
	if (what == NULL)
		what = tls_load_chain(ctx, pem);
	if (what == NULL)
		what = tls_load_key(ctx, pem);
	if (what != NULL)
		return tls_cert_error(index, what);
	tls_cert_names(cert, SSL_CTX_get0_certificate(ctx));
	return NULL;
}

/* Every certificate of a PEM text; NULL if there is none or one is
 * broken. */
static x509_list *
tls_read_certs(const char *pem, size_t len)
{
	BIO *bio = tls_pem_bio(pem, len);
	x509_list *certs = bio != NULL ? sk_X509_new_null() : NULL;
	X509 *cert;
	while (certs != NULL && (cert = tls_read_cert(bio)) != NULL) {
		if (sk_X509_push(certs, cert) == 0) {
			X509_free(cert);
			break;
		}
	}
	BIO_free(bio);
	if (certs == NULL || sk_X509_num(certs) == 0 || !tls_pem_at_end()) {
		sk_X509_pop_free(certs, X509_free);
		return NULL;
	}
	return certs;
}

/* RFC 8446 4.3.2 (RFC 5246 7.4.4 alike): ask for a client certificate,
 * naming the CAs we accept, but do not insist on one. */
static bool
tls_ctx_verify_clients(SSL_CTX *ctx, X509_STORE *store, x509_list *cas)
{
	SSL_CTX_set1_cert_store(ctx, store);
	for (int i = 0; i < sk_X509_num(cas); i++) {
		if (SSL_CTX_add_client_CA(ctx, sk_X509_value(cas, i)) != 1)
			return false;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, tls_verify_cb);
	return true;
}

static bool
tls_store_add(X509_STORE *store, x509_list *cas)
{
	for (int i = 0; i < sk_X509_num(cas); i++) {
		if (X509_STORE_add_cert(store, sk_X509_value(cas, i)) != 1)
			return false;
	}
	return true;
}

/* The client CAs go into one X509_STORE that every SSL_CTX shares,
 * since a connection verifies with the one SNI picked. */
static const char *
tls_server_client_ca(struct tls_server *server,
                     const struct tls_settings *settings)
{
	x509_list *cas =
	    tls_read_certs(settings->client_ca, settings->client_ca_len);
	X509_STORE *store = cas != NULL ? X509_STORE_new() : NULL;
	bool ok = store != NULL && tls_store_add(store, cas);
	for (size_t i = 0; ok && i < server->cert_count; i++)
		ok = tls_ctx_verify_clients(server->certs[i].ctx, store, cas);
	X509_STORE_free(store);
	sk_X509_pop_free(cas, X509_free);
	server->verify_clients = ok;
	if (ok)
		return NULL;
	return tls_config_error(cas == NULL ? "TLS client CA: no certificate"
	                                    : "TLS client CA: refused");
}

static const char *
tls_settings_check(const struct tls_settings *settings)
{
	if (settings->cert_count == 0)
		return "TLS: no certificate";
	if (settings->cert_count > TLS_MAX_CERTS)
		return "TLS: too many certificates";
	/* RFC 7301 3.1: a protocol name is 1 to 255 bytes. */
	if (settings->alpn != NULL &&
	    (settings->alpn[0] == '\0' || strlen(settings->alpn) > 255))
		return "TLS: bad ALPN protocol name";
	return NULL;
}

/* The settings a tls_server keeps: it may outlive them. */
static struct tls_server *
tls_server_new(const struct tls_settings *settings)
{
	struct tls_server *server = xcalloc(1, sizeof(*server));
	server->refcount = 1;
	memcpy(server->ticket_key, settings->ticket_key, TLS_TICKET_KEY_LEN);
	if (settings->alpn != NULL) {
		server->alpn_len = strlen(settings->alpn);
		memcpy(server->alpn, settings->alpn, server->alpn_len);
	}
	server->client_user = settings->client_user;
	return server;
}

struct tls_server *
tls_server_create(const struct tls_settings *settings, const char **error_r)
{
	const char *error = tls_settings_check(settings);
	if (error != NULL) {
		*error_r = error;
		return NULL;
	}
	struct tls_server *server = tls_server_new(settings);
	unsigned char session_context[SSL_MAX_SID_CTX_LENGTH];
	ERR_clear_error();
	tls_session_context(settings, session_context);
	for (size_t i = 0; error == NULL && i < settings->cert_count; i++)
		error = tls_server_add_cert(server, &settings->certs[i],
		                            session_context);
	if (error == NULL && settings->client_ca != NULL)
		error = tls_server_client_ca(server, settings);
	if (error != NULL) {
		tls_server_unref(&server);
		*error_r = error;
	}
	return server;
}

void
tls_server_unref(struct tls_server **_server)
{
	struct tls_server *server = *_server;
	*_server = NULL;
	if (server == NULL || --server->refcount > 0)
		return;
	for (size_t i = 0; i < server->cert_count; i++) {
		struct tls_cert *cert = &server->certs[i];
		SSL_CTX_free(cert->ctx);
		for (size_t j = 0; j < cert->name_count; j++)
			free(cert->names[j]);
		free(cert->names);
	}
	secure_zero(server->ticket_key, sizeof(server->ticket_key));
	free(server);
}

struct tls_conn *
tls_conn_create(struct tls_server *server, int fd)
{
	ERR_clear_error();
	SSL *ssl = SSL_new(server->certs[0].ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
		fatal("TLS: SSL_new: %s", tls_openssl_reason("failed"));
	struct tls_conn *conn = xcalloc(1, sizeof(*conn));
	conn->server = server;
	conn->ssl = ssl;
	server->refcount++;
	SSL_set_app_data(ssl, conn);
	SSL_set_mode(ssl, TLS_MODES);
	SSL_set_accept_state(ssl);
	return conn;
}

void
tls_conn_free(struct tls_conn **_conn)
{
	struct tls_conn *conn = *_conn;
	*_conn = NULL;
	if (conn == NULL)
		return;
	SSL_free(conn->ssl);
	tls_server_unref(&conn->server);
	free(conn);
}

/* OpenSSL 3 reports an EOF without close_notify as this error. */
static bool
tls_error_is_eof(void)
{
	unsigned long code = ERR_peek_error();
	return ERR_GET_LIB(code) == ERR_LIB_SSL &&
	       ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

/* The result of a call that returned ret (SSL_get_error(3)); saved_errno
 * is errno as the call left it, zero before it. */
static enum tls_io
tls_io_result(struct tls_conn *conn, int ret, int saved_errno)
{
	switch (SSL_get_error(conn->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return TLS_IO_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_IO_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_IO_CLOSED; /* close_notify (RFC 8446 6.1) */
	case SSL_ERROR_SYSCALL:
		conn->failed = true;
		return saved_errno == 0 ? TLS_IO_CLOSED : TLS_IO_ERROR;
	case SSL_ERROR_SSL:
		conn->failed = true;
		return tls_error_is_eof() ? TLS_IO_CLOSED : TLS_IO_ERROR;
	default:
		conn->failed = true;
		return TLS_IO_ERROR;
	}
}

/* Why a handshake ended: OpenSSL's first error ("wrong version number",
 * "no shared cipher", "http request") or the socket's. */
static const char *
tls_handshake_reason(enum tls_io io, int saved_errno)
{
	if (ERR_peek_error() != 0)
		return tls_openssl_reason("handshake failed");
	if (saved_errno != 0)
		return strerror(saved_errno);
	return io == TLS_IO_CLOSED ? "connection closed during handshake"
	                           : "handshake failed";
}

enum tls_io
tls_conn_handshake(struct tls_conn *conn, const char **error_r)
{
	ERR_clear_error();
	errno = 0;
	int ret = SSL_do_handshake(conn->ssl);
	int saved_errno = errno;
	if (ret == 1)
		return TLS_IO_OK;
	enum tls_io io = tls_io_result(conn, ret, saved_errno);
	if (io == TLS_IO_ERROR || io == TLS_IO_CLOSED)
		*error_r = tls_handshake_reason(io, saved_errno);
	ERR_clear_error();
	return io;
}

ssize_t
tls_conn_read(struct tls_conn *conn, void *buf, size_t len)
{
	i_assert(len > 0);
	size_t done = 0;
	ERR_clear_error();
	errno = 0;
	if (SSL_read_ex(conn->ssl, buf, len < SSIZE_MAX ? len : SSIZE_MAX,
	                &done) == 1)
		return (ssize_t)done;
	enum tls_io io = tls_io_result(conn, 0, errno);
	ERR_clear_error();
	return io;
}

ssize_t
tls_conn_write(struct tls_conn *conn, const void *buf, size_t len)
{
	i_assert(len > 0);
	size_t done = 0;
	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(conn->ssl, buf, len < SSIZE_MAX ? len : SSIZE_MAX,
	                 &done) == 1)
		return (ssize_t)done;
	enum tls_io io = tls_io_result(conn, 0, errno);
	ERR_clear_error();
	return io;
}

bool
tls_conn_pending(const struct tls_conn *conn)
{
	return SSL_pending(conn->ssl) > 0;
}

void
tls_conn_shutdown(struct tls_conn *conn)
{
	/* SSL_shutdown(3): not after a fatal error, nor before the
	 * handshake is done.  Whether close_notify went out is not
	 * awaited (RFC 8446 6.1 lets us close at once). */
	if (conn->failed || !SSL_is_init_finished(conn->ssl))
		return;
	ERR_clear_error();
	(void)SSL_shutdown(conn->ssl);
	ERR_clear_error();
}

const char *
tls_conn_version(const struct tls_conn *conn)
{
	return SSL_get_version(conn->ssl);
}

const char *
tls_conn_cipher(const struct tls_conn *conn)
{
	return SSL_get_cipher_name(conn->ssl);
}

bool
tls_conn_resumed(const struct tls_conn *conn)
{
	return SSL_session_reused(conn->ssl) == 1;
}

/* RFC 9266 2: tls-exporter, which Casella offers for TLS 1.3 only. */
size_t
tls_conn_cb_exporter(struct tls_conn *conn, unsigned char out[64])
{
	static_assert(CB_EXPORTER_LEN <= CB_MAX_LEN, "fits out");
	if (!SSL_is_init_finished(conn->ssl) ||
	    SSL_version(conn->ssl) != TLS1_3_VERSION)
		return 0;
	ERR_clear_error();
	if (SSL_export_keying_material(
	        conn->ssl, out, CB_EXPORTER_LEN, CB_EXPORTER_LABEL,
	        strlen(CB_EXPORTER_LABEL), NULL, 0, 0) != 1) {
		ERR_clear_error();
		return 0;
	}
	return CB_EXPORTER_LEN;
}

/* RFC 5929 4.1: our certificate hashed with its signature's hash
 * function, SHA-256 for MD5 and SHA-1; undefined for signatures with no
 * single hash function (Ed25519), where this returns 0. */
size_t
tls_conn_cb_server_end_point(struct tls_conn *conn, unsigned char out[64])
{
	X509 *cert = SSL_get_certificate(conn->ssl);
	int md_nid = NID_undef;
	if (cert == NULL ||
	    X509_get_signature_info(cert, &md_nid, NULL, NULL, NULL) != 1)
		md_nid = NID_undef;
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	const EVP_MD *md =
	    md_nid == NID_undef ? NULL : EVP_get_digestbynid(md_nid);
	unsigned int len = 0;
	if (md == NULL || EVP_MD_get_size(md) > CB_MAX_LEN ||
	    X509_digest(cert, md, out, &len) != 1)
		len = 0;
	ERR_clear_error();
	return len;
}

/* RFC 5929 3.1: the first Finished message of the latest handshake,
 * which is the client's in a full TLS 1.2 handshake and ours in an
 * abbreviated one (RFC 5246 7.3).  TLS 1.3 has no tls-unique (RFC 8446
 * C.5). */
size_t
tls_conn_cb_unique(struct tls_conn *conn, unsigned char out[64])
{
	if (!SSL_is_init_finished(conn->ssl) ||
	    SSL_version(conn->ssl) != TLS1_2_VERSION)
		return 0;
	size_t len = SSL_session_reused(conn->ssl)
	                 ? SSL_get_finished(conn->ssl, out, CB_MAX_LEN)
	                 : SSL_get_peer_finished(conn->ssl, out, CB_MAX_LEN);
	return len <= CB_MAX_LEN ? len : 0;
}

/* Copies a name's value if it is printable ASCII and fits. */
static bool
tls_copy_user(const ASN1_STRING *value, char *user_r, size_t size)
{
	unsigned char *utf8 = NULL;
	int len = value == NULL ? -1 : ASN1_STRING_to_UTF8(&utf8, value);
	bool ok = len > 0 && (size_t)len < size &&
	          tls_printable_ascii(utf8, (size_t)len);
	if (ok) {
		memcpy(user_r, utf8, (size_t)len);
		user_r[len] = '\0';
	}
	OPENSSL_free(utf8);
	return ok;
}

/* The subject's one commonName; a subject with several names nobody. */
static bool
tls_cert_cn(X509 *cert, char *user_r, size_t size)
{
	const ASN1_STRING *cn;
	return tls_subject_count(cert, NID_commonName, &cn) == 1 &&
	       tls_copy_user(cn, user_r, size);
}

/* The subject's one emailAddress, or else the first rfc822Name of
 * subjectAltName (RFC 5280 4.1.2.6 prefers the latter; both occur). */
static bool
tls_cert_email(X509 *cert, char *user_r, size_t size)
{
	const ASN1_STRING *email;
	int count = tls_subject_count(cert, NID_pkcs9_emailAddress, &email);
	if (count > 0)
		return count == 1 && tls_copy_user(email, user_r, size);
	GENERAL_NAMES *sans =
	    X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	bool ok = false;
	for (int i = 0; i < sk_GENERAL_NAME_num(sans); i++) {
		const GENERAL_NAME *name = sk_GENERAL_NAME_value(sans, i);
		if (name->type == GEN_EMAIL) {
			ok = tls_copy_user(name->d.rfc822Name, user_r, size);
			break;
		}
	}
	GENERAL_NAMES_free(sans);
	return ok;
}

bool
tls_conn_client_user(struct tls_conn *conn, char *user_r, size_t size)
{
	X509 *cert = SSL_get0_peer_certificate(conn->ssl);
	if (!conn->server->verify_clients || cert == NULL ||
	    SSL_get_verify_result(conn->ssl) != X509_V_OK)
		return false;
	bool ok = conn->server->client_user == TLS_CLIENT_USER_CN
	              ? tls_cert_cn(cert, user_r, size)
	              : tls_cert_email(cert, user_r, size);
	ERR_clear_error();
	return ok;
}
