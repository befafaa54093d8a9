/* cli_coordinator: `surge run --coordinator [ADDR] --expect-shards N [--token T] ... URL` —
 * the test held in one process that sends no request itself (docs/distributed.md). Its
 * address is its live UI's (cli_ui.c's server) with two more controls, join and deltas, that
 * the shards POST with the token; dist_table.c keeps who joined and adds every second a shard
 * sends to the one result (and the UI's events) as if one engine had produced them all. Once
 * every shard has joined it gives them a common start a few seconds ahead; once every shard
 * has finished or fell silent (lost), the result is completed with what the shards said of
 * themselves, judged, printed and written by surge run's own ending (cli_result_end): one
 * summary, one document, one exit code (6 when a shard was lost). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "core/echo.h"
#include "core/heap.h"
#include "core/json.h"
#include "core/units.h"
#include "dist/dist.h"
#include "report/result_finish.h"
#include "scenario/scenario.h"

#define TICK_NS        (100 * NS_PER_MS)
#define STOP_WAIT_NS   (5 * NS_PER_S) /* after a stop, shards that do not end are left */
#define SIGNALS_TO_END 2              /* a second Ctrl-C: the wait for the shards ends at once */
/* Every shard keeps its connection from its join to its last batch: the server holds one per
 * shard beside the page's own (the UI's bound), and a descriptor for each, with room for the
 * listening socket, the refused connections' answers and the outputs. */
#define PAGE_CONNECTIONS 64
#define FDS_BESIDE       128

typedef struct coordinator {
	run_options_t *o;
	result_t *r;
	dist_table_t *table;
	cli_live_t *live;       /* published once open (the UI thread reads it) */
	gen_consumer_t forward; /* the table's seconds into the live side's consumer */
	char token[UI_TOKEN_SIZE];
	uint64_t refused_seen;
	uint64_t shards_published_ns; /* the page's Shards tab: once a second */
	buf_t shards_event;
} coordinator_t;

/* ---- what is refused: a URL test with a length, the coordinator's own address ---- */

static int check_options(const run_options_t *o)
{
	const char *what = NULL;

	if (!o->dist.shards)
		return cli_usage_error("run", "--coordinator needs --expect-shards N: how many "
		                              "shards (surge run --join) the test waits for");
	if (o->dist.join)
		return cli_usage_error("run", "--coordinator and --join: a process is one or the "
		                              "other");
	if (!deal_is_whole(o->cfg.shard) || o->cfg.start_wall_ns)
		what = "--shard and --start-at: the coordinator gives each shard its part and the "
		       "start";
	else if (o->ui.ui || o->ui.token || o->ui.metrics)
		what =
		    "--ui, --ui-token and --metrics: the coordinator's address is its UI (give it "
		    "as --coordinator ADDR, the token as --token)";
	else if (o->scrape_url)
		what = "--scrape (not distributed yet: scrape the target from one shard's own run "
		       "instead)";
	else if (o->cfg.group_header)
		what = "--group-by-header (its counts do not travel with the seconds yet)";
	if (what)
		return cli_usage_error("run", "--coordinator: not with %s", what);
	if (o->applied_over)
		return cli_usage_error("run", "--coordinator: more than %d options",
		                       CLI_APPLIED_MAX);
	if (o->dist.shards > 1 &&
	    deal_share(o->cfg.connections, (deal_part_t){o->dist.shards - 1, o->dist.shards}) == 0)
		return cli_usage_error("run",
		                       "--expect-shards %u: %u connections over %u shards leaves "
		                       "the last none (give fewer shards or more connections)",
		                       o->dist.shards, o->cfg.connections, o->dist.shards);
	if (o->cfg.requests &&
	    deal_share(o->cfg.requests, (deal_part_t){o->dist.shards - 1, o->dist.shards}) == 0)
		return cli_usage_error("run",
		                       "--expect-shards %u: -n %llu over %u shards leaves the last "
		                       "no request (give fewer shards)",
		                       o->dist.shards, (unsigned long long)o->cfg.requests,
		                       o->dist.shards);
	return 0;
}

/* A scenario as shards get it (dist_test.c): its text and the data files its top level read.
 * 0 or EXIT_USAGE. */
static int write_scenario(const run_options_t *o, json_writer_t *w)
{
	const char *names[64], *outside, *path = scenario_path(o->scenario);
	size_t len, n = scenario_data_files(o->scenario, names, 64, &outside);
	const char *text = scenario_source(o->scenario, &len);
	char err[1024];

	if (outside)
		return cli_usage_error(
		    "run",
		    "--coordinator: data file %s is outside the scenario's folder: "
		    "give its path relative to the scenario, below it, for it to "
		    "travel to the shards",
		    ECHO(outside));
	if (dist_test_write_scenario(w, path, text, len, names, n, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--coordinator: %s", err);
	return 0;
}

/* The test as every shard gets it: the URL (or the scenario, its data files with it), the
 * options that travel (dist_option_travels) as they were given — a scenario's own options in
 * force among them — and the body's bytes. 0 or EXIT_USAGE. */
static int write_test(const run_options_t *o, buf_t *out)
{
	json_writer_t w;
	int rc;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	if (o->scenario) {
		if ((rc = write_scenario(o, &w)) != 0)
			return rc;
	} else {
		jsonw_key(&w, "url");
		jsonw_string(&w, o->cfg.url_text);
	}
	jsonw_key(&w, "options");
	jsonw_array_begin(&w);
	for (uint32_t i = 0; i < o->applied_count; i++) {
		const char *name = cli_run_option_name(o->applied[i].key);

		if (!name || !dist_option_travels(name))
			continue;
		jsonw_array_begin(&w);
		jsonw_string(&w, name);
		jsonw_string(&w, o->applied[i].arg ? o->applied[i].arg : "");
		jsonw_array_end(&w);
	}
	jsonw_array_end(&w);
	if (o->cfg.has_body) {
		jsonw_key(&w, "body");
		jsonw_string_n(&w, o->cfg.body, o->cfg.body_len);
	}
	jsonw_object_end(&w);
	if (w.err == -ENOBUFS)
		return cli_usage_error("run",
		                       "--coordinator: the test is larger than the %u KiB a shard "
		                       "is sent (a large --body or --body-file?)",
		                       DIST_CONFIG_MAX >> 10);
	return w.err ? cli_usage_error("run", "--coordinator: out of memory") : 0;
}

/* ---- the server's side: the shards' controls ---- */

static int on_control(void *ctx, const char *name, const json_t *args, buf_t *reply, char *err,
                      size_t errlen)
{
	coordinator_t *c = ctx;

	if (strcmp(name, "join") == 0)
		return dist_table_join(c->table, args, clock_now_ns(), reply, err, errlen);
	if (strcmp(name, "deltas") == 0) {
		snprintf(err, errlen,
		         "deltas: a batch of seconds is binary (Content-Type: application/"
		         "octet-stream) since wire version %d: a shard of another surge?",
		         DIST_WIRE_VERSION);
		return 400;
	}
	snprintf(err, errlen, "no control '%s' (start, load, stop, reset, quit; join, deltas)",
	         ECHO(name));
	return 404;
}

static int on_control_bytes(void *ctx, const char *name, const uint8_t *body, size_t len,
                            buf_t *reply, char *err, size_t errlen)
{
	coordinator_t *c = ctx;

	if (strcmp(name, "deltas") == 0)
		return dist_table_deltas(c->table, body, len, clock_now_ns(), reply, err, errlen);
	snprintf(err, errlen, "%s: expected a JSON body (only deltas takes bytes)", ECHO(name));
	return 415;
}

/* Seconds come only after the start, seconds after the live side opened. */
static void forward_second(void *ctx, const delta_t *d)
{
	coordinator_t *c = ctx;
	cli_live_t *live = __atomic_load_n(&c->live, __ATOMIC_ACQUIRE);

	if (live)
		cli_live_consumer(live)->second(cli_live_consumer(live)->ctx, d);
}

static void forward_done(void *ctx, int64_t second)
{
	coordinator_t *c = ctx;
	cli_live_t *live = __atomic_load_n(&c->live, __ATOMIC_ACQUIRE);

	if (live && cli_live_consumer(live)->second_done)
		cli_live_consumer(live)->second_done(cli_live_consumer(live)->ctx, second);
}

static void print_note(void *ctx, const char *line)
{
	coordinator_t *c = ctx;

	if (!c->o->quiet || strstr(line, "lost") || strstr(line, "refused"))
		fprintf(stderr, "surge run: %s\n", line);
}

/* ---- the run ---- */

/* A refused request (no token, a wrong one) is logged as it happens: the UI server counts
 * them, the coordinator says so. */
static void log_refused(coordinator_t *c)
{
	uint64_t n = cli_live_refused(c->live);

	if (n > c->refused_seen)
		fprintf(
		    stderr,
		    "surge run: refused %llu request%s without the coordinator's token (%llu so "
		    "far): a shard needs --token or $SURGE_TOKEN\n",
		    (unsigned long long)(n - c->refused_seen), n - c->refused_seen == 1 ? "" : "s",
		    (unsigned long long)n);
	c->refused_seen = n;
}

/* The shards' state and latest seconds for the page's Shards tab, once a second (or now):
 * only the newest is kept for a page that joins. */
static void publish_shards(coordinator_t *c, bool now)
{
	uint64_t t = clock_now_ns();

	if (!now && t < c->shards_published_ns + NS_PER_S)
		return;
	c->shards_published_ns = t;
	buf_reset(&c->shards_event);
	if (dist_table_write_shards(c->table, &c->shards_event) == 0)
		cli_live_publish(c->live, c->shards_event.data, c->shards_event.len,
		                 LIVE_EVENT_LATEST);
}

/* Waits a tick for a signal: the one taken, or 0. Every HEAP_GIVE_BACK_NS the memory the
 * UI and the shards' batches freed goes back to the system (core/heap.h). */
static int tick(const sigset_t *signals)
{
	static uint64_t given_back;
	struct timespec t = {0, (long)TICK_NS};
	int sig = sigtimedwait(signals, NULL, &t);

	heap_give_back_every(clock_now_ns(), &given_back);
	return sig > 0 ? sig : 0;
}

/* Every shard joined, in time: 0; else the exit code (why printed). */
static int wait_for_shards(coordinator_t *c, const sigset_t *signals)
{
	uint64_t timeout =
	    c->o->dist.join_timeout_ns ? c->o->dist.join_timeout_ns : CLI_DIST_JOIN_TIMEOUT_NS;
	uint64_t deadline = clock_now_ns() + timeout;
	char missing[1024];

	while (dist_table_tick(c->table, clock_now_ns()) == DIST_PHASE_JOINING) {
		log_refused(c);
		publish_shards(c, false);
		if (tick(signals)) {
			dist_table_stop(c->table);
			fprintf(stderr, "surge run: stopped while waiting for the shards: nothing "
			                "measured (exit 5)\n");
			return EXIT_NOTHING;
		}
		if (clock_now_ns() > deadline) {
			dist_table_missing(c->table, missing, sizeof(missing));
			fprintf(stderr, "surge run: --coordinator: after %.0fs, %s (exit %d)\n",
			        (double)timeout / NS_PER_S, missing, EXIT_INCOMPLETE);
			return EXIT_INCOMPLETE;
		}
	}
	return 0;
}

/* Whether a threshold fails on the whole so far (--abort-on-fail), judged as surge run's live
 * check judges its own stream: every threshold on the result as the coordinator holds it
 * now, one with nothing measured yet waiting, balance waiting (no --group-by-header here). */
static bool thresholds_fail_now(coordinator_t *c)
{
	threshold_t live[THRESHOLD_MAX];
	double values[THRESHOLD_MAX];
	bool passed[THRESHOLD_MAX], failed = false;
	const run_options_t *o = c->o;
	int n = 0;

	for (int i = 0; i < o->threshold_count; i++)
		if (o->thresholds[i].metric != TH_BALANCE)
			live[n++] = o->thresholds[i];
	cli_live_lock(c->live);
	if (report_thresholds(c->r, live, n, values, passed) == 0)
		for (int i = 0; i < n; i++)
			failed |= !passed[i] && !isnan(values[i]);
	cli_live_unlock(c->live);
	return failed;
}

/* The shards run until each has finished or is lost; Ctrl-C, the page's Stop or a failed
 * threshold (--abort-on-fail) stops every one (a second Ctrl-C, or STOP_WAIT_NS, ends the
 * wait for them). Says whether a threshold stopped it; *interrupted for a signal. */
static bool supervise(coordinator_t *c, const sigset_t *signals, bool *interrupted)
{
	uint64_t stopped_at = 0, next_check = 0;
	bool aborted = false;
	int signals_taken = 0;

	while (dist_table_tick(c->table, clock_now_ns()) != DIST_PHASE_OVER) {
		uint64_t now = clock_now_ns();
		bool stop = false;

		log_refused(c);
		publish_shards(c, false);
		if (tick(signals)) {
			*interrupted = true;
			if (++signals_taken == SIGNALS_TO_END)
				break;
			stop = true;
		}
		if (cli_live_stop_asked(c->live))
			stop = true;
		if (c->o->abort_on_fail && !aborted && now >= next_check) {
			next_check = now + NS_PER_S;
			if (thresholds_fail_now(c)) {
				aborted = stop = true;
				fprintf(stderr,
				        "surge run: a threshold failed: stopping every shard\n");
			}
		}
		if (stop && !stopped_at) {
			stopped_at = now;
			dist_table_stop(c->table);
			if (!c->o->quiet)
				fprintf(stderr,
				        "surge run: stopping every shard (within a second)\n");
		}
		if (stopped_at && now > stopped_at + STOP_WAIT_NS) {
			fprintf(stderr,
			        "surge run: shards still running %.0fs after the stop are "
			        "left as lost\n",
			        (double)STOP_WAIT_NS / NS_PER_S);
			break;
		}
	}
	return aborted;
}

/* The stream's sum completed with what the shards said of themselves, as result_finish
 * completes a run's with its engine's; the lost shards; judged. 0 or an exit code. */
static int complete(coordinator_t *c, bool aborted, bool interrupted)
{
	run_options_t *o = c->o;
	result_t *r = c->r;
	report_asked_t asked = cli_run_asked(o, aborted);
	dist_summary_t s;
	int rc;

	if ((rc = dist_table_summary(c->table, &s)) < 0) {
		fprintf(stderr, "surge run: out of memory building the result (exit 4)\n");
		return EXIT_GENERATOR;
	}
	cli_live_lock(c->live);
	/* a lost shard's seconds count as far as they came */
	if (s.lost_count && r->duration_s * 1e9 > (double)s.g.duration_ns)
		s.g.duration_ns = (uint64_t)llround(r->duration_s * 1e9);
	s.g.interrupted |= interrupted && !aborted;
	o->cfg.threads = s.g.threads; /* the whole's: every shard's */
	rc = result_finish(&o->cfg, &s.g, r);
	r->generator.saturation_shard = s.saturation_shard;
	r->distributed.shards = s.shards;
	if (rc == 0 && s.lost_count) {
		r->distributed.lost = result_alloc(r, s.lost_count * sizeof(*r->distributed.lost));
		if (!r->distributed.lost)
			rc = -ENOMEM;
		for (uint32_t i = 0; rc == 0 && i < s.lost_count; i++)
			r->distributed.lost[r->distributed.lost_count++] = (result_lost_shard_t){
			    s.lost[i].index, s.lost[i].from_second, s.lost[i].asked};
	}
	cli_live_adjust(c->live, r);
	if (rc == 0)
		rc = report_judge(r, &asked);
	cli_live_unlock(c->live);
	dist_summary_free(&s);
	if (rc < 0) {
		fprintf(stderr, "surge run: %s building the result (exit 4)\n",
		        rc == -ENOMEM ? "out of memory" : strerror(-rc));
		return EXIT_GENERATOR;
	}
	return 0;
}

/* A descriptor for each connection the server may hold: the soft limit raised as far as the
 * hard one allows. 0 or EXIT_USAGE. */
static int fd_room(uint32_t shards)
{
	rlim_t need = (rlim_t)shards + PAGE_CONNECTIONS + FDS_BESIDE;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
		return 0;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need)
		return 0;
	return cli_usage_error("run",
	                       "--expect-shards %u: a connection kept by each shard needs %llu "
	                       "file descriptors, the limit is %llu (raise it with ulimit -n)",
	                       shards, (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}

static int open_live(coordinator_t *c)
{
	run_options_t *o = c->o;
	cli_live_t *live;
	char origin[300];
	int rc;

	if (!o->dist.token) {
		if (ui_token_generate(c->token) < 0)
			return cli_usage_error("run",
			                       "--coordinator: cannot make a token: give --token");
		o->dist.token = c->token;
		o->ui.token_made = true;
	}
	o->ui.ui = true;
	o->ui.ui_addr = o->dist.addr ? o->dist.addr : CLI_DIST_DEFAULT_ADDR;
	o->ui.token = o->dist.token;
	o->ui.interactive = false;
	o->ui.extra_control = on_control;
	o->ui.extra_control_bytes = on_control_bytes;
	o->ui.extra_ctx = c;
	o->ui.max_body_bytes = DIST_BATCH_MAX;
	o->ui.max_connections = o->dist.shards + PAGE_CONNECTIONS;
	if ((rc = fd_room(o->dist.shards)) != 0)
		return rc;
	/* the page's load controls, disabled with the reason (Stop works) */
	o->cfg.steer_refusal = "a distributed run's load is the coordinator's test as given: "
	                       "changing it while the shards run is a later piece (Stop works)";
	if ((rc = cli_live_open(o, c->r, &live)) != 0)
		return rc;
	__atomic_store_n(&c->live, live, __ATOMIC_RELEASE);
	/* the address bound may be none to join (0.0.0.0, or a bare PORT): the UI's own */
	cli_live_origin(live, origin, sizeof(origin));
	if (!o->quiet)
		fprintf(stderr,
		        "surge run %s %s: coordinator at %s, waiting for %u shard%s: surge run "
		        "--join %s with the token (%s)\n",
		        ECHO(o->cfg.method), ECHO(o->cfg.url_text), o->ui.ui_addr, o->dist.shards,
		        o->dist.shards == 1 ? "" : "s", origin,
		        o->dist.token == c->token ? c->token : "--token's");
	return 0;
}

static int run(coordinator_t *c)
{
	run_options_t *o = c->o;
	sigset_t signals;
	bool aborted, interrupted = false;
	char at[40];
	int rc;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if ((rc = open_live(c)) != 0)
		return rc;
	if ((rc = wait_for_shards(c, &signals)) != 0)
		return rc;
	o->cfg.start_wall_ns = dist_table_start_ns(c->table);
	clock_format_rfc3339(o->cfg.start_wall_ns, at, sizeof(at));
	if (!o->quiet)
		fprintf(stderr, "surge run: %u shards joined; the test starts at %s\n",
		        o->dist.shards, at);
	cli_live_run_started(c->live, NULL);
	aborted = supervise(c, &signals, &interrupted);
	dist_table_close(c->table); /* nothing more is added: the result is completed now */
	publish_shards(c, true);    /* how each ended */
	cli_live_run_over(c->live);
	if ((rc = complete(c, aborted, interrupted)) != 0)
		return rc;
	rc = cli_result_end("run", &o->outputs, o->quiet, c->r);
	cli_live_finished(c->live);
	return rc;
}

int cli_coordinator_run(run_options_t *o, result_t *r)
{
	coordinator_t c = {.o = o, .r = r};
	dist_table_config_t cfg = {0};
	buf_t test;
	int rc;

	if ((rc = check_options(o)) != 0)
		return rc;
	buf_init(&test, DIST_CONFIG_MAX);
	if ((rc = write_test(o, &test)) != 0) {
		buf_free(&test);
		return rc;
	}
	c.forward =
	    (gen_consumer_t){.ctx = &c, .second = forward_second, .second_done = forward_done};
	cfg = (dist_table_config_t){.shards = o->dist.shards,
	                            .config_json = test.data,
	                            .config_len = test.len,
	                            .consumer = &c.forward,
	                            .note = print_note,
	                            .note_ctx = &c,
	                            .silence_ns = o->dist.lost_after_ns};
	c.table = dist_table_new(&cfg);
	buf_free(&test);
	if (!c.table) {
		fprintf(stderr, "surge run: out of memory\n");
		return EXIT_GENERATOR;
	}
	buf_init(&c.shards_event, 4u << 20);
	rc = run(&c);
	cli_live_close(c.live); /* the server first: no control reaches the table after */
	o->live = NULL;
	dist_table_free(c.table);
	buf_free(&c.shards_event);
	return rc;
}
