/* LMTP command lines: RFC 2033 over RFC 5321 4.1's syntax. */
#include "lmtp/lmtp-parse.h"

#include <string.h>
#include <strings.h>

#include "lib/util.h"

static const char reply_syntax[] = "501 5.5.4 Syntax error in parameters";
static const char reply_path[] = "501 5.1.7 Bad address syntax";
static const char reply_param[] = "555 5.5.4 Unsupported parameter";

static const struct {
	const char *name;
	enum lmtp_verb verb;
} lmtp_verbs[] = {
    {"LHLO", LMTP_LHLO}, {"HELO", LMTP_HELO}, {"EHLO", LMTP_HELO},
    {"MAIL", LMTP_MAIL}, {"RCPT", LMTP_RCPT}, {"DATA", LMTP_DATA},
    {"BDAT", LMTP_BDAT}, {"RSET", LMTP_RSET}, {"NOOP", LMTP_NOOP},
    {"QUIT", LMTP_QUIT}, {"VRFY", LMTP_VRFY}, {"HELP", LMTP_HELP},
};

void
lmtp_parse_command(const char *line, size_t len, struct lmtp_command *cmd_r)
{
	size_t verb_len = 0;
	while (verb_len < len && line[verb_len] != ' ')
		verb_len++;
	cmd_r->verb = LMTP_UNKNOWN;
	cmd_r->arg = verb_len < len ? line + verb_len + 1 : "";
	cmd_r->arg_len = verb_len < len ? len - verb_len - 1 : 0;
	if (verb_len != 4)
		return;
	for (size_t i = 0; i < sizeof(lmtp_verbs) / sizeof(lmtp_verbs[0]);
	     i++) {
		if (strncasecmp(line, lmtp_verbs[i].name, 4) == 0)
			cmd_r->verb = lmtp_verbs[i].verb;
	}
}

/* "FROM:" or "TO:", case-insensitive (RFC 5321 4.1.1.2-3); tolerates
 * spaces before the path, as most servers do. */
static bool
lmtp_skip_keyword(const char **p, const char *end, const char *keyword)
{
	size_t n = strlen(keyword);
	if ((size_t)(end - *p) < n || strncasecmp(*p, keyword, n) != 0)
		return false;
	*p += n;
	while (*p < end && **p == ' ')
		(*p)++;
	return true;
}

/* The end of <path>: the '>' outside a quoted string, or NULL. */
static const char *
lmtp_path_end(const char *p, const char *end)
{
	bool quoted = false;
	for (; p < end; p++) {
		if (quoted && *p == '\\' && p + 1 < end)
			p++;
		else if (*p == '"')
			quoted = !quoted;
		else if (!quoted && *p == '>')
			return p;
	}
	return NULL;
}

/* Printable ASCII, space only inside quotes; 8-bit only with SMTPUTF8
 * (RFC 6531 3.3). */
static bool
lmtp_path_chars_ok(const char *p, size_t len, bool utf8)
{
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '"')
			quoted = !quoted;
		if (c >= 0x80 ? !utf8 : (c < 0x20 || c == 0x7f))
			return false;
		if (c == ' ' && !quoted)
			return false;
		if (!quoted && (c == '<' || c == '>'))
			return false;
	}
	return !quoted;
}

/* <path> into out (without the brackets and any source route, RFC 5321
 * 4.1.2 "A-d-l", which is to be ignored).  *p moves past the '>'. */
static int
lmtp_parse_path(const char **p, const char *end, bool utf8, char *out,
                const char **reply_r)
{
	*reply_r = reply_path;
	if (*p >= end || **p != '<')
		return -1;
	const char *start = *p + 1, *close = lmtp_path_end(start, end);
	if (close == NULL)
		return -1;
	if (start < close && *start == '@') {
		const char *colon = memchr(start, ':', (size_t)(close - start));
		if (colon == NULL)
			return -1;
		start = colon + 1;
	}
	size_t len = (size_t)(close - start);
	if (len > LMTP_PATH_MAX) {
		*reply_r = "501 5.1.3 Address too long";
		return -1;
	}
	if (!lmtp_path_chars_ok(start, len, utf8))
		return -1;
	memcpy(out, start, len);
	out[len] = '\0';
	*p = close + 1;
	return 0;
}

/* The next "KEY[=VALUE]" of the parameters (RFC 5321 4.1.2
 * esmtp-param).  Returns 1, 0 at the end, -1 on bad syntax. */
static int
lmtp_next_param(const char **p, const char *end, const char **key_r,
                size_t *key_len_r, const char **value_r, size_t *value_len_r)
{
	while (*p < end && **p == ' ')
		(*p)++;
	if (*p == end)
		return 0;
	const char *tok = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	const char *eq = memchr(tok, '=', (size_t)(*p - tok));
	*key_r = tok;
	*key_len_r = (size_t)((eq != NULL ? eq : *p) - tok);
	*value_r = eq != NULL ? eq + 1 : NULL;
	*value_len_r = eq != NULL ? (size_t)(*p - eq - 1) : 0;
	if (*key_len_r == 0 || (eq != NULL && *value_len_r == 0))
		return -1;
	for (size_t i = 0; i < *value_len_r; i++) {
		unsigned char c = (unsigned char)(*value_r)[i];
		if (c < 33 || c > 126 || c == '=')
			return -1;
	}
	return 1;
}

static bool
lmtp_key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(key, name, len) == 0;
}

static int
lmtp_mail_param(struct lmtp_mail *mail, const char *key, size_t key_len,
                const char *value, size_t value_len, const char **reply_r)
{
	*reply_r = reply_syntax;
	if (lmtp_key_is(key, key_len, "SIZE"))
		return value != NULL && parse_u64(value, value_len, UINT64_MAX,
		                                  &mail->size)
		           ? 0
		           : -1;
	if (lmtp_key_is(key, key_len, "BODY") && value != NULL) {
		if (lmtp_key_is(value, value_len, "7BIT"))
			mail->body = LMTP_BODY_7BIT;
		else if (lmtp_key_is(value, value_len, "8BITMIME"))
			mail->body = LMTP_BODY_8BITMIME;
		else {
			*reply_r = "555 5.5.4 Unsupported BODY type";
			return -1;
		}
		return 0;
	}
	if (lmtp_key_is(key, key_len, "XTRACE") && value != NULL &&
	    lmtp_key_is(value, value_len, "NO")) {
		mail->no_trace = true;
		return 0;
	}
	if (lmtp_key_is(key, key_len, "SMTPUTF8") && value == NULL) {
		mail->smtputf8 = true;
		return 0;
	}
	*reply_r = reply_param;
	return -1;
}

int
lmtp_parse_mail(const char *arg, size_t len, struct lmtp_mail *mail_r,
                const char **reply_r)
{
	const char *p = arg, *end = arg + len;
	memset(mail_r, 0, sizeof(*mail_r));
	*reply_r = reply_syntax;
	if (!lmtp_skip_keyword(&p, end, "FROM:"))
		return -1;
	const char *path = p;
	const char *close =
	    p < end && *p == '<' ? lmtp_path_end(p + 1, end) : NULL;
	if (close == NULL) {
		*reply_r = reply_path;
		return -1;
	}
	/* Parameters first: SMTPUTF8 decides what the path may hold. */
	const char *q = close + 1, *key, *value;
	size_t key_len, value_len;
	int r;
	if (q < end && *q != ' ')
		return -1;
	while ((r = lmtp_next_param(&q, end, &key, &key_len, &value,
	                            &value_len)) > 0) {
		if (lmtp_mail_param(mail_r, key, key_len, value, value_len,
		                    reply_r) < 0)
			return -1;
	}
	if (r < 0)
		return -1;
	return lmtp_parse_path(&path, end, mail_r->smtputf8, mail_r->sender,
	                       reply_r);
}

/* xtext (RFC 3461 4): "+XX" is the octet XX; NUL is refused. */
static int
lmtp_xtext_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)in[i];
		if (c == '+') {
			int hi = i + 2 < len
			             ? hex_digit_value((unsigned char)in[i + 1])
			             : -1;
			int lo = hi >= 0
			             ? hex_digit_value((unsigned char)in[i + 2])
			             : -1;
			if (lo < 0 || (c = hi * 16 + lo) == 0)
				return -1;
			i += 2;
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return 0;
}

static int
lmtp_rcpt_param(struct lmtp_rcpt *rcpt, const char *key, size_t key_len,
                const char *value, size_t value_len, const char **reply_r)
{
	*reply_r = reply_syntax;
	if (lmtp_key_is(key, key_len, "XFOLDER") && value != NULL)
		return lmtp_xtext_decode(value, value_len, rcpt->folder,
		                         sizeof(rcpt->folder));
	if (lmtp_key_is(key, key_len, "XFOLDER-STRICT") && value == NULL) {
		rcpt->folder_strict = true;
		return 0;
	}
	*reply_r = reply_param;
	return -1;
}

int
lmtp_parse_rcpt(const char *arg, size_t len, bool utf8,
                struct lmtp_rcpt *rcpt_r, const char **reply_r)
{
	const char *p = arg, *end = arg + len, *key, *value;
	size_t key_len, value_len;
	memset(rcpt_r, 0, sizeof(*rcpt_r));
	*reply_r = reply_syntax;
	if (!lmtp_skip_keyword(&p, end, "TO:"))
		return -1;
	if (lmtp_parse_path(&p, end, utf8, rcpt_r->address, reply_r) < 0)
		return -1;
	if (rcpt_r->address[0] == '\0') {
		*reply_r = reply_path;
		return -1;
	}
	if (p < end && *p != ' ')
		return -1;
	int r;
	while ((r = lmtp_next_param(&p, end, &key, &key_len, &value,
	                            &value_len)) > 0) {
		if (lmtp_rcpt_param(rcpt_r, key, key_len, value, value_len,
		                    reply_r) < 0)
			return -1;
	}
	*reply_r = reply_syntax;
	return r < 0 ? -1 : 0;
}

int
lmtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r, bool *last_r)
{
	size_t n = 0;
	while (n < len && arg[n] != ' ')
		n++;
	if (!parse_u64(arg, n, UINT64_MAX, size_r))
		return -1;
	*last_r = false;
	if (n == len)
		return 0;
	if (len - n - 1 == 4 && strncasecmp(arg + n + 1, "LAST", 4) == 0) {
		*last_r = true;
		return 0;
	}
	return -1;
}

/* Copies the local part without its quotes and quoting backslashes. */
static bool
lmtp_unquote(const char *p, size_t len, char *out, size_t size)
{
	size_t n = 0;
	bool quoted = len > 0 && p[0] == '"';
	for (size_t i = quoted ? 1 : 0; i < len; i++) {
		if (quoted && p[i] == '"' && i == len - 1)
			break;
		if (quoted && p[i] == '\\' && i + 1 < len)
			i++;
		if (n + 1 >= size)
			return false;
		out[n++] = p[i];
	}
	out[n] = '\0';
	return true;
}

bool
lmtp_address_split(const char *address, char *local, size_t local_size,
                   char *domain, size_t domain_size)
{
	size_t len = strlen(address), at = len;
	bool quoted = false;
	for (size_t i = 0; i < len; i++) {
		if (quoted && address[i] == '\\' && i + 1 < len)
			i++;
		else if (address[i] == '"')
			quoted = !quoted;
		else if (!quoted && address[i] == '@')
			at = i;
	}
	if (at == len) {
		if (domain_size == 0)
			return false;
		domain[0] = '\0';
	} else if (casella_strlcpy(domain, address + at + 1, domain_size) >=
	           domain_size) {
		return false;
	}
	return lmtp_unquote(address, at, local, local_size);
}
