#ifndef CASELLA_IPC_H
#define CASELLA_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Typed messages between casellad's processes, over SOCK_SEQPACKET
 * sockets (one datagram per message, boundaries kept, ordered).  A
 * message is a u32 type and a sequence of fields; readers take fields in
 * order with ipc_get_*(), each of which fails on a short message, and
 * ipc_get_end() fails on trailing bytes (as OpenSMTPD's mproc m_get_*()
 * and m_end() do).  A process never trusts a peer that is less
 * privileged than itself to send well-formed messages: every getter
 * checks bounds, and a failed read ends that peer's channel.
 */

#define IPC_MSG_MAX (96 * 1024) /* one message, at most */

struct ipc_msg {
	uint32_t type;
	unsigned char data[IPC_MSG_MAX];
	size_t len;  /* bytes in data, after the type */
	size_t pos;  /* read position */
	bool failed; /* a put overflowed or a get ran short */
	int fd;      /* passed descriptor, or -1 */
};

void ipc_begin(struct ipc_msg *msg, uint32_t type);
void ipc_put_u8(struct ipc_msg *msg, uint8_t v);
void ipc_put_u32(struct ipc_msg *msg, uint32_t v);
void ipc_put_u64(struct ipc_msg *msg, uint64_t v);
/* A length-prefixed byte string (data may be NULL when len is 0). */
void ipc_put_bytes(struct ipc_msg *msg, const void *data, size_t len);
/* A C string, as bytes without the NUL. */
void ipc_put_str(struct ipc_msg *msg, const char *s);

/*
 * Sends msg, passing fd with it unless fd is -1.  Returns 0, or -1 with
 * errno (EAGAIN if the socket is full; callers with a non-blocking
 * socket decide what that means).
 */
int ipc_send(int sock, const struct ipc_msg *msg, int fd);
/*
 * Receives one message into msg.  Returns 1, 0 if none is waiting (a
 * non-blocking socket), or -1 on EOF, error, or a malformed message
 * (errno EPROTO); a passed descriptor lands in msg->fd (close it if you
 * don't keep it).
 */
int ipc_recv(int sock, struct ipc_msg *msg);

/*
 * Messages that found the socket full (a burst of logins outruns the
 * peer for a moment) wait here, in order, up to IPC_QUEUE_MAX of them:
 * the owner sends through ipc_queue_send() and, while
 * ipc_queue_pending(), waits for EPOLLOUT and calls ipc_queue_flush().
 * Messages with descriptors are never queued.
 */
#define IPC_QUEUE_MAX 65536

struct ipc_queued;
struct ipc_queue {
	struct ipc_queued *head, *tail;
	size_t count;
};

/* Sends msg, or queues a copy behind what already waits.  Returns 0,
 * or -1 with errno (EPIPE, or ENOBUFS when the queue is full). */
int ipc_queue_send(int sock, struct ipc_queue *q, const struct ipc_msg *msg);
/* Sends what waits.  Returns 1 when the queue is empty, 0 when the
 * socket is full again, -1 on an error. */
int ipc_queue_flush(int sock, struct ipc_queue *q);
static inline bool
ipc_queue_pending(const struct ipc_queue *q)
{
	return q->head != NULL;
}
void ipc_queue_clear(struct ipc_queue *q);

bool ipc_get_u8(struct ipc_msg *msg, uint8_t *v_r);
bool ipc_get_u32(struct ipc_msg *msg, uint32_t *v_r);
bool ipc_get_u64(struct ipc_msg *msg, uint64_t *v_r);
/* Points into msg; len at most max (else the get fails). */
bool ipc_get_bytes(struct ipc_msg *msg, const unsigned char **data_r,
                   size_t *len_r, size_t max);
/* Copies a string into buf (size bytes, with NUL); fails if it does not
 * fit or holds a NUL. */
bool ipc_get_str(struct ipc_msg *msg, char *buf, size_t size);
/* True if every field was read and none failed. */
bool ipc_get_end(const struct ipc_msg *msg);

#endif
