/* Final delivery: recipients to users and folders, then one store
 * transaction for all of them. */
#include "lmtp/delivery.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/arena.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/util.h"
#include "store/store.h"

const char *
delivery_reply(enum delivery_status status)
{
	switch (status) {
	case DELIVERY_OK:
		return "250 2.0.0";
	case DELIVERY_NO_USER:
		return "550 5.1.1 User unknown";
	case DELIVERY_NO_DOMAIN:
		return "550 5.1.2 Not a local domain";
	case DELIVERY_NO_FOLDER:
		return "550 5.2.0 No such folder";
	case DELIVERY_LIMIT:
		return "552 5.2.2 Message refused by the mail store's limits";
	case DELIVERY_TEMPFAIL:
		break;
	}
	return "451 4.3.0 Temporary failure, try again later";
}

/* STORE_NOT_FOUND: not a user; other failures are temporary. */
static enum delivery_status
delivery_lookup(struct store *store, const char *name, int64_t *user_id_r)
{
	const char *error;
	if (!store_user_name_valid(name))
		return DELIVERY_NO_USER;
	enum store_result r = store_user_lookup(store, name, user_id_r, &error);
	if (r == STORE_NOT_FOUND)
		return DELIVERY_NO_USER;
	if (r != STORE_OK) {
		log_error("delivery: user lookup failed: %s", error);
		return DELIVERY_TEMPFAIL;
	}
	return DELIVERY_OK;
}

/* The name, and failing that its lower case (MTAs keep the case the
 * sender typed; user names are usually lower case). */
static enum delivery_status
delivery_lookup_folded(struct store *store, const char *name,
                       struct delivery_rcpt *out)
{
	char lower[LMTP_PATH_MAX + 1];
	size_t i;
	for (i = 0; name[i] != '\0' && i < LMTP_PATH_MAX; i++)
		lower[i] = (char)tolower((unsigned char)name[i]);
	lower[i] = '\0';
	const char *found = name;
	enum delivery_status st = delivery_lookup(store, name, &out->user_id);
	if (st == DELIVERY_NO_USER && strcmp(lower, name) != 0) {
		st = delivery_lookup(store, lower, &out->user_id);
		found = lower;
	}
	if (st == DELIVERY_OK)
		casella_strlcpy(out->user, found, sizeof(out->user));
	return st;
}

static bool
delivery_domain_local(const struct delivery_settings *settings,
                      const char *domain)
{
	if (settings->domain_count == 0 || domain[0] == '\0')
		return true;
	for (size_t i = 0; i < settings->domain_count; i++) {
		if (strcasecmp(settings->domains[i], domain) == 0)
			return true;
	}
	return false;
}

/* local = user + delimiter + detail: the user, and the detail as the
 * folder unless one was asked for. */
static enum delivery_status
delivery_resolve_detail(struct store *store,
                        const struct delivery_settings *settings, char *local,
                        struct delivery_rcpt *out)
{
	char *sep = settings->delimiter != '\0'
	                ? strchr(local, settings->delimiter)
	                : NULL;
	if (sep == NULL)
		return DELIVERY_NO_USER;
	*sep = '\0';
	enum delivery_status st = delivery_lookup_folded(store, local, out);
	if (st == DELIVERY_OK && out->folder[0] == '\0' &&
	    settings->detail_folders)
		casella_strlcpy(out->folder, sep + 1, sizeof(out->folder));
	return st;
}

enum delivery_status
delivery_resolve(struct store *store, const struct delivery_settings *settings,
                 const struct lmtp_rcpt *rcpt, struct delivery_rcpt *out)
{
	char local[LMTP_PATH_MAX + 1], domain[LMTP_PATH_MAX + 1];
	memset(out, 0, sizeof(*out));
	casella_strlcpy(out->address, rcpt->address, sizeof(out->address));
	casella_strlcpy(out->folder, rcpt->folder, sizeof(out->folder));
	out->folder_strict = rcpt->folder_strict;
	if (!lmtp_address_split(rcpt->address, local, sizeof(local), domain,
	                        sizeof(domain)))
		return out->status = DELIVERY_NO_USER;
	if (!delivery_domain_local(settings, domain))
		return out->status = DELIVERY_NO_DOMAIN;
	enum delivery_status st = DELIVERY_NO_USER;
	if (domain[0] != '\0')
		st = delivery_lookup_folded(store, rcpt->address, out);
	if (st == DELIVERY_NO_USER)
		st = delivery_lookup_folded(store, local, out);
	if (st == DELIVERY_NO_USER)
		st = delivery_resolve_detail(store, settings, local, out);
	return out->status = st;
}

enum delivery_status
delivery_resolve_user(struct store *store, const char *user, const char *folder,
                      bool strict, struct delivery_rcpt *out)
{
	memset(out, 0, sizeof(*out));
	casella_strlcpy(out->address, user, sizeof(out->address));
	casella_strlcpy(out->folder, folder != NULL ? folder : "",
	                sizeof(out->folder));
	out->folder_strict = strict;
	enum delivery_status st = delivery_lookup(store, user, &out->user_id);
	if (st == DELIVERY_OK)
		casella_strlcpy(out->user, user, sizeof(out->user));
	return out->status = st;
}

/* True if the message's leading trace fields (the lines above its first
 * other header) include name. */
static bool
delivery_has_trace(const struct str *msg, const char *name)
{
	static const char *const trace[] = {
	    "Return-Path:", "Delivered-To:", "X-Original-To:"};
	size_t pos = 0, name_len = strlen(name);
	while (pos < msg->len) {
		const char *line = msg->data + pos;
		size_t left = msg->len - pos;
		if (left >= name_len && strncasecmp(line, name, name_len) == 0)
			return true;
		bool is_trace = false;
		for (size_t i = 0; i < N_ELEMENTS(trace) && !is_trace; i++)
			is_trace =
			    left >= strlen(trace[i]) &&
			    strncasecmp(line, trace[i], strlen(trace[i])) == 0;
		const char *nl = memchr(line, '\n', left);
		if (!is_trace || nl == NULL)
			return false;
		pos = (size_t)(nl - msg->data) + 1;
	}
	return false;
}

void
delivery_add_trace(struct str *msg, const char *sender,
                   const struct delivery_rcpt *rcpts, size_t count,
                   const char *received)
{
	struct str top;
	str_init(&top, 8 * LMTP_PATH_MAX + 1024);
	if (sender != NULL && !delivery_has_trace(msg, "Return-Path:"))
		str_printf(&top, "Return-Path: <%s>\r\n", sender);
	if (count == 1 && !delivery_has_trace(msg, "Delivered-To:"))
		str_printf(&top, "Delivered-To: %s\r\n", rcpts[0].address);
	if (received != NULL)
		str_append_cstr(&top, received);
	str_prepend(msg, top.data, top.len);
	str_free(&top);
}

/* The folder whose name is name but for case: MTAs fold the detail
 * (Postfix local(8) gives alice+archive for alice+Archive). */
static enum store_result
delivery_find_folded(struct store *store, struct arena *arena, int64_t user_id,
                     const char *name, struct store_mailbox *mb_r,
                     const char **error_r)
{
	struct store_mailbox *mbs;
	size_t count;
	enum store_result r =
	    store_mailbox_list(store, user_id, arena, &mbs, &count, error_r);
	for (size_t i = 0; r == STORE_OK && i < count; i++) {
		if (strcasecmp(mbs[i].name, name) == 0) {
			*mb_r = mbs[i];
			return STORE_OK;
		}
	}
	return r == STORE_OK ? STORE_NOT_FOUND : r;
}

/* The recipient's folder, INBOX if it is missing and not strict. */
static enum delivery_status
delivery_mailbox(struct store *store, struct arena *arena,
                 struct delivery_rcpt *rcpt)
{
	struct store_mailbox mb;
	const char *error, *name = rcpt->folder;
	if (name[0] == '\0' || strcasecmp(name, "INBOX") == 0)
		name = "INBOX";
	enum store_result r =
	    store_mailbox_find(store, rcpt->user_id, name, arena, &mb, &error);
	if (r == STORE_NOT_FOUND)
		r = delivery_find_folded(store, arena, rcpt->user_id, name, &mb,
		                         &error);
	if (r == STORE_NOT_FOUND && !rcpt->folder_strict &&
	    strcmp(name, "INBOX") != 0)
		r = store_mailbox_find(store, rcpt->user_id, "INBOX", arena,
		                       &mb, &error);
	if (r == STORE_NOT_FOUND)
		return rcpt->folder_strict ? DELIVERY_NO_FOLDER
		                           : DELIVERY_NO_USER;
	if (r != STORE_OK) {
		log_error("delivery: mailbox lookup failed: %s", error);
		return DELIVERY_TEMPFAIL;
	}
	rcpt->mailbox_id = mb.id;
	return DELIVERY_OK;
}

/* The distinct mailboxes of the recipients still OK, into ids. */
static size_t
delivery_targets(struct store *store, struct arena *arena,
                 struct delivery_rcpt *rcpts, size_t count, int64_t *ids)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		if (rcpts[i].status != DELIVERY_OK ||
		    (rcpts[i].status = delivery_mailbox(
		         store, arena, &rcpts[i])) != DELIVERY_OK)
			continue;
		size_t j = 0;
		while (j < n && ids[j] != rcpts[i].mailbox_id)
			j++;
		if (j == n)
			ids[n++] = rcpts[i].mailbox_id;
	}
	return n;
}

static void
delivery_finish(struct delivery_rcpt *rcpts, size_t count, const int64_t *ids,
                const uint32_t *uids, size_t n, enum delivery_status failed)
{
	for (size_t i = 0; i < count; i++) {
		if (rcpts[i].status != DELIVERY_OK)
			continue;
		if (failed != DELIVERY_OK) {
			rcpts[i].status = failed;
			continue;
		}
		for (size_t j = 0; j < n; j++) {
			if (ids[j] == rcpts[i].mailbox_id)
				rcpts[i].uid = uids[j];
		}
	}
}

/* A job's message as the store takes it, received now. */
static struct store_append_request
delivery_request(const struct delivery_job *job)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	return (struct store_append_request){
	    .data = job->data != NULL ? job->data : "",
	    .len = job->len,
	    .keywords = "",
	    .internaldate = (int64_t)now,
	    .internaldate_tz = (int32_t)(tm.tm_gmtoff / 60),
	};
}

static enum delivery_status
delivery_status_of(enum store_result r)
{
	return r == STORE_OK      ? DELIVERY_OK
	       : r == STORE_LIMIT ? DELIVERY_LIMIT
	                          : DELIVERY_TEMPFAIL;
}

/* The jobs with somewhere to go, in one store transaction. */
static enum store_result
delivery_commit(struct store *store, struct delivery_job **jobs, size_t count)
{
	struct store_delivery *d = xcalloc(count, sizeof(*d));
	for (size_t i = 0; i < count; i++)
		d[i] = (struct store_delivery){
		    .request = delivery_request(jobs[i]),
		    .mailbox_ids = jobs[i]->ids,
		    .mailbox_count = jobs[i]->id_count,
		    .uids_r = jobs[i]->uids};
	const char *error;
	enum store_result r = store_deliver(store, d, count, &error);
	if (r != STORE_OK)
		log_error("delivery: store failed: %s", error);
	free(d);
	return r;
}

void
delivery_store_batch(struct store *store, struct delivery_job *jobs,
                     size_t count)
{
	struct arena *arena = arena_create(4096);
	struct delivery_job **todo = xcalloc(count + 1, sizeof(*todo));
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		struct delivery_job *job = &jobs[i];
		job->ids = xcalloc(job->count + 1, sizeof(*job->ids));
		job->uids = xcalloc(job->count + 1, sizeof(*job->uids));
		job->id_count = delivery_targets(store, arena, job->rcpts,
		                                 job->count, job->ids);
		if (job->id_count > 0)
			todo[n++] = job;
	}
	enum store_result r =
	    n > 0 ? delivery_commit(store, todo, n) : STORE_OK;
	for (size_t i = 0; i < n; i++) {
		/* One refused delivery must not fail the others: alone,
		 * each gets its own answer. */
		enum store_result own =
		    r == STORE_OK || n == 1
		        ? r
		        : delivery_commit(store, &todo[i], 1);
		delivery_finish(todo[i]->rcpts, todo[i]->count, todo[i]->ids,
		                todo[i]->uids, todo[i]->id_count,
		                delivery_status_of(own));
	}
	for (size_t i = 0; i < count; i++) {
		free(jobs[i].ids);
		free(jobs[i].uids);
	}
	free(todo);
	arena_destroy(&arena);
}

void
delivery_store(struct store *store, struct delivery_rcpt *rcpts, size_t count,
               const char *data, size_t len)
{
	struct delivery_job job = {
	    .rcpts = rcpts, .count = count, .data = data, .len = len};
	delivery_store_batch(store, &job, 1);
}
