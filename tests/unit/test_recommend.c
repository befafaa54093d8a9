/* Unit tests for the recommendation rules (report/recommend.h) with synthetic figures — a
 * CPU-bound target, an idle one, errors, memory, throughput, no scrape — and the cost. */
#include "test.h"

#include <math.h>

#include "report/recommend.h"

static recommendation_t recs[RECOMMEND_MAX];

/* A clean closed-model run: p95 40 ms against 200, no errors, 500 req/s. */
static void base(recommend_input_t *in)
{
	recommend_input_init(in);
	in->p95_ms = 40;
	in->target_p95_ms = 200;
	in->max_error_rate = 0.05;
	in->requests = 5000;
	in->rps = 500;
	in->throughput_ok = true;
	in->connections = 16;
}

static void scraped(recommend_input_t *in, double cores_avg, double capacity)
{
	in->scraped = true;
	in->cpu_cores_avg = cores_avg;
	in->cpu_cores_max = cores_avg * 1.05;
	in->cpu_capacity_cores = capacity;
	in->cpu_basis = "workers";
	in->cpu_utilisation = cores_avg / capacity;
	in->in_flight_max = 3;
}

static const recommendation_t *find(int n, const char *kind)
{
	for (int i = 0; i < n; i++)
		if (strcmp(recs[i].kind, kind) == 0)
			return &recs[i];
	return NULL;
}

static double fig(const recommendation_t *r, const char *name)
{
	for (int i = 0; r && i < r->figure_count; i++)
		if (strcmp(r->figures[i].name, name) == 0)
			return r->figures[i].value;
	return NAN;
}

TEST(recommend_replicas_formula)
{
	CHECK_INT(recommend_replicas(1, 0.98), 2); /* ceil(1.4) */
	CHECK_INT(recommend_replicas(3, 0.9), 4);  /* ceil(3.857) */
	CHECK_INT(recommend_replicas(2, 0.35), 1); /* exactly 1, not 2 */
	CHECK_INT(recommend_replicas(10, 0.1), 2); /* ceil(1.43) */
	CHECK_INT(recommend_replicas(4, 0.7), 4);  /* at the target: unchanged */
	CHECK_INT(recommend_replicas(0, 0.98), 2); /* 0 replicas means one */
	CHECK_INT(recommend_replicas(5, NAN), 1);
}

TEST(recommend_cpu_bound_scales_out)
{
	recommend_input_t in;
	const recommendation_t *cpu, *lat;
	int n;

	base(&in);
	in.p95_ms = 320; /* 16 connections queueing on one busy worker */
	scraped(&in, 0.97, 1);
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	cpu = find(n, "cpu");
	lat = find(n, "latency");
	CHECK(cpu != NULL && lat != NULL);
	if (!cpu || !lat)
		return;
	CHECK(!find(n, "scale_in") && !find(n, "healthy"));
	CHECK_INT(recs[0].severity, REC_CRITICAL);
	CHECK_STR(recs[0].kind, "cpu");
	CHECK_NEAR(fig(cpu, "cpu_utilisation"), 0.97, 1e-9);
	CHECK_NEAR(fig(cpu, "replicas_needed"), 2, 0);
	CHECK_NEAR(fig(lat, "replicas_needed"), 2, 0);
	CHECK(strstr(cpu->detail, "0.97 cores") != NULL);
	CHECK(strstr(cpu->detail, "ceil(1 × 0.97 / 0.7) = 2") != NULL);
	CHECK(strstr(cpu->detail, "lower bound") != NULL);
	CHECK(strstr(lat->title, "2 replicas") != NULL);
}

TEST(recommend_open_model_scales_by_demand)
{
	recommend_input_t in;
	const recommendation_t *cpu;
	int n;

	base(&in);
	in.p95_ms = 900;
	in.asked_rps = 1000; /* asked twice what was served */
	in.rps = 500;
	in.throughput_ok = false;
	in.dropped = 10;
	scraped(&in, 1.8, 2); /* 90 % */
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	cpu = find(n, "cpu");
	CHECK(cpu != NULL);
	if (!cpu)
		return;
	/* the load wanted 90 % × 1000 / 500 = 180 %: ceil(1 × 1.8 / 0.7) = 3 */
	CHECK_NEAR(fig(cpu, "replicas_needed"), 3, 0);
	cpu = find(n, "throughput");
	CHECK(cpu && strstr(cpu->detail, "CPU is the bottleneck") != NULL);
}

TEST(recommend_idle_target_scales_in)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	in.replicas = 4;
	in.cost_per_hour = 0.5;
	scraped(&in, 0.1, 2); /* 5 % of 2 cores on each of 4 replicas */
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK_INT(n, 1);
	r = find(n, "scale_in");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(r->severity, REC_INFO);
	CHECK(!find(n, "cpu") && !find(n, "latency"));
	/* ceil(4 × 0.05 / 0.7) = 1 */
	CHECK_NEAR(fig(r, "replicas_needed"), 1, 0);
	CHECK_NEAR(fig(r, "cost_per_hour_usd_needed"), 0.5, 1e-12);
	CHECK(strstr(r->title, "1 replicas") != NULL);
}

TEST(recommend_idle_single_replica_suggests_smaller)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	scraped(&in, 0.07, 1);
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "scale_in");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(strstr(r->detail, "0.10 cores") != NULL);
}

TEST(recommend_middle_load_is_healthy)
{
	recommend_input_t in;
	int n;

	base(&in);
	scraped(&in, 0.5, 1);
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK_INT(n, 1);
	CHECK_STR(recs[0].kind, "healthy");
	CHECK(strstr(recs[0].detail, "50 %") != NULL);
}

TEST(recommend_errors_come_first)
{
	recommend_input_t in;
	int n;

	base(&in);
	in.error_rate = 0.12;
	in.p95_ms = 450;
	scraped(&in, 0.95, 1);
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK(n >= 3);
	CHECK_STR(recs[0].kind, "errors");
	CHECK_INT(recs[0].severity, REC_CRITICAL);
	CHECK(strstr(recs[0].title, "before scaling") != NULL);
	CHECK(strstr(recs[0].detail, "12.00 % of 5000") != NULL);
	CHECK_NEAR(fig(&recs[0], "error_rate"), 0.12, 1e-12);
	/* errors over target: an idle target is not "over-provisioned" */
	scraped(&in, 0.05, 1);
	in.p95_ms = 40;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK(!find(n, "scale_in"));
}

TEST(recommend_memory_oom_risk)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	scraped(&in, 0.5, 1);
	in.rss_bytes_max = 460.0 * 1024 * 1024;
	in.memory_limit_bytes = 512.0 * 1024 * 1024;
	in.memory_utilisation = 460.0 / 512;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "memory");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INT(r->severity, REC_CRITICAL);
	CHECK(strstr(r->detail, "460.0 MiB of a 512.0 MiB") != NULL);
	/* 80 % is below the alarm */
	in.memory_utilisation = 0.8;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK(!find(n, "memory"));
}

TEST(recommend_slow_but_idle_names_the_bottleneck)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	in.p95_ms = 2500;
	scraped(&in, 0.1, 1);
	in.pool_waits = 40;
	in.pool_timeouts = 3;
	in.pool_wait_ms_mean = 800;
	in.in_flight_max = 16;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "latency");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(strstr(r->title, "not the limit") != NULL);
	CHECK(strstr(r->detail, "database connection") != NULL);
	CHECK(strstr(r->detail, "up to 16 requests being handled") != NULL);
	CHECK_NEAR(fig(r, "pool_waits"), 40, 0);
	CHECK(!find(n, "scale_in")); /* slow: never over-provisioned */
}

TEST(recommend_without_scrape_says_utilisation_unknown)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	in.p95_ms = 300;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "latency");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(strstr(r->detail, "unknown") != NULL);
	CHECK(strstr(r->detail, "--scrape") != NULL);
	CHECK(!find(n, "cpu") && !find(n, "scale_in"));
	/* clean and unscraped: healthy, with a hint */
	base(&in);
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK_INT(n, 1);
	CHECK_STR(recs[0].kind, "healthy");
	CHECK(strstr(recs[0].detail, "--scrape") != NULL);
}

TEST(recommend_low_throughput)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	in.min_rps = 2000;
	in.throughput_ok = false;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "throughput");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(strstr(r->detail, "500.0 req/s against 2000.0 targeted (25 %)") != NULL);
	CHECK_NEAR(fig(r, "goal_rps"), 2000, 0);
}

TEST(recommend_nothing_measured)
{
	recommend_input_t in;
	int n;

	base(&in);
	in.requests = 0;
	in.p95_ms = NAN;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK_INT(n, 1);
	CHECK_STR(recs[0].kind, "no_data");
}

TEST(recommend_cost_per_million)
{
	report_cost_t c = {.per_hour_usd = 0.10, .replicas = 2};

	recommend_cost(&c, 50);
	/* (0.10 × 2) / (50 × 3600) × 1e6 = 1.1111 */
	CHECK_NEAR(c.per_million_requests_usd, 0.2 / 180000 * 1e6, 1e-9);
	CHECK_NEAR(c.total_per_hour_usd, 0.2, 1e-12);
	c = (report_cost_t){.per_hour_usd = 3.6};
	recommend_cost(&c, 1000);
	CHECK_INT(c.replicas, 1);
	CHECK_NEAR(c.per_million_requests_usd, 1.0, 1e-9);
	recommend_cost(&c, 0);
	CHECK(isnan(c.per_million_requests_usd));
}

/* A target held back by its CPU limit in 60 % of periods while at only 45 % of that limit on
 * average: the throttling rule names it (with its figures) even though no CPU rule fires. */
TEST(recommend_cpu_throttling_and_oom_kills)
{
	recommend_input_t in;
	const recommendation_t *r;
	int n;

	base(&in);
	scraped(&in, 0.09, 0.2);
	in.cpu_basis = "cgroup_limit";
	in.cpu_limit_cores = 0.2;
	in.cpu_periods = 100;
	in.cpu_throttled_periods = 60;
	in.cpu_throttled_share = 0.6;
	in.cpu_throttled_s = 4.2;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "cpu_throttling");
	CHECK(r != NULL);
	CHECK(r && strstr(r->title, "throttled in 60 %") != NULL);
	CHECK(r && strstr(r->detail, "60 of 100 scheduler periods") != NULL);
	CHECK(r && strstr(r->detail, "4.20 s") != NULL);
	CHECK_NEAR(fig(r, "cpu_throttled_share"), 0.6, 1e-9);
	CHECK(find(n, "healthy") == NULL);
	/* under the alarm: no advice about it */
	in.cpu_throttled_share = 0.05;
	in.cpu_throttled_periods = 5;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	CHECK(find(n, "cpu_throttling") == NULL);
	/* an OOM kill is critical, and first */
	in.oom_kills = 1;
	in.memory_limit_bytes = 128 * 1048576.0;
	n = recommend_compute(&in, recs, RECOMMEND_MAX);
	r = find(n, "oom_kill");
	CHECK(r != NULL && r == &recs[0] && r->severity == REC_CRITICAL);
	CHECK(r && strstr(r->detail, "128.0 MiB limit") != NULL);
}
