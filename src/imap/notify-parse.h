#ifndef CASELLA_NOTIFY_PARSE_H
#define CASELLA_NOTIFY_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "imap/notify-session.h"

struct arena;
struct fetch_item;
struct imap_arg;

/* Limits on one NOTIFY SET. */
#define NOTIFY_MAX_GROUPS 64
#define NOTIFY_MAX_NAMES  1000 /* subtree and mailboxes names, in all */

enum notify_parse_status {
	NOTIFY_PARSE_OK,
	NOTIFY_PARSE_BAD,      /* syntax, or a rule of RFC 5465 5 or 6.1:
	                          tagged BAD */
	NOTIFY_PARSE_BADEVENT, /* 3.1: an event type we do not support:
	                          tagged NO [BADEVENT (...)] */
	NOTIFY_PARSE_CANNOT,   /* a MessageNew fetch attribute we cannot
	                          send unasked: tagged NO [CANNOT] */
};

/* The event names for [BADEVENT (...)]: all that we support. */
#define NOTIFY_SUPPORTED_NAMES                                                 \
	"MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange"

/*
 * Parses NOTIFY's arguments (RFC 5465 8): "NONE" (*none_r), or "SET"
 * ["STATUS"] and event groups into *req_r.  Mailbox names are converted
 * to the stored form as the client speaks them (utf8: UTF-8, else
 * modified UTF-7); names that cannot be valid are dropped (6.6: the
 * server ignores names of mailboxes that don't exist).  Everything is
 * allocated from arena.  On failure *error_r is a static text.
 */
enum notify_parse_status notify_parse(struct arena *arena,
                                      const struct imap_arg *args, size_t count,
                                      bool utf8, bool *none_r,
                                      struct notify_request *req_r,
                                      const char **error_r);

/* True if a MessageNew fetch attribute can be sent with a notification:
 * no body part, nothing that sets \Seen (5.2 says clients should not ask
 * for those), no partial; HEADER and HEADER.FIELDS[.NOT] are fine.  In
 * notify-fetch.c. */
bool notify_fetch_supported(const struct fetch_item *item);

#endif
