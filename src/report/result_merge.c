/* result_merge: the shards of one run merged into the document of the whole. The merged
 * document starts as a copy of the first shard (so keys this file does not know survive) and
 * every section that describes the run's figures is then recomputed from all shards:
 * counters summed, histograms decoded and added, latency figures read from the union,
 * timelines aligned by wall-clock second, thresholds and the assessment judged again. */
#include "report/result_merge.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "report/result_doc.h"
#include "report/thresholds.h"

#define HIST_TEXT_MAX (16u * 1024 * 1024)
#define KEY_MAX       512

static const struct {
	const char *key;
	double p;
} percentiles[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};
#define PERCENTILE_COUNT (sizeof(percentiles) / sizeof(percentiles[0]))

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

/* One latency figure set (latency_ms of the run, of an endpoint, a trend) being merged:
 * the union of the shards' histograms for percentiles, and the shards' own exact min, max,
 * mean and stdev for the moments the histogram keeps only to its buckets' precision. */
typedef struct latency_merge {
	hist_t *hist;
	bool exact;   /* every shard had its histogram */
	bool moments; /* every shard with values gave min, mean and max */
	bool stdev;   /* ... and stdev */
	uint64_t values;
	double min_ms, max_ms, sum_ms, sum_sq_ms;
	double upper[PERCENTILE_COUNT]; /* without histograms: each percentile's largest figure */
} latency_merge_t;

static int fail(merge_t *m, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(merge_t *m, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, m->errlen, fmt, ap);
	va_end(ap);
	return rc;
}

/* A number rounded to digits decimals, as the run's own writer rounds; null when not finite. */
static json_t *real(double v, int digits)
{
	double scale = pow(10, digits);

	return isfinite(v) ? json_real(round(v * scale) / scale) : json_null();
}

static json_t *count(uint64_t v)
{
	return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* obj[key] = value, creating nothing when obj is not an object; value is always consumed. */
static void put(json_t *obj, const char *key, json_t *value)
{
	if (json_is_object(obj) && value)
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

/* obj[key] as an object, created (or replaced when of another type) when missing. */
static json_t *object_at(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

/* dst[k] += src[k] for every numeric member of src (status codes, errors by kind, counters). */
static void sum_counts(json_t *dst, const json_t *src)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)src, key, v)
	{
		if (json_is_number(v))
			put(dst, key,
			    count(result_doc_count(dst, key, 0) + result_doc_value_count(v, 0)));
	}
}

static int encode(merge_t *m, const hist_t *h, json_t **text)
{
	buf_t b;
	int rc;

	buf_init(&b, HIST_TEXT_MAX);
	rc = hist_encode_base64(h, &b);
	*text = rc == 0 ? json_stringn(b.data ? b.data : "", b.len) : NULL;
	buf_free(&b);
	if (rc == 0 && !*text)
		rc = -ENOMEM;
	return rc < 0 ? fail(m, rc, "cannot encode a merged histogram: %s", strerror(-rc)) : 0;
}

/* Decodes a histogram value of shard i into m->scratch; 0, 1 when absent, or an error
 * naming the file and the key. */
static int decode(merge_t *m, size_t i, const json_t *value, const char *what)
{
	int rc = result_doc_histogram_value(value, m->scratch);

	if (rc == -ENOENT)
		return 1;
	if (rc < 0)
		return fail(m, rc, "%s: %s: %s", m->names[i], what,
		            rc == -ENOMEM ? "out of memory" : "malformed histogram");
	return 0;
}

/* ---- latency figures ---- */

static void latency_init(latency_merge_t *lm, hist_t *h)
{
	memset(lm, 0, sizeof(*lm));
	lm->hist = h;
	hist_reset(h);
	lm->exact = lm->moments = lm->stdev = true;
	lm->min_ms = INFINITY;
}

/* Adds one shard's figures: stats is its latency object, h its histogram (NULL when it had
 * none: then values says how many it measured). */
static void latency_add(latency_merge_t *lm, const json_t *stats, const hist_t *h, uint64_t values)
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
	for (size_t p = 0; p < PERCENTILE_COUNT; p++)
		lm->upper[p] = fmax(lm->upper[p], result_doc_number(stats, percentiles[p].key, 0));
}

/* The union histogram knows its values only to a bucket; the shards knew their min, max,
 * mean and stdev exactly, so the histogram takes those (percentiles still come from counts
 * and are capped at the exact max, as in a single run). */
static void latency_settle(latency_merge_t *lm)
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
static json_t *latency_json(latency_merge_t *lm)
{
	const hist_t *h = lm->hist;
	json_t *o = json_object();
	double mean;

	latency_settle(lm);
	if (lm->exact) {
		put(o, "min", real(h->total ? h->min / 1e3 : 0, 3));
		put(o, "mean", real(hist_mean(h) / 1e3, 3));
		put(o, "stdev", real(hist_stdev(h) / 1e3, 3));
		for (size_t p = 0; p < PERCENTILE_COUNT; p++)
			put(o, percentiles[p].key,
			    real(hist_percentile(h, percentiles[p].p) / 1e3, 3));
		put(o, "max", real(h->max / 1e3, 3));
		return o;
	}
	/* no histogram to merge (an older shard): exact moments, percentiles as upper bounds */
	mean = lm->values ? lm->sum_ms / (double)lm->values : 0;
	put(o, "min", real(lm->values ? lm->min_ms : 0, 3));
	put(o, "mean", real(mean, 3));
	put(o, "stdev",
	    real(lm->values && lm->stdev
	             ? sqrt(fmax(0, lm->sum_sq_ms / (double)lm->values - mean * mean))
	             : 0,
	         3));
	for (size_t p = 0; p < PERCENTILE_COUNT; p++)
		put(o, percentiles[p].key, real(fmin(lm->upper[p], lm->max_ms), 3));
	put(o, "max", real(lm->values ? lm->max_ms : 0, 3));
	put(o, "approximate", json_true());
	return o;
}

/* ---- the run: identity, span, totals ---- */

static int check_same_run(merge_t *m)
{
	static const char *const keys[] = {"url", "method", "scenario"};
	const json_t *first = result_doc_object(m->docs[0], "config");

	for (size_t i = 1; i < m->n; i++) {
		const json_t *cfg = result_doc_object(m->docs[i], "config");

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			const char *a = result_doc_string(first, keys[k], "");
			const char *b = result_doc_string(cfg, keys[k], "");

			if (strcmp(a, b) != 0)
				return fail(
				    m, -EINVAL,
				    "%s: config.%s '%s' differs from %s's '%s' (merge takes "
				    "the shards of one run)",
				    m->names[i], keys[k], b, m->names[0], a);
		}
	}
	return 0;
}

/* Start offsets and the whole's duration. Without a parseable started_at in every shard the
 * shards are taken to have started together. */
static void compute_span(merge_t *m)
{
	double earliest = INFINITY, *start = calloc(m->n, sizeof(double));
	bool all = start != NULL;
	size_t first = 0;

	for (size_t i = 0; all && i < m->n; i++) {
		all = result_doc_started_at(m->docs[i], &start[i]);
		if (all && start[i] < earliest) {
			earliest = start[i];
			first = i;
		}
	}
	m->duration_s = 0;
	for (size_t i = 0; i < m->n; i++) {
		m->offset_s[i] = all ? start[i] - earliest : 0;
		m->duration_s = fmax(
		    m->duration_s, m->offset_s[i] + result_doc_number(m->docs[i], "duration_s", 0));
	}
	if (all)
		put(m->out, "started_at",
		    json_string(result_doc_string(m->docs[first], "started_at", "")));
	put(m->out, "duration_s", real(m->duration_s, 3));
	free(start);
}

static double per_second(uint64_t n, double duration_s)
{
	return duration_s > 0 ? (double)n / duration_s : 0;
}

static void merge_totals(merge_t *m)
{
	static const char *const summed[] = {"requests",  "responses", "errors", "bytes_in",
	                                     "bytes_out", "dropped",   "late"};
	json_t *totals = object_at(m->out, "totals");
	bool interrupted = false;
	uint64_t requests, errors;

	for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < m->n; i++)
			sum +=
			    result_doc_count(result_doc_object(m->docs[i], "totals"), summed[k], 0);
		put(totals, summed[k], count(sum));
	}
	requests = result_doc_count(totals, "requests", 0);
	errors = result_doc_count(totals, "errors", 0);
	put(totals, "error_rate", real(requests ? (double)errors / (double)requests : 0, 6));
	put(totals, "rps", real(per_second(requests, m->duration_s), 3));

	json_object_set_new(m->out, "status_codes", json_object());
	json_object_set_new(m->out, "errors_by_kind", json_object());
	for (size_t i = 0; i < m->n; i++) {
		sum_counts(object_at(m->out, "status_codes"),
		           result_doc_object(m->docs[i], "status_codes"));
		sum_counts(object_at(m->out, "errors_by_kind"),
		           result_doc_object(m->docs[i], "errors_by_kind"));
		interrupted |= result_doc_bool(m->docs[i], "interrupted", false);
	}
	put(m->out, "interrupted", json_boolean(interrupted));
}

/* The config of the whole: each shard took its share of users and rate. */
static void merge_config(merge_t *m)
{
	static const char *const summed[] = {"connections", "rate", "requests", "users", "threads"};
	json_t *cfg = json_object_get(m->out, "config");

	for (size_t k = 0; json_is_object(cfg) && k < sizeof(summed) / sizeof(summed[0]); k++) {
		double sum = 0;

		if (!json_is_number(json_object_get(cfg, summed[k])))
			continue;
		for (size_t i = 0; i < m->n; i++)
			sum += result_doc_number(result_doc_object(m->docs[i], "config"), summed[k],
			                         0);
		put(cfg, summed[k],
		    json_is_integer(json_object_get(cfg, summed[k])) ? count((uint64_t)sum)
		                                                     : real(sum, 3));
	}
	json_object_del(cfg, "shard");
}

/* ---- latency of the run and of its endpoints ---- */

/* Merges histograms[key] of every shard where present[i] into lm, with stats[i] its latency
 * object and values[i] how many values it measured (used only without a histogram). A shard
 * without histograms[key] whose only endpoint this is lends its "all" (documents written
 * before per-endpoint histograms). */
static int merge_latency_of(merge_t *m, latency_merge_t *lm, const char *key, const bool *present,
                            const json_t *const *stats, const uint64_t *values)
{
	char what[KEY_MAX + 16];

	snprintf(what, sizeof(what), "histograms[\"%s\"]", key);
	for (size_t i = 0; i < m->n; i++) {
		const json_t *hists = result_doc_object(m->docs[i], "histograms");
		const json_t *text = result_doc_get(hists, key);
		int rc;

		if (!present[i])
			continue;
		if (!text && strcmp(key, "all") != 0 &&
		    json_array_size(result_doc_array(m->docs[i], "endpoints")) == 1)
			text = result_doc_get(hists, "all");
		rc = decode(m, i, text, what);
		if (rc < 0)
			return rc;
		latency_add(lm, stats[i], rc == 0 ? m->scratch : NULL, values[i]);
	}
	return 0;
}

/* Per-shard arrays for merge_latency_of. */
typedef struct shard_figures {
	bool *present;
	const json_t **stats;
	uint64_t *values;
} shard_figures_t;

static int figures_alloc(shard_figures_t *f, size_t n)
{
	f->present = calloc(n, sizeof(*f->present));
	f->stats = calloc(n, sizeof(*f->stats));
	f->values = calloc(n, sizeof(*f->values));
	return f->present && f->stats && f->values ? 0 : -ENOMEM;
}

static void figures_free(shard_figures_t *f)
{
	free(f->present);
	free(f->stats);
	free(f->values);
}

/* latency_ms and histograms.all into run (kept for the verdicts), service_ms with lm. */
static int merge_run_latency(merge_t *m, latency_merge_t *run, latency_merge_t *lm)
{
	shard_figures_t f;
	json_t *text;
	int rc = figures_alloc(&f, m->n);

	if (rc < 0) {
		rc = fail(m, rc, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (!result_doc_get(result_doc_object(m->docs[i], "histograms"), "all")) {
			rc = fail(m, -EINVAL,
			          "%s: no histograms.all: its latencies cannot be merged",
			          m->names[i]);
			goto out;
		}
		f.present[i] = true;
		f.stats[i] = result_doc_object(m->docs[i], "latency_ms");
	}
	latency_init(run, run->hist);
	if ((rc = merge_latency_of(m, run, "all", f.present, f.stats, f.values)) < 0)
		goto out;
	put(m->out, "latency_ms", latency_json(run));
	if ((rc = encode(m, run->hist, &text)) < 0)
		goto out;
	put(object_at(m->out, "histograms"), "all", text);

	/* service time has no histogram in the document: exact moments, bounded percentiles */
	if (json_object_get(m->out, "service_ms")) {
		latency_init(lm, lm->hist);
		for (size_t i = 0; i < m->n; i++)
			latency_add(lm, result_doc_object(m->docs[i], "service_ms"), NULL,
			            result_doc_count(result_doc_object(m->docs[i], "totals"),
			                             "responses", 0));
		put(m->out, "service_ms", latency_json(lm));
	}
out:
	figures_free(&f);
	return rc;
}

/* The endpoint of shard i with this "METHOD name" key, or NULL. */
static const json_t *find_endpoint(const json_t *doc, const char *key)
{
	const json_t *eps = result_doc_array(doc, "endpoints"), *ep;
	char k[KEY_MAX];
	size_t i;

	json_array_foreach(eps, i, ep)
	{
		result_doc_endpoint_key(ep, k, sizeof(k));
		if (strcmp(k, key) == 0)
			return ep;
	}
	return NULL;
}

/* Merges the latency of endpoint key ("METHOD name") over the shards into lm, and sums its
 * requests and errors. */
static int merge_endpoint_latency(merge_t *m, const char *key, latency_merge_t *lm,
                                  uint64_t *requests, uint64_t *errors)
{
	shard_figures_t f;
	int rc = figures_alloc(&f, m->n);

	if (rc == 0) {
		for (size_t i = 0; i < m->n; i++) {
			const json_t *ep = find_endpoint(m->docs[i], key);

			f.present[i] = ep != NULL;
			f.stats[i] = result_doc_object(ep, "latency_ms");
			f.values[i] = result_doc_count(ep, "requests", 0);
			*requests += f.values[i];
			*errors += result_doc_count(ep, "errors", 0);
		}
		rc = merge_latency_of(m, lm, key, f.present, f.stats, f.values);
	} else {
		rc = fail(m, rc, "out of memory");
	}
	figures_free(&f);
	return rc;
}

/* endpoints[]: one per (method, name) over all shards, in order of first appearance. */
static int merge_endpoints(merge_t *m, latency_merge_t *lm)
{
	static const char *const summed[] = {"requests", "responses", "errors", "bytes_in",
	                                     "bytes_out"};
	json_t *merged = json_array();
	char key[KEY_MAX];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		const json_t *ep;
		size_t e;

		json_array_foreach(result_doc_array(m->docs[i], "endpoints"), e, ep)
		{
			uint64_t requests = 0, errors = 0;
			json_t *out, *text;
			bool seen = false;

			result_doc_endpoint_key(ep, key, sizeof(key));
			for (size_t j = 0; j < i && !seen; j++)
				seen = find_endpoint(m->docs[j], key) != NULL;
			if (seen)
				continue;
			out = json_deep_copy(ep);
			json_array_append_new(merged, out);
			latency_init(lm, lm->hist);
			rc = merge_endpoint_latency(m, key, lm, &requests, &errors);
			if (rc < 0)
				break;
			for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
				uint64_t sum = 0;

				if (!json_object_get(out, summed[k]))
					continue;
				for (size_t j = 0; j < m->n; j++)
					sum += result_doc_count(find_endpoint(m->docs[j], key),
					                        summed[k], 0);
				put(out, summed[k], count(sum));
			}
			put(out, "rps", real(per_second(requests, m->duration_s), 3));
			if (json_object_get(out, "error_rate"))
				put(out, "error_rate",
				    real(requests ? (double)errors / (double)requests : 0, 6));
			json_object_del(out, "status_codes");
			json_object_del(out, "errors_by_kind");
			for (size_t j = 0; j < m->n; j++) {
				const json_t *src = find_endpoint(m->docs[j], key);

				if (result_doc_object(src, "status_codes"))
					sum_counts(object_at(out, "status_codes"),
					           result_doc_object(src, "status_codes"));
				if (result_doc_object(src, "errors_by_kind"))
					sum_counts(object_at(out, "errors_by_kind"),
					           result_doc_object(src, "errors_by_kind"));
			}
			put(out, "latency_ms", latency_json(lm));
			if (lm->exact && (rc = encode(m, lm->hist, &text)) == 0)
				put(object_at(m->out, "histograms"), key, text);
		}
	}
	put(m->out, "endpoints", merged);
	return rc;
}

/* Histograms of other keys (written by newer surges) merged as plain unions. */
static int merge_other_histograms(merge_t *m, hist_t *sum)
{
	json_t *out = object_at(m->out, "histograms");

	for (size_t i = 0; i < m->n; i++) {
		const char *key;
		json_t *v, *text;

		json_object_foreach((json_t *)result_doc_object(m->docs[i], "histograms"), key, v)
		{
			int rc;

			if (json_object_get(out, key) || find_endpoint(m->docs[i], key))
				continue;
			hist_reset(sum);
			for (size_t j = 0; j < m->n; j++) {
				rc = decode(m, j,
				            result_doc_get(
				                result_doc_object(m->docs[j], "histograms"), key),
				            key);
				if (rc < 0)
					return rc;
				if (rc == 0)
					hist_merge(sum, m->scratch);
			}
			if ((rc = encode(m, sum, &text)) < 0)
				return rc;
			put(out, key, text);
		}
	}
	return 0;
}

/* ---- timeline ---- */

/* Each shard's points placed on the whole's seconds: a point that started s seconds after
 * the earliest shard's start (rounded) lands in slot s, so the merged point t = s + 1 holds
 * what every shard did in that wall-clock second. Slots only grow within a shard. */
static long *timeline_slots(merge_t *m, size_t i, size_t *len, long *last)
{
	const json_t *tl = result_doc_array(m->docs[i], "timeline");
	long *slots, prev = -1;

	*len = json_array_size(tl);
	slots = calloc(*len ? *len : 1, sizeof(long));
	for (size_t k = 0; slots && k < *len; k++) {
		long s = lround(m->offset_s[i] + result_doc_point_start(tl, k));

		slots[k] = s > prev ? s : prev + 1;
		prev = slots[k];
		if (prev > *last)
			*last = prev;
	}
	return slots;
}

/* One merged second from the points of the shards that ran during it (points[i] or NULL). */
static int merge_point(merge_t *m, const json_t **points, long slot, hist_t *sum, json_t **out)
{
	static const char *const summed[] = {"users",   "requests", "errors",   "late",
	                                     "dropped", "bytes_in", "bytes_out"};
	static const char *const pkeys[] = {"p50_ms", "p95_ms", "p99_ms"};
	static const double pvalues[] = {50, 95, 99};
	double start = (double)slot, end = start + 1, target = 0, upper[3] = {0, 0, 0};
	bool hists = true;
	json_t *p = NULL;
	int rc;

	hist_reset(sum);
	for (size_t i = 0; i < m->n; i++) {
		if (!points[i])
			continue;
		if (!p)
			p = json_deep_copy(
			    points[i]); /* keeps what is not summed (scraped figures) */
		target += result_doc_number(points[i], "target", 0);
		for (size_t k = 0; k < 3; k++)
			upper[k] = fmax(upper[k], result_doc_number(points[i], pkeys[k], 0));
		rc = decode(m, i, result_doc_get(points[i], "hist"), "timeline[].hist");
		if (rc < 0) {
			json_decref(p);
			return rc;
		}
		if (rc == 0)
			hist_merge(sum, m->scratch);
		else
			hists = false;
	}
	if (!p)
		p = json_object(); /* a second when no shard ran */
	/* the last second may be shorter, as in a single run */
	if (m->duration_s > start && m->duration_s < end)
		end = m->duration_s;
	put(p, "t", real(end, 3));
	for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
		bool reported = k < 3; /* users, requests, errors; the rest when shards have them */
		uint64_t n = 0;

		for (size_t i = 0; i < m->n; i++) {
			reported |= result_doc_get(points[i], summed[k]) != NULL;
			n += result_doc_count(points[i], summed[k], 0);
		}
		if (reported)
			put(p, summed[k], count(n));
	}
	put(p, "target", real(target, 3));
	put(p, "rps", real(per_second(result_doc_count(p, "requests", 0), end - start), 3));
	json_object_del(p, "hist");
	for (size_t k = 0; k < 3; k++)
		put(p, pkeys[k],
		    real(hists ? hist_percentile(sum, pvalues[k]) / 1e3 : upper[k], 3));
	if (hists && sum->total > 0) {
		json_t *text;

		if ((rc = encode(m, sum, &text)) < 0) {
			json_decref(p);
			return rc;
		}
		put(p, "hist", text);
	}
	*out = p;
	return 0;
}

static int merge_timeline(merge_t *m, hist_t *sum)
{
	long **slots = calloc(m->n, sizeof(*slots)), last = -1;
	size_t *len = calloc(m->n, sizeof(*len)), *at = calloc(m->n, sizeof(*at));
	const json_t **points = calloc(m->n, sizeof(*points));
	json_t *timeline = json_array();
	int rc = 0;

	if (!slots || !len || !at || !points || !timeline)
		rc = fail(m, -ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < m->n; i++)
		if (!(slots[i] = timeline_slots(m, i, &len[i], &last)))
			rc = fail(m, -ENOMEM, "out of memory");
	for (long s = 0; rc == 0 && s <= last; s++) {
		json_t *p;

		for (size_t i = 0; i < m->n; i++) {
			const json_t *tl = result_doc_array(m->docs[i], "timeline");

			while (at[i] < len[i] && slots[i][at[i]] < s)
				at[i]++;
			points[i] = at[i] < len[i] && slots[i][at[i]] == s
			                ? json_array_get(tl, at[i])
			                : NULL;
		}
		if ((rc = merge_point(m, points, s, sum, &p)) == 0)
			json_array_append_new(timeline, p);
	}
	put(m->out, "timeline", timeline);
	for (size_t i = 0; slots && i < m->n; i++)
		free(slots[i]);
	free(slots);
	free(len);
	free(at);
	free(points);
	return rc;
}

/* ---- checks, custom metrics, generator ---- */

/* checks[]: {name, passes, fails} summed by name, in order of first appearance. */
static void merge_checks(merge_t *m)
{
	json_t *merged = json_array();
	bool any = false;

	for (size_t i = 0; i < m->n; i++) {
		const json_t *c;
		size_t k;

		any |= result_doc_array(m->docs[i], "checks") != NULL;
		json_array_foreach(result_doc_array(m->docs[i], "checks"), k, c)
		{
			const char *name = result_doc_string(c, "name", "");
			json_t *into = NULL, *e;
			size_t j;

			json_array_foreach(merged, j, e)
			{
				if (strcmp(result_doc_string(e, "name", ""), name) == 0)
					into = e;
			}
			if (!into) {
				into = json_deep_copy(c);
				put(into, "passes", count(0));
				put(into, "fails", count(0));
				json_array_append_new(merged, into);
			}
			put(into, "passes",
			    count(result_doc_count(into, "passes", 0) +
			          result_doc_count(c, "passes", 0)));
			put(into, "fails",
			    count(result_doc_count(into, "fails", 0) +
			          result_doc_count(c, "fails", 0)));
		}
	}
	if (any)
		put(m->out, "checks", merged);
	else
		json_decref(merged);
}

/* The unit of a trend's histogram relative to its figures (1000 when it records µs of figures
 * in ms, as latencies do), from the shard's own p50; 1000 when nothing tells. */
static double trend_scale(const json_t *trend, const hist_t *h)
{
	double p50 = result_doc_number(trend, "p50", 0), ratio;

	if (!(p50 > 0) || h->total == 0)
		return 1000;
	ratio = (double)hist_percentile(h, 50) / p50;
	return ratio > 3e4 ? 1e6 : ratio > 30 ? 1e3 : 1;
}

/* One trend over the shards: count summed, min/max/mean exact, percentiles from the union
 * of its histograms (or the largest shard figure, flagged, without them). */
static int merge_trend(merge_t *m, const char *name, json_t *out, hist_t *sum)
{
	static const char *const keys[] = {"p50", "p90", "p95", "p99"};
	static const double pvalues[] = {50, 90, 95, 99};
	double scale = 0, min = INFINITY, max = -INFINITY, total = 0, upper[4] = {0};
	bool hists = true;
	uint64_t n = 0;
	json_t *text;
	int rc;

	hist_reset(sum);
	for (size_t i = 0; i < m->n; i++) {
		const json_t *t = result_doc_object(
		    result_doc_object(result_doc_object(m->docs[i], "metrics"), "trends"), name);
		uint64_t c = result_doc_count(t, "count", 0);

		if (!t)
			continue;
		rc = decode(m, i, result_doc_get(t, "histogram"), "metrics.trends histogram");
		if (rc < 0)
			return rc;
		if (rc == 0) {
			if (scale == 0 && c > 0)
				scale = trend_scale(t, m->scratch);
			hist_merge(sum, m->scratch);
		} else {
			hists = false;
		}
		if (c == 0)
			continue;
		n += c;
		total += result_doc_number(t, "mean", 0) * (double)c;
		min = fmin(min, result_doc_number(t, "min", INFINITY));
		max = fmax(max, result_doc_number(t, "max", -INFINITY));
		for (size_t k = 0; k < 4; k++)
			upper[k] = fmax(upper[k], result_doc_number(t, keys[k], 0));
	}
	if (scale == 0)
		scale = 1000;
	put(out, "count", count(n));
	put(out, "min", real(n && isfinite(min) ? min : 0, 3));
	put(out, "mean", real(n ? total / (double)n : 0, 3));
	put(out, "max", real(n && isfinite(max) ? max : 0, 3));
	for (size_t k = 0; k < 4; k++) {
		double v = hists ? hist_percentile(sum, pvalues[k]) / scale : upper[k];

		put(out, keys[k], real(n ? fmin(v, max) : 0, 3));
	}
	if (!hists) {
		json_object_del(out, "histogram");
		put(out, "approximate", json_true());
		return 0;
	}
	if ((rc = encode(m, sum, &text)) < 0)
		return rc;
	put(out, "histogram", text);
	return 0;
}

/* metrics: counters summed by name, trends merged by name. */
static int merge_metrics(merge_t *m, hist_t *sum)
{
	json_t *metrics = json_object(), *counters = json_object(), *trends = json_object();
	bool any = false;
	int rc = 0;

	put(metrics, "counters", counters);
	put(metrics, "trends", trends);
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		const json_t *mt = result_doc_object(m->docs[i], "metrics"), *t;
		const char *name;

		any |= mt != NULL;
		sum_counts(counters, result_doc_object(mt, "counters"));
		json_object_foreach((json_t *)result_doc_object(mt, "trends"), name, t)
		{
			json_t *out;

			if (json_object_get(trends, name) || !json_is_object(t))
				continue;
			out = json_deep_copy(t);
			put(trends, name, out);
			rc = merge_trend(m, name, out, sum);
			if (rc < 0)
				break;
		}
	}
	if (any && rc == 0)
		put(m->out, "metrics", metrics);
	else
		json_decref(metrics);
	return rc;
}

/* generator: CPU and threads add up, memory and lag are each process's own (the largest),
 * and the whole is saturated when any shard was. */
static void merge_generator(merge_t *m)
{
	json_t *g = json_object_get(m->out, "generator"), *thread_cpu = json_array();
	double cpu = 0, thread_max = 0, rss = 0, lag_p99 = 0, lag_max = 0;
	uint64_t threads = 0, connections = 0;
	bool saturated = false;

	if (!json_is_object(g)) {
		json_decref(thread_cpu);
		return;
	}
	for (size_t i = 0; i < m->n; i++) {
		const json_t *s = result_doc_object(m->docs[i], "generator"), *v;
		size_t k;

		cpu += result_doc_number(s, "cpu_s", 0);
		rss = fmax(rss, result_doc_number(s, "max_rss_bytes", 0));
		threads += result_doc_count(s, "threads", 0);
		connections += result_doc_count(s, "connections", 0);
		thread_max = fmax(thread_max, result_doc_number(s, "thread_cpu_max", 0));
		lag_p99 = fmax(lag_p99, result_doc_number(s, "sched_lag_p99_us", 0));
		lag_max = fmax(lag_max, result_doc_number(s, "sched_lag_max_us", 0));
		saturated |= result_doc_bool(s, "saturated", false);
		json_array_foreach(result_doc_array(s, "thread_cpu"), k, v)
		{
			json_array_append(thread_cpu, (json_t *)v);
		}
	}
	put(g, "cpu_s", real(cpu, 3));
	put(g, "max_rss_bytes", count((uint64_t)rss));
	put(g, "threads", count(threads));
	put(g, "connections", count(connections));
	put(g, "thread_cpu_max", real(thread_max, 3));
	put(g, "thread_cpu", thread_cpu);
	put(g, "sched_lag_p99_us", count((uint64_t)lag_p99)); /* an upper bound: the worst shard */
	put(g, "sched_lag_max_us", count((uint64_t)lag_max));
	put(g, "saturated", json_boolean(saturated));
}

/* ---- verdicts ---- */

/* The figures a threshold on endpoint name is checked against: every merged endpoint of
 * that name (any method). false when no shard ran it. */
static int endpoint_figures(merge_t *m, const char *name, latency_merge_t *lm,
                            threshold_figures_t *f, bool *found)
{
	const json_t *ep;
	hist_t *union_hist = calloc(1, sizeof(hist_t));
	size_t i;
	int rc = 0;

	if (!union_hist)
		return fail(m, -ENOMEM, "out of memory");
	hist_reset(union_hist);
	*found = false;
	f->requests = f->errors = 0;
	json_array_foreach(json_object_get(m->out, "endpoints"), i, ep)
	{
		char key[KEY_MAX];

		if (strcmp(result_doc_string(ep, "name", ""), name) != 0)
			continue;
		*found = true;
		result_doc_endpoint_key(ep, key, sizeof(key));
		latency_init(lm, lm->hist);
		if ((rc = merge_endpoint_latency(m, key, lm, &f->requests, &f->errors)) < 0)
			break;
		latency_settle(lm);
		if (!lm->exact) /* a shard without its histogram: no exact figure, so it fails */
			*found = false;
		hist_merge(union_hist, lm->hist);
	}
	memcpy(lm->hist, union_hist, sizeof(hist_t));
	free(union_hist);
	return rc;
}

/* Every threshold of any shard (once per expression), checked on the whole. */
static int merge_thresholds(merge_t *m, latency_merge_t *run, latency_merge_t *lm, bool *ok)
{
	const json_t *totals = json_object_get(m->out, "totals");
	json_t *merged = json_array();
	char perr[256];
	int rc = 0;

	*ok = true;
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		const json_t *th, *e;
		size_t k, j;

		json_array_foreach(result_doc_array(m->docs[i], "thresholds"), k, th)
		{
			const char *expr = result_doc_string(th, "expr", "");
			threshold_figures_t f = {.latency = run->hist,
			                         .requests =
			                             result_doc_count(totals, "requests", 0),
			                         .errors = result_doc_count(totals, "errors", 0),
			                         .duration_s = m->duration_s};
			bool seen = false, found = true, passed;
			threshold_t t;
			double value;
			json_t *out;

			json_array_foreach(merged, j, e)
			{
				seen |= strcmp(result_doc_string(e, "expr", ""), expr) == 0;
			}
			if (seen)
				continue;
			if (threshold_parse(expr, &t, perr, sizeof(perr)) < 0) {
				rc = fail(m, -EINVAL, "%s: thresholds: %s", m->names[i], perr);
				break;
			}
			if (t.endpoint[0]) {
				rc = endpoint_figures(m, t.endpoint, lm, &f, &found);
				if (rc < 0)
					break;
				f.latency = lm->hist;
			}
			passed = found && threshold_check(&t, &f, &value);
			if (!found)
				value = NAN; /* an endpoint that never ran fails its thresholds */
			out = json_deep_copy(th);
			put(out, "value", real(value, 6));
			put(out, "ok", json_boolean(passed));
			json_array_append_new(merged, out);
			*ok &= passed;
		}
	}
	put(m->out, "thresholds", merged);
	return rc;
}

/* The seeds' assessment of the whole, with the targets the shards were judged by. */
static void merge_assessment(merge_t *m, const hist_t *all, bool thresholds_ok)
{
	const json_t *totals = json_object_get(m->out, "totals");
	const json_t *targets = result_doc_path(m->docs[0], "assessment.targets");
	json_t *a = object_at(m->out, "assessment");
	assess_targets_t t;
	assessment_t s;
	bool aborted = false;

	assess_defaults(&t);
	t.p95_ms = result_doc_number(targets, "p95_ms", t.p95_ms);
	t.max_error_rate = result_doc_number(targets, "max_error_rate", t.max_error_rate);
	t.min_rps = result_doc_number(targets, "min_rps", t.min_rps);
	for (size_t i = 0; i < m->n; i++)
		aborted |=
		    result_doc_bool(result_doc_object(m->docs[i], "assessment"), "aborted", false);
	assess_run(&t, all->total ? hist_percentile(all, 95) / 1e3 : NAN,
	           result_doc_number(totals, "rps", 0), result_doc_number(totals, "error_rate", 0),
	           thresholds_ok, &s);
	put(a, "verdict", json_string(s.pass ? "PASS" : "FAIL"));
	put(a, "latency_class", json_string(s.latency_class));
	put(a, "latency", json_string(s.latency_ok ? "PASS" : "FAIL"));
	put(a, "throughput", json_string(s.throughput_ok ? "PASS" : "FAIL"));
	put(a, "error_rate", json_string(s.errors_ok ? "PASS" : "FAIL"));
	put(a, "thresholds", json_string(s.thresholds_ok ? "PASS" : "FAIL"));
	put(a, "p95_ms", real(s.p95_ms, 3));
	put(a, "aborted", json_boolean(aborted));
	if (!json_object_get(a, "targets")) {
		json_t *o = json_object();

		put(o, "p95_ms", real(t.p95_ms, 3));
		put(o, "max_error_rate", real(t.max_error_rate, 6));
		put(o, "min_rps", real(t.min_rps, 3));
		put(a, "targets", o);
	}
}

/* ---- the whole ---- */

static int merge_all(merge_t *m, latency_merge_t *run, latency_merge_t *lm)
{
	json_t *from;
	bool thresholds_ok;
	int rc;

	if ((rc = check_same_run(m)) < 0)
		return rc;
	compute_span(m);
	merge_config(m);
	merge_totals(m);
	json_object_set_new(m->out, "histograms", json_object());
	if ((rc = merge_run_latency(m, run, lm)) < 0 || (rc = merge_endpoints(m, lm)) < 0 ||
	    (rc = merge_other_histograms(m, lm->hist)) < 0 ||
	    (rc = merge_timeline(m, lm->hist)) < 0 || (rc = merge_metrics(m, lm->hist)) < 0)
		return rc;
	merge_checks(m);
	merge_generator(m);
	if ((rc = merge_thresholds(m, run, lm, &thresholds_ok)) < 0)
		return rc;
	merge_assessment(m, run->hist, thresholds_ok);
	/* computed from one shard's figures: they do not describe the whole */
	json_object_del(m->out, "recommendations");
	from = json_array();
	for (size_t i = 0; i < m->n; i++)
		json_array_append_new(from, json_string(m->names[i]));
	put(m->out, "merged_from", from);
	put(m->out, "shards", count(m->n));
	return 0;
}

json_t *result_merge(json_t *const *docs, const char *const *names, size_t n, char *err,
                     size_t errlen)
{
	merge_t m = {.docs = docs, .names = names, .n = n, .err = err, .errlen = errlen};
	latency_merge_t run, lm;
	hist_t *hists = NULL;
	int rc = -ENOMEM;

	if (n == 0) {
		snprintf(err, errlen, "nothing to merge");
		return NULL;
	}
	m.out = json_deep_copy(docs[0]);
	m.offset_s = calloc(n, sizeof(double));
	hists = calloc(3, sizeof(hist_t));
	if (m.out && m.offset_s && hists) {
		m.scratch = &hists[0];
		latency_init(&run, &hists[1]);
		latency_init(&lm, &hists[2]);
		rc = merge_all(&m, &run, &lm);
	} else {
		snprintf(err, errlen, "out of memory");
	}
	free(hists);
	free(m.offset_s);
	if (rc < 0) {
		json_decref(m.out);
		return NULL;
	}
	return m.out;
}
