/* libFuzzer driver for the live UI's control requests as surge run reads them, without a
 * socket: the bytes are a whole request to the UI server (head and body), parsed by the
 * server's request parser; then the access rules (ui_access.c: the token from a header, the
 * cookie or ?token=, the Host check, a control's Origin) under three configurations; then, for
 * POST /api/control/NAME, the name and the body (ui_control.c: application/json, a JSON
 * object); then the object as Start's and as a load change's arguments (cli/cli_ui_control.c)
 * for a closed run, an open one and a scenario's with two user classes, whose weights Start
 * may set. Beyond "no crash":
 *   - every refusal is a status the server answers with (401/403, 415/400/503, 400) and one
 *     line without a control character;
 *   - a request let in by a token carries that token;
 *   - accepted arguments are within the run's bounds: the closed model's users a whole number
 *     up to its room, the open model's rate up to GEN_MAX_RATE, a host that parsed to a host;
 *   - weights accepted are the scenario's from then on, at least one above 0; refused, they
 *     are left as they were. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_ui_control.h"
#include "core/http.h"
#include "fuzz_common.h"
#include "scenario/scenario.h"
#include "ui/ui.h"
#include "ui/ui_access.h"
#include "ui/ui_control.h"

#define TOKEN  "0123456789abcdef0123456789abcdef"
#define PREFIX "/api/control/"
#define ROOM   500

static scenario_t *scenario;
static scenario_class_t file_weights[8];
static size_t class_count;

/* A scenario with two classes (Browse 3, Buy 1), loaded once. */
static void load_scenario(void)
{
	static const char lua[] = "options = { host = 'http://127.0.0.1:1' }\n"
	                          "users = {\n"
	                          "  Browse = { weight = 3, tasks = { function(u) end } },\n"
	                          "  Buy = { weight = 1, tasks = { function(u) end } },\n"
	                          "}\n";
	char dir[64], path[96], err[512];
	const scenario_class_t *c;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/surge-fuzz-ui-XXXXXX",
	         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/classes.lua", dir);
	if (!(f = fopen(path, "wb")))
		abort();
	fputs(lua, f);
	fclose(f);
	scenario = scenario_load(path, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	if (!scenario) {
		fprintf(stderr, "fuzz_ui_control: %s\n", err);
		abort();
	}
	class_count = scenario_classes(scenario, &c);
	if (class_count != 2)
		abort();
	for (size_t i = 0; i < class_count; i++)
		file_weights[i] = (scenario_class_t){.name = c[i].name, .weight = c[i].weight};
}

static void check_refusal(int rc, int lo, int hi, const char *err, size_t errlen)
{
	if (rc < lo || rc > hi)
		abort();
	fuzz_check_message(err, errlen);
}

/* Where the request was let in by the token, the request carries it. */
static void check_access(const http_request_t *r, const uint8_t *data, size_t size)
{
	static const ui_access_t configs[] = {
	    {.token = TOKEN},
	    {.loopback_hosts = true},
	    {.loopback_hosts = true, .bound_host = "ui.example"},
	};
	bool control =
	    r->path.len > strlen(PREFIX) && memcmp(r->path.p, PREFIX, strlen(PREFIX)) == 0;

	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		enum ui_token_source source = UI_TOKEN_NONE;
		char why[768] = "";
		int rc = ui_access_check(&configs[i], r, control, &source, why, sizeof(why));

		if (rc) {
			if (rc != 401 && rc != 403)
				abort();
			fuzz_check_message(why, sizeof(why));
		} else if (configs[i].token &&
		           (source == UI_TOKEN_NONE || !memmem(data, size, TOKEN, strlen(TOKEN)))) {
			abort();
		}
	}
}

static void check_start(const json_t *args, const cli_ui_run_t *run)
{
	cli_ui_start_t start;
	char err[512] = "";
	int rc = cli_ui_read_start(args, run, &start, err, sizeof(err));
	const scenario_class_t *after;

	if (rc) {
		check_refusal(rc, 400, 400, err, sizeof(err));
		return;
	}
	if (run->open_model ? start.load.kind != GEN_STEER_RATE ||
	                          !(start.load.value >= 0 && start.load.value <= GEN_MAX_RATE)
	                    : start.load.kind != GEN_STEER_USERS || start.load.value < 0 ||
	                          start.load.value > run->users_room ||
	                          start.load.value != floor(start.load.value) ||
	                          !(start.load.spawn_rate >= 0 && start.load.spawn_rate <= 1e6))
		abort();
	if (start.host && (run->scenario_host || !start.url.host[0]))
		abort();
	if (!start.classes)
		return;
	rc = cli_ui_set_classes(run, start.classes, err, sizeof(err));
	scenario_classes(scenario, &after);
	if (rc) {
		check_refusal(rc, 400, 503, err, sizeof(err));
		for (size_t i = 0; i < class_count; i++)
			if (after[i].weight != file_weights[i].weight)
				abort();
		return;
	}
	/* what was asked is what the scenario has, and one class at least runs */
	bool any = false;

	for (size_t i = 0; i < class_count; i++) {
		const json_t *w = json_object_get(start.classes, after[i].name);

		if (w && json_number_value(w) != after[i].weight)
			abort();
		any |= after[i].weight > 0;
	}
	if (!any)
		abort();
	/* the file's weights again, for the next input */
	if (scenario_set_weights(scenario, file_weights, class_count, err, sizeof(err)) != 0)
		abort();
}

static void check_load(const json_t *args, const cli_ui_run_t *run)
{
	gen_steer_t s;
	char err[512] = "";
	int rc = cli_ui_read_load(args, run, &s, err, sizeof(err));

	if (rc) {
		check_refusal(rc, 400, 400, err, sizeof(err));
		return;
	}
	if (s.kind != (run->open_model ? GEN_STEER_RATE : GEN_STEER_USERS) || !(s.value >= 0) ||
	    s.value > (run->open_model ? GEN_MAX_RATE : run->users_room))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const http_request_limits_t limits = {
	    .max_request_line = 8192, .max_header_bytes = 16 << 10, .max_headers = 64};
	const char *in = (const char *)data;
	http_request_t r;
	size_t head_len = 0;
	json_t *args;
	char err[512] = "";
	int rc;

	if (!scenario)
		load_scenario();
	if (http_request_parse(&limits, in, size, &r, &head_len) != HTTP_DONE)
		return 0;
	check_access(&r, data, size);
	if (r.path.len <= strlen(PREFIX) || memcmp(r.path.p, PREFIX, strlen(PREFIX)) != 0)
		return 0;
	if (!ui_control_name_ok(r.path.p + strlen(PREFIX), r.path.len - strlen(PREFIX)))
		return 0;
	rc = ui_control_args(&r, in + head_len, size - head_len, &args, err, sizeof(err));
	if (rc) {
		if (args || (rc != 400 && rc != 415 && rc != 503))
			abort();
		fuzz_check_message(err, sizeof(err));
		return 0;
	}
	if (!json_is_object(args))
		abort();
	const cli_ui_run_t runs[] = {
	    {.users_room = ROOM},
	    {.open_model = true},
	    {.users_room = ROOM, .scenario_host = true, .scenario = scenario},
	};
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		check_start(args, &runs[i]);
		check_load(args, &runs[i]);
	}
	json_decref(args);
	return 0;
}
