#ifndef CASELLA_CONTROL_H
#define CASELLA_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ipc.h"

/*
 * The channel between the master and each child process (its fd 3,
 * CONTROL_FD).  At start the master sends the child its descriptors and
 * keys, then CONTROL_START; later it may send more (a restarted peer's
 * new channel).  The child trusts the master, which is root.
 */
#define CONTROL_FD 3

enum control_msg_type {
	/* master -> child: a descriptor.  u32 enum control_fd_kind, u32
	 * index (listener, worker or peer number) */
	CONTROL_MSG_FD = 1,
	/* master -> child: bytes key (the ticket key, ticket.h) */
	CONTROL_MSG_KEY = 2,
	/* master -> child: everything is sent */
	CONTROL_MSG_START = 3,
	/* master -> login, at start and on SIGHUP: one certificate.
	 *   bytes chain PEM, bytes key PEM */
	CONTROL_MSG_TLS_CERT = 4,
	/* master -> login: the certificates are all sent; build the new
	 * TLS configuration.  bytes client CA PEM (may be empty), bytes
	 * ticket key (TLS_TICKET_KEY_LEN) */
	CONTROL_MSG_TLS_END = 5,
};

enum control_fd_kind {
	CONTROL_FD_LISTEN = 1,      /* a listening socket: index = listener */
	CONTROL_FD_AUTH = 2,        /* to the auth process: index = worker */
	CONTROL_FD_AUTH_CLIENT = 3, /* auth side of a client's channel */
	CONTROL_FD_MAIL = 4,        /* login side of the handover channel */
	CONTROL_FD_HANDOVER = 5,    /* mail side of a login's handover
	                               channel: index = login process */
};

struct control_setup_ops {
	/* A descriptor arrived; the callee owns fd.  Returns 0, or -1 to
	 * refuse (the setup then fails). */
	int (*fd)(void *context, enum control_fd_kind kind, uint32_t index,
	          int fd);
	/* A key arrived; NULL if the role takes none. */
	int (*key)(void *context, const unsigned char *key, size_t len);
	/* Any other message; NULL if the role takes none.  Returns 0, or
	 * -1 to fail the setup. */
	int (*message)(void *context, struct ipc_msg *msg);
};

int control_send_fd(int sock, enum control_fd_kind kind, uint32_t index,
                    int fd);
int control_send_key(int sock, const unsigned char *key, size_t len);
int control_send_start(int sock);
/* Blocks reading setup messages until CONTROL_MSG_START.  Returns 0, or
 * -1 with *error_r. */
int control_receive_setup(int sock, const struct control_setup_ops *ops,
                          void *context, const char **error_r);

#endif
