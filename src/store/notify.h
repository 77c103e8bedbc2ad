#ifndef CASELLA_NOTIFY_H
#define CASELLA_NOTIFY_H

#include <stdint.h>

/*
 * Change notification across processes.  A running casellad binds a UNIX
 * datagram socket at DATA/notify.sock; a process that changed a mailbox
 * (`casella deliver`, another server) sends it one datagram naming the
 * mailbox, and the server tells the sessions that have it selected.
 */
#define NOTIFY_SOCKET_NAME "notify.sock"

/* Best effort, never blocks: no server running is not an error. */
void notify_send(const char *data_dir, int64_t mailbox_id);

/* Binds the socket (replacing a stale one); returns a non-blocking fd or
 * -1 with *error_r set. */
int notify_listen(const char *data_dir, const char **error_r);
/* Reads one datagram; returns 1 with *mailbox_id_r, 0 if none is waiting,
 * -1 on a malformed datagram (ignored by the caller). */
int notify_receive(int fd, int64_t *mailbox_id_r);

#endif
