/* cli_outputs: --json --html --csv --junit --markdown --hdr-log for every command that ends
 * in a result document. One table says, per option, which files it writes and which renderer
 * fills each; every file is rendered from the typed result (a command that read a document
 * has it decoded), and each is written atomically. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_outputs.h"
#include "core/buf.h"
#include "core/echo.h"
#include "report/report_html.h"
#include "report/report_outputs.h"
#include "result/result.h"

#define OUTPUT_MAX   (1u << 30) /* the largest rendered file */
#define FILES_MAX    3          /* --csv writes three */
#define PATH_MAX_LEN 4096

/* Every renderer, from the typed result. */
typedef int (*render_fn)(const result_t *r, buf_t *out, char *err, size_t errlen);

/* --json: the document encoded from the result (result_encode; a decoded document encodes
 * back to the same figures). */
static int render_json(const result_t *r, buf_t *out, char *err, size_t errlen)
{
	int rc = result_encode(r, out);

	if (rc < 0)
		snprintf(err, errlen, "JSON: %s", strerror(-rc));
	return rc;
}

static const struct output {
	const char *option;
	bool stdout_ok; /* "-" means stdout */
	struct {
		const char *suffix; /* appended to the option's argument */
		render_fn render;
	} files[FILES_MAX];
} outputs[CLI_OUTPUT_COUNT] = {
    [CLI_OUTPUT_JSON] = {"json", true, {{"", render_json}}},
    [CLI_OUTPUT_HTML] = {"html", true, {{"", report_html}}},
    [CLI_OUTPUT_CSV] = {"csv",
                        false,
                        {{"_stats.csv", report_csv_stats},
                         {"_stats_history.csv", report_csv_history},
                         {"_failures.csv", report_csv_failures}}},
    [CLI_OUTPUT_JUNIT] = {"junit", true, {{"", report_junit}}},
    [CLI_OUTPUT_MARKDOWN] = {"markdown", true, {{"", report_markdown}}},
    [CLI_OUTPUT_HDR_LOG] = {"hdr-log", true, {{"", report_hdrlog}}},
};

bool cli_outputs_option(cli_outputs_t *o, int opt, const char *arg)
{
	int kind = opt - CLI_OPT_OUTPUT_FIRST;

	if (kind < 0 || kind >= CLI_OUTPUT_COUNT || !outputs[kind].option)
		return false;
	o->paths[kind] = arg;
	return true;
}

int cli_output_writable(const char *path, const char *option, const char *cmd)
{
	int rc = cli_check_writable(path);

	if (rc == 0)
		return 0;
	if (!*path)
		return cli_usage_error(cmd, "--%s '': an empty file name", option);
	return cli_usage_error(cmd, "--%s %s: cannot write: %s", option, ECHO(path),
	                       rc == -ENOENT ? "no such directory" : strerror(-rc));
}

/* Each file an output writes can be written: checked before the work that fills them. */
static int check_files(const struct output *out, const char *prefix, const char *cmd)
{
	char path[PATH_MAX_LEN];

	if (strcmp(prefix, "-") == 0)
		return 0;
	for (int f = 0; f < FILES_MAX && out->files[f].suffix; f++) {
		if (snprintf(path, sizeof(path), "%s%s", prefix, out->files[f].suffix) >=
		    (int)sizeof(path))
			return cli_usage_error(cmd, "--%s %s: name too long", out->option,
			                       ECHO(prefix));
		if (!*prefix && f == 0)
			return cli_usage_error(cmd, "--%s '': an empty %s", out->option,
			                       out->files[0].suffix[0] ? "prefix" : "file name");
		if (cli_output_writable(path, out->option, cmd) != 0)
			return EXIT_USAGE;
	}
	return 0;
}

int cli_outputs_check(const cli_outputs_t *o, const char *cmd)
{
	const char *on_stdout = NULL;

	for (int k = 0; k < CLI_OUTPUT_COUNT; k++) {
		if (o->paths[k] && outputs[k].option && check_files(&outputs[k], o->paths[k], cmd))
			return EXIT_USAGE;
		if (!o->paths[k] || strcmp(o->paths[k], "-") != 0)
			continue;
		if (!outputs[k].stdout_ok)
			return cli_usage_error(cmd, "--%s needs a file name prefix, not -",
			                       outputs[k].option);
		if (on_stdout)
			return cli_usage_error(
			    cmd, "--%s - and --%s -: only one output can go to stdout", on_stdout,
			    outputs[k].option);
		on_stdout = outputs[k].option;
	}
	return 0;
}

bool cli_outputs_any(const cli_outputs_t *o)
{
	for (int k = 0; k < CLI_OUTPUT_COUNT; k++)
		if (o->paths[k])
			return true;
	return false;
}

bool cli_outputs_to_stdout(const cli_outputs_t *o)
{
	for (int k = 0; k < CLI_OUTPUT_COUNT; k++)
		if (o->paths[k] && strcmp(o->paths[k], "-") == 0)
			return true;
	return false;
}

/* Renders one file (unless its text is given) and writes it; 0, or -1 after printing why. */
static int write_one(const char *cmd, const char *path, const result_t *r, const struct output *out,
                     int f, const char *text, size_t len, buf_t *scratch)
{
	char err[256] = "";
	int rc;

	if (!text) {
		buf_reset(scratch);
		rc = out->files[f].render(r, scratch, err, sizeof(err));
		if (rc < 0) {
			fprintf(stderr, "surge %s: cannot write %s: %s\n", cmd, ECHO(path), err);
			return -1;
		}
		text = scratch->data ? scratch->data : "";
		len = scratch->len;
	}
	rc = cli_write_file(path, text, len);
	if (rc < 0) {
		fprintf(stderr, "surge %s: cannot write %s: %s\n", cmd, ECHO(path),
		        rc == -ENOENT ? "no such directory" : strerror(-rc));
		return -1;
	}
	return 0;
}

int cli_outputs_write_result(const cli_outputs_t *o, const result_t *r, const char *text,
                             size_t len, const char *cmd)
{
	buf_t scratch;
	char path[PATH_MAX_LEN];
	int failed = 0;

	buf_init(&scratch, OUTPUT_MAX);
	for (int k = 0; k < CLI_OUTPUT_COUNT; k++) {
		const struct output *out = &outputs[k];

		if (!o->paths[k] || !out->option)
			continue;
		for (int f = 0; f < FILES_MAX && out->files[f].suffix; f++) {
			bool verbatim = k == CLI_OUTPUT_JSON && text;

			if (snprintf(path, sizeof(path), "%s%s", o->paths[k],
			             out->files[f].suffix) >= (int)sizeof(path)) {
				fprintf(stderr, "surge %s: --%s %s: name too long\n", cmd,
				        out->option, ECHO(o->paths[k]));
				failed = 1;
				continue;
			}
			if (write_one(cmd, path, r, out, f, verbatim ? text : NULL, len, &scratch) <
			    0)
				failed = 1;
		}
	}
	buf_free(&scratch);
	fflush(stdout);
	return failed ? EXIT_USAGE : 0;
}
