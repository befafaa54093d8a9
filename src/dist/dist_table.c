/* dist_table: the coordinator's shard table (see dist.h) — joins (an index each, the start
 * once all are in), batches (checked whole, then every second handed to the consumer as if
 * one engine had produced them all), which second is whole, and who fell silent. One mutex;
 * the consumer is called under it. Nothing a shard sends is trusted: every field is checked
 * for its type and range before anything is added, and a batch is added whole or not at all. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "core/json.h"
#include "core/version.h"
#include "dist/dist.h"
#include "dist/dist_sum.h"

#define DIST_WIRE_POOL 4 /* a batch's seconds decoded at once: a shard sends one a second */

/* What a shard says of itself at the end (its "final" object). */
typedef struct final {
	uint64_t started_ns;
	double duration_s;
	bool interrupted;
	double cpu_s;
	uint64_t max_rss_bytes, threads, connections;
	double thread_cpu_max;
	double thread_cpu[GEN_MAX_THREADS];
	uint32_t thread_cpu_count;
	bool saturated;
	gen_saturation_t saturation;
	uint64_t deltas_lost;
} final_t;

typedef struct shard {
	bool used;
	enum dist_shard_state state;
	char id[DIST_ID_LEN + 1];
	char name[DIST_NAME_MAX + 1];
	uint64_t heard_ns; /* the last request from it, monotonic */
	uint64_t seq;      /* the last batch taken */
	int64_t last_second;
	int64_t lost_from;
	bool has_final;
	final_t fin;
	uint64_t batches, duplicates;
	dist_second_view_t latest; /* its latest second's own figures, for the UI's Shards tab */
} shard_t;

struct dist_table {
	pthread_mutex_t lock;
	dist_table_config_t cfg;
	char *config_json;
	shard_t *shards; /* by index */
	uint32_t joined;
	enum dist_phase phase;
	uint64_t start_ns;      /* wall clock */
	uint64_t start_mono_ns; /* the same on the callers' monotonic clock */
	bool stop;
	bool closed;     /* the run is over: nothing more is taken */
	double *targets; /* per second: the shards' asked users or rate, each counted once */
	size_t target_cap;
	int64_t whole_upto; /* seconds up to here were given to second_done */
	dist_sum_t *sum;    /* the seconds not whole yet, summed over the shards */
	/* a batch's seconds decoded (reused: no allocation per second); a batch of more is
	 * checked whole first and then decoded again one by one as it is added */
	delta_wire_t wire[DIST_WIRE_POOL];
};

static void note(dist_table_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(dist_table_t *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!t->cfg.note)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t->cfg.note(t->cfg.note_ctx, line);
}

dist_table_t *dist_table_new(const dist_table_config_t *cfg)
{
	dist_table_t *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->cfg = *cfg;
	if (!t->cfg.silence_ns)
		t->cfg.silence_ns = DIST_SILENCE_NS;
	if (!t->cfg.start_lead_ns)
		t->cfg.start_lead_ns = DIST_START_LEAD_NS;
	t->shards = calloc(cfg->shards ? cfg->shards : 1, sizeof(*t->shards));
	t->config_json = malloc(cfg->config_len + 1);
	t->sum = dist_sum_new();
	if (!t->shards || !t->config_json || !t->sum) {
		free(t->shards);
		free(t->config_json);
		dist_sum_free(t->sum);
		free(t);
		return NULL;
	}
	for (int i = 0; i < DIST_WIRE_POOL; i++)
		delta_wire_init(&t->wire[i]);
	memcpy(t->config_json, cfg->config_json, cfg->config_len);
	t->config_json[cfg->config_len] = '\0';
	t->cfg.config_json = t->config_json;
	t->whole_upto = -1;
	pthread_mutex_init(&t->lock, NULL);
	return t;
}

void dist_table_free(dist_table_t *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->shards);
	free(t->config_json);
	free(t->targets);
	dist_sum_free(t->sum);
	for (int i = 0; i < DIST_WIRE_POOL; i++)
		delta_wire_free(&t->wire[i]);
	free(t);
}

/* ---- checks of what a shard sends ---- */

static bool is_id(const json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || json_string_length(v) != DIST_ID_LEN)
		return false;
	for (size_t i = 0; i < DIST_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A name for messages: printable ASCII, cut at DIST_NAME_MAX; "?" when none. */
static void name_of(const json_t *v, char *out)
{
	const char *s = json_string_value(v);
	size_t n = 0;

	for (size_t i = 0; s && s[i] && n < DIST_NAME_MAX; i++)
		out[n++] = s[i] > ' ' && s[i] < 127 ? s[i] : '?';
	out[n] = '\0';
	if (!n)
		snprintf(out, DIST_NAME_MAX + 1, "?");
}

static shard_t *by_id(dist_table_t *t, const char *id)
{
	for (uint32_t i = 0; i < t->cfg.shards; i++)
		if (t->shards[i].used && strcmp(t->shards[i].id, id) == 0)
			return &t->shards[i];
	return NULL;
}

static uint32_t index_of(const dist_table_t *t, const shard_t *s)
{
	return (uint32_t)(s - t->shards);
}

/* ---- join ---- */

static void write_join_reply(dist_table_t *t, const shard_t *s, bool with_config, buf_t *reply)
{
	json_writer_t w;

	jsonw_init(&w, reply, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "wire");
	jsonw_uint(&w, DIST_WIRE_VERSION);
	jsonw_key(&w, "version");
	jsonw_string(&w, surge_version);
	jsonw_key(&w, "index");
	jsonw_uint(&w, index_of(t, s));
	jsonw_key(&w, "count");
	jsonw_uint(&w, t->cfg.shards);
	jsonw_key(&w, "start_ns");
	if (t->start_ns)
		jsonw_uint(&w, t->start_ns);
	else
		jsonw_null(&w);
	jsonw_key(&w, "stop");
	jsonw_bool(&w, t->stop);
	jsonw_key(&w, "silence_ms");
	jsonw_uint(&w, t->cfg.silence_ns / NS_PER_MS);
	if (with_config) { /* once: a shard that has the test says so when it asks again */
		jsonw_key(&w, "config");
		jsonw_raw(&w, t->config_json, t->cfg.config_len);
	}
	jsonw_object_end(&w);
}

/* Which place a new shard takes: the index it asks (JOB_COMPLETION_INDEX) or the first free.
 * NULL with an HTTP status in *status and err. */
static shard_t *place_for(dist_table_t *t, const json_t *index, const char *name, int *status,
                          char *err, size_t errlen)
{
	uint32_t n = t->cfg.shards;

	if (t->phase != DIST_PHASE_JOINING) {
		snprintf(err, errlen,
		         "the test has started with its %u shards: '%s' joins late and is refused",
		         n, name);
		*status = 409;
		return NULL;
	}
	if (index) {
		json_int_t i = json_integer_value(index);

		if (!json_is_integer(index) || i < 0 || i >= (json_int_t)n) {
			snprintf(err, errlen, "index: expected 0 to %u (the test has %u shards)",
			         n - 1, n);
			*status = 400;
			return NULL;
		}
		if (t->shards[i].used) {
			snprintf(err, errlen,
			         "shard %lld/%u has joined already (from %s): '%s' is a duplicate "
			         "and is refused",
			         (long long)i + 1, n, t->shards[i].name, name);
			*status = 409;
			return NULL;
		}
		return &t->shards[i];
	}
	for (uint32_t i = 0; i < n; i++)
		if (!t->shards[i].used)
			return &t->shards[i];
	snprintf(err, errlen, "the test has its %u shards: '%s' is one too many and is refused", n,
	         name);
	*status = 409;
	return NULL;
}

int dist_table_join(dist_table_t *t, const json_t *args, uint64_t now_ns, buf_t *reply, char *err,
                    size_t errlen)
{
	const json_t *wire = json_object_get(args, "wire"), *id = json_object_get(args, "id");
	const char *version = json_string_value(json_object_get(args, "version"));
	char name[DIST_NAME_MAX + 1];
	shard_t *s;
	int status = 0;

	name_of(json_object_get(args, "name"), name);
	if (!json_is_integer(wire) || json_integer_value(wire) != DIST_WIRE_VERSION) {
		snprintf(
		    err, errlen,
		    "'%s' speaks wire version %s (surge %s); this coordinator speaks %d (surge "
		    "%s): run the same surge everywhere",
		    name, json_is_integer(wire) ? "another" : "none",
		    version ? ECHO(version) : "unknown", DIST_WIRE_VERSION, surge_version);
		return 400;
	}
	if (!is_id(id)) {
		snprintf(err, errlen, "id: expected %d hex digits (the shard's own, random)",
		         DIST_ID_LEN);
		return 400;
	}
	pthread_mutex_lock(&t->lock);
	if (t->closed) {
		pthread_mutex_unlock(&t->lock);
		snprintf(err, errlen, "the test is over: '%s' is refused", name);
		return 409;
	}
	if (!(s = by_id(t, json_string_value(id)))) {
		s = place_for(t, json_object_get(args, "index"), name, &status, err, errlen);
		if (!s) {
			pthread_mutex_unlock(&t->lock);
			note(t, "refused a shard: %s", err);
			return status;
		}
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->state = DIST_SHARD_JOINED;
		s->last_second = -1;
		s->latest.second = -1;
		memcpy(s->id, json_string_value(id), DIST_ID_LEN + 1);
		memcpy(s->name, name, sizeof(name));
		t->joined++;
		note(t, "shard %u/%u joined: %s%s%s", index_of(t, s) + 1, t->cfg.shards, name,
		     version && strcmp(version, surge_version) ? " (surge " : "",
		     version && strcmp(version, surge_version) ? ECHO(version) : "");
		if (t->joined == t->cfg.shards) {
			uint64_t wall = t->cfg.wall_ns ? t->cfg.wall_ns() : clock_wall_ns();

			/* whole microseconds: a shard's document writes started_at to the µs */
			t->start_ns = (wall + t->cfg.start_lead_ns) / NS_PER_US * NS_PER_US;
			t->phase = DIST_PHASE_STARTING;
			t->start_mono_ns = now_ns + t->cfg.start_lead_ns;
		}
	}
	s->heard_ns = now_ns;
	write_join_reply(t, s, !json_is_true(json_object_get(args, "have_config")), reply);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

/* ---- batches ---- */

static bool read_uint(const json_t *o, const char *key, uint64_t max, uint64_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

static bool read_number(const json_t *o, const char *key, double max, double *out)
{
	const json_t *v = json_object_get(o, key);
	double x = json_is_number(v) ? json_number_value(v) : NAN;

	if (!(x >= 0 && x <= max))
		return false;
	*out = x;
	return true;
}

/* The "final" object, every field in range; else false with the key in err. */
static bool read_final(const json_t *o, final_t *f, char *err, size_t errlen)
{
	const json_t *sat = json_object_get(o, "saturation"),
	             *cpu = json_object_get(o, "thread_cpu");
	const char *bad = NULL;
	uint64_t v;
	size_t i;
	json_t *x;

	memset(f, 0, sizeof(*f));
	if (!json_is_object(o))
		bad = "final";
	else if (!read_uint(o, "started_ns", INT64_MAX, &f->started_ns))
		bad = "final.started_ns";
	else if (!read_number(o, "duration_s", 1e9, &f->duration_s))
		bad = "final.duration_s";
	else if (!json_is_boolean(json_object_get(o, "interrupted")))
		bad = "final.interrupted";
	else if (!read_number(o, "cpu_s", 1e12, &f->cpu_s))
		bad = "final.cpu_s";
	else if (!read_uint(o, "max_rss_bytes", INT64_MAX, &f->max_rss_bytes))
		bad = "final.max_rss_bytes";
	else if (!read_uint(o, "threads", GEN_MAX_THREADS, &f->threads))
		bad = "final.threads";
	else if (!read_uint(o, "connections", GEN_MAX_CONNECTIONS, &f->connections))
		bad = "final.connections";
	else if (!read_number(o, "thread_cpu_max", 1024, &f->thread_cpu_max))
		bad = "final.thread_cpu_max";
	else if (!json_is_array(cpu) || json_array_size(cpu) > GEN_MAX_THREADS)
		bad = "final.thread_cpu";
	else if (!json_is_boolean(json_object_get(o, "saturated")))
		bad = "final.saturated";
	else if (!json_is_object(sat) || !read_uint(sat, "criterion", GEN_SAT_SCHEDULE_LAG, &v))
		bad = "final.saturation";
	else if (!read_uint(o, "deltas_lost", INT64_MAX, &f->deltas_lost))
		bad = "final.deltas_lost";
	if (!bad) {
		uint64_t seconds = 0, consecutive = 0, whole = 0;

		f->interrupted = json_is_true(json_object_get(o, "interrupted"));
		f->saturated = json_is_true(json_object_get(o, "saturated"));
		f->saturation.criterion = (enum gen_saturation_criterion)v;
		if (!read_uint(sat, "seconds", UINT32_MAX, &seconds) ||
		    !read_uint(sat, "consecutive", UINT32_MAX, &consecutive) ||
		    !read_uint(sat, "whole_seconds", UINT32_MAX, &whole) ||
		    !read_number(sat, "first_s", 1e9, &f->saturation.first_s) ||
		    !read_number(sat, "worst", 1024, &f->saturation.worst))
			bad = "final.saturation";
		f->saturation.seconds = (uint32_t)seconds;
		f->saturation.consecutive = (uint32_t)consecutive;
		f->saturation.whole_seconds = (uint32_t)whole;
	}
	json_array_foreach(bad ? NULL : cpu, i, x)
	{
		if (!json_is_number(x) ||
		    !(json_number_value(x) >= 0 && json_number_value(x) <= 1024)) {
			bad = "final.thread_cpu";
			break;
		}
		f->thread_cpu[f->thread_cpu_count++] = json_number_value(x);
	}
	if (bad)
		snprintf(err, errlen, "%s: missing or out of range", bad);
	return !bad;
}

/* Room for the targets of seconds up to `second`. */
static bool targets_to(dist_table_t *t, int64_t second)
{
	size_t need = (size_t)second + 1, cap = t->target_cap ? t->target_cap : 64;
	double *grown;

	if (need <= t->target_cap)
		return true;
	while (cap < need)
		cap *= 2;
	if (!(grown = realloc(t->targets, cap * sizeof(*grown))))
		return false;
	memset(grown + t->target_cap, 0, (cap - t->target_cap) * sizeof(*grown));
	t->targets = grown;
	t->target_cap = cap;
	return true;
}

/* A second the sums hand over (dist_sum_flush), with the fleet's target. */
static void hand_over(void *ctx, delta_t *d)
{
	dist_table_t *t = ctx;

	d->target = (size_t)d->second < t->target_cap ? t->targets[d->second] : 0;
	if (t->cfg.consumer)
		t->cfg.consumer->second(t->cfg.consumer->ctx, d);
}

/* Every second summed up to `upto` handed over. */
static void flush_sums(dist_table_t *t, int64_t upto)
{
	if (dist_sum_flush(t->sum, upto, hand_over, t) < 0)
		note(t, "out of memory: a second's histograms summed over the shards are lost (its "
		        "counts are not)");
}

/* The seconds every shard still running has sent are whole: their sums handed over, then
 * second_done, in order. When none is running any more, every second sent is. */
static void advance_whole(dist_table_t *t)
{
	int64_t upto = INT64_MAX, latest = -1;
	bool running = false;

	if (t->phase == DIST_PHASE_JOINING)
		return;
	for (uint32_t i = 0; i < t->cfg.shards; i++) {
		const shard_t *s = &t->shards[i];

		if (!s->used)
			continue;
		if (s->last_second > latest)
			latest = s->last_second;
		if (s->state == DIST_SHARD_JOINED || s->state == DIST_SHARD_RUNNING) {
			running = true;
			if (s->last_second < upto)
				upto = s->last_second;
		}
	}
	if (!running)
		upto = latest;
	flush_sums(t, upto);
	for (int64_t s = t->whole_upto + 1; s <= upto; s++)
		if (t->cfg.consumer && t->cfg.consumer->second_done)
			t->cfg.consumer->second_done(t->cfg.consumer->ctx, s);
	if (upto > t->whole_upto)
		t->whole_upto = upto;
}

/* Adds one checked second of the shard's: its target counted once per second (the whole's
 * target is the sum of its parts', as surge merge adds them), its figures into the second's
 * sum — or, for a second already whole or one the sums cannot take, to the consumer as it
 * came (exact either way). 0 or -ENOMEM. */
static int add_second(dist_table_t *t, shard_t *s, const delta_wire_t *w)
{
	const delta_t *d = &w->d;
	delta_t as_is;

	if (!targets_to(t, d->second))
		return -ENOMEM;
	if (d->second > s->last_second) { /* its first part of this second */
		t->targets[d->second] += d->target;
		s->last_second = d->second;
	}
	if (d->second >= s->latest.second) /* a shard sends each second whole, once */
		s->latest = (dist_second_view_t){.second = d->second,
		                                 .length_s = d->length_s,
		                                 .users = d->users,
		                                 .target = d->target,
		                                 .requests = result_requests(&d->counters),
		                                 .errors = d->counters.errors,
		                                 .busiest_cpu = d->busiest_cpu};
	if (d->second > t->whole_upto && dist_sum_add(t->sum, d, w->codes) == 0)
		return 0;
	as_is = *d;
	hand_over(t, &as_is);
	return 0;
}

/* Decodes the batch's i-th second (bytes) into w; 0, or 400/503 with err naming the shard and
 * the second (built only then: a good batch costs no formatting). */
static int decode_second(const dist_table_t *t, const shard_t *s, size_t i, const uint8_t *bytes,
                         size_t len, delta_wire_t *w, char *err, size_t errlen)
{
	static const char name[] = "deltas";
	char said[512];
	int rc = delta_wire_decode(name, bytes, len, w, said, sizeof(said));

	if (rc == 0)
		return 0;
	/* "deltas: field: why" with the shard and the second's place put in */
	snprintf(err, errlen, "shard %u/%u (%s): %s[%zu]%s", index_of(t, s) + 1, t->cfg.shards,
	         s->name, name, i, said + strnlen(said, sizeof(name) - 1));
	return rc == -ENOMEM ? 503 : 400;
}

/* Every second of the batch checked, then added: a batch is added whole or not at all. The
 * few seconds a shard sends at once are decoded once (into the pool); a longer batch (a
 * shard catching up) is checked whole, then decoded again second by second as it is added.
 * 0, or 400/503 with err. */
static int take_batch(dist_table_t *t, shard_t *s, const dist_batch_t *b, char *err, size_t errlen)
{
	bool again = b->count > DIST_WIRE_POOL;
	const uint8_t *at = NULL, *bytes;
	size_t len, i;
	int rc;

	for (i = 0; dist_batch_second(b, &at, &bytes, &len); i++)
		if ((rc = decode_second(t, s, i, bytes, len, &t->wire[again ? 0 : i], err,
		                        errlen)) != 0)
			return rc;
	for (i = 0, at = NULL; dist_batch_second(b, &at, &bytes, &len); i++) {
		if (again &&
		    (rc = decode_second(t, s, i, bytes, len, &t->wire[0], err, errlen)) != 0)
			return rc; /* checked above: only memory can fail now */
		if (add_second(t, s, &t->wire[again ? 0 : i]) < 0) {
			snprintf(err, errlen, "out of memory");
			return 503;
		}
	}
	return 0;
}

static void write_ack(const dist_table_t *t, buf_t *reply)
{
	buf_append_str(reply,
	               t->stop ? "{\"ok\":true,\"stop\":true}" : "{\"ok\":true,\"stop\":false}");
}

/* Batch checks against the shard's state: 0 to add it, -1 when it was answered (a duplicate),
 * or an HTTP status with err. */
static int batch_allowed(const dist_table_t *t, shard_t *s, uint64_t seq, buf_t *reply, char *err,
                         size_t errlen)
{
	if (s->state == DIST_SHARD_LOST) {
		snprintf(
		    err, errlen,
		    "shard %u/%u (%s) was given up as lost: nothing heard for %.1f s while "
		    "running; its figures are not taken any more (its own result file has them)",
		    index_of(t, s) + 1, t->cfg.shards, s->name,
		    (double)t->cfg.silence_ns / NS_PER_S);
		return 409;
	}
	if (seq <= s->seq) { /* sent again: its answer was lost */
		s->duplicates++;
		write_ack(t, reply);
		return -1;
	}
	if (s->state == DIST_SHARD_DONE || seq != s->seq + 1) {
		snprintf(err, errlen, "batch %llu out of order: the next from shard %u/%u is %llu",
		         (unsigned long long)seq, index_of(t, s) + 1, t->cfg.shards,
		         (unsigned long long)(s->state == DIST_SHARD_DONE ? 0 : s->seq + 1));
		return 409;
	}
	return 0;
}

/* The final figures' JSON (a few hundred bytes, once per shard) read; false with err. */
static bool parse_final(const dist_batch_t *b, final_t *f, char *err, size_t errlen)
{
	json_t *doc = json_loadb(b->final, b->final_len, JSON_REJECT_DUPLICATES, NULL);
	bool ok = read_final(doc, f, err, errlen);

	json_decref(doc);
	return ok;
}

int dist_table_deltas(dist_table_t *t, const uint8_t *body, size_t len, uint64_t now_ns,
                      buf_t *reply, char *err, size_t errlen)
{
	dist_batch_t b;
	final_t f;
	shard_t *s;
	int rc;

	if (dist_batch_read(body, len, &b, err, errlen) < 0)
		return 400;
	if (b.final && !parse_final(&b, &f, err, errlen))
		return 400;
	pthread_mutex_lock(&t->lock);
	if (t->closed) {
		pthread_mutex_unlock(&t->lock);
		snprintf(err, errlen, "the test is over: its result is written without this batch");
		return 409;
	}
	if (!(s = by_id(t, b.id))) {
		pthread_mutex_unlock(&t->lock);
		snprintf(err, errlen, "no shard joined with this id: join first");
		return 404;
	}
	s->heard_ns = now_ns;
	if ((rc = batch_allowed(t, s, b.seq, reply, err, errlen)) != 0) {
		pthread_mutex_unlock(&t->lock);
		return rc < 0 ? 0 : rc;
	}
	rc = take_batch(t, s, &b, err, errlen);
	if (rc == 0) {
		s->seq = b.seq;
		s->batches++;
		if (s->state == DIST_SHARD_JOINED)
			s->state = DIST_SHARD_RUNNING;
		if (b.final) {
			s->fin = f;
			s->has_final = true;
			s->state = DIST_SHARD_DONE;
			note(t, "shard %u/%u done: %s", index_of(t, s) + 1, t->cfg.shards, s->name);
		}
		advance_whole(t);
		write_ack(t, reply);
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- the main thread's view ---- */

enum dist_phase dist_table_tick(dist_table_t *t, uint64_t now_ns)
{
	bool over = true;
	enum dist_phase phase;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->cfg.shards; i++) {
		shard_t *s = &t->shards[i];
		bool silent = now_ns > s->heard_ns + t->cfg.silence_ns;

		if (!s->used)
			continue;
		if (t->phase == DIST_PHASE_JOINING && silent) {
			note(
			    t,
			    "shard %u/%u (%s) left before the start: nothing heard for %.1f s; its "
			    "place is free",
			    i + 1, t->cfg.shards, s->name, (double)t->cfg.silence_ns / NS_PER_S);
			s->used = false;
			t->joined--;
			continue;
		}
		if (t->phase != DIST_PHASE_JOINING && silent &&
		    (s->state == DIST_SHARD_JOINED || s->state == DIST_SHARD_RUNNING)) {
			s->state = DIST_SHARD_LOST;
			s->lost_from = s->last_second + 1;
			note(t,
			     "shard %u/%u (%s) lost: nothing heard for %.1f s; the run goes on "
			     "without it, incomplete from second %lld",
			     i + 1, t->cfg.shards, s->name, (double)t->cfg.silence_ns / NS_PER_S,
			     (long long)s->lost_from);
		}
		over &= s->state == DIST_SHARD_DONE || s->state == DIST_SHARD_LOST;
	}
	if (t->phase == DIST_PHASE_STARTING && now_ns >= t->start_mono_ns)
		t->phase = DIST_PHASE_RUNNING;
	if (t->phase != DIST_PHASE_JOINING && over)
		t->phase = DIST_PHASE_OVER;
	advance_whole(t);
	phase = t->phase;
	pthread_mutex_unlock(&t->lock);
	return phase;
}

uint64_t dist_table_start_ns(dist_table_t *t)
{
	uint64_t at;

	pthread_mutex_lock(&t->lock);
	at = t->start_ns;
	pthread_mutex_unlock(&t->lock);
	return at;
}

void dist_table_close(dist_table_t *t)
{
	pthread_mutex_lock(&t->lock);
	t->closed = true;
	flush_sums(t, INT64_MAX); /* the seconds not whole yet (the run ended first) are kept */
	pthread_mutex_unlock(&t->lock);
}

void dist_table_stop(dist_table_t *t)
{
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_mutex_unlock(&t->lock);
}

void dist_table_missing(dist_table_t *t, char *out, size_t len)
{
	size_t used;
	uint32_t shown = 0;

	pthread_mutex_lock(&t->lock);
	used = (size_t)snprintf(out, len, "%u of %u shards joined", t->joined, t->cfg.shards);
	for (uint32_t i = 0; i < t->cfg.shards && used < len; i++)
		if (t->shards[i].used && shown++ < 8)
			used += (size_t)snprintf(out + used, len - used, "%s%u/%u %s",
			                         shown == 1 ? " (" : ", ", i + 1, t->cfg.shards,
			                         t->shards[i].name);
	if (shown && used < len)
		used += (size_t)snprintf(out + used, len - used, "%s)", shown > 8 ? ", ..." : "");
	shown = 0;
	for (uint32_t i = 0; i < t->cfg.shards && used < len; i++)
		if (!t->shards[i].used && shown++ < 8)
			used += (size_t)snprintf(out + used, len - used, "%s%u/%u",
			                         shown == 1 ? "; missing: " : ", ", i + 1,
			                         t->cfg.shards);
	if (shown > 8 && used < len)
		snprintf(out + used, len - used, ", ... (%u in all)", t->cfg.shards - t->joined);
	pthread_mutex_unlock(&t->lock);
}

uint32_t dist_table_shards(dist_table_t *t, dist_shard_view_t *out, uint32_t max)
{
	uint32_t n = 0;

	pthread_mutex_lock(&t->lock);
	for (uint32_t i = 0; i < t->cfg.shards; i++) {
		const shard_t *s = &t->shards[i];

		if (!s->used)
			continue;
		if (n < max)
			out[n] = (dist_shard_view_t){.index = i,
			                             .state = s->state,
			                             .last_second = s->last_second,
			                             .batches = s->batches,
			                             .duplicates = s->duplicates,
			                             .latest = s->latest,
			                             .has_final = s->has_final,
			                             .saturated = s->has_final && s->fin.saturated,
			                             .cpu_s = s->has_final ? s->fin.cpu_s : NAN,
			                             .lost_from = s->lost_from};
		if (n < max)
			memcpy(out[n].name, s->name, sizeof(s->name));
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

static const char *state_name(enum dist_shard_state s)
{
	switch (s) {
	case DIST_SHARD_JOINED: return "joined";
	case DIST_SHARD_RUNNING: return "running";
	case DIST_SHARD_DONE: return "done";
	case DIST_SHARD_LOST: return "lost";
	}
	return "?";
}

static const char *phase_name(enum dist_phase p)
{
	switch (p) {
	case DIST_PHASE_JOINING: return "joining";
	case DIST_PHASE_STARTING: return "starting";
	case DIST_PHASE_RUNNING: return "running";
	case DIST_PHASE_OVER: return "over";
	}
	return "?";
}

/* A shard's share of the load asked, as its latest second said: NAN when it sent none. */
static double share_of(const shard_t *s)
{
	return s->latest.second >= 0 ? s->latest.target : NAN;
}

int dist_table_write_shards(dist_table_t *t, buf_t *out)
{
	json_writer_t w;

	jsonw_init(&w, out, false);
	pthread_mutex_lock(&t->lock);
	jsonw_object_begin(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "shards");
	jsonw_key(&w, "phase");
	jsonw_string(&w, phase_name(t->phase));
	jsonw_key(&w, "expected");
	jsonw_uint(&w, t->cfg.shards);
	jsonw_key(&w, "shards");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < t->cfg.shards; i++) {
		const shard_t *s = &t->shards[i];
		const dist_second_view_t *l = &s->latest;
		bool seen = l->second >= 0;

		if (!s->used)
			continue;
		jsonw_object_begin(&w);
		jsonw_key(&w, "index");
		jsonw_uint(&w, i);
		jsonw_key(&w, "name");
		jsonw_string(&w, s->name);
		jsonw_key(&w, "state");
		jsonw_string(&w, state_name(s->state));
		jsonw_key(&w, "second"); /* its latest second's figures: null before its first */
		seen ? jsonw_int(&w, l->second) : jsonw_null(&w);
		jsonw_key(&w, "users");
		seen ? jsonw_uint(&w, l->users) : jsonw_null(&w);
		jsonw_key(&w, "target");
		seen ? jsonw_double(&w, l->target, 3) : jsonw_null(&w);
		jsonw_key(&w, "rps");
		seen && l->length_s > 0 ? jsonw_double(&w, (double)l->requests / l->length_s, 3)
		                        : jsonw_null(&w);
		jsonw_key(&w, "errors");
		seen ? jsonw_uint(&w, l->errors) : jsonw_null(&w);
		jsonw_key(&w, "busiest_cpu");
		seen ? jsonw_double(&w, l->busiest_cpu, 4) : jsonw_null(&w);
		jsonw_key(&w, "saturated"); /* its self-check's verdict, once it has ended */
		s->has_final ? jsonw_bool(&w, s->fin.saturated) : jsonw_null(&w);
		jsonw_key(&w, "cpu_s");
		s->has_final ? jsonw_double(&w, s->fin.cpu_s, 3) : jsonw_null(&w);
		jsonw_key(&w, "lost_from");
		s->state == DIST_SHARD_LOST ? jsonw_int(&w, s->lost_from) : jsonw_null(&w);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	pthread_mutex_unlock(&t->lock);
	return w.err;
}

/* ---- the end ---- */

static void add_final(dist_summary_t *out, const final_t *f, uint32_t index, double offset_s)
{
	gen_result_t *g = &out->g;
	double end_s = offset_s + f->duration_s;

	if (end_s * 1e9 > (double)g->duration_ns)
		g->duration_ns = (uint64_t)llround(end_s * 1e9);
	g->interrupted |= f->interrupted;
	g->cpu_s += f->cpu_s;
	if (f->max_rss_bytes > g->max_rss_bytes)
		g->max_rss_bytes = f->max_rss_bytes;
	g->threads += (uint32_t)f->threads;
	g->connections += (uint32_t)f->connections;
	g->thread_cpu_max = fmax(g->thread_cpu_max, f->thread_cpu_max);
	memcpy(g->thread_cpu + g->threads - f->threads, f->thread_cpu,
	       f->thread_cpu_count * sizeof(double));
	g->stream_failed += f->deltas_lost;
	if (f->saturated && !g->saturated) {
		g->saturated = true;
		g->saturation = f->saturation;
		out->saturation_shard = index;
	}
}

int dist_table_summary(dist_table_t *t, dist_summary_t *out)
{
	uint64_t threads = 0;

	memset(out, 0, sizeof(*out));
	out->saturation_shard = -1;
	pthread_mutex_lock(&t->lock);
	out->shards = t->cfg.shards;
	out->g.started_wall_ns = t->start_ns;
	for (uint32_t i = 0; i < t->cfg.shards; i++)
		threads += t->shards[i].has_final ? t->shards[i].fin.threads : 0;
	out->g.thread_cpu = calloc(threads ? threads : 1, sizeof(double));
	out->lost = calloc(t->cfg.shards ? t->cfg.shards : 1, sizeof(*out->lost));
	if (!out->g.thread_cpu || !out->lost) {
		pthread_mutex_unlock(&t->lock);
		dist_summary_free(out);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < t->cfg.shards; i++) {
		const shard_t *s = &t->shards[i];

		out->batches += s->batches;
		out->duplicates += s->duplicates;
		if (s->has_final)
			add_final(out, &s->fin, i,
			          ((double)s->fin.started_ns - (double)t->start_ns) / 1e9);
		else if (s->used && s->state == DIST_SHARD_LOST)
			out->lost[out->lost_count++] = (dist_lost_t){i, s->lost_from, share_of(s)};
		else if (s->used) /* still running when the coordinator ended */
			out->lost[out->lost_count++] =
			    (dist_lost_t){i, s->last_second + 1, share_of(s)};
		else /* never joined, or silent before the start */
			out->lost[out->lost_count++] = (dist_lost_t){i, 0, NAN};
	}
	pthread_mutex_unlock(&t->lock);
	if (!out->lost_count) {
		free(out->lost);
		out->lost = NULL;
	}
	return 0;
}

void dist_summary_free(dist_summary_t *s)
{
	gen_result_free(&s->g);
	free(s->lost);
	s->lost = NULL;
}
