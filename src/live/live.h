/* live: the run as it happens, for the live UI (docs/ui.md, "Events") — the stream's deltas
 * summed per wall-clock second and turned, once the engine says a second is whole
 * (gen_consumer_t.second_done), into one event: that second's figures next to the run's so
 * far, for the whole run and for each endpoint active in it. Every percentile comes from the
 * real histograms (result_hist_percentile), never from rounded numbers, so the live p99 of
 * a second is the final result's p99 of that second.
 *
 * The caller sums the same deltas into the run's result_t ("whole") and serialises every
 * call: the engine's consumer calls never overlap, and a reader on another thread (the UI
 * server's snapshot) takes the caller's lock. Events go out through `publish`, one JSON
 * object each, in the order they are made. Memory is bounded: LIVE_SECONDS seconds' sums at
 * a time, each at most the run's endpoints and tallies. */
#ifndef SURGE_LIVE_H
#define SURGE_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "result/result.h"

/* Seconds summed at once: the one being measured, the next (a thread ahead of the others)
 * and the last published ones, which a late delta (a starved pacer's due counts) corrects:
 * the second is published again, marked as a correction. */
#define LIVE_SECONDS   4
#define LIVE_EVENT_MAX (32u << 20) /* one event's JSON; beyond it the event fails, counted */

typedef struct live live_t;

/* How a stream keeps an event: LIVE_EVENT_LATEST, only until the next such one (the tables'
 * figures so far, of which only the newest matters to a browser that joins). */
enum live_event_keep { LIVE_EVENT_KEPT, LIVE_EVENT_LATEST };

/* One event's JSON text (not NUL-terminated), valid during the call. */
typedef void (*live_publish_fn)(void *ctx, const char *json, size_t len, enum live_event_keep keep);

/* What live has done, for the UI's own figures and the tests. */
typedef struct live_stats {
	uint64_t events;      /* seconds published */
	uint64_t corrections; /* of those, seconds published again after a late delta */
	uint64_t late_lost;   /* deltas of a second no longer held: in the result, not live */
	uint64_t failures;    /* events that could not be made (memory, LIVE_EVENT_MAX) */
} live_stats_t;

live_t *live_new(live_publish_fn publish, void *ctx);
void live_free(live_t *l);

/* A thread's delta, added to its second's sum (whole: the run's result, d included — for a
 * second that must be published early to make room). 0 or -ENOMEM (counted in failures). */
int live_add(live_t *l, const result_t *whole, const delta_t *d);
/* The engine has every thread's delta of `second`: it is published, with whole (the run's
 * result so far, these deltas included) for the figures so far; seconds a late delta
 * changed since they were published go out again first. */
void live_second_done(live_t *l, const result_t *whole, int64_t second);
/* The run is over: every second not yet published (or changed) goes out. */
void live_finish(live_t *l, const result_t *whole);

/* The run so far as one "snapshot" event (docs/ui.md): its totals and every endpoint's and
 * tally's, what a browser that joins needs for its tables (the seconds come from the
 * published events). 0, -ENOMEM or -ENOBUFS. */
int live_snapshot(const result_t *whole, buf_t *out);
void live_get_stats(const live_t *l, live_stats_t *out);

/* live_metrics.c: the generator's figures so far in the Prometheus text format, appended to
 * out (docs/ui.md, "Metrics"); process_start_wall_ns for process_start_time_seconds.
 * 0, or the first error of out (-ENOBUFS, -ENOMEM). */
int live_metrics(const result_t *whole, uint64_t process_start_wall_ns, buf_t *out);

#endif
