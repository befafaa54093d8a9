/* report_json: the result document (SPEC §2.6), the stable contract other tools read:
 * keys may be added, never renamed. Latencies in milliseconds, times in seconds. */
#include <stdio.h>

#include "core/clock.h"
#include "core/json.h"
#include "report/report.h"

#ifndef SURGE_VERSION
#define SURGE_VERSION "dev"
#endif

static void write_config(json_writer_t *w, const gen_config_t *cfg)
{
	json_key(w, "config");
	json_object_begin(w);
	json_key(w, "url");
	json_string(w, cfg->url_text);
	json_key(w, "method");
	json_string(w, cfg->method);
	json_key(w, "model");
	json_string(w, "closed");
	json_key(w, "connections");
	json_uint(w, cfg->connections);
	json_key(w, "threads");
	json_uint(w, cfg->threads);
	json_key(w, "duration_s");
	json_double(w, (double)cfg->duration_ns / NS_PER_S, 3);
	json_key(w, "requests");
	json_uint(w, cfg->requests);
	json_key(w, "timeout_s");
	json_double(w, (double)cfg->timeout_ns / NS_PER_S, 3);
	json_key(w, "headers");
	json_array_begin(w);
	for (int i = 0; i < cfg->header_count; i++)
		json_string(w, cfg->headers[i]);
	json_array_end(w);
	json_key(w, "body_bytes");
	json_uint(w, cfg->body_len);
	json_key(w, "insecure");
	json_bool(w, cfg->insecure);
	json_object_end(w);
}

static void write_totals(json_writer_t *w, const gen_result_t *r, const report_totals_t *t)
{
	json_key(w, "totals");
	json_object_begin(w);
	json_key(w, "requests");
	json_uint(w, t->requests);
	json_key(w, "responses");
	json_uint(w, t->responses);
	json_key(w, "errors");
	json_uint(w, t->errors);
	json_key(w, "error_rate");
	json_double(w, t->error_rate, 6);
	json_key(w, "rps");
	json_double(w, t->rps, 3);
	json_key(w, "bytes_in");
	json_uint(w, r->counters.bytes_in);
	json_key(w, "bytes_out");
	json_uint(w, r->counters.bytes_out);
	json_key(w, "dropped");
	json_uint(w, 0);
	json_object_end(w);
}

static void write_latency(json_writer_t *w, const hist_t *h)
{
	static const struct {
		const char *key;
		double p;
	} pcts[] = {{"p50", 50}, {"p90", 90}, {"p95", 95}, {"p99", 99}, {"p99_9", 99.9}};

	json_key(w, "latency_ms");
	json_object_begin(w);
	json_key(w, "min");
	json_double(w, h->total ? h->min / 1e3 : 0, 3);
	json_key(w, "mean");
	json_double(w, hist_mean(h) / 1e3, 3);
	json_key(w, "stdev");
	json_double(w, hist_stdev(h) / 1e3, 3);
	for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		json_key(w, pcts[i].key);
		json_double(w, hist_percentile(h, pcts[i].p) / 1e3, 3);
	}
	json_key(w, "max");
	json_double(w, h->max / 1e3, 3);
	json_object_end(w);
}

static void write_codes(json_writer_t *w, const gen_counters_t *c)
{
	char code[8];

	json_key(w, "status_codes");
	json_object_begin(w);
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		snprintf(code, sizeof(code), "%d", i);
		json_key(w, code);
		json_uint(w, c->status[i]);
	}
	json_object_end(w);
	json_key(w, "errors_by_kind");
	json_object_begin(w);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++) {
		json_key(w, gen_error_kind_name(i));
		json_uint(w, c->errors_by_kind[i]);
	}
	json_object_end(w);
}

static void write_endpoints(json_writer_t *w, const gen_config_t *cfg, const gen_result_t *r,
			    const report_totals_t *t)
{
	json_key(w, "endpoints");
	json_array_begin(w);
	json_object_begin(w);
	json_key(w, "name");
	json_string(w, cfg->url.target);
	json_key(w, "method");
	json_string(w, cfg->method);
	json_key(w, "requests");
	json_uint(w, t->requests);
	json_key(w, "errors");
	json_uint(w, t->errors);
	json_key(w, "rps");
	json_double(w, t->rps, 3);
	write_latency(w, r->latency);
	json_object_end(w);
	json_array_end(w);
}

static void write_timeline(json_writer_t *w, const gen_result_t *r)
{
	json_key(w, "timeline");
	json_array_begin(w);
	for (size_t i = 0; i < r->timeline_len; i++) {
		const gen_point_t *p = &r->timeline[i];

		json_object_begin(w);
		json_key(w, "t");
		json_double(w, p->t, 3);
		json_key(w, "users");
		json_uint(w, p->users);
		json_key(w, "requests");
		json_uint(w, p->requests);
		json_key(w, "rps");
		json_double(w, p->length_s > 0 ? p->requests / p->length_s : 0, 3);
		json_key(w, "errors");
		json_uint(w, p->errors);
		json_key(w, "bytes_in");
		json_uint(w, p->bytes_in);
		json_key(w, "p50_ms");
		json_double(w, p->p50_us / 1e3, 3);
		json_key(w, "p95_ms");
		json_double(w, p->p95_us / 1e3, 3);
		json_key(w, "p99_ms");
		json_double(w, p->p99_us / 1e3, 3);
		json_object_end(w);
	}
	json_array_end(w);
}

static void write_generator(json_writer_t *w, const gen_result_t *r)
{
	json_key(w, "generator");
	json_object_begin(w);
	json_key(w, "cpu_s");
	json_double(w, r->cpu_s, 3);
	json_key(w, "max_rss_bytes");
	json_uint(w, r->max_rss_bytes);
	json_key(w, "threads");
	json_uint(w, r->threads);
	json_key(w, "connections");
	json_uint(w, r->connections);
	json_object_end(w);
}

static int write_histograms(json_writer_t *w, const gen_result_t *r)
{
	buf_t enc;
	int rc;

	buf_init(&enc, 16 * 1024 * 1024);
	rc = hist_encode_base64(r->latency, &enc);
	json_key(w, "histograms");
	json_object_begin(w);
	json_key(w, "all");
	json_string_n(w, rc == 0 ? enc.data : "", rc == 0 ? enc.len : 0);
	json_object_end(w);
	buf_free(&enc);
	return rc;
}

int report_json(const gen_config_t *cfg, const gen_result_t *r, buf_t *out)
{
	json_writer_t w;
	report_totals_t t;
	char started[40];
	int rc;

	report_totals(r, &t);
	clock_format_rfc3339(r->started_wall_ns, started, sizeof(started));
	json_init(&w, out, true);
	json_object_begin(&w);
	json_key(&w, "tool");
	json_string(&w, "surge");
	json_key(&w, "version");
	json_string(&w, SURGE_VERSION);
	json_key(&w, "started_at");
	json_string(&w, started);
	json_key(&w, "duration_s");
	json_double(&w, t.duration_s, 3);
	json_key(&w, "interrupted");
	json_bool(&w, r->interrupted);
	write_config(&w, cfg);
	write_totals(&w, r, &t);
	write_latency(&w, r->latency);
	write_codes(&w, &r->counters);
	write_endpoints(&w, cfg, r, &t);
	write_timeline(&w, r);
	write_generator(&w, r);
	rc = write_histograms(&w, r);
	json_object_end(&w);
	if (!w.err)
		w.err = buf_append_char(out, '\n');
	return w.err ? w.err : rc;
}
