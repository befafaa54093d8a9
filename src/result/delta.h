/* delta: one wall-clock second of the run as the engine hands it over — what happened in
 * [second, second + length_s) on one generator thread (or several already summed): the
 * counters, status codes, error kinds, users, rate, late and dropped arrivals, the
 * self-check's figures, the latency, service-time and scheduling-lag histograms, and the
 * same per endpoint (method × name) and per scenario tally. result_add sums it into a
 * result_t; the live stream, Prometheus and shard uploads can read the same struct.
 *
 * Why this shape. The engine already keeps a dense hist_t per thread for the second it is
 * in; a delta takes its non-empty buckets as sorted (index, count) pairs (result_hist_set,
 * one pass over the 23,552 counters, no allocation once the pairs' array has grown to the
 * run's spread), so handing a second over costs the engine microseconds and the consumer
 * gets something it can add in O(pairs) and keep: a second holds hundreds of non-empty
 * buckets, not 188 KB. Counters stay dense (gen_counters_t): they are added field by field
 * and a delta lives one second. Endpoints and tallies are arrays owned by the producer,
 * which reuses them second after second; result_add copies what it keeps. */
#ifndef SURGE_DELTA_H
#define SURGE_DELTA_H

#include <stdint.h>

#include "gen/gen.h"

typedef struct delta_endpoint {
	char method[16];
	char name[GEN_NAME_MAX];
	gen_counters_t counters;
	result_hist_t latency; /* µs */
} delta_endpoint_t;

typedef struct delta_tally {
	enum gen_tally_kind kind;
	char name[GEN_NAME_MAX];
	uint64_t passes, fails; /* check: both; script error: fails = occurrences */
	double value;           /* counter: what was added this second */
	result_hist_t hist;     /* trend: values in thousandths */
} delta_tally_t;

typedef struct delta {
	int64_t second;  /* whole seconds since the run's start (started_at) */
	double length_s; /* 1; the run's last second may be shorter */
	/* the state at the end of the second: users (connections open) are summed over the
	 * threads' deltas of one second, target (the asked users or rate) is the run's and
	 * kept as given, busiest_cpu (a thread's CPU share, the self-check) is the largest */
	uint32_t users;
	double target;
	double busiest_cpu;
	uint64_t due, due_late; /* open model: arrivals due this second, and dispatched late */
	gen_counters_t counters;
	result_hist_t latency;   /* µs, from the intended send (open model) or the send */
	result_hist_t service;   /* µs, from the actual send */
	result_hist_t sched_lag; /* µs, how late the pacer sent what was due */
	const delta_endpoint_t *endpoints;
	uint32_t endpoint_count;
	const delta_tally_t *tallies;
	uint32_t tally_count;
	/* changes of the load (gen_steer) accepted since the stream's last delta: each is handed
	 * over once, with whichever thread's delta comes next, and carries its own time (it may
	 * belong to a later second than this delta's) */
	const gen_marker_t *markers;
	uint32_t marker_count;
} delta_t;

#endif
