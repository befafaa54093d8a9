/* result_hist: the sparse histogram of the result model — a dense hist_t's non-empty buckets
 * as (index, count) pairs in index order, with the moments hist_t keeps. Adding two is one
 * merge of sorted lists; reading one (encoding, moments) expands it into a dense scratch
 * hist_t, so every figure is computed by core/hist.c exactly as before — but percentiles,
 * which result_hist_percentile reads from the pairs by hist_percentile's own rule, and
 * result_hist_ms's figures (compare's), which take the moments by hist.c's formulas. */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "result/result.h"

void result_hist_init(result_hist_t *h)
{
	memset(h, 0, sizeof(*h));
	h->min = INT64_MAX;
}

void result_hist_free(result_t *r, result_hist_t *h)
{
	result_release(r, h->buckets, h->cap * sizeof(*h->buckets));
	result_hist_init(h);
}

/* Room for n pairs (the contents kept). */
static int reserve(result_t *r, result_hist_t *h, uint32_t n)
{
	result_bucket_t *b;

	if (n <= h->cap)
		return 0;
	b = result_realloc(r, h->buckets, h->cap * sizeof(*b), n * sizeof(*b));
	if (!b)
		return -ENOMEM;
	h->buckets = b;
	h->cap = n;
	return 0;
}

static void copy_moments(result_hist_t *h, uint64_t total, int64_t min, int64_t max, double sum,
                         double sum_sq, uint64_t clamped)
{
	h->total = total;
	h->min = min;
	h->max = max;
	h->sum = sum;
	h->sum_sq = sum_sq;
	h->clamped = clamped;
}

int result_hist_set(result_t *r, result_hist_t *h, const hist_t *d)
{
	uint32_t n = 0;

	for (int i = 0; i < HIST_COUNTS_LEN; i++)
		n += d->counts[i] != 0;
	if (reserve(r, h, n) < 0)
		return -ENOMEM;
	h->len = 0;
	for (int i = 0; i < HIST_COUNTS_LEN && h->len < n; i++)
		if (d->counts[i])
			h->buckets[h->len++] = (result_bucket_t){(uint32_t)i, d->counts[i]};
	copy_moments(h, d->total, d->min, d->max, d->sum, d->sum_sq, d->clamped);
	return 0;
}

int result_hist_record(result_hist_t *h, int64_t value)
{
	uint64_t v = value < 0 ? 0 : (uint64_t)value;
	bool over = v > (uint64_t)HIST_HIGHEST;
	uint32_t index, lo = 0, hi = h->len;
	double d;

	v = over ? (uint64_t)HIST_HIGHEST : v;
	index = (uint32_t)hist_index_of((int64_t)v);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (h->buckets[mid].index < index)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == h->len || h->buckets[lo].index != index) {
		if (h->len == h->cap && reserve(NULL, h, h->cap ? h->cap * 2 : 16) < 0)
			return -ENOMEM;
		memmove(&h->buckets[lo + 1], &h->buckets[lo], (h->len - lo) * sizeof(*h->buckets));
		h->buckets[lo] = (result_bucket_t){index, 0};
		h->len++;
	}
	h->buckets[lo].count++;
	d = (double)v;
	h->clamped += over;
	h->total++;
	h->sum += d;
	h->sum_sq += d * d;
	h->min = (int64_t)v < h->min ? (int64_t)v : h->min;
	h->max = (int64_t)v > h->max ? (int64_t)v : h->max;
	return 0;
}

void result_hist_clear(result_hist_t *h)
{
	h->len = 0;
	copy_moments(h, 0, INT64_MAX, 0, 0, 0, 0);
}

int result_hist_copy(result_t *r, result_hist_t *dst, const result_hist_t *src)
{
	if (reserve(r, dst, src->len) < 0)
		return -ENOMEM;
	if (src->len)
		memcpy(dst->buckets, src->buckets, src->len * sizeof(*src->buckets));
	dst->len = src->len;
	copy_moments(dst, src->total, src->min, src->max, src->sum, src->sum_sq, src->clamped);
	dst->read = src->read;
	dst->read_approximate = src->read_approximate;
	memcpy(dst->read_ms, src->read_ms, sizeof(dst->read_ms));
	dst->read_count = src->read_count;
	return 0;
}

void result_hist_expand(const result_hist_t *h, hist_t *d)
{
	hist_reset(d);
	result_hist_add_to(h, d);
}

void result_hist_add_to(const result_hist_t *h, hist_t *d)
{
	for (uint32_t i = 0; i < h->len; i++)
		if (h->buckets[i].index < HIST_COUNTS_LEN)
			d->counts[h->buckets[i].index] += h->buckets[i].count;
	d->total += h->total;
	d->sum += h->sum;
	d->sum_sq += h->sum_sq;
	d->clamped += h->clamped;
	if (h->min < d->min)
		d->min = h->min;
	if (h->max > d->max)
		d->max = h->max;
}

/* The pairs of the union of a and b, counted. */
static uint32_t union_len(const result_hist_t *a, const result_hist_t *b)
{
	uint32_t i = 0, j = 0, n = 0;

	while (i < a->len || j < b->len) {
		if (j == b->len || (i < a->len && a->buckets[i].index < b->buckets[j].index))
			i++;
		else if (i == a->len || b->buckets[j].index < a->buckets[i].index)
			j++;
		else
			i++, j++;
		n++;
	}
	return n;
}

bool result_hist_figures_only(const result_hist_t *h)
{
	return h->read && h->len == 0 && h->total == 0;
}

/* h's figures in read_ms order (min mean stdev p50 p90 p95 p99 p99.9 max, ms); its count. */
static uint64_t figures_of(const result_hist_t *h, double *ms)
{
	static const double pcts[5] = {50, 90, 95, 99, 99.9};
	double mean;

	if (result_hist_figures_only(h)) {
		memcpy(ms, h->read_ms, sizeof(h->read_ms));
		return h->read_count;
	}
	mean = h->total ? h->sum / (double)h->total : 0;
	ms[0] = h->total ? h->min / 1e3 : 0;
	ms[1] = mean / 1e3;
	ms[2] = h->total ? sqrt(fmax(0, h->sum_sq / (double)h->total - mean * mean)) / 1e3 : 0;
	for (int i = 0; i < 5; i++)
		ms[3 + i] = result_hist_percentile(h, pcts[i]) / 1e3;
	ms[8] = h->max / 1e3;
	return h->total;
}

/* dst += src where one holds figures only (an older document, service_ms): the moments
 * exact from both, the percentiles upper bounds (a merge cannot add what it cannot see). */
static void add_figures(result_t *r, result_hist_t *dst, const result_hist_t *src)
{
	double a[9], b[9], mean, sq;
	uint64_t na = figures_of(dst, a), nb = figures_of(src, b), n = na + nb;
	bool approximate = src->read_approximate || dst->read_approximate;

	if (nb == 0 && !result_hist_figures_only(dst))
		return; /* nothing to add: dst stays exact */
	if (na == 0) {
		memcpy(a, b, sizeof(a));
	} else if (nb > 0) {
		mean = (a[1] * na + b[1] * nb) / n;
		sq = na * (a[2] * a[2] + a[1] * a[1]) + nb * (b[2] * b[2] + b[1] * b[1]);
		a[0] = fmin(a[0], b[0]);
		a[8] = fmax(a[8], b[8]);
		for (int i = 3; i < 8; i++)
			a[i] = fmin(fmax(a[i], b[i]), a[8]);
		a[1] = mean;
		a[2] = sqrt(fmax(0, sq / n - mean * mean));
		approximate = true;
	}
	result_hist_free(r, dst);
	dst->read = true;
	dst->read_approximate = approximate;
	memcpy(dst->read_ms, a, sizeof(a));
	dst->read_count = n;
}

/* Room for n pairs in a histogram that keeps growing (a run's, an endpoint's): the capacity
 * grows by half at least, so a run that meets a new latency bucket every second reallocates
 * its pairs a few dozen times, not once a second (each time a block a little larger than
 * the one freed: the heap fragmented around them). The contents kept. */
static int grow(result_t *r, result_hist_t *h, uint32_t n)
{
	uint32_t cap = h->cap + h->cap / 2;

	if (n <= h->cap)
		return 0;
	if (cap < n)
		cap = n;
	if (cap < 16)
		cap = 16;
	if (cap > HIST_COUNTS_LEN && n <= HIST_COUNTS_LEN)
		cap = HIST_COUNTS_LEN; /* never more pairs than buckets */
	return reserve(r, h, cap);
}

int result_hist_add(result_t *r, result_hist_t *dst, const result_hist_t *src)
{
	uint32_t n, i, j, k;

	if (result_hist_figures_only(src) || result_hist_figures_only(dst)) {
		add_figures(r, dst, src);
		return 0;
	}
	if (src->total == 0 && src->len == 0)
		return 0;
	n = union_len(dst, src);
	if (n == dst->len) { /* every bucket of src is one of dst's: add in place */
		for (i = 0, j = 0; j < src->len; i++)
			if (dst->buckets[i].index == src->buckets[j].index)
				dst->buckets[i].count += src->buckets[j++].count;
	} else {
		if (grow(r, dst, n) < 0)
			return -ENOMEM;
		/* merged in place from the top down: a pair is written only where the union's
		 * pairs above it have already left, never over one still to be read */
		i = dst->len;
		j = src->len;
		k = n;
		while (j > 0) {
			if (i > 0 && dst->buckets[i - 1].index > src->buckets[j - 1].index) {
				dst->buckets[--k] = dst->buckets[--i];
			} else if (i > 0 &&
			           dst->buckets[i - 1].index == src->buckets[j - 1].index) {
				dst->buckets[--k] = dst->buckets[--i];
				dst->buckets[k].count += src->buckets[--j].count;
			} else {
				dst->buckets[--k] = src->buckets[--j];
			}
		}
		dst->len = n;
	}
	dst->total += src->total;
	dst->sum += src->sum;
	dst->sum_sq += src->sum_sq;
	dst->clamped += src->clamped;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return 0;
}

bool result_hist_equal(const result_hist_t *a, const result_hist_t *b)
{
	if (a->len != b->len || a->total != b->total || a->min != b->min || a->max != b->max)
		return false;
	for (uint32_t i = 0; i < a->len; i++)
		if (a->buckets[i].index != b->buckets[i].index ||
		    a->buckets[i].count != b->buckets[i].count)
			return false;
	return true;
}

int result_hist_written(const result_hist_t *h, hist_t *d)
{
	buf_t v2;
	int rc;

	result_hist_expand(h, d);
	buf_init(&v2, 64u * 1024 * 1024);
	rc = hist_encode(d, &v2);
	if (rc == 0)
		rc = hist_decode(v2.data, v2.len, d);
	buf_free(&v2);
	return rc;
}

/* hist_percentile's rule (core/hist.c) over the pairs: the same figure without a dense
 * expansion, for readers that take many percentiles a second (the live stream). */
int64_t result_hist_percentile(const result_hist_t *h, double p)
{
	uint64_t rank, seen = 0;

	if (h->total == 0)
		return 0;
	if (!(p > 0))
		return h->min;
	if (p >= 100)
		return h->max;
	rank = hist_percentile_rank(h->total, p);
	for (uint32_t i = 0; i < h->len; i++) {
		seen += h->buckets[i].count;
		if (seen >= rank) {
			int64_t v =
			    hist_highest_equivalent(hist_value_at_index((int)h->buckets[i].index));
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

/* The moments by core/hist.c's formulas (hist_mean, hist_stdev) and percentiles by
 * result_hist_percentile: what a dense expansion would give, with none. */
void result_hist_ms(const result_hist_t *h, double ms[9])
{
	static const double pcts[5] = {50, 90, 95, 99, 99.9};
	double n = (double)h->total, mean, var;

	if (h->read && h->len == 0) {
		memcpy(ms, h->read_ms, sizeof(h->read_ms));
		return;
	}
	mean = h->total ? h->sum / n : 0;
	var = h->total ? h->sum_sq / n - mean * mean : 0;
	ms[0] = h->total ? (double)h->min / 1e3 : 0;
	ms[1] = mean / 1e3;
	ms[2] = var > 0 ? sqrt(var) / 1e3 : 0;
	for (int i = 0; i < 5; i++)
		ms[3 + i] = (double)result_hist_percentile(h, pcts[i]) / 1e3;
	ms[8] = (double)h->max / 1e3;
}
