/*
 * imapload: IMAP load generator.
 *
 * One epoll loop drives N non-blocking connections.  Each logs in,
 * selects INBOX and runs a workload, checking every response: the
 * tagged status, the number of FETCH responses, literal sizes against
 * RFC822.SIZE.  Prints ops/s and latency percentiles per command, the
 * error count and its own CPU time, then machine-readable RESULT lines.
 *
 * TLS (--tls: implicit, --starttls) runs over OpenSSL with non-blocking
 * handshakes in the same loop.  Nothing is verified (the servers under
 * test use self-signed certificates); only that the handshake completed
 * with TLS 1.2 or 1.3.  --tls-resume offers each connection slot's last
 * session again, as a phone that reconnects does.
 *
 * authstorm: each connection logs in as the next of --users accounts
 * (u1..uN, --password-pattern), logs out and reconnects, so that with
 * the server's login cache off every login costs a password hash; the
 * --probes extra sessions of --user sit in INBOX sending NOOPs (back to
 * back, or one per --probe-interval), and their latency shows what the
 * storm does to everyone else.
 *
 * lmtp: the connections speak LMTP (RFC 2033) to --lmtp-port instead:
 * LHLO, then transactions back to back, each MAIL FROM, --rcpts RCPT TO
 * and DATA (in one write when the server lists PIPELINING, RFC 2920;
 * one by one otherwise or with --lmtp-lockstep), then a generated
 * message.  Every reply is checked: 250 to MAIL and to each RCPT, 354
 * to DATA, 250 per accepted recipient after the final dot.  A message
 * counts once; deliveries are its 250s after the dot.  Recipient k of
 * message m is --rcpt-pattern with "%d" = 1 + (m + k) % --rcpt-users.
 *
 * idlelmtp: idle, but the new message comes through LMTP: one LMTP
 * connection delivers to --user every 100 ms, and the latency runs from
 * its 250 after the dot to each idler's EXISTS.  With --idle-users N the
 * idlers are spread over N users instead: idler i logs in as
 * --user-pattern / --password-pattern with "%d" = 1 + i % N, and message
 * m goes to --rcpt-pattern with "%d" = 1 + m % N, so that each delivery
 * reaches only its recipient's idlers; every user's INBOX counts its own
 * EXISTS.
 *
 * Build: cc -O2 -std=c17 -D_GNU_SOURCE -o build/bench/imapload \
 *        bench/imapload.c -lssl -lcrypto
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mailgen.c"
#include "lmtp.c"

#define MAX_CONNS       19000        /* the sandbox allows 20000 fds */
#define RBUF_MAX        (8u << 20)   /* largest response unit accepted */
#define WBUF_MAX        (256u << 10) /* largest command, literal included */
#define SAMPLES_MAX     (1u << 22)   /* latency samples kept per command */
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
	WL_AUTHSTORM,
	WL_LMTP,
	WL_IDLELMTP,
	WL_PREFILL,
};

static const char *const workload_names[] = {
    "append", "fetch",     "mixed", "login",    "idle",
    "search", "authstorm", "lmtp",  "idlelmtp", "prefill",
};

enum tls_mode {
	TLS_NONE,
	TLS_IMPLICIT, /* handshake right after connect (port 993) */
	TLS_STARTTLS, /* greeting, STARTTLS, then the handshake */
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
	K_STARTTLS,
	K_NOOP, /* authstorm probes */
	K_TLS,  /* not a command: ClientHello to handshake done */
	K_LHLO,
	K_LMTP_ENVELOPE, /* MAIL FROM to the 354 after DATA */
	K_LMTP_CONTENT,  /* message sent to its last reply */
	K_COUNT,
};

static const char *const kind_names[] = {
    "connect",       "LOGIN",        "SELECT",        "APPEND",
    "FETCH FLAGS",   "FETCH HEADER", "FETCH BODY[]",  "LIST",
    "STATUS",        "STORE",        "EXPUNGE",       "LOGOUT",
    "IDLE",          "DONE",         "SEARCH BODY",   "SEARCH TEXT",
    "idle-notify",   "cycle",        "STARTTLS",      "probe NOOP",
    "TLS handshake", "LHLO",         "LMTP envelope", "LMTP content",
};

static_assert(sizeof(kind_names) / sizeof(kind_names[0]) == K_COUNT,
              "one name per kind");

enum conn_state {
	CS_CLOSED,
	CS_CONNECTING,
	CS_HANDSHAKE, /* TLS handshake in progress */
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
	ROLE_PROBE,     /* authstorm: logged in once, in INBOX, sends NOOPs */
	ROLE_DELIVERER, /* idlelmtp: delivers to --user through LMTP */
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
	unsigned idle_user;     /* idlelmtp --idle-users: its k, else 0 */
	uint64_t rng;           /* per-connection PRNG state */
	unsigned search_word;   /* search: index into mail_words */
	int got_search;         /* search: "* SEARCH" seen */
	uint32_t search_count;  /* search: numbers in it */
	SSL *ssl;               /* TLS state, NULL while plaintext */
	SSL_SESSION *session;   /* --tls-resume: this slot's last session */
	int tls_up;             /* handshake completed */
	int tls_dead;           /* fatal TLS error: send no close_notify */
	uint64_t tls_ns;        /* when the handshake began */
	uint64_t probe_ns;      /* probe: when the next NOOP is due */
	struct lmtp_txn lmtp;   /* LMTP connections: the session */
};

struct samples {
	uint32_t *v;    /* latencies in microseconds */
	size_t n;       /* samples stored */
	uint64_t count; /* operations counted */
};

struct append_rec {
	uint32_t exists; /* EXISTS this append produced */
	uint64_t ok_ns;  /* when its tagged OK arrived */
	unsigned user;   /* --idle-users: recipient k, else 0 */
	size_t prev;     /* --idle-users: user's previous push + 1, 0: none */
};

/* --idle-users: one recipient's INBOX. */
struct idle_user {
	uint32_t base;  /* EXISTS at its idlers' SELECT */
	uint32_t count; /* deliveries confirmed */
	size_t last;    /* its newest push in bench.appends + 1, 0: none */
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
	enum tls_mode tls;        /* --tls / --starttls */
	int tls_resume;           /* --tls-resume */
	unsigned nusers;          /* authstorm: --users */
	const char *user_pattern; /* authstorm: --user-pattern, one %d */
	const char *pass_pattern; /* authstorm: --password-pattern */
	unsigned nprobes;         /* authstorm: --probes */
	double probe_interval_ms; /* authstorm: NOOP pace, 0 back to back */
	double setup_seconds;     /* --setup-seconds: longest setup */
	double ramp;              /* --ramp: connections opened per second
	                           * during setup, 0 all at once */
	const char *lmtp_port;    /* --lmtp-port: lmtp and idlelmtp */
	unsigned nrcpts;          /* lmtp: --rcpts per message */
	unsigned rcpt_users;      /* lmtp: --rcpt-users to rotate over */
	const char *rcpt_pattern; /* lmtp: --rcpt-pattern, one %d */
	int lmtp_lockstep;        /* --lmtp-lockstep: never pipeline */
	unsigned idle_users;      /* idlelmtp: --idle-users, 0: all --user */
	struct idle_user *users;  /* --idle-users: [1..N] */

	struct sockaddr_storage addr; /* --host, --port */
	socklen_t addrlen;
	struct sockaddr_storage lmtp_addr; /* --host, --lmtp-port */
	socklen_t lmtp_addrlen;
	int epfd;
	struct conn *conns;
	unsigned nidlers;
	unsigned started; /* connections opened so far in this phase */
	unsigned ready;   /* connections past setup */
	unsigned failed;  /* connections that failed setup */
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

	SSL_CTX *ssl_ctx;    /* NULL without TLS */
	uint64_t next_user;  /* authstorm: next u<k>, k = 1 + n % nusers */
	uint64_t handshakes; /* completed in the measured window */
	uint64_t resumed;    /* of those, resumed sessions */
	uint64_t tls13;      /* handshakes at TLS 1.3, setup included */
	uint64_t tls12;      /* at TLS 1.2 */
	char tls_error[256]; /* last TLS failure, for conn_fail */
	uint64_t next_rcpt;  /* lmtp: messages begun, picks recipients */
	uint64_t deliveries; /* lmtp: 250s after the dot, in the window */
	int lmtp_pipelining; /* the last LHLO listed PIPELINING */
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
	if (!bench.stop && (c->role == ROLE_WORKER || c->role == ROLE_PROBE))
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

/* Keeps OpenSSL's reason for a failure of c (and empties its queue). */
static const char *
tls_note_error(struct conn *c, int ssl_err)
{
	unsigned long e = ERR_get_error();

	c->tls_dead = 1;
	if (e != 0)
		ERR_error_string_n(e, bench.tls_error, sizeof(bench.tls_error));
	else if (ssl_err == SSL_ERROR_SYSCALL && errno != 0)
		snprintf(bench.tls_error, sizeof(bench.tls_error), "%s",
		         strerror(errno));
	else
		snprintf(bench.tls_error, sizeof(bench.tls_error),
		         "SSL error %d", ssl_err);
	ERR_clear_error();
	return bench.tls_error;
}

/*
 * Writes up to n bytes, through TLS once it is up.  Returns the bytes
 * written, 0 if the socket is full, -1 on failure (the reason in errno,
 * or in bench.tls_error once c->tls_dead is set).
 */
static ssize_t
conn_write_some(struct conn *c, const char *p, size_t n)
{
	ssize_t r;
	int e;

	if (c->ssl == NULL) {
		do
			r = send(c->fd, p, n, MSG_NOSIGNAL);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return r > 0 ? r : -1;
	}
	ERR_clear_error();
	r = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, (int)r);
	/* WANT_READ: conn_event retries TLS output on every event */
	if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
		return 0;
	tls_note_error(c, e);
	return -1;
}

/*
 * Reads up to n bytes.  Returns the bytes read, 0 at the end of the
 * stream, -1 on failure, -2 if nothing is there yet.
 */
static ssize_t
conn_read_some(struct conn *c, char *p, size_t n)
{
	ssize_t r;
	int e;

	if (c->ssl == NULL) {
		do
			r = recv(c->fd, p, n, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -2;
		return r;
	}
	ERR_clear_error();
	r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r > 0)
		return r;
	e = SSL_get_error(c->ssl, (int)r);
	if (e == SSL_ERROR_WANT_READ)
		return -2;
	if (e == SSL_ERROR_WANT_WRITE) { /* a key update to answer */
		conn_want_write(c, 1);
		return -2;
	}
	if (e == SSL_ERROR_ZERO_RETURN) /* close_notify, or a bare EOF */
		return 0;
	tls_note_error(c, e);
	return -1;
}

/* The reason for the last failed read or write of c. */
static const char *
conn_io_error(const struct conn *c)
{
	return c->tls_dead ? bench.tls_error : strerror(errno);
}

static int
conn_flush(struct conn *c)
{
	while (c->woff < c->wlen) {
		ssize_t n =
		    conn_write_some(c, c->wbuf + c->woff, c->wlen - c->woff);

		if (n == 0) {
			conn_want_write(c, 1);
			return 0;
		}
		if (n < 0)
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
		conn_fail(c, "send failed", conn_io_error(c),
		          strlen(conn_io_error(c)));
}

/* Writes pattern with its "%d" (if any) replaced by k. */
static void
expand_pattern(const char *pattern, unsigned k, char *out, size_t cap)
{
	const char *d = strstr(pattern, "%d");

	if (d == NULL)
		snprintf(out, cap, "%s", pattern);
	else
		snprintf(out, cap, "%.*s%u%s", (int)(d - pattern), pattern, k,
		         d + 2);
}

/*
 * LOGIN as --user, or for an authstorm worker as the next of the --users
 * accounts, so that with the server's login cache off every LOGIN costs
 * a password hash.
 */
static void
conn_login(struct conn *c)
{
	char user[256];
	char pass[256];

	if (bench.wl == WL_AUTHSTORM && c->role == ROLE_WORKER) {
		unsigned k = (unsigned)(bench.next_user++ % bench.nusers) + 1;

		expand_pattern(bench.user_pattern, k, user, sizeof(user));
		expand_pattern(bench.pass_pattern, k, pass, sizeof(pass));
	} else if (c->idle_user != 0) {
		expand_pattern(bench.user_pattern, c->idle_user, user,
		               sizeof(user));
		expand_pattern(bench.pass_pattern, c->idle_user, pass,
		               sizeof(pass));
	} else {
		snprintf(user, sizeof(user), "%s", bench.user);
		snprintf(pass, sizeof(pass), "%s", bench.pass);
	}
	conn_cmd(c, K_LOGIN, NULL, 0, "LOGIN \"%s\" \"%s\"", user, pass);
}

/* --tls-resume: keeps the newest session (TLS 1.3 tickets come late). */
static int
tls_new_session(SSL *ssl, SSL_SESSION *sess)
{
	struct conn *c = SSL_get_app_data(ssl);

	if (c == NULL)
		return 0;
	if (c->session != NULL)
		SSL_SESSION_free(c->session);
	c->session = sess;
	return 1; /* the reference is ours now */
}

static int
tls_init(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return -1;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* a benchmark of self-signed servers: nothing to verify against */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	/* conn_flush resends from a buffer that only grows at its end;
	 * idle connections give their record buffers back */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
	                          SSL_MODE_RELEASE_BUFFERS);
	/* a server closing after LOGOUT without close_notify is no error */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	if (bench.tls_resume) {
		/* no internal store: SSL_free must not mark sessions
		 * unresumable, and each slot keeps only its own */
		SSL_CTX_set_session_cache_mode(
		    ctx,
		    SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
		SSL_CTX_sess_set_new_cb(ctx, tls_new_session);
	} else {
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	}
	bench.ssl_ctx = ctx;
	return 0;
}

static void conn_read(struct conn *c);

/* The handshake is done: check it, count it, go on with IMAP. */
static void
conn_tls_done(struct conn *c)
{
	int version = SSL_version(c->ssl);

	if (version != TLS1_3_VERSION && version != TLS1_2_VERSION) {
		conn_fail(c, "TLS version below 1.2", SSL_get_version(c->ssl),
		          strlen(SSL_get_version(c->ssl)));
		return;
	}
	c->tls_up = 1;
	if (version == TLS1_3_VERSION)
		bench.tls13++;
	else
		bench.tls12++;
	if (bench.measuring && c->tls_ns >= bench.start_ns) {
		bench.handshakes++;
		bench.resumed += SSL_session_reused(c->ssl) == 1;
	}
	record(K_TLS, c->tls_ns, now_ns());
	conn_want_write(c, 0);
	if (bench.tls == TLS_STARTTLS) {
		conn_login(c); /* RFC 9051 6.2.1: no new greeting */
		return;
	}
	c->state = CS_GREETING;
	conn_read(c); /* the greeting may be buffered already */
}

/* Drives the non-blocking handshake one step. */
static void
conn_tls_step(struct conn *c)
{
	int rc;
	int e;

	ERR_clear_error();
	rc = SSL_connect(c->ssl);
	if (rc == 1) {
		conn_tls_done(c);
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		conn_want_write(c, e == SSL_ERROR_WANT_WRITE);
		return;
	}
	tls_note_error(c, e);
	conn_fail(c, "TLS handshake failed", bench.tls_error,
	          strlen(bench.tls_error));
}

static void
conn_tls_begin(struct conn *c)
{
	c->ssl = SSL_new(bench.ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		tls_note_error(c, SSL_ERROR_SSL);
		conn_fail(c, "SSL_new failed", bench.tls_error,
		          strlen(bench.tls_error));
		return;
	}
	SSL_set_app_data(c->ssl, c);
	if (bench.tls_resume && c->session != NULL)
		SSL_set_session(c->ssl, c->session);
	c->tls_ns = now_ns();
	c->state = CS_HANDSHAKE;
	conn_tls_step(c);
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

/* A probe's NOOP; with --probe-interval the next one is due so long
 * after this one was sent, however long it took. */
static void
probe_noop(struct conn *c)
{
	uint64_t now = now_ns();

	c->probe_ns = now + (uint64_t)(bench.probe_interval_ms * 1e6);
	conn_cmd(c, K_NOOP, NULL, 0, "NOOP");
}

/* --probe-interval: sends the NOOPs that are due. */
static void
probe_tick(uint64_t now)
{
	for (unsigned i = 0; i < bench.nprobes && i < bench.nconns; i++) {
		struct conn *c = &bench.conns[i];

		if (bench.measuring && c->role == ROLE_PROBE &&
		    c->state == CS_WAIT && now >= c->probe_ns)
			probe_noop(c);
	}
}

/* Does c speak LMTP (and not IMAP)? */
static int
conn_is_lmtp(const struct conn *c)
{
	return bench.wl == WL_LMTP || c->role == ROLE_DELIVERER;
}

static int
is_idle_workload(enum workload w)
{
	return w == WL_IDLE || w == WL_IDLELMTP;
}

/*
 * The idle pusher's message number exists (in user's INBOX: 0 without
 * --idle-users) is confirmed at now (APPEND's tagged OK, or LMTP's 250):
 * that user's idlers that saw it already get latency 0.
 */
static void
push_confirmed(uint32_t exists, unsigned user, uint64_t now)
{
	struct append_rec *a;

	if (bench.nappends >= MAX_APPENDS)
		return;
	a = &bench.appends[bench.nappends++];
	a->exists = exists;
	a->ok_ns = now;
	a->user = user;
	a->prev = 0;
	if (user != 0) {
		struct idle_user *u = &bench.users[user];

		a->prev = u->last;
		u->last = bench.nappends;
		u->count++;
	}
	for (unsigned i = 0; i < bench.nconns; i++) {
		struct conn *o = &bench.conns[i];

		if (o->role == ROLE_IDLER && o->idle_user == user &&
		    o->seen_exists >= a->exists)
			record(K_IDLE_NOTIFY, now, now);
	}
}

static void conn_next(struct conn *c);

/* Sends what is queued; a failure drops the connection. */
static void
lmtp_flush(struct conn *c)
{
	if (conn_flush(c) < 0)
		conn_fail(c, "send failed", conn_io_error(c),
		          strlen(conn_io_error(c)));
}

/*
 * Queues the envelope commands not sent yet, up to DATA: all of them
 * with PIPELINING, otherwise the next one once the last is answered.
 */
static void
lmtp_send_envelope(struct conn *c)
{
	struct lmtp_txn *t = &c->lmtp;
	int deliverer = c->role == ROLE_DELIVERER;
	char line[LMTP_LINE_MAX];
	/* the deliverer: --user, or one of the --idle-users */
	int to_user = deliverer && bench.idle_users == 0;
	unsigned nusers = !deliverer ? bench.rcpt_users
	                  : to_user  ? 1
	                             : bench.idle_users;

	/* command nrcpt + 1 is DATA */
	while (t->sent <= t->nrcpt + 1 &&
	       (t->pipelining || t->sent == t->replied)) {
		size_t n = lmtp_envelope_cmd(
		    t, t->sent, to_user ? bench.user : bench.rcpt_pattern,
		    nusers, line, sizeof(line));

		if (n == 0 || conn_put(c, line, n) < 0) {
			conn_fail(c, "output overflow", "", 0);
			return;
		}
		t->sent++;
	}
	lmtp_flush(c);
}

/*
 * Begins a transaction: one recipient for the deliverer (message m to
 * user 1 + m % N with --idle-users N), else --rcpts.
 */
static void
lmtp_begin(struct conn *c)
{
	struct lmtp_txn *t = &c->lmtp;
	int deliverer = c->role == ROLE_DELIVERER;

	t->step = LS_ENVELOPE;
	t->nrcpt = deliverer ? 1 : bench.nrcpts;
	if (!deliverer)
		t->first = (unsigned)(bench.next_rcpt++ % bench.rcpt_users);
	else if (bench.idle_users != 0)
		t->first = (unsigned)(bench.next_rcpt++ % bench.idle_users);
	else
		t->first = 0;
	t->sent = 0;
	t->replied = 0;
	t->accepted = 0;
	t->answered = 0;
	t->delivered = 0;
	t->txn_ns = now_ns();
	t->data_ns = 0;
	c->kind = K_LMTP_ENVELOPE;
	c->sent_ns = t->txn_ns;
	c->state = CS_BUSY;
	lmtp_send_envelope(c);
}

/* Between transactions: wait for the start, a tick, or go on. */
static void
lmtp_next(struct conn *c)
{
	c->lmtp.step = LS_READY;
	if (!bench.measuring) {
		mark_ready(c);
		c->state = CS_WAIT;
	} else if (c->role == ROLE_DELIVERER) {
		c->state = CS_WAIT; /* appender_tick begins the next */
	} else {
		lmtp_begin(c);
	}
}

/* Every reply of the transaction is in. */
static void
lmtp_txn_done(struct conn *c, uint64_t now)
{
	struct lmtp_txn *t = &c->lmtp;

	if (t->data_ns != 0)
		record(K_LMTP_CONTENT, t->data_ns, now);
	if (bench.measuring && t->txn_ns >= bench.start_ns)
		bench.deliveries += t->delivered;
	if (c->role == ROLE_DELIVERER) {
		/* one connection: each user's messages arrive in order */
		if (t->delivered == 1 && bench.idle_users != 0) {
			struct idle_user *u = &bench.users[t->first + 1];

			push_confirmed(u->base + u->count + 1, t->first + 1,
			               now);
		} else if (t->delivered == 1) {
			push_confirmed(bench.base_exists +
			                   (uint32_t)bench.nappends + 1,
			               0, now);
		}
	} else {
		record(K_CYCLE, t->txn_ns, now);
	}
	conn_next(c);
}

/* 354: the message follows, dot-stuffed, with the final dot. */
static void
lmtp_send_content(struct conn *c, uint64_t now)
{
	struct lmtp_txn *t = &c->lmtp;
	size_t len = mail_generate(bench.mail_seq++, bench.mail, MAIL_MAX);
	size_t n = len == 0 ? 0
	                    : lmtp_stuff(bench.mail, len, c->wbuf + c->wlen,
	                                 WBUF_MAX - c->wlen);

	if (n == 0) {
		conn_fail(c, "message does not fit the output buffer", "", 0);
		return;
	}
	c->wlen += n;
	record(K_LMTP_ENVELOPE, t->txn_ns, now);
	t->step = LS_CONTENT;
	t->data_ns = now;
	c->kind = K_LMTP_CONTENT;
	lmtp_flush(c);
}

/* RFC 2033 4.2: with no recipient accepted, DATA must fail with 503. */
static void
lmtp_data_reply(struct conn *c, const struct lmtp_reply *r, const char *line,
                size_t len, uint64_t now)
{
	if (r->code == 354 && c->lmtp.accepted > 0)
		lmtp_send_content(c, now);
	else if (r->code != 354 && c->lmtp.accepted == 0)
		lmtp_txn_done(c, now); /* the refused RCPTs are counted */
	else if (r->code == 354)
		conn_fail(c, "354 to DATA with no recipient", line, len);
	else
		conn_fail(c, "DATA refused", line, len);
}

/* A reply to MAIL FROM, a RCPT TO or DATA, in the order they were sent. */
static void
lmtp_envelope_reply(struct conn *c, const struct lmtp_reply *r,
                    const char *line, size_t len, uint64_t now)
{
	struct lmtp_txn *t = &c->lmtp;
	unsigned i = t->replied;

	if (i >= t->sent) {
		conn_fail(c, "reply to no command", line, len);
		return;
	}
	t->replied++;
	if (i == 0 && r->code != 250) {
		conn_fail(c, "MAIL FROM refused", line, len);
		return;
	}
	if (i > t->nrcpt) {
		lmtp_data_reply(c, r, line, len, now);
		return;
	}
	if (i > 0 && r->code == 250)
		t->accepted++;
	else if (i > 0)
		conn_error(c, "RCPT TO refused", line, len);
	if (!t->pipelining)
		lmtp_send_envelope(c);
}

/* RFC 2033 4.2: one reply per accepted recipient after the dot. */
static void
lmtp_content_reply(struct conn *c, const struct lmtp_reply *r, const char *line,
                   size_t len, uint64_t now)
{
	struct lmtp_txn *t = &c->lmtp;

	t->answered++;
	if (r->code == 250)
		t->delivered++;
	else
		conn_error(c, "delivery refused", line, len);
	if (t->answered == t->accepted)
		lmtp_txn_done(c, now);
}

/* The greeting and LHLO; then the connection is ready. */
static void
lmtp_session_reply(struct conn *c, const struct lmtp_reply *r, const char *line,
                   size_t len, uint64_t now)
{
	struct lmtp_txn *t = &c->lmtp;

	if (t->step == LS_GREETING) {
		if (r->code != 220) {
			conn_fail(c, "bad LMTP greeting", line, len);
			return;
		}
		t->step = LS_LHLO;
		c->kind = K_LHLO;
		c->sent_ns = now;
		c->state = CS_BUSY;
		if (conn_put(c, "LHLO imapload.example.org\r\n", 27) < 0)
			conn_fail(c, "output overflow", "", 0);
		else
			lmtp_flush(c);
		return;
	}
	if (r->code != 250) {
		conn_fail(c, "LHLO refused", line, len);
		return;
	}
	record(K_LHLO, c->sent_ns, now);
	bench.lmtp_pipelining = t->pipelining;
	conn_next(c);
}

/* One reply line on an LMTP connection; only a last line is an answer. */
static void
lmtp_reply(struct conn *c, const char *line, size_t len)
{
	struct lmtp_txn *t = &c->lmtp;
	struct lmtp_reply r;
	uint64_t now = now_ns();

	if (lmtp_parse_reply(line, len, &r) < 0) {
		conn_fail(c, "malformed LMTP reply", line, len);
		return;
	}
	if (r.code == 421) {
		conn_fail(c, "server closing (421)", line, len);
		return;
	}
	if (t->step == LS_LHLO && lmtp_has_extension(&r, "PIPELINING"))
		t->pipelining = !bench.lmtp_lockstep;
	if (!r.last)
		return;
	switch (t->step) {
	case LS_GREETING:
	case LS_LHLO:
		lmtp_session_reply(c, &r, line, len, now);
		break;
	case LS_READY:
		conn_error(c, "LMTP reply to no command", line, len);
		break;
	case LS_ENVELOPE:
		lmtp_envelope_reply(c, &r, line, len, now);
		break;
	case LS_CONTENT:
		lmtp_content_reply(c, &r, line, len, now);
		break;
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
	if (conn_is_lmtp(c)) {
		lmtp_next(c);
		return;
	}
	if (!c->selected && bench.wl != WL_LOGIN &&
	    !(bench.wl == WL_AUTHSTORM && c->role == ROLE_WORKER)) {
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
	case WL_IDLELMTP:
		if (c->role == ROLE_IDLER) {
			conn_cmd(c, K_IDLE, NULL, 0, "IDLE");
		} else {
			c->state = CS_WAIT;
		}
		break;
	case WL_LMTP:
		assert(!"LMTP connections go to lmtp_next");
		break;
	case WL_SEARCH:
		conn_search(c);
		break;
	case WL_AUTHSTORM:
		if (c->role != ROLE_PROBE) {
			conn_cmd(c, K_LOGOUT, NULL, 0, "LOGOUT");
		} else if (bench.probe_interval_ms > 0 &&
		           now_ns() < c->probe_ns) {
			c->state = CS_WAIT; /* probe_tick sends it */
		} else {
			probe_noop(c);
		}
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

/*
 * Idler of --idle-users user k saw "* n EXISTS": every push to k up to n
 * is now delivered.  Its pushes are chained newest first, with EXISTS
 * rising: those above n are not seen yet, and the walk ends at the
 * first this idler had seen.
 */
static void
idler_exists_user(struct conn *c, uint32_t n, uint64_t now)
{
	size_t i = bench.users[c->idle_user].last;

	while (i != 0) {
		struct append_rec *a = &bench.appends[i - 1];

		if (a->exists <= c->seen_exists)
			break;
		if (a->exists <= n)
			record(K_IDLE_NOTIFY, a->ok_ns ? a->ok_ns : now, now);
		i = a->prev;
	}
	if (n > c->seen_exists)
		c->seen_exists = n;
}

/* Idler saw "* n EXISTS": every append up to n is now delivered. */
static void
idler_exists(struct conn *c, uint32_t n, uint64_t now)
{
	size_t i;

	if (c->idle_user != 0) {
		idler_exists_user(c, n, now);
		return;
	}
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
		if (bench.wl == WL_LOGIN ||
		    (bench.wl == WL_AUTHSTORM && c->role == ROLE_WORKER))
			record(K_CONNECT, c->connect_ns, now);
		break;
	case K_STARTTLS:
		conn_tls_begin(c);
		return;
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
		if (c->role == ROLE_APPENDER)
			push_confirmed(c->append_exists
			                   ? c->append_exists
			                   : bench.base_exists +
			                         (uint32_t)bench.nappends + 1,
			               0, now);
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
	/* idlelmtp: nothing is delivered before the window opens, so
	 * every idler's SELECT gives the same count (per user) */
	if (c->kind == K_SELECT && c->idle_user != 0)
		bench.users[c->idle_user].base = c->exists;
	else if (c->kind == K_SELECT &&
	         (c->role == ROLE_APPENDER ||
	          (bench.wl == WL_IDLELMTP && c->role == ROLE_IDLER)))
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

/* LMTP replies are lines: the length of the first, 0 or -1 as unit_end. */
static ssize_t
line_end(const char *buf, size_t len)
{
	const char *nl = memchr(buf, '\n', len);

	if (nl == NULL)
		return len > 65536 ? -1 : 0;
	return nl - buf + 1;
}

static void
handle_unit(struct conn *c, const char *u, size_t len, const char *skel,
            size_t slen, const char *lit, size_t litlen, int has_lit)
{
	uint64_t now = now_ns();
	size_t tl = strlen(c->tag);

	if (conn_is_lmtp(c)) {
		lmtp_reply(c, u, len);
		return;
	}
	if (c->state == CS_GREETING) {
		if (len < 4 || memcmp(u, "* OK", 4) != 0) {
			conn_fail(c, "bad greeting", u, len);
			return;
		}
		if (bench.tls == TLS_STARTTLS && c->ssl == NULL)
			conn_cmd(c, K_STARTTLS, NULL, 0, "STARTTLS");
		else
			conn_login(c);
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
		n = conn_read_some(c, c->rbuf + c->rlen, c->rcap - c->rlen);
		if (n == -2)
			return;
		if (n <= 0) {
			const char *why = n < 0 ? conn_io_error(c) : "EOF";

			if (c->kind == K_LOGOUT || bench.stop) {
				conn_close(c);
				return;
			}
			conn_fail(c, "connection closed", why, strlen(why));
			return;
		}
		c->rlen += (size_t)n;
		for (;;) {
			size_t slen = 0;
			size_t litoff = 0;
			size_t litlen = 0;
			int has_lit = 0;
			ssize_t u =
			    conn_is_lmtp(c)
			        ? line_end(c->rbuf, c->rlen)
			        : unit_end(c->rbuf, c->rlen, skel, sizeof(skel),
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
			if (c->state == CS_HANDSHAKE) {
				/* after STARTTLS: plaintext that followed
				 * the OK is dropped, as a client must */
				c->rlen = 0;
				return;
			}
			memmove(c->rbuf, c->rbuf + u, c->rlen - (size_t)u);
			c->rlen -= (size_t)u;
		}
	}
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		/* one close_notify, unanswered, as clients do; it also
		 * keeps the session resumable */
		if (c->tls_up && !c->tls_dead) {
			ERR_clear_error();
			(void)SSL_shutdown(c->ssl);
		}
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	c->tls_up = 0;
	c->tls_dead = 0;
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
	int lmtp = conn_is_lmtp(c);
	int one = 1;

	c->fd = socket(lmtp ? bench.lmtp_addr.ss_family : bench.addr.ss_family,
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
	c->lmtp = (struct lmtp_txn){.step = LS_GREETING};
	c->state = CS_CONNECTING;
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	epoll_ctl(bench.epfd, EPOLL_CTL_ADD, c->fd, &ev);
	if (connect(c->fd,
	            (struct sockaddr *)(lmtp ? &bench.lmtp_addr : &bench.addr),
	            lmtp ? bench.lmtp_addrlen : bench.addrlen) < 0 &&
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
		if (bench.tls == TLS_IMPLICIT && !conn_is_lmtp(c)) {
			conn_tls_begin(c);
			return;
		}
		c->state = CS_GREETING;
		conn_want_write(c, 0);
	}
	if (c->state == CS_HANDSHAKE) {
		conn_tls_step(c);
		return;
	}
	/* TLS may need to read to write, and the reverse: try both */
	if (c->wlen > 0 && ((events & EPOLLOUT) || c->ssl != NULL) &&
	    conn_flush(c) < 0) {
		conn_fail(c, "send failed", conn_io_error(c),
		          strlen(conn_io_error(c)));
		return;
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->ssl != NULL)
		conn_read(c);
}

/* Opens the connections of the phase, all at once or --ramp a second. */
static void
ramp_tick(uint64_t now)
{
	double due = bench.nconns;

	if (bench.ramp > 0)
		due = 1 + (double)(now - bench.setup_ns) / 1e9 * bench.ramp;
	while (bench.started < bench.nconns && bench.started < due &&
	       !bench.stop)
		conn_start(&bench.conns[bench.started++]);
}

/* Starts the measured window once every connection is set up. */
static void
maybe_start(uint64_t now)
{
	unsigned i;

	if (bench.measuring || bench.wl == WL_PREFILL)
		return;
	if (bench.ready + bench.failed < bench.nconns &&
	    now - bench.setup_ns < (uint64_t)(bench.setup_seconds * 1e9))
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

		if (c->state == CS_WAIT &&
		    (c->role == ROLE_WORKER || c->role == ROLE_PROBE))
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

		if ((c->role == ROLE_APPENDER || c->role == ROLE_DELIVERER) &&
		    c->state == CS_WAIT) {
			bench.next_append_ns += APPEND_EVERY_NS;
			if (bench.next_append_ns < now)
				bench.next_append_ns = now + APPEND_EVERY_NS;
			if (c->role == ROLE_APPENDER)
				conn_append(c);
			else
				lmtp_begin(c);
		}
	}
}

/* Resolves --host and port into addr_r. */
static int
resolve(const char *port, struct sockaddr_storage *addr_r, socklen_t *len_r)
{
	struct addrinfo hints = {0};
	struct addrinfo *res = NULL;
	int rc;

	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(bench.host, port, &hints, &res);
	if (rc != 0 || res == NULL) {
		fprintf(stderr, "imapload: %s:%s: %s\n", bench.host, port,
		        gai_strerror(rc));
		return -1;
	}
	memcpy(addr_r, res->ai_addr, res->ai_addrlen);
	*len_r = res->ai_addrlen;
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
		c->probe_ns = 0;
		c->idle_user = 0;
		if (wl == WL_IDLE)
			c->role = i == 0 ? ROLE_APPENDER : ROLE_IDLER;
		if (wl == WL_IDLELMTP)
			c->role = i == 0 ? ROLE_DELIVERER : ROLE_IDLER;
		/* idler i (connection i + 1) is user 1 + i % N */
		if (wl == WL_IDLELMTP && i > 0 && bench.idle_users != 0)
			c->idle_user = 1 + (i - 1) % bench.idle_users;
		if (wl == WL_AUTHSTORM && i < bench.nprobes)
			c->role = ROLE_PROBE;
	}
	bench.started = 0;
	ramp_tick(bench.setup_ns);
	bench.nidlers = is_idle_workload(wl) ? nconns - 1 : 0;
	while (!bench.stop) {
		int n = epoll_wait(bench.epfd, evs, 256, 5);
		uint64_t now;

		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;

			if (c->fd >= 0)
				conn_event(c, evs[k].events);
		}
		now = now_ns();
		ramp_tick(now);
		maybe_start(now);
		if (is_idle_workload(wl))
			appender_tick(now);
		if (wl == WL_AUTHSTORM && bench.probe_interval_ms > 0)
			probe_tick(now);
		if (bench.measuring && now >= bench.end_ns)
			bench.stop = 1;
	}
	for (i = 0; i < nconns; i++)
		conn_close(&bench.conns[i]);
}

/* Human lines on TLS and the authstorm probes (samples sorted). */
static void
report_tls_probes(void)
{
	struct samples *p = &bench.stats[K_NOOP];

	if (bench.tls != TLS_NONE)
		printf("tls: %s, %llu handshakes in the window, %llu resumed; "
		       "TLS 1.3: %llu, TLS 1.2: %llu (setup included)\n",
		       bench.tls == TLS_IMPLICIT ? "implicit" : "STARTTLS",
		       (unsigned long long)bench.handshakes,
		       (unsigned long long)bench.resumed,
		       (unsigned long long)bench.tls13,
		       (unsigned long long)bench.tls12);
	if (bench.wl == WL_AUTHSTORM)
		printf("authstorm: %u users, %u probes (a NOOP every %.1f ms): "
		       "NOOP p50 %.2f ms, p99 %.2f ms, max %.2f ms over %llu "
		       "NOOPs\n",
		       bench.nusers, bench.nprobes, bench.probe_interval_ms,
		       pct_ms(p, 0.5), pct_ms(p, 0.99), pct_ms(p, 1.0),
		       (unsigned long long)p->count);
}

/* RESULT fields of TLS and authstorm, after the common ones. */
static void
result_tls_probes(void)
{
	struct samples *t = &bench.stats[K_TLS];
	struct samples *p = &bench.stats[K_NOOP];

	if (bench.tls != TLS_NONE)
		printf(" tls=%s handshakes=%llu resumed=%llu tls_p50_ms=%.2f "
		       "tls_p99_ms=%.2f tls13=%llu tls12=%llu",
		       bench.tls == TLS_IMPLICIT ? "implicit" : "starttls",
		       (unsigned long long)bench.handshakes,
		       (unsigned long long)bench.resumed, pct_ms(t, 0.5),
		       pct_ms(t, 0.99), (unsigned long long)bench.tls13,
		       (unsigned long long)bench.tls12);
	if (bench.wl == WL_AUTHSTORM)
		printf(" users=%u probes=%u probe_interval_ms=%.1f "
		       "probe_ops=%llu probe_p50_ms=%.2f "
		       "probe_p99_ms=%.2f probe_max_ms=%.2f",
		       bench.nusers, bench.nprobes, bench.probe_interval_ms,
		       (unsigned long long)p->count, pct_ms(p, 0.5),
		       pct_ms(p, 0.99), pct_ms(p, 1.0));
}

/*
 * Notifications missed: pushes confirmed at least 1 s before the end
 * whose EXISTS an idler never saw.  With --idle-users, an idler's are
 * the pushes to its user, and "at least 1 s before" is per user too.
 */
static void
idle_missed(uint64_t *missed_r, unsigned *idlers_r)
{
	uint32_t want = 0;
	uint32_t *want_user = NULL;

	if (bench.idle_users != 0)
		want_user = xcalloc(bench.idle_users + 1, sizeof(*want_user));
	for (size_t a = 0; a < bench.nappends; a++) {
		if (bench.appends[a].ok_ns + 1000000000ull > bench.end_ns)
			continue;
		if (want_user != NULL)
			want_user[bench.appends[a].user] =
			    bench.appends[a].exists;
		else
			want = bench.appends[a].exists;
	}
	for (unsigned i = 0; i < bench.nconns; i++) {
		struct conn *c = &bench.conns[i];
		uint64_t m = 0;

		if (c->role != ROLE_IDLER)
			continue;
		if (want_user != NULL)
			want = want_user[c->idle_user];
		for (size_t a = 0; a < bench.nappends; a++) {
			uint32_t e = bench.appends[a].exists;

			if (bench.appends[a].user != c->idle_user)
				continue;
			if (e <= want && e > c->seen_exists)
				m++;
		}
		*missed_r += m;
		*idlers_r += m > 0;
	}
	free(want_user);
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
		printf("%-14s %9llu %10.1f %9.2f %9.2f %9.2f\n",
		       k == K_CYCLE && bench.wl == WL_LMTP ? "LMTP message"
		                                           : kind_names[k],
		       (unsigned long long)s->count, (double)s->count / secs,
		       pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 1.0));
	}
	if (is_idle_workload(bench.wl)) {
		idle_missed(&missed, &missing_idlers);
		printf("idle: %zu %s, %u idlers, %llu notifications "
		       "missed, %u idlers missed at least one\n",
		       bench.nappends,
		       bench.wl == WL_IDLE ? "appends" : "LMTP deliveries",
		       bench.nidlers, (unsigned long long)missed,
		       missing_idlers);
		if (bench.idle_users != 0)
			printf("idle: idlers spread over %u users, each "
			       "delivery to one of them\n",
			       bench.idle_users);
	}
	if (bench.wl == WL_LMTP)
		printf("lmtp: %u recipients per message (of %u users), "
		       "%llu deliveries (%.1f/s), PIPELINING %s\n",
		       bench.nrcpts, bench.rcpt_users,
		       (unsigned long long)bench.deliveries,
		       secs > 0 ? (double)bench.deliveries / secs : 0,
		       bench.lmtp_pipelining ? "used" : "not used");
	report_tls_probes();
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
	if (bench.wl == WL_LMTP)
		printf(" rcpts=%u deliveries=%llu deliveries_per_s=%.1f "
		       "pipelining=%d",
		       bench.nrcpts, (unsigned long long)bench.deliveries,
		       secs > 0 ? (double)bench.deliveries / secs : 0,
		       bench.lmtp_pipelining);
	if (is_idle_workload(bench.wl)) {
		struct samples *s = &bench.stats[K_IDLE_NOTIFY];

		printf(" notify_p50_ms=%.2f notify_p99_ms=%.2f "
		       "notify_max_ms=%.2f appends=%zu missed=%llu "
		       "idlers_missed=%u",
		       pct_ms(s, 0.5), pct_ms(s, 0.99), pct_ms(s, 1.0),
		       bench.nappends, (unsigned long long)missed,
		       missing_idlers);
		if (bench.idle_users != 0)
			printf(" idle_users=%u", bench.idle_users);
	}
	result_tls_probes();
	printf("\n");
}

static void
usage(void)
{
	fprintf(stderr,
	        "usage: imapload [--host H] [--port P] [--user U] "
	        "[--pass P]\n"
	        "                --workload append|fetch|mixed|login|idle|"
	        "search|authstorm|\n"
	        "                lmtp|idlelmtp\n"
	        "                [--connections N] [--seconds S] "
	        "[--prefill N] [--seed N]\n"
	        "                [--setup-seconds S (30)] [--ramp CONN/S]\n"
	        "                [--tls | --starttls] [--tls-resume]\n"
	        "                authstorm: [--users N] [--user-pattern u%%d]\n"
	        "                [--password-pattern pw-%%d] [--probes M]\n"
	        "                [--probe-interval MS (0: back to back)]\n"
	        "                lmtp, idlelmtp: --lmtp-port P "
	        "[--lmtp-lockstep]\n"
	        "                lmtp: [--rcpts R (1)] [--rcpt-users N (10)]\n"
	        "                [--rcpt-pattern u%%d@example.org]\n"
	        "                idlelmtp: [--idle-users N (0: all --user)]\n"
	        "                with --user-pattern, --password-pattern,\n"
	        "                --rcpt-pattern as above\n");
	exit(2);
}

enum long_only {
	OPT_TLS = 256,
	OPT_STARTTLS,
	OPT_TLS_RESUME,
	OPT_USERS,
	OPT_USER_PATTERN,
	OPT_PASS_PATTERN,
	OPT_PROBES,
	OPT_SETUP_SECONDS,
	OPT_PROBE_INTERVAL,
	OPT_RAMP,
	OPT_LMTP_PORT,
	OPT_LMTP_LOCKSTEP,
	OPT_RCPTS,
	OPT_RCPT_USERS,
	OPT_RCPT_PATTERN,
	OPT_IDLE_USERS,
};

/* Sets bench from the command line; returns the --workload name. */
static const char *
parse_args(int argc, char **argv)
{
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
	    {"tls", no_argument, NULL, OPT_TLS},
	    {"starttls", no_argument, NULL, OPT_STARTTLS},
	    {"tls-resume", no_argument, NULL, OPT_TLS_RESUME},
	    {"users", required_argument, NULL, OPT_USERS},
	    {"user-pattern", required_argument, NULL, OPT_USER_PATTERN},
	    {"password-pattern", required_argument, NULL, OPT_PASS_PATTERN},
	    {"probes", required_argument, NULL, OPT_PROBES},
	    {"setup-seconds", required_argument, NULL, OPT_SETUP_SECONDS},
	    {"probe-interval", required_argument, NULL, OPT_PROBE_INTERVAL},
	    {"ramp", required_argument, NULL, OPT_RAMP},
	    {"lmtp-port", required_argument, NULL, OPT_LMTP_PORT},
	    {"lmtp-lockstep", no_argument, NULL, OPT_LMTP_LOCKSTEP},
	    {"rcpts", required_argument, NULL, OPT_RCPTS},
	    {"rcpt-users", required_argument, NULL, OPT_RCPT_USERS},
	    {"rcpt-pattern", required_argument, NULL, OPT_RCPT_PATTERN},
	    {"idle-users", required_argument, NULL, OPT_IDLE_USERS},
	    {NULL, 0, NULL, 0},
	};
	const char *wl = NULL;
	int tls_flags = 0;
	int o;

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
		case OPT_TLS:
			bench.tls = TLS_IMPLICIT;
			tls_flags++;
			break;
		case OPT_STARTTLS:
			bench.tls = TLS_STARTTLS;
			tls_flags++;
			break;
		case OPT_TLS_RESUME:
			bench.tls_resume = 1;
			break;
		case OPT_USERS:
			bench.nusers = (unsigned)atoi(optarg);
			break;
		case OPT_USER_PATTERN:
			bench.user_pattern = optarg;
			break;
		case OPT_PASS_PATTERN:
			bench.pass_pattern = optarg;
			break;
		case OPT_PROBES:
			bench.nprobes = (unsigned)atoi(optarg);
			break;
		case OPT_RAMP:
			bench.ramp = atof(optarg);
			break;
		case OPT_PROBE_INTERVAL:
			bench.probe_interval_ms = atof(optarg);
			break;
		case OPT_SETUP_SECONDS:
			bench.setup_seconds = atof(optarg);
			break;
		case OPT_LMTP_PORT:
			bench.lmtp_port = optarg;
			break;
		case OPT_LMTP_LOCKSTEP:
			bench.lmtp_lockstep = 1;
			break;
		case OPT_RCPTS:
			bench.nrcpts = (unsigned)atoi(optarg);
			break;
		case OPT_RCPT_USERS:
			bench.rcpt_users = (unsigned)atoi(optarg);
			break;
		case OPT_RCPT_PATTERN:
			bench.rcpt_pattern = optarg;
			break;
		case OPT_IDLE_USERS:
			bench.idle_users = (unsigned)atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (tls_flags > 1 || (bench.tls_resume && bench.tls == TLS_NONE))
		usage();
	return wl;
}

/* A name or password that fits a quoted LOGIN argument unescaped. */
static int
login_arg_ok(const char *s)
{
	return strlen(s) <= 200 && strpbrk(s, "\"\\\r\n") == NULL;
}

/* An authstorm pattern: at most one "%d" and no other '%'. */
static int
pattern_ok(const char *s)
{
	const char *d = strstr(s, "%d");
	const char *pct = strchr(s, '%');

	if (!login_arg_ok(s))
		return 0;
	if (d == NULL)
		return pct == NULL;
	return pct == d && strchr(d + 2, '%') == NULL;
}

/* Connections the workload opens beside --connections. */
static unsigned
extra_conns(enum workload w)
{
	if (is_idle_workload(w))
		return 1; /* the appender or the LMTP deliverer */
	if (w == WL_AUTHSTORM)
		return bench.nprobes;
	return 0;
}

/* A recipient pattern: a pattern that fits between <> unquoted. */
static int
rcpt_pattern_ok(const char *s)
{
	return pattern_ok(s) && strpbrk(s, "<> ") == NULL;
}

/*
 * LMTP needs its port; its recipients are distinct (--rcpts at most
 * --rcpt-users), and LMTP runs in plaintext only.
 */
static int
lmtp_args_ok(enum workload w)
{
	if (w != WL_LMTP && w != WL_IDLELMTP)
		return bench.lmtp_port == NULL && !bench.lmtp_lockstep;
	return bench.lmtp_port != NULL && rcpt_pattern_ok(bench.rcpt_pattern) &&
	       rcpt_pattern_ok(bench.user) && bench.nrcpts >= 1 &&
	       bench.nrcpts <= LMTP_RCPT_MAX &&
	       bench.nrcpts <= bench.rcpt_users &&
	       (w == WL_IDLELMTP || bench.tls == TLS_NONE);
}

static int
args_ok(enum workload w)
{
	return bench.nconns >= 1 && bench.nconns <= MAX_CONNS &&
	       extra_conns(w) <= MAX_CONNS - bench.nconns &&
	       bench.seconds > 0 && bench.seconds < 86400 &&
	       bench.setup_seconds > 0 && bench.setup_seconds < 86400 &&
	       bench.ramp >= 0 && login_arg_ok(bench.user) &&
	       login_arg_ok(bench.pass) && pattern_ok(bench.user_pattern) &&
	       pattern_ok(bench.pass_pattern) && bench.nusers >= 1 &&
	       (bench.nprobes == 0 || w == WL_AUTHSTORM) &&
	       bench.probe_interval_ms >= 0 && bench.probe_interval_ms < 1e6 &&
	       lmtp_args_ok(w) &&
	       /* every one of the --idle-users has an idler */
	       (bench.idle_users == 0 ||
	        (w == WL_IDLELMTP && bench.idle_users <= bench.nconns));
}

/* Allocates the buffers of connections [0, n) still without them. */
static void
conns_alloc(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (bench.conns[i].rbuf == NULL)
			bench.conns[i].rbuf = xcalloc(1, 65536);
		if (bench.conns[i].wbuf == NULL)
			bench.conns[i].wbuf = xcalloc(1, WBUF_MAX);
	}
}

int
main(int argc, char **argv)
{
	struct rusage r0;
	struct rusage r1;
	struct rlimit rl;
	const char *wl;
	enum workload w = WL_APPEND;
	unsigned nconns;
	int i;

	/* One fd per connection: take all the hard limit allows. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* OpenSSL writes with write(2): a peer gone must not kill us */
	signal(SIGPIPE, SIG_IGN);
	bench.host = "127.0.0.1";
	bench.port = "143";
	bench.user = "alice";
	bench.pass = "alicepw";
	bench.nconns = 10;
	bench.seconds = 10;
	bench.seed = 1;
	bench.setup_seconds = 30;
	bench.nusers = 100;
	bench.user_pattern = "u%d";
	bench.pass_pattern = "pw-%d";
	bench.nrcpts = 1;
	bench.rcpt_users = 10;
	bench.rcpt_pattern = "u%d@example.org";
	wl = parse_args(argc, argv);
	if (wl == NULL)
		usage();
	for (i = 0; i < WL_PREFILL; i++) {
		if (strcmp(wl, workload_names[i]) == 0)
			break;
	}
	if (i == WL_PREFILL)
		usage();
	w = (enum workload)i;
	if (!args_ok(w))
		usage();
	if (resolve(bench.port, &bench.addr, &bench.addrlen) < 0)
		return 1;
	if (bench.lmtp_port != NULL &&
	    resolve(bench.lmtp_port, &bench.lmtp_addr, &bench.lmtp_addrlen) < 0)
		return 1;
	if (bench.tls != TLS_NONE && tls_init() < 0) {
		fprintf(stderr, "imapload: SSL_CTX_new failed\n");
		return 1;
	}
	bench.epfd = epoll_create1(EPOLL_CLOEXEC);
	bench.conns = xcalloc(MAX_CONNS, sizeof(*bench.conns));
	for (i = 0; i < MAX_CONNS; i++) {
		bench.conns[i].fd = -1;
		bench.conns[i].rcap = 65536;
		bench.conns[i].rbuf = NULL;
	}
	bench.mail = xcalloc(1, MAIL_MAX);
	bench.appends = xcalloc(MAX_APPENDS, sizeof(*bench.appends));
	if (bench.idle_users != 0)
		bench.users =
		    xcalloc(bench.idle_users + 1, sizeof(*bench.users));
	bench.mail_seq = bench.seed << 32;
	nconns = bench.nconns;
	if (bench.prefill > 0) {
		conns_alloc(1);
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
	bench.nconns = nconns + extra_conns(w);
	conns_alloc(bench.nconns);
	/* counted again for the workload: prefill's handshakes are setup */
	bench.tls13 = 0;
	bench.tls12 = 0;
	getrusage(RUSAGE_SELF, &r0);
	run_phase(w, bench.nconns);
	getrusage(RUSAGE_SELF, &r1);
	report(&r0, &r1);
	return bench.errors > 0 ? 1 : 0;
}
