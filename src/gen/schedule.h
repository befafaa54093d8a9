/* schedule: a value that changes over a run — users (closed model) or arrival rate (open
 * model) — as piecewise-linear stages ("30s:10,1m:50,30s:0", k6's ramping semantics), and the
 * exact arrival times a rate schedule implies. Pure: no I/O, no allocation. */
#ifndef SURGE_SCHEDULE_H
#define SURGE_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#define SCHEDULE_MAX_STAGES 64

typedef struct schedule_stage {
	uint64_t duration_ns;
	double target; /* the value reached, linearly, at the end of this stage */
} schedule_stage_t;

typedef struct schedule {
	double start; /* the value at t = 0 */
	int count;
	schedule_stage_t stages[SCHEDULE_MAX_STAGES];
	/* precomputed by schedule_parse/schedule_constant: */
	uint64_t begin_ns[SCHEDULE_MAX_STAGES + 1]; /* start time of each stage; [count] = end */
	double area[SCHEDULE_MAX_STAGES + 1]; /* ∫ value dt (value·seconds) up to begin_ns */
} schedule_t;

/* "30s:10,1m:50,30s:0": each stage DURATION:TARGET (durations as units_parse_duration, a bare
 * number is seconds; targets non-negative numbers, at most max_target). start is the value at
 * t = 0 (0 for k6-style ramps). 0, or -EINVAL with a message naming the stage and problem. */
int schedule_parse(const char *text, double start, double max_target, schedule_t *s, char *err,
                   size_t errlen);
/* One stage holding `value` for duration_ns (start = value). */
void schedule_constant(schedule_t *s, double value, uint64_t duration_ns);
uint64_t schedule_duration(const schedule_t *s);
/* The value at t (ns since the start), linear within a stage; after the end: the last target. */
double schedule_value_at(const schedule_t *s, uint64_t t_ns);
/* Expected arrivals in [0, t] for a rate schedule (value = arrivals per second). */
double schedule_arrivals_until(const schedule_t *s, uint64_t t_ns);
/* When the k-th arrival (k >= 1) of a rate schedule is due, in ns since the start: the t with
 * schedule_arrivals_until(t) == k. UINT64_MAX when the schedule ends before it. */
uint64_t schedule_arrival_time(const schedule_t *s, uint64_t k);

#endif
