/* Flag lists of STORE and APPEND (RFC 9051 2.3.2, 6.3.12, 6.4.6). */
#include "imap/flags-parse.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/parser.h"
#include "lib/arena.h"
#include "lib/util.h"
#include "store/store.h"

static const struct {
	const char *name;
	uint32_t flag;
} flags_system[] = {
    {"\\Seen", STORE_FLAG_SEEN},       {"\\Answered", STORE_FLAG_ANSWERED},
    {"\\Flagged", STORE_FLAG_FLAGGED}, {"\\Deleted", STORE_FLAG_DELETED},
    {"\\Draft", STORE_FLAG_DRAFT},
};

/* RFC 9051 9: ATOM-CHAR is any 7-bit CHAR except atom-specials. */
static bool
flags_is_atom_char(unsigned char c)
{
	if (c <= 0x20 || c >= 0x7f)
		return false;
	return strchr("(){%*\"\\]", c) == NULL;
}

bool
flags_keyword_valid(const char *s, size_t len)
{
	if (len == 0 || len > FLAGS_MAX_KEYWORD_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!flags_is_atom_char((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A system flag's bit, or 0 for \Recent (then *recent_r is true) and for
 * unknown names. */
static uint32_t
flags_system_lookup(const char *s, size_t len, bool *recent_r)
{
	*recent_r = mem_case_eq(s, len, "\\Recent");
	for (size_t i = 0; i < N_ELEMENTS(flags_system); i++) {
		if (mem_case_eq(s, len, flags_system[i].name))
			return flags_system[i].flag;
	}
	return 0;
}

/* The store's order (RFC 9051 2.3.2 names ignore ASCII case), so sets
 * built here compare equal to the ones it keeps. */
static int
flags_compare(const void *a, const void *b)
{
	const unsigned char *x = *(const unsigned char *const *)a;
	const unsigned char *y = *(const unsigned char *const *)b;
	for (;; x++, y++) {
		unsigned char cx = *x >= 'A' && *x <= 'Z' ? *x + 32 : *x;
		unsigned char cy = *y >= 'A' && *y <= 'Z' ? *y + 32 : *y;
		if (cx != cy || cx == '\0')
			return cx < cy ? -1 : cx > cy;
	}
}

/* Joins words (sorted here) into one space-separated arena string. */
static const char *
flags_join(struct arena *arena, const char **words, size_t count)
{
	if (count == 0)
		return "";
	qsort(words, count, sizeof(*words), flags_compare);
	size_t total = 0;
	for (size_t i = 0; i < count; i++)
		total += strlen(words[i]) + 1;
	char *out = arena_alloc(arena, total);
	char *p = out;
	for (size_t i = 0; i < count; i++) {
		size_t len = strlen(words[i]);
		memcpy(p, words[i], len);
		p += len;
		*p++ = i + 1 < count ? ' ' : '\0';
	}
	return out;
}

/* Adds keyword to words[] unless present (ignoring case: RFC 9051 2.3.2
 * makes flag names case-insensitive, so the first spelling wins). */
static int
flags_add_keyword(const char **words, size_t *count, const char *kw)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcasecmp(words[i], kw) == 0)
			return 0;
	}
	if (*count == FLAGS_MAX_KEYWORDS)
		return -1;
	words[(*count)++] = kw;
	return 0;
}

static int
flags_parse_one(const struct imap_arg *arg, bool allow_recent, uint32_t *flags,
                const char **words, size_t *count, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Flags must be atoms";
		return -1;
	}
	if (arg->str[0] == '\\') {
		bool recent;
		uint32_t bit = flags_system_lookup(arg->str, arg->len, &recent);
		if (recent && allow_recent)
			return 0;
		if (recent) {
			/* RFC 9051 removed \Recent; it was never storable. */
			*error_r = "\\Recent can't be stored";
			return -1;
		}
		if (bit == 0) {
			*error_r = "Unknown system flag";
			return -1;
		}
		*flags |= bit;
		return 0;
	}
	if (!flags_keyword_valid(arg->str, arg->len)) {
		*error_r = "Invalid keyword";
		return -1;
	}
	if (flags_add_keyword(words, count, arg->str) < 0) {
		*error_r = "Too many keywords";
		return -1;
	}
	return 0;
}

int
flags_parse(struct arena *arena, const struct imap_arg *arg, bool allow_recent,
            uint32_t *flags_r, const char **keywords_r, const char **error_r)
{
	const struct imap_arg *list = arg;
	size_t list_count = 1;
	if (arg->type == IMAP_ARG_LIST) {
		list = arg->list;
		list_count = arg->list_count;
	}
	const char **words =
	    arena_new_array(arena, const char *, FLAGS_MAX_KEYWORDS);
	size_t count = 0;
	uint32_t flags = 0;
	for (size_t i = 0; i < list_count; i++) {
		if (flags_parse_one(&list[i], allow_recent, &flags, words,
		                    &count, error_r) < 0)
			return -1;
	}
	*flags_r = flags;
	*keywords_r = flags_join(arena, words, count);
	return 0;
}

/* Splits a space-separated keyword set into arena strings. */
static const char **
flags_split(struct arena *arena, const char *set, size_t extra, size_t *count_r)
{
	size_t n = 0;
	for (const char *p = set; *p != '\0'; p++) {
		if (*p != ' ' && (p == set || p[-1] == ' '))
			n++;
	}
	const char **words = arena_new_array(arena, const char *, n + extra);
	size_t k = 0;
	while (*set != '\0') {
		size_t len = strcspn(set, " ");
		if (len > 0)
			words[k++] = arena_strndup(arena, set, len);
		set += len;
		set += strspn(set, " ");
	}
	*count_r = k;
	return words;
}

static bool
flags_set_has(const char *const *words, size_t count, const char *kw)
{
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(words[i], kw) == 0)
			return true;
	}
	return false;
}

const char *
flags_keywords_apply(struct arena *arena, const char *current,
                     enum store_flags_mode mode, const char *keywords)
{
	size_t cur_count, kw_count;
	const char **kws = flags_split(arena, keywords, 0, &kw_count);
	if (mode == STORE_FLAGS_REPLACE)
		return flags_join(arena, kws, kw_count);
	const char **cur = flags_split(arena, current, kw_count, &cur_count);
	if (mode == STORE_FLAGS_ADD) {
		for (size_t i = 0; i < kw_count; i++) {
			if (!flags_set_has(cur, cur_count, kws[i]))
				cur[cur_count++] = kws[i];
		}
		return flags_join(arena, cur, cur_count);
	}
	size_t kept = 0;
	for (size_t i = 0; i < cur_count; i++) {
		if (!flags_set_has(kws, kw_count, cur[i]))
			cur[kept++] = cur[i];
	}
	return flags_join(arena, cur, kept);
}
