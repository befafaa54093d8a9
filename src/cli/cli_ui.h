/* cli_ui: the live side of `surge run` (docs/ui.md) — `--ui [ADDR]`, `--ui-token`,
 * `--metrics ADDR`: the UI server (ui/) started before the run, the run's stream summed under
 * one lock into its result and into live/'s events, the page's controls turned into the
 * engine's calls (gen_steer, gen_stop), and the state the page shows.
 *
 * Locks, in the one order they are taken: the engine's timeline lock (the consumer's calls
 * come under it) → `lock` (the run's result, live, the state) → the UI's own. The engine is
 * never called under `lock`; the steering calls take `run_lock` instead, which keeps the run
 * alive until cli_live_run_over. */
#ifndef SURGE_CLI_UI_H
#define SURGE_CLI_UI_H

#include <signal.h>
#include <stdbool.h>

#include "gen/gen.h"
#include "live/live.h"
#include "result/result.h"
#include "scrape/scrape.h"
#include "ui/ui.h"

struct run_options;

enum { CLI_OPT_UI = 440, CLI_OPT_UI_TOKEN, CLI_OPT_METRICS };

/* surge run's options of the UI (rows of its option table). */
#define CLI_UI_OPTIONS                                                                             \
	{"ui", CLI_OPT_UI, "ADDR", NULL, CLI_OPTION_NO_ENV | CLI_OPTION_OPTIONAL_VALUE},           \
	    {"ui-token", CLI_OPT_UI_TOKEN, "TOKEN", NULL, 0},                                      \
	{                                                                                          \
		"metrics", CLI_OPT_METRICS, "ADDR", NULL, 0                                        \
	}

typedef struct cli_ui_options {
	bool ui;              /* --ui */
	const char *ui_addr;  /* --ui=ADDR or --ui ADDR; NULL: 127.0.0.1:8089 */
	const char *token;    /* --ui-token / SURGE_UI_TOKEN */
	bool token_made;      /* the token is surge's own (a coordinator's): printed in the URL */
	const char *metrics;  /* --metrics ADDR: /metrics only */
	bool interactive;     /* --ui without -d or -n: the run waits for Start, ends on Stop */
	uint32_t users_max;   /* room for users the page may ask (closed model) */
	bool has_start;       /* Start asked for users: the run goes to them at once */
	bool rate_from_start; /* --model open without a rate: Start gives it */
	gen_steer_t start;
	/* a distributed run's coordinator (cli_coordinator.c): controls of its own (join,
	 * deltas) beside the page's, called outside the live side's lock, and larger bounds
	 * for them: a batch's body, and a connection kept by each shard beside the page's
	 * (0: the UI's defaults) */
	ui_control_fn extra_control;
	ui_control_bytes_fn extra_control_bytes; /* a binary body (the shards' batches) */
	void *extra_ctx;
	uint32_t max_body_bytes;
	uint32_t max_connections;
} cli_ui_options_t;

/* 0, or EXIT_USAGE (message printed). */
int cli_ui_option(struct run_options *o, int opt, const char *arg);
/* Whether a command-line word after --ui is its ADDR (HOST:PORT, :PORT or PORT; not a URL,
 * not a file): then it is taken as such. */
bool cli_ui_takes_address(struct run_options *o, const char *arg);
/* After the shape is resolved: an interactive run is made to last until stopped, with room
 * for the users the page may ask. 0 or EXIT_USAGE. */
int cli_ui_resolve(struct run_options *o);

typedef struct cli_live cli_live_t;

/* Starts what o asks (none: *out is NULL and 0), with r as the run's result the stream is
 * summed into; prints the UI's address. 0, or EXIT_USAGE (message printed). */
int cli_live_open(struct run_options *o, result_t *r, cli_live_t **out);
/* The run's consumer: every delta into r and live, under the lock. */
const gen_consumer_t *cli_live_consumer(cli_live_t *l);
void cli_live_lock(cli_live_t *l);
void cli_live_unlock(cli_live_t *l);
/* Interactive: waits for Start (its users, rate, host and classes applied to o) — 0; or for
 * Quit or a signal — 1. */
int cli_live_wait_start(cli_live_t *l, struct run_options *o, const sigset_t *signals);
/* The run has started (the page may steer and stop it) / is over (it may not any more:
 * called before gen_finish). run NULL: a run of other processes (a coordinator's), started at
 * o->cfg.start_wall_ns; the page's Stop is then only recorded (cli_live_stop_asked). */
void cli_live_run_started(cli_live_t *l, gen_run_t *run);
void cli_live_run_over(cli_live_t *l);
/* --scrape (a scrape_listener_fn, ctx the cli_live_t): each sample the scraper keeps, on its
 * thread; the target's seconds it makes final go to the page as "target" events. */
void cli_live_scraped(void *ctx, const scrape_sample_t *sample);
/* r, completed at the end of the run: after a Reset it is the run from that second on. */
void cli_live_adjust(cli_live_t *l, result_t *r);
/* The judged result of the whole run: the last events, state stopped. */
void cli_live_finished(cli_live_t *l);
/* Interactive: the page stays until Quit or a signal. */
void cli_live_wait_quit(cli_live_t *l, const sigset_t *signals);
void cli_live_close(cli_live_t *l);
/* The page's server as another process connects to it: "http://HOST:PORT" (the host name for
 * a wildcard address), "" without one. */
void cli_live_origin(cli_live_t *l, char *out, size_t len);
/* Whether the page asked Stop; the requests the server refused for their token so far. */
bool cli_live_stop_asked(cli_live_t *l);
/* One more event for the page (a coordinator's shards): kept, or LIVE_EVENT_LATEST. */
void cli_live_publish(cli_live_t *l, const char *json, size_t len, enum live_event_keep keep);
uint64_t cli_live_refused(cli_live_t *l);

#endif
