/* report_html: the self-contained HTML report of a result document (SPEC §2.6) — one file
 * with uPlot, its script, its style and the data inline, so it opens offline and can be
 * shared as is. The page itself is drawn in the browser by web/report/report.js. */
#ifndef SURGE_REPORT_HTML_H
#define SURGE_REPORT_HTML_H

#include <jansson.h>
#include <stddef.h>

#include "core/buf.h"

/* Appends the report of doc (a result document, any age: missing keys are shown as absent)
 * to out. 0, or a negative errno with a one-line reason in err: -ENOBUFS when out is full,
 * -EINVAL when doc is not an object, -ENOMEM. A malformed histogram is not an error: the
 * page then plots the latency distribution from the document's percentiles. */
int report_html(const json_t *doc, buf_t *out, char *err, size_t errlen);

#endif
