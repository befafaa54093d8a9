/* report_target: what the target itself reported during the run (--scrape) condensed into
 * the figures the recommendations use, aligned with the run's timeline; and the terminal
 * summary's target, recommendations and cost (result_finish carries them into the
 * document). */
#ifndef SURGE_REPORT_TARGET_H
#define SURGE_REPORT_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"
#include "core/url.h"

struct gen_result;
struct report_analysis;
struct result;
struct scrape_series;

/* NAN marks a figure the target did not export (null in JSON). */
typedef struct report_target {
	char url[URL_HOST_MAX + URL_TARGET_MAX + 32];
	size_t samples;
	uint64_t scrape_errors;
	uint64_t bad_lines;   /* exposition lines that did not parse, over all scrapes */
	char last_error[200]; /* "" when no scrape failed */

	double cpu_cores_avg; /* process CPU over the run's wall time */
	double cpu_cores_max; /* the busiest whole second of the timeline */
	double cpu_limit_cores;
	double workers;    /* the target's own worker threads, when it says */
	double host_cores; /* this machine's: right when the target runs here */
	double cpu_capacity_cores;
	const char *cpu_basis; /* what capacity is: cgroup_limit, workers or host_cores */
	double cpu_utilisation;

	double rss_bytes_max;
	double memory_limit_bytes;
	double memory_utilisation;

	double in_flight_max; /* counts the scrape's own request when the target does */
	double pool_waits;    /* most requests seen waiting for a DB connection */
	double pool_timeouts; /* waits that timed out during the run */
	double pool_wait_ms_mean;

	/* the target's cgroup during the run: increases of its counters (NAN: not exported) */
	double cpu_periods, cpu_throttled_periods, cpu_throttled_s;
	double cpu_throttled_share; /* throttled periods / periods; NAN with no period */
	double oom_kills;

	/* one entry per point of the run's timeline; NAN where no sample covers it */
	size_t timeline_len;
	double *timeline_cpu_cores;
	double *timeline_rss_bytes;
} report_target_t;

/* Condenses a scraper's samples against the run's clock and timeline. NULL on no memory. */
report_target_t *report_target_new(const struct scrape_series *s, const struct gen_result *r);
void report_target_free(report_target_t *t);

/* The summary's target line, recommendations and cost. */
void report_text_advice(buf_t *out, const struct result *r);

#endif
