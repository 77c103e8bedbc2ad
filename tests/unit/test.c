#include "test.h"

int test_failures_in_current;

int
test_run(const char *suite, const struct test_case *cases, size_t count)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < count; i++) {
		test_failures_in_current = 0;
		cases[i].func();
		if (test_failures_in_current == 0) {
			passed++;
			printf("ok   %s: %s\n", suite, cases[i].name);
		} else {
			failed++;
			printf("FAIL %s: %s\n", suite, cases[i].name);
		}
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed == 0 ? 0 : 1;
}
