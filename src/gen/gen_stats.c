/* gen_stats: the counters every thread keeps, their merge, the names of error kinds as they
 * appear in summaries and result documents, and statistics kept by name (endpoints, a
 * scenario's checks and metrics). */
#include "gen/gen.h"
#include "result/result.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const error_kind_names[GEN_ERR_KIND_COUNT] = {
    [GEN_ERR_CONNECT_REFUSED] = "connect_refused",
    [GEN_ERR_CONNECT_TIMEOUT] = "connect_timeout",
    [GEN_ERR_CONNECT] = "connect_error",
    [GEN_ERR_READ_TIMEOUT] = "read_timeout",
    [GEN_ERR_RESET] = "reset",
    [GEN_ERR_CLOSED_EARLY] = "closed_early",
    [GEN_ERR_PROTOCOL] = "protocol_error",
    [GEN_ERR_TLS] = "tls_error",
    [GEN_ERR_RESOURCE] = "resource_error",
    [GEN_ERR_STREAM_RESET] = "stream_reset",
    [GEN_ERR_GOAWAY] = "goaway",
    [GEN_ERR_FLOW_CONTROL] = "flow_control",
};

const char *gen_error_kind_name(enum gen_error_kind kind)
{
	return kind < GEN_ERR_KIND_COUNT ? error_kind_names[kind] : "unknown";
}

enum gen_error_kind gen_error_kind_of(int err, enum gen_error_kind otherwise)
{
	switch (err < 0 ? -err : err) {
	case ENOMEM:  /* malloc, or the kernel's socket memory */
	case ENOBUFS: /* likewise, for a socket's buffers */
	case EMFILE:  /* this process's file descriptors (ulimit -n) */
	case ENFILE:  /* the whole system's */
	case ENOSPC:  /* epoll's watches (fs.epoll.max_user_watches) */
	case EADDRNOTAVAIL: /* no local port left to connect from */ return GEN_ERR_RESOURCE;
	default: return otherwise;
	}
}

/* Every count but the status codes': the one list of gen_counters_t's fields to add. */
static void add_but_status(gen_counters_t *dst, const gen_counters_t *src)
{
	dst->requests += src->requests;
	dst->errors += src->errors;
	dst->bytes_in += src->bytes_in;
	dst->bytes_out += src->bytes_out;
	dst->late += src->late;
	dst->dropped += src->dropped;
	dst->unfinished += src->unfinished;
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		dst->errors_by_kind[i] += src->errors_by_kind[i];
	dst->checks_failed += src->checks_failed;
	dst->script_errors += src->script_errors;
}

void gen_counters_add(gen_counters_t *dst, const gen_counters_t *src)
{
	add_but_status(dst, src);
	for (int i = 0; i < GEN_STATUS_MAX; i++)
		dst->status[i] += src->status[i];
}

void gen_counters_add_codes(gen_counters_t *dst, const gen_counters_t *src, const uint16_t *codes,
                            size_t n)
{
	add_but_status(dst, src);
	for (size_t i = 0; i < n; i++)
		dst->status[codes[i]] += src->status[codes[i]];
}

/* ---- statistics by name ---- */

static void copy_name(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static gen_endpoint_t *endpoint_new(const char *method, const char *name)
{
	gen_endpoint_t *e = calloc(1, sizeof(*e));

	if (!e || !(e->latency = malloc(sizeof(*e->latency)))) {
		free(e);
		return NULL;
	}
	result_hist_init(e->latency);
	copy_name(e->method, sizeof(e->method), method);
	copy_name(e->name, sizeof(e->name), name);
	return e;
}

/* The name asked for, as the table keeps it (cut to its fields' sizes). */
typedef struct endpoint_key {
	const gen_named_t *n;
	const char *method, *name;
	size_t method_len, name_len;
} endpoint_key_t;

static bool same_endpoint(const void *ctx, uint32_t position)
{
	const endpoint_key_t *k = ctx;
	const gen_endpoint_t *e = k->n->endpoints[position];

	return strncmp(e->name, k->name, sizeof(e->name) - 1) == 0 &&
	       strncmp(e->method, k->method, sizeof(e->method) - 1) == 0;
}

int gen_named_endpoint(gen_named_t *n, const char *method, const char *name)
{
	endpoint_key_t k = {n, method, name, strnlen(method, sizeof(n->endpoints[0]->method) - 1),
	                    strnlen(name, GEN_NAME_MAX - 1)};
	uint32_t hash = name_index_hash(method, k.method_len, name, k.name_len);
	int64_t found = name_index_find(&n->endpoint_index, hash, same_endpoint, &k);
	gen_endpoint_t *e;

	if (found >= 0)
		return (int)found;
	if (n->endpoint_count == GEN_MAX_ENDPOINTS)
		return GEN_MAX_ENDPOINTS - 1;
	if (n->endpoint_count == GEN_MAX_ENDPOINTS - 1) {
		/* the last slot collects every further name, so memory stays bounded */
		method = "*";
		name = "(other)";
		hash = name_index_hash(method, 1, name, strlen(name));
	}
	if (!(e = endpoint_new(method, name)))
		return -ENOMEM;
	if (name_index_add(&n->endpoint_index, hash, n->endpoint_count) < 0) {
		free(e->latency);
		free(e);
		return -ENOMEM;
	}
	n->endpoints[n->endpoint_count] = e;
	return (int)n->endpoint_count++;
}

gen_tally_t *gen_named_tally(gen_named_t *n, enum gen_tally_kind kind, const char *name)
{
	gen_tally_t *t;

	for (uint32_t i = 0; i < n->tally_count; i++) {
		t = n->tallies[i];
		if (t->kind == kind && strncmp(t->name, name, sizeof(t->name) - 1) == 0)
			return t;
	}
	if (n->tally_count == GEN_MAX_TALLIES || !(t = calloc(1, sizeof(*t))))
		return NULL;
	t->kind = kind;
	copy_name(t->name, sizeof(t->name), name);
	if (kind == GEN_TALLY_TREND) {
		if (!(t->hist = malloc(sizeof(hist_t)))) {
			free(t);
			return NULL;
		}
		hist_reset(t->hist);
	}
	n->tallies[n->tally_count++] = t;
	return t;
}

void gen_named_clear(gen_named_t *n)
{
	for (uint32_t i = 0; i < n->endpoint_count; i++) {
		memset(&n->endpoints[i]->counters, 0, sizeof(n->endpoints[i]->counters));
		result_hist_clear(n->endpoints[i]->latency);
	}
	for (uint32_t i = 0; i < n->tally_count; i++) {
		gen_tally_t *t = n->tallies[i];

		t->passes = t->fails = 0;
		t->value = 0;
		if (t->hist && t->hist->total)
			hist_reset(t->hist);
	}
}

void gen_named_free(gen_named_t *n)
{
	for (uint32_t i = 0; i < n->endpoint_count; i++) {
		result_hist_free(NULL, n->endpoints[i]->latency);
		free(n->endpoints[i]->latency);
		free(n->endpoints[i]);
	}
	name_index_free(&n->endpoint_index);
	for (uint32_t i = 0; i < n->tally_count; i++) {
		free(n->tallies[i]->hist);
		free(n->tallies[i]);
	}
	memset(n, 0, sizeof(*n));
}
