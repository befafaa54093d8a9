/* cli_capacity: `surge capacity` — the highest rate a target sustains within an SLO, found
 * by open-model steps: doubling until a step fails, then bisecting between the last pass and
 * the first failure. A step that saturates the generator ends the search: beyond it the
 * answer would describe surge, not the target. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/json.h"
#include "core/units.h"

#define MAX_STEPS     40
#define RATE_SLACK    0.95  /* a step must deliver 95 % of the asked rate */
#define PRECISION_MIN 0.001 /* 0.1 %: finer than any step's own noise, and 9 halvings away */
#define STEP_MAX_S    3600  /* a search of MAX_STEPS steps then lasts at most ~2 days */

enum {
	OPT_SLO = 300,
	OPT_MAX_ERROR,
	OPT_START,
	OPT_MAX_RATE,
	OPT_STEP,
	OPT_PRECISION,
	OPT_BODY = 256,
	OPT_BODY_FILE,
	OPT_TIMEOUT,
	OPT_JSON
};

static const struct option long_options[] = {
    {"slo", required_argument, NULL, OPT_SLO},
    {"max-error", required_argument, NULL, OPT_MAX_ERROR},
    {"start", required_argument, NULL, OPT_START},
    {"max-rate", required_argument, NULL, OPT_MAX_RATE},
    {"step", required_argument, NULL, OPT_STEP},
    {"precision", required_argument, NULL, OPT_PRECISION},
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"method", required_argument, NULL, 'm'},
    {"header", required_argument, NULL, 'H'},
    {"body", required_argument, NULL, OPT_BODY},
    {"body-file", required_argument, NULL, OPT_BODY_FILE},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", required_argument, NULL, OPT_JSON},
    {"insecure", no_argument, NULL, 'k'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct step {
	double rate, achieved, slo_value, error_rate;
	uint64_t resource_errors; /* requests the generator could not send (no memory, fds) */
	bool passed, saturated;   /* saturated: the self-check, or resource errors */
} step_t;

typedef struct search {
	run_options_t run;
	threshold_t slo;
	double max_error, start, max_rate, precision;
	uint64_t step_ns;
	step_t steps[MAX_STEPS];
	int count;
	double answer;
	double fail;            /* the lowest rate that failed; 0 when none did */
	const char *stopped_by; /* why the search ended: see search() */
	char why[512];          /* a step that measured nothing: what happened (cli_exit_code) */
	FILE *out;              /* the steps and the answer: stderr when --json is stdout */
} search_t;

static int rate_arg(const char *name, const char *arg, double *out)
{
	char err[300] = "";

	if (units_parse_rate(arg, out, err, sizeof(err)) < 0)
		return cli_usage_error("capacity", "--%s: %s", name, err);
	if (*out <= 0)
		return cli_usage_error("capacity", "--%s: must be above 0", name);
	return 0;
}

/* A share of the requests (--max-error) or of the rate (--precision): at most 100 %. */
static int fraction_arg(const char *name, const char *arg, double *out)
{
	char err[300] = "";

	if (units_parse_percent(arg, 1, out, err, sizeof(err)) < 0)
		return cli_usage_error("capacity", "--%s: %s", name, err);
	return 0;
}

static int capacity_option(search_t *s, int opt, const char *arg)
{
	char err[256] = "";

	switch (opt) {
	case OPT_SLO:
		if (threshold_parse(arg, &s->slo, err, sizeof(err)) < 0)
			return cli_usage_error("capacity", "--slo: %s", err);
		return 0;
	case OPT_MAX_ERROR: return fraction_arg("max-error", arg, &s->max_error);
	case OPT_START: return rate_arg("start", arg, &s->start);
	case OPT_MAX_RATE: return rate_arg("max-rate", arg, &s->max_rate);
	case OPT_PRECISION:
		if (fraction_arg("precision", arg, &s->precision) != 0)
			return EXIT_USAGE;
		/* 0 would bisect for ever (until MAX_STEPS steps of --step each) */
		if (s->precision < PRECISION_MIN)
			return cli_usage_error(
			    "capacity",
			    "--precision: '%s' is less than 0.1%% (the search stops "
			    "when its bounds are this close)",
			    arg);
		return 0;
	case OPT_STEP:
		if (units_parse_duration(arg, NS_PER_S, &s->step_ns, err, sizeof(err)) < 0)
			return cli_usage_error("capacity", "--step: %s", err);
		if (s->step_ns < NS_PER_S || s->step_ns > STEP_MAX_S * NS_PER_S)
			return cli_usage_error(
			    "capacity",
			    "--step: '%s' is not from 1s to 1h (a search runs up "
			    "to %d steps)",
			    arg, MAX_STEPS);
		return 0;
	default: return cli_run_option(&s->run, opt, arg);
	}
}

static int parse_args(search_t *s, int argc, char **argv)
{
	char err[200] = "";
	int opt, rc;

	cli_run_defaults(&s->run);
	s->max_error = 0.01;
	s->start = 50;
	s->max_rate = 1e6;
	s->precision = 0.05;
	s->step_ns = 10 * NS_PER_S;
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+c:t:m:H:kqh", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cli_help_text("capacity"), stdout);
			return -1;
		}
		if (opt == '?' || opt == ':')
			return cli_usage_error("capacity", "unknown option or missing value: '%s'",
			                       argv[optind - 1]);
		if ((rc = capacity_option(s, opt, optarg)) != 0)
			return rc;
	}
	if (!s->slo.expr[0])
		return cli_usage_error("capacity", "--slo is required, e.g. --slo 'p95<200ms'");
	if (s->start > s->max_rate)
		return cli_usage_error("capacity",
		                       "--start %.10g/s is above --max-rate %.10g/s: the search "
		                       "starts at --start and never goes above --max-rate",
		                       s->start, s->max_rate);
	if (optind != argc - 1)
		return cli_usage_error("capacity", "%s",
		                       optind == argc ? "missing URL" : "expected one URL");
	s->run.cfg.url_text = argv[optind];
	if (url_parse(s->run.cfg.url_text, &s->run.cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("capacity", "URL '%s': %s", ECHO(s->run.cfg.url_text), err);
	if (s->run.cfg.has_body && !s->run.method_given)
		s->run.cfg.method = "POST";
	return 0;
}

/* One open-model step at `rate`; 0, or an exit code when the run could not happen or measured
 * nothing to judge (then s->why says what happened, as `surge run` says it). */
static int run_step(search_t *s, double rate, step_t *st)
{
	run_options_t o = s->run;
	result_t r;
	report_totals_t t;
	char rate_text[32];
	int rc;

	snprintf(rate_text, sizeof(rate_text), "%.3f", rate);
	o.rate_text = rate_text;
	o.cfg.duration_ns = s->step_ns;
	o.duration_given = true;
	o.thresholds[0] = s->slo;
	o.threshold_count = 1;
	if ((rc = cli_shape_resolve(&o, "capacity")) != 0 ||
	    (rc = cli_execute(&o, false, &r)) != 0) {
		result_free(&r);
		return rc;
	}
	report_totals(&r, &t);
	st->rate = rate;
	st->achieved = t.rps;
	st->slo_value = r.thresholds[0].value;
	st->error_rate = t.error_rate;
	st->resource_errors = r.counters.errors_by_kind[GEN_ERR_RESOURCE];
	/* requests the generator could not send lower the rate the target saw: like a
	 * saturated generator, the step measured surge */
	st->saturated = r.generator.saturated || st->resource_errors > 0;
	st->passed = r.thresholds[0].ok && t.error_rate <= s->max_error &&
	             t.rps >= rate * RATE_SLACK && !st->saturated;
	/* not one response: 3 every request failed, 4 none could be sent, 5 none ended */
	rc = r.counters.requests == 0 ? cli_exit_code(&r, s->why, sizeof(s->why)) : 0;
	result_free(&r);
	return rc;
}

static void print_step(const search_t *s, const step_t *st)
{
	char value[32];

	if (s->run.quiet)
		return;
	/* a step without a response has no latency: "-", never nan */
	if (isnan(st->slo_value))
		snprintf(value, sizeof(value), "-");
	else
		snprintf(value, sizeof(value), "%.2f", st->slo_value);
	fprintf(s->out,
	        "  step %2d  rate %10.1f/s  achieved %10.1f/s  %s %-10s  errors %6.2f%%  %s\n",
	        s->count, st->rate, st->achieved, threshold_metric_name(s->slo.metric), value,
	        st->error_rate * 100,
	        st->resource_errors ? "GENERATOR OUT OF RESOURCES"
	        : st->saturated     ? "GENERATOR SATURATED"
	        : st->passed        ? "pass"
	                            : "FAIL");
	fflush(s->out);
}

/* Doubling, then bisection; returns an exit code, and says in s->stopped_by why it ended:
 * "precision" (the bounds met), "max_rate" (it passed there: the answer is a lower bound),
 * "start_failed", "steps" (MAX_STEPS ran out first), "saturated" (the self-check or resource
 * errors), "unreachable" (not one valid response), "resource_error" (not one request could
 * be sent), "nothing_measured" (not one request ended), "error". */
static int search(search_t *s)
{
	double rate = s->start, pass = 0, fail = 0;
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 0};

	s->stopped_by = "steps";
	while (s->count < MAX_STEPS) {
		step_t *st = &s->steps[s->count];
		int rc = run_step(s, rate, st);

		if (rc != 0 && s->why[0])
			fprintf(stderr, "surge capacity: the step at %.1f/s: %s\n", rate, s->why);
		if (rc != 0) {
			s->answer = pass;
			s->fail = fail;
			s->stopped_by = rc == EXIT_UNREACHABLE ? "unreachable"
			                : rc == EXIT_GENERATOR ? "resource_error"
			                : rc == EXIT_NOTHING   ? "nothing_measured"
			                                       : "error";
			return rc;
		}
		s->count++;
		print_step(s, st);
		if (st->saturated) {
			/* what passed before the generator gave out still holds */
			s->answer = pass;
			s->fail = fail;
			s->stopped_by = "saturated";
			return EXIT_GENERATOR;
		}
		if (st->passed)
			pass = rate;
		else
			fail = rate;
		if (fail && pass && (fail - pass) / fail <= s->precision) {
			s->stopped_by = "precision";
			break;
		}
		if (fail && !pass && rate <= s->start) {
			s->stopped_by = "start_failed";
			break; /* even the start rate fails */
		}
		if (!fail && pass >= s->max_rate) {
			s->stopped_by = "max_rate";
			break;
		}
		rate = fail ? (pass + fail) / 2 : fmin(rate * 2, s->max_rate);
		if (s->count < MAX_STEPS)
			nanosleep(&pause,
			          NULL); /* let the target drain what the last step queued */
	}
	s->answer = pass;
	s->fail = fail;
	return pass > 0 ? EXIT_OK : EXIT_THRESHOLDS;
}

static int write_json(const search_t *s, int code)
{
	buf_t out;
	json_writer_t w;
	int rc;

	buf_init(&out, 1 << 20);
	jsonw_init(&w, &out, true);
	jsonw_object_begin(&w);
	jsonw_key(&w, "url");
	jsonw_string(&w, s->run.cfg.url_text);
	jsonw_key(&w, "slo");
	jsonw_string(&w, s->slo.expr);
	jsonw_key(&w, "max_error_rate");
	jsonw_double(&w, s->max_error, 6);
	jsonw_key(&w, "capacity_rps");
	jsonw_double(&w, s->answer, 3);
	jsonw_key(&w, "lowest_failed_rps");
	if (s->fail > 0)
		jsonw_double(&w, s->fail, 3);
	else
		jsonw_null(&w);
	jsonw_key(&w, "stopped_by");
	jsonw_string(&w, s->stopped_by);
	jsonw_key(&w, "exit_code");
	jsonw_int(&w, code);
	jsonw_key(&w, "steps");
	jsonw_array_begin(&w);
	for (int i = 0; i < s->count; i++) {
		const step_t *st = &s->steps[i];

		jsonw_object_begin(&w);
		jsonw_key(&w, "rate");
		jsonw_double(&w, st->rate, 3);
		jsonw_key(&w, "achieved_rps");
		jsonw_double(&w, st->achieved, 3);
		jsonw_key(&w, "slo_value");
		jsonw_double(&w, st->slo_value, 3);
		jsonw_key(&w, "error_rate");
		jsonw_double(&w, st->error_rate, 6);
		jsonw_key(&w, "passed");
		jsonw_bool(&w, st->passed);
		jsonw_key(&w, "saturated");
		jsonw_bool(&w, st->saturated);
		jsonw_key(&w, "resource_errors");
		jsonw_uint(&w, st->resource_errors);
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	buf_append_char(&out, '\n');
	rc = w.err ? w.err : buf_error(&out);
	rc = rc ? rc : cli_write_file(s->run.json_path, out.data, out.len);
	buf_free(&out);
	return rc;
}

/* The closing line: the answer, and what bounds it. */
static void print_answer(const search_t *s)
{
	if (s->run.quiet)
		return;
	if (s->answer <= 0)
		fprintf(s->out, "capacity: none found\n");
	else if (strcmp(s->stopped_by, "max_rate") == 0)
		fprintf(
		    s->out,
		    "capacity: at least %.1f requests/s (--max-rate; no step failed up to it)\n",
		    s->answer);
	else
		fprintf(s->out, "capacity: %.1f requests/s\n", s->answer);
	if (strcmp(s->stopped_by, "steps") == 0 && s->fail > 0)
		fprintf(stderr,
		        "surge capacity: stopped after %d steps with %.1f/s passing and %.1f/s "
		        "failing, before they were within --precision\n",
		        MAX_STEPS, s->answer, s->fail);
}

int cli_capacity(int argc, char **argv)
{
	search_t *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return EXIT_USAGE;
	rc = parse_args(s, argc, argv);
	if (rc != 0) {
		free(s->run.body_owned);
		free(s);
		return rc < 0 ? EXIT_OK : rc;
	}
	/* with the JSON on stdout, the steps and the answer go to stderr */
	s->out = s->run.json_path && strcmp(s->run.json_path, "-") == 0 ? stderr : stdout;
	if (!s->run.quiet)
		fprintf(s->out,
		        "surge capacity %s: the highest rate with %s and errors <= %.2f%%\n",
		        s->run.cfg.url_text, s->slo.expr, s->max_error * 100);
	rc = search(s);
	if (rc != EXIT_USAGE)
		print_answer(s);
	if (rc != EXIT_USAGE && s->run.json_path) {
		int wrc = write_json(s, rc);

		if (wrc < 0) {
			fprintf(stderr, "surge capacity: cannot write %s: %s\n", s->run.json_path,
			        strerror(-wrc));
			rc = EXIT_USAGE;
		}
	}
	free(s->run.body_owned);
	free(s);
	return rc;
}
