#ifndef CASELLA_MIME_BASE_SUBJECT_H
#define CASELLA_MIME_BASE_SUBJECT_H

#include <stdbool.h>
#include <stddef.h>

struct arena;

/*
 * RFC 5256 2.1 base subject extraction, used by SORT SUBJECT and both
 * THREAD algorithms.  subject is a Subject header value (folded or not;
 * may hold NUL bytes, only len counts).  Returns the base subject,
 * NUL-terminated, from arena; "" for an empty or missing subject.
 * *reply_r (may be NULL) is set when a reply or forward marker was
 * removed: a subj-refwd leader ("Re:", "Fw:", "Fwd:"), a "(fwd)" trailer
 * or a "[fwd: ...]" wrapper (RFC 5256 4, REFERENCES step 5).
 *
 * Step 1 of RFC 5256 2.1: RFC 2047 encoded words are decoded to UTF-8
 * first (mime/decode.h), so "=?utf-8?q?Re=3A?= x" is a reply to "x".
 *
 * Base subjects compare with i;ascii-casemap (RFC 4790 9.2): see
 * base_subject_compare().
 */
const char *base_subject(struct arena *arena, const char *subject, size_t len,
                         bool *reply_r);

/* i;ascii-casemap ordering of two NUL-terminated strings: a-z compare as
 * A-Z, everything else as unsigned octets.  <0, 0 or >0 as strcmp(). */
int base_subject_compare(const char *a, const char *b);

#endif
