/* libFuzzer driver for the scenario loader (scenario_load): the input is a Lua file, loaded as
 * `surge run FILE.lua` does — compiled, its top level run in a VM with the instruction and heap
 * limits on, its classes checked and its options read. Beyond "no crash": a rejection is one
 * line that names the file, its control characters escaped; an accepted scenario has only known
 * options, each with a value, and a driver.
 *
 * The fuzzer writes Lua, so the VM runs it with what could touch this machine taken away
 * (processes, files written or removed, native code through ffi, bytecode): a line prepended
 * to the file, on the file's first line so that line numbers stay the user's. A data file,
 * d.csv, lies beside it for surge.csv. */
#include "scenario/scenario.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

static const char sandbox[] =
    "do local n, ld, lds = nil, load, loadstring "
    "os.execute, os.remove, os.rename, os.exit, os.tmpname = n, n, n, n, n "
    "io.open, io.popen, io.lines, io.output, io.input, io.write = n, n, n, n, n, n "
    "require, dofile, loadfile, module = n, n, n, n "
    "package.loadlib, package.loaded.ffi, package.preload.ffi = n, n, n "
    "package.loaders, package.searchers = {}, {} "
    "debug.sethook, debug.setlocal, debug.setupvalue, debug.setmetatable = n, n, n, n "
    "debug.getregistry, debug.upvaluejoin = n, n "
    "local function src(c) return type(c) == 'string' and c:byte(1) ~= 27 end "
    "load = function(c, ...) if src(c) then return ld(c, ...) end return n, 'fuzz: no' end "
    "loadstring = function(c, ...) if src(c) then return lds(c, ...) end return n, 'no' end "
    "end ";

static char dir[64], path[96], csv_path[96];

/* One line naming the file, with no control character: what the file or its Lua said is
 * shown escaped (a terminal must not obey it). */
static void check_rejection(const char *err, size_t errlen)
{
	fuzz_check_message(err, errlen);
	if (strncmp(err, path, strlen(path)))
		abort();
}

static void check_scenario(scenario_t *s)
{
	const scenario_option_t *o;
	size_t n = scenario_options(s, &o);

	if (n > SCENARIO_MAX_OPTIONS || !scenario_driver(s) || strcmp(scenario_path(s), path))
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *key = scenario_option_key(o[i].name);

		if (!key || strcmp(key, o[i].key) != 0 || !o[i].value)
			abort();
	}
}

static void remove_dir(void)
{
	unlink(path);
	unlink(csv_path);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[1024];
	scenario_t *s;
	FILE *f;

	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/surge-fuzz-XXXXXX",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof(path), "%s/fuzz.lua", dir);
		/* a data file beside it, for surge.csv("d.csv") and its feeder */
		snprintf(csv_path, sizeof(csv_path), "%s/d.csv", dir);
		if (!(f = fopen(csv_path, "wb")))
			abort();
		fputs("name,email\nada,ada@example.com\n\"b, \"\"o\"\"\",b@x\n", f);
		fclose(f);
		atexit(remove_dir);
	}
	if (!(f = fopen(path, "wb")))
		abort();
	fwrite(sandbox, 1, sizeof(sandbox) - 1, f);
	fwrite(data, 1, size, f);
	fclose(f);
	err[0] = '\0';
	s = scenario_load(path, err, sizeof(err));
	if (s) {
		check_scenario(s);
		scenario_free(s);
	} else {
		check_rejection(err, sizeof(err));
	}
	return 0;
}
