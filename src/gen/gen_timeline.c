/* gen_timeline: merges every thread's one-second intervals into the engine's own timeline —
 * counters and percentiles for the live line and the
 * self-check — and hands each thread's delta to the run's consumer under the same lock.
 * Threads report each second under a lock (once a second each: no hot-path sharing); a
 * second becomes a timeline point when every thread still running has reported it. */
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

static void finalize_slot(gen_run_t *run, timeline_slot_t *slot)
{
	const gen_consumer_t *consumer = run->cfg.consumer;
	gen_point_t *p;

	slot->used = false;
	if (consumer && consumer->second_done)
		consumer->second_done(consumer->ctx, (int64_t)slot->index);
	if (slot->counters.requests == 0 && slot->counters.errors == 0 && slot->length_s < 0.001)
		return; /* the sliver between the last tick and the stop */
	if (run->points_len == run->points_cap) {
		size_t cap = run->points_cap ? run->points_cap * 2 : 64;
		gen_point_t *points;

		/* the engine's own timeline (live line, self-check) stops growing: counted */
		if (run->points_len >= GEN_TIMELINE_MAX) {
			run->points_lost++;
			return;
		}
		points = realloc(run->points, cap * sizeof(*points));
		if (!points) {
			run->points_lost++;
			return;
		}
		run->points = points;
		run->points_cap = cap;
	}
	p = &run->points[run->points_len++];
	p->t = (double)slot->index + slot->length_s;
	p->length_s = slot->length_s;
	p->users = slot->users;
	p->requests = slot->counters.requests;
	p->errors = slot->counters.errors;
	p->late = slot->counters.late;
	p->dropped = slot->counters.dropped;
	p->target = gen_timeline_target(run, p->t);
	p->bytes_in = slot->counters.bytes_in;
	p->p50_us = hist_percentile(slot->hist, 50);
	p->p95_us = hist_percentile(slot->hist, 95);
	p->p99_us = hist_percentile(slot->hist, 99);
	p->busiest_cpu = slot->busiest_cpu;
	p->due = p->pacer_late = 0; /* gen_finish adds them, by the second they were due in */
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
			return;
		if (!force &&
		    slot->reported + threads_gone_before(run, slot->index) < run->thread_count)
			return;
		finalize_slot(run, slot);
	}
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
	gen_delta_emit(t); /* the consumer's calls never overlap: they are under this lock */
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

size_t gen_timeline_snapshot(gen_run_t *run, size_t from, gen_point_t *out, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&run->timeline_lock);
	if (from < run->points_len) {
		n = run->points_len - from;
		if (n > max)
			n = max;
		memcpy(out, run->points + from, n * sizeof(*out));
	}
	pthread_mutex_unlock(&run->timeline_lock);
	return n;
}
