/* result_merge_groups: the shards' "group_by" (--group-by-header) added up — per value the
 * requests and errors summed, the latency from the union of the values' histograms; shares,
 * rates and the spread recomputed for the whole. At most the first shard's values_max
 * values are kept, in the order they appear; the responses of any further value are added to
 * overflow, as a run counts them. Shards without a group_by add nothing. */
#include "report/result_merge_internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "result/result_doc.h"

/* The merged entry for a value (added when new and there is room), or NULL. */
static json_t *entry(json_t *values, const char *value, size_t max)
{
	json_t *e;
	size_t j;

	json_array_foreach(values, j, e)
	{
		if (strcmp(result_doc_string(e, "value", ""), value) == 0)
			return e;
	}
	if (json_array_size(values) >= max)
		return NULL;
	e = json_object();
	merge_put(e, "value", json_string(value));
	merge_put(e, "requests", merge_count(0));
	merge_put(e, "errors", merge_count(0));
	return merge_append(values, e); /* NULL when out of memory, as when full */
}

/* One value's latency over the shards that saw it. */
static int value_latency(merge_t *m, json_t *e, latency_merge_t *lm)
{
	const char *value = result_doc_string(e, "value", "");
	json_t *text;
	int rc;

	merge_latency_init(lm, lm->hist);
	for (size_t i = 0; i < m->n; i++) {
		const json_t *v, *mine = NULL;
		size_t k;

		json_array_foreach(
		    result_doc_array(result_doc_object(m->docs[i], "group_by"), "values"), k, v)
		{
			if (!mine && strcmp(result_doc_string(v, "value", ""), value) == 0)
				mine = v;
		}
		if (!mine)
			continue;
		rc = merge_decode(m, i, result_doc_get(mine, "histogram"),
		                  "group_by.values.histogram");
		if (rc < 0)
			return rc;
		merge_latency_add(lm, result_doc_object(mine, "latency_ms"),
		                  rc == 0 ? m->scratch : NULL,
		                  result_doc_count(mine, "requests", 0));
	}
	merge_put(e, "latency_ms", merge_latency_json(lm));
	if (lm->exact) {
		if ((rc = merge_encode(m, lm->hist, &text)) < 0)
			return rc;
		merge_put(e, "histogram", text);
	}
	return 0;
}

static int by_value(const void *a, const void *b)
{
	return strcmp(result_doc_string(*(json_t *const *)a, "value", ""),
	              result_doc_string(*(json_t *const *)b, "value", ""));
}

/* The values in name order, as a run writes them; values itself when out of memory. */
static json_t *sorted(json_t *values)
{
	size_t n = json_array_size(values), j;
	json_t **all = malloc((n ? n : 1) * sizeof(*all)), *out, *e;

	if (!all || !(out = json_array())) {
		free(all);
		return values;
	}
	json_array_foreach(values, j, e)
	{
		all[j] = e;
	}
	qsort(all, n, sizeof(*all), by_value);
	for (j = 0; j < n; j++)
		json_array_append(out, all[j]);
	free(all);
	json_decref(values);
	return out;
}

/* Shares, rates and the spread of the merged values. */
static void settle(merge_t *m, json_t *g, json_t *values)
{
	uint64_t grouped = 0, most = 0;
	json_t *e;
	size_t j, n = json_array_size(values);

	json_array_foreach(values, j, e)
	{
		uint64_t r = result_doc_count(e, "requests", 0);

		grouped += r;
		most = r > most ? r : most;
	}
	json_array_foreach(values, j, e)
	{
		uint64_t r = result_doc_count(e, "requests", 0),
		         errors = result_doc_count(e, "errors", 0);

		merge_put(e, "error_rate", merge_real(r ? (double)errors / r : 0, 6));
		merge_put(e, "share", merge_real(grouped ? (double)r / grouped : 0, 6));
		merge_put(e, "rps", merge_real(merge_per_second(r, m->duration_s), 3));
	}
	merge_put(g, "requests", merge_count(grouped));
	merge_put(g, "spread", merge_real(grouped ? (double)most * n / grouped : NAN, 4));
}

int merge_group_by(merge_t *m, hist_t *sum)
{
	static const char *const summed[] = {"missing", "overflow", "truncated"};
	const json_t *first = NULL;
	latency_merge_t lm = {.hist = sum};
	json_t *g, *values = json_array(), *e;
	uint64_t totals[3] = {0, 0, 0};
	size_t max, j;
	int rc = 0;

	for (size_t i = 0; i < m->n && !first; i++)
		first = result_doc_object(m->docs[i], "group_by");
	if (!first) {
		json_decref(values);
		return 0;
	}
	max = result_doc_count(first, "values_max", 64);
	for (size_t i = 0; i < m->n; i++) {
		const json_t *gi = result_doc_object(m->docs[i], "group_by"), *v;
		size_t k;

		for (size_t f = 0; f < 3; f++)
			totals[f] += result_doc_count(gi, summed[f], 0);
		json_array_foreach(result_doc_array(gi, "values"), k, v)
		{
			json_t *into = entry(values, result_doc_string(v, "value", ""), max);

			if (!into) {
				totals[1] += result_doc_count(v, "requests", 0);
				continue;
			}
			merge_put(into, "requests",
			          merge_count(result_doc_count(into, "requests", 0) +
			                      result_doc_count(v, "requests", 0)));
			merge_put(into, "errors",
			          merge_count(result_doc_count(into, "errors", 0) +
			                      result_doc_count(v, "errors", 0)));
		}
	}
	json_array_foreach(values, j, e)
	{
		if ((rc = value_latency(m, e, &lm)) < 0)
			break;
	}
	values = sorted(values);
	g = json_object();
	merge_put(g, "header", json_string(result_doc_string(first, "header", "")));
	merge_put(g, "values", values);
	values = json_object_get(g, "values"); /* NULL when jansson could not set it (freed) */
	settle(m, g, values);
	for (size_t f = 0; f < 3; f++)
		merge_put(g, summed[f], merge_count(totals[f]));
	merge_put(g, "values_max", merge_count(max));
	merge_put(m->out, "group_by", g);
	return rc;
}
