/* result_finish: the result `surge run` summed from the engine's stream, completed with what
 * the stream does not carry; `surge run`'s result document is encoded from it. */
#ifndef SURGE_RESULT_FINISH_H
#define SURGE_RESULT_FINISH_H

#include "gen/gen.h"
#include "result/result.h"

/* r, the sum of the run's deltas, gets the run g's config (cfg), start and end, groups and
 * generator figures; its open seconds are sealed. 0, or -ENOMEM (r stays freeable). */
int result_finish(const gen_config_t *cfg, const gen_result_t *g, result_t *r);
/* r, a copy of the stream so far (a run still going), gets cfg's config, its start and the
 * version: what the document of the run so far holds (the live UI's downloads). 0 or -ENOMEM. */
int result_finish_so_far(const gen_config_t *cfg, uint64_t started_wall_ns, result_t *r);

#endif
