/* serve_db_pool: N threads each owning one blocking connection, a bounded FIFO of jobs, and
 * a reaper that fails jobs which waited longer than the timeout — blocking calls never run on
 * an event loop, and completions go back to the request's worker through serve_post. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/prom_write.h"
#include "serve/serve_db.h"

#define POOL_QUEUE_MAX 10000 /* jobs waiting; beyond it 503 at once */
#define JOB_OUT_MAX    (4u << 20)
#define HIST_BUCKETS   10 /* OTel's db.client.* boundaries, then +Inf */

static const double hist_bounds[HIST_BUCKETS - 1] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};
static const char *const op_names[OP_COUNT] = {"SELECT", "INSERT", "UPDATE",
                                               "DELETE", "sleep",  "cache"};

/* Many writers (every pool thread and the reaper): locked adds, off the request path. */
typedef struct pool_hist {
	_Atomic uint64_t count, sum_ns, buckets[HIST_BUCKETS];
} pool_hist_t;

typedef struct pool_thread {
	pthread_t tid;
	void *conn;
	serve_pool_t *pool;
} pool_thread_t;

struct serve_pool {
	serve_pool_config_t cfg;
	pthread_mutex_t lock;
	pthread_cond_t work; /* pool threads: a job arrived */
	pthread_cond_t reap; /* the reaper: the queue's front changed */
	pthread_cond_t wake; /* held connections: stop now */
	serve_job_t *head, *tail;
	uint32_t queued, used, started;
	_Atomic bool stopping;
	bool reaper_started;
	pool_thread_t *threads;
	pthread_t reaper;
	_Atomic uint64_t timeouts, rejected;
	pool_hist_t wait, ops[OP_COUNT];
};

static void hist_record(pool_hist_t *h, uint64_t ns)
{
	int i = 0;

	while (i < HIST_BUCKETS - 1 && ns / 1e9 > hist_bounds[i])
		i++;
	atomic_fetch_add(&h->buckets[i], 1);
	atomic_fetch_add(&h->sum_ns, ns);
	atomic_fetch_add(&h->count, 1);
}

serve_job_t *serve_job_new(serve_request_t *r, enum serve_db_op op)
{
	serve_job_t *job = calloc(1, sizeof(*job));

	if (!job)
		return NULL;
	job->r = r;
	job->op = op;
	job->status = 200;
	buf_init(&job->out, JOB_OUT_MAX);
	return job;
}

void serve_job_free(serve_job_t *job)
{
	buf_free(&job->out);
	free(job->ctx);
	free(job);
}

static void job_done_on_worker(void *arg)
{
	serve_job_t *job = arg;

	if (job->done)
		job->done(job);
	else
		serve_job_reply(job);
}

/* Hands a finished (or failed) job back to its request's worker. The mailbox is bounded: when
 * it is full, this thread waits a little and retries rather than lose the request. */
static void job_complete(serve_pool_t *p, serve_job_t *job)
{
	struct timespec ms = {0, 1000000};

	for (int tries = 0; tries < 10000; tries++) {
		if (p->stopping)
			break; /* the workers have stopped: nobody would run it */
		if (serve_post(job->r->worker, job_done_on_worker, job) == 0)
			return;
		nanosleep(&ms, NULL);
	}
	serve_job_free(job);
}

static void job_fail(serve_pool_t *p, serve_job_t *job, enum serve_job_result why)
{
	job->result = why;
	job->wait_ns = clock_now_ns() - job->enqueued_ns;
	if (why == JOB_TIMEOUT) {
		atomic_fetch_add(&p->timeouts, 1);
		hist_record(&p->wait, job->wait_ns);
	} else {
		atomic_fetch_add(&p->rejected, 1);
	}
	job_complete(p, job);
}

/* Call with the lock held. */
static serve_job_t *queue_pop(serve_pool_t *p)
{
	serve_job_t *job = p->head;

	p->head = job->next;
	if (!p->head)
		p->tail = NULL;
	p->queued--;
	pthread_cond_signal(&p->reap); /* the front changed: a new deadline */
	return job;
}

void serve_pool_submit(serve_pool_t *p, serve_job_t *job)
{
	serve_defer(job->r);
	job->pool = p;
	job->enqueued_ns = clock_now_ns();
	job->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->queued >= POOL_QUEUE_MAX || p->stopping) {
		pthread_mutex_unlock(&p->lock);
		job_fail(p, job, JOB_FULL);
		return;
	}
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	if (p->queued++ == 0)
		pthread_cond_signal(&p->reap);
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

static void run_one(pool_thread_t *t, serve_job_t *job)
{
	serve_pool_t *p = t->pool;
	uint64_t t0 = clock_now_ns();

	job->wait_ns = t0 - job->enqueued_ns;
	hist_record(&p->wait, job->wait_ns);
	job->run(job, t->conn);
	job->run_ns = clock_now_ns() - t0;
	hist_record(&p->ops[job->op], job->run_ns);
}

/* One connection's thread: takes jobs in order; one that already waited past the timeout
 * fails instead of running late. */
static void *pool_thread_main(void *arg)
{
	pool_thread_t *t = arg;
	serve_pool_t *p = t->pool;
	serve_job_t *job;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->stopping && !p->head)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stopping)
			break;
		job = queue_pop(p);
		p->used++;
		pthread_mutex_unlock(&p->lock);
		if (clock_now_ns() - job->enqueued_ns > p->cfg.timeout_ns)
			job_fail(p, job, JOB_TIMEOUT);
		else {
			run_one(t, job);
			job_complete(p, job);
		}
		pthread_mutex_lock(&p->lock);
		p->used--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct timespec abs_time(uint64_t mono_ns)
{
	struct timespec ts = {(time_t)(mono_ns / NS_PER_S), (long)(mono_ns % NS_PER_S)};

	return ts;
}

/* Fails the queue's oldest job the moment its wait passes the timeout: FIFO with one
 * timeout means the front always has the nearest deadline. */
static void *reaper_main(void *arg)
{
	serve_pool_t *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		uint64_t deadline;
		struct timespec ts;

		if (!p->head) {
			pthread_cond_wait(&p->reap, &p->lock);
			continue;
		}
		deadline = p->head->enqueued_ns + p->cfg.timeout_ns;
		if (clock_now_ns() >= deadline) {
			serve_job_t *job = queue_pop(p);
			pthread_mutex_unlock(&p->lock);
			job_fail(p, job, JOB_TIMEOUT);
			pthread_mutex_lock(&p->lock);
			continue;
		}
		ts = abs_time(deadline);
		pthread_cond_timedwait(&p->reap, &p->lock, &ts);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void serve_pool_hold(serve_job_t *job)
{
	serve_pool_t *p = job->pool;
	uint64_t deadline = clock_now_ns() + (uint64_t)(job->hold_s * 1e9);
	struct timespec ts = abs_time(deadline);

	pthread_mutex_lock(&p->lock);
	while (!p->stopping && clock_now_ns() < deadline)
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	pthread_mutex_unlock(&p->lock);
}

static int pool_init_sync(serve_pool_t *p)
{
	pthread_condattr_t attr;

	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* deadlines are clock_now_ns() */
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, &attr);
	pthread_cond_init(&p->reap, &attr);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);
	p->threads = calloc(p->cfg.size, sizeof(*p->threads));
	return p->threads ? 0 : -ENOMEM;
}

serve_pool_t *serve_pool_start(const serve_pool_config_t *cfg, char *err, size_t errlen)
{
	serve_pool_t *p = calloc(1, sizeof(*p));

	if (!p || (p->cfg = *cfg, pool_init_sync(p)) < 0) {
		snprintf(err, errlen, "%s pool: out of memory", cfg->what);
		free(p);
		return NULL;
	}
	for (uint32_t i = 0; i < cfg->size; i++) {
		p->threads[i].pool = p;
		p->threads[i].conn = cfg->connect(cfg->arg, err, errlen);
		if (!p->threads[i].conn)
			goto fail;
		if (pthread_create(&p->threads[i].tid, NULL, pool_thread_main, &p->threads[i])) {
			cfg->close(p->threads[i].conn);
			snprintf(err, errlen, "%s pool: cannot start a thread", cfg->what);
			goto fail;
		}
		p->started++;
	}
	if (pthread_create(&p->reaper, NULL, reaper_main, p)) {
		snprintf(err, errlen, "%s pool: cannot start a thread", cfg->what);
		goto fail;
	}
	p->reaper_started = true;
	return p;
fail:
	serve_pool_stop(p);
	return NULL;
}

void serve_pool_stop(serve_pool_t *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->work);
	pthread_cond_broadcast(&p->reap);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->lock);
	for (uint32_t i = 0; i < p->started; i++) {
		pthread_join(p->threads[i].tid, NULL);
		p->cfg.close(p->threads[i].conn);
	}
	if (p->reaper_started)
		pthread_join(p->reaper, NULL);
	while (p->head) /* the workers are gone: nobody waits for these any more */
		serve_job_free(queue_pop(p));
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->reap);
	pthread_cond_destroy(&p->wake);
	free(p->threads);
	free(p);
}

void serve_job_reply(serve_job_t *job)
{
	serve_request_t *r = job->r;
	serve_pool_t *p = job->pool;
	json_writer_t w;

	if (job->result == JOB_TIMEOUT)
		serve_reply_error(r, 503,
		                  "%s pool exhausted: waited %.1fs for one of %u connections (%s)",
		                  p->cfg.what, job->wait_ns / 1e9, p->cfg.size, p->cfg.option);
	else if (job->result == JOB_FULL)
		serve_reply_error(r, 503, "%s queue full: %d requests already wait (or stopping)",
		                  p->cfg.what, POOL_QUEUE_MAX);
	else if (job->result == JOB_ERROR || job->status >= 400)
		serve_reply_error(r, job->status >= 400 ? job->status : 500, "%s", job->err);
	else {
		serve_reply_json(r, job->status, &w);
		jsonw_raw(&w, job->out.data ? job->out.data : "null",
		          job->out.len ? job->out.len : 4);
	}
	serve_timing(r, "db", (job->wait_ns + job->run_ns) / 1e6);
	serve_timing(r, "db-wait", job->wait_ns / 1e6);
	serve_resume(r);
	serve_job_free(job);
}

static void hist_render(buf_t *out, const char *name, const char *labels, pool_hist_t *h)
{
	uint64_t counts[HIST_BUCKETS], total = 0;

	for (int i = 0; i < HIST_BUCKETS; i++)
		total += counts[i] = atomic_load(&h->buckets[i]);
	prom_histogram(out, name, labels, hist_bounds, NULL, HIST_BUCKETS - 1, counts, total,
	               atomic_load(&h->sum_ns) / 1e9);
}

static void pool_gauges(serve_pool_t *p, const char *l, buf_t *out)
{
	uint32_t used, queued;
	char state[256];

	pthread_mutex_lock(&p->lock);
	used = p->used;
	queued = p->queued;
	pthread_mutex_unlock(&p->lock);
	snprintf(state, sizeof(state), "%s,db_client_connection_state=\"idle\"", l);
	prom_family(out, "db_client_connections_usage", "gauge",
	            "Database connections by state (OTel's db.client.connection.count; promtool "
	            "forbids a _count gauge).");
	prom_sample(out, "db_client_connections_usage", state, p->cfg.size - used);
	snprintf(state, sizeof(state), "%s,db_client_connection_state=\"used\"", l);
	prom_sample(out, "db_client_connections_usage", state, used);
	prom_family(out, "db_client_connection_max", "gauge", "The pool's size (--db-pool).");
	prom_sample(out, "db_client_connection_max", l, p->cfg.size);
	prom_family(out, "db_client_connection_pending_requests", "gauge",
	            "Requests waiting for a connection.");
	prom_sample(out, "db_client_connection_pending_requests", l, queued);
	prom_family(out, "db_client_connection_timeouts_total", "counter",
	            "Waits that passed --db-timeout (503).");
	prom_sample(out, "db_client_connection_timeouts_total", l,
	            (double)atomic_load(&p->timeouts));
	prom_family(out, "surge_db_queue_rejected_total", "counter",
	            "Jobs refused at once: the queue was full.");
	prom_sample(out, "surge_db_queue_rejected_total", l, (double)atomic_load(&p->rejected));
}

void serve_pool_metrics(serve_pool_t *p, const char *system, buf_t *out)
{
	char labels[128], op_labels[192];

	snprintf(labels, sizeof(labels),
	         "db_system_name=\"%s\",db_client_connection_pool_name=\"surge\"", system);
	pool_gauges(p, labels, out);
	prom_family(out, "db_client_connection_wait_time_seconds", "histogram",
	            "Time to get a connection.");
	hist_render(out, "db_client_connection_wait_time_seconds", labels, &p->wait);
	prom_family(out, "db_client_operation_duration_seconds", "histogram",
	            "Database operations, with the connection in hand.");
	for (int i = 0; i < OP_COUNT; i++) {
		if (i == OP_CACHE)
			continue;
		snprintf(op_labels, sizeof(op_labels),
		         "db_system_name=\"%s\",db_operation_name=\"%s\"", system, op_names[i]);
		hist_render(out, "db_client_operation_duration_seconds", op_labels, &p->ops[i]);
	}
}
