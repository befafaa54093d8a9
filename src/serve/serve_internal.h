/* serve_internal: the target's private types — workers, connections, requests, routes —
 * and the small API every endpoint family (serve_<family>.c) is written against. */
#ifndef SURGE_SERVE_INTERNAL_H
#define SURGE_SERVE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/cgroup.h"
#include "core/http.h"
#include "core/json.h"
#include "core/loop.h"
#include "core/tls.h"
#include "serve/serve.h"

typedef struct serve_worker serve_worker_t;
typedef struct serve_conn serve_conn_t;
typedef struct serve_request serve_request_t;

/* ---- routes: one table drives routing, metric labels and the API description ---- */

enum serve_route_flags {
	ROUTE_PROBE = 1,     /* probes and metrics: no chaos, no default params, no access log */
	ROUTE_ADMIN = 2,     /* needs the admin token when one is set */
	ROUTE_DANGEROUS = 4, /* off with --no-chaos */
	ROUTE_BODY_SINK = 8, /* the body is counted and discarded, never buffered */
	ROUTE_PREFIX =
	    16, /* path is a prefix; the rest is r->path_tail (e.g. /api/status/{code}) */
};

typedef void (*serve_handler_fn)(serve_request_t *r);

typedef struct serve_param_doc {
	const char *name;
	const char *type; /* "seconds", "integer", "number", "string", "boolean" */
	const char *def;  /* default, as text */
	const char *description;
} serve_param_doc_t;

typedef struct serve_route {
	const char *method; /* NULL: any method */
	const char *path;
	const char *name; /* the low-cardinality route label for metrics and logs */
	serve_handler_fn fn;
	uint32_t flags;
	const char *summary;
	const serve_param_doc_t *params; /* NULL-name terminated, or NULL */
} serve_route_t;

/* The route for a method and path (and its index in the table), or NULL; then *path_known
 * says whether the path exists with other methods (405) or not at all (404). */
const serve_route_t *serve_route_find(const char *method, size_t mlen, const char *path,
                                      size_t plen, bool *path_known, int *index);
int serve_route_count(void);
/* "GET, HEAD, POST": the methods a known path accepts, for the Allow header of a 405. */
void serve_route_allowed(const char *path, size_t plen, char *out, size_t len);
const serve_route_t *serve_route_at(int index);

/* every family's table, NULL-fn terminated */
extern const serve_route_t serve_info_routes[];
extern const serve_route_t serve_cpu_routes[];
extern const serve_route_t serve_io_routes[];
extern const serve_route_t serve_memory_routes[];
extern const serve_route_t serve_network_routes[];
extern const serve_route_t serve_disk_routes[];
extern const serve_route_t serve_chaos_routes[];
extern const serve_route_t serve_downstream_routes[]; /* /api/call-downstream, ... */
extern const serve_route_t
    serve_downstream_role_routes[];                 /* /slow, /random, ... (and /downstream/...) */
extern const serve_route_t serve_database_routes[]; /* /api/tasks, /api/db-pool-exhaust, ... */
extern const serve_route_t serve_users_routes[];    /* /api/users with the read-through cache */
extern const serve_route_t serve_openapi_routes[];  /* /openapi.json, /apidocs */

/* ---- a request being handled ---- */

#define SERVE_TIMING_MAX 8

/* How a request came: endpoints never look (one model of a request for both); the response's
 * framing, metrics (network_protocol_version) and the access log do. */
enum serve_protocol { SERVE_HTTP1, SERVE_HTTP2 };

struct serve_request {
	serve_conn_t *conn;
	serve_worker_t *worker;
	enum serve_protocol protocol;
	const serve_route_t *route;
	int route_index; /* the route's position in the table, -1 when unmatched */
	http_request_t head;
	const char *body; /* the whole body (NULL for sink routes) */
	uint64_t body_len;
	http_slice_t path_tail; /* for ROUTE_PREFIX routes */
	uint64_t start_ns;
	uint64_t trace_hi, trace_lo, span; /* W3C trace context */
	bool trace_sampled;

	/* the response */
	int status;
	const char *content_type;
	buf_t body_out;      /* bounded by the size cap */
	buf_t headers_out;   /* extra header lines, "Name: value\r\n" */
	uint64_t fill_bytes; /* filler appended after body_out (?size=, /api/bytes) */
	uint64_t delay_ns;   /* how long to hold the response back (on a loop timer) */
	bool close_after;    /* send Connection: close */
	bool replied;
	bool deferred; /* the handler returned without answering: serve_resume() will */
	struct {
		const char *name;
		double ms;
	} timing[SERVE_TIMING_MAX];
	int timing_count;
	uint64_t drip_ns; /* spread fill_bytes evenly over this long (/api/drip) */
	enum serve_fault {
		FAULT_NONE,
		FAULT_RESET, /* close with RST instead of answering */
		FAULT_CLOSE, /* close without answering */
		FAULT_HANG,  /* never answer; close after the delay cap */
		FAULT_EXIT,  /* exit the process after the response (POST /admin/crash) */
	} fault;
	/* common parameters applied around every handler */
	int status_override;    /* 0 = none */
	uint64_t size_override; /* UINT64_MAX = none */
};

/* Query parameters. Each returns 0, 1 when absent (out = default), or -1 after replying 400
 * naming the parameter — the handler must then return at once. Over the cap: clamped, and
 * the response says so (X-Surge-Capped). */
int serve_param_seconds(serve_request_t *r, const char *name, uint64_t def_ns, uint64_t cap_ns,
                        uint64_t *out_ns);
int serve_param_int(serve_request_t *r, const char *name, int64_t def, int64_t min, int64_t max,
                    int64_t *out);
int serve_param_number(serve_request_t *r, const char *name, double def, double min, double max,
                       double *out);
/* A raw (percent-decoded) value copied into out; 1 when absent. */
int serve_param_string(serve_request_t *r, const char *name, char *out, size_t len);
/* Reports that a cap was hit: header X-Surge-Capped and the caps metric. */
void serve_capped(serve_request_t *r, const char *what);

/* The request body as a JSON document of the kind wanted, or NULL after a 400 that says what
 * is wrong: where the syntax breaks, or what came instead ("expected a JSON object, got an
 * array"). The caller owns the document (json_decref). */
typedef struct json_t json_t;
enum serve_json_want { SERVE_JSON_ANY, SERVE_JSON_OBJECT, SERVE_JSON_ARRAY };
json_t *serve_body_json(serve_request_t *r, enum serve_json_want want);

/* Replies. The response goes out when the handler returns (after r->delay_ns, if set). */
json_writer_t *serve_reply_json(serve_request_t *r, int status, json_writer_t *w);
void serve_reply_text(serve_request_t *r, int status, const char *type, const char *text,
                      size_t len);
void serve_reply_error(serve_request_t *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void serve_add_header(serve_request_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void serve_timing(serve_request_t *r, const char *name, double ms);

/* Asynchronous handlers. A handler that waits for something (a downstream call, a database
 * job) calls serve_defer(r) and returns without replying; the connection holds. Later, on
 * r's own worker thread, it replies and calls serve_resume(r), which sends the response.
 * If the client went away meanwhile, r stays valid until serve_resume, which then only
 * releases it: a completion never touches freed memory. */
void serve_defer(serve_request_t *r);
void serve_resume(serve_request_t *r);
/* Runs fn(arg) on worker w's own loop thread, soon; callable from any thread. -EAGAIN when
 * the worker's mailbox is full (bounded), in which case the caller still owns arg. */
int serve_post(serve_worker_t *w, void (*fn)(void *arg), void *arg);

/* ---- workers and connections ---- */

#define SERVE_METHODS    8  /* GET HEAD POST PUT DELETE PATCH OPTIONS other */
#define SERVE_BUCKETS    15 /* OTel's default http.server.request.duration boundaries (+Inf) */
#define SERVE_SERIES_MAX 1024

typedef _Atomic uint64_t stat_t;

/* Single writer (the owning worker), many readers (the scrape): no locked instructions. */
static inline void stat_add(stat_t *s, uint64_t n)
{
	atomic_store_explicit(s, atomic_load_explicit(s, memory_order_relaxed) + n,
	                      memory_order_relaxed);
}

static inline uint64_t stat_get(stat_t *s)
{
	return atomic_load_explicit(s, memory_order_relaxed);
}

typedef struct serve_series {
	_Atomic bool used; /* published after the key fields */
	uint16_t route;
	uint8_t method;
	uint8_t version; /* enum serve_version */
	uint16_t status;
	stat_t count;
	stat_t sum_ns;
	stat_t buckets[SERVE_BUCKETS];
} serve_series_t;

/* The protocol version a request came in, as metrics label it (OTel network.protocol.version). */
enum serve_version { SERVE_VERSION_1_0, SERVE_VERSION_1_1, SERVE_VERSION_2, SERVE_VERSIONS };

enum serve_conn_gauge { CONN_GAUGE_READING, CONN_GAUGE_ACTIVE, CONN_GAUGE_IDLE, CONN_GAUGES };

typedef struct serve_worker_stats {
	serve_series_t series[SERVE_SERIES_MAX];
	stat_t series_overflow;
	stat_t in_flight; /* gauge: incremented and decremented by the owner */
	stat_t conns[CONN_GAUGES];
	stat_t accepted;
	stat_t rejected;     /* over --max-connections */
	stat_t bad_requests; /* 4xx from the parser and limits */
	stat_t timeouts;     /* header or idle timeouts */
	stat_t bytes_in;
	stat_t bytes_out;
	stat_t caps_hit; /* a request asked for more than a cap allows */
	/* HTTP/2 (serve_h2.c) */
	stat_t h2_connections[3]; /* by how they began: enum serve_h2_start */
	stat_t h2_streams;        /* requests begun over HTTP/2 */
	stat_t h2_resets_received;
	stat_t h2_resets_sent;
	stat_t h2_goaways_sent;
	/* TLS (--tls-cert) */
	stat_t tls_handshakes;
	stat_t tls_failures; /* handshakes that failed or timed out */
	/* io_uring streams (serve_conn_stream.c): the bounds they met */
	stat_t stream_queue_full;     /* a request waited for queued responses to go */
	stat_t stream_input_paused;   /* input past its bound was left in the socket */
	stat_t stream_input_overflow; /* connections closed: input past the bound and its slack */
} serve_worker_stats_t;

struct serve_worker {
	int id;
	pthread_t tid;
	loop_t *loop;
	int listen_fd;
	loop_io_t listen_io;
	serve_conn_t *conns; /* intrusive list of open connections */
	uint32_t conn_count;
	bool draining;
	serve_worker_stats_t stats;
	char date[40]; /* "Date: ...\r\n", refreshed once a second */
	uint64_t rng;  /* xorshift state for distributions, chaos and ids */
	loop_timer_t clock_tick;
	buf_t log;      /* access-log lines waiting for the next flush */
	char *disk_buf; /* serve_disk's read buffer, made on first use (pread writes it) */
	/* serve_post: callbacks from other threads, run on this loop (a bounded ring) */
	pthread_mutex_t mail_lock;
	struct serve_mail {
		void (*fn)(void *arg);
		void *arg;
	} * mail;
	uint32_t mail_head, mail_len, mail_cap;
};

/* The process-wide state endpoints share. */
typedef struct serve_state {
	const serve_config_t *cfg;
	serve_worker_t *workers;
	uint32_t worker_count;
	_Atomic bool ready; /* /ready: off while starting, draining, or set by admin */
	_Atomic bool draining;
	_Atomic uint32_t open_conns;
	uint64_t start_wall_ns;
	pthread_mutex_t log_lock;
	cgroup_place_t cgroup; /* the process's own cgroup, found at start-up */
	/* who this process is (X-Served-By, surge_instance_info, logs): --instance-name, else
	 * $POD_NAME, else the host name; and where it runs, from the downward API ("" unknown) */
	char instance[256];
	char pod_namespace[256], node_name[256];
	char served_by[300]; /* "X-Served-By: NAME\r\n", on every response */
	tls_context_t *tls;  /* --tls-cert: every connection begins with a TLS handshake */
} serve_state_t;

extern serve_state_t serve_state;

/* A drain has begun. The worker learns of it at its next wake-up (on_wake), which its loop
 * may take after the I/O of the same turn: a request read then, after SIGTERM, is answered
 * as during the drain all the same. */
static inline bool serve_draining(const serve_worker_t *w)
{
	return w->draining || atomic_load_explicit(&serve_state.draining, memory_order_relaxed);
}

/* The bytes of ?size= and /api/bytes bodies: filled once before the workers start (by
 * serve_conn_init), then only read (by every worker at once). */
#define SERVE_FILL_CHUNK 65536
extern char serve_filler[SERVE_FILL_CHUNK];

/* serve_conn.c (its requests: serve_conn_request.c; its readiness I/O: serve_conn_io.c) */
/* Prepares what every connection shares read-only (the response filler); before any worker. */
void serve_conn_init(void);
void serve_conn_accept(serve_worker_t *w, int fd);
/* Runs what other threads posted to this worker (from its wake-up). */
void serve_mail_run(serve_worker_t *w);
void serve_conn_close_idle(serve_worker_t *w); /* draining: idle keep-alive connections go */
void serve_conn_close_all(serve_worker_t *w);  /* the worker stops: every connection goes */
/* For serve_h2.c, which drives a connection that turned to HTTP/2: close it (whatever state
 * it is in; the h2 side is freed through serve_h2_free), and say whether it has requests
 * open (the connections gauge: active or idle). */
void serve_conn_close(serve_conn_t *c);
void serve_conn_set_busy(serve_conn_t *c, bool busy);
/* serve_conn_io.c: the connection's socket, through TLS when it has it: net_read/net_write's
 * conventions. */
ssize_t serve_conn_read(serve_conn_t *c, void *buf, size_t len);
ssize_t serve_conn_write(serve_conn_t *c, const void *buf, size_t len);
/* TLS holds decrypted bytes a read would return though the socket may not be readable. */
bool serve_conn_read_pending(serve_conn_t *c);
/* A connection that is an io_uring stream (serve_conn_stream.c): HTTP/2 queues its output
 * there, behind what HTTP/1.1 queued before the switch (serve_conn_queue: 0 or -ENOBUFS),
 * starts a send when none is out (serve_conn_send: 0, or -1 when the connection is gone),
 * sees what is not sent yet, and says whether it takes input now (at_bound: it does not for
 * want of room, a counted bound). */
bool serve_conn_is_stream(const serve_conn_t *c);
int serve_conn_queue(serve_conn_t *c, const void *data, size_t len);
int serve_conn_send(serve_conn_t *c);
size_t serve_conn_unsent(const serve_conn_t *c);
void serve_conn_want_input(serve_conn_t *c, bool want, bool at_bound);

/* serve_h2.c: HTTP/2 on a connection (RFC 9113) through nghttp2. A connection turns to it
 * when its first bytes are the client preface (prior knowledge, h2c) or after an HTTP/1.1
 * request asked for it (Upgrade: h2c); each stream is a serve_request_t handed to the same
 * dispatch as HTTP/1.1. The functions that take a connection may close it (through
 * serve_conn_close): they return -1 then, and the caller must not touch it again. */
typedef struct serve_h2 serve_h2_t;
enum serve_h2_start { SERVE_H2_PRIOR_KNOWLEDGE, SERVE_H2_UPGRADE, SERVE_H2_ALPN };
/* Takes over c's socket, io handle and timer; data[0..len) is what was read already (the
 * client preface onward; the caller keeps it). -1: the connection is gone. */
int serve_h2_start(serve_conn_t *c, serve_worker_t *w, loop_io_t *io, loop_timer_t *timer,
                   serve_h2_t **out, enum serve_h2_start how, const char *data, size_t len);
/* After "101 Switching Protocols" was sent for HTTP/1.1 request r (its body at body): r becomes
 * stream 1; settings is the request's HTTP2-Settings header (base64url). -1: gone. */
int serve_h2_upgrade(serve_conn_t *c, serve_worker_t *w, loop_io_t *io, loop_timer_t *timer,
                     serve_h2_t **out, const serve_request_t *r, const char *body,
                     http_slice_t settings, const char *rest, size_t rest_len);
void serve_h2_on_io(serve_h2_t *h, uint32_t events);
/* On a stream: the client's bytes; a send of the connection's ended (the next may go). */
void serve_h2_on_input(serve_h2_t *h, const char *data, size_t len);
void serve_h2_on_sent(serve_h2_t *h);
void serve_h2_on_timer(serve_h2_t *h);
/* A drain began: GOAWAY, finish the streams in flight, then close. */
void serve_h2_drain(serve_h2_t *h);
/* The connection closes: streams go, those still waiting for a deferred answer are left to
 * serve_resume, which frees them. */
void serve_h2_free(serve_h2_t *h);
/* serve_resume for a request that came as an HTTP/2 stream. */
void serve_h2_resume(serve_request_t *r);
/* An HTTP2-Settings header (base64url of a SETTINGS payload) decoded into out[0..cap): 0 with
 * *len, or -EINVAL when it is not base64url or not whole settings. Pure. */
int serve_h2_settings_decode(http_slice_t b64, uint8_t *out, size_t cap, size_t *len);

/* serve_metrics.c */
void serve_metrics_record(serve_worker_t *w, const serve_request_t *r, uint64_t dur_ns);
int serve_metrics_render(buf_t *out);
/* The request-duration histogram (OTel's boundaries) every serve series shares: record one
 * duration into a series' stats; render one series' _bucket/_sum/_count lines (legacy: only
 * Prometheus's default boundaries, for the podinfo form). */
void serve_duration_record(stat_t *count, stat_t *sum_ns, stat_t *buckets, uint64_t ns);
void serve_duration_render(buf_t *out, const char *name, const char *labels,
                           const uint64_t *buckets, uint64_t count, uint64_t sum_ns, bool legacy);
/* Each endpoint family's own gauges and counters (leaked bytes, background load, ...). */
void serve_family_metrics(buf_t *out);
void serve_cpu_metrics(buf_t *out);
void serve_memory_metrics(buf_t *out);
void serve_chaos_metrics(buf_t *out);

/* serve_families.c: start-up and shutdown of what families run beside requests (background
 * load threads, the data directory, ...). */
int serve_families_start(const serve_config_t *cfg, char *err, size_t errlen);
void serve_families_stop(void);
/* each family with state of its own: 0 or -1 with a message; stop undoes start */
int serve_downstream_start(const serve_config_t *cfg, char *err, size_t errlen);
void serve_downstream_stop(void);
void serve_downstream_metrics(buf_t *out);
int serve_database_start(const serve_config_t *cfg, char *err, size_t errlen);
void serve_database_stop(void);
void serve_database_metrics(buf_t *out);
int serve_cache_start(const serve_config_t *cfg, char *err, size_t errlen);
void serve_cache_stop(void);
void serve_cache_metrics(buf_t *out);

/* serve_log.c */
void serve_log_access(serve_worker_t *w, const serve_request_t *r, uint64_t dur_ns, uint64_t bytes);
void serve_log_event(enum serve_log_level level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void serve_log_flush(serve_worker_t *w);

/* serve_request.c */
/* Makes r ready for a new request on connection c (its buffers kept, or made on first use). */
void serve_request_reset(serve_request_t *r, serve_conn_t *c, serve_worker_t *w,
                         enum serve_protocol protocol);
void serve_request_dispatch(serve_request_t *r);
/* After the handler (or a deferred handler's completion) replied: overrides, timing. */
void serve_request_finish(serve_request_t *r);
uint64_t serve_random(serve_worker_t *w);

/* serve_cpu.c: burns ns of this thread's CPU time, as its CPU clock counts it: stops at the
 * first look at the clock at or past ns and returns what the clock moved. It moves by more
 * only within the last step between two looks, which *longest_step (if not NULL) bounds: the
 * longest the clock moved between two looks — microseconds of arithmetic, unless the host
 * took the CPU away meanwhile and the kernel charged that time to the thread. */
uint64_t serve_burn_cpu(uint64_t ns, uint64_t *longest_step);

/* serve_chaos.c: applies global chaos (error rate, added latency, sick replica, connection
 * faults) before the handler; true when it answered (or dropped) the request itself. */
bool serve_chaos_intercept(serve_request_t *r);

#endif
