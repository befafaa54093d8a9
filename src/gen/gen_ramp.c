/* gen_ramp: the closed model with stages — this thread's share of the users the schedule asks
 * for, checked ten times a second: users join by starting their loop of requests, and leave
 * after their current request (never mid-request). */
#include "core/clock.h"
#include "gen/gen_internal.h"

#define RAMP_TICK_NS (100 * NS_PER_MS)

static void users_join(gen_thread_t *t, uint32_t n)
{
	for (uint32_t i = 0; i < t->conn_count && n > 0; i++) {
		gen_conn_t *c = &t->conns[i];

		if (c->state == CONN_PARKED) {
			c->state = CONN_IDLE;
			c->retire = false;
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
			n--;
		}
	}
}

static uint32_t users_retiring(const gen_thread_t *t)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < t->conn_count; i++)
		n += t->conns[i].retire && t->conns[i].state != CONN_PARKED;
	return n;
}

static void on_ramp(loop_t *loop, loop_timer_t *timer)
{
	gen_thread_t *t = timer->ctx;
	uint64_t now = clock_now_ns();
	/* the loop's cached time may predate the run's start: never let that wrap */
	uint64_t elapsed = now > t->run->start_ns ? now - t->run->start_ns : 0;
	uint32_t staying;

	if (t->stopping)
		return;
	t->users_target = gen_thread_share(t, schedule_value_at(&t->run->cfg.schedule, elapsed));
	staying = t->users_active - users_retiring(t);
	if (staying < t->users_target)
		users_join(t, t->users_target - staying);
	else if (staying > t->users_target)
		users_leave(t, staying - t->users_target);
	loop_timer_start(loop, timer, now + RAMP_TICK_NS);
}

/* A user leaves: it is parked, one user fewer. */
static void user_park(gen_conn_t *c)
{
	gen_thread_t *t = c->thread;

	gen_conn_close(c); /* a user who leaves takes its connection along */
	loop_timer_stop(t->loop, &c->timer);
	c->state = CONN_PARKED;
	t->users_active--;
}

static void ramp_start(gen_thread_t *t)
{
	for (uint32_t i = 0; i < t->conn_count; i++)
		t->conns[i].state = CONN_PARKED;
	t->users_active = 0;
	loop_timer_init(&t->ramp, on_ramp, t);
	on_ramp(t->loop, &t->ramp);
}

static int ramp_setup(gen_thread_t *t)
{
	return 0;
}

static void ramp_teardown(gen_thread_t *t)
{
}

static void ramp_request_over(gen_conn_t *c)
{
	if (c->retire) {
		c->retire = false;
		user_park(c); /* ramping down: one user fewer */
	} else {
		gen_conn_next_request(c);
	}
}

/* A driven user ending an iteration while ramping down leaves (its driver state freed). */
static bool ramp_take_back(gen_conn_t *c)
{
	if (!c->retire)
		return false;
	c->retire = false;
	c->thread->run->cfg.driver->release(c);
	user_park(c);
	return true;
}

static void ramp_end(gen_thread_t *t)
{
	loop_timer_stop(t->loop, &t->ramp);
}

const gen_model_t gen_model_ramp = {
    .name = "ramp",
    .setup = ramp_setup,
    .teardown = ramp_teardown,
    .start = ramp_start,
    .request_over = ramp_request_over,
    .take_back = ramp_take_back,
    .end = ramp_end,
};
