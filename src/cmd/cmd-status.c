/* STATUS (RFC 9051 6.3.11; RECENT from RFC 3501, SIZE from RFC 8438,
 * HIGHESTMODSEQ from RFC 7162 3.1.6), and the writer LIST-STATUS
 * (RFC 5819) shares. */
#include "imap/status-write.h"

#include <inttypes.h>

#include "imap/list-parse.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/parser.h"
#include "imap/view.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

/* In enum status_item order, which is also the order status_write()
 * uses for LIST-STATUS. */
static const struct {
	const char *name;
	unsigned bit;
} status_items[] = {
    {"MESSAGES", STATUS_ITEM_MESSAGES},
    {"UIDNEXT", STATUS_ITEM_UIDNEXT},
    {"UIDVALIDITY", STATUS_ITEM_UIDVALIDITY},
    {"UNSEEN", STATUS_ITEM_UNSEEN},
    {"DELETED", STATUS_ITEM_DELETED},
    {"SIZE", STATUS_ITEM_SIZE},
    {"RECENT", STATUS_ITEM_RECENT},
    {"HIGHESTMODSEQ", STATUS_ITEM_HIGHESTMODSEQ},
};
#define STATUS_ITEM_COUNT N_ELEMENTS(status_items)

/* Items as requested: table indexes without repeats. */
struct status_order {
	unsigned char index[STATUS_ITEM_COUNT];
	size_t count;
	unsigned mask;
};

static int
status_order_parse(const struct imap_arg *arg, struct status_order *order,
                   const char **error_r)
{
	order->count = 0;
	order->mask = 0;
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0) {
		*error_r = "STATUS needs a list of items";
		return -1;
	}
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *item = &arg->list[i];
		size_t k = 0;
		while (
		    k < STATUS_ITEM_COUNT &&
		    !(item->type == IMAP_ARG_ATOM &&
		      mem_case_eq(item->str, item->len, status_items[k].name)))
			k++;
		if (k == STATUS_ITEM_COUNT) {
			*error_r = "Unknown STATUS item";
			return -1;
		}
		if ((order->mask & status_items[k].bit) != 0)
			continue;
		order->mask |= status_items[k].bit;
		order->index[order->count++] = (unsigned char)k;
	}
	return 0;
}

int
status_items_parse(const struct imap_arg *arg, unsigned *items_r,
                   const char **error_r)
{
	struct status_order order;
	if (status_order_parse(arg, &order, error_r) < 0)
		return -1;
	*items_r = order.mask;
	return 0;
}

static uint64_t
status_value(const struct command *cmd, const struct store_mailbox *mb,
             const struct store_status *st, unsigned bit)
{
	const struct mailbox_view *view = cmd->client->view;
	switch (bit) {
	case STATUS_ITEM_MESSAGES:
		return st->messages;
	case STATUS_ITEM_UIDNEXT:
		return st->uidnext;
	case STATUS_ITEM_UIDVALIDITY:
		return st->uidvalidity;
	case STATUS_ITEM_UNSEEN:
		return st->unseen;
	case STATUS_ITEM_DELETED:
		return st->deleted;
	case STATUS_ITEM_SIZE:
		return st->size;
	case STATUS_ITEM_RECENT:
		/* Unclaimed messages, plus those this session holds as
		 * \Recent if it has the mailbox selected. */
		if (view != NULL && view->mailbox_id == mb->id)
			return (uint64_t)st->recent + view->recent_count;
		return st->recent;
	case STATUS_ITEM_HIGHESTMODSEQ:
		return st->highestmodseq;
	}
	fatal("unknown status item %#x", bit);
}

static int
status_write_order(struct command *cmd, const struct store_mailbox *mb,
                   const struct status_order *order, const char **error_r)
{
	struct client *client = cmd->client;
	struct store_status st;
	enum store_result r =
	    store_mailbox_status(client_store(client), mb->id, &st, error_r);
	if (r == STORE_NOT_FOUND)
		return 0;
	if (r != STORE_OK)
		return -1;

	struct str *out = &client->conn->output;
	str_append_cstr(out, "* STATUS ");
	mailbox_write_name(cmd, out, mb->name);
	str_append_cstr(out, " (");
	for (size_t i = 0; i < order->count; i++) {
		unsigned k = order->index[i];
		str_printf(out, "%s%s %" PRIu64, i == 0 ? "" : " ",
		           status_items[k].name,
		           status_value(cmd, mb, &st, status_items[k].bit));
	}
	str_append_cstr(out, ")\r\n");
	return 1;
}

int
status_write(struct command *cmd, const struct store_mailbox *mb,
             unsigned items, const char **error_r)
{
	struct status_order order = {.count = 0, .mask = items};
	for (size_t k = 0; k < STATUS_ITEM_COUNT; k++) {
		if ((items & status_items[k].bit) != 0)
			order.index[order.count++] = (unsigned char)k;
	}
	return status_write_order(cmd, mb, &order, error_r);
}

enum cmd_result
cmd_status(struct command *cmd)
{
	struct client *client = cmd->client;
	struct status_order order;
	const char *error;
	if (cmd->arg_count != 2)
		return cmd_bad(cmd, "STATUS needs a mailbox and a list of "
		                    "items");
	if (status_order_parse(&cmd->args[1], &order, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	/* RFC 7162 3.1: STATUS (HIGHESTMODSEQ) enables CONDSTORE. */
	if ((order.mask & STATUS_ITEM_HIGHESTMODSEQ) != 0)
		view_condstore_enable(client);
	const char *name = mailbox_arg_name(cmd, &cmd->args[0]);
	if (name == NULL)
		return CMD_DONE;

	struct store_mailbox mb;
	enum store_result r =
	    store_mailbox_find(client_store(client), client->user_id, name,
	                       cmd->arena, &mb, &error);
	if (r == STORE_NOT_FOUND)
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	if (r != STORE_OK)
		return cmd_store_error(cmd, error);
	int ret = status_write_order(cmd, &mb, &order, &error);
	if (ret == 0)
		return cmd_no(cmd, "[NONEXISTENT] No such mailbox");
	if (ret < 0)
		return cmd_store_error(cmd, error);
	return cmd_ok(cmd, "STATUS completed");
}
