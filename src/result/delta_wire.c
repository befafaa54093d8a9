/* delta_wire: a second of the stream written and read back exactly (see delta_wire.h).
 *
 * A second, every number an unsigned LEB128 varint (core/varint.h) unless it says f64 (8
 * bytes, little-endian IEEE-754), every string a varint length then its bytes:
 *   version (2), second, f64 length_s, users, f64 target, f64 busiest_cpu, due, due_late,
 *   C, H latency, H service, H sched_lag,
 *   endpoint count, then each: method, name, C, H latency
 *   tally count, then each: kind (0 check, 1 counter, 2 trend, 3 script_error), name,
 *                           passes, fails, f64 value, H
 * C (counters): requests, errors, bytes_in, bytes_out, late, dropped, unfinished,
 *   checks_failed, script_errors; the number of status codes, then each: its code's distance
 *   from the last one's + 1 (from 0 for the first), its count; the number of error kinds
 *   (GEN_ERR_KIND_COUNT; 9, before the HTTP/2 kinds, is read too), then each kind's count
 * H (histogram): n; when n > 0, min and max - min; f64 sum, f64 sum_sq; clamped; the number of
 *   non-empty buckets, then each bucket as one varint — its index's distance from the last
 *   one's + 1 (from 0 for the first) shifted left by one, the low bit set when its count is
 *   above 1 — and, when that bit is set, the count - 2.
 * Why this layout: a second of a shard at 1,000 requests a second over 20 endpoints holds
 * ~3,000 non-empty buckets, most with a count of 1 and a gap under 64: one byte each here
 * (5.5 KB the second with its counters, where JSON took 35 KB), read with a compare and a
 * shift: ~12 µs a second, where JSON parsed into a tree cost the coordinator ~1.2 ms. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/varint.h"
#include "result/delta_wire.h"

/* ---- encode ---- */

static void put_uint(buf_t *out, uint64_t v)
{
	uint8_t b[VARINT_MAX];

	buf_append(out, b, varint_put(b, v));
}

static void put_f64(buf_t *out, double v)
{
	uint8_t b[8];

	f64_put(b, isfinite(v) ? v : 0); /* sums of finite values; never otherwise */
	buf_append(out, b, 8);
}

static void put_string(buf_t *out, const char *s)
{
	size_t n = strlen(s);

	put_uint(out, n);
	buf_append(out, s, n);
}

static void write_hist(buf_t *out, const result_hist_t *h)
{
	uint32_t next = 0; /* the lowest index the next bucket can have */

	put_uint(out, h->total);
	if (h->total) {
		put_uint(out, (uint64_t)h->min);
		put_uint(out, (uint64_t)(h->max - h->min));
	}
	put_f64(out, h->sum);
	put_f64(out, h->sum_sq);
	put_uint(out, h->clamped);
	put_uint(out, h->len);
	for (uint32_t i = 0; i < h->len; i++) {
		uint64_t gap = h->buckets[i].index - next, n = h->buckets[i].count;

		put_uint(out, gap << 1 | (n > 1));
		if (n > 1)
			put_uint(out, n - 2);
		next = h->buckets[i].index + 1;
	}
}

static void write_counters(buf_t *out, const gen_counters_t *c)
{
	uint32_t codes = 0, next = 0;

	put_uint(out, c->requests);
	put_uint(out, c->errors);
	put_uint(out, c->bytes_in);
	put_uint(out, c->bytes_out);
	put_uint(out, c->late);
	put_uint(out, c->dropped);
	put_uint(out, c->unfinished);
	put_uint(out, c->checks_failed);
	put_uint(out, c->script_errors);
	for (int i = 0; i < GEN_STATUS_MAX; i++)
		codes += c->status[i] != 0;
	put_uint(out, codes);
	for (uint32_t i = 0; i < GEN_STATUS_MAX; i++) {
		if (!c->status[i])
			continue;
		put_uint(out, i - next);
		put_uint(out, c->status[i]);
		next = i + 1;
	}
	put_uint(out, GEN_ERR_KIND_COUNT);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		put_uint(out, c->errors_by_kind[i]);
}

int delta_wire_encode(const result_t *sum, int64_t second, buf_t *out)
{
	result_cursor_t c;
	const result_point_t *p;

	result_cursor_init(&c);
	p = sum->point_count ? result_point_at(sum, 0, &c) : NULL; /* its one second */
	put_uint(out, DELTA_WIRE_VERSION);
	put_uint(out, (uint64_t)(second < 0 ? 0 : second));
	put_f64(out, p ? p->length_s : 1);
	put_uint(out, p ? p->users : 0);
	put_f64(out, p ? p->target : 0);
	put_f64(out, p ? p->busiest_cpu : 0);
	put_uint(out, p ? p->due : 0);
	put_uint(out, p ? p->due_late : 0);
	write_counters(out, &sum->counters);
	write_hist(out, &sum->latency);
	write_hist(out, &sum->service);
	write_hist(out, &sum->generator.sched_lag);
	put_uint(out, sum->endpoint_count);
	for (uint32_t i = 0; i < sum->endpoint_count; i++) {
		const result_endpoint_t *e = &sum->endpoints[i];

		put_string(out, e->method);
		put_string(out, e->name);
		write_counters(out, &e->counters);
		write_hist(out, &e->latency);
	}
	put_uint(out, sum->tally_count);
	for (uint32_t i = 0; i < sum->tally_count; i++) {
		const result_tally_t *t = &sum->tallies[i];

		put_uint(out, (uint64_t)t->kind);
		put_string(out, t->name);
		put_uint(out, t->passes);
		put_uint(out, t->fails);
		put_f64(out, t->value);
		write_hist(out, &t->hist);
	}
	result_cursor_free(&c);
	return buf_error(out);
}

/* ---- decode: every field checked, the first fault named ---- */

typedef struct reader {
	const uint8_t *p, *start, *end;
	const char *name;
	char *err;
	size_t errlen;
	int rc;           /* the first fault: every read after it is a no-op */
	const char *part; /* "endpoints" or "tallies" while in one, for messages */
	uint32_t item;
} reader_t;

/* "NAME: endpoints[3].latency.n: WHAT (byte 812)"; field and sub may be NULL. Built only here:
 * the reads pass constant names, so a good second costs no formatting. */
__attribute__((format(printf, 4, 5))) static void fault(reader_t *r, const char *field,
                                                        const char *sub, const char *fmt, ...)
{
	char at[160] = "";
	va_list ap;
	size_t n;

	if (r->rc)
		return;
	r->rc = -EINVAL;
	if (r->part)
		snprintf(at, sizeof(at), "%s[%u]%s", r->part, r->item, field ? "." : "");
	snprintf(at + strlen(at), sizeof(at) - strlen(at), "%s%s%s", field ? field : "",
	         field && sub ? "." : "", sub ? sub : "");
	n = (size_t)snprintf(r->err, r->errlen, "%s: %s%s", r->name, at, at[0] ? ": " : "");
	if (n < r->errlen) {
		va_start(ap, fmt);
		n += (size_t)vsnprintf(r->err + n, r->errlen - n, fmt, ap);
		va_end(ap);
	}
	if (n < r->errlen)
		snprintf(r->err + n, r->errlen - n, " (byte %zu)", (size_t)(r->p - r->start));
}

static void out_of_memory(reader_t *r)
{
	if (r->rc)
		return;
	r->rc = -ENOMEM;
	snprintf(r->err, r->errlen, "%s: out of memory", r->name);
}

/* A number from 0 to max (0 after a fault). */
static uint64_t get_uint(reader_t *r, const char *field, const char *sub, uint64_t max)
{
	const uint8_t *at = r->p;
	uint64_t v;

	if (r->rc)
		return 0;
	if (!varint_get(&r->p, r->end, &v)) {
		fault(r, field, sub,
		      r->end - at < VARINT_MAX ? "the second ends inside this number"
		                               : "not a number (more than 10 bytes)");
		return 0;
	}
	if (v > max) {
		r->p = at;
		fault(r, field, sub, "%llu is above %llu", (unsigned long long)v,
		      (unsigned long long)max);
		return 0;
	}
	return v;
}

/* A finite f64 from min to max (0 after a fault; HUGE_VAL: no bound but finiteness). */
static double get_f64(reader_t *r, const char *field, const char *sub, double min, double max)
{
	double x;

	if (r->rc)
		return 0;
	if (r->end - r->p < 8) {
		fault(r, field, sub, "the second ends inside this number");
		return 0;
	}
	x = f64_get(r->p);
	if (!isfinite(x)) { /* a sum of finite values; JSON never held one either */
		fault(r, field, sub, "expected a finite number");
		return 0;
	}
	if (!(x >= min && x <= max)) {
		fault(r, field, sub, "expected a number from %g to %g", min, max);
		return 0;
	}
	r->p += 8;
	return x;
}

/* Whether p[0..n) is UTF-8 without NUL (no overlong form, surrogate or code point above
 * U+10FFFF): what JSON strings held, so names reach the result document as they always did. */
static bool utf8_text(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t len = p[i] >= 0xF0 ? 4 : p[i] >= 0xE0 ? 3 : 2;
		uint32_t cp;

		if (p[i] && p[i] < 0x80) {
			i++;
			continue;
		}
		if (p[i] < 0xC2 || p[i] > 0xF4 || n - i < len)
			return false;
		cp = p[i] & (0x7F >> len);
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3F);
		}
		if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return false;
		i += len;
	}
	return true;
}

/* A string of 1..cap-1 bytes of UTF-8 without NUL, copied into out. */
static void get_string(reader_t *r, const char *field, char *out, size_t cap)
{
	uint64_t n = get_uint(r, field, NULL, cap - 1);

	out[0] = '\0';
	if (r->rc)
		return;
	if (n == 0 || n > (uint64_t)(r->end - r->p) || !utf8_text(r->p, n)) {
		fault(r, field, NULL,
		      n == 0 ? "expected a string of 1 to %zu bytes"
		      : n > (uint64_t)(r->end - r->p)
		          ? "the second ends inside this string (of at most %zu bytes)"
		          : "not UTF-8 text, or a NUL byte in it (a string of at most %zu bytes)",
		      cap - 1);
		return;
	}
	memcpy(out, r->p, n);
	out[n] = '\0';
	r->p += n;
}

/* Room for n buckets in h, its pairs kept from an earlier second. */
static bool reserve_buckets(reader_t *r, result_hist_t *h, uint64_t n)
{
	result_bucket_t *b;

	if (n <= h->cap)
		return true;
	if (!(b = realloc(h->buckets, n * sizeof(*b)))) {
		out_of_memory(r);
		return false;
	}
	h->buckets = b;
	h->cap = (uint32_t)n;
	return true;
}

/* The buckets: the hot loop of a coordinator (thousands a second from each shard): a bucket
 * of one byte costs a compare, a shift and a store. */
static void read_buckets(reader_t *r, const char *field, result_hist_t *h, uint32_t len)
{
	const uint8_t *p = r->p, *end = r->end;
	result_bucket_t *out = h->buckets;
	uint64_t next = 0, sum = 0;

	for (uint32_t i = 0; i < len; i++) {
		const uint8_t *at = p;
		uint64_t v, n = 1, index;

		if (p < end && *p < 0x80) {
			v = *p++;
		} else if (!varint_get(&p, end, &v)) {
			r->p = at;
			fault(r, field, "b",
			      "bucket %u: the second ends inside it, or not a number", i);
			return;
		}
		if (v & 1) {
			if (!varint_get(&p, end, &n) || n > UINT64_MAX - 2) {
				r->p = at;
				fault(r, field, "b",
				      "bucket %u: its count is cut, or above 2^64 - 1", i);
				return;
			}
			n += 2;
		}
		index = next + (v >> 1); /* next <= HIST_COUNTS_LEN: no overflow */
		sum += n;
		if (index >= HIST_COUNTS_LEN || sum < n) {
			r->p = at;
			fault(r, field, "b",
			      index >= HIST_COUNTS_LEN
			          ? "bucket %u: its index is past the histogram's last, %d"
			          : "bucket %u: the counts add up beyond 2^64 - 1 (of %d buckets)",
			      i, HIST_COUNTS_LEN - 1);
			return;
		}
		out[i] = (result_bucket_t){(uint32_t)index, n};
		next = index + 1;
	}
	r->p = p;
	h->len = len;
	if (sum != h->total)
		fault(r, field, NULL, "the buckets count %llu, n says %llu",
		      (unsigned long long)sum, (unsigned long long)h->total);
}

static void read_hist(reader_t *r, const char *field, result_hist_t *h)
{
	uint64_t len;

	h->len = 0;
	h->total = get_uint(r, field, "n", INT64_MAX);
	h->min = INT64_MAX;
	h->max = 0;
	if (h->total) {
		h->min = (int64_t)get_uint(r, field, "min", INT64_MAX);
		h->max =
		    h->min + (int64_t)get_uint(r, field, "max", (uint64_t)(INT64_MAX - h->min));
	}
	h->sum = get_f64(r, field, "sum", -HUGE_VAL, HUGE_VAL);
	h->sum_sq = get_f64(r, field, "sum_sq", 0, HUGE_VAL);
	h->clamped = get_uint(r, field, "clamped", h->total);
	len = get_uint(r, field, "b", HIST_COUNTS_LEN);
	if (r->rc)
		return;
	if (len > (uint64_t)(r->end - r->p)) { /* a bucket takes a byte at least */
		fault(r, field, "b", "%llu buckets, more than the bytes left",
		      (unsigned long long)len);
		return;
	}
	if (reserve_buckets(r, h, len))
		read_buckets(r, field, h, (uint32_t)len);
}

/* Counters into c, whose status codes from its last decode `codes` lists (cleared first). */
static void read_counters(reader_t *r, gen_counters_t *c, delta_wire_codes_t *codes)
{
	uint64_t n, kinds, next = 0;

	if (codes->n > DELTA_WIRE_CODES)
		memset(c->status, 0, sizeof(c->status));
	else
		for (uint16_t i = 0; i < codes->n; i++)
			c->status[codes->code[i]] = 0;
	codes->n = 0;
	memset(c->errors_by_kind, 0, sizeof(c->errors_by_kind));
	c->requests = get_uint(r, "counters", "requests", INT64_MAX);
	c->errors = get_uint(r, "counters", "errors", INT64_MAX);
	c->bytes_in = get_uint(r, "counters", "bytes_in", INT64_MAX);
	c->bytes_out = get_uint(r, "counters", "bytes_out", INT64_MAX);
	c->late = get_uint(r, "counters", "late", INT64_MAX);
	c->dropped = get_uint(r, "counters", "dropped", INT64_MAX);
	c->unfinished = get_uint(r, "counters", "unfinished", INT64_MAX);
	c->checks_failed = get_uint(r, "counters", "checks_failed", INT64_MAX);
	c->script_errors = get_uint(r, "counters", "script_errors", INT64_MAX);
	n = get_uint(r, "counters", "status", GEN_STATUS_MAX);
	for (uint64_t i = 0; i < n && !r->rc; i++) {
		uint64_t code = next + get_uint(r, "counters", "status", GEN_STATUS_MAX - 1 - next);
		uint64_t count = get_uint(r, "counters", "status", INT64_MAX);

		if (!r->rc && count == 0)
			fault(r, "counters", "status",
			      "code %llu counted 0 (only codes seen are sent)",
			      (unsigned long long)code);
		c->status[code] = count;
		if (codes->n < DELTA_WIRE_CODES)
			codes->code[codes->n] = (uint16_t)code;
		codes->n++; /* past DELTA_WIRE_CODES: all are cleared next time */
		next = code + 1;
		if (next == GEN_STATUS_MAX && i + 1 < n)
			fault(r, "counters", "status", "more codes than %d", GEN_STATUS_MAX);
	}
	/* a sender from before the HTTP/2 kinds sends fewer: those it lacks are 0 */
	kinds = get_uint(r, "counters", "kinds", GEN_ERR_KIND_COUNT);
	if (!r->rc && kinds < GEN_ERR_STREAM_RESET)
		fault(r, "counters", "kinds", "expected %d to %d counts (one per error kind)",
		      GEN_ERR_STREAM_RESET, GEN_ERR_KIND_COUNT);
	for (int i = 0; i < GEN_ERR_KIND_COUNT && !r->rc; i++)
		c->errors_by_kind[i] =
		    i < (int)kinds ? get_uint(r, "counters", "kinds", INT64_MAX) : 0;
}

/* Room for the status codes of the second's and n endpoints' counters (new ones unknown). */
static bool reserve_codes(reader_t *r, delta_wire_t *w, uint64_t n)
{
	uint64_t have = w->codes ? w->endpoint_cap + 1 : 0;
	delta_wire_codes_t *grown;

	if (n + 1 <= have)
		return true;
	if (!(grown = realloc(w->codes, (n + 1) * sizeof(*grown)))) {
		out_of_memory(r);
		return false;
	}
	for (uint64_t i = have; i < n + 1; i++)
		grown[i].n = DELTA_WIRE_CODES + 1;
	w->codes = grown;
	return true;
}

/* Room for n endpoints or tallies (each with its buckets from earlier seconds kept). */
static bool reserve_items(reader_t *r, void **items, uint32_t *cap, uint64_t n, size_t size,
                          size_t hist_offset)
{
	char *grown;

	if (n <= *cap)
		return true;
	if (n > RESULT_ENDPOINTS_MAX + RESULT_TALLIES_MAX || /* the callers' bounds */
	    !(grown = realloc(*items, (size_t)n * size))) {
		out_of_memory(r);
		return false;
	}
	for (uint64_t i = *cap; i < n; i++)
		result_hist_init((result_hist_t *)(grown + i * size + hist_offset));
	*items = grown;
	*cap = (uint32_t)n;
	return true;
}

static void read_endpoints(reader_t *r, delta_wire_t *w)
{
	uint64_t n = get_uint(r, "endpoints", NULL, RESULT_ENDPOINTS_MAX);

	/* an endpoint takes 1 + 1 + 2 + 12 + 22 bytes at least: its count is bounded by them */
	if (!r->rc && n > (uint64_t)(r->end - r->p) / 38)
		fault(r, "endpoints", NULL, "%llu endpoints, more than the bytes left hold",
		      (unsigned long long)n);
	if (r->rc || !reserve_codes(r, w, n) ||
	    !reserve_items(r, (void **)&w->endpoints, &w->endpoint_cap, n, sizeof(*w->endpoints),
	                   offsetof(delta_endpoint_t, latency)))
		return;
	r->part = "endpoints";
	for (uint32_t i = 0; i < n && !r->rc; i++) {
		delta_endpoint_t *e = &w->endpoints[i];

		r->item = i;
		w->d.endpoint_count = i + 1;
		get_string(r, "method", e->method, sizeof(e->method));
		get_string(r, "name", e->name, sizeof(e->name));
		read_counters(r, &e->counters, &w->codes[1 + i]);
		read_hist(r, "latency", &e->latency);
	}
	r->part = NULL;
}

static void read_tallies(reader_t *r, delta_wire_t *w)
{
	uint64_t n = get_uint(r, "tallies", NULL, RESULT_TALLIES_MAX);

	if (!r->rc && n > (uint64_t)(r->end - r->p) / 30) /* 1 + 2 + 1 + 1 + 8 + 17 at least */
		fault(r, "tallies", NULL, "%llu tallies, more than the bytes left hold",
		      (unsigned long long)n);
	if (r->rc || !reserve_items(r, (void **)&w->tallies, &w->tally_cap, n, sizeof(*w->tallies),
	                            offsetof(delta_tally_t, hist)))
		return;
	r->part = "tallies";
	for (uint32_t i = 0; i < n && !r->rc; i++) {
		delta_tally_t *t = &w->tallies[i];

		r->item = i;
		w->d.tally_count = i + 1;
		t->kind = (enum gen_tally_kind)get_uint(r, "kind", NULL, GEN_TALLY_SCRIPT_ERROR);
		get_string(r, "name", t->name, sizeof(t->name));
		t->passes = get_uint(r, "passes", NULL, INT64_MAX);
		t->fails = get_uint(r, "fails", NULL, INT64_MAX);
		t->value = get_f64(r, "value", NULL, -HUGE_VAL, HUGE_VAL);
		read_hist(r, "hist", &t->hist);
	}
	r->part = NULL;
}

/* Every field of the second into w; the first fault in r. */
static void read_second(reader_t *r, delta_wire_t *w)
{
	delta_t *d = &w->d;
	uint64_t v;

	if (r->p < r->end && *r->p == '{') { /* what surge before the binary wire sent */
		fault(r, "v", NULL,
		      "a JSON second (wire version 1), this surge reads version %d: run the same "
		      "surge everywhere",
		      DELTA_WIRE_VERSION);
		return;
	}
	v = get_uint(r, "v", NULL, UINT64_MAX);
	if (!r->rc && v != DELTA_WIRE_VERSION) {
		r->p = r->start;
		fault(r, "v", NULL,
		      "version %llu, this surge reads %d: run the same surge everywhere",
		      (unsigned long long)v, DELTA_WIRE_VERSION);
		return;
	}
	d->second = (int64_t)get_uint(r, "second", NULL, RESULT_POINTS_MAX - 1);
	d->length_s = get_f64(r, "length_s", NULL, 0, DELTA_WIRE_LENGTH_MAX_S);
	d->users = (uint32_t)get_uint(r, "users", NULL, UINT32_MAX);
	d->target = get_f64(r, "target", NULL, 0, 1e12);
	d->busiest_cpu = get_f64(r, "busiest_cpu", NULL, 0, 1024);
	d->due = get_uint(r, "due", NULL, INT64_MAX);
	d->due_late = get_uint(r, "due_late", NULL, d->due);
	read_counters(r, &d->counters, &w->codes[0]);
	read_hist(r, "latency", &d->latency);
	read_hist(r, "service", &d->service);
	read_hist(r, "sched_lag", &d->sched_lag);
	read_endpoints(r, w);
	read_tallies(r, w);
	if (!r->rc && r->p != r->end)
		fault(r, NULL, NULL, "%zu byte%s after the second's end", (size_t)(r->end - r->p),
		      r->end - r->p == 1 ? "" : "s");
}

void delta_wire_init(delta_wire_t *w)
{
	memset(w, 0, sizeof(*w));
	result_hist_init(&w->d.latency);
	result_hist_init(&w->d.service);
	result_hist_init(&w->d.sched_lag);
}

int delta_wire_decode(const char *name, const uint8_t *bytes, size_t len, delta_wire_t *w,
                      char *err, size_t errlen)
{
	reader_t r = {.p = bytes,
	              .start = bytes,
	              .end = bytes + len,
	              .name = name,
	              .err = err,
	              .errlen = errlen};
	delta_t *d = &w->d;

	if (!reserve_codes(&r, w, 0))
		return r.rc;
	/* the arrays and their buckets are kept; the rest of the delta starts afresh */
	d->endpoint_count = d->tally_count = 0;
	d->markers = NULL;
	d->marker_count = 0;
	if (len > DELTA_WIRE_MAX) {
		snprintf(err, errlen, "%s: %zu bytes, more than a second's %u", name, len,
		         DELTA_WIRE_MAX);
		return -EINVAL;
	}
	read_second(&r, w);
	d->endpoints = w->endpoints;
	d->tallies = w->tallies;
	return r.rc;
}

void delta_wire_free(delta_wire_t *w)
{
	free(w->d.latency.buckets);
	free(w->d.service.buckets);
	free(w->d.sched_lag.buckets);
	for (uint32_t i = 0; i < w->endpoint_cap; i++)
		free(w->endpoints[i].latency.buckets);
	for (uint32_t i = 0; i < w->tally_cap; i++)
		free(w->tallies[i].hist.buckets);
	free(w->endpoints);
	free(w->tallies);
	free(w->codes);
	delta_wire_init(w);
}
