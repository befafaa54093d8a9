/* cli_dist: the options of a distributed run (cli_dist.h) — --coordinator [ADDR],
 * --expect-shards N, --join URL, --token T, --join-timeout D — parsed and checked here; what
 * each side then does is cli_coordinator.c's and cli_join.c's. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/echo.h"
#include "core/units.h"
#include "gen/deal.h"
#include "ui/ui_access.h"

/* HOST:PORT, [V6]:PORT, :PORT or PORT (the UI's forms): not a URL, not a file. */
static bool looks_like_address(const char *s)
{
	const char *colon = strrchr(s, ':');
	const char *port = colon ? colon + 1 : s;
	struct stat st;

	if (!*port || strlen(port) > 5 || strstr(s, "://") || strchr(s, '/') || stat(s, &st) == 0)
		return false;
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

bool cli_dist_takes_address(run_options_t *o, const char *arg)
{
	if (!o->dist.coordinator || o->dist.addr || !looks_like_address(arg))
		return false;
	o->dist.addr = arg;
	return true;
}

int cli_dist_option(run_options_t *o, int opt, const char *arg)
{
	char err[ECHO_SIZE + 100];
	uint64_t v;

	switch (opt) {
	case CLI_OPT_COORDINATOR:
		o->dist.coordinator = true;
		if (arg)
			o->dist.addr = arg;
		return 0;
	case CLI_OPT_EXPECT_SHARDS:
		if (units_parse_count(arg, 1, DEAL_SHARDS_MAX, &v, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--expect-shards: %s", err);
		o->dist.shards = (uint32_t)v;
		return 0;
	case CLI_OPT_JOIN: o->dist.join = arg; return 0;
	case CLI_OPT_TOKEN:
		if (ui_token_check_format(arg, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--token: %s", err);
		o->dist.token = arg;
		return 0;
	case CLI_OPT_JOIN_TIMEOUT:
	case CLI_OPT_LOST_AFTER: {
		const char *name = opt == CLI_OPT_LOST_AFTER ? "lost-after" : "join-timeout";
		uint64_t *to =
		    opt == CLI_OPT_LOST_AFTER ? &o->dist.lost_after_ns : &o->dist.join_timeout_ns;

		if (units_parse_duration(arg, NS_PER_S, to, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--%s: %s", name, err);
		/* a second: a shard sends once a second, so less would lose every one */
		if (*to < (opt == CLI_OPT_LOST_AFTER ? 2 * NS_PER_S : 1))
			return cli_usage_error("run", "--%s '%s': must be %s", name, ECHO(arg),
			                       opt == CLI_OPT_LOST_AFTER ? "at least 2s"
			                                                 : "above 0");
		return 0;
	}
	}
	return cli_usage_error("run", "unknown option");
}
