/* Tests for core/loop: timer order, re-arming and cancelling, I/O dispatch, stopping a
 * handle from another handle's callback, and the cross-thread wake-up. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop.h"
#include "test.h"

static int fired[16];
static int fired_len;

static void record_timer(loop_t *loop, loop_timer_t *t)
{
	fired[fired_len++] = (int)(intptr_t)t->ctx;
	if (fired_len == 5) /* all that were left: one slow iteration may find them all due */
		loop_stop(loop);
}

TEST(loop_timers_fire_in_deadline_order)
{
	loop_t *loop = loop_new();
	loop_timer_t t[6];
	uint64_t now = clock_now_ns();
	static const int order[6] = {5, 1, 4, 2, 6, 3}; /* ms offsets */

	fired_len = 0;
	for (int i = 0; i < 6; i++) {
		loop_timer_init(&t[i], record_timer, (void *)(intptr_t)order[i]);
		loop_timer_start(loop, &t[i], now + (uint64_t)order[i] * NS_PER_MS);
	}
	loop_timer_stop(loop, &t[3]);                         /* 2 ms: cancelled */
	loop_timer_start(loop, &t[4], now + 500 * NS_PER_US); /* 6 ms moved to 0.5 ms */
	CHECK(!loop_timer_pending(&t[3]));
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(fired_len, 5);
	CHECK_INT(fired[0], 6);
	CHECK_INT(fired[1], 1);
	CHECK_INT(fired[2], 3);
	CHECK_INT(fired[3], 4);
	CHECK_INT(fired[4], 5);
	CHECK(clock_now_ns() - now >= 5 * NS_PER_MS);
	loop_free(loop);
}

struct pair {
	loop_io_t io[2];
	int fds[2];
	int reads;
};

static void on_readable(loop_t *loop, loop_io_t *io, uint32_t events)
{
	struct pair *p = io->ctx;
	char c;

	CHECK(events & LOOP_READ);
	CHECK_INT(read(io->fd, &c, 1), 1);
	p->reads++;
	/* the other end has an event queued in this same batch: stopping it must drop that event */
	loop_io_stop(loop, &p->io[io == &p->io[0] ? 1 : 0]);
	loop_stop(loop);
}

TEST(loop_io_stop_discards_queued_events)
{
	loop_t *loop = loop_new();
	struct pair p = {0};

	CHECK_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p.fds), 0);
	CHECK_INT(loop_io_start(loop, &p.io[0], p.fds[0], LOOP_READ, on_readable, &p), 0);
	CHECK_INT(loop_io_start(loop, &p.io[1], p.fds[1], LOOP_READ, on_readable, &p), 0);
	CHECK_INT(write(p.fds[0], "a", 1), 1);
	CHECK_INT(write(p.fds[1], "b", 1), 1);
	CHECK_INT(loop_run(loop), 0);
	CHECK_INT(p.reads, 1);
	loop_io_stop(loop, &p.io[0]);
	loop_io_stop(loop, &p.io[1]);
	close(p.fds[0]);
	close(p.fds[1]);
	loop_free(loop);
}

static void on_woken(loop_t *loop, void *ctx)
{
	*(int *)ctx += 1;
	loop_stop(loop);
}

static void *waker(void *arg)
{
	usleep(20000);
	loop_wake(arg);
	return NULL;
}

TEST(loop_wake_from_another_thread)
{
	loop_t *loop = loop_new();
	pthread_t tid;
	int woken = 0;

	loop_on_wake(loop, on_woken, &woken);
	CHECK_INT(pthread_create(&tid, NULL, waker, loop), 0);
	CHECK_INT(loop_run(loop), 0);
	pthread_join(tid, NULL);
	CHECK_INT(woken, 1);
	loop_free(loop);
}

/* ---- loop_new under resource exhaustion ---- */

/* Open descriptors below 1024, counted without allocating (the heap may be exhausted). */
static int count_open_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* In a child: with the address space capped and the heap used up except for one free block of
 * hole bytes, or with only spare_fds descriptors left, loop_new either works or fails without
 * leaving a descriptor open. Exit 0: it worked; 1: it failed and leaked; 2: it failed cleanly. */
static int loop_new_in_child(size_t hole, int spare_fds)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int before = count_open_fds();
		loop_t *loop;

		if (hole) {
			static const size_t sizes[] = {1 << 16, 4096, 1024, 256, 64, 16};
			struct rlimit as;
			void **holes = NULL, **chain = NULL, **p;
			long pages = 0;
			FILE *f = fopen("/proc/self/statm", "r");

			if (!f || fscanf(f, "%ld", &pages) != 1)
				_exit(3);
			fclose(f);
			/* the heap grows by brk only, never gives memory back, and by 8 MiB at most
			 */
			mallopt(M_MMAP_MAX, 0);
			mallopt(M_TRIM_THRESHOLD, -1);
			as.rlim_cur = as.rlim_max =
			    (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + (8u << 20);
			if (setrlimit(RLIMIT_AS, &as) < 0)
				_exit(3);
			/* use up the heap: blocks of the hole's size, then smaller and smaller ones
			 */
			for (int n = 0; n < 1 << 20 && (p = malloc(hole)); n++) {
				*p = holes;
				holes = p;
			}
			for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
				for (int n = 0; n < 1 << 20 && (p = malloc(sizes[i])); n++) {
					*p = chain;
					chain = p;
				}
			free(holes); /* the one hole: room for some of loop_new's allocations */
		} else {
			/* every descriptor below the lowest free one is open, and those above it
			 * (inherited ones) do not count: spare_fds new ones can be had */
			int lowest = 0;
			struct rlimit nofile;

			while (lowest < 1024 && fcntl(lowest, F_GETFD) >= 0)
				lowest++;
			nofile.rlim_cur = nofile.rlim_max = (rlim_t)(lowest + spare_fds);
			if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
				_exit(3);
		}
		loop = loop_new();
		if (loop)
			_exit(0);
		_exit(count_open_fds() == before ? 2 : 1);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST(loop_new_failure_leaks_no_descriptor)
{
	int clean_failures = 0;

#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	/* the sanitizers own the heap and need far more address space than the cap allows: under
	 * them only the descriptor half runs */
	for (size_t hole = 1024; hole <= 16384; hole += 512) {
		int rc = loop_new_in_child(hole, 0);

		if (rc != 0 && rc != 2)
			test_fail(__FILE__, __LINE__, "%zu-byte hole: %s", hole,
			          rc == 1 ? "loop_new failed and leaked a descriptor"
			                  : "the child could not run");
		clean_failures += rc == 2;
	}
#endif
	for (int spare = 0; spare <= 2; spare++) {
		int rc = loop_new_in_child(0, spare);

		if (rc != 0 && rc != 2)
			test_fail(__FILE__, __LINE__, "%d spare descriptors: %s", spare,
			          rc == 1 ? "loop_new failed and leaked a descriptor"
			                  : "the child could not run");
		clean_failures += rc == 2;
	}
#if !defined(__SANITIZE_THREAD__)  /* its runtime keeps descriptors the cap does not see */
	CHECK(clean_failures > 0); /* the failure paths were taken */
#endif
	(void)clean_failures;
}
