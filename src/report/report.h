/* report: renders a run's result — the terminal summary and the JSON result document
 * (SPEC §2.6). Renderers write into a buf; only cli/ decides where the bytes go. */
#ifndef SURGE_REPORT_H
#define SURGE_REPORT_H

#include "core/buf.h"
#include "gen/gen.h"

/* Figures every renderer derives the same way from a result. */
typedef struct report_totals {
	uint64_t requests;   /* every request that ended: responses plus transport failures */
	uint64_t responses;
	uint64_t errors;     /* transport failures plus responses outside 2xx/3xx */
	uint64_t transport_errors;
	double error_rate;   /* errors / requests, 0..1 */
	double duration_s;
	double rps;          /* requests / duration */
} report_totals_t;

void report_totals(const gen_result_t *r, report_totals_t *out);

/* The wrk-like summary printed at the end of a run. */
int report_text(const gen_config_t *cfg, const gen_result_t *r, buf_t *out);
/* The result document; pretty-printed JSON. */
int report_json(const gen_config_t *cfg, const gen_result_t *r, buf_t *out);

#endif
