/* web_assets: files fetched from npm at build time (swagger-ui-dist, pinned in web/) and
 * compiled into the binary by scripts/embed_assets.sh, so /apidocs works with no network. */
#ifndef SURGE_WEB_ASSETS_H
#define SURGE_WEB_ASSETS_H

#include <stddef.h>

typedef struct web_asset {
	const char *path;          /* "swagger-ui.css": the file name inside its package */
	const char *content_type;  /* "text/css; charset=utf-8" */
	const unsigned char *data; /* static, lives as long as the process */
	size_t len;
} web_asset_t;

/* The asset with that file name, or NULL. */
const web_asset_t *web_asset_find(const char *path, size_t len);
/* The embedded packages' versions ("5.35.0"): asset URLs carry it so caches can keep them. */
extern const char web_assets_version[];

#endif
