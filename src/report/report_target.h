/* report_target: what the target itself reported during the run (--scrape), condensed into
 * the result's target figures and aligned with its timeline; and the terminal summary's
 * target, recommendations and cost. */
#ifndef SURGE_REPORT_TARGET_H
#define SURGE_REPORT_TARGET_H

#include "core/buf.h"

struct result;
struct scrape_series;

/* The scraper's samples condensed against r's clock and timeline into r->target (has_target
 * set; figures the target did not export NAN) and each second's target_cpu_cores and
 * target_rss_bytes. r's start, duration and timeline must be final. 0, -ENOMEM, or the
 * timeline's read or write failure (result_point_update). */
int report_target_scraped(struct result *r, const struct scrape_series *s);

/* The summary's target line, recommendations and cost. */
void report_text_advice(buf_t *out, const struct result *r);

#endif
