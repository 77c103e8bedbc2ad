#ifndef CASELLA_THREAD_H
#define CASELLA_THREAD_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct sort_msg;
struct str;

enum thread_algorithm {
	THREAD_ORDEREDSUBJECT, /* RFC 5256 4 */
	THREAD_REFERENCES,
};

/* The threads of a set of messages, allocated from an arena. */
struct thread_ctx;

/*
 * Threads msgs (loaded by sort_msgs_load() with SORT_NEED_SUBJECT,
 * SORT_NEED_DATE and, for REFERENCES, SORT_NEED_THREAD).  Returns NULL
 * when a bound on ids or work was hit (the caller answers NO [LIMIT]).
 * msgs must outlive the result.
 */
struct thread_ctx *thread_build(struct arena *arena,
                                const struct sort_msg *msgs, size_t count,
                                enum thread_algorithm algorithm);

/* Appends " 1*thread-list" (RFC 5256 5), or nothing when there are no
 * threads, naming messages by UID or by sequence number. */
void thread_write(struct str *out, struct thread_ctx *threads, bool uid);

#endif
