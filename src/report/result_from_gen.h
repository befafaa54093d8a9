/* result_from_gen: a finished run converted into the typed result model (result/result.h),
 * which `surge run`'s result document is encoded from. */
#ifndef SURGE_RESULT_FROM_GEN_H
#define SURGE_RESULT_FROM_GEN_H

#include "gen/gen.h"
#include "report/report.h"
#include "result/result.h"

/* r = the run g (asked as cfg) with a's verdicts, advice and scraped figures. r is
 * initialised here; 0, or -ENOMEM with r left empty. */
int result_from_gen(const gen_config_t *cfg, const gen_result_t *g, const report_analysis_t *a,
                    result_t *r);

#endif
