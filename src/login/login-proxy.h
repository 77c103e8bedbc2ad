#ifndef CASELLA_LOGIN_PROXY_H
#define CASELLA_LOGIN_PROXY_H

#include <stdint.h>

struct conn;

/*
 * After the handover of a TLS session, the login process keeps the TLS
 * connection and relays its plaintext to and from the mail process over
 * a socketpair, as Dovecot's login processes do.  Back-pressure holds on
 * both sides: a side's input pauses while the other side has more than
 * CONN_OUTPUT_HIGH waiting.  When one side closes, the other is closed
 * once what it has queued is written (so the mail process's BYE reaches
 * the client).  There is no timeout here: the mail process has the idle
 * timeout, and closes its end when it fires.
 */
void login_proxy_start(struct conn *client, struct conn *mail,
                       uint64_t session_id);

#endif
