/* ui: the live UI's HTTP/1.1 server — one thread with its own loop that serves the page and its
 * assets, a Server-Sent Events stream, control requests, downloads and /metrics to browsers and
 * scripts. It knows nothing of the engine: every figure it serves comes from the caller, as
 * events (ui_publish, from any thread) and callbacks (run on the UI thread). docs/ui.md has the
 * security model; docs/architecture.md the layer and its bounds. */
#ifndef SURGE_UI_H
#define SURGE_UI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "ui/ui_history.h" /* UI_EVENT_KEPT, UI_EVENT_LATEST */

typedef struct ui ui_t;

#define UI_DEFAULT_HOST "127.0.0.1"
#define UI_DEFAULT_PORT 8089
/* A generated token: 128 bits from getrandom as 32 hex digits, and its NUL. */
#define UI_TOKEN_SIZE 33
/* A configured token: this many characters at least, at most UI_TOKEN_MAX, from
 * [A-Za-z0-9._~-] (URL-unreserved: the same bytes in a header, a cookie and a query). */
#define UI_TOKEN_MIN 16
#define UI_TOKEN_MAX 256
/* A request body larger than this is read only once the request passed the access check (a
 * coordinator's bound for its shards' batches is megabytes). */
#define UI_BODY_UNCHECKED_MAX (64u << 10)
/* The longest control name, NAME of POST /api/control/NAME ([a-z0-9_-]). */
#define UI_CONTROL_NAME_MAX 32

enum ui_mode {
	UI_MODE_FULL = 0,         /* the page, assets, events, control, downloads and /metrics */
	UI_MODE_METRICS_ONLY = 1, /* only /metrics (surge run --metrics ADDR, headless) */
};

/* POST /api/control/NAME: args is the JSON object of the body ({} for an empty body). Runs on
 * the UI thread, so it must be safe towards the caller's other threads, and quick: events
 * and other clients wait meanwhile. Returns 0 when done (reply may receive a JSON object, the
 * answer's body; empty: {"ok":true}); or, having changed nothing, an HTTP status 400..499
 * (404 for an unknown name, 409 for a control the current state cannot take, 400 for bad
 * arguments) with one line in err naming what was wrong; any other value answers 500. */
typedef int (*ui_control_fn)(void *ctx, const char *name, const json_t *args, buf_t *reply,
                             char *err, size_t errlen);
/* POST /api/control/NAME with Content-Type: application/octet-stream: the body's bytes as
 * they came (a coordinator's batches of seconds, binary: dist/dist_batch.c), answered as
 * ui_control_fn's are. The bytes live until the call returns. */
typedef int (*ui_control_bytes_fn)(void *ctx, const char *name, const uint8_t *body, size_t len,
                                   buf_t *reply, char *err, size_t errlen);
/* GET /metrics: Prometheus text (core/prom_write.h) appended to out. 0, or a negative errno
 * (answered 503). */
typedef int (*ui_metrics_fn)(void *ctx, buf_t *out);
/* GET /api/NAME of a download: its bytes appended to out. 0, or an HTTP status 400..599 with
 * one line in err (409 "no result yet", 503 out of memory). */
typedef int (*ui_download_fn)(void *ctx, const char *name, buf_t *out, char *err, size_t errlen);

/* A document the UI serves from ui_download_fn: a file to download (filename set), or a
 * JSON read by the page (/api/snapshot, /api/state: filename NULL). */
typedef struct ui_download {
	const char *name;         /* served at /api/NAME: "result.json" ([A-Za-z0-9._-]) */
	const char *content_type; /* "application/json" */
	const char *filename;     /* Content-Disposition: attachment's "surge-result.json"
	                             ([A-Za-z0-9._-]); NULL: shown inline */
} ui_download_t;

/* ui_config_defaults fills every field; a zero bound is refused by ui_server_start. */
typedef struct ui_config {
	const char *host;  /* numeric or a name; UI_DEFAULT_HOST */
	uint16_t port;     /* UI_DEFAULT_PORT; 0: any free port (ui_port says which) */
	const char *token; /* NULL or "": none. Required by UI_MODE_FULL on a non-loopback host */
	enum ui_mode mode;

	/* bounds: each hit is counted (ui_stats_t) and answered, never a crash or a hang */
	uint32_t max_connections;      /* 64: one more is answered 503 and closed */
	uint32_t max_header_bytes;     /* 16 KiB: request line and headers; over it 431 */
	uint32_t max_body_bytes;       /* 64 KiB: a control request's JSON; over it 413 */
	size_t max_response_bytes;     /* 256 MiB: a download or /metrics; over it 503 */
	uint32_t max_downloads;        /* 4 rendered at once (each up to max_response_bytes) */
	size_t history_max_bytes;      /* 64 MiB of events kept for replay; the oldest go first */
	size_t client_queue_max_bytes; /* 8 MiB of live events behind a stream's next */
	uint64_t header_timeout_ns;    /* 10 s from a request's first byte to its whole body */
	uint64_t idle_timeout_ns;      /* 60 s: an idle keep-alive connection, a stalled write */
	uint64_t heartbeat_ns;         /* 15 s: a comment on a quiet event stream */

	ui_control_fn control; /* NULL: every control request is 404 */
	/* NULL: a control body of application/octet-stream is refused (415) */
	ui_control_bytes_fn control_bytes;
	ui_metrics_fn metrics; /* NULL: /metrics is 404 */
	ui_download_fn download;
	const ui_download_t *downloads; /* the files download() answers; copied at start */
	size_t download_count;
	void *ctx; /* passed to every callback */
} ui_config_t;

/* What the server counted; read at any time from any thread. */
typedef struct ui_stats {
	uint64_t connections_accepted;
	uint64_t connections_refused; /* over max_connections: 503 */
	uint64_t connections_open;
	uint64_t requests;
	uint64_t bad_requests;        /* malformed or over a bound: 400 408 413 414 431 501 505 */
	uint64_t header_too_large;    /* of which over max_header_bytes (431) */
	uint64_t body_too_large;      /* of which over max_body_bytes (413) */
	uint64_t timeouts;            /* a head or body not in time (408), a stalled write */
	uint64_t refused_auth;        /* 401 and 403: token, Host, Origin */
	uint64_t downloads_busy;      /* over max_downloads: 503 */
	uint64_t responses_too_large; /* a download or /metrics over max_response_bytes */
	uint64_t stream_clients;      /* event streams open now */
	uint64_t stream_slow;         /* streams closed for lagging over client_queue_max_bytes */
	uint64_t stream_behind;       /* streams closed because history dropped their next event */
	/* the history (ui_events.c) */
	uint64_t events_published;
	uint64_t events_refused;   /* larger than history_max_bytes, or no memory */
	uint64_t events_dropped;   /* the oldest, dropped to stay within history_max_bytes */
	uint64_t history_first_id; /* the oldest event kept (last_id + 1 when none is) */
	uint64_t history_last_id;  /* the newest event (0: none yet) */
	uint64_t history_bytes;    /* what the kept events cost, as counted against the bound */
} ui_stats_t;

void ui_config_defaults(ui_config_t *cfg);

/* A fresh token: 128 bits from getrandom(2) as 32 lower-case hex digits into out
 * (UI_TOKEN_SIZE bytes). 0, or a negative errno. */
int ui_token_generate(char out[UI_TOKEN_SIZE]);

/* Whether host (numeric or a name, resolved as ui_server_start will) is a loopback address,
 * where the UI needs no token: so the caller knows before starting whether to make one.
 * 0, or -EINVAL with one line in err when it does not resolve. */
int ui_host_is_loopback(const char *host, bool *loopback, char *err, size_t errlen);

/* Listens (cfg->host:cfg->port) and starts the UI thread. Refuses, with one line in err and
 * nothing started: a bound of 0, a malformed token or download, a host that does not
 * resolve, an address in use, and UI_MODE_FULL on a non-loopback address without a token.
 * cfg's strings are copied. 0 or a negative errno. */
int ui_server_start(const ui_config_t *cfg, ui_t **out, char *err, size_t errlen);
/* Stops the thread, closes every connection and frees everything. ui_publish must not be
 * called during or after it. */
void ui_server_stop(ui_t *ui);

/* The port bound (the one chosen when cfg->port was 0). */
uint16_t ui_port(const ui_t *ui);
/* The address to print: "http://127.0.0.1:8089/" — the host name for a wildcard address, and
 * "?token=..." when there is a token (the page trades it for a cookie and drops it from the
 * address bar). */
void ui_url(const ui_t *ui, char *out, size_t len);
/* The same without the path and the token, "http://127.0.0.1:8089": what another process
 * is told to connect to (a coordinator's shards). */
void ui_origin(const ui_t *ui, char *out, size_t len);

/* Adds one event to the stream: json[0..len) (one JSON text; line breaks are allowed and sent
 * as several data lines) becomes the event with the next id, kept in the history (how:
 * UI_EVENT_KEPT, or UI_EVENT_LATEST until the next such one, ui_history.h) and sent to every
 * stream client. Any thread. Returns the event's id (1, 2, ...), or -E2BIG for an event
 * larger than the history's bound, -EINVAL for an empty one, -ENOMEM. */
int64_t ui_publish(ui_t *ui, const char *json, size_t len, int how);

void ui_stats(const ui_t *ui, ui_stats_t *out);

#endif
