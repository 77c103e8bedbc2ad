#ifndef CASELLA_WORKER_H
#define CASELLA_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "net/loop.h"

struct auth_client;
struct client;
struct conn_set;
struct store;

#define WORKER_MAX 64

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
	struct auth_client *auth; /* channel to the auth process */
	struct loop_io event_io;  /* eventfd: hub notices and stop */
	unsigned hub_slot;
	struct loop_io listen_io[SERVER_MAX_LISTEN];
	size_t listen_count;
	struct loop_io notify_io; /* DATA/notify.sock, worker 0 only */
	bool has_notify;
	struct conn_set *conns;   /* the connections (net/conn.h) */
	struct client *clients;   /* the sessions */
	struct client *graveyard; /* destroyed, freed after the batch */
	size_t client_count;
	bool stopping;
	uint64_t next_client_id;
};

/* The mail process: receives its listeners and auth channels over
 * control from the master, runs the workers until SIGTERM/SIGINT;
 * returns the exit code. */
int server_run(const struct server_config *config, int control);

#endif
