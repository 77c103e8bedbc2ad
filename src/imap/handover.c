/* The login -> mail handover message; see handover.h. */
#include "imap/handover.h"

#include <string.h>

void
handover_write(struct ipc_msg *msg, const struct handover *h)
{
	ipc_begin(msg, HANDOVER_MSG_SESSION);
	ipc_put_u64(msg, h->session_id);
	ipc_put_str(msg, h->user);
	ipc_put_bytes(msg, h->ticket, h->ticket_len);
	ipc_put_str(msg, h->tag);
	ipc_put_str(msg, h->peer.name);
	ipc_put_str(msg, h->peer.ip);
	ipc_put_u8(msg, h->peer.loopback);
	ipc_put_u8(msg, h->secured);
	ipc_put_bytes(msg, h->input, h->input_len);
}

bool
handover_read(struct ipc_msg *msg, struct handover *h_r)
{
	const unsigned char *ticket;
	uint8_t loopback, secured;
	memset(h_r, 0, sizeof(*h_r));
	if (msg->type != HANDOVER_MSG_SESSION ||
	    !ipc_get_u64(msg, &h_r->session_id) ||
	    !ipc_get_str(msg, h_r->user, sizeof(h_r->user)) ||
	    !ipc_get_bytes(msg, &ticket, &h_r->ticket_len, TICKET_LEN) ||
	    !ipc_get_str(msg, h_r->tag, sizeof(h_r->tag)) ||
	    !ipc_get_str(msg, h_r->peer.name, sizeof(h_r->peer.name)) ||
	    !ipc_get_str(msg, h_r->peer.ip, sizeof(h_r->peer.ip)) ||
	    !ipc_get_u8(msg, &loopback) || !ipc_get_u8(msg, &secured) ||
	    !ipc_get_bytes(msg, &h_r->input, &h_r->input_len, IPC_MSG_MAX) ||
	    !ipc_get_end(msg))
		return false;
	memcpy(h_r->ticket, ticket, h_r->ticket_len);
	h_r->peer.loopback = loopback != 0;
	h_r->secured = secured != 0;
	return true;
}
