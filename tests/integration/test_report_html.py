#!/usr/bin/env python3
"""The HTML report (`--html`, `surge report RESULT.json --html`): one self-contained file,
opened in headless Chromium with the network cut off. It must draw every chart with no
console error (report.js sets body[data-rendered]="N charts" when every uPlot chart has drawn,
and errors land in html[data-errors]); a screenshot is kept in
build/test-artifacts/report.png."""

import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import browser_lock, ROOT, Serve, main, need, refused_url, surge

ARTIFACTS = os.path.join(ROOT, os.environ.get("BUILD", "build"), "test-artifacts")


def chromium(browser, profile, *args, size="1280,2400", timeout=180):
    """Headless Chromium with no network at all: every host name fails to resolve and any
    proxy is refused, so a report that needed the network would show it."""
    with browser_lock():
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}",
             "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
             "--allow-file-access-from-files", "--enable-logging=stderr", "--v=0",
             f"--window-size={size}", "--virtual-time-budget=10000", *args],
            capture_output=True, text=True, timeout=timeout)


def console_messages(stderr):
    """Chromium logs every console message as INFO:CONSOLE; (errors among them, all)."""
    lines = [l for l in stderr.splitlines() if ":CONSOLE" in l]
    return [l for l in lines if re.search(r"error|uncaught|failed|warn|refused", l, re.I)], lines


def open_report(path, shot=None):
    """Renders the report file in Chromium; returns (dom, stderr). With shot, also writes a
    screenshot there."""
    browser = need("chromium")
    profile = tempfile.mkdtemp(prefix="surge-chromium-")
    try:
        url = "file://" + os.path.abspath(path)
        extra = []
        if shot:
            if os.path.exists(shot):
                os.unlink(shot)
            extra = [f"--screenshot={shot}"]  # the same browser start (each costs seconds)
        p = chromium(browser, profile, "--dump-dom", *extra, url)
        assert p.returncode == 0, p.stderr[-2000:]
        errors, _ = console_messages(p.stderr)
        assert not errors, "console errors:\n" + "\n".join(errors)
        dom = p.stdout
        m = re.search(r'data-errors="([^"]*)"', dom)
        assert not m, f"the page reported errors: {m.group(1)}"
        if shot:
            assert os.path.exists(shot), p.stderr[-2000:]
            with open(shot, "rb") as f:
                assert f.read(8) == b"\x89PNG\r\n\x1a\n"
            assert os.path.getsize(shot) > 50000, os.path.getsize(shot)
        return dom, p.stderr
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def rendered_charts(dom):
    m = re.search(r'data-rendered="(\d+) charts"', dom)
    assert m, "report.js did not finish drawing (no body[data-rendered])"
    return int(m.group(1))


def embedded(html, block):
    """The JSON of one of the page's data blocks."""
    m = re.search(r'<script type="application/json" id="%s">(.*?)</script>' % block, html, re.S)
    assert m, f"no {block} block"
    return json.loads(m.group(1))


def assert_self_contained(html):
    """Nothing is fetched: no external script, style sheet, image or font."""
    assert not re.search(r"<script[^>]+\bsrc=", html, re.I), "an external script"
    assert not re.search(r"<link\b", html, re.I), "a <link> (style sheet, icon, font)"
    assert not re.search(r"<img\b|<iframe\b", html, re.I), "an image or frame"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html, re.I), "a CSS url() to the network"
    assert not re.search(r"@import", html), "a CSS @import"


def test_report_of_a_run_with_errors_draws_every_chart_offline():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        result, page = os.path.join(d, "result.json"), os.path.join(d, "report.html")
        url = srv.url("/api/cpu?ms=0.1&status=200:90,503:10&delay=lognormal(2ms,20ms)")
        # open model with stages: the rps chart has a target line, the errors chart errors
        surge("run", "-q", "--model", "open", "--stages", "2s:200,2s:400", "-c", "50",
              "--threshold", "p95<1s", "--threshold", "error_rate<1%", "--json", result, url,
              timeout=60, check_rc=1)
        surge("report", result, "--html", page, check_rc=0)
        with open(result) as f:
            doc = json.load(f)
        with open(page, encoding="utf-8") as f:
            html = f.read()
        assert_self_contained(html)
        # the document rides along, and the curve computed from its histogram
        inline = embedded(html, "surge-result")
        assert inline["totals"] == doc["totals"] and inline["config"]["url"] == url
        curve = embedded(html, "surge-derived")["latency_curve"]
        assert curve["series"][0]["name"] == "all"
        assert curve["series"][0]["count"] == doc["totals"]["responses"], curve["series"][0]
        ms = curve["series"][0]["ms"]
        assert abs(ms[-1] - doc["latency_ms"]["max"]) <= doc["latency_ms"]["max"] * 0.002, ms[-1]
        assert re.search(r"<title>FAIL \u00b7 GET ", html), html[:600]

        os.makedirs(ARTIFACTS, exist_ok=True)
        dom, _ = open_report(page, shot=os.path.join(ARTIFACTS, "report.png"))
        # throughput, latency, users, errors over time, and the latency distribution
        assert rendered_charts(dom) == 5
        assert len(re.findall(r"<canvas\b", dom)) == 5
        for text in ("FAIL", "Throughput", "Latency distribution", "Endpoints", "Status codes",
                     "503", "error_rate&lt;1%", "Recommendations", "Configuration", "Generator"):
            assert text in dom, f"{text!r} is not on the page"


def test_run_html_flag_writes_the_same_report():
    """`surge run --html` and `surge report --html` of its --json give the same page."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        result = os.path.join(d, "result.json")
        direct, again = os.path.join(d, "direct.html"), os.path.join(d, "again.html")
        surge("run", "-q", "-d", "2s", "-c", "4", "--json", result, "--html", direct,
              srv.url("/health"), check_rc=0)
        surge("report", result, "--html", again, check_rc=0)
        with open(direct, "rb") as a, open(again, "rb") as b:
            assert a.read() == b.read(), "the run's page differs from the saved result's"
        dom, _ = open_report(direct)
        assert rendered_charts(dom) == 5
        assert "PASS" in dom


def test_reports_of_runs_that_measured_little_render():
    """A target that never answers, an old document without timeline or histograms, and a
    bare document: each renders without an error and says what is missing."""
    with tempfile.TemporaryDirectory() as d:
        dead = os.path.join(d, "dead.json")
        # nothing listens there: every request is refused (exit 3: target unreachable)
        surge("run", "-q", "-d", "1s", "-c", "2", "--json", dead, refused_url(), check_rc=3)
        with open(dead) as f:
            doc = json.load(f)
        old = dict(doc)
        for key in ("timeline", "histograms", "generator", "assessment", "service_ms"):
            old.pop(key, None)
        docs = {"dead": (doc, 4, "The target never answered"),
                "old": (old, 0, "This document has no timeline"),
                "bare": ({"tool": "surge"}, 0, "Nothing was measured")}
        for name, (content, charts, text) in docs.items():
            src, page = os.path.join(d, name + ".json"), os.path.join(d, name + ".html")
            with open(src, "w") as f:
                json.dump(content, f)
            surge("report", src, "--html", page, check_rc=0)
            dom, _ = open_report(page)
            assert rendered_charts(dom) == charts, (name, rendered_charts(dom))
            assert len(re.findall(r"<canvas\b", dom)) == charts, name
            assert text in dom, (name, text)


if __name__ == "__main__":
    main([test_report_of_a_run_with_errors_draws_every_chart_offline,
          test_run_html_flag_writes_the_same_report,
          test_reports_of_runs_that_measured_little_render])
