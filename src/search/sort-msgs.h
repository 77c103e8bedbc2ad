#ifndef CASELLA_SORT_MSGS_H
#define CASELLA_SORT_MSGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;
struct mailbox_view;
struct store;

/*
 * What SORT and THREAD (RFC 5256) know about each selected message: the
 * search that selects them, and the sort values read from store metadata
 * and the message header.
 */

/* RFC 5256 commands handle at most this many matching messages. */
#define SORT_MAX_MESSAGES 100000

/* The values one message sorts and threads by. */
struct sort_msg {
	uint32_t seq;           /* sequence number in the view */
	uint32_t uid;           /* its UID */
	uint64_t size;          /* RFC822.SIZE */
	int64_t arrival;        /* internal date, UTC seconds */
	int64_t sent;           /* RFC 5256 2.2 sent date, UTC seconds */
	const char *subject;    /* RFC 5256 2.1 base subject, "" if none */
	bool reply;             /* the subject was a reply or forward */
	const char *from;       /* addr-mailbox of the first From address */
	const char *to;         /* ... of the first To address */
	const char *cc;         /* ... of the first Cc address */
	const char *disp_from;  /* RFC 5957 display value of From */
	const char *disp_to;    /* ... of To */
	const char *message_id; /* raw header values for THREAD, or NULL */
	const char *references;
	const char *in_reply_to;
};

/* Which values sort_msgs_load() must read; others stay "" or 0. */
enum sort_need {
	SORT_NEED_SUBJECT = 0x01,
	SORT_NEED_FROM = 0x02,
	SORT_NEED_TO = 0x04,
	SORT_NEED_CC = 0x08,
	SORT_NEED_DATE = 0x10,
	SORT_NEED_DISPLAY = 0x20, /* disp_from, disp_to */
	SORT_NEED_THREAD = 0x40,  /* message_id, references, in_reply_to */
};

/*
 * Fills msgs_r (arena, count entries) for the given ascending sequence
 * numbers, reading the message header only if needs (enum sort_need)
 * asks for header values.  A message expunged by another session since
 * the view was synced has empty values.  Returns 0, or -1 with *error_r
 * when the store fails.
 */
int sort_msgs_load(struct store *store, const struct mailbox_view *view,
                   struct arena *arena, const uint32_t *seqs, size_t count,
                   unsigned needs, struct sort_msg **msgs_r,
                   const char **error_r);

/* RFC 5256 2.2 with the sequence number as tie-breaker: <0, 0, >0. */
int sort_msg_compare_sent(const struct sort_msg *a, const struct sort_msg *b);

/* RFC 5256 3 and RFC 5957 sort keys. */
enum sort_key {
	SORT_KEY_ARRIVAL,
	SORT_KEY_CC,
	SORT_KEY_DATE,
	SORT_KEY_FROM,
	SORT_KEY_SIZE,
	SORT_KEY_SUBJECT,
	SORT_KEY_TO,
	SORT_KEY_DISPLAYFROM,
	SORT_KEY_DISPLAYTO,
};

struct sort_criterion {
	enum sort_key key;
	bool reverse; /* REVERSE applies to this key only */
};

/* Orders msgs by the criteria, ties in sequence order (RFC 5256 3). */
void sort_msgs_order(const struct sort_msg **msgs, size_t count,
                     const struct sort_criterion *crit, size_t crit_count);

#endif
