/* report_html: the self-contained HTML report of a result document (SPEC §2.6) — one file
 * with uPlot, its script, its style and the data inline, so it opens offline and can be
 * shared as is. The page itself is drawn in the browser by web/report/report.js. */
#ifndef SURGE_REPORT_HTML_H
#define SURGE_REPORT_HTML_H

#include <stddef.h>

#include "core/buf.h"
#include "result/result.h"

/* Appends the report of r (a run's, or a saved document of any age read by result_decode) to
 * out; the page embeds r's document. 0, or a negative errno with a one-line reason in err:
 * -ENOBUFS when out is full, -ENOMEM. A histogram that cannot be drawn is not an error: the
 * page then plots the latency distribution from the document's percentiles. */
int report_html(const result_t *r, buf_t *out, char *err, size_t errlen);

#endif
