"""The Grafana dashboard (deploy/grafana/surge-dashboard.json) against data: a real Prometheus
started with deploy/prometheus/prometheus.yml (its targets pointed at free ports, scraping
every second) scrapes a real `surge serve` and its downstream on loopback while `surge run`
drives every endpoint family; then every target expression of every panel, template
variables substituted, goes through Prometheus's HTTP API and must return at least one series
with a finite value. The alert rules load in that Prometheus and evaluate without error."""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, Serve, free_port, http, main, need, surge, wait_port  # noqa: E402

DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "surge-dashboard.json")
PROM_CONFIG = os.path.join(ROOT, "deploy", "prometheus", "prometheus.yml")
RULES_DIR = os.path.join(ROOT, "deploy", "prometheus", "rules")
SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deploy_families.lua")
# what a user who picked "All" in every variable asks for
VARIABLES = {"namespace": ".*", "pod": ".*", "route": ".*", "__rate_interval": "1m",
             "datasource": "prometheus"}


def substitute(expr):
    """Grafana's $var and ${var} forms, the longest names first."""
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace("${%s}" % name, VARIABLES[name]).replace("$" + name, VARIABLES[name])
    assert "$" not in expr, f"an unknown template variable is left in {expr}"
    return expr


def panels_of(dashboard):
    for p in dashboard["panels"]:
        yield p
        yield from p.get("panels", [])  # panels inside collapsed rows


class Prometheus:
    """Debian's prometheus with the project's config, on a free loopback port."""

    def __init__(self, target_port, downstream_port):
        self.dir = tempfile.mkdtemp(prefix="surge-prom-")
        self.port = free_port()
        with open(PROM_CONFIG) as f:
            cfg = yaml.safe_load(f)
        cfg["global"]["scrape_interval"] = "1s"
        cfg["global"]["scrape_timeout"] = "1s"
        cfg["global"]["evaluation_interval"] = "1s"
        ports = {"surge": target_port, "surge-downstream": downstream_port}
        for job in cfg["scrape_configs"]:
            for sc in job["static_configs"]:
                sc["targets"] = [f"127.0.0.1:{ports[job['job_name']]}"]
        cfg["rule_files"] = [os.path.join(os.path.dirname(PROM_CONFIG), r) for r in cfg["rule_files"]]
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            yaml.safe_dump(cfg, f)
        self.proc = None

    def __enter__(self):
        binary = need("prometheus")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={self.config}", f"--web.listen-address=127.0.0.1:{self.port}",
             f"--storage.tsdb.path={os.path.join(self.dir, 'data')}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        wait_port(self.port, timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, _, _ = http("GET", self.url("/-/ready"))
            if status == 200:
                return self
            time.sleep(0.2)
        raise AssertionError("prometheus not ready after 30 s")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def api(self, path, **params):
        url = self.url(path) + "?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        return doc["data"]

    def query(self, expr):
        try:
            return self.api("/api/v1/query", query=expr)
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{expr}: {e.code} {e.read()[:300]!r}")

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_scraped(prom, jobs, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = {r["metric"]["job"]: r["value"][1] for r in prom.query("up")["result"]}
        if all(up.get(j) == "1" for j in jobs):
            return
        time.sleep(0.3)
    raise AssertionError(f"prometheus did not scrape {jobs} within {timeout}s: {up}")


def finite_series(data):
    """How many series of an instant-query result hold a finite number."""
    if data["resultType"] == "scalar":
        return 1 if math.isfinite(float(data["result"][1])) else 0
    return sum(1 for r in data["result"] if math.isfinite(float(r["value"][1])))


def test_every_panel_query_returns_data():
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    assert dashboard["schemaVersion"] >= 39, dashboard["schemaVersion"]
    names = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "namespace", "pod", "route"} <= names, names

    with Serve("--role", "downstream") as downstream, \
            Serve("--downstream-url", downstream.url("").rstrip("/"), "--db-pool", "2",
                  "--access-log", "off") as target, \
            Prometheus(target.port, downstream.port) as prom:
        wait_scraped(prom, ["surge", "surge-downstream"])
        # what a run does not: a sustained background load and a leak, both asked for
        status, _, body = http("POST", target.url("/api/load/cpu?cores=1&percent=10&seconds=15"))
        assert status == 202, (status, body[:200])
        status, _, body = http("GET", target.url("/api/memory-leak?size_mb=2"))
        assert status == 200, (status, body[:200])
        p = surge("run", "--host", target.url("").rstrip("/"), "-q", SCENARIO, timeout=60)
        # 4: the generator was short of CPU on a busy host; the traffic was sent all the same
        assert p.returncode in (0, 4), f"surge run: {p.returncode}\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
        time.sleep(2.5)  # two more scrapes after the run: every rate has its last points

        failures, count = [], 0
        for panel in panels_of(dashboard):
            for t in panel.get("targets", []):
                if t.get("hide"):
                    continue
                count += 1
                expr = substitute(t["expr"])
                data = prom.query(expr)
                if finite_series(data) == 0:
                    failures.append(f"panel {panel['title']!r} target {t['refId']}: {expr}\n"
                                    f"      returned {json.dumps(data['result'])[:300]}")
        assert count >= 20, f"only {count} panel queries"
        assert not failures, "panel queries without data:\n    " + "\n    ".join(failures)
        print(f"    {count} panel queries returned data", flush=True)

        # the alert rules were loaded and evaluate cleanly against real series
        groups = prom.api("/api/v1/rules")["groups"]
        rules = [r for g in groups for r in g["rules"]]
        assert len(rules) == 8, [r["name"] for r in rules]
        bad = [f"{r['name']}: {r.get('lastError')}" for r in rules if r.get("health") != "ok"]
        assert not bad, "rules not healthy: " + "; ".join(bad)
        http("DELETE", target.url("/api/load/cpu"))


if __name__ == "__main__":
    main([test_every_panel_query_returns_data])
