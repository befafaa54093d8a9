/* libFuzzer driver for a coordinator's shard table (dist/dist_table.c): the bytes are the body
 * of what a shard POSTs — a batch of seconds (/api/control/deltas) or a join — read by a
 * coordinator that trusts no shard. The body is parsed as the UI server parses a control's
 * (a JSON object, else refused before the table sees it); a batch without an id is given the
 * joined shard's, so the fuzzer reaches the seconds. Beyond "no crash": an answer is 0 or a
 * 4xx/503 with one line saying why; a batch refused adds nothing; one taken never makes the
 * sum shrink. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char config[] = "{\"url\":\"http://x/\",\"options\":[]}";
	json_t *args = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *join;
	result_t r;
	gen_consumer_t consumer = {.ctx = &r, .second = add};
	dist_table_config_t cfg = {.shards = 2,
	                           .config_json = config,
	                           .config_len = sizeof(config) - 1,
	                           .consumer = &consumer};
	dist_table_t *t;
	char err[512] = "";
	buf_t reply;
	uint64_t before;
	int rc;

	if (!json_is_object(args)) {
		json_decref(args);
		return 0;
	}
	result_init(&r);
	buf_init(&reply, 1 << 20);
	/* the body as a join, on a table of its own */
	t = dist_table_new(&cfg);
	rc = dist_table_join(t, args, 1, &reply, err, sizeof(err));
	check_answer(rc, err, sizeof(err));
	dist_table_free(t);
	/* the body as a batch from a shard that joined (both in: the run started) */
	t = dist_table_new(&cfg);
	join = json_pack("{s:i, s:s}", "wire", DIST_WIRE_VERSION, "id", ID);
	if (dist_table_join(t, join, 1, &reply, err, sizeof(err)) != 0)
		abort();
	json_object_set_new(join, "id", json_string("fedcba9876543210fedcba9876543210"));
	if (dist_table_join(t, join, 1, &reply, err, sizeof(err)) != 0)
		abort();
	json_decref(join);
	if (!json_object_get(args, "id"))
		json_object_set_new(args, "id", json_string(ID));
	before = r.counters.requests;
	buf_reset(&reply);
	err[0] = '\0';
	rc = dist_table_deltas(t, args, 2, &reply, err, sizeof(err));
	check_answer(rc, err, sizeof(err));
	if ((rc != 0 && r.counters.requests != before) || r.counters.requests < before)
		abort();
	(void)dist_table_tick(t, 2);
	dist_table_free(t);
	buf_free(&reply);
	result_free(&r);
	json_decref(args);
	return 0;
}
