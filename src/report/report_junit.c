/* report_junit: JUnit XML from a result document, so CI systems show a load test as tests:
 * one testsuite "surge" with a testcase per threshold, per check and for the assessment's
 * verdict (and the generator's self-check), each failing with the measured value. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "report/report_outputs.h"
#include "report/result_doc.h"

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

static void threshold_cases(suite_t *s, const json_t *doc)
{
	const json_t *t;
	size_t i;

	json_array_foreach(result_doc_array(doc, "thresholds"), i, t)
	{
		const char *expr = result_doc_string(t, "expr", "?");
		char value[64], message[512];

		result_doc_threshold_value(expr, result_doc_get(t, "value"), value, sizeof(value));
		snprintf(message, sizeof(message), "%s: %s%s", expr,
		         json_is_number(result_doc_get(t, "value")) ? "measured " : "", value);
		testcase(s, "surge.thresholds", expr,
		         result_doc_bool(t, "ok", false) ? NULL : message, "threshold", NULL);
	}
}

static void check_cases(suite_t *s, const json_t *doc)
{
	const json_t *c;
	size_t i;

	json_array_foreach(result_doc_array(doc, "checks"), i, c)
	{
		uint64_t passes = result_doc_count(c, "passes", 0),
		         fails = result_doc_count(c, "fails", 0);
		char message[256];

		snprintf(message, sizeof(message), "%llu of %llu failed", (unsigned long long)fails,
		         (unsigned long long)(passes + fails));
		testcase(s, "surge.checks", result_doc_string(c, "name", "?"),
		         fails ? message : NULL, "check", NULL);
	}
}

/* The verdict, naming what failed among latency, throughput, error rate and thresholds. */
static void verdict_case(suite_t *s, const json_t *doc)
{
	static const char *const parts[] = {"latency", "throughput", "error_rate", "thresholds"};
	const json_t *a = result_doc_object(doc, "assessment");
	const json_t *totals = result_doc_object(doc, "totals");
	char message[512], detail[1024];
	size_t n;

	if (!a)
		return;
	n = (size_t)snprintf(message, sizeof(message), "%s", result_doc_string(a, "verdict", "?"));
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && n < sizeof(message); i++)
		if (strcmp(result_doc_string(a, parts[i], "PASS"), "PASS") != 0)
			n += (size_t)snprintf(message + n, sizeof(message) - n, ", %s failed",
			                      parts[i]);
	snprintf(detail, sizeof(detail),
	         "%s\nlatency class %s, p95 %.3f ms (target %.3f ms)\nerror rate %.4g%% "
	         "(target %.4g%%)\nthroughput %.1f/s (target %.1f/s)%s",
	         message, result_doc_string(a, "latency_class", "?"),
	         result_doc_number(a, "p95_ms", 0), result_doc_path_number(a, "targets.p95_ms", 0),
	         result_doc_number(totals, "error_rate", 0) * 100,
	         result_doc_path_number(a, "targets.max_error_rate", 0) * 100,
	         result_doc_number(totals, "rps", 0),
	         result_doc_path_number(a, "targets.min_rps", 0),
	         result_doc_bool(a, "aborted", false) ? "\naborted: a threshold failed" : "");
	testcase(s, "surge.assessment", "verdict",
	         strcmp(result_doc_string(a, "verdict", ""), "PASS") == 0 ? NULL : message,
	         "assessment", detail);
}

static void generator_case(suite_t *s, const json_t *doc)
{
	const json_t *g = result_doc_object(doc, "generator");
	const json_t *why = result_doc_object(g, "saturation");
	char message[256];

	if (!g)
		return;
	snprintf(
	    message, sizeof(message),
	    "the generator was the bottleneck (%s in %llu of %llu s): its numbers describe the "
	    "generator",
	    result_doc_string(why, "criterion", "self-check"),
	    (unsigned long long)result_doc_count(why, "seconds", 0),
	    (unsigned long long)result_doc_count(why, "run_seconds", 0));
	testcase(s, "surge.generator", "not saturated",
	         result_doc_bool(g, "saturated", false) ? message : NULL, "generator", NULL);
}

int report_junit(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	const json_t *config = result_doc_object(doc, "config");
	suite_t s = {0};
	buf_t cases;
	int rc;

	buf_init(&cases, out->max);
	s.cases = &cases;
	threshold_cases(&s, doc);
	check_cases(&s, doc);
	verdict_case(&s, doc);
	generator_case(&s, doc);
	buf_append_str(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_printf(out, "<testsuites name=\"surge\" tests=\"%d\" failures=\"%d\">\n", s.tests,
	           s.failures);
	buf_printf(out,
	           "  <testsuite name=\"surge\" tests=\"%d\" failures=\"%d\" errors=\"0\" "
	           "skipped=\"0\" time=\"%.3f\" timestamp=\"",
	           s.tests, s.failures, result_doc_number(doc, "duration_s", 0));
	put_escaped(out, result_doc_string(doc, "started_at", ""));
	buf_append_str(out, "\">\n    <properties>\n");
	buf_append_str(out, "      <property name=\"url\" value=\"");
	put_escaped(out, result_doc_string(config, "url", ""));
	buf_append_str(out, "\"/>\n      <property name=\"version\" value=\"");
	put_escaped(out, result_doc_string(doc, "version", ""));
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
