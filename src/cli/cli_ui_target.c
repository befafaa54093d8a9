/* cli_ui_target: the target's figures of each second for the live page (see cli_ui_target.h).
 * A batch of seconds that became final is laid out as the timeline of a small result of its
 * own — the same start, the same seconds — and handed, with the samples kept, to
 * report_target_scraped, the code that fills the final document's timeline: the CPU of a
 * second interpolated between the samples around its ends, the memory the sample nearest its
 * end. Once a sample at or after a second's end has come, no later sample changes what that
 * code finds for it, so the event and the document agree to the digit. */
#include "cli/cli_ui_target.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "report/report_target.h"
#include "result/result.h"

#define BATCH_MAX 256   /* seconds laid out at once */
#define NEAR_S    1.5   /* a gauge's sample is the nearest within this (report_target.c's) */
#define EVENT_MAX 4096u /* one event's JSON */

void cli_target_add(cli_target_t *t, const scrape_sample_t *x)
{
	if (t->count < CLI_TARGET_SAMPLES) {
		t->samples[(t->first + t->count++) % CLI_TARGET_SAMPLES] = *x;
		return;
	}
	t->samples[t->first] = *x; /* the oldest goes */
	t->first = (t->first + 1) % CLI_TARGET_SAMPLES;
}

static const scrape_sample_t *sample(const cli_target_t *t, size_t i)
{
	return &t->samples[(t->first + i) % CLI_TARGET_SAMPLES];
}

static double at_s(const scrape_sample_t *x, uint64_t started_wall_ns)
{
	return ((double)x->wall_ns - (double)started_wall_ns) / NS_PER_S; /* report_target.c's */
}

/* The sample nearest to x seconds within NEAR_S (the later one of two as near), or NULL. */
static const scrape_sample_t *nearest(const scrape_sample_t *s, size_t n, uint64_t start, double x)
{
	const scrape_sample_t *best = NULL;
	double best_d = NEAR_S;

	for (size_t k = 0; k < n; k++) {
		double d = fabs(at_s(&s[k], start) - x);

		if (d <= best_d) {
			best = &s[k];
			best_d = d;
		}
	}
	return best;
}

/* The share of the cgroup's CPU periods throttled over [from, to] seconds: between the last
 * sample at or before from and the first at or after to; NAN when unknown. */
static double throttled_share(const scrape_sample_t *s, size_t n, uint64_t start, double from,
                              double to)
{
	const scrape_sample_t *a = NULL, *b = NULL;
	double periods, throttled;

	for (size_t k = 0; k < n; k++) {
		double x = at_s(&s[k], start);

		if (x <= from)
			a = &s[k];
		if (x >= to && !b)
			b = &s[k];
	}
	if (!a || !b)
		return NAN;
	periods = b->cpu_periods - a->cpu_periods;
	throttled = b->cpu_throttled_periods - a->cpu_throttled_periods;
	/* NAN counters compare false; a counter that went back is a new cgroup: unknown */
	return periods > 0 && throttled >= 0 ? throttled / periods : NAN;
}

static void number(json_writer_t *w, const char *key, double v, int digits)
{
	jsonw_key(w, key);
	jsonw_double(w, v, digits);
}

/* One second's event: figures named as the document names them (timeline[].target_cpu_cores
 * and target_rss_bytes with its digits; target.cpu_limit_cores, ...). */
static int write_event(buf_t *out, int64_t second, const result_point_t *p,
                       const result_target_t *window, const scrape_sample_t *near, double throttled)
{
	json_writer_t w;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "target");
	jsonw_key(&w, "second");
	jsonw_int(&w, second);
	number(&w, "t", p->t, 3);
	number(&w, "cpu_cores", p->target_cpu_cores, 3);
	number(&w, "cpu_limit_cores", near ? near->cpu_limit_cores : NAN, 3);
	number(&w, "cpu_capacity_cores", window->cpu_capacity_cores, 3);
	jsonw_key(&w, "cpu_basis");
	jsonw_string(&w, window->cpu_basis);
	number(&w, "throttled_share", throttled, 4);
	number(&w, "rss_bytes", p->target_rss_bytes, 0);
	number(&w, "memory_limit_bytes", near ? near->memory_limit_bytes : NAN, 0);
	jsonw_object_end(&w);
	return w.err;
}

/* Seconds [from, to] laid out and reckoned, one event each (none for a second with neither
 * CPU nor memory known). */
static void publish_batch(cli_target_t *t, uint64_t start, int64_t from, int64_t to, int64_t upto,
                          double last_length_s, cli_target_publish_fn publish, void *ctx)
{
	scrape_sample_t line[CLI_TARGET_SAMPLES];
	scrape_series_t series = {.count = t->count, .samples = line};
	result_t r;
	result_cursor_t c;
	buf_t event;

	result_cursor_init(&c);
	for (size_t k = 0; k < t->count; k++)
		line[k] = *sample(t, k);
	result_init(&r);
	buf_init(&event, EVENT_MAX);
	r.started_wall_ns = start;
	for (int64_t s = from; s <= to; s++) {
		result_point_t *p = result_point(&r, s - from);

		if (!p)
			goto fail;
		p->length_s = s == upto ? last_length_s : 1;
		p->t = (double)s + p->length_s;
		r.duration_s = p->t;
	}
	if (report_target_scraped(&r, &series) < 0)
		goto fail;
	for (int64_t s = from; s <= to; s++) {
		const result_point_t *p = result_point_at(&r, (size_t)(s - from), &c);

		if (!p)
			goto fail;
		if (isnan(p->target_cpu_cores) && isnan(p->target_rss_bytes))
			continue;
		buf_reset(&event);
		if (write_event(&event, s, p, &r.target, nearest(line, t->count, start, p->t),
		                throttled_share(line, t->count, start, p->t - p->length_s, p->t)) <
		    0) {
			t->failures++;
			continue;
		}
		t->events++;
		publish(ctx, event.data, event.len, LIVE_EVENT_KEPT);
	}
	goto out;
fail:
	t->failures++;
out:
	buf_free(&event);
	result_cursor_free(&c);
	result_free(&r);
}

void cli_target_publish(cli_target_t *t, uint64_t started_wall_ns, int64_t upto,
                        double last_length_s, bool over, cli_target_publish_fn publish, void *ctx)
{
	int64_t last = upto;

	if (!started_wall_ns || upto < t->next_second)
		return;
	if (!over) { /* final: a sample at or after its end (t = s + 1) has come */
		double latest;

		if (!t->count)
			return;
		latest = at_s(sample(t, t->count - 1), started_wall_ns);
		if (latest < 1)
			return;
		if ((double)last > floor(latest) - 1)
			last = (int64_t)floor(latest) - 1;
	}
	while (t->next_second <= last) {
		int64_t to =
		    t->next_second + BATCH_MAX - 1 < last ? t->next_second + BATCH_MAX - 1 : last;

		if (t->count)
			publish_batch(t, started_wall_ns, t->next_second, to, upto, last_length_s,
			              publish, ctx);
		t->next_second = to + 1;
	}
}
