/* gen_selfcheck: the generator's verdict on itself, decided over the run's seconds (its
 * timeline), so that one stall stays a stall and only a sustained condition is saturation. */
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

static bool decide_one(const gen_point_t *points, size_t n, enum gen_saturation_criterion criterion,
                       gen_saturation_t *out)
{
	uint32_t whole = 0, bad = 0, streak = 0, longest = 0, need;
	double first_s = 0, worst = 0;

	for (size_t i = 0; i < n; i++) {
		const gen_point_t *p = &points[i];
		double figure;

		if (!second_counts(p, criterion))
			continue; /* neither a bad second nor a break between two */
		whole++;
		figure = second_figure(p, criterion);
		if (!second_is_bad(figure, criterion)) {
			streak = 0;
			continue;
		}
		if (!bad++)
			first_s = p->t - p->length_s;
		if (++streak > longest)
			longest = streak;
		if (figure > worst)
			worst = figure;
	}
	/* a busy thread is busy the whole second, so a run shorter than the window is judged on
	 * every second it has; but one stall of the host can make every second of a short run
	 * late (a 1.1 s stall covers two), so lateness always needs the whole window */
	need = GEN_SATURATED_SECONDS;
	if (criterion == GEN_SAT_THREAD_CPU && whole < need)
		need = whole;
	if (bad == 0 || (longest < need && (bad < need || bad < GEN_SATURATED_SHARE * whole)))
		return false;
	*out = (gen_saturation_t){
	    .criterion = criterion,
	    .seconds = bad,
	    .consecutive = longest,
	    .whole_seconds = whole,
	    .first_s = first_s,
	    .worst = worst,
	};
	return true;
}

bool gen_saturation_decide(const gen_point_t *points, size_t n, gen_saturation_t *out)
{
	*out = (gen_saturation_t){.criterion = GEN_SAT_NONE};
	/* a thread without idle time is the cause when both fired: lateness follows from it */
	return decide_one(points, n, GEN_SAT_THREAD_CPU, out) ||
	       decide_one(points, n, GEN_SAT_SCHEDULE_LAG, out);
}
