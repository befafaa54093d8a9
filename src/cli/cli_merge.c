/* cli_merge: `surge merge A.json B.json ... -o ALL.json` — the result documents of one run's
 * shards (several processes or pods, SPEC §2.7) decoded, checked (result_merge_check), added
 * up (result_merge) and judged again on the whole by the judge of `surge run`
 * (report_judge); the summary, outputs and exit code are then `surge run`'s own
 * (cli_result_end), for the whole run. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "cli/cli_run.h"
#include "result/result_doc.h"

#define MERGE_MAX_FILES 4096

static const struct option long_options[] = {
    {"output", required_argument, NULL, 'o'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    CLI_OUTPUTS_LONG_OPTIONS,
    {NULL, 0, NULL, 0},
};

typedef struct merge_args {
	cli_outputs_t outputs;
	bool quiet;
	int files; /* argv[first..first+files) */
	int first;
} merge_args_t;

/* 0, -1 after --help, or EXIT_USAGE. */
static int parse_args(merge_args_t *a, int argc, char **argv)
{
	int opt, rc;

	memset(a, 0, sizeof(*a));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "o:qh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'o': cli_outputs_option(&a->outputs, CLI_OPT_JSON, optarg); break;
		case 'q': a->quiet = true; break;
		case 'h': fputs(cli_help_text("merge"), stdout); return -1;
		case '?':
			return cli_usage_error("merge", "unknown or incomplete option '%s'",
			                       argv[optind - 1]);
		default:
			if (!cli_outputs_option(&a->outputs, opt, optarg))
				return cli_usage_error("merge", "unknown option");
		}
	}
	if ((rc = cli_outputs_check(&a->outputs, "merge")) != 0)
		return rc;
	a->first = optind;
	a->files = argc - optind;
	if (a->files < 1)
		return cli_usage_error("merge", "expected the result files of the shards "
		                                "(surge merge A.json B.json ... -o ALL.json)");
	if (a->files > MERGE_MAX_FILES)
		return cli_usage_error("merge", "at most %d files", MERGE_MAX_FILES);
	/* one shard twice would count its requests twice */
	for (int i = a->first; i < argc; i++)
		for (int j = a->first; j < i; j++)
			if (strcmp(argv[i], argv[j]) == 0)
				return cli_usage_error("merge", "%s is given twice", argv[i]);
	/* an output over a shard would replace the shard with the whole */
	for (int k = 0; k < CLI_OUTPUT_COUNT; k++)
		for (int i = a->first; a->outputs.paths[k] && i < argc; i++)
			if (cli_same_file(a->outputs.paths[k], argv[i]))
				return cli_usage_error("merge",
				                       "the output %s is the shard %s: it would be "
				                       "replaced by the merged result",
				                       a->outputs.paths[k], argv[i]);
	return 0;
}

int cli_merge(int argc, char **argv)
{
	merge_args_t a;
	result_t *parts, whole;
	const char **names;
	char err[2048];
	int rc, loaded = 0;

	rc = parse_args(&a, argc, argv);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	names = (const char **)(argv + a.first);
	result_init(&whole);
	if (!(parts = calloc((size_t)a.files, sizeof(*parts)))) {
		fprintf(stderr, "surge merge: out of memory\n");
		return EXIT_USAGE;
	}
	rc = EXIT_USAGE;
	for (; loaded < a.files; loaded++) {
		if (result_load(names[loaded], RESULT_DOC_FOR_MERGE, &parts[loaded], err,
		                sizeof(err)) < 0) {
			fprintf(stderr, "surge merge: %s\n", err);
			goto out;
		}
	}
	if ((rc = report_merge(parts, names, (size_t)a.files, &whole, err, sizeof(err))) < 0) {
		fprintf(stderr, "surge merge: %s\n", err);
		rc = EXIT_USAGE;
		goto out;
	}
	/* the same ending as `surge run`: its summary, outputs and exit code for the whole */
	rc = cli_result_end("merge", &a.outputs, a.quiet, &whole);
out:
	for (int i = 0; i < loaded; i++)
		result_free(&parts[i]);
	free(parts);
	result_free(&whole);
	return rc;
}
