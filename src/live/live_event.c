/* live_event: the JSON of the live UI's events (docs/ui.md, "Events") — a second's figures
 * and the run's so far, in the result document's names (requests, errors, latency_ms, ...),
 * every percentile read from the sparse histograms by hist_percentile's rule. A figure that
 * does not exist (no response in the second: no latency) is null, so a chart shows a gap,
 * not a zero. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "live/live.h"
#include "live/live_internal.h"

static void key_count(json_writer_t *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

static void key_number(json_writer_t *w, const char *key, double v, int digits)
{
	jsonw_key(w, key);
	jsonw_double(w, v, digits);
}

static double ms(const result_hist_t *h, double p)
{
	return h->total ? (double)result_hist_percentile(h, p) / 1e3 : NAN;
}

/* The latency figures of h, in ms; without min and mean for an endpoint's second (slim: a
 * run may have 2,048 endpoints, and the history keeps every second). */
static void write_latency_of(json_writer_t *w, const char *key, const result_hist_t *h, bool slim)
{
	jsonw_key(w, key);
	jsonw_object_begin(w);
	if (!slim) {
		key_number(w, "min", h->total ? (double)h->min / 1e3 : NAN, 3);
		key_number(w, "mean", h->total ? h->sum / (double)h->total / 1e3 : NAN, 3);
	}
	key_number(w, "p50", ms(h, 50), 3);
	key_number(w, "p90", ms(h, 90), 3);
	key_number(w, "p95", ms(h, 95), 3);
	key_number(w, "p99", ms(h, 99), 3);
	key_number(w, "max", h->total ? (double)h->max / 1e3 : NAN, 3);
	jsonw_object_end(w);
}

static void write_latency(json_writer_t *w, const char *key, const result_hist_t *h)
{
	write_latency_of(w, key, h, false);
}

/* The counts and latencies of c and h over duration_s, as the document's totals name them,
 * into the object open in w. */
static void figure_members(json_writer_t *w, const gen_counters_t *c, const result_hist_t *h,
                           double duration_s)
{
	uint64_t requests = result_requests(c);
	char code[16];

	key_count(w, "requests", requests);
	key_count(w, "responses", c->requests);
	key_count(w, "errors", c->errors);
	key_number(w, "error_rate", requests ? (double)c->errors / (double)requests : 0, 6);
	key_number(w, "rps", duration_s > 0 ? (double)requests / duration_s : 0, 3);
	key_count(w, "bytes_in", c->bytes_in);
	key_count(w, "late", c->late);
	key_count(w, "dropped", c->dropped);
	key_count(w, "unfinished", c->unfinished);
	write_latency(w, "latency_ms", h);
	jsonw_key(w, "status_codes");
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		snprintf(code, sizeof(code), "%d", i);
		key_count(w, code, c->status[i]);
	}
	jsonw_object_end(w);
	jsonw_key(w, "errors_by_kind"); /* only the kinds that occurred */
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		if (c->errors_by_kind[i])
			key_count(w, gen_error_kind_name((enum gen_error_kind)i),
			          c->errors_by_kind[i]);
	if (c->checks_failed)
		key_count(w, "check_failed", c->checks_failed);
	if (c->script_errors)
		key_count(w, "script_error", c->script_errors);
	jsonw_object_end(w);
}

static void write_figures(json_writer_t *w, const char *key, const gen_counters_t *c,
                          const result_hist_t *h, double duration_s)
{
	jsonw_key(w, key);
	jsonw_object_begin(w);
	figure_members(w, c, h, duration_s);
	jsonw_object_end(w);
}

/* An endpoint's second, for its charts: what they draw and no more (its status codes and
 * error kinds are in its figures so far, the snapshot's). A run may have 2,048 endpoints, and
 * the history keeps every second. */
static void write_endpoint_second(json_writer_t *w, const result_endpoint_t *e, double length)
{
	uint64_t requests = result_requests(&e->counters);

	jsonw_key(w, "second");
	jsonw_object_begin(w);
	key_count(w, "requests", requests);
	key_count(w, "errors", e->counters.errors);
	key_number(w, "rps", length > 0 ? (double)requests / length : 0, 3);
	write_latency_of(w, "latency_ms", &e->latency, true);
	jsonw_object_end(w);
}

/* The run's own figures of one second: the load asked and given, and the self-check. */
static void write_second_run(json_writer_t *w, const result_t *sum, const result_point_t *p)
{
	double length = p ? p->length_s : 0;

	jsonw_key(w, "run");
	jsonw_object_begin(w);
	figure_members(w, &sum->counters, &sum->latency, length);
	jsonw_key(w, "users");
	jsonw_uint(w, p ? p->users : 0);
	key_number(w, "target", p ? p->target : 0, 3);
	key_count(w, "due", p ? p->due : 0);
	key_count(w, "due_late", p ? p->due_late : 0);
	key_number(w, "busiest_cpu", p ? p->busiest_cpu : 0, 4);
	write_latency(w, "service_ms", &sum->service);
	write_latency(w, "sched_lag_ms", &sum->generator.sched_lag);
	jsonw_object_end(w);
}

static const char *tally_kind(enum gen_tally_kind k)
{
	switch (k) {
	case GEN_TALLY_CHECK: return "check";
	case GEN_TALLY_COUNTER: return "counter";
	case GEN_TALLY_TREND: return "trend";
	case GEN_TALLY_SCRIPT_ERROR: return "script_error";
	}
	return "?";
}

static void write_tally(json_writer_t *w, const result_tally_t *t)
{
	jsonw_object_begin(w);
	jsonw_key(w, "kind");
	jsonw_string(w, tally_kind(t->kind));
	jsonw_key(w, "name");
	jsonw_string(w, t->name);
	switch (t->kind) {
	case GEN_TALLY_CHECK:
		key_count(w, "passes", t->passes);
		key_count(w, "fails", t->fails);
		break;
	case GEN_TALLY_SCRIPT_ERROR: key_count(w, "count", t->fails); break;
	case GEN_TALLY_COUNTER: key_number(w, "value", t->value, 6); break;
	case GEN_TALLY_TREND: /* values in thousandths */
		key_count(w, "count", t->hist.total);
		key_number(w, "p50",
		           t->hist.total ? result_hist_percentile(&t->hist, 50) / 1e3 : NAN, 3);
		key_number(w, "p95",
		           t->hist.total ? result_hist_percentile(&t->hist, 95) / 1e3 : NAN, 3);
		key_number(w, "max", t->hist.total ? (double)t->hist.max / 1e3 : NAN, 3);
		break;
	}
	jsonw_object_end(w);
}

static void write_dropped(json_writer_t *w, const result_t *whole)
{
	jsonw_key(w, "dropped");
	jsonw_object_begin(w);
	key_count(w, "points", whole->dropped.points);
	key_count(w, "endpoints", whole->dropped.endpoints);
	key_count(w, "tallies", whole->dropped.tallies);
	key_count(w, "deltas_lost", whole->dropped.deltas_lost);
	jsonw_object_end(w);
}

static int finish(json_writer_t *w)
{
	return w->err ? w->err : 0;
}

int live_event_second(const result_t *sum, int64_t second, bool correction, const result_t *whole,
                      buf_t *out)
{
	result_cursor_t c;
	const result_point_t *p;
	json_writer_t w;

	result_cursor_init(&c);
	p = sum->point_count ? result_point_at(sum, 0, &c) : NULL; /* its one second */
	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "second");
	jsonw_key(&w, "second");
	jsonw_int(&w, second);
	key_number(&w, "t", (double)second + (p ? p->length_s : 1), 3);
	key_number(&w, "length_s", p ? p->length_s : 1, 3);
	jsonw_key(&w, "correction");
	jsonw_bool(&w, correction);
	write_second_run(&w, sum, p);
	write_figures(&w, "total", &whole->counters, &whole->latency, whole->duration_s);
	jsonw_key(&w, "endpoints"); /* those with a request that ended in this second */
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < sum->endpoint_count; i++) {
		const result_endpoint_t *e = &sum->endpoints[i];

		if (!result_requests(&e->counters))
			continue;
		jsonw_object_begin(&w);
		jsonw_key(&w, "method");
		jsonw_string(&w, e->method);
		jsonw_key(&w, "name");
		jsonw_string(&w, e->name);
		write_endpoint_second(&w, e, p ? p->length_s : 1);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "tallies"); /* the run's so far, of those this second changed */
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < sum->tally_count; i++)
		for (uint32_t j = 0; j < whole->tally_count; j++)
			if (whole->tallies[j].kind == sum->tallies[i].kind &&
			    strcmp(whole->tallies[j].name, sum->tallies[i].name) == 0) {
				write_tally(&w, &whole->tallies[j]);
				break;
			}
	jsonw_array_end(&w);
	write_dropped(&w, whole);
	jsonw_object_end(&w);
	result_cursor_free(&c);
	return finish(&w);
}

int live_snapshot(const result_t *whole, buf_t *out)
{
	json_writer_t w;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "snapshot");
	key_number(&w, "duration_s", whole->duration_s, 3);
	write_figures(&w, "total", &whole->counters, &whole->latency, whole->duration_s);
	jsonw_key(&w, "endpoints");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < whole->endpoint_count; i++) {
		const result_endpoint_t *e = &whole->endpoints[i];

		jsonw_object_begin(&w);
		jsonw_key(&w, "method");
		jsonw_string(&w, e->method);
		jsonw_key(&w, "name");
		jsonw_string(&w, e->name);
		write_figures(&w, "total", &e->counters, &e->latency, whole->duration_s);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "tallies");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < whole->tally_count; i++)
		write_tally(&w, &whole->tallies[i]);
	jsonw_array_end(&w);
	write_dropped(&w, whole);
	jsonw_object_end(&w);
	return finish(&w);
}
