#ifndef CASELLA_HUB_H
#define CASELLA_HUB_H

#include <stddef.h>
#include <stdint.h>

/*
 * Tells every worker thread that a mailbox changed.  Each worker registers
 * an eventfd; hub_publish() queues the mailbox id for every worker and
 * wakes it, and the worker then lets its sessions with that mailbox
 * selected catch up (at once if they are in IDLE).  Thread-safe.
 */
#define HUB_MAX_WORKERS 64
/* Past this many queued ids a worker is told to recheck every mailbox. */
#define HUB_QUEUE_MAX 1024

void hub_init(void);
/* Returns the worker's slot; event_fd is an eventfd it polls. */
unsigned hub_register_worker(int event_fd);
void hub_publish(int64_t mailbox_id);
/* Every worker rechecks every selected mailbox: for a notice that lost
 * track of which mailboxes changed. */
void hub_publish_all(void);
/*
 * Takes the worker's queued ids into ids (room for HUB_QUEUE_MAX) and
 * returns how many; *overflow_r is set if ids were lost to the limit, in
 * which case every selected mailbox must be rechecked.
 */
size_t hub_take(unsigned slot, int64_t *ids, int *overflow_r);

#endif
