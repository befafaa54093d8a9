/* recommend: the seeds' scaling rules (high latency → scale out, CPU > 80 % → scale now,
 * memory > 85 % → OOM risk, error rate over target → fix before scaling, low throughput →
 * find the bottleneck, and an idle target → scale in), the target's own cgroup (CPU
 * throttling → the limit holds requests back, OOM kills), computed from measured figures, each
 * advice stating the figures it used; and the cost per million requests. Pure: figures in,
 * advice out — report_recommend (report.h) gathers the figures from a run. */
#ifndef SURGE_RECOMMEND_H
#define SURGE_RECOMMEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECOMMEND_MAX         10
#define RECOMMEND_FIGURES_MAX 12
#define RECOMMEND_UTILISATION 0.7  /* what replicas are sized for: 30 % headroom */
#define RECOMMEND_CPU_HIGH    0.8  /* above: scale now */
#define RECOMMEND_CPU_IDLE    0.2  /* below, with good latency: over-provisioned */
#define RECOMMEND_MEMORY_HIGH 0.85 /* above: risk of OOM */
#define RECOMMEND_THROTTLED   0.1  /* above this share of CFS periods: the CPU limit bites */

typedef enum recommend_severity { REC_CRITICAL, REC_WARNING, REC_INFO } recommend_severity_t;

typedef struct recommend_figure {
	const char *name; /* a static string: "cpu_utilisation", "p95_ms", ... */
	double value;     /* NAN: unknown (null in JSON) */
} recommend_figure_t;

typedef struct recommendation {
	recommend_severity_t severity;
	const char *kind; /* errors, cpu, memory, latency, throughput, scale_in, healthy */
	char title[128];
	char detail[768]; /* says which figures led here, and the arithmetic */
	int figure_count;
	recommend_figure_t figures[RECOMMEND_FIGURES_MAX];
} recommendation_t;

/* What the rules look at. Target figures are NAN when unknown (no --scrape, or the target
 * does not export them). */
typedef struct recommend_input {
	double p95_ms, target_p95_ms;
	double error_rate, max_error_rate; /* fractions */
	uint64_t requests;
	double rps;       /* achieved */
	double asked_rps; /* open model: the mean rate asked; 0 in the closed model */
	double min_rps;   /* the throughput target; 0: none */
	bool throughput_ok;
	uint64_t dropped, late; /* open model */
	uint32_t connections;
	bool generator_saturated;
	uint32_t replicas;    /* of the target, as given (--replicas); 0 is taken as 1 */
	double cost_per_hour; /* per replica, USD; 0: not given */

	bool scraped;             /* --scrape was given */
	const char *scrape_error; /* why no sample came back, or NULL */
	double cpu_cores_avg, cpu_cores_max;
	double cpu_capacity_cores; /* what utilisation is of */
	const char *cpu_basis;     /* cgroup_limit, workers, host_cores */
	double cpu_utilisation;    /* cpu_cores_avg / cpu_capacity_cores */
	double rss_bytes_max, memory_limit_bytes, memory_utilisation;
	double in_flight_max;
	double pool_waits, pool_timeouts, pool_wait_ms_mean;
	/* the target's cgroup over the run: increases of its counters */
	double cpu_limit_cores;
	double cpu_periods, cpu_throttled_periods, cpu_throttled_share, cpu_throttled_s;
	double oom_kills;
} recommend_input_t;

/* A zeroed input with every target figure NAN and one replica. */
void recommend_input_init(recommend_input_t *in);
/* Applies the rules; fills out[0..max) most severe first, returns how many. Always at least
 * one (a clean run gets "healthy at this load") when max > 0. */
int recommend_compute(const recommend_input_t *in, recommendation_t *out, int max);
/* ceil(replicas × utilisation / RECOMMEND_UTILISATION), at least 1. */
uint32_t recommend_replicas(uint32_t replicas, double utilisation);
const char *recommend_severity_name(recommend_severity_t s);

/* --cost-per-hour USD [--replicas N]: what a million requests cost at the measured rate. */
typedef struct report_cost {
	double per_hour_usd; /* per replica; 0: not asked (no cost section) */
	uint32_t replicas;   /* 0 is taken as 1 */
	double requests_per_s;
	double total_per_hour_usd;       /* per_hour_usd × replicas */
	double per_million_requests_usd; /* NAN when nothing was served */
} report_cost_t;

/* Fills the derived figures of c (per_hour_usd and replicas set by the caller). */
void recommend_cost(report_cost_t *c, double requests_per_s);

#endif
