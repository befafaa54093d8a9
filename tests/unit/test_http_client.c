/* Tests for core/http_client against a tiny loopback server on the same loop: keep-alive
 * reuse, refused connects, timeouts, early close, https refusal, and cancel at free. */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/http_client.h"
#include "core/loop.h"
#include "test.h"

enum mode { REPLY, SILENT, PARTIAL };

static struct server {
	loop_t *loop;
	int listen_fd;
	loop_io_t listen_io;
	int fds[8];
	loop_io_t io[8];
	int count;
	int accepted;
	enum mode mode;
} srv;

static struct outcome {
	int calls;
	bool inline_call; /* done ran inside http_client_request */
	bool in_request;
	http_client_result_t res;
	char body[64];
} out;

static void on_client(loop_t *loop, loop_io_t *io, uint32_t events)
{
	static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
	char buf[4096];
	ssize_t n = read(io->fd, buf, sizeof(buf));

	if (n <= 0) {
		loop_io_stop(loop, io);
		close(io->fd);
		return;
	}
	if (srv.mode == REPLY && write(io->fd, reply, sizeof(reply) - 1) < 0)
		return;
	if (srv.mode == PARTIAL) {
		if (write(io->fd, "HTTP/1.1 200 OK\r\nContent-Le", 27) < 0)
			return;
		loop_io_stop(loop, io);
		close(io->fd);
	}
}

static void on_accept(loop_t *loop, loop_io_t *io, uint32_t events)
{
	int fd = accept(io->fd, NULL, NULL);

	if (fd < 0 || srv.count == 8)
		return;
	srv.accepted++;
	srv.fds[srv.count] = fd;
	loop_io_start(loop, &srv.io[srv.count++], fd, LOOP_READ, on_client, NULL);
}

/* A listener on 127.0.0.1 (port in *port) watched by loop. */
static void server_start(loop_t *loop, enum mode mode, url_t *base)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	memset(&srv, 0, sizeof(srv));
	srv.loop = loop;
	srv.mode = mode;
	srv.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	bind(srv.listen_fd, (struct sockaddr *)&a, sizeof(a));
	listen(srv.listen_fd, 16);
	getsockname(srv.listen_fd, (struct sockaddr *)&a, &len);
	loop_io_start(loop, &srv.listen_io, srv.listen_fd, LOOP_READ, on_accept, NULL);
	memset(base, 0, sizeof(*base));
	snprintf(base->host, sizeof(base->host), "127.0.0.1");
	base->port = ntohs(a.sin_port);
	snprintf(base->target, sizeof(base->target), "/");
}

static void server_stop(void)
{
	loop_io_stop(srv.loop, &srv.listen_io);
	close(srv.listen_fd);
	for (int i = 0; i < srv.count; i++) {
		if (srv.io[i].active) {
			loop_io_stop(srv.loop, &srv.io[i]);
			close(srv.fds[i]);
		}
	}
}

static void on_done(void *ctx, const http_client_result_t *res)
{
	out.calls++;
	out.inline_call |= out.in_request;
	out.res = *res;
	snprintf(out.body, sizeof(out.body), "%.*s", (int)res->body_len, res->body);
	out.res.body = out.body;
	loop_stop((loop_t *)ctx);
}

static int request(http_client_t *c, loop_t *loop, const url_t *base, uint64_t timeout_ns)
{
	int rc;

	out.in_request = true;
	rc = http_client_request(c, base, "GET", "/x", NULL, 0, timeout_ns, on_done, loop);
	out.in_request = false;
	if (rc == 0)
		loop_run(loop);
	return rc;
}

TEST(http_client_keep_alive_reuses_connection)
{
	loop_t *loop = loop_new();
	http_client_t *c = http_client_new(loop, 4);
	url_t base;

	memset(&out, 0, sizeof(out));
	server_start(loop, REPLY, &base);
	CHECK_INT(request(c, loop, &base, NS_PER_S), 0);
	CHECK_INT(out.res.status, 200);
	CHECK_STR(out.body, "hello");
	CHECK(!out.res.reused);
	CHECK_INT(http_client_idle(c), 1);
	CHECK_INT(request(c, loop, &base, NS_PER_S), 0);
	CHECK_INT(out.res.status, 200);
	CHECK(out.res.reused);
	CHECK_INT(srv.accepted, 1);
	CHECK_INT(out.calls, 2);
	CHECK(!out.inline_call);
	http_client_free(c);
	server_stop();
	loop_free(loop);
}

TEST(http_client_errors_are_classified)
{
	loop_t *loop = loop_new();
	http_client_t *c = http_client_new(loop, 4);
	url_t base, tls;
	uint64_t t0;

	memset(&out, 0, sizeof(out));
	server_start(loop, SILENT, &base);
	t0 = clock_now_ns();
	CHECK_INT(request(c, loop, &base, 50 * NS_PER_MS), 0);
	CHECK_INT(out.res.error, HTTP_CLIENT_TIMEOUT);
	CHECK_INT(out.res.status, 0);
	CHECK(clock_now_ns() - t0 >= 45 * NS_PER_MS);
	srv.mode = PARTIAL;
	CHECK_INT(request(c, loop, &base, NS_PER_S), 0);
	CHECK_INT(out.res.error, HTTP_CLIENT_CLOSED_EARLY);
	server_stop();
	CHECK_INT(request(c, loop, &base, NS_PER_S), 0); /* nothing listens now */
	CHECK_INT(out.res.error, HTTP_CLIENT_CONNECT_REFUSED);
	CHECK_STR(http_client_error_name(out.res.error), "connect_refused");
	tls = base;
	tls.tls = true;
	CHECK_INT(request(c, loop, &tls, 0), -EPROTONOSUPPORT);
	CHECK_INT(out.calls, 3);
	CHECK(!out.inline_call);
	http_client_free(c);
	loop_free(loop);
}

static void count_done(void *ctx, const http_client_result_t *res)
{
	out.calls++;
	out.res = *res;
}

TEST(http_client_free_cancels_requests_out)
{
	loop_t *loop = loop_new();
	http_client_t *c = http_client_new(loop, 4);
	url_t base;

	memset(&out, 0, sizeof(out));
	server_start(loop, SILENT, &base);
	CHECK_INT(http_client_request(c, &base, "GET", "/", NULL, 0, 0, count_done, NULL), 0);
	CHECK_INT(http_client_in_flight(c), 1);
	CHECK_INT(out.calls, 0);
	http_client_free(c);
	CHECK_INT(out.calls, 1);
	CHECK_INT(out.res.error, HTTP_CLIENT_CANCELLED);
	server_stop();
	loop_free(loop);
}
