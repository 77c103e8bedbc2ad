#ifndef CASELLA_CRAM_H
#define CASELLA_CRAM_H

#include "auth/sasl.h"
#include "lib/str.h"

/*
 * CRAM-MD5 internals (sasl-cram.c) below the mechanism interface,
 * exposed so that tests can replay RFC 2195's example, whose challenge
 * holds a time long past.
 */

/* Bytes in a challenge, at most. */
#define CRAM_MD5_CHALLENGE_MAX 320

/* The first step of a CRAM-MD5 session (s->mech is sasl_mech_cram_md5,
 * s->phase 0): sends challenge, 1..CRAM_MD5_CHALLENGE_MAX bytes, and
 * keeps it for the client's answer.  The mechanism's step calls it with
 * "<RANDOM.UNIXTIME@HOSTNAME>". */
enum sasl_result cram_md5_challenge_send(struct sasl_session *s,
                                         const char *challenge,
                                         struct str *out);

#endif
