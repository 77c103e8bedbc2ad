#ifndef CASELLA_SASL_H
#define CASELLA_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/userdb.h"
#include "lib/str.h"

/*
 * The server side of SASL (RFC 4422), knowing nothing of IMAP.  The
 * protocol decodes the client's base64 and hands raw bytes to
 * sasl_step(); each step produces a challenge (raw bytes, for the
 * protocol to encode) or ends the exchange.  A mechanism is a small state
 * machine (struct sasl_mech) in its own file, sasl-*.c.
 *
 * Steps may block (a yescrypt check, an HTTP token introspection, a
 * Kerberos replay cache): the auth process runs them on its worker
 * threads, never on an event loop.  One session is used by one thread at
 * a time.
 */

/* Raw bytes of one client response, at most (a GSSAPI token with a large
 * Kerberos ticket still fits). */
#define SASL_INPUT_MAX (48 * 1024)
/* Challenges and responses per exchange, at most. */
#define SASL_MAX_STEPS 16

enum sasl_result {
	SASL_CONTINUE, /* out holds the next challenge */
	SASL_OK,       /* authenticated as s->user; out may hold final data
	                  (RFC 4422 5: additional data with success) */
	SASL_FAIL,     /* authentication failed; s->failure says how */
};

enum sasl_failure {
	SASL_FAIL_CREDENTIALS, /* wrong secret, unknown user: one answer */
	SASL_FAIL_AUTHZ,       /* authorization identity not allowed */
	SASL_FAIL_MALFORMED,   /* the client broke the mechanism's syntax */
	SASL_FAIL_CANCELLED,   /* the client aborted */
	SASL_FAIL_TEMPORARY,   /* a backend is unavailable */
};

/* Mechanism properties, for advertising and policy. */
enum sasl_mech_flags {
	/* Sends a secret that works elsewhere (password, bearer token):
	 * only over TLS, unless the operator allows it (loopback). */
	SASL_MECH_PLAINTEXT = 0x01,
	/* Needs TLS itself: channel binding, or a client certificate. */
	SASL_MECH_NEEDS_TLS = 0x02,
};

/* Server configuration the mechanisms read; owned by the auth process. */
struct sasl_settings {
	const char *hostname;    /* this server's name, for challenges */
	bool cram_md5;           /* CRAM-MD5 offered (secrets stored) */
	bool gssapi;             /* a keytab with imap/HOST is readable */
	bool external;           /* client certificates are verified */
	const char *gssapi_host; /* HOST of the service principal, or NULL
	                            for any key in the keytab */
	const char *service;     /* "imap" */
	/* OAUTHBEARER and XOAUTH2 (RFC 7628): tokens are checked by a JWT
	 * key or an RFC 7662 introspection endpoint, whichever is set. */
	const char *oauth_jwt_key_file;   /* PEM public key, or NULL */
	const char *oauth_issuer;         /* required "iss", or NULL */
	const char *oauth_audience;       /* required "aud", or NULL */
	const char *oauth_introspect_url; /* or NULL */
	const char *oauth_client_id;      /* for introspection, or NULL */
	const char *oauth_client_secret;  /* for introspection, or NULL */
	const char *oauth_user_claim;     /* claim naming the user: "sub" */
	void *oauth_state;                /* loaded key, set up by oauth.c */
};

/* What the transport knows about the connection.  Channel-binding data
 * (RFC 5929, RFC 9266) has length 0 when the connection has none. */
struct sasl_conn_info {
	bool secured;        /* TLS */
	bool trusted;        /* peer in a trusted network (loopback) */
	const char *peer_ip; /* for logs and throttling */
	uint64_t session_id; /* the protocol session, for logs */
	unsigned char cb_tls_exporter[32];
	size_t cb_tls_exporter_len; /* TLS 1.3 only */
	unsigned char cb_tls_server_end_point[64];
	size_t cb_tls_server_end_point_len;
	unsigned char cb_tls_unique[64];
	size_t cb_tls_unique_len; /* TLS 1.2 only */
	/* EXTERNAL: the user that a verified client certificate maps to
	 * (by configuration), or "" */
	char cert_user[USERDB_NAME_MAX + 1];
};

struct sasl_mech;

struct sasl_session {
	const struct sasl_mech *mech;
	const struct sasl_settings *settings;
	const struct sasl_conn_info *info;
	struct userdb *userdb;
	char user[USERDB_NAME_MAX + 1]; /* the authenticated user, once OK */
	/* The name the client gave (maybe invalid), kept when it fails:
	 * for the log (escape it) and for throttling. */
	char attempted[USERDB_NAME_MAX + 1];
	enum sasl_failure failure; /* once FAIL */
	const char *fail_reason;   /* static text for the log */
	unsigned steps;            /* sasl_step() calls so far */
	unsigned phase;            /* the mechanism's progress */
	void *mech_state;          /* the mechanism's own, or NULL */
};

struct sasl_mech {
	const char *name; /* as advertised, upper case */
	unsigned flags;   /* enum sasl_mech_flags */
	/* Whether the server can offer it at all; NULL: always. */
	bool (*available)(const struct sasl_settings *settings);
	/*
	 * One step.  The first call gets the initial response, or in NULL if
	 * the client sent none (then in_len is 0): mechanisms where the
	 * client speaks first answer that with an empty challenge.  Appends
	 * the challenge (CONTINUE) or final data (OK) to out.  On FAIL, sets
	 * s->failure and s->fail_reason (sasl_fail() does both).
	 */
	enum sasl_result (*step)(struct sasl_session *s,
	                         const unsigned char *in, size_t in_len,
	                         struct str *out);
	/* Frees and wipes mech_state; NULL if the mechanism keeps none. */
	void (*free)(struct sasl_session *s);
};

/* Every mechanism Casella knows, in the order they are advertised. */
extern const struct sasl_mech sasl_mech_plain, sasl_mech_login,
    sasl_mech_cram_md5, sasl_mech_scram_sha1, sasl_mech_scram_sha1_plus,
    sasl_mech_scram_sha256, sasl_mech_scram_sha256_plus, sasl_mech_otp,
    sasl_mech_gssapi, sasl_mech_external, sasl_mech_oauthbearer,
    sasl_mech_xoauth2;

/* Finds a mechanism by name (case-insensitive); NULL if unknown. */
const struct sasl_mech *sasl_mech_find(const char *name, size_t len);
/* The mechanism at index i of the advertised order, or NULL past the
 * end. */
const struct sasl_mech *sasl_mech_at(size_t i);

/* Whether mech may be offered on a connection: available at all, TLS if
 * it needs it, and plaintext ones only when allow_plaintext. */
bool sasl_mech_usable(const struct sasl_mech *mech,
                      const struct sasl_settings *settings, bool secured,
                      bool allow_plaintext);

void sasl_session_init(struct sasl_session *s, const struct sasl_mech *mech,
                       const struct sasl_settings *settings,
                       const struct sasl_conn_info *info,
                       struct userdb *userdb);
/* Runs one step, enforcing SASL_INPUT_MAX and SASL_MAX_STEPS. */
enum sasl_result sasl_step(struct sasl_session *s, const unsigned char *in,
                           size_t in_len, struct str *out);
void sasl_session_free(struct sasl_session *s);

/* For mechanisms: records a failure; returns SASL_FAIL. */
enum sasl_result sasl_fail(struct sasl_session *s, enum sasl_failure failure,
                           const char *reason);
/*
 * For mechanisms: sets s->user from the authentication identity after
 * checking the authorization identity (RFC 4422 3.4.1): it must be empty
 * or the same user, since Casella has no master users.  Returns false
 * (and records the failure) if either is unacceptable.
 */
bool sasl_set_user(struct sasl_session *s, const char *authcid,
                   size_t authcid_len, const char *authzid, size_t authzid_len);
/* For mechanisms: len bytes from a cryptographic random source (nonces,
 * challenges).  Tests may replace the source to replay RFC examples. */
void sasl_random(void *buf, size_t len);
typedef void sasl_random_func(void *buf, size_t len);
void sasl_random_set_hook(sasl_random_func *func);
/* True for 1..USERDB_NAME_MAX bytes of [A-Za-z0-9._@+-], not starting
 * with '.': the user names the store accepts. */
bool sasl_user_name_valid(const char *name, size_t len);

#endif
