/* schedule: a value that changes over a run — users (closed model) or arrival rate (open
 * model) — as piecewise-linear stages ("30s:10,1m:50,30s:0", k6's ramping semantics), and the
 * exact arrival times a rate schedule implies; and the same as a list of segments that a
 * running test can append to (gen_steer). Pure: no I/O, no allocation. */
#ifndef SURGE_SCHEDULE_H
#define SURGE_SCHEDULE_H

#include <stdbool.h>
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

/* A schedule that can change while the run goes on: segments, each beginning at an instant
 * with a value (`from`), going linearly to `to` over `ramp_ns`, then holding `to` until the
 * next segment begins (the last holds it for ever). A stage schedule is such a list, one
 * segment a stage with no hold (schedule_segments); a change appends one segment beginning
 * at the change's instant with the value then in force (schedule_change). Value and area
 * stay continuous across a change, so arrival k keeps its number: the arrivals before the
 * change keep their times, those after are due by the new segment, none lost or doubled.
 * Segments are never modified once appended: readers on other threads may read those below
 * a count published after they were written. */
typedef struct schedule_segment {
	uint64_t begin_ns; /* since the start; >= the previous segment's */
	uint64_t ramp_ns;
	double from, to;
	double area;     /* arrivals (∫ value dt, value·seconds) before begin_ns */
	double ramp_end; /* the same at the end of the ramp (begin_ns + ramp_ns) */
} schedule_segment_t;

/* s's stages as segments into out (room for s->count, and at least 1); returns how many. */
uint32_t schedule_segments(const schedule_t *s, schedule_segment_t *out);
/* The segment of a change at at_ns (>= the last segment's begin) after seg[0..n): from the
 * value then in force to `to`, linearly over ramp_ns. */
schedule_segment_t schedule_change(const schedule_segment_t *seg, uint32_t n, uint64_t at_ns,
                                   double to, uint64_t ramp_ns);
/* The value at t_ns (the last segment's `to` holds for ever). n >= 1. */
double schedule_segments_value_at(const schedule_segment_t *seg, uint32_t n, uint64_t t_ns);
/* Arrivals in [0, t] (the last value held for ever). n >= 1. */
double schedule_segments_arrivals_until(const schedule_segment_t *seg, uint32_t n, uint64_t t_ns);
/* When arrival k (>= 1) is due. `holds`: arrivals go on at the last value after the last
 * ramp (a run that can change, or runs until stopped); else they end with it, exactly as
 * schedule_arrival_time ends them with a stage schedule's last stage. UINT64_MAX: none
 * (past the end, or the value is 0 from there on). */
uint64_t schedule_segments_arrival_time(const schedule_segment_t *seg, uint32_t n, uint64_t k,
                                        bool holds);

#endif
