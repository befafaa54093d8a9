/* http: the HTTP/1.1 codec — pure functions over caller-owned bytes; no I/O, no allocation.
 * Client side: an incremental response parser and a request serializer.
 * (The server side — request parser, response writer — lives beside them in this module.) */
#ifndef SURGE_HTTP_H
#define SURGE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/http_syntax.h"

enum http_status {
	HTTP_DONE = 0,  /* one whole message was parsed; *consumed says how many bytes it used */
	HTTP_AGAIN = 1, /* all input consumed, the message is not complete yet */
	HTTP_ERROR = -1 /* malformed or over a limit; p->error says which */
};

enum http_error {
	HTTP_ERR_NONE = 0,
	HTTP_ERR_STATUS_LINE,       /* not "HTTP/1.x NNN reason" */
	HTTP_ERR_VERSION,           /* not HTTP/1.0 or HTTP/1.1 */
	HTTP_ERR_HEADER,            /* malformed header line */
	HTTP_ERR_HEADER_TOO_LARGE,  /* header block over max_header_bytes */
	HTTP_ERR_TOO_MANY_HEADERS,  /* more than max_headers lines */
	HTTP_ERR_CONTENT_LENGTH,    /* bad, negative, overflowing or conflicting Content-Length */
	HTTP_ERR_TRANSFER_ENCODING, /* a transfer coding other than chunked, or chunked not last */
	HTTP_ERR_CHUNK,             /* malformed chunk size line, extension or terminator */
	HTTP_ERR_TRAILER,           /* malformed trailer */
	HTTP_ERR_CLOSED_EARLY, /* EOF before the message was complete (from http_response_eof) */
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

/* Optional: the value of one named response header, kept as it is parsed (surge run
 * --group-by-header). The caller sets name (lower case, at most HTTP_CAPTURE_NAME_MAX
 * characters) and name_len; the parser fills the rest for each message: the first such
 * header's value, OWS trimmed, cut at HTTP_CAPTURE_MAX bytes (truncated says so). */
#define HTTP_CAPTURE_NAME_MAX 64
#define HTTP_CAPTURE_MAX      128
typedef struct http_header_capture {
	const char *name;
	uint8_t name_len;
	bool found;
	bool truncated;
	uint8_t len;
	char value[HTTP_CAPTURE_MAX];
} http_header_capture_t;

/* A whole header field (HTTP/2's, decoded), kept as the parser keeps a line's (http_fields.c):
 * into the capture when its name is the capture's (any case) and none was found yet, the
 * value OWS-trimmed and cut at HTTP_CAPTURE_MAX; and into a store as "name\0value\0", 0 or
 * -ENOBUFS when it does not fit (nothing written). */
void http_header_capture_take(http_header_capture_t *c, const char *name, size_t name_len,
                              const char *value, size_t value_len);
/* Forgets what the capture holds (a new response, or a 1xx's fields let go). */
void http_header_capture_clear(http_header_capture_t *c);
int http_header_store_add(http_header_store_t *s, const char *name, size_t name_len,
                          const char *value, size_t value_len);

/* Incremental response parser. Feed it any split of the bytes; it keeps only a few dozen bytes
 * of state (the interesting header values), so a connection costs little while it waits. */
typedef struct http_response_parser {
	/* set by the caller (init sets defaults) */
	http_limits_t limits;
	bool head_request;    /* the request was HEAD: no body whatever the headers say */
	http_body_fn on_body; /* optional: body bytes (de-chunked) as they arrive */
	void *ctx;
	http_header_store_t *store;     /* optional */
	http_header_capture_t *capture; /* optional */

	/* results, valid once the header block is parsed (and all of them at HTTP_DONE) */
	int status;            /* 100..999 */
	uint8_t minor_version; /* HTTP/1.<minor> */
	bool keep_alive;       /* the connection may carry another request after this one */
	bool chunked;
	bool headers_done;
	int64_t content_length; /* -1 when absent */
	uint64_t body_bytes;    /* de-chunked body bytes seen */
	uint32_t header_bytes;
	uint16_t header_count;
	enum http_error error;

	/* private state */
	uint8_t state;
	uint8_t name_len;
	uint8_t value_len;
	uint8_t flags;
	uint8_t kind;       /* which interesting header the current line is */
	uint8_t capture_at; /* bytes of the current name matching capture->name; 0xff: none */
	uint64_t remaining; /* body or chunk bytes still to come */
	http_chunk_t chunk; /* the chunked framing (core/http_syntax.h) */
	char name[24];      /* the current header name, when short enough to matter */
	char value[48];     /* the current header value, when its name matters */
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
	const char *method; /* "GET", ... (token characters only) */
	const char *host;   /* for the Host header; IPv6 literals without brackets */
	uint16_t port;      /* omitted from Host when it is the scheme's default */
	bool tls;           /* scheme https: default port 443 */
	const char *target; /* origin-form: "/path?query" */
	const char *const *headers;
	size_t header_count;
	const void *body;
	size_t body_len;
	bool has_body; /* send Content-Length even when body_len is 0 */
} http_request_spec_t;

int http_request_build(const http_request_spec_t *spec, buf_t *out);
/* What http_request_build accepts as a method and as one "Name: value" header: 0, or -EINVAL
 * with the fault in err ("the name has a space (...)"; err may be NULL). */
int http_method_check(const char *method, char *err, size_t errlen);
int http_header_check(const char *header, char *err, size_t errlen);

/* ---- server side ---- */

/* A slice of the caller's buffer. */
typedef struct http_slice {
	const char *p;
	size_t len;
} http_slice_t;

#define HTTP_REQUEST_MAX_HEADERS 64

/* One parsed request head. Every slice points into the buffer given to http_request_parse,
 * which must stay unchanged while they are used. */
typedef struct http_request {
	http_slice_t method;
	http_slice_t target; /* as sent: "/path?query" */
	http_slice_t path;   /* target up to '?' */
	http_slice_t query;  /* after '?', without it; empty when absent */
	uint8_t minor_version;
	bool keep_alive;        /* HTTP/1.1 unless "Connection: close"; 1.0 only with keep-alive */
	bool chunked;           /* Transfer-Encoding: chunked (the last coding) */
	bool expect_continue;   /* Expect: 100-continue */
	int64_t content_length; /* -1 when absent */
	uint16_t header_count;
	http_slice_t header_names[HTTP_REQUEST_MAX_HEADERS];
	http_slice_t header_values[HTTP_REQUEST_MAX_HEADERS]; /* OWS trimmed */
	uint16_t error_status; /* on HTTP_ERROR: the status to answer: 400 414 417 431 501 505 */
} http_request_t;

typedef struct http_request_limits {
	uint32_t max_request_line; /* over it: 414 */
	uint32_t max_header_bytes; /* request line + headers; over it: 431 */
	uint16_t max_headers;      /* at most HTTP_REQUEST_MAX_HEADERS; over it: 431 */
} http_request_limits_t;

/* Parses the request head at the start of buf[0..len). Returns HTTP_DONE with *head_len set
 * to the bytes of the head (body, if any, follows), HTTP_AGAIN when the head is not complete
 * (call again with more bytes: it re-parses from the start, heads are small), or HTTP_ERROR
 * with r->error_status set. Never reads beyond len. */
int http_request_parse(const http_request_limits_t *limits, const char *buf, size_t len,
                       http_request_t *r, size_t *head_len);
/* The value of header `name` (case-insensitive), or an empty slice with p == NULL. */
http_slice_t http_request_header(const http_request_t *r, const char *name);
/* Whether the comma-separated list v (a header's value: "Upgrade, HTTP2-Settings") holds
 * token, case-insensitive, blanks around the items ignored. An absent header (p == NULL) holds
 * nothing. */
bool http_list_has(http_slice_t v, const char *token);

/* The reason phrase for a status code ("Not Found"); a generic one for unknown codes. */
const char *http_reason(int status);

/* Incremental de-chunking of a request body, in place: decoded bytes are moved to the front
 * of the region as they are found. A zeroed decoder is ready for a new body. */
typedef struct http_chunked_decoder {
	http_chunk_t chunk; /* the framing (core/http_syntax.h), shared with the response parser */
	uint8_t state;      /* framing, data, or where in the trailer section */
	uint32_t trailer_bytes; /* bytes of the trailer section, bounded */
} http_chunked_decoder_t;

/* Decodes buf[0..len) in place. *consumed: input bytes used; *decoded: body bytes now at
 * buf[0..*decoded). Returns HTTP_DONE after the last chunk and trailers, HTTP_AGAIN, or
 * HTTP_ERROR on malformed framing. */
int http_chunked_decode(http_chunked_decoder_t *d, char *buf, size_t len, size_t *consumed,
                        size_t *decoded);
#endif
