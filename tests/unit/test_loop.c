/* Tests for core/loop: timer order, re-arming and cancelling, I/O dispatch, stopping a
 * handle from another handle's callback, and the cross-thread wake-up. */
#include <pthread.h>
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
