/* gen_h2_conn: an --h2 TCP connection (TLS with ALPN h2 for https, prior knowledge h2c for
 * http) and its I/O: connect, handshake, the nghttp2 session fed the connection's reads
 * (mem_recv) and its output gathered (mem_send) into H2_WRITE_BUFFER-sized writes; and how
 * it ends (lost: its requests fail by their cause; retired: an orderly end). Steady state:
 * one read and one write per batch of frames, no allocation of ours. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "gen/gen_h2_internal.h"

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);

/* ---- the end of a connection ---- */

/* Closes the socket and the session now (never inside the session's own callbacks). The
 * streams' requests are not touched: gen_h2_conn_lost fails them. */
void gen_h2_conn_close_now(gen_h2_conn_t *h)
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

void gen_h2_conn_close(gen_h2_conn_t *h)
{
	if (h->in_session)
		h->close_pending = true;
	else
		gen_h2_conn_close_now(h);
}

/* The connection is gone (or never came): every request on it fails as `kind`, each once.
 * Streams that were only waiting for room on an open connection wait on for a new one. The
 * requests are collected first: failing one may start the next request (and a new
 * connection) before the rest are failed. */
void gen_h2_conn_lost(gen_h2_conn_t *h, enum gen_error_kind kind)
{
	gen_thread_t *t = h->thread;
	bool connecting = h->state != H2_OPEN;
	uint16_t lost[GEN_MAX_STREAMS];
	uint32_t n = 0;

	for (uint32_t i = 0; i < h->slot_count; i++) {
		gen_h2_slot_t *s = &h->slots[i];

		if (s->stream_id || (connecting && s->waiting)) {
			if (s->waiting)
				gen_h2_wait_remove(h, s);
			s->stream_id = 0;
			lost[n++] = (uint16_t)i;
		}
	}
	gen_h2_conn_close_now(h);
	for (uint32_t i = 0; i < n && !t->stopping; i++) {
		gen_conn_t *c = h->slots[lost[i]].conn;

		if (c->state == CONN_CONNECTING || c->state == CONN_WRITING ||
		    c->state == CONN_READING)
			gen_conn_fail(c, kind);
	}
	if (h->wait_head && h->state == H2_CLOSED && !t->stopping)
		gen_h2_conn_connect(h);
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
			gen_h2_conn_lost(h, h->goaway       ? GEN_ERR_GOAWAY
			                    : h->flow_error ? GEN_ERR_FLOW_CONTROL
			                                    : GEN_ERR_PROTOCOL);
			return;
		}
	gen_h2_conn_close(h);
	if (h->state == H2_CLOSED && h->wait_head && !h->thread->stopping)
		gen_h2_conn_connect(h);
}

/* ---- I/O ---- */

/* Writes what nghttp2 has to send, gathered into H2_WRITE_BUFFER-sized writes, until it has
 * nothing more or the socket is full (then the loop says when to go on). */
void gen_h2_conn_flush(gen_h2_conn_t *h)
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
					gen_h2_conn_lost(
					    h, GEN_ERR_RESOURCE); /* only NOMEM, or a bug */
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
				/* a scenario's streams count by endpoint as they are framed
				 * (gen_h2_session.c's on_frame_send); the run's one, here */
				if (!t->run->cfg.driver)
					t->named.endpoints[0]->counters.bytes_out += (uint64_t)n;
			} else if (n == NET_WANT_WRITE || n == NET_WANT_READ) {
				h->write_blocked = true;
				loop_io_update(t->loop, &h->io, LOOP_READ | LOOP_WRITE);
				return;
			} else if (h->peer_closed) {
				gen_h2_conn_lost(h,
				                 h->goaway ? GEN_ERR_GOAWAY : GEN_ERR_CLOSED_EARLY);
				return;
			} else {
				gen_h2_conn_lost(h, n == -ETIMEDOUT ? GEN_ERR_READ_TIMEOUT
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
		gen_h2_conn_lost(h, rc == NGHTTP2_ERR_FLOW_CONTROL ? GEN_ERR_FLOW_CONTROL
		                                                   : GEN_ERR_PROTOCOL);
		return false;
	}
	if (h->found_error) {
		/* a stream's error (its RST_STREAM goes now) or the connection's: nghttp2 then
		 * sends its GOAWAY, after which it wants nothing more (below) */
		h->found_error = false;
		gen_h2_conn_flush(h);
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
			 * streams as protocol errors (gen_h2_conn_flush), not as closed early */
			if (h->streams_out && nghttp2_session_want_write(h->session)) {
				h->peer_closed = true;
				gen_h2_conn_flush(h);
				if (h->state != H2_OPEN)
					return;
			}
			if (h->streams_out)
				gen_h2_conn_lost(h,
				                 h->goaway ? GEN_ERR_GOAWAY : GEN_ERR_CLOSED_EARLY);
			else
				conn_retire(h); /* an idle connection closed by the server */
			return;
		}
		if (n < 0) {
			gen_h2_conn_lost(h, h->tls && n == -EPROTO
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
		gen_h2_conn_lost(h, GEN_ERR_RESOURCE);
		return;
	}
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, r->settings, 3) != 0 ||
	    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, H2_WINDOW) !=
	        0) {
		gen_h2_conn_lost(h, GEN_ERR_RESOURCE);
		return;
	}
	h->state = H2_OPEN;
	for (gen_h2_slot_t *s = h->wait_head; s; s = s->wait_next)
		s->conn->failures = 0;
	gen_h2_submit_waiting(h);
	gen_h2_conn_flush(h);
}

static void conn_connected(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;
	int rc;

	if (t->run->tls && !h->tls) {
		if (!(h->tls = tls_session_new(t->run->tls, h->fd, t->run->cfg.url.host))) {
			gen_h2_conn_lost(h, GEN_ERR_TLS);
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
			gen_h2_conn_lost(h, GEN_ERR_TLS);
			return;
		}
		if (!tls_session_alpn_is(h->tls, "h2")) {
			gen_h2_conn_lost(h,
			                 GEN_ERR_PROTOCOL); /* the server would not speak HTTP/2 */
			return;
		}
	}
	loop_io_update(t->loop, &h->io, LOOP_READ);
	conn_open(h);
}

void gen_h2_conn_connect(gen_h2_conn_t *h)
{
	gen_thread_t *t = h->thread;
	int fd = net_connect(&t->run->addr), rc;

	if (fd < 0) {
		h->state = H2_CLOSED; /* nothing to close: no descriptor, not counted open */
		gen_h2_conn_lost(h, fd == -ECONNREFUSED ? GEN_ERR_CONNECT_REFUSED
		                                        : gen_error_kind_of(fd, GEN_ERR_CONNECT));
		return;
	}
	h->state = H2_CONNECTING;
	h->fd = fd;
	t->open_conns++;
	if ((rc = loop_io_start(t->loop, &h->io, fd, LOOP_WRITE, conn_on_io, h)) < 0)
		gen_h2_conn_lost(h, gen_error_kind_of(rc, GEN_ERR_CONNECT));
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	gen_h2_conn_t *h = io->ctx;
	int rc;

	switch (h->state) {
	case H2_CONNECTING:
		rc = net_connect_result(h->fd);
		if (rc < 0)
			gen_h2_conn_lost(h, rc == -ECONNREFUSED ? GEN_ERR_CONNECT_REFUSED
			                    : rc == -ETIMEDOUT
			                        ? GEN_ERR_CONNECT_TIMEOUT
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
			gen_h2_conn_flush(h);
		break;
	case H2_CLOSED: break;
	}
}
