/* dist_join: a shard's reading of its coordinator's answer to a join — where it stands (its
 * index of the count, the start once set, a stop) and the test's form — checked whole before
 * cli/cli_join.c applies anything of it. A coordinator is trusted with the test, not with
 * well-formed bytes: another version, a proxy's page or a broken one must be refused with a
 * line, never read as a shard index or an option. */
#include <errno.h>
#include <stdio.h>

#include "core/echo.h"
#include "dist/dist.h"
#include "gen/deal.h"

/* An integer member within [min, max]; false when absent, another type or out of range. */
static bool int_member(const json_t *doc, const char *key, json_int_t min, json_int_t max,
                       json_int_t *out)
{
	const json_t *v = json_object_get(doc, key);

	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

int dist_join_read_answer(const json_t *doc, bool have_config, dist_join_answer_t *out)
{
	const json_t *start = json_object_get(doc, "start_ns"),
	             *config = json_object_get(doc, "config");
	json_int_t wire, index, count;

	*out = (dist_join_answer_t){0};
	if (!json_is_object(doc) ||
	    !int_member(doc, "wire", DIST_WIRE_VERSION, DIST_WIRE_VERSION, &wire) ||
	    !json_is_integer(json_object_get(doc, "index")) ||
	    !json_is_integer(json_object_get(doc, "count")) ||
	    !(have_config || json_is_object(config)))
		return -EPROTO;
	/* a cast of 2^32 would read as shard 0: the range is checked on the JSON's integers */
	if (!int_member(doc, "count", 1, DEAL_SHARDS_MAX, &count) ||
	    !int_member(doc, "index", 0, count - 1, &index))
		return -ERANGE;
	out->index = (uint32_t)index;
	out->count = (uint32_t)count;
	out->stop = json_is_true(json_object_get(doc, "stop"));
	out->config = json_is_object(config) ? config : NULL;
	if (json_is_integer(start) && json_integer_value(start) > 0)
		out->start_ns = (uint64_t)json_integer_value(start);
	return 0;
}

int dist_join_check_test(const json_t *config, char *err, size_t errlen)
{
	const json_t *url = json_object_get(config, "url"),
	             *scenario = json_object_get(config, "scenario"),
	             *opts = json_object_get(config, "options"),
	             *body = json_object_get(config, "body"), *v;
	size_t i;

	if (!(json_is_string(url) || json_is_object(scenario)) || !json_is_array(opts) ||
	    (body && !json_is_string(body))) {
		snprintf(err, errlen,
		         "the coordinator's test has no URL, no scenario or no options");
		return -EINVAL;
	}
	json_array_foreach(opts, i, v)
	{
		const char *name = json_string_value(json_array_get(v, 0));

		if (!name || !json_is_string(json_array_get(v, 1)) || !dist_option_travels(name)) {
			snprintf(
			    err, errlen,
			    "the coordinator's test has option %zu '%s', which a shard does not "
			    "take",
			    i + 1, name ? ECHO(name) : "?");
			return -EINVAL;
		}
	}
	return 0;
}
