/* LIST and LSUB (RFC 9051 6.3.9, RFC 3501 6.3.9), with LIST-EXTENDED
 * (RFC 5258), LIST-STATUS (RFC 5819), SPECIAL-USE (RFC 6154) and the
 * CHILDREN attributes (RFC 3348).
 *
 * Both commands build one sorted table of names: every mailbox, every
 * subscription, and every superior level of those, each with what is
 * known about it.  Superior levels that are no mailbox are what RFC 9051
 * calls \Noselect hierarchy levels.  The table is then written out in
 * slices, pausing while the client is slow to read. */
#include <stdlib.h>
#include <string.h>

#include "imap/list-parse.h"
#include "imap/status-write.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/mailbox-name.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "store/store.h"

enum list_node_flags {
	LIST_NODE_SUBSCRIBED = 0x01,   /* the name is subscribed */
	LIST_NODE_HAS_CHILDREN = 0x02, /* a mailbox exists below it */
	LIST_NODE_MEETS = 0x04,        /* meets the selection criteria */
	LIST_NODE_CHILD_MEETS = 0x08,  /* something below it meets them */
};

struct list_node {
	const char *name;                    /* stored form */
	const struct store_mailbox *mailbox; /* NULL: no such mailbox */
	unsigned flags;                      /* enum list_node_flags */
};

struct list_context {
	bool lsub; /* LSUB rather than LIST */
	struct list_request req;
	struct list_node *nodes; /* sorted by name, unique */
	size_t count;
	size_t next; /* the next node to write */
};

static size_t
list_name_depth(const char *name)
{
	size_t depth = 1;
	for (const char *p = name; *p != '\0'; p++)
		depth += *p == MAILBOX_NAME_SEP;
	return depth;
}

/* Appends name and each of its superior levels to the table. */
static void
list_add(struct command *cmd, struct list_context *ctx, const char *name,
         const struct store_mailbox *mailbox, unsigned flags,
         unsigned superior_flags)
{
	ctx->nodes[ctx->count++] = (struct list_node){
	    .name = name, .mailbox = mailbox, .flags = flags};
	for (const char *p = strchr(name, MAILBOX_NAME_SEP); p != NULL;
	     p = strchr(p + 1, MAILBOX_NAME_SEP)) {
		ctx->nodes[ctx->count++] = (struct list_node){
		    .name = arena_strndup(cmd->arena, name, (size_t)(p - name)),
		    .flags = superior_flags,
		};
	}
}

static int
list_node_cmp(const void *a, const void *b)
{
	const struct list_node *x = a, *y = b;
	return strcmp(x->name, y->name);
}

/* Sorts the table and folds entries of the same name into one. */
static void
list_sort_merge(struct list_context *ctx)
{
	size_t out = 0;
	qsort(ctx->nodes, ctx->count, sizeof(ctx->nodes[0]), list_node_cmp);
	for (size_t i = 0; i < ctx->count; i++) {
		struct list_node *n = &ctx->nodes[i];
		if (out > 0 && strcmp(ctx->nodes[out - 1].name, n->name) == 0) {
			struct list_node *prev = &ctx->nodes[out - 1];
			prev->flags |= n->flags;
			if (prev->mailbox == NULL)
				prev->mailbox = n->mailbox;
			continue;
		}
		ctx->nodes[out++] = *n;
	}
	ctx->count = out;
}

static struct list_node *
list_find(struct list_context *ctx, const char *name)
{
	struct list_node key = {.name = name};
	return bsearch(&key, ctx->nodes, ctx->count, sizeof(ctx->nodes[0]),
	               list_node_cmp);
}

/* Loads mailboxes and (if wanted) subscriptions into the table.  Returns
 * 0, or -1 with the tagged result set. */
static int
list_load(struct command *cmd, struct list_context *ctx, bool mailboxes,
          bool subscriptions)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	struct store_mailbox *mbs = NULL;
	const char **subs = NULL, *error;
	size_t mb_count = 0, sub_count = 0, total = 0;
	enum store_result r = STORE_OK;

	if (mailboxes)
		r = store_mailbox_list(store, client->user_id, cmd->arena, &mbs,
		                       &mb_count, &error);
	if (r == STORE_OK && subscriptions)
		r = store_subscription_list(store, client->user_id, cmd->arena,
		                            &subs, &sub_count, &error);
	if (r != STORE_OK) {
		cmd_store_error(cmd, error);
		return -1;
	}
	for (size_t i = 0; i < mb_count; i++)
		total += list_name_depth(mbs[i].name);
	for (size_t i = 0; i < sub_count; i++)
		total += list_name_depth(subs[i]);
	ctx->nodes = arena_new_array(cmd->arena, struct list_node, total);
	for (size_t i = 0; i < mb_count; i++)
		list_add(cmd, ctx, mbs[i].name, &mbs[i], 0,
		         LIST_NODE_HAS_CHILDREN);
	for (size_t i = 0; i < sub_count; i++)
		list_add(cmd, ctx, subs[i], NULL, LIST_NODE_SUBSCRIBED, 0);
	list_sort_merge(ctx);
	return 0;
}

/* Whether a node meets the selection criteria (RFC 5258 3.1). */
static bool
list_node_meets(const struct list_context *ctx, const struct list_node *n)
{
	unsigned select = ctx->req.select;
	if (ctx->lsub)
		return (n->flags & LIST_NODE_SUBSCRIBED) != 0;
	if ((select & (LIST_SELECT_SUBSCRIBED | LIST_SELECT_SPECIAL_USE)) ==
	    0) {
		/* Plain LIST: mailboxes, and the levels above them. */
		return n->mailbox != NULL ||
		       (n->flags & LIST_NODE_HAS_CHILDREN) != 0;
	}
	if ((select & LIST_SELECT_SUBSCRIBED) != 0 &&
	    (n->flags & LIST_NODE_SUBSCRIBED) == 0)
		return false;
	if ((select & LIST_SELECT_SPECIAL_USE) != 0 &&
	    (n->mailbox == NULL || n->mailbox->special_use == 0))
		return false;
	return true;
}

/* Marks which nodes meet the criteria, and the superiors of those. */
static void
list_mark(struct command *cmd, struct list_context *ctx)
{
	/* Only RECURSIVEMATCH and LSUB look at what lies below a level. */
	bool recursive =
	    ctx->lsub || (ctx->req.select & LIST_SELECT_RECURSIVEMATCH) != 0;
	for (size_t i = 0; i < ctx->count; i++) {
		struct list_node *n = &ctx->nodes[i];
		if (!list_node_meets(ctx, n))
			continue;
		n->flags |= LIST_NODE_MEETS;
		if (!recursive)
			continue;
		/* Walks up through the superiors, which are all in the
		 * table since list_add() put them there. */
		char *up = arena_strdup(cmd->arena, n->name);
		char *sep;
		while ((sep = strrchr(up, MAILBOX_NAME_SEP)) != NULL) {
			*sep = '\0';
			struct list_node *s = list_find(ctx, up);
			if (s == NULL || (s->flags & LIST_NODE_CHILD_MEETS))
				break;
			s->flags |= LIST_NODE_CHILD_MEETS;
		}
	}
}

/*
 * Whether name matches one of the patterns; *percent_r tells whether one
 * that matched ends in "%" (RFC 3501 6.3.9: then LSUB also returns the
 * levels above subscribed names).
 */
static bool
list_match(const struct list_request *req, const char *name, bool *percent_r)
{
	bool matched = false;
	*percent_r = false;
	for (size_t i = 0; i < req->pattern_count; i++) {
		const char *pat = req->patterns[i];
		if (pat == NULL || !mailbox_pattern_match(pat, name))
			continue;
		matched = true;
		size_t len = strlen(pat);
		if (len > 0 && pat[len - 1] == '%')
			*percent_r = true;
	}
	return matched;
}

static bool
list_node_visible(const struct list_context *ctx, const struct list_node *n)
{
	bool percent;
	if (!list_match(&ctx->req, n->name, &percent))
		return false;
	if ((n->flags & LIST_NODE_MEETS) != 0)
		return true;
	if ((n->flags & LIST_NODE_CHILD_MEETS) == 0)
		return false;
	/* RFC 5258 3.1 RECURSIVEMATCH: a level that doesn't meet the
	 * criteria is listed if something below it does. */
	if (ctx->lsub)
		return percent;
	return (ctx->req.select & LIST_SELECT_RECURSIVEMATCH) != 0;
}

static void
list_attr(struct str *out, const char *attr, bool *first)
{
	if (!*first)
		str_append_char(out, ' ');
	str_append_cstr(out, attr);
	*first = false;
}

static void
list_write_attrs(const struct list_context *ctx, const struct list_node *n,
                 struct str *out)
{
	bool first = true;
	bool plain = (ctx->req.select &
	              (LIST_SELECT_SUBSCRIBED | LIST_SELECT_SPECIAL_USE)) == 0;
	str_append_char(out, '(');
	if (ctx->lsub) {
		if ((n->flags & LIST_NODE_SUBSCRIBED) == 0)
			list_attr(out, "\\Noselect", &first);
		str_append_char(out, ')');
		return;
	}
	/* RFC 5258 3.4: what doesn't exist is \NonExistent in extended
	 * LIST; a bare hierarchy level is \Noselect (RFC 9051 6.3.9). */
	if (n->mailbox == NULL)
		list_attr(out, plain ? "\\Noselect" : "\\NonExistent", &first);
	/* RFC 3348 / RFC 5258 4: cheap, so always sent. */
	if ((n->flags & LIST_NODE_HAS_CHILDREN) != 0)
		list_attr(out, "\\HasChildren", &first);
	else if (n->mailbox != NULL)
		list_attr(out, "\\HasNoChildren", &first);
	if ((ctx->req.ret & LIST_RETURN_SUBSCRIBED) != 0 &&
	    (n->flags & LIST_NODE_SUBSCRIBED) != 0)
		list_attr(out, "\\Subscribed", &first);
	/* RFC 6154 2: sent even when not asked for. */
	if (n->mailbox != NULL)
		special_use_write(out, n->mailbox->special_use, &first);
	str_append_char(out, ')');
}

/* RFC 5258 3.5: CHILDINFO names the criteria something below met. */
static void
list_write_childinfo(const struct list_context *ctx, const struct list_node *n,
                     struct str *out)
{
	unsigned select = ctx->req.select;
	if (ctx->lsub || (select & LIST_SELECT_RECURSIVEMATCH) == 0 ||
	    (n->flags & LIST_NODE_CHILD_MEETS) == 0)
		return;
	str_append_cstr(out, " (\"CHILDINFO\" (");
	if ((select & LIST_SELECT_SUBSCRIBED) != 0)
		str_append_cstr(out, "\"SUBSCRIBED\"");
	if ((select & LIST_SELECT_SUBSCRIBED) != 0 &&
	    (select & LIST_SELECT_SPECIAL_USE) != 0)
		str_append_char(out, ' ');
	if ((select & LIST_SELECT_SPECIAL_USE) != 0)
		str_append_cstr(out, "\"SPECIAL-USE\"");
	str_append_cstr(out, "))");
}

/* Writes one node; -1 with *error_r if LIST-STATUS failed. */
static int
list_write_node(struct command *cmd, const struct list_context *ctx,
                const struct list_node *n, const char **error_r)
{
	struct str *out = &cmd->client->conn->output;
	str_append_cstr(out, ctx->lsub ? "* LSUB " : "* LIST ");
	list_write_attrs(ctx, n, out);
	str_append_cstr(out, " \"/\" ");
	mailbox_write_name(cmd, out, n->name);
	list_write_childinfo(ctx, n, out);
	str_append_cstr(out, "\r\n");
	/* RFC 5819 2: STATUS follows the LIST of a selectable mailbox. */
	if ((ctx->req.ret & LIST_RETURN_STATUS) != 0 && n->mailbox != NULL &&
	    status_write(cmd, n->mailbox, ctx->req.status_items, error_r) < 0)
		return -1;
	return 0;
}

/* Writes nodes until done or the client has enough to read for now. */
static enum cmd_result
list_continue(struct command *cmd)
{
	struct list_context *ctx = cmd->context;
	const char *error;
	for (; ctx->next < ctx->count; ctx->next++) {
		if (client_output_pending(cmd->client) > CLIENT_OUTPUT_HIGH)
			return CMD_MORE;
		const struct list_node *n = &ctx->nodes[ctx->next];
		if (!list_node_visible(ctx, n))
			continue;
		if (list_write_node(cmd, ctx, n, &error) < 0)
			return cmd_store_error(cmd, error);
	}
	return cmd_ok(cmd, "%s completed", ctx->lsub ? "LSUB" : "LIST");
}

static bool
list_has_patterns(const struct list_request *req)
{
	for (size_t i = 0; i < req->pattern_count; i++) {
		if (req->patterns[i] != NULL)
			return true;
	}
	return false;
}

static enum cmd_result
list_start(struct command *cmd, struct list_context *ctx)
{
	struct list_request *req = &ctx->req;
	/* RFC 9051 6.3.9: an empty pattern asks for the hierarchy
	 * delimiter; the root is "" in our single namespace. */
	if (req->want_root)
		client_send(cmd->client, "* %s (\\Noselect) \"/\" \"\"\r\n",
		            ctx->lsub ? "LSUB" : "LIST");
	if (list_has_patterns(req)) {
		bool subscriptions =
		    ctx->lsub || (req->ret & LIST_RETURN_SUBSCRIBED) != 0;
		if (list_load(cmd, ctx, !ctx->lsub, subscriptions) < 0)
			return CMD_DONE;
		list_mark(cmd, ctx);
	}
	cmd->context = ctx;
	cmd->func = list_continue;
	return list_continue(cmd);
}

enum cmd_result
cmd_list(struct command *cmd)
{
	struct list_context *ctx = arena_new(cmd->arena, struct list_context);
	const char *error;
	if (list_parse(cmd, &ctx->req, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	return list_start(cmd, ctx);
}

enum cmd_result
cmd_lsub(struct command *cmd)
{
	struct list_context *ctx = arena_new(cmd->arena, struct list_context);
	const char *error;
	ctx->lsub = true;
	if (list_parse_lsub(cmd, &ctx->req, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	return list_start(cmd, ctx);
}
