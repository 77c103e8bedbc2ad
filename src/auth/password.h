#ifndef CASELLA_PASSWORD_H
#define CASELLA_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Password hashing with yescrypt (libcrypt, "$y$" at its default cost).
 * Hashes are self-describing strings; a future cost change only affects
 * new hashes.
 */

#define PASSWORD_MAX_LEN 1024
/* Room for any hash string libcrypt produces, with its NUL. */
#define PASSWORD_HASH_SIZE 384

/* 1..PASSWORD_MAX_LEN bytes (a C string holds no NUL). */
bool password_is_acceptable(const char *password);
/* Hashes password with a fresh random salt into hash_r
 * (PASSWORD_HASH_SIZE bytes).  Returns 0, or -1 if libcrypt failed. */
int password_hash(const char *password, char *hash_r);
/* Checks password against hash.  With hash NULL (unknown user) it hashes
 * against a fixed dummy setting and returns false, taking the same time
 * as a real check. */
bool password_verify(const char *password, const char *hash);

#endif
