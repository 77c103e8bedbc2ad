/* STORE and UID STORE (RFC 9051 6.4.6, 6.4.9; RFC 7162 3.1.3
 * UNCHANGEDSINCE). */
#include <string.h>

#include "imap/flags-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-write.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

/* The MODIFIED response code is cut off beyond this many bytes. */
#define STORE_MODIFIED_MAX (64 * 1024)

struct store_request {
	enum store_flags_mode mode;
	bool silent;
	uint32_t flags;
	const char *keywords;
	bool conditional; /* (UNCHANGEDSINCE n) was given */
	uint64_t unchanged_since;
};

/* Progress of the untagged FETCH responses. */
struct store_ctx {
	uint32_t *uids; /* the messages to report, ascending */
	size_t count, next;
	const char *modified; /* "[MODIFIED set] " or "" */
	bool modseq_only;     /* .SILENT with CONDSTORE: no FLAGS */
};

/* RFC 7162 3.1.3: "(UNCHANGEDSINCE n)" is the only store modifier. */
static int
store_parse_modifiers(const struct imap_arg *list, struct store_request *req,
                      const char **error_r)
{
	*error_r = "Invalid STORE modifier";
	if (list->list_count != 2 ||
	    !imap_arg_atom_equals(&list->list[0], "UNCHANGEDSINCE") ||
	    list->list[1].type != IMAP_ARG_ATOM)
		return -1;
	/* RFC 7162 7: mod-sequence-valzer is 0..2^63-1. */
	if (!parse_u64(list->list[1].str, list->list[1].len, INT64_MAX,
	               &req->unchanged_since))
		return -1;
	req->conditional = true;
	return 0;
}

/* Parses "[+|-]FLAGS[.SILENT]". */
static int
store_parse_item(const struct imap_arg *arg, struct store_request *req)
{
	if (arg->type != IMAP_ARG_ATOM)
		return -1;
	const char *s = arg->str;
	size_t len = arg->len;
	req->mode = STORE_FLAGS_REPLACE;
	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		req->mode = s[0] == '+' ? STORE_FLAGS_ADD : STORE_FLAGS_REMOVE;
		s++;
		len--;
	}
	if (mem_case_eq(s, len, "FLAGS.SILENT"))
		req->silent = true;
	else if (!mem_case_eq(s, len, "FLAGS"))
		return -1;
	return 0;
}

/* Parses the flags: one list, or one or more flag atoms. */
static int
store_parse_flags(struct command *cmd, size_t first, struct store_request *req,
                  const char **error_r)
{
	size_t n = cmd->arg_count - first;
	const struct imap_arg *arg = &cmd->args[first];
	*error_r = "Missing flags";
	if (n == 0)
		return -1;
	struct imap_arg *list = NULL;
	if (n > 1) {
		/* RFC 9051 6.4.6: "flag *(SP flag)" without parentheses. */
		list = arena_new(cmd->arena, struct imap_arg);
		list->type = IMAP_ARG_LIST;
		list->list = (struct imap_arg *)arg;
		list->list_count = n;
		arg = list;
	} else if (arg->type != IMAP_ARG_LIST && arg->type != IMAP_ARG_ATOM) {
		*error_r = "Flags must be atoms";
		return -1;
	}
	/* RFC 3501 clients may echo \Recent back; rev2 removed it. */
	bool allow_recent = !client_is_rev2(cmd->client);
	return flags_parse(cmd->arena, arg, allow_recent, &req->flags,
	                   &req->keywords, error_r);
}

static int
store_parse(struct command *cmd, struct store_request *req,
            const char **error_r)
{
	size_t i = 1;
	if (cmd->arg_count < 3 || cmd->args[0].type != IMAP_ARG_ATOM) {
		*error_r = "STORE needs a sequence set, an item and flags";
		return -1;
	}
	if (cmd->args[i].type == IMAP_ARG_LIST &&
	    store_parse_modifiers(&cmd->args[i++], req, error_r) < 0)
		return -1;
	if (i >= cmd->arg_count || store_parse_item(&cmd->args[i], req) < 0) {
		*error_r = "Expected FLAGS, +FLAGS or -FLAGS";
		return -1;
	}
	return store_parse_flags(cmd, i + 1, req, error_r);
}

/* Adds the request's keywords to the mailbox's FLAGS list; true if one
 * was new there, so the client must hear a new FLAGS response.  The list
 * belongs to the view (heap, freed by view_close()). */
static bool
store_note_keywords(struct mailbox_view *view, const char *set)
{
	bool added = false;
	while (*set != '\0') {
		size_t len = strcspn(set, " ");
		bool known = false;
		for (size_t i = 0; i < view->mailbox_keyword_count && !known;
		     i++) {
			const char *kw = view->mailbox_keywords[i];
			known = strlen(kw) == len && memcmp(kw, set, len) == 0;
		}
		if (!known) {
			if (view->mailbox_keyword_count ==
			    view->mailbox_keyword_capacity) {
				size_t cap = view->mailbox_keyword_capacity;
				cap = cap < 16 ? 16 : cap * 2;
				view->mailbox_keywords =
				    xrealloc(view->mailbox_keywords,
				             cap * sizeof(char *));
				view->mailbox_keyword_capacity = cap;
			}
			char *kw = xmalloc(len + 1);
			memcpy(kw, set, len);
			kw[len] = '\0';
			view->mailbox_keywords[view->mailbox_keyword_count++] =
			    kw;
			added = true;
		}
		set += len;
		set += strspn(set, " ");
	}
	return added;
}

/* RFC 9051 7.3.5 / 7.1: a new keyword is announced in FLAGS and
 * PERMANENTFLAGS before the FETCH responses that use it. */
static void
store_send_flags(struct client *client)
{
	struct mailbox_view *view = client->view;
	struct str *out = &client->conn->output;
	str_append_cstr(
	    out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < view->mailbox_keyword_count; i++)
		str_printf(out, " %s", view->mailbox_keywords[i]);
	str_append_cstr(out, ")\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged "
	                     "\\Deleted \\Seen \\Draft");
	for (size_t i = 0; i < view->mailbox_keyword_count; i++)
		str_printf(out, " %s", view->mailbox_keywords[i]);
	str_append_cstr(out, " \\*)] Flags permitted\r\n");
}

static uint32_t
store_apply_flags(uint32_t current, const struct store_request *req)
{
	switch (req->mode) {
	case STORE_FLAGS_ADD:
		return current | req->flags;
	case STORE_FLAGS_REMOVE:
		return current & ~req->flags;
	case STORE_FLAGS_REPLACE:
		break;
	}
	return req->flags;
}

/*
 * Brings the view's flags of the stored messages up to date with what
 * this STORE did, so view_sync() won't report them again.  Changes by
 * other sessions are not folded in here: view_sync() still sees them
 * differ from the cache and reports them.  Drops failed UIDs from uids.
 */
static void
store_update_view(struct command *cmd, const struct store_request *req,
                  struct store_ctx *ctx, const struct store_message *changed,
                  size_t changed_count, const uint32_t *failed,
                  size_t failed_count)
{
	struct mailbox_view *view = cmd->client->view;
	size_t n = 0, c = 0, f = 0;
	for (size_t i = 0; i < ctx->count; i++) {
		uint32_t uid = ctx->uids[i];
		while (f < failed_count && failed[f] < uid)
			f++;
		if (f < failed_count && failed[f] == uid)
			continue;
		while (c < changed_count && changed[c].uid < uid)
			c++;
		struct view_message *m = view_find_uid(view, uid);
		const char *kw = m->keywords;
		if (req->keywords[0] != '\0' ||
		    req->mode == STORE_FLAGS_REPLACE)
			kw = flags_keywords_apply(cmd->arena, m->keywords,
			                          req->mode, req->keywords);
		uint64_t modseq = c < changed_count && changed[c].uid == uid
		                      ? changed[c].modseq
		                      : m->modseq;
		view_set_flags(view, m, store_apply_flags(m->flags, req), kw,
		               modseq);
		ctx->uids[n++] = uid;
	}
	ctx->count = n;
}

/*
 * RFC 7162 3.1.3: with CONDSTORE on, even .SILENT sends FETCH with the
 * new MODSEQ of every message it changed, so the client's cache of
 * mod-sequences stays right; the flags are what the client asked for.
 */
static void
store_keep_changed(struct store_ctx *ctx, const struct store_message *changed,
                   size_t changed_count)
{
	size_t n = 0, c = 0;
	for (size_t i = 0; i < ctx->count; i++) {
		while (c < changed_count && changed[c].uid < ctx->uids[i])
			c++;
		if (c < changed_count && changed[c].uid == ctx->uids[i])
			ctx->uids[n++] = ctx->uids[i];
	}
	ctx->count = n;
	ctx->modseq_only = true;
}

/* Writes the untagged FETCH responses, pausing when output backs up. */
static enum cmd_result
store_continue(struct command *cmd)
{
	struct store_ctx *ctx = cmd->context;
	struct client *client = cmd->client;
	struct str *out = &client->conn->output;
	bool condstore = client_condstore(client);
	while (ctx->next < ctx->count) {
		if (client_output_pending(client) > CLIENT_OUTPUT_HIGH)
			return CMD_MORE;
		uint32_t uid = ctx->uids[ctx->next++];
		uint32_t seq = view_seq_of_uid(client->view, uid);
		struct view_message *m = &client->view->messages[seq - 1];
		str_printf(out, "* %u FETCH (UID %u", seq, uid);
		if (!ctx->modseq_only) {
			str_append_cstr(out, " FLAGS ");
			view_write_flags(client, m, out);
		}
		if (condstore)
			str_printf(out, " MODSEQ (%llu)",
			           (unsigned long long)m->modseq);
		str_append_cstr(out, ")\r\n");
	}
	return cmd_ok(cmd, "%s%sSTORE completed", ctx->modified,
	              cmd->uid ? "UID " : "");
}

/* "[MODIFIED set] " naming failed messages by UID (UID STORE) or by
 * sequence number (RFC 7162 3.1.3). */
static const char *
store_modified_code(struct command *cmd, uint32_t *failed, size_t count)
{
	if (count == 0)
		return "";
	if (!cmd->uid) {
		for (size_t i = 0; i < count; i++)
			failed[i] =
			    view_seq_of_uid(cmd->client->view, failed[i]);
	}
	struct str code;
	str_init(&code, STORE_MODIFIED_MAX);
	str_append_cstr(&code, "[MODIFIED ");
	imap_write_uid_set(&code, failed, count);
	str_append_cstr(&code, "] ");
	const char *text = str_failed(&code)
	                       ? ""
	                       : arena_strndup(cmd->arena, code.data, code.len);
	str_free(&code);
	return text;
}

/* RFC 7162 3.1.3: UNCHANGEDSINCE 0 fails for every message. */
static void
store_fail_all(struct command *cmd, struct store_ctx *ctx)
{
	uint32_t *failed = arena_memdup(cmd->arena, ctx->uids,
	                                (ctx->count + 1) * sizeof(uint32_t));
	ctx->modified = store_modified_code(cmd, failed, ctx->count);
	ctx->count = 0;
}

static enum cmd_result
store_run(struct command *cmd, const struct store_request *req,
          struct store_ctx *ctx)
{
	struct client *client = cmd->client;
	struct store_message *changed = NULL;
	uint32_t *failed = NULL;
	size_t changed_count = 0, failed_count = 0;
	const char *error = NULL;
	ctx->modified = "";
	enum store_result r = STORE_OK;
	if (req->conditional && req->unchanged_since == 0)
		store_fail_all(cmd, ctx);
	else if (ctx->count > 0)
		r = store_flags_update(
		    client_store(client), client->view->mailbox_id, ctx->uids,
		    ctx->count, req->mode, req->flags, req->keywords,
		    req->unchanged_since, cmd->arena, &changed, &changed_count,
		    &failed, &failed_count, &error);
	/* Nothing was changed then: the update is one transaction. */
	if (r == STORE_LIMIT)
		return cmd_no(cmd, "[LIMIT] Too many keywords on a message");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	store_update_view(cmd, req, ctx, changed, changed_count, failed,
	                  failed_count);
	ctx->modified = failed_count > 0
	                    ? store_modified_code(cmd, failed, failed_count)
	                    : ctx->modified;
	if (ctx->count > 0 && req->mode != STORE_FLAGS_REMOVE &&
	    store_note_keywords(client->view, req->keywords))
		store_send_flags(client);
	if (req->silent && client_condstore(client))
		store_keep_changed(ctx, changed, changed_count);
	else if (req->silent)
		ctx->count = 0;
	cmd->context = ctx;
	cmd->func = store_continue;
	return store_continue(cmd);
}

enum cmd_result
cmd_store(struct command *cmd)
{
	struct client *client = cmd->client;
	struct store_request req = {0};
	const char *error;
	if (store_parse(cmd, &req, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	struct store_ctx *ctx = arena_new(cmd->arena, struct store_ctx);
	if (view_resolve_set(client->view, cmd->arena, cmd->args[0].str,
	                     cmd->args[0].len, cmd->uid, &ctx->uids,
	                     &ctx->count, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	if (client->view->readonly)
		return cmd_no(cmd, "Mailbox is read-only");
	/* RFC 7162 3.1: UNCHANGEDSINCE enables CONDSTORE. */
	if (req.conditional)
		view_condstore_enable(client);
	return store_run(cmd, &req, ctx);
}
