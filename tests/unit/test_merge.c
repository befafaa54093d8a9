/* Tests for `surge merge` (report_merge: result_merge_check, result_merge, report_judge):
 * synthetic shards built here as documents (histograms recorded with core/hist.h and encoded
 * as surge writes them), decoded as surge merge decodes them, merge into exactly the whole —
 * counts, histograms, percentiles of the union — with timelines aligned by wall-clock second
 * and thresholds judged again on the whole; the whole is encoded and read back as a tree for
 * the checks. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/hist.h"
#include "report/report.h"
#include "result/result_doc.h"
#include "test.h"

#define SHARDS 3
#define POINTS 4

static hist_t *hist_new(void)
{
	hist_t *h = malloc(sizeof(hist_t));

	hist_reset(h);
	return h;
}

static json_t *hist_text(const hist_t *h)
{
	buf_t b;
	json_t *s;

	buf_init(&b, 1 << 24);
	if (hist_encode_base64(h, &b) != 0)
		test_fail(__FILE__, __LINE__, "hist_encode_base64 failed");
	s = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return s;
}

static double ms3(double us)
{
	return round(us) / 1e3;
}

/* latency_ms as result_encode writes it. */
static json_t *latency_json(const hist_t *h)
{
	return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min",
	                 h->total ? ms3(h->min) : 0.0, "mean", ms3(hist_mean(h)), "stdev",
	                 ms3(hist_stdev(h)), "p50", ms3(hist_percentile(h, 50)), "p90",
	                 ms3(hist_percentile(h, 90)), "p95", ms3(hist_percentile(h, 95)), "p99",
	                 ms3(hist_percentile(h, 99)), "p99_9", ms3(hist_percentile(h, 99.9)), "max",
	                 ms3(h->max));
}

/* A deterministic spread of latencies in µs: mostly 50..5000, a tail to ~200 ms. */
static int64_t next_value(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	uint64_t r = *state >> 33;

	return r % 100 == 0 ? 20000 + (int64_t)(r % 180000) : 50 + (int64_t)(r % 4950);
}

typedef struct shard {
	json_t *doc;
	hist_t *all, *ep[2], *points[POINTS], *trend;
	uint64_t requests, errors;
} shard_t;

static const char *const ep_names[2] = {"/a", "/b"};
static const char *const ep_methods[2] = {"GET", "POST"};

/* One shard: n requests over two endpoints and POINTS seconds, errors of them 500s, and `seed`
 * connection resets among them (requests are responses plus transport failures). */
static void shard_build(shard_t *s, const char *started_at, uint64_t seed, uint64_t n,
                        uint64_t errors, const char *url)
{
	json_t *endpoints = json_array(), *timeline = json_array(), *hists = json_object();
	uint64_t ep_requests[2] = {0, 0}, ep_errors[2] = {0, 0}, pt_requests[POINTS] = {0};
	uint64_t state = seed;

	memset(s, 0, sizeof(*s));
	s->all = hist_new();
	s->trend = hist_new();
	for (int e = 0; e < 2; e++)
		s->ep[e] = hist_new();
	for (int p = 0; p < POINTS; p++)
		s->points[p] = hist_new();
	for (uint64_t i = 0; i < n; i++) {
		int64_t v = next_value(&state);
		int e = (int)(i % 3 == 0), p = (int)(i * POINTS / n);

		hist_record(s->all, v);
		hist_record(s->ep[e], v);
		hist_record(s->points[p], v);
		hist_record(s->trend, v / 2);
		ep_requests[e]++;
		ep_errors[e] += i < errors;
		pt_requests[p]++;
	}
	s->requests = n;
	s->errors = errors;
	json_object_set_new(hists, "all", hist_text(s->all));
	for (int e = 0; e < 2; e++) {
		char key[32];

		snprintf(key, sizeof(key), "%s %s", ep_methods[e], ep_names[e]);
		json_object_set_new(hists, key, hist_text(s->ep[e]));
		json_array_append_new(
		    endpoints,
		    json_pack("{s:s,s:s,s:I,s:I,s:f,s:o,s:{s:I,s:I}}", "name", ep_names[e],
		              "method", ep_methods[e], "requests", (json_int_t)ep_requests[e],
		              "errors", (json_int_t)ep_errors[e], "rps", ep_requests[e] / 4.0,
		              "latency_ms", latency_json(s->ep[e]), "status_codes", "200",
		              (json_int_t)(ep_requests[e] - ep_errors[e]), "500",
		              (json_int_t)ep_errors[e]));
	}
	for (int p = 0; p < POINTS; p++)
		json_array_append_new(timeline,
		                      json_pack("{s:f,s:i,s:f,s:I,s:f,s:I,s:f,s:f,s:f,s:o}", "t",
		                                p + 1.0, "users", 5, "target", 5.0, "requests",
		                                (json_int_t)pt_requests[p], "rps",
		                                (double)pt_requests[p], "errors", (json_int_t)0,
		                                "p50_ms", ms3(hist_percentile(s->points[p], 50)),
		                                "p95_ms", ms3(hist_percentile(s->points[p], 95)),
		                                "p99_ms", ms3(hist_percentile(s->points[p], 99)),
		                                "hist", hist_text(s->points[p])));
	s->doc = json_pack(
	    "{s:s,s:s,s:s,s:f,s:b,s:{s:s,s:s,s:s,s:i,s:i},"
	    "s:{s:I,s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I},s:o,s:{s:I,s:I},s:{s:I,s:I},s:o,s:o,"
	    "s:[{s:s,s:f,s:b},{s:s,s:f,s:b},{s:s,s:f,s:b}],"
	    "s:{s:s,s:s,s:{s:f,s:f,s:f},s:b},s:{s:f,s:I,s:b,s:I,s:I,s:[f]},"
	    "s:[{s:s,s:I,s:I}],s:{s:{s:I},s:{s:{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:o}}},"
	    "s:o,s:[{s:s}]}",
	    "tool", "surge", "version", "test", "started_at", started_at, "duration_s", 4.0,
	    "interrupted", 0, "config", "url", url, "method", "GET", "model", "closed",
	    "connections", 5, "threads", 1, "totals", "requests", (json_int_t)n, "responses",
	    (json_int_t)(n - seed), "errors", (json_int_t)errors, "error_rate",
	    (double)errors / (double)n, "rps", n / 4.0, "bytes_in", (json_int_t)(n * 100),
	    "bytes_out", (json_int_t)(n * 40), "dropped", (json_int_t)0, "late", (json_int_t)0,
	    "latency_ms", latency_json(s->all), "status_codes", "200", (json_int_t)(n - errors),
	    "500", (json_int_t)errors, "errors_by_kind", "reset", (json_int_t)seed, "read_timeout",
	    (json_int_t)0, "endpoints", endpoints, "timeline", timeline, "thresholds", "expr",
	    "p99<1s", "value", 1.0, "ok", 1, "expr", "rps<100", "value", n / 4.0, "ok", 1, "expr",
	    "name:/b:p95<2s", "value", 1.0, "ok", 1, "assessment", "verdict", "PASS",
	    "latency_class", "good", "targets", "p95_ms", 200.0, "max_error_rate", 0.05, "min_rps",
	    0.0, "aborted", 0, "generator", "cpu_s", 1.5, "max_rss_bytes",
	    (json_int_t)(1000 * seed), "saturated", 0, "threads", (json_int_t)1, "connections",
	    (json_int_t)5, "thread_cpu", 0.4, "checks", "name", "status is 200", "passes",
	    (json_int_t)(n - errors), "fails", (json_int_t)errors, "metrics", "counters", "orders",
	    (json_int_t)seed, "trends", "ttfb", "count", (json_int_t)s->trend->total, "min",
	    ms3(s->trend->min), "mean", ms3(hist_mean(s->trend)), "p50",
	    ms3(hist_percentile(s->trend, 50)), "p90", ms3(hist_percentile(s->trend, 90)), "p95",
	    ms3(hist_percentile(s->trend, 95)), "p99", ms3(hist_percentile(s->trend, 99)), "max",
	    ms3(s->trend->max), "histogram", hist_text(s->trend), "histograms", hists,
	    "recommendations", "title", "scale out");
	if (!s->doc)
		test_fail(__FILE__, __LINE__, "json_pack of the shard failed");
}

static void shard_free(shard_t *s)
{
	json_decref(s->doc);
	free(s->all);
	free(s->trend);
	for (int e = 0; e < 2; e++)
		free(s->ep[e]);
	for (int p = 0; p < POINTS; p++)
		free(s->points[p]);
}

static const char *const names[SHARDS] = {"a.json", "b.json", "c.json"};

/* What surge merge does with the files docs[0..n): each decoded (the checks of a load), then
 * report_merge; the whole's document read back as a tree. NULL with err set on a refusal. */
static json_t *merge_docs(json_t *const *docs, const char *const *file_names, size_t n, char *err,
                          size_t errlen)
{
	result_t parts[SHARDS + 1], whole;
	json_t *merged = NULL;
	size_t decoded = 0;
	buf_t out;

	buf_init(&out, 1u << 28);
	result_init(&whole);
	for (; decoded < n; decoded++) {
		char *text = json_dumps(docs[decoded], JSON_COMPACT | JSON_REAL_PRECISION(17));
		int rc = text ? result_decode(file_names[decoded], text, strlen(text),
		                              &parts[decoded], err, errlen)
		              : -ENOMEM;

		free(text);
		if (rc < 0) {
			if (!text)
				snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (report_merge(parts, file_names, n, &whole, err, errlen) < 0)
		goto out;
	if (result_encode(&whole, &out) == 0)
		merged = json_loadb(out.data, out.len, 0, NULL);
	if (!merged)
		snprintf(err, errlen, "the merged document did not encode");
out:
	for (size_t i = 0; i < decoded; i++)
		result_free(&parts[i]);
	result_free(&whole);
	buf_free(&out);
	return merged;
}

static json_t *merge_shards(shard_t *s, size_t n, char *err, size_t errlen)
{
	json_t *docs[SHARDS];

	for (size_t i = 0; i < n; i++)
		docs[i] = s[i].doc;
	return merge_docs(docs, names, n, err, errlen);
}

/* The counts of histograms[key] of doc equal those of want, bucket by bucket. */
static void check_histogram(const json_t *doc, const char *key, const hist_t *want)
{
	hist_t *got = hist_new();
	int rc = result_doc_histogram(doc, key, got), diff = 0;

	CHECK_INT(rc, 0);
	CHECK_INT(got->total, want->total);
	for (int i = 0; i < HIST_COUNTS_LEN; i++)
		diff += got->counts[i] != want->counts[i];
	if (diff)
		test_fail(__FILE__, __LINE__, "histograms[%s]: %d buckets differ", key, diff);
	free(got);
}

/* latency_ms of a merged scope against the union histogram: percentiles exactly. */
static void check_percentiles(const json_t *lat, const hist_t *u)
{
	CHECK_NEAR(result_doc_number(lat, "p50", -1), ms3(hist_percentile(u, 50)), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "p90", -1), ms3(hist_percentile(u, 90)), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "p95", -1), ms3(hist_percentile(u, 95)), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "p99", -1), ms3(hist_percentile(u, 99)), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "p99_9", -1), ms3(hist_percentile(u, 99.9)), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "max", -1), ms3(u->max), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "min", -1), ms3(u->min), 1e-9);
	CHECK_NEAR(result_doc_number(lat, "mean", -1), hist_mean(u) / 1e3, 0.0015);
	CHECK_NEAR(result_doc_number(lat, "stdev", -1), hist_stdev(u) / 1e3, 0.0015);
}

static void build_three(shard_t *s)
{
	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 5000, 7, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 3001, 0, "http://x/");
	shard_build(&s[2], "2026-11-24T01:00:00.000Z", 3, 7777, 120, "http://x/");
}

TEST(merge_counts_and_histograms_equal_the_whole)
{
	shard_t s[SHARDS];
	hist_t *all = hist_new(), *ep[2] = {hist_new(), hist_new()};
	uint64_t requests = 0, errors = 0;
	char err[256] = "";
	json_t *m;

	build_three(s);
	for (int i = 0; i < SHARDS; i++) {
		json_object_set_new(s[i].doc, "cost",
		                    json_pack("{s:f,s:i,s:f}", "per_hour_usd", 2.0, "replicas", 3,
		                              "per_million_requests_usd", 99.0));
		hist_merge(all, s[i].all);
		for (int e = 0; e < 2; e++)
			hist_merge(ep[e], s[i].ep[e]);
		requests += s[i].requests;
		errors += s[i].errors;
	}
	m = merge_shards(s, SHARDS, err, sizeof(err));
	CHECK(m != NULL);
	if (!m) {
		test_fail(__FILE__, __LINE__, "merge failed: %s", err);
		goto out;
	}
	const json_t *totals = result_doc_object(m, "totals");
	CHECK_INT(result_doc_count(totals, "requests", 0), requests);
	CHECK_INT(result_doc_count(totals, "responses", 0), requests - 6); /* 6 resets */
	CHECK_INT(result_doc_count(totals, "errors", 0), errors);
	CHECK_INT(result_doc_count(totals, "bytes_in", 0), requests * 100);
	CHECK_NEAR(result_doc_number(totals, "error_rate", 0), (double)errors / requests, 1e-6);
	CHECK_NEAR(result_doc_number(totals, "rps", 0), requests / 4.0, 1e-3);
	CHECK_NEAR(result_doc_number(m, "duration_s", 0), 4.0, 1e-9);
	CHECK_INT(result_doc_count(result_doc_object(m, "status_codes"), "200", 0),
	          requests - errors);
	CHECK_INT(result_doc_count(result_doc_object(m, "status_codes"), "500", 0), errors);
	CHECK_INT(result_doc_count(result_doc_object(m, "errors_by_kind"), "reset", 0), 6);
	check_histogram(m, "all", all);
	check_percentiles(result_doc_object(m, "latency_ms"), all);

	/* endpoints by (method, name), each with its own union */
	const json_t *eps = result_doc_array(m, "endpoints");
	CHECK_INT(json_array_size(eps), 2);
	for (int e = 0; e < 2; e++) {
		const json_t *ep_doc = json_array_get(eps, (size_t)e);
		char key[32];

		snprintf(key, sizeof(key), "%s %s", ep_methods[e], ep_names[e]);
		CHECK_STR(result_doc_string(ep_doc, "name", ""), ep_names[e]);
		CHECK_INT(result_doc_count(ep_doc, "requests", 0), ep[e]->total);
		check_histogram(m, key, ep[e]);
		check_percentiles(result_doc_object(ep_doc, "latency_ms"), ep[e]);
	}
	CHECK_INT(result_doc_count(json_array_get(result_doc_array(m, "checks"), 0), "passes", 0),
	          requests - errors);
	CHECK_INT(result_doc_count(json_array_get(result_doc_array(m, "checks"), 0), "fails", 0),
	          errors);
	CHECK_INT(result_doc_path_number(m, "metrics.counters.orders", 0), 6);
	CHECK_INT(result_doc_path_number(m, "metrics.trends.ttfb.count", 0), requests);

	/* generator: CPU summed, memory the largest; provenance; recommendations dropped */
	CHECK_NEAR(result_doc_path_number(m, "generator.cpu_s", 0), 4.5, 1e-9);
	CHECK_INT(result_doc_path_number(m, "generator.max_rss_bytes", 0), 3000);
	CHECK_INT(result_doc_path_number(m, "generator.threads", 0), 3);
	CHECK_INT(json_array_size(result_doc_path(m, "generator.thread_cpu")), 3);
	CHECK_INT(result_doc_count(m, "shards", 0), 3);
	CHECK_STR(json_string_value(json_array_get(result_doc_array(m, "merged_from"), 2)),
	          "c.json");
	/* advice for the whole, not one shard's: recomputed, the cost at the whole's rate */
	const json_t *recs = result_doc_array(m, "recommendations");
	CHECK(json_array_size(recs) >= 1);
	CHECK(strcmp(result_doc_string(json_array_get(recs, 0), "title", "scale out"),
	             "scale out") != 0);
	CHECK_NEAR(result_doc_path_number(m, "cost.requests_per_s", 0), requests / 4.0, 1e-3);
	CHECK_NEAR(result_doc_path_number(m, "cost.per_million_requests_usd", 0),
	           2.0 * 3 / (requests / 4.0 * 3600) * 1e6, 1e-5);
	CHECK_INT(result_doc_path_number(m, "config.connections", 0), 15);
	json_decref(m);
out:
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
	free(all);
	free(ep[0]);
	free(ep[1]);
}

TEST(merge_in_any_order_gives_the_same_figures)
{
	shard_t s[SHARDS];
	json_t *docs[SHARDS], *a, *b;
	char err[256] = "";

	build_three(s);
	a = merge_shards(s, SHARDS, err, sizeof(err));
	docs[0] = s[2].doc, docs[1] = s[0].doc, docs[2] = s[1].doc;
	b = merge_docs(docs, names, SHARDS, err, sizeof(err));
	CHECK(a && b);
	if (a && b) {
		static const char *const same[] = {"totals",     "latency_ms", "histograms",
		                                   "thresholds", "timeline",   "status_codes"};

		for (size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++)
			if (!json_equal(json_object_get(a, same[k]), json_object_get(b, same[k])))
				test_fail(__FILE__, __LINE__, "%s differs by merge order", same[k]);
	}
	json_decref(a);
	json_decref(b);
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
}

/* The whole is saturated when a shard was, and says why with that shard's reason. */
TEST(merge_keeps_the_saturated_shards_reason)
{
	shard_t s[SHARDS];
	char err[256] = "";
	json_t *m, *g;

	build_three(s);
	m = merge_shards(s, SHARDS, err, sizeof(err));
	CHECK(m && result_doc_path(m, "generator.saturation") &&
	      json_is_null(result_doc_path(m, "generator.saturation")));
	json_decref(m);
	g = json_object_get(s[1].doc, "generator");
	json_object_set_new(g, "saturated", json_true());
	json_object_set_new(g, "saturation",
	                    json_pack("{s:s,s:i,s:i,s:i,s:f,s:f,s:f}", "criterion", "thread_cpu",
	                              "seconds", 3, "consecutive_s", 3, "run_seconds", 4, "first_s",
	                              1.0, "worst", 0.99, "bound", 0.95));
	m = merge_shards(s, SHARDS, err, sizeof(err));
	CHECK(m != NULL);
	if (m) {
		CHECK(json_is_true(result_doc_path(m, "generator.saturated")));
		CHECK_STR(
		    result_doc_string(result_doc_path(m, "generator.saturation"), "criterion", ""),
		    "thread_cpu");
		CHECK_INT(result_doc_path_number(m, "generator.saturation.seconds", 0), 3);
		CHECK_INT(result_doc_path_number(m, "generator.saturation.shard", -1), 1);
	}
	json_decref(m);
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
}

TEST(merge_aligns_timelines_by_wall_clock)
{
	shard_t s[SHARDS];
	hist_t *u = hist_new();
	char err[256] = "";
	json_t *m;

	/* b starts 1.4 s after a (rounds to 1), c 2.6 s after (rounds to 3) */
	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 4000, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:01.400Z", 2, 4000, 0, "http://x/");
	shard_build(&s[2], "2026-11-24T03:00:02.600+02:00", 3, 4000, 0, "http://x/");
	m = merge_shards(s, SHARDS, err, sizeof(err));
	if (!m) {
		test_fail(__FILE__, __LINE__, "merge failed: %s", err);
		goto out;
	}
	const json_t *tl = result_doc_array(m, "timeline");
	uint64_t sum = 0;
	size_t i;
	const json_t *p;

	CHECK_STR(result_doc_string(m, "started_at", ""), "2026-11-24T01:00:00.000Z");
	CHECK_NEAR(result_doc_number(m, "duration_s", 0), 6.6, 1e-9);
	CHECK_INT(json_array_size(tl), 7); /* a: 0..3, b: 1..4, c: 3..6 */
	json_array_foreach(tl, i, p)
	{
		sum += result_doc_count(p, "requests", 0);
	}
	CHECK_INT(sum, 12000);
	/* second 0: a only; second 1: a + b; second 3: a + b + c; second 6: c only */
	CHECK_INT(result_doc_count(json_array_get(tl, 0), "requests", 0), 1000);
	CHECK_INT(result_doc_count(json_array_get(tl, 0), "users", 0), 5);
	CHECK_INT(result_doc_count(json_array_get(tl, 1), "requests", 0), 2000);
	CHECK_INT(result_doc_count(json_array_get(tl, 3), "requests", 0), 3000);
	CHECK_INT(result_doc_count(json_array_get(tl, 3), "users", 0), 15);
	CHECK_INT(result_doc_count(json_array_get(tl, 6), "requests", 0), 1000);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 0), "t", 0), 1.0, 1e-9);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 5), "t", 0), 6.0, 1e-9);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 6), "t", 0), 6.6, 1e-9);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 6), "rps", 0), 1000 / 0.6, 1e-3);
	/* second 3's percentiles are those of the union of a's 4th, b's 3rd and c's 1st second */
	hist_merge(u, s[0].points[3]);
	hist_merge(u, s[1].points[2]);
	hist_merge(u, s[2].points[0]);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 3), "p99_ms", 0),
	           ms3(hist_percentile(u, 99)), 1e-9);
	CHECK_NEAR(result_doc_number(json_array_get(tl, 3), "p50_ms", 0),
	           ms3(hist_percentile(u, 50)), 1e-9);
	json_t *one = json_pack("{s:{s:O}}", "histograms", "x",
	                        json_object_get(json_array_get(tl, 3), "hist"));
	check_histogram(one, "x", u);
	json_decref(one);
	/* rps over the whole span */
	CHECK_NEAR(result_doc_path_number(m, "totals.rps", 0), 12000 / 6.6, 1e-3);
	json_decref(m);
out:
	free(u);
	for (int i2 = 0; i2 < SHARDS; i2++)
		shard_free(&s[i2]);
}

TEST(merge_judges_thresholds_on_the_whole)
{
	shard_t s[SHARDS];
	hist_t *b = hist_new();
	char err[256] = "";
	json_t *m;

	/* each shard: 300 requests in 4 s = 75/s < 100; the whole: 225/s */
	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 300, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 300, 0, "http://x/");
	shard_build(&s[2], "2026-11-24T01:00:00.000Z", 3, 300, 0, "http://x/");
	m = merge_shards(s, SHARDS, err, sizeof(err));
	if (!m) {
		test_fail(__FILE__, __LINE__, "merge failed: %s", err);
		goto out;
	}
	const json_t *th = result_doc_array(m, "thresholds");
	CHECK_INT(json_array_size(th), 3);
	CHECK_STR(result_doc_string(json_array_get(th, 1), "expr", ""), "rps<100");
	CHECK_NEAR(result_doc_number(json_array_get(th, 1), "value", 0), 225, 1e-6);
	CHECK(!result_doc_bool(json_array_get(th, 1), "ok", true));
	CHECK(result_doc_bool(json_array_get(th, 0), "ok", false));
	/* per endpoint: the union of the shards' /b */
	for (int i = 0; i < SHARDS; i++)
		hist_merge(b, s[i].ep[1]);
	CHECK_NEAR(result_doc_number(json_array_get(th, 2), "value", 0),
	           hist_percentile(b, 95) / 1e3, 1e-6);
	CHECK(result_doc_bool(json_array_get(th, 2), "ok", false));
	CHECK_STR(result_doc_path(m, "assessment.verdict")
	              ? json_string_value(result_doc_path(m, "assessment.verdict"))
	              : NULL,
	          "FAIL");
	CHECK_STR(json_string_value(result_doc_path(m, "assessment.thresholds")), "FAIL");
	json_decref(m);
out:
	free(b);
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
}

TEST(merge_rejects_other_runs_and_bad_histograms)
{
	shard_t s[2];
	char err[256] = "";
	json_t *m;

	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 100, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 100, 0, "http://y/");
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m == NULL);
	CHECK(strstr(err, "b.json") && strstr(err, "config.url") && strstr(err, "http://y/"));
	json_decref(m);

	json_object_set_new(json_object_get(s[1].doc, "config"), "url", json_string("http://x/"));
	json_object_set_new(json_object_get(s[1].doc, "histograms"), "all",
	                    json_string("HISTFAAAnot-base64!"));
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m == NULL);
	CHECK(strstr(err, "b.json") && strstr(err, "not a valid histogram"));
	json_decref(m);

	json_object_del(json_object_get(s[1].doc, "histograms"), "all");
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m == NULL);
	CHECK(strstr(err, "b.json") && strstr(err, "histograms.all"));
	json_decref(m);
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* The same shard under two names (a copy) would double its counts; two shards that started
 * in the same millisecond are still two (the other tests merge such shards). */
TEST(merge_refuses_the_same_shard_twice)
{
	shard_t s[2];
	json_t *docs[3], *m;
	char err[256] = "";
	const char *const three[] = {"a.json", "b.json", "copy.json"};

	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 100, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 100, 0, "http://x/");
	docs[0] = s[0].doc;
	docs[1] = s[1].doc;
	docs[2] = json_deep_copy(s[0].doc);
	m = merge_docs(docs, three, 3, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "a.json and copy.json are the same shard (same start, duration, totals and "
	               "histograms): merging it twice would count its requests twice");
	json_decref(m);
	/* a copy whose unrelated keys differ (a note, another version) is still the same shard */
	json_object_set_new(docs[2], "version", json_string("other"));
	m = merge_docs(docs, three, 3, err, sizeof(err));
	CHECK(m == NULL && strstr(err, "a.json and copy.json"));
	json_decref(m);
	json_decref(docs[2]);
	m = merge_docs(docs, three, 2, err, sizeof(err));
	CHECK(m != NULL);
	/* the whole given again with one of its shards */
	docs[2] = m;
	m = merge_docs(docs, three, 3, err, sizeof(err));
	CHECK(m == NULL);
	CHECK_STR(err, "copy.json was merged from a.json, which is given too: its requests would "
	               "count twice");
	json_decref(docs[2]);
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* Documents from before per-endpoint and per-second histograms: one endpoint lends "all",
 * and per-second percentiles become upper bounds. */
TEST(merge_reads_older_documents)
{
	shard_t s[2];
	hist_t *all = hist_new();
	char err[256] = "";
	json_t *m;

	for (int i = 0; i < 2; i++) {
		json_t *eps;
		size_t k;
		json_t *p;

		shard_build(&s[i], "2026-11-24T01:00:00.000Z", (uint64_t)i + 1, 1000, 0,
		            "http://x/");
		eps = json_object_get(s[i].doc, "endpoints");
		json_array_remove(eps, 1);
		json_object_set_new(json_array_get(eps, 0), "latency_ms", latency_json(s[i].all));
		json_object_set_new(s[i].doc, "histograms",
		                    json_pack("{s:o}", "all", hist_text(s[i].all)));
		json_array_foreach(json_object_get(s[i].doc, "timeline"), k, p)
		{
			json_object_del(p, "hist");
		}
		json_object_del(s[i].doc, "checks");
		json_object_del(s[i].doc, "metrics");
		hist_merge(all, s[i].all);
	}
	m = merge_shards(s, 2, err, sizeof(err));
	if (!m) {
		test_fail(__FILE__, __LINE__, "merge failed: %s", err);
		goto out;
	}
	check_percentiles(
	    result_doc_object(json_array_get(result_doc_array(m, "endpoints"), 0), "latency_ms"),
	    all);
	const json_t *p0 = json_array_get(result_doc_array(m, "timeline"), 0);
	CHECK_NEAR(result_doc_number(p0, "p99_ms", 0),
	           fmax(ms3(hist_percentile(s[0].points[0], 99)),
	                ms3(hist_percentile(s[1].points[0], 99))),
	           1e-9);
	CHECK(result_doc_get(p0, "hist") == NULL);
	/* none had checks or metrics: the whole has none either (written empty, as a run's) */
	CHECK(json_array_size(result_doc_array(m, "checks")) == 0);
	CHECK(json_object_size(result_doc_path(m, "metrics.counters")) == 0);
	json_decref(m);
out:
	free(all);
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* Several endpoints written without their histograms: each merged endpoint's percentiles are
 * the largest shard's (an upper bound, flagged approximate, no histogram written), its moments
 * exact; a threshold on it cannot be judged exactly and fails with no value. service_ms never
 * has a histogram: its merge is approximate the same way. */
TEST(merge_endpoints_without_histograms_are_upper_bounds)
{
	shard_t s[2];
	char err[256] = "";
	double p99 = 0, max = 0, sum = 0;
	uint64_t n = 0;
	json_t *m;

	for (int i = 0; i < 2; i++) {
		json_t *hists;

		shard_build(&s[i], "2026-11-24T01:00:00.000Z", (uint64_t)i + 1, 1000, 0,
		            "http://x/");
		hists = json_object_get(s[i].doc, "histograms");
		json_object_del(hists, "GET /a");
		json_object_del(hists, "POST /b");
		json_object_set_new(s[i].doc, "service_ms", latency_json(s[i].all));
		p99 = fmax(p99, ms3(hist_percentile(s[i].ep[1], 99)));
		max = fmax(max, ms3(s[i].ep[1]->max));
		sum += ms3(hist_mean(s[i].ep[1])) * (double)s[i].ep[1]->total;
		n += s[i].ep[1]->total;
	}
	m = merge_shards(s, 2, err, sizeof(err));
	if (!m) {
		test_fail(__FILE__, __LINE__, "merge failed: %s", err);
		goto out;
	}
	const json_t *b = json_array_get(result_doc_array(m, "endpoints"), 1);
	const json_t *lat = result_doc_object(b, "latency_ms");

	CHECK_STR(result_doc_string(b, "name", ""), "/b");
	CHECK(json_is_true(result_doc_get(lat, "approximate")));
	CHECK_NEAR(result_doc_number(lat, "p99", -1), p99, 1e-9);
	CHECK_NEAR(result_doc_number(lat, "max", -1), max, 1e-9);
	CHECK_NEAR(result_doc_number(lat, "mean", -1), sum / (double)n, 0.0015);
	CHECK(result_doc_get(result_doc_object(m, "histograms"), "POST /b") == NULL);
	CHECK(result_doc_get(result_doc_object(m, "histograms"), "all") != NULL);
	/* name:/b:p95<2s: not exact, so not judged: no value, failed */
	CHECK(json_is_null(
	    result_doc_get(json_array_get(result_doc_array(m, "thresholds"), 2), "value")));
	CHECK(!result_doc_bool(json_array_get(result_doc_array(m, "thresholds"), 2), "ok", true));
	CHECK(json_is_true(result_doc_path(m, "service_ms.approximate")));
	CHECK_NEAR(result_doc_path_number(m, "service_ms.max", -1),
	           fmax(ms3(s[0].all->max), ms3(s[1].all->max)), 1e-9);
	json_decref(m);
out:
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* Shards that started 0.3 s apart: each one's seconds are rounded once against the earliest
 * start, whatever the order they are given in (rounded against whichever was merged first,
 * the third shard's seconds landed one early in the order b, c, a). */
TEST(merge_order_does_not_move_a_shards_seconds)
{
	shard_t s[SHARDS];
	json_t *docs[SHARDS], *a, *b;
	const char *const order[SHARDS] = {"b.json", "c.json", "a.json"};
	char err[256] = "";

	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 4000, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.300Z", 2, 4000, 0, "http://x/");
	shard_build(&s[2], "2026-11-24T01:00:00.600Z", 3, 4000, 0, "http://x/");
	a = merge_shards(s, SHARDS, err, sizeof(err));
	docs[0] = s[1].doc, docs[1] = s[2].doc, docs[2] = s[0].doc;
	b = merge_docs(docs, order, SHARDS, err, sizeof(err));
	CHECK(a && b);
	if (a && b) {
		const json_t *tl = result_doc_array(a, "timeline");

		CHECK_INT(json_array_size(tl), 5); /* a, b: seconds 0..3; c: 1..4 */
		CHECK_INT(result_doc_count(json_array_get(tl, 0), "requests", 0), 2000);
		CHECK_INT(result_doc_count(json_array_get(tl, 4), "requests", 0), 1000);
		CHECK(json_equal(tl, result_doc_array(b, "timeline")));
	}
	json_decref(a);
	json_decref(b);
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
}

/* The whole is judged by what every shard was asked: shards with other thresholds are not
 * parts of one test, and the merge says which file and which expression. */
TEST(merge_refuses_shards_with_other_thresholds)
{
	shard_t s[2];
	char err[256] = "";
	json_t *m;

	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 100, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 100, 0, "http://x/");
	json_array_remove(json_object_get(s[1].doc, "thresholds"), 1);
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m == NULL);
	CHECK(strstr(err, "b.json: thresholds: 'rps<100' of a.json is not one of b.json's") !=
	      NULL);
	json_decref(m);
	/* the same expressions in another order are the same thresholds */
	json_array_insert_new(json_object_get(s[1].doc, "thresholds"), 0,
	                      json_pack("{s:s,s:f,s:b}", "expr", "rps<100", "value", 1.0, "ok", 1));
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m != NULL);
	json_decref(m);
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* A second in which a shard had no response carries no "hist": it adds nothing, and the
 * merged second keeps exact percentiles. */
TEST(merge_timeline_second_without_responses)
{
	shard_t s[2];
	char err[256] = "";
	json_t *m, *p;

	shard_build(&s[0], "2026-11-24T01:00:00.000Z", 1, 4000, 0, "http://x/");
	shard_build(&s[1], "2026-11-24T01:00:00.000Z", 2, 4000, 0, "http://x/");
	p = json_array_get(json_object_get(s[1].doc, "timeline"), 1);
	json_object_del(p, "hist");
	json_object_set_new(p, "requests", json_integer(0));
	json_object_set_new(p, "p50_ms", json_real(0));
	json_object_set_new(p, "p95_ms", json_real(0));
	json_object_set_new(p, "p99_ms", json_real(0));
	m = merge_shards(s, 2, err, sizeof(err));
	CHECK(m != NULL);
	if (m) {
		const json_t *q = json_array_get(result_doc_array(m, "timeline"), 1);

		CHECK_NEAR(result_doc_number(q, "p99_ms", 0),
		           ms3(hist_percentile(s[0].points[1], 99)), 1e-9);
		CHECK(json_is_string(result_doc_get(q, "hist")));
		CHECK_INT(result_doc_count(q, "requests", 0), 1000);
	}
	json_decref(m);
	for (int i = 0; i < 2; i++)
		shard_free(&s[i]);
}

/* jansson's Nth allocation fails, through jansson's own hook (json_set_alloc_funcs), for every
 * N a merge makes (reading the shards' documents, and here writing and reading back the
 * whole's). A merge may fail, but never touches what jansson freed: the merge of jansson trees
 * it replaced once used an endpoint it had failed to append (found by make alloc-fail; make
 * asan reports such a use). */
static unsigned long jansson_calls, jansson_fail_at;

static void *failing_malloc(size_t n)
{
	return ++jansson_calls == jansson_fail_at ? NULL : malloc(n);
}

TEST(merge_survives_each_failed_jansson_allocation)
{
	shard_t s[SHARDS];
	char err[256];
	unsigned long total;

	build_three(s);
	jansson_calls = jansson_fail_at = 0;
	json_set_alloc_funcs(failing_malloc, free);
	json_decref(merge_shards(s, SHARDS, err, sizeof(err)));
	total = jansson_calls;
	CHECK(total > 100);
	for (jansson_fail_at = 1; jansson_fail_at <= total; jansson_fail_at++) {
		jansson_calls = 0;
		json_decref(merge_shards(s, SHARDS, err, sizeof(err)));
	}
	json_set_alloc_funcs(malloc, free);
	for (int i = 0; i < SHARDS; i++)
		shard_free(&s[i]);
}
