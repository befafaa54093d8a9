/* serve_cpu: CPU work at an exact cost — Fibonacci, hashing, JSON building, a precise burn of
 * thread CPU time, and sustained background load on dedicated threads (so request handling
 * keeps going while the cores are busy, as with a noisy neighbour or a batch job). */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/prom_write.h"
#include "serve/serve_internal.h"

#define LOAD_PERIOD_NS   (100 * NS_PER_MS) /* duty cycle period of the background load */
#define LOAD_MAX_THREADS 256

/* The thread's CPU clock is what the kernel charges it, and what cgroups, process_cpu_seconds
 * and a Pod's CPU use add up: so the burn counts by it, and costs the platform what was asked.
 * A virtual CPU the host preempts, or an interrupt served meanwhile, is charged to the thread
 * that was running (steal time is barely accounted on some hosts): the clock then jumps
 * within one step, and a jump in the last step shows as more than asked. The longest step is
 * reported, so that is told apart from a burn that is wrong. */
uint64_t serve_burn_cpu(uint64_t ns, uint64_t *longest_step)
{
	uint64_t start = clock_thread_cpu_ns(), now = start, longest = 0;
	volatile uint64_t sink = 0;

	/* the clock costs a system call: check it every few microseconds of arithmetic */
	while (now - start < ns) {
		uint64_t before = now;

		for (uint64_t i = 0; i < 4000; i++)
			sink += i * i ^ (sink >> 3);
		now = clock_thread_cpu_ns();
		if (now - before > longest)
			longest = now - before;
	}
	if (longest_step)
		*longest_step = longest;
	return now - start;
}

static uint64_t fib(int n)
{
	return n < 2 ? (uint64_t)n : fib(n - 1) + fib(n - 2);
}

static void cpu_intensive(serve_request_t *r)
{
	int64_t n;
	uint64_t t0, value;
	json_writer_t w;

	if (serve_param_int(r, "complexity", 30, 0, 45, &n) < 0)
		return;
	t0 = clock_thread_cpu_ns();
	value = fib((int)n);
	serve_timing(r, "cpu", (clock_thread_cpu_ns() - t0) / 1e6);
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "complexity");
	jsonw_int(&w, n);
	jsonw_key(&w, "fibonacci");
	jsonw_uint(&w, value);
	jsonw_key(&w, "cpu_ms");
	jsonw_double(&w, r->timing[r->timing_count - 1].ms, 3);
	jsonw_object_end(&w);
}

/* SHA-256 fetched once at start-up: SHA256() fetches it inside OpenSSL at every call, and
 * OpenSSL 3.0 initialises its name map lazily at the first fetch, where an allocation that
 * fails leaves a NULL lock it later takes (a crash, found by make alloc-fail) */
static EVP_MD *sha256;

int serve_cpu_start(char *err, size_t errlen)
{
	if (!(sha256 = EVP_MD_fetch(NULL, "SHA256", NULL))) {
		snprintf(err, errlen, "cannot load OpenSSL's SHA-256 (out of memory?)");
		return -1;
	}
	return 0;
}

static void hash(serve_request_t *r)
{
	unsigned char digest[SHA256_DIGEST_LENGTH] = "surge";
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	int64_t iterations;
	uint64_t t0;
	json_writer_t w;

	if (serve_param_int(r, "iterations", 10000, 1, 10000000, &iterations) < 0)
		return;
	t0 = clock_thread_cpu_ns();
	for (int64_t i = 0; i < iterations; i++) {
		if (!EVP_Digest(digest, sizeof(digest), digest, NULL, sha256, NULL)) {
			/* its context could not be allocated: no hash rather than a wrong one */
			serve_reply_error(r, 503, "out of memory hashing");
			return;
		}
	}
	serve_timing(r, "cpu", (clock_thread_cpu_ns() - t0) / 1e6);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "iterations");
	jsonw_int(&w, iterations);
	jsonw_key(&w, "sha256");
	jsonw_string(&w, hex);
	jsonw_object_end(&w);
}

/* Builds a document of `size` records and serializes it, as an API doing JSON work would. */
static void json_processing(serve_request_t *r)
{
	int64_t size;
	uint64_t t0, checksum = 0;
	buf_t doc;
	json_writer_t w;

	if (serve_param_int(r, "size", 1000, 0, 1000000, &size) < 0)
		return;
	t0 = clock_thread_cpu_ns();
	buf_init(&doc, 512u << 20);
	jsonw_init(&w, &doc, false);
	jsonw_array_begin(&w);
	for (int64_t i = 0; i < size; i++) {
		jsonw_object_begin(&w);
		jsonw_key(&w, "id");
		jsonw_int(&w, i);
		jsonw_key(&w, "name");
		jsonw_string(&w, "record");
		jsonw_key(&w, "value");
		jsonw_double(&w, (double)i * 1.5, 3);
		jsonw_key(&w, "tags");
		jsonw_array_begin(&w);
		jsonw_string(&w, "a");
		jsonw_string(&w, "b");
		jsonw_array_end(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	for (size_t i = 0; i < doc.len; i++)
		checksum = checksum * 31 + (unsigned char)doc.data[i];
	serve_timing(r, "cpu", (clock_thread_cpu_ns() - t0) / 1e6);
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "records");
	jsonw_int(&w, size);
	jsonw_key(&w, "bytes");
	jsonw_uint(&w, doc.len);
	jsonw_key(&w, "checksum");
	jsonw_uint(&w, checksum);
	jsonw_object_end(&w);
	buf_free(&doc);
}

static void cpu_exact(serve_request_t *r)
{
	double ms;
	uint64_t ns, burnt, step;
	json_writer_t w;

	if (serve_param_number(r, "ms", 50, 0, 1e9, &ms) < 0)
		return;
	ns = (uint64_t)(ms * 1e6);
	if (ns > serve_state.cfg->max_cpu_ns) {
		ns = serve_state.cfg->max_cpu_ns;
		serve_capped(r, "ms");
	}
	burnt = serve_burn_cpu(ns, &step);
	serve_timing(r, "cpu", burnt / 1e6);
	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "requested_ms");
	jsonw_double(&w, ns / 1e6, 3);
	jsonw_key(&w, "cpu_ms");
	jsonw_double(&w, burnt / 1e6, 3);
	/* cpu_ms exceeds requested_ms by less than this: what a preempted CPU adds shows here */
	jsonw_key(&w, "longest_step_ms");
	jsonw_double(&w, step / 1e6, 3);
	jsonw_object_end(&w);
}

/* ---- background load ---- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	pthread_t threads[LOAD_MAX_THREADS];
	uint32_t running; /* threads started and not joined */
	uint32_t cores;
	double percent;
	uint64_t until_ns;   /* monotonic end of the load */
	uint64_t generation; /* bumped on every stop, so old threads leave */
} load = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};

/* Waits until `when` or until the load is stopped; false when stopped. */
static bool load_wait(uint64_t when, uint64_t generation)
{
	struct timespec ts;
	uint64_t wall = clock_wall_ns() + (when - clock_now_ns());
	bool alive;

	ts.tv_sec = (time_t)(wall / NS_PER_S);
	ts.tv_nsec = (long)(wall % NS_PER_S);
	pthread_mutex_lock(&load.lock);
	while (load.generation == generation && clock_now_ns() < when)
		if (pthread_cond_timedwait(&load.changed, &load.lock, &ts) == ETIMEDOUT)
			break;
	alive = load.generation == generation;
	pthread_mutex_unlock(&load.lock);
	return alive;
}

static void *load_thread(void *arg)
{
	uint64_t generation = (uint64_t)(uintptr_t)arg;

	for (;;) {
		uint64_t period = clock_now_ns();

		pthread_mutex_lock(&load.lock);
		bool go = load.generation == generation && period < load.until_ns;
		double percent = load.percent;
		pthread_mutex_unlock(&load.lock);
		if (!go)
			break;
		serve_burn_cpu((uint64_t)(LOAD_PERIOD_NS * percent / 100), NULL);
		if (!load_wait(period + LOAD_PERIOD_NS, generation))
			break;
	}
	return NULL;
}

/* Stops and joins every load thread. */
static void load_stop(void)
{
	pthread_t threads[LOAD_MAX_THREADS];
	uint32_t n;

	pthread_mutex_lock(&load.lock);
	load.generation++;
	n = load.running;
	memcpy(threads, load.threads, n * sizeof(threads[0]));
	load.running = 0;
	load.cores = 0;
	load.percent = 0;
	pthread_cond_broadcast(&load.changed);
	pthread_mutex_unlock(&load.lock);
	for (uint32_t i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
}

static void load_status(serve_request_t *r, int status)
{
	json_writer_t w;
	uint64_t now = clock_now_ns();

	pthread_mutex_lock(&load.lock);
	bool active = load.running > 0 && now < load.until_ns;
	serve_reply_json(r, status, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "active");
	jsonw_bool(&w, active);
	jsonw_key(&w, "cores");
	jsonw_uint(&w, active ? load.cores : 0);
	jsonw_key(&w, "percent");
	jsonw_double(&w, active ? load.percent : 0, 1);
	jsonw_key(&w, "remaining_s");
	jsonw_double(&w, active ? (load.until_ns - now) / 1e9 : 0, 3);
	jsonw_object_end(&w);
	pthread_mutex_unlock(&load.lock);
}

static void load_start(serve_request_t *r)
{
	int64_t cores;
	double percent;
	uint64_t seconds;
	uint32_t started = 0;

	if (serve_param_int(r, "cores", 1, 1, serve_state.cfg->max_load_cores, &cores) < 0 ||
	    serve_param_number(r, "percent", 100, 1, 100, &percent) < 0 ||
	    serve_param_seconds(r, "seconds", 60 * NS_PER_S, 3600 * NS_PER_S, &seconds) < 0)
		return;
	load_stop(); /* a new load replaces the old one */
	pthread_mutex_lock(&load.lock);
	load.cores = (uint32_t)cores;
	load.percent = percent;
	load.until_ns = clock_now_ns() + seconds;
	for (int64_t i = 0; i < cores; i++) {
		if (pthread_create(&load.threads[started], NULL, load_thread,
		                   (void *)(uintptr_t)load.generation) != 0)
			break;
		started++;
	}
	load.running = started;
	load.cores = started;
	pthread_mutex_unlock(&load.lock);
	if (started < cores)
		serve_log_event(SERVE_LOG_WARN, "load_partial", "started %u of %lld load threads",
		                started, (long long)cores);
	load_status(r, 202);
}

static void load_delete(serve_request_t *r)
{
	load_stop();
	load_status(r, 200);
}

static void load_get(serve_request_t *r)
{
	load_status(r, 200);
}

void serve_cpu_metrics(buf_t *out)
{
	uint64_t now = clock_now_ns();

	pthread_mutex_lock(&load.lock);
	bool active = load.running > 0 && now < load.until_ns;
	prom_metric(out, "surge_background_load_cores", "gauge",
	            "Cores running background CPU load.", active ? load.cores : 0);
	prom_metric(out, "surge_background_load_percent", "gauge",
	            "Duty cycle of each loaded core.", active ? load.percent : 0);
	pthread_mutex_unlock(&load.lock);
}

void serve_cpu_stop(void)
{
	load_stop();
	EVP_MD_free(sha256);
	sha256 = NULL;
}

static const serve_param_doc_t complexity_params[] = {
    {"complexity", "integer", "30", "n of the recursive Fibonacci number computed (0-45)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t hash_params[] = {
    {"iterations", "integer", "10000", "SHA-256 rounds (1-10,000,000)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t json_params[] = {
    {"size", "integer", "1000", "records built and serialized (0-1,000,000)"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t cpu_params[] = {
    {"ms", "number", "50", "milliseconds of this thread's CPU clock to burn, at least"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t load_params[] = {
    {"cores", "integer", "1", "threads to load (at most --max-load-cores)"},
    {"percent", "number", "100", "duty cycle of each thread, 1-100"},
    {"seconds", "seconds", "60", "how long the load lasts (at most 3600)"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_cpu_routes[] = {
    {"GET", "/api/cpu-intensive", "/api/cpu-intensive", cpu_intensive, 0, "recursive Fibonacci",
     complexity_params},
    {"GET", "/api/hash", "/api/hash", hash, 0, "iterated SHA-256", hash_params},
    {"GET", "/api/json-processing", "/api/json-processing", json_processing, 0,
     "build and serialize a JSON document", json_params},
    {"GET", "/api/cpu", "/api/cpu", cpu_exact, 0, "burn ms of this thread's CPU time", cpu_params},
    {"POST", "/api/load/cpu", "/api/load/cpu", load_start, ROUTE_DANGEROUS,
     "start sustained background CPU load", load_params},
    {"DELETE", "/api/load/cpu", "/api/load/cpu", load_delete, 0, "stop the background CPU load",
     NULL},
    {"GET", "/api/load/cpu", "/api/load/cpu", load_get, 0, "the background CPU load now", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
