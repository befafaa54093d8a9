/* Tests for serve/serve_h2: the HTTP2-Settings decoding (pure), and one connection of the
 * target driven on a socket pair by nghttp2's own client session and a worker loop run here
 * turn by turn: the preface found across reads, streams answered, limits refused; each on
 * epoll (readiness) and on io_uring (the connection a stream). */
#include <errno.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "serve/serve_internal.h"
#include "test.h"

static int decode(const char *b64, uint8_t *out, size_t cap, size_t *len)
{
	http_slice_t s = {b64, strlen(b64)};

	return serve_h2_settings_decode(s, out, cap, len);
}

TEST(serve_h2_settings_decode_reads_base64url)
{
	uint8_t out[64];
	size_t len = 99;

	/* curl's: SETTINGS_MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 10 MiB, ENABLE_PUSH 0 */
	CHECK_INT(decode("AAMAAABkAAQAoAAAAAIAAAAA", out, sizeof(out), &len), 0);
	CHECK_INT(len, 18);
	CHECK_INT(out[1], 3);
	CHECK_INT(out[5], 100);
	CHECK_INT(out[7], 4);
	CHECK_INT(out[13], 2);
	CHECK_INT(decode("", out, sizeof(out), &len), 0); /* no settings at all is valid */
	CHECK_INT(len, 0);
	/* '-' and '_' are base64url's 62 and 63: 6 bytes of 0xfb 0xef 0xbe ... */
	CHECK_INT(decode("-_-_-_-_", out, sizeof(out), &len), 0);
	CHECK_INT(len, 6);
	CHECK_INT(out[0], 0xfb);
}

TEST(serve_h2_settings_decode_refuses_what_is_not_settings)
{
	uint8_t out[8];
	size_t len;

	CHECK_INT(decode("AAMAAABk!", out, sizeof(out), &len), -EINVAL);        /* not base64 */
	CHECK_INT(decode("AAMAAA", out, sizeof(out), &len), -EINVAL);           /* 4 bytes */
	CHECK_INT(decode("AAMAAABkAAQAoAAA", out, sizeof(out), &len), -EINVAL); /* > cap */
	CHECK_INT(decode("AA MAAABk", out, sizeof(out), &len), -EINVAL);
}

/* ---- a connection, on a socket pair, against nghttp2's client ---- */

#define STREAMS_MAX 8

typedef struct client {
	nghttp2_session *session;
	int fd;
	int status[STREAMS_MAX]; /* by (stream id - 1) / 2 */
	size_t body[STREAMS_MAX];
	bool closed[STREAMS_MAX];
	uint32_t reset_code[STREAMS_MAX];
	char first_body[STREAMS_MAX][256];
} client_t;

typedef struct fixture {
	serve_config_t cfg;
	serve_worker_t *w;
	client_t c;
	int server; /* the worker's end (it owns and closes it) */
} fixture_t;

static int slot(int32_t id)
{
	int i = (id - 1) / 2;

	return i >= 0 && i < STREAMS_MAX ? i : STREAMS_MAX - 1;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t nlen, const uint8_t *value, size_t vlen, uint8_t flags, void *ctx)
{
	client_t *c = ctx;

	if (nlen == 7 && memcmp(name, ":status", 7) == 0)
		c->status[slot(frame->hd.stream_id)] = atoi((const char *)value);
	return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *ctx)
{
	client_t *c = ctx;
	int i = slot(id);
	size_t have = c->body[i];

	if (have < sizeof(c->first_body[i]) - 1) {
		size_t n = len < sizeof(c->first_body[i]) - 1 - have
		               ? len
		               : sizeof(c->first_body[i]) - 1 - have;
		memcpy(c->first_body[i] + have, data, n);
	}
	c->body[i] += len;
	return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *ctx)
{
	client_t *c = ctx;

	c->closed[slot(id)] = true;
	c->reset_code[slot(id)] = code;
	return 0;
}

static void stop_loop(loop_t *loop, loop_timer_t *t)
{
	loop_stop(loop);
}

/* Runs the worker's loop for a few turns, each polling without waiting. */
static void turns(fixture_t *f, int n)
{
	for (int t = 0; t < n; t++) {
		loop_timer_t stop;

		loop_timer_init(&stop, stop_loop, NULL);
		loop_timer_start(f->w->loop, &stop, 0);
		loop_run(f->w->loop);
	}
}

/* One exchange: the client's frames go out, the worker runs a few turns, the answers come
 * back to the client. Nothing here waits on time. */
static void pump(fixture_t *f, int rounds)
{
	for (int r = 0; r < rounds; r++) {
		const uint8_t *data;
		ssize_t n;
		uint8_t in[65536];

		while ((n = nghttp2_session_mem_send(f->c.session, &data)) > 0)
			if (write(f->c.fd, data, (size_t)n) != n)
				break;
		turns(f, 3);
		while ((n = read(f->c.fd, in, sizeof(in))) > 0)
			nghttp2_session_mem_recv(f->c.session, in, (size_t)n);
	}
}

/* The connection on the backend asked for (io_uring: a stream); 0, -1, or 1 when that backend
 * cannot be used here (the test then passes, saying so). */
static int fixture_start(fixture_t *f, bool client_preface, enum loop_io_choice io)
{
	nghttp2_session_callbacks *cb;
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
	f->cfg.max_header_bytes = 1024;
	serve_state.cfg = &f->cfg;
	snprintf(serve_state.served_by, sizeof(serve_state.served_by), "X-Served-By: t\r\n");
	serve_conn_init();
	f->w = calloc(1, sizeof(*f->w));
	if (!f->w || !(f->w->loop = loop_new()))
		return -1;
	f->w->rng = 0x12345678;
	snprintf(f->w->date, sizeof(f->w->date), "Date: Thu, 01 Jan 2026 00:00:00 GMT\r\n");
	buf_init(&f->w->log, 65536);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	f->c.fd = sv[1];
	f->server = sv[0];
	serve_conn_accept(f->w, sv[0]);
	if (nghttp2_session_callbacks_new(&cb) != 0)
		return -1;
	nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
	nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
	if (nghttp2_session_client_new(&f->c.session, cb, &f->c) != 0) {
		nghttp2_session_callbacks_del(cb);
		return -1;
	}
	nghttp2_session_callbacks_del(cb);
	if (client_preface)
		nghttp2_submit_settings(f->c.session, NGHTTP2_FLAG_NONE, NULL, 0);
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
	if (f->c.session)
		nghttp2_session_del(f->c.session);
	if (f->c.fd > 0)
		close(f->c.fd);
	serve_state.cfg = NULL;
	loop_io_choose(LOOP_IO_AUTO, NULL, 0);
}

#define NV(n, v)                                                                                   \
	{                                                                                          \
		(uint8_t *)(n), (uint8_t *)(v), sizeof(n) - 1, strlen(v), NGHTTP2_NV_FLAG_NONE     \
	}

static int32_t get(fixture_t *f, const char *path)
{
	nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"), NV(":path", path),
	                   NV(":authority", "t")};

	return nghttp2_submit_request(f->c.session, NULL, nv, 4, NULL, NULL);
}

static void serve_h2_answers_streams_on_one_connection(enum loop_io_choice io)
{
	fixture_t f;
	int rc;
	int32_t a, b;

	if ((rc = fixture_start(&f, true, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	a = get(&f, "/health");
	b = get(&f, "/api/bytes?size=100000");
	CHECK(a == 1 && b == 3);
	pump(&f, 8);
	CHECK_INT(f.c.status[slot(a)], 200);
	CHECK(strstr(f.c.first_body[slot(a)], "\"status\"") != NULL);
	CHECK_INT(f.c.status[slot(b)], 200);
	/* 100,000 bytes: more than the client's first window of 65,535, so the rest came after
	 * its WINDOW_UPDATE */
	CHECK_INT(f.c.body[slot(b)], 100000);
	CHECK(f.c.closed[slot(a)] && f.c.closed[slot(b)]);
	CHECK_INT(f.c.reset_code[slot(b)], NGHTTP2_NO_ERROR);
	CHECK_INT(stat_get(&f.w->stats.h2_streams), 2);
	CHECK_INT(stat_get(&f.w->stats.h2_connections[SERVE_H2_PRIOR_KNOWLEDGE]), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_h2_answers_streams_on_one_connection)

static void serve_h2_preface_split_across_reads_is_still_http2(enum loop_io_choice io)
{
	static const char preface[] = NGHTTP2_CLIENT_MAGIC;
	static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0}; /* empty SETTINGS */
	fixture_t f;
	int rc;
	uint8_t in[4096];
	ssize_t n;

	if ((rc = fixture_start(&f, false, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	/* "PRI * HT" alone: neither HTTP/1.1 (which would answer 505) nor yet HTTP/2; the
	 * bytes are written here, not by the client session (it would send the whole preface) */
	CHECK_INT(write(f.c.fd, preface, 8), 8);
	turns(&f, 3);
	CHECK_INT(stat_get(&f.w->stats.h2_connections[SERVE_H2_PRIOR_KNOWLEDGE]), 0);
	CHECK_INT(stat_get(&f.w->stats.bad_requests), 0);
	CHECK_INT(read(f.c.fd, in, sizeof(in)), -1); /* nothing answered yet */
	CHECK_INT(write(f.c.fd, preface + 8, sizeof(preface) - 1 - 8),
	          (long long)(sizeof(preface) - 1 - 8));
	CHECK_INT(write(f.c.fd, settings, sizeof(settings)), (long long)sizeof(settings));
	turns(&f, 3);
	CHECK_INT(stat_get(&f.w->stats.h2_connections[SERVE_H2_PRIOR_KNOWLEDGE]), 1);
	/* the server's preface: its SETTINGS first (type 4, no flags), then the ACK of ours */
	n = read(f.c.fd, in, sizeof(in));
	CHECK(n >= 18);
	if (n >= 18) {
		CHECK_INT(in[3], 4);
		CHECK_INT(in[4], 0);
	}
	fixture_stop(&f);
}

TEST_EACH_IO(serve_h2_preface_split_across_reads_is_still_http2)

static void serve_h2_refuses_a_header_list_over_the_limit_with_431(enum loop_io_choice io)
{
	fixture_t f;
	int rc;
	char big[2048];
	int32_t a, b;

	if ((rc = fixture_start(&f, true, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		nghttp2_nv nv[] = {NV(":method", "GET"), NV(":scheme", "http"),
		                   NV(":path", "/health"), NV(":authority", "t"), NV("x-big", big)};

		a = nghttp2_submit_request(f.c.session, NULL, nv, 5, NULL, NULL);
	}
	b = get(&f, "/health"); /* the connection goes on */
	pump(&f, 6);
	CHECK_INT(f.c.status[slot(a)], 431);
	CHECK(strstr(f.c.first_body[slot(a)], "larger than 1024 bytes (--max-header-bytes)") !=
	      NULL);
	CHECK_INT(f.c.status[slot(b)], 200);
	CHECK_INT(stat_get(&f.w->stats.bad_requests), 1);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_h2_refuses_a_header_list_over_the_limit_with_431)

/* Requests the worker counted (every series of its request-duration histogram). */
static uint64_t counted(serve_worker_t *w)
{
	uint64_t n = 0;

	for (int i = 0; i < SERVE_SERIES_MAX; i++)
		if (atomic_load(&w->stats.series[i].used))
			n += stat_get(&w->stats.series[i].count);
	return n;
}

/* A stream is counted when nghttp2 serializes its END_STREAM frame, which on_frame_send sees
 * inside nghttp2_session_mem_send, before serve_h2_flush writes the frame: so before the last
 * bytes of its response go to the socket, as over HTTP/1.1 (a client that read the response
 * and scrapes at once finds it counted). Here the socket is full, nothing of the response goes,
 * and it is counted; the write that then fails (the client went) leaves it counted once. */
static void serve_h2_counts_a_stream_before_its_last_bytes_are_written(enum loop_io_choice io)
{
	static const char junk[512] = {0};
	fixture_t f;
	int rc;
	int small = 1;
	const uint8_t *data;
	ssize_t n;
	size_t queued = 0, got = 0;
	uint8_t in[65536];

	if ((rc = fixture_start(&f, true, io)) != 0) {
		if (rc < 0)
			test_fail(__FILE__, __LINE__, "fixture did not start");
		fixture_stop(&f);
		return;
	}
	pump(&f, 2); /* the prefaces and SETTINGS both ways */
	CHECK_INT(stat_get(&f.w->stats.h2_connections[SERVE_H2_PRIOR_KNOWLEDGE]), 1);
	/* the server's socket can take nothing more (the client does not read) */
	setsockopt(f.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	for (int i = 0; i < 100000 && (n = write(f.server, junk, sizeof(junk))) > 0; i++)
		queued += (size_t)n;
	CHECK(queued > 0);
	get(&f, "/api/cpu?ms=0");
	while ((n = nghttp2_session_mem_send(f.c.session, &data)) > 0)
		CHECK_INT(write(f.c.fd, data, (size_t)n), n);
	turns(&f, 3);
	CHECK_INT(stat_get(&f.w->stats.h2_streams), 1);
	CHECK_INT(counted(f.w), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	/* and none of its bytes went: the client finds only what filled the socket. A stream's
	 * send waits in the kernel and goes as soon as the client's reads make room (the ring's
	 * work runs in this thread's own reads here): its bytes may follow */
	while ((n = read(f.c.fd, in, sizeof(in))) > 0)
		got += (size_t)n;
	if (io == LOOP_IO_EPOLL)
		CHECK_INT(got, queued);
	else
		CHECK(got >= queued);
	close(f.c.fd);
	f.c.fd = -1;
	turns(&f, 3);
	CHECK_INT(f.w->conn_count, 0);
	CHECK_INT(counted(f.w), 1);
	CHECK_INT((int64_t)stat_get(&f.w->stats.in_flight), 0);
	fixture_stop(&f);
}

TEST_EACH_IO(serve_h2_counts_a_stream_before_its_last_bytes_are_written)
