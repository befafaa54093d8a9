/* dist: distributed runs (docs/distributed.md) — one test run by N shard processes whose
 * figures a coordinator process adds up live, second by second, into one result.
 *
 * Why a module of its own: what the two sides agree on is state, not terminal work — the
 * coordinator's shard table (who joined with which index, what each has sent, which second is
 * whole, who fell silent) and a shard's sender (its threads' deltas summed per second and
 * queued in batches that a retry sends again unchanged). Both are unit-tested here without a
 * process or a clock (every call takes `now`); cli/ wires the table to the UI server's control
 * callbacks (the coordinator's port) and the sender to the engine's stream and dist_http.
 *
 * The wire (versioned by DIST_WIRE_VERSION, which covers these messages and delta_wire's):
 *   POST /api/control/join    {"wire":3,"version":"v1.2","id":"<32 hex>","name":"pod-a",
 *                              "index":2,"have_config":false}  (index: optional,
 *                              JOB_COMPLETION_INDEX)
 *        → {"wire":3,"version":..,"index":2,"count":3,"start_ns":null|N,"stop":false,
 *           "config":{"url":..,"options":[[name,value],..],"body":..}} or, for a scenario,
 *           "config":{"scenario":{"name":"flow.lua","base64":..,"files":[{"name":
 *           "data/users.csv","base64":..}]},"options":[..]} — "config" only while the shard
 *           says it has not got it ("have_config")
 *        A shard asks again with the same id until start_ns is set (the same answer: a join
 *        is idempotent by id, so a retried one never makes a second shard).
 *   POST /api/control/deltas  Content-Type: application/octet-stream, a binary batch
 *        (dist_batch.c): "SRGD", wire, id, seq, the seconds (delta_wire's bytes), the final
 *        figures' JSON object or none
 *        → {"ok":true,"stop":false}; seq numbers the batches from 1, a batch sent again
 *        (its answer lost) is acknowledged and not added twice.
 *   Binary since wire 3: a coordinator reads a batch from every shard every second, and
 *   JSON cost it 2.8 ms of CPU per shard-second (docs/performance.md).
 * Both need the coordinator's token (the UI server's: Authorization: Bearer). */
#ifndef SURGE_DIST_H
#define SURGE_DIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/json.h"
#include "gen/gen.h"
#include "result/delta_wire.h"
#include "result/result.h"

/* 2: counters.unfinished, the test sent once (have_config), scenarios; 3: binary batches */
#define DIST_WIRE_VERSION  3
#define DIST_SILENCE_NS    (3 * NS_PER_S) /* a shard not heard from this long is lost */
#define DIST_START_LEAD_NS (3 * NS_PER_S) /* the start, this far after the last join */
#define DIST_FINAL_MAX     (64u << 10)    /* a shard's final figures (JSON) */
#define DIST_BATCH_MAX     (DELTA_WIRE_MAX + 2 * DIST_FINAL_MAX) /* one POST's body */
/* The test as a shard is sent it: a scenario's file and data files, DIST_FILES_MAX bytes at
 * most, then JSON-escaped (twice their bytes at worst but for control bytes, which a
 * scenario's text and CSV files hardly hold) */
#define DIST_FILES_MAX  (16u << 20)
#define DIST_CONFIG_MAX (2 * DIST_FILES_MAX + (64u << 10))
#define DIST_QUEUE_MAX  (64u << 20) /* a shard's seconds waiting for the coordinator */
#define DIST_ID_LEN     32          /* a shard's id: 128 random bits in hex */
#define DIST_NAME_MAX   64          /* a shard's name (its host), for messages */

/* Whether option NAME of surge run travels from the coordinator to its shards: what defines
 * or judges the load (the URL's request, the shape, thresholds, targets, cost) — not what is
 * each process's own (threads, outputs, -q) or the coordinator's alone (--abort-on-fail: it
 * stops every shard itself). */
bool dist_option_travels(const char *name);

/* ---- a shard's side of the join (dist_join.c) ---- */

/* The coordinator's answer to a join, as a shard reads it. */
typedef struct dist_join_answer {
	uint32_t index, count; /* this shard is index (0-based) of count */
	uint64_t start_ns;     /* the common start (wall clock); 0: not set yet, ask again */
	bool stop;             /* the coordinator stopped the test before it started */
	const json_t *config;  /* the test (the answer's), NULL when this answer has none */
} dist_join_answer_t;

/* doc (the answer's JSON) read: 0 with out filled (pointing into doc); -EPROTO when it is not
 * a join's answer of this wire version, or has no test when the shard has none (have_config
 * false); -ERANGE when its index and count name no shard (count 1 .. DEAL_SHARDS_MAX, index
 * below it: the doc's "index" and "count" say which it named). */
int dist_join_read_answer(const json_t *doc, bool have_config, dist_join_answer_t *out);

/* The test's form, before a shard applies any of it: a URL or a scenario (an object, which
 * dist_test_unpack reads), "options" a list of [name, value] strings each of an option that
 * travels (dist_option_travels), a "body" a string. 0, or -EINVAL with one line in err. */
int dist_join_check_test(const json_t *config, char *err, size_t errlen);

/* ---- a scenario as it travels (dist_test.c) ---- */

/* The coordinator's side: "scenario": {"name", "base64", "files": [{"name", "base64"}]} into
 * the object open in w — the file at path (its text: source, len) and the data files names
 * (relative to its folder, read from there), DIST_FILES_MAX bytes in all. 0, or -errno /
 * -EFBIG with one line in err. */
int dist_test_write_scenario(json_writer_t *w, const char *path, const char *source, size_t len,
                             const char *const *names, size_t n, char *err, size_t errlen);
/* Whether a shard writes a file of this name: a relative path below its folder (no "..",
 * no "." or empty component, no control byte). */
bool dist_test_name_ok(const char *name);
/* A shard's side: the scenario written into a new private folder ($TMPDIR, else /tmp:
 * dir), its file's path in path. 0, or a negative errno with one line in err (nothing left
 * behind). */
int dist_test_unpack(const json_t *scenario, char *dir, size_t dirlen, char *path, size_t pathlen,
                     char *err, size_t errlen);
/* What dist_test_unpack wrote, and the folder, removed. */
void dist_test_remove(const char *dir, const json_t *scenario);

/* ---- a batch of seconds as it travels (dist_batch.c) ---- */

/* A batch read: slices of the body (which must outlive it). */
typedef struct dist_batch {
	char id[DIST_ID_LEN + 1];
	uint64_t seq;
	uint32_t count;                       /* seconds */
	const uint8_t *seconds, *seconds_end; /* each a varint length and its bytes */
	const char *final;                    /* the final figures' JSON, or NULL */
	size_t final_len;
} dist_batch_t;

/* Writing one: begin, count × put_second, end (out's error says whether it fit). */
void dist_batch_begin(buf_t *out, const char *id, uint64_t seq, uint32_t count);
void dist_batch_put_second(buf_t *out, const void *second, size_t len);
void dist_batch_end(buf_t *out, const char *final, size_t final_len);
/* The most bytes a batch of count seconds adds to their own and the final figures'. */
size_t dist_batch_overhead(uint32_t count);
/* The frame of body checked (magic, wire version, id, seq, every second's length within the
 * body and DELTA_WIRE_MAX, the final figures' within DIST_FINAL_MAX, nothing after) into b.
 * 0, or -EINVAL with one line in err. */
int dist_batch_read(const uint8_t *body, size_t len, dist_batch_t *b, char *err, size_t errlen);
/* The next second of b after *at (NULL: the first): true with its bytes, false after the last. */
bool dist_batch_second(const dist_batch_t *b, const uint8_t **at, const uint8_t **bytes,
                       size_t *len);

/* ---- the coordinator's shard table (dist_table.c) ---- */

typedef struct dist_table dist_table_t;

/* One line for the terminal (a shard joined, left, was lost or refused); cli/ prints it. */
typedef void (*dist_note_fn)(void *ctx, const char *line);

typedef struct dist_table_config {
	uint32_t shards;         /* N, 1 .. DEAL_SHARDS_MAX */
	const char *config_json; /* the test as shards get it: a JSON object's text */
	size_t config_len;
	/* the shards' seconds, decoded and summed (dist_sum.h): second with the fleet's sum of a
	 * second once every shard still running has sent it, then second_done — what surge
	 * run's own stream would give, as if one engine thread had measured it all (a second
	 * that comes after, or does not fit the sums, is handed over as it came, in parts that
	 * add up the same). Called under the table's lock, from the thread that called
	 * dist_table_deltas, dist_table_tick or dist_table_close */
	const gen_consumer_t *consumer;
	dist_note_fn note;
	void *note_ctx;
	uint64_t silence_ns;    /* 0: DIST_SILENCE_NS */
	uint64_t start_lead_ns; /* 0: DIST_START_LEAD_NS */
	/* the wall clock the start is set by (NULL: clock_wall_ns); every other time the table
	 * keeps is the `now` its callers give, a monotonic clock, so a clock step marks no
	 * shard lost */
	uint64_t (*wall_ns)(void);
} dist_table_config_t;

enum dist_phase {
	DIST_PHASE_JOINING,  /* waiting for N shards */
	DIST_PHASE_STARTING, /* all joined: the start time is set and not reached yet */
	DIST_PHASE_RUNNING,
	DIST_PHASE_OVER, /* every shard has finished or is lost */
};

/* NULL on no memory. */
dist_table_t *dist_table_new(const dist_table_config_t *cfg);
void dist_table_free(dist_table_t *t);

/* The control requests (args: the join's JSON body; body: a batch's bytes, dist_batch; now:
 * monotonic ns). 0 with the answer in reply, or an HTTP status (400 malformed or of another
 * wire version, 404 an unknown id, 409 a shard too many, a duplicate index, a late join, a
 * lost shard's batch or one out of order, 503 out of memory) with one line in err.
 * Thread-safe. */
int dist_table_join(dist_table_t *t, const json_t *args, uint64_t now_ns, buf_t *reply, char *err,
                    size_t errlen);
int dist_table_deltas(dist_table_t *t, const uint8_t *body, size_t len, uint64_t now_ns,
                      buf_t *reply, char *err, size_t errlen);

/* Called often by the main thread (every 100 ms): sets the start once every shard has joined,
 * drops a joined shard gone silent before the start (its place is free again), marks a shard
 * silent while running as lost, and says where the run is. */
enum dist_phase dist_table_tick(dist_table_t *t, uint64_t now_ns);
/* The common start (wall-clock ns), 0 before every shard has joined. */
uint64_t dist_table_start_ns(dist_table_t *t);
/* Every shard is told to stop in its next answer (Ctrl-C, a threshold with --abort-on-fail). */
void dist_table_stop(dist_table_t *t);
/* The run is over (its result is being completed): the seconds still summed (not whole when
 * the run ended) are handed to the consumer now, and every request is refused from now on, so
 * nothing is added to a result being finished. */
void dist_table_close(dist_table_t *t);
/* "2 of 3 shards joined (1/3 pod-a, 3/3 pod-c); missing: 2/3" — who is missing, for the
 * error when the wait is over. */
void dist_table_missing(dist_table_t *t, char *out, size_t len);

/* One shard as the table sees it (for the terminal and, later, the UI's Shards tab). */
enum dist_shard_state { DIST_SHARD_JOINED, DIST_SHARD_RUNNING, DIST_SHARD_DONE, DIST_SHARD_LOST };

/* A shard's latest second as it sent it (second -1: none yet). */
typedef struct dist_second_view {
	int64_t second;
	double length_s;
	uint32_t users;    /* connections open at its end */
	double target;     /* the users or rate it was asked (its part) */
	uint64_t requests; /* that ended in it: responses and transport failures */
	uint64_t errors;
	double busiest_cpu; /* its busiest thread's CPU share: the self-check's figure */
} dist_second_view_t;

typedef struct dist_shard_view {
	uint32_t index;
	enum dist_shard_state state;
	char name[DIST_NAME_MAX + 1];
	int64_t last_second; /* the latest second it sent (-1: none) */
	uint64_t batches, duplicates;
	dist_second_view_t latest;
	bool has_final;    /* its last batch said how it ended: */
	bool saturated;    /* its self-check's verdict */
	double cpu_s;      /* its process's CPU-seconds (NAN before the end) */
	int64_t lost_from; /* a lost shard: the first second the coordinator lacks */
} dist_shard_view_t;

/* The Shards tab's event: {"type":"shards","phase":..,"expected":N,"shards":[{"index",
 * "name","state","second","users","target","rps","errors","busiest_cpu","saturated",
 * "cpu_s","lost_from"}]} into out. 0 or the buffer's error. */
int dist_table_write_shards(dist_table_t *t, buf_t *out);

/* The shards joined so far, up to max into out; how many there are. */
uint32_t dist_table_shards(dist_table_t *t, dist_shard_view_t *out, uint32_t max);

/* A shard lost while running: the seconds from from_second on lack its part, asked (its
 * share of the users or the rate in its latest second; NAN: it never sent one). */
typedef struct dist_lost {
	uint32_t index; /* 0-based */
	int64_t from_second;
	double asked;
} dist_lost_t;

/* The end: what the shards said of themselves combined as one generator's (what
 * result_finish takes: start, duration, interrupted, CPU, memory, threads, users, the
 * self-check — the first saturated shard's, whose index is saturation_shard), the lost
 * shards, and what came over the wire. g is the caller's (gen_result_free); lost has room
 * for the table's N. */
typedef struct dist_summary {
	gen_result_t g;
	int64_t saturation_shard; /* -1: none saturated */
	uint32_t shards;
	uint32_t lost_count;
	dist_lost_t *lost; /* malloc'd, lost_count entries (NULL when none) */
	uint64_t batches, duplicates;
} dist_summary_t;

int dist_table_summary(dist_table_t *t, dist_summary_t *out);
void dist_summary_free(dist_summary_t *s);

/* ---- a shard's sender (dist_sender.c) ---- */

typedef struct dist_sender dist_sender_t;

/* local: the shard's own result the same deltas are summed into (its --json), or NULL. */
dist_sender_t *dist_sender_new(result_t *local);
void dist_sender_free(dist_sender_t *s);
/* The run's consumer: each thread's delta into local and its second's sum; a second whole
 * (second_done) is encoded (delta_wire) and queued. */
const gen_consumer_t *dist_sender_consumer(dist_sender_t *s);
/* The run is over: every second still being summed is queued. */
void dist_sender_flush(dist_sender_t *s);
/* What the shard says of itself at the end (its result, completed): queued with the last
 * batch, which then tells the coordinator this shard is done. */
int dist_sender_final(dist_sender_t *s, const result_t *r);
/* The next batch's body into out (reset first): the one not yet acknowledged again, else the
 * queued seconds (as many as fit DIST_BATCH_MAX; none is a heartbeat). 0 or -ENOMEM. */
int dist_sender_next(dist_sender_t *s, const char *id, buf_t *out);
/* The coordinator took the batch last given. */
void dist_sender_acked(dist_sender_t *s);
/* Whether the last batch (with the final figures) was acknowledged. */
bool dist_sender_finished(dist_sender_t *s);

typedef struct dist_sender_stats {
	uint64_t seconds; /* seconds queued */
	uint64_t
	    dropped; /* seconds dropped for DIST_QUEUE_MAX or memory: the coordinator lacks them */
	uint64_t batches; /* acknowledged */
	uint64_t bytes;   /* bodies acknowledged */
	uint64_t pending; /* bytes waiting */
} dist_sender_stats_t;

void dist_sender_stats(dist_sender_t *s, dist_sender_stats_t *out);

#endif
