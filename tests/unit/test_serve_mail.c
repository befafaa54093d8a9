/* Tests for serve/serve_mail: a worker's mailbox, posted to and run here on a real loop. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "serve/serve_internal.h"
#include "test.h"

#define RING 65536 /* serve_main's mail_cap */

typedef struct counter {
	uint32_t ran, out_of_order;
} counter_t;

static counter_t counter;

static void count_mail(void *arg)
{
	uint32_t seq = (uint32_t)(uintptr_t)arg;

	if (seq != counter.ran)
		counter.out_of_order++;
	counter.ran++;
}

/* A worker with its mailbox in a fresh anonymous mapping: no page of it resident yet. */
static serve_worker_t *mail_worker(void)
{
	serve_worker_t *w = calloc(1, sizeof(*w));
	size_t bytes = RING * sizeof(*w->mail);

	if (!w)
		return NULL;
	w->mail = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (w->mail == MAP_FAILED) {
		free(w);
		return NULL;
	}
	madvise(w->mail, bytes, MADV_NOHUGEPAGE); /* page by page, as counted below */
	w->mail_cap = RING;
	pthread_mutex_init(&w->mail_lock, NULL);
	w->loop = loop_new();
	return w;
}

static void mail_worker_free(serve_worker_t *w)
{
	loop_free(w->loop);
	pthread_mutex_destroy(&w->mail_lock);
	munmap(w->mail, RING * sizeof(*w->mail));
	free(w);
}

static size_t resident_pages(void *p, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (bytes + page - 1) / page, count = 0;
	unsigned char *vec = malloc(n);

	if (!vec || mincore(p, bytes, vec) < 0) {
		free(vec);
		return (size_t)-1;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

/* The soak's finding: mails posted one at a time and run at once went round the whole ring,
 * so every one of its pages became resident (1 MiB a worker, over 13 minutes of the soak)
 * though never more than one mail waited. */
TEST(serve_mail_one_at_a_time_stays_in_the_first_page)
{
	serve_worker_t *w = mail_worker();
	uint32_t total = RING + RING / 2;

	CHECK(w && w->loop);
	if (!w || !w->loop)
		return;
	memset(&counter, 0, sizeof(counter));
	for (uint32_t i = 0; i < total; i++) {
		CHECK_INT(serve_post(w, count_mail, (void *)(uintptr_t)i), 0);
		serve_mail_run(w);
	}
	CHECK_INT(counter.ran, total);
	CHECK_INT(counter.out_of_order, 0);
	CHECK_INT(resident_pages(w->mail, RING * sizeof(*w->mail)), 1);
	mail_worker_free(w);
}

/* A burst still fits up to the ring's size, runs in order, and the slots it wrote are used
 * again by the next one. */
TEST(serve_mail_burst_runs_in_order_and_is_bounded)
{
	serve_worker_t *w = mail_worker();
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint32_t burst = 3000, seq = 0;

	CHECK(w && w->loop);
	if (!w || !w->loop)
		return;
	memset(&counter, 0, sizeof(counter));
	for (int round = 0; round < 40; round++) {
		for (uint32_t i = 0; i < burst; i++)
			CHECK_INT(serve_post(w, count_mail, (void *)(uintptr_t)seq++), 0);
		serve_mail_run(w);
	}
	CHECK_INT(counter.ran, seq);
	CHECK_INT(counter.out_of_order, 0);
	CHECK_INT(resident_pages(w->mail, RING * sizeof(*w->mail)),
	          (burst * sizeof(*w->mail) + page - 1) / page);
	/* full: the next post is refused and the caller keeps its argument */
	for (uint32_t i = 0; i < RING; i++)
		serve_post(w, count_mail, (void *)(uintptr_t)seq++);
	CHECK_INT(serve_post(w, count_mail, NULL), -EAGAIN);
	serve_mail_run(w);
	CHECK_INT(counter.out_of_order, 0);
	mail_worker_free(w);
}
