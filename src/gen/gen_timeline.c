/* gen_timeline: merges every thread's one-second intervals into the engine's own timeline —
 * counters and percentiles for the live line and the self-check — and hands each thread's
 * delta to the run's consumer under the same lock.
 * Threads report each second under a lock (once a second each: no hot-path sharing); a
 * second becomes a timeline point when every thread still running has reported it. The
 * engine keeps its latest GEN_RECENT_POINTS points (the live line) and folds each second
 * into the self-check's tally once it is final (its due counts too): it keeps no point per
 * second of the run, so a run of hours holds what a run of a minute does. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_internal.h"

double gen_timeline_target(const gen_run_t *run, double t_s)
{
	const gen_config_t *cfg = &run->cfg;
	/* the schedule in force (gen_steer.c), which keeps what it asked before each change */
	double v = gen_schedule_value(run, (uint64_t)(t_s * NS_PER_S));

	/* this shard's part of what the test asks (the users rounded, as they are dealt) */
	if (cfg->open_model)
		return deal_value(v, cfg->shard);
	if (!deal_is_whole(cfg->shard))
		return (double)deal_share((uint64_t)(v + 0.5), cfg->shard);
	return v;
}

/* The pending entry of `second` (made, with those before it, when new); NULL when it is
 * folded already or there is no memory (its due counts then go uncounted: never the run). */
static gen_pending_second_t *pending_at(gen_run_t *run, uint64_t second)
{
	gen_pending_second_t *e;

	if (second < run->pending_base)
		return NULL;
	while (second - run->pending_base >= run->pending_len) {
		if (run->pending_len == run->pending_cap) {
			size_t cap = run->pending_cap ? run->pending_cap * 2 : 16;
			gen_pending_second_t *grown = malloc(cap * sizeof(*grown));

			if (!grown)
				return NULL;
			for (size_t i = 0; i < run->pending_len; i++)
				grown[i] = run->pending[(run->pending_head + i) % run->pending_cap];
			free(run->pending);
			run->pending = grown;
			run->pending_cap = cap;
			run->pending_head = 0;
		}
		e = &run->pending[(run->pending_head + run->pending_len++) % run->pending_cap];
		memset(e, 0, sizeof(*e));
	}
	return &run->pending[(run->pending_head + (second - run->pending_base)) % run->pending_cap];
}

/* The earliest second a thread may still count an arrival in (UINT64_MAX: none may). */
static uint64_t due_horizon(const gen_run_t *run)
{
	uint64_t h = UINT64_MAX;

	for (uint32_t i = 0; i < run->thread_count; i++)
		if (!run->threads[i].finished && run->threads[i].due_horizon < h)
			h = run->threads[i].due_horizon;
	return h;
}

/* Folds the oldest pending seconds that are final into the self-check (all: every one). */
static void fold_ready(gen_run_t *run, bool all)
{
	uint64_t horizon = all ? UINT64_MAX : due_horizon(run);

	while (run->pending_len) {
		gen_pending_second_t *e = &run->pending[run->pending_head];

		if (!all && (!e->closed || run->pending_base >= horizon))
			return;
		if (e->has_point) {
			gen_selfcheck_add(&run->check, &e->point);
			if (run->cfg.engine_totals) {
				if (run->kept_len == run->kept_cap) {
					size_t cap = run->kept_cap ? run->kept_cap * 2 : 64;
					gen_point_t *grown =
					    run->kept_len >= GEN_TIMELINE_MAX
					        ? NULL
					        : realloc(run->kept, cap * sizeof(*grown));

					if (grown) {
						run->kept = grown;
						run->kept_cap = cap;
					}
				}
				if (run->kept_len < run->kept_cap)
					run->kept[run->kept_len++] = e->point;
				else
					run->points_lost++;
			}
		}
		run->pending_head = (run->pending_head + 1) % run->pending_cap;
		run->pending_len--;
		run->pending_base++;
	}
}

void gen_timeline_due(gen_run_t *run, uint64_t second, uint64_t arrivals, uint64_t late)
{
	gen_pending_second_t *e;

	if (!arrivals && !late)
		return;
	/* never folded before its due counts are in (every thread's horizon is past it), so
	 * NULL here is only a lack of memory */
	if ((e = pending_at(run, second))) {
		e->point.due += arrivals;
		e->point.pacer_late += late;
	}
}

void gen_timeline_fold_all(gen_run_t *run)
{
	pthread_mutex_lock(&run->timeline_lock);
	fold_ready(run, true);
	pthread_mutex_unlock(&run->timeline_lock);
}

void gen_timeline_free(gen_run_t *run)
{
	free(run->pending);
	free(run->kept);
	run->pending = NULL;
	run->kept = NULL;
}

static void finalize_slot(gen_run_t *run, timeline_slot_t *slot)
{
	const gen_consumer_t *consumer = run->cfg.consumer;
	gen_pending_second_t *e;
	gen_point_t p;

	slot->used = false;
	if (consumer && consumer->second_done)
		consumer->second_done(consumer->ctx, (int64_t)slot->index);
	/* seconds before it that have no slot will never have one: closed, without a point */
	for (uint64_t s = run->pending_base; s < slot->index; s++)
		if ((e = pending_at(run, s)))
			e->closed = true;
	if (!(e = pending_at(run, slot->index))) {
		run->points_lost++;
		return;
	}
	e->closed = true;
	if (slot->counters.requests == 0 && slot->counters.errors == 0 && slot->length_s < 0.001)
		return; /* the sliver between the last tick and the stop */
	p.t = (double)slot->index + slot->length_s;
	p.length_s = slot->length_s;
	p.users = slot->users;
	p.requests = slot->counters.requests;
	p.errors = slot->counters.errors;
	p.late = slot->counters.late;
	p.dropped = slot->counters.dropped;
	p.target = gen_timeline_target(run, p.t);
	p.bytes_in = slot->counters.bytes_in;
	p.p50_us = hist_percentile(slot->hist, 50);
	p.p95_us = hist_percentile(slot->hist, 95);
	p.p99_us = hist_percentile(slot->hist, 99);
	p.busiest_cpu = slot->busiest_cpu;
	p.due = e->point.due; /* handed over so far; more may come until it is folded */
	p.pacer_late = e->point.pacer_late;
	e->point = p;
	e->has_point = true;
	run->recent[run->points_made++ % GEN_RECENT_POINTS] = p;
}

/* Threads that will never report second `index` (they finished earlier). */
static uint32_t threads_gone_before(const gen_run_t *run, uint64_t index)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < run->thread_count; i++)
		if (run->threads[i].finished && run->threads[i].last_index < index)
			n++;
	return n;
}

/* Turns complete seconds into points, oldest first; `force` closes them all (at the end). */
static void finalize_ready(gen_run_t *run, bool force)
{
	for (;;) {
		timeline_slot_t *slot = NULL;

		for (int i = 0; i < GEN_TIMELINE_RING; i++)
			if (run->slots[i].used && (!slot || run->slots[i].index < slot->index))
				slot = &run->slots[i];
		if (!slot)
			break;
		if (!force &&
		    slot->reported + threads_gone_before(run, slot->index) < run->thread_count)
			break;
		finalize_slot(run, slot);
	}
	fold_ready(run, false);
}

void gen_timeline_add(gen_thread_t *t, double length_s, bool last)
{
	gen_run_t *run = t->run;
	uint64_t index = t->interval_index;
	timeline_slot_t *slot = &run->slots[index % GEN_TIMELINE_RING];

	pthread_mutex_lock(&run->timeline_lock);
	while (slot->used && slot->index != index)
		finalize_ready(run,
		               true); /* a thread fell a whole ring behind: close what we have */
	if (!slot->used) {
		hist_t *keep = slot->hist;

		memset(slot, 0, sizeof(*slot));
		slot->hist = keep;
		hist_reset(slot->hist);
		slot->used = true;
		slot->index = index;
	}
	gen_counters_add(&slot->counters, &t->interval_counters);
	hist_merge(slot->hist, t->interval);
	slot->users += t->stopping ? t->users_at_end : t->open_conns;
	if (t->interval_cpu > slot->busiest_cpu)
		slot->busiest_cpu = t->interval_cpu;
	if (length_s > slot->length_s)
		slot->length_s = length_s;
	slot->reported++;
	gen_delta_emit(t, last); /* the consumer's calls never overlap: they are under this lock */
	/* every arrival it counts from now on is due at its pacer's next or later */
	t->due_horizon = !run->cfg.open_model || t->next_due_ns == UINT64_MAX ? UINT64_MAX
	                 : t->next_due_ns <= run->start_ns
	                     ? 0
	                     : (t->next_due_ns - run->start_ns) / NS_PER_S;
	if (last) {
		t->finished = true;
		t->last_index = index;
	}
	finalize_ready(run, false);
	pthread_mutex_unlock(&run->timeline_lock);
}

void gen_timeline_close(gen_run_t *run)
{
	pthread_mutex_lock(&run->timeline_lock);
	finalize_ready(run, true);
	pthread_mutex_unlock(&run->timeline_lock);
}

size_t gen_timeline_snapshot(gen_run_t *run, uint64_t *from, gen_point_t *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&run->timeline_lock);
	/* a reader more than GEN_RECENT_POINTS seconds behind skips to the oldest kept */
	if (run->points_made > GEN_RECENT_POINTS && *from < run->points_made - GEN_RECENT_POINTS)
		*from = run->points_made - GEN_RECENT_POINTS;
	while (*from < run->points_made && n < max)
		out[n++] = run->recent[(*from)++ % GEN_RECENT_POINTS];
	pthread_mutex_unlock(&run->timeline_lock);
	return n;
}
