/* dist_sum: the fleet's seconds summed in paged dense histograms (see dist_sum.h). An add is
 * two passes over the delta: the first finds (or makes) every name's place and every page
 * its buckets need, and may fail with nothing summed; the second adds and cannot fail. */
#include "dist/dist_sum.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/name_index.h"
#include "result/result.h"

#define PAGE_BITS  8
#define PAGE_LEN   (1u << PAGE_BITS)
#define PAGE_WORDS (PAGE_LEN / 64)
#define PAGES      ((HIST_COUNTS_LEN + PAGE_LEN - 1) / PAGE_LEN)
/* Pages held at most (~2 KiB each): what a second of 20 endpoints at 1,000 requests a second
 * needs ~30 per histogram; past this an add is refused (-ENOSPC) and handed over as it is. */
#define PAGES_MAX 32768

/* 256 counters and which of them are not 0, so a take visits only those. */
typedef struct page {
	uint64_t set[PAGE_WORDS];
	uint64_t count[PAGE_LEN];
} page_t;

/* A histogram being summed: its pages (NULL until its buckets reach there; kept for the
 * seconds after), the pages touched since it was last taken, how many buckets were added
 * (the most it can hold), and the moments. */
typedef struct paged {
	page_t *page[PAGES];
	uint32_t lo, hi; /* pages [lo, hi) may hold counts */
	uint64_t added;
	uint64_t total, clamped;
	int64_t min, max;
	double sum, sum_sq;
} paged_t;

typedef struct slot {
	bool used;
	delta_t d; /* the second's counters and figures; its histograms made at the flush */
	paged_t latency, service, sched_lag;
	/* the endpoints and tallies summed, in order of first appearance; an entry made by an add
	 * that then failed is not `present` and is not handed over */
	delta_endpoint_t *endpoints;
	paged_t *endpoint_hists;
	bool *endpoint_present;
	uint32_t endpoint_count, endpoint_cap;
	name_index_t endpoint_index;
	delta_tally_t *tallies;
	paged_t *tally_hists;
	bool *tally_present;
	uint32_t tally_count, tally_cap;
	name_index_t tally_index;
} slot_t;

struct dist_sum {
	slot_t slots[DIST_SUM_SECONDS];
	uint32_t pages;                                            /* held, all slots' */
	uint32_t where[RESULT_ENDPOINTS_MAX + RESULT_TALLIES_MAX]; /* an add's places, pass 1 */
};

/* ---- paged histograms ---- */

static void paged_init(paged_t *p)
{
	memset(p, 0, sizeof(*p));
	p->lo = PAGES;
	p->min = INT64_MAX;
}

static void paged_free(dist_sum_t *s, paged_t *p)
{
	for (uint32_t i = 0; i < PAGES; i++)
		if (p->page[i]) {
			free(p->page[i]);
			s->pages--;
		}
	paged_init(p);
}

/* Every page from h's first bucket's to its last's, allocated (a histogram's buckets are
 * seldom far apart: checking the range is cheaper than checking each bucket). */
static int paged_reserve(dist_sum_t *s, paged_t *p, const result_hist_t *h)
{
	uint32_t lo, hi;

	if (!h->len)
		return 0;
	lo = h->buckets[0].index >> PAGE_BITS;
	hi = h->buckets[h->len - 1].index >> PAGE_BITS;
	if (hi >= PAGES) /* a decoded delta's indices are checked; a result's are too */
		return -ENOSPC;
	for (uint32_t pg = lo; pg <= hi; pg++) {
		if (p->page[pg])
			continue;
		if (s->pages >= PAGES_MAX)
			return -ENOSPC;
		if (!(p->page[pg] = calloc(1, sizeof(page_t))))
			return -ENOMEM;
		s->pages++;
	}
	return 0;
}

static void paged_add(paged_t *p, const result_hist_t *h)
{
	const result_bucket_t *b = h->buckets;

	for (uint32_t i = 0; i < h->len; i++) {
		page_t *pg = p->page[b[i].index >> PAGE_BITS];
		uint32_t at = b[i].index & (PAGE_LEN - 1);

		pg->count[at] += b[i].count;
		pg->set[at >> 6] |= 1ULL << (at & 63);
	}
	if (h->len) {
		uint32_t lo = b[0].index >> PAGE_BITS, hi = (b[h->len - 1].index >> PAGE_BITS) + 1;

		p->lo = lo < p->lo ? lo : p->lo;
		p->hi = hi > p->hi ? hi : p->hi;
		p->added += h->len;
	}
	/* as result_hist_add adds the moments */
	p->total += h->total;
	p->sum += h->sum;
	p->sum_sq += h->sum_sq;
	p->clamped += h->clamped;
	if (h->min < p->min)
		p->min = h->min;
	if (h->max > p->max)
		p->max = h->max;
}

/* The sum into h (its pairs' memory reused) and p emptied for the next second: one pass over
 * the counts that are set. 0, or -ENOMEM with h empty. */
static int paged_take(paged_t *p, result_hist_t *h)
{
	uint64_t most = p->added < HIST_COUNTS_LEN ? p->added : HIST_COUNTS_LEN;
	bool room = most <= h->cap;

	if (!room) {
		result_bucket_t *b = realloc(h->buckets, most * sizeof(*b));

		if (b) {
			h->buckets = b;
			h->cap = (uint32_t)most;
			room = true;
		}
	}
	h->len = 0;
	for (uint32_t i = p->lo; i < p->hi; i++) {
		page_t *pg = p->page[i];

		for (uint32_t w = 0; pg && w < PAGE_WORDS; w++) {
			for (uint64_t bits = pg->set[w]; bits; bits &= bits - 1) {
				uint32_t at = w * 64 + (uint32_t)__builtin_ctzll(bits);

				if (room && pg->count[at])
					h->buckets[h->len++] =
					    (result_bucket_t){i << PAGE_BITS | at, pg->count[at]};
				pg->count[at] = 0;
			}
			pg->set[w] = 0;
		}
	}
	h->total = room ? p->total : 0;
	h->min = room ? p->min : INT64_MAX;
	h->max = room ? p->max : 0;
	h->sum = room ? p->sum : 0;
	h->sum_sq = room ? p->sum_sq : 0;
	h->clamped = room ? p->clamped : 0;
	p->lo = PAGES;
	p->hi = 0;
	p->added = 0;
	p->total = p->clamped = 0;
	p->min = INT64_MAX;
	p->max = 0;
	p->sum = p->sum_sq = 0;
	return room ? 0 : -ENOMEM;
}

/* dst += src; codes (NULL: not known) lists the status codes src holds, so that 8 KB of
 * counters is not read for the one or two a second has. */
static void add_counters(gen_counters_t *dst, const gen_counters_t *src,
                         const delta_wire_codes_t *codes)
{
	if (!codes || codes->n > DELTA_WIRE_CODES)
		gen_counters_add(dst, src);
	else
		gen_counters_add_codes(dst, src, codes->code, codes->n);
}

/* ---- names: an endpoint's (method, name), a tally's (kind, name) ---- */

typedef struct lookup {
	const slot_t *slot;
	const char *method, *name;
	enum gen_tally_kind kind;
} lookup_t;

static bool same_endpoint(const void *ctx, uint32_t position)
{
	const lookup_t *l = ctx;
	const delta_endpoint_t *e = &l->slot->endpoints[position];

	return strcmp(e->name, l->name) == 0 && strcmp(e->method, l->method) == 0;
}

static bool same_tally(const void *ctx, uint32_t position)
{
	const lookup_t *l = ctx;
	const delta_tally_t *t = &l->slot->tallies[position];

	return t->kind == l->kind && strcmp(t->name, l->name) == 0;
}

/* Room for n entries of each of the parallel arrays (new ones zeroed). */
static int grow(void **arrays[3], const size_t sizes[3], uint32_t *cap, uint32_t n)
{
	uint32_t want = *cap ? *cap : 8;

	if (n <= *cap)
		return 0;
	while (want < n)
		want *= 2;
	for (int a = 0; a < 3; a++) {
		char *grown = realloc(*arrays[a], (size_t)want * sizes[a]);

		if (!grown)
			return -ENOMEM; /* the arrays grown so far are larger: harmless */
		memset(grown + (size_t)*cap * sizes[a], 0, (size_t)(want - *cap) * sizes[a]);
		*arrays[a] = grown;
	}
	*cap = want;
	return 0;
}

/* The place of an endpoint of this name in the slot, made when new: its position, or -1
 * (-ENOSPC past RESULT_ENDPOINTS_MAX, -ENOMEM) with *rc set. */
static int64_t endpoint_place(slot_t *s, const delta_endpoint_t *e, int *rc)
{
	lookup_t l = {.slot = s, .method = e->method, .name = e->name};
	uint32_t hash = name_index_hash(e->method, strlen(e->method), e->name, strlen(e->name));
	int64_t at = name_index_find(&s->endpoint_index, hash, same_endpoint, &l);
	void **arrays[3] = {(void **)&s->endpoints, (void **)&s->endpoint_hists,
	                    (void **)&s->endpoint_present};
	const size_t sizes[3] = {sizeof(*s->endpoints), sizeof(*s->endpoint_hists),
	                         sizeof(*s->endpoint_present)};
	uint32_t old_cap = s->endpoint_cap;
	delta_endpoint_t *x;

	if (at >= 0)
		return at;
	if (s->endpoint_count == RESULT_ENDPOINTS_MAX) {
		*rc = -ENOSPC;
		return -1;
	}
	if (grow(arrays, sizes, &s->endpoint_cap, s->endpoint_count + 1) < 0) {
		*rc = -ENOMEM;
		return -1;
	}
	for (uint32_t i = old_cap; i < s->endpoint_cap; i++) {
		paged_init(&s->endpoint_hists[i]);
		result_hist_init(&s->endpoints[i].latency);
	}
	if (name_index_add(&s->endpoint_index, hash, s->endpoint_count) < 0) {
		*rc = -ENOMEM;
		return -1;
	}
	x = &s->endpoints[s->endpoint_count];
	memcpy(x->method, e->method, sizeof(x->method));
	memcpy(x->name, e->name, sizeof(x->name));
	memset(&x->counters, 0, sizeof(x->counters));
	s->endpoint_present[s->endpoint_count] = false;
	return s->endpoint_count++;
}

static int64_t tally_place(slot_t *s, const delta_tally_t *t, int *rc)
{
	lookup_t l = {.slot = s, .name = t->name, .kind = t->kind};
	char kind[2] = {(char)('0' + t->kind), '\0'};
	uint32_t hash = name_index_hash(kind, 1, t->name, strlen(t->name));
	int64_t at = name_index_find(&s->tally_index, hash, same_tally, &l);
	void **arrays[3] = {(void **)&s->tallies, (void **)&s->tally_hists,
	                    (void **)&s->tally_present};
	const size_t sizes[3] = {sizeof(*s->tallies), sizeof(*s->tally_hists),
	                         sizeof(*s->tally_present)};
	uint32_t old_cap = s->tally_cap;
	delta_tally_t *x;

	if (at >= 0)
		return at;
	if (s->tally_count == RESULT_TALLIES_MAX) {
		*rc = -ENOSPC;
		return -1;
	}
	if (grow(arrays, sizes, &s->tally_cap, s->tally_count + 1) < 0) {
		*rc = -ENOMEM;
		return -1;
	}
	for (uint32_t i = old_cap; i < s->tally_cap; i++) {
		paged_init(&s->tally_hists[i]);
		result_hist_init(&s->tallies[i].hist);
	}
	if (name_index_add(&s->tally_index, hash, s->tally_count) < 0) {
		*rc = -ENOMEM;
		return -1;
	}
	x = &s->tallies[s->tally_count];
	x->kind = t->kind;
	memcpy(x->name, t->name, sizeof(x->name));
	x->passes = x->fails = 0;
	x->value = 0;
	s->tally_present[s->tally_count] = false;
	return s->tally_count++;
}

/* ---- slots ---- */

static void slot_init(slot_t *s)
{
	memset(s, 0, sizeof(*s));
	paged_init(&s->latency);
	paged_init(&s->service);
	paged_init(&s->sched_lag);
	result_hist_init(&s->d.latency);
	result_hist_init(&s->d.service);
	result_hist_init(&s->d.sched_lag);
	name_index_init(&s->endpoint_index, NULL, NULL);
	name_index_init(&s->tally_index, NULL, NULL);
}

static void slot_free(dist_sum_t *sum, slot_t *s)
{
	paged_free(sum, &s->latency);
	paged_free(sum, &s->service);
	paged_free(sum, &s->sched_lag);
	free(s->d.latency.buckets);
	free(s->d.service.buckets);
	free(s->d.sched_lag.buckets);
	for (uint32_t i = 0; i < s->endpoint_cap; i++) {
		paged_free(sum, &s->endpoint_hists[i]);
		free(s->endpoints[i].latency.buckets);
	}
	for (uint32_t i = 0; i < s->tally_cap; i++) {
		paged_free(sum, &s->tally_hists[i]);
		free(s->tallies[i].hist.buckets);
	}
	free(s->endpoints);
	free(s->endpoint_hists);
	free(s->endpoint_present);
	free(s->tallies);
	free(s->tally_hists);
	free(s->tally_present);
	name_index_free(&s->endpoint_index);
	name_index_free(&s->tally_index);
	slot_init(s);
}

/* The slot emptied for another second: its memory (arrays, pages, pairs) kept. */
static void slot_reset(slot_t *s)
{
	s->used = false;
	memset(&s->d.counters, 0, sizeof(s->d.counters));
	s->d.users = 0;
	s->d.length_s = 0;
	s->d.busiest_cpu = 0;
	s->d.target = 0;
	s->d.due = s->d.due_late = 0;
	s->endpoint_count = 0;
	s->tally_count = 0;
	name_index_clear(&s->endpoint_index);
	name_index_clear(&s->tally_index);
}

dist_sum_t *dist_sum_new(void)
{
	dist_sum_t *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	for (int i = 0; i < DIST_SUM_SECONDS; i++)
		slot_init(&s->slots[i]);
	return s;
}

void dist_sum_free(dist_sum_t *s)
{
	if (!s)
		return;
	for (int i = 0; i < DIST_SUM_SECONDS; i++)
		slot_free(s, &s->slots[i]);
	free(s);
}

static slot_t *slot_for(dist_sum_t *s, int64_t second)
{
	slot_t *free_slot = NULL;

	for (int i = 0; i < DIST_SUM_SECONDS; i++) {
		slot_t *x = &s->slots[i];

		if (x->used && x->d.second == second)
			return x;
		if (!x->used && !free_slot)
			free_slot = x;
	}
	return free_slot;
}

/* Pass 1: every name's place (in s->where: the endpoints', then the tallies') and every page;
 * nothing is summed. */
static int prepare(dist_sum_t *s, slot_t *x, const delta_t *d)
{
	int rc = 0;

	if ((rc = paged_reserve(s, &x->latency, &d->latency)) < 0 ||
	    (rc = paged_reserve(s, &x->service, &d->service)) < 0 ||
	    (rc = paged_reserve(s, &x->sched_lag, &d->sched_lag)) < 0)
		return rc;
	if (d->endpoint_count > RESULT_ENDPOINTS_MAX || d->tally_count > RESULT_TALLIES_MAX)
		return -ENOSPC;
	for (uint32_t i = 0; i < d->endpoint_count; i++) {
		int64_t at = endpoint_place(x, &d->endpoints[i], &rc);

		if (at < 0)
			return rc;
		if ((rc = paged_reserve(s, &x->endpoint_hists[at], &d->endpoints[i].latency)) < 0)
			return rc;
		s->where[i] = (uint32_t)at;
	}
	for (uint32_t i = 0; i < d->tally_count; i++) {
		int64_t at = tally_place(x, &d->tallies[i], &rc);

		if (at < 0)
			return rc;
		if ((rc = paged_reserve(s, &x->tally_hists[at], &d->tallies[i].hist)) < 0)
			return rc;
		s->where[RESULT_ENDPOINTS_MAX + i] = (uint32_t)at;
	}
	return 0;
}

int dist_sum_add(dist_sum_t *s, const delta_t *d, const delta_wire_codes_t *codes)
{
	slot_t *x = slot_for(s, d->second);
	bool fresh;
	int rc;

	if (!x)
		return -ENOSPC;
	fresh = !x->used;
	if (fresh) {
		x->used = true;
		x->d.second = d->second;
	}
	if ((rc = prepare(s, x, d)) < 0) {
		if (fresh)
			slot_reset(x);
		return rc;
	}
	/* pass 2: as result_add sums a delta into a second */
	if (fresh || d->length_s > x->d.length_s)
		x->d.length_s = d->length_s;
	x->d.users += d->users;
	x->d.target += d->target;
	if (d->busiest_cpu > x->d.busiest_cpu)
		x->d.busiest_cpu = d->busiest_cpu;
	x->d.due += d->due;
	x->d.due_late += d->due_late;
	add_counters(&x->d.counters, &d->counters, codes);
	paged_add(&x->latency, &d->latency);
	paged_add(&x->service, &d->service);
	paged_add(&x->sched_lag, &d->sched_lag);
	for (uint32_t i = 0; i < d->endpoint_count; i++) {
		uint32_t at = s->where[i];

		add_counters(&x->endpoints[at].counters, &d->endpoints[i].counters,
		             codes ? &codes[1 + i] : NULL);
		paged_add(&x->endpoint_hists[at], &d->endpoints[i].latency);
		x->endpoint_present[at] = true;
	}
	for (uint32_t i = 0; i < d->tally_count; i++) {
		uint32_t at = s->where[RESULT_ENDPOINTS_MAX + i];
		delta_tally_t *t = &x->tallies[at];

		t->passes += d->tallies[i].passes;
		t->fails += d->tallies[i].fails;
		t->value += d->tallies[i].value;
		paged_add(&x->tally_hists[at], &d->tallies[i].hist);
		x->tally_present[at] = true;
	}
	return 0;
}

/* The entries an add made and then failed on, left out; the others moved up in order (the
 * slot is reset after the flush, so positions need not hold). */
static uint32_t compact_endpoints(slot_t *x)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < x->endpoint_count; i++) {
		if (!x->endpoint_present[i])
			continue;
		if (n != i) {
			delta_endpoint_t e = x->endpoints[n];
			paged_t h = x->endpoint_hists[n];

			x->endpoints[n] = x->endpoints[i];
			x->endpoint_hists[n] = x->endpoint_hists[i];
			x->endpoints[i] = e;
			x->endpoint_hists[i] = h;
		}
		n++;
	}
	return n;
}

static uint32_t compact_tallies(slot_t *x)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < x->tally_count; i++) {
		if (!x->tally_present[i])
			continue;
		if (n != i) {
			delta_tally_t t = x->tallies[n];
			paged_t h = x->tally_hists[n];

			x->tallies[n] = x->tallies[i];
			x->tally_hists[n] = x->tally_hists[i];
			x->tallies[i] = t;
			x->tally_hists[i] = h;
		}
		n++;
	}
	return n;
}

/* The slot's sum handed to fn, and the slot emptied. */
static int hand_over(slot_t *x, dist_sum_fn fn, void *ctx)
{
	int rc = 0;

	x->d.endpoint_count = compact_endpoints(x);
	x->d.tally_count = compact_tallies(x);
	rc |= paged_take(&x->latency, &x->d.latency);
	rc |= paged_take(&x->service, &x->d.service);
	rc |= paged_take(&x->sched_lag, &x->d.sched_lag);
	for (uint32_t i = 0; i < x->endpoint_count; i++) /* every page emptied, handed or not */
		rc |= paged_take(&x->endpoint_hists[i], &x->endpoints[i].latency);
	for (uint32_t i = 0; i < x->tally_count; i++)
		rc |= paged_take(&x->tally_hists[i], &x->tallies[i].hist);
	x->d.endpoints = x->endpoints;
	x->d.tallies = x->tallies;
	x->d.markers = NULL;
	x->d.marker_count = 0;
	fn(ctx, &x->d);
	slot_reset(x);
	return rc ? -ENOMEM : 0;
}

int dist_sum_flush(dist_sum_t *s, int64_t upto, dist_sum_fn fn, void *ctx)
{
	int rc = 0;

	for (;;) {
		slot_t *oldest = NULL;

		for (int i = 0; i < DIST_SUM_SECONDS; i++) {
			slot_t *x = &s->slots[i];

			if (x->used && x->d.second <= upto &&
			    (!oldest || x->d.second < oldest->d.second))
				oldest = x;
		}
		if (!oldest)
			return rc;
		if (hand_over(oldest, fn, ctx) < 0)
			rc = -ENOMEM;
	}
}
