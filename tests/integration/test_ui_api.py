"""`surge run --ui` and `--metrics` through their HTTP API, as a script or the page uses it
(docs/ui.md): a real `surge serve`, a real `surge run` with its UI on a free loopback port,
and the test as the client — Start, the load changed mid-run, Stop, Reset and Quit each
seen in the events within a second or two, the stream replayed after a reload with no gap,
bad control input refused with nothing changed, the figures the UI serves equal to the
result document the run writes, /metrics accepted by promtool. Server and generator run
favoured (harness.favoured): the controls' "within 1 s" is about surge, not a busy host."""

import json
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
import urllib.parse

from harness import (SURGE, THOUSAND_ENDPOINTS, Serve, favour_preexec, favoured, get_json, http,
                     main, need, read_events)

JSON = {"Content-Type": "application/json"}


class UiRun:
    """surge run --ui=127.0.0.1:0 ... in the background; .url is the UI's address."""

    def __init__(self, *args, ui="--ui=127.0.0.1:0"):
        self.dir = tempfile.TemporaryDirectory()
        self.json = os.path.join(self.dir.name, "result.json")
        self.out = open(os.path.join(self.dir.name, "stdout"), "w+")
        self.proc = subprocess.Popen([SURGE, "run", ui, "--json", self.json, *args],
                                     stdout=self.out, stderr=subprocess.PIPE, text=True,
                                     preexec_fn=favour_preexec())
        self.err_lines = []
        self.got_url = threading.Event()
        self.url = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        assert self.got_url.wait(15), f"no UI address printed: {self.err_lines}"

    def _read(self):
        for line in self.proc.stderr:
            self.err_lines.append(line)
            m = re.search(r"(?:UI|metrics) at (http://\S+)", line)
            if m and not self.url:
                self.url = m.group(1)
                self.got_url.set()
        self.got_url.set()

    def api(self, path):
        u = urllib.parse.urlsplit(self.url)
        return f"{u.scheme}://{u.netloc}/{path.lstrip('/')}"

    def control(self, name, body=None, expect=200, headers=None):
        data = json.dumps(body or {}).encode()
        status, _, out = http("POST", self.api(f"api/control/{name}"), body=data,
                              headers={**JSON, **(headers or {})})
        assert status == expect, (name, body, status, out[:300])
        return json.loads(out) if out else None

    def finish(self, timeout=30):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"surge run did not end: {self.err_lines[-5:]}")
        self.reader.join(5)  # every line of stderr read
        self.out.seek(0)
        return self.proc.returncode, self.out.read()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()
        self.dir.cleanup()


def seconds_of(events):
    """The `second` events by their second, a correction replacing what came before."""
    out = {}
    for _, e in events:
        if e.get("type") == "second":
            out[e["second"]] = e
    return out


def wait_for(fn, seconds, what):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_interactive_run_waits_for_start_and_follows_the_page():
    with favoured(), Serve() as srv:
        run = UiRun(srv.url("/health"))
        try:
            state, _ = get_json(run.api("api/state"))
            assert state["state"] == "waiting" and state["controls"]["start"]["enabled"], state
            assert not state["controls"]["load"]["enabled"], state
            assert state["controls"]["load"]["reason"] == "not running", state
            time.sleep(1)  # nothing runs before Start
            _, _, metrics = http("GET", run.api("metrics"))
            assert not re.search(rb"^surge_run_requests_total\{", metrics, re.M), metrics[:500]
            started = time.monotonic()
            run.control("start", {"users": 4, "spawn_rate": 100})
            ev = read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                             e["run"]["users"] == 4 and e["run"]["responses"] > 0)
            assert time.monotonic() - started < 4, "4 users and responses within 2 whole seconds"
            last = max(i for i, _ in ev if i is not None)
            changed = time.monotonic()
            state = run.control("load", {"users": 1, "spawn_rate": 0})
            assert state["users"] == 1, state
            ev2 = read_events(run.url, 10, last_id=last,
                              until=lambda e: e.get("type") == "second" and
                              e["run"]["users"] == 1)
            assert time.monotonic() - changed < 3.5, "the change seen within its second"
            markers = [e for _, e in ev2 if e.get("type") == "marker"]
            assert markers and markers[0]["kind"] == "load" and "1" in markers[0]["what"], \
                [e for _, e in ev2][:3]
            assert any(e.get("kind") == "start" for _, e in ev), "Start is a marker too"
            run.control("stop")
            wait_for(lambda: get_json(run.api("api/state"))[0]["state"] == "stopped", 5,
                     "stopped after Stop")
            doc, hdrs = get_json(run.api("api/result.json"))
            assert "attachment" in hdrs.get("content-disposition", ""), hdrs
            whole = read_events(run.url, 1.5)
            secs = seconds_of(whole)
            run.control("quit")
            code, out = run.finish()
            assert code == 0, (code, run.err_lines[-5:])
            with open(run.json) as f:
                written = json.load(f)
            # the same figures everywhere: the page's download, the file, the events
            assert written["totals"]["requests"] == doc["totals"]["requests"] > 0
            assert sum(e["run"]["requests"] for e in secs.values()) == \
                written["totals"]["requests"], (len(secs), written["totals"])
            assert written["interrupted"] is False, "Stop ends the run as its end would"
            assert written["config"]["connections"] == 1, written["config"]
            for second, p in enumerate(written["timeline"]):
                e = secs.get(second)  # entry i is second i
                if e and p["requests"]:
                    assert e["run"]["latency_ms"]["p99"] == p["p99_ms"], (p, e["run"])
        finally:
            run.close()


def test_a_reload_gets_the_history_then_live_events_with_no_gap():
    with favoured(), Serve() as srv:
        run = UiRun("-d", "8s", "-c", "2", srv.url("/health"))
        try:
            time.sleep(2.5)
            first = read_events(run.url, 0.5)
            ids = [i for i, _ in first if i is not None]
            history = [e for i, e in first if i is None]
            assert history and history[0]["first_id"] == 1, history  # where the replay starts
            # in order; the ids missing are the snapshots a newer one replaced (kept only
            # until the next): the replay holds one, the newest
            assert ids and ids == sorted(set(ids)) and ids[0] <= 2, ids
            replay = [e for i, e in first if i is not None and i <= history[0]["last_id"]]
            assert [e.get("type") for e in replay].count("snapshot") == 1, [e.get("type") for e in replay]
            again = read_events(run.url, 3, last_id=ids[-1])
            more = [i for i, _ in again if i is not None]
            assert more and more[0] > ids[-1] and more == sorted(set(more)), (ids[-3:], more[:3])
            # every second once, none missing, across the reconnect
            secs = sorted(e["second"] for _, e in first + again if e.get("type") == "second"
                          and not e["correction"])
            assert secs == list(range(len(secs))) and len(secs) >= 4, secs
            # live, every event is sent: a snapshot after each second
            types = [e.get("type") for _, e in again]
            assert types.count("snapshot") >= types.count("second") - 1, types
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
        finally:
            run.close()


def test_a_thousand_endpoints_are_all_in_the_table():
    """1,000 endpoint names: the table's figures (the snapshot published after each second)
    hold every one, equal at the end to the result document's; a second's event carries only
    the endpoints it had, slim; the history keeps one snapshot, so it holds minutes of them."""
    with favoured(), Serve(workers=2) as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "thousand.lua")
        with open(path, "w") as f:
            f.write(THOUSAND_ENDPOINTS)
        run = UiRun("-t", "2", "--users", "8", "-d", "5s", "--host", srv.url(""), path)
        try:
            events = read_events(run.url, 30)  # the whole run: the stream ends with it
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
            with open(run.json) as f:
                doc = json.load(f)
        finally:
            run.close()
    want = {(e["method"], e["name"]): e["requests"] for e in doc["endpoints"]}
    assert len(want) == 1000, len(want)
    snaps = [e for _, e in events if e.get("type") == "snapshot"]
    secs = [e for _, e in events if e.get("type") == "second"]
    assert len(snaps) >= len(secs) >= 5, (len(snaps), len(secs))
    got = {(e["method"], e["name"]): e["total"]["requests"] for e in snaps[-1]["endpoints"]}
    assert got == want, "the last snapshot is the document's endpoints"
    # a second's endpoints: those with requests in it, slim; they add up to the second
    sizes = []
    for e in secs:
        eps = e["endpoints"]
        assert all(x["second"]["requests"] > 0 and "total" not in x for x in eps), eps[:2]
        assert sum(x["second"]["requests"] for x in eps) == e["run"]["requests"], e["second"]
        if len(eps) >= 900:
            sizes.append(len(json.dumps(eps, separators=(",", ":"))) / len(eps))
    assert sizes, [len(e["endpoints"]) for e in secs]
    per_endpoint = max(sizes)
    print(f"    {per_endpoint:.0f} bytes an endpoint a second in the history; the snapshot "
          f"{len(json.dumps(snaps[-1], separators=(',', ':'))) / 1000:.0f} kB", flush=True)
    assert per_endpoint < 250, sizes


def test_users_and_spawn_rate_from_the_command_line_can_be_steered():
    """`--users 2 --spawn-rate 20 -d 8s`: the run starts at once (the page watches) and the
    page may still change the users, as Locust's --users with its web UI: --users is not a
    shape the user fixed, as --stages is."""
    with favoured(), Serve() as srv:
        run = UiRun("--users", "2", "--spawn-rate", "20", "-d", "8s", srv.url("/health"))
        try:
            state, _ = get_json(run.api("api/state"))
            assert state["controls"]["load"]["enabled"], state["controls"]
            ev = read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                             e["run"]["users"] == 2)
            last = max(i for i, _ in ev if i is not None)
            assert run.control("load", {"users": 5, "spawn_rate": 0})["users"] == 5
            ev2 = read_events(run.url, 10, last_id=last,
                              until=lambda e: e.get("type") == "second" and
                              e["run"]["users"] == 5)
            assert any(e.get("kind") == "load" for _, e in ev2), "the change is a marker"
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
            with open(run.json) as f:
                doc = json.load(f)
            assert [c["to"] for c in doc["changes"]] == [5], doc["changes"]
        finally:
            run.close()


def test_the_open_model_rate_follows_the_page():
    with favoured(), Serve() as srv:
        run = UiRun("--model", "open", "-c", "20", srv.url("/health"))
        try:
            run.control("start", {"rate": 100})
            ev = read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                             e["second"] >= 1 and e["run"]["due"] > 0)
            last = max(i for i, _ in ev if i is not None)
            run.control("load", {"rate": 400})
            ev2 = read_events(run.url, 12, last_id=last,
                              until=lambda e: e.get("type") == "second" and
                              abs(e["run"]["due"] - 400) <= 40)
            assert any(e.get("type") == "marker" for _, e in ev2), "the change is a marker"
            run.control("stop")
            wait_for(lambda: get_json(run.api("api/state"))[0]["state"] == "stopped", 5,
                     "stopped")
            run.control("quit")
            code, _ = run.finish()
            with open(run.json) as f:
                gen = json.load(f)["generator"]
            # exit 4 only as the document says: the generator saturated (a busy host)
            assert code == 0 or (code == 4 and gen["saturated"]), \
                (code, gen.get("saturation"), run.err_lines[-8:])
        finally:
            run.close()


def test_bad_control_input_is_refused_and_changes_nothing():
    with Serve() as srv:
        run = UiRun(srv.url("/health"))
        try:
            for body, says in [({"users": "x"}, "users: expected a number"),
                               ({"users": 1e9}, "users: expected a number from 0 to 10000"),
                               ({"users": 2.5}, "users: expected a whole number"),
                               ({"users": 2, "colour": 1}, "unknown argument 'colour'"),
                               ({"rate": 5}, "the closed model takes users"),
                               ({"users": 2, "host": "ftp://x"}, "host:")]:
                out = run.control("start", body, expect=400)
                assert says in out["error"], (body, out)
            run.control("load", {"users": 3}, expect=409)
            run.control("stop", expect=409)
            run.control("nonsense", expect=404)
            run.control("start", {"users": 1}, expect=403,
                        headers={"Origin": "http://evil.example"})
            status, _, _ = http("GET", run.api("api/control/start"))
            assert status == 405, status
            state, _ = get_json(run.api("api/state"))
            assert state["state"] == "waiting", "nothing changed"
            run.proc.send_signal(signal.SIGINT)  # Ctrl-C before Start: nothing measured
            code, _ = run.finish()
            assert code == 5, (code, run.err_lines[-3:])
            assert any("quit before Start" in l for l in run.err_lines), run.err_lines
        finally:
            run.close()


def test_reset_starts_the_statistics_from_its_second():
    with favoured(), Serve() as srv:
        run = UiRun("-c", "2", srv.url("/health"))
        try:
            run.control("start", {"users": 2, "spawn_rate": 0})
            read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                        e["second"] >= 2)
            run.control("reset")
            ev = read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                             e["second"] >= 5)
            assert any(e.get("type") == "marker" and e["kind"] == "reset" for _, e in ev), ev[:3]
            run.control("stop")
            wait_for(lambda: get_json(run.api("api/state"))[0]["state"] == "stopped", 5,
                     "stopped")
            whole = seconds_of(read_events(run.url, 1.5))
            state, _ = get_json(run.api("api/state"))
            run.control("quit")
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
            with open(run.json) as f:
                doc = json.load(f)
            since = state["reset_at_s"]
            counted = sum(e["run"]["requests"] for s, e in whole.items() if s >= since)
            assert doc["totals"]["requests"] == counted, (doc["totals"], since, counted)
            assert sum(e["run"]["requests"] for e in whole.values()) > counted
        finally:
            run.close()


TWO_CLASSES = """
users = {
    Browse = { weight = 3, wait = constant(0.01), tasks = {
        function(u) u:get("/health", { name = "browse" }) end } },
    Buy = { weight = 1, wait = constant(0.01), tasks = {
        function(u) u:get("/health", { name = "buy" }) end } },
}
"""


def two_classes(d):
    path = os.path.join(d, "shop.lua")
    with open(path, "w") as f:
        f.write(TWO_CLASSES)
    return path


def test_start_picks_a_scenarios_classes_and_their_weights():
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        run = UiRun("--host", srv.url(""), "-t", "2", two_classes(d))
        try:
            state, _ = get_json(run.api("api/state"))
            assert state["classes"] == [{"name": "Browse", "weight": 3},
                                        {"name": "Buy", "weight": 1}], state
            assert state["controls"]["classes"] == {"enabled": True}, state["controls"]
            state = run.control("start", {"users": 4, "spawn_rate": 100,
                                          "classes": {"Browse": 1, "Buy": 0}})
            assert state["classes"] == [{"name": "Browse", "weight": 1},
                                        {"name": "Buy", "weight": 0}], state
            assert not state["controls"]["classes"]["enabled"], state["controls"]
            read_events(run.url, 10, until=lambda e: e.get("type") == "second" and
                        e["second"] >= 1 and e["run"]["responses"] > 0)
            state, _ = get_json(run.api("api/state"))
            assert state["controls"]["classes"] == {"enabled": False,
                                                    "reason": "the run has started"}, state
            run.control("start", {"users": 1, "classes": {"Buy": 1}}, expect=409)
            run.control("stop")
            wait_for(lambda: get_json(run.api("api/state"))[0]["state"] == "stopped", 5,
                     "stopped")
            run.control("quit")
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
            with open(run.json) as f:
                doc = json.load(f)
            # 4 users on 2 threads, every one dealt to Browse: not one request of Buy's
            names = {e["name"]: e["requests"] for e in doc["endpoints"]}
            assert list(names) == ["browse"] and names["browse"] > 0, names
        finally:
            run.close()


def test_bad_classes_are_refused_and_change_nothing():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        run = UiRun("--host", srv.url(""), two_classes(d))
        try:
            before, _ = get_json(run.api("api/state"))
            for classes, says in [
                    ({"Brows": 1}, "classes: no user class 'Brows' in "),
                    ({"Browse": 2, "Nobody": 1}, "(it has: Browse, Buy)"),
                    ({"Buy": -1}, "classes: the weight of 'Buy' must be a number from 0"),
                    ({"Buy": "2"}, "classes: the weight of 'Buy' must be a number"),
                    ({"Buy": 1e12}, "the weight of 'Buy'"),
                    ({"Browse": 0, "Buy": 0}, "classes: every weight is 0"),
                    ([1, 2], "classes: expected an object of weights"),
                    ({"x" * 5000: 1}, "…")]:
                out = run.control("start", {"users": 2, "classes": classes}, expect=400)
                assert says in out["error"], (classes, out)
                assert len(out["error"]) < 600, out  # a long name is cut
            # a bad load with good classes: refused before the weights change
            out = run.control("start", {"users": -1, "classes": {"Buy": 0}}, expect=400)
            assert "users:" in out["error"], out
            after, _ = get_json(run.api("api/state"))
            assert after["state"] == "waiting", after
            assert after["classes"] == before["classes"], (before["classes"], after["classes"])
            run.control("quit")
            assert run.finish()[0] == 5, run.err_lines[-3:]
        finally:
            run.close()
        with Serve() as srv2:
            url = UiRun(srv2.url("/health"))
            try:
                state, _ = get_json(url.api("api/state"))
                assert "classes" not in state, state
                assert state["controls"]["classes"]["enabled"] is False, state["controls"]
                out = url.control("start", {"users": 1, "classes": {"user": 1}}, expect=400)
                assert "a URL has no user classes" in out["error"], out
            finally:
                url.close()


def test_scrape_puts_the_targets_figures_next_to_the_load():
    """With --scrape, each second's target figures come as a `target` event once a sample
    taken after the second's end has come (a second or so after its `second` event), made by
    the code that fills the result's timeline from the same samples — so they are the
    document's to the digit: a second's CPU is interpolated between the samples around its
    ends, its memory is the sample nearest its end, and no later sample changes either. What
    cannot be the same is only which seconds have figures at all (the scrape's timing decides,
    for the events and the document alike)."""
    with favoured(), Serve() as srv:
        run = UiRun("-c", "2", "--scrape", srv.url("/metrics"), srv.url("/api/cpu?ms=2"))
        try:
            run.control("start", {"users": 2, "spawn_rate": 0})
            # while it runs: a second's target figures come after the second itself
            ev = read_events(run.url, 15, until=lambda e: e.get("type") == "target" and
                             e["second"] >= 3)
            run.control("stop")
            wait_for(lambda: get_json(run.api("api/state"))[0]["state"] == "stopped", 5,
                     "stopped")
            everything = read_events(run.url, 1.5)  # the whole history, replayed
            run.control("quit")
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
            with open(run.json) as f:
                doc = json.load(f)
        finally:
            run.close()
    order = [(e["type"], e["second"]) for _, e in ev if e.get("type") in ("second", "target")]
    live = [s for kind, s in order if kind == "target"]
    assert live, order
    for s in live:
        assert order.index(("second", s)) < order.index(("target", s)), order
    targets = {e["second"]: e for _, e in everything if e.get("type") == "target"}
    points = dict(enumerate(doc["timeline"]))  # entry i is second i
    figured = {s for s, p in points.items() if "target_cpu_cores" in p or "target_rss_bytes" in p}
    assert doc["target"]["samples"] >= 4 and len(figured) >= 3, (doc["target"], figured)
    assert set(targets) == figured, (sorted(targets), sorted(figured))
    for sec, e in targets.items():
        p = points[sec]
        assert e["t"] == p["t"], (e, p)
        assert e["cpu_cores"] == p.get("target_cpu_cores"), (sec, e, p)
        assert e["rss_bytes"] == p.get("target_rss_bytes"), (sec, e, p)
        assert e["cpu_limit_cores"] == doc["target"]["cpu_limit_cores"], (e, doc["target"])
        assert e["memory_limit_bytes"] == doc["target"]["memory_limit_bytes"], e
    assert any((e["cpu_cores"] or 0) > 0 for e in targets.values()), targets
    assert all(e["rss_bytes"] > 1e6 for e in targets.values()), targets


def test_metrics_alone_for_a_headless_run_pass_promtool():
    promtool = need("promtool")
    with Serve() as srv:
        run = UiRun("-d", "4s", "-c", "2", srv.url("/health"), ui="--metrics=127.0.0.1:0")
        try:
            # while the run goes on (a busy host is slow to publish its first second): the
            # figures, and no page; promtool after, on the text taken
            counted = rb'^surge_run_requests_total\{method="GET",name="/health"\} [1-9]'
            status, hdrs, text = wait_for(
                lambda: (lambda r: r if re.search(counted, r[2], re.M) else None)(
                    http("GET", run.api("metrics"))), 3.5, "a second's requests in /metrics")
            assert status == 200 and hdrs["content-type"].startswith("text/plain"), hdrs
            status, _, _ = http("GET", run.api("api/state"))
            assert status == 404, "no page, no control with --metrics alone"
            p = subprocess.run([promtool, "check", "metrics"], input=text,
                               capture_output=True, timeout=30)
            assert p.returncode == 0, p.stdout + p.stderr
            code, _ = run.finish()
            with open(run.json) as f:
                saturated = json.load(f)["generator"]["saturated"]
            # exit 4 only when the generator says it was the limit (a busy host, ASan)
            assert code == 0 or (code == 4 and saturated), run.err_lines[-5:]
        finally:
            run.close()


def test_a_token_given_is_never_printed():
    """--ui-token (or a coordinator's --token, a pod's Secret): the address is printed without
    it — whoever reads the log must not be able to use it; one surge made is printed."""
    given = "given-token-0123456789abcdef"
    with Serve() as srv:
        run = UiRun("-d", "1s", "-c", "1", "--ui-token", given, srv.url("/health"))
        try:
            code, out = run.finish()
        finally:
            run.close()
    said = "".join(run.err_lines) + out
    assert given not in said, said
    assert "(with the token you gave: ?token=...)" in said, said
    assert code == 0, said
    with tempfile.TemporaryDirectory() as d:
        c = subprocess.run([SURGE, "run", "--coordinator", "127.0.0.1:0", "--expect-shards", "1",
                            "--token", given, "--join-timeout", "1s", "-n", "10",
                            "http://127.0.0.1:9/"], capture_output=True, text=True, timeout=30,
                           cwd=d)
    assert given not in c.stdout + c.stderr, c.stderr
    assert "with the token you gave" in c.stderr, c.stderr


def test_a_ui_on_every_address_needs_its_token():
    with Serve() as srv:
        run = UiRun("-d", "2s", "-c", "1", srv.url("/health"), ui="--ui=0.0.0.0:0")
        try:
            assert "?token=" in run.url, run.url
            token = urllib.parse.parse_qs(urllib.parse.urlsplit(run.url).query)["token"][0]
            port = urllib.parse.urlsplit(run.url).port
            status, _, _ = http("GET", f"http://127.0.0.1:{port}/api/state")
            assert status == 401, status
            status, _, _ = http("GET", f"http://127.0.0.1:{port}/api/state",
                                headers={"Authorization": f"Bearer {token}"})
            assert status == 200, status
            code, _ = run.finish()
            assert code == 0, run.err_lines[-5:]
        finally:
            run.close()


if __name__ == "__main__":
    main([test_interactive_run_waits_for_start_and_follows_the_page,
          test_a_reload_gets_the_history_then_live_events_with_no_gap,
          test_a_thousand_endpoints_are_all_in_the_table,
          test_users_and_spawn_rate_from_the_command_line_can_be_steered,
          test_the_open_model_rate_follows_the_page,
          test_bad_control_input_is_refused_and_changes_nothing,
          test_reset_starts_the_statistics_from_its_second,
          test_start_picks_a_scenarios_classes_and_their_weights,
          test_bad_classes_are_refused_and_change_nothing,
          test_scrape_puts_the_targets_figures_next_to_the_load,
          test_metrics_alone_for_a_headless_run_pass_promtool,
          test_a_token_given_is_never_printed, test_a_ui_on_every_address_needs_its_token])
