/* gen_delta: a thread's second handed over as a delta (result/delta.h) to the run's consumer
 * — its counters, its latency, service-time and scheduling-lag histograms as sparse pairs,
 * the same per endpoint, its tallies and the self-check's figures — then folded into the
 * thread's run figures and cleared. Once a second per thread, never on the request path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_internal.h"

/* The pairs of a dense histogram into h (its array reused); an empty one costs no pass. */
static int sparse(result_hist_t *h, const hist_t *dense)
{
	if (!dense || dense->total == 0) {
		h->len = 0;
		h->total = 0;
		h->min = INT64_MAX;
		h->max = 0;
		h->sum = h->sum_sq = 0;
		h->clamped = 0;
		return 0;
	}
	return result_hist_set(NULL, h, dense);
}

/* Room for n entries in an array of structs holding a histogram each (new ones empty). */
static void *grow(void *array, uint32_t *cap, uint32_t n, size_t size, size_t hist_offset)
{
	char *a;

	if (n <= *cap)
		return array;
	if (!(a = realloc(array, n * size)))
		return NULL;
	memset(a + *cap * size, 0, (n - *cap) * size);
	for (uint32_t i = *cap; i < n; i++)
		result_hist_init((result_hist_t *)(a + i * size + hist_offset));
	*cap = n;
	return a;
}

static int build_named(gen_thread_t *t, delta_t *d)
{
	gen_thread_delta_t *b = &t->delta;
	const gen_named_t *n = &t->named;
	void *p = NULL;

	if (n->endpoint_count &&
	    !(p = grow(b->endpoints, &b->endpoint_cap, n->endpoint_count, sizeof(*b->endpoints),
	               offsetof(delta_endpoint_t, latency))))
		return -ENOMEM;
	if (n->endpoint_count)
		b->endpoints = p;
	for (uint32_t i = 0; i < n->endpoint_count; i++) {
		delta_endpoint_t *e = &b->endpoints[i];
		const gen_endpoint_t *g = n->endpoints[i];

		memcpy(e->method, g->method, sizeof(e->method));
		memcpy(e->name, g->name, sizeof(e->name));
		e->counters = g->counters;
		if (result_hist_copy(NULL, &e->latency, g->latency) < 0)
			return -ENOMEM;
	}
	if (n->tally_count && !(p = grow(b->tallies, &b->tally_cap, n->tally_count,
	                                 sizeof(*b->tallies), offsetof(delta_tally_t, hist))))
		return -ENOMEM;
	if (n->tally_count)
		b->tallies = p;
	for (uint32_t i = 0; i < n->tally_count; i++) {
		delta_tally_t *x = &b->tallies[i];
		const gen_tally_t *g = n->tallies[i];

		x->kind = g->kind;
		memcpy(x->name, g->name, sizeof(x->name));
		x->passes = g->passes;
		x->fails = g->fails;
		x->value = g->value;
		if (sparse(&x->hist, g->hist) < 0)
			return -ENOMEM;
	}
	/* every name, each second: a name with nothing this second still exists in the sum */
	d->endpoints = b->endpoints;
	d->endpoint_count = n->endpoint_count;
	d->tallies = b->tallies;
	d->tally_count = n->tally_count;
	return 0;
}

/* The thread's arrivals due in `second`, taken out of its list (0 when none). */
static void take_due(gen_thread_t *t, uint64_t second, uint64_t *due, uint64_t *late)
{
	*due = *late = 0;
	for (size_t i = 0; i < t->due_len; i++)
		if (t->due[i].second == second) {
			*due = t->due[i].arrivals;
			*late = t->due[i].late;
			memmove(&t->due[i], &t->due[i + 1], (t->due_len - i - 1) * sizeof(*t->due));
			t->due_len--;
			return;
		}
}

/* Nothing at all happened in it: the sliver between a thread's last tick and its stop is not
 * a second of the timeline when it holds nothing (were anything in it, it is handed over). */
static bool delta_empty(const delta_t *d)
{
	static const gen_counters_t zero;

	if (d->due || d->due_late || d->latency.total || d->service.total || d->sched_lag.total ||
	    memcmp(&d->counters, &zero, sizeof(zero)) != 0)
		return false;
	for (uint32_t i = 0; i < d->endpoint_count; i++)
		if (memcmp(&d->endpoints[i].counters, &zero, sizeof(zero)) != 0 ||
		    d->endpoints[i].latency.total)
			return false;
	for (uint32_t i = 0; i < d->tally_count; i++)
		if (d->tallies[i].passes || d->tallies[i].fails || d->tallies[i].value ||
		    d->tallies[i].hist.total)
			return false;
	return true;
}

void gen_delta_build(gen_thread_t *t, double length_s)
{
	gen_thread_delta_t *b = &t->delta;
	delta_t *d = &b->d;
	double end_s = (double)t->interval_index + length_s;

	b->emit = false;
	b->built = false;
	d->second = (int64_t)t->interval_index;
	d->length_s = length_s;
	d->users = t->stopping ? t->users_at_end : t->open_conns;
	d->target = gen_timeline_target(t->run, end_s);
	d->busiest_cpu = t->interval_cpu;
	d->counters = t->interval_counters;
	take_due(t, t->interval_index, &b->due, &b->due_late);
	d->due = b->due;
	d->due_late = b->due_late;
	if (sparse(&d->latency, t->interval) < 0 || sparse(&d->service, t->interval_service) < 0 ||
	    sparse(&d->sched_lag, t->interval_sched_lag) < 0 || build_named(t, d) < 0) {
		b->failed++; /* reported with the run's figures (gen_result_t.stream_failed) */
		return;
	}
	b->built = true;
	b->emit = length_s >= 0.001 || !delta_empty(d);
}

void gen_delta_emit(gen_thread_t *t, bool last)
{
	const gen_consumer_t *consumer = t->run->cfg.consumer;
	gen_thread_delta_t *b = &t->delta;
	size_t keep = 0;

	/* a starved pacer dispatches arrivals of seconds already handed over: their due
	 * counts follow in deltas of those seconds, so each second's due adds up exactly; the
	 * seconds after this one (dispatched before its tick) wait for theirs */
	for (size_t i = 0; i < t->due_len; i++) {
		const gen_due_second_t *s = &t->due[i];
		delta_t late = {.second = (int64_t)s->second,
		                .length_s = 1,
		                .due = s->arrivals,
		                .due_late = s->late};

		if (s->second > t->interval_index && !last) {
			t->due[keep++] = *s;
			continue;
		}
		gen_timeline_due(t->run, s->second, s->arrivals, s->late);
		if (!consumer || s->second > t->interval_index)
			continue; /* the stop's own: the engine's, as it always was */
		late.target = gen_timeline_target(t->run, (double)s->second + 1);
		result_hist_init(&late.latency);
		result_hist_init(&late.service);
		result_hist_init(&late.sched_lag);
		consumer->second(consumer->ctx, &late);
	}
	t->due_len = keep;
	gen_timeline_due(t->run, t->interval_index, b->due, b->due_late);
	b->due = b->due_late = 0;
	if (!consumer)
		return;
	if (!b->built)
		return; /* the changes accepted meanwhile go with the next delta built */
	b->d.marker_count = gen_steer_take_markers(t->run, &b->d.markers);
	if (b->emit || b->d.marker_count)
		consumer->second(consumer->ctx, &b->d);
	b->d.markers = NULL;
	b->d.marker_count = 0;
}

/* The second's figures by name (the delta's sparse histograms, built whether or not anyone
 * listens) added to the run's. */
static int fold_named(gen_thread_t *t)
{
	gen_thread_delta_t *b = &t->delta;
	const gen_named_t *n = &t->named;
	void *p = NULL;
	int rc = 0;

	if (!b->built)
		return -ENOMEM; /* the delta could not be built: its second is lost to the names */
	if (n->endpoint_count &&
	    !(p = grow(b->run_endpoints, &b->run_endpoint_cap, n->endpoint_count,
	               sizeof(*b->run_endpoints), offsetof(delta_endpoint_t, latency))))
		return -ENOMEM;
	if (n->endpoint_count)
		b->run_endpoints = p;
	for (uint32_t i = 0; i < n->endpoint_count; i++) {
		delta_endpoint_t *e = &b->run_endpoints[i];

		memcpy(e->method, b->endpoints[i].method, sizeof(e->method));
		memcpy(e->name, b->endpoints[i].name, sizeof(e->name));
		gen_counters_add(&e->counters, &b->endpoints[i].counters);
		if (result_hist_add(NULL, &e->latency, &b->endpoints[i].latency) < 0)
			rc = -ENOMEM;
	}
	if (n->tally_count && !(p = grow(b->run_tallies, &b->run_tally_cap, n->tally_count,
	                                 sizeof(*b->run_tallies), offsetof(delta_tally_t, hist))))
		return -ENOMEM;
	if (n->tally_count)
		b->run_tallies = p;
	for (uint32_t i = 0; i < n->tally_count; i++) {
		delta_tally_t *x = &b->run_tallies[i];

		x->kind = b->tallies[i].kind;
		memcpy(x->name, b->tallies[i].name, sizeof(x->name));
		x->passes += b->tallies[i].passes;
		x->fails += b->tallies[i].fails;
		x->value += b->tallies[i].value;
		if (result_hist_add(NULL, &x->hist, &b->tallies[i].hist) < 0)
			rc = -ENOMEM;
	}
	return rc;
}

int gen_delta_named_total(const gen_thread_t *t, gen_named_t *n, hist_t *scratch)
{
	const gen_thread_delta_t *b = &t->delta;

	for (uint32_t i = 0; i < t->named.endpoint_count && i < b->run_endpoint_cap; i++) {
		const delta_endpoint_t *e = &b->run_endpoints[i];
		int k = gen_named_endpoint(n, e->method, e->name);

		if (k < 0)
			return -ENOMEM;
		gen_counters_add(&n->endpoints[k]->counters, &e->counters);
		if (result_hist_add(NULL, n->endpoints[k]->latency, &e->latency) < 0)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->named.tally_count && i < b->run_tally_cap; i++) {
		const delta_tally_t *x = &b->run_tallies[i];
		gen_tally_t *d = gen_named_tally(n, x->kind, x->name);

		if (!d)
			return -ENOMEM;
		d->passes += x->passes;
		d->fails += x->fails;
		d->value += x->value;
		if (d->hist && x->hist.total) {
			result_hist_expand(&x->hist, scratch);
			hist_merge(d->hist, scratch);
		}
	}
	return 0;
}

void gen_delta_fold(gen_thread_t *t)
{
	hist_merge(t->latency, t->interval);
	gen_counters_add(&t->counters, &t->interval_counters);
	if (t->interval_service->total) {
		hist_merge(t->service, t->interval_service);
		hist_reset(t->interval_service);
	}
	if (t->interval_sched_lag->total) {
		hist_merge(t->sched_lag, t->interval_sched_lag);
		hist_reset(t->interval_sched_lag);
	}
	/* a thread that cannot keep a name's run figures loses none of the stream's: counted */
	if (t->run->cfg.engine_totals && fold_named(t) < 0)
		t->delta.failed++;
	gen_named_clear(&t->named);
	hist_reset(t->interval);
	memset(&t->interval_counters, 0, sizeof(t->interval_counters));
}

void gen_delta_free(gen_thread_t *t)
{
	gen_thread_delta_t *b = &t->delta;

	result_hist_free(NULL, &b->d.latency);
	result_hist_free(NULL, &b->d.service);
	result_hist_free(NULL, &b->d.sched_lag);
	for (uint32_t i = 0; i < b->endpoint_cap; i++)
		result_hist_free(NULL, &b->endpoints[i].latency);
	for (uint32_t i = 0; i < b->tally_cap; i++)
		result_hist_free(NULL, &b->tallies[i].hist);
	for (uint32_t i = 0; i < b->run_endpoint_cap; i++)
		result_hist_free(NULL, &b->run_endpoints[i].latency);
	for (uint32_t i = 0; i < b->run_tally_cap; i++)
		result_hist_free(NULL, &b->run_tallies[i].hist);
	free(b->endpoints);
	free(b->tallies);
	free(b->run_endpoints);
	free(b->run_tallies);
	memset(b, 0, sizeof(*b));
}

static size_t pairs_bytes(const result_hist_t *h)
{
	return h->cap * sizeof(*h->buckets);
}

size_t gen_delta_bytes(const gen_thread_t *t)
{
	const gen_thread_delta_t *b = &t->delta;
	size_t n = pairs_bytes(&b->d.latency) + pairs_bytes(&b->d.service) +
	           pairs_bytes(&b->d.sched_lag) + b->endpoint_cap * sizeof(*b->endpoints) +
	           b->tally_cap * sizeof(*b->tallies) + t->due_cap * sizeof(*t->due);

	for (uint32_t i = 0; i < b->endpoint_cap; i++)
		n += pairs_bytes(&b->endpoints[i].latency);
	for (uint32_t i = 0; i < b->tally_cap; i++)
		n += pairs_bytes(&b->tallies[i].hist);
	n += b->run_endpoint_cap * sizeof(*b->run_endpoints) +
	     b->run_tally_cap * sizeof(*b->run_tallies);
	for (uint32_t i = 0; i < b->run_endpoint_cap; i++)
		n += pairs_bytes(&b->run_endpoints[i].latency);
	for (uint32_t i = 0; i < b->run_tally_cap; i++)
		n += pairs_bytes(&b->run_tallies[i].hist);
	return n;
}
