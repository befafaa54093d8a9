/* serve_conn_io: a connection's I/O on readiness (epoll, and every TLS connection): the TLS
 * handshake, read() into the input, write() of the response from out and its filler (dripped
 * on the timer), and the events that drive them (the rest of a 100-continue included). A
 * plain connection on io_uring is a stream instead (serve_conn_stream.c). */
#include "core/net.h"
#include "serve/serve_conn_internal.h"

#define FILL_CHUNK SERVE_FILL_CHUNK

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
void serve_conn_io_kick_pending(serve_conn_t *c)
{
	if (serve_conn_read_pending(c))
		loop_timer_start(c->w->loop, &c->timer, loop_now(c->w->loop));
}

/* Writes what it can; STEP_NEXT when the response is out and the next request may start. */
enum step serve_conn_io_write(serve_conn_t *c)
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
		/* the write that may end the response: count the request first
		 * (serve_conn_request_count) */
		if (c->active && n == c->out.len - c->out_pos + c->fill_left)
			serve_conn_request_count(c);
		rc = serve_conn_write(c, p, n);
		if (rc == NET_WANT_WRITE) {
			/* a client that stops reading gets --idle-timeout, then is disconnected */
			loop_io_update(c->w->loop, &c->io, LOOP_WRITE);
			if (!c->drip_piece)
				serve_conn_arm_deadline(c, serve_state.cfg->idle_timeout_ns);
			return STEP_BUSY;
		}
		if (rc < 0) {
			serve_conn_close(c);
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

void serve_conn_io_read(serve_conn_t *c)
{
	ssize_t n;

	if (!serve_conn_in_reserve(c, 1, c->in_max)) {
		/* the head did not fit: the parser says which limit; otherwise 431 */
		serve_conn_reply_refused(c, c->state == SC_BODY ? 413 : 431,
		                         c->state == SC_BODY
		                             ? serve_conn_body_limit_message()
		                             : "request head larger than --max-header-bytes");
		return;
	}
	n = serve_conn_read(c, c->in + c->in_len, c->in_cap - c->in_len);
	if (n == NET_WANT_READ)
		return;
	if (n <= 0) {
		serve_conn_close(c); /* EOF or reset: whatever was half-sent is dropped */
		return;
	}
	c->in_len += (size_t)n;
	stat_add(&c->w->stats.bytes_in, (uint64_t)n);
	serve_conn_io_kick_pending(c); /* before: conn_process may free c */
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
		serve_conn_close(c);
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
		serve_conn_io_read(c);
}

void serve_conn_io_on_event(loop_t *loop, loop_io_t *io, uint32_t events)
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
		if (serve_conn_io_write(c) == STEP_NEXT)
			serve_conn_process(c);
		return;
	}
	if (c->state == SC_HELD) {
		if (events & LOOP_HUP)
			serve_conn_close(c);
		return;
	}
	if (c->continue_left && (events & LOOP_WRITE)) {
		if (serve_conn_send_continue(c) == STEP_GONE || !(events & LOOP_READ))
			return;
	}
	serve_conn_io_read(c);
}
