/* report_markdown: a markdown summary of a result (the typed model), sized for a GitHub job summary
 * or a pull-request comment: the verdict first, then the figures, endpoints, status codes,
 * errors, thresholds, checks, custom metrics and recommendations — each section only when
 * the document has something to say in it. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
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

/* Figures as the document writes them (result_round), so the markdown of a run and of its
 * saved document are the same bytes. */
static double doc3(double v)
{
	return isfinite(v) ? result_round(v, 3) : 0;
}

/* The latency figures of a sparse histogram in ms, as the document gives them: min, mean,
 * stdev, p50, p90, p95, p99, p99.9, max (a decoded document's own where it had no
 * histogram). */
static void latency_figures(const result_hist_t *rh, hist_t *h, double out[9])
{
	static const double pcts[] = {50, 90, 95, 99, 99.9};

	if (rh->read && rh->len == 0) {
		for (int i = 0; i < 9; i++)
			out[i] = isfinite(rh->read_ms[i]) ? rh->read_ms[i] : 0;
		return;
	}
	result_hist_expand(rh, h);
	out[0] = doc3(h->total ? h->min / 1e3 : 0);
	out[1] = doc3(hist_mean(h) / 1e3);
	out[2] = doc3(hist_stdev(h) / 1e3);
	for (int i = 0; i < 5; i++)
		out[3 + i] = doc3(hist_percentile(h, pcts[i]) / 1e3);
	out[8] = doc3(h->max / 1e3);
}

static double per_second(uint64_t n, double duration_s)
{
	return doc3(duration_s > 0 ? (double)n / duration_s : 0);
}

static void put_title(md_t *m, const result_t *r)
{
	const result_assessment_t *a = &r->assessment;
	const result_config_t *c = &r->config;
	char started[40] = "?";

	if (a->present)
		put(m, "## surge: %s %s ", mark(a->pass), a->pass ? "PASS" : "FAIL");
	else
		put(m, "## surge: result ");
	put(m, "`");
	put_code(m, c->method ? c->method : "GET");
	put(m, " ");
	put_code(m, c->url ? c->url : "?");
	put(m, "`\n\n");
	put(m, "%s model, %.0f connections, %.1f s", c->open_model ? "open" : "closed",
	    (double)c->connections, doc3(r->duration_s));
	if (c->has_rate && !c->stages)
		put(m, " at %.1f/s", result_round(c->rate, c->shard_count ? 6 : 3));
	if (c->stages) {
		put(m, ", stages `");
		put_code(m, c->stages);
		put(m, "`");
	}
	if (a->profile) {
		put(m, ", profile ");
		put_text(m, a->profile);
	}
	if (r->has_started_at)
		clock_format_rfc3339(r->started_wall_ns, started, sizeof(started));
	put(m, " · started %s · surge %s", started, r->version ? r->version : "?");
	if (r->interrupted)
		put(m, " · **interrupted**");
	if (a->present && a->aborted)
		put(m, " · **aborted: a threshold failed**");
	put(m, "\n\n");
}

/* The latency rows of the figures table. */
static void put_latency_rows(md_t *m, const double l[9])
{
	char d[4][24];

	put(m, "| latency p50 / p90 / p95 / p99 | %s / %s / %s / %s |\n", ms_text(l[3], d[0], 24),
	    ms_text(l[4], d[1], 24), ms_text(l[5], d[2], 24), ms_text(l[6], d[3], 24));
	put(m, "| latency p99.9 / max | %s / %s |\n", ms_text(l[7], d[0], 24),
	    ms_text(l[8], d[1], 24));
	put(m, "| latency min / mean / stdev | %s / %s / %s |\n", ms_text(l[0], d[0], 24),
	    ms_text(l[1], d[1], 24), ms_text(l[2], d[2], 24));
}

static void put_figures(md_t *m, const result_t *r, hist_t *h)
{
	const result_assessment_t *a = &r->assessment;
	const result_generator_t *g = &r->generator;
	const gen_counters_t *t = &r->counters;
	uint64_t requests = result_requests(t);
	double dur = doc3(r->duration_s), l[9];
	char n1[32], n2[32], d[6][24];

	put(m, "| figure | value |\n|---|---|\n");
	put(m, "| requests | %s (%.1f/s) |\n", count_text(requests, n1, 32),
	    per_second(requests, r->duration_s));
	put(m, "| errors | %s (%.2f %%) |\n", count_text(t->errors, n2, 32),
	    result_round(requests ? (t->errors < requests ? (double)t->errors / requests : 1) : 0,
	                 6) *
	        100);
	if (t->requests) {
		latency_figures(&r->latency, h, l);
		put_latency_rows(m, l);
	} else {
		put(m, "| latency | no responses |\n");
	}
	units_format_bytes((double)t->bytes_in, d[0], 24);
	units_format_bytes(dur > 0 ? (double)t->bytes_in / dur : 0, d[1], 24);
	units_format_bytes((double)t->bytes_out, d[2], 24);
	put(m, "| transfer | %s received (%s/s), %s sent |\n", d[0], d[1], d[2]);
	if (t->dropped || t->late)
		put(m, "| open model | %s late, %s dropped |\n", count_text(t->late, n1, 32),
		    count_text(t->dropped, n2, 32));
	if (t->unfinished)
		put(m, "| unfinished | %s out or queued when the run stopped |\n",
		    count_text(t->unfinished, n1, 32));
	if (a->present) {
		put(m, "| latency class | %s (p95 %s, target %s) |\n",
		    a->latency_class[0] ? a->latency_class : "?",
		    ms_text(doc3(a->p95_ms), d[0], 24), ms_text(doc3(a->target_p95_ms), d[1], 24));
		put(m,
		    "| verdicts | latency %s · throughput %s · error rate %s · thresholds %s |\n",
		    a->latency_ok ? "PASS" : "FAIL", a->throughput_ok ? "PASS" : "FAIL",
		    a->errors_ok ? "PASS" : "FAIL", a->thresholds_ok ? "PASS" : "FAIL");
	}
	if (r->has_tls) {
		const result_hist_t *hs = &r->tls_handshake;
		double p50 = hs->read_ms[3], p99 = hs->read_ms[6]; /* a document's, or: */

		if (!(hs->read && hs->len == 0)) {
			result_hist_expand(hs, h);
			p50 = hist_percentile(h, 50) / 1e3;
			p99 = hist_percentile(h, 99) / 1e3;
		}
		put(m, "| TLS handshakes | %s (%s resumed%s)",
		    count_text(r->tls_handshakes, n1, 32), count_text(r->tls_resumed, n2, 32),
		    r->tls_resumption ? "" : ", --no-tls-resume");
		if (r->tls_handshakes)
			put(m, ", p50 %s, p99 %s", ms_text(doc3(p50), d[0], 24),
			    ms_text(doc3(p99), d[1], 24));
		put(m, " |\n");
	}
	if (r->has_generator) {
		put(m, "| generator | %.2f CPU s, %s threads", doc3(g->cpu_s),
		    count_text(g->threads, n1, 32));
		if (g->saturated)
			put(m,
			    ", **saturated (%s in %s of %s s): the numbers describe the "
			    "generator**",
			    gen_saturation_name(g->saturation.criterion),
			    count_text(g->saturation.seconds, n1, 32),
			    count_text(g->saturation.whole_seconds, n2, 32));
		put(m, " |\n");
	}
	put(m, "\n");
}

static void put_endpoints(md_t *m, const result_t *r, hist_t *h)
{
	if (!r->endpoint_count)
		return;
	put(m, "### Endpoints\n\n| endpoint | requests | errors | rps | p50 | p95 | p99 | max |\n"
	       "|---|--:|--:|--:|--:|--:|--:|--:|\n");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		const result_endpoint_t *ep = &r->endpoints[i];
		uint64_t requests = result_requests(&ep->counters);
		char n1[32], n2[32], d[4][24];
		double l[9];

		latency_figures(&ep->latency, h, l);
		put(m, "| `");
		put_code(m, ep->method);
		put(m, " ");
		put_code(m, ep->name);
		put(m, "` | %s | %s | %.1f | %s | %s | %s | %s |\n", count_text(requests, n1, 32),
		    count_text(ep->counters.errors, n2, 32), per_second(requests, r->duration_s),
		    ms_text(l[3], d[0], 24), ms_text(l[5], d[1], 24), ms_text(l[6], d[2], 24),
		    ms_text(l[8], d[3], 24));
	}
	put(m, "\n");
}

/* --group-by-header: responses per value (per instance, in name order) and the spread. */
static void put_group_by(md_t *m, const result_t *r, hist_t *h)
{
	const result_group_t **s;
	uint64_t grouped, most;

	if (!r->has_groups || !(s = result_groups_sorted(r, &grouped, &most)))
		return;
	put(m, "### Load balance by `");
	put_code(m, r->group_header ? r->group_header : "");
	put(m, "`\n\n| value | requests | share | errors | p50 | p95 | p99 |\n"
	       "|---|--:|--:|--:|--:|--:|--:|\n");
	for (uint32_t i = 0; i < r->group_count; i++) {
		char n1[32], n2[32], d[3][24];
		double l[9];

		latency_figures(&s[i]->latency, h, l);
		put(m, "| `");
		put_code(m, s[i]->value);
		put(m, "` | %s | %.1f%% | %s | %s | %s | %s |\n",
		    count_text(s[i]->responses, n1, 32),
		    result_round(grouped ? (double)s[i]->responses / grouped : 0, 6) * 100,
		    count_text(s[i]->errors, n2, 32), ms_text(l[3], d[0], 24),
		    ms_text(l[5], d[1], 24), ms_text(l[6], d[2], 24));
	}
	if (grouped)
		put(m, "\nSpread %.3f: the largest share over the mean share (1 = even).",
		    result_round((double)most * r->group_count / (double)grouped, 4));
	else
		put(m, "\nNo response carried the header.");
	if (r->group_missing || r->group_overflow)
		put(m,
		    " Not counted: %llu without the header, %llu with a value beyond the first "
		    "%llu.",
		    (unsigned long long)r->group_missing, (unsigned long long)r->group_overflow,
		    (unsigned long long)r->group_values_max);
	put(m, "\n\n");
	free(s);
}

/* One row of a {name: count} table, the table's head before the first. */
static void put_count_row(md_t *m, bool *any, const char *title, const char *column,
                          const char *name, uint64_t c, uint64_t total)
{
	char n[32];

	if (!c)
		return;
	if (!*any)
		put(m, "### %s\n\n| %s | count | share |\n|---|--:|--:|\n", title, column);
	*any = true;
	put(m, "| ");
	put_text(m, name);
	put(m, " | %s | %.2f %% |\n", count_text(c, n, sizeof(n)),
	    total ? 100.0 * (double)c / (double)total : 0);
}

/* Status codes and error kinds, zero counts left out; nothing when all are zero. */
static void put_counts(md_t *m, const result_t *r)
{
	const gen_counters_t *c = &r->counters;
	char code[16];
	bool any = false;

	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		snprintf(code, sizeof(code), "%d", i);
		put_count_row(m, &any, "Status codes", "status", code, c->status[i], c->requests);
	}
	if (any)
		put(m, "\n");
	any = false;
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		put_count_row(m, &any, "Errors", "kind", gen_error_kind_name(i),
		              c->errors_by_kind[i], result_requests(c));
	put_count_row(m, &any, "Errors", "kind", "check_failed", c->checks_failed,
	              result_requests(c));
	put_count_row(m, &any, "Errors", "kind", "script_error", c->script_errors,
	              result_requests(c));
	if (any)
		put(m, "\n");
}

static void put_thresholds(md_t *m, const result_t *r)
{
	if (!r->threshold_count)
		return;
	put(m, "### Thresholds\n\n| | threshold | measured |\n|---|---|--:|\n");
	for (uint32_t i = 0; i < r->threshold_count; i++) {
		const result_threshold_t *t = &r->thresholds[i];
		char value[64];

		result_threshold_text(t->expr, t->value, value, sizeof(value));
		put(m, "| %s | `", mark(t->ok));
		put_code(m, t->expr);
		put(m, "` | %s |\n", value);
	}
	put(m, "\n");
}

static void put_checks(md_t *m, const result_t *r)
{
	bool any = false;

	for (uint32_t i = 0; i < r->tally_count; i++) {
		const result_tally_t *c = &r->tallies[i];
		char n1[32], n2[32];

		if (c->kind != GEN_TALLY_CHECK)
			continue;
		if (!any)
			put(m, "### Checks\n\n| | check | passes | fails |\n|---|---|--:|--:|\n");
		any = true;
		put(m, "| %s | ", mark(c->fails == 0));
		put_text(m, c->name);
		put(m, " | %s | %s |\n", count_text(c->passes, n1, 32),
		    count_text(c->fails, n2, 32));
	}
	if (any)
		put(m, "\n");
}

static void put_metrics(md_t *m, const result_t *r, hist_t *h)
{
	bool any = false;

	for (uint32_t i = 0; i < r->tally_count; i++) {
		if (r->tallies[i].kind != GEN_TALLY_COUNTER)
			continue;
		if (!any)
			put(m, "### Counters\n\n| counter | value |\n|---|--:|\n");
		any = true;
		put(m, "| ");
		put_text(m, r->tallies[i].name);
		put(m, " | %.6g |\n", result_round(r->tallies[i].value, 6));
	}
	if (any)
		put(m, "\n");
	any = false;
	for (uint32_t i = 0; i < r->tally_count; i++) {
		static const double pcts[] = {50, 90, 95, 99};

		if (r->tallies[i].kind != GEN_TALLY_TREND)
			continue;
		if (!any)
			put(m, "### Trends\n\n| trend | count | min | mean | p50 | p90 | p95 | p99 "
			       "| max "
			       "|\n|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
		any = true;
		result_hist_expand(&r->tallies[i].hist, h);
		put(m, "| ");
		put_text(m, r->tallies[i].name);
		put(m, " | %llu | %.6g | %.6g", (unsigned long long)h->total,
		    doc3(h->total ? h->min / 1e3 : 0), doc3(hist_mean(h) / 1e3));
		for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
			put(m, " | %.6g", doc3(hist_percentile(h, pcts[k]) / 1e3));
		put(m, " | %.6g |\n", doc3(h->max / 1e3));
	}
	if (any)
		put(m, "\n");
}

static void put_recommendations(md_t *m, const result_t *r)
{
	if (!r->recommendation_count)
		return;
	put(m, "### Recommendations\n\n");
	for (uint32_t i = 0; i < r->recommendation_count; i++) {
		const result_recommendation_t *c = &r->recommendations[i];

		put(m, "- **");
		put_text(m, c->severity[0] ? c->severity : "info");
		put(m, "** ");
		put_text(m, c->title ? c->title : "");
		if (c->detail && *c->detail) {
			put(m, ": ");
			put_text(m, c->detail);
		}
		put(m, "\n");
	}
	put(m, "\n");
}

int report_markdown(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	md_t m = {.out = out};
	hist_t *h = malloc(sizeof(*h)); /* one histogram expanded at a time */

	if (!h) {
		snprintf(err, errlen, "markdown: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	put_title(&m, r);
	put_figures(&m, r, h);
	put_endpoints(&m, r, h);
	put_group_by(&m, r, h);
	put_counts(&m, r);
	put_thresholds(&m, r);
	put_checks(&m, r);
	put_metrics(&m, r, h);
	put_recommendations(&m, r);
	free(h);
	if (buf_error(out))
		snprintf(err, errlen, "markdown: %s", strerror(-buf_error(out)));
	return buf_error(out);
}
