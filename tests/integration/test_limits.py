"""Limits you can see (issue 16 §4): `surge serve` reads its OWN cgroup (the one
/proc/<pid>/cgroup names), and `--cpu-limit` / `--memory-limit` put it in a cgroup of its own
with those limits, for real: a CPU-bound load is throttled (the counters rise in /metrics and
`surge run --scrape` names it in its advice), a leak past the memory limit is OOM-killed by
the kernel (the kill counted in the cgroup, serve started again in it, as a pod's container),
and the cgroup is gone after serve stops. Where cgroups cannot be made here (not root, no
controller mounted) these print a SKIP line naming why."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import SURGE, Serve, Skip, favoured, http, main, run_json, surge  # noqa: E402


def metrics(serve):
    status, _, body = http("GET", serve.url("/metrics"), timeout=10)
    assert status == 200, status
    return body.decode()


def value(text, name):
    """The value of an unlabelled series, or None."""
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def proc_cgroups(pid):
    """{controller: path} from /proc/PID/cgroup (v2's line under the key "")."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                out[c] = path
    return out


def serving_pid(serve):
    """The pid of the process that answers: serve itself, or its latest child under a
    supervisor."""
    pid = serve.proc.pid
    for line in open(serve.log_path):
        if '"msg":"cgroup"' in line:
            pid = int(re.search(r"serve \(pid (\d+)\)", line).group(1))
    return pid


def cgroup_dirs(serve):
    """The directories the supervisor made, from its log line, and the serving child's pid."""
    for line in open(serve.log_path):
        if '"msg":"cgroup"' in line:
            return re.search(r"runs in (.+?) with", line).group(1).split(" ")
    return []


def need_cgroups():
    """A SKIP naming why, when serve cannot make a cgroup here."""
    if os.geteuid() != 0:
        raise Skip("not root: --cpu-limit needs root or a delegated cgroup v2 subtree")
    with open("/proc/self/cgroup") as f:
        text = f.read()
    if not re.search(r"^\d+:[^:]*\bcpu\b[^:]*:", text, re.M) and "0::" not in text:
        raise Skip("no cpu cgroup controller in /proc/self/cgroup")


def start_limited(*args, env=None):
    """A Serve with limits, or a SKIP with serve's own one-line reason when it cannot make the
    cgroup (the suite runs in containers that may deny it)."""
    s = Serve(*args, env=env)
    try:
        s.__enter__()
    except AssertionError:
        s.proc.wait(timeout=10)
        s.log.close()
        text = open(s.log_path).read().strip()
        if s.proc.returncode == 2 and "needs a cgroup" in text:
            raise Skip("cgroups cannot be made here: " + text.splitlines()[-1][:200])
        raise
    return s


def test_metrics_come_from_the_process_own_cgroup():
    with Serve("--access-log", "off") as s:
        text = metrics(s)
        info = re.search(r'^surge_cgroup_info\{cpu_version="(\d)",memory_version="(\d)",'
                         r'cpu_cgroup="([^"]*)",memory_cgroup="([^"]*)"\} 1$', text, re.M)
        assert info, text[-3000:]
        groups = proc_cgroups(s.proc.pid)
        cpu_v, mem_v, cpu, mem = info.groups()
        assert cpu == (groups.get("cpu") if cpu_v == "1" else groups.get("")), (cpu, groups)
        assert mem == (groups.get("memory") if mem_v == "1" else groups.get("")), (mem, groups)
        # counters the kernel keeps are exported even without a limit (0 until something)
        for name in ("surge_cgroup_memory_usage_bytes", "surge_cgroup_memory_working_set_bytes",
                     "surge_cgroup_memory_oom_kills_total"):
            assert value(text, name) is not None, name
        assert value(text, "surge_cgroup_memory_working_set_bytes") <= \
            value(text, "surge_cgroup_memory_usage_bytes")


def test_cpu_limit_throttles_and_the_advice_names_it():
    need_cgroups()
    # favoured as far as it goes (the server's own cgroup competes at its cgroup's weight)
    with favoured():
        s = start_limited("--cpu-limit", "200m", "--workers", "2", "--access-log", "off")
    try:
        dirs = cgroup_dirs(s)
        assert dirs and all(os.path.isdir(d) for d in dirs), dirs
        # the quota throttles only a group that gets to use it: on a host busy with other
        # work the group's default weight won it less than its 0.2 core (0.003 s throttled
        # under ASan at a load of 15), so it gets the largest weight
        for d in dirs:
            for knob, most in (("cpu.shares", "262144"), ("cpu.weight", "10000")):
                if os.path.exists(os.path.join(d, knob)):
                    with open(os.path.join(d, knob), "w") as f:
                        f.write(most)
        child = serving_pid(s)
        assert child != s.proc.pid, "serve runs in a child of the supervisor"
        assert "surge-serve-%d" % s.proc.pid in proc_cgroups(child).get("cpu", "") + \
            proc_cgroups(child).get("", ""), proc_cgroups(child)
        before = metrics(s)
        assert value(before, "surge_cgroup_cpu_limit_cores") == 0.2, before[-2000:]
        throttled_before = value(before, "surge_cgroup_cpu_throttled_seconds_total")
        assert throttled_before is not None
        # 4 users each asking 20 ms of CPU: about 2 cores wanted from a 0.2-core quota (the
        # generator favoured, so a busy host does not starve the quota of requests)
        with favoured():
            p, doc = run_json("-c", "4", "-d", "4s", "--scrape", s.url("/metrics"),
                              s.url("/api/cpu?ms=20"), check_rc=None, timeout=60)
        assert p.returncode in (0, 4), (p.returncode, p.stderr[-1000:])
        after = metrics(s)
        throttled = value(after, "surge_cgroup_cpu_throttled_seconds_total") - throttled_before
        assert throttled > 0.5, f"only {throttled:.3f} s throttled"
        assert value(after, "surge_cgroup_cpu_throttled_periods_total") > 0
        t = doc["target"]
        assert t["cpu_limit_cores"] == 0.2 and t["cpu_basis"] == "cgroup_limit", t
        # what the scrape saw: throttling in the seconds it covered. A quota this tight on a
        # busy host can hold the /metrics answers back too (once: 2 samples in 4 s, 0.36 s
        # throttled in what they covered), so the seconds are the kernel's, checked above
        assert t["samples"] >= 2 and t["cpu_throttled_share"] > 0.1, t
        assert t["cpu_throttled_s"] > 0.1, t
        kinds = [r["kind"] for r in doc["recommendations"]]
        assert "cpu_throttling" in kinds, doc["recommendations"]
        assert "CPU throttled in" in p.stdout and "the CPU limit holds requests back" in p.stdout, \
            p.stdout[-2000:]
    finally:
        code = s.stop()
        s.log.close()
    assert code == 0, code
    assert not any(os.path.exists(d) for d in dirs), f"cgroups left behind: {dirs}"


def test_memory_limit_oom_kill_is_counted_and_serve_comes_back():
    need_cgroups()
    env = dict(os.environ, SURGE_MEMORY_LIMIT="128Mi")
    s = start_limited("--access-log", "off", env=env)
    try:
        dirs = cgroup_dirs(s)
        first = serving_pid(s)
        text = metrics(s)
        assert value(text, "surge_cgroup_memory_limit_bytes") == 128 * 1048576, text[-2000:]
        assert value(text, "surge_cgroup_memory_oom_kills_total") == 0
        started = value(text, "process_start_time_seconds")
        killed = False
        for i in range(6):  # 50 MiB at a time: the third cannot fit in 128 MiB
            try:
                status, _, body = http("GET", s.url("/api/memory-leak?size_mb=50"), timeout=20)
            except (ConnectionError, OSError):
                killed = True
                break
            assert status == 200, (status, body[:200])
            if i == 1:
                used = value(metrics(s), "surge_cgroup_memory_usage_bytes")
                assert used >= 100 * 1048576, used
        assert killed, "six 50 MiB leaks in a 128 MiB cgroup and no kill"
        deadline = time.monotonic() + 30
        text = None
        while time.monotonic() < deadline:
            try:
                text = metrics(s)
                break
            except (ConnectionError, OSError):
                time.sleep(0.2)
        assert text, "serve did not come back within 30 s of its OOM kill"
        assert value(text, "surge_cgroup_memory_oom_kills_total") >= 1, text[-2000:]
        assert value(text, "process_start_time_seconds") > started
        assert s.proc.poll() is None, s.proc.returncode
        assert serving_pid(s) != first, (first, open(s.log_path).read()[-2000:])
        log = open(s.log_path).read()
        assert '"msg":"oom_killed"' in log and "OOM kills in the cgroup: 1" in log, log[-2000:]
    finally:
        code = s.stop()
        s.log.close()
    assert code == 0, code
    assert dirs and not any(os.path.exists(d) for d in dirs), f"cgroups left behind: {dirs}"


def test_limits_refused_in_one_line_without_privilege():
    bad = [(["--cpu-limit", "5m"], "--cpu-limit: '5m' is outside 10m..1000"),
           (["--memory-limit", "128MiB"], "--memory-limit: '128MiB' is not a memory quantity")]
    for args, want in bad:
        p = surge("serve", *args, timeout=10)
        assert p.returncode == 2 and want in p.stderr and p.stderr.count("\n") == 1, p.stderr
    p = surge("serve", "--listen", "127.0.0.1:1", timeout=10,
              env=dict(os.environ, SURGE_CPU_LIMIT="two"))
    assert p.returncode == 2 and "$SURGE_CPU_LIMIT: 'two'" in p.stderr, p.stderr
    if os.geteuid() != 0:
        cmd = [SURGE]
    elif subprocess.run(["which", "runuser"], capture_output=True).returncode == 0:
        # a copy nobody can run (the build tree may be under a root-only directory)
        d = tempfile.mkdtemp(prefix="surge-nobody-")
        os.chmod(d, 0o755)
        binary = os.path.join(d, "surge")
        with open(SURGE, "rb") as src, open(binary, "wb") as dst:
            dst.write(src.read())
        os.chmod(binary, 0o755)
        cmd = ["runuser", "-u", "nobody", "--", binary]
    else:
        raise Skip("root without runuser: cannot run serve unprivileged")
    try:
        p = subprocess.run(cmd + ["serve", "--listen", "127.0.0.1:1", "--cpu-limit", "200m"],
                           capture_output=True, text=True, timeout=20)
    finally:
        if cmd[0] == "runuser":
            os.unlink(binary)
            os.rmdir(d)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1 and "needs a cgroup of its own" in p.stderr and \
        "run as root, or inside a delegated cgroup v2 subtree" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_metrics_come_from_the_process_own_cgroup,
          test_cpu_limit_throttles_and_the_advice_names_it,
          test_memory_limit_oom_kill_is_counted_and_serve_comes_back,
          test_limits_refused_in_one_line_without_privilege])
