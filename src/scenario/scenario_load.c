/* scenario_load: reading a scenario file once, up front — it must compile, run its top level
 * and declare users, all in a throwaway VM, so a broken file stops `surge run` with exit 2 and
 * FILE:LINE before any load is sent — and turning its `options = {...}` into command-line
 * options that the real command line then overrides. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/echo.h"
#include "scenario/scenario_internal.h"

/* options = { key = value } → `surge run` long options; tables are joined the CLI's way. */
static const struct {
	const char *key;
	const char *option;
} option_names[] = {
    {"host", "host"},
    {"users", "users"},
    {"spawn_rate", "spawn-rate"},
    {"stages", "stages"},
    {"rate", "rate"},
    {"profile", "profile"},
    {"duration", "duration"},
    {"thresholds", "threshold"},
    {"threads", "threads"},
    {"timeout", "timeout"},
    {"model", "model"},
    {"max_queue", "max-queue"},
    {"requests", "requests"},
    {"connections", "connections"},
    {"graceful_stop", "graceful-stop"},
    {"script_memory", "script-memory"},
};

static int add_option(scenario_t *s, const char *key, const char *name, const char *value,
                      char *err, size_t errlen)
{
	char *v;

	if (s->option_count == SCENARIO_MAX_OPTIONS) {
		snprintf(err, errlen, "%s: too many options (at most %d)", s->path,
		         SCENARIO_MAX_OPTIONS);
		return -E2BIG;
	}
	if (!(v = strdup(value))) {
		snprintf(err, errlen, "%s: out of memory reading its options", s->path);
		return -ENOMEM;
	}
	s->options[s->option_count].key = key;
	s->options[s->option_count].name = name;
	s->options[s->option_count].value = v;
	s->option_count++;
	return 0;
}

/* The value at the top of the stack as the command line would write it. */
static int option_text(lua_State *L, char *out, size_t cap)
{
	if (lua_type(L, -1) == LUA_TNUMBER) {
		snprintf(out, cap, "%.15g", lua_tonumber(L, -1));
		return 0;
	}
	if (lua_type(L, -1) == LUA_TSTRING) {
		snprintf(out, cap, "%s", lua_tostring(L, -1));
		return 0;
	}
	if (lua_type(L, -1) == LUA_TBOOLEAN) {
		snprintf(out, cap, "%s", lua_toboolean(L, -1) ? "true" : "false");
		return 0;
	}
	return -EINVAL;
}

/* stages = "30s:10,1m:50" or { {"30s", 10}, {"1m", 50} } or { {duration="30s", target=10} } */
static int stages_text(lua_State *L, char *out, size_t cap)
{
	size_t len = 0;
	int n = (int)lua_objlen(L, -1);

	out[0] = '\0';
	for (int i = 1; i <= n; i++) {
		char d[64], v[64];

		lua_rawgeti(L, -1, i);
		if (!lua_istable(L, -1)) {
			lua_pop(L, 1);
			return -EINVAL;
		}
		lua_rawgeti(L, -1, 1);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_getfield(L, -1, "duration");
		}
		if (option_text(L, d, sizeof(d)) < 0) {
			lua_pop(L, 2);
			return -EINVAL;
		}
		lua_pop(L, 1);
		lua_rawgeti(L, -1, 2);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_getfield(L, -1, "target");
		}
		if (option_text(L, v, sizeof(v)) < 0) {
			lua_pop(L, 2);
			return -EINVAL;
		}
		lua_pop(L, 2);
		len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, "%s%s:%s",
		                        i > 1 ? "," : "", d, v);
		if (len >= cap)
			return -E2BIG;
	}
	return 0;
}

static int read_option(scenario_t *s, lua_State *L, const char *key, const char *name, char *err,
                       size_t errlen)
{
	char text[4096];
	int rc;

	if (strcmp(key, "thresholds") == 0) {
		int n;

		if (!lua_istable(L, -1))
			goto bad;
		n = (int)lua_objlen(L, -1);
		for (int i = 1; i <= n; i++) {
			lua_rawgeti(L, -1, i);
			rc = option_text(L, text, sizeof(text));
			lua_pop(L, 1);
			if (rc < 0)
				goto bad;
			if ((rc = add_option(s, "thresholds", name, text, err, errlen)) < 0)
				return rc;
		}
		return 0;
	}
	if (strcmp(key, "stages") == 0 && lua_istable(L, -1))
		rc = stages_text(L, text, sizeof(text));
	else
		rc = option_text(L, text, sizeof(text));
	if (rc < 0)
		goto bad;
	return add_option(s, key, name, text, err, errlen);
bad:
	snprintf(err, errlen, "%s: options.%s: %s", s->path, key,
	         strcmp(key, "thresholds") == 0 ? "expected a list of strings like 'p95<200ms'"
	         : strcmp(key, "stages") == 0
	             ? "expected \"30s:10,1m:50\" or { {\"30s\", 10}, ... }"
	             : "expected a number or a string");
	return -EINVAL;
}

static int read_options(scenario_t *s, lua_State *L, char *err, size_t errlen)
{
	int rc = 0;

	lua_getglobal(L, "options");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	if (!lua_istable(L, -1)) {
		snprintf(err, errlen, "%s: options must be a table", s->path);
		lua_pop(L, 1);
		return -EINVAL;
	}
	lua_pushnil(L);
	while (rc == 0 && lua_next(L, -2)) {
		const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
		size_t i;

		for (i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++)
			if (strcmp(option_names[i].key, key) == 0)
				break;
		if (i == sizeof(option_names) / sizeof(option_names[0])) {
			snprintf(
			    err, errlen,
			    "%s: options.%s: unknown option (known: host users spawn_rate stages "
			    "rate profile duration thresholds threads timeout model max_queue "
			    "requests connections graceful_stop)",
			    s->path, key);
			rc = -EINVAL;
		} else {
			rc = read_option(s, L, option_names[i].key, option_names[i].option, err,
			                 errlen);
		}
		lua_pop(L, 1);
	}
	if (rc != 0)
		lua_pop(L, 1); /* the key lua_next left */
	lua_pop(L, 1);
	return rc;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("");
}

scenario_t *scenario_load(const char *path, char *err, size_t errlen)
{
	scenario_t *s = calloc(1, sizeof(*s));
	scenario_vm_t *vm;
	struct stat st;
	int read_error;
	FILE *f;
	size_t n;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&s->csv_lock, NULL);
	s->path = strdup(path);
	s->dir = dir_of(path);
	s->source = malloc(SCENARIO_FILE_MAX + 1);
	if (!s->path || !s->dir || !s->source) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	s->heap_limit = SCENARIO_HEAP_DEFAULT;
	if (!(f = fopen(path, "rb"))) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	/* a directory opens, then reads as an error (or nothing), not as an empty scenario */
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		snprintf(err, errlen, "%s: is a directory, not a scenario file", path);
		goto fail;
	}
	n = fread(s->source, 1, SCENARIO_FILE_MAX + 1, f);
	read_error = ferror(f) ? errno : 0;
	fclose(f);
	if (read_error) {
		snprintf(err, errlen, "%s: %s", path, strerror(read_error));
		goto fail;
	}
	if (n > SCENARIO_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %u bytes", path, SCENARIO_FILE_MAX);
		goto fail;
	}
	s->source[n] = '\0';
	s->source_len = n;
	/* a VM of its own proves the file compiles, runs and declares users */
	if (!(vm = scenario_vm_open(s, NULL, err, errlen)))
		goto fail;
	if (read_options(s, vm->L, err, errlen) < 0 || scenario_classes_read(vm, err, errlen) < 0) {
		scenario_vm_close(vm);
		goto fail;
	}
	scenario_vm_close(vm);
	return s;
fail:
	/* the message may quote the file, its path or what its Lua said: one line, shown */
	echo_controls(err, errlen);
	scenario_free(s);
	return NULL;
}

void scenario_free(scenario_t *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->option_count; i++)
		free((char *)s->options[i].value);
	scenario_csv_free_all(s);
	scenario_classes_free(s);
	pthread_mutex_destroy(&s->csv_lock);
	free(s->path);
	free(s->dir);
	free(s->source);
	free(s);
}

size_t scenario_options(const scenario_t *s, const scenario_option_t **out)
{
	*out = s->options;
	return s->option_count;
}

const char *scenario_path(const scenario_t *s)
{
	return s->path;
}

const char *scenario_source(const scenario_t *s, size_t *len)
{
	*len = s->source_len;
	return s->source;
}

/* Whether a relative path has a ".." component. */
static bool climbs(const char *p)
{
	for (const char *c = p; *c; c = strchr(c, '/') ? strchr(c, '/') + 1 : c + strlen(c))
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return true;
	return false;
}

size_t scenario_data_files(const scenario_t *s, const char **names, size_t max,
                           const char **outside)
{
	size_t dir_len = strlen(s->dir), n = 0;

	*outside = NULL;
	for (uint32_t i = 0; i < s->csv_count && n < max; i++) {
		const char *p = s->csv[i]->path;

		if (strncmp(p, s->dir, dir_len) != 0 || p[dir_len] == '/' || climbs(p + dir_len)) {
			*outside = p; /* absolute (csv_get keeps those as given), or climbing out */
			continue;
		}
		names[n++] = p + dir_len;
	}
	return n;
}

const char *scenario_option_key(const char *option)
{
	for (size_t i = 0; i < sizeof(option_names) / sizeof(option_names[0]); i++)
		if (strcmp(option_names[i].option, option) == 0)
			return option_names[i].key;
	return NULL;
}

void scenario_set_heap_limit(scenario_t *s, size_t bytes)
{
	s->heap_limit = bytes;
}
