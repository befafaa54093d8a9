/* loop: one event loop per thread — I/O readiness on file descriptors, timers on a min-heap,
 * and a thread-safe wake-up. The I/O backend, io_uring or epoll, is chosen at run time
 * (loop_io_choose) and sits behind loop_backend.h; io_uring also offers completion-based
 * streams (loop_stream_*), where a connected socket's bytes are delivered as they arrive.
 *
 * Handles are caller-owned and long-lived (libuv's idea): a loop_io_t or loop_timer_t is
 * embedded in the caller's object and must stay valid until it is stopped. */
#ifndef SURGE_LOOP_H
#define SURGE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
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
enum loop_stream_kind {
	LOOP_STREAM_DATA = 1, /* res bytes at data (> 0), 0 the peer's EOF, or -errno */
	LOOP_STREAM_SENT = 2, /* res bytes of the send were taken, or -errno */
};
/* A stream's event: data is valid only during the call. */
typedef void (*loop_stream_fn)(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                               const char *data);
typedef void (*loop_timer_fn)(loop_t *loop, loop_timer_t *timer);
typedef void (*loop_wake_fn)(loop_t *loop, void *ctx);

struct loop_io {
	int fd;
	uint32_t events; /* what is requested now */
	bool active;
	loop_io_fn fn;
	void *ctx;
	loop_stream_fn stream_fn; /* set while the handle is a stream */
	uint32_t backend_slot;    /* the backend's own (io_uring: its slot) */
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
/* The most one LOOP_STREAM_DATA event delivers (the size of io_uring's provided buffers). */
#define LOOP_STREAM_BUFFER (16 * 1024)
/* How many expired timers one iteration runs before polling I/O again. */
#define LOOP_MAX_TIMERS_PER_TURN 4096

/* ---- which backend: process-wide, chosen once before loops are made ---- */
enum loop_io_choice { LOOP_IO_AUTO, LOOP_IO_URING, LOOP_IO_EPOLL };

/* "auto", "uring" (or "io_uring"), "epoll": 0, or -EINVAL. */
int loop_io_parse(const char *text, enum loop_io_choice *out);
/* Chooses what every loop_new() after it uses. AUTO: io_uring when a ring with what the loop
 * needs can be set up here (kernel >= 5.11, not forbidden by seccomp or
 * io_uring_disabled), else epoll, the reason kept for loop_io_fallback(). URING: -errno when
 * io_uring cannot be used, its reason in why. Without a call, loop_new() chooses as AUTO. */
int loop_io_choose(enum loop_io_choice choice, char *why, size_t why_len);
/* "io_uring" or "epoll": what loops made now use. */
const char *loop_io_backend(void);
/* Why AUTO chose epoll ("io_uring_setup: Operation not permitted"); "" when it did not. */
const char *loop_io_fallback(void);

/* What a loop's backend counted: its turns, and the bounds it met (io_uring only). */
typedef struct loop_io_stats {
	uint64_t turns;           /* waits for events */
	uint64_t sq_full_submits; /* a turn's requests filled the submission queue */
	uint64_t recv_no_buffer;  /* a stream's receive found no provided buffer free */
	uint64_t cq_overflow;     /* completions the kernel had to hold back (not lost) */
	uint64_t fallback_loops;  /* loops made with epoll because io_uring failed for them */
	/* io_uring's provided buffers for streams' receives, mapped with the loop's first stream
	 * (0 before, and on epoll): fixed memory, reused; a stream that brings more than a few
	 * buffers' worth touches them all, as the ring hands them out in turn */
	uint64_t receive_buffer_bytes;
} loop_io_stats_t;

loop_t *loop_new(void);
void loop_free(loop_t *loop);

int loop_io_start(loop_t *loop, loop_io_t *io, int fd, uint32_t events, loop_io_fn fn, void *ctx);
/* Changes the requested events; costs no system call when they are unchanged. */
int loop_io_update(loop_t *loop, loop_io_t *io, uint32_t events);
/* Stops watching; pending events for this handle in the current batch are discarded,
 * so the owner may free it (or close the fd) right after. */
void loop_io_stop(loop_t *loop, loop_io_t *io);

/* Completion-based streams (io_uring): a started handle on a connected socket becomes a
 * stream: its bytes come to fn as they arrive (no readiness events any more; loop_io_update
 * does nothing), and loop_stream_send hands a whole buffer to the kernel, one send at a time,
 * buf living until its LOOP_STREAM_SENT. The socket is left blocking (the kernel waits, the
 * loop does not). -EOPNOTSUPP where the backend has no streams (epoll): read and write on
 * readiness instead. loop_io_stop ends a stream like any handle. */
bool loop_stream_supported(const loop_t *loop);
/* flags: 0, the kernel receives again and again on its own (a multishot receive: no request
 * per delivery); LOOP_STREAM_ONE_RECEIVE, one receive at a time, made again after each
 * delivery (one submission each, no system call; it waits for readiness before trying, as the
 * peer usually answers what the same turn sent), so that a pause (below) leaves at most one
 * buffer's bytes to come after it: for an owner that bounds its input. */
enum loop_stream_flags { LOOP_STREAM_ONE_RECEIVE = 1 };
int loop_stream_start(loop_t *loop, loop_io_t *io, loop_stream_fn fn, unsigned flags);
int loop_stream_send(loop_t *loop, loop_io_t *io, const void *buf, size_t len);
/* Stops receiving (paused true) or receives again: a stream's owner that cannot take more
 * input leaves it in the socket, so TCP holds the peer back as readiness would. Bytes the
 * kernel received before the pause took effect still come (a completion already posted, or
 * posted before the next wait submits the cancel): with LOOP_STREAM_ONE_RECEIVE one delivery
 * at most (LOOP_STREAM_BUFFER bytes); with a multishot receive as many as the socket held
 * and the loop had buffers for, megabytes from a peer that sends without pause. EOF and
 * errors still come while paused. -EINVAL: not a stream. */
int loop_stream_pause(loop_t *loop, loop_io_t *io, bool paused);
/* Whether bytes the stream received wait to be delivered: in the batch being dispatched or
 * in the kernel's completion queue. A server closing an idle stream checks it, as it peeks
 * at a socket under readiness: closing over a request already received loses it. */
bool loop_stream_pending(const loop_t *loop, const loop_io_t *io);
/* This loop's backend ("io_uring" or "epoll") and its counts; the counts may be read from
 * another thread while the loop runs. */
const char *loop_backend_name(const loop_t *loop);
void loop_io_stats(const loop_t *loop, loop_io_stats_t *out);

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
