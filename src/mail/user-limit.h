#ifndef CASELLA_USER_LIMIT_H
#define CASELLA_USER_LIMIT_H

#include <stdbool.h>

/*
 * Logged-in sessions per user, across the mail process's workers, so one
 * account cannot hold every connection.  The default (--max-per-user)
 * is far above what a person's devices open: Thunderbird alone opens 5
 * per account, a phone a few more.  Thread-safe; fixed memory, users
 * whose slot is taken share its count (stricter, never looser).
 */
struct user_limit;

struct user_limit *user_limit_create(unsigned max_per_user);
void user_limit_destroy(struct user_limit **ul);
/* Counts a new session of user; false (not counted) at the limit. */
bool user_limit_take(struct user_limit *ul, const char *user);
void user_limit_release(struct user_limit *ul, const char *user);

#endif
