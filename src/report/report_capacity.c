/* report_capacity: a capacity step judged from its result_t, and the search's renderers. A
 * step's figures are its result's (report_totals, the SLO threshold's value), and its whole
 * result document rides in the search's JSON, so any step can be read back by `surge report`
 * or `surge compare` like a run's. */
#include "report/report_capacity.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "report/report.h"

int capacity_step_judge(const capacity_t *c, capacity_step_t *st, double rate, const result_t *r)
{
	report_totals_t t;
	buf_t doc;
	int rc;

	report_totals(r, &t);
	st->rate = rate;
	st->achieved = t.rps;
	st->slo_value = r->threshold_count ? r->thresholds[0].value : NAN;
	st->error_rate = t.error_rate;
	st->resource_errors = r->counters.errors_by_kind[GEN_ERR_RESOURCE];
	/* requests the generator could not send lower the rate the target saw: like a
	 * saturated generator, the step measured surge */
	st->saturated = r->generator.saturated || st->resource_errors > 0;
	st->passed = r->threshold_count && r->thresholds[0].ok && t.error_rate <= c->max_error &&
	             t.rps >= rate * CAPACITY_RATE_SLACK && !st->saturated;
	/* without the timeline's per-second histograms: a long step's document stays small */
	buf_init(&doc, CAPACITY_STEP_DOC_MAX);
	rc = result_encode_compact(r, &doc);
	if (rc == 0) {
		st->result = doc.data;
		st->result_len = doc.len;
		return 0;
	}
	buf_free(&doc);
	return rc;
}

void capacity_free(capacity_t *c)
{
	for (int i = 0; i < c->count; i++) {
		free(c->steps[i].result);
		c->steps[i].result = NULL;
	}
}

void capacity_step_text(const capacity_t *c, int i, buf_t *out)
{
	const capacity_step_t *st = &c->steps[i];
	char value[32];

	/* a step without a response has no latency: "-", never nan */
	if (isnan(st->slo_value))
		snprintf(value, sizeof(value), "-");
	else
		snprintf(value, sizeof(value), "%.2f", st->slo_value);
	buf_printf(out,
	           "  step %2d  rate %10.1f/s  achieved %10.1f/s  %s %-10s  errors %6.2f%%  %s\n",
	           i + 1, st->rate, st->achieved, threshold_metric_name(c->slo.metric), value,
	           st->error_rate * 100,
	           st->resource_errors ? "GENERATOR OUT OF RESOURCES"
	           : st->saturated     ? "GENERATOR SATURATED"
	           : st->passed        ? "pass"
	                               : "FAIL");
}

static void write_step(json_writer_t *w, const capacity_step_t *st)
{
	jsonw_object_begin(w);
	jsonw_key(w, "rate");
	jsonw_double(w, st->rate, 3);
	jsonw_key(w, "achieved_rps");
	jsonw_double(w, st->achieved, 3);
	jsonw_key(w, "slo_value");
	jsonw_double(w, st->slo_value, 3);
	jsonw_key(w, "error_rate");
	jsonw_double(w, st->error_rate, 6);
	jsonw_key(w, "passed");
	jsonw_bool(w, st->passed);
	jsonw_key(w, "saturated");
	jsonw_bool(w, st->saturated);
	jsonw_key(w, "resource_errors");
	jsonw_uint(w, st->resource_errors);
	jsonw_key(w, "result");
	if (st->result)
		jsonw_raw(w, st->result, st->result_len);
	else
		jsonw_null(w);
	jsonw_object_end(w);
}

int capacity_render_json(const capacity_t *c, int exit_code, buf_t *out)
{
	json_writer_t w;

	jsonw_init(&w, out, true);
	jsonw_object_begin(&w);
	jsonw_key(&w, "url");
	jsonw_string(&w, c->url);
	jsonw_key(&w, "slo");
	jsonw_string(&w, c->slo.expr);
	jsonw_key(&w, "max_error_rate");
	jsonw_double(&w, c->max_error, 6);
	jsonw_key(&w, "capacity_rps");
	jsonw_double(&w, c->answer, 3);
	jsonw_key(&w, "lowest_failed_rps");
	if (c->fail > 0)
		jsonw_double(&w, c->fail, 3);
	else
		jsonw_null(&w);
	jsonw_key(&w, "stopped_by");
	jsonw_string(&w, c->stopped_by);
	jsonw_key(&w, "exit_code");
	jsonw_int(&w, exit_code);
	jsonw_key(&w, "steps");
	jsonw_array_begin(&w);
	for (int i = 0; i < c->count; i++)
		write_step(&w, &c->steps[i]);
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	buf_append_char(out, '\n');
	return w.err ? w.err : buf_error(out);
}
