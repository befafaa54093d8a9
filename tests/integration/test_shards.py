"""`surge run --shard I/N --start-at TIME`: one test split over processes, dealt exactly.
Against a real `surge serve` on loopback: -n 300 as three shards is 100+100+100 and merges to
what one process sends; -R 300 for 3 s as three shards started at one wall-clock time sends
exactly the arrivals one process sends, second by second, each second split at most 1
apart; users (-c, closed --stages) dealt 4/3/3; a scenario's users numbered across shards;
bad values are exit 2 naming the option, merge refuses a shard twice or mixed splits, and one
run and its three shards merged are judged alike."""

import datetime
import json
import os
import subprocess
import tempfile

from harness import SURGE, Serve, main, surge

# a shard's pacer may be late for whole seconds on a busy host: its self-check says so (exit
# 4, generator.saturated) and that is no failure of the dealing these tests check
OK_CODES = (0, 4)


def load(path):
    with open(path) as f:
        return json.load(f)


def start_in(seconds):
    """An RFC 3339 wall-clock time `seconds` from now, to the second."""
    at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return at.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_all(d, runs, timeout=90):
    """Starts every `surge run` (name, args) at once; returns {name: document}."""
    procs = {}
    for name, args in runs:
        path = os.path.join(d, name + ".json")
        procs[name] = (path, subprocess.Popen([SURGE, "run", "-q", *args, "--json", path],
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                              text=True))
    docs = {}
    for name, (path, p) in procs.items():
        _, err = p.communicate(timeout=timeout)
        assert p.returncode in OK_CODES, f"{name} exited {p.returncode}: {err}"
        docs[name] = load(path)
        if p.returncode == 4:
            assert docs[name]["generator"]["saturated"], err
    return docs


def test_requests_split_exactly():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        one = run_all(d, [("one", ["-c", "4", "-t", "2", "-n", "300", url])])["one"]
        shards = run_all(d, [(f"s{i}", ["-c", "4", "-t", "2", "-n", "300", "--shard",
                                         f"{i}/3", url]) for i in (1, 2, 3)])
        paths = [os.path.join(d, f"s{i}.json") for i in (1, 2, 3)]
        out = os.path.join(d, "all.json")
        surge("merge", *paths, "--json", out, "-q", check_rc=0)
        merged = load(out)
    assert one["totals"]["requests"] == 300, one["totals"]
    assert [shards[f"s{i}"]["totals"]["requests"] for i in (1, 2, 3)] == [100, 100, 100], \
        [shards[f"s{i}"]["totals"] for i in (1, 2, 3)]
    assert [shards[f"s{i}"]["config"]["shard"] for i in (1, 2, 3)] == \
        [{"index": i, "count": 3} for i in (1, 2, 3)]
    # each shard's config holds its part: 4 connections as 2/1/1, -n 300 as 100 each
    assert [shards[f"s{i}"]["config"]["connections"] for i in (1, 2, 3)] == [2, 1, 1]
    assert [shards[f"s{i}"]["config"]["requests"] for i in (1, 2, 3)] == [100, 100, 100]
    assert merged["totals"]["requests"] == one["totals"]["requests"] == 300, merged["totals"]
    assert merged["config"]["requests"] == 300 and merged["config"]["connections"] == 4, \
        merged["config"]
    assert "shard" not in merged["config"], merged["config"]


def test_open_model_arrivals_dealt_exactly():
    """-R 300 -d 3s: the shards' arrivals, second by second, are one process's, split at most 1
    apart. Every process starts at the same --start-at, so their seconds are the same
    wall-clock seconds. The arrivals are counted where the pacer counts them (timeline due:
    sent, queued or dropped, in the second they were due in): a request still out when the
    run ends is abandoned, not a response, but it was an arrival all the same."""
    with Serve(workers=2) as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        at = start_in(6)  # every process has parsed its options by then, even on a busy host
        common = ["-R", "300", "-d", "3s", "-c", "20", "-t", "1", "--start-at", at, url]
        docs = run_all(d, [("one", common)] +
                       [(f"s{i}", ["--shard", f"{i}/3", *common]) for i in (1, 2, 3)])
    for name, doc in docs.items():
        assert doc["started_at"] == at.replace("Z", ".000Z"), (name, doc["started_at"], at)

    def per_second(doc):
        out = {}
        # entry i is second i: a last second may end past i + 1 (a late end, under load)
        for second, p in enumerate(doc["timeline"]):
            out[second] = out.get(second, 0) + p["due"]
        return out

    one = per_second(docs["one"])
    parts = [per_second(docs[f"s{i}"]) for i in (1, 2, 3)]
    # 300/s for 3 s: arrival k is due at k/300 s, and the 900th at 3.0 s is past the end
    assert sum(one.values()) == 899, one
    assert sum(sum(p.values()) for p in parts) == 899, parts
    assert [sum(p.values()) for p in parts] == [300, 300, 299], parts
    for second, n in one.items():
        split = [p.get(second, 0) for p in parts]
        assert sum(split) == n and max(split) - min(split) <= 1, (second, n, split)
    for name, doc in docs.items():
        t = doc["totals"]
        arrivals = sum(p["due"] for p in doc["timeline"])
        # every arrival ended as a response, a failure or a drop, unless still out at the end
        assert t["requests"] + t["dropped"] <= arrivals <= t["requests"] + t["dropped"] + 20, \
            (name, t, arrivals)
    assert sum(docs[f"s{i}"]["config"]["rate"] for i in (1, 2, 3)) == 300


def test_closed_model_users_dealt():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/api/cpu?ms=2")
        runs = [(f"c{i}", ["-c", "10", "-d", "2s", "-t", "2", "--shard", f"{i}/3", url])
                for i in (1, 2, 3)]
        runs += [(f"st{i}", ["--stages", "1s:10,1500ms:10", "-t", "2", "--shard", f"{i}/3",
                             url]) for i in (1, 2, 3)]
        docs = run_all(d, runs)
    assert [docs[f"c{i}"]["config"]["connections"] for i in (1, 2, 3)] == [4, 3, 3]
    assert [max(p["users"] for p in docs[f"c{i}"]["timeline"]) for i in (1, 2, 3)] == [4, 3, 3]
    # with --stages, the users asked at each moment are dealt: 10 at the end, as 4/3/3
    for i, want in zip((1, 2, 3), (4, 3, 3)):
        doc = docs[f"st{i}"]
        assert doc["config"]["connections"] == want, doc["config"]
        assert doc["timeline"][-1]["target"] == want, doc["timeline"]
        assert max(p["users"] for p in doc["timeline"]) == want, doc["timeline"]


SCENARIO = """
options = { users = 4, duration = "1s" }
wait = constant(0.05)
tasks = {
	function(u)
		surge.counter("user-" .. u.id):add(1)
		u:get("/health")
	end,
}
"""


def test_scenario_users_numbered_across_shards():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ids.lua")
        with open(path, "w") as f:
            f.write(SCENARIO)
        docs = run_all(d, [(f"u{i}", ["--host", srv.url(), "-t", "2", "--shard", f"{i}/2",
                                      path]) for i in (1, 2)])
    ids = [sorted(docs[f"u{i}"]["metrics"]["counters"]) for i in (1, 2)]
    assert ids == [["user-0", "user-2"], ["user-1", "user-3"]], ids


def test_start_at_is_the_run_start():
    """An absolute --start-at is started_at to the millisecond (.123 stays .123); a relative
    one (+2s) starts the first second that far after the command began."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        at = start_in(3).replace("Z", ".123Z")
        began = datetime.datetime.now(datetime.timezone.utc)
        docs = run_all(d, [("abs", ["-c", "1", "-n", "5", "--start-at", at, url]),
                           ("rel", ["-c", "1", "-n", "5", "--start-at", "+2s", url])])
    assert docs["abs"]["started_at"] == at, (docs["abs"]["started_at"], at)
    rel = datetime.datetime.fromisoformat(docs["rel"]["started_at"].replace("Z", "+00:00"))
    assert (rel - began).total_seconds() >= 1.9, (rel, began)
    assert docs["rel"]["totals"]["requests"] == 5


def test_bad_values_are_usage_errors():
    url = "http://127.0.0.1:9/"
    for value in ("0/3", "4/3", "1/0", "3", "a/b", "1/3x", "-1/3", "1/10001", ""):
        p = surge("run", "--shard", value, url, check_rc=2)
        assert "--shard" in p.stderr and len(p.stderr.splitlines()) <= 2, (value, p.stderr)
    for value in ("2020-01-01T00:00:00Z", "+25h", "tomorrow", "+", "+-5s",
                  "2026-13-01T00:00:00Z"):
        p = surge("run", "--start-at", value, url, check_rc=2)
        assert "--start-at" in p.stderr, (value, p.stderr)
    p = surge("run", "-c", "2", "--shard", "3/3", url, check_rc=2)
    assert "--shard 3/3" in p.stderr and "connections" in p.stderr, p.stderr
    p = surge("run", "-n", "2", "--shard", "3/3", "-c", "3", url, check_rc=2)
    assert "--shard 3/3" in p.stderr and "-n 2" in p.stderr, p.stderr
    assert "--shard I/N" in surge("help", "run", check_rc=0).stdout


def test_one_run_and_its_three_shards_merged_judge_alike():
    """The same work — -n 300 against /health — as one process and as three shards started at
    one wall-clock time, merged: the same request count, and every threshold the same verdict
    (each clearly holds or clearly fails, so the timing of a busy host cannot flip one):
    whole-run and endpoint ones, and one whose endpoint never ran."""
    holds = ["p99<10s", "error_rate<50%", "rps>1", "name:/health:p99<10s",
             "name:/health:error_rate<=0"]
    fails = ["p50<1us", "rps>100000000", "name:/health:error_rate>50%", "name:/nope:p95<1s"]
    args = [a for e in holds + fails for a in ("--threshold", e)]
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        at = start_in(5)
        common = ["-c", "3", "-t", "1", "-n", "300", *args, url]
        procs = {}
        for name, extra in [("one", [])] + [(f"s{i}", ["--shard", f"{i}/3", "--start-at", at])
                                            for i in (1, 2, 3)]:
            path = os.path.join(d, name + ".json")
            procs[name] = (path, subprocess.Popen([SURGE, "run", "-q", *extra, *common,
                                                   "--json", path],
                                                  stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, text=True))
        docs = {}
        for name, (path, p) in procs.items():
            _, err = p.communicate(timeout=90)
            assert p.returncode == 1, (name, p.returncode, err)  # the failing thresholds
            docs[name] = load(path)
        out = os.path.join(d, "all.json")
        surge("merge", *[procs[f"s{i}"][0] for i in (1, 2, 3)], "--json", out, "-q",
              check_rc=1)
        merged = load(out)
    one = docs["one"]
    assert [docs[f"s{i}"]["totals"]["requests"] for i in (1, 2, 3)] == [100, 100, 100]
    assert merged["totals"]["requests"] == one["totals"]["requests"] == 300, \
        (merged["totals"], one["totals"])
    verdicts = {name: {t["expr"]: t["ok"] for t in doc["thresholds"]}
                for name, doc in (("one", one), ("merged", merged))}
    assert verdicts["one"] == verdicts["merged"] == {**{e: True for e in holds},
                                                     **{e: False for e in fails}}, verdicts
    for doc in (one, merged):
        th = {t["expr"]: t for t in doc["thresholds"]}
        assert th["name:/nope:p95<1s"]["value"] is None, th  # never ran: nothing measured
        assert doc["assessment"]["thresholds"] == "FAIL", doc["assessment"]


def test_merge_refuses_a_shard_twice_or_mixed_splits():
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        run_all(d, [("a", ["-c", "2", "-n", "20", "--shard", "1/3", url]),
                    ("b", ["-c", "2", "-n", "20", "--shard", "1/3", url]),
                    ("c", ["-c", "2", "-n", "20", "--shard", "2/4", url]),
                    ("w", ["-c", "2", "-n", "20", url])])
        f = {n: os.path.join(d, n + ".json") for n in "abcw"}
        p = surge("merge", f["a"], f["b"], "-q", check_rc=2)
        assert "are both shard 1/3" in p.stderr, p.stderr
        p = surge("merge", f["a"], f["c"], "-q", check_rc=2)
        assert "shard 1/3" in p.stderr and "shard 2/4" in p.stderr, p.stderr
        p = surge("merge", f["a"], f["w"], "-q", check_rc=2)
        assert "a whole run" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_requests_split_exactly, test_open_model_arrivals_dealt_exactly,
          test_closed_model_users_dealt, test_scenario_users_numbered_across_shards,
          test_start_at_is_the_run_start, test_bad_values_are_usage_errors,
          test_one_run_and_its_three_shards_merged_judge_alike,
          test_merge_refuses_a_shard_twice_or_mixed_splits])
