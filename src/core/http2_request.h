/* http2_request: a request's HTTP/2 header list (RFC 9113 §8.3), built once from the same
 * spec as an HTTP/1.1 request (core/http.h) and handed to nghttp2 for every stream. Pure: no
 * I/O; one allocation, at build time. */
#ifndef SURGE_HTTP2_REQUEST_H
#define SURGE_HTTP2_REQUEST_H

#include <nghttp2/nghttp2.h>
#include <stddef.h>

#include "core/http.h"

/* :method :scheme :authority :path, user-agent, content-length, and the caller's headers */
#define HTTP2_REQUEST_MAX_FIELDS (6 + 64)

typedef struct http2_request {
	nghttp2_nv fields[HTTP2_REQUEST_MAX_FIELDS];
	size_t count;
	char *storage; /* the fields' names and values (lower-case names), one block */
} http2_request_t;

/* The header list of spec: 0, or -EINVAL with why in err (a header HTTP/2 forbids, such as
 * Connection or Transfer-Encoding; what http_request_build refuses), or -ENOMEM. A Host
 * header becomes :authority; names are lower-cased; Content-Length is added for a body as
 * http_request_build adds it. The fields point into out->storage: http2_request_free. */
int http2_request_build(const http_request_spec_t *spec, http2_request_t *out, char *err,
                        size_t errlen);
void http2_request_free(http2_request_t *r);
/* Makes nghttp2 copy r's fields at each submit (they are handed over without a copy, so
 * must outlive the HEADERS frame): for a list freed while a stream's HEADERS may still wait
 * to be sent, a scenario's request, which its script may drop once its stream is let go. */
void http2_request_copied_at_submit(http2_request_t *r);
/* Whether "Name: value" may be sent over HTTP/2: 0, or -EINVAL with why (one line). */
int http2_header_check(const char *header, char *err, size_t errlen);

#endif
