/* alloc_fail: a malloc that fails on command, linked into the allocation-failure test build
 * of surge (build/allocfail/surge, `make alloc-fail`), never into the product.
 *
 * Defined in the executable, these functions come first in the dynamic linker's search
 * order, so they also take the allocations of the libraries surge calls (OpenSSL, jansson,
 * libpq, hiredis, SQLite, glibc's own stdio, getaddrinfo, ...). Each forwards to the next
 * definition (RTLD_NEXT): AddressSanitizer's allocator in the sanitized test build, glibc's
 * otherwise, so leaks and bad accesses after a failure are still seen.
 *
 * SURGE_ALLOC_FAIL chooses which calls fail (counted from 1, over all threads):
 *   nth:N          only the Nth call
 *   after:N        the Nth call and every one after it
 *   random:K:SEED  each call with probability 1/K (xorshift from SEED; with threads the
 *                  order of calls, so which fail, may differ from run to run)
 * unset or "count": none fail. Counting starts at main (see arm()). SURGE_ALLOC_FAIL_REPORT=FILE
 * appends one line at exit: "calls C failed F first_failed N" (N is 0 when none failed), which is
 * how the test learns how many calls a run makes, and whether the chosen one was reached. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum mode { MODE_NONE, MODE_NTH, MODE_AFTER, MODE_RANDOM };

static enum mode mode;
static uint64_t mode_n, mode_k;
static _Atomic uint64_t calls, failed, first_failed;
static _Atomic uint64_t rng;
static atomic_int ready;  /* 0 not yet, 1 resolving, 2 ready */
static atomic_bool armed; /* from main on: see arm() */

static void *(*next_malloc)(size_t);
static void *(*next_calloc)(size_t, size_t);
static void *(*next_realloc)(void *, size_t);
static int (*next_posix_memalign)(void **, size_t, size_t);
static void *(*next_aligned_alloc)(size_t, size_t);
static void *(*next_memalign)(size_t, size_t);
static void (*next_free)(void *);

/* dlsym may allocate (its error buffer) before the next malloc is known: those few early
 * calls are served from here and never freed. */
static char early[4096] __attribute__((aligned(16)));
static size_t early_used;

static void *early_alloc(size_t n)
{
	size_t at = early_used;

	n = (n + 15) & ~(size_t)15;
	if (n > sizeof(early) - at)
		return NULL;
	early_used += n;
	return early + at;
}

static bool is_early(const void *p)
{
	return (const char *)p >= early && (const char *)p < early + sizeof(early);
}

static void parse_mode(void)
{
	const char *s = getenv("SURGE_ALLOC_FAIL");
	char *end;

	if (!s || !*s || strcmp(s, "count") == 0)
		return;
	if (strncmp(s, "nth:", 4) == 0) {
		mode = MODE_NTH;
		mode_n = strtoull(s + 4, &end, 10);
	} else if (strncmp(s, "after:", 6) == 0) {
		mode = MODE_AFTER;
		mode_n = strtoull(s + 6, &end, 10);
	} else if (strncmp(s, "random:", 7) == 0) {
		mode = MODE_RANDOM;
		mode_k = strtoull(s + 7, &end, 10);
		rng = *end == ':' ? strtoull(end + 1, &end, 10) : 1;
		rng = rng * 0x9E3779B97F4A7C15ull | 1; /* xorshift needs a non-zero state */
		if (mode_k == 0)
			mode = MODE_NONE;
	} else {
		static const char msg[] =
		    "alloc_fail: SURGE_ALLOC_FAIL is nth:N, after:N, random:K:SEED "
		    "or count\n";
		(void)!write(2, msg, sizeof(msg) - 1);
		_exit(125);
	}
}

static void resolve(void)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&ready, &expected, 1))
		return; /* another caller is resolving (this thread, from inside dlsym) */
	next_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
	next_calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
	next_realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
	next_posix_memalign = (int (*)(void **, size_t, size_t))dlsym(RTLD_NEXT, "posix_memalign");
	next_aligned_alloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
	next_memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
	next_free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
	atomic_store(&ready, 2);
}

/* The shared libraries' constructors have run when the executable's own run, just before
 * main: what they allocate (GnuTLS, pulled in by libpq, sets itself up there) is theirs, not
 * surge's, and is neither counted nor failed. */
__attribute__((constructor)) static void arm(void)
{
	/* not at the first call: under AddressSanitizer that comes before the environment */
	parse_mode();
	atomic_store(&armed, true);
}

/* True when this call is to fail: counts it and decides. */
static bool fail_now(void)
{
	uint64_t n;
	bool fail = false;

	if (!atomic_load_explicit(&armed, memory_order_relaxed))
		return false;
	n = atomic_fetch_add(&calls, 1) + 1;

	switch (mode) {
	case MODE_NTH: fail = n == mode_n; break;
	case MODE_AFTER: fail = n >= mode_n; break;
	case MODE_RANDOM: {
		uint64_t x = atomic_load(&rng), y;

		do {
			y = x;
			y ^= y << 13;
			y ^= y >> 7;
			y ^= y << 17;
		} while (!atomic_compare_exchange_weak(&rng, &x, y));
		fail = y % mode_k == 0;
		break;
	}
	case MODE_NONE: break;
	}
	if (fail) {
		uint64_t zero = 0;

		atomic_fetch_add(&failed, 1);
		atomic_compare_exchange_strong(&first_failed, &zero, n);
		errno = ENOMEM;
	}
	return fail;
}

void *malloc(size_t n)
{
	if (atomic_load(&ready) != 2) {
		resolve();
		if (atomic_load(&ready) != 2)
			return early_alloc(n);
	}
	return fail_now() ? NULL : next_malloc(n);
}

void *calloc(size_t count, size_t size)
{
	if (atomic_load(&ready) != 2) {
		resolve();
		if (atomic_load(&ready) != 2)
			return early_alloc(count * size); /* static memory is zeroed */
	}
	return fail_now() ? NULL : next_calloc(count, size);
}

void *realloc(void *p, size_t n)
{
	if (atomic_load(&ready) != 2)
		resolve();
	if (is_early(p)) {
		size_t room = (size_t)(early + sizeof(early) - (char *)p);
		void *q = malloc(n);

		if (q)
			memcpy(q, p, n < room ? n : room); /* the block's size is not kept: copy
			                                      what may be it */
		return q;
	}
	/* realloc(p, 0) frees: that never fails */
	return n && fail_now() ? NULL : next_realloc(p, n);
}

void *reallocarray(void *p, size_t count, size_t size)
{
	size_t n;

	if (__builtin_mul_overflow(count, size, &n)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

void free(void *p)
{
	if (!p || is_early(p))
		return;
	if (atomic_load(&ready) != 2)
		resolve();
	next_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (atomic_load(&ready) != 2)
		resolve();
	return fail_now() ? ENOMEM : next_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (atomic_load(&ready) != 2)
		resolve();
	return fail_now() ? NULL : next_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
	if (atomic_load(&ready) != 2)
		resolve();
	return fail_now() ? NULL : next_memalign(align, n);
}

/* AddressSanitizer has its own strdup and strndup, which would bypass malloc above */
char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);

	return d ? memcpy(d, s, n) : NULL;
}

char *strndup(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

__attribute__((destructor)) static void alloc_fail_report(void)
{
	const char *path = getenv("SURGE_ALLOC_FAIL_REPORT");
	char line[128];
	int fd, len;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	len = snprintf(line, sizeof(line), "calls %llu failed %llu first_failed %llu\n",
	               (unsigned long long)atomic_load(&calls),
	               (unsigned long long)atomic_load(&failed),
	               (unsigned long long)atomic_load(&first_failed));
	(void)!write(fd, line, (size_t)len);
	close(fd);
}
