/* loop_epoll: the Linux readiness backend, and the fallback when io_uring cannot be used.
 * Level-triggered, so a callback that stops early (its per-event budget spent) is simply
 * called again on the next turn. */
#include "core/loop_backend.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

typedef struct epoll_backend {
	int epfd;
	bool no_pwait2; /* kernels before 5.11: millisecond epoll_wait only */
	struct epoll_event events[LOOP_MAX_EVENTS];
	uint64_t turns;
} epoll_backend_t;

static void *epoll_backend_create(int *err)
{
	epoll_backend_t *b = calloc(1, sizeof(*b));

	if (!b) {
		*err = -ENOMEM;
		return NULL;
	}
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (b->epfd < 0) {
		*err = -errno;
		free(b);
		return NULL;
	}
	return b;
}

static void epoll_backend_destroy(void *v)
{
	epoll_backend_t *b = v;

	if (!b)
		return;
	close(b->epfd);
	free(b);
}

static uint32_t to_epoll(uint32_t events)
{
	return (events & LOOP_READ ? EPOLLIN | EPOLLRDHUP : 0) |
	       (events & LOOP_WRITE ? EPOLLOUT : 0) | (events & LOOP_PEER_CLOSED ? EPOLLRDHUP : 0);
}

static int epoll_backend_add(void *v, loop_io_t *io, uint32_t events)
{
	epoll_backend_t *b = v;
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};

	return epoll_ctl(b->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0 ? -errno : 0;
}

static int epoll_backend_modify(void *v, loop_io_t *io, uint32_t events)
{
	epoll_backend_t *b = v;
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = io};

	return epoll_ctl(b->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0 ? -errno : 0;
}

static void epoll_backend_remove(void *v, loop_io_t *io)
{
	epoll_backend_t *b = v;

	epoll_ctl(b->epfd, EPOLL_CTL_DEL, io->fd, NULL);
}

static int epoll_backend_poll(void *v, uint64_t timeout_ns, loop_fired_t *fired, int max)
{
	epoll_backend_t *b = v;
	struct timespec ts, *tsp = NULL;
	int n;

	if (max > LOOP_MAX_EVENTS)
		max = LOOP_MAX_EVENTS;
	if (timeout_ns != UINT64_MAX) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000ULL);
		ts.tv_nsec = (long)(timeout_ns % 1000000000ULL);
		tsp = &ts;
	}
	/* epoll_pwait2 takes a timespec: timers fire with sub-millisecond precision */
	n = b->no_pwait2 ? -1 : epoll_pwait2(b->epfd, b->events, max, tsp, NULL);
	if (n < 0 && (b->no_pwait2 || errno == ENOSYS)) {
		uint64_t ms = tsp ? (timeout_ns + 999999) / 1000000 : 0;

		b->no_pwait2 = true;
		n = epoll_wait(b->epfd, b->events, max,
		               !tsp           ? -1
		               : ms > INT_MAX ? INT_MAX
		                              : (int)ms);
	}
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		uint32_t e = b->events[i].events, out = 0;

		if (e & EPOLLIN)
			out |= LOOP_READ;
		if (e & EPOLLRDHUP)
			out |= LOOP_READ | LOOP_HUP;
		if (e & EPOLLOUT)
			out |= LOOP_WRITE;
		if (e & (EPOLLERR | EPOLLHUP))
			out |= LOOP_HUP | LOOP_READ | LOOP_WRITE;
		fired[i] = (loop_fired_t){.io = b->events[i].data.ptr, .events = out};
	}
	/* written here only, read by another thread for serve's /metrics: relaxed, no lock */
	__atomic_store_n(&b->turns, __atomic_load_n(&b->turns, __ATOMIC_RELAXED) + 1,
	                 __ATOMIC_RELAXED);
	return n;
}

static void epoll_backend_stats(void *v, loop_io_stats_t *out)
{
	const epoll_backend_t *b = v;

	*out = (loop_io_stats_t){.turns = __atomic_load_n(&b->turns, __ATOMIC_RELAXED)};
}

const loop_backend_ops_t loop_epoll_ops = {
    .name = "epoll",
    .create = epoll_backend_create,
    .destroy = epoll_backend_destroy,
    .add = epoll_backend_add,
    .modify = epoll_backend_modify,
    .remove = epoll_backend_remove,
    .poll = epoll_backend_poll,
    .stats = epoll_backend_stats,
};
