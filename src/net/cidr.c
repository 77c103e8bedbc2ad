/* IP networks; see cidr.h. */
#include "net/cidr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

bool
cidr_parse(const char *s, struct cidr *cidr_r)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, s, len);
	host[len] = '\0';
	memset(cidr_r, 0, sizeof(*cidr_r));
	unsigned max;
	if (inet_pton(AF_INET, host, cidr_r->addr) == 1) {
		cidr_r->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, cidr_r->addr) == 1) {
		cidr_r->family = AF_INET6;
		max = 128;
	} else {
		return false;
	}
	uint32_t bits = max;
	if (slash != NULL &&
	    (!parse_u32(slash + 1, strlen(slash + 1), &bits) || bits > max))
		return false;
	cidr_r->prefix = bits;
	return true;
}

static bool
cidr_bits_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned bytes = bits / 8, rest = bits % 8;
	if (memcmp(a, b, bytes) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a[bytes] & mask) == (b[bytes] & mask);
}

bool
cidr_match(const struct cidr *cidr, const struct sockaddr_storage *addr)
{
	const uint8_t *bytes;
	int family = addr->ss_family;
	if (family == AF_INET) {
		bytes = (const uint8_t *)&((const struct sockaddr_in *)addr)
		            ->sin_addr;
	} else if (family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)addr)->sin6_addr;
		bytes = a6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			family = AF_INET;
			bytes += 12;
		}
	} else {
		return false;
	}
	return family == cidr->family &&
	       cidr_bits_match(bytes, cidr->addr, cidr->prefix);
}
