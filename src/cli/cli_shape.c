/* cli_shape: turns what the user asked about the load's shape — a profile, -R, --stages,
 * --users/--spawn-rate, -c, -d — into one engine config, options overriding the profile.
 * Closed model unless a rate is asked; stages ramp users (closed) or the rate (open). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/http2_request.h"
#include "core/units.h"

#define MAX_USERS 1000000.0
#define MAX_RATE  10000000.0

int cli_threshold_option(run_options_t *o, const char *cmd, const char *text)
{
	char err[256];

	if (o->threshold_count == THRESHOLD_MAX)
		return cli_usage_error(cmd, "--threshold: at most %d thresholds", THRESHOLD_MAX);
	if (threshold_parse(text, &o->thresholds[o->threshold_count], err, sizeof(err)) < 0)
		return cli_usage_error(cmd, "--threshold: %s", err);
	o->threshold_count++;
	return 0;
}

/* The profile's defaults, for whatever the options did not say. */
static int apply_profile(run_options_t *o, const char *cmd)
{
	const profile_t *p = o->profile;

	if (!p)
		return 0;
	if (!o->model_text && !o->rate_text)
		o->model_text = p->open_model ? "open" : "closed";
	if (!o->stages_text && !o->rate_text && !o->users)
		o->stages_text = p->stages;
	if (o->threshold_count == 0)
		for (int i = 0; p->thresholds[i]; i++)
			if (cli_threshold_option(o, cmd, p->thresholds[i]) != 0)
				return EXIT_USAGE;
	o->abort_on_fail |= p->abort_on_fail;
	return 0;
}

/* --users N --spawn-rate R: Locust's ramp, 0 to N at R users per second, then N. */
static int users_schedule(run_options_t *o, const char *cmd, char *buf, size_t len)
{
	double ramp_s = o->spawn_rate > 0 ? (double)o->users / o->spawn_rate : 0;
	double total_s = o->cfg.duration_ns ? (double)o->cfg.duration_ns / NS_PER_S : 60;

	if (ramp_s > total_s)
		ramp_s = total_s;
	snprintf(buf, len, "%.3fs:%llu,%.3fs:%llu", ramp_s, (unsigned long long)o->users,
	         total_s - ramp_s, (unsigned long long)o->users);
	o->stages_text = buf;
	o->cfg.users_ramp = true;
	if (!o->duration_given)
		o->cfg.duration_ns = (uint64_t)(total_s * NS_PER_S);
	(void)cmd;
	return 0;
}

static double schedule_peak(const schedule_t *s)
{
	double peak = s->start;

	for (int i = 0; i < s->count; i++)
		peak = fmax(peak, s->stages[i].target);
	return peak;
}

static int resolve_open(run_options_t *o, const char *cmd)
{
	gen_config_t *cfg = &o->cfg;
	char err[256] = "";

	cfg->open_model = true;
	if (!o->connections_given)
		cfg->connections = 100;
	if (!o->max_queue_given)
		cfg->max_queue = 1000;
	if (o->stages_text) {
		if (schedule_parse(o->stages_text, 0, MAX_RATE, &cfg->schedule, err, sizeof(err)) <
		    0)
			return cli_usage_error(cmd, "--stages: %s", err);
		if (schedule_peak(&cfg->schedule) <= 0)
			return cli_usage_error(cmd,
			                       "--stages '%s': the rate is 0 throughout: not one "
			                       "request would be sent",
			                       ECHO(o->stages_text));
		cfg->stages_text = o->stages_text;
		if (!cfg->duration_ns)
			cfg->duration_ns = schedule_duration(&cfg->schedule);
		return 0;
	}
	if (!o->rate_text)
		return cli_usage_error(cmd, "the open model needs a rate: -R/--rate or --stages");
	if (units_parse_rate(o->rate_text, &cfg->rate, err, sizeof(err)) < 0 || cfg->rate <= 0)
		return cli_usage_error(cmd, "--rate: %s",
		                       cfg->rate <= 0 && !err[0] ? "must be above 0" : err);
	if (!cfg->duration_ns && !cfg->requests)
		cfg->duration_ns = 10 * NS_PER_S;
	/* a constant rate for as long as the run lasts (-n alone: until the count) */
	schedule_constant(&cfg->schedule, cfg->rate,
	                  cfg->duration_ns ? cfg->duration_ns : 30ULL * 24 * 3600 * NS_PER_S);
	return 0;
}

static int resolve_closed(run_options_t *o, const char *cmd, char *buf, size_t len)
{
	gen_config_t *cfg = &o->cfg;
	char err[256];

	if (o->users && users_schedule(o, cmd, buf, len) != 0)
		return EXIT_USAGE;
	if (o->stages_text) {
		if (schedule_parse(o->stages_text, 0, MAX_USERS, &cfg->schedule, err, sizeof(err)) <
		    0)
			return cli_usage_error(cmd, "--stages: %s", err);
		if (schedule_peak(&cfg->schedule) <= 0)
			return cli_usage_error(
			    cmd,
			    "--stages '%s': every target is 0: no user would ever "
			    "start",
			    ECHO(o->stages_text));
		cfg->has_schedule = true;
		cfg->stages_text = o->stages_text;
		/* a connection per user at the peak; -c can only lower it */
		uint32_t peak = (uint32_t)ceil(schedule_peak(&cfg->schedule));
		if (!o->connections_given || cfg->connections > peak)
			cfg->connections = peak ? peak : 1;
		if (!cfg->duration_ns)
			cfg->duration_ns = schedule_duration(&cfg->schedule);
	}
	if (!cfg->duration_ns && !cfg->requests)
		cfg->duration_ns = 10 * NS_PER_S;
	if (o->max_queue_given)
		cli_warning(cmd,
		            "--max-queue is for the open model (-R, or --model open): the closed "
		            "model has no queue, it is ignored");
	return 0;
}

/* Two options that each set the same part of the load's shape: one would silently lose.
 * Only what the user gave counts (a profile's stages yield to any of them). */
static int shape_conflicts(const run_options_t *o, const char *cmd)
{
	bool open = o->rate_text || (o->model_text && strcmp(o->model_text, "open") == 0);

	if (o->rate_text && o->stages_text)
		return cli_usage_error(cmd, "-R/--rate and --stages both set the load: give one "
		                            "(--model open --stages ramps the rate)");
	if (o->users && o->connections_given)
		return cli_usage_error(cmd, "--users and -c/--connections both set the number of "
		                            "users: give one");
	if (!open && o->stages_text && o->connections_given)
		return cli_usage_error(cmd, "--stages and -c/--connections both set the number of "
		                            "users: give one (the stages' targets are users)");
	return 0;
}

/* --h2 and --streams: what they cannot go with (exit 2). */
static int h2_conflicts(run_options_t *o, const char *cmd)
{
	if (o->cfg.streams && !o->cfg.h2)
		return cli_usage_error(cmd,
		                       "--streams is HTTP/2's streams per connection: it needs "
		                       "--h2");
	if (!o->cfg.h2)
		return 0;
	if (!o->cfg.streams)
		o->cfg.streams = 1;
	if (o->cfg.pipeline > 1)
		return cli_usage_error(cmd,
		                       "--pipeline is HTTP/1.1's: with --h2, --streams N keeps N "
		                       "requests in flight per connection");
	for (int i = 0; i < o->cfg.header_count; i++) {
		char err[200];

		if (http2_header_check(o->cfg.headers[i], err, sizeof(err)) < 0)
			return cli_usage_error(cmd, "--header: %s", err);
	}
	return 0;
}

/* --h2: every stream is a connection of the engine (a user of the closed model, a place for
 * an arrival of the open model): -c N --streams M is N x M of them on N TCP connections. The
 * closed model's --stages and --users count streams, ceil(users / M) TCP connections. */
static int h2_streams(run_options_t *o, const char *cmd)
{
	gen_config_t *cfg = &o->cfg;
	uint64_t total = (uint64_t)cfg->connections * cfg->streams;

	if (!cfg->open_model && cfg->has_schedule)
		return 0;
	if (total > GEN_MAX_CONNECTIONS)
		return cli_usage_error(
		    cmd, "-c %u with --streams %u is %llu streams: at most %u in all",
		    cfg->connections, cfg->streams, (unsigned long long)total, GEN_MAX_CONNECTIONS);
	cfg->connections = (uint32_t)total;
	return 0;
}

int cli_shape_resolve(run_options_t *o, const char *cmd)
{
	static char users_stages[128];
	bool open;

	if (shape_conflicts(o, cmd) != 0 || apply_profile(o, cmd) != 0)
		return EXIT_USAGE;
	for (int i = 0; i < o->threshold_count; i++)
		if (o->thresholds[i].metric == TH_BALANCE && !o->cfg.group_header)
			return cli_usage_error(cmd,
			                       "--threshold '%s' needs --group-by-header NAME (the "
			                       "response header whose values it compares)",
			                       ECHO(o->thresholds[i].expr));
	if (o->model_text && strcmp(o->model_text, "open") != 0 &&
	    strcmp(o->model_text, "closed") != 0)
		return cli_usage_error(cmd, "--model '%s': expected open or closed",
		                       ECHO(o->model_text));
	open = o->rate_text || (o->model_text && strcmp(o->model_text, "open") == 0);
	if (open && o->model_text && strcmp(o->model_text, "closed") == 0)
		return cli_usage_error(cmd, "--rate asks for the open model, --model says closed");
	if (open && o->users)
		return cli_usage_error(
		    cmd, "--users is for the closed model; the open model takes a rate");
	if (o->spawn_rate > 0 && !o->users)
		return cli_usage_error(cmd, "--spawn-rate needs --users");
	if (o->users && o->stages_text &&
	    o->stages_text != (o->profile ? o->profile->stages : NULL))
		return cli_usage_error(cmd, "--users and --stages both shape the users: give one");
	/* a user is synchronous, and an arrival is one request: pipelining is the closed
	 * model's (docs/run.md says why the open model refuses it) */
	if (o->cfg.pipeline > 1 && o->scenario)
		return cli_usage_error(cmd,
		                       "--pipeline is for a plain run of one URL: a scenario's "
		                       "users send one request at a time");
	if (o->cfg.pipeline > 1 && open)
		return cli_usage_error(cmd,
		                       "--pipeline is for the closed model (-c): the open model "
		                       "(-R, --model open) sends each arrival on a connection of "
		                       "its own");
	if (o->cfg.new_conn_every && (o->cfg.pipeline > 1 || o->cfg.h2))
		return cli_usage_error(cmd, "--new-conn-every counts one connection's requests one "
		                            "after the other: not with --pipeline or --h2");
	if (h2_conflicts(o, cmd) != 0)
		return EXIT_USAGE;
	if (open ? resolve_open(o, cmd)
	         : resolve_closed(o, cmd, users_stages, sizeof(users_stages)))
		return EXIT_USAGE;
	if (o->cfg.h2 && h2_streams(o, cmd) != 0)
		return EXIT_USAGE;
	/* no more threads than connections: a shard's own, its part of the test's */
	if (o->cfg.threads > deal_share(o->cfg.connections, o->cfg.shard))
		o->cfg.threads = (uint32_t)deal_share(o->cfg.connections, o->cfg.shard);
	if (o->cfg.h2)
		o->cfg.threads =
		    gen_h2_threads((uint32_t)deal_share(o->cfg.connections, o->cfg.shard),
		                   o->cfg.streams, o->cfg.threads);
	/* the open model must deliver what it asked: a shard, its part */
	if (!o->target_rps_given && o->cfg.open_model && !o->cfg.stages_text)
		o->targets.min_rps = deal_value(o->cfg.rate, o->cfg.shard) * 0.99;
	return cli_shard_check(o, cmd);
}
