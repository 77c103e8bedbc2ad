/* The master's channel to each child; see control.h. */
#include "master/control.h"

#include <stdlib.h>
#include <unistd.h>

#include "lib/util.h"

int
control_send_fd(int sock, enum control_fd_kind kind, uint32_t index, int fd)
{
	struct ipc_msg *msg = xmalloc(sizeof(*msg));
	ipc_begin(msg, CONTROL_MSG_FD);
	ipc_put_u32(msg, kind);
	ipc_put_u32(msg, index);
	int ret = ipc_send(sock, msg, fd);
	free(msg);
	return ret;
}

int
control_send_key(int sock, const unsigned char *key, size_t len)
{
	struct ipc_msg *msg = xmalloc(sizeof(*msg));
	ipc_begin(msg, CONTROL_MSG_KEY);
	ipc_put_bytes(msg, key, len);
	int ret = ipc_send(sock, msg, -1);
	secure_zero(msg, sizeof(*msg));
	free(msg);
	return ret;
}

int
control_send_start(int sock)
{
	struct ipc_msg *msg = xmalloc(sizeof(*msg));
	ipc_begin(msg, CONTROL_MSG_START);
	int ret = ipc_send(sock, msg, -1);
	free(msg);
	return ret;
}

/* Handles one setup message; returns 1 on START, 0 to go on, -1. */
static int
control_setup_one(struct ipc_msg *msg, const struct control_setup_ops *ops,
                  void *context, const char **error_r)
{
	uint32_t kind, index;
	const unsigned char *key;
	size_t len;
	switch (msg->type) {
	case CONTROL_MSG_START:
		return 1;
	case CONTROL_MSG_FD:
		if (msg->fd < 0 || !ipc_get_u32(msg, &kind) ||
		    !ipc_get_u32(msg, &index) || !ipc_get_end(msg))
			break;
		int fd = msg->fd;
		msg->fd = -1;
		if (ops->fd(context, kind, index, fd) < 0) {
			*error_r = "unexpected descriptor from the master";
			return -1;
		}
		return 0;
	case CONTROL_MSG_KEY:
		if (ops->key == NULL || !ipc_get_bytes(msg, &key, &len, 256) ||
		    !ipc_get_end(msg))
			break;
		return ops->key(context, key, len) < 0 ? -1 : 0;
	default:
		if (ops->message == NULL || msg->fd >= 0)
			break;
		return ops->message(context, msg) < 0 ? -1 : 0;
	}
	*error_r = "malformed setup message from the master";
	return -1;
}

int
control_receive_setup(int sock, const struct control_setup_ops *ops,
                      void *context, const char **error_r)
{
	struct ipc_msg *msg = xmalloc(sizeof(*msg));
	int ret;
	do {
		if (ipc_recv(sock, msg) <= 0) {
			*error_r = "lost the master during setup";
			ret = -1;
			break;
		}
		ret = control_setup_one(msg, ops, context, error_r);
		if (msg->fd >= 0)
			close(msg->fd);
	} while (ret == 0);
	secure_zero(msg, sizeof(*msg));
	free(msg);
	return ret < 0 ? -1 : 0;
}
