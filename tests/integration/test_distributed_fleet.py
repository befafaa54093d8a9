"""A coordinator takes a fleet larger than its page's connection bound (docs/distributed.md):
every shard keeps its connection to the coordinator from its join to its last batch (it asks
every 250 ms, then sends once a second), so a coordinator that held 64 connections, as the
live UI's server does, let shard 65 on never join. Here 80 shards, each on its own kept
connection speaking the shards' wire (a join, then one second with one request and the final
figures) from threads of this process — cheap enough for the suite, where 80 `surge run
--join` processes would not be — and the coordinator must count every one of them."""

import json
import os
import resource
import socket
import subprocess
import tempfile
import threading
import time

import surge_wire
from harness import SURGE, free_port, main

TOKEN = "distributed-fleet-test-token-0123"
SHARDS = 80
VERSION = subprocess.run([SURGE, "--version"], capture_output=True, text=True).stdout.split()[-1]


class Shard:
    """One shard's kept connection: POSTs with the token, answers read whole."""

    def __init__(self, port, k):
        self.port, self.k = port, k
        self.id = os.urandom(16).hex()
        self.sock = None
        self.buf = b""

    def post(self, path, body):
        """body: a dict (JSON) or bytes (a binary batch)."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=20)
        binary = isinstance(body, bytes)
        b = body if binary else json.dumps(body).encode()
        kind = b"application/octet-stream" if binary else b"application/json"
        self.sock.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s"
                          b"\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n%s"
                          % (path.encode(), kind, TOKEN.encode(), len(b), b))
        while b"\r\n\r\n" not in self.buf:
            self.read()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        length = next(int(v) for n, _, v in (x.partition(":") for x in lines[1:])
                      if n.lower() == "content-length")
        while len(self.buf) < length:
            self.read()
        answer, self.buf = self.buf[:length], self.buf[length:]
        if b"connection: close" in head.lower():
            self.close()
        return int(lines[0].split()[1]), answer.decode()

    def read(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("the coordinator closed the connection")
        self.buf += data

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def run(self, deadline, outcome):
        """Joins (asking again every 250 ms until the start, as a shard does), then sends its
        one second and its final figures once the second is whole."""
        have_config = False  # the test is sent until the shard says it has it
        try:
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError("no start in time")
                try:
                    status, answer = self.post("/api/control/join",
                                               {"wire": surge_wire.WIRE, "version": VERSION,
                                                "id": self.id,
                                                "name": f"fleet:{self.k}",
                                                "have_config": have_config})
                except OSError:  # not listening yet, or the connection refused: again
                    self.close()
                    status, answer = 503, ""
                if status == 503:  # as a shard does, it asks again
                    self.close()
                    time.sleep(0.25)
                    continue
                if status != 200:
                    raise RuntimeError(f"join: {status} {answer}")
                answer = json.loads(answer)
                have_config |= "config" in answer
                start = answer["start_ns"]
                if start:
                    break
                time.sleep(0.25)
            while time.time_ns() < start + 1_000_000_000:  # bounded: the start is 3 s ahead
                time.sleep(0.05)
            hist = {"n": 1, "min": 900, "max": 900, "sum": 900, "sum_sq": 810000, "clamped": 0,
                    "b": [[900, 1]]}
            counters = {"requests": 1, "errors": 0, "bytes_in": 100, "bytes_out": 50, "late": 0,
                        "dropped": 0, "unfinished": 0, "checks_failed": 0, "script_errors": 0,
                        "status": [[200, 1]], "kinds": [0] * 9}
            second = {"second": 0, "length_s": 1, "users": 1, "target": 1,
                      "busiest_cpu": 0.01, "due": 1, "due_late": 0, "counters": counters,
                      "latency": hist, "service": hist, "sched_lag": hist,
                      "endpoints": [{"method": "GET", "name": "/", "counters": counters,
                                     "latency": hist}], "tallies": []}
            final = {"started_ns": start, "duration_s": 1.0, "interrupted": False,
                     "cpu_s": 0.01, "max_rss_bytes": 1 << 20, "threads": 1, "connections": 1,
                     "thread_cpu_max": 0.01, "thread_cpu": [0.01], "saturated": False,
                     "saturation": {"criterion": 0, "seconds": 0, "consecutive": 0,
                                    "whole_seconds": 0, "first_s": 0, "worst": 0},
                     "deltas_lost": 0}
            status, answer = self.post("/api/control/deltas",
                                       surge_wire.batch(self.id, 1, [surge_wire.second(second)],
                                                        final))
            outcome[self.k] = status if status != 200 else "ok"
        except Exception as e:  # noqa: BLE001 - reported by the test
            outcome[self.k] = repr(e)
        finally:
            self.close()


def limit_fds(soft, hard=None):
    """A descriptor limit for the child (the hard one only lowered, never raised)."""
    now_soft, now_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = now_hard if hard is None else min(hard, now_hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, hard), hard))


def test_a_fleet_above_the_pages_connection_bound_joins_and_counts():
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "coordinator.json")
        coord = subprocess.Popen(
            [SURGE, "run", "--coordinator", f"127.0.0.1:{port}", "--expect-shards", str(SHARDS),
             "--token", TOKEN, "--join-timeout", "40s", "--lost-after", "30s", "-R",
             str(SHARDS), "-c", str(SHARDS), "-d", "1s", "--json", out, "http://127.0.0.1:9/"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            preexec_fn=lambda: limit_fds(128))  # below what 80 shards need: raised
        try:
            outcome = {}
            deadline = time.monotonic() + 45
            shards = [Shard(port, k) for k in range(SHARDS)]
            threads = [threading.Thread(target=s.run, args=(deadline, outcome), daemon=True)
                       for s in shards]
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(1, deadline + 15 - time.monotonic()))
            stdout, stderr = coord.communicate(timeout=60)
        finally:
            if coord.poll() is None:
                coord.kill()
                coord.wait()
        bad = {k: v for k, v in outcome.items() if v != "ok"}
        assert len(outcome) == SHARDS and not bad, (len(outcome), list(bad.items())[:5],
                                                    stderr[-1500:])
        assert coord.returncode == 0, (coord.returncode, stderr[-1500:])
        with open(out) as f:
            doc = json.load(f)
    assert doc["distributed"] == {"shards": SHARDS, "complete": True, "lost": []}, \
        doc["distributed"]
    assert doc["totals"]["requests"] == SHARDS, doc["totals"]


def test_a_fleet_beyond_the_descriptor_limit_is_a_usage_error():
    """A limit the coordinator cannot raise far enough for a connection per shard: one line
    saying so and how to raise it (exit 2), not shards refused one by one later."""
    p = subprocess.run(
        [SURGE, "run", "--coordinator", f"127.0.0.1:{free_port()}", "--expect-shards", "1000",
         "--token", TOKEN, "-R", "1000", "-c", "1000", "-d", "1s", "http://127.0.0.1:9/"],
        capture_output=True, text=True, timeout=30, preexec_fn=lambda: limit_fds(256, 256))
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "--expect-shards 1000: a connection kept by each shard needs 1192 file " \
        "descriptors, the limit is 256 (raise it with ulimit -n)" in p.stderr, p.stderr
    assert len(p.stderr.strip().splitlines()) <= 2, p.stderr


if __name__ == "__main__":
    main([test_a_fleet_above_the_pages_connection_bound_joins_and_counts,
          test_a_fleet_beyond_the_descriptor_limit_is_a_usage_error])
