/* ui_routes: what the UI server answers — the route table and each route's handler: the page,
 * its assets, the event stream, control requests (POST, JSON, to the caller's callback),
 * downloads and /metrics (from the caller's callbacks). Access (ui_access.c) is checked first,
 * then the method, then the route's own input. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "ui/ui_control.h"
#include "ui/ui_internal.h"

#define CONTROL_PREFIX "/api/control/"

enum route_kind {
	ROUTE_PAGE,
	ROUTE_ASSET,
	ROUTE_EVENTS,
	ROUTE_CONTROL,
	ROUTE_METRICS,
	ROUTE_DOWNLOAD
};

static bool path_is(http_slice_t path, const char *s)
{
	return path.len == strlen(s) && memcmp(path.p, s, path.len) == 0;
}

static bool path_starts(http_slice_t path, const char *s)
{
	return path.len > strlen(s) && memcmp(path.p, s, strlen(s)) == 0;
}

static bool method_is(const http_request_t *r, const char *m)
{
	return r->method.len == strlen(m) && memcmp(r->method.p, m, r->method.len) == 0;
}

/* The download of that path ("/api/result.json"), or NULL. */
static const ui_download_t *find_download(const ui_t *ui, http_slice_t path)
{
	if (!path_starts(path, "/api/"))
		return NULL;
	for (size_t i = 0; i < ui->cfg.download_count; i++) {
		const ui_download_t *d = &ui->cfg.downloads[i];

		if (path.len == 5 + strlen(d->name) &&
		    memcmp(path.p + 5, d->name, path.len - 5) == 0)
			return d;
	}
	return NULL;
}

/* Which route the path names; false when none does. */
static bool find_route(const ui_t *ui, http_slice_t path, enum route_kind *kind,
                       const ui_download_t **download)
{
	*download = NULL;
	if (path_is(path, "/metrics") && ui->cfg.metrics)
		*kind = ROUTE_METRICS;
	else if (ui->cfg.mode == UI_MODE_METRICS_ONLY)
		return false;
	else if (path_is(path, "/") || path_is(path, "/index.html"))
		*kind = ROUTE_PAGE;
	else if (path_starts(path, "/assets/"))
		*kind = ROUTE_ASSET;
	else if (path_is(path, "/api/events"))
		*kind = ROUTE_EVENTS;
	else if (path_starts(path, CONTROL_PREFIX))
		*kind = ROUTE_CONTROL;
	else if ((*download = find_download(ui, path)))
		*kind = ROUTE_DOWNLOAD;
	else
		return false;
	return true;
}

/* The page came with ?token=: the token goes into a cookie the browser sends by itself (an
 * EventSource cannot send a header), and the address bar loses it (history, screenshots). */
static void trade_token_for_cookie(ui_conn_t *c)
{
	ui_reply_start(c, 303, "text/plain; charset=utf-8");
	ui_reply_header(c, "Location: /");
	ui_reply_header(c, "Cache-Control: no-store");
	ui_reply_header(c, "Set-Cookie: " UI_TOKEN_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict",
	                c->ui->token);
	buf_append_str(&c->body, "see /\n");
	ui_reply_end(c);
}

static void page(ui_conn_t *c)
{
	ui_reply_start(c, 200, "text/html; charset=utf-8");
	/* the page names its assets' versions: fetched again each time, they are cached */
	ui_reply_header(c, "Cache-Control: no-cache");
	ui_reply_header(c, "Content-Security-Policy: default-src 'self'; script-src 'self'; "
	                   "style-src 'self'; img-src 'self' data:; connect-src 'self'; "
	                   "frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
	buf_append(&c->body, c->ui->page.data, c->ui->page.len);
	ui_reply_end(c);
}

/* Whether the request's Content-Type is `type` (parameters after ';' allowed). */
static bool content_type_is(ui_conn_t *c, const char *type)
{
	http_slice_t v = http_request_header(&c->req, "content-type");
	size_t n = strlen(type);

	return v.p && v.len >= n && strncasecmp(v.p, type, n) == 0 &&
	       (v.len == n || v.p[n] == ';' || v.p[n] == ' ');
}

static void control(ui_conn_t *c)
{
	const ui_config_t *cfg = &c->ui->cfg;
	http_slice_t path = c->req.path;
	const char *p = path.p + strlen(CONTROL_PREFIX);
	size_t len = path.len - strlen(CONTROL_PREFIX);
	char name[UI_CONTROL_NAME_MAX + 1], err[512] = "", shown[ECHO_SIZE], copy[256];
	bool bytes =
	    c->body_len && cfg->control_bytes && content_type_is(c, "application/octet-stream");
	json_t *args = NULL;
	buf_t reply;
	int rc;

	if (!ui_control_name_ok(p, len) || !cfg->control) {
		snprintf(copy, sizeof(copy), "%.*s", (int)(len < 255 ? len : 255), p);
		ui_reply_error(c, 404, "no such control: '%s'",
		               echo_value(copy, shown, sizeof(shown)));
		return;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	if (!bytes && (rc = ui_control_args(&c->req, c->in + c->head_len, (size_t)c->body_len,
	                                    &args, err, sizeof(err)))) {
		ui_reply_error(c, rc, "%s", err);
		return;
	}
	buf_init(&reply, cfg->max_response_bytes); /* a coordinator's join sends the test */
	if (bytes)
		rc = cfg->control_bytes(cfg->ctx, name, (const uint8_t *)c->in + c->head_len,
		                        (size_t)c->body_len, &reply, err, sizeof(err));
	else
		rc = cfg->control(cfg->ctx, name, args, &reply, err, sizeof(err));
	json_decref(args);
	if (rc == 0 && buf_error(&reply)) {
		ui_reply_error(c, 500, "%s: done, but its answer did not fit in %zu bytes", name,
		               cfg->max_response_bytes);
	} else if (rc == 0) {
		ui_reply_start(c, 200, "application/json");
		ui_reply_header(c, "Cache-Control: no-store");
		if (reply.len)
			buf_append(&c->body, reply.data, reply.len);
		else
			buf_append_str(&c->body, "{\"ok\":true}");
		buf_append_char(&c->body, '\n');
		ui_reply_end(c);
	} else {
		ui_reply_error(c, rc >= 400 && rc <= 499 ? rc : 500, "%s",
		               err[0] ? err : "the control failed");
	}
	buf_free(&reply);
}

/* A body the callback could not fit within max_response_bytes: refused whole. */
static bool body_too_large(ui_conn_t *c, const char *what)
{
	if (buf_error(&c->body) != -ENOBUFS)
		return false;
	ui_count(&c->ui->counters.responses_too_large, 1);
	ui_reply_error(c, 503, "%s is larger than this server sends (%zu bytes)", what,
	               c->ui->cfg.max_response_bytes);
	return true;
}

static void download(ui_conn_t *c, const ui_download_t *d)
{
	const ui_config_t *cfg = &c->ui->cfg;
	char err[512] = "";
	int rc;

	if (!cfg->download) {
		ui_reply_error(c, 404, "no downloads here");
		return;
	}
	if (c->ui->downloads_active >= cfg->max_downloads) {
		ui_count(&c->ui->counters.downloads_busy, 1);
		ui_reply_error(c, 503, "%u downloads are being sent: try again in a moment",
		               cfg->max_downloads);
		return;
	}
	/* held until the response is out: at most max_downloads bodies in memory at once */
	c->download = true;
	c->ui->downloads_active++;
	ui_reply_start(c, 200, d->content_type);
	rc = cfg->download(cfg->ctx, d->name, &c->body, err, sizeof(err));
	if (rc != 0) {
		ui_reply_error(c, rc >= 400 && rc <= 599 ? rc : 500, "%s: %s", d->name,
		               err[0] ? err : "failed");
		return;
	}
	if (body_too_large(c, d->name))
		return;
	ui_reply_header(c, "Cache-Control: no-store");
	if (d->filename)
		ui_reply_header(c, "Content-Disposition: attachment; filename=\"%s\"", d->filename);
	ui_reply_end(c);
}

static void metrics(ui_conn_t *c)
{
	const ui_config_t *cfg = &c->ui->cfg;
	int rc;

	ui_reply_start(c, 200, "text/plain; version=0.0.4; charset=utf-8");
	rc = cfg->metrics(cfg->ctx, &c->body);
	if (body_too_large(c, "/metrics"))
		return;
	if (rc < 0) {
		ui_reply_error(c, 503, "/metrics: %s", strerror(-rc));
		return;
	}
	ui_reply_header(c, "Cache-Control: no-store");
	ui_reply_end(c);
}

static bool refuse_method(ui_conn_t *c, enum route_kind kind)
{
	bool get = method_is(&c->req, "GET") || method_is(&c->req, "HEAD");

	if (kind == ROUTE_CONTROL) {
		if (method_is(&c->req, "POST"))
			return false;
		ui_reply_error_with(c, 405, "Allow: POST",
		                    "control requests are POST, with a JSON object as the body");
		return true;
	}
	if (get)
		return false;
	ui_reply_error_with(c, 405, "Allow: GET, HEAD", "%.*s is read with GET (or HEAD) only",
	                    (int)(c->req.path.len < 256 ? c->req.path.len : 256), c->req.path.p);
	return true;
}

bool ui_route(ui_conn_t *c)
{
	ui_t *ui = c->ui;
	enum route_kind kind = ROUTE_PAGE;
	enum ui_token_source source;
	const ui_download_t *d;
	char why[2048], shown[ECHO_SIZE], copy[512];
	bool found = find_route(ui, c->req.path, &kind, &d);
	int status;

	status = ui_access_check(&ui->access, &c->req, found && kind == ROUTE_CONTROL, &source, why,
	                         sizeof(why));
	if (status) {
		ui_count(&ui->counters.refused_auth, 1);
		ui_reply_error(c, status, "%s", why);
		return true;
	}
	if (!found) {
		snprintf(copy, sizeof(copy), "%.*s",
		         (int)(c->req.path.len < 511 ? c->req.path.len : 511), c->req.path.p);
		ui_reply_error(c, 404,
		               ui->cfg.mode == UI_MODE_METRICS_ONLY
		                   ? "no such path: '%s' (this server answers /metrics only)"
		                   : "no such path: '%s'",
		               echo_value(copy, shown, sizeof(shown)));
		return true;
	}
	if (refuse_method(c, kind))
		return true;
	switch (kind) {
	case ROUTE_PAGE:
		if (source == UI_TOKEN_QUERY)
			trade_token_for_cookie(c);
		else
			page(c);
		return true;
	case ROUTE_ASSET: ui_asset_reply(c, c->req.path.p + 8, c->req.path.len - 8); return true;
	case ROUTE_EVENTS: return ui_stream_begin(c);
	case ROUTE_CONTROL: control(c); return true;
	case ROUTE_METRICS: metrics(c); return true;
	case ROUTE_DOWNLOAD: download(c, d); return true;
	}
	return true;
}
