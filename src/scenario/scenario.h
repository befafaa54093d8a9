/* scenario: load tests written in Lua (LuaJIT). A scenario file declares user classes with
 * weights, tasks (weighted, or a sequential flow), think time, on_start/on_stop and options;
 * every user is a coroutine on its generator thread's event loop, and an HTTP call yields
 * until its response arrives, so code reads like synchronous calls while thousands of users
 * cost kilobytes each. This module is a gen_driver_t: the engine asks it what a user does
 * next. The API is in docs/scenarios.md; the Lua half lives in prelude.lua. */
#ifndef SURGE_SCENARIO_H
#define SURGE_SCENARIO_H

#include <stddef.h>

#include "gen/gen.h"

#define SCENARIO_MAX_OPTIONS 64
/* the Lua heap each VM (one per generator thread) may hold, unless --script-memory says */
#define SCENARIO_HEAP_DEFAULT (512ULL * 1024 * 1024)
#define SCENARIO_HEAP_MIN     (4ULL * 1024 * 1024) /* the libraries and the API take ~1 MiB */
#define SCENARIO_HEAP_MAX     (1ULL << 40)
/* how long users get to leave (on_stop) once the run is over, unless --graceful-stop says */
#define SCENARIO_GRACEFUL_STOP_NS (5 * NS_PER_S)

typedef struct scenario scenario_t;

/* One of the file's `options = {...}`, as a long option of `surge run` and its value. */
typedef struct scenario_option {
	const char *key;   /* as the file spells it: "spawn_rate", "thresholds", ... */
	const char *name;  /* the option: "spawn-rate", "threshold", ... */
	const char *value; /* as text, the way the command line would give it */
} scenario_option_t;

/* Loads and checks a scenario file: it compiles, its top level runs, it declares at least
 * one user class with at least one task. NULL with "FILE:LINE: message" in err otherwise. */
scenario_t *scenario_load(const char *path, char *err, size_t errlen);
void scenario_free(scenario_t *s);

/* The file's options; the command line overrides them (cli_run applies these first). */
size_t scenario_options(const scenario_t *s, const scenario_option_t **out);
/* The file's key of a `surge run` option ("spawn-rate" → "spawn_rate"), or NULL. */
const char *scenario_option_key(const char *option);
const char *scenario_path(const scenario_t *s);
/* The file's text as it was read (len bytes): what a distributed run sends its shards. */
const char *scenario_source(const scenario_t *s, size_t *len);
/* The data files (surge.csv) the file read when it was loaded — its top level's, which every
 * VM reads again from memory — as their paths relative to the file's folder (i < the count
 * returned; NULL past it); *outside: the path of one given absolutely or out of that folder
 * (a distributed run cannot send it), else NULL. */
size_t scenario_data_files(const scenario_t *s, const char **names, size_t max,
                           const char **outside);
/* The Lua heap each of the run's VMs may hold (SCENARIO_HEAP_MIN..MAX; the file's top level
 * is checked at load under SCENARIO_HEAP_DEFAULT). */
void scenario_set_heap_limit(scenario_t *s, size_t bytes);

/* A user class of the file and its weight for the run. */
typedef struct scenario_class {
	const char *name;
	double weight;
} scenario_class_t;

#define SCENARIO_WEIGHT_MAX 1e9 /* a weight the run may set; the deal's cycle is 100,000 long */

/* The file's user classes in the order users are dealt to them (by name), each with its
 * weight for the run: the file's, until scenario_set_weights changes it. Valid while s
 * lives. */
size_t scenario_classes(const scenario_t *s, const scenario_class_t **out);
/* Before the run starts (the live UI's Start): the weights of the classes named (the others
 * keep theirs), which every VM the run then opens deals its users by. A weight is a number
 * from 0 to SCENARIO_WEIGHT_MAX: 0 leaves the class out, any other rounds as the file's do (to
 * a whole number, at least 1); one class at least must keep a weight above 0. 0, or -EINVAL
 * with one line in err naming the class or the value, and nothing changed. Not while a run's
 * VMs open (nothing locks the weights). */
int scenario_set_weights(scenario_t *s, const scenario_class_t *weights, size_t n, char *err,
                         size_t errlen);

/* The engine's driver for this scenario; valid while s lives. */
const gen_driver_t *scenario_driver(scenario_t *s);

#endif
