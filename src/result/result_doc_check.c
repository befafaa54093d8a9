/* result_doc_check: the one place a result document's contents are checked before anything
 * reads them — every known key's type and range, histograms that decode, and the keys a
 * command cannot do without. A document that fails is refused with its file and key
 * ("a.json: totals.requests: expected a non-negative integer, got \"many\""), so no renderer,
 * compare or merge ever reads a mistyped value as a default. Unknown keys pass: newer surges
 * may add them (docs/result-format.md). */
#include "result/result_doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"

#define VALUE_ECHO_MAX 200  /* characters of a bad value echoed in a message */
#define PATH_MAX_LEN   1200 /* a few keys, each echoed at most ECHO_SIZE */

typedef enum kind {
	K_COUNT,       /* a non-negative integer */
	K_NUMBER,      /* a finite non-negative number */
	K_NUMBER_NULL, /* the same, or null: not measured */
	K_SIGNED_NULL, /* any finite number, or null */
	K_FRACTION,    /* 0..1 */
	K_STRING,
	K_BOOL,
	K_TIME,      /* an RFC 3339 time */
	K_HISTOGRAM, /* base64 HdrHistogram V2 that decodes */
	K_OBJECT,    /* members described by sub (unknown members pass) */
	K_ARRAY,     /* every element as sub[0] */
	K_MAP,       /* every member as sub[0], whatever its key */
	K_STATUSES,  /* K_MAP of counts keyed by an HTTP status code */
} kind_t;

typedef struct field {
	const char *key;
	kind_t kind;
	const struct field *sub; /* K_OBJECT: members, ended by a NULL key; K_ARRAY, K_MAP: one */
} field_t;

#define END                                                                                        \
	{                                                                                          \
		NULL, K_COUNT, NULL                                                                \
	}

static const field_t count_f[] = {{"", K_COUNT, NULL}};
static const field_t number_f[] = {{"", K_NUMBER, NULL}};
static const field_t signed_f[] = {{"", K_SIGNED_NULL, NULL}};
static const field_t string_f[] = {{"", K_STRING, NULL}};
static const field_t histogram_f[] = {{"", K_HISTOGRAM, NULL}};

static const field_t latency_f[] = {{"min", K_NUMBER_NULL, NULL},   {"mean", K_NUMBER_NULL, NULL},
                                    {"stdev", K_NUMBER_NULL, NULL}, {"p50", K_NUMBER_NULL, NULL},
                                    {"p90", K_NUMBER_NULL, NULL},   {"p95", K_NUMBER_NULL, NULL},
                                    {"p99", K_NUMBER_NULL, NULL},   {"p99_9", K_NUMBER_NULL, NULL},
                                    {"max", K_NUMBER_NULL, NULL},   END};

static const field_t shard_f[] = {{"index", K_COUNT, NULL}, {"count", K_COUNT, NULL}, END};

static const field_t config_f[] = {{"url", K_STRING, NULL},
                                   {"scenario", K_STRING, NULL},
                                   {"method", K_STRING, NULL},
                                   {"model", K_STRING, NULL},
                                   {"rate", K_NUMBER, NULL},
                                   {"stages", K_STRING, NULL},
                                   {"max_queue", K_COUNT, NULL},
                                   {"pipeline", K_COUNT, NULL},
                                   {"protocol", K_STRING, NULL},
                                   {"streams", K_COUNT, NULL},
                                   {"shard", K_OBJECT, shard_f},
                                   {"connections", K_COUNT, NULL},
                                   {"threads", K_COUNT, NULL},
                                   {"users", K_COUNT, NULL},
                                   {"duration_s", K_NUMBER, NULL},
                                   {"requests", K_COUNT, NULL},
                                   {"timeout_s", K_NUMBER, NULL},
                                   {"headers", K_ARRAY, string_f},
                                   {"body_bytes", K_COUNT, NULL},
                                   {"insecure", K_BOOL, NULL},
                                   {"idle_poll", K_BOOL, NULL},
                                   {"new_conn_every", K_COUNT, NULL},
                                   END};

static const field_t totals_f[] = {{"requests", K_COUNT, NULL},
                                   {"responses", K_COUNT, NULL},
                                   {"errors", K_COUNT, NULL},
                                   {"error_rate", K_FRACTION, NULL},
                                   {"rps", K_NUMBER, NULL},
                                   {"bytes_in", K_COUNT, NULL},
                                   {"bytes_out", K_COUNT, NULL},
                                   {"dropped", K_COUNT, NULL},
                                   {"late", K_COUNT, NULL},
                                   {"unfinished", K_COUNT, NULL},
                                   END};

static const field_t endpoint_f[] = {{"name", K_STRING, NULL},
                                     {"method", K_STRING, NULL},
                                     {"requests", K_COUNT, NULL},
                                     {"responses", K_COUNT, NULL},
                                     {"errors", K_COUNT, NULL},
                                     {"error_rate", K_FRACTION, NULL},
                                     {"rps", K_NUMBER, NULL},
                                     {"bytes_in", K_COUNT, NULL},
                                     {"bytes_out", K_COUNT, NULL},
                                     {"latency_ms", K_OBJECT, latency_f},
                                     {"status_codes", K_STATUSES, NULL},
                                     {"errors_by_kind", K_MAP, count_f},
                                     END};
static const field_t endpoints_f[] = {{"", K_OBJECT, endpoint_f}};

static const field_t check_f[] = {
    {"name", K_STRING, NULL}, {"passes", K_COUNT, NULL}, {"fails", K_COUNT, NULL}, END};
static const field_t checks_f[] = {{"", K_OBJECT, check_f}};
static const field_t script_error_f[] = {
    {"message", K_STRING, NULL}, {"count", K_COUNT, NULL}, END};
static const field_t script_errors_f[] = {{"", K_OBJECT, script_error_f}};

static const field_t trend_f[] = {{"count", K_COUNT, NULL},         {"min", K_NUMBER_NULL, NULL},
                                  {"mean", K_NUMBER_NULL, NULL},    {"p50", K_NUMBER_NULL, NULL},
                                  {"p90", K_NUMBER_NULL, NULL},     {"p95", K_NUMBER_NULL, NULL},
                                  {"p99", K_NUMBER_NULL, NULL},     {"max", K_NUMBER_NULL, NULL},
                                  {"histogram", K_HISTOGRAM, NULL}, END};
static const field_t trends_f[] = {{"", K_OBJECT, trend_f}};
static const field_t metrics_f[] = {
    {"counters", K_MAP, signed_f}, {"trends", K_MAP, trends_f}, END};

static const field_t point_f[] = {{"t", K_NUMBER, NULL},
                                  {"users", K_COUNT, NULL},
                                  {"target", K_NUMBER, NULL},
                                  {"requests", K_COUNT, NULL},
                                  {"rps", K_NUMBER, NULL},
                                  {"errors", K_COUNT, NULL},
                                  {"late", K_COUNT, NULL},
                                  {"dropped", K_COUNT, NULL},
                                  {"bytes_in", K_COUNT, NULL},
                                  {"p50_ms", K_NUMBER_NULL, NULL},
                                  {"p95_ms", K_NUMBER_NULL, NULL},
                                  {"p99_ms", K_NUMBER_NULL, NULL},
                                  {"hist", K_HISTOGRAM, NULL},
                                  {"target_cpu_cores", K_SIGNED_NULL, NULL},
                                  {"target_rss_bytes", K_SIGNED_NULL, NULL},
                                  END};
static const field_t timeline_f[] = {{"", K_OBJECT, point_f}};

/* the load's changes while it ran (gen_steer); "what" is users or rate */
static const field_t change_f[] = {{"t", K_NUMBER, NULL},
                                   {"what", K_STRING, NULL},
                                   {"from", K_NUMBER, NULL},
                                   {"to", K_NUMBER, NULL},
                                   {"spawn_rate", K_NUMBER, NULL},
                                   {"ramp_s", K_NUMBER, NULL},
                                   END};
static const field_t changes_f[] = {{"", K_OBJECT, change_f}};

static const field_t threshold_f[] = {
    {"expr", K_STRING, NULL}, {"value", K_NUMBER_NULL, NULL}, {"ok", K_BOOL, NULL}, END};
static const field_t thresholds_f[] = {{"", K_OBJECT, threshold_f}};

static const field_t targets_f[] = {{"p95_ms", K_NUMBER, NULL},
                                    {"max_error_rate", K_NUMBER, NULL},
                                    {"min_rps", K_NUMBER, NULL},
                                    END};
static const field_t assessment_f[] = {{"verdict", K_STRING, NULL},
                                       {"latency_class", K_STRING, NULL},
                                       {"latency", K_STRING, NULL},
                                       {"throughput", K_STRING, NULL},
                                       {"error_rate", K_STRING, NULL},
                                       {"thresholds", K_STRING, NULL},
                                       {"p95_ms", K_NUMBER_NULL, NULL},
                                       {"targets", K_OBJECT, targets_f},
                                       {"profile", K_STRING, NULL},
                                       {"aborted", K_BOOL, NULL},
                                       END};

static const field_t generator_io_f[] = {
    /* fallback: a string, or null when io_uring was used (unknown members pass) */
    {"backend", K_STRING, NULL},       {"fallback_loops", K_COUNT, NULL},
    {"recv_no_buffer", K_COUNT, NULL}, {"sq_full_submits", K_COUNT, NULL},
    {"cq_overflow", K_COUNT, NULL},    END};

static const field_t generator_f[] = {{"cpu_s", K_NUMBER, NULL},
                                      {"max_rss_bytes", K_COUNT, NULL},
                                      {"threads", K_COUNT, NULL},
                                      {"connections", K_COUNT, NULL},
                                      {"thread_cpu_max", K_NUMBER, NULL},
                                      {"thread_cpu", K_ARRAY, number_f},
                                      {"sched_lag_p99_us", K_COUNT, NULL},
                                      {"sched_lag_max_us", K_COUNT, NULL},
                                      {"saturated", K_BOOL, NULL},
                                      {"io", K_OBJECT, generator_io_f},
                                      END};

static const field_t tls_f[] = {
    {"handshakes", K_COUNT, NULL},    {"resumed", K_COUNT, NULL},
    {"resumption", K_BOOL, NULL},     {"handshake_ms", K_OBJECT, latency_f},
    {"histogram", K_HISTOGRAM, NULL}, END};

static const field_t recommendation_f[] = {{"severity", K_STRING, NULL}, {"kind", K_STRING, NULL},
                                           {"title", K_STRING, NULL},    {"detail", K_STRING, NULL},
                                           {"figures", K_MAP, signed_f}, END};
static const field_t recommendations_f[] = {{"", K_OBJECT, recommendation_f}};

/* Scraped figures are the target's own (a counter that went back when it restarted can
 * make a difference negative): any number or null, so a run is never lost to them. */
static const field_t target_f[] = {{"url", K_STRING, NULL},
                                   {"samples", K_COUNT, NULL},
                                   {"scrape_errors", K_COUNT, NULL},
                                   {"last_error", K_STRING, NULL},
                                   {"bad_lines", K_COUNT, NULL},
                                   {"cpu_cores_avg", K_SIGNED_NULL, NULL},
                                   {"cpu_cores_max", K_SIGNED_NULL, NULL},
                                   {"cpu_limit_cores", K_SIGNED_NULL, NULL},
                                   {"workers", K_SIGNED_NULL, NULL},
                                   {"host_cores", K_SIGNED_NULL, NULL},
                                   {"cpu_capacity_cores", K_SIGNED_NULL, NULL},
                                   {"cpu_basis", K_STRING, NULL},
                                   {"cpu_utilisation", K_SIGNED_NULL, NULL},
                                   {"rss_bytes_max", K_SIGNED_NULL, NULL},
                                   {"memory_limit_bytes", K_SIGNED_NULL, NULL},
                                   {"memory_utilisation", K_SIGNED_NULL, NULL},
                                   {"in_flight_max", K_SIGNED_NULL, NULL},
                                   {"pool_waits", K_SIGNED_NULL, NULL},
                                   {"pool_timeouts", K_SIGNED_NULL, NULL},
                                   {"pool_wait_ms_mean", K_SIGNED_NULL, NULL},
                                   {"cpu_periods", K_SIGNED_NULL, NULL},
                                   {"cpu_throttled_periods", K_SIGNED_NULL, NULL},
                                   {"cpu_throttled_share", K_SIGNED_NULL, NULL},
                                   {"cpu_throttled_s", K_SIGNED_NULL, NULL},
                                   {"oom_kills", K_SIGNED_NULL, NULL},
                                   END};

static const field_t group_value_f[] = {{"value", K_STRING, NULL},
                                        {"requests", K_COUNT, NULL},
                                        {"errors", K_COUNT, NULL},
                                        {"error_rate", K_FRACTION, NULL},
                                        {"share", K_FRACTION, NULL},
                                        {"rps", K_NUMBER, NULL},
                                        {"latency_ms", K_OBJECT, latency_f},
                                        {"histogram", K_HISTOGRAM, NULL},
                                        END};
static const field_t group_values_f[] = {{"", K_OBJECT, group_value_f}};
static const field_t group_by_f[] = {{"header", K_STRING, NULL},
                                     {"values", K_ARRAY, group_values_f},
                                     {"requests", K_COUNT, NULL},
                                     {"spread", K_NUMBER_NULL, NULL},
                                     {"missing", K_COUNT, NULL},
                                     {"overflow", K_COUNT, NULL},
                                     {"values_max", K_COUNT, NULL},
                                     {"truncated", K_COUNT, NULL},
                                     END};

static const field_t cost_f[] = {{"per_hour_usd", K_NUMBER_NULL, NULL},
                                 {"replicas", K_COUNT, NULL},
                                 {"requests_per_s", K_NUMBER_NULL, NULL},
                                 {"total_per_hour_usd", K_NUMBER_NULL, NULL},
                                 {"per_million_requests_usd", K_NUMBER_NULL, NULL},
                                 END};

/* what a bound of the result model cost (result.h), present only when one was hit */
static const field_t limits_f[] = {{"timeline_points_dropped", K_COUNT, NULL},
                                   {"timeline_points_max", K_COUNT, NULL},
                                   {"endpoint_deltas_over_max", K_COUNT, NULL},
                                   {"endpoints_max", K_COUNT, NULL},
                                   {"tally_deltas_over_max", K_COUNT, NULL},
                                   {"tallies_max", K_COUNT, NULL},
                                   {"deltas_lost", K_COUNT, NULL},
                                   {"changes_dropped", K_COUNT, NULL},
                                   {"changes_max", K_COUNT, NULL},
                                   END};

/* a distributed run's shards (surge run --coordinator) */
static const field_t lost_shard_f[] = {
    {"shard", K_COUNT, NULL}, {"from_s", K_COUNT, NULL}, {"asked", K_NUMBER_NULL, NULL}, END};
static const field_t lost_shards_f[] = {{"", K_OBJECT, lost_shard_f}};
static const field_t distributed_f[] = {
    {"shards", K_COUNT, NULL}, {"complete", K_BOOL, NULL}, {"lost", K_ARRAY, lost_shards_f}, END};

static const field_t document_f[] = {{"tool", K_STRING, NULL},
                                     {"version", K_STRING, NULL},
                                     {"started_at", K_TIME, NULL},
                                     {"duration_s", K_NUMBER, NULL},
                                     {"interrupted", K_BOOL, NULL},
                                     {"config", K_OBJECT, config_f},
                                     {"totals", K_OBJECT, totals_f},
                                     {"latency_ms", K_OBJECT, latency_f},
                                     {"service_ms", K_OBJECT, latency_f},
                                     {"status_codes", K_STATUSES, NULL},
                                     {"errors_by_kind", K_MAP, count_f},
                                     {"endpoints", K_ARRAY, endpoints_f},
                                     {"group_by", K_OBJECT, group_by_f},
                                     {"checks", K_ARRAY, checks_f},
                                     {"script_errors", K_ARRAY, script_errors_f},
                                     {"metrics", K_OBJECT, metrics_f},
                                     {"timeline", K_ARRAY, timeline_f},
                                     {"changes", K_ARRAY, changes_f},
                                     {"thresholds", K_ARRAY, thresholds_f},
                                     {"assessment", K_OBJECT, assessment_f},
                                     {"recommendations", K_ARRAY, recommendations_f},
                                     {"target", K_OBJECT, target_f},
                                     {"cost", K_OBJECT, cost_f},
                                     {"generator", K_OBJECT, generator_f},
                                     {"tls", K_OBJECT, tls_f},
                                     {"histograms", K_MAP, histogram_f},
                                     {"merged_from", K_ARRAY, string_f},
                                     {"shards", K_COUNT, NULL},
                                     {"distributed", K_OBJECT, distributed_f},
                                     {"limits", K_OBJECT, limits_f},
                                     END};

/* The keys each use cannot do without: a missing one would be read as zero. */
/* compare: rps is requests / duration_s (the duration unrounded from totals.rps) */
static const char *const needs_compare[] = {
    "totals", "totals.requests", "totals.errors", "totals.rps", "latency_ms", "duration_s", NULL};
static const char *const needs_merge[] = {"duration_s",       "totals",        "totals.requests",
                                          "totals.responses", "totals.errors", NULL};

/* ---- the walk ---- */

typedef struct check {
	const char *name; /* the file, in messages */
	char *err;
	size_t errlen;
	hist_t *scratch; /* decoding a histogram, allocated on first use */
	char path[PATH_MAX_LEN];
} check_t;

static const char *expected(kind_t k)
{
	switch (k) {
	case K_COUNT: return "a non-negative integer";
	case K_NUMBER: return "a non-negative number";
	case K_NUMBER_NULL: return "a non-negative number or null";
	case K_SIGNED_NULL: return "a number or null";
	case K_FRACTION: return "a fraction from 0 to 1";
	case K_STRING: return "a string";
	case K_BOOL: return "true or false";
	case K_TIME: return "an RFC 3339 time like \"2026-01-02T03:04:05Z\"";
	case K_HISTOGRAM: return "a base64 HdrHistogram";
	case K_ARRAY: return "an array";
	default: return "an object";
	}
}

/* The value as the message shows it: its JSON text cut at VALUE_ECHO_MAX characters, or what kind
 * of container it is. */
static void describe(const json_t *v, char *out, size_t len)
{
	char *text;

	if (json_is_object(v)) {
		snprintf(out, len, "an object");
		return;
	}
	if (json_is_array(v)) {
		snprintf(out, len, "an array");
		return;
	}
	text = json_dumps(v, JSON_ENCODE_ANY);
	if (!text) {
		snprintf(out, len, "a value");
		return;
	}
	if (strlen(text) > VALUE_ECHO_MAX) {
		size_t cut = VALUE_ECHO_MAX;

		while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
			cut--; /* not inside a UTF-8 sequence */
		snprintf(out, len, "%.*s…", (int)cut, text);
	} else {
		snprintf(out, len, "%s", text);
	}
	free(text);
	echo_controls(out, len); /* JSON text escapes the C0 controls, not DEL (0x7f) */
}

static int fail_value(check_t *c, kind_t k, const json_t *v)
{
	char got[VALUE_ECHO_MAX + 16];

	describe(v, got, sizeof(got));
	snprintf(c->err, c->errlen, "%s: %s: expected %s, got %s", c->name, c->path, expected(k),
	         got);
	return -EINVAL;
}

/* Appends ".key" (or "[\"key\"]" when the key is not a plain word) to c->path; returns the
 * previous length to restore. The path is cut with "…" when it would not fit. */
static size_t path_push_key(check_t *c, const char *key)
{
	size_t len = strlen(c->path), room = sizeof(c->path) - len;
	bool plain =
	    *key != '\0' && strspn(key, "abcdefghijklmnopqrstuvwxyz"
	                                "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(key);
	int n;

	if (plain)
		n = snprintf(c->path + len, room, "%s%s", len ? "." : "", key);
	else
		n = snprintf(c->path + len, room, "[\"%s\"]", ECHO(key)); /* one line, cut */
	if (n < 0 || (size_t)n >= room)
		snprintf(c->path + sizeof(c->path) - 8, 8, "…");
	return len;
}

static size_t path_push_index(check_t *c, size_t i)
{
	size_t len = strlen(c->path);

	snprintf(c->path + len, sizeof(c->path) - len, "[%zu]", i);
	return len;
}

static int check_value(check_t *c, kind_t k, const field_t *sub, const json_t *v);

static int check_members(check_t *c, const field_t *fields, const json_t *obj)
{
	for (const field_t *f = fields; f->key; f++) {
		const json_t *v = json_object_get(obj, f->key);
		size_t mark;
		int rc;

		if (!v)
			continue;
		mark = path_push_key(c, f->key);
		rc = check_value(c, f->kind, f->sub, v);
		if (rc < 0)
			return rc;
		c->path[mark] = '\0';
	}
	return 0;
}

/* A status code key: 1 to 3 digits (surge writes what the target sent, 100..599 and odd ones). */
static bool status_key(const char *key)
{
	size_t n = strspn(key, "0123456789");

	return n >= 1 && n <= 3 && key[n] == '\0';
}

static int check_map(check_t *c, kind_t k, const field_t *sub, const json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v)
	{
		size_t mark = path_push_key(c, key);
		int rc;

		if (k == K_STATUSES && !status_key(key)) {
			snprintf(c->err, c->errlen,
			         "%s: %s: expected an HTTP status code as the key", c->name,
			         c->path);
			return -EINVAL;
		}
		rc =
		    check_value(c, k == K_STATUSES ? K_COUNT : sub->kind, sub ? sub->sub : NULL, v);
		if (rc < 0)
			return rc;
		c->path[mark] = '\0';
	}
	return 0;
}

static int check_histogram(check_t *c, const json_t *v)
{
	int rc;

	if (!json_is_string(v))
		return fail_value(c, K_HISTOGRAM, v);
	if (!c->scratch && !(c->scratch = malloc(sizeof(hist_t)))) {
		snprintf(c->err, c->errlen, "%s: out of memory", c->name);
		return -ENOMEM;
	}
	rc = result_doc_histogram_value(v, c->scratch);
	if (rc == -ENOMEM)
		snprintf(c->err, c->errlen, "%s: out of memory", c->name);
	else if (rc < 0)
		snprintf(c->err, c->errlen,
		         "%s: %s: not a valid histogram (expected HdrHistogram V2, compressed, in "
		         "base64)",
		         c->name, c->path);
	return rc < 0 ? rc : 0;
}

static int check_value(check_t *c, kind_t k, const field_t *sub, const json_t *v)
{
	double d = json_is_number(v) ? json_number_value(v) : NAN;

	switch (k) {
	case K_COUNT:
		if (json_is_integer(v)
		        ? json_integer_value(v) < 0
		        : !(json_is_real(v) && d >= 0 && d < 9.2e18 && d == floor(d)))
			return fail_value(c, k, v);
		return 0;
	case K_NUMBER_NULL:
		if (json_is_null(v))
			return 0;
		/* fall through */
	case K_NUMBER: return json_is_number(v) && d >= 0 && isfinite(d) ? 0 : fail_value(c, k, v);
	case K_SIGNED_NULL:
		return json_is_null(v) || (json_is_number(v) && isfinite(d)) ? 0
		                                                             : fail_value(c, k, v);
	case K_FRACTION: return json_is_number(v) && d >= 0 && d <= 1 ? 0 : fail_value(c, k, v);
	case K_STRING: return json_is_string(v) ? 0 : fail_value(c, k, v);
	case K_BOOL: return json_is_boolean(v) ? 0 : fail_value(c, k, v);
	case K_TIME: {
		double epoch;

		return json_is_string(v) && result_doc_parse_time(json_string_value(v), &epoch)
		           ? 0
		           : fail_value(c, k, v);
	}
	case K_HISTOGRAM: return check_histogram(c, v);
	case K_OBJECT: return json_is_object(v) ? check_members(c, sub, v) : fail_value(c, k, v);
	case K_MAP:
	case K_STATUSES: return json_is_object(v) ? check_map(c, k, sub, v) : fail_value(c, k, v);
	case K_ARRAY: {
		const json_t *e;
		size_t i;

		if (!json_is_array(v))
			return fail_value(c, k, v);
		json_array_foreach(v, i, e)
		{
			size_t mark = path_push_index(c, i);
			int rc = check_value(c, sub->kind, sub->sub, e);

			if (rc < 0)
				return rc;
			c->path[mark] = '\0';
		}
		return 0;
	}
	}
	return 0;
}

int result_doc_check(const json_t *doc, const char *name, char *err, size_t errlen)
{
	check_t c = {.name = name, .err = err, .errlen = errlen, .scratch = NULL};
	int rc;

	c.path[0] = '\0';
	rc = check_members(&c, document_f, doc);
	free(c.scratch);
	return rc;
}

int result_doc_require(const json_t *doc, const char *name, result_doc_use_t use, char *err,
                       size_t errlen)
{
	const char *const *needs = use == RESULT_DOC_FOR_MERGE ? needs_merge : needs_compare;
	const char *command = use == RESULT_DOC_FOR_MERGE ? "merge" : "compare";

	if (use == RESULT_DOC_FOR_REPORT)
		return 0; /* a sparse document renders what it has, and says what it lacks */
	for (size_t i = 0; needs[i]; i++) {
		if (!result_doc_path(doc, needs[i])) {
			snprintf(err, errlen, "%s: %s: missing (surge %s needs it)", ECHO(name),
			         needs[i], command);
			return -EINVAL;
		}
	}
	return 0;
}
