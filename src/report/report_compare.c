/* report_compare: the deltas between a baseline and a new run, judged, and their renderers.
 * Every figure comes from the two typed results (result_decode's), derived the way the
 * document's writer derives it: rates from counts over the run's duration, latencies from
 * the histograms (result_hist_ms), so compare reads the numbers `surge report` renders. */
#include "report/report_compare.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/json.h"

/* result_hist_ms's slots */
enum { MS_MEAN = 1, MS_P50 = 3, MS_P90 = 4, MS_P95 = 5, MS_P99 = 6, MS_MAX = 8 };

static const struct {
	const char *name;  /* in JSON and markdown */
	const char *label; /* in the terminal table */
	int slot;          /* in result_hist_ms's figures; -1 for rps and error_rate */
	bool judged;
} metrics[CMP_METRIC_COUNT] = {
    [CMP_RPS] = {"rps", "rps", -1, true},
    [CMP_ERROR_RATE] = {"error_rate", "error rate", -1, true},
    [CMP_P50] = {"p50", "p50", MS_P50, false},
    [CMP_P90] = {"p90", "p90", MS_P90, false},
    [CMP_P95] = {"p95", "p95", MS_P95, true},
    [CMP_P99] = {"p99", "p99", MS_P99, true},
    [CMP_MAX] = {"max", "max", MS_MAX, false},
    [CMP_MEAN] = {"mean", "mean", MS_MEAN, false},
};

void compare_defaults(compare_options_t *o)
{
	o->tolerance = 0.10;
	o->min_delta_ms = 1.0;
	o->min_error_rate = 0.001;
}

const char *compare_metric_name(compare_metric_t m)
{
	return (unsigned)m < CMP_METRIC_COUNT ? metrics[m].name : "?";
}

bool compare_metric_judged(compare_metric_t m)
{
	return (unsigned)m < CMP_METRIC_COUNT && metrics[m].judged;
}

const char *compare_verdict_name(compare_verdict_t v)
{
	switch (v) {
	case CMP_REGRESSION: return "REGRESSION";
	case CMP_IMPROVED: return "improved";
	case CMP_UNMEASURED: return "n/a";
	default: return "ok";
	}
}

/* ---- figures and verdicts ---- */

/* The figures of a scope, the whole run or one endpoint: its counters over the run's
 * duration and its latency section (result_hist_ms: the histogram's figures, or a document's
 * own where it had no histogram), rounded as the document writes them, so a compare shows
 * the figures `surge report` renders of each run. */
static void scope_figures(const gen_counters_t *c, const result_hist_t *lat, double duration_s,
                          double *v, unsigned long long *requests)
{
	uint64_t n = result_requests(c);
	double ms[9];
	bool measured;

	*requests = n;
	v[CMP_RPS] = result_round(duration_s > 0 ? (double)n / duration_s : 0, 3);
	/* a fraction, as the document writes it (a hand-made one may count more errors) */
	v[CMP_ERROR_RATE] =
	    result_round(n ? (c->errors < n ? (double)c->errors / (double)n : 1) : 0, 6);
	result_hist_ms(lat, ms);
	/* every latency is at least 1 µs: a max of 0 means not one response was measured */
	measured = lat->read && lat->len == 0 ? ms[MS_MAX] > 0 : lat->total > 0;
	for (int m = CMP_P50; m < CMP_METRIC_COUNT; m++)
		v[m] = measured ? result_round(ms[metrics[m].slot], 3) : NAN;
}

/* Worse and better by more than the tolerance and, for latency and error rate, the floor. */
static compare_verdict_t judge(const compare_options_t *o, compare_metric_t m, double base,
                               double next)
{
	double delta = next - base, tol = o->tolerance * fabs(base);

	switch (m) {
	case CMP_RPS:
		if (!(base > 0))
			return CMP_OK;
		return delta < -tol ? CMP_REGRESSION : delta > tol ? CMP_IMPROVED : CMP_OK;
	case CMP_ERROR_RATE:
		if (delta > o->min_error_rate && delta > tol)
			return CMP_REGRESSION;
		if (-delta > o->min_error_rate && -delta > tol)
			return CMP_IMPROVED;
		return CMP_OK;
	case CMP_P95:
	case CMP_P99:
		if (delta > o->min_delta_ms && delta > tol)
			return CMP_REGRESSION;
		if (-delta > o->min_delta_ms && -delta > tol)
			return CMP_IMPROVED;
		return CMP_OK;
	default: return CMP_OK;
	}
}

static void fill_rows(const compare_options_t *o, compare_scope_t *s, const double *base,
                      const double *next)
{
	s->regressions = 0;
	for (int m = 0; m < CMP_METRIC_COUNT; m++) {
		compare_row_t *r = &s->rows[m];

		r->metric = (compare_metric_t)m;
		r->base = base ? base[m] : NAN;
		r->next = next ? next[m] : NAN;
		r->delta = r->next - r->base;
		r->relative = base && base[m] != 0 ? r->delta / fabs(base[m]) : NAN;
		if (!base || !next)
			r->verdict = CMP_OK; /* an endpoint in one run only: listed, not judged */
		else if (isnan(r->base) || isnan(r->next))
			r->verdict = CMP_UNMEASURED;
		else
			r->verdict = judge(o, r->metric, r->base, r->next);
		s->regressions += r->verdict == CMP_REGRESSION;
	}
}

static const result_endpoint_t *endpoint_of(const result_t *r, const result_endpoint_t *like)
{
	for (uint32_t i = 0; i < r->endpoint_count; i++)
		if (strcmp(r->endpoints[i].method, like->method) == 0 &&
		    strcmp(r->endpoints[i].name, like->name) == 0)
			return &r->endpoints[i];
	return NULL;
}

/* Adds the scope of one endpoint (present in base, next or both). */
static void add_endpoint(compare_result_t *out, const result_t *base, const result_t *next,
                         const result_endpoint_t *base_ep, const result_endpoint_t *next_ep)
{
	compare_scope_t *s = &out->scopes[out->scope_count++];
	const result_endpoint_t *ep = base_ep ? base_ep : next_ep;
	double b[CMP_METRIC_COUNT], n[CMP_METRIC_COUNT];

	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s %s", ep->method, ep->name);
	s->presence = !base_ep ? CMP_ADDED : !next_ep ? CMP_REMOVED : CMP_BOTH;
	if (base_ep)
		scope_figures(&base_ep->counters, &base_ep->latency, base->duration_s, b,
		              &s->base_requests);
	if (next_ep)
		scope_figures(&next_ep->counters, &next_ep->latency, next->duration_s, n,
		              &s->next_requests);
	fill_rows(&out->options, s, base_ep ? b : NULL, next_ep ? n : NULL);
	out->regressions += s->regressions;
}

static void copy_string(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src ? src : "");
}

/* What a run was of, as its document says it: the target, method, scenario, load model,
 * requests in flight per connection (a document without `pipeline` is of one at a time) and
 * the protocol with its streams per connection (a document without `protocol`: HTTP/1.1) and
 * the requests a connection carried before a new one (without `new_conn_every`: as many as the
 * server allowed, "keep-alive"): a handshake per request is another load. */
#define CONFIG_KEYS 8
static void config_values(const result_config_t *c, const char *v[CONFIG_KEYS], char *pipeline,
                          char *streams, char *every, size_t len)
{
	bool tls = c->url && strncmp(c->url, "https:", 6) == 0;

	v[0] = c->url ? c->url : "";
	v[1] = c->method ? c->method : "GET";
	v[2] = c->scenario ? c->scenario : "";
	v[3] = c->open_model ? "open" : "closed";
	snprintf(pipeline, len, "%llu", c->has_pipeline ? (unsigned long long)c->pipeline : 1ULL);
	v[4] = pipeline;
	v[5] = !c->streams ? "http/1.1" : tls ? "h2" : "h2c";
	snprintf(streams, len, "%llu", c->streams ? (unsigned long long)c->streams : 1ULL);
	v[6] = streams;
	if (c->new_conn_every)
		snprintf(every, len, "%llu", (unsigned long long)c->new_conn_every);
	else
		snprintf(every, len, "keep-alive");
	v[7] = every;
}

/* A difference in what the two runs were of is listed in out ("config.url 'http://a/' vs
 * 'http://b/'", values cut at 200 characters). */
static void find_mismatch(const result_t *base, const result_t *next, char *out, size_t len)
{
	static const char *const keys[CONFIG_KEYS] = {"url",     "method",        "scenario",
	                                              "model",   "pipeline",      "protocol",
	                                              "streams", "new_conn_every"};
	const char *a[CONFIG_KEYS], *b[CONFIG_KEYS];
	char pa[24], pb[24], sa[24], sb[24], ea[24], eb[24];
	size_t used = 0;

	config_values(&base->config, a, pa, sa, ea, sizeof(pa));
	config_values(&next->config, b, pb, sb, eb, sizeof(pb));
	out[0] = '\0';
	for (size_t k = 0; k < CONFIG_KEYS; k++) {
		int n;

		if (strcmp(a[k], b[k]) == 0)
			continue;
		n = snprintf(out + used, len - used, "%sconfig.%s '%s' vs '%s'", used ? ", " : "",
		             keys[k], ECHO(a[k]), ECHO(b[k]));
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

static void started(const result_t *r, char *out, size_t len)
{
	out[0] = '\0';
	if (r->has_started_at)
		clock_format_rfc3339(r->started_wall_ns, out, len);
}

int report_compare(const result_t *base, const result_t *next, const char *base_name,
                   const char *next_name, const compare_options_t *o, compare_result_t *out)
{
	double b[CMP_METRIC_COUNT], n[CMP_METRIC_COUNT];

	memset(out, 0, sizeof(*out));
	out->options = *o;
	copy_string(out->base_name, sizeof(out->base_name), base_name);
	copy_string(out->next_name, sizeof(out->next_name), next_name);
	started(base, out->base_started, sizeof(out->base_started));
	started(next, out->next_started, sizeof(out->next_started));
	copy_string(out->base_url, sizeof(out->base_url), base->config.url);
	copy_string(out->next_url, sizeof(out->next_url), next->config.url);
	find_mismatch(base, next, out->mismatch, sizeof(out->mismatch));
	out->scopes = calloc(1 + (size_t)base->endpoint_count + next->endpoint_count,
	                     sizeof(compare_scope_t));
	if (!out->scopes)
		return -ENOMEM;

	compare_scope_t *all = &out->scopes[out->scope_count++];
	copy_string(all->name, sizeof(all->name), "all");
	scope_figures(&base->counters, &base->latency, base->duration_s, b, &all->base_requests);
	scope_figures(&next->counters, &next->latency, next->duration_s, n, &all->next_requests);
	fill_rows(o, all, b, n);
	out->regressions = all->regressions;

	/* endpoints are unique by method and name in a result: the baseline's in its order,
	 * then those only the new run has */
	for (uint32_t i = 0; i < base->endpoint_count; i++)
		add_endpoint(out, base, next, &base->endpoints[i],
		             endpoint_of(next, &base->endpoints[i]));
	for (uint32_t i = 0; i < next->endpoint_count; i++)
		if (!endpoint_of(base, &next->endpoints[i]))
			add_endpoint(out, base, next, NULL, &next->endpoints[i]);
	return 0;
}

void compare_result_free(compare_result_t *r)
{
	free(r->scopes);
	r->scopes = NULL;
	r->scope_count = 0;
}

/* ---- formatting shared by the renderers ---- */

/* A latency in ms with precision that suits its size: 0.105 ms, 12.3 ms, 1.52 s. */
static void format_ms(char *out, size_t len, double ms, bool sign)
{
	const char *plus = sign && ms >= 0 ? "+" : "";
	double a = fabs(ms);

	if (isnan(ms))
		snprintf(out, len, "-");
	else if (a >= 1000)
		snprintf(out, len, "%s%.2f s", plus, ms / 1000);
	else if (a >= 100)
		snprintf(out, len, "%s%.1f ms", plus, ms);
	else if (a >= 1)
		snprintf(out, len, "%s%.2f ms", plus, ms);
	else
		snprintf(out, len, "%s%.3f ms", plus, ms);
}

static void format_value(char *out, size_t len, compare_metric_t m, double v, bool sign)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else if (m == CMP_RPS)
		snprintf(out, len, sign ? "%+.1f/s" : "%.1f/s", v);
	else if (m == CMP_ERROR_RATE)
		snprintf(out, len, sign ? "%+.2f pp" : "%.2f%%", v * 100);
	else
		format_ms(out, len, v, sign);
}

static void format_relative(char *out, size_t len, const compare_row_t *r)
{
	if (isnan(r->relative))
		snprintf(out, len, r->delta == 0 || isnan(r->delta) ? "-" : "new");
	else
		snprintf(out, len, "%+.1f%%", r->relative * 100);
}

static const char *arrow(const compare_row_t *r)
{
	return r->delta > 0 ? "▲" : r->delta < 0 ? "▼" : " ";
}

static void format_tolerance(const compare_options_t *o, char *out, size_t len)
{
	char floor[32];

	format_ms(floor, sizeof(floor), o->min_delta_ms, false);
	snprintf(out, len,
	         "p95/p99 slower by more than %g%% and %s, error rate up by more than %g%% and "
	         "%g pp, rps down by more than %g%%",
	         o->tolerance * 100, floor, o->tolerance * 100, o->min_error_rate * 100,
	         o->tolerance * 100);
}

/* ---- terminal ---- */

static void text_row(buf_t *out, const compare_row_t *r, bool color)
{
	char base[32], next[32], delta[32], rel[16];
	const char *on = "", *off = "";

	format_value(base, sizeof(base), r->metric, r->base, false);
	format_value(next, sizeof(next), r->metric, r->next, false);
	format_value(delta, sizeof(delta), r->metric, r->delta, true);
	format_relative(rel, sizeof(rel), r);
	if (color && r->verdict == CMP_REGRESSION)
		on = "\033[1;31m", off = "\033[0m";
	else if (color && r->verdict == CMP_IMPROVED)
		on = "\033[32m", off = "\033[0m";
	buf_printf(out, "  %-11s %13s %13s %13s %s %9s  %s%s%s\n", metrics[r->metric].label, base,
	           next, delta, arrow(r), rel, on, compare_verdict_name(r->verdict), off);
}

/* "added: only in the new run (156 requests, 78.0/s, p95 50.14 ms)" for a one-sided scope. */
static void format_one_side(char *out, size_t len, const compare_scope_t *s)
{
	const compare_row_t *rows = s->rows;
	bool added = s->presence == CMP_ADDED;
	char rps[32], p95[32];

	format_value(rps, sizeof(rps), CMP_RPS, added ? rows[CMP_RPS].next : rows[CMP_RPS].base,
	             false);
	format_ms(p95, sizeof(p95), added ? rows[CMP_P95].next : rows[CMP_P95].base, false);
	snprintf(out, len, "%s: only in the %s run (%llu requests, %s, p95 %s)",
	         added ? "added" : "removed", added ? "new" : "baseline",
	         added ? s->next_requests : s->base_requests, rps, p95);
}

static void text_one_side(buf_t *out, const compare_scope_t *s)
{
	char what[160];

	format_one_side(what, sizeof(what), s);
	buf_printf(out, "%s  %s\n", s->name, what);
}

int compare_render_text(const compare_result_t *r, bool color, buf_t *b)
{
	buf_t *out = b;
	char tol[256];

	format_tolerance(&r->options, tol, sizeof(tol));
	buf_printf(out, "surge compare\n  base  %s  %s  %s\n  new   %s  %s  %s\n", r->base_name,
	           r->base_started, r->base_url, r->next_name, r->next_started, r->next_url);
	buf_printf(out, "  regression: %s\n\n", tol);
	buf_printf(out, "  %-11s %13s %13s %13s %11s  %s\n", "", "base", "new", "change",
	           "relative", "verdict");
	for (size_t i = 0; i < r->scope_count; i++) {
		const compare_scope_t *s = &r->scopes[i];

		if (i > 0)
			buf_append_char(out, '\n');
		if (s->presence != CMP_BOTH) {
			text_one_side(out, s);
			continue;
		}
		buf_printf(out, "%s  (%llu -> %llu requests)\n", s->name, s->base_requests,
		           s->next_requests);
		for (int m = 0; m < CMP_METRIC_COUNT; m++)
			text_row(out, &s->rows[m], color);
	}
	buf_printf(out, "\n");
	if (r->regressions == 0) {
		buf_printf(out, "%sok%s: no regression\n", color ? "\033[32m" : "",
		           color ? "\033[0m" : "");
		return buf_error(b);
	}
	buf_printf(out, "%sREGRESSION%s: %d metric%s worse beyond the tolerance:\n",
	           color ? "\033[1;31m" : "", color ? "\033[0m" : "", r->regressions,
	           r->regressions == 1 ? "" : "s");
	for (size_t i = 0; i < r->scope_count; i++) {
		for (int m = 0; m < CMP_METRIC_COUNT; m++) {
			const compare_row_t *row = &r->scopes[i].rows[m];
			char base[32], next[32], rel[16];

			if (row->verdict != CMP_REGRESSION)
				continue;
			format_value(base, sizeof(base), row->metric, row->base, false);
			format_value(next, sizeof(next), row->metric, row->next, false);
			format_relative(rel, sizeof(rel), row);
			buf_printf(out, "  %s %s: %s -> %s (%s)\n", r->scopes[i].name,
			           metrics[m].label, base, next, rel);
		}
	}
	return buf_error(b);
}

/* ---- markdown ---- */

/* Text for a table cell: '|' escaped, newlines dropped. */
static void md_cell(buf_t *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			buf_append_str(out, "\\|");
		else if (*s != '\n' && *s != '\r')
			buf_append_char(out, *s);
	}
}

int compare_render_markdown(const compare_result_t *r, buf_t *b)
{
	buf_t *out = b;
	char tol[256];

	format_tolerance(&r->options, tol, sizeof(tol));
	if (r->regressions)
		buf_printf(out, "### surge compare: **REGRESSION** (%d)\n\n", r->regressions);
	else
		buf_printf(out, "### surge compare: ok, no regression\n\n");
	buf_printf(out, "| | file | started | URL |\n|---|---|---|---|\n| base | `");
	md_cell(out, r->base_name);
	buf_printf(out, "` | %s | ", r->base_started);
	md_cell(out, r->base_url);
	buf_printf(out, " |\n| new | `");
	md_cell(out, r->next_name);
	buf_printf(out, "` | %s | ", r->next_started);
	md_cell(out, r->next_url);
	buf_printf(out, " |\n\n");
	if (r->mismatch[0]) {
		buf_append_str(out, "**Warning:** the runs measured different things (");
		md_cell(out, r->mismatch);
		buf_append_str(out, "): the deltas compare different targets.\n\n");
	}
	buf_printf(out, "A regression: %s.\n\n", tol);
	buf_printf(out, "| scope | metric | base | new | change | relative | verdict |\n"
	                "|---|---|---:|---:|---:|---:|---|\n");
	for (size_t i = 0; i < r->scope_count; i++) {
		const compare_scope_t *s = &r->scopes[i];

		if (s->presence != CMP_BOTH) {
			char what[160];

			format_one_side(what, sizeof(what), s);
			buf_append_str(out, "| ");
			md_cell(out, s->name);
			buf_printf(out, " | | | | | | %s |\n", what);
			continue;
		}
		for (int m = 0; m < CMP_METRIC_COUNT; m++) {
			const compare_row_t *row = &s->rows[m];
			char base[32], next[32], delta[32], rel[16];

			format_value(base, sizeof(base), row->metric, row->base, false);
			format_value(next, sizeof(next), row->metric, row->next, false);
			format_value(delta, sizeof(delta), row->metric, row->delta, true);
			format_relative(rel, sizeof(rel), row);
			buf_append_str(out, "| ");
			if (m == 0)
				md_cell(out, s->name);
			buf_printf(out, " | %s | %s | %s | %s | %s %s | %s%s%s |\n",
			           metrics[m].label, base, next, delta, arrow(row), rel,
			           row->verdict == CMP_REGRESSION ? "**" : "",
			           compare_verdict_name(row->verdict),
			           row->verdict == CMP_REGRESSION ? "**" : "");
		}
	}
	buf_append_char(out, '\n');
	return buf_error(b);
}

/* ---- HTML ---- */

static void html_text(buf_t *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '&': buf_append_str(out, "&amp;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		default: buf_append_char(out, *s);
		}
	}
}

static const char html_head[] =
    "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<title>surge compare</title>\n<style>\n"
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:1000px;padding:0 1em;color:#1d2330;background:#fafbfc}\n"
    "h1{font-size:1.4em;margin:0 0 .3em}\n"
    ".verdict{display:inline-block;padding:.2em .7em;border-radius:4px;font-weight:600;"
    "color:#fff}\n.verdict.bad{background:#c62828}.verdict.good{background:#2e7d32}\n"
    "table{border-collapse:collapse;width:100%;margin:1em 0;background:#fff;"
    "box-shadow:0 1px 2px rgba(0,0,0,.08)}\n"
    "th,td{padding:.35em .7em;border-bottom:1px solid #e6e8eb;text-align:right;"
    "white-space:nowrap}\nth{background:#f0f2f5;font-weight:600}\n"
    "td.l,th.l{text-align:left}\ntr.scope td{background:#f6f7f9;font-weight:600;"
    "text-align:left}\n"
    "tr.regression td{background:#fdecea}tr.regression td.v{color:#c62828;font-weight:700}\n"
    "tr.improved td.v{color:#2e7d32}.up{color:#8a5a00}.down{color:#1f5fa8}\n"
    ".muted{color:#6b7280}\n.warn{color:#8a5a00}\ncode{background:#eef0f3;padding:0 "
    ".3em;border-radius:3px}\n"
    "</style></head><body>\n";

static void html_row(buf_t *out, const compare_row_t *row)
{
	char base[32], next[32], delta[32], rel[16];
	const char *cls = row->verdict == CMP_REGRESSION ? "regression"
	                  : row->verdict == CMP_IMPROVED ? "improved"
	                                                 : "";

	format_value(base, sizeof(base), row->metric, row->base, false);
	format_value(next, sizeof(next), row->metric, row->next, false);
	format_value(delta, sizeof(delta), row->metric, row->delta, true);
	format_relative(rel, sizeof(rel), row);
	buf_printf(out,
	           "<tr class=\"%s\"><td class=\"l\">%s%s</td><td>%s</td><td>%s</td><td>%s</td>"
	           "<td><span class=\"%s\">%s</span> %s</td><td class=\"l v\">%s</td></tr>\n",
	           cls, metrics[row->metric].label,
	           metrics[row->metric].judged ? "" : " <span class=\"muted\">(not judged)</span>",
	           base, next, delta, row->delta > 0 ? "up" : "down", arrow(row), rel,
	           compare_verdict_name(row->verdict));
}

int compare_render_html(const compare_result_t *r, buf_t *b)
{
	buf_t *out = b;
	char tol[256];

	format_tolerance(&r->options, tol, sizeof(tol));
	buf_append_str(out, html_head);
	buf_printf(out, "<h1>surge compare <span class=\"verdict %s\">%s</span></h1>\n",
	           r->regressions ? "bad" : "good",
	           r->regressions ? "REGRESSION" : "no regression");
	buf_append_str(out, "<table><tr><th class=\"l\"></th><th class=\"l\">file</th>"
	                    "<th class=\"l\">started</th><th class=\"l\">URL</th></tr>\n"
	                    "<tr><td class=\"l\">base</td><td class=\"l\"><code>");
	html_text(out, r->base_name);
	buf_append_str(out, "</code></td><td class=\"l\">");
	html_text(out, r->base_started);
	buf_append_str(out, "</td><td class=\"l\">");
	html_text(out, r->base_url);
	buf_append_str(out, "</td></tr>\n<tr><td class=\"l\">new</td><td class=\"l\"><code>");
	html_text(out, r->next_name);
	buf_append_str(out, "</code></td><td class=\"l\">");
	html_text(out, r->next_started);
	buf_append_str(out, "</td><td class=\"l\">");
	html_text(out, r->next_url);
	buf_append_str(out, "</td></tr></table>\n");
	if (r->mismatch[0]) {
		buf_append_str(
		    out, "<p class=\"warn\"><b>Warning:</b> the runs measured different things (");
		html_text(out, r->mismatch);
		buf_append_str(out, "): the deltas compare different targets.</p>\n");
	}
	buf_append_str(out, "<p class=\"muted\">A regression: ");
	html_text(out, tol);
	buf_append_str(out, ".</p>\n<table>\n<tr><th class=\"l\">metric</th><th>base</th>"
	                    "<th>new</th><th>change</th><th>relative</th>"
	                    "<th class=\"l\">verdict</th></tr>\n");
	for (size_t i = 0; i < r->scope_count; i++) {
		const compare_scope_t *s = &r->scopes[i];

		buf_append_str(out, "<tr class=\"scope\"><td colspan=\"6\">");
		html_text(out, s->name);
		if (s->presence == CMP_BOTH)
			buf_printf(out, " <span class=\"muted\">%llu → %llu requests</span>",
			           s->base_requests, s->next_requests);
		else {
			char what[160];

			format_one_side(what, sizeof(what), s);
			buf_append_str(out, " <span class=\"muted\">");
			html_text(out, what);
			buf_append_str(out, "</span>");
		}
		buf_append_str(out, "</td></tr>\n");
		for (int m = 0; s->presence == CMP_BOTH && m < CMP_METRIC_COUNT; m++)
			html_row(out, &s->rows[m]);
	}
	buf_printf(out,
	           "</table>\n<p class=\"muted\">surge compare · %d regression%s</p>\n"
	           "</body></html>\n",
	           r->regressions, r->regressions == 1 ? "" : "s");
	return buf_error(b);
}

/* ---- JSON ---- */

int compare_render_json(const compare_result_t *r, buf_t *out)
{
	json_writer_t w;

	jsonw_init(&w, out, true);
	jsonw_object_begin(&w);
	jsonw_key(&w, "verdict");
	jsonw_string(&w, r->regressions ? "REGRESSION" : "ok");
	jsonw_key(&w, "regressions");
	jsonw_int(&w, r->regressions);
	jsonw_key(&w, "base");
	jsonw_string(&w, r->base_name);
	jsonw_key(&w, "new");
	jsonw_string(&w, r->next_name);
	jsonw_key(&w, "mismatch");
	if (r->mismatch[0])
		jsonw_string(&w, r->mismatch);
	else
		jsonw_null(&w);
	jsonw_key(&w, "tolerance");
	jsonw_double(&w, r->options.tolerance, 6);
	jsonw_key(&w, "min_delta_ms");
	jsonw_double(&w, r->options.min_delta_ms, 6);
	jsonw_key(&w, "min_error_rate");
	jsonw_double(&w, r->options.min_error_rate, 6);
	jsonw_key(&w, "scopes");
	jsonw_array_begin(&w);
	for (size_t i = 0; i < r->scope_count; i++) {
		const compare_scope_t *s = &r->scopes[i];

		jsonw_object_begin(&w);
		jsonw_key(&w, "scope");
		jsonw_string(&w, s->name);
		jsonw_key(&w, "presence");
		jsonw_string(&w, s->presence == CMP_ADDED     ? "added"
		                 : s->presence == CMP_REMOVED ? "removed"
		                                              : "both");
		jsonw_key(&w, "regressions");
		jsonw_int(&w, s->regressions);
		jsonw_key(&w, "rows");
		jsonw_array_begin(&w);
		for (int m = 0; m < CMP_METRIC_COUNT; m++) {
			const compare_row_t *row = &s->rows[m];

			jsonw_object_begin(&w);
			jsonw_key(&w, "metric");
			jsonw_string(&w, metrics[m].name);
			jsonw_key(&w, "base");
			jsonw_double(&w, row->base, 6);
			jsonw_key(&w, "new");
			jsonw_double(&w, row->next, 6);
			jsonw_key(&w, "delta");
			jsonw_double(&w, row->delta, 6);
			jsonw_key(&w, "relative");
			jsonw_double(&w, row->relative, 6);
			jsonw_key(&w, "judged");
			jsonw_bool(&w, metrics[m].judged);
			jsonw_key(&w, "verdict");
			jsonw_string(&w, compare_verdict_name(row->verdict));
			jsonw_object_end(&w);
		}
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	buf_append_char(out, '\n');
	return w.err ? w.err : buf_error(out);
}
