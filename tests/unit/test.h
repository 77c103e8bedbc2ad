#ifndef CASELLA_TEST_H
#define CASELLA_TEST_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Minimal unit-test harness: each test file's main() calls test_run() with
 * a table of test functions; test_assert() records failures and goes on.
 * Prints "N passed, N failed" per file.
 */
extern int test_failures_in_current;

#define test_assert(expr)                                                      \
	do {                                                                   \
		if (!(expr)) {                                                 \
			fprintf(stderr, "  assertion failed: %s (%s:%d)\n",    \
			        #expr, __FILE__, __LINE__);                    \
			test_failures_in_current++;                            \
		}                                                              \
	} while (0)

struct test_case {
	const char *name;
	void (*func)(void);
};

/* Runs every case; returns the process exit code (0 if all passed). */
int test_run(const char *suite, const struct test_case *cases, size_t count);

#endif
