/* cgroup: the process's own control group — where it is (from /proc/self/cgroup and the
 * mounts in /proc/self/mountinfo, cgroup v1, v2 or both), what it may use (CPU quota, memory
 * limit) and what it used (CPU time, throttling, memory, OOM events); and making a child group
 * with limits for a process to run in (cgroup_make.c). Reading the process's own group, not the
 * hierarchy's root, is what keeps the figures right outside a cgroup namespace. */
#ifndef SURGE_CGROUP_H
#define SURGE_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CGROUP_PATH_MAX 512

/* Where the controllers surge reads are, for one process. A directory is "" when the
 * controller is not found; version is 1 or 2 per controller (0: not found). */
typedef struct cgroup_place {
	int cpu_version, memory_version;
	char cpu[CGROUP_PATH_MAX];     /* cpu.max (v2), cpu.cfs_* and cpu.stat (v1) */
	char cpuacct[CGROUP_PATH_MAX]; /* v1 cpuacct.usage (often the cpu hierarchy's); v2 = cpu */
	char memory[CGROUP_PATH_MAX];
	/* each hierarchy's mount point: limits are looked for up to it (ancestors' limits apply) */
	char cpu_mount[CGROUP_PATH_MAX], memory_mount[CGROUP_PATH_MAX];
	char cpu_path[CGROUP_PATH_MAX], memory_path[CGROUP_PATH_MAX]; /* as /proc/self/cgroup names
	                                                                 them */
} cgroup_place_t;

/* The place from the text of /proc/self/cgroup and /proc/self/mountinfo. Pure, for tests.
 * 0, or -ENOENT when neither a cpu nor a memory controller is found. */
int cgroup_place_parse(const char *proc_cgroup, const char *mountinfo, cgroup_place_t *out);
/* The same for this process (reads /proc/self/...). */
int cgroup_place_self(cgroup_place_t *out);

/* What the group allows and used; NAN where the kernel does not say (no such controller, or a
 * figure only one cgroup version has: OOM events are v2's alone, v1 counts only kills). */
typedef struct cgroup_stats {
	double cpu_limit_cores; /* the tightest CFS quota / period up to the mount; NAN: none */
	double cpu_usage_s;     /* CPU time of every process in the group */
	double cpu_periods, cpu_throttled_periods, cpu_throttled_s;
	double memory_limit_bytes; /* the tightest limit up to the mount; NAN: none */
	double memory_usage_bytes;
	double memory_working_set_bytes; /* usage minus inactive file pages, as cAdvisor counts */
	double memory_oom_events;        /* v2 memory.events "oom" */
	double memory_oom_kills;         /* v2 memory.events "oom_kill", v1 memory.oom_control */
} cgroup_stats_t;

void cgroup_read(const cgroup_place_t *place, cgroup_stats_t *out);

/* The value of "key N" in a flat keyed file (cpu.stat, memory.stat, memory.events,
 * memory.oom_control); false when the key is absent. Pure. */
bool cgroup_keyed_value(const char *text, const char *key, double *out);

/* ---- cgroup_make.c ---- */

/* The limits of a group made for a process: 0 is "none". */
typedef struct cgroup_limits {
	uint64_t cpu_millicores;
	uint64_t memory_bytes;
} cgroup_limits_t;

#define CGROUP_MADE_MAX 3 /* v1: cpu, cpuacct, memory hierarchies; v2: one directory */

/* A group made by cgroup_make: its directories, to join and to remove. */
typedef struct cgroup_made {
	int version;
	int count;
	char dirs[CGROUP_MADE_MAX][CGROUP_PATH_MAX];
	char memory[CGROUP_PATH_MAX]; /* where the OOM counters are ("" without memory) */
} cgroup_made_t;

/* Makes group `name` beside or below the place's own (v2: a child when the controllers can be
 * enabled there, else a sibling, per the no-internal-process rule; v1: a child in each of the
 * cpu, cpuacct and memory hierarchies) and writes the limits. 0, or -errno with err saying
 * which file refused what and what is needed. Nothing is left behind on failure. */
int cgroup_make(const cgroup_place_t *place, const char *name, const cgroup_limits_t *limits,
                cgroup_made_t *out, char *err, size_t errlen);
/* Moves process pid (all its threads) into the group. 0, or -errno with a message. */
int cgroup_join(const cgroup_made_t *made, pid_t pid, char *err, size_t errlen);
/* OOM kills counted in the group so far (NAN when the kernel does not say). */
double cgroup_made_oom_kills(const cgroup_made_t *made);
/* Removes the group's directories; its processes must be gone (reaped). Retries briefly
 * while the kernel still counts an exiting task. 0, or -errno of the first that stayed. */
int cgroup_unmake(cgroup_made_t *made);

#endif
