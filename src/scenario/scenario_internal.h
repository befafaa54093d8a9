/* scenario_internal: what the scenario module's files share — the loaded scenario, a
 * thread's VM, and a user — split as scenario_load.c (file, options), scenario_vm.c (VMs,
 * coroutines, the engine's driver), scenario_api.c (the C functions Lua calls) and
 * scenario_data.c (CSV feeders shared by every thread). */
#ifndef SURGE_SCENARIO_INTERNAL_H
#define SURGE_SCENARIO_INTERNAL_H

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "gen/gen_driver.h"
#include "scenario/scenario.h"

#define SCENARIO_FILE_MAX    (16u * 1024 * 1024)
#define SCENARIO_CSV_MAX     (256u * 1024 * 1024) /* bytes of one data file */
#define SCENARIO_CSV_FILES   64
#define SCENARIO_INSTR_LIMIT 20000000 /* VM instructions between two yields: a runaway */
/* instructions between two looks at the clock and the stop flags: at most tens of
 * microseconds of interpreted code, more only when C library calls (string.rep, ...) fill it */
#define SCENARIO_HOOK_INTERVAL    10000
#define SCENARIO_QUIET_ITERATIONS 64   /* in a row without I/O, then the event loop has a turn */
#define SCENARIO_CLASSES_MAX      1024 /* user classes of one file */
#define SCENARIO_CLASS_NAME_MAX   256  /* bytes of a class's name */

typedef struct scenario_csv {
	char *path;
	char **cells; /* rows × cols, row 0 is the header */
	uint32_t rows, cols;
	_Atomic uint64_t cursor; /* next() position, shared by every user */
} scenario_csv_t;

struct scenario {
	char *path;
	char *dir; /* the file's directory: data paths are relative to it */
	char *source;
	size_t source_len;
	scenario_option_t options[SCENARIO_MAX_OPTIONS]; /* values owned (names are static) */
	size_t option_count;
	gen_driver_t driver;

	size_t heap_limit; /* bytes of Lua heap per VM (--script-memory) */

	scenario_class_t *classes; /* the file's, names owned; weights for the run */
	size_t class_count;
	bool weights_set; /* scenario_set_weights was called: the VMs are told */

	pthread_mutex_t csv_lock;
	scenario_csv_t *csv[SCENARIO_CSV_FILES];
	uint32_t csv_count;
};

/* What the code running in a VM must do now (scenario_vm_order), checked by the instruction
 * hook and by the prelude between a user's steps. */
enum scenario_order {
	SCENARIO_GO,
	SCENARIO_LEAVE,   /* the run is over: the user's iteration ends, its on_stop runs */
	SCENARIO_HALT,    /* stop now: the grace is up, or the stop was asked twice */
	SCENARIO_HEAP,    /* the heap went past its limit: an error the iteration absorbs */
	SCENARIO_RUNAWAY, /* too many instructions without a request or a sleep */
};

/* A response body this large counts toward SCENARIO_BODY_GARBAGE (scenario_vm.c). */
#define SCENARIO_LARGE_BODY   (1024 * 1024)
#define SCENARIO_BODY_GARBAGE (16 * 1024 * 1024)

/* A generator thread's VM. */
typedef struct scenario_vm {
	scenario_t *s;
	gen_thread_t *thread; /* NULL while loading for checks */
	lua_State *L;
	int user_fn;           /* registry ref of _surge_user */
	gen_conn_t *current;   /* the user being resumed (checks and errors are counted for it) */
	uint64_t instructions; /* since the current resume began (or the last absorbed runaway) */
	uint64_t over_ns;      /* when this thread first saw the run over; 0 while it is not */
	uint64_t rng[2];       /* xorshift128+ for uuids */

	int hook_every; /* instructions between two calls of the hook */

	/* The heap: LuaJIT's own allocator, wrapped to count, and to make the hook raise an
	 * error once the heap passes its limit while the scenario's code runs (outside it, C
	 * pushing a response is not stopped: its size has limits of its own). */
	lua_Alloc base_alloc;
	void *base_ud;
	size_t heap_bytes;
	bool heap_enforced;
	bool heap_over;      /* went past the limit: the hook looks again after a collection */
	bool heap_breached;  /* stayed past it, or an allocation was refused: an error is due or on
	                      * its way, reported naming the task; until scenario_vm_absorb */
	size_t large_bodies; /* bytes of large response bodies copied in since the last full
	                      * collection (push_response) */
} scenario_vm_t;

/* One user: its coroutine, kept in the registry while it lives. */
typedef struct scenario_user {
	lua_State *co;
	int ref;
	bool leaving;  /* told to leave (ramp-down), or leaving: on_stop is running */
	bool awaiting; /* a request is out: the next resume gets its response */
	bool sent;     /* has sent a request: a failed check can mark its response */
} scenario_user_t;

/* scenario_vm.c: a VM with the API, the prelude and the scenario file run; NULL with a
 * "FILE:LINE: message" in err. */
scenario_vm_t *scenario_vm_open(scenario_t *s, gen_thread_t *t, char *err, size_t errlen);
void scenario_vm_close(scenario_vm_t *vm);
scenario_vm_t *scenario_vm_of(lua_State *L);
/* What the running code must do now (enum scenario_order). */
enum scenario_order scenario_vm_order(scenario_vm_t *vm);
/* True once the run is over for this thread: its time is up (even before the event loop's
 * timer has fired), a stop was asked, or the thread is ending. */
bool scenario_vm_run_over(scenario_vm_t *vm);
/* A script error was absorbed (counted, the user goes on): a fresh instruction budget, and
 * after a refused allocation, a full collection so the next task starts with room. */
void scenario_vm_absorb(scenario_vm_t *vm);
/* "the Lua heap reached its limit of 512 MiB (--script-memory)" */
void scenario_heap_message(const scenario_vm_t *vm, char *out, size_t len);

/* Calls the function below its nargs arguments on vm's stack with the hook and the heap
 * limit on, leaving its one result: 0, or -EINVAL with "FILE: message" in err (popped). */
int scenario_vm_call(scenario_vm_t *vm, int nargs, char *err, size_t errlen);

/* scenario_classes.c: the file's classes read from the VM that checked it at load (0,
 * -E2BIG past the bounds, -ENOMEM, -EINVAL; err says which); the run's weights handed to a
 * run's VM once its file has run (0, or -EINVAL with err); freed with the scenario. */
int scenario_classes_read(scenario_vm_t *vm, char *err, size_t errlen);
int scenario_classes_apply(scenario_vm_t *vm, char *err, size_t errlen);
void scenario_classes_free(scenario_t *s);

/* scenario_api.c: registers _surge_c (the C functions the prelude uses). */
void scenario_api_open(lua_State *L);
/* The prepared request (a userdata holding a gen_request_t) at index, or NULL when it is
 * something else. */
gen_request_t *scenario_request_get(lua_State *L, int index);
/* Counts a Lua error that ended an iteration (by message, bounded). */
void scenario_count_error(scenario_vm_t *vm, const char *message);

/* scenario_data.c: the CSV feeder API (surge.csv), files loaded once per scenario. */
int scenario_csv_open(lua_State *L);
/* Splits text[0..len) into c's rows and columns in place (text needs len + 1 bytes: cells are
 * NUL-terminated over the separators); on success the cells point into text, which c->cells[0]
 * then owns. 0, -ENOMEM, or -EINVAL with "line N: ..." in err. Pure: no I/O. */
int scenario_csv_parse(scenario_csv_t *c, char *text, size_t len, char *err, size_t errlen);
void scenario_csv_free_all(scenario_t *s);

#endif
