/* serve_chaos: failure on demand — any status code, a global error rate, added latency, the
 * sick-replica mode (every route 500 except probes, metrics and admin), connection faults
 * (reset, close, hang) per request or at a rate, and a crash when allowed. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/prom_write.h"
#include "serve/serve_internal.h"

#define PPM 1000000.0

/* The settings every worker reads per request: atomics, no lock on the hot path. */
static struct {
	_Atomic uint32_t error_ppm;
	_Atomic uint32_t error_status;
	_Atomic uint64_t latency_ns;
	_Atomic bool sick;
	_Atomic uint32_t reset_ppm, close_ppm, hang_ppm;
	stat_t injected[5]; /* errors, sick, reset, close, hang */
} chaos = {.error_status = 500};

enum { INJ_ERROR, INJ_SICK, INJ_RESET, INJ_CLOSE, INJ_HANG };
static const char *const injected_names[] = {"error", "sick", "reset", "close", "hang"};

static bool chance(serve_request_t *r, uint32_t ppm)
{
	return ppm && serve_random(r->worker) % 1000000 < ppm;
}

static void inject(int kind)
{
	/* many writers (every worker): this counter takes the locked add */
	atomic_fetch_add_explicit(&chaos.injected[kind], 1, memory_order_relaxed);
}

/* ?fault=reset|close|hang on any request; 1 when set, -1 after a 400. */
static int fault_param(serve_request_t *r)
{
	char v[16];
	int rc = serve_param_string(r, "fault", v, sizeof(v));

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (!serve_state.cfg->chaos) {
		serve_reply_error(r, 403, "parameter 'fault': chaos is disabled (--no-chaos)");
		return -1;
	}
	if (strcmp(v, "reset") == 0)
		r->fault = FAULT_RESET;
	else if (strcmp(v, "close") == 0)
		r->fault = FAULT_CLOSE;
	else if (strcmp(v, "hang") == 0)
		r->fault = FAULT_HANG;
	else {
		serve_reply_error(r, 400, "parameter 'fault': expected reset, close or hang");
		return -1;
	}
	inject(r->fault == FAULT_RESET   ? INJ_RESET
	       : r->fault == FAULT_CLOSE ? INJ_CLOSE
	                                 : INJ_HANG);
	return 1;
}

bool serve_chaos_intercept(serve_request_t *r)
{
	uint64_t latency;
	int rc;

	if (r->route->flags & ROUTE_ADMIN)
		return false; /* the switches must keep working in the worst chaos */
	rc = fault_param(r);
	if (rc)
		return true;
	if (atomic_load_explicit(&chaos.sick, memory_order_relaxed)) {
		inject(INJ_SICK);
		serve_reply_error(r, 500, "sick replica (chaos): every route fails but probes");
		return true;
	}
	if (chance(r, atomic_load_explicit(&chaos.reset_ppm, memory_order_relaxed))) {
		inject(INJ_RESET);
		r->fault = FAULT_RESET;
		return true;
	}
	if (chance(r, atomic_load_explicit(&chaos.close_ppm, memory_order_relaxed))) {
		inject(INJ_CLOSE);
		r->fault = FAULT_CLOSE;
		return true;
	}
	if (chance(r, atomic_load_explicit(&chaos.hang_ppm, memory_order_relaxed))) {
		inject(INJ_HANG);
		r->fault = FAULT_HANG;
		return true;
	}
	if (chance(r, atomic_load_explicit(&chaos.error_ppm, memory_order_relaxed))) {
		inject(INJ_ERROR);
		serve_reply_error(r, (int)atomic_load(&chaos.error_status),
		                  "injected error (chaos)");
		return true;
	}
	latency = atomic_load_explicit(&chaos.latency_ns, memory_order_relaxed);
	if (latency) {
		r->delay_ns += latency;
		serve_timing(r, "chaos", latency / 1e6);
	}
	return false;
}

static void status_code(serve_request_t *r)
{
	char code[8];
	json_writer_t w;
	int n = 0;

	if (r->path_tail.len < 1 || r->path_tail.len > 3)
		goto bad;
	memcpy(code, r->path_tail.p, r->path_tail.len);
	code[r->path_tail.len] = '\0';
	for (size_t i = 0; i < r->path_tail.len; i++) {
		if (code[i] < '0' || code[i] > '9')
			goto bad;
		n = n * 10 + code[i] - '0';
	}
	if (n < 200 || n > 599)
		goto bad; /* 1xx are interim: a final answer cannot be one */
	serve_reply_json(r, n, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "status");
	jsonw_int(&w, n);
	jsonw_object_end(&w);
	return;
bad:
	serve_reply_error(r, 400, "path: /api/status/{code} needs a final status code, 200 to 599");
}

static void reply_settings(serve_request_t *r, int status)
{
	json_writer_t w;

	serve_reply_json(r, status, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "error_rate");
	jsonw_double(&w, atomic_load(&chaos.error_ppm) / PPM, 6);
	jsonw_key(&w, "error_status");
	jsonw_uint(&w, atomic_load(&chaos.error_status));
	jsonw_key(&w, "latency_ms");
	jsonw_double(&w, atomic_load(&chaos.latency_ns) / 1e6, 3);
	jsonw_key(&w, "sick");
	jsonw_bool(&w, atomic_load(&chaos.sick));
	jsonw_key(&w, "reset_rate");
	jsonw_double(&w, atomic_load(&chaos.reset_ppm) / PPM, 6);
	jsonw_key(&w, "close_rate");
	jsonw_double(&w, atomic_load(&chaos.close_ppm) / PPM, 6);
	jsonw_key(&w, "hang_rate");
	jsonw_double(&w, atomic_load(&chaos.hang_ppm) / PPM, 6);
	jsonw_object_end(&w);
}

/* A rate in 0..1 from the JSON body; -1 after a 400 naming the field. */
static int rate_field(serve_request_t *r, json_t *doc, const char *name, _Atomic uint32_t *out)
{
	json_t *v = json_object_get(doc, name);
	double d;

	if (!v)
		return 0;
	d = json_number_value(v);
	if (!json_is_number(v) || !(d >= 0 && d <= 1)) {
		serve_reply_error(r, 400, "field '%s': expected a number from 0 to 1", name);
		return -1;
	}
	atomic_store(out, (uint32_t)llround(d * PPM));
	return 0;
}

static const char *const known_fields[] = {"error_rate", "error_status", "latency_ms", "sick",
                                           "reset_rate", "close_rate",   "hang_rate",  NULL};

static int check_fields(serve_request_t *r, json_t *doc)
{
	const char *key;
	json_t *v;

	json_object_foreach(doc, key, v)
	{
		int known = 0;
		for (int i = 0; known_fields[i]; i++)
			known |= strcmp(key, known_fields[i]) == 0;
		if (!known) {
			serve_reply_error(r, 400,
			                  "unknown field '%s' (known: error_rate, error_status, "
			                  "latency_ms, sick, reset_rate, close_rate, hang_rate)",
			                  key);
			return -1;
		}
	}
	return 0;
}

static int apply_settings(serve_request_t *r, json_t *doc)
{
	json_t *status = json_object_get(doc, "error_status");
	json_t *latency = json_object_get(doc, "latency_ms");
	json_t *sick = json_object_get(doc, "sick");

	if (check_fields(r, doc) < 0)
		return -1;
	if (status && (!json_is_integer(status) || json_integer_value(status) < 200 ||
	               json_integer_value(status) > 599)) {
		serve_reply_error(r, 400, "field 'error_status': expected a status code 200-599");
		return -1;
	}
	if (latency && (!json_is_number(latency) || !(json_number_value(latency) >= 0) ||
	                json_number_value(latency) * 1e6 > (double)serve_state.cfg->max_delay_ns)) {
		serve_reply_error(r, 400, "field 'latency_ms': expected 0 up to the delay cap");
		return -1;
	}
	if (sick && !json_is_boolean(sick)) {
		serve_reply_error(r, 400, "field 'sick': expected true or false");
		return -1;
	}
	if (rate_field(r, doc, "error_rate", &chaos.error_ppm) < 0 ||
	    rate_field(r, doc, "reset_rate", &chaos.reset_ppm) < 0 ||
	    rate_field(r, doc, "close_rate", &chaos.close_ppm) < 0 ||
	    rate_field(r, doc, "hang_rate", &chaos.hang_ppm) < 0)
		return -1;
	if (status)
		atomic_store(&chaos.error_status, (uint32_t)json_integer_value(status));
	if (latency)
		atomic_store(&chaos.latency_ns, (uint64_t)(json_number_value(latency) * 1e6));
	if (sick)
		atomic_store(&chaos.sick, json_is_true(sick));
	return 0;
}

static void chaos_post(serve_request_t *r)
{
	json_t *doc = serve_body_json(r, SERVE_JSON_OBJECT);

	if (!doc)
		return;
	if (apply_settings(r, doc) == 0) {
		serve_log_event(SERVE_LOG_WARN, "chaos", "settings changed: %.*s", (int)r->body_len,
		                r->body);
		reply_settings(r, 200);
	}
	json_decref(doc);
}

static void chaos_get(serve_request_t *r)
{
	reply_settings(r, 200);
}

static void chaos_delete(serve_request_t *r)
{
	atomic_store(&chaos.error_ppm, 0);
	atomic_store(&chaos.error_status, 500);
	atomic_store(&chaos.latency_ns, 0);
	atomic_store(&chaos.sick, false);
	atomic_store(&chaos.reset_ppm, 0);
	atomic_store(&chaos.close_ppm, 0);
	atomic_store(&chaos.hang_ppm, 0);
	reply_settings(r, 200);
}

static void crash(serve_request_t *r)
{
	if (!serve_state.cfg->allow_crash) {
		serve_reply_error(r, 403, "crashing is disabled (start with --allow-crash)");
		return;
	}
	serve_reply_text(r, 202, "application/json", "{\"crashing\":true}", 17);
	r->close_after = true;
	r->fault = FAULT_EXIT;
}

void serve_chaos_metrics(buf_t *out)
{
	prom_metric(out, "surge_chaos_error_rate", "gauge", "Injected error rate (0..1).",
	            atomic_load(&chaos.error_ppm) / PPM);
	prom_metric(out, "surge_chaos_latency_seconds", "gauge", "Latency added to every request.",
	            atomic_load(&chaos.latency_ns) / 1e9);
	prom_metric(out, "surge_chaos_sick", "gauge", "1 while the sick-replica mode is on.",
	            atomic_load(&chaos.sick) ? 1 : 0);
	prom_family(out, "surge_chaos_injected_total", "counter", "Faults injected, by kind.");
	for (int i = 0; i < 5; i++) {
		char l[64];

		snprintf(l, sizeof(l), "kind=\"%s\"", injected_names[i]);
		prom_sample(out, "surge_chaos_injected_total", l,
		            (double)stat_get(&chaos.injected[i]));
	}
}

const serve_route_t serve_chaos_routes[] = {
    {"GET", "/api/status/", "/api/status/{code}", status_code, ROUTE_PREFIX,
     "answer with the given status code", NULL},
    {"POST", "/admin/chaos", "/admin/chaos", chaos_post, ROUTE_ADMIN | ROUTE_DANGEROUS,
     "set chaos: error_rate, error_status, latency_ms, sick, reset/close/hang_rate (JSON body)",
     NULL},
    {"GET", "/admin/chaos", "/admin/chaos", chaos_get, ROUTE_ADMIN, "chaos settings now", NULL},
    {"DELETE", "/admin/chaos", "/admin/chaos", chaos_delete, ROUTE_ADMIN, "turn all chaos off",
     NULL},
    {"POST", "/admin/crash", "/admin/crash", crash, ROUTE_ADMIN | ROUTE_DANGEROUS,
     "exit the process (only with --allow-crash)", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
