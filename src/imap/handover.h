#ifndef CASELLA_HANDOVER_H
#define CASELLA_HANDOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/ticket.h"
#include "lib/ipc.h"
#include "net/conn.h"

/*
 * Handing an authenticated IMAP session from a login process to the mail
 * process: one message (lib/ipc.h) with the connection's socket attached
 * (for a TLS session, a socketpair whose other end the login process
 * keeps, relaying the decrypted stream).  The mail process answers the
 * LOGIN or AUTHENTICATE command itself, once it has checked the ticket.
 */

enum handover_msg_type {
	/* login -> mail, with the socket:
	 *   u64 session_id, str user, bytes ticket, str tag,
	 *   str peer_name, str peer_ip, u8 peer_loopback, u8 secured,
	 *   bytes input (read but not yet parsed) */
	HANDOVER_MSG_SESSION = 1,
};

#define HANDOVER_TAG_MAX 256

struct handover {
	uint64_t session_id;
	char user[65];
	unsigned char ticket[TICKET_LEN];
	size_t ticket_len;
	char tag[HANDOVER_TAG_MAX];
	struct conn_peer peer;
	bool secured;
	const unsigned char *input; /* points into the message */
	size_t input_len;
};

void handover_write(struct ipc_msg *msg, const struct handover *h);
/* Parses a received message; false if it is malformed. */
bool handover_read(struct ipc_msg *msg, struct handover *h_r);

#endif
