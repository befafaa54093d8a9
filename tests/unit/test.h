/* The unit-test framework: TEST(name) registers a function, CHECK* record failures.
 * Every tests/unit/test_*.c links into one runner (build/unit-tests). */
#ifndef SURGE_TEST_H
#define SURGE_TEST_H

#include <stdio.h>
#include <string.h>
#include <inttypes.h>

typedef void (*test_fn)(void);
void test_register(const char *name, test_fn fn);
void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define TEST(name)                                                                                 \
	static void test_##name(void);                                                             \
	__attribute__((constructor)) static void test_register_##name(void)                        \
	{                                                                                          \
		test_register(#name, test_##name);                                                 \
	}                                                                                          \
	static void test_##name(void)

/* A test of both event-loop backends: NAME(enum loop_io_choice) runs as NAME_epoll and as
 * NAME_uring (a file using it includes core/loop.h). */
#define TEST_EACH_IO(name)                                                                         \
	TEST(name##_epoll)                                                                         \
	{                                                                                          \
		name(LOOP_IO_EPOLL);                                                               \
	}                                                                                          \
	TEST(name##_uring)                                                                         \
	{                                                                                          \
		name(LOOP_IO_URING);                                                               \
	}

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);                         \
	} while (0)

#define CHECK_INT(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_)                                                                      \
			test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_,   \
			          #b, b_);                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                            \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                                             \
			test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a,         \
			          a_ ? a_ : "(null)", b_ ? b_ : "(null)");                         \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                                      \
	do {                                                                                       \
		double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);                     \
		if (!(a_ >= b_ - t_ && a_ <= b_ + t_))                                             \
			test_fail(__FILE__, __LINE__, "%s == %g, expected %g ± %g", #a, a_, b_,    \
			          t_);                                                             \
	} while (0)

#endif
