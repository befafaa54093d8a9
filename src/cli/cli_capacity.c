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
#include "core/json.h"
#include "core/units.h"

#define MAX_STEPS  40
#define RATE_SLACK 0.95 /* a step must deliver 95 % of the asked rate */

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
	bool passed, saturated;
} step_t;

typedef struct search {
	run_options_t run;
	threshold_t slo;
	double max_error, start, max_rate, precision;
	uint64_t step_ns;
	step_t steps[MAX_STEPS];
	int count;
	double answer;
} search_t;

static int rate_arg(const char *name, const char *arg, double *out)
{
	char err[160] = "";

	if (units_parse_rate(arg, out, err, sizeof(err)) < 0 || *out <= 0)
		return cli_usage_error("capacity", "--%s: %s", name,
		                       *out <= 0 ? "must be above 0" : err);
	return 0;
}

static int fraction_arg(const char *name, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);

	if (*end == '%')
		v /= 100, end++;
	if (end == arg || *end || !(v >= 0 && v <= 1))
		return cli_usage_error(
		    "capacity", "--%s '%s': expected a percentage like 1%% or 0.01", name, arg);
	*out = v;
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
	case OPT_PRECISION: return fraction_arg("precision", arg, &s->precision);
	case OPT_STEP:
		if (units_parse_duration(arg, NS_PER_S, &s->step_ns, err, sizeof(err)) < 0 ||
		    s->step_ns < NS_PER_S)
			return cli_usage_error("capacity", "--step: %s",
			                       s->step_ns < NS_PER_S && !err[0] ? "at least 1s"
			                                                        : err);
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
	if (optind != argc - 1)
		return cli_usage_error("capacity", "%s",
		                       optind == argc ? "missing URL" : "expected one URL");
	s->run.cfg.url_text = argv[optind];
	if (url_parse(s->run.cfg.url_text, &s->run.cfg.url, err, sizeof(err)) < 0)
		return cli_usage_error("capacity", "URL '%s': %s", s->run.cfg.url_text, err);
	if (s->run.cfg.has_body && !s->run.method_given)
		s->run.cfg.method = "POST";
	return 0;
}

/* One open-model step at `rate`; 0, or an exit code when the run could not happen. */
static int run_step(search_t *s, double rate, step_t *st)
{
	run_options_t o = s->run;
	gen_result_t r;
	report_analysis_t a;
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
	    (rc = cli_execute(&o, false, &r, &a)) != 0)
		return rc;
	report_totals(&r, &t);
	st->rate = rate;
	st->achieved = t.rps;
	st->slo_value = a.values[0];
	st->error_rate = t.error_rate;
	st->saturated = r.saturated;
	st->passed = a.passed[0] && t.error_rate <= s->max_error && t.rps >= rate * RATE_SLACK &&
	             !r.saturated;
	rc = r.counters.requests == 0 ? EXIT_UNREACHABLE : 0;
	gen_result_free(&r);
	return rc;
}

static void print_step(const search_t *s, const step_t *st)
{
	if (s->run.quiet)
		return;
	printf("  step %2d  rate %10.1f/s  achieved %10.1f/s  %s %-10.2f  errors %6.2f%%  %s\n",
	       s->count, st->rate, st->achieved, threshold_metric_name(s->slo.metric),
	       st->slo_value, st->error_rate * 100,
	       st->saturated ? "GENERATOR SATURATED"
	       : st->passed  ? "pass"
	                     : "FAIL");
	fflush(stdout);
}

/* Doubling, then bisection; returns an exit code. */
static int search(search_t *s)
{
	double rate = s->start, pass = 0, fail = 0;
	struct timespec pause = {.tv_sec = 1, .tv_nsec = 0};

	while (s->count < MAX_STEPS) {
		step_t *st = &s->steps[s->count];
		int rc = run_step(s, rate, st);

		if (rc == EXIT_UNREACHABLE)
			fprintf(stderr,
			        "surge capacity: no response from %s at %.1f/s: the target "
			        "cannot be reached (see surge run for the errors by kind)\n",
			        s->run.cfg.url_text, rate);
		if (rc != 0) {
			s->answer = pass;
			return rc;
		}
		s->count++;
		print_step(s, st);
		if (st->saturated) {
			s->answer =
			    pass; /* what passed before the generator gave out still holds */
			return EXIT_GENERATOR;
		}
		if (st->passed)
			pass = rate;
		else
			fail = rate;
		if (fail && pass && (fail - pass) / fail <= s->precision)
			break;
		if (fail && !pass && rate <= s->start)
			return EXIT_THRESHOLDS; /* even the start rate fails */
		rate = fail ? (pass + fail) / 2 : fmin(rate * 2, s->max_rate);
		if (!fail && pass >= s->max_rate)
			break;
		nanosleep(&pause, NULL); /* let the target drain what the last step queued */
	}
	s->answer = pass;
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
		jsonw_object_end(&w);
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
	buf_append_char(&out, '\n');
	rc = w.err ? w.err : cli_write_file(s->run.json_path, out.data, out.len);
	buf_free(&out);
	return rc;
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
	if (!s->run.quiet)
		printf("surge capacity %s: the highest rate with %s and errors <= %.2f%%\n",
		       s->run.cfg.url_text, s->slo.expr, s->max_error * 100);
	rc = search(s);
	if (!s->run.quiet && s->answer > 0)
		printf("capacity: %.1f requests/s\n", s->answer);
	else if (!s->run.quiet)
		printf("capacity: none found\n");
	if (s->run.json_path && write_json(s, rc) < 0) {
		fprintf(stderr, "surge capacity: cannot write %s\n", s->run.json_path);
		rc = EXIT_USAGE;
	}
	free(s->run.body_owned);
	free(s);
	return rc;
}
