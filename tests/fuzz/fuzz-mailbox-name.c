/*
 * libFuzzer target for mailbox_name_from_client() and modified UTF-7.
 * The first input byte picks the mode (bit 0: UTF-8 client, bit 1: LIST
 * pattern); the rest is the name as the client sent it.  Properties:
 *   - an accepted name is valid UTF-8 within the limits, and survives
 *     to_client + from_client unchanged in both modes;
 *   - mUTF-7 decoding is canonical: re-encoding gives the input back;
 *   - valid UTF-8 survives utf8 -> mUTF-7 -> utf8;
 *   - every pattern matches its own text, and a name's parent is a prefix.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "imap/mailbox-name.h"
#include "imap/mutf7.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_accepted(struct arena *arena, const char *stored, bool wild)
{
	size_t len = strlen(stored);
	const char *error;

	i_assert(utf8_valid(stored, len));
	i_assert(len <= MAILBOX_NAME_MAX);
	for (size_t i = 0; i < len; i++)
		i_assert((unsigned char)stored[i] >= 0x20 && stored[i] != 0x7f);
	i_assert(mailbox_pattern_match(stored, stored));

	for (int utf8 = 0; utf8 <= 1; utf8++) {
		char *sent = mailbox_name_to_client(arena, stored, utf8);
		char *back = mailbox_name_from_client(arena, sent, strlen(sent),
		                                      utf8, wild, &error);
		i_assert(back != NULL && strcmp(back, stored) == 0);
	}

	char *parent = mailbox_name_parent(arena, stored);
	if (parent != NULL) {
		size_t plen = strlen(parent);
		i_assert(plen < len && memcmp(parent, stored, plen) == 0 &&
		         stored[plen] == MAILBOX_NAME_SEP);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct arena *arena;
	const char *error;

	if (size == 0 || size > 8 * MAILBOX_NAME_MAX)
		return 0;
	if (arena == NULL)
		arena = arena_create(16384);
	arena_clear(arena);

	bool utf8 = (data[0] & 1) != 0, wild = (data[0] & 2) != 0;
	/* An exactly sized copy, so ASan catches reads past the end. */
	size_t len = size - 1;
	char *name = xmalloc(len + 1);
	memcpy(name, data + 1, len);

	char *stored =
	    mailbox_name_from_client(arena, name, len, utf8, wild, &error);
	i_assert((stored == NULL) == (error != NULL));
	if (stored != NULL)
		check_accepted(arena, stored, wild);

	char *dec = mutf7_to_utf8(arena, name, len);
	if (dec != NULL) {
		char *enc = utf8_to_mutf7(arena, dec, strlen(dec));
		i_assert(strlen(enc) == len && memcmp(enc, name, len) == 0);
	}

	if (utf8_valid(name, len) && memchr(name, '\0', len) == NULL) {
		char *enc = utf8_to_mutf7(arena, name, len);
		char *back = mutf7_to_utf8(arena, enc, strlen(enc));
		i_assert(back != NULL && strlen(back) == len &&
		         memcmp(back, name, len) == 0);
	}
	free(name);
	return 0;
}
