/* Tests for dist/dist_join.c: a shard's reading of its coordinator's answer to a join — where
 * it stands (index of count, the start, a stop) and the test's form — refused whole, with a
 * line, when it is not a join's answer of this wire or names no shard. */
#include <errno.h>
#include <string.h>

#include "dist/dist.h"
#include "gen/deal.h"
#include "test.h"

static int read_text(const char *text, bool have_config, dist_join_answer_t *a)
{
	json_t *doc = json_loads(text, 0, NULL);
	int rc;

	CHECK(doc != NULL);
	rc = dist_join_read_answer(doc, have_config, a);
	json_decref(doc);
	return rc;
}

TEST(dist_join_answer_read_where_the_shard_stands)
{
	dist_join_answer_t a;
	json_t *doc =
	    json_loads("{\"wire\":3,\"index\":1,\"count\":3,\"start_ns\":null,"
	               "\"stop\":false,\"config\":{\"url\":\"http://x/\",\"options\":[]}}",
	               0, NULL);

	CHECK_INT(dist_join_read_answer(doc, false, &a), 0);
	CHECK(a.index == 1 && a.count == 3 && a.start_ns == 0 && !a.stop);
	CHECK(a.config == json_object_get(doc, "config"));
	json_decref(doc);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0,\"count\":1,\"start_ns\":17,\"stop\":true}",
	                    true, &a),
	          0);
	CHECK(a.start_ns == 17 && a.stop && a.config == NULL);
}

TEST(dist_join_answer_of_another_wire_or_without_the_test_refused)
{
	dist_join_answer_t a;

	CHECK_INT(read_text("{\"wire\":1,\"index\":0,\"count\":1,\"config\":{}}", false, &a),
	          -EPROTO);
	CHECK_INT(read_text("{\"wire\":\"2\",\"index\":0,\"count\":1,\"config\":{}}", false, &a),
	          -EPROTO);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0,\"count\":1}", false, &a), -EPROTO);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0.0,\"count\":1}", true, &a), -EPROTO);
	CHECK_INT(read_text("[2]", true, &a), -EPROTO);
	CHECK_INT(dist_join_read_answer(NULL, true, &a), -EPROTO);
}

/* cli_join.c cast the answer's integers to uint32_t before it checked them: index 2^32 of 2
 * was shard 0, and a count of 2^32 + 1 was 1. */
TEST(dist_join_answer_index_and_count_checked_before_any_cast)
{
	dist_join_answer_t a;

	CHECK_INT(read_text("{\"wire\":3,\"index\":4294967296,\"count\":2}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0,\"count\":4294967297}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":-1,\"count\":2}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":2,\"count\":2}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0,\"count\":0}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":0,\"count\":10001}", true, &a), -ERANGE);
	CHECK_INT(read_text("{\"wire\":3,\"index\":9999,\"count\":10000}", true, &a), 0);
	CHECK(a.index == 9999 && a.count == DEAL_SHARDS_MAX);
}

TEST(dist_join_test_form_checked_before_anything_is_applied)
{
	static const struct {
		const char *config;
		const char *says; /* NULL: taken */
	} cases[] = {
	    {"{\"url\":\"http://x/\",\"options\":[[\"rate\",\"5\"],[\"header\",\"A: b\"]]}", NULL},
	    {"{\"scenario\":{},\"options\":[],\"body\":\"x\"}", NULL},
	    {"{\"options\":[]}", "no URL, no scenario or no options"},
	    {"{\"url\":\"http://x/\"}", "no URL, no scenario or no options"},
	    {"{\"url\":\"http://x/\",\"options\":[],\"body\":1}", "no URL, no scenario"},
	    {"{\"url\":\"http://x/\",\"options\":[[\"json\",\"out.json\"]]}",
	     "option 1 'json', which a shard does not take"},
	    {"{\"url\":\"http://x/\",\"options\":[[\"rate\",\"1\"],[\"rate\",2]]}",
	     "option 2 'rate', which"},
	    {"{\"url\":\"http://x/\",\"options\":[[\"a\\u001b[2J\",\"1\"]]}",
	     "option 1 'a\\x1b[2J'"},
	    {"{\"url\":\"http://x/\",\"options\":[\"rate\"]}", "option 1 '?'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *config = json_loads(cases[i].config, 0, NULL);
		char err[512] = "";
		int rc;

		CHECK(config != NULL);
		rc = dist_join_check_test(config, err, sizeof(err));
		if (!cases[i].says) {
			CHECK_INT(rc, 0);
		} else {
			CHECK_INT(rc, -EINVAL);
			if (!strstr(err, cases[i].says))
				fprintf(stderr, "    case %zu: %s\n", i, err);
			CHECK(strstr(err, cases[i].says) != NULL);
		}
		json_decref(config);
	}
}
