/* Unit tests for the Prometheus text writer (core/prom_write.h): each piece it writes is
 * read back by the parser surge scrapes with (scrape/prom.h), so the two agree on escapes,
 * special values and histograms. */
#include "test.h"

#include <math.h>

#include "core/prom_write.h"
#include "scrape/prom.h"

typedef struct seen {
	prom_sample_t last[16];
	char text[16][128];
	size_t n;
} seen_t;

static void keep(void *ctx, const prom_sample_t *s)
{
	seen_t *seen = ctx;

	if (seen->n < 16)
		seen->last[seen->n++] = *s;
}

static prom_stats_t read_back(const buf_t *b, seen_t *seen)
{
	prom_stats_t st;

	memset(seen, 0, sizeof(*seen));
	memset(&st, 0, sizeof(st));
	prom_parse(b->data, b->len, keep, seen, &st);
	return st;
}

TEST(prom_write_metric_and_special_values)
{
	buf_t b;
	seen_t seen;
	prom_stats_t st;

	buf_init(&b, 1 << 16);
	prom_metric(&b, "a_total", "counter", "Things.", 12.5);
	prom_metric(&b, "b", "gauge", "Up.", INFINITY);
	prom_metric(&b, "c", "gauge", "Down.", -INFINITY);
	prom_metric(&b, "d", "gauge", "Unknown.", NAN);
	prom_metric(&b, "e", "gauge", "Exact.", 0.1 + 0.2);
	CHECK(strstr(b.data, "# HELP a_total Things.\n# TYPE a_total counter\na_total 12.5\n"));
	CHECK(strstr(b.data, "\nb +Inf\n") && strstr(b.data, "\nc -Inf\n"));
	CHECK(strstr(b.data, "\nd NaN\n"));
	st = read_back(&b, &seen);
	CHECK_INT(st.bad_lines, 0);
	CHECK_INT(seen.n, 5);
	CHECK_NEAR(seen.last[0].value, 12.5, 0);
	CHECK(isinf(seen.last[1].value) && seen.last[1].value > 0);
	CHECK(isinf(seen.last[2].value) && seen.last[2].value < 0);
	CHECK(isnan(seen.last[3].value));
	CHECK(seen.last[4].value == 0.1 + 0.2); /* %.17g: the double itself, not a rounding */
	/* the shortest text that gives the double back: 0.05 as people write it */
	buf_reset(&b);
	prom_sample(&b, "f", "k=\"v\"", 50000 / 1e6);
	prom_sample(&b, "g", "", 12345678901234.0);
	CHECK_STR(b.data, "f{k=\"v\"} 0.05\ng 12345678901234\n");
	buf_free(&b);
}

TEST(prom_write_escapes_labels_and_help)
{
	const char *nasty = "a \"quoted\" \\ back\nslash";
	buf_t b;
	seen_t seen;
	prom_stats_t st;
	char v[64];

	buf_init(&b, 1 << 16);
	prom_family(&b, "info", "gauge", "Help with a \\ and a\nline feed.");
	buf_append_str(&b, "info{name=\"");
	prom_label_value(&b, nasty);
	buf_append_str(&b, "\"} 1\n");
	/* the help text stays on its line: the format's two escapes */
	CHECK(
	    strstr(b.data, "# HELP info Help with a \\\\ and a\\nline feed.\n# TYPE info gauge\n"));
	st = read_back(&b, &seen);
	CHECK_INT(st.bad_lines, 0);
	CHECK_INT(seen.n, 1);
	CHECK_INT(prom_label(&seen.last[0], "name", v, sizeof(v)), (long long)strlen(nasty));
	CHECK_STR(v, nasty);
	buf_free(&b);
}

TEST(prom_write_histogram_is_cumulative)
{
	static const double le[] = {0.1, 0.5, 1};
	static const bool only[] = {true, false, true};
	static const uint64_t counts[] = {2, 3, 4};
	buf_t b;
	seen_t seen;
	prom_stats_t st;
	char v[16];

	buf_init(&b, 1 << 16);
	prom_histogram(&b, "h", "k=\"v\"", le, NULL, 3, counts, 10, 4.25);
	CHECK(strstr(b.data, "h_bucket{k=\"v\",le=\"0.1\"} 2\n"));
	CHECK(strstr(b.data, "h_bucket{k=\"v\",le=\"0.5\"} 5\n"));
	CHECK(strstr(b.data, "h_bucket{k=\"v\",le=\"1\"} 9\n"));
	CHECK(strstr(b.data, "h_bucket{k=\"v\",le=\"+Inf\"} 10\n"));
	CHECK(strstr(b.data, "h_sum{k=\"v\"} 4.250000000\nh_count{k=\"v\"} 10\n"));
	st = read_back(&b, &seen);
	CHECK_INT(st.bad_lines, 0);
	CHECK_INT(seen.n, 6);
	CHECK_INT(prom_label(&seen.last[3], "le", v, sizeof(v)), 4);
	CHECK_STR(v, "+Inf");
	/* a subset of the bounds (serve's podinfo form), still cumulative; no labels at all */
	buf_reset(&b);
	prom_histogram(&b, "g", "", le, only, 3, counts, 10, 1);
	CHECK(strstr(b.data, "g_bucket{le=\"0.1\"} 2\ng_bucket{le=\"1\"} 9\n"));
	CHECK(!strstr(b.data, "le=\"0.5\""));
	CHECK(strstr(b.data, "g_sum 1.000000000\ng_count 10\n"));
	st = read_back(&b, &seen);
	CHECK_INT(st.bad_lines, 0);
	CHECK_INT(seen.n, 5);
	buf_free(&b);
}
