/* gen_groups (--group-by-header): responses counted by a header's value — the spread, values
 * beyond the bound counted not kept, missing headers counted, bytes outside printable ASCII
 * made safe, and the merge of per-thread sets. */
#include "test.h"

#include <math.h>

#include "gen/gen_groups.h"

static void respond(gen_groups_t *g, const char *value, int64_t us, bool error)
{
	http_header_capture_t c = {.name = "x-served-by", .name_len = 11};

	if (value) {
		c.found = true;
		c.len = (uint8_t)strlen(value);
		memcpy(c.value, value, c.len);
	}
	gen_groups_record(g, &c, us, error);
}

TEST(groups_spread_and_counts)
{
	gen_groups_t g = {0};

	CHECK(isnan(gen_groups_spread(&g)));
	for (int i = 0; i < 50; i++)
		respond(&g, "pod-a", 1000, false);
	for (int i = 0; i < 30; i++)
		respond(&g, "pod-b", 2000, i < 3);
	for (int i = 0; i < 20; i++)
		respond(&g, "pod-c", 3000, false);
	respond(&g, NULL, 10, false);
	CHECK_INT(g.count, 3);
	CHECK_INT(g.missing, 1);
	CHECK_INT(gen_groups_grouped(&g), 100);
	/* 50 of 100 over 3 values: 0.5 / (1/3) */
	CHECK_NEAR(gen_groups_spread(&g), 1.5, 1e-12);
	CHECK_INT(g.groups[1]->errors, 3);
	{ /* a failed check makes a recorded response of pod-c an error; a missing header nothing */
		http_header_capture_t c = {.found = true, .len = 5};
		http_header_capture_t none = {0};

		memcpy(c.value, "pod-c", 5);
		gen_groups_error(&g, &c);
		gen_groups_error(&g, &none);
		CHECK_INT(g.groups[2]->errors, 1);
	}
	CHECK_INT(g.groups[1]->latency->total, 30);
	gen_groups_free(&g);
}

TEST(groups_bound_values_and_clean_bytes)
{
	gen_groups_t g = {0}, merged = {0};
	char value[16];

	for (int i = 0; i < GEN_GROUPS_MAX + 10; i++) {
		snprintf(value, sizeof(value), "v%d", i);
		respond(&g, value, 5, false);
	}
	CHECK_INT(g.count, GEN_GROUPS_MAX);
	CHECK_INT(g.overflow, 10);
	respond(&g, "v0", 5, false); /* a kept value is still counted */
	CHECK_INT(g.groups[0]->responses, 2);
	/* a second thread's set with a value the merged set has no room for */
	{
		gen_groups_t other = {0};

		respond(&other, "v1", 5, false);
		respond(&other, "zz", 5, false);
		CHECK_INT(gen_groups_merge(&merged, &g), 0);
		CHECK_INT(gen_groups_merge(&merged, &other), 0);
		CHECK_INT(merged.count, GEN_GROUPS_MAX);
		CHECK_INT(merged.groups[1]->responses, 2);
		CHECK_INT(merged.overflow, 11);
		gen_groups_free(&other);
	}
	gen_groups_free(&g);
	gen_groups_free(&merged);
	/* a control or non-ASCII byte is kept as '?', so the document stays valid text */
	respond(&g, "pod\x01\xc3\xa9", 5, false);
	CHECK_STR(g.groups[0]->value, "pod???");
	gen_groups_free(&g);
}
