/* report_totals: the derived figures (totals, error rate, rate) of a finished run, computed
 * once here for the terminal summary, the JSON document, the analysis and capacity's steps.
 * Only for a gen_result_t: a merge recomputes them from the shards' documents
 * (result_merge.c), a second path issue 15 folds into one result model. */
#include "report/report.h"

#include "core/clock.h"

void report_counter_totals(const gen_counters_t *c, double duration_s, report_totals_t *out)
{
	out->transport_errors = 0;
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		out->transport_errors += c->errors_by_kind[i];
	out->responses = c->requests;
	out->requests = c->requests + out->transport_errors;
	out->errors = c->errors;
	out->error_rate = out->requests ? (double)out->errors / (double)out->requests : 0;
	out->duration_s = duration_s;
	out->rps = out->duration_s > 0 ? (double)out->requests / out->duration_s : 0;
}

void report_totals(const gen_result_t *r, report_totals_t *out)
{
	report_counter_totals(&r->counters, (double)r->duration_ns / NS_PER_S, out);
}
