"""Simulated shards for bench/coordinator-scale.sh: many shards of a distributed run in one
asyncio process, each speaking exactly what `surge run --join` speaks (src/cli/cli_join.c,
src/dist/dist_sender.c, src/dist/dist_http.c, docs/distributed.md "On the wire"):

  - its own keep-alive connection, its own random 32-hex id and name;
  - POST /api/control/join every 250 ms until the answer carries the start;
  - from then, once a second (its own phase in the second, as a shard's sender thread has),
    POST /api/control/deltas with the seconds that are whole (empty: the heartbeat), numbered
    by seq from 1;
  - the last second with the shard's final figures, and the connection closed.

Each second is delta_wire's bytes (src/result/delta_wire.c, written by tests/integration/
surge_wire.py; the batch is dist_batch's, binary) of a shard running an open model at
--rps requests a second spread over --endpoints endpoints: every endpoint has its own
lognormal latency (medians 2 ms to ~30 ms), 0.5 % of its responses are 500s, and the shard's
latency, service and scheduling-lag histograms hold every request in surge's HDR layout
(src/core/hist.c, 3 significant digits, µs), sparse (its non-empty buckets), consistent with
the counters (the coordinator checks that the buckets add up to n). Drawing 200 x 1,000
samples a second in Python would cost more than the coordinator's whole work, so each shard's
second is one of --pool seconds drawn at the start (each drawn whole and consistent), with its
second number written in: the coordinator decodes and adds every one as a new second of a new
shard (it never compares seconds), so its work is that of real shards.

The simulator counts the bytes it writes and reads on each connection (HTTP heads included),
the lateness of each POST against its 1 Hz schedule, and the answers; the driver reads them.
Only 127.0.0.1: the coordinator's address is checked."""

import asyncio
import json
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
import surge_wire  # noqa: E402

HIST_SUB_BUCKET_COUNT = 2048
HIST_SUB_BUCKET_HALF_COUNT = 1024
HIST_SUB_BUCKET_HALF_MAG = 10
HIST_HIGHEST = 3_600_000_000
WIRE = surge_wire.WIRE  # dist.h DIST_WIRE_VERSION: another is refused by name (the bench then
# fails loudly)
ERR_KINDS = 9  # GEN_ERR_KIND_COUNT: the length of "kinds" on the wire
JOIN_POLL_S = 0.25  # cli_join.c JOIN_POLL_NS
SEND_PERIOD_S = 1.0  # cli_join.c SEND_PERIOD_NS
ANSWER_MAX = 1 << 20  # dist_http.h: an answer above 1 MiB is refused


def hist_index(v):
    """src/core/hist.c index_of: the HDR log-linear bucket of v µs."""
    v = min(max(int(v), 0), HIST_HIGHEST)
    bits = (v | (HIST_SUB_BUCKET_COUNT - 1)).bit_length()
    bucket = bits - (HIST_SUB_BUCKET_HALF_MAG + 1)
    sub = v >> bucket
    return ((bucket + 1) << HIST_SUB_BUCKET_HALF_MAG) + (sub - HIST_SUB_BUCKET_HALF_COUNT)


def hist(values):
    """A histogram as surge_wire takes it: {"n","min","max","sum","sum_sq","clamped","b"} of
    integer µs values."""
    counts = {}
    for v in values:
        i = hist_index(v)
        counts[i] = counts.get(i, 0) + 1
    h = {"n": len(values)}
    if values:
        h["min"] = min(values)
        h["max"] = max(values)
    h.update({"sum": sum(values), "sum_sq": sum(v * v for v in values), "clamped": 0,
              "b": [[i, counts[i]] for i in sorted(counts)]})
    return h


def counters(requests, errors, status, bytes_in, bytes_out):
    return {"requests": requests, "errors": errors, "bytes_in": bytes_in, "bytes_out": bytes_out,
            "late": 0, "dropped": 0, "unfinished": 0, "checks_failed": 0, "script_errors": 0,
            "status": [[code, n] for code, n in sorted(status.items()) if n],
            "kinds": [0] * ERR_KINDS}


def draw_second(rng, rps, endpoints):
    """One whole, consistent second of a shard (surge_wire's dict, without "second")."""
    per = [rps // endpoints + (1 if i < rps % endpoints else 0) for i in range(endpoints)]
    all_lat, all_svc, all_lag, eps = [], [], [], []
    total_status = {}
    for i, n in enumerate(per):
        median_us = 2000 * 1.15 ** i
        svc = [max(1, int(rng.lognormvariate(math.log(median_us), 0.6))) for _ in range(n)]
        lag = [max(1, int(rng.lognormvariate(math.log(80), 0.8))) for _ in range(n)]
        lat = [s + q for s, q in zip(svc, lag)]
        fails = sum(1 for _ in range(n) if rng.random() < 0.005)
        status = {200: n - fails, 500: fails}
        for code, k in status.items():
            total_status[code] = total_status.get(code, 0) + k
        eps.append({"method": "GET" if i % 4 else "POST", "name": f"/api/v1/resource{i:02d}",
                    "counters": counters(n, fails, status, 420 * n, 160 * n),
                    "latency": hist(lat)})
        all_lat += lat
        all_svc += svc
        all_lag += lag
    return {"length_s": 1, "users": 50, "target": rps, "busiest_cpu": 0.31, "due": rps,
            "due_late": 0,
            "counters": counters(rps, total_status.get(500, 0), total_status, 420 * rps,
                                 160 * rps),
            "latency": hist(all_lat), "service": hist(all_svc), "sched_lag": hist(all_lag),
            "endpoints": eps, "tallies": []}


def second_templates(pool, rps, endpoints, seed):
    """pool seconds as (bytes before the second number, bytes after): the second is written in
    where delta_wire writes it (after the version)."""
    rng = random.Random(seed)
    return [surge_wire.second_parts(draw_second(rng, rps, endpoints)) for _ in range(pool)]


class Stats:
    """What the simulator saw, summed over its shards."""

    def __init__(self):
        self.bytes_out = 0  # written, HTTP heads included
        self.bytes_in = 0  # read
        self.posts = 0
        self.seconds = 0  # seconds sent (each one delta)
        self.requests = 0  # the requests those seconds count
        self.late_max = 0.0  # the latest a POST left after its scheduled time, s
        self.answer_max = 0.0  # the slowest answer, s
        self.answers = []  # every answer's time, s
        self.refused = []  # (status, body) of refused requests, the first few
        self.finished = 0  # shards whose final was acknowledged


class Shard:
    def __init__(self, sim, k):
        self.sim = sim
        self.k = k
        self.id = os.urandom(16).hex()
        self.name = f"sim:{os.getpid()}:{k}"
        self.reader = self.writer = None
        self.seq = 0

    async def connect(self):
        self.reader, self.writer = await asyncio.open_connection(self.sim.host, self.sim.port)

    def close(self):
        if self.writer:
            self.writer.close()
        self.reader = self.writer = None

    async def post(self, path, body):
        """One POST on the kept connection (opened again when the server closed it, as
        dist_http does): (status, body). body: text (JSON) or bytes (a batch). Raises on a
        failure."""
        binary = isinstance(body, bytes)
        b = body if binary else body.encode()
        kind = "application/octet-stream" if binary else "application/json"
        head = (f"POST {path} HTTP/1.1\r\nHost: {self.sim.host}:{self.sim.port}\r\n"
                f"User-Agent: surge/{self.sim.version}\r\nContent-Type: {kind}\r\n"
                f"Authorization: Bearer {self.sim.token}\r\nContent-Length: {len(b)}\r\n\r\n")
        for attempt in range(2):
            reused = self.writer is not None
            if not reused:
                await self.connect()
            try:
                return await asyncio.wait_for(self._exchange(head.encode() + b), 10)
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if not reused or attempt:
                    raise
        raise ConnectionError("unreachable")

    async def _exchange(self, request):
        st = self.sim.stats
        began = time.monotonic()
        self.writer.write(request)
        await self.writer.drain()
        st.bytes_out += len(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        status = int(lines[0].split()[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        if length > ANSWER_MAX:
            raise ConnectionError(f"an answer of {length} bytes")
        body = await self.reader.readexactly(length)
        st.bytes_in += len(head) + length
        took = time.monotonic() - began
        st.answer_max = max(st.answer_max, took)
        st.answers.append(took)
        if close:
            self.close()
        return status, body.decode()

    def refused(self, status, body):
        if len(self.sim.stats.refused) < 5:
            self.sim.stats.refused.append((self.k, status, body[:300]))
        raise RuntimeError(f"shard {self.k}: refused ({status}): {body[:300]}")

    async def join(self, deadline):
        """Joins and waits for the start: the start's wall-clock ns."""
        have_config = False  # the coordinator sends the test until the shard has it
        while time.monotonic() < deadline:
            body = json.dumps({"wire": WIRE, "version": self.sim.version, "id": self.id,
                               "name": self.name, "have_config": have_config},
                              separators=(",", ":"))
            try:
                status, answer = await self.post("/api/control/join", body)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                self.close()
                await asyncio.sleep(JOIN_POLL_S)
                continue
            if status >= 500:  # the shard retries as dist_http's caller does
                await asyncio.sleep(JOIN_POLL_S)
                continue
            if status != 200:
                self.refused(status, answer)
            answer = json.loads(answer)
            have_config |= "config" in answer
            start = answer.get("start_ns")
            if start:
                return int(start)
            await asyncio.sleep(JOIN_POLL_S)
        raise RuntimeError(f"shard {self.k}: no start within the join timeout")

    def batch(self, seconds, final):
        self.seq += 1
        parts = []
        for s in seconds:
            before, after = self.sim.rng.choice(self.sim.templates)
            parts.append(before + surge_wire.uvarint(s) + after)
        return surge_wire.batch(self.id, self.seq, parts, final)

    async def run(self, start_ns, seconds, phase):
        """Sends seconds 0..seconds-1, each once it is whole, at 1 Hz from its phase; the last
        with the final figures."""
        st = self.sim.stats
        sent = 0
        due = time.monotonic() + phase
        while True:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            st.late_max = max(st.late_max, time.monotonic() - due)
            whole = min(seconds, max(0, (time.time_ns() - start_ns) // 1_000_000_000))
            final = None
            if whole >= seconds:
                final = {"started_ns": start_ns, "duration_s": float(seconds),
                         "interrupted": False, "cpu_s": 0.3 * seconds,
                         "max_rss_bytes": 24 << 20, "threads": 1, "connections": 50,
                         "thread_cpu_max": 0.31, "thread_cpu": [0.31], "saturated": False,
                         "saturation": {"criterion": 0, "seconds": 0, "consecutive": 0,
                                        "whole_seconds": 0, "first_s": 0, "worst": 0},
                         "deltas_lost": 0}
            text = self.batch(range(sent, whole), final)
            status, answer = await self.post("/api/control/deltas", text)
            if status != 200:
                self.refused(status, answer)
            st.posts += 1
            st.seconds += whole - sent
            st.requests += (whole - sent) * self.sim.rps
            sent = whole
            if final is not None:
                st.finished += 1
                self.close()
                return
            due += SEND_PERIOD_S


class Simulator:
    def __init__(self, addr, token, shards, rps=1000, endpoints=20, pool=32, seed=1,
                 version="sim"):
        host, _, port = addr.rpartition(":")
        if host != "127.0.0.1":
            raise ValueError("the simulator sends only to 127.0.0.1")
        self.host, self.port = host, int(port)
        self.token, self.version = token, version
        self.rps, self.endpoints = rps, endpoints
        self.rng = random.Random(seed)
        self.templates = second_templates(pool, rps, endpoints, seed)
        self.stats = Stats()
        self.shards = [Shard(self, k) for k in range(shards)]
        self.start_ns = None

    def second_bytes(self):
        """The mean size of one second's delta_wire bytes (its number of one byte)."""
        return sum(len(a) + len(b) + 1 for a, b in self.templates) / len(self.templates)

    async def join_all(self, timeout=120):
        deadline = time.monotonic() + timeout
        starts = await asyncio.gather(*(s.join(deadline) for s in self.shards))
        if len(set(starts)) != 1:
            raise RuntimeError(f"the shards were given different starts: {set(starts)}")
        self.start_ns = starts[0]
        return self.start_ns

    async def run_all(self, seconds):
        rng = random.Random(2)
        await asyncio.gather(*(s.run(self.start_ns, seconds, rng.random() * SEND_PERIOD_S)
                               for s in self.shards))
