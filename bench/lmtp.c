/*
 * lmtp.c: the client side of LMTP (RFC 2033) for imapload, without I/O.
 *
 * Reply lines are parsed here, the envelope commands of a transaction
 * are written here, and the message is dot-stuffed here; imapload.c
 * sends and receives.  Included by imapload.c after mailgen.c.
 */

#define LMTP_RCPT_MAX 100 /* recipients per transaction */
#define LMTP_LINE_MAX 512 /* one envelope command, CRLF included */

enum lmtp_step {
	LS_GREETING, /* waiting for 220 */
	LS_LHLO,     /* LHLO sent, waiting for its last 250 line */
	LS_READY,    /* between transactions */
	LS_ENVELOPE, /* MAIL, RCPTs, DATA: waiting for their replies */
	LS_CONTENT,  /* message sent: one reply per accepted recipient */
};

/* One transaction and the session facts it needs. */
struct lmtp_txn {
	enum lmtp_step step; /* where the session is */
	int pipelining;      /* LHLO listed PIPELINING (RFC 2920) */
	unsigned first;      /* recipient k of this one: first + k */
	unsigned nrcpt;      /* recipients of this transaction */
	unsigned sent;       /* envelope commands sent: MAIL, RCPTs, DATA */
	unsigned replied;    /* envelope replies received */
	unsigned accepted;   /* RCPTs answered 250 */
	unsigned answered;   /* replies after the final dot */
	unsigned delivered;  /* of those, 250 */
	uint64_t txn_ns;     /* MAIL FROM queued */
	uint64_t data_ns;    /* message queued after the 354 */
};

/* A reply line: "DDD text" (the last line) or "DDD-text". */
struct lmtp_reply {
	int code;         /* 200..599 */
	int last;         /* no '-' after the code */
	const char *text; /* after the separator, not NUL terminated */
	size_t len;       /* length of text, CRLF left out */
};

/*
 * Parses one reply line (with or without its CRLF).  Returns 0, or -1
 * if it is not "DDD", "DDD text" or "DDD-text" with D a digit and the
 * first in 2..5 (RFC 5321 4.2).
 */
static int
lmtp_parse_reply(const char *line, size_t len, struct lmtp_reply *r)
{
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' ||
	    line[1] > '9' || line[2] < '0' || line[2] > '9')
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	r->last = len == 3 || line[3] == ' ';
	r->text = len > 3 ? line + 4 : line + 3;
	r->len = len > 3 ? len - 4 : 0;
	return 0;
}

/* Does an LHLO reply line name the extension word (any case)? */
static int
lmtp_has_extension(const struct lmtp_reply *r, const char *word)
{
	size_t n = strlen(word);

	return r->len >= n && strncasecmp(r->text, word, n) == 0 &&
	       (r->len == n || r->text[n] == ' ');
}

/*
 * Writes envelope command i of t into buf: 0 is MAIL FROM, 1..nrcpt the
 * RCPTs (recipient k is pattern with "%d" replaced by
 * 1 + (first + k) % nusers), nrcpt + 1 is DATA.  Returns the length, or
 * 0 if it did not fit.
 */
static size_t
lmtp_envelope_cmd(const struct lmtp_txn *t, unsigned i, const char *pattern,
                  unsigned nusers, char *buf, size_t cap)
{
	char rcpt[256];
	const char *d;
	int n;

	if (i == 0) {
		n = snprintf(buf, cap, "MAIL FROM:<bench@example.org>\r\n");
	} else if (i <= t->nrcpt) {
		unsigned k = 1 + (t->first + i - 1) % nusers;

		d = strstr(pattern, "%d");
		if (d == NULL)
			n = snprintf(rcpt, sizeof(rcpt), "%s", pattern);
		else
			n = snprintf(rcpt, sizeof(rcpt), "%.*s%u%s",
			             (int)(d - pattern), pattern, k, d + 2);
		if (n < 0 || (size_t)n >= sizeof(rcpt))
			return 0;
		n = snprintf(buf, cap, "RCPT TO:<%s>\r\n", rcpt);
	} else {
		n = snprintf(buf, cap, "DATA\r\n");
	}
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/*
 * Copies the message into dst dot-stuffed (RFC 5321 4.5.2: a line that
 * begins with '.' gets one more), with a CRLF at its end if it lacked
 * one, then the terminating ".\r\n".  Returns the length written, or 0
 * if cap was too small.
 */
static size_t
lmtp_stuff(const char *src, size_t len, char *dst, size_t cap)
{
	size_t o = 0;
	int bol = 1; /* at the beginning of a line */

	for (size_t i = 0; i < len; i++) {
		if (cap - o < 2)
			return 0;
		if (bol && src[i] == '.')
			dst[o++] = '.';
		dst[o++] = src[i];
		bol = src[i] == '\n';
	}
	if (cap - o < 5)
		return 0;
	if (!bol) {
		dst[o++] = '\r';
		dst[o++] = '\n';
	}
	memcpy(dst + o, ".\r\n", 3);
	return o + 3;
}
