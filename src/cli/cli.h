/* cli: the command line — option parsing, terminal output, files, exit codes.
 * Only this layer prints to the terminal or calls exit(). */
#ifndef SURGE_CLI_H
#define SURGE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes (surge help exit-codes). */
enum cli_exit {
	EXIT_OK = 0,
	EXIT_THRESHOLDS = 1,  /* a threshold failed */
	EXIT_USAGE = 2,       /* bad usage or configuration */
	EXIT_UNREACHABLE = 3, /* the run could not reach the target */
	EXIT_GENERATOR = 4,   /* the generator itself was the bottleneck */
	EXIT_NOTHING = 5,     /* nothing was measured: no request ended during the run */
	EXIT_INCOMPLETE = 6,  /* a distributed run lacked a shard: missing at the start, or lost */
};

int cli_run(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_capacity(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_merge(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_help(int argc, char **argv);
/* The help text of a topic ("run", "exit-codes", ...), or NULL. */
const char *cli_help_text(const char *topic);

/* The option table of `surge serve`, printed for its help. */
void cli_serve_options_help(FILE *out);

/* Prints "surge <cmd>: message" to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* --io (or $SURGE_IO) for `surge CMD`: the event loops' backend chosen before any loop is
 * made (NULL: auto). 0, or -1 when io_uring was asked and cannot be used (message printed,
 * naming `from` and the reason). */
int cli_io_choose(const char *value, const char *from, const char *cmd);
/* While a file's settings are applied (a scenario's options), usage errors are the file's,
 * not the command line's: one line, "surge run: FILE: options.rate: must be above 0" — each
 * --NAME in the message that key_of knows is written as prefix + its key. NULL: back to the
 * command line. */
void cli_usage_file(const char *file, const char *prefix, const char *(*key_of)(const char *name));
/* Prints "surge <cmd>: warning: message" to stderr, its names written as usage errors write
 * them (cli_usage_names). */
void cli_warning(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* While set, each --NAME in a usage error for which spelling(NAME) gives a text is written as
 * that text: "$SURGE_RATE: ..." for a value the environment gave (cli_options.h). NULL: off. */
void cli_usage_names(const char *(*spelling)(const char *name));
/* Writes data to path atomically (a temporary file renamed into place); 0 or -errno. A
 * symlink is written through to its target; a file we may not write is -EACCES, never
 * replaced; an existing file keeps its mode. "-", pipes and devices are written in place. */
int cli_write_file(const char *path, const void *data, size_t len);
/* Whether cli_write_file(path) would be allowed, checked without writing anything (before a
 * run, so a typo in an output name never costs the run): 0 or -errno (-ENOENT also for ""). */
int cli_check_writable(const char *path);
/* Reads a whole file of at most max bytes; NULL with errno set (EFBIG when larger). */
char *cli_read_file(const char *path, size_t max, size_t *len);
/* Whether an output path names an input file (the same spelling, a link or another path to
 * it): writing it would replace the input. "-" is never a file. */
bool cli_same_file(const char *output, const char *input);

#endif
