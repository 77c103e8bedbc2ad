#ifndef CASELLA_LMTP_CLIENT_H
#define CASELLA_LMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A blocking LMTP client for one message to one recipient: how
 * `casella deliver`, run as a user who may not write the store, hands
 * the message to the running server (RFC 2033).  It speaks Casella's
 * XCASELLA parameters (XTRACE=NO, XFOLDER=), so the message is stored
 * as deliver would store it itself.
 */

struct lmtp_client_request {
	const char *target; /* "unix:/path", "/path" or "ADDR:PORT" */
	const char *sender; /* NULL: the null path <> */
	const char *user;
	const char *folder; /* NULL: INBOX */
	bool strict;        /* no INBOX fallback */
	const char *data;   /* the message, CRLF lines */
	size_t len;
};

/* The server's last reply: code and text ("550 5.1.1 <x> User ..."). */
struct lmtp_client_reply {
	int code;
	char text[512];
};

/* Returns 0 with the final reply in *reply_r (any code), or -1 if the
 * conversation failed (*error_r says why: no server, timeout, ...). */
int lmtp_client_send(const struct lmtp_client_request *req,
                     struct lmtp_client_reply *reply_r, const char **error_r);

#endif
