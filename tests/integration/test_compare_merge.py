"""`surge merge` and `surge compare` on real runs against `surge serve`: three concurrent
shards merge into exactly the sum of their counts, with the p99 of the union of their
histograms (decoded here, independently of surge's C decoder); a threshold the whole fails
fails the merge; a run compared with itself passes and a slow run compared with a fast one
is a regression."""

import base64
import json
import math
import os
import subprocess
import tempfile
import zlib

from harness import SURGE, Serve, main, refused_url, surge


def decode_counts(text):
    """HdrHistogram V2 compressed (base64): {bucket index: count}. Cookie, length, zlib
    payload whose 40-byte header precedes ZigZag LEB128 counts (negative = a run of zeros)."""
    raw = base64.b64decode(text)
    assert int.from_bytes(raw[0:4], "big") == 0x1C849314
    length = int.from_bytes(raw[4:8], "big")
    payload = zlib.decompress(raw[8:8 + length])
    assert int.from_bytes(payload[0:4], "big") == 0x1C849313
    assert int.from_bytes(payload[16:24], "big") == 1  # lowest: 1 µs, our layout
    end = 40 + int.from_bytes(payload[4:8], "big")
    counts, pos, index = {}, 40, 0
    while pos < end:
        shift = value = 0
        while True:
            b = payload[pos]
            pos += 1
            if shift == 56:  # the ninth byte carries 8 bits
                value |= b << 56
                break
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        value = (value >> 1) ^ -(value & 1)
        if value < 0:
            index += -value
        else:
            if value:
                counts[index] = counts.get(index, 0) + value
            index += 1
    return counts


def highest_equivalent(index):
    """The top of bucket index in the (1 µs, 3 digits) layout: 1024 sub-buckets per half."""
    bucket = (index >> 10) - 1
    sub = (index & 1023) + 1024
    if bucket < 0:
        sub -= 1024
        bucket = 0
    return (sub << bucket) + (1 << bucket) - 1


def percentile_us(counts, p, exact_max_us):
    """HdrHistogram's value at percentile p, capped at the exact max as surge reports it."""
    total = sum(counts.values())
    rank = max(1, math.ceil(math.nextafter(p, 0) / 100 * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return min(highest_equivalent(index), exact_max_us)
    raise AssertionError("counts sum below the rank")


def union(*texts):
    out = {}
    for t in texts:
        for i, c in decode_counts(t).items():
            out[i] = out.get(i, 0) + c
    return out


def run_shards(d, urls, extra=()):
    """Starts one `surge run` per URL at once (the shards of one run); returns their
    documents and exit codes. Callers give a rate (-R): a closed loop against a local server
    would drive the generator to a full core. On a busy host a shard's pacer may still be
    late for whole seconds, and its self-check rightly says so (exit 4, with
    generator.saturated): that is no failure of what these tests check (merge and compare
    of the documents), so it is accepted when the document says it."""
    procs, paths = [], []
    for i, url in enumerate(urls):
        path = os.path.join(d, f"shard{i}.json")
        paths.append(path)
        procs.append(subprocess.Popen([SURGE, "run", "-q", "-t", "1", "-d", "2s", *extra,
                                       "--json", path, url],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    codes, errs = [], []
    for p in procs:
        _, err = p.communicate(timeout=60)
        codes.append(p.returncode)
        errs.append(err)
    docs = []
    for path, code, err in zip(paths, codes, errs):
        with open(path) as f:
            docs.append(json.load(f))
        saturated = docs[-1]["generator"]["saturated"]
        assert code in (0, 1) or (code == 4 and saturated), f"shard exited {code}: {err}"
        if code == 4:
            print(f"    note: a shard's generator was late on this busy host: "
                  f"{docs[-1]['generator']['saturation']}", flush=True)
    return paths, docs, codes


def load(path):
    with open(path) as f:
        return json.load(f)


def test_merge_of_concurrent_shards_is_exact():
    with Serve(workers=2) as srv, tempfile.TemporaryDirectory() as d:
        paths, shards, codes = run_shards(d, [srv.url("/health")] * 3, ["-R", "300", "-c", "4"])
        out = os.path.join(d, "all.json")
        rc = 4 if 4 in codes else 0  # the whole is saturated when a shard was
        p = surge("merge", *paths, "-o", out, check_rc=rc)
        merged = load(out)
        # the same shards in another order: the same figures
        out2 = os.path.join(d, "all2.json")
        surge("merge", paths[2], paths[0], paths[1], "--json", out2, "-q", check_rc=rc)
        merged2 = load(out2)

    assert "surge merge: 3 shards" in p.stdout, p.stdout
    t = merged["totals"]
    for key in ("requests", "responses", "errors", "bytes_in", "bytes_out"):
        assert t[key] == sum(s["totals"][key] for s in shards), (key, t, [s["totals"] for s in shards])
    assert t["requests"] > 300, t
    codes = {}
    for s in shards:
        for code, n in s["status_codes"].items():
            codes[code] = codes.get(code, 0) + n
    assert merged["status_codes"] == codes, (merged["status_codes"], codes)
    assert [e["requests"] for e in merged["endpoints"]] == [t["requests"]], merged["endpoints"]
    assert sum(pt["requests"] for pt in merged["timeline"]) == t["requests"]
    assert merged["shards"] == 3 and merged["merged_from"] == paths
    assert merged["generator"]["threads"] == 3

    # the span: earliest start to latest end; rps over it
    assert 1.9 <= merged["duration_s"] <= 3.5, merged["duration_s"]
    assert abs(t["rps"] - t["requests"] / merged["duration_s"]) <= 0.01 * t["rps"]

    # histograms: the union, bucket by bucket; percentiles read from it
    u = union(*(s["histograms"]["all"] for s in shards))
    assert decode_counts(merged["histograms"]["all"]) == u
    assert sum(u.values()) == t["responses"]
    exact_max = round(max(s["latency_ms"]["max"] for s in shards) * 1000)
    lat = merged["latency_ms"]
    assert lat["max"] == max(s["latency_ms"]["max"] for s in shards)
    assert lat["min"] == min(s["latency_ms"]["min"] for s in shards)
    for key, pct in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        want = percentile_us(u, pct, exact_max) / 1000
        assert abs(lat[key] - want) < 1e-9, (key, lat[key], want)
    mean = sum(s["latency_ms"]["mean"] * s["totals"]["responses"] for s in shards) / t["responses"]
    assert abs(lat["mean"] - mean) < 0.002, (lat["mean"], mean)
    # per endpoint and per second too, when the shards wrote them
    key = "GET /health"
    if all(key in s["histograms"] for s in shards):
        assert decode_counts(merged["histograms"][key]) == union(
            *(s["histograms"][key] for s in shards))

    for k in ("totals", "latency_ms", "histograms", "timeline", "status_codes", "thresholds"):
        assert merged[k] == merged2[k], k


def test_merged_run_fails_a_threshold_every_shard_held():
    """rps<150: each shard runs at 100/s and holds it; the whole runs at 300/s."""
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        paths, shards, codes = run_shards(d, [srv.url("/health")] * 3,
                                          ["-R", "100", "-c", "4", "--threshold", "rps<150",
                                           "--threshold", "p99<10s"])
        out = os.path.join(d, "all.json")
        p = surge("merge", *paths, "-o", out, check_rc=1)
        merged = load(out)
    assert all(c in (0, 4) for c in codes), codes  # no shard failed a threshold (exit 1)
    assert all(s["thresholds"][0]["ok"] for s in shards)
    th = {x["expr"]: x for x in merged["thresholds"]}
    assert not th["rps<150"]["ok"] and th["rps<150"]["value"] > 200, th
    assert th["p99<10s"]["ok"], th  # (10 s: a very busy host made /health's p99 over 1 s)
    assert merged["assessment"]["verdict"] == "FAIL", merged["assessment"]
    assert "FAILED" in p.stdout, p.stdout


def test_compare_a_run_with_itself_passes():
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        paths, _, _ = run_shards(d, [srv.url("/health")], ["-R", "200", "-c", "2"])
        md = os.path.join(d, "cmp.md")
        p = surge("compare", paths[0], paths[0], "--markdown", md, check_rc=0)
        with open(md) as f:
            text = f.read()
    assert "ok: no regression" in p.stdout and "REGRESSION" not in p.stdout, p.stdout
    assert "GET /health" in p.stdout and "p95" in p.stdout
    assert "no regression" in text and "| all | rps |" in text, text


def test_compare_slow_against_fast_is_a_regression():
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        fast, _, _ = run_shards(d, [srv.url("/health")], ["-R", "200", "-c", "2"])
        os.rename(fast[0], os.path.join(d, "fast.json"))
        # 500 ms a request: slower than a busy host can make /health look
        slow, _, _ = run_shards(d, [srv.url("/api/slow?delay=0.5")], ["-R", "20", "-c", "16"])
        base = os.path.join(d, "fast.json")
        html, js = os.path.join(d, "cmp.html"), os.path.join(d, "cmp.json")
        p = surge("compare", base, slow[0], "--html", html, "--json", js, check_rc=1)
        with open(html) as f:
            page = f.read()
        result = load(js)
        # a regression is within the tolerance when it is asked to be: 100000% is not
        surge("compare", "--tolerance", "1000000%", "-q", base, slow[0], check_rc=0)
    assert "REGRESSION" in p.stdout, p.stdout
    assert "added" in p.stdout and "removed" in p.stdout, p.stdout
    assert page.startswith("<!doctype html>") and "REGRESSION" in page and "<script" not in page
    assert result["verdict"] == "REGRESSION" and result["regressions"] >= 2, result
    rows = {r["metric"]: r for r in result["scopes"][0]["rows"]}
    assert rows["p95"]["verdict"] == "REGRESSION" and rows["p95"]["new"] >= 50, rows["p95"]


def test_bad_input_exits_2_naming_the_file():
    with tempfile.TemporaryDirectory() as d:
        a = os.path.join(d, "a.json")
        b = os.path.join(d, "b.json")
        missing = os.path.join(d, "missing.json")
        totals = {"requests": 0, "responses": 0, "errors": 0, "rps": 0}
        with open(a, "w") as f:
            json.dump({"tool": "surge", "config": {"url": "http://x/"}, "duration_s": 1,
                       "totals": totals, "latency_ms": {}}, f)
        with open(b, "w") as f:
            json.dump({"tool": "surge", "config": {"url": "http://y/"}, "duration_s": 1,
                       "totals": totals, "latency_ms": {}}, f)
        not_surge = os.path.join(d, "other.json")
        with open(not_surge, "w") as f:
            f.write('{"hello": 1}')
        broken = os.path.join(d, "broken.json")
        with open(broken, "w") as f:
            f.write('{"tool": "surge",\n "x": }')

        p = surge("merge", a, missing, "-o", os.path.join(d, "o.json"), check_rc=2)
        assert "missing.json" in p.stderr, p.stderr
        p = surge("merge", a, b, "-o", os.path.join(d, "o.json"), check_rc=2)
        assert "b.json" in p.stderr and "config.url" in p.stderr, p.stderr
        assert not os.path.exists(os.path.join(d, "o.json"))
        p = surge("compare", a, not_surge, check_rc=2)
        assert "other.json" in p.stderr and "not a surge result" in p.stderr, p.stderr
        p = surge("compare", broken, a, check_rc=2)
        assert "broken.json:2" in p.stderr, p.stderr
        p = surge("compare", a, check_rc=2)
        assert "BASE.json NEW.json" in p.stderr, p.stderr
        p = surge("compare", "--tolerance", "lots", a, a, check_rc=2)
        assert "--tolerance" in p.stderr, p.stderr
        surge("merge", check_rc=2)
        p = surge("help", "merge", check_rc=0)
        assert "-o, --output" in p.stdout and "--html" in p.stdout
        p = surge("compare", "--help", check_rc=0)
        assert "--min-delta" in p.stdout


def one_run(d, srv, name, path="/health"):
    """A short real run's document (a bounded count of requests: quick on a busy host). The
    tests below are about reading documents, so a generator the self-check flagged (exit 4)
    still wrote one."""
    out = os.path.join(d, name)
    p = surge("run", "-q", "-n", "200", "-c", "2", "-t", "1", "--json", out, srv.url(path),
              timeout=60)
    assert p.returncode in (0, 4), (p.returncode, p.stderr)
    return out


def write_variant(d, name, doc, change):
    doc = json.loads(json.dumps(doc))
    change(doc)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def test_malformed_documents_exit_2_naming_file_and_key():
    """A mistyped or out-of-range value is never read as zero: report, compare and merge all
    refuse it with the file and the key (issue 14 §5.13)."""
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        good = one_run(d, srv, "good.json")
        doc = load(good)
        many = write_variant(d, "many.json", doc,
                             lambda x: x["totals"].__setitem__("requests", "many"))
        no_totals = write_variant(d, "nototals.json", doc, lambda x: x.pop("totals"))
        neg_p95 = write_variant(d, "negp95.json", doc,
                                lambda x: x["latency_ms"].__setitem__("p95", -5))
        neg_dur = write_variant(d, "negdur.json", doc, lambda x: x.__setitem__("duration_s", -3))
        ep_p99 = write_variant(d, "ep.json", doc,
                               lambda x: x["endpoints"][0]["latency_ms"].__setitem__("p99", "1"))
        out = os.path.join(d, "out.json")

        want = f'{many}: totals.requests: expected a non-negative integer, got "many"'
        for args in (("report", many), ("compare", good, many), ("compare", many, good),
                     ("merge", good, many, "-o", out)):
            p = surge(*args, check_rc=2)
            assert want in p.stderr and "PASS" not in p.stdout, (args, p.stdout, p.stderr)
        assert not os.path.exists(out)

        p = surge("compare", good, no_totals, check_rc=2)
        assert f"{no_totals}: totals: missing (surge compare needs it)" in p.stderr, p.stderr
        p = surge("merge", good, no_totals, "-o", out, check_rc=2)
        assert f"{no_totals}: totals: missing (surge merge needs it)" in p.stderr, p.stderr
        assert not os.path.exists(out)

        for path, key in ((neg_p95, "latency_ms.p95"), (neg_dur, "duration_s"),
                          (ep_p99, "endpoints[0].latency_ms.p99")):
            for args in (("report", path), ("compare", good, path), ("merge", good, path)):
                p = surge(*args, check_rc=2)
                assert f"{path}: {key}: expected a non-negative number" in p.stderr, \
                    (args, p.stderr)

        # the good document itself reads, and merged alone it is itself
        surge("report", good, check_rc=0)
        surge("merge", good, "-o", out, "-q", check_rc=0)


def test_report_says_byte_order_mark_and_not_a_text_file():
    with tempfile.TemporaryDirectory() as d:
        bom = os.path.join(d, "bom.json")
        with open(bom, "wb") as f:
            f.write(b'\xef\xbb\xbf{"tool": "surge"}')
        binary = os.path.join(d, "bin.json")
        with open(binary, "wb") as f:
            f.write(bytes(range(256)))
        empty = os.path.join(d, "empty.json")
        open(empty, "w").close()
        p = surge("report", bom, check_rc=2)
        assert f"{bom}: starts with a UTF-8 byte-order mark" in p.stderr, p.stderr
        p = surge("report", binary, check_rc=2)
        assert f"{binary}: not a text file" in p.stderr, p.stderr
        assert "end of file" not in p.stderr, p.stderr
        p = surge("compare", empty, empty, check_rc=2)
        assert f"{empty}: empty" in p.stderr, p.stderr


def test_merge_refuses_the_same_shard_twice():
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        good = one_run(d, srv, "good.json")
        copy = os.path.join(d, "copy.json")
        with open(good, "rb") as src, open(copy, "wb") as dst:
            dst.write(src.read())
        other = one_run(d, srv, "other.json")
        out = os.path.join(d, "out.json")
        p = surge("merge", good, copy, "-o", out, check_rc=2)
        assert f"{good} and {copy} are the same shard" in p.stderr, p.stderr
        assert not os.path.exists(out)
        # re-serialised (key order, spacing) it is still the same shard
        with open(copy, "w") as f:
            json.dump(load(good), f, indent=1, sort_keys=True)
        p = surge("merge", other, good, copy, "-o", out, check_rc=2)
        assert f"{good} and {copy} are the same shard" in p.stderr, p.stderr
        # two different shards of the same URL merge
        surge("merge", good, other, "-o", out, "-q", check_rc=0)
        assert load(out)["totals"]["requests"] == 400
        # the merged document given again with its shards (a glob that catches the output)
        p = surge("merge", good, other, out, "-o", os.path.join(d, "again.json"), check_rc=2)
        assert f"{out} was merged from {good}, which is given too" in p.stderr, p.stderr
        # an output over a shard would replace it: refused, the shard untouched
        before = load(good)
        p = surge("merge", good, other, "-o", os.path.join(d, ".", "good.json"), check_rc=2)
        assert "is the shard" in p.stderr and good in p.stderr, p.stderr
        assert load(good) == before


def test_compare_percentages_and_different_targets():
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        a = one_run(d, srv, "a.json")
        b = one_run(d, srv, "b.json", "/api/slow?delay=0.001")
        # a share of requests cannot pass 100 %; a relative tolerance can
        p = surge("compare", "--min-error-delta", "200%", a, a, check_rc=2)
        assert "--min-error-delta" in p.stderr and "more than 100%" in p.stderr, p.stderr
        surge("compare", "--min-error-delta", "100%", "-q", a, a, check_rc=0)
        surge("compare", "--tolerance", "250%", "-q", a, a, check_rc=0)
        p = surge("compare", "--tolerance", "-5%", a, a, check_rc=2)
        assert "not a percentage" in p.stderr, p.stderr
        # the same target: no warning; another URL: a warning on stderr, the table still
        p = surge("compare", a, a, check_rc=0)
        assert "warning" not in p.stderr, p.stderr
        p = surge("compare", "--tolerance", "1000000%", a, b, check_rc=0)
        assert "warning: the runs measured different things (config.url" in p.stderr, p.stderr
        assert "/api/slow" in p.stderr and "ok: no regression" in p.stdout, (p.stdout, p.stderr)


def test_compare_reads_latency_from_the_histograms():
    """compare reads each document into the typed result, so its percentiles are the
    histograms' (what `surge report` renders of that document): a hand-edited latency_ms
    whose p95 and p99 disagree with histograms is not what is compared. A document without
    histograms has only its latency_ms, compared as written."""
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        good = one_run(d, srv, "good.json")
        doc = load(good)

        def slower(x):
            for lat in [x["latency_ms"]] + [e["latency_ms"] for e in x["endpoints"]]:
                lat["p95"] = lat["p95"] * 100 + 100
                lat["p99"] = lat["p99"] * 100 + 100

        edited = write_variant(d, "edited.json", doc, slower)
        js = os.path.join(d, "cmp.json")
        surge("compare", good, edited, "--json", js, check_rc=0)
        scopes = load(js)["scopes"]
        # the decoded histogram's p99, by the test's own decoder
        max_us = round(doc["latency_ms"]["max"] * 1000)
        want = percentile_us(decode_counts(doc["histograms"]["all"]), 99, max_us) / 1000
        rows = {r["metric"]: r for r in scopes[0]["rows"]}
        assert rows["p99"]["new"] == rows["p99"]["base"] == want, (rows["p99"], want)
        assert all(s["regressions"] == 0 for s in scopes), scopes

        bare = write_variant(d, "bare.json", doc, lambda x: (slower(x), x.pop("histograms")))
        p = surge("compare", good, bare, "--json", js, check_rc=1)
        assert "REGRESSION" in p.stdout, p.stdout
        rows = {r["metric"]: r for r in load(js)["scopes"][0]["rows"]}
        assert abs(rows["p99"]["new"] - (doc["latency_ms"]["p99"] * 100 + 100)) < 1e-6, rows


def test_outputs_never_replace_the_inputs():
    """An output named like an input (another spelling, or a link) would replace the result
    it was made from: refused before anything is written."""
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        a = one_run(d, srv, "a.json")
        b = one_run(d, srv, "b.json")
        link = os.path.join(d, "link.json")
        os.symlink(a, link)
        before = load(a)
        p = surge("report", a, "--html", os.path.join(d, ".", "a.json"), check_rc=2)
        assert "is the result file" in p.stderr, p.stderr
        p = surge("report", a, "--markdown", link, check_rc=2)
        assert "is the result file" in p.stderr, p.stderr
        p = surge("compare", a, b, "--json", b, check_rc=2)
        assert "--json" in p.stderr and "is one of the compared files" in p.stderr, p.stderr
        p = surge("compare", a, b, "--markdown", link, check_rc=2)
        assert "is one of the compared files" in p.stderr, p.stderr
        p = surge("merge", a, b, "-o", link, check_rc=2)
        assert "is the shard" in p.stderr, p.stderr
        assert load(a) == before
        # and an output that cannot be written is said before the work, naming the option
        p = surge("compare", a, b, "--html", os.path.join(d, "no", "such", "x.html"),
                  check_rc=2)
        assert "--html" in p.stderr and "cannot write" in p.stderr, p.stderr


def test_merge_exit_code_is_the_whole_runs():
    """Shards of a run whose target refused every connection merge into a whole that `surge
    run` would have ended with exit 3, and merge says why."""
    with tempfile.TemporaryDirectory() as d:
        paths, url = [], refused_url()
        for i in range(2):
            path = os.path.join(d, f"dead{i}.json")
            surge("run", "-q", "-d", "1s", "-c", "1", "--json", path, url,
                  check_rc=3, timeout=30)
            paths.append(path)
        p = surge("merge", *paths, "-o", os.path.join(d, "all.json"), "-q", check_rc=3)
        assert "the whole run: not one valid response" in p.stderr, p.stderr
        assert "connect_refused" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_merge_of_concurrent_shards_is_exact,
          test_merged_run_fails_a_threshold_every_shard_held,
          test_compare_a_run_with_itself_passes,
          test_compare_slow_against_fast_is_a_regression,
          test_bad_input_exits_2_naming_the_file,
          test_malformed_documents_exit_2_naming_file_and_key,
          test_report_says_byte_order_mark_and_not_a_text_file,
          test_merge_refuses_the_same_shard_twice,
          test_compare_percentages_and_different_targets,
          test_compare_reads_latency_from_the_histograms,
          test_outputs_never_replace_the_inputs,
          test_merge_exit_code_is_the_whole_runs])
