/* serve_info: service information, liveness and readiness probes (with the seeds' names and
 * the Kubernetes ones), the readiness switch, and /metrics. */
#include <string.h>

#include "core/loop.h"
#include "core/version.h"
#include "core/clock.h"
#include "core/units.h"
#include "serve/serve_internal.h"

static void info(serve_request_t *r)
{
	json_writer_t w;
	char started[40];

	clock_format_rfc3339(serve_state.start_wall_ns, started, sizeof(started));
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "service");
	jsonw_string(&w, "surge");
	jsonw_key(&w, "version");
	jsonw_string(&w, surge_version);
	jsonw_key(&w, "started_at");
	jsonw_string(&w, started);
	jsonw_key(&w, "uptime_s");
	jsonw_double(&w, (clock_wall_ns() - serve_state.start_wall_ns) / 1e9, 3);
	jsonw_key(&w, "workers");
	jsonw_uint(&w, serve_state.worker_count);
	jsonw_key(&w, "io");
	jsonw_string(&w, loop_io_backend());
	jsonw_key(&w, "io_fallback");
	if (*loop_io_fallback())
		jsonw_string(&w, loop_io_fallback());
	else
		jsonw_null(&w);
	jsonw_key(&w, "chaos");
	jsonw_bool(&w, serve_state.cfg->chaos);
	jsonw_key(&w, "endpoints");
	jsonw_array_begin(&w);
	for (int i = 0; i < serve_route_count(); i++) {
		const serve_route_t *route = serve_route_at(i);

		jsonw_object_begin(&w);
		jsonw_key(&w, "method");
		jsonw_string(&w, route->method ? route->method : "ANY");
		jsonw_key(&w, "path");
		jsonw_string(&w, route->name);
		jsonw_key(&w, "summary");
		jsonw_string(&w, route->summary);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
}

static void health(serve_request_t *r)
{
	json_writer_t w;

	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "status");
	jsonw_string(&w, "ok");
	jsonw_object_end(&w);
}

static void ready(serve_request_t *r)
{
	bool ok = atomic_load(&serve_state.ready);
	json_writer_t w;

	serve_reply_json(r, ok ? 200 : 503, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "status");
	jsonw_string(&w, ok                                   ? "ready"
	                 : atomic_load(&serve_state.draining) ? "draining"
	                                                      : "not ready");
	jsonw_object_end(&w);
}

static void admin_ready(serve_request_t *r)
{
	char state[64], err[300];
	int rc = serve_param_string(r, "state", state, sizeof(state));
	bool on;

	if (rc < 0)
		return;
	if (rc == 1) {
		serve_reply_error(r, 400, "parameter 'state': missing (on or off)");
		return;
	}
	if (units_parse_bool(state, &on, err, sizeof(err)) < 0) {
		serve_reply_error(r, 400, "parameter 'state': %s", err);
		return;
	}
	if (atomic_load(&serve_state.draining)) {
		serve_reply_error(r, 409, "draining: readiness stays off");
		return;
	}
	atomic_store(&serve_state.ready, on);
	ready(r);
}

static void metrics(serve_request_t *r)
{
	r->status = 200;
	r->replied = true;
	r->content_type = "text/plain; version=0.0.4; charset=utf-8";
	buf_reset(&r->body_out);
	serve_metrics_render(&r->body_out);
}

static const serve_param_doc_t ready_params[] = {
    {"state", "string", NULL,
     "on: answer /ready with 200; off: with 503 (any boolean: true/false, 1/0, yes/no)"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_info_routes[] = {
    {"GET", "/health", "/health", health, ROUTE_PROBE, "liveness: 200 while the process runs",
     NULL},
    {"GET", "/healthz", "/healthz", health, ROUTE_PROBE, "liveness (Kubernetes name)", NULL},
    {"GET", "/livez", "/livez", health, ROUTE_PROBE, "liveness (Kubernetes name)", NULL},
    {"GET", "/ready", "/ready", ready, ROUTE_PROBE,
     "readiness: 503 while starting, draining or switched off", NULL},
    {"GET", "/readyz", "/readyz", ready, ROUTE_PROBE, "readiness (Kubernetes name)", NULL},
    {"GET", "/metrics", "/metrics", metrics, ROUTE_PROBE, "Prometheus metrics", NULL},
    {"GET", "/", "/", info, 0, "service information and the list of endpoints", NULL},
    {"POST", "/admin/ready", "/admin/ready", admin_ready, ROUTE_ADMIN, "switch readiness on or off",
     ready_params},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
