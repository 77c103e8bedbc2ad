/*
 * HAProxy PROXY protocol parser (haproxy doc/proxy-protocol.txt; section
 * numbers below are that document's).  Stateless: every call re-reads the
 * bytes from the start, which costs little for headers of at most
 * PROXY_HEADER_MAX bytes and makes "more bytes never change an answer"
 * easy to hold.
 */
#include "net/proxy.h"

#include <arpa/inet.h>
#include <assert.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

static_assert(PROXY_ADDR_STRLEN >= INET6_ADDRSTRLEN + sizeof("[]:65535") - 1,
              "PROXY_ADDR_STRLEN holds any formatted address");

/* Stores a network-order address and port as a sockaddr_in(6). */
static void
set_sockaddr(int family, const void *addr, const void *port,
             struct sockaddr_storage *ss, socklen_t *len_r)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
		memcpy(&sin->sin_port, port, sizeof(sin->sin_port));
		*len_r = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
		memcpy(&sin6->sin6_port, port, sizeof(sin6->sin6_port));
		*len_r = sizeof(*sin6);
	}
}

/* ------------------------------------------------------------------ */
/* Version 2, section 2.2                                              */

#define V2_FIXED_LEN      16
#define V2_BODY_MAX       (PROXY_HEADER_MAX - V2_FIXED_LEN)
#define V2_VERSION        0x2
#define V2_CMD_LOCAL      0x0
#define V2_CMD_PROXY      0x1
#define V2_FAMILY_MAX     0x3 /* AF_UNIX */
#define V2_TRANSPORT_MAX  0x2 /* DGRAM */
#define V2_TCP4           0x11
#define V2_TCP6           0x21
#define TLV_HEADER_LEN    3
#define PP2_TYPE_SSL      0x20
#define PP2_CLIENT_SSL    0x01
#define PP2_SSL_FIXED_LEN 5 /* client (1 byte) and verify (4) */

static const uint8_t v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/*
 * The address block's size for the "expected" family and transport bytes
 * of section 2.2.  Returns false for the other valid combinations, whose
 * layout is unknown: they fall back to UNSPEC and the block is skipped.
 */
static bool
v2_layout_known(uint8_t fam, size_t *addr_len_r)
{
	switch (fam) {
	case 0x11: /* TCP over IPv4 */
	case 0x12: /* UDP over IPv4 */
		*addr_len_r = 2 * 4 + 2 * 2;
		return true;
	case 0x21: /* TCP over IPv6 */
	case 0x22: /* UDP over IPv6 */
		*addr_len_r = 2 * 16 + 2 * 2;
		return true;
	case 0x31: /* UNIX stream */
	case 0x32: /* UNIX datagram */
		*addr_len_r = 2 * 108;
		return true;
	default:
		return false;
	}
}

/* Section 2.2: only version 2; commands other than LOCAL and PROXY are
 * dropped. */
static bool
v2_ver_cmd_ok(uint8_t ver_cmd)
{
	return ver_cmd >> 4 == V2_VERSION && (ver_cmd & 0xf) <= V2_CMD_PROXY;
}

/* Section 2.2: other families and transports "must be rejected as
 * invalid by receivers". */
static bool
v2_family_ok(uint8_t fam)
{
	return fam >> 4 <= V2_FAMILY_MAX && (fam & 0xf) <= V2_TRANSPORT_MAX;
}

/* The declared length: within our limit, and for PROXY at least the
 * address block when its size is known (section 2.2). */
static bool
v2_length_ok(const uint8_t *p)
{
	size_t body_len = (size_t)p[14] << 8 | p[15];
	size_t addr_len;
	if (body_len > V2_BODY_MAX)
		return false;
	return (p[12] & 0xf) != V2_CMD_PROXY ||
	       !v2_layout_known(p[13], &addr_len) || body_len >= addr_len;
}

/* Checks the n bytes present of the 16-byte fixed part, each as soon as
 * it is there. */
static bool
v2_fixed_ok(const uint8_t *p, size_t n)
{
	if (memcmp(p, v2_signature, n < 12 ? n : 12) != 0)
		return false;
	if (n > 12 && !v2_ver_cmd_ok(p[12]))
		return false;
	if (n > 13 && (p[12] & 0xf) == V2_CMD_PROXY && !v2_family_ok(p[13]))
		return false;
	/* The high length byte alone can already exceed the limit. */
	if (n > 14 && (size_t)p[14] << 8 > V2_BODY_MAX)
		return false;
	return n < V2_FIXED_LEN || v2_length_ok(p);
}

static int tlv_walk(const uint8_t *base, size_t start, size_t end, size_t avail,
                    bool top, struct proxy_info *info);

/*
 * Section 2.2.6: the PP2_TYPE_SSL value base[start..end) is a client
 * byte, a 32-bit verify field and sub-TLVs that fill the rest.  Returns
 * like tlv_walk().
 */
static int
tlv_ssl(const uint8_t *base, size_t start, size_t end, size_t avail,
        struct proxy_info *info)
{
	if (end - start < PP2_SSL_FIXED_LEN)
		return -1;
	/* The sub-TLVs first: their bounds may be wrong before the client
	 * byte is there. */
	int r =
	    tlv_walk(base, start + PP2_SSL_FIXED_LEN, end, avail, false, info);
	if (r == 1 && (base[start] & PP2_CLIENT_SSL) != 0)
		info->ssl = true;
	return r;
}

/*
 * Section 2.2: walks the TLVs that must exactly fill base[start..end), of
 * which base[0..avail) is present.  Returns -1 as soon as a vector
 * overruns end (or end leaves less than a TLV header), 0 if bytes are
 * missing, 1 if every vector is there and valid.  top: the header's own
 * list, where PP2_TYPE_SSL is read; unknown types are skipped.
 */
static int
tlv_walk(const uint8_t *base, size_t start, size_t end, size_t avail, bool top,
         struct proxy_info *info)
{
	size_t pos = start;
	while (pos < end) {
		if (end - pos < TLV_HEADER_LEN)
			return -1;
		if (avail < pos + TLV_HEADER_LEN)
			return 0;
		size_t value = pos + TLV_HEADER_LEN;
		size_t value_len = (size_t)base[pos + 1] << 8 | base[pos + 2];
		if (value_len > end - value)
			return -1;
		if (top && base[pos] == PP2_TYPE_SSL) {
			int r = tlv_ssl(base, value, value + value_len, avail,
			                info);
			if (r != 1)
				return r;
		}
		pos = value + value_len;
	}
	return avail >= end ? 1 : 0;
}

/* Section 2.2: source address, destination address, source port,
 * destination port, all in network byte order. */
static void
v2_addresses(uint8_t fam, const uint8_t *block, struct proxy_info *info)
{
	if (fam == V2_TCP4) {
		set_sockaddr(AF_INET, block, block + 8, &info->src,
		             &info->src_len);
		set_sockaddr(AF_INET, block + 4, block + 10, &info->dst,
		             &info->dst_len);
	} else if (fam == V2_TCP6) {
		set_sockaddr(AF_INET6, block, block + 32, &info->src,
		             &info->src_len);
		set_sockaddr(AF_INET6, block + 16, block + 34, &info->dst,
		             &info->dst_len);
	} else {
		/* UDP and AF_UNIX: we may fall back to UNSPEC, that is
		 * keep the real endpoints (section 2.2). */
		info->local = true;
	}
}

/* The body after the fixed part: body_len declared, avail present. */
static int
v2_body(uint8_t ver_cmd, uint8_t fam, const uint8_t *body, size_t body_len,
        size_t avail, struct proxy_info *info)
{
	size_t addr_len;
	if ((ver_cmd & 0xf) == V2_CMD_LOCAL ||
	    !v2_layout_known(fam, &addr_len)) {
		/* LOCAL: "discard the protocol block including the family";
		 * unknown layouts fall back to UNSPEC likewise. */
		info->local = true;
		return avail == body_len ? 1 : 0;
	}
	int r = tlv_walk(body, addr_len, body_len, avail, true, info);
	if (r == 1)
		v2_addresses(fam, body, info);
	return r;
}

static int
v2_parse(const uint8_t *p, size_t len, struct proxy_info *info,
         size_t *consumed_r)
{
	if (!v2_fixed_ok(p, len < V2_FIXED_LEN ? len : V2_FIXED_LEN))
		return -1;
	if (len < V2_FIXED_LEN)
		return 0;
	size_t body_len = (size_t)p[14] << 8 | p[15];
	size_t avail = len - V2_FIXED_LEN;
	int r = v2_body(p[12], p[13], p + V2_FIXED_LEN, body_len,
	                avail < body_len ? avail : body_len, info);
	if (r == 1)
		*consumed_r = V2_FIXED_LEN + body_len;
	return r;
}

/* ------------------------------------------------------------------ */
/* Version 1, section 2.1                                              */

#define V1_PREFIX     "PROXY "
#define V1_PREFIX_LEN (sizeof(V1_PREFIX) - 1)
#define V1_UNKNOWN    "UNKNOWN"
#define V1_NAME_LEN   5 /* "TCP4 " and "TCP6 " */
#define V1_FIELDS     4 /* source, destination, source port, dest port */
#define V1_CRLF_LEN   2

/*
 * Suffixes that complete a prefix of an address, shortest first, so that
 * the first that works is the shortest completion possible (which the
 * 107-byte budget needs).  IPv4: the missing octets.  IPv6: a group, the
 * "::", a last group, or the octets of a trailing dotted IPv4 part.
 */
static const char *const ipv4_completions[] = {
    "", "0", ".0", "0.0", ".0.0", "0.0.0", ".0.0.0", "0.0.0.0",
};
static const char *const ipv6_completions[] = {
    "", "0", ":", "::", ":0", ".0", "0.0", ".0.0", "0.0.0", ".0.0.0",
};

static bool
has_prefix(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	return len >= n && memcmp(s, prefix, n) == 0;
}

/* Whether s[0..len) could still become name. */
static bool
is_prefix_of(const char *s, size_t len, const char *name)
{
	return len <= strlen(name) && memcmp(s, name, len) == 0;
}

static bool
addr_chars_ok(int family, const char *s, size_t len)
{
	const char *allowed =
	    family == AF_INET ? "0123456789." : "0123456789abcdefABCDEF:.";
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\0' || strchr(allowed, s[i]) == NULL)
			return false;
	}
	return true;
}

/* inet_pton() of s[0..len) followed by suffix; out may be NULL. */
static bool
addr_text_parse(int family, const char *s, size_t len, const char *suffix,
                void *out)
{
	size_t max =
	    family == AF_INET ? INET_ADDRSTRLEN - 1 : INET6_ADDRSTRLEN - 1;
	size_t suffix_len = strlen(suffix);
	char text[INET6_ADDRSTRLEN];
	struct in6_addr scratch;
	if (len + suffix_len > max || !addr_chars_ok(family, s, len))
		return false;
	memcpy(text, s, len);
	memcpy(text + len, suffix, suffix_len + 1);
	return inet_pton(family, text, out != NULL ? out : &scratch) == 1;
}

/* The fewest bytes that make s[0..len) an address, or -1 if none do. */
static int
addr_completion(int family, const char *s, size_t len)
{
	const char *const *list =
	    family == AF_INET ? ipv4_completions : ipv6_completions;
	size_t count = family == AF_INET ? N_ELEMENTS(ipv4_completions)
	                                 : N_ELEMENTS(ipv6_completions);
	for (size_t i = 0; i < count; i++) {
		if (addr_text_parse(family, s, len, list[i], NULL))
			return (int)strlen(list[i]);
	}
	return -1;
}

/* Section 2.1: decimal 0..65535, "heading zeroes are not permitted". */
static bool
port_parse(const char *s, size_t len, uint16_t *port_r)
{
	uint64_t value;
	if (len > 1 && s[0] == '0')
		return false;
	if (!parse_u64(s, len, UINT16_MAX, &value))
		return false;
	*port_r = htons((uint16_t)value);
	return true;
}

/* Field i of a TCP4/TCP6 line into info. */
static bool
v1_field_parse(int family, unsigned i, const char *s, size_t len,
               struct proxy_info *info)
{
	struct sockaddr_storage *ss = i % 2 == 0 ? &info->src : &info->dst;
	socklen_t *ss_len = i % 2 == 0 ? &info->src_len : &info->dst_len;
	struct in6_addr addr; /* room for either family */
	uint16_t port = 0;    /* set by a later field */
	if (i < 2) {
		if (!addr_text_parse(family, s, len, "", &addr))
			return false;
		set_sockaddr(family, &addr, &port, ss, ss_len);
		return true;
	}
	if (!port_parse(s, len, &port))
		return false;
	if (family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = port;
	else
		((struct sockaddr_in6 *)ss)->sin6_port = port;
	return true;
}

/* The shortest text field i can have: "0.0.0.0", "::" or "0". */
static size_t
v1_field_min(int family, unsigned i)
{
	if (i >= 2)
		return 1;
	return family == AF_INET ? 7 : 2;
}

/* For a partial field i, the fewest bytes that complete it and the fields
 * after it (CRLF not counted); false if nothing can. */
static bool
v1_field_need(int family, unsigned i, const char *s, size_t len, size_t *need_r)
{
	size_t need = 0;
	uint16_t port;
	if (i < 2) {
		int c = addr_completion(family, s, len);
		if (c < 0)
			return false;
		need = (size_t)c;
	} else if (len == 0) {
		need = 1;
	} else if (!port_parse(s, len, &port)) {
		return false; /* a bad port has no valid extension either */
	}
	for (unsigned j = i + 1; j < V1_FIELDS; j++)
		need += 1 + v1_field_min(family, j);
	*need_r = need;
	return true;
}

/*
 * The four space-separated fields after "TCP4 " or "TCP6 ".  complete:
 * s[0..len) is the whole rest of the line; otherwise a prefix of it, and
 * *need_r is set to the fewest bytes still needed before the CRLF.
 */
static bool
v1_fields(int family, const char *s, size_t len, bool complete,
          struct proxy_info *info, size_t *need_r)
{
	size_t pos = 0;
	for (unsigned i = 0; i < V1_FIELDS; i++) {
		const char *space = memchr(s + pos, ' ', len - pos);
		size_t field_len =
		    space != NULL ? (size_t)(space - (s + pos)) : len - pos;
		if (space == NULL && !complete)
			return v1_field_need(family, i, s + pos, field_len,
			                     need_r);
		/* Exactly one space between fields, none after the last. */
		if ((space == NULL) != (i == V1_FIELDS - 1))
			return false;
		if (!v1_field_parse(family, i, s + pos, field_len, info))
			return false;
		pos += field_len + 1;
	}
	return true;
}

/* "UNKNOWN" then nothing or a space and anything but CR ("the receiver
 * must ignore anything presented before the CRLF"). */
static bool
v1_unknown_tail(const char *s, size_t len, struct proxy_info *info)
{
	if (len > 0 && s[0] != ' ')
		return false;
	info->local = true;
	return memchr(s, '\r', len) == NULL;
}

/*
 * A line without its CRLF (complete) or a prefix of one that does not end
 * in CR.  Sets *need_r to the fewest bytes still needed before the CRLF;
 * it stays 0 while the protocol name is incomplete, as even the longest
 * prefix of that kind and the shortest line after it fit in 107 bytes.
 */
static bool
v1_body(const char *p, size_t len, bool complete, struct proxy_info *info,
        size_t *need_r)
{
	*need_r = 0;
	if (len < V1_PREFIX_LEN)
		return !complete && memcmp(p, V1_PREFIX, len) == 0;
	if (memcmp(p, V1_PREFIX, V1_PREFIX_LEN) != 0)
		return false;
	const char *s = p + V1_PREFIX_LEN;
	size_t n = len - V1_PREFIX_LEN;
	if (has_prefix(s, n, V1_UNKNOWN))
		return v1_unknown_tail(s + strlen(V1_UNKNOWN),
		                       n - strlen(V1_UNKNOWN), info);
	if (has_prefix(s, n, "TCP4 "))
		return v1_fields(AF_INET, s + V1_NAME_LEN, n - V1_NAME_LEN,
		                 complete, info, need_r);
	if (has_prefix(s, n, "TCP6 "))
		return v1_fields(AF_INET6, s + V1_NAME_LEN, n - V1_NAME_LEN,
		                 complete, info, need_r);
	return !complete &&
	       (is_prefix_of(s, n, V1_UNKNOWN) || is_prefix_of(s, n, "TCP4 ") ||
	        is_prefix_of(s, n, "TCP6 "));
}

/* Whether p[0..len), with no LF and len < PROXY_V1_MAX, can still begin a
 * valid line of at most PROXY_V1_MAX bytes. */
static bool
v1_prefix_ok(const char *p, size_t len)
{
	struct proxy_info scratch = {0};
	size_t need;
	/* Section 2.1: a CR must be the one of the final CRLF. */
	if (p[len - 1] == '\r')
		return v1_body(p, len - 1, true, &scratch, &need);
	return v1_body(p, len, false, &scratch, &need) &&
	       len + need + V1_CRLF_LEN <= PROXY_V1_MAX;
}

static int
v1_parse(const char *p, size_t len, struct proxy_info *info, size_t *consumed_r)
{
	size_t n = len < PROXY_V1_MAX ? len : PROXY_V1_MAX;
	const char *lf = memchr(p, '\n', n);
	size_t need;
	if (lf == NULL)
		return n < PROXY_V1_MAX && v1_prefix_ok(p, n) ? 0 : -1;
	/* Section 2.1: "not tolerate a single CR or LF character". */
	size_t line_len = (size_t)(lf - p);
	if (line_len == 0 || p[line_len - 1] != '\r' ||
	    !v1_body(p, line_len - 1, true, info, &need))
		return -1;
	*consumed_r = line_len + 1;
	return 1;
}

/* ------------------------------------------------------------------ */

int
proxy_parse(const void *data, size_t len, struct proxy_info *info_r,
            size_t *consumed_r)
{
	const uint8_t *p = data;
	struct proxy_info info = {0};
	size_t consumed = 0;
	int r;
	if (len == 0)
		return 0;
	/* Section 2.2: the first byte tells the versions apart. */
	if (p[0] == v2_signature[0])
		r = v2_parse(p, len, &info, &consumed);
	else if (p[0] == V1_PREFIX[0])
		r = v1_parse(data, len, &info, &consumed);
	else
		return -1;
	if (r == 1) {
		*info_r = info;
		*consumed_r = consumed;
	}
	return r;
}

bool
proxy_addr_format(const struct sockaddr_storage *addr, char *buf, size_t size)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
	char ip[INET6_ADDRSTRLEN];
	int n = -1;
	if (addr->ss_family == AF_INET &&
	    inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip)) != NULL)
		n = snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	else if (addr->ss_family == AF_INET6 &&
	         inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip)) != NULL)
		n = snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	if (n >= 0 && (size_t)n < size)
		return true;
	if (size > 0)
		buf[0] = '\0';
	return false;
}
