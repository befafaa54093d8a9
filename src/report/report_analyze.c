/* report_analyze: a run's verdicts — each threshold checked against the figures it names (the
 * whole run, or one endpoint), and the seeds' assessment — computed once, rendered by every
 * output the same way. */
#include <math.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_groups.h"
#include "report/report.h"

bool report_figures(const gen_result_t *r, const char *endpoint, threshold_figures_t *f)
{
	report_totals_t t;

	f->duration_s = (double)r->duration_ns / 1e9;
	f->balance = r->groups ? gen_groups_spread(r->groups) : NAN;
	if (endpoint && *endpoint) {
		/* by name, as in the result's endpoints (the first method seen with that name) */
		for (uint32_t i = 0; i < r->named.endpoint_count; i++) {
			const gen_endpoint_t *e = r->named.endpoints[i];

			if (strcmp(e->name, endpoint) != 0)
				continue;
			report_counter_totals(&e->counters, f->duration_s, &t);
			f->latency = e->latency;
			f->requests = t.requests;
			f->errors = t.errors;
			return true;
		}
		return false;
	}
	report_totals(r, &t);
	f->latency = r->latency;
	f->requests = t.requests;
	f->errors = t.errors;
	return true;
}

void report_analyze(const gen_config_t *cfg, const gen_result_t *r, report_analysis_t *a)
{
	threshold_figures_t f;
	report_totals_t t;

	a->thresholds_ok = true;
	for (int i = 0; i < a->threshold_count; i++) {
		const threshold_t *th = &a->thresholds[i];

		if (!report_figures(r, th->endpoint, &f)) {
			a->values[i] = NAN; /* an endpoint that never ran fails its thresholds */
			a->passed[i] = false;
		} else {
			a->passed[i] = threshold_check(th, &f, &a->values[i]);
		}
		a->thresholds_ok &= a->passed[i];
	}
	report_totals(r, &t);
	/* no response, no latency: NAN makes the latency verdict fail instead of "excellent" */
	assess_run(&a->targets, r->latency->total ? hist_percentile(r->latency, 95) / 1e3 : NAN,
	           t.rps, t.error_rate, a->thresholds_ok, &a->assessment);
	report_recommend(cfg, r, a);
}
