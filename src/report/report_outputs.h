/* report_outputs: renderers of a result (result/result.h; result_decode reads a saved
 * document into one) into the formats other tools read. Each appends to out and returns 0,
 * or a negative errno with a one-line reason in err (-ENOBUFS when out is full, -EINVAL for
 * a malformed histogram). */
#ifndef SURGE_REPORT_OUTPUTS_H
#define SURGE_REPORT_OUTPUTS_H

#include <stddef.h>

#include "core/buf.h"
#include "result/result.h"

/* Locust 2.x CSV (docs/report.md): PREFIX_stats.csv, PREFIX_stats_history.csv and
 * PREFIX_failures.csv, the same columns, quoting and row order Locust writes. */
int report_csv_stats(const result_t *r, buf_t *out, char *err, size_t errlen);
int report_csv_history(const result_t *r, buf_t *out, char *err, size_t errlen);
int report_csv_failures(const result_t *r, buf_t *out, char *err, size_t errlen);

/* JUnit XML: testsuite "surge", a testcase per threshold, per check and for the verdict.
 * Rendered from the typed result (result_decode reads a saved document into one). */
int report_junit(const result_t *r, buf_t *out, char *err, size_t errlen);

/* A markdown summary (GitHub job summaries): verdict, figures, endpoints, codes, errors,
 * thresholds, checks, custom metrics and recommendations. */
int report_markdown(const result_t *r, buf_t *out, char *err, size_t errlen);

/* HdrHistogram interval log (format 1.3): one line per timeline second from its "hist", or
 * one line for the whole run from histograms.all when the timeline has none. Values in µs;
 * Interval_Max in ms (read with outputValueUnitRatio 1000). */
int report_hdrlog(const result_t *r, buf_t *out, char *err, size_t errlen);

#endif
