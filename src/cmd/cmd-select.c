/* SELECT, EXAMINE, CLOSE and UNSELECT (RFC 9051 6.3.2, 6.3.3, 6.4.1,
 * 6.4.2), with the CONDSTORE and QRESYNC parameters (RFC 7162 3.1.8,
 * 3.2.5). */
#include <string.h>

#include "imap/client.h"
#include "imap/command.h"
#include "imap/mailbox-name.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/util.h"
#include "store/store.h"

/* Ranges in a QRESYNC known-uids set, as for other sets. */
#define SELECT_MAX_SET_RANGES 100000

struct select_params {
	bool condstore;
	bool qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	bool has_known;
	struct seqset known; /* known-uids */
};

static bool
select_parse_set(struct command *cmd, const struct imap_arg *arg,
                 struct seqset *set_r)
{
	return arg->type == IMAP_ARG_ATOM &&
	       seqset_parse(cmd->arena, arg->str, arg->len,
	                    SELECT_MAX_SET_RANGES, set_r);
}

/*
 * RFC 7162 3.2.5: "QRESYNC" SP "(" uidvalidity SP mod-sequence-value
 * [SP known-uids] [SP seq-match-data] ")", seq-match-data = "("
 * known-sequence-set SP known-uid-set ")".  The sequence match data is
 * checked but not used: without the expunge history we answer with every
 * absent UID, which RFC 7162 3.2.5.1 allows.
 */
static bool
select_parse_qresync(struct command *cmd, const struct imap_arg *list,
                     struct select_params *p)
{
	uint64_t uidvalidity;
	size_t n = list->list_count;
	const struct imap_arg *a = list->list;
	if (list->type != IMAP_ARG_LIST || n < 2 || n > 4 ||
	    a[0].type != IMAP_ARG_ATOM || a[1].type != IMAP_ARG_ATOM ||
	    !parse_u64(a[0].str, a[0].len, UINT32_MAX, &uidvalidity) ||
	    uidvalidity == 0 ||
	    !parse_u64(a[1].str, a[1].len, INT64_MAX, &p->modseq))
		return false;
	p->uidvalidity = (uint32_t)uidvalidity;
	size_t i = 2;
	if (i < n && a[i].type == IMAP_ARG_ATOM) {
		if (!select_parse_set(cmd, &a[i++], &p->known))
			return false;
		p->has_known = true;
	}
	if (i < n) {
		struct seqset seqs, uids;
		const struct imap_arg *m = &a[i++];
		if (m->type != IMAP_ARG_LIST || m->list_count != 2 ||
		    !select_parse_set(cmd, &m->list[0], &seqs) ||
		    !select_parse_set(cmd, &m->list[1], &uids))
			return false;
	}
	p->qresync = true;
	return i == n;
}

/* RFC 4466 2.1 select-params: "(" select-param *(SP select-param) ")". */
static bool
select_parse_params(struct command *cmd, const struct imap_arg *list,
                    struct select_params *p, const char **error_r)
{
	*error_r = "Unsupported parameters";
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "CONDSTORE")) {
			p->condstore = true;
			continue;
		}
		if (!imap_arg_atom_equals(a, "QRESYNC") || p->qresync)
			return false;
		/* RFC 7162 3.2.5: only after ENABLE QRESYNC. */
		if (!client_qresync(cmd->client)) {
			*error_r = "QRESYNC is not enabled";
			return false;
		}
		*error_r = "Invalid QRESYNC parameters";
		if (++i == list->list_count ||
		    !select_parse_qresync(cmd, &list->list[i], p))
			return false;
	}
	return true;
}

/* After the usual responses: what changed since the client's point, if
 * its UIDVALIDITY still holds (RFC 7162 3.2.5). */
static int
select_resync(struct command *cmd, struct select_params *p,
              const char **error_r)
{
	struct client *client = cmd->client;
	struct mailbox_view *view = client->view;
	if (!p->qresync || p->uidvalidity != view->uidvalidity)
		return 0;
	struct seqset *known = p->has_known ? &p->known : NULL;
	if (known != NULL)
		seqset_resolve(known,
		               view->uidnext > 1 ? view->uidnext - 1 : 0);
	if (view_send_vanished_earlier(client, p->modseq, known, cmd->arena,
	                               error_r) < 0)
		return -1;
	view_send_changed_since(client, p->modseq, known);
	return 0;
}

static void
select_close_current(struct client *client)
{
	if (client->view == NULL)
		return;
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	/* RFC 9051 7.1: [CLOSED] marks where the old mailbox's responses
	 * end, so the client can tell them from the new one's. */
	client_send(client, "* OK [CLOSED] Previous mailbox closed\r\n");
}

static enum cmd_result
select_open(struct command *cmd, bool readonly)
{
	struct client *client = cmd->client;
	const char *raw, *error;
	size_t raw_len;
	if (cmd->arg_count < 1 || cmd->arg_count > 2 ||
	    !imap_arg_get_astring(&cmd->args[0], &raw, &raw_len))
		return cmd_bad(cmd, "%s needs a mailbox name", cmd->name);
	struct select_params params = {0};
	if (cmd->arg_count == 2 &&
	    (cmd->args[1].type != IMAP_ARG_LIST ||
	     !select_parse_params(cmd, &cmd->args[1], &params, &error)))
		return cmd_bad(cmd, "%s: %s", cmd->name,
		               cmd->args[1].type == IMAP_ARG_LIST
		                   ? error
		                   : "Parameters must be a list");
	const char *name = mailbox_name_from_client(
	    cmd->arena, raw, raw_len, client_utf8(client), false, &error);
	select_close_current(client);
	if (name == NULL)
		return cmd_no(cmd, "[NONEXISTENT] %s", error);
	struct store_mailbox mailbox;
	enum store_result r =
	    store_mailbox_find(client_store(client), client->user_id, name,
	                       cmd->arena, &mailbox, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	/* RFC 7162 3.1: SELECT (CONDSTORE) enables CONDSTORE. */
	if (params.condstore || params.qresync)
		view_condstore_enable(client);
	if (view_open(client, &mailbox, readonly, &error) < 0)
		return cmd_store_error(cmd, error);
	client->state = CLIENT_STATE_SELECTED;
	if (select_resync(cmd, &params, &error) < 0) {
		view_close(&client->view);
		client->state = CLIENT_STATE_AUTHENTICATED;
		return cmd_store_error(cmd, error);
	}
	return cmd_ok(cmd, "[%s] %s completed",
	              readonly ? "READ-ONLY" : "READ-WRITE", cmd->name);
}

enum cmd_result
cmd_select(struct command *cmd)
{
	return select_open(cmd, false);
}

enum cmd_result
cmd_examine(struct command *cmd)
{
	return select_open(cmd, true);
}

enum cmd_result
cmd_close(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "CLOSE takes no arguments");
	cmd->skip_sync = true;
	if (!client->view->readonly) {
		/* RFC 9051 6.4.1: expunge silently, no EXPUNGE responses. */
		uint32_t *uids;
		size_t count;
		const char *error;
		if (store_expunge(client_store(client),
		                  client->view->mailbox_id, NULL, 0, cmd->arena,
		                  &uids, &count, &error) != STORE_OK) {
			view_close(&client->view);
			client->state = CLIENT_STATE_AUTHENTICATED;
			return cmd_store_error(cmd, error);
		}
	}
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	return cmd_ok(cmd, "CLOSE completed");
}

enum cmd_result
cmd_unselect(struct command *cmd)
{
	struct client *client = cmd->client;
	if (cmd->arg_count != 0)
		return cmd_bad(cmd, "UNSELECT takes no arguments");
	cmd->skip_sync = true;
	view_close(&client->view);
	client->state = CLIENT_STATE_AUTHENTICATED;
	return cmd_ok(cmd, "UNSELECT completed");
}
