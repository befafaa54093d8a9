/* Tests for gen/schedule (stage parsing, values, arrivals and their exact inverse) and
 * gen/profiles (every shape parses, lookup, the help text). */
#include <errno.h>
#include <math.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "gen/profiles.h"
#include "gen/schedule.h"
#include "test.h"

#define SEC(x) ((uint64_t)((x) * (double)NS_PER_S))

static int parse(const char *text, schedule_t *s)
{
	char err[256];

	return schedule_parse(text, 0, 1e9, s, err, sizeof(err));
}

TEST(schedule_parse_valid)
{
	schedule_t s;

	CHECK_INT(parse("30s:10,1m:50,30s:0", &s), 0);
	CHECK_INT(s.count, 3);
	CHECK_INT(s.stages[0].duration_ns, SEC(30));
	CHECK_INT(s.stages[1].duration_ns, SEC(60));
	CHECK_NEAR(s.stages[1].target, 50, 0);
	CHECK_INT(s.begin_ns[1], SEC(30));
	CHECK_INT(s.begin_ns[3], SEC(120));
	CHECK_INT(schedule_duration(&s), SEC(120));
	CHECK_NEAR(s.area[1], 150, 1e-9);  /* 0 → 10 over 30 s */
	CHECK_NEAR(s.area[2], 1950, 1e-9); /* + 10 → 50 over 60 s */
	CHECK_NEAR(s.area[3], 2700, 1e-9); /* + 50 → 0 over 30 s */

	/* blanks around parts, bare seconds, fractions, a zero-duration step */
	CHECK_INT(parse(" 30s : 10 , 2:5.5 ,0:7, 1.5s:0.25", &s), 0);
	CHECK_INT(s.count, 4);
	CHECK_INT(s.stages[1].duration_ns, SEC(2));
	CHECK_NEAR(s.stages[1].target, 5.5, 0);
	CHECK_INT(s.stages[2].duration_ns, 0);
	CHECK_INT(s.stages[3].duration_ns, 1500 * NS_PER_MS);
	CHECK_INT(parse("720h:1", &s), 0); /* exactly 30 days */

	/* start is the value at t = 0 */
	char err[128];
	CHECK_INT(schedule_parse("10s:0", 100, 100, &s, err, sizeof(err)), 0);
	CHECK_NEAR(s.area[1], 500, 1e-9);
	CHECK_NEAR(schedule_value_at(&s, 0), 100, 0);
}

/* Each rejection fails with -EINVAL, leaves the schedule alone, and names stage and problem. */
static void check_rejects(const char *text, double max, const char *want)
{
	schedule_t s;
	char err[256] = "";

	schedule_constant(&s, 42, SEC(1));
	if (schedule_parse(text, 0, max, &s, err, sizeof(err)) != -EINVAL)
		test_fail(__FILE__, __LINE__, "'%s' parsed", text ? text : "(null)");
	else if (!strstr(err, want))
		test_fail(__FILE__, __LINE__, "'%s': message '%s' lacks '%s'", text, err, want);
	CHECK_INT(s.count, 1);
	CHECK_NEAR(s.stages[0].target, 42, 0);
}

TEST(schedule_parse_rejects)
{
	char many[64 * 8 + 16] = "";

	check_rejects(NULL, 100, "no stages");
	check_rejects("", 100, "no stages");
	check_rejects("  ", 100, "no stages");
	check_rejects("30s", 100, "stage 1 ('30s'): missing ':'");
	check_rejects("30s:10,1m", 100, "stage 2 ('1m'): missing ':'");
	check_rejects("30s:10,1x:50", 100, "stage 2 ('1x:50'): '1x' is not a duration");
	check_rejects("-1s:10", 100, "stage 1 ('-1s:10'): '-1s' is not a duration");
	check_rejects(":10", 100, "stage 1 (':10'): '' is not a duration");
	check_rejects("30s:", 100, "stage 1 ('30s:'): target '' is not a number");
	check_rejects("30s:abc", 100, "target 'abc' is not a number from 0 to 100");
	check_rejects("30s:-1", 100, "target '-1'");
	check_rejects("30s:nan", 100, "target 'nan'");
	check_rejects("30s:inf", 100, "target 'inf'");
	check_rejects("30s:0x10", 100, "target '0x10'");
	check_rejects("30s:10 5", 100, "target '10 5'");
	check_rejects("30s:101", 100, "target '101' is not a number from 0 to 100");
	check_rejects("30s:1:2", 100, "target '1:2'");
	check_rejects("30s:10,", 100, "stage 2 (''): empty stage");
	check_rejects("30s:10,,1m:5", 100, "stage 2 (''): empty stage");
	check_rejects("721h:1", 100, "stage 1 ('721h:1'): the stages last over 30 days");
	check_rejects("400h:1,400h:1", 100, "stage 2 ('400h:1'): the stages last over 30 days");
	for (int i = 0; i < SCHEDULE_MAX_STAGES; i++)
		strcat(many, "1s:1,");
	strcat(many, "1s:1");
	check_rejects(many, 100, "stage 65: too many stages (at most 64)");
	many[strlen(many) - 5] = '\0'; /* exactly 64 stages are fine */
	schedule_t s;
	CHECK_INT(parse(many, &s), 0);
	CHECK_INT(s.count, SCHEDULE_MAX_STAGES);
}

TEST(schedule_value_at)
{
	schedule_t s;

	/* 0 → 10 over 10 s, step to 50, hold 50 for 5 s, 50 → 0 over 5 s */
	CHECK_INT(parse("10s:10,0s:50,5s:50,5s:0", &s), 0);
	CHECK_NEAR(schedule_value_at(&s, 0), 0, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(2.5)), 2.5, 1e-12);
	CHECK_NEAR(schedule_value_at(&s, SEC(10) - 1), 10, 1e-8);
	CHECK_NEAR(schedule_value_at(&s, SEC(10)), 50, 0); /* the step holds from its instant */
	CHECK_NEAR(schedule_value_at(&s, SEC(12)), 50, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(15)), 50, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(17.5)), 25, 1e-12);
	CHECK_NEAR(schedule_value_at(&s, SEC(20)), 0, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(1000)), 0, 0);

	/* after the end the last target holds, even when the last stage is a step */
	CHECK_INT(parse("1s:5,0s:8", &s), 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(0.5)), 2.5, 1e-12);
	CHECK_NEAR(schedule_value_at(&s, SEC(1)), 8, 0);
	CHECK_NEAR(schedule_value_at(&s, UINT64_MAX), 8, 0);
	CHECK_INT(parse("0s:10", &s), 0); /* a bare level with no duration */
	CHECK_INT(schedule_duration(&s), 0);
	CHECK_NEAR(schedule_value_at(&s, 0), 10, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(60)), 10, 0);
}

TEST(schedule_arrivals_until)
{
	schedule_t s;

	schedule_constant(&s, 200, SEC(10));
	CHECK_NEAR(schedule_value_at(&s, SEC(3)), 200, 0);
	CHECK_NEAR(schedule_arrivals_until(&s, 0), 0, 0);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(2.5)), 500, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(10)), 2000, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(99)), 2000, 1e-9); /* arrivals end */

	CHECK_INT(parse("10s:100,0s:0,5s:0,0s:20,5s:20", &s), 0);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(5)), 125, 1e-9); /* 100/10·5²/2 */
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(10)), 500, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(14)), 500, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(16)), 520, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(20)), 600, 1e-9);
	CHECK_NEAR(schedule_arrivals_until(&s, UINT64_MAX), 600, 1e-9);
}

/* Compares arrival k with the expected second, to 1 µs, reporting the first few misses. */
static void check_arrival(const schedule_t *s, uint64_t k, double want_s)
{
	uint64_t t = schedule_arrival_time(s, k);

	if (t == UINT64_MAX || fabs((double)t - want_s * 1e9) > 1000)
		test_fail(__FILE__, __LINE__,
		          "arrival %" PRIu64 " at %" PRIu64 " ns, expected %.9f s", k, t, want_s);
}

static void check_arrival_seg(const schedule_segment_t *seg, uint32_t n, uint64_t k, double want_s)
{
	uint64_t t = schedule_segments_arrival_time(seg, n, k, true);

	if (t == UINT64_MAX || fabs((double)t - want_s * 1e9) > 1000)
		test_fail(__FILE__, __LINE__,
		          "arrival %" PRIu64 " at %" PRIu64 " ns, expected %.9f s", k, t, want_s);
}

TEST(schedule_arrival_time_constant)
{
	schedule_t s;

	schedule_constant(&s, 10000, 3600 * NS_PER_S);
	CHECK_INT(schedule_arrival_time(&s, 1), 100 * NS_PER_US);
	CHECK_INT(schedule_arrival_time(&s, 1000000), 100 * NS_PER_S);
	CHECK_INT(schedule_arrival_time(&s, 36000000), 3600 * NS_PER_S);
	CHECK_INT(schedule_arrival_time(&s, 36000001), UINT64_MAX);
	for (uint64_t k = 1; k <= 36000000; k += 7919)
		check_arrival(&s, k, (double)k / 10000);

	/* the same rate written as stages, and a rate that is not a whole number */
	CHECK_INT(parse("0s:10000,1h:10000", &s), 0);
	CHECK_INT(schedule_arrival_time(&s, 12345678), 1234567800 * NS_PER_US);
	schedule_constant(&s, 3, SEC(10));
	check_arrival(&s, 1, 1.0 / 3);
	check_arrival(&s, 29, 29.0 / 3);
	check_arrival(&s, 30, 10);
	schedule_constant(&s, 0, SEC(10));
	CHECK_INT(schedule_arrival_time(&s, 1), UINT64_MAX);
}

TEST(schedule_arrival_time_ramps)
{
	schedule_t s;

	/* up: 0 → 100/s over 10 s, area(τ) = 5τ², so arrival k is at √(2k·10/100) s */
	CHECK_INT(parse("10s:100", &s), 0);
	for (uint64_t k = 1; k <= 500; k++)
		check_arrival(&s, k, sqrt(2.0 * k * 10 / 100));
	CHECK_INT(schedule_arrival_time(&s, 500), SEC(10));
	CHECK_INT(schedule_arrival_time(&s, 501), UINT64_MAX);

	/* down: 100 → 0/s over 10 s, area(τ) = 100τ - 5τ², so τ = 10 - √(100 - k/5) */
	CHECK_INT(schedule_parse("10s:0", 100, 100, &s, (char[64]){0}, 64), 0);
	for (uint64_t k = 1; k <= 500; k++)
		check_arrival(&s, k, 10 - sqrt(100 - k / 5.0));

	/* a ramp from a non-zero rate: 10 → 5000/s over 600 s (the breakpoint profile) */
	CHECK_INT(parse("0s:10,10m:5000", &s), 0);
	for (uint64_t k = 1; k <= 1503000; k += 997) {
		/* 10τ + (4990/600)τ²/2 = k */
		double a = 4990.0 / 600, tau = (-10 + sqrt(100 + 2 * a * k)) / a;
		check_arrival(&s, k, tau);
	}
	CHECK_INT(schedule_arrival_time(&s, 1503000), SEC(600));
}

TEST(schedule_arrival_time_steps_and_zero_stages)
{
	schedule_t s;

	/* 10/s for 1 s, nothing for 2 s, 20/s for 1 s */
	CHECK_INT(parse("0s:10,1s:10,0s:0,2s:0,0s:20,1s:20", &s), 0);
	check_arrival(&s, 1, 0.1);
	check_arrival(&s, 10, 1.0); /* ends the first stage: not pushed past the silence */
	check_arrival(&s, 11, 3.05);
	check_arrival(&s, 30, 4.0);
	CHECK_INT(schedule_arrival_time(&s, 31), UINT64_MAX);
	CHECK_NEAR(schedule_value_at(&s, SEC(2)), 0, 0);

	/* a ramp down to zero, a silence, then a ramp up from zero */
	CHECK_INT(parse("0s:20,2s:0,3s:0,2s:20", &s), 0);
	check_arrival(&s, 20, 2.0);
	check_arrival(&s, 21, 5 + sqrt(2.0 * 1 / 10)); /* 10/s² from t = 5 s */
	check_arrival(&s, 40, 7.0);

	/* nothing at all: a ramp that stays at 0, a 0-duration schedule */
	CHECK_INT(parse("5s:0", &s), 0);
	CHECK_INT(schedule_arrival_time(&s, 1), UINT64_MAX);
	CHECK_INT(parse("0s:100", &s), 0);
	CHECK_INT(schedule_arrival_time(&s, 1), UINT64_MAX);
	CHECK_NEAR(schedule_arrivals_until(&s, SEC(1)), 0, 0);
}

static uint64_t lcg(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 33;
}

/* Random stages: durations 0..3 s (a quarter of them steps), targets 0..3000 (some 0). */
static void random_schedule(schedule_t *s, uint64_t *seed)
{
	char text[64 * 24] = "", stage[32];
	char err[128];
	int n = 1 + (int)(lcg(seed) % 12);

	for (int i = 0; i < n; i++) {
		uint64_t ms = lcg(seed) % 4 == 0 ? 0 : lcg(seed) % 3000;
		uint64_t target = lcg(seed) % 5 == 0 ? 0 : lcg(seed) % 3000;

		snprintf(stage, sizeof(stage), "%s%" PRIu64 "ms:%" PRIu64, i ? "," : "", ms,
		         target);
		strcat(text, stage);
	}
	if (schedule_parse(text, 0, 1e9, s, err, sizeof(err)) < 0)
		test_fail(__FILE__, __LINE__, "'%s': %s", text, err);
}

/* Over many random schedules: arrival times never go back, and arrivals_until(arrival k) is k
 * to within what rounding to a whole nanosecond can move it (rate × 1 ns). */
TEST(schedule_arrival_time_monotonic_and_consistent)
{
	uint64_t seed = 12345, checked = 0;
	int misses = 0;

	for (int round = 0; round < 300 && misses < 5; round++) {
		schedule_t s;
		uint64_t prev = 0;
		double total;

		random_schedule(&s, &seed);
		total = s.area[s.count];
		for (uint64_t k = 1; k <= (uint64_t)total && misses < 5; k++, checked++) {
			uint64_t t = schedule_arrival_time(&s, k);
			double got = schedule_arrivals_until(&s, t);

			if (t < prev || t > schedule_duration(&s) ||
			    fabs(got - (double)k) > 3000 * 1e-9 + 1e-9 * k) {
				test_fail(__FILE__, __LINE__,
				          "round %d k %" PRIu64 ": t %" PRIu64 " (prev %" PRIu64
				          "), arrivals_until %.12f",
				          round, k, t, prev, got);
				misses++;
			}
			prev = t;
		}
		/* one past the last whole arrival is past the end (unless rounding of the
		 * total could have lost it, which the module forgives) */
		uint64_t past = (uint64_t)total + 1;
		if ((double)past > total * (1 + 1e-12) &&
		    schedule_arrival_time(&s, past) != UINT64_MAX) {
			test_fail(__FILE__, __LINE__, "round %d: arrival %" PRIu64 " past the end",
			          round, past);
			misses++;
		}
	}
	CHECK(checked > 1000000);
}

/* A stage schedule as segments is the same schedule, to the bit: every arrival's time (and
 * none past the end), the value at any instant, the arrivals until any instant of it. */
TEST(schedule_segments_are_the_stages)
{
	uint64_t seed = 777, checked = 0;
	int misses = 0;

	for (int round = 0; round < 200 && misses < 5; round++) {
		schedule_t s;
		schedule_segment_t seg[SCHEDULE_MAX_STAGES];
		uint32_t n;
		uint64_t end;

		random_schedule(&s, &seed);
		n = schedule_segments(&s, seg);
		end = schedule_duration(&s);
		CHECK_INT(n, s.count);
		for (uint64_t k = 1; k <= (uint64_t)s.area[s.count] + 2 && misses < 5; k++) {
			uint64_t want = schedule_arrival_time(&s, k);
			uint64_t got = schedule_segments_arrival_time(seg, n, k, false);

			checked++;
			if (got != want) {
				test_fail(__FILE__, __LINE__,
				          "round %d k %" PRIu64 ": %" PRIu64
				          " ns, stages say %" PRIu64,
				          round, k, got, want);
				misses++;
			}
		}
		for (uint64_t t = 0; t <= end + SEC(1) && misses < 5;
		     t += 1 + lcg(&seed) % SEC(0.1)) {
			if (schedule_segments_value_at(seg, n, t) != schedule_value_at(&s, t) ||
			    (t <= end && schedule_segments_arrivals_until(seg, n, t) !=
			                     schedule_arrivals_until(&s, t))) {
				test_fail(__FILE__, __LINE__,
				          "round %d t %" PRIu64 ": value or area differ", round, t);
				misses++;
			}
		}
	}
	CHECK(checked > 100000);
}

/* A change appended while running: the value goes on from where it was, the arrivals before
 * the change keep their times, the next are due by the new rate, numbering continuous. */
TEST(schedule_change_continues_the_arrivals)
{
	schedule_segment_t seg[4];
	uint32_t n;
	schedule_t s;

	schedule_constant(&s, 200, SEC(10));
	n = schedule_segments(&s, seg);
	/* 200/s, then at 1.5 s 500/s at once: 300 arrivals before, the 301st 2 ms after */
	seg[n] = schedule_change(seg, n, SEC(1.5), 500, 0);
	CHECK_NEAR(seg[n].from, 200, 0);
	CHECK_NEAR(seg[n].area, 300, 1e-9);
	n++;
	for (uint64_t k = 1; k <= 300; k++)
		CHECK_INT(schedule_segments_arrival_time(seg, n, k, true),
		          schedule_arrival_time(&s, k));
	check_arrival_seg(seg, n, 301, 1.502);
	check_arrival_seg(seg, n, 800, 2.5);
	/* past the first segment's own end: it holds 500/s for ever */
	check_arrival_seg(seg, n, 300 + 500 * 20, 21.5);
	CHECK_NEAR(schedule_segments_value_at(seg, n, SEC(1.4)), 200, 0);
	CHECK_NEAR(schedule_segments_value_at(seg, n, SEC(1.5)), 500, 0);
	CHECK_NEAR(schedule_segments_arrivals_until(seg, n, SEC(3.5)), 1300, 1e-9);

	/* at 3.5 s a ramp back to 100/s over 2 s; mid-ramp (4.5 s, 300/s) a stop at 0 */
	seg[n] = schedule_change(seg, n, SEC(3.5), 100, SEC(2));
	n++;
	CHECK_NEAR(schedule_segments_value_at(seg, n, SEC(4.5)), 300, 1e-9);
	CHECK_NEAR(schedule_segments_arrivals_until(seg, n, SEC(4.5)), 1300 + 400, 1e-9);
	check_arrival_seg(seg, n, 1700, 4.5);
	seg[n] = schedule_change(seg, n, SEC(4.5), 0, 0);
	n++;
	CHECK_NEAR(seg[n - 1].from, 300, 1e-9);
	check_arrival_seg(seg, n, 1700, 4.5);
	CHECK_INT(schedule_segments_arrival_time(seg, n, 1701, true), UINT64_MAX); /* paused */
	CHECK_NEAR(schedule_segments_value_at(seg, n, SEC(100)), 0, 0);
}

/* Many random changes, at random instants, some with ramps: arrival times never go back
 * and arrivals_until(arrival k) is k to within rounding to a nanosecond. */
TEST(schedule_changes_monotonic_and_consistent)
{
	uint64_t seed = 4242, checked = 0;
	int misses = 0;

	for (int round = 0; round < 50 && misses < 5; round++) {
		schedule_segment_t seg[41];
		schedule_t s;
		uint32_t n;
		uint64_t at = 0, prev = 0;
		double total;

		schedule_constant(&s, (double)(lcg(&seed) % 2000), SEC(5));
		n = schedule_segments(&s, seg);
		for (int c = 0; c < 40; c++) {
			at += lcg(&seed) % SEC(0.5);
			seg[n] = schedule_change(
			    seg, n, at, lcg(&seed) % 5 == 0 ? 0 : (double)(lcg(&seed) % 3000),
			    lcg(&seed) % 2 ? 0 : lcg(&seed) % SEC(1));
			n++;
		}
		total = schedule_segments_arrivals_until(seg, n, at + SEC(2));
		for (uint64_t k = 1; k <= (uint64_t)total && misses < 5; k++, checked++) {
			uint64_t t = schedule_segments_arrival_time(seg, n, k, true);
			double got = schedule_segments_arrivals_until(seg, n, t);

			if (t < prev || t == UINT64_MAX ||
			    fabs(got - (double)k) > 3000 * 1e-9 + 1e-9 * k) {
				test_fail(__FILE__, __LINE__,
				          "round %d k %" PRIu64 ": t %" PRIu64 " (prev %" PRIu64
				          "), arrivals_until %.12f",
				          round, k, t, prev, got);
				misses++;
			}
			prev = t;
		}
	}
	CHECK(checked > 10000);
}

TEST(schedule_profiles_parse)
{
	schedule_t s;
	char err[256];

	CHECK_INT(profile_count(), 6);
	for (int i = 0; i < profile_count(); i++) {
		const profile_t *p = profile_at(i);

		CHECK(p != NULL && p->name && p->summary && p->help && p->stages);
		if (!p)
			continue;
		err[0] = '\0';
		if (schedule_parse(p->stages, 0, 1e6, &s, err, sizeof(err)) < 0)
			test_fail(__FILE__, __LINE__, "%s: '%s': %s", p->name, p->stages, err);
		CHECK(schedule_duration(&s) > 0);
		CHECK(profile_find(p->name) == p);
		for (int j = 0; p->thresholds[j]; j++)
			CHECK(j < PROFILE_MAX_THRESHOLDS);
	}
	CHECK(profile_at(-1) == NULL);
	CHECK(profile_at(profile_count()) == NULL);
	CHECK(profile_find("nope") == NULL);
	CHECK(profile_find("") == NULL);
	CHECK(profile_find(NULL) == NULL);
}

/* The seeds' modes: basic 60 s × 10, stress 5 min × 50, cache 2 min × 20, spike 1 → 50 → 1. */
TEST(schedule_profiles_shapes)
{
	const profile_t *p;
	schedule_t s;

	CHECK_INT(parse(profile_find("basic")->stages, &s), 0);
	CHECK_INT(schedule_duration(&s), SEC(60));
	CHECK_NEAR(schedule_value_at(&s, SEC(30)), 10, 0);
	CHECK_INT(parse(profile_find("stress")->stages, &s), 0);
	CHECK(schedule_duration(&s) >= SEC(300));
	CHECK_NEAR(schedule_value_at(&s, schedule_duration(&s) - SEC(300)), 50, 0);
	CHECK_INT(parse(profile_find("cache")->stages, &s), 0);
	CHECK_INT(schedule_duration(&s), SEC(120));
	CHECK_NEAR(schedule_value_at(&s, SEC(60)), 20, 0);
	CHECK_INT(parse(profile_find("spike")->stages, &s), 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(5)), 1, 0);
	CHECK_NEAR(schedule_value_at(&s, SEC(40)), 50, 0);
	CHECK_NEAR(schedule_value_at(&s, schedule_duration(&s) - 1), 1, 0);
	CHECK_INT(parse(profile_find("soak")->stages, &s), 0);
	CHECK(schedule_duration(&s) >= SEC(3600));
	p = profile_find("breakpoint");
	CHECK(p->open_model && p->abort_on_fail);
	CHECK_STR(p->thresholds[0], "p95<1s");
	CHECK_STR(p->thresholds[1], "error_rate<5%");
	CHECK(p->thresholds[2] == NULL);
	CHECK_INT(parse(p->stages, &s), 0);
	CHECK(schedule_value_at(&s, SEC(600)) > 10 * schedule_value_at(&s, 0));
	CHECK(!profile_find("basic")->open_model && !profile_find("soak")->abort_on_fail);
}

TEST(schedule_profiles_help)
{
	buf_t out;

	buf_init(&out, 1 << 20);
	CHECK_INT(profiles_help(&out), 0);
	CHECK(out.len > 0);
	for (int i = 0; out.data && i < profile_count(); i++) {
		const profile_t *p = profile_at(i);

		CHECK(strstr(out.data, p->name) != NULL);
		CHECK(strstr(out.data, p->stages) != NULL);
		for (int j = 0; p->thresholds[j]; j++)
			CHECK(strstr(out.data, p->thresholds[j]) != NULL);
	}
	if (out.data) {
		CHECK(strstr(out.data, "--stages, --users/--spawn-rate and -R replace its") !=
		      NULL);
		CHECK(strstr(out.data, "ramp 0 → 10 users over 5s, then hold 10 users for 55s"));
		CHECK(
		    strstr(out.data, "1 user for 10s, then 50 users for 1m, then 1 user for 30s"));
		CHECK(strstr(out.data, "start at 10/s, then ramp 10 → 5000/s over 10m") != NULL);
		CHECK(strstr(out.data, "(1h3m in all)") != NULL);
	}
	buf_free(&out);

	/* a full buffer is an error, not a truncated text */
	buf_init(&out, 100);
	CHECK(profiles_help(&out) < 0);
	buf_free(&out);
}
