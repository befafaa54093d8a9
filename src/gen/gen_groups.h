/* gen_groups: `surge run --group-by-header NAME` — responses counted by the value of one
 * response header (X-Served-By: which instance behind a load balancer answered), each value
 * with its requests, errors and latency histogram. One set per thread, written only by it,
 * merged after the join. Self-contained on purpose: the run's result holds a pointer to the
 * merged set and nothing else (see docs/result-format.md, "group_by"). */
#ifndef SURGE_GEN_GROUPS_H
#define SURGE_GEN_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/hist.h"
#include "core/http.h"

/* Distinct values kept; responses with a further value are counted in `overflow`, so memory
 * stays bounded (a histogram is ~190 KB, touched only where values fall) whatever the target
 * sends. Enough for every pod of a large Deployment. */
#define GEN_GROUPS_MAX 64

typedef struct gen_group {
	char value[HTTP_CAPTURE_MAX + 1]; /* as received; bytes outside printable ASCII as '?' */
	uint64_t responses;
	uint64_t errors; /* responses that count as errors (outside 2xx/3xx, a scenario's expect or
	                    a failed check) */
	hist_t *latency; /* µs, as the run's */
} gen_group_t;

typedef struct gen_groups {
	gen_group_t *groups[GEN_GROUPS_MAX];
	uint32_t count;
	uint64_t missing;   /* responses without the header */
	uint64_t overflow;  /* responses whose value was not kept: GEN_GROUPS_MAX were already */
	uint64_t truncated; /* responses whose value was cut at HTTP_CAPTURE_MAX bytes */
	bool out_of_memory; /* a new value could not be kept for want of memory (counted in
	                       overflow) */
} gen_groups_t;

/* One response, with what its parser captured. */
void gen_groups_record(gen_groups_t *g, const http_header_capture_t *c, int64_t latency_us,
                       bool error);
/* The response just recorded counts as an error after all (a scenario's failed check). */
void gen_groups_error(gen_groups_t *g, const http_header_capture_t *c);
/* dst += src by value; 0 or -ENOMEM. */
int gen_groups_merge(gen_groups_t *dst, const gen_groups_t *src);
void gen_groups_free(gen_groups_t *g);

/* The spread of the load over the values: the largest value's responses over the mean per
 * value (1 = even, 2 = one value had twice its share). NAN without a grouped response. */
double gen_groups_spread(const gen_groups_t *g);
/* Responses counted under a kept value. */
uint64_t gen_groups_grouped(const gen_groups_t *g);

#endif
