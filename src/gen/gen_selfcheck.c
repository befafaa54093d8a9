/* gen_selfcheck: the generator's verdict on itself, decided over the run's seconds (its
 * timeline), so that one stall stays a stall and only a sustained condition is saturation.
 * The seconds are folded in one at a time, in order, as they become final: the engine keeps
 * a tally, not the seconds. */
#include <string.h>

#include "gen/gen.h"

const char *gen_saturation_name(enum gen_saturation_criterion criterion)
{
	switch (criterion) {
	case GEN_SAT_THREAD_CPU: return "thread_cpu";
	case GEN_SAT_SCHEDULE_LAG: return "schedule_lag";
	case GEN_SAT_NONE: break;
	}
	return "none";
}

/* The second's figure for the criterion: the busiest thread's CPU share, or the share of the
 * arrivals due in it that the pacer dispatched late. */
static double second_figure(const gen_point_t *p, enum gen_saturation_criterion criterion)
{
	if (criterion == GEN_SAT_THREAD_CPU)
		return p->busiest_cpu;
	return p->due ? (double)p->pacer_late / (double)p->due : 0;
}

/* Seconds the criterion looks at: whole ones (a last sliver's share is noise) and, for the
 * pacer, those in which something was due (the schedule's pauses and the stop grace say
 * nothing about it). */
static bool second_counts(const gen_point_t *p, enum gen_saturation_criterion criterion)
{
	return p->length_s >= GEN_SECOND_MIN_S && (criterion == GEN_SAT_THREAD_CPU || p->due);
}

static bool second_is_bad(double figure, enum gen_saturation_criterion criterion)
{
	if (criterion == GEN_SAT_THREAD_CPU)
		return figure >= GEN_SATURATED_CPU;
	return figure > GEN_LATE_SHARE;
}

/* One second folded into the criterion's tally: counted or not, bad or not, streaks. */
static void add_one(gen_selfcheck_one_t *c, const gen_point_t *p,
                    enum gen_saturation_criterion criterion)
{
	double figure;

	if (!second_counts(p, criterion))
		return; /* neither a bad second nor a break between two */
	c->whole++;
	figure = second_figure(p, criterion);
	if (!second_is_bad(figure, criterion)) {
		c->streak = 0;
		return;
	}
	if (!c->bad++)
		c->first_s = p->t - p->length_s;
	if (++c->streak > c->longest)
		c->longest = c->streak;
	if (figure > c->worst)
		c->worst = figure;
}

static bool decide_one(const gen_selfcheck_one_t *c, enum gen_saturation_criterion criterion,
                       gen_saturation_t *out)
{
	uint32_t need = GEN_SATURATED_SECONDS;

	/* a busy thread is busy the whole second, so a run shorter than the window is judged on
	 * every second it has; but one stall of the host can make every second of a short run
	 * late (a 1.1 s stall covers two), so lateness always needs the whole window */
	if (criterion == GEN_SAT_THREAD_CPU && c->whole < need)
		need = c->whole;
	if (c->bad == 0 ||
	    (c->longest < need && (c->bad < need || c->bad < GEN_SATURATED_SHARE * c->whole)))
		return false;
	*out = (gen_saturation_t){
	    .criterion = criterion,
	    .seconds = c->bad,
	    .consecutive = c->longest,
	    .whole_seconds = c->whole,
	    .first_s = c->first_s,
	    .worst = c->worst,
	};
	return true;
}

void gen_selfcheck_init(gen_selfcheck_t *c)
{
	memset(c, 0, sizeof(*c));
}

void gen_selfcheck_add(gen_selfcheck_t *c, const gen_point_t *p)
{
	add_one(&c->cpu, p, GEN_SAT_THREAD_CPU);
	add_one(&c->lag, p, GEN_SAT_SCHEDULE_LAG);
}

bool gen_selfcheck_decide(const gen_selfcheck_t *c, gen_saturation_t *out)
{
	*out = (gen_saturation_t){.criterion = GEN_SAT_NONE};
	/* a thread without idle time is the cause when both fired: lateness follows from it */
	return decide_one(&c->cpu, GEN_SAT_THREAD_CPU, out) ||
	       decide_one(&c->lag, GEN_SAT_SCHEDULE_LAG, out);
}

bool gen_saturation_decide(const gen_point_t *points, size_t n, gen_saturation_t *out)
{
	gen_selfcheck_t c;

	gen_selfcheck_init(&c);
	for (size_t i = 0; i < n; i++)
		gen_selfcheck_add(&c, &points[i]);
	return gen_selfcheck_decide(&c, out);
}
