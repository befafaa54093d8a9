/* result_encode: the result document (docs/result-format.md, SPEC §2.6) written from a
 * result_t — the stable contract other tools read: keys may be added, never renamed.
 * Latencies in milliseconds, times in seconds. Every derived figure (rates, error rates,
 * percentiles, mean, stdev, shares, spread) is computed here from the model's counts and
 * histograms, with core/hist.c's functions, so a document and its decoded-then-encoded copy
 * say the same. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/json.h"
#include "core/version.h"
#include "result/result.h"
#include "result/result_encode_internal.h"

/* The base64 text of h (expanded into e->h) in e->text; false when it could not be made. */
static bool encode_hist(enc_t *e)
{
	int rc;

	buf_reset(&e->text);
	rc = hist_encode_base64(e->h, &e->text);
	if (rc < 0 && !e->rc)
		e->rc = rc;
	return rc == 0;
}

static void write_latency(enc_t *e, const char *key, const result_hist_t *rh)
{
	static const struct {
		const char *key;
		double p;
	} pcts[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};
	json_writer_t *w = &e->w;
	const hist_t *h = e->h;

	static const char *const read_keys[9] = {"min", "mean", "stdev", "p50", "p90",
	                                         "p95", "p99",  "p99_9", "max"};

	result_hist_expand(rh, e->h);
	jsonw_key(w, key);
	jsonw_object_begin(w);
	if (rh->read && rh->len == 0) { /* a decoded document's figures, no histogram */
		for (size_t i = 0; i < 9; i++)
			key_number(w, read_keys[i], rh->read_ms[i], 3);
		if (rh->read_approximate) {
			jsonw_key(w, "approximate");
			jsonw_bool(w, true);
		}
		jsonw_object_end(w);
		return;
	}
	key_number(w, "min", h->total ? h->min / 1e3 : 0, 3);
	key_number(w, "mean", hist_mean(h) / 1e3, 3);
	key_number(w, "stdev", hist_stdev(h) / 1e3, 3);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++)
		key_number(w, pcts[i].key, hist_percentile(h, pcts[i].p) / 1e3, 3);
	key_number(w, "max", h->max / 1e3, 3);
	jsonw_object_end(w);
}

static void write_config(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_config_t *c = &e->r->config;

	jsonw_key(w, "config");
	jsonw_object_begin(w);
	key_string(w, "url", c->url ? c->url : "");
	if (c->scenario)
		key_string(w, "scenario", c->scenario);
	key_string(w, "method", c->method ? c->method : "GET");
	key_string(w, "model", c->open_model ? "open" : "closed");
	/* a shard's figures are its part of the test's, which `surge merge` adds up again */
	if (c->has_rate)
		key_number(w, "rate", c->rate, c->shard_count ? 6 : 3);
	if (c->stages)
		key_string(w, "stages", c->stages);
	if (c->has_max_queue)
		key_count(w, "max_queue", c->max_queue);
	if (c->has_pipeline)
		key_count(w, "pipeline", c->pipeline);
	if (c->new_conn_every)
		key_count(w, "new_conn_every", c->new_conn_every);
	if (c->streams) {
		key_string(w, "protocol",
		           c->url && strncmp(c->url, "https:", 6) == 0 ? "h2" : "h2c");
		key_count(w, "streams", c->streams);
	}
	if (c->shard_count) {
		jsonw_key(w, "shard");
		jsonw_object_begin(w);
		key_count(w, "index", c->shard_index);
		key_count(w, "count", c->shard_count);
		jsonw_object_end(w);
	}
	key_count(w, "connections", c->connections);
	key_count(w, "threads", c->threads);
	key_number(w, "duration_s", c->duration_s, 3);
	key_count(w, "requests", c->requests);
	key_number(w, "timeout_s", c->timeout_s, 3);
	jsonw_key(w, "headers");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < c->header_count; i++)
		jsonw_string(w, c->headers[i]);
	jsonw_array_end(w);
	key_count(w, "body_bytes", c->body_bytes);
	jsonw_key(w, "insecure");
	jsonw_bool(w, c->insecure);
	if (c->idle_poll) {
		jsonw_key(w, "idle_poll");
		jsonw_bool(w, true);
	}
	jsonw_object_end(w);
}

/* The counts every renderer derives alike: requests are responses plus transport failures. */
static uint64_t requests_of(const gen_counters_t *c)
{
	return result_requests(c);
}

static double rate(uint64_t n, double duration_s)
{
	return duration_s > 0 ? (double)n / duration_s : 0;
}

/* A fraction, 0..1: a decoded document may count more errors than requests (surge never
 * does), and the document's rates are fractions. */
static double share(uint64_t part, uint64_t whole)
{
	return whole ? (part < whole ? (double)part / (double)whole : 1) : 0;
}

static void write_totals(enc_t *e)
{
	json_writer_t *w = &e->w;
	const gen_counters_t *c = &e->r->counters;
	uint64_t requests = requests_of(c);

	jsonw_key(w, "totals");
	jsonw_object_begin(w);
	key_count(w, "requests", requests);
	key_count(w, "responses", c->requests);
	key_count(w, "errors", c->errors);
	key_number(w, "error_rate", share(c->errors, requests), 6);
	key_number(w, "rps", rate(requests, e->r->duration_s), 3);
	key_count(w, "bytes_in", c->bytes_in);
	key_count(w, "bytes_out", c->bytes_out);
	key_count(w, "dropped", c->dropped);
	key_count(w, "late", c->late);
	key_count(w, "unfinished", c->unfinished);
	jsonw_object_end(w);
}

/* HTTP/2's error kinds are written for an HTTP/2 run, or when one of them counted (a merge
 * with one): an HTTP/1.1 document reads as it did before they existed. */
static bool writes_kind(const result_t *r, const gen_counters_t *c, int kind)
{
	return kind < GEN_ERR_STREAM_RESET || r->config.streams || c->errors_by_kind[kind];
}

static void write_codes(json_writer_t *w, const result_t *r, const gen_counters_t *c)
{
	char code[16];

	jsonw_key(w, "status_codes");
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		snprintf(code, sizeof(code), "%d", i);
		key_count(w, code, c->status[i]);
	}
	jsonw_object_end(w);
	jsonw_key(w, "errors_by_kind");
	jsonw_object_begin(w);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		if (writes_kind(r, c, i))
			key_count(w, gen_error_kind_name(i), c->errors_by_kind[i]);
	key_count(w, "check_failed", c->checks_failed);
	key_count(w, "script_error", c->script_errors);
	jsonw_object_end(w);
}

static void write_endpoints(enc_t *e)
{
	json_writer_t *w = &e->w;

	jsonw_key(w, "endpoints");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < e->r->endpoint_count; i++) {
		const result_endpoint_t *ep = &e->r->endpoints[i];
		uint64_t requests = requests_of(&ep->counters);

		jsonw_object_begin(w);
		key_string(w, "name", ep->name);
		key_string(w, "method", ep->method);
		key_count(w, "requests", requests);
		key_count(w, "errors", ep->counters.errors);
		key_number(w, "error_rate", share(ep->counters.errors, requests), 6);
		key_number(w, "rps", rate(requests, e->r->duration_s), 3);
		key_count(w, "bytes_in", ep->counters.bytes_in);
		key_count(w, "bytes_out", ep->counters.bytes_out);
		write_latency(e, "latency_ms", &ep->latency);
		write_codes(w, e->r, &ep->counters);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* --group-by-header's section: the values in name order (instances read best sorted). */
static void write_groups(enc_t *e)
{
	const result_t *r = e->r;
	json_writer_t *w = &e->w;
	const result_group_t **s;
	uint64_t grouped, most;

	if (!r->has_groups)
		return;
	s = result_groups_sorted(r, &grouped, &most);
	if (!s) {
		e->rc = e->rc ? e->rc : -ENOMEM;
		return;
	}
	jsonw_key(w, "group_by");
	jsonw_object_begin(w);
	key_string(w, "header", r->group_header ? r->group_header : "");
	jsonw_key(w, "values");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->group_count; i++) {
		jsonw_object_begin(w);
		key_string(w, "value", s[i]->value);
		key_count(w, "requests", s[i]->responses);
		key_count(w, "errors", s[i]->errors);
		key_number(w, "error_rate", share(s[i]->errors, s[i]->responses), 6);
		key_number(w, "share", share(s[i]->responses, grouped), 6);
		key_number(w, "rps", rate(s[i]->responses, r->duration_s), 3);
		write_latency(e, "latency_ms", &s[i]->latency);
		/* the histogram write_latency expanded; none for figures without one */
		if (!result_hist_figures_only(&s[i]->latency) && encode_hist(e)) {
			jsonw_key(w, "histogram");
			jsonw_string_n(w, e->text.data, e->text.len);
		}
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	key_count(w, "requests", grouped);
	/* the largest share over the mean share: 1 = even */
	key_number(w, "spread", grouped ? (double)most * r->group_count / (double)grouped : NAN, 4);
	key_count(w, "missing", r->group_missing);
	key_count(w, "overflow", r->group_overflow);
	key_count(w, "values_max", r->group_values_max);
	key_count(w, "truncated", r->group_truncated);
	jsonw_object_end(w);
	free(s);
}

static void write_trend(enc_t *e, const result_tally_t *t)
{
	json_writer_t *w = &e->w;
	const hist_t *h = e->h;

	result_hist_expand(&t->hist, e->h);
	jsonw_key(w, t->name);
	jsonw_object_begin(w);
	key_count(w, "count", h->total);
	key_number(w, "min", h->total ? h->min / 1e3 : 0, 3);
	key_number(w, "mean", hist_mean(h) / 1e3, 3);
	key_number(w, "p50", hist_percentile(h, 50) / 1e3, 3);
	key_number(w, "p90", hist_percentile(h, 90) / 1e3, 3);
	key_number(w, "p95", hist_percentile(h, 95) / 1e3, 3);
	key_number(w, "p99", hist_percentile(h, 99) / 1e3, 3);
	key_number(w, "max", h->max / 1e3, 3);
	if (encode_hist(e)) {
		jsonw_key(w, "histogram");
		jsonw_string_n(w, e->text.data, e->text.len);
	}
	jsonw_object_end(w);
}

/* https: the handshakes, apart from the requests (a merge sums them, adding the histograms). */
static void write_tls(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_t *r = e->r;

	if (!r->has_tls)
		return;
	jsonw_key(w, "tls");
	jsonw_object_begin(w);
	key_count(w, "handshakes", r->tls_handshakes);
	key_count(w, "resumed", r->tls_resumed);
	jsonw_key(w, "resumption");
	jsonw_bool(w, r->tls_resumption);
	write_latency(e, "handshake_ms", &r->tls_handshake);
	if (r->tls_handshake.len && encode_hist(e)) { /* write_latency expanded it into e->h */
		jsonw_key(w, "histogram");
		jsonw_string_n(w, e->text.data, e->text.len);
	}
	jsonw_object_end(w);
}

/* A scenario's checks, custom counters and trends, and the errors its code raised. */
static void write_tallies(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_t *r = e->r;

	jsonw_key(w, "checks");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->tally_count; i++) {
		if (r->tallies[i].kind != GEN_TALLY_CHECK)
			continue;
		jsonw_object_begin(w);
		key_string(w, "name", r->tallies[i].name);
		key_count(w, "passes", r->tallies[i].passes);
		key_count(w, "fails", r->tallies[i].fails);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "script_errors");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->tally_count; i++) {
		if (r->tallies[i].kind != GEN_TALLY_SCRIPT_ERROR)
			continue;
		jsonw_object_begin(w);
		key_string(w, "message", r->tallies[i].name);
		key_count(w, "count", r->tallies[i].fails);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "metrics");
	jsonw_object_begin(w);
	jsonw_key(w, "counters");
	jsonw_object_begin(w);
	for (uint32_t i = 0; i < r->tally_count; i++)
		if (r->tallies[i].kind == GEN_TALLY_COUNTER)
			key_number(w, r->tallies[i].name, r->tallies[i].value, 6);
	jsonw_object_end(w);
	jsonw_key(w, "trends");
	jsonw_object_begin(w);
	for (uint32_t i = 0; i < r->tally_count; i++)
		if (r->tallies[i].kind == GEN_TALLY_TREND)
			write_trend(e, &r->tallies[i]);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

/* A point's histogram text: kept encoded, or (still open) encoded now. */
static void write_point_hist(enc_t *e, const result_point_t *p)
{
	if (e->no_point_hists)
		return;
	if (p->hist) {
		jsonw_key(&e->w, "hist");
		jsonw_string_n(&e->w, p->hist, p->hist_len);
		return;
	}
	if (!p->open || !p->open->total)
		return;
	result_hist_expand(p->open, e->h);
	if (encode_hist(e)) {
		jsonw_key(&e->w, "hist");
		jsonw_string_n(&e->w, e->text.data, e->text.len);
	}
}

static void write_timeline(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_t *r = e->r;

	result_cursor_t c;

	jsonw_key(w, "timeline");
	jsonw_array_begin(w);
	result_cursor_init(&c);
	for (size_t i = 0; i < r->point_count; i++) {
		const result_point_t *p = result_point_at(r, i, &c);
		int64_t p50, p95, p99;

		if (!p) { /* the spill file could not be read: no document rather than a hole */
			if (!e->rc)
				e->rc = c.error;
			break;
		}
		p50 = p->p50_us;
		p95 = p->p95_us;
		p99 = p->p99_us;
		if (p->open) { /* not sealed yet: its percentiles from its open histogram */
			result_hist_expand(p->open, e->h);
			p50 = hist_percentile(e->h, 50);
			p95 = hist_percentile(e->h, 95);
			p99 = hist_percentile(e->h, 99);
		}
		jsonw_object_begin(w);
		if (p->gap) { /* merged: a second no shard reported */
			key_number(w, "t", p->t, 3);
			key_count(w, "users", p->users);
			key_count(w, "requests", p->requests);
			key_count(w, "errors", p->errors);
			key_number(w, "target", p->target, 3);
			key_number(w, "rps", 0, 3);
			key_number(w, "p50_ms", 0, 3);
			key_number(w, "p95_ms", 0, 3);
			key_number(w, "p99_ms", 0, 3);
			jsonw_object_end(w);
			continue;
		}
		key_number(w, "t", p->t, 3);
		key_count(w, "users", p->users);
		key_number(w, "target", p->target, 3);
		key_count(w, "requests", p->requests);
		key_number(w, "rps", p->length_s > 0 ? p->requests / p->length_s : 0, 3);
		key_count(w, "errors", p->errors);
		key_count(w, "late", p->late);
		key_count(w, "dropped", p->dropped);
		key_count(w, "bytes_in", p->bytes_in);
		key_number(w, "p50_ms", p50 / 1e3, 3);
		key_number(w, "p95_ms", p95 / 1e3, 3);
		key_number(w, "p99_ms", p99 / 1e3, 3);
		/* the self-check's figures for the second (docs/run.md, Self-check) */
		key_number(w, "generator_cpu", p->busiest_cpu, 3);
		if (r->config.open_model) {
			key_count(w, "due", p->due);
			key_count(w, "due_late", p->due_late);
		}
		write_point_hist(e, p);
		if (!isnan(p->target_cpu_cores))
			key_number(w, "target_cpu_cores", p->target_cpu_cores, 3);
		if (!isnan(p->target_rss_bytes))
			key_number(w, "target_rss_bytes", p->target_rss_bytes, 0);
		jsonw_object_end(w);
	}
	result_cursor_free(&c);
	jsonw_array_end(w);
}

/* The load's changes while it ran (gen_steer), when there were any: every chart marks them. */
static void write_changes(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_t *r = e->r;

	if (!r->marker_count)
		return;
	jsonw_key(w, "changes");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < r->marker_count; i++) {
		const gen_marker_t *m = &r->markers[i];

		jsonw_object_begin(w);
		key_number(w, "t", (double)m->at_ns / NS_PER_S, 6);
		key_string(w, "what", m->kind == GEN_STEER_USERS ? "users" : "rate");
		key_number(w, "from", m->from, 3);
		key_number(w, "to", m->to, 3);
		if (m->kind == GEN_STEER_USERS)
			key_number(w, "spawn_rate", m->spawn_rate, 3);
		key_number(w, "ramp_s", m->ramp_s, 3);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

static void write_histograms(enc_t *e)
{
	json_writer_t *w = &e->w;
	char key[GEN_NAME_MAX + 20];

	jsonw_key(w, "histograms");
	jsonw_object_begin(w);
	if (!result_hist_figures_only(&e->r->latency)) { /* a document read without one */
		result_hist_expand(&e->r->latency, e->h);
		jsonw_key(w, "all");
		if (encode_hist(e))
			jsonw_string_n(w, e->text.data, e->text.len);
		else
			jsonw_string(w, "");
	}
	/* one per endpoint, keyed "METHOD name" as merge and reports look them up */
	for (uint32_t i = 0; i < e->r->endpoint_count; i++) {
		const result_endpoint_t *ep = &e->r->endpoints[i];

		if (result_hist_figures_only(&ep->latency))
			continue; /* read without one, or a merge's upper bounds: no histogram */
		result_hist_expand(&ep->latency, e->h);
		snprintf(key, sizeof(key), "%s %s", ep->method, ep->name);
		jsonw_key(w, key);
		if (encode_hist(e))
			jsonw_string_n(w, e->text.data, e->text.len);
		else
			jsonw_string(w, "");
	}
	jsonw_object_end(w);
}

/* What a bound cost the model, only when one was hit: never silent. */
static void write_limits(enc_t *e)
{
	json_writer_t *w = &e->w;
	const result_dropped_t *d = &e->r->dropped;

	if (!d->points && !d->endpoints && !d->tallies && !d->deltas_lost && !d->markers)
		return;
	jsonw_key(w, "limits");
	jsonw_object_begin(w);
	key_count(w, "timeline_points_dropped", d->points);
	key_count(w, "timeline_points_max", RESULT_POINTS_MAX);
	key_count(w, "endpoint_deltas_over_max", d->endpoints);
	key_count(w, "endpoints_max", RESULT_ENDPOINTS_MAX);
	key_count(w, "tally_deltas_over_max", d->tallies);
	key_count(w, "tallies_max", RESULT_TALLIES_MAX);
	key_count(w, "deltas_lost", d->deltas_lost);
	if (d->markers) {
		key_count(w, "changes_dropped", d->markers);
		key_count(w, "changes_max", RESULT_MARKERS_MAX);
	}
	jsonw_object_end(w);
}

static void write_merge(enc_t *e)
{
	json_writer_t *w = &e->w;

	if (!e->r->shards)
		return;
	jsonw_key(w, "merged_from");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < e->r->merged_count; i++)
		jsonw_string(w, e->r->merged_from[i]);
	jsonw_array_end(w);
	key_count(w, "shards", e->r->shards);
}

/* A distributed run: its shards, whether every one ran to its end, and those lost. */
static void write_distributed(enc_t *e)
{
	const result_distributed_t *d = &e->r->distributed;
	json_writer_t *w = &e->w;

	if (!d->shards)
		return;
	jsonw_key(w, "distributed");
	jsonw_object_begin(w);
	key_count(w, "shards", d->shards);
	jsonw_key(w, "complete");
	jsonw_bool(w, d->lost_count == 0);
	jsonw_key(w, "lost");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < d->lost_count; i++) {
		jsonw_object_begin(w);
		key_count(w, "shard", d->lost[i].index + 1);
		key_count(w, "from_s", (uint64_t)d->lost[i].from_second);
		jsonw_key(w, "asked"); /* its part of the load: users, or arrivals a second */
		if (isnan(d->lost[i].asked))
			jsonw_null(w);
		else
			jsonw_double(w, d->lost[i].asked, 3);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static int encode(const result_t *r, buf_t *out, bool pretty, bool point_hists)
{
	enc_t e = {.r = r, .rc = 0, .no_point_hists = !point_hists};
	json_writer_t *w = &e.w;
	char started[40];

	if (!(e.h = malloc(sizeof(hist_t))))
		return -ENOMEM;
	buf_init(&e.text, 16u * 1024 * 1024);
	clock_format_rfc3339(r->started_wall_ns, started, sizeof(started));
	jsonw_init(w, out, pretty);
	jsonw_object_begin(w);
	key_string(w, "tool", "surge");
	key_string(w, "version", r->version ? r->version : surge_version);
	key_string(w, "started_at", started);
	key_number(w, "duration_s", r->duration_s, 3);
	jsonw_key(w, "interrupted");
	jsonw_bool(w, r->interrupted);
	write_config(&e);
	write_totals(&e);
	write_latency(&e, "latency_ms", &r->latency);
	write_latency(&e, "service_ms", &r->service);
	write_codes(w, r, &r->counters);
	write_endpoints(&e);
	write_groups(&e);
	write_tallies(&e);
	write_timeline(&e);
	write_changes(&e);
	result_encode_thresholds(&e);
	result_encode_assessment(&e);
	result_encode_advice(&e);
	result_encode_generator(&e);
	write_tls(&e);
	write_histograms(&e);
	write_limits(&e);
	write_merge(&e);
	write_distributed(&e);
	jsonw_object_end(w);
	if (!w->err && pretty)
		w->err = buf_append_char(out, '\n');
	buf_free(&e.text);
	free(e.h);
	return w->err ? w->err : e.rc;
}

int result_encode(const result_t *r, buf_t *out)
{
	return encode(r, out, true, true);
}

int result_encode_compact(const result_t *r, buf_t *out)
{
	return encode(r, out, false, false);
}
