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
#include <stdarg.h>
#include <stdio.h>

#include "dist/dist.h"
#include "dist/dist_sum.h"
#include "test.h"
#include "test_points.h"

#define S NS_PER_S

static uint64_t fake_wall(void)
{
	return 1700000000ULL * NS_PER_S;
}

/* What the coordinator's consumer got: a result of every second, and the seconds whole. */
typedef struct sink {
	result_t r;
	int seconds; /* deltas handed over */
	int64_t done[64];
	int done_count;
} sink_t;

static void sink_second(void *ctx, const delta_t *d)
{
	sink_t *k = ctx;

	k->seconds++;
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

/* One second's bytes: `requests` responses of 1 ms, at `target`. */
static buf_t second_of(int64_t second, uint64_t requests, double target)
{
	hist_t *h = calloc(1, sizeof(*h));
	delta_t d = {.second = 0, .length_s = 1, .users = 2, .target = target, .due = requests};
	result_t sum;
	buf_t text;

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
	result_free(&sum);
	free(d.latency.buckets);
	free(h);
	return text;
}

/* POST a batch's body: the HTTP status; *stop from the answer. */
static int post_batch(dist_table_t *t, const buf_t *body, uint64_t now, bool *stop)
{
	char err[512] = "";
	buf_t reply;
	int rc;

	buf_init(&reply, 1 << 16);
	rc = dist_table_deltas(t, (const uint8_t *)body->data, body->len, now, &reply, err,
	                       sizeof(err));
	if (rc == 0 && stop) {
		json_t *a = json_loadb(reply.data, reply.len, 0, NULL);

		*stop = json_is_true(json_object_get(a, "stop"));
		json_decref(a);
	}
	buf_free(&reply);
	return rc;
}

/* POST deltas from shard i: batch seq with n seconds (buf_t's from second_of, freed). */
static int batch(dist_table_t *t, int i, uint64_t seq, uint64_t now, bool *stop, int n, ...)
{
	buf_t body, seconds[8];
	va_list ap;
	int rc;

	va_start(ap, n);
	for (int k = 0; k < n; k++)
		seconds[k] = va_arg(ap, buf_t);
	va_end(ap);
	buf_init(&body, DIST_BATCH_MAX);
	dist_batch_begin(&body, id_of(i), seq, (uint32_t)n);
	for (int k = 0; k < n; k++) {
		dist_batch_put_second(&body, seconds[k].data, seconds[k].len);
		buf_free(&seconds[k]);
	}
	dist_batch_end(&body, NULL, 0);
	rc = post_batch(t, &body, now, stop);
	buf_free(&body);
	return rc;
}

/* Shard i's last batch: no second, its final figures (2 threads, 3 s). */
static int finish(dist_table_t *t, int i, uint64_t seq, uint64_t now)
{
	json_t *fin =
	    json_pack("{s:I, s:f, s:b, s:f, s:i, s:i, s:i, s:f, s:[ff], s:b, "
	              "s:{s:i, s:i, s:i, s:i, s:f, s:f}, s:i}",
	              "started_ns", (json_int_t)(fake_wall() + DIST_START_LEAD_NS), "duration_s",
	              3.0, "interrupted", 0, "cpu_s", 0.5, "max_rss_bytes", 1000, "threads", 2,
	              "connections", 4, "thread_cpu_max", 0.25, "thread_cpu", 0.25, 0.125,
	              "saturated", 0, "saturation", "criterion", 0, "seconds", 0, "consecutive", 0,
	              "whole_seconds", 3, "first_s", 0.0, "worst", 0.0, "deltas_lost", 0);
	char *text = json_dumps(fin, JSON_COMPACT);
	buf_t body;
	int rc;

	buf_init(&body, DIST_BATCH_MAX);
	dist_batch_begin(&body, id_of(i), seq, 0);
	dist_batch_end(&body, text, strlen(text));
	rc = post_batch(t, &body, now, NULL);
	buf_free(&body);
	free(text);
	json_decref(fin);
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
	CHECK_INT(batch(t, 0, 1, 2 * S, &stop, 1, second_of(0, 100, 5)), 0);
	CHECK(!stop);
	/* shard 1 has not sent second 0: it is summed, not handed over yet */
	CHECK_INT(k.r.counters.requests, 0);
	CHECK_INT(k.done_count, 0);
	/* the same batch again (its answer was lost): acknowledged, not added */
	CHECK_INT(batch(t, 0, 1, 2 * S, NULL, 1, second_of(0, 100, 5)), 0);
	CHECK_INT(batch(t, 0, 3, 2 * S, NULL, 0), 409); /* batch 2 is missing */
	CHECK_INT(batch(t, 1, 1, 2 * S, NULL, 1, second_of(0, 50, 5)), 0);
	/* whole: the fleet's second handed over once, as one delta, then second_done */
	CHECK_INT(k.r.counters.requests, 150);
	CHECK_INT(k.seconds, 1);
	CHECK_INT(k.done_count, 1);
	CHECK_INT(k.done[0], 0);
	CHECK(k.r.point_count == 1 && test_point(&k.r, 0).target == 10 &&
	      test_point(&k.r, 0).users == 4);
	CHECK_INT(k.r.latency.total, 150);
	/* a correction of second 0 (a late part): added as it came, its target not counted
	 * again */
	CHECK_INT(batch(t, 1, 2, 2 * S, NULL, 1, second_of(0, 1, 5)), 0);
	CHECK_INT(k.r.counters.requests, 151);
	CHECK_INT(k.seconds, 2);
	CHECK(k.r.point_count == 1 && test_point(&k.r, 0).target == 10 &&
	      test_point(&k.r, 0).users == 6);
	/* a batch with one bad second is refused whole: nothing of it is added, nor summed */
	{
		buf_t bad = second_of(1, 7, 5);

		bad.data[0] = 99; /* another version */
		CHECK_INT(batch(t, 0, 2, 2 * S, NULL, 2, second_of(1, 10, 5), bad), 400);
	}
	CHECK_INT(batch(t, 0, 2, 2 * S, NULL, 1, second_of(1, 10, 5)), 0);
	CHECK_INT(batch(t, 1, 3, 2 * S, NULL, 1, second_of(1, 20, 5)), 0);
	CHECK_INT(k.r.counters.requests, 181);
	CHECK_INT(k.done_count, 2);
	/* a longer batch (a shard catching up: checked whole, then decoded again) */
	{
		buf_t bad = second_of(7, 1, 5);

		buf_append_char(&bad, 0); /* a byte after the second's end */
		CHECK_INT(batch(t, 0, 3, 2 * S, NULL, 6, second_of(2, 1, 5), second_of(3, 1, 5),
		                second_of(4, 1, 5), second_of(5, 1, 5), second_of(6, 1, 5), bad),
		          400);
		CHECK_INT(batch(t, 0, 3, 2 * S, NULL, 6, second_of(2, 1, 5), second_of(3, 1, 5),
		                second_of(4, 1, 5), second_of(5, 1, 5), second_of(6, 1, 5),
		                second_of(7, 1, 5)),
		          0);
		CHECK_INT(batch(t, 1, 4, 2 * S, NULL, 6, second_of(2, 2, 5), second_of(3, 2, 5),
		                second_of(4, 2, 5), second_of(5, 2, 5), second_of(6, 2, 5),
		                second_of(7, 2, 5)),
		          0);
		CHECK_INT(k.r.counters.requests, 181 + 18);
		CHECK_INT(k.done_count, 8);
	}
	dist_table_stop(t);
	CHECK_INT(batch(t, 0, 4, 2 * S, &stop, 0), 0);
	CHECK(stop);
	dist_table_free(t);
	result_free(&k.r);
}

/* A shard far ahead of another: the seconds past what the sums hold at once are handed over
 * as they come, the rest once whole — the same counts either way; and what is still summed
 * when the run is closed is handed over then. */
TEST(distributed_seconds_past_the_sums_are_handed_over_as_they_come)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(2, &k, &c);

	CHECK_INT(join_as(t, 0, -1, 1 * S, NULL), 0);
	CHECK_INT(join_as(t, 1, -1, 1 * S, NULL), 0);
	for (int s = 0; s < DIST_SUM_SECONDS + 2; s++)
		CHECK_INT(batch(t, 0, (uint64_t)s + 1, 2 * S, NULL, 1, second_of(s, 10, 1)), 0);
	CHECK_INT(k.r.counters.requests, 20); /* the 2 past the sums */
	CHECK_INT(k.seconds, 2);
	CHECK_INT(k.done_count, 0);
	for (int s = 0; s < DIST_SUM_SECONDS + 2; s++)
		CHECK_INT(batch(t, 1, (uint64_t)s + 1, 2 * S, NULL, 1, second_of(s, 1, 1)), 0);
	CHECK_INT(k.r.counters.requests, 10 * (DIST_SUM_SECONDS + 2) + DIST_SUM_SECONDS + 2);
	CHECK_INT(k.done_count, DIST_SUM_SECONDS + 2);
	for (int s = 0; s < DIST_SUM_SECONDS + 2; s++)
		CHECK_INT(test_point(&k.r, s).target, 2);
	/* shard 0 goes on alone; the run is closed before shard 1 sends second 10 */
	CHECK_INT(batch(t, 0, DIST_SUM_SECONDS + 3, 2 * S, NULL, 1,
	                second_of(DIST_SUM_SECONDS + 2, 5, 1)),
	          0);
	CHECK_INT(k.r.counters.requests, 11 * (DIST_SUM_SECONDS + 2));
	dist_table_close(t);
	CHECK_INT(k.r.counters.requests, 11 * (DIST_SUM_SECONDS + 2) + 5);
	dist_table_free(t);
	result_free(&k.r);
}

/* The frame of a batch: every way it can be wrong refused with one line saying which. */
TEST(distributed_batch_frame_refused_naming_what)
{
	static const struct {
		const char *bytes;
		size_t len;
		const char *says;
	} cases[] = {
	    {"{\"id\":\"x\"}", 10, "not a batch of seconds (it begins with '{', JSON"},
	    {"SRGD\x02", 5, "a batch of wire version 2; this coordinator speaks 3"},
	    {"SRGD", 4, "a batch without its wire version"},
	    {"SRGD\x03"
	     "0123",
	     9, "id: the batch ends inside it"},
	    {"SRGD\x03"
	     "0123456789ABCDEF0123456789abcdef\x01\x00\x00",
	     40, "id: expected 32 hex"},
	    {"SRGD\x03"
	     "0123456789abcdef0123456789abcdef\x00\x00\x00",
	     40, "seq: expected"},
	    {"SRGD\x03"
	     "0123456789abcdef0123456789abcdef\x01\x05\x00",
	     40, "deltas: expected"},
	    {"SRGD\x03"
	     "0123456789abcdef0123456789abcdef\x01\x01\x09\x02",
	     41, "deltas[0]: its length is cut"},
	    {"SRGD\x03"
	     "0123456789abcdef0123456789abcdef\x01\x00\x02{}x",
	     43, "final: expected its length"},
	    {"SRGD\x03"
	     "0123456789abcdef0123456789abcdef\x01\x00",
	     39, "final: expected"},
	};
	dist_batch_t b;
	char err[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		CHECK_INT(dist_batch_read((const uint8_t *)cases[i].bytes, cases[i].len, &b, err,
		                          sizeof(err)),
		          -EINVAL);
		if (!strstr(err, cases[i].says))
			test_fail(__FILE__, __LINE__, "case %zu: got '%s', expected '%s'", i, err,
			          cases[i].says);
	}
	/* a good one, walked */
	{
		const char good[] = "SRGD\x03"
		                    "0123456789abcdef0123456789abcdef\x07\x02\x01x\x02yz\x02{}";
		const uint8_t *at = NULL, *bytes;
		size_t len;

		CHECK_INT(
		    dist_batch_read((const uint8_t *)good, sizeof(good) - 1, &b, err, sizeof(err)),
		    0);
		CHECK_STR(b.id, "0123456789abcdef0123456789abcdef");
		CHECK_INT(b.seq, 7);
		CHECK_INT(b.count, 2);
		CHECK(dist_batch_second(&b, &at, &bytes, &len) && len == 1 && bytes[0] == 'x');
		CHECK(dist_batch_second(&b, &at, &bytes, &len) && len == 2 && bytes[1] == 'z');
		CHECK(!dist_batch_second(&b, &at, &bytes, &len));
		CHECK(b.final && b.final_len == 2 && memcmp(b.final, "{}", 2) == 0);
	}
}

/* What the table answers a batch that is not one: 400 with the reason, nothing joined. */
TEST(distributed_batch_of_another_wire_is_refused_by_name)
{
	sink_t k;
	gen_consumer_t c;
	dist_table_t *t = table(1, &k, &c);
	const char json[] = "{\"id\":\"0123456789abcdef0123456789abcdef\",\"seq\":1,\"deltas\":[]}";
	char err[512] = "";
	buf_t reply;

	CHECK_INT(join_as(t, 0, -1, 1 * S, NULL), 0);
	buf_init(&reply, 1 << 16);
	CHECK_INT(dist_table_deltas(t, (const uint8_t *)json, sizeof(json) - 1, 2 * S, &reply, err,
	                            sizeof(err)),
	          400);
	CHECK(strstr(err, "JSON") && strstr(err, "wire version 3"));
	buf_free(&reply);
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
	CHECK_INT(batch(t, 1, 1, 9 * S, NULL, 1, second_of(0, 10, 1)), 0);
	CHECK_INT(batch(t, 2, 1, 10 * S, NULL, 2, second_of(0, 10, 1), second_of(1, 10, 1)), 0);
	/* shard 1 falls silent: lost DIST_SILENCE_NS after its last batch, not before */
	CHECK_INT(dist_table_tick(t, 9 * S + DIST_SILENCE_NS), DIST_PHASE_RUNNING);
	CHECK_INT(batch(t, 2, 2, 12 * S, NULL, 1, second_of(2, 10, 1)), 0);
	CHECK_INT(k.done_count, 1); /* second 0 only: shard 1 holds the others back */
	CHECK_INT(dist_table_tick(t, 9 * S + DIST_SILENCE_NS + 1), DIST_PHASE_RUNNING);
	CHECK_INT(k.done_count, 3);                      /* lost: it holds nothing back any more */
	CHECK_INT(batch(t, 1, 2, 13 * S, NULL, 0), 409); /* lost: not taken */
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

/* The first second of a batch's body, decoded into w (initialized); its batch in *b. */
static void first_second(const buf_t *body, dist_batch_t *b, delta_wire_t *w)
{
	const uint8_t *at = NULL, *bytes;
	char err[300] = "";
	size_t len;

	CHECK_INT(dist_batch_read((const uint8_t *)body->data, body->len, b, err, sizeof(err)), 0);
	CHECK_STR(err, "");
	CHECK(dist_batch_second(b, &at, &bytes, &len));
	CHECK_INT(delta_wire_decode("test", bytes, len, w, err, sizeof(err)), 0);
}

TEST(distributed_sender_gives_a_batch_again_until_acknowledged)
{
	result_t local, final;
	dist_sender_t *s;
	const gen_consumer_t *c;
	const char *id = id_of(0);
	dist_batch_t batch_read;
	delta_wire_t w;
	buf_t a, b;

	result_init(&local);
	result_init(&final);
	delta_wire_init(&w);
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
	first_second(&a, &batch_read, &w);
	CHECK_STR(batch_read.id, id);
	CHECK_INT(batch_read.seq, 1);
	CHECK_INT(batch_read.count, 1); /* second 0, summed */
	CHECK_INT(w.d.counters.requests, 7);
	CHECK(!batch_read.final);
	CHECK_INT(dist_sender_next(s, id, &b), 0); /* not acknowledged: the same bytes */
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	dist_sender_acked(s);
	dist_sender_flush(s); /* the run is over: second 1 is queued */
	CHECK_INT(dist_sender_final(s, &final), 0);
	CHECK_INT(dist_sender_next(s, id, &a), 0);
	first_second(&a, &batch_read, &w);
	CHECK_INT(batch_read.seq, 2);
	CHECK_INT(batch_read.count, 1);
	CHECK_INT(w.d.second, 1);
	CHECK(batch_read.final && batch_read.final[0] == '{');
	CHECK(!dist_sender_finished(s));
	dist_sender_acked(s);
	CHECK(dist_sender_finished(s));
	dist_sender_free(s);
	delta_wire_free(&w);
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
