/* The typed result model (src/result/): the sum of per-second deltas equals the run (counts
 * exactly, histograms bucket by bucket), merges align by wall-clock second, the document
 * round-trips exactly, documents written by the release before it decode and re-encode to
 * the same figures, and an hour of 20 endpoints stays under 64 MiB. */
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <math.h>
#include <stdlib.h>

#include "report/report.h"
#include "report/report_outputs.h"
#include "result/result.h"
#include "result/result_doc.h"
#include "test.h"
#include "test_points.h"

#define FIXTURES "tests/fixtures/results/"

/* ---- made-up but realistic seconds ---- */

static double uniform(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return ((*seed >> 11) + 0.5) / 9007199254740992.0;
}

/* A lognormal latency around median_us (sigma 0.5), as a service's responses spread. */
static int64_t latency_us(uint64_t *seed, double median_us)
{
	double z = sqrt(-2 * log(uniform(seed))) * cos(2 * M_PI * uniform(seed));
	double v = median_us * exp(0.5 * z);

	return v < 1 ? 1 : (int64_t)v;
}

static int by_index(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* values[0..n) as a producer fills a delta's histogram (no dense hist_t): sorted pairs. */
static void sparse_of(result_hist_t *h, const int64_t *values, size_t n, uint32_t *scratch)
{
	result_hist_free(NULL, h);
	for (size_t i = 0; i < n; i++) {
		double d = (double)values[i];

		scratch[i] = (uint32_t)hist_index_of(values[i]);
		h->total++;
		h->sum += d;
		h->sum_sq += d * d;
		h->min = values[i] < h->min ? values[i] : h->min;
		h->max = values[i] > h->max ? values[i] : h->max;
	}
	qsort(scratch, n, sizeof(*scratch), by_index);
	h->buckets = malloc((n ? n : 1) * sizeof(*h->buckets));
	h->cap = (uint32_t)(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		if (h->len && h->buckets[h->len - 1].index == scratch[i])
			h->buckets[h->len - 1].count++;
		else
			h->buckets[h->len++] = (result_bucket_t){scratch[i], 1};
	}
}

typedef struct maker {
	uint64_t seed;
	uint32_t endpoints;
	uint32_t per_endpoint; /* responses per endpoint per second */
	delta_endpoint_t *eps;
	delta_tally_t tallies[2];
	int64_t *values, *all;
	uint32_t *scratch;
	hist_t *expect; /* what the deltas held, summed densely */
	hist_t *second; /* one second's, densely, for its point */
	gen_counters_t counters;
} maker_t;

static void maker_init(maker_t *m, uint32_t endpoints, uint32_t per_endpoint, uint64_t seed)
{
	memset(m, 0, sizeof(*m));
	m->seed = seed;
	m->endpoints = endpoints;
	m->per_endpoint = per_endpoint;
	m->eps = calloc(endpoints, sizeof(*m->eps));
	m->values = malloc(per_endpoint * sizeof(*m->values));
	m->all = malloc((size_t)endpoints * per_endpoint * sizeof(*m->all));
	m->scratch = malloc((size_t)endpoints * per_endpoint * sizeof(*m->scratch));
	m->expect = malloc(sizeof(hist_t));
	m->second = malloc(sizeof(hist_t));
	hist_reset(m->expect);
	for (uint32_t i = 0; i < endpoints; i++) {
		snprintf(m->eps[i].method, sizeof(m->eps[i].method), i % 3 ? "GET" : "POST");
		snprintf(m->eps[i].name, sizeof(m->eps[i].name), "/api/v1/resource-%02u", i);
		result_hist_init(&m->eps[i].latency);
	}
	m->tallies[0].kind = GEN_TALLY_CHECK;
	snprintf(m->tallies[0].name, sizeof(m->tallies[0].name), "status ok");
	m->tallies[1].kind = GEN_TALLY_TREND;
	snprintf(m->tallies[1].name, sizeof(m->tallies[1].name), "cart_size");
	result_hist_init(&m->tallies[0].hist);
	result_hist_init(&m->tallies[1].hist);
}

static void maker_free(maker_t *m)
{
	for (uint32_t i = 0; i < m->endpoints; i++)
		result_hist_free(NULL, &m->eps[i].latency);
	result_hist_free(NULL, &m->tallies[1].hist);
	free(m->eps);
	free(m->values);
	free(m->all);
	free(m->scratch);
	free(m->expect);
	free(m->second);
}

/* Fills d with one thread's second: every endpoint's responses, a few errors, a check and a
 * trend; m->expect and m->second get the same values densely. */
static void maker_second(maker_t *m, delta_t *d, int64_t second)
{
	size_t all = 0;
	int64_t trend[3] = {1000, 2000, 5000 + second};

	memset(d, 0, sizeof(*d));
	result_hist_init(&d->latency);
	result_hist_init(&d->service);
	result_hist_init(&d->sched_lag);
	d->second = second;
	d->length_s = 1;
	d->users = 10;
	d->target = 20;
	d->busiest_cpu = 0.25 + (double)(second % 7) / 10;
	for (uint32_t i = 0; i < m->endpoints; i++) {
		delta_endpoint_t *e = &m->eps[i];
		double median = 2000.0 + 2000.0 * i;

		memset(&e->counters, 0, sizeof(e->counters));
		for (uint32_t k = 0; k < m->per_endpoint; k++) {
			m->values[k] = latency_us(&m->seed, median);
			m->all[all++] = m->values[k];
			hist_record(m->expect, m->values[k]);
			hist_record(m->second, m->values[k]);
		}
		sparse_of(&e->latency, m->values, m->per_endpoint, m->scratch);
		e->counters.requests = m->per_endpoint;
		e->counters.status[200] = m->per_endpoint - 1;
		e->counters.status[503] = 1;
		e->counters.errors = 2;
		e->counters.errors_by_kind[GEN_ERR_RESET] = 1;
		e->counters.bytes_in = 512ull * m->per_endpoint;
		e->counters.bytes_out = 90ull * m->per_endpoint;
		gen_counters_add(&d->counters, &e->counters);
	}
	sparse_of(&d->latency, m->all, all, m->scratch);
	sparse_of(&d->service, m->all, all, m->scratch);
	gen_counters_add(&m->counters, &d->counters);
	m->tallies[0].passes = m->endpoints;
	m->tallies[0].fails = 1;
	sparse_of(&m->tallies[1].hist, trend, 3, m->scratch);
	d->endpoints = m->eps;
	d->endpoint_count = m->endpoints;
	d->tallies = m->tallies;
	d->tally_count = 2;
}

static void delta_free(delta_t *d)
{
	result_hist_free(NULL, &d->latency);
	result_hist_free(NULL, &d->service);
	result_hist_free(NULL, &d->sched_lag);
}

/* h (sparse) holds exactly d's buckets and counts. */
static bool same_as_dense(const result_hist_t *h, const hist_t *d)
{
	result_hist_t want;
	bool same;

	result_hist_init(&want);
	if (result_hist_set(NULL, &want, d) < 0)
		return false;
	same = result_hist_equal(h, &want);
	result_hist_free(NULL, &want);
	return same;
}

/* A point's histogram text decoded equals d, bucket by bucket. */
static bool point_is(const result_point_t *p, const hist_t *d)
{
	hist_t *got = malloc(sizeof(hist_t));
	bool same;

	if (!p->hist)
		return d->total == 0;
	same = hist_decode_base64(p->hist, p->hist_len, got) == 0 &&
	       memcmp(got->counts, d->counts, sizeof(d->counts)) == 0;
	free(got);
	return same;
}

/* 30 seconds of 4 endpoints, two threads' deltas a second: r is their sum. */
static void build_run(result_t *r, maker_t *m, hist_t **seconds, uint64_t started_ns)
{
	result_init(r);
	r->started_wall_ns = started_ns;
	for (int64_t s = 0; s < 30; s++) {
		hist_reset(m->second);
		for (int thread = 0; thread < 2; thread++) {
			delta_t d;

			maker_second(m, &d, s);
			CHECK_INT(result_add(r, &d), 0);
			delta_free(&d);
		}
		if (seconds)
			memcpy(seconds[s], m->second, sizeof(hist_t));
	}
	CHECK_INT(result_seal(r), 0);
}

TEST(result_sum_of_deltas_is_the_run)
{
	maker_t m;
	result_t r;
	hist_t *seconds[30];

	for (int i = 0; i < 30; i++)
		seconds[i] = malloc(sizeof(hist_t));
	maker_init(&m, 4, 50, 42);
	build_run(&r, &m, seconds, 1700000000ull * 1000000000ull);
	CHECK(memcmp(&r.counters, &m.counters, sizeof(m.counters)) == 0);
	CHECK_INT(r.counters.requests, 30 * 2 * 4 * 50);
	CHECK(same_as_dense(&r.latency, m.expect));
	CHECK_NEAR(r.latency.sum, m.expect->sum, 1e-6 * m.expect->sum);
	CHECK_INT(r.endpoint_count, 4);
	CHECK_INT(r.endpoints[1].counters.requests, 30 * 2 * 50);
	CHECK_INT(r.endpoints[1].counters.status[503], 60);
	CHECK_INT(r.endpoints[1].counters.errors_by_kind[GEN_ERR_RESET], 60);
	CHECK_INT(r.point_count, 30);
	for (size_t i = 0; i < r.point_count; i++) {
		result_point_t pt = test_point(&r, i);

		CHECK_INT(pt.requests, 2 * 4 * 50);
		CHECK_INT(pt.users, 20); /* two threads' users */
		CHECK(point_is(&pt, seconds[i]));
		CHECK_INT(pt.p99_us, hist_percentile(seconds[i], 99));
	}
	CHECK_INT(r.tally_count, 2);
	CHECK_INT(r.tallies[0].passes, 30 * 2 * 4);
	CHECK_INT(r.tallies[1].hist.total, 30 * 2 * 3);
	CHECK_NEAR(r.duration_s, 30, 1e-9);
	result_free(&r);
	maker_free(&m);
	for (int i = 0; i < 30; i++)
		free(seconds[i]);
}

/* ---- the document ---- */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = malloc((size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		text = NULL;
	}
	if (text)
		text[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return text;
}

/* The same JSON value: numbers equal as doubles (1 and 1.0 alike), objects by key. The path
 * of the first difference goes to where. Counts added since (ADDED_SINCE), 0 in b and absent
 * from a, are the same: an older document did not count them. */
static const char *const ADDED_SINCE[] = {"unfinished", NULL};

static size_t added_since(const json_t *a, const json_t *b)
{
	size_t n = 0;

	for (int i = 0; ADDED_SINCE[i]; i++) {
		const json_t *v = json_object_get(b, ADDED_SINCE[i]);

		n += !json_object_get(a, ADDED_SINCE[i]) && json_is_integer(v) &&
		     json_integer_value(v) == 0;
	}
	return n;
}

static bool same_json(const json_t *a, const json_t *b, char *where, size_t len)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_number_value(a) == json_number_value(b))
			return true;
		snprintf(where, len, "%.17g vs %.17g", json_number_value(a), json_number_value(b));
		return false;
	}
	if (json_typeof(a) != json_typeof(b)) {
		snprintf(where, len, "types differ");
		return false;
	}
	if (json_is_object(a)) {
		const char *key;
		json_t *v;

		if (json_object_size(a) + added_since(a, b) != json_object_size(b)) {
			snprintf(where, len, "%zu keys vs %zu", json_object_size(a),
			         json_object_size(b));
			return false;
		}
		json_object_foreach((json_t *)a, key, v)
		{
			const json_t *w = json_object_get(b, key);
			size_t n = strlen(key);

			if (!w || !same_json(v, w, where + (n + 1 < len ? n + 1 : 0),
			                     n + 1 < len ? len - n - 1 : len)) {
				if (n + 1 < len) {
					memcpy(where, key, n);
					where[n] = w ? '.' : '\0';
					if (!w)
						snprintf(where, len, "%s missing", key);
				}
				return false;
			}
		}
		return true;
	}
	if (json_is_array(a)) {
		size_t i;
		json_t *v;

		if (json_array_size(a) != json_array_size(b)) {
			snprintf(where, len, "%zu elements vs %zu", json_array_size(a),
			         json_array_size(b));
			return false;
		}
		json_array_foreach(
		    a, i, v) if (!same_json(v, json_array_get(b, i), where, len)) return false;
		return true;
	}
	if (json_equal((json_t *)a, (json_t *)b))
		return true;
	snprintf(where, len, "values differ");
	return false;
}

/* A document of the release before result_t decodes and re-encodes to the same figures. */
static void check_fixture(const char *file)
{
	char path[256], err[512], where[1024] = "";
	size_t len;
	char *text;
	result_t r;
	buf_t out;
	json_t *a, *b;

	snprintf(path, sizeof(path), FIXTURES "%s", file);
	text = read_file(path, &len);
	if (!text) {
		test_fail(__FILE__, __LINE__, "%s: %s (run from the repository root)", path,
		          strerror(errno));
		return;
	}
	if (result_decode(file, text, len, &r, err, sizeof(err)) != 0) {
		test_fail(__FILE__, __LINE__, "%s", err);
		free(text);
		return;
	}
	buf_init(&out, 1u << 30);
	CHECK_INT(result_encode(&r, &out), 0);
	a = json_loads(text, 0, NULL);
	b = json_loads(out.data, 0, NULL);
	CHECK(a && b);
	if (a && b && !same_json(a, b, where, sizeof(where)))
		test_fail(__FILE__, __LINE__, "%s re-encoded differs at %s", file, where);
	json_decref(a);
	json_decref(b);
	buf_free(&out);
	result_free(&r);
	free(text);
}

TEST(result_decodes_documents_of_the_release_before)
{
	static const char *const files[] = {"closed.json",           "open.json",   "scenario.json",
	                                    "scenario-metrics.json", "scrape.json", "merged.json"};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		check_fixture(files[i]);
}

/* Every section set, so the round trip covers each. */
static void fill_sections(result_t *r)
{
	result_config_t *c = &r->config;

	c->url = result_strdup(r, "http://127.0.0.1:8080/api");
	c->method = result_strdup(r, "GET");
	c->stages = result_strdup(r, "10s:100,20s:100");
	c->open_model = true;
	c->has_max_queue = true;
	c->max_queue = 1000;
	c->has_rate = true; /* a shard's part of the rate: 100/3 */
	c->rate = 33.333333;
	c->shard_index = 2;
	c->shard_count = 3;
	c->connections = 64;
	c->threads = 2;
	c->duration_s = 30;
	c->timeout_s = 10;
	c->headers = result_alloc(r, sizeof(char *));
	c->headers[c->header_count++] = result_strdup(r, "X-Test: 1");
	r->thresholds = result_alloc(r, 2 * sizeof(*r->thresholds));
	r->thresholds[0] = (result_threshold_t){result_strdup(r, "p95<200ms"), 12.345, true};
	r->thresholds[1] = (result_threshold_t){result_strdup(r, "name:/x:p99<1ms"), NAN, false};
	r->threshold_count = 2;
	r->assessment = (result_assessment_t){.present = true,
	                                      .latency_ok = true,
	                                      .errors_ok = true,
	                                      .throughput_ok = true,
	                                      .p95_ms = 12.345,
	                                      .target_p95_ms = 200,
	                                      .target_max_error_rate = 0.05,
	                                      .profile = result_strdup(r, "basic")};
	snprintf(r->assessment.latency_class, sizeof(r->assessment.latency_class), "excellent");
	r->recommendations = result_alloc(r, sizeof(*r->recommendations));
	memset(r->recommendations, 0, sizeof(*r->recommendations));
	snprintf(r->recommendations[0].severity, 16, "warning");
	snprintf(r->recommendations[0].kind, 32, "cpu");
	r->recommendations[0].title = result_strdup(r, "CPU at 81 %");
	r->recommendations[0].detail = result_strdup(r, "ceil(1 × 0.81 / 0.7) = 2");
	r->recommendations[0].figure_count = 2;
	r->recommendations[0].figures[0] = (result_figure_t){"cpu_utilisation", 0.81};
	r->recommendations[0].figures[1] = (result_figure_t){"memory_utilisation", NAN};
	r->recommendation_count = 1;
	r->has_cost = true;
	r->cost_per_hour_usd = 0.1;
	r->cost_replicas = 2;
	r->cost_requests_per_s = 400;
	r->cost_total_per_hour_usd = 0.2;
	r->cost_per_million_requests_usd = 0.138889;
	r->has_target = true;
	r->target = (result_target_t){.url = result_strdup(r, "http://127.0.0.1:8080/metrics"),
	                              .cpu_basis = result_strdup(r, "workers"),
	                              .samples = 30,
	                              .cpu_cores_avg = 0.5,
	                              .cpu_cores_max = 0.75,
	                              .cpu_limit_cores = NAN,
	                              .workers = 2,
	                              .host_cores = 8,
	                              .cpu_capacity_cores = 2,
	                              .cpu_utilisation = 0.25,
	                              .rss_bytes_max = 1e7,
	                              .memory_limit_bytes = NAN,
	                              .memory_utilisation = NAN,
	                              .in_flight_max = 3,
	                              .pool_waits = NAN,
	                              .pool_timeouts = NAN,
	                              .pool_wait_ms_mean = NAN,
	                              .cpu_periods = NAN,
	                              .cpu_throttled_periods = NAN,
	                              .cpu_throttled_share = NAN,
	                              .cpu_throttled_s = NAN,
	                              .oom_kills = NAN};
	{
		result_point_t third = test_point(r, 3);

		third.target_cpu_cores = 0.5;
		third.target_rss_bytes = 1e7;
		CHECK_INT(result_point_update(r, 3, &third), 0);
	}
	r->generator.cpu_s = 1.5;
	r->generator.threads = 2;
	r->generator.connections = 64;
	r->generator.thread_cpu_max = 0.4;
	r->generator.thread_cpu = result_alloc(r, 2 * sizeof(double));
	r->generator.thread_cpu[0] = 0.4;
	r->generator.thread_cpu[1] = 0.375;
	r->generator.thread_cpu_count = 2;
	r->generator.saturated = true;
	r->generator.saturation = (gen_saturation_t){GEN_SAT_SCHEDULE_LAG, 4, 3, 30, 12, 0.5};
}

TEST(result_round_trip_is_exact)
{
	maker_t m;
	result_t r, back;
	buf_t first, second;
	char err[512];

	maker_init(&m, 3, 40, 7);
	build_run(&r, &m, NULL, 1700000000123ull * 1000000ull);
	fill_sections(&r);
	/* two changes of the load while it ran (gen_steer), as the document writes them: µs */
	r.markers = result_realloc(&r, NULL, 0, 2 * sizeof(*r.markers));
	r.marker_cap = r.marker_count = 2;
	r.markers[0] = (gen_marker_t){
	    .at_ns = 1500123000, .kind = GEN_STEER_RATE, .from = 100, .to = 250.5, .ramp_s = 2};
	r.markers[1] = (gen_marker_t){.at_ns = 20000001000,
	                              .kind = GEN_STEER_USERS,
	                              .from = 12.25,
	                              .to = 3,
	                              .spawn_rate = 10,
	                              .ramp_s = 0.925};
	for (int i = 0; i < 2; i++)
		r.markers[i].wall_ns = r.started_wall_ns + r.markers[i].at_ns;
	buf_init(&first, 1u << 30);
	buf_init(&second, 1u << 30);
	CHECK_INT(result_encode(&r, &first), 0);
	CHECK_INT(result_decode("round", first.data, first.len, &back, err, sizeof(err)), 0);
	CHECK_INT(back.started_wall_ns, r.started_wall_ns);
	CHECK(memcmp(&back.counters, &r.counters, sizeof(r.counters)) == 0);
	CHECK(result_hist_equal(&back.latency, &r.latency));
	/* the document gives the mean to 1 µs: the sum comes back to half of that per value */
	CHECK_NEAR(back.latency.sum, r.latency.sum, 0.5 * r.latency.total);
	CHECK_INT(back.endpoint_count, r.endpoint_count);
	for (uint32_t i = 0; i < r.endpoint_count && i < back.endpoint_count; i++) {
		CHECK_STR(back.endpoints[i].name, r.endpoints[i].name);
		CHECK(memcmp(&back.endpoints[i].counters, &r.endpoints[i].counters,
		             sizeof(gen_counters_t)) == 0);
		CHECK(result_hist_equal(&back.endpoints[i].latency, &r.endpoints[i].latency));
	}
	CHECK_INT(back.point_count, r.point_count);
	for (size_t i = 0; i < r.point_count && i < back.point_count; i++) {
		CHECK_INT(test_point(&back, i).requests, test_point(&r, i).requests);
		CHECK_INT(test_point(&back, i).p95_us, test_point(&r, i).p95_us);
		CHECK_STR(test_point(&back, i).hist, test_point(&r, i).hist);
	}
	CHECK(result_hist_equal(&back.tallies[1].hist, &r.tallies[1].hist));
	CHECK_INT(back.threshold_count, 2);
	CHECK(isnan(back.thresholds[1].value));
	CHECK(back.generator.saturated);
	CHECK_INT(back.generator.saturation.criterion, GEN_SAT_SCHEDULE_LAG);
	CHECK(back.has_target && isnan(back.target.oom_kills));
	CHECK_STR(back.assessment.profile, "basic");
	CHECK_INT(back.config.shard_index, 2);
	CHECK_INT(back.config.shard_count, 3);
	CHECK_INT(back.marker_count, 2);
	for (uint32_t i = 0; i < 2 && i < back.marker_count; i++)
		CHECK(memcmp(&back.markers[i], &r.markers[i], sizeof(r.markers[i])) == 0);
	/* and its text is the same, byte for byte */
	CHECK_INT(result_encode(&back, &second), 0);
	CHECK_INT(second.len, first.len);
	CHECK(first.len == second.len && memcmp(first.data, second.data, first.len) == 0);
	buf_free(&first);
	buf_free(&second);
	result_free(&back);
	result_free(&r);
	maker_free(&m);
}

TEST(result_decode_keeps_the_checkers_messages)
{
	static const char doc[] = "{\"tool\": \"surge\", \"totals\": {\"requests\": \"many\"}}";
	char err[512];
	result_t r;

	CHECK_INT(result_decode("a.json", doc, sizeof(doc) - 1, &r, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "a.json: totals.requests: expected a non-negative integer, got \"many\"");
	CHECK_INT(result_decode("b.json", "{", 1, &r, err, sizeof(err)), -EINVAL);
	CHECK(strncmp(err, "b.json:1:", 9) == 0);
}

TEST(result_merge_aligns_by_wall_clock_second)
{
	maker_t m1, m2;
	result_t a, b, whole;
	uint64_t start = 1700000000ull * 1000000000ull;

	maker_init(&m1, 2, 30, 1);
	maker_init(&m2, 3, 30, 2);
	build_run(&a, &m1, NULL, start + 2000000000ull); /* began 2 s after b */
	build_run(&b, &m2, NULL, start);
	result_init(&whole);
	CHECK_INT(result_merge(&whole, &a, "a.json"), 0);
	CHECK_INT(result_merge(&whole, &b, "b.json"), 0);
	CHECK_INT(whole.started_wall_ns, start);
	CHECK_INT(whole.point_count, 32);
	CHECK_NEAR(whole.duration_s, 32, 1e-9);
	CHECK_INT(whole.counters.requests, a.counters.requests + b.counters.requests);
	CHECK_INT(test_point(&whole, 0).requests, test_point(&b, 0).requests);
	CHECK_INT(test_point(&whole, 2).requests,
	          test_point(&a, 0).requests + test_point(&b, 2).requests);
	CHECK_INT(test_point(&whole, 31).requests, test_point(&a, 29).requests);
	CHECK_INT(whole.endpoint_count, 3);
	CHECK_INT(whole.shards, 2);
	CHECK_INT(whole.merged_count, 2);
	CHECK_STR(whole.merged_from[1], "b.json");
	/* the whole's histogram is the two added, bucket by bucket */
	hist_merge(m1.expect, m2.expect);
	CHECK(same_as_dense(&whole.latency, m1.expect));
	result_free(&whole);
	result_free(&a);
	result_free(&b);
	maker_free(&m1);
	maker_free(&m2);
}

TEST(result_bounds_are_counted_and_reported)
{
	result_t r;
	delta_t d;
	buf_t out;

	result_init(&r);
	memset(&d, 0, sizeof(d));
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	d.second = RESULT_POINTS_MAX; /* a second past a week */
	d.length_s = 1;
	d.counters.requests = 5;
	CHECK_INT(result_add(&r, &d), 0);
	CHECK_INT(r.dropped.points, 1);
	CHECK_INT(r.counters.requests, 5); /* the totals still count it */
	buf_init(&out, 1u << 24);
	CHECK_INT(result_encode(&r, &out), 0);
	CHECK(strstr(out.data, "\"timeline_points_dropped\": 1") != NULL);
	buf_free(&out);
	result_free(&r);
}

/* The changes of the load the deltas carry are kept in order, each once; past the bound they
 * are counted and the document says so. */
TEST(result_add_keeps_the_changes_of_the_load)
{
	static gen_marker_t many[RESULT_MARKERS_MAX + 5];
	result_t r;
	delta_t d;
	buf_t out;

	result_init(&r);
	memset(&d, 0, sizeof(d));
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	d.length_s = 1;
	for (uint32_t i = 0; i < RESULT_MARKERS_MAX + 5; i++)
		many[i] = (gen_marker_t){.at_ns = i * 1000000ull, .kind = GEN_STEER_USERS, .to = i};
	d.markers = many;
	d.marker_count = 2;
	CHECK_INT(result_add(&r, &d), 0);
	d.second = 1;
	d.markers = many + 2;
	d.marker_count = RESULT_MARKERS_MAX + 3;
	CHECK_INT(result_add(&r, &d), 0);
	CHECK_INT(r.marker_count, RESULT_MARKERS_MAX);
	CHECK_INT(r.dropped.markers, 5);
	for (uint32_t i = 0; i < r.marker_count; i++)
		CHECK(r.markers[i].to == i);
	buf_init(&out, 1u << 24);
	CHECK_INT(result_encode(&r, &out), 0);
	CHECK(strstr(out.data, "\"changes_dropped\": 5") != NULL);
	CHECK(strstr(out.data, "\"what\": \"users\"") != NULL);
	buf_free(&out);
	result_free(&r);
}

/* §1 of issue 15: an hour of per-second deltas of 20 endpoints (100 responses a second each,
 * lognormal latencies of medians 2..40 ms: ~1,000 distinct buckets a second) held in under
 * 64 MiB. Prints the figure. */
TEST(result_hour_of_20_endpoints_under_64_mib)
{
	maker_t m;
	result_t r;

	struct mallinfo2 before, after;

	maker_init(&m, 20, 100, 99);
	result_init(&r);
	before = mallinfo2();
	for (int64_t s = 0; s < 3600; s++) {
		delta_t d;

		maker_second(&m, &d, s);
		if (result_add(&r, &d) != 0)
			test_fail(__FILE__, __LINE__, "result_add failed at second %lld",
			          (long long)s);
		delta_free(&d);
	}
	CHECK_INT(result_seal(&r), 0);
	after = mallinfo2();
	CHECK_INT(r.point_count, 3600);
	CHECK_INT(r.dropped.points, 0);
	CHECK(same_as_dense(&r.latency, m.expect));
	printf("    result_memory: %zu bytes (%.1f MiB) for 3600 s x 20 endpoints, %llu "
	       "responses; the heap grew %.1f MiB meanwhile (mallinfo2)\n",
	       result_memory(&r), result_memory(&r) / 1048576.0,
	       (unsigned long long)r.counters.requests,
	       ((double)after.uordblks - (double)before.uordblks) / 1048576.0);
	CHECK(result_memory(&r) < 64u * 1024 * 1024);
	/* the accounting misses nothing big: the heap grew by about what it counts (malloc's
	 * own overhead on top; not checked under ASan, whose allocator mallinfo does not see) */
	if (after.uordblks > before.uordblks)
		CHECK(after.uordblks - before.uordblks < 2 * result_memory(&r) + (1u << 20));
	result_free(&r);
	maker_free(&m);
}

/* Found by fuzz_result_doc: documents the checker accepts but surge never writes (more
 * errors than requests, an assessment without targets, an endpoint listed twice) decode,
 * and their encoding is accepted again (and, under ASan, nothing leaks). */
TEST(result_odd_accepted_documents_encode_to_accepted_ones)
{
	static const char doc[] =
	    "{\"tool\": \"surge\", \"duration_s\": 1, \"totals\": {\"requests\": 1, \"errors\": 5, "
	    "\"error_rate\": 1}, \"assessment\": {\"verdict\": \"FAIL\"}, \"endpoints\": ["
	    "{\"name\": \"/\", \"method\": \"GET\", \"requests\": 1}, {\"name\": \"/\", "
	    "\"method\": \"GET\", \"requests\": 2}], \"histograms\": {\"GET /\": "
	    "\"HISTFAAAACR4nJNpmSzMwMDAwgABzFCaEURcm7yEwf4DROCwswYTAGexBbs=\"}}";
	char err[512] = "";
	result_t r;
	buf_t out;
	json_t *again;

	CHECK_INT(result_decode("odd.json", doc, sizeof(doc) - 1, &r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	buf_init(&out, 1u << 24);
	CHECK_INT(result_encode(&r, &out), 0);
	again = result_doc_parse("encoded", out.data, out.len, err, sizeof(err));
	CHECK(again != NULL);
	if (!again)
		printf("    %s\n", err);
	json_decref(again);
	buf_free(&out);
	result_free(&r);
}

/* A run that measured nothing: its verdict's figures are not numbers, and JUnit says 0
 * (test_run's test_nothing_measured_is_never_a_pass found "nan" in it). */
TEST(result_junit_of_nothing_measured_has_no_nan)
{
	result_t r;
	buf_t out;
	char err[256] = "";

	result_init(&r);
	r.assessment.present = true;
	r.assessment.p95_ms = NAN;
	r.assessment.target_p95_ms = 200;
	buf_init(&out, 1u << 20);
	CHECK_INT(report_junit(&r, &out, err, sizeof(err)), 0);
	CHECK(out.data && strstr(out.data, "nan") == NULL);
	CHECK(out.data && strstr(out.data, "p95 0.000 ms (target 200.000 ms)") != NULL);
	buf_free(&out);
	result_free(&r);
}

/* A run's JUnit and HDR log and those of its saved document say the same (test_outputs
 * compares the bytes): with 60 requests in 4.0004999 s the document says 4 s and 14.998/s, and
 * 60 / 14.998 = 4.00053 s would round to 4.001: the decoder picks a duration both round to. */
TEST(result_decoded_duration_gives_the_documents_figures)
{
	result_t r, back;
	buf_t a, b, ja, jb;
	char err[512] = "";

	result_init(&r);
	r.has_started_at = r.has_generator = true;
	r.started_wall_ns = 1700000000895600000ull; /* the document says .895 */
	r.version = result_strdup(&r, "0.test");
	r.duration_s = 4.0004999;
	r.counters.requests = 60;
	r.counters.status[200] = 60;
	r.assessment.present = true;
	r.assessment.target_p95_ms = 200;
	buf_init(&a, 1u << 20);
	buf_init(&b, 1u << 20);
	buf_init(&ja, 1u << 20);
	buf_init(&jb, 1u << 20);
	CHECK_INT(result_encode(&r, &a), 0);
	CHECK(strstr(a.data, "\"duration_s\": 4,") != NULL);
	CHECK(strstr(a.data, "\"rps\": 14.998,") != NULL);
	CHECK_INT(result_decode("d.json", a.data, a.len, &back, err, sizeof(err)), 0);
	CHECK_INT(result_encode(&back, &b), 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	CHECK_INT(report_junit(&r, &ja, err, sizeof(err)), 0);
	CHECK_INT(report_junit(&back, &jb, err, sizeof(err)), 0);
	CHECK(ja.len == jb.len && memcmp(ja.data, jb.data, ja.len) == 0);
	CHECK(strstr(ja.data, "time=\"4.000\"") != NULL);
	CHECK(strstr(ja.data, "throughput 15.0/s") != NULL);
	/* and the HDR log's start time */
	buf_reset(&ja);
	buf_reset(&jb);
	CHECK_INT(report_hdrlog(&r, &ja, err, sizeof(err)), 0);
	CHECK_INT(report_hdrlog(&back, &jb, err, sizeof(err)), 0);
	CHECK(ja.len == jb.len && memcmp(ja.data, jb.data, ja.len) == 0);
	CHECK(strstr(ja.data, "#[StartTime: 1700000000.895 ") != NULL);
	buf_free(&a);
	buf_free(&b);
	buf_free(&ja);
	buf_free(&jb);
	result_free(&back);
	result_free(&r);
}

/* The terminal summary renders any result: here a saved document's (the scrape fixture, with
 * --group-by-header, thresholds, a target and advice), as `surge merge` will print its own. */
TEST(result_summary_of_a_decoded_document)
{
	char err[512] = "", *text;
	size_t len;
	result_t r;
	buf_t out;

	text = read_file(FIXTURES "open.json", &len);
	CHECK(text != NULL);
	if (!text)
		return;
	CHECK_INT(result_decode("open.json", text, len, &r, err, sizeof(err)), 0);
	buf_init(&out, 1u << 20);
	CHECK_INT(report_text(&r, &out), 0);
	CHECK(strstr(out.data, "\nsurge run GET http://127.0.0.1:18431/api/items — ") != NULL);
	CHECK(strstr(out.data, "s, 2 threads, 100 connections, open model at 200.0/s\n") != NULL);
	CHECK(strstr(out.data, "  corrected ") != NULL);
	CHECK(strstr(out.data, "  service   ") != NULL);
	CHECK(strstr(out.data, "  thresholds ok   rps>10 ") != NULL);
	CHECK(strstr(out.data, "  cost       $0.1/h") != NULL);
	CHECK(strstr(out.data, "nan") == NULL);
	buf_free(&out);
	result_free(&r);
	free(text);
}

TEST(result_sparse_percentile_is_the_dense_one)
{
	hist_t *d = malloc(sizeof(hist_t));
	static const double pcts[] = {0, 0.1, 1, 25, 50, 90, 95, 99, 99.9, 99.99, 100};
	uint64_t seed = 42;

	CHECK(d != NULL);
	for (int round = 0; round < 40; round++) {
		result_hist_t h;

		hist_reset(d);
		result_hist_init(&h);
		/* empty first, then spreads from one value to six decades */
		for (int i = 0; i < round * 50; i++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			hist_record(
			    d, 1 + (int64_t)((seed >> 33) % (1u + (uint64_t)round * round * 2500)));
		}
		CHECK(result_hist_set(NULL, &h, d) == 0);
		for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
			CHECK(result_hist_percentile(&h, pcts[i]) == hist_percentile(d, pcts[i]));
		result_hist_free(NULL, &h);
	}
	free(d);
}

/* A run's histogram meets a new latency bucket second after second (the soak's endpoints,
 * for half an hour): its pairs' room grows by half at a time, so 1,600 new buckets allocate
 * it a dozen times (it was once per second that brought one: 1,600 blocks, each a little
 * larger than the one freed, and the generator's heap fragmented around them). The sum stays
 * exact, bucket for bucket, whatever order the seconds' buckets come in. */
TEST(result_hist_add_grows_its_pairs_by_half)
{
	hist_t *d = malloc(sizeof(hist_t));
	result_hist_t run, second, want;
	uint32_t was = 0, allocations = 0;
	uint64_t seed = 7;

	CHECK(d != NULL);
	hist_reset(d);
	result_hist_init(&run);
	result_hist_init(&second);
	result_hist_init(&want);
	for (int s = 0; s < 2000; s++) {
		hist_t one;

		/* one value new to the run (interleaved with the others: low and high) and a few
		 * it has seen */
		hist_reset(&one);
		hist_record(&one, s % 2 ? 1000 + s : 1000000 - 37 * s);
		for (int k = 0; k < 3; k++) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			hist_record(&one, 1000 + (int64_t)((seed >> 33) % (uint64_t)(s + 1)));
		}
		hist_merge(d, &one);
		CHECK_INT(result_hist_set(NULL, &second, &one), 0);
		CHECK_INT(result_hist_add(NULL, &run, &second), 0);
		if (run.cap != was)
			allocations++; /* a new room: a realloc, or (before) a new array */
		was = run.cap;
	}
	CHECK(run.len >= 1500);
	CHECK(allocations <= 24);
	CHECK_INT(result_hist_set(NULL, &want, d), 0);
	CHECK(result_hist_equal(&run, &want));
	CHECK(run.sum == want.sum && run.sum_sq == want.sum_sq);
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  %u pairs (room for %u): %u allocations\n", run.len, run.cap,
		        allocations);
	result_hist_free(NULL, &run);
	result_hist_free(NULL, &second);
	result_hist_free(NULL, &want);
	free(d);
}
