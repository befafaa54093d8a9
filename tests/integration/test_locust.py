"""Locust (Debian python3-locust), an independent client, drives the seeds' user classes and
endpoint families against `surge serve` for 30 seconds (every endpoint below is reached many
times over): no failures but the asked-for ones."""

import csv
import os
import subprocess
import tempfile

from harness import Serve, main, need

HERE = os.path.dirname(os.path.abspath(__file__))


def test_locust_seed_classes_see_no_failures():
    locust = need("locust")
    with Serve("--sqlite", ":memory:", workers=2) as srv, \
            tempfile.TemporaryDirectory() as d:
        prefix = os.path.join(d, "run")
        p = subprocess.run([locust, "-f", os.path.join(HERE, "locustfile_seeds.py"),
                            "--headless", "-u", "20", "-r", "10", "-t", "30s",
                            "--host", srv.url("").rstrip("/"), "--csv", prefix,
                            "--only-summary", "--stop-timeout", "5"],
                           capture_output=True, text=True, timeout=150)
        with open(prefix + "_stats.csv") as f:
            stats = list(csv.DictReader(f))
        with open(prefix + "_failures.csv") as f:
            failures = list(csv.DictReader(f))
    total = next(r for r in stats if r["Name"] == "Aggregated")
    assert int(total["Request Count"]) > 150, total  # ~1,500 on a quiet host
    assert not failures, failures[:10]
    assert int(total["Failure Count"]) == 0, total
    assert p.returncode == 0, p.stderr[-2000:]
    names = {r["Name"] for r in stats}
    for endpoint in ["/api/users/{id}", "/api/tasks", "/api/cpu?ms=2", "/api/users/bulk",
                     "/api/call-downstream?timeout=5&endpoint=slow&delay=0.05"]:
        assert endpoint in names, (endpoint, sorted(names))


if __name__ == "__main__":
    main([test_locust_seed_classes_see_no_failures])
