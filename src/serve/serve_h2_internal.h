/* serve_h2_internal: what serve_h2.c (the connection: I/O, nghttp2's session and callbacks)
 * and serve_h2_stream.c (a stream as a request: its head, its body, its response) share. */
#ifndef SURGE_SERVE_H2_INTERNAL_H
#define SURGE_SERVE_H2_INTERNAL_H

#include <nghttp2/nghttp2.h>
#include <string.h>

#include "serve/serve_internal.h"

/* Request bodies one connection buffers across its streams, in --max-body units: beyond it a
 * stream is answered 503 (sink routes such as /api/upload buffer nothing). */
#define BODY_BUDGET_BODIES 4
/* Header bytes past --max-header-bytes are dropped and answered 431; past this many times it
 * the stream is reset instead (nothing more of its header block is even looked at). */
#define HEADERS_HARD_FACTOR 4

enum stream_state {
	ST_HEAD,    /* the header block is arriving */
	ST_BODY,    /* the body is arriving */
	ST_WAITING, /* dispatched: a deferred handler answers later */
	ST_HELD,    /* answered, held back for its delay */
	ST_SENDING, /* the response is submitted: nghttp2 sends it as the peer's window allows */
};

typedef struct h2_stream h2_stream_t;
struct h2_stream {
	serve_request_t req; /* first: serve_resume hands back &req */
	serve_h2_t *h2;      /* NULL once the connection went while a handler held req */
	h2_stream_t *prev, *next;
	int32_t id;
	enum stream_state state;
	bool gone;     /* nghttp2 closed the stream (reset by the peer, ...): nothing to send */
	bool counted;  /* in the worker's in_flight gauge */
	bool refused;  /* answered before its body was complete: the rest is dropped */
	bool ended;    /* our END_STREAM went out: the response is complete */
	bool sink;     /* the route counts the body and drops it */
	bool too_many; /* more header fields than HTTP_REQUEST_MAX_HEADERS */
	bool reset_after_hang;
	bool drip_waiting;     /* the body waits for its next drip piece (NGHTTP2_ERR_DEFERRED) */
	uint32_t header_bytes; /* as RFC 9113 6.5.2 counts: name + value + 32 per field */
	uint16_t header_fields;
	loop_timer_t timer; /* receive deadline, delay, drip pieces, end of a hang, send stall */
	buf_t head;         /* "name\0value\0" as received: req.head's slices point here */
	buf_t body;         /* the request body, unless the route sinks it */
	/* the response body: body_out from body_pos, then fill_left bytes of filler */
	size_t body_pos;
	uint64_t fill_left;
	uint64_t data_sent;
	uint64_t progress_ns; /* the last DATA taken by nghttp2 */
	uint64_t drip_piece, drip_piece_left, drip_interval_ns, drip_next_ns;
	char status[4];
};

_Static_assert(offsetof(h2_stream_t, req) == 0, "serve_h2_resume finds the stream from &req");

struct serve_h2 {
	serve_conn_t *conn;
	serve_worker_t *w;
	loop_io_t *io;
	loop_timer_t *timer; /* the connection's: idle (no streams) and write-stall deadlines */
	nghttp2_session *session;
	h2_stream_t *streams;
	uint32_t open; /* stream objects alive (not yet freed) */
	uint64_t body_held;
	buf_t out;
	size_t out_pos;
	uint64_t idle_deadline_ns, write_deadline_ns;
	bool goaway;           /* GOAWAY submitted: no new streams */
	bool in_nghttp2;       /* inside mem_recv's callbacks: no mem_send, no close there */
	bool closing;          /* close as soon as nghttp2 has returned */
	bool exit_after_flush; /* POST /admin/crash: exit once the response is written */
	bool freeing;
	/* streams done with, kept for the next ones with their (small) buffers: a request
	 * then costs no allocation; at most SPARE_STREAMS */
	h2_stream_t *spare;
	uint32_t spare_count;
};

#define SPARE_STREAMS 8

/* ---- serve_h2.c ---- */

/* Moves what nghttp2 has to send to the socket; closes the connection when both sides are
 * done. 0, or -1 when the connection is gone. */
int serve_h2_flush(serve_h2_t *h);
/* Closes the connection (serve_conn_close, which frees h); returns -1. */
int serve_h2_close(serve_h2_t *h);
/* GOAWAY naming the last stream taken: those finish, no new one starts. Once. */
void serve_h2_goaway(serve_h2_t *h);

/* ---- serve_h2_stream.c ---- */

static inline h2_stream_t *serve_h2_stream_of(serve_h2_t *h, int32_t id)
{
	return nghttp2_session_get_stream_user_data(h->session, id);
}

static inline bool serve_h2_name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && memcmp(name, want, len) == 0;
}

/* A stream begun by the peer's HEADERS (or the upgrade's stream 1); NULL without memory. */
h2_stream_t *serve_h2_stream_new(serve_h2_t *h, int32_t id);
/* Unlinks s from its connection and frees it; the connection goes idle with its last one. */
void serve_h2_stream_free(h2_stream_t *s);
/* Frees a stream no connection holds any more (its handler resumed after the close). */
void serve_h2_stream_release(h2_stream_t *s);
/* The connection's spare streams go (it closes). */
void serve_h2_spares_free(serve_h2_t *h);
/* The connection closes while s's handler still holds its request: s waits for it alone. */
void serve_h2_stream_detach(h2_stream_t *s);
/* One field of the header block: 0, or an nghttp2 error to reset the stream. */
int serve_h2_stream_header(h2_stream_t *s, const uint8_t *name, size_t namelen,
                           const uint8_t *value, size_t valuelen);
/* The header block is complete: the head, the route, the limits known before the body. */
void serve_h2_stream_head_done(h2_stream_t *s);
/* Body bytes, buffered (bounded) or counted for sink routes. */
void serve_h2_stream_data(h2_stream_t *s, const uint8_t *data, size_t len);
/* END_STREAM: the request is complete, hand it to the endpoints. */
void serve_h2_stream_dispatch(h2_stream_t *s);
/* After the handler answered (at once or on resume): faults, the delay, the response. */
void serve_h2_stream_answer(h2_stream_t *s);
/* The response's last frame (END_STREAM) is made: the request is done and counted, whether
 * or not the client has finished sending (a 413 or 408 answered before the body ended).
 * nghttp2_session_mem_send calls on_frame_send for a frame before it hands back its bytes, so
 * this runs before serve_h2_flush writes them: counted before the last bytes of its response
 * go to the socket, as HTTP/1.1 counts (serve_conn.c serve_conn_request_count), and a write that
 * then fails leaves it counted. */
void serve_h2_stream_ended(h2_stream_t *s);
/* nghttp2 closed the stream: it is freed (or left to its handler). */
void serve_h2_stream_closed(h2_stream_t *s);
/* Stream 1 of an upgrade: the HTTP/1.1 request r (its body at body), copied. */
void serve_h2_stream_from_http1(h2_stream_t *s, const serve_request_t *r, const char *body);

#endif
