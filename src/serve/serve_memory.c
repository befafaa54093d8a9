/* serve_memory: memory that shows up in RSS — leaks kept until cleared, spikes held for a
 * while — mapped with mmap and touched page by page so the kernel really backs them, and
 * unmapped on release so RSS falls again. Bounded by --memory-cap (507 beyond it). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/prom_write.h"
#include "serve/serve_internal.h"

#define MIB (1024ULL * 1024)

typedef struct chunk {
	struct chunk *next;
	size_t size;
} chunk_t;

static struct {
	pthread_mutex_t lock;
	chunk_t *leaks;
	uint64_t leaked;
	uint64_t spiking;
	uint64_t leak_count;
} mem = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Reserves bytes against the cap; false when they do not fit. */
static bool reserve(uint64_t bytes, bool leak)
{
	bool ok;

	pthread_mutex_lock(&mem.lock);
	ok = mem.leaked + mem.spiking + bytes <= serve_state.cfg->memory_cap_bytes;
	if (ok)
		*(leak ? &mem.leaked : &mem.spiking) += bytes;
	pthread_mutex_unlock(&mem.lock);
	return ok;
}

static void unreserve(uint64_t bytes, bool leak)
{
	pthread_mutex_lock(&mem.lock);
	*(leak ? &mem.leaked : &mem.spiking) -= bytes;
	pthread_mutex_unlock(&mem.lock);
}

/* A mapping whose every page was written: resident, counted in RSS. */
static void *map_touched(size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	for (size_t off = 0; off < size; off += (size_t)page)
		p[off] = (char)(off >> 12 | 1); /* non-zero: no zero-page or KSM shortcuts */
	return p;
}

static int size_param(serve_request_t *r, uint64_t def_mb, uint64_t *bytes)
{
	double mb;

	if (serve_param_number(r, "size_mb", (double)def_mb, 0.001, 1048576, &mb) < 0)
		return -1;
	*bytes = (uint64_t)(mb * MIB);
	return 0;
}

static void reply_cap(serve_request_t *r, uint64_t bytes)
{
	serve_capped(r, "memory");
	serve_reply_error(
	    r, 507,
	    "memory cap reached (--memory-cap %llu MiB): %llu MiB leaked, %llu MiB in "
	    "spikes, %llu MiB asked",
	    (unsigned long long)(serve_state.cfg->memory_cap_bytes / MIB),
	    (unsigned long long)(mem.leaked / MIB), (unsigned long long)(mem.spiking / MIB),
	    (unsigned long long)(bytes / MIB));
}

static void reply_memory(serve_request_t *r, int status, uint64_t asked)
{
	json_writer_t w;

	pthread_mutex_lock(&mem.lock);
	serve_reply_json(r, status, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "allocated_bytes");
	jsonw_uint(&w, asked);
	jsonw_key(&w, "leaked_bytes");
	jsonw_uint(&w, mem.leaked);
	jsonw_key(&w, "leaks");
	jsonw_uint(&w, mem.leak_count);
	jsonw_key(&w, "spike_bytes");
	jsonw_uint(&w, mem.spiking);
	jsonw_key(&w, "cap_bytes");
	jsonw_uint(&w, serve_state.cfg->memory_cap_bytes);
	jsonw_object_end(&w);
	pthread_mutex_unlock(&mem.lock);
}

static void leak(serve_request_t *r)
{
	uint64_t bytes, t0 = clock_now_ns();
	chunk_t *c;

	if (size_param(r, 10, &bytes) < 0)
		return;
	if (!reserve(bytes, true)) {
		reply_cap(r, bytes);
		return;
	}
	c = map_touched(bytes + sizeof(chunk_t));
	if (!c) {
		unreserve(bytes, true);
		serve_reply_error(r, 507, "the system refused %llu bytes: %s",
		                  (unsigned long long)bytes, strerror(errno));
		return;
	}
	c->size = bytes + sizeof(chunk_t);
	pthread_mutex_lock(&mem.lock);
	c->next = mem.leaks;
	mem.leaks = c;
	mem.leak_count++;
	pthread_mutex_unlock(&mem.lock);
	serve_timing(r, "alloc", (clock_now_ns() - t0) / 1e6);
	reply_memory(r, 200, bytes);
}

typedef struct spike {
	loop_timer_t timer;
	void *p;
	uint64_t bytes;
} spike_t;

static void release_spike(loop_t *loop, loop_timer_t *t)
{
	spike_t *s = t->ctx;

	munmap(s->p, s->bytes);
	unreserve(s->bytes, false);
	free(s);
}

/* Holds the memory for `duration` (the response waits as long), then gives it back. */
static void spike(serve_request_t *r)
{
	uint64_t bytes, hold, t0 = clock_now_ns();
	spike_t *s;

	if (size_param(r, 50, &bytes) < 0 ||
	    serve_param_seconds(r, "duration", 0, serve_state.cfg->max_delay_ns, &hold) < 0)
		return;
	if (!reserve(bytes, false)) {
		reply_cap(r, bytes);
		return;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->p = map_touched(bytes))) {
		free(s);
		unreserve(bytes, false);
		serve_reply_error(r, 507, "the system refused %llu bytes",
		                  (unsigned long long)bytes);
		return;
	}
	s->bytes = bytes;
	serve_timing(r, "alloc", (clock_now_ns() - t0) / 1e6);
	reply_memory(r, 200, bytes);
	loop_timer_init(&s->timer, release_spike, s);
	if (hold) {
		loop_timer_start(r->worker->loop, &s->timer, loop_now(r->worker->loop) + hold);
		r->delay_ns += hold;
	} else {
		release_spike(r->worker->loop, &s->timer);
	}
}

static uint64_t clear_leaks(void)
{
	chunk_t *c;
	uint64_t freed;

	pthread_mutex_lock(&mem.lock);
	c = mem.leaks;
	freed = mem.leaked;
	mem.leaks = NULL;
	mem.leaked = 0;
	mem.leak_count = 0;
	pthread_mutex_unlock(&mem.lock);
	while (c) {
		chunk_t *next = c->next;
		munmap(c, c->size);
		c = next;
	}
	return freed;
}

static void clear(serve_request_t *r)
{
	json_writer_t w;
	uint64_t freed = clear_leaks();

	serve_reply_json(r, 200, &w);
	jsonw_object_begin(&w);
	jsonw_key(&w, "freed_bytes");
	jsonw_uint(&w, freed);
	jsonw_object_end(&w);
}

static void status(serve_request_t *r)
{
	reply_memory(r, 200, 0);
}

void serve_memory_metrics(buf_t *out)
{
	pthread_mutex_lock(&mem.lock);
	prom_metric(out, "surge_leaked_bytes", "gauge",
	            "Memory leaked on purpose (/api/memory-leak).", (double)mem.leaked);
	prom_metric(out, "surge_memory_spike_bytes", "gauge", "Memory held by spikes in progress.",
	            (double)mem.spiking);
	prom_metric(out, "surge_memory_cap_bytes", "gauge", "The --memory-cap.",
	            (double)serve_state.cfg->memory_cap_bytes);
	pthread_mutex_unlock(&mem.lock);
}

void serve_memory_stop(void)
{
	clear_leaks();
}

static const serve_param_doc_t leak_params[] = {
    {"size_mb", "number", "10", "MiB to allocate, touch and keep until /api/clear-memory"},
    {NULL, NULL, NULL, NULL},
};
static const serve_param_doc_t spike_params[] = {
    {"size_mb", "number", "50", "MiB to allocate and touch"},
    {"duration", "seconds", "0", "how long to hold it before giving it back (the response waits)"},
    {NULL, NULL, NULL, NULL},
};

const serve_route_t serve_memory_routes[] = {
    {"GET", "/api/memory-leak", "/api/memory-leak", leak, ROUTE_DANGEROUS, "leak memory on purpose",
     leak_params},
    {"GET", "/api/memory-spike", "/api/memory-spike", spike, ROUTE_DANGEROUS,
     "allocate memory for a while", spike_params},
    {"POST", "/api/clear-memory", "/api/clear-memory", clear, 0, "free every leak", NULL},
    {"GET", "/api/memory", "/api/memory", status, 0, "leaked and spiking memory now", NULL},
    {NULL, NULL, NULL, NULL, 0, NULL, NULL},
};
