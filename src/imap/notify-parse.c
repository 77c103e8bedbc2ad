/* NOTIFY arguments (RFC 5465 3.1, 5, 6, 8 formal syntax). */
#include "imap/notify-parse.h"

#include <string.h>

#include "imap/fetch-parse.h"
#include "imap/list-parse.h"
#include "imap/mailbox-name.h"
#include "imap/parser.h"
#include "lib/arena.h"
#include "lib/util.h"

/* RFC 5465 5 (and RFC 5465 8 event-ext): names, any case. */
static const struct {
	const char *name;
	unsigned bit;
} notify_event_names[] = {
    {"MessageNew", NOTIFY_EVENT_MESSAGE_NEW},
    {"MessageExpunge", NOTIFY_EVENT_MESSAGE_EXPUNGE},
    {"FlagChange", NOTIFY_EVENT_FLAG_CHANGE},
    {"AnnotationChange", NOTIFY_EVENT_ANNOTATION_CHANGE},
    {"MailboxName", NOTIFY_EVENT_MAILBOX_NAME},
    {"SubscriptionChange", NOTIFY_EVENT_SUBSCRIPTION_CHANGE},
    {"MailboxMetadataChange", NOTIFY_EVENT_MAILBOX_METADATA_CHANGE},
    {"ServerMetadataChange", NOTIFY_EVENT_SERVER_METADATA_CHANGE},
};

/* RFC 5465 6 filter-mailboxes. */
static const struct {
	const char *name;
	enum notify_filter filter;
} notify_filter_names[] = {
    {"selected", NOTIFY_FILTER_SELECTED},
    {"selected-delayed", NOTIFY_FILTER_SELECTED_DELAYED},
    {"inboxes", NOTIFY_FILTER_INBOXES},
    {"personal", NOTIFY_FILTER_PERSONAL},
    {"subscribed", NOTIFY_FILTER_SUBSCRIBED},
    {"subtree", NOTIFY_FILTER_SUBTREE},
    {"mailboxes", NOTIFY_FILTER_MAILBOXES},
};

/* What parsing found beyond the request itself. */
struct notify_parse {
	struct arena *arena;
	bool utf8;
	size_t name_total;  /* subtree and mailboxes names so far */
	bool unknown_event; /* an event-ext we don't know */
	bool cannot_fetch;  /* a fetch attribute we can't send */
	const char *error;  /* for BAD */
	struct notify_request *req;
};

static bool
notify_is_atom(const struct imap_arg *arg, const char *word)
{
	return arg->type == IMAP_ARG_ATOM &&
	       mem_case_eq(arg->str, arg->len, word);
}

static bool
notify_bad(struct notify_parse *p, const char *error)
{
	p->error = error;
	return false;
}

/* One name of subtree or mailboxes; names no mailbox can have are left
 * out (RFC 5465 6.6). */
static bool
notify_parse_name(struct notify_parse *p, const struct imap_arg *arg,
                  struct notify_group *g)
{
	const char *s, *error;
	size_t len;
	if (!mailbox_arg_string(arg, &s, &len))
		return notify_bad(p, "Expected a mailbox name");
	if (++p->name_total > NOTIFY_MAX_NAMES)
		return notify_bad(p, "[LIMIT] Too many mailbox names");
	char *name =
	    mailbox_name_from_client(p->arena, s, len, p->utf8, false, &error);
	if (name != NULL)
		g->names[g->name_count++] = name;
	return true;
}

/* one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")" */
static bool
notify_parse_names(struct notify_parse *p, const struct imap_arg *arg,
                   struct notify_group *g)
{
	if (arg->type != IMAP_ARG_LIST) {
		g->names = arena_new_array(p->arena, const char *, 1);
		return notify_parse_name(p, arg, g);
	}
	if (arg->list_count == 0)
		return notify_bad(p, "Expected mailbox names");
	g->names = arena_new_array(p->arena, const char *, arg->list_count);
	for (size_t i = 0; i < arg->list_count; i++) {
		if (!notify_parse_name(p, &arg->list[i], g))
			return false;
	}
	return true;
}

/* MessageNew's "(" fetch-att *(SP fetch-att) ")" (5.2). */
static bool
notify_parse_fetch(struct notify_parse *p, const struct imap_arg *list)
{
	const char *error;
	if (list->list_count == 0 || list->list_count > FETCH_MAX_ITEMS)
		return notify_bad(p, "Expected fetch attributes");
	struct fetch_item *items =
	    arena_new_array(p->arena, struct fetch_item, list->list_count);
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (a->type != IMAP_ARG_ATOM)
			return notify_bad(p, "Fetch attributes must be atoms");
		if (fetch_parse_item(p->arena, a->str, a->len, &items[i],
		                     &error) < 0)
			return notify_bad(p, error);
		if (!notify_fetch_supported(&items[i]))
			p->cannot_fetch = true;
	}
	p->req->new_fetch = items;
	p->req->new_fetch_count = list->list_count;
	return true;
}

static unsigned
notify_event_bit(const struct imap_arg *arg)
{
	for (size_t k = 0; k < N_ELEMENTS(notify_event_names); k++) {
		if (notify_is_atom(arg, notify_event_names[k].name))
			return notify_event_names[k].bit;
	}
	return 0;
}

/* events = ( "(" event *(SP event) ")" ) / "NONE" */
static bool
notify_parse_events(struct notify_parse *p, const struct imap_arg *arg,
                    struct notify_group *g, bool *fetch_r)
{
	*fetch_r = false;
	if (notify_is_atom(arg, "NONE"))
		return true;
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0)
		return notify_bad(p, "Expected a list of events or NONE");
	for (size_t i = 0; i < arg->list_count; i++) {
		const struct imap_arg *a = &arg->list[i];
		if (a->type != IMAP_ARG_ATOM)
			return notify_bad(p, "Events must be atoms");
		unsigned bit = notify_event_bit(a);
		p->unknown_event |= bit == 0;
		g->events |= bit;
		if (bit == NOTIFY_EVENT_MESSAGE_NEW &&
		    i + 1 < arg->list_count &&
		    arg->list[i + 1].type == IMAP_ARG_LIST) {
			if (!notify_parse_fetch(p, &arg->list[++i]))
				return false;
			*fetch_r = true;
		}
	}
	return true;
}

/* RFC 5465 5 and 6.1: the rules on what one group may ask for. */
static bool
notify_check_group(struct notify_parse *p, const struct notify_group *g,
                   bool fetch)
{
	unsigned ev = g->events;
	bool is_new = (ev & NOTIFY_EVENT_MESSAGE_NEW) != 0;
	bool is_expunge = (ev & NOTIFY_EVENT_MESSAGE_EXPUNGE) != 0;
	bool selected = g->filter == NOTIFY_FILTER_SELECTED ||
	                g->filter == NOTIFY_FILTER_SELECTED_DELAYED;
	if (is_new != is_expunge)
		return notify_bad(p, "MessageNew and MessageExpunge go "
		                     "together");
	if ((ev & (NOTIFY_EVENT_FLAG_CHANGE |
	           NOTIFY_EVENT_ANNOTATION_CHANGE)) != 0 &&
	    !is_new)
		return notify_bad(p, "FlagChange needs MessageNew and "
		                     "MessageExpunge");
	if (selected && (ev & ~NOTIFY_EVENT_MESSAGE) != 0)
		return notify_bad(p, "Only message events apply to the "
		                     "selected mailbox");
	if (fetch && !selected)
		return notify_bad(p, "Fetch attributes are for the selected "
		                     "mailbox only");
	return true;
}

static bool
notify_parse_filter(struct notify_parse *p, const struct imap_arg *arg,
                    struct notify_group *g)
{
	for (size_t k = 0; k < N_ELEMENTS(notify_filter_names); k++) {
		if (notify_is_atom(arg, notify_filter_names[k].name)) {
			g->filter = notify_filter_names[k].filter;
			return true;
		}
	}
	return notify_bad(p, "Unknown mailbox filter");
}

/* event-group = "(" filter-mailboxes SP events ")" */
static bool
notify_parse_group(struct notify_parse *p, const struct imap_arg *arg,
                   struct notify_group *g)
{
	if (arg->type != IMAP_ARG_LIST || arg->list_count < 2)
		return notify_bad(p, "Expected an event group");
	const struct imap_arg *a = arg->list;
	size_t n = arg->list_count;
	if (!notify_parse_filter(p, &a[0], g))
		return false;
	size_t next = 1;
	if (g->filter == NOTIFY_FILTER_SUBTREE ||
	    g->filter == NOTIFY_FILTER_MAILBOXES) {
		if (n != 3)
			return notify_bad(p, "Expected mailboxes and events");
		if (!notify_parse_names(p, &a[1], g))
			return false;
		next = 2;
	} else if (n != 2) {
		return notify_bad(p, "Expected a filter and events");
	}
	bool fetch;
	return notify_parse_events(p, &a[next], g, &fetch) &&
	       notify_check_group(p, g, fetch);
}

/* "SET" [SP "STATUS"] SP event-groups, from args after SET. */
static bool
notify_parse_set(struct notify_parse *p, const struct imap_arg *args,
                 size_t count)
{
	struct notify_request *req = p->req;
	size_t i = 0;
	if (i < count && notify_is_atom(&args[i], "STATUS")) {
		req->status = true;
		i++;
	}
	if (i == count)
		return notify_bad(p, "NOTIFY SET needs event groups");
	if (count - i > NOTIFY_MAX_GROUPS)
		return notify_bad(p, "[LIMIT] Too many event groups");
	req->groups = arena_new_array(p->arena, struct notify_group, count - i);
	bool have_selected = false;
	for (; i < count; i++) {
		struct notify_group *g = &req->groups[req->group_count++];
		if (!notify_parse_group(p, &args[i], g))
			return false;
		bool selected = g->filter == NOTIFY_FILTER_SELECTED ||
		                g->filter == NOTIFY_FILTER_SELECTED_DELAYED;
		/* 6.1: one of selected and selected-delayed at most. */
		if (selected && have_selected)
			return notify_bad(p, "Only one selected or "
			                     "selected-delayed group");
		have_selected |= selected;
	}
	return true;
}

enum notify_parse_status
notify_parse(struct arena *arena, const struct imap_arg *args, size_t count,
             bool utf8, bool *none_r, struct notify_request *req_r,
             const char **error_r)
{
	memset(req_r, 0, sizeof(*req_r));
	*none_r = false;
	struct notify_parse p = {.arena = arena, .utf8 = utf8, .req = req_r};
	if (count == 1 && notify_is_atom(&args[0], "NONE")) {
		*none_r = true;
		return NOTIFY_PARSE_OK;
	}
	if (count == 0 || !notify_is_atom(&args[0], "SET")) {
		*error_r = "NOTIFY needs SET or NONE";
		return NOTIFY_PARSE_BAD;
	}
	if (!notify_parse_set(&p, args + 1, count - 1)) {
		*error_r = p.error;
		return NOTIFY_PARSE_BAD;
	}
	unsigned asked = 0;
	for (size_t i = 0; i < req_r->group_count; i++)
		asked |= req_r->groups[i].events;
	/* 3.1: an unsupported event is a NO (not a BAD) naming those we
	 * support. */
	if (p.unknown_event || (asked & ~NOTIFY_EVENT_SUPPORTED) != 0) {
		*error_r = "Unsupported event type";
		return NOTIFY_PARSE_BADEVENT;
	}
	if (p.cannot_fetch) {
		*error_r = "MessageNew can't send that fetch attribute";
		return NOTIFY_PARSE_CANNOT;
	}
	return NOTIFY_PARSE_OK;
}
