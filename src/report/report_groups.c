/* report_groups: `--group-by-header`'s part of a run's result — "Is the load balanced?" —
 * rendered into the terminal summary (result_encode writes the document's "group_by"): per value of
 * the header (per instance, with X-Served-By), requests, errors, share and latency percentiles,
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
