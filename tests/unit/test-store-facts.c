/* Tests for body facts and the full-text index (src/store/store-facts.c). */
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

/* A builder that is easy to predict: the envelope names the body's size,
 * the body text is the message after "\n\n", and bodies holding "NOIDX"
 * are marked as not fully indexed. */
static void
test_builder(struct arena *arena, const char *data, size_t len,
             struct store_body_facts *facts_r)
{
	char *copy = arena_strndup(arena, data, len);
	char *split = strstr(copy, "\n\n");
	facts_r->envelope = arena_printf(arena, "(env %zu)", len);
	facts_r->bodystructure = "(\"text\" \"plain\")";
	facts_r->body = "(\"text\" \"plain\")";
	facts_r->header_text =
	    split != NULL ? arena_strndup(arena, copy, (size_t)(split - copy))
	                  : copy;
	facts_r->body_text = split != NULL ? split + 2 : "";
	facts_r->indexed = strstr(copy, "NOIDX") == NULL;
}

static struct store *
start(int64_t *inbox_r, int64_t *other_r)
{
	struct store *store;
	const char *error;
	casella_strlcpy(test_dir, "/tmp/casella-facts-XXXXXX",
	                sizeof(test_dir));
	if (mkdtemp(test_dir) == NULL)
		fatal("mkdtemp: %s", strerror(errno));
	if (store_open(test_dir, &store, &error) != STORE_OK ||
	    store_user_add(store, "u", &error) != STORE_OK)
		fatal("setup: %s", error);
	int64_t uid;
	struct arena *arena = arena_create(1024);
	struct store_mailbox mb;
	if (store_user_lookup(store, "u", &uid, &error) != STORE_OK ||
	    store_mailbox_find(store, uid, "INBOX", arena, &mb, &error) !=
	        STORE_OK ||
	    store_mailbox_create(store, uid, "Other", 0, other_r, &error) !=
	        STORE_OK)
		fatal("setup: %s", error);
	*inbox_r = mb.id;
	arena_destroy(&arena);
	return store;
}

static void
finish(struct store **store)
{
	store_close(store);
	(void)nftw(test_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs the indexer's work now, as the server's indexer thread would. */
static void
index_all(struct store *store)
{
	size_t done;
	const char *error;
	test_assert(store_index_pending(store, 1000, &done, &error) ==
	            STORE_OK);
	test_assert(store_index_pending(store, 1000, &done, &error) ==
	                STORE_OK &&
	            done == 0);
}

static uint32_t
append(struct store *store, int64_t mailbox, const char *text)
{
	struct store_append_request req = {
	    .data = text, .len = strlen(text), .keywords = ""};
	uint32_t uid, uidvalidity;
	const char *error;
	if (store_append(store, mailbox, &req, 1, &uid, &uidvalidity, &error) !=
	    STORE_OK)
		fatal("append: %s", error);
	return uid;
}

/* Found and unsure UIDs, merged ascending, into a static buffer. */
static size_t
candidates(struct store *store, int64_t mailbox, enum store_text_field f,
           const char *needle, uint32_t **uids_r)
{
	struct arena *arena = arena_create(1024);
	bool usable;
	size_t found_n, unsure_n;
	uint32_t *found, *unsure;
	const char *error;
	if (store_text_search(store, mailbox, f, needle, arena, &usable, &found,
	                      &found_n, &unsure, &unsure_n, &error) != STORE_OK)
		fatal("search: %s", error);
	test_assert(usable);
	static uint32_t merged[64];
	size_t n = 0, i = 0, j = 0;
	while ((i < found_n || j < unsure_n) && n < 64) {
		if (j == unsure_n || (i < found_n && found[i] < unsure[j]))
			merged[n++] = found[i++];
		else
			merged[n++] = unsure[j++];
	}
	*uids_r = merged;
	arena_destroy(&arena);
	return n;
}

static void
test_facts_stored_and_shared(void)
{
	int64_t inbox, other;
	store_set_facts_builder(test_builder);
	store_set_text_builder(test_builder);
	struct store *store = start(&inbox, &other);
	append(store, inbox, "Subject: one\n\nhello world");
	struct arena *arena = arena_create(1024);
	struct store_message *msgs;
	size_t n;
	const char *error;
	test_assert(store_messages_load(store, inbox, 1, arena, &msgs, &n,
	                                &error) == STORE_OK &&
	            n == 1);
	struct store_body_facts facts;
	test_assert(store_body_facts_get(store, msgs[0].blob_id, arena, &facts,
	                                 &error) == STORE_OK);
	test_assert(strcmp(facts.envelope, "(env 25)") == 0);
	test_assert(!facts.indexed); /* not yet: the indexer does that */
	index_all(store);
	test_assert(store_body_facts_get(store, msgs[0].blob_id, arena, &facts,
	                                 &error) == STORE_OK &&
	            facts.indexed);
	/* A copy shares the body and so its facts. */
	uint32_t *src, *dst, uidv;
	size_t copied;
	test_assert(store_messages_copy(store, inbox, &msgs[0].uid, 1, other,
	                                false, arena, &src, &dst, &copied,
	                                &uidv, &error) == STORE_OK);
	uint32_t *uids;
	test_assert(candidates(store, other, STORE_TEXT_BODY, "world", &uids) ==
	            1);
	arena_destroy(&arena);
	finish(&store);
	store_set_facts_builder(NULL);
	store_set_text_builder(NULL);
}

static void
test_text_candidates(void)
{
	int64_t inbox, other;
	store_set_facts_builder(test_builder);
	store_set_text_builder(test_builder);
	struct store *store = start(&inbox, &other);
	uint32_t a = append(store, inbox, "Subject: apples\n\nred fruit");
	uint32_t b = append(store, inbox, "Subject: pears\n\ngreen fruit");
	uint32_t c = append(store, inbox, "Subject: NOIDX\n\nnothing");
	append(store, other, "Subject: apples\n\nred fruit elsewhere");
	uint32_t *uids;
	/* Before indexing, every body is unsure: the caller must read. */
	size_t n0 = candidates(store, inbox, STORE_TEXT_BODY, "zzzz", &uids);
	test_assert(n0 == 3);
	index_all(store);
	/* Substring of the stored (already folded) text; the unindexed
	 * body always comes, as unsure. */
	size_t n = candidates(store, inbox, STORE_TEXT_BODY, "frui", &uids);
	test_assert(n == 3 && uids[0] == a && uids[1] == b && uids[2] == c);
	/* The index compares bytes: folding is the builder's job. */
	n = candidates(store, inbox, STORE_TEXT_BODY, "FRUI", &uids);
	test_assert(n == 1 && uids[0] == c);
	n = candidates(store, inbox, STORE_TEXT_HEADER, "apple", &uids);
	test_assert(n == 2 && uids[0] == a && uids[1] == c);
	n = candidates(store, inbox, STORE_TEXT_BODY, "apple", &uids);
	test_assert(n == 1 && uids[0] == c);
	n = candidates(store, inbox, STORE_TEXT_ANY, "green", &uids);
	test_assert(n == 2 && uids[0] == b);
	/* Quotes in the needle are data, not query syntax. */
	n = candidates(store, inbox, STORE_TEXT_ANY, "a\"b OR c", &uids);
	test_assert(n == 1 && uids[0] == c);
	/* Too short for trigrams: the caller must scan. */
	struct arena *arena = arena_create(1024);
	bool usable = true;
	size_t count;
	const char *error;
	uint32_t *unsure;
	size_t unsure_n;
	test_assert(store_text_search(store, inbox, STORE_TEXT_ANY, "re", arena,
	                              &usable, &uids, &count, &unsure,
	                              &unsure_n, &error) == STORE_OK &&
	            !usable);
	arena_destroy(&arena);
	finish(&store);
	store_set_facts_builder(NULL);
	store_set_text_builder(NULL);
}

static void
test_facts_removed_with_body(void)
{
	int64_t inbox, other;
	store_set_facts_builder(test_builder);
	store_set_text_builder(test_builder);
	struct store *store = start(&inbox, &other);
	uint32_t uid = append(store, inbox, "Subject: gone\n\nbanana split");
	index_all(store);
	struct arena *arena = arena_create(1024);
	struct store_message *msgs;
	size_t n;
	const char *error;
	test_assert(store_messages_load(store, inbox, 1, arena, &msgs, &n,
	                                &error) == STORE_OK &&
	            n == 1);
	const char *blob = arena_strdup(arena, msgs[0].blob_id);
	uint32_t flags_uid = uid;
	struct store_message *changed;
	size_t changed_n, failed_n;
	uint32_t *failed, *expunged;
	test_assert(store_flags_update(store, inbox, &flags_uid, 1,
	                               STORE_FLAGS_ADD, STORE_FLAG_DELETED, "",
	                               0, arena, &changed, &changed_n, &failed,
	                               &failed_n, &error) == STORE_OK);
	test_assert(store_expunge(store, inbox, NULL, 0, arena, &expunged, &n,
	                          &error) == STORE_OK &&
	            n == 1);
	struct store_body_facts facts;
	test_assert(store_body_facts_get(store, blob, arena, &facts, &error) ==
	            STORE_NOT_FOUND);
	uint32_t *uids;
	test_assert(candidates(store, inbox, STORE_TEXT_ANY, "banana", &uids) ==
	            0);
	arena_destroy(&arena);
	finish(&store);
	store_set_facts_builder(NULL);
	store_set_text_builder(NULL);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"facts stored and shared", test_facts_stored_and_shared},
	    {"text candidates", test_text_candidates},
	    {"facts removed with body", test_facts_removed_with_body},
	};
	return test_run("store-facts", cases, sizeof(cases) / sizeof(cases[0]));
}
