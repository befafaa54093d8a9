/* Tests for dist/ (distributed runs): the coordinator's shard table — indices, the start once
 * all have joined, duplicates, one too many, late joins and other wire versions refused; each
 * batch added once (a batch sent again is acknowledged, not added), whole or not at all;
 * targets summed once per shard and second; a second whole when every running shard sent it;
 * a silent shard lost (or, before the start, its place freed) — and a shard's sender: seconds
 * queued when whole, a batch given again unchanged until acknowledged, the final figures in
 * the last. Every time is given (no clock is read but the injected wall clock). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>

#include "dist/dist.h"
#include "test.h"

#define S NS_PER_S

static uint64_t fake_wall(void)
{
	return 1700000000ULL * NS_PER_S;
}

/* What the coordinator's consumer got: a result of every second, and the seconds whole. */
typedef struct sink {
	result_t r;
	int64_t done[64];
	int done_count;
} sink_t;

static void sink_second(void *ctx, const delta_t *d)
{
	sink_t *k = ctx;

	CHECK_INT(result_add(&k->r, d), 0);
}

static void sink_done(void *ctx, int64_t second)
{
	sink_t *k = ctx;

	if (k->done_count < 64)
		k->done[k->done_count++] = second;
}

static dist_table_t *table(uint32_t n, sink_t *k, gen_consumer_t *consumer)
{
	static const char config[] = "{\"url\":\"http://x/\",\"options\":[]}";
	dist_table_config_t cfg = {.shards = n,
	                           .config_json = config,
	                           .config_len = sizeof(config) - 1,
	                           .consumer = consumer,
	                           .wall_ns = fake_wall};

	memset(k, 0, sizeof(*k));
	result_init(&k->r);
	*consumer = (gen_consumer_t){.ctx = k, .second = sink_second, .second_done = sink_done};
	return dist_table_new(&cfg);
}

static const char *id_of(int i)
{
	static char ids[8][DIST_ID_LEN + 1];

	memset(ids[i], 'a' + i, DIST_ID_LEN);
	ids[i][DIST_ID_LEN] = '\0';
	return ids[i];
}

/* POST join as shard i (index -1: none asked): the HTTP status; the answer in *answer. */
static int join_as(dist_table_t *t, int i, int index, uint64_t now, json_t **answer)
{
	json_t *args = json_pack("{s:i, s:s, s:s, s:s}", "wire", DIST_WIRE_VERSION, "id", id_of(i),
	                         "name", "pod", "version", "test");
	char err[512] = "";
	buf_t reply;
	int rc;

	if (index >= 0)
		json_object_set_new(args, "index", json_integer(index));
	buf_init(&reply, 1 << 16);
	rc = dist_table_join(t, args, now, &reply, err, sizeof(err));
	if (answer)
		*answer = rc == 0 ? json_loadb(reply.data, reply.len, 0, NULL) : NULL;
	buf_free(&reply);
	json_decref(args);
	return rc;
}

/* One second's wire text: `requests` responses of 1 ms, at `target`. */
static json_t *second_of(int64_t second, uint64_t requests, double target)
{
	hist_t *h = calloc(1, sizeof(*h));
	delta_t d = {.second = 0, .length_s = 1, .users = 2, .target = target, .due = requests};
	result_t sum;
	buf_t text;
	json_t *doc;

	hist_reset(h);
	hist_record_n(h, 1000, requests);
	result_init(&sum);
	d.counters.requests = requests;
	d.counters.status[200] = requests;
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	CHECK_INT(result_hist_set(NULL, &d.latency, h), 0);
	CHECK_INT(result_add(&sum, &d), 0);
	buf_init(&text, DELTA_WIRE_MAX);
	CHECK_INT(delta_wire_encode(&sum, second, &text), 0);
	doc = json_loadb(text.data, text.len, 0, NULL);
	buf_free(&text);
	result_free(&sum);
	free(d.latency.buckets);
	free(h);
	return doc;
}

/* POST deltas from shard i: batch seq with the given seconds (a JSON array, stolen). */
static int batch(dist_table_t *t, int i, uint64_t seq, json_t *seconds, uint64_t now, bool *stop)
{
	json_t *args =
	    json_pack("{s:s, s:I, s:o}", "id", id_of(i), "seq", (json_int_t)seq, "deltas", seconds);
	char err[512] = "";
	buf_t reply;
	int rc;

	buf_init(&reply, 1 << 16);
	rc = dist_table_deltas(t, args, now, &reply, err, sizeof(err));
	if (rc == 0 && stop) {
		json_t *a = json_loadb(reply.data, reply.len, 0, NULL);

		*stop = json_is_true(json_object_get(a, "stop"));
		json_decref(a);
	}
	buf_free(&reply);
	json_decref(args);
	return rc;
}

/* Shard i's last batch: no second, its final figures (2 threads, 3 s). */
static int finish(dist_table_t *t, int i, uint64_t seq, uint64_t now)
{
	json_t *args =
	    json_pack("{s:s, s:I, s:[], s:{s:I, s:f, s:b, s:f, s:i, s:i, s:i, s:f, s:[ff], s:b, "
	              "s:{s:i, s:i, s:i, s:i, s:f, s:f}, s:i}}",
	              "id", id_of(i), "seq", (json_int_t)seq, "deltas", "final", "started_ns",
	              (json_int_t)(fake_wall() + DIST_START_LEAD_NS), "duration_s", 3.0,
	              "interrupted", 0, "cpu_s", 0.5, "max_rss_bytes", 1000, "threads", 2,
	              "connections", 4, "thread_cpu_max", 0.25, "thread_cpu", 0.25, 0.125,
	              "saturated", 0, "saturation", "criterion", 0, "seconds", 0, "consecutive", 0,
	              "whole_seconds", 3, "first_s", 0.0, "worst", 0.0, "deltas_lost", 0);
	char err[512] = "";
	buf_t reply;
	int rc;

	buf_init(&reply, 1 << 16);
	rc = dist_table_deltas(t, args, now, &reply, err, sizeof(err));
	buf_free(&reply);
	json_decref(args);
	return rc;
}

TEST(distributed_join_gives_indices_then_the_start)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(2, &k, &c);
	json_t *a = NULL;

	CHECK_INT(join_as(t, 0, -1, 1 * S, &a), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "index")), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "count")), 2);
	CHECK(json_is_null(json_object_get(a, "start_ns")));
	CHECK(json_is_object(json_object_get(a, "config")));
	json_decref(a);
	CHECK_INT(dist_table_tick(t, 1 * S), DIST_PHASE_JOINING);
	CHECK_INT(dist_table_start_ns(t), 0);
	/* the last one in: the start, DIST_START_LEAD_NS ahead, in every answer from now on */
	CHECK_INT(join_as(t, 1, -1, 2 * S, &a), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "index")), 1);
	CHECK_INT(json_integer_value(json_object_get(a, "start_ns")),
	          fake_wall() + DIST_START_LEAD_NS);
	json_decref(a);
	CHECK_INT(join_as(t, 0, -1, 2 * S, &a), 0); /* asked again: the same place */
	CHECK_INT(json_integer_value(json_object_get(a, "index")), 0);
	CHECK_INT(json_integer_value(json_object_get(a, "start_ns")),
	          fake_wall() + DIST_START_LEAD_NS);
	json_decref(a);
	CHECK_INT(dist_table_tick(t, 2 * S), DIST_PHASE_STARTING);
	CHECK_INT(dist_table_tick(t, 2 * S + DIST_START_LEAD_NS), DIST_PHASE_RUNNING);
	CHECK_INT(dist_table_start_ns(t), fake_wall() + DIST_START_LEAD_NS);
	dist_table_free(t);
	result_free(&k.r);
}

TEST(distributed_join_refuses_duplicates_extras_late_and_other_wires)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(2, &k, &c);
	json_t *args;
	char err[512];
	buf_t reply;

	CHECK_INT(join_as(t, 0, 1, 1 * S, NULL), 0);
	CHECK_INT(join_as(t, 1, 1, 1 * S, NULL), 409); /* index 1 is taken */
	CHECK_INT(join_as(t, 1, 2, 1 * S, NULL), 400); /* out of range */
	buf_init(&reply, 1 << 16);
	args = json_pack("{s:i, s:s, s:s}", "wire", DIST_WIRE_VERSION + 1, "id", id_of(3),
	                 "version", "v9");
	CHECK_INT(dist_table_join(t, args, 1 * S, &reply, err, sizeof(err)), 400);
	CHECK(strstr(err, "wire version") && strstr(err, "v9"));
	json_decref(args);
	args = json_pack("{s:i, s:s}", "wire", DIST_WIRE_VERSION, "id", "not-hex");
	CHECK_INT(dist_table_join(t, args, 1 * S, &reply, err, sizeof(err)), 400);
	json_decref(args);
	buf_free(&reply);
	CHECK_INT(join_as(t, 2, -1, 1 * S, NULL), 0);   /* takes index 0 */
	CHECK_INT(join_as(t, 3, -1, 1 * S, NULL), 409); /* the test started: late */
	dist_table_free(t);
	result_free(&k.r);
}

TEST(distributed_batches_added_once_and_whole)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(2, &k, &c);
	bool stop = true;

	CHECK_INT(join_as(t, 0, -1, 1 * S, NULL), 0);
	CHECK_INT(join_as(t, 1, -1, 1 * S, NULL), 0);
	CHECK_INT(batch(t, 0, 1, json_pack("[o]", second_of(0, 100, 5)), 2 * S, &stop), 0);
	CHECK(!stop);
	CHECK_INT(k.r.counters.requests, 100);
	CHECK_INT(k.done_count, 0); /* shard 1 has not sent second 0 */
	/* the same batch again (its answer was lost): acknowledged, not added */
	CHECK_INT(batch(t, 0, 1, json_pack("[o]", second_of(0, 100, 5)), 2 * S, NULL), 0);
	CHECK_INT(k.r.counters.requests, 100);
	CHECK_INT(batch(t, 0, 3, json_array(), 2 * S, NULL), 409); /* batch 2 is missing */
	CHECK_INT(batch(t, 1, 1, json_pack("[o]", second_of(0, 50, 5)), 2 * S, NULL), 0);
	CHECK_INT(k.r.counters.requests, 150);
	CHECK_INT(k.done_count, 1);
	CHECK_INT(k.done[0], 0);
	/* a correction of second 0 (a late part): added, its target not counted again */
	CHECK_INT(batch(t, 1, 2, json_pack("[o]", second_of(0, 1, 5)), 2 * S, NULL), 0);
	CHECK_INT(k.r.counters.requests, 151);
	CHECK(k.r.point_count == 1 && k.r.points[0].target == 10 && k.r.points[0].users == 6);
	/* a batch with one bad second is refused whole: nothing of it is added */
	{
		json_t *bad = second_of(1, 7, 5);

		json_object_set_new(bad, "v", json_integer(99));
		CHECK_INT(batch(t, 0, 2, json_pack("[oo]", second_of(1, 10, 5), bad), 2 * S, NULL),
		          400);
		CHECK_INT(k.r.counters.requests, 151);
	}
	dist_table_stop(t);
	CHECK_INT(batch(t, 0, 2, json_array(), 2 * S, &stop), 0);
	CHECK(stop);
	dist_table_free(t);
	result_free(&k.r);
}

TEST(distributed_silent_shard_lost_and_freed_before_the_start)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(2, &k, &c);
	dist_summary_t s;

	/* before the start, a silent shard leaves: its place is free for another */
	CHECK_INT(join_as(t, 0, -1, 1 * S, NULL), 0);
	CHECK_INT(dist_table_tick(t, 1 * S + DIST_SILENCE_NS + 1), DIST_PHASE_JOINING);
	CHECK_INT(join_as(t, 1, 0, 5 * S, NULL), 0);
	CHECK_INT(join_as(t, 2, -1, 5 * S, NULL), 0); /* the start: at 8 s */
	CHECK_INT(join_as(t, 1, -1, 7 * S, NULL), 0); /* asking again for it */
	CHECK_INT(join_as(t, 2, -1, 7 * S, NULL), 0);
	CHECK_INT(dist_table_tick(t, 8 * S), DIST_PHASE_RUNNING);
	CHECK_INT(batch(t, 1, 1, json_pack("[o]", second_of(0, 10, 1)), 9 * S, NULL), 0);
	CHECK_INT(batch(t, 2, 1, json_pack("[oo]", second_of(0, 10, 1), second_of(1, 10, 1)),
	                10 * S, NULL),
	          0);
	/* shard 1 falls silent: lost DIST_SILENCE_NS after its last batch, not before */
	CHECK_INT(dist_table_tick(t, 9 * S + DIST_SILENCE_NS), DIST_PHASE_RUNNING);
	CHECK_INT(batch(t, 2, 2, json_pack("[o]", second_of(2, 10, 1)), 12 * S, NULL), 0);
	CHECK_INT(k.done_count, 1); /* second 0 only: shard 1 holds the others back */
	CHECK_INT(dist_table_tick(t, 9 * S + DIST_SILENCE_NS + 1), DIST_PHASE_RUNNING);
	CHECK_INT(k.done_count, 3); /* lost: it holds nothing back any more */
	CHECK_INT(batch(t, 1, 2, json_array(), 13 * S, NULL), 409); /* lost: not taken */
	CHECK_INT(finish(t, 2, 3, 13 * S), 0);
	CHECK_INT(dist_table_tick(t, 13 * S), DIST_PHASE_OVER); /* one done, one lost */
	CHECK_INT(dist_table_summary(t, &s), 0);
	CHECK_INT(s.lost_count, 1);
	CHECK(s.lost && s.lost[0].index == 0 && s.lost[0].from_second == 1);
	/* the figures of the one that finished, as one generator's */
	CHECK_INT(s.g.threads, 2);
	CHECK_INT(s.g.connections, 4);
	CHECK_INT(s.g.duration_ns, 3 * S);
	CHECK(s.g.thread_cpu && s.g.thread_cpu[0] == 0.25 && s.g.thread_cpu[1] == 0.125);
	dist_summary_free(&s);
	dist_table_free(t);
	result_free(&k.r);
}

/* A made-up thread delta of `second`. */
static void add_delta(const gen_consumer_t *c, int64_t second, uint64_t requests)
{
	delta_t d = {.second = second, .length_s = 1, .users = 1, .target = 1};

	d.counters.requests = requests;
	result_hist_init(&d.latency);
	result_hist_init(&d.service);
	result_hist_init(&d.sched_lag);
	c->second(c->ctx, &d);
}

TEST(distributed_sender_gives_a_batch_again_until_acknowledged)
{
	result_t local, final;
	dist_sender_t *s;
	const gen_consumer_t *c;
	const char *id = id_of(0);
	buf_t a, b;
	json_t *doc;

	result_init(&local);
	result_init(&final);
	s = dist_sender_new(&local);
	c = dist_sender_consumer(s);
	buf_init(&a, DIST_BATCH_MAX);
	buf_init(&b, DIST_BATCH_MAX);
	add_delta(c, 0, 3);
	add_delta(c, 0, 4); /* two threads' parts of second 0 */
	add_delta(c, 1, 5);
	CHECK_INT(local.counters.requests, 12);
	c->second_done(c->ctx, 0);
	CHECK_INT(dist_sender_next(s, id, &a), 0);
	doc = json_loadb(a.data, a.len, 0, NULL);
	CHECK_INT(json_integer_value(json_object_get(doc, "seq")), 1);
	CHECK_INT(json_array_size(json_object_get(doc, "deltas")), 1); /* second 0, summed */
	CHECK_INT(
	    json_integer_value(json_object_get(
	        json_object_get(json_array_get(json_object_get(doc, "deltas"), 0), "counters"),
	        "requests")),
	    7);
	CHECK(!json_object_get(doc, "final"));
	json_decref(doc);
	CHECK_INT(dist_sender_next(s, id, &b), 0); /* not acknowledged: the same bytes */
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	dist_sender_acked(s);
	dist_sender_flush(s); /* the run is over: second 1 is queued */
	CHECK_INT(dist_sender_final(s, &final), 0);
	CHECK_INT(dist_sender_next(s, id, &a), 0);
	doc = json_loadb(a.data, a.len, 0, NULL);
	CHECK_INT(json_integer_value(json_object_get(doc, "seq")), 2);
	CHECK_INT(json_array_size(json_object_get(doc, "deltas")), 1);
	CHECK(json_is_object(json_object_get(doc, "final")));
	json_decref(doc);
	CHECK(!dist_sender_finished(s));
	dist_sender_acked(s);
	CHECK(dist_sender_finished(s));
	dist_sender_free(s);
	buf_free(&a);
	buf_free(&b);
	result_free(&local);
	result_free(&final);
}

TEST(distributed_options_that_travel)
{
	CHECK(dist_option_travels("rate") && dist_option_travels("threshold") &&
	      dist_option_travels("header"));
	CHECK(!dist_option_travels("threads") && !dist_option_travels("json") &&
	      !dist_option_travels("shard") && !dist_option_travels("abort-on-fail") &&
	      !dist_option_travels("body-file"));
}

TEST(dist_test_names_a_shard_writes)
{
	const char *ok[] = {"flow.lua", "data/users.csv", "a/b/c.csv", "x..y.csv", ".hidden"};
	const char *bad[] = {"",   "/etc/passwd", "../x", "a/../../x", "a//b", "a/./b",
	                     "a/", "..",          "a\nb", "a/..",      "."};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		CHECK(dist_test_name_ok(ok[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(!dist_test_name_ok(bad[i]));
}

/* A scenario as the coordinator writes it, unpacked by a shard into a folder of its own and
 * removed; a name that climbs out is refused with nothing written. */
TEST(dist_test_travels_and_is_unpacked_in_a_private_folder)
{
	char src[] = "/tmp/surge-test-src-XXXXXX", dir[4096], path[4096], err[512], file[4200];
	const char *names[] = {"data/rows.csv"};
	const char bytes[] = "name\nada\n\xe9t\xe9\n"; /* Latin-1: not UTF-8, travels as is */
	buf_t out;
	json_writer_t w;
	json_t *doc, *scenario;
	FILE *f;
	char got[64] = "";
	struct stat st;

	CHECK(mkdtemp(src) != NULL);
	snprintf(file, sizeof(file), "%s/data", src);
	CHECK_INT(mkdir(file, 0700), 0);
	snprintf(file, sizeof(file), "%s/data/rows.csv", src);
	f = fopen(file, "wb");
	CHECK(f != NULL);
	if (!f)
		return;
	fwrite(bytes, 1, sizeof(bytes) - 1, f);
	fclose(f);
	snprintf(file, sizeof(file), "%s/flow.lua", src);
	buf_init(&out, DIST_CONFIG_MAX);
	jsonw_init(&w, &out, false);
	jsonw_object_begin(&w);
	CHECK_INT(dist_test_write_scenario(&w, file, "tasks = {}", 10, names, 1, err, sizeof(err)),
	          0);
	jsonw_object_end(&w);
	doc = json_loadb(out.data, out.len, 0, NULL);
	CHECK(doc != NULL);
	scenario = json_object_get(doc, "scenario");
	CHECK_STR(json_string_value(json_object_get(scenario, "name")), "flow.lua");
	CHECK_INT(
	    dist_test_unpack(scenario, dir, sizeof(dir), path, sizeof(path), err, sizeof(err)), 0);
	CHECK(strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/flow.lua"));
	snprintf(file, sizeof(file), "%s/data/rows.csv", dir);
	f = fopen(file, "rb");
	CHECK(f != NULL);
	if (f) {
		CHECK_INT(fread(got, 1, sizeof(got), f), sizeof(bytes) - 1);
		CHECK(memcmp(got, bytes, sizeof(bytes) - 1) == 0);
		fclose(f);
	}
	dist_test_remove(dir, scenario);
	CHECK(stat(dir, &st) < 0 && errno == ENOENT);
	/* a data file's name that climbs out of the folder: refused, nothing made */
	json_object_set_new(json_array_get(json_object_get(scenario, "files"), 0), "name",
	                    json_string("../../escaped.csv"));
	CHECK(dist_test_unpack(scenario, dir, sizeof(dir), path, sizeof(path), err, sizeof(err)) <
	      0);
	CHECK(strstr(err, "escaped.csv") != NULL);
	json_decref(doc);
	buf_free(&out);
	snprintf(file, sizeof(file), "%s/data/rows.csv", src);
	unlink(file);
	snprintf(file, sizeof(file), "%s/data", src);
	rmdir(file);
	rmdir(src);
}
