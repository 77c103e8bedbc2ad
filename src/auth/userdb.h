#ifndef CASELLA_USERDB_H
#define CASELLA_USERDB_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Where the authentication mechanisms find users and their secrets.  This
 * is the seam for other user sources (LDAP, SQL, a checkpassword program):
 * a source implements struct userdb_ops; today there is one, the local
 * credential store (userdb-local.c over DATA/auth/credentials.db).
 *
 * A credential is a string per (user, kind), in the formats of
 * credentials.h.  Lookups run on the auth process's worker threads, so an
 * implementation may block; one struct userdb is used by one thread at a
 * time.
 */

#define USERDB_NAME_MAX  64  /* user names, as the store allows */
#define USERDB_VALUE_MAX 512 /* one credential string, with its NUL */

enum userdb_result {
	USERDB_OK,
	USERDB_NOT_FOUND, /* no such user, or no credential of that kind */
	USERDB_CONFLICT,  /* swap: the stored value was not the expected one */
	USERDB_ERROR,     /* the source failed; try again later */
};

/* Kinds of credential; the names are what the store keeps. */
enum userdb_kind {
	USERDB_PASSWORD,     /* "password": crypt(3) string, "$y$..." */
	USERDB_SCRAM_SHA1,   /* "scram-sha-1": RFC 5803 */
	USERDB_SCRAM_SHA256, /* "scram-sha-256": RFC 5803 */
	USERDB_CRAM_MD5,     /* "cram-md5": HMAC-MD5 pad states */
	USERDB_OTP,          /* "otp": RFC 2289 state */
	USERDB_KIND_COUNT,
};

struct userdb;

struct userdb_ops {
	/* Copies the user's credential of kind into value_r (size bytes,
	 * NUL-terminated). */
	enum userdb_result (*get)(struct userdb *db, const char *user,
	                          enum userdb_kind kind, char *value_r,
	                          size_t size);
	/* Whether the user exists (EXTERNAL, GSSAPI and OAuth name a user
	 * without checking one of its secrets). */
	enum userdb_result (*exists)(struct userdb *db, const char *user);
	/* Atomically replaces the credential if it still equals old_value:
	 * USERDB_CONFLICT otherwise.  OTP relies on this so that one
	 * response is accepted once, even by two sessions racing. */
	enum userdb_result (*swap)(struct userdb *db, const char *user,
	                           enum userdb_kind kind, const char *old_value,
	                           const char *new_value);
};

struct userdb {
	const struct userdb_ops *ops;
	void *context; /* the implementation's own */
};

/* The stored name of a kind ("password", "scram-sha-256", ...). */
const char *userdb_kind_name(enum userdb_kind kind);

static inline enum userdb_result
userdb_get(struct userdb *db, const char *user, enum userdb_kind kind,
           char *value_r, size_t size)
{
	return db->ops->get(db, user, kind, value_r, size);
}

static inline enum userdb_result
userdb_exists(struct userdb *db, const char *user)
{
	return db->ops->exists(db, user);
}

static inline enum userdb_result
userdb_swap(struct userdb *db, const char *user, enum userdb_kind kind,
            const char *old_value, const char *new_value)
{
	return db->ops->swap(db, user, kind, old_value, new_value);
}

#endif
