/* The tables of endpoints for thousands of names: core/name_index finds each name in its
 * table, result_hist_record keeps a second's histogram sparse and equal bucket for bucket to
 * hist_record's dense one, and a thread's table (gen_named_endpoint) and the result's
 * (result_endpoint) hold GEN_MAX_ENDPOINTS names, every further one counted under the last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/name_index.h"
#include "gen/gen.h"
#include "result/result.h"
#include "test.h"

static char names[5000][32];

static bool same_name(const void *ctx, uint32_t position)
{
	return strcmp(names[position], ctx) == 0;
}

TEST(name_index_finds_each_of_5000_names)
{
	name_index_t x = {0};

	for (uint32_t i = 0; i < 5000; i++) {
		snprintf(names[i], sizeof(names[i]), "/api/items/%u", i);
		CHECK_INT(name_index_find(&x, name_index_hash("GET", 3, names[i], strlen(names[i])),
		                          same_name, names[i]),
		          -1);
		CHECK_INT(
		    name_index_add(&x, name_index_hash("GET", 3, names[i], strlen(names[i])), i),
		    0);
	}
	CHECK_INT(x.used, 5000);
	CHECK(x.cap >= 10000 && (x.cap & (x.cap - 1)) == 0);
	for (uint32_t i = 0; i < 5000; i++)
		CHECK_INT(name_index_find(&x, name_index_hash("GET", 3, names[i], strlen(names[i])),
		                          same_name, names[i]),
		          i);
	CHECK_INT(name_index_find(&x, name_index_hash("GET", 3, "/nope", 5), same_name, "/nope"),
	          -1);
	/* one hash for every name: the probe still tells them apart by same() */
	name_index_free(&x);
	for (uint32_t i = 0; i < 100; i++)
		CHECK_INT(name_index_add(&x, 7, i), 0);
	for (uint32_t i = 0; i < 100; i++)
		CHECK_INT(name_index_find(&x, 7, same_name, names[i]), i);
	/* the method is part of the name */
	CHECK(name_index_hash("GET", 3, "/x", 2) != name_index_hash("POST", 4, "/x", 2));
	CHECK(name_index_hash("GE", 2, "T/x", 3) != name_index_hash("GET", 3, "/x", 2));
	name_index_free(&x);
	CHECK(x.slots == NULL && x.cap == 0 && x.used == 0);
}

static uint64_t seed = 42;

static int64_t random_value(void)
{
	seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
	switch ((seed >> 60) & 3) {
	case 0: return (int64_t)(seed >> 50) - 100;           /* around 0, negatives too */
	case 1: return (int64_t)(seed >> 40);                 /* up to 16 s */
	case 2: return HIST_HIGHEST + (int64_t)(seed >> 50);  /* over the top */
	default: return 500 + (int64_t)((seed >> 33) % 2000); /* a typical spread */
	}
}

TEST(result_hist_record_is_hist_record_sparse)
{
	static hist_t dense;
	result_hist_t sparse, want;

	hist_reset(&dense);
	result_hist_init(&sparse);
	result_hist_init(&want);
	for (int second = 0; second < 3; second++) {
		for (int i = 0; i < 20000; i++) {
			int64_t v = random_value();

			hist_record(&dense, v);
			CHECK_INT(result_hist_record(&sparse, v), 0);
		}
		CHECK_INT(result_hist_set(NULL, &want, &dense), 0);
		CHECK(result_hist_equal(&sparse, &want));
		CHECK_INT(sparse.clamped, dense.clamped);
		CHECK_INT(sparse.min, dense.min);
		CHECK_INT(sparse.max, dense.max);
		CHECK(sparse.sum == dense.sum && sparse.sum_sq == dense.sum_sq);
		for (uint32_t i = 1; i < sparse.len; i++)
			CHECK(sparse.buckets[i - 1].index < sparse.buckets[i].index);
		/* the next second starts empty and keeps the memory */
		uint32_t cap = sparse.cap;

		result_hist_clear(&sparse);
		hist_reset(&dense);
		CHECK(sparse.len == 0 && sparse.total == 0 && sparse.min == INT64_MAX &&
		      sparse.cap == cap);
	}
	result_hist_free(NULL, &sparse);
	result_hist_free(NULL, &want);
}

TEST(a_thread_keeps_2048_names_then_one_other)
{
	static gen_named_t n;
	char name[64];

	memset(&n, 0, sizeof(n));
	for (int i = 0; i < GEN_MAX_ENDPOINTS + 100; i++) {
		int k;

		snprintf(name, sizeof(name), "/api/items/%d", i);
		k = gen_named_endpoint(&n, "GET", name);
		CHECK_INT(k, i < GEN_MAX_ENDPOINTS - 1 ? i : GEN_MAX_ENDPOINTS - 1);
	}
	CHECK_INT(n.endpoint_count, GEN_MAX_ENDPOINTS);
	CHECK(strcmp(n.endpoints[GEN_MAX_ENDPOINTS - 1]->name, "(other)") == 0);
	CHECK(strcmp(n.endpoints[GEN_MAX_ENDPOINTS - 1]->method, "*") == 0);
	/* names kept before the table filled are still their own */
	CHECK_INT(gen_named_endpoint(&n, "GET", "/api/items/0"), 0);
	CHECK_INT(gen_named_endpoint(&n, "POST", "/api/items/0"), GEN_MAX_ENDPOINTS - 1);
	snprintf(name, sizeof(name), "/api/items/%d", GEN_MAX_ENDPOINTS - 2);
	CHECK_INT(gen_named_endpoint(&n, "GET", name), GEN_MAX_ENDPOINTS - 2);
	/* a name longer than the table keeps is the same name as its kept part */
	{
		char longer[GEN_NAME_MAX + 50];
		static gen_named_t m;

		memset(longer, 'a', sizeof(longer) - 1);
		longer[sizeof(longer) - 1] = '\0';
		memset(&m, 0, sizeof(m));
		CHECK_INT(gen_named_endpoint(&m, "GET", longer), 0);
		longer[GEN_NAME_MAX + 10] = 'b';
		CHECK_INT(gen_named_endpoint(&m, "GET", longer), 0);
		CHECK_INT(m.endpoint_count, 1);
		gen_named_free(&m);
	}
	gen_named_free(&n);
}

TEST(the_result_keeps_2048_names_and_counts_the_rest)
{
	result_t r;
	char name[64];
	size_t before;

	result_init(&r);
	before = result_memory(&r);
	for (int i = 0; i < RESULT_ENDPOINTS_MAX + 10; i++) {
		result_endpoint_t *e;

		snprintf(name, sizeof(name), "/api/items/%d", i);
		e = result_endpoint(&r, "GET", name);
		CHECK(e != NULL);
		if (e && i < RESULT_ENDPOINTS_MAX)
			CHECK(strcmp(e->name, name) == 0);
	}
	CHECK_INT(r.endpoint_count, RESULT_ENDPOINTS_MAX);
	CHECK_INT(r.dropped.endpoints, 10);
	snprintf(name, sizeof(name), "/api/items/%d", 1234);
	CHECK(result_endpoint(&r, "GET", name) == &r.endpoints[1234]);
	/* the index's memory is the result's too */
	CHECK(result_memory(&r) >= before + RESULT_ENDPOINTS_MAX * 2 * sizeof(name_index_slot_t));
	result_free(&r);
}
