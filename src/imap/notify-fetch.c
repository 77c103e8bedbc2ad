/* The FETCH that follows EXISTS for new messages when NOTIFY's MessageNew
 * names fetch attributes (RFC 5465 5.2).  Only attributes that need no
 * body part and set no flag: what a notification should carry. */
#include <stdlib.h>

#include "mime/mime-part.h"
#include "imap/fetch-parse.h"
#include "mime/imap-structure.h"
#include "imap/notify-parse.h"
#include "imap/client.h"
#include "imap/imap-date.h"
#include "imap/notify-session.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/header.h"
#include "store/store.h"

/* A header section this big is sent as NIL: notifications stay small. */
#define NOTIFY_FETCH_HEADER_MAX (256 * 1024)

bool
notify_fetch_supported(const struct fetch_item *item)
{
	switch (item->type) {
	case FETCH_ITEM_UID:
	case FETCH_ITEM_FLAGS:
	case FETCH_ITEM_MODSEQ:
	case FETCH_ITEM_INTERNALDATE:
	case FETCH_ITEM_RFC822_SIZE:
	case FETCH_ITEM_ENVELOPE:
	case FETCH_ITEM_BODY:
	case FETCH_ITEM_BODYSTRUCTURE:
		return true;
	case FETCH_ITEM_SECTION:
		return item->peek && !item->binary && !item->partial &&
		       item->part_count == 0 &&
		       (item->section == FETCH_SECTION_HEADER ||
		        item->section == FETCH_SECTION_HEADER_FIELDS ||
		        item->section == FETCH_SECTION_HEADER_FIELDS_NOT);
	case FETCH_ITEM_BINARY_SIZE:
		return false;
	}
	return false;
}

/* One new message being written. */
struct notify_fetch_msg {
	const struct store_message *msg;
	struct store_body_facts facts;
	bool have_facts;
	const char *body; /* mapped, or NULL */
	size_t body_len;
	struct arena *arena; /* for this message */
};

static bool
notify_fetch_needs_body(const struct fetch_item *items, size_t count,
                        bool have_facts)
{
	for (size_t i = 0; i < count; i++) {
		if (items[i].type == FETCH_ITEM_SECTION)
			return true;
		if (!have_facts && (items[i].type == FETCH_ITEM_ENVELOPE ||
		                    items[i].type == FETCH_ITEM_BODY ||
		                    items[i].type == FETCH_ITEM_BODYSTRUCTURE))
			return true;
	}
	return false;
}

/* Facts and, if an item needs it, the body; a body that can't be read
 * is written as NIL or an empty structure. */
static void
notify_fetch_open(struct client *client, const struct fetch_item *items,
                  size_t count, struct notify_fetch_msg *m)
{
	const char *error;
	struct store *store = client_store(client);
	m->have_facts = store_body_facts_get(store, m->msg->blob_id, m->arena,
	                                     &m->facts, &error) == STORE_OK;
	if (!notify_fetch_needs_body(items, count, m->have_facts))
		return;
	if (store_body_map(store, m->msg->blob_id, &m->body, &m->body_len,
	                   &error) != STORE_OK) {
		log_error("session=%llx notify fetch: %s",
		          (unsigned long long)client->id, error);
		m->body = NULL;
	}
}

/* HEADER or HEADER.FIELDS[.NOT] of the message, as a literal. */
static void
notify_fetch_header(struct str *out, const struct fetch_item *item,
                    const struct notify_fetch_msg *m)
{
	str_printf(out, "%s ", item->name);
	size_t hdr_len =
	    m->body != NULL ? header_size(m->body, m->body_len) : 0;
	if (m->body == NULL || hdr_len > NOTIFY_FETCH_HEADER_MAX) {
		str_append_cstr(out, "NIL");
		return;
	}
	if (item->section == FETCH_SECTION_HEADER) {
		str_printf(out, "{%zu}\r\n", hdr_len);
		str_append(out, m->body, hdr_len);
		return;
	}
	struct str fields;
	str_init(&fields, 2 * hdr_len + 16);
	header_filter(&fields, m->body, hdr_len, item->fields,
	              item->field_count,
	              item->section == FETCH_SECTION_HEADER_FIELDS_NOT);
	str_printf(out, "{%zu}\r\n", fields.len);
	str_append(out, fields.data != NULL ? fields.data : "", fields.len);
	str_free(&fields);
}

/* ENVELOPE, BODY or BODYSTRUCTURE: from the stored facts, else the body. */
static void
notify_fetch_structure(struct client *client, struct str *out,
                       const struct fetch_item *item,
                       const struct notify_fetch_msg *m)
{
	bool utf8 = client_utf8(client);
	bool envelope = item->type == FETCH_ITEM_ENVELOPE;
	bool extended = item->type == FETCH_ITEM_BODYSTRUCTURE;
	str_append_cstr(out, envelope   ? "ENVELOPE "
	                     : extended ? "BODYSTRUCTURE "
	                                : "BODY ");
	const char *fact = !m->have_facts ? NULL
	                   : envelope     ? m->facts.envelope
	                   : extended     ? m->facts.bodystructure
	                                  : m->facts.body;
	if (fact != NULL)
		str_append_cstr(out, fact);
	else if (m->body == NULL)
		str_append_cstr(out, envelope ? "(NIL NIL NIL NIL NIL NIL NIL "
		                                "NIL NIL NIL)"
		                              : "(\"text\" \"plain\" NIL NIL "
		                                "NIL \"7bit\" 0 0)");
	else if (envelope)
		envelope_write(out, m->body, header_size(m->body, m->body_len),
		               utf8);
	else
		bodystructure_write(out, m->arena,
		                    mime_parse(m->arena, m->body, m->body_len),
		                    extended, utf8);
}

static void
notify_fetch_item(struct client *client, struct str *out,
                  const struct fetch_item *item,
                  const struct notify_fetch_msg *m)
{
	char date[IMAP_DATE_TIME_BUF_SIZE];
	switch (item->type) {
	case FETCH_ITEM_UID:
		str_printf(out, "UID %u", m->msg->uid);
		break;
	case FETCH_ITEM_FLAGS:
		str_append_cstr(out, "FLAGS ");
		view_write_flags(client,
		                 view_find_uid(client->view, m->msg->uid), out);
		break;
	case FETCH_ITEM_INTERNALDATE:
		imap_date_time_format(date, sizeof(date), m->msg->internaldate,
		                      m->msg->internaldate_tz);
		str_printf(out, "INTERNALDATE \"%s\"", date);
		break;
	case FETCH_ITEM_RFC822_SIZE:
		str_printf(out, "RFC822.SIZE %llu",
		           (unsigned long long)m->msg->size);
		break;
	case FETCH_ITEM_MODSEQ:
		str_printf(out, "MODSEQ (%llu)",
		           (unsigned long long)m->msg->modseq);
		break;
	case FETCH_ITEM_SECTION:
		notify_fetch_header(out, item, m);
		break;
	default:
		notify_fetch_structure(client, out, item, m);
		break;
	}
}

void
notify_fetch_write(struct client *client, const struct fetch_item *items,
                   size_t item_count, const uint32_t *uids, size_t uid_count)
{
	struct arena *arena = arena_create(4096);
	struct store_message *msgs;
	size_t count;
	const char *error;
	if (store_messages_get(client_store(client), client->view->mailbox_id,
	                       uids, uid_count, arena, &msgs, &count,
	                       &error) != STORE_OK) {
		log_error("session=%llx notify fetch: %s",
		          (unsigned long long)client->id, error);
		count = 0;
	}
	struct str *out = &client->conn->output;
	for (size_t i = 0; i < count; i++) {
		uint32_t seq = view_seq_of_uid(client->view, msgs[i].uid);
		if (seq == 0)
			continue;
		struct notify_fetch_msg m = {.msg = &msgs[i],
		                             .arena = arena_create(4096)};
		notify_fetch_open(client, items, item_count, &m);
		str_printf(out, "* %u FETCH (", seq);
		for (size_t k = 0; k < item_count; k++) {
			if (k > 0)
				str_append_char(out, ' ');
			notify_fetch_item(client, out, &items[k], &m);
		}
		str_append_cstr(out, ")\r\n");
		if (m.body != NULL)
			store_body_unmap(m.body, m.body_len);
		arena_destroy(&m.arena);
	}
	arena_destroy(&arena);
}
