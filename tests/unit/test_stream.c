/* Tests for the engine's stream (gen.h gen_consumer_t, gen/gen_delta.c): a real run against a
 * tiny loopback server on its own thread, every per-second delta summed with result_add, and
 * the sum compared with the engine's own end-of-run figures — counts exactly, histograms
 * bucket by bucket — for the closed and the open model on several threads. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/http.h"
#include "gen/gen.h"
#include "gen/gen_driver.h"
#include "result/result.h"
#include "loopback_server.h"
#include "test.h"
#include "test_points.h"

static loopback_server_t srv;

#define DONE_MAX 64

typedef struct sum {
	result_t r;
	uint64_t deltas;
	/* second_done: how many were announced, and each second's responses at that moment */
	int64_t done;
	uint64_t done_requests[DONE_MAX];
	bool done_out_of_order;
} sum_t;

static void add_second(void *ctx, const delta_t *d)
{
	sum_t *s = ctx;

	s->deltas++;
	CHECK_INT(result_add(&s->r, d), 0);
}

static void second_done(void *ctx, int64_t second)
{
	sum_t *s = ctx;

	if (second != s->done)
		s->done_out_of_order = true;
	if (second >= 0 && second < DONE_MAX && (size_t)second < s->r.point_count)
		s->done_requests[second] = test_point(&s->r, (size_t)second).requests;
	s->done++;
}

static bool same_hist(const result_hist_t *sparse, const hist_t *dense)
{
	result_hist_t h;
	bool same;

	result_hist_init(&h);
	if (result_hist_set(NULL, &h, dense) < 0)
		return false;
	same = result_hist_equal(sparse, &h);
	result_hist_free(NULL, &h);
	return same;
}

/* Runs cfg with the stream summed; checks the sum against the engine's own figures. */
static void run_and_compare(gen_config_t *cfg)
{
	sum_t sum = {.deltas = 0};
	gen_consumer_t consumer = {.ctx = &sum, .second = add_second, .second_done = second_done};
	gen_result_t g;
	gen_run_t *run;
	char err[256] = "";
	uint64_t timeline_requests = 0, due = 0;

	result_init(&sum.r);
	CHECK_INT(loopback_server_start(&srv), 0);
	snprintf(cfg->url.host, sizeof(cfg->url.host), "127.0.0.1");
	cfg->url.port = srv.port;
	snprintf(cfg->url.target, sizeof(cfg->url.target), "/x");
	cfg->url_text = "http://127.0.0.1/x";
	cfg->method = "GET";
	cfg->timeout_ns = 10 * NS_PER_S;
	cfg->consumer = &consumer;
	cfg->engine_totals = true; /* what the sum is compared with */
	run = gen_start(cfg, err, sizeof(err));
	CHECK(run != NULL);
	if (!run) {
		loopback_server_stop(&srv);
		return;
	}
	CHECK_INT(gen_finish(run, &g), 0);
	loopback_server_stop(&srv);
	CHECK(sum.deltas >= cfg->threads); /* a second of each thread at least */
	CHECK(g.counters.requests > 0);
	CHECK_INT(g.stream_failed, 0);
	CHECK(memcmp(&sum.r.counters, &g.counters, sizeof(g.counters)) == 0);
	CHECK(same_hist(&sum.r.latency, g.latency));
	CHECK(same_hist(&sum.r.service, g.service));
	CHECK(same_hist(&sum.r.generator.sched_lag, g.sched_lag));
	CHECK_INT(sum.r.endpoint_count, g.named.endpoint_count);
	for (uint32_t i = 0; i < g.named.endpoint_count && i < sum.r.endpoint_count; i++) {
		const gen_endpoint_t *e = g.named.endpoints[i];
		result_endpoint_t *s = result_endpoint(&sum.r, e->method, e->name);

		CHECK(memcmp(&s->counters, &e->counters, sizeof(e->counters)) == 0);
		CHECK(result_hist_equal(&s->latency, e->latency));
	}
	CHECK_INT(sum.r.tally_count, g.named.tally_count);
	for (uint32_t i = 0; i < g.named.tally_count && i < sum.r.tally_count; i++) {
		const gen_tally_t *e = g.named.tallies[i];
		result_tally_t *s = result_tally(&sum.r, e->kind, e->name);

		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK_INT(s->passes, e->passes);
		CHECK_INT(s->fails, e->fails);
		CHECK(s->value == e->value);
		if (e->hist)
			CHECK(same_hist(&s->hist, e->hist));
	}
	/* the engine's delta buffers stay small: what each thread reuses second after second */
	CHECK(g.stream_bytes < (size_t)(4u << 20));
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  %u endpoints, %u threads: delta buffers %zu bytes, result %zu\n",
		        g.named.endpoint_count, cfg->threads, g.stream_bytes,
		        result_memory(&sum.r));
	/* second by second, the stream's timeline is the engine's own (merged apart, in slots) */
	for (size_t i = 0; i < g.timeline_len && i < sum.r.point_count; i++) {
		CHECK_INT(test_point(&sum.r, i).requests, g.timeline[i].requests);
		CHECK_INT(test_point(&sum.r, i).errors, g.timeline[i].errors);
		CHECK_INT(test_point(&sum.r, i).users, g.timeline[i].users);
		CHECK_NEAR(test_point(&sum.r, i).t, g.timeline[i].t, 1e-9);
		CHECK_INT(test_point(&sum.r, i).due, g.timeline[i].due);
		CHECK_INT(test_point(&sum.r, i).due_late, g.timeline[i].pacer_late);
	}
	CHECK(sum.r.point_count >= g.timeline_len && sum.r.point_count <= g.timeline_len + 1);
	/* the timeline's seconds add up to the run, and each is one of the engine's */
	for (size_t i = 0; i < sum.r.point_count; i++) {
		timeline_requests += test_point(&sum.r, i).requests;
		due += test_point(&sum.r, i).due;
	}
	CHECK_INT(timeline_requests, g.counters.requests);
	/* every second of the engine's timeline was announced complete once, in order, and
	 * nothing of its responses came after */
	CHECK(!sum.done_out_of_order);
	CHECK(sum.done >= (int64_t)g.timeline_len);
	for (size_t i = 0; i < g.timeline_len && i < DONE_MAX; i++)
		CHECK_INT(sum.done_requests[i], g.timeline[i].requests);
	if (cfg->open_model) {
		uint64_t engine_due = 0;

		for (size_t i = 0; i < g.timeline_len; i++)
			engine_due += g.timeline[i].due;
		CHECK_INT(due, engine_due);
		CHECK(due > 0);
	}
	CHECK_INT(sum.r.dropped.deltas_lost, 0);
	gen_result_free(&g);
	result_free(&sum.r);
}

TEST(stream_sums_to_the_run_closed_two_threads)
{
	gen_config_t cfg = {.connections = 4, .threads = 2, .requests = 2000};

	run_and_compare(&cfg);
}

TEST(stream_sums_to_the_run_open_four_threads)
{
	/* 200/s for 1.5 s: two seconds of the stream, the last a half */
	gen_config_t cfg = {.connections = 8,
	                    .threads = 4,
	                    .open_model = true,
	                    .duration_ns = 1500 * NS_PER_MS,
	                    .max_queue = 1000,
	                    .rate = 200};

	schedule_constant(&cfg.schedule, 200, cfg.duration_ns);
	run_and_compare(&cfg);
}

/* ---- a driver with 20 endpoints, a check and a trend on every response ---- */

#define DRIVEN_ENDPOINTS 20

typedef struct driven {
	gen_request_t req[DRIVEN_ENDPOINTS];
	uint64_t sent;
} driven_t;

static void *driven_start(void *ctx, gen_thread_t *t, char *err, size_t errlen)
{
	const gen_config_t *cfg = gen_thread_config(t);
	driven_t *d = calloc(1, sizeof(*d));

	for (int i = 0; d && i < DRIVEN_ENDPOINTS; i++) {
		char name[32], target[32];
		http_request_spec_t spec = {.method = "GET",
		                            .host = cfg->url.host,
		                            .port = cfg->url.port,
		                            .target = target};

		snprintf(name, sizeof(name), "endpoint %d", i);
		snprintf(target, sizeof(target), "/e%d", i);
		buf_init(&d->req[i].bytes, 4096);
		d->req[i].endpoint = (uint32_t)gen_driver_endpoint(t, "GET", name);
		if (http_request_build(&spec, &d->req[i].bytes) < 0)
			return NULL;
	}
	return d;
}

static void driven_stop(void *state)
{
	driven_t *d = state;

	for (int i = 0; d && i < DRIVEN_ENDPOINTS; i++)
		buf_free(&d->req[i].bytes);
	free(d);
}

static void driven_next(gen_conn_t *c)
{
	gen_thread_t *t = gen_conn_thread(c);
	driven_t *d = gen_thread_driver_state(t);
	gen_outcome_t o;

	if (gen_thread_ending(t)) {
		gen_conn_finish(c);
		return;
	}
	if (gen_conn_user(c)) {
		gen_conn_outcome(c, &o);
		gen_driver_check(t, c, "status 200", !o.failed && o.status == 200);
		/* fails on every 7th response: failed checks count as the endpoint's errors */
		gen_driver_check(t, c, "not every 7th", d->sent % 7 != 0);
		gen_driver_trend(t, "sent", (double)(d->sent % 100));
		gen_driver_counter(t, "responses", 1);
	}
	gen_conn_set_user(c, d);
	gen_conn_request(c, &d->req[d->sent++ % DRIVEN_ENDPOINTS]);
}

static void driven_release(gen_conn_t *c)
{
	gen_conn_set_user(c, NULL);
}

TEST(stream_sums_to_the_run_twenty_endpoints_with_checks)
{
	gen_driver_t driver = {.thread_start = driven_start,
	                       .thread_stop = driven_stop,
	                       .next = driven_next,
	                       .release = driven_release};
	gen_config_t cfg = {
	    .connections = 4, .threads = 2, .duration_ns = 1500 * NS_PER_MS, .driver = &driver};

	run_and_compare(&cfg);
}

/* Without engine_totals (every command's run) the threads keep no run-long copy of the
 * endpoints' histograms, which grew with every distinct latency (the soak's 1,000 users: 1.2
 * MB in 8 minutes); the stream carries every figure all the same. */
TEST(stream_run_keeps_no_engine_copy_of_the_endpoints)
{
	gen_driver_t driver = {.thread_start = driven_start,
	                       .thread_stop = driven_stop,
	                       .next = driven_next,
	                       .release = driven_release};
	size_t bytes[2] = {0, 0};

	for (int totals = 0; totals < 2; totals++) {
		gen_config_t cfg = {.connections = 4,
		                    .threads = 2,
		                    .duration_ns = 1500 * NS_PER_MS,
		                    .driver = &driver,
		                    .engine_totals = totals};
		sum_t sum = {.deltas = 0};
		gen_consumer_t consumer = {.ctx = &sum, .second = add_second};
		gen_result_t g;
		gen_run_t *run;
		char err[256] = "";

		result_init(&sum.r);
		CHECK_INT(loopback_server_start(&srv), 0);
		snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
		cfg.url.port = srv.port;
		snprintf(cfg.url.target, sizeof(cfg.url.target), "/x");
		cfg.url_text = "http://127.0.0.1/x";
		cfg.method = "GET";
		cfg.timeout_ns = 10 * NS_PER_S;
		cfg.consumer = &consumer;
		run = gen_start(&cfg, err, sizeof(err));
		CHECK(run != NULL);
		if (run)
			CHECK_INT(gen_finish(run, &g), 0);
		loopback_server_stop(&srv);
		if (!run)
			return;
		CHECK_INT(sum.r.endpoint_count, DRIVEN_ENDPOINTS);
		CHECK_INT(g.named.endpoint_count, totals ? DRIVEN_ENDPOINTS : 0);
		CHECK_INT(sum.r.counters.requests, g.counters.requests);
		bytes[totals] = g.stream_bytes;
		gen_result_free(&g);
		result_free(&sum.r);
	}
	/* the run copies (every endpoint's pairs on each thread) are what the totals cost */
	CHECK(bytes[0] < bytes[1]);
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr,
		        "  delta buffers: %zu bytes without the engine's totals, %zu with\n",
		        bytes[0], bytes[1]);
}

/* ---- a thread starved for 1.6 s in the open model ---- */

static atomic_bool starved_once;

static void *starving_start(void *ctx, gen_thread_t *t, char *err, size_t errlen)
{
	return t;
}

static void starving_stop(void *state)
{
}

/* An arrival is an iteration that sends nothing (the connection is free again at once); the
 * first arrival a thread gets after 1.2 s stops that thread for 1.6 s, its pacer behind by
 * 8,000 arrivals when it wakes. */
static void starving_next(gen_conn_t *c)
{
	gen_thread_t *t = gen_conn_thread(c);

	if (gen_thread_ending(t)) {
		gen_conn_finish(c);
		return;
	}
	if (clock_now_ns() - gen_thread_start_ns(t) > 1200 * NS_PER_MS &&
	    !atomic_exchange(&starved_once, true)) {
		struct timespec stop = {.tv_sec = 1, .tv_nsec = 600 * 1000 * 1000};

		nanosleep(&stop, NULL);
	}
	(void)gen_conn_iteration_done(c);
}

/* The engine keeps no second of the run: each goes into the self-check's tally once it is
 * final — its slot closed and no thread able to count an arrival due in it any more. A
 * thread stopped for 1.6 s (its pacer then dispatching 8,000 arrivals of seconds already
 * closed on the other thread) must not have its seconds folded before their due counts are
 * in: every second's due and late counts, as the self-check took them, are the stream's. */
TEST(stream_engine_folds_each_second_once_its_due_counts_are_final)
{
	gen_driver_t driver = {.thread_start = starving_start,
	                       .thread_stop = starving_stop,
	                       .next = starving_next,
	                       .release = driven_release};
	gen_config_t cfg = {.connections = 4,
	                    .threads = 2,
	                    .open_model = true,
	                    .duration_ns = 3 * NS_PER_S,
	                    .max_queue = 100,
	                    .rate = 10000,
	                    .driver = &driver,
	                    .engine_totals = true};
	sum_t sum = {.deltas = 0};
	gen_consumer_t consumer = {.ctx = &sum, .second = add_second};
	gen_result_t g;
	gen_run_t *run;
	char err[256] = "";
	uint64_t due = 0, engine_due = 0, late = 0;

	atomic_store(&starved_once, false);
	schedule_constant(&cfg.schedule, 10000, cfg.duration_ns);
	result_init(&sum.r);
	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	cfg.url.port = 9; /* never connected to: no request is sent */
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/");
	cfg.url_text = "http://127.0.0.1:9/";
	cfg.method = "GET";
	cfg.timeout_ns = NS_PER_S;
	cfg.consumer = &consumer;
	run = gen_start(&cfg, err, sizeof(err));
	CHECK(run != NULL);
	if (!run)
		return;
	CHECK_INT(gen_finish(run, &g), 0);
	CHECK(atomic_load(&starved_once));
	CHECK(g.timeline_len >= 3);
	for (size_t i = 0; i < g.timeline_len; i++) {
		result_point_t p = test_point(&sum.r, i);

		CHECK_INT(p.due, g.timeline[i].due);
		CHECK_INT(p.due_late, g.timeline[i].pacer_late);
		engine_due += g.timeline[i].due;
		late += g.timeline[i].pacer_late;
	}
	for (size_t i = 0; i < sum.r.point_count; i++)
		due += test_point(&sum.r, i).due;
	CHECK_INT(engine_due, due);
	CHECK(due >= 29000);
	CHECK(late >= 5000); /* the stopped thread's arrivals went out over 25 ms late */
	{
		gen_saturation_t again;

		CHECK(gen_saturation_decide(g.timeline, g.timeline_len, &again) == g.saturated);
		CHECK(memcmp(&again, &g.saturation, sizeof(again)) == 0);
	}
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  %llu arrivals due, %llu late; saturated: %s\n",
		        (unsigned long long)due, (unsigned long long)late,
		        gen_saturation_name(g.saturation.criterion));
	gen_result_free(&g);
	result_free(&sum.r);
}

/* Without engine_totals (every command's run) the engine hands back no timeline: it kept
 * none (a point of 120 bytes a second, and 32 bytes a second per thread of due counts, for
 * the whole run, before); the self-check is decided all the same. */
TEST(stream_engine_keeps_no_timeline_unless_asked)
{
	gen_driver_t driver = {.thread_start = starving_start,
	                       .thread_stop = starving_stop,
	                       .next = starving_next,
	                       .release = driven_release};
	gen_config_t cfg = {.connections = 4,
	                    .threads = 2,
	                    .open_model = true,
	                    .duration_ns = 2 * NS_PER_S,
	                    .max_queue = 100,
	                    .rate = 200,
	                    .driver = &driver};
	gen_result_t g;
	gen_run_t *run;
	char err[256] = "";

	atomic_store(&starved_once, true); /* no stop this time */
	schedule_constant(&cfg.schedule, 200, cfg.duration_ns);
	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	cfg.url.port = 9;
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/");
	cfg.url_text = "http://127.0.0.1:9/";
	cfg.method = "GET";
	cfg.timeout_ns = NS_PER_S;
	run = gen_start(&cfg, err, sizeof(err));
	CHECK(run != NULL);
	if (!run)
		return;
	CHECK_INT(gen_finish(run, &g), 0);
	CHECK(g.timeline == NULL);
	CHECK_INT(g.timeline_len, 0);
	CHECK(!g.saturated);
	CHECK_INT(g.saturation.criterion, GEN_SAT_NONE);
	gen_result_free(&g);
}

/* A driver whose every iteration fails before a request: its script errors are tallies of a
 * thread that has no endpoint at all, and the stream still carries them. */
static void failing_next(gen_conn_t *c)
{
	gen_thread_t *t = gen_conn_thread(c);

	if (gen_thread_ending(t) || gen_conn_user(c)) {
		gen_conn_finish(c);
		return;
	}
	gen_conn_set_user(c, c);
	gen_driver_script_error(t, "boom");
	gen_conn_finish(c);
}

static void *failing_start(void *ctx, gen_thread_t *t, char *err, size_t errlen)
{
	return t;
}

static void failing_stop(void *state)
{
}

TEST(stream_carries_the_tallies_of_a_thread_without_endpoints)
{
	gen_driver_t driver = {.thread_start = failing_start,
	                       .thread_stop = failing_stop,
	                       .next = failing_next,
	                       .release = driven_release};
	gen_config_t cfg = {
	    .connections = 2, .threads = 2, .duration_ns = 300 * NS_PER_MS, .driver = &driver};
	sum_t sum = {.deltas = 0};
	gen_consumer_t consumer = {.ctx = &sum, .second = add_second, .second_done = second_done};
	gen_result_t g;
	gen_run_t *run;
	char err[256] = "";
	result_tally_t *boom;

	result_init(&sum.r);
	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	cfg.url.port = 9; /* never connected to: no request is sent */
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/");
	cfg.url_text = "http://127.0.0.1:9/";
	cfg.method = "GET";
	cfg.timeout_ns = NS_PER_S;
	cfg.consumer = &consumer;
	run = gen_start(&cfg, err, sizeof(err));
	CHECK(run != NULL);
	if (!run)
		return;
	CHECK_INT(gen_finish(run, &g), 0);
	CHECK_INT(g.named.endpoint_count, 0);
	CHECK_INT(g.counters.script_errors, 2);
	CHECK_INT(sum.r.counters.script_errors, 2);
	boom = result_tally(&sum.r, GEN_TALLY_SCRIPT_ERROR, "boom");
	CHECK(boom != NULL && boom->fails == 2);
	gen_result_free(&g);
	result_free(&sum.r);
}

/* The threads' parts of the run's last second: one stopped early (0.2 s) and handed its part
 * after the one that ran the whole second (a thread's flush may be late): the second lasts
 * until the last thread stopped, whatever order the parts came in. */
TEST(stream_last_second_lasts_as_long_as_its_longest_part)
{
	result_t r;
	delta_t whole = {.second = 1, .length_s = 1}, part = {.second = 1, .length_s = 0.2};

	result_init(&r);
	result_hist_init(&whole.latency);
	result_hist_init(&whole.service);
	result_hist_init(&whole.sched_lag);
	result_hist_init(&part.latency);
	result_hist_init(&part.service);
	result_hist_init(&part.sched_lag);
	CHECK_INT(result_add(&r, &whole), 0);
	CHECK_INT(result_add(&r, &part), 0);
	CHECK_INT(r.point_count, 2);
	CHECK_NEAR(test_point(&r, 1).length_s, 1, 1e-12);
	CHECK_NEAR(test_point(&r, 1).t, 2, 1e-12);
	result_free(&r);
}
