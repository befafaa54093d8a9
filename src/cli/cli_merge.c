/* cli_merge: `surge merge A.json B.json ... -o ALL.json` — the result documents of one run's
 * shards (several processes or pods, SPEC §2.7) merged into the document of the whole, with
 * thresholds judged again on the whole; the exit code is the one `surge run` would have
 * given for the whole run. Any output of a run can be rendered from the merged document. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "cli/cli_run.h"
#include "result/result_doc.h"
#include "report/result_merge.h"

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

/* The exit code `surge run` would give for the whole, by its one rule (cli_outcome_exit)
 * over the merged figures; why says what happened for 3, 5 and a resource 4. */
static int merged_exit_code(const json_t *doc, char *why, size_t len)
{
	const json_t *kinds = result_doc_object(doc, "errors_by_kind"), *t;
	cli_outcome_t o = {
	    .responses = result_doc_count(result_doc_object(doc, "totals"), "responses", 0),
	    .script_errors = result_doc_count(kinds, "script_error", 0),
	    .thresholds_ok = true,
	    .saturated = result_doc_bool(result_doc_object(doc, "generator"), "saturated", false),
	};
	size_t i;

	for (i = 0; i < GEN_ERR_KIND_COUNT; i++)
		o.errors_by_kind[i] =
		    result_doc_count(kinds, gen_error_kind_name((enum gen_error_kind)i), 0);
	json_array_foreach(result_doc_array(doc, "thresholds"), i, t)
	{
		o.thresholds_ok &= result_doc_bool(t, "ok", false);
	}
	return cli_outcome_exit(&o, why, len);
}

static void print_latency(FILE *f, const char *label, const json_t *lat)
{
	fprintf(f, "  %-22s p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  max %.3f ms\n", label,
	        result_doc_number(lat, "p50", 0), result_doc_number(lat, "p90", 0),
	        result_doc_number(lat, "p95", 0), result_doc_number(lat, "p99", 0),
	        result_doc_number(lat, "max", 0));
}

/* A short summary of the whole: what the shards added up to, and its verdicts. */
static void print_summary(FILE *f, const json_t *doc, int files)
{
	const json_t *totals = result_doc_object(doc, "totals"), *v;
	const json_t *a = result_doc_object(doc, "assessment");
	size_t i;

	fprintf(f, "surge merge: %d shard%s, %s + %.3f s\n", files, files == 1 ? "" : "s",
	        result_doc_string(doc, "started_at", "?"), result_doc_number(doc, "duration_s", 0));
	fprintf(f, "  requests %llu (%.1f/s), errors %llu (%.2f%%)\n",
	        (unsigned long long)result_doc_count(totals, "requests", 0),
	        result_doc_number(totals, "rps", 0),
	        (unsigned long long)result_doc_count(totals, "errors", 0),
	        100 * result_doc_number(totals, "error_rate", 0));
	print_latency(f, "latency", result_doc_object(doc, "latency_ms"));
	json_array_foreach(result_doc_array(doc, "endpoints"), i, v)
	{
		char key[300];

		if (json_array_size(result_doc_array(doc, "endpoints")) < 2)
			break;
		result_doc_endpoint_key(v, key, sizeof(key));
		print_latency(f, key, result_doc_object(v, "latency_ms"));
	}
	json_array_foreach(result_doc_array(doc, "thresholds"), i, v)
	{
		double value = result_doc_number(v, "value", NAN);

		fprintf(f, "  threshold %-24s %-6s (%s)\n", result_doc_string(v, "expr", "?"),
		        result_doc_bool(v, "ok", false) ? "ok" : "FAILED",
		        isnan(value) ? "nothing measured" : "measured on the whole");
	}
	fprintf(f, "  verdict %s (latency %s)%s\n", result_doc_string(a, "verdict", "?"),
	        result_doc_string(a, "latency_class", "?"),
	        result_doc_bool(result_doc_object(doc, "generator"), "saturated", false)
	            ? "; a generator saturated: its figures describe the generator"
	            : "");
}

int cli_merge(int argc, char **argv)
{
	merge_args_t a;
	json_t **docs = NULL, *merged = NULL;
	const char **names;
	char err[2048];
	int rc, loaded = 0;

	rc = parse_args(&a, argc, argv);
	if (rc != 0)
		return rc < 0 ? EXIT_OK : rc;
	docs = calloc((size_t)a.files, sizeof(*docs));
	names = (const char **)(argv + a.first);
	if (!docs) {
		fprintf(stderr, "surge merge: out of memory\n");
		return EXIT_USAGE;
	}
	rc = EXIT_USAGE;
	for (; loaded < a.files; loaded++) {
		docs[loaded] = result_doc_load(names[loaded], err, sizeof(err));
		if (docs[loaded] &&
		    result_doc_require(docs[loaded], names[loaded], RESULT_DOC_FOR_MERGE, err,
		                       sizeof(err)) < 0) {
			json_decref(docs[loaded]);
			docs[loaded] = NULL;
		}
		if (!docs[loaded]) {
			fprintf(stderr, "surge merge: %s\n", err);
			goto out;
		}
	}
	merged = result_doc_merge(docs, names, (size_t)a.files, err, sizeof(err));
	if (!merged) {
		fprintf(stderr, "surge merge: %s\n", err);
		goto out;
	}
	if (!a.quiet)
		print_summary(cli_outputs_to_stdout(&a.outputs) ? stderr : stdout, merged, a.files);
	rc = cli_outputs_write(&a.outputs, merged, "merge");
	if (rc == 0) {
		char why[512];

		rc = merged_exit_code(merged, why, sizeof(why));
		if (why[0])
			fprintf(stderr, "surge merge: the whole run: %s\n", why);
	}
out:
	for (int i = 0; i < loaded; i++)
		json_decref(docs[i]);
	json_decref(merged);
	free(docs);
	return rc;
}
