/* report_target: the scraped samples turned into the result's target figures. Samples arrive
 * about once a second on the scraper's own cadence; CPU is a counter, so it is interpolated
 * onto the timeline's interval ends (cores = Δcpu / Δt), gauges take the nearest sample. The
 * figures go into the result (result_t.target and each second's), where the judge
 * (report_judge.c) reads them for its recommendations; also the summary's target, advice and
 * cost (the document's are result/result_encode.c's). */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "report/report.h"
#include "scrape/scrape.h"

#define MAX_GAP_S    3.5 /* samples further apart leave the seconds between them unknown */
#define EDGE_SLACK_S 0.05
#define MIB          (1024.0 * 1024.0)

/* Cumulative process CPU against seconds since the run's start, resets skipped. */
typedef struct cpu_curve {
	double *x, *cum;
	size_t n;
} cpu_curve_t;

static int build_curve(const scrape_series_t *s, uint64_t start_wall_ns, cpu_curve_t *c)
{
	double prev = NAN;

	c->n = 0;
	c->x = malloc((s->count ? s->count : 1) * sizeof(double));
	c->cum = malloc((s->count ? s->count : 1) * sizeof(double));
	if (!c->x || !c->cum)
		return -1;
	for (size_t k = 0; k < s->count; k++) {
		const scrape_sample_t *x = &s->samples[k];

		if (isnan(x->cpu_seconds))
			continue;
		c->x[c->n] = ((double)x->wall_ns - (double)start_wall_ns) / NS_PER_S;
		/* a counter that went down means the target restarted: count from its new value */
		c->cum[c->n] =
		    c->n ? c->cum[c->n - 1] +
		               (x->cpu_seconds >= prev ? x->cpu_seconds - prev : x->cpu_seconds)
		         : 0;
		prev = x->cpu_seconds;
		c->n++;
	}
	return 0;
}

/* The cumulative CPU at x seconds, linear between the samples around it; false outside the
 * samples, or (with strict) between two samples too far apart to say. */
static bool cum_at(const cpu_curve_t *c, double x, bool strict, double *out)
{
	size_t lo = 0, hi;

	if (c->n < 2 || x < c->x[0] - EDGE_SLACK_S || x > c->x[c->n - 1] + EDGE_SLACK_S)
		return false;
	if (x <= c->x[0])
		return *out = c->cum[0], true;
	if (x >= c->x[c->n - 1])
		return *out = c->cum[c->n - 1], true;
	hi = c->n - 1;
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (c->x[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	if (strict && c->x[hi] - c->x[lo] > MAX_GAP_S)
		return false;
	if (c->x[hi] <= c->x[lo])
		return *out = c->cum[hi], true;
	*out = c->cum[lo] + (c->cum[hi] - c->cum[lo]) * (x - c->x[lo]) / (c->x[hi] - c->x[lo]);
	return true;
}

static double rss_near(const scrape_series_t *s, uint64_t start_wall_ns, double x);

/* Each second's target CPU and RSS (timeline[].target_cpu_cores, target_rss_bytes), the
 * busiest second and the run's average. 0, or a negative errno: the timeline could not be
 * read or written. */
static int cpu_figures(result_t *r, const cpu_curve_t *c, const scrape_series_t *s)
{
	result_target_t *t = &r->target;
	double duration = r->duration_s, a, b, ca, cb;
	result_cursor_t cursor;
	int rc = 0;

	t->cpu_cores_avg = t->cpu_cores_max = NAN;
	result_cursor_init(&cursor);
	for (size_t i = 0; i < r->point_count && rc == 0; i++) {
		const result_point_t *at = result_point_at(r, i, &cursor);
		result_point_t p;

		if (!at) {
			rc = cursor.error;
			break;
		}
		p = *at;
		p.target_rss_bytes = rss_near(s, r->started_wall_ns, p.t);
		p.target_cpu_cores = NAN;
		if (p.length_s > 0.05 && cum_at(c, p.t - p.length_s, true, &ca) &&
		    cum_at(c, p.t, true, &cb)) {
			p.target_cpu_cores = (cb - ca) / p.length_s;
			/* a short last interval is too coarse for the 10 ms ticks of the counter */
			if (p.length_s >= 0.5 && !(p.target_cpu_cores <= t->cpu_cores_max))
				t->cpu_cores_max = p.target_cpu_cores;
		}
		rc = result_point_update(r, i, &p);
	}
	result_cursor_free(&cursor);
	if (rc < 0 || c->n < 2)
		return rc;
	a = c->x[0] > 0 ? c->x[0] : 0;
	b = c->x[c->n - 1] < duration ? c->x[c->n - 1] : duration;
	if (b - a >= 0.5 && cum_at(c, a, false, &ca) && cum_at(c, b, false, &cb))
		t->cpu_cores_avg = (cb - ca) / (b - a);
	if (isnan(t->cpu_cores_max))
		t->cpu_cores_max = t->cpu_cores_avg;
	return 0;
}

/* The gauges: maxima over the run, limits as last reported, counters as increases. */
static void gauge_figures(result_target_t *t, const scrape_series_t *s)
{
	double first_timeouts = NAN, first_sum = NAN, first_count = NAN, sum = NAN, count = NAN;

	for (size_t k = 0; k < s->count; k++) {
		const scrape_sample_t *x = &s->samples[k];

		if (!(x->rss_bytes <= t->rss_bytes_max))
			t->rss_bytes_max = isnan(x->rss_bytes) ? t->rss_bytes_max : x->rss_bytes;
		if (!(x->in_flight <= t->in_flight_max))
			t->in_flight_max = isnan(x->in_flight) ? t->in_flight_max : x->in_flight;
		if (!(x->pool_pending <= t->pool_waits))
			t->pool_waits = isnan(x->pool_pending) ? t->pool_waits : x->pool_pending;
		if (!isnan(x->cpu_limit_cores))
			t->cpu_limit_cores = x->cpu_limit_cores;
		if (!isnan(x->memory_limit_bytes))
			t->memory_limit_bytes = x->memory_limit_bytes;
		if (!isnan(x->workers))
			t->workers = x->workers;
		if (!isnan(x->pool_timeouts)) {
			if (isnan(first_timeouts))
				first_timeouts = x->pool_timeouts;
			t->pool_timeouts = x->pool_timeouts - first_timeouts;
		}
		if (!isnan(x->pool_wait_sum_s) && !isnan(x->pool_wait_count)) {
			if (isnan(first_sum))
				first_sum = x->pool_wait_sum_s, first_count = x->pool_wait_count;
			sum = x->pool_wait_sum_s - first_sum;
			count = x->pool_wait_count - first_count;
		}
	}
	if (!isnan(count))
		t->pool_wait_ms_mean = count > 0 ? sum / count * 1e3 : 0;
	if (t->pool_timeouts < 0)
		t->pool_timeouts = 0;
}

/* What a counter of the samples grew by during the run; a counter that went back counts from
 * its new value (the cgroup was made anew). NAN when no sample had it. */
static double increase(const scrape_series_t *s, size_t field)
{
	double total = NAN, prev = NAN;

	for (size_t k = 0; k < s->count; k++) {
		double v = *(const double *)((const char *)&s->samples[k] + field);

		if (isnan(v))
			continue;
		if (isnan(total))
			total = 0;
		else
			total += v >= prev ? v - prev : v;
		prev = v;
	}
	return total;
}

static void cgroup_figures(result_target_t *t, const scrape_series_t *s)
{
	t->cpu_periods = increase(s, offsetof(scrape_sample_t, cpu_periods));
	t->cpu_throttled_periods = increase(s, offsetof(scrape_sample_t, cpu_throttled_periods));
	t->cpu_throttled_s = increase(s, offsetof(scrape_sample_t, cpu_throttled_s));
	t->cpu_throttled_share =
	    t->cpu_periods > 0 ? t->cpu_throttled_periods / t->cpu_periods : NAN;
	t->oom_kills = increase(s, offsetof(scrape_sample_t, oom_kills));
}

/* Capacity is the tightest known bound: the cgroup limit, the target's worker threads (unless
 * the process used more than them: then they do not bound it) and the host's cores. */
static const char *capacity(result_target_t *t)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	const char *basis = "host_cores";

	t->host_cores = cpus > 0 ? (double)cpus : NAN;
	t->cpu_capacity_cores = t->host_cores;
	if (t->workers > 0 && !(t->cpu_cores_avg > t->workers * 1.1) &&
	    !(t->workers >= t->cpu_capacity_cores)) {
		t->cpu_capacity_cores = t->workers;
		basis = "workers";
	}
	if (t->cpu_limit_cores > 0 && !(t->cpu_limit_cores > t->cpu_capacity_cores)) {
		t->cpu_capacity_cores = t->cpu_limit_cores;
		basis = "cgroup_limit";
	}
	t->cpu_utilisation = t->cpu_cores_avg / t->cpu_capacity_cores;
	t->memory_utilisation = t->rss_bytes_max / t->memory_limit_bytes;
	return basis;
}

/* The gauge sample nearest to x seconds, within a second and a half (a busy target answers
 * its scrapes late). */
static double rss_near(const scrape_series_t *s, uint64_t start_wall_ns, double x)
{
	double best = NAN, best_d = 1.5;

	for (size_t k = 0; k < s->count; k++) {
		double at = ((double)s->samples[k].wall_ns - (double)start_wall_ns) / NS_PER_S;
		double d = fabs(at - x);

		if (d <= best_d && !isnan(s->samples[k].rss_bytes)) {
			best = s->samples[k].rss_bytes;
			best_d = d;
		}
	}
	return best;
}

int report_target_scraped(result_t *r, const scrape_series_t *s)
{
	result_target_t *t = &r->target;
	cpu_curve_t c = {0};
	int rc = -ENOMEM;

	result_strfree(r, t->url);
	result_strfree(r, t->last_error);
	result_strfree(r, t->cpu_basis);
	*t = (result_target_t){
	    .samples = s->count,
	    .scrape_errors = s->errors,
	    .bad_lines = s->bad_lines,
	    .cpu_limit_cores = NAN,
	    .workers = NAN,
	    .memory_limit_bytes = NAN,
	    .rss_bytes_max = NAN,
	    .in_flight_max = NAN,
	    .pool_waits = NAN,
	    .pool_timeouts = NAN,
	    .pool_wait_ms_mean = NAN,
	};
	r->has_target = true;
	if (build_curve(s, r->started_wall_ns, &c) < 0 || !(t->url = result_strdup(r, s->url)) ||
	    (s->last_error[0] && !(t->last_error = result_strdup(r, s->last_error))))
		goto out;
	if ((rc = cpu_figures(r, &c, s)) < 0)
		goto out;
	rc = -ENOMEM;
	gauge_figures(t, s);
	cgroup_figures(t, s);
	if ((t->cpu_basis = result_strdup(r, capacity(t))))
		rc = 0;
out:
	free(c.x);
	free(c.cum);
	return rc;
}

/* ---- the terminal summary ---- */

/* text wrapped at `width` columns, every line after the first indented by `indent` */
static void put_wrapped(buf_t *out, const char *text, int indent, int width)
{
	const char *p = text;

	while (*p) {
		int n = (int)strlen(p), cut = n;

		if (n > width) {
			for (cut = width; cut > 0 && p[cut] != ' '; cut--)
				;
			if (cut == 0)
				cut = width;
		}
		buf_printf(out, "%.*s\n", cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		if (*p)
			buf_printf(out, "%*s", indent, "");
	}
}

static void put_target(buf_t *out, const result_target_t *t)
{
	buf_printf(out, "\n  %-10s %s: %llu samples", "target", t->url ? t->url : "",
	           (unsigned long long)t->samples);
	if (t->scrape_errors)
		buf_printf(out, ", %llu failed (%s)", (unsigned long long)t->scrape_errors,
		           t->last_error ? t->last_error : "");
	buf_append_str(out, "\n");
	if (!t->samples)
		return;
	if (!isnan(t->cpu_cores_avg))
		buf_printf(out, "  %-10s CPU %.2f cores avg, %.2f max: %.0f%% of %.2f cores (%s)\n",
		           "", t->cpu_cores_avg, t->cpu_cores_max, t->cpu_utilisation * 100,
		           t->cpu_capacity_cores, t->cpu_basis ? t->cpu_basis : "");
	if (!isnan(t->rss_bytes_max)) {
		buf_printf(out, "  %-10s RSS max %.1f MiB", "", t->rss_bytes_max / MIB);
		if (!isnan(t->memory_limit_bytes))
			buf_printf(out, ": %.0f%% of a %.1f MiB limit", t->memory_utilisation * 100,
			           t->memory_limit_bytes / MIB);
		buf_append_str(out, "\n");
	}
	if (t->cpu_throttled_periods > 0)
		buf_printf(
		    out,
		    "  %-10s CPU throttled in %.0f of %.0f periods (%.0f%%), %.2f s held back\n",
		    "", t->cpu_throttled_periods, t->cpu_periods, t->cpu_throttled_share * 100,
		    t->cpu_throttled_s);
	if (t->oom_kills > 0)
		buf_printf(out, "  %-10s OOM-killed %.0f time%s in its cgroup\n", "", t->oom_kills,
		           t->oom_kills == 1 ? "" : "s");
	if (!isnan(t->in_flight_max) || !isnan(t->pool_waits)) {
		buf_printf(out, "  %-10s", "");
		if (!isnan(t->in_flight_max))
			buf_printf(out, " in flight max %.0f", t->in_flight_max);
		if (!isnan(t->pool_waits))
			buf_printf(out, "%s DB pool: up to %.0f waiting, %.0f timeouts",
			           isnan(t->in_flight_max) ? "" : ",", t->pool_waits,
			           isnan(t->pool_timeouts) ? 0 : t->pool_timeouts);
		buf_append_str(out, "\n");
	}
}

void report_text_advice(buf_t *out, const result_t *r)
{
	if (r->has_target)
		put_target(out, &r->target);
	for (uint32_t i = 0; i < r->recommendation_count; i++) {
		const result_recommendation_t *c = &r->recommendations[i];
		/* the severity as the summary shouts it: CRITICAL, WARNING, info */
		const char *label = strcmp(c->severity, "critical") == 0  ? "CRITICAL"
		                    : strcmp(c->severity, "warning") == 0 ? "WARNING"
		                                                          : c->severity;

		buf_printf(out, "%s  %-10s %-8s %s\n", i ? "" : "\n", i ? "" : "advice", label,
		           c->title ? c->title : "");
		buf_printf(out, "%22s", "");
		put_wrapped(out, c->detail ? c->detail : "", 22, 76);
	}
	if (r->has_cost && r->cost_per_hour_usd > 0) {
		buf_printf(out, "\n  %-10s $%.4g/h × %llu replica%s at %.1f req/s: ", "cost",
		           r->cost_per_hour_usd, (unsigned long long)r->cost_replicas,
		           r->cost_replicas == 1 ? "" : "s", r->cost_requests_per_s);
		if (isnan(r->cost_per_million_requests_usd))
			buf_append_str(out, "no requests served, no cost per request\n");
		else
			buf_printf(out, "$%.4g per million requests\n",
			           r->cost_per_million_requests_usd);
	}
}
