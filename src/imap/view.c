#include "imap/view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imap/client.h"
#include "net/conn.h"
#include "imap/imap-write.h"
#include "imap/mailbox-name.h"
#include "imap/seqset.h"
#include "imap/worker.h"
#include "lib/arena.h"
#include "lib/idmap.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

/* A sequence set may name at most this many ranges. */
#define VIEW_MAX_SET_RANGES 100000

static const struct {
	uint32_t flag;
	const char *name;
} view_system_flags[] = {
    {STORE_FLAG_ANSWERED, "\\Answered"}, {STORE_FLAG_FLAGGED, "\\Flagged"},
    {STORE_FLAG_DELETED, "\\Deleted"},   {STORE_FLAG_SEEN, "\\Seen"},
    {STORE_FLAG_DRAFT, "\\Draft"},
};

#define VIEW_GROW(array, count, capacity)                                      \
	do {                                                                   \
		if ((count) == (capacity)) {                                   \
			(capacity) = (capacity) < 16 ? 16 : (capacity)*2;      \
			(array) =                                              \
			    xrealloc((array), (capacity) * sizeof(*(array)));  \
		}                                                              \
	} while (0)

const char *
view_intern_keywords(struct mailbox_view *view, const char *keywords)
{
	if (keywords == NULL || keywords[0] == '\0')
		return "";
	for (size_t i = 0; i < view->keyword_count; i++) {
		if (strcmp(view->keywords[i], keywords) == 0)
			return view->keywords[i];
	}
	VIEW_GROW(view->keywords, view->keyword_count, view->keyword_capacity);
	char *copy = xstrdup(keywords);
	view->keywords[view->keyword_count++] = copy;
	return copy;
}

/* Adds each keyword of set to the mailbox's FLAGS list; true if new. */
static bool
view_note_keywords(struct mailbox_view *view, const char *set)
{
	bool added = false;
	while (*set != '\0') {
		size_t len = strcspn(set, " ");
		bool known = false;
		for (size_t i = 0; i < view->mailbox_keyword_count && !known;
		     i++) {
			known =
			    strlen(view->mailbox_keywords[i]) == len &&
			    memcmp(view->mailbox_keywords[i], set, len) == 0;
		}
		if (!known && len > 0) {
			VIEW_GROW(view->mailbox_keywords,
			          view->mailbox_keyword_count,
			          view->mailbox_keyword_capacity);
			char *kw = xmalloc(len + 1);
			memcpy(kw, set, len);
			kw[len] = '\0';
			view->mailbox_keywords[view->mailbox_keyword_count++] =
			    kw;
			added = true;
		}
		set += len;
		while (*set == ' ')
			set++;
	}
	return added;
}

static void
view_send_flags(struct client *client)
{
	struct mailbox_view *view = client->view;
	struct str *out = &client->conn->output;
	str_append_cstr(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen "
	                     "\\Draft");
	for (size_t i = 0; i < view->mailbox_keyword_count; i++)
		str_printf(out, " %s", view->mailbox_keywords[i]);
	str_append_cstr(out, ")\r\n");
	if (view->readonly) {
		str_append_cstr(out, "* OK [PERMANENTFLAGS ()] Read-only\r\n");
		return;
	}
	str_append_cstr(out, "* OK [PERMANENTFLAGS (\\Answered \\Flagged "
	                     "\\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < view->mailbox_keyword_count; i++)
		str_printf(out, " %s", view->mailbox_keywords[i]);
	str_append_cstr(out, " \\*)] Flags permitted\r\n");
}

void
view_write_flags(const struct client *client, const struct view_message *msg,
                 struct str *out)
{
	const char *sep = "";
	str_append_char(out, '(');
	for (size_t i = 0; i < N_ELEMENTS(view_system_flags); i++) {
		if ((msg->flags & view_system_flags[i].flag) != 0) {
			str_printf(out, "%s%s", sep, view_system_flags[i].name);
			sep = " ";
		}
	}
	if (!client_is_rev2(client) && view_is_recent(client->view, msg->uid)) {
		str_printf(out, "%s\\Recent", sep);
		sep = " ";
	}
	if (msg->keywords[0] != '\0')
		str_printf(out, "%s%s", sep, msg->keywords);
	str_append_char(out, ')');
}

void
view_set_flags(struct mailbox_view *view, struct view_message *msg,
               uint32_t flags, const char *keywords, uint64_t modseq)
{
	msg->flags = flags;
	msg->keywords = view_intern_keywords(view, keywords);
	if (modseq > msg->modseq)
		msg->modseq = modseq;
}

size_t
view_index_at_or_after(const struct mailbox_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (view->messages[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t
view_seq_of_uid(const struct mailbox_view *view, uint32_t uid)
{
	size_t i = view_index_at_or_after(view, uid);
	if (i < view->count && view->messages[i].uid == uid)
		return (uint32_t)i + 1;
	return 0;
}

struct view_message *
view_find_uid(struct mailbox_view *view, uint32_t uid)
{
	uint32_t seq = view_seq_of_uid(view, uid);
	return seq == 0 ? NULL : &view->messages[seq - 1];
}

bool
view_is_recent(const struct mailbox_view *view, uint32_t uid)
{
	size_t lo = 0, hi = view->recent_count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (view->recent_uids[mid] == uid)
			return true;
		if (view->recent_uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* Appends loaded messages; returns how many were new. */
static size_t
view_add_messages(struct mailbox_view *view, const struct store_message *msgs,
                  size_t count, bool *new_keywords_r)
{
	size_t added = 0;
	for (size_t i = 0; i < count; i++) {
		if (msgs[i].uid < view->uidnext)
			continue;
		VIEW_GROW(view->messages, view->count, view->capacity);
		struct view_message *m = &view->messages[view->count++];
		m->uid = msgs[i].uid;
		m->flags = msgs[i].flags;
		m->keywords = view_intern_keywords(view, msgs[i].keywords);
		m->modseq = msgs[i].modseq;
		if (view_note_keywords(view, m->keywords))
			*new_keywords_r = true;
		view->uidnext = msgs[i].uid + 1;
		added++;
	}
	return added;
}

/* Claims \Recent for new messages (not for EXAMINE); returns how many of
 * the view's messages became recent. */
static int
view_claim_recent(struct client *client, const char **error_r)
{
	struct mailbox_view *view = client->view;
	/* RFC 9051 dropped \Recent: a rev2 session neither shows nor takes
	 * it, leaving it to rev1 sessions. */
	if (view->readonly || client_is_rev2(client))
		return 0;
	uint32_t first, end;
	if (store_mailbox_claim_recent(client_store(client), view->mailbox_id,
	                               &first, &end, error_r) != STORE_OK)
		return -1;
	for (size_t i = view_index_at_or_after(view, first);
	     i < view->count && view->messages[i].uid < end; i++) {
		VIEW_GROW(view->recent_uids, view->recent_count,
		          view->recent_capacity);
		view->recent_uids[view->recent_count++] = view->messages[i].uid;
	}
	return 0;
}

int
view_open(struct client *client, const struct store_mailbox *mailbox,
          bool readonly, const char **error_r)
{
	struct mailbox_view *view = xcalloc(1, sizeof(*view));
	view->client = client;
	view->mailbox_id = mailbox->id;
	view->name = xstrdup(mailbox->name);
	view->uidvalidity = mailbox->uidvalidity;
	view->uidnext = 1;
	view->modseq = mailbox->highestmodseq;
	view->readonly = readonly;
	client->view = view;

	struct arena *arena = arena_create(65536);
	struct store_message *msgs;
	size_t count;
	bool new_keywords = false;
	if (store_messages_load(client_store(client), mailbox->id, 1, arena,
	                        &msgs, &count, error_r) != STORE_OK ||
	    (view_add_messages(view, msgs, count, &new_keywords), 0) ||
	    view_claim_recent(client, error_r) < 0) {
		arena_destroy(&arena);
		view_close(&client->view);
		return -1;
	}
	arena_destroy(&arena);
	if (view->uidnext < mailbox->uidnext)
		view->uidnext = mailbox->uidnext;
	/* Changes to the mailbox now reach this session (mail/hub.h). */
	idmap_add(&client->worker->by_mailbox, &client->mailbox_node,
	          view->mailbox_id);

	struct str *out = &client->conn->output;
	view_send_flags(client);
	str_printf(out, "* %zu EXISTS\r\n", view->count);
	if (!client_is_rev2(client)) {
		str_printf(out, "* %zu RECENT\r\n", view->recent_count);
		for (size_t i = 0; i < view->count; i++) {
			if (!(view->messages[i].flags & STORE_FLAG_SEEN)) {
				str_printf(out,
				           "* OK [UNSEEN %zu] First unseen\r\n",
				           i + 1);
				break;
			}
		}
	}
	str_printf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
	           view->uidvalidity);
	str_printf(out, "* OK [UIDNEXT %u] Predicted next UID\r\n",
	           view->uidnext);
	/* RFC 7162 3.1.2.1: every mailbox has persistent mod-sequences. */
	str_printf(out, "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest\r\n",
	           view->modseq);
	if (client_is_rev2(client)) {
		/* RFC 9051 6.3.2: the LIST response names the mailbox. */
		struct arena *tmp = arena_create(1024);
		const char *wire =
		    mailbox_name_to_client(tmp, view->name, true);
		str_append_cstr(out, "* LIST () \"/\" ");
		imap_write_astring(out, wire, strlen(wire), true);
		str_append_cstr(out, "\r\n");
		arena_destroy(&tmp);
	}
	return 0;
}

void
view_close(struct mailbox_view **view_p)
{
	struct mailbox_view *view = *view_p;
	if (view == NULL)
		return;
	idmap_remove(&view->client->worker->by_mailbox,
	             &view->client->mailbox_node);
	for (size_t i = 0; i < view->keyword_count; i++)
		free(view->keywords[i]);
	for (size_t i = 0; i < view->mailbox_keyword_count; i++)
		free(view->mailbox_keywords[i]);
	free(view->keywords);
	free(view->mailbox_keywords);
	free(view->messages);
	free(view->recent_uids);
	free(view->searchres);
	free(view->name);
	free(view);
	*view_p = NULL;
}

static void
view_remove_index(struct mailbox_view *view, size_t i)
{
	memmove(&view->messages[i], &view->messages[i + 1],
	        (view->count - i - 1) * sizeof(view->messages[0]));
	view->count--;
}

/* RFC 7162 3.2.10: with QRESYNC on, the expunged UIDs as one VANISHED
 * response instead of an EXPUNGE each. */
static void
view_send_vanished(struct client *client, const uint32_t *uids, size_t count)
{
	if (count == 0)
		return;
	struct str *out = &client->conn->output;
	str_append_cstr(out, "* VANISHED ");
	imap_write_uid_set(out, uids, count);
	str_append_cstr(out, "\r\n");
}

/* Sends EXPUNGE (or VANISHED) for expunged UIDs in the view; returns how
 * many of them were in the view (and, without allow, left there). */
static size_t
view_sync_expunges(struct client *client, const uint32_t *uids, size_t count,
                   bool allow)
{
	struct mailbox_view *view = client->view;
	bool vanished = client_qresync(client);
	uint32_t *gone =
	    vanished && allow ? xmalloc((count + 1) * sizeof(*gone)) : NULL;
	size_t present = 0;
	for (size_t i = 0; i < count; i++) {
		uint32_t seq = view_seq_of_uid(view, uids[i]);
		if (seq == 0)
			continue;
		if (allow && vanished)
			gone[present] = uids[i];
		present++;
		if (!allow)
			continue;
		view_remove_index(view, seq - 1);
		if (!vanished)
			str_printf(&client->conn->output, "* %u EXPUNGE\r\n",
			           seq);
	}
	if (gone != NULL)
		view_send_vanished(client, gone, present);
	free(gone);
	return present;
}

static void
view_send_fetch_flags(struct client *client, uint32_t seq,
                      const struct view_message *msg)
{
	struct str *out = &client->conn->output;
	str_printf(out, "* %u FETCH (UID %u FLAGS ", seq, msg->uid);
	view_write_flags(client, msg, out);
	/* RFC 7162 3.1: after a CONDSTORE enabling command, every FETCH
	 * response carries the message's mod-sequence. */
	if (client_condstore(client))
		str_printf(out, " MODSEQ (%" PRIu64 ")", msg->modseq);
	str_append_cstr(out, ")\r\n");
}

static void
view_sync_flags(struct client *client, const struct store_message *msgs,
                size_t count, bool *new_keywords)
{
	struct mailbox_view *view = client->view;
	for (size_t i = 0; i < count; i++) {
		uint32_t seq = view_seq_of_uid(view, msgs[i].uid);
		if (seq == 0)
			continue;
		struct view_message *m = &view->messages[seq - 1];
		const char *kw =
		    msgs[i].keywords != NULL ? msgs[i].keywords : "";
		if (m->flags == msgs[i].flags && strcmp(m->keywords, kw) == 0 &&
		    (!client_condstore(client) ||
		     m->modseq >= msgs[i].modseq)) {
			/* This session already reported it (its own STORE),
			 * or, without CONDSTORE, flags changed and back. */
			m->modseq = msgs[i].modseq;
			continue;
		}
		view_set_flags(view, m, msgs[i].flags, kw, msgs[i].modseq);
		if (view_note_keywords(view, m->keywords))
			*new_keywords = true;
		view_send_fetch_flags(client, seq, m);
	}
}

/*
 * What changed in a mailbox since one point (modseq, uidnext) of a view.
 * During a hub dispatch round, many sessions in IDLE on one mailbox stand
 * at the same point, so the worker shares one fetch between them
 * (view_share_begin/end); otherwise each sync fetches its own.
 */
struct view_changes {
	int64_t mailbox_id;
	uint64_t since_modseq;
	uint32_t since_uidnext;
	bool gone;                  /* the mailbox was deleted */
	struct store_status status; /* counters only */
	uint32_t *expunged;
	size_t expunged_count;
	/* The store forgot expunges since the point (vanished_floor): every
	 * UID that exists, to tell the expunged ones by their absence. */
	bool history_gone;
	uint32_t *present;
	size_t present_count;
	struct store_message *changed, *added;
	size_t changed_count, added_count;
};

/* Distinct points shared in one round; past this, syncs fetch alone. */
#define VIEW_SHARE_MAX 64

static _Thread_local struct {
	bool active;
	struct arena *arena;
	struct view_changes items[VIEW_SHARE_MAX];
	size_t count;
} view_share;

void
view_share_begin(void)
{
	if (view_share.arena == NULL)
		view_share.arena = arena_create(16384);
	view_share.active = true;
	view_share.count = 0;
}

void
view_share_end(void)
{
	view_share.active = false;
	view_share.count = 0;
	/* Idle workers keep no result memory. */
	arena_destroy(&view_share.arena);
}

/* The UIDs below the point that still exist, ascending. */
static int
view_changes_present(struct store *store, struct arena *arena,
                     struct view_changes *ch, const char **error_r)
{
	struct store_message *msgs;
	size_t count;
	if (store_messages_load(store, ch->mailbox_id, 1, arena, &msgs, &count,
	                        error_r) != STORE_OK)
		return -1;
	ch->present = arena_new_array(arena, uint32_t, count + 1);
	for (size_t i = 0; i < count && msgs[i].uid < ch->since_uidnext; i++)
		ch->present[ch->present_count++] = msgs[i].uid;
	return 0;
}

/* With the history gone: the view's UIDs that no longer exist (heap). */
static uint32_t *
view_absent_uids(const struct mailbox_view *view, const struct view_changes *ch,
                 size_t *count_r)
{
	uint32_t *uids = xmalloc((view->count + 1) * sizeof(*uids));
	size_t n = 0, j = 0;
	for (size_t i = 0; i < view->count; i++) {
		uint32_t uid = view->messages[i].uid;
		while (j < ch->present_count && ch->present[j] < uid)
			j++;
		if (j == ch->present_count || ch->present[j] != uid)
			uids[n++] = uid;
	}
	*count_r = n;
	return uids;
}

static int
view_changes_fetch(struct store *store, struct arena *arena,
                   struct view_changes *ch, const char **error_r)
{
	enum store_result r =
	    store_mailbox_counters(store, ch->mailbox_id, &ch->status, error_r);
	if (r == STORE_NOT_FOUND) {
		ch->gone = true;
		return 0;
	}
	if (r != STORE_OK)
		return -1;
	if (ch->status.highestmodseq == ch->since_modseq &&
	    ch->status.uidnext == ch->since_uidnext)
		return 0;
	ch->history_gone = ch->since_modseq < ch->status.vanished_floor;
	if (ch->history_gone) {
		if (view_changes_present(store, arena, ch, error_r) < 0)
			return -1;
	} else if (store_messages_expunged_since(
	               store, ch->mailbox_id, ch->since_modseq, arena,
	               &ch->expunged, &ch->expunged_count,
	               error_r) != STORE_OK) {
		return -1;
	}
	if (store_messages_changed(store, ch->mailbox_id, ch->since_modseq,
	                           ch->since_uidnext, arena, &ch->changed,
	                           &ch->changed_count, error_r) != STORE_OK ||
	    store_messages_load(store, ch->mailbox_id, ch->since_uidnext, arena,
	                        &ch->added, &ch->added_count,
	                        error_r) != STORE_OK)
		return -1;
	return 0;
}

/* The changes since the view's point: shared, or fetched into local. */
static struct view_changes *
view_changes_get(struct client *client, struct arena *arena,
                 struct view_changes *local, const char **error_r)
{
	const struct mailbox_view *view = client->view;
	struct view_changes key = {.mailbox_id = view->mailbox_id,
	                           .since_modseq = view->modseq,
	                           .since_uidnext = view->uidnext};
	if (view_share.active) {
		for (size_t i = 0; i < view_share.count; i++) {
			struct view_changes *c = &view_share.items[i];
			if (c->mailbox_id == key.mailbox_id &&
			    c->since_modseq == key.since_modseq &&
			    c->since_uidnext == key.since_uidnext)
				return c;
		}
		if (view_share.count < VIEW_SHARE_MAX) {
			struct view_changes *c =
			    &view_share.items[view_share.count];
			*c = key;
			if (view_changes_fetch(client_store(client),
			                       view_share.arena, c,
			                       error_r) < 0)
				return NULL;
			view_share.count++;
			return c;
		}
	}
	*local = key;
	if (view_changes_fetch(client_store(client), arena, local, error_r) < 0)
		return NULL;
	return local;
}

/* Applies the changes to the view and queues the responses. */
static int
view_apply(struct client *client, struct view_changes *ch, bool allow_expunge,
           const char **error_r)
{
	struct mailbox_view *view = client->view;
	bool new_keywords = false;
	size_t pending;
	if (ch->history_gone) {
		size_t n;
		uint32_t *absent = view_absent_uids(view, ch, &n);
		pending = view_sync_expunges(client, absent, n, allow_expunge);
		free(absent);
	} else {
		pending = view_sync_expunges(client, ch->expunged,
		                             ch->expunged_count, allow_expunge);
	}
	view_sync_flags(client, ch->changed, ch->changed_count, &new_keywords);
	size_t recent_before = view->recent_count;
	size_t n =
	    view_add_messages(view, ch->added, ch->added_count, &new_keywords);
	/* Only the first session to look can get new messages as \Recent;
	 * the others of this round need not ask the store. */
	if (n > 0 && ch->status.recent > 0 && !client_is_rev2(client) &&
	    !view->readonly) {
		if (view_claim_recent(client, error_r) < 0)
			return -1;
		ch->status.recent = 0;
	}
	if (new_keywords)
		view_send_flags(client);
	if (n > 0) {
		str_printf(&client->conn->output, "* %zu EXISTS\r\n",
		           view->count);
		if (!client_is_rev2(client) &&
		    (n > 0 || view->recent_count != recent_before))
			str_printf(&client->conn->output, "* %zu RECENT\r\n",
			           view->recent_count);
	}
	/* With expunges held back, later syncs must look at them again. */
	if (allow_expunge || pending == 0)
		view->modseq = ch->status.highestmodseq;
	return 0;
}

/* True if the changes hold more than flag changes for a sync that may
 * or may not send expunges. */
static bool
view_changes_news(const struct mailbox_view *view,
                  const struct view_changes *ch, bool allow_expunge)
{
	if (ch->added_count > 0)
		return true;
	for (size_t i = 0; allow_expunge && i < ch->expunged_count; i++) {
		if (view_seq_of_uid(view, ch->expunged[i]) != 0)
			return true;
	}
	/* Without the history, only a sync that may expunge finds out. */
	return allow_expunge && ch->history_gone;
}

int
view_sync(struct client *client, bool allow_expunge, const char **error_r)
{
	return view_sync_if(client, allow_expunge, true, error_r);
}

int
view_sync_if(struct client *client, bool allow_expunge, bool flags_alone,
             const char **error_r)
{
	struct arena *arena = arena_create(4096);
	struct view_changes local;
	struct view_changes *ch =
	    view_changes_get(client, arena, &local, error_r);
	int ret = -1;
	if (ch == NULL)
		goto out;
	ret = 0;
	if (ch->gone) {
		/* The mailbox was deleted under us; RFC 9051 7.1.5 lets us
		 * end the session, which is what clients cope with best. */
		client_send(client, "* BYE Selected mailbox was deleted\r\n");
		conn_close_after_output(client->conn, "mailbox deleted");
	} else if ((ch->status.highestmodseq != ch->since_modseq ||
	            ch->status.uidnext != ch->since_uidnext) &&
	           (flags_alone ||
	            view_changes_news(client->view, ch, allow_expunge))) {
		ret = view_apply(client, ch, allow_expunge, error_r);
	}
out:
	arena_destroy(&arena);
	return ret;
}

int
view_resolve_set(const struct mailbox_view *view, struct arena *arena,
                 const char *set_text, size_t set_len, bool uid,
                 uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	*uids_r = NULL;
	*count_r = 0;
	if (set_len == 1 && set_text[0] == '$') {
		/* RFC 5182: the saved result, restricted to what exists. */
		uint32_t *uids =
		    arena_new_array(arena, uint32_t, view->searchres_count + 1);
		size_t n = 0;
		for (size_t i = 0; i < view->searchres_count; i++) {
			if (view_seq_of_uid(view, view->searchres[i]) != 0)
				uids[n++] = view->searchres[i];
		}
		*uids_r = uids;
		*count_r = n;
		return 0;
	}
	struct seqset set;
	if (!seqset_parse(arena, set_text, set_len, VIEW_MAX_SET_RANGES,
	                  &set)) {
		*error_r = "Invalid sequence set";
		return -1;
	}
	uint32_t star =
	    uid ? (view->count > 0 ? view->messages[view->count - 1].uid : 0)
	        : (uint32_t)view->count;
	size_t words = (view->count + 63) / 64 + 1;
	uint64_t *bits = arena_new_array(arena, uint64_t, words);
	for (size_t i = 0; i < set.count; i++) {
		struct seq_range range = set.ranges[i];
		/* 4294967295 is a number, not '*', when written out. */
		bool lo_star = range.lo == SEQSET_STAR &&
		               !(range.numbers & SEQ_RANGE_LO_NUMBER);
		bool hi_star = range.hi == SEQSET_STAR &&
		               !(range.numbers & SEQ_RANGE_HI_NUMBER);
		bool has_star = lo_star || hi_star;
		if (lo_star)
			range.lo = star;
		if (hi_star)
			range.hi = star;
		if (range.lo > range.hi) {
			uint32_t t = range.lo;
			range.lo = range.hi;
			range.hi = t;
		}
		if (has_star && star == 0)
			continue; /* '*' in an empty mailbox names nothing */
		size_t first, end;
		if (uid) {
			first = view_index_at_or_after(view, range.lo);
			end = range.hi == UINT32_MAX
			          ? view->count
			          : view_index_at_or_after(view, range.hi + 1);
			if (end < first)
				end = first;
		} else {
			if (range.lo == 0 || range.hi > view->count) {
				*error_r = "Invalid message sequence number";
				return -1;
			}
			first = range.lo - 1;
			end = range.hi;
		}
		for (size_t j = first; j < end; j++)
			bits[j / 64] |= (uint64_t)1 << (j % 64);
	}
	size_t n = 0;
	for (size_t w = 0; w < words; w++)
		n += (size_t)__builtin_popcountll(bits[w]);
	uint32_t *uids = arena_new_array(arena, uint32_t, n + 1);
	size_t k = 0;
	for (size_t j = 0; j < view->count; j++) {
		if ((bits[j / 64] >> (j % 64)) & 1)
			uids[k++] = view->messages[j].uid;
	}
	*uids_r = uids;
	*count_r = k;
	return 0;
}
