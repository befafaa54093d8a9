/* ui_history: the event stream's memory — every published event as its Server-Sent Events frame,
 * numbered 1, 2, 3, ..., the newest kept within a byte bound so a client that reconnects (or
 * joins late) is sent what it missed, then the live events, with no gap. Thread-safe: events
 * are published from the caller's thread and read by the UI thread. No I/O. */
#ifndef SURGE_UI_HISTORY_H
#define SURGE_UI_HISTORY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

typedef struct ui_event ui_event_t;

typedef struct ui_history {
	pthread_mutex_t lock;
	ui_event_t **ring; /* cap slots; count events from head, oldest first, ids consecutive */
	size_t cap, head, count;
	uint64_t next_id; /* the id the next event gets (the first is 1) */
	uint64_t total;   /* frame bytes of every event ever published: a stream position */
	size_t bytes;     /* what the kept events cost: frames and bookkeeping */
	size_t max_bytes;
	uint64_t published, refused, dropped;
	uint64_t latest_id;  /* the newest event published as UI_EVENT_LATEST, 0: none */
	uint64_t superseded; /* UI_EVENT_LATEST events emptied by a newer one */
} ui_history_t;

/* Where a stream client starts (ui_history_join). */
typedef struct ui_join {
	uint64_t next_id;     /* the first event to send it */
	uint64_t since_total; /* the stream position when it joined: what follows is live */
	uint64_t first_id;    /* the oldest event kept (last_id + 1 when none is) */
	uint64_t last_id;     /* the newest event, 0 when none was published */
	uint64_t dropped;     /* events dropped from the history since the start */
	uint64_t missed;      /* events after the client's last one that are no longer kept */
	bool reset;           /* the client's last id is not of this stream: start afresh */
} ui_join_t;

/* ui_history_read's answer when the client's next event was dropped from the history. */
#define UI_HISTORY_BEHIND (-1000)

int ui_history_init(ui_history_t *h, size_t max_bytes);
void ui_history_free(ui_history_t *h);

/* How an event is kept. UI_EVENT_LATEST: only until the next such event, which empties it (its
 * id stays, with no frame: a client replaying the history skips it) — for a state of which
 * only the newest matters, such as the tables' figures so far. */
enum { UI_EVENT_KEPT = 0, UI_EVENT_LATEST = 1 };

/* json[0..len) as the next event: its id, or -EINVAL (empty), -E2BIG (it alone would pass
 * max_bytes), -ENOMEM. The oldest events are dropped to make room. */
int64_t ui_history_publish(ui_history_t *h, const char *json, size_t len, int how);

/* A client joining, after its event last_id when has_last (Last-Event-ID), else from the
 * oldest event kept. */
void ui_history_join(ui_history_t *h, bool has_last, uint64_t last_id, ui_join_t *out);

/* Appends whole frames from event *next_id on to out while out->len < soft_max (at least one
 * when there is one), and moves *next_id past them. Returns how many, UI_HISTORY_BEHIND when
 * event *next_id was dropped, or the buffer's error. */
int ui_history_read(ui_history_t *h, uint64_t *next_id, buf_t *out, size_t soft_max);

/* Bytes of the events after next_id that were published after stream position since_total:
 * how far a client has fallen behind the live stream, beyond the event it takes next (what it
 * asked to be replayed is not counted). *dropped: event next_id is no longer kept. */
uint64_t ui_history_lag(ui_history_t *h, uint64_t next_id, uint64_t since_total, bool *dropped);

/* The counters and the kept range, read together. */
void ui_history_figures(ui_history_t *h, uint64_t *first_id, uint64_t *last_id, size_t *bytes,
                        uint64_t *published, uint64_t *refused, uint64_t *dropped);

/* The frame of one event: "id: N\n" then "data: LINE\n" for each line of json (split at CR,
 * LF or CRLF, which a data line cannot hold) and an empty line. Its length, and the frame
 * into out when out_len is enough (out may be NULL to measure). */
size_t ui_event_frame(uint64_t id, const char *json, size_t len, char *out, size_t out_len);

#endif
