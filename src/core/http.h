/* http: the HTTP/1.1 codec — pure functions over caller-owned bytes; no I/O, no allocation.
 * Client side: an incremental response parser and a request serializer.
 * (The server side — request parser, response writer — lives beside them in this module.) */
#ifndef SURGE_HTTP_H
#define SURGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum http_status {
	HTTP_DONE = 0,  /* one whole message was parsed; *consumed says how many bytes it used */
	HTTP_AGAIN = 1, /* all input consumed, the message is not complete yet */
	HTTP_ERROR = -1 /* malformed or over a limit; p->error says which */
};

enum http_error {
	HTTP_ERR_NONE = 0,
	HTTP_ERR_STATUS_LINE,     /* not "HTTP/1.x NNN reason" */
	HTTP_ERR_VERSION,         /* not HTTP/1.0 or HTTP/1.1 */
	HTTP_ERR_HEADER,          /* malformed header line */
	HTTP_ERR_HEADER_TOO_LARGE,/* header block over max_header_bytes */
	HTTP_ERR_TOO_MANY_HEADERS,/* more than max_headers lines */
	HTTP_ERR_CONTENT_LENGTH,  /* bad, negative, overflowing or conflicting Content-Length */
	HTTP_ERR_TRANSFER_ENCODING,/* a transfer coding other than chunked, or chunked not last */
	HTTP_ERR_CHUNK,           /* malformed chunk size line, extension or terminator */
	HTTP_ERR_TRAILER,         /* malformed trailer */
	HTTP_ERR_CLOSED_EARLY,    /* EOF before the message was complete (from http_response_eof) */
	HTTP_ERR_COUNT
};

const char *http_error_name(enum http_error e);

/* Per-message limits; the defaults (http_response_parser_init) are 64 KiB and 100 headers. */
typedef struct http_limits {
	uint32_t max_header_bytes; /* status line + header lines + trailers */
	uint16_t max_headers;
} http_limits_t;

/* Optional copy of header lines for callers that want them (scripts): each header as
 * "name\0value\0", bounded by cap; overflowing it is HTTP_ERR_HEADER_TOO_LARGE. */
typedef struct http_header_store {
	char *data;
	size_t cap;
	size_t len;
} http_header_store_t;

typedef void (*http_body_fn)(void *ctx, const char *data, size_t len);

/* Incremental response parser. Feed it any split of the bytes; it keeps only a few dozen bytes
 * of state (the interesting header values), so a connection costs little while it waits. */
typedef struct http_response_parser {
	/* set by the caller (init sets defaults) */
	http_limits_t limits;
	bool head_request;          /* the request was HEAD: no body whatever the headers say */
	http_body_fn on_body;       /* optional: body bytes (de-chunked) as they arrive */
	void *ctx;
	http_header_store_t *store; /* optional */

	/* results, valid once the header block is parsed (and all of them at HTTP_DONE) */
	int status;                 /* 100..999 */
	uint8_t minor_version;      /* HTTP/1.<minor> */
	bool keep_alive;            /* the connection may carry another request after this one */
	bool chunked;
	bool headers_done;
	int64_t content_length;     /* -1 when absent */
	uint64_t body_bytes;        /* de-chunked body bytes seen */
	uint32_t header_bytes;
	uint16_t header_count;
	enum http_error error;

	/* private state */
	uint8_t state;
	uint8_t name_len;
	uint8_t value_len;
	uint8_t flags;
	uint8_t kind;               /* which interesting header the current line is */
	uint16_t line_len;          /* bytes of the current chunk-size line, to bound extensions */
	uint64_t remaining;         /* body or chunk bytes still to come */
	char name[24];              /* the current header name, when short enough to matter */
	char value[48];             /* the current header value, when its name matters */
} http_response_parser_t;

void http_response_parser_init(http_response_parser_t *p, bool head_request);
/* Resets the per-message state, keeping limits, head_request, callbacks and store. */
void http_response_parser_reset(http_response_parser_t *p);
/* Parses data[0..len). Interim 1xx responses (except 101) are skipped transparently.
 * On HTTP_DONE, *consumed < len means the rest belongs to the next response. */
int http_response_parse(http_response_parser_t *p, const char *data, size_t len, size_t *consumed);
/* The peer closed the connection: HTTP_DONE if the message was delimited by close,
 * else HTTP_ERROR with HTTP_ERR_CLOSED_EARLY. */
int http_response_eof(http_response_parser_t *p);

/* Request serialization: writes one complete request into out (which is reset first).
 * Adds Host (from host/port unless given), User-Agent (unless given) and Content-Length
 * (when a body is given or the method expects one). Header lines are "Name: value" strings;
 * CR or LF in any field, an empty name or a name with separators is rejected with -EINVAL. */
typedef struct http_request_spec {
	const char *method;       /* "GET", ... (token characters only) */
	const char *host;         /* for the Host header; IPv6 literals without brackets */
	uint16_t port;            /* omitted from Host when it is the scheme's default */
	bool tls;                 /* scheme https: default port 443 */
	const char *target;       /* origin-form: "/path?query" */
	const char *const *headers;
	size_t header_count;
	const void *body;
	size_t body_len;
	bool has_body;            /* send Content-Length even when body_len is 0 */
} http_request_spec_t;

int http_request_build(const http_request_spec_t *spec, buf_t *out);

#endif
