/* cgroup_make: a control group of its own, with a CPU quota and a memory limit, for a process
 * to run in — so throttling and OOM kills can be reproduced on a laptop as in a pod. v1: a
 * child in each of the cpu, cpuacct and memory hierarchies (the ones the limits need must be
 * made, the others are for scoping the figures and may fail). v2: one directory; cgroup v2
 * lets only leaf groups hold processes once controllers are enabled below them, so when the
 * process's own group holds processes the new group becomes its sibling instead. */
#include "core/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CFS_PERIOD_US 100000 /* Kubernetes' and the kernel's default period: 100 ms */

static int write_value(const char *dir, const char *file, const char *value, char *err,
                       size_t errlen)
{
	char path[CGROUP_PATH_MAX + 64];
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	if (write(fd, value, strlen(value)) < 0) {
		e = errno;
		snprintf(err, errlen, "cannot write '%s' to %s: %s", value, path, strerror(e));
	}
	close(fd);
	return -e;
}

static bool word_in_file(const char *dir, const char *file, const char *word)
{
	char path[CGROUP_PATH_MAX + 64], text[512];
	size_t wlen = strlen(word);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	for (char *p = strstr(text, word); p; p = strstr(p + 1, word))
		if ((p == text || p[-1] == ' ') && (p[wlen] == ' ' || p[wlen] == '\n' || !p[wlen]))
			return true;
	return false;
}

/* mkdir dir/name; a leftover empty group of that name (a supervisor that was killed, its pid
 * reused) is removed first. */
static int make_dir(const char *dir, const char *name, char *out, char *err, size_t errlen)
{
	int e;

	if (snprintf(out, CGROUP_PATH_MAX, "%s/%s", dir, name) >= CGROUP_PATH_MAX) {
		snprintf(err, errlen, "the path %s/%s is too long", dir, name);
		return -ENAMETOOLONG;
	}
	if (mkdir(out, 0755) == 0 || (errno == EEXIST && rmdir(out) == 0 && mkdir(out, 0755) == 0))
		return 0;
	e = errno;
	snprintf(err, errlen, "cannot create %s: %s", out, strerror(e));
	out[0] = '\0';
	return -e;
}

static void undo(cgroup_made_t *m)
{
	cgroup_unmake(m);
	memset(m, 0, sizeof(*m));
}

static int limit_cpu(const char *dir, int version, uint64_t millicores, char *err, size_t errlen)
{
	char v[64];
	int rc;

	if (version == 2) {
		snprintf(v, sizeof(v), "%llu %d", (unsigned long long)millicores * 100,
		         CFS_PERIOD_US);
		return write_value(dir, "cpu.max", v, err, errlen);
	}
	snprintf(v, sizeof(v), "%d", CFS_PERIOD_US);
	if ((rc = write_value(dir, "cpu.cfs_period_us", v, err, errlen)) < 0)
		return rc;
	snprintf(v, sizeof(v), "%llu", (unsigned long long)millicores * 100);
	return write_value(dir, "cpu.cfs_quota_us", v, err, errlen);
}

/* No swap either: a limit the process could swap past would never kill it. */
static int limit_memory(const char *dir, int version, uint64_t bytes, char *err, size_t errlen)
{
	char v[32], ignored[256];
	int rc;

	snprintf(v, sizeof(v), "%llu", (unsigned long long)bytes);
	if (version == 2) {
		if ((rc = write_value(dir, "memory.max", v, err, errlen)) < 0)
			return rc;
		write_value(dir, "memory.swap.max", "0", ignored, sizeof(ignored));
		return 0;
	}
	if ((rc = write_value(dir, "memory.limit_in_bytes", v, err, errlen)) < 0)
		return rc;
	write_value(dir, "memory.memsw.limit_in_bytes", v, ignored, sizeof(ignored));
	return 0;
}

static int make_v1(const cgroup_place_t *p, const char *name, const cgroup_limits_t *lim,
                   cgroup_made_t *m, char *err, size_t errlen)
{
	const struct {
		const char *dir;
		bool needed, cpu, memory;
	} hier[] = {
	    {p->cpu_version == 1 ? p->cpu : "", lim->cpu_millicores > 0, true, false},
	    {p->cpu_version == 1 && strcmp(p->cpuacct, p->cpu) != 0 ? p->cpuacct : "", false, false,
	     false},
	    {p->memory_version == 1 ? p->memory : "", lim->memory_bytes > 0, false, true},
	};
	char scratch[512];
	int rc;

	for (size_t i = 0; i < sizeof(hier) / sizeof(hier[0]); i++) {
		char *dir = m->dirs[m->count];

		if (!hier[i].dir[0])
			continue;
		rc = make_dir(hier[i].dir, name, dir, hier[i].needed ? err : scratch,
		              hier[i].needed ? errlen : sizeof(scratch));
		if (rc < 0 && hier[i].needed)
			return rc;
		if (rc < 0)
			continue; /* only for scoping the figures: the process stays where it was */
		m->count++;
		if (hier[i].cpu && lim->cpu_millicores &&
		    (rc = limit_cpu(dir, 1, lim->cpu_millicores, err, errlen)) < 0)
			return rc;
		if (hier[i].memory) {
			snprintf(m->memory, sizeof(m->memory), "%s", dir);
			if (lim->memory_bytes &&
			    (rc = limit_memory(dir, 1, lim->memory_bytes, err, errlen)) < 0)
				return rc;
		}
	}
	return 0;
}

/* Where a v2 group with these controllers can go: below the process's own group when the
 * controllers are (or can be) enabled there, else beside it. */
static int v2_base(const char *own, const char *mount, const char *const *ctrl, int n, char *base,
                   char *err, size_t errlen)
{
	char *slash;
	int rc = 0;

	for (int i = 0; i < n; i++)
		if (!word_in_file(own, "cgroup.controllers", ctrl[i])) {
			snprintf(err, errlen,
			         "the cgroup v2 group %s does not offer the %s controller (its "
			         "parent's cgroup.subtree_control does not enable it)",
			         own, ctrl[i]);
			return -ENOTSUP;
		}
	snprintf(base, CGROUP_PATH_MAX, "%s", own);
	for (int i = 0; i < n && rc == 0; i++) {
		char add[32];

		if (word_in_file(own, "cgroup.subtree_control", ctrl[i]))
			continue;
		snprintf(add, sizeof(add), "+%s", ctrl[i]);
		rc = write_value(own, "cgroup.subtree_control", add, err, errlen);
	}
	if (rc == 0)
		return 0;
	if (rc != -EBUSY)
		return rc;
	/* the own group holds processes: a sibling, under the parent that enables them for it */
	if (strcmp(own, mount) == 0 || !(slash = strrchr(base, '/')) || slash == base) {
		snprintf(
		    err, errlen,
		    "cannot enable the controllers below %s: it holds processes, and cgroup v2 "
		    "lets only leaf groups hold them",
		    own);
		return -EBUSY;
	}
	*slash = '\0';
	return 0;
}

static int make_v2(const cgroup_place_t *p, const char *name, const cgroup_limits_t *lim,
                   cgroup_made_t *m, char *err, size_t errlen)
{
	const char *own = p->cpu_version == 2 ? p->cpu : p->memory;
	const char *mount = p->cpu_version == 2 ? p->cpu_mount : p->memory_mount;
	const char *ctrl[2];
	char base[CGROUP_PATH_MAX], *dir = m->dirs[m->count];
	int n = 0, rc;

	if (lim->cpu_millicores && p->cpu_version == 2)
		ctrl[n++] = "cpu";
	if (lim->memory_bytes && p->memory_version == 2)
		ctrl[n++] = "memory";
	if ((rc = v2_base(own, mount, ctrl, n, base, err, errlen)) < 0 ||
	    (rc = make_dir(base, name, dir, err, errlen)) < 0)
		return rc;
	m->count++;
	if (lim->cpu_millicores && p->cpu_version == 2 &&
	    (rc = limit_cpu(dir, 2, lim->cpu_millicores, err, errlen)) < 0)
		return rc;
	if (p->memory_version == 2) {
		snprintf(m->memory, sizeof(m->memory), "%s", dir);
		if (lim->memory_bytes &&
		    (rc = limit_memory(dir, 2, lim->memory_bytes, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

int cgroup_make(const cgroup_place_t *place, const char *name, const cgroup_limits_t *limits,
                cgroup_made_t *out, char *err, size_t errlen)
{
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if ((limits->cpu_millicores && !place->cpu_version) ||
	    (limits->memory_bytes && !place->memory_version)) {
		snprintf(err, errlen, "no %s controller is mounted (/proc/self/cgroup names none)",
		         limits->cpu_millicores && !place->cpu_version ? "cpu" : "memory");
		return -ENOENT;
	}
	out->version = place->cpu_version == 2 || place->memory_version == 2 ? 2 : 1;
	if (place->cpu_version == 1 || place->memory_version == 1)
		rc = make_v1(place, name, limits, out, err, errlen);
	if (rc == 0 && out->version == 2)
		rc = make_v2(place, name, limits, out, err, errlen);
	if (rc < 0)
		undo(out);
	return rc;
}

int cgroup_join(const cgroup_made_t *made, pid_t pid, char *err, size_t errlen)
{
	char v[32];
	int rc;

	snprintf(v, sizeof(v), "%d", (int)pid);
	for (int i = 0; i < made->count; i++)
		if ((rc = write_value(made->dirs[i], "cgroup.procs", v, err, errlen)) < 0)
			return rc;
	return 0;
}

double cgroup_made_oom_kills(const cgroup_made_t *made)
{
	char path[CGROUP_PATH_MAX + 64], text[1024];
	ssize_t n;
	double v;
	int fd;

	if (!made->memory[0])
		return NAN;
	snprintf(path, sizeof(path), "%s/%s", made->memory,
	         made->version == 2 ? "memory.events" : "memory.oom_control");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NAN;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	text[n > 0 ? n : 0] = '\0';
	return cgroup_keyed_value(text, "oom_kill", &v) ? v : NAN;
}

int cgroup_unmake(cgroup_made_t *made)
{
	struct timespec pause = {0, 20 * 1000 * 1000};
	int first = 0;

	for (int i = made->count - 1; i >= 0; i--) {
		/* a task that has exited may stay counted for a moment after it is reaped */
		for (int tries = 0; tries < 50 && rmdir(made->dirs[i]) < 0; tries++) {
			if (errno != EBUSY) {
				if (errno != ENOENT && !first)
					first = -errno;
				break;
			}
			if (tries == 49 && !first)
				first = -EBUSY;
			nanosleep(&pause, NULL);
		}
	}
	made->count = 0;
	return first;
}
