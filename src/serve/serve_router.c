/* serve_router: the one route table (every family's routes, in order) and lookups into it.
 * Exact paths are found through a small open-addressing hash built at start; prefix routes
 * (/api/status/{code}) are tried after. The same table feeds metric labels and the API docs. */
#include <pthread.h>
#include <string.h>

#include "serve/serve_internal.h"

#define ROUTES_MAX 256
#define HASH_SLOTS 512 /* a power of two, at least twice ROUTES_MAX */

static const serve_route_t *const families[] = {
    serve_info_routes,     serve_cpu_routes,   serve_io_routes,      serve_memory_routes,
    serve_network_routes,  serve_disk_routes,  serve_chaos_routes,   serve_downstream_routes,
    serve_database_routes, serve_users_routes, serve_openapi_routes,
};
/* --role downstream: only the downstream API at the root, beside probes, metrics and docs */
static const serve_route_t *const downstream_role_families[] = {
    serve_info_routes,
    serve_downstream_role_routes,
    serve_openapi_routes,
};

static const serve_route_t *routes[ROUTES_MAX];
static int route_count;
static int16_t slots[HASH_SLOTS]; /* index + 1 of the first route with that path, 0 = empty */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static uint32_t hash_path(const char *p, size_t len)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h;
}

static void build(void)
{
	const serve_config_t *cfg = serve_state.cfg;
	bool role_downstream = cfg && cfg->role && strcmp(cfg->role, "downstream") == 0;
	const serve_route_t *const *tables = role_downstream ? downstream_role_families : families;
	size_t table_count = role_downstream ? sizeof(downstream_role_families) / sizeof(tables[0])
	                                     : sizeof(families) / sizeof(tables[0]);

	for (size_t f = 0; f < table_count; f++) {
		for (const serve_route_t *r = tables[f]; r->fn && route_count < ROUTES_MAX; r++) {
			routes[route_count++] = r;
			if (r->flags & ROUTE_PREFIX)
				continue;
			uint32_t i = hash_path(r->path, strlen(r->path)) & (HASH_SLOTS - 1);
			while (slots[i] && strcmp(routes[slots[i] - 1]->path, r->path) != 0)
				i = (i + 1) & (HASH_SLOTS - 1);
			if (!slots[i])
				slots[i] = (int16_t)route_count;
		}
	}
}

static bool method_matches(const serve_route_t *r, const char *m, size_t mlen)
{
	return !r->method || (strlen(r->method) == mlen && memcmp(r->method, m, mlen) == 0) ||
	       (mlen == 4 && memcmp(m, "HEAD", 4) == 0 && strcmp(r->method, "GET") == 0);
}

/* The index of the first route from `first` on that matches; -1 when none. */
static int scan_same_path(int first, const char *m, size_t mlen, const char *path, size_t plen,
                          bool prefix)
{
	for (int i = first; i < route_count; i++) {
		const serve_route_t *r = routes[i];
		size_t rlen = strlen(r->path);

		if (prefix ? !(r->flags & ROUTE_PREFIX) || plen <= rlen ||
		                 memcmp(r->path, path, rlen) != 0
		           : (r->flags & ROUTE_PREFIX) || rlen != plen ||
		                 memcmp(r->path, path, plen) != 0)
			continue;
		if (method_matches(r, m, mlen))
			return i;
	}
	return -1;
}

static bool path_matches(const serve_route_t *r, const char *path, size_t plen)
{
	size_t rlen = strlen(r->path);

	return (r->flags & ROUTE_PREFIX) ? plen > rlen && memcmp(r->path, path, rlen) == 0
	                                 : rlen == plen && memcmp(r->path, path, plen) == 0;
}

static bool path_exists(const char *path, size_t plen)
{
	for (int i = 0; i < route_count; i++)
		if (path_matches(routes[i], path, plen))
			return true;
	return false;
}

void serve_route_allowed(const char *path, size_t plen, char *out, size_t len)
{
	static const char *const methods[] = {"DELETE", "GET", "HEAD", "PATCH", "POST", "PUT"};
	size_t used = 0;

	pthread_once(&once, build);
	out[0] = '\0';
	for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
		for (int i = 0; i < route_count; i++) {
			if (!path_matches(routes[i], path, plen) ||
			    !method_matches(routes[i], methods[m], strlen(methods[m])))
				continue;
			used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
			                         used ? ", " : "", methods[m]);
			break;
		}
	}
}

const serve_route_t *serve_route_find(const char *method, size_t mlen, const char *path,
                                      size_t plen, bool *path_known, int *index)
{
	int found = -1;
	uint32_t i;

	pthread_once(&once, build);
	*path_known = false;
	i = hash_path(path, plen) & (HASH_SLOTS - 1);
	for (; slots[i]; i = (i + 1) & (HASH_SLOTS - 1)) {
		const serve_route_t *r = routes[slots[i] - 1];

		if (strlen(r->path) == plen && memcmp(r->path, path, plen) == 0) {
			found = scan_same_path(slots[i] - 1, method, mlen, path, plen, false);
			break;
		}
	}
	if (found < 0)
		found = scan_same_path(0, method, mlen, path, plen, true);
	if (found < 0)
		*path_known = path_exists(path, plen);
	*index = found;
	return found < 0 ? NULL : routes[found];
}

int serve_route_count(void)
{
	pthread_once(&once, build);
	return route_count;
}

const serve_route_t *serve_route_at(int index)
{
	pthread_once(&once, build);
	return index >= 0 && index < route_count ? routes[index] : NULL;
}
