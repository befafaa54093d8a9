/* scrape: `surge run --scrape URL` — a thread that reads the target's Prometheus /metrics
 * once a second while the load runs and keeps the figures that say how hard the target
 * worked: process CPU and memory, its CPU and memory limits, CPU throttling and OOM kills
 * in its cgroup, in-flight requests, DB pool waits. The rest of the exposition is parsed
 * (scrape/prom.h) and ignored. */
#ifndef SURGE_SCRAPE_H
#define SURGE_SCRAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/net.h"
#include "core/url.h"

#define SCRAPE_BODY_MAX    (8u * 1024 * 1024) /* bytes of one /metrics response */
#define SCRAPE_INTERVAL_NS 1000000000ull      /* one sample a second, at most */
#define SCRAPE_TIMEOUT_NS  2000000000ull      /* connect + response, per scrape */
#define SCRAPE_MAX_SAMPLES (7u * 24 * 3600)   /* a week of seconds; later samples are dropped */

/* What one scrape found; NAN where the target does not export the figure. Gauges and
 * counters that come in several label sets are summed. */
typedef struct scrape_sample {
	uint64_t wall_ns;          /* when the response arrived (CLOCK_REALTIME) */
	double cpu_seconds;        /* process_cpu_seconds_total */
	double rss_bytes;          /* process_resident_memory_bytes */
	double cpu_limit_cores;    /* surge_cgroup_cpu_limit_cores */
	double memory_limit_bytes; /* surge_cgroup_memory_limit_bytes */
	double workers;            /* surge_workers, go_sched_gomaxprocs_threads */
	double in_flight;          /* http_server_active_requests, http_requests_in_flight, ... */
	double pool_pending;       /* db_client_connection_pending_requests, ... */
	double pool_timeouts;      /* db_client_connection_timeouts_total, ... */
	double pool_wait_sum_s;    /* db_client_connection_wait_time_seconds_sum */
	double pool_wait_count;    /* db_client_connection_wait_time_seconds_count */
	double cpu_periods;        /* surge_cgroup_cpu_periods_total */
	double cpu_throttled_periods; /* surge_cgroup_cpu_throttled_periods_total */
	double cpu_throttled_s;       /* surge_cgroup_cpu_throttled_seconds_total */
	double oom_kills;             /* surge_cgroup_memory_oom_kills_total */
} scrape_sample_t;

/* Everything a scraper collected; owned by the caller after scrape_stop (scrape_series_free). */
typedef struct scrape_series {
	char url[URL_HOST_MAX + URL_TARGET_MAX + 32];
	scrape_sample_t *samples;
	size_t count;
	uint64_t attempts;
	uint64_t errors;      /* failed scrapes: connect, timeout, status, size, nothing parsed */
	uint64_t bad_lines;   /* lines of the exposition that did not parse */
	uint64_t dropped;     /* samples beyond SCRAPE_MAX_SAMPLES */
	char last_error[200]; /* what the last failed scrape said; "" when none failed */
} scrape_series_t;

typedef struct scrape scrape_t;

/* Told of each sample kept, as soon as it is (on the scraper's thread; the first one on
 * scrape_start's caller's): for a live view of the target. Quick, and never calling the
 * scraper back. */
typedef void (*scrape_listener_fn)(void *ctx, const scrape_sample_t *sample);

/* 0 when text is an http:// URL a scraper can read; -EINVAL with a message otherwise. */
int scrape_check_url(const char *text, char *err, size_t errlen);

/* Takes the first sample now (so the run's first second has a baseline), then starts the
 * sampling thread; listener (or NULL) hears of every sample kept. Returns the scraper, or NULL
 * with a message when the URL is bad or no memory. When the first scrape failed, *warning says
 * why (else it is ""); the scraper runs anyway and keeps trying every second. */
scrape_t *scrape_start(const char *url_text, scrape_listener_fn listener, void *ctx, char *warning,
                       size_t warnlen);
/* Stops the thread after one last sample, moves what it collected into *out, frees s. */
void scrape_stop(scrape_t *s, scrape_series_t *out);
void scrape_series_free(scrape_series_t *series);

/* One scrape's body parsed into *sample (wall_ns untouched); false when not one figure the
 * scraper knows was found. bad_lines counts what did not parse. Pure: for tests and fuzzing. */
bool scrape_parse(const char *text, size_t len, scrape_sample_t *sample, uint64_t *bad_lines);

/* One GET over a fresh blocking-with-deadline connection: the body (de-chunked) into body,
 * which the caller bounds (buf max). 0, or -1 with a message ("connection refused", "status
 * 404", "response larger than 8 MiB", ...). scrape_http.c. */
int scrape_http_get(const url_t *url, const net_addr_t *addr, uint64_t timeout_ns, buf_t *body,
                    char *err, size_t errlen);

#endif
