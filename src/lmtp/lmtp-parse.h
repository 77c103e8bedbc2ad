#ifndef CASELLA_LMTP_PARSE_H
#define CASELLA_LMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * LMTP (RFC 2033) command lines, which are SMTP's (RFC 5321 4.1): pure
 * parsing, no I/O.  Every function takes a line without its CRLF and
 * never reads past len; on refusal it gives the reply to send.
 */

/* RFC 5321 4.5.3.1: paths of 256 octets at most. */
#define LMTP_PATH_MAX 256
/* A folder named by the XFOLDER recipient parameter. */
#define LMTP_FOLDER_MAX 1024

enum lmtp_verb {
	LMTP_UNKNOWN,
	LMTP_LHLO,
	LMTP_HELO, /* HELO and EHLO: SMTP's, refused in LMTP (RFC 2033 4.1) */
	LMTP_MAIL,
	LMTP_RCPT,
	LMTP_DATA,
	LMTP_BDAT,
	LMTP_RSET,
	LMTP_NOOP,
	LMTP_QUIT,
	LMTP_VRFY,
	LMTP_HELP,
};

struct lmtp_command {
	enum lmtp_verb verb;
	const char *arg; /* after the verb and one space; "" if none */
	size_t arg_len;
};

enum lmtp_body {
	LMTP_BODY_7BIT,
	LMTP_BODY_8BITMIME, /* RFC 6152 */
};

/* MAIL FROM:<reverse-path> [SIZE=n] [BODY=...] [SMTPUTF8] [XTRACE=NO]
 * (XTRACE, XFOLDER and XFOLDER-STRICT are Casella's, advertised as
 * XCASELLA, for `casella deliver`: lmtp/lda.h). */
struct lmtp_mail {
	char sender[LMTP_PATH_MAX + 1]; /* "" for the null path <> */
	uint64_t size;                  /* SIZE=, 0 if absent (RFC 1870) */
	enum lmtp_body body;
	bool smtputf8; /* RFC 6531 */
	bool no_trace; /* XTRACE=NO: the client added the trace fields */
};

/* RCPT TO:<forward-path> [XFOLDER=xtext] [XFOLDER-STRICT] */
struct lmtp_rcpt {
	char address[LMTP_PATH_MAX + 1];  /* as given, without <> */
	char folder[LMTP_FOLDER_MAX + 1]; /* decoded XFOLDER, "" if none */
	bool folder_strict; /* no INBOX fallback when folder is missing */
};

/* Splits a line into verb and argument; never fails (LMTP_UNKNOWN). */
void lmtp_parse_command(const char *line, size_t len,
                        struct lmtp_command *cmd_r);
/* The argument of MAIL (after "MAIL "); utf8 allows 8-bit addresses.
 * Returns 0, or -1 with *reply_r ("501 5.5.4 ..." or "555 5.5.4 ..."). */
int lmtp_parse_mail(const char *arg, size_t len, struct lmtp_mail *mail_r,
                    const char **reply_r);
int lmtp_parse_rcpt(const char *arg, size_t len, bool utf8,
                    struct lmtp_rcpt *rcpt_r, const char **reply_r);
/* BDAT chunk-size [LAST] (RFC 3030 2).  Returns 0 or -1. */
int lmtp_parse_bdat(const char *arg, size_t len, uint64_t *size_r,
                    bool *last_r);

/*
 * An address's parts: local part (unquoted, RFC 5321 4.1.2
 * Quoted-string) and domain (after the last '@' outside quotes; "" if
 * none).  Returns false if they do not fit.
 */
bool lmtp_address_split(const char *address, char *local, size_t local_size,
                        char *domain, size_t domain_size);

#endif
