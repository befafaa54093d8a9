/* The generator's self-check decided over made-up seconds: one stall is not saturation, a
 * sustained condition is, and the verdict names its criterion with its figures. */
#include "gen/gen.h"
#include "test.h"

#define MAX_SECONDS 64

/* n whole seconds, each with the busiest thread's CPU share cpu[i] and, of `due` arrivals
 * that second, late[i] sent over the bound; a last sliver of `sliver_s` when > 0. */
static size_t make_seconds(gen_point_t *p, size_t n, const double *cpu, const uint64_t *late,
                           uint64_t due, double sliver_s)
{
	memset(p, 0, sizeof(*p) * MAX_SECONDS);
	for (size_t i = 0; i < n; i++) {
		p[i].t = (double)(i + 1);
		p[i].length_s = 1.0;
		p[i].busiest_cpu = cpu ? cpu[i] : 0.3;
		p[i].due = late ? due : 0;
		p[i].pacer_late = late ? late[i] : 0;
	}
	if (sliver_s > 0) {
		p[n].t = (double)n + sliver_s;
		p[n].length_s = sliver_s;
		p[n].busiest_cpu = 1.0; /* a sliver's share is noise: it must not count */
		p[n].due = 10;
		p[n].pacer_late = 10;
		n++;
	}
	return n;
}

TEST(selfcheck_one_busy_second_is_a_stall)
{
	/* two busy seconds apart in ten: stalls, neither in a row nor a quarter of the run */
	gen_point_t p[MAX_SECONDS];
	double cpu[10] = {0.4, 0.5, 0.99, 0.5, 0.4, 0.4, 0.99, 0.4, 0.4, 0.4};
	gen_saturation_t s;
	size_t n = make_seconds(p, 10, cpu, NULL, 0, 0.01);

	CHECK(!gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_NONE);
	CHECK_STR(gen_saturation_name(s.criterion), "none");
}

TEST(selfcheck_three_busy_seconds_in_a_row_saturate)
{
	gen_point_t p[MAX_SECONDS];
	double cpu[10] = {0.4, 0.5, 0.96, 0.99, 0.95, 0.4, 0.4, 0.4, 0.4, 0.4};
	gen_saturation_t s;
	size_t n = make_seconds(p, 10, cpu, NULL, 0, 0.2);

	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_THREAD_CPU);
	CHECK_STR(gen_saturation_name(s.criterion), "thread_cpu");
	CHECK_INT(s.seconds, 3);
	CHECK_INT(s.consecutive, 3);
	CHECK_INT(s.whole_seconds, 10); /* the 0.2 s sliver is not a second */
	CHECK_NEAR(s.first_s, 2.0, 1e-9);
	CHECK_NEAR(s.worst, 0.99, 1e-9);
	/* just under the bound is not busy */
	cpu[4] = 0.949;
	make_seconds(p, 10, cpu, NULL, 0, 0);
	CHECK(!gen_saturation_decide(p, 10, &s));
}

TEST(selfcheck_busy_for_a_quarter_of_the_run_saturates)
{
	gen_point_t p[MAX_SECONDS];
	double cpu[12];
	gen_saturation_t s;

	/* every fourth second busy: 3 of 12 is a quarter, never two in a row */
	for (int i = 0; i < 12; i++)
		cpu[i] = i % 4 == 1 ? 0.97 : 0.5;
	make_seconds(p, 12, cpu, NULL, 0, 0);
	CHECK(gen_saturation_decide(p, 12, &s));
	CHECK_INT(s.criterion, GEN_SAT_THREAD_CPU);
	CHECK_INT(s.seconds, 3);
	CHECK_INT(s.consecutive, 1);
	CHECK_NEAR(s.first_s, 1.0, 1e-9);
	/* the same three in a run of 13 are under a quarter */
	{
		double longer[13];

		for (int i = 0; i < 13; i++)
			longer[i] = i % 4 == 1 && i < 12 ? 0.97 : 0.5;
		make_seconds(p, 13, longer, NULL, 0, 0);
		CHECK(!gen_saturation_decide(p, 13, &s));
	}
}

TEST(selfcheck_a_short_run_is_busy_when_every_second_is)
{
	gen_point_t p[MAX_SECONDS];
	double both[2] = {0.99, 0.98}, one[2] = {0.99, 0.5}, single[1] = {0.99};
	gen_saturation_t s;
	size_t n;

	n = make_seconds(p, 2, both, NULL, 0, 0.001);
	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.consecutive, 2);
	CHECK_INT(s.whole_seconds, 2);
	n = make_seconds(p, 2, one, NULL, 0, 0.001);
	CHECK(!gen_saturation_decide(p, n, &s));
	/* a run of one second (or 0.6 s: still a second of its own) */
	n = make_seconds(p, 1, single, NULL, 0, 0);
	p[0].length_s = 0.6;
	p[0].t = 0.6;
	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.whole_seconds, 1);
	/* a run under half a second has no whole second: nothing to decide on */
	p[0].length_s = p[0].t = 0.3;
	CHECK(!gen_saturation_decide(p, n, &s));
	CHECK(!gen_saturation_decide(p, 0, &s));
}

TEST(selfcheck_a_short_run_is_never_late_enough)
{
	gen_point_t p[MAX_SECONDS];
	/* a host that stalled 1.1 s in a 2 s run: both seconds mostly late, one stall all the
	 * same; three late seconds are the least that says more */
	uint64_t two[2] = {700, 680}, three[3] = {700, 680, 300};
	gen_saturation_t s;
	size_t n;

	n = make_seconds(p, 2, NULL, two, 1000, 0.01);
	CHECK(!gen_saturation_decide(p, n, &s));
	n = make_seconds(p, 3, NULL, three, 1000, 0.01);
	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_SCHEDULE_LAG);
	CHECK_INT(s.whole_seconds, 3);
}

TEST(selfcheck_late_arrivals_for_seconds_in_a_row_saturate)
{
	gen_point_t p[MAX_SECONDS];
	uint64_t late[6] = {0, 30, 500, 800, 200, 0}; /* of 1000 a second */
	gen_saturation_t s;
	size_t n = make_seconds(p, 6, NULL, late, 1000, 0.002);

	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_SCHEDULE_LAG);
	CHECK_STR(gen_saturation_name(s.criterion), "schedule_lag");
	CHECK_INT(s.seconds, 3);
	CHECK_INT(s.consecutive, 3);
	CHECK_INT(s.whole_seconds, 6);
	CHECK_NEAR(s.first_s, 2.0, 1e-9);
	CHECK_NEAR(s.worst, 0.8, 1e-9);
	/* a tenth late is the bound itself: not over it */
	late[4] = 100;
	make_seconds(p, 6, NULL, late, 1000, 0);
	CHECK(!gen_saturation_decide(p, 6, &s));
}

TEST(selfcheck_one_stall_is_not_saturation)
{
	gen_point_t p[MAX_SECONDS];
	/* a 300 ms stall in second 3 of 5: most of that second late, the rest on time */
	uint64_t late[5] = {0, 0, 600, 2, 0};
	gen_saturation_t s;
	size_t n = make_seconds(p, 5, NULL, late, 1000, 0.001);

	CHECK(!gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_NONE);
}

TEST(selfcheck_seconds_without_arrivals_are_not_late)
{
	gen_point_t p[MAX_SECONDS];
	uint64_t late[4] = {0, 0, 0, 0};
	gen_saturation_t s;
	size_t n = make_seconds(p, 4, NULL, late, 0, 0);

	CHECK(!gen_saturation_decide(p, n, &s));
}

TEST(selfcheck_a_busy_thread_is_named_before_the_lateness_it_causes)
{
	gen_point_t p[MAX_SECONDS];
	double cpu[3] = {0.99, 0.99, 0.99};
	uint64_t late[3] = {900, 900, 900};
	gen_saturation_t s;
	size_t n = make_seconds(p, 3, cpu, late, 1000, 0);

	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_THREAD_CPU);
}

TEST(selfcheck_seconds_with_nothing_due_neither_count_nor_break_a_run)
{
	gen_point_t p[MAX_SECONDS];
	/* a starved generator: every second of the schedule late, then a long stop with nothing
	 * due; and a pause in a rate schedule between late seconds */
	uint64_t late[4] = {950, 990, 990, 0};
	gen_saturation_t s;
	size_t n = make_seconds(p, 4, NULL, late, 1000, 0);

	p[3].due = 0;
	CHECK(gen_saturation_decide(p, n, &s));
	CHECK_INT(s.criterion, GEN_SAT_SCHEDULE_LAG);
	CHECK_INT(s.whole_seconds, 3);
	CHECK_INT(s.consecutive, 3);
	{
		uint64_t paused[5] = {500, 500, 0, 500, 0};

		n = make_seconds(p, 5, NULL, paused, 1000, 0);
		p[2].due = 0;
		CHECK(gen_saturation_decide(p, n, &s));
		CHECK_INT(s.seconds, 3);
		CHECK_INT(s.consecutive, 3);
		CHECK_INT(s.whole_seconds, 4);
	}
}
