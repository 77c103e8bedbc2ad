#ifndef CASELLA_PROXY_H
#define CASELLA_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/*
 * HAProxy PROXY protocol, versions 1 (text) and 2 (binary), as a server
 * receives it from a trusted load balancer before any application byte
 * (haproxy doc/proxy-protocol.txt).  Pure: no I/O, no allocation, no
 * state; the caller keeps the bytes read so far and calls again with more.
 */

/* Section 2.1: a v1 line is at most 107 bytes, CRLF included. */
#define PROXY_V1_MAX 107
/*
 * Our limit for a whole v2 header (16 fixed bytes plus the declared
 * length).  Section 2.2 says the header is sent at once and is smaller
 * than an MSS; 536 is the smallest IPv4 TCP MSS (RFC 1122 4.2.2.6).  It
 * leaves 484 bytes of TLVs after IPv6 addresses.  v1 lines are shorter
 * still, so a caller holding PROXY_HEADER_MAX bytes always gets 1 or -1.
 */
#define PROXY_HEADER_MAX 536
/* Room for proxy_addr_format(): "[" IPv6 "]:" port NUL. */
#define PROXY_ADDR_STRLEN 54

struct proxy_info {
	/* LOCAL command, v1 UNKNOWN, or an unsupported family/transport
	 * (AF_UNSPEC, AF_UNIX, DGRAM): keep the real peer; src and dst are
	 * then zero and their lengths 0. */
	bool local;
	struct sockaddr_storage src; /* client, AF_INET or AF_INET6 */
	struct sockaddr_storage dst; /* address the client connected to */
	socklen_t src_len, dst_len;  /* sizeof the sockaddr_in(6) */
	/* v2 PP2_TYPE_SSL with PP2_CLIENT_SSL: the client used TLS to
	 * reach the proxy (may be set with local for UDP or AF_UNIX).
	 * Always false for v1, LOCAL and blocks of unknown layout, whose
	 * TLVs are not read. */
	bool ssl;
};

/*
 * Parses a PROXY header at the start of data.  Returns 1 when a whole
 * valid header is there: *info_r is filled and *consumed_r is its exact
 * length (following bytes belong to the application).  Returns 0 when
 * data is a proper prefix of some valid header, -1 as soon as it can no
 * longer become one; *info_r and *consumed_r are untouched then.  An
 * answer other than 0 never changes when more bytes are appended, and
 * PROXY_HEADER_MAX bytes always give one.
 *
 * Accepted: v1 "PROXY TCP4|TCP6 src dst sport dport\r\n" with single
 * spaces, inet_pton() addresses of the named family and decimal ports
 * 0..65535 without leading zeros; v1 "PROXY UNKNOWN" followed by any
 * bytes but CR and LF, then CRLF.  v2 (section 2.2): LOCAL with any
 * block; PROXY with family 0..3 and transport 0..2.  For the six layouts
 * the spec lists (TCP, UDP, UNIX over STREAM or DGRAM) the declared
 * length must hold the address block and TLVs must exactly fill the rest
 * (SSL and its sub-TLVs bounds-checked, unknown types skipped, CRC32C
 * not verified); other combinations are UNSPEC and their block skipped.
 * The caller enforces a timeout: section 2.2 wants partial headers
 * rejected, and 0 only means "not yet".
 */
int proxy_parse(const void *data, size_t len, struct proxy_info *info_r,
                size_t *consumed_r);

/*
 * Writes an AF_INET address as "a.b.c.d:port" or an AF_INET6 one as
 * "[v6]:port" into buf.  Returns false (buf set to "") for any other
 * family or if size is too small; PROXY_ADDR_STRLEN is always enough.
 */
bool proxy_addr_format(const struct sockaddr_storage *addr, char *buf,
                       size_t size);

#endif
