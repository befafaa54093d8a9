/* cli_run: what `surge run`, `surge capacity` and `surge merge` share — the parsed options of
 * a run, the load shape they resolve to, one supervised execution (progress, Ctrl-C, live
 * thresholds) producing a judged result, and how a judged result ends a command (summary,
 * outputs, exit code). */
#ifndef SURGE_CLI_RUN_H
#define SURGE_CLI_RUN_H

#include <stdbool.h>

#include "cli/cli_dist.h"
#include "cli/cli_outputs.h"
#include "cli/cli_ui.h"
#include "gen/gen.h"
#include "gen/profiles.h"
#include "report/report.h"
#include "result/result.h"
#include "scrape/scrape.h"

/* What a run's caller adds to one execution (a distributed run's shard, cli_join.c): the
 * stream goes to `consumer` instead (which sums into the run's result itself), and the caller
 * hears when the run has started (it may gen_stop it from then) and when it is over (not any
 * more: called before gen_finish). */
typedef struct cli_run_hooks {
	const gen_consumer_t *consumer;
	void (*started)(void *ctx, gen_run_t *run);
	void (*over)(void *ctx);
	void *ctx;
} cli_run_hooks_t;

/* The options applied, in order, each as given (the command line's, the environment's):
 * what a coordinator hands its shards (cli_coordinator.c). */
#define CLI_APPLIED_MAX 256
typedef struct cli_applied {
	int key;
	const char *arg; /* NULL for a switch */
} cli_applied_t;

typedef struct run_options {
	gen_config_t cfg;
	const char *host;          /* --host: a scenario's target */
	struct scenario *scenario; /* surge run SCENARIO.lua, or NULL */
	const char *json_path;     /* surge capacity's --json; surge run's outputs are below */
	cli_outputs_t outputs;
	bool method_given;
	bool body_given, body_file_given;
	bool max_queue_given;
	bool connections_given;
	bool graceful_stop_given;
	uint64_t script_memory; /* --script-memory: bytes of Lua heap per VM; 0: the default */
	bool quiet;
	char *body_owned;
	const char *io; /* --io auto|uring|epoll: the event loops' backend; NULL: auto */

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

	/* --ui, --ui-token, --metrics (cli_ui.c), and the live side they open (NULL: none) */
	cli_ui_options_t ui;
	struct cli_live *live;

	/* --coordinator, --expect-shards, --join, --token, --join-timeout (cli_dist.h) */
	cli_dist_options_t dist;
	const cli_run_hooks_t *hooks; /* NULL: none */
	cli_applied_t applied[CLI_APPLIED_MAX];
	uint32_t applied_count; /* beyond CLI_APPLIED_MAX: applied_over */
	bool applied_over;
} run_options_t;

/* cli_run.c, for a distributed run: an option's name by its key (NULL: none); one applied by
 * name as if given on the command line (a switch's value is ignored), 0 or EXIT_USAGE; the
 * rest of the command line's reading once the URL is known (the URL parsed, the method's
 * default, the shape resolved), 0 or EXIT_USAGE; and what the run is judged by. */
const char *cli_run_option_name(int key);
int cli_run_apply_named(run_options_t *o, const char *name, const char *value);
/* A scenario loaded (s, owned by o from now), before its options are applied: its defaults
 * (the graceful stop). */
void cli_run_scenario_begin(run_options_t *o, struct scenario *s);
/* After its options: its host as the target, its heap limit, its driver; path is how reports
 * name it. 0 or EXIT_USAGE (no host). */
int cli_run_scenario_ready(run_options_t *o, const char *path);
int cli_run_resolve(run_options_t *o);
report_asked_t cli_run_asked(const run_options_t *o, bool aborted);

/* cli_shape.c: profile, model, rate, stages, users → cfg; 0 or EXIT_USAGE (message printed). */
int cli_shape_resolve(run_options_t *o, const char *cmd);
int cli_threshold_option(run_options_t *o, const char *cmd, const char *text);

/* cli_run.c: the defaults and the options every load command shares (-c -t -d -n -m -H
 * --body --body-file --timeout -k -q --json, and the shape options). */
void cli_run_defaults(run_options_t *o);
int cli_run_option(run_options_t *o, int opt, const char *arg);

/* cli_scrape.c: --scrape URL, --cost-per-hour USD, --replicas N (ids for cli_run.c's table);
 * the scraper around one run, its samples condensed into the result (r's start, duration
 * and timeline final; NULL: stopped only). begin returns NULL when
 * not asked, or with *failed set (message printed) when the URL is unusable. */
enum { CLI_OPT_SCRAPE = 400, CLI_OPT_COST_PER_HOUR, CLI_OPT_REPLICAS };
int cli_scrape_option(run_options_t *o, int opt, const char *arg);
scrape_t *cli_scrape_begin(const run_options_t *o, bool *failed);
void cli_scrape_end(scrape_t *s, result_t *r);

/* cli_shard.c: --shard I/N and --start-at TIME (ids for cli_run.c's table) into cfg, and
 * the check, once the shape is resolved, that the shard has users and requests of its own.
 * 0 or EXIT_USAGE (message printed). */
enum { CLI_OPT_SHARD = 420, CLI_OPT_START_AT };
int cli_shard_option(run_options_t *o, int opt, const char *arg);
int cli_shard_check(const run_options_t *o, const char *cmd);

/* cli_run.c: one run, supervised; r is the sum of its per-second deltas, completed with what
 * the stream does not carry and judged (report_judge) by o's thresholds, targets and cost
 * (initialised here, freeable after any outcome). 0, or the exit code when it could not run
 * or be judged (message printed): EXIT_USAGE, or EXIT_GENERATOR when memory or threads ran
 * out. */
int cli_execute(run_options_t *o, bool progress, result_t *r);
/* What decides a finished run's exit code: the one rule of `surge help exit-codes`, for a
 * URL, a scenario (whose every iteration may fail before a request ends) and any other
 * command that judges a run from these figures. */
typedef struct cli_outcome {
	uint64_t responses;                          /* complete responses, any status */
	uint64_t errors_by_kind[GEN_ERR_KIND_COUNT]; /* requests that failed without one */
	uint64_t script_errors;                      /* scenario iterations ended by a Lua error */
	bool thresholds_ok;
	bool saturated; /* the self-check's verdict */
	/* a distributed run: its shards, how many were lost while it ran, the first of them */
	uint32_t shards, shards_lost;
	uint32_t first_lost_index; /* 0-based */
	int64_t first_lost_from;   /* the second from which its part is missing */
	double lost_asked; /* the lost shards' shares of the users or rate asked (NAN: unknown) */
} cli_outcome_t;

/* cli_result.c. The exit code, in precedence: 3 not one valid response (the target failed
 * every request), 4 not one request could be sent (resource_error only), 5 nothing was
 * measured (no request ended), 6 a distributed run lost a shard (its figures lack that part:
 * no verdict on them holds), 1 a threshold failed, 4 the generator saturated or ran out of
 * resources, 0. For 3, 5, 6 and a resource 4, why says so in a line (else it is ""). */
int cli_outcome_exit(const cli_outcome_t *o, char *why, size_t len);
/* The same for a judged result (a run's, or a merge's whole). */
int cli_exit_code(const result_t *r, char *why, size_t len);
/* The end of `surge run` and `surge merge`: the summary (unless quiet) on stdout, or stderr when an
 * output goes to stdout; every output from r; and the exit code of cli_exit_code, its reason on
 * stderr ("the whole run: " for a merge). An output that could not be written is exit 2; memory
 * running out while writing them exit 4 for a run (the generator's machine), 2 for a merge. */
int cli_result_end(const char *cmd, const cli_outputs_t *o, bool quiet, const result_t *r);

#endif
