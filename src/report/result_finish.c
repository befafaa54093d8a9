/* result_finish: completes the result `surge run` summed from the engine's stream (result_add
 * of every per-second delta: totals, histograms, endpoints, tallies, timeline) with what the
 * stream does not carry: the config asked, the run's start, end and interruption, the
 * --group-by-header counts and the generator's own figures (CPU, RSS, the self-check's
 * decision). No figure of the stream is computed here; the verdicts are then report_judge's
 * and the scraped target's figures report_target_scraped's. */
#include "report/result_finish.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "core/loop.h"
#include "core/version.h"
#include "gen/gen_groups.h"

_Static_assert(RESULT_GROUPS_MAX == GEN_GROUPS_MAX, "the model keeps the engine's group values");

static int convert_config(result_t *r, const gen_config_t *cfg)
{
	result_config_t *c = &r->config;

	c->url = result_strdup(r, cfg->url_text);
	c->scenario = result_strdup(r, cfg->scenario_path);
	c->method = result_strdup(r, cfg->method);
	c->stages = result_strdup(r, cfg->stages_text);
	c->open_model = cfg->open_model;
	/* a shard's part of what the test asks (gen/deal.h) */
	c->has_rate = cfg->open_model && !cfg->stages_text;
	c->rate = deal_value(cfg->rate, cfg->shard);
	c->has_max_queue = cfg->open_model;
	c->max_queue = deal_share(cfg->max_queue, cfg->shard);
	c->has_pipeline = !cfg->driver;
	c->pipeline = cfg->pipeline > 1 ? cfg->pipeline : 1;
	c->new_conn_every = cfg->new_conn_every;
	if (!deal_is_whole(cfg->shard)) {
		c->shard_index = cfg->shard.index + 1;
		c->shard_count = cfg->shard.count;
	}
	c->connections = deal_share(cfg->connections, cfg->shard);
	if (cfg->h2) { /* the engine's connections are streams: the document counts TCP ones */
		c->streams = cfg->streams;
		c->connections = gen_h2_connections((uint32_t)c->connections, cfg->streams);
	}
	c->threads = cfg->threads;
	c->duration_s = (double)cfg->duration_ns / NS_PER_S;
	c->requests = deal_share(cfg->requests, cfg->shard);
	c->timeout_s = (double)cfg->timeout_ns / NS_PER_S;
	c->body_bytes = cfg->body_len;
	c->insecure = cfg->insecure;
	c->idle_poll = cfg->idle_poll;
	if (cfg->header_count > 0) {
		c->headers = result_alloc(r, (size_t)cfg->header_count * sizeof(*c->headers));
		if (!c->headers)
			return -ENOMEM;
		for (int i = 0; i < cfg->header_count; i++)
			if ((c->headers[c->header_count++] = result_strdup(r, cfg->headers[i])) ==
			    NULL)
				return -ENOMEM;
	}
	return !c->url || !c->method ? -ENOMEM : 0;
}

static int convert_groups(result_t *r, const gen_config_t *cfg, const gen_groups_t *gg)
{
	if (!gg)
		return 0;
	r->has_groups = true;
	r->group_header = result_strdup(r, cfg->group_header);
	r->group_missing = gg->missing;
	r->group_overflow = gg->overflow;
	r->group_truncated = gg->truncated;
	r->group_values_max = GEN_GROUPS_MAX;
	if (gg->count) {
		r->groups = result_alloc(r, gg->count * sizeof(*r->groups));
		if (!r->groups)
			return -ENOMEM;
	}
	for (uint32_t i = 0; i < gg->count; i++) {
		result_group_t *x = &r->groups[r->group_count++];

		memset(x, 0, sizeof(*x));
		snprintf(x->value, sizeof(x->value), "%s", gg->groups[i]->value);
		x->responses = gg->groups[i]->responses;
		x->errors = gg->groups[i]->errors;
		result_hist_init(&x->latency);
		if (result_hist_set(r, &x->latency, gg->groups[i]->latency) < 0)
			return -ENOMEM;
	}
	return r->group_header ? 0 : -ENOMEM;
}

static int convert_generator(result_t *r, const gen_result_t *g)
{
	result_generator_t *o = &r->generator;

	o->cpu_s = g->cpu_s;
	o->max_rss_bytes = g->max_rss_bytes;
	snprintf(o->io, sizeof(o->io), "%s", g->io_backend ? g->io_backend : loop_io_backend());
	snprintf(o->io_fallback, sizeof(o->io_fallback), "%s", loop_io_fallback());
	o->io_recv_no_buffer = g->io.recv_no_buffer;
	o->io_sq_full_submits = g->io.sq_full_submits;
	o->io_cq_overflow = g->io.cq_overflow;
	o->io_fallback_loops = g->io.fallback_loops;
	o->threads = g->threads;
	o->connections = g->connections;
	o->thread_cpu_max = g->thread_cpu_max;
	if (g->thread_cpu && g->threads) {
		o->thread_cpu = result_alloc(r, g->threads * sizeof(*o->thread_cpu));
		if (!o->thread_cpu)
			return -ENOMEM;
		memcpy(o->thread_cpu, g->thread_cpu, g->threads * sizeof(*o->thread_cpu));
		o->thread_cpu_count = g->threads;
	}
	o->saturated = g->saturated;
	o->saturation = g->saturation;
	o->saturation_shard = -1;
	return 0;
}

static int convert_tls(result_t *r, const gen_config_t *cfg, const gen_result_t *g)
{
	if (!g->handshake)
		return 0; /* http, or HTTP/2 (whose handshakes are not counted yet) */
	r->has_tls = true;
	r->tls_resumption = !cfg->tls_no_resume;
	r->tls_handshakes = g->tls_handshakes;
	r->tls_resumed = g->tls_resumed;
	return result_hist_set(r, &r->tls_handshake, g->handshake);
}

int result_finish(const gen_config_t *cfg, const gen_result_t *g, result_t *r)
{
	int rc;

	r->has_started_at = r->has_generator = true;
	if (!(r->version = result_strdup(r, surge_version)))
		return -ENOMEM;
	r->started_wall_ns = g->started_wall_ns;
	r->duration_s = (double)g->duration_ns / NS_PER_S;
	r->interrupted = g->interrupted;
	r->dropped.deltas_lost += g->stream_failed;
	if ((rc = result_seal(r)) < 0 || (rc = convert_config(r, cfg)) < 0 ||
	    (rc = convert_groups(r, cfg, g->groups)) < 0 || (rc = convert_generator(r, g)) < 0 ||
	    (rc = convert_tls(r, cfg, g)) < 0)
		return rc;
	return 0;
}

int result_finish_so_far(const gen_config_t *cfg, uint64_t started_wall_ns, result_t *r)
{
	int rc;

	r->has_started_at = r->has_generator = true;
	if (!r->version && !(r->version = result_strdup(r, surge_version)))
		return -ENOMEM;
	r->started_wall_ns = started_wall_ns;
	if ((rc = result_seal(r)) < 0 || (rc = convert_config(r, cfg)) < 0)
		return rc;
	return 0;
}
