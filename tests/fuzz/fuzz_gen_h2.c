/* fuzz_gen_h2: a server's bytes to `surge run --h2`'s engine (gen/gen_h2_*.c): a real run,
 * closed model, 4 streams on one TCP connection, 8 requests in all, against a server that is
 * this driver on 127.0.0.1 — each connection it accepts gets the input (after the client's
 * preface, which it reads first) and then its end of the connection half-closed. The engine
 * records the answers as in any run: whatever the bytes, every request is either a response
 * (status counted) or an error of one kind (stream_reset, goaway, flow_control,
 * protocol_error, closed_early, ...), never a crash, and the run ends (gen's timeouts bound
 * it: a hang is libFuzzer's -timeout).
 *
 * The first byte steers: bit 0 makes the requests POSTs of 100,000 bytes (more than
 * HTTP/2's initial window: the server's SETTINGS and WINDOW_UPDATE decide whether they go),
 * bit 1 writes the input in pieces of 7 bytes. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/clock.h"
#include "fuzz_common.h"
#include "gen/gen.h"

#define INPUT_MAX (64u << 10)
#define REQUESTS  8
#define BODY_LEN  100000

static int listen_fd = -1;
static uint16_t port;
static char body[BODY_LEN];

struct server {
	const uint8_t *data;
	size_t len;
	bool pieces;
	atomic_bool stop;
	uint32_t conns;
};

static void setup(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	signal(SIGPIPE, SIG_IGN);
	memset(body, 'b', sizeof(body));
	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0 || bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(listen_fd, 64) < 0 || getsockname(listen_fd, (struct sockaddr *)&a, &len) < 0) {
		perror("fuzz_gen_h2: a listener on 127.0.0.1");
		abort();
	}
	port = ntohs(a.sin_port);
}

/* Waits up to ms for fd to have something to read: 1, 0 on time out, -1 on error. */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms);
}

/* One connection: the client's preface read (up to 24 bytes, briefly), the input written,
 * our side half-closed, then what the client sends read and dropped until it closes (or the
 * run is over). */
static void serve_one(struct server *s, int fd)
{
	char in[65536];
	size_t got = 0;

	while (got < 24 && !atomic_load(&s->stop) && wait_readable(fd, 10) >= 0) {
		ssize_t n = recv(fd, in, sizeof(in), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN))
			break;
		if (n > 0)
			got += (size_t)n;
	}
	for (size_t pos = 0; pos < s->len;) {
		size_t piece = s->pieces && s->len - pos > 7 ? 7 : s->len - pos;
		ssize_t n = send(fd, s->data + pos, piece, MSG_NOSIGNAL);

		if (n <= 0)
			break;
		pos += (size_t)n;
	}
	shutdown(fd, SHUT_WR);
	while (!atomic_load(&s->stop)) {
		int r = wait_readable(fd, 10);
		ssize_t n;

		if (r < 0)
			break;
		if (r == 0)
			continue;
		n = recv(fd, in, sizeof(in), 0);
		if (n <= 0)
			break;
	}
	close(fd);
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		int fd;

		if (wait_readable(listen_fd, 10) <= 0)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		s->conns++;
		serve_one(s, fd);
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct server s = {0};
	gen_config_t cfg = {0};
	gen_result_t g;
	gen_run_t *run;
	pthread_t tid;
	char err[512] = "";
	uint64_t failed = 0;

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1 || size > INPUT_MAX)
		return -1;
	s.data = data + 1;
	s.len = size - 1;
	s.pieces = data[0] & 2;
	snprintf(cfg.url.host, sizeof(cfg.url.host), "127.0.0.1");
	cfg.url.port = port;
	snprintf(cfg.url.target, sizeof(cfg.url.target), "/x");
	cfg.url_text = "http://127.0.0.1/x";
	cfg.method = data[0] & 1 ? "POST" : "GET";
	if (data[0] & 1) {
		cfg.body = body;
		cfg.body_len = sizeof(body);
		cfg.has_body = true;
	}
	cfg.h2 = true;
	cfg.streams = 4;
	cfg.connections = 4;
	cfg.threads = 1;
	cfg.requests = REQUESTS;
	cfg.timeout_ns = 250 * NS_PER_MS; /* a stream the bytes leave waiting ends here */
	if (pthread_create(&tid, NULL, server_main, &s) != 0)
		abort();
	run = gen_start(&cfg, err, sizeof(err));
	if (!run) {
		fprintf(stderr, "fuzz_gen_h2: %s\n", err);
		abort();
	}
	if (gen_finish(run, &g) != 0)
		abort();
	atomic_store(&s.stop, true);
	pthread_join(tid, NULL);
	/* every request sent was answered or failed as one kind, or left unfinished at the
	 * end; a response is counted by its status */
	for (int k = 0; k < GEN_ERR_KIND_COUNT; k++)
		failed += g.counters.errors_by_kind[k];
	if (g.counters.requests + failed + g.counters.unfinished > REQUESTS ||
	    g.counters.requests + failed + g.counters.unfinished == 0) {
		fprintf(stderr,
		        "fuzz_gen_h2: %llu responses, %llu failures, %llu unfinished of %d\n",
		        (unsigned long long)g.counters.requests, (unsigned long long)failed,
		        (unsigned long long)g.counters.unfinished, REQUESTS);
		abort();
	}
	gen_result_free(&g);
	return 0;
}
