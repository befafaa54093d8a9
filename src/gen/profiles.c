/* profiles: the table behind `--profile NAME` and `surge help profiles`. The shapes follow the
 * seeds' load_test.sh modes; the help text is built from the table so the two cannot drift. */
#include "gen/profiles.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "gen/schedule.h"

#define HELP_WIDTH  78
#define HELP_INDENT "    "

/* Durations and user counts follow the seeds' table (basic 60 s × 10, stress 5 min × 50, cache
 * 2 min × 20, spike 1→50→1) and their Locust spawn rates (basic 2/s, cache 5/s) for the ramps;
 * thresholds are the seeds' success criteria where they state them. */
static const profile_t profiles[] = {
    {
        .name = "basic",
        .summary = "quick validation: 10 users for 60 s",
        .stages = "5s:10,55s:10",
        .thresholds = {"mean<200ms", "error_rate<=0%", NULL},
        .help = "The seeds' `load_test.sh basic`: a smoke test to run first and in CI. Ten "
                "users start over 5 seconds (Locust's --spawn-rate 2) and run for the rest "
                "of the minute. It passes with a mean latency under 200 ms and no errors, "
                "the seeds' basic targets.",
    },
    {
        .name = "stress",
        .summary = "sustained load: 50 users for 5 minutes",
        .stages = "30s:50,5m:50",
        .thresholds = {"p95<500ms", "error_rate<1%", NULL},
        .help = "The seeds' `load_test.sh stress`: fifty users start over 30 seconds, then "
                "hold for 5 minutes, long enough for queues, pools and caches to settle "
                "into their steady state. It passes with p95 under 500 ms and under 1 % "
                "errors, the seeds' stress targets.",
    },
    {
        .name = "spike",
        .summary = "a sudden surge and the recovery: 1 → 50 → 1 users",
        .stages = "0s:1,10s:1,0s:50,60s:50,0s:1,30s:1",
        .help = "The seeds' `load_test.sh spike`: one user for 10 seconds as a baseline, "
                "fifty at once for a minute, then one again for 30 seconds. Compare the "
                "latency during and after the spike with the baseline: does the target "
                "absorb a burst, and does it recover when the burst is over?",
    },
    {
        .name = "soak",
        .summary = "endurance: 20 users for an hour",
        .stages = "2m:20,1h:20,1m:0",
        .help = "A long steady run for what only time reveals: memory leaks, connection "
                "or file-descriptor exhaustion, queues and disks that slowly fill. Twenty "
                "users start over 2 minutes, hold for an hour and stop over a minute; watch "
                "the timeline (and --scrape figures) for latency or memory creeping upward.",
    },
    {
        .name = "cache",
        .summary = "cache performance: 20 users repeating reads for 2 minutes",
        .stages = "4s:20,116s:20",
        .help = "The seeds' `load_test.sh cache`: twenty users (started over 4 seconds, "
                "Locust's --spawn-rate 5) repeat the same reads for 2 minutes, so the "
                "target's cache warms and later requests should be visibly faster than the "
                "first. Point it at a cached read endpoint, or a scenario of reads, and "
                "compare early and late latency in the timeline.",
    },
    {
        .name = "breakpoint",
        .summary = "find the breaking point: a rising rate until a threshold fails",
        .open_model = true,
        .stages = "0s:10,10m:5000",
        .thresholds = {"p95<1s", "error_rate<5%", NULL},
        .abort_on_fail = true,
        .help = "Open model: requests arrive at a rate rising steadily from 10/s to 5000/s "
                "over 10 minutes, whether or not earlier ones were answered, and the run "
                "stops at the first failing threshold; the rate at that moment is the "
                "target's breaking point. Raise the ceiling with --stages, e.g. "
                "--stages 0s:10,10m:20000.",
    },
};

#define PROFILE_COUNT ((int)(sizeof(profiles) / sizeof(profiles[0])))

const profile_t *profile_find(const char *name)
{
	for (int i = 0; name && i < PROFILE_COUNT; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return &profiles[i];
	return NULL;
}

const profile_t *profile_at(int i)
{
	return i >= 0 && i < PROFILE_COUNT ? &profiles[i] : NULL;
}

int profile_count(void)
{
	return PROFILE_COUNT;
}

/* "1h3m", "5m30s", "55s", "0s", "1.5s": how a person would say it. */
static void format_duration(uint64_t ns, char *out, size_t len)
{
	uint64_t s = ns / NS_PER_S;
	int n = 0;

	if (ns % NS_PER_S || ns == 0) {
		snprintf(out, len, "%gs", (double)ns / NS_PER_S);
		return;
	}
	out[0] = '\0';
	if (s >= 3600)
		n += snprintf(out + n, len - n, "%" PRIu64 "h", s / 3600);
	if (s % 3600 >= 60 && (size_t)n < len)
		n += snprintf(out + n, len - n, "%" PRIu64 "m", s % 3600 / 60);
	if (s % 60 && (size_t)n < len)
		snprintf(out + n, len - n, "%" PRIu64 "s", s % 60);
}

/* "1 user", "20 users", "500/s": a level as the profile's model counts it. */
static void format_level(double v, bool open_model, char *out, size_t len)
{
	if (open_model)
		snprintf(out, len, "%g/s", v);
	else
		snprintf(out, len, "%g user%s", v, v == 1 ? "" : "s");
}

/* Stage i in words, and how many stages the words cover: a step followed by a hold at the
 * same level reads as one ("50 users for 1m"), a lone step jumps, else a hold or a ramp. */
static int describe_stage(buf_t *out, const schedule_t *s, int i, bool open_model, int *used)
{
	double from = i ? s->stages[i - 1].target : s->start;
	const schedule_stage_t *st = &s->stages[i];
	char d[32], level[48];

	*used = 1;
	format_level(st->target, open_model, level, sizeof(level));
	if (st->duration_ns == 0 && i + 1 < s->count && st[1].target == st->target &&
	    st[1].duration_ns > 0) {
		*used = 2;
		format_duration(st[1].duration_ns, d, sizeof(d));
		return buf_printf(out, "%s for %s", level, d);
	}
	format_duration(st->duration_ns, d, sizeof(d));
	if (st->duration_ns == 0)
		return buf_printf(out, "%s %s", i ? "jump to" : "start at", level);
	if (from == st->target)
		return buf_printf(out, "hold %s for %s", level, d);
	return buf_printf(out, "ramp %g → %s over %s", from, level, d);
}

/* Appends words with line breaks at HELP_WIDTH, each line indented. */
static int append_wrapped(buf_t *out, const char *text, const char *indent)
{
	size_t column = 0;
	int rc = 0;

	while (*text && rc == 0) {
		size_t word = strcspn(text, " ");

		if (column && column + 1 + word > HELP_WIDTH) {
			rc = buf_append_char(out, '\n');
			column = 0;
		}
		if (rc == 0 && column == 0) {
			rc = buf_append_str(out, indent);
			column = strlen(indent);
		} else if (rc == 0) {
			rc = buf_append_char(out, ' ');
			column++;
		}
		if (rc == 0)
			rc = buf_append(out, text, word);
		column += word;
		text += word;
		text += strspn(text, " ");
	}
	return rc ? rc : buf_append_char(out, '\n');
}

/* The stages as written, their total, and in words; the words wrap like any paragraph. */
static int append_stages(buf_t *out, const profile_t *p)
{
	char err[160], total[32];
	buf_t line;
	schedule_t s;
	int rc, used = 1;

	if (schedule_parse(p->stages, 0, 1e9, &s, err, sizeof(err)) < 0)
		return buf_printf(out, "  stages:     %s (%s)\n", p->stages, err);
	format_duration(schedule_duration(&s), total, sizeof(total));
	rc = buf_printf(out, "  stages:     %s (%s in all)\n", p->stages, total);
	buf_init(&line, 4096);
	for (int i = 0; rc == 0 && i < s.count; i += used) {
		if (i)
			rc = buf_append_str(&line, ", then ");
		if (rc == 0)
			rc = describe_stage(&line, &s, i, p->open_model, &used);
	}
	if (rc == 0 && line.len)
		rc = append_wrapped(out, line.data, "              ");
	buf_free(&line);
	return rc;
}

static int append_profile(buf_t *out, const profile_t *p)
{
	int rc = buf_printf(out, "%s — %s\n", p->name, p->summary);

	if (rc == 0)
		rc = buf_printf(out, "  model:      %s\n",
		                p->open_model
		                    ? "open (stages are arrival rates, requests per second)"
		                    : "closed (stages are virtual users)");
	if (rc == 0)
		rc = append_stages(out, p);
	if (rc == 0)
		rc = buf_append_str(out, "  thresholds: ");
	for (int i = 0; rc == 0 && p->thresholds[i]; i++)
		rc = buf_printf(out, "%s%s", i ? ", " : "", p->thresholds[i]);
	if (rc == 0 && !p->thresholds[0])
		rc = buf_append_str(out, "none (the assessment still reports PASS/FAIL)");
	if (rc == 0 && p->abort_on_fail)
		rc = buf_append_str(out, "; the run stops at the first failure");
	if (rc == 0)
		rc = buf_append_char(out, '\n');
	if (rc == 0)
		rc = append_wrapped(out, p->help, HELP_INDENT);
	return rc ? rc : buf_append_char(out, '\n');
}

int profiles_help(buf_t *out)
{
	static const char intro[] =
	    "surge profiles: ready-made load shapes for `surge run --profile NAME`\n"
	    "\n"
	    "They mirror the seeds' load_test.sh modes. A closed-model profile sets how many\n"
	    "virtual users run, each sending its next request when the previous one is\n"
	    "answered; an open-model profile sets the rate at which requests arrive, answered\n"
	    "or not. Stages are DURATION:TARGET, ramping linearly from the previous target\n"
	    "(0 at the start); a 0s stage is a step.\n"
	    "\n";
	static const char outro[] =
	    "Options override a profile: --stages, --users/--spawn-rate and -R replace its\n"
	    "shape, -d cuts it short, -c caps its connections, and --threshold (repeatable)\n"
	    "replaces its default thresholds.\n"
	    "\n"
	    "examples:\n"
	    "  surge run --profile basic http://127.0.0.1:8080/health\n"
	    "  surge run --profile stress --users 100 --spawn-rate 10 -d 5m URL\n"
	    "  surge run --profile breakpoint --stages 0s:10,10m:20000 URL\n";
	int rc = buf_append_str(out, intro);

	for (int i = 0; rc == 0 && i < PROFILE_COUNT; i++)
		rc = append_profile(out, &profiles[i]);
	return rc ? rc : buf_append_str(out, outro);
}
