/* report_junit: JUnit XML from a result (the typed model, result/result.h), so CI systems
 * show a load test as tests:
 * one testsuite "surge" with a testcase per threshold, per check and for the assessment's
 * verdict (and the generator's self-check), each failing with the measured value. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "report/report_outputs.h"
#include "result/result_doc.h"

/* Text as XML character data or attribute value: the five entities escaped, and control
 * characters XML 1.0 cannot carry at all replaced by U+FFFD. */
static void put_escaped(buf_t *out, const char *s)
{
	for (; *s && !buf_error(out); s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': buf_append_str(out, "&amp;"); break;
		case '<': buf_append_str(out, "&lt;"); break;
		case '>': buf_append_str(out, "&gt;"); break;
		case '"': buf_append_str(out, "&quot;"); break;
		case '\'': buf_append_str(out, "&apos;"); break;
		case '\t': buf_append_str(out, "&#9;"); break;
		case '\n': buf_append_str(out, "&#10;"); break;
		case '\r': buf_append_str(out, "&#13;"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_append_str(out, "\xef\xbf\xbd");
			else
				buf_append_char(out, (char)c);
		}
	}
}

typedef struct suite {
	buf_t *cases; /* the testcases, written before the suite header knows its counts */
	int tests, failures;
} suite_t;

/* One testcase; failure is NULL when it passed. */
static void testcase(suite_t *s, const char *classname, const char *name, const char *failure,
                     const char *type, const char *detail)
{
	buf_t *o = s->cases;

	s->tests++;
	buf_append_str(o, "    <testcase classname=\"");
	put_escaped(o, classname);
	buf_append_str(o, "\" name=\"");
	put_escaped(o, name);
	buf_append_str(o, "\" time=\"0\"");
	if (!failure) {
		buf_append_str(o, "/>\n");
	} else {
		s->failures++;
		buf_append_str(o, ">\n      <failure message=\"");
		put_escaped(o, failure);
		buf_printf(o, "\" type=\"%s\">", type);
		put_escaped(o, detail ? detail : failure);
		buf_append_str(o, "</failure>\n    </testcase>\n");
	}
}

static void threshold_cases(suite_t *s, const result_t *r)
{
	for (uint32_t i = 0; i < r->threshold_count; i++) {
		const result_threshold_t *t = &r->thresholds[i];
		char value[64], message[512];

		result_threshold_text(t->expr, t->value, value, sizeof(value));
		snprintf(message, sizeof(message), "%s: %s%s", t->expr,
		         isnan(t->value) ? "" : "measured ", value);
		testcase(s, "surge.thresholds", t->expr, t->ok ? NULL : message, "threshold", NULL);
	}
}

static void check_cases(suite_t *s, const result_t *r)
{
	for (uint32_t i = 0; i < r->tally_count; i++) {
		const result_tally_t *c = &r->tallies[i];
		char message[256];

		if (c->kind != GEN_TALLY_CHECK)
			continue;
		snprintf(message, sizeof(message), "%llu of %llu failed",
		         (unsigned long long)c->fails, (unsigned long long)(c->passes + c->fails));
		testcase(s, "surge.checks", c->name, c->fails ? message : NULL, "check", NULL);
	}
}

/* A figure not measured (null in the document) reads 0 in the detail, never "nan". */
static double or_zero(double v)
{
	return isfinite(v) ? v : 0;
}

/* The verdict, naming what failed among latency, throughput, error rate and thresholds.
 * Figures as the document shows them (result_round), so a run's report and the report of
 * its saved document say the same. */
static void verdict_case(suite_t *s, const result_t *r)
{
	const result_assessment_t *a = &r->assessment;
	const struct {
		const char *name;
		bool ok;
	} parts[] = {{"latency", a->latency_ok},
	             {"throughput", a->throughput_ok},
	             {"error_rate", a->errors_ok},
	             {"thresholds", a->thresholds_ok}};
	uint64_t requests = result_requests(&r->counters);
	char message[512], detail[1024];
	size_t n;

	if (!a->present)
		return;
	n = (size_t)snprintf(message, sizeof(message), "%s", a->pass ? "PASS" : "FAIL");
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && n < sizeof(message); i++)
		if (!parts[i].ok)
			n += (size_t)snprintf(message + n, sizeof(message) - n, ", %s failed",
			                      parts[i].name);
	snprintf(detail, sizeof(detail),
	         "%s\nlatency class %s, p95 %.3f ms (target %.3f ms)\nerror rate %.4g%% "
	         "(target %.4g%%)\nthroughput %.1f/s (target %.1f/s)%s",
	         message, a->latency_class[0] ? a->latency_class : "?", or_zero(a->p95_ms),
	         or_zero(a->target_p95_ms),
	         result_round(requests ? (double)r->counters.errors / requests : 0, 6) * 100,
	         or_zero(a->target_max_error_rate) * 100,
	         result_round(r->duration_s > 0 ? requests / r->duration_s : 0, 3),
	         or_zero(a->target_min_rps), a->aborted ? "\naborted: a threshold failed" : "");
	testcase(s, "surge.assessment", "verdict", a->pass ? NULL : message, "assessment", detail);
}

static void generator_case(suite_t *s, const result_t *r)
{
	const result_generator_t *g = &r->generator;
	char message[256];

	if (!r->has_generator)
		return;
	snprintf(
	    message, sizeof(message),
	    "the generator was the bottleneck (%s in %llu of %llu s): its numbers describe the "
	    "generator",
	    g->saturation.criterion != GEN_SAT_NONE ? gen_saturation_name(g->saturation.criterion)
	                                            : "self-check",
	    (unsigned long long)g->saturation.seconds,
	    (unsigned long long)g->saturation.whole_seconds);
	testcase(s, "surge.generator", "not saturated", g->saturated ? message : NULL, "generator",
	         NULL);
}

int report_junit(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	suite_t s = {0};
	char started[40] = "";
	buf_t cases;
	int rc;

	if (r->has_started_at)
		clock_format_rfc3339(r->started_wall_ns, started, sizeof(started));
	buf_init(&cases, out->max);
	s.cases = &cases;
	threshold_cases(&s, r);
	check_cases(&s, r);
	verdict_case(&s, r);
	generator_case(&s, r);
	buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(out, "<testsuites name=\"surge\" tests=\"%d\" failures=\"%d\">\n", s.tests,
	           s.failures);
	buf_printf(out,
	           "  <testsuite name=\"surge\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
	           "skipped=\"0\" time=\"%.3f\" timestamp=\"",
	           s.tests, s.failures, result_round(r->duration_s, 3));
	put_escaped(out, started);
	buf_append_str(out, "\">\n    <properties>\n");
	buf_append_str(out, "      <property name=\"url\" value=\"");
	put_escaped(out, r->config.url ? r->config.url : "");
	buf_append_str(out, "\"/>\n      <property name=\"version\" value=\"");
	put_escaped(out, r->version ? r->version : "");
	buf_append_str(out, "\"/>\n    </properties>\n");
	buf_append(out, cases.data, cases.len);
	buf_append_str(out, "  </testsuite>\n</testsuites>\n");
	/* the cases' buffer failed first if it did: its error, else the output's */
	rc = buf_error(&cases) ? buf_error(&cases) : buf_error(out);
	buf_free(&cases);
	if (rc)
		snprintf(err, errlen, "JUnit XML: %s", strerror(-rc));
	return rc;
}
