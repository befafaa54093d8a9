/* dist_sender: a shard's side of the wire (see dist.h) — its threads' deltas summed per
 * second apart (a result_t per second, fed the second's deltas at second 0, as live/ does),
 * each second encoded (delta_wire) when the engine says it is whole, and queued; batches of
 * queued seconds are handed to the thread that POSTs them, and a batch not acknowledged is
 * given again unchanged, so a retry never counts a second twice (the coordinator knows its
 * sequence number). The same deltas go into the shard's own result: its --json holds all it
 * measured whatever the coordinator got. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "dist/dist.h"

/* Seconds summed at once: the one measured, one ahead, and late corrections. When all are
 * taken the oldest is queued early: a second sent in two parts adds up the same. */
#define SLOTS 4

typedef struct slot {
	bool used;
	int64_t second;
	result_t sum;
} slot_t;

typedef struct item {
	struct item *next;
	size_t len;
	char text[];
} item_t;

struct dist_sender {
	pthread_mutex_t lock;
	result_t *local;
	gen_consumer_t consumer;
	slot_t slots[SLOTS];
	item_t *head, *tail; /* encoded seconds (delta_wire's bytes), oldest first */
	buf_t encoded;       /* scratch: one second */
	buf_t inflight;      /* the batch given and not acknowledged (empty: none) */
	bool inflight_final;
	uint64_t seq; /* the last batch made */
	buf_t final;  /* the final figures' object, once given */
	bool finished;
	dist_sender_stats_t stats;
};

/* ---- seconds summed and queued (under lock) ---- */

static void release(slot_t *s)
{
	result_free(&s->sum);
	result_init(&s->sum);
	s->used = false;
}

static void queue(dist_sender_t *s, slot_t *slot)
{
	item_t *it;

	buf_reset(&s->encoded);
	if (delta_wire_encode(&slot->sum, slot->second, &s->encoded) < 0 ||
	    s->stats.pending + s->encoded.len > DIST_QUEUE_MAX ||
	    !(it = malloc(sizeof(*it) + s->encoded.len))) {
		s->stats.dropped++;
		release(slot);
		return;
	}
	it->next = NULL;
	it->len = s->encoded.len;
	memcpy(it->text, s->encoded.data, it->len);
	if (s->tail)
		s->tail->next = it;
	else
		s->head = it;
	s->tail = it;
	s->stats.pending += it->len;
	s->stats.seconds++;
	release(slot);
}

/* Queues every second summed up to `upto`, oldest first. */
static void queue_upto(dist_sender_t *s, int64_t upto)
{
	for (;;) {
		slot_t *oldest = NULL;

		for (int i = 0; i < SLOTS; i++)
			if (s->slots[i].used && s->slots[i].second <= upto &&
			    (!oldest || s->slots[i].second < oldest->second))
				oldest = &s->slots[i];
		if (!oldest)
			return;
		queue(s, oldest);
	}
}

static slot_t *slot_of(dist_sender_t *s, int64_t second)
{
	slot_t *free_slot = NULL, *oldest = NULL;

	for (int i = 0; i < SLOTS; i++) {
		slot_t *x = &s->slots[i];

		if (x->used && x->second == second)
			return x;
		if (!x->used && !free_slot)
			free_slot = x;
		if (x->used && (!oldest || x->second < oldest->second))
			oldest = x;
	}
	if (!free_slot) {
		queue(s, oldest);
		free_slot = oldest;
	}
	free_slot->used = true;
	free_slot->second = second;
	return free_slot;
}

static void on_second(void *ctx, const delta_t *d)
{
	dist_sender_t *s = ctx;
	delta_t at_zero = *d;
	slot_t *slot;

	pthread_mutex_lock(&s->lock);
	if (s->local)
		(void)result_add(s->local, d); /* a failure is counted in its dropped */
	slot = slot_of(s, d->second);
	at_zero.second = 0;
	at_zero.markers = NULL; /* a shard is not steered: none; the wire carries none */
	at_zero.marker_count = 0;
	if (result_add(&slot->sum, &at_zero) < 0)
		slot->sum.dropped.deltas_lost++;
	pthread_mutex_unlock(&s->lock);
}

static void on_second_done(void *ctx, int64_t second)
{
	dist_sender_t *s = ctx;

	pthread_mutex_lock(&s->lock);
	queue_upto(s, second);
	pthread_mutex_unlock(&s->lock);
}

dist_sender_t *dist_sender_new(result_t *local)
{
	dist_sender_t *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->local = local;
	for (int i = 0; i < SLOTS; i++)
		result_init(&s->slots[i].sum);
	buf_init(&s->encoded, DELTA_WIRE_MAX);
	buf_init(&s->inflight, DIST_BATCH_MAX);
	buf_init(&s->final, DIST_FINAL_MAX);
	s->consumer =
	    (gen_consumer_t){.ctx = s, .second = on_second, .second_done = on_second_done};
	return s;
}

void dist_sender_free(dist_sender_t *s)
{
	if (!s)
		return;
	for (int i = 0; i < SLOTS; i++)
		result_free(&s->slots[i].sum);
	while (s->head) {
		item_t *next = s->head->next;

		free(s->head);
		s->head = next;
	}
	buf_free(&s->encoded);
	buf_free(&s->inflight);
	buf_free(&s->final);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

const gen_consumer_t *dist_sender_consumer(dist_sender_t *s)
{
	return &s->consumer;
}

void dist_sender_flush(dist_sender_t *s)
{
	pthread_mutex_lock(&s->lock);
	queue_upto(s, INT64_MAX);
	pthread_mutex_unlock(&s->lock);
}

/* ---- the final figures ---- */

/* v exactly (the shortest of %.15g and %.17g that reads back as v): the coordinator's sums
 * of these are then those of surge merge of the shards' documents. */
static void exact(json_writer_t *w, double v)
{
	char text[40];

	if (!isfinite(v))
		v = 0;
	snprintf(text, sizeof(text), "%.15g", v);
	if (strtod(text, NULL) != v)
		snprintf(text, sizeof(text), "%.17g", v);
	jsonw_raw(w, text, strlen(text));
}

static void key_number(json_writer_t *w, const char *key, double v)
{
	jsonw_key(w, key);
	exact(w, v);
}

static void key_uint(json_writer_t *w, const char *key, uint64_t v)
{
	jsonw_key(w, key);
	jsonw_uint(w, v);
}

int dist_sender_final(dist_sender_t *s, const result_t *r)
{
	const result_generator_t *g = &r->generator;
	const gen_saturation_t *sat = &g->saturation;
	json_writer_t w;
	int rc;

	pthread_mutex_lock(&s->lock);
	buf_reset(&s->final);
	jsonw_init(&w, &s->final, false);
	jsonw_object_begin(&w);
	key_uint(&w, "started_ns", r->started_wall_ns);
	key_number(&w, "duration_s", r->duration_s);
	jsonw_key(&w, "interrupted");
	jsonw_bool(&w, r->interrupted);
	key_number(&w, "cpu_s", g->cpu_s);
	key_uint(&w, "max_rss_bytes", g->max_rss_bytes);
	key_uint(&w, "threads", g->threads);
	key_uint(&w, "connections", g->connections);
	key_number(&w, "thread_cpu_max", g->thread_cpu_max);
	jsonw_key(&w, "thread_cpu");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < g->thread_cpu_count && i < GEN_MAX_THREADS; i++)
		exact(&w, g->thread_cpu[i]);
	jsonw_array_end(&w);
	jsonw_key(&w, "saturated");
	jsonw_bool(&w, g->saturated);
	jsonw_key(&w, "saturation");
	jsonw_object_begin(&w);
	key_uint(&w, "criterion", (uint64_t)sat->criterion);
	key_uint(&w, "seconds", sat->seconds);
	key_uint(&w, "consecutive", sat->consecutive);
	key_uint(&w, "whole_seconds", sat->whole_seconds);
	key_number(&w, "first_s", sat->first_s);
	key_number(&w, "worst", sat->worst);
	jsonw_object_end(&w);
	key_uint(&w, "deltas_lost", r->dropped.deltas_lost + s->stats.dropped);
	jsonw_object_end(&w);
	rc = w.err;
	if (rc < 0)
		buf_reset(&s->final);
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* ---- batches ---- */

int dist_sender_next(dist_sender_t *s, const char *id, buf_t *out)
{
	uint32_t count = 0;
	size_t bytes = 0;
	int rc;

	buf_reset(out);
	pthread_mutex_lock(&s->lock);
	if (s->inflight.len) { /* not acknowledged: the very same bytes again */
		rc = buf_append(out, s->inflight.data, s->inflight.len);
		pthread_mutex_unlock(&s->lock);
		return rc < 0 ? -ENOMEM : 0;
	}
	/* the first second always fits (at most DELTA_WIRE_MAX); more while the body stays in
	 * its bound with room for the final figures */
	for (item_t *it = s->head; it; it = it->next, count++)
		if (count && bytes + it->len + dist_batch_overhead(count + 1) + DIST_FINAL_MAX >
		                 DIST_BATCH_MAX)
			break;
		else
			bytes += it->len;
	dist_batch_begin(&s->inflight, id, s->seq + 1, count);
	for (uint32_t i = 0; i < count; i++) {
		item_t *it = s->head;

		dist_batch_put_second(&s->inflight, it->text, it->len);
		s->head = it->next;
		if (!s->head)
			s->tail = NULL;
		s->stats.pending -= it->len;
		free(it);
	}
	s->inflight_final = !s->head && s->final.len;
	dist_batch_end(&s->inflight, s->inflight_final ? s->final.data : NULL, s->final.len);
	rc = buf_error(&s->inflight);
	if (rc == 0) {
		s->seq++;
		rc = buf_append(out, s->inflight.data, s->inflight.len) < 0 ? -ENOMEM : 0;
	} else {
		buf_reset(&s->inflight);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void dist_sender_acked(dist_sender_t *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->inflight.len) {
		s->stats.batches++;
		s->stats.bytes += s->inflight.len;
		s->finished |= s->inflight_final;
		buf_reset(&s->inflight);
	}
	pthread_mutex_unlock(&s->lock);
}

bool dist_sender_finished(dist_sender_t *s)
{
	bool done;

	pthread_mutex_lock(&s->lock);
	done = s->finished;
	pthread_mutex_unlock(&s->lock);
	return done;
}

void dist_sender_stats(dist_sender_t *s, dist_sender_stats_t *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	pthread_mutex_unlock(&s->lock);
}
