/* Tests for the timeline's storage (result/result_timeline.c): a stream's sealed seconds
 * leave memory for the spill file, and every reader reads them back — the document, the
 * stats-history CSV, the HDR log and a merge are byte for byte those of the same stream kept
 * in memory; the result's memory stays flat over an hour of seconds; a spill file that cannot
 * be made or written keeps the seconds in memory and says why. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "report/report_outputs.h"
#include "result/result.h"
#include "test.h"
#include "test_points.h"

#define ENDPOINTS 2

typedef struct stream {
	uint64_t seed;
	delta_endpoint_t eps[ENDPOINTS];
	int64_t values[64];
	uint32_t scratch[64];
} stream_t;

static uint64_t next(uint64_t *seed)
{
	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	return *seed >> 33;
}

/* n values (µs) as sorted sparse pairs into h. */
static void sparse_of(result_hist_t *h, const int64_t *values, size_t n, uint32_t *scratch)
{
	for (size_t i = 0; i < n; i++) {
		size_t k = i;

		scratch[k] = (uint32_t)hist_index_of(values[i]);
		for (; k > 0 && scratch[k - 1] > scratch[k]; k--) {
			uint32_t x = scratch[k];

			scratch[k] = scratch[k - 1];
			scratch[k - 1] = x;
		}
	}
	free(h->buckets);
	h->buckets = calloc(n ? n : 1, sizeof(*h->buckets));
	h->cap = (uint32_t)(n ? n : 1);
	h->len = 0;
	h->total = n;
	h->min = INT64_MAX;
	h->max = 0;
	h->sum = h->sum_sq = 0;
	for (size_t i = 0; i < n; i++) {
		if (h->len && h->buckets[h->len - 1].index == scratch[i])
			h->buckets[h->len - 1].count++;
		else
			h->buckets[h->len++] = (result_bucket_t){scratch[i], 1};
		h->min = values[i] < h->min ? values[i] : h->min;
		h->max = values[i] > h->max ? values[i] : h->max;
		h->sum += (double)values[i];
		h->sum_sq += (double)values[i] * (double)values[i];
	}
}

static void stream_init(stream_t *s)
{
	memset(s, 0, sizeof(*s));
	s->seed = 42;
	for (int i = 0; i < ENDPOINTS; i++) {
		snprintf(s->eps[i].method, sizeof(s->eps[i].method), "GET");
		snprintf(s->eps[i].name, sizeof(s->eps[i].name), "/e%d", i);
		result_hist_init(&s->eps[i].latency);
	}
}

static void stream_free(stream_t *s)
{
	for (int i = 0; i < ENDPOINTS; i++)
		free(s->eps[i].latency.buckets);
}

/* One thread's delta of `second`: 32 responses whose latencies are drawn from 200 values (so
 * the run's histograms stop growing early: what grows after is the timeline), due counts. */
static void stream_second(stream_t *s, delta_t *d, int64_t second, double length_s)
{
	memset(d, 0, sizeof(*d));
	result_hist_init(&d->latency);
	result_hist_init(&d->service);
	result_hist_init(&d->sched_lag);
	d->second = second;
	d->length_s = length_s;
	d->users = 8;
	d->target = 100;
	d->busiest_cpu = (double)(next(&s->seed) % 100) / 100;
	d->due = 100;
	d->due_late = next(&s->seed) % 3;
	for (int i = 0; i < 32; i++)
		s->values[i] = 1000 + (int64_t)(next(&s->seed) % 200) * 10;
	sparse_of(&d->latency, s->values, 32, s->scratch);
	for (int e = 0; e < ENDPOINTS; e++) {
		memset(&s->eps[e].counters, 0, sizeof(s->eps[e].counters));
		sparse_of(&s->eps[e].latency, s->values + 16 * e, 16, s->scratch);
		s->eps[e].counters.requests = 16;
		s->eps[e].counters.status[200] = 16;
		s->eps[e].counters.bytes_in = 16 * 300;
		gen_counters_add(&d->counters, &s->eps[e].counters);
	}
	d->endpoints = s->eps;
	d->endpoint_count = ENDPOINTS;
}

static void delta_free(delta_t *d)
{
	free(d->latency.buckets);
	free(d->service.buckets);
	free(d->sched_lag.buckets);
}

/* Both results get the same stream of `seconds` seconds, two threads' deltas each, with
 * late deltas among them: a thread's second 40 s back (spilled by then) and 5 s back (sealed,
 * still in memory), and a starved pacer's due counts of an old second. */
static void feed(result_t *a, result_t *b, int64_t seconds)
{
	stream_t s;
	delta_t d;

	stream_init(&s);
	for (int64_t t = 0; t < seconds; t++) {
		for (int thread = 0; thread < 2; thread++) {
			stream_second(&s, &d, t, t + 1 == seconds ? 0.4 : 1);
			CHECK_INT(result_add(a, &d), 0);
			CHECK_INT(result_add(b, &d), 0);
			delta_free(&d);
		}
		if (t == 60 || t == 61) {
			stream_second(&s, &d, t - (t == 60 ? 40 : 5), 1);
			CHECK_INT(result_add(a, &d), 0);
			CHECK_INT(result_add(b, &d), 0);
			delta_free(&d);
		}
		if (t == 70) {
			delta_t due = {
			    .second = 3, .length_s = 1, .target = 100, .due = 7, .due_late = 7};

			CHECK_INT(result_add(a, &due), 0);
			CHECK_INT(result_add(b, &due), 0);
		}
	}
	stream_free(&s);
	a->started_wall_ns = b->started_wall_ns = 1700000000ull * 1000000000ull;
	a->has_started_at = b->has_started_at = true;
	a->config.open_model = b->config.open_model = true;
	CHECK_INT(result_seal(a), 0);
	CHECK_INT(result_seal(b), 0);
}

typedef int (*render_fn)(const result_t *r, buf_t *out);

static int render_csv(const result_t *r, buf_t *out)
{
	char err[256];

	return report_csv_history(r, out, err, sizeof(err));
}

static int render_hdrlog(const result_t *r, buf_t *out)
{
	char err[256];

	return report_hdrlog(r, out, err, sizeof(err));
}

/* A merge into an empty result copies: the copy's document. */
static int render_merged(const result_t *r, buf_t *out)
{
	result_t copy;
	int rc;

	result_init(&copy);
	rc = result_merge(&copy, r, NULL);
	if (rc == 0)
		rc = result_encode(&copy, out);
	result_free(&copy);
	return rc;
}

static bool same_output(const result_t *a, const result_t *b, render_fn render)
{
	buf_t x, y;
	bool same;

	buf_init(&x, 256u << 20);
	buf_init(&y, 256u << 20);
	same = render(a, &x) == 0 && render(b, &y) == 0 && x.len > 0 && x.len == y.len &&
	       memcmp(x.data, y.data, x.len) == 0;
	buf_free(&x);
	buf_free(&y);
	return same;
}

static int render_doc(const result_t *r, buf_t *out)
{
	return result_encode(r, out);
}

TEST(timeline_spilled_writes_the_same_document_as_kept_in_memory)
{
	result_t spilled, kept;

	result_init(&spilled);
	result_init(&kept);
	kept.spill.off = true;
	feed(&spilled, &kept, 300);
	/* the stream's seconds but its last few are out of memory, the other's all in */
	CHECK(spilled.window_first > 250);
	CHECK_INT(spilled.spill.error, 0);
	CHECK(spilled.spill.seconds >= spilled.window_first + 1); /* second 20 written again */
	CHECK_INT(kept.window_first, 0);
	CHECK_INT(spilled.point_count, 300);
	CHECK_INT(kept.point_count, 300);
	/* the late deltas landed: second 20 has three threads' parts, second 3 the due counts */
	CHECK_INT(test_point(&spilled, 20).deltas, 3);
	CHECK_INT(test_point(&spilled, 20).requests, 3 * 32);
	CHECK_INT(test_point(&spilled, 3).due, 2 * 100 + 7);
	CHECK_INT(spilled.dropped.deltas_lost, 0);
	CHECK(same_output(&spilled, &kept, render_doc));
	CHECK(same_output(&spilled, &kept, render_csv));
	CHECK(same_output(&spilled, &kept, render_hdrlog));
	CHECK(same_output(&spilled, &kept, render_merged));
	result_free(&spilled);
	result_free(&kept);
}

/* Figures set after the run (--scrape's target CPU and memory per second) reach a spilled
 * second as they reach one in memory. */
TEST(timeline_spilled_second_takes_an_update)
{
	result_t spilled, kept;
	result_point_t p;

	result_init(&spilled);
	result_init(&kept);
	kept.spill.off = true;
	feed(&spilled, &kept, 60);
	for (size_t i = 0; i < 60; i += 7) {
		p = test_point(&spilled, i);
		p.target_cpu_cores = 0.25 * (double)i;
		p.target_rss_bytes = 1e6 * (double)i;
		CHECK_INT(result_point_update(&spilled, i, &p), 0);
		CHECK_INT(result_point_update(&kept, i, &p), 0);
	}
	CHECK(spilled.window_first > 0);
	CHECK(test_point(&spilled, 7).target_rss_bytes == 7e6);
	CHECK(same_output(&spilled, &kept, render_doc));
	result_free(&spilled);
	result_free(&kept);
}

/* An hour of seconds: the result holds a few of them, not the hour. Kept in memory, each
 * second cost its point (about 180 bytes) and its histogram's text (about 100 here). */
TEST(timeline_memory_stays_flat_over_an_hour)
{
	result_t r;
	stream_t s;
	delta_t d;
	size_t at_ten_minutes = 0;

	result_init(&r);
	stream_init(&s);
	for (int64_t t = 0; t < 3600; t++) {
		stream_second(&s, &d, t, 1);
		CHECK_INT(result_add(&r, &d), 0);
		delta_free(&d);
		if (t == 600)
			at_ten_minutes = result_memory(&r);
	}
	stream_free(&s);
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  result_memory: %zu bytes at 10 min, %zu at 60 min\n",
		        at_ten_minutes, result_memory(&r));
	CHECK(result_memory(&r) <= at_ten_minutes + 4096);
	CHECK_INT(r.point_count, 3600);
	result_free(&r);
}

/* No spill file can be made (its directory does not exist): every second stays in memory,
 * the reason is kept for the run to say, and the document is the same. */
TEST(timeline_without_a_spill_file_keeps_every_second)
{
	result_t spilled, kept;
	const char *before = getenv("TMPDIR");
	char *saved = before ? strdup(before) : NULL;

	setenv("TMPDIR", "/nonexistent/surge-test", 1);
	result_init(&spilled);
	result_init(&kept);
	kept.spill.off = true;
	feed(&spilled, &kept, 80);
	if (saved)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	free(saved);
	CHECK_INT(spilled.spill.error, -ENOENT);
	CHECK_INT(spilled.window_first, 0);
	CHECK(same_output(&spilled, &kept, render_doc));
	result_free(&spilled);
	result_free(&kept);
}

/* The spill file stops taking writes part-way (the file-size limit, EFBIG): the seconds
 * written are read back, the rest stay in memory, nothing is lost. */
TEST(timeline_write_failure_keeps_the_rest_in_memory)
{
	result_t spilled, kept;
	struct rlimit old, small;
	void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);

	CHECK_INT(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = 16384; /* about 85 seconds' records, past the late deltas */
	result_init(&spilled);
	result_init(&kept);
	kept.spill.off = true;
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &small), 0);
	feed(&spilled, &kept, 200);
	CHECK_INT(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, old_handler);
	CHECK_INT(spilled.spill.error, -EFBIG);
	CHECK(spilled.window_first > 61 && spilled.window_first < 150);
	CHECK(same_output(&spilled, &kept, render_doc));
	result_free(&spilled);
	result_free(&kept);
}
