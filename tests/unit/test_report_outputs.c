/* Tests for report/result_doc and the renderers of a saved result: Locust CSV, JUnit XML,
 * markdown and the HdrHistogram log, on small hand-made documents. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/hist.h"
#include "report/report_outputs.h"
#include "result/result_doc.h"
#include "test.h"

/* 50 × 1 ms, 30 × 2 ms, 20 × 10 ms (10.007 ms: the top of its bucket). */
static char *sample_histogram(void)
{
	hist_t *h = malloc(sizeof(*h));
	buf_t b;

	hist_reset(h);
	hist_record_n(h, 1000, 50);
	hist_record_n(h, 2000, 30);
	hist_record_n(h, 10000, 20);
	buf_init(&b, 1 << 20);
	CHECK_INT(hist_encode_base64(h, &b), 0);
	free(h);
	return buf_steal(&b, NULL);
}

static const char sample_text[] =
    "{\"tool\": \"surge\", \"version\": \"t1\", \"started_at\": \"2026-01-02T03:04:05.500Z\",\n"
    " \"duration_s\": 2.0, \"config\": {\"url\": \"http://h/x?a=1&b=2\", \"method\": \"GET\"},\n"
    " \"totals\": {\"requests\": 102, \"responses\": 100, \"errors\": 7, \"error_rate\": "
    "0.068627,\n"
    "            \"rps\": 51.0, \"bytes_in\": 10200, \"bytes_out\": 0},\n"
    " \"latency_ms\": {\"min\": 1, \"mean\": 3.2, \"stdev\": 1, \"p50\": 1, \"p90\": 10.007,\n"
    "                \"p95\": 10.007, \"p99\": 10.007, \"p99_9\": 10.007, \"max\": 10.007},\n"
    " \"status_codes\": {\"200\": 95, \"503\": 5}, \"errors_by_kind\": {\"reset\": 2},\n"
    " \"endpoints\": [\n"
    "   {\"name\": \"/b, \\\"q\\\"\", \"method\": \"POST\", \"requests\": 2, \"errors\": 2,\n"
    "    \"rps\": 0.30000000000000004, \"latency_ms\": {\"p50\": 5.4, \"p95\": 7, \"max\": 8},\n"
    "    \"status_codes\": {\"200\": 0, \"503\": 2}, \"errors_by_kind\": {\"reset\": 1, "
    "\"tls_error\": 0}},\n"
    "   {\"name\": \"/a\", \"method\": \"GET\", \"requests\": 100, \"errors\": 5, \"rps\": 50,\n"
    "    \"bytes_in\": 1000000000000000000, \"latency_ms\": {\"min\": 1, \"mean\": 3.2, \"max\": "
    "10.007}}],\n"
    " \"timeline\": [{\"t\": 1.0, \"users\": 4, \"requests\": 60, \"rps\": 60, \"errors\": 1,\n"
    "                 \"bytes_in\": 6000, \"hist\": \"@\"},\n"
    "              {\"t\": 2.0, \"users\": 5, \"requests\": 42, \"rps\": 42, \"errors\": 6,\n"
    "                 \"bytes_in\": 4200, \"hist\": \"@\"}],\n"
    " \"thresholds\": [{\"expr\": \"p95<5ms\", \"value\": 10.007, \"ok\": false},\n"
    "                {\"expr\": \"error_rate<10%\", \"value\": 0.068627, \"ok\": true}],\n"
    " \"checks\": [{\"name\": \"body & <ok> \\\"x\\\" 'y'\\u0001\", \"passes\": 9, \"fails\": "
    "1}],\n"
    " \"assessment\": {\"verdict\": \"FAIL\", \"latency_class\": \"excellent\", \"latency\": "
    "\"PASS\",\n"
    "                \"throughput\": \"PASS\", \"error_rate\": \"FAIL\", \"thresholds\": "
    "\"FAIL\"},\n"
    " \"histograms\": {\"all\": \"@\", \"GET /a\": \"@\"}}\n";

/* The sample with every "@" replaced by the histogram text. */
static json_t *sample_doc(void)
{
	char *hist = sample_histogram(), err[256] = "";
	buf_t text;
	json_t *doc;

	buf_init(&text, 1 << 20);
	for (const char *p = sample_text; *p; p++)
		if (*p == '@')
			buf_append_str(&text, hist);
		else
			buf_append_char(&text, *p);
	doc = result_doc_parse("sample", text.data, text.len, err, sizeof(err));
	CHECK_STR(err, "");
	buf_free(&text);
	free(hist);
	return doc;
}

/* A renderer of the typed result, given the document read into one. */
static char *render_result(int (*fn)(const result_t *, buf_t *, char *, size_t), const json_t *doc)
{
	char *text = json_dumps(doc, JSON_COMPACT), err[512] = "";
	result_t r;
	buf_t out;

	buf_init(&out, 1 << 24);
	CHECK_INT(result_decode("sample", text, strlen(text), &r, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK_INT(fn(&r, &out, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	result_free(&r);
	free(text);
	return buf_steal(&out, NULL);
}

TEST(report_csv_stats_locust_columns)
{
	json_t *doc = sample_doc();
	char *csv = render_result(report_csv_stats, doc);

	CHECK_STR(
	    csv,
	    "Type,Name,Request Count,Failure Count,Median Response Time,Average Response "
	    "Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,"
	    "Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\r\n"
	    /* sorted by name; the endpoint's own histogram; bytes_in/requests in repr */
	    "GET,/a,100,5,1,3.2,1.0,10.007,1e+16,50.0,2.5,1,2,2,2,10,10,10,10,10,10,10\r\n"
	    /* no histogram: the document's p50/p95/max, N/A for the rest; csv quoting; the
	     * rate is requests / duration (the result keeps counts, not a document's own
	     * rate: 0.30000000000000004 is not that of 2 requests in 2 s) */
	    "POST,\"/b, \"\"q\"\"\",2,2,5,0.0,0.0,8.0,0.0,1.0,1.0,"
	    "5,N/A,N/A,N/A,N/A,7,N/A,N/A,N/A,N/A,8\r\n"
	    ",Aggregated,102,7,1,3.2,1.0,10.007,100.0,51.0,3.5,1,2,2,2,10,10,10,10,10,10,10\r\n");
	free(csv);
	json_decref(doc);
}

TEST(report_csv_history_and_failures)
{
	json_t *doc = sample_doc();
	char *csv = render_result(report_csv_history, doc);
	const char *second;

	const char *header =
	    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,"
	    "99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response "
	    "Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,"
	    "Total Average Content Size\r\n";

	CHECK(strncmp(csv, header, strlen(header)) == 0);
	/* started 03:04:05.5 UTC; the first second ends at 1767323046.5 */
	CHECK(strstr(csv, "\r\n1767323046,4,,Aggregated,60.000000,1.000000,1,2,2,2,10,10,10,10,"
	                  "10,10,10,60,1,1,3.1008,1.0,10.007,100.0\r\n") != NULL);
	second = strstr(csv, "\r\n1767323047,5,,Aggregated,42.000000,6.000000,");
	CHECK(second != NULL);
	CHECK(second && strstr(second, ",102,7,1,3.1008,1.0,10.007,100.0\r\n") != NULL);
	free(csv);

	csv = render_result(report_csv_failures, doc);
	CHECK_STR(csv, "Method,Name,Error,Occurrences\r\n"
	               "POST,\"/b, \"\"q\"\"\",HTTP 503 Service Unavailable,2\r\n"
	               "POST,\"/b, \"\"q\"\"\",reset,1\r\n");
	free(csv);
	json_decref(doc);
}

TEST(report_csv_failures_without_endpoint_counts)
{
	char err[256];
	const char text[] = "{\"tool\":\"surge\",\"status_codes\":{\"200\":5,\"404\":3},"
	                    "\"errors_by_kind\":{\"reset\":0,\"read_timeout\":4},"
	                    "\"endpoints\":[{\"name\":\"/x\",\"method\":\"GET\"}]}";
	json_t *doc = result_doc_parse("t", text, sizeof(text) - 1, err, sizeof(err));
	char *csv = render_result(report_csv_failures, doc);

	CHECK_STR(csv, "Method,Name,Error,Occurrences\r\nGET,/x,HTTP 404 Not Found,3\r\n"
	               "GET,/x,read_timeout,4\r\n");
	free(csv);
	json_decref(doc);
}

TEST(report_junit_escapes_and_fails)
{
	json_t *doc = sample_doc();
	char *xml = render_result(report_junit, doc);

	CHECK(strstr(xml, "<testsuite name=\"surge\" tests=\"4\" failures=\"3\"") != NULL);
	CHECK(strstr(xml, "<testcase classname=\"surge.thresholds\" name=\"p95&lt;5ms\" "
	                  "time=\"0\">\n      <failure message=\"p95&lt;5ms: measured 10.007 ms\" "
	                  "type=\"threshold\">") != NULL);
	CHECK(strstr(xml, "name=\"error_rate&lt;10%\" time=\"0\"/>") != NULL);
	CHECK(
	    strstr(xml, "name=\"body &amp; &lt;ok&gt; &quot;x&quot; &apos;y&apos;\xef\xbf\xbd\"") !=
	    NULL);
	CHECK(strstr(xml, "message=\"1 of 10 failed\" type=\"check\"") != NULL);
	CHECK(strstr(xml, "message=\"FAIL, error_rate failed, thresholds failed\"") != NULL);
	CHECK(strstr(xml, "value=\"http://h/x?a=1&amp;b=2\"") != NULL);
	CHECK(strchr(xml, '\x01') == NULL);
	free(xml);
	json_decref(doc);
}

TEST(report_markdown_sections)
{
	json_t *doc = sample_doc();
	char *md = render_result(report_markdown, doc);

	CHECK(strncmp(md, "## surge: ❌ FAIL `GET http://h/x?a=1&b=2`\n",
	              strlen("## surge: ❌ FAIL `GET http://h/x?a=1&b=2`\n")) == 0);
	CHECK(strstr(md, "| `POST /b, \"q\"` | 2 | 2 |") != NULL);
	CHECK(strstr(md, "| 503 | 5 | 5.00 % |") != NULL);
	CHECK(strstr(md, "| ❌ | `p95<5ms` | 10.007 ms |") != NULL);
	CHECK(strstr(md, "| ✅ | `error_rate<10%` | 6.863% |") != NULL);
	CHECK(strstr(md, "### Checks") != NULL);
	CHECK(strstr(md, "### Recommendations") == NULL); /* none in the document */
	free(md);
	json_decref(doc);
}

TEST(report_hdrlog_lines)
{
	json_t *doc = sample_doc();
	char *log = render_result(report_hdrlog, doc), *hist = sample_histogram(), line[4096];

	const char *head = "#[Histogram log format version 1.3]\n"
	                   "#[StartTime: 1767323045.500 (seconds since epoch), Fri Jan 02 03:04:05 "
	                   "UTC 2026]\n#[BaseTime: 1767323045.500 (seconds since epoch)]\n";

	CHECK(strncmp(log, head, strlen(head)) == 0);
	CHECK(strstr(log, "\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	                  "\"Interval_Compressed_Histogram\"\n") != NULL);
	snprintf(line, sizeof(line), "\n0.000,1.000,10.007,%s\n1.000,1.000,10.007,%s\n", hist,
	         hist);
	CHECK(strstr(log, line) != NULL);
	free(log);

	/* no per-second histograms: the whole run is one interval */
	json_object_del(json_array_get(json_object_get(doc, "timeline"), 1), "hist");
	log = render_result(report_hdrlog, doc);
	snprintf(line, sizeof(line), "\"\n0.000,2.000,10.007,%s\n", hist);
	CHECK(strstr(log, line) != NULL);
	free(log);
	free(hist);
	json_decref(doc);
}

/* Writes text to a new temporary file; its path in path. */
static void temp_file(char *path, size_t len, const char *text)
{
	int fd;

	snprintf(path, len, "/tmp/surge-test-doc-XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
}

TEST(result_doc_load_errors)
{
	char path[64], err[512], want[600];
	json_t *doc;

	temp_file(path, sizeof(path), "{\n  \"tool\": \"surge\",\n  oops\n}\n");
	doc = result_doc_load(path, err, sizeof(err));
	CHECK(doc == NULL);
	snprintf(want, sizeof(want), "%s:3:", path);
	CHECK(strncmp(err, want, strlen(want)) == 0);
	unlink(path);

	temp_file(path, sizeof(path), "{\"tool\": \"locust\"}");
	CHECK(result_doc_load(path, err, sizeof(err)) == NULL);
	snprintf(want, sizeof(want), "%s: not a surge result document (no \"tool\": \"surge\")",
	         path);
	CHECK_STR(err, want);
	unlink(path);

	CHECK(result_doc_load("/nonexistent/r.json", err, sizeof(err)) == NULL);
	CHECK_STR(err, "/nonexistent/r.json: No such file or directory");

	temp_file(path, sizeof(path), "{\"tool\": \"surge\", \"totals\": {\"requests\": 3}}");
	doc = result_doc_load(path, err, sizeof(err));
	CHECK(doc != NULL);
	CHECK_INT(result_doc_path_number(doc, "totals.requests", -1), 3);
	CHECK_INT(result_doc_path_number(doc, "totals.nothing", -1), -1);
	CHECK_INT(result_doc_count(doc, "tool", 9), 9); /* mistyped: the default */
	json_decref(doc);
	unlink(path);
}

TEST(result_doc_histograms_and_time)
{
	json_t *doc = sample_doc();
	hist_t *h = malloc(sizeof(*h));
	char key[64];
	double t = 0;

	CHECK_INT(result_doc_histogram(doc, "all", h), 0);
	CHECK_INT(h->total, 100);
	CHECK_INT(result_doc_histogram(doc, "GET /missing", h), -ENOENT);
	CHECK_INT(h->total, 0);
	result_doc_endpoint_key(json_array_get(json_object_get(doc, "endpoints"), 1), key,
	                        sizeof(key));
	CHECK_STR(key, "GET /a");
	json_object_set_new(json_object_get(doc, "histograms"), "bad", json_string("HISTFAAAxx"));
	CHECK_INT(result_doc_histogram(doc, "bad", h), -EINVAL);
	CHECK(result_doc_started_at(doc, &t));
	CHECK_NEAR(t, 1767323045.5, 1e-6);
	json_object_set_new(doc, "started_at", json_string("2026-01-02T05:04:05+02:00"));
	CHECK(result_doc_started_at(doc, &t));
	CHECK_NEAR(t, 1767323045, 1e-6);
	free(h);
	json_decref(doc);
}

/* Every renderer into a buffer too small for it: an error, and what it wrote is a prefix of
 * the whole rendering (the buf's sticky error: nothing after the first piece that did not
 * fit), at every size below the whole. */
TEST(report_outputs_too_small_fail_with_a_prefix)
{
	json_t *doc = sample_doc();
	char *text = json_dumps(doc, JSON_COMPACT), derr[512] = "";
	result_t r;

	static int (*const typed[])(const result_t *, buf_t *, char *, size_t) = {
	    report_junit, report_hdrlog, report_csv_stats, report_csv_history, report_csv_failures};

	CHECK_INT(result_decode("sample", text, strlen(text), &r, derr, sizeof(derr)), 0);
	for (size_t f = 0; f < sizeof(typed) / sizeof(typed[0]); f++) {
		char *whole = render_result(typed[f], doc);

		for (size_t max = 0; max < strlen(whole); max += 1 + max / 8) {
			char err[256] = "";
			buf_t out;
			int rc;

			buf_init(&out, max);
			rc = typed[f](&r, &out, err, sizeof(err));
			if (rc >= 0 || !err[0] || out.len > max ||
			    (out.len && memcmp(out.data, whole, out.len) != 0))
				test_fail(
				    __FILE__, __LINE__,
				    "typed renderer %zu at max %zu: rc %d, err '%s', %zu bytes", f,
				    max, rc, err, out.len);
			buf_free(&out);
		}
		free(whole);
	}
	free(text);
	result_free(&r);

	json_decref(doc);
}
