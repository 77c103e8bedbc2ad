/*
 * Fuzzes the IMAP command parser.  Input: one mode byte (limits, whether
 * to release memory early), two bytes seeding the chunk sizes, then the
 * client's byte stream.  The stream is parsed three ways -- all at once,
 * in pseudo-random chunks and one byte at a time -- and every way must
 * give the same results at the same stream offsets.  Invariants on the
 * results and on memory use are checked with i_assert().
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/notify-parse.h"
#include "imap/parser.h"
#include "lib/arena.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HEADER 3

/* Small limits so that every limit is easy to reach. */
static const struct imap_parser_limits fuzz_limits[] = {
    {
        .max_line = 64,
        .max_literal = 32,
        .max_literal_total = 48,
        .max_nonsync_literal = 16,
        .max_depth = 3,
        .max_args = 8,
    },
    {
        .max_line = 200,
        .max_literal = 300,
        .max_literal_total = 600,
        .max_nonsync_literal = 400,
        .max_depth = 8,
        .max_args = 40,
    },
    {
        .max_line = 16,
        .max_literal = 0,
        .max_literal_total = 0,
        .max_nonsync_literal = 0,
        .max_depth = 0,
        .max_args = 2,
    },
};

/* After a LOGIN command the limits switch to these (a deterministic
 * point in the stream, so all three ways see the same change). */
static const struct imap_parser_limits login_limits = {
    .max_line = 128,
    .max_literal = 1000,
    .max_literal_total = 1000,
    .max_nonsync_literal = 4,
    .max_depth = 1,
    .max_args = 4,
};

struct fuzz_run {
	const struct imap_parser_limits *limits; /* current limits */
	uint64_t hash;                           /* FNV-1a of the events */
	bool release;                            /* release after each event */
};

static void
hash_bytes(struct fuzz_run *run, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++) {
		run->hash ^= p[i];
		run->hash *= 0x100000001b3ULL;
	}
}

static void
hash_u64(struct fuzz_run *run, uint64_t v)
{
	hash_bytes(run, &v, sizeof(v));
}

static size_t
memory_bound(const struct imap_parser_limits *l)
{
	size_t line = l->max_line + 2 > 256 ? l->max_line + 2 : 256;
	return 1024 + line + l->max_args * 128 + l->max_depth * 8 +
	       (size_t)l->max_literal_total + l->max_args;
}

static bool
tag_valid(const char *tag)
{
	if (*tag == '\0')
		return false;
	for (; *tag != '\0'; tag++) {
		unsigned char c = (unsigned char)*tag;
		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c) != NULL)
			return false;
	}
	return true;
}

/* The helpers must agree with the argument's type. */
static void
check_helpers(const struct imap_arg *a)
{
	const char *s;
	size_t len;
	bool has_nul =
	    a->type == IMAP_ARG_LITERAL && memchr(a->str, '\0', a->len) != NULL;
	bool astring =
	    (imap_arg_is_string(a) || a->type == IMAP_ARG_NIL) && !has_nul;
	i_assert(imap_arg_get_astring(a, &s, &len) == astring);
	if (astring)
		i_assert(s == a->str && len == a->len);
	bool nstring = imap_arg_get_nstring(a, &s, &len);
	i_assert(nstring == (astring || a->type == IMAP_ARG_NIL));
	if (nstring && a->type == IMAP_ARG_NIL)
		i_assert(s == NULL && len == 0);
	i_assert(imap_arg_atom_equals(a, "NIL") == (a->type == IMAP_ARG_NIL));
	if (a->type == IMAP_ARG_ATOM)
		i_assert(imap_arg_atom_equals(a, a->str));
}

/* Hashes the arguments and checks them; returns how many there were. */
static size_t
check_args(struct fuzz_run *run, const struct imap_arg *args, size_t count,
           unsigned depth)
{
	const struct imap_parser_limits *l = run->limits;
	size_t total = count;
	i_assert(depth <= l->max_depth);
	i_assert(count <= l->max_args);
	for (size_t i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];
		hash_u64(run, a->type);
		check_helpers(a);
		if (a->type == IMAP_ARG_LIST) {
			i_assert(a->str == NULL);
			i_assert((a->list == NULL) == (a->list_count == 0));
			hash_u64(run, a->list_count);
			total +=
			    check_args(run, a->list, a->list_count, depth + 1);
			continue;
		}
		i_assert(a->str != NULL && a->str[a->len] == '\0');
		i_assert(a->list == NULL && a->list_count == 0);
		i_assert(!a->literal8 || a->type == IMAP_ARG_LITERAL);
		hash_u64(run, a->literal8);
		hash_u64(run, a->len);
		hash_bytes(run, a->str, a->len);
		if (a->type == IMAP_ARG_LITERAL) {
			i_assert(a->len <= l->max_literal);
			continue;
		}
		i_assert(memchr(a->str, '\0', a->len) == NULL);
		i_assert(a->len < l->max_line);
		if (a->type == IMAP_ARG_ATOM) {
			i_assert(a->len > 0);
			i_assert(!mem_case_eq(a->str, a->len, "NIL"));
		}
		if (a->type == IMAP_ARG_NIL)
			i_assert(mem_case_eq(a->str, a->len, "NIL"));
	}
	return total;
}

/* NOTIFY's own parser (imap/notify-parse.c) on what the IMAP parser
 * gave: any arguments give one outcome, and a request that is OK keeps
 * RFC 5465's rules. */
static void
check_notify(struct fuzz_run *run, const struct imap_command_line *cmd)
{
	struct arena *arena = arena_create(1024);
	struct notify_request req;
	bool none;
	const char *error = NULL;
	enum notify_parse_status st = notify_parse(
	    arena, cmd->args, cmd->arg_count, false, &none, &req, &error);
	hash_u64(run, st);
	i_assert(st == NOTIFY_PARSE_OK || error != NULL);
	for (size_t i = 0; st == NOTIFY_PARSE_OK && i < req.group_count; i++) {
		unsigned ev = req.groups[i].events;
		i_assert((ev & ~NOTIFY_EVENT_SUPPORTED) == 0);
		i_assert(((ev & NOTIFY_EVENT_MESSAGE_NEW) != 0) ==
		         ((ev & NOTIFY_EVENT_MESSAGE_EXPUNGE) != 0));
	}
	arena_destroy(&arena);
}

static void
check_command(struct fuzz_run *run, const struct imap_command_line *cmd)
{
	i_assert(tag_valid(cmd->tag));
	i_assert(cmd->name[0] != '\0');
	i_assert(strlen(cmd->tag) + strlen(cmd->name) < run->limits->max_line);
	hash_bytes(run, cmd->tag, strlen(cmd->tag) + 1);
	hash_bytes(run, cmd->name, strlen(cmd->name) + 1);
	i_assert((cmd->args == NULL) == (cmd->arg_count == 0));
	size_t total = check_args(run, cmd->args, cmd->arg_count, 0);
	i_assert(total <= run->limits->max_args);
	if (strcasecmp(cmd->name, "NOTIFY") == 0)
		check_notify(run, cmd);
}

static void
check_error(struct fuzz_run *run, const struct imap_parser *p)
{
	enum imap_parser_error error = imap_parser_error(p);
	const char *tag = imap_parser_error_tag(p);
	i_assert(error != IMAP_PARSER_ERROR_NONE);
	i_assert(imap_parser_error_text(p) != NULL);
	hash_u64(run, error);
	hash_u64(run, imap_parser_error_fatal(p));
	if (tag != NULL) {
		i_assert(tag_valid(tag));
		hash_bytes(run, tag, strlen(tag) + 1);
	}
	if (imap_parser_error_fatal(p))
		i_assert(error == IMAP_PARSER_ERROR_LITERAL_TOO_BIG);
}

/* Handles one result; returns false to replace the parser (fatal). */
static bool
fuzz_event(struct fuzz_run *run, struct imap_parser *p,
           enum imap_parse_result r, const struct imap_command_line *cmd,
           size_t pos)
{
	hash_u64(run, (uint64_t)r);
	hash_u64(run, pos);
	i_assert((r == IMAP_PARSE_COMMAND) == (cmd != NULL));
	switch (r) {
	case IMAP_PARSE_COMMAND:
		check_command(run, cmd);
		i_assert(!imap_parser_busy(p));
		if (strcmp(cmd->name, "LOGIN") == 0) {
			run->limits = &login_limits;
			imap_parser_set_limits(p, run->limits);
		}
		break;
	case IMAP_PARSE_CONTINUE:
		i_assert(imap_parser_busy(p));
		break;
	case IMAP_PARSE_ERROR:
		check_error(run, p);
		if (imap_parser_error_fatal(p))
			return false;
		i_assert(!imap_parser_busy(p));
		break;
	case IMAP_PARSE_MORE:
		i_assert(!"MORE is not an event");
	}
	if (run->release)
		imap_parser_release(p);
	return true;
}

static uint32_t
rng_next(uint32_t *state)
{
	/* xorshift32; the state is never zero. */
	uint32_t x = *state;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

/*
 * Parses the stream with chunks from rng (NULL: all at once, a zero
 * state: one byte at a time) and returns the hash of all events.
 */
static uint64_t
fuzz_run(const uint8_t *in, size_t len, uint8_t mode, uint32_t *rng)
{
	const struct imap_parser_limits *base =
	    &fuzz_limits[(mode & 0x7f) % N_ELEMENTS(fuzz_limits)];
	struct fuzz_run run = {
	    .limits = base,
	    .hash = 0xcbf29ce484222325ULL,
	    .release = (mode & 0x80) != 0,
	};
	size_t bound = memory_bound(base);
	if (memory_bound(&login_limits) > bound)
		bound = memory_bound(&login_limits);
	struct imap_parser *p = imap_parser_create(base);
	size_t arrived = 0, pos = 0;

	while (pos < len) {
		size_t chunk = len;
		if (rng != NULL && *rng == 0)
			chunk = 1;
		else if (rng != NULL)
			chunk = 1 + rng_next(rng) % (1u << (rng_next(rng) % 9));
		arrived = len - arrived < chunk ? len : arrived + chunk;
		while (pos < arrived) {
			const struct imap_command_line *cmd;
			size_t consumed, avail = arrived - pos;
			enum imap_parse_result r = imap_parser_parse(
			    p, (const char *)in + pos, avail, &consumed, &cmd);
			i_assert(consumed <= avail);
			i_assert(imap_parser_memory(p) <= bound);
			pos += consumed;
			if (r == IMAP_PARSE_MORE) {
				i_assert(consumed == avail && cmd == NULL);
				break;
			}
			/* Every result but MORE ends at a line or literal
			 * boundary, so it consumed something. */
			i_assert(consumed > 0);
			if (!fuzz_event(&run, p, r, cmd, pos)) {
				imap_parser_destroy(&p);
				run.limits = base;
				p = imap_parser_create(base);
			}
		}
	}
	hash_u64(&run, imap_parser_busy(p));
	imap_parser_destroy(&p);
	i_assert(p == NULL);
	return run.hash;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < FUZZ_HEADER)
		return 0;
	uint8_t mode = data[0];
	uint32_t seed = ((uint32_t)data[1] << 8 | data[2]) + 1;
	const uint8_t *in = data + FUZZ_HEADER;
	size_t len = size - FUZZ_HEADER;

	uint64_t whole = fuzz_run(in, len, mode, NULL);
	uint64_t chunked = fuzz_run(in, len, mode, &seed);
	uint32_t bytewise_state = 0;
	uint64_t bytewise = fuzz_run(in, len, mode, &bytewise_state);
	i_assert(whole == chunked);
	i_assert(whole == bytewise);
	return 0;
}
