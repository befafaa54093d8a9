/* gen_closed: the closed model — this thread's share of the users the schedule asks for (a
 * level for -c, ramps for --stages, whatever gen_steer changed it to), checked ten times a
 * second and at once when it changes: users join by starting their loop of requests, and
 * leave after their current request (never mid-request). A user is a connection; the
 * connections beyond the users asked for are parked (no socket). */
#include "core/clock.h"
#include "gen/gen_internal.h"

#define RAMP_TICK_NS (100 * NS_PER_MS)

static void users_join(gen_thread_t *t, uint32_t n)
{
	for (uint32_t i = 0; i < t->conn_count && n > 0; i++) {
		gen_conn_t *c = &t->conns[i];

		if (c->state == CONN_PARKED) {
			c->state = CONN_IDLE;
			t->users_active++;
			n--;
			gen_conn_begin(c);
		}
	}
}

/* Marks n working users to leave after their current request. */
static void users_leave(gen_thread_t *t, uint32_t n)
{
	for (uint32_t i = t->conn_count; i-- > 0 && n > 0;) {
		gen_conn_t *c = &t->conns[i];

		if (c->state != CONN_PARKED && c->state != CONN_DONE && !c->retire) {
			c->retire = true;
			t->users_retiring++;
			n--;
		}
	}
}

/* Users that were leaving stay after all (the target rose again before they left). */
static void users_stay(gen_thread_t *t, uint32_t n)
{
	for (uint32_t i = 0; i < t->conn_count && n > 0; i++) {
		gen_conn_t *c = &t->conns[i];

		if (c->retire && c->state != CONN_PARKED && c->state != CONN_DONE) {
			c->retire = false;
			t->users_retiring--;
			n--;
		}
	}
}

/* Brings the users to the schedule's value now: a counter comparison when nothing changed. */
static void follow_schedule(gen_thread_t *t)
{
	uint64_t now = clock_now_ns();
	/* the loop's cached time may predate the run's start: never let that wrap */
	uint64_t elapsed = now > t->run->start_ns ? now - t->run->start_ns : 0;
	uint32_t staying;

	t->users_target = gen_thread_users(t, gen_schedule_value(t->run, elapsed));
	staying = t->users_active - t->users_retiring;
	if (staying < t->users_target && t->users_retiring)
		users_stay(t, t->users_target - staying);
	staying = t->users_active - t->users_retiring;
	if (staying < t->users_target)
		users_join(t, t->users_target - staying);
	else if (staying > t->users_target)
		users_leave(t, staying - t->users_target);
}

static void on_tick(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_t *t = timer->ctx;

	if (t->stopping)
		return;
	follow_schedule(t);
	loop_timer_start(loop, timer, clock_now_ns() + RAMP_TICK_NS);
}

/* A user leaves: it is parked, one user fewer. */
static void user_park(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	c->retire = false;
	t->users_retiring--;
	gen_conn_close(c); /* a user who leaves takes its connection along */
	loop_timer_stop(t->loop, &c->timer);
	c->state = CONN_PARKED;
	t->users_active--;
}

static void closed_start(gen_thread_t *t)
{
	for (uint32_t i = 0; i < t->conn_count; i++)
		t->conns[i].state = CONN_PARKED;
	t->users_active = 0;
	t->users_retiring = 0;
	loop_timer_init(&t->ramp, on_tick, t);
	on_tick(t->loop, &t->ramp);
}

static int closed_setup(gen_thread_t *t)
{
	return 0;
}

static void closed_teardown(gen_thread_t *t)
{
}

static void closed_request_over(gen_conn_t *c)
{
	if (c->retire)
		user_park(c); /* fewer users asked: one leaves */
	else
		gen_conn_next_request(c);
}

/* A driven user ending an iteration while users leave goes (its driver state freed). */
static bool closed_take_back(gen_conn_t *c)
{
	if (!c->retire)
		return false;
	c->thread->run->cfg.driver->release(c);
	user_park(c);
	return true;
}

static void closed_end(gen_thread_t *t)
{
	loop_timer_stop(t->loop, &t->ramp);
}

/* The schedule changed: follow it now, and tick from here. */
static void closed_steered(gen_thread_t *t)
{
	on_tick(t->loop, &t->ramp);
}

const gen_model_t gen_model_closed = {
    .name = "closed",
    .setup = closed_setup,
    .teardown = closed_teardown,
    .start = closed_start,
    .request_over = closed_request_over,
    .take_back = closed_take_back,
    .end = closed_end,
    .steered = closed_steered,
};
