#ifndef CASELLA_PEER_LIMIT_H
#define CASELLA_PEER_LIMIT_H

#include <stdbool.h>

/*
 * Connections not logged in yet, counted per client address, so that one
 * address cannot take every pre-login slot.  Each login process counts
 * its own share: the kernel spreads one address's connections evenly
 * over the processes, so each allows its share of the configured limit.
 * Loopback addresses (a local webmail, tests) are not counted.  Fixed
 * memory; an address whose slot is taken by another shares its count,
 * which can only make the limit stricter.
 */
struct peer_limit;

struct peer_limit *peer_limit_create(unsigned max_per_ip);
void peer_limit_destroy(struct peer_limit **pl);
/* Counts a new connection from ip; false (not counted) at the limit. */
bool peer_limit_take(struct peer_limit *pl, const char *ip);
/* A counted connection from ip logged in or went away. */
void peer_limit_release(struct peer_limit *pl, const char *ip);

#endif
