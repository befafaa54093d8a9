"""Many threads at once: `surge serve --workers 4` under `surge run -t 4`, URL and scenario,
across the endpoint families whose state is shared between workers (metrics, caps, cache,
database pool, downstream client, chaos). Every count must add up exactly. `make tsan` runs
this file against a ThreadSanitizer build, where any data race fails the run."""

import os
import re
import tempfile

from harness import Serve, get_json, http, main, run_json

WORKERS = 4
THREADS = 4


def metric_sum(text, name, **labels):
    """The sum of a metric's samples whose labels include the given ones."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name)] not in " {":
            continue
        m = re.match(r"^[^ {]+(?:\{(.*)\})? (\S+)$", line)
        got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(m.group(2))
    return total


def test_every_request_is_counted_across_workers():
    # every request hits the size cap, so the caps counter is written by all workers at once
    with Serve("--max-size", "100", workers=WORKERS) as srv:
        n = 4000
        _, doc = run_json("-q", "-t", str(THREADS), "-c", "16", "-n", str(n),
                          srv.url("/api/bytes?size=1k"), timeout=120)
        assert doc["totals"]["requests"] == n and doc["totals"]["errors"] == 0, doc["totals"]
        _, _, body = http("GET", srv.url("/metrics"))
        text = body.decode()
        assert metric_sum(text, "surge_caps_hit_total") == n, \
            [line for line in text.splitlines() if "caps_hit" in line]
        assert metric_sum(text, "http_requests_total", path="/api/bytes") == n, \
            [line for line in text.splitlines() if line.startswith("http_requests_total")]


SCENARIO = """
options = { users = 24, duration = "3s" }
wait = constant(0)
tasks = {
	task(3, function(u) u:get("/health") end),
	task(2, function(u) u:get("/api/cpu?ms=1") end),
	task(2, function(u) u:get("/api/slow?delay=2ms&size=2k") end),
	task(2, function(u)
		local r = u:post("/api/users", { json = { name = "t", email = "t@example.com" } })
		if u:check(r.status == 201, "created") then
			u:get("/api/users/" .. r:json().id, { name = "/api/users/{id}" })
		end
	end),
	task(2, function(u) u:post("/api/tasks", { json = { title = "x" } }) end),
	task(1, function(u) u:get("/api/tasks?limit=5") end),
	task(1, function(u) u:get("/api/call-downstream?endpoint=slow&delay=0.001") end),
	task(1, function(u) u:get("/metrics") end),
	task(1, function(u) u:get("/api/json-processing?size=50") end),
}
"""


def test_a_scenario_on_several_threads_against_several_workers():
    with Serve("--access-log", "off", workers=WORKERS) as srv, \
            tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "mix.lua")
        with open(path, "w") as f:
            f.write(SCENARIO)
        _, doc = run_json("-q", "-t", str(THREADS), "--host", srv.url(""), path, timeout=120)
        t = doc["totals"]
        assert t["requests"] > 100 and t["errors"] == 0, (t, doc.get("errors_by_kind"),
                                                          doc.get("status_codes"))
        served, _ = get_json(srv.url("/"))
        assert served["workers"] == WORKERS, served


if __name__ == "__main__":
    main([test_every_request_is_counted_across_workers,
          test_a_scenario_on_several_threads_against_several_workers])
