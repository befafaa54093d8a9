/* gen_h2: HTTP/2 for --h2 — one TCP connection (TLS with ALPN h2 for https, prior knowledge
 * h2c for http) carrying up to cfg.streams requests at once. Each stream is a gen_conn_t of
 * the load model (a user of the closed model, a place for an arrival of the open model), so
 * the models and the recording are HTTP/1.1's; this file owns the TCP connection, its
 * nghttp2 session (which does no I/O: it is fed the connection's reads and its output is
 * written here) and the mapping of streams to requests. Steady state: one read and one write
 * per batch of frames, no allocation of ours (nghttp2 allocates its stream objects). */
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http2_request.h"
#include "gen/gen_h2_pool.h"
#include "gen/gen_internal.h"

#define H2_WRITE_BUFFER (16 * 1024) /* frames gathered into one write (a TLS record) */
/* our receive windows, as h2load's defaults (2^30 - 1): the server is never held back by
 * this client's window, and WINDOW_UPDATE frames are rare */
#define H2_WINDOW ((1 << 30) - 1)
/* the header list size this client announces: advice to the server, which nghttp2 does not
 * enforce on what it reads (its own bound is HPACK's 64 KiB per field, a connection error);
 * nothing of a response's headers but :status is kept */
#define H2_MAX_HEADER_LIST (64 * 1024)

enum h2_state {
	H2_CLOSED,
	H2_CONNECTING,
	H2_HANDSHAKE, /* TLS */
	H2_OPEN,
};

typedef struct gen_h2_conn gen_h2_conn_t;

/* A stream: the request of one gen_conn_t, on its TCP connection. */
typedef struct gen_h2_slot {
	gen_conn_t *conn;
	gen_h2_conn_t *h;
	struct gen_h2_slot *wait_next; /* waiting for its connection (a FIFO), while waiting */
	int32_t stream_id;             /* the stream out; 0: none */
	uint32_t reset_code;           /* the server's RST_STREAM, when reset */
	bool waiting, reset, complete;
	size_t body_sent; /* bytes of the request's body given to nghttp2 */
} gen_h2_slot_t;

struct gen_h2_conn {
	gen_thread_t *thread;
	gen_h2_slot_t *slots; /* its streams */
	uint32_t slot_count;
	loop_io_t io;
	int fd;
	tls_session_t *tls;
	nghttp2_session *session;
	enum h2_state state;
	uint32_t streams_out; /* submitted, not yet closed */
	bool goaway;          /* the server sent GOAWAY: no new stream on this connection */
	/* inside nghttp2_session_mem_recv or _mem_send, whose callbacks record and start
	 * requests: nothing may free the session or call into it for I/O meanwhile */
	bool in_session;
	bool close_pending; /* ...so the close asked meanwhile waits for its return */
	bool read_wants_write;
	bool found_error;   /* nghttp2 reported an error in what it read (error_callback2) */
	bool flow_error;    /* ...the connection's flow control (a window past 2^31 - 1) */
	bool peer_closed;   /* the server closed its side: a write failing now is that close */
	bool write_blocked; /* the last write of wbuf would block: retried as it was */
	gen_h2_slot_t *wait_head, *wait_tail;
	uint64_t read_ns; /* when the current read came: the time of the responses it ends */
	/* the output: frames gathered from nghttp2 into wbuf (H2_WRITE_BUFFER, allocated while
	 * connected), and what nghttp2_session_mem_send gave that did not fit yet (valid until
	 * its next call) */
	uint8_t *wbuf;
	size_t wlen, woff;
	const uint8_t *pending;
	size_t pending_len;
};

typedef struct gen_h2_thread {
	gen_h2_conn_t *conns;
	uint32_t conn_count;
	gen_h2_slot_t *slots; /* one per gen_conn_t of the thread, in the same order */
	gen_h2_pool_t pool;   /* what its sessions allocate from */
} gen_h2_thread_t;

typedef struct gen_h2_run {
	http2_request_t request;
	nghttp2_session_callbacks *callbacks;
	nghttp2_option *option;
	nghttp2_settings_entry settings[3];
} gen_h2_run_t;

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);
static void conn_connect(gen_h2_conn_t *h);
static void conn_flush(gen_h2_conn_t *h);
static void submit_waiting(gen_h2_conn_t *h);

/* ---- the TCP connection ---- */

/* Closes the socket and the session now (never inside the session's own callbacks). The
 * streams' requests are not touched: conn_lost fails them. */
static void conn_close_now(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;

	h->close_pending = false;
	if (h->state == H2_CLOSED)
		return;
	loop_io_stop(t->loop, &h->io);
	nghttp2_session_del(h->session);
	h->session = NULL;
	tls_session_free(h->tls);
	h->tls = NULL;
	close(h->fd);
	h->fd = -1;
	free(h->wbuf);
	h->wbuf = NULL;
	h->wlen = h->woff = h->pending_len = 0;
	h->write_blocked = false;
	h->pending = NULL;
	h->streams_out = 0;
	h->goaway = false;
	h->read_wants_write = false;
	h->found_error = false;
	h->flow_error = false;
	h->peer_closed = false;
	h->state = H2_CLOSED;
	t->open_conns--;
	for (uint32_t i = 0; i < h->slot_count; i++)
		h->slots[i].stream_id = 0;
}

static void conn_close(gen_h2_conn_t *h)
{
	if (h->in_session)
		h->close_pending = true;
	else
		conn_close_now(h);
}

static void wait_push(gen_h2_conn_t *h, gen_h2_slot_t *s)
{
	s->waiting = true;
	s->wait_next = NULL;
	if (h->wait_tail)
		h->wait_tail->wait_next = s;
	else
		h->wait_head = s;
	h->wait_tail = s;
}

static gen_h2_slot_t *wait_pop(gen_h2_conn_t *h)
{
	gen_h2_slot_t *s = h->wait_head;

	if (!s)
		return NULL;
	h->wait_head = s->wait_next;
	if (!h->wait_head)
		h->wait_tail = NULL;
	s->waiting = false;
	return s;
}

static void wait_remove(gen_h2_conn_t *h, gen_h2_slot_t *s)
{
	gen_h2_slot_t **p = &h->wait_head, *prev = NULL;

	while (*p && *p != s) {
		prev = *p;
		p = &(*p)->wait_next;
	}
	if (*p) {
		*p = s->wait_next;
		if (h->wait_tail == s)
			h->wait_tail = prev;
	}
	s->waiting = false;
}

/* The connection is gone (or never came): every request on it fails as `kind`, each once.
 * Streams that were only waiting for room on an open connection wait on for a new one. The
 * requests are collected first: failing one may start the next request (and a new
 * connection) before the rest are failed. */
static void conn_lost(gen_h2_conn_t *h, enum gen_error_kind kind)
{
	gen_thread_t *t = h->thread;
	bool connecting = h->state != H2_OPEN;
	uint16_t lost[GEN_MAX_STREAMS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < h->slot_count; i++) {
		gen_h2_slot_t *s = &h->slots[i];

		if (s->stream_id || (connecting && s->waiting)) {
			if (s->waiting)
				wait_remove(h, s);
			s->stream_id = 0;
			lost[n++] = (uint16_t)i;
		}
	}
	conn_close_now(h);
	for (uint32_t i = 0; i < n && !t->stopping; i++) {
		gen_conn_t *c = h->slots[lost[i]].conn;

		if (c->state == CONN_CONNECTING || c->state == CONN_WRITING ||
		    c->state == CONN_READING)
			gen_conn_fail(c, kind);
	}
	if (h->wait_head && h->state == H2_CLOSED && !t->stopping)
		conn_connect(h);
}

/* An orderly end (the server's GOAWAY with nothing left out, or the stream ids used up): the
 * connection closes, and streams waiting for it go on a new one. A session that ends with
 * requests still out ended on an error nghttp2 found (it sent its GOAWAY and wants no more:
 * frames no HTTP/2 server sends, an HTTP/1.1 answer to the preface), or after the server's
 * GOAWAY: each of them fails once. */
static void conn_retire(gen_h2_conn_t *h)
{
	for (uint32_t i = 0; i < h->slot_count; i++)
		if (h->slots[i].stream_id && h->state == H2_OPEN) {
			conn_lost(h, h->goaway       ? GEN_ERR_GOAWAY
			             : h->flow_error ? GEN_ERR_FLOW_CONTROL
			                             : GEN_ERR_PROTOCOL);
			return;
		}
	conn_close(h);
	if (h->state == H2_CLOSED && h->wait_head && !h->thread->stopping)
		conn_connect(h);
}

/* ---- nghttp2's callbacks (inside nghttp2_session_mem_recv or _mem_send) ---- */

/* The stream's slot, unless the stream was let go (its request timed out or was abandoned):
 * then its frames are read and dropped. */
static gen_h2_slot_t *stream_slot(nghttp2_session *session, int32_t id)
{
	gen_h2_slot_t *s = nghttp2_session_get_stream_user_data(session, id);

	return s && s->stream_id == id ? s : NULL;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ctx)
{
	gen_h2_slot_t *s;

	if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7) != 0)
		return 0;
	if (!(s = stream_slot(session, frame->hd.stream_id)))
		return 0;
	/* nghttp2 has checked it: three digits (a 1xx is followed by the final one) */
	if (valuelen == 3)
		s->conn->parser.status =
		    (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ctx)
{
	gen_h2_conn_t *h = ctx;
	gen_h2_slot_t *s;

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (!(s = stream_slot(session, frame->hd.stream_id)))
			break;
		/* the response's bytes: its frames as they came, headers included */
		s->conn->received += frame->hd.length + 9;
		if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->conn->parser.status >= 200)
			s->complete = true;
		break;
	case NGHTTP2_RST_STREAM:
		if ((s = stream_slot(session, frame->hd.stream_id))) {
			s->reset = true;
			s->reset_code = frame->rst_stream.error_code;
		}
		break;
	case NGHTTP2_GOAWAY: h->goaway = true; break;
	default: break;
	}
	return 0;
}

/* What a stream that ended without its response counts as. */
static enum gen_error_kind stream_error_kind(const gen_h2_conn_t *h, const gen_h2_slot_t *s,
                                             uint32_t code)
{
	if (s->reset)
		return s->reset_code == NGHTTP2_FLOW_CONTROL_ERROR ? GEN_ERR_FLOW_CONTROL
		                                                   : GEN_ERR_STREAM_RESET;
	if (h->goaway)
		return GEN_ERR_GOAWAY; /* above the GOAWAY's last stream: closed by nghttp2 */
	if (code == NGHTTP2_FLOW_CONTROL_ERROR)
		return GEN_ERR_FLOW_CONTROL;
	return GEN_ERR_PROTOCOL; /* reset by nghttp2: a malformed response, a header too long */
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *ctx)
{
	gen_h2_conn_t *h = ctx;
	gen_h2_slot_t *s = stream_slot(session, id);

	h->streams_out--;
	if (s) {
		gen_conn_t *c = s->conn;

		s->stream_id = 0;
		/* a response complete is one, whatever the server's RST_STREAM after it said */
		if (s->complete)
			gen_conn_answered(c, h->read_ns);
		else
			gen_conn_fail(c, stream_error_kind(h, s, code));
	}
	if (h->goaway && !h->streams_out)
		conn_close(h); /* drained (after the call): its waiting streams go on a new one */
	else
		submit_waiting(h);
	return 0;
}

/* A request that nghttp2 could not send (its HEADERS never went): it failed. */
static int on_frame_not_send(nghttp2_session *session, const nghttp2_frame *frame, int error,
                             void *ctx)
{
	gen_h2_conn_t *h = ctx;
	gen_h2_slot_t *s;

	if (frame->hd.type != NGHTTP2_HEADERS)
		return 0;
	h->streams_out--;
	if ((s = stream_slot(session, frame->hd.stream_id))) {
		s->stream_id = 0;
		gen_conn_fail(s->conn, h->goaway ? GEN_ERR_GOAWAY : GEN_ERR_PROTOCOL);
	}
	return 0;
}

/* nghttp2 found something wrong in what the server sent: a stream's error (it resets that
 * stream) or the connection's (it ends the session with GOAWAY: frames no HTTP/2 server
 * sends, an HTTP/1.1 answer to the preface). Which one shows once its frames are sent. */
static int on_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
                    void *ctx)
{
	gen_h2_conn_t *h = ctx;

	h->found_error = true;
	return 0;
}

/* A frame nghttp2 refused: a stream's error, or the connection's (DATA on stream 0, a window
 * past 2^31 - 1, ...), which nghttp2 reports here and not to error_callback2. Its GOAWAY must
 * go at once: a server that closes right after such a frame would else have its requests
 * counted closed_early, their cause lost (fuzz_gen_h2's seeds showed it). */
static int on_invalid_frame(nghttp2_session *session, const nghttp2_frame *frame,
                            int lib_error_code, void *ctx)
{
	gen_h2_conn_t *h = ctx;

	h->found_error = true;
	if (lib_error_code == NGHTTP2_ERR_FLOW_CONTROL && frame && frame->hd.stream_id == 0)
		h->flow_error = true;
	return 0;
}

/* The request's body, from the run's one copy. */
static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *ctx)
{
	const gen_config_t *cfg = source->ptr;
	gen_h2_slot_t *s = stream_slot(session, id);
	size_t left, n;

	if (!s) {
		*flags |= NGHTTP2_DATA_FLAG_EOF; /* let go: nothing more to say on it */
		return 0;
	}
	left = cfg->body_len - s->body_sent;
	n = left < length ? left : length;
	memcpy(buf, cfg->body + s->body_sent, n);
	s->body_sent += n;
	if (s->body_sent == cfg->body_len)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* ---- requests ---- */

/* Whether h may open one more stream now. */
static bool has_room(gen_h2_conn_t *h)
{
	return h->state == H2_OPEN && !h->close_pending && !h->goaway &&
	       h->streams_out < nghttp2_session_get_remote_settings(
	                            h->session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

static void arm_timeout(gen_conn_t *c)
{
	if (!loop_timer_pending(&c->timer) || c->timer.when_ns > c->deadline_ns)
		loop_timer_start(c->thread->loop, &c->timer, c->deadline_ns);
}

/* The slot's request becomes a stream (the frames go with the next flush). */
static void submit(gen_h2_slot_t *s)
{
	gen_h2_conn_t *h = s->h;
	gen_conn_t *c = s->conn;
	gen_run_t *run = c->thread->run;
	nghttp2_data_provider body = {.source.ptr = &run->cfg, .read_callback = read_body};
	int32_t id;

	c->sent_ns = clock_now_ns();
	if (!c->due_pending)
		c->intended_ns = c->sent_ns; /* closed model: due when the previous one ended */
	c->due_pending = false;
	s->reset = s->complete = false;
	s->body_sent = 0;
	id = nghttp2_submit_request(h->session, NULL, run->h2->request.fields,
	                            run->h2->request.count, run->cfg.has_body ? &body : NULL, s);
	if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
		/* 2^30 streams on this connection: the next ones go on a new one */
		h->goaway = true;
		c->state = CONN_WRITING;
		wait_push(h, s);
		return;
	}
	if (id < 0) {
		gen_conn_fail(c, GEN_ERR_RESOURCE); /* nghttp2 is out of memory */
		return;
	}
	s->stream_id = id;
	h->streams_out++;
	c->state = CONN_READING;
	c->deadline_ns = c->sent_ns + c->timeout_ns;
	arm_timeout(c);
}

static void submit_waiting(gen_h2_conn_t *h)
{
	while (h->wait_head && has_room(h))
		submit(wait_pop(h));
}

void gen_h2_send(gen_conn_t *c)
{
	gen_h2_slot_t *s = c->h2;
	gen_h2_conn_t *h = s->h;

	c->failed = false;
	c->counted_error = false;
	c->received = 0;
	c->parser.status = 0;
	if (!h->wait_head && has_room(h)) {
		submit(s);
		if (!h->in_session)
			conn_flush(h); /* else once the read is taken in */
		return;
	}
	/* waiting: for the connection to open (a connect timeout if it does not), or for room on
	 * it (the server allows fewer streams than asked, or is going away) */
	c->state = h->state == H2_OPEN && !h->close_pending ? CONN_WRITING : CONN_CONNECTING;
	c->deadline_ns = clock_now_ns() + c->timeout_ns;
	arm_timeout(c);
	wait_push(h, s);
	if (h->state == H2_CLOSED)
		conn_connect(h);
}

void gen_h2_detach(gen_conn_t *c)
{
	gen_h2_slot_t *s = c->h2;
	gen_h2_conn_t *h = s->h;
	bool in_use = false;

	if (s->waiting)
		wait_remove(h, s);
	if (s->stream_id && h->session && !c->thread->stopping) {
		/* the server may stop working on it; its frames still to come are dropped */
		nghttp2_session_set_stream_user_data(h->session, s->stream_id, NULL);
		nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->stream_id,
		                          NGHTTP2_CANCEL);
		if (!h->in_session && h->state == H2_OPEN)
			conn_flush(h);
	}
	s->stream_id = 0;
	c->state = CONN_IDLE;
	/* the connection stays for its other streams as long as one of them is in the load */
	for (uint32_t i = 0; i < h->slot_count && !in_use; i++) {
		enum conn_state st = h->slots[i].conn->state;

		in_use = &h->slots[i] != s && st != CONN_PARKED && st != CONN_DONE;
	}
	if (!in_use)
		conn_close(h);
}

/* A stream's timer: the back-off after a failed connect, or its request's timeout. A body
 * still held back by the server's flow-control window when the time is up is a stall. */
static void slot_on_timer(loop_t *loop, loop_timer_t *timer)
{
	gen_conn_t *c = timer->ctx;
	gen_h2_slot_t *s = c->h2;
	gen_h2_conn_t *h = s->h;
	bool stalled;

	switch (c->state) {
	case CONN_IDLE: gen_conn_begin(c); break; /* the back-off is over */
	case CONN_CONNECTING:
	case CONN_WRITING:
	case CONN_READING:
		if (loop_now(loop) < c->deadline_ns) {
			loop_timer_start(loop, timer, c->deadline_ns);
			break;
		}
		stalled =
		    s->stream_id && h->session && s->body_sent < c->thread->run->cfg.body_len &&
		    /* 0, not an error for a stream whose HEADERS are not out yet */
		    (nghttp2_session_get_stream_remote_window_size(h->session, s->stream_id) == 0 ||
		     nghttp2_session_get_remote_window_size(h->session) <= 0);
		gen_conn_fail(c, c->state == CONN_CONNECTING ? GEN_ERR_CONNECT_TIMEOUT
		                 : stalled                   ? GEN_ERR_FLOW_CONTROL
		                                             : GEN_ERR_READ_TIMEOUT);
		break;
	default: break;
	}
}

/* ---- I/O ---- */

/* Writes what nghttp2 has to send, gathered into H2_WRITE_BUFFER-sized writes, until it has
 * nothing more or the socket is full (then the loop says when to go on). */
static void conn_flush(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;

	for (;;) {
		/* gathered only into an empty buffer: a TLS write is retried with what it had */
		while (h->woff == 0 && h->wlen < H2_WRITE_BUFFER && !h->write_blocked) {
			size_t take;

			if (!h->pending_len) {
				const uint8_t *data;
				ssize_t n;

				h->in_session = true;
				n = nghttp2_session_mem_send(h->session, &data);
				h->in_session = false;
				if (h->close_pending) {
					conn_retire(h);
					return;
				}
				if (n < 0) {
					conn_lost(h, GEN_ERR_RESOURCE); /* only NOMEM, or a bug */
					return;
				}
				if (n == 0)
					break;
				h->pending = data;
				h->pending_len = (size_t)n;
			}
			take = H2_WRITE_BUFFER - h->wlen;
			take = take < h->pending_len ? take : h->pending_len;
			memcpy(h->wbuf + h->wlen, h->pending, take);
			h->wlen += take;
			h->pending += take;
			h->pending_len -= take;
		}
		if (h->woff == h->wlen)
			break;
		while (h->woff < h->wlen) {
			ssize_t n = h->tls ? tls_write(h->tls, h->wbuf + h->woff, h->wlen - h->woff)
			                   : net_write(h->fd, h->wbuf + h->woff, h->wlen - h->woff);

			if (n > 0) {
				h->woff += (size_t)n;
				t->interval_counters.bytes_out += (uint64_t)n;
				t->named.endpoints[0]->counters.bytes_out += (uint64_t)n;
			} else if (n == NET_WANT_WRITE || n == NET_WANT_READ) {
				h->write_blocked = true;
				loop_io_update(t->loop, &h->io, LOOP_READ | LOOP_WRITE);
				return;
			} else if (h->peer_closed) {
				conn_lost(h, h->goaway ? GEN_ERR_GOAWAY : GEN_ERR_CLOSED_EARLY);
				return;
			} else {
				conn_lost(h, n == -ETIMEDOUT ? GEN_ERR_READ_TIMEOUT
				             : h->tls && n == -EPROTO
				                 ? GEN_ERR_TLS
				                 : gen_error_kind_of((int)n, GEN_ERR_RESET));
				return;
			}
		}
		h->wlen = h->woff = 0;
		h->write_blocked = false;
	}
	loop_io_update(t->loop, &h->io, LOOP_READ);
	if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session))
		conn_retire(h); /* GOAWAY both ways and nothing out: over */
}

/* Feeds n bytes to the session; false when the connection is closed. */
static bool conn_recv(gen_h2_conn_t *h, const uint8_t *data, size_t n)
{
	ssize_t rc;

	h->read_ns = clock_now_ns(); /* the responses of one read came together */
	h->in_session = true;
	rc = nghttp2_session_mem_recv(h->session, data, n);
	h->in_session = false;
	if (h->close_pending) {
		conn_retire(h);
		return false;
	}
	if (rc < 0) { /* a connection error: its GOAWAY is not waited for */
		conn_lost(h,
		          rc == NGHTTP2_ERR_FLOW_CONTROL ? GEN_ERR_FLOW_CONTROL : GEN_ERR_PROTOCOL);
		return false;
	}
	if (h->found_error) {
		/* a stream's error (its RST_STREAM goes now) or the connection's: nghttp2 then
		 * sends its GOAWAY, after which it wants nothing more (below) */
		h->found_error = false;
		conn_flush(h);
		if (h->state != H2_OPEN)
			return false;
	}
	if (!nghttp2_session_want_read(h->session)) {
		conn_retire(h); /* the session is over: what is still out fails by its cause */
		return false;
	}
	return true;
}

static void conn_read(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;

	h->read_wants_write = false;
	for (int i = 0; i < GEN_READS_PER_EVENT; i++) {
		ssize_t n = h->tls ? tls_read(h->tls, t->read_buffer, GEN_READ_BUFFER)
		                   : net_read(h->fd, t->read_buffer, GEN_READ_BUFFER);

		if (n == NET_WANT_READ)
			break;
		if (n == NET_WANT_WRITE) {
			h->read_wants_write = true;
			loop_io_update(t->loop, &h->io, LOOP_READ | LOOP_WRITE);
			return;
		}
		if (n == 0) {
			/* a frame nghttp2 ends the session for without a callback (DATA on stream
			 * 0) may have come just before the close: its GOAWAY, sent now, ends the
			 * streams as protocol errors (conn_flush), not as closed early */
			if (h->streams_out && nghttp2_session_want_write(h->session)) {
				h->peer_closed = true;
				conn_flush(h);
				if (h->state != H2_OPEN)
					return;
			}
			if (h->streams_out)
				conn_lost(h, h->goaway ? GEN_ERR_GOAWAY : GEN_ERR_CLOSED_EARLY);
			else
				conn_retire(h); /* an idle connection closed by the server */
			return;
		}
		if (n < 0) {
			conn_lost(h, h->tls && n == -EPROTO
			                 ? GEN_ERR_TLS
			                 : gen_error_kind_of((int)n, GEN_ERR_RESET));
			return;
		}
		if (!conn_recv(h, (const uint8_t *)t->read_buffer, (size_t)n))
			return;
		/* a short plain read emptied the socket; TLS gives a record (16 KiB) at a time, and
		 * the next may be there already: read on until it wants more (within the budget) */
		if (n < GEN_READ_BUFFER && !h->tls)
			break;
	}
	/* the next requests and the acknowledgements go when the socket is next reported
	 * writable: after what the next poll brings in is read too, so that one write carries
	 * the requests of all the responses read meanwhile */
	if (nghttp2_session_want_write(h->session))
		loop_io_update(t->loop, &h->io, LOOP_READ | LOOP_WRITE);
}

/* The connection is up (and TLS agreed on h2): the session starts with our settings, and the
 * streams waiting for it go. */
static void conn_open(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;
	gen_h2_run_t *r = t->run->h2;

	if (nghttp2_session_client_new3(&h->session, r->callbacks, h, r->option,
	                                &t->h2->pool.mem) != 0 ||
	    !(h->wbuf = malloc(H2_WRITE_BUFFER))) {
		conn_lost(h, GEN_ERR_RESOURCE);
		return;
	}
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, r->settings, 3) != 0 ||
	    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, H2_WINDOW) !=
	        0) {
		conn_lost(h, GEN_ERR_RESOURCE);
		return;
	}
	h->state = H2_OPEN;
	for (gen_h2_slot_t *s = h->wait_head; s; s = s->wait_next)
		s->conn->failures = 0;
	submit_waiting(h);
	conn_flush(h);
}

static void conn_connected(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;
	int rc;

	if (t->run->tls && !h->tls) {
		if (!(h->tls = tls_session_new(t->run->tls, h->fd, t->run->cfg.url.host))) {
			conn_lost(h, GEN_ERR_TLS);
			return;
		}
		tls_session_busy(h->tls); /* two read()s per TLS record otherwise */
		h->state = H2_HANDSHAKE;
	}
	if (h->tls) {
		rc = tls_handshake(h->tls);
		if (rc == NET_WANT_READ || rc == NET_WANT_WRITE) {
			loop_io_update(t->loop, &h->io,
			               rc == NET_WANT_READ ? LOOP_READ : LOOP_WRITE);
			return;
		}
		if (rc < 0) {
			conn_lost(h, GEN_ERR_TLS);
			return;
		}
		if (!tls_session_alpn_is(h->tls, "h2")) {
			conn_lost(h, GEN_ERR_PROTOCOL); /* the server would not speak HTTP/2 */
			return;
		}
	}
	loop_io_update(t->loop, &h->io, LOOP_READ);
	conn_open(h);
}

static void conn_connect(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;
	int fd = net_connect(&t->run->addr), rc;

	if (fd < 0) {
		h->state = H2_CLOSED; /* nothing to close: no descriptor, not counted open */
		conn_lost(h, fd == -ECONNREFUSED ? GEN_ERR_CONNECT_REFUSED
		                                 : gen_error_kind_of(fd, GEN_ERR_CONNECT));
		return;
	}
	h->state = H2_CONNECTING;
	h->fd = fd;
	t->open_conns++;
	if ((rc = loop_io_start(t->loop, &h->io, fd, LOOP_WRITE, conn_on_io, h)) < 0)
		conn_lost(h, gen_error_kind_of(rc, GEN_ERR_CONNECT));
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	gen_h2_conn_t *h = io->ctx;
	int rc;

	switch (h->state) {
	case H2_CONNECTING:
		rc = net_connect_result(h->fd);
		if (rc < 0)
			conn_lost(h, rc == -ECONNREFUSED ? GEN_ERR_CONNECT_REFUSED
			             : rc == -ETIMEDOUT  ? GEN_ERR_CONNECT_TIMEOUT
			                                 : gen_error_kind_of(rc, GEN_ERR_CONNECT));
		else
			conn_connected(h);
		break;
	case H2_HANDSHAKE: conn_connected(h); break;
	case H2_OPEN:
		if (events & (LOOP_READ | LOOP_HUP) || h->read_wants_write) {
			conn_read(h);
			if (h->state != H2_OPEN)
				break;
		}
		if ((events & LOOP_WRITE) && !h->read_wants_write)
			conn_flush(h);
		break;
	case H2_CLOSED: break;
	}
}

/* ---- set-up ---- */

uint32_t gen_h2_connections(uint32_t streams_total, uint32_t streams)
{
	return streams ? (streams_total + streams - 1) / streams : streams_total;
}

uint32_t gen_h2_threads(uint32_t streams_total, uint32_t streams, uint32_t threads)
{
	uint32_t conns = gen_h2_connections(streams_total, streams);

	if (threads > conns)
		threads = conns;
	return threads ? threads : 1;
}

/* The first of part p's connections when `conns` are dealt in order: the parts before it
 * take conns/count each and the first conns%count one more. */
static uint32_t first_conn(uint32_t conns, deal_part_t p)
{
	uint32_t more = conns % (p.count ? p.count : 1);

	return p.index * (conns / (p.count ? p.count : 1)) + (p.index < more ? p.index : more);
}

uint32_t gen_h2_thread_first_slot(uint32_t streams_total, uint32_t streams, deal_part_t p)
{
	uint32_t m = streams ? streams : 1;
	uint64_t first = (uint64_t)first_conn(gen_h2_connections(streams_total, m), p) * m;

	return first < streams_total ? (uint32_t)first : streams_total;
}

uint32_t gen_h2_thread_slots(uint32_t streams_total, uint32_t streams, deal_part_t p)
{
	uint32_t m = streams ? streams : 1, conns = gen_h2_connections(streams_total, m);
	uint64_t end = (uint64_t)(first_conn(conns, p) + deal_share(conns, p)) * m;

	if (end > streams_total)
		end = streams_total;
	return (uint32_t)end - gen_h2_thread_first_slot(streams_total, m, p);
}

/* How many of items 1..n dealt round robin over `parts` go to parts [a, b). */
static uint64_t round_robin(uint64_t n, uint32_t a, uint32_t b, uint32_t parts)
{
	uint64_t rest = n % parts;

	if (a >= b)
		return 0;
	return n / parts * (b - a) + (rest <= a ? 0 : rest - a < b - a ? rest - a : b - a);
}

uint32_t gen_h2_thread_users(uint32_t users, uint32_t streams_total, uint32_t streams,
                             deal_part_t p)
{
	uint32_t m = streams ? streams : 1, conns = gen_h2_connections(streams_total, m);
	uint32_t a = first_conn(conns, p), b = a + (uint32_t)deal_share(conns, p);
	/* the shard's last connection carries `last`: the first `last` rounds go over all of
	 * them, the rest over the others, each up to m */
	uint64_t last = conns ? streams_total - (uint64_t)(conns - 1) * m : 0;

	if (users > streams_total)
		users = streams_total;
	if (!conns)
		return 0;
	if (users <= last * conns)
		return (uint32_t)round_robin(users, a, b, conns);
	return (uint32_t)(last * (b - a) + round_robin(users - last * conns, a,
	                                               b < conns - 1 ? b : conns - 1, conns - 1));
}

void gen_h2_slot_init(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;
	uint32_t i = (uint32_t)(c - t->conns);
	gen_h2_slot_t *s = &t->h2->slots[i];

	s->conn = c;
	s->h = &t->h2->conns[i / t->run->cfg.streams];
	c->h2 = s;
	loop_timer_init(&c->timer, slot_on_timer, c);
}

int gen_h2_thread_setup(gen_thread_t *t)
{
	uint32_t m = t->run->cfg.streams, n = (t->conn_count + m - 1) / m;
	gen_h2_thread_t *h2 = calloc(1, sizeof(*h2));

	if (!h2)
		return -ENOMEM;
	t->h2 = h2;
	gen_h2_pool_init(&h2->pool);
	h2->conns = calloc(n, sizeof(*h2->conns));
	h2->slots = calloc(t->conn_count, sizeof(*h2->slots));
	if (!h2->conns || !h2->slots)
		return -ENOMEM;
	h2->conn_count = n;
	for (uint32_t i = 0; i < n; i++) {
		gen_h2_conn_t *h = &h2->conns[i];

		h->thread = t;
		h->fd = -1;
		h->slots = &h2->slots[i * m];
		/* a thread's last connection has the streams left over (docs/run.md) */
		h->slot_count = t->conn_count - i * m < m ? t->conn_count - i * m : m;
	}
	return 0;
}

void gen_h2_thread_free(gen_thread_t *t)
{
	if (!t->h2)
		return;
	for (uint32_t i = 0; i < t->h2->conn_count; i++)
		conn_close_now(&t->h2->conns[i]); /* before its loop is freed; none is in a call */
	gen_h2_pool_free(&t->h2->pool);
	free(t->h2->conns);
	free(t->h2->slots);
	free(t->h2);
	t->h2 = NULL;
}

int gen_h2_run_setup(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;
	http_request_spec_t spec = gen_request_spec(cfg);
	gen_h2_run_t *r = calloc(1, sizeof(*r));
	nghttp2_session_callbacks *cb;
	int rc;

	if (!r)
		goto nomem;
	run->h2 = r;
	if ((rc = http2_request_build(&spec, &r->request, err, errlen)) < 0)
		return rc;
	if (nghttp2_session_callbacks_new(&r->callbacks) != 0 || nghttp2_option_new(&r->option))
		goto nomem;
	cb = r->callbacks;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
	nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, on_frame_not_send);
	nghttp2_session_callbacks_set_error_callback2(cb, on_error);
	nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
	/* nghttp2's own peer limit stays: 100 streams until the server's SETTINGS say how many
	 * it takes (asking for 1000 at once made nginx, whose limit is 128, refuse the rest and
	 * go away, connection after connection) */
	r->settings[0] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_PUSH, 0};
	r->settings[1] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_WINDOW};
	r->settings[2] =
	    (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, H2_MAX_HEADER_LIST};
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

void gen_h2_run_free(gen_run_t *run)
{
	gen_h2_run_t *r = run->h2;

	if (!r)
		return;
	http2_request_free(&r->request);
	nghttp2_session_callbacks_del(r->callbacks);
	nghttp2_option_del(r->option);
	free(r);
	run->h2 = NULL;
}
