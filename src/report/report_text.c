/* report_text: the terminal summary at the end of `surge run` — the figures a wrk user
 * looks for, in the same order, plus status codes and classified errors. */
#include <math.h>
#include <stdio.h>

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

static void put_counts(buf_t *out, const gen_result_t *r, const report_totals_t *t)
{
	char num[32], in[32], out_b[32], rate[32];

	units_format_count(t->requests, num, sizeof(num));
	buf_printf(out, "  %-10s %s in %.2fs, %.1f/s", "requests", num, t->duration_s, t->rps);
	units_format_count(t->errors, num, sizeof(num));
	buf_printf(out, ", %s errors (%.2f%%)\n", num, t->error_rate * 100);
	units_format_bytes((double)r->counters.bytes_in, in, sizeof(in));
	units_format_bytes(t->duration_s > 0 ? r->counters.bytes_in / t->duration_s : 0, rate,
	                   sizeof(rate));
	units_format_bytes((double)r->counters.bytes_out, out_b, sizeof(out_b));
	buf_printf(out, "  %-10s %s received (%s/s), %s sent\n", "transfer", in, rate, out_b);
	if (r->counters.late || r->counters.dropped) {
		units_format_count(r->counters.late, num, sizeof(num));
		buf_printf(out, "  %-10s %s arrivals waited for a free connection", "late", num);
		units_format_count(r->counters.dropped, num, sizeof(num));
		buf_printf(out, ", %s dropped (queue full)\n", num);
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

static void put_model(buf_t *out, const gen_config_t *cfg)
{
	if (!cfg->open_model)
		buf_printf(out, "closed model%s%s", cfg->stages_text ? ", users " : "",
		           cfg->stages_text ? cfg->stages_text : "");
	else if (cfg->stages_text)
		buf_printf(out, "open model, rate %s", cfg->stages_text);
	else
		buf_printf(out, "open model at %.1f/s", cfg->rate);
	if (!deal_is_whole(cfg->shard))
		buf_printf(out, ", shard %u/%u", cfg->shard.index + 1, cfg->shard.count);
}

static void put_thresholds(buf_t *out, const report_analysis_t *a)
{
	for (int i = 0; i < a->threshold_count; i++) {
		const threshold_t *th = &a->thresholds[i];
		double v = a->values[i];

		buf_printf(out, "  %-10s %s %-28s measured ", i ? "" : "thresholds",
		           a->passed[i] ? "ok  " : "FAIL", th->expr);
		if (v != v)
			buf_append_str(out, "nothing (no requests)\n");
		else if (th->metric == TH_ERROR_RATE)
			buf_printf(out, "%.2f%%\n", v * 100);
		else if (th->metric == TH_RPS)
			buf_printf(out, "%.1f/s\n", v);
		else if (th->metric == TH_BALANCE)
			buf_printf(out, "%.3f (largest share / mean share)\n", v);
		else
			buf_printf(out, "%.2fms\n", v);
	}
}

/* The self-check's verdict with the criterion that fired and its figures. */
static void put_saturation(buf_t *out, const gen_result_t *r)
{
	const gen_saturation_t *s = &r->saturation;

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
		    GEN_LATE_SHARE * 100, GEN_LAG_BOUND_US / 1e3, s->worst * 100,
		    hist_percentile(r->sched_lag, 99) / 1e3);
	if (s->criterion == GEN_SAT_SCHEDULE_LAG && r->thread_cpu_max < 0.5)
		/* late with idle threads: the host's other processes had the CPUs, not its work */
		buf_printf(
		    out,
		    "             Its busiest thread used %.0f%% of a CPU: other processes on "
		    "this host delayed it.\n             These numbers describe the host more "
		    "than the target: run where the generator has CPUs of its own.\n",
		    r->thread_cpu_max * 100);
	else
		buf_append_str(out,
		               "             These numbers describe surge more than the target: "
		               "add threads (-t) or machines.\n");
}

static void put_assessment(buf_t *out, const report_analysis_t *a, const gen_result_t *r)
{
	const assessment_t *s = &a->assessment;
	char p95[32] = "none: nothing measured";

	if (!isnan(s->p95_ms))
		snprintf(p95, sizeof(p95), "%.2fms", s->p95_ms);
	buf_printf(out, "  %-10s %s — latency %s (p95 %s, %s), error rate %s, throughput %s%s%s\n",
	           "assessment", s->pass ? "PASS" : "FAIL", s->latency_class, p95,
	           s->latency_ok ? "ok" : "over target", s->errors_ok ? "ok" : "over target",
	           s->throughput_ok ? "ok" : "under target",
	           a->threshold_count
	               ? (s->thresholds_ok ? ", thresholds ok" : ", thresholds FAILED")
	               : "",
	           a->aborted ? " (run aborted early)" : "");
	if (r->saturated)
		put_saturation(out, r);
}

/* Per request name, like Locust's table: only when there is more than the one request. */
static void put_endpoints(buf_t *out, const gen_config_t *cfg, const gen_result_t *r,
                          double duration_s)
{
	const gen_named_t *n = &r->named;

	if (n->endpoint_count < 2 && !cfg->scenario_path)
		return;
	buf_printf(out, "  %-34s %10s %8s %10s %9s %9s %9s\n", "endpoint", "requests", "errors",
	           "req/s", "p50", "p95", "p99");
	for (uint32_t i = 0; i < n->endpoint_count; i++) {
		const gen_endpoint_t *e = n->endpoints[i];
		report_totals_t t;
		char label[48], p50[16], p95[16], p99[16];

		report_counter_totals(&e->counters, duration_s, &t);
		snprintf(label, sizeof(label), "%.7s %.38s", e->method, e->name);
		units_format_duration_us((double)hist_percentile(e->latency, 50), p50, sizeof(p50));
		units_format_duration_us((double)hist_percentile(e->latency, 95), p95, sizeof(p95));
		units_format_duration_us((double)hist_percentile(e->latency, 99), p99, sizeof(p99));
		buf_printf(out, "  %-34.34s %10llu %8llu %10.1f %9s %9s %9s\n", label,
		           (unsigned long long)t.requests, (unsigned long long)t.errors, t.rps, p50,
		           p95, p99);
	}
	buf_append_str(out, "\n");
}

/* A scenario's checks, the errors its code raised, and its own metrics. */
static void put_scenario_figures(buf_t *out, const gen_result_t *r)
{
	const gen_named_t *n = &r->named;
	bool any = false;

	for (uint32_t i = 0; i < n->tally_count; i++) {
		const gen_tally_t *t = n->tallies[i];
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
			buf_printf(out, "  %-10s %s: n=%llu mean %.3f p50 %.3f p95 %.3f max %.3f\n",
			           "trend", t->name, (unsigned long long)t->hist->total,
			           hist_mean(t->hist) / 1e3, hist_percentile(t->hist, 50) / 1e3,
			           hist_percentile(t->hist, 95) / 1e3, t->hist->max / 1e3);
			break;
		case GEN_TALLY_SCRIPT_ERROR:
			buf_printf(out, "  %-10s %llu× %s\n", "script err",
			           (unsigned long long)t->fails, t->name);
			break;
		}
	}
	if (n->tally_count)
		buf_append_str(out, "\n");
}

int report_text(const gen_config_t *cfg, const gen_result_t *r, const report_analysis_t *a,
                buf_t *out)
{
	report_totals_t t;

	report_totals(r, &t);
	if (cfg->scenario_path)
		buf_printf(out, "\nsurge run %s against %s — %.2fs, %u threads, %u users, ",
		           cfg->scenario_path, cfg->url_text, t.duration_s, r->threads,
		           r->connections);
	else
		buf_printf(out, "\nsurge run %s %s — %.2fs, %u threads, %u connections, ",
		           cfg->method, cfg->url_text, t.duration_s, r->threads, r->connections);
	put_model(out, cfg);
	buf_printf(out, "%s\n\n", r->interrupted ? " (interrupted)" : "");
	put_counts(out, r, &t);
	put_status_and_errors(out, &r->counters);
	buf_append_str(out, "\n");
	if (!r->latency->total) { /* a row of zeros would read as a very fast target */
		buf_printf(out, "  %-10s none: not one response was measured\n", "latency");
	} else if (cfg->open_model) {
		/* what users felt, from the intended send time; and what the server took */
		put_latency_header(out);
		put_latency(out, "corrected", r->latency);
		put_latency(out, "service", r->service);
		buf_append_str(out, "  (corrected = from the intended send time, so waiting for a "
		                    "stalled server counts; service = from the actual send)\n");
	} else {
		put_latency_header(out);
		put_latency(out, "", r->latency);
	}
	buf_append_str(out, "\n");
	put_endpoints(out, cfg, r, t.duration_s);
	report_groups_text(out, cfg, r);
	put_scenario_figures(out, r);
	put_thresholds(out, a);
	put_assessment(out, a, r);
	report_text_advice(out, a);
	buf_printf(out,
	           "\n  generator  %.2f CPU-s (%.0f requests per CPU-second), max RSS "
	           "%.1f MiB, busiest thread %.0f%% CPU\n",
	           r->cpu_s, r->cpu_s > 0 ? t.requests / r->cpu_s : 0, r->max_rss_bytes / 1048576.0,
	           r->thread_cpu_max * 100);
	return buf_error(out); /* any append that failed, not only the last */
}
