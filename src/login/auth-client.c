/* A login process's channel to the auth process; see auth-client.h. */
#include "login/auth-client.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "auth/auth-proto.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/util.h"

#define AUTH_CLIENT_BUCKETS  256
#define AUTH_CLIENT_MECHS    16
#define AUTH_CLIENT_MECH_MAX 32

struct auth_request {
	struct auth_client *client;
	uint32_t id;
	auth_reply_func *callback;
	void *context;
	struct auth_request *next; /* bucket chain */
};

struct auth_client {
	struct loop *loop;
	struct loop_io io;
	struct ipc_queue queue; /* requests that found the socket full */
	bool closed;
	uint32_t next_id;
	struct auth_request *buckets[AUTH_CLIENT_BUCKETS];
	char mechs[AUTH_CLIENT_MECHS][AUTH_CLIENT_MECH_MAX];
	unsigned mech_flags[AUTH_CLIENT_MECHS];
	size_t mech_count;
	bool ready;
	struct ipc_msg msg;
};

static struct auth_request **
auth_client_bucket(struct auth_client *client, uint32_t id)
{
	return &client->buckets[id % AUTH_CLIENT_BUCKETS];
}

static struct auth_request *
auth_client_take(struct auth_client *client, uint32_t id)
{
	for (struct auth_request **p = auth_client_bucket(client, id);
	     *p != NULL; p = &(*p)->next) {
		struct auth_request *req = *p;
		if (req->id == id) {
			*p = req->next;
			return req;
		}
	}
	return NULL;
}

static bool
auth_client_read_mechs(struct auth_client *client, struct ipc_msg *msg)
{
	uint32_t count;
	if (!ipc_get_u32(msg, &count) || count > AUTH_CLIENT_MECHS)
		return false;
	for (uint32_t i = 0; i < count; i++) {
		if (!ipc_get_str(msg, client->mechs[i], AUTH_CLIENT_MECH_MAX) ||
		    !ipc_get_u32(msg, &client->mech_flags[i]))
			return false;
	}
	client->mech_count = count;
	client->ready = true;
	return ipc_get_end(msg);
}

/* Parses an answer into reply; returns its request id, or false. */
static bool
auth_client_read_reply(struct ipc_msg *msg, uint32_t *id_r,
                       struct auth_reply *reply, char *user, size_t size)
{
	uint8_t failure;
	memset(reply, 0, sizeof(*reply));
	if (!ipc_get_u32(msg, id_r))
		return false;
	switch (msg->type) {
	case AUTH_MSG_CHALLENGE:
		reply->status = AUTH_REPLY_CONTINUE;
		return ipc_get_bytes(msg, &reply->data, &reply->data_len,
		                     IPC_MSG_MAX) &&
		       ipc_get_end(msg);
	case AUTH_MSG_OK:
		reply->status = AUTH_REPLY_OK;
		reply->user = user;
		return ipc_get_str(msg, user, size) &&
		       ipc_get_bytes(msg, &reply->data, &reply->data_len,
		                     IPC_MSG_MAX) &&
		       ipc_get_bytes(msg, &reply->ticket, &reply->ticket_len,
		                     256) &&
		       ipc_get_end(msg);
	case AUTH_MSG_FAIL:
		reply->status = AUTH_REPLY_FAIL;
		if (!ipc_get_u8(msg, &failure) || !ipc_get_end(msg))
			return false;
		reply->failure = (enum sasl_failure)failure;
		return true;
	default:
		return false;
	}
}

static bool
auth_client_handle(struct auth_client *client, struct ipc_msg *msg)
{
	if (msg->type == AUTH_MSG_MECHS)
		return auth_client_read_mechs(client, msg);
	struct auth_reply reply;
	char user[USERDB_NAME_MAX + 1];
	uint32_t id;
	if (!auth_client_read_reply(msg, &id, &reply, user, sizeof(user)))
		return false;
	struct auth_request *req = auth_client_take(client, id);
	if (req == NULL)
		return true; /* aborted meanwhile */
	if (reply.status == AUTH_REPLY_CONTINUE) {
		struct auth_request **bucket = auth_client_bucket(client, id);
		req->next = *bucket;
		*bucket = req;
		req->callback(req->context, &reply);
		return true;
	}
	req->callback(req->context, &reply);
	free(req);
	return true;
}

/* The channel broke: every pending exchange fails, temporarily. */
static void
auth_client_fail_all(struct auth_client *client)
{
	struct auth_reply reply = {.status = AUTH_REPLY_FAIL,
	                           .failure = SASL_FAIL_TEMPORARY};
	for (size_t i = 0; i < AUTH_CLIENT_BUCKETS; i++) {
		while (client->buckets[i] != NULL) {
			struct auth_request *req = client->buckets[i];
			client->buckets[i] = req->next;
			req->callback(req->context, &reply);
			free(req);
		}
	}
}

static void
auth_client_close(struct auth_client *client, const char *reason)
{
	log_error("auth channel lost reason=\"%s\"", reason);
	loop_io_remove(client->loop, &client->io);
	close(client->io.fd);
	ipc_queue_clear(&client->queue);
	client->io.fd = -1;
	client->closed = true;
	client->ready = false;
	auth_client_fail_all(client);
}

static void
auth_client_io(struct loop_io *io, uint32_t events)
{
	struct auth_client *client = io->context;
	if ((events & EPOLLOUT) != 0 && !client->closed) {
		int r = ipc_queue_flush(io->fd, &client->queue);
		if (r < 0) {
			auth_client_close(client, strerror(errno));
			return;
		}
		if (r > 0)
			(void)loop_io_update(client->loop, io, EPOLLIN);
	}
	for (int i = 0; i < 64 && !client->closed; i++) {
		int r = ipc_recv(io->fd, &client->msg);
		if (r == 0)
			return;
		if (r < 0 || client->msg.fd >= 0 ||
		    !auth_client_handle(client, &client->msg)) {
			if (client->msg.fd >= 0)
				close(client->msg.fd);
			auth_client_close(client, r < 0 ? strerror(errno)
			                                : "malformed message");
			return;
		}
	}
}

struct auth_client *
auth_client_create(struct loop *loop, int fd)
{
	struct auth_client *client = xcalloc(1, sizeof(*client));
	client->loop = loop;
	client->io = (struct loop_io){
	    .fd = fd, .callback = auth_client_io, .context = client};
	if (loop_io_add(loop, &client->io, EPOLLIN) < 0)
		fatal("epoll: %m");
	return client;
}

void
auth_client_destroy(struct auth_client **client_p)
{
	struct auth_client *client = *client_p;
	if (client == NULL)
		return;
	if (!client->closed) {
		loop_io_remove(client->loop, &client->io);
		close(client->io.fd);
	}
	ipc_queue_clear(&client->queue);
	for (size_t i = 0; i < AUTH_CLIENT_BUCKETS; i++) {
		while (client->buckets[i] != NULL) {
			struct auth_request *req = client->buckets[i];
			client->buckets[i] = req->next;
			free(req);
		}
	}
	free(client);
	*client_p = NULL;
}

bool
auth_client_wait_ready(struct auth_client *client, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	while (!client->ready && !client->closed) {
		uint64_t now = now_ms();
		if (now >= deadline)
			return false;
		struct pollfd pfd = {.fd = client->io.fd, .events = POLLIN};
		if (poll(&pfd, 1, (int)(deadline - now)) > 0)
			auth_client_io(&client->io, EPOLLIN);
	}
	return client->ready;
}

bool
auth_client_ready(const struct auth_client *client)
{
	return client->ready;
}

const char *
auth_client_mech(const struct auth_client *client, size_t i, unsigned *flags_r)
{
	if (i >= client->mech_count)
		return NULL;
	*flags_r = client->mech_flags[i];
	return client->mechs[i];
}

static void
auth_client_put_info(struct ipc_msg *msg, const struct sasl_conn_info *info,
                     bool plaintext_allowed)
{
	ipc_put_u8(msg, info->secured);
	ipc_put_u8(msg, plaintext_allowed);
	ipc_put_u8(msg, info->trusted);
	ipc_put_str(msg, info->peer_ip != NULL ? info->peer_ip : "");
	ipc_put_u64(msg, info->session_id);
	ipc_put_bytes(msg, info->cb_tls_exporter, info->cb_tls_exporter_len);
	ipc_put_bytes(msg, info->cb_tls_server_end_point,
	              info->cb_tls_server_end_point_len);
	ipc_put_bytes(msg, info->cb_tls_unique, info->cb_tls_unique_len);
	ipc_put_str(msg, info->cert_user);
}

static bool
auth_client_send(struct auth_client *client)
{
	if (ipc_queue_send(client->io.fd, &client->queue, &client->msg) < 0) {
		log_error("auth request lost: %s", strerror(errno));
		return false;
	}
	if (ipc_queue_pending(&client->queue))
		(void)loop_io_update(client->loop, &client->io,
		                     EPOLLIN | EPOLLOUT);
	return true;
}

struct auth_request *
auth_client_begin(struct auth_client *client, const char *mech,
                  const unsigned char *initial, size_t initial_len,
                  const struct sasl_conn_info *info, bool plaintext_allowed,
                  auth_reply_func *callback, void *context)
{
	if (client->closed || !client->ready)
		return NULL;
	struct auth_request *req = xcalloc(1, sizeof(*req));
	req->client = client;
	req->id = ++client->next_id;
	req->callback = callback;
	req->context = context;
	ipc_begin(&client->msg, AUTH_MSG_BEGIN);
	ipc_put_u32(&client->msg, req->id);
	ipc_put_str(&client->msg, mech);
	ipc_put_u8(&client->msg, initial != NULL);
	ipc_put_bytes(&client->msg, initial, initial != NULL ? initial_len : 0);
	auth_client_put_info(&client->msg, info, plaintext_allowed);
	bool sent = auth_client_send(client);
	secure_zero(client->msg.data, client->msg.len);
	if (!sent) {
		free(req);
		return NULL;
	}
	struct auth_request **bucket = auth_client_bucket(client, req->id);
	req->next = *bucket;
	*bucket = req;
	return req;
}

void
auth_request_continue(struct auth_request *req, const unsigned char *data,
                      size_t len)
{
	struct auth_client *client = req->client;
	if (client->closed)
		return; /* the failure callback already ran or will */
	ipc_begin(&client->msg, AUTH_MSG_CONTINUE);
	ipc_put_u32(&client->msg, req->id);
	ipc_put_bytes(&client->msg, data, len);
	(void)auth_client_send(client);
	secure_zero(client->msg.data, client->msg.len);
}

void
auth_request_abort(struct auth_request **req_p)
{
	struct auth_request *req = *req_p;
	if (req == NULL)
		return;
	struct auth_client *client = req->client;
	(void)auth_client_take(client, req->id);
	if (!client->closed) {
		ipc_begin(&client->msg, AUTH_MSG_ABORT);
		ipc_put_u32(&client->msg, req->id);
		(void)auth_client_send(client);
	}
	free(req);
	*req_p = NULL;
}
