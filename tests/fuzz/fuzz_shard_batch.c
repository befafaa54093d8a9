/* libFuzzer driver for a coordinator's shard table (dist/dist_table.c): the bytes are the body
 * of what a shard POSTs — a batch of seconds (/api/control/deltas: binary, dist_batch.c, each
 * second delta_wire's) or a join (JSON) — read by a coordinator that trusts no shard. A batch
 * that names another id is given the joined shard's, so the fuzzer reaches the seconds; a body
 * that is a JSON object is also tried as a join on a table of its own. Beyond "no crash": an
 * answer is 0 or a 4xx/503 with one line saying why; a batch refused adds nothing (the seconds
 * summed are handed over when the table is closed: none of a refused batch's are among them);
 * one taken never makes the sum shrink. */
#include <jansson.h>
#include <stdlib.h>

#include "dist/dist.h"
#include "fuzz_common.h"

#define ID "0123456789abcdef0123456789abcdef"

static void add(void *ctx, const delta_t *d)
{
	(void)result_add(ctx, d);
}

static void check_answer(int rc, const char *err, size_t errlen)
{
	if (rc == 0)
		return;
	if (!((rc >= 400 && rc <= 499) || rc == 503))
		abort();
	fuzz_check_message(err, errlen);
}

static dist_table_t *started_table(result_t *r, gen_consumer_t *consumer, buf_t *reply)
{
	static const char config[] = "{\"url\":\"http://x/\",\"options\":[]}";
	dist_table_config_t cfg = {.shards = 2,
	                           .config_json = config,
	                           .config_len = sizeof(config) - 1,
	                           .consumer = consumer};
	dist_table_t *t = dist_table_new(&cfg);
	json_t *join = json_pack("{s:i, s:s}", "wire", DIST_WIRE_VERSION, "id", ID);
	char err[512];

	*consumer = (gen_consumer_t){.ctx = r, .second = add};
	if (dist_table_join(t, join, 1, reply, err, sizeof(err)) != 0)
		abort();
	json_object_set_new(join, "id", json_string("fedcba9876543210fedcba9876543210"));
	if (dist_table_join(t, join, 1, reply, err, sizeof(err)) != 0)
		abort();
	json_decref(join);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char config[] = "{\"url\":\"http://x/\",\"options\":[]}";
	json_t *args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	uint8_t *body = malloc(size ? size : 1);
	result_t r;
	gen_consumer_t consumer;
	dist_table_t *t;
	char err[512] = "";
	buf_t reply;
	uint64_t before;
	int rc;

	if (!body)
		abort();
	memcpy(body, data, size);
	buf_init(&reply, 1 << 20);
	/* the body as a join, on a table of its own */
	if (json_is_object(args)) {
		dist_table_config_t cfg = {
		    .shards = 2, .config_json = config, .config_len = sizeof(config) - 1};

		t = dist_table_new(&cfg);
		rc = dist_table_join(t, args, 1, &reply, err, sizeof(err));
		check_answer(rc, err, sizeof(err));
		dist_table_free(t);
	}
	json_decref(args);
	/* the body as a batch from a shard that joined (both in: the run started): refused, it
	 * adds nothing, even once the sums are handed over */
	if (size >= 5 + DIST_ID_LEN && memcmp(body, "SRGD", 4) == 0)
		memcpy(body + 5, ID, DIST_ID_LEN); /* the wire version takes one byte */
	result_init(&r);
	t = started_table(&r, &consumer, &reply);
	buf_reset(&reply);
	rc = dist_table_deltas(t, body, size, 2, &reply, err, sizeof(err));
	check_answer(rc, err, sizeof(err));
	if (rc != 0) {
		dist_table_close(t);
		if (r.counters.requests != 0)
			abort();
	}
	/* and again: the next batch, or the same one sent again (acknowledged, not added) */
	before = r.counters.requests;
	buf_reset(&reply);
	err[0] = '\0';
	rc = dist_table_deltas(t, body, size, 2, &reply, err, sizeof(err));
	check_answer(rc, err, sizeof(err));
	(void)dist_table_tick(t, 2);
	dist_table_close(t);
	if (r.counters.requests < before)
		abort();
	dist_table_free(t);
	buf_free(&reply);
	result_free(&r);
	free(body);
	return 0;
}
