#ifndef CASELLA_SCRAM_H
#define CASELLA_SCRAM_H

#include <stddef.h>

#include "auth/sasl.h"
#include "auth/userdb.h"
#include "lib/str.h"

/*
 * SCRAM internals (sasl-scram.c) below the mechanism interface: the
 * pieces the mechanism is made of, exposed so that tests can replay the
 * RFC examples, whose salts and server nonces no random source of ours
 * would produce.
 */

/* Random bytes in a server nonce; sent as their base64 (no padding, no
 * ',' in the alphabet), so 32 printable characters. */
#define SCRAM_SNONCE_BYTES 24
/* Salt bytes in credentials made by scram_credential_make(). */
#define SCRAM_SALT_BYTES 16

/* Makes the RFC 5803 credential of kind (USERDB_SCRAM_SHA1 or
 * USERDB_SCRAM_SHA256) for password with the given salt (1..64 bytes) and
 * iterations (1..INT_MAX).  Returns 0, or -1 on bad arguments, a library
 * failure, or if value_r (size bytes) is too small. */
int scram_credential_make_salted(const char *password, enum userdb_kind kind,
                                 unsigned iterations, const unsigned char *salt,
                                 size_t salt_len, char *value_r, size_t size);

/* The first step of a SCRAM session (s->mech one of the four SCRAM
 * mechanisms, s->phase 0) with the given server nonce, a NUL-terminated
 * string of 1..64 printable characters other than ','.  in is the
 * client-first-message; appends the server-first-message to out.  The
 * mechanism's step calls it with a random nonce. */
enum sasl_result scram_server_first(struct sasl_session *s,
                                    const unsigned char *in, size_t in_len,
                                    const char *snonce, struct str *out);

#endif
