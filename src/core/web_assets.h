/* web_assets: files compiled into the binary by scripts/embed_assets.sh — npm packages fetched
 * at build time (swagger-ui-dist for /apidocs, uplot for the HTML report and the live UI,
 * pinned in web/), the report's own template, script and style (web/report/) and the live UI's
 * page (web/ui/) — so nothing needs the network. */
#ifndef SURGE_WEB_ASSETS_H
#define SURGE_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
	const char *group;         /* "swagger-ui-dist", "uplot", "report", "ui" */
	const char *path;          /* "swagger-ui.css": the file's path inside its group */
	const char *content_type;  /* "text/css; charset=utf-8" */
	const unsigned char *data; /* static, lives as long as the process; NUL after len */
	size_t len;
} web_asset_t;

/* The asset of that group with that path (path[0..len), not NUL-terminated), or NULL. */
const web_asset_t *web_asset_find(const char *group, const char *path, size_t len);
/* A group's npm version ("5.35.0"), "" for a repository folder or an unknown group: URLs of
 * served assets carry it so caches can keep them. */
const char *web_asset_version(const char *group);

#endif
