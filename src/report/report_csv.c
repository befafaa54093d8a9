/* report_csv: Locust 2.x CSV files from a result, so tools that read Locust's `--csv` output
 * read surge's: the same columns, the same row order (entries by name, then "Aggregated"),
 * Python's csv quoting and \r\n line ends, times in ms, percentiles as whole ms like
 * Locust's. Every figure is the one the result document writes (its rounding, its
 * histograms as they read back), so a run's CSV and its saved document's are the same bytes;
 * percentiles come from the histograms, never re-averaged. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "report/report_outputs.h"
#include "core/clock.h"

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
	/* min, mean, stdev, p50, p90, p95, p99, p99.9, max in ms as the document writes them;
	 * NAN where a document read without a histogram had none */
	double ms[9];
	hist_t *hist; /* NULL when the result has no histogram for this entry */
} entry_t;

enum { MS_MIN, MS_MEAN, MS_STDEV, MS_P50, MS_P90, MS_P95, MS_P99, MS_P99_9, MS_MAX };

static double doc3(double v)
{
	return isfinite(v) ? result_round(v, 3) : v;
}

static double or0(double v)
{
	return isfinite(v) ? v : 0;
}

/* Whether h has buckets to rank: a document read without one has only its figures. */
static bool has_hist(const result_hist_t *h)
{
	return !(h->read && h->len == 0);
}

static void latency_ms(const result_hist_t *rh, hist_t *scratch, double ms[9])
{
	static const double pcts[] = {50, 90, 95, 99, 99.9};

	if (!has_hist(rh)) {
		memcpy(ms, rh->read_ms, sizeof(rh->read_ms));
		return;
	}
	result_hist_expand(rh, scratch);
	ms[MS_MIN] = doc3(scratch->total ? scratch->min / 1e3 : 0);
	ms[MS_MEAN] = doc3(hist_mean(scratch) / 1e3);
	ms[MS_STDEV] = doc3(hist_stdev(scratch) / 1e3);
	for (int i = 0; i < 5; i++)
		ms[MS_P50 + i] = doc3(hist_percentile(scratch, pcts[i]) / 1e3);
	ms[MS_MAX] = doc3(scratch->max / 1e3);
}

/* The median as Locust reports it: the 50th percentile, kept within [min, max]. */
static void row_median(row_t *r, const entry_t *e)
{
	double min = or0(e->ms[MS_MIN]), max = or0(e->ms[MS_MAX]);
	double median;

	if (!e->hist) {
		row_ms_int(r, (int64_t)(or0(e->ms[MS_P50]) * 1e3));
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
		int slot;
	} known[] = {{50, MS_P50}, {90, MS_P90},     {95, MS_P95},
	             {99, MS_P99}, {99.9, MS_P99_9}, {100, MS_MAX}};

	for (size_t i = 0; i < PERCENTILE_COUNT; i++) {
		double v = NAN;

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
				v = e->ms[known[k].slot];
		if (isfinite(v))
			row_ms_int(r, (int64_t)(v * 1e3));
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
	row_float(&r, or0(e->ms[MS_MEAN]));
	row_float(&r, or0(e->ms[MS_MIN]));
	row_float(&r, or0(e->ms[MS_MAX]));
	row_float(&r, e->avg_content);
	row_float(&r, e->rps);
	row_float(&r, e->fails_per_s);
	row_percentiles(&r, e, e->requests);
	return row_end(&r);
}

/* The run's duration as the document writes it (the figures per second divide by it). */
static double duration_of(const result_t *r)
{
	return result_round(r->duration_s, 3);
}

/* Fills e from an endpoint, or from the run's totals when ep is NULL. Its histogram, as the
 * document's reads back, goes into h; a document read without one has only its figures. */
static int entry_fill(const result_t *r, const result_endpoint_t *ep, hist_t *h, entry_t *e)
{
	const gen_counters_t *c = ep ? &ep->counters : &r->counters;
	const result_hist_t *lat = ep ? &ep->latency : &r->latency;
	double duration = duration_of(r);
	uint64_t bytes = c->bytes_in;
	int rc = 0;

	memset(e, 0, sizeof(*e));
	e->method = ep ? ep->method : "";
	e->name = ep ? ep->name : "Aggregated";
	e->requests = result_requests(c);
	e->failures = c->errors;
	e->rps = doc3(r->duration_s > 0 ? (double)e->requests / r->duration_s : 0);
	e->fails_per_s = duration > 0 ? e->failures / duration : 0;
	/* an older document may count bytes by run only: one endpoint owns them */
	if (ep && !bytes && r->endpoint_count == 1)
		bytes = r->counters.bytes_in;
	e->avg_content = e->requests ? (double)bytes / (double)e->requests : 0;
	latency_ms(lat, h, e->ms);
	/* one endpoint is the whole run: the overall histogram is its own */
	if (ep && !has_hist(lat) && r->endpoint_count == 1)
		lat = &r->latency;
	if (has_hist(lat)) {
		rc = result_hist_written(lat, h);
		if (rc == 0)
			e->hist = h;
	}
	return rc;
}

/* Locust sorts its entries by (name, method). */
static int compare_endpoints(const void *a, const void *b)
{
	const result_endpoint_t *x = *(const result_endpoint_t *const *)a;
	const result_endpoint_t *y = *(const result_endpoint_t *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->method, y->method);
}

/* The endpoints in Locust's order; the caller frees the array. */
static const result_endpoint_t **sorted_endpoints(const result_t *r)
{
	const result_endpoint_t **list =
	    calloc(r->endpoint_count ? r->endpoint_count : 1, sizeof(*list));

	if (!list)
		return NULL;
	for (uint32_t i = 0; i < r->endpoint_count; i++)
		list[i] = &r->endpoints[i];
	qsort(list, r->endpoint_count, sizeof(*list), compare_endpoints);
	return list;
}

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	if (rc == -EINVAL)
		snprintf(err, errlen, "%s: malformed histogram in the result", what);
	else
		snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	return rc;
}

int report_csv_stats(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	hist_t *h = malloc(sizeof(*h));
	const result_endpoint_t **eps = sorted_endpoints(r);
	uint32_t n = r->endpoint_count;
	entry_t e;
	int rc;

	if (!h || !eps) {
		rc = -ENOMEM;
		goto done;
	}
	rc = header(out, stats_columns, COUNT(stats_columns), true, NULL, 0);
	for (uint32_t i = 0; i <= n && rc == 0; i++) {
		rc = entry_fill(r, i < n ? eps[i] : NULL, h, &e);
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
	double prev_t;    /* where the point before ended (the timeline's t) */
	bool has_hists;   /* every point so far carried its histogram */
	double run_ms[9]; /* the whole run's latency figures */
} history_t;

static void history_totals(row_t *r, history_t *hs, bool last)
{
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
		row_ms_int(r, (int64_t)(or0(hs->run_ms[MS_P50]) * 1e3));
		row_float(r, or0(hs->run_ms[MS_MEAN]));
		row_float(r, or0(hs->run_ms[MS_MIN]));
		row_float(r, or0(hs->run_ms[MS_MAX]));
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

/* The point's histogram as the document holds it: 0, -ENOENT when it has none. */
static int point_hist(const result_point_t *p, hist_t *h)
{
	if (p->open && p->open->total)
		return result_hist_written(p->open, h);
	if (p->hist)
		return hist_decode_base64(p->hist, p->hist_len, h);
	return -ENOENT;
}

/* Point p (second i) as a row; hs->prev_t is the end of the one before it. */
static int history_row(buf_t *out, const result_t *res, size_t i, const result_point_t *p,
                       history_t *hs)
{
	double start = i == 0 ? 0 : result_round(hs->prev_t, 3);
	double end = result_round(p->t, 3);
	double length = end - start > 0 ? end - start : 1;
	/* the point's own percentiles, as the document writes them */
	double rps = p->length_s > 0 ? result_round(p->requests / p->length_s, 3) : 0;
	row_t r = {0};
	entry_t e = {0};
	char ts[64];
	int rc;

	hs->requests += p->requests;
	hs->failures += p->errors;
	hs->bytes_in += p->bytes_in;
	rc = point_hist(p, hs->second);
	if (rc == 0)
		hist_merge(hs->cumulative, hs->second);
	else if (rc == -ENOENT)
		hs->has_hists = false;
	else
		return rc;

	row_begin(&r, out);
	snprintf(ts, sizeof(ts), "%lld", (long long)floor(hs->start_epoch + end));
	row_raw(&r, ts);
	row_uint(&r, p->users);
	row_text(&r, "");
	row_text(&r, "Aggregated");
	/* Locust writes these with f"{x:2f}": six decimals */
	snprintf(ts, sizeof(ts), "%f", rps);
	row_raw(&r, ts);
	snprintf(ts, sizeof(ts), "%f", p->errors / length);
	row_raw(&r, ts);
	if (rc == 0) {
		e.hist = hs->second;
		row_percentiles(&r, &e, hs->requests);
	} else { /* the point's own p50/p95/p99 */
		double known[] = {result_round(p->p50_us / 1e3, 3),
		                  result_round(p->p95_us / 1e3, 3),
		                  result_round(p->p99_us / 1e3, 3)};

		for (size_t k = 0; k < PERCENTILE_COUNT; k++) {
			double pc = percentiles[k].p;
			int slot = pc == 50 ? 0 : pc == 95 ? 1 : pc == 99 ? 2 : -1;

			if (hs->requests && slot >= 0)
				row_ms_int(&r, (int64_t)(known[slot] * 1e3));
			else
				row_raw(&r, "N/A");
		}
	}
	history_totals(&r, hs, i + 1 == res->point_count);
	return row_end(&r);
}

/* started_at as the document writes it (to the millisecond) and reads back. */
static double start_epoch(const result_t *r)
{
	char at[40];
	double epoch = 0;

	if (!r->has_started_at)
		return 0;
	clock_format_rfc3339(r->started_wall_ns, at, sizeof(at));
	return clock_parse_rfc3339(at, &epoch) ? epoch : 0;
}

int report_csv_history(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	history_t hs = {.has_hists = true};
	result_cursor_t c;
	int rc;

	result_cursor_init(&c);
	hs.second = malloc(sizeof(hist_t));
	hs.cumulative = malloc(sizeof(hist_t));
	if (!hs.second || !hs.cumulative) {
		rc = -ENOMEM;
		goto done;
	}
	hist_reset(hs.cumulative);
	latency_ms(&r->latency, hs.second, hs.run_ms);
	hs.start_epoch = start_epoch(r);
	rc = header(out, history_columns, COUNT(history_columns), true, history_total_columns,
	            COUNT(history_total_columns));
	for (size_t i = 0; i < r->point_count && rc == 0; i++) {
		const result_point_t *p = result_point_at(r, i, &c);

		rc = p ? history_row(out, r, i, p, &hs) : c.error;
		hs.prev_t = p ? p->t : 0;
	}
done:
	free(hs.second);
	free(hs.cumulative);
	result_cursor_free(&c);
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

/* One source's status codes (>= 400, by code) and transport errors (by kind), in the
 * document's order. */
static int failure_rows(buf_t *out, const char *method, const char *name, const gen_counters_t *c)
{
	char error[128];
	int rc = 0;

	for (int code = 400; code < GEN_STATUS_MAX && !rc; code++) {
		snprintf(error, sizeof(error), "HTTP %d %s", code, http_reason(code));
		rc = failure_row(out, method, name, error, c->status[code]);
	}
	for (int k = 0; k < GEN_ERR_KIND_COUNT && !rc; k++)
		rc = failure_row(out, method, name, gen_error_kind_name(k), c->errors_by_kind[k]);
	if (!rc)
		rc = failure_row(out, method, name, "check_failed", c->checks_failed);
	if (!rc)
		rc = failure_row(out, method, name, "script_error", c->script_errors);
	return rc;
}

static bool counts_failures(const gen_counters_t *c)
{
	for (int code = 400; code < GEN_STATUS_MAX; code++)
		if (c->status[code])
			return true;
	for (int k = 0; k < GEN_ERR_KIND_COUNT; k++)
		if (c->errors_by_kind[k])
			return true;
	return c->checks_failed || c->script_errors;
}

int report_csv_failures(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	/* per endpoint when the endpoints count their failures (an older document may count
	 * them by run only); nothing failed anywhere is per endpoint too: no rows either way */
	bool per_endpoint = r->endpoint_count > 0 && !counts_failures(&r->counters);
	int rc = header(out, failures_columns, COUNT(failures_columns), false, NULL, 0);

	for (uint32_t i = 0; i < r->endpoint_count; i++)
		if (counts_failures(&r->endpoints[i].counters))
			per_endpoint = true;
	if (per_endpoint) {
		for (uint32_t i = 0; i < r->endpoint_count && !rc; i++)
			rc = failure_rows(out, r->endpoints[i].method, r->endpoints[i].name,
			                  &r->endpoints[i].counters);
	} else if (!rc) {
		/* the result counts by run only: one endpoint owns them, else the aggregate */
		const result_endpoint_t *ep = r->endpoint_count == 1 ? &r->endpoints[0] : NULL;

		rc = failure_rows(out, ep ? ep->method : "", ep ? ep->name : "Aggregated",
		                  &r->counters);
	}
	return rc ? fail(err, errlen, rc, "failures CSV") : 0;
}
