/* gen_internal: the engine's private types — the run, its worker threads, their connections —
 * and the functions the engine's files call of each other: gen_run.c (lifecycle, threads),
 * gen_conn.c (connections), the load models gen_closed.c and gen_open.c (an ops table each,
 * below), gen_steer.c (the schedule in force, and changes to it while running),
 * gen_timeline.c (the per-second timeline) and gen_driver.c (the driver API's side in the
 * engine). Nothing outside src/gen/ includes it: a driver (scenario/) sees
 * gen_driver.h only. */
#ifndef SURGE_GEN_INTERNAL_H
#define SURGE_GEN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/loop.h"
#include "core/net.h"
#include "core/tls.h"
#include "gen/gen.h"
#include "gen/gen_driver.h"
#include "gen/gen_groups.h"
#include "result/result.h"

#define GEN_READ_BUFFER     (64 * 1024)
#define GEN_READS_PER_EVENT 4 /* the per-event budget: then other connections get a turn */
#define GEN_TIMELINE_RING   8 /* seconds a slow thread may lag before its second is closed */
#define GEN_TIMELINE_MAX    (7 * 24 * 3600) /* one point per second for a week */
#define GEN_RECENT_POINTS   64              /* the engine's latest seconds kept for the live line */

/* Up to this many connections (a run's, on this shard) each keeps its TLS buffers between
 * records: +10 KiB each (measured at -c 1000), for 3.5 % less CPU per request (perf) */
#define GEN_TLS_KEEP_BUFFERS 1000

/* A thread's delta buffers (gen_delta.c): the delta it hands over each second and the arrays
 * it points to, reused second after second. Each histogram's pairs grow to the most non-empty
 * buckets a second has had (HIST_COUNTS_LEN at most), the endpoint and tally arrays to the
 * thread's names (GEN_MAX_ENDPOINTS, GEN_MAX_TALLIES): bounded, whatever the run's length. */
typedef struct gen_thread_delta {
	delta_t d;
	delta_endpoint_t *endpoints;
	uint32_t endpoint_cap;
	delta_tally_t *tallies;
	uint32_t tally_cap;
	/* the run so far by name, summed sparse second after second (index i is named's i: names
	 * are only ever appended), so a name costs its pairs, not a second dense histogram */
	delta_endpoint_t *run_endpoints;
	uint32_t run_endpoint_cap;
	delta_tally_t *run_tallies;
	uint32_t run_tally_cap;
	bool built;      /* the delta of the second just ended is complete (memory permitting) */
	bool emit;       /* ...and has something to hand over */
	uint64_t failed; /* seconds whose delta could not be built (no memory), counted */
	/* the current second's due counts, taken from the thread's when the delta is built
	 * (whether or not it could be): handed to the engine with it */
	uint64_t due, due_late;
} gen_thread_delta_t;

/* The open model's arrivals due in one second, and how many of them the pacer dispatched
 * more than GEN_LAG_BOUND_US after their time (sent, queued or dropped alike). */
typedef struct gen_due_second {
	uint64_t second;
	uint32_t arrivals, late;
} gen_due_second_t;

enum conn_state {
	CONN_IDLE,   /* not connected (initial, after close, or waiting to retry) */
	CONN_FREE,   /* open model: connected (or not yet), waiting for an arrival */
	CONN_PARKED, /* closed model: not a user right now (room for one) */
	CONN_CONNECTING,
	CONN_HANDSHAKE, /* TLS */
	CONN_WRITING,   /* request partly written */
	CONN_READING,   /* request written, response not complete */
	CONN_SLEEPING,  /* a scenario user thinking: the timer wakes it */
	CONN_DONE,      /* this connection sends no more requests */
};

#define GEN_CAPTURE_HEADERS (16 * 1024)        /* a scenario's response headers, at most */
#define GEN_CAPTURE_BODY    (16 * 1024 * 1024) /* a scenario's response body, at most */

struct gen_conn {
	gen_thread_t *thread;
	loop_io_t io;
	loop_timer_t timer;   /* connect/request timeout (lazy) and reconnect back-off */
	uint64_t deadline_ns; /* when the current connect or request times out */
	int fd;
	uint16_t pipe_head, pipe_len; /* --pipeline: the ring of pipe_sent (below) */
	tls_session_t *tls;
	enum conn_state state;
	uint32_t failures; /* consecutive connect failures, for the back-off */
	size_t written;    /* bytes of the request written so far */
	size_t out_len;    /* bytes this write sends: the request's, or k pipelined ones' */
	/* --pipeline N > 1: when each request out was sent, oldest first (HTTP/1.1 answers in
	 * order), a ring of N in the thread's pipe_sent (its head and length beside fd, in what
	 * was padding); NULL: one request at a time. Here, beside what every request touches:
	 * the one-at-a-time path reads it too */
	uint64_t *pipe_sent;
	/* --h2: the stream this connection is, and the TCP connection it goes on (gen_h2_*.c);
	 * NULL: an HTTP/1.1 connection of its own */
	struct gen_h2_slot *h2;
	uint64_t intended_ns; /* when the request should have been sent (= sent_ns closed) */
	uint64_t sent_ns;     /* when the request's first byte was written */
	bool retire;          /* closed model, users leaving: park after this request */
	bool send_out;        /* a stream's send is in the kernel (io_uring) */
	bool send_stale;      /* ... and it is an earlier request's: the current one's follows */
	uint64_t received;    /* response bytes seen for the current request */
	http_response_parser_t parser;
	const buf_t *request; /* what this connection sends: the run's, or its user's */
	uint32_t endpoint;    /* the statistics the request counts in */
	const gen_request_t
	    *expect; /* a driven request's successes, while it is out; NULL: 200-399 */

	/* a driven user (scenario): its state, and the last request's outcome */
	void *user;
	bool due_pending;   /* the next send is an open-model arrival: keep intended_ns */
	bool failed;        /* the last request ended without a response */
	bool counted_error; /* the last request already counts as an error of its endpoint */
	enum gen_error_kind error;
	uint64_t timeout_ns; /* this request's timeout */
	/* the response as it arrives: from its first bytes until the driver has its copies */
	buf_t *body;
	http_header_store_t *headers;
	uint32_t conn_requests; /* --new-conn-every: requests answered on this connection */
	uint64_t handshake_ns;  /* https: when the TLS handshake began */
	/* https: the session the server gave this connection last (its TLS 1.3 ticket, or TLS
	 * 1.2 session), offered when it connects again; NULL: none, or --no-tls-resume */
	tls_ticket_t *ticket;
};

typedef struct gen_model gen_model_t;

struct gen_thread {
	gen_run_t *run;
	const gen_model_t *model; /* the run's load model (below) */
	int id;
	deal_part_t part; /* {id, threads}: this thread's part of its shard */
	pthread_t tid;
	loop_t *loop;
	gen_conn_t *conns;
	uint32_t conn_count;
	uint32_t open_conns;
	uint64_t requests_left; /* UINT64_MAX when there is no limit */
	uint32_t done_conns;    /* connections that will send no more requests */
	bool stopping;          /* stopped: nothing more is sent, nothing more is measured */
	bool ending;            /* the run is over, driven users are leaving (stop grace) */
	loop_timer_t grace;     /* ending: when the users that have not left are stopped */

	/* open model: the pacer sends each arrival at its intended time on a free connection */
	loop_timer_t pacer;
	uint64_t arrival_n;      /* this thread's arrivals so far */
	uint64_t next_due_ns;    /* intended time of the next one; UINT64_MAX: none (below) */
	bool paused;             /* none because the rate is 0 now: a change may bring more */
	gen_conn_t **free_conns; /* a stack of connections with nothing to do */
	uint32_t free_count;
	uint64_t *queue; /* intended times of arrivals waiting for a connection (ring) */
	uint32_t queue_cap, queue_head, queue_len;
	/* closed model: how many users this thread runs now */
	loop_timer_t ramp;
	uint32_t users_target;
	uint32_t users_active;
	uint32_t users_retiring; /* of those, marked to leave after their request */
	uint32_t steers_seen;    /* the run's changes this thread has acted on */

	char *read_buffer;        /* GEN_READ_BUFFER bytes, shared by this thread's connections */
	uint64_t *pipe_sent;      /* --pipeline N > 1: N send times per connection (gen_conn_t) */
	struct gen_h2_thread *h2; /* --h2: the thread's HTTP/2 connections (gen_h2_deal.c) */
	void *driver_state;       /* the driver's per-thread state (a Lua VM) */
	/* by endpoint, and a scenario's checks and metrics: the current second (what the
	 * requests and the driver write, dense); the run's earlier seconds are in delta.run_* */
	gen_named_t named;
	/* --group-by-header: the responses by value, and each connection's captured header */
	gen_groups_t *groups;
	http_header_capture_t *captures;
	gen_counters_t counters;
	hist_t *latency;                               /* the whole run */
	hist_t *interval;                              /* the current second */
	hist_t *service;                               /* the whole run: from the actual send */
	hist_t *sched_lag;                             /* the whole run: pacer lateness */
	hist_t *interval_service, *interval_sched_lag; /* the current second's */
	/* https: handshakes completed, resumed ones, and their times (µs) over the whole run */
	uint64_t tls_handshakes, tls_resumed;
	hist_t *handshake;
	gen_counters_t interval_counters;
	uint64_t interval_index; /* which second the interval belongs to */
	/* the self-check's figures: CPU second by second, and the pacer's lateness by the second
	 * the arrivals were due in (a starved thread dispatches a whole stretch of them at once,
	 * long after those seconds' intervals were flushed) */
	double interval_cpu;                /* this thread's CPU share in the second just ended */
	uint64_t cpu_mark_ns, wall_mark_ns; /* thread CPU time and clock at the last flush */
	/* open model: this thread's arrivals counted by the second they were due in and not yet
	 * handed over, in order of their seconds (the pacer dispatches in order): a second or two,
	 * or as many as a starved pacer caught up on since the last flush. Emptied each second
	 * (gen_delta_emit), the array kept. */
	gen_due_second_t *due;
	size_t due_len, due_cap;
	/* under the timeline lock: every arrival this thread will count from now on is due in
	 * this second or later (its pacer's next); UINT64_MAX: none will be */
	uint64_t due_horizon;
	loop_timer_t tick;
	loop_timer_t deadline;
	loop_timer_t start; /* --start-at: when the load begins */
	bool started;       /* the load has begun (users or arrivals started) */
	uint64_t cpu_ns;
	uint64_t end_ns;
	uint32_t users_at_end; /* open connections when the thread stopped (closing them after) */
	bool finished;         /* reported its last interval (under the timeline lock) */
	uint64_t last_index;
	/* the second handed to the consumer (gen_delta.c), once a second: last, away from what
	 * the request path touches (it holds a delta's 8 KB of counters) */
	gen_thread_delta_t delta;
};

typedef struct timeline_slot {
	uint64_t index;    /* the second this slot collects */
	uint32_t reported; /* threads that have added their part */
	bool used;
	double length_s;
	uint32_t users;
	gen_counters_t counters;
	hist_t *hist;
	double busiest_cpu;
} timeline_slot_t;

struct gen_run {
	gen_config_t cfg;
	net_addr_t addr;
	tls_context_t *tls;
	buf_t request;         /* the serialized request, built once, read by all threads */
	uint32_t pipeline;     /* requests a connection keeps in flight (1: no pipelining) */
	buf_t pipelined;       /* pipeline > 1: the request `pipeline` times, written from by all */
	struct gen_h2_run *h2; /* --h2: the header list, nghttp2's callbacks (gen_h2_session.c) */
	char group_name[HTTP_CAPTURE_NAME_MAX + 1]; /* --group-by-header, lower case */
	uint64_t start_ns;
	uint64_t start_wall_ns;
	uint64_t end_ns;
	gen_thread_t *threads;
	uint32_t thread_count;
	atomic_bool stop_requested;
	atomic_uint stops_asked; /* gen_stop calls: the first ends gracefully, the second at once */
	atomic_uint threads_running;

	/* the load's schedule in force (gen_steer.c): the configured shape as segments, one more
	 * per change. Readers load segment_count (acquire) and read below it, without a lock;
	 * gen_steer writes the next segment under the timeline lock, then publishes it. */
	schedule_segment_t *segments;
	uint32_t segment_cap;
	_Atomic uint32_t segment_count;
	bool schedule_holds; /* arrivals go on at the last value (steerable, until stopped) */
	bool steerable;      /* gen_steer_check passed at the start */
	enum gen_steer_kind steer_kind;
	uint32_t users_max; /* closed: the users the threads have room for (whole test) */
	atomic_uint steers; /* changes accepted: a thread that sees it move acts on them */

	pthread_mutex_t timeline_lock; /* guards everything below */
	gen_marker_t *markers;         /* the changes accepted, GEN_STEER_MAX at most */
	uint32_t marker_count;
	uint32_t markers_emitted; /* handed to the consumer with a delta (each one once) */
	timeline_slot_t slots[GEN_TIMELINE_RING];
	/* the engine's latest seconds, for the live line (gen_timeline_snapshot): point k of
	 * the run is recent[k % GEN_RECENT_POINTS], points_made of them so far */
	gen_point_t recent[GEN_RECENT_POINTS];
	uint64_t points_made;
	/* seconds waiting for the self-check, oldest first: second pending_base + i is
	 * pending[(pending_head + i) % pending_cap]. A second is folded into `check` once its
	 * slot is closed and no thread can count an arrival due in it any more (every thread's
	 * due_horizon is past it): a second or two, more while a starved pacer catches up. */
	struct gen_pending_second *pending;
	size_t pending_head, pending_len, pending_cap;
	uint64_t pending_base;
	gen_selfcheck_t check;
	/* cfg.engine_totals: every second as folded, for tests (gen_result_t.timeline) */
	gen_point_t *kept;
	size_t kept_len, kept_cap;
	uint64_t points_lost;   /* seconds the engine could not keep: GEN_TIMELINE_MAX, memory */
	char driver_error[512]; /* why the driver could not start on some thread */
};

typedef struct gen_pending_second {
	gen_point_t point; /* due and pacer_late summed as the threads hand them over */
	bool closed;       /* its slot is closed: the point's figures are final but for due */
	bool has_point;    /* a second of the timeline (not the empty sliver at the stop) */
} gen_pending_second_t;

/* A load model: how a thread's connections get their work. gen_run.c picks one for the run
 * and drives it through this table; gen_conn.c hands a connection back to it when a request
 * or a driven user's iteration is over. A model calls down into connections (gen_conn_*) and
 * up only to say its thread's load is over (gen_thread_end, gen_thread_stop): no model
 * calls another, and neither gen_run.c nor gen_conn.c calls a model but through here. */
struct gen_model {
	const char *name;
	/* the model's per-thread memory, at set-up (0 or -ENOMEM); freed by teardown, which
	 * also takes a thread whose setup failed half-way */
	int (*setup)(gen_thread_t *t);
	void (*teardown)(gen_thread_t *t);
	/* the load begins */
	void (*start)(gen_thread_t *t);
	/* c's request ended (answered or failed), without a driver: what c does next */
	void (*request_over)(gen_conn_t *c);
	/* a driven user ended an iteration: true when the model took c back (it waits for an
	 * arrival, or its user left), false when the user goes on */
	bool (*take_back)(gen_conn_t *c);
	/* the run is over: nothing new starts (timers stopped, queued arrivals not sent) */
	void (*end)(gen_thread_t *t);
	/* the schedule changed (gen_steer): act on it now (on the thread, woken for it) */
	void (*steered)(gen_thread_t *t);
};

extern const gen_model_t gen_model_closed; /* gen_closed.c: users following the schedule */
extern const gen_model_t gen_model_open;   /* gen_open.c: arrivals at the schedule's rate */

/* gen_conn.c */
void gen_conn_init(gen_conn_t *c, gen_thread_t *t);
/* c acts for the first time: a plain connection takes its first request (the closed model's
 * step below), a driven user is started by the driver. */
void gen_conn_begin(gen_conn_t *c);
/* The closed model's step: take a request from the budget and send it (connecting first
 * when needed), or be done when the budget or the run is over. */
void gen_conn_next_request(gen_conn_t *c);
void gen_conn_close(gen_conn_t *c);
/* c sends no more requests in this run: what it holds is let go, a request out abandoned. */
void gen_conn_done(gen_conn_t *c);
/* Sends one request now on c (connecting first when needed), due at intended_ns. */
void gen_conn_send_due(gen_conn_t *c, uint64_t intended_ns);
/* Counts a request that could not be sent for lack of budget. */
bool gen_take_request(gen_thread_t *t);
/* The requests c has out (being connected for, sent or answered): what a stop abandons. */
uint32_t gen_conn_requests_out(const gen_conn_t *c);

/* A driven user's response is captured (body, headers) into buffers that exist from its
 * first bytes until the driver has its copies: begun with each request, allocated when the
 * response begins (0, or -ENOMEM). Over HTTP/1.1 gen_conn.c calls them; gen_h2_*.c too. */
void gen_conn_capture_begin(gen_conn_t *c);
int gen_conn_capture_alloc(gen_conn_t *c);
/* A sleeping user's timer fired: it acts again, once its time has come (either protocol's
 * timer callback). */
void gen_conn_sleep_timer(gen_conn_t *c);
/* The response just finished counts as an error after all (a failed check). */
void gen_conn_mark_failed(gen_conn_t *c);
/* For gen_h2_*.c, whose streams are connections of the model: c's response is complete (its
 * status in c->parser.status, its bytes in c->received), recorded now; or c's request failed
 * as `kind`. Either way c then does what the model or the run says next. */
void gen_conn_answered(gen_conn_t *c, uint64_t now_ns);
void gen_conn_fail(gen_conn_t *c, enum gen_error_kind kind);

/* gen_h2_*.c: HTTP/2, every cfg.streams connections of a thread one TCP connection */
/* The run's header list, callbacks and session options: 0, or -EINVAL / -ENOMEM with why. */
int gen_h2_run_setup(gen_run_t *run, char *err, size_t errlen);
void gen_h2_run_free(gen_run_t *run);
/* The thread's TCP connections and streams: 0 or -ENOMEM. */
int gen_h2_thread_setup(gen_thread_t *t);
void gen_h2_thread_free(gen_thread_t *t);
/* Makes c a stream of its TCP connection (from gen_conn_init, on the thread). */
void gen_h2_slot_init(gen_conn_t *c);
/* c's request: sent now, or once its connection is open and has room for the stream. */
void gen_h2_send(gen_conn_t *c);
/* c's stream is let go (reset if out); the TCP connection closes with its last stream in
 * use (gen_conn_close's HTTP/2 side). */
void gen_h2_detach(gen_conn_t *c);

/* gen_run.c */
void gen_thread_maybe_finish(gen_thread_t *t);
void gen_thread_stop(gen_thread_t *t);
/* The run is over for this thread: with a driver and a stop grace its users leave first
 * (gen_thread_stop when the last has left or the grace is up), else gen_thread_stop. */
void gen_thread_end(gen_thread_t *t);
/* the thread's share of a whole test's total (users, queue places): round(total) dealt to
 * the shard, then to its threads (deal.h) */
uint32_t gen_thread_share(const gen_thread_t *t, double total);
/* The request the run's options describe (method, URL, headers, body), for either protocol's
 * builder. */
http_request_spec_t gen_request_spec(const gen_config_t *cfg);
/* Its share of a total of users: gen_thread_share's, but with --h2 the users a thread's
 * connections carry, which need not be an even share (gen_h2_thread_users). */
uint32_t gen_thread_users(const gen_thread_t *t, double total);
/* Room for `connections` descriptors (the soft limit raised as far as the hard one allows):
 * 0, or -EMFILE with a message. */
int gen_fd_limit(uint32_t connections, char *err, size_t errlen);

/* gen_steer.c */
/* The run's schedule in force, from its config: 0, or -ENOMEM / -EINVAL with a message. */
int gen_steer_setup(gen_run_t *run, char *err, size_t errlen);
void gen_steer_free(gen_run_t *run);
/* The whole test's value asked at t_ns since the start (users or rate), as in force now. */
double gen_schedule_value(const gen_run_t *run, uint64_t t_ns);
/* When the whole test's arrival k is due, ns since the start; UINT64_MAX: none (see
 * schedule_segments_arrival_time). */
uint64_t gen_schedule_arrival(const gen_run_t *run, uint64_t k);
/* The changes not yet handed to the consumer, marked handed (under the timeline lock). */
uint32_t gen_steer_take_markers(gen_run_t *run, const gen_marker_t **markers);

/* gen_timeline.c */
void gen_timeline_add(gen_thread_t *t, double length_s, bool last);
void gen_timeline_close(gen_run_t *run);
/* A thread's arrivals due in `second` handed over (under the timeline lock): added to that
 * second for the self-check. */
void gen_timeline_due(gen_run_t *run, uint64_t second, uint64_t arrivals, uint64_t late);
/* Every second still waiting folded into the self-check (the threads are over). */
void gen_timeline_fold_all(gen_run_t *run);
void gen_timeline_free(gen_run_t *run);
/* This shard's part of what the test asks at `t_s` seconds: users (closed) or rate (open). */
double gen_timeline_target(const gen_run_t *run, double t_s);

/* gen_delta.c */
/* Builds the thread's delta of its current second (off the lock: the sparse histograms). */
void gen_delta_build(gen_thread_t *t, double length_s);
/* Hands the thread's due counts to the engine, and the built delta to the consumer with
 * before it the due counts of earlier seconds that the pacer dispatched after they were
 * handed over. `last`: the thread's final second (every count goes). Under the timeline
 * lock. */
void gen_delta_emit(gen_thread_t *t, bool last);
/* Folds the second into the thread's run figures and clears it for the next. */
void gen_delta_fold(gen_thread_t *t);
/* Adds the thread's run figures by name into n (dense, for gen_result_t); 0 or -ENOMEM. */
int gen_delta_named_total(const gen_thread_t *t, gen_named_t *n, hist_t *scratch);
void gen_delta_free(gen_thread_t *t);
/* The heap the thread's delta buffers hold. */
size_t gen_delta_bytes(const gen_thread_t *t);

#endif
