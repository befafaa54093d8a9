/* cli_options: a command's option table and the layers its values come from — the command
 * line over SURGE_<NAME> environment variables over the defaults — so `surge serve` and
 * `surge run` are configured the same way (a pod's environment, the Kubernetes way). Flags
 * win over variables; an overridden variable is never read; an error names what the user
 * gave: the flag ("--workers") or the variable ("$SURGE_WORKERS"). */
#ifndef SURGE_CLI_OPTIONS_H
#define SURGE_CLI_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* At most this many options in a command's table (a _Static_assert in each command checks). */
#define CLI_OPTIONS_MAX 64
/* "--max-header-bytes", "$SURGE_MAX_HEADER_BYTES": the longest name an option is given by. */
#define CLI_OPTION_FROM_MAX 48

enum cli_option_flags {
	CLI_OPTION_NO_ENV = 1, /* never read from the environment (--help) */
	/* the value may be left out: --ui or --ui=ADDR (getopt's optional_argument) */
	CLI_OPTION_OPTIONAL_VALUE = 2,
};

/* One option. A command's table is an array of these, or of a struct of its own whose first
 * member is one (serve's rows add the config field each sets). */
typedef struct cli_option {
	const char *name;  /* --NAME and SURGE_NAME (upper case, '-' as '_') */
	int key;           /* the command's id: its short letter ('c'), or a number from 256 */
	const char *value; /* what the value is called in help and errors ("N"); NULL: a switch */
	const char *help;  /* a line of generated help; NULL where the help is written out */
	unsigned flags;
} cli_option_t;

/* A table: rows of stride bytes, each beginning with a cli_option_t. */
typedef struct cli_table {
	const void *rows;
	int count;
	size_t stride;
} cli_table_t;

#define CLI_TABLE(array)                                                                           \
	((cli_table_t){(array), (int)(sizeof(array) / sizeof((array)[0])), sizeof((array)[0])})

const cli_option_t *cli_option_at(cli_table_t t, int i);
/* The index of the option called name (len bytes), or of the one with key; -1 when none. */
int cli_option_find(cli_table_t t, const char *name, size_t len);
int cli_option_by_key(cli_table_t t, int key);

/* What one layer gives: per option its value (NULL: nothing) and the name it was given by. */
typedef struct cli_given {
	const char *value[CLI_OPTIONS_MAX];
	char from[CLI_OPTIONS_MAX][CLI_OPTION_FROM_MAX];
} cli_given_t;

void cli_given_set(cli_given_t *g, int option, const char *from, const char *value);
/* "SURGE_MAX_BODY" for "max-body" (messages name it "$SURGE_MAX_BODY"). */
void cli_option_env_name(const char *option, char *out, size_t len);
/* getenv, with an empty variable read as unset. */
const char *cli_env_value(const char *name);
/* The environment's values for the options flags leaves alone: SURGE_<NAME>. */
void cli_options_read_env(cli_table_t t, const cli_given_t *flags, cli_given_t *env);
/* The name option was given by — the flag, else the variable — or NULL (the default). */
const char *cli_given_name(cli_table_t t, const cli_given_t *flags, const cli_given_t *env,
                           const char *option);

/* getopt_long's view of a table: the long options (NULL-terminated, at most CLI_OPTIONS_MAX)
 * and the short ones (":c:t:kq..."; ':' first, so a missing value is told apart). */
typedef struct cli_getopt {
	struct option longs[CLI_OPTIONS_MAX + 1];
	char shorts[2 * CLI_OPTIONS_MAX + 2];
} cli_getopt_t;

void cli_options_getopt(cli_table_t t, cli_getopt_t *out);

/* "  --workers V            worker threads ..." for each option that has a help line. */
void cli_options_help(cli_table_t t, FILE *out);

#endif
