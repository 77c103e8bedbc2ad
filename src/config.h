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

#define SERVER_MAX_LISTEN 16

struct listen_spec {
	char host[64]; /* numeric IPv4 or IPv6 address */
	uint16_t port;
};

struct server_config {
	const char *data_dir;
	struct listen_spec listen[SERVER_MAX_LISTEN];
	size_t listen_count;
	unsigned worker_count;    /* threads; default: one per core */
	unsigned login_timeout_s; /* before authentication */
	unsigned idle_timeout_s;  /* after; RFC 9051 5.4: >= 30 min */
	unsigned max_clients;     /* per server; refuse above */

	/* Authentication (the auth process). */
	unsigned auth_threads;          /* hashing threads; default cores */
	unsigned auth_failure_delay_ms; /* before every failure answer */
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
