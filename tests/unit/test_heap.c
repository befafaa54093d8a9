/* Tests for core/heap: memory freed by threads, which glibc keeps in their arenas, goes back
 * to the system when asked. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/heap.h"
#include "test.h"

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
