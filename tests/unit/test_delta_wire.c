/* Tests for delta_wire (src/result/delta_wire.c): a second summed from several deltas —
 * endpoints, tallies, status codes, error kinds, histograms with awkward sums — written and
 * read back into a delta that adds up to the same result, figure by figure and bucket by
 * bucket, decoding into the same delta_wire_t again and again; every malformed second refused
 * with the field that is wrong, and every cut one refused. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "core/varint.h"

#include "result/delta_wire.h"
#include "result/result.h"
#include "test.h"
#include "test_points.h"

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

static void check_back(const result_t *sum, const delta_wire_t *w)
{
	result_t back;
	delta_t d = w->d;

	result_init(&back);
	d.second = 0;
	CHECK_INT(result_add(&back, &d), 0);
	CHECK(memcmp(&back.counters, &sum->counters, sizeof(sum->counters)) == 0);
	CHECK(same(&back.latency, &sum->latency));
	CHECK(same(&back.service, &sum->service));
	CHECK(same(&back.generator.sched_lag, &sum->generator.sched_lag));
	CHECK_INT(back.endpoint_count, sum->endpoint_count);
	for (uint32_t i = 0; i < sum->endpoint_count && i < back.endpoint_count; i++) {
		CHECK_STR(back.endpoints[i].name, sum->endpoints[i].name);
		CHECK_STR(back.endpoints[i].method, sum->endpoints[i].method);
		CHECK(memcmp(&back.endpoints[i].counters, &sum->endpoints[i].counters,
		             sizeof(gen_counters_t)) == 0);
		CHECK(same(&back.endpoints[i].latency, &sum->endpoints[i].latency));
	}
	CHECK_INT(back.tally_count, sum->tally_count);
	for (uint32_t i = 0; i < sum->tally_count && i < back.tally_count; i++) {
		CHECK_INT(back.tallies[i].kind, sum->tallies[i].kind);
		CHECK(back.tallies[i].value == sum->tallies[i].value);
		CHECK_INT(back.tallies[i].passes, sum->tallies[i].passes);
		CHECK(same(&back.tallies[i].hist, &sum->tallies[i].hist));
	}
	CHECK(test_point(&back, 0).length_s == test_point(sum, 0).length_s);
	CHECK(test_point(&back, 0).target == test_point(sum, 0).target);
	CHECK(test_point(&back, 0).busiest_cpu == test_point(sum, 0).busiest_cpu);
	CHECK_INT(test_point(&back, 0).users, test_point(sum, 0).users);
	CHECK_INT(test_point(&back, 0).due_late, test_point(sum, 0).due_late);
	result_free(&back);
}

TEST(delta_wire_round_trip_is_exact)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	result_t sum, small;
	delta_wire_t w;
	buf_t text;
	char err[256] = "";

	result_init(&sum);
	make_sum(&sum, scratch);
	buf_init(&text, DELTA_WIRE_MAX);
	delta_wire_init(&w);
	CHECK_INT(delta_wire_encode(&sum, 41, &text), 0);
	CHECK_INT(delta_wire_decode("shard 2", (const uint8_t *)text.data, text.len, &w, err,
	                            sizeof(err)),
	          0);
	CHECK_STR(err, "");
	CHECK_INT(w.d.second, 41);
	check_back(&sum, &w);
	if (getenv("SURGE_TEST_VERBOSE"))
		fprintf(stderr, "  a second of 3 endpoints and 2 tallies: %zu bytes\n", text.len);
	/* decoded again into the same delta_wire_t: a smaller second, then the first again */
	result_init(&small);
	{
		delta_t d = {.second = 0, .length_s = 1};

		result_hist_init(&d.latency);
		result_hist_init(&d.service);
		result_hist_init(&d.sched_lag);
		d.counters.requests = 1;
		CHECK_INT(result_add(&small, &d), 0);
	}
	buf_reset(&text);
	CHECK_INT(delta_wire_encode(&small, 42, &text), 0);
	CHECK_INT(delta_wire_decode("shard 2", (const uint8_t *)text.data, text.len, &w, err,
	                            sizeof(err)),
	          0);
	CHECK_INT(w.d.endpoint_count, 0);
	CHECK_INT(w.d.tally_count, 0);
	CHECK_INT(w.d.latency.len, 0);
	CHECK_INT(w.d.counters.requests, 1);
	CHECK_INT(w.d.counters.status[200], 0);
	buf_reset(&text);
	CHECK_INT(delta_wire_encode(&sum, 43, &text), 0);
	CHECK_INT(delta_wire_decode("shard 2", (const uint8_t *)text.data, text.len, &w, err,
	                            sizeof(err)),
	          0);
	check_back(&sum, &w);
	delta_wire_free(&w);
	buf_free(&text);
	result_free(&sum);
	result_free(&small);
	free(scratch);
}

/* ---- a small second written by hand, with one fault at a time ---- */

enum fault {
	FAULT_NONE,
	FAULT_JSON,
	FAULT_VERSION,
	FAULT_SECOND,
	FAULT_LENGTH,
	FAULT_LENGTH_NAN,
	FAULT_SUM_INF,
	FAULT_DUE_LATE,
	FAULT_MIN_MAX,
	FAULT_PAST,
	FAULT_COUNTS,
	FAULT_BUCKETS_LEFT,
	FAULT_STATUS_CODE,
	FAULT_STATUS_ZERO,
	FAULT_KINDS,
	FAULT_METHOD_LONG,
	FAULT_NAME_NUL,
	FAULT_NAME_EMPTY,
	FAULT_NAME_LATIN1,
	FAULT_ENDPOINTS_MANY,
	FAULT_TALLY_KIND,
	FAULT_LONG_VARINT,
	FAULT_TRAILING,
	FAULT_OLD_KINDS, /* not a fault: a sender from before HTTP/2's kinds (9 of them) */
};

static void u(buf_t *b, uint64_t v)
{
	uint8_t x[VARINT_MAX];

	buf_append(b, x, varint_put(x, v));
}

static void f(buf_t *b, double v)
{
	uint8_t x[8];

	f64_put(x, v);
	buf_append(b, x, 8);
}

static void str(buf_t *b, const char *s, size_t n)
{
	u(b, n);
	buf_append(b, s, n);
}

static void empty_hist(buf_t *b)
{
	u(b, 0);
	f(b, 0);
	f(b, 0);
	u(b, 0);
	u(b, 0);
}

static void counters(buf_t *b, enum fault k, uint64_t requests, bool status)
{
	u(b, requests);
	for (int i = 0; i < 8; i++)
		u(b, 0);
	u(b, status ? 2 : 0);
	if (status) { /* 200: 2, 404: 1 */
		u(b, k == FAULT_STATUS_CODE ? GEN_STATUS_MAX : 200);
		u(b, k == FAULT_STATUS_ZERO ? 0 : 2);
		u(b, 203);
		u(b, 1);
	}
	if (k == FAULT_OLD_KINDS) { /* resource_error 1, the last of the 9 */
		u(b, GEN_ERR_STREAM_RESET);
		for (int i = 0; i < GEN_ERR_STREAM_RESET; i++)
			u(b, i == GEN_ERR_RESOURCE);
		return;
	}
	u(b, k == FAULT_KINDS ? 2 : GEN_ERR_KIND_COUNT);
	for (int i = 0; i < (k == FAULT_KINDS ? 2 : GEN_ERR_KIND_COUNT); i++)
		u(b, 0);
}

/* {second 5, 3 requests in buckets 10 (2) and 12 (1), one endpoint GET /x, one check}. */
static void small_second(buf_t *b, enum fault k)
{
	if (k == FAULT_JSON) {
		buf_append_str(b, "{\"v\":1,\"second\":5}");
		return;
	}
	u(b, k == FAULT_VERSION ? 3 : DELTA_WIRE_VERSION);
	u(b, k == FAULT_SECOND ? RESULT_POINTS_MAX : 5);
	f(b, k == FAULT_LENGTH ? 61 : k == FAULT_LENGTH_NAN ? NAN : 1);
	u(b, 2);   /* users */
	f(b, 2);   /* target */
	f(b, 0.1); /* busiest_cpu */
	u(b, 0);   /* due */
	u(b, k == FAULT_DUE_LATE ? 1 : 0);
	counters(b, k, 3, false);
	u(b, 3); /* latency: n */
	if (k == FAULT_LONG_VARINT)
		buf_append(b, "\x8a\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
	else
		u(b, 10); /* min */
	u(b, k == FAULT_MIN_MAX ? INT64_MAX : 2);
	f(b, k == FAULT_SUM_INF ? INFINITY : 32);
	f(b, 344);
	u(b, 0);
	u(b, k == FAULT_BUCKETS_LEFT ? 1000 : 2);
	u(b, 10 << 1 | 1); /* index 10, count 2 + 0 */
	u(b, 0);
	u(b, k == FAULT_PAST ? (HIST_COUNTS_LEN - 11) << 1 : 1 << 1); /* index 12, count 1 */
	if (k == FAULT_COUNTS) { /* index 12, count 2 where n says 1 */
		b->len--;
		u(b, 1 << 1 | 1);
		u(b, 0);
	}
	empty_hist(b); /* service */
	empty_hist(b); /* sched_lag */
	u(b, k == FAULT_ENDPOINTS_MANY ? 1000 : 1);
	str(b, k == FAULT_METHOD_LONG ? "GETGETGETGETGETGE" : "GET",
	    k == FAULT_METHOD_LONG ? 16 : 3);
	if (k == FAULT_NAME_NUL)
		str(b, "/\0x", 3);
	else if (k == FAULT_NAME_LATIN1)
		str(b, "/\xe9t\xe9", 4); /* "/été" in Latin-1 */
	else
		str(b, "/x", k == FAULT_NAME_EMPTY ? 0 : 2);
	counters(b, k, 3, true);
	empty_hist(b);
	u(b, 1);
	u(b, k == FAULT_TALLY_KIND ? 4 : 0);
	str(b, "ok", 2);
	u(b, 1);
	u(b, 0);
	f(b, 0);
	empty_hist(b);
	if (k == FAULT_TRAILING)
		buf_append_char(b, 0);
}

/* The small second with fault k, decoded: the error, or "" when it decoded. */
static const char *decode_faulty(enum fault k, char *err, size_t errlen)
{
	delta_wire_t w;
	buf_t b;

	buf_init(&b, 1 << 16);
	small_second(&b, k);
	delta_wire_init(&w);
	err[0] = '\0';
	if (delta_wire_decode("shard 1", (const uint8_t *)b.data, b.len, &w, err, errlen) == 0)
		err[0] = '\0';
	delta_wire_free(&w);
	buf_free(&b);
	return err;
}

TEST(delta_wire_refuses_what_breaks_a_bound_naming_the_field)
{
	static const struct {
		enum fault k;
		const char *says;
	} cases[] = {
	    {FAULT_JSON, "shard 1: v: a JSON second (wire version 1), this surge reads version 2"},
	    {FAULT_VERSION, "shard 1: v: version 3, this surge reads 2: run the same surge "
	                    "everywhere (byte 0)"},
	    {FAULT_SECOND, "shard 1: second: 604800 is above 604799 (byte 1)"},
	    {FAULT_LENGTH, "shard 1: length_s: expected a number from 0 to 60 (byte 2)"},
	    {FAULT_LENGTH_NAN, "shard 1: length_s: expected a finite number"},
	    {FAULT_SUM_INF, "shard 1: latency.sum: expected a finite number"},
	    {FAULT_DUE_LATE, "shard 1: due_late: 1 is above 0"},
	    {FAULT_MIN_MAX, "shard 1: latency.max: 9223372036854775807 is above "
	                    "9223372036854775797"},
	    {FAULT_PAST, "shard 1: latency.b: bucket 1: its index is past the histogram's last"},
	    {FAULT_COUNTS, "shard 1: latency: the buckets count 4, n says 3"},
	    {FAULT_BUCKETS_LEFT, "shard 1: latency.b: 1000 buckets, more than the bytes left"},
	    {FAULT_STATUS_CODE, "shard 1: endpoints[0].counters.status: 1000 is above 999"},
	    {FAULT_STATUS_ZERO, "shard 1: endpoints[0].counters.status: code 200 counted 0"},
	    {FAULT_KINDS, "shard 1: counters.kinds: expected 9 to 12 counts (one per error kind)"},
	    {FAULT_METHOD_LONG, "shard 1: endpoints[0].method: 16 is above 15"},
	    {FAULT_NAME_NUL, "shard 1: endpoints[0].name: not UTF-8 text, or a NUL byte in it"},
	    {FAULT_NAME_LATIN1, "shard 1: endpoints[0].name: not UTF-8 text"},
	    {FAULT_NAME_EMPTY, "shard 1: endpoints[0].name: expected a string of 1 to 199 bytes"},
	    {FAULT_ENDPOINTS_MANY, "shard 1: endpoints: 1000 endpoints, more than the bytes left"},
	    {FAULT_TALLY_KIND, "shard 1: tallies[0].kind: 4 is above 3"},
	    {FAULT_LONG_VARINT, "shard 1: latency.min: not a number (more than 10 bytes)"},
	    {FAULT_TRAILING, "shard 1: 1 byte after the second's end"},
	};
	char err[300];

	CHECK_STR(decode_faulty(FAULT_NONE, err, sizeof(err)), "");
	{ /* UTF-8 names as they are */
		delta_wire_t w;
		buf_t b;

		buf_init(&b, 1 << 16);
		small_second(&b, FAULT_NONE);
		delta_wire_init(&w);
		CHECK_INT(
		    delta_wire_decode("x", (const uint8_t *)b.data, b.len, &w, err, sizeof(err)),
		    0);
		CHECK_STR(w.d.endpoints[0].name, "/x");
		CHECK_INT(w.d.endpoints[0].counters.status[404], 1);
		CHECK_INT(w.d.latency.buckets[1].index, 12);
		delta_wire_free(&w);
		buf_free(&b);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		decode_faulty(cases[i].k, err, sizeof(err));
		if (strncmp(err, cases[i].says, strlen(cases[i].says)) != 0 || !err[0])
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', expected '%s...'", i,
			          err, cases[i].says);
		if (!strstr(err, "(byte "))
			test_fail(__FILE__, __LINE__, "case %zu: '%s' says no byte", i, err);
	}
}

/* A second from a surge before HTTP/2's error kinds (9 counts) is read: those it lacks are 0,
 * so a coordinator takes shards of the release before. */
TEST(delta_wire_reads_the_error_kinds_of_a_sender_before_http2)
{
	delta_wire_t w;
	buf_t b;
	char err[300] = "";

	buf_init(&b, 1 << 16);
	small_second(&b, FAULT_OLD_KINDS);
	delta_wire_init(&w);
	CHECK_INT(delta_wire_decode("old", (const uint8_t *)b.data, b.len, &w, err, sizeof(err)),
	          0);
	CHECK_STR(err, "");
	CHECK_INT(w.d.counters.errors_by_kind[GEN_ERR_RESOURCE], 1);
	CHECK_INT(w.d.counters.errors_by_kind[GEN_ERR_STREAM_RESET], 0);
	CHECK_INT(w.d.counters.errors_by_kind[GEN_ERR_FLOW_CONTROL], 0);
	CHECK_INT(w.d.endpoints[0].counters.errors_by_kind[GEN_ERR_RESOURCE], 1);
	delta_wire_free(&w);
	buf_free(&b);
}

/* Every prefix of a good second, and every single byte changed: refused or taken, with one
 * line when refused, never a crash (the fuzz driver does the same at random). */
TEST(delta_wire_cut_or_changed_anywhere_is_refused_cleanly)
{
	hist_t *scratch = malloc(sizeof(hist_t));
	result_t sum;
	delta_wire_t w;
	buf_t text;
	char err[300];
	size_t refused = 0;

	result_init(&sum);
	make_sum(&sum, scratch);
	buf_init(&text, DELTA_WIRE_MAX);
	CHECK_INT(delta_wire_encode(&sum, 7, &text), 0);
	delta_wire_init(&w);
	for (size_t n = 0; n < text.len; n++) {
		err[0] = '\0';
		CHECK_INT(
		    delta_wire_decode("cut", (const uint8_t *)text.data, n, &w, err, sizeof(err)),
		    -EINVAL);
		CHECK(strncmp(err, "cut: ", 5) == 0 && !strchr(err, '\n'));
	}
	for (size_t i = 0; i < text.len; i += 7) {
		char was = text.data[i];

		text.data[i] = (char)(was ^ 0x5a);
		err[0] = '\0';
		if (delta_wire_decode("changed", (const uint8_t *)text.data, text.len, &w, err,
		                      sizeof(err)) != 0) {
			refused++;
			CHECK(strncmp(err, "changed: ", 9) == 0 && !strchr(err, '\n'));
		}
		text.data[i] = was;
	}
	CHECK(refused > 0);
	delta_wire_free(&w);
	buf_free(&text);
	result_free(&sum);
	free(scratch);
}
