/* Tests for core/heap: memory freed by threads, which glibc keeps in their arenas, goes back
 * to the system when asked. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/heap.h"
#include "test.h"

/* The sanitizers replace glibc's allocator (a freed block waits in their quarantine): what is
 * resident after a free says nothing about glibc's there, and these tests check only what
 * the calls return. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GLIBC_HEAP 0
#else
#define GLIBC_HEAP 1
#endif

#define BLOCKS 3000
#define BLOCK  (8 * 1024)

/* Resident bytes of this process (/proc/self/statm). */
static size_t resident(void)
{
	unsigned long size = 0, pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%lu %lu", &size, &pages) != 2)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

typedef struct burst {
	void *keep[BLOCKS]; /* a small block after each big one: the heap's top stays in use */
} burst_t;

/* A thread's burst: 3,000 blocks of 8 KiB touched (24 MiB, below the mmap threshold: in the
 * thread's arena), each followed by a small block that stays; the big ones freed. */
static void *burst_thread(void *arg)
{
	burst_t *b = arg;
	void **big = malloc(BLOCKS * sizeof(*big));

	if (!big)
		return NULL;
	for (int i = 0; i < BLOCKS; i++) {
		if ((big[i] = malloc(BLOCK)))
			memset(big[i], 0x5a, BLOCK);
		b->keep[i] = malloc(32);
	}
	for (int i = 0; i < BLOCKS; i++)
		free(big[i]);
	free(big);
	return NULL;
}

TEST(heap_give_back_returns_what_threads_freed)
{
	static burst_t bursts[2];
	pthread_t t[2];
	size_t before, freed, after;

	heap_give_back();
	if (!GLIBC_HEAP)
		return;
	before = resident();
	for (int i = 0; i < 2; i++)
		CHECK_INT(pthread_create(&t[i], NULL, burst_thread, &bursts[i]), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* freed, but kept by the allocator: the whole burst is still resident */
	freed = resident();
	heap_give_back();
	after = resident();
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr,
		        "  resident: %zu KiB, %zu after a 48 MiB burst freed, %zu given back\n",
		        before >> 10, freed >> 10, after >> 10);
	CHECK(freed > before + (32u << 20));
	/* every whole free page: half of each 8 KiB block, between the blocks that stay */
	CHECK(after < freed - (16u << 20));
	for (int i = 0; i < 2; i++)
		for (int k = 0; k < BLOCKS; k++)
			free(bursts[i].keep[k]);
}

TEST(heap_give_back_every_waits_its_turn)
{
	uint64_t last = 0;

	heap_give_back_every(5, &last);
	CHECK_INT(last, 5); /* the first call starts the count */
	heap_give_back_every(5 + HEAP_GIVE_BACK_NS - 1, &last);
	CHECK_INT(last, 5);
	heap_give_back_every(5 + HEAP_GIVE_BACK_NS, &last);
	CHECK_INT(last, 5 + HEAP_GIVE_BACK_NS);
}

/* A large block, freed, leaves the process at once — the second time too. Without
 * heap_setup glibc's first free of a mapped block raises its threshold to that size, and the
 * same block then comes from an arena and stays resident after free. Checked in a fresh
 * process (this runner again, running only this test): in one that ran other tests, an
 * arena's free chunk may be large enough to serve the block, which is glibc's choice before
 * any threshold. */
TEST(heap_large_blocks_leave_when_freed)
{
	const size_t big = 8u << 20;
	size_t before, after;

	if (!GLIBC_HEAP)
		return;
	if (!getenv("SURGE_TEST_FRESH_HEAP")) {
		int status = -1;
		pid_t pid = fork();

		if (pid == 0) {
			/* its own PASS/FAIL lines would be counted as this runner's */
			int null = open("/dev/null", O_WRONLY);

			if (null >= 0)
				dup2(null, STDOUT_FILENO);
			setenv("SURGE_TEST_FRESH_HEAP", "1", 1);
			execl("/proc/self/exe", "unit-tests", "heap_large_blocks_leave_when_freed",
			      (char *)NULL);
			_exit(127);
		}
		CHECK(pid > 0);
		if (pid > 0)
			waitpid(pid, &status, 0);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		return;
	}
	heap_setup();
	before = resident();
	for (int round = 0; round < 2; round++) {
		/* volatile: the compiler may not drop the writes of a block it sees freed */
		volatile char *p = malloc(big);

		CHECK(p != NULL);
		if (!p)
			return;
		for (size_t i = 0; i < big; i += 4096)
			p[i] = 0x5a;
		CHECK(resident() >= before + big / 2); /* touched: resident while held */
		free((void *)p);
		after = resident();
		if (getenv("SURGE_TEST_VERBOSE"))
			fprintf(stderr, "  round %d: resident %zu KiB before, %zu after free\n",
			        round, before >> 10, after >> 10);
		CHECK(after < before + (1u << 20));
	}
}
