"""The result document of `surge run` is the sum of the engine's per-second stream: its
timeline's seconds add up to its totals exactly — counts, and the per-second latency
histograms bucket by bucket to `histograms.all` — for a closed run, an open run, and a scenario
with several endpoints and checks, on 2 and 4 threads, against a real `surge serve`."""


from harness import Serve, decode_histogram, main, run_json
from test_scenario import scenario


def add_counts(into, counts):
    if len(into) < len(counts):
        into.extend([0] * (len(counts) - len(into)))
    for i, c in enumerate(counts):
        into[i] += c


def trimmed(counts):
    end = len(counts)
    while end and counts[end - 1] == 0:
        end -= 1
    return counts[:end]


def check_sum(doc):
    """The timeline's seconds against the totals; returns the number of seconds."""
    totals, timeline = doc["totals"], doc["timeline"]
    assert timeline, "no timeline"
    for key in ("requests", "errors", "late", "dropped", "bytes_in"):
        got = sum(p[key] for p in timeline)
        want = totals[key] if key != "requests" else totals["responses"] \
            if "responses" in totals else totals["requests"]
        if key == "requests":
            # the timeline counts responses; the totals' requests add transport failures
            failed = sum(totals.get("errors_by_kind", {}).values())
            want = totals["requests"] - failed
        assert got == want, f"timeline {key} {got} != totals {want}"
    buckets = []
    for p in timeline:
        if "hist" in p:
            h = decode_histogram(p["hist"])
            assert h["total"] == p["requests"], (p, h["total"])
            add_counts(buckets, h["counts"])
        else:
            assert p["requests"] == 0, p
    whole = decode_histogram(doc["histograms"]["all"])
    assert trimmed(buckets) == trimmed(whole["counts"]), "per-second histograms != the run's"
    # entry i is second i, ending at i + 1 but the last, which ends anywhere past i: short,
    # or late when the run's end came late on a busy host
    ends = [round(p["t"], 6) for p in timeline]
    assert ends[:-1] == list(range(1, len(ends))) and ends[-1] > len(ends) - 1, ends
    return len(timeline)


def test_closed_run_on_two_threads_sums_to_its_totals():
    with Serve() as srv:
        _, doc = run_json("-q", "-t", "2", "-c", "4", "-d", "2.5s", srv.url("/api/bytes?size=100"),
                          timeout=60)
    assert doc["totals"]["requests"] > 0
    assert check_sum(doc) >= 2


def test_open_run_on_four_threads_sums_to_its_totals():
    with Serve() as srv:
        _, doc = run_json("-q", "-t", "4", "-c", "8", "-R", "200", "-d", "2.5s",
                          srv.url("/api/bytes?size=100"), timeout=60)
    assert doc["totals"]["requests"] > 0
    assert check_sum(doc) >= 2
    due = sum(p.get("due", 0) for p in doc["timeline"])
    assert due == doc["totals"]["requests"] + doc["totals"]["dropped"] or due > 0, due


def test_scenario_with_endpoints_and_checks_sums_to_its_totals():
    path = scenario("""
        options = { users = 4, duration = "2.5s" }
        flow = {
          function(u)
            local r = u:get("/api/bytes?size=10", { name = "small" })
            u:check(r.status == 200, "small 200")
          end,
          function(u)
            local r = u:get("/api/bytes?size=1000", { name = "large" })
            u:check(r.status == 200, "large 200")
            u:check(r.status == 404, "never 404")
          end,
        }
    """)
    with Serve() as srv:
        _, doc = run_json("-q", "-t", "2", "--host", srv.url(""), path, timeout=60,
                          check_rc=None)
    check_sum(doc)
    names = {e["name"]: e for e in doc["endpoints"]}
    assert set(names) == {"small", "large"}, list(names)
    assert sum(e["requests"] for e in doc["endpoints"]) == doc["totals"]["requests"]
    assert sum(e["errors"] for e in doc["endpoints"]) == doc["totals"]["errors"]
    checks = {c["name"]: (c["passes"], c["fails"]) for c in doc["checks"]}
    # a response that ends with the run is counted, its flow's checks may not run (4 users)
    assert 0 <= names["large"]["requests"] - checks["never 404"][1] <= 4, (checks, names)
    assert 0 <= names["small"]["requests"] - checks["small 200"][0] <= 4, (checks, names)
    assert names["large"]["errors"] == checks["never 404"][1], (checks, names)
    # every endpoint's histogram holds its requests, and they make up the run's
    buckets = []
    for name in ("small", "large"):
        h = decode_histogram(doc["histograms"]["GET " + name])
        assert h["total"] == names[name]["requests"], (name, h["total"])
        add_counts(buckets, h["counts"])
    assert trimmed(buckets) == trimmed(decode_histogram(doc["histograms"]["all"])["counts"])


if __name__ == "__main__":
    main([test_closed_run_on_two_threads_sums_to_its_totals,
          test_open_run_on_four_threads_sums_to_its_totals,
          test_scenario_with_endpoints_and_checks_sums_to_its_totals])
