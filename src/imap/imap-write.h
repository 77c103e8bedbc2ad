#ifndef CASELLA_IMAP_WRITE_H
#define CASELLA_IMAP_WRITE_H

#include <stdbool.h>
#include <stddef.h>

struct str;

/*
 * Writing IMAP strings into responses.  A string goes out quoted when it
 * is short and holds only characters a quoted string may carry (8-bit
 * UTF-8 only when utf8 is true), otherwise as a literal {n}CRLF...
 */
void imap_write_string(struct str *out, const char *s, size_t len, bool utf8);
/* NULL s writes NIL. */
void imap_write_nstring(struct str *out, const char *s, size_t len, bool utf8);
/* An atom when possible (for mailbox names), else a string. */
void imap_write_astring(struct str *out, const char *s, size_t len, bool utf8);

/* Writes numbers as a compact set, in the order given: each run of
 * consecutive ascending numbers becomes a range ("1:3,7,9:10"; "5,3"). */
#include <stdint.h>
void imap_write_uid_set(struct str *out, const uint32_t *uids, size_t count);

#endif
