#ifndef CASELLA_LOGIN_H
#define CASELLA_LOGIN_H

#include <stddef.h>

#include "config.h"

struct client;

/*
 * A login process: it accepts connections, terminates TLS, speaks IMAP
 * until the client is authenticated (through the auth process), then
 * hands the session to the mail process.  It runs caged (privsep.h): it
 * can reach no file, no mail and no secret, only its sockets.  There are
 * --login-processes of them; the kernel spreads connections across them.
 */

/* Runs the role; index is this process's number (0..login_processes-1).
 * Returns the exit status. */
int login_main(const struct server_config *config, unsigned index, int control);

/* Hands an authenticated session to the mail process: returns 0 (the
 * session is gone from this process, or lives on as a TLS relay), or -1
 * if the mail process could not take it. */
int login_handover(struct client *client, const char *tag, const char *user,
                   const unsigned char *ticket, size_t ticket_len);

#endif
