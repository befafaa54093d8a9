/* Tests for report/result_doc's checks: a document that is not text, or whose known keys have
 * the wrong type or range, is refused with one line naming the file and the key; what compare
 * and merge need must be there; a sparse document with the right types still loads. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/hist.h"
#include "result/result_doc.h"
#include "test.h"

/* Parses text as "a.json"; returns the error ("" when it loaded). */
static const char *parse_error(const char *text, size_t len)
{
	static char err[1024];
	json_t *doc;

	err[0] = '\0';
	doc = result_doc_parse("a.json", text, len, err, sizeof(err));
	if (doc && err[0])
		test_fail(__FILE__, __LINE__, "a document and an error: %s", err);
	if (!doc && !err[0])
		test_fail(__FILE__, __LINE__, "no document and no error");
	json_decref(doc);
	return err;
}

static const char *error_of(const char *text)
{
	return parse_error(text, strlen(text));
}

static char *histogram_text(void)
{
	hist_t *h = malloc(sizeof(*h));
	buf_t b;

	hist_reset(h);
	hist_record_n(h, 1500, 10);
	buf_init(&b, 1 << 20);
	CHECK_INT(hist_encode_base64(h, &b), 0);
	free(h);
	return buf_steal(&b, NULL);
}

TEST(result_doc_mistyped_values_name_file_and_key)
{
	CHECK_STR(error_of("{\"tool\":\"surge\",\"totals\":{\"requests\":\"many\"}}"),
	          "a.json: totals.requests: expected a non-negative integer, got \"many\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"totals\":{\"requests\":-1}}"),
	          "a.json: totals.requests: expected a non-negative integer, got -1");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"totals\":{\"requests\":2.5}}"),
	          "a.json: totals.requests: expected a non-negative integer, got 2.5");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"totals\":{\"error_rate\":1.5}}"),
	          "a.json: totals.error_rate: expected a fraction from 0 to 1, got 1.5");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"duration_s\":-3}"),
	          "a.json: duration_s: expected a non-negative number, got -3");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"latency_ms\":{\"p95\":-5.5}}"),
	          "a.json: latency_ms.p95: expected a non-negative number or null, got -5.5");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"endpoints\":[{},{\"latency_ms\":{\"p99\":"
	                   "\"1ms\"}}]}"),
	          "a.json: endpoints[1].latency_ms.p99: expected a non-negative number or null, "
	          "got \"1ms\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"totals\":[1,2]}"),
	          "a.json: totals: expected an object, got an array");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"endpoints\":{}}"),
	          "a.json: endpoints: expected an array, got an object");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"interrupted\":\"no\"}"),
	          "a.json: interrupted: expected true or false, got \"no\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"config\":{\"url\":7}}"),
	          "a.json: config.url: expected a string, got 7");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"thresholds\":[{\"expr\":\"p95<1s\",\"ok\":1}]}"),
	          "a.json: thresholds[0].ok: expected true or false, got 1");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"status_codes\":{\"200\":-2}}"),
	          "a.json: status_codes.200: expected a non-negative integer, got -2");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"status_codes\":{\"ok\":2}}"),
	          "a.json: status_codes.ok: expected an HTTP status code as the key");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"errors_by_kind\":{\"reset\":null}}"),
	          "a.json: errors_by_kind.reset: expected a non-negative integer, got null");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"timeline\":[{\"t\":1},{\"t\":2,\"errors\":"
	                   "true}]}"),
	          "a.json: timeline[1].errors: expected a non-negative integer, got true");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"metrics\":{\"trends\":{\"cart size\":"
	                   "{\"count\":-1}}}}"),
	          "a.json: metrics.trends[\"cart size\"].count: expected a non-negative integer, "
	          "got -1");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"generator\":{\"saturated\":\"yes\"}}"),
	          "a.json: generator.saturated: expected true or false, got \"yes\"");
}

TEST(result_doc_times_and_histograms_are_checked)
{
	char text[4096], *hist = histogram_text();

	CHECK_STR(error_of("{\"tool\":\"surge\",\"started_at\":\"yesterday\"}"),
	          "a.json: started_at: expected an RFC 3339 time like \"2026-01-02T03:04:05Z\", "
	          "got \"yesterday\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"started_at\":\"2026-13-02T03:04:05Z\"}"),
	          "a.json: started_at: expected an RFC 3339 time like \"2026-01-02T03:04:05Z\", "
	          "got \"2026-13-02T03:04:05Z\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"started_at\":\"2026-01-02T03:04:05Zjunk\"}"),
	          "a.json: started_at: expected an RFC 3339 time like \"2026-01-02T03:04:05Z\", "
	          "got \"2026-01-02T03:04:05Zjunk\"");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"started_at\":\"2026-01-02T03:04:05.25+02:00\"}"),
	          "");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"histograms\":{\"GET /x\":\"bm90IGEgaGlzdG9n\"}}"),
	          "a.json: histograms[\"GET /x\"]: not a valid histogram (expected HdrHistogram "
	          "V2, compressed, in base64)");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"histograms\":{\"all\":\"\"}}"),
	          "a.json: histograms.all: not a valid histogram (expected HdrHistogram V2, "
	          "compressed, in base64)");
	CHECK_STR(error_of("{\"tool\":\"surge\",\"timeline\":[{\"t\":1,\"hist\":\"x\"}]}"),
	          "a.json: timeline[0].hist: not a valid histogram (expected HdrHistogram V2, "
	          "compressed, in base64)");
	snprintf(text, sizeof(text),
	         "{\"tool\":\"surge\",\"histograms\":{\"all\":\"%s\",\"GET /x\":\"%s\"},"
	         "\"timeline\":[{\"t\":1,\"hist\":\"%s\"}]}",
	         hist, hist, hist);
	CHECK_STR(error_of(text), "");
	free(hist);
}

TEST(result_doc_long_values_are_cut_in_messages)
{
	char text[2048], want[600];

	memcpy(text, "{\"tool\":\"surge\",\"duration_s\":\"", 30);
	memset(text + 30, 'x', 1000);
	memcpy(text + 1030, "\"}", 3);
	snprintf(want, sizeof(want),
	         "a.json: duration_s: expected a non-negative number, got \"%.199s…", text + 30);
	CHECK_STR(error_of(text), want);
}

TEST(result_doc_sparse_and_null_and_unknown_keys_load)
{
	CHECK_STR(error_of("{\"tool\":\"surge\"}"), "");
	/* null is what surge writes for a figure it could not measure */
	CHECK_STR(error_of("{\"tool\":\"surge\",\"latency_ms\":{\"p95\":null},\"thresholds\":"
	                   "[{\"expr\":\"p95<1s\",\"value\":null,\"ok\":false}],\"assessment\":"
	                   "{\"p95_ms\":null}}"),
	          "");
	/* newer surges may add keys: they pass unchecked */
	CHECK_STR(error_of("{\"tool\":\"surge\",\"future\":{\"x\":-1},\"totals\":{\"new\":\"s\"},"
	                   "\"generator\":{\"saturation\":null}}"),
	          "");
	/* counters and recommendation figures may be negative */
	CHECK_STR(error_of("{\"tool\":\"surge\",\"metrics\":{\"counters\":{\"delta\":-4.5}},"
	                   "\"recommendations\":[{\"figures\":{\"change\":-0.2,\"x\":null}}]}"),
	          "");
}

TEST(result_doc_text_faults_are_said_plainly)
{
	static const char bom[] = "\xef\xbb\xbf{\"tool\":\"surge\"}";
	static const char utf16[] = "\xff\xfe{\0\"\0";
	static const char binary[] = "\x00\x01\x02\x03";
	static const char latin1[] = "{\"tool\":\"surge\",\"config\":{\"url\":\"caf\xe9\"}}";
	static const char gzip[] = "\x1f\x8b\x08\x00";

	CHECK_STR(parse_error(bom, sizeof(bom) - 1),
	          "a.json: starts with a UTF-8 byte-order mark (EF BB BF): save it as UTF-8 "
	          "without one");
	CHECK_STR(parse_error(utf16, sizeof(utf16) - 1),
	          "a.json: starts with a UTF-16 byte-order mark: a result document is UTF-8 text");
	CHECK_STR(parse_error(binary, sizeof(binary) - 1),
	          "a.json: not a text file (byte 0x00 at offset 0)");
	CHECK_STR(parse_error(latin1, sizeof(latin1) - 1),
	          "a.json: not UTF-8 text (byte 0xE9 at offset 36): a result document is UTF-8");
	CHECK_STR(parse_error(gzip, sizeof(gzip) - 1),
	          "a.json: not a text file (gzip-compressed: gunzip it first)");
	CHECK_STR(parse_error("", 0), "a.json: empty: no JSON document in it");
	CHECK_STR(error_of(" \n\t\r\n"), "a.json: empty: no JSON document in it");
	/* valid UTF-8 of every length passes */
	CHECK_STR(error_of("{\"tool\":\"surge\",\"config\":{\"url\":\"é€𝄞\"}}"), "");
	/* a key twice is ambiguous: which one would be read? */
	CHECK(strstr(error_of("{\"tool\":\"surge\",\"duration_s\":1,\"duration_s\":2}"),
	             "duplicate") != NULL);
}

TEST(result_doc_require_what_compare_and_merge_read)
{
	char err[256] = "";
	json_t *doc = json_pack("{s:s,s:{s:i,s:i,s:f}}", "tool", "surge", "totals", "requests", 3,
	                        "errors", 0, "rps", 1.5);

	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_REPORT, err, sizeof(err)), 0);
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_COMPARE, err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "b.json: latency_ms: missing (surge compare needs it)");
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_MERGE, err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "b.json: duration_s: missing (surge merge needs it)");
	json_object_set_new(doc, "duration_s", json_real(1.0));
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_MERGE, err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "b.json: totals.responses: missing (surge merge needs it)");
	json_object_set_new(json_object_get(doc, "totals"), "responses", json_integer(3));
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_MERGE, err, sizeof(err)), 0);
	json_object_set_new(doc, "latency_ms", json_object());
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_COMPARE, err, sizeof(err)), 0);
	json_object_del(doc, "totals");
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_COMPARE, err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "b.json: totals: missing (surge compare needs it)");
	/* compare's rps is requests over the run's duration */
	json_object_set_new(doc, "totals",
	                    json_pack("{s:i,s:i,s:f}", "requests", 3, "errors", 0, "rps", 1.5));
	json_object_del(doc, "duration_s");
	CHECK_INT(result_doc_require(doc, "b.json", RESULT_DOC_FOR_COMPARE, err, sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "b.json: duration_s: missing (surge compare needs it)");
	json_decref(doc);
}
