"""Load shapes of `surge run`, and `surge capacity`, against real servers on loopback: the
open model's rate and its latency from the intended send time (checked against a ground truth
this test computes while it freezes a real server with SIGSTOP), late and dropped arrivals,
user and rate stages, profiles, the generator's self-check (exit 4), and the capacity search
on a server whose capacity is known. Every wait has a bound. What is timed to the second is
checked for the seconds the generator says it kept (timeline[].due_late): on a busy host the
checks narrow instead of failing; tests/run runs this file with nothing else of the suite
beside it, so that on a quiet host they check everything. (Verdicts that need no timing:
test_verdicts.py.)"""

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import (SURGE, Nginx, RawServer, Serve, favour_preexec, favoured, main,
                     read_request, refused_url, run_json, surge)

def full_points(doc):
    """Timeline points that cover a whole second. Entry i is the second from i, ending at
    t = i + 1 but the last, usually a sliver: its t can round to a whole second too (3.0004
    is written 3.0 when the stop held requests in flight), so the place says, not t alone."""
    return [p for i, p in enumerate(doc["timeline"]) if abs(p["t"] - (i + 1)) < 1e-6]


def point_at(doc, t):
    for p in doc["timeline"]:
        if abs(p["t"] - t) < 1e-6:
            return p
    raise AssertionError(f"no timeline point at t={t}: {[p['t'] for p in doc['timeline']]}")


def percentile(sorted_values, p):
    """Nearest rank, as an HDR histogram reports it."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def start_run(args, json_path, favour=False):
    """surge run in the background; favour: above the host's other work (harness.favoured)."""
    return subprocess.Popen([SURGE, "run", "--json", json_path, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=favour_preexec() if favour else None)


def on_time_seconds(doc):
    """The whole seconds (by their end, t) whose counts the generator vouches for: its pacer
    dispatched the arrivals due in them, and in the second before (a late batch's responses
    land in the next second), within the self-check's 25 ms. On an idle host that is every
    second; on a busy one the timeline says which it could not keep (due_late)."""
    late = {round(p["t"]) for p in doc["timeline"] if p.get("due_late")}
    return {round(p["t"]) for p in full_points(doc)} - late - {t + 1 for t in late}


def ok_or_noisy(p, doc):
    """Exit 0 for an open-model run that expects it; or 4 when the generator says, in the same
    result, that it could not keep its schedule: on a shared machine a neighbour can stall it
    for 50 ms, which the self-check rightly reports. Any other exit code is a failure."""
    gen = doc["generator"]
    if p.returncode == 4 and gen["saturated"]:
        print(f"    note: generator flagged saturated (lag p99 {gen['sched_lag_p99_us']} us, "
              f"busiest thread {gen['thread_cpu_max']:.0%}): a noisy machine", flush=True)
        return
    assert p.returncode == 0 and not gen["saturated"], (p.returncode, gen, p.stdout, p.stderr)


def thresholds_by_expr(doc):
    return {t["expr"]: t for t in doc["thresholds"]}


# ---- the open model: rate ----

def test_rate_accuracy_at_several_rates():
    # favoured, target and generator: at 5000/s a starved nginx queued and dropped arrivals
    # the generator had sent on time (ASan build, load 13)
    comfortable = []
    with favoured(), Nginx() as ngx:
        for rate, secs in [(100, 4), (1000, 3), (5000, 3)]:
            p, doc = run_json("-R", str(rate), "-d", f"{secs}s", ngx.url(), check_rc=None,
                              timeout=30)
            t, gen = doc["totals"], doc["generator"]
            asked = rate * secs
            assert doc["config"]["model"] == "open" and doc["config"]["rate"] == rate, doc["config"]
            # arrivals are due at k/rate for k = 1, 2, ...: the one due at the deadline is not sent
            assert t["requests"] <= asked and t["errors"] == 0, (rate, t)
            pts = full_points(doc)
            assert len(pts) >= secs - 1, doc["timeline"]
            assert all(pt["target"] == rate for pt in pts), pts
            assert sum(pt["requests"] for pt in doc["timeline"]) == t["requests"]
            assert f"open model at {rate}.0/s" in p.stdout, p.stdout
            # every arrival dispatched is accounted for: answered (or failed), dropped, or still
            # out or queued when the run stopped
            due = sum(pt["due"] for pt in doc["timeline"])
            assert t["requests"] + t["dropped"] + t["unfinished"] == due, (rate, t, due)
            ok_or_noisy(p, doc)
            if gen["saturated"]:
                continue  # the generator says these figures describe it: nothing to check
            comfortable.append((gen, not any(pt["due_late"] for pt in doc["timeline"])))
            # whatever the host did, what the generator vouches for holds: the rate over the run,
            # and each second it ran on time
            assert due == asked - 1, doc["timeline"]
            # the run ends when its last arrival is answered (due 1/rate before the end), or a
            # little later on a busy host that fires its last timer late; rps is over the time
            # it really ran
            assert secs - 1.5 / rate <= doc["duration_s"] < secs + 0.5, (rate, doc["duration_s"])
            assert abs(t["rps"] - t["requests"] / doc["duration_s"]) < 0.001 * rate, (rate, t)
            assert t["dropped"] == 0, (rate, t)
            on_time = on_time_seconds(doc)
            for pt in pts:
                if round(pt["t"]) in on_time:
                    assert abs(pt["rps"] - rate) <= max(2, rate * 0.05), (rate, pt)
    # a comfortable run reports so: no saturation, threads with idle time, and when no second
    # had late arrivals, a lag p99 within the bound. (A run on a busy host may be stalled by
    # its neighbours for seconds on end and rightly say so: exit 4.)
    assert comfortable, "every run at 100..5000/s reported a saturated generator"
    assert all(g["thread_cpu_max"] < 0.5 for g, _ in comfortable), comfortable
    for g, on_time in comfortable:
        if on_time:
            assert g["sched_lag_p99_us"] <= 25000, g


def test_requests_with_rate_stop_after_exactly_n():
    with favoured(), Nginx() as ngx:
        p, doc = run_json("-R", "500", "-n", "300", ngx.url(), check_rc=None, timeout=20)
    ok_or_noisy(p, doc)
    assert doc["totals"]["requests"] == 300, doc["totals"]
    assert doc["status_codes"] == {"200": 300}, doc["status_codes"]
    # 300 arrivals at 500/s: the last one is due at 0.6 s (later when a stall delayed them)
    assert doc["duration_s"] >= 0.55, doc["duration_s"]
    if not any(pt.get("due_late") for pt in doc["timeline"]):
        assert doc["duration_s"] <= 1.2, doc["duration_s"]
    # -n ends the run, not the default 10 s (the process's own start and exit are the host's:
    # at a load of 15 they once took 7 s)
    assert doc["duration_s"] < 5, doc["duration_s"]
    assert p.elapsed < 9.5, p.elapsed


# ---- the open model: coordinated omission ----

def frozen_truth(freeze, rate, n):
    """The ground truth of n requests at rate/s with one freeze: every request not due during
    it is served at once (~0.1 ms); one due x into the freeze completes at its end, so it
    waited freeze - x."""
    in_freeze = int(freeze * rate)
    truth = [freeze - (j + 0.5) / rate for j in range(in_freeze)]
    truth += [0.0001] * (n - in_freeze)
    return sorted(truth)


FREEZER = """
import os, signal, sys, time
pid, at, length = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
time.sleep(at)
a = time.monotonic(); os.kill(pid, signal.SIGSTOP); b = time.monotonic()
try:
    time.sleep(length)
finally:
    c = time.monotonic(); os.kill(pid, signal.SIGCONT); d = time.monotonic()
print(a, b, c, d)
"""


def start_freezer(pid, at_s, length_s):
    """A favoured process that freezes pid (SIGSTOP) at_s from now for length_s and prints
    the clock on both sides of each signal: the test's own thread, starved on a busy host,
    once stretched a 1 s freeze to the end of the run."""
    return subprocess.Popen([sys.executable, "-c", FREEZER, str(pid), str(at_s), str(length_s)],
                            stdout=subprocess.PIPE, text=True, preexec_fn=favour_preexec())


def test_frozen_server_shows_in_the_percentiles():
    """A constant 200/s for 10 s; the server is frozen (SIGSTOP) for ~1 s at t = 4 s. Requests
    due during the freeze are answered only when it ends: from their intended send times, the
    true latencies are (end of freeze - intended time). The test computes those percentiles
    itself and compares them with surge's corrected ones. The freezer is its own favoured
    process that reads the clock on both sides of each signal, so the freeze's length is
    known within bounds even on a busy host (a starved test thread once read it 0.13 s long);
    server and generator run favoured too, so the server answers as soon as it thaws."""
    rate, secs = 200, 10
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        t0 = time.monotonic()
        proc = start_run(["-R", str(rate), "-d", f"{secs}s", "-c", "10", srv.url("/health")], path,
                         favour=True)
        freezer = start_freezer(srv.proc.pid, 4.0, 1.0)
        try:
            clock, _ = freezer.communicate(timeout=30)
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            freezer.kill()
            proc.kill()
            os.kill(srv.proc.pid, signal.SIGCONT)
            raise AssertionError("the freezer or surge run outlived its 10 s by 20 s")
        assert freezer.returncode == 0, freezer.returncode
        assert time.monotonic() - t0 < secs + 3
        with open(path) as f:
            doc = json.load(f)
        proc.stdout, proc.stderr = out, err
        ok_or_noisy(proc, doc)
    a, b, c, d = map(float, clock.split())
    short, long = c - b, d - a  # the freeze lasted at least short and at most long
    assert 0.95 <= short and long <= 1.3, (a, b, c, d)
    assert long - short < 0.1, (a, b, c, d)  # a favoured freezer reads its clock on time
    # every arrival due was answered or still out when the run stopped (a busy host's server
    # may still be working off the freeze's queue at the end: 73 of 2,000 once, at load 8)
    n, due = doc["totals"]["requests"], sum(p["due"] for p in doc["timeline"])
    assert n + doc["totals"]["unfinished"] == due, (doc["totals"], due)
    assert due == rate * secs - 1 or doc["generator"]["saturated"], (due, doc["generator"])
    assert n >= rate * secs * 0.9, doc["totals"]
    lat = doc["latency_ms"]
    for key, pct in [("p95", 95), ("p99", 99), ("p99_9", 99.9)]:
        low, high = (percentile(frozen_truth(f, rate, n), pct) * 1000 for f in (short, long))
        assert low * 0.85 < lat[key] < high * 1.15, (key, lat[key], low, high, lat)
    assert short * 1000 * 0.9 < lat["max"] < long * 1000 * 1.1, (lat, short, long)
    assert lat["p99"] > 700, lat  # the acceptance's "p99 near 0.9 s, not near 1 ms"
    assert lat["p50"] < 20, lat  # outside the freeze the server answers at once
    # the service time (from the actual send) is reported too: with 10 connections only the
    # requests in flight when the server froze were slow to serve; the queued ones were not
    svc = doc["service_ms"]
    assert svc["max"] > 500, svc
    assert svc["p99"] < lat["p99"] / 5, (svc, lat)
    assert doc["totals"]["late"] > 100, doc["totals"]  # due in the freeze, no free connection
    assert doc["totals"]["dropped"] == 0, doc["totals"]
    # the timeline shows the freeze in the second that holds it
    worst = max(doc["timeline"], key=lambda p: p["p99_ms"])
    assert worst["p99_ms"] > 700 and 4 <= worst["t"] <= 6.5, doc["timeline"]
    assert sum(p["late"] for p in doc["timeline"]) == doc["totals"]["late"]
    assert "corrected" in out and "service" in out and "late" in out, out


# ---- the open model: late and dropped ----

def stall_handler(server, conn):
    read_request(server, conn)
    server.stopping.wait(30)


def test_stalled_server_counts_late_and_dropped_and_ends_on_time():
    with RawServer(stall_handler) as srv:
        p, doc = run_json("-R", "200", "-d", "2s", "-c", "2", "--max-queue", "5",
                          "--timeout", "10s", srv.url(), check_rc=None, timeout=20)
    t = doc["totals"]
    # the server never answers and the timeout is 10 s: the run still ends at its 2 s
    assert p.elapsed < 3.5, p.elapsed
    assert doc["duration_s"] <= 2.5, doc["duration_s"]
    assert t["responses"] == 0, t
    # 399 arrivals: 2 on the two connections, 5 wait in the queue (late), the rest dropped;
    # the 2 out and the 5 queued are unfinished when the run stops
    due = sum(pt["due"] for pt in doc["timeline"])
    assert t["late"] == 5 and t["unfinished"] == 2 + 5, t
    assert t["requests"] + t["dropped"] + t["unfinished"] == due, (t, due)
    assert due == 399 or doc["generator"]["saturated"], (due, doc["generator"])
    assert sum(pt["dropped"] for pt in doc["timeline"]) == t["dropped"], doc["timeline"]
    assert sum(pt["late"] for pt in doc["timeline"]) == t["late"], doc["timeline"]
    assert "dropped" in p.stdout and "7 requests out or queued" in p.stdout, p.stdout


def test_frozen_server_late_then_dropped_then_recovers():
    """300/s for 3 s with 4 connections and a queue of 20; the server freezes for 1 s: 4
    requests in flight, 20 late, the rest of that second dropped; afterwards everything sent
    is answered. Sent + dropped = every arrival. Server and generator run favoured: the
    second the server is frozen must be the only one it does not answer on time."""
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        proc = start_run(["-R", "300", "-d", "3s", "-c", "4", "--max-queue", "20",
                          srv.url("/health")], path, favour=True)
        freezer = start_freezer(srv.proc.pid, 1.0, 1.0)
        try:
            clock, _ = freezer.communicate(timeout=20)
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            freezer.kill()
            proc.kill()
            os.kill(srv.proc.pid, signal.SIGCONT)
            raise AssertionError("the freezer or surge run hung after the server resumed")
        with open(path) as f:
            doc = json.load(f)
    proc.stdout, proc.stderr = out, err
    ok_or_noisy(proc, doc)
    t = doc["totals"]
    assert t["late"] >= 20, t
    assert 300 * 0.9 - 24 <= t["dropped"] <= 300 * 1.2, t
    assert t["errors"] == 0 and t["responses"] == t["requests"], t
    a, b, c, d = map(float, clock.split())
    assert d - a < 1.5, (a, b, c, d)  # the freeze ended well before the run did
    due = sum(pt["due"] for pt in doc["timeline"])
    assert t["requests"] + t["dropped"] + t["unfinished"] == due, (t, due)
    assert due == 899 or doc["generator"]["saturated"], (due, doc["generator"])
    assert doc["duration_s"] < 3.6, doc["duration_s"]


# ---- stages ----

def test_closed_user_stages_follow_the_ramp():
    with Nginx() as ngx:
        p, doc = run_json("--stages", "2s:4,2s:4,2s:0", ngx.url(), timeout=30)
    cfg = doc["config"]
    assert cfg["model"] == "closed" and cfg["stages"] == "2s:4,2s:4,2s:0", cfg
    assert cfg["connections"] == 4, cfg  # a connection per user at the peak
    assert 5.9 <= doc["duration_s"] <= 6.6, doc["duration_s"]
    expected = {1: 2, 2: 4, 3: 4, 4: 4, 5: 2}
    for t, users in expected.items():
        pt = point_at(doc, t)
        assert abs(pt["target"] - users) < 1e-6, pt
        assert abs(pt["users"] - users) <= 1, (t, pt)
        assert pt["requests"] > 0, pt
    assert doc["timeline"][-1]["target"] == 0, doc["timeline"][-1]
    assert doc["totals"]["errors"] == 0


def test_last_timeline_point_keeps_its_users():
    """The last second of a run held at 4 users was run by 4 users: its point says so, as the
    ones before it do (the users stop after it, not during it)."""
    with Nginx() as ngx:
        p, doc = run_json("--stages", "1s:4,2s:4", ngx.url(), timeout=20)
    last = point_at(doc, 3)
    assert last["target"] == 4 and last["requests"] > 0, doc["timeline"]
    assert [pt["users"] for pt in full_points(doc)] == [4, 4, 4], doc["timeline"]


def test_users_with_spawn_rate_reach_n_after_n_over_rate_seconds():
    with Nginx() as ngx:
        p, doc = run_json("--users", "6", "--spawn-rate", "3", "-d", "4s", ngx.url(), timeout=30)
    cfg = doc["config"]
    assert cfg["model"] == "closed" and cfg["connections"] == 6, cfg
    assert 3.9 <= doc["duration_s"] <= 4.6, doc["duration_s"]
    assert 2 <= point_at(doc, 1)["users"] <= 4, doc["timeline"]
    assert point_at(doc, 2)["users"] >= 5, doc["timeline"]
    assert point_at(doc, 3)["users"] == 6, doc["timeline"]
    assert all(pt["users"] <= 6 for pt in doc["timeline"]), doc["timeline"]


def test_open_rate_stages_ramp_and_total_is_the_area():
    with Nginx() as ngx:
        p, doc = run_json("--model", "open", "--stages", "2s:200,2s:200", ngx.url(),
                          check_rc=None, timeout=30)
    ok_or_noisy(p, doc)
    cfg = doc["config"]
    assert cfg["model"] == "open" and cfg["stages"] == "2s:200,2s:200", cfg
    assert 3.9 <= doc["duration_s"] <= 4.6, doc["duration_s"]
    for t, target in [(1, 100), (2, 200), (3, 200)]:
        assert abs(point_at(doc, t)["target"] - target) < 1e-6, doc["timeline"]
    assert doc["totals"]["errors"] == 0, doc["totals"]
    if doc["generator"]["saturated"]:
        return  # the generator says its figures describe it: nothing more to check
    # the area under 0→200 over 2 s, then 200 for 2 s: 200 + 400 (the one due at the end is not)
    assert sum(pt["due"] for pt in doc["timeline"]) == 599, doc["timeline"]
    assert abs(doc["totals"]["requests"] - 600) <= 600 * 0.03, doc["totals"]
    assert doc["totals"]["dropped"] == 0, doc["totals"]
    # arrivals due in each second: ∫ of the rate — 50, 150, 200, 200; and answered in it, when
    # the generator kept the schedule (on a busy host it says which seconds it could not)
    on_time = on_time_seconds(doc)
    for t, count in [(1, 50), (2, 150), (3, 200)]:
        pt = point_at(doc, t)
        assert abs(pt["due"] - count) <= 1, (t, pt)
        if t in on_time:
            assert abs(pt["requests"] - count) <= max(3, count * 0.05), (t, pt)


# ---- profiles ----

def test_profile_basic_shape_and_default_thresholds():
    with Nginx() as ngx:
        p, doc = run_json("--profile", "basic", "-d", "3s", ngx.url(), timeout=30)
        p2, doc2 = run_json("--profile", "basic", "-d", "1s", "--threshold", "p99<1s", ngx.url(),
                            timeout=30)
    cfg = doc["config"]
    assert cfg["model"] == "closed" and cfg["connections"] == 10, cfg
    assert cfg["stages"] == "5s:10,55s:10" and cfg["duration_s"] == 3, cfg
    assert 2.9 <= doc["duration_s"] <= 3.6, doc["duration_s"]
    # ten users started over 5 s: two a second
    for t in (1, 2):
        pt = point_at(doc, t)
        assert abs(pt["target"] - 2 * t) < 1e-6 and abs(pt["users"] - 2 * t) <= 1, doc["timeline"]
    assert all(pt["users"] <= 10 for pt in doc["timeline"]), doc["timeline"]
    assert [t["expr"] for t in doc["thresholds"]] == ["mean<200ms", "error_rate<=0%"], doc["thresholds"]
    assert all(t["ok"] for t in doc["thresholds"]), doc["thresholds"]
    assert doc["assessment"]["profile"] == "basic" and doc["assessment"]["verdict"] == "PASS"
    assert "mean<200ms" in p.stdout and "error_rate<=0%" in p.stdout, p.stdout
    # --threshold replaces the profile's own
    assert [t["expr"] for t in doc2["thresholds"]] == ["p99<1s"], doc2["thresholds"]


def test_profile_breakpoint_stops_at_the_first_failure():
    """A 1-worker surge serve burning 5 ms of CPU per request answers ~200/s; a rate rising
    from 100/s to 1500/s passes that early, p95 crosses the profile's 1 s and the run stops
    long before its 10 s."""
    with Serve() as srv:
        p, doc = run_json("--profile", "breakpoint", "--stages", "0s:100,10s:1500",
                          srv.url("/api/cpu?ms=5"), check_rc=1, timeout=40)
    a = doc["assessment"]
    assert doc["config"]["model"] == "open", doc["config"]
    assert a["profile"] == "breakpoint" and a["aborted"] is True and a["verdict"] == "FAIL", a
    th = thresholds_by_expr(doc)
    assert set(th) == {"p95<1s", "error_rate<5%"}, doc["thresholds"]
    assert th["p95<1s"]["ok"] is False and th["p95<1s"]["value"] >= 1000, th
    assert doc["duration_s"] < 8, doc["duration_s"]
    assert p.elapsed < 10, p.elapsed
    assert "aborted" in p.stdout, p.stdout


# ---- the assessment in the open model ----

def test_assessment_of_a_rate_not_delivered_fails_throughput():
    """In the open model the asked rate is the throughput target: a server that can only do
    ~200/s fails it at 400/s."""
    with Serve() as srv:
        p, doc = run_json("-R", "400", "-d", "2s", srv.url("/api/cpu?ms=5"), check_rc=None,
                          timeout=20)
    ok_or_noisy(p, doc)
    a = doc["assessment"]
    assert a["targets"]["min_rps"] >= 390, a
    assert a["throughput"] == "FAIL" and a["verdict"] == "FAIL", a
    assert "throughput under target" in p.stdout, p.stdout


# ---- the generator's self-check ----

def test_generator_that_cannot_keep_its_schedule_exits_4():
    """The generator is frozen for 150 ms of every 200 (SIGSTOP, as a host that gives its CPU
    to other processes would) all through a 3 s run: its pacer sends most arrivals tens of
    milliseconds late in every second, the run says so (which criterion, with its figures) and
    exits 4. (Freezing, not a busy loop beside it: how much CPU a niced process gets next to
    one depends on the scheduler, and on a busy host on everything else.)"""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        proc = start_run(["-t", "1", "-R", "500", "-d", "3s", "-c", "100", srv.url("/health")],
                         path)
        done, freezer = freeze_repeatedly(proc.pid)
        try:
            out, err = proc.communicate(timeout=30)
        finally:
            done.set()
            freezer.join(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(path) as f:
            doc = json.load(f)
    p = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    gen = doc["generator"]
    assert gen["saturated"] is True, gen
    assert gen["sched_lag_p99_us"] > 25000, gen
    # which criterion fired, with its figures: the pacer late in every second of the schedule
    why = gen["saturation"]
    assert why["criterion"] == "schedule_lag", why
    assert why["seconds"] == why["run_seconds"] == 3 and why["consecutive_s"] == 3, why
    assert why["worst"] > 0.1 and why["bound"] == 0.1 and why["lag_bound_ms"] == 25, why
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "WARNING" in p.stdout and "bottleneck" in p.stdout, p.stdout
    assert "3 of the run's 3 seconds" in p.stdout and "25ms late" in p.stdout, p.stdout
    # its threads had idle CPU: the summary blames the host, not the generator's work
    assert gen["thread_cpu_max"] < 0.5, gen
    assert "other processes on this host delayed it" in p.stdout, p.stdout


def test_one_stall_of_the_generator_is_not_saturation():
    """The generator is frozen (SIGSTOP) for 300 ms in the middle of a 5 s run at 200/s: the
    arrivals of that stretch go out late (the lag's p99 shows it), but one stall is not a
    generator that cannot keep up: not saturated, exit 0."""
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        proc = start_run(["-R", "200", "-d", "5s", "-c", "50", ngx.url()], path)
        try:
            time.sleep(2.2)
            proc.send_signal(signal.SIGSTOP)
            time.sleep(0.3)
            proc.send_signal(signal.SIGCONT)
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        with open(path) as f:
            doc = json.load(f)
    gen = doc["generator"]
    assert gen["sched_lag_max_us"] > 200000, gen  # the stall happened, and was measured
    assert gen["sched_lag_p99_us"] > 25000, gen   # (what the old whole-run p99 rule condemned)
    # the seconds with over a tenth of their arrivals sent 25 ms late: the stall's one or two
    bad = [pt["t"] for pt in doc["timeline"] if pt["due"] and pt["due_late"] / pt["due"] > 0.1]
    assert bad, doc["timeline"]
    if gen["saturated"]:
        # a busy host made seconds of its own late beside the stall: the verdict rests on them
        assert len(bad) >= 3 and proc.returncode == 4, (bad, gen)
        print(f"    note: this host delayed the generator in seconds {bad}: {gen['saturation']}",
              flush=True)
        return
    assert gen["saturation"] is None and len(bad) <= 2, (bad, gen)
    assert proc.returncode == 0, (proc.returncode, out, err)
    assert "bottleneck" not in out, out


# ---- surge capacity ----

def freeze_repeatedly(pid, stop_s=0.15, run_s=0.05, limit_s=60):
    """Stops and continues pid over and over (SIGSTOP for stop_s of every stop_s + run_s) from
    a thread, until the returned event is set: a generator that cannot keep its schedule,
    whatever else the host runs. Returns (event, thread); the process is continued at the end."""
    done = threading.Event()

    def loop():
        end = time.monotonic() + limit_s
        try:
            while not done.is_set() and time.monotonic() < end:
                os.kill(pid, signal.SIGSTOP)
                time.sleep(stop_s)
                os.kill(pid, signal.SIGCONT)
                time.sleep(run_s)
        except ProcessLookupError:
            pass
        finally:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return done, thread


def test_capacity_finds_a_known_capacity():
    """A target whose capacity is known whatever else the host runs: each request waits 50 ms
    on a timer in surge serve (it costs no CPU) and the search keeps at most 10 connections
    open, so at most 10 / 50 ms = 200/s are served; above that a step cannot deliver 95 % of
    its rate. The SLO (p95 < 1 s) is far above the latency a busy host adds in a stall, so a
    step fails for what the target cannot serve, not for a hiccup (the requests a 2 s step's
    end cuts off, 10 in flight, are 2.5 % of it; and the generator's self-check, which needs 3
    late seconds, cannot end the search on a busy host's stalls). The test measures the
    ceiling itself (10 users back to back, closed model), then asks `surge capacity`: the
    answer is never above 200/s and near the measured ceiling. (A CPU-bound target's capacity
    is what the host's other processes leave it: not a known figure on a busy machine.) Both
    run favoured, so the timer's 50 ms is not stretched by waits for a CPU a busy host gives
    others first (a load of 16 once took the answer to 112.5/s under a measured 180/s)."""
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/api/slow?delay=50ms")
        path = os.path.join(d, "ceiling.json")
        surge("run", "-q", "--json", path, "-c", "10", "-t", "1", "-d", "2s", url, timeout=30,
              check_rc=0)
        with open(path) as f:
            ceiling = json.load(f)["totals"]["rps"]
        assert 100 < ceiling <= 200, ceiling  # 10 connections, 50 ms each: 200/s at most
        path = os.path.join(d, "capacity.json")
        t0 = time.monotonic()
        p = surge("capacity", "--json", path, "--slo", "p95<1s", "--step", "2s", "-c", "10",
                  "-t", "1", "--start", "100", "--precision", "10%", url, timeout=150)
        elapsed = time.monotonic() - t0
        with open(path) as f:
            doc = json.load(f)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    cap = doc["capacity_rps"]
    assert 0.75 * ceiling <= cap <= 200 * 1.06, (cap, ceiling, p.stdout)
    steps = doc["steps"]
    assert doc["slo"] == "p95<1s" and doc["exit_code"] == 0, doc
    assert steps[0]["rate"] == 100 and steps[0]["passed"] is True, steps
    assert cap == max(s["rate"] for s in steps if s["passed"]), steps
    assert any(not s["passed"] and s["rate"] > cap for s in steps), steps
    assert all(s["saturated"] is False for s in steps), steps
    for s in steps:
        assert set(s) >= {"rate", "achieved_rps", "slo_value", "error_rate", "passed"}, s
        if s["passed"]:
            assert s["slo_value"] < 1000 and s["achieved_rps"] >= s["rate"] * 0.95, s
        else:
            assert s["slo_value"] >= 1000 or s["achieved_rps"] < s["rate"] * 0.95, s
    assert f"capacity: {cap:.1f} requests/s" in p.stdout, p.stdout
    assert elapsed < 90, elapsed


def test_capacity_keeps_what_passed_when_the_generator_saturates():
    """The search is under way (50/s, 100/s passed) when the generator stops being able to
    keep its schedule: from then on it is frozen for 150 ms of every 200 (SIGSTOP, as a host
    that takes its CPU away would), so the next step saturates it and the search ends (exit 4,
    the generator's code). The answer is still what the help promises, the highest rate that
    passed, in the summary and in the JSON. Server and generator run favoured, so only the
    freezer saturates it (a load of 13 once saturated the 100/s step by itself)."""
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "capacity.json")
        proc = subprocess.Popen([SURGE, "capacity", "--json", path, "--slo", "p95<500ms",
                                 "--step", "3s", "--max-rate", "3200", "-t", "1",
                                 srv.url("/health")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=favour_preexec())
        watchdog = threading.Timer(90, proc.kill)
        watchdog.start()
        freezer = None
        lines = []
        try:
            for line in proc.stdout:
                lines.append(line)
                if freezer is None and "step  2" in line:
                    freezer = freeze_repeatedly(proc.pid)
            proc.wait(timeout=10)
        finally:
            watchdog.cancel()
            if freezer:
                freezer[0].set()
                freezer[1].join(timeout=5)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        out = "".join(lines)
        with open(path) as f:
            doc = json.load(f)
    steps = doc["steps"]
    assert freezer is not None, out
    assert proc.returncode == 4, (proc.returncode, out)
    assert steps[-1]["saturated"] and not any(s["saturated"] for s in steps[:-1]), steps
    assert "SATURATED" in out, out
    passed = [s["rate"] for s in steps if s["passed"]]
    assert passed and passed[:2] == [50, 100], steps
    assert doc["capacity_rps"] == max(passed), (doc["capacity_rps"], steps)
    assert "none found" not in out, out
    # and `surge help capacity` lists every exit code the command returns
    text = surge("help", "capacity", check_rc=0).stdout
    assert "4" in text.split("Exit 0")[-1], text


def test_capacity_usage_errors_and_unreachable():
    url = "http://127.0.0.1:1/"
    cases = [
        ([url], "--slo"),
        (["--slo", "p96<1ms", url], "p96"),
        (["--slo", "p95<1s", "--step", "500ms", url], "--step"),
        (["--slo", "p95<1s", "--start", "0", url], "--start"),
        (["--slo", "p95<1s", "--max-error", "150%", url], "--max-error"),
        (["--slo", "p95<1s"], "missing URL"),
        (["--slo", "p95<1s", "--bogus", url], "--bogus"),
    ]
    for args, needle in cases:
        p = surge("capacity", *args, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        assert needle in p.stderr, (args, needle, p.stderr)
    p = surge("capacity", "--slo", "p95<1s", "--step", "1s", refused_url(), timeout=20)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    assert p.elapsed < 5, p.elapsed
    # exit 3 should come with the reason, as `surge run` gives it
    said = (p.stdout + p.stderr).lower()
    assert "refused" in said or "reach" in said, (p.stdout, p.stderr)


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
