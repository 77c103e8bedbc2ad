/* The NOTIFY session's snapshots of its user's mailboxes and
 * subscriptions, and the LIST responses for their changes: MailboxName
 * (RFC 5465 5.4) and SubscriptionChange (5.5). */
#include "imap/notify-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/mailbox-name.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "net/conn.h"
#include "store/store.h"

/* The lists after the change, sorted, which LIST attributes describe
 * (5.5: "all mailbox attributes MUST be accurately computed"). */
struct notify_now {
	const char **names; /* mailboxes */
	size_t name_count;
	const char **subs; /* subscriptions */
	size_t sub_count;
};

/* A mailbox's place in a list, to pair the old and new lists by id. */
struct notify_pair {
	int64_t id;
	size_t index;
};

static int
notify_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
notify_mailbox_cmp(const void *a, const void *b)
{
	const struct notify_mailbox *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int
notify_store_mailbox_cmp(const void *a, const void *b)
{
	const struct store_mailbox *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int
notify_pair_cmp(const void *a, const void *b)
{
	const struct notify_pair *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The first element of names (sorted) not below key. */
static size_t
notify_lower_bound(const char *const *names, size_t count, const char *key)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(names[mid], key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool
notify_sorted_has(const char *const *names, size_t count, const char *name)
{
	size_t i = notify_lower_bound(names, count, name);
	return i < count && strcmp(names[i], name) == 0;
}

/* Inferiors of name sort together right after "name/". */
static bool
notify_has_children(struct arena *arena, const struct notify_now *now,
                    const char *name)
{
	const char *prefix = arena_printf(arena, "%s/", name);
	size_t len = strlen(prefix);
	size_t i = notify_lower_bound(now->names, now->name_count, prefix);
	return i < now->name_count && strncmp(now->names[i], prefix, len) == 0;
}

/* "* LIST (attributes) "/" name", with the extended data item OLDNAME
 * for a rename (5.4); \NonExistent for a name that is no mailbox now. */
static void
notify_write_list(struct client *client, struct arena *arena,
                  const struct notify_now *now, const char *name,
                  const char *old_name)
{
	struct str *out = &client->conn->output;
	bool exists = notify_sorted_has(now->names, now->name_count, name);
	str_append_cstr(out, exists ? "* LIST (" : "* LIST (\\NonExistent ");
	str_append_cstr(out, notify_has_children(arena, now, name)
	                         ? "\\HasChildren"
	                         : "\\HasNoChildren");
	if (notify_sorted_has(now->subs, now->sub_count, name))
		str_append_cstr(out, " \\Subscribed");
	str_append_cstr(out, ") \"/\" ");
	notify_write_name(client, out, name);
	if (old_name != NULL) {
		str_append_cstr(out, " (\"OLDNAME\" (");
		notify_write_name(client, out, old_name);
		str_append_cstr(out, "))");
	}
	str_append_cstr(out, "\r\n");
}

static void
notify_free_mailboxes(struct notify_mailbox *mailboxes, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(mailboxes[i].name);
	free(mailboxes);
}

static void
notify_free_names(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

void
notify_lists_free(struct notify_session *ns)
{
	notify_free_mailboxes(ns->mailboxes, ns->mailbox_count);
	notify_free_names(ns->subscriptions, ns->subscription_count);
	ns->mailboxes = NULL;
	ns->subscriptions = NULL;
	ns->mailbox_count = ns->subscription_count = 0;
}

/* Heap copies of names, sorted. */
static char **
notify_copy_names(const char *const *names, size_t count)
{
	char **copy = xcalloc(count + 1, sizeof(*copy));
	for (size_t i = 0; i < count; i++)
		copy[i] = xstrdup(names[i]);
	qsort(copy, count, sizeof(*copy), notify_strcmp_p);
	return copy;
}

/* The store's lists, sorted by name.  Returns 0 or -1 with *error_r. */
static int
notify_read_lists(struct client *client, struct arena *arena, bool mailboxes,
                  struct store_mailbox **mbs_r, size_t *mb_count_r,
                  bool subscriptions, const char ***subs_r, size_t *sub_count_r,
                  const char **error_r)
{
	struct store *store = client_store(client);
	if (mailboxes) {
		if (store_mailbox_list(store, client->user_id, arena, mbs_r,
		                       mb_count_r, error_r) != STORE_OK)
			return -1;
		qsort(*mbs_r, *mb_count_r, sizeof(**mbs_r),
		      notify_store_mailbox_cmp);
	}
	if (subscriptions) {
		if (store_subscription_list(store, client->user_id, arena,
		                            subs_r, sub_count_r,
		                            error_r) != STORE_OK)
			return -1;
		qsort(*subs_r, *sub_count_r, sizeof(**subs_r), notify_strcmp_p);
	}
	return 0;
}

int
notify_lists_load(struct client *client, struct notify_session *ns,
                  bool *overflow_r, const char **error_r)
{
	struct arena *arena = arena_create(4096);
	struct store_mailbox *mbs = NULL;
	const char **subs = NULL;
	size_t mb_count = 0, sub_count = 0;
	*overflow_r = false;
	int ret = notify_read_lists(client, arena, true, &mbs, &mb_count, true,
	                            &subs, &sub_count, error_r);
	if (ret == 0 && mb_count > NOTIFY_MAX_MAILBOXES)
		*overflow_r = true;
	if (ret == 0 && !*overflow_r) {
		ns->mailboxes = xcalloc(mb_count + 1, sizeof(*ns->mailboxes));
		for (size_t i = 0; i < mb_count; i++) {
			ns->mailboxes[i] = (struct notify_mailbox){
			    .id = mbs[i].id,
			    .name = xstrdup(mbs[i].name),
			    .known = true,
			    .uidnext = mbs[i].uidnext,
			    .highestmodseq = mbs[i].highestmodseq,
			};
		}
		ns->mailbox_count = mb_count;
		ns->subscriptions = notify_copy_names(subs, sub_count);
		ns->subscription_count = sub_count;
	}
	arena_destroy(&arena);
	return ret;
}

/* 5.5: a LIST for each name subscribed or unsubscribed since, then the
 * new list replaces the snapshot. */
static void
notify_diff_subscriptions(struct client *client, struct notify_session *ns,
                          struct arena *arena, const struct notify_now *now)
{
	char **old = ns->subscriptions;
	size_t i = 0, j = 0, old_count = ns->subscription_count;
	while (i < old_count || j < now->sub_count) {
		int c = i == old_count        ? 1
		        : j == now->sub_count ? -1
		                              : strcmp(old[i], now->subs[j]);
		if (c == 0) {
			i++, j++;
			continue;
		}
		const char *name = c < 0 ? old[i++] : now->subs[j++];
		/* 6.4: it was or is subscribed, so "subscribed" names it. */
		if ((notify_events_for(ns, name, true) &
		     NOTIFY_EVENT_SUBSCRIPTION_CHANGE) != 0)
			notify_write_list(client, arena, now, name, NULL);
	}
	notify_free_names(ns->subscriptions, ns->subscription_count);
	ns->subscriptions = notify_copy_names(now->subs, now->sub_count);
	ns->subscription_count = now->sub_count;
}

/* The snapshot's and a list's mailboxes with their places, by id. */
static struct notify_pair *
notify_snapshot_pairs(struct arena *arena, const struct notify_session *ns)
{
	struct notify_pair *pairs =
	    arena_new_array(arena, struct notify_pair, ns->mailbox_count + 1);
	for (size_t i = 0; i < ns->mailbox_count; i++)
		pairs[i] = (struct notify_pair){ns->mailboxes[i].id, i};
	qsort(pairs, ns->mailbox_count, sizeof(*pairs), notify_pair_cmp);
	return pairs;
}

static struct notify_pair *
notify_list_pairs(struct arena *arena, const struct store_mailbox *mbs,
                  size_t count)
{
	struct notify_pair *pairs =
	    arena_new_array(arena, struct notify_pair, count + 1);
	for (size_t i = 0; i < count; i++)
		pairs[i] = (struct notify_pair){mbs[i].id, i};
	qsort(pairs, count, sizeof(*pairs), notify_pair_cmp);
	return pairs;
}

static bool
notify_wants_name(const struct notify_session *ns, const char *name)
{
	return (notify_events_for(ns, name, notify_is_subscribed(ns, name)) &
	        NOTIFY_EVENT_MAILBOX_NAME) != 0;
}

/* A mailbox that appeared: its counts start from empty, so messages
 * already in it are reported once it is checked. */
static void
notify_created(struct client *client, struct notify_session *ns,
               struct arena *arena, const struct notify_now *now,
               const struct store_mailbox *mb, struct notify_mailbox *next)
{
	*next = (struct notify_mailbox){.id = mb->id,
	                                .name = xstrdup(mb->name),
	                                .known = true,
	                                .counted = true,
	                                .uidnext = 1};
	if (mb->uidnext == 1)
		next->highestmodseq = mb->highestmodseq;
	notify_session_note_mailbox(ns, mb->id);
	if (notify_wants_name(ns, mb->name))
		notify_write_list(client, arena, now, mb->name, NULL);
}

/* A mailbox in both lists keeps its counts; a new name is a rename. */
static void
notify_kept(struct client *client, struct notify_session *ns,
            struct arena *arena, const struct notify_now *now,
            struct notify_mailbox *old, const struct store_mailbox *mb,
            struct notify_mailbox *next)
{
	*next = *old;
	old->name = NULL;
	if (strcmp(next->name, mb->name) == 0)
		return;
	if (notify_wants_name(ns, mb->name) ||
	    notify_wants_name(ns, next->name))
		notify_write_list(client, arena, now, mb->name, next->name);
	free(next->name);
	next->name = xstrdup(mb->name);
}

/* 5.4: pairs the old and new lists by id: ids only in the old were
 * deleted, only in the new created, in both with a new name renamed. */
static void
notify_diff_mailboxes(struct client *client, struct notify_session *ns,
                      struct arena *arena, const struct notify_now *now,
                      const struct store_mailbox *mbs, size_t count)
{
	struct notify_mailbox *old = ns->mailboxes;
	size_t old_count = ns->mailbox_count;
	struct notify_pair *a = notify_snapshot_pairs(arena, ns);
	struct notify_pair *b = notify_list_pairs(arena, mbs, count);
	struct notify_mailbox *next = xcalloc(count + 1, sizeof(*next));
	size_t i = 0, j = 0;
	while (i < old_count || j < count) {
		if (j == count || (i < old_count && a[i].id < b[j].id)) {
			const char *name = old[a[i++].index].name;
			if (notify_wants_name(ns, name))
				notify_write_list(client, arena, now, name,
				                  NULL);
		} else if (i == old_count || b[j].id < a[i].id) {
			size_t k = b[j++].index;
			notify_created(client, ns, arena, now, &mbs[k],
			               &next[k]);
		} else {
			size_t k = b[j++].index;
			notify_kept(client, ns, arena, now, &old[a[i++].index],
			            &mbs[k], &next[k]);
		}
	}
	notify_free_mailboxes(old, old_count);
	ns->mailboxes = next;
	ns->mailbox_count = count;
}

/* Names of the snapshot's mailboxes (already sorted). */
static const char **
notify_snapshot_names(struct arena *arena, const struct notify_session *ns)
{
	const char **names =
	    arena_new_array(arena, const char *, ns->mailbox_count + 1);
	for (size_t i = 0; i < ns->mailbox_count; i++)
		names[i] = ns->mailboxes[i].name;
	return names;
}

int
notify_lists_refresh(struct client *client, struct notify_session *ns,
                     bool mailboxes, bool subscriptions, const char **error_r)
{
	struct arena *arena = arena_create(4096);
	struct store_mailbox *mbs = NULL;
	size_t mb_count = 0;
	struct notify_now now = {0};
	int ret = notify_read_lists(client, arena, mailboxes, &mbs, &mb_count,
	                            subscriptions, &now.subs, &now.sub_count,
	                            error_r);
	if (ret == 0 && mb_count > NOTIFY_MAX_MAILBOXES)
		ns->overflow = true;
	if (ret < 0 || ns->overflow)
		goto out;
	if (!subscriptions) {
		now.subs = (const char **)ns->subscriptions;
		now.sub_count = ns->subscription_count;
	}
	if (mailboxes) {
		now.names = arena_new_array(arena, const char *, mb_count + 1);
		for (size_t i = 0; i < mb_count; i++)
			now.names[i] = mbs[i].name;
		now.name_count = mb_count;
	} else {
		now.names = notify_snapshot_names(arena, ns);
		now.name_count = ns->mailbox_count;
	}
	/* Subscriptions first: "subscribed" groups follow the new list. */
	if (subscriptions)
		notify_diff_subscriptions(client, ns, arena, &now);
	if (mailboxes)
		notify_diff_mailboxes(client, ns, arena, &now, mbs, mb_count);
out:
	arena_destroy(&arena);
	return ret;
}

/* Puts the snapshot back in name order after an edit. */
static void
notify_sort_mailboxes(struct notify_session *ns)
{
	qsort(ns->mailboxes, ns->mailbox_count, sizeof(*ns->mailboxes),
	      notify_mailbox_cmp);
}

void
notify_lists_add_mailbox(struct notify_session *ns, int64_t id,
                         const char *name)
{
	if (notify_find_id(ns, id) != NULL)
		return;
	ns->mailboxes = xrealloc(ns->mailboxes, (ns->mailbox_count + 1) *
	                                            sizeof(*ns->mailboxes));
	ns->mailboxes[ns->mailbox_count++] =
	    (struct notify_mailbox){.id = id,
	                            .name = xstrdup(name),
	                            .known = true,
	                            .counted = true,
	                            .uidnext = 1};
	notify_sort_mailboxes(ns);
}

void
notify_lists_remove_mailbox(struct notify_session *ns, const char *name)
{
	for (size_t i = 0; i < ns->mailbox_count; i++) {
		if (strcmp(ns->mailboxes[i].name, name) != 0)
			continue;
		free(ns->mailboxes[i].name);
		memmove(&ns->mailboxes[i], &ns->mailboxes[i + 1],
		        (ns->mailbox_count - i - 1) * sizeof(*ns->mailboxes));
		ns->mailbox_count--;
		return;
	}
}

void
notify_lists_rename(struct notify_session *ns, const char *old_name,
                    const char *new_name)
{
	size_t old_len = strlen(old_name);
	for (size_t i = 0; i < ns->mailbox_count; i++) {
		char *name = ns->mailboxes[i].name;
		if (strncmp(name, old_name, old_len) != 0 ||
		    (name[old_len] != '\0' &&
		     name[old_len] != MAILBOX_NAME_SEP))
			continue;
		size_t len = strlen(new_name) + strlen(name + old_len) + 1;
		char *renamed = xmalloc(len);
		snprintf(renamed, len, "%s%s", new_name, name + old_len);
		free(name);
		ns->mailboxes[i].name = renamed;
	}
	notify_sort_mailboxes(ns);
}

void
notify_lists_subscribe(struct notify_session *ns, const char *name,
                       bool subscribed)
{
	size_t count = ns->subscription_count;
	size_t i = notify_lower_bound((const char *const *)ns->subscriptions,
	                              count, name);
	bool present = i < count && strcmp(ns->subscriptions[i], name) == 0;
	if (present == subscribed)
		return;
	if (!subscribed) {
		free(ns->subscriptions[i]);
		memmove(&ns->subscriptions[i], &ns->subscriptions[i + 1],
		        (count - i - 1) * sizeof(char *));
		ns->subscription_count--;
		return;
	}
	ns->subscriptions =
	    xrealloc(ns->subscriptions, (count + 2) * sizeof(char *));
	memmove(&ns->subscriptions[i + 1], &ns->subscriptions[i],
	        (count - i) * sizeof(char *));
	ns->subscriptions[i] = xstrdup(name);
	ns->subscription_count++;
}
