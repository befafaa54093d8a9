/* hist: an HDR-style log-linear latency histogram (HdrHistogram's bucket layout).
 * One fixed layout for every histogram in surge: values in microseconds from 1 µs to 1 h with
 * 3 significant digits, so any two histograms merge exactly by adding counts.
 * The histogram does no I/O and allocates nothing: the caller owns the memory of hist_t. */
#ifndef SURGE_HIST_H
#define SURGE_HIST_H

#include <stdint.h>
#include <stddef.h>

#include "core/buf.h"

#define HIST_LOWEST   1LL          /* 1 µs */
#define HIST_HIGHEST  3600000000LL /* 1 h in µs */
#define HIST_SIG_FIGS 3
/* HdrHistogram layout for (1, 3.6e9, 3): sub_bucket_count = 2048, bucket_count = 22. */
#define HIST_SUB_BUCKET_COUNT      2048
#define HIST_SUB_BUCKET_HALF_COUNT 1024
#define HIST_SUB_BUCKET_HALF_MAG   10
#define HIST_BUCKET_COUNT          22
#define HIST_COUNTS_LEN            ((HIST_BUCKET_COUNT + 1) * HIST_SUB_BUCKET_HALF_COUNT)

typedef struct hist {
	uint64_t total;   /* number of recorded values */
	int64_t min;      /* smallest recorded value, INT64_MAX when empty */
	int64_t max;      /* largest recorded value, 0 when empty */
	double sum;       /* of recorded values, for an exact mean */
	double sum_sq;    /* of squares, for stdev */
	uint64_t clamped; /* values above HIST_HIGHEST recorded as HIST_HIGHEST */
	uint64_t counts[HIST_COUNTS_LEN];
} hist_t;

void hist_reset(hist_t *h);
/* Records one value (µs); negative values count as 0, values over the top as the top. */
void hist_record(hist_t *h, int64_t value);
void hist_record_n(hist_t *h, int64_t value, uint64_t n);
/* dst += src, exactly. */
void hist_merge(hist_t *dst, const hist_t *src);
/* The value at percentile p (0..100): the highest value equivalent to the bucket that holds it,
 * as HdrHistogram reports. 0 when empty. */
int64_t hist_percentile(const hist_t *h, double p);
/* Which value (1-based, by rank) of total is the p-th percentile (0 < p < 100): the rule
 * hist_percentile and the result model's sparse histograms share. */
uint64_t hist_percentile_rank(uint64_t total, double p);
double hist_mean(const hist_t *h);
double hist_stdev(const hist_t *h);

/* Layout helpers, exposed for the codec and tests. */
int hist_index_of(int64_t value);
int64_t hist_value_at_index(int index);         /* lowest value of the bucket */
int64_t hist_highest_equivalent(int64_t value); /* highest value in value's bucket */

/* HdrHistogram V2 compressed encoding (cookie 0x1c849314 — base 0x1c849304 with word size 1 —
 * then the zlib-deflated V2 payload with ZigZag LEB128 counts), the form HdrHistogram's tools
 * read; in base64 it starts "HISTFAAA" like every line of an HdrHistogram log. */
int hist_encode(const hist_t *h, buf_t *out);
int hist_encode_base64(const hist_t *h, buf_t *out);
/* Decodes any V2 (compressed or not) histogram, re-recording each of its buckets at the
 * bucket's highest value into h's layout. Returns 0, -EINVAL for malformed input (never
 * reads beyond len; h is left empty), or -ENOMEM. */
int hist_decode(const void *data, size_t len, hist_t *h);
int hist_decode_base64(const char *text, size_t len, hist_t *h);

#endif
