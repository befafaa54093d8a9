"""`surge serve` with several workers at once: counters written by every worker add up
exactly, and the busiest mixes of endpoints, connections and shutdown run without a data race.
Built with ThreadSanitizer (SURGE_BIN=build/tsan/surge), a race report in the server's output
fails the test that caused it; the tests hold for any build. No mocks; every wait has a bound."""

import atexit
import json
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

from harness import SURGE, Serve, main

WORKERS = 4


def scrape(srv):
    with urllib.request.urlopen(srv.url("/metrics"), timeout=30) as resp:
        return resp.read().decode()


def metric(text, name, **labels):
    """The sum of the samples of name whose labels include the given ones."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        key, _, value = line.rpartition(" ")
        base, _, rest = key.partition("{")
        if base != name or not all(f'{k}="{v}"' in rest for k, v in labels.items()):
            continue
        total += float(value)
    return total


class Checked(Serve):
    """A Serve that, once stopped, must have exited 0 without a ThreadSanitizer report."""

    def __exit__(self, *exc):
        try:
            rc = self.stop()
            with open(self.log_path, errors="replace") as f:
                log = f.read()
            if exc[0] is None:
                assert "ThreadSanitizer" not in log, "data race:\n" + log[log.index(
                    "WARNING: ThreadSanitizer"):][:6000]
                assert rc == 0, f"surge serve exited {rc}:\n{log[-3000:]}"
        finally:
            super().__exit__(*exc)


def srv_dir():
    """A data directory of the test's own, removed at exit."""
    d = tempfile.mkdtemp(prefix="surge-threads-")
    atexit.register(shutil.rmtree, d, True)
    return d


def load(url, requests, connections=32, threads=2):
    """`surge run` to completion; the generator is another process, as in real use."""
    p = subprocess.run([SURGE, "run", "-c", str(connections), "-t", str(threads), "-n",
                        str(requests), "--quiet", url],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode in (0, 4), (p.returncode, p.stdout[-2000:], p.stderr[-2000:])


def test_caps_hit_counts_every_worker_exactly():
    # three caps per request (size, delay, cpu), taken on every worker at once: a counter
    # shared by the workers without a locked add loses some of them
    n = 100000
    with Checked("--max-size", "1", "--max-delay", "0", "--max-cpu", "0", "--access-log", "off",
                 workers=WORKERS) as srv:
        load(srv.url("/api/status/200?size=2&delay=1ms&cpu_ms=1"), n)
        text = scrape(srv)
        served = metric(text, "http_requests_total", path="/api/status/{code}")
        assert served == n, (served, n)
        assert metric(text, "surge_caps_hit_total") == 3 * n, \
            (metric(text, "surge_caps_hit_total"), 3 * n)


def test_mixed_load_on_every_worker_is_race_free():
    # the first connections of every worker at the same moment, each asking for a filler body
    # (the buffer every worker's responses read), then a mixed load with bodies, caps and
    # pipelining, then a drain while connections are open
    with Checked("--access-log", "off", "--data-dir", srv_dir(), workers=WORKERS) as srv:
        barrier = threading.Barrier(16)
        errors = []

        def first_request():
            try:
                barrier.wait(timeout=30)
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                s.sendall(b"GET /api/bytes?size=100k HTTP/1.1\r\nHost: t\r\n"
                          b"Connection: close\r\n\r\n")
                data = b""
                while True:
                    chunk = s.recv(262144)
                    if not chunk:
                        break
                    data += chunk
                s.close()
                assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"x" * 1000), \
                    data[:200]
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=first_request) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert not errors, errors
        mixed = [(srv.url("/api/bytes?size=64k"), 3000), (srv.url("/api/cpu?ms=1&size=10k"), 3000),
                 (srv.url("/api/slow?delay=5ms"), 3000), (srv.url("/api/status/503?delay=1ms"), 3000),
                 (srv.url("/api/users?ids=1,2,3"), 1000),
                 (srv.url("/api/disk-read?size_mb=0.25"), 200),
                 (srv.url("/api/disk-write?size_mb=0.25"), 200)]
        runs = [threading.Thread(target=load, args=(u, n, 8, 1)) for u, n in mixed]
        for t in runs:
            t.start()
        # scrapes and readiness read what the workers write, meanwhile
        for _ in range(20):
            assert metric(scrape(srv), "surge_connections_accepted_total") > 0
            time.sleep(0.05)
        for t in runs:
            t.join(300)
        # a drain with keep-alive connections on every worker
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                for _ in range(8)]
        for s in idle:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.2)
    for s in idle:
        s.close()


def test_upload_and_database_from_every_worker():
    with Checked("--access-log", "off", workers=WORKERS) as srv:
        body = json.dumps({"title": "t", "description": "d"}).encode()

        def post_tasks():
            for _ in range(50):
                req = urllib.request.Request(srv.url("/api/tasks"), data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=30) as resp:
                    assert resp.status == 201, resp.status

        threads = [threading.Thread(target=post_tasks) for _ in range(4)]
        for t in threads:
            t.start()
        load(srv.url("/api/tasks?limit=5"), 2000, 8, 1)
        for t in threads:
            t.join(120)


if __name__ == "__main__":
    main([v for k, v in globals().items() if k.startswith("test_") and callable(v)])
