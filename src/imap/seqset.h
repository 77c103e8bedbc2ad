#ifndef CASELLA_IMAP_SEQSET_H
#define CASELLA_IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct arena;

/*
 * A parsed sequence set (RFC 9051 sequence-set): ranges of unsigned 32-bit
 * numbers where '*' stands for "the largest number in use", resolved when
 * the set is applied.  The special set "$" (SEARCHRES) is flagged, not
 * expanded here.
 */
#define SEQSET_STAR UINT32_MAX

/* seq_range.numbers bits: that end is the number 4294967295 as written,
 * not '*' (both are UINT32_MAX); zero keeps UINT32_MAX meaning '*'. */
#define SEQ_RANGE_LO_NUMBER 0x01
#define SEQ_RANGE_HI_NUMBER 0x02

struct seq_range {
	/* inclusive; lo <= hi after normalisation; may be STAR */
	uint32_t lo, hi;
	uint8_t numbers; /* SEQ_RANGE_*_NUMBER */
};

struct seqset {
	struct seq_range *ranges;
	size_t count;
	bool is_saved; /* "$" */
};

/*
 * Parses text (not NUL-terminated, len bytes) into *set_r using arena.
 * Returns false for invalid syntax, zero ("0" is not a valid number),
 * numbers over 2^32-1, or more than max_ranges ranges.
 * RFC 9051 9: nz-number has no leading zeros, so "01" is rejected too.
 * Each range has lo <= hi ("*:5" is stored as 5:*).
 */
bool seqset_parse(struct arena *arena, const char *text, size_t len,
                  size_t max_ranges, struct seqset *set_r);

/*
 * Resolves '*' to star_value and sorts/merges ranges in place, so that
 * ranges are ascending and disjoint.  If star_value is 0 (empty mailbox),
 * '*' becomes 0 too and ranges that end up empty are dropped.
 * Precisely: a range [0,0] is dropped and a range [0,n] becomes [1,n]
 * (so "1:*" on an empty mailbox is [1,1]); ranges are not clamped to
 * star_value, so the caller can still tell that a number does not exist.
 * Resolved ranges have both SEQ_RANGE_*_NUMBER bits set, so resolving
 * again changes nothing.  A "$" set is left alone.
 */
void seqset_resolve(struct seqset *set, uint32_t star_value);

/* True if value lies in the (resolved) set. Binary search. */
bool seqset_contains(const struct seqset *set, uint32_t value);

#endif
