#ifndef CASELLA_PASSWORD_CACHE_H
#define CASELLA_PASSWORD_CACHE_H

#include <stdbool.h>

/*
 * Remembers recent successful password checks, so a client that opens a
 * new connection pays the yescrypt cost once, not on every login (mail
 * clients reconnect often).  An entry is keyed by the user's stored hash
 * string (which holds a per-user salt, so a password change misses) and
 * holds HMAC-SHA256(process-random key, password): the password itself is
 * never kept.  Direct-mapped, PASSWORD_CACHE_SLOTS entries, each valid
 * for PASSWORD_CACHE_TTL_S seconds (password_cache_set_ttl() changes it;
 * 0 turns the cache off).  Thread-safe.
 */
#define PASSWORD_CACHE_SLOTS 4096
#define PASSWORD_CACHE_TTL_S 900

/* Set once at start (--auth-cache-ttl), before any thread uses the cache. */
void password_cache_set_ttl(unsigned seconds);
/* True if password was verified against stored_hash within the TTL. */
bool password_cache_check(const char *stored_hash, const char *password);
/* Records a successful verification. */
void password_cache_add(const char *stored_hash, const char *password);

/*
 * One check at a time per (stored hash, password): when a user's many
 * connections log in at once with a cold cache (a phone and a desktop
 * after a restart, a benchmark), the first computes and the others wait
 * for it and then find it cached, instead of each hashing.  claim
 * returns true if the caller is to verify (and must call release after
 * password_cache_add() or the failure), false if it waited for another
 * thread's verification of the same pair (then check the cache again).
 * Waiting is bounded by that verification.
 */
bool password_cache_claim(const char *stored_hash, const char *password);
void password_cache_release(const char *stored_hash, const char *password);

#endif
