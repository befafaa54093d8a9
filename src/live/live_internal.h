/* live_internal: the event writer live.c calls (live_event.c). Not for use outside src/live/. */
#ifndef SURGE_LIVE_INTERNAL_H
#define SURGE_LIVE_INTERNAL_H

#include <stdbool.h>

#include "core/buf.h"
#include "result/result.h"

/* The "second" event of docs/ui.md: sum (one second's deltas, at its second 0) as `second`,
 * next to whole, the run so far. 0, -ENOMEM or -ENOBUFS. */
int live_event_second(const result_t *sum, int64_t second, bool correction, const result_t *whole,
                      buf_t *out);

#endif
