/* recommend: the seeds' rules over measured figures. Each rule writes a title a reader acts
 * on and a detail that shows its arithmetic, so a recommendation can be checked by hand. */
#include "report/recommend.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIB (1024.0 * 1024.0)

static const char *const severity_names[] = {"critical", "warning", "info"};

const char *recommend_severity_name(recommend_severity_t s)
{
	return s <= REC_INFO ? severity_names[s] : "info";
}

void recommend_input_init(recommend_input_t *in)
{
	memset(in, 0, sizeof(*in));
	in->replicas = 1;
	in->cpu_cores_avg = in->cpu_cores_max = in->cpu_capacity_cores = NAN;
	in->cpu_utilisation = NAN;
	in->rss_bytes_max = in->memory_limit_bytes = in->memory_utilisation = NAN;
	in->in_flight_max = in->pool_waits = in->pool_timeouts = in->pool_wait_ms_mean = NAN;
	in->cpu_limit_cores = in->cpu_periods = in->cpu_throttled_periods = NAN;
	in->cpu_throttled_share = in->cpu_throttled_s = in->oom_kills = NAN;
}

uint32_t recommend_replicas(uint32_t replicas, double utilisation)
{
	double n;

	if (!replicas)
		replicas = 1;
	if (!(utilisation > 0))
		return 1;
	/* a hair below an integer stays on it: 2 × 0.35 / 0.7 is 1, not 2 */
	n = ceil((double)replicas * utilisation / RECOMMEND_UTILISATION - 1e-9);
	return n < 1 ? 1 : n > 1e6 ? 1000000 : (uint32_t)n;
}

/* ---- building one recommendation ---- */

typedef struct advice {
	recommendation_t *out;
	int count, max;
} advice_t;

static recommendation_t *add(advice_t *a, recommend_severity_t sev, const char *kind,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static recommendation_t *add(advice_t *a, recommend_severity_t sev, const char *kind,
                             const char *fmt, ...)
{
	recommendation_t *r;
	va_list ap;

	if (a->count == a->max)
		return NULL;
	r = &a->out[a->count++];
	memset(r, 0, sizeof(*r));
	r->severity = sev;
	r->kind = kind;
	va_start(ap, fmt);
	vsnprintf(r->title, sizeof(r->title), fmt, ap);
	va_end(ap);
	return r;
}

static void say(recommendation_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(recommendation_t *r, const char *fmt, ...)
{
	size_t used = strlen(r->detail);
	va_list ap;

	if (used + 1 >= sizeof(r->detail))
		return;
	va_start(ap, fmt);
	vsnprintf(r->detail + used, sizeof(r->detail) - used, fmt, ap);
	va_end(ap);
}

static void figure(recommendation_t *r, const char *name, double value)
{
	if (r->figure_count < RECOMMEND_FIGURES_MAX)
		r->figures[r->figure_count++] = (recommend_figure_t){name, value};
}

/* ---- shared phrases ---- */

static const char *basis_text(const char *basis)
{
	if (basis && strcmp(basis, "cgroup_limit") == 0)
		return "its cgroup CPU limit";
	if (basis && strcmp(basis, "workers") == 0)
		return "its worker threads";
	return "the host's cores";
}

/* Open model: a target that fell behind the asked rate used less CPU than the load needed;
 * scaled by asked / achieved, the utilisation says what the asked rate would have taken. */
static double demand_utilisation(const recommend_input_t *in)
{
	double u = in->cpu_utilisation;

	if (in->asked_rps > 0 && in->rps > 0 && in->rps < in->asked_rps)
		u *= in->asked_rps / in->rps;
	return u;
}

static void say_cpu(recommendation_t *r, const recommend_input_t *in)
{
	say(r, "CPU averaged %.2f cores (busiest second %.2f) of %.2f (%s): %.0f %%. ",
	    in->cpu_cores_avg, in->cpu_cores_max, in->cpu_capacity_cores, basis_text(in->cpu_basis),
	    in->cpu_utilisation * 100);
	figure(r, "cpu_cores_avg", in->cpu_cores_avg);
	figure(r, "cpu_cores_max", in->cpu_cores_max);
	figure(r, "cpu_capacity_cores", in->cpu_capacity_cores);
	figure(r, "cpu_utilisation", in->cpu_utilisation);
}

/* "Replicas needed = ceil(R × U / 0.7) = N", with the demand adjustment and the cost when
 * known; returns N. */
static uint32_t say_replicas(recommendation_t *r, const recommend_input_t *in)
{
	double u = demand_utilisation(in);
	uint32_t n = recommend_replicas(in->replicas, u);

	if (u != in->cpu_utilisation)
		say(r,
		    "The target served %.1f of the %.1f req/s asked, so the load wanted %.0f %% "
		    "(%.0f %% × %.1f / %.1f). ",
		    in->rps, in->asked_rps, u * 100, in->cpu_utilisation * 100, in->asked_rps,
		    in->rps);
	say(r, "Replicas needed for %.0f %% CPU: ceil(%u × %.2f / %.1f) = %u",
	    RECOMMEND_UTILISATION * 100, in->replicas, u, RECOMMEND_UTILISATION, n);
	if (in->cpu_utilisation >= 0.95)
		say(r, " (a lower bound: a saturated CPU hides how much more the load wanted)");
	say(r, ". ");
	if (in->cost_per_hour > 0) {
		say(r, "At $%.4g per replica-hour: $%.4g/h instead of $%.4g/h. ", in->cost_per_hour,
		    in->cost_per_hour * n, in->cost_per_hour * in->replicas);
		figure(r, "cost_per_hour_usd_needed", in->cost_per_hour * n);
	}
	figure(r, "replicas", in->replicas);
	figure(r, "replicas_needed", n);
	return n;
}

/* The list's last "; " becomes ". " */
static void end_sentence(recommendation_t *r)
{
	size_t n = strlen(r->detail);

	if (n >= 2 && r->detail[n - 2] == ';')
		r->detail[n - 2] = '.';
}

/* What the scrape shows about where requests wait, for the bottleneck rules. */
static void say_bottleneck(recommendation_t *r, const recommend_input_t *in)
{
	bool any = false;

	if (!in->scraped || (isnan(in->cpu_utilisation) && isnan(in->in_flight_max))) {
		say(r,
		    "Without the target's own figures the bottleneck cannot be named: rerun with "
		    "--scrape http://TARGET/metrics%s%s%s. ",
		    in->scrape_error ? " (this run's scrape failed: " : "",
		    in->scrape_error ? in->scrape_error : "", in->scrape_error ? ")" : "");
		return;
	}
	say(r, "The target's metrics show: ");
	if (in->cpu_utilisation > RECOMMEND_CPU_HIGH) {
		say(r, "CPU at %.0f %% of %s — CPU is the bottleneck; ", in->cpu_utilisation * 100,
		    basis_text(in->cpu_basis));
		any = true;
	} else if (!isnan(in->cpu_utilisation)) {
		say(r, "CPU at only %.0f %% — not the bottleneck; ", in->cpu_utilisation * 100);
	}
	if (in->cpu_throttled_share > RECOMMEND_THROTTLED) {
		say(r,
		    "CPU throttled by its cgroup limit in %.0f %% of periods — the limit, not the "
		    "load, holds requests back; ",
		    in->cpu_throttled_share * 100);
		any = true;
	}
	if (in->pool_waits > 0 || in->pool_timeouts > 0) {
		say(r,
		    "requests waited for a database connection (up to %.0f waiting, %.0f timed "
		    "out, %.1f ms mean wait) — grow the pool or shorten what holds it; ",
		    in->pool_waits, isnan(in->pool_timeouts) ? 0 : in->pool_timeouts,
		    isnan(in->pool_wait_ms_mean) ? 0 : in->pool_wait_ms_mean);
		figure(r, "pool_waits", in->pool_waits);
		figure(r, "pool_timeouts", in->pool_timeouts);
		any = true;
	} else if (!isnan(in->pool_waits)) {
		say(r, "no database pool waits; ");
	}
	if (!isnan(in->in_flight_max)) {
		figure(r, "in_flight_max", in->in_flight_max);
		figure(r, "connections", in->connections);
		if (in->connections && in->in_flight_max >= 0.9 * in->connections) {
			say(r,
			    "up to %.0f requests being handled inside the target at once for %u "
			    "connections — they wait in it, on locks, I/O or downstream calls; ",
			    in->in_flight_max, in->connections);
			any = true;
		} else {
			say(r,
			    "at most %.0f request%s being handled inside the target at a scrape "
			    "(for %u connections); ",
			    in->in_flight_max, in->in_flight_max == 1 ? "" : "s", in->connections);
		}
	}
	if (!any)
		say(r, "nothing conclusive; ");
	end_sentence(r);
}

/* ---- the rules ---- */

static void rule_errors(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;

	if (!(in->error_rate > in->max_error_rate) || !in->requests)
		return;
	r = add(a, REC_CRITICAL, "errors", "Fix errors before scaling: %.1f %% of requests failed",
	        in->error_rate * 100);
	if (!r)
		return;
	say(r,
	    "%.2f %% of %llu requests failed (target < %.1f %%). Errors come from the code, a "
	    "dependency or a limit; more replicas multiply them instead of removing them. Read "
	    "errors_by_kind and status_codes, fix the cause, then size the target.",
	    in->error_rate * 100, (unsigned long long)in->requests, in->max_error_rate * 100);
	figure(r, "error_rate", in->error_rate);
	figure(r, "max_error_rate", in->max_error_rate);
	figure(r, "requests", (double)in->requests);
}

static void rule_cpu(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;

	if (!(in->cpu_utilisation > RECOMMEND_CPU_HIGH))
		return;
	r = add(a, REC_CRITICAL, "cpu", "CPU at %.0f %% of capacity: scale now",
	        in->cpu_utilisation * 100);
	if (!r)
		return;
	say_cpu(r, in);
	say(r, "Above %.0f %% there is no headroom for peaks. ", RECOMMEND_CPU_HIGH * 100);
	say_replicas(r, in);
	say(r, "Or give each replica %.2f cores (%.2f × %.2f / %.1f).",
	    demand_utilisation(in) * in->cpu_capacity_cores / RECOMMEND_UTILISATION,
	    demand_utilisation(in), in->cpu_capacity_cores, RECOMMEND_UTILISATION);
}

static void rule_memory(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;

	if (!(in->memory_utilisation > RECOMMEND_MEMORY_HIGH))
		return;
	r = add(a, REC_CRITICAL, "memory", "Memory at %.0f %% of the limit: risk of OOM",
	        in->memory_utilisation * 100);
	if (!r)
		return;
	say(r,
	    "Resident memory peaked at %.1f MiB of a %.1f MiB limit (%.0f %%, alarm above "
	    "%.0f %%): one more spike and the kernel kills the process. Raise the limit to "
	    "%.0f MiB (peak / %.1f), or add replicas if memory grows with load, and check for "
	    "a leak if it grew all run long.",
	    in->rss_bytes_max / MIB, in->memory_limit_bytes / MIB, in->memory_utilisation * 100,
	    RECOMMEND_MEMORY_HIGH * 100, in->rss_bytes_max / RECOMMEND_UTILISATION / MIB,
	    RECOMMEND_UTILISATION);
	figure(r, "rss_bytes_max", in->rss_bytes_max);
	figure(r, "memory_limit_bytes", in->memory_limit_bytes);
	figure(r, "memory_utilisation", in->memory_utilisation);
}

/* A CPU limit bites per 100 ms period, not on average: a target at 40 % of its limit can
 * still be held back in most periods, and every request then waits for the next one. */
static void rule_throttling(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;

	if (!(in->cpu_throttled_share > RECOMMEND_THROTTLED))
		return;
	r = add(a, REC_WARNING, "cpu_throttling",
	        "CPU throttled in %.0f %% of periods: the CPU limit holds requests back",
	        in->cpu_throttled_share * 100);
	if (!r)
		return;
	say(r,
	    "The target's cgroup used up its CPU quota in %.0f of %.0f scheduler periods (%.0f "
	    "%%, alarm above %.0f %%) and its threads waited %.2f s in all for the next period",
	    in->cpu_throttled_periods, in->cpu_periods, in->cpu_throttled_share * 100,
	    RECOMMEND_THROTTLED * 100, in->cpu_throttled_s);
	if (in->cpu_limit_cores > 0)
		say(r, " (limit %.2f cores)", in->cpu_limit_cores);
	say(r,
	    ". A throttled request waits up to the rest of a 100 ms period, whatever the average "
	    "use: raise the CPU limit (or remove it and keep the request), or spread the load "
	    "over more replicas; worker threads beyond the limit's cores only add throttling.");
	figure(r, "cpu_throttled_share", in->cpu_throttled_share);
	figure(r, "cpu_throttled_periods", in->cpu_throttled_periods);
	figure(r, "cpu_periods", in->cpu_periods);
	figure(r, "cpu_throttled_s", in->cpu_throttled_s);
	figure(r, "cpu_limit_cores", in->cpu_limit_cores);
}

static void rule_oom(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;

	if (!(in->oom_kills > 0))
		return;
	r = add(a, REC_CRITICAL, "oom_kill", "OOM-killed %.0f time%s during the run", in->oom_kills,
	        in->oom_kills == 1 ? "" : "s");
	if (!r)
		return;
	say(r, "The target's cgroup counted %.0f OOM kill%s: a process touched more memory than ",
	    in->oom_kills, in->oom_kills == 1 ? "" : "s");
	if (in->memory_limit_bytes > 0)
		say(r, "the %.1f MiB limit", in->memory_limit_bytes / MIB);
	else
		say(r, "its limit");
	say(r, " and the kernel killed it, with the requests it held. Raise the limit, keep what "
	       "requests may hold below it (surge serve's --memory-cap answers 507 instead), or "
	       "look for a leak.");
	figure(r, "oom_kills", in->oom_kills);
	figure(r, "memory_limit_bytes", in->memory_limit_bytes);
}

static void rule_latency(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;
	double u = demand_utilisation(in);

	if (!(in->p95_ms > in->target_p95_ms))
		return;
	if (isnan(in->cpu_utilisation)) {
		r = add(a, REC_WARNING, "latency",
		        "Latency over target: scale out, by how much is "
		        "unknown");
		if (!r)
			return;
		say(r,
		    "p95 %.1f ms is over the %.0f ms target. Replicas needed = ceil(replicas × "
		    "CPU utilisation / %.1f), but the target's utilisation is unknown: rerun with "
		    "--scrape http://TARGET/metrics",
		    in->p95_ms, in->target_p95_ms, RECOMMEND_UTILISATION);
		if (in->scrape_error)
			say(r, " (this run's scrape failed: %s)", in->scrape_error);
		say(r, ".");
	} else if (u >= RECOMMEND_UTILISATION) {
		r = add(a, REC_WARNING, "latency", "Latency over target: scale out to %u replicas",
		        recommend_replicas(in->replicas, u));
		if (!r)
			return;
		say(r, "p95 %.1f ms is over the %.0f ms target and the target is busy. ",
		    in->p95_ms, in->target_p95_ms);
		say_cpu(r, in);
		say_replicas(r, in);
	} else {
		r = add(a, REC_WARNING, "latency",
		        "Latency over target, but CPU is not the limit: "
		        "find the bottleneck");
		if (!r)
			return;
		say(r, "p95 %.1f ms is over the %.0f ms target while ", in->p95_ms,
		    in->target_p95_ms);
		say_cpu(r, in);
		say(r, "More replicas of the same would mostly stay idle. ");
		say_bottleneck(r, in);
	}
	figure(r, "p95_ms", in->p95_ms);
	figure(r, "target_p95_ms", in->target_p95_ms);
}

static void rule_throughput(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;
	double goal = in->asked_rps > 0 ? in->asked_rps : in->min_rps;

	if (in->throughput_ok && !in->dropped)
		return;
	r = add(a, REC_WARNING, "throughput", "Throughput below target: look for the bottleneck");
	if (!r)
		return;
	if (goal > 0)
		say(r, "%.1f req/s against %.1f %s (%.0f %%). ", in->rps, goal,
		    in->asked_rps > 0 ? "asked" : "targeted", in->rps / goal * 100);
	else
		say(r, "%.1f req/s. ", in->rps);
	if (in->dropped || in->late)
		say(r, "%llu arrivals were dropped and %llu waited for a free connection. ",
		    (unsigned long long)in->dropped, (unsigned long long)in->late);
	if (in->generator_saturated)
		say(r, "The generator itself was saturated: add threads (-t) or machines first. ");
	say_bottleneck(r, in);
	figure(r, "rps", in->rps);
	figure(r, "goal_rps", goal);
	figure(r, "dropped", (double)in->dropped);
	figure(r, "late", (double)in->late);
}

/* Idle and fast: the replicas could be fewer (or smaller) for this load. */
static void rule_scale_in(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r;
	uint32_t n;

	if (!(in->cpu_utilisation < RECOMMEND_CPU_IDLE) || !(in->p95_ms <= in->target_p95_ms) ||
	    in->error_rate > in->max_error_rate || !in->requests)
		return;
	n = recommend_replicas(in->replicas, in->cpu_utilisation);
	if (n < in->replicas)
		r = add(a, REC_INFO, "scale_in",
		        "Over-provisioned at this load: %u replicas would do", n);
	else
		r = add(a, REC_INFO, "scale_in",
		        "Over-provisioned at this load: a smaller replica "
		        "would do");
	if (!r)
		return;
	say(r, "At %.1f req/s with p95 %.1f ms, ", in->rps, in->p95_ms);
	say_cpu(r, in);
	if (n < in->replicas) {
		say_replicas(r, in);
	} else if (in->cpu_cores_avg / RECOMMEND_UTILISATION < 0.1) {
		say(r,
		    "One replica with a tenth of a core (the smallest common size) would carry "
		    "this load below %.0f %% CPU. ",
		    RECOMMEND_UTILISATION * 100);
		figure(r, "replicas", in->replicas);
		figure(r, "replicas_needed", n);
	} else {
		say(r,
		    "One replica with %.2f cores (%.2f / %.1f) would carry this load at %.0f %% "
		    "CPU. ",
		    in->cpu_cores_avg / RECOMMEND_UTILISATION, in->cpu_cores_avg,
		    RECOMMEND_UTILISATION, RECOMMEND_UTILISATION * 100);
		figure(r, "replicas", in->replicas);
		figure(r, "replicas_needed", n);
	}
	say(r, "Only for this load: test the peak you expect before scaling in.");
}

static void rule_healthy(advice_t *a, const recommend_input_t *in)
{
	recommendation_t *r = add(a, REC_INFO, "healthy", "Healthy at this load: no change needed");

	if (!r)
		return;
	say(r, "p95 %.1f ms (target %.0f ms), %.2f %% errors, %.1f req/s. ", in->p95_ms,
	    in->target_p95_ms, in->error_rate * 100, in->rps);
	figure(r, "p95_ms", in->p95_ms);
	figure(r, "error_rate", in->error_rate);
	figure(r, "rps", in->rps);
	if (!isnan(in->cpu_utilisation))
		say_cpu(r, in);
	else
		say(r,
		    "Rerun with --scrape http://TARGET/metrics to see how much headroom is left.");
}

int recommend_compute(const recommend_input_t *in, recommendation_t *out, int max)
{
	advice_t a = {.out = out, .max = max};
	recommendation_t tmp, *r;

	if (!in->requests) {
		r = add(&a, REC_WARNING, "no_data", "Nothing measured: no request ended");
		if (r)
			say(r, "Not one request completed or failed during the run, so there is "
			       "nothing to recommend from.");
		return a.count;
	}
	rule_errors(&a, in);
	rule_cpu(&a, in);
	rule_memory(&a, in);
	rule_oom(&a, in);
	rule_throttling(&a, in);
	rule_latency(&a, in);
	rule_throughput(&a, in);
	rule_scale_in(&a, in);
	if (a.count == 0)
		rule_healthy(&a, in);
	for (int i = 0; i < a.count; i++) { /* phrases end in a blank: not the detail */
		size_t len = strlen(out[i].detail);

		while (len && out[i].detail[len - 1] == ' ')
			out[i].detail[--len] = '\0';
	}
	/* most severe first, the rules' order within a severity (a stable insertion sort) */
	for (int i = 1; i < a.count; i++)
		for (int j = i; j > 0 && out[j].severity < out[j - 1].severity; j--) {
			tmp = out[j];
			out[j] = out[j - 1];
			out[j - 1] = tmp;
		}
	return a.count;
}

void recommend_cost(report_cost_t *c, double requests_per_s)
{
	if (!c->replicas)
		c->replicas = 1;
	c->requests_per_s = requests_per_s;
	c->total_per_hour_usd = c->per_hour_usd * c->replicas;
	c->per_million_requests_usd =
	    requests_per_s > 0 ? c->total_per_hour_usd / (requests_per_s * 3600) * 1e6 : NAN;
}
