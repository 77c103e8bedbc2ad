#include <pthread.h>
#include <unistd.h>

#include "auth/password-cache.h"
#include "test.h"

static void
test_miss_then_hit(void)
{
	const char *hash = "$y$j9T$saltsaltsalt$hashhashhash";
	test_assert(!password_cache_check(hash, "secret"));
	password_cache_add(hash, "secret");
	test_assert(password_cache_check(hash, "secret"));
}

static void
test_wrong_password_misses(void)
{
	const char *hash = "$y$j9T$othersalt$otherhash";
	password_cache_add(hash, "right");
	test_assert(!password_cache_check(hash, "wrong"));
	test_assert(!password_cache_check(hash, "righ"));
	test_assert(!password_cache_check(hash, "right "));
	test_assert(!password_cache_check(hash, ""));
}

static void
test_changed_hash_misses(void)
{
	/* A password change gives a new stored hash: the old entry must not
	 * vouch for it, nor for another user with the same password. */
	password_cache_add("$y$j9T$a$old", "pw");
	test_assert(!password_cache_check("$y$j9T$a$new", "pw"));
	test_assert(!password_cache_check("$y$j9T$b$old", "pw"));
	test_assert(password_cache_check("$y$j9T$a$old", "pw"));
}

static bool waiter_claimed;

static void *
test_waiter(void *arg)
{
	waiter_claimed = password_cache_claim("$y$j9T$w$hash", "pw");
	return NULL;
}

static void
test_one_verification_at_a_time(void)
{
	/* The first claims; a second for the same pair waits for it, then
	 * is told not to verify (the result is in the cache). */
	test_assert(password_cache_claim("$y$j9T$w$hash", "pw"));
	pthread_t t;
	waiter_claimed = true;
	pthread_create(&t, NULL, test_waiter, NULL);
	usleep(100000);
	password_cache_add("$y$j9T$w$hash", "pw");
	password_cache_release("$y$j9T$w$hash", "pw");
	pthread_join(t, NULL);
	test_assert(!waiter_claimed);
	test_assert(password_cache_check("$y$j9T$w$hash", "pw"));
	/* Another password is not held up. */
	test_assert(password_cache_claim("$y$j9T$w$hash", "other"));
	password_cache_release("$y$j9T$w$hash", "other");
}

int
main(void)
{
	static const struct test_case cases[] = {
	    {"miss then hit", test_miss_then_hit},
	    {"wrong password misses", test_wrong_password_misses},
	    {"changed hash misses", test_changed_hash_misses},
	    {"one verification at a time", test_one_verification_at_a_time},
	};
	return test_run("password-cache", cases,
	                sizeof(cases) / sizeof(cases[0]));
}
