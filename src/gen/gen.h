/* gen: the load generator's engine — worker threads, each with its own loop and connections,
 * sharing nothing on the hot path; per-thread statistics merged into a result after join. */
#ifndef SURGE_GEN_H
#define SURGE_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "core/hist.h"
#include "core/loop.h"
#include "core/name_index.h"
#include "core/url.h"
#include "gen/deal.h"
#include "gen/schedule.h"

#define GEN_MAX_HEADERS     64
#define GEN_MAX_THREADS     256
#define GEN_MAX_CONNECTIONS 1000000
#define GEN_STATUS_MAX      1000 /* status codes 0..999 are counted one by one */
#define GEN_MAX_ENDPOINTS   2048 /* request names per run; more share the last, "(other)" */
#define GEN_MAX_TALLIES     256  /* checks, custom metrics and script error messages */
#define GEN_NAME_MAX        200
#define GEN_STEER_MAX       1024 /* changes one run accepts and records (gen_steer) */
#define GEN_MAX_RATE        1e7  /* arrivals per second, the most a change may ask */
#define GEN_MAX_PIPELINE    256  /* HTTP/1.1 requests one connection keeps in flight */
/* the N copies of the request a pipelining connection writes from, at most (bytes) */
#define GEN_PIPELINE_BYTES (4u * 1024 * 1024)
#define GEN_MAX_STREAMS    1000 /* --h2: concurrent streams one connection carries */

/* --h2: the TCP connections `streams` (the config's connections: one per stream) take, and
 * the threads that run them (no more than the TCP connections). Each thread runs whole
 * ones, dealt as deal_share deals a count (docs/run.md): `-c 3 -t 2` runs 2 and 1. */
uint32_t gen_h2_connections(uint32_t streams_total, uint32_t streams);
uint32_t gen_h2_threads(uint32_t streams_total, uint32_t streams, uint32_t threads);
/* Thread `p`'s stream slots of a shard's `streams_total`: its whole connections, `streams`
 * each but the shard's last, which carries the rest. */
uint32_t gen_h2_thread_slots(uint32_t streams_total, uint32_t streams, deal_part_t p);
/* Its place: how many of the shard's slots come before its first (user numbers). */
uint32_t gen_h2_thread_first_slot(uint32_t streams_total, uint32_t streams, deal_part_t p);
/* Its share of `users` (<= streams_total) of them: the users dealt round robin over the
 * shard's connections, a full one dropping out, so the shares add up to `users`, never
 * exceed a thread's slots, and never shrink as `users` grows. */
uint32_t gen_h2_thread_users(uint32_t users, uint32_t streams_total, uint32_t streams,
                             deal_part_t p);

/* How a request failed, when it failed before a complete response arrived. */
enum gen_error_kind {
	GEN_ERR_CONNECT_REFUSED,
	GEN_ERR_CONNECT_TIMEOUT,
	GEN_ERR_CONNECT, /* unreachable, no route, ... */
	GEN_ERR_READ_TIMEOUT,
	GEN_ERR_RESET,
	GEN_ERR_CLOSED_EARLY,
	GEN_ERR_PROTOCOL,
	GEN_ERR_TLS,
	/* the generator's own machine ran out of memory, file descriptors or local ports: the
	 * target did nothing wrong (and may never have seen the request) */
	GEN_ERR_RESOURCE,
	/* HTTP/2 (--h2), after the rest so that older documents and streams keep their order */
	GEN_ERR_STREAM_RESET, /* the server reset the request's stream (RST_STREAM) */
	GEN_ERR_GOAWAY,       /* the server's GOAWAY left the stream unanswered */
	/* the request's body waited on the server's flow-control window until the timeout, or
	 * the server reset it for FLOW_CONTROL_ERROR */
	GEN_ERR_FLOW_CONTROL,
	GEN_ERR_KIND_COUNT
};

const char *gen_error_kind_name(enum gen_error_kind kind);
/* The kind of a failure with errno err (positive or negative): GEN_ERR_RESOURCE when the
 * generator's machine ran out of something, else `otherwise`. */
enum gen_error_kind gen_error_kind_of(int err, enum gen_error_kind otherwise);

typedef struct gen_thread gen_thread_t;
typedef struct gen_conn gen_conn_t;
struct delta;

/* Who takes the run's stream: every generator thread hands over, once per wall-clock second,
 * a delta (result/delta.h) of what it measured in that second — counters, status codes,
 * error kinds, the latency, service-time and scheduling-lag histograms (sparse), the same per
 * endpoint, the scenario's tallies, and the self-check's figures. `second` is called under
 * the engine's timeline lock, so calls never overlap: it runs on a generator thread, off the
 * request path, once per thread per second, and must return quickly. The delta and all it
 * points to are the thread's and reused the next second: copy what you keep.
 *
 * Per thread rather than the threads' parts summed: summing in the engine would need a dense
 * histogram (~188 KB) per endpoint per second still open, while a thread's delta is sparse
 * and result_add already sums the deltas of one second into its point. Nothing is lost or
 * double counted: the deltas of a run add up to its figures exactly. */
typedef struct gen_consumer {
	void *ctx;
	void (*second)(void *ctx, const struct delta *d);
	/* optional (NULL: not called): every thread still running has handed over its delta of
	 * `second` — what a live view can show as that whole second. Under the same lock, after
	 * those deltas. Only a starved pacer's due counts of that second may still follow (in
	 * deltas of the same `second`). */
	void (*second_done)(void *ctx, int64_t second);
} gen_consumer_t;

/* What drives the users when it is not one fixed request (a scenario): per thread state made
 * on the thread itself, and the decision of what a user does next (gen_driver.h is all it
 * may call and see: send a request, sleep, finish an iteration, count checks and metrics). */
typedef struct gen_driver {
	void *ctx;
	/* the thread's own state (a Lua VM); NULL with err set stops the thread's users */
	void *(*thread_start)(void *ctx, gen_thread_t *t, char *err, size_t errlen);
	void (*thread_stop)(void *state);
	/* the connection's user should act: its request ended, its sleep is over, or it began */
	void (*next)(gen_conn_t *c);
	/* the user leaves (ramp-down, stop, or the thread's end, before thread_stop): free what
	 * it holds */
	void (*release)(gen_conn_t *c);
} gen_driver_t;

/* What was asked. Strings point into the caller's memory, which outlives the run. */
typedef struct gen_config {
	const char *url_text;
	url_t url;
	const char *method;
	const char *headers[GEN_MAX_HEADERS];
	int header_count;
	const char *body;
	size_t body_len;
	bool has_body;
	uint32_t connections;
	uint32_t threads;
	uint64_t duration_ns; /* 0: no time limit (requests or until_stopped must then be set) */
	uint64_t requests;    /* 0: no request limit */
	/* no duration, no request count: the run goes on until gen_stop (a live UI's run). Asked
	 * for explicitly, so that a config that forgot its end is an error, not a run for ever */
	bool until_stopped;
	uint64_t timeout_ns; /* per request, and per connect */
	bool insecure;       /* https: skip certificate verification */
	bool idle_poll; /* --idle-poll: asked, and then whether the CPU latency request holds */

	/* The load's shape. Closed model: `connections` users, or users following `schedule`.
	 * Open model: arrivals at `schedule`'s rate (per second), each with an intended send
	 * time; `connections` caps concurrency. */
	bool open_model;
	bool has_schedule; /* closed model: users follow the schedule (else constant) */
	/* closed model: the schedule is --users N --spawn-rate R's ramp to N, not a shape the
	 * user fixed — steerable as a run without one is (as Locust's users and spawn rate) */
	bool users_ramp;
	schedule_t schedule;     /* open model: always set */
	uint32_t max_queue;      /* open model: arrivals waiting for a connection, then dropped */
	double rate;             /* open model with a constant rate: the rate asked (for reports) */
	const char *stages_text; /* the stages as given (for reports), or NULL */
	const gen_driver_t *driver; /* NULL: every request is the one above */
	const char *scenario_path;  /* for reports, with a driver */
	/* with a driver, when the run ends (time up, schedule over, first stop): users finish
	 * the request they have out and leave (their on_stop runs) for at most this long; 0:
	 * everything in flight is abandoned at once, as without a driver */
	uint64_t stop_grace_ns;
	/* --group-by-header: count responses by this header's value (gen_groups.h); NULL: no */
	const char *group_header;
	/* --pipeline: requests each connection keeps in flight, sent back to back and answered
	 * in order (HTTP/1.1), each timed from its own send; 0 or 1: one at a time. Closed
	 * model without a driver only (gen_start refuses the rest), GEN_MAX_PIPELINE at most */
	uint32_t pipeline;
	/* --h2: HTTP/2 (ALPN h2 for https, prior knowledge h2c for http), every `streams`
	 * consecutive connections of a thread being the streams of one TCP connection: a
	 * connection above is then one stream, a user of the closed model or a place for an
	 * arrival of the open model. Without a driver or pipelining (gen_start refuses them) */
	bool h2;
	uint32_t streams; /* 1 .. GEN_MAX_STREAMS with h2 */
	/* --new-conn-every N: a connection is closed after its N-th request and the next one
	 * opens another (over https, with a handshake); 0: kept alive while the server allows.
	 * HTTP/1.1 one request at a time only (gen_start refuses --h2 and --pipeline with it) */
	uint32_t new_conn_every;
	/* --no-tls-resume: a connection that connects again does not offer the session (TLS 1.3
	 * ticket, TLS 1.2 session) its server gave it last, so every handshake is a full one */
	bool tls_no_resume;

	/* The figures above describe the whole test; this process runs one part of it
	 * (--shard), dealt as deal.h says: connections, users, -n and the queue by share, the
	 * open model's arrivals round robin. {0, 0} or {0, 1}: the whole. */
	deal_part_t shard;
	/* --start-at: when the run's first second begins, wall clock (ns since the epoch), so
	 * that the shards' seconds line up; 0: at once. The threads are ready before it. */
	uint64_t start_wall_ns;
	/* the stream of per-second deltas (above); NULL: nobody listens (none are built) */
	const gen_consumer_t *consumer;
	/* Keep the engine's own by-name totals (gen_result_t.named), which no command reads: a
	 * run's figures are the stream's sum, and tests/unit/test_stream.c proves that sum equal
	 * to these. Off, the threads keep no run-long copy of every endpoint's histogram (each
	 * such copy grows with the distinct latencies the run sees: 1.2 MB after 8 minutes of
	 * the soak's 1,000 scenario users, measured with heaptrack). */
	bool engine_totals;

	/* Steering (gen_steer, below). Closed model: the users the run has room for, the whole
	 * test's (a shard takes its part): connections are set up for that many at the start,
	 * those beyond `connections` parked (no socket, ~400 bytes each); 0: `connections`.
	 * A steerable closed run may start with `connections` 0 (no user until a change). */
	uint32_t users_max;
	/* why this run's load may not be steered, as the user should read it (e.g. "users come
	 * from the scenario's options.stages: ..."); NULL: the engine's own reasons, if any */
	const char *steer_refusal;
} gen_config_t;

/* Counters one thread keeps for itself; merged after the threads are joined. */
typedef struct gen_counters {
	uint64_t requests; /* complete responses */
	uint64_t errors;   /* failed requests plus responses with status >= 400 */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t late;    /* open model: arrivals that waited for a free connection */
	uint64_t dropped; /* open model: arrivals dropped because the queue was full */
	/* requests out (being connected, sent or answered) or arrivals still queued when the run
	 * stopped: abandoned, neither answered nor failed */
	uint64_t unfinished;
	uint64_t status[GEN_STATUS_MAX];
	uint64_t errors_by_kind[GEN_ERR_KIND_COUNT];
	uint64_t
	    checks_failed; /* scenario checks that failed (their response counts as an error) */
	uint64_t script_errors; /* scenario iterations ended by a Lua error */
} gen_counters_t;

void gen_counters_add(gen_counters_t *dst, const gen_counters_t *src);
/* The same when src holds no status codes but the n listed: the rest of its 8 KB of status
 * counts is not read (a coordinator adds thousands of seconds of one or two codes each). */
void gen_counters_add_codes(gen_counters_t *dst, const gen_counters_t *src, const uint16_t *codes,
                            size_t n);

/* One second of the run (the last may be shorter). */
typedef struct gen_point {
	double t;        /* seconds since the start, at the end of this interval */
	double length_s; /* length of the interval */
	uint32_t users;  /* open connections at the end of the interval */
	double target;   /* the asked users (closed) or rate (open) at the end of the interval */
	uint64_t requests;
	uint64_t errors;
	uint64_t late, dropped;
	uint64_t bytes_in;
	int64_t p50_us, p95_us, p99_us;
	/* the generator's own figures that second, for its self-check */
	double busiest_cpu;  /* the busiest thread's CPU time over the second's wall time, 0..1 */
	uint64_t due;        /* open model: arrivals due in this second */
	uint64_t pacer_late; /* of those, dispatched more than GEN_LAG_BOUND_US after their time */
} gen_point_t;

/* The self-check. A second is a bad one for the generator when a thread had no idle CPU left
 * (>= GEN_SATURATED_CPU of it) or when more than GEN_LATE_SHARE of the arrivals its pacer sent
 * went out over GEN_LAG_BOUND_US late (then that second's upper percentiles are the
 * generator's). One bad second is a stall; the run is saturated when bad seconds of one kind
 * are sustained: GEN_SATURATED_SECONDS in a row, or at least that many making up
 * GEN_SATURATED_SHARE of the run's seconds. A run shorter than that is judged on every second
 * it has for CPU, never for lateness (one stall of the host can cover all of it). */
#define GEN_SATURATED_CPU     0.95
#define GEN_LAG_BOUND_US      25000
#define GEN_LATE_SHARE        0.10
#define GEN_SATURATED_SECONDS 3
#define GEN_SATURATED_SHARE   0.25
#define GEN_SECOND_MIN_S      0.5 /* a last sliver shorter than this is not a second of its own */

enum gen_saturation_criterion {
	GEN_SAT_NONE,
	GEN_SAT_THREAD_CPU,   /* a thread had no idle CPU left */
	GEN_SAT_SCHEDULE_LAG, /* the pacer sent arrivals late */
};

/* Which criterion fired (the first, thread CPU before lag, when both did) and its figures. */
typedef struct gen_saturation {
	enum gen_saturation_criterion criterion;
	uint32_t seconds;       /* bad seconds of that kind */
	uint32_t consecutive;   /* the longest run of them */
	uint32_t whole_seconds; /* the run's seconds (a last sliver under GEN_SECOND_MIN_S not
	                           counted) */
	double first_s;         /* when the first bad second began, seconds since the start */
	double worst; /* the worst second: the busiest thread's CPU share, or the late share */
} gen_saturation_t;

const char *gen_saturation_name(enum gen_saturation_criterion criterion);

/* The decision's tally, one second at a time (in order): what a run keeps instead of its
 * seconds. */
typedef struct gen_selfcheck_one {
	uint32_t whole, bad, streak, longest;
	double first_s, worst;
} gen_selfcheck_one_t;

typedef struct gen_selfcheck {
	gen_selfcheck_one_t cpu, lag;
} gen_selfcheck_t;

void gen_selfcheck_init(gen_selfcheck_t *c);
void gen_selfcheck_add(gen_selfcheck_t *c, const gen_point_t *p);
/* true when saturated (out says why), false with out->criterion GEN_SAT_NONE. */
bool gen_selfcheck_decide(const gen_selfcheck_t *c, gen_saturation_t *out);
/* The decision over the run's seconds (the tally of points[0..n)). Pure, so it is tested
 * with made-up seconds. */
bool gen_saturation_decide(const gen_point_t *points, size_t n, gen_saturation_t *out);

/* Statistics by request name (method and name), like Locust's rows and k6's name tag. */
typedef struct gen_endpoint {
	char method[16];
	char name[GEN_NAME_MAX];
	gen_counters_t counters;
	/* µs, sparse (result/result.h): a dense hist_t is 188 KB, and a run has up to
	 * GEN_MAX_ENDPOINTS names per thread */
	struct result_hist *latency;
} gen_endpoint_t;

/* Named figures a scenario keeps: checks, custom counters and trends, script errors. */
enum gen_tally_kind { GEN_TALLY_CHECK, GEN_TALLY_COUNTER, GEN_TALLY_TREND, GEN_TALLY_SCRIPT_ERROR };

typedef struct gen_tally {
	enum gen_tally_kind kind;
	char name[GEN_NAME_MAX]; /* a script error's message, for that kind */
	uint64_t passes, fails;  /* check: passes and fails; script error: fails = occurrences */
	double value;            /* counter: the sum */
	hist_t *hist;            /* trend: values in thousandths (3 decimals), 0 .. 3.6e6 */
} gen_tally_t;

/* A set of both, per thread and merged for the run. */
typedef struct gen_named {
	gen_endpoint_t *endpoints[GEN_MAX_ENDPOINTS];
	uint32_t endpoint_count;
	name_index_t endpoint_index; /* method and name to position in endpoints */
	gen_tally_t *tallies[GEN_MAX_TALLIES];
	uint32_t tally_count;
} gen_named_t;

/* The endpoint's index (added when new; the last slot when full), or -ENOMEM. */
int gen_named_endpoint(gen_named_t *n, const char *method, const char *name);
/* The tally (added when new; NULL when full or out of memory). */
gen_tally_t *gen_named_tally(gen_named_t *n, enum gen_tally_kind kind, const char *name);
/* Every figure back to zero, the names kept (a thread's second, once handed over). */
void gen_named_clear(gen_named_t *n);
void gen_named_free(gen_named_t *n);

typedef struct gen_run gen_run_t;

/* Starts the threads and returns at once; NULL with a message when it cannot start, and
 * errno ENOMEM or EAGAIN when the machine lacked memory or threads (the generator's own
 * resources), another value when what was asked cannot work. */
gen_run_t *gen_start(const gen_config_t *cfg, char *err, size_t errlen);
/* Thread-safe and idempotent: ends the run early; the result covers the time it ran. */
void gen_stop(gen_run_t *run);
/* When the run's first second began, wall clock (ns since the epoch). */
uint64_t gen_started_wall_ns(const gen_run_t *run);
bool gen_finished(gen_run_t *run);
/* Copies up to max finished timeline points from point *from on, and moves *from past them;
 * returns how many. The engine keeps its latest GEN_RECENT_POINTS (64): a reader further
 * behind skips to the oldest of them. */
size_t gen_timeline_snapshot(gen_run_t *run, uint64_t *from, gen_point_t *out, size_t max);

/* ---- Steering: the load changed while the run goes on (a live UI, from its own thread) ----
 *
 * One mechanism for every model: the run's schedule (users or rate over time: schedule.h's
 * segments) can be appended to while it runs. A change begins now, at the value asked at
 * this instant, goes linearly to the new one (at a spawn rate, or over a ramp) and holds it.
 * The threads read the schedule without a lock (the change is published with one atomic
 * store) and are woken to act on it at once; the closed model's 100 ms tick reads it anyway.
 * Values are the whole test's, as the config's: a shard takes its part (deal.h). */
enum gen_steer_kind {
	GEN_STEER_USERS, /* closed model: users, and the spawn rate they join or leave at */
	GEN_STEER_RATE,  /* open model: arrivals per second, and how long the ramp to it lasts */
};

typedef struct gen_steer {
	enum gen_steer_kind kind; /* the run's model's, else refused */
	double value; /* users (a whole number, 0 .. users_max) or arrivals/s (0 .. GEN_MAX_RATE) */
	double spawn_rate; /* users: joining or leaving per second on the way; 0: all at once */
	double ramp_s;     /* rate: seconds to reach it, linearly; 0: at once */
} gen_steer_t;

/* A change accepted, for the charts: when, and what. */
typedef struct gen_marker {
	uint64_t wall_ns; /* when it was accepted, ns since the epoch */
	uint64_t at_ns;   /* the same, since the run's start (where the change begins) */
	enum gen_steer_kind kind;
	double from;       /* the value asked at that instant (mid-ramp: between) */
	double to;         /* the value asked now */
	double spawn_rate; /* users: as asked (0: at once); rate: 0 */
	double ramp_s;     /* how long until `to` is reached */
} gen_marker_t;

/* What the load is asked now, for a UI's controls. */
typedef struct gen_steer_state {
	enum gen_steer_kind kind;
	bool steerable;   /* else gen_steer refuses, with the reason gen_steer_check gives */
	double now;       /* the value asked at this instant */
	double target;    /* the value it is heading for (= now when not ramping) */
	double max;       /* users_max, or GEN_MAX_RATE */
	uint32_t changes; /* accepted so far (at most GEN_STEER_MAX) */
} gen_steer_state_t;

/* Whether a run of cfg can be steered, before it starts (a UI shows the controls disabled
 * with the reason): 0 and *kind, or -EINVAL and why (one line, to show as it is). A shape the
 * user fixed is not changed under them: --stages or a profile, -n, cfg->steer_refusal. */
int gen_steer_check(const gen_config_t *cfg, enum gen_steer_kind *kind, char *why, size_t whylen);
/* Changes the running load (thread-safe; the run must not have been gen_finish'ed): 0, or
 * -EINVAL (the shape is fixed, the value is out of bounds: over the users the run has room
 * for, the descriptors a user needs, ...) or -EBUSY (the run is over or stopping, or has
 * taken GEN_STEER_MAX changes), with one line in err saying why, for the user to read. An
 * accepted change is a marker: in the next delta the consumer gets and in the result. */
int gen_steer(gen_run_t *run, const gen_steer_t *s, char *err, size_t errlen);
void gen_steer_state(gen_run_t *run, gen_steer_state_t *out);

/* What a finished run produced. Owned by the caller after gen_finish; gen_result_free. */
typedef struct gen_result {
	uint64_t started_wall_ns;
	uint64_t duration_ns;
	bool interrupted; /* ended by gen_stop */
	/* the engine's own totals, merged from its threads: no command reads them (surge run's
	 * figures are the stream's sum, result_t); they are what tests/unit/test_stream.c proves
	 * that sum equal to, count for count and bucket for bucket */
	gen_counters_t counters;
	gen_named_t named;     /* by endpoint, and the scenario's checks and metrics; empty unless
	                          gen_config_t.engine_totals */
	hist_t *latency;       /* µs: from the intended send time (open model) or the send */
	hist_t *service;       /* µs: from the actual send to the complete response */
	hist_t *sched_lag;     /* µs: how late the generator's own timer sent what was due */
	double thread_cpu_max; /* the busiest thread's CPU time over its wall time, 0..1 */
	double *thread_cpu;    /* each thread's CPU time over its wall time (threads entries) */
	bool saturated;        /* the numbers describe the generator more than the target */
	gen_saturation_t saturation; /* why, when saturated */
	/* the engine's own timeline, every second as the self-check took it (the document's
	 * timeline is the consumer's sum of the stream): only with gen_config_t.engine_totals
	 * (tests compare the two), else NULL — the self-check keeps a tally, not the seconds */
	gen_point_t *timeline;
	size_t timeline_len;
	uint64_t timeline_lost; /* seconds it could not keep (its cap, or no memory) */
	/* seconds a thread's delta could not be built, or its run figures kept, for lack of
	 * memory: the stream lost them (0 in any sane run; reported, never silent) */
	uint64_t stream_failed;
	size_t stream_bytes; /* the heap the threads' delta buffers held at the end (bounded) */
	double cpu_s;        /* user + system time of the generator process during the run */
	uint64_t max_rss_bytes;
	uint32_t threads;
	uint32_t connections;
	/* the threads' event loops: their backend (of the first thread: with --io auto a loop
	 * whose ring fails uses epoll, counted in io.fallback_loops) and their counts summed */
	const char *io_backend;
	loop_io_stats_t io;
	char driver_error[512]; /* why the driver (scenario) could not start; "" when it did */
	gen_marker_t *markers;  /* the changes accepted (gen_steer), in order; NULL: none */
	uint32_t marker_count;
	struct gen_groups *groups; /* --group-by-header: responses by its value; else NULL */
	/* https: TLS handshakes completed, of which resumed ones, and how long each took (µs,
	 * from the TCP connection's establishment to the handshake's end: in no request's
	 * latency); NULL over http */
	uint64_t tls_handshakes, tls_resumed;
	hist_t *handshake;
} gen_result_t;

/* Waits for the threads, merges their statistics into *out and frees the run. */
int gen_finish(gen_run_t *run, gen_result_t *out);
void gen_result_free(gen_result_t *r);

#endif
