/* gen_driver: the engine as a driver (gen_driver_t in gen.h: a scenario) sees it — the
 * functions a driver may call and the read-only view of its users' outcomes — and nothing
 * else: a driver never reads or writes the engine's structures or counters.
 *
 * The engine calls the driver's next(c) when c's user should act (it began, its request
 * ended, its sleep is over, an open-model arrival is due for it, or the run ended and it
 * must leave); next() answers with exactly one of gen_conn_request, gen_conn_sleep,
 * gen_conn_iteration_done (then, if it returned true, one more) or gen_conn_finish. */
#ifndef SURGE_GEN_DRIVER_H
#define SURGE_GEN_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/http.h"
#include "gen/gen.h"

/* A driver's request, built by the driver and kept alive by it until its response: its
 * bytes, where its figures count, and which answers succeed. */
typedef struct gen_request {
	buf_t bytes;
	/* --h2: the same request as an HTTP/2 header list (core/http2_request.h), built beside
	 * bytes by the driver, which frees it; its body is the last body_len bytes of bytes.
	 * NULL without --h2. */
	struct http2_request *h2;
	size_t body_len;
	uint32_t endpoint;   /* gen_driver_endpoint's index */
	bool head;           /* HEAD: the response has no body */
	uint64_t timeout_ns; /* 0: the run's */
	bool expect_given;   /* else 200-399 succeed, like every plain request */
	uint64_t expect[(GEN_STATUS_MAX + 63) / 64]; /* bit s: status s succeeds */
} gen_request_t;

/* What a user's last request came to, as next() sees it (valid until the user acts). */
typedef struct gen_outcome {
	bool failed;               /* it ended without a complete response: error says why */
	enum gen_error_kind error; /* when failed */
	bool answered;             /* a status and headers came (even if the body then failed) */
	int status;                /* when answered */
	const buf_t *body;         /* the body as captured (cut at 16 MiB), or NULL */
	const http_header_store_t *headers; /* the headers as captured, or NULL */
	uint64_t sent_ns;                   /* when its first byte was written */
	bool ok; /* it counts as a success: by its expect, else 200-399, and no failed check */
} gen_outcome_t;

/* ---- the thread a driver's per-thread state lives on ---- */

const gen_config_t *gen_thread_config(const gen_thread_t *t);
/* What the driver's thread_start returned for this thread. */
void *gen_thread_driver_state(const gen_thread_t *t);
/* When the run's first second began (monotonic ns): duration_ns after it the run is over. */
uint64_t gen_thread_start_ns(const gen_thread_t *t);
/* The run is over for this thread (stopped, ending, or asked to stop): users leave. */
bool gen_thread_ending(const gen_thread_t *t);
/* Users must stop at once: the grace is up, or the stop was asked twice. */
bool gen_thread_halting(const gen_thread_t *t);

/* The scenario's figures, kept by the engine for the thread (merged for the run). */
/* The index of the endpoint (method, name) for gen_request_t.endpoint, or -ENOMEM. */
int gen_driver_endpoint(gen_thread_t *t, const char *method, const char *name);
/* A check by name, passed or failed. A failed one makes `on`'s last response an error of its
 * endpoint (once however many checks fail); NULL: it is about no response. */
void gen_driver_check(gen_thread_t *t, gen_conn_t *on, const char *name, bool ok);
/* surge.counter(name):add(n) and surge.trend(name):add(v) (kept to 3 decimals). */
void gen_driver_counter(gen_thread_t *t, const char *name, double n);
void gen_driver_trend(gen_thread_t *t, const char *name, double v);
/* A script error that ended an iteration, by message (further messages past the table's
 * size counted under "(other errors)"). */
void gen_driver_script_error(gen_thread_t *t, const char *message);

/* ---- a user and its connection ---- */

gen_thread_t *gen_conn_thread(const gen_conn_t *c);
/* The driver's state of c's user (NULL until set: the user has not begun). */
void *gen_conn_user(const gen_conn_t *c);
void gen_conn_set_user(gen_conn_t *c, void *user);
/* Ramping down: the user is to leave after its current iteration. */
bool gen_conn_retiring(const gen_conn_t *c);
/* The user's number in the whole test, from 0: numbers interleave over threads and shards
 * the way connections are dealt (deal.h), so no two users of a test share one. */
uint64_t gen_conn_user_number(const gen_conn_t *c);
void gen_conn_outcome(const gen_conn_t *c, gen_outcome_t *out);
/* The driver has its own copies of the outcome's body and headers: their buffers go back to
 * the allocator now, so a user holds none while its next request is out (gen_conn.c). */
void gen_conn_outcome_copied(gen_conn_t *c);

/* What next() answers with. gen_conn_request sends req, counted under its endpoint; next()
 * runs again with its outcome. gen_conn_sleep wakes the user at until_ns (monotonic).
 * gen_conn_iteration_done says the user finished a unit of work: false when the engine took
 * the connection back (open model: free for the next arrival; ramping down; stopping), true
 * when the user goes on. gen_conn_finish: the user sends nothing more in this run (the
 * driver's release runs). */
void gen_conn_request(gen_conn_t *c, const gen_request_t *req);
void gen_conn_sleep(gen_conn_t *c, uint64_t until_ns);
bool gen_conn_iteration_done(gen_conn_t *c);
void gen_conn_finish(gen_conn_t *c);

#endif
