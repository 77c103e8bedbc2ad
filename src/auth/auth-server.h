#ifndef CASELLA_AUTH_SERVER_H
#define CASELLA_AUTH_SERVER_H

#include "config.h"

/*
 * The auth process: the only process that reads secrets.  Login processes
 * send it SASL exchanges over their channels (auth-proto.h); it runs the
 * mechanisms on its worker threads (auth-pool.h) against the credential
 * store, throttles failures (throttle.h), and answers.  A success carries
 * a ticket (ticket.h) that the mail process checks before it serves the
 * user, so a subverted login process cannot pick whom it logs in as.
 */

/* Runs the auth process role: control is its socket to the master, which
 * first sends the channels.  Returns the exit status. */
int auth_server_main(const struct server_config *config, int control);

#endif
