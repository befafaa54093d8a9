/* serve_openapi: /openapi.json (OpenAPI 3.1), generated from the route table the router uses
 * so it cannot drift, and /apidocs, Swagger UI served from assets embedded at build time. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/units.h"
#include "core/version.h"
#include "core/web_assets.h"
#include "serve/serve_internal.h"

#define DOC_MAX      (4u << 20)
#define TEMPLATE_MAX 512

static const char *const any_methods[] = {"get", "post", "put", "delete", "patch"};
static const char *const common_params[] = {"delay", "status", "size", "cpu_ms", "fault"};

/* Responses most routes of a kind can give beyond their own, found by the route's name. */
static const struct {
	const char *name_contains;
	const char *code;
	const char *description;
} typical_responses[] = {
    {"ready", "503", "not ready: starting, draining, or switched off"},
    {"memory-", "507", "over --memory-cap, or the system refused the memory"},
    {"disk-", "507", "the scratch file under --data-dir could not be written or read"},
    {"/api/tasks", "503", "no database connection free within --db-timeout"},
    {"db-pool", "503", "no database connection free within --db-timeout"},
    {"expensive-query", "503", "no database connection free within --db-timeout"},
    {"downstream", "502", "the downstream service failed"},
    {"downstream", "504", "the downstream service did not answer in time"},
};

/* The document is the same for the whole run (the table and the caps are fixed at start),
 * so it is built once, on the first request, and kept. */
static buf_t doc;
static int doc_err;
static pthread_once_t doc_once = PTHREAD_ONCE_INIT;

/* The path as OpenAPI writes it: a prefix route's templated name (/api/status/{code}). */
static void route_template(const serve_route_t *r, char *out, size_t len)
{
	if (!(r->flags & ROUTE_PREFIX))
		snprintf(out, len, "%s", r->path);
	else if (strchr(r->name, '{'))
		snprintf(out, len, "%s", r->name);
	else
		snprintf(out, len, "%s{rest}", r->path);
}

static bool route_has_method(const serve_route_t *r, const char *method)
{
	return !r->method || strcasecmp(r->method, method) == 0;
}

static const serve_param_doc_t *param_doc(const serve_route_t *r, const char *name, size_t len)
{
	for (const serve_param_doc_t *p = r->params; p && p->name; p++)
		if (strlen(p->name) == len && memcmp(p->name, name, len) == 0)
			return p;
	return NULL;
}

static bool in_template(const char *template, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = strchr(template, '{'); p; p = strchr(p + 1, '{'))
		if (strncmp(p + 1, name, len) == 0 && p[1 + len] == '}')
			return true;
	return false;
}

/* The default, typed as the schema says; nothing when the text does not parse as that type. */
static void write_default(json_writer_t *w, const char *type, const char *def)
{
	char *end;

	if (!def)
		return;
	if (strcmp(type, "integer") == 0) {
		long long v = strtoll(def, &end, 10);

		if (*def && !*end) {
			jsonw_key(w, "default");
			jsonw_int(w, v);
		}
	} else if (strcmp(type, "number") == 0) {
		double v = strtod(def, &end);

		if (*def && !*end) {
			jsonw_key(w, "default");
			jsonw_double(w, v, 6);
		}
	} else if (strcmp(type, "boolean") == 0) {
		char err[300];
		bool v;

		if (units_parse_bool(def, &v, err, sizeof(err)) == 0) {
			jsonw_key(w, "default");
			jsonw_bool(w, v);
		}
	} else {
		jsonw_key(w, "default");
		jsonw_string(w, def);
	}
}

static void write_schema(json_writer_t *w, const serve_param_doc_t *p)
{
	const char *type = p && p->type ? p->type : "string";

	jsonw_key(w, "schema");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	if (strcmp(type, "seconds") == 0) {
		/* a string, so 250ms and 2s are as valid as 0.25 */
		jsonw_string(w, "string");
		jsonw_key(w, "pattern");
		jsonw_string(w, "^[0-9]*\\.?[0-9]+(ns|us|ms|s|m|h)?$");
		jsonw_key(w, "examples");
		jsonw_array_begin(w);
		jsonw_string(w, p->def ? p->def : "1");
		jsonw_string(w, "250ms");
		jsonw_string(w, "2s");
		jsonw_array_end(w);
		jsonw_key(w, "x-unit");
		jsonw_string(w, "seconds");
		write_default(w, "string", p->def);
	} else if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0 ||
	           strcmp(type, "boolean") == 0) {
		jsonw_string(w, type);
		write_default(w, type, p ? p->def : NULL);
	} else {
		jsonw_string(w, "string");
		write_default(w, "string", p ? p->def : NULL);
	}
	jsonw_object_end(w);
}

static void write_param(json_writer_t *w, const serve_param_doc_t *p, const char *in,
                        const char *name)
{
	const char *description = p && p->description ? p->description : "";

	jsonw_object_begin(w);
	jsonw_key(w, "name");
	jsonw_string(w, name);
	jsonw_key(w, "in");
	jsonw_string(w, in);
	if (strcmp(in, "path") == 0) {
		jsonw_key(w, "required");
		jsonw_bool(w, true);
	}
	jsonw_key(w, "description");
	if (!p && strcmp(in, "path") == 0) {
		jsonw_string(w, "the path segment this route takes as a parameter");
	} else if (p && p->type && strcmp(p->type, "seconds") == 0 &&
	           !strstr(description, "250ms")) {
		char text[512];

		snprintf(text, sizeof(text),
		         "%s. Seconds, fractions allowed, or with a unit: 250ms, 2s.", description);
		jsonw_string(w, text);
	} else {
		jsonw_string(w, description);
	}
	write_schema(w, p);
	jsonw_object_end(w);
}

static void write_parameters(json_writer_t *w, const serve_route_t *r, const char *template)
{
	jsonw_key(w, "parameters");
	jsonw_array_begin(w);
	/* path parameters: each {name} of the template, documented by a param of that name */
	for (const char *open = strchr(template, '{'); open; open = strchr(open + 1, '{')) {
		const char *close = strchr(open, '}');
		char name[64];

		if (!close || (size_t)(close - open - 1) >= sizeof(name))
			break;
		memcpy(name, open + 1, (size_t)(close - open - 1));
		name[close - open - 1] = '\0';
		write_param(w, param_doc(r, name, strlen(name)), "path", name);
	}
	for (const serve_param_doc_t *p = r->params; p && p->name; p++)
		if (!in_template(template, p->name))
			write_param(w, p, "query", p->name);
	if (!(r->flags & ROUTE_PROBE)) {
		/* an endpoint's own parameter of the same name wins over the common one */
		for (size_t i = 0; i < sizeof(common_params) / sizeof(common_params[0]); i++) {
			char ref[96];

			if (param_doc(r, common_params[i], strlen(common_params[i])))
				continue;
			snprintf(ref, sizeof(ref), "#/components/parameters/%s", common_params[i]);
			jsonw_object_begin(w);
			jsonw_key(w, "$ref");
			jsonw_string(w, ref);
			jsonw_object_end(w);
		}
	}
	jsonw_array_end(w);
}

static void write_response(json_writer_t *w, const char *code, const char *description,
                           const char *schema_ref)
{
	jsonw_key(w, code);
	jsonw_object_begin(w);
	jsonw_key(w, "description");
	jsonw_string(w, description);
	if (schema_ref) {
		jsonw_key(w, "content");
		jsonw_object_begin(w);
		jsonw_key(w, "application/json");
		jsonw_object_begin(w);
		jsonw_key(w, "schema");
		jsonw_object_begin(w);
		jsonw_key(w, "$ref");
		jsonw_string(w, schema_ref);
		jsonw_object_end(w);
		jsonw_object_end(w);
		jsonw_object_end(w);
	}
	jsonw_object_end(w);
}

static void write_responses(json_writer_t *w, const serve_route_t *r)
{
	const char *error = "#/components/schemas/Error";
	bool probe = r->flags & ROUTE_PROBE;

	jsonw_key(w, "responses");
	jsonw_object_begin(w);
	write_response(w, "200", "success", NULL);
	if (!probe)
		write_response(w, "400", "a parameter is malformed; the error names it", error);
	if (r->flags & ROUTE_ADMIN)
		write_response(w, "401",
		               "--admin-token is set and the bearer token is missing or wrong",
		               error);
	if (r->flags & ROUTE_DANGEROUS)
		write_response(w, "403", "dangerous endpoints are off (--no-chaos)", error);
	if (r->flags & ROUTE_PREFIX)
		write_response(w, "404", "nothing under this path", error);
	for (size_t i = 0; i < sizeof(typical_responses) / sizeof(typical_responses[0]); i++)
		if (strstr(r->name, typical_responses[i].name_contains))
			write_response(w, typical_responses[i].code,
			               typical_responses[i].description, error);
	if (!probe)
		write_response(
		    w, "default",
		    "any status asked for with ?status=, or injected by chaos (/admin/chaos)",
		    error);
	jsonw_object_end(w);
}

/* operationId: the method and the path's letters and digits, unique in the document. */
static void operation_id(const char *method, const char *template, int index, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "%s", method);

	for (const char *p = template; *p && o + 2 < len; p++) {
		bool word = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		            (*p >= '0' && *p <= '9');

		if (word)
			out[o++] = *p;
		else if (out[o - 1] != '_')
			out[o++] = '_';
	}
	while (o > 0 && out[o - 1] == '_')
		o--;
	out[o] = '\0';
	/* two templates differing only in punctuation get the route's index to tell them apart */
	for (int i = 0; i < index; i++) {
		char other[TEMPLATE_MAX], other_id[TEMPLATE_MAX + 16];
		const serve_route_t *r = serve_route_at(i);

		route_template(r, other, sizeof(other));
		if (strcmp(other, template) == 0 || !route_has_method(r, method))
			continue;
		operation_id(method, other, 0, other_id, sizeof(other_id));
		if (strcmp(other_id, out) == 0) {
			snprintf(out + o, len - o, "_%d", index);
			return;
		}
	}
}

static void write_operation(json_writer_t *w, const serve_route_t *r, int index, const char *method,
                            const char *template)
{
	char id[TEMPLATE_MAX + 16], notes[512];
	size_t n = 0;

	jsonw_key(w, method);
	jsonw_object_begin(w);
	jsonw_key(w, "summary");
	jsonw_string(w, r->summary ? r->summary : r->name);
	operation_id(method, template, index, id, sizeof(id));
	jsonw_key(w, "operationId");
	jsonw_string(w, id);
	notes[0] = '\0';
	if (r->flags & ROUTE_PROBE)
		n += (size_t)snprintf(notes + n, sizeof(notes) - n, "%s",
		                      "Probe: chaos and the common parameters do not apply. ");
	if (r->flags & ROUTE_DANGEROUS)
		n += (size_t)snprintf(notes + n, sizeof(notes) - n, "%s",
		                      "Dangerous: off (403) with --no-chaos. ");
	if (r->flags & ROUTE_ADMIN)
		n += (size_t)snprintf(
		    notes + n, sizeof(notes) - n, "%s",
		    "Admin: needs Authorization: Bearer when --admin-token is set. ");
	if ((r->flags & ROUTE_BODY_SINK) && n < sizeof(notes))
		snprintf(notes + n, sizeof(notes) - n, "%s",
		         "The request body is counted and discarded, never buffered. ");
	if (notes[0]) {
		jsonw_key(w, "description");
		jsonw_string(w, notes);
	}
	jsonw_key(w, "tags");
	jsonw_array_begin(w);
	jsonw_string(w, (r->flags & ROUTE_PROBE)            ? "probes and docs"
	                : (r->flags & ROUTE_ADMIN)          ? "admin"
	                : strncmp(r->path, "/api/", 5) == 0 ? "api"
	                                                    : "other");
	jsonw_array_end(w);
	write_parameters(w, r, template);
	if (r->flags & ROUTE_BODY_SINK) {
		jsonw_key(w, "requestBody");
		jsonw_object_begin(w);
		jsonw_key(w, "content");
		jsonw_object_begin(w);
		jsonw_key(w, "application/octet-stream");
		jsonw_object_begin(w);
		jsonw_object_end(w);
		jsonw_object_end(w);
		jsonw_object_end(w);
	}
	if (r->flags & ROUTE_ADMIN) {
		/* optional: the empty requirement means "no token needed" when none is set */
		jsonw_key(w, "security");
		jsonw_array_begin(w);
		jsonw_object_begin(w);
		jsonw_object_end(w);
		jsonw_object_begin(w);
		jsonw_key(w, "adminToken");
		jsonw_array_begin(w);
		jsonw_array_end(w);
		jsonw_object_end(w);
		jsonw_array_end(w);
	}
	write_responses(w, r);
	jsonw_object_end(w);
}

/* One path item: every route with this template, each method once (the first route wins,
 * as in the router). */
static void write_path_item(json_writer_t *w, int first, const char *template)
{
	static const char *const methods[] = {"get", "put", "post", "delete", "patch", "options"};

	jsonw_key(w, template);
	jsonw_object_begin(w);
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		for (int i = first; i < serve_route_count(); i++) {
			const serve_route_t *r = serve_route_at(i);
			char other[TEMPLATE_MAX];
			bool listed = false;

			route_template(r, other, sizeof(other));
			if (strcmp(other, template) != 0 || !route_has_method(r, methods[m]))
				continue;
			if (!r->method) {
				/* a route for any method lists the usual ones */
				for (size_t a = 0; a < sizeof(any_methods) / sizeof(any_methods[0]);
				     a++)
					listed |= strcmp(any_methods[a], methods[m]) == 0;
				if (!listed)
					break;
			}
			write_operation(w, r, i, methods[m], template);
			break;
		}
	}
	jsonw_object_end(w);
}

static void write_paths(json_writer_t *w)
{
	jsonw_key(w, "paths");
	jsonw_object_begin(w);
	for (int i = 0; i < serve_route_count(); i++) {
		char template[TEMPLATE_MAX], other[TEMPLATE_MAX];
		bool seen = false;

		route_template(serve_route_at(i), template, sizeof(template));
		for (int j = 0; j < i && !seen; j++) {
			route_template(serve_route_at(j), other, sizeof(other));
			seen = strcmp(other, template) == 0;
		}
		if (!seen)
			write_path_item(w, i, template);
	}
	jsonw_object_end(w);
}

static void write_common_param(json_writer_t *w, const char *name, const char *unit,
                               const char *description, const char *example)
{
	jsonw_key(w, name);
	jsonw_object_begin(w);
	jsonw_key(w, "name");
	jsonw_string(w, name);
	jsonw_key(w, "in");
	jsonw_string(w, "query");
	jsonw_key(w, "description");
	jsonw_string(w, description);
	jsonw_key(w, "schema");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	jsonw_string(w, "string");
	if (unit) {
		jsonw_key(w, "x-unit");
		jsonw_string(w, unit);
	}
	jsonw_key(w, "examples");
	jsonw_array_begin(w);
	jsonw_string(w, example);
	jsonw_array_end(w);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

static void write_components(json_writer_t *w)
{
	const serve_config_t *cfg = serve_state.cfg;
	const char *dist =
	    " A constant, or a distribution: 10ms:50,100ms:10 (weights are percentages "
	    "of requests), uniform(a,b), normal(mean,sd), lognormal(median,p99).";
	char text[1024];

	jsonw_key(w, "components");
	jsonw_object_begin(w);
	jsonw_key(w, "parameters");
	jsonw_object_begin(w);
	snprintf(
	    text, sizeof(text),
	    "Added before the response is sent: seconds, or 250ms, 2s.%s Capped at --max-delay "
	    "(%.3f s).",
	    dist, cfg->max_delay_ns / 1e9);
	write_common_param(w, "delay", "seconds", text, "lognormal(20ms,250ms)");
	snprintf(text, sizeof(text),
	         "Replaces the status code: 503, or weighted: 503:5 fails 5 %%.");
	write_common_param(w, "status", NULL, text, "503:5");
	snprintf(text, sizeof(text),
	         "The body is exactly this long (padded or cut): bytes, or 64k, 10MiB. Capped at "
	         "--max-size (%" PRIu64 " bytes).",
	         cfg->max_size_bytes);
	write_common_param(w, "size", "bytes", text, "64k");
	snprintf(
	    text, sizeof(text),
	    "CPU time burnt before the handler, in milliseconds.%s Capped at --max-cpu (%.3f ms).",
	    dist, cfg->max_cpu_ns / 1e6);
	write_common_param(w, "cpu_ms", "milliseconds", text, "50");
	write_common_param(
	    w, "fault", NULL,
	    "A connection fault instead of an answer: reset (RST), close (closed, no "
	    "answer) or hang (no answer until the delay cap). 403 with --no-chaos.",
	    "reset");
	jsonw_object_end(w);

	jsonw_key(w, "schemas");
	jsonw_object_begin(w);
	jsonw_key(w, "Error");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	jsonw_string(w, "object");
	jsonw_key(w, "properties");
	jsonw_object_begin(w);
	jsonw_key(w, "error");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	jsonw_string(w, "string");
	jsonw_object_end(w);
	jsonw_key(w, "status");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	jsonw_string(w, "integer");
	jsonw_object_end(w);
	jsonw_object_end(w);
	jsonw_object_end(w);
	jsonw_object_end(w);

	jsonw_key(w, "securitySchemes");
	jsonw_object_begin(w);
	jsonw_key(w, "adminToken");
	jsonw_object_begin(w);
	jsonw_key(w, "type");
	jsonw_string(w, "http");
	jsonw_key(w, "scheme");
	jsonw_string(w, "bearer");
	jsonw_key(w, "description");
	jsonw_string(w, "the --admin-token value; /admin/... is open when none is set");
	jsonw_object_end(w);
	jsonw_object_end(w);
	jsonw_object_end(w);
}

static void build_doc(void)
{
	json_writer_t w;

	buf_init(&doc, DOC_MAX);
	jsonw_init(&w, &doc, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "openapi");
	jsonw_string(&w, "3.1.0");
	jsonw_key(&w, "info");
	jsonw_object_begin(&w);
	jsonw_key(&w, "title");
	jsonw_string(&w, "surge serve");
	jsonw_key(&w, "version");
	jsonw_string(&w, surge_version);
	jsonw_key(&w, "description");
	jsonw_string(&w,
	             "The load-test target of surge. Every cost is applied exactly and reported "
	             "in Server-Timing. Unknown paths answer 404; a known path with another "
	             "method answers 405 with Allow. Generated from the route table the router "
	             "uses.");
	jsonw_object_end(&w);
	write_paths(&w);
	write_components(&w);
	jsonw_object_end(&w);
	doc_err = w.err;
}

static void openapi(serve_request_t *r)
{
	pthread_once(&doc_once, build_doc);
	if (doc_err) {
		serve_reply_error(r, 500, "the API description does not fit in %u bytes", DOC_MAX);
		return;
	}
	serve_reply_text(r, 200, "application/json", doc.data, doc.len);
}

/* Sends an embedded file. Its size is fixed at build time, so the body buffer may grow to
 * it even when --max-size is smaller: the bound is the largest asset, not the request. */
static void reply_static(serve_request_t *r, const char *type, const void *data, size_t len,
                         const char *cache)
{
	if (r->body_out.max < len)
		r->body_out.max = len;
	serve_reply_text(r, 200, type, data, len);
	if (r->body_out.len != len) {
		serve_reply_error(r, 500, "out of memory for a %zu-byte asset", len);
		return;
	}
	serve_add_header(r, "Cache-Control: %s", cache);
	serve_add_header(r, "X-Content-Type-Options: nosniff");
}

static void apidocs(serve_request_t *r)
{
	const char *v = web_asset_version("swagger-ui-dist");
	char page[2048];
	int len = snprintf(
	    page, sizeof(page),
	    "<!doctype html>\n"
	    "<html lang=\"en\">\n"
	    "<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	    "<title>surge serve API</title>\n"
	    "<link rel=\"icon\" type=\"image/png\" sizes=\"32x32\" "
	    "href=\"/apidocs/favicon-32x32.png?v=%s\">\n"
	    "<link rel=\"icon\" type=\"image/png\" sizes=\"16x16\" "
	    "href=\"/apidocs/favicon-16x16.png?v=%s\">\n"
	    "<link rel=\"stylesheet\" href=\"/apidocs/swagger-ui.css?v=%s\">\n"
	    "</head>\n"
	    "<body>\n"
	    "<div id=\"swagger-ui\"></div>\n"
	    "<script src=\"/apidocs/swagger-ui-bundle.js?v=%s\"></script>\n"
	    "<script>\n"
	    "window.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\",\n"
	    "  deepLinking: true, validatorUrl: null, layout: \"BaseLayout\",\n"
	    "  presets: [SwaggerUIBundle.presets.apis]});\n"
	    "</script>\n"
	    "</body>\n"
	    "</html>\n",
	    v, v, v, v);

	/* the page names the asset versions: it must be fetched again after an upgrade */
	reply_static(r, "text/html; charset=utf-8", page, (size_t)len, "no-cache");
}

static void apidocs_asset(serve_request_t *r)
{
	const web_asset_t *a = web_asset_find("swagger-ui-dist", r->path_tail.p, r->path_tail.len);

	if (!a) {
		serve_reply_error(r, 404, "no such file under /apidocs/");
		return;
	}
	/* the page asks for ?v=<version>, so a year-long cache never serves a stale file */
	reply_static(r, a->content_type, a->data, a->len, "public, max-age=31536000, immutable");
}

static const serve_param_doc_t asset_params[] = {
    {"file", "string", "swagger-ui.css", "an embedded Swagger UI file, e.g. swagger-ui.css"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_openapi_routes[] = {
    {"GET", "/openapi.json", "/openapi.json", openapi, ROUTE_PROBE,
     "this API description (OpenAPI 3.1), generated from the route table", NULL},
    {"GET", "/apidocs", "/apidocs", apidocs, ROUTE_PROBE,
     "Swagger UI for /openapi.json (embedded, works offline)", NULL},
    {"GET", "/apidocs/", "/apidocs/", apidocs, ROUTE_PROBE, "Swagger UI (the same page)", NULL},
    {"GET", "/apidocs/", "/apidocs/{file}", apidocs_asset, ROUTE_PROBE | ROUTE_PREFIX,
     "Swagger UI's files, embedded at build time", asset_params},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
