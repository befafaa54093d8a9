/* scenario_data: CSV feeders. `surge.csv(path)` reads a file once per scenario (every thread's
 * VM shares the parsed rows, guarded at load by a lock and immutable after), and gives a
 * feeder: next() cycles through the rows with one position shared by every user, random()
 * picks one, row(i) reads one, and # counts them. RFC 4180: quotes, doubled quotes, commas
 * and newlines inside quotes, CRLF; the first line names the columns. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario/scenario_internal.h"

#define FEEDER_META "surge.feeder"
#define CSV_COLS    1024

typedef struct feeder {
	scenario_csv_t *csv;
} feeder_t;

/* Splits text into cells in place; 0, or -EINVAL with the line of the problem. */
int scenario_csv_parse(scenario_csv_t *c, char *text, size_t len, char *err, size_t errlen)
{
	size_t cap = 0, count = 0, line = 1;
	uint32_t col = 0;
	char **cells = NULL;
	size_t i = 0;
	bool field_due = false; /* a ',' was the last byte: one more (empty) field ends the line */

	c->cols = 0;
	while (i < len || field_due) {
		char *out = text + i, *start = out;
		bool quoted = i < len && text[i] == '"';

		field_due = false;
		if (quoted)
			i++;
		for (; i < len; i++) {
			char ch = text[i];

			if (quoted) {
				if (ch == '"' && i + 1 < len && text[i + 1] == '"') {
					*out++ = '"';
					i++;
				} else if (ch == '"') {
					quoted = false;
				} else {
					line += ch == '\n';
					*out++ = ch;
				}
			} else if (ch == ',' || ch == '\n' || ch == '\r') {
				break;
			} else {
				*out++ = ch;
			}
		}
		if (quoted) {
			snprintf(err, errlen, "line %zu: a quoted field is not closed", line);
			free(cells);
			return -EINVAL;
		}
		if (count == cap) {
			char **n = realloc(cells, (cap = cap ? cap * 2 : 64) * sizeof(*n));

			if (!n) {
				free(cells);
				return -ENOMEM;
			}
			cells = n;
		}
		cells[count++] = start;
		col++;
		if (col > CSV_COLS) {
			snprintf(err, errlen, "line %zu: more than %d columns", line, CSV_COLS);
			free(cells);
			return -EINVAL;
		}
		{
			char sep = i < len ? text[i] : '\n';

			*out = '\0'; /* the separator (or a dropped quote) is behind out */
			if (sep == '\r' && i + 1 < len && text[i + 1] == '\n')
				i++;
			i++;
			if (sep == ',') {
				field_due = true;
				continue;
			}
		}
		/* end of a line */
		if (c->cols == 0) {
			c->cols = col;
		} else if (col == 1 && start[0] == '\0') {
			count--; /* a blank line */
		} else if (col != c->cols) {
			snprintf(err, errlen, "line %zu: %u fields, the header has %u", line, col,
			         c->cols);
			free(cells);
			return -EINVAL;
		}
		col = 0;
		line++;
	}
	if (c->cols == 0 || count / c->cols < 2) {
		snprintf(err, errlen, "needs a header line and at least one row");
		free(cells);
		return -EINVAL;
	}
	c->cells = cells;
	c->rows = (uint32_t)(count / c->cols);
	return 0;
}

/* The file's parsed rows, loaded on first use; NULL with a message. */
static scenario_csv_t *csv_get(scenario_t *s, const char *name, char *err, size_t errlen)
{
	char path[4096];
	scenario_csv_t *c = NULL;
	char *text = NULL;
	FILE *f = NULL;
	size_t n;

	snprintf(path, sizeof(path), "%s%s", name[0] == '/' ? "" : s->dir, name);
	pthread_mutex_lock(&s->csv_lock);
	for (uint32_t i = 0; i < s->csv_count; i++)
		if (strcmp(s->csv[i]->path, path) == 0) {
			c = s->csv[i];
			goto out;
		}
	if (s->csv_count == SCENARIO_CSV_FILES) {
		snprintf(err, errlen, "more than %d data files", SCENARIO_CSV_FILES);
		goto out;
	}
	if (!(f = fopen(path, "rb"))) {
		snprintf(err, errlen, "%.300s: %s", path, strerror(errno));
		goto out;
	}
	text = malloc(SCENARIO_CSV_MAX + 1);
	c = calloc(1, sizeof(*c));
	if (!text || !c || !(c->path = strdup(path))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	n = fread(text, 1, SCENARIO_CSV_MAX + 1, f);
	if (n > SCENARIO_CSV_MAX) {
		snprintf(err, errlen, "%.300s: larger than %u bytes", path, SCENARIO_CSV_MAX);
		goto fail;
	}
	text[n] = '\0';
	if (scenario_csv_parse(c, text, n, err, errlen) < 0) {
		char why[256];

		snprintf(why, sizeof(why), "%.250s", err);
		snprintf(err, errlen, "%.200s: %.250s", path, why);
		goto fail;
	}
	/* the cells point into text, which the csv now owns through cells[0] */
	s->csv[s->csv_count++] = c;
	text = NULL;
	goto out;
fail:
	if (c)
		free(c->path);
	free(c);
	c = NULL;
out:
	free(text);
	if (f)
		fclose(f);
	pthread_mutex_unlock(&s->csv_lock);
	return c;
}

void scenario_csv_free_all(scenario_t *s)
{
	for (uint32_t i = 0; i < s->csv_count; i++) {
		free(s->csv[i]->cells[0]); /* the text the cells point into */
		free(s->csv[i]->cells);
		free(s->csv[i]->path);
		free(s->csv[i]);
	}
	s->csv_count = 0;
}

static scenario_csv_t *check_feeder(lua_State *L)
{
	return ((feeder_t *)luaL_checkudata(L, 1, FEEDER_META))->csv;
}

/* Row i (1-based) as a table keyed by the header's names. */
static int push_row(lua_State *L, scenario_csv_t *c, uint64_t i)
{
	char **row = c->cells + (size_t)i * c->cols;

	lua_createtable(L, 0, (int)c->cols);
	for (uint32_t k = 0; k < c->cols; k++) {
		lua_pushstring(L, row[k]);
		lua_setfield(L, -2, c->cells[k]);
	}
	return 1;
}

static int feeder_next(lua_State *L)
{
	scenario_csv_t *c = check_feeder(L);
	uint64_t n = atomic_fetch_add(&c->cursor, 1);

	return push_row(L, c, 1 + n % (c->rows - 1));
}

/* A row from math.random, so that math.randomseed makes it repeatable. A script may replace
 * math.random: what it gives back is checked like row(i)'s argument, never used blindly. */
static int feeder_random(lua_State *L)
{
	scenario_csv_t *c = check_feeder(L);
	lua_Number i;

	lua_getglobal(L, "math");
	lua_getfield(L, -1, "random");
	lua_pushnumber(L, c->rows - 1);
	lua_call(L, 1, 1);
	i = lua_tonumber(L, -1);
	if (!(i >= 1 && i < (lua_Number)c->rows))
		return luaL_error(L,
		                  "%s: random(): math.random(%u) gave %f, not a row from 1 to %u",
		                  c->path, c->rows - 1, i, c->rows - 1);
	return push_row(L, c, (uint64_t)i);
}

static int feeder_row(lua_State *L)
{
	scenario_csv_t *c = check_feeder(L);
	lua_Number i = luaL_checknumber(L, 2);

	if (!(i >= 1 && i <= c->rows - 1))
		return luaL_error(L, "%s: row %f: there are %u rows", c->path, i, c->rows - 1);
	return push_row(L, c, (uint64_t)i);
}

static int feeder_len(lua_State *L)
{
	lua_pushnumber(L, check_feeder(L)->rows - 1);
	return 1;
}

int scenario_csv_open(lua_State *L)
{
	scenario_vm_t *vm = scenario_vm_of(L);
	const char *name = luaL_checkstring(L, 1);
	char err[512] = "";
	scenario_csv_t *c = csv_get(vm->s, name, err, sizeof(err));
	feeder_t *f;

	if (!c)
		return luaL_error(L, "surge.csv: %s", err);
	f = lua_newuserdata(L, sizeof(*f));
	f->csv = c;
	if (luaL_newmetatable(L, FEEDER_META)) {
		static const luaL_Reg methods[] = {
		    {"next", feeder_next},
		    {"random", feeder_random},
		    {"row", feeder_row},
		    {NULL, NULL},
		};

		lua_newtable(L);
		luaL_register(L, NULL, methods);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, feeder_len);
		lua_setfield(L, -2, "__len");
	}
	lua_setmetatable(L, -2);
	return 1;
}
