/* cli_run: `surge run` — options into a run, the run supervised (a live progress line,
 * Ctrl-C, thresholds checked every second with --abort-on-fail), then the summary, the
 * result file and the exit code. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/clock.h"
#include "core/units.h"
#include "scenario/scenario.h"
#include "report/result_doc.h"

#define BODY_MAX (64u * 1024 * 1024)

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
};

static const struct option long_options[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"rate", required_argument, NULL, 'R'},
    {"stages", required_argument, NULL, OPT_STAGES},
    {"model", required_argument, NULL, OPT_MODEL},
    {"users", required_argument, NULL, OPT_USERS},
    {"spawn-rate", required_argument, NULL, OPT_SPAWN_RATE},
    {"max-queue", required_argument, NULL, OPT_MAX_QUEUE},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"abort-on-fail", no_argument, NULL, OPT_ABORT},
    {"target-p95", required_argument, NULL, OPT_TARGET_P95},
    {"target-error-rate", required_argument, NULL, OPT_TARGET_ERRORS},
    {"target-rps", required_argument, NULL, OPT_TARGET_RPS},
    {"host", required_argument, NULL, OPT_HOST},
    {"graceful-stop", required_argument, NULL, OPT_GRACEFUL_STOP},
    {"scrape", required_argument, NULL, CLI_OPT_SCRAPE},
    {"cost-per-hour", required_argument, NULL, CLI_OPT_COST_PER_HOUR},
    {"replicas", required_argument, NULL, CLI_OPT_REPLICAS},
    {"method", required_argument, NULL, 'm'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, OPT_BODY},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    CLI_OUTPUTS_LONG_OPTIONS,
    {"insecure", no_argument, NULL, 'k'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static int count_option(const char *name, const char *arg, uint64_t min, uint64_t max,
                        uint64_t *out)
{
	char err[160];

	if (units_parse_count(arg, min, max, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

static int duration_option(const char *name, const char *arg, uint64_t *out)
{
	char err[160];

	if (units_parse_duration(arg, NS_PER_S, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--%s: %s", name, err);
	return 0;
}

static int number_option(const char *name, const char *arg, double min, double max, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	bool percent = *end == '%';

	if (percent)
		v /= 100, end++;
	if (end == arg || *end || !(v >= min && v <= max))
		return cli_usage_error("run", "--%s: '%s' is not a number from %g to %g", name, arg,
		                       min, max);
	*out = v;
	return 0;
}

static int header_option(run_options_t *o, const char *arg)
{
	const char *colon = strchr(arg, ':');

	if (!colon || colon == arg)
		return cli_usage_error("run", "--header '%s': expected 'Name: value'", arg);
	if (o->cfg.header_count == GEN_MAX_HEADERS)
		return cli_usage_error("run", "--header: at most %d headers", GEN_MAX_HEADERS);
	o->cfg.headers[o->cfg.header_count++] = arg;
	return 0;
}

static int body_file_option(run_options_t *o, const char *path)
{
	size_t len;

	free(o->body_owned);
	o->body_owned = cli_read_file(path, BODY_MAX, &len);
	if (!o->body_owned)
		return cli_usage_error("run", "--body-file %s: %s", path,
		                       errno == EFBIG ? "larger than 64 MiB" : strerror(errno));
	o->cfg.body = o->body_owned;
	o->cfg.body_len = len;
	o->cfg.has_body = true;
	return 0;
}

static int profile_option(run_options_t *o, const char *name)
{
	o->profile = profile_find(name);
	if (!o->profile)
		return cli_usage_error("run",
		                       "--profile '%s': no such profile (see 'surge help "
		                       "profiles')",
		                       name);
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
		rc = duration_option("duration", arg, &cfg->duration_ns);
		o->duration_given = true;
		break;
	case 'n': rc = count_option("requests", arg, 1, UINT64_MAX / 2, &cfg->requests); break;
	case 'm':
		cfg->method = arg;
		o->method_given = true;
		break;
	case 'H': rc = header_option(o, arg); break;
	case OPT_BODY:
		cfg->body = arg;
		cfg->body_len = strlen(arg);
		cfg->has_body = true;
		break;
	case OPT_BODY_FILE: rc = body_file_option(o, arg); break;
	case OPT_TIMEOUT: rc = duration_option("timeout", arg, &cfg->timeout_ns); break;
	case OPT_HOST: o->host = arg; break;
	case OPT_GRACEFUL_STOP:
		rc = duration_option("graceful-stop", arg, &cfg->stop_grace_ns);
		o->graceful_stop_given = true;
		break;
	case OPT_JSON: o->json_path = arg; break;
	case 'k': cfg->insecure = true; break;
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

/* The command line's options; -1 after --help, 0, or an exit code. */
static int apply_args(run_options_t *o, int argc, char **argv)
{
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:t:d:n:R:m:H:kqh", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cli_help_text("run"), stdout);
			return -1;
		}
		if (opt == '?' || opt == ':')
			return cli_usage_error("run", "unknown option or missing value: '%s'",
			                       argv[optind - 1]);
		if (cli_outputs_option(&o->outputs, opt, optarg))
			continue;
		if ((rc = cli_run_option(o, opt, optarg)) != 0)
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

/* A scenario's `options = {...}`, applied as if given first on the command line. */
static int apply_scenario_options(run_options_t *o, replaced_t replaced)
{
	const scenario_option_t *opts;
	size_t n = scenario_options(o->scenario, &opts);

	for (size_t i = 0; i < n; i++) {
		const struct option *lo = long_options;
		int rc;

		if (is_replaced(opts[i].name, replaced))
			continue;
		while (lo->name && strcmp(lo->name, opts[i].name) != 0)
			lo++;
		if (!lo->name || (rc = cli_run_option(o, lo->val, opts[i].value)) != 0) {
			fprintf(stderr, "surge run: in %s: options.%s = '%s' is not valid\n",
			        scenario_path(o->scenario), opts[i].name, opts[i].value);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static bool is_scenario(const char *arg)
{
	size_t n = strlen(arg);

	return n > 4 && strcmp(arg + n - 4, ".lua") == 0;
}

/* SCENARIO.lua: its options first, then the command line again over them. */
static int load_scenario(run_options_t *o, const char *path, int argc, char **argv)
{
	char err[1024];
	scenario_t *s = scenario_load(path, err, sizeof(err));
	replaced_t replaced = {
	    .shape =
	        o->connections_given || o->users || o->stages_text || o->rate_text || o->profile,
	    .duration = o->stages_text || o->profile,
	    .thresholds = o->threshold_count > 0,
	};
	int rc;

	if (!s) {
		fprintf(stderr, "surge run: %s\n", err);
		return EXIT_USAGE;
	}
	free(o->body_owned); /* start again from the defaults: the file's options come first */
	memset(o, 0, sizeof(*o));
	o->scenario = s;
	cli_run_defaults(o);
	o->cfg.stop_grace_ns = SCENARIO_GRACEFUL_STOP_NS;
	if ((rc = apply_scenario_options(o, replaced)) != 0 ||
	    (rc = apply_args(o, argc, argv)) != 0)
		return rc;
	if (!o->host)
		return cli_usage_error("run",
		                       "%s: no host: set options.host in the file or give "
		                       "--host URL",
		                       path);
	o->cfg.url_text = o->host;
	o->cfg.driver = scenario_driver(o->scenario);
	o->cfg.scenario_path = path;
	return 0;
}

static int parse_args(run_options_t *o, int argc, char **argv)
{
	char err[200];
	int rc;

	cli_run_defaults(o);
	if ((rc = apply_args(o, argc, argv)) != 0)
		return rc;
	if ((rc = cli_outputs_check(&o->outputs, "run")) != 0)
		return rc;
	if (optind == argc)
		return cli_usage_error("run", "missing URL or SCENARIO.lua");
	if (optind != argc - 1)
		return cli_usage_error("run", "expected one URL or scenario, got '%s' too",
		                       argv[argc - 1]);
	if (is_scenario(argv[optind])) {
		if ((rc = load_scenario(o, argv[optind], argc, argv)) != 0)
			return rc;
	} else if (o->host) {
		return cli_usage_error("run", "--host is for scenarios; give the URL itself");
	} else if (o->graceful_stop_given) {
		return cli_usage_error("run", "--graceful-stop is for scenarios: a URL's requests "
		                              "in flight at the end are abandoned");
	} else {
		o->cfg.url_text = argv[optind];
	}
	if (url_parse(o->cfg.url_text, &o->cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("run", "URL '%s': %s", o->cfg.url_text, err);
	if (o->cfg.has_body && !o->method_given)
		o->cfg.method = "POST";
	return cli_shape_resolve(o, "run");
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

/* Checks the thresholds on the run so far; true when one failed. */
static bool thresholds_fail_now(gen_run_t *run, const run_options_t *o, hist_t *scratch)
{
	gen_counters_t so_far;
	threshold_figures_t f;
	double elapsed, value;
	uint64_t transport = 0;

	gen_progress(run, &so_far, scratch, &elapsed);
	for (int i = 0; i < GEN_ERR_KIND_COUNT; i++)
		transport += so_far.errors_by_kind[i];
	f.latency = scratch;
	f.requests = so_far.requests + transport;
	f.errors = so_far.errors;
	f.duration_s = elapsed;
	if (!f.requests)
		return false; /* nothing measured yet: nothing to judge */
	for (int i = 0; i < o->threshold_count; i++)
		if (!o->thresholds[i].endpoint[0] &&
		    !threshold_check(&o->thresholds[i], &f, &value))
			return true;
	return false;
}

/* Waits for the run: progress once a second, SIGINT/SIGTERM into a clean stop. */
static bool supervise(gen_run_t *run, const run_options_t *o, const sigset_t *signals,
                      bool progress)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = 100 * 1000 * 1000};
	hist_t *scratch = o->abort_on_fail ? malloc(sizeof(hist_t)) : NULL;
	size_t seen = 0;
	uint64_t errors = 0;
	bool aborted = false;
	int stop_asked = 0;
	gen_point_t p[16];
	size_t n;

	while (!gen_finished(run)) {
		int sig = sigtimedwait(signals, NULL, &tick);

		if ((sig == SIGINT || sig == SIGTERM) && !stop_asked++ && o->cfg.stop_grace_ns)
			fprintf(stderr,
			        "\nsurge run: stopping — users are leaving (on_stop) for up "
			        "to %.3gs; again to stop now\n",
			        (double)o->cfg.stop_grace_ns / NS_PER_S);
		if (sig == SIGINT || sig == SIGTERM)
			gen_stop(run);
		while ((n = gen_timeline_snapshot(run, seen, p, 16)) > 0) {
			seen += n;
			for (size_t i = 0; i < n; i++)
				errors += p[i].errors;
			if (progress)
				print_progress(&p[n - 1], errors);
			if (scratch && !aborted && thresholds_fail_now(run, o, scratch)) {
				aborted = true;
				gen_stop(run);
			}
		}
	}
	if (progress && seen)
		fputc('\n', stderr);
	free(scratch);
	return aborted;
}

int cli_execute(run_options_t *o, bool progress, gen_result_t *result, report_analysis_t *a)
{
	gen_run_t *run;
	sigset_t signals;
	char err[256];
	bool aborted, scrape_failed;
	scrape_t *scraper;

	/* every thread inherits the blocked mask; only supervise() takes the signals */
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (!(scraper = cli_scrape_begin(o, &scrape_failed)) && scrape_failed)
		return EXIT_USAGE;
	run = gen_start(&o->cfg, err, sizeof(err));
	if (!run) {
		cli_scrape_end(scraper, NULL);
		fprintf(stderr, "surge run: %s\n", err);
		return EXIT_USAGE;
	}
	aborted = supervise(run, o, &signals, progress);
	if (gen_finish(run, result) < 0) {
		cli_scrape_end(scraper, NULL);
		fprintf(stderr, "surge run: out of memory collecting the result\n");
		return EXIT_USAGE;
	}
	if (result->driver_error[0]) {
		fprintf(stderr, "surge run: %s\n", result->driver_error);
		gen_result_free(result);
		return EXIT_USAGE;
	}
	if (aborted)
		result->interrupted =
		    false; /* stopped by a threshold, not by a signal: see aborted */
	memset(a, 0, sizeof(*a));
	a->thresholds = o->thresholds;
	a->threshold_count = o->threshold_count;
	a->targets = o->targets;
	a->aborted = aborted;
	a->profile = o->profile ? o->profile->name : NULL;
	a->target = cli_scrape_end(scraper, result);
	a->cost.per_hour_usd = o->cost_per_hour;
	a->cost.replicas = o->replicas;
	report_analyze(&o->cfg, result, a);
	return 0;
}

int cli_exit_code(const gen_result_t *r, const report_analysis_t *a)
{
	const uint64_t *k = r->counters.errors_by_kind;

	/* not one response, and nothing came back: connect or TLS failed, or it never answered */
	if (r->counters.requests == 0 && k[GEN_ERR_CONNECT_REFUSED] + k[GEN_ERR_CONNECT_TIMEOUT] +
	                                         k[GEN_ERR_CONNECT] + k[GEN_ERR_TLS] +
	                                         k[GEN_ERR_READ_TIMEOUT] >
	                                     0)
		return EXIT_UNREACHABLE;
	if (!a->thresholds_ok)
		return EXIT_THRESHOLDS;
	if (r->saturated)
		return EXIT_GENERATOR;
	return EXIT_OK;
}

static int write_outputs(const run_options_t *o, const gen_result_t *r, const report_analysis_t *a)
{
	char err[256];
	json_t *doc;
	buf_t out;
	int rc = 0;

	buf_init(&out, 1u << 30);
	/* with an output on stdout (--json -), the summary moves to stderr */
	if (!o->quiet && report_text(&o->cfg, r, a, &out) == 0)
		fwrite(out.data, 1, out.len, cli_outputs_to_stdout(&o->outputs) ? stderr : stdout);
	fflush(stdout);
	if (cli_outputs_any(&o->outputs)) {
		/* every output is rendered from the document, as `surge report` renders one */
		buf_reset(&out);
		rc = report_json(&o->cfg, r, a, &out);
		doc = rc ? NULL : result_doc_parse("result", out.data, out.len, err, sizeof(err));
		if (!doc) {
			fprintf(stderr, "surge run: cannot build the result document: %s\n",
			        rc ? strerror(-rc) : err);
			rc = -1;
		} else if (cli_outputs_write_text(&o->outputs, doc, out.data, out.len, "run")) {
			rc = -1;
		}
		json_decref(doc);
	}
	buf_free(&out);
	return rc;
}

static void announce(const run_options_t *o)
{
	const gen_config_t *c = &o->cfg;

	if (c->scenario_path)
		fprintf(stderr, "surge run %s against %s: %u users on %u threads, ",
		        c->scenario_path, c->url_text, c->connections, c->threads);
	else
		fprintf(stderr, "surge run %s %s: %u connections on %u threads, ", c->method,
		        c->url_text, c->connections, c->threads);
	if (c->open_model && c->stages_text)
		fprintf(stderr, "open model, rate stages %s", c->stages_text);
	else if (c->open_model)
		fprintf(stderr, "open model at %.1f/s", c->rate);
	else if (c->stages_text)
		fprintf(stderr, "closed model, user stages %s", c->stages_text);
	else
		fprintf(stderr, "closed model");
	fprintf(stderr, "%s%s\n", o->profile ? ", profile " : "",
	        o->profile ? o->profile->name : "");
}

int cli_run(int argc, char **argv)
{
	run_options_t o;
	gen_result_t result;
	report_analysis_t analysis;
	int rc;

	memset(&o, 0, sizeof(o));
	rc = parse_args(&o, argc, argv);
	if (rc != 0) {
		free(o.body_owned);
		scenario_free(o.scenario);
		return rc < 0 ? EXIT_OK : rc;
	}
	if (!o.quiet)
		announce(&o);
	rc = cli_execute(&o, !o.quiet && isatty(STDERR_FILENO), &result, &analysis);
	if (rc == 0) {
		rc = write_outputs(&o, &result, &analysis) < 0 ? EXIT_USAGE
		                                               : cli_exit_code(&result, &analysis);
		gen_result_free(&result);
		report_target_free(analysis.target);
	}
	free(o.body_owned);
	scenario_free(o.scenario);
	return rc;
}
