/* cli_ui_control: the live UI's control arguments read and checked (cli_ui_control.h). A typo
 * in a key is an error, not ignored: a script asking for "user": 50 must hear that nothing
 * changed. */
#include "cli/cli_ui_control.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "scenario/scenario.h"

/* A number member: absent (NAN, 0) or in [min, max]; else 400 naming it. */
static int number_arg(const json_t *args, const char *key, double min, double max, double *out,
                      char *err, size_t errlen)
{
	const json_t *v = json_object_get(args, key);

	*out = NAN;
	if (!v)
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) >= min && json_number_value(v) <= max)) {
		snprintf(err, errlen, "%s: expected a number from %g to %g", key, min, max);
		return 400;
	}
	*out = json_number_value(v);
	return 0;
}

/* Only the keys a control knows. */
static int known_keys(const json_t *args, const char *const *keys, char *err, size_t errlen)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)args, key, v)
	{
		bool known = false;

		(void)v;
		for (const char *const *k = keys; *k && !known; k++)
			known = strcmp(*k, key) == 0;
		if (!known) {
			snprintf(err, errlen, "unknown argument '%s'", ECHO(key));
			return 400;
		}
	}
	return 0;
}

/* users/spawn_rate (closed) or rate (open), checked against the run. */
static int load_args(const json_t *args, const cli_ui_run_t *run, gen_steer_t *s, char *err,
                     size_t errlen)
{
	double users, spawn, rate;
	int rc;

	if ((rc = number_arg(args, "users", 0, run->users_room, &users, err, errlen)) ||
	    (rc = number_arg(args, "spawn_rate", 0, 1e6, &spawn, err, errlen)) ||
	    (rc = number_arg(args, "rate", 0, GEN_MAX_RATE, &rate, err, errlen)))
		return rc;
	if (run->open_model) {
		if (!isnan(users) || !isnan(spawn)) {
			snprintf(err, errlen, "the open model takes a rate, not users");
			return 400;
		}
		if (isnan(rate)) {
			snprintf(err, errlen, "rate: missing (arrivals per second)");
			return 400;
		}
		*s = (gen_steer_t){.kind = GEN_STEER_RATE, .value = rate};
		return 0;
	}
	if (!isnan(rate)) {
		snprintf(err, errlen, "the closed model takes users and spawn_rate, not a rate");
		return 400;
	}
	if (isnan(users) || users != floor(users)) {
		snprintf(err, errlen, "users: expected a whole number from 0 to %u",
		         run->users_room);
		return 400;
	}
	*s = (gen_steer_t){
	    .kind = GEN_STEER_USERS, .value = users, .spawn_rate = isnan(spawn) ? 0 : spawn};
	return 0;
}

int cli_ui_read_start(const json_t *args, const cli_ui_run_t *run, cli_ui_start_t *out, char *err,
                      size_t errlen)
{
	static const char *const keys[] = {"users", "spawn_rate", "rate", "host", "classes", NULL};
	const json_t *host = json_object_get(args, "host");
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = known_keys(args, keys, err, errlen)) ||
	    (rc = load_args(args, run, &out->load, err, errlen)))
		return rc;
	if (host && (!json_is_string(host) || run->scenario_host)) {
		snprintf(err, errlen,
		         run->scenario_host ? "host: a scenario's host is given with --host"
		                            : "host: expected a URL");
		return 400;
	}
	if (host) {
		char why[200];

		if (url_parse(json_string_value(host), &out->url, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "host: %s", why);
			return 400;
		}
		out->host = json_string_value(host);
	}
	out->classes = json_object_get(args, "classes");
	return 0;
}

int cli_ui_read_load(const json_t *args, const cli_ui_run_t *run, gen_steer_t *out, char *err,
                     size_t errlen)
{
	static const char *const keys[] = {"users", "spawn_rate", "rate", NULL};
	int rc;

	if ((rc = known_keys(args, keys, err, errlen)))
		return rc;
	return load_args(args, run, out, err, errlen);
}

int cli_ui_set_classes(const cli_ui_run_t *run, const json_t *classes, char *err, size_t errlen)
{
	scenario_class_t *w;
	const char *name;
	json_t *v;
	size_t n = 0;
	int rc;

	if (!run->scenario) {
		snprintf(err, errlen, "classes: a URL has no user classes (give a scenario)");
		return 400;
	}
	if (!json_is_object(classes)) {
		snprintf(err, errlen,
		         "classes: expected an object of weights, like {\"Browse\": 3}");
		return 400;
	}
	if (!(w = calloc(json_object_size(classes) + 1, sizeof(*w)))) {
		snprintf(err, errlen, "out of memory");
		return 503;
	}
	json_object_foreach((json_t *)classes, name, v)
	{
		if (!json_is_number(v)) {
			snprintf(err, errlen,
			         "classes: the weight of '%s' must be a number from 0 "
			         "(left out) to %g",
			         ECHO(name), SCENARIO_WEIGHT_MAX);
			free(w);
			return 400;
		}
		w[n++] = (scenario_class_t){.name = name, .weight = json_number_value(v)};
	}
	rc = scenario_set_weights(run->scenario, w, n, err, errlen);
	free(w);
	return rc < 0 ? 400 : 0;
}
