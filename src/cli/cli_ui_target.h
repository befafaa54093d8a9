/* cli_ui_target: `surge run --ui --scrape URL` — the scraped target's figures of each second of
 * the run (its CPU and memory against its limits) as "target" events for the page (docs/ui.md).
 * A second's figures are the ones the result document's timeline will hold: made by the same
 * code (report_target_scraped) from the same samples, once they are final — when a sample
 * taken at or after the second's end has come (about a second after the second itself was
 * published), or when the scraper has stopped. Not locked: cli_ui.c calls it under its lock. */
#ifndef SURGE_CLI_UI_TARGET_H
#define SURGE_CLI_UI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "live/live.h"
#include "scrape/scrape.h"

/* Samples kept: the figures of a second need those from 5 s before it (a gap of more than
 * 3.5 s between two samples leaves a second unknown) to 1.5 s after; the rest is room for a
 * consumer that lags behind the scraper. */
#define CLI_TARGET_SAMPLES 64

typedef struct cli_target {
	scrape_sample_t samples[CLI_TARGET_SAMPLES]; /* a ring: the latest, oldest at `first` */
	size_t count, first;
	int64_t next_second; /* the first second not published yet */
	uint64_t events, failures;
} cli_target_t;

/* One "target" event's JSON text (not NUL-terminated), valid during the call. */
typedef live_publish_fn cli_target_publish_fn; /* each event LIVE_EVENT_KEPT */

void cli_target_add(cli_target_t *t, const scrape_sample_t *x);

/* Publishes the seconds from next_second to `upto` whose figures are final, in order, and
 * stops at the first that is not. Every second is 1 s long but `upto` when `over` (the run's
 * last, last_length_s long); `over`: the scraper has stopped, every second is final. Seconds
 * count from started_wall_ns. */
void cli_target_publish(cli_target_t *t, uint64_t started_wall_ns, int64_t upto,
                        double last_length_s, bool over, cli_target_publish_fn publish, void *ctx);

#endif
