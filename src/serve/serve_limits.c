/* serve_limits: `surge serve --cpu-limit 200m --memory-limit 128Mi` — a pod's resource limits
 * on a laptop. This process makes a cgroup with the limits and stays outside it as a small
 * supervisor; serve runs in a child process inside it. The supervisor forwards the stop
 * signals, starts the child again after an OOM kill (as the kubelet restarts a container, and
 * in the same cgroup, so the kill is counted in the new child's metrics), and removes the
 * cgroup when the child is gone — which a process that was OOM-killed could not do itself. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "serve/serve_internal.h"

/* Restarts after OOM kills back off as the kubelet's CrashLoopBackOff does, so a limit too
 * low for serve to start costs a restart every 30 s, not a busy loop: the first restart is at
 * once, each next one waits twice as long (from 1 s), and a child that lived 10 s resets it. */
#define BACKOFF_FIRST_NS (1 * NS_PER_S)
#define BACKOFF_MAX_NS   (30 * NS_PER_S)
#define BACKOFF_RESET_NS (10 * NS_PER_S)

static const char *const needed =
    "run as root, or inside a delegated cgroup v2 subtree, e.g. systemd-run --user --scope -p "
    "Delegate=yes surge serve ...";

/* "--cpu-limit 200m (0.2 cores) and --memory-limit 128Mi (134217728 bytes)", as given. */
static void describe(const serve_config_t *cfg, char *out, size_t len)
{
	int n = 0;

	out[0] = '\0';
	if (cfg->cpu_limit_millicores)
		n = snprintf(out, len, "%s %llum (%.3g cores)",
		             serve_option_from(cfg->cpu_limit_from, "--cpu-limit"),
		             (unsigned long long)cfg->cpu_limit_millicores,
		             cfg->cpu_limit_millicores / 1000.0);
	if (cfg->memory_limit_bytes && n >= 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, "%s%s %llu bytes (%.1f MiB)", n ? " and " : "",
		         serve_option_from(cfg->memory_limit_from, "--memory-limit"),
		         (unsigned long long)cfg->memory_limit_bytes,
		         cfg->memory_limit_bytes / 1048576.0);
}

static const char *first_flag(const serve_config_t *cfg)
{
	return cfg->cpu_limit_millicores
	           ? serve_option_from(cfg->cpu_limit_from, "--cpu-limit")
	           : serve_option_from(cfg->memory_limit_from, "--memory-limit");
}

/* Waits for the child to end, forwarding stop signals to it (SIGHUP as SIGTERM: serve drains
 * on SIGTERM, and a hang-up would kill it outright). Returns its wait status. */
static int wait_child(pid_t child, const sigset_t *signals, bool *stopping)
{
	for (;;) {
		siginfo_t info;
		int sig = sigwaitinfo(signals, &info), status;

		if (sig < 0)
			continue; /* EINTR */
		if (sig == SIGCHLD) {
			if (waitpid(child, &status, WNOHANG) == child)
				return status;
			continue;
		}
		*stopping = true;
		kill(child, sig == SIGHUP ? SIGTERM : sig);
	}
}

/* In the child: wait until the supervisor has placed this process in the cgroup. */
static int child_start(pid_t supervisor, int go, const sigset_t *old)
{
	char byte;

	prctl(PR_SET_PDEATHSIG, SIGTERM); /* the supervisor killed: drain and go */
	sigprocmask(SIG_SETMASK, old, NULL);
	if (getppid() != supervisor || read(go, &byte, 1) != 1)
		_exit(EXIT_FAILURE); /* the supervisor is gone, or could not place this process */
	close(go);
	return 0;
}

/* The exit code for a child's wait status, as a shell reports one. */
static int exit_code_of(int status)
{
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* After the child ended: whether it was the OOM killer (then logged), per the cgroup's own
 * count of kills. */
static bool oom_killed(const serve_config_t *cfg, const cgroup_made_t *made, int status,
                       double *kills_before, bool stopping, pid_t child, uint64_t delay_ns)
{
	double kills = cgroup_made_oom_kills(made);
	bool oom = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && kills > *kills_before;
	char next[64];

	*kills_before = kills;
	if (!oom)
		return false;
	if (stopping)
		snprintf(next, sizeof(next), "it was stopping: not starting it again");
	else if (delay_ns)
		snprintf(next, sizeof(next), "starting it again in %.0f s", delay_ns / 1e9);
	else
		snprintf(next, sizeof(next), "starting it again at once");
	serve_log_event(stopping ? SERVE_LOG_ERROR : SERVE_LOG_WARN, "oom_killed",
	                "the OOM killer killed serve (pid %d) at its cgroup's memory limit of %llu "
	                "bytes (OOM kills in the cgroup: %.0f); %s",
	                (int)child, (unsigned long long)cfg->memory_limit_bytes, kills, next);
	return true;
}

/* The pause before a restart: nothing after a child that lived long enough, else doubling. */
static uint64_t next_backoff(uint64_t *backoff_ns, uint64_t lived_ns)
{
	uint64_t wait;

	if (lived_ns >= BACKOFF_RESET_NS)
		*backoff_ns = 0;
	wait = *backoff_ns;
	*backoff_ns =
	    wait ? (wait * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : wait * 2) : BACKOFF_FIRST_NS;
	return wait;
}

/* Waits out a restart's back-off; false when a stop signal came meanwhile. */
static bool pause_before_restart(uint64_t wait_ns, const sigset_t *signals)
{
	uint64_t end = clock_now_ns() + wait_ns;

	for (uint64_t now = clock_now_ns(); now < end; now = clock_now_ns()) {
		struct timespec left = {(time_t)((end - now) / NS_PER_S),
		                        (long)((end - now) % NS_PER_S)};
		int sig = sigtimedwait(signals, NULL, &left);

		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
			return false;
	}
	return true;
}

/* Forks the child and places it in the cgroup: the child's pid, 0 in the child, or -1 with a
 * message (the child, if any, is gone). */
static pid_t start_child(const cgroup_made_t *made, const sigset_t *old, const char *flag,
                         char *err, size_t errlen)
{
	pid_t me = getpid(), child;
	char why[CGROUP_PATH_MAX + 200];
	int go[2];

	if (pipe2(go, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start serve: %s", strerror(errno));
		return -1;
	}
	if ((child = fork()) == 0) {
		close(go[1]);
		return child_start(me, go[0], old);
	}
	close(go[0]);
	if (child < 0) {
		snprintf(err, errlen, "cannot start serve: %s", strerror(errno));
		close(go[1]);
		return -1;
	}
	if (cgroup_join(made, child, why, sizeof(why)) < 0) {
		close(go[1]); /* the child reads nothing and exits */
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		snprintf(err, errlen, "%s needs a cgroup of its own: %s (%s)", flag, why, needed);
		return -1;
	}
	if (write(go[1], "g", 1) != 1) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		snprintf(err, errlen, "cannot start serve: %s", strerror(errno));
		close(go[1]);
		return -1;
	}
	close(go[1]);
	return child;
}

int serve_limits_run(const serve_config_t *cfg, int *exit_code, char *err, size_t errlen)
{
	cgroup_limits_t limits = {cfg->cpu_limit_millicores, cfg->memory_limit_bytes};
	cgroup_place_t place;
	cgroup_made_t made;
	sigset_t signals, old;
	char name[64], why[CGROUP_PATH_MAX + 300], what[200];
	char where[CGROUP_MADE_MAX * (CGROUP_PATH_MAX + 1)] = "";
	const char *flag = first_flag(cfg);
	double kills_before;
	uint64_t backoff_ns = 0;
	int status = 0, status_left;
	bool stopping = false;

	if (cgroup_place_self(&place) < 0) {
		snprintf(err, errlen,
		         "%s needs cgroups, and /proc/self/cgroup and /proc/self/mountinfo name no "
		         "cpu or memory controller",
		         flag);
		return -1;
	}
	snprintf(name, sizeof(name), "surge-serve-%d", (int)getpid());
	if (cgroup_make(&place, name, &limits, &made, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s needs a cgroup of its own: %s (%s)", flag, why, needed);
		return -1;
	}
	serve_state.cfg = cfg; /* the log level of the supervisor's own lines */
	describe(cfg, what, sizeof(what));
	for (int i = 0, n = 0; i < made.count && n >= 0 && (size_t)n < sizeof(where); i++)
		n += snprintf(where + n, sizeof(where) - (size_t)n, "%s%s", i ? " " : "",
		              made.dirs[i]);
	kills_before = cgroup_made_oom_kills(&made);
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGHUP);
	sigaddset(&signals, SIGCHLD);
	sigprocmask(SIG_BLOCK, &signals, &old);
	for (;;) {
		uint64_t started = clock_now_ns(), wait;
		pid_t child = start_child(&made, &old, flag, err, errlen);

		if (child == 0)
			return 0; /* the child: serve */
		if (child < 0) {
			cgroup_unmake(&made);
			sigprocmask(SIG_SETMASK, &old, NULL);
			return -1;
		}
		serve_log_event(SERVE_LOG_INFO, "cgroup", "serve (pid %d) runs in %s with %s",
		                (int)child, where, what);
		status = wait_child(child, &signals, &stopping);
		wait = next_backoff(&backoff_ns, clock_now_ns() - started);
		if (!oom_killed(cfg, &made, status, &kills_before, stopping, child, wait) ||
		    stopping || !pause_before_restart(wait, &signals))
			break;
	}
	if ((status_left = cgroup_unmake(&made)) < 0)
		serve_log_event(SERVE_LOG_WARN, "cgroup_left", "could not remove %s: %s",
		                made.dirs[0], strerror(-status_left));
	sigprocmask(SIG_SETMASK, &old, NULL);
	*exit_code = exit_code_of(status);
	return 1;
}
