/*
 * mailgen.c: deterministic test mail for imapload.
 *
 * Three shapes, chosen by the seed: text/plain, multipart/alternative
 * (text + html) and multipart/mixed with a base64 attachment.  Sizes are
 * log-uniform between 1 KB and 100 KB.  The same seed always gives the
 * same bytes.  Included by imapload.c.
 */

struct out {
	char *p;      /* destination, caller owned */
	size_t len;   /* bytes written */
	size_t cap;   /* size of p */
	int overflow; /* sticky: an append did not fit */
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->overflow || n > o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

static void
out_fmt(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		o->overflow = 1;
		return;
	}
	out_add(o, tmp, (size_t)n);
}

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t x = *s;

	/* xorshift64*: a zero state would stay zero */
	if (x == 0)
		x = 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t
rng_below(uint64_t *s, uint64_t n)
{
	return n ? rng_next(s) % n : 0;
}

static const char *const mail_words[] = {
    "the",    "mailbox", "server",   "index",    "message", "quarterly",
    "report", "meeting", "tomorrow", "please",   "review",  "attached",
    "draft",  "budget",  "notes",    "about",    "storage", "latency",
    "thanks", "regards", "update",   "project",  "status",  "and",
    "with",   "for",     "schedule", "question", "answer",  "release",
    "weekly", "summary",
};

#define MAIL_NWORDS (sizeof(mail_words) / sizeof(mail_words[0]))

/* Writes about n bytes of CRLF text, lines under 76 columns. */
static void
mail_text(struct out *o, uint64_t *rng, size_t n, int html)
{
	size_t start = o->len;
	size_t col = 0;

	if (html)
		out_str(o, "<html><body><p>\r\n");
	while (o->len - start < n && !o->overflow) {
		const char *w = mail_words[rng_below(rng, MAIL_NWORDS)];
		size_t wl = strlen(w);

		if (col + wl + 1 > 72) {
			out_str(o, "\r\n");
			col = 0;
		}
		if (col > 0) {
			out_str(o, " ");
			col++;
		}
		out_add(o, w, wl);
		col += wl;
	}
	out_str(o, "\r\n");
	if (html)
		out_str(o, "</p></body></html>\r\n");
}

static void
mail_base64(struct out *o, uint64_t *rng, size_t raw)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789+/";
	char line[80];
	size_t done = 0;
	size_t col = 0;

	while (done < raw && !o->overflow) {
		uint32_t v = (uint32_t)rng_next(rng) & 0xffffff;

		line[col++] = b64[(v >> 18) & 63];
		line[col++] = b64[(v >> 12) & 63];
		line[col++] = b64[(v >> 6) & 63];
		line[col++] = b64[v & 63];
		done += 3;
		if (col == 76 || done >= raw) {
			line[col++] = '\r';
			line[col++] = '\n';
			out_add(o, line, col);
			col = 0;
		}
	}
}

/*
 * Generates message number seed into buf (at least MAIL_MAX bytes).
 * Returns its length, or 0 if it did not fit (never with MAIL_MAX).
 */
#define MAIL_MAX (160u * 1024u)

static size_t
mail_generate(uint64_t seed, char *buf, size_t cap)
{
	struct out o = {buf, 0, cap, 0};
	uint64_t rng = seed * 0x9e3779b97f4a7c15ull + 1;
	/* about log-uniform: 1 KB * 2^x, x in [0, log2(100)) */
	uint64_t x = rng_below(&rng, 6644);
	size_t size = ((size_t)1024 << (x / 1000)) * (1000 + x % 1000) / 1000;
	unsigned kind = (unsigned)(seed % 3);
	const char *bnd = "=_casella_bench_boundary_";

	if (size > 100 * 1024)
		size = 100 * 1024;

	out_fmt(&o, "From: Bench Sender <sender%u@example.org>\r\n",
	        (unsigned)rng_below(&rng, 1000));
	out_str(&o, "To: Alice <alice@example.org>\r\n");
	out_fmt(&o, "Subject: %s %s #%llu\r\n",
	        mail_words[rng_below(&rng, MAIL_NWORDS)],
	        mail_words[rng_below(&rng, MAIL_NWORDS)],
	        (unsigned long long)seed);
	out_fmt(&o, "Date: Mon, %u Jan 2026 %02u:%02u:00 +0000\r\n",
	        (unsigned)(1 + seed % 28), (unsigned)(seed % 24),
	        (unsigned)(seed % 60));
	out_fmt(&o, "Message-ID: <bench.%llu@example.org>\r\n",
	        (unsigned long long)seed);
	out_str(&o, "MIME-Version: 1.0\r\n");
	if (kind == 0) {
		out_str(&o, "Content-Type: text/plain; charset=us-ascii\r\n"
		            "\r\n");
		mail_text(&o, &rng, size, 0);
	} else if (kind == 1) {
		out_fmt(&o,
		        "Content-Type: multipart/alternative; "
		        "boundary=\"%s%llu\"\r\n\r\n",
		        bnd, (unsigned long long)seed);
		out_fmt(&o,
		        "--%s%llu\r\nContent-Type: text/plain; "
		        "charset=us-ascii\r\n\r\n",
		        bnd, (unsigned long long)seed);
		mail_text(&o, &rng, size / 2, 0);
		out_fmt(&o,
		        "--%s%llu\r\nContent-Type: text/html; "
		        "charset=us-ascii\r\n\r\n",
		        bnd, (unsigned long long)seed);
		mail_text(&o, &rng, size / 2, 1);
		out_fmt(&o, "--%s%llu--\r\n", bnd, (unsigned long long)seed);
	} else {
		out_fmt(&o,
		        "Content-Type: multipart/mixed; "
		        "boundary=\"%s%llu\"\r\n\r\n",
		        bnd, (unsigned long long)seed);
		out_fmt(&o,
		        "--%s%llu\r\nContent-Type: text/plain; "
		        "charset=us-ascii\r\n\r\n",
		        bnd, (unsigned long long)seed);
		mail_text(&o, &rng, size / 4, 0);
		out_fmt(&o,
		        "--%s%llu\r\nContent-Type: application/"
		        "octet-stream; name=\"data%llu.bin\"\r\n"
		        "Content-Transfer-Encoding: base64\r\n"
		        "Content-Disposition: attachment; "
		        "filename=\"data%llu.bin\"\r\n\r\n",
		        bnd, (unsigned long long)seed, (unsigned long long)seed,
		        (unsigned long long)seed);
		/* base64 grows 4/3: keep the encoded part near 3/4 size */
		mail_base64(&o, &rng, size * 9 / 16);
		out_fmt(&o, "--%s%llu--\r\n", bnd, (unsigned long long)seed);
	}
	return o.overflow ? 0 : o.len;
}
