#ifndef CASELLA_NOTIFY_H
#define CASELLA_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

/*
 * Change notification across processes.  A running casellad binds a UNIX
 * datagram socket at DATA/notify.sock; a process that changed a mailbox
 * (`casella deliver`, another server) sends it one datagram naming the
 * mailbox, and the server tells the sessions that have it selected.
 */
#define NOTIFY_SOCKET_NAME "notify.sock"

/* "Recheck every mailbox": what a sender that lost track of which
 * mailboxes it changed sends instead. */
#define NOTIFY_ALL 0

/* Never blocks.  Returns 0 if the server has it, or if no server runs
 * (nobody to tell); -1 if the server's queue was full: the caller must
 * send it again later (or NOTIFY_ALL), or sessions would miss it. */
int notify_send(const char *data_dir, int64_t mailbox_id);

/* The same for a process that sends many (the LMTP process): one socket,
 * kept open, instead of one per notice. */
struct notifier {
	int fd; /* -1 until the first send */
	bool addressable;
	struct sockaddr_un sun;
};
void notifier_init(struct notifier *n, const char *data_dir);
int notifier_send(struct notifier *n, int64_t mailbox_id);
void notifier_close(struct notifier *n);

/* Binds the socket (replacing a stale one); returns a non-blocking fd or
 * -1 with *error_r set. */
int notify_listen(const char *data_dir, const char **error_r);
/* Reads one datagram; returns 1 with *mailbox_id_r (NOTIFY_ALL or a
 * mailbox), 0 if none is waiting, -1 on a malformed datagram (ignored by
 * the caller). */
int notify_receive(int fd, int64_t *mailbox_id_r);

#endif
