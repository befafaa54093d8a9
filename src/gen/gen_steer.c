/* gen_steer: the load's schedule in force — the configured shape as segments (schedule.h) —
 * and changes to it while the run goes on (a live UI, from its own thread): checked, appended
 * under the timeline lock and published with one atomic store, recorded as markers, and the
 * threads woken to act on them. The models read the schedule here, never the config's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/echo.h"
#include "gen/gen_internal.h"

#define STEER_RAMP_MAX_NS (30ULL * 24 * 3600 * NS_PER_S) /* as the stages' 30 days */

/* A rate schedule of one level (the constant -R): the only open shape a change may replace. */
static bool constant_rate(const schedule_t *s)
{
	for (int i = 0; i < s->count; i++)
		if (s->stages[i].target != s->start)
			return false;
	return true;
}

int gen_steer_check(const gen_config_t *cfg, enum gen_steer_kind *kind, char *why, size_t whylen)
{
	bool open = cfg->open_model;
	/* --users N --spawn-rate R asks what a change asks too: not a shape the user fixed */
	bool ramp = cfg->users_ramp && !open;

	*kind = open ? GEN_STEER_RATE : GEN_STEER_USERS;
	if (cfg->steer_refusal) {
		snprintf(why, whylen, "%s", cfg->steer_refusal);
		return -EINVAL;
	}
	if (cfg->stages_text && !ramp) {
		snprintf(why, whylen,
		         open
		             ? "the rate is fixed by --stages %s: run without --stages to steer it"
		             : "users are fixed by --stages %s: run without --stages to steer them",
		         ECHO(cfg->stages_text));
		return -EINVAL;
	}
	if ((!open && cfg->has_schedule && !ramp) || (open && !constant_rate(&cfg->schedule))) {
		snprintf(why, whylen, "%s follows the run's stages: run without stages to steer it",
		         open ? "the rate" : "the number of users");
		return -EINVAL;
	}
	if (cfg->requests) {
		snprintf(why, whylen,
		         "-n %llu fixes the run's requests: run for a duration (-d) or until "
		         "stopped to steer it",
		         (unsigned long long)cfg->requests);
		return -EINVAL;
	}
	return 0;
}

/* The users the threads get room for: what was asked, bounded; only a steerable closed run
 * has more than its `connections`. */
static int users_room(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;

	run->users_max = cfg->connections;
	if (cfg->open_model || !run->steerable || !cfg->users_max)
		return 0;
	if (cfg->users_max > GEN_MAX_CONNECTIONS) {
		snprintf(err, errlen, "room for %u users: at most %u", cfg->users_max,
		         GEN_MAX_CONNECTIONS);
		return -EINVAL;
	}
	if (cfg->users_max < cfg->connections) {
		snprintf(err, errlen, "room for %u users is less than the %u the run starts with",
		         cfg->users_max, cfg->connections);
		return -EINVAL;
	}
	run->users_max = cfg->users_max;
	return 0;
}

int gen_steer_setup(gen_run_t *run, char *err, size_t errlen)
{
	const gen_config_t *cfg = &run->cfg;
	const schedule_t *base = &cfg->schedule;
	schedule_t level;
	char why[256];
	int rc;

	run->steerable = gen_steer_check(cfg, &run->steer_kind, why, sizeof(why)) == 0;
	run->schedule_holds = run->steerable || cfg->until_stopped;
	if ((rc = users_room(run, err, errlen)) < 0)
		return rc;
	if (!cfg->open_model && !cfg->has_schedule) {
		schedule_constant(&level, cfg->connections, 0); /* -c: one level, for ever */
		base = &level;
	}
	/* a change costs a segment and a marker (~100 bytes); malloc, not calloc: the pages of
	 * changes never made are never touched, so never resident */
	run->segment_cap =
	    (uint32_t)(base->count ? base->count : 1) + (run->steerable ? GEN_STEER_MAX : 0);
	run->segments = malloc(run->segment_cap * sizeof(*run->segments));
	if (run->steerable)
		run->markers = malloc(GEN_STEER_MAX * sizeof(*run->markers));
	if (!run->segments || (run->steerable && !run->markers)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	atomic_store(&run->segment_count, schedule_segments(base, run->segments));
	return 0;
}

void gen_steer_free(gen_run_t *run)
{
	free(run->segments);
	free(run->markers);
	run->segments = NULL;
	run->markers = NULL;
}

double gen_schedule_value(const gen_run_t *run, uint64_t t_ns)
{
	uint32_t n = atomic_load_explicit(&run->segment_count, memory_order_acquire);

	return schedule_segments_value_at(run->segments, n, t_ns);
}

uint64_t gen_schedule_arrival(const gen_run_t *run, uint64_t k)
{
	uint32_t n = atomic_load_explicit(&run->segment_count, memory_order_acquire);

	return schedule_segments_arrival_time(run->segments, n, k, run->schedule_holds);
}

uint32_t gen_steer_take_markers(gen_run_t *run, const gen_marker_t **markers)
{
	uint32_t n = run->marker_count - run->markers_emitted;

	*markers = run->markers + run->markers_emitted;
	run->markers_emitted = run->marker_count;
	return n;
}

/* What can be said of a change without the run's state: its kind and its bounds. */
static int check_change(const gen_run_t *run, const gen_steer_t *s, char *err, size_t errlen)
{
	if (s->kind != run->steer_kind) {
		snprintf(err, errlen,
		         run->steer_kind == GEN_STEER_USERS
		             ? "this run is the closed model: it is steered by users (and a spawn "
		               "rate), not by a rate"
		             : "this run is the open model: it is steered by its rate (arrivals "
		               "per second), not by users");
		return -EINVAL;
	}
	if (s->kind == GEN_STEER_USERS) {
		if (!isfinite(s->value) || s->value < 0 || s->value != floor(s->value)) {
			snprintf(err, errlen, "users: %g is not a whole number from 0 to %u",
			         s->value, run->users_max);
			return -EINVAL;
		}
		if (s->value > run->users_max) {
			snprintf(err, errlen,
			         "%.0f users is over the %u this run has room for: start it with "
			         "room for more (-c)",
			         s->value, run->users_max);
			return -EINVAL;
		}
		if (!isfinite(s->spawn_rate) || s->spawn_rate < 0) {
			snprintf(
			    err, errlen,
			    "spawn rate: %g is not a number of users per second (0: all at once)",
			    s->spawn_rate);
			return -EINVAL;
		}
		return gen_fd_limit((uint32_t)deal_share((uint64_t)s->value, run->cfg.shard), err,
		                    errlen);
	}
	if (!isfinite(s->value) || s->value < 0 || s->value > GEN_MAX_RATE) {
		snprintf(err, errlen,
		         "rate: %g is not a number of arrivals per second from 0 to %.0f", s->value,
		         GEN_MAX_RATE);
		return -EINVAL;
	}
	if (!isfinite(s->ramp_s) || s->ramp_s < 0 || s->ramp_s * NS_PER_S > STEER_RAMP_MAX_NS) {
		snprintf(err, errlen, "ramp: %g is not a number of seconds from 0 to 30 days",
		         s->ramp_s);
		return -EINVAL;
	}
	return 0;
}

/* Whether the run takes no more changes (why in err), under the timeline lock. */
static bool closed_for_changes(gen_run_t *run, uint64_t at_ns, char *err, size_t errlen)
{
	bool all_finished = true;

	for (uint32_t i = 0; i < run->thread_count; i++)
		all_finished &= run->threads[i].finished;
	if (all_finished || (run->cfg.duration_ns && at_ns >= run->cfg.duration_ns))
		snprintf(err, errlen, "the run is over: nothing left to steer");
	else if (atomic_load(&run->stop_requested))
		snprintf(err, errlen, "the run is stopping: nothing left to steer");
	else if (run->marker_count == GEN_STEER_MAX)
		snprintf(err, errlen,
		         "this run has taken %d changes, the most one run records: start a new "
		         "run to change it again",
		         GEN_STEER_MAX);
	else
		return false;
	return true;
}

int gen_steer(gen_run_t *run, const gen_steer_t *s, char *err, size_t errlen)
{
	schedule_segment_t seg;
	uint64_t now, at_ns, ramp_ns;
	double from;
	uint32_t n;
	int rc;

	if (!run->steerable) {
		enum gen_steer_kind kind;

		gen_steer_check(&run->cfg, &kind, err, errlen);
		return -EINVAL;
	}
	if ((rc = check_change(run, s, err, errlen)) < 0)
		return rc;
	pthread_mutex_lock(&run->timeline_lock);
	now = clock_now_ns();
	at_ns = now > run->start_ns ? now - run->start_ns : 0; /* before --start-at: from 0 */
	if (closed_for_changes(run, at_ns, err, errlen)) {
		pthread_mutex_unlock(&run->timeline_lock);
		return -EBUSY;
	}
	n = atomic_load_explicit(&run->segment_count, memory_order_relaxed);
	from = schedule_segments_value_at(run->segments, n, at_ns);
	ramp_ns = (uint64_t)llround(s->ramp_s * NS_PER_S);
	if (s->kind == GEN_STEER_USERS) {
		double ramp =
		    s->spawn_rate > 0 ? fabs(s->value - from) / s->spawn_rate * NS_PER_S : 0;

		if (ramp > STEER_RAMP_MAX_NS) {
			pthread_mutex_unlock(&run->timeline_lock);
			snprintf(
			    err, errlen,
			    "a spawn rate of %g users per second takes over 30 days from %.0f to "
			    "%.0f users",
			    s->spawn_rate, from, s->value);
			return -EINVAL;
		}
		ramp_ns = (uint64_t)llround(ramp);
	}
	seg = schedule_change(run->segments, n, at_ns, s->value, ramp_ns);
	run->segments[n] = seg;
	/* the segment is written before it is counted: a thread that sees the count sees it */
	atomic_store_explicit(&run->segment_count, n + 1, memory_order_release);
	run->markers[run->marker_count++] = (gen_marker_t){
	    .wall_ns = run->start_wall_ns + at_ns,
	    .at_ns = at_ns,
	    .kind = s->kind,
	    .from = from,
	    .to = s->value,
	    .spawn_rate = s->kind == GEN_STEER_USERS ? s->spawn_rate : 0,
	    .ramp_s = (double)ramp_ns / NS_PER_S,
	};
	atomic_fetch_add(&run->steers, 1);
	pthread_mutex_unlock(&run->timeline_lock);
	for (uint32_t i = 0; i < run->thread_count; i++)
		loop_wake(run->threads[i].loop);
	return 0;
}

void gen_steer_state(gen_run_t *run, gen_steer_state_t *out)
{
	uint64_t now = clock_now_ns();
	uint64_t at_ns = now > run->start_ns ? now - run->start_ns : 0;
	uint32_t n;

	pthread_mutex_lock(&run->timeline_lock);
	n = atomic_load_explicit(&run->segment_count, memory_order_relaxed);
	*out = (gen_steer_state_t){
	    .kind = run->steer_kind,
	    .steerable = run->steerable,
	    .now = schedule_segments_value_at(run->segments, n, at_ns),
	    .target = run->segments[n - 1].to,
	    .max = run->steer_kind == GEN_STEER_USERS ? run->users_max : GEN_MAX_RATE,
	    .changes = run->marker_count,
	};
	pthread_mutex_unlock(&run->timeline_lock);
}
