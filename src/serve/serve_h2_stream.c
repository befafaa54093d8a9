/* serve_h2_stream: one HTTP/2 stream as a request of the target — its head built from the
 * header block (bounded), its body buffered or sunk, the same dispatch as HTTP/1.1, and its
 * response as HEADERS and DATA: at once, after its delay, dripped, or when a deferred handler
 * resumes. Faults reset the stream (or close the connection). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "serve/serve_h2_internal.h"

#define RESPONSE_FIELDS_MAX 48
#define SPARE_BUF_MAX       (16u << 10) /* a spare stream keeps buffers up to this */

static void stream_on_timer(loop_t *loop, loop_timer_t *t);

/* ---- streams ---- */

static void stream_uncount(h2_stream_t *s)
{
	if (s->counted)
		stat_add(&s->req.worker->stats.in_flight, (uint64_t)-1);
	s->counted = false;
}

void serve_h2_stream_release(h2_stream_t *s)
{
	buf_free(&s->head);
	buf_free(&s->body);
	buf_free(&s->req.body_out);
	buf_free(&s->req.headers_out);
	free(s);
}

void serve_h2_spares_free(serve_h2_t *h)
{
	while (h->spare) {
		h2_stream_t *s = h->spare;

		h->spare = s->next;
		serve_h2_stream_release(s);
	}
	h->spare_count = 0;
}

/* Keeps a buffer for the next stream unless a big request or response grew it. */
static void keep_small(buf_t *b)
{
	if (b->cap > SPARE_BUF_MAX)
		buf_free(b);
	else
		buf_reset(b);
}

/* A stream done with goes to the connection's spares (buffers kept, small ones only), or is
 * freed. */
static void stream_recycle(serve_h2_t *h, h2_stream_t *s)
{
	if (h->freeing || h->spare_count >= SPARE_STREAMS) {
		serve_h2_stream_release(s);
		return;
	}
	keep_small(&s->head);
	keep_small(&s->body);
	keep_small(&s->req.body_out);
	keep_small(&s->req.headers_out);
	s->next = h->spare;
	h->spare = s;
	h->spare_count++;
}

/* A zeroed stream: a spare one (its buffers emptied, kept) or a new one. */
static h2_stream_t *stream_take(serve_h2_t *h)
{
	h2_stream_t *s = h->spare;
	buf_t head, body, out, lines;

	if (!s)
		return calloc(1, sizeof(*s));
	h->spare = s->next;
	h->spare_count--;
	head = s->head;
	body = s->body;
	out = s->req.body_out;
	lines = s->req.headers_out;
	memset(s, 0, sizeof(*s));
	s->head = head;
	s->body = body;
	s->req.body_out = out;
	s->req.headers_out = lines;
	return s;
}

/* Unlinks s from its connection and frees it; the connection goes idle with its last one. */
void serve_h2_stream_free(h2_stream_t *s)
{
	serve_h2_t *h = s->h2;

	stream_uncount(s);
	loop_timer_stop(s->req.worker->loop, &s->timer);
	if (h) {
		if (s->prev)
			s->prev->next = s->next;
		else
			h->streams = s->next;
		if (s->next)
			s->next->prev = s->prev;
		h->body_held -= s->body.len;
		if (--h->open == 0 && !h->freeing) {
			serve_conn_set_busy(h->conn, false);
			h->idle_deadline_ns =
			    loop_now(h->w->loop) + serve_state.cfg->idle_timeout_ns;
		}
		if (s->id > 0)
			nghttp2_session_set_stream_user_data(h->session, s->id, NULL);
		stream_recycle(h, s);
		return;
	}
	serve_h2_stream_release(s);
}

h2_stream_t *serve_h2_stream_new(serve_h2_t *h, int32_t id)
{
	const serve_config_t *cfg = serve_state.cfg;
	h2_stream_t *s = stream_take(h);

	if (!s)
		return NULL;
	s->h2 = h;
	s->id = id;
	s->state = ST_HEAD;
	if (!s->head.max) {
		buf_init(&s->head, (size_t)cfg->max_header_bytes + 256);
		buf_init(&s->body, cfg->max_body_bytes);
		buf_reserve(&s->head, 512); /* a usual header list at once, not by doubling */
	}
	loop_timer_init(&s->timer, stream_on_timer, s);
	serve_request_reset(&s->req, h->conn, h->w, SERVE_HTTP2);
	s->counted = true;
	stat_add(&h->w->stats.in_flight, 1);
	stat_add(&h->w->stats.h2_streams, 1);
	s->next = h->streams;
	if (h->streams)
		h->streams->prev = s;
	h->streams = s;
	if (h->open++ == 0)
		serve_conn_set_busy(h->conn, true);
	/* from the first header to the last body byte: --header-timeout, as for HTTP/1.1 */
	loop_timer_start(h->w->loop, &s->timer, loop_now(h->w->loop) + cfg->header_timeout_ns);
	return s;
}

static void reset_stream(h2_stream_t *s, uint32_t code)
{
	nghttp2_submit_rst_stream(s->h2->session, NGHTTP2_FLAG_NONE, s->id, code);
}

/* ---- the request: its head from the header block ---- */

/* Parses a Content-Length nghttp2 has already checked to be digits; -1 when absent or huge. */
static int64_t content_length(const char *v, size_t len)
{
	int64_t n = 0;

	if (!len || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (v[i] - '0');
	}
	return n;
}

/* Points req.head's slices at the fields kept in s->head: pseudo-header fields give the
 * method and target, :authority stands in for a missing Host, the rest are the headers. */
static void build_head(h2_stream_t *s)
{
	http_request_t *hd = &s->req.head;
	const char *p = s->head.data, *end = p ? p + s->head.len : NULL;
	http_slice_t authority = {NULL, 0};
	bool host = false;

	/* empty, never NULL: the router compares them with memcmp */
	hd->method = (http_slice_t){"", 0};
	hd->target = hd->path = hd->query = hd->method;
	hd->minor_version = 1;
	hd->keep_alive = true;
	hd->chunked = false;
	hd->expect_continue = false;
	hd->content_length = -1;
	hd->header_count = 0;
	hd->error_status = 0;
	while (p && p < end) {
		const char *name = p, *value;
		size_t nlen = strlen(p), vlen;

		value = name + nlen + 1;
		vlen = strlen(value);
		p = value + vlen + 1;
		if (nlen && name[0] == ':') {
			http_slice_t v = {value, vlen};

			if (serve_h2_name_is(name, nlen, ":method"))
				hd->method = v;
			else if (serve_h2_name_is(name, nlen, ":path"))
				hd->target = v;
			else if (serve_h2_name_is(name, nlen, ":authority"))
				authority = v;
			continue;
		}
		if (hd->header_count == HTTP_REQUEST_MAX_HEADERS)
			continue;
		hd->header_names[hd->header_count] = (http_slice_t){name, nlen};
		hd->header_values[hd->header_count++] = (http_slice_t){value, vlen};
		if (serve_h2_name_is(name, nlen, "content-length"))
			hd->content_length = content_length(value, vlen);
		host = host || serve_h2_name_is(name, nlen, "host");
	}
	if (authority.p && !host && hd->header_count < HTTP_REQUEST_MAX_HEADERS) {
		hd->header_names[hd->header_count] = (http_slice_t){"host", 4};
		hd->header_values[hd->header_count++] = authority;
	}
	hd->path = hd->target;
	if (hd->target.p) {
		const char *q = memchr(hd->target.p, '?', hd->target.len);

		if (q) {
			hd->path.len = (size_t)(q - hd->target.p);
			hd->query.p = q + 1;
			hd->query.len = hd->target.len - hd->path.len - 1;
		}
	}
}

/* ---- the response ---- */

/* 1xx, 204 and 304 carry no body (RFC 9110 6.4.1). */
static bool status_has_body(int status)
{
	return status >= 200 && status != 204 && status != 304;
}

static bool is_head(const serve_request_t *r)
{
	return r->head.method.len == 4 && memcmp(r->head.method.p, "HEAD", 4) == 0;
}

/* Fields of HTTP/1.1 that HTTP/2 forbids (RFC 9113 8.2.2): dropped from headers_out. */
static bool connection_specific(const char *name, size_t len)
{
	return serve_h2_name_is(name, len, "connection") ||
	       serve_h2_name_is(name, len, "keep-alive") ||
	       serve_h2_name_is(name, len, "proxy-connection") ||
	       serve_h2_name_is(name, len, "transfer-encoding") ||
	       serve_h2_name_is(name, len, "upgrade");
}

static nghttp2_nv field(const char *name, size_t nlen, const char *value, size_t vlen)
{
	return (nghttp2_nv){(uint8_t *)name, (uint8_t *)value, nlen, vlen, NGHTTP2_NV_FLAG_NONE};
}

/* A "Name: value\r\n" header line as a field, its name lower-cased in place. */
static size_t header_line_fields(buf_t *lines, nghttp2_nv *nv, size_t n, size_t cap)
{
	char *p = lines->data, *end = p ? p + lines->len : NULL;

	while (p && p < end && n < cap) {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *colon, *value;
		char *line_end = !nl ? end : nl > p && nl[-1] == '\r' ? nl - 1 : nl;

		colon = memchr(p, ':', (size_t)(line_end - p));
		if (colon && colon > p) {
			for (char *c = p; c < colon; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			value = colon + 1;
			while (value < line_end && (*value == ' ' || *value == '\t'))
				value++;
			if (!connection_specific(p, (size_t)(colon - p)))
				nv[n++] = field(p, (size_t)(colon - p), value,
				                (size_t)(line_end - value));
		}
		p = nl ? nl + 1 : end;
	}
	return n;
}

/* The response body, as nghttp2 asks for it (at most `length` bytes, within the window). */
static ssize_t body_read(nghttp2_session *session, int32_t id, uint8_t *dst, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user_data)
{
	h2_stream_t *s = source->ptr;
	serve_request_t *r = &s->req;
	size_t n = 0;

	if (s->body_pos < r->body_out.len) {
		n = r->body_out.len - s->body_pos;
		if (n > length)
			n = length;
		memcpy(dst, r->body_out.data + s->body_pos, n);
		s->body_pos += n;
	}
	if (n < length && s->fill_left && s->body_pos == r->body_out.len) {
		uint64_t take = length - n;

		if (take > s->fill_left)
			take = s->fill_left;
		if (take > SERVE_FILL_CHUNK)
			take = SERVE_FILL_CHUNK;
		if (s->drip_piece) {
			if (!s->drip_piece_left && !n) {
				/* the next piece is due later: wait on the stream's timer */
				s->drip_waiting = true;
				loop_timer_start(r->worker->loop, &s->timer, s->drip_next_ns);
				return NGHTTP2_ERR_DEFERRED;
			}
			if (take > s->drip_piece_left)
				take = s->drip_piece_left;
			s->drip_piece_left -= take;
		}
		memcpy(dst + n, serve_filler, (size_t)take);
		s->fill_left -= take;
		n += (size_t)take;
	}
	s->data_sent += n;
	s->progress_ns = loop_now(r->worker->loop);
	if (s->body_pos == r->body_out.len && !s->fill_left)
		*flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t)n;
}

/* Submits the response HEADERS (and the body behind them). */
static void stream_respond(h2_stream_t *s)
{
	serve_h2_t *h = s->h2;
	serve_request_t *r = &s->req;
	bool body_allowed = status_has_body(r->status), head = is_head(r);
	uint64_t body = body_allowed ? r->body_out.len + r->fill_bytes : 0;
	const char *served = serve_state.served_by, *date = h->w->date;
	nghttp2_nv nv[RESPONSE_FIELDS_MAX];
	nghttp2_data_provider data = {.source.ptr = s, .read_callback = body_read};
	char length[24];
	size_t n = 0;
	int status = r->status >= 100 && r->status <= 999 ? r->status : 500;

	s->status[0] = (char)('0' + status / 100);
	s->status[1] = (char)('0' + status / 10 % 10);
	s->status[2] = (char)('0' + status % 10);
	nv[n++] = field(":status", 7, s->status, 3);
	nv[n++] = field("server", 6, "surge", 5);
	/* "X-Served-By: NAME\r\n" and "Date: ...\r\n", made once for HTTP/1.1 */
	if (strlen(served) > 15)
		nv[n++] = field("x-served-by", 11, served + 13, strlen(served) - 15);
	if (strlen(date) > 8)
		nv[n++] = field("date", 4, date + 6, strlen(date) - 8);
	if (body_allowed) {
		const char *type = r->content_type ? r->content_type : "application/json";

		nv[n++] = field("content-type", 12, type, strlen(type));
	}
	if (r->status >= 200 && r->status != 204) {
		snprintf(length, sizeof(length), "%llu", (unsigned long long)body);
		nv[n++] = field("content-length", 14, length, strlen(length));
	}
	n = header_line_fields(&r->headers_out, nv, n, RESPONSE_FIELDS_MAX);
	s->body_pos = head || !body_allowed ? r->body_out.len : 0;
	s->fill_left = head || !body_allowed ? 0 : r->fill_bytes;
	s->drip_piece = 0;
	if (r->drip_ns && s->fill_left) {
		/* as over HTTP/1.1: pieces 10 ms apart at most, the first one interval after the
		 * head */
		uint64_t pieces = r->drip_ns / (10 * NS_PER_MS);

		if (pieces > s->fill_left)
			pieces = s->fill_left;
		if (pieces < 1)
			pieces = 1;
		s->drip_piece = (s->fill_left + pieces - 1) / pieces;
		s->drip_piece_left = 0;
		s->drip_interval_ns = r->drip_ns / pieces;
		s->drip_next_ns = loop_now(h->w->loop) + s->drip_interval_ns;
	}
	s->state = ST_SENDING;
	s->progress_ns = loop_now(h->w->loop);
	if (nghttp2_submit_response(h->session, s->id, nv, n,
	                            s->body_pos < r->body_out.len || s->fill_left ? &data : NULL) <
	    0) {
		reset_stream(s, NGHTTP2_INTERNAL_ERROR);
		return;
	}
	/* a client that stops taking the body (no WINDOW_UPDATE) is reset after --idle-timeout */
	loop_timer_start(h->w->loop, &s->timer, s->progress_ns + serve_state.cfg->idle_timeout_ns);
	if (r->close_after)
		serve_h2_goaway(h); /* what Connection: close says over HTTP/1.1 */
}

/* After the handler answered: faults, the delay, or the response now. */
void serve_h2_stream_answer(h2_stream_t *s)
{
	serve_h2_t *h = s->h2;
	serve_request_t *r = &s->req;

	switch (r->fault) {
	case FAULT_RESET:
		/* over HTTP/2 a request's reset is its stream's: the others go on */
		serve_metrics_record(h->w, r, clock_now_ns() - r->start_ns);
		stream_uncount(s);
		s->state = ST_SENDING;
		reset_stream(s, NGHTTP2_INTERNAL_ERROR);
		return;
	case FAULT_CLOSE:
		/* the connection closes without an answer, every stream on it with it */
		serve_metrics_record(h->w, r, clock_now_ns() - r->start_ns);
		stream_uncount(s);
		s->state = ST_SENDING;
		h->closing = true;
		return;
	case FAULT_HANG:
		/* no answer; after the delay cap the stream is reset */
		s->reset_after_hang = true;
		r->delay_ns = serve_state.cfg->max_delay_ns;
		break;
	default: break;
	}
	if (r->delay_ns) {
		s->state = ST_HELD;
		loop_timer_start(h->w->loop, &s->timer, loop_now(h->w->loop) + r->delay_ns);
		return;
	}
	stream_respond(s);
}

/* Answers a stream a limit refused (431, 413, 408, 503): no handler, the error's JSON. */
static void stream_refuse(h2_stream_t *s, int status, const char *why)
{
	serve_request_t *r = &s->req;

	s->refused = true;
	s->h2->body_held -= s->body.len;
	buf_free(&s->body);
	r->route = NULL;
	r->route_index = -1;
	stat_add(&s->h2->w->stats.bad_requests, 1);
	serve_reply_error(r, status, "%s", why);
	loop_timer_stop(s->h2->w->loop, &s->timer);
	stream_respond(s);
}

static const char *body_limit_message(void)
{
	return "request body larger than the limit (--max-body)";
}

/* The header block is complete: the head, the route, and the limits known before the body. */
void serve_h2_stream_head_done(h2_stream_t *s)
{
	const serve_config_t *cfg = serve_state.cfg;
	serve_request_t *r = &s->req;
	bool path_known;
	char why[96];

	build_head(s);
	s->state = ST_BODY;
	if (s->too_many) {
		snprintf(why, sizeof(why), "more than %d header fields", HTTP_REQUEST_MAX_HEADERS);
		stream_refuse(s, 431, why);
		return;
	}
	if (s->header_bytes > cfg->max_header_bytes) {
		snprintf(why, sizeof(why),
		         "request header list larger than %u bytes (--max-header-bytes)",
		         cfg->max_header_bytes);
		stream_refuse(s, 431, why);
		return;
	}
	r->route = serve_route_find(r->head.method.p, r->head.method.len, r->head.path.p,
	                            r->head.path.len, &path_known, &r->route_index);
	s->sink = r->route && (r->route->flags & ROUTE_BODY_SINK);
	if (!s->sink && r->head.content_length > 0 &&
	    (uint64_t)r->head.content_length > cfg->max_body_bytes)
		stream_refuse(s, 413, body_limit_message());
}

int serve_h2_stream_header(h2_stream_t *s, const uint8_t *name, size_t namelen,
                           const uint8_t *value, size_t valuelen)
{
	uint32_t max = serve_state.cfg->max_header_bytes;
	size_t bytes = namelen + valuelen + 32;

	if (s->state != ST_HEAD)
		return 0; /* trailers: not kept */
	s->header_bytes += bytes < UINT32_MAX / 2 ? (uint32_t)bytes : UINT32_MAX / 2;
	if (s->header_bytes > max) {
		/* answered 431 at the end of the block; a flood of them is not even read */
		return s->header_bytes / HEADERS_HARD_FACTOR > max
		           ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE
		           : 0;
	}
	if (namelen && name[0] != ':' && ++s->header_fields > HTTP_REQUEST_MAX_HEADERS) {
		s->too_many = true;
		return 0;
	}
	buf_append(&s->head, name, namelen);
	buf_append_char(&s->head, '\0');
	buf_append(&s->head, value, valuelen);
	buf_append_char(&s->head, '\0');
	return 0;
}

void serve_h2_stream_data(h2_stream_t *s, const uint8_t *data, size_t len)
{
	serve_h2_t *h = s->h2;
	const serve_config_t *cfg = serve_state.cfg;

	if (s->refused || s->state != ST_BODY)
		return;
	if (s->sink) {
		s->req.body_len += len;
		return;
	}
	if (s->body.len + len > cfg->max_body_bytes) {
		stream_refuse(s, 413, body_limit_message());
		return;
	}
	if (h->body_held + len > cfg->max_body_bytes * BODY_BUDGET_BODIES) {
		stream_refuse(s, 503,
		              "this HTTP/2 connection's request bodies are over 4 x --max-body in "
		              "all: send fewer at once");
		return;
	}
	if (buf_append(&s->body, data, len) < 0) {
		stream_refuse(s, 503, "out of memory for the request body");
		return;
	}
	h->body_held += len;
	s->req.body_len += len;
}

/* The request is complete (END_STREAM): hand it to the endpoints. */
void serve_h2_stream_dispatch(h2_stream_t *s)
{
	serve_request_t *r = &s->req;

	if (s->refused || s->state != ST_BODY)
		return;
	loop_timer_stop(s->h2->w->loop, &s->timer);
	r->body = s->sink ? NULL : s->body.data;
	r->close_after = false;
	s->state = ST_WAITING;
	serve_request_dispatch(r);
	if (r->deferred)
		return; /* the handler answers later, through serve_resume() */
	serve_h2_stream_answer(s);
}

void serve_h2_stream_ended(h2_stream_t *s)
{
	serve_h2_t *h = s->h2;
	serve_request_t *r = &s->req;
	uint64_t dur = clock_now_ns() - r->start_ns;

	if (s->ended || !s->counted)
		return;
	s->ended = true;
	stream_uncount(s);
	serve_metrics_record(h->w, r, dur);
	if (serve_state.cfg->access_log && !(r->route && (r->route->flags & ROUTE_PROBE)))
		serve_log_access(h->w, r, dur, s->data_sent);
	if (r->fault == FAULT_EXIT)
		h->exit_after_flush = true;
}

/* The stream is over for nghttp2. A request whose response did not end before (reset by the
 * client or a fault, the connection gone) is not counted, as a client gone mid-response over
 * HTTP/1.1 is not. */
void serve_h2_stream_closed(h2_stream_t *s)
{
	serve_h2_t *h = s->h2;
	serve_request_t *r = &s->req;

	nghttp2_session_set_stream_user_data(h->session, s->id, NULL);
	s->id = -1;
	if (r->deferred) {
		s->gone = true; /* freed when its handler resumes */
		stream_uncount(s);
		loop_timer_stop(h->w->loop, &s->timer);
		return;
	}
	serve_h2_stream_free(s);
}

static void stream_on_timer(loop_t *loop, loop_timer_t *t)
{
	h2_stream_t *s = t->ctx;
	serve_h2_t *h = s->h2;
	uint64_t now = loop_now(loop);

	switch (s->state) {
	case ST_HEAD:
		/* in the middle of a header block, which nothing may interrupt: the whole
		 * connection waits for it, so it goes */
		stat_add(&h->w->stats.timeouts, 1);
		serve_h2_close(h);
		return;
	case ST_BODY:
		stat_add(&h->w->stats.timeouts, 1);
		stream_refuse(s, 408, "request not received in time (--header-timeout)");
		break;
	case ST_HELD:
		if (s->reset_after_hang) {
			stream_uncount(s);
			s->state = ST_SENDING;
			reset_stream(s, NGHTTP2_INTERNAL_ERROR);
			break;
		}
		stream_respond(s);
		break;
	case ST_SENDING:
		if (s->drip_waiting) {
			s->drip_waiting = false;
			s->drip_piece_left = s->drip_piece;
			s->drip_next_ns += s->drip_interval_ns;
			s->progress_ns = now;
			nghttp2_session_resume_data(h->session, s->id);
			loop_timer_start(loop, t, now + serve_state.cfg->idle_timeout_ns);
			break;
		}
		if (now < s->progress_ns + serve_state.cfg->idle_timeout_ns) {
			loop_timer_start(loop, t,
			                 s->progress_ns + serve_state.cfg->idle_timeout_ns);
			return;
		}
		stat_add(&h->w->stats.timeouts, 1); /* the client stopped taking the body */
		reset_stream(s, NGHTTP2_CANCEL);
		break;
	case ST_WAITING: return;
	}
	serve_h2_flush(h);
}

/* Copies an HTTP/1.1 request's head into s->head as HTTP/2 fields would have come, leaving
 * out what belonged to the upgrade and the connection. */
static void copy_http1_head(h2_stream_t *s, const serve_request_t *r)
{
	const http_request_t *hd = &r->head;
	static const char *const pseudo[] = {":method", ":path"};
	const http_slice_t values[] = {hd->method, hd->target};

	for (int i = 0; i < 2; i++) {
		buf_append_str(&s->head, pseudo[i]);
		buf_append_char(&s->head, '\0');
		buf_append(&s->head, values[i].p, values[i].len);
		buf_append_char(&s->head, '\0');
	}
	for (uint16_t i = 0; i < hd->header_count; i++) {
		http_slice_t n = hd->header_names[i], v = hd->header_values[i];
		char lower[32];

		if (n.len < sizeof(lower)) {
			for (size_t k = 0; k < n.len; k++)
				lower[k] =
				    (char)(n.p[k] >= 'A' && n.p[k] <= 'Z' ? n.p[k] + 32 : n.p[k]);
			if (connection_specific(lower, n.len) ||
			    serve_h2_name_is(lower, n.len, "http2-settings") ||
			    serve_h2_name_is(lower, n.len, "te"))
				continue;
		}
		if (memchr(n.p, '\0', n.len) || memchr(v.p, '\0', v.len))
			continue;
		buf_append(&s->head, n.p, n.len);
		buf_append_char(&s->head, '\0');
		buf_append(&s->head, v.p, v.len);
		buf_append_char(&s->head, '\0');
	}
}

void serve_h2_stream_from_http1(h2_stream_t *s, const serve_request_t *r, const char *body)
{
	copy_http1_head(s, r);
	serve_h2_stream_head_done(s);
	if (s->refused)
		return;
	s->req.body_len = r->body_len;
	if (!s->sink && r->body_len && body && buf_append(&s->body, body, (size_t)r->body_len) == 0)
		s->h2->body_held += r->body_len;
}

void serve_h2_stream_detach(h2_stream_t *s)
{
	stream_uncount(s);
	loop_timer_stop(s->req.worker->loop, &s->timer);
	if (s->id > 0)
		nghttp2_session_set_stream_user_data(s->h2->session, s->id, NULL);
	s->h2 = NULL;
	s->prev = s->next = NULL;
}
