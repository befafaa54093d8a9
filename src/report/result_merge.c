/* result_merge: the shards of one run merged into the document of the whole. The merged
 * document starts as a copy of the first shard (so keys this file does not know survive) and
 * every section that describes the run's figures is then recomputed from all shards:
 * counters summed, histograms decoded and added, latency figures read from the union,
 * timelines aligned by wall-clock second, thresholds and the assessment judged again.
 * This file holds the run's identity, totals, endpoints and verdicts; result_merge_figures.c
 * the exact merging of latency figures, result_merge_sections.c the timeline, checks, custom
 * metrics, generator and advice, result_merge_groups.c the --group-by-header section. */
#include "report/result_merge.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "result/result_doc.h"
#include "report/result_merge_internal.h"
#include "report/thresholds.h"

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
				return merge_fail(
				    m, -EINVAL,
				    "%s: config.%s '%s' differs from %s's '%s' (merge takes "
				    "the shards of one run)",
				    m->names[i], keys[k], b, m->names[0], a);
		}
	}
	return 0;
}

/* "2/3" for a document's config.shard, or "" for a whole run's (no --shard). */
static void shard_text(const json_t *doc, char *out, size_t len)
{
	const json_t *shard = result_doc_object(result_doc_object(doc, "config"), "shard");

	out[0] = '\0';
	if (shard)
		snprintf(out, len, "%llu/%llu",
		         (unsigned long long)result_doc_count(shard, "index", 0),
		         (unsigned long long)result_doc_count(shard, "count", 0));
}

/* Shards of one test (--shard I/N) are its distinct parts: each of N once, never mixed with
 * whole runs or with the parts of a split into another number. */
static int check_shards(merge_t *m)
{
	char a[48], b[48];

	for (size_t i = 0; i < m->n; i++) {
		const json_t *shard =
		    result_doc_object(result_doc_object(m->docs[i], "config"), "shard");
		uint64_t index = result_doc_count(shard, "index", 0);
		uint64_t count = result_doc_count(shard, "count", 0);

		shard_text(m->docs[i], a, sizeof(a));
		if (shard && !(index >= 1 && index <= count))
			return merge_fail(
			    m, -EINVAL,
			    "%s: config.shard %s: expected an index from 1 to the count",
			    m->names[i], a);
		for (size_t j = 0; j < i; j++) {
			shard_text(m->docs[j], b, sizeof(b));
			if (!a[0] != !b[0])
				return merge_fail(
				    m, -EINVAL,
				    "%s is %s%s, %s is %s%s (--shard): not parts of one "
				    "test",
				    m->names[j], b[0] ? "shard " : "a whole run", b, m->names[i],
				    a[0] ? "shard " : "a whole run", a);
			if (a[0] && strcmp(strchr(a, '/'), strchr(b, '/')) != 0)
				return merge_fail(
				    m, -EINVAL,
				    "%s is shard %s, %s is shard %s: not parts of one test",
				    m->names[j], b, m->names[i], a);
			if (a[0] && strcmp(a, b) == 0)
				return merge_fail(
				    m, -EINVAL,
				    "%s and %s are both shard %s: merging it twice would "
				    "count its requests twice",
				    m->names[j], m->names[i], a);
		}
	}
	return 0;
}

/* The same shard given twice (under two names, or a copy) would count its requests twice.
 * Two shards are the same when what identifies a run's measurement is equal: its start,
 * duration, totals, latency histogram and generator figures (CPU time, memory, threads) —
 * two processes never measure all of these alike. */
static int check_distinct(merge_t *m)
{
	static const char *const keys[] = {"started_at", "duration_s", "totals", "histograms",
	                                   "generator"};

	for (size_t i = 1; i < m->n; i++) {
		for (size_t j = 0; j < i; j++) {
			bool same = true;

			for (size_t k = 0; same && k < sizeof(keys) / sizeof(keys[0]); k++) {
				const json_t *a = json_object_get(m->docs[i], keys[k]);
				const json_t *b = json_object_get(m->docs[j], keys[k]);

				same = (!a && !b) || (a && b && json_equal(a, b));
			}
			if (same)
				return merge_fail(
				    m, -EINVAL,
				    "%s and %s are the same shard (same start, duration, "
				    "totals and histograms): merging it twice would count "
				    "its requests twice",
				    m->names[j], m->names[i]);
		}
	}
	/* a merged document given with one of its own shards (`surge merge shard-*.json -o
	 * shard-all.json`, run twice): its merged_from names the other file */
	for (size_t i = 0; i < m->n; i++) {
		const json_t *from = result_doc_array(m->docs[i], "merged_from"), *v;
		size_t k;

		json_array_foreach(from, k, v)
		{
			for (size_t j = 0; j < m->n; j++)
				if (j != i && json_is_string(v) &&
				    strcmp(json_string_value(v), m->names[j]) == 0)
					return merge_fail(
					    m, -EINVAL,
					    "%s was merged from %s, which is given too: "
					    "its requests would count twice",
					    m->names[i], m->names[j]);
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
		merge_put(m->out, "started_at",
		          json_string(result_doc_string(m->docs[first], "started_at", "")));
	merge_put(m->out, "duration_s", merge_real(m->duration_s, 3));
	free(start);
}

/* A fraction, as the checker wants it, even of a document whose errors outnumber its
 * requests (no surge wrote it, but one loaded: the merge must still be a valid document). */
static double merge_error_rate(uint64_t errors, uint64_t requests)
{
	return requests ? (errors < requests ? (double)errors / (double)requests : 1) : 0;
}

static void merge_totals(merge_t *m)
{
	static const char *const summed[] = {"requests",  "responses", "errors", "bytes_in",
	                                     "bytes_out", "dropped",   "late"};
	json_t *totals = merge_object_at(m->out, "totals");
	bool interrupted = false;
	uint64_t requests, errors;

	for (size_t k = 0; k < sizeof(summed) / sizeof(summed[0]); k++) {
		uint64_t sum = 0;

		for (size_t i = 0; i < m->n; i++)
			sum +=
			    result_doc_count(result_doc_object(m->docs[i], "totals"), summed[k], 0);
		merge_put(totals, summed[k], merge_count(sum));
	}
	requests = result_doc_count(totals, "requests", 0);
	errors = result_doc_count(totals, "errors", 0);
	merge_put(totals, "error_rate", merge_real(merge_error_rate(errors, requests), 6));
	merge_put(totals, "rps", merge_real(merge_per_second(requests, m->duration_s), 3));

	json_object_set_new(m->out, "status_codes", json_object());
	json_object_set_new(m->out, "errors_by_kind", json_object());
	for (size_t i = 0; i < m->n; i++) {
		merge_sum_counts(merge_object_at(m->out, "status_codes"),
		                 result_doc_object(m->docs[i], "status_codes"));
		merge_sum_counts(merge_object_at(m->out, "errors_by_kind"),
		                 result_doc_object(m->docs[i], "errors_by_kind"));
		interrupted |= result_doc_bool(m->docs[i], "interrupted", false);
	}
	merge_put(m->out, "interrupted", json_boolean(interrupted));
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
		merge_put(cfg, summed[k],
		          json_is_integer(json_object_get(cfg, summed[k]))
		              ? merge_count((uint64_t)sum)
		              : merge_real(sum, 3));
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
	char what[MERGE_KEY_MAX + 16];

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
		rc = merge_decode(m, i, text, what);
		if (rc < 0)
			return rc;
		merge_latency_add(lm, stats[i], rc == 0 ? m->scratch : NULL, values[i]);
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
		rc = merge_fail(m, rc, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n; i++) {
		if (!result_doc_get(result_doc_object(m->docs[i], "histograms"), "all")) {
			rc = merge_fail(m, -EINVAL,
			                "%s: no histograms.all: its latencies cannot be merged",
			                m->names[i]);
			goto out;
		}
		f.present[i] = true;
		f.stats[i] = result_doc_object(m->docs[i], "latency_ms");
	}
	merge_latency_init(run, run->hist);
	if ((rc = merge_latency_of(m, run, "all", f.present, f.stats, f.values)) < 0)
		goto out;
	merge_put(m->out, "latency_ms", merge_latency_json(run));
	if ((rc = merge_encode(m, run->hist, &text)) < 0)
		goto out;
	merge_put(merge_object_at(m->out, "histograms"), "all", text);

	/* service time has no histogram in the document: exact moments, bounded percentiles */
	if (json_object_get(m->out, "service_ms")) {
		merge_latency_init(lm, lm->hist);
		for (size_t i = 0; i < m->n; i++)
			merge_latency_add(lm, result_doc_object(m->docs[i], "service_ms"), NULL,
			                  result_doc_count(result_doc_object(m->docs[i], "totals"),
			                                   "responses", 0));
		merge_put(m->out, "service_ms", merge_latency_json(lm));
	}
out:
	figures_free(&f);
	return rc;
}

/* The endpoint of shard i with this "METHOD name" key, or NULL. */
static const json_t *find_endpoint(const json_t *doc, const char *key)
{
	const json_t *eps = result_doc_array(doc, "endpoints"), *ep;
	char k[MERGE_KEY_MAX];
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
		rc = merge_fail(m, rc, "out of memory");
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
	char key[MERGE_KEY_MAX];
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
			if (!(out = merge_append(merged, json_deep_copy(ep)))) {
				rc = merge_fail(m, -ENOMEM, "out of memory");
				break;
			}
			merge_latency_init(lm, lm->hist);
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
				merge_put(out, summed[k], merge_count(sum));
			}
			merge_put(out, "rps",
			          merge_real(merge_per_second(requests, m->duration_s), 3));
			if (json_object_get(out, "error_rate"))
				merge_put(out, "error_rate",
				          merge_real(merge_error_rate(errors, requests), 6));
			json_object_del(out, "status_codes");
			json_object_del(out, "errors_by_kind");
			for (size_t j = 0; j < m->n; j++) {
				const json_t *src = find_endpoint(m->docs[j], key);

				if (result_doc_object(src, "status_codes"))
					merge_sum_counts(merge_object_at(out, "status_codes"),
					                 result_doc_object(src, "status_codes"));
				if (result_doc_object(src, "errors_by_kind"))
					merge_sum_counts(merge_object_at(out, "errors_by_kind"),
					                 result_doc_object(src, "errors_by_kind"));
			}
			merge_put(out, "latency_ms", merge_latency_json(lm));
			if (lm->exact && (rc = merge_encode(m, lm->hist, &text)) == 0)
				merge_put(merge_object_at(m->out, "histograms"), key, text);
		}
	}
	merge_put(m->out, "endpoints", merged);
	return rc;
}

/* Histograms of other keys (written by newer surges) merged as plain unions. */
static int merge_other_histograms(merge_t *m, hist_t *sum)
{
	json_t *out = merge_object_at(m->out, "histograms");

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
				rc = merge_decode(
				    m, j,
				    result_doc_get(result_doc_object(m->docs[j], "histograms"),
				                   key),
				    key);
				if (rc < 0)
					return rc;
				if (rc == 0)
					hist_merge(sum, m->scratch);
			}
			if ((rc = merge_encode(m, sum, &text)) < 0)
				return rc;
			merge_put(out, key, text);
		}
	}
	return 0;
}

/* ---- verdicts ---- */

/* The merged endpoints as thresholds see them (threshold_judge): each one's latencies
 * merged from the shards' histograms. */
typedef struct merge_view {
	merge_t *m;
	latency_merge_t *lm;
	const json_t *endpoints;
	int rc; /* the first failure to merge an endpoint's figures (memory) */
} merge_view_t;

static const char *merge_endpoint_name(const void *ctx, uint32_t i)
{
	const merge_view_t *v = ctx;

	return result_doc_string(json_array_get(v->endpoints, i), "name", "");
}

static int merge_endpoint_add(const void *ctx, uint32_t i, hist_t *hist, uint64_t *requests,
                              uint64_t *errors)
{
	merge_view_t *v = (merge_view_t *)ctx; /* merge_thresholds' own, passed as const */
	char key[MERGE_KEY_MAX];
	int rc;

	result_doc_endpoint_key(json_array_get(v->endpoints, i), key, sizeof(key));
	merge_latency_init(v->lm, v->lm->hist);
	rc = merge_endpoint_latency(v->m, key, v->lm, requests, errors);
	if (rc < 0) {
		if (!v->rc)
			v->rc = rc;
		return rc;
	}
	merge_latency_settle(v->lm);
	hist_merge(hist, v->lm->hist);
	return v->lm->exact ? 0 : -1; /* a shard without its histogram: no exact figure */
}

/* Every threshold of any shard (once per expression), checked on the whole. */
static int merge_thresholds(merge_t *m, latency_merge_t *run, latency_merge_t *lm, bool *ok)
{
	const json_t *totals = json_object_get(m->out, "totals");
	json_t *merged = json_array();
	merge_view_t mv = {.m = m, .lm = lm, .endpoints = json_object_get(m->out, "endpoints")};
	hist_t *scratch = malloc(sizeof(*scratch));
	char perr[256];
	int rc = scratch ? 0 : merge_fail(m, -ENOMEM, "out of memory");

	*ok = true;
	for (size_t i = 0; rc == 0 && i < m->n; i++) {
		const json_t *th, *e;
		size_t k, j;

		json_array_foreach(result_doc_array(m->docs[i], "thresholds"), k, th)
		{
			const char *expr = result_doc_string(th, "expr", "");
			threshold_view_t v = {.endpoint_count =
			                          (uint32_t)json_array_size(mv.endpoints),
			                      .ctx = &mv,
			                      .endpoint_name = merge_endpoint_name,
			                      .endpoint_add = merge_endpoint_add};
			threshold_figures_t f = {
			    .latency = run->hist,
			    .requests = result_doc_count(totals, "requests", 0),
			    .errors = result_doc_count(totals, "errors", 0),
			    .duration_s = m->duration_s,
			    .balance = result_doc_number(result_doc_object(m->out, "group_by"),
			                                 "spread", NAN)};
			bool seen = false, passed;
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
				rc =
				    merge_fail(m, -EINVAL, "%s: thresholds: %s", m->names[i], perr);
				break;
			}
			v.run = f;
			passed = threshold_judge(&t, &v, scratch, &value);
			if ((rc = mv.rc) < 0)
				break;
			out = json_deep_copy(th);
			merge_put(out, "value", merge_real(value, 6));
			merge_put(out, "ok", json_boolean(passed));
			json_array_append_new(merged, out);
			*ok &= passed;
		}
	}
	merge_put(m->out, "thresholds", merged);
	free(scratch);
	return rc;
}

/* The seeds' assessment of the whole, with the targets the shards were judged by. */
static void merge_assessment(merge_t *m, const hist_t *all, bool thresholds_ok,
                             assess_targets_t *t_out, assessment_t *s_out)
{
	const json_t *totals = json_object_get(m->out, "totals");
	const json_t *targets = result_doc_path(m->docs[0], "assessment.targets");
	json_t *a = merge_object_at(m->out, "assessment");
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
	merge_put(a, "verdict", json_string(s.pass ? "PASS" : "FAIL"));
	merge_put(a, "latency_class", json_string(s.latency_class));
	merge_put(a, "latency", json_string(s.latency_ok ? "PASS" : "FAIL"));
	merge_put(a, "throughput", json_string(s.throughput_ok ? "PASS" : "FAIL"));
	merge_put(a, "error_rate", json_string(s.errors_ok ? "PASS" : "FAIL"));
	merge_put(a, "thresholds", json_string(s.thresholds_ok ? "PASS" : "FAIL"));
	merge_put(a, "p95_ms", merge_real(s.p95_ms, 3));
	merge_put(a, "aborted", json_boolean(aborted));
	if (!json_object_get(a, "targets")) {
		json_t *o = json_object();

		merge_put(o, "p95_ms", merge_real(t.p95_ms, 3));
		merge_put(o, "max_error_rate", merge_real(t.max_error_rate, 6));
		merge_put(o, "min_rps", merge_real(t.min_rps, 3));
		merge_put(a, "targets", o);
	}
	*t_out = t;
	*s_out = s;
}

/* ---- the whole ---- */

static int merge_all(merge_t *m, latency_merge_t *run, latency_merge_t *lm)
{
	assess_targets_t targets;
	assessment_t assessment;
	json_t *from;
	bool thresholds_ok;
	int rc;

	if ((rc = check_same_run(m)) < 0 || (rc = check_shards(m)) < 0 ||
	    (rc = check_distinct(m)) < 0)
		return rc;
	compute_span(m);
	merge_config(m);
	merge_totals(m);
	json_object_set_new(m->out, "histograms", json_object());
	if ((rc = merge_run_latency(m, run, lm)) < 0 || (rc = merge_endpoints(m, lm)) < 0 ||
	    (rc = merge_other_histograms(m, lm->hist)) < 0 ||
	    (rc = merge_timeline(m, lm->hist)) < 0 || (rc = merge_metrics(m, lm->hist)) < 0 ||
	    (rc = merge_group_by(m, lm->hist)) < 0)
		return rc;
	merge_checks(m);
	merge_generator(m);
	if ((rc = merge_thresholds(m, run, lm, &thresholds_ok)) < 0)
		return rc;
	merge_assessment(m, run->hist, thresholds_ok, &targets, &assessment);
	merge_advice(m, &targets, &assessment);
	from = json_array();
	for (size_t i = 0; i < m->n; i++)
		json_array_append_new(from, json_string(m->names[i]));
	merge_put(m->out, "merged_from", from);
	merge_put(m->out, "shards", merge_count(m->n));
	return 0;
}

json_t *result_doc_merge(json_t *const *docs, const char *const *names, size_t n, char *err,
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
		merge_latency_init(&run, &hists[1]);
		merge_latency_init(&lm, &hists[2]);
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
