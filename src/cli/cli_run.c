/* cli_run: `surge run` — options into a run, the run supervised (a live progress line,
 * Ctrl-C, thresholds checked every second with --abort-on-fail), then the summary, the
 * result file and the exit code. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_options.h"
#include "core/heap.h"
#include "cli/cli_run.h"
#include "cli/cli_ui.h"
#include "core/clock.h"
#include "core/cpu_idle.h"
#include "core/echo.h"
#include "core/http.h"
#include "core/http_syntax.h"
#include "core/loop.h"
#include "core/units.h"
#include "scenario/scenario.h"
#include "report/result_finish.h"

#define BODY_MAX     (64u * 1024 * 1024)
#define REQUESTS_MAX 1000000000000ULL /* -n: a million a second for eleven days */

enum {
	OPT_BODY = 256,
	OPT_BODY_FILE,
	OPT_TIMEOUT,
	OPT_JSON,
	OPT_STAGES,
	OPT_MODEL,
	OPT_USERS,
	OPT_SPAWN_RATE,
	OPT_MAX_QUEUE,
	OPT_PROFILE,
	OPT_THRESHOLD,
	OPT_ABORT,
	OPT_TARGET_P95,
	OPT_TARGET_ERRORS,
	OPT_TARGET_RPS,
	OPT_HOST,
	OPT_GRACEFUL_STOP,
	OPT_SCRIPT_MEMORY,
	OPT_GROUP_BY_HEADER,
	OPT_PIPELINE,
	OPT_H2,
	OPT_IDLE_POLL,
	OPT_STREAMS,
	OPT_NEW_CONN_EVERY,
	OPT_NO_TLS_RESUME,
	OPT_IO,
};

/* The options of `surge run`: each is --NAME on the command line and SURGE_<NAME> in the
 * environment (cli_options.h); key is what cli_run_option switches on. */
static const cli_option_t run_table[] = {
    {"connections", 'c', "N", NULL, 0},
    {"threads", 't', "N", NULL, 0},
    {"duration", 'd', "DURATION", NULL, 0},
    {"requests", 'n', "N", NULL, 0},
    {"rate", 'R', "RATE", NULL, 0},
    {"stages", OPT_STAGES, "STAGES", NULL, 0},
    {"model", OPT_MODEL, "open|closed", NULL, 0},
    {"users", OPT_USERS, "N", NULL, 0},
    {"spawn-rate", OPT_SPAWN_RATE, "RATE", NULL, 0},
    {"max-queue", OPT_MAX_QUEUE, "N", NULL, 0},
    {"profile", OPT_PROFILE, "PROFILE", NULL, 0},
    {"threshold", OPT_THRESHOLD, "EXPR", NULL, 0},
    {"abort-on-fail", OPT_ABORT, NULL, NULL, 0},
    {"target-p95", OPT_TARGET_P95, "DURATION", NULL, 0},
    {"target-error-rate", OPT_TARGET_ERRORS, "PERCENT", NULL, 0},
    {"target-rps", OPT_TARGET_RPS, "N", NULL, 0},
    {"host", OPT_HOST, "URL", NULL, 0},
    {"graceful-stop", OPT_GRACEFUL_STOP, "DURATION", NULL, 0},
    {"script-memory", OPT_SCRIPT_MEMORY, "SIZE", NULL, 0},
    {"group-by-header", OPT_GROUP_BY_HEADER, "NAME", NULL, 0},
    {"scrape", CLI_OPT_SCRAPE, "URL", NULL, 0},
    {"cost-per-hour", CLI_OPT_COST_PER_HOUR, "USD", NULL, 0},
    {"replicas", CLI_OPT_REPLICAS, "N", NULL, 0},
    {"shard", CLI_OPT_SHARD, "I/N", NULL, 0},
    {"start-at", CLI_OPT_START_AT, "TIME", NULL, 0},
    CLI_UI_OPTIONS,
    CLI_DIST_OPTIONS,
    {"method", 'm', "METHOD", NULL, 0},
    {"header", 'H', "'NAME: VALUE'", NULL, 0},
    {"body", OPT_BODY, "TEXT", NULL, 0},
    {"body-file", OPT_BODY_FILE, "FILE", NULL, 0},
    {"timeout", OPT_TIMEOUT, "DURATION", NULL, 0},
    {"pipeline", OPT_PIPELINE, "N", NULL, 0},
    {"h2", OPT_H2, NULL, NULL, 0},
    {"streams", OPT_STREAMS, "N", NULL, 0},
    {"new-conn-every", OPT_NEW_CONN_EVERY, "N", NULL, 0},
    {"no-tls-resume", OPT_NO_TLS_RESUME, NULL, NULL, 0},
    {"io", OPT_IO, "auto|uring|epoll", NULL, 0},
    CLI_OUTPUTS_OPTIONS,
    {"insecure", 'k', NULL, NULL, 0},
    {"idle-poll", OPT_IDLE_POLL, NULL, NULL, 0},
    {"quiet", 'q', NULL, NULL, 0},
    {"help", 'h', NULL, NULL, CLI_OPTION_NO_ENV},
};

#define TABLE CLI_TABLE(run_table)
_Static_assert(sizeof(run_table) / sizeof(run_table[0]) <= CLI_OPTIONS_MAX,
               "run's options fit a cli_given_t");

/* What the command line gave and what the environment gives for the rest: flags win, and a
 * variable whose option a flag replaces is never read (see read_environment). */
static struct {
	cli_given_t flags, env;
} given;

/* "--json" or "-c/--connections": how the user may have written option opt. */
static void option_spelling(int opt, char *out, size_t len)
{
	int i = cli_option_by_key(TABLE, opt);

	if (i >= 0 && opt < 128)
		snprintf(out, len, "-%c/--%s", opt, run_table[i].name);
	else if (i >= 0)
		snprintf(out, len, "--%s", run_table[i].name);
	else
		snprintf(out, len, "-%c", opt > 32 && opt < 127 ? opt : '?');
}

static const char *value_name(int opt)
{
	int i = cli_option_by_key(TABLE, opt);

	return i >= 0 && run_table[i].value ? run_table[i].value : "a value";
}

/* For usage errors: an option the environment gave is named by its variable, "$SURGE_RATE",
 * where the message says "--rate". */
static const char *given_spelling(const char *name)
{
	int i = cli_option_find(TABLE, name, strlen(name));

	if (i < 0 || given.flags.value[i] || !given.env.value[i])
		return NULL;
	return given.env.from[i];
}

static int count_option(const char *name, const char *arg, uint64_t min, uint64_t max,
                        uint64_t *out)
{
	char err[ECHO_SIZE + 100];

	if (units_parse_count(arg, min, max, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

static int duration_option(const char *name, const char *arg, uint64_t *out)
{
	char err[ECHO_SIZE + 100];

	if (units_parse_duration(arg, NS_PER_S, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

/* A length that must be above 0: --duration and --timeout (0 would mean "no run" or "every
 * request times out at once", never what was meant). */
static int positive_duration_option(const char *name, const char *arg, const char *instead,
                                    uint64_t *out)
{
	int rc = duration_option(name, arg, out);

	if (rc == 0 && *out == 0)
		return cli_usage_error("run", "--%s '%s': must be above 0%s", name, ECHO(arg),
		                       instead);
	return rc;
}

static int number_option(const char *name, const char *arg, double min, double max, double *out)
{
	char *end, lo[32], hi[32];
	double v = strtod(arg, &end);
	bool percent = *end == '%';

	if (percent)
		v /= 100, end++;
	if (end == arg || *end || !(v >= min && v <= max)) {
		units_format_number(min, lo, sizeof(lo));
		units_format_number(max, hi, sizeof(hi));
		return cli_usage_error("run", "--%s: '%s' is not a number from %s to %s", name,
		                       ECHO(arg), lo, hi);
	}
	*out = v;
	return 0;
}

static bool header_is(const char *header, const char *name)
{
	size_t n = strlen(name);

	return strncasecmp(header, name, n) == 0 && header[n] == ':';
}

/* -H 'Name: value', checked now rather than when the first request is built: a bad header
 * is a usage error named before the run starts. The body's framing is surge's: it sends
 * Content-Length for --body/--body-file, so a Content-Length or Transfer-Encoding of the
 * user's would contradict the bytes on the wire. */
static int header_option(run_options_t *o, const char *arg)
{
	char err[200];

	if (http_header_check(arg, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--header '%s': %s", ECHO(arg), err);
	if (header_is(arg, "Content-Length") || header_is(arg, "Transfer-Encoding"))
		return cli_usage_error(
		    "run",
		    "--header '%s': surge frames the body itself (Content-Length "
		    "from --body or --body-file); leave this header out",
		    ECHO(arg));
	if (o->cfg.header_count == GEN_MAX_HEADERS)
		return cli_usage_error("run", "--header: at most %d headers", GEN_MAX_HEADERS);
	o->cfg.headers[o->cfg.header_count++] = arg;
	return 0;
}

static int method_option(run_options_t *o, const char *arg)
{
	char err[200];

	if (http_method_check(arg, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--method '%s': %s", ECHO(arg), err);
	o->cfg.method = arg;
	o->method_given = true;
	return 0;
}

/* --body and --body-file both give the body; the second would silently replace the first. */
static int body_conflict(const run_options_t *o, int opt)
{
	if ((opt == OPT_BODY && o->body_file_given) || (opt == OPT_BODY_FILE && o->body_given))
		return cli_usage_error("run", "--body and --body-file both give the request body: "
		                              "give one");
	return 0;
}

static int body_file_option(run_options_t *o, const char *path)
{
	size_t len;

	free(o->body_owned);
	o->body_owned = cli_read_file(path, BODY_MAX, &len);
	if (!o->body_owned)
		return cli_usage_error("run", "--body-file %s: %s", ECHO(path),
		                       errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
	o->cfg.body = o->body_owned;
	o->cfg.body_len = len;
	o->cfg.has_body = true;
	o->body_file_given = true;
	return 0;
}

static int script_memory_option(run_options_t *o, const char *arg)
{
	char err[160];

	if (units_parse_size(arg, &o->script_memory, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--script-memory: %s", err);
	if (o->script_memory < SCENARIO_HEAP_MIN || o->script_memory > SCENARIO_HEAP_MAX)
		return cli_usage_error("run",
		                       "--script-memory: '%s' is not from %llu MiB to %llu TiB",
		                       ECHO(arg), SCENARIO_HEAP_MIN >> 20, SCENARIO_HEAP_MAX >> 40);
	return 0;
}

/* --group-by-header NAME: a header name (RFC 9110 token characters) short enough to capture. */
static int group_by_option(run_options_t *o, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!http_token_chars[(unsigned char)name[i]])
			return cli_usage_error(
			    "run",
			    "--group-by-header '%s': not a header name (letters, "
			    "digits and !#$%%&'*+-.^_`|~)",
			    ECHO(name));
	if (n == 0 || n > HTTP_CAPTURE_NAME_MAX)
		return cli_usage_error("run", "--group-by-header '%s': %s", ECHO(name),
		                       n ? "longer than 64 characters" : "empty");
	o->cfg.group_header = name;
	return 0;
}

static int profile_option(run_options_t *o, const char *name)
{
	o->profile = profile_find(name);
	if (!o->profile)
		return cli_usage_error("run",
		                       "--profile '%s': no such profile (see 'surge help "
		                       "profiles')",
		                       ECHO(name));
	return 0;
}

/* Options that shape the load or judge it. */
static int parse_shape_option(run_options_t *o, int opt, const char *arg)
{
	uint64_t v;
	int rc = 0;

	switch (opt) {
	case 'R': o->rate_text = arg; break;
	case OPT_STAGES: o->stages_text = arg; break;
	case OPT_MODEL: o->model_text = arg; break;
	case OPT_USERS: rc = count_option("users", arg, 1, 1000000, &o->users); break;
	case OPT_SPAWN_RATE:
		rc = number_option("spawn-rate", arg, 0.001, 1e6, &o->spawn_rate);
		break;
	case OPT_MAX_QUEUE:
		rc = count_option("max-queue", arg, 0, 10000000, &v);
		o->cfg.max_queue = (uint32_t)v;
		o->max_queue_given = true;
		break;
	case OPT_PROFILE: rc = profile_option(o, arg); break;
	case OPT_THRESHOLD: rc = cli_threshold_option(o, "run", arg); break;
	case OPT_ABORT: o->abort_on_fail = true; break;
	case OPT_TARGET_P95:
		rc = duration_option("target-p95", arg, &v);
		o->targets.p95_ms = (double)v / NS_PER_MS;
		break;
	case OPT_TARGET_ERRORS:
		rc = number_option("target-error-rate", arg, 0, 1, &o->targets.max_error_rate);
		break;
	case CLI_OPT_SCRAPE:
	case CLI_OPT_COST_PER_HOUR:
	case CLI_OPT_REPLICAS: rc = cli_scrape_option(o, opt, arg); break;
	case CLI_OPT_SHARD:
	case CLI_OPT_START_AT: rc = cli_shard_option(o, opt, arg); break;
	case OPT_TARGET_RPS:
		rc = number_option("target-rps", arg, 0, 1e9, &o->targets.min_rps);
		o->target_rps_given = true;
		break;
	default: return EXIT_USAGE;
	}
	return rc;
}

int cli_run_option(run_options_t *o, int opt, const char *arg)
{
	gen_config_t *cfg = &o->cfg;
	uint64_t v;
	int rc = 0;

	switch (opt) {
	case 'c':
		rc = count_option("connections", arg, 1, GEN_MAX_CONNECTIONS, &v);
		cfg->connections = (uint32_t)v;
		o->connections_given = true;
		break;
	case 't':
		rc = count_option("threads", arg, 1, GEN_MAX_THREADS, &v);
		cfg->threads = (uint32_t)v;
		break;
	case 'd':
		rc = positive_duration_option("duration", arg,
		                              " (to run until -n requests, leave -d out)",
		                              &cfg->duration_ns);
		o->duration_given = true;
		break;
	case 'n': rc = count_option("requests", arg, 1, REQUESTS_MAX, &cfg->requests); break;
	case 'm': rc = method_option(o, arg); break;
	case 'H': rc = header_option(o, arg); break;
	case OPT_BODY:
		if ((rc = body_conflict(o, opt)) != 0)
			break;
		cfg->body = arg;
		cfg->body_len = strlen(arg);
		cfg->has_body = true;
		o->body_given = true;
		break;
	case OPT_BODY_FILE:
		if ((rc = body_conflict(o, opt)) == 0)
			rc = body_file_option(o, arg);
		break;
	case OPT_TIMEOUT:
		rc = positive_duration_option("timeout", arg, "", &cfg->timeout_ns);
		break;
	case OPT_PIPELINE:
		rc = count_option("pipeline", arg, 1, GEN_MAX_PIPELINE, &v);
		cfg->pipeline = (uint32_t)v;
		break;
	case OPT_H2: cfg->h2 = true; break;
	case OPT_STREAMS:
		rc = count_option("streams", arg, 1, GEN_MAX_STREAMS, &v);
		cfg->streams = (uint32_t)v;
		break;
	case OPT_NEW_CONN_EVERY:
		rc = count_option("new-conn-every", arg, 1, UINT32_MAX, &v);
		cfg->new_conn_every = (uint32_t)v;
		break;
	case OPT_NO_TLS_RESUME: cfg->tls_no_resume = true; break;
	case OPT_IO:
		if (loop_io_parse(arg, &(enum loop_io_choice){0}) < 0)
			rc = cli_usage_error("run", "--io '%s': expected auto, uring or epoll",
			                     ECHO(arg));
		o->io = arg;
		break;
	case OPT_HOST: o->host = arg; break;
	case OPT_GRACEFUL_STOP:
		rc = duration_option("graceful-stop", arg, &cfg->stop_grace_ns);
		o->graceful_stop_given = true;
		break;
	case OPT_SCRIPT_MEMORY: rc = script_memory_option(o, arg); break;
	case OPT_GROUP_BY_HEADER: rc = group_by_option(o, arg); break;
	case OPT_JSON:
		if ((rc = cli_output_writable(arg, "json", "run")) == 0)
			o->json_path = arg;
		break;
	case 'k': cfg->insecure = true; break;
	case OPT_IDLE_POLL: cfg->idle_poll = true; break;
	case 'q': o->quiet = true; break;
	default: return parse_shape_option(o, opt, arg);
	}
	return rc;
}

void cli_run_defaults(run_options_t *o)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	o->cfg.method = "GET";
	o->cfg.connections = 10;
	o->cfg.threads = cpus > 0 ? (uint32_t)cpus : 1;
	o->cfg.timeout_ns = 10 * NS_PER_S;
	assess_defaults(&o->targets);
}

/* What getopt could not take: an option it does not know, or one whose value is missing
 * (`surge run URL --json`). */
static int bad_option(int result, char **argv)
{
	char name[64];
	const char *arg = argv[optind - 1];

	if (result == ':') {
		option_spelling(optopt, name, sizeof(name));
		return cli_usage_error("run", "%s needs %s", name, value_name(optopt));
	}
	if (optopt && optopt < 128 && !(arg[0] == '-' && arg[1] == '-'))
		return cli_usage_error("run", "unknown option '-%c'", optopt);
	return cli_usage_error("run", "unknown option '%s'", ECHO(arg));
}

/* One option's value, from wherever it came; recorded in o->applied (a coordinator's shards
 * are given them). */
static int apply_option(run_options_t *o, int opt, const char *arg)
{
	if (o->applied_count < CLI_APPLIED_MAX)
		o->applied[o->applied_count++] = (cli_applied_t){opt, arg};
	else
		o->applied_over = true;
	if (cli_outputs_option(&o->outputs, opt, arg))
		return 0;
	if (opt == CLI_OPT_UI || opt == CLI_OPT_UI_TOKEN || opt == CLI_OPT_METRICS)
		return cli_ui_option(o, opt, arg);
	if (opt >= CLI_OPT_COORDINATOR && opt <= CLI_OPT_LOST_AFTER)
		return cli_dist_option(o, opt, arg);
	return cli_run_option(o, opt, arg);
}

const char *cli_run_option_name(int key)
{
	int i = cli_option_by_key(TABLE, key);

	return i >= 0 ? run_table[i].name : NULL;
}

int cli_run_apply_named(run_options_t *o, const char *name, const char *value)
{
	int i = cli_option_find(TABLE, name, strlen(name));

	if (i < 0)
		return cli_usage_error("run", "--%s: not an option of surge run", ECHO(name));
	return apply_option(o, run_table[i].key, run_table[i].value ? value : NULL);
}

/* The command line's options, before or after the URL as GNU getopt allows; -1 after
 * --help, 0, or an exit code. "-c=1" is read as "-c 1" (as --connections=1 is). Each is
 * recorded in given.flags, so the environment does not give it again. */
static int apply_args(run_options_t *o, int argc, char **argv)
{
	static cli_getopt_t getopt_table;
	char from[CLI_OPTION_FROM_MAX];
	int opt, rc, i;

	if (!getopt_table.shorts[0])
		cli_options_getopt(TABLE, &getopt_table);
	opterr = 0;
	optind = 0; /* 0, not 1: glibc starts afresh, so a second pass (a scenario) works */
	while ((opt = getopt_long(argc, argv, getopt_table.shorts, getopt_table.longs, NULL)) !=
	       -1) {
		if (opt == 'h') {
			fputs(cli_help_text("run"), stdout);
			return -1;
		}
		if (opt == '?' || opt == ':')
			return bad_option(opt, argv);
		if (optarg && opt < 128 && optarg[0] == '=' && optarg == argv[optind - 1] + 2)
			optarg++;
		if ((i = cli_option_by_key(TABLE, opt)) >= 0) {
			snprintf(from, sizeof(from), "--%s", run_table[i].name);
			cli_given_set(&given.flags, i, from, optarg ? optarg : "true");
		}
		if ((rc = apply_option(o, opt, optarg)) != 0)
			return rc;
	}
	return 0;
}

/* Options of a file that the command line replaces as a group: a load shape given on the
 * command line (any of -c --users --stages --rate --profile) replaces the file's whole
 * shape, the file's duration too when the new shape has a length of its own (--stages,
 * --profile), and --threshold replaces the file's thresholds, instead of mixing with them. */
typedef struct replaced {
	bool shape, duration, thresholds;
} replaced_t;

/* What options given on a layer above (the command line, or it and the environment)
 * replace below it. */
static replaced_t replaced_by(const run_options_t *o)
{
	return (replaced_t){
	    .shape =
	        o->connections_given || o->users || o->stages_text || o->rate_text || o->profile,
	    .duration = o->stages_text || o->profile,
	    .thresholds = o->threshold_count > 0,
	};
}

static bool is_replaced(const char *name, replaced_t r)
{
	static const char *const shape[] = {"connections", "users",   "spawn-rate", "stages",
	                                    "rate",        "profile", "model"};

	if ((r.thresholds && strcmp(name, "threshold") == 0) ||
	    (r.duration && strcmp(name, "duration") == 0))
		return true;
	for (size_t i = 0; r.shape && i < sizeof(shape) / sizeof(shape[0]); i++)
		if (strcmp(name, shape[i]) == 0)
			return true;
	return false;
}

/* A scenario's `options = {...}`, applied as if given first on the command line. What is
 * wrong with them is the file's: its messages name the file and its keys. The file's shape
 * is resolved once on its own (a copy), so a bad rate or a contradiction within the file is
 * the file's too; what the command line then adds is checked as the command line's. */
static int apply_scenario_options(run_options_t *o, replaced_t replaced)
{
	const scenario_option_t *opts;
	size_t n = scenario_options(o->scenario, &opts);
	run_options_t trial;
	int rc = 0;

	cli_usage_file(scenario_path(o->scenario), "options.", scenario_option_key);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int k = cli_option_find(TABLE, opts[i].name, strlen(opts[i].name));

		if (is_replaced(opts[i].name, replaced))
			continue;
		/* recorded with the others: a coordinator sends the file's options in force too */
		rc = k >= 0
		         ? apply_option(o, run_table[k].key, opts[i].value)
		         : cli_usage_error("run", "--%s: not an option of surge run", opts[i].name);
	}
	if (rc == 0) {
		trial = *o;
		trial.max_queue_given = false; /* its warning is the real resolve's to give */
		rc = cli_shape_resolve(&trial, "run");
	}
	cli_usage_file(NULL, NULL, NULL);
	return rc;
}

/* SURGE_<NAME> for each option the command line leaves alone, read once the command line
 * has been applied to o: a load shape or --threshold given as flags replaces the
 * environment's as a group (as it replaces a scenario file's), so those variables are not
 * read at all. */
static void read_environment(const run_options_t *o)
{
	replaced_t replaced = replaced_by(o);

	memset(&given.env, 0, sizeof(given.env));
	cli_options_read_env(TABLE, &given.flags, &given.env);
	for (int i = 0; i < TABLE.count; i++)
		if (given.env.value[i] && is_replaced(run_table[i].name, replaced))
			given.env.value[i] = NULL;
}

/* The environment's values (read_environment), as if given on the command line. A switch
 * takes a boolean: SURGE_QUIET=1 is -q, SURGE_QUIET=0 is nothing. */
static int apply_environment(run_options_t *o)
{
	char err[ECHO_SIZE + 100];
	int rc;

	for (int i = 0; i < TABLE.count; i++) {
		const char *v = given.env.value[i];
		bool on;

		if (!v)
			continue;
		if (!run_table[i].value) {
			if (units_parse_bool(v, &on, err, sizeof(err)) < 0)
				return cli_usage_error("run", "%s: %s", given.env.from[i], err);
			if (!on)
				continue;
			v = NULL;
		}
		if ((rc = apply_option(o, run_table[i].key, v)) != 0)
			return rc;
	}
	return 0;
}

static bool is_scenario(const char *arg)
{
	size_t n = strlen(arg);

	return n > 4 && strcmp(arg + n - 4, ".lua") == 0;
}

/* SCENARIO.lua: its options first, then the environment and the command line again over
 * them. */
static int load_scenario(run_options_t *o, const char *path, int argc, char **argv)
{
	char err[1024];
	scenario_t *s = scenario_load(path, err, sizeof(err));
	replaced_t replaced = replaced_by(o);
	/* --ui ADDR, --coordinator ADDR: words taken from the command line before this pass */
	const char *ui_addr = o->ui.ui_addr, *dist_addr = o->dist.addr;
	int rc;

	if (!s) {
		fprintf(stderr, "surge run: %s\n", err);
		return EXIT_USAGE;
	}
	free(o->body_owned); /* start again from the defaults: the file's options come first */
	memset(o, 0, sizeof(*o));
	cli_run_defaults(o);
	cli_run_scenario_begin(o, s);
	if ((rc = apply_scenario_options(o, replaced)) != 0 || (rc = apply_environment(o)) != 0 ||
	    (rc = apply_args(o, argc, argv)) != 0)
		return rc;
	if (!o->ui.ui_addr)
		o->ui.ui_addr = ui_addr;
	if (!o->dist.addr)
		o->dist.addr = dist_addr;
	return cli_run_scenario_ready(o, path);
}

void cli_run_scenario_begin(run_options_t *o, struct scenario *s)
{
	o->scenario = s;
	o->cfg.stop_grace_ns = SCENARIO_GRACEFUL_STOP_NS;
}

int cli_run_scenario_ready(run_options_t *o, const char *path)
{
	if (!o->host)
		return cli_usage_error("run",
		                       "%s: no host: set options.host in the file or give "
		                       "--host URL",
		                       ECHO(path));
	o->cfg.url_text = o->host;
	if (o->script_memory)
		scenario_set_heap_limit(o->scenario, o->script_memory);
	o->cfg.driver = scenario_driver(o->scenario);
	o->cfg.scenario_path = path;
	return 0;
}

static int parse_args(run_options_t *o, int argc, char **argv)
{
	int rc;

	cli_run_defaults(o);
	memset(&given, 0, sizeof(given));
	if ((rc = apply_args(o, argc, argv)) != 0)
		return rc;
	read_environment(o);
	if ((rc = apply_environment(o)) != 0)
		return rc;
	if ((rc = cli_outputs_check(&o->outputs, "run")) != 0)
		return rc;
	if (o->dist.join) /* a shard: the test comes from its coordinator */
		return optind == argc ? 0
		                      : cli_usage_error("run",
		                                        "--join: the test (its URL too) comes from "
		                                        "the coordinator: leave '%s' out",
		                                        ECHO(argv[optind]));
	/* --ui ADDR, --coordinator ADDR: the word after is its address, wherever getopt left it */
	for (int i = optind; i < argc; i++)
		if (cli_ui_takes_address(o, argv[i]) || cli_dist_takes_address(o, argv[i])) {
			memmove(&argv[i], &argv[i + 1], (size_t)(argc - i - 1) * sizeof(*argv));
			argc--;
			break;
		}
	if (optind == argc)
		return cli_usage_error("run", "missing URL or SCENARIO.lua");
	if (optind != argc - 1)
		return cli_usage_error("run", "expected one URL or scenario, got '%s' too",
		                       ECHO(argv[optind + 1]));
	if (is_scenario(argv[optind])) {
		if ((rc = load_scenario(o, argv[optind], argc, argv)) != 0)
			return rc;
	} else if (o->host) {
		return cli_usage_error("run", "--host is for scenarios; give the URL itself");
	} else if (o->graceful_stop_given) {
		return cli_usage_error("run", "--graceful-stop is for scenarios: a URL's requests "
		                              "in flight at the end are abandoned");
	} else if (o->script_memory) {
		return cli_usage_error("run", "--script-memory is for scenarios (the Lua heap)");
	} else {
		o->cfg.url_text = argv[optind];
	}
	return cli_run_resolve(o);
}

int cli_run_resolve(run_options_t *o)
{
	char err[200];
	int rc;

	if (url_parse(o->cfg.url_text, &o->cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("run", "URL '%s': %s", ECHO(o->cfg.url_text), err);
	if (o->cfg.has_body && !o->method_given)
		o->cfg.method = "POST";
	if (o->cfg.insecure && !o->cfg.url.tls)
		cli_warning("run", "-k/--insecure does nothing for an http:// URL (it skips "
		                   "certificate checks of https://)");
	/* an interactive open-model run takes its rate with Start: any rate until then */
	if (o->ui.ui && !o->duration_given && !o->cfg.requests && o->model_text &&
	    strcmp(o->model_text, "open") == 0 && !o->rate_text && !o->stages_text && !o->profile) {
		o->rate_text = "1";
		o->ui.rate_from_start = true;
	}
	if ((rc = cli_shape_resolve(o, "run")) != 0)
		return rc;
	return cli_ui_resolve(o);
}

/* ---- one supervised run ---- */

/* The live line: what the last finished second looked like. */
static void print_progress(const gen_point_t *last, uint64_t errors)
{
	char p50[16], p99[16];

	units_format_duration_us((double)last->p50_us, p50, sizeof(p50));
	units_format_duration_us((double)last->p99_us, p99, sizeof(p99));
	fprintf(stderr, "\r\033[K[%5.0fs] %u conns  %.0f req/s  p50 %s  p99 %s  errors %llu",
	        last->t, last->users, last->length_s > 0 ? last->requests / last->length_s : 0, p50,
	        p99, (unsigned long long)errors);
	fflush(stderr);
}

/* The run's result as its stream sums it, shared by the engine's threads (the consumer,
 * called per thread under the engine's timeline lock) and the supervisor (the live check):
 * one lock guards it — this one, or with --ui the live side's, whose consumer sums the
 * stream into the same result (cli_ui.c). Neither side holds it for more than one delta or
 * one judgement. */
typedef struct stream {
	pthread_mutex_t lock;
	result_t *r;
	cli_live_t *live; /* --ui: its consumer sums into r under its lock; else NULL */
	/* a caller's (cli_run_hooks_t: a distributed run's shard), which sums into r under a lock
	 * of its own: such a run has no live check (--abort-on-fail is its coordinator's) */
	const gen_consumer_t *hook;
	_Atomic int64_t done; /* the last second every running thread handed over; -1: none */
} stream_t;

static void stream_lock(stream_t *s)
{
	if (s->live)
		cli_live_lock(s->live);
	else
		pthread_mutex_lock(&s->lock);
}

static void stream_unlock(stream_t *s)
{
	if (s->live)
		cli_live_unlock(s->live);
	else
		pthread_mutex_unlock(&s->lock);
}

/* The run's consumer: every thread's per-second delta summed into the result (a failure is
 * counted there, in dropped.deltas_lost), or handed to the live side's consumer. */
static void sum_second(void *ctx, const delta_t *d)
{
	stream_t *s = ctx;
	const gen_consumer_t *live = s->hook   ? s->hook
	                             : s->live ? cli_live_consumer(s->live)
	                                       : NULL;

	if (live) {
		live->second(live->ctx, d);
		return;
	}
	pthread_mutex_lock(&s->lock);
	(void)result_add(s->r, d);
	pthread_mutex_unlock(&s->lock);
}

static void second_done(void *ctx, int64_t second)
{
	stream_t *s = ctx;
	const gen_consumer_t *live = s->hook   ? s->hook
	                             : s->live ? cli_live_consumer(s->live)
	                                       : NULL;

	if (live && live->second_done)
		live->second_done(live->ctx, second);
	atomic_store(&s->done, second);
}

/* The live check: every threshold judged on the stream so far by the judge of the finished
 * run (report_thresholds), endpoint ones too; true when one failed on a measured value. A
 * threshold with nothing to measure yet (no request, an endpoint not yet requested) waits:
 * the end judges it. balance waits too: the stream carries no --group-by-header counts (the
 * engine merges them from its threads at the end). */
static bool thresholds_fail_now(const result_t *r, const run_options_t *o)
{
	threshold_t live[THRESHOLD_MAX];
	double values[THRESHOLD_MAX];
	bool passed[THRESHOLD_MAX];
	int n = 0;

	for (int i = 0; i < o->threshold_count; i++)
		if (o->thresholds[i].metric != TH_BALANCE)
			live[n++] = o->thresholds[i];
	if (report_thresholds(r, live, n, values, passed) < 0)
		return false; /* no memory to judge now: the end judges (and says so) */
	for (int i = 0; i < n; i++)
		if (!passed[i] && !isnan(values[i]))
			return true;
	return false;
}

/* Waits for the run: progress once a second, SIGINT/SIGTERM into a clean stop, and with
 * --abort-on-fail the thresholds judged on every second the stream completes. */
static bool supervise(gen_run_t *run, const run_options_t *o, stream_t *stream,
                      const sigset_t *signals, bool progress)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	int64_t judged = -1;
	uint64_t seen = 0, given_back = 0;
	uint64_t errors = 0;
	bool aborted = false;
	int stop_asked = 0;
	gen_point_t p[16];
	size_t n;

	while (!gen_finished(run)) {
		int sig = sigtimedwait(signals, NULL, &tick);

		if ((sig == SIGINT || sig == SIGTERM) && !stop_asked++ && o->cfg.stop_grace_ns) {
			char grace[32];

			units_format_number((double)o->cfg.stop_grace_ns / NS_PER_S, grace,
			                    sizeof(grace));
			fprintf(stderr,
			        "\nsurge run: stopping — users are leaving (on_stop) for up "
			        "to %ss; again to stop now\n",
			        grace);
		}
		if (sig == SIGINT || sig == SIGTERM)
			gen_stop(run);
		/* what a burst made the threads allocate and free goes back (core/heap.h) */
		heap_give_back_every(clock_now_ns(), &given_back);
		while ((n = gen_timeline_snapshot(run, &seen, p, 16)) > 0) {
			for (size_t i = 0; i < n; i++)
				errors += p[i].errors;
			if (progress)
				print_progress(&p[n - 1], errors);
		}
		if (!o->abort_on_fail || aborted)
			continue;
		if (atomic_load(&stream->done) > judged) {
			judged = atomic_load(&stream->done);
			stream_lock(stream);
			aborted = thresholds_fail_now(stream->r, o);
			stream_unlock(stream);
		}
		if (aborted)
			gen_stop(run);
	}
	if (progress && seen)
		fputc('\n', stderr);
	return aborted;
}

/* What the run was asked to be judged by. */
report_asked_t cli_run_asked(const run_options_t *o, bool aborted)
{
	return (report_asked_t){
	    .thresholds = o->thresholds,
	    .threshold_count = o->threshold_count,
	    .targets = o->targets,
	    .profile = o->profile ? o->profile->name : NULL,
	    .aborted = aborted,
	    .cost_per_hour_usd = o->cost_per_hour,
	    .replicas = o->replicas,
	};
}

/* The stream's sum completed with what only the engine knows, the scraped target's figures,
 * and the verdicts. 0, or an exit code (message printed). */
static int complete(run_options_t *o, gen_result_t *g, scrape_t *scraper, bool aborted, result_t *r)
{
	report_asked_t asked = cli_run_asked(o, aborted);
	int rc;

	if (g->driver_error[0]) {
		cli_scrape_end(scraper, NULL);
		fprintf(stderr, "surge run: %s\n", g->driver_error);
		return EXIT_USAGE;
	}
	if (aborted)
		g->interrupted = false; /* stopped by a threshold, not by a signal: see aborted */
	rc = result_finish(&o->cfg, g, r);
	cli_live_adjust(o->live, r);
	cli_scrape_end(scraper, rc == 0 ? r : NULL);
	if (rc == 0)
		rc = report_judge(r, &asked);
	if (rc < 0) {
		fprintf(stderr, "surge run: %s building the result (exit 4)\n",
		        rc == -ENOMEM ? "out of memory" : strerror(-rc));
		return EXIT_GENERATOR;
	}
	return 0;
}

int cli_execute(run_options_t *o, bool progress, result_t *r)
{
	stream_t stream = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                   .r = r,
	                   .live = o->live,
	                   .hook = o->hooks ? o->hooks->consumer : NULL,
	                   .done = -1};
	gen_consumer_t consumer = {
	    .ctx = &stream, .second = sum_second, .second_done = second_done};
	gen_result_t g;
	gen_run_t *run;
	sigset_t signals;
	char err[256];
	bool aborted, scrape_failed;
	scrape_t *scraper;
	int rc, idle_poll = -1;

	result_init(r); /* freeable whatever happens below */
	/* every thread inherits the blocked mask; only supervise() takes the signals */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (!(scraper = cli_scrape_begin(o, &scrape_failed)) && scrape_failed)
		return EXIT_USAGE;
	if (o->cfg.idle_poll && (idle_poll = cpu_idle_poll_hold()) < 0) {
		cli_warning("run",
		            "--idle-poll: cannot hold /dev/cpu_dma_latency (%s): idle CPUs "
		            "may halt, and the schedule lag at low rates shows it",
		            strerror(-idle_poll));
		o->cfg.idle_poll = false; /* the result says it did not hold */
	}
	o->cfg.consumer = &consumer;
	run = gen_start(&o->cfg, err, sizeof(err));
	o->cfg.consumer = NULL; /* the run has its copy; `consumer` lives until gen_finish */
	if (!run) {
		/* out of memory or threads is the generator's resource (exit 4), not the user's */
		bool resource = errno == ENOMEM || errno == EAGAIN;

		if (idle_poll >= 0)
			close(idle_poll);
		cli_scrape_end(scraper, NULL);
		fprintf(stderr, "surge run: %s%s\n", err,
		        resource ? " (resource_error: the generator's machine, exit 4)" : "");
		return resource ? EXIT_GENERATOR : EXIT_USAGE;
	}
	cli_live_run_started(o->live, run);
	if (o->hooks && o->hooks->started)
		o->hooks->started(o->hooks->ctx, run);
	aborted = supervise(run, o, &stream, &signals, progress);
	if (o->hooks && o->hooks->over)
		o->hooks->over(o->hooks->ctx);
	cli_live_run_over(o->live); /* the page steers and stops no more: the run is let go */
	if (idle_poll >= 0)
		close(idle_poll); /* the CPUs may sleep again */
	if (gen_finish(run, &g) < 0) {
		cli_scrape_end(scraper, NULL);
		fprintf(stderr, "surge run: out of memory collecting the result (exit 4)\n");
		return EXIT_GENERATOR;
	}
	rc = complete(o, &g, scraper, aborted, r);
	gen_result_free(&g);
	return rc;
}

static void announce(const run_options_t *o)
{
	const gen_config_t *c = &o->cfg;
	uint32_t conns = (uint32_t)deal_share(c->connections, c->shard); /* a shard's own */

	if (o->ui.interactive) { /* the load comes with Start */
		fprintf(stderr, "surge run %s %s: %s model on %u threads, the load set in the UI\n",
		        c->scenario_path ? ECHO(c->scenario_path) : ECHO(c->method),
		        ECHO(c->url_text), c->open_model ? "open" : "closed", c->threads);
		return;
	}
	if (c->scenario_path)
		fprintf(stderr, "surge run %s against %s: %u users on %u threads, ",
		        ECHO(c->scenario_path), ECHO(c->url_text), conns, c->threads);
	else
		fprintf(stderr, "surge run %s %s: %u connections on %u threads, ", ECHO(c->method),
		        ECHO(c->url_text), c->h2 ? gen_h2_connections(conns, c->streams) : conns,
		        c->threads);
	if (c->open_model && c->stages_text)
		fprintf(stderr, "open model, rate stages %s", c->stages_text);
	else if (c->open_model)
		fprintf(stderr, "open model at %.1f/s", c->rate);
	else if (c->stages_text)
		fprintf(stderr, "closed model, user stages %s", c->stages_text);
	else
		fprintf(stderr, "closed model");
	if (c->pipeline > 1)
		fprintf(stderr, ", pipeline %u", c->pipeline);
	if (c->new_conn_every)
		fprintf(stderr, ", a new connection every %u request%s%s", c->new_conn_every,
		        c->new_conn_every > 1 ? "s" : "",
		        c->url.tls && c->tls_no_resume ? " (no TLS resumption)" : "");
	if (c->h2)
		fprintf(stderr, ", HTTP/2 (%s) with %u stream%s per connection",
		        c->url.tls ? "h2" : "h2c", c->streams, c->streams > 1 ? "s" : "");
	fprintf(stderr, "%s%s", o->profile ? ", profile " : "", o->profile ? o->profile->name : "");
	if (!deal_is_whole(c->shard))
		fprintf(stderr, ", shard %u/%u", c->shard.index + 1, c->shard.count);
	if (c->start_wall_ns) {
		char at[40];

		clock_format_rfc3339(c->start_wall_ns, at, sizeof(at));
		fprintf(stderr, ", starting at %s", at);
	}
	fputc('\n', stderr);
}

/* The run, with its live side when asked (--ui, --metrics): the UI opens before the run and
 * stays, in the interactive mode, until Quit; the outputs are written when the run ends. */
static int run_with_ui(run_options_t *o, result_t *model)
{
	sigset_t signals;
	int rc;

	/* blocked here already, so a Ctrl-C while waiting for Start is taken, not fatal */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if ((rc = cli_live_open(o, model, &o->live)) != 0)
		return rc;
	if (cli_live_wait_start(o->live, o, &signals) != 0) {
		cli_live_close(o->live);
		fprintf(stderr, "surge run: quit before Start: nothing measured (exit %d)\n",
		        EXIT_NOTHING);
		return EXIT_NOTHING;
	}
	rc = cli_execute(o, !o->quiet && isatty(STDERR_FILENO), model);
	if (rc == 0)
		rc = cli_result_end("run", &o->outputs, o->quiet, model);
	cli_live_finished(o->live);
	cli_live_wait_quit(o->live, &signals);
	cli_live_close(o->live);
	o->live = NULL;
	return rc;
}

int cli_run(int argc, char **argv)
{
	run_options_t o;
	result_t model; /* the sum of the run's stream, judged */
	int rc;

	memset(&o, 0, sizeof(o));
	result_init(&model);
	cli_usage_names(given_spelling);
	rc = parse_args(&o, argc, argv);
	if (rc != 0) {
		free(o.body_owned);
		scenario_free(o.scenario);
		cli_usage_names(NULL);
		return rc < 0 ? EXIT_OK : rc;
	}
	if (cli_io_choose(o.io, "--io", "run") < 0) {
		rc = EXIT_USAGE;
	} else if (o.dist.coordinator) {
		rc = cli_coordinator_run(&o, &model);
	} else if (o.dist.join) {
		rc = cli_join_run(&o, &model);
	} else {
		if (!o.quiet)
			announce(&o);
		rc = run_with_ui(&o, &model);
	}
	result_free(&model);
	free(o.body_owned);
	scenario_free(o.scenario);
	cli_usage_names(NULL);
	return rc;
}
