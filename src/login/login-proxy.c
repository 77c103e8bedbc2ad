/* The TLS relay of handed-over sessions; see login-proxy.h. */
#include "login/login-proxy.h"

#include <stdbool.h>
#include <stdlib.h>

#include "lib/log.h"
#include "lib/util.h"
#include "net/conn.h"

struct login_proxy {
	struct conn *side[2]; /* 0: the client (TLS), 1: the mail process */
	uint64_t session_id;
	unsigned open; /* sides not closed yet */
};

/* One side's handler context: the proxy and which side it is. */
struct login_proxy_end {
	struct login_proxy *proxy;
	unsigned side;
};

static struct login_proxy_end *
login_proxy_end(void *context)
{
	return context;
}

/* Moves what side `from` read to the other side's output. */
static void
login_proxy_forward(struct login_proxy *proxy, unsigned from)
{
	struct conn *in = proxy->side[from], *out = proxy->side[1 - from];
	if (in->input.len > 0 && out != NULL && !out->closed) {
		conn_send(out, in->input.data, in->input.len);
		secure_zero(in->input.data, in->input.len);
		str_consume(&in->input, in->input.len);
		conn_settle(out);
	}
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
	struct login_proxy_end *end = login_proxy_end(context);
	struct login_proxy *proxy = end->proxy;
	login_proxy_forward(proxy, end->side);
	login_proxy_flow(proxy);
	struct conn *other = proxy->side[1 - end->side];
	if (other != NULL && !other->closed)
		conn_settle(other);
}

static void
login_proxy_closed(void *context, const char *reason)
{
	struct login_proxy_end *end = login_proxy_end(context);
	struct login_proxy *proxy = end->proxy;
	struct conn *other = proxy->side[1 - end->side];
	proxy->side[end->side] = NULL;
	if (end->side == 0)
		log_info("session=%llx disconnect reason=\"%s\"",
		         (unsigned long long)proxy->session_id, reason);
	free(end);
	if (other != NULL && !other->closed) {
		conn_close_after_output(other, "peer closed");
		conn_settle(other);
	}
	if (--proxy->open == 0)
		free(proxy);
}

static void
login_proxy_expire(void *context, enum conn_expiry why)
{
	struct login_proxy_end *end = login_proxy_end(context);
	conn_close(end->proxy->side[end->side],
	           why == CONN_EXPIRY_SHUTDOWN ? "shutdown" : "timeout");
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
	for (unsigned i = 0; i < 2; i++) {
		struct login_proxy_end *end = xcalloc(1, sizeof(*end));
		*end = (struct login_proxy_end){proxy, i};
		conn_set_handler(proxy->side[i], &login_proxy_handler, end);
		conn_set_timeouts(proxy->side[i], 0, 0);
		proxy->side[i]->want_drain = false;
		proxy->side[i]->input_paused = false;
	}
	conn_run(mail);
	conn_run(client);
}
