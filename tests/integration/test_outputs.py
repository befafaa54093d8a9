"""Outputs rendered from the result document: a real `surge run` against `surge serve` writes
Locust CSV, JUnit, markdown, an HdrHistogram log and the JSON; each is checked against an
independent reader (Locust's own column lists, xml.etree, a Python HdrHistogram decoder), and
`surge report` re-renders the same bytes from the saved JSON."""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

from harness import SURGE, Proc, Serve, decode_histogram, main, surge

# Locust's column lists, from the installed python3-locust (Debian) itself: importing its
# stats module and asking its CSV writer, so the check follows Locust rather than a copy.
LOCUST_COLUMNS = r"""
import json, os, sys, tempfile
sys.path.insert(0, "/usr/lib/python3/dist-packages")
import locust.stats as s
d = tempfile.mkdtemp()
w = s.StatsCSVFileWriter(None, s.PERCENTILES_TO_REPORT, os.path.join(d, "x"))
print(json.dumps({"stats": w.requests_csv_columns, "history": w.stats_history_csv_columns,
                  "failures": w.failures_columns}))
w.close_files()
"""

CSV_FILES = ("_stats.csv", "_stats_history.csv", "_failures.csv")


def locust_columns():
    for python in ("/usr/bin/python3", "python3"):
        if python.startswith("/") and not os.access(python, os.X_OK):
            continue
        p = subprocess.run([python, "-c", LOCUST_COLUMNS], capture_output=True, text=True,
                           timeout=60)
        if p.returncode == 0:
            return json.loads(p.stdout.strip().splitlines()[-1])
    raise AssertionError("python3-locust is not importable (scripts/deps.sh installs it):\n"
                         + p.stderr[-2000:])


def header_line(columns):
    """The header exactly as Locust writes it: Python's csv.writer, excel dialect."""
    out = io.StringIO()
    csv.writer(out).writerow(columns)
    return out.getvalue()


def read(path, mode="r"):
    with open(path, mode, **({} if "b" in mode else {"newline": ""})) as f:
        return f.read()


def hdr_intervals(text):
    """(start, length, max_ms, histogram text) per interval line of an HdrHistogram log."""
    lines = text.splitlines()
    assert lines[0] == "#[Histogram log format version 1.3]", lines[0]
    assert re.match(r"#\[StartTime: \d+\.\d{3} \(seconds since epoch\), ", lines[1]), lines[1]
    assert re.match(r"#\[BaseTime: \d+\.\d{3} \(seconds since epoch\)\]$", lines[2]), lines[2]
    legend = '"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"'
    assert legend in lines, lines[:6]
    out = []
    for line in lines[lines.index(legend) + 1:]:
        start, length, max_ms, hist = line.split(",")
        out.append((float(start), float(length), float(max_ms), hist))
    return out


def test_run_outputs_and_report_reproduce_them():
    cols = locust_columns()
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        P, J, M, H, R, W = (os.path.join(d, n) for n in ("run", "junit.xml", "summary.md",
                                                          "latency.hlog", "result.json",
                                                          "report.html"))
        p = surge("run", "-c", "4", "-t", "2", "-d", "3s",
                  "--threshold", "p95<0.001ms", "--threshold", "error_rate<90%",
                  "--csv", P, "--junit", J, "--markdown", M, "--hdr-log", H, "--json", R,
                  "--html", W,
                  srv.url("/?status=503:20"), timeout=60, check_rc=1)
        doc = json.loads(read(R))
        totals = doc["totals"]
        assert totals["requests"] > 100 and doc["status_codes"].get("503", 0) > 0, totals

        # CSV: Locust's headers byte for byte, rows that parse, totals that match the JSON
        for suffix, key in zip(CSV_FILES, ("stats", "history", "failures")):
            text = read(P + suffix)
            assert text.startswith(header_line(cols[key])), (suffix, text[:300])
            assert text.endswith("\r\n")
        stats = list(csv.DictReader(io.StringIO(read(P + "_stats.csv"))))
        assert list(stats[0].keys()) == cols["stats"]
        agg = stats[-1]
        assert agg["Name"] == "Aggregated" and agg["Type"] == "", agg
        assert int(agg["Request Count"]) == totals["requests"], (agg, totals)
        assert int(agg["Failure Count"]) == totals["errors"], (agg, totals)
        assert sum(int(r["Request Count"]) for r in stats[:-1]) == totals["requests"]
        for r in stats:
            float(r["Average Response Time"]), float(r["Requests/s"]), float(r["Median Response Time"])
            pcts = [int(r[c]) for c in cols["stats"][11:]]
            assert pcts == sorted(pcts), r
        history = list(csv.DictReader(io.StringIO(read(P + "_stats_history.csv"))))
        assert len(history) == len(doc["timeline"]), (len(history), len(doc["timeline"]))
        assert all(r["Name"] == "Aggregated" for r in history)
        assert int(history[-1]["Total Request Count"]) == totals["requests"], history[-1]
        assert int(history[-1]["Total Failure Count"]) == totals["errors"], history[-1]
        stamps = [int(r["Timestamp"]) for r in history]
        assert stamps == sorted(stamps) and stamps[-1] - stamps[0] <= len(stamps), stamps
        failures = list(csv.DictReader(io.StringIO(read(P + "_failures.csv"))))
        http503 = [f for f in failures if f["Error"] == "HTTP 503 Service Unavailable"]
        assert sum(int(f["Occurrences"]) for f in http503) == doc["status_codes"]["503"], failures

        # JUnit: parses, a failing testcase for the failing threshold, a passing one for the other
        suite = ET.parse(J).getroot().find("testsuite")
        assert suite.get("name") == "surge", suite.attrib
        cases = {c.get("name"): c for c in suite.iter("testcase")}
        assert cases["p95<0.001ms"].find("failure") is not None, cases.keys()
        assert "measured" in cases["p95<0.001ms"].find("failure").get("message")
        assert cases["error_rate<90%"].find("failure") is None
        assert cases["verdict"].find("failure") is not None  # thresholds failed: FAIL
        assert int(suite.get("failures")) >= 2 and int(suite.get("tests")) == len(cases)

        # markdown: the verdict first, the thresholds table
        md = read(M)
        assert md.startswith("## surge: ❌ FAIL"), md[:200]
        assert "`p95<0.001ms`" in md and "| 503 |" in md, md

        # HDR log: every histogram is HdrHistogram's V2 compressed form; counts = responses
        intervals = hdr_intervals(read(H))
        hists = [decode_histogram(h) for _, _, _, h in intervals]
        assert sum(h["total"] for h in hists) == totals["responses"], (hists, totals)
        if all("hist" in pt for pt in doc["timeline"]):
            assert len(intervals) == len(doc["timeline"]), len(intervals)
        starts = [s for s, _, _, _ in intervals]
        assert starts == sorted(starts) and starts[0] == 0.0, starts
        assert all(0 < length <= 1.5 for _, length, _, _ in intervals) or len(intervals) == 1
        # the top of the largest value's bucket: within HdrHistogram's 3 significant digits
        top = max(m for _, _, m, _ in intervals)
        assert abs(top - doc["latency_ms"]["max"]) <= doc["latency_ms"]["max"] * 0.001 + 0.001, \
            (top, doc["latency_ms"])

        # surge report: the same bytes from the saved document
        P2 = os.path.join(d, "again")
        surge("report", R, "--csv", P2, "--junit", J + "2", "--markdown", M + "2",
              "--hdr-log", H + "2", "--json", R + "2", "--html", W + "2", check_rc=0)
        for suffix in CSV_FILES:
            assert read(P + suffix, "rb") == read(P2 + suffix, "rb"), suffix
        assert os.path.getsize(W) > 1000
        for path in (J, M, H, W):
            assert read(path, "rb") == read(path + "2", "rb"), path
        assert json.loads(read(R + "2")) == doc

        # no output option: the markdown summary on stdout; "-" reads stdin
        p = surge("report", R, check_rc=0)
        assert p.stdout == md, p.stdout[:300]
        with open(R) as f:
            p = subprocess.run([SURGE, "report", "-", "--junit", "-"], stdin=f,
                               capture_output=True, text=True, timeout=30)
        assert p.returncode == 0 and p.stdout == read(J), p.stderr


def test_run_json_to_stdout_moves_summary_to_stderr():
    with Serve() as srv:
        p = surge("run", "-c", "2", "-t", "1", "-n", "50", "--json", "-", srv.url("/"),
                  check_rc=0)
    doc = json.loads(p.stdout)
    assert doc["totals"]["requests"] == 50 and "requests" in p.stderr


def test_report_bad_inputs_exit_2_with_a_clear_message():
    with tempfile.TemporaryDirectory() as d:
        missing = os.path.join(d, "missing.json")
        p = surge("report", missing, check_rc=2)
        assert f"surge report: {missing}: No such file or directory" in p.stderr, p.stderr

        broken = os.path.join(d, "broken.json")
        with open(broken, "w") as f:
            f.write('{\n  "tool": "surge",\n  "totals": {oops}\n}\n')
        p = surge("report", broken, check_rc=2)
        assert re.search(re.escape(broken) + r":3:\d+: ", p.stderr), p.stderr

        foreign = os.path.join(d, "k6.json")
        with open(foreign, "w") as f:
            f.write('{"metrics": {}}')
        p = surge("report", foreign, check_rc=2)
        assert f'{foreign}: not a surge result document (no "tool": "surge")' in p.stderr

        p = surge("report", check_rc=2)
        assert "missing RESULT.json" in p.stderr
        p = surge("report", foreign, "--csv", "-", check_rc=2)
        assert "--csv needs a file name prefix" in p.stderr, p.stderr
        p = surge("report", foreign, "--markdown", "-", "--junit", "-", check_rc=2)
        assert "only one output can go to stdout" in p.stderr, p.stderr
        p = surge("report", foreign, "--bogus", check_rc=2)
        assert "unknown option" in p.stderr
        # an output that cannot be written: exit 2, named
        ok = os.path.join(d, "ok.json")
        with open(ok, "w") as f:
            f.write('{"tool": "surge", "totals": {"requests": 0}}')
        p = surge("report", ok, "--junit", os.path.join(d, "no", "such", "dir.xml"), check_rc=2)
        assert "cannot write" in p.stderr and "dir.xml" in p.stderr, p.stderr


OUTPUT_OPTIONS = ("--json", "--html", "--csv", "--junit", "--markdown", "--hdr-log")


def test_every_output_is_checked_before_the_load():
    """An output that cannot be written is found before the run starts — an empty name, a
    missing directory, a directory, a file without write permission — for every output
    option: exit 2 naming the option and why, at once, with nothing sent."""
    with tempfile.TemporaryDirectory() as d:
        cases = [("", "an empty"), (os.path.join(d, "no", "such", "x"), "no such directory"),
                 (d, "Is a directory")]
        for option in OUTPUT_OPTIONS:
            for path, why in cases:
                if option == "--csv" and path == d:
                    path, why = os.path.join(d, "no", "x"), "no such directory"
                p = surge("run", "-d", "30s", option, path, "http://127.0.0.1:1/", timeout=20)
                assert p.returncode == 2, (option, path, p.returncode, p.stderr)
                assert option in p.stderr and why in p.stderr, (option, path, p.stderr)
                assert "connections on" not in p.stderr and p.elapsed < 10, (option, p.stderr)
        # surge report checks its outputs the same way, before rendering
        p = surge("report", os.path.join(d, "r.json"), "--junit", "", timeout=20)
        assert p.returncode == 2 and "--junit ''" in p.stderr, p.stderr


def as_nobody():
    """preexec_fn: the child runs as nobody, so file permissions apply (root ignores them)."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


def test_outputs_respect_permissions_and_write_through_symlinks():
    """A read-only result file is not replaced behind its owner's back through the rename:
    "Permission denied", exit 2, before the run, the file unchanged — for every output
    option. A symlink is written through to its target and stays a symlink; an existing
    file keeps its mode."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o777)
        # nobody runs its own copy: the checkout may sit where only its owner can enter (~root)
        binary = os.path.join(d, "surge")
        shutil.copy(SURGE, binary)
        os.chmod(binary, 0o755)
        for option in OUTPUT_OPTIONS:
            name = os.path.join(d, "ro" + option.strip("-"))
            files = [name + s for s in CSV_FILES] if option == "--csv" else [name]
            for f in files:
                with open(f, "w") as out:
                    out.write("keep me\n")
                os.chmod(f, 0o444)
            p = subprocess.run([binary, "run", "-n", "5", option, name, srv.url("/")],
                               capture_output=True, text=True, timeout=30, preexec_fn=as_nobody)
            assert p.returncode == 2, (option, p.returncode, p.stderr)
            assert "Permission denied" in p.stderr and option in p.stderr, (option, p.stderr)
            assert "connections on" not in p.stderr, p.stderr
            for f in files:
                assert read(f) == "keep me\n" and os.stat(f).st_mode & 0o777 == 0o444, f

        # a symlink: the result lands in its target; the link stays a link
        target = os.path.join(d, "real.json")
        link = os.path.join(d, "link.json")
        with open(target, "w") as out:
            out.write("old\n")
        os.chmod(target, 0o666)
        os.symlink("real.json", link)  # relative: resolved from the link's directory
        dangling = os.path.join(d, "dangling.md")
        os.symlink(os.path.join(d, "created.md"), dangling)
        p = subprocess.run([binary, "run", "-n", "5", "--json", link, "--markdown", dangling,
                            srv.url("/")], capture_output=True, text=True, timeout=30,
                           preexec_fn=as_nobody)
        assert p.returncode == 0, p.stderr
        assert os.path.islink(link) and os.readlink(link) == "real.json"
        assert json.loads(read(target))["totals"]["requests"] == 5
        assert os.stat(target).st_mode & 0o777 == 0o666, oct(os.stat(target).st_mode)
        assert os.path.islink(dangling) and read(os.path.join(d, "created.md")).startswith("##")


def test_report_renders_a_minimal_document():
    """Keys may be added, never renamed: an old, sparse document still renders."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "old.json")
        with open(path, "w") as f:
            json.dump({"tool": "surge", "duration_s": 1, "totals": {"requests": 3, "errors": 0},
                       "endpoints": [{"name": "/", "method": "GET", "requests": 3}]}, f)
        P = os.path.join(d, "p")
        surge("report", path, "--csv", P, "--junit", P + ".xml", "--hdr-log", P + ".hlog",
              check_rc=0)
        rows = list(csv.DictReader(open(P + "_stats.csv", newline="")))
        assert rows[-1]["Name"] == "Aggregated" and rows[-1]["Request Count"] == "3", rows
        ET.parse(P + ".xml")
        assert hdr_intervals(read(P + ".hlog")) == []


def test_long_run_keeps_its_timeline_on_disk_and_writes_it_whole():
    """A run's finished seconds go to an unlinked file in $TMPDIR (result_timeline.c), not
    memory: while a 26 s run goes on, it holds such a file there; its document, history CSV
    and HDR log have every second, and `surge report` of the saved document (read whole into
    memory) renders the same bytes. With no such directory the seconds stay in memory, the
    run says so, and its document is as whole."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        spill, out = os.path.join(d, "tmp"), os.path.join(d, "out")
        os.mkdir(spill)
        os.mkdir(out)
        J, P, H = (os.path.join(out, n) for n in ("a.json", "a", "a.hlog"))
        B = os.path.join(out, "b.json")
        common = ["-R", "20", "-c", "4", "-d", "26s", "-q", srv.url("/health")]
        a = Proc(["run", "--json", J, "--csv", P, "--hdr-log", H, *common],
                 env={**os.environ, "TMPDIR": spill})
        b = Proc(["run", "--json", B, *common],
                 env={**os.environ, "TMPDIR": os.path.join(d, "no-such-dir")})
        held = []
        try:
            deadline = time.monotonic() + 60
            while not held and a.p.poll() is None and time.monotonic() < deadline:
                for fd in os.listdir(f"/proc/{a.p.pid}/fd"):
                    try:
                        target = os.readlink(f"/proc/{a.p.pid}/fd/{fd}")
                    except OSError:
                        continue
                    if target.startswith(spill + "/") and target.endswith("(deleted)"):
                        held.append(target)
                time.sleep(0.5)
            assert a.wait(90) == 0, a.stderr()
            assert b.wait(90) == 0, b.stderr()
        finally:
            a.kill()
            b.kill()
        assert held, "the run never held a spill file in its TMPDIR"
        assert os.listdir(spill) == [], os.listdir(spill)  # unlinked: nothing left behind
        doc = json.loads(read(J))
        tl = doc["timeline"]
        assert len(tl) >= 25, len(tl)
        assert sum(pt["requests"] for pt in tl) == doc["totals"]["requests"], doc["totals"]
        assert all("hist" in pt for pt in tl if pt["requests"]), tl
        history = list(csv.DictReader(io.StringIO(read(P + "_stats_history.csv"))))
        assert len(history) == len(tl), (len(history), len(tl))
        intervals = hdr_intervals(read(H))
        assert sum(decode_histogram(h)["total"] for _, _, _, h in intervals) == \
            doc["totals"]["responses"]
        R = os.path.join(out, "r")
        surge("report", J, "--csv", R, "--hdr-log", R + ".hlog", check_rc=0)
        assert read(R + "_stats_history.csv") == read(P + "_stats_history.csv")
        assert read(R + ".hlog") == read(H)
        assert "temporary file" not in a.stderr(), a.stderr()
        said = [line for _, line in b.lines if "temporary file" in line]
        assert said and said[0].startswith("surge run: the timeline's seconds from second 0 on "
                                           "were kept in memory: its temporary file in "), said
        assert said[0].endswith("could not be made: No such file or directory"), said
        other = json.loads(read(B))
        assert abs(len(other["timeline"]) - len(tl)) <= 1, (len(other["timeline"]), len(tl))
        assert sum(pt["requests"] for pt in other["timeline"]) == other["totals"]["requests"]


if __name__ == "__main__":
    main([test_run_outputs_and_report_reproduce_them,
          test_long_run_keeps_its_timeline_on_disk_and_writes_it_whole,
          test_every_output_is_checked_before_the_load,
          test_outputs_respect_permissions_and_write_through_symlinks,
          test_run_json_to_stdout_moves_summary_to_stderr,
          test_report_bad_inputs_exit_2_with_a_clear_message,
          test_report_renders_a_minimal_document])
