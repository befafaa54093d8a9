/* gen_timeline: merges every thread's one-second intervals into the run's timeline.
 * Threads report each second under a lock (once a second each: no hot-path sharing); a
 * second becomes a timeline point when every thread still running has reported it. */
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_internal.h"

static void finalize_slot(gen_run_t *run, timeline_slot_t *slot)
{
	gen_point_t *p;

	slot->used = false;
	gen_counters_add(&run->so_far, &slot->counters);
	hist_merge(run->so_far_latency, slot->hist);
	if (slot->counters.requests == 0 && slot->counters.errors == 0 && slot->length_s < 0.001)
		return; /* the sliver between the last tick and the stop */
	if (run->points_len == run->points_cap) {
		size_t cap = run->points_cap ? run->points_cap * 2 : 64;
		gen_point_t *points;

		if (run->points_len >= GEN_TIMELINE_MAX)
			return;
		points = realloc(run->points, cap * sizeof(*points));
		if (!points)
			return;
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
	/* this shard's part of what the test asks (the users rounded, as they are dealt) */
	if (run->cfg.open_model)
		p->target =
		    deal_value(schedule_value_at(&run->cfg.schedule, (uint64_t)(p->t * NS_PER_S)),
		               run->cfg.shard);
	else if (run->cfg.has_schedule && !deal_is_whole(run->cfg.shard))
		p->target = (double)deal_share(
		    (uint64_t)(schedule_value_at(&run->cfg.schedule, (uint64_t)(p->t * NS_PER_S)) +
		               0.5),
		    run->cfg.shard);
	else if (run->cfg.has_schedule)
		p->target = schedule_value_at(&run->cfg.schedule, (uint64_t)(p->t * NS_PER_S));
	else
		p->target = (double)deal_share(run->cfg.connections, run->cfg.shard);
	p->bytes_in = slot->counters.bytes_in;
	p->p50_us = hist_percentile(slot->hist, 50);
	p->p95_us = hist_percentile(slot->hist, 95);
	p->p99_us = hist_percentile(slot->hist, 99);
	p->hist = NULL;
	p->busiest_cpu = slot->busiest_cpu;
	p->due = p->pacer_late = 0; /* gen_finish adds them, by the second they were due in */
	if (slot->hist->total) {
		buf_t b;

		/* kept encoded: a week of seconds stays small, and shards merge second by second */
		buf_init(&b, 1u << 20);
		if (hist_encode_base64(slot->hist, &b) == 0)
			p->hist = buf_steal(&b, NULL);
		buf_free(&b);
	}
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
		for (size_t i = 0; i < n; i++)
			out[i].hist = NULL; /* the run owns them */
	}
	pthread_mutex_unlock(&run->timeline_lock);
	return n;
}
