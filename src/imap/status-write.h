#ifndef CASELLA_STATUS_WRITE_H
#define CASELLA_STATUS_WRITE_H

struct command;
struct imap_arg;
struct store_mailbox;

/*
 * STATUS data items (RFC 9051 6.3.11, RFC 3501 RECENT, RFC 7162
 * HIGHESTMODSEQ), shared by STATUS and LIST-STATUS (RFC 5819).
 */
enum status_item {
	STATUS_ITEM_MESSAGES = 0x01,
	STATUS_ITEM_UIDNEXT = 0x02,
	STATUS_ITEM_UIDVALIDITY = 0x04,
	STATUS_ITEM_UNSEEN = 0x08,
	STATUS_ITEM_DELETED = 0x10,
	STATUS_ITEM_SIZE = 0x20,
	STATUS_ITEM_RECENT = 0x40,
	STATUS_ITEM_HIGHESTMODSEQ = 0x80,
};

/*
 * Parses a parenthesised item list "(MESSAGES UNSEEN)" (names in any
 * case; repeats allowed) into enum status_item bits.  Returns 0, or -1
 * with *error_r a static text for a BAD answer (not a list, empty, or an
 * unknown item).
 */
int status_items_parse(const struct imap_arg *arg, unsigned *items_r,
                       const char **error_r);

/*
 * Queues "* STATUS name (ITEM n ...)" for mb with the given items, in the
 * order of enum status_item.  Returns 1 when written, 0 if the mailbox no
 * longer exists (nothing written), -1 on a store error with *error_r.
 */
int status_write(struct command *cmd, const struct store_mailbox *mb,
                 unsigned items, const char **error_r);

#endif
