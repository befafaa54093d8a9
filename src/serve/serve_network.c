/* serve_network: bytes on the wire — a response of any size, a response dripped slowly over
 * a duration (a slow network or a slow producer), and an upload sink that counts and drops. */
#include "core/clock.h"
#include "core/units.h"
#include "serve/serve_internal.h"

static int size_param(serve_request_t *r, uint64_t *out)
{
	char v[64], err[160];
	int rc = serve_param_string(r, "size", v, sizeof(v));

	*out = 1024;
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (units_parse_size(v, out, err, sizeof(err)) < 0) {
		serve_reply_error(r, 400, "parameter 'size': %s", err);
		return -1;
	}
	if (*out > serve_state.cfg->max_size_bytes) {
		*out = serve_state.cfg->max_size_bytes;
		serve_capped(r, "size");
	}
	return 0;
}

static void bytes(serve_request_t *r)
{
	uint64_t size;

	if (size_param(r, &size) < 0)
		return;
	serve_reply_text(r, 200, "application/octet-stream", "", 0);
	r->fill_bytes = size;
}

static void drip(serve_request_t *r)
{
	uint64_t size, duration;

	if (size_param(r, &size) < 0 ||
	    serve_param_seconds(r, "duration", 2 * NS_PER_S, serve_state.cfg->max_delay_ns,
	                        &duration) < 0)
		return;
	serve_reply_text(r, 200, "application/octet-stream", "", 0);
	r->fill_bytes = size;
	r->drip_ns = duration;
	serve_timing(r, "drip", duration / 1e6);
}

static void upload(serve_request_t *r)
{
	json_writer_t w;
	double secs = (clock_now_ns() - r->start_ns) / 1e9;

	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "received_bytes");
	jsonw_uint(&w, r->body_len);
	jsonw_key(&w, "seconds");
	jsonw_double(&w, secs, 6);
	jsonw_key(&w, "mb_per_s");
	jsonw_double(&w, secs > 0 ? r->body_len / secs / 1e6 : 0, 3);
	jsonw_object_end(&w);
}

static const serve_param_doc_t bytes_params[] = {
    {"size", "string", "1024", "response body size: 512, 64k, 10MiB (capped by --max-size)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t drip_params[] = {
    {"size", "string", "1024", "response body size"},
    {"duration", "seconds", "2", "how long the body takes to arrive, in even pieces"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_network_routes[] = {
    {"GET", "/api/bytes", "/api/bytes", bytes, 0, "a response of exactly size bytes", bytes_params},
    {"GET", "/api/drip", "/api/drip", drip, 0, "a response dripped over a duration", drip_params},
    {"POST", "/api/upload", "/api/upload", upload, ROUTE_BODY_SINK,
     "count and discard the request body", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
