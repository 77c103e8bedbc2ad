/*
 * The auth process: channels from login processes, SASL exchanges run on
 * the worker threads, throttled answers.  See auth-server.h.
 */
#include "auth/auth-server.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "auth/auth-pool.h"
#include "auth/auth-proto.h"
#include "auth/auth-settings.h"
#include "auth/sasl-gssapi.h"
#include "auth/sasl.h"
#include "auth/throttle.h"
#include "auth/ticket.h"
#include "lib/ipc.h"
#include "lib/log.h"
#include "lib/util.h"
#include "master/control.h"
#include "master/privsep.h"
#include "net/loop.h"

#define AUTH_BUCKETS      1024
#define AUTH_MAX_CHANNELS 256
#define AUTH_TICK_MS      20
#define AUTH_PEER_MAX     64
/* Challenges and final data, at most: a GSSAPI token fits. */
#define AUTH_OUTPUT_MAX (64 * 1024)

struct auth_server;

/* One client's channel (a login process). */
struct auth_channel {
	struct loop_io io;
	struct auth_server *server;
	struct ipc_queue queue; /* answers that found the socket full */
	struct auth_exchange *buckets[AUTH_BUCKETS]; /* by id */
	unsigned exchange_count;
};

enum auth_exchange_state {
	EXCHANGE_THROTTLED,   /* waiting for throttle_admit()'s time */
	EXCHANGE_RUNNING,     /* a step is on a worker thread */
	EXCHANGE_WAIT_CLIENT, /* a challenge went out */
	EXCHANGE_ANSWERING,   /* the result waits for its time */
};

/* One SASL exchange.  The job is first, so a finished job is its
 * exchange. */
struct auth_exchange {
	struct auth_job job;
	struct auth_server *server;
	struct auth_channel *channel; /* NULL once the channel is gone */
	struct auth_exchange *bucket_next;
	uint32_t id;
	enum auth_exchange_state state;
	bool aborted; /* the client gave up while a step ran */
	struct sasl_conn_info info;
	char peer[AUTH_PEER_MAX]; /* info.peer_ip points here */
	struct sasl_session sasl;
	unsigned char *input; /* the step's input, heap, or NULL */
	size_t input_len;
	enum sasl_result result;
	struct str out;
	uint64_t due_ms; /* when throttled or answering */
	size_t heap_index;
};

struct auth_server {
	const struct server_config *config;
	struct server_config local; /* config, working in the data dir */
	unsigned char ticket_key[TICKET_KEY_LEN];
	bool have_key;
	int setup_fds[AUTH_MAX_CHANNELS]; /* channels received at setup */
	size_t setup_fd_count;
	struct loop *loop;
	struct auth_pool *pool;
	struct throttle *throttle;
	struct sasl_settings settings;
	struct loop_io pool_io, signal_io, control_io;
	struct auth_channel *channels[AUTH_MAX_CHANNELS];
	size_t channel_count;
	struct auth_exchange **heap; /* min-heap by due_ms */
	size_t heap_count, heap_capacity;
	struct ipc_msg in, out; /* scratch messages */
};

/* --- the timer heap */

static void
auth_heap_swap(struct auth_server *server, size_t a, size_t b)
{
	struct auth_exchange *t = server->heap[a];
	server->heap[a] = server->heap[b];
	server->heap[b] = t;
	server->heap[a]->heap_index = a;
	server->heap[b]->heap_index = b;
}

static void
auth_heap_push(struct auth_server *server, struct auth_exchange *ex,
               uint64_t due)
{
	if (server->heap_count == server->heap_capacity) {
		server->heap_capacity = server->heap_capacity * 2 + 64;
		server->heap =
		    xrealloc(server->heap,
		             server->heap_capacity * sizeof(*server->heap));
	}
	ex->due_ms = due;
	size_t i = server->heap_count++;
	server->heap[i] = ex;
	ex->heap_index = i;
	while (i > 0 && server->heap[(i - 1) / 2]->due_ms > due) {
		auth_heap_swap(server, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static struct auth_exchange *
auth_heap_pop(struct auth_server *server)
{
	struct auth_exchange *top = server->heap[0];
	auth_heap_swap(server, 0, --server->heap_count);
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < server->heap_count &&
		    server->heap[l]->due_ms < server->heap[m]->due_ms)
			m = l;
		if (r < server->heap_count &&
		    server->heap[r]->due_ms < server->heap[m]->due_ms)
			m = r;
		if (m == i)
			break;
		auth_heap_swap(server, i, m);
		i = m;
	}
	return top;
}

/* --- exchanges */

static struct auth_exchange **
auth_bucket(struct auth_channel *channel, uint32_t id)
{
	return &channel->buckets[id % AUTH_BUCKETS];
}

static struct auth_exchange *
auth_exchange_find(struct auth_channel *channel, uint32_t id)
{
	for (struct auth_exchange *ex = *auth_bucket(channel, id); ex != NULL;
	     ex = ex->bucket_next) {
		if (ex->id == id)
			return ex;
	}
	return NULL;
}

static void
auth_exchange_unlink(struct auth_exchange *ex)
{
	struct auth_channel *channel = ex->channel;
	if (channel == NULL)
		return;
	struct auth_exchange **p = auth_bucket(channel, ex->id);
	while (*p != ex)
		p = &(*p)->bucket_next;
	*p = ex->bucket_next;
	channel->exchange_count--;
	ex->channel = NULL;
}

static void
auth_input_free(struct auth_exchange *ex)
{
	if (ex->input != NULL) {
		secure_zero(ex->input, ex->input_len);
		free(ex->input);
	}
	ex->input = NULL;
	ex->input_len = 0;
}

/* Frees an exchange that no job and no timer refers to. */
static void
auth_exchange_free(struct auth_exchange *ex)
{
	auth_exchange_unlink(ex);
	auth_input_free(ex);
	sasl_session_free(&ex->sasl);
	if (ex->out.data != NULL)
		secure_zero(ex->out.data, ex->out.cap);
	str_free(&ex->out);
	secure_zero(ex, sizeof(*ex));
	free(ex);
}

/* Frees it now, or marks it so that whoever holds it frees it. */
static void
auth_exchange_drop(struct auth_exchange *ex)
{
	auth_exchange_unlink(ex);
	if (ex->state == EXCHANGE_RUNNING || ex->state == EXCHANGE_THROTTLED ||
	    ex->state == EXCHANGE_ANSWERING)
		ex->aborted = true;
	else
		auth_exchange_free(ex);
}

/* Runs on a worker thread. */
static void
auth_exchange_run(struct auth_job *job, struct userdb *userdb)
{
	struct auth_exchange *ex = (struct auth_exchange *)job;
	ex->sasl.userdb = userdb;
	str_reset(&ex->out);
	ex->result = sasl_step(&ex->sasl, ex->input, ex->input_len, &ex->out);
	ex->sasl.userdb = NULL;
	auth_input_free(ex);
}

static void
auth_exchange_submit(struct auth_exchange *ex)
{
	ex->state = EXCHANGE_RUNNING;
	auth_pool_submit(ex->server->pool, &ex->job);
}

/* --- answers */

static void
auth_send(struct auth_server *server, struct auth_channel *channel)
{
	if (ipc_queue_send(channel->io.fd, &channel->queue, &server->out) < 0)
		log_warn("auth: answer lost: %s", strerror(errno));
	else if (ipc_queue_pending(&channel->queue))
		(void)loop_io_update(server->loop, &channel->io,
		                     EPOLLIN | EPOLLOUT);
}

static void
auth_log_result(const struct auth_exchange *ex, bool ok)
{
	char user[2 * 4 * USERDB_NAME_MAX], peer[128];
	const char *name = ok ? ex->sasl.user : ex->sasl.attempted;
	log_escape(user, sizeof(user), name, strlen(name));
	log_escape(peer, sizeof(peer), ex->info.peer_ip,
	           strlen(ex->info.peer_ip));
	if (ok)
		log_info("session=%llx auth ok peer=%s user=\"%s\" mech=%s",
		         (unsigned long long)ex->info.session_id, peer, user,
		         ex->sasl.mech->name);
	else
		log_info("session=%llx auth failed peer=%s user=\"%s\" "
		         "mech=%s reason=\"%s\"",
		         (unsigned long long)ex->info.session_id, peer, user,
		         ex->sasl.mech->name,
		         ex->sasl.fail_reason != NULL ? ex->sasl.fail_reason
		                                      : "failed");
}

/* Sends the final answer and ends the exchange. */
static void
auth_answer(struct auth_exchange *ex)
{
	struct auth_server *server = ex->server;
	struct auth_channel *channel = ex->channel;
	bool ok = ex->result == SASL_OK;
	auth_log_result(ex, ok);
	if (channel != NULL && !ex->aborted) {
		ipc_begin(&server->out, ok ? AUTH_MSG_OK : AUTH_MSG_FAIL);
		ipc_put_u32(&server->out, ex->id);
		if (ok) {
			unsigned char ticket[TICKET_LEN];
			ticket_make(server->ticket_key, ex->sasl.user,
			            ex->info.session_id, ticket);
			ipc_put_str(&server->out, ex->sasl.user);
			ipc_put_bytes(&server->out, ex->out.data, ex->out.len);
			ipc_put_bytes(&server->out, ticket, sizeof(ticket));
		} else {
			ipc_put_u8(&server->out, (uint8_t)ex->sasl.failure);
		}
		auth_send(server, channel);
	}
	auth_exchange_free(ex);
}

/* The address to throttle: none for a trusted peer (throttle.h). */
static const char *
auth_throttle_ip(const struct auth_exchange *ex)
{
	return ex->info.trusted ? NULL : ex->info.peer_ip;
}

/* A step came back from the pool. */
static void
auth_step_done(struct auth_exchange *ex)
{
	struct auth_server *server = ex->server;
	if (ex->aborted) {
		auth_exchange_free(ex);
		return;
	}
	if (ex->result == SASL_CONTINUE) {
		ex->state = EXCHANGE_WAIT_CLIENT;
		ipc_begin(&server->out, AUTH_MSG_CHALLENGE);
		ipc_put_u32(&server->out, ex->id);
		ipc_put_bytes(&server->out, ex->out.data, ex->out.len);
		auth_send(server, ex->channel);
		return;
	}
	bool ok = ex->result == SASL_OK;
	uint64_t now = now_ms();
	const char *user = ok ? ex->sasl.user : ex->sasl.attempted;
	uint64_t at = throttle_finish(server->throttle, auth_throttle_ip(ex),
	                              user, ok, now);
	if (!ok && at < now + server->config->auth_failure_delay_ms)
		at = now + server->config->auth_failure_delay_ms;
	if (at <= now) {
		auth_answer(ex);
		return;
	}
	ex->state = EXCHANGE_ANSWERING;
	auth_heap_push(server, ex, at);
}

static void
auth_pool_ready(struct loop_io *io, uint32_t events)
{
	struct auth_server *server = io->context;
	struct auth_job *job;
	while ((job = auth_pool_take_done(server->pool)) != NULL)
		auth_step_done((struct auth_exchange *)job);
}

static void
auth_tick(void *context)
{
	struct auth_server *server = context;
	uint64_t now = now_ms();
	while (server->heap_count > 0 && server->heap[0]->due_ms <= now) {
		struct auth_exchange *ex = auth_heap_pop(server);
		if (ex->state == EXCHANGE_ANSWERING) {
			auth_answer(ex);
		} else if (ex->aborted) {
			auth_exchange_free(ex);
		} else {
			auth_exchange_submit(ex);
		}
	}
}

/* --- requests from clients */

static void
auth_fail_now(struct auth_server *server, struct auth_channel *channel,
              uint32_t id, enum sasl_failure failure)
{
	ipc_begin(&server->out, AUTH_MSG_FAIL);
	ipc_put_u32(&server->out, id);
	ipc_put_u8(&server->out, (uint8_t)failure);
	auth_send(server, channel);
}

/* Reads the connection facts of a BEGIN message. */
static bool
auth_read_info(struct ipc_msg *msg, struct sasl_conn_info *info, char *peer,
               size_t peer_size, bool *plaintext_allowed_r)
{
	uint8_t secured, plaintext, trusted;
	const unsigned char *data[3];
	size_t len[3];
	if (!ipc_get_u8(msg, &secured) || !ipc_get_u8(msg, &plaintext) ||
	    !ipc_get_u8(msg, &trusted) || !ipc_get_str(msg, peer, peer_size) ||
	    !ipc_get_u64(msg, &info->session_id) ||
	    !ipc_get_bytes(msg, &data[0], &len[0],
	                   sizeof(info->cb_tls_exporter)) ||
	    !ipc_get_bytes(msg, &data[1], &len[1],
	                   sizeof(info->cb_tls_server_end_point)) ||
	    !ipc_get_bytes(msg, &data[2], &len[2],
	                   sizeof(info->cb_tls_unique)) ||
	    !ipc_get_str(msg, info->cert_user, sizeof(info->cert_user)))
		return false;
	info->secured = secured != 0;
	info->trusted = trusted != 0;
	*plaintext_allowed_r = plaintext != 0;
	memcpy(info->cb_tls_exporter, data[0], len[0]);
	info->cb_tls_exporter_len = len[0];
	memcpy(info->cb_tls_server_end_point, data[1], len[1]);
	info->cb_tls_server_end_point_len = len[1];
	memcpy(info->cb_tls_unique, data[2], len[2]);
	info->cb_tls_unique_len = len[2];
	return true;
}

static struct auth_exchange *
auth_exchange_new(struct auth_channel *channel, uint32_t id)
{
	struct auth_exchange *ex = xcalloc(1, sizeof(*ex));
	ex->job.run = auth_exchange_run;
	ex->server = channel->server;
	ex->channel = channel;
	ex->id = id;
	str_init(&ex->out, AUTH_OUTPUT_MAX);
	struct auth_exchange **bucket = auth_bucket(channel, id);
	ex->bucket_next = *bucket;
	*bucket = ex;
	channel->exchange_count++;
	return ex;
}

static void
auth_input_set(struct auth_exchange *ex, const unsigned char *data, size_t len,
               bool present)
{
	auth_input_free(ex);
	if (!present)
		return;
	ex->input = xmalloc(len > 0 ? len : 1);
	memcpy(ex->input, data, len);
	ex->input_len = len;
}

/* Starts now, or when the throttle lets this address start. */
static void
auth_exchange_start(struct auth_exchange *ex)
{
	struct auth_server *server = ex->server;
	uint64_t now = now_ms();
	uint64_t at =
	    throttle_admit(server->throttle, auth_throttle_ip(ex), now);
	if (at <= now) {
		auth_exchange_submit(ex);
		return;
	}
	ex->state = EXCHANGE_THROTTLED;
	auth_heap_push(server, ex, at);
}

static bool
auth_handle_begin(struct auth_channel *channel, struct ipc_msg *msg)
{
	struct auth_server *server = channel->server;
	uint32_t id;
	char mech_name[32];
	uint8_t has_initial;
	const unsigned char *initial;
	size_t initial_len;
	struct sasl_conn_info info;
	char peer[AUTH_PEER_MAX];
	bool plaintext_allowed;
	memset(&info, 0, sizeof(info));
	if (!ipc_get_u32(msg, &id) ||
	    !ipc_get_str(msg, mech_name, sizeof(mech_name)) ||
	    !ipc_get_u8(msg, &has_initial) ||
	    !ipc_get_bytes(msg, &initial, &initial_len, SASL_INPUT_MAX) ||
	    !auth_read_info(msg, &info, peer, sizeof(peer),
	                    &plaintext_allowed) ||
	    !ipc_get_end(msg))
		return false;
	if (auth_exchange_find(channel, id) != NULL)
		return false;
	if (channel->exchange_count >= AUTH_MAX_REQUESTS) {
		/* Not the client's fault: more logins at once than we hold. */
		auth_fail_now(server, channel, id, SASL_FAIL_TEMPORARY);
		return true;
	}
	const struct sasl_mech *mech =
	    sasl_mech_find(mech_name, strlen(mech_name));
	if (mech == NULL ||
	    !sasl_mech_usable(mech, &server->settings, info.secured,
	                      plaintext_allowed)) {
		auth_fail_now(server, channel, id, SASL_FAIL_MALFORMED);
		return true;
	}
	struct auth_exchange *ex = auth_exchange_new(channel, id);
	ex->info = info;
	memcpy(ex->peer, peer, sizeof(ex->peer));
	ex->info.peer_ip = ex->peer;
	sasl_session_init(&ex->sasl, mech, &server->settings, &ex->info, NULL);
	auth_input_set(ex, initial, initial_len, has_initial != 0);
	auth_exchange_start(ex);
	return true;
}

static bool
auth_handle_continue(struct auth_channel *channel, struct ipc_msg *msg)
{
	uint32_t id;
	const unsigned char *data;
	size_t len;
	if (!ipc_get_u32(msg, &id) ||
	    !ipc_get_bytes(msg, &data, &len, SASL_INPUT_MAX) ||
	    !ipc_get_end(msg))
		return false;
	struct auth_exchange *ex = auth_exchange_find(channel, id);
	if (ex == NULL || ex->state != EXCHANGE_WAIT_CLIENT)
		return false;
	auth_input_set(ex, data, len, true);
	auth_exchange_submit(ex);
	return true;
}

static bool
auth_handle_abort(struct auth_channel *channel, struct ipc_msg *msg)
{
	uint32_t id;
	if (!ipc_get_u32(msg, &id) || !ipc_get_end(msg))
		return false;
	struct auth_exchange *ex = auth_exchange_find(channel, id);
	/* Ids of exchanges that already ended are ignored: the answer and
	 * the abort may have crossed. */
	if (ex != NULL)
		auth_exchange_drop(ex);
	return true;
}

static bool
auth_handle_message(struct auth_channel *channel, struct ipc_msg *msg)
{
	if (msg->fd >= 0)
		return false;
	switch (msg->type) {
	case AUTH_MSG_BEGIN:
		return auth_handle_begin(channel, msg);
	case AUTH_MSG_CONTINUE:
		return auth_handle_continue(channel, msg);
	case AUTH_MSG_ABORT:
		return auth_handle_abort(channel, msg);
	default:
		return false;
	}
}

/* --- channels */

static void
auth_channel_close(struct auth_channel *channel, const char *reason)
{
	struct auth_server *server = channel->server;
	log_info("auth: client channel closed reason=\"%s\"", reason);
	loop_io_remove(server->loop, &channel->io);
	close(channel->io.fd);
	ipc_queue_clear(&channel->queue);
	for (size_t i = 0; i < AUTH_BUCKETS; i++) {
		while (channel->buckets[i] != NULL)
			auth_exchange_drop(channel->buckets[i]);
	}
	for (size_t i = 0; i < server->channel_count; i++) {
		if (server->channels[i] == channel) {
			server->channels[i] =
			    server->channels[--server->channel_count];
			break;
		}
	}
	free(channel);
}

static void
auth_channel_io(struct loop_io *io, uint32_t events)
{
	struct auth_channel *channel = io->context;
	struct ipc_msg *msg = &channel->server->in;
	if ((events & EPOLLOUT) != 0) {
		int r = ipc_queue_flush(io->fd, &channel->queue);
		if (r < 0) {
			auth_channel_close(channel, "write failed");
			return;
		}
		if (r > 0)
			(void)loop_io_update(channel->server->loop, io,
			                     EPOLLIN);
	}
	for (int i = 0; i < 64; i++) {
		int r = ipc_recv(io->fd, msg);
		if (r == 0)
			return;
		bool ok = r > 0 && auth_handle_message(channel, msg);
		if (msg->fd >= 0)
			close(msg->fd);
		if (!ok) {
			auth_channel_close(
			    channel, r < 0 ? "closed" : "malformed message");
			return;
		}
	}
}

/* Tells a new client which mechanisms can work here at all. */
static void
auth_send_mechs(struct auth_server *server, struct auth_channel *channel)
{
	const struct sasl_mech *mech;
	uint32_t count = 0;
	for (size_t i = 0; (mech = sasl_mech_at(i)) != NULL; i++)
		count += mech->available == NULL ||
		         mech->available(&server->settings);
	ipc_begin(&server->out, AUTH_MSG_MECHS);
	ipc_put_u32(&server->out, count);
	for (size_t i = 0; (mech = sasl_mech_at(i)) != NULL; i++) {
		if (mech->available != NULL &&
		    !mech->available(&server->settings))
			continue;
		ipc_put_str(&server->out, mech->name);
		ipc_put_u32(&server->out, mech->flags);
	}
	auth_send(server, channel);
}

static int
auth_channel_add(struct auth_server *server, int fd)
{
	if (server->channel_count == AUTH_MAX_CHANNELS) {
		close(fd);
		return -1;
	}
	struct auth_channel *channel = xcalloc(1, sizeof(*channel));
	channel->server = server;
	channel->io = (struct loop_io){
	    .fd = fd, .callback = auth_channel_io, .context = channel};
	if (loop_io_add(server->loop, &channel->io, EPOLLIN) < 0)
		fatal("epoll: %m");
	server->channels[server->channel_count++] = channel;
	auth_send_mechs(server, channel);
	return 0;
}

/* --- the process */

static void
auth_signal(struct loop_io *io, uint32_t events)
{
	struct auth_server *server = io->context;
	int sig = loop_signal_read(io->fd);
	if (sig == SIGTERM || sig == SIGINT)
		loop_stop(server->loop);
}

/* The master may hand over channels later (a restarted login process). */
static void
auth_control(struct loop_io *io, uint32_t events)
{
	struct auth_server *server = io->context;
	int r = ipc_recv(io->fd, &server->in);
	if (r == 0)
		return;
	uint32_t kind, index;
	if (r > 0 && server->in.type == CONTROL_MSG_FD &&
	    ipc_get_u32(&server->in, &kind) &&
	    ipc_get_u32(&server->in, &index) && ipc_get_end(&server->in) &&
	    kind == CONTROL_FD_AUTH_CLIENT && server->in.fd >= 0) {
		(void)auth_channel_add(server, server->in.fd);
		return;
	}
	if (server->in.fd >= 0)
		close(server->in.fd);
	if (r < 0) {
		/* The master is gone: so are we. */
		loop_io_remove(server->loop, io);
		loop_stop(server->loop);
	}
}

static int
auth_setup_fd(void *context, enum control_fd_kind kind, uint32_t index, int fd)
{
	struct auth_server *server = context;
	if (kind != CONTROL_FD_AUTH_CLIENT ||
	    server->setup_fd_count == AUTH_MAX_CHANNELS) {
		close(fd);
		return -1;
	}
	server->setup_fds[server->setup_fd_count++] = fd;
	return 0;
}

static int
auth_setup_key(void *context, const unsigned char *key, size_t len)
{
	struct auth_server *server = context;
	if (len != TICKET_KEY_LEN)
		return -1;
	memcpy(server->ticket_key, key, len);
	server->have_key = true;
	return 0;
}

/* Reads the keytab while it can, then becomes the --user in the data
 * directory (privsep.h), then learns what it can offer. */
static int
auth_prepare(struct auth_server *server, const char **error_r)
{
	(void)sasl_gssapi_keytab_preload();
	if (!server->have_key) {
		*error_r = "no ticket key";
		return -1;
	}
	if (auth_settings_load(&server->settings, server->config, error_r) < 0)
		return -1;
	if (privsep_enter_data_dir(server->config, &server->local, error_r) < 0)
		return -1;
	server->config = &server->local;
	return auth_settings_init(&server->settings, server->config, error_r);
}

static void
auth_io_add(struct auth_server *server, struct loop_io *io, int fd,
            loop_io_cb *callback)
{
	*io =
	    (struct loop_io){.fd = fd, .callback = callback, .context = server};
	if (loop_io_add(server->loop, io, EPOLLIN) < 0)
		fatal("epoll: %m");
}

static void
auth_job_leftover(struct auth_job *job)
{
	auth_exchange_free((struct auth_exchange *)job);
}

static void
auth_server_free(struct auth_server *server)
{
	while (server->channel_count > 0)
		auth_channel_close(server->channels[0], "shutdown");
	/* The pool's leftover jobs are exchanges whose channels are gone. */
	auth_pool_destroy(&server->pool, auth_job_leftover);
	while (server->heap_count > 0)
		auth_exchange_free(auth_heap_pop(server));
	free(server->heap);
	throttle_destroy(&server->throttle);
	auth_settings_deinit(&server->settings);
	sasl_gssapi_keytab_release();
	for (size_t i = 0; i < server->setup_fd_count; i++)
		close(server->setup_fds[i]);
	secure_zero(server->ticket_key, sizeof(server->ticket_key));
	close(server->signal_io.fd);
	loop_destroy(&server->loop);
	free(server);
}

int
auth_server_main(const struct server_config *config, int control)
{
	struct auth_server *server = xcalloc(1, sizeof(*server));
	server->config = config;
	server->loop = loop_create();
	server->throttle = throttle_create();
	auth_io_add(server, &server->signal_io, loop_signal_fd(), auth_signal);
	static const struct control_setup_ops setup = {.fd = auth_setup_fd,
	                                               .key = auth_setup_key};
	const char *error;
	if (control_receive_setup(control, &setup, server, &error) < 0 ||
	    auth_prepare(server, &error) < 0 ||
	    (server->pool =
	         auth_pool_create(config->auth_threads,
	                          server->config->data_dir, &error)) == NULL) {
		log_error("auth: startup failed: %s", error);
		auth_server_free(server);
		return 1;
	}
	for (size_t i = 0; i < server->setup_fd_count; i++)
		(void)auth_channel_add(server, server->setup_fds[i]);
	server->setup_fd_count = 0;
	auth_io_add(server, &server->pool_io, auth_pool_done_fd(server->pool),
	            auth_pool_ready);
	auth_io_add(server, &server->control_io, control, auth_control);
	loop_set_tick(server->loop, AUTH_TICK_MS, auth_tick, server);
	loop_run(server->loop);
	auth_server_free(server);
	return 0;
}
