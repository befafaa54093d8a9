/* report_text: the terminal summary at the end of `surge run` — the figures a wrk user
 * looks for, in the same order, plus status codes and classified errors. */
#include <stdio.h>

#include "core/units.h"
#include "report/report.h"

/* 1234567 → "1,234,567" */
static void group_digits(uint64_t v, char *out, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n && (size_t)o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			out[o++] = ',';
		out[o++] = tmp[i];
	}
	out[o] = '\0';
}

static void put_latency(buf_t *out, const hist_t *h)
{
	static const double pcts[] = {50, 90, 95, 99, 99.9};
	char cell[32];

	buf_printf(out, "  %-10s %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "latency", "min", "mean",
		   "stdev", "p50", "p90", "p95", "p99", "p99.9", "max");
	buf_printf(out, "  %-10s", "");
	units_format_duration_us(h->total ? (double)h->min : 0, cell, sizeof(cell));
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

	group_digits(t->requests, num, sizeof(num));
	buf_printf(out, "  %-10s %s in %.2fs, %.1f/s", "requests", num, t->duration_s, t->rps);
	group_digits(t->errors, num, sizeof(num));
	buf_printf(out, ", %s errors (%.2f%%)\n", num, t->error_rate * 100);
	units_format_bytes((double)r->counters.bytes_in, in, sizeof(in));
	units_format_bytes(t->duration_s > 0 ? r->counters.bytes_in / t->duration_s : 0, rate,
			   sizeof(rate));
	units_format_bytes((double)r->counters.bytes_out, out_b, sizeof(out_b));
	buf_printf(out, "  %-10s %s received (%s/s), %s sent\n", "transfer", in, rate, out_b);
}

static void put_status_and_errors(buf_t *out, const gen_counters_t *c)
{
	char num[32];
	int shown = 0;

	buf_printf(out, "  %-10s", "status");
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		group_digits(c->status[i], num, sizeof(num));
		buf_printf(out, "%s %d: %s", shown++ ? "," : "", i, num);
	}
	buf_printf(out, "%s\n", shown ? "" : " no responses");
	shown = 0;
	buf_printf(out, "  %-10s", "errors");
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++) {
		if (!c->errors_by_kind[i])
			continue;
		group_digits(c->errors_by_kind[i], num, sizeof(num));
		buf_printf(out, "%s %s: %s", shown++ ? "," : "", gen_error_kind_name(i), num);
	}
	buf_printf(out, "%s\n", shown ? "" : " none (transport)");
}

int report_text(const gen_config_t *cfg, const gen_result_t *r, buf_t *out)
{
	report_totals_t t;

	report_totals(r, &t);
	buf_printf(out, "\nsurge run %s %s — %.2fs, %u threads, %u connections, closed model%s\n\n",
		   cfg->method, cfg->url_text, t.duration_s, r->threads, r->connections,
		   r->interrupted ? " (interrupted)" : "");
	put_counts(out, r, &t);
	put_status_and_errors(out, &r->counters);
	buf_append_str(out, "\n");
	put_latency(out, r->latency);
	return buf_printf(out, "\n  generator  %.2f CPU-s (%.0f requests per CPU-second), max RSS %.1f MiB\n",
			  r->cpu_s, r->cpu_s > 0 ? t.requests / r->cpu_s : 0,
			  r->max_rss_bytes / 1048576.0);
}
