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

int
main(void)
{
	static const struct test_case cases[] = {
	    {"miss then hit", test_miss_then_hit},
	    {"wrong password misses", test_wrong_password_misses},
	    {"changed hash misses", test_changed_hash_misses},
	};
	return test_run("password-cache", cases,
	                sizeof(cases) / sizeof(cases[0]));
}
