#ifndef CASELLA_OTP_H
#define CASELLA_OTP_H

#include <stdbool.h>
#include <stddef.h>

/*
 * One-time passwords, RFC 2289: a chain of 64-bit values, each the
 * folded hash of the next, starting from hash(seed || pass phrase).  The
 * server keeps the last one-time password it accepted; the client proves
 * itself with the one before it in the chain, which the server hashes
 * once and compares.  MD4 is not offered (OpenSSL 3 hides it).
 *
 * The stored credential (USERDB_OTP) is "ALG SEQ SEED HEX", for example
 * "md5 500 ke1234 9e876134d90499dd": HEX is the last accepted one-time
 * password, at sequence SEQ, so the next challenge is for SEQ - 1.
 */

#define OTP_KEY_SIZE       8  /* RFC 2289 6: every value is 64 bits */
#define OTP_HEX_SIZE       17 /* 16 hex digits and a NUL */
#define OTP_WORDS_SIZE     30 /* six words of up to 4 letters, 5 spaces, NUL */
#define OTP_SEED_MAX       16 /* RFC 2289 6: 1 to 16 characters */
#define OTP_PASSPHRASE_MIN 10 /* RFC 2289 6: at least 10 characters */
#define OTP_PASSPHRASE_MAX 63 /* RFC 2289 6: generators support up to 63 */
/* The largest sequence number a challenge carries; a state holds up to
 * one more. */
#define OTP_SEQ_MAX 9999

enum otp_alg {
	OTP_ALG_MD5,  /* "md5", RFC 2289 5 and Appendix A */
	OTP_ALG_SHA1, /* "sha1", RFC 2289 Appendix A */
};

/* One user's place in a chain, as stored. */
struct otp_state {
	enum otp_alg alg;
	unsigned seq;                    /* the sequence of key */
	char seed[OTP_SEED_MAX + 1];     /* lower case, NUL-terminated */
	unsigned char key[OTP_KEY_SIZE]; /* the last accepted OTP */
};

/* Parses "md5" or "sha1" (either case); false for anything else,
 * including "md4". */
bool otp_alg_parse(const char *name, size_t len, enum otp_alg *alg_r);
/* "md5" or "sha1". */
const char *otp_alg_name(enum otp_alg alg);
/* RFC 2289 6: 1..OTP_SEED_MAX alphanumeric characters. */
bool otp_seed_valid(const char *seed, size_t len);
/* Makes a seed of two letters and four digits ("ke1234", as RFC 2289
 * examples) from 6 bytes, random or derived. */
void otp_seed_from_bytes(const unsigned char bytes[6],
                         char seed_r[OTP_SEED_MAX + 1]);

/* key_r = fold(hash(data)).  Returns 0, or -1 if the hash failed (a
 * FIPS-only OpenSSL has no MD5). */
int otp_hash_fold(enum otp_alg alg, const void *data, size_t len,
                  unsigned char key_r[OTP_KEY_SIZE]);
/* The one-time password for sequence seq: the initial step on the seed
 * (lowered) and pass phrase, then seq more steps.  Returns -1 if the
 * seed or pass phrase breaks RFC 2289 6 or a hash failed. */
int otp_compute(enum otp_alg alg, const char *seed, const char *passphrase,
                unsigned seq, unsigned char key_r[OTP_KEY_SIZE]);

/* Lower-case hex, 16 digits. */
void otp_key_to_hex(const unsigned char key[OTP_KEY_SIZE],
                    char hex_r[OTP_HEX_SIZE]);
/* Exactly 16 hex digits (either case), whitespace allowed around and
 * between them.  False otherwise. */
bool otp_key_from_hex(const char *s, size_t len,
                      unsigned char key_r[OTP_KEY_SIZE]);
/* Six upper-case words of the RFC 2289 Appendix D dictionary, one space
 * apart, the last carrying the 2-bit checksum (RFC 2289 6). */
void otp_key_to_words(const unsigned char key[OTP_KEY_SIZE],
                      char words_r[OTP_WORDS_SIZE]);
/* Six dictionary words in any case, separated by any whitespace.  False
 * for another count, an unknown word or a wrong checksum. */
bool otp_key_from_words(const char *s, size_t len,
                        unsigned char key_r[OTP_KEY_SIZE]);

/* Parses RFC 2243 new-params, "ALG SEQ SEED" with any whitespace around
 * the fields, SEQ 0..OTP_SEQ_MAX + 1 in decimal; fills all of state_r but
 * key. */
bool otp_params_parse(const char *s, size_t len, struct otp_state *state_r);
/* Parses a stored "ALG SEQ SEED HEX". */
bool otp_state_parse(const char *value, struct otp_state *state_r);
/* Writes "ALG SEQ SEED HEX".  Returns 0, or -1 if size is too small. */
int otp_state_format(const struct otp_state *state, char *value_r, size_t size);

/*
 * Makes the stored credential for a new chain whose first challenge is
 * for sequence seq (1..OTP_SEQ_MAX): the state holds OTP(seq + 1).  alg
 * is "md5" or "sha1"; the seed is stored lower case.  Returns 0, or -1 on
 * a bad argument, a hash failure or a value_r smaller than the state.
 */
int otp_credential_make(const char *alg, unsigned seq, const char *seed,
                        const char *passphrase, char *value_r, size_t size);

#endif
