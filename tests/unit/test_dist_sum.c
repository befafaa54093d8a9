/* Tests for dist_sum (src/dist/dist_sum.c): the shards' seconds summed per second and handed
 * over as one delta each give the very result that adding every shard's delta one by one
 * gives — counters, status codes, every histogram bucket and moment, endpoints and tallies
 * met in different orders — and what does not fit (more seconds open than the sums hold, more
 * names than a result keeps) is refused with nothing summed. */
#include <errno.h>
#include <stdlib.h>

#include "dist/dist_sum.h"
#include "result/delta_wire.h"
#include "test.h"
#include "test_points.h"

static uint64_t seed = 11;

static uint64_t next(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 33;
}

static void fill(hist_t *scratch, result_hist_t *h, int n, uint64_t spread)
{
	hist_reset(scratch);
	for (int i = 0; i < n; i++)
		hist_record(scratch, 1 + (int64_t)(next() % spread));
	result_hist_init(h);
	CHECK_INT(result_hist_set(NULL, h, scratch), 0);
}

/* Shard k's delta of `second`: endpoints and tallies in an order of its own. */
typedef struct made {
	delta_t d;
	delta_endpoint_t eps[4];
	delta_tally_t tallies[2];
} made_t;

static void make(made_t *m, hist_t *scratch, int k, int64_t second)
{
	static const char *names[4] = {"/a", "/b", "/c", "/d"};

	memset(m, 0, sizeof(*m));
	m->d = (delta_t){.second = second,
	                 .length_s = k == 2 ? 1.25 : 1,
	                 .users = 3,
	                 .target = 10,
	                 .busiest_cpu = 0.1 * k,
	                 .due = 100,
	                 .due_late = (uint64_t)k,
	                 .endpoints = m->eps,
	                 .endpoint_count = 3,
	                 .tallies = m->tallies,
	                 .tally_count = k == 1 ? 1 : 2};
	m->d.counters.requests = 100 + (uint64_t)k;
	m->d.counters.status[200] = 90;
	m->d.counters.status[500 + k] = 10;
	m->d.counters.errors_by_kind[GEN_ERR_RESET] = (uint64_t)k;
	fill(scratch, &m->d.latency, 500, 1u << (12 + k));
	fill(scratch, &m->d.service, 400, 5000);
	fill(scratch, &m->d.sched_lag, k ? 20 : 0, 300);
	for (int i = 0; i < 3; i++) {
		delta_endpoint_t *e = &m->eps[i];

		snprintf(e->method, sizeof(e->method), "GET");
		snprintf(e->name, sizeof(e->name), "%s", names[(i + k) % 4]);
		e->counters.requests = 30 + (uint64_t)i;
		e->counters.status[200] = 30 + (uint64_t)i;
		fill(scratch, &e->latency, 30 + 10 * i, 1u << (8 + 3 * i));
	}
	/* a check and a trend; shard 1 has the trend only (so it comes first there) */
	m->tallies[0] = (delta_tally_t){.kind = GEN_TALLY_CHECK, .passes = 4, .fails = 1};
	snprintf(m->tallies[0].name, sizeof(m->tallies[0].name), "status is 200");
	result_hist_init(&m->tallies[0].hist);
	m->tallies[1] = (delta_tally_t){.kind = GEN_TALLY_TREND, .value = 0.5 * k};
	snprintf(m->tallies[1].name, sizeof(m->tallies[1].name), "size");
	fill(scratch, &m->tallies[1].hist, 7, 100000);
	if (k == 1) {
		m->tallies[0] = m->tallies[1];
		result_hist_init(&m->tallies[1].hist);
	}
}

static void unmake(made_t *m)
{
	free(m->d.latency.buckets);
	free(m->d.service.buckets);
	free(m->d.sched_lag.buckets);
	for (int i = 0; i < 3; i++)
		free(m->eps[i].latency.buckets);
	for (int i = 0; i < 2; i++)
		free(m->tallies[i].hist.buckets);
}

typedef struct into {
	result_t *r;
	int handed;
} into_t;

static void hand(void *ctx, delta_t *d)
{
	into_t *x = ctx;

	x->handed++;
	d->target = 30; /* the table sets the fleet's target */
	CHECK_INT(result_add(x->r, d), 0);
}

static bool same_hist(const result_hist_t *a, const result_hist_t *b)
{
	return result_hist_equal(a, b) && a->sum == b->sum && a->sum_sq == b->sum_sq &&
	       a->clamped == b->clamped && a->min == b->min && a->max == b->max;
}

static void check_same(const result_t *a, const result_t *b)
{
	CHECK(memcmp(&a->counters, &b->counters, sizeof(a->counters)) == 0);
	CHECK(same_hist(&a->latency, &b->latency));
	CHECK(same_hist(&a->service, &b->service));
	CHECK(same_hist(&a->generator.sched_lag, &b->generator.sched_lag));
	CHECK_INT(a->endpoint_count, b->endpoint_count);
	for (uint32_t i = 0; i < a->endpoint_count; i++) {
		const result_endpoint_t *e = &a->endpoints[i];
		int64_t j = result_endpoint_find(b, e->method, e->name);

		CHECK(j >= 0);
		if (j < 0)
			continue;
		CHECK(memcmp(&e->counters, &b->endpoints[j].counters, sizeof(e->counters)) == 0);
		CHECK(same_hist(&e->latency, &b->endpoints[j].latency));
	}
	CHECK_INT(a->tally_count, b->tally_count);
	for (uint32_t i = 0; i < a->tally_count && i < b->tally_count; i++) {
		const result_tally_t *t = &a->tallies[i], *u = NULL;

		for (uint32_t j = 0; j < b->tally_count; j++)
			if (b->tallies[j].kind == t->kind &&
			    strcmp(b->tallies[j].name, t->name) == 0)
				u = &b->tallies[j];
		CHECK(u != NULL);
		if (!u)
			continue;
		CHECK(t->passes == u->passes && t->fails == u->fails && t->value == u->value);
		CHECK(same_hist(&t->hist, &u->hist));
	}
	CHECK_INT(a->point_count, b->point_count);
	for (size_t i = 0; i < a->point_count && i < b->point_count; i++) {
		const result_point_t pa = test_point(a, i), qb = test_point(b, i);
		const result_point_t *p = &pa, *q = &qb;

		CHECK(p->length_s == q->length_s && p->users == q->users &&
		      p->target == q->target && p->requests == q->requests &&
		      p->errors == q->errors && p->due == q->due && p->due_late == q->due_late &&
		      p->busiest_cpu == q->busiest_cpu);
	}
}

TEST(dist_sum_hands_over_what_adding_each_shard_gives)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	dist_sum_t *s = dist_sum_new();
	result_t one_by_one, summed;
	into_t into = {.r = &summed};
	made_t m;

	result_init(&one_by_one);
	result_init(&summed);
	for (int64_t second = 0; second < 3; second++) {
		for (int k = 0; k < 3; k++) { /* 3 shards */
			make(&m, scratch, k, second);
			m.d.target = 30; /* what the table hands over as the fleet's */
			CHECK_INT(result_add(&one_by_one, &m.d), 0);
			m.d.target = 10;
			CHECK_INT(dist_sum_add(s, &m.d, NULL), 0);
			unmake(&m);
		}
		CHECK_INT(dist_sum_flush(s, second, hand, &into), 0);
		CHECK_INT(into.handed, second + 1); /* one delta a second */
	}
	check_same(&one_by_one, &summed);
	CHECK_INT(summed.endpoint_count, 4);
	CHECK_INT(summed.tally_count, 2);
	dist_sum_free(s);
	result_free(&one_by_one);
	result_free(&summed);
	free(scratch);
}

/* The same through the wire, as a coordinator does: each shard's delta encoded and decoded
 * (into one delta_wire_t, reused), added with the status codes the decoder listed. */
TEST(dist_sum_of_decoded_seconds_with_their_codes_is_exact)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	dist_sum_t *s = dist_sum_new();
	result_t one_by_one, summed;
	into_t into = {.r = &summed};
	delta_wire_t w;
	buf_t bytes;
	char err[300];
	made_t m;

	result_init(&one_by_one);
	result_init(&summed);
	delta_wire_init(&w);
	buf_init(&bytes, DELTA_WIRE_MAX);
	for (int64_t second = 0; second < 3; second++) {
		for (int k = 0; k < 3; k++) {
			result_t part;

			make(&m, scratch, k, second);
			m.d.target = 30;
			CHECK_INT(result_add(&one_by_one, &m.d), 0);
			result_init(&part);
			m.d.second = 0;
			CHECK_INT(result_add(&part, &m.d), 0);
			buf_reset(&bytes);
			CHECK_INT(delta_wire_encode(&part, second, &bytes), 0);
			CHECK_INT(delta_wire_decode("k", (const uint8_t *)bytes.data, bytes.len, &w,
			                            err, sizeof(err)),
			          0);
			CHECK(w.codes && w.codes[0].n == 2 && w.codes[1].n == 1);
			CHECK_INT(dist_sum_add(s, &w.d, w.codes), 0);
			result_free(&part);
			unmake(&m);
		}
		CHECK_INT(dist_sum_flush(s, second, hand, &into), 0);
	}
	check_same(&one_by_one, &summed);
	CHECK_INT(summed.counters.status[200], 9 * 90);
	CHECK_INT(summed.counters.status[502], 3 * 10);
	delta_wire_free(&w);
	buf_free(&bytes);
	dist_sum_free(s);
	result_free(&one_by_one);
	result_free(&summed);
	free(scratch);
}

TEST(dist_sum_refuses_what_does_not_fit_with_nothing_summed)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	dist_sum_t *s = dist_sum_new();
	result_t summed;
	into_t into = {.r = &summed};
	made_t m;

	result_init(&summed);
	for (int64_t second = 0; second < DIST_SUM_SECONDS; second++) {
		make(&m, scratch, 0, second);
		CHECK_INT(dist_sum_add(s, &m.d, NULL), 0);
		unmake(&m);
	}
	make(&m, scratch, 0, DIST_SUM_SECONDS);
	CHECK_INT(dist_sum_add(s, &m.d, NULL),
	          -ENOSPC); /* every sum is open: handed over as it is */
	unmake(&m);
	CHECK_INT(dist_sum_flush(s, 0, hand, &into), 0);
	CHECK_INT(into.handed, 1);
	make(&m, scratch, 0, DIST_SUM_SECONDS);
	CHECK_INT(dist_sum_add(s, &m.d, NULL), 0); /* a sum free again */
	unmake(&m);
	CHECK_INT(dist_sum_flush(s, INT64_MAX, hand, &into), 0);
	CHECK_INT(into.handed, DIST_SUM_SECONDS + 1);
	CHECK_INT(summed.counters.requests, 100 * (DIST_SUM_SECONDS + 1));
	/* more names in a second than a result keeps: the delta that would pass the bound is
	 * refused whole */
	{
		delta_endpoint_t *eps = calloc(RESULT_ENDPOINTS_MAX, sizeof(*eps));
		delta_t d = {.second = 50, .length_s = 1, .endpoints = eps};

		result_hist_init(&d.latency);
		result_hist_init(&d.service);
		result_hist_init(&d.sched_lag);
		for (int i = 0; i < RESULT_ENDPOINTS_MAX; i++) {
			snprintf(eps[i].method, sizeof(eps[i].method), "GET");
			snprintf(eps[i].name, sizeof(eps[i].name), "/%d", i);
			eps[i].counters.requests = 1;
			result_hist_init(&eps[i].latency);
		}
		d.endpoint_count = RESULT_ENDPOINTS_MAX - 1;
		d.counters.requests = RESULT_ENDPOINTS_MAX - 1;
		CHECK_INT(dist_sum_add(s, &d, NULL), 0);
		snprintf(eps[0].name, sizeof(eps[0].name), "/new-1");
		snprintf(eps[1].name, sizeof(eps[1].name), "/new-2");
		d.endpoint_count = 2;
		d.counters.requests = 2;
		CHECK_INT(dist_sum_add(s, &d, NULL), -ENOSPC);
		result_free(&summed);
		result_init(&summed);
		CHECK_INT(dist_sum_flush(s, INT64_MAX, hand, &into), 0);
		CHECK_INT(summed.endpoint_count, RESULT_ENDPOINTS_MAX - 1);
		CHECK_INT(summed.counters.requests, RESULT_ENDPOINTS_MAX - 1);
		free(eps);
	}
	dist_sum_free(s);
	result_free(&summed);
	free(scratch);
}
