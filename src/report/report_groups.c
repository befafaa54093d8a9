/* report_groups: `--group-by-header`'s part of a run's result — "Is the load balanced?" —
 * rendered into the result document ("group_by") and the terminal summary: per value of the
 * header (per instance, with X-Served-By), requests, errors, share and latency percentiles,
 * then the spread (largest share / mean share) and what was not counted. Everything it reads
 * is gen_result_t.groups; the HTML report draws the document's "group_by". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"
#include "gen/gen_groups.h"
#include "report/report.h"

static int by_value(const void *a, const void *b)
{
	const gen_group_t *const *x = a, *const *y = b;

	return strcmp((*x)->value, (*y)->value);
}

/* The values in name order (instances read best sorted: pod-a, pod-b, ...); NULL on no memory. */
static const gen_group_t **sorted(const gen_groups_t *g)
{
	const gen_group_t **s = malloc((g->count ? g->count : 1) * sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s, g->groups, g->count * sizeof(*s));
	qsort(s, g->count, sizeof(*s), by_value);
	return s;
}

static void json_number(json_writer_t *w, const char *key, double v, int digits)
{
	jsonw_key(w, key);
	jsonw_double(w, v, digits);
}

static void json_count(json_writer_t *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

/* The same latency object as an endpoint's, and the histogram it came from, so that surge
 * merge can add the shards' values up exactly. */
static void json_latency(json_writer_t *w, const hist_t *h)
{
	static const struct {
		const char *key;
		double p;
	} pcts[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};
	buf_t text;

	jsonw_key(w, "latency_ms");
	jsonw_object_begin(w);
	json_number(w, "min", h->total ? h->min / 1e3 : 0, 3);
	json_number(w, "mean", hist_mean(h) / 1e3, 3);
	json_number(w, "stdev", hist_stdev(h) / 1e3, 3);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		json_number(w, pcts[i].key, hist_percentile(h, pcts[i].p) / 1e3, 3);
	json_number(w, "max", h->max / 1e3, 3);
	jsonw_object_end(w);
	buf_init(&text, 16u * 1024 * 1024);
	if (hist_encode_base64(h, &text) == 0) {
		jsonw_key(w, "histogram");
		jsonw_string_n(w, text.data, text.len);
	}
	buf_free(&text);
}

void report_groups_json(json_writer_t *w, const gen_config_t *cfg, const gen_result_t *r)
{
	const gen_groups_t *g = r->groups;
	const gen_group_t **s;
	double duration_s = (double)r->duration_ns / 1e9;
	uint64_t grouped;

	if (!g || !(s = sorted(g)))
		return;
	grouped = gen_groups_grouped(g);
	jsonw_key(w, "group_by");
	jsonw_object_begin(w);
	jsonw_key(w, "header");
	jsonw_string(w, cfg->group_header);
	jsonw_key(w, "values");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < g->count; i++) {
		const gen_group_t *x = s[i];

		jsonw_object_begin(w);
		jsonw_key(w, "value");
		jsonw_string(w, x->value);
		json_count(w, "requests", x->responses);
		json_count(w, "errors", x->errors);
		json_number(w, "error_rate", x->responses ? (double)x->errors / x->responses : 0,
		            6);
		json_number(w, "share", grouped ? (double)x->responses / grouped : 0, 6);
		json_number(w, "rps", duration_s > 0 ? x->responses / duration_s : 0, 3);
		json_latency(w, x->latency);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	json_count(w, "requests", grouped);
	json_number(w, "spread", gen_groups_spread(g), 4);
	json_count(w, "missing", g->missing);
	json_count(w, "overflow", g->overflow);
	json_count(w, "values_max", GEN_GROUPS_MAX);
	json_count(w, "truncated", g->truncated);
	jsonw_object_end(w);
	free(s);
}

void report_groups_text(buf_t *out, const gen_config_t *cfg, const gen_result_t *r)
{
	const gen_groups_t *g = r->groups;
	const gen_group_t **s;
	uint64_t grouped;
	double duration_s = (double)r->duration_ns / 1e9, spread;

	if (!g || !(s = sorted(g)))
		return;
	grouped = gen_groups_grouped(g);
	spread = gen_groups_spread(g);
	buf_printf(out, "  %-28.28s %10s %7s %8s %10s %9s %9s %9s\n", cfg->group_header, "requests",
	           "share", "errors", "req/s", "p50", "p95", "p99");
	for (uint32_t i = 0; i < g->count; i++) {
		const gen_group_t *x = s[i];
		char p50[16], p95[16], p99[16];

		units_format_duration_us((double)hist_percentile(x->latency, 50), p50, sizeof(p50));
		units_format_duration_us((double)hist_percentile(x->latency, 95), p95, sizeof(p95));
		units_format_duration_us((double)hist_percentile(x->latency, 99), p99, sizeof(p99));
		buf_printf(out, "  %-28.28s %10llu %6.1f%% %8llu %10.1f %9s %9s %9s\n", x->value,
		           (unsigned long long)x->responses,
		           grouped ? 100.0 * x->responses / grouped : 0,
		           (unsigned long long)x->errors,
		           duration_s > 0 ? x->responses / duration_s : 0, p50, p95, p99);
	}
	if (isnan(spread))
		buf_printf(out, "  %-10s no response carried %s\n", "spread", cfg->group_header);
	else
		buf_printf(out,
		           "  %-10s %.3f (largest share / mean share over %u value%s; 1 = even)\n",
		           "spread", spread, g->count, g->count == 1 ? "" : "s");
	if (g->missing)
		buf_printf(out, "  %-10s %llu responses without %s (not in the spread)\n", "",
		           (unsigned long long)g->missing, cfg->group_header);
	if (g->overflow)
		buf_printf(out,
		           "  %-10s %llu responses with a value beyond the first %d kept (not in "
		           "the spread)\n",
		           "", (unsigned long long)g->overflow, GEN_GROUPS_MAX);
	if (g->truncated)
		buf_printf(out, "  %-10s %llu values cut at %d bytes\n", "",
		           (unsigned long long)g->truncated, HTTP_CAPTURE_MAX);
	buf_append_str(out, "\n");
	free(s);
}
