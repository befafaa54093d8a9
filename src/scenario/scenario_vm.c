/* scenario_vm: one LuaJIT VM per generator thread, one coroutine per user, and the engine's
 * driver: when a user's response arrives (or its sleep ends, or an arrival is due) the
 * engine calls next(), which resumes the coroutine until it yields what it wants done —
 * a request, a sleep, or the end of an iteration. Code that does not yield cannot be waited
 * for, so an instruction-count hook looks at the clock and the stop flags every few
 * thousand instructions (as haproxy's hlua.c does): the run's end makes the user leave its
 * iteration, a grace that is up or a second Ctrl-C stops it, and a resume that runs too long
 * is a runaway, an error the iteration absorbs. The VM's heap has a limit (--script-memory):
 * past it, and still past it after a full collection, the hook raises an error the
 * iteration absorbs, reported naming the task. */
#include <errno.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "scenario/scenario_internal.h"
#include "scenario_prelude.h"

#define STOP_KEY "surge.stop" /* registry: the errors that end a user's code, not errors */
#define HALT_KEY "surge.halt"

static __thread scenario_vm_t *running_vm; /* the VM whose code runs now, for the hook */

bool scenario_vm_run_over(scenario_vm_t *vm)
{
	gen_thread_t *t = vm->thread;
	const gen_config_t *cfg;
	uint64_t now, end;

	if (vm->over_ns)
		return true;
	if (!t)
		return false;
	cfg = gen_thread_config(t);
	end = gen_thread_start_ns(t) + cfg->duration_ns;
	now = clock_now_ns();
	if (cfg->duration_ns && now >= end)
		vm->over_ns = end;
	else if (gen_thread_ending(t))
		vm->over_ns = now;
	return vm->over_ns != 0;
}

enum scenario_order scenario_vm_order(scenario_vm_t *vm)
{
	gen_thread_t *t = vm->thread;
	scenario_user_t *u = vm->current ? gen_conn_user(vm->current) : NULL;

	if (t && gen_thread_halting(t))
		return SCENARIO_HALT;
	if (t && scenario_vm_run_over(vm)) {
		/* code outside a user (a thread's copy of the file's top level) has no on_stop */
		if (!u || (u->leaving &&
		           clock_now_ns() >= vm->over_ns + gen_thread_config(t)->stop_grace_ns))
			return SCENARIO_HALT;
		if (!u->leaving)
			return SCENARIO_LEAVE;
	}
	if (vm->heap_breached)
		return SCENARIO_HEAP;
	return vm->instructions > SCENARIO_INSTR_LIMIT ? SCENARIO_RUNAWAY : SCENARIO_GO;
}

/* True when a function of the scenario (not the prelude's, not C) is on L's stack, and where
 * the innermost one is ("FILE:LINE"): an order is raised there, where it unwinds the
 * script's code, never between the prelude's steps (which reach a yield or a check of their
 * own within a few instructions). */
static bool in_scenario_code(lua_State *L, char *where, size_t len)
{
	lua_Debug ar;

	for (int level = 0; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar))
			break;
		if (ar.what[0] != 'C' && strcmp(ar.source, "=prelude") != 0) {
			snprintf(where, len, "%s:%d",
			         ar.source[0] == '@' ? ar.source + 1 : ar.short_src,
			         ar.currentline);
			return true;
		}
	}
	return false;
}

static void count_hook(lua_State *L, lua_Debug *ar);

/* The hook every `every` instructions: SCENARIO_HOOK_INTERVAL, or 1 right after the heap went
 * past its limit. Safe from inside the allocator: it only sets counters, as a signal handler
 * may (the standalone interpreter's Ctrl-C does the same). */
static void hook_every(scenario_vm_t *vm, int every)
{
	vm->hook_every = every;
	lua_sethook(vm->L, count_hook, LUA_MASKCOUNT, every);
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
	scenario_vm_t *vm = running_vm;
	enum scenario_order order;
	char heap[160], where[512];

	(void)ar;
	if (!vm)
		return;
	vm->instructions += (uint64_t)vm->hook_every;
	if (vm->heap_over) {
		/* garbage the collector had not reached yet is no breach */
		vm->heap_over = false;
		lua_gc(L, LUA_GCCOLLECT, 0);
		if (vm->heap_bytes > vm->s->heap_limit)
			vm->heap_breached = true; /* raised as soon as the scenario's code runs */
		else
			hook_every(vm, SCENARIO_HOOK_INTERVAL);
	}
	order = scenario_vm_order(vm);
	/* an order is not reset by raising it: a script's own pcall cannot swallow it, the
	 * next hook raises it again until it leaves the user's code */
	if (order == SCENARIO_GO || !in_scenario_code(L, where, sizeof(where)))
		return;
	switch (order) {
	case SCENARIO_RUNAWAY:
		/* not luaL_error: its place would be the hooked function's caller */
		lua_pushfstring(
		    L, "%s: runaway: over %d Lua instructions without a request or a sleep", where,
		    SCENARIO_INSTR_LIMIT);
		lua_error(L);
		break;
	case SCENARIO_HEAP:
		if (vm->hook_every != SCENARIO_HOOK_INTERVAL)
			hook_every(vm, SCENARIO_HOOK_INTERVAL);
		scenario_heap_message(vm, heap, sizeof(heap));
		lua_pushfstring(L, "%s: %s", where, heap);
		lua_error(L);
		break;
	default:
		lua_getfield(L, LUA_REGISTRYINDEX, order == SCENARIO_HALT ? HALT_KEY : STOP_KEY);
		lua_error(L);
	}
}

/* True when the error object at index is one of the orders (not a script error). */
static bool is_order(lua_State *L, int index)
{
	bool order;

	if (!lua_istable(L, index))
		return false;
	lua_getfield(L, LUA_REGISTRYINDEX, STOP_KEY);
	lua_getfield(L, LUA_REGISTRYINDEX, HALT_KEY);
	order = lua_rawequal(L, index < 0 ? index - 2 : index, -2) ||
	        lua_rawequal(L, index < 0 ? index - 2 : index, -1);
	lua_pop(L, 2);
	return order;
}

/* ---- the heap ---- */

/* Past the limit, the allocation still succeeds and the hook raises the error at the next
 * instruction, an ordinary error: an allocation refused deep inside LuaJIT while a hook is
 * set can leave its stack unwindable (Debian's libluajit2 2.1-20230119 crashes in its
 * unwinder, e.g. filling a table of tables). Only one allocation that alone would take the
 * heap past half the limit again (string.rep(s, 1e9)) is refused, as a failed malloc is. */
static void *heap_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	scenario_vm_t *vm = ud;
	size_t old = ptr ? osize : 0, limit = vm->s->heap_limit;
	void *p;

	/* only growth can be refused: Lua assumes shrinking and freeing never fail */
	if (nsize > old && vm->heap_enforced && vm->heap_bytes - old + nsize > limit) {
		if (vm->heap_bytes - old + nsize > limit + limit / 2) {
			vm->heap_breached = true;
			return NULL;
		}
		if (!vm->heap_over && !vm->heap_breached) {
			vm->heap_over = true;
			hook_every(vm, 1);
		}
	}
	p = vm->base_alloc(vm->base_ud, ptr, osize, nsize);
	if (p || nsize == 0)
		vm->heap_bytes = vm->heap_bytes - old + nsize;
	return p;
}

/* LuaJIT's own allocator (luaL_newstate's: lua_newstate with another one is refused by
 * builds without GC64), counted from what the state holds already. */
static void heap_wrap(scenario_vm_t *vm)
{
	lua_State *L = vm->L;

	vm->base_alloc = lua_getallocf(L, &vm->base_ud);
	vm->heap_bytes =
	    (size_t)lua_gc(L, LUA_GCCOUNT, 0) * 1024 + (size_t)lua_gc(L, LUA_GCCOUNTB, 0);
	lua_setallocf(L, heap_alloc, vm);
}

void scenario_heap_message(const scenario_vm_t *vm, char *out, size_t len)
{
	size_t mib = vm->s->heap_limit >> 20;

	snprintf(out, len, "the Lua heap reached its limit of %zu %s (--script-memory)",
	         mib ? mib : vm->s->heap_limit >> 10, mib ? "MiB" : "KiB");
}

void scenario_vm_absorb(scenario_vm_t *vm)
{
	vm->instructions = 0;
	if (vm->heap_breached) {
		vm->heap_breached = vm->heap_over = false;
		if (vm->hook_every != SCENARIO_HOOK_INTERVAL)
			hook_every(vm, SCENARIO_HOOK_INTERVAL);
		/* what the failed code held is garbage now: the next task starts with room */
		lua_gc(vm->L, LUA_GCCOLLECT, 0);
	}
}

/* Runs L (or a coroutine of it) with the hook and the heap limit on; returns what f did. */
static int guarded_resume(scenario_vm_t *vm, lua_State *co, int nargs)
{
	int rc;

	running_vm = vm;
	vm->heap_enforced = true;
	rc = lua_resume(co, nargs);
	vm->heap_enforced = false;
	running_vm = NULL;
	return rc;
}

/* Keeps the first line of an error and where in the scenario file it happened. */
static void first_line(char *err, size_t errlen, const char *msg)
{
	size_t n = strcspn(msg, "\n");

	snprintf(err, errlen, "%.*s", (int)n, msg);
}

static int traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
	return 1;
}

int scenario_vm_call(scenario_vm_t *vm, int nargs, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	int base = lua_gettop(L) - nargs;
	int rc;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	running_vm = vm;
	vm->instructions = 0;
	vm->heap_enforced = true;
	rc = lua_pcall(L, nargs, 1, base);
	vm->heap_enforced = false;
	running_vm = NULL;
	lua_remove(L, base);
	if (rc != 0) {
		char line[1024];

		if (vm->heap_breached &&
		    !(lua_tostring(L, -1) && strstr(lua_tostring(L, -1), "the Lua heap reached")))
			scenario_heap_message(vm, line,
			                      sizeof(line)); /* refused: no line of its own */
		else if (is_order(L, -1))
			snprintf(line, sizeof(line), "the run was stopped while the file loaded");
		else
			first_line(line, sizeof(line),
			           lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		/* Lua's own position ("PATH:LINE: ...") is kept; anything else is put after the
		 * path, even a message that quotes the path elsewhere (fuzz_scenario) */
		if (strncmp(line, vm->s->path, strlen(vm->s->path)) == 0 &&
		    line[strlen(vm->s->path)] == ':')
			snprintf(err, errlen, "%s", line);
		else
			snprintf(err, errlen, "%s: %s", vm->s->path, line);
		lua_pop(L, 1);
		return -EINVAL;
	}
	return 0;
}

static void seed(scenario_vm_t *vm)
{
	uint64_t r[3];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		r[0] = clock_now_ns();
		r[1] = (uint64_t)(uintptr_t)vm ^ 0x9e3779b97f4a7c15ULL;
		r[2] = r[0] * 31 + r[1];
	}
	vm->rng[0] = r[0] | 1;
	vm->rng[1] = r[1];
	lua_getglobal(vm->L, "math");
	lua_getfield(vm->L, -1, "randomseed");
	lua_pushnumber(vm->L, (double)(r[2] % 2147483647));
	lua_call(vm->L, 1, 0);
	lua_pop(vm->L, 1);
}

scenario_vm_t *scenario_vm_open(scenario_t *s, gen_thread_t *t, char *err, size_t errlen)
{
	scenario_vm_t *vm = calloc(1, sizeof(*vm));
	char chunk[1024];
	lua_State *L;

	if (!vm || !(vm->L = L = luaL_newstate())) {
		free(vm);
		snprintf(err, errlen, "out of memory starting a Lua VM");
		return NULL;
	}
	vm->s = s;
	vm->thread = t;
	heap_wrap(vm);
	luaL_openlibs(L);
	lua_pushlightuserdata(L, vm);
	lua_setfield(L, LUA_REGISTRYINDEX, "surge.vm");
	scenario_api_open(L);
	/* the orders the hook raises, known to the prelude (its pcall lets them through) */
	lua_getglobal(L, "_surge_c");
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, STOP_KEY);
	lua_setfield(L, -2, "stop_order");
	lua_newtable(L);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, HALT_KEY);
	lua_setfield(L, -2, "halt_order");
	lua_pop(L, 1);
	seed(vm);
	/* compiled traces never call hooks, so a runaway loop could only be stopped in the
	 * interpreter: scenarios are glue between requests, where the interpreter is plenty */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
	hook_every(vm, SCENARIO_HOOK_INTERVAL);
	if (luaL_loadbuffer(L, scenario_prelude, sizeof(scenario_prelude) - 1, "=prelude") != 0 ||
	    scenario_vm_call(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
	snprintf(chunk, sizeof(chunk), "@%s", s->path);
	/* source only: LuaJIT does not verify bytecode, so a broken or hostile compiled chunk
	 * could corrupt memory instead of failing with a line */
	if (s->source_len && s->source[0] == '\033') {
		snprintf(err, errlen, "%s: compiled Lua (bytecode): surge runs Lua source only",
		         s->path);
		goto fail;
	}
	if (luaL_loadbufferx(L, s->source, s->source_len, chunk, "t") != 0) {
		first_line(err, errlen, lua_tostring(L, -1));
		goto fail;
	}
	if (scenario_vm_call(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
	lua_getglobal(L, "_surge_classes");
	if (scenario_vm_call(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
	if (scenario_classes_apply(vm, err, errlen) < 0)
		goto fail;
	lua_getglobal(L, "_surge_user");
	vm->user_fn = luaL_ref(L, LUA_REGISTRYINDEX);
	return vm;
fail:
	scenario_vm_close(vm);
	return NULL;
}

void scenario_vm_close(scenario_vm_t *vm)
{
	if (!vm)
		return;
	/* LuaJIT frees its whole arena at once only when it sees its own allocator */
	lua_setallocf(vm->L, vm->base_alloc, vm->base_ud);
	lua_close(vm->L);
	free(vm);
}

scenario_vm_t *scenario_vm_of(lua_State *L)
{
	scenario_vm_t *vm;

	lua_getfield(L, LUA_REGISTRYINDEX, "surge.vm");
	vm = lua_touserdata(L, -1);
	lua_pop(L, 1);
	return vm;
}

/* ---- the engine's driver ---- */

static scenario_user_t *user_new(scenario_vm_t *vm, gen_conn_t *c)
{
	scenario_user_t *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->co = lua_newthread(vm->L);
	u->ref = luaL_ref(vm->L, LUA_REGISTRYINDEX);
	lua_rawgeti(u->co, LUA_REGISTRYINDEX, vm->user_fn);
	lua_pushnumber(u->co, (double)gen_conn_user_number(c));
	lua_pushboolean(u->co, gen_thread_config(vm->thread)->open_model);
	gen_conn_set_user(c, u);
	return u;
}

static void driver_release(gen_conn_t *c)
{
	scenario_vm_t *vm = gen_thread_driver_state(gen_conn_thread(c));
	scenario_user_t *u = gen_conn_user(c);

	if (!u)
		return;
	luaL_unref(vm->L, LUA_REGISTRYINDEX, u->ref);
	free(u);
	gen_conn_set_user(c, NULL);
}

/* A response body becomes a Lua string, usually garbage soon after (a task reads it, or not,
 * and goes on). The collector paces itself on the heap's size, not on what a string costs
 * the process: with 16 MiB bodies, two or three per VM could wait for it (a run's RSS from
 * 80 to 118 MiB for two users of an endless body). So once the large bodies copied in since
 * the last full collection and the next one would pass SCENARIO_BODY_GARBAGE, a collection
 * runs first: a VM holds at most that much of them beyond what its users still refer to, at
 * the cost of one collection per 16 MiB of large bodies. */
static void make_room_for_body(scenario_vm_t *vm, size_t len)
{
	if (len < SCENARIO_LARGE_BODY)
		return;
	if (vm->large_bodies && vm->large_bodies + len > SCENARIO_BODY_GARBAGE) {
		lua_gc(vm->L, LUA_GCCOLLECT, 0);
		vm->large_bodies = 0;
	}
	vm->large_bodies += len;
}

/* The outcome of the user's request, as User:send receives it: status, body, headers, error
 * kind, milliseconds, and whether it succeeded (by its expect, else 200-399). */
static int push_response(scenario_vm_t *vm, lua_State *co, gen_conn_t *c)
{
	gen_outcome_t o;

	gen_conn_outcome(c, &o);
	lua_pushinteger(co, o.answered ? o.status : 0);
	if (o.body) {
		make_room_for_body(vm, o.body->len);
		lua_pushlstring(co, o.body->data ? o.body->data : "", o.body->len);
	} else {
		lua_pushliteral(co, "");
	}
	if (o.headers && o.answered)
		lua_pushlstring(co, o.headers->data, o.headers->len);
	else
		lua_pushliteral(co, "");
	gen_conn_outcome_copied(c); /* o.body and o.headers are gone */
	if (o.failed)
		lua_pushstring(co, gen_error_kind_name(o.error));
	else
		lua_pushnil(co);
	lua_pushnumber(co, (double)(clock_now_ns() - o.sent_ns) / NS_PER_MS);
	lua_pushboolean(co, o.ok);
	return 6;
}

/* A user's code ended with an error that reached the coroutine's top (outside its tasks, or
 * an order): counted unless it was an order; then the user is gone. */
static void user_died(scenario_vm_t *vm, scenario_user_t *u)
{
	char line[200];

	if (is_order(u->co, -1)) {
		vm->heap_breached = false;
		return;
	}
	if (vm->heap_breached) {
		scenario_heap_message(vm, line, sizeof(line));
		scenario_count_error(vm, line);
	} else {
		scenario_count_error(vm,
		                     lua_tostring(u->co, -1) ? lua_tostring(u->co, -1) : "error");
	}
	scenario_vm_absorb(vm);
}

static void driver_next(gen_conn_t *c)
{
	scenario_vm_t *vm = gen_thread_driver_state(gen_conn_thread(c));
	scenario_user_t *u = gen_conn_user(c);
	int nargs = 0, quiet = 0;

	if (!u) {
		if (!(u = user_new(vm, c))) {
			gen_conn_finish(c);
			return;
		}
		nargs = 2;
	} else if (u->awaiting) {
		u->awaiting = false;
		nargs = push_response(vm, u->co, c);
	}
	for (;;) {
		const char *what;
		int rc;

		vm->current = c;
		vm->instructions = 0;
		rc = guarded_resume(vm, u->co, nargs);
		vm->current = NULL;
		nargs = 0;
		if (rc != LUA_YIELD) {
			if (rc != 0)
				user_died(vm, u);
			/* the user's life ended: after on_stop when leaving, else by an error */
			if (!gen_conn_retiring(c) || gen_conn_iteration_done(c))
				gen_conn_finish(c);
			return;
		}
		what = lua_tostring(u->co, 1);
		if (what && strcmp(what, "request") == 0) {
			gen_request_t *req = scenario_request_get(u->co, 2);

			if (!req) {
				scenario_count_error(vm,
				                     "coroutine.yield(\"request\", ...) without a "
				                     "request: use u:get/post/... or u:send");
				gen_conn_finish(c);
				return;
			}
			lua_settop(u->co,
			           0); /* the request stays referenced by User:send's frame */
			u->awaiting = true;
			u->sent = true;
			gen_conn_request(c, req);
			return;
		}
		if (what && strcmp(what, "sleep") == 0) {
			double s = lua_tonumber(u->co, 2);

			s = s > 0 ? (s < 1e6 ? s : 1e6) : 0; /* NaN and negatives: no wait */
			lua_settop(u->co, 0);
			gen_conn_sleep(c, clock_now_ns() + (uint64_t)(s * NS_PER_S));
			return;
		}
		lua_settop(u->co, 0); /* "done": one iteration over */
		if (gen_conn_retiring(c) && !u->leaving) {
			u->leaving = true; /* ramping down: on_stop runs, then the user is parked */
			lua_pushliteral(u->co, "leave");
			nargs = 1;
			continue;
		}
		if (!gen_conn_iteration_done(c))
			return; /* the engine has the connection: an arrival resumes the user */
		/* iterations without a request or a sleep (a task that fails at once, or does
		 * nothing) would never give the event loop back, and the run could not end:
		 * after a few in a row, a sleep of no time does */
		if (++quiet == SCENARIO_QUIET_ITERATIONS) {
			gen_conn_sleep(c, clock_now_ns());
			return;
		}
	}
}

static void *driver_thread_start(void *ctx, gen_thread_t *t, char *err, size_t errlen)
{
	return scenario_vm_open(ctx, t, err, errlen);
}

/* The engine has released every user still there (driver_release): their coroutines go
 * with the VM. */
static void driver_thread_stop(void *state)
{
	scenario_vm_close(state);
}

const gen_driver_t *scenario_driver(scenario_t *s)
{
	s->driver.ctx = s;
	s->driver.thread_start = driver_thread_start;
	s->driver.thread_stop = driver_thread_stop;
	s->driver.next = driver_next;
	s->driver.release = driver_release;
	return &s->driver;
}
