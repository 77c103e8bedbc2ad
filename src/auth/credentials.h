#ifndef CASELLA_CREDENTIALS_H
#define CASELLA_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/userdb.h"

/*
 * The secrets kept for a user, one string per kind (userdb.h), made from
 * a password by `casella user add/passwd`:
 *
 *   password       crypt(3) yescrypt, "$y$..." (password.c)
 *   scram-sha-1    RFC 5803: "SCRAM-SHA-1$ITER:SALT$STOREDKEY:SERVERKEY",
 *   scram-sha-256  base64 fields (sasl-scram.c).  The password itself
 *                  cannot be recovered from them, and a stolen copy does
 *                  not let anyone log in by SCRAM without cracking it.
 *   cram-md5       "CRAM-MD5$INNER$OUTER": the MD5 states after the HMAC
 *                  key pads, in hex (sasl-cram.c).  Equivalent to the
 *                  password for CRAM-MD5 itself, and quick to crack, which
 *                  is why an operator may turn CRAM-MD5 off.
 *   otp            RFC 2289 state, set by `casella user otp` (otp.c).
 */

#define SCRAM_DEFAULT_ITERATIONS 4096 /* RFC 7677 4: at least 4096 */

struct credentials {
	char value[USERDB_KIND_COUNT][USERDB_VALUE_MAX]; /* "" = none */
};

struct credentials_options {
	bool cram_md5;             /* store the CRAM-MD5 secret */
	unsigned scram_iterations; /* 0: SCRAM_DEFAULT_ITERATIONS */
};

/* Makes every password-derived credential.  Returns 0, or -1 if a
 * library call failed. */
int credentials_from_password(const char *password,
                              const struct credentials_options *options,
                              struct credentials *creds_r);
void credentials_wipe(struct credentials *creds);

/* In the mechanism files; each returns 0 or -1. */
int scram_credential_make(const char *password, enum userdb_kind kind,
                          unsigned iterations, char *value_r, size_t size);
int cram_md5_credential_make(const char *password, char *value_r, size_t size);

#endif
