/* report_markdown: a markdown summary of a result document, sized for a GitHub job summary
 * or a pull-request comment: the verdict first, then the figures, endpoints, status codes,
 * errors, thresholds, checks, custom metrics and recommendations — each section only when
 * the document has something to say in it. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "report/report_outputs.h"
#include "result/result_doc.h"

/* The output; its first failed append is remembered by the buf (sticky), checked at the end. */
typedef struct md {
	buf_t *out;
} md_t;

static void put(md_t *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(md_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(m->out, fmt, ap);
	va_end(ap);
}

/* Text inside a table cell or a line: no pipe, no line break, no raw HTML. */
static void put_text(md_t *m, const char *s)
{
	for (; *s && !buf_error(m->out); s++) {
		switch (*s) {
		case '|': buf_append_str(m->out, "\\|"); break;
		case '<': buf_append_str(m->out, "&lt;"); break;
		case '>': buf_append_str(m->out, "&gt;"); break;
		case '&': buf_append_str(m->out, "&amp;"); break;
		case '`': buf_append_str(m->out, "'"); break;
		default: /* line breaks and other control characters read as a space */
			buf_append_char(m->out, (unsigned char)*s < 0x20 ? ' ' : *s);
		}
	}
}

/* Text inside a `code span`: taken literally by markdown, so only what would end the span,
 * the table cell or the line is replaced. */
static void put_code(md_t *m, const char *s)
{
	for (; *s && !buf_error(m->out); s++) {
		switch (*s) {
		case '|': buf_append_str(m->out, "\\|"); break;
		case '`': buf_append_char(m->out, '\''); break;
		default: /* line breaks and other control characters read as a space */
			buf_append_char(m->out, (unsigned char)*s < 0x20 ? ' ' : *s);
		}
	}
}

/* A latency in ms as the terminal shows it: "243.00us", "12.35ms", "1.20s". */
static const char *ms_text(double ms, char *out, size_t len)
{
	units_format_duration_us(ms * 1e3, out, len);
	return out;
}

/* 1234567 → "1,234,567" (units_format_count), as an expression. */
static const char *count_text(uint64_t v, char *out, size_t len)
{
	units_format_count(v, out, len);
	return out;
}

static const char *mark(bool ok)
{
	return ok ? "✅" : "❌";
}

/* ---- sections ---- */

static void put_title(md_t *m, const json_t *doc)
{
	const json_t *a = result_doc_object(doc, "assessment");
	const json_t *c = result_doc_object(doc, "config");
	const char *verdict = result_doc_string(a, "verdict", NULL);
	const char *stages = result_doc_string(c, "stages", NULL);
	const char *profile = result_doc_string(a, "profile", NULL);

	if (verdict)
		put(m, "## surge: %s %s ", mark(strcmp(verdict, "PASS") == 0), verdict);
	else
		put(m, "## surge: result ");
	put(m, "`");
	put_code(m, result_doc_string(c, "method", "GET"));
	put(m, " ");
	put_code(m, result_doc_string(c, "url", "?"));
	put(m, "`\n\n");
	put(m, "%s model, %.0f connections, %.1f s", result_doc_string(c, "model", "closed"),
	    result_doc_number(c, "connections", 0), result_doc_number(doc, "duration_s", 0));
	if (json_is_number(result_doc_get(c, "rate")) && !stages)
		put(m, " at %.1f/s", result_doc_number(c, "rate", 0));
	if (stages) {
		put(m, ", stages `");
		put_code(m, stages);
		put(m, "`");
	}
	if (profile) {
		put(m, ", profile ");
		put_text(m, profile);
	}
	put(m, " · started %s · surge %s", result_doc_string(doc, "started_at", "?"),
	    result_doc_string(doc, "version", "?"));
	if (result_doc_bool(doc, "interrupted", false))
		put(m, " · **interrupted**");
	if (result_doc_bool(a, "aborted", false))
		put(m, " · **aborted: a threshold failed**");
	put(m, "\n\n");
}

/* The latency rows of the figures table. */
static void put_latency_rows(md_t *m, const json_t *l)
{
	char d[4][24];

	put(m, "| latency p50 / p90 / p95 / p99 | %s / %s / %s / %s |\n",
	    ms_text(result_doc_number(l, "p50", 0), d[0], 24),
	    ms_text(result_doc_number(l, "p90", 0), d[1], 24),
	    ms_text(result_doc_number(l, "p95", 0), d[2], 24),
	    ms_text(result_doc_number(l, "p99", 0), d[3], 24));
	put(m, "| latency p99.9 / max | %s / %s |\n",
	    ms_text(result_doc_number(l, "p99_9", 0), d[0], 24),
	    ms_text(result_doc_number(l, "max", 0), d[1], 24));
	put(m, "| latency min / mean / stdev | %s / %s / %s |\n",
	    ms_text(result_doc_number(l, "min", 0), d[0], 24),
	    ms_text(result_doc_number(l, "mean", 0), d[1], 24),
	    ms_text(result_doc_number(l, "stdev", 0), d[2], 24));
}

static void put_figures(md_t *m, const json_t *doc)
{
	const json_t *t = result_doc_object(doc, "totals");
	const json_t *l = result_doc_object(doc, "latency_ms");
	const json_t *a = result_doc_object(doc, "assessment");
	const json_t *g = result_doc_object(doc, "generator");
	char n1[32], n2[32], d[6][24];
	double dur = result_doc_number(doc, "duration_s", 0);

	put(m, "| figure | value |\n|---|---|\n");
	put(m, "| requests | %s (%.1f/s) |\n",
	    count_text(result_doc_count(t, "requests", 0), n1, 32), result_doc_number(t, "rps", 0));
	put(m, "| errors | %s (%.2f %%) |\n", count_text(result_doc_count(t, "errors", 0), n2, 32),
	    result_doc_number(t, "error_rate", 0) * 100);
	if (result_doc_count(t, "responses", 1))
		put_latency_rows(m, l);
	else
		put(m, "| latency | no responses |\n");
	units_format_bytes(result_doc_number(t, "bytes_in", 0), d[0], 24);
	units_format_bytes(dur > 0 ? result_doc_number(t, "bytes_in", 0) / dur : 0, d[1], 24);
	units_format_bytes(result_doc_number(t, "bytes_out", 0), d[2], 24);
	put(m, "| transfer | %s received (%s/s), %s sent |\n", d[0], d[1], d[2]);
	if (result_doc_count(t, "dropped", 0) || result_doc_count(t, "late", 0))
		put(m, "| open model | %s late, %s dropped |\n",
		    count_text(result_doc_count(t, "late", 0), n1, 32),
		    count_text(result_doc_count(t, "dropped", 0), n2, 32));
	if (a)
		put(m, "| latency class | %s (p95 %s, target %s) |\n",
		    result_doc_string(a, "latency_class", "?"),
		    ms_text(result_doc_number(a, "p95_ms", 0), d[0], 24),
		    ms_text(result_doc_path_number(a, "targets.p95_ms", 0), d[1], 24));
	if (a)
		put(m,
		    "| verdicts | latency %s · throughput %s · error rate %s · thresholds %s |\n",
		    result_doc_string(a, "latency", "?"), result_doc_string(a, "throughput", "?"),
		    result_doc_string(a, "error_rate", "?"),
		    result_doc_string(a, "thresholds", "?"));
	if (g) {
		const json_t *why = result_doc_object(g, "saturation");

		put(m, "| generator | %.2f CPU s, %s threads", result_doc_number(g, "cpu_s", 0),
		    count_text(result_doc_count(g, "threads", 0), n1, 32));
		if (result_doc_bool(g, "saturated", false) && why)
			put(m,
			    ", **saturated (%s in %s of %s s): the numbers describe the "
			    "generator**",
			    result_doc_string(why, "criterion", "?"),
			    count_text(result_doc_count(why, "seconds", 0), n1, 32),
			    count_text(result_doc_count(why, "run_seconds", 0), n2, 32));
		else if (result_doc_bool(g, "saturated", false))
			put(m, ", **saturated: the numbers describe the generator**");
		put(m, " |\n");
	}
	put(m, "\n");
}

static void put_endpoints(md_t *m, const json_t *doc)
{
	const json_t *eps = result_doc_array(doc, "endpoints");
	const json_t *ep;
	size_t i;

	if (!json_array_size(eps))
		return;
	put(m, "### Endpoints\n\n| endpoint | requests | errors | rps | p50 | p95 | p99 | max |\n"
	       "|---|--:|--:|--:|--:|--:|--:|--:|\n");
	json_array_foreach(eps, i, ep)
	{
		const json_t *l = result_doc_object(ep, "latency_ms");
		char n1[32], n2[32], d[4][24];

		put(m, "| `");
		put_code(m, result_doc_string(ep, "method", ""));
		put(m, " ");
		put_code(m, result_doc_string(ep, "name", ""));
		put(m, "` | %s | %s | %.1f | %s | %s | %s | %s |\n",
		    count_text(result_doc_count(ep, "requests", 0), n1, 32),
		    count_text(result_doc_count(ep, "errors", 0), n2, 32),
		    result_doc_number(ep, "rps", 0),
		    ms_text(result_doc_number(l, "p50", 0), d[0], 24),
		    ms_text(result_doc_number(l, "p95", 0), d[1], 24),
		    ms_text(result_doc_number(l, "p99", 0), d[2], 24),
		    ms_text(result_doc_number(l, "max", 0), d[3], 24));
	}
	put(m, "\n");
}

/* --group-by-header: responses per value (per instance) and the spread. */
static void put_group_by(md_t *m, const json_t *doc)
{
	const json_t *g = result_doc_object(doc, "group_by");
	const json_t *values = result_doc_array(g, "values"), *v;
	size_t i;

	if (!g)
		return;
	put(m, "### Load balance by `");
	put_code(m, result_doc_string(g, "header", ""));
	put(m, "`\n\n| value | requests | share | errors | p50 | p95 | p99 |\n"
	       "|---|--:|--:|--:|--:|--:|--:|\n");
	json_array_foreach(values, i, v)
	{
		const json_t *l = result_doc_object(v, "latency_ms");
		char n1[32], n2[32], d[3][24];

		put(m, "| `");
		put_code(m, result_doc_string(v, "value", ""));
		put(m, "` | %s | %.1f%% | %s | %s | %s | %s |\n",
		    count_text(result_doc_count(v, "requests", 0), n1, 32),
		    result_doc_number(v, "share", 0) * 100,
		    count_text(result_doc_count(v, "errors", 0), n2, 32),
		    ms_text(result_doc_number(l, "p50", 0), d[0], 24),
		    ms_text(result_doc_number(l, "p95", 0), d[1], 24),
		    ms_text(result_doc_number(l, "p99", 0), d[2], 24));
	}
	if (json_is_number(result_doc_get(g, "spread")))
		put(m, "\nSpread %.3f: the largest share over the mean share (1 = even).",
		    result_doc_number(g, "spread", 0));
	else
		put(m, "\nNo response carried the header.");
	if (result_doc_count(g, "missing", 0) || result_doc_count(g, "overflow", 0))
		put(m,
		    " Not counted: %llu without the header, %llu with a value beyond the first "
		    "%llu.",
		    (unsigned long long)result_doc_count(g, "missing", 0),
		    (unsigned long long)result_doc_count(g, "overflow", 0),
		    (unsigned long long)result_doc_count(g, "values_max", 64));
	put(m, "\n\n");
}

/* A {name: count} object as a table, zero counts left out; nothing when all are zero. */
static void put_counts(md_t *m, const json_t *counts, const char *title, const char *column,
                       uint64_t total)
{
	const char *key;
	json_t *v;
	bool any = false;
	char n[32];

	json_object_foreach((json_t *)counts, key, v)
	{
		uint64_t c = result_doc_value_count(v, 0);

		if (!c)
			continue;
		if (!any)
			put(m, "### %s\n\n| %s | count | share |\n|---|--:|--:|\n", title, column);
		any = true;
		put(m, "| ");
		put_text(m, key);
		put(m, " | %s | %.2f %% |\n", count_text(c, n, sizeof(n)),
		    total ? 100.0 * (double)c / (double)total : 0);
	}
	if (any)
		put(m, "\n");
}

static void put_thresholds(md_t *m, const json_t *doc)
{
	const json_t *ts = result_doc_array(doc, "thresholds");
	const json_t *t;
	size_t i;

	if (!json_array_size(ts))
		return;
	put(m, "### Thresholds\n\n| | threshold | measured |\n|---|---|--:|\n");
	json_array_foreach(ts, i, t)
	{
		const char *expr = result_doc_string(t, "expr", "?");
		char value[64];

		result_doc_threshold_value(expr, result_doc_get(t, "value"), value, sizeof(value));
		put(m, "| %s | `", mark(result_doc_bool(t, "ok", false)));
		put_code(m, expr);
		put(m, "` | %s |\n", value);
	}
	put(m, "\n");
}

static void put_checks(md_t *m, const json_t *doc)
{
	const json_t *cs = result_doc_array(doc, "checks");
	const json_t *c;
	size_t i;

	if (!json_array_size(cs))
		return;
	put(m, "### Checks\n\n| | check | passes | fails |\n|---|---|--:|--:|\n");
	json_array_foreach(cs, i, c)
	{
		uint64_t fails = result_doc_count(c, "fails", 0);
		char n1[32], n2[32];

		put(m, "| %s | ", mark(fails == 0));
		put_text(m, result_doc_string(c, "name", "?"));
		put(m, " | %s | %s |\n", count_text(result_doc_count(c, "passes", 0), n1, 32),
		    count_text(fails, n2, 32));
	}
	put(m, "\n");
}

static void put_metrics(md_t *m, const json_t *doc)
{
	const json_t *metrics = result_doc_object(doc, "metrics");
	const json_t *counters = result_doc_object(metrics, "counters");
	const json_t *trends = result_doc_object(metrics, "trends");
	const char *key;
	json_t *v;

	if (json_object_size(counters)) {
		put(m, "### Counters\n\n| counter | value |\n|---|--:|\n");
		json_object_foreach((json_t *)counters, key, v)
		{
			put(m, "| ");
			put_text(m, key);
			put(m, " | %.6g |\n", result_doc_value_number(v, 0));
		}
		put(m, "\n");
	}
	if (!json_object_size(trends))
		return;
	put(m, "### Trends\n\n| trend | count | min | mean | p50 | p90 | p95 | p99 | max |\n"
	       "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
	json_object_foreach((json_t *)trends, key, v)
	{
		static const char *const cols[] = {"min", "mean", "p50", "p90",
		                                   "p95", "p99",  "max"};

		put(m, "| ");
		put_text(m, key);
		put(m, " | %llu", (unsigned long long)result_doc_count(v, "count", 0));
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
			put(m, " | %.6g", result_doc_number(v, cols[i], 0));
		put(m, " |\n");
	}
	put(m, "\n");
}

static void put_recommendations(md_t *m, const json_t *doc)
{
	const json_t *rs = result_doc_array(doc, "recommendations");
	const json_t *r;
	size_t i;

	if (!json_array_size(rs))
		return;
	put(m, "### Recommendations\n\n");
	json_array_foreach(rs, i, r)
	{
		put(m, "- **");
		put_text(m, result_doc_string(r, "severity", "info"));
		put(m, "** ");
		put_text(m, result_doc_string(r, "title", ""));
		if (*result_doc_string(r, "detail", "")) {
			put(m, ": ");
			put_text(m, result_doc_string(r, "detail", ""));
		}
		put(m, "\n");
	}
	put(m, "\n");
}

int report_markdown(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	const json_t *t = result_doc_object(doc, "totals");
	md_t m = {.out = out};

	put_title(&m, doc);
	put_figures(&m, doc);
	put_endpoints(&m, doc);
	put_group_by(&m, doc);
	put_counts(&m, result_doc_object(doc, "status_codes"), "Status codes", "status",
	           result_doc_count(t, "responses", result_doc_count(t, "requests", 0)));
	put_counts(&m, result_doc_object(doc, "errors_by_kind"), "Errors", "kind",
	           result_doc_count(t, "requests", 0));
	put_thresholds(&m, doc);
	put_checks(&m, doc);
	put_metrics(&m, doc);
	put_recommendations(&m, doc);
	if (buf_error(out))
		snprintf(err, errlen, "markdown: %s", strerror(-buf_error(out)));
	return buf_error(out);
}
