/* report: renders a run's result — the terminal summary (the JSON result document is
 * result/result_encode.c's, from the model surge run sums from the engine's stream,
 * report/result_finish.c). Renderers write into a buf; only cli/ decides where the bytes go. */
#ifndef SURGE_REPORT_H
#define SURGE_REPORT_H

#include "core/buf.h"
#include "gen/gen.h"
#include "report/recommend.h"
#include "report/report_target.h"
#include "report/thresholds.h"
#include "result/result.h"

/* Figures every renderer derives the same way from a result. */
typedef struct report_totals {
	uint64_t requests; /* every request that ended: responses plus transport failures */
	uint64_t responses;
	uint64_t errors; /* transport failures plus responses outside 2xx/3xx */
	uint64_t transport_errors;
	double error_rate; /* errors / requests, 0..1 */
	double duration_s;
	double rps; /* requests / duration */
} report_totals_t;

void report_totals(const gen_result_t *r, report_totals_t *out);
/* The same figures for one set of counters (an endpoint's) over duration_s. */
void report_counter_totals(const gen_counters_t *c, double duration_s, report_totals_t *out);

/* What the run is judged by, and the verdicts: thresholds, the assessment, self-check. */
typedef struct report_analysis {
	const threshold_t *thresholds;
	int threshold_count;
	double values[THRESHOLD_MAX];
	bool passed[THRESHOLD_MAX];
	bool thresholds_ok;
	bool aborted; /* stopped early because a threshold failed (--abort-on-fail) */
	assess_targets_t targets;
	assessment_t assessment;
	const char *profile; /* NULL when none */
	/* the target's side (report_target.c): cli sets target, cost.per_hour_usd and
	 * cost.replicas; report_analyze fills the recommendations and the rest of the cost */
	report_target_t *target; /* --scrape: owned, report_target_free; NULL without */
	report_cost_t cost;
	recommendation_t recommendations[RECOMMEND_MAX];
	int recommendation_count;
} report_analysis_t;

/* Checks every threshold against the result (the whole run, or its endpoint) and assesses. */
void report_analyze(const gen_config_t *cfg, const gen_result_t *r, report_analysis_t *a);
/* The seeds' recommendations and the cost, from the run and a->target (report_target.c). */
void report_recommend(const gen_config_t *cfg, const gen_result_t *r, report_analysis_t *a);
/* The run's figures as thresholds are judged on them (threshold_judge). */
void report_threshold_view(const gen_result_t *r, threshold_view_t *v);

/* report_groups.c: --group-by-header's table with the spread in the summary, when the run
 * has one (the document's "group_by" is written by result/result_encode.c). */
void report_groups_text(buf_t *out, const result_t *r, hist_t *scratch);

/* The wrk-like summary printed at the end of a run, from the typed result (its verdicts,
 * advice and scraped figures included). 0, or -ENOBUFS/-ENOMEM. */
int report_text(const result_t *r, buf_t *out);

#endif
