/* serve_conn: one client connection of the target — read a request head (bounded in size and
 * time), its body, dispatch, hold the response for its delay on a loop timer, write it, and
 * go on with the next (pipelined) request. Limits are answered with 4xx and a close. The I/O
 * is readiness here (epoll, TLS), or an io_uring stream (serve_conn_stream.c). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/net.h"
#include "serve/serve_conn_internal.h"

#define IN_INITIAL      4096
#define PIPELINE_BUDGET 16 /* requests handled per event before others get a turn */
#define FILL_CHUNK      SERVE_FILL_CHUNK

/* The interim response to "Expect: 100-continue" (RFC 9110 15.2.1). */
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
#define CONTINUE_LEN (sizeof(continue_line) - 1)

char serve_filler[SERVE_FILL_CHUNK];

/* The HTTP/2 client connection preface (RFC 9113 3.4): a connection that begins with it
 * speaks HTTP/2 from the first byte (prior knowledge). */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);
static void conn_on_timer(loop_t *loop, loop_timer_t *t);

/* The connections gauge a connection is in: by its state, and a stream whose answer is still
 * in the kernel (its socket full, or its send not yet ended) is still writing it, as
 * readiness's SC_WRITING is. */
static enum serve_conn_gauge gauge_of(enum conn_state state, bool sending)
{
	static const enum serve_conn_gauge gauge[] = {
	    [SC_IDLE] = CONN_GAUGE_IDLE,    [SC_HANDSHAKE] = CONN_GAUGE_READING,
	    [SC_HEAD] = CONN_GAUGE_READING, [SC_BODY] = CONN_GAUGE_READING,
	    [SC_HELD] = CONN_GAUGE_ACTIVE,  [SC_WRITING] = CONN_GAUGE_ACTIVE,
	};

	return state == SC_IDLE && sending ? CONN_GAUGE_ACTIVE : gauge[state];
}

static void move_gauge(serve_conn_t *c, enum conn_state to, bool sending)
{
	enum serve_conn_gauge from = gauge_of(c->state, c->tx_busy), into = gauge_of(to, sending);
	serve_worker_stats_t *s = &c->w->stats;

	if (from == into)
		return;
	stat_add(&s->conns[from], (uint64_t)-1);
	stat_add(&s->conns[into], 1);
}

/* The header or idle deadline, kept lazily: the timer moves only when the new deadline is
 * earlier than where it sits; a later one is found by the timer callback, which re-arms.
 * So the usual request costs no heap operation. */
void serve_conn_arm_deadline(serve_conn_t *c, uint64_t after_ns)
{
	c->deadline_ns = loop_now(c->w->loop) + after_ns;
	if (!loop_timer_pending(&c->timer) || c->timer.when_ns > c->deadline_ns)
		loop_timer_start(c->w->loop, &c->timer, c->deadline_ns);
}

void serve_conn_set_state(serve_conn_t *c, enum conn_state to)
{
	move_gauge(c, to, c->tx_busy);
	c->state = to;
}

void serve_conn_set_sending(serve_conn_t *c, bool sending)
{
	move_gauge(c, c->state, sending);
	c->tx_busy = sending;
}

static void conn_free(serve_conn_t *c)
{
	buf_free(&c->out);
	buf_free(&c->wire);
	buf_free(&c->req.body_out);
	buf_free(&c->req.headers_out);
	free(c->in);
	free(c);
}

static void conn_close(serve_conn_t *c)
{
	serve_worker_t *w = c->w;

	stat_add(&w->stats.conns[gauge_of(c->state, c->tx_busy)], (uint64_t)-1);
	if (c->active)
		stat_add(&w->stats.in_flight, (uint64_t)-1);
	if (c->h2) {
		serve_h2_free(c->h2); /* its streams' in-flight counts go with it */
		c->h2 = NULL;
	}
	loop_io_stop(w->loop, &c->io);
	loop_timer_stop(w->loop, &c->timer);
	tls_session_free(c->tls); /* close_notify, best effort */
	c->tls = NULL;
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	w->conn_count--;
	atomic_fetch_sub(&serve_state.open_conns, 1);
	c->active = false;
	if (c->req.deferred)
		c->zombie = true; /* something still holds &c->req: free at serve_resume() */
	else
		conn_free(c);
	if (w->draining && w->conn_count == 0)
		loop_stop(w->loop);
}

void serve_conn_close(serve_conn_t *c)
{
	conn_close(c);
}

void serve_conn_exit(serve_worker_t *w)
{
	serve_log_event(SERVE_LOG_WARN, "crash", "exiting on request (POST /admin/crash)");
	serve_log_flush(w);
	_exit(70);
}

/* The response waits (its delay, a deferred handler): a client that gives up meanwhile frees
 * its connection at once — readiness watches for its hang-up, a stream has seen it already
 * or will (on_eof). */
static enum step conn_hold(serve_conn_t *c)
{
	serve_conn_set_state(c, SC_HELD);
	if (c->stream && c->peer_eof) {
		conn_close(c);
		return STEP_GONE;
	}
	loop_io_update(c->w->loop, &c->io, LOOP_PEER_CLOSED);
	return STEP_BUSY;
}

/* No more requests on this connection: readiness closes now (what was written is in the
 * socket); a stream closes once the kernel took its queued responses. */
static enum step conn_close_after_output(serve_conn_t *c)
{
	if (c->stream)
		return serve_conn_stream_close_later(c);
	conn_close(c);
	return STEP_GONE;
}

void serve_conn_set_busy(serve_conn_t *c, bool busy)
{
	serve_conn_set_state(c, busy ? SC_HELD : SC_IDLE);
}

ssize_t serve_conn_read(serve_conn_t *c, void *buf, size_t len)
{
	return c->tls ? tls_read(c->tls, buf, len) : net_read(c->fd, buf, len);
}

ssize_t serve_conn_write(serve_conn_t *c, const void *buf, size_t len)
{
	return c->tls ? tls_write(c->tls, buf, len) : net_write(c->fd, buf, len);
}

bool serve_conn_read_pending(serve_conn_t *c)
{
	return c->tls && tls_pending(c->tls) > 0;
}

/* Bytes TLS decrypted and holds are not seen by the loop (the socket may be drained): come
 * back for them on the next turn, through the timer, whose callback reads them. */
static void kick_pending(serve_conn_t *c)
{
	if (serve_conn_read_pending(c))
		loop_timer_start(c->w->loop, &c->timer, loop_now(c->w->loop));
}

void serve_conn_init(void)
{
	memset(serve_filler, 'x', sizeof(serve_filler));
}

void serve_conn_accept(serve_worker_t *w, int fd)
{
	const serve_config_t *cfg = serve_state.cfg;
	serve_conn_t *c;

	if (atomic_fetch_add(&serve_state.open_conns, 1) >= cfg->max_connections ||
	    !(c = calloc(1, sizeof(*c)))) {
		atomic_fetch_sub(&serve_state.open_conns, 1);
		stat_add(&w->stats.rejected, 1);
		close(fd);
		return;
	}
	c->w = w;
	c->fd = fd;
	c->in_max = cfg->max_header_bytes;
	c->state = serve_state.tls ? SC_HANDSHAKE : SC_IDLE;
	buf_init(&c->out, OUT_MAX);
	buf_init(&c->wire, OUT_MAX);
	loop_timer_init(&c->timer, conn_on_timer, c);
	if ((serve_state.tls && !(c->tls = tls_server_session_new(serve_state.tls, fd))) ||
	    loop_io_start(w->loop, &c->io, fd, LOOP_READ, conn_on_io, c) < 0) {
		atomic_fetch_sub(&serve_state.open_conns, 1);
		tls_session_free(c->tls);
		close(fd);
		free(c);
		return;
	}
	serve_conn_stream_start(c); /* plain, on io_uring: a stream; else readiness */
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	w->conn_count++;
	stat_add(&w->stats.accepted, 1);
	stat_add(&w->stats.conns[c->tls ? CONN_GAUGE_READING : CONN_GAUGE_IDLE], 1);
	serve_conn_arm_deadline(c, c->tls ? cfg->header_timeout_ns : cfg->idle_timeout_ns);
}

void serve_conn_close_all(serve_worker_t *w)
{
	while (w->conns)
		conn_close(w->conns);
}

/* A request that reached the socket but not yet the worker: closing over unread bytes makes
 * the kernel answer with a reset, so the client loses a request it sent before the drain. */
static bool request_waiting(const serve_conn_t *c)
{
	char byte;

	return recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

void serve_conn_close_idle(serve_worker_t *w)
{
	serve_conn_t *c = w->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->h2) {
			serve_h2_drain(c->h2); /* GOAWAY; it closes once its streams are done */
			continue;
		}
		/* one with a request waiting is answered first, with Connection: close; a stream's
		 * may be received already, not yet handed to it; its queued output goes first */
		if (c->state != SC_IDLE || c->in_len || request_waiting(c) ||
		    serve_conn_read_pending(c) || serve_conn_stream_request_waiting(c))
			continue;
		if (c->stream)
			serve_conn_stream_close_later(c);
		else
			conn_close(c);
	}
}

static bool draining(const serve_worker_t *w)
{
	return serve_draining(w);
}

/* ---- writing ---- */

/* 1xx, 204 and 304 carry no body (RFC 9110 §6.4.1); 1xx and 204 no Content-Length either. */
static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static void serialize(serve_conn_t *c)
{
	serve_request_t *r = &c->req;
	bool head = r->head.method.len == 4 && memcmp(r->head.method.p, "HEAD", 4) == 0;
	bool body_allowed = status_has_body(r->status);
	uint64_t body = body_allowed ? r->body_out.len + r->fill_bytes : 0;
	size_t queued;

	if (draining(c->w))
		r->close_after =
		    true; /* answered during a drain: tell the client to go elsewhere */
	/* a stream queues it behind responses its send has not taken yet */
	if (!c->stream)
		buf_reset(&c->out);
	queued = c->out.len;
	/* an interim response begun must be finished first; one never begun is dropped: a
	 * final status may replace it (RFC 9110 10.1.1) */
	if (c->continue_left && c->continue_left < CONTINUE_LEN)
		buf_append(&c->out, continue_line + CONTINUE_LEN - c->continue_left,
		           c->continue_left);
	c->continue_left = 0;
	buf_append_str(&c->out, "HTTP/1.1 ");
	buf_append_uint(&c->out, (uint64_t)r->status);
	buf_append_char(&c->out, ' ');
	buf_append_str(&c->out, http_reason(r->status));
	buf_append_str(&c->out, "\r\nServer: surge\r\n");
	buf_append_str(&c->out, serve_state.served_by);
	buf_append_str(&c->out, c->w->date);
	if (body_allowed) {
		buf_append_str(&c->out, "Content-Type: ");
		buf_append_str(&c->out, r->content_type ? r->content_type : "application/json");
		buf_append_str(&c->out, "\r\n");
	}
	if (r->status >= 200 && r->status != 204) {
		buf_append_str(&c->out, "Content-Length: ");
		buf_append_uint(&c->out, body);
		buf_append_str(&c->out, "\r\n");
	}
	if (r->close_after)
		buf_append_str(&c->out, "Connection: close\r\n");
	else if (r->head.minor_version == 0)
		buf_append_str(&c->out, "Connection: keep-alive\r\n");
	if (r->headers_out.len)
		buf_append(&c->out, r->headers_out.data, r->headers_out.len);
	buf_append_str(&c->out, "\r\n");
	if (!head && body_allowed && r->body_out.len)
		buf_append(&c->out, r->body_out.data, r->body_out.len);
	c->out_pos = 0;
	c->response_len = c->out.len - queued;
	c->fill_left = head || !body_allowed ? 0 : r->fill_bytes;
	c->drip_piece = 0;
	if (r->drip_ns && c->fill_left) {
		/* pieces 10 ms apart at most, never smaller than a byte */
		uint64_t pieces = r->drip_ns / (10 * NS_PER_MS);

		if (pieces > c->fill_left)
			pieces = c->fill_left;
		if (pieces < 1)
			pieces = 1;
		c->drip_piece = (c->fill_left + pieces - 1) / pieces;
		c->drip_piece_left = 0; /* the head goes now, the first piece after one interval */
		c->drip_interval_ns = r->drip_ns / pieces;
		c->drip_next_ns = loop_now(c->w->loop) + c->drip_interval_ns;
	}
}

/* Frees a buffer grown past OUT_KEEP by a response that is over; it grows again when needed. */
void serve_conn_shrink_idle(buf_t *b)
{
	if (b->cap > OUT_KEEP)
		buf_free(b);
}

/* Counts the request as done — off the in-flight gauge, its duration observed, its access
 * line — before the last bytes of its response go to the socket: a client that has read the
 * response and asks /metrics at once, on a new connection another worker may answer, must
 * find it counted. Once: c->active says it is still to be counted. A write that then fails
 * or stalls past --idle-timeout leaves it counted with the status it was answered with (the
 * server answered in full; the client was gone for its last bytes); one that fails before the
 * last bytes leaves it uncounted, as a client gone mid-response always was. A stream counts
 * it when its last bytes are handed to the kernel (serve_conn_request_done, below). */
static void request_count(serve_conn_t *c)
{
	serve_worker_t *w = c->w;
	serve_request_t *r = &c->req;
	uint64_t dur = clock_now_ns() - r->start_ns;

	c->active = false;
	stat_add(&w->stats.in_flight, (uint64_t)-1);
	stat_add(&w->stats.bytes_out, c->response_len + r->fill_bytes);
	serve_metrics_record(w, r, dur);
	if (serve_state.cfg->access_log && !(r->route && (r->route->flags & ROUTE_PROBE)))
		serve_log_access(w, r, dur, c->response_len + r->fill_bytes);
}

/* The response is written (and the request counted): a crash asked for, the close asked for,
 * or the connection made ready for the next request. */
enum step serve_conn_request_done(serve_conn_t *c)
{
	serve_worker_t *w = c->w;
	serve_request_t *r = &c->req;
	size_t used = c->head_len + c->body_len;

	if (c->active)
		request_count(c); /* a response of no bytes: none was written to count it before */
	if (r->fault == FAULT_EXIT) {
		if (c->stream) {
			/* after the answer: once the kernel took it, the close exits */
			c->exit_when_closed = true;
			return serve_conn_stream_close_later(c);
		}
		serve_conn_exit(w);
	}
	c->drip_piece = 0;
	if (r->close_after)
		return conn_close_after_output(c);
	/* keep what follows this request: the start of the next, pipelined one */
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->in_max = serve_state.cfg->max_header_bytes;
	c->head_len = c->body_len = 0;
	if (!c->in_len && c->in_cap > IN_INITIAL) {
		free(c->in); /* a big body is over: an idle connection keeps little */
		c->in = NULL;
		c->in_cap = 0;
	}
	/* nor a big response: kept, a thousand keep-alive connections that each once fetched
	 * /openapi.json or /metrics would hold the largest response of each, twice (the body
	 * and the response) */
	if (!c->in_len) {
		if (!c->stream || !c->out.len) /* a stream's may hold responses not yet sent */
			serve_conn_shrink_idle(&c->out);
		serve_conn_shrink_idle(&c->req.body_out);
		serve_conn_shrink_idle(&c->req.headers_out);
	}
	c->requests++;
	serve_conn_set_state(c, SC_IDLE);
	serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
	loop_io_update(w->loop, &c->io, LOOP_READ);
	kick_pending(c); /* the next request may be in TLS's buffer, not the socket */
	return STEP_NEXT;
}

/* Writes what it can; STEP_NEXT when the response is out and the next request may start. */
static enum step conn_write(serve_conn_t *c)
{
	while (c->out_pos < c->out.len || c->fill_left) {
		const char *p = c->out.data + c->out_pos;
		size_t n = c->out.len - c->out_pos;
		ssize_t rc;

		if (!n) {
			if (c->drip_piece && !c->drip_piece_left) {
				/* the next piece is due later: wait on the timer, not on the socket
				 */
				loop_io_update(c->w->loop, &c->io, 0);
				loop_timer_start(c->w->loop, &c->timer, c->drip_next_ns);
				return STEP_BUSY;
			}
			p = serve_filler;
			n = c->fill_left < FILL_CHUNK ? c->fill_left : FILL_CHUNK;
			if (c->drip_piece && n > c->drip_piece_left)
				n = (size_t)c->drip_piece_left;
		}
		/* the write that may end the response: count the request first (request_count) */
		if (c->active && n == c->out.len - c->out_pos + c->fill_left)
			request_count(c);
		rc = serve_conn_write(c, p, n);
		if (rc == NET_WANT_WRITE) {
			/* a client that stops reading gets --idle-timeout, then is disconnected */
			loop_io_update(c->w->loop, &c->io, LOOP_WRITE);
			if (!c->drip_piece)
				serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
			return STEP_BUSY;
		}
		if (rc < 0) {
			conn_close(c);
			return STEP_GONE;
		}
		if (c->out_pos < c->out.len) {
			c->out_pos += (size_t)rc;
		} else {
			c->fill_left -= (uint64_t)rc;
			if (c->drip_piece)
				c->drip_piece_left -= (uint64_t)rc;
		}
	}
	return serve_conn_request_done(c);
}

static enum step conn_send(serve_conn_t *c)
{
	serialize(c);
	serve_conn_set_state(c, SC_WRITING);
	return c->stream ? serve_conn_stream_respond(c) : conn_write(c);
}

/* ---- requests ---- */

static void request_begin(serve_conn_t *c)
{
	serve_request_reset(&c->req, c, c->w, SERVE_HTTP1);
	c->active = true;
	stat_add(&c->w->stats.in_flight, 1);
}

/* What the head parser refused, in words: which limit, or which feature is not supported. */
static const char *parse_refusal(const serve_conn_t *c, const http_request_limits_t *limits,
                                 int status, char *buf, size_t len)
{
	switch (status) {
	case 414:
		snprintf(buf, len, "request line longer than %u bytes", limits->max_request_line);
		return buf;
	case 431:
		if (c->req.head.header_count >= limits->max_headers)
			snprintf(buf, len, "more than %u header lines", limits->max_headers);
		else
			snprintf(buf, len, "request head larger than %u bytes (--max-header-bytes)",
			         limits->max_header_bytes);
		return buf;
	case 417: return "Expect: only 100-continue is supported";
	case 501: return "Transfer-Encoding: only chunked is supported";
	case 505: return "HTTP version not supported: HTTP/1.0 and HTTP/1.1 only";
	default: return "malformed request";
	}
}

/* Answers a request the parser or a limit refused, and closes after it. */
static enum step reply_refused(serve_conn_t *c, int status, const char *why)
{
	if (!c->active)
		request_begin(c);
	c->req.route = NULL;
	c->req.route_index = -1;
	c->req.close_after = true;
	stat_add(&c->w->stats.bad_requests, 1);
	serve_reply_error(&c->req, status, "%s", why);
	loop_timer_stop(c->w->loop, &c->timer);
	return conn_send(c);
}

/* After the handler answered: faults, the delay, or the response now. */
static enum step conn_answer(serve_conn_t *c)
{
	serve_request_t *r = &c->req;

	if (r->fault == FAULT_RESET || r->fault == FAULT_CLOSE) {
		if (r->fault == FAULT_RESET) {
			struct linger lg = {.l_onoff = 1, .l_linger = 0};
			setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		serve_metrics_record(c->w, r, clock_now_ns() - r->start_ns);
		if (r->fault == FAULT_RESET) {
			conn_close(c);
			return STEP_GONE;
		}
		return conn_close_after_output(c);
	}
	if (r->fault == FAULT_HANG) {
		r->close_after = true;
		r->delay_ns = serve_state.cfg->max_delay_ns;
		r->fault = FAULT_CLOSE; /* after the hang, close without answering */
	}
	if (r->delay_ns) {
		if (conn_hold(c) == STEP_GONE)
			return STEP_GONE;
		loop_timer_start(c->w->loop, &c->timer, loop_now(c->w->loop) + r->delay_ns);
		return STEP_BUSY;
	}
	/* the header deadline's timer stays armed: it finds the next deadline itself */
	return conn_send(c);
}

/* An HTTP/1.1 request that asks to go on in HTTP/2 (RFC 7540 3.2: "Upgrade: h2c" with a
 * valid HTTP2-Settings): the connection switches and the request is answered as stream 1.
 * Not during a drain, nor with an interim response half-written, nor over TLS. */
static bool wants_h2c(const serve_conn_t *c, http_slice_t *settings)
{
	const http_request_t *h = &c->req.head;
	uint8_t payload[256];
	size_t len;

	/* h2c is HTTP/2 in clear text: over TLS, ALPN chooses (RFC 9113 3.1) */
	if (c->tls || h->minor_version != 1 || c->continue_left || draining(c->w) ||
	    !http_list_has(http_request_header(h, "upgrade"), "h2c"))
		return false;
	*settings = http_request_header(h, "http2-settings");
	return settings->p &&
	       serve_h2_settings_decode(*settings, payload, sizeof(payload), &len) == 0;
}

/* Switches to HTTP/2: serve_h2.c writes the 101 and answers the request as stream 1, with
 * its own copy of it; what came after the request is its input. */
static enum step conn_upgrade_h2(serve_conn_t *c, http_slice_t settings)
{
	serve_request_t *r = &c->req;
	size_t used = c->head_len + c->body_len;
	char *in = c->in;
	size_t len = c->in_len;
	bool sink = r->route && (r->route->flags & ROUTE_BODY_SINK);

	c->active = false; /* the stream counts itself */
	stat_add(&c->w->stats.in_flight, (uint64_t)-1);
	serve_conn_set_state(c, SC_IDLE);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	serve_h2_upgrade(c, c->w, &c->io, &c->timer, &c->h2, r, sink ? NULL : in + c->head_len,
	                 settings, in + used, len - used);
	free(in);
	return STEP_GONE;
}

static enum step conn_dispatch(serve_conn_t *c)
{
	serve_request_t *r = &c->req;
	http_slice_t settings;

	if (wants_h2c(c, &settings))
		return conn_upgrade_h2(c, settings);
	r->body = (r->route && (r->route->flags & ROUTE_BODY_SINK)) ? NULL : c->in + c->head_len;
	r->close_after = !r->head.keep_alive || draining(c->w);
	serve_request_dispatch(r);
	if (r->deferred) {
		/* waiting for a downstream or database answer: hold, but notice the client leaving
		 */
		loop_timer_stop(c->w->loop, &c->timer);
		return conn_hold(c);
	}
	return conn_answer(c);
}

void serve_defer(serve_request_t *r)
{
	r->deferred = true;
}

void serve_resume(serve_request_t *r)
{
	serve_conn_t *c = r->conn;

	if (r->protocol == SERVE_HTTP2) {
		serve_h2_resume(r);
		return;
	}
	r->deferred = false;
	if (c->zombie) {
		conn_free(c); /* the client left while we waited */
		return;
	}
	serve_request_finish(r);
	if (conn_answer(c) == STEP_NEXT)
		serve_conn_process(c);
}

static void rebase_slice(http_slice_t *s, const char *from, char *to)
{
	if (s->p)
		s->p = to + (s->p - from);
}

/* Points the parsed head's slices at the same bytes in the input's new buffer. */
static void rebase_head(http_request_t *h, const char *from, char *to)
{
	rebase_slice(&h->method, from, to);
	rebase_slice(&h->target, from, to);
	rebase_slice(&h->path, from, to);
	rebase_slice(&h->query, from, to);
	for (uint16_t i = 0; i < h->header_count; i++) {
		rebase_slice(&h->header_names[i], from, to);
		rebase_slice(&h->header_values[i], from, to);
	}
}

/* Grows the input buffer, doubling, towards limit; false when want more bytes do not fit.
 * While a request is active its parsed head points into the buffer (a body is being read
 * after it; on a stream, the next request's bytes come while it is answered), so a move takes
 * the head's slices and its body along: without that they would point into freed memory,
 * which the next allocation reuses (the Host header then "vanished" once the heap had free
 * blocks to hand out, e.g. after clients dropped their connections). */
bool serve_conn_in_reserve(serve_conn_t *c, size_t want, size_t limit)
{
	size_t cap;
	char *p;

	if (c->in_cap - c->in_len >= want)
		return true;
	if (c->in_len + want > limit)
		return false;
	cap = c->in_cap ? c->in_cap * 2 : IN_INITIAL;
	while (cap < c->in_len + want)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	p = malloc(cap);
	if (!p)
		return false;
	if (c->in_len)
		memcpy(p, c->in, c->in_len);
	if (c->active && c->in) {
		rebase_head(&c->req.head, c->in, p);
		rebase_slice(&c->req.path_tail, c->in, p);
		if (c->req.body)
			c->req.body = p + (c->req.body - c->in);
	}
	free(c->in);
	c->in = p;
	c->in_cap = cap;
	return true;
}

static const char *body_limit_message(void)
{
	return "request body larger than the limit (--max-body)";
}

/* After the head: decide how much body follows and how much may be kept. */
static int start_body(serve_conn_t *c)
{
	serve_request_t *r = &c->req;
	const serve_config_t *cfg = serve_state.cfg;
	bool path_known = false;

	r->route = serve_route_find(r->head.method.p, r->head.method.len, r->head.path.p,
	                            r->head.path.len, &path_known, &r->route_index);
	c->body_len = 0;
	c->body_want = r->head.content_length > 0 ? (uint64_t)r->head.content_length : 0;
	memset(&c->chunked, 0, sizeof(c->chunked));
	if (!(r->route && (r->route->flags & ROUTE_BODY_SINK)) &&
	    c->body_want > cfg->max_body_bytes)
		return -1;
	c->in_max =
	    c->head_len +
	    (r->route && (r->route->flags & ROUTE_BODY_SINK) ? 65536 : cfg->max_body_bytes + 65536);
	if (r->head.expect_continue && (c->body_want || r->head.chunked))
		c->continue_left = CONTINUE_LEN; /* sent by the caller, see send_continue() */
	return 0;
}

/* Writes what the socket takes of the interim response; the rest is written when it becomes
 * writable (the body is read meanwhile), or ahead of the final response. STEP_GONE when the
 * connection failed. */
static enum step send_continue(serve_conn_t *c)
{
	ssize_t rc;

	if (c->stream) {
		c->continue_left = 0; /* queued whole, ahead of the final response */
		return serve_conn_stream_interim(c, continue_line, CONTINUE_LEN);
	}
	rc = serve_conn_write(c, continue_line + CONTINUE_LEN - c->continue_left, c->continue_left);

	if (rc == NET_WANT_WRITE) {
		rc = 0;
	} else if (rc < 0) {
		conn_close(c);
		return STEP_GONE;
	}
	c->continue_left -= (size_t)rc;
	loop_io_update(c->w->loop, &c->io, c->continue_left ? LOOP_READ | LOOP_WRITE : LOOP_READ);
	return STEP_NEXT;
}

/* Consumes body bytes in in[head_len + body_len .. in_len); true when the body is complete. */
static int take_body(serve_conn_t *c)
{
	bool sink = c->req.route && (c->req.route->flags & ROUTE_BODY_SINK);
	size_t avail = c->in_len - c->head_len - c->body_len;
	char *p = c->in + c->head_len + c->body_len;

	if (c->req.head.chunked) {
		size_t consumed = 0, decoded = 0;
		int rc = http_chunked_decode(&c->chunked, p, avail, &consumed, &decoded);

		if (rc == HTTP_ERROR)
			return -1;
		/* move the rest of the input up against the decoded bytes */
		memmove(p + decoded, p + consumed, avail - consumed);
		c->in_len -= consumed - decoded;
		c->body_len += decoded;
		c->req.body_len += decoded;
		if (!sink && c->body_len > serve_state.cfg->max_body_bytes)
			return -2;
		if (sink) {
			memmove(p, p + decoded, c->in_len - (size_t)(p + decoded - c->in));
			c->in_len -= decoded;
			c->body_len -= decoded;
		}
		return rc == HTTP_DONE;
	}
	size_t take = avail < c->body_want ? avail : (size_t)c->body_want;

	c->body_want -= take;
	c->req.body_len += take;
	if (sink) {
		memmove(p, p + take, avail - take);
		c->in_len -= take;
	} else {
		c->body_len += take;
	}
	return c->body_want == 0;
}

/* The connection's first bytes are the HTTP/2 preface: serve_h2.c takes it over, with what
 * was read so far. */
static void conn_start_h2(serve_conn_t *c)
{
	char *in = c->in;
	size_t len = c->in_len;

	serve_conn_set_state(c, SC_IDLE);
	c->in = NULL; /* the input is serve_h2's from now on */
	c->in_len = c->in_cap = 0;
	serve_h2_start(c, c->w, &c->io, &c->timer, &c->h2, SERVE_H2_PRIOR_KNOWLEDGE, in, len);
	free(in);
}

/* The input holds no whole request now: more is awaited, unless a stream's client closed its
 * side (readiness reads that end next and closes; whatever was half-sent is dropped). */
static enum step need_input(serve_conn_t *c)
{
	if (c->stream && c->peer_eof)
		return serve_conn_stream_close_later(c);
	return STEP_BUSY;
}

/* Handles what the input holds: heads, bodies, and pipelined requests up to a budget. */
static enum step conn_handle(serve_conn_t *c)
{
	const serve_config_t *cfg = serve_state.cfg;
	http_request_limits_t limits = {
	    .max_request_line = cfg->max_header_bytes < 8192 ? cfg->max_header_bytes : 8192,
	    .max_header_bytes = cfg->max_header_bytes,
	    .max_headers = HTTP_REQUEST_MAX_HEADERS,
	};

	for (int budget = PIPELINE_BUDGET; budget > 0; budget--) {
		enum step step;
		int rc;

		if (c->state == SC_IDLE) {
			if (!c->in_len)
				return need_input(c);
			/* a stream's responses wait for the kernel: so does the next request (the
			 * deadline still runs, the timer was moved for the budget) */
			if (c->stream && serve_conn_stream_queue_full(c)) {
				if (!loop_timer_pending(&c->timer))
					loop_timer_start(c->w->loop, &c->timer, c->deadline_ns);
				return STEP_BUSY;
			}
			serve_conn_set_state(c, SC_HEAD);
			serve_conn_arm_deadline(c, cfg->header_timeout_ns);
		}
		if (c->state == SC_HEAD) {
			if (c->requests == 0 &&
			    memcmp(c->in, h2_preface,
			           c->in_len < H2_PREFACE_LEN ? c->in_len : H2_PREFACE_LEN) == 0) {
				if (c->in_len < H2_PREFACE_LEN)
					return need_input(c); /* a part of the preface */
				conn_start_h2(c);
				return STEP_GONE; /* HTTP/2's now */
			}
			rc = http_request_parse(&limits, c->in, c->in_len, &c->req.head,
			                        &c->head_len);
			if (rc == HTTP_AGAIN)
				return need_input(c);
			if (rc == HTTP_ERROR) {
				int status =
				    c->req.head.error_status ? c->req.head.error_status : 400;
				char why[128];

				return reply_refused(
				    c, status, parse_refusal(c, &limits, status, why, sizeof(why)));
			}
			request_begin(c);
			serve_conn_set_state(c, SC_BODY);
			if (start_body(c) < 0)
				return reply_refused(c, 413, body_limit_message());
			if (c->continue_left && send_continue(c) == STEP_GONE)
				return STEP_GONE;
		}
		if (c->state != SC_BODY)
			return STEP_BUSY; /* held, or being written: its end comes back here */
		rc = take_body(c);
		if (rc < 0)
			return reply_refused(c, rc == -2 ? 413 : 400,
			                     rc == -2 ? body_limit_message()
			                              : "malformed chunked body");
		if (rc == 0)
			return need_input(c);
		if ((step = conn_dispatch(c)) != STEP_NEXT)
			return step; /* the response is held, being written, or closed */
	}
	/* budget spent with requests still buffered: continue on the next loop turn */
	loop_timer_start(c->w->loop, &c->timer, loop_now(c->w->loop));
	return STEP_BUSY;
}

enum step serve_conn_process(serve_conn_t *c)
{
	enum step step = conn_handle(c);

	if (step != STEP_GONE)
		serve_conn_stream_flow(
		    c); /* a stream receives while its input is under the bound */
	return step;
}

static void conn_read(serve_conn_t *c)
{
	ssize_t n;

	if (!serve_conn_in_reserve(c, 1, c->in_max)) {
		/* the head did not fit: the parser says which limit; otherwise 431 */
		reply_refused(c, c->state == SC_BODY ? 413 : 431,
		              c->state == SC_BODY ? body_limit_message()
		                                  : "request head larger than --max-header-bytes");
		return;
	}
	n = serve_conn_read(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (n == NET_WANT_READ)
		return;
	if (n <= 0) {
		conn_close(c); /* EOF or reset: whatever was half-sent is dropped */
		return;
	}
	c->in_len += (size_t)n;
	stat_add(&c->w->stats.bytes_in, (uint64_t)n);
	kick_pending(c); /* before: conn_process may free c */
	serve_conn_process(c);
}

/* The TLS handshake; then HTTP/2 when ALPN chose it, else HTTP/1.1. */
static void conn_handshake(serve_conn_t *c)
{
	int rc = tls_handshake(c->tls);

	if (rc == NET_WANT_READ || rc == NET_WANT_WRITE) {
		loop_io_update(c->w->loop, &c->io, rc == NET_WANT_READ ? LOOP_READ : LOOP_WRITE);
		return;
	}
	if (rc < 0) {
		/* not TLS, or no common ground; a port probe that only connected is no failure */
		if (tls_session_heard(c->tls))
			stat_add(&c->w->stats.tls_failures, 1);
		conn_close(c);
		return;
	}
	stat_add(&c->w->stats.tls_handshakes, 1);
	serve_conn_set_state(c, SC_IDLE);
	loop_io_update(c->w->loop, &c->io, LOOP_READ);
	serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
	if (tls_session_alpn_is(c->tls, "h2")) {
		serve_h2_start(c, c->w, &c->io, &c->timer, &c->h2, SERVE_H2_ALPN, NULL, 0);
		return;
	}
	/* the first request may have come with the handshake's last flight */
	if (serve_conn_read_pending(c))
		conn_read(c);
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	serve_conn_t *c = io->ctx;

	if (c->state == SC_HANDSHAKE) {
		conn_handshake(c);
		return;
	}
	if (c->h2) {
		serve_h2_on_io(c->h2, events);
		return;
	}
	if (c->state == SC_WRITING) {
		if (conn_write(c) == STEP_NEXT)
			serve_conn_process(c);
		return;
	}
	if (c->state == SC_HELD) {
		if (events & LOOP_HUP)
			conn_close(c);
		return;
	}
	if (c->continue_left && (events & LOOP_WRITE)) {
		if (send_continue(c) == STEP_GONE || !(events & LOOP_READ))
			return;
	}
	conn_read(c);
}

static void conn_on_timer(loop_t *loop, loop_timer_t *t)
{
	serve_conn_t *c = t->ctx;
	uint64_t now = loop_now(loop);

	if (c->h2) {
		serve_h2_on_timer(c->h2);
		return;
	}
	if (c->closing) {
		/* a stream's last output: a client that does not take it is left after
		 * --idle-timeout */
		if (now < c->deadline_ns) {
			loop_timer_start(loop, t, c->deadline_ns);
			return;
		}
		stat_add(&c->w->stats.timeouts, 1);
		conn_close(c);
		return;
	}
	switch (c->state) {
	case SC_HANDSHAKE:
		if (now < c->deadline_ns) {
			loop_timer_start(loop, t, c->deadline_ns);
			return;
		}
		stat_add(&c->w->stats.timeouts, 1);
		stat_add(&c->w->stats.tls_failures, 1);
		conn_close(c);
		return;
	case SC_HELD:
		if (c->req.fault == FAULT_CLOSE) {
			conn_close_after_output(c); /* the end of a hang: no answer at all */
			return;
		}
		if (conn_send(c) == STEP_NEXT)
			serve_conn_process(c);
		return;
	case SC_WRITING:
		if (c->drip_piece) {
			if (!c->drip_piece_left) {
				c->drip_piece_left = c->drip_piece;
				c->drip_next_ns += c->drip_interval_ns;
				if ((c->stream ? serve_conn_stream_continue(c) : conn_write(c)) ==
				    STEP_NEXT)
					serve_conn_process(c);
			}
			return;
		}
		if (now < c->deadline_ns) {
			loop_timer_start(loop, t, c->deadline_ns);
			return;
		}
		stat_add(&c->w->stats.timeouts, 1); /* the client stopped reading */
		conn_close(c);
		return;
	case SC_IDLE:
		/* pipelined requests left over from a spent budget, unless they wait for a stream's
		 * queued responses to go: then the idle deadline applies (a client that does not
		 * read) */
		if (c->in_len && !(c->stream && serve_conn_stream_queue_full(c))) {
			serve_conn_process(c);
			return;
		}
		/* fallthrough */
	case SC_HEAD:
	case SC_BODY:
		if (serve_conn_read_pending(c)) {
			/* kick_pending: bytes TLS holds; the deadline stays armed behind them */
			loop_timer_start(loop, t, c->deadline_ns);
			conn_read(c);
			return;
		}
		if (now < c->deadline_ns) {
			loop_timer_start(loop, t, c->deadline_ns);
			return;
		}
		stat_add(&c->w->stats.timeouts, 1);
		if (c->state == SC_IDLE) {
			conn_close(c);
			return;
		}
		reply_refused(c, 408, "request not received in time (--header-timeout)");
		return;
	}
}
