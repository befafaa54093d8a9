/* Tests for report/report_compare on decoded results: an identical run passes, an injected p95
 * regression and an error-rate rise are flagged, microsecond noise under the absolute floor is
 * not, endpoints found in one run only are listed, endpoints are matched by method and name,
 * percentiles come from the histograms where a document has them, and every renderer says
 * what the verdict is. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hist.h"
#include "report/report_compare.h"
#include "result/result.h"
#include "test.h"

/* A result document with figures given directly: the whole run and one endpoint "GET /api"
 * share them (no histograms: compare reads the figures as written); a second endpoint name
 * (or NULL) is added with fixed figures. The run lasts requests / rps seconds. */
static json_t *doc(double rps, uint64_t requests, uint64_t errors, double p95, double p99,
                   const char *other)
{
	json_t *lat = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min", 0.01, "mean", p95 / 2,
	                        "p50", p95 / 3, "p90", p95 * 0.9, "p95", p95, "p99", p99, "p99_9",
	                        p99 * 1.1, "max", p99 * 2);
	json_t *d = json_pack(
	    "{s:s,s:s,s:f,s:{s:s},s:{s:I,s:I,s:f,s:f},s:O,s:[{s:s,s:s,s:I,s:I,s:f,s:O}]}", "tool",
	    "surge", "started_at", "2026-11-24T01:00:00.000Z", "duration_s",
	    rps > 0 ? (double)requests / rps : 1.0, "config", "url", "http://x/api", "totals",
	    "requests", (json_int_t)requests, "errors", (json_int_t)errors, "error_rate",
	    requests ? (double)errors / (double)requests : 0.0, "rps", rps, "latency_ms", lat,
	    "endpoints", "name", "/api", "method", "GET", "requests", (json_int_t)requests,
	    "errors", (json_int_t)errors, "rps", rps, "latency_ms", lat);

	if (other)
		json_array_append_new(json_object_get(d, "endpoints"),
		                      json_pack("{s:s,s:s,s:I,s:I,s:f,s:O}", "name", other,
		                                "method", "GET", "requests", (json_int_t)10,
		                                "errors", (json_int_t)0, "rps", 1.0, "latency_ms",
		                                lat));
	json_decref(lat);
	if (!d)
		test_fail(__FILE__, __LINE__, "json_pack failed");
	return d;
}

/* The document read as `surge compare` reads a file: into the typed result. */
static void decode(const json_t *d, result_t *r)
{
	char err[512] = "", *text = json_dumps(d, JSON_COMPACT | JSON_REAL_PRECISION(17));

	CHECK(text != NULL);
	CHECK_INT(result_decode("doc.json", text, strlen(text), r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	free(text);
}

static int compare_with(json_t *base, json_t *next, const compare_options_t *o, compare_result_t *r)
{
	result_t b, n;

	decode(base, &b);
	decode(next, &n);
	CHECK_INT(report_compare(&b, &n, "base.json", "new.json", o, r), 0);
	result_free(&b);
	result_free(&n);
	json_decref(base);
	json_decref(next);
	return r->regressions;
}

static int compare_docs(json_t *base, json_t *next, compare_result_t *r)
{
	compare_options_t o;

	compare_defaults(&o);
	return compare_with(base, next, &o, r);
}

static compare_verdict_t verdict_of(const compare_result_t *r, size_t scope, compare_metric_t m)
{
	return r->scopes[scope].rows[m].verdict;
}

TEST(compare_identical_runs_pass)
{
	compare_result_t r;

	CHECK_INT(
	    compare_docs(doc(1000, 10000, 5, 12, 40, "/x"), doc(1000, 10000, 5, 12, 40, "/x"), &r),
	    0);
	CHECK_INT(r.scope_count, 3);
	CHECK_STR(r.scopes[0].name, "all");
	CHECK_STR(r.scopes[1].name, "GET /api");
	for (size_t s = 0; s < r.scope_count; s++) {
		CHECK_INT(r.scopes[s].presence, CMP_BOTH);
		for (int m = 0; m < CMP_METRIC_COUNT; m++) {
			CHECK_INT(r.scopes[s].rows[m].verdict, CMP_OK);
			CHECK_NEAR(r.scopes[s].rows[m].delta, 0, 0);
		}
	}
	compare_result_free(&r);
}

TEST(compare_flags_a_p95_regression)
{
	compare_result_t r;

	/* p95 12 ms -> 20 ms: +67 %, +8 ms; p99 unchanged */
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 5, 12, 40, NULL), doc(1000, 10000, 5, 20, 40, NULL), &r),
	    2); /* the whole run and its endpoint */
	CHECK_INT(verdict_of(&r, 0, CMP_P95), CMP_REGRESSION);
	CHECK_INT(verdict_of(&r, 1, CMP_P95), CMP_REGRESSION);
	CHECK_INT(verdict_of(&r, 0, CMP_P99), CMP_OK);
	CHECK_INT(verdict_of(&r, 0, CMP_P50), CMP_OK); /* shown, not judged */
	CHECK_NEAR(r.scopes[0].rows[CMP_P95].delta, 8, 1e-9);
	CHECK_NEAR(r.scopes[0].rows[CMP_P95].relative, 8.0 / 12, 1e-9);
	compare_result_free(&r);

	/* within the tolerance: 12 -> 13 ms is +8 % */
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 5, 12, 40, NULL), doc(1000, 10000, 5, 13, 43, NULL), &r),
	    0);
	compare_result_free(&r);
	/* better: flagged as improved, not a regression */
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 5, 20, 40, NULL), doc(1000, 10000, 5, 12, 20, NULL), &r),
	    0);
	CHECK_INT(verdict_of(&r, 0, CMP_P95), CMP_IMPROVED);
	compare_result_free(&r);
}

TEST(compare_ignores_microsecond_noise_under_the_floor)
{
	compare_result_t r;
	compare_options_t o;

	/* 0.05 ms -> 0.06 ms is +20 % but 10 µs: not a regression with the 1 ms floor */
	CHECK_INT(compare_docs(doc(1000, 10000, 0, 0.05, 0.08, NULL),
	                       doc(1000, 10000, 0, 0.06, 0.1, NULL), &r),
	          0);
	compare_result_free(&r);
	/* ... but it is with --min-delta 0 */
	compare_defaults(&o);
	o.min_delta_ms = 0;
	CHECK_INT(compare_with(doc(1000, 10000, 0, 0.05, 0.08, NULL),
	                       doc(1000, 10000, 0, 0.06, 0.1, NULL), &o, &r),
	          4);
	compare_result_free(&r);
}

TEST(compare_flags_an_error_rate_rise)
{
	compare_result_t r;

	/* 0 -> 5 % */
	CHECK_INT(compare_docs(doc(1000, 10000, 0, 12, 40, NULL),
	                       doc(1000, 10000, 500, 12, 40, NULL), &r),
	          2);
	CHECK_INT(verdict_of(&r, 0, CMP_ERROR_RATE), CMP_REGRESSION);
	CHECK_NEAR(r.scopes[0].rows[CMP_ERROR_RATE].delta, 0.05, 1e-12);
	compare_result_free(&r);
	/* 0 -> 0.05 %: under the 0.1 percentage-point floor */
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 0, 12, 40, NULL), doc(1000, 10000, 5, 12, 40, NULL), &r),
	    0);
	compare_result_free(&r);
	/* 2 % -> 2.1 %: over the floor, under the 10 % tolerance */
	CHECK_INT(compare_docs(doc(1000, 10000, 200, 12, 40, NULL),
	                       doc(1000, 10000, 210, 12, 40, NULL), &r),
	          0);
	compare_result_free(&r);
}

TEST(compare_flags_a_throughput_drop)
{
	compare_result_t r;

	CHECK_INT(
	    compare_docs(doc(1000, 10000, 0, 12, 40, NULL), doc(850, 8500, 0, 12, 40, NULL), &r),
	    2);
	CHECK_INT(verdict_of(&r, 0, CMP_RPS), CMP_REGRESSION);
	compare_result_free(&r);
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 0, 12, 40, NULL), doc(950, 9500, 0, 12, 40, NULL), &r),
	    0);
	compare_result_free(&r);
}

TEST(compare_lists_added_and_removed_endpoints)
{
	compare_result_t r;

	CHECK_INT(compare_docs(doc(1000, 10000, 0, 12, 40, "/old"),
	                       doc(1000, 10000, 0, 12, 40, "/new"), &r),
	          0);
	CHECK_INT(r.scope_count, 4);
	CHECK_STR(r.scopes[2].name, "GET /old");
	CHECK_INT(r.scopes[2].presence, CMP_REMOVED);
	CHECK_STR(r.scopes[3].name, "GET /new");
	CHECK_INT(r.scopes[3].presence, CMP_ADDED);
	compare_result_free(&r);
}

TEST(compare_renderers_say_the_verdict)
{
	compare_result_t r;
	buf_t out;
	json_error_t jerr;
	json_t *parsed;

	compare_docs(doc(1000, 10000, 0, 12, 40, "/x<y>|z"), doc(1000, 10000, 0, 30, 40, NULL), &r);
	buf_init(&out, 1 << 20);
	CHECK_INT(compare_render_text(&r, false, &out), 0);
	CHECK(strstr(out.data, "REGRESSION") && strstr(out.data, "▲"));
	CHECK(strstr(out.data, "GET /x<y>|z  removed"));
	buf_reset(&out);
	CHECK_INT(compare_render_markdown(&r, &out), 0);
	CHECK(strstr(out.data, "**REGRESSION**") && strstr(out.data, "| GET /x<y>\\|z |"));
	buf_reset(&out);
	CHECK_INT(compare_render_html(&r, &out), 0);
	CHECK(strstr(out.data, "<!doctype html>") && strstr(out.data, "</html>"));
	CHECK(strstr(out.data, "GET /x&lt;y&gt;|z") && strstr(out.data, "class=\"regression\""));
	CHECK(!strstr(out.data, "<script"));
	buf_reset(&out);
	CHECK_INT(compare_render_json(&r, &out), 0);
	parsed = json_loadb(out.data, out.len, 0, &jerr);
	CHECK(parsed != NULL);
	CHECK_STR(json_string_value(json_object_get(parsed, "verdict")), "REGRESSION");
	CHECK_INT(json_integer_value(json_object_get(parsed, "regressions")), 2);
	json_decref(parsed);
	buf_free(&out);
	compare_result_free(&r);

	compare_docs(doc(1000, 10000, 0, 12, 40, NULL), doc(1000, 10000, 0, 12, 40, NULL), &r);
	buf_init(&out, 1 << 20);
	CHECK_INT(compare_render_text(&r, false, &out), 0);
	CHECK(strstr(out.data, "ok: no regression") && !strstr(out.data, "REGRESSION"));
	buf_free(&out);
	compare_result_free(&r);
}

TEST(compare_does_not_judge_latency_that_was_not_measured)
{
	compare_result_t r;

	/* every request failed: no latency at all (max 0), which is not "faster" */
	CHECK_INT(
	    compare_docs(doc(1000, 10000, 0, 12, 40, NULL), doc(800, 8000, 8000, 0, 0, NULL), &r),
	    4); /* error rate and rps, in the whole run and its endpoint */
	CHECK_INT(verdict_of(&r, 0, CMP_P95), CMP_UNMEASURED);
	CHECK_INT(verdict_of(&r, 0, CMP_ERROR_RATE), CMP_REGRESSION);
	CHECK(isnan(r.scopes[0].rows[CMP_P95].next));
	CHECK_STR(compare_verdict_name(CMP_UNMEASURED), "n/a");
	compare_result_free(&r);
}

TEST(compare_notes_runs_of_different_targets)
{
	compare_result_t r;
	json_t *base = doc(1000, 10000, 0, 12, 40, NULL), *next = doc(1000, 10000, 0, 12, 40, NULL);
	buf_t out;

	compare_docs(json_incref(base), json_incref(next), &r);
	CHECK_STR(r.mismatch, "");
	compare_result_free(&r);

	json_object_set_new(json_object_get(next, "config"), "url", json_string("http://y/api"));
	json_object_set_new(json_object_get(next, "config"), "scenario", json_string("s.lua"));
	compare_docs(base, next, &r);
	CHECK_STR(r.mismatch, "config.url 'http://x/api' vs 'http://y/api', config.scenario '' vs "
	                      "'s.lua'");
	buf_init(&out, 1 << 20);
	CHECK_INT(compare_render_markdown(&r, &out), 0);
	CHECK(strstr(out.data, "**Warning:** the runs measured different things (config.url"));
	buf_reset(&out);
	CHECK_INT(compare_render_json(&r, &out), 0);
	CHECK(strstr(out.data, "\"mismatch\": \"config.url 'http://x/api'"));
	buf_free(&out);
	compare_result_free(&r);
}

/* One endpoint name under two methods, GET and POST, each a histogram of 1000 responses of
 * one latency; latency_ms as the histograms say, but p95 and p99 printed as `printed_ms`
 * when it is above 0 (a hand-edited document); with_hists false: no "histograms" at all. */
static json_t *two_methods(int64_t get_us, int64_t post_us, double printed_ms, bool with_hists)
{
	const int64_t us[2] = {get_us, post_us};
	const char *const methods[2] = {"GET", "POST"};
	hist_t *h = malloc(sizeof(hist_t)), *all = malloc(sizeof(hist_t));
	json_t *d = json_pack("{s:s,s:f,s:{s:s},s:{s:I,s:I,s:f,s:f},s:[],s:{}}", "tool", "surge",
	                      "duration_s", 10.0, "config", "url", "http://x/", "totals",
	                      "requests", (json_int_t)2000, "errors", (json_int_t)0, "error_rate",
	                      0.0, "rps", 200.0, "endpoints", "histograms");
	buf_t text;

	CHECK(h && all && d);
	buf_init(&text, 1 << 20);
	hist_reset(all);
	for (int m = 0; m < 3; m++) {
		const hist_t *of = m < 2 ? h : all;
		json_t *lat;

		if (m < 2) {
			hist_reset(h);
			hist_record_n(h, us[m], 1000);
			hist_merge(all, h);
		}
		lat = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "min", of->min / 1e3,
		                "mean", hist_mean(of) / 1e3, "stdev", 0.0, "p50",
		                hist_percentile(of, 50) / 1e3, "p90", hist_percentile(of, 90) / 1e3,
		                "p95", printed_ms > 0 ? printed_ms : hist_percentile(of, 95) / 1e3,
		                "p99", printed_ms > 0 ? printed_ms : hist_percentile(of, 99) / 1e3,
		                "p99_9", hist_percentile(of, 99.9) / 1e3, "max", of->max / 1e3);
		buf_reset(&text);
		CHECK_INT(hist_encode_base64(of, &text), 0);
		buf_append_char(&text, '\0');
		if (m < 2) {
			char key[32];

			snprintf(key, sizeof(key), "%s /x", methods[m]);
			json_object_set_new(json_object_get(d, "histograms"), key,
			                    json_string(text.data));
			json_array_append_new(json_object_get(d, "endpoints"),
			                      json_pack("{s:s,s:s,s:I,s:I,s:f,s:o}", "name", "/x",
			                                "method", methods[m], "requests",
			                                (json_int_t)1000, "errors", (json_int_t)0,
			                                "rps", 100.0, "latency_ms", lat));
		} else {
			json_object_set_new(json_object_get(d, "histograms"), "all",
			                    json_string(text.data));
			json_object_set_new(d, "latency_ms", lat);
		}
	}
	if (!with_hists)
		json_object_del(d, "histograms");
	buf_free(&text);
	free(h);
	free(all);
	return d;
}

TEST(compare_matches_endpoints_by_method_and_name)
{
	compare_result_t r;

	/* POST /x 1 ms -> 20 ms, GET /x unchanged: only POST /x (and the whole run) regressed */
	CHECK_INT(
	    compare_docs(two_methods(1000, 1000, 0, true), two_methods(1000, 20000, 0, true), &r),
	    4); /* p95 and p99 of the whole run (half its responses slower) and of POST /x */
	CHECK_INT(r.scope_count, 3);
	CHECK_STR(r.scopes[1].name, "GET /x");
	CHECK_STR(r.scopes[2].name, "POST /x");
	CHECK_INT(r.scopes[1].regressions, 0);
	CHECK_INT(verdict_of(&r, 2, CMP_P95), CMP_REGRESSION);
	CHECK_NEAR(r.scopes[2].rows[CMP_P95].next, 20.0, 0.02); /* the bucket's top */
	CHECK_INT(r.scopes[2].base_requests, 1000);
	compare_result_free(&r);
}

TEST(compare_reads_percentiles_from_the_histograms)
{
	compare_result_t r;

	/* p95 and p99 printed as 500 ms over histograms of 1 ms: the histograms are the run's
	 * figures (what `surge report` renders of that document), so nothing regressed */
	CHECK_INT(
	    compare_docs(two_methods(1000, 1000, 0, true), two_methods(1000, 1000, 500, true), &r),
	    0);
	for (size_t s = 0; s < r.scope_count; s++) {
		CHECK_NEAR(r.scopes[s].rows[CMP_P99].next, 1.0, 0);
		CHECK_NEAR(r.scopes[s].rows[CMP_P99].delta, 0, 0);
	}
	compare_result_free(&r);
	/* without histograms the figures as printed are all there is */
	CHECK_INT(compare_docs(two_methods(1000, 1000, 0, false),
	                       two_methods(1000, 1000, 500, false), &r),
	          6); /* p95 and p99 of all, GET /x and POST /x */
	CHECK_NEAR(r.scopes[0].rows[CMP_P99].next, 500.0, 0);
	compare_result_free(&r);
}

TEST(compare_loads_documents_with_their_checks)
{
	result_t a, b;
	compare_result_t r;
	compare_options_t o;
	char err[512] = "";

	CHECK_INT(result_load("tests/fixtures/results/no-such.json", RESULT_DOC_FOR_COMPARE, &a,
	                      err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "tests/fixtures/results/no-such.json: No such file or directory");
	CHECK_INT(result_load("tests/fixtures/results/scenario.json", RESULT_DOC_FOR_COMPARE, &a,
	                      err, sizeof(err)),
	          0);
	CHECK_INT(result_load("tests/fixtures/results/scenario-metrics.json",
	                      RESULT_DOC_FOR_COMPARE, &b, err, sizeof(err)),
	          0);
	compare_defaults(&o);
	CHECK_INT(report_compare(&a, &a, "a", "a", &o, &r), 0);
	CHECK_INT(r.regressions, 0);
	CHECK_INT(r.scope_count, 1 + a.endpoint_count);
	CHECK_STR(r.base_started, r.next_started);
	compare_result_free(&r);
	/* rows as the documents print them: rps and error rate to their decimals */
	CHECK_INT(report_compare(&a, &b, "a", "b", &o, &r), 0);
	CHECK_NEAR(r.scopes[0].rows[CMP_RPS].base, 14.989, 0);
	compare_result_free(&r);
	result_free(&a);
	result_free(&b);
}
