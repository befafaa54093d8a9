/* serve_io: waiting, the way I/O-bound services wait — slow and random delays held on the
 * worker's loop timer (no thread per sleeping request), a blocking call that stalls its worker
 * on purpose, and fan-out of parallel waits. Seeds' units: plain numbers are seconds. */
#include <time.h>

#include "core/clock.h"
#include "serve/serve_internal.h"

static void reply_waited(serve_request_t *r, const char *key, uint64_t ns)
{
	json_writer_t w;

	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, key);
	jsonw_double(&w, ns / 1e9, 6);
	jsonw_object_end(&w);
}

static void slow(serve_request_t *r)
{
	uint64_t delay;

	if (serve_param_seconds(r, "delay", NS_PER_S, serve_state.cfg->max_delay_ns, &delay) < 0)
		return;
	reply_waited(r, "delay_s", delay);
	r->delay_ns += delay;
}

static void random_delay(serve_request_t *r)
{
	uint64_t lo, hi, delay;

	if (serve_param_seconds(r, "min", 100 * NS_PER_MS, serve_state.cfg->max_delay_ns, &lo) <
	        0 ||
	    serve_param_seconds(r, "max", 2 * NS_PER_S, serve_state.cfg->max_delay_ns, &hi) < 0)
		return;
	if (lo > hi) {
		serve_reply_error(r, 400, "parameter 'min' is larger than 'max'");
		return;
	}
	delay = lo + (hi > lo ? serve_random(r->worker) % (hi - lo + 1) : 0);
	reply_waited(r, "delay_s", delay);
	r->delay_ns += delay;
}

/* Sleeps in the worker thread itself: every other connection of this worker waits too. */
static void blocking(serve_request_t *r)
{
	uint64_t ns;
	struct timespec ts;
	uint64_t t0 = clock_now_ns();

	if (serve_param_seconds(r, "duration", NS_PER_S, serve_state.cfg->max_delay_ns, &ns) < 0)
		return;
	ts.tv_sec = (time_t)(ns / NS_PER_S);
	ts.tv_nsec = (long)(ns % NS_PER_S);
	while (nanosleep(&ts, &ts) != 0)
		;
	serve_timing(r, "blocked", (clock_now_ns() - t0) / 1e6);
	reply_waited(r, "blocked_s", clock_now_ns() - t0);
}

/* `count` operations of about `delay` each (±50 %), waited for together: the response takes
 * as long as the slowest one. */
static void parallel_io(serve_request_t *r)
{
	int64_t count;
	uint64_t delay, slowest = 0;
	json_writer_t w;

	if (serve_param_int(r, "count", 5, 1, 1000, &count) < 0 ||
	    serve_param_seconds(r, "delay", 100 * NS_PER_MS, serve_state.cfg->max_delay_ns,
	                        &delay) < 0)
		return;
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "count");
	jsonw_int(&w, count);
	jsonw_key(&w, "operations_s");
	jsonw_array_begin(&w);
	for (int64_t i = 0; i < count; i++) {
		uint64_t d = delay / 2 + (delay ? serve_random(r->worker) % (delay + 1) : 0);

		jsonw_double(&w, d / 1e9, 6);
		if (d > slowest)
			slowest = d;
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "total_s");
	jsonw_double(&w, slowest / 1e9, 6);
	jsonw_object_end(&w);
	r->delay_ns += slowest;
}

static const serve_param_doc_t slow_params[] = {
    {"delay", "seconds", "1", "how long the response takes (250ms, 2s, or plain seconds)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t random_params[] = {
    {"min", "seconds", "0.1", "shortest delay"},
    {"max", "seconds", "2", "longest delay"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t blocking_params[] = {
    {"duration", "seconds", "1",
     "how long the worker thread sleeps, blocking its other connections"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t parallel_params[] = {
    {"count", "integer", "5", "parallel operations (1-1000)"},
    {"delay", "seconds", "0.1", "typical duration of one operation (each is 0.5x-1.5x)"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_io_routes[] = {
    {"GET", "/api/slow", "/api/slow", slow, 0, "respond after a delay (held on a loop timer)",
     slow_params},
    {"GET", "/api/random-delay", "/api/random-delay", random_delay, 0,
     "respond after a random delay", random_params},
    {"GET", "/api/blocking", "/api/blocking", blocking, ROUTE_DANGEROUS, "block the worker thread",
     blocking_params},
    {"GET", "/api/parallel-io", "/api/parallel-io", parallel_io, 0, "fan out parallel waits",
     parallel_params},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
