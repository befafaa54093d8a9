"""Distributed runs (docs/distributed.md): `surge run --coordinator` and three `surge run --join`
shards as real processes on loopback against a real `surge serve`. Under -n the coordinator's
count is exact and equals `surge merge` of the shards' own files, verdicts and exit code
included; under -R its arrivals are one process's, second by second; a shard without the token
is refused (401) and the coordinator logs it; a duplicate, a fifth or a late shard is refused
naming why; a shard killed mid-run is reported lost within 3 s and the run is incomplete
(exit 6)."""

import json
import os
import signal
import tempfile
import time

from harness import (Proc, Serve, favoured, free_port, http, main, metric_sum, read_events,
                     surge)

TOKEN = "distributed-test-token-0123456789"
# a shard's pacer may be late on a busy host: its self-check says so (exit 4), which is no
# failure of what these tests check
OK_CODES = (0, 4)


def load(path):
    with open(path) as f:
        return json.load(f)


def coordinator(port, shards, *args, lost_after="30s"):
    """A coordinator on port. A shard is lost after 30 s of silence unless the test is about
    losing one: a host busy enough to starve a process for 3 s (the default) must not fail a
    test of something else."""
    return Proc(["run", "--coordinator", f"127.0.0.1:{port}", "--expect-shards", str(shards),
                 "--token", TOKEN, "--lost-after", lost_after, *args])


def shard(port, *args, token=TOKEN, index=None):
    env = dict(os.environ)
    env.pop("JOB_COMPLETION_INDEX", None)
    if index is not None:
        env["JOB_COMPLETION_INDEX"] = str(index)
    extra = ["--token", token] if token else []
    return Proc(["run", "--join", f"http://127.0.0.1:{port}", *extra, "-t", "1", *args], env=env)


def shards_event(port, until, seconds=5):
    """The coordinator's first `shards` event (its page's Shards tab) for which until(event)
    holds, from its event stream within `seconds`; None if none."""
    events = read_events(f"http://127.0.0.1:{port}/", seconds, token=TOKEN,
                         until=lambda e: e.get("type") == "shards" and until(e))
    found = [e for _, e in events if e.get("type") == "shards" and until(e)]
    return found[0] if found else None


def run_distributed(d, url, test_args, n=3, shard_args=()):
    """A coordinator and n shards, each shard with its own --json; returns (coordinator exit
    code, its document, [shard exit codes], [shard document paths], coordinator Proc)."""
    port = free_port()
    out = os.path.join(d, "coordinator.json")
    c = coordinator(port, n, *test_args, "--json", out, url)
    c.wait_line("waiting for")
    paths = [os.path.join(d, f"shard{i}.json") for i in range(n)]
    shards = [shard(port, "--json", p, *shard_args) for p in paths]
    rc = c.wait()
    codes = [s.wait() for s in shards]
    return rc, load(out), codes, paths, c, shards


def test_requests_exact_equal_to_merge_with_one_verdict():
    """-n 3000 over 3 shards: the coordinator counts 3000, and its document is what `surge
    merge` of the shards' own files says — totals, latency, endpoints, thresholds and their
    verdicts, the exit code (1: one threshold fails on the whole)."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        rc, doc, codes, paths, c, _ = run_distributed(
            d, srv.url("/health"),
            ["-n", "3000", "-c", "6", "--threshold", "p99<10s", "--threshold", "max<1us"])
        merged_path = os.path.join(d, "merged.json")
        m = surge("merge", *paths, "--json", merged_path, "-q")
        merged = load(merged_path)
        parts = [load(p) for p in paths]
    assert rc == 1, (rc, c.stderr())
    assert m.returncode == 1, m.stderr
    assert all(code in (1, 4) for code in codes), codes  # max<1us fails on each part too
    assert doc["totals"]["requests"] == 3000, doc["totals"]
    assert [part["totals"]["requests"] for part in parts] == [1000, 1000, 1000]
    for key in ("requests", "responses", "errors", "bytes_in", "bytes_out"):
        assert doc["totals"][key] == merged["totals"][key], (key, doc["totals"], merged["totals"])
    # percentiles, min and max come from the same histogram; the mean and stdev of a merge
    # come from its parts' documents, which write them to the µs
    for key, value in doc["latency_ms"].items():
        assert abs(value - merged["latency_ms"][key]) <= (0 if key[0] in "pm" and key != "mean"
                                                          else 0.002), \
            (key, doc["latency_ms"], merged["latency_ms"])
    assert doc["histograms"]["all"] == merged["histograms"]["all"]
    assert [(t["expr"], t["ok"]) for t in doc["thresholds"]] == \
        [(t["expr"], t["ok"]) for t in merged["thresholds"]] == \
        [("p99<10s", True), ("max<1us", False)], (doc["thresholds"], merged["thresholds"])
    assert doc["config"]["requests"] == 3000 and doc["config"]["connections"] == 6
    assert doc["generator"]["threads"] == 3, doc["generator"]
    assert doc["distributed"] == {"shards": 3, "complete": True, "lost": []}, doc["distributed"]
    assert "3 shards (surge run --coordinator), every one to its end" in "".join(c.out)


def test_how_requests_go_on_the_wire_travels_to_every_shard():
    """--h2 --streams and --pipeline are the test's, as -c and -n are: every shard speaks what
    the coordinator was given (surge serve counts the requests by protocol version), each
    shard's document and the coordinator's say so; a shard's own --io is its machine's."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        rc, doc, codes, paths, c, _ = run_distributed(
            d, srv.url("/health"), ["-n", "600", "-c", "4", "--h2", "--streams", "3"], n=2,
            shard_args=("--io", "epoll"))
        status, _, body = http("GET", srv.url("/metrics"))
        parts = [load(p) for p in paths]
        assert rc == 0 and codes == [0, 0], (rc, codes, c.stderr())
        assert status == 200
        assert metric_sum(body.decode(), "http_server_request_duration_seconds_count",
                          http_route="/health", network_protocol_version="2") == 600, body
        for part in parts:
            assert (part["config"]["protocol"], part["config"]["streams"]) == ("h2c", 3), \
                part["config"]
            assert part["generator"]["io"]["backend"] == "epoll", part["generator"]["io"]
        assert [p["totals"]["requests"] for p in parts] == [300, 300]
        assert doc["config"]["streams"] == 3 and doc["totals"]["requests"] == 600, doc["config"]

        rc, doc, codes, paths, c, _ = run_distributed(
            d, srv.url("/health"), ["-n", "800", "-c", "4", "--pipeline", "4"], n=2)
        parts = [load(p) for p in paths]
        assert rc == 0 and codes == [0, 0], (rc, codes, c.stderr())
        assert [p["config"]["pipeline"] for p in parts] == [4, 4], [p["config"] for p in parts]
        assert doc["config"]["pipeline"] == 4 and doc["totals"]["requests"] == 800, doc["config"]


def test_open_model_arrivals_are_one_process():
    """-R 300 -d 3s: the shards' arrivals added up by the coordinator are one process's, second
    by second (counted where the pacer counts them: due, in the second they were due in)."""
    with Serve(workers=2) as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        args = ["-R", "300", "-d", "3s", "-c", "20"]
        rc, doc, codes, _, c, _ = run_distributed(d, url, args)
        one_path = os.path.join(d, "one.json")
        p = surge("run", "-q", "-t", "1", *args, "--json", one_path, url)
        one = load(one_path)
    assert rc in OK_CODES, (rc, c.stderr())
    assert p.returncode in OK_CODES, p.stderr
    assert all(code in OK_CODES for code in codes), codes

    def per_second(document):
        """Arrivals by the second they were due in (a last sliver of a second, after the
        last arrival, has none and may or may not be a point of its own)."""
        out = {}
        # entry i is second i: a last second may end past i + 1 (a late end, under load)
        for second, point in enumerate(document["timeline"]):
            out[second] = out.get(second, 0) + point["due"]
        return {s: n for s, n in out.items() if n}

    for document in (doc, one):  # every arrival dispatched is accounted for
        t = document["totals"]
        assert t["requests"] + t["dropped"] + t["unfinished"] == sum(per_second(document).values())
    if doc["generator"]["saturated"] or one["generator"]["saturated"]:
        # a generator that says it could not keep its schedule (ASan at a load of 10 once)
        # dispatched fewer arrivals than were due: only its own accounting holds
        print("    note: a generator flagged saturated: a noisy machine", flush=True)
        return
    assert sum(per_second(one).values()) == 899, per_second(one)
    assert per_second(doc) == per_second(one), (per_second(doc), per_second(one))
    assert doc["config"]["rate"] == 300, doc["config"]


def test_shard_without_token_refused_and_logged():
    with Serve() as srv:
        port = free_port()
        c = coordinator(port, 1, "--join-timeout", "20s", "-n", "100", srv.url("/health"))
        try:
            c.wait_line("waiting for")
            bad = shard(port, token=None)
            assert bad.wait(30) == 2, bad.stderr()
            assert "refused this shard (401)" in bad.stderr(), bad.stderr()
            wrong = shard(port, token="not-the-token-0123456789")
            assert wrong.wait(30) == 2, wrong.stderr()
            assert "refused this shard (403)" in wrong.stderr(), wrong.stderr()
            c.wait_line("without the coordinator's token")
            good = shard(port)
            assert c.wait() in OK_CODES, c.stderr()
            assert good.wait() in OK_CODES, good.stderr()
        finally:
            c.kill()


def test_duplicate_extra_and_late_shards_refused():
    """Two shards that ask the same JOB_COMPLETION_INDEX: the second is a duplicate; the test's
    shards all in, one more is refused; and one that comes after the start is late."""
    with Serve() as srv:
        port = free_port()
        c = coordinator(port, 2, "-d", "4s", "-c", "2", srv.url("/health"))
        try:
            c.wait_line("waiting for")
            first = shard(port, index=1)
            first.wait_line("joined")
            dup = shard(port, index=1)
            assert dup.wait(30) == 2, dup.stderr()
            assert "shard 2/2 has joined already" in dup.stderr() and "duplicate" in \
                dup.stderr(), dup.stderr()
            other = shard(port)
            c.wait_line("2 shards joined")
            extra = shard(port)
            assert extra.wait(30) == 2, extra.stderr()
            assert "joins late and is refused" in extra.stderr(), extra.stderr()
            c.wait_line("refused a shard")
            assert c.wait() in OK_CODES, c.stderr()
            assert first.wait() in OK_CODES and other.wait() in OK_CODES
        finally:
            c.kill()


def test_killed_shard_is_lost_within_3s():
    """A shard killed mid-run: the coordinator says it is lost within 3 s of its last batch,
    goes on with the others, and the run is incomplete: exit 6, distributed.complete false,
    the shard and the second its part goes missing from named. Its processes run favoured (as
    root): the others must not fall silent for 3 s on a busy host."""
    with favoured(), Serve() as srv, tempfile.TemporaryDirectory() as d:
        port = free_port()
        out = os.path.join(d, "coordinator.json")
        c = coordinator(port, 3, "-d", "8s", "-R", "60", "-c", "6", "--json", out,
                        srv.url("/health"), lost_after="3s")
        try:
            c.wait_line("waiting for")
            shards = [shard(port) for _ in range(3)]
            victim = shards[1]
            victim.wait_line("surge run GET")
            # three seconds into the run by the start the coordinator set: the victim's
            # first seconds are with it whatever the host's pace (killed at the announce's
            # 5 s, a loaded host once had delivered none: lost from second 0)
            c.sleep_into_run(3)
            victim.p.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            lost_at, line = c.wait_line("lost: nothing heard")
            # the page's Shards tab says so too: the shard lost, from which second
            page = shards_event(port, lambda e: any(x["state"] == "lost" for x in e["shards"]))
            rc = c.wait()
            codes = [s.wait() for s in shards]
        finally:
            c.kill()
        doc = load(out)
    assert lost_at - killed <= 3.0 + 1.5, (lost_at - killed, line)  # 3 s + a busy host's tick
    assert rc == 6, (rc, c.stderr())
    assert "incomplete: 1 of 3 shards lost" in c.stderr(), c.stderr()
    assert codes[0] in OK_CODES and codes[2] in OK_CODES, codes
    dist = doc["distributed"]
    assert dist["shards"] == 3 and dist["complete"] is False, dist
    assert len(dist["lost"]) == 1 and 1 <= dist["lost"][0]["from_s"] <= 6, dist
    # the load it took with it: its part of -R 60 over 3 shards
    assert dist["lost"][0]["asked"] == 20, dist
    assert "(20 of the load asked)" in c.stderr(), c.stderr()
    assert dist["lost"][0]["shard"] in (1, 2, 3) and f"shard {dist['lost'][0]['shard']}/3" in line
    assert doc["totals"]["requests"] > 0
    assert page is not None, "no shards event with the lost shard"
    lost = [x for x in page["shards"] if x["state"] == "lost"]
    assert page["expected"] == 3 and len(page["shards"]) == 3, page
    assert len(lost) == 1 and lost[0]["index"] + 1 == dist["lost"][0]["shard"], page
    assert lost[0]["lost_from"] == dist["lost"][0]["from_s"], (page, dist)
    running = [x for x in page["shards"] if x["state"] != "lost"]
    assert all(x["users"] is not None and x["rps"] is not None for x in running), page


def test_abort_on_fail_stops_every_shard():
    """--abort-on-fail: the coordinator judges the whole each second and, at the first
    failure, tells every shard to stop in its next answer: the 30 s test ends in seconds, with
    the threshold's verdict (exit 1) and each shard's own file written."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        began = time.monotonic()
        rc, doc, codes, paths, c, shards = run_distributed(
            d, srv.url("/health"),
            ["-d", "30s", "-c", "3", "--threshold", "max<1us", "--abort-on-fail"])
        took = time.monotonic() - began
        parts = [load(p) for p in paths]
    assert rc == 1, (rc, c.stderr())
    assert "stopping every shard" in c.stderr(), c.stderr()
    assert took < 25, took
    assert doc["assessment"]["aborted"] is True, doc["assessment"]
    assert all("stops the test" in s.stderr() for s in shards), [s.stderr() for s in shards]
    assert sum(p["totals"]["requests"] for p in parts) == doc["totals"]["requests"], \
        ([p["totals"] for p in parts], doc["totals"])


def test_stop_on_the_page_stops_every_shard():
    """Stop on the coordinator's page (its control, as the page sends it, with the token):
    every shard is told in its next answer and ends; the 60 s test ends in seconds with one
    result that holds every shard's requests."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        port = free_port()
        out = os.path.join(d, "coordinator.json")
        c = coordinator(port, 3, "-d", "60s", "-c", "3", "--json", out, srv.url("/health"))
        c.wait_line("waiting for")
        paths = [os.path.join(d, f"shard{i}.json") for i in range(3)]
        shards = [shard(port, "--json", p) for p in paths]
        running = shards_event(port, lambda e: sum(  # each one sending and answered
            1 for x in e.get("shards", [])
            if x.get("state") == "running" and (x.get("rps") or 0) > 0) == 3, seconds=30)
        assert running, c.stderr()
        status, _, body = http("POST", f"http://127.0.0.1:{port}/api/control/stop", body=b"{}",
                               headers={"Content-Type": "application/json",
                                        "Authorization": f"Bearer {TOKEN}"})
        assert status == 200, (status, body[:300])
        rc = c.wait()
        codes = [s.wait() for s in shards]
        doc = load(out)
        parts = [load(p) for p in paths]
    assert rc in OK_CODES, (rc, c.stderr())
    assert "stopping every shard" in c.stderr(), c.stderr()
    assert all(code in OK_CODES for code in codes), (codes, [s.stderr() for s in shards])
    assert all("stops the test" in s.stderr() for s in shards), [s.stderr() for s in shards]
    assert doc["duration_s"] < 50, doc["duration_s"]  # stopped, not run to its 60 s
    assert sum(p["totals"]["requests"] for p in parts) == doc["totals"]["requests"], \
        ([p["totals"] for p in parts], doc["totals"])


def test_lost_coordinator_leaves_shards_their_results():
    """The coordinator killed mid-run: each shard gets no answer, stops after its 10 s grace,
    and writes its own result (interrupted, with what it measured)."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        port = free_port()
        c = coordinator(port, 2, "-d", "60s", "-c", "2", srv.url("/health"))
        try:
            c.wait_line("waiting for")
            paths = [os.path.join(d, f"s{i}.json") for i in range(2)]
            shards = [shard(port, "--json", p) for p in paths]
            c.wait_line("test starts at")
            time.sleep(5)
            c.p.send_signal(signal.SIGKILL)
            codes = [s.wait(45) for s in shards]
        finally:
            c.kill()
        parts = [load(p) for p in paths]
    for s, code, part in zip(shards, codes, parts):
        assert code in OK_CODES, (code, s.stderr())
        assert "coordinator lost" in s.stderr(), s.stderr()
        assert part["interrupted"] is True and part["totals"]["requests"] > 0, part["totals"]
        assert part["duration_s"] < 30, part["duration_s"]


def test_bad_options_are_usage_errors():
    url = "http://127.0.0.1:9/"
    cases = [
        (["--coordinator", "-n", "10", url], "--expect-shards"),
        (["--coordinator", "--expect-shards", "2", "--join", "http://127.0.0.1:9"],
         "one or the other"),
        (["--coordinator", "--expect-shards", "2", "-n", "10", "--ui", url], "--ui"),
        (["--coordinator", "--expect-shards", "2", "-n", "10", "--shard", "1/2", url], "--shard"),
        (["--coordinator", "--expect-shards", "3", "-n", "2", url], "-n 2 over 3 shards"),
        (["--expect-shards", "0", url], "--expect-shards"),
        (["--join", "http://127.0.0.1:9", url], "--join"),
        (["--join", "http://127.0.0.1:9", "-n", "10"], "--requests is the coordinator's"),
        (["--join", "https://127.0.0.1:9"], "http://"),
        (["--token", "short", "--join", "http://127.0.0.1:9"], "--token"),
        (["--lost-after", "1s", "--coordinator", "--expect-shards", "2", url], "at least 2s"),
    ]
    for args, needle in cases:
        p = surge("run", *args, check_rc=2)
        assert needle in p.stderr and len(p.stderr.strip().splitlines()) <= 2, (args, p.stderr)
    assert "--coordinator" in surge("help", "run", check_rc=0).stdout
    assert "6  " in surge("help", "exit-codes", check_rc=0).stdout


SCENARIO = """
options = { users = 3, requests = 300, thresholds = { "p95<2s" } }
-- a data file below the scenario's folder: it travels with it
local rows = surge.csv("data/rows.csv")
tasks = {
    one = task(1, function(u)
        local row = rows:next()
        local r = u:get(row.path, { name = "/as/" .. row.name })
        u:check(r.status == 200, "status 200")
    end),
}
"""


def test_a_scenario_travels_with_its_data_files():
    """A scenario and the CSV file its top level reads go to every shard: -n 300 (the file's
    options.requests) split exactly, the endpoints named from the CSV's rows, one verdict;
    each shard unpacks them into a private folder of its own and leaves nothing behind."""
    with favoured(), Serve(workers=2) as srv, tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "scen", "data"))
        path = os.path.join(d, "scen", "flow.lua")
        with open(path, "w") as f:
            f.write(SCENARIO)
        with open(os.path.join(d, "scen", "data", "rows.csv"), "w") as f:
            f.write("name,path\nada,/health\nbob,/api/cpu?ms=0.1\ncy,/health\n")
        tmp = os.path.join(d, "shard-tmp")
        os.makedirs(tmp)
        port = free_port()
        out = os.path.join(d, "coordinator.json")
        c = coordinator(port, 3, "--host", srv.url(""), "--json", out, path)
        c.wait_line("waiting for")
        env = {**os.environ, "TMPDIR": tmp}
        env.pop("JOB_COMPLETION_INDEX", None)
        shards = [Proc(["run", "--join", f"http://127.0.0.1:{port}", "--token", TOKEN, "-t",
                        "1", "--json", os.path.join(d, f"s{i}.json")], env=env)
                  for i in range(3)]
        rc = c.wait()
        codes = [s.wait() for s in shards]
        doc = load(out)
        parts = [load(os.path.join(d, f"s{i}.json")) for i in range(3)]
        left = os.listdir(tmp)
    assert rc in OK_CODES and all(code in OK_CODES for code in codes), \
        (rc, codes, c.stderr(), [s.stderr() for s in shards])
    assert doc["totals"]["requests"] == 300, doc["totals"]
    assert [p["totals"]["requests"] for p in parts] == [100, 100, 100], \
        [p["totals"] for p in parts]
    names = sorted(e["name"] for e in doc["endpoints"])
    assert names == ["/as/ada", "/as/bob", "/as/cy"], names
    assert doc["distributed"]["complete"] is True, doc["distributed"]
    assert [t["ok"] for t in doc["thresholds"]] == [True], doc["thresholds"]
    assert left == [], f"a shard left {left} in its TMPDIR"


def test_a_data_file_outside_the_scenarios_folder_is_refused():
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "scen"))
        with open(os.path.join(d, "rows.csv"), "w") as f:
            f.write("name,path\nada,/health\n")
        path = os.path.join(d, "scen", "flow.lua")
        with open(path, "w") as f:
            f.write(SCENARIO.replace("data/rows.csv", "../rows.csv"))
        p = surge("run", "--coordinator", f"127.0.0.1:{free_port()}", "--expect-shards", "2",
                  "--token", TOKEN, "--host", "http://127.0.0.1:9", path)
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "rows.csv is outside the scenario's folder" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_requests_exact_equal_to_merge_with_one_verdict,
          test_how_requests_go_on_the_wire_travels_to_every_shard,
          test_open_model_arrivals_are_one_process, test_shard_without_token_refused_and_logged,
          test_duplicate_extra_and_late_shards_refused, test_killed_shard_is_lost_within_3s,
          test_abort_on_fail_stops_every_shard, test_stop_on_the_page_stops_every_shard,
          test_lost_coordinator_leaves_shards_their_results,
          test_bad_options_are_usage_errors, test_a_scenario_travels_with_its_data_files,
          test_a_data_file_outside_the_scenarios_folder_is_refused])
