/* Unit tests for the Prometheus text parser (scrape/prom.h) and the scraper's figures
 * (scrape_parse): escapes, labels, special values, and malformed lines as errors. */
#include "test.h"

#include <math.h>

#include "scrape/prom.h"
#include "scrape/scrape.h"

static enum prom_line parse(const char *line, prom_sample_t *s)
{
	char err[120];

	return prom_parse_line(line, strlen(line), s, err, sizeof(err));
}

TEST(prom_plain_sample)
{
	prom_sample_t s;

	CHECK_INT(parse("process_cpu_seconds_total 12.5", &s), PROM_LINE_SAMPLE);
	CHECK(prom_name_is(&s, "process_cpu_seconds_total"));
	CHECK_NEAR(s.value, 12.5, 1e-12);
	CHECK(!s.has_timestamp);
	CHECK_INT(s.labels.len, 0);
	CHECK_INT(parse("up 1 1700000000000", &s), PROM_LINE_SAMPLE);
	CHECK(s.has_timestamp);
	CHECK(s.timestamp_ms == 1700000000000LL);
	CHECK_INT(parse("  \tname:with:colons  -3e-2  \r", &s), PROM_LINE_SAMPLE);
	CHECK(prom_name_is(&s, "name:with:colons"));
	CHECK_NEAR(s.value, -0.03, 1e-12);
}

TEST(prom_special_values)
{
	prom_sample_t s;

	CHECK_INT(parse("a +Inf", &s), PROM_LINE_SAMPLE);
	CHECK(isinf(s.value) && s.value > 0);
	CHECK_INT(parse("a -Inf", &s), PROM_LINE_SAMPLE);
	CHECK(isinf(s.value) && s.value < 0);
	CHECK_INT(parse("a NaN", &s), PROM_LINE_SAMPLE);
	CHECK(isnan(s.value));
	CHECK_INT(parse("h_bucket{le=\"+Inf\"} 42", &s), PROM_LINE_SAMPLE);
	CHECK_NEAR(s.value, 42, 0);
}

TEST(prom_labels_and_escapes)
{
	prom_sample_t s;
	char v[64];

	CHECK_INT(parse("http_requests_total{path=\"/a\",method=\"GET\",status=\"200\"} 7", &s),
	          PROM_LINE_SAMPLE);
	CHECK_INT(prom_label(&s, "method", v, sizeof(v)), 3);
	CHECK_STR(v, "GET");
	CHECK_INT(prom_label(&s, "status", v, sizeof(v)), 3);
	CHECK_STR(v, "200");
	CHECK_INT(prom_label(&s, "nope", v, sizeof(v)), -1);
	/* a quote, a backslash and a newline, escaped; a brace and a comma inside the value */
	CHECK_INT(parse("m{a=\"x\\\"y\\\\z\\nw\", b = \"}{,\" ,} 1", &s), PROM_LINE_SAMPLE);
	CHECK_INT(prom_label(&s, "a", v, sizeof(v)), 7);
	CHECK_STR(v, "x\"y\\z\nw");
	CHECK_INT(prom_label(&s, "b", v, sizeof(v)), 3);
	CHECK_STR(v, "}{,");
	/* cut to the buffer, the full length still returned */
	CHECK_INT(prom_label(&s, "a", v, 3), 7);
	CHECK_STR(v, "x\"");
	/* an unknown escape is kept as written */
	CHECK_INT(parse("m{a=\"c:\\\\dir\\t\"} 1", &s), PROM_LINE_SAMPLE);
	CHECK_INT(prom_label(&s, "a", v, sizeof(v)), 8);
	CHECK_STR(v, "c:\\dir\\t");
	/* empty braces, and a quoted (UTF-8 style) metric name */
	CHECK_INT(parse("m{} 2", &s), PROM_LINE_SAMPLE);
	CHECK_INT(parse("{\"my.metric\", a=\"1\"} 3", &s), PROM_LINE_SAMPLE);
	CHECK(prom_name_is(&s, "my.metric"));
	CHECK_INT(prom_label(&s, "a", v, sizeof(v)), 1);
}

TEST(prom_comments_and_blanks_skip)
{
	prom_sample_t s;

	CHECK_INT(parse("# HELP x Some help with \"quotes\" and {braces}", &s), PROM_LINE_SKIP);
	CHECK_INT(parse("# TYPE x counter", &s), PROM_LINE_SKIP);
	CHECK_INT(parse("   # indented comment", &s), PROM_LINE_SKIP);
	CHECK_INT(parse("# EOF", &s), PROM_LINE_SKIP);
	CHECK_INT(parse("", &s), PROM_LINE_SKIP);
	CHECK_INT(parse(" \t ", &s), PROM_LINE_SKIP);
}

TEST(prom_malformed_lines_are_errors)
{
	static const char *const bad[] = {
	    "m",                           /* no value */
	    "m ",                          /* no value */
	    "m{a=\"1\"}",                  /* no value */
	    "m{a=\"1\" 1",                 /* unclosed brace */
	    "m{a=\"1} 1",                  /* unterminated value */
	    "m{a=\"1\\\"} 1",              /* the escape hides the closing quote */
	    "m{a=1} 1",                    /* unquoted value */
	    "m{=\"1\"} 1",                 /* no label name */
	    "m{a=\"1\",,b=\"2\"} 1",       /* empty item */
	    "m{a=\"1\" b=\"2\"} 1",        /* missing comma */
	    "m{,} 1",                      /* only a comma */
	    "m abc",                       /* not a number */
	    "m 1 2 3",                     /* text after the timestamp */
	    "m 1 1.5",                     /* timestamp not an integer */
	    "m 1 99999999999999999999999", /* timestamp out of range */
	    "9m 1",                        /* a name cannot start with a digit */
	    "m=1",                         /* no blank before the value */
	    "{a=\"1\"} 1",                 /* no name at all */
	    "m{\"q\"} 1",                  /* a quoted name after a plain one */
	    "m 1111111111111111111111111111111111111111111111111111111111111111111111111111",
	};
	prom_sample_t s;
	char err[120];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (prom_parse_line(bad[i], strlen(bad[i]), &s, err, sizeof(err)) !=
		    PROM_LINE_ERROR)
			test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
		else if (strncmp(err, "column ", 7) != 0)
			test_fail(__FILE__, __LINE__, "no column in the error for %s: %s", bad[i],
			          err);
	}
}

static void count_sample(void *ctx, const prom_sample_t *s)
{
	(void)s;
	(*(int *)ctx)++;
}

TEST(prom_parse_counts_bad_lines_and_goes_on)
{
	const char text[] = "# HELP a x\n# TYPE a gauge\na 1\nbroken{\nb{x=\"y\"} 2\n\nc NaN\n"
	                    "d 4"; /* no final newline */
	prom_stats_t st;
	int seen = 0;

	prom_parse(text, sizeof(text) - 1, count_sample, &seen, &st);
	CHECK_INT(seen, 4);
	CHECK_INT(st.samples, 4);
	CHECK_INT(st.bad_lines, 1);
	CHECK(strstr(st.first_error, "line 4, column") == st.first_error);
}

TEST(scrape_parse_keeps_known_figures)
{
	const char text[] =
	    "# TYPE process_cpu_seconds_total counter\n"
	    "process_cpu_seconds_total 3.25\n"
	    "process_resident_memory_bytes 1.048576e+07\n"
	    "surge_cgroup_cpu_limit_cores 2\n"
	    "surge_cgroup_memory_limit_bytes 536870912\n"
	    "surge_workers 4\n"
	    "http_server_active_requests 3\n"
	    "http_requests_in_flight 99\n" /* a second name for in-flight: not added */
	    "db_client_connection_pending_requests{db_system_name=\"sqlite\"} 2\n"
	    "db_client_connection_pending_requests{db_system_name=\"postgresql\"} 5\n"
	    "db_client_connection_timeouts_total{db_system_name=\"sqlite\"} 1\n"
	    "db_client_connection_wait_time_seconds_sum{db_system_name=\"sqlite\"} 0.5\n"
	    "db_client_connection_wait_time_seconds_count{db_system_name=\"sqlite\"} 10\n"
	    "garbage line here\n";
	scrape_sample_t x;
	uint64_t bad = 0;

	CHECK(scrape_parse(text, sizeof(text) - 1, &x, &bad));
	CHECK_INT(bad, 1);
	CHECK_NEAR(x.cpu_seconds, 3.25, 1e-12);
	CHECK_NEAR(x.rss_bytes, 10485760, 0);
	CHECK_NEAR(x.cpu_limit_cores, 2, 0);
	CHECK_NEAR(x.memory_limit_bytes, 536870912, 0);
	CHECK_NEAR(x.workers, 4, 0);
	CHECK_NEAR(x.in_flight, 3, 0);
	CHECK_NEAR(x.pool_pending, 7, 0);
	CHECK_NEAR(x.pool_timeouts, 1, 0);
	CHECK_NEAR(x.pool_wait_sum_s, 0.5, 1e-12);
	CHECK_NEAR(x.pool_wait_count, 10, 0);
}

TEST(scrape_parse_unknown_figures_are_nan)
{
	const char text[] = "process_cpu_seconds_total 1\nsomething_else 2\n";
	const char none[] = "# nothing we know\nfoo 1\n";
	scrape_sample_t x;

	CHECK(scrape_parse(text, sizeof(text) - 1, &x, NULL));
	CHECK(isnan(x.rss_bytes) && isnan(x.cpu_limit_cores) && isnan(x.memory_limit_bytes));
	CHECK(isnan(x.workers) && isnan(x.in_flight) && isnan(x.pool_pending));
	CHECK(!scrape_parse(none, sizeof(none) - 1, &x, NULL));
	CHECK(!scrape_parse("", 0, &x, NULL));
}

TEST(scrape_check_url_wants_http)
{
	char err[200];

	CHECK_INT(scrape_check_url("http://127.0.0.1:9/metrics", err, sizeof(err)), 0);
	CHECK(scrape_check_url("https://example.com/metrics", err, sizeof(err)) < 0);
	CHECK(strstr(err, "https") != NULL);
	CHECK(scrape_check_url("not a url", err, sizeof(err)) < 0);
}
