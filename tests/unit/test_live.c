/* Tests for live (src/live/): a real run against a loopback server with its stream summed
 * into the run's result and into live at once — every second published once it is whole,
 * with the same figures, percentiles included, as the final result's timeline — and live's
 * own rules with made-up deltas: a late delta republishes its second as a correction, a
 * fifth second makes room by publishing the oldest, a delta older than every second held is
 * counted, never lost silently from the result. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "core/clock.h"
#include "gen/gen.h"
#include "live/live.h"
#include "loopback_server.h"
#include "scrape/prom.h"
#include "result/result.h"
#include "test.h"
#include "test_points.h"

#define EVENTS_MAX 256

typedef struct watched {
	result_t whole;
	live_t *live;
	json_t *events[EVENTS_MAX];
	int count;
	int done, published_when_done; /* second_done calls, and those that published it */
	json_t *snapshot;              /* the newest LIVE_EVENT_LATEST event: the figures so far */
	int snapshots;
} watched_t;

static void keep_event(void *ctx, const char *text, size_t len, enum live_event_keep keep)
{
	watched_t *w = ctx;
	json_error_t e;
	json_t *j = json_loadb(text, len, 0, &e);

	CHECK(j != NULL);
	if (j && keep == LIVE_EVENT_LATEST) {
		/* after each second: the snapshot of every endpoint so far */
		CHECK_STR(json_string_value(json_object_get(j, "type")), "snapshot");
		CHECK(w->count > 0);
		json_decref(w->snapshot);
		w->snapshot = j;
		w->snapshots++;
	} else if (j && w->count < EVENTS_MAX)
		w->events[w->count++] = j;
	else
		json_decref(j);
}

static void on_second(void *ctx, const delta_t *d)
{
	watched_t *w = ctx;

	CHECK_INT(result_add(&w->whole, d), 0);
	CHECK_INT(live_add(w->live, &w->whole, d), 0);
}

static void on_second_done(void *ctx, int64_t second)
{
	watched_t *w = ctx;

	live_second_done(w->live, &w->whole, second);
	w->done++;
	w->published_when_done +=
	    w->count &&
	    json_integer_value(json_object_get(w->events[w->count - 1], "second")) == second;
}

static double num(const json_t *o, const char *path)
{
	char key[64];
	const char *dot;

	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	o = json_object_get(o, path);
	return json_is_number(o) ? json_number_value(o) : NAN;
}

/* The last event published for `second` (a correction replaces what came before). */
static const json_t *event_of(const watched_t *w, int64_t second)
{
	for (int i = w->count; i-- > 0;)
		if (json_integer_value(json_object_get(w->events[i], "second")) == second)
			return w->events[i];
	return NULL;
}

static void free_watched(watched_t *w)
{
	for (int i = 0; i < w->count; i++)
		json_decref(w->events[i]);
	json_decref(w->snapshot);
	live_free(w->live);
	result_free(&w->whole);
}

TEST(live_seconds_are_the_final_results_seconds)
{
	static watched_t w;
	gen_consumer_t consumer = {.ctx = &w, .second = on_second, .second_done = on_second_done};
	gen_config_t cfg = {.connections = 8,
	                    .threads = 2,
	                    .open_model = true,
	                    .duration_ns = 3500 * NS_PER_MS,
	                    .max_queue = 1000,
	                    .rate = 300};
	loopback_server_t srv;
	gen_result_t g;
	gen_run_t *run;
	char err[256] = "";
	uint64_t responses = 0;

	memset(&w, 0, sizeof(w));
	result_init(&w.whole);
	w.live = live_new(keep_event, &w);
	CHECK(w.live != NULL);
	schedule_constant(&cfg.schedule, cfg.rate, cfg.duration_ns);
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
	if (!run) {
		free_watched(&w);
		return;
	}
	/* each whole second went out as soon as the engine said so (the sliver after the last
	 * may have had no delta) */
	CHECK(w.done >= 4);
	CHECK(w.published_when_done >= w.done - 1);
	live_finish(w.live, &w.whole);
	CHECK_INT(result_seal(&w.whole), 0);
	CHECK(w.count >= 4); /* 3.5 s: four seconds, the last a half */
	for (size_t s = 0; s < w.whole.point_count; s++) {
		const result_point_t pt = test_point(&w.whole, s), *p = &pt;
		const json_t *e = event_of(&w, (int64_t)s);

		CHECK(e != NULL);
		if (!e)
			continue;
		CHECK_INT(num(e, "run.responses"), p->requests);
		CHECK_INT(num(e, "run.errors"), p->errors);
		CHECK_INT(num(e, "run.users"), p->users);
		CHECK_INT(num(e, "run.due"), p->due);
		CHECK_NEAR(num(e, "t"), p->t, 5e-4); /* written to the millisecond */
		if (p->requests) { /* the live p99 is the final p99 of the same second, exactly */
			CHECK_NEAR(num(e, "run.latency_ms.p99"), p->p99_us / 1e3, 1e-9);
			CHECK_NEAR(num(e, "run.latency_ms.p50"), p->p50_us / 1e3, 1e-9);
		}
		responses += (uint64_t)num(e, "run.responses");
		/* the one endpoint's second: only when it had requests, its figures those of the
		 * second's */
		const json_t *eps = json_object_get(e, "endpoints");

		CHECK_INT(json_array_size(eps), p->requests ? 1 : 0);
		if (p->requests) {
			CHECK_INT(num(json_array_get(eps, 0), "second.requests"), p->requests);
			CHECK_NEAR(num(json_array_get(eps, 0), "second.latency_ms.p99"),
			           p->p99_us / 1e3, 1e-9);
			CHECK(json_object_get(json_array_get(eps, 0), "total") == NULL);
		}
	}
	/* after every second, the figures so far (only the newest kept for a replay) */
	CHECK_INT(w.snapshots, w.count);
	CHECK_INT(num(w.snapshot, "total.responses"), w.whole.counters.requests);
	CHECK_INT(json_array_size(json_object_get(w.snapshot, "endpoints")), 1);
	CHECK_INT(
	    num(json_array_get(json_object_get(w.snapshot, "endpoints"), 0), "total.responses"),
	    w.whole.endpoints[0].counters.requests);
	CHECK_INT(responses, w.whole.counters.requests);
	CHECK_INT(responses, g.counters.requests);
	/* the last event's run so far is the whole run */
	CHECK_INT(num(w.events[w.count - 1], "total.responses"), w.whole.counters.requests);
	/* published in order, each second once but for corrections */
	for (int i = 1; i < w.count; i++)
		if (!json_is_true(json_object_get(w.events[i], "correction")))
			CHECK(json_integer_value(json_object_get(w.events[i], "second")) >
			      json_integer_value(json_object_get(w.events[i - 1], "second")));
	gen_result_free(&g);
	free_watched(&w);
}

static void add_requests(watched_t *w, int64_t second, uint64_t n)
{
	delta_t d = {.second = second, .length_s = 1};

	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	d.counters.requests = n;
	d.counters.status[200] = n;
	on_second(w, &d);
}

TEST(live_corrects_late_seconds_and_makes_room)
{
	static watched_t w;
	live_stats_t st;

	memset(&w, 0, sizeof(w));
	result_init(&w.whole);
	w.live = live_new(keep_event, &w);
	add_requests(&w, 0, 2);
	add_requests(&w, 0, 3);
	live_second_done(w.live, &w.whole, 0);
	CHECK_INT(w.count, 1);
	CHECK_INT(num(w.events[0], "run.responses"), 5);
	CHECK_INT(num(w.events[0], "run.status_codes.200"), 5);
	/* second 1 measured; a late delta of second 0 comes before it is whole */
	add_requests(&w, 1, 7);
	add_requests(&w, 0, 1);
	live_second_done(w.live, &w.whole, 1);
	CHECK_INT(w.count, 3);
	CHECK(json_is_true(json_object_get(w.events[1], "correction")));
	CHECK_INT(num(w.events[1], "second"), 0);
	CHECK_INT(num(w.events[1], "run.responses"), 6);
	CHECK_INT(num(w.events[2], "second"), 1);
	CHECK_INT(num(w.events[2], "total.responses"), 13);
	/* seconds 2..5 without their second_done: the fifth second held makes room by
	 * publishing the oldest unpublished one (2), then 3 */
	for (int s = 2; s <= 5; s++)
		add_requests(&w, s, 1);
	CHECK_INT(w.count, 3); /* 2..5 fit once 0 and 1 (published) gave their places */
	add_requests(&w, 6, 1);
	CHECK_INT(w.count, 4);
	CHECK_INT(num(w.events[3], "second"), 2);
	/* a delta older than every second held: in the result, counted as lost to live */
	add_requests(&w, 0, 1);
	live_get_stats(w.live, &st);
	CHECK_INT(st.late_lost, 1);
	CHECK_INT(st.corrections, 1);
	CHECK_INT(w.whole.counters.requests, 19);
	live_finish(w.live, &w.whole);
	CHECK_INT(num(w.events[w.count - 1], "second"), 6);
	CHECK_INT(num(w.events[w.count - 1], "total.responses"), 19);
	free_watched(&w);
}

TEST(live_snapshot_has_every_endpoint_so_far)
{
	result_t r;
	delta_endpoint_t eps[2];
	delta_t d = {.second = 0, .length_s = 1, .endpoints = eps, .endpoint_count = 2};
	buf_t out;
	json_t *j;
	json_error_t e;

	result_init(&r);
	memset(eps, 0, sizeof(eps));
	snprintf(eps[0].method, sizeof(eps[0].method), "GET");
	snprintf(eps[0].name, sizeof(eps[0].name), "/a");
	snprintf(eps[1].method, sizeof(eps[1].method), "POST");
	snprintf(eps[1].name, sizeof(eps[1].name), "/a");
	eps[0].counters.requests = 4;
	eps[1].counters.requests = 1;
	eps[1].counters.errors = 1;
	result_hist_init(&eps[0].latency);
	result_hist_init(&eps[1].latency);
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	d.counters.requests = 5;
	d.counters.errors = 1;
	CHECK_INT(result_add(&r, &d), 0);
	buf_init(&out, 1 << 20);
	CHECK_INT(live_snapshot(&r, &out), 0);
	j = json_loadb(out.data, out.len, 0, &e);
	CHECK(j != NULL);
	if (j) {
		const json_t *a = json_object_get(j, "endpoints");

		CHECK_STR(json_string_value(json_object_get(j, "type")), "snapshot");
		CHECK_INT(json_array_size(a), 2);
		CHECK_STR(json_string_value(json_object_get(json_array_get(a, 1), "method")),
		          "POST");
		CHECK_INT(num(json_array_get(a, 1), "total.errors"), 1);
		/* nothing measured: no latency, null rather than 0 */
		CHECK(json_is_null(json_object_get(
		    json_object_get(json_object_get(json_array_get(a, 0), "total"), "latency_ms"),
		    "p99")));
		json_decref(j);
	}
	buf_free(&out);
	result_free(&r);
}

/* ---- live_metrics ---- */

typedef struct found {
	double get_a_requests, post_a_errors, responses_204, checks_fail;
	double duration_count, duration_inf, last_bucket;
	bool buckets_ordered;
	char odd_name[128];
} found_t;

static void on_sample(void *ctx, const prom_sample_t *s)
{
	found_t *f = ctx;
	char method[16] = "", name[128] = "", code[8] = "", result[8] = "", le[32] = "";

	prom_label(s, "method", method, sizeof(method));
	prom_label(s, "name", name, sizeof(name));
	prom_label(s, "code", code, sizeof(code));
	prom_label(s, "result", result, sizeof(result));
	prom_label(s, "le", le, sizeof(le));
	if (prom_name_is(s, "surge_run_requests_total") && !strcmp(method, "GET"))
		f->get_a_requests = s->value;
	if (prom_name_is(s, "surge_run_errors_total") && !strcmp(method, "POST")) {
		f->post_a_errors = s->value;
		snprintf(f->odd_name, sizeof(f->odd_name), "%s", name);
	}
	if (prom_name_is(s, "surge_run_responses_total") && !strcmp(code, "204"))
		f->responses_204 = s->value;
	if (prom_name_is(s, "surge_run_checks_total") && !strcmp(result, "fail"))
		f->checks_fail = s->value;
	if (prom_name_is(s, "surge_run_request_duration_seconds_bucket") &&
	    !strcmp(method, "GET")) {
		if (s->value < f->last_bucket)
			f->buckets_ordered = false;
		f->last_bucket = s->value;
		if (!strcmp(le, "+Inf"))
			f->duration_inf = s->value;
	}
	if (prom_name_is(s, "surge_run_request_duration_seconds_count") && !strcmp(method, "GET"))
		f->duration_count = s->value;
}

TEST(live_metrics_are_the_results_figures_and_promtool_accepts_them)
{
	static const char odd[] = "/a \"quoted\" \\ back\nslash";
	result_t r;
	delta_endpoint_t eps[2];
	delta_tally_t check = {.kind = GEN_TALLY_CHECK, .passes = 3, .fails = 2};
	delta_t d = {.second = 0,
	             .length_s = 1,
	             .endpoints = eps,
	             .endpoint_count = 2,
	             .tallies = &check,
	             .tally_count = 1};
	hist_t *h = malloc(sizeof(hist_t));
	found_t f = {.buckets_ordered = true};
	prom_stats_t st = {0};
	buf_t out;
	FILE *file;
	int status;

	result_init(&r);
	memset(eps, 0, sizeof(eps));
	snprintf(check.name, sizeof(check.name), "status is 2xx");
	result_hist_init(&check.hist);
	snprintf(eps[0].method, sizeof(eps[0].method), "GET");
	snprintf(eps[0].name, sizeof(eps[0].name), "/a");
	snprintf(eps[1].method, sizeof(eps[1].method), "POST");
	snprintf(eps[1].name, sizeof(eps[1].name), "%s", odd);
	eps[0].counters.requests = 4;
	eps[0].counters.status[204] = 4;
	eps[1].counters.errors = 1;
	eps[1].counters.errors_by_kind[GEN_ERR_READ_TIMEOUT] = 1;
	hist_reset(h);
	for (int v = 1; v <= 4; v++)
		hist_record(h, v * 700); /* 0.7, 1.4, 2.1, 2.8 ms */
	CHECK_INT(result_hist_set(NULL, &eps[0].latency, h), 0);
	result_hist_init(&eps[1].latency);
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	d.counters.requests = 4;
	CHECK_INT(result_add(&r, &d), 0);
	buf_init(&out, 1 << 20);
	CHECK_INT(live_metrics(&r, 1700000000ull * 1000000000ull, &out), 0);
	prom_parse(out.data, out.len, on_sample, &f, &st);
	CHECK_INT(st.bad_lines, 0);
	CHECK_INT(f.get_a_requests, 4);
	CHECK_INT(f.post_a_errors, 1); /* a transport failure is a request and an error */
	CHECK_STR(f.odd_name, odd);    /* escaped, and read back as it was */
	CHECK_INT(f.responses_204, 4);
	CHECK_INT(f.checks_fail, 2);
	CHECK_INT(f.duration_count, 4);
	CHECK_INT(f.duration_inf, 4);
	CHECK(f.buckets_ordered);
	/* the reference checker of the format (scripts/deps.sh installs it), fed on stdin;
	 * what it says goes to the test's output */
	file = popen("promtool check metrics 1>&2", "w");
	CHECK(file != NULL);
	if (file) {
		fwrite(out.data, 1, out.len, file);
		status = pclose(file);
		CHECK_INT(status, 0);
	}
	buf_free(&out);
	result_hist_free(NULL, &eps[0].latency);
	result_free(&r);
	free(h);
}
