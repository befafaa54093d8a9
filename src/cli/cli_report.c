/* cli_report: `surge report RESULT.json [outputs]` — renders a saved result document into any
 * of the outputs `surge run` writes (the same renderers, so the bytes are the same), or a
 * markdown summary on stdout when no output is asked. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "core/echo.h"
#include "result/result.h"

static const struct option long_options[] = {
    CLI_OUTPUTS_LONG_OPTIONS,
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

int cli_report(int argc, char **argv)
{
	cli_outputs_t outputs = {0};
	char err[2048];
	result_t r;
	int opt, rc;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
		if (opt == 'h') {
			fputs(cli_help_text("report"), stdout);
			return EXIT_OK;
		}
		if (!cli_outputs_option(&outputs, opt, optarg))
			return cli_usage_error("report", "unknown option or missing value: '%s'",
			                       argv[optind - 1]);
	}
	if ((rc = cli_outputs_check(&outputs, "report")) != 0)
		return rc;
	if (optind == argc)
		return cli_usage_error("report", "missing RESULT.json");
	if (optind != argc - 1)
		return cli_usage_error("report", "expected one result file, got '%s' too",
		                       ECHO(argv[optind + 1]));
	for (int k = 0; k < CLI_OUTPUT_COUNT; k++)
		if (outputs.paths[k] && cli_same_file(outputs.paths[k], argv[optind]))
			return cli_usage_error(
			    "report", "the output %s is the result file: it would be replaced",
			    ECHO(outputs.paths[k]));
	if (result_load(argv[optind], RESULT_DOC_FOR_REPORT, &r, err, sizeof(err)) < 0) {
		fprintf(stderr, "surge report: %s\n", err);
		result_free(&r);
		return EXIT_USAGE;
	}
	if (!cli_outputs_any(&outputs))
		outputs.paths[CLI_OUTPUT_MARKDOWN] = "-";
	rc = cli_outputs_write_result(&outputs, &r, NULL, 0, "report");
	result_free(&r);
	return rc;
}
