/* thresholds and assessment: pass/fail criteria over a run's figures. Thresholds are what the
 * user asks (`p95<200ms`, `error_rate<1%`, `rps>100`, per endpoint with `name:`); the
 * assessment is the seeds' verdict (latency class on p95, throughput, error rate, overall
 * PASS/FAIL). Pure: they only read figures. */
#ifndef SURGE_THRESHOLDS_H
#define SURGE_THRESHOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"

#define THRESHOLD_MAX 32

typedef enum threshold_metric {
	TH_P50,
	TH_P90,
	TH_P95,
	TH_P99,
	TH_P999,
	TH_MAX,
	TH_MEAN,
	TH_MIN,
	TH_ERROR_RATE, /* a fraction 0..1 ("1%" parses as 0.01) */
	TH_RPS,
	TH_BALANCE, /* --group-by-header's spread: largest share / mean share, 1 = even */
} threshold_metric_t;

typedef enum threshold_op { TH_LT, TH_LE, TH_GT, TH_GE } threshold_op_t;

typedef struct threshold {
	char expr[160];     /* as the user wrote it, for messages and reports */
	char endpoint[128]; /* "" = the whole run; else the endpoint's name */
	threshold_metric_t metric;
	threshold_op_t op;
	double limit; /* ms for latency metrics, fraction for error_rate, 1/s for rps */
} threshold_t;

/* The figures a threshold is checked against (the whole run or one endpoint). */
typedef struct threshold_figures {
	const hist_t *latency; /* µs */
	uint64_t requests;
	uint64_t errors;
	double duration_s;
	double balance; /* the whole run's spread over --group-by-header's values; NAN: none */
} threshold_figures_t;

/* Grammar: [name:ENDPOINT:]METRIC OP VALUE, no spaces needed (spaces around OP allowed).
 * METRIC: p50 p90 p95 p99 p99.9 max mean min error_rate rps balance; OP: < <= > >=.
 * Latency VALUE: a duration ("200ms", "1.5s", "250us"; a bare number is milliseconds);
 * error_rate: "1%" or a fraction "0.01"; rps and balance: a number (balance is the whole run's:
 * "name:" is refused for it, and it needs --group-by-header, which the caller checks). ENDPOINT may
 * itself contain ':' (the last ':' before a valid METRIC OP VALUE ends it). 0, or -EINVAL with a
 * message saying what is wrong ("threshold 'p96<200ms': unknown metric 'p96' (known: p50 ...
 * rps)"); a control character (but a tab) is refused, and the text is quoted escaped (core/echo).
 */
int threshold_parse(const char *text, threshold_t *t, char *err, size_t errlen);
/* The measured value in the threshold's unit, and whether it passes. With no requests every
 * threshold fails with value NAN: a run that sent nothing proves nothing. */
bool threshold_check(const threshold_t *t, const threshold_figures_t *f, double *value);
const char *threshold_metric_name(threshold_metric_t m);

/* What thresholds are judged on, from any source (a run live, a finished run, a merge): the
 * whole run's figures, and its endpoints (each one method × name) one at a time. */
typedef struct threshold_view {
	threshold_figures_t run;
	uint32_t endpoint_count;
	const void *ctx;
	const char *(*endpoint_name)(const void *ctx, uint32_t i);
	/* adds endpoint i's latencies into hist and its counts into *requests and *errors; < 0
	 * when its figures are not exact (a merged shard without its histogram) */
	int (*endpoint_add)(const void *ctx, uint32_t i, hist_t *hist, uint64_t *requests,
	                    uint64_t *errors);
} threshold_view_t;

/* THE verdict of a threshold, the same live, for a run and for a merge. An endpoint
 * threshold (`name:/x:p99<50ms`) judges every endpoint of that name together, whatever the
 * method: GET /x and POST /x are one population (their requests, errors and latencies
 * summed); no endpoint of that name, or one whose figures are not exact, fails with NAN.
 * scratch holds the sum (NULL, out of memory: an endpoint threshold fails). Whether it passed;
 * *value the measured figure (NAN: none). */
bool threshold_judge(const threshold_t *t, const threshold_view_t *v, hist_t *scratch,
                     double *value);

/* Assessment targets (the seeds': p95 < 200 ms, error rate < 5 %; throughput optional). */
typedef struct assess_targets {
	double p95_ms;         /* latency verdict passes below this */
	double max_error_rate; /* fraction */
	double min_rps;        /* 0: no throughput target */
} assess_targets_t;

typedef struct assessment {
	const char
	    *latency_class; /* "excellent" < 50 ms, "good" < 100, "acceptable" < 200, "poor" */
	bool latency_ok;
	bool throughput_ok; /* true when there is no throughput target */
	bool errors_ok;
	bool thresholds_ok; /* every threshold passed */
	bool pass;          /* all of the above */
	double p95_ms, rps, error_rate;
} assessment_t;

void assess_defaults(assess_targets_t *t);
void assess_run(const assess_targets_t *t, double p95_ms, double rps, double error_rate,
                bool thresholds_ok, assessment_t *out);

#endif
