/* result_encode_verdicts: the result document's sections about the run rather than its
 * figures — thresholds and their verdicts, the assessment, the scraped target,
 * recommendations and cost, and the generator's own figures with its self-check — written
 * from result_t as they were judged (report/ judges; this file only writes). */
#include <math.h>
#include <stdio.h>

#include "result/result_encode_internal.h"

void result_encode_thresholds(enc_t *e)
{
	json_writer_t *w = &e->w;

	jsonw_key(w, "thresholds");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < e->r->threshold_count; i++) {
		const result_threshold_t *t = &e->r->thresholds[i];

		jsonw_object_begin(w);
		key_string(w, "expr", t->expr);
		key_number(w, "value", t->value, 6);
		jsonw_key(w, "ok");
		jsonw_bool(w, t->ok);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

void result_encode_assessment(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_assessment_t *s = &e->r->assessment;

	if (!s->present)
		return;
	jsonw_key(w, "assessment");
	jsonw_object_begin(w);
	key_verdict(w, "verdict", s->pass);
	key_string(w, "latency_class", s->latency_class);
	key_verdict(w, "latency", s->latency_ok);
	key_verdict(w, "throughput", s->throughput_ok);
	key_verdict(w, "error_rate", s->errors_ok);
	key_verdict(w, "thresholds", s->thresholds_ok);
	key_number(w, "p95_ms", s->p95_ms, 3);
	jsonw_key(w, "targets");
	jsonw_object_begin(w);
	key_number(w, "p95_ms", s->target_p95_ms, 3);
	key_number(w, "max_error_rate", s->target_max_error_rate, 6);
	key_number(w, "min_rps", s->target_min_rps, 3);
	jsonw_object_end(w);
	if (s->profile)
		key_string(w, "profile", s->profile);
	jsonw_key(w, "aborted");
	jsonw_bool(w, s->aborted);
	jsonw_object_end(w);
}

static void write_target(json_writer_t *w, const result_target_t *t)
{
	jsonw_key(w, "target");
	jsonw_object_begin(w);
	key_string(w, "url", t->url ? t->url : "");
	key_count(w, "samples", t->samples);
	key_count(w, "scrape_errors", t->scrape_errors);
	if (t->last_error && t->last_error[0])
		key_string(w, "last_error", t->last_error);
	key_count(w, "bad_lines", t->bad_lines);
	key_number(w, "cpu_cores_avg", t->cpu_cores_avg, 3);
	key_number(w, "cpu_cores_max", t->cpu_cores_max, 3);
	key_number(w, "cpu_limit_cores", t->cpu_limit_cores, 3);
	key_number(w, "workers", t->workers, 0);
	key_number(w, "host_cores", t->host_cores, 0);
	key_number(w, "cpu_capacity_cores", t->cpu_capacity_cores, 3);
	key_string(w, "cpu_basis", t->cpu_basis ? t->cpu_basis : "");
	key_number(w, "cpu_utilisation", t->cpu_utilisation, 4);
	key_number(w, "rss_bytes_max", t->rss_bytes_max, 0);
	key_number(w, "memory_limit_bytes", t->memory_limit_bytes, 0);
	key_number(w, "memory_utilisation", t->memory_utilisation, 4);
	key_number(w, "in_flight_max", t->in_flight_max, 0);
	key_number(w, "pool_waits", t->pool_waits, 0);
	key_number(w, "pool_timeouts", t->pool_timeouts, 0);
	key_number(w, "pool_wait_ms_mean", t->pool_wait_ms_mean, 3);
	key_number(w, "cpu_periods", t->cpu_periods, 0);
	key_number(w, "cpu_throttled_periods", t->cpu_throttled_periods, 0);
	key_number(w, "cpu_throttled_share", t->cpu_throttled_share, 4);
	key_number(w, "cpu_throttled_s", t->cpu_throttled_s, 3);
	key_number(w, "oom_kills", t->oom_kills, 0);
	jsonw_object_end(w);
}

/* "target" (with --scrape), "recommendations" and "cost" (with --cost-per-hour). */
void result_encode_advice(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_t *r = e->r;

	if (r->has_target)
		write_target(w, &r->target);
	jsonw_key(w, "recommendations");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->recommendation_count; i++) {
		const result_recommendation_t *c = &r->recommendations[i];

		jsonw_object_begin(w);
		key_string(w, "severity", c->severity);
		key_string(w, "kind", c->kind);
		key_string(w, "title", c->title ? c->title : "");
		key_string(w, "detail", c->detail ? c->detail : "");
		jsonw_key(w, "figures");
		jsonw_object_begin(w);
		for (int f = 0; f < c->figure_count; f++)
			key_number(w, c->figures[f].name, c->figures[f].value, 6);
		jsonw_object_end(w);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	if (r->has_cost) {
		jsonw_key(w, "cost");
		jsonw_object_begin(w);
		key_number(w, "per_hour_usd", r->cost_per_hour_usd, 6);
		key_count(w, "replicas", r->cost_replicas);
		key_number(w, "requests_per_s", r->cost_requests_per_s, 3);
		key_number(w, "total_per_hour_usd", r->cost_total_per_hour_usd, 6);
		key_number(w, "per_million_requests_usd", r->cost_per_million_requests_usd, 6);
		jsonw_object_end(w);
	}
}

/* Why the self-check said saturated, with the figures it decided on; null when it did not. */
static void write_saturation(json_writer_t *w, const result_generator_t *g)
{
	const gen_saturation_t *s = &g->saturation;
	bool cpu = s->criterion == GEN_SAT_THREAD_CPU;

	jsonw_key(w, "saturation");
	if (!g->saturated) {
		jsonw_null(w);
		return;
	}
	jsonw_object_begin(w);
	key_string(w, "criterion", gen_saturation_name(s->criterion));
	key_count(w, "seconds", s->seconds);
	key_count(w, "consecutive_s", s->consecutive);
	key_count(w, "run_seconds", s->whole_seconds);
	key_number(w, "first_s", s->first_s, 3);
	key_number(w, "worst", s->worst, 3);
	key_number(w, "bound", cpu ? GEN_SATURATED_CPU : GEN_LATE_SHARE, 3);
	if (!cpu)
		key_number(w, "lag_bound_ms", GEN_LAG_BOUND_US / 1e3, 3);
	if (g->saturation_shard >= 0)
		key_count(w, "shard", (uint64_t)g->saturation_shard);
	jsonw_object_end(w);
}

void result_encode_generator(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_generator_t *g = &e->r->generator;
	int64_t p99 = g->sched_lag_p99_us, max = g->sched_lag_max_us;

	if (!g->sched_lag_read || g->sched_lag.total) {
		result_hist_expand(&g->sched_lag, e->h);
		p99 = hist_percentile(e->h, 99);
		max = e->h->max;
	}
	jsonw_key(w, "generator");
	jsonw_object_begin(w);
	key_number(w, "cpu_s", g->cpu_s, 3);
	key_count(w, "max_rss_bytes", g->max_rss_bytes);
	key_count(w, "threads", g->threads);
	key_count(w, "connections", g->connections);
	key_number(w, "thread_cpu_max", g->thread_cpu_max, 3);
	jsonw_key(w, "thread_cpu");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < g->thread_cpu_count; i++)
		jsonw_double(w, g->thread_cpu[i], 3);
	jsonw_array_end(w);
	jsonw_key(w, "sched_lag_p99_us");
	jsonw_int(w, p99);
	jsonw_key(w, "sched_lag_max_us");
	jsonw_int(w, max);
	jsonw_key(w, "saturated");
	jsonw_bool(w, g->saturated);
	write_saturation(w, g);
	if (g->io[0]) {
		jsonw_key(w, "io");
		jsonw_object_begin(w);
		jsonw_key(w, "backend");
		jsonw_string(w, g->io);
		jsonw_key(w, "fallback");
		if (g->io_fallback[0])
			jsonw_string(w, g->io_fallback);
		else
			jsonw_null(w);
		key_count(w, "fallback_loops", g->io_fallback_loops);
		key_count(w, "recv_no_buffer", g->io_recv_no_buffer);
		key_count(w, "sq_full_submits", g->io_sq_full_submits);
		key_count(w, "cq_overflow", g->io_cq_overflow);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}
