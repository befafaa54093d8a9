/* cli_ui: the live side of `surge run` — see cli_ui.h for what it joins and its locks.
 *
 * The run's stream goes through one consumer here: each thread's delta is summed into the
 * run's result (the one `surge run` encodes at the end) and into live/, which publishes whole
 * seconds as events to the UI server. The page's controls arrive on the UI thread
 * (on_control) and are checked there before anything changes; Start is handed to the main
 * thread, which is waiting for it (cli_live_wait_start); the load and Stop go to the engine
 * under run_lock; Reset starts the run's result again from the second it is asked in. */
#include "cli/cli_ui.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/cli_run.h"
#include "cli/cli_ui_control.h"
#include "cli/cli_ui_target.h"
#include "core/clock.h"
#include "core/echo.h"
#include "core/json.h"
#include "core/url.h"
#include "live/live.h"
#include "report/report.h"
#include "report/report_html.h"
#include "report/report_outputs.h"
#include "report/result_finish.h"
#include "scenario/scenario.h"
#include "ui/ui.h"

#define UI_USERS_ROOM 10000 /* users an interactive closed run has room for, at least */

enum live_state { STATE_WAITING, STATE_RUNNING, STATE_STOPPING, STATE_STOPPED };
static const char *const state_names[] = {"waiting", "running", "stopping", "stopped"};

struct cli_live {
	pthread_mutex_t lock; /* everything below but run, which run_lock keeps */
	pthread_cond_t changed;
	run_options_t *o;
	result_t *r; /* the run's result: the stream since the last Reset */
	live_t *live;
	ui_t *ui;      /* --ui */
	ui_t *metrics; /* --metrics */
	gen_consumer_t consumer;
	enum live_state state;
	bool start_asked, quit_asked;
	char *host;           /* Start's host, owned */
	int64_t reset_second; /* the stream's seconds before it are not in r */
	int64_t last_second;  /* the latest second a delta came for */
	uint64_t started_wall_ns;
	uint64_t process_start_ns;
	double users_asked; /* the closed model's users as the page last asked them; -1: never */
	double spawn_asked; /* and the spawn rate with them; -1: none asked yet */
	bool stop_asked;    /* Stop in the page: the run ended as at its end, not interrupted */

	int64_t done_second; /* the latest second the engine said was whole */
	cli_target_t target; /* --scrape: the target's seconds not published yet */

	pthread_mutex_t run_lock;
	gen_run_t *run; /* running: what the controls steer and stop */
};

/* ---- options ---- */

int cli_ui_option(run_options_t *o, int opt, const char *arg)
{
	switch (opt) {
	case CLI_OPT_UI:
		o->ui.ui = true;
		if (arg)
			o->ui.ui_addr = arg;
		return 0;
	case CLI_OPT_UI_TOKEN: o->ui.token = arg; return 0;
	case CLI_OPT_METRICS: o->ui.metrics = arg; return 0;
	}
	return cli_usage_error("run", "unknown option");
}

/* HOST:PORT, [V6]:PORT, :PORT or PORT. */
static bool looks_like_address(const char *s)
{
	const char *colon = strrchr(s, ':');
	const char *port = colon ? colon + 1 : s;

	if (!*port || strlen(port) > 5 || strstr(s, "://") || strchr(s, '/'))
		return false;
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

bool cli_ui_takes_address(run_options_t *o, const char *arg)
{
	struct stat st;

	if (!o->ui.ui || o->ui.ui_addr || !looks_like_address(arg) || stat(arg, &st) == 0)
		return false;
	o->ui.ui_addr = arg;
	return true;
}

/* ADDR into host (cap bytes) and port; 0 or -1. */
static int split_address(const char *addr, char *host, size_t cap, uint16_t *port)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr;
	size_t hlen = colon ? (size_t)(colon - addr) : 0;
	char *end;
	unsigned long p = strtoul(colon ? colon + 1 : addr, &end, 10);

	if (*end || p > 65535 || end == (colon ? colon + 1 : addr))
		return -1;
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= cap)
		return -1;
	if (hlen == 0)
		snprintf(host, cap, "%s", UI_DEFAULT_HOST);
	else
		snprintf(host, cap, "%.*s", (int)hlen, h);
	*port = (uint16_t)p;
	return 0;
}

int cli_ui_resolve(run_options_t *o)
{
	gen_config_t *cfg = &o->cfg;

	if (o->ui.token && !o->ui.ui && !o->ui.metrics)
		return cli_usage_error("run", "--ui-token is for --ui or --metrics");
	if (!o->ui.ui)
		return 0;
	o->ui.interactive = !o->duration_given && !cfg->requests;
	/* a closed run the page may steer has room for the users it may ask */
	if (!cfg->open_model && !cfg->requests && (!cfg->has_schedule || cfg->users_ramp)) {
		uint32_t room = cfg->connections > UI_USERS_ROOM ? cfg->connections : UI_USERS_ROOM;

		cfg->users_max = room;
		o->ui.users_max = room;
	}
	if (!o->ui.interactive)
		return 0;
	/* no -d, no -n: the run lasts until Stop */
	cfg->duration_ns = 0;
	cfg->until_stopped = true;
	return 0;
}

/* ---- the state the page shows ---- */

static void control(json_writer_t *w, const char *name, bool enabled, const char *reason)
{
	jsonw_key(w, name);
	jsonw_object_begin(w);
	jsonw_key(w, "enabled");
	jsonw_bool(w, enabled);
	if (!enabled && reason) {
		jsonw_key(w, "reason");
		jsonw_string(w, reason);
	}
	jsonw_object_end(w);
}

/* A scenario's user classes and their weights for the run (the file's, or as Start set
 * them), in the order users are dealt to them. */
static void write_classes(cli_live_t *l, json_writer_t *w)
{
	const scenario_class_t *c;
	size_t n = l->o->scenario ? scenario_classes(l->o->scenario, &c) : 0;

	if (!l->o->scenario)
		return;
	jsonw_key(w, "classes");
	jsonw_array_begin(w);
	for (size_t i = 0; i < n; i++) {
		jsonw_object_begin(w);
		jsonw_key(w, "name");
		jsonw_string(w, c[i].name);
		jsonw_key(w, "weight");
		jsonw_double(w, c[i].weight, 6);
		jsonw_object_end(w);
	}
	jsonw_array_end(w);
}

/* The state object (docs/ui.md); under lock. */
static void write_state(cli_live_t *l, buf_t *out)
{
	const gen_config_t *cfg = &l->o->cfg;
	enum gen_steer_kind kind;
	char why[256] = "";
	bool steerable = gen_steer_check(cfg, &kind, why, sizeof(why)) == 0;
	bool running = l->state == STATE_RUNNING;
	bool waiting = l->state == STATE_WAITING && !l->start_asked; /* for Start */
	json_writer_t w;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "type");
	jsonw_string(&w, "state");
	jsonw_key(&w, "state");
	jsonw_string(&w, state_names[l->state]);
	jsonw_key(&w, "model");
	jsonw_string(&w, cfg->open_model ? "open" : "closed");
	jsonw_key(&w, "url");
	jsonw_string(&w, l->host ? l->host : cfg->url_text);
	if (cfg->scenario_path) {
		jsonw_key(&w, "scenario");
		jsonw_string(&w, cfg->scenario_path);
	}
	if (l->o->scrape_url) { /* "target" events come */
		jsonw_key(&w, "scrape");
		jsonw_string(&w, l->o->scrape_url);
	}
	jsonw_key(&w, "users");
	jsonw_uint(&w, l->users_asked >= 0 ? (uint64_t)l->users_asked : cfg->connections);
	jsonw_key(&w, "users_max");
	jsonw_uint(&w, cfg->users_max ? cfg->users_max : cfg->connections);
	jsonw_key(&w, "spawn_rate"); /* as asked last (Start, a change), else the command line's */
	jsonw_double(&w, l->spawn_asked >= 0 ? l->spawn_asked : l->o->spawn_rate, 3);
	jsonw_key(&w, "rate");
	if (cfg->open_model && !(l->o->ui.rate_from_start && l->state == STATE_WAITING))
		jsonw_double(&w, cfg->rate, 3);
	else
		jsonw_null(&w);
	jsonw_key(&w, "interactive");
	jsonw_bool(&w, l->o->ui.interactive);
	write_classes(l, &w);
	jsonw_key(&w, "controls");
	jsonw_object_begin(&w);
	control(&w, "start", waiting, "the run has started");
	control(&w, "load", running && steerable, running ? why : "not running");
	control(&w, "stop", running, "not running");
	control(&w, "reset", running, "not running");
	control(&w, "host", waiting && !cfg->scenario_path,
	        !waiting ? "the run has started"
	                 : "a scenario's requests name their own paths: give "
	                   "--host on the command line");
	control(&w, "classes", waiting && l->o->scenario,
	        !waiting ? "the run has started"
	                 : "a URL has no user classes: a scenario's are picked here");
	control(&w, "quit", l->state == STATE_STOPPED || l->state == STATE_WAITING,
	        "stop the run first");
	jsonw_object_end(&w);
	if (l->started_wall_ns) {
		char at[40];

		clock_format_rfc3339(l->started_wall_ns, at, sizeof(at));
		jsonw_key(&w, "started_at");
		jsonw_string(&w, at);
		/* below 0 before the start (a coordinator's is a few seconds ahead, --start-at) */
		jsonw_key(&w, "elapsed_s");
		jsonw_double(&w, (double)(int64_t)(clock_wall_ns() - l->started_wall_ns) / NS_PER_S,
		             3);
	}
	if (l->reset_second) {
		jsonw_key(&w, "reset_at_s");
		jsonw_int(&w, l->reset_second);
	}
	jsonw_key(&w, "thresholds");
	jsonw_array_begin(&w);
	if (l->o->threshold_count && l->r->counters.requests) {
		double values[THRESHOLD_MAX];
		bool passed[THRESHOLD_MAX];

		if (report_thresholds(l->r, l->o->thresholds, l->o->threshold_count, values,
		                      passed) == 0)
			for (int i = 0; i < l->o->threshold_count; i++) {
				jsonw_object_begin(&w);
				jsonw_key(&w, "expr");
				jsonw_string(&w, l->o->thresholds[i].expr);
				jsonw_key(&w, "value");
				jsonw_double(&w, values[i], 3);
				jsonw_key(&w, "ok");
				jsonw_bool(&w, passed[i]);
				jsonw_object_end(&w);
			}
	}
	jsonw_array_end(&w);
	jsonw_object_end(&w);
}

/* Publishes the state (under lock). */
static void publish_state(cli_live_t *l)
{
	buf_t b;

	if (!l->ui)
		return;
	buf_init(&b, 1u << 20);
	write_state(l, &b);
	if (!buf_error(&b))
		ui_publish(l->ui, b.data, b.len, UI_EVENT_KEPT);
	buf_free(&b);
}

/* A control that took effect, as a marker every chart draws (under lock). t: seconds since
 * the run's start (the stream's seconds); kind: start, stop, reset or quit (load changes are
 * the engine's own markers, published by live/). */
static void publish_marker(cli_live_t *l, const char *kind, const char *what)
{
	char text[256];
	double t = l->started_wall_ns && clock_wall_ns() > l->started_wall_ns
	               ? (double)(clock_wall_ns() - l->started_wall_ns) / NS_PER_S
	               : 0;
	int n = snprintf(text, sizeof(text),
	                 "{\"type\":\"marker\",\"kind\":\"%s\",\"t\":%.3f,\"what\":\"%s\"}", kind,
	                 t, what);

	if (l->ui && n > 0 && (size_t)n < sizeof(text))
		ui_publish(l->ui, text, (size_t)n, UI_EVENT_KEPT);
}

/* ---- the stream ---- */

static void publish_event(void *ctx, const char *json, size_t len, enum live_event_keep keep)
{
	cli_live_t *l = ctx;

	if (l->ui)
		ui_publish(l->ui, json, len,
		           keep == LIVE_EVENT_LATEST ? UI_EVENT_LATEST : UI_EVENT_KEPT);
}

void cli_live_publish(cli_live_t *l, const char *json, size_t len, enum live_event_keep keep)
{
	if (l)
		publish_event(l, json, len, keep);
}

static void on_second(void *ctx, const delta_t *d)
{
	cli_live_t *l = ctx;
	delta_t since_reset = *d;

	pthread_mutex_lock(&l->lock);
	if (d->second > l->last_second)
		l->last_second = d->second;
	since_reset.second -= l->reset_second;
	if (since_reset.second >= 0)
		(void)result_add(l->r, &since_reset); /* a failure is counted in r->dropped */
	if (l->live)
		(void)live_add(l->live, l->r, d);
	pthread_mutex_unlock(&l->lock);
}

/* --scrape: the target's seconds that are final now (over: the scraper has stopped, all
 * are), as "target" events; under lock. During the run only seconds before the latest whole
 * one: a whole second that is not the last is 1 s long. */
static void publish_target(cli_live_t *l, bool over)
{
	int64_t upto = over ? l->last_second : l->done_second - 1;
	double length = 1;

	if (!l->ui || !l->o->scrape_url)
		return;
	if (over && upto >= l->reset_second &&
	    (uint64_t)(upto - l->reset_second) < l->r->point_count) {
		result_cursor_t c;
		const result_point_t *p;

		result_cursor_init(&c);
		p = result_point_at(l->r, (size_t)(upto - l->reset_second), &c);
		if (p)
			length = p->length_s; /* the run's last second */
		result_cursor_free(&c);
	}
	cli_target_publish(&l->target, l->started_wall_ns, upto, length, over, publish_event, l);
}

static void on_second_done(void *ctx, int64_t second)
{
	cli_live_t *l = ctx;

	pthread_mutex_lock(&l->lock);
	if (second > l->done_second)
		l->done_second = second;
	if (l->live) {
		live_second_done(l->live, l->r, second);
		if (l->o->threshold_count)
			publish_state(l); /* the thresholds' live verdicts */
		publish_target(l, false);
	}
	pthread_mutex_unlock(&l->lock);
}

void cli_live_scraped(void *ctx, const scrape_sample_t *sample)
{
	cli_live_t *l = ctx;

	pthread_mutex_lock(&l->lock);
	cli_target_add(&l->target, sample);
	publish_target(l, false);
	pthread_mutex_unlock(&l->lock);
}

const gen_consumer_t *cli_live_consumer(cli_live_t *l)
{
	return &l->consumer;
}

void cli_live_lock(cli_live_t *l)
{
	pthread_mutex_lock(&l->lock);
}

void cli_live_unlock(cli_live_t *l)
{
	pthread_mutex_unlock(&l->lock);
}

/* ---- controls (on the UI thread) ---- */

/* What a control's arguments are checked against. */
static cli_ui_run_t run_of(const cli_live_t *l)
{
	const gen_config_t *cfg = &l->o->cfg;

	return (cli_ui_run_t){.open_model = cfg->open_model,
	                      .users_room = cfg->users_max ? cfg->users_max : cfg->connections,
	                      .scenario_host = cfg->scenario_path != NULL,
	                      .scenario = l->o->scenario};
}

static int control_start(cli_live_t *l, const json_t *args, char *err, size_t errlen)
{
	cli_ui_run_t run = run_of(l);
	run_options_t *o = l->o;
	cli_ui_start_t start;
	gen_steer_t s;
	int rc;

	/* once asked, the main thread reads o and the scenario's weights as it starts the run */
	if (l->state != STATE_WAITING || l->start_asked) {
		snprintf(err, errlen, "the run has started");
		return 409;
	}
	if ((rc = cli_ui_read_start(args, &run, &start, err, errlen)))
		return rc;
	/* the last check, and the first change: a scenario's weights (a URL has no classes and
	 * a scenario no host, so nothing below can refuse once they are set) */
	if (start.classes && (rc = cli_ui_set_classes(&run, start.classes, err, errlen)))
		return rc;
	if (start.host) {
		free(l->host);
		if (!(l->host = strdup(start.host))) {
			snprintf(err, errlen, "out of memory");
			return 503;
		}
		o->cfg.url = start.url;
		o->cfg.url_text = l->host;
	}
	/* the run starts with no user and goes to the users asked at the spawn rate (the
	 * engine's steering, the same as a change later), or at the rate asked */
	s = start.load;
	if (s.kind == GEN_STEER_USERS) {
		o->cfg.connections = 0;
		o->ui.start = s;
		o->ui.has_start = true;
		l->users_asked = s.value;
		l->spawn_asked = s.spawn_rate;
	} else {
		o->cfg.rate = s.value;
		schedule_constant(&o->cfg.schedule, s.value, 0);
	}
	l->start_asked = true;
	pthread_cond_broadcast(&l->changed);
	return 0;
}

static int control_load(cli_live_t *l, const json_t *args, char *err, size_t errlen)
{
	cli_ui_run_t run = run_of(l);
	gen_steer_t s;
	int rc;

	if (l->state != STATE_RUNNING) {
		snprintf(err, errlen, "not running");
		return 409;
	}
	if ((rc = cli_ui_read_load(args, &run, &s, err, errlen)))
		return rc;
	pthread_mutex_unlock(&l->lock); /* the engine is never called under lock */
	pthread_mutex_lock(&l->run_lock);
	rc = l->run ? gen_steer(l->run, &s, err, errlen) : -EBUSY;
	if (!l->run)
		snprintf(err, errlen, "the run is over");
	pthread_mutex_unlock(&l->run_lock);
	pthread_mutex_lock(&l->lock);
	if (rc == 0 && s.kind == GEN_STEER_USERS) {
		l->users_asked = s.value;
		l->spawn_asked = s.spawn_rate;
	}
	if (rc == 0 && s.kind == GEN_STEER_RATE)
		l->o->cfg.rate = s.value;
	return rc == 0 ? 0 : rc == -EBUSY ? 409 : 400;
}

static int control_stop(cli_live_t *l, char *err, size_t errlen)
{
	if (l->state != STATE_RUNNING) {
		snprintf(err, errlen, "not running");
		return 409;
	}
	l->state = STATE_STOPPING;
	l->stop_asked = true;
	publish_marker(l, "stop", "stopped");
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_lock(&l->run_lock);
	if (l->run)
		gen_stop(l->run);
	pthread_mutex_unlock(&l->run_lock);
	pthread_mutex_lock(&l->lock);
	return 0;
}

/* The run's result starts again: the seconds from the one being measured on. */
static int control_reset(cli_live_t *l, char *err, size_t errlen)
{
	if (l->state != STATE_RUNNING) {
		snprintf(err, errlen, "not running");
		return 409;
	}
	result_free(l->r);
	result_init(l->r);
	l->reset_second = l->last_second + 1;
	publish_marker(l, "reset", "statistics reset");
	return 0;
}

static bool page_control(const char *name)
{
	static const char *const names[] = {"start", "load", "stop", "reset", "quit"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

static int on_control(void *ctx, const char *name, const json_t *args, buf_t *reply, char *err,
                      size_t errlen)
{
	cli_live_t *l = ctx;
	int rc;

	/* a coordinator's own (join, deltas): they feed the stream, which takes the lock */
	if (l->o->ui.extra_control && !page_control(name))
		return l->o->ui.extra_control(l->o->ui.extra_ctx, name, args, reply, err, errlen);
	pthread_mutex_lock(&l->lock);
	if (strcmp(name, "start") == 0) {
		rc = control_start(l, args, err, errlen);
	} else if (strcmp(name, "load") == 0) {
		rc = control_load(l, args, err, errlen);
	} else if (strcmp(name, "stop") == 0) {
		rc = control_stop(l, err, errlen);
	} else if (strcmp(name, "reset") == 0) {
		rc = control_reset(l, err, errlen);
	} else if (strcmp(name, "quit") == 0) {
		rc = l->state == STATE_STOPPED || l->state == STATE_WAITING ? 0 : 409;
		if (rc)
			snprintf(err, errlen, "stop the run first");
		else
			l->quit_asked = true;
		if (!rc)
			publish_marker(l, "quit", "quit");
		pthread_cond_broadcast(&l->changed);
	} else {
		snprintf(err, errlen, "no control '%s' (start, load, stop, reset, quit)",
		         ECHO(name));
		rc = 404;
	}
	if (rc == 0) {
		write_state(l, reply);
		publish_state(l);
	}
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* ---- downloads and metrics ---- */

static const ui_download_t downloads[] = {
    {"snapshot", "application/json", NULL},
    {"state", "application/json", NULL},
    {"result.json", "application/json", "surge-result.json"},
    {"report.html", "text/html; charset=utf-8", "surge-report.html"},
    {"stats.csv", "text/csv; charset=utf-8", "surge_stats.csv"},
    {"stats_history.csv", "text/csv; charset=utf-8", "surge_stats_history.csv"},
    {"failures.csv", "text/csv; charset=utf-8", "surge_failures.csv"},
};

/* The run so far as a document would hold it, into copy: r's figures (its open seconds
 * sealed), the config, judged by the run's thresholds. Under lock; 0 or -ENOMEM. */
static int so_far(cli_live_t *l, result_t *copy)
{
	const run_options_t *o = l->o;
	report_asked_t asked = {
	    .thresholds = o->thresholds,
	    .threshold_count = o->threshold_count,
	    .targets = o->targets,
	    .profile = o->profile ? o->profile->name : NULL,
	    .cost_per_hour_usd = o->cost_per_hour,
	    .replicas = o->replicas,
	};
	int rc;

	result_init(copy);
	if (l->state == STATE_STOPPED) /* the final result, judged: as written at the end */
		return result_merge(copy, l->r, NULL) < 0 ? -ENOMEM : 0;
	if ((rc = result_seal(l->r)) < 0 || (rc = result_merge(copy, l->r, NULL)) < 0)
		return rc;
	rc = result_finish_so_far(&o->cfg,
	                          l->started_wall_ns + (uint64_t)l->reset_second * NS_PER_S, copy);
	return rc < 0 ? rc : report_judge(copy, &asked);
}

static int on_download(void *ctx, const char *name, buf_t *out, char *err, size_t errlen)
{
	cli_live_t *l = ctx;
	result_t copy;
	int rc;

	pthread_mutex_lock(&l->lock);
	if (strcmp(name, "state") == 0 || strcmp(name, "snapshot") == 0) {
		rc = 0;
		if (name[1] == 't')
			write_state(l, out);
		else
			rc = live_snapshot(l->r, out);
		pthread_mutex_unlock(&l->lock);
		return rc < 0 || buf_error(out) ? 503 : 0;
	}
	if (l->state == STATE_WAITING) {
		pthread_mutex_unlock(&l->lock);
		snprintf(err, errlen, "no result yet: the run has not started");
		return 409;
	}
	rc = so_far(l, &copy);
	pthread_mutex_unlock(&l->lock);
	if (rc == 0) {
		if (strcmp(name, "result.json") == 0)
			rc = result_encode(&copy, out);
		else if (strcmp(name, "report.html") == 0)
			rc = report_html(&copy, out, err, errlen);
		else if (strcmp(name, "stats.csv") == 0)
			rc = report_csv_stats(&copy, out, err, errlen);
		else if (strcmp(name, "stats_history.csv") == 0)
			rc = report_csv_history(&copy, out, err, errlen);
		else
			rc = report_csv_failures(&copy, out, err, errlen);
	}
	result_free(&copy);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s", strerror(-rc));
		return 503;
	}
	return 0;
}

static int on_metrics(void *ctx, buf_t *out)
{
	cli_live_t *l = ctx;
	int rc;

	pthread_mutex_lock(&l->lock);
	rc = live_metrics(l->r, l->process_start_ns, out);
	pthread_mutex_unlock(&l->lock);
	return rc;
}

/* A binary control body: only a coordinator's own take one (its shards' batches). */
static int on_control_bytes(void *ctx, const char *name, const uint8_t *body, size_t len,
                            buf_t *reply, char *err, size_t errlen)
{
	cli_live_t *l = ctx;

	return l->o->ui.extra_control_bytes(l->o->ui.extra_ctx, name, body, len, reply, err,
	                                    errlen);
}

/* ---- the run's life ---- */

static int start_server(cli_live_t *l, const char *addr, const char *token, enum ui_mode mode,
                        ui_t **out)
{
	char host[256], url[512], err[300], generated[UI_TOKEN_SIZE];
	ui_config_t cfg;
	uint16_t port = UI_DEFAULT_PORT;
	bool loopback;

	if (addr && split_address(addr, host, sizeof(host), &port) < 0)
		return cli_usage_error("run", "%s '%s': expected HOST:PORT, :PORT or PORT",
		                       mode == UI_MODE_FULL ? "--ui" : "--metrics", ECHO(addr));
	if (!addr)
		snprintf(host, sizeof(host), "%s", UI_DEFAULT_HOST);
	ui_config_defaults(&cfg);
	cfg.host = host;
	cfg.port = port;
	cfg.mode = mode;
	cfg.token = token;
	if (mode == UI_MODE_FULL && l->o->ui.max_body_bytes)
		cfg.max_body_bytes = l->o->ui.max_body_bytes;
	if (mode == UI_MODE_FULL && l->o->ui.max_connections)
		cfg.max_connections = l->o->ui.max_connections;
	if (ui_host_is_loopback(host, &loopback, err, sizeof(err)) < 0)
		return cli_usage_error("run", "%s: %s", mode == UI_MODE_FULL ? "--ui" : "--metrics",
		                       err);
	if (mode == UI_MODE_FULL && !token && !loopback) {
		/* anywhere but loopback the page can start a load: a token, printed below */
		if (ui_token_generate(generated) < 0)
			return cli_usage_error("run", "--ui: cannot make a token: give --ui-token");
		cfg.token = generated;
	}
	cfg.control = mode == UI_MODE_FULL ? on_control : NULL;
	cfg.control_bytes =
	    mode == UI_MODE_FULL && l->o->ui.extra_control_bytes ? on_control_bytes : NULL;
	cfg.metrics = on_metrics;
	cfg.download = mode == UI_MODE_FULL ? on_download : NULL;
	cfg.downloads = mode == UI_MODE_FULL ? downloads : NULL;
	cfg.download_count = mode == UI_MODE_FULL ? sizeof(downloads) / sizeof(downloads[0]) : 0;
	cfg.ctx = l;
	if (ui_server_start(&cfg, out, err, sizeof(err)) < 0)
		return cli_usage_error("run", "%s: %s", mode == UI_MODE_FULL ? "--ui" : "--metrics",
		                       err);
	/* a token the user gave is theirs to keep out of logs (a pod's is read by whoever reads
	 * its log): the address alone; one surge made is printed, or nobody could use it */
	if (token && !l->o->ui.token_made) {
		ui_origin(*out, url, sizeof(url));
		if (mode == UI_MODE_FULL)
			fprintf(stderr,
			        "surge run: UI at %s/ (with the token you gave: ?token=...)\n",
			        url);
		else
			fprintf(stderr,
			        "surge run: metrics at %s/metrics (with the token you gave)\n",
			        url);
		return 0;
	}
	ui_url(*out, url, sizeof(url));
	if (mode == UI_MODE_FULL)
		fprintf(stderr, "surge run: UI at %s\n", url);
	else
		fprintf(stderr, "surge run: metrics at %smetrics\n", url);
	return 0;
}

int cli_live_open(run_options_t *o, result_t *r, cli_live_t **out)
{
	cli_live_t *l;
	int rc;

	*out = NULL;
	if (!o->ui.ui && !o->ui.metrics)
		return 0;
	if (!(l = calloc(1, sizeof(*l)))) {
		fprintf(stderr, "surge run: out of memory\n");
		return EXIT_GENERATOR;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_mutex_init(&l->run_lock, NULL);
	pthread_cond_init(&l->changed, NULL);
	l->o = o;
	l->r = r;
	l->last_second = -1;
	l->done_second = -1;
	l->spawn_asked = -1;
	l->users_asked = -1;
	l->process_start_ns = clock_wall_ns();
	l->state = o->ui.interactive ? STATE_WAITING : STATE_RUNNING;
	l->consumer =
	    (gen_consumer_t){.ctx = l, .second = on_second, .second_done = on_second_done};
	if (o->ui.ui && !(l->live = live_new(publish_event, l))) {
		cli_live_close(l);
		fprintf(stderr, "surge run: out of memory\n");
		return EXIT_GENERATOR;
	}
	if ((o->ui.ui &&
	     (rc = start_server(l, o->ui.ui_addr, o->ui.token, UI_MODE_FULL, &l->ui))) ||
	    (o->ui.metrics && (rc = start_server(l, o->ui.metrics, o->ui.token,
	                                         UI_MODE_METRICS_ONLY, &l->metrics)))) {
		cli_live_close(l);
		return rc;
	}
	pthread_mutex_lock(&l->lock);
	publish_state(l);
	pthread_mutex_unlock(&l->lock);
	*out = l;
	return 0;
}

/* Waits on changed for up to 100 ms; the signal taken, or 0. */
static int wait_a_little(cli_live_t *l, const sigset_t *signals)
{
	struct timespec at, none = {0, 0};

	clock_gettime(CLOCK_REALTIME, &at);
	at.tv_nsec += 100 * 1000 * 1000;
	if (at.tv_nsec >= 1000000000) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&l->changed, &l->lock, &at);
	return sigtimedwait(signals, NULL, &none) > 0 ? 1 : 0;
}

int cli_live_wait_start(cli_live_t *l, run_options_t *o, const sigset_t *signals)
{
	int rc = 0;

	(void)o;
	if (!l || !l->ui || !o->ui.interactive)
		return 0;
	fprintf(stderr, "surge run: waiting for Start in the UI (Ctrl-C quits)\n");
	pthread_mutex_lock(&l->lock);
	while (!l->start_asked && !l->quit_asked)
		if (wait_a_little(l, signals)) {
			l->quit_asked = true;
			break;
		}
	rc = l->start_asked && !l->quit_asked ? 0 : 1;
	pthread_mutex_unlock(&l->lock);
	return rc;
}

void cli_live_run_started(cli_live_t *l, gen_run_t *run)
{
	char err[256];

	if (!l)
		return;
	pthread_mutex_lock(&l->run_lock);
	l->run = run;
	/* Start's users: joining at its spawn rate, the engine's steering from the first instant */
	if (run && l->o->ui.has_start && gen_steer(run, &l->o->ui.start, err, sizeof(err)) < 0)
		fprintf(stderr, "surge run: %s\n", err);
	pthread_mutex_unlock(&l->run_lock);
	pthread_mutex_lock(&l->lock);
	l->started_wall_ns = run ? gen_started_wall_ns(run) : l->o->cfg.start_wall_ns;
	if (l->state == STATE_WAITING)
		l->state = STATE_RUNNING;
	publish_marker(l, "start", "started");
	publish_state(l);
	pthread_mutex_unlock(&l->lock);
}

void cli_live_run_over(cli_live_t *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->run_lock);
	l->run = NULL;
	pthread_mutex_unlock(&l->run_lock);
	pthread_mutex_lock(&l->lock);
	if (l->state == STATE_RUNNING)
		l->state = STATE_STOPPING;
	pthread_mutex_unlock(&l->lock);
}

void cli_live_adjust(cli_live_t *l, result_t *r)
{
	if (!l)
		return;
	if (l->stop_asked)
		r->interrupted = false; /* Stop ends an interactive run as its end would */
	if (l->users_asked >= 0)
		r->config.connections = (uint64_t)l->users_asked; /* the users asked last */
	if (!l->reset_second)
		return;
	/* after a Reset the result is the run from that second on */
	r->started_wall_ns += (uint64_t)l->reset_second * NS_PER_S;
	r->duration_s -= (double)l->reset_second;
	if (r->duration_s < 0)
		r->duration_s = 0;
}

void cli_live_finished(cli_live_t *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	if (l->live)
		live_finish(l->live, l->r);
	publish_target(l, true); /* the scraper has stopped: its last samples are in */
	l->state = STATE_STOPPED;
	publish_state(l);
	pthread_mutex_unlock(&l->lock);
}

void cli_live_wait_quit(cli_live_t *l, const sigset_t *signals)
{
	if (!l || !l->ui || !l->o->ui.interactive)
		return;
	fprintf(stderr, "surge run: the UI stays for the figures and downloads: Quit in it, or "
	                "Ctrl-C\n");
	pthread_mutex_lock(&l->lock);
	while (!l->quit_asked && !wait_a_little(l, signals))
		;
	pthread_mutex_unlock(&l->lock);
}

void cli_live_origin(cli_live_t *l, char *out, size_t len)
{
	if (l && l->ui)
		ui_origin(l->ui, out, len);
	else if (len)
		out[0] = '\0';
}

bool cli_live_stop_asked(cli_live_t *l)
{
	bool asked;

	pthread_mutex_lock(&l->lock);
	asked = l->stop_asked;
	pthread_mutex_unlock(&l->lock);
	return asked;
}

uint64_t cli_live_refused(cli_live_t *l)
{
	ui_stats_t st;

	if (!l->ui)
		return 0;
	ui_stats(l->ui, &st);
	return st.refused_auth;
}

void cli_live_close(cli_live_t *l)
{
	if (!l)
		return;
	if (l->ui)
		ui_server_stop(l->ui);
	if (l->metrics)
		ui_server_stop(l->metrics);
	live_free(l->live);
	free(l->host);
	pthread_mutex_destroy(&l->lock);
	pthread_mutex_destroy(&l->run_lock);
	pthread_cond_destroy(&l->changed);
	free(l);
}
