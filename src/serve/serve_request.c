/* serve_request: what happens to every request between parsing and writing — routing, the
 * admin token, trace context, the common ?delay=&status=&size=&cpu_ms= parameters (with
 * distributions), chaos, the handler, and the Server-Timing header that reports the cost. */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/json_alloc.h"
#include "core/clock.h"
#include "core/units.h"
#include "serve/serve_dist.h"
#include "serve/serve_internal.h"

#define PARAM_MAX 1024

uint64_t serve_random(serve_worker_t *w)
{
	/* xorshift64*: per worker, no locks; quality is ample for jitter and sampling */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

/* ---- query parameters ---- */

static int hex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent-decodes src into out (NUL-terminated); -1 when malformed or too long. */
static int percent_decode(const char *src, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)src[i];

		if (c == '%') {
			if (i + 2 >= len || hex(src[i + 1]) < 0 || hex(src[i + 2]) < 0)
				return -1;
			c = hex(src[i + 1]) * 16 + hex(src[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (o + 1 >= cap || c == 0)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return (int)o;
}

/* Finds name in a query string; 0 with the decoded value, 1 when absent, -1 when malformed. */
static int query_find(const char *q, size_t qlen, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);
	const char *end = q + qlen;

	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;

		if ((size_t)(stop - q) > nlen && memcmp(q, name, nlen) == 0 && q[nlen] == '=')
			return percent_decode(q + nlen + 1, (size_t)(stop - q - nlen - 1), out,
			                      cap) < 0
			           ? -1
			           : 0;
		if ((size_t)(stop - q) == nlen && memcmp(q, name, nlen) == 0) {
			out[0] = '\0';
			return 0;
		}
		q = stop + 1;
	}
	return 1;
}

/* The raw value of a parameter: from the query, or else from --default-params for routes
 * that take them. */
static int param_raw(serve_request_t *r, const char *name, char *out, size_t cap)
{
	int rc = query_find(r->head.query.p, r->head.query.len, name, out, cap);

	if (rc < 0) {
		serve_reply_error(
		    r, 400, "parameter '%s': malformed percent-encoding or longer than %d bytes",
		    name, PARAM_MAX - 1);
		return -1;
	}
	return rc;
}

int serve_param_string(serve_request_t *r, const char *name, char *out, size_t len)
{
	return param_raw(r, name, out, len);
}

int serve_param_seconds(serve_request_t *r, const char *name, uint64_t def_ns, uint64_t cap_ns,
                        uint64_t *out_ns)
{
	char v[PARAM_MAX], err[160];
	int rc = param_raw(r, name, v, sizeof(v));

	*out_ns = def_ns;
	if (rc != 0)
		return rc;
	if (units_parse_duration(v, NS_PER_S, out_ns, err, sizeof(err)) < 0) {
		serve_reply_error(r, 400, "parameter '%s': %s (a bare number is seconds)", name,
		                  err);
		return -1;
	}
	if (*out_ns > cap_ns) {
		*out_ns = cap_ns;
		serve_capped(r, name);
	}
	return 0;
}

int serve_param_number(serve_request_t *r, const char *name, double def, double min, double max,
                       double *out)
{
	char v[PARAM_MAX], *end;
	int rc = param_raw(r, name, v, sizeof(v));
	double d;

	*out = def;
	if (rc != 0)
		return rc;
	d = strtod(v, &end);
	if (!v[0] || *end || d != d || d < min || d > max) {
		serve_reply_error(r, 400, "parameter '%s': '%s' is not a number from %g to %g",
		                  name, v, min, max);
		return -1;
	}
	*out = d;
	return 0;
}

int serve_param_int(serve_request_t *r, const char *name, int64_t def, int64_t min, int64_t max,
                    int64_t *out)
{
	char v[PARAM_MAX], *end;
	int rc = param_raw(r, name, v, sizeof(v));
	long long n;

	*out = def;
	if (rc != 0)
		return rc;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (!v[0] || *end || errno || n < min || n > max) {
		serve_reply_error(r, 400,
		                  "parameter '%s': '%s' is not a whole number from %lld to %lld",
		                  name, v, (long long)min, (long long)max);
		return -1;
	}
	*out = n;
	return 0;
}

void serve_capped(serve_request_t *r, const char *what)
{
	serve_add_header(r, "X-Surge-Capped: %s", what);
	stat_add(&r->worker->stats.caps_hit, 1); /* per worker: one writer each */
}

/* ---- request bodies ---- */

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

json_t *serve_body_json(serve_request_t *r, enum serve_json_want want)
{
	static const char *const wanted[] = {"JSON", "a JSON object", "a JSON array"};
	unsigned long refused = json_alloc_failures();
	json_error_t jerr;
	json_t *doc;

	if (!r->body_len) {
		serve_reply_error(r, 400, "body: empty; expected %s", wanted[want]);
		return NULL;
	}
	doc = json_loadb(r->body ? r->body : "", r->body_len, JSON_DECODE_ANY, &jerr);
	if (json_alloc_failures() != refused) {
		/* jansson blames the body for its own failed allocation, or drops a byte and reads
		 * on: neither is what the client sent (core/json_alloc.h) */
		json_decref(doc);
		serve_reply_error(r, 503, "out of memory reading the JSON body");
		return NULL;
	}
	if (!doc) {
		serve_reply_error(r, 400, "body: not JSON: %s (line %d, column %d)", jerr.text,
		                  jerr.line, jerr.column);
		return NULL;
	}
	if ((want == SERVE_JSON_OBJECT && !json_is_object(doc)) ||
	    (want == SERVE_JSON_ARRAY && !json_is_array(doc))) {
		serve_reply_error(r, 400, "body: expected %s, got %s", wanted[want],
		                  json_kind(doc));
		json_decref(doc);
		return NULL;
	}
	return doc;
}

/* ---- replies ---- */

static void reply_begin(serve_request_t *r, int status, const char *type)
{
	buf_reset(&r->body_out);
	r->status = status;
	r->content_type = type;
	r->replied = true;
}

json_writer_t *serve_reply_json(serve_request_t *r, int status, json_writer_t *w)
{
	reply_begin(r, status, "application/json");
	jsonw_init(w, &r->body_out, false);
	return w;
}

void serve_reply_text(serve_request_t *r, int status, const char *type, const char *text,
                      size_t len)
{
	reply_begin(r, status, type);
	buf_append(&r->body_out, text, len);
}

void serve_reply_error(serve_request_t *r, int status, const char *fmt, ...)
{
	char msg[512];
	json_writer_t w;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	serve_reply_json(r, status, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "error");
	jsonw_string(&w, msg);
	jsonw_key(&w, "status");
	jsonw_int(&w, status);
	jsonw_object_end(&w);
	r->fill_bytes = 0;
	r->delay_ns = 0;
	r->status_override = 0;
	r->size_override = UINT64_MAX;
}

void serve_add_header(serve_request_t *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&r->headers_out, fmt, ap);
	va_end(ap);
	buf_append_str(&r->headers_out, "\r\n");
}

void serve_timing(serve_request_t *r, const char *name, double ms)
{
	for (int i = 0; i < r->timing_count; i++) {
		if (strcmp(r->timing[i].name, name) == 0) {
			r->timing[i].ms += ms;
			return;
		}
	}
	if (r->timing_count < SERVE_TIMING_MAX) {
		r->timing[r->timing_count].name = name;
		r->timing[r->timing_count++].ms = ms;
	}
}

/* ---- trace context (W3C traceparent) ---- */

static bool parse_hex64(const char *p, uint64_t *out)
{
	uint64_t v = 0;

	for (int i = 0; i < 16; i++) {
		int h = hex((unsigned char)p[i]);
		if (h < 0 || isupper((unsigned char)p[i]))
			return false;
		v = v << 4 | (uint64_t)h;
	}
	*out = v;
	return true;
}

static void append_hex64(buf_t *b, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[16];

	for (int i = 15; i >= 0; i--, v >>= 4)
		tmp[i] = digits[v & 15];
	buf_append(b, tmp, sizeof(tmp));
}

/* A W3C traceparent "00-<32 hex trace>-<16 hex parent>-<2 hex flags>", lower case, with
 * neither id all zeros; true with the trace id and the sampled flag (bit 0). */
static bool parse_traceparent(http_slice_t tp, serve_request_t *r)
{
	uint64_t parent, flags_hi, flags_lo;

	if (!tp.p || tp.len != 55 || memcmp(tp.p, "00-", 3) != 0 || tp.p[35] != '-' ||
	    tp.p[52] != '-' || !parse_hex64(tp.p + 3, &r->trace_hi) ||
	    !parse_hex64(tp.p + 19, &r->trace_lo) || !parse_hex64(tp.p + 36, &parent))
		return false;
	flags_hi = (uint64_t)hex((unsigned char)tp.p[53]);
	flags_lo = (uint64_t)hex((unsigned char)tp.p[54]);
	if ((r->trace_hi | r->trace_lo) == 0 || parent == 0 || flags_hi > 15 || flags_lo > 15 ||
	    isupper((unsigned char)tp.p[53]) || isupper((unsigned char)tp.p[54]))
		return false;
	r->trace_sampled = flags_lo & 1;
	return true;
}

/* Continues the caller's trace, or starts one; the response says which span we were. */
static void trace_context(serve_request_t *r)
{
	serve_worker_t *w = r->worker;

	if (!parse_traceparent(http_request_header(&r->head, "traceparent"), r)) {
		r->trace_hi = serve_random(w);
		r->trace_lo = serve_random(w);
		r->trace_sampled = true;
	}
	r->span = serve_random(w) | 1;
	buf_append_str(&r->headers_out, "traceparent: 00-");
	append_hex64(&r->headers_out, r->trace_hi);
	append_hex64(&r->headers_out, r->trace_lo);
	buf_append_char(&r->headers_out, '-');
	append_hex64(&r->headers_out, r->span);
	buf_append_str(&r->headers_out, r->trace_sampled ? "-01\r\n" : "-00\r\n");
}

/* ---- the common parameters ---- */

static bool route_takes(const serve_route_t *route, const char *name)
{
	for (const serve_param_doc_t *p = route->params; p && p->name; p++)
		if (strcmp(p->name, name) == 0)
			return true;
	return false;
}

/* Samples one common parameter from the query or the defaults; -1 after a 400. */
static int common_param(serve_request_t *r, const char *name, dist_unit_t unit, bool *set,
                        double *value)
{
	char v[PARAM_MAX], err[200];
	const char *cfg_defaults = serve_state.cfg->default_params;
	dist_t d;
	int rc;

	*set = false;
	if (route_takes(r->route, name))
		return 0; /* the endpoint's own parameter of that name wins */
	rc = param_raw(r, name, v, sizeof(v));
	if (rc < 0)
		return -1;
	if (rc == 1 && (!cfg_defaults ||
	                query_find(cfg_defaults, strlen(cfg_defaults), name, v, sizeof(v)) != 0))
		return 0;
	if (dist_parse(v, strlen(v), unit, &d, err, sizeof(err)) < 0) {
		serve_reply_error(r, 400, "parameter '%s': %s", name, err);
		return -1;
	}
	*set = dist_sample(&d, &r->worker->rng, value);
	return 0;
}

/* The common parameters, and what a bare number of each means. */
static const struct common_param_unit {
	const char *name;
	dist_unit_t unit;
} common_units[] = {
    {"delay", DIST_SECONDS},
    {"status", DIST_INTEGER},
    {"size", DIST_BYTES},
    {"cpu_ms", DIST_MILLISECONDS},
};

/* A status distribution whose every outcome is a final status code (200-599); -1 and err. */
static int check_status_dist(const dist_t *d, char *err, size_t errlen)
{
	double lo = d->a, hi = d->b;

	switch (d->kind) {
	case DIST_CONSTANT:
	case DIST_WEIGHTED:
		for (int i = 0; i < d->count; i++)
			if (d->values[i] < 200 || d->values[i] > 599) {
				snprintf(err, errlen,
				         "status: %g is not a final status code (200-599)",
				         d->values[i]);
				return -1;
			}
		return 0;
	case DIST_UNIFORM:
		if (lo >= 200 && hi <= 599)
			return 0;
		snprintf(err, errlen, "status: uniform(%g,%g) leaves 200-599", lo, hi);
		return -1;
	default:
		snprintf(err, errlen,
		         "status: a normal or lognormal status code leaves 200-599; give "
		         "a code or a weighted list (status=503:5)");
		return -1;
	}
}

int serve_default_params_check(const char *params, char *err, size_t errlen)
{
	const char *p = params, *end = params + strlen(params);

	for (; p < end; p++) {
		const char *amp = memchr(p, '&', (size_t)(end - p)), *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		size_t nlen = (size_t)((eq ? eq : stop) - p), i;
		char v[PARAM_MAX], msg[200];
		dist_t d;

		if (stop == p)
			continue; /* "a&&b": an empty element, as in any query string */
		for (i = 0; i < sizeof(common_units) / sizeof(common_units[0]); i++)
			if (strlen(common_units[i].name) == nlen &&
			    memcmp(common_units[i].name, p, nlen) == 0)
				break;
		if (i == sizeof(common_units) / sizeof(common_units[0])) {
			snprintf(err, errlen, "'%.*s' is not one of delay, status, size, cpu_ms",
			         (int)(nlen < 64 ? nlen : 64), p);
			return -1;
		}
		if (!eq || percent_decode(eq + 1, (size_t)(stop - eq - 1), v, sizeof(v)) < 0) {
			snprintf(err, errlen, "%s: %s", common_units[i].name,
			         eq ? "malformed percent-encoding or longer than 1023 bytes"
			            : "needs a value (name=VALUE)");
			return -1;
		}
		if (dist_parse(v, strlen(v), common_units[i].unit, &d, msg, sizeof(msg)) < 0) {
			snprintf(err, errlen, "%s: %s", common_units[i].name, msg);
			return -1;
		}
		if (common_units[i].unit == DIST_INTEGER && check_status_dist(&d, err, errlen) < 0)
			return -1;
		p = stop;
	}
	return 0;
}

/* Reads ?delay=&status=&size=&cpu_ms= and pays the CPU part now. */
static int common_params(serve_request_t *r)
{
	const serve_config_t *cfg = serve_state.cfg;
	double v;
	bool set;

	if (common_param(r, "cpu_ms", DIST_MILLISECONDS, &set, &v) < 0)
		return -1;
	if (set) {
		uint64_t ns = (uint64_t)v;
		if (ns > cfg->max_cpu_ns) {
			ns = cfg->max_cpu_ns;
			serve_capped(r, "cpu_ms");
		}
		serve_timing(r, "cpu", serve_burn_cpu(ns, NULL) / 1e6);
	}
	if (common_param(r, "status", DIST_INTEGER, &set, &v) < 0)
		return -1;
	if (set && (v < 200 || v > 599)) {
		serve_reply_error(r, 400,
		                  "parameter 'status': %g is not a final status code (200-599)", v);
		return -1;
	}
	r->status_override = set ? (int)v : 0;
	if (common_param(r, "size", DIST_BYTES, &set, &v) < 0)
		return -1;
	r->size_override = set ? (uint64_t)v : UINT64_MAX;
	if (common_param(r, "delay", DIST_SECONDS, &set, &v) < 0)
		return -1;
	if (set)
		r->delay_ns += (uint64_t)v;
	return 0;
}

/* Applies the overrides to what the handler produced, bounded by the caps. */
static void apply_overrides(serve_request_t *r)
{
	const serve_config_t *cfg = serve_state.cfg;

	if (r->status_override)
		r->status = r->status_override;
	if (r->size_override != UINT64_MAX) {
		uint64_t size = r->size_override;

		if (size > cfg->max_size_bytes) {
			size = cfg->max_size_bytes;
			serve_capped(r, "size");
		}
		if (size < r->body_out.len)
			r->body_out.len = (size_t)size;
		r->fill_bytes = size - r->body_out.len;
	}
	if (r->delay_ns > cfg->max_delay_ns) {
		r->delay_ns = cfg->max_delay_ns;
		serve_capped(r, "delay");
	}
	if (r->delay_ns)
		serve_timing(r, "wait", r->delay_ns / 1e6);
}

/* "Server-Timing: cpu;dur=12.345, app;dur=0.002" — milliseconds with 3 decimals, formatted
 * without printf: every response carries it. */
static void add_server_timing(serve_request_t *r)
{
	buf_t *h = &r->headers_out;

	buf_append_str(h, "Server-Timing: ");
	for (int i = 0; i < r->timing_count; i++) {
		uint64_t us = r->timing[i].ms > 0 ? (uint64_t)(r->timing[i].ms * 1000 + 0.5) : 0;
		char frac[4] = {(char)('0' + us / 100 % 10), (char)('0' + us / 10 % 10),
		                (char)('0' + us % 10), 0};

		if (i)
			buf_append_str(h, ", ");
		buf_append_str(h, r->timing[i].name);
		buf_append_str(h, ";dur=");
		buf_append_uint(h, us / 1000);
		buf_append_char(h, '.');
		buf_append_str(h, frac);
	}
	buf_append_str(h, "\r\n");
}

static bool admin_allowed(serve_request_t *r)
{
	const char *token = serve_state.cfg->admin_token;
	http_slice_t auth;

	if (!token || !*token)
		return true;
	auth = http_request_header(&r->head, "authorization");
	return auth.p && auth.len == 7 + strlen(token) && strncasecmp(auth.p, "Bearer ", 7) == 0 &&
	       memcmp(auth.p + 7, token, auth.len - 7) == 0;
}

/* Routing and the checks that come before any handler; false when it already replied. */
static bool admit(serve_request_t *r)
{
	const serve_route_t *route = r->route;
	bool path_known = false;
	int ignored;

	/* HTTP/2 may leave out :authority (RFC 9113 8.3.1); HTTP/1.1 must send Host */
	if (r->protocol == SERVE_HTTP1 && r->head.minor_version == 1 &&
	    !http_request_header(&r->head, "host").p) {
		r->close_after = true;
		stat_add(&r->worker->stats.bad_requests, 1);
		serve_reply_error(r, 400, "HTTP/1.1 requests need a Host header");
		return false;
	}
	if (!route) {
		char allow[128];

		serve_route_find(r->head.method.p, r->head.method.len, r->head.path.p,
		                 r->head.path.len, &path_known, &ignored);
		if (path_known) {
			serve_route_allowed(r->head.path.p, r->head.path.len, allow, sizeof(allow));
			serve_add_header(r, "Allow: %s", allow);
		}
		serve_reply_error(r, path_known ? 405 : 404,
		                  path_known ? "method not allowed" : "no such endpoint");
		return false;
	}
	if ((route->flags & ROUTE_ADMIN) && !admin_allowed(r)) {
		serve_add_header(r, "WWW-Authenticate: Bearer");
		serve_reply_error(r, 401, "admin endpoints need 'Authorization: Bearer <token>'");
		return false;
	}
	if ((route->flags & ROUTE_DANGEROUS) && !serve_state.cfg->chaos) {
		serve_reply_error(r, 403, "%s is disabled (--no-chaos)", route->name);
		return false;
	}
	if (route->flags & ROUTE_PREFIX) {
		size_t plen = strlen(route->path);
		r->path_tail.p = r->head.path.p + plen;
		r->path_tail.len = r->head.path.len - plen;
	}
	return true;
}

void serve_request_reset(serve_request_t *r, serve_conn_t *c, serve_worker_t *w,
                         enum serve_protocol protocol)
{
	buf_reset(&r->body_out);
	buf_reset(&r->headers_out);
	if (!r->body_out.max)
		buf_init(&r->body_out, serve_state.cfg->max_size_bytes + 65536);
	if (!r->headers_out.max)
		buf_init(&r->headers_out, 8192);
	r->conn = c;
	r->worker = w;
	r->protocol = protocol;
	r->route = NULL;
	r->route_index = -1;
	r->start_ns = clock_now_ns();
	r->status = 200;
	r->size_override = UINT64_MAX;
	r->timing_count = 0;
	r->fill_bytes = 0;
	r->delay_ns = 0;
	r->replied = false;
	r->status_override = 0;
	r->content_type = NULL;
	r->path_tail.p = NULL;
	r->path_tail.len = 0;
	r->body = NULL;
	r->body_len = 0;
	r->close_after = false;
	r->drip_ns = 0;
	r->fault = FAULT_NONE;
	r->deferred = false;
}

void serve_request_finish(serve_request_t *r)
{
	if (!r->replied)
		serve_reply_error(r, 500, "internal error: %s did not answer", r->route->name);
	apply_overrides(r);
	/* what handling took on this thread, whatever else was paid: every response has it */
	serve_timing(r, "app", (clock_now_ns() - r->start_ns) / 1e6);
	add_server_timing(r);
}

void serve_request_dispatch(serve_request_t *r)
{
	bool probe;

	trace_context(r);
	if (!admit(r))
		goto out;
	probe = r->route->flags & ROUTE_PROBE;
	if (!probe && serve_chaos_intercept(r))
		goto out;
	if (!probe && common_params(r) < 0)
		goto out;
	r->route->fn(r);
	if (r->deferred)
		return; /* the handler answers later, through serve_resume() */
	serve_request_finish(r);
	return;
out:
	serve_timing(r, "app", (clock_now_ns() - r->start_ns) / 1e6);
	add_server_timing(r);
}
