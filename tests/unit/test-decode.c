/* Tests for src/mime/decode.c, charset.c and html-text.c. */
#include <stdlib.h>
#include <string.h>

#include "mime/charset.h"
#include "mime/decode.h"
#include "mime/html-text.h"
#include "str.h"
#include "test.h"
#include "util.h"

enum decoder { HEADER, QP, BASE64, HTML };

/* Runs one decoder on an exactly sized heap copy (so ASan sees any
 * overread) and compares with want. */
static bool
decodes_to(enum decoder d, const char *in, const char *want)
{
	size_t len = strlen(in);
	char *copy = malloc(len == 0 ? 1 : len);
	memcpy(copy, in, len);
	struct str out;
	str_init(&out, 1 << 20);
	switch (d) {
	case HEADER:
		decode_header_value(&out, copy, len);
		break;
	case QP:
		decode_qp(&out, copy, len);
		break;
	case BASE64:
		decode_base64(&out, copy, len);
		break;
	case HTML:
		html_to_text(&out, copy, len);
		break;
	}
	bool ok = out.len == strlen(want) &&
	          (out.len == 0 || memcmp(out.data, want, out.len) == 0);
	if (!ok)
		fprintf(stderr, "  got \"%.*s\" for \"%s\"\n", (int)out.len,
		        out.data != NULL ? out.data : "", in);
	str_free(&out);
	free(copy);
	return ok;
}

static void
test_rfc2047_encodings(void)
{
	/* RFC 2047 4.1 B and 4.2 Q, either case. */
	test_assert(decodes_to(HEADER, "=?utf-8?B?R3LDvMOfZQ==?=",
	                       "Gr\xc3\xbc\xc3\x9f"
	                       "e"));
	test_assert(decodes_to(HEADER, "=?UTF-8?q?Gr=C3=BC=c3=9Fe?=",
	                       "Gr\xc3\xbc\xc3\x9f"
	                       "e"));
	test_assert(decodes_to(HEADER, "=?utf-8?Q?a_b?=", "a b"));
	/* Plain text around words stays, unfolded. */
	test_assert(decodes_to(HEADER, " Re: =?utf-8?q?x?= end", " Re: x end"));
	test_assert(decodes_to(HEADER, " long\r\n subject", " long subject"));
	test_assert(decodes_to(HEADER, "", ""));
}

static void
test_rfc2047_charsets(void)
{
	test_assert(
	    decodes_to(HEADER, "=?iso-8859-1?Q?caf=E9?=", "caf\xc3\xa9"));
	test_assert(
	    decodes_to(HEADER, "=?ISO-8859-1?B?Y2Fm6Q==?=", "caf\xc3\xa9"));
	test_assert(decodes_to(HEADER, "=?koi8-r?B?8NLJ18XUIM3J0g==?=",
	                       "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5"
	                       "\xd1\x82 \xd0\xbc\xd0\xb8\xd1\x80"));
	test_assert(decodes_to(HEADER, "=?shift_jis?B?k/qWe4zq?=",
	                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"));
	test_assert(decodes_to(HEADER, "=?Shift_JIS?Q?=93=FA=96{=8C=EA?=",
	                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"));
	/* RFC 2231 5: a language suffix on the charset. */
	test_assert(
	    decodes_to(HEADER, "=?iso-8859-1*fr?Q?caf=E9?=", "caf\xc3\xa9"));
	/* An unknown charset: UTF-8 if valid, ISO-8859-1 otherwise. */
	test_assert(
	    decodes_to(HEADER, "=?x-unknown?Q?caf=C3=A9?=", "caf\xc3\xa9"));
	test_assert(
	    decodes_to(HEADER, "=?x-unknown?Q?caf=E9?=", "caf\xc3\xa9"));
	/* Raw 8-bit header text (RFC 6532), valid or not. */
	test_assert(decodes_to(HEADER, "caf\xc3\xa9", "caf\xc3\xa9"));
	test_assert(decodes_to(HEADER, "caf\xe9", "caf\xc3\xa9"));
}

static void
test_rfc2047_adjacent(void)
{
	/* RFC 2047 6.2: white space (and folding) between words goes. */
	test_assert(decodes_to(HEADER, "=?utf-8?q?a?= =?utf-8?q?b?=", "ab"));
	test_assert(
	    decodes_to(HEADER, "=?utf-8?q?a?=\r\n\t=?utf-8?q?b?=", "ab"));
	/* ... but not between a word and plain text. */
	test_assert(
	    decodes_to(HEADER, "=?utf-8?q?a?= b =?utf-8?q?c?=", "a b c"));
	/* A character split over two words in one charset. */
	test_assert(decodes_to(
	    HEADER, "=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=", "caf\xc3\xa9"));
	test_assert(decodes_to(HEADER,
	                       "=?shift_jis?B?k/qW?= =?shift_jis?B?e4zq?=",
	                       "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"));
	/* Different charsets next to each other. */
	test_assert(decodes_to(HEADER, "=?iso-8859-1?q?=E9?= =?koi8-r?b?8A==?=",
	                       "\xc3\xa9\xd0\x9f"));
}

static void
test_rfc2047_invalid(void)
{
	static const char *const same[] = {
	    "=?utf-8?X?abc?=",  /* no such encoding */
	    "=?utf-8?Q?abc",    /* no end */
	    "=?utf-8?Q?a c?=",  /* white space inside */
	    "=??Q?abc?=",       /* no charset */
	    "=?utf-8?QQ?abc?=", /* encoding too long */
	    "=?utf-8?",         /* cut short */
	    "=?",               /* cut short */
	    "a=?b",             /* not a word */
	    "=?utf-8?Q?abc?",   /* "?" without "=" */
	};
	for (size_t i = 0; i < N_ELEMENTS(same); i++)
		test_assert(decodes_to(HEADER, same[i], same[i]));
	/* A bad word next to a good one: each on its own. */
	test_assert(decodes_to(
	    HEADER, "=?utf-8?X?a?= =?utf-8?Q?b?=", "=?utf-8?X?a?= b"));
	/* Bad Q escapes stay; bad base64 characters are skipped. */
	test_assert(decodes_to(HEADER, "=?utf-8?Q?a=ZZb=4?=", "a=ZZb=4"));
	test_assert(decodes_to(HEADER, "=?utf-8?B?Y2Fm!!6Q?=", "caf\xc3\xa9"));
	test_assert(
	    decodes_to(HEADER, "=?iso-8859-1?B?Y2Fm!!6Q?=", "caf\xc3\xa9"));
}

static void
test_qp(void)
{
	test_assert(decodes_to(QP, "caf=E9", "caf\xe9"));
	test_assert(decodes_to(QP, "caf=e9", "caf\xe9"));
	/* RFC 2045 6.7 (5): soft line breaks, CRLF or LF. */
	test_assert(decodes_to(QP, "long=\r\nline", "longline"));
	test_assert(decodes_to(QP, "long=\nline", "longline"));
	test_assert(decodes_to(QP, "long= \t\r\nline", "longline"));
	/* (3): trailing white space is dropped; line ends become LF. */
	test_assert(decodes_to(QP, "a  \r\nb\r\n", "a\nb\n"));
	test_assert(decodes_to(QP, "a=20\r\n", "a \n"));
	/* Malformed escapes stay as written. */
	test_assert(decodes_to(QP, "a=ZZb", "a=ZZb"));
	test_assert(decodes_to(QP, "a=4", "a=4"));
	test_assert(decodes_to(QP, "a=", "a"));
	test_assert(decodes_to(QP, "=", ""));
	test_assert(decodes_to(QP, "==41", "=A"));
	test_assert(decodes_to(QP, "", ""));
}

static void
test_base64(void)
{
	test_assert(decodes_to(BASE64, "R3LDvMOfZQ==",
	                       "Gr\xc3\xbc\xc3\x9f"
	                       "e"));
	test_assert(decodes_to(BASE64, "SGVs\r\nbG8=\r\n", "Hello"));
	test_assert(decodes_to(BASE64, "SGVsbG8", "Hello"));
	/* Garbage is skipped; a part group at the end is dropped. */
	test_assert(decodes_to(BASE64,
	                       "SG*V s\x01\xff"
	                       "bG8",
	                       "Hello"));
	test_assert(decodes_to(BASE64, "SGVsbG8gd", "Hello "));
	test_assert(decodes_to(BASE64, "SGVsbG8gdw", "Hello w"));
	test_assert(decodes_to(BASE64, "S", ""));
	/* Padding ends a group; what follows decodes on its own. */
	test_assert(decodes_to(BASE64, "SGk=SGk=", "HiHi"));
	test_assert(decodes_to(BASE64, "===", ""));
	test_assert(decodes_to(BASE64, "", ""));
}

static void
test_html(void)
{
	test_assert(
	    decodes_to(HTML, "<p>Hello <b>wo</b>rld</p>", "Hello world"));
	test_assert(
	    decodes_to(HTML, "<div>one</div><div>two</div>", "one two"));
	test_assert(decodes_to(HTML, "a<br/>b<BR>c", "a b c"));
	test_assert(decodes_to(HTML,
	                       "<html><head><style>p {color: red}</style>"
	                       "<script type=\"x\">var secret = 1;</script>"
	                       "</head><body>visible</body></html>",
	                       "visible"));
	test_assert(decodes_to(HTML, "<SCRIPT>x</ScRiPt>y", "y"));
	test_assert(decodes_to(HTML, "a<!-- <p>hidden</p> -->b", "ab"));
	test_assert(decodes_to(HTML, "<!DOCTYPE html>x", "x"));
	test_assert(
	    decodes_to(HTML, "<a href=\"x>y\" title='>'>link</a>", "link"));
	test_assert(
	    decodes_to(HTML, "  lots \r\n\t of   space ", "lots of space"));
}

static void
test_html_entities(void)
{
	test_assert(decodes_to(HTML, "&amp;&lt;&gt;&quot;&apos;", "&<>\"'"));
	test_assert(decodes_to(HTML, "a&nbsp;b", "a b"));
	test_assert(decodes_to(HTML, "caf&eacute; caf&#233; caf&#xE9;",
	                       "caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9"));
	test_assert(decodes_to(HTML, "&#x41;&#66", "AB"));
	test_assert(decodes_to(HTML, "&#1055;", "\xd0\x9f"));
	/* Unknown, malformed and out-of-range references. */
	test_assert(decodes_to(HTML, "&bogus; &amp &# &#x; a & b",
	                       "&bogus; &amp &# &#x; a & b"));
	test_assert(decodes_to(HTML, "&#0;&#xD800;&#x110000;",
	                       "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"));
	/* A '<' that starts no tag is text. */
	test_assert(decodes_to(HTML, "1 < 2 <3", "1 < 2 <3"));
	/* Cut short: an open tag or comment hides the rest. */
	test_assert(decodes_to(HTML, "a<b", "a"));
	test_assert(decodes_to(HTML, "a<!-- b", "a"));
	test_assert(decodes_to(HTML, "a<script>b", "a"));
}

/* Converts in (len bytes) from charset; compares with want. */
static bool
converts_to(const char *charset, const char *in, size_t len, const char *want)
{
	struct str out;
	str_init(&out, 1 << 16);
	charset_to_utf8(&out, charset, in, len);
	bool ok = out.len == strlen(want) &&
	          (out.len == 0 || memcmp(out.data, want, out.len) == 0);
	str_free(&out);
	return ok;
}

static void
test_charset(void)
{
	test_assert(charset_is_known("UTF-8"));
	test_assert(charset_is_known("us-ascii"));
	test_assert(charset_is_known("koi8-r"));
	test_assert(charset_is_known("ISO-8859-1"));
	test_assert(charset_is_known("\"windows-1252\""));
	test_assert(!charset_is_known("x-no-such-charset"));
	test_assert(!charset_is_known(""));
	test_assert(!charset_is_known(NULL));
	test_assert(converts_to("windows-1252", "\x80", 1, "\xe2\x82\xac"));
	test_assert(converts_to("koi8-r", "\xf0", 1, "\xd0\x9f"));
	/* Invalid bytes in the charset: read as ISO-8859-1. */
	test_assert(converts_to("shift_jis",
	                        "a\xff"
	                        "b",
	                        3,
	                        "a\xc3\xbf"
	                        "b"));
	/* Cut short at the end. */
	test_assert(converts_to("shift_jis", "a\x93", 2, "a\xc2\x93"));
	/* Stateful: ISO-2022-JP's escape sequences. */
	test_assert(
	    converts_to("iso-2022-jp", "\x1b$BF|\x1b(B", 8, "\xe6\x97\xa5"));
	/* UTF-8 input: overlong forms and surrogates are not valid. */
	test_assert(converts_to("utf-8", "\xc0\xaf", 2, "\xc3\x80\xc2\xaf"));
	test_assert(converts_to("utf-8", "\xed\xa0\x80", 3,
	                        "\xc3\xad\xc2\xa0\xc2\x80"));
	test_assert(converts_to("utf-8", "", 0, ""));
}

static void
test_limits(void)
{
	/* Output stops at the str's maximum, and says so. */
	struct str out;
	str_init(&out, 10);
	decode_base64(&out, "QUFBQUFBQUFBQUFBQUFBQUFBQUFB", 28);
	test_assert(str_failed(&out) && out.len <= 10);
	str_free(&out);
	str_init(&out, 10);
	charset_to_utf8(&out, "koi8-r", "\xf0\xf0\xf0\xf0\xf0\xf0\xf0", 7);
	test_assert(str_failed(&out) && out.len <= 10);
	str_free(&out);
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"rfc2047 encodings", test_rfc2047_encodings},
	    {"rfc2047 charsets", test_rfc2047_charsets},
	    {"rfc2047 adjacent words", test_rfc2047_adjacent},
	    {"rfc2047 invalid words", test_rfc2047_invalid},
	    {"quoted-printable", test_qp},
	    {"base64", test_base64},
	    {"html", test_html},
	    {"html entities", test_html_entities},
	    {"charset", test_charset},
	    {"limits", test_limits},
	};
	return test_run("decode", cases, N_ELEMENTS(cases));
}
