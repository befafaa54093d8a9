/* report_hdrlog: an HdrHistogram interval log (HistogramLogWriter's format 1.3) from a result
 * (the typed model), for HdrHistogram's own tools (HistogramLogProcessor, HdrHistogramVisualizer):
 * a header with StartTime and BaseTime, the legend, then one line per timeline second —
 * start (s from BaseTime), length (s), max (ms), the interval's histogram in base64. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/report_outputs.h"

#define FORMAT_VERSION "1.3"
#define US_PER_MS      1000.0 /* the maxValueUnitRatio: our values are µs, the max is in ms */

/* Whether every timeline point carries its own histogram (then the log has one line each):
 * 1, 0, or a negative errno (the timeline could not be read). */
static int timeline_has_hists(const result_t *r, result_cursor_t *c)
{
	if (!r->point_count)
		return 0;
	for (size_t i = 0; i < r->point_count; i++) {
		const result_point_t *p = result_point_at(r, i, c);

		if (!p)
			return c->error;
		if (!p->hist && !(p->open && p->open->total))
			return 0;
	}
	return 1;
}

static void put_header(buf_t *out, const result_t *r)
{
	/* to the millisecond, as the document's started_at (whose report must say the same) */
	double start = r->has_started_at ? (double)(r->started_wall_ns / 1000000) / 1e3 : 0;
	char date[64] = "";

	if (r->has_started_at) {
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
	           r->version ? r->version : "");
	buf_append_str(out, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
	                    "\"Interval_Compressed_Histogram\"\n");
}

/* One interval from a sparse histogram: encoded (the V2 compressed base64 HdrHistogram logs
 * carry), and decoded again for its max as a log reader sees it (its top bucket's). */
static int put_interval(buf_t *out, double start, double length, const result_hist_t *sparse,
                        const char *text, size_t len, hist_t *h, buf_t *scratch)
{
	int rc;

	if (!text) {
		result_hist_expand(sparse, h);
		buf_reset(scratch);
		if ((rc = hist_encode_base64(h, scratch)) < 0)
			return rc;
		text = scratch->data;
		len = scratch->len;
	}
	if ((rc = hist_decode_base64(text, len, h)) < 0)
		return rc;
	buf_printf(out, "%.3f,%.3f,%.3f,", start, length, h->max / US_PER_MS);
	buf_append(out, text, len);
	buf_append_char(out, '\n');
	return buf_error(out);
}

int report_hdrlog(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	hist_t *h = malloc(sizeof(*h));
	buf_t scratch;
	result_cursor_t c;
	int rc, every;

	buf_init(&scratch, 16u << 20);
	result_cursor_init(&c);
	if (!h) {
		rc = -ENOMEM;
		goto done;
	}
	put_header(out, r);
	rc = buf_error(out);
	every = rc == 0 ? timeline_has_hists(r, &c) : 0;
	if (every < 0) {
		rc = every;
	} else if (rc == 0 && every) {
		double start = 0;

		for (size_t i = 0; i < r->point_count && rc == 0; i++) {
			const result_point_t *p = result_point_at(r, i, &c);

			if (!p) {
				rc = c.error;
				break;
			}
			rc = put_interval(out, start, p->t - start, p->open, p->hist, p->hist_len,
			                  h, &scratch);
			start = p->t;
		}
	} else if (rc == 0 && !r->latency.read) { /* a document without histograms.all: none */
		/* no per-second histograms in this result: the whole run as one interval */
		rc = put_interval(out, 0, r->duration_s, &r->latency, NULL, 0, h, &scratch);
	}
done:
	free(h);
	buf_free(&scratch);
	result_cursor_free(&c);
	if (rc == -EINVAL)
		snprintf(err, errlen, "HDR log: malformed histogram in the result");
	else if (rc)
		snprintf(err, errlen, "HDR log: %s", strerror(-rc));
	return rc;
}
