/* result_merge: one result added to another — shards of one run, or a run's pieces — as if
 * one generator had measured both: counters summed, histograms added bucket by bucket,
 * endpoints and tallies by name, timelines aligned by wall-clock second (the point that
 * began at started_at + s lands in the whole's point of that absolute second), the
 * generators' own figures combined. Merging into an empty result copies. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "result/result.h"

/* Nothing merged into it yet (its started_wall_ns may be set: the origin, see result.h). */
static bool is_empty(const result_t *r)
{
	return r->shards == 0 && r->point_count == 0 && r->counters.requests == 0 &&
	       r->endpoint_count == 0 && !r->config.url;
}

static int copy_strings(result_t *into, const result_t *from)
{
	result_config_t *c = &into->config;
	const result_config_t *f = &from->config;

	*c = *f;
	c->url = result_strdup(into, f->url);
	c->scenario = result_strdup(into, f->scenario);
	c->method = result_strdup(into, f->method);
	c->stages = result_strdup(into, f->stages);
	c->headers = NULL;
	c->header_count = 0;
	if (f->header_count) {
		c->headers = result_alloc(into, f->header_count * sizeof(*c->headers));
		if (!c->headers)
			return -ENOMEM;
		for (uint32_t i = 0; i < f->header_count; i++)
			c->headers[c->header_count++] = result_strdup(into, f->headers[i]);
	}
	into->group_header = result_strdup(into, from->group_header);
	return 0;
}

/* The scraped target of the first part that has one: every part watched the same target
 * under the whole load. */
static int copy_target(result_t *into, const result_t *from)
{
	if (into->has_target || !from->has_target)
		return 0;
	into->has_target = true;
	into->target = from->target;
	into->target.url = result_strdup(into, from->target.url);
	into->target.last_error = result_strdup(into, from->target.last_error);
	into->target.cpu_basis = result_strdup(into, from->target.cpu_basis);
	return (from->target.url && !into->target.url) ||
	               (from->target.cpu_basis && !into->target.cpu_basis)
	           ? -ENOMEM
	           : 0;
}

/* Moves into's timeline `by` seconds later (from started earlier than into). */
static int shift_points(result_t *into, int64_t by)
{
	size_t old = into->point_count;

	if (by <= 0 || old == 0)
		return 0;
	if (!result_point(into, (int64_t)old - 1 + by))
		return -ENOMEM;
	memmove(&into->window[by], &into->window[0], old * sizeof(*into->window));
	for (size_t i = 0; i < into->point_count; i++) {
		result_point_t *p = &into->window[i];

		if (i < (size_t)by) {
			memset(p, 0, sizeof(*p));
			p->gap = true;
			p->second = (int64_t)i;
			p->t = (double)i + 1;
			p->length_s = 1;
			p->target_cpu_cores = p->target_rss_bytes = NAN;
		} else {
			p->second = (int64_t)i;
			p->t += (double)by;
		}
	}
	into->sealed_upto = 0;
	return 0;
}

/* A point's p50/p95/p99 in µs: its sealed figures, or those of its open histogram. */
static void point_percentiles(const result_point_t *p, int64_t *pct)
{
	pct[0] = p->open ? result_hist_percentile(p->open, 50) : p->p50_us;
	pct[1] = p->open ? result_hist_percentile(p->open, 95) : p->p95_us;
	pct[2] = p->open ? result_hist_percentile(p->open, 99) : p->p99_us;
}

/* f added to p where one of them measured without a histogram: percentiles the largest
 * (upper bounds), no histogram left. */
static void add_bounds(result_t *into, result_point_t *p, const result_point_t *f)
{
	int64_t mine[3], theirs[3];

	point_percentiles(p, mine);
	point_percentiles(f, theirs);
	if (p->open) {
		result_hist_free(into, p->open);
		result_release(into, p->open, sizeof(*p->open));
		p->open = NULL;
	}
	if (p->hist) {
		result_release(into, p->hist, p->hist_len + 1);
		p->hist = NULL;
		p->hist_len = 0;
	}
	p->approximate = true;
	p->p50_us = mine[0] > theirs[0] ? mine[0] : theirs[0];
	p->p95_us = mine[1] > theirs[1] ? mine[1] : theirs[1];
	p->p99_us = mine[2] > theirs[2] ? mine[2] : theirs[2];
}

static int add_point(result_t *into, result_point_t *p, const result_point_t *f)
{
	result_hist_t *open;
	hist_t *d;

	p->users += f->users;
	p->target += f->target;
	p->requests += f->requests;
	p->errors += f->errors;
	p->late += f->late;
	p->dropped += f->dropped;
	p->bytes_in += f->bytes_in;
	p->due += f->due;
	p->due_late += f->due_late;
	p->busiest_cpu = fmax(p->busiest_cpu, f->busiest_cpu);
	/* a part that measured in this second but kept no histogram (an older document) */
	if (p->approximate || f->approximate || (!f->hist && !f->open && f->p99_us > 0)) {
		add_bounds(into, p, f);
		return 0;
	}
	if (!f->hist && !f->open)
		return 0;
	/* into's point opened (decoded when sealed), from's histogram added to it */
	if (!p->open) {
		if (!(p->open = result_alloc(into, sizeof(*p->open))))
			return -ENOMEM;
		result_hist_init(p->open);
		if (p->hist) {
			if (!(d = result_scratch(into)) ||
			    hist_decode_base64(p->hist, p->hist_len, d) < 0 ||
			    result_hist_set(into, p->open, d) < 0)
				return -ENOMEM;
			result_release(into, p->hist, p->hist_len + 1);
			p->hist = NULL;
			p->hist_len = 0;
		}
	}
	open = p->open;
	if (f->open)
		return result_hist_add(into, open, f->open);
	{
		result_hist_t tmp;
		int rc;

		if (!(d = result_scratch(into)) || hist_decode_base64(f->hist, f->hist_len, d) < 0)
			return -EINVAL;
		result_hist_init(&tmp);
		rc = result_hist_set(into, &tmp, d);
		if (rc == 0)
			rc = result_hist_add(into, open, &tmp);
		result_hist_free(into, &tmp);
		return rc;
	}
}

static int merge_timeline(result_t *into, const result_t *from, double offset_s)
{
	result_cursor_t c;
	int rc = 0;

	result_cursor_init(&c);
	for (size_t i = 0; i < from->point_count && rc == 0; i++) {
		const result_point_t *f = result_point_at(from, i, &c);
		int64_t s;
		size_t before = into->point_count;
		result_point_t *p;

		if (!f) {
			rc = c.error;
			break;
		}
		s = llround(offset_s + (double)f->second);
		if (!(p = result_point(into, s)))
			continue; /* counted in dropped.points */
		for (size_t k = before; k < into->point_count; k++)
			into->window[k].gap = true; /* until a shard's second lands there */
		p->gap = false;
		rc = add_point(into, p, f);
	}
	result_cursor_free(&c);
	if (rc < 0)
		return rc;
	/* every second of the whole is whole, but the last: it ends with the whole's span (a
	 * part's seconds, offset by a fraction, are rounded onto the whole's) */
	for (size_t i = 0; i < into->point_count; i++) {
		result_point_t *p = &into->window[i];
		double start = (double)p->second;

		p->t = into->duration_s > start && into->duration_s < start + 1 ? into->duration_s
		                                                                : start + 1;
		p->length_s = p->t - start;
	}
	into->sealed_upto = 0;
	return result_seal(into);
}

static int merge_named(result_t *into, const result_t *from)
{
	for (uint32_t i = 0; i < from->endpoint_count; i++) {
		const result_endpoint_t *f = &from->endpoints[i];
		result_endpoint_t *e = result_endpoint(into, f->method, f->name);

		if (!e || result_hist_add(into, &e->latency, &f->latency) < 0)
			return -ENOMEM;
		gen_counters_add(&e->counters, &f->counters);
	}
	for (uint32_t i = 0; i < from->tally_count; i++) {
		const result_tally_t *f = &from->tallies[i];
		result_tally_t *t = result_tally(into, f->kind, f->name);

		if (!t)
			continue; /* counted in dropped.tallies */
		t->passes += f->passes;
		t->fails += f->fails;
		t->value += f->value;
		if (result_hist_add(into, &t->hist, &f->hist) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Handshakes add up, their histograms bucket by bucket; resumption counts as offered when
 * one part offered it. */
static int merge_tls(result_t *into, const result_t *from)
{
	if (!from->has_tls)
		return 0;
	into->tls_resumption =
	    into->has_tls ? into->tls_resumption || from->tls_resumption : from->tls_resumption;
	into->has_tls = true;
	into->tls_handshakes += from->tls_handshakes;
	into->tls_resumed += from->tls_resumed;
	return result_hist_add(into, &into->tls_handshake, &from->tls_handshake);
}

static int merge_groups(result_t *into, const result_t *from)
{
	if (!from->has_groups)
		return 0;
	into->has_groups = true;
	into->group_missing += from->group_missing;
	into->group_overflow += from->group_overflow;
	into->group_truncated += from->group_truncated;
	if (from->group_values_max > into->group_values_max)
		into->group_values_max = from->group_values_max;
	for (uint32_t i = 0; i < from->group_count; i++) {
		const result_group_t *f = &from->groups[i];
		result_group_t *g = NULL;

		for (uint32_t k = 0; k < into->group_count && !g; k++)
			if (strcmp(into->groups[k].value, f->value) == 0)
				g = &into->groups[k];
		if (!g && into->group_count == RESULT_GROUPS_MAX) {
			into->group_overflow += f->responses;
			continue;
		}
		if (!g) {
			result_group_t *grown =
			    result_realloc(into, into->groups, into->group_count * sizeof(*grown),
			                   (into->group_count + 1) * sizeof(*grown));

			if (!grown)
				return -ENOMEM;
			into->groups = grown;
			g = &into->groups[into->group_count++];
			memset(g, 0, sizeof(*g));
			memcpy(g->value, f->value, sizeof(g->value));
			result_hist_init(&g->latency);
		}
		g->responses += f->responses;
		g->errors += f->errors;
		if (result_hist_add(into, &g->latency, &f->latency) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int merge_generator(result_t *into, const result_t *from, uint64_t shard)
{
	result_generator_t *g = &into->generator;
	const result_generator_t *f = &from->generator;
	double *cpu;

	g->cpu_s += f->cpu_s;
	if (f->max_rss_bytes > g->max_rss_bytes)
		g->max_rss_bytes = f->max_rss_bytes;
	g->threads += f->threads;
	g->connections += f->connections;
	g->thread_cpu_max = fmax(g->thread_cpu_max, f->thread_cpu_max);
	/* shards on different backends say so ("mixed"); the first reason for epoll is kept */
	if (!g->io[0])
		memcpy(g->io, f->io, sizeof(g->io));
	else if (f->io[0] && strcmp(g->io, f->io) != 0)
		snprintf(g->io, sizeof(g->io), "mixed");
	if (!g->io_fallback[0])
		memcpy(g->io_fallback, f->io_fallback, sizeof(g->io_fallback));
	g->io_fallback_loops += f->io_fallback_loops;
	g->io_recv_no_buffer += f->io_recv_no_buffer;
	g->io_sq_full_submits += f->io_sq_full_submits;
	g->io_cq_overflow += f->io_cq_overflow;
	if (f->thread_cpu_count) {
		size_t old = g->thread_cpu_count * sizeof(*cpu);

		cpu = result_realloc(into, g->thread_cpu, old,
		                     old + f->thread_cpu_count * sizeof(*cpu));
		if (!cpu)
			return -ENOMEM;
		memcpy(cpu + g->thread_cpu_count, f->thread_cpu,
		       f->thread_cpu_count * sizeof(*cpu));
		g->thread_cpu = cpu;
		g->thread_cpu_count += f->thread_cpu_count;
	}
	if (result_hist_add(into, &g->sched_lag, &f->sched_lag) < 0)
		return -ENOMEM;
	if (f->sched_lag_read) { /* read figures: the worst shard's, as the doc merge does */
		g->sched_lag_read = true;
		if (f->sched_lag_p99_us > g->sched_lag_p99_us)
			g->sched_lag_p99_us = f->sched_lag_p99_us;
		if (f->sched_lag_max_us > g->sched_lag_max_us)
			g->sched_lag_max_us = f->sched_lag_max_us;
	}
	if (f->saturated && !g->saturated) {
		g->saturated = true;
		g->saturation = f->saturation;
		g->saturation_shard =
		    f->saturation_shard >= 0 ? f->saturation_shard : (int64_t)shard;
	}
	return 0;
}

/* A distributed run's shards and those it lost, carried (a copy of a coordinator's result
 * keeps them; two such results merged count both runs' shards). */
static int merge_distributed(result_t *into, const result_t *from)
{
	result_distributed_t *d = &into->distributed;
	const result_distributed_t *f = &from->distributed;
	result_lost_shard_t *lost;

	d->shards += f->shards;
	if (!f->lost_count)
		return 0;
	lost = result_realloc(into, d->lost, d->lost_count * sizeof(*lost),
	                      (d->lost_count + f->lost_count) * sizeof(*lost));
	if (!lost)
		return -ENOMEM;
	memcpy(lost + d->lost_count, f->lost, f->lost_count * sizeof(*lost));
	d->lost = lost;
	d->lost_count += f->lost_count;
	return 0;
}

static int add_name(result_t *into, const char *name)
{
	char **names;

	if (!name || into->merged_count == RESULT_MERGED_MAX)
		return 0;
	names = result_realloc(into, into->merged_from, into->merged_count * sizeof(*names),
	                       (into->merged_count + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	into->merged_from = names;
	if (!(names[into->merged_count] = result_strdup(into, name)))
		return -ENOMEM;
	into->merged_count++;
	return 0;
}

int result_merge(result_t *into, const result_t *from, const char *from_name)
{
	bool first = is_empty(into);
	uint64_t shard = into->shards;
	double offset_s, end_s;
	int rc;

	/* into's seconds are all in memory (its window from second 0): a stream's result, which
	 * spills, is merged from, never into */
	if (into->window_first)
		return -EINVAL;
	if (first) {
		if ((rc = copy_strings(into, from)) < 0)
			return rc;
		/* an origin set before (the earliest start of every part) stays */
		if (!into->started_wall_ns || from->started_wall_ns < into->started_wall_ns)
			into->started_wall_ns = from->started_wall_ns;
		into->generator.saturation_shard = -1;
	} else {
		into->config.connections += from->config.connections;
		into->config.threads += from->config.threads;
		into->config.requests += from->config.requests;
		into->config.rate += from->config.rate;
		into->config.max_queue += from->config.max_queue;
	}
	into->config.shard_index = into->config.shard_count = 0; /* the whole is no shard */
	if (from->started_wall_ns < into->started_wall_ns) {
		int64_t by = llround((double)(into->started_wall_ns - from->started_wall_ns) / 1e9);

		if ((rc = shift_points(into, by)) < 0)
			return rc;
		into->duration_s += (double)(into->started_wall_ns - from->started_wall_ns) / 1e9;
		into->started_wall_ns = from->started_wall_ns;
	}
	offset_s = ((double)from->started_wall_ns - (double)into->started_wall_ns) / 1e9;
	end_s = offset_s + from->duration_s;
	if (end_s > into->duration_s)
		into->duration_s = end_s;
	into->interrupted |= from->interrupted;
	into->has_started_at |= from->has_started_at;
	into->has_generator |= from->has_generator;
	gen_counters_add(&into->counters, &from->counters);
	if (result_hist_add(into, &into->latency, &from->latency) < 0 ||
	    result_hist_add(into, &into->service, &from->service) < 0)
		return -ENOMEM;
	if ((rc = copy_target(into, from)) < 0 || (rc = merge_named(into, from)) < 0 ||
	    (rc = merge_groups(into, from)) < 0 || (rc = merge_generator(into, from, shard)) < 0 ||
	    (rc = merge_tls(into, from)) < 0 || (rc = merge_timeline(into, from, offset_s)) < 0 ||
	    (rc = merge_distributed(into, from)) < 0)
		return rc;
	into->dropped.points += from->dropped.points;
	into->dropped.endpoints += from->dropped.endpoints;
	into->dropped.tallies += from->dropped.tallies;
	into->shards += from->shards ? from->shards : 1;
	for (uint32_t i = 0; i < from->merged_count; i++)
		if ((rc = add_name(into, from->merged_from[i])) < 0)
			return rc;
	return from->merged_count ? 0 : add_name(into, from_name);
}
