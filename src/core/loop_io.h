/* loop_io: which backend loop_new() uses (internal to the loop; the choice itself is in
 * loop.h: loop_io_choose). */
#ifndef SURGE_LOOP_IO_H
#define SURGE_LOOP_IO_H

#include <stdbool.h>

#include "core/loop_backend.h"

/* The chosen backend's operations (chosen as AUTO on first use). */
const loop_backend_ops_t *loop_io_ops(void);
/* Whether a loop whose ring fails may use epoll instead: AUTO yes, an explicit uring no. */
bool loop_io_may_fall_back(void);

#endif
