/* ui_history: the event stream's bounded memory — frames kept in a ring of consecutive ids, the
 * oldest dropped when the byte bound needs room, and the reads a stream client makes through it
 * (ui_history.h). One mutex guards it, taken once a second by the publisher and by the UI thread
 * for short copies; what the bound drops is mostly freed after it is released. */
#include "ui/ui_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ui_event {
	uint64_t id;
	uint64_t end; /* the stream position after this event: total when it was published */
	size_t len;   /* frame bytes */
	char frame[];
};

/* What an event costs beyond its frame: the struct, its ring slot and the allocator's
 * header. Counted in the bound, so a stream of tiny events is bounded in count too. */
#define EVENT_OVERHEAD (sizeof(ui_event_t) + 2 * sizeof(void *))

int ui_history_init(ui_history_t *h, size_t max_bytes)
{
	memset(h, 0, sizeof(*h));
	h->max_bytes = max_bytes;
	h->next_id = 1;
	return -pthread_mutex_init(&h->lock, NULL);
}

void ui_history_free(ui_history_t *h)
{
	for (size_t i = 0; i < h->count; i++)
		free(h->ring[(h->head + i) & (h->cap - 1)]);
	free(h->ring);
	pthread_mutex_destroy(&h->lock);
	memset(h, 0, sizeof(*h));
}

static size_t line_end(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && p[i] != '\n' && p[i] != '\r')
		i++;
	return i;
}

size_t ui_event_frame(uint64_t id, const char *json, size_t len, char *out, size_t out_len)
{
	char idline[32];
	int idlen = snprintf(idline, sizeof(idline), "id: %llu\n", (unsigned long long)id);
	size_t need = (size_t)idlen + 1, pos = 0, at = 0;

	/* measure: each line costs "data: " and "\n" around its bytes */
	for (;;) {
		size_t n = line_end(json + at, len - at);

		need += 7 + n;
		at += n;
		if (at == len)
			break;
		at += (json[at] == '\r' && at + 1 < len && json[at + 1] == '\n') ? 2 : 1;
	}
	if (!out || out_len < need)
		return need;
	memcpy(out, idline, (size_t)idlen);
	pos = (size_t)idlen;
	for (at = 0;;) {
		size_t n = line_end(json + at, len - at);

		memcpy(out + pos, "data: ", 6);
		memcpy(out + pos + 6, json + at, n);
		pos += 6 + n;
		out[pos++] = '\n';
		at += n;
		if (at == len)
			break;
		at += (json[at] == '\r' && at + 1 < len && json[at + 1] == '\n') ? 2 : 1;
	}
	out[pos++] = '\n';
	return pos;
}

static ui_event_t *event_at(const ui_history_t *h, size_t i)
{
	return h->ring[(h->head + i) & (h->cap - 1)];
}

/* Room for one more slot: the ring doubles, unwrapped into the new array. */
static int ring_grow(ui_history_t *h)
{
	size_t cap = h->cap ? h->cap * 2 : 64;
	ui_event_t **ring = malloc(cap * sizeof(*ring));

	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < h->count; i++)
		ring[i] = event_at(h, i);
	free(h->ring);
	h->ring = ring;
	h->cap = cap;
	h->head = 0;
	return 0;
}

/* The previous UI_EVENT_LATEST event, if kept, loses its frame: what it cost is freed. */
static ui_event_t *supersede(ui_history_t *h)
{
	uint64_t first = h->next_id - h->count;
	ui_event_t *old, *empty;
	size_t slot;

	if (!h->latest_id || h->latest_id < first)
		return NULL;
	slot = (h->head + (size_t)(h->latest_id - first)) & (h->cap - 1);
	old = h->ring[slot];
	if (!old->len || !(empty = malloc(sizeof(*empty))))
		return NULL; /* without memory for the empty one, the frame stays: still bounded */
	*empty = *old;
	empty->len = 0;
	h->ring[slot] = empty;
	h->bytes -= old->len;
	h->superseded++;
	return old;
}

int64_t ui_history_publish(ui_history_t *h, const char *json, size_t len, int how)
{
	size_t flen, cost;
	ui_event_t *e, *gone[16];
	size_t ngone = 0;
	int64_t id;

	if (!len)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	/* the id is known only under the lock; the frame is built here, one copy of the text */
	flen = ui_event_frame(h->next_id, json, len, NULL, 0);
	cost = flen + EVENT_OVERHEAD;
	if (cost > h->max_bytes) {
		h->refused++;
		pthread_mutex_unlock(&h->lock);
		return -E2BIG;
	}
	e = malloc(sizeof(*e) + flen);
	if (!e || (h->count == h->cap && ring_grow(h) < 0)) {
		free(e);
		h->refused++;
		pthread_mutex_unlock(&h->lock);
		return -ENOMEM;
	}
	e->id = h->next_id++;
	e->len = ui_event_frame(e->id, json, len, e->frame, flen);
	h->total += e->len;
	e->end = h->total;
	h->ring[(h->head + h->count) & (h->cap - 1)] = e;
	h->count++;
	h->bytes += cost;
	h->published++;
	id = (int64_t)e->id;
	if (how == UI_EVENT_LATEST) {
		ui_event_t *old = supersede(h);

		if (old)
			gone[ngone++] = old;
		h->latest_id = e->id;
	}
	/* drop the oldest until the bound holds again; freed after the lock, a few at a time */
	while (h->bytes > h->max_bytes) {
		ui_event_t *old = event_at(h, 0);

		h->head = (h->head + 1) & (h->cap - 1);
		h->count--;
		h->bytes -= old->len + EVENT_OVERHEAD;
		h->dropped++;
		if (ngone < sizeof(gone) / sizeof(gone[0]))
			gone[ngone++] = old;
		else
			free(old); /* rare: one large event displacing many small ones */
	}
	pthread_mutex_unlock(&h->lock);
	for (size_t i = 0; i < ngone; i++)
		free(gone[i]);
	return id;
}

static uint64_t first_id_locked(const ui_history_t *h)
{
	return h->next_id - h->count;
}

void ui_history_join(ui_history_t *h, bool has_last, uint64_t last_id, ui_join_t *out)
{
	pthread_mutex_lock(&h->lock);
	memset(out, 0, sizeof(*out));
	out->first_id = first_id_locked(h);
	out->last_id = h->next_id - 1;
	out->dropped = h->dropped;
	out->since_total = h->total;
	if (has_last && last_id > out->last_id) {
		/* an id this stream never gave: the client saw another run (a restarted surge) */
		out->reset = true;
		has_last = false;
	}
	out->next_id = has_last ? last_id + 1 : 1;
	if (out->next_id < out->first_id) {
		out->missed = out->first_id - out->next_id;
		out->next_id = out->first_id;
	}
	pthread_mutex_unlock(&h->lock);
}

int ui_history_read(ui_history_t *h, uint64_t *next_id, buf_t *out, size_t soft_max)
{
	int n = 0, rc = 0;

	pthread_mutex_lock(&h->lock);
	if (*next_id < first_id_locked(h)) {
		rc = UI_HISTORY_BEHIND;
	} else {
		size_t i = (size_t)(*next_id - first_id_locked(h));

		for (; i < h->count && (n == 0 || out->len < soft_max); i++, n++) {
			const ui_event_t *e = event_at(h, i);

			if (e->len && (rc = buf_append(out, e->frame, e->len)) < 0)
				break;
			(*next_id)++;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return rc < 0 ? rc : n;
}

uint64_t ui_history_lag(ui_history_t *h, uint64_t next_id, uint64_t since_total, bool *dropped)
{
	uint64_t start, lag;

	pthread_mutex_lock(&h->lock);
	*dropped = next_id < first_id_locked(h);
	if (next_id >= h->next_id) {
		start = h->total; /* caught up */
	} else if (next_id < first_id_locked(h)) {
		start = h->count ? event_at(h, 0)->end - event_at(h, 0)->len : h->total;
	} else {
		const ui_event_t *e = event_at(h, (size_t)(next_id - first_id_locked(h)));

		/* the event it takes next is not lag: one event larger than the bound must not cut
		 * every client it is published to */
		start = e->end;
	}
	if (start < since_total)
		start = since_total; /* the replay it asked for is not lag */
	lag = h->total - start;
	pthread_mutex_unlock(&h->lock);
	return lag;
}

void ui_history_figures(ui_history_t *h, uint64_t *first_id, uint64_t *last_id, size_t *bytes,
                        uint64_t *published, uint64_t *refused, uint64_t *dropped)
{
	pthread_mutex_lock(&h->lock);
	*first_id = first_id_locked(h);
	*last_id = h->next_id - 1;
	*bytes = h->bytes;
	*published = h->published;
	*refused = h->refused;
	*dropped = h->dropped;
	pthread_mutex_unlock(&h->lock);
}
