/* cli_run: what `surge run` and `surge capacity` share — the parsed options of a run, the
 * load shape they resolve to, and one supervised execution (progress, Ctrl-C, live
 * thresholds) producing a result and its analysis. */
#ifndef SURGE_CLI_RUN_H
#define SURGE_CLI_RUN_H

#include <stdbool.h>

#include "cli/cli_outputs.h"
#include "gen/gen.h"
#include "gen/profiles.h"
#include "report/report.h"
#include "scrape/scrape.h"

typedef struct run_options {
	gen_config_t cfg;
	const char *host;          /* --host: a scenario's target */
	struct scenario *scenario; /* surge run SCENARIO.lua, or NULL */
	const char *json_path;     /* surge capacity's --json; surge run's outputs are below */
	cli_outputs_t outputs;
	bool method_given;
	bool connections_given;
	bool graceful_stop_given;
	bool quiet;
	char *body_owned;

	/* the load shape as asked; cli_shape resolves it into cfg */
	const char *rate_text;
	const char *stages_text;
	const char *model_text;
	uint64_t users; /* --users N (with --spawn-rate) */
	double spawn_rate;
	const profile_t *profile;
	bool duration_given;

	threshold_t thresholds[THRESHOLD_MAX];
	int threshold_count;
	bool abort_on_fail;
	assess_targets_t targets;
	bool target_rps_given;

	/* --scrape, --cost-per-hour, --replicas (cli_scrape.c) */
	const char *scrape_url;
	double cost_per_hour; /* USD per replica and hour; 0: not given */
	uint32_t replicas;    /* 0: not given (one) */
} run_options_t;

/* cli_shape.c: profile, model, rate, stages, users → cfg; 0 or EXIT_USAGE (message printed). */
int cli_shape_resolve(run_options_t *o, const char *cmd);
int cli_threshold_option(run_options_t *o, const char *cmd, const char *text);

/* cli_run.c: the defaults and the options every load command shares (-c -t -d -n -m -H
 * --body --body-file --timeout -k -q --json, and the shape options). */
void cli_run_defaults(run_options_t *o);
int cli_run_option(run_options_t *o, int opt, const char *arg);

/* cli_scrape.c: --scrape URL, --cost-per-hour USD, --replicas N (ids for cli_run.c's table);
 * the scraper around one run, its samples condensed for the report. begin returns NULL when
 * not asked, or with *failed set (message printed) when the URL is unusable. */
enum { CLI_OPT_SCRAPE = 400, CLI_OPT_COST_PER_HOUR, CLI_OPT_REPLICAS };
int cli_scrape_option(run_options_t *o, int opt, const char *arg);
scrape_t *cli_scrape_begin(const run_options_t *o, bool *failed);
report_target_t *cli_scrape_end(scrape_t *s, const gen_result_t *r);

/* cli_run.c: one run, supervised; fills result and analysis. 0, or EXIT_USAGE when it could
 * not start (message printed). */
int cli_execute(run_options_t *o, bool progress, gen_result_t *result, report_analysis_t *a);
/* The exit code a finished run deserves (surge help exit-codes). */
int cli_exit_code(const gen_result_t *r, const report_analysis_t *a);

#endif
