/* gen_h2_stream: the streams of --h2 — each the request of one gen_conn_t of the load
 * model (a user of the closed model, a place for an arrival of the open model), so the
 * models and the recording are HTTP/1.1's. A stream is submitted when its connection is open
 * and has room, else it waits in the connection's FIFO; its own timer times it out (the
 * stream reset, the connection kept); let go, it is reset and its frames dropped. */
#include <errno.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_h2_internal.h"

/* ---- streams waiting for their connection, or for room on it (a FIFO) ---- */

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

void gen_h2_wait_remove(gen_h2_conn_t *h, gen_h2_slot_t *s)
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

/* The request's body, from where its slot says (no copy of ours). */
static ssize_t read_body(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *ctx)
{
	gen_h2_slot_t *s = gen_h2_stream_slot(session, id);
	size_t left, n;

	if (!s) {
		*flags |= NGHTTP2_DATA_FLAG_EOF; /* let go: nothing more to say on it */
		return 0;
	}
	left = s->body_len - s->body_sent;
	n = left < length ? left : length;
	memcpy(buf, s->body + s->body_sent, n);
	s->body_sent += n;
	if (s->body_sent == s->body_len)
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

/* The slot's request becomes a stream (the frames go with the next flush): the run's, or a
 * driven user's (c->expect is its request while it is out). */
static void submit(gen_h2_slot_t *s)
{
	gen_h2_conn_t *h = s->h;
	gen_conn_t *c = s->conn;
	gen_run_t *run = c->thread->run;
	const gen_request_t *req = c->expect;
	const http2_request_t *list = req ? req->h2 : &run->h2->request;
	nghttp2_data_provider body = {.read_callback = read_body};
	bool has_body;
	int32_t id;

	c->sent_ns = clock_now_ns();
	if (!c->due_pending)
		c->intended_ns = c->sent_ns; /* closed model: due when the previous one ended */
	c->due_pending = false;
	s->reset = s->complete = s->out_of_memory = false;
	s->body_sent = 0;
	if (req) {
		s->body = req->bytes.data + req->bytes.len - req->body_len;
		s->body_len = req->body_len;
		has_body = req->body_len > 0;
	} else {
		s->body = run->cfg.body;
		s->body_len = run->cfg.body_len;
		has_body = run->cfg.has_body;
	}
	id = nghttp2_submit_request(h->session, NULL, list->fields, list->count,
	                            has_body ? &body : NULL, s);
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

void gen_h2_submit_waiting(gen_h2_conn_t *h)
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
	/* what is kept of the response starts empty; a plain run keeps nothing but its status */
	if (c->parser.capture || c->user) {
		http_response_parser_reset(&c->parser);
		if (c->user)
			gen_conn_capture_begin(c);
	}
	c->parser.status = 0;
	c->parser.headers_done = false;
	if (!h->wait_head && has_room(h)) {
		submit(s);
		if (!h->in_session)
			gen_h2_conn_flush(h); /* else once the read is taken in */
		return;
	}
	/* waiting: for the connection to open (a connect timeout if it does not), or for room on
	 * it (the server allows fewer streams than asked, or is going away) */
	c->state = h->state == H2_OPEN && !h->close_pending ? CONN_WRITING : CONN_CONNECTING;
	c->deadline_ns = clock_now_ns() + c->timeout_ns;
	arm_timeout(c);
	wait_push(h, s);
	if (h->state == H2_CLOSED)
		gen_h2_conn_connect(h);
}

void gen_h2_detach(gen_conn_t *c)
{
	gen_h2_slot_t *s = c->h2;
	gen_h2_conn_t *h = s->h;
	bool in_use = false;

	if (s->waiting)
		gen_h2_wait_remove(h, s);
	if (s->stream_id && h->session && !c->thread->stopping) {
		/* the server may stop working on it; its frames still to come are dropped */
		nghttp2_session_set_stream_user_data(h->session, s->stream_id, NULL);
		nghttp2_submit_rst_stream(h->session, NGHTTP2_FLAG_NONE, s->stream_id,
		                          NGHTTP2_CANCEL);
		if (!h->in_session && h->state == H2_OPEN)
			gen_h2_conn_flush(h);
	}
	s->stream_id = 0;
	c->state = CONN_IDLE;
	/* the connection stays for its other streams as long as one of them is in the load */
	for (uint32_t i = 0; i < h->slot_count && !in_use; i++) {
		enum conn_state st = h->slots[i].conn->state;

		in_use = &h->slots[i] != s && st != CONN_PARKED && st != CONN_DONE;
	}
	if (!in_use)
		gen_h2_conn_close(h);
}

/* A stream's timer: the back-off after a failed connect, its request's timeout, or a
 * scenario user's sleep. A body still held back by the server's flow-control window when the
 * time is up is a stall. */
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
		    s->stream_id && h->session && s->body_sent < s->body_len &&
		    /* 0, not an error for a stream whose HEADERS are not out yet */
		    (nghttp2_session_get_stream_remote_window_size(h->session, s->stream_id) == 0 ||
		     nghttp2_session_get_remote_window_size(h->session) <= 0);
		gen_conn_fail(c, c->state == CONN_CONNECTING ? GEN_ERR_CONNECT_TIMEOUT
		                 : stalled                   ? GEN_ERR_FLOW_CONTROL
		                                             : GEN_ERR_READ_TIMEOUT);
		break;
	case CONN_SLEEPING: gen_conn_sleep_timer(c); break; /* a scenario user thinking */
	default: break;
	}
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
