/* FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9; RFC 3516 BINARY). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mime/mime-part.h"
#include "imap/fetch-parse.h"
#include "mime/imap-structure.h"
#include "imap/client.h"
#include "imap/command.h"
#include "imap/imap-date.h"
#include "imap/seqset.h"
#include "imap/view.h"
#include "lib/arena.h"
#include "lib/str.h"
#include "lib/util.h"
#include "mime/header.h"
#include "store/store.h"

/* Ranges in the UID set of a VANISHED request, as for other sets. */
#define FETCH_MAX_SET_RANGES 100000

/* Body data larger than this goes out zero-copy from the mapping. */
#define FETCH_BULK_MIN (64 * 1024)

enum fetch_step {
	FETCH_STEP_DONE,  /* the message is written (or skipped) */
	FETCH_STEP_PAUSE, /* resume when the output drained */
	FETCH_STEP_ERROR, /* ctx->error or no_text is set; nothing
	                      half-written */
};

struct fetch_ctx {
	struct fetch_request req;
	struct store_message *msgs; /* requested and still stored */
	size_t msg_count;
	bool *seen_set;      /* per msg: this FETCH set \Seen */
	size_t msg_index;    /* the message being written */
	size_t item_index;   /* its next item */
	bool open;           /* "* n FETCH (" is written */
	bool need_space;     /* an item precedes the next one */
	const char *error;   /* store failure, answered at the end */
	const char *no_text; /* a NO for the tagged answer, or NULL */

	/* The current message's body, mapped within one call only, and
	 * its MIME tree (in mime_arena) once a part needed it. */
	const char *body;
	size_t body_len;
	bool body_mapped;
	bool body_missing; /* gone or failed mid-message: NIL */
	struct arena *mime_arena;
	struct mime_part *mime;

	/* ENVELOPE and BODYSTRUCTURE as stored with the body at delivery
	 * (store_body_facts), so they need no mapping; valid for message
	 * facts_index when have_facts. */
	struct arena *facts_arena;
	struct store_body_facts facts;
	size_t facts_index;
	bool have_facts;
};

static size_t
fetch_page_size(void)
{
	long page = sysconf(_SC_PAGESIZE);
	return page > 0 ? (size_t)page : 4096;
}

/* Releases the pages that hold [data, data + len) of a body mapping. */
static void
fetch_bulk_release(const char *data, size_t len)
{
	uintptr_t page = fetch_page_size();
	uintptr_t lo = (uintptr_t)data & ~(page - 1);
	uintptr_t hi = ((uintptr_t)data + len + page - 1) & ~(page - 1);
	store_body_unmap((const char *)lo, hi - lo);
}

/* Releases a decoded body part once written. */
static void
fetch_free_release(const char *data, size_t len)
{
	(void)len;
	free((void *)data);
}

static void
fetch_body_unmap(struct fetch_ctx *ctx)
{
	if (ctx->body_mapped)
		store_body_unmap(ctx->body, ctx->body_len);
	ctx->body_mapped = false;
	ctx->body = NULL;
	ctx->body_len = 0;
	if (ctx->mime_arena != NULL)
		arena_destroy(&ctx->mime_arena);
	ctx->mime = NULL;
}

/*
 * Hands the pages of the mapping outside [slice, slice + len) back, so
 * only the slice's pages stay mapped, for fetch_bulk_release() to free
 * once written.  The mapping (an mmap() of the body file) starts on a
 * page boundary and may be released piecewise, as munmap() allows.
 */
static void
fetch_body_keep_slice(struct fetch_ctx *ctx, const char *slice, size_t len)
{
	uintptr_t page = fetch_page_size();
	uintptr_t base = (uintptr_t)ctx->body;
	uintptr_t lo = (uintptr_t)slice & ~(page - 1);
	uintptr_t hi = ((uintptr_t)slice + len + page - 1) & ~(page - 1);
	uintptr_t end = (base + ctx->body_len + page - 1) & ~(page - 1);
	if (lo > base)
		store_body_unmap(ctx->body, lo - base);
	if (end > hi)
		store_body_unmap((const char *)hi, end - hi);
	/* The rest of the mapping and the tree pointing into it go. */
	ctx->body_mapped = false;
	fetch_body_unmap(ctx);
}

/* The MIME tree of the mapped body, parsed on first use. */
static const struct mime_part *
fetch_mime(struct fetch_ctx *ctx)
{
	if (ctx->mime == NULL) {
		ctx->mime_arena = arena_create(16384);
		ctx->mime =
		    mime_parse(ctx->mime_arena, ctx->body, ctx->body_len);
	}
	return ctx->mime;
}

/* The stored fact an item can be written from, or NULL. */
static const char *
fetch_fact(const struct fetch_ctx *ctx, const struct fetch_item *item)
{
	if (!ctx->have_facts || ctx->facts_index != ctx->msg_index)
		return NULL;
	switch (item->type) {
	case FETCH_ITEM_ENVELOPE:
		return ctx->facts.envelope;
	case FETCH_ITEM_BODY:
		return ctx->facts.body;
	case FETCH_ITEM_BODYSTRUCTURE:
		return ctx->facts.bodystructure;
	default:
		return NULL;
	}
}

/* Loads the current message's facts once; a failure only means the body
 * is read instead. */
static void
fetch_load_facts(struct command *cmd, struct fetch_ctx *ctx)
{
	if (ctx->have_facts && ctx->facts_index == ctx->msg_index)
		return;
	if (ctx->facts_arena == NULL)
		ctx->facts_arena = arena_create(4096);
	arena_clear(ctx->facts_arena);
	const char *error;
	ctx->facts_index = ctx->msg_index;
	ctx->have_facts =
	    store_body_facts_get(
	        client_store(cmd->client), ctx->msgs[ctx->msg_index].blob_id,
	        ctx->facts_arena, &ctx->facts, &error) == STORE_OK;
}

/* Maps the current message's body if an item still to be written needs
 * it and can't come from the stored facts.  Returns the store result;
 * STORE_OK if nothing was needed. */
static enum store_result
fetch_body_map(struct command *cmd, struct fetch_ctx *ctx)
{
	bool needed = false;
	for (size_t i = ctx->item_index; i < ctx->req.count && !needed; i++) {
		const struct fetch_item *item = &ctx->req.items[i];
		if (!fetch_item_needs_body(item))
			continue;
		if (item->type == FETCH_ITEM_ENVELOPE ||
		    item->type == FETCH_ITEM_BODY ||
		    item->type == FETCH_ITEM_BODYSTRUCTURE)
			fetch_load_facts(cmd, ctx);
		needed = fetch_fact(ctx, item) == NULL;
	}
	ctx->body_missing = false;
	if (!needed)
		return STORE_OK;
	const char *error = NULL;
	enum store_result r = store_body_map(
	    client_store(cmd->client), ctx->msgs[ctx->msg_index].blob_id,
	    &ctx->body, &ctx->body_len, &error);
	if (r == STORE_OK) {
		ctx->body_mapped = true;
		return r;
	}
	ctx->body_missing = true;
	if (r != STORE_NOT_FOUND)
		ctx->error = error != NULL ? error : "body map failed";
	return r;
}

/*
 * Writes "{n}\r\n" and data (or "" when empty).  data lies in the body
 * mapping, or in heap (a buffer this takes over).  Big data goes out
 * zero-copy and the step pauses.
 */
static enum fetch_step
fetch_write_literal(struct command *cmd, struct fetch_ctx *ctx,
                    const struct fetch_item *item, const char *data, size_t len,
                    struct str *heap)
{
	struct client *client = cmd->client;
	struct str *out = &client->conn->output;
	/* RFC 3516 4.2: binary content with NUL goes as literal8. */
	bool nul = item->binary && memchr(data, '\0', len) != NULL;
	if (len == 0)
		str_append_cstr(out, "\"\"");
	else
		str_printf(out, "%s{%zu}\r\n", nul ? "~" : "", len);
	uintptr_t page = fetch_page_size();
	bool aligned = ((uintptr_t)ctx->body & (page - 1)) == 0;
	if (len <= FETCH_BULK_MIN || (heap == NULL && !aligned)) {
		str_append(out, data, len);
		if (heap != NULL)
			str_free(heap);
		return FETCH_STEP_DONE;
	}
	if (heap != NULL) {
		/* The release frees the buffer, so the data must start it. */
		memmove(heap->data, data, len);
		client_send_bulk(client, heap->data, len, fetch_free_release);
	} else {
		client_send_bulk(client, data, len, fetch_bulk_release);
		fetch_body_keep_slice(ctx, data, len);
	}
	return FETCH_STEP_PAUSE;
}

/* Applies <origin.count> (RFC 9051 6.4.5: an origin past the end gives
 * an empty string). */
static void
fetch_apply_partial(const struct fetch_item *item, const char **data,
                    size_t *len)
{
	if (!item->partial)
		return;
	if (item->origin >= *len) {
		*data += *len;
		*len = 0;
		return;
	}
	*data += item->origin;
	*len -= (size_t)item->origin;
	if (item->count < *len)
		*len = (size_t)item->count;
}

/*
 * Finds the bytes a section names (RFC 9051 6.4.5), before any partial;
 * for HEADER.FIELDS the header to filter.  *part_r is the part a part
 * number named, or NULL.  False if there is no such part, or the section
 * text needs a message/rfc822 part and it isn't one.
 */
static bool
fetch_locate(struct fetch_ctx *ctx, const struct fetch_item *item,
             const char **data_r, size_t *len_r,
             const struct mime_part **part_r)
{
	const char *msg = ctx->body;
	size_t msg_len = ctx->body_len;
	*part_r = NULL;
	if (item->part_count > 0) {
		const struct mime_part *node = mime_find_part(
		    fetch_mime(ctx), item->parts, item->part_count);
		if (node == NULL)
			return false;
		*part_r = node;
		if (item->section == FETCH_SECTION_ALL ||
		    item->section == FETCH_SECTION_MIME) {
			bool mime = item->section == FETCH_SECTION_MIME;
			*data_r = mime ? node->header : node->body;
			*len_r = mime ? node->header_len : node->body_len;
			return true;
		}
		if (node->message == NULL)
			return false;
		msg = node->message->header;
		msg_len = node->message->header_len + node->message->body_len;
	}
	size_t hdr_len = header_size(msg, msg_len);
	*data_r = msg;
	*len_r = msg_len;
	if (item->section == FETCH_SECTION_TEXT) {
		*data_r = msg + hdr_len;
		*len_r = msg_len - hdr_len;
	} else if (item->section != FETCH_SECTION_ALL) {
		*len_r = hdr_len;
	}
	return true;
}

static enum fetch_step
fetch_write_header_fields(struct command *cmd, struct fetch_ctx *ctx,
                          const struct fetch_item *item, const char *hdr,
                          size_t hdr_len)
{
	struct str fields;
	/* Bare LF may become CRLF, so allow twice the header. */
	str_init(&fields, 2 * hdr_len + 16);
	header_filter(&fields, hdr, hdr_len, item->fields, item->field_count,
	              item->section == FETCH_SECTION_HEADER_FIELDS_NOT);
	str_append_char(&fields, '\0'); /* data is never NULL now */
	const char *data = fields.data;
	size_t len = fields.len - 1;
	fetch_apply_partial(item, &data, &len);
	return fetch_write_literal(cmd, ctx, item, data, len, &fields);
}

/* RFC 3516 4.2: BINARY[part] is the part's body, decoded. */
static enum fetch_step
fetch_write_decoded(struct command *cmd, struct fetch_ctx *ctx,
                    const struct fetch_item *item, enum mime_encoding enc,
                    const char *data, size_t len)
{
	struct str decoded;
	str_init(&decoded, len + 1);
	mime_decode(&decoded, enc, data, len);
	str_append_char(&decoded, '\0');
	const char *p = decoded.data;
	size_t n = decoded.len - 1;
	fetch_apply_partial(item, &p, &n);
	return fetch_write_literal(cmd, ctx, item, p, n, &decoded);
}

static enum fetch_step
fetch_write_section(struct command *cmd, struct fetch_ctx *ctx,
                    const struct fetch_item *item)
{
	struct str *out = &cmd->client->conn->output;
	str_append_cstr(out, item->name);
	if (item->partial)
		str_printf(out, "<%llu>", (unsigned long long)item->origin);
	str_append_char(out, ' ');
	const char *data;
	size_t len;
	const struct mime_part *part;
	if (ctx->body_missing || !fetch_locate(ctx, item, &data, &len, &part)) {
		/* RFC 9051 7.5.2: body sections are nstrings. */
		str_append_cstr(out, "NIL");
		return FETCH_STEP_DONE;
	}
	if (item->section == FETCH_SECTION_HEADER_FIELDS ||
	    item->section == FETCH_SECTION_HEADER_FIELDS_NOT)
		return fetch_write_header_fields(cmd, ctx, item, data, len);
	enum mime_encoding enc = item->binary && part != NULL
	                             ? mime_part_encoding(part)
	                             : MIME_ENCODING_IDENTITY;
	if (enc != MIME_ENCODING_IDENTITY)
		return fetch_write_decoded(cmd, ctx, item, enc, data, len);
	fetch_apply_partial(item, &data, &len);
	return fetch_write_literal(cmd, ctx, item, data, len, NULL);
}

/* BINARY.SIZE[part]: the decoded size (RFC 3516 4.3). */
static void
fetch_write_binary_size(struct command *cmd, struct fetch_ctx *ctx,
                        const struct fetch_item *item)
{
	const struct store_message *msg = &ctx->msgs[ctx->msg_index];
	uint64_t size = msg->size;
	const char *data;
	size_t len;
	const struct mime_part *part;
	if (item->part_count > 0) {
		size = 0;
		if (!ctx->body_missing &&
		    fetch_locate(ctx, item, &data, &len, &part))
			size = mime_decode(NULL, mime_part_encoding(part), data,
			                   len);
	}
	str_printf(&cmd->client->conn->output, "%s %llu", item->name,
	           (unsigned long long)size);
}

static void
fetch_write_structure(struct command *cmd, struct fetch_ctx *ctx,
                      const struct fetch_item *item)
{
	struct str *out = &cmd->client->conn->output;
	bool extended = item->type == FETCH_ITEM_BODYSTRUCTURE;
	str_append_cstr(out, extended ? "BODYSTRUCTURE " : "BODY ");
	const char *fact = fetch_fact(ctx, item);
	if (fact != NULL) {
		str_append_cstr(out, fact);
		return;
	}
	if (ctx->body_missing) {
		str_append_cstr(out, "(\"text\" \"plain\" NIL NIL NIL \"7bit\" "
		                     "0 0)");
		return;
	}
	const struct mime_part *root = fetch_mime(ctx);
	bodystructure_write(out, ctx->mime_arena, root, extended,
	                    client_utf8(cmd->client));
}

static enum fetch_step
fetch_write_item(struct command *cmd, struct fetch_ctx *ctx,
                 const struct fetch_item *item)
{
	struct client *client = cmd->client;
	struct str *out = &client->conn->output;
	const struct store_message *msg = &ctx->msgs[ctx->msg_index];
	char date[IMAP_DATE_TIME_BUF_SIZE];
	switch (item->type) {
	case FETCH_ITEM_UID:
		str_printf(out, "UID %u", msg->uid);
		break;
	case FETCH_ITEM_FLAGS:
		str_append_cstr(out, "FLAGS ");
		view_write_flags(client, view_find_uid(client->view, msg->uid),
		                 out);
		break;
	case FETCH_ITEM_MODSEQ:
		/* RFC 7162 3.1.4.2: as the view last reported the flags. */
		str_printf(
		    out, "MODSEQ (%llu)",
		    (unsigned long long)view_find_uid(client->view, msg->uid)
		        ->modseq);
		break;
	case FETCH_ITEM_INTERNALDATE:
		imap_date_time_format(date, sizeof(date), msg->internaldate,
		                      msg->internaldate_tz);
		str_printf(out, "INTERNALDATE \"%s\"", date);
		break;
	case FETCH_ITEM_RFC822_SIZE:
		str_printf(out, "RFC822.SIZE %llu",
		           (unsigned long long)msg->size);
		break;
	case FETCH_ITEM_BINARY_SIZE:
		fetch_write_binary_size(cmd, ctx, item);
		break;
	case FETCH_ITEM_ENVELOPE:
		str_append_cstr(out, "ENVELOPE ");
		if (fetch_fact(ctx, item) != NULL) {
			str_append_cstr(out, fetch_fact(ctx, item));
			break;
		}
		if (ctx->body_missing) {
			str_append_cstr(out, "(NIL NIL NIL NIL NIL NIL NIL NIL "
			                     "NIL NIL)");
			break;
		}
		envelope_write(out, ctx->body,
		               header_size(ctx->body, ctx->body_len),
		               client_utf8(client));
		break;
	case FETCH_ITEM_SECTION:
		return fetch_write_section(cmd, ctx, item);
	case FETCH_ITEM_BODY:
	case FETCH_ITEM_BODYSTRUCTURE:
		fetch_write_structure(cmd, ctx, item);
		break;
	}
	return FETCH_STEP_DONE;
}

static void
fetch_open_message(struct command *cmd, struct fetch_ctx *ctx)
{
	struct client *client = cmd->client;
	const struct store_message *msg = &ctx->msgs[ctx->msg_index];
	uint32_t seq = view_seq_of_uid(client->view, msg->uid);
	/* Sequence numbers can't shift during FETCH: no sync runs. */
	i_assert(seq != 0);
	str_printf(&client->conn->output, "* %u FETCH (", seq);
	ctx->open = true;
	ctx->need_space = false;
	ctx->item_index = 0;
	/* RFC 9051 6.4.9: UID FETCH responses always carry UID. */
	if (cmd->uid && !ctx->req.has_uid) {
		str_printf(&client->conn->output, "UID %u", msg->uid);
		ctx->need_space = true;
	}
}

static void
fetch_close_message(struct command *cmd, struct fetch_ctx *ctx)
{
	struct client *client = cmd->client;
	struct str *out = &client->conn->output;
	const struct store_message *msg = &ctx->msgs[ctx->msg_index];
	/* RFC 9051 6.4.5: a \Seen set by this FETCH is reported, with
	 * its new mod-sequence once CONDSTORE is on (RFC 7162 3.1). */
	const struct view_message *m = view_find_uid(client->view, msg->uid);
	if (ctx->seen_set[ctx->msg_index] && !ctx->req.has_flags) {
		str_append_cstr(out, ctx->need_space ? " FLAGS " : "FLAGS ");
		view_write_flags(client, m, out);
	}
	if (ctx->seen_set[ctx->msg_index] && !ctx->req.has_modseq &&
	    client_condstore(client))
		str_printf(out, " MODSEQ (%llu)",
		           (unsigned long long)m->modseq);
	str_append_cstr(out, ")\r\n");
	ctx->open = false;
}

/* RFC 3516 4.3: BINARY of a part in an unknown encoding fails the
 * command with [UNKNOWN-CTE]; checked before the response starts. */
static bool
fetch_check_encodings(struct fetch_ctx *ctx)
{
	for (size_t i = 0; i < ctx->req.count && !ctx->body_missing; i++) {
		const struct fetch_item *item = &ctx->req.items[i];
		const struct mime_part *part;
		const char *data;
		size_t len;
		if (!item->binary || item->part_count == 0 ||
		    !fetch_locate(ctx, item, &data, &len, &part))
			continue;
		if (mime_part_encoding(part) == MIME_ENCODING_UNKNOWN) {
			ctx->no_text = "[UNKNOWN-CTE] Unknown "
			               "Content-Transfer-Encoding";
			return false;
		}
	}
	return true;
}

/* Writes (the rest of) the current message. */
static enum fetch_step
fetch_message(struct command *cmd, struct fetch_ctx *ctx)
{
	if (!ctx->open)
		ctx->item_index = 0;
	enum store_result r = fetch_body_map(cmd, ctx);
	if (r != STORE_OK && !ctx->open) {
		/* Expunged by another session: RFC 2180 4.1 lets us skip
		 * it; a storage failure ends the command. */
		return r == STORE_NOT_FOUND ? FETCH_STEP_DONE
		                            : FETCH_STEP_ERROR;
	}
	if (!ctx->open && !fetch_check_encodings(ctx)) {
		fetch_body_unmap(ctx);
		return FETCH_STEP_ERROR;
	}
	if (!ctx->open)
		fetch_open_message(cmd, ctx);
	while (ctx->item_index < ctx->req.count) {
		const struct fetch_item *item =
		    &ctx->req.items[ctx->item_index++];
		if (ctx->need_space)
			str_append_char(&cmd->client->conn->output, ' ');
		ctx->need_space = true;
		if (fetch_write_item(cmd, ctx, item) == FETCH_STEP_PAUSE)
			return FETCH_STEP_PAUSE;
		if (ctx->item_index < ctx->req.count &&
		    client_output_pending(cmd->client) > CLIENT_OUTPUT_HIGH) {
			fetch_body_unmap(ctx);
			return FETCH_STEP_PAUSE;
		}
	}
	fetch_body_unmap(ctx);
	fetch_close_message(cmd, ctx);
	return FETCH_STEP_DONE;
}

/* Whatever way the command ends, the mapping and arenas go. */
static void
fetch_cleanup(struct command *cmd)
{
	struct fetch_ctx *ctx = cmd->context;
	fetch_body_unmap(ctx);
	if (ctx->facts_arena != NULL)
		arena_destroy(&ctx->facts_arena);
}

static enum cmd_result
fetch_continue(struct command *cmd)
{
	struct fetch_ctx *ctx = cmd->context;
	while (ctx->msg_index < ctx->msg_count) {
		enum fetch_step step = fetch_message(cmd, ctx);
		if (step == FETCH_STEP_PAUSE)
			return CMD_MORE;
		if (step == FETCH_STEP_ERROR && ctx->no_text != NULL)
			return cmd_no(cmd, "%s", ctx->no_text);
		if (step == FETCH_STEP_ERROR)
			return cmd_store_error(cmd, ctx->error);
		ctx->msg_index++;
		if (ctx->msg_index < ctx->msg_count &&
		    client_output_pending(cmd->client) > CLIENT_OUTPUT_HIGH)
			return CMD_MORE;
	}
	if (ctx->error != NULL)
		return cmd_store_error(cmd, ctx->error);
	return cmd_ok(cmd, "%sFETCH completed", cmd->uid ? "UID " : "");
}

/* Keeps the loaded messages whose UID was asked for (both ascending). */
static void
fetch_filter(struct fetch_ctx *ctx, const uint32_t *uids, size_t uid_count)
{
	size_t n = 0, j = 0;
	for (size_t i = 0; i < ctx->msg_count; i++) {
		while (j < uid_count && uids[j] < ctx->msgs[i].uid)
			j++;
		if (j == uid_count)
			break;
		if (uids[j] == ctx->msgs[i].uid)
			ctx->msgs[n++] = ctx->msgs[i];
	}
	ctx->msg_count = n;
}

/*
 * RFC 9051 6.4.5: BODY[...] without .PEEK, RFC822 and RFC822.TEXT set
 * \Seen.  One store update for all messages of the command.
 */
static int
fetch_set_seen(struct command *cmd, struct fetch_ctx *ctx)
{
	struct client *client = cmd->client;
	uint32_t *uids =
	    arena_new_array(cmd->arena, uint32_t, ctx->msg_count + 1);
	size_t count = 0;
	for (size_t i = 0; i < ctx->msg_count; i++) {
		if (!(ctx->msgs[i].flags & STORE_FLAG_SEEN))
			uids[count++] = ctx->msgs[i].uid;
	}
	if (count == 0)
		return 0;
	struct store_message *changed;
	size_t changed_count, failed_count;
	uint32_t *failed;
	if (store_flags_update(client_store(client), client->view->mailbox_id,
	                       uids, count, STORE_FLAGS_ADD, STORE_FLAG_SEEN,
	                       "", 0, cmd->arena, &changed, &changed_count,
	                       &failed, &failed_count, &ctx->error) != STORE_OK)
		return -1;
	for (size_t i = 0, j = 0; i < changed_count; i++) {
		struct view_message *m =
		    view_find_uid(client->view, changed[i].uid);
		while (j < ctx->msg_count && ctx->msgs[j].uid < changed[i].uid)
			j++;
		if (m == NULL || j == ctx->msg_count)
			continue;
		/* Only \Seen is ours; other sessions' changes stay for
		 * view_sync() to report. */
		view_set_flags(client->view, m, m->flags | STORE_FLAG_SEEN,
		               m->keywords, changed[i].modseq);
		ctx->seen_set[j] = true;
	}
	return 0;
}

/* Up to this many messages are read one by one; more as a range. */
#define FETCH_POINT_READS 256

/* True if an item needs more than the view has (UID and FLAGS). */
static bool
fetch_needs_store(const struct fetch_request *req)
{
	for (size_t i = 0; i < req->count; i++) {
		if (req->items[i].type != FETCH_ITEM_UID &&
		    req->items[i].type != FETCH_ITEM_FLAGS &&
		    req->items[i].type != FETCH_ITEM_MODSEQ)
			return true;
	}
	return false;
}

/* Fills ctx->msgs with the requested messages that still exist. */
static enum store_result
fetch_load(struct command *cmd, struct fetch_ctx *ctx, const uint32_t *uids,
           size_t uid_count, const char **error_r)
{
	struct client *client = cmd->client;
	struct store *store = client_store(client);
	int64_t mailbox_id = client->view->mailbox_id;
	if (uid_count == 0)
		return STORE_OK;
	if (!fetch_needs_store(&ctx->req)) {
		/* FETCH FLAGS of a whole mailbox is a common client
		 * resync: the view has all it needs. */
		ctx->msgs = arena_new_array(cmd->arena, struct store_message,
		                            uid_count);
		for (size_t i = 0; i < uid_count; i++)
			ctx->msgs[i].uid = uids[i];
		ctx->msg_count = uid_count;
		return STORE_OK;
	}
	if (uid_count <= FETCH_POINT_READS)
		return store_messages_get(store, mailbox_id, uids, uid_count,
		                          cmd->arena, &ctx->msgs,
		                          &ctx->msg_count, error_r);
	enum store_result r =
	    store_messages_load(store, mailbox_id, uids[0], cmd->arena,
	                        &ctx->msgs, &ctx->msg_count, error_r);
	if (r == STORE_OK)
		fetch_filter(ctx, uids, uid_count);
	return r;
}

static enum cmd_result
fetch_start(struct command *cmd, struct fetch_ctx *ctx, const uint32_t *uids,
            size_t uid_count)
{
	struct client *client = cmd->client;
	const char *error = NULL;
	if (fetch_load(cmd, ctx, uids, uid_count, &error) != STORE_OK)
		return cmd_store_error(cmd, error);
	ctx->seen_set = arena_new_array(cmd->arena, bool, ctx->msg_count + 1);
	if (ctx->req.set_seen && !client->view->readonly &&
	    fetch_set_seen(cmd, ctx) < 0)
		return cmd_store_error(cmd, ctx->error);
	cmd->context = ctx;
	cmd->cleanup = fetch_cleanup;
	cmd->func = fetch_continue;
	return fetch_continue(cmd);
}

/* RFC 7162 3.1.4.1, 3.2.6: the FETCH modifiers. */
struct fetch_modifiers {
	bool changedsince;
	uint64_t since;
	bool vanished;
};

/* "(" fetch-modifier *(SP fetch-modifier) ")" (RFC 4466 2.4). */
static bool
fetch_parse_modifiers(struct command *cmd, const struct imap_arg *list,
                      struct fetch_modifiers *mods, const char **error_r)
{
	*error_r = "Invalid FETCH modifier";
	for (size_t i = 0; i < list->list_count; i++) {
		const struct imap_arg *a = &list->list[i];
		if (imap_arg_atom_equals(a, "VANISHED") && !mods->vanished) {
			mods->vanished = true;
			continue;
		}
		if (!imap_arg_atom_equals(a, "CHANGEDSINCE") ||
		    mods->changedsince || ++i == list->list_count ||
		    list->list[i].type != IMAP_ARG_ATOM ||
		    !parse_u64(list->list[i].str, list->list[i].len, INT64_MAX,
		               &mods->since))
			return false;
		mods->changedsince = true;
	}
	/* RFC 7162 3.2.6: VANISHED only with UID FETCH, CHANGEDSINCE and
	 * QRESYNC enabled. */
	if (mods->vanished && (!cmd->uid || !mods->changedsince ||
	                       !client_qresync(cmd->client))) {
		*error_r = "VANISHED needs UID FETCH, CHANGEDSINCE and "
		           "ENABLE QRESYNC";
		return false;
	}
	return true;
}

/* CHANGEDSINCE keeps the messages changed since then (in place) and
 * implies the MODSEQ item (RFC 7162 3.1.4.1). */
static void
fetch_apply_changedsince(struct command *cmd, struct fetch_ctx *ctx,
                         uint64_t since, uint32_t *uids, size_t *count)
{
	size_t n = 0;
	for (size_t i = 0; i < *count; i++) {
		if (view_find_uid(cmd->client->view, uids[i])->modseq > since)
			uids[n++] = uids[i];
	}
	*count = n;
	if (ctx->req.has_modseq || ctx->req.count >= FETCH_MAX_ITEMS)
		return;
	struct fetch_item *items =
	    arena_new_array(cmd->arena, struct fetch_item, ctx->req.count + 1);
	memcpy(items, ctx->req.items, ctx->req.count * sizeof(*items));
	items[ctx->req.count].type = FETCH_ITEM_MODSEQ;
	items[ctx->req.count].name = "MODSEQ";
	ctx->req.items = items;
	ctx->req.count++;
	ctx->req.has_modseq = true;
}

/* The UID set of UID FETCH as written (VANISHED reports UIDs that are
 * no longer in the view); "$" is refused. */
static bool
fetch_vanished_set(struct command *cmd, struct seqset *set_r)
{
	const struct mailbox_view *view = cmd->client->view;
	if (!seqset_parse(cmd->arena, cmd->args[0].str, cmd->args[0].len,
	                  FETCH_MAX_SET_RANGES, set_r) ||
	    set_r->is_saved)
		return false;
	seqset_resolve(
	    set_r, view->count > 0 ? view->messages[view->count - 1].uid : 0);
	return true;
}

enum cmd_result
cmd_fetch(struct command *cmd)
{
	struct client *client = cmd->client;
	struct fetch_modifiers mods = {0};
	const char *error;
	if (cmd->arg_count == 3 &&
	    (cmd->args[2].type != IMAP_ARG_LIST ||
	     !fetch_parse_modifiers(cmd, &cmd->args[2], &mods, &error)))
		return cmd_bad(cmd, "%s",
		               cmd->args[2].type == IMAP_ARG_LIST
		                   ? error
		                   : "FETCH modifiers must be a list");
	if (cmd->arg_count < 2 || cmd->arg_count > 3 ||
	    cmd->args[0].type != IMAP_ARG_ATOM)
		return cmd_bad(cmd, "FETCH needs a sequence set and "
		                    "attributes");
	struct fetch_ctx *ctx = arena_new(cmd->arena, struct fetch_ctx);
	if (fetch_parse(cmd->arena, &cmd->args[1], &ctx->req, &error) < 0)
		return cmd_bad(cmd, "%s", error);
	uint32_t *uids;
	size_t uid_count;
	if (view_resolve_set(client->view, cmd->arena, cmd->args[0].str,
	                     cmd->args[0].len, cmd->uid, &uids, &uid_count,
	                     &error) < 0)
		return cmd_bad(cmd, "%s", error);
	/* RFC 7162 3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE. */
	if (ctx->req.has_modseq || mods.changedsince)
		view_condstore_enable(client);
	/* RFC 7162 3.2.6: first VANISHED (EARLIER) for the set's UIDs
	 * expunged since the CHANGEDSINCE point. */
	struct seqset set;
	if (mods.vanished && !fetch_vanished_set(cmd, &set))
		return cmd_bad(cmd, "VANISHED needs a UID set");
	if (mods.vanished &&
	    view_send_vanished_earlier(client, mods.since, &set, cmd->arena,
	                               &error) < 0)
		return cmd_store_error(cmd, error);
	if (mods.changedsince)
		fetch_apply_changedsince(cmd, ctx, mods.since, uids,
		                         &uid_count);
	return fetch_start(cmd, ctx, uids, uid_count);
}
