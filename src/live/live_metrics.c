/* live_metrics: the generator's own figures in the Prometheus text format (`surge run --ui`
 * and `--metrics` answer /metrics with it) — from the run's result so far, so a Prometheus
 * scraping the generator sees the figures the result document will hold: requests, responses
 * by status and errors per endpoint (method × name), transport errors by kind, the corrected
 * latency per endpoint and the service time as histograms, users and the asked load,
 * late and dropped arrivals, checks, the self-check, and the process. Names follow the
 * Prometheus conventions (base units, _total counters, labels for dimensions). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/prom_write.h"
#include "core/version.h"
#include "live/live.h"

/* Seconds. Finer than OTel's server advice at the low end: a generator on a fast network
 * measures below a millisecond. */
static const double bucket_le[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define BUCKETS (sizeof(bucket_le) / sizeof(bucket_le[0]))

/* h's counts by bucket_le: each histogram bucket counted under the first bound its highest
 * value does not exceed (so a bound's cumulative count is exact to the histogram's own
 * 3 significant digits, and never counts a value above the bound). */
static void histogram(buf_t *out, const char *name, const char *labels, const result_hist_t *h)
{
	uint64_t counts[BUCKETS] = {0};

	for (uint32_t i = 0; i < h->len; i++) {
		double hi =
		    (double)hist_highest_equivalent(hist_value_at_index((int)h->buckets[i].index)) /
		    1e6;
		size_t b = 0;

		while (b < BUCKETS && hi > bucket_le[b])
			b++;
		if (b < BUCKETS)
			counts[b] += h->buckets[i].count;
	}
	prom_histogram(out, name, labels, bucket_le, NULL, BUCKETS, counts, h->total, h->sum / 1e6);
}

/* method="GET",name="/x" escaped into labels (cap bytes). */
static void endpoint_labels(const result_endpoint_t *e, buf_t *labels)
{
	buf_reset(labels);
	buf_append_str(labels, "method=\"");
	prom_label_value(labels, e->method);
	buf_append_str(labels, "\",name=\"");
	prom_label_value(labels, e->name);
	buf_append_str(labels, "\"");
}

static void endpoint_metrics(buf_t *out, const result_t *r, buf_t *labels)
{
	char more[64];

	prom_family(out, "surge_run_requests_total", "counter",
	            "Requests that ended (responses and transport failures), by endpoint.");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		endpoint_labels(&r->endpoints[i], labels);
		prom_sample(out, "surge_run_requests_total", labels->data,
		            (double)result_requests(&r->endpoints[i].counters));
	}
	prom_family(out, "surge_run_errors_total", "counter",
	            "Failed requests: transport failures, statuses of 400 and above, failed "
	            "checks, by endpoint.");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		endpoint_labels(&r->endpoints[i], labels);
		prom_sample(out, "surge_run_errors_total", labels->data,
		            (double)r->endpoints[i].counters.errors);
	}
	prom_family(out, "surge_run_responses_total", "counter",
	            "Responses by endpoint and status code.");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		const gen_counters_t *c = &r->endpoints[i].counters;

		for (int code = 0; code < GEN_STATUS_MAX; code++) {
			if (!c->status[code])
				continue;
			endpoint_labels(&r->endpoints[i], labels);
			snprintf(more, sizeof(more), ",code=\"%d\"", code);
			buf_append_str(labels, more);
			prom_sample(out, "surge_run_responses_total", labels->data,
			            (double)c->status[code]);
		}
	}
	prom_family(out, "surge_run_request_duration_seconds", "histogram",
	            "Latency by endpoint, from each request's intended send time (the open "
	            "model's corrected latency; the send itself in the closed model).");
	for (uint32_t i = 0; i < r->endpoint_count; i++) {
		endpoint_labels(&r->endpoints[i], labels);
		histogram(out, "surge_run_request_duration_seconds", labels->data,
		          &r->endpoints[i].latency);
	}
}

static void tally_metrics(buf_t *out, const result_t *r, buf_t *labels)
{
	prom_family(out, "surge_run_checks_total", "counter", "A scenario's checks, by result.");
	for (uint32_t i = 0; i < r->tally_count; i++) {
		const result_tally_t *t = &r->tallies[i];

		if (t->kind != GEN_TALLY_CHECK)
			continue;
		for (int pass = 1; pass >= 0; pass--) {
			buf_reset(labels);
			buf_append_str(labels, "name=\"");
			prom_label_value(labels, t->name);
			buf_append_str(labels, pass ? "\",result=\"pass\"" : "\",result=\"fail\"");
			prom_sample(out, "surge_run_checks_total", labels->data,
			            (double)(pass ? t->passes : t->fails));
		}
	}
}

/* The last second the run has figures for (its users and load asked), or NULL (none, or
 * the timeline could not be read). The stream's latest seconds are in memory. */
static const result_point_t *last_point(const result_t *r, result_cursor_t *c)
{
	for (size_t i = r->point_count; i-- > 0;) {
		const result_point_t *p = result_point_at(r, i, c);

		if (!p || p->deltas)
			return p;
	}
	return NULL;
}

int live_metrics(const result_t *r, uint64_t process_start_wall_ns, buf_t *out)
{
	result_cursor_t c;
	const result_point_t *p;
	buf_t labels;
	char kind[64];
	int rc;

	result_cursor_init(&c);
	p = last_point(r, &c);
	buf_init(&labels, 4096); /* a name is at most GEN_NAME_MAX bytes, escaped twice that */
	endpoint_metrics(out, r, &labels);
	prom_family(out, "surge_run_transport_errors_total", "counter",
	            "Requests that got no response, by kind (surge help run: error kinds).");
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++) {
		snprintf(kind, sizeof(kind), "kind=\"%s\"",
		         gen_error_kind_name((enum gen_error_kind)i));
		prom_sample(out, "surge_run_transport_errors_total", kind,
		            (double)r->counters.errors_by_kind[i]);
	}
	prom_family(out, "surge_run_service_duration_seconds", "histogram",
	            "Latency from each request's actual send (the service time).");
	histogram(out, "surge_run_service_duration_seconds", "", &r->service);
	prom_metric(out, "surge_run_late_total", "counter",
	            "Open model: arrivals that waited for a free connection.",
	            (double)r->counters.late);
	prom_metric(out, "surge_run_dropped_total", "counter",
	            "Open model: arrivals dropped because the queue was full.",
	            (double)r->counters.dropped);
	prom_metric(out, "surge_run_unfinished_total", "counter",
	            "Requests out or arrivals queued when the run stopped: abandoned.",
	            (double)r->counters.unfinished);
	prom_metric(out, "surge_run_received_bytes_total", "counter", "Response bytes read.",
	            (double)r->counters.bytes_in);
	prom_metric(out, "surge_run_sent_bytes_total", "counter", "Request bytes written.",
	            (double)r->counters.bytes_out);
	prom_metric(out, "surge_run_script_errors_total", "counter",
	            "Scenario iterations ended by a script error.",
	            (double)r->counters.script_errors);
	tally_metrics(out, r, &labels);
	prom_metric(out, "surge_run_users", "gauge",
	            "Connections (users) open at the end of the last second measured.",
	            p ? (double)p->users : 0);
	prom_metric(out, "surge_run_target", "gauge",
	            "The load asked in the last second measured: users (closed model) or "
	            "arrivals per second (open model).",
	            p ? p->target : 0);
	prom_metric(out, "surge_run_duration_seconds", "gauge", "How long the run has measured.",
	            r->duration_s);
	prom_metric(out, "surge_generator_busiest_thread_cpu_ratio", "gauge",
	            "The self-check: the busiest generator thread's CPU share in the last second "
	            "measured (near 1: the generator, not the target, is the bound).",
	            p ? p->busiest_cpu : 0);
	prom_family(out, "surge_generator_schedule_lag_seconds", "histogram",
	            "Open model: how late the pacer sent each arrival.");
	histogram(out, "surge_generator_schedule_lag_seconds", "", &r->generator.sched_lag);
	prom_metric(out, "surge_live_deltas_lost_total", "counter",
	            "Per-second figures not kept for lack of memory (0 in any sane run).",
	            (double)r->dropped.deltas_lost);
	prom_process_metrics(out, process_start_wall_ns);
	prom_family(out, "surge_build_info", "gauge", "Build information.");
	buf_append_str(out, "surge_build_info{version=\"");
	prom_label_value(out, surge_version);
	buf_append_str(out, "\"} 1\n");
	rc = buf_error(&labels) ? buf_error(&labels) : buf_error(out);
	buf_free(&labels);
	result_cursor_free(&c);
	return rc;
}
