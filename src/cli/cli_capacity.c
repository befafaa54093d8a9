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
#include "core/units.h"
#include "report/report_capacity.h"

#define MAX_STEPS     CAPACITY_STEPS_MAX
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

typedef struct search {
	run_options_t run;
	capacity_t c; /* the SLO, --max-error, the steps judged and the answer */
	double start, max_rate, precision;
	uint64_t step_ns;
	char why[512]; /* a step that measured nothing: what happened (cli_exit_code) */
	FILE *out;     /* the steps and the answer: stderr when --json is stdout */
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
		if (threshold_parse(arg, &s->c.slo, err, sizeof(err)) < 0)
			return cli_usage_error("capacity", "--slo: %s", err);
		return 0;
	case OPT_MAX_ERROR: return fraction_arg("max-error", arg, &s->c.max_error);
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
	s->c.max_error = 0.01;
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
	if (!s->c.slo.expr[0])
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
	s->c.url = argv[optind];
	if (url_parse(s->run.cfg.url_text, &s->run.cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("capacity", "URL '%s': %s", ECHO(s->run.cfg.url_text), err);
	if (s->run.cfg.has_body && !s->run.method_given)
		s->run.cfg.method = "POST";
	return 0;
}

/* One open-model step at `rate`, judged into st; 0, or an exit code when the run could not
 * happen or measured nothing to judge (then s->why says what happened, as `surge run` says
 * it). */
static int run_step(search_t *s, double rate, capacity_step_t *st)
{
	run_options_t o = s->run;
	result_t r;
	char rate_text[32];
	int rc;

	snprintf(rate_text, sizeof(rate_text), "%.3f", rate);
	o.rate_text = rate_text;
	o.cfg.duration_ns = s->step_ns;
	o.duration_given = true;
	o.thresholds[0] = s->c.slo;
	o.threshold_count = 1;
	if ((rc = cli_shape_resolve(&o, "capacity")) != 0 ||
	    (rc = cli_execute(&o, false, &r)) != 0) {
		result_free(&r);
		return rc;
	}
	/* not one response: 3 every request failed, 4 none could be sent, 5 none ended */
	rc = r.counters.requests == 0 ? cli_exit_code(&r, s->why, sizeof(s->why)) : 0;
	if (rc == 0 && capacity_step_judge(&s->c, st, rate, &r) < 0)
		fprintf(stderr,
		        "surge capacity: the step at %.1f/s: its result document could not be "
		        "kept (out of memory): steps[].result is null\n",
		        rate);
	result_free(&r);
	return rc;
}

static void print_step(const search_t *s)
{
	buf_t line;

	if (s->run.quiet)
		return;
	buf_init(&line, 1024);
	capacity_step_text(&s->c, s->c.count - 1, &line);
	if (line.data)
		fputs(line.data, s->out);
	fflush(s->out);
	buf_free(&line);
}

/* Doubling, then bisection; returns an exit code, and says in s->stopped_by why it ended:
 * "precision" (the bounds met), "max_rate" (it passed there: the answer is a lower bound),
 * "start_failed", "steps" (MAX_STEPS ran out first), "saturated" (the self-check or resource
 * errors), "unreachable" (not one valid response), "resource_error" (not one request could
 * be sent), "nothing_measured" (not one request ended), "error". */
static int search(search_t *s)
{
	capacity_t *c = &s->c;
	double rate = s->start, pass = 0, fail = 0;
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 0};

	c->stopped_by = "steps";
	while (c->count < MAX_STEPS) {
		capacity_step_t *st = &c->steps[c->count];
		int rc = run_step(s, rate, st);

		if (rc != 0 && s->why[0])
			fprintf(stderr, "surge capacity: the step at %.1f/s: %s\n", rate, s->why);
		if (rc != 0) {
			c->answer = pass;
			c->fail = fail;
			c->stopped_by = rc == EXIT_UNREACHABLE ? "unreachable"
			                : rc == EXIT_GENERATOR ? "resource_error"
			                : rc == EXIT_NOTHING   ? "nothing_measured"
			                                       : "error";
			return rc;
		}
		c->count++;
		print_step(s);
		if (st->saturated) {
			/* what passed before the generator gave out still holds */
			c->answer = pass;
			c->fail = fail;
			c->stopped_by = "saturated";
			return EXIT_GENERATOR;
		}
		if (st->passed)
			pass = rate;
		else
			fail = rate;
		if (fail && pass && (fail - pass) / fail <= s->precision) {
			c->stopped_by = "precision";
			break;
		}
		if (fail && !pass && rate <= s->start) {
			c->stopped_by = "start_failed";
			break; /* even the start rate fails */
		}
		if (!fail && pass >= s->max_rate) {
			c->stopped_by = "max_rate";
			break;
		}
		rate = fail ? (pass + fail) / 2 : fmin(rate * 2, s->max_rate);
		if (c->count < MAX_STEPS)
			nanosleep(&pause,
			          NULL); /* let the target drain what the last step queued */
	}
	c->answer = pass;
	c->fail = fail;
	return pass > 0 ? EXIT_OK : EXIT_THRESHOLDS;
}

static int write_json(const search_t *s, int code)
{
	buf_t out;
	int rc;

	buf_init(&out, CAPACITY_DOC_MAX);
	rc = capacity_render_json(&s->c, code, &out);
	rc = rc ? rc : cli_write_file(s->run.json_path, out.data, out.len);
	buf_free(&out);
	return rc;
}

/* The closing line: the answer, and what bounds it. */
static void print_answer(const search_t *s)
{
	if (s->run.quiet)
		return;
	if (s->c.answer <= 0)
		fprintf(s->out, "capacity: none found\n");
	else if (strcmp(s->c.stopped_by, "max_rate") == 0)
		fprintf(
		    s->out,
		    "capacity: at least %.1f requests/s (--max-rate; no step failed up to it)\n",
		    s->c.answer);
	else
		fprintf(s->out, "capacity: %.1f requests/s\n", s->c.answer);
	if (strcmp(s->c.stopped_by, "steps") == 0 && s->c.fail > 0)
		fprintf(stderr,
		        "surge capacity: stopped after %d steps with %.1f/s passing and %.1f/s "
		        "failing, before they were within --precision\n",
		        MAX_STEPS, s->c.answer, s->c.fail);
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
		        s->run.cfg.url_text, s->c.slo.expr, s->c.max_error * 100);
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
	capacity_free(&s->c);
	free(s->run.body_owned);
	free(s);
	return rc;
}
