/* serve_conn_request: the requests of an HTTP/1.1 connection — read a request head (bounded in
 * size and time), its body, dispatch, hold the response for its delay, serialize it, and go on
 * with the next (pipelined) request under a per-event budget. Limits are answered with 4xx and
 * a close; HTTP/2 (the preface, Upgrade: h2c) is handed to serve_h2.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/clock.h"
#include "core/net.h"
#include "serve/serve_conn_internal.h"

#define PIPELINE_BUDGET 16 /* requests handled per event before others get a turn */

/* The interim response to "Expect: 100-continue" (RFC 9110 15.2.1). */
static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
#define CONTINUE_LEN (sizeof(continue_line) - 1)

/* The HTTP/2 client connection preface (RFC 9113 3.4): a connection that begins with it
 * speaks HTTP/2 from the first byte (prior knowledge). */
static const char h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN (sizeof(h2_preface) - 1)

static bool draining(const serve_worker_t *w)
{
	return serve_draining(w);
}

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

enum step serve_conn_respond(serve_conn_t *c)
{
	serialize(c);
	serve_conn_set_state(c, SC_WRITING);
	return c->stream ? serve_conn_stream_respond(c) : serve_conn_io_write(c);
}

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
enum step serve_conn_reply_refused(serve_conn_t *c, int status, const char *why)
{
	if (!c->active)
		request_begin(c);
	c->req.route = NULL;
	c->req.route_index = -1;
	c->req.close_after = true;
	stat_add(&c->w->stats.bad_requests, 1);
	serve_reply_error(&c->req, status, "%s", why);
	loop_timer_stop(c->w->loop, &c->timer);
	return serve_conn_respond(c);
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
			serve_conn_close(c);
			return STEP_GONE;
		}
		return serve_conn_close_after_output(c);
	}
	if (r->fault == FAULT_HANG) {
		r->close_after = true;
		r->delay_ns = serve_state.cfg->max_delay_ns;
		r->fault = FAULT_CLOSE; /* after the hang, close without answering */
	}
	if (r->delay_ns) {
		if (serve_conn_hold(c) == STEP_GONE)
			return STEP_GONE;
		loop_timer_start(c->w->loop, &c->timer, loop_now(c->w->loop) + r->delay_ns);
		return STEP_BUSY;
	}
	/* the header deadline's timer stays armed: it finds the next deadline itself */
	return serve_conn_respond(c);
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
		return serve_conn_hold(c);
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
		serve_conn_free(c); /* the client left while we waited */
		return;
	}
	serve_request_finish(r);
	if (conn_answer(c) == STEP_NEXT)
		serve_conn_process(c);
}

const char *serve_conn_body_limit_message(void)
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
		c->continue_left =
		    CONTINUE_LEN; /* sent by the caller, see serve_conn_send_continue() */
	return 0;
}

/* Writes what the socket takes of the interim response; the rest is written when it becomes
 * writable (the body is read meanwhile), or ahead of the final response. STEP_GONE when the
 * connection failed. */
enum step serve_conn_send_continue(serve_conn_t *c)
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
		serve_conn_close(c);
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

				return serve_conn_reply_refused(
				    c, status, parse_refusal(c, &limits, status, why, sizeof(why)));
			}
			request_begin(c);
			serve_conn_set_state(c, SC_BODY);
			if (start_body(c) < 0)
				return serve_conn_reply_refused(c, 413,
				                                serve_conn_body_limit_message());
			if (c->continue_left && serve_conn_send_continue(c) == STEP_GONE)
				return STEP_GONE;
		}
		if (c->state != SC_BODY)
			return STEP_BUSY; /* held, or being written: its end comes back here */
		rc = take_body(c);
		if (rc < 0)
			return serve_conn_reply_refused(c, rc == -2 ? 413 : 400,
			                                rc == -2 ? serve_conn_body_limit_message()
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
