/* result_merge_check: whether decoded results can be merged as the parts of one run — the
 * same run (config url, method, scenario), each part of a --shard split at most once and
 * never mixed with another split or a whole run, no part twice (a copy under another name),
 * no merged result given with one of its own parts, and every part's latencies as a
 * histogram. Each refusal names the files, so the user knows which to drop. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "result/result.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static int same_run(const result_t *const *parts, const char *const *names, size_t n, char *err,
                    size_t errlen)
{
	for (size_t i = 1; i < n; i++) {
		const result_config_t *a = &parts[0]->config, *b = &parts[i]->config;
		const char *keys[3] = {"url", "method", "scenario"};
		const char *av[3] = {a->url, a->method, a->scenario};
		const char *bv[3] = {b->url, b->method, b->scenario};

		for (int k = 0; k < 3; k++)
			if (strcmp(or_empty(av[k]), or_empty(bv[k])) != 0)
				return fail(
				    err, errlen,
				    "%s: config.%s '%s' differs from %s's '%s' (merge takes "
				    "the shards of one run)",
				    names[i], keys[k], or_empty(bv[k]), names[0], or_empty(av[k]));
	}
	return 0;
}

/* "2/3" for a part of a --shard split, "" for a whole run. */
static void shard_text(const result_t *r, char *out, size_t len)
{
	out[0] = '\0';
	if (r->config.shard_count)
		snprintf(out, len, "%llu/%llu", (unsigned long long)r->config.shard_index,
		         (unsigned long long)r->config.shard_count);
}

/* Shards of one test (--shard I/N) are its distinct parts: each of N once, never mixed with
 * whole runs or with the parts of a split into another number. */
static int one_split(const result_t *const *parts, const char *const *names, size_t n, char *err,
                     size_t errlen)
{
	char a[48], b[48];

	for (size_t i = 0; i < n; i++) {
		const result_config_t *c = &parts[i]->config;

		shard_text(parts[i], a, sizeof(a));
		if (c->shard_count && !(c->shard_index >= 1 && c->shard_index <= c->shard_count))
			return fail(err, errlen,
			            "%s: config.shard %s: expected an index from 1 to the count",
			            names[i], a);
		for (size_t j = 0; j < i; j++) {
			const result_config_t *d = &parts[j]->config;

			shard_text(parts[j], b, sizeof(b));
			if (!c->shard_count != !d->shard_count)
				return fail(
				    err, errlen,
				    "%s is %s%s, %s is %s%s (--shard): not parts of one test",
				    names[j], b[0] ? "shard " : "a whole run", b, names[i],
				    a[0] ? "shard " : "a whole run", a);
			if (c->shard_count && c->shard_count != d->shard_count)
				return fail(err, errlen,
				            "%s is shard %s, %s is shard %s: not parts of one test",
				            names[j], b, names[i], a);
			if (c->shard_count && c->shard_index == d->shard_index)
				return fail(
				    err, errlen,
				    "%s and %s are both shard %s: merging it twice would count "
				    "its requests twice",
				    names[j], names[i], a);
		}
	}
	return 0;
}

/* Two parts are the same measurement when what identifies one is equal: its start, duration,
 * counts, histograms and generator figures (CPU time, memory, threads) — two processes never
 * measure all of these alike. */
static bool same_measurement(const result_t *a, const result_t *b)
{
	const result_generator_t *g = &a->generator, *h = &b->generator;

	if (a->started_wall_ns != b->started_wall_ns || a->duration_s != b->duration_s ||
	    memcmp(&a->counters, &b->counters, sizeof(a->counters)) != 0 ||
	    !result_hist_equal(&a->latency, &b->latency) || a->endpoint_count != b->endpoint_count)
		return false;
	for (uint32_t i = 0; i < a->endpoint_count; i++)
		if (!result_hist_equal(&a->endpoints[i].latency, &b->endpoints[i].latency))
			return false;
	return g->cpu_s == h->cpu_s && g->max_rss_bytes == h->max_rss_bytes &&
	       g->threads == h->threads && g->connections == h->connections;
}

static int distinct(const result_t *const *parts, const char *const *names, size_t n, char *err,
                    size_t errlen)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (same_measurement(parts[i], parts[j]))
				return fail(
				    err, errlen,
				    "%s and %s are the same shard (same start, duration, totals "
				    "and histograms): merging it twice would count its requests "
				    "twice",
				    names[j], names[i]);
	/* a merged result given with one of its own parts (`surge merge shard-*.json -o
	 * shard-all.json`, run twice): its merged_from names the other file */
	for (size_t i = 0; i < n; i++)
		for (uint32_t k = 0; k < parts[i]->merged_count; k++)
			for (size_t j = 0; j < n; j++)
				if (j != i && strcmp(parts[i]->merged_from[k], names[j]) == 0)
					return fail(
					    err, errlen,
					    "%s was merged from %s, which is given too: its "
					    "requests would count twice",
					    names[i], names[j]);
	return 0;
}

int result_merge_check(const result_t *const *parts, const char *const *names, size_t n, char *err,
                       size_t errlen)
{
	int rc;

	if (n == 0)
		return fail(err, errlen, "nothing to merge");
	if ((rc = same_run(parts, names, n, err, errlen)) < 0 ||
	    (rc = one_split(parts, names, n, err, errlen)) < 0 ||
	    (rc = distinct(parts, names, n, err, errlen)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if (result_hist_figures_only(&parts[i]->latency))
			return fail(err, errlen,
			            "%s: no histograms.all: its latencies cannot be merged",
			            names[i]);
	return 0;
}
