#ifndef CASELLA_TLS_H
#define CASELLA_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * TLS with OpenSSL 3, for the login processes, which terminate every TLS
 * connection (docs/security.md).  Knows nothing of IMAP.
 *
 * A struct tls_server is one configuration: certificate chains and keys
 * (several, chosen by SNI; the first is the default), TLS 1.2 and 1.3
 * only with a modern cipher list, ALPN, session tickets sealed with keys
 * shared by every login process (so a phone that reconnects to another
 * process still resumes), and optionally client certificates verified
 * against a CA for SASL EXTERNAL.  Certificates and keys are given as PEM
 * text, not paths: the master reads the files (as root, again on SIGHUP)
 * and sends them, so a login process needs no file access at all.
 *
 * A reload makes a new tls_server; connections keep the one they started
 * with (OpenSSL reference-counts the SSL_CTX), so none is dropped.
 */

#define TLS_MAX_CERTS      16
#define TLS_TICKET_KEY_LEN 80 /* name 16, HMAC key 32, AES key 32 */

struct tls_cert_pem {
	const char *chain; /* PEM: the certificate, then its chain */
	size_t chain_len;
	const char *key; /* PEM private key */
	size_t key_len;
};

/* How a verified client certificate names a Casella user (EXTERNAL). */
enum tls_client_user {
	TLS_CLIENT_USER_CN,    /* the subject's commonName */
	TLS_CLIENT_USER_EMAIL, /* the subject's emailAddress, or the first
	                          rfc822Name of subjectAltName */
};

struct tls_settings {
	struct tls_cert_pem certs[TLS_MAX_CERTS];
	size_t cert_count;
	/* Sealing keys for session tickets (RFC 5077, TLS 1.3 PSK); shared
	 * by every login process. */
	unsigned char ticket_key[TLS_TICKET_KEY_LEN];
	/* PEM CA certificates for client certificates, or NULL: none are
	 * asked for. */
	const char *client_ca;
	size_t client_ca_len;
	enum tls_client_user client_user;
	/* ALPN protocol the server speaks ("imap", RFC 7301).  A client that
	 * offers ALPN without it is refused (the ALPACA cross-protocol
	 * attacks). */
	const char *alpn;
};

struct tls_server;
struct tls_conn;

/* Returns NULL with *error_r (static or thread-local text) if a
 * certificate or key does not load, or a key does not match. */
struct tls_server *tls_server_create(const struct tls_settings *settings,
                                     const char **error_r);
/* Drops this reference; connections keep theirs. */
void tls_server_unref(struct tls_server **server);

/* Results of the I/O calls below. */
enum tls_io {
	TLS_IO_OK = 0,
	TLS_IO_WANT_READ = -1,  /* wait for the socket to be readable */
	TLS_IO_WANT_WRITE = -2, /* wait for the socket to be writable */
	TLS_IO_CLOSED = -3,     /* the peer closed (close_notify or EOF) */
	TLS_IO_ERROR = -4,      /* a protocol or socket error: close */
};

/* A server-side TLS connection on a connected non-blocking socket (not
 * owned: the caller closes fd).  SSL_MODE_RELEASE_BUFFERS is on, so an
 * idle connection keeps no record buffers. */
struct tls_conn *tls_conn_create(struct tls_server *server, int fd);
void tls_conn_free(struct tls_conn **conn);

/* Runs the handshake: TLS_IO_OK once it is done, WANT_* to wait,
 * ERROR if it failed (a wrong version, no shared cipher, garbage),
 * CLOSED if the client went away first; *error_r (static text) then
 * names the reason for the log. */
enum tls_io tls_conn_handshake(struct tls_conn *conn, const char **error_r);
/* Reads up to len bytes (len > 0): > 0 bytes read, or an enum tls_io
 * value. */
ssize_t tls_conn_read(struct tls_conn *conn, void *buf, size_t len);
/* Writes up to len bytes (len > 0; partial writes happen, a record at
 * a time): > 0 bytes written, or an enum tls_io value.  After WANT_*,
 * call again with the same data. */
ssize_t tls_conn_write(struct tls_conn *conn, const void *buf, size_t len);
/* Bytes already decrypted and waiting in OpenSSL, which the socket's
 * readiness no longer shows. */
bool tls_conn_pending(const struct tls_conn *conn);
/* Sends close_notify, best effort, without waiting. */
void tls_conn_shutdown(struct tls_conn *conn);

/* After the handshake. */
/* "TLSv1.3" etc. and the cipher, for the log. */
const char *tls_conn_version(const struct tls_conn *conn);
const char *tls_conn_cipher(const struct tls_conn *conn);
bool tls_conn_resumed(const struct tls_conn *conn);
/*
 * Channel bindings: tls-exporter (RFC 9266, TLS 1.3 only: 32 bytes of
 * the "EXPORTER-Channel-Binding" exporter), tls-server-end-point (RFC
 * 5929 4: the hash of our certificate, SHA-256 for MD5/SHA-1 signed
 * ones) and tls-unique (RFC 5929 3, TLS 1.2 only: the first Finished
 * message).  Each returns its length, or 0 when the connection has none;
 * out has room for 64 bytes.
 */
size_t tls_conn_cb_exporter(struct tls_conn *conn, unsigned char out[64]);
size_t tls_conn_cb_server_end_point(struct tls_conn *conn,
                                    unsigned char out[64]);
size_t tls_conn_cb_unique(struct tls_conn *conn, unsigned char out[64]);
/*
 * The user a verified client certificate names, by the server's
 * tls_client_user rule, copied into user_r (size bytes); false if the
 * client sent none, it did not verify, or the field is missing or does
 * not fit.
 */
bool tls_conn_client_user(struct tls_conn *conn, char *user_r, size_t size);

#endif
