/* Tests for serve/serve_conn: one connection of the target driven on a real socket pair by a
 * worker loop run here, turn by turn, so the socket's state (a full send buffer) is exact; each
 * on epoll (readiness) and on io_uring (the connection a stream, serve_conn_stream.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/serve_internal.h"
#include "test.h"

typedef struct fixture {
	serve_config_t cfg;
	serve_worker_t *w;
	int client; /* the test's end */
	int server; /* the worker's end (it owns and closes it) */
} fixture_t;

static void stop_loop(loop_t *loop, loop_timer_t *t)
{
	loop_stop(loop);
}

/* Runs the worker's loop for a few turns: each polls without waiting, dispatches what is
 * ready and stops, so nothing here depends on time. */
static void turns(fixture_t *f, int n)
{
	loop_timer_t stop;

	for (int i = 0; i < n; i++) {
		loop_timer_init(&stop, stop_loop, NULL);
		loop_timer_start(f->w->loop, &stop, 0);
		loop_run(f->w->loop);
	}
}

/* A worker with one connection whose server end is a socket pair's, its loop on the backend
 * asked for (io_uring: the connection is a stream); 0, -1, or 1 when that backend cannot be
 * used here (the test then passes, saying so). */
static int fixture_start(fixture_t *f, enum loop_io_choice io)
{
	char why[200];
	int sv[2];

	memset(f, 0, sizeof(*f));
	if (loop_io_choose(io, why, sizeof(why)) < 0) {
		printf("    io_uring cannot be used here (%s): only epoll is tested\n", why);
		loop_io_choose(LOOP_IO_AUTO, NULL, 0);
		return 1;
	}
	serve_config_defaults(&f->cfg);
	f->cfg.access_log = false;
	serve_state.cfg = &f->cfg;
	serve_conn_init();
	f->w = calloc(1, sizeof(*f->w));
	if (!f->w || !(f->w->loop = loop_new()))
		return -1;
	f->w->rng = 0x12345678;
	snprintf(f->w->date, sizeof(f->w->date), "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n");
	buf_init(&f->w->log, 65536);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	f->client = sv[1];
	f->server = sv[0];
	serve_conn_accept(f->w, sv[0]);
	return 0;
}

static void fixture_stop(fixture_t *f)
{
	if (f->w) {
		serve_conn_close_all(f->w);
		loop_free(f->w->loop);
		buf_free(&f->w->log);
		free(f->w);
	}
	if (f->client > 0)
		close(f->client);
	serve_state.cfg = NULL;
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

/* Fills the server end's send buffer (the client does not read): returns the bytes queued. */
static size_t fill_send_buffer(int fd)
{
	static const char junk[512] = {0};
	int small = 1;
	size_t queued = 0;
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (int i = 0; i < 100000 && (n = write(fd, junk, sizeof(junk))) > 0; i++)
		queued += (size_t)n;
	return queued;
}

/* Reads what is there (bounded), appending to out; returns the bytes read. */
static size_t read_available(int fd, char *out, size_t cap)
{
	size_t got = 0;
	ssize_t n;

	while (got < cap && (n = read(fd, out + got, cap - got)) > 0)
		got += (size_t)n;
	return got;
}

static void serve_conn_continue_waits_for_a_full_socket(enum loop_io_choice io)
{
	static const char head[] = "POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
	                           "Expect: 100-continue\r\n\r\n";
	static const char interim[] = "HTTP/1.1 100 Continue\r\n\r\n";
	fixture_t f;
	int rc;
	char in[65536];
	size_t junk, got;

	if ((rc = fixture_start(&f, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	/* the server's socket can take nothing more when the interim response is due */
	junk = fill_send_buffer(f.server);
	CHECK(junk > 0);
	CHECK_INT(write(f.client, head, sizeof(head) - 1), (long long)(sizeof(head) - 1));
	turns(&f, 3);
	/* the client reads what was queued before: now the interim response must come */
	for (size_t left = junk; left > 0;) {
		size_t n = read_available(f.client, in, left < sizeof(in) ? left : sizeof(in));

		if (!n)
			break;
		left -= n;
	}
	turns(&f, 3);
	got = read_available(f.client, in, sizeof(in) - 1);
	in[got] = '\0';
	CHECK_STR(in, interim);
	/* a client that waited for it sends the body and gets the final response */
	CHECK_INT(write(f.client, "hello", 5), 5);
	turns(&f, 3);
	got = read_available(f.client, in, sizeof(in) - 1);
	in[got] = '\0';
	CHECK(strncmp(in, "HTTP/1.1 200 OK\r\n", 17) == 0);
	CHECK(strstr(in, "\"received_bytes\":5") != NULL);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_conn_continue_waits_for_a_full_socket)

static void serve_conn_continue_then_final_response_on_a_free_socket(enum loop_io_choice io)
{
	static const char head[] = "POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
	                           "Expect: 100-continue\r\n\r\n";
	fixture_t f;
	int rc;
	char in[65536];
	size_t got;

	if ((rc = fixture_start(&f, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	CHECK_INT(write(f.client, head, sizeof(head) - 1), (long long)(sizeof(head) - 1));
	turns(&f, 2);
	got = read_available(f.client, in, sizeof(in) - 1);
	in[got] = '\0';
	CHECK_STR(in, "HTTP/1.1 100 Continue\r\n\r\n");
	CHECK_INT(write(f.client, "hello", 5), 5);
	turns(&f, 2);
	got = read_available(f.client, in, sizeof(in) - 1);
	in[got] = '\0';
	CHECK(strncmp(in, "HTTP/1.1 200 OK\r\n", 17) == 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_conn_continue_then_final_response_on_a_free_socket)

/* ---- when a request is counted ---- */

/* Requests the worker counted (every series of its request-duration histogram). */
static uint64_t counted(serve_worker_t *w)
{
	uint64_t n = 0;

	for (int i = 0; i < SERVE_SERIES_MAX; i++)
		if (atomic_load(&w->stats.series[i].used))
			n += stat_get(&w->stats.series[i].count);
	return n;
}

/* Reads and drops what the client has (bounded); the bytes read. */
static size_t drain(int fd)
{
	char in[65536];
	size_t total = 0, n;

	while ((n = read_available(fd, in, sizeof(in))) > 0 && total < (64u << 20))
		total += n;
	return total;
}

/* The request is counted before the last bytes of its response go to the socket: a client
 * that read the response and scrapes at once (another worker may answer) finds it counted.
 * Here the last write cannot go at all (the socket is full), and it is counted already. */
static void serve_conn_counts_a_request_before_its_last_write(enum loop_io_choice io)
{
	static const char get[] = "GET /api/cpu?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n";
	fixture_t f;
	int rc;
	char in[4096];

	if ((rc = fixture_start(&f, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	CHECK(fill_send_buffer(f.server) > 0);
	CHECK_INT(write(f.client, get, sizeof(get) - 1), (long long)(sizeof(get) - 1));
	turns(&f, 3);
	CHECK_INT(counted(f.w), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	CHECK_INT(stat_get(&f.w->stats.conns[CONN_GAUGE_ACTIVE]), 1); /* still writing it */
	/* the client takes everything: the response completes, counted once */
	drain(f.client);
	turns(&f, 3);
	drain(f.client);
	CHECK_INT(counted(f.w), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	CHECK_INT(stat_get(&f.w->stats.conns[CONN_GAUGE_IDLE]), 1);
	/* the connection goes on: the next request is counted too, once */
	CHECK_INT(write(f.client, get, sizeof(get) - 1), (long long)(sizeof(get) - 1));
	turns(&f, 3);
	CHECK(read_available(f.client, in, sizeof(in)) > 0);
	CHECK_INT(counted(f.w), 2);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_conn_counts_a_request_before_its_last_write)

/* A last write that fails (the client went) leaves the request counted, once: the server
 * answered in full, the client was gone for its last bytes. Nothing goes below zero. */
static void serve_conn_a_failed_last_write_leaves_the_request_counted_once(enum loop_io_choice io)
{
	static const char get[] = "GET /api/cpu?ms=0 HTTP/1.1\r\nHost: t\r\n\r\n";
	fixture_t f;
	int rc;

	if ((rc = fixture_start(&f, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	CHECK(fill_send_buffer(f.server) > 0);
	CHECK_INT(write(f.client, get, sizeof(get) - 1), (long long)(sizeof(get) - 1));
	turns(&f, 3);
	CHECK_INT(counted(f.w), 1);
	close(f.client);
	f.client = -1;
	turns(&f, 3);
	CHECK_INT(f.w->conn_count, 0);
	CHECK_INT(counted(f.w), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_conn_a_failed_last_write_leaves_the_request_counted_once)

/* A response cut before its last write (the client went mid-body) is not counted, and is
 * off the in-flight gauge. */
static void serve_conn_a_response_cut_before_its_last_write_is_not_counted(enum loop_io_choice io)
{
	/* 5 filler pieces of 64 KiB: the full socket stops the first */
	static const char get[] = "GET /api/bytes?size=300000 HTTP/1.1\r\nHost: t\r\n\r\n";
	fixture_t f;
	int rc;

	if ((rc = fixture_start(&f, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	CHECK(fill_send_buffer(f.server) > 0);
	CHECK_INT(write(f.client, get, sizeof(get) - 1), (long long)(sizeof(get) - 1));
	turns(&f, 3);
	CHECK_INT(counted(f.w), 0);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 1);
	close(f.client);
	f.client = -1;
	turns(&f, 3);
	CHECK_INT(f.w->conn_count, 0);
	CHECK_INT(counted(f.w), 0);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_conn_a_response_cut_before_its_last_write_is_not_counted)
