/* ui_internal: the UI server's private types — the server, a connection, and what its files
 * call of each other (the server's loop and accept in ui_server.c, a connection's requests in
 * ui_conn.c, the routes in ui_routes.c, event streams in ui_stream.c, assets in ui_assets.c).
 * Included by src/ui/ only. */
#ifndef SURGE_UI_INTERNAL_H
#define SURGE_UI_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/loop.h"
#include "ui/ui.h"
#include "ui/ui_access.h"
#include "ui/ui_history.h"

typedef struct ui_conn ui_conn_t;

/* Counters written by the UI thread only and read by any (relaxed atomics: no locked
 * instruction on a path that needs none, and no data race for ThreadSanitizer to see). */
typedef struct ui_counters {
	_Atomic uint64_t connections_accepted, connections_refused, connections_open, requests,
	    bad_requests, header_too_large, body_too_large, timeouts, refused_auth, downloads_busy,
	    responses_too_large, stream_clients, stream_slow, stream_behind;
} ui_counters_t;

static inline void ui_count(_Atomic uint64_t *c, int64_t delta)
{
	atomic_fetch_add_explicit(c, (uint64_t)delta, memory_order_relaxed);
}

struct ui {
	ui_config_t cfg; /* its strings and downloads point at the copies below */
	char *host, *token;
	ui_download_t *downloads;
	ui_access_t access;
	bool loopback; /* bound to a loopback address */
	bool wildcard; /* bound to 0.0.0.0 or :: */
	uint16_t port;
	char stream_tag[17]; /* this server's stream, random: a client can tell a restarted one */

	int listen_fd;
	loop_t *loop;
	loop_io_t listen_io;
	pthread_t thread;
	atomic_bool stopping;

	ui_history_t history;
	buf_t page; /* the UI's page, its asset addresses filled in once at start */

	ui_conn_t *conns; /* every open connection, the UI thread's alone */
	uint32_t conn_count;
	uint32_t downloads_active;
	ui_counters_t counters;
};

enum ui_conn_state {
	UC_IDLE,    /* keep-alive, waiting for the first byte of a request */
	UC_REQUEST, /* reading a request's head and body */
	UC_WRITING, /* writing a response */
	UC_STREAM,  /* an event stream: it ends when either side closes */
};

struct ui_conn {
	ui_t *ui;
	ui_conn_t *prev, *next;
	loop_io_t io;
	loop_timer_t timer;
	uint64_t deadline_ns; /* the request's, idle, a stalled write, or the next heartbeat */
	int fd;
	enum ui_conn_state state;

	char *in; /* request bytes; the slices of req point here while it is handled */
	size_t in_len, in_cap, in_max;
	size_t head_len;   /* 0 until the head is parsed */
	uint64_t body_len; /* Content-Length */
	http_request_t req;

	buf_t head; /* the response: its head, then its body (not for HEAD) */
	buf_t body;
	size_t head_pos, body_pos;
	bool head_only;   /* HEAD: the body is measured, not sent */
	bool close_after; /* Connection: close: close once the response is out */
	bool download;    /* holds one of max_downloads until the response is out */
	bool over_bound;  /* accepted over max_connections: its request is answered 503 */

	/* an event stream (UC_STREAM) */
	uint64_t next_id;     /* the next event to send */
	uint64_t since_total; /* the stream position when it joined (ui_history_lag) */
	bool waiting;         /* the socket is full: wait for it to be writable */
};

/* ---- ui_conn.c ---- */
void ui_conn_accept(ui_t *ui, int fd);
void ui_conn_close(ui_conn_t *c);
/* Another thread published: each stream sends what is new. */
void ui_conn_wake_streams(ui_t *ui);
enum ui_flush { UI_FLUSH_DONE, UI_FLUSH_BLOCKED, UI_FLUSH_GONE };
/* Writes what the socket takes of c->head then c->body; UI_FLUSH_GONE: c was closed. */
enum ui_flush ui_conn_flush(ui_conn_t *c);

/* A response: ui_reply_start (status line and the headers every response has), any
 * ui_reply_header lines, the body appended to c->body, then ui_reply_end (Content-Length,
 * Connection). ui_reply_error is all of it for an error: a JSON {"error": "..."}. */
void ui_reply_start(ui_conn_t *c, int status, const char *content_type);
void ui_reply_header(ui_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ui_reply_end(ui_conn_t *c);
void ui_reply_error(ui_conn_t *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with one more header line ("Allow: POST"). */
void ui_reply_error_with(ui_conn_t *c, int status, const char *header, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- ui_routes.c ---- */
/* Answers c's request (head and body read): true when a response waits in c->head and
 * c->body; false when c became an event stream (and may be closed already). */
bool ui_route(ui_conn_t *c);

/* ---- ui_stream.c ---- */
/* Turns c into an event stream: the response head, then the history note and the events
 * after Last-Event-ID (or all that are kept). true when it answered instead (a bad
 * Last-Event-ID, HEAD): the response waits in c->head and c->body; false: c streams, and
 * may be closed already. */
bool ui_stream_begin(ui_conn_t *c);
/* Writes what c may send now; false when the connection was closed. */
bool ui_stream_pump(ui_conn_t *c);
/* A stream whose next event the history dropped, or that lags more than
 * client_queue_max_bytes, is closed (counted); true when c was closed. */
bool ui_stream_check(ui_conn_t *c);
/* The heartbeat: a comment, so proxies and the browser see a live connection. */
void ui_stream_heartbeat(ui_conn_t *c);

/* ---- ui_assets.c ---- */
/* The page with its {{asset:GROUP/PATH}} markers made versioned addresses; 0 or -errno. */
int ui_page_render(buf_t *out, char *err, size_t errlen);
/* GET /assets/GROUP/PATH (path[0..len) after "/assets/"): the file, cached for a year when
 * the query's v= is its version. */
void ui_asset_reply(ui_conn_t *c, const char *path, size_t len);

#endif
