/* report_analyze: a run's verdicts — each threshold checked against the figures it names (the
 * whole run, or one endpoint), and the seeds' assessment — computed once, rendered by every
 * output the same way. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_groups.h"
#include "report/report.h"

static const char *gen_endpoint_name(const void *ctx, uint32_t i)
{
	return ((const gen_result_t *)ctx)->named.endpoints[i]->name;
}

static int gen_endpoint_add(const void *ctx, uint32_t i, hist_t *hist, uint64_t *requests,
                            uint64_t *errors)
{
	const gen_result_t *r = ctx;
	const gen_endpoint_t *e = r->named.endpoints[i];
	report_totals_t t;

	report_counter_totals(&e->counters, (double)r->duration_ns / 1e9, &t);
	hist_merge(hist, e->latency);
	*requests += t.requests;
	*errors += t.errors;
	return 0;
}

void report_threshold_view(const gen_result_t *r, threshold_view_t *v)
{
	report_totals_t t;

	report_totals(r, &t);
	*v = (threshold_view_t){
	    .run = {.latency = r->latency,
	            .requests = t.requests,
	            .errors = t.errors,
	            .duration_s = (double)r->duration_ns / 1e9,
	            .balance = r->groups ? gen_groups_spread(r->groups) : NAN},
	    .endpoint_count = r->named.endpoint_count,
	    .ctx = r,
	    .endpoint_name = gen_endpoint_name,
	    .endpoint_add = gen_endpoint_add,
	};
}

void report_analyze(const gen_config_t *cfg, const gen_result_t *r, report_analysis_t *a)
{
	hist_t *scratch = malloc(sizeof(*scratch));
	threshold_view_t v;
	report_totals_t t;

	report_threshold_view(r, &v);
	a->thresholds_ok = true;
	for (int i = 0; i < a->threshold_count; i++) {
		a->passed[i] = threshold_judge(&a->thresholds[i], &v, scratch, &a->values[i]);
		a->thresholds_ok &= a->passed[i];
	}
	free(scratch);
	report_totals(r, &t);
	/* no response, no latency: NAN makes the latency verdict fail instead of "excellent" */
	assess_run(&a->targets, r->latency->total ? hist_percentile(r->latency, 95) / 1e3 : NAN,
	           t.rps, t.error_rate, a->thresholds_ok, &a->assessment);
	report_recommend(cfg, r, a);
}
