/* ui_stream: GET /api/events, a Server-Sent Events stream — a note on the history first (from
 * which id it starts, what was dropped), then every kept event after the client's
 * Last-Event-ID, then the live ones as they are published, with no gap. A client reads through
 * the shared history with its own cursor (no copy of the stream per client); one that lags
 * more than client_queue_max_bytes behind the live events, or whose next event the history
 * dropped, is disconnected and counted: the browser reconnects with Last-Event-ID. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "ui/ui_internal.h"

#define STREAM_CHUNK  (64u << 10) /* frames copied from the history per write */
#define STREAM_BUDGET 16          /* writes per turn before other connections get theirs */
#define RETRY_MS      1000        /* how soon a browser reconnects */

/* Last-Event-ID's value: decimal digits as the stream sent them. */
static bool parse_event_id(http_slice_t v, uint64_t *out)
{
	uint64_t id = 0;

	if (!v.len || v.len > 19)
		return false;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return false;
		id = id * 10 + (uint64_t)(v.p[i] - '0');
	}
	*out = id;
	return true;
}

/* The first event a client gets, with no id (so it does not move the browser's
 * Last-Event-ID): where the kept history starts and what the client will not see of it. */
static void history_note(ui_conn_t *c, const ui_join_t *j)
{
	json_writer_t w;

	buf_printf(&c->body, "retry: %d\nevent: history\ndata: ", RETRY_MS);
	jsonw_init(&w, &c->body, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "stream");
	jsonw_string(&w, c->ui->stream_tag);
	jsonw_key(&w, "first_id");
	jsonw_uint(&w, j->first_id);
	jsonw_key(&w, "last_id");
	jsonw_uint(&w, j->last_id);
	jsonw_key(&w, "next_id");
	jsonw_uint(&w, j->next_id);
	jsonw_key(&w, "dropped");
	jsonw_uint(&w, j->dropped);
	jsonw_key(&w, "missed");
	jsonw_uint(&w, j->missed);
	jsonw_key(&w, "reset");
	jsonw_bool(&w, j->reset);
	jsonw_key(&w, "history_max_bytes");
	jsonw_uint(&w, c->ui->cfg.history_max_bytes);
	jsonw_object_end(&w);
	buf_append_str(&c->body, "\n\n");
}

bool ui_stream_begin(ui_conn_t *c)
{
	http_slice_t last = http_request_header(&c->req, "last-event-id");
	uint64_t last_id = 0;
	ui_join_t j;

	if (last.p && !parse_event_id(last, &last_id)) {
		ui_reply_error(c, 400, "Last-Event-ID: expected the decimal id of an event");
		return true;
	}
	ui_reply_start(c, 200, "text/event-stream");
	ui_reply_header(c, "Cache-Control: no-store");
	ui_reply_header(c, "X-Accel-Buffering: no"); /* a proxy in front must not hold events */
	/* the stream ends only with the connection: no length */
	ui_reply_header(c, "Connection: close");
	buf_append_str(&c->head, "\r\n");
	c->close_after = true;
	if (c->head_only)
		return true; /* HEAD: the head, then the close */
	ui_history_join(&c->ui->history, last.p != NULL, last_id, &j);
	history_note(c, &j);
	c->next_id = j.next_id;
	c->since_total = j.since_total;
	c->waiting = false;
	c->state = UC_STREAM;
	ui_count(&c->ui->counters.stream_clients, 1);
	/* what the client sent is over; the buffer is not needed again */
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	c->deadline_ns = loop_now(c->ui->loop) + c->ui->cfg.heartbeat_ns;
	loop_timer_start(c->ui->loop, &c->timer, c->deadline_ns);
	ui_stream_pump(c);
	return false;
}

static void stream_close(ui_conn_t *c, _Atomic uint64_t *counter)
{
	ui_count(counter, 1);
	ui_conn_close(c);
}

bool ui_stream_pump(ui_conn_t *c)
{
	ui_t *ui = c->ui;

	for (int budget = STREAM_BUDGET; budget > 0; budget--) {
		int rc;

		switch (ui_conn_flush(c)) {
		case UI_FLUSH_GONE: return false;
		case UI_FLUSH_BLOCKED:
			c->waiting = true;
			loop_io_update(ui->loop, &c->io, LOOP_READ | LOOP_WRITE);
			return true;
		case UI_FLUSH_DONE: break;
		}
		buf_reset(&c->head);
		buf_reset(&c->body);
		c->head_pos = c->body_pos = 0;
		rc = ui_history_read(&ui->history, &c->next_id, &c->body, STREAM_CHUNK);
		if (rc == UI_HISTORY_BEHIND) {
			stream_close(c, &ui->counters.stream_behind);
			return false;
		}
		if (rc < 0) {
			ui_conn_close(c); /* no memory for the next event: the client reconnects */
			return false;
		}
		if (rc == 0) {
			c->waiting = false;
			loop_io_update(ui->loop, &c->io, LOOP_READ);
			return true;
		}
	}
	/* a long replay: the rest on the next turn, so other clients are served meanwhile */
	loop_timer_start(ui->loop, &c->timer, loop_now(ui->loop));
	return true;
}

bool ui_stream_check(ui_conn_t *c)
{
	ui_t *ui = c->ui;
	bool dropped;
	uint64_t lag = ui_history_lag(&ui->history, c->next_id, c->since_total, &dropped);

	if (dropped) {
		stream_close(c, &ui->counters.stream_behind);
		return true;
	}
	if (lag > ui->cfg.client_queue_max_bytes) {
		stream_close(c, &ui->counters.stream_slow);
		return true;
	}
	return false;
}

void ui_stream_heartbeat(ui_conn_t *c)
{
	if (c->waiting || c->body_pos < c->body.len)
		return; /* bytes are on their way already, or the socket is full */
	buf_reset(&c->head);
	buf_reset(&c->body);
	c->head_pos = c->body_pos = 0;
	buf_append_str(&c->body, ": heartbeat\n\n");
}
