/* http_client: asynchronous HTTP/1.1 requests on one loop — connect (or reuse an idle
 * keep-alive connection), write the prebuilt request, parse the response, call done once. */
#include "core/http_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/http.h"
#include "core/net.h"

#define READ_BUFFER     16384
#define READS_PER_EVENT 8 /* one busy response cannot hold the loop for long */
#define REQUEST_MAX     (64 * 1024)

typedef struct hc_peer {
	char host[URL_HOST_MAX];
	uint16_t port;
	char name[URL_HOST_MAX + 8]; /* "host:port" */
	net_addr_t addr;
} hc_peer_t;

typedef struct hc_request hc_request_t;

typedef struct hc_conn {
	http_client_t *client;
	hc_peer_t *peer;
	int fd;
	loop_io_t io;
	hc_request_t *req;           /* the request on it; NULL while pooled */
	struct hc_conn *next, *prev; /* the idle pool */
} hc_conn_t;

enum req_state { REQ_CONNECTING, REQ_WRITING, REQ_READING, REQ_FINISHED };

struct hc_request {
	http_client_t *client;
	hc_conn_t *conn;
	hc_peer_t *peer;
	loop_timer_t timer; /* the timeout, or (REQ_FINISHED) the deferred delivery */
	enum req_state state;
	uint64_t start_ns;
	buf_t out; /* the serialized request; lives until the request ends */
	size_t written;
	buf_t body; /* the first HTTP_CLIENT_BODY_MAX bytes of the response body */
	uint64_t body_bytes;
	http_response_parser_t parser;
	bool reused, retried, got_bytes, poolable;
	enum http_client_error error;
	int sys_errno;
	http_client_done_fn done;
	void *ctx;
	hc_request_t *next, *prev; /* the client's in-flight list */
};

struct http_client {
	loop_t *loop;
	size_t max_idle;
	hc_peer_t peers[HTTP_CLIENT_MAX_PEERS];
	size_t peer_count;
	hc_conn_t *idle;
	size_t idle_count;
	hc_request_t *requests;
	size_t in_flight;
	bool closing;
	char read_buf[READ_BUFFER];
};

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events);
static void req_on_timer(loop_t *loop, loop_timer_t *t);
static void req_connect(hc_request_t *q);

const char *http_client_error_name(enum http_client_error e)
{
	static const char *const names[HTTP_CLIENT_ERROR_COUNT] = {
	    "ok",    "connect_refused", "connect_timeout", "connect_failed", "timeout",
	    "reset", "closed_early",    "protocol",        "cancelled",
	};

	return e < HTTP_CLIENT_ERROR_COUNT ? names[e] : "unknown";
}

http_client_t *http_client_new(loop_t *loop, size_t max_idle)
{
	http_client_t *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->loop = loop;
	c->max_idle = max_idle;
	return c;
}

size_t http_client_in_flight(const http_client_t *c)
{
	return c->in_flight;
}

size_t http_client_idle(const http_client_t *c)
{
	return c->idle_count;
}

/* ---- connections ---- */

static void conn_close(hc_conn_t *k)
{
	loop_io_stop(k->client->loop, &k->io);
	close(k->fd);
	free(k);
}

static void idle_unlink(hc_conn_t *k)
{
	http_client_t *c = k->client;

	if (k->prev)
		k->prev->next = k->next;
	else
		c->idle = k->next;
	if (k->next)
		k->next->prev = k->prev;
	k->next = k->prev = NULL;
	c->idle_count--;
}

/* Keeps a connection whose last response left it reusable, unless the pool is full. */
static void conn_pool(hc_conn_t *k)
{
	http_client_t *c = k->client;

	if (c->closing || c->idle_count >= c->max_idle ||
	    loop_io_update(c->loop, &k->io, LOOP_READ) < 0) {
		conn_close(k);
		return;
	}
	k->req = NULL;
	k->prev = NULL;
	k->next = c->idle;
	if (c->idle)
		c->idle->prev = k;
	c->idle = k;
	c->idle_count++;
}

/* The most recently pooled connection to peer, taken out of the pool; NULL when none. */
static hc_conn_t *conn_take(http_client_t *c, hc_peer_t *peer)
{
	for (hc_conn_t *k = c->idle; k; k = k->next) {
		if (k->peer != peer)
			continue;
		idle_unlink(k);
		return k;
	}
	return NULL;
}

/* ---- finishing: done runs exactly once, after every piece of state is settled ---- */

static void req_deliver(hc_request_t *q)
{
	http_client_t *c = q->client;
	http_client_result_t res = {
	    .status = q->error == HTTP_CLIENT_OK ? q->parser.status : 0,
	    .error = q->error,
	    .sys_errno = q->sys_errno,
	    .duration_ns = clock_now_ns() - q->start_ns,
	    .peer = q->peer ? q->peer->name : "",
	    .body = q->body.data ? q->body.data : "",
	    .body_len = q->body.len,
	    .body_bytes = q->body_bytes,
	    .reused = q->reused,
	};

	loop_timer_stop(c->loop, &q->timer);
	if (q->prev)
		q->prev->next = q->next;
	else
		c->requests = q->next;
	if (q->next)
		q->next->prev = q->prev;
	c->in_flight--;
	q->done(q->ctx, &res);
	buf_free(&q->out);
	buf_free(&q->body);
	free(q);
}

/* Releases the connection (pooled when reusable) and delivers the result now. */
static void req_finish(hc_request_t *q, enum http_client_error error, int sys_errno)
{
	hc_conn_t *k = q->conn;

	q->error = error;
	q->sys_errno = sys_errno;
	q->conn = NULL;
	if (k) {
		if (error == HTTP_CLIENT_OK && q->poolable && q->parser.keep_alive)
			conn_pool(k);
		else
			conn_close(k);
	}
	q->state = REQ_FINISHED;
	req_deliver(q);
}

/* A failure found inside http_client_request(): delivered from the loop, never inline. */
static void req_fail_later(hc_request_t *q, enum http_client_error error, int sys_errno)
{
	if (q->conn) {
		conn_close(q->conn);
		q->conn = NULL;
	}
	q->error = error;
	q->sys_errno = sys_errno;
	q->state = REQ_FINISHED;
	loop_timer_start(q->client->loop, &q->timer, loop_now(q->client->loop));
}

/* A kept-alive connection the server had already closed fails before any response byte:
 * the request never reached the application, so it goes again once on a new connection. */
static bool req_retry(hc_request_t *q)
{
	if (!q->reused || q->retried || q->got_bytes)
		return false;
	conn_close(q->conn);
	q->conn = NULL;
	q->retried = true;
	q->reused = false;
	q->written = 0;
	http_response_parser_reset(&q->parser);
	req_connect(q);
	return true;
}

static void req_io_error(hc_request_t *q, ssize_t rc)
{
	if ((rc == -ECONNRESET || rc == -EPIPE) && req_retry(q))
		return;
	req_finish(q, rc == -ETIMEDOUT ? HTTP_CLIENT_TIMEOUT : HTTP_CLIENT_RESET, (int)-rc);
}

/* ---- the request on its connection ---- */

static void req_on_body(void *ctx, const char *data, size_t len)
{
	hc_request_t *q = ctx;
	size_t room = HTTP_CLIENT_BODY_MAX - q->body.len;

	q->body_bytes += len;
	if (room)
		buf_append(&q->body, data, len < room ? len : room);
}

/* Writes what the socket takes; true when the whole request is out and q still lives. */
static bool req_write(hc_request_t *q)
{
	hc_conn_t *k = q->conn;

	while (q->written < q->out.len) {
		ssize_t n = net_write(k->fd, q->out.data + q->written, q->out.len - q->written);

		if (n == NET_WANT_WRITE)
			return false;
		if (n < 0) {
			req_io_error(q, n); /* q is gone, or retrying on a new connection */
			return false;
		}
		q->written += (size_t)n;
	}
	q->state = REQ_READING;
	if (loop_io_update(q->client->loop, &k->io, LOOP_READ) < 0) {
		req_finish(q, HTTP_CLIENT_RESET, EIO);
		return false;
	}
	return true;
}

/* The peer closed: a response delimited by close is complete, anything else is cut. */
static void req_eof(hc_request_t *q)
{
	if (req_retry(q))
		return;
	q->poolable = false;
	if (http_response_eof(&q->parser) == HTTP_DONE)
		req_finish(q, HTTP_CLIENT_OK, 0);
	else
		req_finish(q, HTTP_CLIENT_CLOSED_EARLY, 0);
}

/* Feeds n bytes; false when the request ended (the connection is no longer ours). */
static bool req_feed(hc_request_t *q, const char *data, size_t n)
{
	size_t used = 0;
	int rc;

	q->got_bytes = true;
	rc = http_response_parse(&q->parser, data, n, &used);
	if (rc == HTTP_AGAIN)
		return true;
	if (rc == HTTP_ERROR) {
		req_finish(q, HTTP_CLIENT_PROTOCOL, 0);
		return false;
	}
	/* bytes beyond the response: the connection's framing can no longer be trusted */
	q->poolable = used == n;
	req_finish(q, HTTP_CLIENT_OK, 0);
	return false;
}

static void req_read(hc_request_t *q)
{
	http_client_t *c = q->client;

	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = net_read(q->conn->fd, c->read_buf, sizeof(c->read_buf));

		if (n == NET_WANT_READ)
			return;
		if (n == 0) {
			req_eof(q);
			return;
		}
		if (n < 0) {
			req_io_error(q, n);
			return;
		}
		if (!req_feed(q, c->read_buf, (size_t)n) || (size_t)n < sizeof(c->read_buf))
			return;
	}
}

static void req_connected(hc_request_t *q)
{
	int rc = net_connect_result(q->conn->fd);

	if (rc == -ECONNREFUSED)
		req_finish(q, HTTP_CLIENT_CONNECT_REFUSED, -rc);
	else if (rc == -ETIMEDOUT)
		req_finish(q, HTTP_CLIENT_CONNECT_TIMEOUT, -rc);
	else if (rc < 0)
		req_finish(q, HTTP_CLIENT_CONNECT_FAILED, -rc);
	else {
		q->state = REQ_WRITING;
		req_write(q);
	}
}

static void conn_on_io(loop_t *loop, loop_io_t *io, uint32_t events)
{
	hc_conn_t *k = io->ctx;
	hc_request_t *q = k->req;

	if (!q) {
		/* a pooled connection is readable: the server closed it (or sent what nobody
		 * asked for): either way it cannot carry another request */
		idle_unlink(k);
		conn_close(k);
		return;
	}
	switch (q->state) {
	case REQ_CONNECTING: req_connected(q); break;
	case REQ_WRITING:
		if (req_write(q) && (events & (LOOP_READ | LOOP_HUP)))
			req_read(q);
		break;
	case REQ_READING: req_read(q); break;
	case REQ_FINISHED: break;
	}
}

/* Starts the request on a new connection. */
static void req_connect(hc_request_t *q)
{
	http_client_t *c = q->client;
	hc_conn_t *k;
	int fd = net_connect(&q->peer->addr);

	if (fd < 0) {
		req_fail_later(q,
		               fd == -ECONNREFUSED ? HTTP_CLIENT_CONNECT_REFUSED
		                                   : HTTP_CLIENT_CONNECT_FAILED,
		               -fd);
		return;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		req_fail_later(q, HTTP_CLIENT_CONNECT_FAILED, ENOMEM);
		return;
	}
	k->client = c;
	k->peer = q->peer;
	k->fd = fd;
	k->req = q;
	q->conn = k;
	q->state = REQ_CONNECTING;
	if (loop_io_start(c->loop, &k->io, fd, LOOP_WRITE, conn_on_io, k) < 0)
		req_fail_later(q, HTTP_CLIENT_CONNECT_FAILED, EIO);
}

/* Starts the request on a pooled connection, or a new one; the first write waits for the
 * loop (writable at once), so done never runs inside http_client_request(). */
static void req_start(hc_request_t *q)
{
	hc_conn_t *k = conn_take(q->client, q->peer);

	if (!k) {
		req_connect(q);
		return;
	}
	k->req = q;
	q->conn = k;
	q->reused = true;
	q->state = REQ_WRITING;
	if (loop_io_update(q->client->loop, &k->io, LOOP_READ | LOOP_WRITE) < 0)
		req_fail_later(q, HTTP_CLIENT_RESET, EIO);
}

static void req_on_timer(loop_t *loop, loop_timer_t *t)
{
	hc_request_t *q = t->ctx;

	if (q->state == REQ_FINISHED) {
		req_deliver(q); /* a failure found while the request was being made */
		return;
	}
	req_finish(q,
	           q->state == REQ_CONNECTING ? HTTP_CLIENT_CONNECT_TIMEOUT : HTTP_CLIENT_TIMEOUT,
	           ETIMEDOUT);
}

/* ---- making a request ---- */

/* The cached resolution of base's host:port; NULL with *rc set when it cannot be had. */
static hc_peer_t *peer_find(http_client_t *c, const url_t *base, int *rc)
{
	hc_peer_t *p;
	char err[256];
	bool v6 = strchr(base->host, ':') != NULL;

	for (size_t i = 0; i < c->peer_count; i++)
		if (c->peers[i].port == base->port && strcmp(c->peers[i].host, base->host) == 0)
			return &c->peers[i];
	if (c->peer_count == HTTP_CLIENT_MAX_PEERS) {
		*rc = -ENOBUFS;
		return NULL;
	}
	p = &c->peers[c->peer_count];
	if (net_resolve(base->host, base->port, &p->addr, err, sizeof(err)) < 0) {
		*rc = -EHOSTUNREACH;
		return NULL;
	}
	snprintf(p->host, sizeof(p->host), "%s", base->host);
	p->port = base->port;
	snprintf(p->name, sizeof(p->name), v6 ? "[%s]:%u" : "%s:%u", base->host, base->port);
	c->peer_count++;
	return p;
}

/* base's path (without a trailing slash) followed by target, into req->out. */
static int req_build(hc_request_t *q, const url_t *base, const char *method, const char *target,
                     const char *const *headers, size_t header_count)
{
	char full[URL_TARGET_MAX];
	size_t plen = strlen(base->target);
	const char *q_mark = strchr(base->target, '?');

	if (q_mark)
		plen = (size_t)(q_mark - base->target); /* a query on the base is not a path */
	while (plen && base->target[plen - 1] == '/')
		plen--;
	if (target[0] != '/' || (size_t)snprintf(full, sizeof(full), "%.*s%s", (int)plen,
	                                         base->target, target) >= sizeof(full))
		return -EINVAL;
	http_request_spec_t spec = {
	    .method = method,
	    .host = base->host,
	    .port = base->port,
	    .target = full,
	    .headers = headers,
	    .header_count = header_count,
	};
	return http_request_build(&spec, &q->out);
}

static hc_request_t *req_new(http_client_t *c, const char *method, http_client_done_fn done,
                             void *ctx)
{
	hc_request_t *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->client = c;
	q->start_ns = clock_now_ns();
	q->done = done;
	q->ctx = ctx;
	q->poolable = true;
	buf_init(&q->out, REQUEST_MAX);
	buf_init(&q->body, HTTP_CLIENT_BODY_MAX + 1);
	loop_timer_init(&q->timer, req_on_timer, q);
	http_response_parser_init(&q->parser, strcmp(method, "HEAD") == 0);
	q->parser.on_body = req_on_body;
	q->parser.ctx = q;
	return q;
}

int http_client_request(http_client_t *c, const url_t *base, const char *method, const char *target,
                        const char *const *headers, size_t header_count, uint64_t timeout_ns,
                        http_client_done_fn done, void *ctx)
{
	hc_request_t *q;
	int rc = 0;

	if (c->closing)
		return -ESHUTDOWN;
	if (base->tls)
		return -EPROTONOSUPPORT;
	if (c->in_flight >= HTTP_CLIENT_MAX_IN_FLIGHT)
		return -EAGAIN;
	q = req_new(c, method, done, ctx);
	if (!q)
		return -ENOMEM;
	rc = req_build(q, base, method, target, headers, header_count);
	if (rc < 0)
		goto fail;
	q->peer = peer_find(c, base, &rc);
	q->next = c->requests;
	if (c->requests)
		c->requests->prev = q;
	c->requests = q;
	c->in_flight++;
	if (!q->peer) {
		req_fail_later(q, HTTP_CLIENT_CONNECT_FAILED, -rc);
		return 0;
	}
	if (timeout_ns)
		loop_timer_start(c->loop, &q->timer, clock_now_ns() + timeout_ns);
	req_start(q);
	return 0;
fail:
	buf_free(&q->out);
	buf_free(&q->body);
	free(q);
	return rc;
}

void http_client_free(http_client_t *c)
{
	if (!c)
		return;
	c->closing = true;
	while (c->requests) {
		hc_request_t *q = c->requests;

		if (q->state == REQ_FINISHED)
			req_deliver(q); /* its failure stands */
		else
			req_finish(q, HTTP_CLIENT_CANCELLED, 0);
	}
	while (c->idle) {
		hc_conn_t *k = c->idle;

		idle_unlink(k);
		conn_close(k);
	}
	free(c);
}
