/* deal: a run's work split exactly over its parts — the shards of a test (--shard I/N), the
 * threads of a shard — k6's execution segments made discrete, one rule for both. A part is
 * (index, count), 0-based. A count (users, connections, -n, queue places) is dealt as
 * total/count to each part and one more to each of the first total%count; a sequence (the
 * open model's arrivals) round robin, item k to part (k-1) % count. The two agree: a part's
 * share of n is how many of the first n items are its own, so the parts of a whole together
 * send exactly its first n arrivals, every second of a schedule split at most 1 apart, and a
 * part's share never shrinks as the total grows (a ramp-down never starts users). Parts
 * nest: a thread of a shard deals its shard's part again. Pure. */
#ifndef SURGE_DEAL_H
#define SURGE_DEAL_H

#include <stdbool.h>
#include <stdint.h>

typedef struct deal_part {
	uint32_t index; /* 0-based */
	uint32_t count; /* 0 is taken as 1: the whole */
} deal_part_t;

#define DEAL_SHARDS_MAX 10000

/* The part's share of total: total/count, one more for the first total%count parts. */
uint64_t deal_share(uint64_t total, deal_part_t p);
/* Where the part's n-th item (n >= 1) is in the whole's sequence (1-based). */
uint64_t deal_nth(uint64_t n, deal_part_t p);
/* A part of a part (a thread of a shard) as one part of the whole, when the inner part's
 * items are the outer part's dealt again: item n of inner is item deal_nth(deal_nth(n, inner),
 * outer) of the whole. */
uint64_t deal_nth2(uint64_t n, deal_part_t inner, deal_part_t outer);
/* The part's share of a whole value that is not a count (a rate): value / count. */
double deal_value(double value, deal_part_t p);
bool deal_is_whole(deal_part_t p);

#endif
