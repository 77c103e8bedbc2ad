#ifndef CASELLA_DELIVERY_H
#define CASELLA_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lmtp/lmtp-parse.h"

/*
 * Final delivery into the store, shared by the LMTP server and by
 * `casella deliver` when it can write the store itself: who a recipient
 * address is, which folder it lands in, the trace headers, and one
 * stored body for all recipients.
 */

struct str;
struct store;

#define DELIVERY_DOMAINS_MAX 16

struct delivery_settings {
	/* user+detail@domain goes to folder "detail" when it exists. */
	bool detail_folders;
	char delimiter; /* '+' */
	/* The local domains; none: every domain is local. */
	const char *domains[DELIVERY_DOMAINS_MAX];
	size_t domain_count;
};

enum delivery_status {
	DELIVERY_OK,
	DELIVERY_NO_USER,   /* 550 5.1.1 */
	DELIVERY_NO_DOMAIN, /* 550 5.1.2 */
	DELIVERY_NO_FOLDER, /* 550 5.2.0: a strict folder is missing */
	DELIVERY_LIMIT,     /* 552 5.2.2: the store refused the size */
	DELIVERY_TEMPFAIL,  /* 451 4.3.0: try again later */
};

struct delivery_rcpt {
	char address[LMTP_PATH_MAX + 1]; /* as given, for Delivered-To */
	char user[LMTP_PATH_MAX + 1];
	int64_t user_id;
	char folder[LMTP_FOLDER_MAX + 1]; /* wanted; "" for INBOX */
	bool folder_strict;               /* no INBOX fallback */
	int64_t mailbox_id;               /* where it went */
	uint32_t uid;
	enum delivery_status status;
};

/* The recipient an LMTP RCPT names (RFC 2033 4.2): the address as a user
 * name, then its local part, then the local part before the delimiter
 * (the rest is the detail).  Fills out; returns its status. */
enum delivery_status delivery_resolve(struct store *store,
                                      const struct delivery_settings *settings,
                                      const struct lmtp_rcpt *rcpt,
                                      struct delivery_rcpt *out);
/* A recipient named by its user name (`casella deliver -u`). */
enum delivery_status delivery_resolve_user(struct store *store,
                                           const char *user, const char *folder,
                                           bool strict,
                                           struct delivery_rcpt *out);

/*
 * RFC 5321 4.4: final delivery puts a Return-Path with the sender (NULL:
 * unknown, none) on top, and Delivered-To names the recipient, only when
 * there is one, since all recipients share one body.  A header the
 * message already starts with was put there by the MTA's own final
 * delivery (Postfix local(8) and pipe(8) flags D and R) and is not
 * repeated.  received, if not NULL, is a whole Received field (CRLF
 * ended) that goes below them.
 */
void delivery_add_trace(struct str *msg, const char *sender,
                        const struct delivery_rcpt *rcpts, size_t count,
                        const char *received);

/* Stores data (trace headers included) for every recipient whose status
 * is DELIVERY_OK, in one transaction, setting each one's final status.
 * Durable when a status is DELIVERY_OK. */
void delivery_store(struct store *store, struct delivery_rcpt *rcpts,
                    size_t count, const char *data, size_t len);

/* One message for its recipients, to be stored with others at once. */
struct delivery_job {
	struct delivery_rcpt *rcpts;
	size_t count;
	const char *data;
	size_t len;
	/* Filled in by delivery_store_batch(). */
	int64_t *ids;
	uint32_t *uids;
	size_t id_count;
};
/* delivery_store() for several messages in one store transaction: one
 * commit and one fsync of the log for all, the LMTP group commit.  If
 * the transaction fails, each message is tried alone, so that one
 * refused message does not take the others with it. */
void delivery_store_batch(struct store *store, struct delivery_job *jobs,
                          size_t count);

/* "250 2.0.0", "550 5.1.1 ..." and so on, without the address. */
const char *delivery_reply(enum delivery_status status);

#endif
