/* Tests for report/thresholds: the threshold grammar and its messages, checks against
 * histograms with known values, the seeds' assessment bands and verdicts, and the judge's
 * view of a result (report_thresholds). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "report/report.h"
#include "report/thresholds.h"
#include "test.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Parses text that must be valid; a failure is reported with the parser's own message. */
static threshold_t parse_ok(const char *text)
{
	threshold_t t;
	char err[256] = "";

	memset(&t, 0xa5, sizeof(t));
	if (threshold_parse(text, &t, err, sizeof(err)) != 0)
		test_fail(__FILE__, __LINE__, "'%s' rejected: %s", text, err);
	return t;
}

TEST(threshold_parse_every_metric)
{
	static const struct {
		const char *in;
		threshold_metric_t metric;
		const char *name;
	} cases[] = {
	    {"p50<1", TH_P50, "p50"},
	    {"p90<1", TH_P90, "p90"},
	    {"p95<1", TH_P95, "p95"},
	    {"p99<1", TH_P99, "p99"},
	    {"p99.9<1", TH_P999, "p99.9"},
	    {"max<1", TH_MAX, "max"},
	    {"mean<1", TH_MEAN, "mean"},
	    {"min<1", TH_MIN, "min"},
	    {"error_rate<1%", TH_ERROR_RATE, "error_rate"},
	    {"rps>1", TH_RPS, "rps"},
	    {"balance<1.2", TH_BALANCE, "balance"},
	};

	for (size_t i = 0; i < COUNT(cases); i++) {
		threshold_t t = parse_ok(cases[i].in);

		CHECK_INT(t.metric, cases[i].metric);
		CHECK_STR(threshold_metric_name(t.metric), cases[i].name);
		CHECK_STR(t.expr, cases[i].in);
		CHECK_STR(t.endpoint, "");
	}
	CHECK_STR(threshold_metric_name((threshold_metric_t)99), "?");
}

TEST(threshold_parse_every_operator)
{
	static const struct {
		const char *in;
		threshold_op_t op;
	} cases[] = {
	    {"p95<200ms", TH_LT},
	    {"p95<=200ms", TH_LE},
	    {"p95>200ms", TH_GT},
	    {"p95>=200ms", TH_GE},
	};

	for (size_t i = 0; i < COUNT(cases); i++) {
		threshold_t t = parse_ok(cases[i].in);

		CHECK_INT(t.op, cases[i].op);
		CHECK_NEAR(t.limit, 200, 0);
	}
}

TEST(threshold_parse_latency_units)
{
	static const struct {
		const char *in;
		double ms;
	} cases[] = {
	    {"p95<200ms", 200}, {"p95<1.5s", 1500}, {"p95<250us", 0.25},  {"p95<200", 200},
	    {"p95<0.5", 0.5},   {"p95<1m", 60000},  {"p95<0", 0},         {"max<2s", 2000},
	    {"mean<10ms", 10},  {"min>100us", 0.1}, {"p99.9<1.25", 1.25},
	};

	for (size_t i = 0; i < COUNT(cases); i++) {
		threshold_t t = parse_ok(cases[i].in);

		CHECK_NEAR(t.limit, cases[i].ms, 1e-12);
	}
}

TEST(threshold_parse_error_rates_and_rps)
{
	static const struct {
		const char *in;
		double limit;
	} cases[] = {
	    {"error_rate<1%", 0.01},   {"error_rate<0.5%", 0.005},
	    {"error_rate<0.01", 0.01}, {"error_rate<=0", 0},
	    {"error_rate<1", 1},       {"error_rate<100%", 1},
	    {"error_rate<0%", 0},      {"rps>100", 100},
	    {"rps>=2.5", 2.5},         {"rps>0", 0},
	    {"rps>1e3", 1000},
	};

	for (size_t i = 0; i < COUNT(cases); i++) {
		threshold_t t = parse_ok(cases[i].in);

		CHECK_NEAR(t.limit, cases[i].limit, 1e-15);
	}
}

TEST(threshold_parse_endpoints)
{
	threshold_t t = parse_ok("name:/api/users:p95<200ms");

	CHECK_STR(t.endpoint, "/api/users");
	CHECK_INT(t.metric, TH_P95);
	CHECK_INT(t.op, TH_LT);
	CHECK_NEAR(t.limit, 200, 0);
	CHECK_STR(t.expr, "name:/api/users:p95<200ms");

	/* the endpoint keeps every ':' before the last one */
	t = parse_ok("name:/a:b:error_rate<1%");
	CHECK_STR(t.endpoint, "/a:b");
	CHECK_INT(t.metric, TH_ERROR_RATE);
	CHECK_NEAR(t.limit, 0.01, 1e-15);
	t = parse_ok("name:http://host:8080/x:rps >= 10");
	CHECK_STR(t.endpoint, "http://host:8080/x");
	CHECK_INT(t.metric, TH_RPS);
	CHECK_INT(t.op, TH_GE);
	t = parse_ok("name:checkout:p99.9<=1s");
	CHECK_STR(t.endpoint, "checkout");
	CHECK_INT(t.metric, TH_P999);
	CHECK_NEAR(t.limit, 1000, 0);
}

TEST(threshold_parse_spaces_around_operator)
{
	static const char *const cases[] = {"p95 < 200ms", "p95< 200ms", "p95 <200ms",
	                                    "p95  <=  200ms", "p95\t<\t200ms"};

	for (size_t i = 0; i < COUNT(cases); i++) {
		threshold_t t = parse_ok(cases[i]);

		CHECK_INT(t.metric, TH_P95);
		CHECK_NEAR(t.limit, 200, 0);
		CHECK_STR(t.expr, cases[i]); /* as written, spaces included */
	}
}

TEST(threshold_parse_rejects)
{
	static const struct {
		const char *in, *says;
	} cases[] = {
	    {"p96<200ms", "unknown metric 'p96' (known: p50 p90 p95 p99 p99.9 max mean min "
	                  "error_rate rps balance)"},
	    {"P95<200ms", "unknown metric 'P95'"},
	    {"p99.99<1s", "unknown metric 'p99.99'"},
	    {"<200ms", "missing metric before '<200ms'"},
	    {" p95<200ms", "missing metric before ' p95<200ms'"},
	    {"p95", "expected < <= > or >= after 'p95'"},
	    {"p95=200ms", "got '=200ms'"},
	    {"p95 200ms", "got '200ms'"},
	    {"p95!=200ms", "got '!=200ms'"},
	    {"p95<", "missing value after '<'"},
	    {"p95 >= ", "missing value after '>= '"},
	    {"p95<fast", "'<fast' is not a duration"},
	    {"p95<200ms ", "'<200ms ' is not a duration"},
	    {"p95<200 ms", "'<200 ms' is not a duration"},
	    {"p95<-5ms", "'<-5ms' is not a duration"},
	    {"p95<+5ms", "'<+5ms' is not a duration"},
	    {"p95<<200ms", "'<<200ms' is not a duration"},
	    {"p95<200xs", "'<200xs' is not a duration"},
	    {"p95<inf", "'<inf' is not a duration"},
	    {"p95<nan", "'<nan' is not a duration"},
	    {"error_rate<5", "'<5' is not an error rate"},
	    {"error_rate<1.5", "'<1.5' is not an error rate"},
	    {"error_rate<101%", "'<101%' is not an error rate"},
	    {"error_rate<-1%", "'<-1%' is not an error rate"},
	    {"error_rate<1 %", "'<1 %' is not an error rate"},
	    {"error_rate<1%%", "'<1%%' is not an error rate"},
	    {"error_rate<%", "'<%' is not an error rate"},
	    {"error_rate<0x1", "'<0x1' is not an error rate"},
	    {"rps>fast", "'>fast' is not a request rate"},
	    {"rps>-1", "'>-1' is not a request rate"},
	    {"rps>100/s", "'>100/s' is not a request rate"},
	    {"rps>1e400", "'>1e400' is not a request rate"},
	    {"rps>inf", "'>inf' is not a request rate"},
	    {"name:p95<200ms", "expected name:ENDPOINT:METRIC OP VALUE"},
	    {"name::p95<200ms", "endpoint name is empty"},
	    {"name:/api:p96<1", "unknown metric 'p96'"},
	    {"name:/api:p95<slow", "'<slow' is not a duration"},
	    {"name:/api:", "missing metric before ''"},
	    {"", "empty threshold"},
	};
	threshold_t t, before;
	char err[256];

	memset(&before, 0x5a, sizeof(before));
	for (size_t i = 0; i < COUNT(cases); i++) {
		t = before;
		err[0] = '\0';
		CHECK_INT(threshold_parse(cases[i].in, &t, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].says))
			test_fail(__FILE__, __LINE__, "'%s': message \"%s\" lacks \"%s\"",
			          cases[i].in, err, cases[i].says);
		if (*cases[i].in && !strstr(err, cases[i].in))
			test_fail(__FILE__, __LINE__, "'%s': message \"%s\" does not quote it",
			          cases[i].in, err);
		CHECK(memcmp(&t, &before, sizeof(t)) == 0); /* untouched on failure */
	}
	CHECK_INT(threshold_parse(NULL, &t, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "empty threshold") != NULL);
}

/* "name:" + endpoint + ":" + condition, filled out to exactly total characters. */
static void long_threshold(char *out, size_t endpoint_len, size_t total)
{
	size_t n = 0;

	n += (size_t)sprintf(out, "name:");
	memset(out + n, 'e', endpoint_len);
	n += endpoint_len;
	n += (size_t)sprintf(out + n, ":p95<200.");
	memset(out + n, '0', total - n);
	out[total] = '\0';
}

TEST(threshold_parse_length_limits)
{
	char text[512], err[256];
	threshold_t t;

	long_threshold(text, 127, 159); /* the longest of each that fits */
	CHECK_INT(threshold_parse(text, &t, err, sizeof(err)), 0);
	CHECK_STR(t.expr, text);
	CHECK_INT(strlen(t.endpoint), 127);
	CHECK_NEAR(t.limit, 200, 0);

	long_threshold(text, 127, 160);
	CHECK_INT(threshold_parse(text, &t, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "longer than 159 characters") != NULL);
	CHECK(strncmp(err, "threshold 'name:eeee", 20) == 0);

	long_threshold(text, 128, 150);
	CHECK_INT(threshold_parse(text, &t, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "endpoint name longer than 127 characters") != NULL);
}

static threshold_t parse_check(const char *text, const threshold_figures_t *f, bool *pass,
                               double *value)
{
	threshold_t t = parse_ok(text);

	*pass = threshold_check(&t, f, value);
	return t;
}

/* 1..1000 µs once each: every percentile lands on an exact 1 µs bucket. */
TEST(threshold_check_every_metric)
{
	static const struct {
		const char *in;
		double value;
		bool pass;
	} cases[] = {
	    {"p50<=500us", 0.5, true},       {"p50<500us", 0.5, false},
	    {"p50>0.499", 0.5, true},        {"p50>=0.5", 0.5, true},
	    {"p50>0.5", 0.5, false},         {"p90<0.901", 0.9, true},
	    {"p90<0.9", 0.9, false},         {"p95<=950us", 0.95, true},
	    {"p95<950us", 0.95, false},      {"p95>0.949", 0.95, true},
	    {"p95>=0.951", 0.95, false},     {"p99<1ms", 0.99, true},
	    {"p99>0.99", 0.99, false},       {"p99.9<=999us", 0.999, true},
	    {"p99.9<999us", 0.999, false},   {"max<=1ms", 1, true},
	    {"max<1ms", 1, false},           {"max>=0.001s", 1, true},
	    {"min>=1us", 0.001, true},       {"min>1us", 0.001, false},
	    {"mean<0.5006", 0.5005, true},   {"mean<0.5004", 0.5005, false},
	    {"mean>500us", 0.5005, true},    {"error_rate<=1%", 0.01, true},
	    {"error_rate<1%", 0.01, false},  {"error_rate<0.011", 0.01, true},
	    {"error_rate>0.5%", 0.01, true}, {"rps>=100", 100, true},
	    {"rps>100", 100, false},         {"rps<100.5", 100, true},
	    {"rps<=99.9", 100, false},
	};
	static hist_t h;
	threshold_figures_t f = {.latency = &h, .requests = 1000, .errors = 10, .duration_s = 10};
	double value;
	bool pass;

	hist_reset(&h);
	for (int64_t v = 1; v <= 1000; v++)
		hist_record(&h, v);
	for (size_t i = 0; i < COUNT(cases); i++) {
		parse_check(cases[i].in, &f, &pass, &value);
		if (pass != cases[i].pass || fabs(value - cases[i].value) > 1e-12)
			test_fail(__FILE__, __LINE__, "'%s': %s with %g, expected %s with %g",
			          cases[i].in, pass ? "passes" : "fails", value,
			          cases[i].pass ? "pass" : "fail", cases[i].value);
	}
}

/* Milliseconds-scale values: the boundary holds exactly at 200 ms in every unit. */
TEST(threshold_check_millisecond_boundaries)
{
	static hist_t h;
	threshold_figures_t f = {.latency = &h, .requests = 100, .errors = 0, .duration_s = 1};
	double value;
	bool pass;

	hist_reset(&h);
	hist_record_n(&h, 200000, 100);
	parse_check("p95<200ms", &f, &pass, &value);
	CHECK(!pass);
	CHECK_NEAR(value, 200, 0);
	parse_check("p95<=200ms", &f, &pass, &value);
	CHECK(pass);
	parse_check("p95 <= 200", &f, &pass, &value);
	CHECK(pass);
	parse_check("p95<0.2s", &f, &pass, &value);
	CHECK(!pass);
	parse_check("p95<=0.2s", &f, &pass, &value);
	CHECK(pass);
	parse_check("p95<200001us", &f, &pass, &value);
	CHECK(pass);
	parse_check("p95>=200000us", &f, &pass, &value);
	CHECK(pass);

	/* 95 fast and 5 slow: p95 in the fast bucket (to 3 significant digits), p99 the slow */
	hist_reset(&h);
	hist_record_n(&h, 40000, 95);
	hist_record_n(&h, 300000, 5);
	parse_check("p95<50ms", &f, &pass, &value);
	CHECK(pass);
	CHECK_NEAR(value, 40, 0.04);
	parse_check("p99<300ms", &f, &pass, &value);
	CHECK(!pass);
	CHECK_NEAR(value, 300, 0);
	parse_check("mean<=53ms", &f, &pass, &value);
	CHECK(pass);
	CHECK_NEAR(value, 53, 1e-9);
	parse_check("min>=40ms", &f, &pass, &value);
	CHECK(pass);
	CHECK_NEAR(value, 40, 0);
}

/* Nothing measured passes nothing, even thresholds that any figure would meet. */
TEST(threshold_check_empty_figures)
{
	static const char *const all[] = {"p50>=0",           "p90<1h",        "p95<=1h", "p99>=0",
	                                  "p99.9>=0",         "max>=0",        "mean>=0", "min<=1h",
	                                  "error_rate<=100%", "error_rate>=0", "rps>=0"};
	static hist_t h;
	threshold_figures_t f = {.latency = &h, .requests = 0, .errors = 0, .duration_s = 10};
	double value;
	bool pass;

	hist_reset(&h);
	for (size_t i = 0; i < COUNT(all); i++) {
		value = 0;
		parse_check(all[i], &f, &pass, &value);
		CHECK(!pass);
		CHECK(isnan(value));
	}
	/* requests that all failed before a response: latency unknown, the rest still measured */
	f.requests = 10;
	f.errors = 10;
	parse_check("p95<1h", &f, &pass, &value);
	CHECK(!pass && isnan(value));
	f.latency = NULL;
	parse_check("max<1h", &f, &pass, &value);
	CHECK(!pass && isnan(value));
	parse_check("error_rate>=100%", &f, &pass, &value);
	CHECK(pass);
	CHECK_NEAR(value, 1, 0);
	f.duration_s = 0;
	parse_check("rps>=0", &f, &pass, &value);
	CHECK(!pass && isnan(value));

	threshold_t t = parse_ok("rps>=0");
	CHECK(!threshold_check(&t, NULL, NULL));
}

TEST(assess_latency_classes)
{
	static const struct {
		double p95;
		const char *class;
		bool ok;
	} cases[] = {
	    {0, "excellent", true}, {49.9, "excellent", true}, {50, "good", true},
	    {99.9, "good", true},   {100, "acceptable", true}, {199.9, "acceptable", true},
	    {200, "poor", false},   {5000, "poor", false},     {NAN, "poor", false},
	};
	assess_targets_t targets;
	assessment_t a;

	assess_defaults(&targets);
	for (size_t i = 0; i < COUNT(cases); i++) {
		assess_run(&targets, cases[i].p95, 500, 0, true, &a);
		CHECK_STR(a.latency_class, cases[i].class);
		CHECK_INT(a.latency_ok, cases[i].ok);
		CHECK_INT(a.pass, cases[i].ok);
	}
}

TEST(assess_verdicts)
{
	assess_targets_t targets;
	assessment_t a;

	assess_defaults(&targets);
	CHECK_NEAR(targets.p95_ms, 200, 0);
	CHECK_NEAR(targets.max_error_rate, 0.05, 0);
	CHECK_NEAR(targets.min_rps, 0, 0);

	/* the seed's example report: PASS, latency good */
	assess_run(&targets, 98, 498.7, 0.0282, true, &a);
	CHECK(a.pass && a.latency_ok && a.errors_ok && a.throughput_ok && a.thresholds_ok);
	CHECK_STR(a.latency_class, "good");
	CHECK_NEAR(a.p95_ms, 98, 0);
	CHECK_NEAR(a.rps, 498.7, 0);
	CHECK_NEAR(a.error_rate, 0.0282, 0);

	assess_run(&targets, 98, 0, 0, true, &a); /* no throughput target: any rps will do */
	CHECK(a.throughput_ok && a.pass);
	assess_run(&targets, 98, 500, 0.0499, true, &a);
	CHECK(a.errors_ok && a.pass);
	assess_run(&targets, 98, 500, 0.05, true, &a);
	CHECK(!a.errors_ok && !a.pass && a.latency_ok);
	assess_run(&targets, 98, 500, NAN, true, &a);
	CHECK(!a.errors_ok && !a.pass);
	assess_run(&targets, 98, 500, 0, false, &a);
	CHECK(!a.thresholds_ok && !a.pass && a.latency_ok && a.errors_ok && a.throughput_ok);

	targets.min_rps = 400;
	assess_run(&targets, 98, 400, 0, true, &a);
	CHECK(a.throughput_ok && a.pass);
	assess_run(&targets, 98, 399.9, 0, true, &a);
	CHECK(!a.throughput_ok && !a.pass && a.latency_ok && a.errors_ok);
	assess_run(&targets, 98, NAN, 0, true, &a);
	CHECK(!a.throughput_ok && !a.pass);

	targets.p95_ms = 100; /* a stricter latency target than the class bands */
	assess_run(&targets, 99.9, 500, 0, true, &a);
	CHECK(a.latency_ok);
	assess_run(&targets, 100, 500, 0, true, &a);
	CHECK(!a.latency_ok && !a.pass);
	CHECK_STR(a.latency_class, "acceptable");

	assess_run(NULL, 150, 1, 0.01, true, &a); /* NULL targets: the defaults */
	CHECK(a.pass);
	CHECK_STR(a.latency_class, "acceptable");
}

/* balance: --group-by-header's spread, a plain number, the whole run's only; its value comes
 * from the figures (NAN without grouped responses fails it, as nothing measured does). */
TEST(threshold_balance)
{
	threshold_t t = parse_ok("balance < 1.2");
	threshold_figures_t f = {.requests = 100, .duration_s = 1, .balance = 1.05};
	char err[256];
	double v;

	CHECK_NEAR(t.limit, 1.2, 1e-12);
	CHECK(threshold_check(&t, &f, &v));
	CHECK_NEAR(v, 1.05, 1e-12);
	f.balance = 1.5;
	CHECK(!threshold_check(&t, &f, &v));
	f.balance = NAN;
	CHECK(!threshold_check(&t, &f, &v) && isnan(v));
	CHECK_INT(threshold_parse("balance<even", &t, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "is not a spread") != NULL);
	CHECK_INT(threshold_parse("name:/api:balance<1.2", &t, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "balance is the whole run's spread") != NULL);
}

/* Endpoints of a made-up run for threshold_judge: name, requests, errors, one latency each. */
static const struct fake_endpoint {
	const char *name;
	uint64_t requests, errors;
	int64_t latency_us;
	bool exact;
} fake_endpoints[] = {
    {"/x", 90, 0, 1000, true},   /* GET /x: fast, first seen */
    {"/x", 10, 5, 300000, true}, /* POST /x: slow and failing */
    {"/y", 50, 0, 2000, true},
    {"/z", 5, 0, 100, false}, /* a merged shard without its histogram */
};

static const char *fake_name(const void *ctx, uint32_t i)
{
	return ((const struct fake_endpoint *)ctx)[i].name;
}

static int fake_add(const void *ctx, uint32_t i, hist_t *h, uint64_t *requests, uint64_t *errors)
{
	const struct fake_endpoint *e = &((const struct fake_endpoint *)ctx)[i];

	hist_record_n(h, e->latency_us, e->requests);
	*requests += e->requests;
	*errors += e->errors;
	return e->exact ? 0 : -1;
}

/* name:/x: judges GET /x and POST /x together, whichever came first; an unknown name or one
 * without exact figures fails with NAN; a run-wide threshold reads the run's figures. */
TEST(threshold_judge_endpoint_is_every_method_of_the_name)
{
	hist_t *scratch = malloc(sizeof(*scratch)), *run = malloc(sizeof(*run));
	threshold_view_t v = {.endpoint_count = COUNT(fake_endpoints),
	                      .ctx = fake_endpoints,
	                      .endpoint_name = fake_name,
	                      .endpoint_add = fake_add};
	threshold_t t;
	double value;

	hist_reset(run);
	hist_record_n(run, 500, 10);
	v.run = (threshold_figures_t){.latency = run, .requests = 10, .duration_s = 2};
	t = parse_ok("name:/x:p95<100ms"); /* GET /x alone passes; with POST /x it fails */
	CHECK(!threshold_judge(&t, &v, scratch, &value));
	CHECK(value > 250 && value < 350);
	t = parse_ok("name:/x:p50<100ms");
	CHECK(threshold_judge(&t, &v, scratch, &value));
	t = parse_ok("name:/x:error_rate<=5%");
	CHECK(threshold_judge(&t, &v, scratch, &value));
	CHECK_NEAR(value, 0.05, 1e-12);
	t = parse_ok("name:/x:rps>=50");
	CHECK(threshold_judge(&t, &v, scratch, &value));
	CHECK_NEAR(value, 50, 1e-12);
	t = parse_ok("name:/y:p95<100ms");
	CHECK(threshold_judge(&t, &v, scratch, &value));
	t = parse_ok("name:/nope:p95<100ms");
	CHECK(!threshold_judge(&t, &v, scratch, &value) && isnan(value));
	t = parse_ok("name:/z:p95<100ms");
	CHECK(!threshold_judge(&t, &v, scratch, &value) && isnan(value));
	t = parse_ok("name:/y:p95<100ms");
	CHECK(!threshold_judge(&t, &v, NULL, &value) && isnan(value)); /* no memory to sum */
	t = parse_ok("p95<1ms");
	CHECK(threshold_judge(&t, &v, NULL, &value));
	CHECK_NEAR(value, hist_percentile(run, 95) / 1e3, 1e-9);
	free(scratch);
	free(run);
}

/* The judge's view of a result (report_thresholds, what --abort-on-fail judges on the stream
 * so far and report_judge on the whole): summed from one second's deltas, name:/x: is GET /x
 * and POST /x together; a name not requested yet, and balance without --group-by-header
 * counts, have nothing to measure (NAN: the live check waits, the end fails them). */
TEST(report_thresholds_judges_the_stream_so_far)
{
	static const char *const exprs[] = {"name:/x:p90<100ms", "name:/x:p50<100ms",
	                                    "name:/y:p99<1s",    "p99<1s",
	                                    "error_rate<1%",     "balance<1.2"};
	hist_t *d = malloc(sizeof(*d));
	delta_endpoint_t eps[2] = {{.method = "GET", .name = "/x"},
	                           {.method = "POST", .name = "/x"}};
	delta_t delta = {.second = 0, .length_s = 1, .endpoints = eps, .endpoint_count = 2};
	threshold_t t[COUNT(exprs)];
	double values[COUNT(exprs)];
	bool passed[COUNT(exprs)];
	result_t r;

	result_init(&r);
	for (size_t i = 0; i < COUNT(exprs); i++)
		t[i] = parse_ok(exprs[i]);
	for (int e = 0; e < 2; e++) {
		hist_reset(d);
		hist_record_n(d, e ? 300000 : 1000, 10); /* GET 1 ms, POST 300 ms */
		result_hist_init(&eps[e].latency);
		CHECK(result_hist_set(NULL, &eps[e].latency, d) == 0);
		eps[e].counters.requests = 10;
	}
	hist_reset(d);
	hist_record_n(d, 1000, 10);
	hist_record_n(d, 300000, 10);
	result_hist_init(&delta.latency);
	result_hist_init(&delta.service);
	result_hist_init(&delta.sched_lag);
	CHECK(result_hist_set(NULL, &delta.latency, d) == 0);
	delta.counters.requests = 20;
	CHECK(result_add(&r, &delta) == 0);
	CHECK(report_thresholds(&r, t, (int)COUNT(exprs), values, passed) == 0);
	CHECK(!passed[0] && values[0] >= 250); /* GET /x alone would pass */
	CHECK(passed[1] && values[1] < 100);
	CHECK(!passed[2] && isnan(values[2]));
	CHECK(passed[3] && values[3] >= 250);
	CHECK(passed[4] && values[4] == 0);
	CHECK(!passed[5] && isnan(values[5]));
	for (int e = 0; e < 2; e++)
		result_hist_free(NULL, &eps[e].latency);
	result_hist_free(NULL, &delta.latency);
	result_free(&r);
	free(d);
}
