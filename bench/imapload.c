/*
 * imapload: IMAP load generator.
 *
 * One epoll loop drives N non-blocking connections.  Each logs in,
 * selects INBOX and runs a workload, checking every response: the
 * tagged status, the number of FETCH responses, literal sizes against
 * RFC822.SIZE.  Prints ops/s and latency percentiles per command, the
 * error count and its own CPU time, then machine-readable RESULT lines.
 *
 * Build: cc -O2 -std=c17 -D_GNU_SOURCE -o build/bench/imapload \
 *        bench/imapload.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailgen.c"

#define MAX_CONNS       19000        /* the sandbox allows 20000 fds */
#define RBUF_MAX        (8u << 20)   /* largest response unit accepted */
#define WBUF_MAX        (256u << 10) /* largest command, literal included */
#define SAMPLES_MAX     (1u << 22)   /* latency samples kept per command */
#define SETUP_NS        (30ull * 1000000000ull)
#define APPEND_EVERY_NS (100ull * 1000000ull)
#define MAX_APPENDS     100000 /* idle workload: appends tracked */
#define ERRORS_SHOWN    10

enum workload {
	WL_APPEND,
	WL_FETCH,
	WL_MIXED,
	WL_LOGIN,
	WL_IDLE,
	WL_SEARCH,
	WL_PREFILL,
};

static const char *const workload_names[] = {
    "append", "fetch", "mixed", "login", "idle", "search", "prefill",
};

enum cmd_kind {
	K_CONNECT,
	K_LOGIN,
	K_SELECT,
	K_APPEND,
	K_FETCH_FLAGS,
	K_FETCH_HEADER,
	K_FETCH_BODY,
	K_LIST,
	K_STATUS,
	K_STORE,
	K_EXPUNGE,
	K_LOGOUT,
	K_IDLE,
	K_DONE,
	K_SEARCH_BODY,
	K_SEARCH_TEXT,
	K_IDLE_NOTIFY, /* not a command: APPEND OK -> idler EXISTS */
	K_CYCLE,       /* not a command: one full workload cycle */
	K_COUNT,
};

static const char *const kind_names[] = {
    "connect",      "LOGIN",        "SELECT", "APPEND", "FETCH FLAGS",
    "FETCH HEADER", "FETCH BODY[]", "LIST",   "STATUS", "STORE",
    "EXPUNGE",      "LOGOUT",       "IDLE",   "DONE",   "SEARCH BODY",
    "SEARCH TEXT",  "idle-notify",  "cycle",
};

enum conn_state {
	CS_CLOSED,
	CS_CONNECTING,
	CS_GREETING,
	CS_BUSY,   /* a command is in flight */
	CS_WAIT,   /* ready, waiting for the start or a timer */
	CS_IDLING, /* IDLE accepted, waiting for EXISTS */
	CS_FINISHED,
};

enum conn_role {
	ROLE_WORKER,
	ROLE_IDLER,
	ROLE_APPENDER,
};

struct conn {
	int fd;                 /* socket, -1 when closed */
	unsigned gen;           /* bumped on every close */
	unsigned id;            /* index in the conn table */
	enum conn_state state;  /* where the session is */
	enum conn_role role;    /* what this connection does */
	char *rbuf;             /* unparsed input */
	size_t rlen;            /* bytes in rbuf */
	size_t rcap;            /* size of rbuf, <= RBUF_MAX */
	char *wbuf;             /* pending output */
	size_t wlen;            /* bytes in wbuf */
	size_t woff;            /* bytes of wbuf already sent */
	unsigned tagn;          /* last tag number */
	char tag[16];           /* tag of the command in flight */
	enum cmd_kind kind;     /* command in flight */
	uint64_t sent_ns;       /* when it was queued */
	uint64_t connect_ns;    /* when connect() began */
	uint64_t cycle_ns;      /* when the mixed cycle began */
	int step;               /* position in the mixed cycle */
	int selected;           /* SELECT done at least once */
	int ready;              /* counted in bench.ready */
	uint32_t exists;        /* last EXISTS seen */
	unsigned want_fetch;    /* FETCH responses expected */
	unsigned got_fetch;     /* FETCH responses seen */
	uint32_t prev_uid;      /* mixed: uid appended last cycle */
	uint32_t new_uid;       /* APPENDUID of the last APPEND */
	uint32_t append_exists; /* EXISTS seen during APPEND */
	uint32_t seen_exists;   /* idler: highest EXISTS seen */
	uint64_t rng;           /* per-connection PRNG state */
	unsigned search_word;   /* search: index into mail_words */
	int got_search;         /* search: "* SEARCH" seen */
	uint32_t search_count;  /* search: numbers in it */
};

struct samples {
	uint32_t *v;    /* latencies in microseconds */
	size_t n;       /* samples stored */
	uint64_t count; /* operations counted */
};

struct append_rec {
	uint32_t exists; /* EXISTS this append produced */
	uint64_t ok_ns;  /* when its tagged OK arrived */
};

struct bench {
	const char *host;
	const char *port;
	const char *user;
	const char *pass;
	enum workload wl;
	unsigned nconns;
	double seconds;
	unsigned prefill;
	uint64_t seed;
	int quiet;

	struct sockaddr_storage addr;
	socklen_t addrlen;
	int epfd;
	struct conn *conns;
	unsigned nidlers;
	unsigned ready;  /* connections past setup */
	unsigned failed; /* connections that failed setup */
	int measuring;
	int stop;
	uint64_t setup_ns; /* phase began */
	uint64_t start_ns; /* measured window began */
	uint64_t end_ns;   /* measured window ends */
	uint64_t errors;
	unsigned errors_shown;
	uint64_t mail_seq; /* next generated message */
	char *mail;        /* MAIL_MAX scratch */

	struct samples stats[K_COUNT];
	struct append_rec *appends; /* idle workload */
	size_t nappends;
	uint64_t next_append_ns;
	uint32_t base_exists;
};

static struct bench bench;

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (p == NULL) {
		fprintf(stderr, "imapload: out of memory\n");
		exit(1);
	}
	return p;
}

static void
record(enum cmd_kind k, uint64_t since_ns, uint64_t now)
{
	struct samples *s = &bench.stats[k];

	if (!bench.measuring || since_ns < bench.start_ns)
		return;
	s->count++;
	if (s->v == NULL)
		s->v = xcalloc(SAMPLES_MAX, sizeof(*s->v));
	if (s->n < SAMPLES_MAX) {
		uint64_t us = now > since_ns ? (now - since_ns) / 1000 : 0;

		s->v[s->n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
	}
}

static void conn_close(struct conn *c);
static void conn_start(struct conn *c);

/* Prints the first few errors with the response that caused them. */
static void
conn_error(struct conn *c, const char *what, const char *resp, size_t len)
{
	bench.errors++;
	if (bench.errors_shown >= ERRORS_SHOWN)
		return;
	bench.errors_shown++;
	if (len > 200)
		len = 200;
	while (len > 0 && (resp[len - 1] == '\n' || resp[len - 1] == '\r'))
		len--;
	fprintf(stderr, "imapload: conn %u: %s after %s: %.*s\n", c->id, what,
	        kind_names[c->kind], (int)len, resp ? resp : "");
}

/* Drops the connection after an error; workers come back. */
static void
conn_fail(struct conn *c, const char *what, const char *resp, size_t len)
{
	conn_error(c, what, resp, len);
	conn_close(c);
	/* a failure during setup is not retried: it would not get better */
	if (!bench.measuring) {
		if (!c->ready)
			bench.failed++;
		if (bench.wl == WL_PREFILL)
			bench.stop = 1;
		return;
	}
	if (!bench.stop && c->role == ROLE_WORKER)
		conn_start(c);
}

static void
conn_want_write(struct conn *c, int on)
{
	struct epoll_event ev = {0};

	ev.events = EPOLLIN | (on ? EPOLLOUT : 0);
	ev.data.ptr = c;
	epoll_ctl(bench.epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static int
conn_flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff,
		                 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			conn_want_write(c, 1);
			return 0;
		}
		if (n <= 0)
			return -1;
		c->woff += (size_t)n;
	}
	c->wlen = 0;
	c->woff = 0;
	conn_want_write(c, 0);
	return 0;
}

/* Queues raw bytes; a command never exceeds WBUF_MAX. */
static int
conn_put(struct conn *c, const char *s, size_t n)
{
	if (n > WBUF_MAX - c->wlen)
		return -1;
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
	return 0;
}

/* Sends "TAG " + formatted text + CRLF, plus an optional literal. */
static void
conn_cmd(struct conn *c, enum cmd_kind k, const char *lit, size_t litlen,
         const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;
	int m;

	c->tagn++;
	snprintf(c->tag, sizeof(c->tag), "a%u", c->tagn);
	m = snprintf(line, sizeof(line), "%s ", c->tag);
	va_start(ap, fmt);
	n = vsnprintf(line + m, sizeof(line) - (size_t)m - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - (size_t)m - 2) {
		conn_fail(c, "command too long", fmt, strlen(fmt));
		return;
	}
	memcpy(line + m + n, "\r\n", 2);
	c->kind = k;
	c->sent_ns = now_ns();
	c->want_fetch = 0;
	c->got_fetch = 0;
	c->append_exists = 0;
	c->state = CS_BUSY;
	if (conn_put(c, line, (size_t)(m + n + 2)) < 0 ||
	    (lit != NULL &&
	     (conn_put(c, lit, litlen) < 0 || conn_put(c, "\r\n", 2) < 0))) {
		conn_fail(c, "output overflow", line, (size_t)(m + n));
		return;
	}
	if (conn_flush(c) < 0)
		conn_fail(c, "send failed", strerror(errno),
		          strlen(strerror(errno)));
}

static void
conn_append(struct conn *c)
{
	size_t len = mail_generate(bench.mail_seq++, bench.mail, MAIL_MAX);

	conn_cmd(c, K_APPEND, bench.mail, len, "APPEND INBOX (\\Seen) {%zu+}",
	         len);
}

static void
conn_fetch(struct conn *c)
{
	uint32_t n = c->exists;
	uint32_t a;
	uint32_t b;

	if (n == 0) {
		conn_fail(c, "empty mailbox (use --prefill)", "", 0);
		return;
	}
	switch (rng_below(&c->rng, 3)) {
	case 0:
		a = 1 + (uint32_t)rng_below(&c->rng, n);
		b = a + (uint32_t)rng_below(&c->rng, 20);
		if (b > n)
			b = n;
		conn_cmd(c, K_FETCH_FLAGS, NULL, 0, "FETCH %u:%u (FLAGS)", a,
		         b);
		c->want_fetch = b - a + 1;
		break;
	case 1:
		a = 1 + (uint32_t)rng_below(&c->rng, n);
		conn_cmd(c, K_FETCH_HEADER, NULL, 0,
		         "FETCH %u (RFC822.SIZE BODY.PEEK[HEADER])", a);
		c->want_fetch = 1;
		break;
	default:
		a = 1 + (uint32_t)rng_below(&c->rng, n);
		conn_cmd(c, K_FETCH_BODY, NULL, 0,
		         "FETCH %u (RFC822.SIZE BODY.PEEK[])", a);
		c->want_fetch = 1;
		break;
	}
}

/*
 * SEARCH BODY or TEXT for a word of the generated mail.  The mailbox does
 * not change during the workload, so each (key, word) must give the same
 * number of matches every time: the first answer is remembered and every
 * later one checked against it.
 */
static int search_expect[2][MAIL_NWORDS];

static int parse_u32(const char *p, const char *end, uint32_t *v_r,
                     const char **next_r);

static void
conn_search(struct conn *c)
{
	if (c->exists == 0) {
		conn_fail(c, "empty mailbox (use --prefill)", "", 0);
		return;
	}
	c->search_word = (unsigned)rng_below(&c->rng, MAIL_NWORDS);
	c->got_search = 0;
	c->search_count = 0;
	if (rng_below(&c->rng, 2) == 0)
		conn_cmd(c, K_SEARCH_BODY, NULL, 0, "SEARCH BODY %s",
		         mail_words[c->search_word]);
	else
		conn_cmd(c, K_SEARCH_TEXT, NULL, 0, "SEARCH TEXT %s",
		         mail_words[c->search_word]);
}

/* "* SEARCH n n n": every number must be a message that exists. */
static void
check_search(struct conn *c, const char *skel, size_t slen)
{
	const char *p = skel + 8;
	const char *end = skel + slen;
	uint32_t n;

	while (p < end && *p != '\r' && *p != '\n') {
		if (*p == ' ') {
			p++;
			continue;
		}
		if (parse_u32(p, end, &n, &p) < 0 || n == 0 || n > c->exists) {
			conn_error(c, "SEARCH returned a bad number", skel,
			           slen);
			return;
		}
		c->search_count++;
	}
	c->got_search = 1;
}

static void
search_done(struct conn *c, const char *line, size_t len)
{
	int *expect = &search_expect[c->kind == K_SEARCH_TEXT][c->search_word];
	if (!c->got_search) {
		conn_error(c, "SEARCH without a SEARCH response", line, len);
		return;
	}
	if (*expect == 0)
		*expect = (int)c->search_count + 1;
	else if (*expect != (int)c->search_count + 1)
		conn_error(c, "SEARCH gave a different count than before", line,
		           len);
}

/*
 * Mixed cycle, like a client checking mail: LIST, STATUS, SELECT, read
 * the message it appended last time, delete and expunge it, APPEND a
 * new one.  Only its own messages are touched, so the other sessions
 * expunging in the same mailbox cannot make a check fail.
 */
static void
conn_mixed(struct conn *c)
{
	switch (c->step) {
	case 0:
		c->cycle_ns = now_ns();
		conn_cmd(c, K_LIST, NULL, 0, "LIST \"\" \"*\"");
		break;
	case 1:
		conn_cmd(c, K_STATUS, NULL, 0,
		         "STATUS INBOX (MESSAGES UIDNEXT UNSEEN)");
		break;
	case 2:
		conn_cmd(c, K_SELECT, NULL, 0, "SELECT INBOX");
		break;
	case 3:
		conn_cmd(c, K_FETCH_HEADER, NULL, 0,
		         "UID FETCH %u (RFC822.SIZE BODY.PEEK[HEADER])",
		         c->prev_uid);
		c->want_fetch = 1;
		break;
	case 4:
		conn_cmd(c, K_STORE, NULL, 0, "UID STORE %u +FLAGS (\\Deleted)",
		         c->prev_uid);
		break;
	case 5:
		conn_cmd(c, K_EXPUNGE, NULL, 0, "EXPUNGE");
		break;
	default:
		conn_append(c);
		break;
	}
}

static void
mark_ready(struct conn *c)
{
	if (!c->ready) {
		c->ready = 1;
		bench.ready++;
	}
}

/* Issues the next command of the workload, or parks the connection. */
static void
conn_next(struct conn *c)
{
	if (bench.stop) {
		c->state = CS_FINISHED;
		return;
	}
	if (!c->selected && bench.wl != WL_LOGIN) {
		conn_cmd(c, K_SELECT, NULL, 0, "SELECT INBOX");
		return;
	}
	/* idlers count as ready once IDLE is accepted */
	if (!bench.measuring && bench.wl != WL_PREFILL &&
	    c->role != ROLE_IDLER) {
		mark_ready(c);
		c->state = CS_WAIT;
		return;
	}
	switch (bench.wl) {
	case WL_APPEND:
		conn_append(c);
		break;
	case WL_FETCH:
		conn_fetch(c);
		break;
	case WL_MIXED:
		if (c->step == 3 && c->prev_uid == 0)
			c->step = 6;
		conn_mixed(c);
		break;
	case WL_LOGIN:
		conn_cmd(c, K_LOGOUT, NULL, 0, "LOGOUT");
		break;
	case WL_IDLE:
		if (c->role == ROLE_IDLER) {
			conn_cmd(c, K_IDLE, NULL, 0, "IDLE");
		} else {
			c->state = CS_WAIT;
		}
		break;
	case WL_SEARCH:
		conn_search(c);
		break;
	case WL_PREFILL:
		if (c->exists >= bench.prefill) {
			c->state = CS_FINISHED;
			bench.stop = 1;
		} else {
			conn_append(c);
		}
		break;
	}
}

static int
parse_u32(const char *p, const char *end, uint32_t *v_r, const char **next_r)
{
	uint64_t v = 0;
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			return -1;
		p++;
	}
	if (p == s)
		return -1;
	*v_r = (uint32_t)v;
	if (next_r != NULL)
		*next_r = p;
	return 0;
}

static const char *
find_mem(const char *hay, size_t hlen, const char *needle)
{
	return memmem(hay, hlen, needle, strlen(needle));
}

/*
 * Checks a FETCH response unit.  skel holds its text with each literal
 * replaced by "{N}"; lit/litlen is the last literal's data.
 */
static void
check_fetch(struct conn *c, const char *skel, size_t slen, const char *lit,
            size_t litlen, int has_lit)
{
	const char *p;
	uint32_t size = 0;
	uint32_t n;

	if (c->kind == K_FETCH_FLAGS) {
		if (find_mem(skel, slen, "FLAGS (") == NULL)
			conn_error(c, "FETCH without FLAGS", skel, slen);
		c->got_fetch++;
		return;
	}
	if (c->kind != K_FETCH_HEADER && c->kind != K_FETCH_BODY)
		return; /* unsolicited flag update */
	if (find_mem(skel, slen, "BODY[") == NULL)
		return; /* flag update for another message */
	p = find_mem(skel, slen, "RFC822.SIZE ");
	if (p == NULL || parse_u32(p + 12, skel + slen, &size, NULL) < 0) {
		conn_error(c, "FETCH without RFC822.SIZE", skel, slen);
		return;
	}
	p = find_mem(skel, slen,
	             c->kind == K_FETCH_BODY ? "BODY[] {" : "BODY[HEADER] {");
	if (p == NULL || !has_lit) {
		conn_error(c, "FETCH body not a literal", skel, slen);
		return;
	}
	p = memchr(p, '{', (size_t)(skel + slen - p));
	if (p == NULL || parse_u32(p + 1, skel + slen, &n, NULL) < 0 ||
	    n != litlen) {
		conn_error(c, "bad literal", skel, slen);
		return;
	}
	c->got_fetch++;
	if (c->kind == K_FETCH_BODY && litlen != size) {
		conn_error(c, "BODY[] size != RFC822.SIZE", skel, slen);
	} else if (c->kind == K_FETCH_HEADER &&
	           (litlen > size || litlen < 4 ||
	            memcmp(lit + litlen - 4, "\r\n\r\n", 4) != 0)) {
		conn_error(c, "header literal malformed", skel, slen);
	}
}

/* Idler saw "* n EXISTS": every append up to n is now delivered. */
static void
idler_exists(struct conn *c, uint32_t n, uint64_t now)
{
	size_t i;

	for (i = 0; i < bench.nappends; i++) {
		struct append_rec *a = &bench.appends[i];

		if (a->exists <= c->seen_exists || a->exists > n)
			continue;
		/* EXISTS may beat the appender's OK: latency 0 */
		record(K_IDLE_NOTIFY, a->ok_ns ? a->ok_ns : now, now);
	}
	if (n > c->seen_exists)
		c->seen_exists = n;
}

static void
handle_untagged(struct conn *c, const char *u, size_t len, const char *skel,
                size_t slen, const char *lit, size_t litlen, int has_lit)
{
	const char *p = skel + 2;
	const char *end = skel + slen;
	uint32_t n;

	(void)u;
	(void)len;
	if (slen >= 8 && memcmp(skel, "* SEARCH", 8) == 0) {
		check_search(c, skel, slen);
		return;
	}
	if (parse_u32(p, end, &n, &p) < 0)
		return;
	if (end - p >= 7 && memcmp(p, " EXISTS", 7) == 0) {
		c->exists = n;
		if (c->kind == K_APPEND)
			c->append_exists = n;
		if (c->role == ROLE_IDLER)
			idler_exists(c, n, now_ns());
	} else if (end - p >= 8 && memcmp(p, " EXPUNGE", 8) == 0) {
		if (c->exists > 0)
			c->exists--;
	} else if (end - p >= 7 && memcmp(p, " FETCH ", 7) == 0) {
		check_fetch(c, skel, slen, lit, litlen, has_lit);
	}
}

static void
handle_tagged_ok(struct conn *c, const char *line, size_t len, uint64_t now)
{
	const char *p;

	record(c->kind, c->sent_ns, now);
	switch (c->kind) {
	case K_LOGIN:
		if (bench.wl == WL_LOGIN)
			record(K_CONNECT, c->connect_ns, now);
		break;
	case K_SELECT:
		c->selected = 1;
		break;
	case K_APPEND:
		c->new_uid = 0;
		p = find_mem(line, len, "[APPENDUID ");
		if (p != NULL) {
			p = memchr(p + 11, ' ', (size_t)(line + len - p - 11));
			if (p == NULL ||
			    parse_u32(p + 1, line + len, &c->new_uid, NULL) < 0)
				c->new_uid = 0;
		}
		if (bench.wl == WL_MIXED) {
			if (c->new_uid == 0)
				conn_error(c, "APPEND without APPENDUID", line,
				           len);
			c->prev_uid = c->new_uid;
		}
		if (c->role == ROLE_APPENDER && bench.nappends < MAX_APPENDS) {
			struct append_rec *a = &bench.appends[bench.nappends];

			a->exists = c->append_exists
			                ? c->append_exists
			                : bench.base_exists +
			                      (uint32_t)bench.nappends + 1;
			a->ok_ns = now;
			bench.nappends++;
			/* idlers that already saw it get latency 0 */
			for (unsigned i = 0; i < bench.nconns; i++) {
				struct conn *o = &bench.conns[i];

				if (o->role == ROLE_IDLER &&
				    o->seen_exists >= a->exists)
					record(K_IDLE_NOTIFY, now, now);
			}
		}
		if (c->role != ROLE_APPENDER && bench.wl != WL_PREFILL &&
		    bench.wl != WL_MIXED)
			record(K_CYCLE, c->sent_ns, now);
		break;
	case K_SEARCH_BODY:
	case K_SEARCH_TEXT:
		search_done(c, line, len);
		record(K_CYCLE, c->sent_ns, now);
		break;
	case K_LOGOUT:
		record(K_CYCLE, c->connect_ns, now);
		conn_close(c);
		if (!bench.stop)
			conn_start(c);
		return;
	default:
		break;
	}
	if (c->want_fetch != c->got_fetch)
		conn_error(c, "wrong number of FETCH responses", line, len);
	if (c->kind == K_FETCH_FLAGS || c->kind == K_FETCH_HEADER ||
	    c->kind == K_FETCH_BODY) {
		if (bench.wl == WL_FETCH)
			record(K_CYCLE, c->sent_ns, now);
	}
	if (bench.wl == WL_MIXED && c->selected && c->kind != K_SELECT) {
		c->step++;
		if (c->step > 6) {
			c->step = 0;
			record(K_CYCLE, c->cycle_ns, now);
		}
	} else if (bench.wl == WL_MIXED && c->kind == K_SELECT) {
		if (c->step == 2)
			c->step = 3;
	}
	if (c->role == ROLE_APPENDER && c->kind == K_SELECT)
		bench.base_exists = c->exists;
	if (c->kind == K_DONE) {
		c->state = CS_FINISHED;
		return;
	}
	conn_next(c);
}

/*
 * Finds the end of one response unit in buf: lines joined by literals.
 * Returns its length, 0 if more input is needed, -1 if too big.
 * skel receives the text with literal data left out (bounded).
 */
static ssize_t
unit_end(const char *buf, size_t len, char *skel, size_t scap, size_t *slen_r,
         size_t *litoff_r, size_t *litlen_r, int *has_lit_r)
{
	size_t pos = 0;
	size_t slen = 0;

	*has_lit_r = 0;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t eol;
		size_t copy;
		const char *q;
		uint64_t n = 0;
		uint64_t mul = 1;

		if (nl == NULL)
			return len > RBUF_MAX ? -1 : 0;
		eol = (size_t)(nl - buf); /* index of '\n' */
		copy = eol + 1 - pos;
		if (copy > scap - slen)
			copy = scap - slen;
		memcpy(skel + slen, buf + pos, copy);
		slen += copy;
		q = nl - 1;
		if (q >= buf + pos && *q == '\r')
			q--;
		if (q < buf + pos || *q != '}') {
			*slen_r = slen;
			return (ssize_t)(eol + 1);
		}
		q--;
		while (q >= buf + pos && *q >= '0' && *q <= '9') {
			n += (uint64_t)(*q - '0') * mul;
			mul *= 10;
			if (mul > 10000000000ull)
				return -1;
			q--;
		}
		if (q < buf + pos || *q != '{' || mul == 1) {
			*slen_r = slen;
			return (ssize_t)(eol + 1);
		}
		if (n > RBUF_MAX)
			return -1;
		if (len - (eol + 1) < n)
			return 0;
		*has_lit_r = 1;
		*litoff_r = eol + 1;
		*litlen_r = (size_t)n;
		pos = eol + 1 + (size_t)n;
	}
}

static void
handle_unit(struct conn *c, const char *u, size_t len, const char *skel,
            size_t slen, const char *lit, size_t litlen, int has_lit)
{
	uint64_t now = now_ns();
	size_t tl = strlen(c->tag);

	if (c->state == CS_GREETING) {
		if (len < 4 || memcmp(u, "* OK", 4) != 0) {
			conn_fail(c, "bad greeting", u, len);
			return;
		}
		conn_cmd(c, K_LOGIN, NULL, 0, "LOGIN \"%s\" \"%s\"", bench.user,
		         bench.pass);
		return;
	}
	if (len >= 2 && u[0] == '*' && u[1] == ' ') {
		if (len >= 5 && memcmp(u, "* BYE", 5) == 0 &&
		    c->kind == K_LOGOUT)
			return;
		if (len >= 5 && memcmp(u, "* BYE", 5) == 0) {
			conn_fail(c, "server said BYE", u, len);
			return;
		}
		handle_untagged(c, u, len, skel, slen, lit, litlen, has_lit);
		return;
	}
	if (len >= 1 && u[0] == '+') {
		if (c->kind == K_IDLE && c->state == CS_BUSY) {
			c->state = CS_IDLING;
			record(K_IDLE, c->sent_ns, now);
			mark_ready(c);
			return;
		}
		conn_error(c, "unexpected continuation", u, len);
		return;
	}
	if (c->state != CS_BUSY && c->state != CS_IDLING) {
		conn_error(c, "unexpected tagged response", u, len);
		return;
	}
	if (len > tl && memcmp(u, c->tag, tl) == 0 && u[tl] == ' ') {
		if (len >= tl + 3 && memcmp(u + tl + 1, "OK", 2) == 0) {
			handle_tagged_ok(c, u, len, now);
			return;
		}
		conn_fail(c, "command failed", u, len);
		return;
	}
	conn_error(c, "unknown response", u, len);
}

static void
conn_read(struct conn *c)
{
	char skel[4096];

	for (;;) {
		ssize_t n;

		if (c->rcap - c->rlen < 65536 && c->rcap < RBUF_MAX + 65536) {
			size_t ncap = c->rcap * 2;
			char *nb;

			if (ncap > RBUF_MAX + 65536)
				ncap = RBUF_MAX + 65536;
			nb = realloc(c->rbuf, ncap);
			if (nb == NULL) {
				conn_fail(c, "out of memory", "", 0);
				return;
			}
			c->rbuf = nb;
			c->rcap = ncap;
		}
		n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			if (c->kind == K_LOGOUT || bench.stop) {
				conn_close(c);
				return;
			}
			conn_fail(c, "connection closed",
			          n < 0 ? strerror(errno) : "EOF", 3);
			return;
		}
		c->rlen += (size_t)n;
		for (;;) {
			size_t slen = 0;
			size_t litoff = 0;
			size_t litlen = 0;
			int has_lit = 0;
			ssize_t u =
			    unit_end(c->rbuf, c->rlen, skel, sizeof(skel),
			             &slen, &litoff, &litlen, &has_lit);
			unsigned gen = c->gen;

			if (u < 0) {
				conn_fail(c, "response too big", c->rbuf,
				          c->rlen);
				return;
			}
			if (u == 0)
				break;
			handle_unit(c, c->rbuf, (size_t)u, skel, slen,
			            c->rbuf + litoff, litlen, has_lit);
			if (c->gen != gen)
				return; /* closed or reconnected */
			memmove(c->rbuf, c->rbuf + u, c->rlen - (size_t)u);
			c->rlen -= (size_t)u;
		}
	}
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(bench.epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->gen++;
	c->state = CS_CLOSED;
	c->rlen = 0;
	c->wlen = 0;
	c->woff = 0;
}

static void
conn_start(struct conn *c)
{
	struct epoll_event ev = {0};
	int one = 1;

	c->fd = socket(bench.addr.ss_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		conn_error(c, "socket", strerror(errno),
		           strlen(strerror(errno)));
		bench.stop = 1;
		return;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->connect_ns = now_ns();
	c->kind = K_CONNECT;
	c->selected = 0;
	c->exists = 0;
	c->step = 0;
	c->prev_uid = 0;
	c->seen_exists = 0;
	c->state = CS_CONNECTING;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(bench.epfd, EPOLL_CTL_ADD, c->fd, &ev);
	if (connect(c->fd, (struct sockaddr *)&bench.addr, bench.addrlen) < 0 &&
	    errno != EINPROGRESS) {
		bench.errors++;
		conn_close(c);
		bench.stop = 1;
		fprintf(stderr, "imapload: connect: %s\n", strerror(errno));
	}
}

static void
conn_event(struct conn *c, uint32_t events)
{
	if (c->state == CS_CONNECTING) {
		int err = 0;
		socklen_t el = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
		if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			conn_fail(c, "connect failed", strerror(err),
			          strlen(strerror(err)));
			return;
		}
		c->state = CS_GREETING;
		conn_want_write(c, 0);
	}
	if ((events & EPOLLOUT) && c->wlen > 0 && conn_flush(c) < 0) {
		conn_fail(c, "send failed", "", 0);
		return;
	}
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
}

/* Starts the measured window once every connection is set up. */
static void
maybe_start(uint64_t now)
{
	unsigned i;

	if (bench.measuring || bench.wl == WL_PREFILL)
		return;
	if (bench.ready + bench.failed < bench.nconns &&
	    now - bench.setup_ns < SETUP_NS)
		return;
	if (bench.ready == 0) {
		fprintf(stderr, "imapload: no connection got through setup\n");
		bench.errors++;
		bench.stop = 1;
		return;
	}
	if (bench.ready < bench.nconns) {
		fprintf(stderr, "imapload: only %u of %u connections ready\n",
		        bench.ready, bench.nconns);
		bench.errors++;
	}
	bench.measuring = 1;
	bench.start_ns = now;
	bench.end_ns = now + (uint64_t)(bench.seconds * 1e9);
	bench.next_append_ns = now;
	for (i = 0; i < bench.nconns; i++) {
		struct conn *c = &bench.conns[i];

		if (c->state == CS_WAIT && c->role == ROLE_WORKER)
			conn_next(c);
	}
}

static void
appender_tick(uint64_t now)
{
	unsigned i;

	if (!bench.measuring || now < bench.next_append_ns)
		return;
	for (i = 0; i < bench.nconns; i++) {
		struct conn *c = &bench.conns[i];

		if (c->role == ROLE_APPENDER && c->state == CS_WAIT) {
			bench.next_append_ns += APPEND_EVERY_NS;
			if (bench.next_append_ns < now)
				bench.next_append_ns = now + APPEND_EVERY_NS;
			conn_append(c);
		}
	}
}

static int
resolve(void)
{
	struct addrinfo hints = {0};
	struct addrinfo *res = NULL;
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(bench.host, bench.port, &hints, &res);
	if (rc != 0 || res == NULL) {
		fprintf(stderr, "imapload: %s:%s: %s\n", bench.host, bench.port,
		        gai_strerror(rc));
		return -1;
	}
	memcpy(&bench.addr, res->ai_addr, res->ai_addrlen);
	bench.addrlen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a;
	uint32_t y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct_ms(struct samples *s, double p)
{
	size_t i;

	if (s->n == 0)
		return 0;
	i = (size_t)(p * (double)(s->n - 1) + 0.5);
	return (double)s->v[i] / 1000.0;
}

static double
tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Runs one phase (prefill or a workload) to its end. */
static void
run_phase(enum workload wl, unsigned nconns)
{
	struct epoll_event evs[256];
	unsigned i;

	bench.wl = wl;
	bench.nconns = nconns;
	bench.ready = 0;
	bench.failed = 0;
	bench.measuring = 0;
	bench.stop = 0;
	bench.setup_ns = now_ns();
	bench.nappends = 0;
	for (i = 0; i < nconns; i++) {
		struct conn *c = &bench.conns[i];

		c->id = i;
		c->fd = -1;
		c->ready = 0;
		c->tagn = 0;
		c->rng = bench.seed * 1000003 + i + 1;
		c->role = ROLE_WORKER;
		if (wl == WL_IDLE)
			c->role = i == 0 ? ROLE_APPENDER : ROLE_IDLER;
		conn_start(c);
	}
	bench.nidlers = wl == WL_IDLE ? nconns - 1 : 0;
	while (!bench.stop) {
		int n = epoll_wait(bench.epfd, evs, 256, 5);
		uint64_t now;

		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c->fd >= 0)
				conn_event(c, evs[k].events);
		}
		now = now_ns();
		maybe_start(now);
		if (wl == WL_IDLE)
			appender_tick(now);
		if (bench.measuring && now >= bench.end_ns)
			bench.stop = 1;
	}
	for (i = 0; i < nconns; i++)
		conn_close(&bench.conns[i]);
}

static void
report(struct rusage *r0, struct rusage *r1)
{
	double secs = (double)(bench.end_ns - bench.start_ns) / 1e9;
	double cpu = tv_sec(r1->ru_utime) - tv_sec(r0->ru_utime) +
	             tv_sec(r1->ru_stime) - tv_sec(r0->ru_stime);
	struct samples *cyc = &bench.stats[K_CYCLE];
	uint64_t missed = 0;
	unsigned missing_idlers = 0;
	unsigned i;
	int k;

	printf("workload %s: %u connections, %.1f s measured\n",
	       workload_names[bench.wl], bench.nconns, secs);
	printf("%-14s %9s %10s %9s %9s %9s\n", "command", "count", "ops/s",
	       "p50 ms", "p99 ms", "max ms");
	for (k = 0; k < K_COUNT; k++) {
		struct samples *s = &bench.stats[k];

		if (s->count == 0)
			continue;
		qsort(s->v, s->n, sizeof(*s->v), cmp_u32);
		printf("%-14s %9llu %10.1f %9.2f %9.2f %9.2f\n", kind_names[k],
		       (unsigned long long)s->count, (double)s->count / secs,
		       pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 1.0));
	}
	if (bench.wl == WL_IDLE) {
		/* appends confirmed at least 1 s before the end */
		uint32_t want = 0;

		for (size_t a = 0; a < bench.nappends; a++) {
			if (bench.appends[a].ok_ns + 1000000000ull <=
			    bench.end_ns)
				want = bench.appends[a].exists;
		}
		for (i = 0; i < bench.nconns; i++) {
			struct conn *c = &bench.conns[i];
			uint64_t m = 0;

			if (c->role != ROLE_IDLER)
				continue;
			for (size_t a = 0; a < bench.nappends; a++) {
				uint32_t e = bench.appends[a].exists;

				if (e <= want && e > c->seen_exists)
					m++;
			}
			missed += m;
			missing_idlers += m > 0;
		}
		printf("idle: %zu appends, %u idlers, %llu notifications "
		       "missed, %u idlers missed at least one\n",
		       bench.nappends, bench.nidlers,
		       (unsigned long long)missed, missing_idlers);
	}
	printf("errors: %llu\n", (unsigned long long)bench.errors);
	printf("imapload CPU: %.2f s (%.0f%% of one core)\n", cpu,
	       secs > 0 ? 100.0 * cpu / secs : 0);
	printf("RESULT workload=%s conns=%u secs=%.2f ops=%llu "
	       "ops_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
	       "errors=%llu cpu_s=%.2f",
	       workload_names[bench.wl], bench.nconns, secs,
	       (unsigned long long)cyc->count,
	       secs > 0 ? (double)cyc->count / secs : 0, pct_ms(cyc, 0.5),
	       pct_ms(cyc, 0.99), pct_ms(cyc, 1.0),
	       (unsigned long long)bench.errors, cpu);
	if (bench.wl == WL_IDLE) {
		struct samples *s = &bench.stats[K_IDLE_NOTIFY];

		printf(" notify_p50_ms=%.2f notify_p99_ms=%.2f "
		       "notify_max_ms=%.2f appends=%zu missed=%llu "
		       "idlers_missed=%u",
		       pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 1.0),
		       bench.nappends, (unsigned long long)missed,
		       missing_idlers);
	}
	printf("\n");
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: imapload [--host H] [--port P] [--user U] "
	        "[--pass P]\n"
	        "                --workload append|fetch|mixed|login|idle\n"
	        "                [--connections N] [--seconds S] "
	        "[--prefill N] [--seed N]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	/* One fd per connection: take all the hard limit allows. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	static const struct option opts[] = {
	    {"host", required_argument, NULL, 'h'},
	    {"port", required_argument, NULL, 'p'},
	    {"user", required_argument, NULL, 'u'},
	    {"pass", required_argument, NULL, 'P'},
	    {"workload", required_argument, NULL, 'w'},
	    {"connections", required_argument, NULL, 'c'},
	    {"seconds", required_argument, NULL, 's'},
	    {"prefill", required_argument, NULL, 'f'},
	    {"seed", required_argument, NULL, 'S'},
	    {NULL, 0, NULL, 0},
	};
	struct rusage r0;
	struct rusage r1;
	const char *wl = NULL;
	enum workload w = WL_APPEND;
	unsigned nconns;
	int o;
	int i;

	bench.host = "127.0.0.1";
	bench.port = "143";
	bench.user = "alice";
	bench.pass = "alicepw";
	bench.nconns = 10;
	bench.seconds = 10;
	bench.seed = 1;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			bench.host = optarg;
			break;
		case 'p':
			bench.port = optarg;
			break;
		case 'u':
			bench.user = optarg;
			break;
		case 'P':
			bench.pass = optarg;
			break;
		case 'w':
			wl = optarg;
			break;
		case 'c':
			bench.nconns = (unsigned)atoi(optarg);
			break;
		case 's':
			bench.seconds = atof(optarg);
			break;
		case 'f':
			bench.prefill = (unsigned)atoi(optarg);
			break;
		case 'S':
			bench.seed = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (wl == NULL)
		usage();
	for (i = 0; i < WL_PREFILL; i++) {
		if (strcmp(wl, workload_names[i]) == 0)
			break;
	}
	if (i == WL_PREFILL)
		usage();
	w = (enum workload)i;
	if (bench.nconns < 1 || bench.nconns > MAX_CONNS ||
	    (w == WL_IDLE && bench.nconns > MAX_CONNS - 1) ||
	    !(bench.seconds > 0 && bench.seconds < 86400) ||
	    strlen(bench.user) > 200 || strlen(bench.pass) > 200 ||
	    strpbrk(bench.user, "\"\\") || strpbrk(bench.pass, "\"\\"))
		usage();
	if (resolve() < 0)
		return 1;
	bench.epfd = epoll_create1(EPOLL_CLOEXEC);
	bench.conns = xcalloc(MAX_CONNS, sizeof(*bench.conns));
	for (i = 0; i < MAX_CONNS; i++) {
		bench.conns[i].fd = -1;
		bench.conns[i].rcap = 65536;
		bench.conns[i].rbuf = NULL;
	}
	bench.mail = xcalloc(1, MAIL_MAX);
	bench.appends = xcalloc(MAX_APPENDS, sizeof(*bench.appends));
	bench.mail_seq = bench.seed << 32;
	nconns = bench.nconns;
	if (bench.prefill > 0) {
		bench.conns[0].rbuf = xcalloc(1, 65536);
		bench.conns[0].wbuf = xcalloc(1, WBUF_MAX);
		run_phase(WL_PREFILL, 1);
		if (bench.errors > 0) {
			fprintf(stderr, "imapload: prefill failed\n");
			printf("RESULT workload=%s errors=%llu "
			       "prefill=failed\n",
			       wl, (unsigned long long)bench.errors);
			return 1;
		}
		if (!bench.quiet)
			fprintf(stderr, "imapload: INBOX has >= %u messages\n",
			        bench.prefill);
	}
	/* idle: one appender plus N idlers */
	bench.nconns = nconns + (w == WL_IDLE);
	for (i = 0; i < (int)bench.nconns; i++) {
		if (bench.conns[i].rbuf == NULL)
			bench.conns[i].rbuf = xcalloc(1, 65536);
		if (bench.conns[i].wbuf == NULL)
			bench.conns[i].wbuf = xcalloc(1, WBUF_MAX);
	}
	getrusage(RUSAGE_SELF, &r0);
	run_phase(w, bench.nconns);
	getrusage(RUSAGE_SELF, &r1);
	report(&r0, &r1);
	return bench.errors > 0 ? 1 : 0;
}
