/* Tests for serve/serve_dist: every form and unit, every rejection with its offset, and the
 * sampled statistics over 200,000 draws with a fixed seed (deterministic, so never flaky). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "serve/serve_dist.h"
#include "test.h"

#define SAMPLES 200000
#define SEED    0x5EED5EED12345678ull
#define NS_MS   1e6

/* Parses an exact-length heap copy, so ASan reports any read past the slice. */
static int parse(const char *text, dist_unit_t unit, dist_t *d, char *err, size_t errlen)
{
	size_t len = strlen(text);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, text, len);
	rc = dist_parse(copy, len, unit, d, err, errlen);
	free(copy);
	return rc;
}

/* Parses text that must be valid, reporting the parser's message if it is not. */
static int parse_ok(const char *text, dist_unit_t unit, dist_t *d)
{
	char err[160] = "";
	int rc = parse(text, unit, d, err, sizeof(err));

	if (rc != 0)
		test_fail(__FILE__, __LINE__, "\"%s\": %s", text, err);
	return rc;
}

TEST(dist_constants_every_unit)
{
	static const struct {
		const char *text;
		dist_unit_t unit;
		double value;
	} ok[] = {
	    {"0.25", DIST_SECONDS, 250e6},
	    {"2", DIST_SECONDS, 2e9},
	    {"0", DIST_SECONDS, 0},
	    {"10ns", DIST_SECONDS, 10},
	    {"100us", DIST_SECONDS, 100e3},
	    {"250ms", DIST_SECONDS, 250e6},
	    {"1.5s", DIST_SECONDS, 1.5e9},
	    {"5m", DIST_SECONDS, 300e9},
	    {"1h", DIST_SECONDS, 3600e9},
	    {".5s", DIST_SECONDS, 0.5e9},
	    {"1e3ms", DIST_SECONDS, 1e9},
	    {"2.5e-1", DIST_SECONDS, 250e6},
	    {"50", DIST_MILLISECONDS, 50e6},
	    {"0.5", DIST_MILLISECONDS, 0.5e6},
	    {"2s", DIST_MILLISECONDS, 2e9},
	    {"10us", DIST_MILLISECONDS, 10e3},
	    {"7ns", DIST_MILLISECONDS, 7},
	    {"1m", DIST_MILLISECONDS, 60e9},
	    {"1h", DIST_MILLISECONDS, 3600e9},
	    {"3ms", DIST_MILLISECONDS, 3e6},
	    {"512", DIST_BYTES, 512},
	    {"512B", DIST_BYTES, 512},
	    {"64k", DIST_BYTES, 65536},
	    {"64K", DIST_BYTES, 65536},
	    {"1KiB", DIST_BYTES, 1024},
	    {"1KB", DIST_BYTES, 1000},
	    {"1kB", DIST_BYTES, 1000},
	    {"1m", DIST_BYTES, 1048576},
	    {"2M", DIST_BYTES, 2097152},
	    {"1MiB", DIST_BYTES, 1048576},
	    {"1MB", DIST_BYTES, 1e6},
	    {"1g", DIST_BYTES, 1073741824},
	    {"1G", DIST_BYTES, 1073741824},
	    {"1GiB", DIST_BYTES, 1073741824},
	    {"1GB", DIST_BYTES, 1e9},
	    {"1.5k", DIST_BYTES, 1536},
	    {"200", DIST_INTEGER, 200},
	    {"0", DIST_INTEGER, 0},
	    {"007", DIST_INTEGER, 7},
	    {"1000000000000000000", DIST_INTEGER, 1e18},
	    {"1e18ns", DIST_SECONDS, 1e18},
	    {"1e18", DIST_BYTES, 1e18},
	};
	dist_t d;
	uint64_t rng = SEED;
	double v;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (parse_ok(ok[i].text, ok[i].unit, &d) != 0)
			continue;
		CHECK_INT(d.kind, DIST_CONSTANT);
		CHECK_INT(d.count, 1);
		CHECK_NEAR(d.values[0], ok[i].value, 0);
		CHECK_NEAR(dist_max(&d), ok[i].value, 0);
		CHECK(dist_sample(&d, &rng, &v));
		CHECK_NEAR(v, ok[i].value, 0);
	}
}

TEST(dist_weighted_shares)
{
	dist_t d;

	CHECK_INT(parse_ok("10ms:50,100ms:10", DIST_SECONDS, &d), 0);
	CHECK_INT(d.kind, DIST_WEIGHTED);
	CHECK_INT(d.count, 2);
	CHECK_NEAR(d.values[0], 10 * NS_MS, 0);
	CHECK_NEAR(d.values[1], 100 * NS_MS, 0);
	CHECK_NEAR(d.weights[0], 50, 1e-9);
	CHECK_NEAR(d.weights[1], 10, 1e-9);

	/* unweighted choices share the remainder equally */
	CHECK_INT(parse_ok("1:30,2,3", DIST_INTEGER, &d), 0);
	CHECK_NEAR(d.weights[0], 30, 1e-9);
	CHECK_NEAR(d.weights[1], 35, 1e-9);
	CHECK_NEAR(d.weights[2], 35, 1e-9);
	CHECK_INT(parse_ok("500,503", DIST_INTEGER, &d), 0);
	CHECK_INT(d.kind, DIST_WEIGHTED);
	CHECK_NEAR(d.weights[0], 50, 1e-9);
	CHECK_NEAR(d.weights[1], 50, 1e-9);

	/* exactly 100 leaves unweighted choices nothing */
	CHECK_INT(parse_ok("1:60,2:40,3", DIST_INTEGER, &d), 0);
	CHECK_NEAR(d.weights[0], 60, 1e-9);
	CHECK_NEAR(d.weights[1], 40, 1e-9);
	CHECK_NEAR(d.weights[2], 0, 0);
	CHECK_INT(parse_ok("1:33.3,2:33.3,3:33.4", DIST_INTEGER, &d), 0);

	/* one choice with a weight is a list, not a constant */
	CHECK_INT(parse_ok("64k:25", DIST_BYTES, &d), 0);
	CHECK_INT(d.kind, DIST_WEIGHTED);
	CHECK_INT(d.count, 1);
	CHECK_NEAR(d.weights[0], 25, 1e-9);
	CHECK_INT(parse_ok("1:0.5,2:0", DIST_INTEGER, &d), 0);
	CHECK_NEAR(d.weights[0], 0.5, 1e-12);
	CHECK_NEAR(d.weights[1], 0, 0);
}

TEST(dist_sixteen_choices)
{
	dist_t d;

	CHECK_INT(parse_ok("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", DIST_INTEGER, &d), 0);
	CHECK_INT(d.count, DIST_MAX_CHOICES);
	for (int i = 0; i < DIST_MAX_CHOICES; i++) {
		CHECK_NEAR(d.values[i], i + 1, 0);
		CHECK_NEAR(d.weights[i], 100.0 / DIST_MAX_CHOICES, 1e-9);
	}
	CHECK_NEAR(dist_max(&d), 16, 0);
}

TEST(dist_functions)
{
	dist_t d;

	CHECK_INT(parse_ok("uniform(10ms,50ms)", DIST_SECONDS, &d), 0);
	CHECK_INT(d.kind, DIST_UNIFORM);
	CHECK_NEAR(d.a, 10 * NS_MS, 0);
	CHECK_NEAR(d.b, 50 * NS_MS, 0);
	CHECK_NEAR(dist_max(&d), 50 * NS_MS, 0);
	CHECK_INT(parse_ok("uniform(5,5)", DIST_MILLISECONDS, &d), 0);
	CHECK_NEAR(d.a, 5 * NS_MS, 0);
	CHECK_NEAR(d.b, 5 * NS_MS, 0);
	CHECK_INT(parse_ok("uniform(1k,1MiB)", DIST_BYTES, &d), 0);
	CHECK_NEAR(d.b, 1048576, 0);

	CHECK_INT(parse_ok("normal(100ms,20ms)", DIST_SECONDS, &d), 0);
	CHECK_INT(d.kind, DIST_NORMAL);
	CHECK_NEAR(d.a, 100 * NS_MS, 0);
	CHECK_NEAR(d.b, 20 * NS_MS, 0);
	CHECK(isinf(dist_max(&d)) && dist_max(&d) > 0);
	CHECK_INT(parse_ok("normal(200,0)", DIST_INTEGER, &d), 0);

	/* lognormal keeps mu and sigma */
	CHECK_INT(parse_ok("lognormal(20,250)", DIST_MILLISECONDS, &d), 0);
	CHECK_INT(d.kind, DIST_LOGNORMAL);
	CHECK_NEAR(d.a, log(20 * NS_MS), 1e-12);
	CHECK_NEAR(d.b, log(250.0 / 20) / 2.3263478740408408, 1e-12);
	CHECK(isinf(dist_max(&d)) && dist_max(&d) > 0);
	CHECK_INT(parse_ok("lognormal(1s,1s)", DIST_MILLISECONDS, &d), 0);
	CHECK_NEAR(d.b, 0, 0);
}

/* Every rejection: -EINVAL, and a message that names the expected offset. */
TEST(dist_rejects)
{
	static const struct {
		const char *text;
		dist_unit_t unit;
		unsigned offset;
	} bad[] = {
	    {"", DIST_SECONDS, 0},
	    {"-1", DIST_SECONDS, 0},
	    {"+5", DIST_SECONDS, 0},
	    {"10ms:-5", DIST_SECONDS, 5},
	    {"nan", DIST_SECONDS, 0},
	    {"NaN", DIST_MILLISECONDS, 0},
	    {"inf", DIST_BYTES, 0},
	    {"infinity", DIST_SECONDS, 0},
	    {"10ms,inf", DIST_SECONDS, 5},
	    {"0x10", DIST_SECONDS, 0},
	    {"0X1f", DIST_INTEGER, 0},
	    {"10xs", DIST_SECONDS, 2},
	    {"10MS", DIST_SECONDS, 2},
	    {"10k", DIST_SECONDS, 2},
	    {"10kb", DIST_BYTES, 2},
	    {"10ms", DIST_BYTES, 2},
	    {"1e", DIST_SECONDS, 1},
	    {"foo(1,2)", DIST_SECONDS, 0},
	    {"Uniform(1,2)", DIST_SECONDS, 0},
	    {"ten", DIST_SECONDS, 0},
	    {"uniform", DIST_SECONDS, 7},
	    {"uniform[1,2]", DIST_SECONDS, 7},
	    {"uniform(1,2", DIST_SECONDS, 11},
	    {"uniform(1 ,2)", DIST_SECONDS, 9},
	    {"uniform(1,2))", DIST_SECONDS, 12},
	    {"uniform(1,2)x", DIST_SECONDS, 12},
	    {"uniform(1,2),3", DIST_SECONDS, 12},
	    {"uniform(2,1)", DIST_SECONDS, 10},
	    {"uniform(1:5,2)", DIST_SECONDS, 9},
	    {"uniform()", DIST_SECONDS, 8},
	    {"uniform(uniform(1,2),3)", DIST_SECONDS, 8},
	    {"normal(1)", DIST_SECONDS, 8},
	    {"normal(1,-2)", DIST_SECONDS, 9},
	    {"lognormal(0,5)", DIST_SECONDS, 10},
	    {"lognormal(5,4)", DIST_SECONDS, 12},
	    {"lognormal(0.1ns,1s)", DIST_SECONDS, 10},
	    {" 10ms", DIST_SECONDS, 0},
	    {"10ms ", DIST_SECONDS, 4},
	    {"10 ms", DIST_SECONDS, 2},
	    {"10ms,", DIST_SECONDS, 5},
	    {",10ms", DIST_SECONDS, 0},
	    {"10ms:", DIST_SECONDS, 5},
	    {"10ms:50x", DIST_SECONDS, 7},
	    {"10ms:50%", DIST_SECONDS, 7},
	    {"10ms:50:3", DIST_SECONDS, 7},
	    {"10ms;20ms", DIST_SECONDS, 4},
	    {".", DIST_SECONDS, 0},
	    {"1.2.3", DIST_SECONDS, 3},
	    {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", DIST_INTEGER, 39},
	    {"2e18", DIST_BYTES, 0},
	    {"1e300h", DIST_SECONDS, 0},
	    {"1e999", DIST_SECONDS, 0},
	    {"1:1e19", DIST_INTEGER, 2},
	    {"10ms:50,20ms:60", DIST_SECONDS, 13},
	    {"503:150", DIST_INTEGER, 4},
	    {"1:80,2:40,3", DIST_INTEGER, 7},
	    {"1:100,2:0.001", DIST_INTEGER, 8},
	    {"32000000y", DIST_SECONDS, 8},
	    {"uniform(1h,2e18ns)", DIST_SECONDS, 11},
	    {"1000000000000000001", DIST_INTEGER, 0},
	    {"99999999999999999999999", DIST_INTEGER, 0},
	    {"2.5", DIST_INTEGER, 1},
	    {"200ms", DIST_INTEGER, 3},
	    {"2e2", DIST_INTEGER, 1},
	    {"0.0000000000000000000000000000000000000000000000000000000000000001", DIST_SECONDS, 0},
	};
	char err[160], want[32];
	dist_t d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(parse(bad[i].text, bad[i].unit, &d, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "at offset %u: ", bad[i].offset);
		if (strncmp(err, want, strlen(want)) != 0 || strlen(err) <= strlen(want))
			test_fail(__FILE__, __LINE__, "\"%s\": got \"%s\", expected \"%s...\"",
			          bad[i].text, err, want);
		CHECK_INT(d.kind, DIST_CONSTANT); /* a failed parse leaves d zeroed */
		CHECK_INT(d.count, 0);
	}
}

TEST(dist_reject_messages)
{
	char err[160];
	dist_t d;

	CHECK_INT(parse("10xs", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 2: unknown unit 'xs' (expected ns, us, ms, s, m or h)");
	CHECK_INT(parse("uniform(1,2", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 11: expected ')', got end of input");
	CHECK_INT(parse("uniform(2,1)", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 10: uniform(a,b) needs a <= b");
	CHECK_INT(parse("-1", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 0: negative numbers are not allowed");
	CHECK_INT(parse("10ms:50,20ms:60", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 13: the weights add up to 110%, more than 100% of requests");
	CHECK_INT(parse("", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 0: empty value");
	CHECK_INT(
	    parse("1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", DIST_INTEGER, &d, err, sizeof(err)),
	    -EINVAL);
	CHECK_STR(err, "at offset 39: more than 16 choices");
	CHECK_INT(parse("foo(1)", DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err,
	          "at offset 0: unknown function 'foo' (expected uniform, normal or lognormal)");
	CHECK_INT(dist_parse("1\0", 2, DIST_INTEGER, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 1: expected ':', ',' or end of input, got byte 0x00");
}

TEST(dist_error_buffer_edges)
{
	char small[8];
	dist_t d;

	CHECK_INT(parse("bogus", DIST_SECONDS, &d, NULL, 0), -EINVAL);
	memset(small, 'x', sizeof(small));
	CHECK_INT(parse("bogus", DIST_SECONDS, &d, small, sizeof(small)), -EINVAL);
	CHECK_STR(small, "at offs"); /* truncated, still terminated */
}

/* The slice ends at len even when the caller's memory goes on. */
TEST(dist_stops_at_len)
{
	const char *text = "10ms,20ms";
	char err[160];
	dist_t d;

	CHECK_INT(dist_parse(text, 4, DIST_SECONDS, &d, err, sizeof(err)), 0);
	CHECK_INT(d.kind, DIST_CONSTANT);
	CHECK_NEAR(d.values[0], 10 * NS_MS, 0);
	CHECK_INT(dist_parse("uniform(1,2)", 11, DIST_SECONDS, &d, err, sizeof(err)), -EINVAL);
	CHECK_STR(err, "at offset 11: expected ')', got end of input");
	CHECK_INT(dist_parse("123", 2, DIST_INTEGER, &d, err, sizeof(err)), 0);
	CHECK_NEAR(d.values[0], 12, 0);
	CHECK_INT(dist_parse(NULL, 0, DIST_INTEGER, &d, err, sizeof(err)), -EINVAL);
}

TEST(dist_weighted_statistics)
{
	dist_t d;
	uint64_t rng = SEED;
	int fast = 0, slow = 0, left = 0;
	double v;

	CHECK_INT(parse_ok("10ms:50,100ms:10", DIST_SECONDS, &d), 0);
	CHECK_NEAR(dist_max(&d), 100 * NS_MS, 0);
	for (int i = 0; i < SAMPLES; i++) {
		v = -1;
		if (!dist_sample(&d, &rng, &v))
			left += v == -1; /* the leftover leaves *out alone */
		else if (v == 10 * NS_MS)
			fast++;
		else if (v == 100 * NS_MS)
			slow++;
	}
	CHECK_INT(fast + slow + left, SAMPLES);
	CHECK_NEAR((double)fast / SAMPLES, 0.50, 0.01);
	CHECK_NEAR((double)slow / SAMPLES, 0.10, 0.01);
	CHECK_NEAR((double)left / SAMPLES, 0.40, 0.01);
}

/* Weights that sum to 100 (give or take rounding) must never leave a request alone. */
TEST(dist_weighted_full_and_empty)
{
	static const char *const full[] = {"1:33.3,2:33.3,3:33.4", "1,2,3", "1:50,2:50", "1:100"};
	dist_t d;
	uint64_t rng = SEED;
	int misses = 0;
	double v = -1;

	for (size_t k = 0; k < sizeof(full) / sizeof(full[0]); k++) {
		CHECK_INT(parse_ok(full[k], DIST_INTEGER, &d), 0);
		for (int i = 0; i < SAMPLES / 4; i++)
			misses += !dist_sample(&d, &rng, &v);
	}
	CHECK_INT(misses, 0);

	CHECK_INT(parse_ok("1:0,999:0", DIST_INTEGER, &d), 0);
	CHECK_NEAR(dist_max(&d), 0, 0); /* choices that cannot be drawn do not count */
	v = -1;
	for (int i = 0; i < 1000; i++)
		misses += !dist_sample(&d, &rng, &v);
	CHECK_INT(misses, 1000);
	CHECK_NEAR(v, -1, 0);

	CHECK_INT(parse_ok("5:50,999:0", DIST_INTEGER, &d), 0);
	CHECK_NEAR(dist_max(&d), 5, 0);
}

TEST(dist_uniform_statistics)
{
	dist_t d;
	uint64_t rng = SEED;
	double v, sum = 0, lo = HUGE_VAL, hi = -HUGE_VAL;

	CHECK_INT(parse_ok("uniform(10ms,50ms)", DIST_SECONDS, &d), 0);
	for (int i = 0; i < SAMPLES; i++) {
		CHECK(dist_sample(&d, &rng, &v));
		sum += v;
		lo = fmin(lo, v);
		hi = fmax(hi, v);
	}
	CHECK(lo >= 10 * NS_MS && hi <= 50 * NS_MS);
	CHECK_NEAR(lo, 10 * NS_MS, 0.01 * NS_MS); /* the range is covered to its ends */
	CHECK_NEAR(hi, 50 * NS_MS, 0.01 * NS_MS);
	CHECK_NEAR(sum / SAMPLES, 30 * NS_MS, 0.3 * NS_MS);

	CHECK_INT(parse_ok("uniform(7,7)", DIST_INTEGER, &d), 0);
	CHECK(dist_sample(&d, &rng, &v));
	CHECK_NEAR(v, 7, 0);
}

TEST(dist_normal_statistics)
{
	dist_t d;
	uint64_t rng = SEED;
	double v, sum = 0, squares = 0, mean, sd;

	CHECK_INT(parse_ok("normal(100ms,20ms)", DIST_SECONDS, &d), 0);
	for (int i = 0; i < SAMPLES; i++) {
		CHECK(dist_sample(&d, &rng, &v));
		sum += v;
		squares += v * v;
	}
	mean = sum / SAMPLES;
	sd = sqrt(squares / SAMPLES - mean * mean);
	CHECK_NEAR(mean, 100 * NS_MS, 0.02 * 100 * NS_MS);
	CHECK_NEAR(sd, 20 * NS_MS, 0.02 * 20 * NS_MS);
}

/* normal(1,10) puts about 46 % of draws below zero; they must come out as exactly 0. */
TEST(dist_normal_clamps_at_zero)
{
	dist_t d;
	uint64_t rng = SEED;
	int zeros = 0, negatives = 0;
	double v;

	CHECK_INT(parse_ok("normal(1,10)", DIST_MILLISECONDS, &d), 0);
	for (int i = 0; i < SAMPLES; i++) {
		CHECK(dist_sample(&d, &rng, &v));
		negatives += v < 0;
		zeros += v == 0;
	}
	CHECK_INT(negatives, 0);
	CHECK_NEAR((double)zeros / SAMPLES, 0.4602, 0.01);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

TEST(dist_lognormal_statistics)
{
	double *v = malloc(SAMPLES * sizeof(*v));
	dist_t d;
	uint64_t rng = SEED;
	int negatives = 0;

	CHECK_INT(parse_ok("lognormal(20ms,250ms)", DIST_SECONDS, &d), 0);
	for (int i = 0; i < SAMPLES; i++) {
		CHECK(dist_sample(&d, &rng, &v[i]));
		negatives += !(v[i] >= 0);
	}
	CHECK_INT(negatives, 0);
	qsort(v, SAMPLES, sizeof(*v), by_value);
	CHECK_NEAR(v[SAMPLES / 2], 20 * NS_MS, 0.03 * 20 * NS_MS);
	CHECK_NEAR(v[SAMPLES * 99 / 100], 250 * NS_MS, 0.03 * 250 * NS_MS);
	free(v);

	CHECK_INT(parse_ok("lognormal(3s,3s)", DIST_SECONDS, &d), 0);
	CHECK(dist_sample(&d, &rng, &(double){0}));
	for (int i = 0; i < 100; i++) {
		double x;

		CHECK(dist_sample(&d, &rng, &x));
		CHECK_NEAR(x, 3e9, 1e-3);
	}
}

TEST(dist_deterministic_for_a_seed)
{
	static const char *const forms[] = {"1:30,2:30,3", "uniform(1,1000)", "normal(50,10)",
	                                    "lognormal(5,50)"};
	dist_t d;
	double x, y, z;
	int differ;

	for (size_t k = 0; k < sizeof(forms) / sizeof(forms[0]); k++) {
		uint64_t a = SEED, b = SEED, c = SEED + 1;

		CHECK_INT(parse_ok(forms[k], DIST_INTEGER, &d), 0);
		differ = 0;
		for (int i = 0; i < 1000; i++) {
			CHECK(dist_sample(&d, &a, &x));
			CHECK(dist_sample(&d, &b, &y));
			CHECK(dist_sample(&d, &c, &z));
			CHECK(x == y);
			differ += x != z;
		}
		CHECK_INT(a, b);
		CHECK(differ > 100); /* another seed is another sequence */
	}
}

/* A zero state would stick at zero in xorshift; the sampler must still move. */
TEST(dist_zero_seed)
{
	dist_t d;
	uint64_t rng = 0;
	double first, second;

	CHECK_INT(parse_ok("uniform(0,1000000)", DIST_INTEGER, &d), 0);
	CHECK(dist_sample(&d, &rng, &first));
	CHECK(rng != 0);
	CHECK(dist_sample(&d, &rng, &second));
	CHECK(first != second);
}
