/* cli_shard: `surge run --shard I/N --start-at TIME` — this process runs part I of N of one
 * test (the engine deals it exactly: deal.h), starting its first second at a wall-clock time
 * every shard is given, so that their seconds line up and `surge merge` adds them up second
 * by second. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/units.h"

#define START_AT_PAST_NS  NS_PER_S                  /* a time this far back is still "now" */
#define START_AT_AHEAD_NS (24ULL * 3600 * NS_PER_S) /* further ahead is a mistake */

/* "2/3": part 2 of 3, 1-based as people count; kept 0-based. */
static int shard_option(run_options_t *o, const char *arg)
{
	unsigned long long i, n;
	char tail;

	if (sscanf(arg, "%llu/%llu%c", &i, &n, &tail) != 2 ||
	    strspn(arg, "0123456789/") != strlen(arg) || i < 1 || n < 1 || i > n ||
	    n > DEAL_SHARDS_MAX)
		return cli_usage_error("run",
		                       "--shard '%s': expected I/N, part I of N with 1 <= I <= N "
		                       "<= %d (e.g. 2/3: the second of three)",
		                       ECHO(arg), DEAL_SHARDS_MAX);
	o->cfg.shard = (deal_part_t){(uint32_t)(i - 1), (uint32_t)n};
	return 0;
}

/* "+5s" (from now) or an RFC 3339 time; neither in the past nor more than a day ahead. */
static int start_at_option(run_options_t *o, const char *arg)
{
	uint64_t now = clock_wall_ns(), at, ahead;
	char err[ECHO_SIZE + 100];
	double epoch_s;

	if (arg[0] == '+') {
		if (units_parse_duration(arg + 1, NS_PER_S, &ahead, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--start-at: %s", err);
		at = now + (ahead < START_AT_AHEAD_NS ? ahead : START_AT_AHEAD_NS + 1);
	} else if (clock_parse_rfc3339(arg, &epoch_s) && epoch_s > 0 && epoch_s < 1e11) {
		/* to the microsecond: a double's nanoseconds of today's epoch are noise, and
		 * .123 must not come back as .122999999 (started_at, shown to the ms) */
		at = (uint64_t)llround(epoch_s * 1e6) * NS_PER_US;
	} else {
		return cli_usage_error("run",
		                       "--start-at '%s': expected a time as RFC 3339 "
		                       "(2026-12-03T21:30:00Z) or from now (+10s)",
		                       ECHO(arg));
	}
	if (at + START_AT_PAST_NS < now)
		return cli_usage_error("run",
		                       "--start-at '%s': that was %.1fs ago; give a time ahead "
		                       "(every shard the same)",
		                       ECHO(arg), (double)(now - at) / NS_PER_S);
	if (at > now + START_AT_AHEAD_NS)
		return cli_usage_error("run", "--start-at '%s': more than 24 hours ahead",
		                       ECHO(arg));
	o->cfg.start_wall_ns = at;
	return 0;
}

int cli_shard_option(run_options_t *o, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_SHARD: return shard_option(o, arg);
	case CLI_OPT_START_AT: return start_at_option(o, arg);
	default: return EXIT_USAGE;
	}
}

int cli_shard_check(const run_options_t *o, const char *cmd)
{
	const gen_config_t *cfg = &o->cfg;
	unsigned i = cfg->shard.index + 1, n = cfg->shard.count;

	if (deal_is_whole(cfg->shard))
		return 0;
	/* the stages' peak is the connections: a shard without one would never run a user */
	if (deal_share(cfg->connections, cfg->shard) == 0)
		return cli_usage_error(
		    cmd,
		    "--shard %u/%u: %u %s over %u shards leaves this one none "
		    "(give fewer shards)",
		    i, n, cfg->connections,
		    cfg->has_schedule ? "users at the stages' peak" : "connections", n);
	if (cfg->requests && deal_share(cfg->requests, cfg->shard) == 0)
		return cli_usage_error(cmd,
		                       "--shard %u/%u: -n %llu over %u shards leaves this one no "
		                       "request (give fewer shards)",
		                       i, n, (unsigned long long)cfg->requests, n);
	return 0;
}
