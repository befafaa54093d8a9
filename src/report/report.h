/* report: judges and renders a result (result/result.h) — the one judge of its thresholds,
 * assessment, recommendations and cost (report_judge.c), and the terminal summary. The
 * result document is result/result_encode.c's. Renderers write into a buf; only cli/ decides
 * where the bytes go. */
#ifndef SURGE_REPORT_H
#define SURGE_REPORT_H

#include "core/buf.h"
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

void report_totals(const result_t *r, report_totals_t *out);
/* The same figures for one set of counters (an endpoint's) over duration_s. */
void report_counter_totals(const gen_counters_t *c, double duration_s, report_totals_t *out);

/* What a result is judged by: what the user asked — `surge run`'s options, or what the
 * documents of a merge say was asked of their shards. */
typedef struct report_asked {
	const threshold_t *thresholds;
	int threshold_count; /* at most THRESHOLD_MAX */
	assess_targets_t targets;
	const char *profile;      /* NULL when none */
	bool aborted;             /* stopped early because a threshold failed (--abort-on-fail) */
	double cost_per_hour_usd; /* per replica; 0: no cost section */
	uint32_t replicas;        /* 0 is taken as 1 */
} report_asked_t;

/* THE judge of a result, the same for `surge run` and `surge merge`: every threshold
 * (report_thresholds), the seeds' assessment, the recommendations (from r's figures and, with
 * r->has_target, the target's scraped ones) and the cost, computed from r's figures and
 * written into r (replacing any verdicts it held), with the document's decimals so a renderer
 * of r and of its saved document print the same. 0, or -ENOMEM (r stays freeable; its
 * verdicts are then not to be trusted). */
int report_judge(result_t *r, const report_asked_t *asked);

/* What the parts of a merge were asked (their documents say it): their thresholds parsed
 * again into t (room for THRESHOLD_MAX; the same expressions in every part, in any order),
 * the first part's assessment targets and profile, aborted when any part was, and the cost
 * per hour and replicas of the first part with a cost. asked points into t and parts[0].
 * 0, or -EINVAL with one line naming the file. */
int report_asked_of(const result_t *const *parts, const char *const *names, size_t n,
                    threshold_t *t, report_asked_t *asked, char *err, size_t errlen);

/* `surge merge`: the parts of one run (decoded documents, named by their files) checked
 * (result_merge_check), added up into whole (result_merge, every part's seconds rounded once
 * against the earliest start) and judged by report_judge with what they were asked
 * (report_asked_of). whole is initialised here and freeable after any outcome; a part
 * without started_at makes every part count as started together. 0, or -EINVAL/-ENOMEM
 * with one line in err naming the file at fault. */
int report_merge(result_t *parts, const char *const *names, size_t n, result_t *whole, char *err,
                 size_t errlen);

/* Each threshold judged on r by threshold_judge (thresholds.h): the whole run's figures, and
 * its endpoints (every method of a name together; one whose document had no histogram is not
 * exact and fails). The live check calls it on the stream so far, report_judge on the whole.
 * values[i] is the measured figure (NAN: nothing measured) and passed[i] the verdict. 0, or
 * -ENOMEM (nothing judged). */
int report_thresholds(const result_t *r, const threshold_t *t, int n, double *values, bool *passed);

/* report_groups.c: --group-by-header's table with the spread in the summary, when the run
 * has one (the document's "group_by" is written by result/result_encode.c). */
void report_groups_text(buf_t *out, const result_t *r, hist_t *scratch);

/* The wrk-like summary printed at the end of a run, from the typed result (its verdicts,
 * advice and scraped figures included). 0, or -ENOBUFS/-ENOMEM. */
int report_text(const result_t *r, buf_t *out);

#endif
