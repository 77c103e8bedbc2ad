#include "ipc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

void
ipc_begin(struct ipc_msg *msg, uint32_t type)
{
	msg->type = type;
	msg->len = 0;
	msg->pos = 0;
	msg->failed = false;
	msg->fd = -1;
}

static void
ipc_put(struct ipc_msg *msg, const void *data, size_t len)
{
	if (msg->failed || len > sizeof(msg->data) - msg->len) {
		msg->failed = true;
		return;
	}
	if (len > 0)
		memcpy(msg->data + msg->len, data, len);
	msg->len += len;
}

void
ipc_put_u8(struct ipc_msg *msg, uint8_t v)
{
	ipc_put(msg, &v, 1);
}

void
ipc_put_u32(struct ipc_msg *msg, uint32_t v)
{
	ipc_put(msg, &v, sizeof(v));
}

void
ipc_put_u64(struct ipc_msg *msg, uint64_t v)
{
	ipc_put(msg, &v, sizeof(v));
}

void
ipc_put_bytes(struct ipc_msg *msg, const void *data, size_t len)
{
	if (len > UINT32_MAX) {
		msg->failed = true;
		return;
	}
	ipc_put_u32(msg, (uint32_t)len);
	ipc_put(msg, data, len);
}

void
ipc_put_str(struct ipc_msg *msg, const char *s)
{
	ipc_put_bytes(msg, s, strlen(s));
}

int
ipc_send(int sock, const struct ipc_msg *msg, int fd)
{
	if (msg->failed) {
		errno = EMSGSIZE;
		return -1;
	}
	struct iovec iov[2] = {
	    {.iov_base = (void *)&msg->type, .iov_len = sizeof(msg->type)},
	    {.iov_base = (void *)msg->data, .iov_len = msg->len},
	};
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	if (fd >= 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t n;
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

/* Takes a passed descriptor out of the control data, closing any extra
 * ones a misbehaving peer sent. */
static int
ipc_take_fd(struct msghdr *mh)
{
	int fd = -1;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL;
	     c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int got;
			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(int));
			if (fd < 0)
				fd = got;
			else
				close(got);
		}
	}
	return fd;
}

int
ipc_recv(int sock, struct ipc_msg *msg)
{
	ipc_begin(msg, 0);
	struct iovec iov[2] = {
	    {.iov_base = &msg->type, .iov_len = sizeof(msg->type)},
	    {.iov_base = msg->data, .iov_len = sizeof(msg->data)},
	};
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct msghdr mh = {.msg_iov = iov,
	                    .msg_iovlen = 2,
	                    .msg_control = control.buf,
	                    .msg_controllen = sizeof(control.buf)};
	ssize_t n;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	msg->fd = ipc_take_fd(&mh);
	bool malformed = (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	                 (size_t)n < sizeof(msg->type);
	if (n == 0 || malformed) {
		if (msg->fd >= 0)
			close(msg->fd);
		msg->fd = -1;
		errno = n == 0 ? ECONNRESET : EPROTO;
		return -1;
	}
	msg->len = (size_t)n - sizeof(msg->type);
	return 1;
}

static bool
ipc_get(struct ipc_msg *msg, void *out, size_t len)
{
	if (msg->failed || len > msg->len - msg->pos) {
		msg->failed = true;
		return false;
	}
	memcpy(out, msg->data + msg->pos, len);
	msg->pos += len;
	return true;
}

bool
ipc_get_u8(struct ipc_msg *msg, uint8_t *v_r)
{
	return ipc_get(msg, v_r, 1);
}

bool
ipc_get_u32(struct ipc_msg *msg, uint32_t *v_r)
{
	return ipc_get(msg, v_r, sizeof(*v_r));
}

bool
ipc_get_u64(struct ipc_msg *msg, uint64_t *v_r)
{
	return ipc_get(msg, v_r, sizeof(*v_r));
}

bool
ipc_get_bytes(struct ipc_msg *msg, const unsigned char **data_r, size_t *len_r,
              size_t max)
{
	uint32_t len;
	if (!ipc_get_u32(msg, &len))
		return false;
	if (len > max || len > msg->len - msg->pos) {
		msg->failed = true;
		return false;
	}
	*data_r = msg->data + msg->pos;
	*len_r = len;
	msg->pos += len;
	return true;
}

bool
ipc_get_str(struct ipc_msg *msg, char *buf, size_t size)
{
	const unsigned char *data;
	size_t len;
	if (!ipc_get_bytes(msg, &data, &len, size - 1))
		return false;
	if (memchr(data, '\0', len) != NULL) {
		msg->failed = true;
		return false;
	}
	memcpy(buf, data, len);
	buf[len] = '\0';
	return true;
}

bool
ipc_get_end(const struct ipc_msg *msg)
{
	return !msg->failed && msg->pos == msg->len;
}

struct ipc_queued {
	struct ipc_queued *next;
	uint32_t type;
	size_t len;
	unsigned char data[]; /* len bytes */
};

/* Sends one queued message as ipc_send() would. */
static int
ipc_queued_send(int sock, const struct ipc_queued *item)
{
	struct iovec iov[2] = {
	    {.iov_base = (void *)&item->type, .iov_len = sizeof(item->type)},
	    {.iov_base = (void *)item->data, .iov_len = item->len},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int
ipc_queue_flush(int sock, struct ipc_queue *q)
{
	while (q->head != NULL) {
		struct ipc_queued *item = q->head;
		if (ipc_queued_send(sock, item) < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		q->head = item->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
		secure_zero(item->data, item->len);
		free(item);
	}
	return 1;
}

int
ipc_queue_send(int sock, struct ipc_queue *q, const struct ipc_msg *msg)
{
	i_assert(msg->fd < 0);
	if (q->head == NULL && ipc_send(sock, msg, -1) == 0)
		return 0;
	if (q->head == NULL && errno != EAGAIN && errno != EWOULDBLOCK)
		return -1;
	if (q->count >= IPC_QUEUE_MAX) {
		errno = ENOBUFS;
		return -1;
	}
	struct ipc_queued *item = xmalloc(sizeof(*item) + msg->len);
	item->next = NULL;
	item->type = msg->type;
	item->len = msg->len;
	memcpy(item->data, msg->data, msg->len);
	if (q->tail != NULL)
		q->tail->next = item;
	else
		q->head = item;
	q->tail = item;
	q->count++;
	return 0;
}

void
ipc_queue_clear(struct ipc_queue *q)
{
	while (q->head != NULL) {
		struct ipc_queued *item = q->head;
		q->head = item->next;
		secure_zero(item->data, item->len);
		free(item);
	}
	q->tail = NULL;
	q->count = 0;
}
