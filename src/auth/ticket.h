#ifndef CASELLA_TICKET_H
#define CASELLA_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Login tickets.  When the auth process authenticates a user for a
 * session, it gives the login process a ticket: HMAC-SHA256, under a key
 * that only the master, the auth process and the mail process hold, of
 * the user name, the session id and an expiry, with a random nonce.  The
 * login process hands the session over to the mail process with the
 * ticket; the mail process serves the user only if the ticket checks
 * out, has not expired and was not used before.  So a subverted login
 * process (the one that parses untrusted input before login) cannot log
 * a connection in as a user of its choosing.
 */

#define TICKET_KEY_LEN   32
#define TICKET_NONCE_LEN 16
#define TICKET_LEN       (TICKET_NONCE_LEN + 8 + 32) /* nonce, expiry, MAC */
#define TICKET_TTL_MS    30000

/* Makes a ticket for user and session, valid TICKET_TTL_MS. */
void ticket_make(const unsigned char key[TICKET_KEY_LEN], const char *user,
                 uint64_t session_id, unsigned char ticket_r[TICKET_LEN]);
/* Checks a ticket's MAC and expiry against user and session; copies its
 * nonce out for the caller's replay check. */
bool ticket_check(const unsigned char key[TICKET_KEY_LEN], const char *user,
                  uint64_t session_id, const unsigned char *ticket, size_t len,
                  unsigned char nonce_r[TICKET_NONCE_LEN]);

/* A record of used nonces, kept TICKET_TTL_MS; thread-safe. */
struct ticket_replay;
struct ticket_replay *ticket_replay_create(void);
void ticket_replay_destroy(struct ticket_replay **replay);
/* Records nonce; false if it was used before (within the TTL). */
bool ticket_replay_use(struct ticket_replay *replay,
                       const unsigned char nonce[TICKET_NONCE_LEN]);

#endif
