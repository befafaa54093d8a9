/* Tests for delta_wire (src/result/delta_wire.c): a second summed from several deltas —
 * endpoints, tallies, status codes, error kinds, histograms with awkward sums — written and
 * read back into a delta that adds up to the same result, figure by figure and bucket by
 * bucket; and every malformed text refused with the key that is wrong. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "result/delta_wire.h"
#include "result/result.h"
#include "test.h"

static uint64_t seed = 7;

static uint64_t next(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	return seed >> 33;
}

static void random_hist(hist_t *d, result_hist_t *h, int n, uint64_t spread)
{
	hist_reset(d);
	for (int i = 0; i < n; i++)
		hist_record(d, 1 + (int64_t)(next() % spread));
	result_hist_init(h);
	CHECK_INT(result_hist_set(NULL, h, d), 0);
}

/* A second's sum of three made-up thread deltas. */
static void make_sum(result_t *sum, hist_t *scratch)
{
	for (int t = 0; t < 3; t++) {
		delta_endpoint_t eps[3];
		delta_tally_t tallies[2];
		delta_t d = {.second = 0,
		             .length_s = t == 2 ? 0.625 : 1,
		             .users = 10,
		             .target = 33.3333333333,
		             .busiest_cpu = 0.1 * (t + 1),
		             .due = 100,
		             .due_late = 3,
		             .endpoints = eps,
		             .endpoint_count = 3,
		             .tallies = tallies,
		             .tally_count = 2};

		memset(eps, 0, sizeof(eps));
		memset(tallies, 0, sizeof(tallies));
		for (int i = 0; i < 3; i++) {
			snprintf(eps[i].method, sizeof(eps[i].method), i == 2 ? "POST" : "GET");
			snprintf(eps[i].name, sizeof(eps[i].name), i ? "/users/{id} \"é\"" : "/");
			eps[i].counters.requests = next() % 1000;
			eps[i].counters.status[200] = eps[i].counters.requests;
			eps[i].counters.status[503] = i;
			eps[i].counters.errors_by_kind[GEN_ERR_RESET] = (uint64_t)t;
			random_hist(scratch, &eps[i].latency, 300, 1u << (10 + 2 * i));
		}
		tallies[0].kind = GEN_TALLY_CHECK;
		snprintf(tallies[0].name, sizeof(tallies[0].name), "status is 200");
		tallies[0].passes = 5;
		tallies[0].fails = 1;
		result_hist_init(&tallies[0].hist);
		tallies[1].kind = GEN_TALLY_TREND;
		snprintf(tallies[1].name, sizeof(tallies[1].name), "cart_size");
		tallies[1].value = 0.1; /* a sum that is not exact in binary */
		random_hist(scratch, &tallies[1].hist, 50, 100000);
		random_hist(scratch, &d.latency, 900, 1u << 20);
		random_hist(scratch, &d.service, 900, 1u << 12);
		random_hist(scratch, &d.sched_lag, 10, 100);
		d.counters.requests = 900;
		d.counters.errors = 7;
		d.counters.bytes_in = 123456789;
		d.counters.status[200] = 890;
		d.counters.status[999] = 10;
		d.counters.errors_by_kind[GEN_ERR_RESOURCE] = 2;
		d.counters.script_errors = 1;
		CHECK_INT(result_add(sum, &d), 0);
		for (int i = 0; i < 3; i++)
			result_hist_free(NULL, &eps[i].latency);
		result_hist_free(NULL, &tallies[1].hist);
		result_hist_free(NULL, &d.latency);
		result_hist_free(NULL, &d.service);
		result_hist_free(NULL, &d.sched_lag);
	}
}

static bool same(const result_hist_t *a, const result_hist_t *b)
{
	return result_hist_equal(a, b) && a->sum == b->sum && a->sum_sq == b->sum_sq &&
	       a->clamped == b->clamped;
}

TEST(delta_wire_round_trip_is_exact)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	result_t sum, back;
	delta_wire_t w;
	buf_t text;
	char err[256] = "";

	result_init(&sum);
	result_init(&back);
	make_sum(&sum, scratch);
	buf_init(&text, DELTA_WIRE_MAX);
	CHECK_INT(delta_wire_encode(&sum, 41, &text), 0);
	CHECK_INT(delta_wire_decode("shard 2", text.data, text.len, &w, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(w.d.second, 41);
	w.d.second = 0;
	CHECK_INT(result_add(&back, &w.d), 0);
	CHECK(memcmp(&back.counters, &sum.counters, sizeof(sum.counters)) == 0);
	CHECK(same(&back.latency, &sum.latency));
	CHECK(same(&back.service, &sum.service));
	CHECK(same(&back.generator.sched_lag, &sum.generator.sched_lag));
	CHECK_INT(back.endpoint_count, sum.endpoint_count);
	for (uint32_t i = 0; i < sum.endpoint_count && i < back.endpoint_count; i++) {
		CHECK_STR(back.endpoints[i].name, sum.endpoints[i].name);
		CHECK_STR(back.endpoints[i].method, sum.endpoints[i].method);
		CHECK(memcmp(&back.endpoints[i].counters, &sum.endpoints[i].counters,
		             sizeof(gen_counters_t)) == 0);
		CHECK(same(&back.endpoints[i].latency, &sum.endpoints[i].latency));
	}
	CHECK_INT(back.tally_count, sum.tally_count);
	for (uint32_t i = 0; i < sum.tally_count && i < back.tally_count; i++) {
		CHECK_INT(back.tallies[i].kind, sum.tallies[i].kind);
		CHECK(back.tallies[i].value == sum.tallies[i].value);
		CHECK_INT(back.tallies[i].passes, sum.tallies[i].passes);
		CHECK(same(&back.tallies[i].hist, &sum.tallies[i].hist));
	}
	CHECK(back.points[0].length_s == sum.points[0].length_s);
	CHECK(back.points[0].target == sum.points[0].target);
	CHECK(back.points[0].busiest_cpu == sum.points[0].busiest_cpu);
	CHECK_INT(back.points[0].users, sum.points[0].users);
	CHECK_INT(back.points[0].due_late, sum.points[0].due_late);
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  a second of 3 endpoints and 2 tallies: %zu bytes\n", text.len);
	delta_wire_free(&w);
	buf_free(&text);
	result_free(&sum);
	result_free(&back);
	free(scratch);
}

/* text with `from` replaced by `to` once, decoded: the error, or "" when it decoded. */
static const char *decode_edited(const char *text, const char *from, const char *to, char *err,
                                 size_t errlen)
{
	const char *at = strstr(text, from);
	char edited[8192];
	delta_wire_t w;

	err[0] = '\0';
	if (!at) {
		snprintf(err, errlen, "(test) '%s' not in the text", from);
		return err;
	}
	snprintf(edited, sizeof(edited), "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	if (delta_wire_decode("shard 1", edited, strlen(edited), &w, err, errlen) == 0)
		err[0] = '\0';
	delta_wire_free(&w);
	return err;
}

TEST(delta_wire_refuses_what_breaks_a_bound_naming_the_key)
{
	static const struct {
		const char *from, *to, *says;
	} cases[] = {
	    {"\"v\":1", "\"v\":2", "shard 1: v: version other"},
	    {"\"v\":1,", "", "shard 1: v: version missing"},
	    {"\"second\":5", "\"second\":-5", "shard 1: second: expected an integer"},
	    {"\"length_s\":1", "\"length_s\":61",
	     "shard 1: length_s: expected a number from 0 to 60"},
	    {"\"length_s\":1", "\"length_s\":-0.5",
	     "shard 1: length_s: expected a number from 0 to 60"},
	    {"\"b\":[[10,2],[12,1]]", "\"b\":[[12,2],[10,1]]",
	     "shard 1: latency.b[1]: bucket indices must increase"},
	    {"\"b\":[[10,2],[12,1]]", "\"b\":[[10,2],[12,2]]",
	     "shard 1: latency: the buckets count 4, n says 3"},
	    {"\"b\":[[10,2],[12,1]]", "\"b\":[[10,2],[99999,1]]",
	     "shard 1: latency.b[1]: expected"},
	    {"\"b\":[[10,2],[12,1]]", "\"b\":[[10,2],[12,0]]", "shard 1: latency.b[1]: expected"},
	    {"\"kinds\":[0,0,0,0,0,0,0,0,0]", "\"kinds\":[0,0]",
	     "shard 1: counters: kinds: expected"},
	    {"\"status\":[]", "\"status\":[[1000,1]]", "shard 1: counters.status[0]: expected"},
	    {"\"name\":\"/x\"", "\"name\":\"/\\u0000x\"", "shard 1: \\u0000 is not allowed"},
	    {"\"method\":\"GET\"", "\"method\":\"GETGETGETGETGETGET\"",
	     "shard 1: endpoints[0].method: expected a string of 1 to 15 bytes"},
	    {"\"kind\":\"check\"", "\"kind\":\"bogus\"", "shard 1: tallies[0]: kind: expected"},
	    {"\"due_late\":0", "\"due_late\":1",
	     "shard 1: due_late: expected an integer from 0 to 0"},
	    {"\"users\":2", "\"users\":2,\"users\":3", "shard 1: duplicate object key"},
	    {"}]}", "}]", "shard 1: "},
	};
	const char *text =
	    "{\"v\":1,\"second\":5,\"length_s\":1,\"users\":2,\"target\":2,\"busiest_cpu\":0.1,"
	    "\"due\":0,\"due_late\":0,\"counters\":{\"requests\":3,\"errors\":0,\"bytes_in\":0,"
	    "\"bytes_out\":0,\"late\":0,\"dropped\":0,\"unfinished\":0,\"checks_failed\":0,"
	    "\"script_errors\":0,"
	    "\"status\":[],\"kinds\":[0,0,0,0,0,0,0,0,0]},"
	    "\"latency\":{\"n\":3,\"min\":10,\"max\":12,\"sum\":32,\"sum_sq\":344,\"clamped\":0,"
	    "\"b\":[[10,2],[12,1]]},"
	    "\"service\":{\"n\":0,\"sum\":0,\"sum_sq\":0,\"clamped\":0,\"b\":[]},"
	    "\"sched_lag\":{\"n\":0,\"sum\":0,\"sum_sq\":0,\"clamped\":0,\"b\":[]},"
	    "\"endpoints\":[{\"method\":\"GET\",\"name\":\"/x\",\"counters\":{\"requests\":3,"
	    "\"errors\":0,\"bytes_in\":0,\"bytes_out\":0,\"late\":0,\"dropped\":0,\"unfinished\":0,"
	    "\"checks_failed\":0,\"script_errors\":0,\"status\":[[200,3]],"
	    "\"kinds\":[0,0,0,0,0,0,0,0,0]},\"latency\":{\"n\":0,\"sum\":0,\"sum_sq\":0,"
	    "\"clamped\":0,\"b\":[]}}],"
	    "\"tallies\":[{\"kind\":\"check\",\"name\":\"ok\",\"passes\":1,\"fails\":0,\"value\":0,"
	    "\"hist\":{\"n\":0,\"sum\":0,\"sum_sq\":0,\"clamped\":0,\"b\":[]}}]}";
	char err[256];
	delta_wire_t w;

	CHECK_STR(decode_edited(text, "\"v\":1", "\"v\":1", err, sizeof(err)), "");
	/* a run's last second is longer than 1 s by as much as the stop came late (the tick
	 * due with the stop is left to the final flush, gen_run.c): a busy shard's 1.03 s, taken
	 * as surge run's own result takes it, not refused (which made the shard lost) */
	CHECK_STR(decode_edited(text, "\"length_s\":1", "\"length_s\":1.03", err, sizeof(err)), "");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decode_edited(text, cases[i].from, cases[i].to, err, sizeof(err));
		if (strncmp(err, cases[i].says, strlen(cases[i].says)) != 0 || !err[0])
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', expected '%s...'", i,
			          err, cases[i].says);
	}
	CHECK(delta_wire_decode("shard 1", "[]", 2, &w, err, sizeof(err)) == -EINVAL);
	CHECK_STR(err, "shard 1: (root): expected an object");
	delta_wire_free(&w);
}
