#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

static int
notify_address(const char *data_dir, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	int n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s",
	                 data_dir, NOTIFY_SOCKET_NAME);
	return n > 0 && (size_t)n < sizeof(sun->sun_path) ? 0 : -1;
}

void
notifier_init(struct notifier *n, const char *data_dir)
{
	n->addressable = notify_address(data_dir, &n->sun) == 0;
	n->fd = -1;
}

void
notifier_close(struct notifier *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

int
notifier_send(struct notifier *n, int64_t mailbox_id)
{
	if (!n->addressable)
		return 0;
	if (n->fd < 0)
		n->fd = socket(AF_UNIX,
		               SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -1;
	char msg[32];
	int len = snprintf(msg, sizeof(msg), "%" PRId64, mailbox_id);
	ssize_t r = sendto(n->fd, msg, (size_t)len, 0,
	                   (struct sockaddr *)&n->sun, sizeof(n->sun));
	/* No socket, or nobody reading it: no server, no sessions. */
	if (r < 0 && (errno == ENOENT || errno == ECONNREFUSED))
		return 0;
	return r == len ? 0 : -1;
}

int
notify_send(const char *data_dir, int64_t mailbox_id)
{
	struct notifier n;
	notifier_init(&n, data_dir);
	int r = notifier_send(&n, mailbox_id);
	notifier_close(&n);
	return r;
}

int
notify_listen(const char *data_dir, const char **error_r)
{
	struct sockaddr_un sun;
	if (notify_address(data_dir, &sun) < 0) {
		*error_r = "data directory path too long for a socket";
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	(void)unlink(sun.sun_path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

int
notify_receive(int fd, int64_t *mailbox_id_r)
{
	char msg[32];
	ssize_t n = recv(fd, msg, sizeof(msg), 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	uint64_t id;
	if (!parse_u64(msg, (size_t)n, INT64_MAX, &id))
		return -1;
	*mailbox_id_r = (int64_t)id;
	return 1;
}
