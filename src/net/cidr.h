#ifndef CASELLA_CIDR_H
#define CASELLA_CIDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 network, as in "10.0.0.0/8" or "2001:db8::/32". */
struct cidr {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned prefix; /* bits */
};

/* Parses "ADDR" (a single host) or "ADDR/BITS"; false if malformed. */
bool cidr_parse(const char *s, struct cidr *cidr_r);
/* Whether addr (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts
 * as IPv4) is in the network. */
bool cidr_match(const struct cidr *cidr, const struct sockaddr_storage *addr);

#endif
