/* loop_backend: what an I/O readiness backend provides to loop.c. One implementation per OS
 * is compiled in (loop_epoll.c on Linux); io_uring or kqueue would be siblings. */
#ifndef SURGE_LOOP_BACKEND_H
#define SURGE_LOOP_BACKEND_H

#include <stdint.h>

#include "core/loop.h"

typedef struct loop_fired {
	loop_io_t *io; /* NULL once the handle was stopped during this batch */
	uint32_t events;
} loop_fired_t;

typedef struct loop_backend loop_backend_t;

loop_backend_t *loop_backend_new(void);
void loop_backend_free(loop_backend_t *b);
int loop_backend_add(loop_backend_t *b, loop_io_t *io, uint32_t events);
int loop_backend_modify(loop_backend_t *b, loop_io_t *io, uint32_t events);
void loop_backend_remove(loop_backend_t *b, loop_io_t *io);
/* Waits up to timeout_ns (UINT64_MAX = forever) and fills fired[]; returns the count or -errno. */
int loop_backend_poll(loop_backend_t *b, uint64_t timeout_ns, loop_fired_t *fired, int max);
const char *loop_backend_name(void);

#endif
