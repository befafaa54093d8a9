/* delta_wire: a second of the stream written and read back exactly (see delta_wire.h).
 *
 * {"v": 1, "second": 12, "length_s": 1, "users": 50, "target": 50, "busiest_cpu": 0.4,
 *  "due": 0, "due_late": 0, "counters": C, "latency": H, "service": H, "sched_lag": H,
 *  "endpoints": [{"method": "GET", "name": "/x", "counters": C, "latency": H}],
 *  "tallies": [{"kind": "check", "name": "ok", "passes": 1, "fails": 0, "value": 0,
 *               "hist": H}]}
 * C: {"requests", "errors", "bytes_in", "bytes_out", "late", "dropped", "checks_failed",
 *     "script_errors", "status": [[200, 812]], "kinds": [0, 0, ...]} (one per error kind)
 * H: {"n", "min", "max", "sum", "sum_sq", "clamped", "b": [[index, count], ...]}
 * JSON for the same reasons as the result document: read by eye when a fleet misbehaves,
 * fuzzed with the same parser; a second of 20 endpoints is a few kilobytes. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "core/json.h"
#include "core/json_alloc.h"
#include "result/delta_wire.h"

static const char *const tally_kinds[] = {"check", "counter", "trend", "script_error"};

/* ---- encode ---- */

/* v exactly: the shortest of %.15g and %.17g that reads back as v. */
static void exact(json_writer_t *w, const char *key, double v)
{
	char text[40];

	if (!isfinite(v))
		v = 0; /* sums of finite values; never written otherwise */
	snprintf(text, sizeof(text), "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, sizeof(text), "%.17g", v);
	jsonw_key(w, key);
	jsonw_raw(w, text, strlen(text));
}

static void count(json_writer_t *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

static void write_hist(json_writer_t *w, const char *key, const result_hist_t *h)
{
	jsonw_key(w, key);
	jsonw_object_begin(w);
	count(w, "n", h->total);
	if (h->total) {
		jsonw_key(w, "min");
		jsonw_int(w, h->min);
		jsonw_key(w, "max");
		jsonw_int(w, h->max);
	}
	exact(w, "sum", h->sum);
	exact(w, "sum_sq", h->sum_sq);
	count(w, "clamped", h->clamped);
	jsonw_key(w, "b");
	jsonw_array_begin(w);
	for (uint32_t i = 0; i < h->len; i++) {
		jsonw_array_begin(w);
		jsonw_uint(w, h->buckets[i].index);
		jsonw_uint(w, h->buckets[i].count);
		jsonw_array_end(w);
	}
	jsonw_array_end(w);
	jsonw_object_end(w);
}

static void write_counters(json_writer_t *w, const gen_counters_t *c)
{
	jsonw_key(w, "counters");
	jsonw_object_begin(w);
	count(w, "requests", c->requests);
	count(w, "errors", c->errors);
	count(w, "bytes_in", c->bytes_in);
	count(w, "bytes_out", c->bytes_out);
	count(w, "late", c->late);
	count(w, "dropped", c->dropped);
	count(w, "unfinished", c->unfinished);
	count(w, "checks_failed", c->checks_failed);
	count(w, "script_errors", c->script_errors);
	jsonw_key(w, "status");
	jsonw_array_begin(w);
	for (int i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		jsonw_array_begin(w);
		jsonw_uint(w, (uint64_t)i);
		jsonw_uint(w, c->status[i]);
		jsonw_array_end(w);
	}
	jsonw_array_end(w);
	jsonw_key(w, "kinds");
	jsonw_array_begin(w);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		jsonw_uint(w, c->errors_by_kind[i]);
	jsonw_array_end(w);
	jsonw_object_end(w);
}

int delta_wire_encode(const result_t *sum, int64_t second, buf_t *out)
{
	const result_point_t *p = sum->point_count ? &sum->points[0] : NULL;
	json_writer_t w;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	count(&w, "v", DELTA_WIRE_VERSION);
	jsonw_key(&w, "second");
	jsonw_int(&w, second);
	exact(&w, "length_s", p ? p->length_s : 1);
	count(&w, "users", p ? p->users : 0);
	exact(&w, "target", p ? p->target : 0);
	exact(&w, "busiest_cpu", p ? p->busiest_cpu : 0);
	count(&w, "due", p ? p->due : 0);
	count(&w, "due_late", p ? p->due_late : 0);
	write_counters(&w, &sum->counters);
	write_hist(&w, "latency", &sum->latency);
	write_hist(&w, "service", &sum->service);
	write_hist(&w, "sched_lag", &sum->generator.sched_lag);
	jsonw_key(&w, "endpoints");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < sum->endpoint_count; i++) {
		const result_endpoint_t *e = &sum->endpoints[i];

		jsonw_object_begin(&w);
		jsonw_key(&w, "method");
		jsonw_string(&w, e->method);
		jsonw_key(&w, "name");
		jsonw_string(&w, e->name);
		write_counters(&w, &e->counters);
		write_hist(&w, "latency", &e->latency);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_key(&w, "tallies");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < sum->tally_count; i++) {
		const result_tally_t *t = &sum->tallies[i];

		jsonw_object_begin(&w);
		jsonw_key(&w, "kind");
		jsonw_string(&w, tally_kinds[t->kind]);
		jsonw_key(&w, "name");
		jsonw_string(&w, t->name);
		count(&w, "passes", t->passes);
		count(&w, "fails", t->fails);
		exact(&w, "value", t->value);
		write_hist(&w, "hist", &t->hist);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	return w.err;
}

/* ---- decode: every key checked, the first fault named ---- */

typedef struct reader {
	const char *name;
	char *err;
	size_t errlen;
	int rc; /* the first fault */
} reader_t;

__attribute__((format(printf, 3, 4))) static void fault(reader_t *r, const char *path,
                                                        const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (r->rc)
		return;
	r->rc = -EINVAL;
	n = (size_t)snprintf(r->err, r->errlen, "%s: %s: ", r->name, path);
	if (n < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
}

static void path_of(char *out, size_t len, const char *at, const char *key)
{
	snprintf(out, len, "%s%s%s", at, at[0] ? "." : "", key);
}

static uint64_t get_count(reader_t *r, const json_t *o, const char *at, const char *key,
                          uint64_t max)
{
	const json_t *v = json_object_get(o, key);
	char path[256];

	path_of(path, sizeof(path), at, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		fault(r, path, "expected an integer from 0 to %llu", (unsigned long long)max);
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static double get_number(reader_t *r, const json_t *o, const char *at, const char *key, double min,
                         double max)
{
	const json_t *v = json_object_get(o, key);
	char path[256];
	double x = json_is_number(v) ? json_number_value(v) : NAN;

	path_of(path, sizeof(path), at, key);
	if (!(x >= min && x <= max)) {
		fault(r, path, "expected a number from %g to %g", min, max);
		return min;
	}
	return x;
}

/* A string of 1..cap-1 bytes without NUL, copied into out. */
static void get_string(reader_t *r, const json_t *o, const char *at, const char *key, char *out,
                       size_t cap)
{
	const json_t *v = json_object_get(o, key);
	char path[256];

	path_of(path, sizeof(path), at, key);
	out[0] = '\0';
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		fault(r, path, "expected a string of 1 to %zu bytes", cap - 1);
		return;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
}

static const json_t *get_array(reader_t *r, const json_t *o, const char *at, const char *key,
                               size_t max)
{
	const json_t *v = json_object_get(o, key);
	char path[256];

	path_of(path, sizeof(path), at, key);
	if (!json_is_array(v) || json_array_size(v) > max) {
		fault(r, path, "expected an array of at most %zu", max);
		return NULL;
	}
	return v;
}

static const json_t *get_object(reader_t *r, const json_t *o, const char *at, const char *key)
{
	const json_t *v = json_object_get(o, key);
	char path[256];

	path_of(path, sizeof(path), at, key);
	if (!json_is_object(v)) {
		fault(r, path, "expected an object");
		return NULL;
	}
	return v;
}

/* [a, b] with 0 <= a <= amax and 0 < b */
static bool get_pair(reader_t *r, const json_t *v, const char *path, uint64_t amax, uint64_t *a,
                     uint64_t *b)
{
	const json_t *x = json_array_get(v, 0), *y = json_array_get(v, 1);

	if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(x) ||
	    !json_is_integer(y) || json_integer_value(x) < 0 ||
	    (uint64_t)json_integer_value(x) > amax || json_integer_value(y) <= 0) {
		fault(r, path,
		      "expected [index, count] pairs with index at most %llu and count above 0",
		      (unsigned long long)amax);
		return false;
	}
	*a = (uint64_t)json_integer_value(x);
	*b = (uint64_t)json_integer_value(y);
	return true;
}

static void read_hist(reader_t *r, const json_t *parent, const char *at, const char *key,
                      result_hist_t *h)
{
	const json_t *o = get_object(r, parent, at, key), *b, *v;
	char path[256];
	uint64_t sum = 0;
	size_t i;

	result_hist_init(h);
	if (!o)
		return;
	path_of(path, sizeof(path), at, key);
	h->total = get_count(r, o, path, "n", INT64_MAX);
	if (h->total) {
		h->min = (int64_t)get_count(r, o, path, "min", INT64_MAX);
		h->max = (int64_t)get_count(r, o, path, "max", INT64_MAX);
		if (!r->rc && h->min > h->max)
			fault(r, path, "min is above max");
	} else {
		h->max = 0;
	}
	h->sum = get_number(r, o, path, "sum", -HUGE_VAL, HUGE_VAL);
	h->sum_sq = get_number(r, o, path, "sum_sq", 0, HUGE_VAL);
	h->clamped = get_count(r, o, path, "clamped", h->total);
	if (!(b = get_array(r, o, path, "b", HIST_COUNTS_LEN)) || r->rc)
		return;
	if (json_array_size(b) &&
	    !(h->buckets = malloc(json_array_size(b) * sizeof(*h->buckets)))) {
		r->rc = -ENOMEM;
		snprintf(r->err, r->errlen, "%s: out of memory", r->name);
		return;
	}
	h->cap = (uint32_t)json_array_size(b);
	json_array_foreach(b, i, v)
	{
		uint64_t index, n;
		char at_i[300];

		snprintf(at_i, sizeof(at_i), "%s.b[%zu]", path, i);
		if (!get_pair(r, v, at_i, HIST_COUNTS_LEN - 1, &index, &n))
			return;
		if (h->len && index <= h->buckets[h->len - 1].index) {
			fault(r, at_i, "bucket indices must increase");
			return;
		}
		if (n > UINT64_MAX - sum) {
			fault(r, at_i, "counts overflow");
			return;
		}
		sum += n;
		h->buckets[h->len++] = (result_bucket_t){(uint32_t)index, n};
	}
	if (sum != h->total)
		fault(r, path, "the buckets count %llu, n says %llu", (unsigned long long)sum,
		      (unsigned long long)h->total);
}

static void read_counters(reader_t *r, const json_t *parent, const char *at, gen_counters_t *c)
{
	const json_t *o = get_object(r, parent, at, "counters"), *a, *v;
	char path[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	if (!o)
		return;
	path_of(path, sizeof(path), at, "counters");
	c->requests = get_count(r, o, path, "requests", INT64_MAX);
	c->errors = get_count(r, o, path, "errors", INT64_MAX);
	c->bytes_in = get_count(r, o, path, "bytes_in", INT64_MAX);
	c->bytes_out = get_count(r, o, path, "bytes_out", INT64_MAX);
	c->late = get_count(r, o, path, "late", INT64_MAX);
	c->dropped = get_count(r, o, path, "dropped", INT64_MAX);
	c->unfinished = get_count(r, o, path, "unfinished", INT64_MAX);
	c->checks_failed = get_count(r, o, path, "checks_failed", INT64_MAX);
	c->script_errors = get_count(r, o, path, "script_errors", INT64_MAX);
	if ((a = get_array(r, o, path, "status", GEN_STATUS_MAX)))
		json_array_foreach(a, i, v)
		{
			uint64_t code, n;
			char at_i[300];

			snprintf(at_i, sizeof(at_i), "%s.status[%zu]", path, i);
			if (!get_pair(r, v, at_i, GEN_STATUS_MAX - 1, &code, &n))
				return;
			c->status[code] += n;
		}
	if ((a = get_array(r, o, path, "kinds", GEN_ERR_KIND_COUNT))) {
		if (json_array_size(a) != GEN_ERR_KIND_COUNT) {
			fault(r, path, "kinds: expected %d counts (one per error kind)",
			      GEN_ERR_KIND_COUNT);
			return;
		}
		json_array_foreach(a, i, v)
		{
			if (!json_is_integer(v) || json_integer_value(v) < 0) {
				fault(r, path, "kinds[%zu]: expected a non-negative integer", i);
				return;
			}
			c->errors_by_kind[i] = (uint64_t)json_integer_value(v);
		}
	}
}

static void read_endpoints(reader_t *r, const json_t *doc, delta_wire_t *w)
{
	const json_t *a = get_array(r, doc, "", "endpoints", RESULT_ENDPOINTS_MAX), *v;
	size_t i;

	if (!a || r->rc || !json_array_size(a))
		return;
	if (!(w->endpoints = calloc(json_array_size(a), sizeof(*w->endpoints)))) {
		r->rc = -ENOMEM;
		snprintf(r->err, r->errlen, "%s: out of memory", r->name);
		return;
	}
	json_array_foreach(a, i, v)
	{
		delta_endpoint_t *e = &w->endpoints[i];
		char at[64];

		result_hist_init(&e->latency);
		w->d.endpoint_count = (uint32_t)i + 1; /* freed up to here whatever happens */
		snprintf(at, sizeof(at), "endpoints[%zu]", i);
		if (!json_is_object(v)) {
			fault(r, at, "expected an object");
			return;
		}
		get_string(r, v, at, "method", e->method, sizeof(e->method));
		get_string(r, v, at, "name", e->name, sizeof(e->name));
		read_counters(r, v, at, &e->counters);
		read_hist(r, v, at, "latency", &e->latency);
		if (r->rc)
			return;
	}
}

static void read_tallies(reader_t *r, const json_t *doc, delta_wire_t *w)
{
	const json_t *a = get_array(r, doc, "", "tallies", RESULT_TALLIES_MAX), *v;
	size_t i;

	if (!a || r->rc || !json_array_size(a))
		return;
	if (!(w->tallies = calloc(json_array_size(a), sizeof(*w->tallies)))) {
		r->rc = -ENOMEM;
		snprintf(r->err, r->errlen, "%s: out of memory", r->name);
		return;
	}
	json_array_foreach(a, i, v)
	{
		delta_tally_t *t = &w->tallies[i];
		const char *kind = json_string_value(json_object_get(v, "kind"));
		char at[64];
		int k;

		result_hist_init(&t->hist);
		w->d.tally_count = (uint32_t)i + 1;
		snprintf(at, sizeof(at), "tallies[%zu]", i);
		for (k = 0; k < 4 && !(kind && strcmp(kind, tally_kinds[k]) == 0); k++)
			;
		if (k == 4) {
			fault(r, at, "kind: expected check, counter, trend or script_error");
			return;
		}
		t->kind = (enum gen_tally_kind)k;
		get_string(r, v, at, "name", t->name, sizeof(t->name));
		t->passes = get_count(r, v, at, "passes", INT64_MAX);
		t->fails = get_count(r, v, at, "fails", INT64_MAX);
		t->value = get_number(r, v, at, "value", -HUGE_VAL, HUGE_VAL);
		read_hist(r, v, at, "hist", &t->hist);
		if (r->rc)
			return;
	}
}

/* Every key of doc checked into w; the first fault in r. */
static void read_doc(reader_t *r, const json_t *doc, delta_wire_t *w)
{
	delta_t *d = &w->d;

	if (!json_is_object(doc)) {
		fault(r, "(root)", "expected an object");
	} else if (!json_is_integer(json_object_get(doc, "v")) ||
	           json_integer_value(json_object_get(doc, "v")) != DELTA_WIRE_VERSION) {
		fault(r, "v", "version %s, this surge reads %d: run the same surge everywhere",
		      json_is_integer(json_object_get(doc, "v")) ? "other" : "missing",
		      DELTA_WIRE_VERSION);
	} else {
		d->second = (int64_t)get_count(r, doc, "", "second", RESULT_POINTS_MAX - 1);
		d->length_s = get_number(r, doc, "", "length_s", 0, DELTA_WIRE_LENGTH_MAX_S);
		d->users = (uint32_t)get_count(r, doc, "", "users", UINT32_MAX);
		d->target = get_number(r, doc, "", "target", 0, 1e12);
		d->busiest_cpu = get_number(r, doc, "", "busiest_cpu", 0, 1024);
		d->due = get_count(r, doc, "", "due", INT64_MAX);
		d->due_late = get_count(r, doc, "", "due_late", d->due);
		read_counters(r, doc, "", &d->counters);
		read_hist(r, doc, "", "latency", &d->latency);
		read_hist(r, doc, "", "service", &d->service);
		read_hist(r, doc, "", "sched_lag", &d->sched_lag);
		read_endpoints(r, doc, w);
		read_tallies(r, doc, w);
	}
	d->endpoints = w->endpoints;
	d->tallies = w->tallies;
}

static void init_wire(delta_wire_t *w)
{
	memset(w, 0, sizeof(*w));
	result_hist_init(&w->d.latency);
	result_hist_init(&w->d.service);
	result_hist_init(&w->d.sched_lag);
}

int delta_wire_decode(const char *name, const char *text, size_t len, delta_wire_t *w, char *err,
                      size_t errlen)
{
	reader_t r = {.name = name, .err = err, .errlen = errlen};
	json_error_t je;
	json_t *doc;

	init_wire(w);
	if (len > DELTA_WIRE_MAX) {
		snprintf(err, errlen, "%s: %zu bytes, more than a second's %u", name, len,
		         DELTA_WIRE_MAX);
		return -EINVAL;
	}
	doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!doc) {
		/* the parser's message may quote the text near the fault: escaped, one line */
		snprintf(err, errlen, "%s: %s%s (column %d)", name,
		         json_alloc_failures() ? "out of memory: " : "", ECHO(je.text), je.column);
		return -EINVAL;
	}
	read_doc(&r, doc, w);
	json_decref(doc);
	return r.rc;
}

int delta_wire_read(const char *name, const json_t *doc, delta_wire_t *w, char *err, size_t errlen)
{
	reader_t r = {.name = name, .err = err, .errlen = errlen};

	init_wire(w);
	read_doc(&r, doc, w);
	return r.rc;
}

void delta_wire_free(delta_wire_t *w)
{
	free(w->d.latency.buckets);
	free(w->d.service.buckets);
	free(w->d.sched_lag.buckets);
	for (uint32_t i = 0; i < w->d.endpoint_count; i++)
		free(w->endpoints[i].latency.buckets);
	for (uint32_t i = 0; i < w->d.tally_count; i++)
		free(w->tallies[i].hist.buckets);
	free(w->endpoints);
	free(w->tallies);
	memset(w, 0, sizeof(*w));
}
