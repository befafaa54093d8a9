/* report_totals: the derived figures (totals, rates) shared by every renderer, so the
 * summary, the JSON document and later reports can never disagree. */
#include "report/report.h"

#include "core/clock.h"

void report_totals(const gen_result_t *r, report_totals_t *out)
{
	const gen_counters_t *c = &r->counters;

	out->transport_errors = 0;
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		out->transport_errors += c->errors_by_kind[i];
	out->responses = c->requests;
	out->requests = c->requests + out->transport_errors;
	out->errors = c->errors;
	out->error_rate = out->requests ? (double)out->errors / (double)out->requests : 0;
	out->duration_s = (double)r->duration_ns / NS_PER_S;
	out->rps = out->duration_s > 0 ? (double)out->requests / out->duration_s : 0;
}
