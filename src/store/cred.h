#ifndef CASELLA_STORE_CRED_H
#define CASELLA_STORE_CRED_H

#include <stddef.h>

#include "store/store.h"

/*
 * Credentials: opaque strings by (user, kind), kept apart from the mail in
 * DATA/auth/credentials.db, so that the auth process and the admin tool
 * open the secrets and the mail process never does (docs/security.md).
 * src/auth knows what the values mean (auth/credentials.h).  A struct
 * cred_store is one handle for one thread at a time; several processes
 * may use the file at once.  Errors as in store.h.
 */
#define CRED_DIR_NAME "auth"

struct cred_store;

struct cred_value {
	const char *kind;  /* "password", "scram-sha-256", ... */
	const char *value; /* "" removes the credential */
};

enum cred_put_mode {
	CRED_PUT_CREATE, /* the user must be new: STORE_EXISTS otherwise */
	CRED_PUT_UPDATE, /* the user must exist: STORE_NOT_FOUND otherwise */
};

/* DATA/auth/credentials.db; -1 if the path does not fit. */
int cred_store_path(const char *data_dir, char *path_r, size_t size);

/* Opens (creating DATA/auth and the database if needed). */
enum store_result cred_store_open(const char *data_dir,
                                  struct cred_store **cs_r,
                                  const char **error_r);
void cred_store_close(struct cred_store **cs);

/* STORE_NOT_FOUND if the user has no credential of that kind. */
enum store_result cred_store_get(struct cred_store *cs, const char *user,
                                 const char *kind, char *value_r, size_t size,
                                 const char **error_r);
enum store_result cred_store_user_exists(struct cred_store *cs,
                                         const char *user,
                                         const char **error_r);
/* Creates or updates a user and sets its credentials, in one
 * transaction; kinds not named keep their values. */
enum store_result cred_store_put(struct cred_store *cs, const char *user,
                                 enum cred_put_mode mode,
                                 const struct cred_value *values, size_t count,
                                 const char **error_r);
/* Replaces a credential only if it still holds old_value; STORE_CONFLICT
 * if it does not (another session changed it first). */
enum store_result cred_store_swap(struct cred_store *cs, const char *user,
                                  const char *kind, const char *old_value,
                                  const char *new_value, const char **error_r);
/* Removes the user and every credential; STORE_NOT_FOUND if absent. */
enum store_result cred_store_delete_user(struct cred_store *cs,
                                         const char *user,
                                         const char **error_r);

/* Removes the credentials of one kind from every user. */
enum store_result cred_store_delete_kind(struct cred_store *cs,
                                         const char *kind,
                                         const char **error_r);

/* Settings of the authentication policy, e.g. "cram-md5" = "off". */
enum store_result cred_store_setting_get(struct cred_store *cs, const char *key,
                                         char *value_r, size_t size,
                                         const char **error_r);
enum store_result cred_store_setting_set(struct cred_store *cs, const char *key,
                                         const char *value,
                                         const char **error_r);

#endif
