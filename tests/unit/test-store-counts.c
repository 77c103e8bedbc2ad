/* STATUS counters kept by triggers must always equal a real count. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "store/store.h"
#include "test.h"
#include "util.h"

static char test_dir[64];

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Compares store_mailbox_status() with counting the loaded messages. */
static void
check_counts(struct store *store, int64_t mailbox)
{
	struct arena *arena = arena_create(4096);
	struct store_message *msgs;
	size_t n;
	struct store_status st;
	const char *error;
	test_assert(store_messages_load(store, mailbox, 1, arena, &msgs, &n,
	                                &error) == STORE_OK);
	test_assert(store_mailbox_status(store, mailbox, &st, &error) ==
	            STORE_OK);
	uint32_t unseen = 0, deleted = 0;
	uint64_t size = 0;
	for (size_t i = 0; i < n; i++) {
		unseen += !(msgs[i].flags & STORE_FLAG_SEEN);
		deleted += (msgs[i].flags & STORE_FLAG_DELETED) != 0;
		size += msgs[i].size;
	}
	test_assert(st.messages == n);
	test_assert(st.unseen == unseen);
	test_assert(st.deleted == deleted);
	test_assert(st.size == size);
	arena_destroy(&arena);
}

static void
test_counts_follow_changes(void)
{
	struct store *store;
	const char *error;
	casella_strlcpy(test_dir, "/tmp/casella-counts-XXXXXX",
	                sizeof(test_dir));
	if (mkdtemp(test_dir) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	if (store_open(test_dir, &store, &error) != STORE_OK ||
	    store_user_add(store, "u", &error) != STORE_OK)
		fatal("setup: %s", error);
	struct arena *arena = arena_create(4096);
	int64_t user, other;
	struct store_mailbox inbox;
	test_assert(store_user_lookup(store, "u", &user, &error) == STORE_OK);
	test_assert(store_mailbox_find(store, user, "INBOX", arena, &inbox,
	                               &error) == STORE_OK);
	test_assert(store_mailbox_create(store, user, "Other", 0, &other,
	                                 &error) == STORE_OK);
	check_counts(store, inbox.id);

	struct store_append_request req[3];
	const char *bodies[3] = {"a\r\n", "bb\r\n", "ccc\r\n"};
	for (int i = 0; i < 3; i++)
		req[i] = (struct store_append_request){
		    .data = bodies[i],
		    .len = strlen(bodies[i]),
		    .flags = i == 0 ? STORE_FLAG_SEEN : 0,
		    .keywords = ""};
	uint32_t uids[3], uidv;
	test_assert(store_append(store, inbox.id, req, 3, uids, &uidv,
	                         &error) == STORE_OK);
	check_counts(store, inbox.id);

	struct store_message *changed;
	uint32_t *failed, *src, *dst, *expunged;
	size_t cn, fn, copied, en;
	test_assert(store_flags_update(
	                store, inbox.id, uids, 3, STORE_FLAGS_ADD,
	                STORE_FLAG_DELETED | STORE_FLAG_SEEN, "", 0, arena,
	                &changed, &cn, &failed, &fn, &error) == STORE_OK);
	check_counts(store, inbox.id);
	test_assert(store_flags_update(store, inbox.id, &uids[1], 1,
	                               STORE_FLAGS_REPLACE, 0, "", 0, arena,
	                               &changed, &cn, &failed, &fn,
	                               &error) == STORE_OK);
	check_counts(store, inbox.id);
	test_assert(store_messages_copy(store, inbox.id, uids, 2, other, false,
	                                arena, &src, &dst, &copied, &uidv,
	                                &error) == STORE_OK);
	check_counts(store, other);
	test_assert(store_messages_copy(store, inbox.id, &uids[2], 1, other,
	                                true, arena, &src, &dst, &copied, &uidv,
	                                &error) == STORE_OK);
	check_counts(store, inbox.id);
	check_counts(store, other);
	test_assert(store_expunge(store, other, NULL, 0, arena, &expunged, &en,
	                          &error) == STORE_OK);
	check_counts(store, other);
	/* INBOX rename moves the messages: both sides recounted. */
	test_assert(store_mailbox_rename(store, user, "INBOX", "Old", &error) ==
	            STORE_OK);
	check_counts(store, inbox.id);
	struct store_mailbox old;
	test_assert(store_mailbox_find(store, user, "Old", arena, &old,
	                               &error) == STORE_OK);
	check_counts(store, old.id);
	arena_destroy(&arena);
	store_close(&store);
	(void)nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"counts follow changes", test_counts_follow_changes},
	};
	return test_run("store-counts", cases,
	                sizeof(cases) / sizeof(cases[0]));
}
