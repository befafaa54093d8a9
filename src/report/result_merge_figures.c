/* result_merge_figures: the merge's building blocks — merging one latency figure set exactly
 * (histograms added, moments from the shards' own exact figures), histogram text in and out,
 * and the small JSON helpers every section of the merge uses. */
#include "report/result_merge_internal.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "result/result_doc.h"

static const struct {
	const char *key;
	double p;
} percentiles[MERGE_PERCENTILES] = {
    {"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};

int merge_fail(merge_t *m, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, m->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* A number rounded to digits decimals, as the run's own writer rounds; null when not finite. */
json_t *merge_real(double v, int digits)
{
	double scale = pow(10, digits);

	return isfinite(v) ? json_real(round(v * scale) / scale) : json_null();
}

json_t *merge_count(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* obj[key] = value, creating nothing when obj is not an object; value is always consumed. */
void merge_put(json_t *obj, const char *key, json_t *value)
{
	if (json_is_object(obj) && value)
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

json_t *merge_append(json_t *array, json_t *value)
{
	return json_array_append_new(array, value) == 0 ? value : NULL;
}

/* obj[key] as an object, created (or replaced when of another type) when missing; NULL when
 * memory ran out (a value jansson could not set, it frees). */
json_t *merge_object_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		if (json_object_set_new(obj, key, v) < 0)
			return NULL;
	}
	return v;
}

/* dst[k] += src[k] for every numeric member of src (status codes, errors by kind, counters). */
void merge_sum_counts(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)src, key, v)
	{
		const json_t *had = json_object_get(dst, key);

		if (!json_is_number(v))
			continue;
		if (json_is_integer(v) && (!had || json_is_integer(had)))
			merge_put(dst, key,
			          merge_count(result_doc_count(dst, key, 0) +
			                      result_doc_value_count(v, 0)));
		else /* custom counters may be fractional */
			merge_put(
			    dst, key,
			    merge_real(result_doc_number(dst, key, 0) + json_number_value(v), 6));
	}
}

int merge_encode(merge_t *m, const hist_t *h, json_t **text)
{
	buf_t b;
	int rc;

	buf_init(&b, MERGE_HIST_TEXT_MAX);
	rc = hist_encode_base64(h, &b);
	*text = rc == 0 ? json_stringn(b.data ? b.data : "", b.len) : NULL;
	buf_free(&b);
	if (rc == 0 && !*text)
		rc = -ENOMEM;
	return rc < 0 ? merge_fail(m, rc, "cannot encode a merged histogram: %s", strerror(-rc))
	              : 0;
}

/* Decodes a histogram value of shard i into m->scratch; 0, 1 when absent, or an error
 * naming the file and the key. */
int merge_decode(merge_t *m, size_t i, const json_t *value, const char *what)
{
	int rc = result_doc_histogram_value(value, m->scratch);

	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return merge_fail(m, rc, "%s: %s: %s", m->names[i], what,
		                  rc == -ENOMEM ? "out of memory" : "malformed histogram");
	return 0;
}

/* ---- latency figures ---- */

void merge_latency_init(latency_merge_t *lm, hist_t *h)
{
	memset(lm, 0, sizeof(*lm));
	lm->hist = h;
	hist_reset(h);
	lm->exact = lm->moments = lm->stdev = true;
	lm->min_ms = INFINITY;
}

/* Adds one shard's figures: stats is its latency object, h its histogram (NULL when it had
 * none: then values says how many it measured). */
void merge_latency_add(latency_merge_t *lm, const json_t *stats, const hist_t *h, uint64_t values)
{
	double min = result_doc_number(stats, "min", NAN),
	       max = result_doc_number(stats, "max", NAN);
	double mean = result_doc_number(stats, "mean", NAN);
	double sd = result_doc_number(stats, "stdev", NAN);

	if (h) {
		hist_merge(lm->hist, h);
		values = h->total;
	} else {
		lm->exact = false;
	}
	if (values == 0)
		return;
	lm->values += values;
	if (isnan(min) || isnan(max) || isnan(mean)) {
		lm->moments = false;
	} else {
		lm->min_ms = fmin(lm->min_ms, min);
		lm->max_ms = fmax(lm->max_ms, max);
		lm->sum_ms += mean * (double)values;
		if (isnan(sd))
			lm->stdev = false;
		else
			lm->sum_sq_ms += (double)values * (sd * sd + mean * mean);
	}
	for (size_t p = 0; p < MERGE_PERCENTILES; p++)
		lm->upper[p] = fmax(lm->upper[p], result_doc_number(stats, percentiles[p].key, 0));
}

/* The union histogram knows its values only to a bucket; the shards knew their min, max,
 * mean and stdev exactly, so the histogram takes those (percentiles still come from counts
 * and are capped at the exact max, as in a single run). */
void merge_latency_settle(latency_merge_t *lm)
{
	hist_t *h = lm->hist;

	if (!lm->exact || !lm->moments || lm->values == 0 || lm->values != h->total)
		return;
	h->min = llround(lm->min_ms * 1e3);
	h->max = llround(lm->max_ms * 1e3);
	h->sum = lm->sum_ms * 1e3;
	if (lm->stdev)
		h->sum_sq = lm->sum_sq_ms * 1e6;
}

/* The latency object ("latency_ms" keys) of the merged figures. */
json_t *merge_latency_json(latency_merge_t *lm)
{
	const hist_t *h = lm->hist;
	json_t *o = json_object();
	double mean;

	merge_latency_settle(lm);
	if (lm->exact) {
		merge_put(o, "min", merge_real(h->total ? h->min / 1e3 : 0, 3));
		merge_put(o, "mean", merge_real(hist_mean(h) / 1e3, 3));
		merge_put(o, "stdev", merge_real(hist_stdev(h) / 1e3, 3));
		for (size_t p = 0; p < MERGE_PERCENTILES; p++)
			merge_put(o, percentiles[p].key,
			          merge_real(hist_percentile(h, percentiles[p].p) / 1e3, 3));
		merge_put(o, "max", merge_real(h->max / 1e3, 3));
		return o;
	}
	/* no histogram to merge (an older shard): exact moments, percentiles as upper bounds */
	mean = lm->values ? lm->sum_ms / (double)lm->values : 0;
	merge_put(o, "min", merge_real(lm->values ? lm->min_ms : 0, 3));
	merge_put(o, "mean", merge_real(mean, 3));
	merge_put(o, "stdev",
	          merge_real(lm->values && lm->stdev
	                         ? sqrt(fmax(0, lm->sum_sq_ms / (double)lm->values - mean * mean))
	                         : 0,
	                     3));
	for (size_t p = 0; p < MERGE_PERCENTILES; p++)
		merge_put(o, percentiles[p].key, merge_real(fmin(lm->upper[p], lm->max_ms), 3));
	merge_put(o, "max", merge_real(lm->values ? lm->max_ms : 0, 3));
	merge_put(o, "approximate", json_true());
	return o;
}

double merge_per_second(uint64_t n, double duration_s)
{
	return duration_s > 0 ? (double)n / duration_s : 0;
}
