/* gen_open: the open model. Each thread owns a share of the arrivals of the rate schedule
 * (every n-th of its shard's, which are every N-th of the test's: deal.h); a pacer timer sends each
 * one at its intended time on a free connection. With none free it waits in a bounded queue
 * (counted as late) and beyond that it is dropped (counted): latency is measured from the intended
 * time, so a stalled server shows in the percentiles instead of slowing the sending down. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "gen/gen_internal.h"

#define PACER_BUDGET 4096 /* arrivals dispatched per timer event before the loop moves on */

/* The intended time of this thread's n-th arrival (n >= 1) by the schedule in force;
 * UINT64_MAX when there is none: the schedule (or the run's duration) is over, or — a run
 * whose schedule holds, which gen_steer may change — the rate is 0 from now on (paused). */
static uint64_t due_time(gen_thread_t *t, uint64_t n)
{
	const gen_run_t *run = t->run;
	/* the whole test's arrivals dealt to the shards, the shard's to its threads */
	uint64_t k = deal_nth2(n, t->part, run->cfg.shard);
	uint64_t at = gen_schedule_arrival(run, k);

	t->paused = at == UINT64_MAX && run->steerable;
	if (at == UINT64_MAX || (run->cfg.duration_ns && at >= run->cfg.duration_ns))
		return UINT64_MAX;
	return run->start_ns + at;
}

/* Nothing more will be sent and nothing is out: the thread's load is over. */
static bool all_quiet(const gen_thread_t *t)
{
	return t->next_due_ns == UINT64_MAX && !t->paused && t->queue_len == 0 &&
	       t->free_count == t->conn_count;
}

/* For the self-check: the arrival due at `intended` was dispatched at `now`, counted in the
 * second it was due in, until the thread hands its counts over (each second). The pacer
 * dispatches in order of the arrivals' times, so the second is the list's last or a new one
 * after it; the list holds the seconds dispatched since the last hand-over, however long the
 * run. Without memory for it the arrival goes uncounted, never the run stopped. */
static void count_due(gen_thread_t *t, uint64_t intended, uint64_t now)
{
	uint64_t second = (intended - t->run->start_ns) / NS_PER_S;
	gen_due_second_t *d = NULL;

	for (size_t i = t->due_len; i-- > 0 && t->due[i].second >= second;)
		if (t->due[i].second == second) {
			d = &t->due[i];
			break;
		}
	if (!d) {
		size_t at = t->due_len;

		if (t->due_len == t->due_cap) {
			size_t cap = t->due_cap ? t->due_cap * 2 : 8;
			gen_due_second_t *grown = realloc(t->due, cap * sizeof(*grown));

			if (!grown)
				return;
			t->due = grown;
			t->due_cap = cap;
		}
		while (at > 0 && t->due[at - 1].second > second)
			at--; /* out of order (never, as the pacer goes): kept sorted all the same
			       */
		memmove(&t->due[at + 1], &t->due[at], (t->due_len - at) * sizeof(*t->due));
		t->due_len++;
		d = &t->due[at];
		*d = (gen_due_second_t){.second = second};
	}
	d->arrivals++;
	d->late += now - intended > (uint64_t)GEN_LAG_BOUND_US * NS_PER_US;
}

static void dispatch(gen_thread_t *t, uint64_t intended, uint64_t now)
{
	if (!gen_take_request(t)) {
		t->next_due_ns = UINT64_MAX; /* -n reached: no more arrivals */
		t->paused = false;
		return;
	}
	count_due(t, intended, now);
	if (t->free_count) {
		gen_conn_t *c = t->free_conns[--t->free_count];

		/* how late the generator itself was: the timer's wake-up and this batch */
		hist_record(t->interval_sched_lag, (int64_t)((now - intended) / NS_PER_US));
		gen_conn_send_due(c, intended);
	} else if (t->queue_len < t->queue_cap) {
		t->queue[(t->queue_head + t->queue_len++) % t->queue_cap] = intended;
		t->interval_counters.late++;
	} else {
		t->interval_counters.dropped++;
	}
}

static void on_pacer(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_t *t = timer->ctx;
	uint64_t now = clock_now_ns();

	for (int budget = PACER_BUDGET; budget > 0 && t->next_due_ns <= now && !t->stopping;
	     budget--) {
		uint64_t due = t->next_due_ns;

		t->arrival_n++;
		t->next_due_ns = due_time(t, t->arrival_n + 1);
		dispatch(t, due, now);
	}
	if (t->stopping)
		return;
	if (t->next_due_ns != UINT64_MAX)
		loop_timer_start(loop, timer, t->next_due_ns);
	else if (all_quiet(t))
		gen_thread_end(t);
}

/* A connection is free again: the next waiting arrival, or the free stack. */
static void conn_free(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	if (t->queue_len) {
		uint64_t intended = t->queue[t->queue_head];

		t->queue_head = (t->queue_head + 1) % t->queue_cap;
		t->queue_len--;
		gen_conn_send_due(c, intended);
		return;
	}
	c->state = CONN_FREE;
	t->free_conns[t->free_count++] = c;
	if (all_quiet(t))
		gen_thread_end(t); /* the schedule is over and nothing is in flight */
}

static void open_start(gen_thread_t *t)
{
	/* connections open lazily, on their first arrival: connecting is part of its latency */
	for (uint32_t i = 0; i < t->conn_count; i++) {
		t->conns[i].state = CONN_FREE;
		t->free_conns[t->free_count++] = &t->conns[t->conn_count - 1 - i];
	}
	t->arrival_n = 0;
	t->next_due_ns = due_time(t, 1);
	loop_timer_init(&t->pacer, on_pacer, t);
	if (t->next_due_ns != UINT64_MAX)
		loop_timer_start(t->loop, &t->pacer, t->next_due_ns);
	else if (!t->paused)
		gen_thread_stop(t);
}

static int open_setup(gen_thread_t *t)
{
	t->queue_cap = gen_thread_share(t, t->run->cfg.max_queue);
	t->free_conns = calloc(t->conn_count, sizeof(*t->free_conns));
	t->queue = calloc(t->queue_cap ? t->queue_cap : 1, sizeof(*t->queue));
	return t->free_conns && t->queue ? 0 : -ENOMEM;
}

static void open_teardown(gen_thread_t *t)
{
	free(t->free_conns);
	free(t->queue);
	free(t->due);
	t->free_conns = NULL;
	t->queue = NULL;
	t->due = NULL;
}

/* A driven user's iteration is over: its connection waits for the next arrival. */
static bool open_take_back(gen_conn_t *c)
{
	conn_free(c);
	return true;
}

static void open_end(gen_thread_t *t)
{
	loop_timer_stop(t->loop, &t->pacer);
	t->paused = false;
	t->interval_counters.unfinished += t->queue_len; /* waiting arrivals will not be sent */
	t->queue_len = 0;
}

/* The schedule changed: the next arrival is due by the new one (those before the change keep
 * their times, so one not yet dispatched because the thread is behind still is). */
static void open_steered(gen_thread_t *t)
{
	if (t->next_due_ns == UINT64_MAX && !t->paused)
		return; /* -n reached, or the run's duration: over whatever the rate */
	t->next_due_ns = due_time(t, t->arrival_n + 1);
	if (t->next_due_ns != UINT64_MAX)
		loop_timer_start(t->loop, &t->pacer, t->next_due_ns);
	else
		loop_timer_stop(t->loop, &t->pacer);
}

const gen_model_t gen_model_open = {
    .name = "open",
    .setup = open_setup,
    .teardown = open_teardown,
    .start = open_start,
    .request_over = conn_free, /* the pacer decides when it sends again */
    .take_back = open_take_back,
    .end = open_end,
    .steered = open_steered,
};
