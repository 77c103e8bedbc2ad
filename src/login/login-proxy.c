/* The TLS relay of handed-over sessions; see login-proxy.h. */
#include "login/login-proxy.h"

#include <stdbool.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/util.h"
#include "net/conn.h"

struct login_proxy;

/* One side's handler context: the proxy and which side it is. */
struct login_proxy_end {
	struct login_proxy *proxy;
	unsigned side;
};

struct login_proxy {
	struct conn *side[2]; /* 0: the client (TLS), 1: the mail process */
	struct login_proxy_end ends[2];
	uint64_t session_id;
	unsigned open; /* sides not closed yet */
	/* Callbacks running on it: settling one side may close the other,
	 * and with it the proxy, from inside a callback; the last one out
	 * frees it. */
	unsigned busy;
};

static struct login_proxy *
login_proxy_enter(void *context, unsigned *side_r)
{
	struct login_proxy_end *end = context;
	*side_r = end->side;
	end->proxy->busy++;
	return end->proxy;
}

static void
login_proxy_leave(struct login_proxy *proxy)
{
	if (--proxy->busy == 0 && proxy->open == 0)
		free(proxy);
}

/* Moves what side `from` read to the other side's output. */
static void
login_proxy_forward(struct login_proxy *proxy, unsigned from)
{
	struct conn *in = proxy->side[from], *out = proxy->side[1 - from];
	if (in == NULL || in->input.len == 0 || out == NULL || out->closed)
		return;
	conn_send(out, in->input.data, in->input.len);
	secure_zero(in->input.data, in->input.len);
	str_consume(&in->input, in->input.len);
	conn_settle(out);
}

/* Pauses a side's input while the other side cannot take more. */
static void
login_proxy_flow(struct login_proxy *proxy)
{
	for (unsigned i = 0; i < 2; i++) {
		struct conn *c = proxy->side[i], *other = proxy->side[1 - i];
		if (c == NULL || c->closed)
			continue;
		bool full = other != NULL && !other->closed &&
		            conn_output_pending(other) > CONN_OUTPUT_HIGH;
		c->input_paused = full;
		/* Called again once our output drains, to resume the
		 * other side. */
		c->want_drain = conn_output_pending(c) > CONN_OUTPUT_HIGH;
	}
}

static void
login_proxy_run(void *context)
{
	unsigned side;
	struct login_proxy *proxy = login_proxy_enter(context, &side);
	login_proxy_forward(proxy, side);
	login_proxy_flow(proxy);
	struct conn *other = proxy->side[1 - side];
	if (other != NULL && !other->closed)
		conn_settle(other);
	login_proxy_leave(proxy);
}

static void
login_proxy_closed(void *context, const char *reason)
{
	unsigned side;
	struct login_proxy *proxy = login_proxy_enter(context, &side);
	struct conn *other = proxy->side[1 - side];
	proxy->side[side] = NULL;
	proxy->open--;
	if (side == 0)
		log_info("session=%llx disconnect reason=\"%s\"",
		         (unsigned long long)proxy->session_id, reason);
	if (other != NULL && !other->closed) {
		conn_close_after_output(other, "peer closed");
		conn_settle(other);
	}
	login_proxy_leave(proxy);
}

static void
login_proxy_expire(void *context, enum conn_expiry why)
{
	unsigned side;
	struct login_proxy *proxy = login_proxy_enter(context, &side);
	if (proxy->side[side] != NULL)
		conn_close(proxy->side[side], why == CONN_EXPIRY_SHUTDOWN
		                                  ? "shutdown"
		                                  : "timeout");
	login_proxy_leave(proxy);
}

static const struct conn_handler login_proxy_handler = {
    .run = login_proxy_run,
    .closed = login_proxy_closed,
    .expire = login_proxy_expire,
};

void
login_proxy_start(struct conn *client, struct conn *mail, uint64_t session_id)
{
	struct login_proxy *proxy = xcalloc(1, sizeof(*proxy));
	proxy->side[0] = client;
	proxy->side[1] = mail;
	proxy->session_id = session_id;
	proxy->open = 2;
	proxy->busy = 1;
	for (unsigned i = 0; i < 2; i++) {
		proxy->ends[i] = (struct login_proxy_end){proxy, i};
		conn_set_handler(proxy->side[i], &login_proxy_handler,
		                 &proxy->ends[i]);
		conn_set_timeouts(proxy->side[i], 0, 0);
		proxy->side[i]->want_drain = false;
		proxy->side[i]->input_paused = false;
	}
	if (proxy->side[1] != NULL)
		conn_run(mail);
	if (proxy->side[0] != NULL)
		conn_run(client);
	login_proxy_leave(proxy);
}
