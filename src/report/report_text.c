/* report_text: the terminal summary at the end of `surge run` — the figures a wrk user
 * looks for, in the same order, plus status codes and classified errors — from the typed
 * result (result/result.h), so any result (a run's, a decoded or merged document's) prints
 * alike. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "report/report.h"

static void put_latency_header(buf_t *out)
{
	buf_printf(out, "  %-10s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "latency", "min", "mean",
	           "stdev", "p50", "p90", "p95", "p99", "p99.9", "max");
}

static void put_latency(buf_t *out, const char *label, const hist_t *h)
{
	static const double pcts[] = {50, 90, 95, 99, 99.9};
	char cell[32];

	buf_printf(out, "  %-10s", label);
	units_format_duration_us((double)h->min, cell, sizeof(cell));
	buf_printf(out, " %9s", cell);
	units_format_duration_us(hist_mean(h), cell, sizeof(cell));
	buf_printf(out, " %9s", cell);
	units_format_duration_us(hist_stdev(h), cell, sizeof(cell));
	buf_printf(out, " %9s", cell);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		units_format_duration_us((double)hist_percentile(h, pcts[i]), cell, sizeof(cell));
		buf_printf(out, " %9s", cell);
	}
	units_format_duration_us((double)h->max, cell, sizeof(cell));
	buf_printf(out, " %9s\n", cell);
}

/* A latency row of a sparse histogram; a decoded document's figures where it had none
 * (its service_ms, or an older document's), in the same order and units. */
static void put_latency_of(buf_t *out, const char *label, const result_hist_t *rh, hist_t *h)
{
	char cell[32];

	if (!(rh->read && rh->len == 0)) {
		result_hist_expand(rh, h);
		put_latency(out, label, h);
		return;
	}
	buf_printf(out, "  %-10s", label);
	for (int i = 0; i < 9; i++) { /* read_ms: min mean stdev p50 p90 p95 p99 p99.9 max */
		if (isnan(rh->read_ms[i]))
			snprintf(cell, sizeof(cell), "-");
		else
			units_format_duration_us(rh->read_ms[i] * 1e3, cell, sizeof(cell));
		buf_printf(out, " %9s", cell);
	}
	buf_append_str(out, "\n");
}

static void put_counts(buf_t *out, const result_t *r)
{
	char num[32], in[32], out_b[32], rate[32];
	uint64_t requests = result_requests(&r->counters);
	double d = r->duration_s;

	units_format_count(requests, num, sizeof(num));
	buf_printf(out, "  %-10s %s in %.2fs, %.1f/s", "requests", num, d,
	           d > 0 ? requests / d : 0);
	units_format_count(r->counters.errors, num, sizeof(num));
	buf_printf(out, ", %s errors (%.2f%%)\n", num,
	           requests ? (double)r->counters.errors / (double)requests * 100 : 0);
	units_format_bytes((double)r->counters.bytes_in, in, sizeof(in));
	units_format_bytes(d > 0 ? r->counters.bytes_in / d : 0, rate, sizeof(rate));
	units_format_bytes((double)r->counters.bytes_out, out_b, sizeof(out_b));
	buf_printf(out, "  %-10s %s received (%s/s), %s sent\n", "transfer", in, rate, out_b);
	if (r->counters.late || r->counters.dropped) {
		units_format_count(r->counters.late, num, sizeof(num));
		buf_printf(out, "  %-10s %s arrivals waited for a free connection", "late", num);
		units_format_count(r->counters.dropped, num, sizeof(num));
		buf_printf(out, ", %s dropped (queue full)\n", num);
	}
	if (r->counters.unfinished) {
		units_format_count(r->counters.unfinished, num, sizeof(num));
		buf_printf(out,
		           "  %-10s %s requests out or queued when the run stopped (abandoned)\n",
		           "unfinished", num);
	}
}

static void put_status_and_errors(buf_t *out, const gen_counters_t *c)
{
	char num[32];
	int shown = 0;

	buf_printf(out, "  %-10s", "status");
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		units_format_count(c->status[i], num, sizeof(num));
		buf_printf(out, "%s %d: %s", shown++ ? "," : "", i, num);
	}
	buf_printf(out, "%s\n", shown ? "" : " no responses");
	shown = 0;
	buf_printf(out, "  %-10s", "errors");
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++) {
		if (!c->errors_by_kind[i])
			continue;
		units_format_count(c->errors_by_kind[i], num, sizeof(num));
		buf_printf(out, "%s %s: %s", shown++ ? "," : "", gen_error_kind_name(i), num);
	}
	buf_printf(out, "%s\n", shown ? "" : " none (transport)");
}

static void put_model(buf_t *out, const result_config_t *c)
{
	if (!c->open_model)
		buf_printf(out, "closed model%s%s", c->stages ? ", users " : "",
		           c->stages ? c->stages : "");
	else if (c->stages)
		buf_printf(out, "open model, rate %s", c->stages);
	else /* a shard's own part of the rate is in the document; the test's here */
		buf_printf(out, "open model at %.1f/s",
		           c->shard_count ? c->rate * (double)c->shard_count : c->rate);
	if (c->has_pipeline && c->pipeline > 1)
		buf_printf(out, ", pipeline %llu", (unsigned long long)c->pipeline);
	if (c->streams)
		buf_printf(out, ", HTTP/2 with %llu stream%s per connection",
		           (unsigned long long)c->streams, c->streams > 1 ? "s" : "");
	if (c->shard_count)
		buf_printf(out, ", shard %llu/%llu", (unsigned long long)c->shard_index,
		           (unsigned long long)c->shard_count);
}

/* What a threshold's expression measures: the metric after the last ':' before its operator
 * ("name:/api:p99<300ms" measures p99). */
static const char *threshold_metric(const char *expr)
{
	size_t op = strcspn(expr, "<>=!");
	const char *metric = expr;

	for (size_t i = 0; i < op; i++)
		if (expr[i] == ':')
			metric = expr + i + 1;
	return metric;
}

static void put_thresholds(buf_t *out, const result_t *r)
{
	for (uint32_t i = 0; i < r->threshold_count; i++) {
		const result_threshold_t *th = &r->thresholds[i];
		const char *metric = threshold_metric(th->expr);
		double v = th->value;

		buf_printf(out, "  %-10s %s %-28s measured ", i ? "" : "thresholds",
		           th->ok ? "ok  " : "FAIL", th->expr);
		if (v != v)
			buf_append_str(out, "nothing (no requests)\n");
		else if (strncmp(metric, "error_rate", 10) == 0)
			buf_printf(out, "%.2f%%\n", v * 100);
		else if (strncmp(metric, "rps", 3) == 0)
			buf_printf(out, "%.1f/s\n", v);
		else if (strncmp(metric, "balance", 7) == 0)
			buf_printf(out, "%.3f (largest share / mean share)\n", v);
		else
			buf_printf(out, "%.2fms\n", v);
	}
}

/* The self-check's verdict with the criterion that fired and its figures. */
static void put_saturation(buf_t *out, const result_t *r, hist_t *h)
{
	const result_generator_t *g = &r->generator;
	const gen_saturation_t *s = &g->saturation;
	int64_t lag_p99 = g->sched_lag_p99_us;

	if (!g->sched_lag_read || g->sched_lag.total) {
		result_hist_expand(&g->sched_lag, h);
		lag_p99 = hist_percentile(h, 99);
	}
	buf_printf(
	    out,
	    "\n  WARNING    the generator was the bottleneck in %u of the run's %u seconds (%u "
	    "in a row, from %.0fs):\n             ",
	    s->seconds, s->whole_seconds, s->consecutive, s->first_s);
	if (s->criterion == GEN_SAT_THREAD_CPU)
		buf_printf(out, "a thread had no idle CPU left (>= %.0f%%, %.0f%% at worst).\n",
		           GEN_SATURATED_CPU * 100, s->worst * 100);
	else
		buf_printf(
		    out,
		    "its pacer sent over %.0f%% of the arrivals more than %.0fms late (%.0f%% "
		    "at worst; lag p99 %.2fms).\n",
		    GEN_LATE_SHARE * 100, GEN_LAG_BOUND_US / 1e3, s->worst * 100, lag_p99 / 1e3);
	if (s->criterion == GEN_SAT_SCHEDULE_LAG && g->thread_cpu_max < 0.5)
		/* late with idle threads: the host's other processes had the CPUs, not its work */
		buf_printf(
		    out,
		    "             Its busiest thread used %.0f%% of a CPU: other processes on "
		    "this host delayed it.\n             These numbers describe the host more "
		    "than the target: run where the generator has CPUs of its own.\n",
		    g->thread_cpu_max * 100);
	else
		buf_append_str(out,
		               "             These numbers describe surge more than the target: "
		               "add threads (-t) or machines.\n");
}

static void put_assessment(buf_t *out, const result_t *r, hist_t *h)
{
	const result_assessment_t *s = &r->assessment;
	char p95[32] = "none: nothing measured";

	if (s->present) {
		if (!isnan(s->p95_ms))
			snprintf(p95, sizeof(p95), "%.2fms", s->p95_ms);
		buf_printf(
		    out, "  %-10s %s — latency %s (p95 %s, %s), error rate %s, throughput %s%s%s\n",
		    "assessment", s->pass ? "PASS" : "FAIL", s->latency_class, p95,
		    s->latency_ok ? "ok" : "over target", s->errors_ok ? "ok" : "over target",
		    s->throughput_ok ? "ok" : "under target",
		    r->threshold_count
		        ? (s->thresholds_ok ? ", thresholds ok" : ", thresholds FAILED")
		        : "",
		    s->aborted ? " (run aborted early)" : "");
	}
	if (r->generator.saturated)
		put_saturation(out, r, h);
}

/* Per request name, like Locust's table: only when there is more than the one request. */
static void put_endpoints(buf_t *out, const result_t *r, hist_t *h)
{
	if (r->endpoint_count < 2 && !r->config.scenario)
		return;
	buf_printf(out, "  %-34s %10s %8s %10s %9s %9s %9s\n", "endpoint", "requests", "errors",
	           "req/s", "p50", "p95", "p99");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		const result_endpoint_t *e = &r->endpoints[i];
		uint64_t requests = result_requests(&e->counters);
		char label[48], p50[16], p95[16], p99[16];

		result_hist_expand(&e->latency, h);
		snprintf(label, sizeof(label), "%.7s %.38s", e->method, e->name);
		units_format_duration_us((double)hist_percentile(h, 50), p50, sizeof(p50));
		units_format_duration_us((double)hist_percentile(h, 95), p95, sizeof(p95));
		units_format_duration_us((double)hist_percentile(h, 99), p99, sizeof(p99));
		buf_printf(out, "  %-34.34s %10llu %8llu %10.1f %9s %9s %9s\n", label,
		           (unsigned long long)requests, (unsigned long long)e->counters.errors,
		           r->duration_s > 0 ? requests / r->duration_s : 0, p50, p95, p99);
	}
	buf_append_str(out, "\n");
}

/* A scenario's checks, the errors its code raised, and its own metrics. */
static void put_scenario_figures(buf_t *out, const result_t *r, hist_t *h)
{
	bool any = false;

	for (uint32_t i = 0; i < r->tally_count; i++) {
		const result_tally_t *t = &r->tallies[i];
		uint64_t all = t->passes + t->fails;

		switch (t->kind) {
		case GEN_TALLY_CHECK:
			buf_printf(out, "  %-10s %s %-40s %llu of %llu passed (%.2f%%)\n",
			           any ? "" : "checks", t->fails ? "FAIL" : "ok  ", t->name,
			           (unsigned long long)t->passes, (unsigned long long)all,
			           all ? 100.0 * t->passes / all : 0);
			any = true;
			break;
		case GEN_TALLY_COUNTER:
			buf_printf(out, "  %-10s %s = %g\n", "counter", t->name, t->value);
			break;
		case GEN_TALLY_TREND:
			result_hist_expand(&t->hist, h);
			buf_printf(out, "  %-10s %s: n=%llu mean %.3f p50 %.3f p95 %.3f max %.3f\n",
			           "trend", t->name, (unsigned long long)h->total,
			           hist_mean(h) / 1e3, hist_percentile(h, 50) / 1e3,
			           hist_percentile(h, 95) / 1e3, h->max / 1e3);
			break;
		case GEN_TALLY_SCRIPT_ERROR:
			buf_printf(out, "  %-10s %llu× %s\n", "script err",
			           (unsigned long long)t->fails, t->name);
			break;
		}
	}
	if (r->tally_count)
		buf_append_str(out, "\n");
}

/* A distributed run: its shards, and those lost with the second their part goes missing. */
static void put_distributed(buf_t *out, const result_distributed_t *d)
{
	if (!d->shards)
		return;
	buf_printf(out, "%u shards (surge run --coordinator)", d->shards);
	if (!d->lost_count) {
		buf_append_str(out, ", every one to its end\n");
		return;
	}
	buf_append_str(out, "; INCOMPLETE:");
	for (uint32_t i = 0; i < d->lost_count && i < 16; i++)
		buf_printf(out, "%s shard %u/%u lost from %llds", i ? "," : "",
		           d->lost[i].index + 1, d->shards, (long long)d->lost[i].from_second);
	buf_printf(out, "%s (the figures lack %s part of the load from then)\n",
	           d->lost_count > 16 ? ", ..." : "", d->lost_count == 1 ? "its" : "their");
}

int report_text(const result_t *r, buf_t *out)
{
	const result_config_t *c = &r->config;
	const result_generator_t *g = &r->generator;
	uint64_t requests = result_requests(&r->counters);
	hist_t *h = malloc(sizeof(*h)); /* one histogram expanded at a time */

	if (!h)
		return -ENOMEM;
	if (r->shards) /* the whole of several processes' documents (surge merge) */
		buf_printf(out, "\nsurge merge: %llu shard%s, the whole run:",
		           (unsigned long long)r->shards, r->shards == 1 ? "" : "s");
	if (c->scenario)
		buf_printf(out, "%s %s against %s — %.2fs, %llu threads, %llu users, ",
		           r->shards ? "" : "\nsurge run", c->scenario, c->url ? c->url : "",
		           r->duration_s, (unsigned long long)g->threads,
		           (unsigned long long)g->connections);
	else /* HTTP/2: the engine's connections are streams; the TCP connections are config's */
		buf_printf(out, "%s %s %s — %.2fs, %llu threads, %llu connections, ",
		           r->shards ? "" : "\nsurge run", c->method ? c->method : "GET",
		           c->url ? c->url : "", r->duration_s, (unsigned long long)g->threads,
		           (unsigned long long)(c->streams ? c->connections : g->connections));
	put_model(out, c);
	buf_printf(out, "%s\n", r->interrupted ? " (interrupted)" : "");
	put_distributed(out, &r->distributed);
	buf_append_str(out, "\n");
	put_counts(out, r);
	put_status_and_errors(out, &r->counters);
	buf_append_str(out, "\n");
	if (!r->latency.total && !r->latency.read) {
		/* a row of zeros would read as a very fast target */
		buf_printf(out, "  %-10s none: not one response was measured\n", "latency");
	} else if (c->open_model) {
		/* what users felt, from the intended send time; and what the server took */
		put_latency_header(out);
		put_latency_of(out, "corrected", &r->latency, h);
		put_latency_of(out, "service", &r->service, h);
		buf_append_str(out, "  (corrected = from the intended send time, so waiting for a "
		                    "stalled server counts; service = from the actual send)\n");
	} else {
		put_latency_header(out);
		put_latency_of(out, "", &r->latency, h);
	}
	if (r->has_tls && r->tls_handshakes) /* apart: no request's latency holds a handshake */
		put_latency_of(out, "handshake", &r->tls_handshake, h);
	if (r->has_tls)
		buf_printf(out, "  TLS handshakes %llu, resumed %llu%s\n",
		           (unsigned long long)r->tls_handshakes,
		           (unsigned long long)r->tls_resumed,
		           r->tls_resumption ? "" : " (--no-tls-resume)");
	buf_append_str(out, "\n");
	put_endpoints(out, r, h);
	report_groups_text(out, r, h);
	put_scenario_figures(out, r, h);
	put_thresholds(out, r);
	put_assessment(out, r, h);
	report_text_advice(out, r);
	buf_printf(out,
	           "\n  generator  %.2f CPU-s (%.0f requests per CPU-second), max RSS "
	           "%.1f MiB, busiest thread %.0f%% CPU%s%s\n",
	           g->cpu_s, g->cpu_s > 0 ? requests / g->cpu_s : 0, g->max_rss_bytes / 1048576.0,
	           g->thread_cpu_max * 100, g->io[0] ? ", I/O " : "", g->io);
	if (g->io_fallback[0])
		buf_printf(out, "  generator  I/O epoll: io_uring could not be used (%s)\n",
		           g->io_fallback);
	if (g->io_recv_no_buffer || g->io_sq_full_submits || g->io_cq_overflow ||
	    g->io_fallback_loops)
		buf_printf(out,
		           "  generator  I/O bounds met: %" PRIu64
		           " receives found no buffer, %" PRIu64 " full submission queues, %" PRIu64
		           " completions held back, %" PRIu64 " loops on epoll\n",
		           g->io_recv_no_buffer, g->io_sq_full_submits, g->io_cq_overflow,
		           g->io_fallback_loops);
	free(h);
	return buf_error(out); /* any append that failed, not only the last */
}
