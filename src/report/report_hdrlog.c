/* report_hdrlog: an HdrHistogram interval log (HistogramLogWriter's format 1.3) from a result
 * document, for HdrHistogram's own tools (HistogramLogProcessor, HdrHistogramVisualizer):
 * a header with StartTime and BaseTime, the legend, then one line per timeline second —
 * start (s from BaseTime), length (s), max (ms), the interval's histogram in base64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_outputs.h"
#include "result/result_doc.h"

#define FORMAT_VERSION "1.3"
#define US_PER_MS      1000.0 /* the maxValueUnitRatio: our values are µs, the max is in ms */

/* Whether every timeline point carries its own histogram (then the log has one line each). */
static bool timeline_has_hists(const json_t *timeline)
{
	const json_t *p;
	size_t i;

	if (!json_array_size(timeline))
		return false;
	json_array_foreach(timeline, i, p)
	{
		if (!json_is_string(result_doc_get(p, "hist")))
			return false;
	}
	return true;
}

static int put_header(buf_t *out, const json_t *doc)
{
	double start = 0;
	char date[64] = "";

	if (result_doc_started_at(doc, &start)) {
		time_t t = (time_t)start;
		struct tm tm;

		/* Java's Date.toString(), in UTC */
		if (gmtime_r(&t, &tm))
			strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm);
	}
	buf_printf(out, "#[Histogram log format version " FORMAT_VERSION "]\n");
	buf_printf(out, "#[StartTime: %.3f (seconds since epoch), %s]\n", start, date);
	buf_printf(out, "#[BaseTime: %.3f (seconds since epoch)]\n", start);
	buf_printf(out,
	           "#[surge %s: latency in microseconds (1 us .. 1 h, 3 significant digits); "
	           "Interval_Max in milliseconds]\n",
	           result_doc_string(doc, "version", ""));
	buf_append_str(out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	                    "\"Interval_Compressed_Histogram\"\n");
	return buf_error(out);
}

/* One interval: the histogram text is written as the document has it (already the V2
 * compressed base64 HdrHistogram logs carry), after decoding it for its max. */
static int put_interval(buf_t *out, double start, double length, const json_t *text, hist_t *h)
{
	int rc = result_doc_histogram_value(text, h);

	if (rc < 0)
		return rc;
	buf_printf(out, "%.3f,%.3f,%.3f,", start, length, h->max / US_PER_MS);
	buf_append(out, json_string_value(text), json_string_length(text));
	buf_append_char(out, '\n');
	return buf_error(out);
}

int report_hdrlog(const json_t *doc, buf_t *out, char *err, size_t errlen)
{
	const json_t *timeline = result_doc_array(doc, "timeline");
	const json_t *all = result_doc_get(result_doc_object(doc, "histograms"), "all");
	hist_t *h = malloc(sizeof(*h));
	int rc;

	if (!h) {
		rc = -ENOMEM;
		goto done;
	}
	rc = put_header(out, doc);
	if (rc == 0 && timeline_has_hists(timeline)) {
		for (size_t i = 0; i < json_array_size(timeline) && rc == 0; i++) {
			const json_t *p = json_array_get(timeline, i);
			double start = result_doc_point_start(timeline, i);

			rc = put_interval(out, start, result_doc_number(p, "t", start) - start,
			                  result_doc_get(p, "hist"), h);
		}
	} else if (rc == 0 && json_is_string(all)) {
		/* no per-second histograms in this document: the whole run as one interval */
		rc = put_interval(out, 0, result_doc_number(doc, "duration_s", 0), all, h);
	}
done:
	free(h);
	if (rc == -EINVAL)
		snprintf(err, errlen, "HDR log: malformed histogram in the document");
	else if (rc)
		snprintf(err, errlen, "HDR log: %s", strerror(-rc));
	return rc;
}
