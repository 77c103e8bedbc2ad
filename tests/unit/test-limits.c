/* Tests for the abuse limits and the login tickets: auth/throttle.c,
 * auth/ticket.c, login/peer-limit.c, mail/user-limit.c, net/cidr.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "auth/throttle.h"
#include "auth/ticket.h"
#include "login/peer-limit.h"
#include "mail/user-limit.h"
#include "net/cidr.h"
#include "test.h"
#include "util.h"

static void
test_throttle_pair(void)
{
	struct throttle *t = throttle_create();
	uint64_t now = 1000000;
	/* Three failures pass at once; then the pair waits, longer each
	 * time. */
	for (int i = 0; i < 3; i++)
		test_assert(throttle_finish(t, "192.0.2.1", "alice", false,
		                            now) == now);
	uint64_t first = throttle_finish(t, "192.0.2.1", "alice", false, now);
	test_assert(first > now);
	uint64_t second = throttle_finish(t, "192.0.2.1", "alice", false, now);
	test_assert(second > first);
	/* The same user from elsewhere, and another user here: not slowed
	 * by the pair. */
	test_assert(throttle_finish(t, "198.51.100.9", "alice", true, now) ==
	            now);
	test_assert(throttle_finish(t, "192.0.2.1", "bob", true, now) == now);
	/* A success even answers late while the pair is limited: the right
	 * password is not told apart by timing. */
	test_assert(throttle_finish(t, "192.0.2.1", "alice", true, now) > now);
	throttle_destroy(&t);
}

static void
test_throttle_address_and_decay(void)
{
	struct throttle *t = throttle_create();
	uint64_t now = 5000000;
	char user[16];
	for (int i = 0; i < THROTTLE_IP_FREE + 2; i++) {
		snprintf(user, sizeof(user), "u%d", i);
		(void)throttle_finish(t, "203.0.113.5", user, false, now);
	}
	/* A scanner's address: new exchanges wait, longer each time. */
	uint64_t first = throttle_admit(t, "203.0.113.5", now);
	test_assert(first > now);
	test_assert(throttle_admit(t, "203.0.113.5", now) > first);
	/* Other addresses do not. */
	test_assert(throttle_admit(t, "203.0.113.6", now) == now);
	/* A trusted address (NULL) is never limited as an address. */
	for (int i = 0; i < 50; i++)
		(void)throttle_finish(t, NULL, "", false, now);
	test_assert(throttle_admit(t, NULL, now) == now);
	/* An hour later the failures have faded. */
	uint64_t later = now + 12 * (uint64_t)THROTTLE_HALF_LIFE_MS;
	test_assert(throttle_admit(t, "203.0.113.5", later) == later);
	throttle_destroy(&t);
}

static void
test_tickets(void)
{
	unsigned char key[TICKET_KEY_LEN], other[TICKET_KEY_LEN];
	unsigned char ticket[TICKET_LEN], nonce[TICKET_NONCE_LEN];
	memset(key, 7, sizeof(key));
	memset(other, 8, sizeof(other));
	ticket_make(key, "alice", 42, ticket);
	test_assert(
	    ticket_check(key, "alice", 42, ticket, sizeof(ticket), nonce));
	test_assert(
	    !ticket_check(other, "alice", 42, ticket, sizeof(ticket), nonce));
	test_assert(
	    !ticket_check(key, "bob", 42, ticket, sizeof(ticket), nonce));
	test_assert(
	    !ticket_check(key, "alice", 43, ticket, sizeof(ticket), nonce));
	test_assert(
	    !ticket_check(key, "alice", 42, ticket, sizeof(ticket) - 1, nonce));
	ticket[TICKET_LEN - 1] ^= 1;
	test_assert(
	    !ticket_check(key, "alice", 42, ticket, sizeof(ticket), nonce));
	/* An expired one: the expiry is covered by the MAC, so only a
	 * ticket made in the past could carry it; shift the clock by
	 * editing the expiry and see the MAC catch it. */
	ticket[TICKET_LEN - 1] ^= 1;
	uint64_t expires;
	memcpy(&expires, ticket + TICKET_NONCE_LEN, 8);
	expires -= TICKET_TTL_MS + 1;
	memcpy(ticket + TICKET_NONCE_LEN, &expires, 8);
	test_assert(
	    !ticket_check(key, "alice", 42, ticket, sizeof(ticket), nonce));
}

static void
test_ticket_replay(void)
{
	struct ticket_replay *r = ticket_replay_create();
	unsigned char a[TICKET_NONCE_LEN], b[TICKET_NONCE_LEN];
	memset(a, 1, sizeof(a));
	memset(b, 2, sizeof(b));
	test_assert(ticket_replay_use(r, a));
	test_assert(!ticket_replay_use(r, a));
	test_assert(ticket_replay_use(r, b));
	ticket_replay_destroy(&r);
}

static void
test_peer_limit(void)
{
	struct peer_limit *pl = peer_limit_create(2);
	test_assert(peer_limit_take(pl, "192.0.2.1"));
	test_assert(peer_limit_take(pl, "192.0.2.1"));
	test_assert(!peer_limit_take(pl, "192.0.2.1"));
	test_assert(peer_limit_take(pl, "192.0.2.2"));
	peer_limit_release(pl, "192.0.2.1");
	test_assert(peer_limit_take(pl, "192.0.2.1"));
	/* Loopback (a local webmail, the benchmarks) is not limited. */
	for (int i = 0; i < 10; i++)
		test_assert(peer_limit_take(pl, "127.0.0.1"));
	peer_limit_destroy(&pl);
}

static void
test_user_limit(void)
{
	struct user_limit *ul = user_limit_create(3);
	for (int i = 0; i < 3; i++)
		test_assert(user_limit_take(ul, "alice"));
	test_assert(!user_limit_take(ul, "alice"));
	test_assert(user_limit_take(ul, "bob"));
	user_limit_release(ul, "alice");
	test_assert(user_limit_take(ul, "alice"));
	user_limit_destroy(&ul);
}

static struct sockaddr_storage
test_addr(int family, const char *text)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	void *dst = family == AF_INET
	                ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
	                : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
	inet_pton(family, text, dst);
	return ss;
}

static void
test_cidr(void)
{
	struct cidr c;
	test_assert(cidr_parse("10.0.0.0/8", &c));
	struct sockaddr_storage in = test_addr(AF_INET, "10.1.2.3");
	struct sockaddr_storage out = test_addr(AF_INET, "11.0.0.1");
	struct sockaddr_storage mapped = test_addr(AF_INET6, "::ffff:10.9.9.9");
	test_assert(cidr_match(&c, &in));
	test_assert(!cidr_match(&c, &out));
	test_assert(cidr_match(&c, &mapped));
	test_assert(cidr_parse("2001:db8::/32", &c));
	struct sockaddr_storage v6 = test_addr(AF_INET6, "2001:db8:1::5");
	test_assert(cidr_match(&c, &v6));
	test_assert(!cidr_match(&c, &in));
	test_assert(cidr_parse("192.0.2.7", &c) && c.prefix == 32);
	test_assert(!cidr_parse("10.0.0.0/33", &c));
	test_assert(!cidr_parse("10.0.0/8", &c));
	test_assert(!cidr_parse("/8", &c));
	test_assert(!cidr_parse("10.0.0.0/", &c));
	test_assert(!cidr_parse("::1/129", &c));
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"throttle: pairs", test_throttle_pair},
	    {"throttle: addresses, decay", test_throttle_address_and_decay},
	    {"tickets", test_tickets},
	    {"ticket replay", test_ticket_replay},
	    {"pre-login connections per address", test_peer_limit},
	    {"sessions per user", test_user_limit},
	    {"networks", test_cidr},
	};
	return test_run("limits", cases, N_ELEMENTS(cases));
}
