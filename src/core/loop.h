/* loop: one event loop per thread — I/O readiness on file descriptors, timers on a min-heap,
 * and a thread-safe wake-up. The readiness backend (epoll on Linux) sits behind loop_backend.h.
 *
 * Handles are caller-owned and long-lived (libuv's idea): a loop_io_t or loop_timer_t is
 * embedded in the caller's object and must stay valid until it is stopped. */
#ifndef SURGE_LOOP_H
#define SURGE_LOOP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct loop loop_t;
typedef struct loop_io loop_io_t;
typedef struct loop_timer loop_timer_t;

enum loop_events {
	LOOP_READ = 1,
	LOOP_WRITE = 2,
	LOOP_HUP = 4,         /* error or hang-up (or, with LOOP_PEER_CLOSED, the peer's FIN) */
	LOOP_PEER_CLOSED = 8, /* request: report only that the peer closed, not its data */
};

typedef void (*loop_io_fn)(loop_t *loop, loop_io_t *io, uint32_t events);
typedef void (*loop_timer_fn)(loop_t *loop, loop_timer_t *timer);
typedef void (*loop_wake_fn)(loop_t *loop, void *ctx);

struct loop_io {
	int fd;
	uint32_t events; /* what is requested now */
	bool active;
	loop_io_fn fn;
	void *ctx;
};

struct loop_timer {
	uint64_t when_ns;         /* monotonic deadline */
	uint32_t heap_index;      /* 0 = not scheduled, LOOP_TIMER_SPILLED, else 1-based position */
	loop_timer_t *spill_next; /* in the loop's spill list (LOOP_TIMER_SPILLED) */
	loop_timer_fn fn;
	void *ctx;
};

/* A timer scheduled while the heap could not grow (no memory): kept on a list the loop scans
 * until the heap has room, so starting a timer never fails. */
#define LOOP_TIMER_SPILLED UINT32_MAX

/* How many ready events one poll may return: one busy connection cannot hold the rest back
 * for more than one callback, and each callback bounds its own work per event. */
#define LOOP_MAX_EVENTS 256
/* How many expired timers one iteration runs before polling I/O again. */
#define LOOP_MAX_TIMERS_PER_TURN 4096

loop_t *loop_new(void);
void loop_free(loop_t *loop);

int loop_io_start(loop_t *loop, loop_io_t *io, int fd, uint32_t events, loop_io_fn fn, void *ctx);
/* Changes the requested events; costs no system call when they are unchanged. */
int loop_io_update(loop_t *loop, loop_io_t *io, uint32_t events);
/* Stops watching; pending events for this handle in the current batch are discarded,
 * so the owner may free it (or close the fd) right after. */
void loop_io_stop(loop_t *loop, loop_io_t *io);

void loop_timer_init(loop_timer_t *t, loop_timer_fn fn, void *ctx);
/* (Re)schedules t at the absolute monotonic time when_ns. */
void loop_timer_start(loop_t *loop, loop_timer_t *t, uint64_t when_ns);
void loop_timer_stop(loop_t *loop, loop_timer_t *t);
static inline bool loop_timer_pending(const loop_timer_t *t)
{
	return t->heap_index != 0;
}

/* Runs until loop_stop() is called from one of its callbacks. Another thread stops a loop by
 * loop_wake() with a wake handler that calls loop_stop(). */
int loop_run(loop_t *loop);
/* From this loop's own thread only; a stop before loop_run() makes it return at once. */
void loop_stop(loop_t *loop);
/* Thread-safe: asks the loop to call fn (set with loop_on_wake) soon. */
void loop_wake(loop_t *loop);
void loop_on_wake(loop_t *loop, loop_wake_fn fn, void *ctx);
/* The monotonic time read after the last poll returned: cheap, slightly stale. */
uint64_t loop_now(const loop_t *loop);

#endif
