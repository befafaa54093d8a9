#!/usr/bin/env python3
"""Every example in scenarios/ runs clean against a plain `surge serve`: exit 0, no script
error, no failed check, no error status, and the endpoints the example is about in the
result. Each runs for 3 seconds with a few users (the command line overriding the file's
options), so the whole file takes about 40 s. A new example is picked up by the glob; the
ones listed in EXPECT also name the endpoints they must have hit."""
import glob
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Serve, main, run_json  # noqa: E402

SCENARIOS = os.path.join(ROOT, "scenarios")

# file -> (users for the run, endpoints "METHOD name" a 3-second run always reaches)
EXPECT = {
    "seed001.lua": (6, ["POST /api/users [create]", "GET /api/users/{id}"]),
    "seed003.lua": (6, ["GET predict"]),
    "seed003-spike.lua": (None, ["GET predict"]),
    "seed003-stress.lua": (None, ["GET predict", "GET batch predict"]),
    "cpu.lua": (4, ["GET burn 10ms", "GET fibonacci(20)", "GET sha256 x2000"]),
    "io.lua": (4, ["GET /api/slow", "GET /api/random-delay"]),
    "downstream.lua": (4, ["GET /api/call-downstream", "GET /api/cascade-failure"]),
    "memory.lua": (3, ["GET /api/memory-spike", "GET /api/memory-leak", "GET /api/memory",
                       "POST /api/clear-memory"]),
    "db-pool.lua": (4, ["GET /api/db-pool-exhaust", "POST /api/tasks [create]",
                        "GET /api/tasks/{id}", "DELETE /api/tasks/{id} [delete]"]),
    "login-flow.lua": (3, ["POST login", "GET /api/users/{id} [authorized]",
                           "GET /admin/chaos [authorized]", "DELETE logout"]),
    "data.lua": (3, ["POST /api/users [sign up]", "GET /api/users/{id}",
                     "PUT /api/users/{id} [rename]", "DELETE /api/users/{id} [remove]"]),
}
DEFAULT_USERS = 3
# a threshold on latency (optionally per endpoint): p95<200ms, mean<1s, name:/x:p99<2s
LATENCY = re.compile(r"^(name:.*:)?(p[0-9.]+|mean|min|max)[<>=]")


def sets_stages(path):
    """True when the file's options give stages: then --users would conflict with them, and
    -d alone cuts the shape short."""
    with open(path) as f:
        code = [line for line in f if not line.lstrip().startswith("--")]
    return any(re.match(r"\s*stages\s*=", line) for line in code)


def run_example(srv, path):
    name = os.path.basename(path)
    users, expected = EXPECT.get(name, (DEFAULT_USERS, []))
    args = ["--host", srv.url(""), "-d", "3s", "-q"]
    if not sets_stages(path):
        args += ["--users", str(users or DEFAULT_USERS), "--spawn-rate", "100"]
    p, doc = run_json(*args, path, timeout=60, check_rc=None)
    where = f"{name}: exit {p.returncode}\nstderr: {p.stderr[-2000:]}"
    # An example's latency thresholds are its targets for a quiet host; on a busy one they may
    # not hold, and that says nothing about the example running clean (what this checks).
    # Errors and checks must hold everywhere; so must the exit code, but for those.
    over = [t for t in doc.get("thresholds", []) if not t["ok"]]
    if p.returncode == 1 and over and all(LATENCY.match(t["expr"]) for t in over):
        print(f"    note: {name}: latency over its thresholds on this host: {over}", flush=True)
    elif p.returncode == 4 and doc["generator"]["saturated"]:
        print(f"    note: {name}: the generator was late on this host: "
              f"{doc['generator']['saturation']}", flush=True)
    else:
        assert p.returncode == 0, f"{where}\nthresholds: {doc.get('thresholds')}"
    assert doc["script_errors"] == [], f"{name}: {doc['script_errors']}"
    assert doc["checks"], f"{name}: no checks ran"
    failed = [c for c in doc["checks"] if c["fails"]]
    assert not failed, f"{name}: failed checks {failed}"
    t = doc["totals"]
    assert t["requests"] > 0, f"{name}: {t}"
    assert t["errors"] == 0, f"{name}: {t}, {doc['status_codes']}, {doc['errors_by_kind']}"
    bad = {code: n for code, n in doc["status_codes"].items() if int(code) >= 400}
    assert not bad, f"{name}: error statuses {bad}"
    seen = {f"{e['method']} {e['name']}": e for e in doc["endpoints"]}
    for key in expected:
        assert key in seen and seen[key]["requests"] > 0, f"{name}: no {key} in {sorted(seen)}"
    for key, e in seen.items():
        assert e["errors"] == 0, f"{name}: {key} {e['errors']} errors"


def test_every_listed_example_exists():
    files = {os.path.basename(p) for p in glob.glob(os.path.join(SCENARIOS, "*.lua"))}
    missing = sorted(set(EXPECT) - files)
    assert not missing, f"listed in EXPECT but not in scenarios/: {missing}"
    assert os.path.exists(os.path.join(SCENARIOS, "data", "users.csv"))


_serve = {}


def serve():
    """One `surge serve` for every example (started on first use, stopped at the end), with
    its SQLite file in a directory of its own."""
    if not _serve:
        d = tempfile.mkdtemp(prefix="surge-examples-")
        srv = Serve("--data-dir", d, "--access-log", "off", workers=2)
        srv.__enter__()
        _serve.update(srv=srv, dir=d)
    return _serve["srv"]


def stop_serve():
    if _serve:
        try:
            _serve["srv"].__exit__(None, None, None)
        finally:
            shutil.rmtree(_serve["dir"], ignore_errors=True)


def example_test(path):
    def test():
        run_example(serve(), path)
    stem = re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
    test.__name__ = f"test_example_{stem}"
    return test


TESTS = [test_every_listed_example_exists] + [
    example_test(p) for p in sorted(glob.glob(os.path.join(SCENARIOS, "*.lua")))]

if __name__ == "__main__":
    try:
        main(TESTS)
    finally:
        stop_serve()
