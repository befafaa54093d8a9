"""Is the load balanced? (issue 16 §7) Three real `surge serve` instances behind a real nginx
`upstream` on loopback: each names itself in X-Served-By, `surge run --group-by-header
X-Served-By` counts the responses per instance, and the counts must equal what each instance's
own /metrics counted. Round-robin spreads them evenly (balance<1.2 holds); under least_conn
with one instance made slow by chaos, that instance gets fewer and the spread fails the
threshold. Distinct values are bounded (a header unique per response keeps 64 values and
counts the rest), and a missing header is counted, not guessed."""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from harness import SURGE, Nginx, Serve, Skip, get_json, http, main, need, surge  # noqa: E402

ROUTE = "/api/slow"
PATH = "/api/slow?delay=1ms"


def served(serve):
    """Requests to ROUTE the instance itself counted (every method and status)."""
    status, _, body = http("GET", serve.url("/metrics"), timeout=10)
    assert status == 200, status
    total = 0
    for m in re.finditer(r'^http_server_request_duration_seconds_count\{http_route="%s",[^}]*\} (\d+)$'
                         % re.escape(ROUTE), body.decode(), re.M):
        total += int(m.group(1))
    return total


UNIQUE = "location /unique { add_header X-Request-Id $request_id always; return 200 \"x\"; }"


def balancer(instances, policy=""):
    servers = "\n".join(f"server 127.0.0.1:{s.port};" for s in instances)
    return Nginx(http_extra=f"upstream surge_pool {{ {policy} {servers} keepalive 32; }}",
                 extra="location /api/ { proxy_pass http://surge_pool; proxy_http_version 1.1; "
                       "proxy_set_header Connection \"\"; proxy_next_upstream off; }")


def run(nginx, *args, expect=(0, 4)):
    """surge run through the balancer; (process, result document). A request count, not a
    duration: every request sent is answered before the run ends, so none the instances
    counted is missing from the generator's. 4: the generator was short of CPU on a busy host,
    which changes no count."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        html = os.path.join(d, "r.html")
        md = os.path.join(d, "r.md")
        p = surge("run", "-c", "6", "-t", "1", "-n", "3000", "--json", path, "--html", html,
                  "--markdown", md, *args, timeout=90)
        assert p.returncode in expect, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
        with open(path) as f:
            doc = json.load(f)
        with open(html) as f:
            doc["_html"] = f.read()
        with open(md) as f:
            doc["_markdown"] = f.read()
    return p, doc


def rendered_table(html):
    """The HTML report draws the Load balance section with each instance (headless Chromium,
    as test_report_html does; SKIPped there too where it is missing)."""
    try:
        from test_report_html import open_report
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "report.html")
            with open(path, "w") as f:
                f.write(html)
            dom, _ = open_report(path)
    except Skip:
        assert '"group_by"' in html
        return
    section = dom[dom.index('id="load-balance"'):]
    for text in ("pod-a", "pod-b", "pod-c", "Spread 1"):
        assert text in section[:20000], text


def by_value(doc):
    return {v["value"]: v for v in doc["group_by"]["values"]}


def check_counts(doc, instances, before):
    """The generator's count per instance is the instance's own count of the run's requests."""
    g = doc["group_by"]
    values = by_value(doc)
    assert set(values) == {s.name for s in instances}, values.keys()
    for s in instances:
        own = served(s) - before[s.name]
        assert values[s.name]["requests"] == own, (s.name, values[s.name]["requests"], own)
    assert g["missing"] == 0 and g["overflow"] == 0, g
    assert g["requests"] == sum(v["requests"] for v in values.values()) == \
        doc["totals"]["responses"], (g, doc["totals"])
    shares = [v["share"] for v in values.values()]
    mean = 1 / len(shares)
    assert abs(g["spread"] - max(shares) / mean) < 1e-3, (g["spread"], shares)


def test_round_robin_then_least_conn_with_a_slow_instance():
    need("nginx")
    with Serve("--instance-name", "pod-a", "--access-log", "off") as a, \
            Serve("--instance-name", "pod-b", "--access-log", "off") as b, \
            Serve("--instance-name", "pod-c", "--access-log", "off") as c:
        for s, name in ((a, "pod-a"), (b, "pod-b"), (c, "pod-c")):
            s.name = name
            _, hdrs = get_json(s.url("/health"))
            assert hdrs.get("x-served-by") == name, hdrs
        instances = [a, b, c]

        with balancer(instances) as nginx:
            before = {s.name: served(s) for s in instances}
            p, doc = run(nginx, "--group-by-header", "X-Served-By", "--threshold", "balance<1.2",
                         nginx.url(PATH))
            check_counts(doc, instances, before)
            # nginx's round-robin cycles through the three: within a request or so of even
            assert doc["group_by"]["spread"] < 1.05, doc["group_by"]
            th = [t for t in doc["thresholds"] if t["expr"] == "balance<1.2"]
            assert th and th[0]["ok"] and th[0]["value"] == doc["group_by"]["spread"], th
            assert "X-Served-By" in p.stdout and "spread" in p.stdout, p.stdout
            for name in ("pod-a", "pod-b", "pod-c"):
                assert re.search(r"^  %s +\d+ +\d+\.\d%% " % name, p.stdout, re.M), p.stdout
            rendered_table(doc["_html"])
            assert "### Load balance by `X-Served-By`" in doc["_markdown"], doc["_markdown"]
            assert "| `pod-b` |" in doc["_markdown"], doc["_markdown"]

        # pod-c answers 50 ms late: least_conn sends it only what the others cannot take
        get_json(c.url("/admin/chaos"), method="POST", body=json.dumps({"latency_ms": 50}))
        with balancer(instances, "least_conn;") as nginx:
            before = {s.name: served(s) for s in instances}
            p, doc = run(nginx, "--group-by-header", "x-served-by", "--threshold", "balance<1.2",
                         nginx.url(PATH), expect=(1,))
            check_counts(doc, instances, before)
            values = by_value(doc)
            assert values["pod-c"]["requests"] < values["pod-a"]["requests"] / 2, values
            assert values["pod-c"]["latency_ms"]["p50"] >= 50, values["pod-c"]
            assert doc["group_by"]["spread"] >= 1.2, doc["group_by"]
            assert "FAIL balance<1.2" in p.stdout, p.stdout[-2000:]
        http("DELETE", c.url("/admin/chaos"))


def test_merged_shards_add_up_per_instance():
    """Two generators at once through the balancer (the shards of one distributed run):
    `surge merge` sums each instance's requests, recomputes shares and the spread from them,
    merges each instance's latency from its histograms, and judges balance<1.2 on the
    whole."""
    need("nginx")
    with Serve("--instance-name", "pod-a", "--access-log", "off") as a, \
            Serve("--instance-name", "pod-b", "--access-log", "off") as b:
        a.name, b.name = "pod-a", "pod-b"
        with balancer([a, b]) as nginx, tempfile.TemporaryDirectory() as d:
            before = {s.name: served(s) for s in (a, b)}
            shards = [os.path.join(d, f"shard-{i}.json") for i in (1, 2)]
            procs = [subprocess.Popen([SURGE, "run", "-c", "3", "-t", "1", "-n", "1000", "-q",
                                       "--group-by-header", "X-Served-By", "--threshold",
                                       "balance<1.2", "--json", path, nginx.url(PATH)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      text=True)
                     for path in shards]
            for p in procs:
                _, err = p.communicate(timeout=90)
                assert p.returncode in (0, 4), (p.returncode, err[-1000:])
            merged = os.path.join(d, "all.json")
            p = surge("merge", "-o", merged, *shards, timeout=60)
            assert p.returncode == 0, p.stderr
            with open(merged) as f:
                doc = json.load(f)
            parts = []
            for path in shards:
                with open(path) as f:
                    parts.append(json.load(f))
        g = doc["group_by"]
        values = by_value(doc)
        assert set(values) == {"pod-a", "pod-b"}, values
        for s in (a, b):
            assert values[s.name]["requests"] == served(s) - before[s.name] == \
                sum(by_value(x)[s.name]["requests"] for x in parts), s.name
            assert values[s.name]["latency_ms"]["max"] == \
                max(by_value(x)[s.name]["latency_ms"]["max"] for x in parts)
            assert values[s.name]["histogram"].startswith("HISTFAAA")
        assert g["requests"] == 2000 and abs(sum(v["share"] for v in values.values()) - 1) < 1e-5
        most = max(v["requests"] for v in values.values())
        assert abs(g["spread"] - most * 2 / 2000) < 1e-3, g
        th = [t for t in doc["thresholds"] if t["expr"] == "balance<1.2"]
        assert th and th[0]["value"] == g["spread"] and th[0]["ok"] == (g["spread"] < 1.2), th


def test_distinct_values_are_bounded_and_missing_headers_counted():
    need("nginx")
    with Nginx(extra=UNIQUE) as nginx:
        # a value unique per response: 64 kept, every other response counted, none lost
        _, doc = run(nginx, "--group-by-header", "X-Request-Id", nginx.url("/unique"))
        g = doc["group_by"]
        assert len(g["values"]) == g["values_max"] == 64, len(g["values"])
        assert all(v["requests"] == 1 for v in g["values"]), g["values"][:3]
        assert g["overflow"] > 0 and g["overflow"] + g["requests"] == doc["totals"]["responses"], g
        # no response carries the header: counted as missing, no spread, the threshold fails
        p, doc = run(nginx, "--group-by-header", "X-Nope", "--threshold", "balance<1.2",
                     nginx.url("/"), expect=(1,))
        g = doc["group_by"]
        assert g["values"] == [] and g["spread"] is None and g["requests"] == 0, g
        assert g["missing"] == doc["totals"]["responses"] > 0, g
        assert "no response carried X-Nope" in p.stdout, p.stdout


CHECKS = """
options = { users = 2, duration = "1s" }
tasks = { t = task(1, function(u)
	local r = u:get("/api/slow?delay=1ms", { name = "/api/slow" })
	u:check(r.status == 200 and false, "never holds")
end) }
"""


def test_scenario_checks_count_as_errors_per_value():
    """A scenario's failed check makes its response an error: of its endpoint, and of its
    header's value too."""
    with Serve("--instance-name", "pod-a", "--access-log", "off") as a, \
            tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "checks.lua")
        with open(script, "w") as f:
            f.write(CHECKS)
        path = os.path.join(d, "r.json")
        p = surge("run", script, "--host", a.url("").rstrip("/"), "--group-by-header",
                  "X-Served-By", "--json", path, timeout=60)
        assert p.returncode in (0, 1, 4), (p.returncode, p.stderr[-1000:])
        with open(path) as f:
            doc = json.load(f)
    v = by_value(doc)["pod-a"]
    # every check fails, but a user stopped by the end of the run may not have run its last
    assert v["requests"] > 0 and v["errors"] == doc["totals"]["errors"] >= v["requests"] - 2, \
        (v, doc["totals"])


def test_group_by_options_are_checked():
    p = surge("run", "--group-by-header", "X Served", "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "--group-by-header 'X Served': not a header name" in p.stderr, \
        p.stderr
    p = surge("run", "--group-by-header", "x" * 65, "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "longer than 64 characters" in p.stderr, p.stderr
    p = surge("run", "--threshold", "balance<1.2", "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "needs --group-by-header NAME" in p.stderr, p.stderr
    p = surge("run", "--group-by-header", "X-Served-By", "--threshold", "name:/a:balance<1.2",
              "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "balance is the whole run's spread" in p.stderr, p.stderr
    p = surge("run", "--group-by-header", "X-Served-By", "--threshold", "balance<even",
              "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "is not a spread" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_round_robin_then_least_conn_with_a_slow_instance,
          test_merged_shards_add_up_per_instance,
          test_distinct_values_are_bounded_and_missing_headers_counted,
          test_scenario_checks_count_as_errors_per_value,
          test_group_by_options_are_checked])
