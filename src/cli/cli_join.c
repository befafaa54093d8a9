/* cli_join: `surge run --join http://COORDINATOR [--token T]` — one shard of a distributed run
 * (docs/distributed.md). It joins (its index from the coordinator, or JOB_COMPLETION_INDEX),
 * takes the test the coordinator holds (its options applied as if given here, then resolved
 * by surge run's own code), runs its exact share from the common start (--shard, --start-at's
 * machinery), and streams each whole second to the coordinator from a thread of its own
 * (dist_sender.c's batches, dist_http.c's POSTs). Whatever the coordinator gets, the shard's
 * own outputs (--json ...) hold all it measured, and its exit code is its own part's verdict.
 * A coordinator that answers nothing for CLI_DIST_COORDINATOR_GRACE, or refuses this shard,
 * makes it stop; a coordinator that asks every shard to stop is obeyed within its next
 * answer (a second). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_options.h"
#include "cli/cli_run.h"
#include "core/echo.h"
#include "core/json.h"
#include "core/units.h"
#include "core/version.h"
#include "dist/dist.h"
#include "dist/dist_http.h"
#include "scenario/scenario.h"
#include "ui/ui.h"

#define JOIN_POLL_NS      (250 * NS_PER_MS) /* asking again until the start is set */
#define JOIN_TRY_NS       (5 * NS_PER_S)    /* one join request */
#define SEND_PERIOD_NS    NS_PER_S          /* a batch, or a heartbeat */
#define SEND_TRY_NS       (2 * NS_PER_S)    /* one batch */
#define SEND_RETRY_NS     (500 * NS_PER_MS) /* after a failure */
#define START_LATE_MAX_NS NS_PER_S          /* a start this far past: too late to take part */

/* The options a shard takes from its own command line: what is its machine's (its threads,
 * its event loops' I/O backend, its idle CPUs) and its files'; the test is the coordinator's. */
static const char *const own_options[] = {
    "threads",  "io",      "idle-poll", "json", "html",  "csv",          "junit",
    "markdown", "hdr-log", "quiet",     "join", "token", "join-timeout",
};

typedef struct cli_join {
	run_options_t *o;
	dist_http_t http;
	char id[DIST_ID_LEN + 1];
	char name[DIST_NAME_MAX + 1];
	json_t *answer; /* the join's last answer */
	json_t *config; /* the test, from the first answer that carried it: its strings are used */
	uint32_t index, count;
	uint64_t start_ns;
	dist_sender_t *sender;
	cli_run_hooks_t hooks;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* below */
	pthread_cond_t wake;
	gen_run_t *run;    /* running: what a stop stops */
	bool stop_asked;   /* by the coordinator, or because it is lost: once */
	bool final_queued; /* the run is over: send what is left, then end */
	bool hurry;        /* send now, not at the next period */
	bool gave_up;      /* the coordinator refused a batch or is lost: nothing more is sent */
	bool quit;
	uint64_t failing_since_ns;
	uint64_t sending_from_ns, sending_to_ns; /* the sender's life, for its bytes a second */
} cli_join_t;

/* ---- joining ---- */

static int own_options_only(const run_options_t *o)
{
	for (uint32_t i = 0; i < o->applied_count; i++) {
		const char *name = cli_run_option_name(o->applied[i].key);
		bool own = false;

		for (size_t k = 0; name && k < sizeof(own_options) / sizeof(own_options[0]); k++)
			own |= strcmp(name, own_options[k]) == 0;
		if (name && !own)
			return cli_usage_error(
			    "run",
			    "--join: --%s is the coordinator's to give (every shard "
			    "runs the test it holds): leave it out here",
			    name);
	}
	return 0;
}

/* JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's pod): the index this shard asks for; -1
 * when unset. -2 after a usage error (printed). */
static long long asked_index(void)
{
	const char *v = cli_env_value("JOB_COMPLETION_INDEX");
	char *end;
	long long i;

	if (!v)
		return -1;
	i = strtoll(v, &end, 10);
	if (end == v || *end || i < 0 || i >= DEAL_SHARDS_MAX) {
		cli_usage_error("run", "$JOB_COMPLETION_INDEX '%s': expected a whole number from 0",
		                ECHO(v));
		return -2;
	}
	return i;
}

static void join_body(const cli_join_t *j, long long index, buf_t *out)
{
	json_writer_t w;

	jsonw_init(&w, out, false);
	jsonw_object_begin(&w);
	jsonw_key(&w, "wire");
	jsonw_uint(&w, DIST_WIRE_VERSION);
	jsonw_key(&w, "version");
	jsonw_string(&w, surge_version);
	jsonw_key(&w, "id");
	jsonw_string(&w, j->id);
	jsonw_key(&w, "name");
	jsonw_string(&w, j->name);
	if (index >= 0) {
		jsonw_key(&w, "index");
		jsonw_uint(&w, (uint64_t)index);
	}
	jsonw_key(&w, "have_config"); /* the test is sent once */
	jsonw_bool(&w, j->config != NULL);
	jsonw_object_end(&w);
}

/* The error line of an answer ({"error": "..."}), whole (not cut as echo_value would: it is
 * the coordinator's sentence), with its control bytes shown as \xNN: it is printed here, and
 * an escape sequence in it must not reach the terminal. */
static void answer_error(const buf_t *answer, char *out, size_t len)
{
	json_t *doc = json_loadb(answer->data, answer->len, 0, NULL);
	const char *e = json_string_value(json_object_get(doc, "error"));
	size_t o = 0;

	for (e = e ? e : "(no message)"; *e && o + 5 < len; e++) {
		unsigned char c = (unsigned char)*e;

		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	json_decref(doc);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {(time_t)(ns / NS_PER_S), (long)(ns % NS_PER_S)};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* The join's answer, once it carries the start: 0; 1 when it does not yet; an exit code. */
static int read_answer(cli_join_t *j, const buf_t *answer)
{
	json_error_t je;
	json_t *doc = json_loadb(answer->data, answer->len, JSON_ALLOW_NUL, &je);
	dist_join_answer_t a;
	int rc = dist_join_read_answer(doc, j->config != NULL, &a);

	if (rc == -ERANGE) {
		fprintf(stderr, "surge run: --join: the coordinator gave shard %lld of %lld\n",
		        (long long)json_integer_value(json_object_get(doc, "index")) + 1,
		        (long long)json_integer_value(json_object_get(doc, "count")));
		json_decref(doc);
		return EXIT_USAGE;
	}
	if (rc < 0) {
		json_decref(doc);
		fprintf(stderr, "surge run: --join: the coordinator's answer is not a join's "
		                "(another surge version?)\n");
		return EXIT_USAGE;
	}
	if (!j->config)
		j->config = json_incref((json_t *)a.config);
	j->index = a.index;
	j->count = a.count;
	if (a.stop) {
		json_decref(doc);
		fprintf(stderr, "surge run: the coordinator stopped the test before it started: "
		                "nothing measured (exit 5)\n");
		return EXIT_NOTHING;
	}
	if (!a.start_ns) {
		json_decref(doc);
		return 1;
	}
	j->start_ns = a.start_ns;
	json_decref(j->answer);
	j->answer = doc;
	return 0;
}

/* Joins and waits for the start, asking again (backing off while the coordinator does not
 * answer: a pod may start before it) until the join timeout: 0 or an exit code. */
static int join(cli_join_t *j, long long index)
{
	uint64_t timeout =
	    j->o->dist.join_timeout_ns ? j->o->dist.join_timeout_ns : CLI_DIST_JOIN_TIMEOUT_NS;
	uint64_t deadline = clock_now_ns() + timeout, backoff = JOIN_POLL_NS;
	char err[512], why[512] = "";
	buf_t body, answer;
	bool said_waiting = false, said_joined = false;
	int rc = 1, status;

	buf_init(&body, 4096);
	buf_init(&answer, DIST_CONFIG_MAX + DIST_HTTP_ANSWER_MAX); /* the test comes once */
	while (rc == 1 && clock_now_ns() < deadline) {
		buf_reset(&body);
		join_body(j, index, &body);
		if (dist_http_post(&j->http, "/api/control/join", "application/json", body.data,
		                   body.len, JOIN_TRY_NS, &status, &answer, err, sizeof(err)) < 0 ||
		    status >= 500) {
			if (status >= 500 && !(err[0] = 0))
				answer_error(&answer, err, sizeof(err));
			if (!said_waiting && !j->o->quiet)
				fprintf(stderr,
				        "surge run: waiting for the coordinator at %s: %s (trying "
				        "again)\n",
				        ECHO(j->o->dist.join), err);
			said_waiting = true;
			snprintf(why, sizeof(why), "%s", err);
			sleep_ns(backoff);
			backoff = backoff * 2 > 2 * NS_PER_S ? 2 * NS_PER_S : backoff * 2;
			continue;
		}
		backoff = JOIN_POLL_NS;
		if (status != 200) {
			answer_error(&answer, err, sizeof(err));
			fprintf(stderr, "surge run: the coordinator refused this shard (%d): %s\n",
			        status, err);
			rc = EXIT_USAGE;
			break;
		}
		rc = read_answer(j, &answer);
		if (rc == 1 && !said_joined && !j->o->quiet)
			fprintf(stderr,
			        "surge run: joined %s as shard %u/%u; waiting for the others\n",
			        ECHO(j->o->dist.join), j->index + 1, j->count);
		said_joined |= rc == 1;
		if (rc == 1)
			sleep_ns(JOIN_POLL_NS);
	}
	if (rc == 1) {
		fprintf(stderr,
		        "surge run: --join: no start from the coordinator at %s within %.0fs%s%s\n",
		        ECHO(j->o->dist.join), (double)timeout / NS_PER_S, why[0] ? ": " : "", why);
		rc = EXIT_USAGE;
	}
	buf_free(&body);
	buf_free(&answer);
	return rc;
}

/* ---- the test, as the coordinator holds it ---- */

/* A scenario's files written into a private folder, loaded from there (its top level reads
 * its data files then, into memory) and the folder removed: o runs it. 0 or an exit code. */
static int load_scenario(cli_join_t *j, const json_t *scenario)
{
	char dir[4096], path[4096], err[1024];
	scenario_t *s;

	if (dist_test_unpack(scenario, dir, sizeof(dir), path, sizeof(path), err, sizeof(err)) <
	    0) {
		fprintf(stderr, "surge run: --join: %s\n", err);
		return EXIT_USAGE;
	}
	s = scenario_load(path, err, sizeof(err));
	dist_test_remove(dir, scenario);
	if (!s) {
		fprintf(stderr, "surge run: --join: the coordinator's scenario: %s\n", err);
		return EXIT_USAGE;
	}
	cli_run_scenario_begin(j->o, s);
	return 0;
}

static int apply_test(cli_join_t *j)
{
	run_options_t *o = j->o;
	const json_t *config = j->config;
	const json_t *url = json_object_get(config, "url"),
	             *scenario = json_object_get(config, "scenario"),
	             *opts = json_object_get(config, "options");
	const json_t *body = json_object_get(config, "body"), *v;
	char err[1024];
	size_t i;
	int rc;

	if (dist_join_check_test(config, err, sizeof(err)) < 0) {
		fprintf(stderr, "surge run: --join: %s\n", err);
		return EXIT_USAGE;
	}
	if (scenario && (rc = load_scenario(j, scenario)) != 0)
		return rc;
	json_array_foreach(opts, i, v)
	{
		const char *name = json_string_value(json_array_get(v, 0));
		const char *value = json_string_value(json_array_get(v, 1));

		if ((rc = cli_run_apply_named(o, name, value)) != 0)
			return rc;
	}
	if (body) { /* the bytes themselves: --body-file's file is the coordinator's */
		size_t len = json_string_length(body);

		if (!(o->body_owned = malloc(len + 1))) {
			fprintf(stderr, "surge run: out of memory\n");
			return EXIT_GENERATOR;
		}
		memcpy(o->body_owned, json_string_value(body), len + 1);
		o->cfg.body = o->body_owned;
		o->cfg.body_len = len;
		o->cfg.has_body = true;
		o->body_given = true;
	}
	if (scenario && (rc = cli_run_scenario_ready(
	                     o, json_string_value(json_object_get(scenario, "name")))) != 0)
		return rc;
	if (!scenario)
		o->cfg.url_text = json_string_value(url);
	o->cfg.shard = (deal_part_t){j->index, j->count};
	o->cfg.start_wall_ns = j->start_ns;
	return cli_run_resolve(o);
}

/* ---- the sender's thread ---- */

/* Under lock. A coordinator's request is news (not printed with -q); losing it is a warning. */
static void stop_run(cli_join_t *j, const char *why, bool warning)
{
	if (j->stop_asked)
		return;
	j->stop_asked = true;
	if (!j->o->quiet || warning)
		fprintf(stderr, "\nsurge run: %s%s\n", warning ? "warning: " : "", why);
	if (j->run)
		gen_stop(j->run);
}

/* What an answer to a batch says: acknowledged, and whether every shard is to stop. */
static void batch_answered(cli_join_t *j, int status, const buf_t *answer)
{
	char err[512], line[700];
	json_t *doc;

	if (status == 200) {
		dist_sender_acked(j->sender);
		doc = json_loadb(answer->data, answer->len, 0, NULL);
		pthread_mutex_lock(&j->lock);
		j->failing_since_ns = 0;
		if (json_is_true(json_object_get(doc, "stop")))
			stop_run(j, "the coordinator stops the test: stopping", false);
		pthread_mutex_unlock(&j->lock);
		json_decref(doc);
		return;
	}
	answer_error(answer, err, sizeof(err));
	snprintf(line, sizeof(line),
	         "coordinator refused this shard's figures (%d): %s — stopping; this shard's own "
	         "result keeps what it measured",
	         status, err);
	pthread_mutex_lock(&j->lock);
	j->gave_up = true;
	stop_run(j, line, true);
	pthread_mutex_unlock(&j->lock);
}

/* A batch not sent: tried again until the coordinator has answered nothing for the grace. */
static void batch_failed(cli_join_t *j, const char *err)
{
	uint64_t now = clock_now_ns();
	char line[700];

	pthread_mutex_lock(&j->lock);
	if (!j->failing_since_ns) {
		j->failing_since_ns = now;
		if (!j->o->quiet)
			fprintf(stderr,
			        "\nsurge run: cannot reach the coordinator: %s (trying again)\n",
			        err);
	}
	if (now - j->failing_since_ns > CLI_DIST_COORDINATOR_GRACE) {
		snprintf(line, sizeof(line),
		         "coordinator lost: nothing answered for %.0fs (%s) — stopping; this "
		         "shard's own result keeps what it measured",
		         (double)CLI_DIST_COORDINATOR_GRACE / NS_PER_S, err);
		j->gave_up = true;
		stop_run(j, line, true);
	}
	pthread_mutex_unlock(&j->lock);
}

/* Waits until the next batch is due (or the run's end asks for one at once); false when the
 * thread is to end. */
static bool wait_turn(cli_join_t *j, uint64_t period_ns)
{
	struct timespec at;
	bool go;

	clock_gettime(CLOCK_MONOTONIC, &at);
	at.tv_sec += (time_t)(period_ns / NS_PER_S);
	at.tv_nsec += (long)(period_ns % NS_PER_S);
	if (at.tv_nsec >= 1000000000L) {
		at.tv_sec++;
		at.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->lock);
	while (!j->quit && !j->gave_up && !j->hurry &&
	       pthread_cond_timedwait(&j->wake, &j->lock, &at) == 0)
		;
	j->hurry = false;
	go = !j->quit && !j->gave_up;
	pthread_mutex_unlock(&j->lock);
	return go;
}

static void *send_loop(void *arg)
{
	cli_join_t *j = arg;
	uint64_t period = 0;
	char err[512];
	buf_t body, answer;
	int status;

	buf_init(&body, DIST_BATCH_MAX);
	buf_init(&answer, DIST_HTTP_ANSWER_MAX);
	j->sending_from_ns = clock_now_ns();
	while (wait_turn(j, period) && !dist_sender_finished(j->sender)) {
		if (dist_sender_next(j->sender, j->id, &body) < 0) {
			batch_failed(j, "out of memory");
			period = SEND_RETRY_NS;
			continue;
		}
		if (dist_http_post(&j->http, "/api/control/deltas", "application/octet-stream",
		                   body.data, body.len, SEND_TRY_NS, &status, &answer, err,
		                   sizeof(err)) < 0 ||
		    status >= 500) {
			if (status >= 500 && !(err[0] = 0))
				answer_error(&answer, err, sizeof(err));
			batch_failed(j, err);
			period = SEND_RETRY_NS;
			continue;
		}
		batch_answered(j, status, &answer);
		pthread_mutex_lock(&j->lock);
		/* the run over, what is left goes out batch after batch */
		period = j->final_queued ? 0 : SEND_PERIOD_NS;
		pthread_cond_broadcast(&j->wake); /* the main thread may wait for the last one */
		pthread_mutex_unlock(&j->lock);
	}
	pthread_mutex_lock(&j->lock);
	j->quit = true;
	j->sending_to_ns = clock_now_ns();
	pthread_cond_broadcast(&j->wake);
	pthread_mutex_unlock(&j->lock);
	buf_free(&body);
	buf_free(&answer);
	return NULL;
}

static void on_started(void *ctx, gen_run_t *run)
{
	cli_join_t *j = ctx;

	pthread_mutex_lock(&j->lock);
	j->run = run;
	if (j->stop_asked) /* asked while the run was being set up */
		gen_stop(run);
	pthread_mutex_unlock(&j->lock);
}

static void on_over(void *ctx)
{
	cli_join_t *j = ctx;

	pthread_mutex_lock(&j->lock);
	j->run = NULL;
	pthread_mutex_unlock(&j->lock);
}

/* The run is over: its last seconds and its final figures go out (unless the run could not
 * be judged: then this shard falls silent and the coordinator counts it lost); waits a
 * bounded time for the coordinator to take them, and ends the thread. */
static void finish_sending(cli_join_t *j, const result_t *r, bool ran)
{
	uint64_t deadline = clock_now_ns() + CLI_DIST_COORDINATOR_GRACE;

	dist_sender_flush(j->sender);
	if (ran && dist_sender_final(j->sender, r) < 0)
		fprintf(stderr, "surge run: out of memory telling the coordinator the end\n");
	pthread_mutex_lock(&j->lock);
	j->final_queued = ran;
	j->hurry = true;
	pthread_cond_broadcast(&j->wake);
	while (ran && !j->quit && !j->gave_up && !dist_sender_finished(j->sender) &&
	       clock_now_ns() < deadline) {
		struct timespec at;

		clock_gettime(CLOCK_MONOTONIC, &at);
		at.tv_nsec += 100 * 1000 * 1000;
		if (at.tv_nsec >= 1000000000L) {
			at.tv_sec++;
			at.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&j->wake, &j->lock, &at);
	}
	if (ran && !dist_sender_finished(j->sender) && !j->gave_up)
		fprintf(stderr,
		        "surge run: the coordinator did not take this shard's last figures within "
		        "%.0fs; its own result keeps them\n",
		        (double)CLI_DIST_COORDINATOR_GRACE / NS_PER_S);
	j->quit = true;
	pthread_cond_broadcast(&j->wake);
	pthread_mutex_unlock(&j->lock);
	pthread_join(j->thread, NULL);
	j->thread_started = false;
}

/* ---- the shard's life ---- */

static void report_wire(cli_join_t *j)
{
	dist_sender_stats_t st;
	double seconds = (double)(j->sending_to_ns - j->sending_from_ns) / NS_PER_S;
	char out[32], in[32];

	if (j->o->quiet)
		return;
	dist_sender_stats(j->sender, &st);
	if (seconds < 1)
		seconds = 1;
	units_format_bytes((double)j->http.bytes_out / seconds, out, sizeof(out));
	units_format_bytes((double)j->http.bytes_in / seconds, in, sizeof(in));
	fprintf(stderr,
	        "surge run: shard %u/%u sent %llu seconds in %llu batches to the coordinator: %s "
	        "a second out, %s in (HTTP, heads included, over %.1fs)%s\n",
	        j->index + 1, j->count, (unsigned long long)st.seconds,
	        (unsigned long long)st.batches, out, in, seconds,
	        st.dropped ? "; some seconds could not be queued (see its result)" : "");
}

/* The thread blocks SIGINT and SIGTERM as every thread of a run does: only cli_execute's
 * supervisor takes them. */
static int start_thread(cli_join_t *j)
{
	sigset_t signals;

	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	if (pthread_create(&j->thread, NULL, send_loop, j) != 0) {
		fprintf(stderr, "surge run: cannot start the sender's thread (exit 4)\n");
		return EXIT_GENERATOR;
	}
	j->thread_started = true;
	return 0;
}

static int set_up(cli_join_t *j, run_options_t *o)
{
	char err[512], host[DIST_NAME_MAX + 1] = "";
	long long index;
	int rc;

	if ((rc = own_options_only(o)) != 0 || (index = asked_index()) == -2)
		return rc ? rc : EXIT_USAGE;
	if (dist_http_init(&j->http, o->dist.join, o->dist.token, err, sizeof(err)) < 0)
		return cli_usage_error("run", "--join %s", err);
	if (ui_token_generate(j->id) < 0) {
		fprintf(stderr, "surge run: cannot make this shard's id (getrandom)\n");
		return EXIT_GENERATOR;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(j->name, sizeof(j->name), "%.48s:%ld", host[0] ? host : "?", (long)getpid());
	if ((rc = join(j, index)) != 0 || (rc = apply_test(j)) != 0)
		return rc;
	if (clock_wall_ns() > j->start_ns + START_LATE_MAX_NS) {
		fprintf(stderr,
		        "surge run: shard %u/%u got the start too late to take part: %.1fs ago "
		        "(exit %d)\n",
		        j->index + 1, j->count, (double)(clock_wall_ns() - j->start_ns) / NS_PER_S,
		        EXIT_INCOMPLETE);
		return EXIT_INCOMPLETE;
	}
	return 0;
}

int cli_join_run(run_options_t *o, result_t *r)
{
	cli_join_t j = {.o = o};
	bool progress = !o->quiet && isatty(STDERR_FILENO);
	int rc;

	pthread_condattr_t attr;

	pthread_mutex_init(&j.lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC); /* the waits' deadlines */
	pthread_cond_init(&j.wake, &attr);
	pthread_condattr_destroy(&attr);
	j.http.fd = -1;
	rc = set_up(&j, o);
	if (rc == 0 && !(j.sender = dist_sender_new(r))) {
		fprintf(stderr, "surge run: out of memory\n");
		rc = EXIT_GENERATOR;
	}
	if (rc == 0)
		rc = start_thread(&j);
	if (rc == 0) {
		char at[40];

		j.hooks = (cli_run_hooks_t){.consumer = dist_sender_consumer(j.sender),
		                            .started = on_started,
		                            .over = on_over,
		                            .ctx = &j};
		o->hooks = &j.hooks;
		clock_format_rfc3339(j.start_ns, at, sizeof(at));
		if (!o->quiet)
			fprintf(stderr,
			        "surge run %s %s: shard %u/%u of the coordinator's test, starting "
			        "at %s\n",
			        ECHO(o->cfg.method), ECHO(o->cfg.url_text), j.index + 1, j.count,
			        at);
		rc = cli_execute(o, progress, r);
		finish_sending(&j, r, rc == 0);
		o->hooks = NULL;
		if (rc == 0) {
			report_wire(&j);
			rc = cli_result_end("run", &o->outputs, o->quiet, r);
		}
	}
	if (j.thread_started) {
		pthread_mutex_lock(&j.lock);
		j.quit = true;
		pthread_cond_broadcast(&j.wake);
		pthread_mutex_unlock(&j.lock);
		pthread_join(j.thread, NULL);
	}
	dist_sender_free(j.sender);
	dist_http_close(&j.http);
	json_decref(j.answer);
	json_decref(j.config);
	pthread_mutex_destroy(&j.lock);
	pthread_cond_destroy(&j.wake);
	return rc;
}
