/* fuzz_serve_h2: a client's bytes to one connection of `surge serve`, in process, through the
 * same path a socket's bytes take — serve_conn_accept on one end of a socketpair, the worker's
 * event loop reading it (HTTP/1.1 first: an Upgrade: h2c request or the HTTP/2 preface turns
 * the connection to serve_h2.c), the responses read back and dropped on the other end. No
 * network: the serve runs as `--role downstream` (its routes do their work in process, none
 * calls out), chaos on (?fault=reset|close|hang reach the streams), every limit small.
 *
 * The first byte steers: bit 0 puts a valid client preface before the rest (else the bytes go
 * raw: HTTP/1.1, an upgrade, or a preface of their own), bits 1-3 the size of the pieces the
 * bytes are written in (each piece its own read). After the input the client half-closes; the
 * connection must then close, every stream with it: in-flight requests back to 0, no
 * connection left, within a bounded number of loop turns (else a hang, a failure). */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "serve/serve_internal.h"

#define INPUT_MAX   (256u << 10)
#define TURNS_SLACK 2000 /* loop turns allowed beyond one per piece written */

static serve_config_t cfg;
static serve_worker_t worker;
static const size_t piece_sizes[8] = {INPUT_MAX, 1, 7, 9, 64, 1000, 4096, 16384};

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

struct pump {
	int fd;              /* the client's end */
	const uint8_t *data; /* what it writes */
	size_t len, pos, piece;
	bool shut; /* half-closed once everything was written */
	unsigned long turns, turns_max;
	loop_timer_t timer;
};

static void setup(void)
{
	serve_config_defaults(&cfg);
	cfg.workers = 1;
	cfg.role = "downstream";
	cfg.max_connections = 4;
	cfg.max_header_bytes = 1024;
	cfg.max_streams = 8;
	cfg.max_body_bytes = 4096;
	cfg.max_delay_ns = 0; /* no timer decides what happens: the same input, the same run */
	cfg.max_size_bytes = 64 << 10;
	cfg.max_cpu_ns = 0;
	cfg.max_load_cores = 0;
	cfg.memory_cap_bytes = 0;
	cfg.access_log = false;
	cfg.log_level = SERVE_LOG_ERROR + 1;                    /* quiet */
	cfg.admin_token = "fuzz-serve-h2-admin-token-7f3c9a1e"; /* admin routes refused */
	memset(&serve_state, 0, sizeof(serve_state));
	serve_state.cfg = &cfg;
	pthread_mutex_init(&serve_state.log_lock, NULL);
	snprintf(serve_state.served_by, sizeof(serve_state.served_by), "X-Served-By: fuzz\r\n");
	serve_conn_init();
	signal(SIGPIPE, SIG_IGN); /* as serve_run: a peer gone is a write's error */
	worker.listen_fd = -1;
	worker.rng = 0x9e3779b97f4a7c15ULL;
	buf_init(&worker.log, 1 << 20);
	pthread_mutex_init(&worker.mail_lock, NULL);
	worker.mail_cap = 64;
	worker.mail = calloc(worker.mail_cap, sizeof(*worker.mail));
	worker.loop = loop_new();
	if (!worker.mail || !worker.loop)
		abort();
	snprintf(worker.date, sizeof(worker.date), "Date: Fri, 04 Dec 2026 12:00:00 GMT\r\n");
	serve_state.workers = &worker;
	serve_state.worker_count = 1;
	atomic_store(&serve_state.ready, true);
}

/* One loop turn's share: the next piece written, the responses read and dropped; the loop
 * stops when the connection is gone. */
static void pump_tick(loop_t *loop, loop_timer_t *t)
{
	struct pump *p = t->ctx;
	char sink[65536];

	if (++p->turns > p->turns_max) {
		fprintf(stderr,
		        "fuzz_serve_h2: the connection is still open %lu loop turns after "
		        "its input (%zu bytes) was written and half-closed\n",
		        p->turns, p->len);
		abort();
	}
	if (p->pos < p->len) {
		size_t n = p->len - p->pos < p->piece ? p->len - p->pos : p->piece;
		ssize_t w = write(p->fd, p->data + p->pos, n);

		if (w > 0)
			p->pos += (size_t)w;
	} else if (!p->shut) {
		shutdown(p->fd, SHUT_WR);
		p->shut = true;
	}
	while (read(p->fd, sink, sizeof(sink)) > 0)
		;
	if (worker.conn_count == 0) {
		loop_stop(loop);
		return;
	}
	/* next turn: a timer due now would run again within this turn's timers */
	loop_timer_start(loop, t, loop_now(loop) + 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct pump p = {0};
	uint8_t *input;
	size_t len = 0;
	int fds[2];

	if (!ready) {
		setup();
		ready = true;
	}
	if (size < 1 || size > INPUT_MAX)
		return -1;
	input = malloc(sizeof(preface) + size);
	if (!input)
		abort();
	if (data[0] & 1) {
		memcpy(input, preface, sizeof(preface) - 1);
		len = sizeof(preface) - 1;
	}
	memcpy(input + len, data + 1, size - 1);
	len += size - 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
		abort();
	p.fd = fds[0];
	p.data = input;
	p.len = len;
	p.piece = piece_sizes[(data[0] >> 1) & 7];
	p.turns_max = len / p.piece + 1 + TURNS_SLACK;
	serve_conn_accept(&worker, fds[1]);
	if (worker.conn_count != 1)
		abort();
	loop_timer_init(&p.timer, pump_tick, &p);
	loop_timer_start(worker.loop, &p.timer, 0);
	loop_run(worker.loop);
	loop_timer_stop(worker.loop, &p.timer);
	close(fds[0]);
	/* the connection closed: nothing of it is left, every request it had is over */
	if (worker.conns || atomic_load(&serve_state.open_conns) != 0 ||
	    stat_get(&worker.stats.in_flight) != 0) {
		fprintf(stderr, "fuzz_serve_h2: after the close, %u connections, %llu in flight\n",
		        atomic_load(&serve_state.open_conns),
		        (unsigned long long)stat_get(&worker.stats.in_flight));
		abort();
	}
	/* a drain a request could not start, readiness it could not turn off: as it was */
	worker.draining = false;
	free(input);
	return 0;
}
