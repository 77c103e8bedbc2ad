#ifndef CASELLA_WORKER_H
#define CASELLA_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/loop.h"

struct client;
struct store;

#define SERVER_MAX_LISTEN 16

struct listen_spec {
	char host[64]; /* numeric IPv4 or IPv6 address */
	uint16_t port;
};

struct server_config {
	const char *data_dir;
	struct listen_spec listen[SERVER_MAX_LISTEN];
	size_t listen_count;
	unsigned worker_count;    /* threads; default: one per core */
	unsigned login_timeout_s; /* before authentication */
	unsigned idle_timeout_s;  /* after; RFC 9051 5.4: >= 30 min */
	unsigned max_clients;     /* per server; refuse above */
};

/*
 * A worker thread: one event loop, one store handle, its own share of the
 * connections.  Workers accept from their own SO_REUSEPORT listening
 * sockets, so the kernel spreads connections between them and no
 * connection ever moves between threads.
 */
struct worker {
	unsigned index;
	pthread_t thread;
	const struct server_config *config;
	struct loop *loop;
	struct store *store;
	struct loop_io event_io; /* eventfd: hub notices and stop */
	unsigned hub_slot;
	struct loop_io listen_io[SERVER_MAX_LISTEN];
	size_t listen_count;
	struct loop_io notify_io; /* DATA/notify.sock, worker 0 only */
	bool has_notify;
	struct client *oldest, *newest; /* by last activity */
	struct client *graveyard;       /* destroyed, freed after the batch */
	size_t client_count;
	bool stopping;
	uint64_t next_client_id;
};

/* Creates workers, binds, runs until SIGTERM/SIGINT; returns exit code. */
int server_run(const struct server_config *config);

/* Bookkeeping used by struct client. */
void worker_client_add(struct worker *worker, struct client *client);
void worker_client_touch(struct worker *worker, struct client *client);
void worker_client_remove(struct worker *worker, struct client *client);
void worker_client_bury(struct worker *worker, struct client *client);

#endif
