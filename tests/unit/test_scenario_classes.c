/* A scenario's user classes and the weights a run deals its users by (scenario_classes,
 * scenario_set_weights): the file's, listed; changed before a run, with bad changes refused
 * and nothing changed; and the deal of a VM opened afterwards — as a run's generator threads
 * open theirs — following the new weights exactly, user by user. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "scenario/scenario_internal.h"
#include "test.h"

static const char shop[] = "users = {\n"
                           "  Shopper = { weight = 3, tasks = { function(u) end } },\n"
                           "  Admin = { weight = 1, tasks = { function(u) end } },\n"
                           "  Guest = { weight = 2.4, tasks = { function(u) end } },\n"
                           "}\n";

typedef struct scenario_file {
	char dir[32];
	char path[64];
} scenario_file_t;

static scenario_t *load(scenario_file_t *f, const char *text)
{
	char err[512];
	scenario_t *s;
	FILE *out;

	snprintf(f->dir, sizeof(f->dir), "/tmp/surge-unit-XXXXXX");
	if (!mkdtemp(f->dir))
		return NULL;
	snprintf(f->path, sizeof(f->path), "%s/shop.lua", f->dir);
	if (!(out = fopen(f->path, "w")))
		return NULL;
	fputs(text, out);
	fclose(out);
	s = scenario_load(f->path, err, sizeof(err));
	if (!s)
		fprintf(stdout, "    %s\n", err);
	return s;
}

static void unload(scenario_file_t *f, scenario_t *s)
{
	scenario_free(s);
	unlink(f->path);
	rmdir(f->dir);
}

/* The classes a VM of s deals users 0..n-1 to, as one letter each ("SASS..."). */
static void deal(scenario_t *s, int n, char *out)
{
	char err[512];
	scenario_vm_t *vm = scenario_vm_open(s, NULL, err, sizeof(err));

	out[0] = '\0';
	if (!vm) {
		test_fail(__FILE__, __LINE__, "scenario_vm_open: %s", err);
		return;
	}
	for (int id = 0; id < n; id++) {
		lua_getglobal(vm->L, "_surge_class_of");
		lua_pushinteger(vm->L, id);
		lua_call(vm->L, 1, 1);
		out[id] = lua_tostring(vm->L, -1)[0];
		lua_pop(vm->L, 1);
	}
	out[n] = '\0';
	scenario_vm_close(vm);
}

TEST(scenario_classes_are_the_files_with_their_weights)
{
	scenario_file_t f;
	scenario_t *s = load(&f, shop);
	const scenario_class_t *c;
	char dealt[16];

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(scenario_classes(s, &c), 3);
	CHECK_STR(c[0].name, "Admin"); /* by name: the order users are dealt in */
	CHECK_STR(c[1].name, "Guest");
	CHECK_STR(c[2].name, "Shopper");
	CHECK(c[0].weight == 1 && c[1].weight == 2.4 && c[2].weight == 3);
	/* the file's weights as docs/scenarios.md deals them: 1, 2 (2.4 rounded) and 3, the
	 * heavier first, the same cycle of 6 again */
	deal(s, 12, dealt);
	CHECK_STR(dealt, "SGASGSSGASGS");
	unload(&f, s);
}

TEST(scenario_set_weights_deals_users_by_them)
{
	scenario_file_t f;
	scenario_t *s = load(&f, shop);
	const scenario_class_t *c;
	char err[512], dealt[16];

	CHECK(s != NULL);
	if (!s)
		return;
	/* Guest left out, Admin 2 and Shopper 1 (the file's 3 changed): A S A, again */
	CHECK(scenario_set_weights(s,
	                           (scenario_class_t[]){{"Guest", 0}, {"Admin", 2}, {"Shopper", 1}},
	                           3, err, sizeof(err)) == 0);
	CHECK_INT(scenario_classes(s, &c), 3);
	CHECK(c[0].weight == 2 && c[1].weight == 0 && c[2].weight == 1);
	deal(s, 9, dealt);
	CHECK_STR(dealt, "ASAASAASA");
	/* a class not named keeps its weight; one left alone gets every user */
	CHECK(scenario_set_weights(s, (scenario_class_t[]){{"Admin", 0}}, 1, err, sizeof(err)) ==
	      0);
	deal(s, 5, dealt);
	CHECK_STR(dealt, "SSSSS");
	/* a fraction rounds as the file's weights do, to a whole number, at least 1 */
	CHECK(scenario_set_weights(s, (scenario_class_t[]){{"Admin", 0.2}, {"Shopper", 2.6}}, 2,
	                           err, sizeof(err)) == 0);
	deal(s, 8, dealt);
	CHECK_STR(dealt, "SASSSASS");
	unload(&f, s);
}

TEST(scenario_set_weights_refuses_bad_ones_and_changes_nothing)
{
	static const struct {
		scenario_class_t w[2];
		size_t n;
		const char *says;
	} bad[] = {
	    {{{"Shoper", 1}}, 1, "classes: no user class 'Shoper' in "},
	    {{{"Admin", 5}, {"Nobody", 1}}, 2, "(it has: Admin, Guest, Shopper)"},
	    {{{"Admin", -1}}, 1, "classes: the weight of 'Admin' must be a number from 0"},
	    {{{"Admin", NAN}}, 1, "the weight of 'Admin'"},
	    {{{"Admin", INFINITY}}, 1, "the weight of 'Admin'"},
	    {{{"Admin", 2}, {"Guest", 2e9}}, 2, "the weight of 'Guest'"},
	};
	scenario_file_t f;
	scenario_t *s = load(&f, shop);
	const scenario_class_t *c;
	char err[512], dealt[16];

	CHECK(s != NULL);
	if (!s)
		return;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_INT(scenario_set_weights(s, bad[i].w, bad[i].n, err, sizeof(err)), -EINVAL);
		if (!strstr(err, bad[i].says))
			test_fail(__FILE__, __LINE__, "case %zu: '%s' does not say '%s'", i, err,
			          bad[i].says);
	}
	/* every class at 0, at once or with the ones left at 0 before */
	CHECK_INT(scenario_set_weights(
	              s, (scenario_class_t[]){{"Admin", 0}, {"Guest", 0}, {"Shopper", 0}}, 3, err,
	              sizeof(err)),
	          -EINVAL);
	CHECK_STR(err, "classes: every weight is 0: at least one class must run");
	CHECK(scenario_set_weights(s, (scenario_class_t[]){{"Admin", 0}, {"Guest", 0}}, 2, err,
	                           sizeof(err)) == 0);
	CHECK_INT(
	    scenario_set_weights(s, (scenario_class_t[]){{"Shopper", 0}}, 1, err, sizeof(err)),
	    -EINVAL);
	/* nothing changed by the refusals: only the accepted change */
	scenario_classes(s, &c);
	CHECK(c[0].weight == 0 && c[1].weight == 0 && c[2].weight == 3);
	deal(s, 4, dealt);
	CHECK_STR(dealt, "SSSS");
	unload(&f, s);
}

TEST(scenario_classes_of_file_level_tasks_is_one_user_class)
{
	scenario_file_t f;
	scenario_t *s = load(&f, "tasks = { function(u) end }\n");
	const scenario_class_t *c;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INT(scenario_classes(s, &c), 1);
	CHECK_STR(c[0].name, "user");
	CHECK(c[0].weight == 1);
	unload(&f, s);
}
