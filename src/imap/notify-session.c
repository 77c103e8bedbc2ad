/* NOTIFY (RFC 5465) in a session: the request, the changes the worker
 * noted, and the STATUS responses for mailboxes other than the selected
 * one (5.1-5.3).  The LIST side is notify-lists.c. */
#include "imap/notify-private.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "imap/imap-write.h"
#include "imap/mailbox-name.h"
#include "imap/view.h"
#include "imap/worker.h"
#include "lib/arena.h"
#include "lib/idmap.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "net/conn.h"
#include "store/store.h"

static bool
notify_filter_selected(enum notify_filter filter)
{
	return filter == NOTIFY_FILTER_SELECTED ||
	       filter == NOTIFY_FILTER_SELECTED_DELAYED;
}

/* RFC 5465 6.5: the mailbox itself and all its inferiors. */
static bool
notify_in_subtree(const char *root, const char *name)
{
	size_t len = strlen(root);
	return strncmp(name, root, len) == 0 &&
	       (name[len] == '\0' || name[len] == MAILBOX_NAME_SEP);
}

static bool
notify_group_matches(const struct notify_group *g, const char *name,
                     bool subscribed)
{
	switch (g->filter) {
	case NOTIFY_FILTER_SELECTED:
	case NOTIFY_FILTER_SELECTED_DELAYED:
		return false;
	case NOTIFY_FILTER_PERSONAL:
	/* 6.3: the mailboxes mail may be delivered to; `casella deliver`
	 * and LMTP can target any of the user's, so all of them, as 6.3
	 * says to do when the set is not easily known. */
	case NOTIFY_FILTER_INBOXES:
		return true;
	case NOTIFY_FILTER_SUBSCRIBED:
		return subscribed;
	case NOTIFY_FILTER_SUBTREE:
	case NOTIFY_FILTER_MAILBOXES:
		break;
	}
	for (size_t i = 0; i < g->name_count; i++) {
		/* 6.6: exactly the names given, no wildcards. */
		if (g->filter == NOTIFY_FILTER_MAILBOXES
		        ? strcmp(g->names[i], name) == 0
		        : notify_in_subtree(g->names[i], name))
			return true;
	}
	return false;
}

unsigned
notify_events_for(const struct notify_session *ns, const char *name,
                  bool subscribed)
{
	unsigned events = 0;
	for (size_t i = 0; i < ns->req.group_count; i++) {
		const struct notify_group *g = &ns->req.groups[i];
		if (notify_group_matches(g, name, subscribed))
			events |= g->events;
	}
	return events;
}

static int
notify_strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool
notify_is_subscribed(const struct notify_session *ns, const char *name)
{
	return ns->subscription_count > 0 &&
	       bsearch(&name, ns->subscriptions, ns->subscription_count,
	               sizeof(char *), notify_strcmp_p) != NULL;
}

struct notify_mailbox *
notify_find_id(struct notify_session *ns, int64_t id)
{
	for (size_t i = 0; i < ns->mailbox_count; i++) {
		if (ns->mailboxes[i].id == id)
			return &ns->mailboxes[i];
	}
	return NULL;
}

void
notify_write_name(struct client *client, struct str *out, const char *name)
{
	struct arena *arena = arena_create(256);
	bool utf8 = client_utf8(client);
	const char *wire = mailbox_name_to_client(arena, name, utf8);
	if (wire == NULL)
		imap_write_string(out, name, strlen(name), false);
	else
		imap_write_astring(out, wire, strlen(wire), utf8);
	arena_destroy(&arena);
}

/* 5.2, 5.3: "* STATUS name (...)" with what tells the client about new
 * and expunged messages and, as UNSEEN, flag changes; HIGHESTMODSEQ
 * with CONDSTORE on (5.1). */
static void
notify_write_status(struct client *client, const char *name,
                    const struct store_status *st)
{
	struct str *out = &client->conn->output;
	str_append_cstr(out, "* STATUS ");
	notify_write_name(client, out, name);
	str_printf(out, " (MESSAGES %u UIDNEXT %u UIDVALIDITY %u UNSEEN %u",
	           st->messages, st->uidnext, st->uidvalidity, st->unseen);
	if ((client->enabled & CLIENT_ENABLED_CONDSTORE) != 0)
		str_printf(out, " HIGHESTMODSEQ %" PRIu64, st->highestmodseq);
	str_append_cstr(out, ")\r\n");
}

static void
notify_remember(struct notify_mailbox *mb, const struct store_status *st)
{
	mb->known = mb->counted = true;
	mb->messages = st->messages;
	mb->uidnext = st->uidnext;
	mb->unseen = st->unseen;
	mb->highestmodseq = st->highestmodseq;
}

/* The message events asked for mb, or 0 for the selected mailbox, whose
 * changes the view reports (6.1). */
static unsigned
notify_message_events(struct client *client, struct notify_session *ns,
                      const struct notify_mailbox *mb)
{
	if (client->view != NULL && client->view->mailbox_id == mb->id)
		return 0;
	return notify_events_for(ns, mb->name,
	                         notify_is_subscribed(ns, mb->name)) &
	       NOTIFY_EVENT_MESSAGE;
}

/* Whether the change from mb's remembered counts to st is one the
 * client asked to hear of. */
static bool
notify_worth_status(const struct notify_mailbox *mb,
                    const struct store_status *st, unsigned events)
{
	if (!mb->known)
		return true;
	bool counts = st->uidnext != mb->uidnext ||
	              (mb->counted && st->messages != mb->messages);
	bool other = st->highestmodseq != mb->highestmodseq ||
	             (mb->counted && st->unseen != mb->unseen);
	/* MessageExpunge comes with MessageNew; without the old count an
	 * expunge looks like any other change. */
	if ((counts || (other && !mb->counted)) &&
	    (events & NOTIFY_EVENT_MESSAGE_NEW) != 0)
		return true;
	return (counts || other) && (events & NOTIFY_EVENT_FLAG_CHANGE) != 0;
}

/* Looks at one mailbox again and sends STATUS if the client wants to
 * hear of what changed.  Returns 0, or -1 with *error_r. */
static int
notify_check_mailbox(struct client *client, struct notify_session *ns,
                     struct notify_mailbox *mb, const char **error_r)
{
	unsigned events = notify_message_events(client, ns, mb);
	if (events == 0)
		return 0;
	struct store *store = client_store(client);
	struct store_status st;
	/* Every change raises HIGHESTMODSEQ: the counters tell cheaply
	 * whether counting is needed. */
	enum store_result r =
	    store_mailbox_counters(store, mb->id, &st, error_r);
	if (r == STORE_OK && mb->known &&
	    st.highestmodseq == mb->highestmodseq && st.uidnext == mb->uidnext)
		return 0;
	if (r == STORE_OK)
		r = store_mailbox_status(store, mb->id, &st, error_r);
	/* Deleted: the mailbox list change reports it. */
	if (r == STORE_NOT_FOUND)
		return 0;
	if (r != STORE_OK)
		return -1;
	bool report = notify_worth_status(mb, &st, events);
	notify_remember(mb, &st);
	if (report)
		notify_write_status(client, mb->name, &st);
	return 0;
}

/* 3.1: the STATUS indicator: the counts of each watched mailbox, which
 * the later ones are compared with.  (Without it the comparison starts
 * from the mailbox list's UIDNEXT and HIGHESTMODSEQ, which cost no
 * counting.)  Returns 0, or -1 with *error_r. */
static int
notify_start_counts(struct client *client, struct notify_session *ns,
                    const char **error_r)
{
	for (size_t i = 0; ns->req.status && i < ns->mailbox_count; i++) {
		struct notify_mailbox *mb = &ns->mailboxes[i];
		if (notify_message_events(client, ns, mb) == 0)
			continue;
		struct store_status st;
		enum store_result r = store_mailbox_status(
		    client_store(client), mb->id, &st, error_r);
		if (r == STORE_NOT_FOUND)
			continue;
		if (r != STORE_OK)
			return -1;
		notify_remember(mb, &st);
		notify_write_status(client, mb->name, &st);
	}
	return 0;
}

void
notify_session_free(struct notify_session **session)
{
	struct notify_session *ns = *session;
	if (ns == NULL)
		return;
	notify_lists_free(ns);
	arena_destroy(&ns->arena);
	free(ns);
	*session = NULL;
}

void
notify_session_clear(struct client *client)
{
	idmap_remove(&client->worker->by_user, &client->user_node);
	notify_session_free(&client->notify);
}

static struct notify_session *
notify_session_new(struct arena *arena, const struct notify_request *req)
{
	struct notify_session *ns = xcalloc(1, sizeof(*ns));
	ns->arena = arena;
	ns->req = *req;
	ns->selected_group = -1;
	for (size_t i = 0; i < req->group_count; i++) {
		if (notify_filter_selected(req->groups[i].filter))
			ns->selected_group = (int)i;
		else if (req->groups[i].events != 0)
			ns->watches_others = true;
	}
	return ns;
}

enum notify_set_result
notify_session_set(struct client *client, struct arena *arena,
                   const struct notify_request *req, const char **error_r)
{
	struct notify_session *ns = notify_session_new(arena, req);
	notify_session_clear(client);
	if (ns->watches_others) {
		bool overflow = false;
		if (notify_lists_load(client, ns, &overflow, error_r) < 0 ||
		    overflow || notify_start_counts(client, ns, error_r) < 0) {
			notify_session_free(&ns);
			return overflow ? NOTIFY_SET_OVERFLOW
			                : NOTIFY_SET_ERROR;
		}
		/* Changes of the user's other mailboxes now reach it. */
		idmap_add(&client->worker->by_user, &client->user_node,
		          client->user_id);
	}
	client->notify = ns;
	return NOTIFY_SET_OK;
}

void
notify_session_note_mailbox(struct notify_session *ns, int64_t mailbox_id)
{
	if (ns->recheck_all)
		return;
	for (size_t i = 0; i < ns->dirty_count; i++) {
		if (ns->dirty[i] == mailbox_id)
			return;
	}
	if (ns->dirty_count == NOTIFY_DIRTY_MAX)
		ns->recheck_all = true;
	else
		ns->dirty[ns->dirty_count++] = mailbox_id;
}

void
notify_session_note_mailboxes(struct notify_session *ns)
{
	ns->mailboxes_dirty = true;
}

void
notify_session_note_subscriptions(struct notify_session *ns)
{
	ns->subscriptions_dirty = true;
}

void
notify_session_note_all(struct notify_session *ns)
{
	ns->recheck_all = true;
}

/* Rechecks the mailboxes noted (or all).  Returns 0 or -1. */
static int
notify_flush_status(struct client *client, struct notify_session *ns, bool all,
                    const char **error_r)
{
	if (all) {
		for (size_t i = 0; i < ns->mailbox_count; i++) {
			if (notify_check_mailbox(client, ns, &ns->mailboxes[i],
			                         error_r) < 0)
				return -1;
		}
		return 0;
	}
	/* A mailbox not in the snapshot yet is new: the mailbox list
	 * change adds it, and marks it then. */
	for (size_t i = 0; i < ns->dirty_count; i++) {
		struct notify_mailbox *mb = notify_find_id(ns, ns->dirty[i]);
		if (mb != NULL &&
		    notify_check_mailbox(client, ns, mb, error_r) < 0)
			return -1;
	}
	return 0;
}

/* 5.8: too much to watch: say so, and act as if NOTIFY NONE came. */
static void
notify_overflow(struct client *client)
{
	client_send(client, "* OK [NOTIFICATIONOVERFLOW] Too many mailboxes "
	                    "to watch; notifications are off\r\n");
	log_info("session=%llx notify overflow",
	         (unsigned long long)client->id);
	notify_session_clear(client);
}

void
notify_session_flush(struct client *client)
{
	struct notify_session *ns = client->notify;
	if (ns == NULL || !ns->watches_others ||
	    (!ns->recheck_all && !ns->mailboxes_dirty &&
	     !ns->subscriptions_dirty && ns->dirty_count == 0))
		return;
	bool all = ns->recheck_all;
	bool lists = all || ns->mailboxes_dirty;
	bool subs = all || ns->subscriptions_dirty;
	/* Notes that come while this runs are looked at next time. */
	ns->recheck_all = ns->mailboxes_dirty = ns->subscriptions_dirty = false;
	const char *error = NULL;
	int ret = 0;
	if (lists || subs)
		ret = notify_lists_refresh(client, ns, lists, subs, &error);
	if (ret == 0 && ns->overflow) {
		notify_overflow(client);
		return;
	}
	/* The refresh marks new mailboxes, perhaps too many to list. */
	all = all || ns->recheck_all;
	ns->recheck_all = false;
	if (ret == 0)
		ret = notify_flush_status(client, ns, all, &error);
	ns->dirty_count = 0;
	if (ret < 0) {
		/* Nothing is lost: the next flush looks at everything. */
		log_error("session=%llx notify failed: %s",
		          (unsigned long long)client->id, error);
		ns->recheck_all = true;
	}
}

unsigned
notify_session_selected_events(const struct notify_session *ns, bool *delayed_r)
{
	*delayed_r = false;
	if (ns->selected_group < 0)
		return 0;
	const struct notify_group *g = &ns->req.groups[ns->selected_group];
	*delayed_r = g->filter == NOTIFY_FILTER_SELECTED_DELAYED;
	return g->events;
}

void
notify_session_announce_new(struct client *client, uint32_t first_uid)
{
	const struct notify_session *ns = client->notify;
	const struct mailbox_view *view = client->view;
	if (ns == NULL || ns->req.new_fetch_count == 0 || view == NULL)
		return;
	size_t first = view->count;
	while (first > 0 && view->messages[first - 1].uid >= first_uid)
		first--;
	size_t n = view->count - first;
	if (n == 0)
		return;
	uint32_t *uids = xcalloc(n, sizeof(*uids));
	for (size_t i = 0; i < n; i++)
		uids[i] = view->messages[first + i].uid;
	notify_fetch_write(client, ns->req.new_fetch, ns->req.new_fetch_count,
	                   uids, n);
	free(uids);
}

/* The session's snapshots, if it keeps them. */
static struct notify_session *
notify_own(struct client *client)
{
	struct notify_session *ns = client->notify;
	return ns != NULL && ns->watches_others ? ns : NULL;
}

void
notify_session_own_create(struct client *client, int64_t mailbox_id,
                          const char *name)
{
	struct notify_session *ns = notify_own(client);
	if (ns != NULL)
		notify_lists_add_mailbox(ns, mailbox_id, name);
}

void
notify_session_own_delete(struct client *client, const char *name)
{
	struct notify_session *ns = notify_own(client);
	if (ns != NULL)
		notify_lists_remove_mailbox(ns, name);
}

void
notify_session_own_rename(struct client *client, const char *old_name,
                          const char *new_name)
{
	struct notify_session *ns = notify_own(client);
	if (ns == NULL)
		return;
	if (strcmp(old_name, "INBOX") != 0) {
		notify_lists_rename(ns, old_name, new_name);
		return;
	}
	/* RFC 9051 6.3.6: renaming INBOX moves its messages to a new
	 * mailbox and leaves INBOX in place. */
	struct arena *arena = arena_create(512);
	struct store_mailbox mb;
	const char *error;
	if (store_mailbox_find(client_store(client), client->user_id, new_name,
	                       arena, &mb, &error) == STORE_OK)
		notify_lists_add_mailbox(ns, mb.id, new_name);
	arena_destroy(&arena);
}

void
notify_session_own_subscribe(struct client *client, const char *name,
                             bool subscribed)
{
	struct notify_session *ns = notify_own(client);
	if (ns != NULL)
		notify_lists_subscribe(ns, name, subscribed);
}
