/* The live page's target seconds (cli/cli_ui_target.c): fed a scrape's samples one at a time
 * as its thread would, a second is published only once a sample at or after its end has come,
 * once, and with the figures the result document's timeline gets from all the samples at the
 * end (report_target_scraped) — through a gap that leaves seconds unknown, and for the run's
 * last, shorter second when the scraper stops. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_ui_target.h"
#include "core/clock.h"
#include "core/json.h"
#include "report/report_target.h"
#include "result/result.h"
#include "test.h"
#include "test_points.h"

#define START_NS 1700000000123456789ull
#define SECONDS  11 /* 0..10, the last 0.6 s long */
#define LAST_LEN 0.6
#define EVENTS   32

typedef struct seen {
	json_t *events[EVENTS];
	int count;
	double latest_sample; /* seconds: the latest sample fed when an event came */
	double sample_at_publish[EVENTS];
} seen_t;

static void on_event(void *ctx, const char *json, size_t len, enum live_event_keep keep)
{
	seen_t *s = ctx;
	json_error_t err;

	CHECK_INT(keep, LIVE_EVENT_KEPT); /* every target second stays in the history */

	if (s->count == EVENTS)
		return;
	s->sample_at_publish[s->count] = s->latest_sample;
	s->events[s->count++] = json_loadb(json, len, 0, &err);
}

/* A figure as the document writes it (result_encode's digits). */
static void as_written(double v, int digits, char *out, size_t cap)
{
	buf_t b;
	json_writer_t w;

	buf_init(&b, 64);
	jsonw_init(&w, &b, false);
	jsonw_double(&w, v, digits);
	snprintf(out, cap, "%.*s", (int)b.len, b.data);
	buf_free(&b);
}

static void event_figure(const json_t *e, const char *key, int digits, char *out, size_t cap)
{
	const json_t *v = json_object_get(e, key);

	if (json_is_null(v))
		snprintf(out, cap, "null");
	else
		as_written(json_number_value(v), digits, out, cap);
}

TEST(ui_target_seconds_are_the_documents_once_a_sample_is_past_their_end)
{
	/* seconds since the start each sample arrived, the target's CPU counter and RSS there:
	 * every ~1 s, one late (5.2: second 3 is whole at 4, the engine says so at 5.001, but its
	 * figures must wait for that sample), then a gap (seconds 5 to 9 lack a CPU figure) */
	static const struct {
		double at, cpu, rss;
	} feed[] = {
	    {-0.02, 10.00, 20e6}, {0.97, 10.41, 21e6}, {1.99, 11.30, 21e6}, {2.98, 12.01, 22e6},
	    {3.97, 12.55, 22e6},  {5.20, 13.30, 23e6}, {9.62, 16.70, 25e6}, {10.55, 17.02, 25e6},
	    {10.70, 17.10, 26e6}, /* the last, as the scraper stops */
	};
	const size_t n = sizeof(feed) / sizeof(feed[0]);
	scrape_sample_t all[16];
	scrape_series_t series = {.samples = all, .count = n};
	cli_target_t *t = calloc(1, sizeof(*t));
	seen_t seen = {0};
	result_t doc;
	int published[SECONDS] = {0};
	int64_t done = -1; /* the latest whole second */

	for (size_t k = 0; k < n; k++) {
		scrape_sample_t *x = &all[k];
		double nan = NAN;

		for (double *f = &x->cpu_seconds; f <= &x->oom_kills; f++)
			*f = nan;
		x->wall_ns = START_NS + (uint64_t)llround((feed[k].at + 1) * 1e9) - 1000000000ull;
		x->cpu_seconds = feed[k].cpu;
		x->rss_bytes = feed[k].rss;
	}
	/* the run, in time order: a sample now and then, and each second whole just after its
	 * end (the engine's second_done), when cli_ui.c publishes up to the one before it; the
	 * last second (10) is never whole while the run goes */
	for (size_t k = 0, s = 0; k + 1 < n || s < SECONDS - 1;) {
		bool sample_first =
		    k + 1 < n && (s == SECONDS - 1 || feed[k].at < (double)s + 1.001);

		if (sample_first) {
			seen.latest_sample = feed[k].at;
			cli_target_add(t, &all[k++]);
		} else {
			done = (int64_t)s++;
		}
		cli_target_publish(t, START_NS, done - 1, 1, false, on_event, &seen);
	}
	seen.latest_sample = feed[n - 1].at;
	cli_target_add(t, &all[n - 1]);
	cli_target_publish(t, START_NS, SECONDS - 1, LAST_LEN, true, on_event, &seen);

	/* the document, made at the end from every sample */
	result_init(&doc);
	doc.started_wall_ns = START_NS;
	for (int s = 0; s < SECONDS; s++) {
		result_point_t *p = result_point(&doc, s);

		p->length_s = s == SECONDS - 1 ? LAST_LEN : 1;
		p->t = s + p->length_s;
	}
	doc.duration_s = SECONDS - 1 + LAST_LEN;
	CHECK(report_target_scraped(&doc, &series) == 0);

	for (int i = 0; i < seen.count; i++) {
		const json_t *e = seen.events[i];
		int64_t s = json_integer_value(json_object_get(e, "second"));
		const result_point_t pt = test_point(&doc, (size_t)s), *p = &pt;
		char got[64], want[64];

		CHECK(s >= 0 && s < SECONDS);
		if (s < 0 || s >= SECONDS)
			continue;
		published[s]++;
		/* final only once a sample at or after its end had come, but the last seconds */
		if (s < SECONDS - 2 && !(seen.sample_at_publish[i] >= s + 1))
			test_fail(__FILE__, __LINE__,
			          "second %lld published with the latest sample at %g",
			          (long long)s, seen.sample_at_publish[i]);
		CHECK_NEAR(json_number_value(json_object_get(e, "t")), p->t, 1e-9);
		event_figure(e, "cpu_cores", 3, got, sizeof(got));
		as_written(p->target_cpu_cores, 3, want, sizeof(want));
		if (strcmp(got, want) != 0)
			test_fail(__FILE__, __LINE__,
			          "second %lld: cpu_cores %s, the document's %s", (long long)s, got,
			          want);
		event_figure(e, "rss_bytes", 0, got, sizeof(got));
		as_written(p->target_rss_bytes, 0, want, sizeof(want));
		if (strcmp(got, want) != 0)
			test_fail(__FILE__, __LINE__,
			          "second %lld: rss_bytes %s, the document's %s", (long long)s, got,
			          want);
	}
	/* every second the document has a figure for got one event, the others none */
	for (int s = 0; s < SECONDS; s++) {
		bool figured = !isnan(test_point(&doc, s).target_cpu_cores) ||
		               !isnan(test_point(&doc, s).target_rss_bytes);

		if (published[s] != (figured ? 1 : 0))
			test_fail(__FILE__, __LINE__, "second %d: %d events, the document %s", s,
			          published[s], figured ? "has figures" : "has none");
	}
	/* the gap: its middle has no figure in either; around it they are known */
	CHECK(isnan(test_point(&doc, 6).target_cpu_cores) &&
	      isnan(test_point(&doc, 6).target_rss_bytes));
	CHECK(!isnan(test_point(&doc, 3).target_cpu_cores) &&
	      !isnan(test_point(&doc, 10).target_cpu_cores));
	CHECK(t->failures == 0);
	for (int i = 0; i < seen.count; i++)
		json_decref(seen.events[i]);
	result_free(&doc);
	free(t);
}
