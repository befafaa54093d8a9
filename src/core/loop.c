/* loop: the event loop — timers on a binary min-heap, dispatch of ready handles, and an
 * eventfd so other threads can wake it. One loop per thread; nothing here is shared. */
#include "core/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/loop_backend.h"
#include "core/loop_io.h"

struct loop {
	const loop_backend_ops_t *ops;
	void *backend;
	bool fell_back; /* AUTO chose io_uring, but this loop could not have a ring */
	uint64_t now_ns;
	bool stopping;

	loop_timer_t **heap; /* heap[1..heap_len]; heap[0] unused so parents are i/2 */
	uint32_t heap_len;
	uint32_t heap_cap;
	loop_timer_t *spilled; /* timers started while the heap could not grow */

	loop_fired_t fired[LOOP_MAX_EVENTS];
	int fired_len;
	int fired_pos;

	loop_io_t wake_io;
	loop_wake_fn wake_fn;
	void *wake_ctx;
};

static void on_wake_event(loop_t *loop, loop_io_t *io, uint32_t events)
{
	uint64_t n;

	if (read(io->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	if (loop->wake_fn)
		loop->wake_fn(loop, loop->wake_ctx);
}

/* Each resource is taken and checked in turn; the one tail releases whatever was taken, so no
 * failure (out of memory, out of descriptors) leaves an eventfd or epoll fd behind. */
loop_t *loop_new(void)
{
	loop_t *loop = calloc(1, sizeof(*loop));
	int fd = -1, err = -ENOMEM;

	if (!loop)
		return NULL;
	loop->ops = loop_io_ops();
	loop->backend = loop->ops->create(&err);
	if (!loop->backend && loop->ops != &loop_epoll_ops && loop_io_may_fall_back()) {
		/* a ring for this loop failed (memory locked, rings per user): epoll serves it */
		loop->ops = &loop_epoll_ops;
		loop->fell_back = true;
		loop->backend = loop->ops->create(&err);
	}
	if (!loop->backend) {
		errno = -err;
		goto fail;
	}
	fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		goto fail;
	if (loop_io_start(loop, &loop->wake_io, fd, LOOP_READ, on_wake_event, NULL) < 0)
		goto fail;
	loop->now_ns = clock_now_ns();
	return loop;
fail:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (loop->backend)
		loop->ops->destroy(loop->backend);
	free(loop);
	errno = err;
	return NULL;
}

void loop_free(loop_t *loop)
{
	if (!loop)
		return;
	loop_io_stop(loop, &loop->wake_io);
	close(loop->wake_io.fd);
	loop->ops->destroy(loop->backend);
	free(loop->heap);
	free(loop);
}

uint64_t loop_now(const loop_t *loop)
{
	return loop->now_ns;
}

int loop_io_start(loop_t *loop, loop_io_t *io, int fd, uint32_t events, loop_io_fn fn, void *ctx)
{
	int rc;

	io->fd = fd;
	io->events = events;
	io->fn = fn;
	io->ctx = ctx;
	io->stream_fn = NULL;
	rc = loop->ops->add(loop->backend, io, events);
	io->active = rc == 0;
	return rc;
}

int loop_io_update(loop_t *loop, loop_io_t *io, uint32_t events)
{
	int rc;

	if (!io->active || io->events == events || io->stream_fn)
		return 0;
	rc = loop->ops->modify(loop->backend, io, events);
	if (rc == 0)
		io->events = events;
	return rc;
}

void loop_io_stop(loop_t *loop, loop_io_t *io)
{
	if (!io->active)
		return;
	loop->ops->remove(loop->backend, io);
	io->active = false;
	io->stream_fn = NULL;
	/* the handle may be freed after we return: forget its events still queued in this batch */
	for (int i = loop->fired_pos; i < loop->fired_len; i++)
		if (loop->fired[i].io == io)
			loop->fired[i].io = NULL;
}

bool loop_stream_supported(const loop_t *loop)
{
	return loop->ops->stream_start != NULL;
}

int loop_stream_start(loop_t *loop, loop_io_t *io, loop_stream_fn fn, unsigned flags)
{
	int rc;

	if (!loop->ops->stream_start)
		return -EOPNOTSUPP;
	if (!io->active)
		return -EINVAL;
	if ((rc = loop->ops->stream_start(loop->backend, io, flags)) < 0)
		return rc;
	io->stream_fn = fn;
	return 0;
}

int loop_stream_send(loop_t *loop, loop_io_t *io, const void *buf, size_t len)
{
	if (!io->stream_fn)
		return -EINVAL;
	return loop->ops->stream_send(loop->backend, io, buf, len);
}

int loop_stream_pause(loop_t *loop, loop_io_t *io, bool paused)
{
	if (!io->stream_fn)
		return -EINVAL;
	loop->ops->stream_pause(loop->backend, io, paused);
	return 0;
}

bool loop_stream_pending(const loop_t *loop, const loop_io_t *io)
{
	if (!io->stream_fn)
		return false;
	for (int i = loop->fired_pos; i < loop->fired_len; i++)
		if (loop->fired[i].io == io && loop->fired[i].stream_kind == LOOP_STREAM_DATA &&
		    loop->fired[i].res > 0)
			return true;
	return loop->ops->stream_queued(loop->backend, io);
}

const char *loop_backend_name(const loop_t *loop)
{
	return loop->ops->name;
}

void loop_io_stats(const loop_t *loop, loop_io_stats_t *out)
{
	loop->ops->stats(loop->backend, out);
	out->fallback_loops = loop->fell_back;
}

/* ---- timers: a binary min-heap keyed by deadline, each timer knowing its own slot ---- */

static void heap_set(loop_t *loop, uint32_t i, loop_timer_t *t)
{
	loop->heap[i] = t;
	t->heap_index = i;
}

static void heap_up(loop_t *loop, uint32_t i)
{
	loop_timer_t *t = loop->heap[i];

	while (i > 1 && loop->heap[i / 2]->when_ns > t->when_ns) {
		heap_set(loop, i, loop->heap[i / 2]);
		i /= 2;
	}
	heap_set(loop, i, t);
}

static void heap_down(loop_t *loop, uint32_t i)
{
	loop_timer_t *t = loop->heap[i];

	for (;;) {
		uint32_t child = i * 2;

		if (child > loop->heap_len)
			break;
		if (child < loop->heap_len &&
		    loop->heap[child + 1]->when_ns < loop->heap[child]->when_ns)
			child++;
		if (loop->heap[child]->when_ns >= t->when_ns)
			break;
		heap_set(loop, i, loop->heap[child]);
		i = child;
	}
	heap_set(loop, i, t);
}

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *ctx)
{
	t->when_ns = 0;
	t->heap_index = 0;
	t->spill_next = NULL;
	t->fn = fn;
	t->ctx = ctx;
}

/* Room for one more timer in the heap: false when it is full and cannot grow. */
static bool heap_room(loop_t *loop)
{
	uint32_t cap;
	loop_timer_t **heap;

	if (loop->heap_len + 1 < loop->heap_cap)
		return true;
	cap = loop->heap_cap ? loop->heap_cap * 2 : 64;
	if (!(heap = realloc(loop->heap, cap * sizeof(*heap))))
		return false;
	loop->heap = heap;
	loop->heap_cap = cap;
	return true;
}

static void heap_insert(loop_t *loop, loop_timer_t *t)
{
	loop->heap[++loop->heap_len] = t;
	t->heap_index = loop->heap_len;
	heap_up(loop, loop->heap_len);
}

static void unspill(loop_t *loop, loop_timer_t *t)
{
	loop_timer_t **p = &loop->spilled;

	while (*p != t)
		p = &(*p)->spill_next;
	*p = t->spill_next;
	t->spill_next = NULL;
	t->heap_index = 0;
}

/* Spilled timers go into the heap as it finds room; those due run from the list. */
static void run_spilled(loop_t *loop)
{
	loop_timer_t *t = loop->spilled, *next;

	for (; t; t = next) {
		next = t->spill_next;
		if (t->when_ns <= loop->now_ns) {
			unspill(loop, t);
			t->fn(loop, t);
			return; /* the callback may have changed the list: again next turn */
		}
		if (!heap_room(loop))
			return;
		unspill(loop, t);
		heap_insert(loop, t);
	}
}

void loop_timer_stop(loop_t *loop, loop_timer_t *t)
{
	uint32_t i = t->heap_index;
	loop_timer_t *last;

	if (!i)
		return;
	if (i == LOOP_TIMER_SPILLED) {
		unspill(loop, t);
		return;
	}
	t->heap_index = 0;
	last = loop->heap[loop->heap_len--];
	if (last == t)
		return;
	heap_set(loop, i, last);
	heap_up(loop, i);
	heap_down(loop, last->heap_index);
}

void loop_timer_start(loop_t *loop, loop_timer_t *t, uint64_t when_ns)
{
	if (t->heap_index == LOOP_TIMER_SPILLED) {
		t->when_ns = when_ns;
		return;
	}
	if (t->heap_index) {
		uint64_t old = t->when_ns;

		t->when_ns = when_ns;
		if (when_ns < old)
			heap_up(loop, t->heap_index);
		else
			heap_down(loop, t->heap_index);
		return;
	}
	t->when_ns = when_ns;
	if (!heap_room(loop)) {
		/* out of memory: the timer still fires, from a list scanned each turn */
		t->heap_index = LOOP_TIMER_SPILLED;
		t->spill_next = loop->spilled;
		loop->spilled = t;
		return;
	}
	heap_insert(loop, t);
}

static void run_timers(loop_t *loop)
{
	if (loop->spilled)
		run_spilled(loop);
	for (int budget = LOOP_MAX_TIMERS_PER_TURN; budget > 0 && loop->heap_len; budget--) {
		loop_timer_t *t = loop->heap[1];

		if (t->when_ns > loop->now_ns)
			break;
		loop_timer_stop(loop, t);
		t->fn(loop, t);
	}
}

static uint64_t poll_timeout(const loop_t *loop)
{
	uint64_t when = loop->heap_len ? loop->heap[1]->when_ns : UINT64_MAX;

	for (const loop_timer_t *t = loop->spilled; t; t = t->spill_next)
		if (t->when_ns < when)
			when = t->when_ns;
	if (when == UINT64_MAX)
		return UINT64_MAX;
	return when > loop->now_ns ? when - loop->now_ns : 0;
}

/* ---- running ---- */

int loop_run(loop_t *loop)
{
	while (!loop->stopping) {
		int n = loop->ops->poll(loop->backend, poll_timeout(loop), loop->fired,
		                        LOOP_MAX_EVENTS);

		if (n < 0)
			return n;
		loop->now_ns = clock_now_ns();
		loop->fired_len = n;
		for (loop->fired_pos = 0; loop->fired_pos < n;) {
			loop_fired_t *f = &loop->fired[loop->fired_pos++];

			if (!f->io)
				continue;
			if (f->stream_kind)
				f->io->stream_fn(loop, f->io, f->stream_kind, f->res, f->data);
			else
				f->io->fn(loop, f->io, f->events);
		}
		loop->fired_len = 0;
		run_timers(loop);
	}
	loop->stopping = false; /* the loop may be run again */
	return 0;
}

void loop_stop(loop_t *loop)
{
	loop->stopping = true;
}

void loop_on_wake(loop_t *loop, loop_wake_fn fn, void *ctx)
{
	loop->wake_fn = fn;
	loop->wake_ctx = ctx;
}

void loop_wake(loop_t *loop)
{
	uint64_t one = 1;

	/* a full counter (EAGAIN) already means "wake up": nothing is lost */
	if (write(loop->wake_io.fd, &one, sizeof(one)) < 0)
		return;
}
