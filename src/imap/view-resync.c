/*
 * Telling a client what changed since a mod-sequence it knows (RFC 7162):
 * the VANISHED (EARLIER) response of a QRESYNC SELECT (3.2.5) and of UID
 * FETCH with CHANGEDSINCE and VANISHED (3.2.6), and the FETCH responses
 * of messages changed since then.
 *
 * The store keeps a bounded history of expunges (store_set_vanished_max).
 * When the client's point is older than what is kept, the exact list is
 * gone; RFC 7162 3.2.5.1 lets VANISHED (EARLIER) name UIDs the client
 * never saw, so we then name every UID below UIDNEXT that no longer
 * exists (within the client's known UIDs): never one that does.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "imap/client.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

/* A VANISHED set longer than this (a mailbox of millions of sparse UIDs)
 * fails the command rather than being held in memory. */
#define RESYNC_SET_MAX (16 * 1024 * 1024)

/* Builds "a:b,c,..." from ascending ranges, merging adjacent ones. */
struct uid_ranges {
	struct str *out;
	uint32_t lo, hi;
	bool pending, any;
};

static void
uid_ranges_flush(struct uid_ranges *r)
{
	if (!r->pending)
		return;
	if (r->any)
		str_append_char(r->out, ',');
	if (r->lo == r->hi)
		str_printf(r->out, "%" PRIu32, r->lo);
	else
		str_printf(r->out, "%" PRIu32 ":%" PRIu32, r->lo, r->hi);
	r->any = true;
	r->pending = false;
}

static void
uid_ranges_add(struct uid_ranges *r, uint32_t lo, uint32_t hi)
{
	if (r->pending && lo == r->hi + 1) {
		r->hi = hi;
		return;
	}
	uid_ranges_flush(r);
	r->lo = lo;
	r->hi = hi;
	r->pending = true;
}

/* Adds [lo, hi] minus the view's UIDs. */
static void
uid_ranges_add_absent(struct uid_ranges *r, const struct mailbox_view *view,
                      uint32_t lo, uint32_t hi)
{
	uint32_t next = lo;
	for (size_t i = view_index_at_or_after(view, lo);
	     i < view->count && next <= hi; i++) {
		uint32_t uid = view->messages[i].uid;
		if (uid > hi)
			break;
		if (uid > next)
			uid_ranges_add(r, next, uid - 1);
		next = uid + 1;
		if (next == 0) /* uid was UINT32_MAX */
			return;
	}
	if (next <= hi)
		uid_ranges_add(r, next, hi);
}

/* History gone: every UID below UIDNEXT (within limit) not in the view. */
static void
resync_write_absent(struct uid_ranges *r, const struct mailbox_view *view,
                    const struct seqset *limit)
{
	if (view->uidnext <= 1)
		return;
	uint32_t top = view->uidnext - 1;
	if (limit == NULL) {
		uid_ranges_add_absent(r, view, 1, top);
		return;
	}
	for (size_t i = 0; i < limit->count; i++) {
		uint32_t lo = limit->ranges[i].lo, hi = limit->ranges[i].hi;
		if (lo > top)
			break;
		uid_ranges_add_absent(r, view, lo, hi < top ? hi : top);
	}
}

/* The remembered expunges since the point, within limit, that the view
 * no longer holds (one it still holds is told by the next sync). */
static void
resync_write_expunged(struct uid_ranges *r, const struct mailbox_view *view,
                      const struct seqset *limit, const uint32_t *uids,
                      size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if ((limit != NULL && !seqset_contains(limit, uids[i])) ||
		    view_seq_of_uid(view, uids[i]) != 0)
			continue;
		uid_ranges_add(r, uids[i], uids[i]);
	}
}

int
view_send_vanished_earlier(struct client *client, uint64_t since_modseq,
                           const struct seqset *limit, struct arena *arena,
                           const char **error_r)
{
	const struct mailbox_view *view = client->view;
	struct store *store = client_store(client);
	struct store_status st;
	if (store_mailbox_counters(store, view->mailbox_id, &st, error_r) !=
	    STORE_OK)
		return -1;
	struct str set;
	str_init(&set, RESYNC_SET_MAX);
	struct uid_ranges r = {.out = &set};
	int ret = 0;
	if (since_modseq < st.vanished_floor) {
		resync_write_absent(&r, view, limit);
	} else {
		uint32_t *uids;
		size_t count;
		if (store_messages_expunged_since(store, view->mailbox_id,
		                                  since_modseq, arena, &uids,
		                                  &count, error_r) != STORE_OK)
			ret = -1;
		else
			resync_write_expunged(&r, view, limit, uids, count);
	}
	uid_ranges_flush(&r);
	if (ret == 0 && str_failed(&set)) {
		*error_r = "VANISHED set too large";
		ret = -1;
	}
	if (ret == 0 && r.any) {
		struct str *out = &client->conn->output;
		str_append_cstr(out, "* VANISHED (EARLIER) ");
		str_append(out, set.data, set.len);
		str_append_cstr(out, "\r\n");
	}
	str_free(&set);
	return ret;
}

void
view_send_changed_since(struct client *client, uint64_t since_modseq,
                        const struct seqset *limit)
{
	const struct mailbox_view *view = client->view;
	struct str *out = &client->conn->output;
	for (size_t i = 0; i < view->count; i++) {
		const struct view_message *m = &view->messages[i];
		if (m->modseq <= since_modseq ||
		    (limit != NULL && !seqset_contains(limit, m->uid)))
			continue;
		str_printf(out, "* %zu FETCH (UID %" PRIu32 " FLAGS ", i + 1,
		           m->uid);
		view_write_flags(client, m, out);
		str_printf(out, " MODSEQ (%" PRIu64 "))\r\n", m->modseq);
	}
}

void
view_condstore_enable(struct client *client)
{
	if (client_condstore(client))
		return;
	client->enabled |= CLIENT_ENABLED_CONDSTORE;
	/* RFC 7162 3.1: the first enabling command with a mailbox selected
	 * is told where the mailbox stands. */
	if (client->view != NULL)
		client_send(client,
		            "* OK [HIGHESTMODSEQ %" PRIu64 "] Highest\r\n",
		            client->view->modseq);
}
