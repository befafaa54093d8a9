/* scenario_classes: the file's user classes and the weights a run deals its users by — read
 * once from the VM that checks the file at load, changed (for the live UI's Start) before the
 * run's VMs open, and handed to each of them (the prelude's _surge_set_weights), so every
 * generator thread deals users to classes by the same weights, the same way. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/echo.h"
#include "scenario/scenario_internal.h"

int scenario_classes_read(scenario_vm_t *vm, char *err, size_t errlen)
{
	scenario_t *s = vm->s;
	lua_State *L = vm->L;
	int count, rc = 0;

	lua_getglobal(L, "_surge_class_list");
	if (scenario_vm_call(vm, 0, err, errlen) < 0)
		return -EINVAL;
	count = (int)lua_objlen(L, -1);
	if (count > SCENARIO_CLASSES_MAX) {
		snprintf(err, errlen, "%s: %d user classes: at most %d", s->path, count,
		         SCENARIO_CLASSES_MAX);
		rc = -E2BIG;
	} else if (!(s->classes = calloc((size_t)count + 1, sizeof(*s->classes)))) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	for (int i = 1; rc == 0 && i <= count; i++) {
		scenario_class_t *c = &s->classes[s->class_count];
		const char *name;
		size_t len;

		lua_rawgeti(L, -1, i);
		lua_rawgeti(L, -1, 1);
		lua_rawgeti(L, -2, 2);
		name = lua_tolstring(L, -2, &len); /* the prelude made it a string */
		name = name ? name : "";
		c->weight = lua_tonumber(L, -1);
		if (len > SCENARIO_CLASS_NAME_MAX) {
			snprintf(err, errlen, "%s: user class '%s': a name of at most %d bytes",
			         s->path, ECHO(name), SCENARIO_CLASS_NAME_MAX);
			rc = -E2BIG;
		} else if (!(c->name = strdup(name))) {
			snprintf(err, errlen, "out of memory");
			rc = -ENOMEM;
		} else {
			s->class_count++;
		}
		lua_pop(L, 3);
	}
	lua_pop(L, 1);
	return rc;
}

void scenario_classes_free(scenario_t *s)
{
	for (size_t i = 0; i < s->class_count; i++)
		free((char *)s->classes[i].name);
	free(s->classes);
	s->classes = NULL;
	s->class_count = 0;
}

size_t scenario_classes(const scenario_t *s, const scenario_class_t **out)
{
	*out = s->classes;
	return s->class_count;
}

static int class_index(const scenario_t *s, const char *name)
{
	for (size_t i = 0; i < s->class_count; i++)
		if (strcmp(s->classes[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* "Browse, Buy" (cut to fit out): the names an unknown one is told about. */
static void class_names(const scenario_t *s, char *out, size_t cap)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->class_count && len < cap; i++)
		len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? ", " : "",
		                        ECHO(s->classes[i].name));
	if (len >= cap && cap > 4)
		memcpy(out + cap - 4, "...", 4);
}

int scenario_set_weights(scenario_t *s, const scenario_class_t *weights, size_t n, char *err,
                         size_t errlen)
{
	bool any = false;

	for (size_t i = 0; i < n; i++) {
		double w = weights[i].weight;

		if (class_index(s, weights[i].name) < 0) {
			char known[300];

			class_names(s, known, sizeof(known));
			snprintf(err, errlen, "classes: no user class '%s' in %s (it has: %s)",
			         ECHO(weights[i].name), s->path, known);
			return -EINVAL;
		}
		if (!(w >= 0 && w <= SCENARIO_WEIGHT_MAX)) {
			snprintf(
			    err, errlen,
			    "classes: the weight of '%s' must be a number from 0 (left out) to %g",
			    ECHO(weights[i].name), SCENARIO_WEIGHT_MAX);
			return -EINVAL;
		}
	}
	/* the weights as they would be: one class at least must have users */
	for (size_t c = 0; c < s->class_count && !any; c++) {
		double w = s->classes[c].weight;

		for (size_t i = 0; i < n; i++)
			if (strcmp(weights[i].name, s->classes[c].name) == 0)
				w = weights[i].weight;
		any = w > 0;
	}
	if (!any) {
		snprintf(err, errlen, "classes: every weight is 0: at least one class must run");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		s->classes[class_index(s, weights[i].name)].weight = weights[i].weight;
	s->weights_set = true;
	return 0;
}

int scenario_classes_apply(scenario_vm_t *vm, char *err, size_t errlen)
{
	const scenario_t *s = vm->s;
	lua_State *L = vm->L;

	if (!s->weights_set)
		return 0;
	lua_getglobal(L, "_surge_set_weights");
	lua_createtable(L, (int)s->class_count, 0);
	for (size_t i = 0; i < s->class_count; i++) {
		lua_pushnumber(L, s->classes[i].weight);
		lua_rawseti(L, -2, (int)i + 1);
	}
	if (scenario_vm_call(vm, 1, err, errlen) < 0)
		return -EINVAL;
	lua_pop(L, 1);
	return 0;
}
