/* report_capacity: `surge capacity`'s search as figures and a document. Each step is judged
 * from its result (the rps, error rate and SLO value the step's own result document says)
 * and keeps that document, encoded by result/; the renderers write a step's line and the
 * search's JSON. The search itself (which rate next) is cli/cli_capacity.c's. */
#ifndef SURGE_REPORT_CAPACITY_H
#define SURGE_REPORT_CAPACITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "report/thresholds.h"
#include "result/result.h"

#define CAPACITY_STEPS_MAX  40
#define CAPACITY_RATE_SLACK 0.95 /* a step must deliver 95 % of the asked rate */
/* A step's document without per-second histograms: an hour of 256 endpoints is far less */
#define CAPACITY_STEP_DOC_MAX (64u * 1024 * 1024)
#define CAPACITY_DOC_MAX      (256u * 1024 * 1024) /* the search's, with every step's */

typedef struct capacity_step {
	double rate;              /* asked, per second */
	double achieved;          /* requests / duration of the step */
	double slo_value;         /* the SLO's metric as judged; NAN: nothing measured */
	double error_rate;        /* 0..1 */
	uint64_t resource_errors; /* requests the generator could not send (no memory, fds) */
	bool passed, saturated;   /* saturated: the self-check, or resource errors */
	char *result;             /* the step's result document (compact), owned; NULL: none */
	size_t result_len;
} capacity_step_t;

typedef struct capacity {
	const char *url;
	threshold_t slo;
	double max_error; /* the largest error rate that passes, 0..1 */
	capacity_step_t steps[CAPACITY_STEPS_MAX];
	int count;
	double answer;          /* the highest rate that passed; 0: none */
	double fail;            /* the lowest rate that failed; 0 when none did */
	const char *stopped_by; /* why the search ended (docs/capacity.md) */
} capacity_t;

/* Judges the step at `rate` from its result r (judged with the SLO as its only threshold)
 * and keeps r's document in st. 0, or -ENOMEM/-ENOBUFS (st's figures are set even then). */
int capacity_step_judge(const capacity_t *c, capacity_step_t *st, double rate, const result_t *r);
void capacity_free(capacity_t *c);

/* "  step  3  rate  200.0/s  achieved  198.0/s  p95 38.81  errors 0.00%  pass" with its
 * newline, for step i (0-based). */
void capacity_step_text(const capacity_t *c, int i, buf_t *out);
/* The search's document (docs/capacity.md): the answer, why it stopped, exit_code, and
 * steps[] each with its figures and its result document. 0, or -ENOBUFS/-ENOMEM. */
int capacity_render_json(const capacity_t *c, int exit_code, buf_t *out);

#endif
