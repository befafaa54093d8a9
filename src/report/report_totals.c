/* report_totals: the derived figures (totals, error rate, rate) of a result, computed once
 * here for the judge, the summary and capacity's steps, so they never differ between them. */
#include "report/report.h"

void report_counter_totals(const gen_counters_t *c, double duration_s, report_totals_t *out)
{
	out->transport_errors = 0;
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		out->transport_errors += c->errors_by_kind[i];
	out->responses = c->requests;
	out->requests = c->requests + out->transport_errors;
	out->errors = c->errors;
	/* a fraction even of a document whose errors outnumber its requests (none of surge's) */
	out->error_rate = !out->requests ? 0
	                  : out->errors < out->requests
	                      ? (double)out->errors / (double)out->requests
	                      : 1;
	out->duration_s = duration_s;
	out->rps = out->duration_s > 0 ? (double)out->requests / out->duration_s : 0;
}

void report_totals(const result_t *r, report_totals_t *out)
{
	report_counter_totals(&r->counters, r->duration_s, out);
}
