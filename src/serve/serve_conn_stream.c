/* serve_conn_stream: a plain connection of the target on an io_uring loop, as a stream. Its
 * bytes come as they arrive and go into the input (bounded: past it the receive stops and they
 * wait in the socket, TCP holding the client back as readiness does); responses queue behind
 * the send in the kernel and go whole, one send at a time. A request costs no system call of
 * its own (docs/architecture.md, "Streams for surge serve"). HTTP/2 on such a
 * connection queues its frames here too (serve_h2.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "serve/serve_conn_internal.h"

/* Responses queued behind the send in the kernel: past this the next request waits for the
 * kernel to take them (counted, bound send_queue). Pipelined answers go out together; a client
 * that does not read makes the connection hold this and one response at most. */
#define QUEUE_MAX (64u << 10)
/* The filler of a small ?size= body is copied into the queue: its response is one send. */
#define INLINE_FILL (16u << 10)

static void on_stream(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                      const char *data);

bool serve_conn_stream_start(serve_conn_t *c)
{
	if (c->tls || !loop_stream_supported(c->w->loop) ||
	    loop_stream_start(c->w->loop, &c->io, on_stream, LOOP_STREAM_ONE_RECEIVE) < 0)
		return false;
	c->stream = true;
	return true;
}

/* Receives, or leaves the input in the socket; a stop for want of room is a bound hit. */
static void set_input(serve_conn_t *c, bool want, bool at_bound)
{
	if (want != c->input_paused)
		return;
	c->input_paused = !want;
	c->late_taken = false;
	if (!want && at_bound)
		stat_add(&c->w->stats.stream_input_paused, 1);
	loop_stream_pause(c->w->loop, &c->io, !want);
}

void serve_conn_stream_flow(serve_conn_t *c)
{
	bool full = c->in_len >= c->in_max;

	if (c->stream && !c->h2)
		set_input(c, !c->closing && !full, full);
}

/* Starts the next send when none is out: the queue whole (it becomes wire, and responses
 * queue afresh in out), else the response's filler, a chunk (or a drip piece, when it is due)
 * at a time. 0, or -1 when the connection is gone. */
static int send_next(serve_conn_t *c)
{
	loop_t *loop = c->w->loop;
	const char *p;
	size_t n;

	if (c->tx_busy)
		return 0;
	if (c->out.len) {
		buf_t queued = c->out;

		c->out = c->wire;
		c->wire = queued;
		buf_reset(&c->out);
		p = c->wire.data;
		n = c->wire.len;
	} else if (c->fill_left && !c->h2) {
		if (c->drip_piece && !c->drip_piece_left) {
			loop_timer_start(loop, &c->timer, c->drip_next_ns);
			return 0;
		}
		p = serve_filler;
		n = c->fill_left < SERVE_FILL_CHUNK ? (size_t)c->fill_left : SERVE_FILL_CHUNK;
		if (c->drip_piece && n > c->drip_piece_left)
			n = (size_t)c->drip_piece_left;
		c->fill_left -= n;
		if (c->drip_piece)
			c->drip_piece_left -= n;
	} else {
		return 0;
	}
	if (loop_stream_send(loop, &c->io, p, n) < 0) {
		serve_conn_close(
		    c); /* no submission entry even after submitting: the ring failed */
		return -1;
	}
	c->tx = p;
	c->tx_left = n;
	serve_conn_set_sending(c, true);
	return 0;
}

/* Sends what is due, then: a closing connection closes once all went; a response whose last
 * byte is handed over is done (STEP_NEXT, the next request may start). */
static enum step progress(serve_conn_t *c)
{
	if (send_next(c) < 0)
		return STEP_GONE;
	if (c->closing) {
		if (c->tx_busy || c->out.len)
			return STEP_BUSY;
		if (c->exit_when_closed)
			serve_conn_exit(c->w);
		serve_conn_close(c);
		return STEP_GONE;
	}
	if (c->state != SC_WRITING || c->fill_left)
		return STEP_BUSY;
	return serve_conn_request_done(c);
}

enum step serve_conn_stream_respond(serve_conn_t *c)
{
	if (c->fill_left && !c->drip_piece && c->fill_left <= INLINE_FILL &&
	    buf_append(&c->out, serve_filler, (size_t)c->fill_left) == 0)
		c->fill_left = 0;
	/* a client that stops reading a long body gets --idle-timeout, then is disconnected */
	if (c->fill_left && !c->drip_piece)
		serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
	return progress(c);
}

enum step serve_conn_stream_continue(serve_conn_t *c)
{
	return progress(c);
}

enum step serve_conn_stream_interim(serve_conn_t *c, const char *data, size_t len)
{
	if (buf_append(&c->out, data, len) < 0) {
		serve_conn_close(c);
		return STEP_GONE;
	}
	return send_next(c) < 0 ? STEP_GONE : STEP_NEXT;
}

enum step serve_conn_stream_close_later(serve_conn_t *c)
{
	if (c->active) {
		stat_add(&c->w->stats.in_flight, (uint64_t)-1);
		c->active = false;
	}
	c->closing = true;
	c->fill_left = 0;
	serve_conn_set_state(c, SC_WRITING); /* busy until it closes: no drain closes it first */
	serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
	set_input(c, false, false);
	progress(c);
	return STEP_GONE;
}

bool serve_conn_stream_request_waiting(const serve_conn_t *c)
{
	return c->stream && loop_stream_pending(c->w->loop, &c->io);
}

bool serve_conn_stream_queue_full(serve_conn_t *c)
{
	if (c->out.len + (c->tx_busy ? c->tx_left : 0) < QUEUE_MAX)
		return false;
	stat_add(&c->w->stats.stream_queue_full, 1);
	return true;
}

/* ---- events ---- */

/* Bytes of the client's: into the input, then handled. The input stops at its bound (in_max:
 * the head's limit, or the body's) and what comes after that stays in the socket, but for the
 * one receive that was out: the stream receives once per delivery (LOOP_STREAM_ONE_RECEIVE),
 * so the input holds its bound and one buffer at most. A multishot receive would deliver as
 * much as the socket held after the pause (megabytes from a client that sends without
 * reading, measured); a second delivery while paused would be past the bound: it closes the
 * connection, counted (input_overflow). */
static void on_data(serve_conn_t *c, const char *data, size_t len)
{
	stat_add(&c->w->stats.bytes_in, len);
	if (c->closing)
		return; /* no more requests: it closes once its output went */
	/* paused, one delivery may still come (the receive that was out); a second is past
	 * the bound */
	if (c->input_paused && c->late_taken) {
		stat_add(&c->w->stats.stream_input_overflow, 1);
		serve_conn_close(c);
		return;
	}
	c->late_taken = c->input_paused;
	if (!serve_conn_in_reserve(c, len, c->in_len + len)) {
		serve_conn_close(c); /* out of memory */
		return;
	}
	memcpy(c->in + c->in_len, data, len);
	c->in_len += len;
	serve_conn_process(c);
}

/* The client closed its side: what it sent before is answered, then the connection closes (a
 * held request is given up at once, as readiness's hang-up does). */
static void on_eof(serve_conn_t *c)
{
	c->peer_eof = true;
	if (c->closing || c->state == SC_WRITING)
		return; /* the response goes on; the next look at the input finds the end */
	if (c->state == SC_HELD) {
		serve_conn_close(c);
		return;
	}
	serve_conn_process(c);
}

/* A send ended: the rest of it, or the next; the deadline moves with the client's reading. */
static void on_sent(serve_conn_t *c, int res)
{
	enum step step;

	if (res <= 0) {
		serve_conn_close(c); /* reset, or the client shut its reading side */
		return;
	}
	c->tx += res;
	c->tx_left -= (size_t)res;
	if (c->tx_left) {
		/* the socket took a part: the rest goes now */
		if (loop_stream_send(c->w->loop, &c->io, c->tx, c->tx_left) < 0) {
			serve_conn_close(c);
			return;
		}
	} else {
		serve_conn_set_sending(c, false);
		buf_reset(&c->wire);
		serve_conn_shrink_idle(&c->wire);
	}
	if (c->h2) {
		serve_h2_on_sent(c->h2);
		return;
	}
	if (c->closing || c->state == SC_IDLE || (c->state == SC_WRITING && !c->drip_piece))
		serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
	if (c->tx_busy)
		return;
	step = progress(c);
	if (step == STEP_NEXT || (step == STEP_BUSY && c->state == SC_IDLE && c->in_len))
		serve_conn_process(c); /* requests that waited for the queue, or the next one */
}

static void on_stream(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                      const char *data)
{
	serve_conn_t *c = io->ctx;

	if (kind == LOOP_STREAM_SENT)
		on_sent(c, res);
	else if (res < 0 || (res == 0 && c->h2))
		serve_conn_close(c); /* a reset; or HTTP/2's end, which drops its streams */
	else if (c->h2)
		serve_h2_on_input(c->h2, data, (size_t)res);
	else if (res == 0)
		on_eof(c);
	else
		on_data(c, data, (size_t)res);
}

/* ---- for serve_h2.c ---- */

bool serve_conn_is_stream(const serve_conn_t *c)
{
	return c->stream;
}

int serve_conn_queue(serve_conn_t *c, const void *data, size_t len)
{
	return buf_append(&c->out, data, len);
}

int serve_conn_send(serve_conn_t *c)
{
	return send_next(c);
}

size_t serve_conn_unsent(const serve_conn_t *c)
{
	return c->out.len + (c->tx_busy ? c->tx_left : 0);
}

void serve_conn_want_input(serve_conn_t *c, bool want, bool at_bound)
{
	set_input(c, want, at_bound);
}
