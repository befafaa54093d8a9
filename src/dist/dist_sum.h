/* dist_sum: the coordinator's seconds summed across its shards before they reach the result —
 * one delta a second for the whole fleet instead of one per shard.
 *
 * Why. A shard's second holds ~3,000 non-empty buckets (1,000 requests a second over 20
 * endpoints); adding it to the result (result_add: a merge of sorted pairs into the run's
 * histograms, which hold the union of every shard's buckets) and again to the live side's
 * second cost the coordinator ~0.6 ms per shard-second, more than all of Locust's master's
 * work per worker. Here each histogram of an open second is kept dense in pages of 256
 * counters, allocated as its buckets reach them, with a bit per counter saying which are set
 * (a shard's second adds in O(its buckets), whatever the fleet's size; making the sum sparse
 * visits only the counts that are set); once the second is whole it becomes one sparse
 * delta, which result_add and the live side take once. The sum is exact: counts and counters are
 * integers, the rest is added as result_add adds it (users and due summed, the longest length, the
 * largest busiest CPU).
 *
 * Bounded: DIST_SUM_SECONDS seconds open at once, RESULT_ENDPOINTS_MAX endpoints and
 * RESULT_TALLIES_MAX tallies in each, 64 MiB of pages; a second that does not fit (a shard far
 * behind the others, a fleet with more names than one result keeps) is refused with -ENOSPC and the
 * caller hands it over as it is (what result_add does with it is then what it always did). A
 * refused add changes no sum. Not thread-safe: the shard table calls it under its lock. */
#ifndef SURGE_DIST_SUM_H
#define SURGE_DIST_SUM_H

#include <stdint.h>

#include "result/delta_wire.h" /* delta_wire_codes_t */
#include "result/result.h"     /* delta_t, result_hist_t */

#define DIST_SUM_SECONDS 8

typedef struct dist_sum dist_sum_t;

dist_sum_t *dist_sum_new(void);
void dist_sum_free(dist_sum_t *s);

/* d added to its second's sum (its markers are not: a shard sends none). codes: the status
 * codes its counters hold as delta_wire_decode listed them (a delta_wire_t's: [0] the
 * second's, [1 + i] endpoint i's), or NULL (then all 1,000 are added). 0, or -ENOSPC /
 * -ENOMEM with nothing added. */
int dist_sum_add(dist_sum_t *s, const delta_t *d, const delta_wire_codes_t *codes);

/* Each second up to `upto` that holds a sum, oldest first, handed to fn as one delta (valid
 * during the call; fn may change its scalars) and forgotten. 0, or -ENOMEM when a sum could
 * not be made sparse (that second is then handed over without its histograms' buckets). */
typedef void (*dist_sum_fn)(void *ctx, delta_t *d);
int dist_sum_flush(dist_sum_t *s, int64_t upto, dist_sum_fn fn, void *ctx);

#endif
