/* prom_write: the Prometheus text exposition format (version 0.0.4), written — HELP and TYPE
 * lines, samples, escaped label values and help text, special values, histograms — for any
 * process that exports metrics (surge serve's /metrics; the generator's next). Pure: it
 * appends to a buf_t and does no I/O. Its reader is scrape/prom.c. */
#ifndef SURGE_PROM_WRITE_H
#define SURGE_PROM_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* "# HELP name help\n# TYPE name type\n": help escaped (backslash, line feed). */
void prom_family(buf_t *out, const char *name, const char *type, const char *help);
/* A value as Prometheus reads it: "+Inf", "-Inf", "NaN", else the shortest of %.15g and
 * %.17g that reads back as the same double (0.05, not 0.050000000000000003). */
void prom_value(buf_t *out, double v);
/* One sample: "name{labels} value" ("name value" when labels is ""); labels is
 * "k=\"v\",..." with the values already escaped (prom_label_value). */
void prom_sample(buf_t *out, const char *name, const char *labels, double v);
/* One unlabelled family of one sample: its HELP and TYPE lines, then "name value". */
void prom_metric(buf_t *out, const char *name, const char *type, const char *help, double v);
/* A label value's characters, escaped: backslash, double quote and line feed. */
void prom_label_value(buf_t *out, const char *v);
/* A histogram's samples (the family lines are the caller's): for each of the n finite upper
 * bounds le[i] whose keep[i] is true (keep NULL: all), name_bucket{labels,le="..."} with the
 * cumulative count of counts[0..i], then le="+Inf" with count, name_sum and name_count.
 * counts[i] counts the observations above le[i-1] and at most le[i]; labels is "k=\"v\",..."
 * (already escaped) or "". */
void prom_histogram(buf_t *out, const char *name, const char *labels, const double *le,
                    const bool *keep, size_t n, const uint64_t *counts, uint64_t count, double sum);

/* prom_process.c: process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds (start_wall_ns: ns since the
 * epoch), process_max_fds and process_open_fds, from /proc/self. */
void prom_process_metrics(buf_t *out, uint64_t start_wall_ns);
/* The process's open file descriptors. */
int prom_open_fds(void);

#endif
