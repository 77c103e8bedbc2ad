#ifndef CASELLA_USERDB_MEMORY_H
#define CASELLA_USERDB_MEMORY_H

#include "auth/userdb.h"

/*
 * A user source held in memory, for unit tests and fuzzing: a fixed
 * number of users, each with one value per kind.  Not thread-safe.
 */
#define USERDB_MEMORY_USERS 8

struct userdb_memory_user {
	char name[USERDB_NAME_MAX + 1];
	char value[USERDB_KIND_COUNT][USERDB_VALUE_MAX]; /* "" = none */
};

struct userdb_memory {
	struct userdb db; /* what mechanisms get: &mem->db */
	struct userdb_memory_user users[USERDB_MEMORY_USERS];
	size_t user_count;
	bool fail; /* every call returns USERDB_ERROR */
};

void userdb_memory_init(struct userdb_memory *mem);
/* Adds a user (if new) and sets one credential; value "" removes it. */
void userdb_memory_set(struct userdb_memory *mem, const char *user,
                       enum userdb_kind kind, const char *value);

#endif
