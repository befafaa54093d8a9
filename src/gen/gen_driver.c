/* gen_driver: the engine's side of the driver API (gen_driver.h) — what a driver may ask of
 * its thread and its users' connections, and the scenario's figures it counts for it. */
#include "gen/gen_driver.h"

#include <math.h>

#include "gen/gen_internal.h"

const gen_config_t *gen_thread_config(const gen_thread_t *t)
{
	return &t->run->cfg;
}

void *gen_thread_driver_state(const gen_thread_t *t)
{
	return t->driver_state;
}

uint64_t gen_thread_start_ns(const gen_thread_t *t)
{
	return t->run->start_ns;
}

bool gen_thread_ending(const gen_thread_t *t)
{
	return t->ending || t->stopping || atomic_load(&t->run->stop_requested);
}

bool gen_thread_halting(const gen_thread_t *t)
{
	return t->stopping || atomic_load(&t->run->stops_asked) > 1;
}

int gen_driver_endpoint(gen_thread_t *t, const char *method, const char *name)
{
	return gen_named_endpoint(&t->named, method, name);
}

void gen_driver_check(gen_thread_t *t, gen_conn_t *on, const char *name, bool ok)
{
	gen_tally_t *tally = gen_named_tally(&t->named, GEN_TALLY_CHECK, name);

	if (tally) {
		tally->passes += ok;
		tally->fails += !ok;
	}
	if (ok)
		return;
	if (on)
		gen_conn_mark_failed(on);
	else
		t->interval_counters.checks_failed++;
}

void gen_driver_counter(gen_thread_t *t, const char *name, double n)
{
	gen_tally_t *tally = gen_named_tally(&t->named, GEN_TALLY_COUNTER, name);

	if (tally)
		tally->value += n;
}

void gen_driver_trend(gen_thread_t *t, const char *name, double v)
{
	gen_tally_t *tally = gen_named_tally(&t->named, GEN_TALLY_TREND, name);

	if (tally)
		hist_record(tally->hist, isfinite(v) ? (int64_t)llround(v * 1000) : 0);
}

void gen_driver_script_error(gen_thread_t *t, const char *message)
{
	gen_tally_t *tally;

	t->interval_counters.script_errors++;
	if ((tally = gen_named_tally(&t->named, GEN_TALLY_SCRIPT_ERROR, message)) ||
	    (tally = gen_named_tally(&t->named, GEN_TALLY_SCRIPT_ERROR, "(other errors)")))
		tally->fails++;
}

gen_thread_t *gen_conn_thread(const gen_conn_t *c)
{
	return c->thread;
}

void *gen_conn_user(const gen_conn_t *c)
{
	return c->user;
}

void gen_conn_set_user(gen_conn_t *c, void *user)
{
	c->user = user;
}

bool gen_conn_retiring(const gen_conn_t *c)
{
	return c->retire;
}

uint64_t gen_conn_user_number(const gen_conn_t *c)
{
	const gen_thread_t *t = c->thread;
	const gen_config_t *cfg = &t->run->cfg;
	uint64_t first;

	/* --h2: a thread's slots follow the earlier threads' in its shard (whole connections) */
	if (cfg->h2) {
		first = gen_h2_thread_first_slot(
		    (uint32_t)deal_share(t->run->users_max, cfg->shard), cfg->streams, t->part);
		return deal_nth(first + (uint64_t)(c - t->conns) + 1, cfg->shard) - 1;
	}
	/* the thread's connections are its shard's users dealt to it, the shard's the test's */
	return deal_nth2((uint64_t)(c - t->conns) + 1, t->part, t->run->cfg.shard) - 1;
}

void gen_conn_outcome(const gen_conn_t *c, gen_outcome_t *out)
{
	out->failed = c->failed;
	out->error = c->error;
	out->answered = !c->failed || c->parser.headers_done;
	out->status = c->parser.status;
	out->body = c->body;
	out->headers = c->headers;
	out->sent_ns = c->sent_ns;
	out->ok = !c->counted_error;
}
