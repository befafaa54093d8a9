/* result: the model's memory (every allocation counted), its named parts (endpoints,
 * tallies, timeline points), and the only two ways figures are combined: result_add of a
 * second's delta and result_merge of another result. */
#include "result/result.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* A point's histogram stays open (sparse, still summing the threads' deltas of its second)
 * until the stream is this many seconds past it; then it is encoded (sealed). */
#define RESULT_OPEN_SECONDS 2

/* ---- the heap, counted ---- */

void *result_alloc(result_t *r, size_t size)
{
	void *p = size ? malloc(size) : NULL;

	if (p && r)
		r->bytes += size;
	return p;
}

void *result_realloc(result_t *r, void *p, size_t old_size, size_t new_size)
{
	void *q = realloc(p, new_size);

	if (q && r)
		r->bytes += new_size - old_size;
	return q;
}

void result_release(result_t *r, void *p, size_t size)
{
	if (!p)
		return;
	free(p);
	if (r)
		r->bytes -= size;
}

char *result_strdup(result_t *r, const char *s)
{
	size_t n;
	char *d;

	if (!s)
		return NULL;
	n = strlen(s) + 1;
	d = result_alloc(r, n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void result_strfree(result_t *r, char *s)
{
	if (s)
		result_release(r, s, strlen(s) + 1);
}

size_t result_memory(const result_t *r)
{
	return r->bytes;
}

hist_t *result_scratch(result_t *r)
{
	if (!r->scratch)
		r->scratch = result_alloc(r, sizeof(hist_t));
	return r->scratch;
}

double result_round(double v, int digits)
{
	char text[400];

	if (!isfinite(v))
		return v;
	snprintf(text, sizeof(text), "%.*f", digits, v);
	return strtod(text, NULL);
}

uint64_t result_requests(const gen_counters_t *c)
{
	uint64_t n = c->requests;

	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		n += c->errors_by_kind[i];
	return n;
}

/* ---- life ---- */

void result_init(result_t *r)
{
	memset(r, 0, sizeof(*r));
	result_hist_init(&r->latency);
	result_hist_init(&r->service);
	result_hist_init(&r->generator.sched_lag);
	result_hist_init(&r->tls_handshake);
	r->generator.saturation_shard = -1;
	r->assessment.target_p95_ms = NAN;
}

void result_free(result_t *r)
{
	result_config_t *c = &r->config;

	result_strfree(r, r->version);
	result_strfree(r, c->url);
	result_strfree(r, c->scenario);
	result_strfree(r, c->method);
	result_strfree(r, c->stages);
	for (uint32_t i = 0; i < c->header_count; i++)
		result_strfree(r, c->headers[i]);
	result_release(r, c->headers, c->header_count * sizeof(*c->headers));
	result_hist_free(r, &r->latency);
	result_hist_free(r, &r->service);
	for (uint32_t i = 0; i < r->endpoint_count; i++)
		result_hist_free(r, &r->endpoints[i].latency);
	result_release(r, r->endpoints, r->endpoint_cap * sizeof(*r->endpoints));
	r->bytes -= r->endpoint_index.cap * sizeof(*r->endpoint_index.slots);
	name_index_free(&r->endpoint_index);
	for (uint32_t i = 0; i < r->tally_count; i++)
		result_hist_free(r, &r->tallies[i].hist);
	result_release(r, r->tallies, r->tally_cap * sizeof(*r->tallies));
	result_timeline_free(r);
	result_release(r, r->markers, r->marker_cap * sizeof(*r->markers));
	result_strfree(r, r->group_header);
	for (uint32_t i = 0; i < r->group_count; i++)
		result_hist_free(r, &r->groups[i].latency);
	result_release(r, r->groups, r->group_count * sizeof(*r->groups));
	for (uint32_t i = 0; i < r->threshold_count; i++)
		result_strfree(r, r->thresholds[i].expr);
	result_release(r, r->thresholds, r->threshold_count * sizeof(*r->thresholds));
	result_strfree(r, r->assessment.profile);
	for (uint32_t i = 0; i < r->recommendation_count; i++) {
		result_strfree(r, r->recommendations[i].title);
		result_strfree(r, r->recommendations[i].detail);
	}
	result_release(r, r->recommendations,
	               r->recommendation_count * sizeof(*r->recommendations));
	result_strfree(r, r->target.url);
	result_strfree(r, r->target.last_error);
	result_strfree(r, r->target.cpu_basis);
	result_release(r, r->generator.thread_cpu,
	               r->generator.thread_cpu_count * sizeof(*r->generator.thread_cpu));
	result_hist_free(r, &r->generator.sched_lag);
	result_hist_free(r, &r->tls_handshake);
	for (uint32_t i = 0; i < r->merged_count; i++)
		result_strfree(r, r->merged_from[i]);
	result_release(r, r->merged_from, r->merged_count * sizeof(*r->merged_from));
	result_release(r, r->distributed.lost,
	               r->distributed.lost_count * sizeof(*r->distributed.lost));
	result_release(r, r->scratch, sizeof(hist_t));
	memset(r, 0, sizeof(*r));
}

/* ---- named parts ---- */

/* The name asked for, as the table keeps it (cut to its fields' sizes). */
typedef struct endpoint_key {
	const result_t *r;
	const char *method, *name;
} endpoint_key_t;

static bool same_endpoint(const void *ctx, uint32_t position)
{
	const endpoint_key_t *k = ctx;
	const result_endpoint_t *e = &k->r->endpoints[position];

	return strncmp(e->name, k->name, sizeof(e->name) - 1) == 0 &&
	       strncmp(e->method, k->method, sizeof(e->method) - 1) == 0;
}

static uint32_t endpoint_hash(const char *method, const char *name)
{
	return name_index_hash(method,
	                       strnlen(method, sizeof(((result_endpoint_t *)0)->method) - 1), name,
	                       strnlen(name, sizeof(((result_endpoint_t *)0)->name) - 1));
}

int64_t result_endpoint_find(const result_t *r, const char *method, const char *name)
{
	endpoint_key_t k = {r, method, name};

	return name_index_find(&r->endpoint_index, endpoint_hash(method, name), same_endpoint, &k);
}

result_endpoint_t *result_endpoint(result_t *r, const char *method, const char *name)
{
	uint32_t hash = endpoint_hash(method, name);
	int64_t found = result_endpoint_find(r, method, name);
	uint32_t index_cap = r->endpoint_index.cap;
	result_endpoint_t *e;

	if (found >= 0)
		return &r->endpoints[found];
	if (r->endpoint_count == RESULT_ENDPOINTS_MAX) {
		r->dropped.endpoints++;
		return &r->endpoints[r->endpoint_count - 1];
	}
	if (r->endpoint_count == r->endpoint_cap) {
		uint32_t cap = r->endpoint_cap ? r->endpoint_cap * 2 : 8;

		if (cap > RESULT_ENDPOINTS_MAX)
			cap = RESULT_ENDPOINTS_MAX;
		e = result_realloc(r, r->endpoints, r->endpoint_cap * sizeof(*e), cap * sizeof(*e));
		if (!e)
			return NULL;
		r->endpoints = e;
		r->endpoint_cap = cap;
	}
	if (name_index_add(&r->endpoint_index, hash, r->endpoint_count) < 0)
		return NULL;
	r->bytes += (r->endpoint_index.cap - index_cap) * sizeof(*r->endpoint_index.slots);
	e = &r->endpoints[r->endpoint_count++];
	memset(e, 0, sizeof(*e));
	snprintf(e->method, sizeof(e->method), "%s", method);
	snprintf(e->name, sizeof(e->name), "%s", name);
	result_hist_init(&e->latency);
	return e;
}

result_tally_t *result_tally(result_t *r, enum gen_tally_kind kind, const char *name)
{
	result_tally_t *t;

	for (uint32_t i = 0; i < r->tally_count; i++)
		if (r->tallies[i].kind == kind && strcmp(r->tallies[i].name, name) == 0)
			return &r->tallies[i];
	if (r->tally_count == RESULT_TALLIES_MAX) {
		r->dropped.tallies++;
		return NULL;
	}
	if (r->tally_count == r->tally_cap) {
		uint32_t cap = r->tally_cap ? r->tally_cap * 2 : 8;

		if (cap > RESULT_TALLIES_MAX)
			cap = RESULT_TALLIES_MAX;
		t = result_realloc(r, r->tallies, r->tally_cap * sizeof(*t), cap * sizeof(*t));
		if (!t)
			return NULL;
		r->tallies = t;
		r->tally_cap = cap;
	}
	t = &r->tallies[r->tally_count++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	snprintf(t->name, sizeof(t->name), "%s", name);
	result_hist_init(&t->hist);
	return t;
}

/* ---- sealing: a point's open histogram encoded, and back ---- */

static int seal_point(result_t *r, result_point_t *p)
{
	hist_t *d;
	buf_t b;
	int rc;

	if (!p->open)
		return 0;
	if (!(d = result_scratch(r)))
		return -ENOMEM;
	result_hist_expand(p->open, d);
	p->p50_us = hist_percentile(d, 50);
	p->p95_us = hist_percentile(d, 95);
	p->p99_us = hist_percentile(d, 99);
	if (d->total) {
		buf_init(&b, 16u << 20);
		rc = hist_encode_base64(d, &b);
		if (rc < 0) {
			buf_free(&b);
			return rc;
		}
		/* counted: the text moves into the point */
		p->hist = result_alloc(r, b.len + 1);
		if (!p->hist) {
			buf_free(&b);
			return -ENOMEM;
		}
		memcpy(p->hist, b.data, b.len + 1);
		p->hist_len = b.len;
		buf_free(&b);
	}
	result_hist_free(r, p->open);
	result_release(r, p->open, sizeof(*p->open));
	p->open = NULL;
	return 0;
}

/* The point's histogram open for adding: decoded from its text when sealed. */
static result_hist_t *open_point(result_t *r, result_point_t *p)
{
	hist_t *d;

	if (p->open)
		return p->open;
	if (!(p->open = result_alloc(r, sizeof(*p->open))))
		return NULL;
	result_hist_init(p->open);
	if (p->hist) {
		if (!(d = result_scratch(r)) || hist_decode_base64(p->hist, p->hist_len, d) < 0 ||
		    result_hist_set(r, p->open, d) < 0)
			return NULL;
		result_release(r, p->hist, p->hist_len + 1);
		p->hist = NULL;
		p->hist_len = 0;
	}
	return p->open;
}

int result_seal(result_t *r)
{
	for (size_t i = r->sealed_upto; i < r->point_count; i++) {
		int rc = seal_point(r, &r->window[i - r->window_first]);

		if (rc < 0)
			return rc;
	}
	r->sealed_upto = r->point_count;
	return 0;
}

/* ---- result_add ---- */

static int add_tallies(result_t *r, const delta_tally_t *src, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		result_tally_t *t = result_tally(r, src[i].kind, src[i].name);

		if (!t)
			continue; /* counted in dropped.tallies, or no memory: see below */
		t->passes += src[i].passes;
		t->fails += src[i].fails;
		t->value += src[i].value;
		if (result_hist_add(r, &t->hist, &src[i].hist) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* The delta's changes of the load appended to r's (bounded; what cannot be kept counted). */
static void add_markers(result_t *r, const gen_marker_t *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (r->marker_count == r->marker_cap) {
			uint32_t cap = r->marker_cap ? r->marker_cap * 2 : 8;
			gen_marker_t *grown;

			if (cap > RESULT_MARKERS_MAX)
				cap = RESULT_MARKERS_MAX;
			if (cap == r->marker_cap ||
			    !(grown = result_realloc(r, r->markers, r->marker_cap * sizeof(*grown),
			                             cap * sizeof(*grown)))) {
				r->dropped.markers += n - i;
				return;
			}
			r->markers = grown;
			r->marker_cap = cap;
		}
		r->markers[r->marker_count++] = m[i];
	}
}

/* The delta's second added to its point (users and counters summed, its histogram into the
 * point's, opened — decoded when sealed). 0 or -ENOMEM. */
static int add_to_point(result_t *r, result_point_t *p, const delta_t *d)
{
	result_hist_t *open = open_point(r, p);

	/* the threads' last second ends when the last of them stops */
	if (!p->deltas++ || d->length_s > p->length_s)
		p->length_s = d->length_s;
	p->t = (double)p->second + p->length_s;
	p->users += d->users;
	p->target = d->target;
	p->requests += d->counters.requests;
	p->errors += d->counters.errors;
	p->late += d->counters.late;
	p->dropped += d->counters.dropped;
	p->bytes_in += d->counters.bytes_in;
	p->due += d->due;
	p->due_late += d->due_late;
	if (d->busiest_cpu > p->busiest_cpu)
		p->busiest_cpu = d->busiest_cpu;
	return !open || result_hist_add(r, open, &d->latency) < 0 ? -ENOMEM : 0;
}

/* A delta of a second already spilled (a thread, or a starved pacer's due counts, came more
 * than RESULT_SPILL_AFTER seconds late): the second read back, added to, sealed and written
 * again. Its old text stays in the file, unread. 0, or a negative errno: the delta is lost
 * to that second (the caller counts it), and a write failure stops spilling. */
static int add_to_spilled(result_t *r, const delta_t *d)
{
	result_point_t p;
	int rc = result_timeline_load(r, (size_t)d->second, &p);

	if (rc == 0 && (rc = add_to_point(r, &p, d)) == 0 && (rc = seal_point(r, &p)) == 0)
		rc = result_timeline_store(r, (size_t)d->second, &p);
	result_point_free(r, &p);
	return rc;
}

int result_add(result_t *r, const delta_t *d)
{
	result_point_t *p;
	int rc = 0;

	r->has_generator = true; /* the deltas are the generator's own figures */
	gen_counters_add(&r->counters, &d->counters);
	if (result_hist_add(r, &r->latency, &d->latency) < 0 ||
	    result_hist_add(r, &r->service, &d->service) < 0 ||
	    result_hist_add(r, &r->generator.sched_lag, &d->sched_lag) < 0)
		rc = -ENOMEM;
	for (uint32_t i = 0; i < d->endpoint_count; i++) {
		const delta_endpoint_t *de = &d->endpoints[i];
		result_endpoint_t *e = result_endpoint(r, de->method, de->name);

		if (!e) {
			rc = -ENOMEM;
			continue;
		}
		gen_counters_add(&e->counters, &de->counters);
		if (result_hist_add(r, &e->latency, &de->latency) < 0)
			rc = -ENOMEM;
	}
	if (add_tallies(r, d->tallies, d->tally_count) < 0)
		rc = -ENOMEM;
	add_markers(r, d->markers, d->marker_count);
	if (d->second >= 0 && (size_t)d->second < r->window_first) {
		int lost = add_to_spilled(r, d);

		if (lost < 0)
			rc = lost;
	} else if ((p = result_point(r, d->second))) {
		if ((size_t)p->second < r->sealed_upto)
			r->sealed_upto = (size_t)p->second; /* open again: sealed with the others */
		if (add_to_point(r, p, d) < 0)
			rc = -ENOMEM;
	}
	if ((double)d->second + d->length_s > r->duration_s)
		r->duration_s = (double)d->second + d->length_s;
	/* seal what the stream has moved past: its threads' deltas are in */
	while (r->sealed_upto < r->point_count &&
	       (int64_t)r->sealed_upto + RESULT_OPEN_SECONDS < d->second) {
		if (seal_point(r, &r->window[r->sealed_upto - r->window_first]) < 0) {
			r->dropped.deltas_lost++;
			return -ENOMEM;
		}
		r->sealed_upto++;
	}
	/* and what is sealed leaves memory (a failure keeps it there: said in spill.error) */
	(void)result_timeline_spill(r);
	if (rc < 0)
		r->dropped.deltas_lost++;
	return rc;
}

static int group_by_value(const void *a, const void *b)
{
	const result_group_t *const *x = a, *const *y = b;

	return strcmp((*x)->value, (*y)->value);
}

const result_group_t **result_groups_sorted(const result_t *r, uint64_t *grouped, uint64_t *most)
{
	const result_group_t **s = malloc((r->group_count ? r->group_count : 1) * sizeof(*s));

	*grouped = *most = 0;
	if (!s)
		return NULL;
	for (uint32_t i = 0; i < r->group_count; i++) {
		s[i] = &r->groups[i];
		*grouped += s[i]->responses;
		*most = s[i]->responses > *most ? s[i]->responses : *most;
	}
	qsort(s, r->group_count, sizeof(*s), group_by_value);
	return s;
}
