#ifndef CASELLA_AUTH_PROTO_H
#define CASELLA_AUTH_PROTO_H

/*
 * The messages between a client of the auth process (a login process)
 * and the auth process, over one SOCK_SEQPACKET socket each (lib/ipc.h).
 * Fields, in order, are listed beside each type.  The auth process
 * treats every client as hostile: it checks every field, and a malformed
 * message closes that client's channel.
 *
 * The client speaks SASL (sasl.h) in raw bytes: the protocol's base64
 * framing stays in the login process.  One request id is one exchange;
 * the client picks ids, unique among its open exchanges.
 */

enum auth_msg_type {
	/* auth -> client, once when the channel opens: the mechanisms the
	 * server can offer at all.
	 *   u32 count, then count x (str name, u32 sasl_mech_flags) */
	AUTH_MSG_MECHS = 1,

	/* client -> auth: a new exchange.
	 *   u32 id, str mech, u8 has_initial_response, bytes initial,
	 *   u8 secured, u8 plaintext_allowed, u8 trusted (the peer is in a
	 *   trusted network: not throttled as an address), str peer_ip,
	 *   u64 session_id,
	 *   bytes cb_tls_exporter, bytes cb_tls_server_end_point,
	 *   bytes cb_tls_unique, str cert_user */
	AUTH_MSG_BEGIN = 2,
	/* client -> auth: the client's next response.  u32 id, bytes data */
	AUTH_MSG_CONTINUE = 3,
	/* client -> auth: the client cancelled or went away.  u32 id */
	AUTH_MSG_ABORT = 4,

	/* auth -> client: send this challenge.  u32 id, bytes data */
	AUTH_MSG_CHALLENGE = 5,
	/* auth -> client: authenticated.
	 *   u32 id, str user, bytes final_data, bytes ticket */
	AUTH_MSG_OK = 6,
	/* auth -> client: not authenticated.  u32 id, u8 enum sasl_failure */
	AUTH_MSG_FAIL = 7,
};

/* Open exchanges per client channel, at most: one login process holds
 * no more connections in all.  Past it a BEGIN fails, temporarily. */
#define AUTH_MAX_REQUESTS 65536

#endif
