#ifndef CASELLA_AUTH_CLIENT_H
#define CASELLA_AUTH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/sasl.h"
#include "net/loop.h"

/*
 * A login process's channel to the auth process (auth/auth-proto.h).
 * Sessions start SASL exchanges on it and get each answer through a
 * callback, run from the event loop, never from inside begin/continue.
 * One per event loop; not thread-safe.
 */

enum auth_reply_status {
	AUTH_REPLY_CONTINUE, /* send data as a challenge */
	AUTH_REPLY_OK,       /* authenticated as user */
	AUTH_REPLY_FAIL,     /* not authenticated; failure says why */
};

struct auth_reply {
	enum auth_reply_status status;
	const unsigned char *data; /* challenge or final data */
	size_t data_len;
	const char *user;            /* OK */
	const unsigned char *ticket; /* OK: for the mail process */
	size_t ticket_len;
	enum sasl_failure failure; /* FAIL */
};

/* The reply and its pointers are valid during the call only.  After an
 * OK or FAIL the request is gone. */
typedef void auth_reply_func(void *context, const struct auth_reply *reply);

struct auth_client;
struct auth_request;

/* Takes ownership of fd, the channel's socket. */
struct auth_client *auth_client_create(struct loop *loop, int fd);
/* Pending requests are dropped without callbacks. */
void auth_client_destroy(struct auth_client **client);

/* Waits (blocking) up to timeout_ms for the mechanism list, which the
 * auth process sends first: a login process greets nobody before it
 * knows what to offer.  Returns false on timeout or a broken channel. */
bool auth_client_wait_ready(struct auth_client *client, int timeout_ms);
/* Whether the mechanism list has arrived (the channel works). */
bool auth_client_ready(const struct auth_client *client);
/* The i-th mechanism the auth process can offer, or NULL past the end. */
const char *auth_client_mech(const struct auth_client *client, size_t i,
                             unsigned *flags_r);

/*
 * Starts an exchange; initial may be NULL (no initial response).
 * Returns NULL if the auth process is not reachable now.
 */
struct auth_request *
auth_client_begin(struct auth_client *client, const char *mech,
                  const unsigned char *initial, size_t initial_len,
                  const struct sasl_conn_info *info, bool plaintext_allowed,
                  auth_reply_func *callback, void *context);
/* The client's response to a challenge. */
void auth_request_continue(struct auth_request *request,
                           const unsigned char *data, size_t len);
/* Gives up (client cancelled or gone); no callback follows. */
void auth_request_abort(struct auth_request **request);

#endif
