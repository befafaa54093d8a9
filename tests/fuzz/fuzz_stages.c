/* libFuzzer driver for schedule_parse and the arithmetic on a parsed schedule (`--stages`, and
 * the stages of every `--profile`), and for profile_find. Beyond "no crash": an accepted
 * schedule has 1..64 stages within 30 days and the targets' bounds, the stages written back in
 * base units parse to the same schedule, the value stays between the stages' extremes, the
 * arrivals grow with time, and the k-th arrival is due when the arrivals reach k. A rejection
 * leaves the caller's schedule alone and says why on one line. */
#include "gen/profiles.h"
#include "gen/schedule.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"

#define MAX_NS (30ull * 24 * 3600 * 1000000000ull)
#define PROBES 16

static void check_shape(const schedule_t *s, double start, double max_target)
{
	uint64_t t = 0;

	if (s->count < 1 || s->count > SCHEDULE_MAX_STAGES || s->start != start)
		abort();
	for (int i = 0; i < s->count; i++) {
		if (!(s->stages[i].target >= 0 && s->stages[i].target <= max_target))
			abort();
		if (s->begin_ns[i] != t)
			abort();
		t += s->stages[i].duration_ns;
	}
	if (t > MAX_NS || schedule_duration(s) != t)
		abort();
}

/* "DURATIONns:TARGET,..." with every digit: the same stages again. */
static void check_round_trip(const schedule_t *s, double max_target)
{
	static char text[SCHEDULE_MAX_STAGES * 64];
	static schedule_t again;
	char err[256];
	size_t used = 0;

	for (int i = 0; i < s->count; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "%s%lluns:%.17g",
		                         i ? "," : "", (unsigned long long)s->stages[i].duration_ns,
		                         s->stages[i].target);
	if (schedule_parse(text, s->start, max_target, &again, err, sizeof(err)) < 0)
		abort();
	if (again.count != s->count)
		abort();
	for (int i = 0; i < s->count; i++)
		if (again.stages[i].duration_ns != s->stages[i].duration_ns ||
		    again.stages[i].target != s->stages[i].target)
			abort();
}

/* The value, the arrivals and the arrival times at probe points steered by the input. */
static void check_arithmetic(const schedule_t *s, uint64_t h)
{
	uint64_t end = schedule_duration(s), prev_t = 0, prev_due = 0;
	double lo = s->start, hi = s->start, prev_arrivals = 0, total = s->area[s->count];

	for (int i = 0; i < s->count; i++) {
		lo = fmin(lo, s->stages[i].target);
		hi = fmax(hi, s->stages[i].target);
	}
	if (!(total >= 0) || !isfinite(total))
		abort();
	for (int i = 0; i < PROBES; i++) {
		uint64_t t = prev_t + (end ? (h * (uint64_t)(i + 1)) % (end / PROBES + 1) : 0);
		double v = schedule_value_at(s, t), a = schedule_arrivals_until(s, t);

		if (!(v >= lo - hi * 1e-12 && v <= hi + hi * 1e-12))
			abort();
		if (!(a >= prev_arrivals - fmax(1e-9, prev_arrivals * 1e-12)) ||
		    !(a <= total + fmax(1e-9, total * 1e-12)))
			abort();
		prev_arrivals = a;
		prev_t = t;
	}
	if (fabs(schedule_arrivals_until(s, end) - total) > fmax(1e-9, total * 1e-12))
		abort();
	/* arrivals 1, 2, ... up to a few past the total: due in order, within the schedule */
	for (uint64_t k = 1; k <= 8 && k <= (uint64_t)total + 2; k++) {
		uint64_t due = schedule_arrival_time(s, k);

		if (due == UINT64_MAX) {
			if ((double)k <= total * (1 - 1e-12))
				abort(); /* an arrival the schedule holds was lost */
			break;
		}
		if (due < prev_due || due > end)
			abort();
		/* the arrivals reach k at `due`, to the nanosecond's worth of rate */
		if (fabs(schedule_arrivals_until(s, due) - (double)k) > hi * 2e-9 + k * 1e-9)
			abort();
		prev_due = due;
	}
	if (total < 1e18 && schedule_arrival_time(s, (uint64_t)(total * 1.001) + 2) != UINT64_MAX)
		abort();
}

/* Every profile's own stages and thresholds are valid, and a name finds only its profile. */
static void check_profiles(const char *name)
{
	const profile_t *p = profile_find(name);
	static bool checked;

	if (p && strcmp(p->name, name) != 0)
		abort();
	if (checked)
		return;
	checked = true;
	for (int i = 0; (p = profile_at(i)); i++) {
		static schedule_t s;
		char err[256];

		if (profile_find(p->name) != p ||
		    schedule_parse(p->stages, 0, 1e9, &s, err, sizeof(err)) < 0)
			abort();
	}
}

/* Byte 0 picks the start value and the targets' bound; the rest is the stages' text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const double bounds[] = {1e6, 1e7, 1e9, 100};
	static schedule_t s, untouched;
	double max_target, start;
	char err[256];
	char *text;

	if (size < 1)
		return 0;
	text = fuzz_string(data + 1, size - 1);
	max_target = bounds[data[0] & 3];
	start = data[0] & 4 ? (double)(data[0] >> 3) : 0;
	memset(&untouched, 0x5a, sizeof(untouched));
	s = untouched;
	err[0] = '\0';
	if (schedule_parse(text, start, max_target, &s, err, sizeof(err)) == 0) {
		check_shape(&s, start, max_target);
		check_round_trip(&s, max_target);
		check_arithmetic(&s, fuzz_hash(data, size));
	} else {
		fuzz_check_message(err, sizeof(err));
		if (memcmp(&s, &untouched, sizeof(s)) != 0)
			abort();
	}
	check_profiles(text);
	free(text);
	return 0;
}
