/* http_client: a small asynchronous HTTP/1.1 client (http:// only) for one event loop —
 * non-blocking connects, a bounded pool of idle keep-alive connections, per-request timeouts.
 *
 * One client per loop thread; every call and every callback happens on that thread.
 * A request is one-shot (libuv's idea): http_client_request() returns 0 and its done
 * callback then runs exactly once, later, never from inside http_client_request(); or it
 * returns -errno and done never runs. The result (and the body it points to) lives only
 * until done returns: copy what you keep. */
#ifndef SURGE_HTTP_CLIENT_H
#define SURGE_HTTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "core/url.h"

#define HTTP_CLIENT_BODY_MAX      (64 * 1024) /* bytes of a response body kept for the caller */
#define HTTP_CLIENT_MAX_IN_FLIGHT 16384       /* per client; beyond it requests fail with -EAGAIN */
#define HTTP_CLIENT_MAX_PEERS     16          /* distinct host:port resolutions cached per client */

typedef struct http_client http_client_t;

enum http_client_error {
	HTTP_CLIENT_OK = 0,          /* a response came back, whatever its status */
	HTTP_CLIENT_CONNECT_REFUSED, /* nothing listens there */
	HTTP_CLIENT_CONNECT_TIMEOUT, /* the timeout expired before the connection was up */
	HTTP_CLIENT_CONNECT_FAILED,  /* resolution or another connect error */
	HTTP_CLIENT_TIMEOUT,         /* connected, but no complete response within the timeout */
	HTTP_CLIENT_RESET,           /* read or write error (RST, EPIPE, ...) */
	HTTP_CLIENT_CLOSED_EARLY,    /* the peer closed before the response was complete */
	HTTP_CLIENT_PROTOCOL,        /* the response was malformed or over a parser limit */
	HTTP_CLIENT_CANCELLED,       /* the client was freed while the request was out */
	HTTP_CLIENT_ERROR_COUNT
};

/* "connect_refused", "timeout", ...: short, stable, fit for metric labels. */
const char *http_client_error_name(enum http_client_error e);

typedef struct http_client_result {
	int status; /* the response status; 0 when error != HTTP_CLIENT_OK */
	enum http_client_error error;
	int sys_errno;        /* the errno behind a connect or I/O error, else 0 */
	uint64_t duration_ns; /* from the call to the end (response or failure) */
	const char *peer;     /* "host:port" as given in the base URL */
	const char *body;     /* the first HTTP_CLIENT_BODY_MAX bytes (de-chunked) */
	size_t body_len;
	uint64_t body_bytes; /* the whole body's size; > body_len when it was cut */
	bool reused;         /* it went out on a kept-alive connection */
} http_client_result_t;

typedef void (*http_client_done_fn)(void *ctx, const http_client_result_t *res);

/* At most max_idle keep-alive connections are kept per client; more are closed. */
http_client_t *http_client_new(loop_t *loop, size_t max_idle);
/* Fails every request still out (done runs with HTTP_CLIENT_CANCELLED; a done that calls
 * http_client_request then gets -ESHUTDOWN) and closes every connection. Call it on the
 * loop's thread, or after the loop stopped, before loop_free(). */
void http_client_free(http_client_t *c);

/* Sends method target to base: target ("/path?query") is appended to base's path (without
 * its trailing slash), so base http://h:1/downstream and "/slow" ask for /downstream/slow.
 * headers are "Name: value" lines copied before the call returns; timeout_ns 0 = none.
 * base is resolved on first use (blocking getaddrinfo, once per host:port per client).
 * -EPROTONOSUPPORT for https, -EINVAL for a bad header or target, -EAGAIN at
 * HTTP_CLIENT_MAX_IN_FLIGHT, -ENOMEM, -ESHUTDOWN while the client is being freed. */
int http_client_request(http_client_t *c, const url_t *base, const char *method, const char *target,
                        const char *const *headers, size_t header_count, uint64_t timeout_ns,
                        http_client_done_fn done, void *ctx);

/* Requests out now and idle connections pooled now (for gauges and tests). */
size_t http_client_in_flight(const http_client_t *c);
size_t http_client_idle(const http_client_t *c);

#endif
