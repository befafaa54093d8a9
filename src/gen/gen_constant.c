/* gen_constant: the closed model at a fixed number of users — every connection is a user from
 * the start and sends its next request as soon as the previous one ended, until the run (or
 * -n) is over. */
#include "gen/gen_internal.h"

static int constant_setup(gen_thread_t *t)
{
	return 0;
}

static void constant_teardown(gen_thread_t *t)
{
}

static void constant_start(gen_thread_t *t)
{
	for (uint32_t i = 0; i < t->conn_count && !t->stopping; i++)
		gen_conn_begin(&t->conns[i]);
}

/* A driven user goes on with its next iteration: nothing takes it back. */
static bool constant_take_back(gen_conn_t *c)
{
	return false;
}

static void constant_end(gen_thread_t *t)
{
}

const gen_model_t gen_model_constant = {
    .name = "constant",
    .setup = constant_setup,
    .teardown = constant_teardown,
    .start = constant_start,
    .request_over = gen_conn_next_request,
    .take_back = constant_take_back,
    .end = constant_end,
};
