/* result: one run's figures, typed — the model the result document (docs/result-format.md)
 * is the text of. It is the sum of the run's per-second deltas (delta.h, result_add) and of
 * other results (result_merge, shards aligned by wall-clock second); result_encode writes
 * the document from it and result_decode reads one back (round trip exact: counts, and
 * histograms bucket by bucket). Histograms are kept sparse (sorted bucket/count pairs) and
 * a timeline point's histogram encoded (HdrHistogram V2 in base64, as the document holds
 * it), so an hour of seconds costs megabytes, not the ~677 MB of dense per-second
 * histograms. Every allocation is counted (result_memory), and every bound (points,
 * endpoints, tallies) that is hit is counted in `dropped` and reported in the document. */
#ifndef SURGE_RESULT_H
#define SURGE_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/hist.h"
#include "gen/gen.h"

#define RESULT_POINTS_MAX          (7u * 24 * 3600) /* a week of seconds */
#define RESULT_ENDPOINTS_MAX       GEN_MAX_ENDPOINTS
#define RESULT_TALLIES_MAX         GEN_MAX_TALLIES
#define RESULT_GROUPS_MAX          64 /* --group-by-header values kept (GEN_GROUPS_MAX) */
#define RESULT_THRESHOLDS_MAX      64
#define RESULT_RECOMMENDATIONS_MAX 16
#define RESULT_FIGURES_MAX         16 /* figures of one recommendation */
#define RESULT_MERGED_MAX          1024
#define RESULT_MARKERS_MAX         GEN_STEER_MAX

/* One non-empty bucket of surge's histogram layout (core/hist.h): its index and count. */
typedef struct result_bucket {
	uint32_t index;
	uint64_t count;
} result_bucket_t;

/* A histogram kept sparse: only its non-empty buckets, in index order, and the exact moments
 * hist_t keeps (min, max, sums) that buckets alone cannot give back. Values in µs. */
typedef struct result_hist {
	uint64_t total;
	int64_t min; /* INT64_MAX when empty, as hist_t */
	int64_t max;
	double sum, sum_sq;
	uint64_t clamped;
	uint32_t len, cap;
	result_bucket_t *buckets;
	/* A decoded document had no histogram here (service_ms never has one): its figures —
	 * min, mean, stdev, p50, p90, p95, p99, p99_9, max in ms, NAN where absent — are
	 * written back as read. */
	bool read;
	bool read_approximate; /* a merge's percentiles without histograms: upper bounds */
	double read_ms[9];
	uint64_t read_count; /* the values those figures describe (a merge weighs them by it) */
} result_hist_t;

/* The section of one latency figure set ("latency_ms", "service_ms", an endpoint's, a group
 * value's): its histogram. The document's percentiles, mean and stdev are computed from it
 * when written. */

typedef struct result_endpoint {
	char method[16];
	char name[GEN_NAME_MAX];
	gen_counters_t counters;
	result_hist_t latency;
} result_endpoint_t;

/* A scenario's named figure: a check, custom counter, trend or script error. */
typedef struct result_tally {
	enum gen_tally_kind kind;
	char name[GEN_NAME_MAX]; /* a script error's message, for that kind */
	uint64_t passes, fails;  /* check: both; script error: fails = occurrences */
	double value;            /* counter: the sum */
	result_hist_t hist;      /* trend: values in thousandths */
} result_tally_t;

/* One second of the timeline. `second` is whole seconds since started_at: the point covers
 * [second, second + length_s); its absolute second is started_at + second, which is what
 * merged timelines align on. */
typedef struct result_point {
	int64_t second;
	double t;        /* the end of the interval, seconds since the start (the document's) */
	double length_s; /* 1, the last may be shorter */
	uint32_t users;
	double target;
	uint64_t requests, errors, late, dropped, bytes_in;
	int64_t p50_us, p95_us, p99_us;
	double busiest_cpu;      /* the self-check's figure for the second */
	uint64_t due, due_late;  /* open model */
	double target_cpu_cores; /* --scrape: NAN when no sample covers the second */
	double target_rss_bytes; /* ditto */
	char *hist;              /* the second's latency histogram, base64 V2, or NULL */
	size_t hist_len;
	result_hist_t *open; /* deltas still arriving: summed sparse, sealed into hist */
	bool gap; /* a merge's second no shard reported: the document gives only its counts */
	/* a merge's second a part measured without keeping its histogram (an older document):
	 * p50/p95/p99 are the largest part's (upper bounds), and it has no histogram */
	bool approximate;
	uint32_t deltas; /* result_add: the deltas summed into it (its length is their longest) */
} result_point_t;

/* Where a streamed result's sealed seconds go (result_timeline.c): two unlinked files in
 * $TMPDIR (else /tmp), one of fixed-size records (a point's figures, second i at i times the
 * record's size, so any second is one read away and can be rewritten in place) and one of
 * their histograms' text, appended. Opened on the first second to spill. */
typedef struct result_spill {
	bool opened; /* the descriptors below are the files' */
	int records_fd, hists_fd;
	uint64_t hists_end; /* bytes written to hists_fd */
	uint64_t seconds;   /* seconds written (records), the rewritten ones counted again */
	/* why spilling stopped (a negative errno: the file could not be made or written): the
	 * seconds from window_first on stay in memory, as without a file; 0: it goes on */
	int error;
	bool off; /* never spill: every second stays in memory (tests compare both) */
} result_spill_t;

typedef struct result_group {
	char value[129];
	uint64_t responses, errors;
	result_hist_t latency;
} result_group_t;

typedef struct result_threshold {
	char *expr;
	double value; /* NAN: nothing measured (null) */
	bool ok;
} result_threshold_t;

typedef struct result_figure {
	char name[48];
	double value; /* NAN: unknown */
} result_figure_t;

typedef struct result_recommendation {
	char severity[16]; /* critical, warning, info */
	char kind[32];
	char *title, *detail;
	int figure_count;
	result_figure_t figures[RESULT_FIGURES_MAX];
} result_recommendation_t;

/* --scrape: what the target said (NAN: not exported, null in the document). */
typedef struct result_target {
	char *url, *last_error, *cpu_basis;
	uint64_t samples, scrape_errors, bad_lines;
	double cpu_cores_avg, cpu_cores_max, cpu_limit_cores, workers, host_cores;
	double cpu_capacity_cores, cpu_utilisation;
	double rss_bytes_max, memory_limit_bytes, memory_utilisation;
	double in_flight_max, pool_waits, pool_timeouts, pool_wait_ms_mean;
	double cpu_periods, cpu_throttled_periods, cpu_throttled_share, cpu_throttled_s;
	double oom_kills;
} result_target_t;

/* What was asked (the document's "config"). Strings are owned; NULL when absent. */
typedef struct result_config {
	char *url, *scenario, *method, *stages;
	bool open_model;
	bool has_rate;
	double rate;
	bool has_max_queue;
	uint64_t max_queue;
	/* --pipeline: requests each connection kept in flight (a plain run's, 1 by default;
	 * absent from a scenario's document and from documents before it was recorded) */
	bool has_pipeline;
	uint64_t pipeline;
	/* --new-conn-every N (0: not given, connections kept alive) */
	uint64_t new_conn_every;
	/* --h2: streams per TCP connection (connections counts TCP connections then); 0:
	 * HTTP/1.1. The document says "protocol": "h2" (https) or "h2c", and "streams" */
	uint64_t streams;
	/* --shard I/N: this document is part I (1-based) of N of one test, and rate,
	 * max_queue, connections and requests are its part; shard_count 0: the whole test */
	uint64_t shard_index, shard_count;
	uint64_t connections, threads, requests, body_bytes;
	double duration_s, timeout_s;
	char **headers;
	uint32_t header_count;
	bool insecure;
	bool idle_poll; /* --idle-poll held: idle CPUs polled through the run */
} result_config_t;

/* The seeds' verdicts ("assessment"), as judged by report/. */
typedef struct result_assessment {
	bool present;
	bool pass, latency_ok, throughput_ok, errors_ok, thresholds_ok, aborted;
	char latency_class[32];
	double p95_ms;
	double target_p95_ms, target_max_error_rate, target_min_rps;
	char *profile; /* NULL when none */
} result_assessment_t;

/* The generator's own figures and its self-check. */
typedef struct result_generator {
	double cpu_s;
	uint64_t max_rss_bytes;
	uint64_t threads, connections;
	double thread_cpu_max;
	double *thread_cpu;
	uint32_t thread_cpu_count;
	result_hist_t sched_lag;
	/* sched_lag_p99_us/max_us as read from a document, which carries no histogram of it */
	bool sched_lag_read;
	int64_t sched_lag_p99_us, sched_lag_max_us;
	bool saturated;
	gen_saturation_t saturation;
	int64_t saturation_shard; /* a merge: the index of the shard it came from; -1: none */
	/* the event loops' I/O backend ("" when a document had none), why --io auto did not use
	 * io_uring ("" when it did), and the bounds the loops met */
	char io[16];
	char io_fallback[160];
	uint64_t io_recv_no_buffer, io_sq_full_submits, io_cq_overflow, io_fallback_loops;
} result_generator_t;

/* What hitting a bound cost, so it is never silent. */
typedef struct result_dropped {
	uint64_t points;      /* seconds beyond RESULT_POINTS_MAX, or lost to memory */
	uint64_t endpoints;   /* deltas of endpoints beyond RESULT_ENDPOINTS_MAX (summed into the
	                         last one, as the engine does) */
	uint64_t tallies;     /* tallies beyond RESULT_TALLIES_MAX */
	uint64_t deltas_lost; /* deltas (or parts) not kept for lack of memory: result_add's
	                         failures, and seconds the engine could not build (stream_failed) */
	uint64_t markers;     /* changes of the load beyond RESULT_MARKERS_MAX, or lost to memory */
} result_dropped_t;

/* A distributed run (surge run --coordinator, docs/distributed.md): its shards, and each
 * lost while it ran — the seconds from from_second on lack that shard's part of the load. */
typedef struct result_lost_shard {
	uint32_t index; /* 0-based; the document writes it from 1 */
	int64_t from_second;
	double asked; /* its share of the users or the rate asked; NAN: not known */
} result_lost_shard_t;

typedef struct result_distributed {
	uint32_t shards; /* 0: not a distributed run */
	uint32_t lost_count;
	result_lost_shard_t *lost;
} result_distributed_t;

typedef struct result {
	char *version; /* the surge that measured it; NULL: unknown (encoded as this one) */
	/* what a sparse document (an older surge's, a hand-made one) left out */
	bool has_started_at, has_generator;
	uint64_t started_wall_ns;
	double duration_s;
	bool interrupted;
	result_config_t config;

	gen_counters_t counters; /* requests = responses; errors_by_kind: transport failures */
	result_hist_t latency, service;

	result_endpoint_t *endpoints;
	name_index_t endpoint_index; /* method and name to position in endpoints */
	uint32_t endpoint_count, endpoint_cap;
	result_tally_t *tallies;
	uint32_t tally_count, tally_cap;

	/* The timeline: point_count seconds. Those before window_first are spilled (sealed,
	 * written to spill's file, out of memory); window holds the rest, window[k] being
	 * second window_first + k. Read any second with result_point_at (result_timeline.c). */
	size_t point_count;
	result_point_t *window;
	size_t window_first, window_cap;
	size_t sealed_upto; /* points before this index hold no open histogram */
	result_spill_t spill;
	/* the load's changes while it ran (gen_steer, carried by the deltas), in order: when
	 * (since started_at, and wall clock) and what, for every chart to mark */
	gen_marker_t *markers;
	uint32_t marker_count, marker_cap;

	bool has_groups; /* --group-by-header */
	char *group_header;
	result_group_t *groups;
	uint32_t group_count;
	uint64_t group_missing, group_overflow, group_truncated, group_values_max;

	result_threshold_t *thresholds;
	uint32_t threshold_count;
	result_assessment_t assessment;
	result_recommendation_t *recommendations;
	uint32_t recommendation_count;
	bool has_target;
	result_target_t target;
	bool has_cost;
	double cost_per_hour_usd, cost_requests_per_s, cost_total_per_hour_usd;
	double cost_per_million_requests_usd;
	uint64_t cost_replicas;

	result_generator_t generator;

	/* https over HTTP/1.1: TLS handshakes completed, resumed ones (whether resumption was
	 * offered: --no-tls-resume), and the handshakes' times in µs, apart from any request's */
	bool has_tls, tls_resumption;
	uint64_t tls_handshakes, tls_resumed;
	result_hist_t tls_handshake;

	char **merged_from; /* the shards' names, for a merge */
	uint32_t merged_count;
	uint64_t shards; /* 0: not a merge */
	result_distributed_t distributed;

	result_dropped_t dropped;
	size_t bytes;    /* heap held, result_memory */
	hist_t *scratch; /* one dense histogram for sealing and reading (counted in bytes) */
} result_t;

#include "result/delta.h"

void result_init(result_t *r);
void result_free(result_t *r);
/* The heap bytes the result holds, every allocation counted. */
size_t result_memory(const result_t *r);

/* r += d: counters, histograms, endpoints and tallies summed, and d's second added to the
 * timeline (several deltas of one second, one per thread, sum into its point). 0, or
 * -ENOMEM (r stays valid: what could not be kept is counted in r->dropped). */
int result_add(result_t *r, const delta_t *d);
/* into += from: what one process measured added to another's, timelines aligned by
 * wall-clock second (from's point at started_at + s lands on into's point of that absolute
 * second; the earlier start becomes the whole's). An empty into whose started_wall_ns is set
 * takes it as the whole's start: set it to the earliest start of every part and each part's
 * seconds are rounded once against it, so the whole is the same in any order. The verdict
 * sections (thresholds, assessment, recommendations) are judged again on the sum by report/,
 * not summed; the scraped target is the first part's that has one. */
int result_merge(result_t *into, const result_t *from, const char *from_name);
/* result_merge_check.c: whether parts[0..n) (named names[i], their files) can be merged as
 * one run's: 0, or -EINVAL with one line naming the file(s) at fault — documents of
 * different runs (config url, method or scenario), a --shard part twice or parts of
 * different splits (or with a whole run), the same part twice (equal start, duration,
 * counts, histograms and generator figures), a merged result given with one of its parts,
 * or a part without its latency histogram. */
int result_merge_check(const result_t *const *parts, const char *const *names, size_t n, char *err,
                       size_t errlen);
/* Encodes every point's open histogram (result_add leaves the last seconds open, since a
 * thread's delta may still come). 0 or -ENOMEM. */
int result_seal(result_t *r);

/* The document of docs/result-format.md, pretty-printed, with its closing newline. */
int result_encode(const result_t *r, buf_t *out);
/* The same document on one line without the timeline's per-second histograms (they can be
 * most of a long run's bytes): what the HTML report embeds. No closing newline. */
int result_encode_compact(const result_t *r, buf_t *out);
/* Reads a document (the checks and messages of result_doc_check); 0, or -EINVAL/-ENOMEM
 * with one line naming `name` and the key in err. r is initialised here. */
int result_decode(const char *name, const char *text, size_t len, result_t *r, char *err,
                  size_t errlen);

/* What a document is read for: a report renders what a sparse document has; compare and
 * merge need the figures they judge or sum (result_doc_require says which is missing). */
typedef enum result_doc_use {
	RESULT_DOC_FOR_REPORT,
	RESULT_DOC_FOR_COMPARE, /* totals (requests, errors, rps), latency_ms and duration_s */
	RESULT_DOC_FOR_MERGE,   /* duration_s and totals (requests, responses, errors) */
} result_doc_use_t;
/* Reads the document in the file at path ("-": stdin) into r: result_doc_load's checks and
 * messages ("FILE: No such file or directory", "FILE: empty", "FILE:LINE:COL: ...", "FILE:
 * KEY: expected ..."), then what `use` needs ("FILE: totals: missing (surge compare needs
 * it)"), then result_decode. 0, or -EINVAL/-ENOMEM with that one line in err; r is
 * initialised here and holds nothing on failure. */
int result_load(const char *path, result_doc_use_t use, result_t *r, char *err, size_t errlen);

/* v as the document writes it with `digits` decimals (read back); non-finite v as it is. */
double result_round(double v, int digits);
/* Requests that ended: responses (c->requests) plus transport failures. */
uint64_t result_requests(const gen_counters_t *c);

/* ---- sparse histograms (result_hist.c) ---- */
void result_hist_init(result_hist_t *h);
/* h = the non-empty buckets of d (and its moments); counted in r's bytes. 0 or -ENOMEM. */
int result_hist_set(result_t *r, result_hist_t *h, const hist_t *d);
/* Records one value (µs) as hist_record does, into the pairs: a binary search, and for a
 * bucket h has not had, an insert (the pairs grown by doubling, not counted in any result).
 * For the many histograms of a second's endpoints, whose dense form would take 188 KB each.
 * 0, or -ENOMEM (the value not recorded). */
int result_hist_record(result_hist_t *h, int64_t value);
/* h emptied, its pairs' memory kept for the next second. */
void result_hist_clear(result_hist_t *h);
/* dst = src (buckets and moments). 0 or -ENOMEM. */
int result_hist_copy(result_t *r, result_hist_t *dst, const result_hist_t *src);
/* dst += src, exactly. When either holds figures only (a decoded document's set without its
 * histogram: read, no buckets), the sum is figures only too: min, max, mean and stdev exact
 * (weighted by read_count), each percentile the larger of the two (an upper bound, at most
 * the max) and read_approximate. 0 or -ENOMEM. */
int result_hist_add(result_t *r, result_hist_t *dst, const result_hist_t *src);
/* Whether h holds figures only: a decoded document's set without its histogram. */
bool result_hist_figures_only(const result_hist_t *h);
/* d = h, dense (d is reset first). */
void result_hist_expand(const result_hist_t *h, hist_t *d);
/* d += h, exactly (hist_merge of h's buckets and moments into a dense histogram). */
void result_hist_add_to(const result_hist_t *h, hist_t *d);
void result_hist_free(result_t *r, result_hist_t *h);
/* d = h as the document's histogram reads back (hist_decode of the V2 text result_encode
 * writes): the same buckets, min and max at their buckets' edges, sums from bucket middles.
 * What a renderer of the saved document sees, so a run's own output is the same bytes.
 * 0, -ENOMEM or -EINVAL. */
int result_hist_written(const result_hist_t *h, hist_t *d);
/* The p-th percentile in µs, exactly hist_percentile of the expanded histogram (0 when
 * empty), read from the pairs: no dense scratch. */
int64_t result_hist_percentile(const result_hist_t *h, double p);
/* The figures of a latency section in ms, as the document gives them before rounding, in
 * read_ms order (min, mean, stdev, p50, p90, p95, p99, p99.9, max): from the buckets and
 * moments, or a decoded document's own where it had no histogram (NAN where it had none).
 * No dense scratch. */
void result_hist_ms(const result_hist_t *h, double ms[9]);
/* Whether a and b hold the same buckets, counts, total, min and max. */
bool result_hist_equal(const result_hist_t *a, const result_hist_t *b);

/* ---- the heap, counted (result.c) ---- */
void *result_alloc(result_t *r, size_t size);
void *result_realloc(result_t *r, void *p, size_t old_size, size_t new_size);
void result_release(result_t *r, void *p, size_t size);
char *result_strdup(result_t *r, const char *s);
void result_strfree(result_t *r, char *s);

/* The endpoint (method, name), added when new; the last slot when full (counted). NULL on
 * no memory. */
/* --group-by-header's values in name order (instances read best sorted: pod-a, pod-b, ...),
 * their responses summed into *grouped and the largest in *most; the caller frees the array.
 * NULL when out of memory. */
const result_group_t **result_groups_sorted(const result_t *r, uint64_t *grouped, uint64_t *most);
result_endpoint_t *result_endpoint(result_t *r, const char *method, const char *name);
/* The position of an endpoint in r->endpoints, or -1: none of that method and name. */
int64_t result_endpoint_find(const result_t *r, const char *method, const char *name);
result_tally_t *result_tally(result_t *r, enum gen_tally_kind kind, const char *name);
/* ---- the timeline (result_timeline.c) ---- */

/* The point of `second` to fill in, added (with the empty seconds before it) when new; NULL
 * when past RESULT_POINTS_MAX or out of memory (counted in dropped.points), or when it is
 * spilled (only a stream's result spills, and only result_add adds to one; see below). */
result_point_t *result_point(result_t *r, int64_t second);

/* A spilled second read back: its copy and its histogram's text. */
typedef struct result_cursor {
	result_point_t point;
	buf_t hist;
	int error; /* why the last read failed (a negative errno); 0 */
} result_cursor_t;

void result_cursor_init(result_cursor_t *c);
void result_cursor_free(result_cursor_t *c);
/* Second i (< point_count) as the document holds it, wherever it is kept: in memory, the
 * point itself (valid until r changes); spilled, read into c (valid until c's next read).
 * NULL when it cannot be read, with c->error. The one way any reader reads the timeline. */
const result_point_t *result_point_at(const result_t *r, size_t i, result_cursor_t *c);
/* Second i's figures set to p's (its second, histogram and open histogram stay), in memory
 * or in the spill file: 0 or a negative errno. */
int result_point_update(result_t *r, size_t i, const result_point_t *p);
/* The directory of the spill files: $TMPDIR, else /tmp. */
const char *result_spill_dir(void);

/* result/ only: the window's sealed seconds but the last RESULT_SPILL_AFTER written out
 * (result_add; a failure stops spilling, said in spill.error, nothing lost); spilled second
 * i read into p (its text allocated, counted) and written again after a change. */
int result_timeline_spill(result_t *r);
int result_timeline_load(result_t *r, size_t i, result_point_t *p);
int result_timeline_store(result_t *r, size_t i, const result_point_t *p);
void result_point_free(result_t *r, result_point_t *p);
void result_timeline_free(result_t *r);
/* The dense scratch histogram (allocated on first use); NULL on no memory. */
hist_t *result_scratch(result_t *r);

#endif
