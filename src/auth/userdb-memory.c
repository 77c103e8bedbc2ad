#include "auth/userdb-memory.h"

#include <string.h>

#include "lib/util.h"

static struct userdb_memory_user *
userdb_memory_find(struct userdb_memory *mem, const char *user)
{
	for (size_t i = 0; i < mem->user_count; i++) {
		if (strcmp(mem->users[i].name, user) == 0)
			return &mem->users[i];
	}
	return NULL;
}

static enum userdb_result
userdb_memory_get(struct userdb *db, const char *user, enum userdb_kind kind,
                  char *value_r, size_t size)
{
	struct userdb_memory *mem = db->context;
	if (mem->fail)
		return USERDB_ERROR;
	struct userdb_memory_user *u = userdb_memory_find(mem, user);
	if (u == NULL || u->value[kind][0] == '\0')
		return USERDB_NOT_FOUND;
	if (casella_strlcpy(value_r, u->value[kind], size) >= size)
		return USERDB_ERROR;
	return USERDB_OK;
}

static enum userdb_result
userdb_memory_exists(struct userdb *db, const char *user)
{
	struct userdb_memory *mem = db->context;
	if (mem->fail)
		return USERDB_ERROR;
	return userdb_memory_find(mem, user) != NULL ? USERDB_OK
	                                             : USERDB_NOT_FOUND;
}

static enum userdb_result
userdb_memory_swap(struct userdb *db, const char *user, enum userdb_kind kind,
                   const char *old_value, const char *new_value)
{
	struct userdb_memory *mem = db->context;
	if (mem->fail)
		return USERDB_ERROR;
	struct userdb_memory_user *u = userdb_memory_find(mem, user);
	if (u == NULL)
		return USERDB_NOT_FOUND;
	if (strcmp(u->value[kind], old_value) != 0)
		return USERDB_CONFLICT;
	casella_strlcpy(u->value[kind], new_value, USERDB_VALUE_MAX);
	return USERDB_OK;
}

static const struct userdb_ops userdb_memory_ops = {
    .get = userdb_memory_get,
    .exists = userdb_memory_exists,
    .swap = userdb_memory_swap,
};

void
userdb_memory_init(struct userdb_memory *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->db.ops = &userdb_memory_ops;
	mem->db.context = mem;
}

void
userdb_memory_set(struct userdb_memory *mem, const char *user,
                  enum userdb_kind kind, const char *value)
{
	struct userdb_memory_user *u = userdb_memory_find(mem, user);
	if (u == NULL) {
		i_assert(mem->user_count < USERDB_MEMORY_USERS);
		u = &mem->users[mem->user_count++];
		casella_strlcpy(u->name, user, sizeof(u->name));
	}
	casella_strlcpy(u->value[kind], value, USERDB_VALUE_MAX);
}
