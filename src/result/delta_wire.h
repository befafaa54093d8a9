/* delta_wire: one second of a process's stream as text that another process reads back
 * exactly — what a shard sends its coordinator once a second (distributed runs, docs/
 * distributed.md). The sender sums its threads' deltas of a second (live/ does: a result_t
 * at second 0) and writes that sum; the receiver decodes it into a delta_t and adds it with
 * result_add like any thread's. Exact: counters, status codes, error kinds, every endpoint and
 * tally, and each histogram's non-empty buckets with its min, max and sums (sums written as
 * the shortest text that reads back as the same double). Versioned ("v"); a text of another
 * version, or one that breaks any bound (sizes, indices, counts that do not add up), is
 * refused with one line naming the key — the receiver trusts nothing a sender writes. */
#ifndef SURGE_DELTA_WIRE_H
#define SURGE_DELTA_WIRE_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"
#include "result/result.h"

#define DELTA_WIRE_VERSION 1
#define DELTA_WIRE_MAX     (16u << 20) /* one second's text, at most */
/* A second's length_s, at most: a run's last second is longer than 1 s by as much as its stop
 * came late (the tick due with the stop is left to the final flush, gen_run.c), as surge
 * run's own result takes it; a minute bounds what a shard can make the duration. */
#define DELTA_WIRE_LENGTH_MAX_S 60

/* The second `second` whose figures are sum's (a result_t the second's deltas were added to
 * at second 0). 0, or -ENOBUFS/-ENOMEM (out's error). */
int delta_wire_encode(const result_t *sum, int64_t second, buf_t *out);

/* A decoded second: d points into the arrays it owns. */
typedef struct delta_wire {
	delta_t d;
	delta_endpoint_t *endpoints;
	delta_tally_t *tallies;
} delta_wire_t;

/* Reads text[0..len) into w (freed with delta_wire_free, also after an error). 0, or
 * -EINVAL with "NAME: endpoints[3].latency.b: bucket indices must increase" in err, or
 * -ENOMEM. */
int delta_wire_decode(const char *name, const char *text, size_t len, delta_wire_t *w, char *err,
                      size_t errlen);
/* The same from a JSON value already parsed (one second inside a shard's batch, which was
 * bounded as a whole when it was read). */
int delta_wire_read(const char *name, const json_t *doc, delta_wire_t *w, char *err, size_t errlen);
void delta_wire_free(delta_wire_t *w);

#endif
