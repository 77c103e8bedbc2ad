#ifndef CASELLA_ACCOUNT_H
#define CASELLA_ACCOUNT_H

#include <stdbool.h>

#include "store/cred.h"
#include "store/store.h"

/*
 * Accounts as the admin tool manages them: a user exists in the mail
 * store (mailboxes) and in the credential store (secrets).  These keep the
 * two in step and fill in every credential the enabled mechanisms need.
 * Errors as in store.h; *error_r is valid until the next call.
 */

/* Creates the user with a password: STORE_EXISTS if taken, STORE_DENIED
 * for an invalid name or password. */
enum store_result account_add(struct store *store, struct cred_store *cs,
                              const char *name, const char *password,
                              const char **error_r);
/* Replaces every password-derived credential (an OTP state stays). */
enum store_result account_set_password(struct cred_store *cs, const char *name,
                                       const char *password,
                                       const char **error_r);
/* Removes the user's mail and secrets. */
enum store_result account_delete(struct store *store, struct cred_store *cs,
                                 const char *name, const char **error_r);

/* Sets an RFC 2289 one-time password sequence: alg "md5" or "sha1", the
 * first challenge for seq, seed (NULL: a random one).  The pass phrase
 * itself is not kept. */
enum store_result account_set_otp(struct cred_store *cs, const char *name,
                                  const char *alg, unsigned seq,
                                  const char *seed, const char *passphrase,
                                  const char **error_r);

/* Whether CRAM-MD5 secrets are kept (on unless turned off). */
bool account_cram_md5_enabled(struct cred_store *cs);
/* Turns CRAM-MD5 on or off.  Off deletes every stored CRAM-MD5 secret;
 * on keeps new ones from the next password change. */
enum store_result account_set_cram_md5(struct cred_store *cs, bool on,
                                       const char **error_r);

#endif
