/*
 * Fuzzes the PROXY protocol parser.  The input is what the load balancer
 * sends.  proxy_parse() keeps no state, so a split read is the caller
 * calling again with a longer prefix: the input is parsed whole, then as
 * every prefix, each copied into a buffer of exactly its size so that ASan
 * sees any read past the bytes that have arrived.  The first prefix to
 * get an answer must get the whole input's answer (for 1, being exactly
 * the header), every longer prefix the same, and PROXY_HEADER_MAX bytes
 * must be enough.  Accepted headers are checked against the format and
 * re-encoded canonically, which must parse to the same addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxy.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct result {
	int r;
	size_t consumed;
	struct proxy_info info;
};

static struct result
parse_copy(const uint8_t *data, size_t len)
{
	uint8_t *copy = xmalloc(len > 0 ? len : 1);
	memcpy(copy, data, len);
	struct result res = {.r = 0};
	res.r = proxy_parse(copy, len, &res.info, &res.consumed);
	free(copy);
	i_assert(res.r >= -1 && res.r <= 1);
	return res;
}

static bool
same_sockaddr(const struct sockaddr_storage *a, socklen_t a_len,
              const struct sockaddr_storage *b, socklen_t b_len)
{
	return a_len == b_len && memcmp(a, b, a_len) == 0;
}

static bool
same_result(const struct result *a, const struct result *b)
{
	if (a->r != b->r)
		return false;
	if (a->r != 1)
		return true;
	return a->consumed == b->consumed && a->info.local == b->info.local &&
	       a->info.ssl == b->info.ssl &&
	       same_sockaddr(&a->info.src, a->info.src_len, &b->info.src,
	                     b->info.src_len) &&
	       same_sockaddr(&a->info.dst, a->info.dst_len, &b->info.dst,
	                     b->info.dst_len);
}

/* Both endpoints of one family, consistent lengths, formattable. */
static void
check_endpoints(const struct proxy_info *info)
{
	char buf[PROXY_ADDR_STRLEN];
	if (info->local) {
		i_assert(info->src_len == 0 && info->dst_len == 0);
		i_assert(!proxy_addr_format(&info->src, buf, sizeof(buf)));
		return;
	}
	int family = info->src.ss_family;
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in)
	                                  : sizeof(struct sockaddr_in6);
	i_assert(family == AF_INET || family == AF_INET6);
	i_assert(info->dst.ss_family == family);
	i_assert(info->src_len == len && info->dst_len == len);
	i_assert(proxy_addr_format(&info->src, buf, sizeof(buf)));
	i_assert(strlen(buf) < PROXY_ADDR_STRLEN);
	i_assert(proxy_addr_format(&info->dst, buf, sizeof(buf)));
}

/* The endpoint's address and port, as inet_ntop() text and host order. */
static void
endpoint_text(const struct sockaddr_storage *ss, char *ip, unsigned *port_r)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, INET6_ADDRSTRLEN);
		*port_r = ntohs(sin->sin_port);
	} else {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, INET6_ADDRSTRLEN);
		*port_r = ntohs(sin6->sin6_port);
	}
}

/* A v1 line written from info's endpoints parses to the same ones
 * (inet_ntop() may write a dotted IPv4 tail: it fits in 107 bytes). */
static void
check_v1_reencoded(const struct proxy_info *info)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	char line[PROXY_V1_MAX + 1];
	unsigned sport, dport;
	endpoint_text(&info->src, src, &sport);
	endpoint_text(&info->dst, dst, &dport);
	int n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
	                 info->src.ss_family == AF_INET ? "TCP4" : "TCP6", src,
	                 dst, sport, dport);
	i_assert(n > 0 && (size_t)n < sizeof(line));
	struct result again = parse_copy((const uint8_t *)line, (size_t)n);
	i_assert(again.r == 1 && again.consumed == (size_t)n);
	i_assert(!again.info.local);
	i_assert(same_sockaddr(&info->src, info->src_len, &again.info.src,
	                       again.info.src_len));
	i_assert(same_sockaddr(&info->dst, info->dst_len, &again.info.dst,
	                       again.info.dst_len));
}

static void
check_v1_header(const uint8_t *data, const struct result *res)
{
	size_t n = res->consumed;
	i_assert(n >= sizeof("PROXY UNKNOWN\r\n") - 1 && n <= PROXY_V1_MAX);
	i_assert(memcmp(data, "PROXY ", 6) == 0);
	i_assert(data[n - 2] == '\r' && data[n - 1] == '\n');
	i_assert(memchr(data, '\n', n - 1) == NULL);
	i_assert(memchr(data, '\r', n - 2) == NULL);
	i_assert(!res->info.ssl);
	i_assert(res->info.local == (memcmp(data + 6, "UNKNOWN", 7) == 0));
	if (!res->info.local)
		check_v1_reencoded(&res->info);
}

static void
check_v2_header(const uint8_t *data, const struct result *res)
{
	size_t body_len = (size_t)data[14] << 8 | data[15];
	const struct proxy_info *info = &res->info;
	i_assert(res->consumed == 16 + body_len);
	i_assert(data[12] >> 4 == 2 && (data[12] & 0xf) <= 1);
	if ((data[12] & 0xf) == 0)
		i_assert(info->local && !info->ssl);
	if (info->local)
		return;
	const uint8_t *block = data + 16;
	if (info->src.ss_family == AF_INET) {
		const struct sockaddr_in *src = (const void *)&info->src;
		const struct sockaddr_in *dst = (const void *)&info->dst;
		i_assert(data[13] == 0x11 && body_len >= 12);
		i_assert(memcmp(&src->sin_addr, block, 4) == 0);
		i_assert(memcmp(&dst->sin_addr, block + 4, 4) == 0);
		i_assert(memcmp(&src->sin_port, block + 8, 2) == 0);
		i_assert(memcmp(&dst->sin_port, block + 10, 2) == 0);
	} else {
		const struct sockaddr_in6 *src = (const void *)&info->src;
		const struct sockaddr_in6 *dst = (const void *)&info->dst;
		i_assert(data[13] == 0x21 && body_len >= 36);
		i_assert(memcmp(&src->sin6_addr, block, 16) == 0);
		i_assert(memcmp(&dst->sin6_addr, block + 16, 16) == 0);
		i_assert(memcmp(&src->sin6_port, block + 32, 2) == 0);
		i_assert(memcmp(&dst->sin6_port, block + 34, 2) == 0);
	}
}

static void
check_accepted(const uint8_t *data, const struct result *res)
{
	i_assert(res->consumed <= PROXY_HEADER_MAX);
	check_endpoints(&res->info);
	if (data[0] == 'P')
		check_v1_header(data, res);
	else
		check_v2_header(data, res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result whole = parse_copy(data, size);
	if (whole.r == 1)
		check_accepted(data, &whole);
	/* Answers are final once given, so longer prefixes add nothing. */
	size_t max = size < PROXY_HEADER_MAX ? size : PROXY_HEADER_MAX;
	bool decided = false;
	for (size_t k = 0; k <= max; k++) {
		struct result part = parse_copy(data, k);
		if (part.r == 0) {
			i_assert(!decided);
			continue;
		}
		i_assert(same_result(&part, &whole));
		if (part.r == 1 && !decided)
			i_assert(part.consumed == k);
		decided = true;
	}
	i_assert(decided == (whole.r != 0));
	if (size >= PROXY_HEADER_MAX)
		i_assert(whole.r != 0);
	return 0;
}
