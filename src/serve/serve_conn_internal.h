/* serve_conn_internal: what serve_conn.c (a connection's life: accept, states, deadlines, the
 * input, keep-alive, close), serve_conn_request.c (its requests: heads, bodies, dispatch, the
 * response and the next request), serve_conn_io.c (its I/O on readiness) and
 * serve_conn_stream.c (its I/O as an io_uring stream) share: the connection itself, its
 * states, and the steps between them. */
#ifndef SURGE_SERVE_CONN_INTERNAL_H
#define SURGE_SERVE_CONN_INTERNAL_H

#include "serve/serve_internal.h"

#define OUT_MAX  (256u << 20)
#define OUT_KEEP (16u << 10) /* what an idle connection may keep of a response */

enum conn_state {
	SC_IDLE,      /* keep-alive, waiting for the first byte of a request */
	SC_HANDSHAKE, /* TLS (--tls-cert): the handshake, within --header-timeout */
	SC_HEAD,      /* reading the request head */
	SC_BODY,      /* reading the request body */
	SC_HELD,      /* response ready, held back for its delay */
	SC_WRITING,   /* writing the response (a stream: also closing once its output went) */
};

struct serve_conn {
	serve_worker_t *w;
	serve_conn_t *prev, *next;
	loop_io_t io;
	loop_timer_t timer;
	uint64_t deadline_ns; /* header, body or idle timeout */
	int fd;
	tls_session_t *tls; /* NULL: plain TCP */
	enum conn_state state;
	uint32_t requests;

	char *in; /* request bytes; slices of req.head point here while handling */
	size_t in_len, in_cap, in_max;
	size_t head_len;
	uint64_t body_want; /* Content-Length still to come (sink: to discard) */
	uint64_t body_len;  /* body bytes kept after the head */
	http_chunked_decoder_t chunked;
	/* bytes of continue_line still to write: the socket may take none or part of it at
	 * once; the rest goes when it is writable, and always before the final response */
	size_t continue_left;

	/* the response: readiness writes it from out_pos; a stream queues responses in out,
	 * behind the bytes of the send in the kernel (wire) */
	buf_t out;
	size_t out_pos;
	size_t response_len; /* head and body bytes of the response being sent (not filler) */
	uint64_t fill_left;
	uint64_t drip_piece; /* /api/drip: bytes per piece, and when the next piece is due */
	uint64_t drip_piece_left;
	uint64_t drip_interval_ns;
	uint64_t drip_next_ns;
	bool active;    /* a request is being handled (counted in in_flight) */
	bool zombie;    /* closed while a deferred request was out: freed at its resume */
	serve_h2_t *h2; /* the connection speaks HTTP/2: serve_h2.c drives it from then on */

	/* an io_uring stream (serve_conn_stream.c): bytes come as events, sends are the
	 * kernel's; one send is out at a time, covering tx_left bytes from tx (wire's, or
	 * serve_filler's) */
	bool stream;
	bool tx_busy;
	bool input_paused; /* the receive is stopped: input waits in the socket */
	bool closing;      /* no more requests: it closes once its output went (or stalled) */
	bool peer_eof;     /* the client closed its side: what it sent is answered, then close */
	bool late_taken;   /* a delivery came while paused (one receive at a time: at most one) */
	bool exit_when_closed; /* POST /admin/crash: the process exits once its answer went */
	const char *tx;
	size_t tx_left;
	buf_t wire;
	serve_request_t req;
};

/* What a step left the connection in. */
enum step { STEP_GONE = -1, STEP_BUSY = 0, STEP_NEXT = 1 };

/* ---- serve_conn.c, for the others ---- */

void serve_conn_set_state(serve_conn_t *c, enum conn_state to);
/* A stream's send is out (or not): the connections gauge counts it active meanwhile. */
void serve_conn_set_sending(serve_conn_t *c, bool sending);
/* The header or idle deadline, after_ns from now (the timer moved only when it is sooner). */
void serve_conn_arm_deadline(serve_conn_t *c, uint64_t after_ns);
/* The response is all handed over: counted, logged; the connection goes on or closes. */
enum step serve_conn_request_done(serve_conn_t *c);
/* The request counted as done before the last bytes of its response go (once). */
void serve_conn_request_count(serve_conn_t *c);
/* Room in the input for want more bytes, the buffer growing to limit at most (a request's
 * parsed slices move with it); false when it cannot. */
bool serve_conn_in_reserve(serve_conn_t *c, size_t want, size_t limit);
/* POST /admin/crash, once its answer is out: the process exits (70). */
void serve_conn_exit(serve_worker_t *w) __attribute__((noreturn));
/* Frees a buffer grown past OUT_KEEP by a response that is over. */
void serve_conn_shrink_idle(buf_t *b);
/* Frees a closed connection (serve_resume: one closed while its request was deferred). */
void serve_conn_free(serve_conn_t *c);
/* The response waits (its delay, a deferred handler); STEP_GONE if the client left already. */
enum step serve_conn_hold(serve_conn_t *c);
/* No more requests: readiness closes now, a stream once its output went. STEP_GONE. */
enum step serve_conn_close_after_output(serve_conn_t *c);

/* ---- serve_conn_request.c ---- */

/* Handles what the input holds: heads, bodies, pipelined requests up to a budget. */
enum step serve_conn_process(serve_conn_t *c);
/* Serializes the response into out and hands it to the connection's I/O. */
enum step serve_conn_respond(serve_conn_t *c);
/* Answers a request the parser or a limit refused, and closes after it. */
enum step serve_conn_reply_refused(serve_conn_t *c, int status, const char *why);
const char *serve_conn_body_limit_message(void);
/* 100-continue: what the socket takes of it now (a stream: queued whole). STEP_GONE when the
 * connection failed. */
enum step serve_conn_send_continue(serve_conn_t *c);

/* ---- serve_conn_io.c (readiness) ---- */

/* Writes what it can of the response; STEP_NEXT when it is out and the next request may
 * start. */
enum step serve_conn_io_write(serve_conn_t *c);
/* Reads what the socket has into the input, then processes it (c may be gone after). */
void serve_conn_io_read(serve_conn_t *c);
/* Bytes TLS holds: come back for them on the next loop turn (through the timer). */
void serve_conn_io_kick_pending(serve_conn_t *c);
/* The connection's loop_io callback. */
void serve_conn_io_on_event(loop_t *loop, loop_io_t *io, uint32_t events);

/* ---- serve_conn_stream.c ---- */

/* A plain connection on a loop with streams becomes one; false: it stays on readiness. */
bool serve_conn_stream_start(serve_conn_t *c);
/* The response serialized into out: queue it and its filler (STEP_NEXT: it is all handed
 * over and the next request may start). */
enum step serve_conn_stream_respond(serve_conn_t *c);
/* A drip piece is due: send it (then as serve_conn_stream_respond). */
enum step serve_conn_stream_continue(serve_conn_t *c);
/* No more requests: closes once the queued output went. STEP_GONE (the caller lets go). */
enum step serve_conn_stream_close_later(serve_conn_t *c);
/* 100-continue: queued before anything else of the request. */
enum step serve_conn_stream_interim(serve_conn_t *c, const char *data, size_t len);
/* After processing: receive while the input is under its bound, else leave it in the socket. */
void serve_conn_stream_flow(serve_conn_t *c);
/* The queued responses reached their bound: the next request waits for the kernel to take
 * them (counted). */
bool serve_conn_stream_queue_full(serve_conn_t *c);
/* Draining: whether an idle stream may close now (no request received and undelivered). */
bool serve_conn_stream_request_waiting(const serve_conn_t *c);

#endif
