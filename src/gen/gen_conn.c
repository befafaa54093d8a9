/* gen_conn: one client connection — connect, (TLS), write the request (the run's prebuilt
 * one, or its driver's), parse the response, record it, then hand the connection to the
 * driver or the load model's ops (gen_internal.h), which say whether it goes again.
 * Steady state costs one write and one read per request: no epoll_ctl, no allocation; on an
 * io_uring loop a plain connection is a stream (below), and a request costs no system call
 * of its own. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "gen/gen_internal.h"

#define RETRY_MIN_NS (10 * NS_PER_MS)
#define RETRY_MAX_NS (1 * NS_PER_S)

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);
static void conn_on_stream(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                           const char *data);
static void stream_write(gen_conn_t *c);
static void conn_on_timer(loop_t *loop, loop_timer_t *timer);
static void conn_next(gen_conn_t *c);
static void pipe_start(gen_conn_t *c);
static void pipe_continue(gen_conn_t *c);
static bool pipe_answered(gen_conn_t *c, uint64_t now, bool closing);
static bool pipe_feed(gen_conn_t *c, const char *data, size_t n);

void gen_conn_init(gen_conn_t *c, gen_thread_t *t)
{
	memset(c, 0, sizeof(*c));
	c->thread = t;
	c->fd = -1;
	loop_timer_init(&c->timer, conn_on_timer, c);
	http_response_parser_init(&c->parser, strcmp(t->run->cfg.method, "HEAD") == 0);
	c->request = &t->run->request;
	c->timeout_ns = t->run->cfg.timeout_ns;
	if (t->pipe_sent) {
		c->pipe_sent = &t->pipe_sent[(size_t)(c - t->conns) * t->run->pipeline];
		c->request = &t->run->pipelined;
	}
	if (t->captures) {
		c->parser.capture = &t->captures[c - t->conns];
		c->parser.capture->name = t->run->group_name;
		c->parser.capture->name_len = (uint8_t)strlen(t->run->group_name);
	}
	if (t->h2)
		gen_h2_slot_init(c); /* a stream: its connection is gen_h2_conn.c's */
}

/* ---- a driven user's response: captured while it arrives, handed over, then let go ----
 * A user's capture buffers exist only from its response's first bytes until the driver has
 * copied the outcome: a request in flight holds none, nor does a user between its requests.
 * A stall (of the target, or of the host: every user's request out at once) used to hold
 * 16 KiB of headers, and the previous response's body, for each request out; the threads'
 * arenas grew by megabytes in it and the long-lived blocks allocated meanwhile were left
 * spread over them, so malloc_trim could not give the pages back (docs/testing.md, soak). */

static void capture_body(void *ctx, const char *data, size_t len)
{
	gen_conn_t *c = ctx;

	if (c->body)
		buf_append(c->body, data, len); /* past GEN_CAPTURE_BODY the body is cut short */
}

/* A new request: the parser is told where a response goes; nothing is allocated yet. */
void gen_conn_capture_begin(gen_conn_t *c)
{
	c->parser.on_body = capture_body;
	c->parser.ctx = c;
	/* NULL, unless the script's copy of the last outcome failed (its Lua heap full) */
	c->parser.store = c->headers;
	if (c->headers)
		c->headers->len = 0;
	if (c->body)
		buf_reset(c->body);
}

/* The response's first bytes have come: the buffers it is captured into. */
int gen_conn_capture_alloc(gen_conn_t *c)
{
	if (!c->body) {
		if (!(c->body = malloc(sizeof(*c->body))))
			return -ENOMEM;
		buf_init(c->body, GEN_CAPTURE_BODY);
	}
	if (!c->headers) {
		c->headers = malloc(sizeof(*c->headers) + GEN_CAPTURE_HEADERS);
		if (!c->headers)
			return -ENOMEM;
		c->headers->data = (char *)(c->headers + 1);
		c->headers->cap = GEN_CAPTURE_HEADERS;
		c->headers->len = 0;
	}
	c->parser.store = c->headers;
	return 0;
}

/* The buffers go back (the parser keeps its callback: capture_body checks for a body). */
static void capture_free(gen_conn_t *c)
{
	if (c->body) {
		buf_free(c->body);
		free(c->body);
		c->body = NULL;
	}
	free(c->headers);
	c->headers = NULL;
	c->parser.store = NULL;
}

/* A user that waits holds no buffers: 10,000 thinking users cost kilobytes. */
static void capture_end(gen_conn_t *c)
{
	capture_free(c);
	c->parser.on_body = NULL;
}

void gen_conn_outcome_copied(gen_conn_t *c)
{
	capture_free(c);
}

void gen_conn_close(gen_conn_t *c)
{
	if (c->h2) {
		gen_h2_detach(c);
		return;
	}
	if (c->fd < 0)
		return;
	loop_io_stop(c->thread->loop, &c->io);
	tls_session_free(c->tls);
	c->tls = NULL;
	close(c->fd);
	c->fd = -1;
	c->thread->open_conns--;
	c->send_out = c->send_stale = false; /* the stop took the stream's send with it */
	c->state = CONN_IDLE;
	c->pipe_len = 0; /* what was out is counted by whoever closed it */
}

/* The lazy timeout: the timer fires at most once per timeout period however many requests
 * moved the deadline forward meanwhile, so a request costs no heap operation. */
static void arm_timeout(gen_conn_t *c)
{
	/* ...unless this deadline is sooner than the pending one (a shorter per-request timeout) */
	if (!loop_timer_pending(&c->timer) || c->timer.when_ns > c->deadline_ns)
		loop_timer_start(c->thread->loop, &c->timer, c->deadline_ns);
}

/* n requests failed as one (a pipelining connection's, all those it had out). */
static void record_errors(gen_conn_t *c, enum gen_error_kind kind, uint32_t n)
{
	gen_counters_t *k = &c->thread->interval_counters;
	gen_counters_t *e = &c->thread->named.endpoints[c->endpoint]->counters;

	k->errors += n;
	k->errors_by_kind[kind] += n;
	e->errors += n;
	e->errors_by_kind[kind] += n;
	c->failed = true;
	c->counted_error = true;
	c->error = kind;
}

static void fail(gen_conn_t *c, enum gen_error_kind kind)
{
	gen_thread_t *t = c->thread;
	bool connecting = c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE;

	/* a pipelining connection takes every request it had out with it, each counted once;
	 * connecting, it has the one it connects for */
	record_errors(c, kind, c->pipe_len ? c->pipe_len : 1);
	gen_conn_close(c);
	c->state = CONN_IDLE;
	if (connecting) {
		/* back off, or a refused port turns into a busy loop of failed connects */
		uint64_t wait = RETRY_MIN_NS << (c->failures < 7 ? c->failures : 7);

		c->failures++;
		loop_timer_start(t->loop, &c->timer,
		                 loop_now(t->loop) + (wait < RETRY_MAX_NS ? wait : RETRY_MAX_NS));
		return;
	}
	conn_next(c);
}

static enum gen_error_kind io_error_kind(const gen_conn_t *c, ssize_t rc)
{
	if (rc == -ETIMEDOUT)
		return GEN_ERR_READ_TIMEOUT;
	if (c->tls && rc == -EPROTO)
		return GEN_ERR_TLS;
	return gen_error_kind_of((int)rc, GEN_ERR_RESET);
}

/* The request is all written: now its answer is awaited. */
static void conn_written(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	t->interval_counters.bytes_out += c->out_len;
	t->named.endpoints[c->endpoint]->counters.bytes_out += c->out_len;
	c->state = CONN_READING;
	/* records read ahead while it wrote (conn_read's spent budget) still want their turn */
	loop_io_update(t->loop, &c->io,
	               c->tls && tls_buffered(c->tls) ? LOOP_READ | LOOP_WRITE : LOOP_READ);
	if (c->pipe_sent)
		pipe_continue(c); /* answers may have come while it wrote: top up */
}

static void conn_write(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;
	const buf_t *req = c->request;

	if (c->io.stream_fn) {
		/* a send still out is an earlier request's (answered before it was all taken):
		 * this one's follows its end */
		if (c->send_out)
			c->send_stale = true;
		else
			stream_write(c);
		return;
	}
	while (c->written < c->out_len) {
		ssize_t n = c->tls
		                ? tls_write(c->tls, req->data + c->written, c->out_len - c->written)
		                : net_write(c->fd, req->data + c->written, c->out_len - c->written);

		if (n > 0) {
			c->written += (size_t)n;
		} else if (n == NET_WANT_WRITE || n == NET_WANT_READ) {
			loop_io_update(t->loop, &c->io,
			               n == NET_WANT_WRITE ? LOOP_READ | LOOP_WRITE : LOOP_READ);
			return;
		} else {
			fail(c, io_error_kind(c, n));
			return;
		}
	}
	conn_written(c);
}

static void conn_send(gen_conn_t *c)
{
	if (c->pipe_sent) {
		pipe_start(c);
		return;
	}
	c->written = 0;
	c->out_len = c->request->len;
	c->received = 0;
	http_response_parser_reset(&c->parser);
	c->sent_ns = clock_now_ns();
	if (!c->due_pending)
		c->intended_ns = c->sent_ns; /* closed model: due when the previous one ended */
	c->due_pending = false;
	c->failed = false;
	c->counted_error = false;
	if (c->user)
		gen_conn_capture_begin(c);
	c->deadline_ns = c->sent_ns + c->timeout_ns;
	arm_timeout(c);
	c->state = CONN_WRITING;
	conn_write(c);
}

/* Whether status counts as a success under expect (NULL: 200-399). */
static bool status_ok(const gen_request_t *expect, int status)
{
	if (!expect || !expect->expect_given)
		return status >= 200 && status < 400;
	return status >= 0 && status < GEN_STATUS_MAX &&
	       (expect->expect[status / 64] >> (status % 64) & 1);
}

/* Inlined into both callers (a response, a pipelined one): with two callers the compiler
 * made it a call, 8 more instructions on every response (callgrind). */
static inline __attribute__((always_inline)) void record_response(gen_conn_t *c, uint64_t now_ns)
{
	gen_thread_t *t = c->thread;
	gen_counters_t *k = &t->interval_counters;
	gen_endpoint_t *e = t->named.endpoints[c->endpoint];
	int status = c->parser.status;
	int64_t latency = (int64_t)((now_ns - c->intended_ns) / NS_PER_US);
	bool error = !status_ok(c->expect, status);

	/* the latency users feel counts from when the request was due, not when it left */
	hist_record(t->interval, latency);
	if (result_hist_record(e->latency, latency) < 0)
		t->delta.failed++; /* the endpoint's figures lose this response (no memory) */
	hist_record(t->interval_service, (int64_t)((now_ns - c->sent_ns) / NS_PER_US));
	k->requests++;
	k->bytes_in += c->received;
	k->status[status < GEN_STATUS_MAX ? status : 0]++;
	k->errors += error;
	e->counters.requests++;
	e->counters.bytes_in += c->received;
	e->counters.status[status < GEN_STATUS_MAX ? status : 0]++;
	e->counters.errors += error;
	c->counted_error = error;
	if (c->parser.capture)
		gen_groups_record(t->groups, c->parser.capture, latency, error);
}

void gen_conn_mark_failed(gen_conn_t *c)
{
	gen_counters_t *k = &c->thread->interval_counters;
	gen_counters_t *e = &c->thread->named.endpoints[c->endpoint]->counters;

	k->checks_failed++;
	e->checks_failed++;
	if (!c->counted_error) { /* a request is one error however many checks fail */
		k->errors++;
		e->errors++;
		c->counted_error = true;
		if (c->parser.capture)
			gen_groups_error(c->thread->groups, c->parser.capture);
	}
}

/* A response is complete: record it, then reuse the connection or reconnect. Bytes after it
 * that nobody asked for (a second answer, a body longer than its Content-Length) mean the
 * connection's framing can no longer be trusted, nor this response: the request is one
 * protocol error, not a response as well (it is counted once). */
static void conn_complete(gen_conn_t *c, bool trailing_bytes)
{
	if (trailing_bytes) {
		fail(c, GEN_ERR_PROTOCOL);
		return;
	}
	record_response(c, clock_now_ns());
	/* answered while its stream's send was still out (an early answer, a 413 before the body
	 * was taken): the rest of the request has no place on this connection any more */
	if (!c->parser.keep_alive || ++c->conn_requests == c->thread->run->cfg.new_conn_every ||
	    c->send_out)
		gen_conn_close(c);
	c->state = CONN_IDLE;
	conn_next(c);
}

/* The server closed (or wrote to) a connection with no request on it: close it and let it
 * stay where it is (free, parked or idle); the next request reconnects. */
static void conn_drop_unused(gen_conn_t *c)
{
	enum conn_state keep = c->state;

	gen_conn_close(c);
	c->state = keep;
}

static bool has_request(const gen_conn_t *c)
{
	return c->state == CONN_READING || c->state == CONN_WRITING;
}

static void conn_eof(gen_conn_t *c)
{
	if (!has_request(c)) {
		conn_drop_unused(c); /* an idle keep-alive connection closed by the server */
		return;
	}
	if (http_response_eof(&c->parser) == HTTP_DONE) {
		if (c->pipe_sent)
			pipe_answered(c, clock_now_ns(), true);
		else
			conn_complete(c, false);
		return;
	}
	fail(c, GEN_ERR_CLOSED_EARLY);
}

/* Feeds n bytes to the parser; returns false when the connection was closed or reused. */
static bool conn_feed(gen_conn_t *c, const char *data, size_t n)
{
	size_t used = 0;
	int rc;

	if (!has_request(c)) {
		conn_drop_unused(
		    c); /* a response to no request: this connection is not to be trusted */
		return false;
	}
	if (c->pipe_sent)
		return pipe_feed(c, data, n);
	if (c->user && !c->headers && gen_conn_capture_alloc(c) < 0) {
		fail(c, GEN_ERR_RESOURCE); /* out of memory: nowhere to put the response */
		return false;
	}
	rc = http_response_parse(&c->parser, data, n, &used);
	c->received += used;
	if (rc == HTTP_AGAIN)
		return true;
	if (rc == HTTP_ERROR) {
		fail(c, GEN_ERR_PROTOCOL);
		return false;
	}
	conn_complete(c, used < n);
	return false;
}

/* ---- --pipeline N: up to N requests out per connection, answered in order ----
 * A connection writes as many requests as it may (N less those out, as the budget gives) in
 * one write, from the run's N copies of the request; each answer is recorded with its own
 * request's send time, and the answers of one read make room for as many requests, written
 * together again. Closed model only: its connections never wait idle while connected. */

/* Sends `taken` requests already taken from the budget, and more up to N (unless the user is
 * leaving or the budget is out), in one write. Nothing to send: nothing happens. */
static void pipe_send(gen_conn_t *c, uint32_t taken)
{
	gen_thread_t *t = c->thread;
	uint32_t n = t->run->pipeline;
	uint64_t now;

	while (c->pipe_len + taken < n && !c->retire && gen_take_request(t))
		taken++;
	if (!taken)
		return;
	now = clock_now_ns();
	for (uint32_t i = 0; i < taken; i++) {
		uint32_t at = c->pipe_head + c->pipe_len++; /* < 2n: one wrap at most */

		c->pipe_sent[at < n ? at : at - n] = now;
	}
	if (c->pipe_len == taken) { /* the oldest is new: the timeout counts from its send */
		c->deadline_ns = now + c->timeout_ns;
		arm_timeout(c);
	}
	c->written = 0;
	c->out_len = taken * t->run->request.len;
	c->state = CONN_WRITING;
	conn_write(c);
}

/* A connection's first requests (one taken by the caller): a new response begins. */
static void pipe_start(gen_conn_t *c)
{
	c->received = 0;
	c->failed = false;
	c->counted_error = false;
	http_response_parser_reset(&c->parser);
	pipe_send(c, 1);
}

/* Answers were taken or a write ended: top the pipeline up again, or with nothing out and
 * nothing more to send, the connection's requests are over (the model decides what next).
 * While a write is under way its end does this. */
static void pipe_continue(gen_conn_t *c)
{
	if (c->state != CONN_READING)
		return;
	if (c->pipe_len < c->thread->run->pipeline)
		pipe_send(c, 0);
	if (c->state == CONN_READING && c->pipe_len == 0) {
		c->state = CONN_IDLE;
		conn_next(c);
	}
}

/* The oldest request out is answered (the parser holds its response): recorded from its own
 * send, then taken off. An answer that closes the connection (Connection: close, HTTP/1.0, a
 * body ended by the close, or `closing`) leaves the requests behind it unanswered: each counts
 * once as closed_early, and the connection starts again. False when the connection closed:
 * so a connection that is writing or reading always has a request out. */
static bool pipe_answered(gen_conn_t *c, uint64_t now, bool closing)
{
	uint32_t n = c->thread->run->pipeline;

	c->sent_ns = c->intended_ns = c->pipe_sent[c->pipe_head];
	record_response(c, now);
	c->pipe_head = (uint16_t)(c->pipe_head + 1u < n ? c->pipe_head + 1u : 0);
	c->pipe_len--;
	if (closing || !c->parser.keep_alive) {
		if (c->pipe_len) {
			fail(c, GEN_ERR_CLOSED_EARLY);
		} else {
			gen_conn_close(c);
			conn_next(c);
		}
		return false;
	}
	c->received = 0;
	c->counted_error = false;
	http_response_parser_reset(&c->parser);
	if (c->pipe_len) /* the next one's timeout, from its own send (the lazy timer follows) */
		c->deadline_ns = c->pipe_sent[c->pipe_head] + c->timeout_ns;
	return true;
}

/* Bytes of answers to the requests out, oldest first: a read may hold many. Bytes after the
 * last one out are an answer nobody asked for: that request is a protocol error, as without
 * pipelining. Returns whether the connection is still reading. */
static bool pipe_feed(gen_conn_t *c, const char *data, size_t n)
{
	uint64_t now = 0;
	size_t off = 0;

	while (off < n) {
		size_t used = 0;
		int rc = http_response_parse(&c->parser, data + off, n - off, &used);

		c->received += used;
		off += used;
		if (rc == HTTP_AGAIN)
			break;
		if (rc == HTTP_ERROR || (off < n && c->pipe_len == 1)) {
			fail(c, GEN_ERR_PROTOCOL);
			return false;
		}
		if (!now)
			now = clock_now_ns(); /* the answers of one read came together */
		/* the last request out answered before its bytes were all written (an early
		 * answer): the rest of the write has no place on this connection any more */
		if (!pipe_answered(c, now, c->pipe_len == 1 && c->state == CONN_WRITING))
			return false;
	}
	pipe_continue(c);
	return has_request(c);
}

static void conn_read(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	for (int i = 0; i < GEN_READS_PER_EVENT; i++) {
		ssize_t n = c->tls ? tls_read(c->tls, t->read_buffer, GEN_READ_BUFFER)
		                   : net_read(c->fd, t->read_buffer, GEN_READ_BUFFER);

		if (n == NET_WANT_READ)
			return;
		if (n == NET_WANT_WRITE) {
			loop_io_update(t->loop, &c->io, LOOP_READ | LOOP_WRITE);
			return;
		}
		if (n == 0) {
			conn_eof(c);
			return;
		}
		if (n < 0) {
			fail(c, io_error_kind(c, n));
			return;
		}
		if (!conn_feed(c, t->read_buffer, (size_t)n) || n < GEN_READ_BUFFER)
			return;
	}
	/* the budget is spent with records OpenSSL read ahead, which no readiness of the socket
	 * would announce: a writable event (at once) brings the connection back after the others */
	if (c->tls && tls_buffered(c->tls))
		loop_io_update(t->loop, &c->io, LOOP_READ | LOOP_WRITE);
}

static void conn_connected(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;
	int rc;

	if (t->run->tls && !c->tls) {
		c->tls = tls_session_new(t->run->tls, c->fd, t->run->cfg.url.host);
		if (!c->tls || (!t->run->cfg.tls_no_resume &&
		                tls_session_resume_from(c->tls, &c->ticket) < 0)) {
			fail(c, GEN_ERR_TLS);
			return;
		}
		c->state = CONN_HANDSHAKE;
		c->handshake_ns = clock_now_ns();
	}
	if (c->tls && c->state == CONN_HANDSHAKE) {
		rc = tls_handshake(c->tls);
		if (rc == NET_WANT_READ || rc == NET_WANT_WRITE) {
			loop_io_update(t->loop, &c->io,
			               rc == NET_WANT_READ ? LOOP_READ : LOOP_WRITE);
			return;
		}
		if (rc < 0) {
			fail(c, GEN_ERR_TLS);
			return;
		}
		/* the handshake's time is its own: the request's latency begins at its send */
		t->tls_handshakes++;
		t->tls_resumed += tls_session_resumed(c->tls);
		hist_record(t->handshake,
		            (int64_t)((clock_now_ns() - c->handshake_ns) / NS_PER_US));
	}
	c->failures = 0;
	c->conn_requests = 0;
	loop_io_update(t->loop, &c->io, LOOP_READ);
	/* plain HTTP on io_uring: a stream (TLS stays on readiness: OpenSSL reads the socket);
	 * when the stream cannot start the connection simply stays on readiness */
	if (!c->tls && loop_stream_supported(t->loop))
		loop_stream_start(t->loop, &c->io, conn_on_stream, 0);
	conn_send(c);
}

static void conn_connect(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;
	int fd = net_connect(&t->run->addr), rc;

	c->state = CONN_CONNECTING;
	if (fd < 0) {
		fail(c, fd == -ECONNREFUSED ? GEN_ERR_CONNECT_REFUSED
		                            : gen_error_kind_of(fd, GEN_ERR_CONNECT));
		return;
	}
	c->fd = fd;
	t->open_conns++;
	c->deadline_ns = loop_now(t->loop) + t->run->cfg.timeout_ns;
	arm_timeout(c);
	/* epoll_ctl fails only for want of memory or watches: the target is not involved */
	if ((rc = loop_io_start(t->loop, &c->io, fd, LOOP_WRITE, conn_on_io, c)) < 0)
		fail(c, gen_error_kind_of(rc, GEN_ERR_CONNECT));
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	gen_conn_t *c = io->ctx;
	int rc;

	switch (c->state) {
	case CONN_CONNECTING:
		rc = net_connect_result(c->fd);
		if (rc == -ECONNREFUSED)
			fail(c, GEN_ERR_CONNECT_REFUSED);
		else if (rc == -ETIMEDOUT)
			fail(c, GEN_ERR_CONNECT_TIMEOUT);
		else if (rc < 0)
			fail(c, gen_error_kind_of(rc, GEN_ERR_CONNECT));
		else
			conn_connected(c);
		break;
	case CONN_HANDSHAKE: conn_connected(c); break;
	case CONN_WRITING:
		if (events & LOOP_WRITE)
			conn_write(c);
		if ((events & LOOP_READ || (c->tls && tls_buffered(c->tls))) &&
		    c->state == CONN_WRITING && c->fd >= 0)
			conn_read(c);
		break;
	case CONN_READING:
		if (c->tls && (events & LOOP_WRITE))
			loop_io_update(loop, &c->io, LOOP_READ);
		conn_read(c);
		break;
	case CONN_IDLE:
	case CONN_FREE:
	case CONN_SLEEPING:
	case CONN_PARKED: conn_read(c); break; /* EOF or stray bytes on a kept-alive connection */
	case CONN_DONE: break;
	}
}

/* ---- a stream (io_uring): the request handed to the kernel whole, the answer's bytes
 * delivered as they come, each in a buffer of the loop's that is ours during the call ---- */

static void stream_write(gen_conn_t *c)
{
	int rc = loop_stream_send(c->thread->loop, &c->io, c->request->data + c->written,
	                          c->out_len - c->written);

	if (rc < 0) {
		fail(c, io_error_kind(c, rc));
		return;
	}
	c->send_out = true;
}

static void conn_on_stream(loop_t *loop, loop_io_t *io, enum loop_stream_kind kind, int res,
                           const char *data)
{
	gen_conn_t *c = io->ctx;

	if (kind == LOOP_STREAM_DATA) {
		if (res > 0)
			conn_feed(c, data, (size_t)res);
		else if (res == 0)
			conn_eof(c);
		else
			fail(c, io_error_kind(c, res));
		return;
	}
	c->send_out = false;
	if (c->send_stale) { /* an earlier request's send: now the current one's */
		c->send_stale = false;
		if (c->state == CONN_WRITING)
			stream_write(c);
		return;
	}
	if (c->state != CONN_WRITING)
		return;
	if (res <= 0) {
		fail(c, io_error_kind(c, res < 0 ? res : -EPIPE));
		return;
	}
	c->written += (size_t)res;
	if (c->written < c->out_len)
		stream_write(c);
	else
		conn_written(c);
}

static void conn_on_timer(loop_t *loop, loop_timer_t *timer)
{
	gen_conn_t *c = timer->ctx;
	uint64_t now = loop_now(loop);

	switch (c->state) {
	case CONN_IDLE:
		if (c->fd < 0)
			conn_next(c); /* the back-off after a failed connect is over */
		break;
	case CONN_CONNECTING:
	case CONN_HANDSHAKE:
	case CONN_WRITING:
	case CONN_READING:
		if (now < c->deadline_ns) {
			loop_timer_start(loop, timer, c->deadline_ns);
			break;
		}
		fail(c, c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE
		            ? GEN_ERR_CONNECT_TIMEOUT
		            : GEN_ERR_READ_TIMEOUT);
		break;
	case CONN_SLEEPING: gen_conn_sleep_timer(c); break;
	case CONN_FREE:
	case CONN_PARKED:
	case CONN_DONE: break;
	}
}

/* Takes one request from the thread's budget; false when the thread must stop sending. */
bool gen_take_request(gen_thread_t *t)
{
	if (t->stopping || !t->requests_left)
		return false;
	if (t->requests_left != UINT64_MAX)
		t->requests_left--;
	return true;
}

uint32_t gen_conn_requests_out(const gen_conn_t *c)
{
	switch (c->state) {
	case CONN_CONNECTING:
	case CONN_HANDSHAKE: return 1;
	case CONN_WRITING:
	case CONN_READING: return c->pipe_sent ? c->pipe_len : 1;
	default: return 0;
	}
}

/* This connection sends no more requests in this run. */
void gen_conn_done(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	capture_end(c);
	gen_conn_close(c);
	loop_timer_stop(t->loop, &c->timer);
	c->state = CONN_DONE;
	t->done_conns++;
	gen_thread_maybe_finish(t);
}

/* What a connection does once its request is over (answered or failed). */
static void conn_next(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	if (t->stopping)
		gen_conn_done(c);
	else if (t->run->cfg.driver)
		t->run->cfg.driver->next(c); /* the user decides */
	else
		t->model->request_over(c); /* the model decides */
}

/* c's request goes: on c's own connection (connecting first when needed), or as a stream of
 * its HTTP/2 connection. */
static void conn_start(gen_conn_t *c)
{
	if (c->h2)
		gen_h2_send(c);
	else if (c->fd >= 0)
		conn_send(c);
	else
		conn_connect(c);
}

void gen_conn_next_request(gen_conn_t *c)
{
	if (!gen_take_request(c->thread))
		gen_conn_done(c);
	else
		conn_start(c);
}

void gen_conn_answered(gen_conn_t *c, uint64_t now_ns)
{
	record_response(c, now_ns);
	c->state = CONN_IDLE;
	conn_next(c);
}

void gen_conn_fail(gen_conn_t *c, enum gen_error_kind kind)
{
	fail(c, kind);
}

void gen_conn_send_due(gen_conn_t *c, uint64_t intended_ns)
{
	c->intended_ns = intended_ns;
	c->due_pending = true;
	if (c->thread->run->cfg.driver)
		c->thread->run->cfg.driver->next(c); /* an arrival starts one iteration */
	else
		conn_start(c);
}

void gen_conn_begin(gen_conn_t *c)
{
	conn_next(c);
}

/* ---- what a driver does with its user's connection ---- */

void gen_conn_request(gen_conn_t *c, const gen_request_t *req)
{
	gen_thread_t *t = c->thread;

	if (!gen_take_request(t)) {
		gen_conn_finish(c);
		return;
	}
	c->request = &req->bytes;
	c->endpoint = req->endpoint;
	c->expect = req;
	c->parser.head_request = req->head;
	c->timeout_ns = req->timeout_ns ? req->timeout_ns : t->run->cfg.timeout_ns;
	c->state = CONN_IDLE;
	conn_start(c);
}

void gen_conn_sleep_timer(gen_conn_t *c)
{
	if (loop_now(c->thread->loop) < c->deadline_ns) {
		loop_timer_start(c->thread->loop, &c->timer, c->deadline_ns);
		return;
	}
	c->state = CONN_IDLE;
	c->thread->run->cfg.driver->next(c);
}

void gen_conn_sleep(gen_conn_t *c, uint64_t until_ns)
{
	gen_thread_t *t = c->thread;

	capture_end(c);
	c->state = CONN_SLEEPING;
	c->deadline_ns = until_ns;
	loop_timer_stop(t->loop, &c->timer);
	loop_timer_start(t->loop, &c->timer, until_ns);
}

bool gen_conn_iteration_done(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	capture_end(c);
	c->state = CONN_IDLE;
	if (t->stopping) {
		gen_conn_done(c);
		return false;
	}
	if (t->ending) {
		gen_conn_finish(c); /* the user has left */
		return false;
	}
	return !t->model->take_back(c);
}

void gen_conn_finish(gen_conn_t *c)
{
	c->thread->run->cfg.driver->release(c);
	gen_conn_done(c);
}
