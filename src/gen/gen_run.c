/* gen_run: a run's lifecycle — set-up shared by all threads (address, TLS context, the
 * serialized request), the worker threads and their timers, stopping, and the final merge. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "gen/gen_internal.h"

#define REQUEST_MAX (64u * 1024 * 1024)

/* ---- per-thread ---- */

/* The finished second: its delta built and handed over (with the timeline's part, under its
 * lock), then folded into the thread's totals and cleared. */
static void flush_interval(gen_thread_t *t, bool last)
{
	uint64_t now = clock_now_ns(), cpu = clock_thread_cpu_ns();
	double length_s = 1.0;

	if (last) {
		uint64_t end = t->end_ns ? t->end_ns : clock_now_ns();

		end =
		    end > t->run->start_ns ? end : t->run->start_ns; /* stopped before --start-at */
		length_s = (double)(end - t->run->start_ns) / NS_PER_S - (double)t->interval_index;
		if (length_s < 0)
			length_s = 0;
	}
	/* measured over the real wall time since the last flush: a tick may fire late */
	t->interval_cpu = now > t->wall_mark_ns
	                      ? (double)(cpu - t->cpu_mark_ns) / (double)(now - t->wall_mark_ns)
	                      : 0;
	if (t->interval_cpu > 1)
		t->interval_cpu = 1;
	t->cpu_mark_ns = cpu;
	t->wall_mark_ns = now;
	gen_delta_build(t, length_s);
	gen_timeline_add(t, length_s, last);
	gen_delta_fold(t);
}

static void on_tick(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_t *t = timer->ctx;

	if (t->stopping)
		return; /* a tick due with the stop: the final flush covers this second */
	flush_interval(t, false);
	t->interval_index++;
	loop_timer_start(loop, timer, t->run->start_ns + (t->interval_index + 1) * NS_PER_S);
}

void gen_thread_maybe_finish(gen_thread_t *t)
{
	if (t->done_conns < t->conn_count)
		return;
	if (!t->end_ns)
		t->end_ns = clock_now_ns();
	loop_stop(t->loop);
}

uint32_t gen_thread_share(const gen_thread_t *t, double total)
{
	/* rounded once for the whole test, then dealt to the shard and to its threads (deal.h):
	 * the parts add up to the whole exactly, and only grow as it does */
	return (uint32_t)deal_share(deal_share((uint64_t)(total + 0.5), t->run->cfg.shard),
	                            t->part);
}

uint32_t gen_thread_users(const gen_thread_t *t, double total)
{
	const gen_config_t *cfg = &t->run->cfg;

	if (!cfg->h2)
		return gen_thread_share(t, total);
	/* a thread's users fit its whole connections' streams, fewer on fewer (gen.h) */
	return gen_h2_thread_users((uint32_t)deal_share((uint64_t)(total + 0.5), cfg->shard),
	                           (uint32_t)deal_share(t->run->users_max, cfg->shard),
	                           cfg->streams, t->part);
}

/* Stops sending: requests in flight and arrivals still queued are abandoned (counted as
 * unfinished, not errors), connections closed. */
void gen_thread_stop(gen_thread_t *t)
{
	if (t->stopping)
		return;
	t->stopping = true;
	t->end_ns = clock_now_ns();
	t->users_at_end = t->open_conns;
	loop_timer_stop(t->loop, &t->grace);
	loop_timer_stop(t->loop, &t->start);
	t->interval_counters.unfinished += t->queue_len;
	t->queue_len = 0;
	for (uint32_t i = 0; i < t->conn_count; i++) {
		t->interval_counters.unfinished += gen_conn_requests_out(&t->conns[i]);
		if (t->conns[i].state != CONN_DONE)
			gen_conn_done(&t->conns[i]);
	}
	gen_thread_maybe_finish(t);
}

static void on_grace_over(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_stop(timer->ctx);
}

/* Nothing new starts now; driven users get the grace to take their last response and
 * leave (on_stop), then whoever is left is stopped. What they do in the grace is measured
 * like the rest: the run (and its last second) lasts until the last user has left. */
void gen_thread_end(gen_thread_t *t)
{
	gen_run_t *run = t->run;

	if (t->stopping || t->ending)
		return;
	if (!run->cfg.driver || !run->cfg.stop_grace_ns || !t->driver_state || !t->started) {
		gen_thread_stop(t);
		return;
	}
	t->ending = true;
	t->model->end(t);
	loop_timer_start(t->loop, &t->grace, clock_now_ns() + run->cfg.stop_grace_ns);
	for (uint32_t i = 0; i < t->conn_count && !t->stopping; i++) {
		gen_conn_t *c = &t->conns[i];

		if (c->state == CONN_SLEEPING || (c->state == CONN_FREE && c->user)) {
			loop_timer_stop(t->loop, &c->timer);
			c->state = CONN_IDLE;
			run->cfg.driver->next(c); /* wakes to leave */
		} else if (c->state == CONN_PARKED || c->state == CONN_FREE) {
			gen_conn_done(c); /* never a user, or gone already */
		}
	}
	gen_thread_maybe_finish(t);
}

static void on_deadline(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_t *t = timer->ctx;

	/* a second that ends with the run is a whole second whichever timer the heap gave first */
	if (loop_timer_pending(&t->tick) && t->tick.when_ns <= timer->when_ns)
		on_tick(loop, &t->tick);
	gen_thread_end(t);
}

static void on_wake(loop_t *loop, void *ctx)
{
	gen_thread_t *t = ctx;
	uint32_t steers = atomic_load(&t->run->steers);

	/* the schedule changed (gen_steer): the model acts on it now, not at its next tick */
	if (steers != t->steers_seen && t->started && !t->stopping && !t->ending) {
		t->steers_seen = steers;
		t->model->steered(t);
	}
	if (!atomic_load(&t->run->stop_requested))
		return;
	if (atomic_load(&t->run->stops_asked) > 1)
		gen_thread_stop(t); /* asked twice: no more grace */
	else
		gen_thread_end(t);
}

/* The driver's per-thread state; a thread whose driver cannot start stops its users and
 * says why once for the run. */
static bool start_driver(gen_thread_t *t)
{
	gen_run_t *run = t->run;
	char err[512];

	t->driver_state = run->cfg.driver->thread_start(run->cfg.driver->ctx, t, err, sizeof(err));
	if (t->driver_state)
		return true;
	pthread_mutex_lock(&run->timeline_lock);
	if (!run->driver_error[0])
		snprintf(run->driver_error, sizeof(run->driver_error), "%s", err);
	pthread_mutex_unlock(&run->timeline_lock);
	return false;
}

/* The load begins: the model's users or arrivals start. */
static void start_load(gen_thread_t *t)
{
	t->started = true;
	t->model->start(t);
	gen_thread_maybe_finish(t);
}

static void on_start(loop_t *loop, loop_timer_t *timer)
{
	start_load(timer->ctx);
}

static void *thread_main(void *arg)
{
	gen_thread_t *t = arg;
	gen_run_t *run = t->run;

	/* the kernel's default 50 µs timer slack would show up as lateness in every arrival */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	t->cpu_mark_ns = clock_thread_cpu_ns();
	t->wall_mark_ns = run->start_ns;
	loop_on_wake(t->loop, on_wake, t);
	loop_timer_init(&t->tick, on_tick, t);
	loop_timer_start(t->loop, &t->tick, run->start_ns + NS_PER_S);
	loop_timer_init(&t->deadline, on_deadline, t);
	loop_timer_init(&t->grace, on_grace_over, t);
	loop_timer_init(&t->start, on_start, t);
	if (run->cfg.duration_ns)
		loop_timer_start(t->loop, &t->deadline, run->start_ns + run->cfg.duration_ns);
	for (uint32_t i = 0; i < t->conn_count; i++)
		gen_conn_init(&t->conns[i], t);
	if (run->cfg.driver && !start_driver(t))
		gen_thread_stop(t);
	else if (atomic_load(&run->stop_requested))
		gen_thread_stop(t);
	else if (run->start_ns > clock_now_ns())
		loop_timer_start(t->loop, &t->start, run->start_ns); /* --start-at */
	else
		start_load(t);
	if (!t->end_ns)
		loop_run(t->loop);
	flush_interval(t, true);
	if (t->driver_state) {
		for (uint32_t i = 0; i < t->conn_count; i++)
			if (t->conns[i].user)
				run->cfg.driver->release(&t->conns[i]); /* users still there */
		run->cfg.driver->thread_stop(t->driver_state);
	}
	t->driver_state = NULL;
	t->cpu_ns = clock_thread_cpu_ns();
	atomic_fetch_sub(&run->threads_running, 1);
	return NULL;
}

/* ---- set-up ---- */

http_request_spec_t gen_request_spec(const gen_config_t *cfg)
{
	return (http_request_spec_t){
	    .method = cfg->method,
	    .host = cfg->url.host,
	    .port = cfg->url.port,
	    .tls = cfg->url.tls,
	    .target = cfg->url.target,
	    .headers = cfg->headers,
	    .header_count = (size_t)cfg->header_count,
	    .body = cfg->body,
	    .body_len = cfg->body_len,
	    .has_body = cfg->has_body,
	};
}

static int build_request(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;
	http_request_spec_t spec = gen_request_spec(cfg);
	int rc;

	buf_init(&run->request, REQUEST_MAX);
	rc = http_request_build(&spec, &run->request);
	if (rc == -ENOBUFS)
		snprintf(err, errlen, "the request is larger than %u bytes", REQUEST_MAX);
	else if (rc < 0)
		snprintf(err, errlen, "invalid request: check the method and headers");
	return rc;
}

/* --pipeline N: the request N times over, so that k requests are one write of its first k
 * copies. One at a time (N = 1) needs none. */
static int build_pipelined(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;
	size_t len = run->request.len;

	run->pipeline = cfg->pipeline > 1 ? cfg->pipeline : 1;
	if (run->pipeline == 1)
		return 0;
	if (run->pipeline > GEN_MAX_PIPELINE) {
		snprintf(err, errlen, "pipelining is %u requests at most", GEN_MAX_PIPELINE);
		return -EINVAL;
	}
	if (cfg->open_model || cfg->driver) {
		snprintf(err, errlen,
		         "pipelining is for the closed model's one request (not the "
		         "open model, not a scenario)");
		return -EINVAL;
	}
	if (len * run->pipeline > GEN_PIPELINE_BYTES) {
		snprintf(
		    err, errlen,
		    "pipelining %u requests of %zu bytes is more than the %u MiB they may take: "
		    "pipeline fewer, or send a smaller body",
		    run->pipeline, len, GEN_PIPELINE_BYTES >> 20);
		return -EINVAL;
	}
	buf_init(&run->pipelined, GEN_PIPELINE_BYTES);
	for (uint32_t i = 0; i < run->pipeline; i++)
		if (buf_append(&run->pipelined, run->request.data, len) < 0) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
	return 0;
}

static int init_thread(gen_run_t *run, gen_thread_t *t, int id, uint32_t conns, uint64_t requests)
{
	t->run = run;
	/* the load model: what the connections do when a request ends, driven through its ops */
	t->model = run->cfg.open_model ? &gen_model_open : &gen_model_closed;
	t->id = id;
	t->part = (deal_part_t){(uint32_t)id, run->thread_count};
	t->conn_count = conns;
	t->requests_left = requests;
	t->loop = loop_new();
	t->conns = calloc(conns, sizeof(*t->conns));
	t->read_buffer = malloc(GEN_READ_BUFFER);
	t->latency = calloc(1, sizeof(hist_t));
	t->interval = calloc(1, sizeof(hist_t));
	t->service = calloc(1, sizeof(hist_t));
	t->sched_lag = calloc(1, sizeof(hist_t));
	t->interval_service = calloc(1, sizeof(hist_t));
	t->interval_sched_lag = calloc(1, sizeof(hist_t));
	if (!t->loop || !t->conns || !t->read_buffer || !t->latency || !t->interval ||
	    !t->service || !t->sched_lag || !t->interval_service || !t->interval_sched_lag)
		return -ENOMEM;
	if (run->tls && !run->cfg.h2) { /* gen_h2_conn.c counts no handshakes yet */
		if (!(t->handshake = calloc(1, sizeof(hist_t))))
			return -ENOMEM;
		hist_reset(t->handshake);
	}
	if (run->cfg.group_header) {
		t->groups = calloc(1, sizeof(*t->groups));
		t->captures = calloc(conns, sizeof(*t->captures));
		if (!t->groups || !t->captures)
			return -ENOMEM;
	}
	if (t->model->setup(t) < 0)
		return -ENOMEM;
	if (run->h2 && gen_h2_thread_setup(t) < 0)
		return -ENOMEM;
	if (run->pipeline > 1 &&
	    !(t->pipe_sent = calloc((size_t)conns * run->pipeline, sizeof(*t->pipe_sent))))
		return -ENOMEM;
	hist_reset(t->latency);
	hist_reset(t->interval);
	hist_reset(t->service);
	hist_reset(t->sched_lag);
	hist_reset(t->interval_service);
	hist_reset(t->interval_sched_lag);
	/* one fixed request is one endpoint; a driver names its own */
	if (!run->cfg.driver &&
	    gen_named_endpoint(&t->named, run->cfg.method, run->cfg.url.target) < 0)
		return -ENOMEM;
	return 0;
}

static void free_run(gen_run_t *run)
{
	if (!run)
		return;
	for (uint32_t i = 0; run->threads && i < run->thread_count; i++) {
		gen_thread_t *t = &run->threads[i];

		gen_h2_thread_free(t); /* its connections' watches are on the loop */
		loop_free(t->loop);
		for (uint32_t j = 0; t->conns && j < t->conn_count; j++)
			tls_ticket_free(t->conns[j].ticket);
		free(t->conns);
		free(t->handshake);
		free(t->read_buffer);
		free(t->pipe_sent);
		free(t->latency);
		free(t->interval);
		free(t->service);
		free(t->sched_lag);
		free(t->interval_service);
		free(t->interval_sched_lag);
		gen_delta_free(t);
		if (t->model)
			t->model->teardown(t);
		gen_named_free(&t->named);
		if (t->groups)
			gen_groups_free(t->groups);
		free(t->groups);
		free(t->captures);
	}
	for (int i = 0; i < GEN_TIMELINE_RING; i++)
		free(run->slots[i].hist);
	gen_steer_free(run);
	free(run->threads);
	gen_timeline_free(run);
	buf_free(&run->request);
	buf_free(&run->pipelined);
	gen_h2_run_free(run);
	tls_context_free(run->tls);
	pthread_mutex_destroy(&run->timeline_lock);
	free(run);
}

/* Each connection needs a descriptor: raise the soft limit as far as the hard one allows. */
int gen_fd_limit(uint32_t connections, char *err, size_t errlen)
{
	rlim_t need = (rlim_t)connections + 64;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur >= need)
		return 0;
	snprintf(err, errlen,
	         "%u connections need %llu file descriptors, the limit is %llu (raise it with "
	         "ulimit -n)",
	         connections, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
	return -EMFILE;
}

/* --h2: a plain run or a scenario's users; pipelining is HTTP/1.1's. */
static int check_h2(const gen_config_t *cfg, char *err, size_t errlen)
{
	if (!cfg->h2)
		return 0;
	if (cfg->streams < 1 || cfg->streams > GEN_MAX_STREAMS) {
		snprintf(err, errlen, "HTTP/2 streams per connection: 1 to %u", GEN_MAX_STREAMS);
		return -EINVAL;
	}
	if (cfg->pipeline > 1) {
		snprintf(err, errlen, "HTTP/2 keeps --streams requests in flight: no pipelining");
		return -EINVAL;
	}
	return 0;
}

/* --new-conn-every counts one connection's requests, one after the other: an HTTP/2
 * connection's streams and a pipeline's requests are not. */
static int check_new_conn(const gen_config_t *cfg, char *err, size_t errlen)
{
	if (cfg->new_conn_every && (cfg->h2 || cfg->pipeline > 1)) {
		snprintf(err, errlen,
		         "a new connection every N requests is for HTTP/1.1 one "
		         "request at a time (not HTTP/2, not pipelining)");
		return -EINVAL;
	}
	return 0;
}

/* A run ends by its duration, its request count, or gen_stop when asked for explicitly. */
static int check_end(const gen_config_t *cfg, char *err, size_t errlen)
{
	if (!cfg->duration_ns && !cfg->requests && !cfg->until_stopped) {
		snprintf(err, errlen,
		         "the run has no end: give it a duration, a request count, or run it until "
		         "stopped");
		return -EINVAL;
	}
	if (cfg->until_stopped && (cfg->duration_ns || cfg->requests)) {
		snprintf(err, errlen,
		         "a run until stopped has no duration or request count: give one end");
		return -EINVAL;
	}
	return 0;
}

static int init_run(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;
	uint32_t conns, threads;
	uint64_t requests = deal_share(cfg->requests, cfg->shard);
	int rc;

	if (check_end(cfg, err, errlen) < 0)
		return -EINVAL;
	if ((rc = gen_steer_setup(run, err, errlen)) < 0)
		return rc;
	/* this shard's part of the test, which its threads deal again: connections for every
	 * user the run has room for (a steerable closed run's beyond its start are parked) */
	conns = (uint32_t)deal_share(run->users_max, cfg->shard);
	threads = cfg->threads < conns ? cfg->threads : conns;
	if (cfg->h2) /* whole TCP connections per thread */
		threads = gen_h2_threads(conns, cfg->streams ? cfg->streams : 1, threads);
	if (conns == 0) {
		snprintf(err, errlen, "shard %u/%u has no connection of the %u",
		         cfg->shard.index + 1, cfg->shard.count, run->users_max);
		return -EINVAL;
	}
	if (cfg->requests && requests == 0) {
		snprintf(err, errlen, "shard %u/%u has no request of the %llu",
		         cfg->shard.index + 1, cfg->shard.count, (unsigned long long)cfg->requests);
		return -EINVAL;
	}
	if ((rc = check_h2(cfg, err, errlen)) < 0 || (rc = check_new_conn(cfg, err, errlen)) < 0)
		return rc;
	/* a descriptor per connection: with HTTP/2 one per `streams` streams, and room for a
	 * last, partly filled one (one a thread: more than enough) */
	if (gen_fd_limit(
	        cfg->h2
	            ? (uint32_t)(deal_share(cfg->connections, cfg->shard) / cfg->streams + threads)
	            : (uint32_t)deal_share(cfg->connections, cfg->shard),
	        err, errlen) < 0)
		return -EMFILE;
	if (net_resolve(cfg->url.host, cfg->url.port, &run->addr, err, errlen) < 0)
		return -EINVAL;
	if (cfg->url.tls && !(run->tls = tls_context_new(cfg->insecure, err, errlen)))
		return -EINVAL;
	/* HTTP/1.1's connections; gen_h2_conn.c sets its own (tls_session_busy) */
	if (run->tls && !cfg->h2)
		tls_context_for_http1(run->tls, deal_share(cfg->connections, cfg->shard) <=
		                                    GEN_TLS_KEEP_BUFFERS);
	if (run->tls && !cfg->h2 && !cfg->tls_no_resume)
		tls_context_keep_tickets(run->tls);
	if (cfg->h2 && run->tls && tls_context_offer_h2(run->tls) < 0) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (cfg->h2 && (rc = gen_h2_run_setup(run, err, errlen)) < 0)
		return rc;
	if (build_request(run, err, errlen) < 0)
		return -EINVAL;
	if ((rc = build_pipelined(run, err, errlen)) < 0)
		return rc;
	run->threads = calloc(threads, sizeof(*run->threads));
	if (!run->threads)
		goto nomem;
	run->thread_count = threads;
	for (uint32_t i = 0; i < threads; i++) {
		deal_part_t part = {i, threads};
		uint64_t reqs = cfg->requests ? deal_share(requests, part) : UINT64_MAX;

		/* HTTP/2: whole TCP connections, their streams a slot each */
		uint32_t slots = cfg->h2 ? gen_h2_thread_slots(conns, cfg->streams, part)
		                         : (uint32_t)deal_share(conns, part);

		if (init_thread(run, &run->threads[i], (int)i, slots, reqs) < 0)
			goto nomem;
	}
	for (int i = 0; i < GEN_TIMELINE_RING; i++)
		if (!(run->slots[i].hist = calloc(1, sizeof(hist_t))))
			goto nomem;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory setting up %u connections", conns);
	return -ENOMEM;
}

/* ---- public ---- */

gen_run_t *gen_start(const gen_config_t *cfg, char *err, size_t errlen)
{
	gen_run_t *run = calloc(1, sizeof(*run));

	int rc;

	if (!run) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	run->cfg = *cfg;
	pthread_mutex_init(&run->timeline_lock, NULL);
	for (size_t i = 0;
	     cfg->group_header && cfg->group_header[i] && i < sizeof(run->group_name) - 1; i++)
		run->group_name[i] = (char)tolower((unsigned char)cfg->group_header[i]);
	signal(SIGPIPE, SIG_IGN); /* a peer that resets must not kill the process */
	if ((rc = init_run(run, err, errlen)) < 0) {
		free_run(run);
		errno = -rc;
		return NULL;
	}
	run->start_wall_ns = clock_wall_ns();
	run->start_ns = clock_now_ns();
	if (cfg->start_wall_ns > run->start_wall_ns) {
		/* --start-at: the same instant on the monotonic clock every time is measured by */
		run->start_ns += cfg->start_wall_ns - run->start_wall_ns;
		run->start_wall_ns = cfg->start_wall_ns;
	}
	atomic_store(&run->threads_running, run->thread_count);
	for (uint32_t i = 0; i < run->thread_count; i++) {
		if ((rc = pthread_create(&run->threads[i].tid, NULL, thread_main,
		                         &run->threads[i])) != 0) {
			/* EAGAIN: no memory for its stack or no thread left */
			snprintf(err, errlen, "cannot start thread %u: %s", i,
			         rc == EAGAIN ? "out of memory or threads" : strerror(rc));
			atomic_store(&run->stop_requested, true);
			for (uint32_t j = 0; j < i; j++) {
				loop_wake(run->threads[j].loop);
				pthread_join(run->threads[j].tid, NULL);
			}
			free_run(run);
			errno = rc;
			return NULL;
		}
	}
	return run;
}

void gen_stop(gen_run_t *run)
{
	atomic_fetch_add(&run->stops_asked, 1);
	atomic_store(&run->stop_requested, true);
	for (uint32_t i = 0; i < run->thread_count; i++)
		loop_wake(run->threads[i].loop);
}

bool gen_finished(gen_run_t *run)
{
	return atomic_load(&run->threads_running) == 0;
}

/* The peak RSS of this process image. ru_maxrss survives execve: started by a 300 MB
 * harness, surge would report 300 MB. VmHWM belongs to the address space, new at exec. */
static uint64_t peak_rss_bytes(const struct rusage *ru)
{
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long kib = 0;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %llu kB", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return (kib ? kib : (unsigned long long)ru->ru_maxrss) * 1024;
}

static double process_cpu_s(uint64_t *max_rss)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	*max_rss = peak_rss_bytes(&ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* Each thread's CPU over the whole run, for the result; the verdict itself is decided second
 * by second (gen_selfcheck.c), so that one stall does not condemn a run. */
static void thread_cpu_figures(gen_run_t *run, gen_result_t *out)
{
	for (uint32_t i = 0; i < run->thread_count; i++) {
		gen_thread_t *t = &run->threads[i];
		uint64_t wall = t->end_ns > run->start_ns ? t->end_ns - run->start_ns : 0;
		double busy = wall ? (double)t->cpu_ns / (double)wall : 0;

		busy = busy > 1 ? 1 : busy;
		if (wall < NS_PER_S / 2)
			busy = 0; /* a few requests: start-up costs, not a figure about the run */
		if (out->thread_cpu)
			out->thread_cpu[i] = busy;
		if (busy > out->thread_cpu_max)
			out->thread_cpu_max = busy;
	}
}

int gen_finish(gen_run_t *run, gen_result_t *out)
{
	uint64_t end = run->start_ns;
	hist_t *scratch = malloc(sizeof(hist_t)); /* a thread's sparse figures, expanded */

	memset(out, 0, sizeof(*out));
	out->latency = calloc(1, sizeof(hist_t));
	out->service = calloc(1, sizeof(hist_t));
	out->sched_lag = calloc(1, sizeof(hist_t));
	out->thread_cpu = calloc(run->thread_count, sizeof(double));
	for (uint32_t i = 0; i < run->thread_count; i++)
		pthread_join(run->threads[i].tid, NULL);
	gen_timeline_close(run);
	if (run->tls && !run->cfg.h2 && (out->handshake = calloc(1, sizeof(hist_t))))
		hist_reset(out->handshake);
	if (!out->latency || !out->service || !out->sched_lag || !scratch ||
	    (run->tls && !run->cfg.h2 && !out->handshake)) {
		free(scratch);
		free_run(run);
		gen_result_free(out);
		return -ENOMEM;
	}
	hist_reset(out->latency);
	hist_reset(out->service);
	hist_reset(out->sched_lag);
	if (run->cfg.group_header && !(out->groups = calloc(1, sizeof(*out->groups)))) {
		free(scratch);
		free_run(run);
		gen_result_free(out);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < run->thread_count; i++) {
		gen_thread_t *t = &run->threads[i];

		gen_counters_add(&out->counters, &t->counters);
		out->stream_failed += t->delta.failed;
		out->stream_bytes += gen_delta_bytes(t);
		if ((run->cfg.engine_totals &&
		     gen_delta_named_total(t, &out->named, scratch) < 0) ||
		    (t->groups && gen_groups_merge(out->groups, t->groups) < 0)) {
			free(scratch);
			free_run(run);
			gen_result_free(out);
			return -ENOMEM;
		}
		if (t->loop) {
			loop_io_stats_t s;

			loop_io_stats(t->loop, &s);
			if (!out->io_backend)
				out->io_backend = loop_backend_name(t->loop);
			out->io.turns += s.turns;
			out->io.sq_full_submits += s.sq_full_submits;
			out->io.recv_no_buffer += s.recv_no_buffer;
			out->io.cq_overflow += s.cq_overflow;
			out->io.fallback_loops += s.fallback_loops;
		}
		hist_merge(out->latency, t->latency);
		hist_merge(out->service, t->service);
		hist_merge(out->sched_lag, t->sched_lag);
		if (t->handshake) {
			hist_merge(out->handshake, t->handshake);
			out->tls_handshakes += t->tls_handshakes;
			out->tls_resumed += t->tls_resumed;
		}
		if (t->end_ns > end)
			end = t->end_ns;
	}
	free(scratch);
	thread_cpu_figures(run, out);
	out->started_wall_ns = run->start_wall_ns;
	out->duration_ns = end - run->start_ns;
	out->interrupted = atomic_load(&run->stop_requested);
	gen_timeline_fold_all(run); /* the threads are over: every count is in */
	out->timeline = run->kept;
	out->timeline_len = run->kept_len;
	out->timeline_lost = run->points_lost;
	run->kept = NULL;
	run->kept_len = 0;
	out->saturated = gen_selfcheck_decide(&run->check, &out->saturation);
	out->cpu_s = process_cpu_s(&out->max_rss_bytes);
	out->threads = run->thread_count;
	out->connections = (uint32_t)deal_share(run->cfg.connections, run->cfg.shard);
	memcpy(out->driver_error, run->driver_error, sizeof(out->driver_error));
	if (run->marker_count &&
	    (out->markers = malloc(run->marker_count * sizeof(*out->markers)))) {
		memcpy(out->markers, run->markers, run->marker_count * sizeof(*out->markers));
		out->marker_count = run->marker_count;
	}
	free_run(run);
	return 0;
}

void gen_result_free(gen_result_t *r)
{
	gen_named_free(&r->named);
	if (r->groups)
		gen_groups_free(r->groups);
	free(r->groups);
	free(r->service);
	free(r->sched_lag);
	free(r->handshake);
	free(r->thread_cpu);
	free(r->latency);
	free(r->timeline);
	free(r->markers);
	memset(r, 0, sizeof(*r));
}

uint64_t gen_started_wall_ns(const gen_run_t *run)
{
	return run->start_wall_ns;
}
