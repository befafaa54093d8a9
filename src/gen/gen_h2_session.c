/* gen_h2_session: the nghttp2 side of --h2 — the callbacks nghttp2 calls from inside
 * nghttp2_session_mem_recv or _mem_send (a response's status and bytes, a stream's end and
 * its cause, errors nghttp2 found), and the run's set-up they are registered in: the
 * request's header list (built once), the callbacks, the session options and our SETTINGS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen_h2_internal.h"

/* the header list size this client announces: advice to the server, which nghttp2 does not
 * enforce on what it reads (its own bound is HPACK's 64 KiB per field, a connection error);
 * nothing of a response's headers but :status is kept */
#define H2_MAX_HEADER_LIST (64 * 1024)

/* ---- nghttp2's callbacks (inside nghttp2_session_mem_recv or _mem_send) ---- */

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *ctx)
{
	gen_h2_slot_t *s;

	if (frame->hd.type != NGHTTP2_HEADERS || namelen != 7 || memcmp(name, ":status", 7) != 0)
		return 0;
	if (!(s = gen_h2_stream_slot(session, frame->hd.stream_id)))
		return 0;
	/* nghttp2 has checked it: three digits (a 1xx is followed by the final one) */
	if (valuelen == 3)
		s->conn->parser.status =
		    (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
	return 0;
}

/* A driven user's response begins (its :status): the buffers it is captured into, as over
 * HTTP/1.1 from its first bytes (a 1xx's fields are let go when the final one begins). */
static int capture_response(gen_h2_slot_t *s)
{
	gen_conn_t *c = s->conn;

	if (!c->headers && gen_conn_capture_alloc(c) < 0) {
		s->out_of_memory = true; /* nowhere to put it: reset, a resource_error */
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	}
	c->headers->len = 0;
	return 0;
}

/* --group-by-header, and a scenario's responses: every field of a response's header block,
 * not :status alone, kept as the HTTP/1.1 parser keeps a line's. :status opens each block,
 * so a 1xx's fields are let go when the final one begins; trailers (after the final block)
 * are not kept. Only registered when wanted: a plain run's on_header looks at :status and
 * nothing else. Past the scenario's header store (GEN_CAPTURE_HEADERS) the stream is reset
 * and the request is a protocol_error, as HTTP/1.1's parser makes it. */
static int on_header_kept(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                          size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                          void *ctx)
{
	gen_h2_slot_t *s;
	http_response_parser_t *p;

	if (frame->hd.type != NGHTTP2_HEADERS ||
	    !(s = gen_h2_stream_slot(session, frame->hd.stream_id)))
		return 0;
	p = &s->conn->parser;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0) {
		if (p->capture)
			http_header_capture_clear(p->capture);
		if (s->conn->user && capture_response(s) < 0)
			return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
		return on_header(session, frame, name, namelen, value, valuelen, flags, ctx);
	}
	if (p->headers_done || name[0] == ':')
		return 0;
	if (p->capture)
		http_header_capture_take(p->capture, (const char *)name, namelen,
		                         (const char *)value, valuelen);
	if (p->store && http_header_store_add(p->store, (const char *)name, namelen,
	                                      (const char *)value, valuelen) < 0)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
	return 0;
}

/* A scenario's response body, to its user's capture (cut at GEN_CAPTURE_BODY as over
 * HTTP/1.1); its bytes are counted by on_frame_recv, frame by frame. */
static int on_body_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ctx)
{
	gen_h2_slot_t *s = gen_h2_stream_slot(session, id);

	if (s && s->conn->parser.on_body)
		s->conn->parser.on_body(s->conn->parser.ctx, (const char *)data, len);
	return 0;
}

/* A scenario's request frames, counted for its endpoint as they are written (its HEADERS as
 * HPACK made them, its DATA); the connection's own frames count in the run's total only. */
static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *ctx)
{
	gen_h2_slot_t *s;
	gen_conn_t *c;

	if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
		return 0;
	if (!(s = gen_h2_stream_slot(session, frame->hd.stream_id)))
		return 0;
	c = s->conn;
	c->thread->named.endpoints[c->endpoint]->counters.bytes_out += frame->hd.length + 9;
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *ctx)
{
	gen_h2_conn_t *h = ctx;
	gen_h2_slot_t *s;

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (!(s = gen_h2_stream_slot(session, frame->hd.stream_id)))
			break;
		/* the response's bytes: its frames as they came, headers included */
		s->conn->received += frame->hd.length + 9;
		if (frame->hd.type == NGHTTP2_HEADERS && s->conn->parser.status >= 200)
			s->conn->parser.headers_done = true; /* what follows is body or trailers */
		if ((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && s->conn->parser.status >= 200)
			s->complete = true;
		break;
	case NGHTTP2_RST_STREAM:
		if ((s = gen_h2_stream_slot(session, frame->hd.stream_id))) {
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
	if (s->out_of_memory)
		return GEN_ERR_RESOURCE;
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
	gen_h2_slot_t *s = gen_h2_stream_slot(session, id);

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
	/* drained: closed after the call, its waiting streams go on a new one */
	if (h->goaway && !h->streams_out)
		gen_h2_conn_close(h);
	else
		gen_h2_submit_waiting(h);
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
	if ((s = gen_h2_stream_slot(session, frame->hd.stream_id))) {
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

/* ---- the run's set-up ---- */

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
	nghttp2_session_callbacks_set_on_header_callback(
	    cb, cfg->group_header || cfg->driver ? on_header_kept : on_header);
	if (cfg->driver) { /* a scenario reads its responses' bodies; counts by endpoint */
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_body_chunk);
		nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
	}
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
