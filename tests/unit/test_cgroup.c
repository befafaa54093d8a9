/* cgroup: finding the process's own group from /proc/self/cgroup and mountinfo (v1, v2,
 * hybrid, inside and outside a cgroup namespace, bind-mounted container groups), reading a
 * v2 group's files from a directory laid out as cgroupfs lays it out, and the Kubernetes
 * quantities of --cpu-limit and --memory-limit. */
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cgroup.h"
#include "core/units.h"

/* This machine's shape: v1 controllers each in its own hierarchy, memory in a nested group,
 * and a unified tree with no cpu or memory in it. */
static const char hybrid_cgroup[] = "9:name=systemd:/\n"
                                    "8:pids:/\n"
                                    "4:memory:/process_api/405c\n"
                                    "3:cpuset:/\n"
                                    "2:cpuacct:/\n"
                                    "1:cpu:/\n"
                                    "0::/\n";
static const char hybrid_mounts[] =
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(cgroup_place_v1_hybrid)
{
	cgroup_place_t p;

	CHECK_INT(cgroup_place_parse(hybrid_cgroup, hybrid_mounts, &p), 0);
	CHECK_INT(p.cpu_version, 1);
	CHECK_INT(p.memory_version, 1);
	CHECK_STR(p.cpu, "/sys/fs/cgroup/cpu");
	CHECK_STR(p.cpuacct, "/sys/fs/cgroup/cpuacct");
	CHECK_STR(p.memory, "/sys/fs/cgroup/memory/process_api/405c");
	CHECK_STR(p.memory_mount, "/sys/fs/cgroup/memory");
	CHECK_STR(p.memory_path, "/process_api/405c");
}

/* A pod with a cgroup namespace: the group is "/", the mount is the group's directory. */
TEST(cgroup_place_v2_namespace)
{
	cgroup_place_t p;

	CHECK_INT(
	    cgroup_place_parse("0::/\n",
	                       "1200 1100 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime "
	                       "- cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
	                       &p),
	    0);
	CHECK_INT(p.cpu_version, 2);
	CHECK_INT(p.memory_version, 2);
	CHECK_STR(p.cpu, "/sys/fs/cgroup");
	CHECK_STR(p.cpuacct, "/sys/fs/cgroup");
	CHECK_STR(p.memory, "/sys/fs/cgroup");
}

/* A login session on a v2 host: the group's full path below the root mount. The optional
 * fields (shared:N) before the separator are skipped. */
TEST(cgroup_place_v2_session)
{
	cgroup_place_t p;

	CHECK_INT(cgroup_place_parse("0::/user.slice/user-1000.slice/session-2.scope\n",
	                             "35 24 0:30 / /sys/fs/cgroup rw,nosuid shared:9 master:2 "
	                             "propagate_from:1 - cgroup2 cgroup2 rw\n",
	                             &p),
	          0);
	CHECK_STR(p.cpu, "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
	CHECK_STR(p.cpu_mount, "/sys/fs/cgroup");
	CHECK_STR(p.cpu_path, "/user.slice/user-1000.slice/session-2.scope");
}

/* A v1 container without a cgroup namespace: /proc/self/cgroup names the full path, and the
 * runtime bind-mounted that group's directory (the mount's root is the same path). Reading
 * the hierarchy's root there is the bug this module exists to avoid. */
TEST(cgroup_place_v1_container_bind_mount)
{
	cgroup_place_t p;

	CHECK_INT(cgroup_place_parse(
	              "11:memory:/kubepods/burstable/pod1/abc\n"
	              "4:cpu,cpuacct:/kubepods/burstable/pod1/abc\n"
	              "2:cpuset:/kubepods/burstable/pod1/abc\n",
	              "900 800 0:40 /kubepods/burstable/pod1/abc /sys/fs/cgroup/cpu,cpuacct ro "
	              "- cgroup cgroup rw,cpu,cpuacct\n"
	              "901 800 0:41 /kubepods/burstable/pod1/abc /sys/fs/cgroup/memory ro "
	              "- cgroup cgroup rw,memory\n"
	              "902 800 0:42 /kubepods/burstable/pod1/abc /sys/fs/cgroup/cpuset ro "
	              "- cgroup cgroup rw,cpuset\n",
	              &p),
	          0);
	CHECK_INT(p.cpu_version, 1);
	CHECK_STR(p.cpu, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(p.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(p.memory, "/sys/fs/cgroup/memory");
	/* a group below the mounted one (the process moved into a child group) */
	CHECK_INT(
	    cgroup_place_parse("4:cpu,cpuacct:/kubepods/pod1/abc/sub\n",
	                       "900 800 0:40 /kubepods/pod1/abc /cg\\040cpu ro - cgroup cgroup "
	                       "rw,cpu,cpuacct\n",
	                       &p),
	    0);
	CHECK_STR(p.cpu, "/cg cpu/sub");
	CHECK_INT(p.memory_version, 0);
}

TEST(cgroup_place_none)
{
	cgroup_place_t p;

	CHECK_INT(cgroup_place_parse("", "", &p), -2 /* -ENOENT */);
	/* cpuset is not cpu, and a v1 line without its mount is nothing */
	CHECK_INT(cgroup_place_parse(
	              "3:cpuset:/\n1:cpu:/x\n",
	              "33 30 0:30 / /sys/fs/cgroup/cpuset rw - cgroup cgroup rw,cpuset\n", &p),
	          -2);
}

TEST(cgroup_keyed_values)
{
	double v = 0;

	CHECK(cgroup_keyed_value("nr_periods 12\nnr_throttled 3\nthrottled_time 450\n",
	                         "nr_throttled", &v));
	CHECK_NEAR(v, 3, 0);
	CHECK(cgroup_keyed_value("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", "oom_kill", &v));
	CHECK_NEAR(v, 2, 0);
	/* a key that only starts another's name is not it */
	CHECK(!cgroup_keyed_value("oom_kill_disable 0\n", "oom_kill", &v));
	CHECK(!cgroup_keyed_value("", "oom", &v));
}

static void put(const char *dir, const char *file, const char *text)
{
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	if (!f) {
		CHECK(f != NULL);
		return;
	}
	fputs(text, f);
	fclose(f);
}

/* A v2 group and its parent as files: the tighter limit is the parent's for CPU and the
 * group's own for memory; working set is usage minus inactive file pages. */
TEST(cgroup_read_v2_files)
{
	char root[] = "/tmp/surge-cgroup-test-XXXXXX", group[64];
	cgroup_place_t p = {0};
	cgroup_stats_t s;

	if (!mkdtemp(root)) {
		CHECK(!"mkdtemp");
		return;
	}
	snprintf(group, sizeof(group), "%s/pod", root);
	mkdir(group, 0755);
	put(root, "cpu.max", "50000 100000\n");
	put(root, "memory.max", "max\n");
	put(group, "cpu.max", "max 100000\n");
	put(group, "cpu.stat",
	    "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 40\n"
	    "nr_throttled 10\nthrottled_usec 1500000\n");
	put(group, "memory.max", "134217728\n");
	put(group, "memory.current", "100000000\n");
	put(group, "memory.stat", "anon 90000000\nfile 10000000\ninactive_file 4000000\n");
	put(group, "memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n");
	p.cpu_version = p.memory_version = 2;
	snprintf(p.cpu, sizeof(p.cpu), "%s", group);
	snprintf(p.cpuacct, sizeof(p.cpuacct), "%s", group);
	snprintf(p.memory, sizeof(p.memory), "%s", group);
	snprintf(p.cpu_mount, sizeof(p.cpu_mount), "%s", root);
	snprintf(p.memory_mount, sizeof(p.memory_mount), "%s", root);
	cgroup_read(&p, &s);
	CHECK_NEAR(s.cpu_limit_cores, 0.5, 1e-9);
	CHECK_NEAR(s.cpu_usage_s, 2.5, 1e-9);
	CHECK_NEAR(s.cpu_periods, 40, 0);
	CHECK_NEAR(s.cpu_throttled_periods, 10, 0);
	CHECK_NEAR(s.cpu_throttled_s, 1.5, 1e-9);
	CHECK_NEAR(s.memory_limit_bytes, 134217728, 0);
	CHECK_NEAR(s.memory_usage_bytes, 100000000, 0);
	CHECK_NEAR(s.memory_working_set_bytes, 96000000, 0);
	CHECK_NEAR(s.memory_oom_events, 2, 0);
	CHECK_NEAR(s.memory_oom_kills, 1, 0);
	/* without limits anywhere: none, and the counters stay */
	put(root, "cpu.max", "max 100000\n");
	put(group, "memory.max", "max\n");
	cgroup_read(&p, &s);
	CHECK(isnan(s.cpu_limit_cores));
	CHECK(isnan(s.memory_limit_bytes));
	CHECK_NEAR(s.cpu_throttled_periods, 10, 0);
	/* a directory without the files says nothing */
	snprintf(p.memory, sizeof(p.memory), "%s/none", root);
	cgroup_read(&p, &s);
	CHECK(isnan(s.memory_usage_bytes) && isnan(s.memory_oom_kills));
	{
		const char *files[] = {"cpu.max",        "cpu.stat",    "memory.max",
		                       "memory.current", "memory.stat", "memory.events"};
		char path[700];

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(path, sizeof(path), "%s/%s", group, files[i]);
			unlink(path);
		}
		snprintf(path, sizeof(path), "%s/cpu.max", root);
		unlink(path);
		snprintf(path, sizeof(path), "%s/memory.max", root);
		unlink(path);
		rmdir(group);
		rmdir(root);
	}
}

TEST(units_kubernetes_quantities)
{
	char err[300];
	uint64_t v = 0;

	CHECK_INT(units_parse_cpu_quantity("200m", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 200);
	CHECK_INT(units_parse_cpu_quantity("0.5", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 500);
	CHECK_INT(units_parse_cpu_quantity("2", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 2000);
	CHECK_INT(units_parse_cpu_quantity("5m", &v, err, sizeof(err)), -22);
	CHECK(strstr(err, "outside 10m..1000") != NULL);
	CHECK_INT(units_parse_cpu_quantity("200Mi", &v, err, sizeof(err)), -22);
	CHECK(strstr(err, "not a CPU quantity") != NULL);
	CHECK_INT(units_parse_cpu_quantity("-1", &v, err, sizeof(err)), -22);
	CHECK_INT(units_parse_memory_quantity("128Mi", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 134217728);
	CHECK_INT(units_parse_memory_quantity("1Gi", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 1073741824);
	CHECK_INT(units_parse_memory_quantity("500M", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 500000000);
	CHECK_INT(units_parse_memory_quantity("1e9", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 1000000000);
	CHECK_INT(units_parse_memory_quantity("268435456", &v, err, sizeof(err)), 0);
	CHECK_INT(v, 268435456);
	CHECK_INT(units_parse_memory_quantity("128MiB", &v, err, sizeof(err)), -22);
	CHECK(strstr(err, "not a memory quantity") != NULL);
	CHECK_INT(units_parse_memory_quantity("512Ki", &v, err, sizeof(err)), -22);
	CHECK(strstr(err, "outside 1Mi..1Ei") != NULL);
}
