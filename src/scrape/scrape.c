/* scrape: the sampling thread behind `surge run --scrape URL`. It owns its series until
 * scrape_stop joins it; the caller's thread touches nothing in between, so there is no lock on
 * the samples — only on the stop flag. One scrape a second at most, each bounded in time
 * (SCRAPE_TIMEOUT_NS) and size (SCRAPE_BODY_MAX), at most SCRAPE_MAX_SAMPLES kept. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "scrape/prom.h"
#include "scrape/scrape.h"

struct scrape {
	url_t url;
	net_addr_t addr;
	bool resolved;
	buf_t body;
	scrape_series_t series;
	size_t cap;

	scrape_listener_fn listener;
	void *listener_ctx;

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* on CLOCK_MONOTONIC */
	bool stopping;
};

/* The names each figure goes by; for one figure, the first name a response carries wins (so
 * two instrumentations of the same thing are not added up). */
static const struct known_metric {
	const char *name;
	size_t field;
} known[] = {
    {"process_cpu_seconds_total", offsetof(scrape_sample_t, cpu_seconds)},
    {"process_resident_memory_bytes", offsetof(scrape_sample_t, rss_bytes)},
    {"surge_cgroup_cpu_limit_cores", offsetof(scrape_sample_t, cpu_limit_cores)},
    {"surge_cgroup_memory_limit_bytes", offsetof(scrape_sample_t, memory_limit_bytes)},
    {"surge_workers", offsetof(scrape_sample_t, workers)},
    {"go_sched_gomaxprocs_threads", offsetof(scrape_sample_t, workers)},
    {"http_server_active_requests", offsetof(scrape_sample_t, in_flight)},
    {"http_requests_in_flight", offsetof(scrape_sample_t, in_flight)},
    {"http_server_requests_in_flight", offsetof(scrape_sample_t, in_flight)},
    {"db_client_connection_pending_requests", offsetof(scrape_sample_t, pool_pending)},
    {"hikaricp_connections_pending", offsetof(scrape_sample_t, pool_pending)},
    {"db_client_connection_timeouts_total", offsetof(scrape_sample_t, pool_timeouts)},
    {"hikaricp_connections_timeout_total", offsetof(scrape_sample_t, pool_timeouts)},
    {"db_client_connection_wait_time_seconds_sum", offsetof(scrape_sample_t, pool_wait_sum_s)},
    {"db_client_connection_wait_time_seconds_count", offsetof(scrape_sample_t, pool_wait_count)},
    {"surge_cgroup_cpu_periods_total", offsetof(scrape_sample_t, cpu_periods)},
    {"surge_cgroup_cpu_throttled_periods_total", offsetof(scrape_sample_t, cpu_throttled_periods)},
    {"surge_cgroup_cpu_throttled_seconds_total", offsetof(scrape_sample_t, cpu_throttled_s)},
    {"surge_cgroup_memory_oom_kills_total", offsetof(scrape_sample_t, oom_kills)},
};

#define KNOWN_COUNT (sizeof(known) / sizeof(known[0]))
#define FIELD_COUNT                                                                                \
	((sizeof(scrape_sample_t) - offsetof(scrape_sample_t, cpu_seconds)) / sizeof(double))

typedef struct parse_ctx {
	scrape_sample_t *sample;
	int source[FIELD_COUNT]; /* which known[] entry filled each field; -1 none yet */
	size_t found;
} parse_ctx_t;

static void on_sample(void *ctx, const prom_sample_t *s)
{
	parse_ctx_t *c = ctx;

	for (size_t k = 0; k < KNOWN_COUNT; k++) {
		size_t f =
		    (known[k].field - offsetof(scrape_sample_t, cpu_seconds)) / sizeof(double);
		double *v = (double *)((char *)c->sample + known[k].field);

		if (!prom_name_is(s, known[k].name))
			continue;
		if (c->source[f] >= 0 && c->source[f] != (int)k)
			return;
		if (c->source[f] < 0) {
			c->source[f] = (int)k;
			*v = 0;
		}
		if (!isnan(s->value)) /* a NaN series says "unknown", not "poison the sum" */
			*v += s->value;
		c->found++;
		return;
	}
}

bool scrape_parse(const char *text, size_t len, scrape_sample_t *sample, uint64_t *bad_lines)
{
	parse_ctx_t c = {.sample = sample};
	prom_stats_t st;
	double *fields = &sample->cpu_seconds;

	for (size_t f = 0; f < FIELD_COUNT; f++) {
		fields[f] = NAN;
		c.source[f] = -1;
	}
	prom_parse(text, len, on_sample, &c, &st);
	if (bad_lines)
		*bad_lines += st.bad_lines;
	return c.found > 0;
}

int scrape_check_url(const char *text, char *err, size_t errlen)
{
	url_t u;

	if (url_parse(text, &u, err, errlen) < 0)
		return -EINVAL;
	if (u.tls) {
		snprintf(err, errlen, "https is not supported for scraping; use http://");
		return -EINVAL;
	}
	return 0;
}

static void record_error(scrape_t *s, const char *what)
{
	s->series.errors++;
	snprintf(s->series.last_error, sizeof(s->series.last_error), "%s", what);
}

static void keep(scrape_t *s, const scrape_sample_t *x)
{
	scrape_series_t *ser = &s->series;

	if (ser->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		scrape_sample_t *grown;

		if (cap > SCRAPE_MAX_SAMPLES)
			cap = SCRAPE_MAX_SAMPLES;
		grown = cap > s->cap ? realloc(ser->samples, cap * sizeof(*grown)) : NULL;
		if (!grown) {
			ser->dropped++;
			return;
		}
		ser->samples = grown;
		s->cap = cap;
	}
	ser->samples[ser->count++] = *x;
	if (s->listener) /* only what the series keeps: a live view agrees with the end's */
		s->listener(s->listener_ctx, x);
}

/* One scrape: fetched, parsed, kept; a failure is counted and remembered. */
static bool take_sample(scrape_t *s, char *err, size_t errlen)
{
	scrape_sample_t x;
	char why[160];

	s->series.attempts++;
	if (!s->resolved) {
		if (net_resolve(s->url.host, s->url.port, &s->addr, why, sizeof(why)) < 0)
			goto fail;
		s->resolved = true;
	}
	if (scrape_http_get(&s->url, &s->addr, SCRAPE_TIMEOUT_NS, &s->body, why, sizeof(why)) < 0)
		goto fail;
	x.wall_ns = clock_wall_ns();
	if (!scrape_parse(s->body.data, s->body.len, &x, &s->series.bad_lines)) {
		snprintf(why, sizeof(why), "no process_* or other known metric in the response");
		goto fail;
	}
	keep(s, &x);
	return true;
fail:
	record_error(s, why);
	if (err)
		snprintf(err, errlen, "%s", why);
	return false;
}

static void *sampler(void *arg)
{
	scrape_t *s = arg;
	uint64_t next = clock_now_ns() + SCRAPE_INTERVAL_NS, last = clock_now_ns();
	struct timespec ts;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping) {
		ts.tv_sec = (time_t)(next / NS_PER_S);
		ts.tv_nsec = (long)(next % NS_PER_S);
		if (pthread_cond_timedwait(&s->wake, &s->lock, &ts) != ETIMEDOUT || s->stopping)
			continue;
		pthread_mutex_unlock(&s->lock);
		take_sample(s, NULL, 0);
		last = clock_now_ns();
		next += SCRAPE_INTERVAL_NS;
		if (next < last) /* a slow scrape: skip the ticks it overran, keep the cadence */
			next = last + SCRAPE_INTERVAL_NS - (last - next) % SCRAPE_INTERVAL_NS;
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	/* the last part of the run: unless a sample was taken just now */
	if (clock_now_ns() - last > SCRAPE_INTERVAL_NS / 4)
		take_sample(s, NULL, 0);
	return NULL;
}

scrape_t *scrape_start(const char *url_text, scrape_listener_fn listener, void *ctx, char *warning,
                       size_t warnlen)
{
	scrape_t *s = calloc(1, sizeof(*s));
	pthread_condattr_t attr;

	warning[0] = '\0';
	if (!s) {
		snprintf(warning, warnlen, "out of memory");
		return NULL;
	}
	if (scrape_check_url(url_text, warning, warnlen) < 0 ||
	    url_parse(url_text, &s->url, warning, warnlen) < 0) {
		free(s);
		return NULL;
	}
	snprintf(s->series.url, sizeof(s->series.url), "%s", url_text);
	s->listener = listener;
	s->listener_ctx = ctx;
	buf_init(&s->body, SCRAPE_BODY_MAX);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &attr);
	pthread_condattr_destroy(&attr);
	take_sample(s, warning, warnlen);
	if (pthread_create(&s->thread, NULL, sampler, s) != 0) {
		snprintf(warning, warnlen, "cannot start the scraping thread");
		pthread_cond_destroy(&s->wake);
		pthread_mutex_destroy(&s->lock);
		buf_free(&s->body);
		free(s->series.samples);
		free(s);
		return NULL;
	}
	return s;
}

void scrape_stop(scrape_t *s, scrape_series_t *out)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	*out = s->series;
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	buf_free(&s->body);
	free(s);
}

void scrape_series_free(scrape_series_t *series)
{
	free(series->samples);
	memset(series, 0, sizeof(*series));
}
