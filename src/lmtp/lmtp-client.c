/* One LMTP transaction, blocking, with a timeout on every step. */
#include "lmtp/lmtp-client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/str.h"
#include "lib/util.h"

/* RFC 5321 4.5.3.2: the DATA terminator may take 10 minutes. */
#define LMTP_CLIENT_TIMEOUT_S 600

struct lmtp_client {
	int fd;
	char buf[4096];
	size_t len;
};

static int
lmtp_client_unix(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (casella_strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* "ADDR:PORT", numeric IPv4, or "[IPv6]:PORT". */
static int
lmtp_client_tcp(const char *target)
{
	char host[64];
	const char *colon = strrchr(target, ':');
	uint64_t port;
	size_t n = colon != NULL ? (size_t)(colon - target) : 0;
	if (n > 1 && target[0] == '[' && target[n - 1] == ']')
		target++, n -= 2;
	if (colon == NULL || n == 0 || n >= sizeof(host) ||
	    !parse_u64(colon + 1, strlen(colon + 1), 65535, &port)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(host, target, n);
	host[n] = '\0';
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(*sin);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		len = sizeof(*sin6);
	} else {
		errno = EINVAL;
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
lmtp_client_connect(const char *target)
{
	int fd = strncmp(target, "unix:", 5) == 0 ? lmtp_client_unix(target + 5)
	         : target[0] == '/'               ? lmtp_client_unix(target)
	                                          : lmtp_client_tcp(target);
	if (fd < 0)
		return -1;
	struct timeval tv = {.tv_sec = LMTP_CLIENT_TIMEOUT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
lmtp_client_write(struct lmtp_client *c, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One line into line (without CRLF, truncated to size). */
static int
lmtp_client_line(struct lmtp_client *c, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - c->buf);
			size_t keep = n > 0 && nl[-1] == '\r' ? n - 1 : n;
			if (keep >= size)
				keep = size - 1;
			memcpy(line, c->buf, keep);
			line[keep] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			c->len = 0; /* an absurd line: keep its end only */
		ssize_t r =
		    recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
	}
}

/* A reply, multi-line or not (RFC 5321 4.2.1): its last line. */
static int
lmtp_client_reply(struct lmtp_client *c, struct lmtp_client_reply *reply)
{
	for (;;) {
		if (lmtp_client_line(c, reply->text, sizeof(reply->text)) < 0)
			return -1;
		char *t = reply->text;
		if (strlen(t) < 3 || t[0] < '1' || t[0] > '5')
			return -1;
		reply->code =
		    (t[0] - '0') * 100 + (t[1] - '0') * 10 + (t[2] - '0');
		if (t[3] != '-')
			return 0;
	}
}

static int lmtp_client_command(struct lmtp_client *c,
                               struct lmtp_client_reply *reply, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));

static int
lmtp_client_command(struct lmtp_client *c, struct lmtp_client_reply *reply,
                    const char *fmt, ...)
{
	struct str line;
	va_list ap;
	str_init(&line, 4096);
	va_start(ap, fmt);
	str_vprintf(&line, fmt, ap);
	va_end(ap);
	int r =
	    str_failed(&line) || lmtp_client_write(c, line.data, line.len) < 0
	        ? -1
	        : lmtp_client_reply(c, reply);
	str_free(&line);
	return r;
}

/* xtext (RFC 3461 4) for the XFOLDER parameter. */
static void
lmtp_client_xtext(struct str *out, const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 33 || ch > 126 || ch == '+' || ch == '=')
			str_printf(out, "+%02X", ch);
		else
			str_append_char(out, (char)ch);
	}
}

/* The message, dot-stuffed (RFC 5321 4.5.2), and the final dot. */
static int
lmtp_client_data(struct lmtp_client *c, const char *data, size_t len)
{
	struct str out;
	str_init(&out, len + len / 16 + 16);
	bool line_start = true;
	for (size_t i = 0; i < len; i++) {
		if (line_start && data[i] == '.')
			str_append_char(&out, '.');
		str_append_char(&out, data[i]);
		line_start = data[i] == '\n';
	}
	str_append_cstr(&out, line_start ? ".\r\n" : "\r\n.\r\n");
	int r = str_failed(&out) ? -1 : lmtp_client_write(c, out.data, out.len);
	str_free(&out);
	return r;
}

/* MAIL, RCPT, DATA: stops at the first reply that is not a go-ahead. */
static int
lmtp_client_transaction(struct lmtp_client *c,
                        const struct lmtp_client_request *req,
                        struct lmtp_client_reply *reply)
{
	struct str rcpt;
	str_init(&rcpt, 8192);
	str_printf(&rcpt, "RCPT TO:<%s>", req->user);
	if (req->folder != NULL) {
		str_append_cstr(&rcpt, " XFOLDER=");
		lmtp_client_xtext(&rcpt, req->folder);
		if (req->strict)
			str_append_cstr(&rcpt, " XFOLDER-STRICT");
	}
	int r = lmtp_client_command(
	    c, reply, "MAIL FROM:<%s> BODY=8BITMIME XTRACE=NO\r\n",
	    req->sender != NULL ? req->sender : "");
	if (r == 0 && reply->code == 250)
		r = lmtp_client_command(c, reply, "%s\r\n", rcpt.data);
	if (r == 0 && reply->code == 250)
		r = lmtp_client_command(c, reply, "DATA\r\n");
	if (r == 0 && reply->code == 354)
		r = lmtp_client_data(c, req->data, req->len) < 0
		        ? -1
		        : lmtp_client_reply(c, reply);
	str_free(&rcpt);
	return r;
}

int
lmtp_client_send(const struct lmtp_client_request *req,
                 struct lmtp_client_reply *reply_r, const char **error_r)
{
	struct lmtp_client c = {.fd = lmtp_client_connect(req->target)};
	if (c.fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	int r = lmtp_client_reply(&c, reply_r);
	if (r == 0 && reply_r->code == 220)
		r = lmtp_client_command(&c, reply_r, "LHLO localhost\r\n");
	if (r == 0 && reply_r->code == 250)
		r = lmtp_client_transaction(&c, req, reply_r);
	if (r == 0) {
		struct lmtp_client_reply bye;
		(void)lmtp_client_command(&c, &bye, "QUIT\r\n");
	}
	close(c.fd);
	if (r < 0)
		*error_r = "the LMTP conversation failed (closed or timed out)";
	return r;
}
