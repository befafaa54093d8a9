/* scenario_vm: one LuaJIT VM per generator thread, one coroutine per user, and the engine's
 * driver: when a user's response arrives (or its sleep ends, or an arrival is due) the
 * engine calls next(), which resumes the coroutine until it yields what it wants done —
 * a request, a sleep, or the end of an iteration. An instruction-count hook ends any resume
 * that runs too long without yielding (a runaway loop) with an error the iteration absorbs. */
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

static __thread scenario_vm_t *running_vm; /* the VM whose code runs now, for the hook */

static void count_hook(lua_State *L, lua_Debug *ar)
{
	scenario_vm_t *vm = running_vm;

	(void)ar;
	if (!vm)
		return;
	vm->instructions += SCENARIO_HOOK_INTERVAL;
	/* not reset after raising: a script's own pcall cannot swallow it, the next hook raises
	 * again until the error leaves the user's code (or ends the user) */
	if (vm->instructions > SCENARIO_INSTR_LIMIT) {
		luaL_error(L, "runaway: over %d Lua instructions without a request or a sleep",
		           SCENARIO_INSTR_LIMIT);
	}
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

static int run_chunk(scenario_vm_t *vm, int nargs, char *err, size_t errlen)
{
	lua_State *L = vm->L;
	int base = lua_gettop(L) - nargs;
	int rc;

	lua_pushcfunction(L, traceback);
	lua_insert(L, base);
	running_vm = vm;
	vm->instructions = 0;
	rc = lua_pcall(L, nargs, 1, base);
	running_vm = NULL;
	lua_remove(L, base);
	if (rc != 0) {
		char line[1024];

		first_line(line, sizeof(line), lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		scenario_count_error(vm, lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		if (strstr(line, vm->s->path))
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
	luaL_openlibs(L);
	lua_pushlightuserdata(L, vm);
	lua_setfield(L, LUA_REGISTRYINDEX, "surge.vm");
	scenario_api_open(L);
	seed(vm);
	/* compiled traces never call hooks, so a runaway loop could only be stopped in the
	 * interpreter: scenarios are glue between requests, where the interpreter is plenty */
	luaJIT_setmode(L, 0, LUAJIT_MODE_ENGINE | LUAJIT_MODE_OFF);
	lua_sethook(L, count_hook, LUA_MASKCOUNT, SCENARIO_HOOK_INTERVAL);
	if (luaL_loadbuffer(L, scenario_prelude, sizeof(scenario_prelude) - 1, "=prelude") != 0 ||
	    run_chunk(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
	snprintf(chunk, sizeof(chunk), "@%s", s->path);
	if (luaL_loadbuffer(L, s->source, s->source_len, chunk) != 0) {
		first_line(err, errlen, lua_tostring(L, -1));
		goto fail;
	}
	if (run_chunk(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
	lua_getglobal(L, "_surge_classes");
	if (run_chunk(vm, 0, err, errlen) < 0)
		goto fail;
	lua_pop(L, 1);
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
	gen_thread_t *t = c->thread;
	scenario_user_t *u = calloc(1, sizeof(*u));
	uint32_t index = (uint32_t)(c - t->conns);

	if (!u)
		return NULL;
	u->co = lua_newthread(vm->L);
	u->ref = luaL_ref(vm->L, LUA_REGISTRYINDEX);
	lua_rawgeti(u->co, LUA_REGISTRYINDEX, vm->user_fn);
	/* users are numbered across threads the way connections interleave */
	lua_pushnumber(u->co, (double)index * t->run->thread_count + (uint32_t)t->id);
	lua_pushboolean(u->co, t->run->cfg.open_model);
	c->user = u;
	return u;
}

static void driver_release(gen_conn_t *c)
{
	scenario_vm_t *vm = c->thread->driver_state;
	scenario_user_t *u = c->user;

	if (!u)
		return;
	luaL_unref(vm->L, LUA_REGISTRYINDEX, u->ref);
	free(u);
	c->user = NULL;
}

/* The outcome of the user's request, as User:send receives it: status, body, headers, error
 * kind, milliseconds, and whether it succeeded (by its expect, else 200-399). */
static int push_response(lua_State *co, gen_conn_t *c)
{
	bool answered = !c->failed || c->parser.headers_done;

	lua_pushinteger(co, answered ? c->parser.status : 0);
	if (c->body)
		lua_pushlstring(co, c->body->data ? c->body->data : "", c->body->len);
	else
		lua_pushliteral(co, "");
	if (c->headers && answered)
		lua_pushlstring(co, c->headers->data, c->headers->len);
	else
		lua_pushliteral(co, "");
	if (c->failed)
		lua_pushstring(co, gen_error_kind_name(c->error));
	else
		lua_pushnil(co);
	lua_pushnumber(co, (double)(clock_now_ns() - c->sent_ns) / NS_PER_MS);
	lua_pushboolean(co, !c->counted_error);
	return 6;
}

static void driver_next(gen_conn_t *c)
{
	scenario_vm_t *vm = c->thread->driver_state;
	scenario_user_t *u = c->user;
	int nargs = 0, quiet = 0;

	if (!u) {
		if (!(u = user_new(vm, c))) {
			gen_conn_finish(c);
			return;
		}
		nargs = 2;
	} else if (u->awaiting) {
		u->awaiting = false;
		nargs = push_response(u->co, c);
	}
	for (;;) {
		const char *what;
		int rc;

		running_vm = vm;
		vm->current = c;
		vm->instructions = 0;
		rc = lua_resume(u->co, nargs);
		vm->current = NULL;
		running_vm = NULL;
		nargs = 0;
		if (rc != LUA_YIELD) {
			if (rc != 0)
				scenario_count_error(vm, lua_tostring(u->co, -1)
				                             ? lua_tostring(u->co, -1)
				                             : "error");
			/* the user's life ended: after on_stop when leaving, else by an error */
			if (!c->retire || gen_conn_iteration_done(c))
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
		if (c->retire && !u->leaving) {
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

static void driver_thread_stop(void *state)
{
	scenario_vm_t *vm = state;
	gen_thread_t *t = vm->thread;

	for (uint32_t i = 0; i < t->conn_count; i++) {
		free(t->conns[i].user); /* their coroutines go with the VM */
		t->conns[i].user = NULL;
	}
	scenario_vm_close(vm);
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
