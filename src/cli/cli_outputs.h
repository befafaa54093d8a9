/* cli_outputs: the output options every command that ends in a result shares (`surge run`,
 * `surge report`, `surge merge`): --json --html --csv --junit --markdown --hdr-log. One
 * table maps each to its renderer; every output is rendered from the typed result
 * (result/result.h) with the figures its document writes, so a fresh run and its saved
 * document give the same bytes. */
#ifndef SURGE_CLI_OUTPUTS_H
#define SURGE_CLI_OUTPUTS_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum cli_output_kind {
	CLI_OUTPUT_JSON,
	CLI_OUTPUT_HTML,
	CLI_OUTPUT_CSV,
	CLI_OUTPUT_JUNIT,
	CLI_OUTPUT_MARKDOWN,
	CLI_OUTPUT_HDR_LOG,
	CLI_OUTPUT_COUNT,
};

/* getopt values of the output options: far above any command's own (256..) values. */
enum {
	CLI_OPT_OUTPUT_FIRST = 1000,
	CLI_OPT_JSON = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_JSON,
	CLI_OPT_HTML = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_HTML,
	CLI_OPT_CSV = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_CSV,
	CLI_OPT_JUNIT = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_JUNIT,
	CLI_OPT_MARKDOWN = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_MARKDOWN,
	CLI_OPT_HDR_LOG = CLI_OPT_OUTPUT_FIRST + CLI_OUTPUT_HDR_LOG,
};

/* The getopt_long entries, to put inside a command's `struct option` array. */
#define CLI_OUTPUTS_LONG_OPTIONS                                                                   \
	{"json", required_argument, NULL, CLI_OPT_JSON},                                           \
	    {"html", required_argument, NULL, CLI_OPT_HTML},                                       \
	    {"csv", required_argument, NULL, CLI_OPT_CSV},                                         \
	    {"junit", required_argument, NULL, CLI_OPT_JUNIT},                                     \
	    {"markdown", required_argument, NULL, CLI_OPT_MARKDOWN},                               \
	{                                                                                          \
		"hdr-log", required_argument, NULL, CLI_OPT_HDR_LOG                                \
	}

/* The same as rows of a command's cli_option_t table (cli_options.h). */
#define CLI_OUTPUTS_OPTIONS                                                                        \
	{"json", CLI_OPT_JSON, "FILE", NULL, 0}, {"html", CLI_OPT_HTML, "FILE", NULL, 0},          \
	    {"csv", CLI_OPT_CSV, "PREFIX", NULL, 0}, {"junit", CLI_OPT_JUNIT, "FILE", NULL, 0},    \
	    {"markdown", CLI_OPT_MARKDOWN, "FILE", NULL, 0},                                       \
	{                                                                                          \
		"hdr-log", CLI_OPT_HDR_LOG, "FILE", NULL, 0                                        \
	}

/* The same options as text for a command's help (laid out like `surge help run`). */
#define CLI_OUTPUTS_HELP                                                                           \
	"      --json FILE        the result document (JSON; - for stdout)\n"                      \
	"      --html FILE        a self-contained HTML report that works offline\n"               \
	"      --csv PREFIX       Locust-compatible PREFIX_stats.csv, PREFIX_stats_history.csv\n"  \
	"                         and PREFIX_failures.csv\n"                                       \
	"      --junit FILE       JUnit XML: a test case per threshold, per check, and the\n"      \
	"                         verdict\n"                                                       \
	"      --markdown FILE    a markdown summary, e.g. for a CI job summary (- for stdout)\n"  \
	"      --hdr-log FILE     HdrHistogram interval log: one latency histogram per second\n"

/* The chosen outputs: a path per kind, NULL when not asked ("-" is stdout, except --csv). */
typedef struct cli_outputs {
	const char *paths[CLI_OUTPUT_COUNT];
} cli_outputs_t;

/* Records opt when it is one of CLI_OUTPUTS_LONG_OPTIONS; false when it is not (the caller
 * handles it). The last of a repeated option wins. */
bool cli_outputs_option(cli_outputs_t *o, int opt, const char *arg);
/* After parsing: 0, or EXIT_USAGE with a message ("--csv -", two outputs on stdout, a file
 * that cannot be written: checked before the work, so a typo never costs a run). */
int cli_outputs_check(const cli_outputs_t *o, const char *cmd);
/* Whether the output file path of --option can be written: 0, or EXIT_USAGE after printing
 * "surge CMD: --option PATH: cannot write: why". */
int cli_output_writable(const char *path, const char *option, const char *cmd);
/* Whether any output was asked; whether one of them goes to stdout (then a command's own
 * terminal summary belongs on stderr). */
bool cli_outputs_any(const cli_outputs_t *o);
bool cli_outputs_to_stdout(const cli_outputs_t *o);

/* Renders and writes every chosen output from r, each file atomically; text (the document r
 * was encoded into, by `surge run`) is --json's bytes when given, else r is encoded. On
 * failure it goes on with the others, prints "surge CMD: cannot write FILE: why" for each
 * that failed and returns EXIT_USAGE; 0 when all were written. */
struct result;
int cli_outputs_write_result(const cli_outputs_t *o, const struct result *r, const char *text,
                             size_t len, const char *cmd);

#endif
