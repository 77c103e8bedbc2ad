/* The local delivery agent: into the store, or over LMTP. */
#include "lmtp/lda.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "lib/str.h"
#include "lmtp/delivery.h"
#include "lmtp/lmtp-client.h"

void
lda_canonicalize(const char *in, size_t len, struct str *out)
{
	size_t start = 0;
	if (len >= 5 && memcmp(in, "From ", 5) == 0) {
		const char *nl = memchr(in, '\n', len);
		start = nl == NULL ? len : (size_t)(nl - in) + 1;
	}
	for (size_t i = start; i < len; i++) {
		if (in[i] != '\n' || (i > start && in[i - 1] == '\r'))
			continue;
		str_append(out, in + start, i - start);
		str_append(out, "\r\n", 2);
		start = i + 1;
	}
	str_append(out, in + start, len - start);
}

/* The same bytes either way: Return-Path when the sender is known, and
 * no Delivered-To, which the MTA adds with the address it knows (pipe(8)
 * flag D; local(8) always). */
static void
lda_add_trace(struct str *msg, const struct lda_request *req)
{
	delivery_add_trace(msg, req->sender, NULL, 0, NULL);
}

static int
lda_exit_code(enum delivery_status status)
{
	switch (status) {
	case DELIVERY_OK:
		return EX_OK;
	case DELIVERY_NO_USER:
	case DELIVERY_NO_DOMAIN:
		return EX_NOUSER;
	case DELIVERY_NO_FOLDER:
		return EX_CANTCREAT;
	case DELIVERY_LIMIT:
		return EX_DATAERR;
	case DELIVERY_TEMPFAIL:
		break;
	}
	return EX_TEMPFAIL;
}

int
lda_deliver_store(struct store *store, const struct lda_request *req,
                  struct str *msg)
{
	struct delivery_rcpt rcpt;
	enum delivery_status st = delivery_resolve_user(
	    store, req->user, req->folder, req->strict, &rcpt);
	if (st == DELIVERY_OK) {
		lda_add_trace(msg, req);
		delivery_store(store, &rcpt, 1, msg->data, msg->len);
		st = rcpt.status;
	}
	if (st != DELIVERY_OK)
		fprintf(stderr, "casella: deliver to %s: %s\n", req->user,
		        delivery_reply(st) + 10);
	return lda_exit_code(st);
}

/* What an LMTP reply means to the MTA that ran us (RFC 3463 codes). */
static int
lda_reply_exit(const struct lmtp_client_reply *reply)
{
	if (reply->code == 250)
		return EX_OK;
	if (reply->code / 100 != 5)
		return EX_TEMPFAIL;
	const char *enh = reply->code >= 100 ? reply->text + 4 : "";
	if (strncmp(enh, "5.1.1", 5) == 0 || strncmp(enh, "5.1.2", 5) == 0)
		return EX_NOUSER;
	if (strncmp(enh, "5.2.0", 5) == 0)
		return EX_CANTCREAT;
	if (strncmp(enh, "5.3.4", 5) == 0 || strncmp(enh, "5.2.2", 5) == 0 ||
	    strncmp(enh, "5.6.", 4) == 0)
		return EX_DATAERR;
	return EX_UNAVAILABLE;
}

int
lda_deliver_lmtp(const struct lda_request *req, struct str *msg)
{
	lda_add_trace(msg, req);
	struct lmtp_client_request lreq = {
	    .target = req->lmtp,
	    .sender = req->sender,
	    .user = req->user,
	    .folder = req->folder,
	    .strict = req->strict,
	    .data = msg->data != NULL ? msg->data : "",
	    .len = msg->len,
	};
	struct lmtp_client_reply reply;
	const char *error;
	if (lmtp_client_send(&lreq, &reply, &error) < 0) {
		fprintf(stderr, "casella: deliver: LMTP to %s: %s\n", req->lmtp,
		        error);
		return EX_TEMPFAIL;
	}
	int code = lda_reply_exit(&reply);
	if (code != EX_OK)
		fprintf(stderr, "casella: deliver to %s: %s\n", req->user,
		        reply.text);
	return code;
}
