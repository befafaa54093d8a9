/* serve_conn: one client connection of the target, its life — accepted, its states (the
 * connections gauge follows them), its header, idle and write deadlines on one loop timer, the
 * input buffer, keep-alive from one request to the next, closed (at once, or on a drain once
 * idle). Its requests are serve_conn_request.c's; its I/O readiness's (serve_conn_io.c: epoll,
 * TLS) or an io_uring stream's (serve_conn_stream.c). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "serve/serve_conn_internal.h"

#define IN_INITIAL 4096

char serve_filler[SERVE_FILL_CHUNK];

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

void serve_conn_free(serve_conn_t *c)
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
		serve_conn_free(c);
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
enum step serve_conn_hold(serve_conn_t *c)
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
enum step serve_conn_close_after_output(serve_conn_t *c)
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
	    loop_io_start(w->loop, &c->io, fd, LOOP_READ, serve_conn_io_on_event, c) < 0) {
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
void serve_conn_request_count(serve_conn_t *c)
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
		serve_conn_request_count(
		    c); /* a response of no bytes: none was written to count it before */
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
		return serve_conn_close_after_output(c);
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
	serve_conn_io_kick_pending(c); /* the next request may be in TLS's buffer, not the socket */
	return STEP_NEXT;
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
			serve_conn_close_after_output(c); /* the end of a hang: no answer at all */
			return;
		}
		if (serve_conn_respond(c) == STEP_NEXT)
			serve_conn_process(c);
		return;
	case SC_WRITING:
		if (c->drip_piece) {
			if (!c->drip_piece_left) {
				c->drip_piece_left = c->drip_piece;
				c->drip_next_ns += c->drip_interval_ns;
				if ((c->stream ? serve_conn_stream_continue(c)
				               : serve_conn_io_write(c)) == STEP_NEXT)
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
			/* serve_conn_io_kick_pending: bytes TLS holds; the deadline stays armed
			 * behind them */
			loop_timer_start(loop, t, c->deadline_ns);
			serve_conn_io_read(c);
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
		serve_conn_reply_refused(c, 408, "request not received in time (--header-timeout)");
		return;
	}
}
