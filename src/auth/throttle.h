#ifndef CASELLA_THROTTLE_H
#define CASELLA_THROTTLE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Throttling of failed authentication (docs/security.md), in the auth
 * process, which sees every attempt from every login process.  Failures
 * are counted per client address, per user name (known or not: the same
 * either way) and per pair, each count halving every
 * THROTTLE_HALF_LIFE_MS.  Past a threshold a key is rate-limited: its
 * next attempt may start only after an interval that doubles with each
 * further failure, so parallel connections gain an attacker nothing.
 *
 * Thresholds keep a normal user out of it and an office behind one NAT
 * address too: a pair is limited after 3 failures, a user after 10 (from
 * anywhere, so one account cannot be guessed from a botnet quickly,
 * though at worst its owner then waits THROTTLE_USER_INTERVAL_MS), an
 * address after 20 (a scanner trying many names).  A failure from one
 * address never delays other users at other addresses.
 *
 * Memory is fixed: THROTTLE_SLOTS entries per table, recycled by least
 * recent use.  Not thread-safe: the auth process's main thread owns it.
 */

#define THROTTLE_SLOTS            8192
#define THROTTLE_HALF_LIFE_MS     (5 * 60 * 1000)
#define THROTTLE_PAIR_FREE        3
#define THROTTLE_USER_FREE        10
#define THROTTLE_IP_FREE          20
#define THROTTLE_MAX_INTERVAL_MS  (60 * 1000)
#define THROTTLE_USER_INTERVAL_MS 2000

struct throttle;

struct throttle *throttle_create(void);
void throttle_destroy(struct throttle **t);

/*
 * An address is NULL when it is a trusted one (a local webmail, a load
 * balancer that forwards no PROXY header): many users share it, so it is
 * not limited as an address, only its users and pairs are.  A user is ""
 * when the exchange broke before naming one: then only the address
 * counts.
 */
/* When a new exchange from ip may start (now_ms if the address is not
 * limited).  Gating the start keeps a flood from one address from making
 * the server hash for it. */
uint64_t throttle_admit(struct throttle *t, const char *ip, uint64_t now_ms);
/* Records the outcome of an attempt by user from ip and returns when the
 * answer may be sent: later than now_ms if the pair or the user is
 * limited, success or not, so that an answer never comes sooner for the
 * right password. */
uint64_t throttle_finish(struct throttle *t, const char *ip, const char *user,
                         bool success, uint64_t now_ms);

#endif
