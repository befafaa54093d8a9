/* report_html: fills the embedded template (web/report/report.html) with uPlot, the report's
 * script and style, the result document (encoded from the typed result) and the latency
 * percentile curves computed here from its histograms. Every inlined piece is checked or escaped so
 * nothing can end its element. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/hist.h"
#include "core/json.h"
#include "core/version.h"
#include "core/web_assets.h"
#include "report/report_html.h"
#include "result/result.h"

#define CURVE_MAX_SERIES 16  /* histograms drawn: "all" and the first endpoints */
#define CURVE_MAX_POINTS 512 /* ~5 per halving of the tail: 200 for 10^12 values */
#define CURVE_TICKS_HALF 5   /* HdrHistogram's percentileTicksPerHalfDistance */
#define DERIVED_MAX      (1u << 20)

typedef struct html {
	buf_t *out;
	char *err;
	size_t errlen;
	int rc; /* the first error other than the output's (which the buf remembers), sticky */
} html_t;

static void fail(html_t *h, int rc, const char *fmt, const char *what)
{
	if (h->rc)
		return;
	h->rc = rc;
	snprintf(h->err, h->errlen, fmt, what);
}

/* Whether to stop: an error of the report's, or a failed append. */
static bool failed(const html_t *h)
{
	return h->rc || buf_error(h->out);
}

static void append(html_t *h, const void *data, size_t len)
{
	buf_append(h->out, data, len);
}

/* Text in an element or an attribute: the five characters HTML gives meaning to. */
static void append_text(html_t *h, const char *s)
{
	for (; *s && !failed(h); s++) {
		const char *esc = NULL;
		switch (*s) {
		case '&': esc = "&amp;"; break;
		case '<': esc = "&lt;"; break;
		case '>': esc = "&gt;"; break;
		case '"': esc = "&quot;"; break;
		case '\'': esc = "&#39;"; break;
		}
		if (esc)
			append(h, esc, strlen(esc));
		else
			append(h, s, 1);
	}
}

/* JSON inside <script type="application/json">: '<' only occurs inside strings, where
 * \u003c means the same character, so no "</script" or "<!--" can appear in the element. */
static int append_json_chunk(const char *data, size_t len, void *ctx)
{
	html_t *h = ctx;
	size_t start = 0;

	for (size_t i = 0; i < len && !failed(h); i++) {
		if (data[i] != '<')
			continue;
		append(h, data + start, i - start);
		append(h, "\\u003c", 6);
		start = i + 1;
	}
	append(h, data + start, len - start);
	return failed(h) ? -1 : 0;
}

static bool contains_nocase(const unsigned char *data, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp((const char *)data + i, needle, n) == 0)
			return true;
	return false;
}

/* An embedded file inlined as is; it must not be able to close the element it sits in. */
static void append_asset(html_t *h, const char *group, const char *path, const char *closer)
{
	const web_asset_t *a = web_asset_find(group, path, strlen(path));

	if (!a) {
		fail(h, -ENOENT, "html report: %s is not embedded in this build", path);
		return;
	}
	if (contains_nocase(a->data, a->len, closer)) {
		fail(h, -EINVAL, "html report: %s cannot be inlined (it contains its closing tag)",
		     path);
		return;
	}
	append(h, a->data, a->len);
}

/* The document as embedded: on one line, without the per-second histograms
 * (timeline[].hist), since the page does not use them and they can be most of a long run's
 * bytes. */
static void append_doc(html_t *h, const result_t *r)
{
	buf_t doc;
	int rc;

	buf_init(&doc, 1u << 30);
	rc = result_encode_compact(r, &doc);
	if (rc < 0)
		fail(h, rc, "html report: %s", "cannot serialise the result document");
	else
		append_json_chunk(doc.data ? doc.data : "", doc.len, h);
	buf_free(&doc);
}

/* The percentiles of the curve, HdrHistogram's way: 5 points per halving of what is left
 * (0, 10, ..., 50, 55, ..., 75, 77.5, ...), up to the data's resolution 1 - 1/total, where
 * the last point carries the maximum. On a 1/(1-p) log axis the points are evenly spread. */
static int curve_percentiles(uint64_t total, double *p, int max)
{
	double last = total > 1 ? 100.0 * (1.0 - 1.0 / (double)total) : 0.0;
	double pct = 0.0;
	int n = 0;

	while (n < max - 1 && pct < last) {
		double half = pow(2.0, floor(log2(100.0 / (100.0 - pct))) + 1.0);

		p[n++] = pct;
		pct += 100.0 / (CURVE_TICKS_HALF * half);
	}
	p[n++] = last;
	return n;
}

/* A curve to draw: a histogram of the result, named as the document's "histograms" keys. */
typedef struct series {
	char name[GEN_NAME_MAX + 20];
	const result_hist_t *hist;
} series_t;

/* Whether rh has buckets (a document read without a histogram has only figures) holding a
 * value, as its text in the document decodes into hist. */
static bool drawable(const result_hist_t *rh, hist_t *hist)
{
	if (rh->read && rh->len == 0)
		return false;
	return result_hist_written(rh, hist) == 0 && hist->total > 0;
}

/* The histograms to draw ("all" first, then the endpoints in the document's order) and the
 * largest count among them. */
static int curve_series(const result_t *r, hist_t *hist, series_t *s, uint64_t *total)
{
	int n = 0;

	*total = 0;
	if (drawable(&r->latency, hist)) {
		snprintf(s[n].name, sizeof(s[n].name), "all");
		s[n++].hist = &r->latency;
		*total = hist->total;
	}
	for (uint32_t i = 0; i < r->endpoint_count && n < CURVE_MAX_SERIES; i++) {
		const result_endpoint_t *ep = &r->endpoints[i];

		if (!drawable(&ep->latency, hist))
			continue;
		snprintf(s[n].name, sizeof(s[n].name), "%s %s", ep->method, ep->name);
		s[n++].hist = &ep->latency;
		if (hist->total > *total)
			*total = hist->total;
	}
	return n;
}

/* {"latency_curve": {"percentiles": [...], "series": [{"name", "count", "ms": [...]}]}}, or
 * "latency_curve": null when the result has no usable histogram. */
static int write_derived(const result_t *r, buf_t *out)
{
	double pct[CURVE_MAX_POINTS];
	series_t *s = calloc(CURVE_MAX_SERIES, sizeof(*s));
	json_writer_t w;
	uint64_t total;
	hist_t *hist = malloc(sizeof(*hist));
	int series, points;

	if (!hist || !s) {
		free(hist);
		free(s);
		return -ENOMEM;
	}
	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "latency_curve");
	series = curve_series(r, hist, s, &total);
	if (series == 0) {
		jsonw_null(&w);
		goto done;
	}
	points = curve_percentiles(total, pct, CURVE_MAX_POINTS);
	jsonw_object_begin(&w);
	jsonw_key(&w, "percentiles");
	jsonw_array_begin(&w);
	for (int i = 0; i < points; i++)
		jsonw_double(&w, pct[i], 9);
	jsonw_array_end(&w);
	jsonw_key(&w, "series");
	jsonw_array_begin(&w);
	for (int k = 0; k < series; k++) {
		if (result_hist_written(s[k].hist, hist) != 0)
			continue; /* decoded a moment ago: cannot happen short of memory */
		jsonw_object_begin(&w);
		jsonw_key(&w, "name");
		jsonw_string(&w, s[k].name);
		jsonw_key(&w, "count");
		jsonw_uint(&w, hist->total);
		jsonw_key(&w, "ms");
		jsonw_array_begin(&w);
		for (int i = 0; i < points; i++) {
			double p = i == points - 1 ? 100.0 : pct[i];

			jsonw_double(&w, (double)hist_percentile(hist, p) / 1000.0, 3);
		}
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
done:
	jsonw_object_end(&w);
	free(hist);
	free(s);
	return w.err;
}

static void append_derived(html_t *h, const result_t *r)
{
	buf_t derived;
	int rc;

	buf_init(&derived, DERIVED_MAX);
	rc = write_derived(r, &derived);
	if (rc < 0)
		fail(h, rc, "html report: %s", "cannot compute the latency curve");
	else
		append_json_chunk(derived.data, derived.len, h);
	buf_free(&derived);
}

static const char *verdict_of(const result_t *r)
{
	if (!r->assessment.present)
		return "no verdict";
	return r->assessment.pass ? "PASS" : "FAIL";
}

/* "PASS · GET http://host/path · surge report", as the embedded document says */
static void append_title(html_t *h, const result_t *r)
{
	const result_config_t *c = &r->config;

	append_text(h, verdict_of(r));
	append(h, " \xc2\xb7 ", 4);
	append_text(h, c->method ? c->method : "GET");
	append(h, " ", 1);
	append_text(h, c->url ? c->url : "");
	append_text(h, " \xc2\xb7 surge report");
}

static void fill_marker(html_t *h, const result_t *r, const char *name, size_t len)
{
#define IS(s) (len == sizeof(s) - 1 && memcmp(name, s, len) == 0)
	if (IS("title"))
		append_title(h, r);
	else if (IS("verdict"))
		append_text(h, verdict_of(r));
	else if (IS("generator")) {
		append_text(h, "surge ");
		append_text(h, r->version ? r->version : surge_version);
	} else if (IS("data"))
		append_doc(h, r);
	else if (IS("derived"))
		append_derived(h, r);
	else if (IS("uplot_license"))
		append_asset(h, "uplot", "LICENSE", "*/");
	else if (IS("uplot_js"))
		append_asset(h, "uplot", "dist/uPlot.iife.min.js", "</script");
	else if (IS("uplot_css"))
		append_asset(h, "uplot", "dist/uPlot.min.css", "</style");
	else if (IS("report_js"))
		append_asset(h, "report", "report.js", "</script");
	else if (IS("report_css"))
		append_asset(h, "report", "report.css", "</style");
	else
		fail(h, -EINVAL, "html report: unknown marker in the template (%s)", "{{...}}");
#undef IS
}

int report_html(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	const web_asset_t *tpl = web_asset_find("report", "report.html", strlen("report.html"));
	html_t h = {.out = out, .err = err, .errlen = errlen};
	const char *p, *end;

	if (!tpl) {
		snprintf(err, errlen, "html report: the template is not embedded in this build");
		return -ENOENT;
	}
	p = (const char *)tpl->data;
	end = p + tpl->len;
	while (p < end && !failed(&h)) {
		const char *open = memmem(p, (size_t)(end - p), "{{", 2);
		const char *close =
		    open ? memmem(open + 2, (size_t)(end - open - 2), "}}", 2) : NULL;

		if (!open || !close) {
			append(&h, p, (size_t)(end - p));
			break;
		}
		append(&h, p, (size_t)(open - p));
		fill_marker(&h, r, open + 2, (size_t)(close - open - 2));
		p = close + 2;
	}
	if (!h.rc && buf_error(out))
		fail(&h, buf_error(out), "html report: %s",
		     buf_error(out) == -ENOBUFS ? "the report does not fit its buffer"
		                                : "out of memory");
	return h.rc;
}
