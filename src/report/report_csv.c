/* report_csv: Locust 2.x CSV files from a result document, so tools that read Locust's
 * `--csv` output read surge's: the same columns, the same row order (entries by name, then
 * "Aggregated"), Python's csv quoting and \r\n line ends, times in ms, percentiles as whole
 * ms like Locust's. Percentiles come from the document's histograms, never re-averaged. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "report/report_outputs.h"
#include "result/result_doc.h"

/* Locust's PERCENTILES_TO_REPORT and their column names. */
static const struct {
	double p; /* 0..100 */
	const char *column;
} percentiles[] = {
    {50, "50%"}, {66, "66%"}, {75, "75%"},     {80, "80%"},       {90, "90%"},   {95, "95%"},
    {98, "98%"}, {99, "99%"}, {99.9, "99.9%"}, {99.99, "99.99%"}, {100, "100%"},
};
#define PERCENTILE_COUNT (sizeof(percentiles) / sizeof(percentiles[0]))

static const char *const stats_columns[] = {
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
};
static const char *const history_columns[] = {
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s",
};
static const char *const history_total_columns[] = {
    "Total Request Count",         "Total Failure Count",     "Total Median Response Time",
    "Total Average Response Time", "Total Min Response Time", "Total Max Response Time",
    "Total Average Content Size",
};
static const char *const failures_columns[] = {"Method", "Name", "Error", "Occurrences"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Python's csv.writer, excel dialect ---- */

typedef struct row {
	buf_t *out;
	bool first;
} row_t;

static void row_begin(row_t *r, buf_t *out)
{
	r->out = out;
	r->first = true;
}

static void row_raw(row_t *r, const char *text)
{
	if (!r->first)
		buf_append_char(r->out, ',');
	r->first = false;
	buf_append_str(r->out, text);
}

/* QUOTE_MINIMAL: quoted when it holds the delimiter, a quote or a line break. */
static void row_text(row_t *r, const char *s)
{
	if (!s[strcspn(s, ",\"\r\n")]) {
		row_raw(r, s);
		return;
	}
	row_raw(r, "\"");
	for (; *s && !buf_error(r->out); s++) {
		if (*s == '"')
			buf_append_str(r->out, "\"\"");
		else
			buf_append_char(r->out, *s);
	}
	buf_append_char(r->out, '"');
}

static void row_uint(row_t *r, uint64_t v)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	row_raw(r, tmp);
}

/* A float as Python's repr() writes it: the shortest digits that read back the same,
 * positional between 1e-4 and 1e16, and always with a ".0" or an exponent. */
static void format_float(double v, char *out, size_t outlen)
{
	char tmp[40];
	int prec, exp10;

	if (!isfinite(v)) {
		snprintf(out, outlen, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
		return;
	}
	if (v == 0) {
		snprintf(out, outlen, "%s", signbit(v) ? "-0.0" : "0.0");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
	exp10 = atoi(strchr(tmp, 'e') + 1);
	if (exp10 < -4 || exp10 >= 16) {
		/* Python: 1e-05, 1.5e+16 — two exponent digits at least, no trailing ".0" */
		char *e = strchr(tmp, 'e');
		char mant[32];

		snprintf(mant, sizeof(mant), "%.*s", (int)(e - tmp), tmp);
		snprintf(out, outlen, "%se%c%02d", mant, exp10 < 0 ? '-' : '+', abs(exp10));
		return;
	}
	snprintf(out, outlen, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, v);
	if (!strchr(out, '.'))
		strncat(out, ".0", outlen - strlen(out) - 1);
}

static void row_float(row_t *r, double v)
{
	char tmp[48];

	format_float(v, tmp, sizeof(tmp));
	row_raw(r, tmp);
}

/* Locust's percentile columns hold int(ms); Python's round() halves to even, as rint. */
static void row_ms_int(row_t *r, int64_t us)
{
	char tmp[24];

	snprintf(tmp, sizeof(tmp), "%lld", (long long)nearbyint((double)us / 1e3));
	row_raw(r, tmp);
}

static int row_end(row_t *r)
{
	buf_append_str(r->out, "\r\n");
	return buf_error(r->out);
}

static int header(buf_t *out, const char *const *cols, size_t n, bool with_percentiles,
                  const char *const *tail, size_t tail_n)
{
	row_t r = {0};

	row_begin(&r, out);
	for (size_t i = 0; i < n; i++)
		row_text(&r, cols[i]);
	for (size_t i = 0; with_percentiles && i < PERCENTILE_COUNT; i++)
		row_text(&r, percentiles[i].column);
	for (size_t i = 0; i < tail_n; i++)
		row_text(&r, tail[i]);
	return row_end(&r);
}

/* ---- one stats entry: an endpoint or the aggregate ---- */

typedef struct entry {
	const char *method; /* "" for the aggregate, as Locust's None */
	const char *name;
	uint64_t requests, failures;
	double rps, fails_per_s;
	double avg_content;
	const json_t *latency; /* latency_ms object: mean, min, max, p50... */
	hist_t *hist;          /* decoded; NULL when the document has none for this entry */
} entry_t;

/* The median as Locust reports it: the 50th percentile, kept within [min, max]. */
static void row_median(row_t *r, const entry_t *e)
{
	double min = result_doc_number(e->latency, "min", 0);
	double max = result_doc_number(e->latency, "max", 0);
	double median;

	if (!e->hist) {
		row_ms_int(r, (int64_t)(result_doc_number(e->latency, "p50", 0) * 1e3));
		return;
	}
	median = nearbyint(hist_percentile(e->hist, 50) / 1e3);
	if (median > max)
		row_float(r, max);
	else if (median < min)
		row_float(r, min);
	else
		row_ms_int(r, (int64_t)median * 1000);
}

/* Without a histogram only the document's own percentiles are known; the rest are N/A. */
static void row_percentiles(row_t *r, const entry_t *e, uint64_t requests)
{
	static const struct {
		double p;
		const char *key;
	} known[] = {{50, "p50"}, {90, "p90"},     {95, "p95"},
	             {99, "p99"}, {99.9, "p99_9"}, {100, "max"}};

	for (size_t i = 0; i < PERCENTILE_COUNT; i++) {
		const json_t *v = NULL;

		/* no requests, or none answered: nothing to rank */
		if (!requests || (e->hist && !e->hist->total)) {
			row_raw(r, "N/A");
			continue;
		}
		if (e->hist) {
			row_ms_int(r, hist_percentile(e->hist, percentiles[i].p));
			continue;
		}
		for (size_t k = 0; k < COUNT(known); k++)
			if (known[k].p == percentiles[i].p)
				v = result_doc_get(e->latency, known[k].key);
		if (json_is_number(v))
			row_ms_int(r, (int64_t)(json_number_value(v) * 1e3));
		else
			row_raw(r, "N/A");
	}
}

static int stats_row(buf_t *out, const entry_t *e)
{
	row_t r = {0};

	row_begin(&r, out);
	row_text(&r, e->method);
	row_text(&r, e->name);
	row_uint(&r, e->requests);
	row_uint(&r, e->failures);
	row_median(&r, e);
	row_float(&r, result_doc_number(e->latency, "mean", 0));
	row_float(&r, result_doc_number(e->latency, "min", 0));
	row_float(&r, result_doc_number(e->latency, "max", 0));
	row_float(&r, e->avg_content);
	row_float(&r, e->rps);
	row_float(&r, e->fails_per_s);
	row_percentiles(&r, e, e->requests);
	return row_end(&r);
}

/* Bytes per request: the endpoint's own bytes_in when the document has it; the totals' when
 * there is one endpoint only. Response bytes include headers (Locust counts the body). */
static double content_size(const json_t *doc, const json_t *ep, uint64_t requests)
{
	const json_t *totals = result_doc_object(doc, "totals");
	const json_t *eps = result_doc_array(doc, "endpoints");
	const json_t *bytes = result_doc_get(ep ? ep : totals, "bytes_in");

	if (!bytes && ep && json_array_size(eps) == 1)
		bytes = result_doc_get(totals, "bytes_in");
	if (!requests || !json_is_number(bytes))
		return 0;
	return result_doc_value_number(bytes, 0) / (double)requests;
}

/* Fills e from an endpoint object, or from the document's totals when ep is NULL. The
 * histogram is decoded into h (or left out when the document has none). */
static int entry_fill(const json_t *doc, const json_t *ep, hist_t *h, entry_t *e)
{
	const json_t *totals = result_doc_object(doc, "totals");
	const json_t *src = ep ? ep : totals;
	double duration = result_doc_number(doc, "duration_s", 0);
	char key[512];
	int rc;

	memset(e, 0, sizeof(*e));
	e->method = ep ? result_doc_string(ep, "method", "") : "";
	e->name = ep ? result_doc_string(ep, "name", "") : "Aggregated";
	e->requests = result_doc_count(src, "requests", 0);
	e->failures = result_doc_count(src, "errors", 0);
	e->rps = result_doc_number(src, "rps", duration > 0 ? e->requests / duration : 0);
	e->fails_per_s = duration > 0 ? e->failures / duration : 0;
	e->avg_content = content_size(doc, ep, e->requests);
	e->latency =
	    ep ? result_doc_object(ep, "latency_ms") : result_doc_object(doc, "latency_ms");
	if (ep)
		result_doc_endpoint_key(ep, key, sizeof(key));
	rc = result_doc_histogram(doc, ep ? key : "all", h);
	/* one endpoint is the whole run: the overall histogram is its own */
	if (rc == -ENOENT && ep && json_array_size(result_doc_array(doc, "endpoints")) == 1)
		rc = result_doc_histogram(doc, "all", h);
	if (rc == 0)
		e->hist = h;
	return rc == -ENOENT ? 0 : rc;
}

/* Locust sorts its entries by (name, method). */
static int compare_endpoints(const void *a, const void *b)
{
	const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
	int c = strcmp(result_doc_string(x, "name", ""), result_doc_string(y, "name", ""));

	return c ? c
	         : strcmp(result_doc_string(x, "method", ""), result_doc_string(y, "method", ""));
}

/* The endpoints in Locust's order; the caller frees the array. */
static const json_t **sorted_endpoints(const json_t *doc, size_t *n)
{
	const json_t *eps = result_doc_array(doc, "endpoints");
	const json_t **list;

	*n = json_array_size(eps);
	list = calloc(*n ? *n : 1, sizeof(*list));
	if (!list)
		return NULL;
	for (size_t i = 0; i < *n; i++)
		list[i] = json_array_get(eps, i);
	qsort(list, *n, sizeof(*list), compare_endpoints);
	return list;
}

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: malformed histogram in the document", what);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	return rc;
}

int report_csv_stats(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	hist_t *h = malloc(sizeof(*h));
	const json_t **eps;
	size_t n = 0;
	entry_t e;
	int rc;

	eps = sorted_endpoints(doc, &n);
	if (!h || !eps) {
		rc = -ENOMEM;
		goto done;
	}
	rc = header(out, stats_columns, COUNT(stats_columns), true, NULL, 0);
	for (size_t i = 0; i <= n && rc == 0; i++) {
		rc = entry_fill(doc, i < n ? eps[i] : NULL, h, &e);
		if (rc == 0)
			rc = stats_row(out, &e);
	}
done:
	free(h);
	free(eps);
	return rc ? fail(err, errlen, rc, "stats CSV") : 0;
}

/* ---- stats history: the aggregate, one row per timeline second ---- */

typedef struct history {
	hist_t *second;     /* the interval's histogram */
	hist_t *cumulative; /* everything up to the end of the interval */
	uint64_t requests, failures, bytes_in;
	double start_epoch;
	bool has_hists; /* every point so far carried its histogram */
} history_t;

static void history_totals(row_t *r, history_t *hs, const json_t *doc, bool last)
{
	const json_t *lat = result_doc_object(doc, "latency_ms");
	const hist_t *c = hs->cumulative;

	row_uint(r, hs->requests);
	row_uint(r, hs->failures);
	if (hs->has_hists && c->total) {
		double median = nearbyint(hist_percentile(c, 50) / 1e3);
		double min = c->min / 1e3, max = c->max / 1e3;

		if (median > max)
			row_float(r, max);
		else if (median < min)
			row_float(r, min);
		else
			row_ms_int(r, (int64_t)median * 1000);
		row_float(r, hist_mean(c) / 1e3);
		row_float(r, min);
		row_float(r, max);
	} else if (last) { /* the whole run: the document's own figures */
		row_ms_int(r, (int64_t)(result_doc_number(lat, "p50", 0) * 1e3));
		row_float(r, result_doc_number(lat, "mean", 0));
		row_float(r, result_doc_number(lat, "min", 0));
		row_float(r, result_doc_number(lat, "max", 0));
	} else if (hs->has_hists) { /* nothing answered yet */
		row_uint(r, 0);
		row_float(r, 0);
		row_uint(r, 0);
		row_uint(r, 0);
	} else {
		for (int i = 0; i < 4; i++)
			row_raw(r, "N/A");
	}
	row_float(r, hs->requests ? (double)hs->bytes_in / hs->requests : 0);
}

static int history_row(buf_t *out, const json_t *doc, const json_t *timeline, size_t i,
                       history_t *hs)
{
	const json_t *p = json_array_get(timeline, i);
	double start = result_doc_point_start(timeline, i), end = result_doc_number(p, "t", 0);
	double length = end - start > 0 ? end - start : 1;
	uint64_t errors = result_doc_count(p, "errors", 0);
	row_t r = {0};
	entry_t e = {.latency = p};
	char ts[64];
	int rc;

	hs->requests += result_doc_count(p, "requests", 0);
	hs->failures += errors;
	hs->bytes_in += result_doc_count(p, "bytes_in", 0);
	rc = result_doc_histogram_value(result_doc_get(p, "hist"), hs->second);
	if (rc == 0)
		hist_merge(hs->cumulative, hs->second);
	else if (rc == -ENOENT)
		hs->has_hists = false;
	else
		return rc;

	row_begin(&r, out);
	snprintf(ts, sizeof(ts), "%lld", (long long)floor(hs->start_epoch + end));
	row_raw(&r, ts);
	row_uint(&r, result_doc_count(p, "users", 0));
	row_text(&r, "");
	row_text(&r, "Aggregated");
	/* Locust writes these with f"{x:2f}": six decimals */
	snprintf(ts, sizeof(ts), "%f", result_doc_number(p, "rps", 0));
	row_raw(&r, ts);
	snprintf(ts, sizeof(ts), "%f", errors / length);
	row_raw(&r, ts);
	if (rc == 0) {
		e.hist = hs->second;
		row_percentiles(&r, &e, hs->requests);
	} else { /* the point's own p50/p95/p99 */
		for (size_t k = 0; k < PERCENTILE_COUNT; k++) {
			char key[40];

			snprintf(key, sizeof(key), "p%g_ms", percentiles[k].p);
			if (hs->requests && json_is_number(result_doc_get(p, key)))
				row_ms_int(&r, (int64_t)(result_doc_number(p, key, 0) * 1e3));
			else
				row_raw(&r, "N/A");
		}
	}
	history_totals(&r, hs, doc, i + 1 == json_array_size(timeline));
	return row_end(&r);
}

int report_csv_history(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	const json_t *timeline = result_doc_array(doc, "timeline");
	history_t hs = {.has_hists = true};
	int rc;

	hs.second = malloc(sizeof(hist_t));
	hs.cumulative = malloc(sizeof(hist_t));
	if (!hs.second || !hs.cumulative) {
		rc = -ENOMEM;
		goto done;
	}
	hist_reset(hs.cumulative);
	if (!result_doc_started_at(doc, &hs.start_epoch))
		hs.start_epoch = 0;
	rc = header(out, history_columns, COUNT(history_columns), true, history_total_columns,
	            COUNT(history_total_columns));
	for (size_t i = 0; i < json_array_size(timeline) && rc == 0; i++)
		rc = history_row(out, doc, timeline, i, &hs);
done:
	free(hs.second);
	free(hs.cumulative);
	return rc ? fail(err, errlen, rc, "stats history CSV") : 0;
}

/* ---- failures: responses >= 400 and transport errors, per endpoint when known ---- */

static int failure_row(buf_t *out, const char *method, const char *name, const char *error,
                       uint64_t n)
{
	row_t r = {0};

	if (!n)
		return 0;
	row_begin(&r, out);
	row_text(&r, method);
	row_text(&r, name);
	row_text(&r, error);
	row_uint(&r, n);
	return row_end(&r);
}

/* One source's status codes (>= 400, by code) and transport errors (by kind). */
static int failure_rows(buf_t *out, const char *method, const char *name, const json_t *codes,
                        const json_t *kinds)
{
	const char *key;
	json_t *v;
	char error[128];
	int rc = 0;

	json_object_foreach((json_t *)codes, key, v)
	{
		int code = atoi(key);

		if (code < 400 || rc)
			continue;
		snprintf(error, sizeof(error), "HTTP %d %s", code, http_reason(code));
		rc = failure_row(out, method, name, error, result_doc_value_count(v, 0));
	}
	json_object_foreach((json_t *)kinds, key, v)
	{
		if (!rc)
			rc = failure_row(out, method, name, key, result_doc_value_count(v, 0));
	}
	return rc;
}

int report_csv_failures(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	const json_t *eps = result_doc_array(doc, "endpoints");
	bool per_endpoint = false;
	size_t i;
	const json_t *ep;
	int rc = header(out, failures_columns, COUNT(failures_columns), false, NULL, 0);

	json_array_foreach(eps, i, ep)
	{
		if (result_doc_object(ep, "status_codes") ||
		    result_doc_object(ep, "errors_by_kind"))
			per_endpoint = true;
	}
	if (per_endpoint) {
		json_array_foreach(eps, i, ep)
		{
			if (!rc)
				rc = failure_rows(out, result_doc_string(ep, "method", ""),
				                  result_doc_string(ep, "name", ""),
				                  result_doc_object(ep, "status_codes"),
				                  result_doc_object(ep, "errors_by_kind"));
		}
	} else if (!rc) {
		/* the document counts by run only: one endpoint owns them, else the aggregate */
		ep = json_array_size(eps) == 1 ? json_array_get(eps, 0) : NULL;
		rc = failure_rows(out, ep ? result_doc_string(ep, "method", "") : "",
		                  ep ? result_doc_string(ep, "name", "") : "Aggregated",
		                  result_doc_object(doc, "status_codes"),
		                  result_doc_object(doc, "errors_by_kind"));
	}
	return rc ? fail(err, errlen, rc, "failures CSV") : 0;
}
