#ifndef CASELLA_LDA_H
#define CASELLA_LDA_H

#include <stdbool.h>
#include <stddef.h>

/*
 * `casella deliver`, the local delivery agent (an MTA's mailbox_command
 * or pipe transport, procmail-style use): one message for one user.  It
 * writes the store itself when it may (as root or as the store's owner,
 * server running or not), and otherwise hands the message to the running
 * server over LMTP, so that it works when the MTA runs it as the
 * recipient's Unix user.  Exit codes are sysexits.h's, which MTAs read:
 * EX_TEMPFAIL is retried, the others bounce.
 */

struct store;
struct str;

struct lda_request {
	const char *user;
	const char *folder; /* NULL: INBOX */
	bool strict;        /* a missing folder fails (EX_CANTCREAT) */
	const char *sender; /* -f; NULL: unknown */
	const char *lmtp;   /* the server's LMTP socket or ADDR:PORT */
};

/* Where deliver looks for the server when it cannot write the store and
 * no --lmtp is given. */
#define LDA_DEFAULT_LMTP "/run/casella/lmtp.sock"

/* The message as IMAP serves it: no mbox "From " line, CRLF line ends
 * (RFC 5322 2.1). */
void lda_canonicalize(const char *in, size_t len, struct str *out);

/* Delivers msg into the store; returns the exit code. */
int lda_deliver_store(struct store *store, const struct lda_request *req,
                      struct str *msg);
/* Delivers msg through the server at req->lmtp; returns the exit code. */
int lda_deliver_lmtp(const struct lda_request *req, struct str *msg);

#endif
