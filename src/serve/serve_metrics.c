/* serve_metrics: per-worker request series (route × method × status, with duration buckets)
 * written by their worker without locks, summed across workers at scrape time into the
 * Prometheus text format — OTel's http_server_request_duration_seconds, the podinfo/Flagger
 * http_requests_total and http_request_duration_seconds, connections, process and cgroup. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/version.h"
#include "core/clock.h"
#include "core/loop.h"
#include "core/prom_write.h"
#include "serve/serve_internal.h"

/* OTel's advice for http.server.request.duration, in seconds; the last bucket is +Inf. */
static const double bucket_le[SERVE_BUCKETS - 1] = {0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
                                                    0.5,   0.75, 1,     2.5,  5,     7.5, 10};
/* Prometheus's default buckets are a subset: the podinfo-style histogram reuses the counts. */
static const bool legacy_bucket[SERVE_BUCKETS - 1] = {1, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1};
static const char *const version_names[SERVE_VERSIONS] = {"1.0", "1.1", "2"};
static const char *const method_names[SERVE_METHODS] = {"GET",    "HEAD",  "POST",    "PUT",
                                                        "DELETE", "PATCH", "OPTIONS", "_OTHER"};

static int method_index(http_slice_t m)
{
	for (int i = 0; i < SERVE_METHODS - 1; i++)
		if (strlen(method_names[i]) == m.len && memcmp(method_names[i], m.p, m.len) == 0)
			return i;
	return SERVE_METHODS - 1;
}

void serve_metrics_record(serve_worker_t *w, const serve_request_t *r, uint64_t dur_ns)
{
	uint16_t route = r->route ? (uint16_t)r->route_index : 0xffff;
	uint8_t method = (uint8_t)method_index(r->head.method);
	uint8_t version = r->protocol == SERVE_HTTP2   ? SERVE_VERSION_2
	                  : r->head.minor_version == 0 ? SERVE_VERSION_1_0
	                                               : SERVE_VERSION_1_1;
	uint16_t status = (uint16_t)r->status;
	uint32_t h = (((uint32_t)route * 31 + method) * 1009 + status) * 3 + version;

	for (int probe = 0; probe < SERVE_SERIES_MAX; probe++) {
		serve_series_t *x = &w->stats.series[(h + (uint32_t)probe) % SERVE_SERIES_MAX];

		if (!atomic_load_explicit(&x->used, memory_order_relaxed)) {
			x->route = route;
			x->method = method;
			x->version = version;
			x->status = status;
			atomic_store_explicit(&x->used, true, memory_order_release);
		} else if (x->route != route || x->method != method || x->status != status ||
		           x->version != version) {
			continue;
		}
		serve_duration_record(&x->count, &x->sum_ns, x->buckets, dur_ns);
		return;
	}
	stat_add(&w->stats.series_overflow, 1);
}

void serve_duration_record(stat_t *count, stat_t *sum_ns, stat_t *buckets, uint64_t ns)
{
	double s = ns / 1e9;
	int b = 0;

	while (b < SERVE_BUCKETS - 1 && s > bucket_le[b])
		b++;
	stat_add(count, 1);
	stat_add(sum_ns, ns);
	stat_add(&buckets[b], 1);
}

void serve_duration_render(buf_t *out, const char *name, const char *labels,
                           const uint64_t *buckets, uint64_t count, uint64_t sum_ns, bool legacy)
{
	prom_histogram(out, name, labels, bucket_le, legacy ? legacy_bucket : NULL,
	               SERVE_BUCKETS - 1, buckets, count, sum_ns / 1e9);
}

/* ---- scrape ---- */

typedef struct merged {
	uint16_t route, status;
	uint8_t method;
	uint8_t version; /* SERVE_VERSIONS: summed over versions */
	uint64_t count, sum_ns, buckets[SERVE_BUCKETS];
} merged_t;

/* The series of every worker summed by route, method, status and (by_version) the protocol
 * version: OTel's histogram has network_protocol_version, the podinfo form has not. */
static size_t merge_series(merged_t *out, size_t cap, bool by_version)
{
	size_t n = 0;

	for (uint32_t wi = 0; wi < serve_state.worker_count; wi++) {
		serve_series_t *all = serve_state.workers[wi].stats.series;

		for (int i = 0; i < SERVE_SERIES_MAX; i++) {
			serve_series_t *x = &all[i];
			uint8_t version;
			size_t j;

			if (!atomic_load_explicit(&x->used, memory_order_acquire))
				continue;
			version = by_version ? x->version : SERVE_VERSIONS;
			for (j = 0; j < n; j++)
				if (out[j].route == x->route && out[j].method == x->method &&
				    out[j].status == x->status && out[j].version == version)
					break;
			if (j == n) {
				if (n == cap)
					continue;
				memset(&out[n], 0, sizeof(out[n]));
				out[n].route = x->route;
				out[n].method = x->method;
				out[n].status = x->status;
				out[n].version = version;
				n++;
			}
			out[j].count += stat_get(&x->count);
			out[j].sum_ns += stat_get(&x->sum_ns);
			for (int b = 0; b < SERVE_BUCKETS; b++)
				out[j].buckets[b] += stat_get(&x->buckets[b]);
		}
	}
	return n;
}

static const char *route_label(uint16_t route)
{
	const serve_route_t *r = serve_route_at(route);

	return r ? r->name : "unmatched";
}

static void histogram(buf_t *out, const char *name, const char *labels_fmt, const merged_t *m,
                      size_t n, bool legacy)
{
	for (size_t i = 0; i < n; i++) {
		char labels[256];

		/* the version's label comes last in the format; the podinfo form has none */
		snprintf(labels, sizeof(labels), labels_fmt, route_label(m[i].route),
		         method_names[m[i].method], m[i].status,
		         m[i].version < SERVE_VERSIONS ? version_names[m[i].version] : "");
		serve_duration_render(out, name, labels, m[i].buckets, m[i].count, m[i].sum_ns,
		                      legacy);
	}
}

static void request_metrics(buf_t *out)
{
	size_t cap = serve_state.worker_count * (size_t)SERVE_SERIES_MAX;
	merged_t *m = calloc(cap ? cap : 1, sizeof(*m));
	size_t n;

	if (!m)
		return;
	n = merge_series(m, cap, true);
	prom_family(out, "http_server_request_duration_seconds", "histogram",
	            "Duration of HTTP server requests.");
	histogram(out, "http_server_request_duration_seconds",
	          "http_route=\"%s\",http_request_method=\"%s\",http_response_status_code=\"%u\","
	          "network_protocol_version=\"%s\"",
	          m, n, false);
	n = merge_series(m, cap, false);
	prom_family(out, "http_request_duration_seconds", "histogram",
	            "Duration of HTTP requests (podinfo/Flagger form).");
	histogram(out, "http_request_duration_seconds", "path=\"%s\",method=\"%s\",status=\"%u\"",
	          m, n, true);
	prom_family(out, "http_requests_total", "counter",
	            "Requests served (podinfo/Flagger form).");
	for (size_t i = 0; i < n; i++)
		buf_printf(out,
		           "http_requests_total{path=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
		           route_label(m[i].route), method_names[m[i].method], m[i].status,
		           (unsigned long long)m[i].count);
	free(m);
}

static uint64_t sum_workers(size_t offset)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < serve_state.worker_count; i++)
		total += stat_get((stat_t *)((char *)&serve_state.workers[i].stats + offset));
	return total;
}

#define SUM(field) sum_workers(offsetof(serve_worker_stats_t, field))

static void connection_metrics(buf_t *out)
{
	static const char *const states[CONN_GAUGES] = {"reading", "active", "idle"};
	static const char *const h2_starts[3] = {"prior_knowledge", "upgrade", "alpn"};

	prom_metric(out, "http_server_active_requests", "gauge", "Requests being handled.",
	            (double)(int64_t)SUM(in_flight));
	prom_family(out, "surge_connections", "gauge", "Open client connections by state.");
	for (int s = 0; s < CONN_GAUGES; s++)
		buf_printf(out, "surge_connections{state=\"%s\"} %lld\n", states[s],
		           (long long)sum_workers(offsetof(serve_worker_stats_t, conns) +
		                                  (size_t)s * sizeof(stat_t)));
	prom_metric(out, "surge_connections_accepted_total", "counter", "Connections accepted.",
	            (double)SUM(accepted));
	prom_metric(out, "surge_connections_rejected_total", "counter",
	            "Connections closed at once because --max-connections were open.",
	            (double)SUM(rejected));
	prom_metric(out, "surge_bad_requests_total", "counter",
	            "Requests refused by the parser or a limit (400, 408, 413, 414, 431, ...).",
	            (double)SUM(bad_requests));
	prom_metric(out, "surge_timeouts_total", "counter", "Header, body or idle timeouts.",
	            (double)SUM(timeouts));
	prom_metric(out, "surge_received_bytes_total", "counter", "Request bytes read.",
	            (double)SUM(bytes_in));
	prom_metric(out, "surge_sent_bytes_total", "counter", "Response bytes written.",
	            (double)SUM(bytes_out));
	prom_metric(out, "surge_caps_hit_total", "counter",
	            "Requests that asked for more than a cap allows (delay, size, cpu, memory).",
	            (double)SUM(caps_hit));
	prom_family(out, "surge_http2_connections_total", "counter",
	            "Connections that spoke HTTP/2, by how they began: prior_knowledge (h2c), "
	            "upgrade (Upgrade: h2c) or alpn (TLS).");
	for (int i = 0; i < 3; i++)
		buf_printf(
		    out, "surge_http2_connections_total{start=\"%s\"} %llu\n", h2_starts[i],
		    (unsigned long long)sum_workers(offsetof(serve_worker_stats_t, h2_connections) +
		                                    (size_t)i * sizeof(stat_t)));
	prom_metric(out, "surge_http2_streams_total", "counter",
	            "HTTP/2 streams begun (each one request).", (double)SUM(h2_streams));
	prom_metric(out, "surge_http2_resets_received_total", "counter",
	            "RST_STREAM frames received: streams the clients cancelled.",
	            (double)SUM(h2_resets_received));
	prom_metric(
	    out, "surge_http2_resets_sent_total", "counter",
	    "RST_STREAM frames sent: streams refused (over SETTINGS_MAX_CONCURRENT_STREAMS), "
	    "faults, stalls, ended uploads.",
	    (double)SUM(h2_resets_sent));
	prom_metric(out, "surge_http2_goaways_sent_total", "counter",
	            "GOAWAY frames sent: drains, idle timeouts, protocol errors.",
	            (double)SUM(h2_goaways_sent));
	prom_metric(out, "surge_tls_handshakes_total", "counter",
	            "TLS handshakes completed (--tls-cert).", (double)SUM(tls_handshakes));
	prom_metric(out, "surge_tls_handshake_failures_total", "counter",
	            "TLS handshakes that failed or did not finish within --header-timeout.",
	            (double)SUM(tls_failures));
	prom_metric(out, "surge_metrics_series_overflow_total", "counter",
	            "Requests not counted by route because the series table was full.",
	            (double)SUM(series_overflow));
}

static void metric_if(buf_t *out, const char *name, const char *type, const char *help, double v)
{
	if (!isnan(v))
		prom_metric(out, name, type, help, v);
}

/* The workers' event loops: their turns and the bounds their I/O met (io_uring's submission
 * queue full, completions the kernel held back, a loop left on epoll because its ring could
 * not be set up, a receive that found no buffer free) and their connections' streams' bounds
 * (serve_conn_stream.c). The counts are each loop's own, read as they are (relaxed). */
static void io_metrics(buf_t *out)
{
	static const char *const stream_bounds[] = {"send_queue", "input_paused", "input_overflow"};
	loop_io_stats_t sum = {0}, s;
	uint64_t streams[3] = {0};

	for (uint32_t i = 0; i < serve_state.worker_count; i++) {
		serve_worker_stats_t *ws = &serve_state.workers[i].stats;

		streams[0] += stat_get(&ws->stream_queue_full);
		streams[1] += stat_get(&ws->stream_input_paused);
		streams[2] += stat_get(&ws->stream_input_overflow);
		if (!serve_state.workers[i].loop)
			continue;
		loop_io_stats(serve_state.workers[i].loop, &s);
		sum.turns += s.turns;
		sum.sq_full_submits += s.sq_full_submits;
		sum.recv_no_buffer += s.recv_no_buffer;
		sum.cq_overflow += s.cq_overflow;
		sum.fallback_loops += s.fallback_loops;
		sum.receive_buffer_bytes += s.receive_buffer_bytes;
	}
	prom_metric(out, "surge_io_loop_turns_total", "counter",
	            "Waits for events of the workers' loops (each a system call).",
	            (double)sum.turns);
	prom_metric(out, "surge_io_receive_buffer_bytes", "gauge",
	            "The workers' io_uring receive buffers (a loop's, mapped with its first "
	            "connection; 0 on epoll): fixed memory, reused, all of it touched once a "
	            "connection has brought that much.",
	            (double)sum.receive_buffer_bytes);
	prom_family(
	    out, "surge_io_bound_hits_total", "counter",
	    "Bounds the workers' I/O met: sq_full (a turn's requests filled io_uring's submission "
	    "queue), cq_overflow (completions the kernel held back, none lost), epoll_fallback "
	    "(workers whose io_uring ring could not be set up), recv_no_buffer (a connection's "
	    "receive found none of its loop's buffers free, and waited a turn), send_queue (a "
	    "request waited for the responses queued before it to be sent), input_paused (a "
	    "connection's input reached its bound and was left in the socket), input_overflow "
	    "(connections closed: input past the bound kept coming).");
	buf_printf(out, "surge_io_bound_hits_total{bound=\"sq_full\"} %llu\n",
	           (unsigned long long)sum.sq_full_submits);
	buf_printf(out, "surge_io_bound_hits_total{bound=\"cq_overflow\"} %llu\n",
	           (unsigned long long)sum.cq_overflow);
	buf_printf(out, "surge_io_bound_hits_total{bound=\"epoll_fallback\"} %llu\n",
	           (unsigned long long)sum.fallback_loops);
	buf_printf(out, "surge_io_bound_hits_total{bound=\"recv_no_buffer\"} %llu\n",
	           (unsigned long long)sum.recv_no_buffer);
	for (int i = 0; i < 3; i++)
		buf_printf(out, "surge_io_bound_hits_total{bound=\"%s\"} %llu\n", stream_bounds[i],
		           (unsigned long long)streams[i]);
}

/* The process's own cgroup (found at start-up): what it may use and what it used. Counters
 * are there whenever the kernel keeps them (0 until something happens), limits only when
 * there is one. */
static void cgroup_metrics(buf_t *out)
{
	const cgroup_place_t *p = &serve_state.cgroup;
	cgroup_stats_t s;

	if (!p->cpu_version && !p->memory_version)
		return;
	cgroup_read(p, &s);
	prom_family(out, "surge_cgroup_info", "gauge",
	            "The cgroup this process reads its limits from.");
	buf_printf(out, "surge_cgroup_info{cpu_version=\"%d\",memory_version=\"%d\",cpu_cgroup=\"",
	           p->cpu_version, p->memory_version);
	prom_label_value(out, p->cpu_path);
	buf_append_str(out, "\",memory_cgroup=\"");
	prom_label_value(out, p->memory_path);
	buf_append_str(out, "\"} 1\n");
	metric_if(out, "surge_cgroup_cpu_limit_cores", "gauge",
	          "CPU limit of the process's cgroup (CFS quota / period), in cores.",
	          s.cpu_limit_cores);
	metric_if(out, "surge_cgroup_cpu_usage_seconds_total", "counter",
	          "CPU time used by every process in the cgroup.", s.cpu_usage_s);
	metric_if(out, "surge_cgroup_cpu_periods_total", "counter",
	          "CFS enforcement periods (100 ms) in which the cgroup ran.", s.cpu_periods);
	metric_if(out, "surge_cgroup_cpu_throttled_periods_total", "counter",
	          "Periods in which the cgroup used up its quota and was throttled.",
	          s.cpu_throttled_periods);
	metric_if(out, "surge_cgroup_cpu_throttled_seconds_total", "counter",
	          "Time the cgroup's threads were held back by the CPU limit.", s.cpu_throttled_s);
	metric_if(out, "surge_cgroup_memory_limit_bytes", "gauge",
	          "Memory limit of the process's cgroup.", s.memory_limit_bytes);
	metric_if(out, "surge_cgroup_memory_usage_bytes", "gauge",
	          "Memory charged to the cgroup (page cache included).", s.memory_usage_bytes);
	metric_if(out, "surge_cgroup_memory_working_set_bytes", "gauge",
	          "Usage minus inactive file pages: what the OOM killer weighs (as cAdvisor's "
	          "container_memory_working_set_bytes).",
	          s.memory_working_set_bytes);
	metric_if(out, "surge_cgroup_memory_oom_events_total", "counter",
	          "Times the cgroup hit its limit with nothing left to reclaim (cgroup v2).",
	          s.memory_oom_events);
	metric_if(out, "surge_cgroup_memory_oom_kills_total", "counter",
	          "Processes of the cgroup the OOM killer killed.", s.memory_oom_kills);
}

int serve_metrics_render(buf_t *out)
{
	request_metrics(out);
	connection_metrics(out);
	serve_family_metrics(out);
	prom_process_metrics(out, serve_state.start_wall_ns);
	cgroup_metrics(out);
	prom_metric(
	    out, "surge_workers", "gauge",
	    "Worker threads (--workers), one event loop each: the most cores requests can use.",
	    (double)serve_state.worker_count);
	io_metrics(out);
	prom_family(out, "surge_io_backend_info", "gauge",
	            "The workers' event-loop I/O backend: io_uring, or epoll (--io, $SURGE_IO).");
	buf_append_str(out, "surge_io_backend_info{backend=\"");
	prom_label_value(out, loop_io_backend());
	buf_append_str(out, "\"} 1\n");
	prom_family(out, "surge_build_info", "gauge", "Build information.");
	buf_append_str(out, "surge_build_info{version=\"");
	prom_label_value(out, surge_version);
	buf_append_str(out, "\"} 1\n");
	prom_family(out, "surge_instance_info", "gauge",
	            "Which instance this is: its X-Served-By name and, in Kubernetes, its pod's "
	            "namespace and node.");
	buf_append_str(out, "surge_instance_info{instance_name=\"");
	prom_label_value(out, serve_state.instance);
	buf_append_str(out, "\",pod_namespace=\"");
	prom_label_value(out, serve_state.pod_namespace);
	buf_append_str(out, "\",node_name=\"");
	prom_label_value(out, serve_state.node_name);
	buf_append_str(out, "\"} 1\n");
	return 0;
}
