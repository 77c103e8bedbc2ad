#ifndef CASELLA_WORKER_H
#define CASELLA_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lib/idmap.h"
#include "net/loop.h"

struct auth_client;
struct client;
struct conn_set;
struct store;
struct tls_server;

#define WORKER_MAX 64

/*
 * One event loop and the IMAP sessions on it.  A login process runs one
 * (its sessions are not logged in yet); the mail process runs one per
 * worker thread (its sessions are).  A session never moves between
 * workers, so session state needs no locks.  The fields of the role
 * that does not run here stay zero.
 */
struct worker {
	unsigned index; /* login process number, or mail thread number */
	pthread_t thread;
	const struct server_config *config;
	struct loop *loop;
	struct conn_set *conns;   /* the connections (net/conn.h) */
	struct client *clients;   /* the sessions */
	struct client *graveyard; /* destroyed, freed after the batch */
	size_t client_count;
	bool stopping;
	uint64_t next_client_id;

	/* The mail process. */
	struct store *store;
	struct loop_io event_io; /* eventfd: hub notices and stop */
	unsigned hub_slot;
	struct loop_io notify_io; /* DATA/notify.sock, worker 0 only */
	bool has_notify;
	struct loop_io handover_io[WORKER_MAX]; /* from login processes */
	/* Sessions in IDLE, the next keepalive due first (client.h). */
	struct client *idlers_head, *idlers_tail;
	size_t handover_count;
	/* Who hears of a change (mail/hub.h), so that a change wakes only
	 * those sessions: by selected mailbox id (client.mailbox_node),
	 * and the sessions with NOTIFY set by user id (client.user_node). */
	struct idmap by_mailbox;
	struct idmap by_user;
	struct client *wake_list; /* to catch up in this dispatch round */
	uint64_t origin;          /* the session whose command runs now */

	/* A login process. */
	struct auth_client *auth; /* channel to the auth process */
	struct tls_server *tls;   /* NULL without certificates */
	int mail_fd;              /* handover channel to the mail process */
	/* Called when a session of this worker ends or leaves it. */
	void (*client_gone)(struct worker *worker, struct client *client);
};

/* The mail process: receives its channels over control from the master,
 * runs the workers until SIGTERM/SIGINT; returns the exit code. */
int server_run(const struct server_config *config, int control);

#endif
