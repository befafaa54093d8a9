"""`surge capacity`'s options that would make the search endless or its answer meaningless
are refused before any step runs (exit 2 naming the option); percentages read as in
`surge compare`. Each step's figures are its result's, whose whole document the JSON
carries. The search itself is tested against a server of known capacity in
test_shapes.py."""

import json
import os
import tempfile

from harness import Serve, main, surge

URL = "http://127.0.0.1:1/"  # never reached: every case below stops at the options


def test_endless_or_meaningless_searches_are_usage_errors():
    cases = [
        # --precision 0 bisected until the step limit: 40 steps of --step each
        (["--precision", "0"], "--precision", "0.1%"),
        (["--precision", "0.00001"], "--precision", "0.1%"),
        (["--precision", "150%"], "--precision", "more than 100%"),
        # --start above --max-rate ran the start rate and reported it as the capacity
        (["--start", "100", "--max-rate", "10"], "--start 100/s is above --max-rate 10/s", ""),
        (["--step", "2h"], "--step", "1s to 1h"),
        (["--step", "0"], "--step", "1s to 1h"),
        (["--max-error", "150%"], "--max-error", "more than 100%"),
        (["--max-error", "-1%"], "--max-error", "not a percentage"),
        (["--max-error", "lots"], "--max-error", "not a percentage"),
        (["--start", "0"], "--start", "above 0"),
    ]
    for args, needle, detail in cases:
        p = surge("capacity", "--slo", "p95<1s", *args, URL, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        assert needle in p.stderr and detail in p.stderr, (args, p.stderr)
        assert "step  1" not in p.stdout, (args, p.stdout)
    # the bounds themselves are accepted: --start equal to --max-rate is one step
    p = surge("capacity", "--slo", "p95<1s", "--precision", "0.1%", "--start", "10",
              "--max-rate", "10", "--step", "1s", "--max-error", "100%", URL, timeout=20)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)


def test_json_on_stdout_keeps_the_steps_off_it():
    """--json - writes the document to stdout; the human lines go to stderr."""
    p = surge("capacity", "--slo", "p95<1s", "--step", "1s", "--json", "-", URL, timeout=20)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    doc = json.loads(p.stdout)
    assert doc["capacity_rps"] == 0 and doc["stopped_by"] == "unreachable", doc
    assert doc["lowest_failed_rps"] is None and doc["exit_code"] == 3, doc
    assert "surge capacity http://127.0.0.1:1/" in p.stderr, p.stderr
    # why the step measured nothing, as `surge run` says it
    assert "the step at 50.0/s: not one valid response from the target" in p.stderr, p.stderr
    assert "connect_refused" in p.stderr, p.stderr


def test_each_step_carries_its_result_document():
    """A step is judged from its result, and its result document (as `surge run --json`
    writes it, without per-second histograms) is in the JSON: the step's figures are that
    document's, and `surge report` and `surge compare` read it like a run's."""
    with Serve(workers=1) as srv, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "capacity.json")
        p = surge("capacity", "--json", path, "--slo", "p95<2s", "--step", "1s", "--start",
                  "20", "--max-rate", "40", "-c", "2", "-t", "1", srv.url("/health"),
                  timeout=60)
        # a busy host may saturate the generator (exit 4): the steps run still hold
        assert p.returncode in (0, 4), (p.returncode, p.stdout, p.stderr)
        with open(path) as f:
            doc = json.load(f)
        steps = doc["steps"]
        assert steps and steps[0]["rate"] == 20, steps
        files = []
        for i, step in enumerate(steps):
            result = step["result"]
            assert result["tool"] == "surge" and result["config"]["rate"] == step["rate"], result
            assert result["totals"]["rps"] == step["achieved_rps"], (result["totals"], step)
            assert result["totals"]["error_rate"] == step["error_rate"], (result, step)
            slo = result["thresholds"][0]
            assert slo["expr"] == "p95<2s" and slo["ok"] in (True, False), slo
            assert abs(slo["value"] - step["slo_value"]) < 0.001, (slo, step)
            assert all("hist" not in point for point in result["timeline"]), result["timeline"]
            files.append(os.path.join(d, f"step{i}.json"))
            with open(files[-1], "w") as f:
                json.dump(result, f)
            surge("report", files[-1], "--markdown", os.path.join(d, f"step{i}.md"),
                  check_rc=0)
        p = surge("compare", files[0], files[-1], timeout=20)
        assert p.returncode in (0, 1) and "GET /health" in p.stdout, (p.returncode, p.stderr)


if __name__ == "__main__":
    main([test_endless_or_meaningless_searches_are_usage_errors,
          test_json_on_stdout_keeps_the_steps_off_it,
          test_each_step_carries_its_result_document])
