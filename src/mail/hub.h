#ifndef CASELLA_HUB_H
#define CASELLA_HUB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Tells every worker thread of a committed change.  Each worker registers
 * an eventfd; hub_publish() queues the change for every worker and wakes
 * it, and the worker then lets the sessions that care catch up: those
 * with the mailbox selected, and those of its user that asked for NOTIFY
 * (RFC 5465).  Thread-safe.
 *
 * A change only says where to look: sessions compare what the store
 * holds with what they last reported, so changes coalesced or lost to
 * the queue limit converge all the same.
 */
#define HUB_MAX_WORKERS 64
/* Past this many queued changes a worker is told to recheck everything. */
#define HUB_QUEUE_MAX 1024

enum hub_kind {
	HUB_MESSAGES,     /* messages of mailbox_id changed */
	HUB_MAILBOXES,    /* mailbox_id was created, deleted or renamed */
	HUB_SUBSCRIPTION, /* user_id's subscriptions changed */
};

struct hub_event {
	enum hub_kind kind;
	int64_t user_id;    /* 0 if unknown: only selected sessions hear */
	int64_t mailbox_id; /* 0 for HUB_SUBSCRIPTION */
	uint64_t origin;    /* the session that made the change, or 0 */
};

void hub_init(void);
/* Returns the worker's slot; event_fd is an eventfd it polls. */
unsigned hub_register_worker(int event_fd);
void hub_publish(const struct hub_event *event);
/* Every worker rechecks everything: for a notice that lost track of
 * which mailboxes changed (NOTIFY_ALL). */
void hub_publish_all(void);
/*
 * Takes the worker's queued changes into events (room for HUB_QUEUE_MAX)
 * and returns how many; *overflow_r is set if changes were lost to the
 * limit, in which case every session must recheck everything.
 */
size_t hub_take(unsigned slot, struct hub_event *events, int *overflow_r);

#endif
