"""`surge serve` for real on loopback: every endpoint family (status, body, headers,
Server-Timing), the common parameters and caps, probes and admin, the HTTP limits, hostile
clients, graceful drain, and the cost of the work measured from outside (/proc), never from
surge's own numbers. No mocks; every wait has a bound."""

import hashlib
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

from harness import favour_self, Serve, Skip, favoured, free_port, main, need, proc_stat, run_json, surge

MIB = 1024 * 1024
# `make asan` and `make tsan` (SURGE_SANITIZED): the sanitizers back the pages the server
# touches with shadow pages of their own (ASan an eighth more, TSan as much again), so RSS is
# no exact measure of what an endpoint allocated there
RSS_INEXACT = bool(os.environ.get("SURGE_SANITIZED"))
TRACE_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


# ---- small clients ----

def req(url_or_port, path="/", method="GET", body=None, headers=None, timeout=30):
    """One request on a fresh connection: (status, headers, body, seconds). Repeated headers
    are joined with ', ' so none is lost."""
    port = url_or_port.port if isinstance(url_or_port, Serve) else url_or_port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.monotonic()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, merged_headers(resp), data, time.monotonic() - t0
    finally:
        conn.close()


def merged_headers(resp):
    out = {}
    for k, v in resp.getheaders():
        k = k.lower()
        out[k] = out[k] + ", " + v if k in out else v
    return out


def jreq(srv, path, method="GET", expect=200, body=None, headers=None, timeout=30):
    status, hdrs, data, _ = req(srv, path, method, body=body, headers=headers, timeout=timeout)
    assert status == expect, f"{method} {path}: {status}, expected {expect}: {data[:300]!r}"
    return json.loads(data), hdrs


def server_timing(hdrs):
    """{'cpu': 20.01, 'wait': 200.0} from a Server-Timing header."""
    out = {}
    for part in hdrs.get("server-timing", "").split(","):
        m = re.match(r"\s*([\w-]+);dur=([0-9.]+)\s*$", part)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def cpu_clock_ms(pid):
    """pid's CPU clock in ms, the one clock_getcpuclockid(3) names ((~pid << 3) | 2: the whole
    process's CPUCLOCK_SCHED): its threads' run time to the nanosecond, a running thread's
    included (not /proc's ticks). The burn's clock, each thread's CPU clock, is part of it."""
    return time.clock_gettime(((~pid) << 3) | 2) * 1000


ROUNDING_MS = 0.0015  # two figures written with 3 decimals


def cpu_paid(srv, path):
    """One request, and what the server's CPU clock moved meanwhile: (status, headers, body,
    ms). The worker is idle before it and has burnt what it reports when the answer is in."""
    before = cpu_clock_ms(srv.proc.pid)
    status, hdrs, body, _ = req(srv, path)
    return status, hdrs, body, cpu_clock_ms(srv.proc.pid) - before


def connect(srv, timeout=10):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s.settimeout(timeout)
    return s


def rst_close(s):
    """Closes with a reset (no TIME_WAIT, and the server sees an abort)."""
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    except OSError:
        pass


class Reader:
    """Reads HTTP/1.1 responses off one socket, in order (for pipelining and raw tests)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def response(self, head_only=False):
        """(status, headers, body); head_only for responses to HEAD (no body follows)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
        assert m, f"bad status line {lines[0]!r}"
        status = int(m.group(1))
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            k = k.strip().lower()
            hdrs[k] = hdrs[k] + ", " + v.strip() if k in hdrs else v.strip()
        length = 0 if head_only or status in (204, 304) or status < 200 else \
            int(hdrs.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, hdrs, body

    def at_eof(self, timeout=5):
        """True when the server closes the connection (no more bytes) within timeout."""
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        if chunk:
            self.buf += chunk
            return False
        return True


def raw_exchange(srv, data, timeout=5):
    """Sends bytes on a new connection, then reads one response; (status, headers, body, eof)."""
    s = connect(srv, timeout)
    try:
        s.sendall(data)
        r = Reader(s)
        status, hdrs, body = r.response()
        return status, hdrs, body, r.at_eof(timeout)
    finally:
        s.close()


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


# ---- metrics and logs ----

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$")
LABEL_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(srv):
    status, hdrs, data, _ = req(srv, "/metrics")
    assert status == 200, status
    return data.decode()


def samples(text):
    """[(name, {labels}, value)] of every sample in a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"unparsable metrics line {line!r}"
        out.append((m.group(1), dict(LABEL_RE.findall(m.group(3) or "")), float(m.group(4))))
    return out


def metric(text, name, **labels):
    """The sum of the samples of name whose labels include the given ones (0 when none)."""
    return sum(v for n, l, v in samples(text)
               if n == name and all(l.get(k) == str(x) for k, x in labels.items()))


def log_lines(srv, want=lambda l: True, count=1, timeout=4.0):
    """JSON log lines of the fixture's output that pass want(); waits for `count` of them
    (access lines are flushed about once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = []
        with open(srv.log_path) as f:
            for raw in f:
                raw = raw.strip()
                if not raw:
                    continue
                doc = json.loads(raw)
                if want(doc):
                    lines.append(doc)
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def in_threads(fns, timeout=60):
    """Runs the callables in parallel; returns their results (exceptions re-raised)."""
    results = [None] * len(fns)
    errors = []

    def run(i, fn):
        try:
            results[i] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i, fn), daemon=True) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "a request thread did not finish in time"
    if errors:
        raise errors[0]
    return results


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURGE_") and k != "PORT"}
    env.update(extra)
    return env


# ---- info and probes ----

def test_info_lists_every_endpoint():
    with Serve(workers=1) as srv:
        doc, hdrs = jreq(srv, "/")
        assert hdrs["content-type"].startswith("application/json"), hdrs
        assert hdrs["server"] == "surge", hdrs
        assert re.match(r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", hdrs["date"]), hdrs
        assert doc["service"] == "surge" and doc["version"], doc
        assert doc["workers"] == 1 and doc["chaos"] is True, doc
        assert doc["uptime_s"] >= 0 and doc["started_at"], doc
        listed = {(e["method"], e["path"]) for e in doc["endpoints"]}
        for ep in [("GET", "/health"), ("GET", "/healthz"), ("GET", "/livez"), ("GET", "/ready"),
                   ("GET", "/readyz"), ("GET", "/metrics"), ("POST", "/admin/ready"),
                   ("GET", "/api/cpu-intensive"), ("GET", "/api/hash"),
                   ("GET", "/api/json-processing"), ("GET", "/api/cpu"),
                   ("POST", "/api/load/cpu"), ("DELETE", "/api/load/cpu"),
                   ("GET", "/api/slow"), ("GET", "/api/random-delay"), ("GET", "/api/blocking"),
                   ("GET", "/api/parallel-io"), ("GET", "/api/memory-leak"),
                   ("GET", "/api/memory-spike"), ("POST", "/api/clear-memory"),
                   ("GET", "/api/bytes"), ("GET", "/api/drip"), ("POST", "/api/upload"),
                   ("GET", "/api/disk-write"), ("GET", "/api/disk-read"),
                   ("GET", "/api/status/{code}"), ("POST", "/admin/chaos"),
                   ("DELETE", "/admin/chaos"), ("POST", "/admin/crash")]:
            assert ep in listed, f"{ep} missing from GET /: {sorted(listed)}"
        assert all(e["summary"] for e in doc["endpoints"]), doc["endpoints"]


def test_probes_and_readiness_switch():
    with Serve() as srv:
        for path in ["/health", "/healthz", "/livez"]:
            doc, hdrs = jreq(srv, path)
            assert doc == {"status": "ok"}, (path, doc)
            assert TRACE_RE.match(hdrs["traceparent"]), hdrs
        for path in ["/ready", "/readyz"]:
            assert jreq(srv, path)[0]["status"] == "ready"
        doc, _ = jreq(srv, "/admin/ready?state=off", "POST", expect=503)
        for path in ["/ready", "/readyz"]:
            doc, _ = jreq(srv, path, expect=503)
            assert doc["status"] == "not ready", doc
        jreq(srv, "/health")  # liveness does not follow readiness
        jreq(srv, "/admin/ready?state=on", "POST")
        jreq(srv, "/ready")
        doc, _ = jreq(srv, "/admin/ready?state=maybe", "POST", expect=400)
        assert "state" in doc["error"], doc
        doc, _ = jreq(srv, "/admin/ready", "POST", expect=400)
        assert "state" in doc["error"], doc
        jreq(srv, "/ready")


def test_admin_token():
    with Serve("--admin-token", "T0k3n") as srv:
        for auth in [None, "Bearer wrong", "Basic T0k3n", "Bearer T0k3nX", "Bearer "]:
            h = {"Authorization": auth} if auth else {}
            status, hdrs, data, _ = req(srv, "/admin/ready?state=off", "POST", headers=h)
            assert status == 401, (auth, status, data)
            assert "bearer" in hdrs.get("www-authenticate", "").lower(), hdrs
            assert json.loads(data)["error"], data
            assert req(srv, "/admin/chaos", headers=h)[0] == 401
        jreq(srv, "/ready")  # nothing changed
        good = {"Authorization": "Bearer T0k3n"}
        jreq(srv, "/admin/ready?state=off", "POST", expect=503, headers=good)
        jreq(srv, "/ready", expect=503)
        jreq(srv, "/admin/ready?state=on", "POST", headers=good)
        jreq(srv, "/admin/chaos", headers=good)
        # the token guards only /admin
        jreq(srv, "/health")
        jreq(srv, "/api/cpu?ms=1")


def test_not_found_and_method_not_allowed():
    with Serve() as srv:
        for path in ["/nope", "/api", "/api/cpux", "/api/status", "/health/x"]:
            doc, _ = jreq(srv, path, expect=404)
            assert doc["status"] == 404 and doc["error"], doc
        no_allow = []
        for method, path, allowed in [("POST", "/health", {"GET"}), ("DELETE", "/api/cpu", {"GET"}),
                                      ("PUT", "/admin/chaos", {"GET", "POST", "DELETE"}),
                                      ("GET", "/api/upload", {"POST"}),
                                      ("POST", "/api/slow", {"GET"})]:
            status, hdrs, data, _ = req(srv, path, method)
            assert status == 405, (method, path, status, data)
            assert json.loads(data)["status"] == 405
            # RFC 9110 15.5.6: a 405 response MUST carry Allow with the methods the path has
            got = {m.strip() for m in hdrs.get("allow", "").split(",") if m.strip()}
            if not allowed <= got:
                no_allow.append(f"{method} {path}: Allow {hdrs.get('allow')!r}, "
                                f"expected {sorted(allowed)}")
        assert not no_allow, "405 without a right Allow header:\n" + "\n".join(no_allow)


def test_head_has_no_body():
    with Serve() as srv:
        s = connect(srv)
        try:
            s.sendall(b"HEAD /api/bytes?size=5000 HTTP/1.1\r\nHost: t\r\n\r\n"
                      b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n" + get("/health"))
            r = Reader(s)
            status, hdrs, body = r.response(head_only=True)
            assert status == 200 and hdrs["content-length"] == "5000", hdrs
            status, hdrs, body = r.response(head_only=True)
            assert status == 200 and int(hdrs["content-length"]) > 100, hdrs
            # had a body been sent after either head, this would not parse as the next response
            status, hdrs, body = r.response()
            assert status == 200 and json.loads(body) == {"status": "ok"}, (status, body)
        finally:
            s.close()


def test_no_body_statuses_have_no_body():
    with Serve() as srv:
        for path in ["/api/status/204", "/api/status/304", "/api/cpu?ms=0&status=204"]:
            s = connect(srv)
            try:
                s.sendall(get(path) + get("/health"))
                r = Reader(s)
                status, hdrs, _ = r.response()  # 204 and 304 never have a body
                assert status in (204, 304), (path, status)
                try:
                    status2, _, body2 = r.response()
                except AssertionError as e:
                    raise AssertionError(f"{path}: the next response on the connection is "
                                         f"garbled, the {status} carried a body: {e}")
                assert status2 == 200 and json.loads(body2) == {"status": "ok"}, (path, body2)
                if status == 204:
                    assert "content-length" not in hdrs, \
                        f"{path}: 204 with Content-Length (RFC 9110 8.6): {hdrs}"
            finally:
                s.close()
        # a 1xx status is never a final response: it cannot be sent as one, with a body
        for path in ["/api/status/100", "/api/cpu?ms=0&status=101"]:
            s = connect(srv)
            try:
                s.sendall(get(path, b"Connection: close\r\n"))
                status, hdrs, body = Reader(s).response()
                assert status >= 200, f"GET {path} was answered {status} as a final response"
            finally:
                s.close()


# ---- common parameters ----

def test_common_parameters():
    with Serve() as srv:
        status, hdrs, body, secs = req(srv, "/api/cpu?ms=0&delay=200ms")
        assert status == 200 and 0.19 <= secs < 3, (status, secs)
        assert abs(server_timing(hdrs)["wait"] - 200) < 1, hdrs
        status, hdrs, body, secs = req(srv, "/api/status/201?delay=0.2")
        assert status == 201 and secs >= 0.19, (status, secs)
        for path in ["/api/cpu?ms=0&status=503", "/?status=503", "/api/bytes?status=503",
                     "/api/status/200?status=503"]:
            assert req(srv, path)[0] == 503, path
        for path in ["/api/cpu?ms=0&size=1000", "/?size=1000", "/api/status/404?size=1000",
                     "/api/slow?delay=0&size=1000"]:
            status, hdrs, body, _ = req(srv, path)
            assert len(body) == 1000 and hdrs["content-length"] == "1000", (path, len(body), hdrs)
        status, hdrs, body, _ = req(srv, "/api/cpu?ms=0&size=0")
        assert status == 200 and body == b"", body
        # cpu_ms=20: at least 20 ms of the worker thread's CPU clock, and the figure reported is
        # what that clock moved, so the process's CPU clock, read from outside, moved as much.
        # No upper bound: a host that preempts the virtual CPU charges that time to the thread
        # that was running, which can lengthen the burn's last step by milliseconds (28.2 ms
        # once, on a busy host); test_cpu_family_bodies holds the overshoot to that step
        status, hdrs, body, spent = cpu_paid(srv, "/api/status/200?cpu_ms=20")
        cpu = server_timing(hdrs).get("cpu")
        assert cpu is not None and 20 <= cpu <= spent + ROUNDING_MS, (cpu, spent, hdrs)
        status, hdrs, body, spent = cpu_paid(srv, "/api/status/202?cpu_ms=20&delay=100ms&size=300")
        t = server_timing(hdrs)
        assert status == 202 and len(body) == 300 and t["wait"] >= 100, (status, len(body), hdrs)
        assert 20 <= t["cpu"] <= spent + ROUNDING_MS, (t, spent, hdrs)
        # distributions
        for q in ["delay=lognormal(20ms,250ms)", "delay=normal(10ms,2ms)",
                  "delay=10ms:50,20ms:10", "status=503:5", "size=uniform(10,20)",
                  "cpu_ms=uniform(1,2)"]:
            status, _, data, _ = req(srv, "/api/cpu?ms=0&" + q)
            assert status in (200, 503), (q, status, data)
        for _ in range(5):
            status, hdrs, body, _ = req(srv, "/api/status/200?delay=uniform(10ms,30ms)&"
                                             "size=uniform(100,200)")
            assert 10 <= server_timing(hdrs)["wait"] <= 30, hdrs
            assert 100 <= len(body) <= 200, len(body)


def test_weighted_status_distribution():
    with Serve() as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        counts = {}
        try:
            for _ in range(1000):
                conn.request("GET", "/api/cpu?ms=0&status=503:30")
                resp = conn.getresponse()
                resp.read()
                counts[resp.status] = counts.get(resp.status, 0) + 1
        finally:
            conn.close()
        assert set(counts) <= {200, 503}, counts
        assert 200 <= counts.get(503, 0) <= 400, counts  # 30 %, sd 1.5 %: ±6.9 sd


def test_bad_parameters_are_400_naming_them():
    with Serve() as srv:
        for query, name in [("delay=lognormal(1", "delay"), ("delay=bogus(1,2)", "delay"),
                            ("delay=10ms:50,", "delay"), ("status=abc", "status"),
                            ("status=700", "status"), ("size=-5", "size"),
                            ("cpu_ms=lots", "cpu_ms"), ("delay=%zz", "delay")]:
            status, hdrs, data, _ = req(srv, "/api/cpu?ms=0&" + query)
            assert status == 400, (query, status, data)
            doc = json.loads(data)
            assert f"'{name}'" in doc["error"] and doc["status"] == 400, (query, doc)
        for path, name in [("/api/cpu?ms=abc", "ms"), ("/api/cpu-intensive?complexity=99",
                                                       "complexity"),
                           ("/api/hash?iterations=0", "iterations"),
                           ("/api/slow?delay=soon", "delay"), ("/api/bytes?size=huge", "size"),
                           ("/api/memory-leak?size_mb=x", "size_mb"),
                           ("/api/parallel-io?count=0", "count"),
                           ("/api/random-delay?min=2s&max=1s", "min")]:
            status, _, data, _ = req(srv, path)
            assert status == 400, (path, status, data)
            assert name in json.loads(data)["error"], (path, data)
        jreq(srv, "/health")


def test_default_params_apply_to_bare_requests():
    with Serve("--default-params", "status=418&size=100&delay=150ms") as srv:
        status, hdrs, body, secs = req(srv, "/api/cpu?ms=0")
        assert status == 418 and len(body) == 100 and secs >= 0.14, (status, len(body), secs)
        status, hdrs, body, _ = req(srv, "/api/cpu?ms=0&status=200&size=10&delay=0")
        assert status == 200 and len(body) == 10, (status, body)
        status, _, body, _ = req(srv, "/api/bytes?size=7")  # the endpoint's own size wins
        assert status == 418 and len(body) == 7, (status, len(body))
        assert req(srv, "/health")[0] == 200  # probes are never changed
        assert req(srv, "/ready")[0] == 200


def test_caps_are_applied_and_reported():
    with Serve("--max-delay", "1s", "--max-size", "1k", "--max-cpu", "30ms") as srv:
        slow, common = in_threads([lambda: req(srv, "/api/slow?delay=5"),
                                   lambda: req(srv, "/api/cpu?ms=0&delay=5")])
        for status, hdrs, body, secs in (slow, common):
            assert status == 200 and 0.9 <= secs < 4, (status, secs)
            assert "delay" in hdrs.get("x-surge-capped", ""), hdrs
            assert abs(server_timing(hdrs)["wait"] - 1000) < 1, hdrs
        assert json.loads(slow[2])["delay_s"] == 1
        for path in ["/api/bytes?size=10k", "/api/cpu?ms=0&size=5000"]:
            status, hdrs, body, _ = req(srv, path)
            assert len(body) == 1024 and "size" in hdrs.get("x-surge-capped", ""), (path, hdrs)
        doc, hdrs = jreq(srv, "/api/cpu?ms=200")
        assert doc["requested_ms"] == 30 and "ms" in hdrs.get("x-surge-capped", ""), (doc, hdrs)
        status, hdrs, _, _ = req(srv, "/api/status/200?cpu_ms=200")
        # the cap's 30 ms burnt, not the 200 asked (a preempted last step may add a few)
        assert "cpu_ms" in hdrs.get("x-surge-capped", "") and \
            30 <= server_timing(hdrs)["cpu"] < 200, hdrs
        status, hdrs, _, _ = req(srv, "/api/cpu?ms=1")
        assert "x-surge-capped" not in hdrs, hdrs
        assert metric(scrape(srv), "surge_caps_hit_total") >= 6


# ---- trace context and logs ----

def test_traceparent():
    with Serve() as srv:
        trace, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
        for flags in ["01", "00"]:
            _, hdrs, _, _ = req(srv, "/api/cpu?ms=0",
                                headers={"traceparent": f"00-{trace}-{parent}-{flags}"})
            m = TRACE_RE.match(hdrs["traceparent"])
            assert m and m.group(1) == trace, hdrs["traceparent"]
            assert m.group(2) != parent and m.group(2) != "0" * 16, hdrs["traceparent"]
            assert m.group(3) == flags, hdrs["traceparent"]
        problems = []
        # the sampled flag is bit 0 of the flags byte, whatever other bits are set
        for flags, sampled in [("03", "01"), ("05", "01"), ("09", "01"), ("ff", "01"),
                               ("02", "00")]:
            _, hdrs, _, _ = req(srv, "/api/cpu?ms=0",
                                headers={"traceparent": f"00-{trace}-{parent}-{flags}"})
            m = TRACE_RE.match(hdrs["traceparent"])
            if not (m and m.group(1) == trace and m.group(3) == sampled):
                problems.append(f"flags {flags}: answered {hdrs['traceparent']}, "
                                f"expected flags {sampled}")
        invalid = [f"00-{trace}-{parent}", f"00-{trace.upper()}-{parent}-01",
                   f"00-{'0' * 32}-{parent}-01", f"00-{trace[:-1]}g-{parent}-01",
                   f"00_{trace}-{parent}-01", f"00-{trace}-{'0' * 16}-01",
                   f"00-{trace}-{'z' * 16}-01", f"00-{trace}-{parent}-0z", "garbage"]
        seen = set()
        for tp in invalid:
            _, hdrs, _, _ = req(srv, "/api/cpu?ms=0", headers={"traceparent": tp})
            m = TRACE_RE.match(hdrs["traceparent"])
            assert m, (tp, hdrs["traceparent"])
            if m.group(1) == trace or m.group(1) == "0" * 32:
                problems.append(f"invalid {tp!r} was continued: {hdrs['traceparent']}")
            seen.add(m.group(1))
        assert not problems, "\n".join(problems)
        assert len(seen) == len(invalid), "fresh trace ids repeat"


def test_access_log_lines():
    with Serve() as srv:
        trace = "0af7651916cd43dd8448eb211c80319c"
        req(srv, "/api/cpu?ms=0", headers={"traceparent": f"00-{trace}-b7ad6b7169203331-01"})
        req(srv, "/api/status/503")
        req(srv, "/no/such/thing")
        req(srv, "/api/upload", "POST", body=b"x" * 10)
        lines = log_lines(srv, lambda l: l.get("msg") == "request", count=4)
        assert len(lines) >= 4, lines
        for l in lines:
            for key in ["time", "level", "method", "route", "status", "duration_ms", "trace_id"]:
                assert key in l, (key, l)
            assert re.match(r"^[0-9a-f]{32}$", l["trace_id"]), l
            assert l["duration_ms"] >= 0
        by_route = {l["route"]: l for l in lines}
        assert by_route["/api/cpu"]["trace_id"] == trace, by_route["/api/cpu"]
        assert by_route["/api/cpu"]["status"] == 200 and by_route["/api/cpu"]["method"] == "GET"
        assert by_route["/api/status/{code}"]["status"] == 503, by_route
        assert by_route["/api/upload"]["method"] == "POST", by_route
        assert any(l["status"] == 404 for l in lines), lines
        events = log_lines(srv, lambda l: l.get("msg") == "listening")
        assert events and events[0]["level"] == "info", events


def test_access_log_off():
    with Serve("--access-log", "off") as srv:
        for _ in range(5):
            req(srv, "/api/cpu?ms=0")
        time.sleep(2.5)  # longer than the flush interval
        assert not log_lines(srv, lambda l: l.get("msg") == "request", count=1, timeout=0), \
            open(srv.log_path).read()
        assert log_lines(srv, lambda l: l.get("msg") == "listening", timeout=0)


# ---- CPU ----

def test_cpu_family_bodies():
    with Serve() as srv:
        doc, hdrs = jreq(srv, "/api/cpu-intensive?complexity=20")
        assert doc["complexity"] == 20 and doc["fibonacci"] == 6765, doc
        assert "cpu" in server_timing(hdrs), hdrs
        assert jreq(srv, "/api/cpu-intensive?complexity=1")[0]["fibonacci"] == 1
        doc, _ = jreq(srv, "/api/cpu-intensive")
        assert doc["complexity"] == 30 and doc["fibonacci"] == 832040, doc
        digest = b"surge" + bytes(27)
        for _ in range(3):
            digest = hashlib.sha256(digest).digest()
        doc, hdrs = jreq(srv, "/api/hash?iterations=3")
        assert doc == {"iterations": 3, "sha256": digest.hex()}, doc
        assert "cpu" in server_timing(hdrs), hdrs
        doc, hdrs = jreq(srv, "/api/json-processing?size=10")
        assert doc["records"] == 10 and doc["bytes"] > 10 * 30, doc
        assert isinstance(doc["checksum"], int) and "cpu" in server_timing(hdrs), (doc, hdrs)
        assert jreq(srv, "/api/json-processing?size=0")[0]["records"] == 0
        # at least the 30 ms asked of the thread's CPU clock, as the process's CPU clock saw
        # from outside; over it only within the burn's last step between two looks at the
        # clock, which the longest step bounds (microseconds, unless the host took the CPU in
        # it): a burn that went on past its target would fail here, a preempted one not
        status, hdrs, body, spent = cpu_paid(srv, "/api/cpu?ms=30")
        doc = json.loads(body)
        assert status == 200 and doc["requested_ms"] == 30, doc
        assert 30 <= doc["cpu_ms"] <= spent + ROUNDING_MS, (doc, spent)
        assert doc["cpu_ms"] - 30 < doc["longest_step_ms"] + ROUNDING_MS, doc
        assert abs(server_timing(hdrs)["cpu"] - doc["cpu_ms"]) < ROUNDING_MS, (doc, hdrs)


def test_cpu_cost_measured_from_outside():
    with Serve() as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        try:
            conn.request("GET", "/api/cpu?ms=0")  # warm up: connection, pages, route table
            conn.getresponse().read()
            cpu0, _ = proc_stat(srv.proc.pid)
            for _ in range(20):
                conn.request("GET", "/api/cpu?ms=50")
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200
            cpu1, _ = proc_stat(srv.proc.pid)
        finally:
            conn.close()
        spent = cpu1 - cpu0
        assert 0.95 <= spent <= 1.05, f"20 x /api/cpu?ms=50 cost {spent:.3f} CPU-s, not 1.0 ± 5 %"


def runnable_s(pid):
    """Seconds pid's threads have run plus waited to run (/proc/PID/task/*/schedstat): the CPU
    they asked for, whether a busy host gave it to them or not."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                ran_ns, waited_ns = f.read().split()[:2]
            total += int(ran_ns) + int(waited_ns)
        except (FileNotFoundError, ProcessLookupError):
            pass  # a thread that ended meanwhile
    return total / 1e9


def test_background_cpu_load():
    with Serve() as srv:
        cpu0, _ = proc_stat(srv.proc.pid)
        asked0 = runnable_s(srv.proc.pid)
        t0 = time.monotonic()
        doc, _ = jreq(srv, "/api/load/cpu?cores=1&percent=50&seconds=2", "POST", expect=202)
        assert doc["active"] is True and doc["cores"] == 1 and doc["percent"] == 50, doc
        assert 1.5 < doc["remaining_s"] <= 2, doc
        text = scrape(srv)
        assert metric(text, "surge_background_load_cores") == 1, text
        worst = asked = 0.0
        while time.monotonic() - t0 < 1.8:  # the worker keeps answering while the load runs
            status, _, _, secs = req(srv, "/health", timeout=5)
            assert status == 200
            worst = max(worst, secs)
            # the CPU asked so far, read while the load's thread exists (it goes at the end)
            asked = max(asked, runnable_s(srv.proc.pid) - asked0)
            time.sleep(0.1)
        assert worst < 1.0, f"/health took {worst:.2f}s during the background load"
        if time.monotonic() - t0 < 1.9:  # (slow answers on a busy host can outlast the load)
            assert jreq(srv, "/api/load/cpu")[0]["active"] is True
        time.sleep(max(0, 2.4 - (time.monotonic() - t0)))
        # over at its 2 s; on a busy host its last 50 ms of CPU may take a while longer to get
        end = time.monotonic() + 3
        while jreq(srv, "/api/load/cpu")[0]["active"]:
            assert time.monotonic() < end, "a 2 s load still ran 5 s after it began"
            time.sleep(0.1)
        cpu1, _ = proc_stat(srv.proc.pid)
        spent = cpu1 - cpu0
        # ≈1 CPU-s when the host has it to give; on a busy host the load got less, but asked for
        # it: it was running or waiting to run for at least the 0.9 s of its first 1.8 s
        assert spent <= 1.3 and (spent >= 0.75 or asked >= 0.7), \
            f"cores=1 percent=50 seconds=2 cost {spent:.2f} CPU-s, not ≈1 (asked {asked:.2f})"
        # DELETE stops a load at once
        jreq(srv, "/api/load/cpu?cores=1&percent=100&seconds=60", "POST", expect=202)
        time.sleep(0.3)
        doc, _ = jreq(srv, "/api/load/cpu", "DELETE")
        assert doc["active"] is False, doc
        cpu2, _ = proc_stat(srv.proc.pid)
        time.sleep(1.0)
        cpu3, _ = proc_stat(srv.proc.pid)
        assert cpu3 - cpu2 < 0.15, f"{cpu3 - cpu2:.2f} CPU-s burnt in the second after DELETE"
        assert metric(scrape(srv), "surge_background_load_cores") == 0
        for q, name in [("cores=0", "cores"), ("percent=150", "percent"),
                        ("seconds=forever", "seconds")]:
            doc, _ = jreq(srv, "/api/load/cpu?" + q, "POST", expect=400)
            assert name in doc["error"], doc


# ---- I/O ----

def test_io_family():
    with Serve() as srv:
        (slow, rnd, par, wide) = in_threads([
            lambda: req(srv, "/api/slow?delay=300ms"),
            lambda: req(srv, "/api/random-delay?min=100ms&max=200ms"),
            lambda: req(srv, "/api/parallel-io?count=5&delay=200ms"),
            lambda: req(srv, "/api/random-delay"),
        ])
        status, hdrs, body, secs = slow
        assert status == 200 and json.loads(body) == {"delay_s": 0.3}, body
        assert 0.29 <= secs < 3 and abs(server_timing(hdrs)["wait"] - 300) < 1, (secs, hdrs)
        status, hdrs, body, secs = rnd
        d = json.loads(body)["delay_s"]
        assert 0.1 <= d <= 0.2 and secs >= d - 0.01, (d, secs)
        status, hdrs, body, secs = par
        doc = json.loads(body)
        assert doc["count"] == 5 and len(doc["operations_s"]) == 5, doc
        assert all(0.1 <= x <= 0.3 for x in doc["operations_s"]), doc
        assert doc["total_s"] == max(doc["operations_s"]) and secs >= doc["total_s"] - 0.01, \
            (doc, secs)
        status, hdrs, body, secs = wide
        assert 0.1 <= json.loads(body)["delay_s"] <= 2, body  # defaults: 100ms to 2s


def test_slow_does_not_block_but_blocking_does():
    with Serve(workers=1) as srv:
        # /api/slow waits on a timer: the only worker keeps answering meanwhile
        done = {}

        def slow():
            req(srv, "/api/slow?delay=1")
            done["slow"] = time.monotonic()

        def health():
            time.sleep(0.3)
            req(srv, "/health")
            done["health"] = time.monotonic()

        in_threads([slow, health])
        assert done["health"] < done["slow"], "/health waited for /api/slow on one worker"

        # /api/blocking sleeps in the worker thread: a concurrent /health waits for it. (Sent
        # 0.5 s after it, /health is answered after it, however late a busy host let either
        # request reach the worker within that margin.)
        def blocking():
            return req(srv, "/api/blocking?duration=1.5") + (time.monotonic(),)

        def health_waits():
            time.sleep(0.5)
            return req(srv, "/health") + (time.monotonic(),)

        (b_status, b_hdrs, b_body, b_secs, b_done), (h_status, _, _, h_secs, h_done) = \
            in_threads([blocking, health_waits])
        assert b_status == 200 and json.loads(b_body)["blocked_s"] >= 1.5, b_body
        assert server_timing(b_hdrs).get("blocked", 0) >= 1500, b_hdrs
        assert h_status == 200 and h_done > b_done - 0.1, \
            f"/health took {h_secs:.2f}s, answered {b_done - h_done:.2f}s before /api/blocking: " \
            "it did not block the only worker"


# ---- memory ----

def test_memory_leak_grows_rss_and_clear_gives_it_back():
    with Serve() as srv:
        jreq(srv, "/api/memory")
        jreq(srv, "/api/memory-leak?size_mb=1")  # warm up the code path
        jreq(srv, "/api/clear-memory", "POST")
        time.sleep(0.2)
        _, rss0 = proc_stat(srv.proc.pid)
        doc, hdrs = jreq(srv, "/api/memory-leak?size_mb=64")
        assert doc["allocated_bytes"] == 64 * MIB and doc["leaked_bytes"] == 64 * MIB, doc
        assert "alloc" in server_timing(hdrs), hdrs
        _, rss1 = proc_stat(srv.proc.pid)
        grown = (rss1 - rss0) / MIB
        assert RSS_INEXACT or 64 * 0.95 <= grown <= 64 * 1.05, \
            f"RSS grew {grown:.1f} MiB for a 64 MiB leak"
        assert jreq(srv, "/api/memory")[0]["leaked_bytes"] == 64 * MIB
        assert metric(scrape(srv), "surge_leaked_bytes") == 64 * MIB
        doc, _ = jreq(srv, "/api/clear-memory", "POST")
        assert doc["freed_bytes"] == 64 * MIB, doc
        _, rss2 = proc_stat(srv.proc.pid)
        left = (rss2 - rss0) / MIB
        assert RSS_INEXACT or left <= 64 * 0.05, \
            f"{left:.1f} MiB of the 64 MiB leak still resident after clear"
        assert jreq(srv, "/api/memory")[0]["leaked_bytes"] == 0


def test_memory_spike_and_cap():
    # the test's own watcher must scrape within the spike's 3 s: favoured, as the server (a
    # starved test thread under make asan and a fresh-root make test at a load of 10 first
    # scraped after the spike was over: "+0.1 MiB")
    favour_self()
    with Serve("--memory-cap", "100MiB", workers=1) as srv:
        jreq(srv, "/api/memory")
        _, rss0 = proc_stat(srv.proc.pid)
        seen = {"metric": 0, "rss": rss0}  # until the spike is seen

        spiked = threading.Event()

        def spike():
            try:
                # held 3 s: a scrape on a busy host can take a second to come back
                return req(srv, "/api/memory-spike?size_mb=50&duration=3")
            finally:
                spiked.set()

        def watch():
            # the one worker answers the scrape only once the spike's pages are touched (the
            # hold after is a timer): RSS is read then, however busy the machine is; and again
            # until the spike is seen (a busy host may deliver its request after the scrape)
            time.sleep(0.3)
            while not spiked.is_set():
                # RSS as the same scrape saw it: a starved test thread may read /proc only
                # after the spike's 3 s are over
                text = scrape(srv)
                seen["metric"] = metric(text, "surge_memory_spike_bytes")
                seen["rss"] = metric(text, "process_resident_memory_bytes")
                if seen["metric"]:
                    break
                time.sleep(0.05)

        (status, hdrs, body, secs), _ = in_threads([spike, watch])
        assert status == 200 and secs >= 2.9, (status, secs, body)
        assert json.loads(body)["allocated_bytes"] == 50 * MIB, body
        assert RSS_INEXACT or 45 <= (seen["rss"] - rss0) / MIB <= 55, f"RSS during a 50 MiB spike: " \
            f"+{(seen['rss'] - rss0) / MIB:.1f} MiB"
        assert seen["metric"] == 50 * MIB, seen
        time.sleep(0.2)
        _, rss1 = proc_stat(srv.proc.pid)
        assert RSS_INEXACT or (rss1 - rss0) / MIB < 5, \
            f"{(rss1 - rss0) / MIB:.1f} MiB still resident after spike"
        # the cap counts leaks and spikes together
        jreq(srv, "/api/memory-leak?size_mb=80")
        for path in ["/api/memory-leak?size_mb=30", "/api/memory-spike?size_mb=30"]:
            status, hdrs, body, _ = req(srv, path)
            assert status == 507, (path, status, body)
            assert "memory-cap" in json.loads(body)["error"], body
            assert "memory" in hdrs.get("x-surge-capped", ""), hdrs
        jreq(srv, "/api/memory-spike?size_mb=10")  # what fits still works
        assert jreq(srv, "/api/clear-memory", "POST")[0]["freed_bytes"] == 80 * MIB
        jreq(srv, "/api/memory-leak?size_mb=30")
        jreq(srv, "/api/clear-memory", "POST")


# ---- network and disk ----

def test_bytes_sizes():
    with Serve() as srv:
        for q, n in [("0", 0), ("1", 1), ("1000", 1000), ("64k", 65536), ("10MiB", 10 * MIB)]:
            status, hdrs, body, _ = req(srv, "/api/bytes?size=" + q)
            assert status == 200 and len(body) == n, (q, status, len(body))
            assert hdrs["content-length"] == str(n) and \
                hdrs["content-type"] == "application/octet-stream", hdrs
        assert len(req(srv, "/api/bytes")[2]) == 1024  # the default


def test_drip_spreads_the_body_over_the_duration():
    # favoured: the drip's timers fire on time however busy the host is
    with favoured(), Serve() as srv:
        s = connect(srv)
        try:
            t0 = time.monotonic()
            s.sendall(get("/api/drip?size=100&duration=1"))
            data, got_head, partial = b"", None, None
            while True:
                chunk = s.recv(65536)
                assert chunk, "closed before the body was complete"
                data += chunk
                now = time.monotonic() - t0
                if got_head is None and b"\r\n\r\n" in data:
                    got_head = now
                if partial is None and now >= 0.5:
                    partial = len(data.partition(b"\r\n\r\n")[2])
                if b"\r\n\r\n" in data and len(data.partition(b"\r\n\r\n")[2]) >= 100:
                    break
            done = time.monotonic() - t0
        finally:
            s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"Content-Length: 100\r\n" in head and body == b"x" * 100, (head, body)
        assert re.search(rb"Server-Timing: .*drip;dur=1000", head), head
        assert got_head < done, (got_head, done)
        assert 0.9 <= done < 4, f"the 100-byte body took {done:.2f}s, not ≈1s"
        assert partial is not None and 5 <= partial <= 95, \
            f"{partial} of 100 bytes had arrived half-way through"


def test_upload_is_streamed():
    with Serve() as srv:
        _, rss0 = proc_stat(srv.proc.pid)
        body = b"u" * (64 * MIB)
        doc, _ = jreq(srv, "/api/upload", "POST", body=body)
        assert doc["received_bytes"] == 64 * MIB, doc

        def chunks():
            for i in range(0, len(body), 65536):
                yield body[i:i + 65536]

        doc, _ = jreq(srv, "/api/upload", "POST", body=chunks())  # http.client sends it chunked
        assert doc["received_bytes"] == 64 * MIB, doc
        _, rss1 = proc_stat(srv.proc.pid)
        # 0.0 MiB measured on epoll; 5.3 to 6.2 alone under TSan (4 workers), 8.6 beside the
        # rest of `make tsan`: its runtime's, not the body's (128 MiB in all went through). On
        # io_uring, the receive buffers of the workers that took the uploads come on top: fixed
        # memory (4 MiB a worker), all of it touched by the first connection that brings that
        # much, which serve's /metrics states. TSan's shadow and metadata make what is touched
        # 3 to 5 times bigger (44 to 49 MiB for 8 to 16 MiB of rings); a buffered 64 MiB body
        # is still far above.
        rings = metric(scrape(srv), "surge_io_receive_buffer_bytes") / MIB
        limit = 8 + rings if not RSS_INEXACT else 24 + 5 * rings
        assert (rss1 - rss0) / MIB < limit, \
            f"RSS grew {(rss1 - rss0) / MIB:.1f} MiB (limit {limit:.0f}): uploads buffered"
        # Expect: 100-continue gets its interim answer before the body is sent
        s = connect(srv)
        try:
            s.sendall(b"POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            interim = s.recv(4096)
            assert interim.startswith(b"HTTP/1.1 100"), interim
            s.sendall(b"hello")
            r = Reader(s)
            r.buf = interim.partition(b"\r\n\r\n")[2]
            status, hdrs, body = r.response()
            assert status == 200 and json.loads(body)["received_bytes"] == 5, body
        finally:
            s.close()


def test_disk_write_and_read():
    data_dir = tempfile.mkdtemp(prefix="surge-data-")
    try:
        with Serve("--data-dir", data_dir) as srv:
            for q in ["size_mb=2&fsync=1", "size_mb=1", "size_mb=0.5&fsync=0"]:
                doc, hdrs = jreq(srv, "/api/disk-write?" + q)
                mb = float(re.search(r"size_mb=([0-9.]+)", q).group(1))
                assert doc["written_bytes"] == int(mb * MIB), (q, doc)
                assert doc["seconds"] >= 0 and "disk" in server_timing(hdrs), (doc, hdrs)
            assert not [f for f in os.listdir(data_dir) if f.startswith("surge-write")], \
                os.listdir(data_dir)
            doc, hdrs = jreq(srv, "/api/disk-read?size_mb=2")
            assert doc["read_bytes"] == 2 * MIB and "disk" in server_timing(hdrs), doc
            assert os.path.getsize(os.path.join(data_dir, f"surge-read-{srv.proc.pid}.dat")) \
                >= 2 * MIB
            doc, _ = jreq(srv, "/api/disk-write?fsync=2", expect=400)
            assert "fsync" in doc["error"], doc
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


# ---- chaos ----

def test_status_code_endpoint():
    with Serve() as srv:
        for code in [200, 201, 202, 301, 400, 404, 418, 429, 500, 502, 503, 599]:
            status, hdrs, data, _ = req(srv, f"/api/status/{code}")
            assert status == code, (code, status)
            assert json.loads(data)["status"] == code, data
        for bad in ["abc", "99", "600", "1000", "20x", "-1", "200/x"]:
            status, _, data, _ = req(srv, f"/api/status/{bad}")
            assert status in (400, 404), (bad, status, data)
            assert status == 400 or bad == "200/x", (bad, status)


def test_chaos_error_rate_and_reset():
    with Serve() as srv:
        doc, _ = jreq(srv, "/admin/chaos", "POST", body=json.dumps({"error_rate": 0.5}))
        assert doc["error_rate"] == 0.5, doc
        assert jreq(srv, "/admin/chaos")[0]["error_rate"] == 0.5
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        counts = {}
        try:
            for _ in range(400):
                conn.request("GET", "/api/cpu?ms=0")
                resp = conn.getresponse()
                resp.read()
                counts[resp.status] = counts.get(resp.status, 0) + 1
            for _ in range(20):  # probes are never hit
                conn.request("GET", "/health")
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200
        finally:
            conn.close()
        assert set(counts) <= {200, 500}, counts
        assert 140 <= counts.get(500, 0) <= 260, counts  # 50 %, sd 2.5 %: ±6 sd
        text = scrape(srv)
        assert metric(text, "surge_chaos_error_rate") == 0.5
        assert metric(text, "surge_chaos_injected_total", kind="error") == counts.get(500)
        jreq(srv, "/admin/chaos", "POST", body=json.dumps({"error_rate": 1, "error_status": 503}))
        assert req(srv, "/api/cpu?ms=0")[0] == 503
        doc, _ = jreq(srv, "/admin/chaos", "DELETE")
        assert doc["error_rate"] == 0 and doc["error_status"] == 500, doc
        assert all(req(srv, "/api/cpu?ms=0")[0] == 200 for _ in range(20))


def test_chaos_sick_replica():
    with Serve() as srv:
        jreq(srv, "/admin/chaos", "POST", body=b'{"sick": true}')
        for path in ["/", "/api/cpu?ms=0", "/api/status/200", "/api/bytes", "/api/slow?delay=0"]:
            status, _, data, _ = req(srv, path)
            assert status == 500, (path, status, data)
        for path in ["/health", "/healthz", "/livez", "/ready", "/readyz", "/metrics",
                     "/admin/chaos"]:
            assert req(srv, path)[0] == 200, path
        assert metric(scrape(srv), "surge_chaos_sick") == 1
        jreq(srv, "/admin/ready?state=off", "POST", expect=503)
        jreq(srv, "/admin/ready?state=on", "POST")
        assert jreq(srv, "/admin/chaos", "DELETE")[0]["sick"] is False
        assert req(srv, "/api/cpu?ms=0")[0] == 200


def test_chaos_latency_and_bad_settings():
    with Serve() as srv:
        jreq(srv, "/admin/chaos", "POST", body=b'{"latency_ms": 300}')
        status, hdrs, _, secs = req(srv, "/api/cpu?ms=0")
        assert status == 200 and secs >= 0.29, secs
        assert abs(server_timing(hdrs).get("chaos", 0) - 300) < 1, hdrs
        status, hdrs, _, _ = req(srv, "/health")
        assert "chaos" not in server_timing(hdrs), hdrs
        assert metric(scrape(srv), "surge_chaos_latency_seconds") == 0.3
        jreq(srv, "/admin/chaos", "DELETE")
        status, hdrs, _, _ = req(srv, "/api/cpu?ms=0")
        assert "chaos" not in server_timing(hdrs), hdrs
        for body, name in [(b'{"error_rat": 0.5}', "error_rat"),
                           (b'{"error_rate": 2}', "error_rate"),
                           (b'{"error_rate": "x"}', "error_rate"),
                           (b'{"error_status": 99}', "error_status"),
                           (b'{"latency_ms": -1}', "latency_ms"), (b'{"sick": 1}', "sick"),
                           (b'[1]', "object"), (b'{not json', "JSON"), (b'', "JSON")]:
            doc, _ = jreq(srv, "/admin/chaos", "POST", body=body, expect=400)
            assert name in doc["error"], (body, doc)
        doc, _ = jreq(srv, "/admin/chaos")
        assert doc["error_rate"] == 0 and doc["latency_ms"] == 0 and doc["sick"] is False, doc


def test_connection_faults():
    with Serve("--max-delay", "5s") as srv:
        s = connect(srv)
        s.sendall(get("/api/cpu?ms=0&fault=reset"))
        try:
            data = s.recv(4096)
            raise AssertionError(f"fault=reset: got {data!r} instead of a reset")
        except ConnectionResetError:
            pass
        finally:
            s.close()
        s = connect(srv)
        s.sendall(get("/api/status/200?fault=close"))
        try:
            assert s.recv(4096) == b"", "fault=close sent bytes"
        finally:
            s.close()
        s = connect(srv)
        s.sendall(get("/api/cpu?ms=0&fault=hang"))
        s.settimeout(1.0)
        try:
            data = s.recv(4096)
            raise AssertionError(f"fault=hang answered: {data!r}")
        except socket.timeout:
            pass
        finally:
            rst_close(s)
        doc, _ = jreq(srv, "/api/cpu?ms=0&fault=explode", expect=400)
        assert "fault" in doc["error"], doc
        # the same faults at a rate, set through /admin/chaos
        jreq(srv, "/admin/chaos", "POST", body=b'{"reset_rate": 1}')
        s = connect(srv)
        s.sendall(get("/api/cpu?ms=0"))
        try:
            try:
                data = s.recv(4096)
                raise AssertionError(f"reset_rate=1: got {data!r}")
            except ConnectionResetError:
                pass
        finally:
            s.close()
        assert req(srv, "/health")[0] == 200
        jreq(srv, "/admin/chaos", "DELETE")
        jreq(srv, "/admin/chaos", "POST", body=b'{"close_rate": 1}')
        s = connect(srv)
        s.sendall(get("/api/cpu?ms=0"))
        try:
            assert s.recv(4096) == b""
        finally:
            s.close()
        jreq(srv, "/admin/chaos", "DELETE")
        text = scrape(srv)
        for kind, n in [("reset", 2), ("close", 2), ("hang", 1)]:
            assert metric(text, "surge_chaos_injected_total", kind=kind) == n, (kind, text)
        assert req(srv, "/api/cpu?ms=0")[0] == 200


def test_crash_only_when_allowed():
    with Serve() as srv:
        doc, _ = jreq(srv, "/admin/crash", "POST", expect=403)
        assert "allow-crash" in doc["error"], doc
        assert srv.proc.poll() is None
        assert req(srv, "/health")[0] == 200
    with Serve("--allow-crash") as srv:
        try:
            status = req(srv, "/admin/crash", "POST", timeout=5)[0]
            assert status == 202, status
        except (ConnectionError, http.client.HTTPException):
            pass  # the process may go before the answer is read
        try:
            rc = srv.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            raise AssertionError("POST /admin/crash with --allow-crash: still running after 5s")
        assert rc != 0, f"a crash exited {rc}"


def test_no_chaos_switches_dangerous_endpoints_off():
    with Serve("--no-chaos", "--allow-crash") as srv:
        for method, path in [("GET", "/api/memory-leak?size_mb=1"),
                             ("GET", "/api/memory-spike?size_mb=1"),
                             ("GET", "/api/blocking?duration=0"),
                             ("POST", "/api/load/cpu?seconds=1"), ("POST", "/admin/chaos"),
                             ("POST", "/admin/crash"), ("GET", "/api/cpu?ms=0&fault=close")]:
            status, _, data, _ = req(srv, path, method, body=b"{}" if method == "POST" else None)
            assert status == 403, (method, path, status, data)
            assert json.loads(data)["error"], data
        assert srv.proc.poll() is None
        assert jreq(srv, "/")[0]["chaos"] is False
        assert req(srv, "/api/cpu?ms=1")[0] == 200
        assert req(srv, "/api/slow?delay=0")[0] == 200
        assert jreq(srv, "/api/memory")[0]["leaked_bytes"] == 0


# ---- configuration ----

def test_environment_configuration():
    srv = Serve(env=clean_env(SURGE_WORKERS="3", SURGE_MAX_BODY="1k", SURGE_NO_CHAOS="1"))
    srv.args = ["serve"]
    srv.env["SURGE_LISTEN"] = f"127.0.0.1:{srv.port}"
    srv.env["PORT"] = "not a port: SURGE_LISTEN carries the port, so this is never read"
    with srv:
        doc, _ = jreq(srv, "/")
        assert doc["workers"] == 3 and doc["chaos"] is False, doc
        status, _, data, _ = req(srv, "/admin/ready?state=on", "POST", body=b"x" * 2000)
        assert status == 413, (status, data)
        status, _, data, _ = req(srv, "/admin/ready?state=on", "POST", body=b"x" * 1000)
        assert status == 200, (status, data)
    # flags win over the environment
    with Serve(env=clean_env(SURGE_WORKERS="3", SURGE_MAX_BODY="1k"), workers=2) as srv:
        assert jreq(srv, "/")[0]["workers"] == 2
    with Serve("--max-body", "4k", env=clean_env(SURGE_MAX_BODY="1k")) as srv:
        assert req(srv, "/admin/ready?state=on", "POST", body=b"x" * 2000)[0] == 200
    # the seeds' PORT, when nothing else gives the port (every address: 0.0.0.0)
    srv = Serve(env=clean_env())
    srv.args = ["serve", "--workers", "1"]
    srv.env["PORT"] = str(srv.port)
    with srv:
        assert jreq(srv, "/")[0]["workers"] == 1


def test_bad_option_values_exit_2():
    port = free_port()
    listen = ["--listen", f"127.0.0.1:{port}"]
    cases = [
        (["--workers", "0"], {}, "--workers"),
        (["--workers", "many"], {}, "--workers"),
        (["--workers"], {}, "--workers"),
        (["--max-body", "lots"], {}, "--max-body"),
        (["--header-timeout", "soon"], {}, "--header-timeout"),
        (["--max-header-bytes", "10"], {}, "--max-header-bytes"),
        (["--memory-cap", "-1"], {}, "--memory-cap"),
        (["--access-log", "maybe"], {}, "--access-log"),
        (["--log-level", "loud"], {}, "--log-level"),
        (["--no-chaos=1"], {}, "--no-chaos"),
        (["--no-such-option"], {}, "--no-such-option"),
        (["--listen", "127.0.0.1:99999"], {}, "--listen"),
        (["--data-dir", "/nonexistent/surge-dir"], {}, "--data-dir"),
        ([], {"SURGE_WORKERS": "abc"}, "SURGE_WORKERS"),
        ([], {"SURGE_MAX_DELAY": "never"}, "SURGE_MAX_DELAY"),
        (["--port", "http"], {}, "--port"),
    ]
    for args, env, needle in cases:
        a = args if "--listen" in args or "--port" in args else listen + args
        p = surge("serve", *a, timeout=10, env=clean_env(**env))
        assert p.returncode == 2, (args, env, p.returncode, p.stderr)
        assert needle in p.stderr, (args, env, p.stderr)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        p = surge("serve", "--listen", f"127.0.0.1:{taken.getsockname()[1]}", timeout=10,
                  env=clean_env())
        assert p.returncode == 2 and "listen" in p.stderr, (p.returncode, p.stderr)
    p = surge("serve", "--help", timeout=10)
    assert p.returncode == 0 and "--max-header-bytes" in p.stdout and "SURGE_" in p.stdout


# ---- HTTP limits ----

def test_request_line_over_8k_is_414():
    with Serve() as srv:
        status, hdrs, body, eof = raw_exchange(srv, get("/api/cpu?x=" + "a" * 9000))
        assert status == 414 and eof, (status, hdrs, body)
        assert hdrs.get("connection") == "close", hdrs
        assert req(srv, "/api/cpu?ms=0&x=" + "a" * 7000)[0] == 200  # under the limit


def test_headers_over_max_header_bytes_are_431():
    with Serve("--max-header-bytes", "4k") as srv:
        status, _, body, eof = raw_exchange(srv, get("/health", b"X-Big: " + b"a" * 5000 + b"\r\n"))
        assert status == 431 and eof, (status, body)
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(300))
        status, _, body, eof = raw_exchange(srv, get("/health", many))
        assert status == 431, (status, body)
        status, _, _, _ = raw_exchange(srv, get("/health", b"X-Ok: " + b"a" * 3000 + b"\r\n"))
        assert status == 200


def test_body_over_max_body_is_413():
    with Serve("--max-body", "1k") as srv:
        # refused from the head alone: the body is never sent
        status, _, body, eof = raw_exchange(
            srv, b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n")
        assert status == 413 and eof, (status, body)
        assert "max-body" in json.loads(body)["error"], body
        s = connect(srv)
        try:  # no 100 Continue for a body that will be refused
            s.sendall(b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n"
                      b"Expect: 100-continue\r\n\r\n")
            assert Reader(s).response()[0] == 413
        finally:
            s.close()
        chunked = b"".join(b"100\r\n" + b"x" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        status, _, body, eof = raw_exchange(
            srv, b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked)
        assert status == 413, (status, body)
        # the upload sink is not bounded by --max-body
        assert jreq(srv, "/api/upload", "POST", body=b"x" * 100000)[0]["received_bytes"] == 100000


def test_slow_head_gets_408():
    with Serve("--header-timeout", "1s") as srv:
        s = connect(srv)
        try:
            t0 = time.monotonic()
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n")
            r = Reader(s)
            status, hdrs, body = r.response()
            secs = time.monotonic() - t0
            assert status == 408 and 0.9 <= secs < 4, (status, secs)
            assert r.at_eof(), "still open after 408"
        finally:
            s.close()
        # a body that stops half-way is timed out too
        status, _, _, _ = raw_exchange(
            srv, b"POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten..")
        assert status == 408, status
        assert metric(scrape(srv), "surge_timeouts_total") >= 2


def test_malformed_requests_are_400():
    with Serve() as srv:
        cases = [
            (b"HELLO\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
            (b"GET /\x01 HTTP/1.1\r\nHost: t\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: t\r\nBad Header: x\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: t\r\n: empty\r\n\r\n", 400),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40) + b"\r\n\r\n", 400),
            (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505),
            (b"POST /api/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
            (b"POST /api/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"zz\r\nhello\r\n0\r\n\r\n", 400),
        ]
        problems = []
        for data, want in cases:
            status, hdrs, body, eof = raw_exchange(srv, data)
            if status != want or not eof or json.loads(body)["status"] != want:
                problems.append(f"{data[:60]!r}: {status} (eof {eof}), expected {want}: "
                                f"{body[:80]!r}")
        assert not problems, "\n".join(problems)
        assert req(srv, "/health")[0] == 200
        assert metric(scrape(srv), "surge_bad_requests_total") >= len(cases)


def test_client_that_stops_reading_is_dropped():
    """A slow reader cannot hold a connection forever: --idle-timeout without write progress."""
    with Serve("--idle-timeout", "1s") as srv:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", srv.port))
        try:
            s.sendall(b"GET /api/bytes?size=50MiB HTTP/1.1\r\nHost: t\r\n\r\n")
            deadline = time.monotonic() + 10
            while metric(scrape(srv), "surge_timeouts_total") < 1:
                assert time.monotonic() < deadline, "a client that never reads is still served"
                time.sleep(0.2)
            text = scrape(srv)
            assert metric(text, "surge_connections", state="active") == 0, text
        finally:
            s.close()


def test_limits_on_connections_and_idle_time():
    # --max-connections: 5 connections each answered once (so the server holds all 5, whatever
    # a busy host delays), then a 6th is refused; the idle timeout is far away meanwhile
    with Serve("--max-connections", "5", "--idle-timeout", "60s") as srv:
        # the scrape is the only connection (the harness waits for the port without one), and
        # asks Connection: close, so the server drops it as it answers (in the same step,
        # before its next accept): a scrape the client closed instead was still counted when
        # the 5 came, and took the 5th's place (fresh-machine check)
        status, _, text, _ = req(srv, "/metrics", headers={"Connection": "close"})
        assert status == 200, status
        assert metric(text.decode(), "surge_connections") == 1, text
        held = [connect(srv) for _ in range(5)]
        try:
            for s in held:
                s.sendall(get("/health"))
                assert Reader(s).response()[0] == 200
            extra = connect(srv)
            extra.settimeout(10)
            try:
                extra.sendall(get("/health"))
                data = extra.recv(4096)
            except ConnectionError:
                data = b""
            finally:
                extra.close()
            assert data == b"", f"a 6th connection over --max-connections 5 was served: {data!r}"
        finally:
            for s in held:
                s.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # until the server has seen the 5 go
            try:
                if req(srv, "/health")[0] == 200:
                    break
            except (ConnectionError, http.client.HTTPException):
                time.sleep(0.1)
        assert req(srv, "/health")[0] == 200
        assert metric(scrape(srv), "surge_connections_rejected_total") >= 1
    # --idle-timeout: idle keep-alive connections are closed after it, not before
    with Serve("--idle-timeout", "1s") as srv:
        t_open = time.monotonic()
        held = [connect(srv) for _ in range(5)]
        try:
            for s in held:
                assert Reader(s).at_eof(timeout=10), "idle connection still open after 10s"
            took = time.monotonic() - t_open
            assert 0.9 <= took < 10, f"idle connections closed after {took:.2f}s, not ≈1s"
        finally:
            for s in held:
                s.close()


def test_pipelined_requests_answered_in_order():
    with Serve() as srv:
        s = connect(srv)
        try:
            s.sendall(get("/api/slow?delay=300ms") + get("/api/status/201") +
                      b"HEAD /api/bytes?size=10 HTTP/1.1\r\nHost: t\r\n\r\n" +
                      get("/api/bytes?size=7") +
                      b"POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" +
                      b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}" +
                      get("/api/status/404"))
            r = Reader(s)
            status, _, body = r.response()
            assert status == 200 and json.loads(body) == {"delay_s": 0.3}, (status, body)
            assert r.response()[0] == 201
            status, hdrs, body = r.response(head_only=True)
            assert status == 200 and hdrs["content-length"] == "10", hdrs
            assert r.response()[2] == b"x" * 7
            status, _, body = r.response()
            assert json.loads(body)["received_bytes"] == 5, body
            status, _, body = r.response()
            assert status == 200 and json.loads(body)["error_rate"] == 0, body
            assert r.response()[0] == 404
            # more than one event's budget in one write
            # bodies of every framing between requests: on a GET, chunked with an extension
            # and a trailer into the sink, chunked JSON into a handler
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc" +
                      b"POST /api/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n" +
                      b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                      b"\r\n2\r\n{}\r\n0\r\n\r\n" + get("/livez"))
            assert r.response()[2] == b'{"status":"ok"}'
            assert json.loads(r.response()[2])["received_bytes"] == 11
            assert json.loads(r.response()[2])["sick"] is False
            assert r.response()[2] == b'{"status":"ok"}'
            codes = [200, 201, 202, 203, 206, 226, 299, 404, 418, 503]
            s.sendall(b"".join(get(f"/api/status/{codes[i % 10]}") for i in range(100)))
            for i in range(100):
                status, _, body = r.response()
                assert status == codes[i % 10] and json.loads(body)["status"] == status, (i, status)
            s.sendall(get("/health", b"Connection: close\r\n"))
            status, hdrs, _ = r.response()
            assert status == 200 and hdrs.get("connection") == "close", hdrs
            assert r.at_eof()
        finally:
            s.close()


def test_a_client_that_pipelines_without_reading_is_held_back_not_dropped():
    """A client that sends requests far faster than it reads the answers: the server takes its
    input up to a bound and leaves the rest in the socket (TCP holds the client back, as with
    readiness), answers every request in order once the client reads, and counts the bounds it
    met. On io_uring (a stream): queued responses (send_queue) and input (input_paused), never
    a close (input_overflow); on epoll the socket alone holds the client back."""
    n = 4000
    with Serve(workers=1) as srv:
        backend = jreq(srv, "/")[0]["io"]
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        s.settimeout(30)
        s.connect(("127.0.0.1", srv.port))
        requests = b"".join(get(f"/api/bytes?size={5000 + i % 7}") for i in range(n))
        sender = threading.Thread(target=s.sendall, args=(requests,), daemon=True)
        try:
            sender.start()
            deadline = time.monotonic() + 30
            while backend == "io_uring":  # the server stops taking input while nobody reads
                text = scrape(srv)
                if metric(text, "surge_io_bound_hits_total", bound="input_paused") >= 1:
                    break
                assert time.monotonic() < deadline, text[-1500:]
                time.sleep(0.1)
            r = Reader(s)
            for i in range(n):
                status, hdrs, body = r.response()
                assert status == 200 and len(body) == 5000 + i % 7, (i, status, hdrs)
            sender.join(30)
            assert not sender.is_alive()
            s.sendall(get("/health"))  # the same connection goes on
            assert r.response()[0] == 200
        finally:
            s.close()
        text = scrape(srv)
        paused = metric(text, "surge_io_bound_hits_total", bound="input_paused")
        queued = metric(text, "surge_io_bound_hits_total", bound="send_queue")
        assert metric(text, "surge_io_bound_hits_total", bound="input_overflow") == 0, text
        if backend == "io_uring":
            assert paused >= 1 and queued >= 1, (paused, queued)
        else:
            assert paused == 0 and queued == 0, (paused, queued)


def test_keep_alive_reuses_one_connection():
    with Serve() as srv:
        before = metric(scrape(srv), "surge_connections_accepted_total")
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        try:
            for i in range(50):
                conn.request("GET", f"/api/cpu?ms=0&i={i}")
                resp = conn.getresponse()
                resp.read()
                assert resp.status == 200 and resp.getheader("connection") != "close"
        finally:
            conn.close()
        after = metric(scrape(srv), "surge_connections_accepted_total")
        assert after - before == 2, (before, after)  # the 50 requests' and the scrape's
        # HTTP/1.0 closes unless asked to keep alive
        status, _, _, eof = raw_exchange(srv, b"GET /health HTTP/1.0\r\n\r\n")
        assert status == 200 and eof
        s = connect(srv)
        try:
            s.sendall(b"GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            r = Reader(s)
            status, hdrs, _ = r.response()
            # an HTTP/1.0 client keeps the connection only when the response says so
            assert status == 200 and hdrs.get("connection", "").lower() == "keep-alive", hdrs
            s.sendall(b"GET /livez HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            assert r.response()[0] == 200
        finally:
            s.close()


def test_idle_keep_alive_connections_keep_no_big_response():
    """An idle keep-alive connection gives back the buffers of a big response it sent: 200
    connections that each fetched /openapi.json (~50 KiB, built in memory, then copied into
    the response) and stay open hold less than 4 MiB more than after a tiny request each
    (they held 2 x 50 KiB each, 20 MiB: a soak of 1,000 users grew the server by 370 MiB)."""
    if RSS_INEXACT:
        raise Skip("RSS is no exact measure under a sanitizer")
    n = 200
    with Serve() as srv:
        socks = [connect(srv) for _ in range(n)]
        try:
            def each(path):
                for s in socks:
                    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    status, hdrs, body = Reader(s).response()
                    assert status == 200, (path, status)
            each("/health")
            _, rss0 = proc_stat(srv.proc.pid)
            each("/openapi.json")
            _, rss1 = proc_stat(srv.proc.pid)
        finally:
            for s in socks:
                s.close()
        grown = (rss1 - rss0) / MIB
        assert grown < 4, f"{n} idle connections hold {grown:.1f} MiB more after /openapi.json"


def test_memory_a_burst_took_goes_back():
    """What a burst made the server allocate goes back to the system once it is freed, not
    kept for the server's life: 1,000 more connections at once (a client's connections grow
    when the server stalls: the soak's rate generator went from 13 to 116), each with a
    request read (its input buffer and state, ~7 KiB in the workers' malloc arenas), then
    closed. glibc keeps freed memory in its arenas (it trims only a heap's top); the server's
    main thread gives it back every 10 s (core/heap.h). Before, it kept each burst for its
    life: the 30-minute soak's server stayed 2 MiB higher after a stall of the host."""
    if RSS_INEXACT:
        raise Skip("RSS is no exact measure under a sanitizer")
    n = 1000
    with Serve() as srv:
        keep = connect(srv)  # the server's own state past start-up, then a turn of trimming
        keep.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert Reader(keep).response()[0] == 200
        time.sleep(11)
        _, rss0 = proc_stat(srv.proc.pid)
        socks = [connect(srv, timeout=30) for _ in range(n)]
        try:
            for s in socks:
                s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                assert Reader(s).response()[0] == 200
            _, held = proc_stat(srv.proc.pid)
        finally:
            for s in socks:
                s.close()
        assert (held - rss0) / MIB > 4, f"the burst took only {(held - rss0) / MIB:.1f} MiB"
        deadline = time.monotonic() + 35  # three of the main thread's 10 s turns, and slack
        while time.monotonic() < deadline:
            time.sleep(1)
            _, rss = proc_stat(srv.proc.pid)
            if (rss - rss0) / MIB < 1.5:
                break
        keep.close()
        assert (rss - rss0) / MIB < 1.5, (
            f"the server still holds {(rss - rss0) / MIB:.1f} MiB of a burst of "
            f"{(held - rss0) / MIB:.1f} MiB 35 s after it ended")


# ---- metrics ----

def test_metrics_are_valid_and_count_requests():
    promtool = shutil.which("promtool") or need("promtool")
    with Serve() as srv:
        for _ in range(7):
            req(srv, "/api/cpu?ms=0")
        req(srv, "/nope")
        req(srv, "/nope2")
        req(srv, "/health", "POST")
        req(srv, "/api/status/503")
        req(srv, "/api/cpu?ms=0&delay=100ms")
        req(srv, "/api/load/cpu?cores=1&percent=10&seconds=30", "POST")
        jreq(srv, "/api/memory-leak?size_mb=1")
        status, hdrs, data, _ = req(srv, "/metrics")
        assert status == 200 and hdrs["content-type"].startswith("text/plain"), hdrs
        text = data.decode()
        p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=30)
        assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), \
            f"promtool check metrics: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
        for name in ["http_server_request_duration_seconds_bucket", "http_requests_total",
                     "http_request_duration_seconds_bucket", "http_server_active_requests",
                     "surge_connections", "process_cpu_seconds_total",
                     "process_resident_memory_bytes", "process_open_fds", "process_max_fds",
                     "process_start_time_seconds", "surge_leaked_bytes",
                     "surge_background_load_cores", "surge_chaos_error_rate", "surge_build_info",
                     "surge_caps_hit_total", "surge_bad_requests_total"]:
            assert re.search(rf"^{name}[{{ ]", text, re.M), f"{name} missing from /metrics"
        cpu = dict(http_route="/api/cpu", http_request_method="GET",
                   http_response_status_code=200)
        assert metric(text, "http_server_request_duration_seconds_count", **cpu) == 8
        assert metric(text, "http_requests_total", path="/api/cpu", method="GET",
                      status=200) == 8
        assert metric(text, "http_server_request_duration_seconds_bucket", le="+Inf",
                      **cpu) == 8
        assert metric(text, "http_server_request_duration_seconds_bucket", le="0.1", **cpu) == 7
        assert metric(text, "http_server_request_duration_seconds_sum", **cpu) >= 0.1
        assert metric(text, "http_requests_total", status=404) == 2
        assert metric(text, "http_requests_total", method="POST", status=405) == 1
        assert metric(text, "http_requests_total", path="/api/status/{code}", status=503) == 1
        assert metric(text, "surge_leaked_bytes") == MIB
        assert metric(text, "surge_background_load_cores") == 1
        assert metric(text, "http_server_active_requests") == 1  # this scrape
        assert abs(metric(text, "process_start_time_seconds") - time.time()) < 120
        # the process's own figures agree with /proc
        cpu_s, rss = proc_stat(srv.proc.pid)
        assert abs(metric(text, "process_resident_memory_bytes") - rss) < 0.2 * rss
        assert metric(text, "process_cpu_seconds_total") <= cpu_s + 0.05
        fds = len(os.listdir(f"/proc/{srv.proc.pid}/fd"))
        assert abs(metric(text, "process_open_fds") - fds) <= 3, (fds, text)
        # every histogram's buckets are cumulative and end at the count
        series = {}
        for n, l, v in samples(text):
            if n == "http_server_request_duration_seconds_bucket":
                key = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
                series.setdefault(key, []).append(v)
        for key, vals in series.items():
            assert vals == sorted(vals), (key, vals)


# ---- under load and under attack ----

def test_slow_5000_concurrent_on_one_worker():
    with Serve(workers=1) as srv:
        _, doc = run_json("-c", "5000", "-n", "5000", srv.url("/api/slow?delay=1"), timeout=60)
        assert doc["status_codes"] == {"200": 5000}, doc["status_codes"]
        assert doc["totals"]["errors"] == 0, doc["totals"]
        lat = doc["latency_ms"]
        assert lat["min"] >= 995, lat
        # one after another they would take 5000 s, a pool of 100 threads 50 s; about 2 s on a
        # quiet host, but a busy one takes seconds just to open and accept 5000 connections
        assert doc["duration_s"] < 30, f"5000 concurrent 1s delays took {doc['duration_s']}s"
        assert metric(scrape(srv), "http_requests_total", path="/api/slow", status=200) == 5000
        assert srv.proc.poll() is None


def test_hostile_clients_never_stop_the_server():
    with Serve("--header-timeout", "2s", "--max-connections", "15000", workers=1) as srv:
        stop = threading.Event()
        results = []

        def normal_client():
            conn = None
            while not stop.is_set():
                t0 = time.monotonic()
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
                    conn.request("GET", "/api/cpu?ms=1")
                    resp = conn.getresponse()
                    ok = resp.status == 200 and json.loads(resp.read())["cpu_ms"] >= 1
                    fresh = req(srv, "/health", timeout=10)[0] == 200  # new connections too
                    results.append((ok and fresh, time.monotonic() - t0, None))
                except Exception as e:  # noqa: BLE001 - recorded and asserted on below
                    results.append((False, time.monotonic() - t0, repr(e)))
                    conn = None
                time.sleep(0.05)
            if conn:
                conn.close()

        watcher = threading.Thread(target=normal_client, daemon=True)
        watcher.start()
        idle, slowloris = [], []
        try:
            # 10,000 idle connections
            for _ in range(10000):
                idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=10))
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                if metric(scrape(srv), "surge_connections", state="idle") >= 10000:
                    break
                time.sleep(0.2)
            assert metric(scrape(srv), "surge_connections", state="idle") >= 10000

            # 300 slowloris clients trickling a head that never ends
            for _ in range(300):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\nX-Slow: ")
                slowloris.append(s)
            for _ in range(3):  # a byte each 0.3 s, then silence (the server's limit is 2 s)
                time.sleep(0.3)
                for s in slowloris:
                    try:
                        s.send(b"x")
                    except OSError:
                        pass  # shows below as a missing 408
            answered = {}
            poller = select.poll()
            by_fd = {s.fileno(): s for s in slowloris}
            for fd in by_fd:
                poller.register(fd, select.POLLIN)
            deadline = time.monotonic() + 8
            while len(answered) < len(slowloris) and time.monotonic() < deadline:
                for fd, _ in poller.poll(300):
                    s = by_fd[fd]
                    poller.unregister(fd)
                    try:
                        answered[s] = s.recv(4096)
                    except ConnectionError:
                        answered[s] = b"reset"
            got408 = sum(1 for v in answered.values() if v.startswith(b"HTTP/1.1 408"))
            assert got408 == len(slowloris), \
                f"{got408} of {len(slowloris)} slowloris clients got 408: " \
                f"{set(v[:40] for v in answered.values())}"

            # malformed and oversized requests
            bad = [b"HELLO\r\n\r\n", get("/" + "a" * 9000), get("/", b"X: " + b"a" * 20000),
                   b"POST /admin/chaos HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\n\r\n",
                   b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
                   bytes(range(256)) * 4, b"GET / HTTP/1.1\r\nHost: t\r\n\x00\r\n\r\n"]
            for i in range(200):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                try:
                    s.sendall(bad[i % len(bad)])
                    data = s.recv(4096)
                    assert re.match(rb"HTTP/1\.1 4\d\d ", data), (bad[i % len(bad)][:40], data[:80])
                except ConnectionError:
                    pass  # closed while unread request bytes were still arriving
                finally:
                    s.close()

            # resets mid-request, mid-body, mid-response and while held
            for i in range(400):
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
                kind = i % 4
                if kind == 0:
                    s.sendall(b"GET /api/cpu?ms=1 HTTP/1.1\r\nHo")
                elif kind == 1:
                    s.sendall(b"POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n"
                              b"\r\n" + b"x" * 5000)
                elif kind == 2:
                    s.sendall(get("/api/bytes?size=10MiB"))
                    s.recv(1000)
                else:
                    s.sendall(get("/api/slow?delay=2"))
                time.sleep(0.002)
                rst_close(s)

            assert srv.proc.poll() is None, "surge serve died under hostile clients"
            time.sleep(0.5)
        finally:
            stop.set()
            watcher.join(30)
            for s in idle + slowloris:
                rst_close(s)
        failures = [r for r in results if not r[0]]
        assert len(results) >= 20 and not failures, \
            f"{len(failures)} of {len(results)} normal requests failed: {failures[:5]}"
        # every hostile connection is gone again, none leaked
        deadline = time.monotonic() + 10
        while True:
            text = scrape(srv)
            open_conns = sum(metric(text, "surge_connections", state=st)
                             for st in ("idle", "reading", "active"))
            if open_conns <= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert open_conns <= 3, f"{open_conns} connections still open: " + \
            " ".join(l for l in text.splitlines() if l.startswith("surge_connections{"))
        assert metric(text, "surge_timeouts_total") >= 300
        assert metric(text, "surge_bad_requests_total") >= 500
        assert srv.stop() == 0


# ---- graceful drain ----

def test_sigterm_drains_in_flight_requests():
    with Serve("--drain-timeout", "20s", workers=2) as srv:
        results = []

        def slow():
            results.append(req(srv, "/api/slow?delay=2", timeout=20))

        threads = [threading.Thread(target=slow, daemon=True) for _ in range(10)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while metric(scrape(srv), "http_server_active_requests") < 11:
            assert time.monotonic() < deadline, "the slow requests never became active"
            time.sleep(0.05)
        probe = connect(srv)  # a request head in progress: not idle, so it stays open
        probe.sendall(b"GET /ready HTTP/1.1\r\nHost: t\r\n")
        # ... once the server has read it (on a busy host a worker may not have yet: the
        # connection would still look idle to the drain); the scrape's own is the other one
        while metric(scrape(srv), "surge_connections", state="reading") < 2:
            assert time.monotonic() < deadline + 5, "the probe's head was never read"
            time.sleep(0.05)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.4)
        probe.sendall(b"\r\n")
        status, hdrs, body = Reader(probe).response()
        probe.close()
        assert status == 503 and json.loads(body)["status"] == "draining", (status, body)
        assert hdrs.get("connection") == "close", hdrs
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
            raise AssertionError("a new connection was accepted while draining")
        except ConnectionRefusedError:
            pass
        for t in threads:
            t.join(20)
        assert len(results) == 10, results
        for status, _, body, _ in results:
            assert status == 200 and json.loads(body) == {"delay_s": 2}, (status, body)
        rc = srv.proc.wait(timeout=20)
        took = time.monotonic() - t0
        assert rc == 0, f"exit code {rc} after SIGTERM"
        assert took < 10, f"exited {took:.1f}s after SIGTERM; the requests were done at ~2s"
        events = [l.get("msg") for l in log_lines(srv, lambda l: "msg" in l, timeout=0)]
        assert "draining" in events and "stopped" in events, events
        assert "drain_timeout" not in events, events


def test_drain_closes_keep_alive_connections_after_their_response():
    with Serve("--drain-timeout", "20s") as srv:
        s = connect(srv, timeout=25)
        try:
            s.sendall(get("/api/slow?delay=1"))
            time.sleep(0.3)
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            r = Reader(s)
            status, hdrs, body = r.response()
            assert status == 200, (status, body)
            assert hdrs.get("connection") == "close", \
                f"a response finished during the drain lacks 'Connection: close': {hdrs}"
            assert r.at_eof(timeout=5), "the connection stayed open after its response"
        finally:
            s.close()
        rc = srv.proc.wait(timeout=25)
        took = time.monotonic() - t0
        assert rc == 0 and took < 8, f"exit {rc} {took:.1f}s after SIGTERM (drain-timeout 20s)"


def test_drain_answers_a_request_sent_before_it_but_not_yet_read():
    """A request already on the socket when SIGTERM comes is answered, not reset by closing
    over its unread bytes. The one worker is kept busy burning CPU while the client connects
    and sends and SIGTERM arrives, so the drain begins with the request unread (before the
    fix: ConnectionResetError every time)."""
    # favoured: the burn must end well inside the drain timeout however busy the host is
    with favoured(), Serve("--drain-timeout", "60s", workers=1) as srv:
        busy = connect(srv, timeout=90)
        try:
            cpu0 = proc_stat(srv.proc.pid)[0]
            busy.sendall(get("/api/cpu?ms=1000"))
            deadline = time.monotonic() + 20
            while proc_stat(srv.proc.pid)[0] - cpu0 < 0.1 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the worker is inside the burn
            s = connect(srv, timeout=60)
            s.sendall(get("/health"))
            srv.proc.send_signal(signal.SIGTERM)
            try:
                r = Reader(s)
                status, hdrs, _ = r.response()
                assert status == 200 and hdrs.get("connection") == "close", (status, hdrs)
                assert r.at_eof(timeout=10), "the connection stayed open after its response"
            finally:
                s.close()
            assert Reader(busy).response()[0] == 200
        finally:
            busy.close()
        assert srv.proc.wait(timeout=30) == 0


def test_sigint_also_drains_and_exits_0():
    with Serve() as srv:
        assert req(srv, "/health")[0] == 200
        srv.proc.send_signal(signal.SIGINT)
        assert srv.proc.wait(timeout=10) == 0


def test_drain_timeout_bounds_shutdown():
    with Serve("--drain-timeout", "1s") as srv:
        s = connect(srv, timeout=15)
        try:
            s.sendall(get("/api/slow?delay=60"))
            time.sleep(0.3)
            t0 = time.monotonic()
            srv.proc.send_signal(signal.SIGTERM)
            rc = srv.proc.wait(timeout=15)
            took = time.monotonic() - t0
            assert rc == 0 and 0.8 <= took < 5, (rc, took)
            assert Reader(s).at_eof(timeout=2), "the cut request's connection was left open"
        finally:
            s.close()
        events = [l.get("msg") for l in log_lines(srv, lambda l: "msg" in l, timeout=0)]
        assert "drain_timeout" in events, events


if __name__ == "__main__":
    main([v for k, v in globals().items() if k.startswith("test_") and callable(v)])
