/* report_judge: the one judge of a result — its thresholds (threshold_judge over the result's
 * figures), the seeds' assessment, the recommendations and the cost — for `surge run` (the
 * sum of its stream), `surge merge` (the sum of its shards) and, thresholds only, the live
 * check of --abort-on-fail (the stream so far). Everything is computed from the result_t, so
 * the three can never judge the same figures differently. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

_Static_assert(RESULT_RECOMMENDATIONS_MAX >= RECOMMEND_MAX, "every recommendation is kept");
_Static_assert(RESULT_FIGURES_MAX >= RECOMMEND_FIGURES_MAX, "every figure is kept");
_Static_assert(RESULT_THRESHOLDS_MAX >= THRESHOLD_MAX, "every threshold is kept");

/* ---- the result as thresholds see it ---- */

static const char *endpoint_name(const void *ctx, uint32_t i)
{
	return ((const result_t *)ctx)->endpoints[i].name;
}

/* A decoded document's endpoint without its histogram (figures only, or a merge's upper
 * bounds) has no exact percentile to judge. */
static bool figures_only(const result_hist_t *h)
{
	return h->read && h->len == 0 && h->total == 0;
}

static int endpoint_add(const void *ctx, uint32_t i, hist_t *hist, uint64_t *requests,
                        uint64_t *errors)
{
	const result_endpoint_t *e = &((const result_t *)ctx)->endpoints[i];

	*requests += result_requests(&e->counters);
	*errors += e->counters.errors;
	if (figures_only(&e->latency) && e->counters.requests)
		return -1;
	result_hist_add_to(&e->latency, hist);
	return 0;
}

/* --group-by-header's spread: the largest share over the mean share; NAN without values. */
static double spread(const result_t *r)
{
	uint64_t grouped = 0, most = 0;

	for (uint32_t i = 0; i < r->group_count; i++) {
		grouped += r->groups[i].responses;
		if (r->groups[i].responses > most)
			most = r->groups[i].responses;
	}
	return r->has_groups && grouped ? (double)most * r->group_count / (double)grouped : NAN;
}

/* hists[0] holds the run's latencies, hists[1] is threshold_judge's scratch. */
static void judge_all(const result_t *r, const threshold_t *t, int n, hist_t *hists, double *values,
                      bool *passed)
{
	threshold_view_t v = {
	    .run = {.latency = &hists[0],
	            .requests = result_requests(&r->counters),
	            .errors = r->counters.errors,
	            .duration_s = r->duration_s,
	            .balance = spread(r)},
	    .endpoint_count = r->endpoint_count,
	    .ctx = r,
	    .endpoint_name = endpoint_name,
	    .endpoint_add = endpoint_add,
	};

	result_hist_expand(&r->latency, &hists[0]);
	for (int i = 0; i < n; i++)
		passed[i] = threshold_judge(&t[i], &v, &hists[1], &values[i]);
}

int report_thresholds(const result_t *r, const threshold_t *t, int n, double *values, bool *passed)
{
	hist_t *hists = malloc(2 * sizeof(*hists));

	if (!hists)
		return -ENOMEM;
	judge_all(r, t, n, hists, values, passed);
	free(hists);
	return 0;
}

/* ---- writing the verdicts into the result ---- */

static void clear_verdicts(result_t *r)
{
	for (uint32_t i = 0; i < r->threshold_count; i++)
		result_strfree(r, r->thresholds[i].expr);
	result_release(r, r->thresholds, r->threshold_count * sizeof(*r->thresholds));
	r->thresholds = NULL;
	r->threshold_count = 0;
	result_strfree(r, r->assessment.profile);
	memset(&r->assessment, 0, sizeof(r->assessment));
	for (uint32_t i = 0; i < r->recommendation_count; i++) {
		result_strfree(r, r->recommendations[i].title);
		result_strfree(r, r->recommendations[i].detail);
	}
	result_release(r, r->recommendations,
	               r->recommendation_count * sizeof(*r->recommendations));
	r->recommendations = NULL;
	r->recommendation_count = 0;
	r->has_cost = false;
}

/* Figures as the document holds them (to its decimals), so a renderer of this result and of
 * the document read back print the same. */
static int put_thresholds(result_t *r, const report_asked_t *a, const double *values,
                          const bool *passed)
{
	if (a->threshold_count > 0 &&
	    !(r->thresholds = result_alloc(r, (size_t)a->threshold_count * sizeof(*r->thresholds))))
		return -ENOMEM;
	for (int i = 0; i < a->threshold_count; i++) {
		result_threshold_t *t = &r->thresholds[r->threshold_count++];

		t->expr = result_strdup(r, a->thresholds[i].expr);
		t->value = result_round(values[i], 6);
		t->ok = passed[i];
		if (!t->expr)
			return -ENOMEM;
	}
	return 0;
}

static int put_assessment(result_t *r, const report_asked_t *a, const assessment_t *s)
{
	result_assessment_t *o = &r->assessment;

	o->present = true;
	o->pass = s->pass;
	snprintf(o->latency_class, sizeof(o->latency_class), "%s",
	         s->latency_class ? s->latency_class : "");
	o->latency_ok = s->latency_ok;
	o->throughput_ok = s->throughput_ok;
	o->errors_ok = s->errors_ok;
	o->thresholds_ok = s->thresholds_ok;
	o->p95_ms = result_round(s->p95_ms, 3);
	o->target_p95_ms = result_round(a->targets.p95_ms, 3);
	o->target_max_error_rate = result_round(a->targets.max_error_rate, 6);
	o->target_min_rps = result_round(a->targets.min_rps, 3);
	o->aborted = a->aborted;
	if (a->profile && !(o->profile = result_strdup(r, a->profile)))
		return -ENOMEM;
	return 0;
}

static int put_recommendations(result_t *r, const recommendation_t *recs, int n)
{
	if (n > 0 &&
	    !(r->recommendations = result_alloc(r, (size_t)n * sizeof(*r->recommendations))))
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		const recommendation_t *g = &recs[i];
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
	return 0;
}

/* ---- the recommendations' figures ---- */

/* Open model: the rate asked, averaged over the run's seconds (stages ramp it). */
static double asked_rate(const result_t *r)
{
	double asked = 0, seconds = 0;
	result_cursor_t c;

	if (!r->config.open_model)
		return 0;
	result_cursor_init(&c);
	for (size_t i = 0; i < r->point_count; i++) {
		const result_point_t *p = result_point_at(r, i, &c);

		if (!p) { /* the timeline cannot be read: the rate the config says */
			seconds = 0;
			break;
		}
		asked += p->target * p->length_s;
		seconds += p->length_s;
	}
	result_cursor_free(&c);
	return seconds > 0 ? asked / seconds : r->config.rate;
}

/* The scraped target's figures (every shard of a merge watched the same target). */
static void target_input(const result_target_t *t, recommend_input_t *in)
{
	in->scraped = true;
	in->scrape_error = t->samples ? NULL : t->last_error;
	in->cpu_cores_avg = t->cpu_cores_avg;
	in->cpu_cores_max = t->cpu_cores_max;
	in->cpu_capacity_cores = t->cpu_capacity_cores;
	in->cpu_basis = t->cpu_basis;
	in->cpu_utilisation = t->cpu_utilisation;
	in->rss_bytes_max = t->rss_bytes_max;
	in->memory_limit_bytes = t->memory_limit_bytes;
	in->memory_utilisation = t->memory_utilisation;
	in->in_flight_max = t->in_flight_max;
	in->pool_waits = t->pool_waits;
	in->pool_timeouts = t->pool_timeouts;
	in->pool_wait_ms_mean = t->pool_wait_ms_mean;
	in->cpu_limit_cores = t->cpu_limit_cores;
	in->cpu_throttled_share = t->cpu_throttled_share;
	in->cpu_throttled_periods = t->cpu_throttled_periods;
	in->cpu_periods = t->cpu_periods;
	in->cpu_throttled_s = t->cpu_throttled_s;
	in->oom_kills = t->oom_kills;
}

static int put_advice(result_t *r, const report_asked_t *a, const assessment_t *s)
{
	recommendation_t recs[RECOMMEND_MAX];
	report_cost_t cost = {.per_hour_usd = a->cost_per_hour_usd, .replicas = a->replicas};
	recommend_input_t in;
	report_totals_t tot;

	report_totals(r, &tot);
	recommend_input_init(&in);
	in.p95_ms = s->p95_ms;
	in.target_p95_ms = a->targets.p95_ms;
	in.error_rate = tot.error_rate;
	in.max_error_rate = a->targets.max_error_rate;
	in.requests = tot.requests;
	in.rps = tot.rps;
	in.asked_rps = asked_rate(r);
	in.min_rps = a->targets.min_rps;
	in.throughput_ok = s->throughput_ok;
	in.dropped = r->counters.dropped;
	in.late = r->counters.late;
	in.connections = (uint32_t)r->generator.connections; /* the generators' own */
	in.generator_saturated = r->generator.saturated;
	in.replicas = a->replicas ? a->replicas : 1;
	in.cost_per_hour = a->cost_per_hour_usd;
	if (r->has_target)
		target_input(&r->target, &in);
	if (put_recommendations(r, recs, recommend_compute(&in, recs, RECOMMEND_MAX)) < 0)
		return -ENOMEM;
	if (!(cost.per_hour_usd > 0))
		return 0;
	recommend_cost(&cost, tot.rps);
	r->has_cost = true;
	r->cost_per_hour_usd = cost.per_hour_usd;
	r->cost_replicas = cost.replicas;
	r->cost_requests_per_s = cost.requests_per_s;
	r->cost_total_per_hour_usd = cost.total_per_hour_usd;
	r->cost_per_million_requests_usd = cost.per_million_requests_usd;
	return 0;
}

int report_judge(result_t *r, const report_asked_t *a)
{
	double values[THRESHOLD_MAX];
	bool passed[THRESHOLD_MAX], ok = true;
	hist_t *hists;
	report_totals_t tot;
	assessment_t s;
	double p95;
	int rc;

	if (a->threshold_count < 0 || a->threshold_count > THRESHOLD_MAX)
		return -EINVAL;
	if (!(hists = malloc(2 * sizeof(*hists))))
		return -ENOMEM;
	judge_all(r, a->thresholds, a->threshold_count, hists, values, passed);
	for (int i = 0; i < a->threshold_count; i++)
		ok &= passed[i];
	/* no response, no latency: NAN makes the latency verdict fail instead of "excellent" */
	p95 = hists[0].total ? hist_percentile(&hists[0], 95) / 1e3 : NAN;
	free(hists);
	report_totals(r, &tot);
	assess_run(&a->targets, p95, tot.rps, tot.error_rate, ok, &s);
	clear_verdicts(r);
	if ((rc = put_thresholds(r, a, values, passed)) < 0 ||
	    (rc = put_assessment(r, a, &s)) < 0 || (rc = put_advice(r, a, &s)) < 0)
		return rc;
	return 0;
}

/* ---- what a merge's shards were asked ---- */

static bool has_expr(const result_t *r, const char *expr)
{
	for (uint32_t i = 0; i < r->threshold_count; i++)
		if (strcmp(r->thresholds[i].expr, expr) == 0)
			return true;
	return false;
}

/* The expressions of a that b lacks: one named in err. */
static int same_thresholds(const result_t *a, const char *an, const result_t *b, const char *bn,
                           char *err, size_t errlen)
{
	for (uint32_t i = 0; i < a->threshold_count; i++)
		if (!has_expr(b, a->thresholds[i].expr)) {
			snprintf(err, errlen,
			         "%s: thresholds: '%s' of %s is not one of %s's (the shards of one "
			         "test are judged by the same thresholds)",
			         bn, a->thresholds[i].expr, an, bn);
			return -EINVAL;
		}
	return 0;
}

int report_asked_of(const result_t *const *parts, const char *const *names, size_t n,
                    threshold_t *t, report_asked_t *asked, char *err, size_t errlen)
{
	const result_t *first = parts[0];
	char perr[256];

	*asked = (report_asked_t){.thresholds = t};
	assess_defaults(&asked->targets);
	for (size_t i = 1; i < n; i++)
		if (same_thresholds(first, names[0], parts[i], names[i], err, errlen) < 0 ||
		    same_thresholds(parts[i], names[i], first, names[0], err, errlen) < 0)
			return -EINVAL;
	for (uint32_t i = 0; i < first->threshold_count; i++) {
		if (i == THRESHOLD_MAX) {
			snprintf(err, errlen, "%s: thresholds: more than %d", names[0],
			         THRESHOLD_MAX);
			return -EINVAL;
		}
		if (threshold_parse(first->thresholds[i].expr, &t[i], perr, sizeof(perr)) < 0) {
			snprintf(err, errlen, "%s: thresholds: %s", names[0], perr);
			return -EINVAL;
		}
		asked->threshold_count++;
	}
	for (size_t i = 0; i < n; i++) {
		const result_assessment_t *a = &parts[i]->assessment;

		if (a->present && i == 0) {
			asked->targets.p95_ms = a->target_p95_ms;
			asked->targets.max_error_rate = a->target_max_error_rate;
			asked->targets.min_rps = a->target_min_rps;
			asked->profile = a->profile;
		}
		asked->aborted |= a->aborted;
		if (parts[i]->has_cost && !(asked->cost_per_hour_usd > 0)) {
			asked->cost_per_hour_usd = parts[i]->cost_per_hour_usd;
			asked->replicas = (uint32_t)parts[i]->cost_replicas;
		}
	}
	return 0;
}

/* ---- the whole of a merge ---- */

/* The earliest start of every part: the whole's, against which each part's seconds are
 * rounded once (result_merge). Without a start in every part, they are taken to have
 * started together. */
static uint64_t earliest_start(result_t *parts, size_t n)
{
	uint64_t earliest = 0;
	bool all = true;

	for (size_t i = 0; i < n; i++)
		all &= parts[i].has_started_at;
	for (size_t i = 0; i < n; i++) {
		if (!all)
			parts[i].started_wall_ns = 0;
		if (!i || parts[i].started_wall_ns < earliest)
			earliest = parts[i].started_wall_ns;
	}
	return earliest;
}

int report_merge(result_t *parts, const char *const *names, size_t n, result_t *whole, char *err,
                 size_t errlen)
{
	threshold_t thresholds[THRESHOLD_MAX];
	const result_t **view = calloc(n ? n : 1, sizeof(*view));
	report_asked_t asked;
	int rc;

	result_init(whole);
	if (!view) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		view[i] = &parts[i];
	if ((rc = result_merge_check(view, names, n, err, errlen)) == 0 &&
	    (rc = report_asked_of(view, names, n, thresholds, &asked, err, errlen)) == 0) {
		whole->started_wall_ns = earliest_start(parts, n);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = result_merge(whole, &parts[i], names[i]);
		if (rc == 0)
			rc = report_judge(whole, &asked);
		if (rc < 0)
			snprintf(err, errlen, "%s",
			         rc == -ENOMEM ? "out of memory" : "a histogram does not decode");
	}
	free(view);
	return rc;
}
