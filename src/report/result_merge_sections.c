/* result_merge_sections: the sections of the merge beyond the run's own figures — the
 * timeline aligned by wall-clock second, checks and script errors, custom metrics, the
 * generator, and the advice (recommendations and cost) recomputed for the whole. */
#include "report/result_merge_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report/recommend.h"
#include "result/result_doc.h"

/* ---- timeline ---- */

/* Each shard's points placed on the whole's seconds: a point that started s seconds after
 * the earliest shard's start (rounded) lands in slot s, so the merged point t = s + 1 holds
 * what every shard did in that wall-clock second. Slots only grow within a shard. */
static long *timeline_slots(merge_t *m, size_t i, size_t *len, long *last)
{
	const json_t *tl = result_doc_array(m->docs[i], "timeline");
	long *slots, prev = -1;

	*len = json_array_size(tl);
	slots = calloc(*len ? *len : 1, sizeof(long));
	for (size_t k = 0; slots && k < *len; k++) {
		long s = lround(m->offset_s[i] + result_doc_point_start(tl, k));

		slots[k] = s > prev ? s : prev + 1;
		prev = slots[k];
		if (prev > *last)
			*last = prev;
	}
	return slots;
}

/* One merged second from the points of the shards that ran during it (points[i] or NULL). */
static int merge_point(merge_t *m, const json_t **points, long slot, hist_t *sum, json_t **out)
{
	static const char *const summed[] = {"users",     "requests", "errors",
	                                     "late",      "dropped",  "bytes_in",
	                                     "bytes_out", "due",      "due_late"};
	static const char *const pkeys[] = {"p50_ms", "p95_ms", "p99_ms"};
	static const double pvalues[] = {50, 95, 99};
	double start = (double)slot, end = start + 1, target = 0, upper[3] = {0, 0, 0};
	double generator_cpu = 0;
	bool hists = true;
	json_t *p = NULL;
	int rc;

	hist_reset(sum);
	for (size_t i = 0; i < m->n; i++) {
		if (!points[i])
			continue;
		if (!p)
			p = json_deep_copy(
			    points[i]); /* keeps what is not summed (scraped figures) */
		target += result_doc_number(points[i], "target", 0);
		generator_cpu =
		    fmax(generator_cpu, result_doc_number(points[i], "generator_cpu", 0));
		for (size_t k = 0; k < 3; k++)
			upper[k] = fmax(upper[k], result_doc_number(points[i], pkeys[k], 0));
		rc = merge_decode(m, i, result_doc_get(points[i], "hist"), "timeline[].hist");
		if (rc < 0) {
			json_decref(p);
			return rc;
		}
		if (rc == 0)
			hist_merge(sum, m->scratch);
		else if (result_doc_number(points[i], "p99_ms", 0) > 0)
			hists = false; /* an older shard: it measured, but kept no histogram */
		/* else a second without a response: surge writes no "hist" for it */
	}
	if (!p)
		p = json_object(); /* a second when no shard ran */
	/* the last second may be shorter, as in a single run */
	if (m->duration_s > start && m->duration_s < end)
		end = m->duration_s;
	merge_put(p, "t", merge_real(end, 3));
	for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
		bool reported = k < 3; /* users, requests, errors; the rest when shards have them */
		uint64_t n = 0;

		for (size_t i = 0; i < m->n; i++) {
			reported |= result_doc_get(points[i], summed[k]) != NULL;
			n += result_doc_count(points[i], summed[k], 0);
		}
		if (reported)
			merge_put(p, summed[k], merge_count(n));
	}
	merge_put(p, "target", merge_real(target, 3));
	if (result_doc_get(p, "generator_cpu")) /* each shard's own generator: the busiest */
		merge_put(p, "generator_cpu", merge_real(generator_cpu, 3));
	merge_put(p, "rps",
	          merge_real(merge_per_second(result_doc_count(p, "requests", 0), end - start), 3));
	json_object_del(p, "hist");
	for (size_t k = 0; k < 3; k++)
		merge_put(p, pkeys[k],
		          merge_real(hists ? hist_percentile(sum, pvalues[k]) / 1e3 : upper[k], 3));
	if (hists && sum->total > 0) {
		json_t *text;

		if ((rc = merge_encode(m, sum, &text)) < 0) {
			json_decref(p);
			return rc;
		}
		merge_put(p, "hist", text);
	}
	*out = p;
	return 0;
}

int merge_timeline(merge_t *m, hist_t *sum)
{
	long **slots = calloc(m->n, sizeof(*slots)), last = -1;
	size_t *len = calloc(m->n, sizeof(*len)), *at = calloc(m->n, sizeof(*at));
	const json_t **points = calloc(m->n, sizeof(*points));
	json_t *timeline = json_array();
	int rc = 0;

	if (!slots || !len || !at || !points || !timeline)
		rc = merge_fail(m, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < m->n; i++)
		if (!(slots[i] = timeline_slots(m, i, &len[i], &last)))
			rc = merge_fail(m, -ENOMEM, "out of memory");
	for (long s = 0; rc == 0 && s <= last; s++) {
		json_t *p;

		for (size_t i = 0; i < m->n; i++) {
			const json_t *tl = result_doc_array(m->docs[i], "timeline");

			while (at[i] < len[i] && slots[i][at[i]] < s)
				at[i]++;
			points[i] = at[i] < len[i] && slots[i][at[i]] == s
			                ? json_array_get(tl, at[i])
			                : NULL;
		}
		if ((rc = merge_point(m, points, s, sum, &p)) == 0)
			json_array_append_new(timeline, p);
	}
	merge_put(m->out, "timeline", timeline);
	for (size_t i = 0; slots && i < m->n; i++)
		free(slots[i]);
	free(slots);
	free(len);
	free(at);
	free(points);
	return rc;
}

/* ---- checks, script errors, custom metrics, generator ---- */

/* A list of tallies (checks[]: {name, passes, fails}; script_errors[]: {message, count})
 * summed by their key, in order of first appearance; absent when no shard has the list. */
static void merge_tallies(merge_t *m, const char *list, const char *by, const char *const *summed,
                          size_t summed_count)
{
	json_t *merged = json_array();
	bool any = false;

	for (size_t i = 0; i < m->n; i++) {
		const json_t *c;
		size_t k;

		any |= result_doc_array(m->docs[i], list) != NULL;
		json_array_foreach(result_doc_array(m->docs[i], list), k, c)
		{
			const char *name = result_doc_string(c, by, "");
			json_t *into = NULL, *e;
			size_t j;

			json_array_foreach(merged, j, e)
			{
				if (!into && strcmp(result_doc_string(e, by, ""), name) == 0)
					into = e;
			}
			if (!into) {
				into = json_deep_copy(c);
				for (size_t f = 0; f < summed_count; f++)
					merge_put(into, summed[f], merge_count(0));
				into = merge_append(merged, into); /* NULL: out of memory */
			}
			for (size_t f = 0; f < summed_count; f++)
				merge_put(into, summed[f],
				          merge_count(result_doc_count(into, summed[f], 0) +
				                      result_doc_count(c, summed[f], 0)));
		}
	}
	if (any)
		merge_put(m->out, list, merged);
	else
		json_decref(merged);
}

void merge_checks(merge_t *m)
{
	static const char *const checks[] = {"passes", "fails"}, *const errors[] = {"count"};

	merge_tallies(m, "checks", "name", checks, 2);
	merge_tallies(m, "script_errors", "message", errors, 1);
}

/* One trend over the shards: count summed, min/max/mean exact, percentiles from the union
 * of its histograms (µs of figures in ms, as result_encode writes them) (or the largest shard
 * figure, flagged, without them). */
static int merge_trend(merge_t *m, const char *name, json_t *out, hist_t *sum)
{
	static const char *const keys[] = {"p50", "p90", "p95", "p99"};
	static const double pvalues[] = {50, 90, 95, 99};
	double min = INFINITY, max = -INFINITY, total = 0, upper[4] = {0};
	bool hists = true;
	uint64_t n = 0;
	json_t *text;
	int rc;

	hist_reset(sum);
	for (size_t i = 0; i < m->n; i++) {
		const json_t *t = result_doc_object(
		    result_doc_object(result_doc_object(m->docs[i], "metrics"), "trends"), name);
		uint64_t c = result_doc_count(t, "count", 0);

		if (!t)
			continue;
		rc = merge_decode(m, i, result_doc_get(t, "histogram"), "metrics.trends histogram");
		if (rc < 0)
			return rc;
		if (rc == 0)
			hist_merge(sum, m->scratch);
		else
			hists = false;
		if (c == 0)
			continue;
		n += c;
		total += result_doc_number(t, "mean", 0) * (double)c;
		min = fmin(min, result_doc_number(t, "min", INFINITY));
		max = fmax(max, result_doc_number(t, "max", -INFINITY));
		for (size_t k = 0; k < 4; k++)
			upper[k] = fmax(upper[k], result_doc_number(t, keys[k], 0));
	}
	merge_put(out, "count", merge_count(n));
	merge_put(out, "min", merge_real(n && isfinite(min) ? min : 0, 3));
	merge_put(out, "mean", merge_real(n ? total / (double)n : 0, 3));
	merge_put(out, "max", merge_real(n && isfinite(max) ? max : 0, 3));
	for (size_t k = 0; k < 4; k++) {
		double v = hists ? hist_percentile(sum, pvalues[k]) / 1e3 : upper[k];

		merge_put(out, keys[k], merge_real(n ? fmin(v, max) : 0, 3));
	}
	if (!hists) {
		json_object_del(out, "histogram");
		merge_put(out, "approximate", json_true());
		return 0;
	}
	if ((rc = merge_encode(m, sum, &text)) < 0)
		return rc;
	merge_put(out, "histogram", text);
	return 0;
}

/* metrics: counters summed by name, trends merged by name. */
int merge_metrics(merge_t *m, hist_t *sum)
{
	json_t *metrics = json_object(), *counters = json_object(), *trends = json_object();
	bool any = false;
	int rc = 0;

	/* what merge_put could not set, jansson has freed: go on with what the object holds */
	merge_put(metrics, "counters", counters);
	merge_put(metrics, "trends", trends);
	counters = json_object_get(metrics, "counters");
	trends = json_object_get(metrics, "trends");
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		const json_t *mt = result_doc_object(m->docs[i], "metrics"), *t;
		const char *name;

		any |= mt != NULL;
		merge_sum_counts(counters, result_doc_object(mt, "counters"));
		json_object_foreach((json_t *)result_doc_object(mt, "trends"), name, t)
		{
			json_t *out;

			if (json_object_get(trends, name) || !json_is_object(t))
				continue;
			merge_put(trends, name, json_deep_copy(t));
			if (!(out =
			          json_object_get(trends, name))) { /* not set: jansson freed it */
				rc = merge_fail(m, -ENOMEM, "out of memory");
				break;
			}
			rc = merge_trend(m, name, out, sum);
			if (rc < 0)
				break;
		}
	}
	if (any && rc == 0)
		merge_put(m->out, "metrics", metrics);
	else
		json_decref(metrics);
	return rc;
}

/* generator: CPU and threads add up, memory and lag are each process's own (the largest),
 * and the whole is saturated when any shard was (its self-check's reason is the first
 * saturated shard's, with that shard's index). */
void merge_generator(merge_t *m)
{
	json_t *g = json_object_get(m->out, "generator"), *thread_cpu = json_array(), *why = NULL;
	double cpu = 0, thread_max = 0, rss = 0, lag_p99 = 0, lag_max = 0;
	uint64_t threads = 0, connections = 0;
	bool saturated = false;

	if (!json_is_object(g)) {
		json_decref(thread_cpu);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const json_t *s = result_doc_object(m->docs[i], "generator"), *v;
		size_t k;

		cpu += result_doc_number(s, "cpu_s", 0);
		rss = fmax(rss, result_doc_number(s, "max_rss_bytes", 0));
		threads += result_doc_count(s, "threads", 0);
		connections += result_doc_count(s, "connections", 0);
		thread_max = fmax(thread_max, result_doc_number(s, "thread_cpu_max", 0));
		lag_p99 = fmax(lag_p99, result_doc_number(s, "sched_lag_p99_us", 0));
		lag_max = fmax(lag_max, result_doc_number(s, "sched_lag_max_us", 0));
		if (result_doc_bool(s, "saturated", false) && !saturated) {
			saturated = true;
			why = result_doc_object(s, "saturation")
			          ? json_deep_copy(result_doc_object(s, "saturation"))
			          : NULL;
			if (why)
				json_object_set_new(why, "shard", json_integer((json_int_t)i));
		}
		json_array_foreach(result_doc_array(s, "thread_cpu"), k, v)
		{
			json_array_append(thread_cpu, (json_t *)v);
		}
	}
	merge_put(g, "cpu_s", merge_real(cpu, 3));
	merge_put(g, "max_rss_bytes", merge_count((uint64_t)rss));
	merge_put(g, "threads", merge_count(threads));
	merge_put(g, "connections", merge_count(connections));
	merge_put(g, "thread_cpu_max", merge_real(thread_max, 3));
	merge_put(g, "thread_cpu", thread_cpu);
	merge_put(g, "sched_lag_p99_us",
	          merge_count((uint64_t)lag_p99)); /* an upper bound: the worst shard */
	merge_put(g, "sched_lag_max_us", merge_count((uint64_t)lag_max));
	merge_put(g, "saturated", json_boolean(saturated));
	merge_put(g, "saturation", why ? why : json_null());
}

/* ---- advice ---- */

/* The mean rate asked of an open-model run over the merged timeline; 0 in the closed model. */
static double asked_rate(merge_t *m)
{
	const json_t *p;
	double asked = 0, seconds = 0, prev = 0;
	size_t i;

	if (strcmp(result_doc_string(result_doc_object(m->out, "config"), "model", ""), "open"))
		return 0;
	json_array_foreach(result_doc_array(m->out, "timeline"), i, p)
	{
		double t = result_doc_number(p, "t", prev);

		asked += result_doc_number(p, "target", 0) * (t - prev);
		seconds += t - prev;
		prev = t;
	}
	return seconds > 0 ? asked / seconds : result_doc_path_number(m->out, "config.rate", 0);
}

/* The scraped figures of the target (the same target under the whole load, whichever shard
 * scraped it). */
static void target_input(const json_t *t, recommend_input_t *in)
{
	in->scraped = true;
	in->scrape_error =
	    result_doc_count(t, "samples", 0) ? NULL : result_doc_string(t, "last_error", NULL);
	in->cpu_cores_avg = result_doc_number(t, "cpu_cores_avg", NAN);
	in->cpu_cores_max = result_doc_number(t, "cpu_cores_max", NAN);
	in->cpu_capacity_cores = result_doc_number(t, "cpu_capacity_cores", NAN);
	in->cpu_basis = result_doc_string(t, "cpu_basis", NULL);
	in->cpu_utilisation = result_doc_number(t, "cpu_utilisation", NAN);
	in->rss_bytes_max = result_doc_number(t, "rss_bytes_max", NAN);
	in->memory_limit_bytes = result_doc_number(t, "memory_limit_bytes", NAN);
	in->memory_utilisation = result_doc_number(t, "memory_utilisation", NAN);
	in->in_flight_max = result_doc_number(t, "in_flight_max", NAN);
	in->pool_waits = result_doc_number(t, "pool_waits", NAN);
	in->pool_timeouts = result_doc_number(t, "pool_timeouts", NAN);
	in->pool_wait_ms_mean = result_doc_number(t, "pool_wait_ms_mean", NAN);
}

static json_t *recommendation_json(const recommendation_t *r)
{
	json_t *figures = json_object();

	for (int f = 0; f < r->figure_count; f++)
		merge_put(figures, r->figures[f].name, merge_real(r->figures[f].value, 6));
	return json_pack("{s:s,s:s,s:s,s:s,s:o}", "severity", recommend_severity_name(r->severity),
	                 "kind", r->kind, "title", r->title, "detail", r->detail, "figures",
	                 figures);
}

void merge_advice(merge_t *m, const assess_targets_t *targets, const assessment_t *a)
{
	const json_t *totals = json_object_get(m->out, "totals"), *target = NULL;
	const json_t *cost = result_doc_object(m->docs[0], "cost");
	const json_t *gen = result_doc_object(m->out, "generator");
	recommendation_t recs[RECOMMEND_MAX];
	recommend_input_t in;
	json_t *list = json_array();
	int n;

	for (size_t i = 0; i < m->n && !target; i++)
		target = result_doc_object(m->docs[i], "target");
	recommend_input_init(&in);
	in.p95_ms = a->p95_ms;
	in.target_p95_ms = targets->p95_ms;
	in.error_rate = a->error_rate;
	in.max_error_rate = targets->max_error_rate;
	in.requests = result_doc_count(totals, "requests", 0);
	in.rps = a->rps;
	in.asked_rps = asked_rate(m);
	in.min_rps = targets->min_rps;
	in.throughput_ok = a->throughput_ok;
	in.dropped = result_doc_count(totals, "dropped", 0);
	in.late = result_doc_count(totals, "late", 0);
	in.connections = (uint32_t)result_doc_count(gen, "connections", 0);
	in.generator_saturated = result_doc_bool(gen, "saturated", false);
	in.replicas = (uint32_t)result_doc_count(cost, "replicas", 1);
	in.cost_per_hour = result_doc_number(cost, "per_hour_usd", 0);
	if (target) {
		target_input(target, &in);
		if (!json_object_get(m->out, "target"))
			json_object_set_new(m->out, "target", json_deep_copy(target));
	}
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	for (int i = 0; i < n; i++)
		json_array_append_new(list, recommendation_json(&recs[i]));
	merge_put(m->out, "recommendations", list);
	if (in.cost_per_hour > 0) {
		report_cost_t c = {.per_hour_usd = in.cost_per_hour, .replicas = in.replicas};
		json_t *out = json_object();

		recommend_cost(&c, a->rps);
		merge_put(out, "per_hour_usd", merge_real(c.per_hour_usd, 6));
		merge_put(out, "replicas", merge_count(c.replicas));
		merge_put(out, "requests_per_s", merge_real(c.requests_per_s, 3));
		merge_put(out, "total_per_hour_usd", merge_real(c.total_per_hour_usd, 6));
		merge_put(out, "per_million_requests_usd",
		          merge_real(c.per_million_requests_usd, 6));
		merge_put(m->out, "cost", out);
	}
}
