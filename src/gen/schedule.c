/* schedule: parsing of piecewise-linear stages and the exact arithmetic on them — the value at
 * a time, the expected arrivals until a time, and its inverse, when the k-th arrival is due. */
#include "gen/schedule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/echo.h"
#include "core/units.h"

#define SCHEDULE_MAX_NS (30ULL * 24 * 3600 * NS_PER_S) /* 30 days: longer is a typo */
#define STAGE_TEXT_MAX  128

/* Where one stage's text lies in the input, for parsing and for messages. */
struct stage_text {
	int number; /* 1-based, as users count */
	char text[STAGE_TEXT_MAX];
};

static void precompute(schedule_t *s)
{
	long double area = 0;
	uint64_t t = 0;

	s->begin_ns[0] = 0;
	s->area[0] = 0;
	for (int i = 0; i < s->count; i++) {
		double v0 = i ? s->stages[i - 1].target : s->start;
		double v1 = s->stages[i].target;

		/* trapezoid: exact for a linear ramp; accumulated in long double so that 64
		 * stages of rounding do not add up */
		area +=
		    ((long double)v0 + v1) / 2 * ((long double)s->stages[i].duration_ns / NS_PER_S);
		t += s->stages[i].duration_ns;
		s->begin_ns[i + 1] = t;
		s->area[i + 1] = (double)area;
	}
}

static char *trim(char *p)
{
	char *end;

	while (isspace((unsigned char)*p))
		p++;
	end = p + strlen(p);
	while (end > p && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return p;
}

/* strtod alone accepts "inf", "nan", hex and leading blanks; a target is a plain decimal. */
static int parse_target(const char *p, double max_target, double *out)
{
	char *end;
	double v;

	if (!*p || strspn(p, "0123456789.eE+-") != strlen(p))
		return -EINVAL;
	errno = 0;
	v = strtod(p, &end);
	if (end == p || *end || errno || !isfinite(v) || v < 0 || v > max_target)
		return -EINVAL;
	*out = v;
	return 0;
}

/* One "DURATION:TARGET" into st; the message names the stage as the user wrote it. */
static int parse_stage(struct stage_text *t, double max_target, schedule_stage_t *st, char *err,
                       size_t errlen)
{
	char detail[160];
	char copy[STAGE_TEXT_MAX];
	char *colon, *duration, *target;

	memcpy(copy, t->text, sizeof(copy));
	colon = strchr(copy, ':');
	if (!*trim(copy)) {
		snprintf(detail, sizeof(detail),
		         "empty stage (expected DURATION:TARGET, e.g. 30s:10)");
		goto fail;
	}
	if (!colon) {
		snprintf(detail, sizeof(detail),
		         "missing ':' (expected DURATION:TARGET, e.g. 30s:10)");
		goto fail;
	}
	*colon = '\0';
	duration = trim(copy);
	target = trim(colon + 1);
	if (units_parse_duration(duration, NS_PER_S, &st->duration_ns, detail, sizeof(detail)) < 0)
		goto fail;
	if (parse_target(target, max_target, &st->target) < 0) {
		char max[32];

		units_format_number(max_target, max, sizeof(max));
		snprintf(detail, sizeof(detail), "target '%s' is not a number from 0 to %s",
		         ECHO(target), max);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "stage %d ('%s'): %s", t->number, ECHO(trim(t->text)), detail);
	return -EINVAL;
}

/* Copies the next comma-separated stage into t and returns where the one after starts, or
 * NULL after the last. Over-long stages are cut; the cut text fails to parse and is named. */
static const char *next_stage(const char *p, struct stage_text *t)
{
	size_t n = strcspn(p, ",");
	size_t kept = n < STAGE_TEXT_MAX - 1 ? n : STAGE_TEXT_MAX - 1;

	memcpy(t->text, p, kept);
	t->text[kept] = '\0';
	return p[n] == ',' ? p + n + 1 : NULL;
}

int schedule_parse(const char *text, double start, double max_target, schedule_t *s, char *err,
                   size_t errlen)
{
	schedule_t parsed = {.start = start};
	struct stage_text t = {0};
	uint64_t total = 0;
	const char *p = text;

	if (!text || strspn(text, " \t\n") == strlen(text)) {
		snprintf(err, errlen,
		         "no stages (expected DURATION:TARGET[,...], e.g. 30s:10,1m:50)");
		return -EINVAL;
	}
	while (p) {
		schedule_stage_t *st = &parsed.stages[parsed.count];

		t.number = parsed.count + 1;
		if (parsed.count == SCHEDULE_MAX_STAGES) {
			snprintf(err, errlen, "stage %d: too many stages (at most %d)", t.number,
			         SCHEDULE_MAX_STAGES);
			return -EINVAL;
		}
		p = next_stage(p, &t);
		if (parse_stage(&t, max_target, st, err, errlen) < 0)
			return -EINVAL;
		if (st->duration_ns > SCHEDULE_MAX_NS - total) {
			snprintf(err, errlen,
			         "stage %d ('%s'): the stages last over 30 days in all", t.number,
			         ECHO(trim(t.text)));
			return -EINVAL;
		}
		total += st->duration_ns;
		parsed.count++;
	}
	precompute(&parsed);
	*s = parsed; /* only on success: a failed parse leaves the caller's schedule as it was */
	return 0;
}

void schedule_constant(schedule_t *s, double value, uint64_t duration_ns)
{
	memset(s, 0, sizeof(*s));
	s->start = value;
	s->count = 1;
	s->stages[0].duration_ns = duration_ns;
	s->stages[0].target = value;
	precompute(s);
}

uint64_t schedule_duration(const schedule_t *s)
{
	return s->begin_ns[s->count];
}

/* The stage running at t: begin_ns[i] <= t < begin_ns[i + 1], so zero-duration stages (steps)
 * are never "running" and a step's new value holds from its instant on. count once ended. */
static int stage_at(const schedule_t *s, uint64_t t_ns)
{
	int lo = 0, hi = s->count; /* the answer is in [lo, hi) */

	if (t_ns >= s->begin_ns[s->count])
		return s->count;
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;

		if (s->begin_ns[mid] <= t_ns)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static double stage_start_value(const schedule_t *s, int i)
{
	return i ? s->stages[i - 1].target : s->start;
}

double schedule_value_at(const schedule_t *s, uint64_t t_ns)
{
	int i = stage_at(s, t_ns);
	long double v0, v1, f;

	if (i == s->count)
		return s->count ? s->stages[s->count - 1].target : s->start;
	v0 = stage_start_value(s, i);
	v1 = s->stages[i].target;
	f = (long double)(t_ns - s->begin_ns[i]) / s->stages[i].duration_ns;
	return (double)(v0 + (v1 - v0) * f);
}

double schedule_arrivals_until(const schedule_t *s, uint64_t t_ns)
{
	int i = stage_at(s, t_ns);
	long double v0, v1, tau, d;

	if (i == s->count)
		return s->area[s->count]; /* arrivals end with the schedule */
	v0 = stage_start_value(s, i);
	v1 = s->stages[i].target;
	d = (long double)s->stages[i].duration_ns / NS_PER_S;
	tau = (long double)(t_ns - s->begin_ns[i]) / NS_PER_S;
	/* area(τ) = v0·τ + a·τ²/2 with a = (v1 - v0) / d */
	return (double)(s->area[i] + v0 * tau + (v1 - v0) / d * tau * tau / 2);
}

/* The first stage whose end-area reaches k; its area increment is then positive, so it has a
 * duration and a non-zero value somewhere — zero-rate stages are skipped by construction. */
static int stage_reaching(const schedule_t *s, long double k)
{
	int lo = 0, hi = s->count - 1; /* caller ensured area[count] >= k */

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (s->area[mid + 1] >= k)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

uint64_t schedule_arrival_time(const schedule_t *s, uint64_t k)
{
	long double total, r, v0, v1, d, a, disc, tau, ns;
	int i;

	if (k == 0 || s->count == 0)
		return k == 0 ? 0 : UINT64_MAX;
	total = s->area[s->count];
	/* the last arrival of e.g. a ramp whose area is a whole number must not be lost to the
	 * rounding of area[]: within a relative 1e-12 it is the schedule's last instant */
	if ((long double)k > total + total * 1e-12L)
		return UINT64_MAX;
	if ((long double)k >= total)
		return s->begin_ns[s->count];
	i = stage_reaching(s, k);
	r = (long double)k - s->area[i];
	v0 = stage_start_value(s, i);
	v1 = s->stages[i].target;
	d = (long double)s->stages[i].duration_ns / NS_PER_S;
	a = (v1 - v0) / d;
	/* v0·τ + a·τ²/2 = r, solved as τ = 2r / (v0 + √(v0² + 2ar)): no cancellation since
	 * v0 >= 0, and it covers a = 0 (r/v0), v0 = 0 (√(2r/a)) and ramps down (a < 0, where
	 * r <= stage area keeps the root real up to rounding) */
	disc = v0 * v0 + 2 * a * r;
	tau = 2 * r / (v0 + sqrtl(disc > 0 ? disc : 0));
	if (!(tau >= 0)) /* NaN needs 0/0, which the stage choice rules out; be safe anyway */
		tau = 0;
	ns = tau * NS_PER_S;
	if (ns > s->stages[i].duration_ns)
		ns = s->stages[i].duration_ns;
	return s->begin_ns[i] + (uint64_t)llroundl(ns);
}

/* ---- segments: a schedule that changes while it runs ---- */

uint32_t schedule_segments(const schedule_t *s, schedule_segment_t *out)
{
	if (s->count == 0) {
		out[0] = (schedule_segment_t){.from = s->start, .to = s->start};
		return 1;
	}
	for (int i = 0; i < s->count; i++)
		out[i] = (schedule_segment_t){.begin_ns = s->begin_ns[i],
		                              .ramp_ns = s->stages[i].duration_ns,
		                              .from = stage_start_value(s, i),
		                              .to = s->stages[i].target,
		                              .area = s->area[i],
		                              .ramp_end = s->area[i + 1]};
	return (uint32_t)s->count;
}

/* The segment in force at t: the last one beginning at or before it (of several beginning at
 * one instant, the last: the earlier ones never ran). */
static uint32_t segment_at(const schedule_segment_t *seg, uint32_t n, uint64_t t_ns)
{
	uint32_t lo = 0, hi = n; /* the answer is in [lo, hi) */

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seg[mid].begin_ns <= t_ns)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

double schedule_segments_value_at(const schedule_segment_t *seg, uint32_t n, uint64_t t_ns)
{
	const schedule_segment_t *s = &seg[segment_at(seg, n, t_ns)];
	uint64_t tau = t_ns > s->begin_ns ? t_ns - s->begin_ns : 0;

	if (tau >= s->ramp_ns)
		return s->to;
	/* as schedule_value_at within a stage, to the bit */
	return (double)(s->from + ((long double)s->to - s->from) * ((long double)tau / s->ramp_ns));
}

double schedule_segments_arrivals_until(const schedule_segment_t *seg, uint32_t n, uint64_t t_ns)
{
	const schedule_segment_t *s = &seg[segment_at(seg, n, t_ns)];
	uint64_t t = t_ns > s->begin_ns ? t_ns - s->begin_ns : 0;
	long double tau = (long double)t / NS_PER_S, d = (long double)s->ramp_ns / NS_PER_S;

	if (t >= s->ramp_ns)
		return (double)(s->ramp_end + (long double)s->to * (tau - d));
	return (double)(s->area + s->from * tau +
	                ((long double)s->to - s->from) / d * tau * tau / 2);
}

schedule_segment_t schedule_change(const schedule_segment_t *seg, uint32_t n, uint64_t at_ns,
                                   double to, uint64_t ramp_ns)
{
	schedule_segment_t s = {.begin_ns = at_ns,
	                        .ramp_ns = ramp_ns,
	                        .from = schedule_segments_value_at(seg, n, at_ns),
	                        .to = to,
	                        .area = schedule_segments_arrivals_until(seg, n, at_ns)};

	s.ramp_end =
	    (double)(s.area + ((long double)s.from + to) / 2 * ((long double)ramp_ns / NS_PER_S));
	return s;
}

/* The segment holding arrival k: the last whose area before it is under k (segments with no
 * arrival of their own — steps, a zero value — are passed over by construction). */
static uint32_t segment_reaching(const schedule_segment_t *seg, uint32_t n, long double k)
{
	uint32_t lo = 0, hi = n; /* seg[0].area = 0 < k: the answer is in [lo, hi) */

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (seg[mid].area < k)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Within a ramp, r arrivals after its start: v0·τ + a·τ²/2 = r, solved as in
 * schedule_arrival_time. ns since the segment's begin, at most its ramp. */
static long double ramp_solve(const schedule_segment_t *s, long double r)
{
	long double v0 = s->from, d = (long double)s->ramp_ns / NS_PER_S;
	long double a = ((long double)s->to - v0) / d, disc = v0 * v0 + 2 * a * r;
	long double tau = 2 * r / (v0 + sqrtl(disc > 0 ? disc : 0)), ns;

	if (!(tau >= 0))
		tau = 0;
	ns = tau * NS_PER_S;
	return ns > s->ramp_ns ? (long double)s->ramp_ns : ns;
}

uint64_t schedule_segments_arrival_time(const schedule_segment_t *seg, uint32_t n, uint64_t k,
                                        bool holds)
{
	uint32_t i;
	const schedule_segment_t *s;
	long double kk = (long double)k, ns;
	bool last;

	if (k == 0)
		return 0;
	i = segment_reaching(seg, n, kk);
	s = &seg[i];
	last = i == n - 1;
	if (last) {
		/* the end of the last ramp as a stage schedule's end: the arrival rounding of the
		 * area could push past it is its instant (schedule_arrival_time) */
		long double end = s->ramp_end;

		if (kk <= end + end * 1e-12L && kk >= end)
			return s->begin_ns + s->ramp_ns;
		if (kk > end && (!holds || s->to <= 0))
			return UINT64_MAX; /* none: the schedule is over, or asks for none */
	}
	if (kk <= s->ramp_end && s->ramp_ns)
		ns = ramp_solve(s, kk - s->area);
	else if (s->to > 0)
		ns = s->ramp_ns + (kk - s->ramp_end) / s->to * NS_PER_S;
	else
		ns = s->ramp_ns; /* only rounding can put k here */
	if (!last && ns > (long double)(seg[i + 1].begin_ns - s->begin_ns))
		ns = (long double)(seg[i + 1].begin_ns - s->begin_ns);
	if (ns > (long double)(UINT64_MAX - s->begin_ns) / 2)
		return UINT64_MAX; /* centuries away: never, for a run */
	return s->begin_ns + (uint64_t)llroundl(ns);
}
