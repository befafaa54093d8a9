/* loop_backend: what an I/O backend provides to loop.c, as a table of operations so the
 * backend is chosen at run time (loop_io.c): epoll (loop_epoll.c, readiness only) or io_uring
 * (loop_uring.c, readiness through poll requests, and completion-based streams). */
#ifndef SURGE_LOOP_BACKEND_H
#define SURGE_LOOP_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "core/loop.h"

/* One event for loop.c to dispatch: readiness (stream_kind 0, `events`), or a stream's
 * completion (stream_kind LOOP_STREAM_DATA / LOOP_STREAM_SENT, `res` and `data`). */
typedef struct loop_fired {
	loop_io_t *io; /* NULL once the handle was stopped during this batch */
	uint32_t events;
	uint8_t stream_kind;
	int32_t res;
	const char *data; /* LOOP_STREAM_DATA: valid until the backend's next poll */
} loop_fired_t;

typedef struct loop_backend_ops {
	const char *name;
	/* NULL and -errno in *err when the backend cannot start (the caller may fall back) */
	void *(*create)(int *err);
	void (*destroy)(void *b);
	int (*add)(void *b, loop_io_t *io, uint32_t events);
	int (*modify)(void *b, loop_io_t *io, uint32_t events);
	void (*remove)(void *b, loop_io_t *io);
	/* Waits up to timeout_ns (UINT64_MAX = forever) and fills fired[]; the count or -errno. */
	int (*poll)(void *b, uint64_t timeout_ns, loop_fired_t *fired, int max);
	/* Completion-based streams: NULL where the backend has none (epoll). */
	int (*stream_start)(void *b, loop_io_t *io, unsigned flags);
	int (*stream_send)(void *b, loop_io_t *io, const void *buf, size_t len);
	void (*stream_pause)(void *b, loop_io_t *io, bool paused);
	/* received bytes in the completion queue, not yet taken into a batch */
	bool (*stream_queued)(void *b, const loop_io_t *io);
	void (*stats)(void *b, loop_io_stats_t *out);
} loop_backend_ops_t;

extern const loop_backend_ops_t loop_epoll_ops;
extern const loop_backend_ops_t loop_uring_ops;

#endif
