/* cli_compare: `surge compare BASE.json NEW.json` — the regression table between a baseline
 * and a new run, on the terminal and optionally as markdown, HTML or JSON; exit 1 when any
 * judged metric regressed, so it can gate a CI job. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/units.h"
#include "report/report_compare.h"
#include "result/result.h"

enum { OPT_TOLERANCE = 256, OPT_MIN_DELTA, OPT_MIN_ERROR, OPT_MARKDOWN, OPT_HTML, OPT_JSON };

static const struct option long_options[] = {
    {"tolerance", required_argument, NULL, OPT_TOLERANCE},
    {"min-delta", required_argument, NULL, OPT_MIN_DELTA},
    {"min-error-delta", required_argument, NULL, OPT_MIN_ERROR},
    {"markdown", required_argument, NULL, OPT_MARKDOWN},
    {"html", required_argument, NULL, OPT_HTML},
    {"json", required_argument, NULL, OPT_JSON},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

typedef struct compare_args {
	compare_options_t options;
	const char *markdown, *html, *json;
	const char *base, *next;
	bool quiet;
} compare_args_t;

/* --tolerance is a relative change (a p95 that doubles is +100 %), so it may pass 100 %;
 * --min-error-delta is a share of all requests, so it may not. */
static int percent_arg(const char *name, const char *arg, double max, double *out)
{
	char err[300] = "";

	if (units_parse_percent(arg, max, out, err, sizeof(err)) < 0)
		return cli_usage_error("compare", "--%s: %s", name, err);
	return 0;
}

static int compare_option(compare_args_t *a, int opt, const char *arg)
{
	char err[160] = "";
	uint64_t ns;

	switch (opt) {
	case OPT_TOLERANCE: return percent_arg("tolerance", arg, INFINITY, &a->options.tolerance);
	case OPT_MIN_ERROR:
		return percent_arg("min-error-delta", arg, 1, &a->options.min_error_rate);
	case OPT_MIN_DELTA:
		if (units_parse_duration(arg, NS_PER_MS, &ns, err, sizeof(err)) < 0)
			return cli_usage_error("compare", "--min-delta: %s", err);
		a->options.min_delta_ms = (double)ns / NS_PER_MS;
		return 0;
	case OPT_MARKDOWN: a->markdown = arg; return 0;
	case OPT_HTML: a->html = arg; return 0;
	case OPT_JSON: a->json = arg; return 0;
	case 'q': a->quiet = true; return 0;
	case 'h': fputs(cli_help_text("compare"), stdout); return -1;
	default: return cli_usage_error("compare", "unknown option");
	}
}

/* 0, -1 after --help, or EXIT_USAGE. */
static int parse_args(compare_args_t *a, int argc, char **argv)
{
	int opt, rc, outputs_to_stdout = 0;

	memset(a, 0, sizeof(*a));
	compare_defaults(&a->options);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "qh", long_options, NULL)) != -1) {
		if (opt == '?')
			return cli_usage_error("compare", "unknown or incomplete option '%s'",
			                       argv[optind - 1]);
		if ((rc = compare_option(a, opt, optarg)) != 0)
			return rc;
	}
	if (argc - optind != 2)
		return cli_usage_error("compare", "expected BASE.json NEW.json, got %d file%s",
		                       argc - optind, argc - optind == 1 ? "" : "s");
	a->base = argv[optind];
	a->next = argv[optind + 1];
	outputs_to_stdout += a->markdown && strcmp(a->markdown, "-") == 0;
	outputs_to_stdout += a->html && strcmp(a->html, "-") == 0;
	outputs_to_stdout += a->json && strcmp(a->json, "-") == 0;
	if (outputs_to_stdout > 1)
		return cli_usage_error("compare", "only one output can go to stdout (-)");
	for (int k = 0; k < 3; k++) {
		const char *out = k == 0 ? a->markdown : k == 1 ? a->html : a->json;
		const char *option = k == 0 ? "markdown" : k == 1 ? "html" : "json";

		if (!out)
			continue;
		if (cli_same_file(out, a->base) || cli_same_file(out, a->next))
			return cli_usage_error("compare",
			                       "--%s %s is one of the compared files: it "
			                       "would be replaced",
			                       option, ECHO(out));
		if ((rc = cli_output_writable(out, option, "compare")) != 0)
			return rc;
	}
	return 0;
}

typedef int (*render_fn)(const compare_result_t *r, buf_t *out);

static int write_output(const char *path, render_fn render, const compare_result_t *r)
{
	buf_t out;
	int rc;

	if (!path)
		return 0;
	buf_init(&out, 256u << 20);
	rc = render(r, &out);
	if (rc == 0)
		rc = cli_write_file(path, out.data ? out.data : "", out.len);
	if (rc < 0)
		fprintf(stderr, "surge compare: cannot write %s: %s\n", path, strerror(-rc));
	buf_free(&out);
	return rc;
}

static bool use_color(FILE *f)
{
	const char *no = getenv("NO_COLOR");

	return isatty(fileno(f)) && !(no && *no);
}

int cli_compare(int argc, char **argv)
{
	compare_args_t a;
	compare_result_t r;
	result_t base, next;
	char err[2048];
	int rc;

	rc = parse_args(&a, argc, argv);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	if (result_load(a.base, RESULT_DOC_FOR_COMPARE, &base, err, sizeof(err)) < 0) {
		fprintf(stderr, "surge compare: %s\n", err);
		return EXIT_USAGE;
	}
	if (result_load(a.next, RESULT_DOC_FOR_COMPARE, &next, err, sizeof(err)) < 0) {
		fprintf(stderr, "surge compare: %s\n", err);
		result_free(&base);
		return EXIT_USAGE;
	}
	if (report_compare(&base, &next, a.base, a.next, &a.options, &r) < 0) {
		fprintf(stderr, "surge compare: out of memory\n");
		rc = EXIT_USAGE;
		goto out;
	}
	/* a warning, not an error: comparing a new target with an old one can be the point */
	if (r.mismatch[0])
		fprintf(stderr,
		        "surge compare: warning: the runs measured different things (%s): the "
		        "deltas compare different targets\n",
		        r.mismatch);
	if (!a.quiet) {
		bool to_stdout = (a.markdown && strcmp(a.markdown, "-") == 0) ||
		                 (a.html && strcmp(a.html, "-") == 0) ||
		                 (a.json && strcmp(a.json, "-") == 0);
		FILE *f = to_stdout ? stderr : stdout;
		buf_t text;

		buf_init(&text, 64u << 20);
		if (compare_render_text(&r, use_color(f), &text) == 0)
			fwrite(text.data, 1, text.len, f);
		fflush(f);
		buf_free(&text);
	}
	rc = r.regressions ? EXIT_THRESHOLDS : EXIT_OK;
	/* each output is tried even when another failed */
	if (write_output(a.markdown, compare_render_markdown, &r) < 0)
		rc = EXIT_USAGE;
	if (write_output(a.html, compare_render_html, &r) < 0)
		rc = EXIT_USAGE;
	if (write_output(a.json, compare_render_json, &r) < 0)
		rc = EXIT_USAGE;
	compare_result_free(&r);
out:
	result_free(&base);
	result_free(&next);
	return rc;
}
