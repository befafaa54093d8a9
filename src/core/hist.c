/* hist: recording, merging and reading surge's one fixed HDR log-linear layout (see hist.h).
 * The codec (HdrHistogram V2 bytes) lives in hist_codec.c; this file never allocates. */
#include "core/hist.h"

#include <math.h>
#include <string.h>

/* Bucket 0 holds HIST_SUB_BUCKET_COUNT unit-wide sub-buckets; every later bucket doubles the
 * width and only uses its upper half, so a value's bucket is its bit length minus the bit
 * length of the sub-bucket count. OR-ing the mask keeps clz defined for 0 and folds every
 * value below the sub-bucket count into bucket 0 without a branch. */
static inline int bucket_of(uint64_t v)
{
	int bits = 64 - __builtin_clzll(v | (HIST_SUB_BUCKET_COUNT - 1));

	return bits - (HIST_SUB_BUCKET_HALF_MAG + 1);
}

static inline int index_of(uint64_t v)
{
	int bucket = bucket_of(v);
	int sub = (int)(v >> bucket);

	return ((bucket + 1) << HIST_SUB_BUCKET_HALF_MAG) + (sub - HIST_SUB_BUCKET_HALF_COUNT);
}

/* What hist_record does to an out-of-range value, shared so every entry point agrees. */
static inline uint64_t clamp_value(int64_t value)
{
	uint64_t v = value < 0 ? 0 : (uint64_t)value;

	return v > (uint64_t)HIST_HIGHEST ? (uint64_t)HIST_HIGHEST : v;
}

void hist_reset(hist_t *h)
{
	h->total = 0;
	h->min = INT64_MAX;
	h->max = 0;
	h->sum = 0;
	h->sum_sq = 0;
	h->clamped = 0;
	memset(h->counts, 0, sizeof(h->counts));
}

/* The hot path: a load generator calls this once per response, so it is written to compile
 * to conditional moves and one dependent increment, with no call and no unpredictable branch. */
void hist_record(hist_t *h, int64_t value)
{
	uint64_t v = value < 0 ? 0 : (uint64_t)value;
	uint64_t over = v > (uint64_t)HIST_HIGHEST;
	double d;

	v = over ? (uint64_t)HIST_HIGHEST : v;
	d = (double)v;
	h->clamped += over;
	h->counts[index_of(v)]++;
	h->total++;
	h->sum += d;
	h->sum_sq += d * d;
	h->min = (int64_t)v < h->min ? (int64_t)v : h->min;
	h->max = (int64_t)v > h->max ? (int64_t)v : h->max;
}

/* Recording n equal values at once, for coordinated-omission correction and for codecs. */
void hist_record_n(hist_t *h, int64_t value, uint64_t n)
{
	uint64_t v = clamp_value(value);
	double d = (double)v, dn = (double)n;

	if (n == 0)
		return;
	if (value > HIST_HIGHEST)
		h->clamped += n;
	h->counts[index_of(v)] += n;
	h->total += n;
	h->sum += d * dn;
	h->sum_sq += d * d * dn;
	if ((int64_t)v < h->min)
		h->min = (int64_t)v;
	if ((int64_t)v > h->max)
		h->max = (int64_t)v;
}

/* Every histogram shares one layout, so merging is a plain element-wise add (vectorised). */
void hist_merge(hist_t *dst, const hist_t *src)
{
	for (int i = 0; i < HIST_COUNTS_LEN; i++)
		dst->counts[i] += src->counts[i];
	dst->total += src->total;
	dst->sum += src->sum;
	dst->sum_sq += src->sum_sq;
	dst->clamped += src->clamped;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Like HdrHistogram's value_at_percentile: find the bucket where the running count first
 * reaches ceil(p/100 * total) and report its highest equivalent value. Two deliberate
 * differences: p <= 0 gives the exact min and p >= 100 the exact max, and no answer exceeds
 * the exact max (a bucket's top may lie above anything recorded). p is nudged down one ulp
 * first, as HdrHistogram does, so that an exact product such as 50% of 1000 is not pushed to
 * the next rank by rounding. */
uint64_t hist_percentile_rank(uint64_t total, double p)
{
	double want = ceil(nextafter(p, 0.0) / 100.0 * (double)total);

	return want < 1 ? 1 : (uint64_t)want;
}

int64_t hist_percentile(const hist_t *h, double p)
{
	uint64_t rank, seen = 0;

	if (h->total == 0)
		return 0;
	if (!(p > 0))
		return h->min;
	if (p >= 100)
		return h->max;
	rank = hist_percentile_rank(h->total, p);
	for (int i = 0; i < HIST_COUNTS_LEN; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			int64_t v = hist_highest_equivalent(hist_value_at_index(i));
			return v < h->max ? v : h->max;
		}
	}
	return h->max; /* counts summing below total: only after a caller edits counts */
}

double hist_mean(const hist_t *h)
{
	return h->total ? h->sum / (double)h->total : 0.0;
}

/* Population standard deviation from the running sums; the difference can dip below zero
 * by rounding when every value is equal, hence the clamp. */
double hist_stdev(const hist_t *h)
{
	double mean, var;

	if (h->total == 0)
		return 0.0;
	mean = h->sum / (double)h->total;
	var = h->sum_sq / (double)h->total - mean * mean;
	return var > 0 ? sqrt(var) : 0.0;
}

/* Out-of-range values are clamped exactly as hist_record clamps them. */
int hist_index_of(int64_t value)
{
	return index_of(clamp_value(value));
}

int64_t hist_value_at_index(int index)
{
	int bucket, sub;

	if (index < 0)
		index = 0;
	if (index >= HIST_COUNTS_LEN)
		index = HIST_COUNTS_LEN - 1;
	bucket = (index >> HIST_SUB_BUCKET_HALF_MAG) - 1;
	sub = (index & (HIST_SUB_BUCKET_HALF_COUNT - 1)) + HIST_SUB_BUCKET_HALF_COUNT;
	if (bucket < 0) {
		sub -= HIST_SUB_BUCKET_HALF_COUNT;
		bucket = 0;
	}
	return (int64_t)sub << bucket;
}

/* Not clamped to HIST_HIGHEST: the answer describes the layout, which extends past the top
 * up to 2^32 - 1 and, arithmetically, to any int64 value. */
int64_t hist_highest_equivalent(int64_t value)
{
	uint64_t v = value < 0 ? 0 : (uint64_t)value;
	int bucket = bucket_of(v);
	uint64_t lowest = (v >> bucket) << bucket;

	return (int64_t)(lowest + ((uint64_t)1 << bucket) - 1);
}
