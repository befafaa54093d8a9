"""The alert rules (deploy/prometheus/rules/surge.rules.yaml): `promtool check rules` and
`promtool test rules` (each alert fires on a series that should fire it and stays silent on one
that should not), the conventions (severity, summary, description, a runbook_url naming a
section of docs/runbooks.md), and the PrometheusRule in deploy/k8s/components/monitoring
holding exactly the same groups. promtool also checks deploy/prometheus/prometheus.yml."""

import os
import re
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.dirname(__file__))
from harness import ROOT, main, need  # noqa: E402

PROM = os.path.join(ROOT, "deploy", "prometheus")
RULES = os.path.join(PROM, "rules", "surge.rules.yaml")
RULE_TESTS = os.path.join(PROM, "rules", "surge.rules.test.yaml")
PROMETHEUS_RULE = os.path.join(ROOT, "deploy", "k8s", "components", "monitoring",
                               "prometheusrule.yaml")
RUNBOOKS = os.path.join(ROOT, "docs", "runbooks.md")
ALERTS = ["SurgeTargetDown", "SurgeHighErrorRatio", "SurgeLatencyP95OverSLO",
          "SurgeCPUThrottlingHigh", "SurgeMemoryNearLimit", "SurgeOOMKilled",
          "SurgeDownstreamFailureRatio", "SurgeDatabasePoolExhausted"]


def promtool(*args):
    p = subprocess.run([need("promtool"), *args], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"promtool {' '.join(args)}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def alerts():
    return [r for g in load(RULES)["groups"] for r in g["rules"] if "alert" in r]


def test_promtool_checks_and_tests_the_rules():
    promtool("check", "rules", RULES)
    promtool("check", "config", os.path.join(PROM, "prometheus.yml"))
    out = promtool("test", "rules", RULE_TESTS)
    assert "SUCCESS" in out, out
    # every alert has a test that expects it to fire, beside series that must stay silent
    tests = load(RULE_TESTS)["tests"]
    fired = {}
    for t in tests:
        for case in t["alert_rule_test"]:
            fired.setdefault(case["alertname"], []).append((len(case.get("exp_alerts") or []),
                                                            len(t["input_series"])))
    for name in ALERTS:
        cases = fired.get(name)
        assert cases, f"{name} has no promtool test"
        assert any(n > 0 for n, _ in cases), f"{name}: no test case where it fires"
        assert any(series > n for n, series in cases if n > 0) or any(n == 0 for n, _ in cases), \
            f"{name}: no series or time where it must stay silent"


def slug(heading):
    """GitHub's anchor for a markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")


def test_alert_conventions_and_runbooks():
    found = [a["alert"] for a in alerts()]
    assert found == ALERTS, found
    with open(RUNBOOKS) as f:
        anchors = {slug(m) for m in re.findall(r"^#+ (.+)$", f.read(), re.M)}
    for a in alerts():
        name = a["alert"]
        assert a["labels"].get("severity") in ("critical", "warning", "info"), (name, a["labels"])
        ann = a["annotations"]
        for key in ("summary", "description", "runbook_url"):
            assert ann.get(key), f"{name} has no {key}"
        url = ann["runbook_url"]
        assert url.startswith("docs/runbooks.md#"), url
        assert url.split("#", 1)[1] in anchors, f"{name}: {url} names no section of docs/runbooks.md"


def test_prometheusrule_holds_the_same_rules():
    rule = load(PROMETHEUS_RULE)
    assert rule["kind"] == "PrometheusRule", rule["kind"]
    assert rule["spec"]["groups"] == load(RULES)["groups"], (
        "deploy/k8s/components/monitoring/prometheusrule.yaml differs from the rules file: run "
        "deploy/prometheus/prometheusrule.sh >deploy/k8s/components/monitoring/prometheusrule.yaml")


if __name__ == "__main__":
    main([test_promtool_checks_and_tests_the_rules, test_alert_conventions_and_runbooks,
          test_prometheusrule_holds_the_same_rules])
