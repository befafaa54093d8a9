/* scenario_api: the C functions behind the Lua API (the prelude wraps them): serializing a
 * request once into bytes the engine sends as they are (with --h2 into an HTTP/2 header
 * list beside them), checks, custom counters and trends, script errors, JSON (jansson), URL
 * encoding, UUIDs and a monotonic clock. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_alloc.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/http2_request.h"
#include "core/url.h"
#include "scenario/scenario_internal.h"

#define REQUEST_META   "surge.request"
#define REQUEST_MAX    (64u * 1024 * 1024)
#define JSON_DEPTH_MAX 64
#define NAME_FALLBACK  "(unnamed)"

/* ---- requests ---- */

gen_request_t *scenario_request_get(lua_State *L, int index)
{
	gen_request_t *r = lua_touserdata(L, index);

	if (!r || !lua_getmetatable(L, index))
		return NULL;
	luaL_getmetatable(L, REQUEST_META);
	if (!lua_rawequal(L, -1, -2))
		r = NULL;
	lua_pop(L, 2);
	return r;
}

static int request_gc(lua_State *L)
{
	gen_request_t *r = scenario_request_get(L, 1);

	if (r) {
		buf_free(&r->bytes);
		if (r->h2)
			http2_request_free(r->h2);
		free(r->h2);
		r->h2 = NULL;
	}
	return 0;
}

/* --h2: the request's header list too, from the same spec (what HTTP/2 forbids, such as a
 * Connection header, is the script's error): 0, or -EINVAL / -ENOMEM with why in err. */
static int prepare_h2(gen_request_t *r, const http_request_spec_t *spec, char *err, size_t errlen)
{
	int rc;

	if (!(r->h2 = malloc(sizeof(*r->h2)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r->body_len = spec->body_len;
	if ((rc = http2_request_build(spec, r->h2, err, errlen)) < 0)
		return rc;
	/* the script may drop the request once its user has an outcome, which a stream let go
	 * (a timeout) has while its HEADERS may still wait in nghttp2's queue */
	http2_request_copied_at_submit(r->h2);
	return 0;
}

/* Header table → "Name: value" lines in out (strings owned by the Lua stack, kept there). */
static int collect_headers(lua_State *L, int index, const char **out, int max, bool *has_ctype)
{
	int n = 0;

	if (lua_isnoneornil(L, index))
		return 0;
	luaL_checktype(L, index, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, index)) {
		const char *name, *value;

		if (lua_type(L, -2) != LUA_TSTRING || !(value = lua_tostring(L, -1)))
			return luaL_error(L, "headers: names and values must be strings");
		name = lua_tostring(L, -2);
		if (n == max)
			return luaL_error(L, "headers: at most %d", max);
		if (strcasecmp(name, "content-type") == 0)
			*has_ctype = true;
		lua_pushfstring(L, "%s: %s", name, value);
		out[n++] = lua_tostring(L, -1);
		lua_insert(L, -3); /* keep the line below the key/value pair */
		lua_pop(L, 1);
	}
	return n;
}

/* C.prepare(method, path_or_url, name, headers, body, content_type, timeout_s) */
static int expect_status(gen_request_t *r, lua_Number v)
{
	if (!(v >= 100 && v <= 599) || v != (int)v)
		return -1;
	r->expect[(int)v / 64] |= 1ULL << ((int)v % 64);
	return 0;
}

/* expect = 404 or { 200, 404 }: the statuses that count as success instead of 200-399. */
static int expect_statuses(lua_State *L, int index, gen_request_t *r)
{
	r->expect_given = true;
	if (lua_type(L, index) == LUA_TNUMBER)
		return expect_status(r, lua_tonumber(L, index));
	if (!lua_istable(L, index) || lua_objlen(L, index) == 0)
		return -1;
	for (int i = 1; i <= (int)lua_objlen(L, index); i++) {
		int rc;

		lua_rawgeti(L, index, i);
		rc = lua_type(L, -1) == LUA_TNUMBER ? expect_status(r, lua_tonumber(L, -1)) : -1;
		lua_pop(L, 1);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int api_prepare(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	const char *method = luaL_checkstring(L, 1);
	const char *path = luaL_checkstring(L, 2);
	const char *name = luaL_optstring(L, 3, path);
	size_t body_len = 0;
	const char *body = lua_isnoneornil(L, 5) ? NULL : luaL_checklstring(L, 5, &body_len);
	const char *ctype = luaL_optstring(L, 6, NULL);
	double timeout = luaL_optnumber(L, 7, 0);
	int expect = 8; /* a status, a list of statuses, or nil */
	const char *headers[GEN_MAX_HEADERS + 1];
	bool has_ctype = false;
	int count;
	const gen_config_t *cfg = vm->thread ? gen_thread_config(vm->thread) : NULL;
	const url_t *base = cfg ? &cfg->url : NULL;
	http_request_spec_t spec;
	url_t url;
	char err[200];
	gen_request_t *r;
	int rc;

	lua_settop(L, expect); /* what is pushed from here on stays above the arguments */
	count = collect_headers(L, 4, headers, GEN_MAX_HEADERS, &has_ctype);
	if (ctype && !has_ctype) {
		lua_pushfstring(L, "Content-Type: %s", ctype);
		headers[count++] = lua_tostring(L, -1);
	}
	if (strncmp(path, "http://", 7) == 0 || strncmp(path, "https://", 8) == 0) {
		if (url_parse(path, &url, err, sizeof(err)) < 0)
			return luaL_error(L, "URL '%s': %s", path, err);
		if (base && (strcmp(url.host, base->host) != 0 || url.port != base->port ||
		             url.tls != base->tls))
			return luaL_error(
			    L,
			    "'%s' is not on the run's host (one host per run: give it "
			    "with options.host or --host)",
			    path);
		path = url.target;
	} else if (path[0] != '/') {
		return luaL_error(L, "path '%s' must start with '/' or be a full URL", path);
	}
	r = lua_newuserdata(L, sizeof(*r));
	memset(r, 0, sizeof(*r));
	buf_init(&r->bytes, REQUEST_MAX);
	luaL_getmetatable(L, REQUEST_META);
	lua_setmetatable(L, -2);
	spec = (http_request_spec_t){
	    .method = method,
	    .host = base ? base->host : "localhost",
	    .port = base ? base->port : 80,
	    .tls = base ? base->tls : false,
	    .target = path,
	    .headers = headers,
	    .header_count = (size_t)count,
	    .body = body,
	    .body_len = body_len,
	    .has_body = body != NULL,
	};
	rc = http_request_build(&spec, &r->bytes);
	if (rc < 0)
		return luaL_error(L, "%s %s: %s", method, path,
		                  rc == -ENOBUFS ? "request larger than 64 MiB"
		                                 : "invalid request (method, path or headers)");
	if (cfg && cfg->h2 && prepare_h2(r, &spec, err, sizeof(err)) < 0)
		return luaL_error(L, "%s %s: %s", method, path, err);
	if (!lua_isnoneornil(L, expect) && expect_statuses(L, expect, r) < 0)
		return luaL_error(L, "expect: a status from 100 to 599, or a list of them");
	r->head = strcmp(method, "HEAD") == 0;
	r->timeout_ns = timeout > 0 ? (uint64_t)(fmin(timeout, 86400) * NS_PER_S) : 0;
	if (vm->thread) {
		int e = gen_driver_endpoint(vm->thread, method, name[0] ? name : NAME_FALLBACK);

		if (e < 0)
			return luaL_error(L, "out of memory");
		r->endpoint = (uint32_t)e;
	}
	return 1; /* the userdata, on top of the header lines */
}

/* ---- checks, metrics, errors ---- */

static int api_check(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	bool ok = lua_toboolean(L, 1);
	const char *name = luaL_optstring(L, 2, "check");
	gen_conn_t *c = vm->current;
	scenario_user_t *u = c ? gen_conn_user(c) : NULL;

	/* a failed check marks the user's last response, when it has sent one */
	if (vm->thread)
		gen_driver_check(vm->thread, u && u->sent ? c : NULL, name, ok);
	return 0;
}

static int api_counter(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	const char *name = luaL_checkstring(L, 1);
	double n = luaL_optnumber(L, 2, 1);

	if (vm->thread)
		gen_driver_counter(vm->thread, name, n);
	return 0;
}

static int api_trend(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	const char *name = luaL_checkstring(L, 1);
	double v = luaL_checknumber(L, 2);

	if (vm->thread)
		gen_driver_trend(vm->thread, name, v);
	return 0;
}

/* "FILE:LINE: message" — when the message itself names no place in the scenario file, the
 * innermost frame of the file in the traceback does. */
void scenario_count_error(scenario_vm_t *vm, const char *message)
{
	char line[GEN_NAME_MAX], where[160] = "";
	size_t n = strcspn(message, "\n");
	const char *path = vm->s->path;
	const char *frame = strstr(message, "\n\t");

	if (!vm->thread)
		return;
	while (frame && strncmp(frame + 2, path, strlen(path)) != 0)
		frame = strstr(frame + 2, "\n\t");
	if (frame && !memmem(message, n, path, strlen(path))) {
		size_t len = strspn(frame + 2 + strlen(path), ":0123456789");

		snprintf(where, sizeof(where), "%.*s: ", (int)(strlen(path) + len - 1), frame + 2);
		/* the API's own line says nothing to the script's author: the script's line does */
		if (strncmp(message, "prelude:", 8) == 0) {
			size_t digits = strspn(message + 8, "0123456789");

			if (digits && strncmp(message + 8 + digits, ": ", 2) == 0) {
				message += 10 + digits;
				n -= 10 + digits;
			}
		}
	}
	snprintf(line, sizeof(line), "%s%.*s", where, (int)n, message);
	/* a message may quote what a server sent (surge.json.decode's, a user's error(r.body)):
	 * the summary shows it on the terminal, escaped, never obeyed */
	echo_controls(line, sizeof(line));
	gen_driver_script_error(vm->thread, line);
}

/* C.script_error(err, what, fn): an error a user's function ended with, absorbed. After the
 * heap went past its limit the message names the function (what): "FILE:LINE: task 'x' of
 * user class 'y': the Lua heap reached ...", the line where the hook raised it, or (an
 * allocation refused) where the function is defined. */
static int api_script_error(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	const char *err = lua_tostring(L, 1);
	char line[GEN_NAME_MAX], heap[160];

	if (vm->heap_breached) {
		const char *what = luaL_optstring(L, 2, "a user");
		const char *at = err ? strstr(err, "the Lua heap reached") : NULL;
		lua_Debug ar = {0};

		scenario_heap_message(vm, heap, sizeof(heap));
		if (at && at - err >= 2 && strncmp(at - 2, ": ", 2) == 0) {
			snprintf(line, sizeof(line), "%.*s: %s: %s", (int)(at - 2 - err), err, what,
			         heap);
		} else {
			const char *file = vm->s->path;

			if (lua_isfunction(L, 3)) {
				lua_pushvalue(L, 3);
				if (lua_getinfo(L, ">S", &ar) && ar.source && ar.source[0] == '@')
					file = ar.source + 1;
			}
			snprintf(line, sizeof(line), "%s:%d: %s: %s", file, ar.linedefined, what,
			         heap);
		}
		scenario_count_error(vm, line);
	} else if (err && lua_type(L, 1) == LUA_TSTRING) {
		scenario_count_error(vm, err);
	} else {
		snprintf(line, sizeof(line), "(error object is a %s value)", luaL_typename(L, 1));
		scenario_count_error(vm, line);
	}
	scenario_vm_absorb(vm);
	return 0;
}

/* ---- small utilities ---- */

/* true while the current resume has run past the instruction limit, or an allocation past
 * the heap's limit was refused: the error must leave the script's code */
static int api_runaway(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);

	lua_pushboolean(L, vm->instructions > SCENARIO_INSTR_LIMIT || vm->heap_breached);
	return 1;
}

/* true once the run is over: users leave (scenario_vm_run_over) */
static int api_stopping(lua_State *L)
{
	lua_pushboolean(L, scenario_vm_run_over(scenario_vm_of(L)));
	return 1;
}

/* C.leave(): the user is leaving (no more orders to leave); false when there is no time
 * left for its on_stop (no grace, or stopped twice) */
static int api_leave(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	scenario_user_t *u = vm->current ? gen_conn_user(vm->current) : NULL;

	if (u)
		u->leaving = true;
	lua_pushboolean(L, scenario_vm_order(vm) != SCENARIO_HALT);
	return 1;
}

static int api_now(lua_State *L)
{
	lua_pushnumber(L, (double)clock_now_ns() / NS_PER_S);
	return 1;
}

static uint64_t next_random(scenario_vm_t *vm)
{
	uint64_t s1 = vm->rng[0];
	const uint64_t s0 = vm->rng[1];

	vm->rng[0] = s0;
	s1 ^= s1 << 23;
	vm->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
	return vm->rng[1] + s0;
}

static int api_uuid(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	uint64_t a = next_random(vm), b = next_random(vm);
	char out[40];

	a = (a & ~0xf000ULL) | 0x4000ULL;                        /* version 4 */
	b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; /* variant 10 */
	snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", (unsigned)(a >> 32),
	         (unsigned)(a >> 16) & 0xffff, (unsigned)a & 0xffff, (unsigned)(b >> 48),
	         (unsigned long long)(b & 0xffffffffffffULL));
	lua_pushstring(L, out);
	return 1;
}

static int api_urlencode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	luaL_Buffer b;

	luaL_buffinit(L, &b);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			luaL_addchar(&b, (char)ch);
		} else {
			char hex[4];

			snprintf(hex, sizeof(hex), "%%%02X", ch);
			luaL_addstring(&b, hex);
		}
	}
	luaL_pushresult(&b);
	return 1;
}

/* ---- JSON (jansson) ---- */

#define JSON_ARRAY_META "surge.json_array" /* marks a table as an array, even when empty */
#define JSON_BOX_META   "surge.json_box"

/* Lua → JSON without raising: an error is written to err and NULL returned, so nothing built
 * so far is lost to a longjmp. */
static json_t *to_json(lua_State *L, int index, int depth, char *err, size_t errlen);

static bool is_array(lua_State *L, int index, size_t *n)
{
	size_t count = 0;
	bool marked = false;

	*n = lua_objlen(L, index);
	if (lua_getmetatable(L, index)) {
		luaL_getmetatable(L, JSON_ARRAY_META);
		marked = lua_rawequal(L, -1, -2);
		lua_pop(L, 2);
	}
	if (marked)
		return true; /* surge.json.array(t), or decoded from a JSON array */
	if (*n == 0)
		return false;
	lua_pushnil(L);
	while (lua_next(L, index)) {
		lua_pop(L, 1);
		count++;
	}
	return count == *n;
}

static json_t *table_to_json(lua_State *L, int index, int depth, char *err, size_t errlen)
{
	size_t n;
	json_t *out;

	if (is_array(L, index, &n)) {
		out = json_array();
		for (size_t i = 1; out && i <= n; i++) {
			json_t *v;

			lua_rawgeti(L, index, (int)i);
			v = to_json(L, lua_gettop(L), depth + 1, err, errlen);
			lua_pop(L, 1);
			if (!v || json_array_append_new(out, v) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	out = json_object();
	lua_pushnil(L);
	while (out && lua_next(L, index)) {
		char key[64];
		const char *k;
		json_t *v = NULL;

		if (lua_type(L, -2) == LUA_TSTRING) {
			k = lua_tostring(L, -2);
		} else if (lua_type(L, -2) == LUA_TNUMBER) {
			snprintf(key, sizeof(key), "%.15g", lua_tonumber(L, -2));
			k = key;
		} else {
			k = NULL;
			snprintf(err, errlen, "json: table keys must be strings or numbers");
		}
		if (k && (v = to_json(L, lua_gettop(L), depth + 1, err, errlen)) &&
		    json_object_set_new(out, k, v) < 0) {
			snprintf(err, errlen, "json: cannot add key '%.40s'", k);
			v = NULL; /* freed by jansson */
		}
		lua_pop(L, 1);
		if (!v) {
			lua_pop(L, 1); /* the key lua_next left */
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static json_t *to_json(lua_State *L, int index, int depth, char *err, size_t errlen)
{
	if (depth > JSON_DEPTH_MAX) {
		snprintf(err, errlen, "json: nested deeper than %d (a cycle?)", JSON_DEPTH_MAX);
		return NULL;
	}
	switch (lua_type(L, index)) {
	case LUA_TNIL: return json_null();
	case LUA_TBOOLEAN: return json_boolean(lua_toboolean(L, index));
	case LUA_TNUMBER: {
		double d = lua_tonumber(L, index);

		if (!isfinite(d)) {
			snprintf(err, errlen, "json: %f has no JSON form", d);
			return NULL;
		}
		if (d == floor(d) && fabs(d) < 9007199254740992.0)
			return json_integer((json_int_t)d);
		return json_real(d);
	}
	case LUA_TSTRING: {
		size_t len;
		const char *s = lua_tolstring(L, index, &len);

		return json_stringn_nocheck(s, len);
	}
	case LUA_TTABLE:
		if (!lua_checkstack(L, 4)) {
			snprintf(err, errlen, "json: nested too deep");
			return NULL;
		}
		return table_to_json(L, index, depth, err, errlen);
	case LUA_TLIGHTUSERDATA:
		if (!lua_touserdata(L, index))
			return json_null(); /* surge.null */
		                            /* fallthrough */
	default:
		snprintf(err, errlen, "json: cannot encode a %s", luaL_typename(L, index));
		return NULL;
	}
}

/* What jansson holds while Lua code may raise (growing the stack or a string past the heap's
 * limit raises): kept in a userdata whose __gc frees it, so a longjmp leaks nothing. */
typedef struct json_box {
	json_t *json;
	char *text;
} json_box_t;

static void json_box_empty(json_box_t *box)
{
	json_decref(box->json);
	free(box->text);
	box->json = NULL;
	box->text = NULL;
}

static int json_box_gc(lua_State *L)
{
	json_box_empty(lua_touserdata(L, 1));
	return 0;
}

/* A new empty box on the stack (created before anything is allocated outside Lua). */
static json_box_t *json_box(lua_State *L)
{
	json_box_t *box = lua_newuserdata(L, sizeof(*box));

	box->json = NULL;
	box->text = NULL;
	luaL_getmetatable(L, JSON_BOX_META);
	lua_setmetatable(L, -2);
	return box;
}

static int api_json_encode(lua_State *L)
{
	char err[160] = "json: out of memory";
	json_box_t *box;

	luaL_checkany(L, 1);
	lua_settop(L, 1);
	box = json_box(L);
	box->json = to_json(L, 1, 0, err, sizeof(err));
	box->text = box->json ? json_dumps(box->json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	if (!box->text) {
		json_box_empty(box);
		return luaL_error(L, "%s", err);
	}
	lua_pushstring(L, box->text);
	json_box_empty(box);
	return 1;
}

static void push_json(lua_State *L, json_t *j, int depth)
{
	luaL_checkstack(L, 4, "json");
	if (depth > JSON_DEPTH_MAX * 4) {
		lua_pushnil(L);
		return;
	}
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *v;

		lua_createtable(L, 0, (int)json_object_size(j));
		json_object_foreach(j, k, v)
		{
			push_json(L, v, depth + 1);
			lua_setfield(L, -2, k);
		}
		break;
	}
	case JSON_ARRAY:
		lua_createtable(L, (int)json_array_size(j), 0);
		luaL_getmetatable(L, JSON_ARRAY_META); /* re-encodes as an array, even empty */
		lua_setmetatable(L, -2);
		for (size_t i = 0; i < json_array_size(j); i++) {
			push_json(L, json_array_get(j, i), depth + 1);
			lua_rawseti(L, -2, (int)i + 1);
		}
		break;
	case JSON_STRING: lua_pushlstring(L, json_string_value(j), json_string_length(j)); break;
	case JSON_INTEGER: lua_pushnumber(L, (double)json_integer_value(j)); break;
	case JSON_REAL: lua_pushnumber(L, json_real_value(j)); break;
	case JSON_TRUE: lua_pushboolean(L, 1); break;
	case JSON_FALSE: lua_pushboolean(L, 0); break;
	case JSON_NULL: lua_pushlightuserdata(L, NULL); break;
	}
}

static int api_json_decode(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	json_box_t *box = json_box(L);
	unsigned long refused = json_alloc_failures();
	json_error_t e;

	box->json =
	    json_loadb(s, len, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL, &e);
	if (json_alloc_failures() != refused) /* not the text's fault (core/json_alloc.h) */
		return luaL_error(L, "json: out of memory");
	if (!box->json)
		return luaL_error(L, "json: %s (line %d, column %d)", e.text, e.line, e.column);
	push_json(L, box->json, 0);
	json_box_empty(box);
	return 1;
}

void scenario_api_open(lua_State *L)
{
	static const luaL_Reg fns[] = {
	    {"prepare", api_prepare},
	    {"check", api_check},
	    {"counter", api_counter},
	    {"trend", api_trend},
	    {"script_error", api_script_error},
	    {"now", api_now},
	    {"runaway", api_runaway},
	    {"stopping", api_stopping},
	    {"leave", api_leave},
	    {"uuid", api_uuid},
	    {"urlencode", api_urlencode},
	    {"json_encode", api_json_encode},
	    {"json_decode", api_json_decode},
	    {"csv", scenario_csv_open},
	    {NULL, NULL},
	};

	luaL_newmetatable(L, JSON_ARRAY_META);
	lua_pop(L, 1);
	luaL_newmetatable(L, JSON_BOX_META);
	lua_pushcfunction(L, json_box_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_newmetatable(L, REQUEST_META);
	lua_pushcfunction(L, request_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_newtable(L);
	luaL_register(L, NULL, fns);
	lua_pushlightuserdata(L, NULL);
	lua_setfield(L, -2, "null");
	luaL_getmetatable(L, JSON_ARRAY_META);
	lua_setfield(L, -2, "json_array_meta");
	lua_setglobal(L, "_surge_c");
}
