/* report_compare: a new run against a baseline — per-metric deltas for the whole run and
 * for each endpoint, each judged against a tolerance, and renderers of the table for the
 * terminal, markdown (CI job summaries), a small self-contained HTML page and JSON.
 * What counts as a regression: p95 or p99 slower by more than the tolerance and by more
 * than an absolute floor, the error rate up by more than the tolerance and a floor in
 * percentage points, or the request rate down by more than the tolerance. */
#ifndef SURGE_REPORT_COMPARE_H
#define SURGE_REPORT_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "result/result.h"

typedef struct compare_options {
	double tolerance;      /* relative, 0.10 = 10 % */
	double min_delta_ms;   /* latency changes below this are never regressions */
	double min_error_rate; /* error-rate rises below this (a fraction) are never regressions */
} compare_options_t;

void compare_defaults(compare_options_t *o); /* 10 %, 1 ms, 0.1 percentage point */

typedef enum compare_metric {
	CMP_RPS,
	CMP_ERROR_RATE,
	CMP_P50,
	CMP_P90,
	CMP_P95,
	CMP_P99,
	CMP_MAX,
	CMP_MEAN,
	CMP_METRIC_COUNT,
} compare_metric_t;

typedef enum compare_verdict {
	CMP_OK,         /* within the tolerance, or a metric that is shown but not judged */
	CMP_REGRESSION, /* worse beyond the tolerance (and the floor) */
	CMP_IMPROVED,   /* better beyond the tolerance (and the floor) */
	CMP_UNMEASURED, /* a run measured no latency here (no response): nothing to judge */
} compare_verdict_t;

typedef struct compare_row {
	compare_metric_t metric;
	double base, next; /* rps in 1/s, error rate as a fraction, latencies in ms; NAN when
	                      the run has no such figure (no response, or not in that run) */
	double delta;      /* next - base */
	double relative;   /* delta / base; NAN when base is 0 */
	compare_verdict_t verdict;
} compare_row_t;

typedef enum compare_presence {
	CMP_BOTH,
	CMP_ADDED,   /* only in the new run */
	CMP_REMOVED, /* only in the baseline */
} compare_presence_t;

/* The whole run ("all") or one endpoint ("GET /health"), with one row per metric. */
typedef struct compare_scope {
	char name[256];
	compare_presence_t presence;
	unsigned long long base_requests, next_requests;
	compare_row_t rows[CMP_METRIC_COUNT];
	int regressions;
} compare_scope_t;

typedef struct compare_result {
	compare_options_t options;
	char base_name[256], next_name[256]; /* the files, for the headings */
	char base_started[64], next_started[64];
	char base_url[512], next_url[512];
	/* "" when both runs measured the same thing; else what differs, e.g. "config.url
	 * 'http://a/' vs 'http://b/'": the deltas then compare different targets */
	char mismatch[1024];
	compare_scope_t *scopes; /* [0] is the whole run; then endpoints, baseline order first */
	size_t scope_count;
	int regressions; /* over every scope */
} compare_result_t;

/* Compares two results (result_load's, or any result_t): the whole run, then the endpoints
 * matched by method and name. 0, or -ENOMEM. */
int report_compare(const result_t *base, const result_t *next, const char *base_name,
                   const char *next_name, const compare_options_t *o, compare_result_t *out);
void compare_result_free(compare_result_t *r);

const char *compare_metric_name(compare_metric_t m); /* "rps", "error_rate", "p95", ... */
bool compare_metric_judged(compare_metric_t m);      /* rps, error_rate, p95, p99 */
/* "ok", "REGRESSION", "improved", "n/a" */
const char *compare_verdict_name(compare_verdict_t v);

/* Renderers: each appends to out and returns 0 or -ENOBUFS/-ENOMEM. color: ANSI colours for
 * a terminal. */
int compare_render_text(const compare_result_t *r, bool color, buf_t *out);
int compare_render_markdown(const compare_result_t *r, buf_t *out);
int compare_render_html(const compare_result_t *r, buf_t *out);
int compare_render_json(const compare_result_t *r, buf_t *out);

#endif
