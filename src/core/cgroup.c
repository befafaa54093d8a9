/* cgroup: finds the process's own control group in each hierarchy and reads its limits and
 * counters — cgroup v1 (one hierarchy per controller set, as on hybrid hosts) and v2 (one
 * unified tree). A container's /sys/fs/cgroup is either a cgroup namespace (the group is "/")
 * or a bind mount of the group's directory (the group is its full path, the mount's root is
 * the same path): both are resolved through the mount's root, so the directory read is always
 * the process's own. */
#include "core/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILE_MAX     (64 * 1024)           /* /proc/self/mountinfo can list many mounts */
#define STAT_MAX     8192                  /* memory.stat, cpu.stat: a few dozen lines */
#define ANCESTORS    64                    /* how far up a limit is looked for, at most */
#define V1_NO_LIMIT  1152921504606846976.0 /* 2^60: v1 writes ~2^63 for "no memory limit" */
#define MOUNT_FIELDS 24

/* Reads a whole small file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t len = 0;

	if (fd < 0)
		return -1;
	while (len + 1 < cap) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static ssize_t read_in(const char *dir, const char *file, char *buf, size_t cap)
{
	char path[CGROUP_PATH_MAX + 64];

	if (!dir[0] || snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -1;
	return read_text(path, buf, cap);
}

/* ---- where the groups are ---- */

/* Whether the comma-separated list holds `word` as one whole element. */
static bool list_has(const char *list, size_t len, const char *word)
{
	size_t wlen = strlen(word);
	const char *p = list, *end = list + len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t n = comma ? (size_t)(comma - p) : (size_t)(end - p);

		if (n == wlen && memcmp(p, word, n) == 0)
			return true;
		p += n + 1;
	}
	return false;
}

/* /proc/self/cgroup: the path of the v1 hierarchy holding `controller`, or (NULL controller)
 * of the v2 line "0::PATH". false when there is none. */
static bool group_path(const char *text, const char *controller, char *out, size_t cap)
{
	const char *line = text;

	while (line && *line) {
		const char *eol = strchr(line, '\n'), *c1 = strchr(line, ':'), *c2;
		size_t linelen = eol ? (size_t)(eol - line) : strlen(line);

		c2 = c1 && c1 < line + linelen
		         ? memchr(c1 + 1, ':', linelen - (size_t)(c1 + 1 - line))
		         : NULL;
		if (c2) {
			size_t clen = (size_t)(c2 - c1 - 1),
			       plen = linelen - (size_t)(c2 + 1 - line);
			bool match = controller ? list_has(c1 + 1, clen, controller)
			                        : clen == 0 && c1 - line == 1 && line[0] == '0';

			if (match && plen < cap) {
				memcpy(out, c2 + 1, plen);
				out[plen] = '\0';
				return true;
			}
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
		    p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

typedef struct mount {
	char root[CGROUP_PATH_MAX], point[CGROUP_PATH_MAX];
} mount_t;

/* The first mount of type cgroup holding `controller` (v1), or of type cgroup2 (NULL). Among
 * several mounts of one hierarchy (bind mounts), one whose root contains `path` wins. */
static bool find_mount(const char *mountinfo, const char *controller, const char *path,
                       mount_t *out)
{
	const char *line = mountinfo;
	bool found = false;

	while (line && *line) {
		const char *start = line, *eol = strchr(line, '\n');
		char copy[4 * CGROUP_PATH_MAX], *field[MOUNT_FIELDS], *save = NULL, *tok;
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		int n = 0, dash = -1;

		line = eol ? eol + 1 : NULL;
		if (len >= sizeof(copy))
			continue;
		memcpy(copy, start, len);
		copy[len] = '\0';
		for (tok = strtok_r(copy, " ", &save); tok && n < MOUNT_FIELDS;
		     tok = strtok_r(NULL, " ", &save)) {
			if (dash < 0 && n >= 6 && strcmp(tok, "-") == 0)
				dash = n;
			field[n++] = tok;
		}
		/* id parent dev root point options [optional...] - type source superoptions */
		if (dash < 0 || dash + 3 >= n)
			continue;
		if (controller ? strcmp(field[dash + 1], "cgroup") != 0 ||
		                     !list_has(field[dash + 3], strlen(field[dash + 3]), controller)
		               : strcmp(field[dash + 1], "cgroup2") != 0)
			continue;
		if (found && strncmp(path, out->root, strlen(out->root)) == 0)
			continue; /* the one found already holds the path */
		if (strlen(field[3]) >= sizeof(out->root) || strlen(field[4]) >= sizeof(out->point))
			continue;
		strcpy(out->root, field[3]);
		strcpy(out->point, field[4]);
		unescape(out->root);
		unescape(out->point);
		found = true;
	}
	return found;
}

/* The directory of group `path` under a mount whose root is `root`: the part of the path
 * below the root, under the mount point. A path outside the root (a namespace seen from
 * outside it) can only be the mount point itself. */
static bool group_dir(const mount_t *m, const char *path, char *out, size_t cap)
{
	size_t rlen = strcmp(m->root, "/") == 0 ? 0 : strlen(m->root);
	const char *rel = path;

	if (rlen && strncmp(path, m->root, rlen) == 0 && (path[rlen] == '/' || !path[rlen]))
		rel = path + rlen;
	else if (rlen)
		rel = "";
	if (strcmp(rel, "/") == 0)
		rel = "";
	return snprintf(out, cap, "%s%s", m->point, rel) < (int)cap;
}

/* One controller: v1 when a v1 hierarchy holds it, else v2 when the unified tree is mounted. */
static int locate(const char *cgroup, const char *mountinfo, const char *controller, char *dir,
                  char *mount_point, char *path)
{
	mount_t m;

	if (group_path(cgroup, controller, path, CGROUP_PATH_MAX) &&
	    find_mount(mountinfo, controller, path, &m) &&
	    group_dir(&m, path, dir, CGROUP_PATH_MAX)) {
		snprintf(mount_point, CGROUP_PATH_MAX, "%s", m.point);
		return 1;
	}
	if (group_path(cgroup, NULL, path, CGROUP_PATH_MAX) &&
	    find_mount(mountinfo, NULL, path, &m) && group_dir(&m, path, dir, CGROUP_PATH_MAX)) {
		snprintf(mount_point, CGROUP_PATH_MAX, "%s", m.point);
		return 2;
	}
	dir[0] = mount_point[0] = path[0] = '\0';
	return 0;
}

int cgroup_place_parse(const char *proc_cgroup, const char *mountinfo, cgroup_place_t *out)
{
	char ignored_mount[CGROUP_PATH_MAX], ignored_path[CGROUP_PATH_MAX];

	memset(out, 0, sizeof(*out));
	out->cpu_version =
	    locate(proc_cgroup, mountinfo, "cpu", out->cpu, out->cpu_mount, out->cpu_path);
	out->memory_version = locate(proc_cgroup, mountinfo, "memory", out->memory,
	                             out->memory_mount, out->memory_path);
	if (out->cpu_version == 1) {
		if (!locate(proc_cgroup, mountinfo, "cpuacct", out->cpuacct, ignored_mount,
		            ignored_path))
			out->cpuacct[0] = '\0';
	} else {
		memcpy(out->cpuacct, out->cpu, sizeof(out->cpuacct));
	}
	return out->cpu_version || out->memory_version ? 0 : -ENOENT;
}

int cgroup_place_self(cgroup_place_t *out)
{
	char *cgroup = malloc(FILE_MAX), *mountinfo = malloc(FILE_MAX);
	int rc = -ENOENT;

	if (!cgroup || !mountinfo)
		rc = -ENOMEM;
	else if (read_text("/proc/self/cgroup", cgroup, FILE_MAX) >= 0 &&
	         read_text("/proc/self/mountinfo", mountinfo, FILE_MAX) >= 0)
		rc = cgroup_place_parse(cgroup, mountinfo, out);
	else
		memset(out, 0, sizeof(*out));
	free(cgroup);
	free(mountinfo);
	return rc;
}

/* ---- what the group allows and used ---- */

bool cgroup_keyed_value(const char *text, const char *key, double *out)
{
	size_t klen = strlen(key);

	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			double v = strtod(line + klen + 1, &end);

			if (end == line + klen + 1)
				return false;
			*out = v;
			return true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

static double keyed(const char *dir, const char *file, const char *key)
{
	char text[STAT_MAX];
	double v;

	if (read_in(dir, file, text, sizeof(text)) < 0 || !cgroup_keyed_value(text, key, &v))
		return NAN;
	return v;
}

/* A file holding one number; "max" (v2's "no limit") and anything else give NAN. */
static double number(const char *dir, const char *file)
{
	char text[128], *end;
	double v;

	if (read_in(dir, file, text, sizeof(text)) < 0)
		return NAN;
	v = strtod(text, &end);
	return end == text ? NAN : v;
}

/* The CPU limit of one directory in cores, NAN for none. */
static double cpu_limit_at(const char *dir, int version)
{
	char text[128], *end;
	double quota, period;

	if (version == 2) {
		if (read_in(dir, "cpu.max", text, sizeof(text)) < 0 || strncmp(text, "max", 3) == 0)
			return NAN;
		quota = strtod(text, &end);
		period = strtod(end, NULL);
	} else {
		quota = number(dir, "cpu.cfs_quota_us");
		period = number(dir, "cpu.cfs_period_us");
	}
	return quota > 0 && period > 0 ? quota / period : NAN;
}

static double memory_limit_at(const char *dir, int version)
{
	double v = number(dir, version == 2 ? "memory.max" : "memory.limit_in_bytes");

	return v > 0 && v < V1_NO_LIMIT ? v : NAN;
}

/* The tightest limit from the group up to its mount point: a parent's limit binds its
 * children (a container's group inside a pod's, a cgroup made below a limited one). */
static double tightest(const char *dir, const char *mount, int version,
                       double (*limit_at)(const char *, int))
{
	char at[CGROUP_PATH_MAX];
	double best = NAN;

	snprintf(at, sizeof(at), "%s", dir);
	for (int i = 0; i < ANCESTORS && at[0]; i++) {
		double v = limit_at(at, version);
		char *slash;

		if (v > 0 && !(v >= best))
			best = v;
		if (strcmp(at, mount) == 0 || !(slash = strrchr(at, '/')) || slash == at)
			break;
		*slash = '\0';
	}
	return best;
}

static void read_cpu(const cgroup_place_t *p, cgroup_stats_t *s)
{
	char text[STAT_MAX];
	double v;

	if (!p->cpu_version)
		return;
	s->cpu_limit_cores = tightest(p->cpu, p->cpu_mount, p->cpu_version, cpu_limit_at);
	if (read_in(p->cpu, "cpu.stat", text, sizeof(text)) >= 0) {
		/* the throttling counters are there only where the cpu controller is enabled */
		if (cgroup_keyed_value(text, "nr_periods", &v))
			s->cpu_periods = v;
		if (cgroup_keyed_value(text, "nr_throttled", &v))
			s->cpu_throttled_periods = v;
		if (p->cpu_version == 2 && cgroup_keyed_value(text, "throttled_usec", &v))
			s->cpu_throttled_s = v / 1e6;
		if (p->cpu_version == 1 && cgroup_keyed_value(text, "throttled_time", &v))
			s->cpu_throttled_s = v / 1e9;
		if (p->cpu_version == 2 && cgroup_keyed_value(text, "usage_usec", &v))
			s->cpu_usage_s = v / 1e6;
	}
	if (p->cpu_version == 1 && !isnan(v = number(p->cpuacct, "cpuacct.usage")))
		s->cpu_usage_s = v / 1e9;
}

static void read_memory(const cgroup_place_t *p, cgroup_stats_t *s)
{
	char text[STAT_MAX];
	double inactive = NAN, v;
	bool v2 = p->memory_version == 2;

	if (!p->memory_version)
		return;
	s->memory_limit_bytes =
	    tightest(p->memory, p->memory_mount, p->memory_version, memory_limit_at);
	s->memory_usage_bytes = number(p->memory, v2 ? "memory.current" : "memory.usage_in_bytes");
	if (read_in(p->memory, "memory.stat", text, sizeof(text)) >= 0) {
		/* v1's own limit file misses an ancestor's: its hierarchical figure does not */
		if (!v2 && cgroup_keyed_value(text, "hierarchical_memory_limit", &v) && v > 0 &&
		    v < V1_NO_LIMIT && !(v >= s->memory_limit_bytes))
			s->memory_limit_bytes = v;
		if (!cgroup_keyed_value(text, v2 ? "inactive_file" : "total_inactive_file",
		                        &inactive))
			cgroup_keyed_value(text, "inactive_file", &inactive);
	}
	if (!isnan(s->memory_usage_bytes))
		s->memory_working_set_bytes = inactive < s->memory_usage_bytes
		                                  ? s->memory_usage_bytes - inactive
		                              : isnan(inactive) ? s->memory_usage_bytes
		                                                : 0;
	if (v2) {
		s->memory_oom_events = keyed(p->memory, "memory.events", "oom");
		s->memory_oom_kills = keyed(p->memory, "memory.events", "oom_kill");
	} else {
		s->memory_oom_kills = keyed(p->memory, "memory.oom_control", "oom_kill");
	}
}

void cgroup_read(const cgroup_place_t *place, cgroup_stats_t *out)
{
	double *all = &out->cpu_limit_cores;

	for (size_t i = 0; i < sizeof(*out) / sizeof(double); i++)
		all[i] = NAN;
	read_cpu(place, out);
	read_memory(place, out);
}
