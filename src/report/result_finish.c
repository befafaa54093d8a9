/* result_finish: completes the result `surge run` summed from the engine's stream (result_add
 * of every per-second delta: totals, histograms, endpoints, tallies, timeline) with what the
 * stream does not carry: the config asked, the run's start, end and interruption, the
 * --group-by-header counts, report/'s verdicts and advice, the scraped target's figures and
 * the generator's own (CPU, RSS, the self-check's decision). No figure of the stream is
 * computed here. */
#include "report/result_finish.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/version.h"
#include "gen/gen_groups.h"

_Static_assert(RESULT_GROUPS_MAX == GEN_GROUPS_MAX, "the model keeps the engine's group values");
_Static_assert(RESULT_RECOMMENDATIONS_MAX >= RECOMMEND_MAX, "every recommendation is kept");
_Static_assert(RESULT_FIGURES_MAX >= RECOMMEND_FIGURES_MAX, "every figure is kept");
_Static_assert(RESULT_THRESHOLDS_MAX >= THRESHOLD_MAX, "every threshold is kept");

static int convert_config(result_t *r, const gen_config_t *cfg)
{
	result_config_t *c = &r->config;

	c->url = result_strdup(r, cfg->url_text);
	c->scenario = result_strdup(r, cfg->scenario_path);
	c->method = result_strdup(r, cfg->method);
	c->stages = result_strdup(r, cfg->stages_text);
	c->open_model = cfg->open_model;
	/* a shard's part of what the test asks (gen/deal.h) */
	c->has_rate = cfg->open_model && !cfg->stages_text;
	c->rate = deal_value(cfg->rate, cfg->shard);
	c->has_max_queue = cfg->open_model;
	c->max_queue = deal_share(cfg->max_queue, cfg->shard);
	if (!deal_is_whole(cfg->shard)) {
		c->shard_index = cfg->shard.index + 1;
		c->shard_count = cfg->shard.count;
	}
	c->connections = deal_share(cfg->connections, cfg->shard);
	c->threads = cfg->threads;
	c->duration_s = (double)cfg->duration_ns / NS_PER_S;
	c->requests = deal_share(cfg->requests, cfg->shard);
	c->timeout_s = (double)cfg->timeout_ns / NS_PER_S;
	c->body_bytes = cfg->body_len;
	c->insecure = cfg->insecure;
	if (cfg->header_count > 0) {
		c->headers = result_alloc(r, (size_t)cfg->header_count * sizeof(*c->headers));
		if (!c->headers)
			return -ENOMEM;
		for (int i = 0; i < cfg->header_count; i++)
			if ((c->headers[c->header_count++] = result_strdup(r, cfg->headers[i])) ==
			    NULL)
				return -ENOMEM;
	}
	return !c->url || !c->method ? -ENOMEM : 0;
}

/* The scraped target's figures for each second of the timeline. */
static void convert_target_timeline(result_t *r, const report_target_t *target)
{
	for (size_t i = 0; target && i < r->point_count && i < target->timeline_len; i++) {
		r->points[i].target_cpu_cores = target->timeline_cpu_cores[i];
		r->points[i].target_rss_bytes = target->timeline_rss_bytes[i];
	}
}

static int convert_groups(result_t *r, const gen_config_t *cfg, const gen_groups_t *gg)
{
	if (!gg)
		return 0;
	r->has_groups = true;
	r->group_header = result_strdup(r, cfg->group_header);
	r->group_missing = gg->missing;
	r->group_overflow = gg->overflow;
	r->group_truncated = gg->truncated;
	r->group_values_max = GEN_GROUPS_MAX;
	if (gg->count) {
		r->groups = result_alloc(r, gg->count * sizeof(*r->groups));
		if (!r->groups)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < gg->count; i++) {
		result_group_t *x = &r->groups[r->group_count++];

		memset(x, 0, sizeof(*x));
		snprintf(x->value, sizeof(x->value), "%s", gg->groups[i]->value);
		x->responses = gg->groups[i]->responses;
		x->errors = gg->groups[i]->errors;
		result_hist_init(&x->latency);
		if (result_hist_set(r, &x->latency, gg->groups[i]->latency) < 0)
			return -ENOMEM;
	}
	return r->group_header ? 0 : -ENOMEM;
}

/* Verdict figures as the document holds them (to its decimals), so a renderer of this result
 * and of the document read back print the same. */
static int convert_verdicts(result_t *r, const report_analysis_t *a)
{
	result_assessment_t *s = &r->assessment;

	if (a->threshold_count > 0) {
		r->thresholds =
		    result_alloc(r, (size_t)a->threshold_count * sizeof(*r->thresholds));
		if (!r->thresholds)
			return -ENOMEM;
	}
	for (int i = 0; i < a->threshold_count; i++) {
		result_threshold_t *t = &r->thresholds[r->threshold_count++];

		t->expr = result_strdup(r, a->thresholds[i].expr);
		t->value = result_round(a->values[i], 6);
		t->ok = a->passed[i];
		if (!t->expr)
			return -ENOMEM;
	}
	s->present = true;
	s->pass = a->assessment.pass;
	snprintf(s->latency_class, sizeof(s->latency_class), "%s",
	         a->assessment.latency_class ? a->assessment.latency_class : "");
	s->latency_ok = a->assessment.latency_ok;
	s->throughput_ok = a->assessment.throughput_ok;
	s->errors_ok = a->assessment.errors_ok;
	s->thresholds_ok = a->assessment.thresholds_ok;
	s->p95_ms = result_round(a->assessment.p95_ms, 3);
	s->target_p95_ms = result_round(a->targets.p95_ms, 3);
	s->target_max_error_rate = result_round(a->targets.max_error_rate, 6);
	s->target_min_rps = result_round(a->targets.min_rps, 3);
	s->aborted = a->aborted;
	if (a->profile && !(s->profile = result_strdup(r, a->profile)))
		return -ENOMEM;
	return 0;
}

static int convert_advice(result_t *r, const report_analysis_t *a)
{
	const report_target_t *t = a->target;

	if (a->recommendation_count > 0) {
		r->recommendations =
		    result_alloc(r, (size_t)a->recommendation_count * sizeof(*r->recommendations));
		if (!r->recommendations)
			return -ENOMEM;
	}
	for (int i = 0; i < a->recommendation_count; i++) {
		const recommendation_t *g = &a->recommendations[i];
		result_recommendation_t *c = &r->recommendations[r->recommendation_count++];

		memset(c, 0, sizeof(*c));
		snprintf(c->severity, sizeof(c->severity), "%s",
		         recommend_severity_name(g->severity));
		snprintf(c->kind, sizeof(c->kind), "%s", g->kind);
		c->title = result_strdup(r, g->title);
		c->detail = result_strdup(r, g->detail);
		if (!c->title || !c->detail)
			return -ENOMEM;
		c->figure_count = g->figure_count;
		for (int f = 0; f < g->figure_count; f++) {
			snprintf(c->figures[f].name, sizeof(c->figures[f].name), "%s",
			         g->figures[f].name);
			c->figures[f].value = g->figures[f].value;
		}
	}
	if (a->cost.per_hour_usd > 0) {
		r->has_cost = true;
		r->cost_per_hour_usd = a->cost.per_hour_usd;
		r->cost_replicas = a->cost.replicas;
		r->cost_requests_per_s = a->cost.requests_per_s;
		r->cost_total_per_hour_usd = a->cost.total_per_hour_usd;
		r->cost_per_million_requests_usd = a->cost.per_million_requests_usd;
	}
	if (!t)
		return 0;
	r->has_target = true;
	r->target = (result_target_t){
	    .url = result_strdup(r, t->url),
	    .last_error = t->last_error[0] ? result_strdup(r, t->last_error) : NULL,
	    .cpu_basis = result_strdup(r, t->cpu_basis ? t->cpu_basis : ""),
	    .samples = t->samples,
	    .scrape_errors = t->scrape_errors,
	    .bad_lines = t->bad_lines,
	    .cpu_cores_avg = t->cpu_cores_avg,
	    .cpu_cores_max = t->cpu_cores_max,
	    .cpu_limit_cores = t->cpu_limit_cores,
	    .workers = t->workers,
	    .host_cores = t->host_cores,
	    .cpu_capacity_cores = t->cpu_capacity_cores,
	    .cpu_utilisation = t->cpu_utilisation,
	    .rss_bytes_max = t->rss_bytes_max,
	    .memory_limit_bytes = t->memory_limit_bytes,
	    .memory_utilisation = t->memory_utilisation,
	    .in_flight_max = t->in_flight_max,
	    .pool_waits = t->pool_waits,
	    .pool_timeouts = t->pool_timeouts,
	    .pool_wait_ms_mean = t->pool_wait_ms_mean,
	    .cpu_periods = t->cpu_periods,
	    .cpu_throttled_periods = t->cpu_throttled_periods,
	    .cpu_throttled_share = t->cpu_throttled_share,
	    .cpu_throttled_s = t->cpu_throttled_s,
	    .oom_kills = t->oom_kills,
	};
	return r->target.url && r->target.cpu_basis ? 0 : -ENOMEM;
}

static int convert_generator(result_t *r, const gen_result_t *g)
{
	result_generator_t *o = &r->generator;

	o->cpu_s = g->cpu_s;
	o->max_rss_bytes = g->max_rss_bytes;
	o->threads = g->threads;
	o->connections = g->connections;
	o->thread_cpu_max = g->thread_cpu_max;
	if (g->thread_cpu && g->threads) {
		o->thread_cpu = result_alloc(r, g->threads * sizeof(*o->thread_cpu));
		if (!o->thread_cpu)
			return -ENOMEM;
		memcpy(o->thread_cpu, g->thread_cpu, g->threads * sizeof(*o->thread_cpu));
		o->thread_cpu_count = g->threads;
	}
	o->saturated = g->saturated;
	o->saturation = g->saturation;
	o->saturation_shard = -1;
	return 0;
}

int result_finish(const gen_config_t *cfg, const gen_result_t *g, const report_analysis_t *a,
                  result_t *r)
{
	int rc;

	r->has_started_at = r->has_generator = true;
	if (!(r->version = result_strdup(r, surge_version)))
		return -ENOMEM;
	r->started_wall_ns = g->started_wall_ns;
	r->duration_s = (double)g->duration_ns / NS_PER_S;
	r->interrupted = g->interrupted;
	r->dropped.deltas_lost += g->stream_failed;
	if ((rc = result_seal(r)) < 0 || (rc = convert_config(r, cfg)) < 0 ||
	    (rc = convert_groups(r, cfg, g->groups)) < 0 || (rc = convert_verdicts(r, a)) < 0 ||
	    (rc = convert_advice(r, a)) < 0 || (rc = convert_generator(r, g)) < 0)
		return rc;
	convert_target_timeline(r, a->target);
	return 0;
}
