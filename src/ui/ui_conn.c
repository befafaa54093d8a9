/* ui_conn: one connection to the UI server — read a request head (bounded in bytes and time)
 * and its body (Content-Length only, bounded), answer it through the routes, write the
 * response, keep the connection for the next; or hand it to an event stream. Every bound hit
 * is answered (408 413 431 503 ...) and counted, then the connection closes. */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/json.h"
#include "ui/ui_internal.h"

#define IN_INITIAL      4096
#define PIPELINE_BUDGET 16          /* requests answered per event before others get a turn */
#define HEAD_MAX        (16u << 10) /* a response head */
#define KEEP_IDLE       (64u << 10) /* what an idle connection may keep of a response */
#define REFUSE_SLOTS    16          /* connections over the bound that still get their 503 */
#define ERROR_MAX       1024        /* an error message, in bytes */

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);
static void conn_on_timer(loop_t *loop, loop_timer_t *t);
static void conn_process(ui_conn_t *c);

/* The deadline, kept lazily: the timer moves only when the new one is earlier than where it
 * sits; a later one is found by the timer callback, which re-arms. */
static void arm_deadline(ui_conn_t *c, uint64_t after_ns)
{
	c->deadline_ns = loop_now(c->ui->loop) + after_ns;
	if (!loop_timer_pending(&c->timer) || c->timer.when_ns > c->deadline_ns)
		loop_timer_start(c->ui->loop, &c->timer, c->deadline_ns);
}

void ui_conn_close(ui_conn_t *c)
{
	ui_t *ui = c->ui;

	loop_io_stop(ui->loop, &c->io);
	loop_timer_stop(ui->loop, &c->timer);
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		ui->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ui->conn_count--;
	ui_count(&ui->counters.connections_open, -1);
	if (c->state == UC_STREAM)
		ui_count(&ui->counters.stream_clients, -1);
	if (c->download)
		ui->downloads_active--;
	buf_free(&c->head);
	buf_free(&c->body);
	free(c->in);
	free(c);
}

/* Past the bound and its refusal slots: a best-effort 503 written at once, then the close. */
static void refuse_now(ui_t *ui, int fd)
{
	char msg[256];
	int n = snprintf(msg, sizeof(msg),
	                 "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
	                 "Content-Length: %d\r\nConnection: close\r\nRetry-After: 5\r\n\r\n"
	                 "{\"error\":\"too many connections\"}",
	                 (int)sizeof("{\"error\":\"too many connections\"}") - 1);

	if (send(fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* nothing to do: the client sees the close */
	}
	ui_count(&ui->counters.connections_refused, 1);
	close(fd);
}

void ui_conn_accept(ui_t *ui, int fd)
{
	int one = 1;
	ui_conn_t *c;

	if (ui->conn_count >= ui->cfg.max_connections + REFUSE_SLOTS ||
	    !(c = calloc(1, sizeof(*c)))) {
		refuse_now(ui, fd);
		return;
	}
	/* event frames and responses go out as written, not held for the next write's bytes */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ui = ui;
	c->fd = fd;
	c->state = UC_IDLE;
	c->in_max = ui->cfg.max_header_bytes;
	buf_init(&c->head, HEAD_MAX);
	buf_init(&c->body, ui->cfg.max_response_bytes);
	loop_timer_init(&c->timer, conn_on_timer, c);
	if (loop_io_start(ui->loop, &c->io, fd, LOOP_READ, conn_on_io, c) < 0) {
		buf_free(&c->head);
		buf_free(&c->body);
		free(c);
		refuse_now(ui, fd);
		return;
	}
	c->next = ui->conns;
	if (ui->conns)
		ui->conns->prev = c;
	ui->conns = c;
	ui->conn_count++;
	ui_count(&ui->counters.connections_open, 1);
	/* over max_connections: it is kept only to read its request and answer it 503, so the
	 * client reads why instead of a reset */
	c->over_bound = ui->conn_count > ui->cfg.max_connections;
	if (c->over_bound)
		ui_count(&ui->counters.connections_refused, 1);
	else
		ui_count(&ui->counters.connections_accepted, 1);
	arm_deadline(c, c->over_bound ? ui->cfg.header_timeout_ns : ui->cfg.idle_timeout_ns);
}

/* ---- responses ---- */

void ui_reply_start(ui_conn_t *c, int status, const char *content_type)
{
	buf_reset(&c->head);
	buf_reset(&c->body);
	c->head_pos = c->body_pos = 0;
	buf_printf(&c->head, "HTTP/1.1 %d %s\r\nServer: surge\r\n", status, http_reason(status));
	if (content_type)
		buf_printf(&c->head, "Content-Type: %s\r\n", content_type);
	/* no page of another site may frame the UI's buttons, nor a browser guess a type */
	buf_append_str(&c->head, "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
	                         "Referrer-Policy: no-referrer\r\n");
}

void ui_reply_header(ui_conn_t *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(&c->head, fmt, ap);
	va_end(ap);
	buf_append_str(&c->head, "\r\n");
}

void ui_reply_end(ui_conn_t *c)
{
	buf_printf(&c->head, "Content-Length: %zu\r\n", c->body.len);
	if (c->close_after)
		buf_append_str(&c->head, "Connection: close\r\n");
	else if (c->req.minor_version == 0)
		buf_append_str(&c->head, "Connection: keep-alive\r\n");
	buf_append_str(&c->head, "\r\n");
}

static void reply_error_v(ui_conn_t *c, int status, const char *extra, const char *fmt, va_list ap)
{
	char msg[ERROR_MAX];
	json_writer_t w;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	ui_reply_start(c, status, "application/json");
	ui_reply_header(c, "Cache-Control: no-store");
	if (status == 401)
		ui_reply_header(c, "WWW-Authenticate: Bearer realm=\"surge\"");
	if (status == 503)
		ui_reply_header(c, "Retry-After: 1");
	if (extra)
		ui_reply_header(c, "%s", extra);
	jsonw_init(&w, &c->body, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "error");
	jsonw_string(&w, msg);
	jsonw_object_end(&w);
	buf_append_char(&c->body, '\n');
	ui_reply_end(c);
}

void ui_reply_error(ui_conn_t *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(c, status, NULL, fmt, ap);
	va_end(ap);
}

void ui_reply_error_with(ui_conn_t *c, int status, const char *header, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(c, status, header, fmt, ap);
	va_end(ap);
}

enum ui_flush ui_conn_flush(ui_conn_t *c)
{
	for (;;) {
		struct iovec iov[2];
		struct msghdr msg = {.msg_iov = iov};
		size_t body_len = c->head_only ? 0 : c->body.len;
		ssize_t n;

		if (c->head_pos < c->head.len) {
			iov[msg.msg_iovlen].iov_base = c->head.data + c->head_pos;
			iov[msg.msg_iovlen++].iov_len = c->head.len - c->head_pos;
		}
		if (c->body_pos < body_len) {
			iov[msg.msg_iovlen].iov_base = c->body.data + c->body_pos;
			iov[msg.msg_iovlen++].iov_len = body_len - c->body_pos;
		}
		if (!msg.msg_iovlen)
			return UI_FLUSH_DONE;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return UI_FLUSH_BLOCKED;
			ui_conn_close(c);
			return UI_FLUSH_GONE;
		}
		size_t head_left = c->head.len - c->head_pos, took = (size_t)n;

		if (took <= head_left) {
			c->head_pos += took;
		} else {
			c->head_pos = c->head.len;
			c->body_pos += took - head_left;
		}
	}
}

/* Frees a buffer grown past KEEP_IDLE by a response that is over. */
static void shrink_idle(buf_t *b)
{
	if (b->cap > KEEP_IDLE)
		buf_free(b);
	else
		buf_reset(b);
}

/* The response is out: the next request, or the close it announced. false: closed. */
static bool request_done(ui_conn_t *c)
{
	ui_t *ui = c->ui;
	size_t used = c->head_len + (size_t)c->body_len;

	if (c->download) {
		c->download = false;
		ui->downloads_active--;
	}
	if (c->close_after) {
		ui_conn_close(c);
		return false;
	}
	if (c->in_len > used)
		memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	c->head_len = 0;
	c->body_len = 0;
	c->in_max = ui->cfg.max_header_bytes;
	if (!c->in_len && c->in_cap > IN_INITIAL) {
		free(c->in); /* a body is over: an idle connection keeps little */
		c->in = NULL;
		c->in_cap = 0;
	}
	shrink_idle(&c->head);
	shrink_idle(&c->body);
	c->state = UC_IDLE;
	arm_deadline(c, ui->cfg.idle_timeout_ns);
	loop_io_update(ui->loop, &c->io, LOOP_READ);
	return true;
}

/* Writes the response; true when it is out and the connection may read the next request. */
static bool conn_write(ui_conn_t *c)
{
	switch (ui_conn_flush(c)) {
	case UI_FLUSH_GONE: return false;
	case UI_FLUSH_BLOCKED:
		/* a client that stops reading gets idle_timeout, then is disconnected */
		loop_io_update(c->ui->loop, &c->io, LOOP_WRITE);
		arm_deadline(c, c->ui->cfg.idle_timeout_ns);
		return false;
	case UI_FLUSH_DONE: break;
	}
	return request_done(c);
}

static bool conn_send(ui_conn_t *c)
{
	c->state = UC_WRITING;
	return conn_write(c);
}

/* A request the parser or a bound refused: answered, then the connection closes (what is left
 * of its bytes cannot be trusted to start a request). */
static void reply_refused(ui_conn_t *c, int status, const char *why)
{
	ui_counters_t *n = &c->ui->counters;

	c->close_after = true;
	c->head_only = false;
	if (status != 503)
		ui_count(&n->bad_requests, 1);
	if (status == 431)
		ui_count(&n->header_too_large, 1);
	if (status == 413)
		ui_count(&n->body_too_large, 1);
	ui_reply_error(c, status, "%s", why);
	conn_send(c);
}

/* What the head parser refused, in words. */
static const char *parse_refusal(const ui_conn_t *c, const http_request_limits_t *limits,
                                 int status, char *buf, size_t len)
{
	switch (status) {
	case 414:
		snprintf(buf, len, "request line longer than %u bytes", limits->max_request_line);
		return buf;
	case 431:
		if (c->req.header_count >= limits->max_headers)
			snprintf(buf, len, "more than %u header lines", limits->max_headers);
		else
			snprintf(buf, len, "request head larger than %u bytes",
			         limits->max_header_bytes);
		return buf;
	case 417: return "Expect: only 100-continue is supported";
	case 501: return "Transfer-Encoding: not supported here (send Content-Length)";
	case 505: return "HTTP version not supported: HTTP/1.0 and HTTP/1.1 only";
	default: return "malformed request";
	}
}

static http_request_limits_t request_limits(const ui_t *ui)
{
	http_request_limits_t limits = {
	    .max_request_line = ui->cfg.max_header_bytes < 8192 ? ui->cfg.max_header_bytes : 8192,
	    .max_header_bytes = ui->cfg.max_header_bytes,
	    .max_headers = HTTP_REQUEST_MAX_HEADERS,
	};
	return limits;
}

/* The head is parsed: decide how much body follows; false when the request was refused. */
static bool start_body(ui_conn_t *c)
{
	const ui_config_t *cfg = &c->ui->cfg;
	char why[128];

	if (c->over_bound) {
		snprintf(why, sizeof(why), "too many connections (at most %u): try again later",
		         cfg->max_connections);
		c->close_after = true;
		ui_reply_error(c, 503, "%s", why);
		conn_send(c);
		return false;
	}
	if (c->req.chunked) {
		reply_refused(c, 411, "a request body needs Content-Length (chunked is not taken)");
		return false;
	}
	if (c->req.content_length > (int64_t)cfg->max_body_bytes) {
		snprintf(why, sizeof(why), "request body larger than %u bytes",
		         cfg->max_body_bytes);
		reply_refused(c, 413, why);
		return false;
	}
	/* a body over UI_BODY_UNCHECKED_MAX is read only for a request that passes the access
	 * check: a stranger cannot make the server hold a large bound on every connection */
	if (c->req.content_length > UI_BODY_UNCHECKED_MAX) {
		enum ui_token_source source;
		char denied[768];
		int status =
		    ui_access_check(&c->ui->access, &c->req, true, &source, denied, sizeof(denied));

		if (status) {
			ui_count(&c->ui->counters.refused_auth, 1);
			c->close_after = true;
			ui_reply_error(c, status, "%s", denied);
			conn_send(c);
			return false;
		}
	}
	c->body_len = c->req.content_length > 0 ? (uint64_t)c->req.content_length : 0;
	c->in_max = c->head_len + (size_t)c->body_len;
	if (c->in_max < cfg->max_header_bytes)
		c->in_max = cfg->max_header_bytes;
	/* curl waits a second for this before a larger body; best effort: when the socket takes
	 * none of it now, the client sends its body anyway after that wait */
	if (c->req.expect_continue && c->body_len && c->in_len == c->head_len)
		(void)!send(c->fd, continue_line, sizeof(continue_line) - 1,
		            MSG_NOSIGNAL | MSG_DONTWAIT);
	return true;
}

/* The request is whole: route it. false when the connection is busy (writing, a stream) or
 * gone. */
static bool conn_dispatch(ui_conn_t *c)
{
	http_request_limits_t limits = request_limits(c->ui);
	size_t head_len;

	/* parsed again over the same bytes: the input buffer may have moved while the body was
	 * read, and a head is short to parse */
	http_request_parse(&limits, c->in, c->in_len, &c->req, &head_len);
	ui_count(&c->ui->counters.requests, 1);
	c->close_after = !c->req.keep_alive;
	c->head_only = c->req.method.len == 4 && memcmp(c->req.method.p, "HEAD", 4) == 0;
	if (!ui_route(c))
		return false; /* an event stream now */
	return conn_send(c);
}

/* Handles what the input holds: heads, bodies, and pipelined requests up to a budget. */
static void conn_process(ui_conn_t *c)
{
	http_request_limits_t limits = request_limits(c->ui);

	for (int budget = PIPELINE_BUDGET; budget > 0; budget--) {
		if (c->state == UC_IDLE) {
			if (!c->in_len)
				return;
			c->state = UC_REQUEST;
			arm_deadline(c, c->ui->cfg.header_timeout_ns);
		}
		if (c->state != UC_REQUEST)
			return;
		if (!c->head_len) {
			int rc =
			    http_request_parse(&limits, c->in, c->in_len, &c->req, &c->head_len);

			if (rc == HTTP_AGAIN) {
				c->head_len = 0;
				return;
			}
			if (rc == HTTP_ERROR) {
				int status = c->req.error_status ? c->req.error_status : 400;
				char why[128];

				c->head_len = 0;
				reply_refused(c, status,
				              parse_refusal(c, &limits, status, why, sizeof(why)));
				return;
			}
			if (!start_body(c))
				return;
		}
		if (c->in_len < c->head_len + c->body_len)
			return; /* more body to come */
		if (!conn_dispatch(c))
			return;
	}
	/* budget spent with requests still buffered: continue on the next loop turn */
	loop_timer_start(c->ui->loop, &c->timer, loop_now(c->ui->loop));
}

/* Room to read into, up to in_max; false when the input is full. */
static bool in_reserve(ui_conn_t *c)
{
	size_t cap;
	char *p;

	if (c->in_len < c->in_cap)
		return true;
	if (c->in_cap >= c->in_max)
		return false;
	cap = c->in_cap ? c->in_cap * 2 : IN_INITIAL;
	if (cap > c->in_max)
		cap = c->in_max;
	p = realloc(c->in, cap);
	if (!p)
		return false;
	c->in = p;
	c->in_cap = cap;
	return true;
}

static void conn_read(ui_conn_t *c)
{
	ssize_t n;

	if (!in_reserve(c)) {
		char why[128];

		if (c->in_cap < c->in_max) {
			reply_refused(c, 503, "out of memory for the request");
			return;
		}
		/* the head did not end within max_header_bytes (a body never overflows: the
		 * buffer is sized to hold it) */
		snprintf(why, sizeof(why), "request head larger than %u bytes",
		         c->ui->cfg.max_header_bytes);
		reply_refused(c, 431, why);
		return;
	}
	n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		ui_conn_close(c); /* EOF or reset: whatever was half-sent is dropped */
		return;
	}
	c->in_len += (size_t)n;
	conn_process(c);
}

/* A stream reads nothing more; what a client sends after its GET is dropped, and its end
 * ends the stream. false when it ended. */
static bool stream_read(ui_conn_t *c)
{
	char scratch[4096];

	for (int i = 0; i < 16; i++) {
		ssize_t n = read(c->fd, scratch, sizeof(scratch));

		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return true;
		ui_conn_close(c);
		return false;
	}
	return true;
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	ui_conn_t *c = io->ctx;

	switch (c->state) {
	case UC_STREAM:
		if ((events & (LOOP_READ | LOOP_HUP)) && !stream_read(c))
			return;
		if (events & LOOP_WRITE)
			ui_stream_pump(c);
		return;
	case UC_WRITING:
		if (conn_write(c))
			conn_process(c);
		return;
	case UC_IDLE:
	case UC_REQUEST: conn_read(c); return;
	}
}

static void conn_on_timer(loop_t *loop, loop_timer_t *t)
{
	ui_conn_t *c = t->ctx;
	uint64_t now = loop_now(loop);
	char why[128];

	if (c->state == UC_STREAM) {
		if (now >= c->deadline_ns) {
			ui_stream_heartbeat(c);
			c->deadline_ns = now + c->ui->cfg.heartbeat_ns;
		}
		loop_timer_start(loop, t, c->deadline_ns);
		ui_stream_pump(c); /* also the continuation of a pump that spent its budget */
		return;
	}
	if (c->state == UC_IDLE && c->in_len) {
		conn_process(c); /* pipelined requests left over from a spent budget */
		return;
	}
	if (now < c->deadline_ns) {
		loop_timer_start(loop, t, c->deadline_ns);
		return;
	}
	switch (c->state) {
	case UC_IDLE: ui_conn_close(c); return;
	case UC_WRITING:
		ui_count(&c->ui->counters.timeouts, 1); /* the client stopped reading */
		ui_conn_close(c);
		return;
	case UC_REQUEST:
		ui_count(&c->ui->counters.timeouts, 1);
		snprintf(why, sizeof(why), "request not received within %llu ms",
		         (unsigned long long)(c->ui->cfg.header_timeout_ns / 1000000));
		c->head_len = 0;
		c->body_len = 0;
		reply_refused(c, 408, why);
		return;
	case UC_STREAM: return;
	}
}

void ui_conn_wake_streams(ui_t *ui)
{
	ui_conn_t *c = ui->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->state != UC_STREAM || ui_stream_check(c) || c->waiting)
			continue;
		ui_stream_pump(c);
	}
}
