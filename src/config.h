#ifndef CASELLA_CONFIG_H
#define CASELLA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * casellad's configuration, from its flags (casellad.c).  Every process
 * role parses the same flags (the master re-executes itself for each
 * role), so each sees the same configuration.
 */

#include "lmtp/delivery.h"
#include "net/cidr.h"

#define SERVER_MAX_LISTEN  16
#define SERVER_MAX_CERTS   16
#define SERVER_MAX_TRUSTED 16

struct listen_spec {
	char host[64]; /* numeric IPv4 or IPv6 address */
	uint16_t port;
	bool tls; /* implicit TLS (--tls-listen, port 993) */
};

/* An LMTP listener: TCP, or a unix socket (unix:PATH). */
struct lmtp_listen_spec {
	bool is_unix;
	char path[108]; /* sizeof(sun_path) */
	struct listen_spec inet;
};

/* Where a password may cross the network in clear (LOGIN, PLAIN). */
enum plaintext_auth {
	PLAINTEXT_AUTH_LOOPBACK, /* over TLS, or from 127.0.0.0/8 and ::1 */
	PLAINTEXT_AUTH_ALWAYS,
	PLAINTEXT_AUTH_NEVER, /* over TLS only */
};

struct server_config {
	const char *data_dir;
	struct listen_spec listen[SERVER_MAX_LISTEN];
	size_t listen_count;
	unsigned worker_count;       /* threads; default: one per core */
	unsigned login_timeout_s;    /* before authentication */
	unsigned idle_timeout_s;     /* after; RFC 9051 5.4: >= 30 min */
	unsigned idle_keepalive_s;   /* "* OK Still here" in IDLE; 0: off */
	unsigned max_clients;        /* per server; refuse above */
	unsigned max_preauth_per_ip; /* connections not logged in yet */
	unsigned max_per_user;       /* logged-in sessions of one user */

	/* Processes (docs/security.md). */
	const char *user;       /* runs the mail and auth processes */
	const char *login_user; /* runs the login processes */
	unsigned login_processes;

	/* TLS: certificate and key files, in pairs (SNI picks one). */
	const char *tls_cert[SERVER_MAX_CERTS];
	const char *tls_key[SERVER_MAX_CERTS];
	size_t tls_cert_count, tls_key_count;
	const char *tls_client_ca;  /* verify client certificates (EXTERNAL) */
	bool tls_client_user_email; /* map by email, not commonName */
	enum plaintext_auth plaintext_auth;
	/* Load balancers that send a PROXY header (haproxy
	 * proxy-protocol.txt); a connection from them must. */
	struct cidr proxy_trusted[SERVER_MAX_TRUSTED];
	size_t proxy_trusted_count;

	/* Delivery (the LMTP process). */
	struct lmtp_listen_spec lmtp_listen[SERVER_MAX_LISTEN];
	size_t lmtp_listen_count;
	unsigned lmtp_threads;         /* event loops of the LMTP process */
	unsigned lmtp_socket_mode;     /* of unix sockets, e.g. 0666 */
	const char *lmtp_socket_group; /* their group; NULL: unchanged */
	uint64_t max_message_size;     /* SIZE; at most BLOB_MAX_SIZE */
	struct delivery_settings delivery;

	/* Authentication (the auth process). */
	unsigned auth_threads;          /* hashing threads; default cores */
	unsigned auth_failure_delay_ms; /* before every failure answer */
	unsigned auth_cache_ttl_s;      /* verified passwords; 0: off */
	const char *gssapi_host;        /* imap/HOST in the keytab; NULL: any */
	const char *oauth_jwt_key_file;
	const char *oauth_issuer;
	const char *oauth_audience;
	const char *oauth_introspect_url;
	const char *oauth_client_id;
	const char *oauth_client_secret_file; /* read at start, not argv */
	const char *oauth_user_claim;
};

#endif
