/* Tests for report/report_html: the data blocks cannot end their <script> element, the verdict
 * and title are there, documents missing keys render, the latency curve follows the
 * histogram, and the output stays within its buffer. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hist.h"
#include "report/report_html.h"
#include "result/result.h"
#include "test.h"

#define HTML_MAX (16u << 20)

static const char evil[] = "</script><script>alert(1)</script><!--";

/* The text of <script type="application/json" id="ID">...</script>, parsed; NULL when absent
 * or not JSON. */
static json_t *data_block(const char *html, const char *id)
{
	char open[128];
	const char *start, *end;

	snprintf(open, sizeof(open), "<script type=\"application/json\" id=\"%s\">", id);
	start = strstr(html, open);
	if (!start)
		return NULL;
	start += strlen(open);
	end = strstr(start, "</script>");
	if (!end)
		return NULL;
	return json_loadb(start, (size_t)(end - start), 0, NULL);
}

/* The report of doc, read into the typed result as `surge report` reads a file. */
static char *render(json_t *doc, int *rc)
{
	char *text = json_dumps(doc, JSON_COMPACT), err[512] = "";
	result_t r;
	buf_t b;

	*rc = result_decode("t", text, strlen(text), &r, err, sizeof(err));
	free(text);
	if (*rc != 0) {
		test_fail(__FILE__, __LINE__, "result_decode: %d %s", *rc, err);
		return NULL;
	}
	buf_init(&b, HTML_MAX);
	*rc = report_html(&r, &b, err, sizeof(err));
	result_free(&r);
	if (*rc != 0) {
		test_fail(__FILE__, __LINE__, "report_html: %d %s", *rc, err);
		buf_free(&b);
		return NULL;
	}
	return buf_steal(&b, NULL);
}

TEST(report_html_escapes_the_embedded_document)
{
	hist_t *h = calloc(1, sizeof(*h));
	buf_t enc;
	json_t *doc, *back;
	char *html;
	int rc;

	hist_reset(h);
	hist_record(h, 1000);
	buf_init(&enc, 1 << 20);
	CHECK_INT(hist_encode_base64(h, &enc), 0);
	doc = json_pack("{s:s, s:{s:s, s:s}, s:{s:s}, s:[{s:s, s:s}], s:[{s:i, s:i, s:s}]}", "tool",
	                "surge", "config", "url", evil, "method", "GET", "assessment", "verdict",
	                "PASS", "endpoints", "name", evil, "method", "GET", "timeline", "t", 1,
	                "requests", 1, "hist", enc.data);
	html = render(doc, &rc);

	CHECK(html != NULL);
	if (!html)
		goto done;
	/* the only script elements are the template's own: the two blocks, uPlot, report.js and
	 * the error catcher; every "<" of the data is \u003c */
	CHECK(strstr(html, "alert(1)</script>") == NULL);
	CHECK(strstr(html, "\\u003c/script>\\u003cscript>alert(1)\\u003c/script>\\u003c!--") !=
	      NULL);
	back = data_block(html, "surge-result");
	CHECK(back != NULL);
	CHECK_STR(json_string_value(json_object_get(json_object_get(back, "config"), "url")), evil);
	CHECK_STR(
	    json_string_value(json_object_get(json_object_get(back, "assessment"), "verdict")),
	    "PASS");
	CHECK_STR(json_string_value(json_object_get(
	              json_array_get(json_object_get(back, "endpoints"), 0), "name")),
	          evil);
	/* per-second histograms are left out of the page; the rest of each point stays */
	json_t *point = json_array_get(json_object_get(back, "timeline"), 0);
	CHECK(json_object_get(point, "hist") == NULL);
	CHECK_INT(json_integer_value(json_object_get(point, "requests")), 1);
	json_decref(back);
	/* the verdict and the target are in the title, escaped as HTML text */
	CHECK(strstr(html, "<title>PASS \xc2\xb7 GET &lt;/script&gt;&lt;script&gt;alert(1)") !=
	      NULL);
	CHECK(strstr(html, "<b>PASS</b>") != NULL); /* the <noscript> fallback */
	CHECK(strstr(html, "{{title}}") == NULL && strstr(html, "{{report_js}}") == NULL);
	CHECK(strstr(html, "uPlot") != NULL);                          /* uPlot is inline */
	CHECK(strstr(html, "document.body.dataset.rendered") != NULL); /* and report.js */
	CHECK(strstr(html, "<script src=") == NULL && strstr(html, "<link ") == NULL);
	free(html);
done:
	json_decref(doc);
	buf_free(&enc);
	free(h);
}

TEST(report_html_renders_documents_missing_keys)
{
	/* what result_decode accepts (it refuses, with a message, what is not a document) */
	const char *docs[] = {
	    "{\"tool\": \"surge\"}",
	    "{\"tool\": \"surge\", \"endpoints\": [{\"name\": \"/x\"}], \"timeline\": [{\"t\": "
	    "1}]}",
	    "{\"tool\": \"surge\", \"histograms\": {}, \"latency_ms\": {\"p50\": 3}}",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		json_t *doc = json_loads(docs[i], 0, NULL);
		int rc;
		char *html = render(doc, &rc);

		CHECK_INT(rc, 0);
		CHECK(html && strstr(html, "<title>no verdict") != NULL);
		if (html) {
			json_t *derived = data_block(html, "surge-derived");

			CHECK(derived && json_is_null(json_object_get(derived, "latency_curve")));
			json_decref(derived);
		}
		free(html);
		json_decref(doc);
	}
}

TEST(report_html_stays_within_its_buffer)
{
	const char text[] = "{\"tool\": \"surge\"}";
	char err[128] = "";
	result_t r;
	buf_t b;

	CHECK_INT(result_decode("t", text, strlen(text), &r, err, sizeof(err)), 0);
	buf_init(&b, 4096); /* uPlot alone is ~50 KB */
	CHECK_INT(report_html(&r, &b, err, sizeof(err)), -ENOBUFS);
	CHECK(strstr(err, "does not fit") != NULL);
	CHECK(b.len <= 4096);
	buf_free(&b);
	result_free(&r);
}

TEST(report_html_latency_curve_follows_the_histogram)
{
	hist_t *h = calloc(1, sizeof(*h));
	buf_t enc;
	json_t *doc, *derived, *curve, *pct, *series, *ms;
	char *html;
	int rc;

	hist_reset(h);
	for (int v = 1; v <= 10000; v++) /* 1 µs .. 10 ms, evenly */
		hist_record(h, v);
	buf_init(&enc, 1 << 20);
	CHECK_INT(hist_encode_base64(h, &enc), 0);
	doc = json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "tool", "surge", "endpoints", "name",
	                "/x", "method", "GET", "histograms", "all", enc.data, "GET /x", enc.data);
	html = render(doc, &rc);
	CHECK(html != NULL);
	derived = html ? data_block(html, "surge-derived") : NULL;
	curve = json_object_get(derived, "latency_curve");
	pct = json_object_get(curve, "percentiles");
	series = json_object_get(curve, "series");
	CHECK(json_array_size(pct) > 50 && json_array_size(pct) < 200);
	CHECK_INT(json_array_size(series), 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(series, 0), "name")), "all");
	CHECK_STR(json_string_value(json_object_get(json_array_get(series, 1), "name")), "GET /x");
	CHECK_INT(json_integer_value(json_object_get(json_array_get(series, 0), "count")), 10000);
	ms = json_object_get(json_array_get(series, 0), "ms");
	CHECK_INT(json_array_size(ms), json_array_size(pct));
	/* starts at p0, rises with the percentile, and ends with the maximum at 1 - 1/total */
	CHECK_NEAR(json_number_value(json_array_get(pct, 0)), 0, 1e-9);
	CHECK_NEAR(json_number_value(json_array_get(pct, json_array_size(pct) - 1)), 99.99, 1e-6);
	for (size_t i = 1; i < json_array_size(pct); i++) {
		CHECK(json_number_value(json_array_get(pct, i)) >
		      json_number_value(json_array_get(pct, i - 1)));
		CHECK(json_number_value(json_array_get(ms, i)) >=
		      json_number_value(json_array_get(ms, i - 1)));
	}
	CHECK_NEAR(json_number_value(json_array_get(ms, 0)), 0.001, 1e-9);
	/* the page shows what the document holds: the decoded histogram's maximum */
	CHECK_INT(hist_decode_base64(enc.data, enc.len, h), 0);
	CHECK_NEAR(json_number_value(json_array_get(ms, json_array_size(ms) - 1)),
	           (double)hist_percentile(h, 100) / 1000.0, 1e-9);
	CHECK_NEAR(json_number_value(json_array_get(ms, json_array_size(ms) - 1)), 10.0, 0.01);
	/* the median of 1..10000 µs is 5 ms, within the histogram's 3 digits */
	for (size_t i = 0; i < json_array_size(pct); i++)
		if (json_number_value(json_array_get(pct, i)) == 50.0)
			CHECK_NEAR(json_number_value(json_array_get(ms, i)), 5.0, 0.005);
	json_decref(derived);
	json_decref(doc);
	free(html);
	buf_free(&enc);
	free(h);
}
