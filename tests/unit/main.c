/* The unit-test runner: runs every registered TEST (or those whose name contains argv[1])
 * and prints one PASS/FAIL line per test and a closing "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#define MAX_TESTS 1024

static struct {
	const char *name;
	test_fn fn;
} tests[MAX_TESTS];
static int test_count;
static int current_failed;

void test_register(const char *name, test_fn fn)
{
	if (test_count == MAX_TESTS) {
		fprintf(stderr, "too many tests (max %d)\n", MAX_TESTS);
		abort();
	}
	tests[test_count].name = name;
	tests[test_count].fn = fn;
	test_count++;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (current_failed++ > 5)
		return; /* one broken loop must not flood the log */
	fprintf(stdout, "    %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
}

static int by_name(const void *a, const void *b)
{
	const char *const *x = a, *const *y = b;
	return strcmp(*x, *y);
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	qsort(tests, test_count, sizeof(tests[0]), by_name);
	for (int i = 0; i < test_count; i++) {
		if (argc > 1 && !strstr(tests[i].name, argv[1]))
			continue;
		current_failed = 0;
		tests[i].fn();
		printf("%s unit/%s\n", current_failed ? "FAIL" : "PASS", tests[i].name);
		fflush(stdout);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
