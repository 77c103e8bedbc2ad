/*
 * RFC 9051 sequence sets:
 *   sequence-set = (seq-number / seq-range) ["," sequence-set]
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 * and RFC 5182's "$" (the saved search result) on its own.
 */
#include "imap/seqset.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "util.h"

/* Reads one seq-number at text[*pos]; *is_number_r tells it from '*'. */
static bool
seqset_parse_number(const char *text, size_t len, size_t *pos,
                    uint32_t *value_r, bool *is_number_r)
{
	size_t start = *pos;
	if (start < len && text[start] == '*') {
		*pos = start + 1;
		*value_r = SEQSET_STAR;
		*is_number_r = false;
		return true;
	}
	size_t end = start;
	while (end < len && text[end] >= '0' && text[end] <= '9')
		end++;
	/* nz-number = digit-nz *DIGIT */
	if (end == start || text[start] == '0')
		return false;
	if (!parse_u32(text + start, end - start, value_r))
		return false;
	*pos = end;
	*is_number_r = true;
	return true;
}

static bool
seqset_parse_range(const char *text, size_t len, size_t *pos,
                   struct seq_range *range_r)
{
	uint32_t lo, hi;
	bool lo_num, hi_num;
	if (!seqset_parse_number(text, len, pos, &lo, &lo_num))
		return false;
	hi = lo;
	hi_num = lo_num;
	if (*pos < len && text[*pos] == ':') {
		(*pos)++;
		if (!seqset_parse_number(text, len, pos, &hi, &hi_num))
			return false;
	}
	if (lo > hi || (lo == hi && !lo_num && hi_num)) {
		/* Keep '*' in hi when both ends are UINT32_MAX. */
		uint32_t v = lo;
		bool n = lo_num;
		lo = hi;
		lo_num = hi_num;
		hi = v;
		hi_num = n;
	}
	range_r->lo = lo;
	range_r->hi = hi;
	range_r->numbers = (uint8_t)((lo_num ? SEQ_RANGE_LO_NUMBER : 0) |
	                             (hi_num ? SEQ_RANGE_HI_NUMBER : 0));
	return true;
}

bool
seqset_parse(struct arena *arena, const char *text, size_t len,
             size_t max_ranges, struct seqset *set_r)
{
	memset(set_r, 0, sizeof(*set_r));
	if (len == 1 && text[0] == '$') {
		/* RFC 5182 2.1: "$" stands alone, it is not a seq-number. */
		set_r->is_saved = true;
		return true;
	}
	size_t count = 1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == ',')
			count++;
	}
	if (len == 0 || count > max_ranges)
		return false;

	struct seq_range *ranges =
	    arena_new_array(arena, struct seq_range, count);
	size_t pos = 0;
	for (size_t i = 0; i < count; i++) {
		if (!seqset_parse_range(text, len, &pos, &ranges[i]))
			return false;
		if (i + 1 < count) {
			if (pos >= len || text[pos] != ',')
				return false;
			pos++;
		}
	}
	if (pos != len)
		return false;
	set_r->ranges = ranges;
	set_r->count = count;
	return true;
}

static uint32_t
seqset_resolve_end(uint32_t value, bool is_number, uint32_t star_value)
{
	return value == SEQSET_STAR && !is_number ? star_value : value;
}

static int
seq_range_cmp(const void *a, const void *b)
{
	const struct seq_range *ra = a, *rb = b;
	if (ra->lo != rb->lo)
		return ra->lo < rb->lo ? -1 : 1;
	if (ra->hi != rb->hi)
		return ra->hi < rb->hi ? -1 : 1;
	return 0;
}

/* Substitutes '*', orders each range and drops or raises zeros. */
static size_t
seqset_resolve_ends(struct seqset *set, uint32_t star_value, bool *sorted_r)
{
	size_t out = 0;
	*sorted_r = true;
	for (size_t i = 0; i < set->count; i++) {
		struct seq_range r = set->ranges[i];
		uint32_t lo = seqset_resolve_end(
		    r.lo, (r.numbers & SEQ_RANGE_LO_NUMBER) != 0, star_value);
		uint32_t hi = seqset_resolve_end(
		    r.hi, (r.numbers & SEQ_RANGE_HI_NUMBER) != 0, star_value);
		if (lo > hi) {
			uint32_t v = lo;
			lo = hi;
			hi = v;
		}
		/* Only '*' with star_value 0 can give 0: nothing exists. */
		if (hi == 0)
			continue;
		if (lo == 0)
			lo = 1;
		if (out > 0 && lo < set->ranges[out - 1].lo)
			*sorted_r = false;
		set->ranges[out].lo = lo;
		set->ranges[out].hi = hi;
		set->ranges[out].numbers =
		    SEQ_RANGE_LO_NUMBER | SEQ_RANGE_HI_NUMBER;
		out++;
	}
	return out;
}

void
seqset_resolve(struct seqset *set, uint32_t star_value)
{
	if (set->is_saved || set->count == 0)
		return;
	bool sorted;
	size_t count = seqset_resolve_ends(set, star_value, &sorted);
	if (!sorted)
		qsort(set->ranges, count, sizeof(*set->ranges), seq_range_cmp);

	/* Merge overlapping and adjacent ranges. */
	size_t out = 0;
	for (size_t i = 0; i < count; i++) {
		struct seq_range r = set->ranges[i];
		if (out > 0) {
			struct seq_range *prev = &set->ranges[out - 1];
			if (prev->hi == UINT32_MAX || r.lo <= prev->hi + 1) {
				if (r.hi > prev->hi)
					prev->hi = r.hi;
				continue;
			}
		}
		set->ranges[out++] = r;
	}
	set->count = out;
}

bool
seqset_contains(const struct seqset *set, uint32_t value)
{
	size_t lo = 0, hi = set->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct seq_range *r = &set->ranges[mid];
		if (value < r->lo)
			hi = mid;
		else if (value > r->hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}
