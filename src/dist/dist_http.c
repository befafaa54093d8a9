/* dist_http: one POST at a time to the coordinator (see dist_http.h) — poll() against one
 * deadline for connect, write and read, the answer parsed by the core HTTP/1.1 codec. Every
 * request a shard sends may be sent twice (a join is idempotent by the shard's id, a batch by
 * its sequence number), so a kept connection the server closed is simply opened again. */
#include "dist/dist_http.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/http.h"
#include "core/net.h"

typedef struct answer {
	buf_t *body;
	bool too_large;
} answer_t;

int dist_http_init(dist_http_t *h, const char *base, const char *token, char *err, size_t errlen)
{
	char why[200];

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	if (url_parse(base, &h->url, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "'%s': %s", ECHO(base), why);
		return -EINVAL;
	}
	if (h->url.tls) {
		snprintf(err, errlen, "'%s': the coordinator speaks http:// (no TLS of its own)",
		         ECHO(base));
		return -EINVAL;
	}
	if (token && *token &&
	    (size_t)snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token) >=
	        sizeof(h->auth)) {
		snprintf(err, errlen, "the token is longer than 256 characters");
		return -EINVAL;
	}
	return 0;
}

void dist_http_close(dist_http_t *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

/* Resolved again on each connection: a coordinator's address may change when it restarts. */
static int connect_to(dist_http_t *h, uint64_t deadline_ns, char *err, size_t errlen)
{
	net_addr_t addr;
	char why[200];
	int fd;

	if (net_resolve(h->url.host, h->url.port, &addr, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s", why);
		return -EHOSTUNREACH;
	}
	if ((fd = net_connect_by(&addr, deadline_ns)) < 0) {
		snprintf(err, errlen, "connect: %s",
		         fd == -ETIMEDOUT ? "timed out" : strerror(-fd));
		return fd;
	}
	h->fd = fd;
	return 0;
}

static int write_all(dist_http_t *h, const buf_t *req, uint64_t deadline_ns)
{
	size_t sent = 0;

	while (sent < req->len) {
		ssize_t n = net_write(h->fd, req->data + sent, req->len - sent);
		int rc;

		if (n > 0)
			sent += (size_t)n;
		else if (n == NET_WANT_WRITE && (rc = net_wait(h->fd, POLLOUT, deadline_ns)) < 0)
			return rc;
		else if (n != NET_WANT_WRITE)
			return (int)n;
	}
	h->bytes_out += sent;
	return 0;
}

static void on_body(void *ctx, const char *data, size_t len)
{
	answer_t *a = ctx;

	if (!a->too_large && buf_append(a->body, data, len) < 0)
		a->too_large = true;
}

/* Reads one whole answer: 0, -ECONNRESET when the connection ended before a byte of it (a
 * kept connection the server had closed), -EPROTO, -EFBIG, -ETIMEDOUT or -errno. */
static int read_answer(dist_http_t *h, http_response_parser_t *p, uint64_t deadline_ns)
{
	const answer_t *a = p->ctx;
	char chunk[16 * 1024];
	uint64_t got = 0;

	for (;;) {
		ssize_t n = net_read(h->fd, chunk, sizeof(chunk));
		size_t used;
		int rc;

		if (n == NET_WANT_READ) {
			if ((rc = net_wait(h->fd, POLLIN, deadline_ns)) < 0)
				return rc;
			continue;
		}
		if ((n == 0 || n == -ECONNRESET) && got == 0)
			return -ECONNRESET;
		if (n < 0)
			return (int)n;
		got += (uint64_t)n;
		h->bytes_in += (uint64_t)n;
		rc =
		    n == 0 ? http_response_eof(p) : http_response_parse(p, chunk, (size_t)n, &used);
		if (a->too_large)
			return -EFBIG;
		if (rc == HTTP_DONE)
			return 0;
		if (rc == HTTP_ERROR)
			return -EPROTO;
	}
}

/* One attempt on the connection there is (opened when none): 0 or a negative errno. */
static int attempt(dist_http_t *h, const buf_t *req, uint64_t deadline_ns, int *status,
                   buf_t *answer, bool *reused, char *err, size_t errlen)
{
	answer_t a = {.body = answer};
	http_response_parser_t p;
	int rc;

	*reused = h->fd >= 0;
	if (h->fd < 0 && (rc = connect_to(h, deadline_ns, err, errlen)) < 0)
		return rc;
	buf_reset(answer);
	http_response_parser_init(&p, false);
	p.on_body = on_body;
	p.ctx = &a;
	rc = write_all(h, req, deadline_ns);
	if (rc == 0)
		rc = read_answer(h, &p, deadline_ns);
	if (rc == 0) {
		*status = p.status;
		if (!p.keep_alive)
			dist_http_close(h);
		return 0;
	}
	dist_http_close(h);
	snprintf(err, errlen, "%s",
	         rc == -ETIMEDOUT ? "no answer in time"
	         : rc == -EPROTO  ? "the answer is not HTTP/1.1"
	         : rc == -EFBIG   ? "the answer is larger than this shard reads"
	                          : strerror(-rc));
	return rc;
}

int dist_http_post(dist_http_t *h, const char *path, const char *content_type, const char *body,
                   size_t len, uint64_t timeout_ns, int *status, buf_t *answer, char *err,
                   size_t errlen)
{
	char type[64];
	const char *headers[2] = {type, h->auth};
	http_request_spec_t spec = {.method = "POST",
	                            .host = h->url.host,
	                            .port = h->url.port,
	                            .target = path,
	                            .headers = headers,
	                            .header_count = h->auth[0] ? 2 : 1,
	                            .body = body,
	                            .body_len = len,
	                            .has_body = true};
	uint64_t deadline = clock_now_ns() + timeout_ns;
	bool reused;
	buf_t req;
	int rc;

	snprintf(type, sizeof(type), "Content-Type: %s", content_type);
	buf_init(&req, len + 4096);
	if ((rc = http_request_build(&spec, &req)) < 0) {
		snprintf(err, errlen, "cannot build the request: %s", strerror(-rc));
		buf_free(&req);
		return rc;
	}
	rc = attempt(h, &req, deadline, status, answer, &reused, err, errlen);
	/* a kept connection the server closed while idle: once more on a new one */
	if (rc < 0 && reused && rc != -ETIMEDOUT)
		rc = attempt(h, &req, deadline, status, answer, &reused, err, errlen);
	buf_free(&req);
	return rc;
}
