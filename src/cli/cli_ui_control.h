/* cli_ui_control: the arguments of the live UI's controls read and checked against the run —
 * Start's users and spawn_rate (the closed model) or rate (the open), its host and its user
 * classes' weights, and a change of the load — so that cli_ui.c changes nothing until every
 * one has passed. Pure but for the weights set last (fuzzed: tests/fuzz/fuzz_ui_control.c). */
#ifndef SURGE_CLI_UI_CONTROL_H
#define SURGE_CLI_UI_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/url.h"
#include "gen/gen.h"

struct scenario;

/* What of the run a control's arguments are checked against. */
typedef struct cli_ui_run {
	bool open_model;
	uint32_t users_room;       /* the closed model's most users */
	bool scenario_host;        /* a scenario's run: its host is --host's, never Start's */
	struct scenario *scenario; /* whose classes Start may weigh; NULL: a URL's run */
} cli_ui_run_t;

/* Start's arguments, read. */
typedef struct cli_ui_start {
	gen_steer_t load;      /* users and spawn_rate, or rate */
	const char *host;      /* the URL asked (args' string), NULL: none */
	url_t url;             /* host, parsed */
	const json_t *classes; /* the weights asked (args' object), NULL: none */
} cli_ui_start_t;

/* Start's {"users", "spawn_rate"} or {"rate"}, "host" and "classes" read: 0 with out filled
 * (pointing into args), or 400 with one line in err. Changes nothing. */
int cli_ui_read_start(const json_t *args, const cli_ui_run_t *run, cli_ui_start_t *out, char *err,
                      size_t errlen);

/* A change of the load ({"users", "spawn_rate"} or {"rate"}): 0 with out filled, or 400 with
 * one line in err. */
int cli_ui_read_load(const json_t *args, const cli_ui_run_t *run, gen_steer_t *out, char *err,
                     size_t errlen);

/* Start's "classes" ({"Browse": 3, "Buy": 0}) checked and set as run->scenario's weights: 0;
 * or 400 (not an object of numbers, a class the scenario has not, a weight out of range, every
 * weight 0, a URL's run) / 503 (out of memory) with one line in err, and nothing changed. */
int cli_ui_set_classes(const cli_ui_run_t *run, const json_t *classes, char *err, size_t errlen);

#endif
