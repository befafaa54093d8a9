/* cli_scrape: `surge run --scrape URL --cost-per-hour USD --replicas N` — the options, the
 * scraper started before the load and stopped after it, its samples handed to the report
 * as the target's figures. An unreachable /metrics is a warning: the load test goes on. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "cli/cli_ui.h"
#include "core/echo.h"
#include "core/units.h"

int cli_scrape_option(run_options_t *o, int opt, const char *arg)
{
	char err[200], *end;
	uint64_t n;

	switch (opt) {
	case CLI_OPT_SCRAPE:
		if (scrape_check_url(arg, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--scrape '%s': %s", ECHO(arg), err);
		o->scrape_url = arg;
		return 0;
	case CLI_OPT_COST_PER_HOUR:
		o->cost_per_hour = strtod(arg[0] == '$' ? arg + 1 : arg, &end);
		if (end == arg || *end || !(o->cost_per_hour > 0 && o->cost_per_hour <= 1e9))
			return cli_usage_error(
			    "run",
			    "--cost-per-hour: '%s' is not a price in USD above 0 "
			    "(per replica and hour, e.g. 0.10)",
			    ECHO(arg));
		return 0;
	case CLI_OPT_REPLICAS:
		if (units_parse_count(arg, 1, 1000000, &n, err, sizeof(err)) < 0)
			return cli_usage_error("run", "--replicas: %s", err);
		o->replicas = (uint32_t)n;
		return 0;
	default: return EXIT_USAGE;
	}
}

scrape_t *cli_scrape_begin(const run_options_t *o, bool *failed)
{
	char warning[256];
	scrape_t *s;

	*failed = false;
	if (!o->scrape_url)
		return NULL;
	/* with --ui, the page hears of each sample: the target's figures as the run goes */
	s = scrape_start(o->scrape_url, o->live ? cli_live_scraped : NULL, o->live, warning,
	                 sizeof(warning));
	if (!s) {
		cli_usage_error("run", "--scrape %s: %s", ECHO(o->scrape_url), warning);
		*failed = true;
	} else if (warning[0] && !o->quiet) {
		cli_warning("run",
		            "--scrape %s: %s; the run goes on, and the scraper keeps trying every "
		            "second",
		            ECHO(o->scrape_url), warning);
	}
	return s;
}

void cli_scrape_end(scrape_t *s, result_t *r)
{
	scrape_series_t series;

	if (!s)
		return;
	scrape_stop(s, &series);
	if (r && report_target_scraped(r, &series) < 0) {
		r->has_target = false; /* a partial target would mislead the advice */
		fprintf(stderr, "surge run: out of memory condensing the scraped figures\n");
	}
	scrape_series_free(&series);
}
