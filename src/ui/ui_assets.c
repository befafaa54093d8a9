/* ui_assets: the UI's page and the files it loads, from the web assets compiled into the binary
 * (core/web_assets.h: the "ui" group is web/ui/, "uplot" the npm package). Each file's address
 * carries a version made from its bytes, so a browser may keep it for a year and still never
 * runs a stale one after an upgrade; the page, which names those versions, is never cached. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/web_assets.h"
#include "ui/ui_internal.h"

#define MARKER_OPEN  "{{asset:"
#define MARKER_CLOSE "}}"

/* The groups the UI server serves; the rest (the report's template, Swagger UI) are not its. */
static const char *const served_groups[] = {"ui", "uplot"};

/* A file's version: FNV-1a over its bytes, 16 hex digits. */
static void asset_version(const web_asset_t *a, char out[17])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < a->len; i++) {
		h ^= a->data[i];
		h *= 0x100000001b3ull;
	}
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* "GROUP/PATH" split: the asset, if its group is one the UI serves. */
static const web_asset_t *find_asset(const char *p, size_t len)
{
	const char *slash = memchr(p, '/', len);

	if (!slash)
		return NULL;
	for (size_t i = 0; i < sizeof(served_groups) / sizeof(served_groups[0]); i++) {
		size_t glen = strlen(served_groups[i]);

		if ((size_t)(slash - p) == glen && memcmp(p, served_groups[i], glen) == 0)
			return web_asset_find(served_groups[i], slash + 1,
			                      len - (size_t)(slash + 1 - p));
	}
	return NULL;
}

int ui_page_render(buf_t *out, char *err, size_t errlen)
{
	const web_asset_t *page = web_asset_find("ui", "index.html", 10);
	const char *p, *end;

	if (!page) {
		snprintf(err, errlen,
		         "ui: the page (web/ui/index.html) is not embedded in this build");
		return -ENOENT;
	}
	p = (const char *)page->data;
	end = p + page->len;
	buf_reset(out);
	while (p < end) {
		const char *open = memmem(p, (size_t)(end - p), MARKER_OPEN, strlen(MARKER_OPEN));
		const char *name, *close;
		const web_asset_t *a;
		char v[17];

		if (!open) {
			buf_append(out, p, (size_t)(end - p));
			break;
		}
		buf_append(out, p, (size_t)(open - p));
		name = open + strlen(MARKER_OPEN);
		close = memmem(name, (size_t)(end - name), MARKER_CLOSE, strlen(MARKER_CLOSE));
		if (!close || !(a = find_asset(name, (size_t)(close - name)))) {
			snprintf(err, errlen, "ui: the page names an asset this build lacks (%.*s)",
			         close ? (int)(close - name) : 40, name);
			return -ENOENT;
		}
		asset_version(a, v);
		buf_printf(out, "/assets/%s/%s?v=%s", a->group, a->path, v);
		p = close + strlen(MARKER_CLOSE);
	}
	if (buf_error(out)) {
		snprintf(err, errlen, "ui: out of memory for the page");
		return buf_error(out);
	}
	return 0;
}

void ui_asset_reply(ui_conn_t *c, const char *path, size_t len)
{
	const web_asset_t *a = find_asset(path, len);
	http_slice_t asked;
	char v[17];

	if (!a) {
		ui_reply_error(c, 404, "no such asset: /assets/%.*s", (int)(len < 200 ? len : 200),
		               path);
		return;
	}
	asset_version(a, v);
	asked = ui_query_param(c->req.query, "v");
	ui_reply_start(c, 200, a->content_type);
	/* the address names these very bytes: no need to ask again; any other address (an old
	 * page, none) asks each time */
	ui_reply_header(c, "Cache-Control: %s",
	                asked.len == 16 && memcmp(asked.p, v, 16) == 0
	                    ? "public, max-age=31536000, immutable"
	                    : "no-cache");
	buf_append(&c->body, a->data, a->len);
	ui_reply_end(c);
}
