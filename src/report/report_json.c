/* report_json: the result document (SPEC §2.6), the stable contract other tools read:
 * keys may be added, never renamed. Latencies in milliseconds, times in seconds. */
#include <stdio.h>

#include "core/version.h"
#include "core/clock.h"
#include "core/json.h"
#include "report/report.h"

static void write_config(json_writer_t *w, const gen_config_t *cfg)
{
	jsonw_key(w, "config");
	jsonw_object_begin(w);
	jsonw_key(w, "url");
	jsonw_string(w, cfg->url_text);
	if (cfg->scenario_path) {
		jsonw_key(w, "scenario");
		jsonw_string(w, cfg->scenario_path);
	}
	jsonw_key(w, "method");
	jsonw_string(w, cfg->method);
	jsonw_key(w, "model");
	jsonw_string(w, cfg->open_model ? "open" : "closed");
	/* a shard's figures are its part of the test's, which `surge merge` adds up again */
	if (cfg->open_model && !cfg->stages_text) {
		jsonw_key(w, "rate");
		jsonw_double(w, deal_value(cfg->rate, cfg->shard),
		             deal_is_whole(cfg->shard) ? 3 : 6);
	}
	if (cfg->stages_text) {
		jsonw_key(w, "stages");
		jsonw_string(w, cfg->stages_text);
	}
	if (cfg->open_model) {
		jsonw_key(w, "max_queue");
		jsonw_uint(w, deal_share(cfg->max_queue, cfg->shard));
	}
	if (!deal_is_whole(cfg->shard)) {
		jsonw_key(w, "shard");
		jsonw_object_begin(w);
		jsonw_key(w, "index");
		jsonw_uint(w, cfg->shard.index + 1);
		jsonw_key(w, "count");
		jsonw_uint(w, cfg->shard.count);
		jsonw_object_end(w);
	}
	jsonw_key(w, "connections");
	jsonw_uint(w, deal_share(cfg->connections, cfg->shard));
	jsonw_key(w, "threads");
	jsonw_uint(w, cfg->threads);
	jsonw_key(w, "duration_s");
	jsonw_double(w, (double)cfg->duration_ns / NS_PER_S, 3);
	jsonw_key(w, "requests");
	jsonw_uint(w, deal_share(cfg->requests, cfg->shard));
	jsonw_key(w, "timeout_s");
	jsonw_double(w, (double)cfg->timeout_ns / NS_PER_S, 3);
	jsonw_key(w, "headers");
	jsonw_array_begin(w);
	for (int i = 0; i < cfg->header_count; i++)
		jsonw_string(w, cfg->headers[i]);
	jsonw_array_end(w);
	jsonw_key(w, "body_bytes");
	jsonw_uint(w, cfg->body_len);
	jsonw_key(w, "insecure");
	jsonw_bool(w, cfg->insecure);
	jsonw_object_end(w);
}

static void write_totals(json_writer_t *w, const gen_result_t *r, const report_totals_t *t)
{
	jsonw_key(w, "totals");
	jsonw_object_begin(w);
	jsonw_key(w, "requests");
	jsonw_uint(w, t->requests);
	jsonw_key(w, "responses");
	jsonw_uint(w, t->responses);
	jsonw_key(w, "errors");
	jsonw_uint(w, t->errors);
	jsonw_key(w, "error_rate");
	jsonw_double(w, t->error_rate, 6);
	jsonw_key(w, "rps");
	jsonw_double(w, t->rps, 3);
	jsonw_key(w, "bytes_in");
	jsonw_uint(w, r->counters.bytes_in);
	jsonw_key(w, "bytes_out");
	jsonw_uint(w, r->counters.bytes_out);
	jsonw_key(w, "dropped");
	jsonw_uint(w, r->counters.dropped);
	jsonw_key(w, "late");
	jsonw_uint(w, r->counters.late);
	jsonw_object_end(w);
}

static void write_latency_as(json_writer_t *w, const char *key, const hist_t *h)
{
	static const struct {
		const char *key;
		double p;
	} pcts[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};

	jsonw_key(w, key);
	jsonw_object_begin(w);
	jsonw_key(w, "min");
	jsonw_double(w, h->total ? h->min / 1e3 : 0, 3);
	jsonw_key(w, "mean");
	jsonw_double(w, hist_mean(h) / 1e3, 3);
	jsonw_key(w, "stdev");
	jsonw_double(w, hist_stdev(h) / 1e3, 3);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		jsonw_key(w, pcts[i].key);
		jsonw_double(w, hist_percentile(h, pcts[i].p) / 1e3, 3);
	}
	jsonw_key(w, "max");
	jsonw_double(w, h->max / 1e3, 3);
	jsonw_object_end(w);
}

static void write_latency(json_writer_t *w, const hist_t *h)
{
	write_latency_as(w, "latency_ms", h);
}

static void write_codes(json_writer_t *w, const gen_counters_t *c)
{
	char code[16];

	jsonw_key(w, "status_codes");
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		snprintf(code, sizeof(code), "%d", i);
		jsonw_key(w, code);
		jsonw_uint(w, c->status[i]);
	}
	jsonw_object_end(w);
	jsonw_key(w, "errors_by_kind");
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++) {
		jsonw_key(w, gen_error_kind_name(i));
		jsonw_uint(w, c->errors_by_kind[i]);
	}
	jsonw_key(w, "check_failed");
	jsonw_uint(w, c->checks_failed);
	jsonw_key(w, "script_error");
	jsonw_uint(w, c->script_errors);
	jsonw_object_end(w);
}

static void write_endpoints(json_writer_t *w, const gen_result_t *r)
{
	jsonw_key(w, "endpoints");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->named.endpoint_count; i++) {
		const gen_endpoint_t *e = r->named.endpoints[i];
		report_totals_t t;

		report_counter_totals(&e->counters, (double)r->duration_ns / NS_PER_S, &t);
		jsonw_object_begin(w);
		jsonw_key(w, "name");
		jsonw_string(w, e->name);
		jsonw_key(w, "method");
		jsonw_string(w, e->method);
		jsonw_key(w, "requests");
		jsonw_uint(w, t.requests);
		jsonw_key(w, "errors");
		jsonw_uint(w, t.errors);
		jsonw_key(w, "error_rate");
		jsonw_double(w, t.error_rate, 6);
		jsonw_key(w, "rps");
		jsonw_double(w, t.rps, 3);
		jsonw_key(w, "bytes_in");
		jsonw_uint(w, e->counters.bytes_in);
		jsonw_key(w, "bytes_out");
		jsonw_uint(w, e->counters.bytes_out);
		write_latency(w, e->latency);
		write_codes(w, &e->counters);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* A scenario's checks, custom counters and trends, and the errors its code raised. */
static void write_scenario_figures(json_writer_t *w, const gen_result_t *r)
{
	const gen_named_t *n = &r->named;

	jsonw_key(w, "checks");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < n->tally_count; i++) {
		if (n->tallies[i]->kind != GEN_TALLY_CHECK)
			continue;
		jsonw_object_begin(w);
		jsonw_key(w, "name");
		jsonw_string(w, n->tallies[i]->name);
		jsonw_key(w, "passes");
		jsonw_uint(w, n->tallies[i]->passes);
		jsonw_key(w, "fails");
		jsonw_uint(w, n->tallies[i]->fails);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "script_errors");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < n->tally_count; i++) {
		if (n->tallies[i]->kind != GEN_TALLY_SCRIPT_ERROR)
			continue;
		jsonw_object_begin(w);
		jsonw_key(w, "message");
		jsonw_string(w, n->tallies[i]->name);
		jsonw_key(w, "count");
		jsonw_uint(w, n->tallies[i]->fails);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "metrics");
	jsonw_object_begin(w);
	jsonw_key(w, "counters");
	jsonw_object_begin(w);
	for (uint32_t i = 0; i < n->tally_count; i++) {
		if (n->tallies[i]->kind != GEN_TALLY_COUNTER)
			continue;
		jsonw_key(w, n->tallies[i]->name);
		jsonw_double(w, n->tallies[i]->value, 6);
	}
	jsonw_object_end(w);
	jsonw_key(w, "trends");
	jsonw_object_begin(w);
	for (uint32_t i = 0; i < n->tally_count; i++) {
		const hist_t *h = n->tallies[i]->hist;
		buf_t enc;

		if (n->tallies[i]->kind != GEN_TALLY_TREND)
			continue;
		jsonw_key(w, n->tallies[i]->name);
		jsonw_object_begin(w);
		jsonw_key(w, "count");
		jsonw_uint(w, h->total);
		jsonw_key(w, "min");
		jsonw_double(w, h->total ? h->min / 1e3 : 0, 3);
		jsonw_key(w, "mean");
		jsonw_double(w, hist_mean(h) / 1e3, 3);
		jsonw_key(w, "p50");
		jsonw_double(w, hist_percentile(h, 50) / 1e3, 3);
		jsonw_key(w, "p90");
		jsonw_double(w, hist_percentile(h, 90) / 1e3, 3);
		jsonw_key(w, "p95");
		jsonw_double(w, hist_percentile(h, 95) / 1e3, 3);
		jsonw_key(w, "p99");
		jsonw_double(w, hist_percentile(h, 99) / 1e3, 3);
		jsonw_key(w, "max");
		jsonw_double(w, h->max / 1e3, 3);
		buf_init(&enc, 16 * 1024 * 1024);
		if (hist_encode_base64(h, &enc) == 0) {
			jsonw_key(w, "histogram");
			jsonw_string_n(w, enc.data, enc.len);
		}
		buf_free(&enc);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
	jsonw_object_end(w);
}

static void write_timeline(json_writer_t *w, const gen_config_t *cfg, const gen_result_t *r,
                           const report_analysis_t *a)
{
	jsonw_key(w, "timeline");
	jsonw_array_begin(w);
	for (size_t i = 0; i < r->timeline_len; i++) {
		const gen_point_t *p = &r->timeline[i];

		jsonw_object_begin(w);
		jsonw_key(w, "t");
		jsonw_double(w, p->t, 3);
		jsonw_key(w, "users");
		jsonw_uint(w, p->users);
		jsonw_key(w, "target");
		jsonw_double(w, p->target, 3);
		jsonw_key(w, "requests");
		jsonw_uint(w, p->requests);
		jsonw_key(w, "rps");
		jsonw_double(w, p->length_s > 0 ? p->requests / p->length_s : 0, 3);
		jsonw_key(w, "errors");
		jsonw_uint(w, p->errors);
		jsonw_key(w, "late");
		jsonw_uint(w, p->late);
		jsonw_key(w, "dropped");
		jsonw_uint(w, p->dropped);
		jsonw_key(w, "bytes_in");
		jsonw_uint(w, p->bytes_in);
		jsonw_key(w, "p50_ms");
		jsonw_double(w, p->p50_us / 1e3, 3);
		jsonw_key(w, "p95_ms");
		jsonw_double(w, p->p95_us / 1e3, 3);
		jsonw_key(w, "p99_ms");
		jsonw_double(w, p->p99_us / 1e3, 3);
		/* the self-check's figures for the second (docs/run.md, Self-check) */
		jsonw_key(w, "generator_cpu");
		jsonw_double(w, p->busiest_cpu, 3);
		if (cfg->open_model) {
			jsonw_key(w, "due");
			jsonw_uint(w, p->due);
			jsonw_key(w, "due_late");
			jsonw_uint(w, p->pacer_late);
		}
		if (p->hist) {
			jsonw_key(w, "hist");
			jsonw_string(w, p->hist);
		}
		report_json_timeline_target(w, a, i);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* Why the self-check said saturated, with the figures it decided on; null when it did not. */
static void write_saturation(json_writer_t *w, const gen_result_t *r)
{
	const gen_saturation_t *s = &r->saturation;
	bool cpu = s->criterion == GEN_SAT_THREAD_CPU;

	jsonw_key(w, "saturation");
	if (!r->saturated) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	jsonw_key(w, "criterion");
	jsonw_string(w, gen_saturation_name(s->criterion));
	jsonw_key(w, "seconds");
	jsonw_uint(w, s->seconds);
	jsonw_key(w, "consecutive_s");
	jsonw_uint(w, s->consecutive);
	jsonw_key(w, "run_seconds");
	jsonw_uint(w, s->whole_seconds);
	jsonw_key(w, "first_s");
	jsonw_double(w, s->first_s, 3);
	jsonw_key(w, "worst");
	jsonw_double(w, s->worst, 3);
	jsonw_key(w, "bound");
	jsonw_double(w, cpu ? GEN_SATURATED_CPU : GEN_LATE_SHARE, 3);
	if (!cpu) {
		jsonw_key(w, "lag_bound_ms");
		jsonw_double(w, GEN_LAG_BOUND_US / 1e3, 3);
	}
	jsonw_object_end(w);
}

static void write_generator(json_writer_t *w, const gen_result_t *r)
{
	jsonw_key(w, "generator");
	jsonw_object_begin(w);
	jsonw_key(w, "cpu_s");
	jsonw_double(w, r->cpu_s, 3);
	jsonw_key(w, "max_rss_bytes");
	jsonw_uint(w, r->max_rss_bytes);
	jsonw_key(w, "threads");
	jsonw_uint(w, r->threads);
	jsonw_key(w, "connections");
	jsonw_uint(w, r->connections);
	jsonw_key(w, "thread_cpu_max");
	jsonw_double(w, r->thread_cpu_max, 3);
	jsonw_key(w, "thread_cpu");
	jsonw_array_begin(w);
	for (uint32_t i = 0; r->thread_cpu && i < r->threads; i++)
		jsonw_double(w, r->thread_cpu[i], 3);
	jsonw_array_end(w);
	jsonw_key(w, "sched_lag_p99_us");
	jsonw_int(w, hist_percentile(r->sched_lag, 99));
	jsonw_key(w, "sched_lag_max_us");
	jsonw_int(w, r->sched_lag->max);
	jsonw_key(w, "saturated");
	jsonw_bool(w, r->saturated);
	write_saturation(w, r);
	jsonw_object_end(w);
}

static void write_thresholds(json_writer_t *w, const report_analysis_t *a)
{
	jsonw_key(w, "thresholds");
	jsonw_array_begin(w);
	for (int i = 0; i < a->threshold_count; i++) {
		jsonw_object_begin(w);
		jsonw_key(w, "expr");
		jsonw_string(w, a->thresholds[i].expr);
		jsonw_key(w, "value");
		jsonw_double(w, a->values[i], 6);
		jsonw_key(w, "ok");
		jsonw_bool(w, a->passed[i]);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void write_assessment(json_writer_t *w, const report_analysis_t *a)
{
	const assessment_t *s = &a->assessment;

	jsonw_key(w, "assessment");
	jsonw_object_begin(w);
	jsonw_key(w, "verdict");
	jsonw_string(w, s->pass ? "PASS" : "FAIL");
	jsonw_key(w, "latency_class");
	jsonw_string(w, s->latency_class);
	jsonw_key(w, "latency");
	jsonw_string(w, s->latency_ok ? "PASS" : "FAIL");
	jsonw_key(w, "throughput");
	jsonw_string(w, s->throughput_ok ? "PASS" : "FAIL");
	jsonw_key(w, "error_rate");
	jsonw_string(w, s->errors_ok ? "PASS" : "FAIL");
	jsonw_key(w, "thresholds");
	jsonw_string(w, s->thresholds_ok ? "PASS" : "FAIL");
	jsonw_key(w, "p95_ms");
	jsonw_double(w, s->p95_ms, 3);
	jsonw_key(w, "targets");
	jsonw_object_begin(w);
	jsonw_key(w, "p95_ms");
	jsonw_double(w, a->targets.p95_ms, 3);
	jsonw_key(w, "max_error_rate");
	jsonw_double(w, a->targets.max_error_rate, 6);
	jsonw_key(w, "min_rps");
	jsonw_double(w, a->targets.min_rps, 3);
	jsonw_object_end(w);
	if (a->profile) {
		jsonw_key(w, "profile");
		jsonw_string(w, a->profile);
	}
	jsonw_key(w, "aborted");
	jsonw_bool(w, a->aborted);
	jsonw_object_end(w);
}

static int write_histograms(json_writer_t *w, const gen_result_t *r)
{
	buf_t enc;
	int rc;

	char key[GEN_NAME_MAX + 20];

	buf_init(&enc, 16 * 1024 * 1024);
	rc = hist_encode_base64(r->latency, &enc);
	jsonw_key(w, "histograms");
	jsonw_object_begin(w);
	jsonw_key(w, "all");
	jsonw_string_n(w, rc == 0 ? enc.data : "", rc == 0 ? enc.len : 0);
	/* one per endpoint, keyed "METHOD name" as merge and reports look them up */
	for (uint32_t i = 0; rc == 0 && i < r->named.endpoint_count; i++) {
		const gen_endpoint_t *e = r->named.endpoints[i];

		buf_reset(&enc);
		rc = hist_encode_base64(e->latency, &enc);
		snprintf(key, sizeof(key), "%s %s", e->method, e->name);
		jsonw_key(w, key);
		jsonw_string_n(w, rc == 0 ? enc.data : "", rc == 0 ? enc.len : 0);
	}
	jsonw_object_end(w);
	buf_free(&enc);
	return rc;
}

int report_json(const gen_config_t *cfg, const gen_result_t *r, const report_analysis_t *a,
                buf_t *out)
{
	json_writer_t w;
	report_totals_t t;
	char started[40];
	int rc;

	report_totals(r, &t);
	clock_format_rfc3339(r->started_wall_ns, started, sizeof(started));
	jsonw_init(&w, out, true);
	jsonw_object_begin(&w);
	jsonw_key(&w, "tool");
	jsonw_string(&w, "surge");
	jsonw_key(&w, "version");
	jsonw_string(&w, surge_version);
	jsonw_key(&w, "started_at");
	jsonw_string(&w, started);
	jsonw_key(&w, "duration_s");
	jsonw_double(&w, t.duration_s, 3);
	jsonw_key(&w, "interrupted");
	jsonw_bool(&w, r->interrupted);
	write_config(&w, cfg);
	write_totals(&w, r, &t);
	write_latency(&w, r->latency);
	write_latency_as(&w, "service_ms", r->service);
	write_codes(&w, &r->counters);
	write_endpoints(&w, r);
	report_groups_json(&w, cfg, r);
	write_scenario_figures(&w, r);
	write_timeline(&w, cfg, r, a);
	write_thresholds(&w, a);
	write_assessment(&w, a);
	report_json_advice(&w, a);
	write_generator(&w, r);
	rc = write_histograms(&w, r);
	jsonw_object_end(&w);
	if (!w.err)
		w.err = buf_append_char(out, '\n');
	return w.err ? w.err : rc;
}
