/* result_merge_internal: what the files of the merge share — the merge in progress, the
 * merging of one latency figure set, and small JSON helpers. Not for use outside them. */
#ifndef SURGE_RESULT_MERGE_INTERNAL_H
#define SURGE_RESULT_MERGE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hist.h"
#include "report/thresholds.h"

#define MERGE_HIST_TEXT_MAX (16u * 1024 * 1024)
#define MERGE_KEY_MAX       512
#define MERGE_PERCENTILES   5 /* p50 p90 p95 p99 p99_9 */

typedef struct merge {
	json_t *const *docs;
	const char *const *names;
	size_t n;
	json_t *out;
	double *offset_s;  /* each shard's start after the earliest, seconds */
	double duration_s; /* from the earliest start to the latest end */
	hist_t *scratch;   /* one shard's decoded histogram at a time */
	char *err;
	size_t errlen;
} merge_t;

/* One latency figure set (latency_ms of the run, of an endpoint) being merged: the union of
 * the shards' histograms for percentiles, and the shards' own exact min, max, mean and stdev
 * for the moments the histogram keeps only to its buckets' precision. */
typedef struct latency_merge {
	hist_t *hist;
	bool exact;   /* every shard had its histogram */
	bool moments; /* every shard with values gave min, mean and max */
	bool stdev;   /* ... and stdev */
	uint64_t values;
	double min_ms, max_ms, sum_ms, sum_sq_ms;
	double upper[MERGE_PERCENTILES]; /* without histograms: each percentile's largest figure */
} latency_merge_t;

/* Sets m->err and returns rc. */
int merge_fail(merge_t *m, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A number rounded to digits decimals; null when not finite. */
json_t *merge_real(double v, int digits);
json_t *merge_count(uint64_t v);
/* obj[key] = value (consumed), nothing when obj is not an object. */
void merge_put(json_t *obj, const char *key, json_t *value);
/* Appends value (consumed) to array; value, or NULL when it could not be appended (out of
 * memory: jansson has freed it then, so the caller must not touch it). */
json_t *merge_append(json_t *array, json_t *value);
/* obj[key] as an object, created when missing. */
json_t *merge_object_at(json_t *obj, const char *key);
/* dst[k] += src[k] for every numeric member of src. */
void merge_sum_counts(json_t *dst, const json_t *src);
double merge_per_second(uint64_t n, double duration_s);
/* The base64 text of h into *text; 0 or an error in m->err. */
int merge_encode(merge_t *m, const hist_t *h, json_t **text);
/* A histogram value of shard i into m->scratch: 0, 1 when absent, or an error naming the file
 * and what (the key). */
int merge_decode(merge_t *m, size_t i, const json_t *value, const char *what);

void merge_latency_init(latency_merge_t *lm, hist_t *h);
/* One shard's figures: stats its latency object, h its histogram (NULL when it had none:
 * then values says how many it measured). */
void merge_latency_add(latency_merge_t *lm, const json_t *stats, const hist_t *h, uint64_t values);
/* Gives the union histogram the shards' exact moments. */
void merge_latency_settle(latency_merge_t *lm);
/* The latency object ("latency_ms" keys) of the merged figures. */
json_t *merge_latency_json(latency_merge_t *lm);

/* The sections in result_merge_sections.c, each over all shards into m->out; sum is scratch. */
int merge_timeline(merge_t *m, hist_t *sum);
void merge_checks(merge_t *m);
int merge_metrics(merge_t *m, hist_t *sum);
void merge_generator(merge_t *m);
/* --group-by-header's "group_by" of the whole (result_merge_groups.c). */
int merge_group_by(merge_t *m, hist_t *sum);
/* Recommendations and cost from the whole's figures (and the target's scraped figures, from
 * the first shard that has them): what one shard advised does not describe the whole. */
void merge_advice(merge_t *m, const assess_targets_t *targets, const assessment_t *a);

#endif
