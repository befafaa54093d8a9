/* cli_options: option tables and their layers (command line, SURGE_<NAME>, defaults), shared
 * by `surge serve` and `surge run`. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_options.h"

const cli_option_t *cli_option_at(cli_table_t t, int i)
{
	return (const cli_option_t *)((const char *)t.rows + (size_t)i * t.stride);
}

int cli_option_find(cli_table_t t, const char *name, size_t len)
{
	for (int i = 0; i < t.count; i++) {
		const char *n = cli_option_at(t, i)->name;

		if (strlen(n) == len && strncmp(n, name, len) == 0)
			return i;
	}
	return -1;
}

int cli_option_by_key(cli_table_t t, int key)
{
	for (int i = 0; i < t.count; i++)
		if (cli_option_at(t, i)->key == key)
			return i;
	return -1;
}

void cli_given_set(cli_given_t *g, int option, const char *from, const char *value)
{
	if (option < 0 || option >= CLI_OPTIONS_MAX)
		return;
	g->value[option] = value;
	snprintf(g->from[option], CLI_OPTION_FROM_MAX, "%s", from);
}

void cli_option_env_name(const char *option, char *out, size_t len)
{
	size_t i = (size_t)snprintf(out, len, "SURGE_");

	for (const char *p = option; *p && i + 1 < len; p++)
		out[i++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	out[i < len ? i : len - 1] = '\0';
}

const char *cli_env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

void cli_options_read_env(cli_table_t t, const cli_given_t *flags, cli_given_t *env)
{
	for (int o = 0; o < t.count && o < CLI_OPTIONS_MAX; o++) {
		const cli_option_t *opt = cli_option_at(t, o);
		char name[CLI_OPTION_FROM_MAX - 1], from[CLI_OPTION_FROM_MAX];
		const char *v;

		if (flags->value[o] || (opt->flags & CLI_OPTION_NO_ENV))
			continue;
		cli_option_env_name(opt->name, name, sizeof(name));
		if (!(v = cli_env_value(name)))
			continue;
		snprintf(from, sizeof(from), "$%s", name);
		cli_given_set(env, o, from, v);
	}
}

const char *cli_given_name(cli_table_t t, const cli_given_t *flags, const cli_given_t *env,
                           const char *option)
{
	int o = cli_option_find(t, option, strlen(option));

	if (o < 0 || o >= CLI_OPTIONS_MAX)
		return NULL;
	if (flags && flags->value[o])
		return flags->from[o];
	return env && env->value[o] ? env->from[o] : NULL;
}

void cli_options_getopt(cli_table_t t, cli_getopt_t *out)
{
	size_t s = 0, l = 0;

	memset(out, 0, sizeof(*out));
	out->shorts[s++] = ':';
	for (int i = 0; i < t.count && l < CLI_OPTIONS_MAX; i++) {
		const cli_option_t *o = cli_option_at(t, i);

		out->longs[l++] =
		    (struct option){o->name,
		                    !o->value                              ? no_argument
		                    : o->flags & CLI_OPTION_OPTIONAL_VALUE ? optional_argument
		                                                           : required_argument,
		                    NULL, o->key};
		if (o->key > 0 && o->key < 128 && s + 2 < sizeof(out->shorts)) {
			out->shorts[s++] = (char)o->key;
			if (o->value)
				out->shorts[s++] = ':';
		}
	}
}

void cli_options_help(cli_table_t t, FILE *out)
{
	for (int i = 0; i < t.count; i++) {
		const cli_option_t *o = cli_option_at(t, i);
		char flag[48];

		if (!o->help)
			continue;
		snprintf(flag, sizeof(flag), "--%s%s", o->name, o->value ? " V" : "");
		fprintf(out, "  %-22s %s\n", flag, o->help);
	}
}
