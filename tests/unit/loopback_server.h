/* loopback_server: a tiny HTTP server on 127.0.0.1 and its own thread for tests that run the
 * real engine — one "200 hello" per read, so each connection has one request out at a time.
 * Bounded: at most LOOPBACK_SERVER_FDS connections, and it stops within 50 ms of asked. */
#ifndef SURGE_TEST_LOOPBACK_SERVER_H
#define SURGE_TEST_LOOPBACK_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define LOOPBACK_SERVER_FDS 32

typedef struct loopback_server {
	int listen_fd;
	int port;
	atomic_bool stop;
	pthread_t tid;
} loopback_server_t;

/* Listens on a free port (s->port) and serves until loopback_server_stop. 0 or -1. */
int loopback_server_start(loopback_server_t *s);
void loopback_server_stop(loopback_server_t *s);

#endif
