/* The local user source, over the credential store (store/cred.h). */
#include "auth/userdb-local.h"

#include <stdlib.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/cred.h"

static enum userdb_result
userdb_local_result(enum store_result ret, const char *error)
{
	switch (ret) {
	case STORE_OK:
		return USERDB_OK;
	case STORE_NOT_FOUND:
		return USERDB_NOT_FOUND;
	case STORE_CONFLICT:
		return USERDB_CONFLICT;
	default:
		log_error("userdb: %s", error != NULL ? error : "failed");
		return USERDB_ERROR;
	}
}

static enum userdb_result
userdb_local_get(struct userdb *db, const char *user, enum userdb_kind kind,
                 char *value_r, size_t size)
{
	const char *error = NULL;
	enum store_result ret = cred_store_get(
	    db->context, user, userdb_kind_name(kind), value_r, size, &error);
	return userdb_local_result(ret, error);
}

static enum userdb_result
userdb_local_exists(struct userdb *db, const char *user)
{
	const char *error = NULL;
	return userdb_local_result(
	    cred_store_user_exists(db->context, user, &error), error);
}

static enum userdb_result
userdb_local_swap(struct userdb *db, const char *user, enum userdb_kind kind,
                  const char *old_value, const char *new_value)
{
	const char *error = NULL;
	enum store_result ret =
	    cred_store_swap(db->context, user, userdb_kind_name(kind),
	                    old_value, new_value, &error);
	return userdb_local_result(ret, error);
}

static const struct userdb_ops userdb_local_ops = {
    .get = userdb_local_get,
    .exists = userdb_local_exists,
    .swap = userdb_local_swap,
};

struct userdb *
userdb_local_open(const char *data_dir, const char **error_r)
{
	struct cred_store *cs;
	if (cred_store_open(data_dir, &cs, error_r) != STORE_OK)
		return NULL;
	struct userdb *db = xcalloc(1, sizeof(*db));
	db->ops = &userdb_local_ops;
	db->context = cs;
	return db;
}

void
userdb_local_close(struct userdb **db_p)
{
	struct userdb *db = *db_p;
	if (db == NULL)
		return;
	struct cred_store *cs = db->context;
	cred_store_close(&cs);
	free(db);
	*db_p = NULL;
}
