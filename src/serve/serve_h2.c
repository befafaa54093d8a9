/* serve_h2: HTTP/2 on one connection of the target (RFC 9113) through nghttp2's memory API —
 * the socket's bytes go to nghttp2_session_mem_recv, what nghttp2_session_mem_send makes is
 * gathered into a bounded buffer and written. Prior knowledge (the client preface as the first
 * bytes) and the HTTP/1.1 upgrade (Upgrade: h2c) both end here; each stream is a request
 * (serve_h2_stream.c). SETTINGS bound the streams and header lists, GOAWAY drains. */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/net.h"
#include "serve/serve_h2_internal.h"

#define READ_CHUNK    16384
#define READ_BUDGET   4            /* reads per readiness event: other connections get a turn */
#define OUT_GATHER    (64u << 10)  /* frames gathered into one write */
#define OUT_MAX       (4u << 20)   /* what out may hold: OUT_GATHER + one frame in practice */
#define STREAM_WINDOW (256u << 10) /* SETTINGS_INITIAL_WINDOW_SIZE: upload bytes in flight */
#define CONN_WINDOW   (1u << 20)   /* the connection's receive window */

static const char switching[] = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                "Upgrade: h2c\r\n\r\n";

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

/* ---- nghttp2's callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	serve_h2_t *h = user_data;
	h2_stream_t *s;

	if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
		return 0;
	s = serve_h2_stream_new(h, frame->hd.stream_id);
	if (!s)
		return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* RST_STREAM: out of memory */
	nghttp2_session_set_stream_user_data(session, s->id, s);
	return 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
	h2_stream_t *s = serve_h2_stream_of(user_data, frame->hd.stream_id);

	return s ? serve_h2_stream_header(s, name, namelen, value, valuelen) : 0;
}

static int on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user_data)
{
	h2_stream_t *s = serve_h2_stream_of(user_data, id);

	if (s)
		serve_h2_stream_data(s, data, len);
	return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	serve_h2_t *h = user_data;
	h2_stream_t *s;

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		s = serve_h2_stream_of(h, frame->hd.stream_id);
		if (!s)
			return 0;
		if (frame->hd.type == NGHTTP2_HEADERS && s->state == ST_HEAD)
			serve_h2_stream_head_done(s);
		if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
			serve_h2_stream_dispatch(s);
		return 0;
	case NGHTTP2_RST_STREAM: stat_add(&h->w->stats.h2_resets_received, 1); return 0;
	default: return 0;
	}
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
	serve_h2_t *h = user_data;
	h2_stream_t *s;

	switch (frame->hd.type) {
	case NGHTTP2_HEADERS:
	case NGHTTP2_DATA:
		if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
		    !(s = serve_h2_stream_of(h, frame->hd.stream_id)))
			return 0;
		/* A stream answered before its body ended (413, 408, ...) could be told to stop
		 * sending it with RST_STREAM(NO_ERROR) (RFC 9113 8.1), but curl 7.88 then drops
		 * the response it has (exit 92): the rest of the body is read and dropped instead,
		 * for --idle-timeout at most (the stream's stall timer). */
		serve_h2_stream_ended(s);
		return 0;
	case NGHTTP2_RST_STREAM: stat_add(&h->w->stats.h2_resets_sent, 1); return 0;
	case NGHTTP2_GOAWAY: stat_add(&h->w->stats.h2_goaways_sent, 1); return 0;
	default: return 0;
	}
}

static int on_stream_close(nghttp2_session *session, int32_t id, uint32_t code, void *user_data)
{
	h2_stream_t *s = serve_h2_stream_of(user_data, id);

	if (s)
		serve_h2_stream_closed(s);
	return 0;
}

static void setup(void)
{
	nghttp2_session_callbacks_new(&callbacks);
	if (callbacks) {
		nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks,
		                                                        on_begin_headers);
		nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
		nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
		nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
		nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, on_frame_send);
		nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
	}
	nghttp2_option_new(&options);
}

/* ---- the connection ---- */

void serve_h2_goaway(serve_h2_t *h)
{
	if (h->goaway)
		return;
	h->goaway = true;
	nghttp2_submit_goaway(h->session, NGHTTP2_FLAG_NONE,
	                      nghttp2_session_get_last_proc_stream_id(h->session), NGHTTP2_NO_ERROR,
	                      NULL, 0);
}

/* Output made and not yet taken by the kernel: out's rest, or on a stream the connection's
 * queue and send. */
static size_t h2_unsent(const serve_h2_t *h)
{
	return serve_conn_is_stream(h->conn) ? serve_conn_unsent(h->conn) : h->out.len - h->out_pos;
}

/* Arms the connection's timer at the earlier of its deadlines that apply: idle (no streams)
 * and write stall (output waiting). Lazily: a later deadline is found by the callback. */
static void arm_deadlines(serve_h2_t *h)
{
	uint64_t next = 0;

	/* once GOAWAY is out idleness has no more to say: the connection closes when it is
	 * written (on a stream that is a send's end, later) */
	if (!h->open && !h->goaway)
		next = h->idle_deadline_ns;
	if (h2_unsent(h) && (!next || h->write_deadline_ns < next))
		next = h->write_deadline_ns;
	if (next && (!loop_timer_pending(h->timer) || h->timer->when_ns > next))
		loop_timer_start(h->w->loop, h->timer, next);
}

int serve_h2_close(serve_h2_t *h)
{
	serve_conn_close(h->conn); /* frees h through serve_h2_free */
	return -1;
}

/* Everything sent: a crash asked for happens now; a connection both sides are done with
 * closes. 0, or -1 when the connection is gone. */
static int h2_all_sent(serve_h2_t *h)
{
	if (h->exit_after_flush) {
		serve_log_event(SERVE_LOG_WARN, "crash", "exiting on request (POST /admin/crash)");
		serve_log_flush(h->w);
		_exit(70);
	}
	/* GOAWAY sent and no stream left, or a protocol error answered */
	if (!nghttp2_session_want_read(h->session) && !nghttp2_session_want_write(h->session))
		return serve_h2_close(h);
	return 0;
}

/* On an io_uring stream: what nghttp2 has goes into the connection's queue (up to OUT_GATHER
 * not yet taken by the kernel: more when a send ends), which sends it whole; the input stops
 * while that much waits, as readiness stops reading. */
static int h2_flush_stream(serve_h2_t *h)
{
	uint64_t now = loop_now(h->w->loop);
	size_t unsent;

	while (serve_conn_unsent(h->conn) < OUT_GATHER) {
		const uint8_t *data;
		ssize_t n = nghttp2_session_mem_send(h->session, &data);

		if (n < 0 || (n > 0 && serve_conn_queue(h->conn, data, (size_t)n) < 0))
			return serve_h2_close(h); /* out of memory: nothing sane is left to send */
		if (n == 0)
			break;
		stat_add(&h->w->stats.bytes_out, (uint64_t)n);
	}
	if (serve_conn_send(h->conn) < 0)
		return -1;
	unsent = serve_conn_unsent(h->conn);
	if (!unsent && h2_all_sent(h) < 0)
		return -1;
	/* output waits from now: a client that does not take it is left after --idle-timeout
	 * (each send's end moves the deadline on) */
	if (unsent && h->write_deadline_ns <= now)
		h->write_deadline_ns = now + serve_state.cfg->idle_timeout_ns;
	serve_conn_want_input(h->conn, unsent < OUT_GATHER && nghttp2_session_want_read(h->session),
	                      unsent >= OUT_GATHER);
	arm_deadlines(h);
	return 0;
}

/* Moves what nghttp2 has to send into out and writes it; closes the connection when both
 * sides are done. 0, or -1 when the connection is gone. */
int serve_h2_flush(serve_h2_t *h)
{
	uint32_t events;
	int round;

	if (h->in_nghttp2)
		return 0; /* mem_recv is still running: its caller flushes */
	if (h->closing)
		return serve_h2_close(h);
	if (!h->goaway && serve_draining(h->w))
		serve_h2_goaway(h); /* a drain began: finish what was asked, take nothing new */
	if (serve_conn_is_stream(h->conn))
		return h2_flush_stream(h);
	for (round = 0; round < 64; round++) {
		ssize_t rc;

		if (h->out_pos == h->out.len) {
			buf_reset(&h->out);
			h->out_pos = 0;
		} else if (h->out_pos > OUT_GATHER) {
			memmove(h->out.data, h->out.data + h->out_pos, h->out.len - h->out_pos);
			buf_truncate(&h->out, h->out.len - h->out_pos);
			h->out_pos = 0;
		}
		while (h->out.len - h->out_pos < OUT_GATHER) {
			const uint8_t *data;
			ssize_t n = nghttp2_session_mem_send(h->session, &data);

			/* out of memory: nothing sane is left to send */
			if (n < 0 || (n > 0 && buf_append(&h->out, data, (size_t)n) < 0))
				return serve_h2_close(h);
			if (n == 0)
				break;
		}
		if (h->out_pos == h->out.len)
			break;
		rc = serve_conn_write(h->conn, h->out.data + h->out_pos, h->out.len - h->out_pos);
		if (rc == NET_WANT_WRITE) {
			/* a client that stops reading gets --idle-timeout, then is disconnected */
			h->write_deadline_ns =
			    loop_now(h->w->loop) + serve_state.cfg->idle_timeout_ns;
			break;
		}
		if (rc < 0)
			return serve_h2_close(h);
		h->out_pos += (size_t)rc;
		stat_add(&h->w->stats.bytes_out, (uint64_t)rc);
	}
	if (h->out_pos == h->out.len) {
		if (h2_all_sent(h) < 0)
			return -1;
		if (!h->open || h->out.cap > OUT_GATHER * 2)
			buf_free(&h->out); /* an idle connection keeps little */
	}
	/* out pending, or a turn's share written with more to come: on when writable */
	events = h->out_pos < h->out.len || round == 64 ? LOOP_WRITE : 0;
	/* read no more while the client does not take what it asked for */
	if (h->out.len - h->out_pos < OUT_GATHER && nghttp2_session_want_read(h->session)) {
		events |= LOOP_READ;
		/* what TLS holds decrypted the loop does not see: the timer comes back for it */
		if (serve_conn_read_pending(h->conn))
			loop_timer_start(h->w->loop, h->timer, loop_now(h->w->loop));
	}
	loop_io_update(h->w->loop, h->io, events);
	arm_deadlines(h);
	return 0;
}

/* Feeds bytes to nghttp2; -1 when the connection is gone. */
static int h2_feed(serve_h2_t *h, const char *data, size_t len)
{
	ssize_t rc;

	h->in_nghttp2 = true;
	rc = nghttp2_session_mem_recv(h->session, (const uint8_t *)data, len);
	h->in_nghttp2 = false;
	if (rc < 0) {
		/* a connection error nghttp2 could not even answer with GOAWAY (a bad preface,
		 * out of memory, a flood): close */
		serve_log_event(SERVE_LOG_DEBUG, "h2_error", "%s", nghttp2_strerror((int)rc));
		return serve_h2_close(h);
	}
	return h->closing ? serve_h2_close(h) : 0;
}

static int h2_read(serve_h2_t *h)
{
	char in[READ_CHUNK];

	for (int i = 0; i < READ_BUDGET; i++) {
		ssize_t n = serve_conn_read(h->conn, in, sizeof(in));

		if (n == NET_WANT_READ)
			break;
		if (n <= 0) /* EOF or reset: the streams in flight go with it */
			return serve_h2_close(h);
		stat_add(&h->w->stats.bytes_in, (uint64_t)n);
		if (h2_feed(h, in, (size_t)n) < 0)
			return -1;
		if ((size_t)n < sizeof(in) || h->out.len - h->out_pos >= OUT_GATHER)
			break;
	}
	return serve_h2_flush(h);
}

void serve_h2_on_input(serve_h2_t *h, const char *data, size_t len)
{
	stat_add(&h->w->stats.bytes_in, len);
	if (h2_feed(h, data, len) == 0)
		serve_h2_flush(h);
}

void serve_h2_on_sent(serve_h2_t *h)
{
	h->write_deadline_ns = loop_now(h->w->loop) + serve_state.cfg->idle_timeout_ns;
	serve_h2_flush(h);
}

void serve_h2_on_io(serve_h2_t *h, uint32_t events)
{
	if ((events & LOOP_WRITE) && serve_h2_flush(h) < 0)
		return;
	if (events & (LOOP_READ | LOOP_HUP))
		h2_read(h);
}

void serve_h2_on_timer(serve_h2_t *h)
{
	uint64_t now = loop_now(h->w->loop);

	if (serve_conn_read_pending(h->conn) && h->out.len - h->out_pos < OUT_GATHER) {
		h2_read(h); /* its flush arms the deadlines again */
		return;
	}
	if (h2_unsent(h) && now >= h->write_deadline_ns) {
		stat_add(&h->w->stats.timeouts, 1); /* the client stopped reading */
		serve_h2_close(h);
		return;
	}
	if (!h->open && !h->goaway && now >= h->idle_deadline_ns) {
		/* idle for --idle-timeout: GOAWAY, which closes it once written */
		stat_add(&h->w->stats.timeouts, 1);
		serve_h2_goaway(h);
		serve_h2_flush(h);
		return;
	}
	arm_deadlines(h);
}

void serve_h2_drain(serve_h2_t *h)
{
	serve_h2_goaway(h);
	serve_h2_flush(h);
}

static serve_h2_t *h2_new(serve_conn_t *c, serve_worker_t *w, loop_io_t *io, loop_timer_t *timer,
                          serve_h2_t **out, enum serve_h2_start how)
{
	const serve_config_t *cfg = serve_state.cfg;
	nghttp2_settings_entry settings[] = {
	    {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, cfg->max_streams},
	    {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW},
	    {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, cfg->max_header_bytes},
	};
	serve_h2_t *h;

	pthread_once(&setup_once, setup);
	if (!callbacks || !options || !(h = calloc(1, sizeof(*h))))
		return NULL;
	h->conn = c;
	h->w = w;
	h->io = io;
	h->timer = timer;
	buf_init(&h->out, OUT_MAX);
	if (nghttp2_session_server_new2(&h->session, callbacks, h, options) != 0) {
		free(h);
		return NULL;
	}
	if (nghttp2_submit_settings(h->session, NGHTTP2_FLAG_NONE, settings,
	                            sizeof(settings) / sizeof(settings[0])) != 0 ||
	    nghttp2_session_set_local_window_size(h->session, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW) !=
	        0) {
		nghttp2_session_del(h->session);
		free(h);
		return NULL;
	}
	h->idle_deadline_ns = loop_now(w->loop) + cfg->idle_timeout_ns;
	stat_add(&w->stats.h2_connections[how], 1);
	*out = h;
	return h;
}

int serve_h2_start(serve_conn_t *c, serve_worker_t *w, loop_io_t *io, loop_timer_t *timer,
                   serve_h2_t **out, enum serve_h2_start how, const char *data, size_t len)
{
	serve_h2_t *h = h2_new(c, w, io, timer, out, how);

	if (!h) {
		serve_conn_close(c);
		return -1;
	}
	loop_timer_stop(w->loop, timer); /* HTTP/1.1's header deadline: ours from now on */
	if (len && h2_feed(h, data, len) < 0)
		return -1;
	/* after a TLS handshake the preface may be decrypted already, held where the loop does
	 * not look */
	if (how == SERVE_H2_ALPN)
		return h2_read(h);
	return serve_h2_flush(h);
}

int serve_h2_settings_decode(http_slice_t b64, uint8_t *out, size_t cap, size_t *len)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t n = 0;

	for (size_t i = 0; i < b64.len; i++) {
		int c = (unsigned char)b64.p[i], v;

		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-' || c == '+')
			v = 62;
		else if (c == '_' || c == '/')
			v = 63;
		else if (c == '=' && i + 2 >= b64.len)
			break; /* padding, which base64url leaves out but some send */
		else
			return -EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n == cap)
				return -EINVAL;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	/* a SETTINGS payload is whole 6-byte entries */
	if (n % 6)
		return -EINVAL;
	*len = n;
	return 0;
}

int serve_h2_upgrade(serve_conn_t *c, serve_worker_t *w, loop_io_t *io, loop_timer_t *timer,
                     serve_h2_t **out, const serve_request_t *r, const char *body,
                     http_slice_t settings, const char *rest, size_t rest_len)
{
	serve_h2_t *h = h2_new(c, w, io, timer, out, SERVE_H2_UPGRADE);
	uint8_t payload[256];
	size_t payload_len = 0;
	h2_stream_t *s;

	if (!h) {
		serve_conn_close(c);
		return -1;
	}
	loop_timer_stop(w->loop, timer);
	/* on a stream, behind the HTTP/1.1 responses before it that are not sent yet */
	if ((serve_conn_is_stream(c) ? serve_conn_queue(c, switching, sizeof(switching) - 1)
	                             : buf_append(&h->out, switching, sizeof(switching) - 1)) < 0)
		return serve_h2_close(h);
	s = serve_h2_stream_new(h, 1);
	if (!s || serve_h2_settings_decode(settings, payload, sizeof(payload), &payload_len) < 0 ||
	    nghttp2_session_upgrade2(
	        h->session, payload, payload_len,
	        r->head.method.len == 4 && memcmp(r->head.method.p, "HEAD", 4) == 0, s) != 0) {
		if (s)
			serve_h2_stream_free(s);
		return serve_h2_close(h);
	}
	serve_h2_stream_from_http1(s, r, body);
	serve_h2_stream_dispatch(s); /* nothing when it was refused */
	if (h->closing)
		return serve_h2_close(h);
	if (rest_len && h2_feed(h, rest, rest_len) < 0)
		return -1;
	return serve_h2_flush(h);
}

void serve_h2_resume(serve_request_t *r)
{
	h2_stream_t *s = (h2_stream_t *)r;
	serve_h2_t *h = s->h2;

	r->deferred = false;
	if (!h) {
		serve_h2_stream_release(s); /* the connection went while the handler worked */
		return;
	}
	if (s->gone) {
		serve_h2_stream_free(s); /* the client reset the stream meanwhile */
		serve_h2_flush(h);
		return;
	}
	serve_request_finish(r);
	serve_h2_stream_answer(s);
	serve_h2_flush(h);
}

void serve_h2_free(serve_h2_t *h)
{
	h2_stream_t *s = h->streams, *next;

	h->freeing = true;
	for (; s; s = next) {
		next = s->next;
		if (s->req.deferred)
			serve_h2_stream_detach(s); /* its handler holds &s->req: freed at resume */
		else
			serve_h2_stream_free(s);
	}
	serve_h2_spares_free(h);
	nghttp2_session_del(h->session);
	buf_free(&h->out);
	free(h);
}
