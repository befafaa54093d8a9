/* serve_downstream: calls to the downstream service on the worker's own loop (one HTTP client
 * per worker, no thread per call) with timeouts and trace context — and the downstream role. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/echo.h"
#include "core/prom_write.h"
#include "serve/serve_internal.h"

#define DS_SERIES_MAX         64  /* distinct status codes and error kinds per worker */
#define DS_IDLE_MAX           128 /* kept-alive connections to the downstream per worker */
#define DS_SEQUENTIAL_MAX     10  /* cascade: calls one after another */
#define DS_PARALLEL_MAX       20  /* cascade: calls fanned out together */
#define DS_CALLS_MAX          (DS_SEQUENTIAL_MAX + DS_PARALLEL_MAX)
#define DS_HARD_CAP_EXTRA_NS  (30 * NS_PER_S) /* /api/no-timeout: --max-delay plus this */
#define DS_BODY_ECHO          2048 /* bytes of the downstream's body echoed by call-downstream */
#define DS_DEFAULT_TIMEOUT_NS (5 * NS_PER_S)
#define DS_TRAP_NS            (60 * NS_PER_S)

/* One status code (key > 0) or error kind (key = -kind) of downstream calls. */
typedef struct ds_series {
	_Atomic bool used; /* published after key */
	int16_t key;
	stat_t count;
	stat_t sum_ns;
	stat_t buckets[SERVE_BUCKETS];
} ds_series_t;

/* Per worker: written by its own thread only, read by the scrape. */
typedef struct ds_worker {
	http_client_t *client; /* created on the worker's first call, freed at stop */
	ds_series_t series[DS_SERIES_MAX];
	stat_t overflow;
	stat_t in_flight;
} ds_worker_t;

static ds_worker_t *ds_workers;
static uint32_t ds_worker_count;
static url_t ds_base;
static char ds_peer[URL_HOST_MAX + 8];

/* ---- start, stop, metrics ---- */

/* The base URL: --downstream-url, or this very process under /downstream. */
static int base_url(const serve_config_t *cfg, char *err, size_t errlen)
{
	char msg[200];
	const char *h = cfg->host;

	if (cfg->downstream_url) {
		if (url_parse(cfg->downstream_url, &ds_base, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s '%s': %s",
			         serve_option_from(cfg->downstream_url_from, "--downstream-url"),
			         ECHO(cfg->downstream_url), msg);
			return -1;
		}
		if (ds_base.tls) {
			snprintf(err, errlen, "%s '%s': https is not supported, use http://",
			         serve_option_from(cfg->downstream_url_from, "--downstream-url"),
			         ECHO(cfg->downstream_url));
			return -1;
		}
	} else {
		if (!h[0] || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "*") == 0)
			h = "127.0.0.1";
		else if (strcmp(h, "::") == 0)
			h = "::1";
		snprintf(ds_base.host, sizeof(ds_base.host), "%s", h);
		ds_base.port = cfg->port;
		snprintf(ds_base.target, sizeof(ds_base.target), "/downstream");
	}
	snprintf(ds_peer, sizeof(ds_peer), strchr(ds_base.host, ':') ? "[%s]:%u" : "%s:%u",
	         ds_base.host, ds_base.port);
	return 0;
}

int serve_downstream_start(const serve_config_t *cfg, char *err, size_t errlen)
{
	memset(&ds_base, 0, sizeof(ds_base));
	if (base_url(cfg, err, errlen) < 0)
		return -1;
	ds_workers = calloc(cfg->workers ? cfg->workers : 1, sizeof(*ds_workers));
	if (!ds_workers) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ds_worker_count = cfg->workers;
	return 0;
}

/* After the workers stopped: calls still out end as cancelled (their requests are released). */
void serve_downstream_stop(void)
{
	for (uint32_t i = 0; ds_workers && i < ds_worker_count; i++)
		http_client_free(ds_workers[i].client);
	free(ds_workers);
	ds_workers = NULL;
	ds_worker_count = 0;
}

static void record_call(serve_worker_t *w, const http_client_result_t *res)
{
	ds_worker_t *d = &ds_workers[w->id];
	int16_t key = res->error ? (int16_t)-res->error : (int16_t)res->status;

	for (int probe = 0; probe < DS_SERIES_MAX; probe++) {
		ds_series_t *x =
		    &d->series[((uint32_t)(key + 1000) + (uint32_t)probe) % DS_SERIES_MAX];

		if (!atomic_load_explicit(&x->used, memory_order_relaxed)) {
			x->key = key;
			atomic_store_explicit(&x->used, true, memory_order_release);
		} else if (x->key != key) {
			continue;
		}
		serve_duration_record(&x->count, &x->sum_ns, x->buckets, res->duration_ns);
		return;
	}
	stat_add(&d->overflow, 1);
}

typedef struct ds_merged {
	int16_t key;
	uint64_t count, sum_ns, buckets[SERVE_BUCKETS];
} ds_merged_t;

static size_t merge(ds_merged_t *out, size_t cap)
{
	size_t n = 0;

	for (uint32_t wi = 0; wi < ds_worker_count; wi++) {
		for (int i = 0; i < DS_SERIES_MAX; i++) {
			ds_series_t *x = &ds_workers[wi].series[i];
			size_t j = 0;

			if (!atomic_load_explicit(&x->used, memory_order_acquire))
				continue;
			while (j < n && out[j].key != x->key)
				j++;
			if (j == n) {
				if (n == cap)
					continue;
				memset(&out[n++], 0, sizeof(*out));
				out[j].key = x->key;
			}
			out[j].count += stat_get(&x->count);
			out[j].sum_ns += stat_get(&x->sum_ns);
			for (int b = 0; b < SERVE_BUCKETS; b++)
				out[j].buckets[b] += stat_get(&x->buckets[b]);
		}
	}
	return n;
}

static void histogram_series(buf_t *out, const ds_merged_t *m)
{
	char labels[URL_HOST_MAX + 128];

	if (m->key > 0)
		snprintf(labels, sizeof(labels),
		         "server_address=\"%s\",http_response_status_code=\"%d\"", ds_peer, m->key);
	else
		snprintf(
		    labels, sizeof(labels),
		    "server_address=\"%s\",http_response_status_code=\"error\",error_type=\"%s\"",
		    ds_peer, http_client_error_name((enum http_client_error) - m->key));
	serve_duration_render(out, "http_client_request_duration_seconds", labels, m->buckets,
	                      m->count, m->sum_ns, false);
}

void serve_downstream_metrics(buf_t *out)
{
	ds_merged_t m[DS_SERIES_MAX];
	size_t n = ds_workers ? merge(m, DS_SERIES_MAX) : 0;
	uint64_t in_flight = 0, overflow = 0;

	prom_family(out, "http_client_request_duration_seconds", "histogram",
	            "Duration of calls to the downstream service.");
	for (size_t i = 0; i < n; i++)
		histogram_series(out, &m[i]);
	for (uint32_t i = 0; ds_workers && i < ds_worker_count; i++) {
		in_flight += stat_get(&ds_workers[i].in_flight);
		overflow += stat_get(&ds_workers[i].overflow);
	}
	prom_metric(out, "surge_downstream_requests_in_flight", "gauge",
	            "Downstream calls waiting for an answer.", (double)(int64_t)in_flight);
	prom_metric(out, "surge_downstream_series_overflow_total", "counter",
	            "Downstream calls not recorded: too many distinct statuses.", (double)overflow);
}

/* ---- calling the downstream ---- */

typedef struct ds_call {
	struct ds_op *op;
	char name[16]; /* "call", "seq-2", "par-1": which call, in replies */
	int status;    /* 0 until answered, or on failure */
	enum http_client_error error;
	int sys_errno;
	uint64_t duration_ns;
	bool done;
	bool sequential; /* a cascade's chained call: its failure ends the chain */
} ds_call_t;

/* One deferred request's downstream work; freed when it answers. */
typedef struct ds_op {
	serve_request_t *r;
	uint64_t t0, timeout_ns;
	char target[512];     /* what each call asks the downstream for */
	char traceparent[80]; /* "traceparent: 00-<trace>-<our span>-<flags>" */
	bool cascade;
	bool in_handler; /* the handler is still running: answer without resuming */
	bool answered;
	int sequential, parallel, next, pending;
	int call_count;
	ds_call_t calls[DS_CALLS_MAX];
} ds_op_t;

static void call_done(void *ctx, const http_client_result_t *res);

static bool call_failed(const ds_call_t *k)
{
	return k->error != HTTP_CLIENT_OK || k->status >= 400;
}

/* 504 when the downstream did not answer in time, 502 for any other failure. */
static int failure_status(const ds_call_t *k)
{
	return k->error == HTTP_CLIENT_TIMEOUT || k->error == HTTP_CLIENT_CONNECT_TIMEOUT ? 504
	                                                                                  : 502;
}

static void json_call(json_writer_t *w, const ds_call_t *k)
{
	jsonw_object_begin(w);
	jsonw_key(w, "call");
	jsonw_string(w, k->name);
	jsonw_key(w, "status");
	jsonw_int(w, k->status);
	jsonw_key(w, "duration_s");
	jsonw_double(w, k->duration_ns / 1e9, 6);
	if (k->error) {
		jsonw_key(w, "error");
		jsonw_string(w, http_client_error_name(k->error));
	}
	jsonw_object_end(w);
}

static void describe_failure(const ds_call_t *k, char *out, size_t len)
{
	if (k->error && k->sys_errno)
		snprintf(out, len, "downstream call %s to %s failed: %s (%s)", k->name, ds_peer,
		         http_client_error_name(k->error), strerror(k->sys_errno));
	else if (k->error)
		snprintf(out, len, "downstream call %s to %s failed: %s", k->name, ds_peer,
		         http_client_error_name(k->error));
	else
		snprintf(out, len, "downstream call %s to %s failed: status %d", k->name, ds_peer,
		         k->status);
}

/* Answers with every call made and, when one failed, which: then 502 or 504. */
static void reply_calls(ds_op_t *op, const ds_call_t *failed, const http_client_result_t *res)
{
	serve_request_t *r = op->r;
	json_writer_t w;
	char msg[512];

	serve_reply_json(r, failed ? failure_status(failed) : 200, &w);
	jsonw_object_begin(&w);
	if (failed) {
		describe_failure(failed, msg, sizeof(msg));
		jsonw_key(&w, "error");
		jsonw_string(&w, msg);
		jsonw_key(&w, "failed_call");
		jsonw_string(&w, failed->name);
	}
	jsonw_key(&w, "downstream");
	jsonw_string(&w, ds_peer);
	jsonw_key(&w, "target");
	jsonw_string(&w, op->target);
	jsonw_key(&w, "calls");
	jsonw_array_begin(&w);
	for (int i = 0; i < op->call_count; i++)
		json_call(&w, &op->calls[i]);
	jsonw_array_end(&w);
	if (res && !failed) {
		jsonw_key(&w, "downstream_body");
		jsonw_string_n(&w, res->body,
		               res->body_len < DS_BODY_ECHO ? res->body_len : DS_BODY_ECHO);
	}
	jsonw_key(&w, "total_s");
	jsonw_double(&w, (clock_now_ns() - op->t0) / 1e9, 6);
	jsonw_object_end(&w);
}

/* The request answers: timing, then the connection goes on (or is released). A call that
 * failed before the handler returned answers without deferring (op_begin frees op). */
static void op_finish(ds_op_t *op, const ds_call_t *failed, const http_client_result_t *res)
{
	serve_request_t *r = op->r;

	reply_calls(op, failed, res);
	serve_timing(r, "downstream", (clock_now_ns() - op->t0) / 1e6);
	if (op->in_handler) {
		op->answered = true;
		return;
	}
	free(op);
	serve_resume(r);
}

/* Starts the op's calls from the handler; the request waits only when some are out
 * (done callbacks never run inside http_client_request, so none can have answered yet). */
static void op_begin(ds_op_t *op, void (*start)(ds_op_t *op))
{
	serve_request_t *r = op->r;

	op->in_handler = true;
	start(op);
	op->in_handler = false;
	if (op->answered)
		free(op);
	else
		serve_defer(r);
}

static http_client_t *worker_client(serve_worker_t *w)
{
	ds_worker_t *d = &ds_workers[w->id];

	if (!d->client)
		d->client = http_client_new(w->loop, DS_IDLE_MAX);
	return d->client;
}

/* Starts one call; false (the call marked failed) when it could not even start. */
static bool call_start(ds_op_t *op, const char *name)
{
	ds_call_t *k = &op->calls[op->call_count++];
	http_client_t *c = worker_client(op->r->worker);
	const char *headers[] = {op->traceparent, "Accept: application/json"};
	int rc;

	k->op = op;
	snprintf(k->name, sizeof(k->name), "%s", name);
	rc = c ? http_client_request(c, &ds_base, "GET", op->target, headers, 2, op->timeout_ns,
	                             call_done, k)
	       : -ENOMEM;
	if (rc < 0) {
		k->error = HTTP_CLIENT_CONNECT_FAILED;
		k->sys_errno = -rc;
		k->done = true;
		return false;
	}
	stat_add(&ds_workers[op->r->worker->id].in_flight, 1);
	return true;
}

/* Cascade, second stage: every parallel call at once; the last answer ends the request. */
static void fan_out(ds_op_t *op)
{
	char name[16];
	const ds_call_t *failed = NULL;

	op->pending = 0;
	for (int i = 0; i < op->parallel; i++) {
		snprintf(name, sizeof(name), "par-%d", i + 1);
		if (call_start(op, name))
			op->pending++;
		else if (!failed)
			failed = &op->calls[op->call_count - 1];
	}
	if (op->pending == 0)
		op_finish(op, failed, NULL);
}

/* Cascade: the next sequential call, or the fan-out once they are all done. */
static void cascade_next(ds_op_t *op)
{
	char name[16];

	if (op->next >= op->sequential) {
		fan_out(op);
		return;
	}
	snprintf(name, sizeof(name), "seq-%d", ++op->next);
	op->calls[op->call_count].sequential = true;
	if (!call_start(op, name))
		op_finish(op, &op->calls[op->call_count - 1], NULL);
}

/* The first failed call, in the order they were made. */
static const ds_call_t *first_failure(const ds_op_t *op)
{
	for (int i = 0; i < op->call_count; i++)
		if (op->calls[i].done && call_failed(&op->calls[i]))
			return &op->calls[i];
	return NULL;
}

/* Runs on the worker's loop thread (or at stop, after the loop ended): exactly once a call. */
static void call_done(void *ctx, const http_client_result_t *res)
{
	ds_call_t *k = ctx;
	ds_op_t *op = k->op;

	k->status = res->status;
	k->error = res->error;
	k->sys_errno = res->sys_errno;
	k->duration_ns = res->duration_ns;
	k->done = true;
	record_call(op->r->worker, res);
	stat_add(&ds_workers[op->r->worker->id].in_flight, (uint64_t)-1);
	if (!op->cascade) {
		op_finish(op, call_failed(k) ? k : NULL, res);
	} else if (k->sequential) {
		if (call_failed(k) || res->error == HTTP_CLIENT_CANCELLED)
			op_finish(op, k, NULL); /* a failure stops the chain */
		else
			cascade_next(op);
	} else if (--op->pending == 0) {
		op_finish(op, first_failure(op), NULL);
	}
}

static ds_op_t *op_new(serve_request_t *r, uint64_t timeout_ns)
{
	ds_op_t *op = calloc(1, sizeof(*op));

	if (!op) {
		serve_reply_error(r, 503, "out of memory for a downstream call");
		return NULL;
	}
	op->r = r;
	op->t0 = clock_now_ns();
	op->timeout_ns = timeout_ns;
	snprintf(op->traceparent, sizeof(op->traceparent),
	         "traceparent: 00-%016llx%016llx-%016llx-%s", (unsigned long long)r->trace_hi,
	         (unsigned long long)r->trace_lo, (unsigned long long)r->span,
	         r->trace_sampled ? "01" : "00");
	return op;
}

/* ---- the endpoints that call ---- */

/* Appends &name=value when the request has it; values are plain tokens (numbers, units). */
static int forward_param(serve_request_t *r, const char *name, char *target, size_t len)
{
	char v[64];
	size_t used = strlen(target);
	int rc = serve_param_string(r, name, v, sizeof(v));

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!v[0] || strspn(v, "0123456789.abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") !=
	                 strlen(v)) {
		serve_reply_error(r, 400, "parameter '%s': '%s' is not a plain value", name, v);
		return -1;
	}
	snprintf(target + used, len - used, "%c%s=%s", strchr(target, '?') ? '&' : '?', name, v);
	return 0;
}

/* "/slow?delay=2" from ?endpoint=slow&delay=2; -1 after a 400. */
static int downstream_target(serve_request_t *r, const char *def_endpoint, char *target, size_t len)
{
	static const char *const known[] = {"slow", "random", "sometimes-fail", "timeout-trap"};
	char ep[32];
	size_t i;
	int rc = serve_param_string(r, "endpoint", ep, sizeof(ep));

	if (rc < 0)
		return -1;
	if (rc == 1)
		snprintf(ep, sizeof(ep), "%s", def_endpoint);
	for (i = 0; i < sizeof(known) / sizeof(known[0]) && strcmp(known[i], ep) != 0; i++)
		;
	if (i == sizeof(known) / sizeof(known[0])) {
		serve_reply_error(r, 400,
		                  "parameter 'endpoint': '%s' is not one of slow, random, "
		                  "sometimes-fail, timeout-trap",
		                  ep);
		return -1;
	}
	snprintf(target, len, "/%s", ep);
	if (forward_param(r, "delay", target, len) < 0 ||
	    forward_param(r, "failure_rate", target, len) < 0)
		return -1;
	return 0;
}

static uint64_t hard_cap_ns(void)
{
	return serve_state.cfg->max_delay_ns + DS_HARD_CAP_EXTRA_NS;
}

static void single_start(ds_op_t *op)
{
	if (!call_start(op, "call"))
		op_finish(op, &op->calls[0], NULL);
}

/* One call with the caller's timeout (or the hard cap): call-downstream and no-timeout. */
static void single_call(serve_request_t *r, uint64_t timeout_ns)
{
	ds_op_t *op;
	char target[512];

	if (downstream_target(r, "slow", target, sizeof(target)) < 0)
		return;
	op = op_new(r, timeout_ns ? timeout_ns : hard_cap_ns());
	if (!op)
		return;
	snprintf(op->target, sizeof(op->target), "%s", target);
	op_begin(op, single_start);
}

static void call_downstream(serve_request_t *r)
{
	uint64_t timeout;

	if (serve_param_seconds(r, "timeout", DS_DEFAULT_TIMEOUT_NS, hard_cap_ns(), &timeout) < 0)
		return;
	single_call(r, timeout);
}

/* The seed's dangerous variant: no timeout of its own, only the hard cap. */
static void no_timeout(serve_request_t *r)
{
	single_call(r, hard_cap_ns());
}

static void cascade_failure(serve_request_t *r)
{
	int64_t seq, par;
	uint64_t timeout;
	ds_op_t *op;
	char target[512] = "/sometimes-fail";

	if (serve_param_int(r, "sequential", 3, 0, DS_SEQUENTIAL_MAX, &seq) < 0 ||
	    serve_param_int(r, "parallel", 3, 0, DS_PARALLEL_MAX, &par) < 0 ||
	    serve_param_seconds(r, "timeout", DS_DEFAULT_TIMEOUT_NS, hard_cap_ns(), &timeout) < 0 ||
	    forward_param(r, "failure_rate", target, sizeof(target)) < 0 ||
	    forward_param(r, "delay", target, sizeof(target)) < 0)
		return;
	op = op_new(r, timeout ? timeout : hard_cap_ns());
	if (!op)
		return;
	snprintf(op->target, sizeof(op->target), "%s", target);
	op->cascade = true;
	op->sequential = (int)seq;
	op->parallel = (int)par;
	op_begin(op, cascade_next);
}

/* ---- the downstream role's own endpoints ---- */

static void reply_downstream(serve_request_t *r, const char *endpoint, uint64_t delay)
{
	json_writer_t w;

	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "service");
	jsonw_string(&w, "downstream");
	jsonw_key(&w, "endpoint");
	jsonw_string(&w, endpoint);
	jsonw_key(&w, "delay_s");
	jsonw_double(&w, delay / 1e9, 6);
	jsonw_object_end(&w);
	r->delay_ns += delay;
}

static void ds_slow(serve_request_t *r)
{
	uint64_t delay;

	if (serve_param_seconds(r, "delay", NS_PER_S, serve_state.cfg->max_delay_ns, &delay) < 0)
		return;
	reply_downstream(r, "slow", delay);
}

static void ds_random(serve_request_t *r)
{
	uint64_t lo = 100 * NS_PER_MS, hi = 2 * NS_PER_S;

	if (hi > serve_state.cfg->max_delay_ns)
		hi = serve_state.cfg->max_delay_ns;
	if (lo > hi)
		lo = hi;
	reply_downstream(r, "random", lo + serve_random(r->worker) % (hi - lo + 1));
}

static void ds_sometimes_fail(serve_request_t *r)
{
	double rate;

	if (serve_param_number(r, "failure_rate", 0.3, 0, 1, &rate) < 0)
		return;
	if ((double)(serve_random(r->worker) % 1000000) < rate * 1e6) {
		serve_reply_error(r, 500, "simulated downstream failure (failure_rate %g)", rate);
		return;
	}
	reply_downstream(r, "sometimes-fail", 0);
}

/* 60 s, held on a loop timer, but never beyond --max-delay. */
static void ds_timeout_trap(serve_request_t *r)
{
	uint64_t delay = DS_TRAP_NS;

	if (delay > serve_state.cfg->max_delay_ns) {
		delay = serve_state.cfg->max_delay_ns;
		serve_capped(r, "delay");
	}
	reply_downstream(r, "timeout-trap", delay);
}

static const serve_param_doc_t call_params[] = {
    {"timeout", "seconds", "5", "how long to wait for the downstream (then 504)"},
    {"endpoint", "string", "slow",
     "the downstream endpoint: slow, random, sometimes-fail, timeout-trap"},
    {"delay", "seconds", "1", "passed on to the downstream (/slow?delay=)"},
    {"failure_rate", "number", "0.3",
     "passed on to the downstream (/sometimes-fail?failure_rate=)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t no_timeout_params[] = {
    {"endpoint", "string", "slow",
     "the downstream endpoint: slow, random, sometimes-fail, timeout-trap"},
    {"delay", "seconds", "1", "passed on to the downstream (/slow?delay=)"},
    {"failure_rate", "number", "0.3", "passed on to the downstream"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t cascade_params[] = {
    {"sequential", "integer", "3",
     "calls to /sometimes-fail one after another (0-10); the first failure stops the chain"},
    {"parallel", "integer", "3", "calls then fanned out together (0-20)"},
    {"failure_rate", "number", "0.3", "passed on to /sometimes-fail"},
    {"delay", "seconds", "0", "passed on: each call takes this long"},
    {"timeout", "seconds", "5", "per call (then 504 naming the call)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t slow_params[] = {
    {"delay", "seconds", "1", "how long the response takes"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t fail_params[] = {
    {"failure_rate", "number", "0.3", "share of requests answered 500 (0-1)"},
    {NULL, NULL, NULL, NULL},
};

#define DOWNSTREAM_API(prefix)                                                                     \
	{"GET",                                                                                    \
	 prefix "/slow",                                                                           \
	 prefix "/slow",                                                                           \
	 ds_slow,                                                                                  \
	 0,                                                                                        \
	 "downstream: respond after a delay",                                                      \
	 slow_params},                                                                             \
	    {"GET",                                                                                \
	     prefix "/random",                                                                     \
	     prefix "/random",                                                                     \
	     ds_random,                                                                            \
	     0,                                                                                    \
	     "downstream: a random delay of 0.1-2 s",                                              \
	     NULL},                                                                                \
	    {"GET",                                                                                \
	     prefix "/sometimes-fail",                                                             \
	     prefix "/sometimes-fail",                                                             \
	     ds_sometimes_fail,                                                                    \
	     0,                                                                                    \
	     "downstream: 500 at failure_rate",                                                    \
	     fail_params},                                                                         \
	    {"GET",                                                                                \
	     prefix "/timeout-trap",                                                               \
	     prefix "/timeout-trap",                                                               \
	     ds_timeout_trap,                                                                      \
	     0,                                                                                    \
	     "downstream: respond after 60 s (at most --max-delay)",                               \
	     NULL},

const serve_route_t serve_downstream_routes[] = {
    {"GET", "/api/call-downstream", "/api/call-downstream", call_downstream, 0,
     "call the downstream service with a timeout", call_params},
    {"GET", "/api/cascade-failure", "/api/cascade-failure", cascade_failure, 0,
     "sequential then fanned-out downstream calls; a failure propagates as 502/504",
     cascade_params},
    {"GET", "/api/no-timeout", "/api/no-timeout", no_timeout, 0,
     "call the downstream with no timeout (bounded only by a hard cap)", no_timeout_params},
    DOWNSTREAM_API("/downstream"){NULL, NULL, NULL, NULL, 0, NULL, NULL},
};

const serve_route_t serve_downstream_role_routes[] = {
    DOWNSTREAM_API(""){NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
