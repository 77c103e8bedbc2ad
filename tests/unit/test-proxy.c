#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxy.h"
#include "test.h"
#include "util.h"

#define TRAILER "a001 CAPABILITY\r\n"

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Parses a copy of data[0..len) in a buffer of exactly len bytes, so that
 * ASan catches any read past what has arrived.  *info_r and *consumed_r
 * must stay untouched unless 1 is returned. */
static int
parse_exact(const void *data, size_t len, struct proxy_info *info_r,
            size_t *consumed_r)
{
	unsigned char *copy = xmalloc(len > 0 ? len : 1);
	memcpy(copy, data, len);
	struct proxy_info info, sentinel;
	memset(&sentinel, 0xa5, sizeof(sentinel));
	memset(&info, 0xa5, sizeof(info));
	size_t consumed = 12345;
	int r = proxy_parse(copy, len, &info, &consumed);
	free(copy);
	test_assert(r >= -1 && r <= 1);
	if (r != 1) {
		test_assert(consumed == 12345);
		test_assert(memcmp(&info, &sentinel, sizeof(info)) == 0);
	} else if (info_r != NULL) {
		*info_r = info;
		*consumed_r = consumed;
	}
	return r;
}

/*
 * hdr[0..len) is one valid header: every proper prefix needs more (fed one
 * byte at a time), the whole gives 1, and application bytes or a second
 * header after it are left alone.
 */
static void
check_valid(const void *hdr, size_t len, struct proxy_info *info_r)
{
	struct proxy_info info = {0};
	size_t consumed = 0;
	for (size_t k = 0; k < len; k++) {
		int r = parse_exact(hdr, k, NULL, NULL);
		if (r != 0)
			fprintf(stderr, "  prefix %zu of %zu: %d\n", k, len, r);
		test_assert(r == 0);
	}
	test_assert(parse_exact(hdr, len, &info, &consumed) == 1);
	test_assert(consumed == len);
	*info_r = info;

	unsigned char more[2 * PROXY_HEADER_MAX + sizeof(TRAILER)];
	i_assert(len <= PROXY_HEADER_MAX);
	memcpy(more, hdr, len);
	memcpy(more + len, TRAILER, sizeof(TRAILER) - 1);
	consumed = 0;
	test_assert(parse_exact(more, len + sizeof(TRAILER) - 1, &info,
	                        &consumed) == 1);
	test_assert(consumed == len);
	memcpy(more + len, hdr, len);
	consumed = 0;
	test_assert(parse_exact(more, 2 * len, &info, &consumed) == 1);
	test_assert(consumed == len);
}

/* data[0..len) is rejected first at prefix length at, and for good. */
static void
check_reject_at(const void *data, size_t len, size_t at)
{
	for (size_t k = 0; k <= len; k++) {
		int r = parse_exact(data, k, NULL, NULL);
		int want = k < at ? 0 : -1;
		if (r != want)
			fprintf(stderr,
			        "  prefix %zu (reject at %zu): got %d\n", k, at,
			        r);
		test_assert(r == want);
	}
}

/* bad is the shortest rejected prefix; rest follows it. */
static void
check_reject(const char *bad, const char *rest)
{
	char buf[512];
	size_t at = strlen(bad);
	i_assert(at + strlen(rest) < sizeof(buf));
	memcpy(buf, bad, at);
	memcpy(buf + at, rest, strlen(rest));
	check_reject_at(buf, at + strlen(rest), at);
}

static void
check_addr(const struct sockaddr_storage *ss, const char *expected)
{
	char buf[PROXY_ADDR_STRLEN];
	test_assert(proxy_addr_format(ss, buf, sizeof(buf)));
	if (strcmp(buf, expected) != 0)
		fprintf(stderr, "  got %s, want %s\n", buf, expected);
	test_assert(strcmp(buf, expected) == 0);
}

/* A valid v1 line, its endpoints formatted (NULL src: local). */
static void
check_v1(const char *line, const char *src, const char *dst)
{
	struct proxy_info info;
	check_valid(line, strlen(line), &info);
	test_assert(!info.ssl);
	test_assert(info.local == (src == NULL));
	if (src == NULL || dst == NULL) {
		test_assert(info.src_len == 0 && info.dst_len == 0);
		return;
	}
	check_addr(&info.src, src);
	check_addr(&info.dst, dst);
	socklen_t want = info.src.ss_family == AF_INET
	                     ? sizeof(struct sockaddr_in)
	                     : sizeof(struct sockaddr_in6);
	test_assert(info.src_len == want && info.dst_len == want);
}

static void
test_v1_tcp4(void)
{
	check_v1("PROXY TCP4 192.168.0.1 192.168.0.11 56324 143\r\n",
	         "192.168.0.1:56324", "192.168.0.11:143");
	check_v1("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n", "0.0.0.0:0",
	         "255.255.255.255:65535");
	check_v1("PROXY TCP4 10.0.0.1 10.0.0.2 1 10\r\n", "10.0.0.1:1",
	         "10.0.0.2:10");
}

static void
test_v1_tcp6(void)
{
	static const char *const addrs[] = {
	    "::",
	    "::1",
	    "1::",
	    "1::8",
	    "2001:db8::1",
	    "fe80::1:2",
	    "ABCD:ef01::",
	    "1:2:3:4:5:6:7:8",
	    "1:2:3:4:5:6:7::",
	    "::2:3:4:5:6:7:8",
	    "0000:0000:0000:0000:0000:0000:0000:0001",
	    "::ffff:192.0.2.1",
	    "::1.2.3.4",
	    "1:2:3:4:5:6:255.255.255.255",
	};
	for (size_t i = 0; i < N_ELEMENTS(addrs); i++) {
		char line[PROXY_V1_MAX + 1];
		snprintf(line, sizeof(line), "PROXY TCP6 %s ::1 1234 993\r\n",
		         addrs[i]);
		struct proxy_info info;
		check_valid(line, strlen(line), &info);
		test_assert(!info.local && info.src.ss_family == AF_INET6);
	}
	check_v1("PROXY TCP6 2001:db8::1 2001:db8::2 65535 0\r\n",
	         "[2001:db8::1]:65535", "[2001:db8::2]:0");
	check_v1("PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n",
	         "[::ffff:192.0.2.1]:1", "[::1]:2");
}

/* Section 2.1's longest lines, and 107 bytes as the budget. */
static void
test_v1_lengths(void)
{
	const char *f39 = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	const char *f45 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	const char *f44 = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.25";
	char line[256];
	snprintf(line, sizeof(line), "PROXY TCP6 %s %s 65535 65535\r\n", f39,
	         f39);
	test_assert(strlen(line) == 104);
	check_v1(line, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
	         "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	snprintf(line, sizeof(line), "PROXY UNKNOWN %s %s 65535 65535\r\n", f39,
	         f39);
	test_assert(strlen(line) == PROXY_V1_MAX);
	check_v1(line, NULL, NULL);

	/* 107 bytes with dotted tails is fine, 108 is not: the second
	 * address already leaves no room for " 0 0\r\n". */
	snprintf(line, sizeof(line), "PROXY TCP6 %s %s 1 2\r\n", f45, f44);
	test_assert(strlen(line) == PROXY_V1_MAX);
	check_v1(line, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1",
	         "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff19]:2");
	snprintf(line, sizeof(line), "PROXY TCP6 %s %s 1 2\r\n", f45, f45);
	test_assert(strlen(line) == PROXY_V1_MAX + 1);
	check_reject_at(line, strlen(line), 11 + 45 + 1 + 45);

	/* UNKNOWN junk: 107 with CRLF, but 106 bytes without a CR are
	 * already too many. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	memcpy(line + PROXY_V1_MAX - 2, "\r\n", 3);
	check_v1(line, NULL, NULL);
	memset(line + PROXY_V1_MAX - 2, 'x', 3);
	check_reject_at(line, PROXY_V1_MAX + 20, PROXY_V1_MAX - 1);
}

static void
test_v1_unknown(void)
{
	check_v1("PROXY UNKNOWN\r\n", NULL, NULL);
	check_v1("PROXY UNKNOWN ffff::1 ::1 1 2\r\n", NULL, NULL);
	check_v1("PROXY UNKNOWN \r\n", NULL, NULL);
	check_v1("PROXY UNKNOWN garbage\x01\xff here\r\n", NULL, NULL);
	check_reject("PROXY UNKNOWNX", "\r\n");
	check_reject("PROXY UNKNOWN a\rb", "\r\n");
	check_reject("PROXY UNKNOWN a\n", "");
}

static void
test_v1_bad_syntax(void)
{
	check_reject("p", "roxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("X", "");
	check_reject("PROXY\r", "\n");
	check_reject("PROXY  ", "TCP4 1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP5", " 1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4\r", "\n");
	check_reject("PROXY t", "cp4 1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4  ", "1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4  ", "5.6.7.8 1 2\r\n");
	/* Missing and extra fields. */
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1\r", "\n");
	check_reject("PROXY TCP4 1.2.3.4\r", "\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", "\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 ", "3\r\n");
	/* The CRLF. */
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r", "\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\t", "\r\n");
	const char *no_crlf = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2";
	check_reject_at(no_crlf, strlen(no_crlf), strlen(no_crlf) + 1);
	/* A CR as the 106th byte, then no LF in the 107th. */
	char line[PROXY_V1_MAX];
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY UNKNOWN ", 14);
	line[PROXY_V1_MAX - 2] = '\r';
	check_reject_at(line, sizeof(line), PROXY_V1_MAX);
}

static void
test_v1_bad_numbers(void)
{
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 65536", " 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 65536", "\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999", "9\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 01", " 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 00", " 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 02", "\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 -", "1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 +", "1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1x", " 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8  ", "2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8 1 0x", "1\r\n");
}

static void
test_v1_bad_addresses(void)
{
	check_reject("PROXY TCP4 1.2.3.256", " 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.256", " 1 2\r\n");
	check_reject("PROXY TCP4 01", ".2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.03", ".4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3 ", "5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4.", "5 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1..", "2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 .", "1.2.3.4 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 5.6.7.8.", " 1 2\r\n");
	check_reject("PROXY TCP4 1.2.3.4 :", ":1 1 2\r\n");
	check_reject("PROXY TCP4 :", ":1 5.6.7.8 1 2\r\n");
	check_reject("PROXY TCP6 1.", "2.3.4 ::1 1 2\r\n");
	check_reject("PROXY TCP6 ::1 1.", "2.3.4 1 2\r\n");
	check_reject("PROXY TCP6 1::2::", "3 ::1 1 2\r\n");
	check_reject("PROXY TCP6 :::", " ::1 1 2\r\n");
	check_reject("PROXY TCP6 :1", " ::1 1 2\r\n");
	check_reject("PROXY TCP6 12345", " ::1 1 2\r\n");
	check_reject("PROXY TCP6 1:2:3:4:5:6:7:8:", "9 ::1 1 2\r\n");
	check_reject("PROXY TCP6 1:2:3:4:5:6:7::8", " ::1 1 2\r\n");
	check_reject("PROXY TCP6 1:2:3:4:5:6:7:1.", "2.3.4 ::1 1 2\r\n");
	check_reject("PROXY TCP6 ::1.2.3.4:", "1 ::1 1 2\r\n");
	check_reject("PROXY TCP6 g", "::1 ::1 1 2\r\n");
	check_reject("PROXY TCP6 ::1%", "eth0 ::1 1 2\r\n");
	check_reject("PROXY TCP6 [", "::1] ::1 1 2\r\n");
	/* A NUL inside an address must not end it for inet_pton(). */
	static const char nul[] = "PROXY TCP4 1.2.3.4\0 5.6.7.8 1 2\r\n";
	check_reject_at(nul, sizeof(nul) - 1, 19);
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

/* Random bytes, zero and 0xff more often than not, and half of the
 * 16-bit groups zero, so that "::" has runs to replace. */
static void
random_bytes(uint32_t *rng, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint32_t r = rng_next(rng);
		out[i] = r % 3 == 0 ? 0 : r % 3 == 1 ? 0xff : (uint8_t)(r >> 8);
	}
	for (size_t i = 0; i + 1 < len; i += 2) {
		if (rng_next(rng) % 2 == 0)
			out[i] = out[i + 1] = 0;
	}
}

/* One of the many ways to write an IPv6 address that inet_pton() takes:
 * either case, optional leading zeros, "::" over any zero run, a dotted
 * IPv4 tail.  long_form: four digits a group and no "::". */
static void
ipv6_spelling(uint32_t *rng, const uint8_t *addr, bool long_form, char *out)
{
	unsigned groups[8], ngroups = 8, zero_start = 8, zero_len = 0;
	for (unsigned i = 0; i < 8; i++)
		groups[i] = (unsigned)addr[2 * i] << 8 | addr[2 * i + 1];
	bool dotted = rng_next(rng) % (long_form ? 2 : 4) == 0;
	if (dotted)
		ngroups = 6;
	/* Pick a zero run to compress: the first found from a random
	 * start, of random length. */
	unsigned from = long_form ? 8 : rng_next(rng) % 9;
	for (unsigned i = from; i < ngroups && zero_len == 0; i++) {
		if (groups[i] != 0)
			continue;
		zero_start = i;
		while (i < ngroups && groups[i] == 0 &&
		       (zero_len == 0 || rng_next(rng) % 4 != 0)) {
			zero_len++;
			i++;
		}
	}
	char *p = out;
	for (unsigned i = 0; i < ngroups; i++) {
		if (i == zero_start) {
			p += sprintf(p, "::");
			i += zero_len - 1;
			continue;
		}
		if (i > 0 && i != zero_start + zero_len)
			*p++ = ':';
		switch (long_form ? 2 : rng_next(rng) % 4) {
		case 0:
			p += sprintf(p, "%x", groups[i]);
			break;
		case 1:
			p += sprintf(p, "%X", groups[i]);
			break;
		case 2:
			p += sprintf(p, "%04x", groups[i]);
			break;
		default:
			p += sprintf(p, "%03X", groups[i]);
		}
	}
	if (dotted)
		sprintf(p, "%s%u.%u.%u.%u",
		        zero_start + zero_len == ngroups ? "" : ":", addr[12],
		        addr[13], addr[14], addr[15]);
}

/* Every prefix of lines with many address spellings needs more, and the
 * whole gives the addresses back; long forms cross 107 bytes, and are
 * rejected past it. */
static void
test_v1_spellings(void)
{
	uint32_t rng = 0x9e3779b9;
	for (unsigned n = 0; n < 600; n++) {
		uint8_t src[16], dst[16];
		char a[80], b[80], line[256];
		random_bytes(&rng, src, sizeof(src));
		random_bytes(&rng, dst, sizeof(dst));
		unsigned sport = rng_next(&rng) % 2 == 0 ? 0 : 65535;
		unsigned dport = rng_next(&rng) % (n % 2 == 0 ? 10 : 65536);
		bool v6 = n % 3 != 0;
		if (v6) {
			/* Long forms with 3-digit octets reach 107 bytes. */
			bool long_form = n % 3 == 1;
			for (size_t i = 12; long_form && i < 16; i++) {
				src[i] = 100 + rng_next(&rng) % 156;
				dst[i] = 100 + rng_next(&rng) % 156;
			}
			ipv6_spelling(&rng, src, long_form, a);
			ipv6_spelling(&rng, dst, long_form, b);
		} else {
			sprintf(a, "%u.%u.%u.%u", src[0], src[1], src[2],
			        src[3]);
			sprintf(b, "%u.%u.%u.%u", dst[0], dst[1], dst[2],
			        dst[3]);
		}
		size_t len = (size_t)snprintf(
		    line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n",
		    v6 ? '6' : '4', a, b, sport, dport);
		if (len > PROXY_V1_MAX) {
			test_assert(parse_exact(line, len, NULL, NULL) == -1);
			continue;
		}
		struct proxy_info info;
		check_valid(line, len, &info);
		const struct sockaddr_in6 *s6 = (const void *)&info.src;
		const struct sockaddr_in6 *d6 = (const void *)&info.dst;
		const struct sockaddr_in *s4 = (const void *)&info.src;
		if (v6) {
			test_assert(memcmp(&s6->sin6_addr, src, 16) == 0);
			test_assert(memcmp(&d6->sin6_addr, dst, 16) == 0);
			test_assert(ntohs(d6->sin6_port) == dport);
		} else {
			test_assert(memcmp(&s4->sin_addr, src, 4) == 0);
			test_assert(ntohs(s4->sin_port) == sport);
		}
		if (test_failures_in_current > 0) {
			fprintf(stderr, "  line: %s", line);
			return;
		}
	}
}

/* Builds a v2 header; returns its length. */
static size_t
v2_build(uint8_t *buf, uint8_t ver_cmd, uint8_t fam, const uint8_t *body,
         size_t body_len)
{
	memcpy(buf, v2_sig, sizeof(v2_sig));
	buf[12] = ver_cmd;
	buf[13] = fam;
	buf[14] = (uint8_t)(body_len >> 8);
	buf[15] = (uint8_t)body_len;
	if (body_len > 0)
		memcpy(buf + 16, body, body_len);
	return 16 + body_len;
}

/* Appends a TLV with value_len bytes of value to body. */
static void
tlv_add(uint8_t *body, size_t *len, uint8_t type, const void *value,
        size_t value_len)
{
	body[(*len)++] = type;
	body[(*len)++] = (uint8_t)(value_len >> 8);
	body[(*len)++] = (uint8_t)value_len;
	memcpy(body + *len, value, value_len);
	*len += value_len;
}

static const uint8_t ipv4_block[12] = {192, 0, 2,    1,    198,  51,
                                       100, 7, 0xdc, 0x04, 0x00, 0x8f};

static const uint8_t ipv6_block[36] = {
    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    1,    0x20, 0x01, 0x0d, 0xb8, 0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    2,    0xc3, 0x50, 0x03, 0xe1};

/* An SSL TLV value: client flags, verify 0, version and CN sub-TLVs. */
static size_t
ssl_value(uint8_t *value, uint8_t client)
{
	size_t len = 5;
	memset(value, 0, len);
	value[0] = client;
	tlv_add(value, &len, 0x21, "TLSv1.3", 7);
	tlv_add(value, &len, 0x22, "client.example", 14);
	return len;
}

static void
test_v2_ipv4(void)
{
	uint8_t hdr[PROXY_HEADER_MAX], body[PROXY_HEADER_MAX], ssl[64];
	struct proxy_info info;
	size_t len = v2_build(hdr, 0x21, 0x11, ipv4_block, 12);
	check_valid(hdr, len, &info);
	test_assert(!info.local && !info.ssl);
	test_assert(info.src_len == sizeof(struct sockaddr_in));
	check_addr(&info.src, "192.0.2.1:56324");
	check_addr(&info.dst, "198.51.100.7:143");

	/* TLVs: NOOP, ALPN, a custom one, SSL. */
	size_t body_len = 12;
	memcpy(body, ipv4_block, 12);
	tlv_add(body, &body_len, 0x04, "", 0);
	tlv_add(body, &body_len, 0x01, "imap", 4);
	tlv_add(body, &body_len, 0xe0, "\x01\x02\x03", 3);
	tlv_add(body, &body_len, 0x20, ssl, ssl_value(ssl, 0x01));
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	check_valid(hdr, len, &info);
	test_assert(!info.local && info.ssl);
	check_addr(&info.src, "192.0.2.1:56324");

	/* SSL TLV without PP2_CLIENT_SSL, no sub-TLVs. */
	body_len = 12;
	memset(ssl, 0, 5);
	ssl[0] = 0x06;
	tlv_add(body, &body_len, 0x20, ssl, 5);
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	check_valid(hdr, len, &info);
	test_assert(!info.local && !info.ssl);
}

static void
test_v2_ipv6(void)
{
	uint8_t hdr[PROXY_HEADER_MAX], body[PROXY_HEADER_MAX], ssl[64];
	struct proxy_info info;
	size_t len = v2_build(hdr, 0x21, 0x21, ipv6_block, 36);
	check_valid(hdr, len, &info);
	test_assert(!info.local && !info.ssl);
	test_assert(info.src_len == sizeof(struct sockaddr_in6));
	check_addr(&info.src, "[2001:db8::1]:50000");
	check_addr(&info.dst, "[2001:db8::2]:993");

	size_t body_len = 36;
	memcpy(body, ipv6_block, 36);
	tlv_add(body, &body_len, 0x02, "imap.example.org", 16);
	tlv_add(body, &body_len, 0x20, ssl, ssl_value(ssl, 0x03));
	tlv_add(body, &body_len, 0x03, "\0\0\0\0", 4); /* CRC32C: ignored */
	len = v2_build(hdr, 0x21, 0x21, body, body_len);
	check_valid(hdr, len, &info);
	test_assert(!info.local && info.ssl);
	check_addr(&info.src, "[2001:db8::1]:50000");
}

static void
test_v2_local(void)
{
	uint8_t hdr[PROXY_HEADER_MAX], body[PROXY_HEADER_MAX] = {0};
	struct proxy_info info;
	/* LOCAL ignores the family and skips the block unread. */
	static const uint8_t fams[] = {0x00, 0x11, 0x21, 0xff};
	for (size_t i = 0; i < N_ELEMENTS(fams); i++) {
		check_valid(hdr, v2_build(hdr, 0x20, fams[i], NULL, 0), &info);
		test_assert(info.local && !info.ssl && info.src_len == 0);
		size_t len = v2_build(hdr, 0x20, fams[i], ipv4_block, 5);
		check_valid(hdr, len, &info);
		test_assert(info.local && !info.ssl);
	}
	check_valid(hdr, v2_build(hdr, 0x20, 0x00, body, 520), &info);
	test_assert(info.local);
}

/* PROXY with a family or transport we do not use: the real peer. */
static void
test_v2_unsupported(void)
{
	uint8_t hdr[PROXY_HEADER_MAX], body[PROXY_HEADER_MAX] = {0}, ssl[64];
	struct proxy_info info;
	/* No known layout: the block is skipped, whatever it holds. */
	static const uint8_t fams[] = {0x00, 0x01, 0x02, 0x10, 0x20, 0x30};
	for (size_t i = 0; i < N_ELEMENTS(fams); i++) {
		check_valid(hdr, v2_build(hdr, 0x21, fams[i], NULL, 0), &info);
		test_assert(info.local && info.src_len == 0);
		check_valid(hdr, v2_build(hdr, 0x21, fams[i], body, 7), &info);
		test_assert(info.local && !info.ssl);
	}
	/* UDP and AF_UNIX: TLVs are checked, addresses not used. */
	check_valid(hdr, v2_build(hdr, 0x21, 0x12, ipv4_block, 12), &info);
	test_assert(info.local && info.src_len == 0);
	check_valid(hdr, v2_build(hdr, 0x21, 0x22, ipv6_block, 36), &info);
	test_assert(info.local);
	size_t body_len = 216;
	tlv_add(body, &body_len, 0x20, ssl, ssl_value(ssl, 0x01));
	check_valid(hdr, v2_build(hdr, 0x21, 0x31, body, body_len), &info);
	test_assert(info.local && info.ssl && info.src_len == 0);
	check_valid(hdr, v2_build(hdr, 0x21, 0x32, body, 216), &info);
	test_assert(info.local && !info.ssl);
}

static void
test_v2_bad_fixed(void)
{
	uint8_t hdr[PROXY_HEADER_MAX];
	size_t len = v2_build(hdr, 0x21, 0x11, ipv4_block, 12);
	for (size_t i = 0; i < 12; i++) {
		hdr[i] ^= 0x40;
		check_reject_at(hdr, len, i + 1);
		hdr[i] ^= 0x40;
	}
	static const uint8_t bad_ver_cmd[] = {0x01, 0x11, 0x31, 0xf1,
	                                      0x22, 0x2f, 0x12};
	for (size_t i = 0; i < N_ELEMENTS(bad_ver_cmd); i++) {
		len = v2_build(hdr, bad_ver_cmd[i], 0x11, ipv4_block, 12);
		check_reject_at(hdr, len, 13);
	}
	static const uint8_t bad_fam[] = {0x41, 0xf1, 0x13, 0x1f, 0x03};
	for (size_t i = 0; i < N_ELEMENTS(bad_fam); i++) {
		len = v2_build(hdr, 0x21, bad_fam[i], ipv4_block, 12);
		check_reject_at(hdr, len, 14);
	}
}

static void
test_v2_bad_length(void)
{
	uint8_t hdr[2 * PROXY_HEADER_MAX], body[2 * PROXY_HEADER_MAX] = {0};
	/* Shorter than the address block, or 1-2 bytes of no TLV. */
	static const struct {
		uint8_t fam;
		size_t len;
	} shorts[] = {{0x11, 0},  {0x11, 11},  {0x11, 13},  {0x11, 14},
	              {0x21, 12}, {0x21, 35},  {0x21, 38},  {0x12, 11},
	              {0x22, 0},  {0x31, 215}, {0x32, 108}, {0x31, 217}};
	for (size_t i = 0; i < N_ELEMENTS(shorts); i++) {
		size_t len =
		    v2_build(hdr, 0x21, shorts[i].fam, body, shorts[i].len);
		check_reject_at(hdr, len, 16);
	}
	/* Over PROXY_HEADER_MAX: the high byte alone can tell. */
	size_t len = v2_build(hdr, 0x21, 0x11, body, PROXY_HEADER_MAX - 15);
	check_reject_at(hdr, len, 16);
	v2_build(hdr, 0x20, 0x00, body, 0x300);
	check_reject_at(hdr, 20, 15);
	/* Exactly the limit is fine. */
	struct proxy_info info;
	size_t body_len = 12;
	memcpy(body, ipv4_block, 12);
	static const uint8_t zeros[PROXY_HEADER_MAX];
	tlv_add(body, &body_len, 0x04, zeros, PROXY_HEADER_MAX - 31);
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	test_assert(len == PROXY_HEADER_MAX);
	check_valid(hdr, len, &info);
	test_assert(!info.local);
}

static void
test_v2_bad_tlv(void)
{
	uint8_t hdr[PROXY_HEADER_MAX], body[PROXY_HEADER_MAX];
	memcpy(body, ipv4_block, 12);
	const size_t tlv = 16 + 12; /* where the first TLV starts */

	/* A value longer than the declared length. */
	size_t body_len = 12;
	tlv_add(body, &body_len, 0x01, "abcd", 4);
	size_t len = v2_build(hdr, 0x21, 0x11, body, body_len);
	hdr[tlv + 2] = 5;
	check_reject_at(hdr, len, tlv + 3);
	hdr[tlv + 1] = 1;
	hdr[tlv + 2] = 0;
	check_reject_at(hdr, len, tlv + 3);

	/* One byte left after a TLV: no room for another header. */
	body_len = 12;
	tlv_add(body, &body_len, 0x04, "", 0);
	body[body_len++] = 0x04;
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	check_reject_at(hdr, len, tlv + 3);

	/* SSL shorter than client and verify. */
	body_len = 12;
	tlv_add(body, &body_len, 0x20, "\x01\0\0\0", 4);
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	check_reject_at(hdr, len, tlv + 3);

	/* SSL with 1 byte after verify: known from its length. */
	body_len = 12;
	tlv_add(body, &body_len, 0x20, "\x01\0\0\0\0\0", 6);
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	check_reject_at(hdr, len, tlv + 3);

	/* A sub-TLV overrunning the SSL value, though not the header. */
	uint8_t ssl[64];
	size_t ssl_len = ssl_value(ssl, 0x01);
	body_len = 12;
	tlv_add(body, &body_len, 0x20, ssl, ssl_len);
	tlv_add(body, &body_len, 0x04, "padding", 7);
	len = v2_build(hdr, 0x21, 0x11, body, body_len);
	hdr[tlv + 3 + 5 + 2] = 25; /* past the SSL value's 24 bytes left */
	check_reject_at(hdr, len, tlv + 3 + 5 + 3);
	hdr[tlv + 3 + 5 + 2] = 7;
	hdr[tlv + 3 + 5 + 3 + 7 + 2] = 15; /* the CN is 14, the last */
	check_reject_at(hdr, len, tlv + 3 + 5 + 3 + 7 + 3);
}

static void
test_addr_format(void)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(143);
	inet_pton(AF_INET, "203.0.113.9", &sin->sin_addr);
	check_addr(&ss, "203.0.113.9:143");

	char buf[PROXY_ADDR_STRLEN];
	test_assert(!proxy_addr_format(&ss, buf, strlen("203.0.113.9:143")));
	test_assert(buf[0] == '\0');

	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(65535);
	memset(&sin6->sin6_addr, 0xff, sizeof(sin6->sin6_addr));
	check_addr(&ss, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	test_assert(strlen("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535") <
	            PROXY_ADDR_STRLEN);

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_UNIX;
	strcpy(buf, "x");
	test_assert(!proxy_addr_format(&ss, buf, sizeof(buf)));
	test_assert(buf[0] == '\0');
}

static const struct test_case cases[] = {
    {"v1 tcp4", test_v1_tcp4},
    {"v1 tcp6", test_v1_tcp6},
    {"v1 lengths", test_v1_lengths},
    {"v1 unknown", test_v1_unknown},
    {"v1 bad syntax", test_v1_bad_syntax},
    {"v1 bad numbers", test_v1_bad_numbers},
    {"v1 bad addresses", test_v1_bad_addresses},
    {"v1 address spellings", test_v1_spellings},
    {"v2 ipv4", test_v2_ipv4},
    {"v2 ipv6", test_v2_ipv6},
    {"v2 local", test_v2_local},
    {"v2 unsupported", test_v2_unsupported},
    {"v2 bad fixed part", test_v2_bad_fixed},
    {"v2 bad length", test_v2_bad_length},
    {"v2 bad tlv", test_v2_bad_tlv},
    {"addr format", test_addr_format},
};

int
main(void)
{
	return test_run("proxy", cases, N_ELEMENTS(cases));
}
