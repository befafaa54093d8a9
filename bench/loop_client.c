/* loop_client: the measurement behind the event-loop choice in docs/architecture.md — surge's own
 * epoll loop (core/loop.h) or libuv. One closed-model HTTP/1.1 client built twice (-DUSE_LIBUV
 * selects libuv) that does the same work per request on either loop: one write of a prebuilt GET,
 * one read into one shared 64 KiB buffer, the project's incremental parser, and the next request
 * at once on the same keep-alive connection. One thread; prints requests per CPU-second.
 * Usage: loop_client PORT [CONNECTIONS=50] [SECONDS=5]   (run by bench/loop-vs-libuv.sh) */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/http.h"
#include "core/net.h"

#ifdef USE_LIBUV
#include <uv.h>
#define LOOP_NAME "libuv"
#else
#include "core/clock.h"
#include "core/loop.h"
#define LOOP_NAME "own"
#endif

#define READ_BUFFER     (64 * 1024)
#define MAX_CONNECTIONS 10000
#define MAX_SECONDS     3600

typedef struct conn {
#ifdef USE_LIBUV
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write; /* used only when uv_try_write could not send everything */
#else
	loop_io_t io;
	bool connecting;
	size_t written;
#endif
	http_response_parser_t parser;
} conn_t;

static buf_t request; /* built once; every request sends these bytes */
/* One read buffer for all connections, as in gen: each read is parsed before the next one. */
static char read_buffer[READ_BUFFER];
static uint64_t requests;
static uint64_t errors;

/* Feeds bytes to the parser: 1 when a 200 keep-alive response is complete (the connection may
 * carry the next request), 0 when more bytes are needed, -1 on anything else. */
static int conn_feed(conn_t *c, const char *data, size_t len)
{
	size_t used = 0;
	int rc = http_response_parse(&c->parser, data, len, &used);

	if (rc == HTTP_AGAIN)
		return 0;
	if (rc != HTTP_DONE || used != len || !c->parser.keep_alive || c->parser.status != 200)
		return -1;
	requests++;
	http_response_parser_reset(&c->parser);
	return 1;
}

#ifndef USE_LIBUV

static loop_t *loop;

static void conn_fail(conn_t *c)
{
	errors++;
	loop_io_stop(loop, &c->io);
	close(c->io.fd);
}

/* Writes the rest of the request; asks for LOOP_WRITE only when the socket buffer is full. */
static void conn_write(conn_t *c)
{
	while (c->written < request.len) {
		ssize_t n =
		    net_write(c->io.fd, request.data + c->written, request.len - c->written);

		if (n == NET_WANT_WRITE) {
			loop_io_update(loop, &c->io, LOOP_READ | LOOP_WRITE);
			return;
		}
		if (n < 0) {
			conn_fail(c);
			return;
		}
		c->written += (size_t)n;
	}
	loop_io_update(loop, &c->io, LOOP_READ); /* no system call unless LOOP_WRITE was on */
}

static void conn_send(conn_t *c)
{
	c->written = 0;
	conn_write(c);
}

/* Reads while the buffer comes back full, like libuv's uv__read (at most 32 times). */
static void conn_read(conn_t *c)
{
	for (int i = 0; i < 32; i++) {
		ssize_t n = net_read(c->io.fd, read_buffer, sizeof(read_buffer));
		int rc;

		if (n == NET_WANT_READ)
			return;
		if (n <= 0) {
			conn_fail(c);
			return;
		}
		rc = conn_feed(c, read_buffer, (size_t)n);
		if (rc < 0)
			conn_fail(c);
		else if (rc > 0)
			conn_send(c);
		if (rc != 0 || (size_t)n < sizeof(read_buffer))
			return;
	}
}

static void conn_on_io(loop_t *l, loop_io_t *io, uint32_t events)
{
	conn_t *c = io->ctx;

	(void)l;
	if (c->connecting) {
		if (net_connect_result(io->fd) < 0) {
			conn_fail(c);
			return;
		}
		c->connecting = false;
		conn_send(c);
		return;
	}
	if ((events & LOOP_WRITE) && c->written < request.len)
		conn_write(c);
	if ((events & LOOP_READ) && io->active)
		conn_read(c);
}

static void on_deadline(loop_t *l, loop_timer_t *timer)
{
	(void)timer;
	loop_stop(l);
}

static int run(const net_addr_t *addr, conn_t *conns, unsigned count, unsigned seconds)
{
	loop_timer_t deadline;
	int rc;

	loop = loop_new();
	if (!loop)
		return -1;
	for (unsigned i = 0; i < count; i++) {
		conn_t *c = &conns[i];
		int fd = net_connect(addr);

		http_response_parser_init(&c->parser, false);
		c->connecting = true;
		if (fd < 0 || loop_io_start(loop, &c->io, fd, LOOP_WRITE, conn_on_io, c) < 0) {
			errors++;
			if (fd >= 0)
				close(fd);
		}
	}
	loop_timer_init(&deadline, on_deadline, NULL);
	loop_timer_start(loop, &deadline, clock_now_ns() + seconds * NS_PER_S);
	rc = loop_run(loop);
	for (unsigned i = 0; i < count; i++)
		if (conns[i].io.active)
			close(conns[i].io.fd);
	loop_free(loop);
	return rc;
}

#else /* USE_LIBUV */

static uv_buf_t request_buf;

static void conn_fail(conn_t *c)
{
	errors++;
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, NULL);
}

static void on_write(uv_write_t *w, int status)
{
	if (status < 0)
		conn_fail(w->data);
}

/* Sends the request with uv_try_write; uv_write queues only what would block. */
static void conn_send(conn_t *c)
{
	int n = uv_try_write((uv_stream_t *)&c->tcp, &request_buf, 1);
	uv_buf_t rest;

	if (n == (int)request.len)
		return;
	if (n < 0 && n != UV_EAGAIN) {
		conn_fail(c);
		return;
	}
	if (n < 0)
		n = 0;
	rest = uv_buf_init(request.data + n, (unsigned)(request.len - (size_t)n));
	c->write.data = c;
	if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &rest, 1, on_write) < 0)
		conn_fail(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(read_buffer, sizeof(read_buffer));
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
	conn_t *c = stream->data;
	int rc;

	if (n == 0)
		return; /* EAGAIN */
	if (n < 0) {
		conn_fail(c);
		return;
	}
	rc = conn_feed(c, buf->base, (size_t)n);
	if (rc < 0)
		conn_fail(c);
	else if (rc > 0)
		conn_send(c);
}

static void on_connect(uv_connect_t *req, int status)
{
	conn_t *c = req->data;

	if (status < 0 || uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) {
		conn_fail(c);
		return;
	}
	conn_send(c);
}

static void on_deadline(uv_timer_t *timer)
{
	uv_stop(timer->loop);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

static int run(const net_addr_t *addr, conn_t *conns, unsigned count, unsigned seconds)
{
	uv_loop_t loop;
	uv_timer_t deadline;

	if (uv_loop_init(&loop) < 0)
		return -1;
	request_buf = uv_buf_init(request.data, (unsigned)request.len);
	for (unsigned i = 0; i < count; i++) {
		conn_t *c = &conns[i];

		http_response_parser_init(&c->parser, false);
		uv_tcp_init(&loop, &c->tcp);
		c->tcp.data = c;
		c->connect.data = c;
		uv_tcp_nodelay(&c->tcp, 1); /* as net_connect does */
		if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr->ss,
		                   on_connect) < 0)
			conn_fail(c);
	}
	uv_timer_init(&loop, &deadline);
	uv_timer_start(&deadline, on_deadline, (uint64_t)seconds * 1000, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_walk(&loop, close_handle, NULL);
	uv_run(&loop, UV_RUN_DEFAULT); /* runs the close callbacks */
	return uv_loop_close(&loop) < 0 ? -1 : 0;
}

#endif /* USE_LIBUV */

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	unsigned long port = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	unsigned long count = argc > 2 ? strtoul(argv[2], NULL, 10) : 50;
	unsigned long seconds = argc > 3 ? strtoul(argv[3], NULL, 10) : 5;
	http_request_spec_t spec = {.method = "GET", .host = "127.0.0.1", .target = "/"};
	net_addr_t addr;
	conn_t *conns;
	char err[256] = "cannot build the request";
	double cpu;
	int rc;

	if (port == 0 || port > 65535 || count == 0 || count > MAX_CONNECTIONS || seconds == 0 ||
	    seconds > MAX_SECONDS) {
		fprintf(stderr, "usage: %s PORT [CONNECTIONS=50 (max %d)] [SECONDS=5 (max %d)]\n",
		        argv[0], MAX_CONNECTIONS, MAX_SECONDS);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	spec.port = (uint16_t)port;
	buf_init(&request, 4096);
	if (net_resolve("127.0.0.1", (uint16_t)port, &addr, err, sizeof(err)) < 0 ||
	    http_request_build(&spec, &request) < 0) {
		fprintf(stderr, "loop_client: cannot set up: %s\n", err);
		return 1;
	}
	conns = calloc(count, sizeof(*conns));
	if (!conns)
		return 1;

	cpu = cpu_seconds();
	rc = run(&addr, conns, (unsigned)count, (unsigned)seconds);
	cpu = cpu_seconds() - cpu;

	printf("loop=%s requests=%llu cpu_s=%.3f req_per_cpu_s=%.0f\n", LOOP_NAME,
	       (unsigned long long)requests, cpu, cpu > 0 ? (double)requests / cpu : 0.0);
	if (rc < 0)
		fprintf(stderr, "loop_client: the event loop failed\n");
	if (errors)
		fprintf(stderr, "loop_client: %llu connection errors: the figures are not valid\n",
		        (unsigned long long)errors);
	free(conns);
	buf_free(&request);
	return rc < 0 || errors ? 1 : 0;
}
