/* Tests for the embedded store (src/store/store-*.c, blob.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "store/blob.h"
#include "store/store.h"
#include "test.h"
#include "util.h"

/* The data directory of the running test, removed by test_finish(). */
static char test_dir[64];

static int
test_rm_entry(const char *path, const struct stat *st, int flag,
              struct FTW *ftw)
{
	return remove(path);
}

static struct store *
test_start(void)
{
	struct store *store = NULL;
	const char *error = NULL;

	casella_strlcpy(test_dir, "/tmp/casella-test-XXXXXX", sizeof(test_dir));
	if (mkdtemp(test_dir) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	if (store_open(test_dir, &store, &error) != STORE_OK)
		fatal("store_open: %s", error);
	return store;
}

static void
test_finish(struct store **store)
{
	store_close(store);
	(void)nftw(test_dir, test_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *
test_reopen(void)
{
	struct store *store = NULL;
	const char *error = NULL;
	if (store_open(test_dir, &store, &error) != STORE_OK)
		fatal("store_open: %s", error);
	return store;
}

static int64_t
test_user(struct store *store, const char *name)
{
	const char *error;
	int64_t id = 0;
	if (store_user_add(store, name, &error) != STORE_OK ||
	    store_user_lookup(store, name, &id, &error) != STORE_OK)
		fatal("user %s: %s", name, error);
	return id;
}

static int64_t
test_mailbox(struct store *store, int64_t user_id, const char *name)
{
	const char *error;
	int64_t id = 0;
	if (store_mailbox_create(store, user_id, name, 0, &id, &error) !=
	    STORE_OK)
		fatal("create %s: %s", name, error);
	return id;
}

static int64_t
test_inbox(struct store *store, int64_t user_id)
{
	struct arena *arena = arena_create(256);
	struct store_mailbox mb = {0};
	const char *error;
	if (store_mailbox_find(store, user_id, "INBOX", arena, &mb, &error) !=
	    STORE_OK)
		fatal("INBOX: %s", error);
	arena_destroy(&arena);
	return mb.id;
}

static uint32_t
test_append_len(struct store *store, int64_t mailbox_id, const void *data,
                size_t len)
{
	struct store_append_request req = {
	    .data = data,
	    .len = len,
	    .keywords = "",
	    .internaldate = 1700000000,
	    .internaldate_tz = 60,
	};
	uint32_t uid = 0, uidvalidity;
	const char *error;
	if (store_append(store, mailbox_id, &req, 1, &uid, &uidvalidity,
	                 &error) != STORE_OK)
		fatal("append: %s", error);
	return uid;
}

static uint32_t
test_append(struct store *store, int64_t mailbox_id, const char *body)
{
	return test_append_len(store, mailbox_id, body, strlen(body));
}

/* Loads all messages; the arena owns the result. */
static size_t
test_load(struct store *store, int64_t mailbox_id, struct arena *arena,
          struct store_message **msgs_r)
{
	size_t count = 0;
	const char *error;
	if (store_messages_load(store, mailbox_id, 1, arena, msgs_r, &count,
	                        &error) != STORE_OK)
		fatal("load: %s", error);
	return count;
}

static const struct store_message *
test_find_uid(const struct store_message *msgs, size_t count, uint32_t uid)
{
	for (size_t i = 0; i < count; i++) {
		if (msgs[i].uid == uid)
			return &msgs[i];
	}
	return NULL;
}

static bool
test_body_is(struct store *store, const char *blob_id, const void *data,
             size_t len)
{
	const char *body, *error;
	size_t body_len;
	if (store_body_map(store, blob_id, &body, &body_len, &error) !=
	    STORE_OK)
		return false;
	bool same = body != NULL && body_len == len &&
	            (len == 0 || memcmp(body, data, len) == 0);
	store_body_unmap(body, body_len);
	return same;
}

static bool
test_blob_file_exists(const char *blob_id)
{
	char path[256];
	struct stat st;
	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", test_dir, blob_id,
	         blob_id + 2);
	return stat(path, &st) == 0;
}

static size_t
test_count_blobs(void)
{
	char path[128];
	size_t n = 0;
	snprintf(path, sizeof(path), "%s/blobs", test_dir);
	DIR *top = opendir(path);
	struct dirent *d;
	while (top != NULL && (d = readdir(top)) != NULL) {
		if (d->d_name[0] == '.')
			continue;
		char sub[512];
		snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name);
		DIR *dir = opendir(sub);
		struct dirent *e;
		while (dir != NULL && (e = readdir(dir)) != NULL)
			n += e->d_name[0] != '.';
		if (dir != NULL)
			closedir(dir);
	}
	if (top != NULL)
		closedir(top);
	return n;
}

/* Runs SQL on the database directly, returning the first column of the
 * first row as an integer (or -1). */
static int64_t
test_sql_int(const char *sql)
{
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *stmt;
	int64_t v = -1;
	snprintf(path, sizeof(path), "%s/casella.db", test_dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		fatal("open %s", path);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK)
		fatal("sql %s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	return v;
}

static uint64_t
test_highestmodseq(struct store *store, int64_t mailbox_id)
{
	struct store_status st;
	const char *error;
	if (store_mailbox_status(store, mailbox_id, &st, &error) != STORE_OK)
		fatal("status: %s", error);
	return st.highestmodseq;
}

static void
test_users(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(1024);
	const char *error;
	int64_t id, id2;

	test_assert(store_user_add(store, "alice", &error) == STORE_OK);
	test_assert(store_user_add(store, "alice", &error) == STORE_EXISTS);
	static const char *const bad[] = {
	    "",
	    ".hidden",
	    "a b",
	    "a/b",
	    "caf\xc3\xa9",
	    "x:y",
	    "01234567890123456789012345678901234567890123456789012345678901234",
	};
	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		test_assert(store_user_add(store, bad[i], &error) ==
		            STORE_DENIED);
	test_assert(store_user_add(store, "b.o_b@ex-ample+tag", &error) ==
	            STORE_OK);
	test_assert(store_user_add(store,
	                           "0123456789012345678901234567890123456789"
	                           "012345678901234567890123",
	                           &error) == STORE_OK);
	/* No secret lives in the mail store (docs/security.md). */
	test_assert(test_sql_int("SELECT count(*) FROM pragma_table_info("
	                         "'users') WHERE name LIKE '%pass%'") == 0);

	test_assert(store_user_lookup(store, "alice", &id, &error) == STORE_OK);
	/* The INBOX comes with the user. */
	struct store_mailbox mb;
	test_assert(store_mailbox_find(store, id, "INBOX", arena, &mb,
	                               &error) == STORE_OK);

	const char **names;
	size_t count;
	test_assert(store_user_list(store, arena, &names, &count, &error) ==
	            STORE_OK);
	test_assert(count == 3);
	for (size_t i = 1; i < count; i++)
		test_assert(strcmp(names[i - 1], names[i]) < 0);

	test_assert(store_user_delete(store, "alice", &error) == STORE_OK);
	test_assert(store_user_lookup(store, "alice", &id2, &error) ==
	            STORE_NOT_FOUND);
	test_assert(store_user_delete(store, "alice", &error) ==
	            STORE_NOT_FOUND);
	char sql[96];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM mailboxes WHERE user_id = %lld",
	         (long long)id);
	test_assert(test_sql_int(sql) == 0);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_mailboxes(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(1024);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t other = test_user(store, "bob");
	int64_t work, id;

	test_assert(store_mailbox_create(store, user, "Work",
	                                 STORE_SPECIAL_ARCHIVE, &work,
	                                 &error) == STORE_OK);
	test_assert(store_mailbox_create(store, user, "Work", 0, &id, &error) ==
	            STORE_EXISTS);
	test_assert(store_mailbox_create(store, user, "INBOX", 0, &id,
	                                 &error) == STORE_EXISTS);
	/* Names are per user. */
	test_assert(store_mailbox_create(store, other, "Work", 0, &id,
	                                 &error) == STORE_OK);
	test_assert(store_mailbox_create(store, 9999, "Work", 0, &id, &error) ==
	            STORE_NOT_FOUND);
	test_mailbox(store, user, "Work/Sub");
	test_mailbox(store, user, "Archive");
	test_mailbox(store, user, "\303\234ber");

	char *long_name = xmalloc(1026);
	memset(long_name, 'n', 1025);
	long_name[1025] = '\0';
	test_assert(store_mailbox_create(store, user, long_name, 0, &id,
	                                 &error) == STORE_LIMIT);
	test_assert(store_mailbox_create(store, user, "", 0, &id, &error) ==
	            STORE_DENIED);
	long_name[1024] = '\0';
	test_assert(store_mailbox_create(store, user, long_name, 0, &id,
	                                 &error) == STORE_OK);
	test_assert(store_mailbox_delete(store, user, long_name, &error) ==
	            STORE_OK);
	free(long_name);

	struct store_mailbox *list;
	size_t count;
	test_assert(store_mailbox_list(store, user, arena, &list, &count,
	                               &error) == STORE_OK);
	static const char *const want[] = {"Archive", "INBOX", "Work",
	                                   "Work/Sub", "\303\234ber"};
	test_assert(count == N_ELEMENTS(want));
	for (size_t i = 0; i < count && i < N_ELEMENTS(want); i++)
		test_assert(strcmp(list[i].name, want[i]) == 0);

	struct store_mailbox mb;
	test_assert(store_mailbox_find(store, user, "Work", arena, &mb,
	                               &error) == STORE_OK);
	test_assert(mb.id == work && strcmp(mb.name, "Work") == 0);
	test_assert(mb.uidnext == 1 && mb.uidvalidity != 0);
	test_assert(mb.special_use == STORE_SPECIAL_ARCHIVE);
	test_assert(store_mailbox_find(store, user, "work", arena, &mb,
	                               &error) == STORE_NOT_FOUND);
	test_assert(store_mailbox_find(store, user, "Nope", arena, &mb,
	                               &error) == STORE_NOT_FOUND);

	test_assert(store_mailbox_delete(store, user, "INBOX", &error) ==
	            STORE_DENIED);
	test_assert(store_mailbox_delete(store, user, "Nope", &error) ==
	            STORE_NOT_FOUND);
	/* Deleting a parent leaves its children. */
	test_assert(store_mailbox_delete(store, user, "Work", &error) ==
	            STORE_OK);
	test_assert(store_mailbox_find(store, user, "Work/Sub", arena, &mb,
	                               &error) == STORE_OK);
	test_assert(store_mailbox_find(store, user, "Work", arena, &mb,
	                               &error) == STORE_NOT_FOUND);
	struct store_status st;
	test_assert(store_mailbox_status(store, work, &st, &error) ==
	            STORE_NOT_FOUND);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_uidvalidity_unique(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(1024);
	const char *error;
	int64_t user = test_user(store, "alice");
	uint32_t seen[5];

	for (size_t i = 0; i < N_ELEMENTS(seen); i++) {
		struct store_mailbox mb;
		int64_t id = test_mailbox(store, user, "Box");
		test_assert(store_mailbox_find(store, user, "Box", arena, &mb,
		                               &error) == STORE_OK);
		test_assert(mb.id == id);
		seen[i] = mb.uidvalidity;
		for (size_t j = 0; j < i; j++)
			test_assert(seen[j] < seen[i]);
		test_assert(store_mailbox_delete(store, user, "Box", &error) ==
		            STORE_OK);
	}
	/* Also across handles: the counter is in the database. */
	store_close(&store);
	store = test_reopen();
	struct store_mailbox mb;
	test_mailbox(store, user, "Box");
	test_assert(store_mailbox_find(store, user, "Box", arena, &mb,
	                               &error) == STORE_OK);
	test_assert(mb.uidvalidity > seen[N_ELEMENTS(seen) - 1]);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_delete_gc(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(1024);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t a = test_mailbox(store, user, "A");
	int64_t b = test_mailbox(store, user, "B");
	struct store_message *msgs;

	test_append(store, a, "only in A\r\n");
	uint32_t shared = test_append(store, a, "shared with B\r\n");
	size_t n = test_load(store, a, arena, &msgs);
	test_assert(n == 2);
	if (n != 2)
		goto out;
	const char *only_id = arena_strdup(arena, msgs[0].blob_id);
	const char *shared_id = arena_strdup(arena, msgs[1].blob_id);
	uint32_t *src, *dst, uidvalidity;
	size_t count;
	test_assert(store_messages_copy(store, a, &shared, 1, b, false, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(test_count_blobs() == 2);

	test_assert(store_mailbox_delete(store, user, "A", &error) == STORE_OK);
	test_assert(!test_blob_file_exists(only_id));
	test_assert(test_blob_file_exists(shared_id));
	test_assert(test_count_blobs() == 1);
	test_assert(test_body_is(store, shared_id, "shared with B\r\n", 15));
	test_assert(test_sql_int("SELECT count(*) FROM expunged") == 0);

	/* A second user with the same body shares the file as well. */
	int64_t bob = test_user(store, "bob");
	test_append(store, test_inbox(store, bob), "shared with B\r\n");
	test_append(store, test_inbox(store, user), "alice alone\r\n");
	test_assert(test_count_blobs() == 2);
	test_assert(store_user_delete(store, "alice", &error) == STORE_OK);
	test_assert(test_count_blobs() == 1);
	test_assert(test_blob_file_exists(shared_id));
	test_assert(test_sql_int("SELECT count(*) FROM mailboxes") == 1);
	test_assert(test_sql_int("SELECT count(*) FROM messages") == 1);
out:
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_rename(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t work = test_mailbox(store, user, "Work");
	int64_t sub = test_mailbox(store, user, "Work/Sub");
	int64_t deep = test_mailbox(store, user, "Work/Sub/Deep");
	int64_t shop = test_mailbox(store, user, "Workshop");
	test_append(store, work, "work mail\r\n");
	struct store_mailbox before, after;
	test_assert(store_mailbox_find(store, user, "Work", arena, &before,
	                               &error) == STORE_OK);

	test_assert(store_mailbox_rename(store, user, "Work", "Job", &error) ==
	            STORE_OK);
	struct store_mailbox mb;
	test_assert(store_mailbox_find(store, user, "Job", arena, &after,
	                               &error) == STORE_OK);
	test_assert(after.id == work);
	test_assert(after.uidvalidity == before.uidvalidity);
	test_assert(after.uidnext == 2);
	test_assert(store_mailbox_find(store, user, "Job/Sub", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == sub);
	test_assert(store_mailbox_find(store, user, "Job/Sub/Deep", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == deep);
	test_assert(store_mailbox_find(store, user, "Workshop", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == shop);
	test_assert(store_mailbox_find(store, user, "Work", arena, &mb,
	                               &error) == STORE_NOT_FOUND);

	test_assert(store_mailbox_rename(store, user, "Nope", "X", &error) ==
	            STORE_NOT_FOUND);
	test_assert(store_mailbox_rename(store, user, "Job", "Workshop",
	                                 &error) == STORE_EXISTS);
	test_assert(store_mailbox_rename(store, user, "Job", "Job/In",
	                                 &error) == STORE_DENIED);
	test_assert(store_mailbox_rename(store, user, "Job", "INBOX", &error) ==
	            STORE_EXISTS);
	/* A child's new name is taken: nothing moves. */
	test_mailbox(store, user, "Other/Sub");
	test_assert(store_mailbox_rename(store, user, "Job", "Other", &error) ==
	            STORE_EXISTS);
	test_assert(store_mailbox_find(store, user, "Job", arena, &mb,
	                               &error) == STORE_OK);
	test_assert(store_mailbox_find(store, user, "Other", arena, &mb,
	                               &error) == STORE_NOT_FOUND);

	/* Renaming to an ancestor: targets are names still in use by the
	 * set itself (a/b/b -> a/b while a/b -> a). */
	int64_t ab = test_mailbox(store, user, "a/b");
	int64_t abb = test_mailbox(store, user, "a/b/b");
	int64_t abbx = test_mailbox(store, user, "a/b/b/x");
	test_assert(store_mailbox_rename(store, user, "a/b", "a", &error) ==
	            STORE_OK);
	test_assert(store_mailbox_find(store, user, "a", arena, &mb, &error) ==
	                STORE_OK &&
	            mb.id == ab);
	test_assert(store_mailbox_find(store, user, "a/b", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == abb);
	test_assert(store_mailbox_find(store, user, "a/b/x", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == abbx);
	test_assert(test_sql_int("SELECT count(*) FROM mailboxes WHERE "
	                         "name LIKE 'a%'") == 3);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_rename_inbox(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t inbox = test_inbox(store, user);
	int64_t child = test_mailbox(store, user, "INBOX/child");
	test_append(store, inbox, "one\r\n");
	uint32_t two = test_append(store, inbox, "two\r\n");
	uint32_t three = test_append(store, inbox, "three\r\n");
	struct store_message *changed;
	uint32_t *failed;
	size_t nc, nf;
	test_assert(store_flags_update(store, inbox, &three, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_FLAGGED, "$Important", 0,
	                               arena, &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(store_flags_update(store, inbox, &two, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_DELETED, "", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	uint32_t *expunged;
	size_t ne;
	test_assert(store_expunge(store, inbox, NULL, 0, arena, &expunged, &ne,
	                          &error) == STORE_OK);
	uint64_t modseq = test_highestmodseq(store, inbox);

	test_assert(store_mailbox_rename(store, user, "INBOX", "Old", &error) ==
	            STORE_OK);
	struct store_mailbox old, mb;
	test_assert(store_mailbox_find(store, user, "Old", arena, &old,
	                               &error) == STORE_OK);
	struct store_message *msgs;
	size_t n = test_load(store, old.id, arena, &msgs);
	test_assert(n == 2);
	if (n == 2) {
		test_assert(msgs[0].uid == 1 && msgs[1].uid == 2);
		test_assert(test_body_is(store, msgs[0].blob_id, "one\r\n", 5));
		test_assert(
		    test_body_is(store, msgs[1].blob_id, "three\r\n", 7));
		test_assert(msgs[1].flags == STORE_FLAG_FLAGGED);
		test_assert(strcmp(msgs[1].keywords, "$Important") == 0);
		test_assert(msgs[0].internaldate == 1700000000 &&
		            msgs[0].internaldate_tz == 60);
	}
	test_assert(old.uidnext == 3);

	/* INBOX stays, empty, its UIDs not reused; the messages left it as
	 * expunges; its children stay put. */
	struct store_status st;
	test_assert(store_mailbox_status(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(st.messages == 0 && st.uidnext == 4);
	test_assert(st.highestmodseq > modseq);
	test_assert(store_messages_expunged_since(store, inbox, modseq, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_OK);
	test_assert(ne == 2 && expunged[0] == 1 && expunged[1] == 3);
	test_assert(store_mailbox_find(store, user, "INBOX/child", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.id == child);
	test_assert(store_mailbox_find(store, user, "Old/child", arena, &mb,
	                               &error) == STORE_NOT_FOUND);
	test_assert(test_inbox(store, user) == inbox);
	test_assert(store_mailbox_rename(store, user, "INBOX", "Old", &error) ==
	            STORE_EXISTS);
	/* An empty INBOX renames too. */
	test_assert(store_mailbox_rename(store, user, "INBOX", "Empty",
	                                 &error) == STORE_OK);
	test_assert(store_mailbox_find(store, user, "Empty", arena, &mb,
	                               &error) == STORE_OK &&
	            mb.uidnext == 1);
	test_assert(test_count_blobs() == 2);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_append_basic(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t inbox = test_inbox(store, user);
	static const char nul_body[] = "Subject: x\r\n\r\na\0b\0\0c\r\n";
	const size_t nul_len = sizeof(nul_body) - 1;

	uint64_t m0 = test_highestmodseq(store, inbox);
	uint32_t u1 = test_append(store, inbox, "first\r\n");
	uint64_t m1 = test_highestmodseq(store, inbox);
	uint32_t u2 = test_append_len(store, inbox, nul_body, nul_len);
	uint32_t u3 = test_append_len(store, inbox, "", 0);
	uint64_t m3 = test_highestmodseq(store, inbox);
	test_assert(u1 == 1 && u2 == 2 && u3 == 3);
	test_assert(m0 < m1 && m1 + 2 == m3);

	struct store_append_request reqs[3] = {
	    {.data = "a\r\n",
	     .len = 3,
	     .keywords = "b a",
	     .flags = STORE_FLAG_SEEN | 0x100},
	    {.data = "b\r\n", .len = 3, .keywords = ""},
	    {.data = "a\r\n", .len = 3, .keywords = NULL},
	};
	uint32_t uids[3], uidvalidity = 0;
	test_assert(store_append(store, inbox, reqs, 3, uids, &uidvalidity,
	                         &error) == STORE_OK);
	test_assert(uids[0] == 4 && uids[1] == 5 && uids[2] == 6);
	test_assert(test_highestmodseq(store, inbox) == m3 + 1);

	struct store_message *msgs;
	size_t n = test_load(store, inbox, arena, &msgs);
	test_assert(n == 6);
	if (n == 6) {
		test_assert(msgs[1].size == nul_len);
		test_assert(
		    test_body_is(store, msgs[1].blob_id, nul_body, nul_len));
		test_assert(msgs[2].size == 0);
		test_assert(test_body_is(store, msgs[2].blob_id, "", 0));
		test_assert(msgs[3].flags == STORE_FLAG_SEEN);
		test_assert(strcmp(msgs[3].keywords, "a b") == 0);
		test_assert(strcmp(msgs[4].keywords, "") == 0);
		test_assert(msgs[3].modseq == msgs[5].modseq);
		/* Identical bodies share one file. */
		test_assert(strcmp(msgs[3].blob_id, msgs[5].blob_id) == 0);
		test_assert(strlen(msgs[0].blob_id) == 64);
	}
	test_assert(test_count_blobs() == 5);
	struct store_mailbox mb;
	test_assert(store_mailbox_find(store, user, "INBOX", arena, &mb,
	                               &error) == STORE_OK);
	test_assert(uidvalidity == mb.uidvalidity && mb.uidnext == 7);

	struct store_status st;
	test_assert(store_mailbox_status(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(st.messages == 6 && st.unseen == 5 && st.recent == 6);
	test_assert(st.size == 7 + nul_len + 0 + 9);

	/* Messages read from the pointer given come back in a min_uid
	 * slice too. */
	size_t count;
	test_assert(store_messages_load(store, inbox, 5, arena, &msgs, &count,
	                                &error) == STORE_OK);
	test_assert(count == 2 && msgs[0].uid == 5);
	test_assert(store_messages_load(store, 12345, 1, arena, &msgs, &count,
	                                &error) == STORE_NOT_FOUND);
	const char *body;
	size_t len;
	test_assert(store_body_map(store, "../../etc/passwd", &body, &len,
	                           &error) == STORE_NOT_FOUND);
	arena_destroy(&arena);
	test_finish(&store);
}

/* A multi-append that fails inside the transaction leaves nothing. */
static void
test_append_atomic(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t inbox = test_inbox(store, user);
	test_append(store, inbox, "kept\r\n");
	size_t blobs = test_count_blobs();

	/* Room for two more UIDs only. */
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "UPDATE mailboxes SET uidnext = 4294967293 WHERE id = %lld; "
	         "SELECT 1",
	         (long long)inbox);
	(void)test_sql_int(sql);
	test_assert(test_sql_int("SELECT max(uidnext) FROM mailboxes") ==
	            4294967293LL);
	struct store_append_request reqs[3] = {
	    {.data = "x1\r\n", .len = 4},
	    {.data = "x2\r\n", .len = 4},
	    {.data = "x3\r\n", .len = 4},
	};
	uint32_t uids[3], uidvalidity;
	uint64_t modseq = test_highestmodseq(store, inbox);
	test_assert(store_append(store, inbox, reqs, 3, uids, &uidvalidity,
	                         &error) == STORE_LIMIT);
	struct store_message *msgs;
	test_assert(test_load(store, inbox, arena, &msgs) == 1);
	test_assert(test_highestmodseq(store, inbox) == modseq);
	/* The bodies written for it went again. */
	test_assert(test_count_blobs() == blobs);
	test_assert(store_append(store, inbox, reqs, 2, uids, &uidvalidity,
	                         &error) == STORE_OK);
	test_assert(uids[0] == 4294967293u && uids[1] == 4294967294u);
	test_assert(store_append(store, inbox, reqs, 1, uids, &uidvalidity,
	                         &error) == STORE_LIMIT);

	/* Limits checked before anything is written. */
	size_t big_len = ((size_t)64 << 20) + 1;
	void *big =
	    mmap(NULL, big_len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	test_assert(big != MAP_FAILED);
	struct store_append_request huge = {.data = big, .len = big_len};
	int64_t other = test_mailbox(store, user, "Other");
	test_assert(store_append(store, other, &huge, 1, uids, &uidvalidity,
	                         &error) == STORE_LIMIT);
	munmap(big, big_len);
	/* One keyword past the 16 KiB a message may carry. */
	char kw[17000];
	memset(kw, 'k', sizeof(kw) - 1);
	kw[sizeof(kw) - 1] = '\0';
	struct store_append_request many = {
	    .data = "m", .len = 1, .keywords = kw};
	test_assert(store_append(store, other, &many, 1, uids, &uidvalidity,
	                         &error) == STORE_LIMIT);
	test_assert(store_append(store, 98765, reqs, 1, uids, &uidvalidity,
	                         &error) == STORE_NOT_FOUND);
	test_assert(test_load(store, other, arena, &msgs) == 0);
	test_assert(test_count_blobs() == blobs + 2);
	char path[128];
	snprintf(path, sizeof(path), "%s/tmp", test_dir);
	DIR *dir = opendir(path);
	size_t tmp_files = 0;
	struct dirent *d;
	while (dir != NULL && (d = readdir(dir)) != NULL)
		tmp_files += d->d_name[0] != '.';
	if (dir != NULL)
		closedir(dir);
	test_assert(tmp_files == 0);
	arena_destroy(&arena);
	test_finish(&store);
}

/* A body that can't be installed fails the append before any row is
 * written: a file where its blobs/XX directory should be makes every
 * step after the temporary file fail. */
static void
test_append_io_failure(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error = NULL;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	static const char body[] = "Subject: doomed\r\n\r\nbody\r\n";
	char id[BLOB_ID_LEN + 1], path[160];

	test_append(store, inbox, "before\r\n");
	uint64_t modseq = test_highestmodseq(store, inbox);
	blob_id_compute(body, strlen(body), id);
	snprintf(path, sizeof(path), "%s/blobs/%.2s", test_dir, id);
	int fd = open(path, O_CREAT | O_WRONLY | O_EXCL, 0600);
	test_assert(fd >= 0);
	if (fd >= 0)
		close(fd);

	struct store_append_request req = {.data = body, .len = strlen(body)};
	uint32_t uid, uidvalidity;
	test_assert(store_append(store, inbox, &req, 1, &uid, &uidvalidity,
	                         &error) == STORE_ERROR);
	test_assert(error != NULL && error[0] != '\0');
	struct store_message *msgs;
	test_assert(test_load(store, inbox, arena, &msgs) == 1);
	test_assert(test_highestmodseq(store, inbox) == modseq);
	snprintf(path, sizeof(path), "%s/tmp", test_dir);
	DIR *dir = opendir(path);
	size_t tmp_files = 0;
	struct dirent *d;
	while (dir != NULL && (d = readdir(dir)) != NULL)
		tmp_files += d->d_name[0] != '.';
	if (dir != NULL)
		closedir(dir);
	test_assert(tmp_files == 0);

	/* Once the obstacle is gone the same append works, UID 2. */
	snprintf(path, sizeof(path), "%s/blobs/%.2s", test_dir, id);
	test_assert(unlink(path) == 0);
	test_assert(store_append(store, inbox, &req, 1, &uid, &uidvalidity,
	                         &error) == STORE_OK);
	test_assert(uid == 2);
	test_assert(test_blob_file_exists(id));
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_flags(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	struct store_message *changed;
	uint32_t *failed;
	size_t nc, nf;
	for (int i = 0; i < 4; i++)
		test_append(store, inbox, i % 2 ? "odd\r\n" : "even\r\n");

	uint64_t m0 = test_highestmodseq(store, inbox);
	uint32_t one_two[] = {1, 2, 2, 99};
	test_assert(store_flags_update(store, inbox, one_two, 4,
	                               STORE_FLAGS_ADD, STORE_FLAG_SEEN, "", 0,
	                               arena, &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(nc == 2 && nf == 0);
	uint64_t m1 = test_highestmodseq(store, inbox);
	test_assert(m1 == m0 + 1);
	if (nc == 2) {
		test_assert(changed[0].uid == 1 && changed[1].uid == 2);
		test_assert(changed[0].flags == STORE_FLAG_SEEN);
		test_assert(changed[0].modseq == m1 && changed[1].modseq == m1);
		test_assert(changed[0].size == 6 && changed[0].blob_id[0]);
	}
	/* No real change: nothing returned, no new modseq. */
	test_assert(store_flags_update(store, inbox, one_two, 2,
	                               STORE_FLAGS_ADD, STORE_FLAG_SEEN, "", 0,
	                               arena, &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(nc == 0 && test_highestmodseq(store, inbox) == m1);
	uint32_t one = 1, three = 3, four = 4;
	test_assert(store_flags_update(store, inbox, &one, 1,
	                               STORE_FLAGS_REMOVE, STORE_FLAG_SEEN, "",
	                               0, arena, &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(nc == 1 && changed[0].flags == 0);

	/* Keywords: sorted, case-insensitive duplicates dropped. */
	test_assert(
	    store_flags_update(store, inbox, &three, 1, STORE_FLAGS_REPLACE,
	                       STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT,
	                       "zeta Alpha  alpha $Junk", 0, arena, &changed,
	                       &nc, &failed, &nf, &error) == STORE_OK);
	test_assert(nc == 1 && changed[0].flags ==
	                           (STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT));
	test_assert(nc == 1 &&
	            strcmp(changed[0].keywords, "$Junk Alpha zeta") == 0);
	test_assert(store_flags_update(store, inbox, &three, 1, STORE_FLAGS_ADD,
	                               0, "ZETA", 0, arena, &changed, &nc,
	                               &failed, &nf, &error) == STORE_OK);
	test_assert(nc == 0);
	test_assert(store_flags_update(store, inbox, &three, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_ANSWERED, "beta", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(nc == 1 &&
	            strcmp(changed[0].keywords, "$Junk Alpha beta zeta") == 0);
	test_assert(store_flags_update(
	                store, inbox, &three, 1, STORE_FLAGS_REMOVE,
	                STORE_FLAG_DRAFT, "ALPHA $junk nothere", 0, arena,
	                &changed, &nc, &failed, &nf, &error) == STORE_OK);
	test_assert(nc == 1 && strcmp(changed[0].keywords, "beta zeta") == 0);
	test_assert(nc == 1 && changed[0].flags ==
	                           (STORE_FLAG_FLAGGED | STORE_FLAG_ANSWERED));

	/* CONDSTORE: 3 changed after 4's modseq, so it fails. */
	struct store_message *msgs;
	size_t n = test_load(store, inbox, arena, &msgs);
	test_assert(n == 4);
	uint64_t since = n == 4 ? msgs[3].modseq : 0;
	uint32_t three_four[] = {3, 4};
	test_assert(store_flags_update(store, inbox, three_four, 2,
	                               STORE_FLAGS_ADD, STORE_FLAG_DELETED, "",
	                               since, arena, &changed, &nc, &failed,
	                               &nf, &error) == STORE_OK);
	test_assert(nc == 1 && changed[0].uid == 4);
	test_assert(nf == 1 && failed[0] == 3);
	test_assert(store_flags_update(store, inbox, &four, 1,
	                               STORE_FLAGS_REPLACE, 0, "", since, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(nc == 0 && nf == 1);

	/* messages_changed reports what changed, below a UID. */
	test_assert(store_messages_changed(store, inbox, m1, 99, arena, &msgs,
	                                   &n, &error) == STORE_OK);
	test_assert(n == 3 && msgs[0].uid == 1 && msgs[1].uid == 3 &&
	            msgs[2].uid == 4);
	test_assert(store_messages_changed(store, inbox, m1, 4, arena, &msgs,
	                                   &n, &error) == STORE_OK);
	test_assert(n == 2);
	test_assert(store_messages_changed(
	                store, inbox, test_highestmodseq(store, inbox), 99,
	                arena, &msgs, &n, &error) == STORE_OK);
	test_assert(n == 0);
	test_assert(store_flags_update(store, 4242, &one, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_SEEN, "", 0, arena, &changed,
	                               &nc, &failed, &nf,
	                               &error) == STORE_NOT_FOUND);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_copy_move(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t user = test_user(store, "alice");
	int64_t a = test_inbox(store, user);
	int64_t b = test_mailbox(store, user, "B");
	struct store_message *msgs, *changed;
	uint32_t *src, *dst, *failed, uidvalidity;
	size_t count, nc, nf;

	test_append(store, a, "one\r\n");
	test_append(store, a, "two\r\n");
	test_append(store, a, "three\r\n");
	uint32_t three = 3;
	test_assert(store_flags_update(store, a, &three, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_SEEN, "kw", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	size_t blobs = test_count_blobs();
	uint64_t b_modseq = test_highestmodseq(store, b);

	uint32_t pick[] = {1, 3, 99};
	test_assert(store_messages_copy(store, a, pick, 3, b, false, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(count == 2);
	if (count == 2) {
		test_assert(src[0] == 1 && src[1] == 3);
		test_assert(dst[0] == 1 && dst[1] == 2);
	}
	struct store_mailbox mb;
	test_assert(store_mailbox_find(store, user, "B", arena, &mb, &error) ==
	            STORE_OK);
	test_assert(uidvalidity == mb.uidvalidity && mb.uidnext == 3);
	test_assert(mb.highestmodseq == b_modseq + 1);
	test_assert(test_count_blobs() == blobs);
	size_t n = test_load(store, b, arena, &msgs);
	test_assert(n == 2);
	if (n == 2) {
		test_assert(
		    test_body_is(store, msgs[1].blob_id, "three\r\n", 7));
		test_assert(msgs[1].flags == STORE_FLAG_SEEN &&
		            strcmp(msgs[1].keywords, "kw") == 0);
		test_assert(msgs[1].internaldate == 1700000000);
		test_assert(msgs[1].modseq == b_modseq + 1);
	}
	test_assert(test_load(store, a, arena, &msgs) == 3);

	uint64_t a_modseq = test_highestmodseq(store, a);
	uint32_t two = 2;
	test_assert(store_messages_copy(store, a, &two, 1, b, true, arena, &src,
	                                &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(count == 1 && src[0] == 2 && dst[0] == 3);
	n = test_load(store, a, arena, &msgs);
	test_assert(n == 2 && test_find_uid(msgs, n, 2) == NULL);
	uint32_t *expunged;
	size_t ne;
	test_assert(store_messages_expunged_since(store, a, a_modseq, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_OK);
	test_assert(ne == 1 && expunged[0] == 2);
	test_assert(test_highestmodseq(store, a) == a_modseq + 1);
	n = test_load(store, b, arena, &msgs);
	test_assert(n == 3 && msgs[2].uid == 3 &&
	            test_body_is(store, msgs[2].blob_id, "two\r\n", 5));
	test_assert(test_count_blobs() == blobs);

	/* Within one mailbox: a copy gets a new UID, a move too, and the
	 * old UID is expunged. */
	uint32_t one = 1;
	test_assert(store_messages_copy(store, a, &one, 1, a, false, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(count == 1 && dst[0] == 4);
	a_modseq = test_highestmodseq(store, a);
	test_assert(store_messages_copy(store, a, &one, 1, a, true, arena, &src,
	                                &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(count == 1 && dst[0] == 5);
	n = test_load(store, a, arena, &msgs);
	test_assert(n == 3 && test_find_uid(msgs, n, 1) == NULL &&
	            test_find_uid(msgs, n, 5) != NULL);
	test_assert(test_highestmodseq(store, a) == a_modseq + 1);
	test_assert(store_messages_expunged_since(store, a, a_modseq, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_OK);
	test_assert(ne == 1 && expunged[0] == 1);

	/* Nothing to copy: no change, no error. */
	test_assert(store_messages_copy(store, a, &one, 1, b, false, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(count == 0 && uidvalidity == mb.uidvalidity);
	test_assert(store_messages_copy(store, a, &one, 1, 5555, false, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_NOT_FOUND);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_expunge(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	struct store_message *changed, *msgs;
	uint32_t *failed, *expunged;
	size_t nc, nf, ne;
	char body[32];

	for (int i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "message %d\r\n", i);
		test_append(store, inbox, body);
	}
	uint32_t del[] = {2, 3, 5};
	test_assert(store_flags_update(store, inbox, del, 3, STORE_FLAGS_ADD,
	                               STORE_FLAG_DELETED, "", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	struct store_status st;
	test_assert(store_mailbox_status(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(st.deleted == 3);
	uint64_t m0 = test_highestmodseq(store, inbox);

	uint32_t only[] = {3, 4};
	test_assert(store_expunge(store, inbox, only, 2, arena, &expunged, &ne,
	                          &error) == STORE_OK);
	test_assert(ne == 1 && expunged[0] == 3);
	test_assert(test_count_blobs() == 4);
	test_assert(store_expunge(store, inbox, NULL, 0, arena, &expunged, &ne,
	                          &error) == STORE_OK);
	test_assert(ne == 2 && expunged[0] == 2 && expunged[1] == 5);
	test_assert(test_count_blobs() == 2);
	size_t n = test_load(store, inbox, arena, &msgs);
	test_assert(n == 2 && msgs[0].uid == 1 && msgs[1].uid == 4);
	test_assert(test_highestmodseq(store, inbox) == m0 + 2);
	test_assert(store_expunge(store, inbox, NULL, 0, arena, &expunged, &ne,
	                          &error) == STORE_OK);
	test_assert(ne == 0 && test_highestmodseq(store, inbox) == m0 + 2);

	test_assert(store_messages_expunged_since(store, inbox, m0, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_OK);
	test_assert(ne == 3 && expunged[0] == 2 && expunged[1] == 3 &&
	            expunged[2] == 5);
	test_assert(store_messages_expunged_since(store, inbox, m0 + 1, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_OK);
	test_assert(ne == 2 && expunged[0] == 2);
	test_assert(store_messages_expunged_since(store, 777, 0, arena,
	                                          &expunged, &ne,
	                                          &error) == STORE_NOT_FOUND);
	/* Expunged UIDs are never handed out again. */
	test_assert(test_append(store, inbox, "new\r\n") == 6);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_claim_recent(void)
{
	struct store *store = test_start();
	const char *error;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	uint32_t first, end;
	struct store_status st;

	test_assert(store_mailbox_claim_recent(store, inbox, &first, &end,
	                                       &error) == STORE_OK);
	test_assert(first == end);
	test_append(store, inbox, "a\r\n");
	test_append(store, inbox, "b\r\n");
	test_assert(store_mailbox_status(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(st.recent == 2);
	test_assert(store_mailbox_claim_recent(store, inbox, &first, &end,
	                                       &error) == STORE_OK);
	test_assert(first == 1 && end == 3);
	test_assert(store_mailbox_status(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(st.recent == 0);
	test_assert(store_mailbox_claim_recent(store, inbox, &first, &end,
	                                       &error) == STORE_OK);
	test_assert(first == end);
	test_append(store, inbox, "c\r\n");
	test_assert(store_mailbox_claim_recent(store, inbox, &first, &end,
	                                       &error) == STORE_OK);
	test_assert(first == 3 && end == 4);
	test_assert(store_mailbox_claim_recent(store, 4444, &first, &end,
	                                       &error) == STORE_NOT_FOUND);
	test_finish(&store);
}

static void
test_subscriptions(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(1024);
	const char *error;
	int64_t user = test_user(store, "alice");
	const char **names;
	size_t count;

	test_assert(store_subscription_set(store, user, "Zeta", true, &error) ==
	            STORE_OK);
	test_assert(store_subscription_set(store, user, "Alpha", true,
	                                   &error) == STORE_OK);
	test_assert(store_subscription_set(store, user, "Alpha", true,
	                                   &error) == STORE_OK);
	test_assert(store_subscription_set(store, user, "Gone", false,
	                                   &error) == STORE_OK);
	test_assert(store_subscription_set(store, 999, "X", true, &error) ==
	            STORE_NOT_FOUND);
	test_assert(store_subscription_list(store, user, arena, &names, &count,
	                                    &error) == STORE_OK);
	test_assert(count == 2 && strcmp(names[0], "Alpha") == 0 &&
	            strcmp(names[1], "Zeta") == 0);
	test_assert(store_subscription_set(store, user, "Zeta", false,
	                                   &error) == STORE_OK);
	test_assert(store_subscription_list(store, user, arena, &names, &count,
	                                    &error) == STORE_OK);
	test_assert(count == 1);
	arena_destroy(&arena);
	test_finish(&store);
}

static void
test_two_handles(void)
{
	struct store *a = test_start();
	struct store *b = test_reopen();
	struct arena *arena = arena_create(4096);
	int64_t inbox = test_inbox(a, test_user(a, "alice"));
	uint32_t last = 0;
	bool increasing = true;

	for (int i = 0; i < 20; i++) {
		char body[32];
		snprintf(body, sizeof(body), "msg %d\r\n", i);
		uint32_t uid = test_append(i % 2 ? b : a, inbox, body);
		increasing = increasing && uid == last + 1;
		last = uid;
	}
	test_assert(increasing);
	struct store_message *msgs;
	test_assert(test_load(b, inbox, arena, &msgs) == 20);
	test_assert(test_load(a, inbox, arena, &msgs) == 20);
	store_close(&b);
	arena_destroy(&arena);
	test_finish(&a);
}

/* Two processes appending at once: the busy timeout serialises them. */
static void
test_two_processes(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	enum { PER_CHILD = 40 };
	pid_t pids[2];

	store_close(&store);
	for (int c = 0; c < 2; c++) {
		pids[c] = fork();
		if (pids[c] < 0)
			fatal("fork: %s", strerror(errno));
		if (pids[c] == 0) {
			struct store *s = test_reopen();
			for (int i = 0; i < PER_CHILD; i++) {
				char body[32];
				snprintf(body, sizeof(body), "c%d m%d\r\n", c,
				         i);
				test_append(s, inbox, body);
			}
			store_close(&s);
			_exit(0);
		}
	}
	bool children_ok = true;
	for (int c = 0; c < 2; c++) {
		int status;
		children_ok = children_ok && waitpid(pids[c], &status, 0) > 0 &&
		              WIFEXITED(status) && WEXITSTATUS(status) == 0;
	}
	test_assert(children_ok);
	store = test_reopen();
	struct store_message *msgs;
	size_t n = test_load(store, inbox, arena, &msgs);
	test_assert(n == 2 * PER_CHILD);
	for (size_t i = 0; i < n; i++)
		test_assert(msgs[i].uid == i + 1);
	test_assert(test_count_blobs() == 2 * PER_CHILD);
	arena_destroy(&arena);
	test_finish(&store);
}

struct hook_log {
	struct store_change changes[16];
	size_t count;
};

static void
test_hook_record(void *context, const struct store_change *change)
{
	struct hook_log *log = context;
	if (log->count < N_ELEMENTS(log->changes))
		log->changes[log->count] = *change;
	log->count++;
}

/* The log holds exactly the given changes of kind (mailbox b < 0: one
 * change), all of user; the log is cleared. */
static bool
test_hook_saw(struct hook_log *log, enum store_change_kind kind, int64_t user,
              int64_t a, int64_t b)
{
	bool ok = log->count == (b < 0 ? 1 : 2) &&
	          log->changes[0].mailbox_id == a &&
	          (b < 0 || log->changes[1].mailbox_id == b);
	for (size_t i = 0; ok && i < log->count; i++)
		ok = log->changes[i].kind == kind &&
		     log->changes[i].user_id == user;
	log->count = 0;
	return ok;
}

static void
test_change_hook(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	struct hook_log log = {.count = 0};
	int64_t user = test_user(store, "alice");
	int64_t inbox = test_inbox(store, user);
	struct store_message *changed;
	uint32_t *failed, *src, *dst, *expunged, uidvalidity;
	size_t nc, nf, count, ne;
	int64_t owner;

	store_set_change_hook(store, test_hook_record, &log);
	int64_t box = test_mailbox(store, user, "Box");
	test_assert(test_hook_saw(&log, STORE_CHANGE_CREATED, user, box, -1));
	test_assert(store_mailbox_owner(store, box, &owner, &error) ==
	                STORE_OK &&
	            owner == user);
	uint32_t uid = test_append(store, inbox, "x\r\n");
	test_assert(
	    test_hook_saw(&log, STORE_CHANGE_MESSAGES, user, inbox, -1));
	test_assert(store_flags_update(store, inbox, &uid, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_DELETED, "", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(
	    test_hook_saw(&log, STORE_CHANGE_MESSAGES, user, inbox, -1));
	/* No change, no call. */
	test_assert(store_flags_update(store, inbox, &uid, 1, STORE_FLAGS_ADD,
	                               STORE_FLAG_DELETED, "", 0, arena,
	                               &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(log.count == 0);
	test_assert(store_messages_copy(store, inbox, &uid, 1, box, false,
	                                arena, &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(test_hook_saw(&log, STORE_CHANGE_MESSAGES, user, box, -1));
	test_assert(store_messages_copy(store, inbox, &uid, 1, box, true, arena,
	                                &src, &dst, &count, &uidvalidity,
	                                &error) == STORE_OK);
	test_assert(
	    test_hook_saw(&log, STORE_CHANGE_MESSAGES, user, box, inbox));
	test_assert(store_expunge(store, box, NULL, 0, arena, &expunged, &ne,
	                          &error) == STORE_OK);
	test_assert(test_hook_saw(&log, STORE_CHANGE_MESSAGES, user, box, -1));
	test_assert(store_mailbox_rename(store, user, "Box", "Box2", &error) ==
	            STORE_OK);
	test_assert(test_hook_saw(&log, STORE_CHANGE_RENAMED, user, box, -1));
	test_assert(store_subscription_set(store, user, "Box2", true, &error) ==
	            STORE_OK);
	test_assert(
	    test_hook_saw(&log, STORE_CHANGE_SUBSCRIPTION, user, 0, -1));
	/* Subscribing again changes nothing. */
	test_assert(store_subscription_set(store, user, "Box2", true, &error) ==
	            STORE_OK);
	test_assert(log.count == 0);
	test_assert(store_mailbox_delete(store, user, "Box2", &error) ==
	            STORE_OK);
	test_assert(test_hook_saw(&log, STORE_CHANGE_DELETED, user, box, -1));
	/* A failed call doesn't either. */
	test_assert(store_mailbox_delete(store, user, "Box2", &error) ==
	            STORE_NOT_FOUND);
	test_assert(log.count == 0);
	test_assert(store_mailbox_owner(store, box, &owner, &error) ==
	            STORE_NOT_FOUND);
	arena_destroy(&arena);
	test_finish(&store);
}

/* The body of message seq in crash round round: sizes vary so that
 * kills land in every phase of an append. */
static size_t
test_crash_body(int round, uint32_t seq, char *buf, size_t size)
{
	uint32_t x = (uint32_t)round * 2654435761u ^ seq * 40503u;
	size_t len = 64 + (x % 7 == 0 ? 150000 : x % 4000);
	if (len > size)
		len = size;
	int n =
	    snprintf(buf, size, "Subject: round %d seq %u\r\n\r\n", round, seq);
	for (size_t i = (size_t)n; i < len; i++)
		buf[i] = (char)('a' + (i * 7 + seq) % 26);
	return len;
}

struct crash_record {
	uint32_t uid;
	uint32_t seq;
};

static void
test_crash_child(int round, int64_t mailbox_id, int fd)
{
	struct store *store = test_reopen();
	static char bufs[2][200000];
	for (uint32_t seq = 0;; seq += 2) {
		struct store_append_request reqs[2];
		/* Every third append is a two-message MULTIAPPEND. */
		size_t count = seq % 3 == 0 ? 2 : 1;
		for (size_t i = 0; i < count; i++) {
			reqs[i] = (struct store_append_request){
			    .data = bufs[i],
			    .len = test_crash_body(round, seq + (uint32_t)i,
			                           bufs[i], sizeof(bufs[i])),
			    .keywords = "",
			};
		}
		uint32_t uids[2], uidvalidity;
		const char *error;
		if (store_append(store, mailbox_id, reqs, count, uids,
		                 &uidvalidity, &error) != STORE_OK)
			_exit(2);
		for (size_t i = 0; i < count; i++) {
			struct crash_record rec = {uids[i], seq + (uint32_t)i};
			if (write(fd, &rec, sizeof(rec)) != sizeof(rec))
				_exit(3);
		}
	}
}

/* Reads the child's records until the deadline, then kills it. */
static size_t
test_crash_collect(pid_t pid, int fd, int msecs, struct crash_record *recs,
                   size_t max)
{
	size_t n = 0;
	uint64_t deadline = now_ms() + (uint64_t)msecs;
	bool killed = false;

	for (;;) {
		uint64_t now = now_ms();
		if (!killed && now >= deadline) {
			kill(pid, SIGKILL);
			killed = true;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int timeout = killed ? 1000 : (int)(deadline - now);
		if (poll(&pfd, 1, timeout) <= 0 && !killed)
			continue;
		struct crash_record rec;
		ssize_t r = read(fd, &rec, sizeof(rec));
		if (r <= 0)
			break;
		if (r == sizeof(rec) && n < max)
			recs[n++] = rec;
	}
	int status;
	waitpid(pid, &status, 0);
	test_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return n;
}

static void
test_crash_verify(struct store *store, int64_t mailbox_id, int round,
                  const struct crash_record *recs, size_t n)
{
	struct arena *arena = arena_create(65536);
	static char buf[200000];
	struct store_message *msgs;
	size_t count = test_load(store, mailbox_id, arena, &msgs);

	for (size_t i = 0; i < n; i++) {
		const struct store_message *m =
		    test_find_uid(msgs, count, recs[i].uid);
		test_assert(m != NULL);
		if (m == NULL)
			continue;
		size_t len =
		    test_crash_body(round, recs[i].seq, buf, sizeof(buf));
		test_assert(m->size == len);
		test_assert(test_body_is(store, m->blob_id, buf, len));
	}
	/* Committed but not yet reported: at most one MULTIAPPEND. */
	test_assert(count >= n && count <= n + 2);
	/* Never a row without its body. */
	for (size_t i = 0; i < count; i++) {
		const char *body, *error;
		size_t len;
		bool ok = store_body_map(store, msgs[i].blob_id, &body, &len,
		                         &error) == STORE_OK;
		test_assert(ok && len == msgs[i].size);
		if (ok)
			store_body_unmap(body, len);
	}
	arena_destroy(&arena);
}

static void
test_crash_safety(void)
{
	struct store *store = test_start();
	int64_t user = test_user(store, "alice");
	static struct crash_record recs[20000];
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	size_t total = 0;

	srand(seed);
	for (int round = 0; round < 6; round++) {
		char name[32];
		snprintf(name, sizeof(name), "crash%d", round);
		int64_t box = test_mailbox(store, user, name);
		store_close(&store);
		int fds[2];
		if (pipe(fds) < 0)
			fatal("pipe: %s", strerror(errno));
		pid_t pid = fork();
		if (pid < 0)
			fatal("fork: %s", strerror(errno));
		if (pid == 0) {
			close(fds[0]);
			test_crash_child(round, box, fds[1]);
		}
		close(fds[1]);
		int msecs = 30 + rand() % 400;
		size_t n = test_crash_collect(pid, fds[0], msecs, recs,
		                              N_ELEMENTS(recs));
		close(fds[0]);
		total += n;
		store = test_reopen();
		test_crash_verify(store, box, round, recs, n);
	}
	if (test_failures_in_current > 0 || total == 0 ||
	    getenv("TEST_VERBOSE") != NULL)
		fprintf(stderr, "  crash test seed=%u messages=%zu\n", seed,
		        total);
	test_assert(total > 0);
	char path[128];
	snprintf(path, sizeof(path), "%s/casella.db", test_dir);
	sqlite3 *db;
	sqlite3_stmt *stmt;
	test_assert(sqlite3_open(path, &db) == SQLITE_OK);
	test_assert(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt,
	                               NULL) == SQLITE_OK);
	test_assert(sqlite3_step(stmt) == SQLITE_ROW &&
	            strcmp((const char *)sqlite3_column_text(stmt, 0), "ok") ==
	                0);
	sqlite3_finalize(stmt);
	sqlite3_close(db);
	test_finish(&store);
}

/* Deletes every message with \Deleted set first; returns how many went. */
static size_t
test_expunge_uids(struct store *store, int64_t mailbox_id, uint32_t *uids,
                  size_t count, struct arena *arena)
{
	struct store_message *changed;
	uint32_t *failed, *expunged;
	size_t nc, nf, ne;
	const char *error;
	test_assert(store_flags_update(store, mailbox_id, uids, count,
	                               STORE_FLAGS_ADD, STORE_FLAG_DELETED, "",
	                               0, arena, &changed, &nc, &failed, &nf,
	                               &error) == STORE_OK);
	test_assert(store_expunge(store, mailbox_id, uids, count, arena,
	                          &expunged, &ne, &error) == STORE_OK);
	return ne;
}

/* RFC 7162 3.2.5: the expunge history is bounded; what is kept is
 * complete above vanished_floor. */
static void
test_vanished_bound(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	store_set_vanished_max(8);
	for (int i = 1; i <= 20; i++)
		test_append(store, inbox, "m\r\n");
	uint64_t modseq_at[21];
	struct store_status st;
	for (uint32_t uid = 1; uid <= 10; uid++) {
		test_assert(test_expunge_uids(store, inbox, &uid, 1, arena) ==
		            1);
		modseq_at[uid] = test_highestmodseq(store, inbox);
	}
	test_assert(store_mailbox_counters(store, inbox, &st, &error) ==
	            STORE_OK);
	/* Nine rows went over eight: the oldest quarter-plus went, whole. */
	test_assert(st.vanished_floor > 0);
	test_assert(test_sql_int("SELECT count(*) FROM expunged") <= 8);
	test_assert(test_sql_int("SELECT vanished_count FROM mailboxes WHERE "
	                         "name = 'INBOX'") ==
	            test_sql_int("SELECT count(*) FROM expunged"));
	uint32_t *uids;
	size_t n;
	test_assert(store_messages_expunged_since(
	                store, inbox, st.vanished_floor, arena, &uids, &n,
	                &error) == STORE_OK);
	/* Complete above the floor: every UID expunged after it. */
	size_t want = 0;
	for (uint32_t uid = 1; uid <= 10; uid++)
		want += modseq_at[uid] > st.vanished_floor;
	test_assert(n == want && n > 0 && uids[n - 1] == 10);
	/* A batch counts by rows and is kept or forgotten whole. */
	uint32_t batch[] = {11, 12, 13, 14, 15, 16};
	test_assert(test_expunge_uids(store, inbox, batch, 6, arena) == 6);
	test_assert(store_mailbox_counters(store, inbox, &st, &error) ==
	            STORE_OK);
	test_assert(store_messages_expunged_since(
	                store, inbox, st.vanished_floor, arena, &uids, &n,
	                &error) == STORE_OK);
	test_assert(n >= 6 && uids[n - 1] == 16);
	store_set_vanished_max(STORE_VANISHED_MAX);
	arena_destroy(&arena);
	test_finish(&store);
}

/* A schema 2 directory (today's tables without the expunge-history
 * bookkeeping) is brought to schema 3 with its history counted. */
static void
test_upgrade_from_2(void)
{
	struct store *store = test_start();
	struct arena *arena = arena_create(4096);
	const char *error;
	int64_t inbox = test_inbox(store, test_user(store, "alice"));
	for (int i = 1; i <= 4; i++)
		test_append(store, inbox, "m\r\n");
	uint32_t del[] = {1, 3};
	test_assert(test_expunge_uids(store, inbox, del, 2, arena) == 2);
	store_close(&store);
	char path[128];
	snprintf(path, sizeof(path), "%s/casella.db", test_dir);
	sqlite3 *db;
	test_assert(sqlite3_open(path, &db) == SQLITE_OK);
	test_assert(sqlite3_exec(db,
	                         "DROP TRIGGER expunged_counted_in;"
	                         "DROP TRIGGER expunged_counted_out;"
	                         "ALTER TABLE mailboxes DROP COLUMN "
	                         "vanished_floor;"
	                         "ALTER TABLE mailboxes DROP COLUMN "
	                         "vanished_count;"
	                         "UPDATE meta SET value = '2' WHERE key = "
	                         "'schema_version';",
	                         NULL, NULL, NULL) == SQLITE_OK);
	sqlite3_close(db);
	test_assert(store_open(test_dir, &store, &error) == STORE_ERROR);
	test_assert(store_upgrade(test_dir, &error) == STORE_OK);
	test_assert(test_sql_int("SELECT value FROM meta WHERE key = "
	                         "'schema_version'") == 3);
	test_assert(test_sql_int("SELECT vanished_count FROM mailboxes WHERE "
	                         "name = 'INBOX'") == 2);
	store = test_reopen();
	uint32_t *uids;
	size_t n;
	test_assert(store_messages_expunged_since(store, inbox, 0, arena, &uids,
	                                          &n, &error) == STORE_OK);
	test_assert(n == 2 && uids[0] == 1 && uids[1] == 3);
	uint32_t four = 4;
	test_assert(test_expunge_uids(store, inbox, &four, 1, arena) == 1);
	test_assert(test_sql_int("SELECT vanished_count FROM mailboxes WHERE "
	                         "name = 'INBOX'") == 3);
	/* Running it again changes nothing. */
	store_close(&store);
	test_assert(store_upgrade(test_dir, &error) == STORE_OK);
	store = test_reopen();
	arena_destroy(&arena);
	test_finish(&store);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"users", test_users},
	    {"mailboxes", test_mailboxes},
	    {"uidvalidity unique", test_uidvalidity_unique},
	    {"delete gc", test_delete_gc},
	    {"rename", test_rename},
	    {"rename inbox", test_rename_inbox},
	    {"append", test_append_basic},
	    {"append atomic", test_append_atomic},
	    {"append io failure", test_append_io_failure},
	    {"flags", test_flags},
	    {"copy move", test_copy_move},
	    {"expunge", test_expunge},
	    {"vanished bound", test_vanished_bound},
	    {"upgrade from schema 2", test_upgrade_from_2},
	    {"claim recent", test_claim_recent},
	    {"subscriptions", test_subscriptions},
	    {"two handles", test_two_handles},
	    {"two processes", test_two_processes},
	    {"change hook", test_change_hook},
	    {"crash safety", test_crash_safety},
	};
	return test_run("store", cases, N_ELEMENTS(cases));
}
