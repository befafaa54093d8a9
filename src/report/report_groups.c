/* report_groups: `--group-by-header`'s part of a result — "Is the load balanced?" — in the
 * terminal summary: per value of the header (per instance, with X-Served-By), requests,
 * errors, share and latency percentiles, then the spread (largest share / mean share) and
 * what was not counted. It reads the typed result's groups; result_encode writes the
 * document's "group_by", which the HTML report draws. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/http.h"
#include "core/units.h"
#include "report/report.h"

void report_groups_text(buf_t *out, const result_t *r, hist_t *h)
{
	const char *header = r->group_header ? r->group_header : "";
	const result_group_t **s;
	uint64_t grouped, most;
	double spread;

	if (!r->has_groups || !(s = result_groups_sorted(r, &grouped, &most)))
		return;
	spread = grouped ? (double)most * r->group_count / (double)grouped : NAN;
	buf_printf(out, "  %-28.28s %10s %7s %8s %10s %9s %9s %9s\n", header, "requests", "share",
	           "errors", "req/s", "p50", "p95", "p99");
	for (uint32_t i = 0; i < r->group_count; i++) {
		const result_group_t *x = s[i];
		char p50[16], p95[16], p99[16];

		result_hist_expand(&x->latency, h);
		units_format_duration_us((double)hist_percentile(h, 50), p50, sizeof(p50));
		units_format_duration_us((double)hist_percentile(h, 95), p95, sizeof(p95));
		units_format_duration_us((double)hist_percentile(h, 99), p99, sizeof(p99));
		buf_printf(out, "  %-28.28s %10llu %6.1f%% %8llu %10.1f %9s %9s %9s\n", x->value,
		           (unsigned long long)x->responses,
		           grouped ? 100.0 * x->responses / grouped : 0,
		           (unsigned long long)x->errors,
		           r->duration_s > 0 ? x->responses / r->duration_s : 0, p50, p95, p99);
	}
	if (isnan(spread))
		buf_printf(out, "  %-10s no response carried %s\n", "spread", header);
	else
		buf_printf(out,
		           "  %-10s %.3f (largest share / mean share over %u value%s; 1 = even)\n",
		           "spread", spread, r->group_count, r->group_count == 1 ? "" : "s");
	if (r->group_missing)
		buf_printf(out, "  %-10s %llu responses without %s (not in the spread)\n", "",
		           (unsigned long long)r->group_missing, header);
	if (r->group_overflow)
		buf_printf(out,
		           "  %-10s %llu responses with a value beyond the first %llu kept (not in "
		           "the spread)\n",
		           "", (unsigned long long)r->group_overflow,
		           (unsigned long long)r->group_values_max);
	if (r->group_truncated)
		buf_printf(out, "  %-10s %llu values cut at %d bytes\n", "",
		           (unsigned long long)r->group_truncated, HTTP_CAPTURE_MAX);
	buf_append_str(out, "\n");
	free(s);
}
