/* live: the seconds of a run summed as their deltas arrive and published when whole (see
 * live.h). A second's sum is a result_t of its own, fed the second's deltas moved to second
 * 0 (so it holds one timeline point, not `second` of them): result_add does the summing, the
 * same code as the run's, so a second's event and the final document cannot disagree. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "live/live.h"
#include "live/live_internal.h"

typedef struct live_second {
	bool used;
	bool published;
	bool changed; /* a delta came after it was published */
	int64_t second;
	result_t sum;
} live_second_t;

struct live {
	live_publish_fn publish;
	void *ctx;
	live_second_t seconds[LIVE_SECONDS];
	live_stats_t stats;
	buf_t event;
};

live_t *live_new(live_publish_fn publish, void *ctx)
{
	live_t *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->publish = publish;
	l->ctx = ctx;
	for (int i = 0; i < LIVE_SECONDS; i++)
		result_init(&l->seconds[i].sum);
	buf_init(&l->event, LIVE_EVENT_MAX);
	return l;
}

void live_free(live_t *l)
{
	if (!l)
		return;
	for (int i = 0; i < LIVE_SECONDS; i++)
		result_free(&l->seconds[i].sum);
	buf_free(&l->event);
	free(l);
}

static void publish(live_t *l, const result_t *whole, live_second_t *s)
{
	bool correction = s->published;
	int rc;

	buf_reset(&l->event);
	rc = live_event_second(&s->sum, s->second, correction, whole, &l->event);
	s->published = true;
	s->changed = false;
	if (rc < 0) {
		l->stats.failures++;
		return;
	}
	l->stats.events++;
	l->stats.corrections += correction;
	l->publish(l->ctx, l->event.data, l->event.len, LIVE_EVENT_KEPT);
	/* the tables' figures so far, every endpoint's: only the newest is kept for a replay */
	buf_reset(&l->event);
	if (live_snapshot(whole, &l->event) < 0) {
		l->stats.failures++;
		return;
	}
	l->publish(l->ctx, l->event.data, l->event.len, LIVE_EVENT_LATEST);
}

static void release(live_second_t *s)
{
	result_free(&s->sum);
	result_init(&s->sum);
	s->used = s->published = s->changed = false;
}

/* The sum of `second`, made when new. The oldest second held gives its place when all are
 * taken (published first if it never was: the engine has moved LIVE_SECONDS past it); NULL
 * when `second` is older than every one held. */
static live_second_t *second_of(live_t *l, const result_t *whole, int64_t second)
{
	live_second_t *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < LIVE_SECONDS; i++) {
		live_second_t *s = &l->seconds[i];

		if (!s->used) {
			free_slot = free_slot ? free_slot : s;
			continue;
		}
		if (s->second == second)
			return s;
		if (!oldest || s->second < oldest->second)
			oldest = s;
	}
	if (!free_slot) {
		if (second < oldest->second)
			return NULL;
		if (!oldest->published || oldest->changed)
			publish(l, whole, oldest);
		release(oldest);
		free_slot = oldest;
	}
	free_slot->used = true;
	free_slot->second = second;
	return free_slot;
}

/* A change of the load (gen_steer) as a "marker" event, at once: it begins now. */
static void publish_marker(live_t *l, const gen_marker_t *m)
{
	char what[160], text[320];
	int n;

	if (m->kind == GEN_STEER_USERS && m->spawn_rate > 0)
		snprintf(what, sizeof(what), "users %.0f \u2192 %.0f at %g/s", m->from, m->to,
		         m->spawn_rate);
	else if (m->kind == GEN_STEER_USERS)
		snprintf(what, sizeof(what), "users %.0f \u2192 %.0f", m->from, m->to);
	else if (m->ramp_s > 0)
		snprintf(what, sizeof(what), "rate %g/s \u2192 %g/s over %g s", m->from, m->to,
		         m->ramp_s);
	else
		snprintf(what, sizeof(what), "rate %g/s \u2192 %g/s", m->from, m->to);
	n = snprintf(text, sizeof(text),
	             "{\"type\":\"marker\",\"kind\":\"load\",\"t\":%.3f,\"what\":\"%s\"}",
	             (double)m->at_ns / 1e9, what);
	l->stats.events++;
	l->publish(l->ctx, text, (size_t)n, LIVE_EVENT_KEPT);
}

int live_add(live_t *l, const result_t *whole, const delta_t *d)
{
	live_second_t *s = second_of(l, whole, d->second);
	delta_t at_zero = *d;

	for (uint32_t i = 0; i < d->marker_count; i++)
		publish_marker(l, &d->markers[i]);

	if (!s) {
		l->stats.late_lost++;
		return 0;
	}
	if (s->published)
		s->changed = true;
	at_zero.second = 0;
	if (result_add(&s->sum, &at_zero) < 0) {
		l->stats.failures++;
		return -ENOMEM;
	}
	return 0;
}

void live_second_done(live_t *l, const result_t *whole, int64_t second)
{
	live_second_t *done = NULL;

	for (int i = 0; i < LIVE_SECONDS; i++) {
		live_second_t *s = &l->seconds[i];

		if (s->used && s->second == second)
			done = s;
		else if (s->used && s->changed)
			publish(l, whole, s);
	}
	if (done && !done->published)
		publish(l, whole, done);
}

void live_finish(live_t *l, const result_t *whole)
{
	for (;;) {
		live_second_t *next = NULL;

		for (int i = 0; i < LIVE_SECONDS; i++) {
			live_second_t *s = &l->seconds[i];

			if (s->used && (!s->published || s->changed) &&
			    (!next || s->second < next->second))
				next = s;
		}
		if (!next)
			return;
		publish(l, whole, next);
	}
}

void live_get_stats(const live_t *l, live_stats_t *out)
{
	*out = l->stats;
}
