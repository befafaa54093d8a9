/* scrape_http: one GET of the target's /metrics on its own thread — a fresh connection,
 * poll() against one deadline for connect, write and read, the response parsed by the core
 * HTTP/1.1 codec (so chunked exporters work) and its body kept within the caller's bound. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http.h"
#include "scrape/scrape.h"

typedef struct fetch {
	buf_t *body;
	bool too_large;
} fetch_t;

static void on_body(void *ctx, const char *data, size_t len)
{
	fetch_t *f = ctx;

	if (!f->too_large && buf_append(f->body, data, len) < 0)
		f->too_large = true;
}

static int send_request(int fd, const url_t *url, uint64_t deadline_ns)
{
	static const char *const headers[] = {
	    "Accept: text/plain;version=0.0.4;q=1,*/*;q=0.1",
	    "Connection: close",
	};
	http_request_spec_t spec = {.method = "GET",
	                            .host = url->host,
	                            .port = url->port,
	                            .target = url->target,
	                            .headers = headers,
	                            .header_count = 2};
	buf_t req;
	size_t sent = 0;
	int rc;

	buf_init(&req, 64 * 1024);
	rc = http_request_build(&spec, &req);
	while (rc == 0 && sent < req.len) {
		ssize_t n = net_write(fd, req.data + sent, req.len - sent);

		if (n > 0)
			sent += (size_t)n;
		else if (n == NET_WANT_WRITE)
			rc = net_wait(fd, POLLOUT, deadline_ns);
		else
			rc = (int)n;
	}
	buf_free(&req);
	return rc;
}

/* Reads until one whole response is parsed: 0, -EPROTO (malformed), -EFBIG (over the body's
 * bound: no use reading the rest), -ETIMEDOUT or -errno. */
static int read_response(int fd, http_response_parser_t *p, uint64_t deadline_ns)
{
	const fetch_t *f = p->ctx;
	char chunk[64 * 1024];

	for (;;) {
		ssize_t n = net_read(fd, chunk, sizeof(chunk));
		size_t used;
		int rc;

		if (n == NET_WANT_READ) {
			if ((rc = net_wait(fd, POLLIN, deadline_ns)) < 0)
				return rc;
			continue;
		}
		if (n < 0)
			return (int)n;
		if (n == 0)
			rc = http_response_eof(p);
		else
			rc = http_response_parse(p, chunk, (size_t)n, &used);
		if (f->too_large)
			return -EFBIG;
		if (rc == HTTP_DONE)
			return 0;
		if (rc == HTTP_ERROR)
			return -EPROTO;
	}
}

int scrape_http_get(const url_t *url, const net_addr_t *addr, uint64_t timeout_ns, buf_t *body,
                    char *err, size_t errlen)
{
	uint64_t deadline = clock_now_ns() + timeout_ns;
	fetch_t f = {.body = body};
	http_response_parser_t p;
	char why[96]; /* strerror_r: this runs beside the load's threads */
	int fd, rc;

	buf_reset(body);
	fd = net_connect_by(addr, deadline);
	if (fd < 0) {
		snprintf(err, errlen, "connect: %s",
		         fd == -ETIMEDOUT ? "timed out" : strerror_r(-fd, why, sizeof(why)));
		return -1;
	}
	http_response_parser_init(&p, false);
	p.on_body = on_body;
	p.ctx = &f;
	rc = send_request(fd, url, deadline);
	if (rc == 0)
		rc = read_response(fd, &p, deadline);
	close(fd);
	if (rc == -EFBIG)
		snprintf(err, errlen, "response larger than %zu MiB", body->max >> 20);
	else if (rc == -EPROTO)
		snprintf(err, errlen, "malformed HTTP response (%s)", http_error_name(p.error));
	else if (rc < 0)
		snprintf(err, errlen, "%s",
		         rc == -ETIMEDOUT ? "no complete response in time"
		                          : strerror_r(-rc, why, sizeof(why)));
	else if (p.status != 200)
		snprintf(err, errlen, "status %d", p.status);
	else
		return 0;
	return -1;
}
