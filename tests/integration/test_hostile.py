"""Hostile servers against the generator: a small raw-socket server misbehaves in one way per
case (resets at every stage, half-closes, silence, a byte a second, garbage, 1xx storms, huge
or endless headers and bodies, lying lengths, absurd chunk sizes, answers nobody asked for,
TLS failures). For each case the test says which error kind the request is counted as, and
checks that surge neither crashes nor hangs (the run ends by its duration + its timeout + a
bounded margin, measured here), that its memory stays bounded (generator.max_rss_bytes), and
that the other connections are unharmed.

How "unharmed" is proved: each case runs a scenario with two user classes on the same
generator threads against the same server — `Healthy` users only ask /ok, `Hostile` users ask
/bad (the server misbehaves on that path only) and then /ok again on a new connection (named
/ok-after). /ok and /ok-after must have every request answered, no error. The cases whose
server misbehaves before it can know the path (TLS, an answer before the request) run as
plain `surge run URL` instead; there, healthy connections share the run where the server
allows it (every other connection), and the run must still end on time. An endless body is
tried both ways: a scenario keeps up to 16 MiB of a body per request for its checks, a plain
run none.

The cases run a few at a time (they mostly wait), so the file takes about half a minute."""

import concurrent.futures
import json
import os
import shutil
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

from harness import ROOT, SANITIZED, SURGE, RawServer, favour_self, main, need, read_request

DURATION_S = 1.5
TIMEOUT_S = 0.5  # the hostile requests'
# the healthy requests': their answers come from Python threads that share one interpreter
# with the hostile ones, on a busy machine
HEALTHY_TIMEOUT_S = 2.0
# what may come on top of duration + timeout: start-up, the Lua VMs, the last second's
# report and the result file, on a busy 2-core machine
MARGIN_S = 4.0 if not SANITIZED else 10.0
# surge run's own footprint is ~13-16 MiB here; a case that made it buffer what the server
# sends (1 MB of headers, 10,000 headers, 1xx without end) would pass this
MAX_RSS = (32 if not SANITIZED else 256) << 20
# ... except an endless body, of which a scenario keeps up to 16 MiB per request for its
# checks, and Lua gets a copy. Per VM (one Hostile user on each of the 2 threads) at most the
# body being captured (16) and the copies not yet collected, which the VM keeps to 16 MiB
# beside what its users still hold (scenario_vm.c, make_room_for_body): 2 x 32 on top of the
# footprint. Measured 54-55 MiB; 66 to 118 before the VM bounded its copies.
MAX_RSS_ENDLESS_BODY = (32 + 2 * 32 if not SANITIZED else 512) << 20
PARALLEL = 4

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
KINDS = ("connect_refused", "connect_timeout", "connect_error", "read_timeout", "reset",
         "closed_early", "protocol_error", "tls_error", "resource_error")


def rst(conn):
    """Close with a reset (RST) instead of a FIN."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def hold(server, conn, seconds=30):
    """Keep the connection open and silent until the server stops (or seconds pass)."""
    server.stopping.wait(seconds)


def path_of(head):
    return head.split(b" ", 2)[1].decode("latin-1") if head.count(b" ") >= 2 else ""


def two_faced(bad):
    """A handler that answers /ok (and /ok-after) well and calls bad(server, conn) for
    anything else; bad returns True to keep serving the connection."""
    def handler(server, conn):
        while True:
            req = read_request(server, conn)
            if req is None:
                return
            if path_of(req[0]).startswith("/ok"):
                conn.sendall(OK)
                continue
            if not bad(server, conn):
                return
    return handler


# ---- the misbehaviours, one per case: (name, handler of /bad, expected kinds) ----

def reset_before_status(server, conn):
    rst(conn)


def reset_mid_headers(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/pl")
    time.sleep(0.05)
    rst(conn)


def reset_mid_body(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
    time.sleep(0.05)
    rst(conn)


def reset_mid_chunk(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nhalf a c")
    time.sleep(0.05)
    rst(conn)


def half_close_before_status(server, conn):
    conn.shutdown(socket.SHUT_WR)
    hold(server, conn, 2)


def half_close_mid_body(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
    conn.shutdown(socket.SHUT_WR)
    hold(server, conn, 2)


def half_close_ends_body(server, conn):
    """No length, no chunks: the body ends when the server closes its side, which is a
    complete response (RFC 9112 6.3), even while the server still reads."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
    conn.shutdown(socket.SHUT_WR)
    hold(server, conn, 2)


def never_answers(server, conn):
    hold(server, conn)


def drips(server, conn):
    """A byte a second, each one well within the request's timeout of the one before: the
    timeout is for the whole response, so dripping cannot keep a request alive."""
    for b in OK:
        conn.sendall(bytes([b]))
        if server.stopping.wait(1.0):
            return


def garbage_status(server, conn):
    conn.sendall(b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok")


def binary_garbage(server, conn):
    conn.sendall(bytes(range(256)) * 4)


def informational_100(server, conn):
    """A hundred interim responses, then the real one: interim ones are skipped."""
    conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n" * 100 + OK)
    return True


def informational_forever(server, conn):
    """Interim responses without end: they count against the 64 KiB head limit."""
    storm = b"HTTP/1.1 102 Processing\r\n\r\n" * 1000
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        conn.sendall(storm)
        time.sleep(0.001)  # let the other server threads have the interpreter


MEGABYTE_OF_HEADERS = b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\nok"
TEN_THOUSAND_HEADERS = (b"HTTP/1.1 200 OK\r\n" +
                        b"".join(b"X-%d: v\r\n" % i for i in range(10000)) +
                        b"Content-Length: 2\r\n\r\nok")


def megabyte_of_headers(server, conn):
    conn.sendall(MEGABYTE_OF_HEADERS)


def ten_thousand_headers(server, conn):
    conn.sendall(TEN_THOUSAND_HEADERS)


def body_longer_than_length(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and then some")
    return True


def body_shorter_then_close(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")


def body_shorter_then_silence(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")
    hold(server, conn)


def chunk_near_2_63_then_close(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"7fffffffffffffff\r\nsome bytes of it")


def chunk_2_64_overflows(server, conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"10000000000000000\r\nx")


def chunk_2_63_is_malformed(server, conn):
    """One past the largest chunk size (2^63 - 1, as for request bodies: one framing for
    both sides)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"8000000000000000\r\nx")


def chunk_2_63_streamed(server, conn):
    """A chunk of 2^63 - 1 bytes, sent as fast as the client reads until the run gives up:
    the response never ends, and what surge keeps of it must stay bounded."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7fffffffffffffff\r\n")
    block = b"x" * 65536
    deadline = time.monotonic() + DURATION_S + 2 * TIMEOUT_S
    while time.monotonic() < deadline and not server.stopping.is_set():
        conn.sendall(block)
        time.sleep(0.002)  # ~30 MB/s: plenty, without a core spent on it


# the drip case: /bad's timeout (1.5 s) is longer than the bytes' spacing (1 s), and the run
# long enough for a Hostile user to ask /ok-after and /bad again
DRIP_DURATION_S, DRIP_TIMEOUT_S = 3.0, 1.5

SCENARIO_CASES = [
    # name, misbehaviour, the kind it must be counted as
    ("reset_before_status_line", reset_before_status, "reset"),
    ("reset_mid_headers", reset_mid_headers, "reset"),
    ("reset_mid_body", reset_mid_body, "reset"),
    ("reset_mid_chunk", reset_mid_chunk, "reset"),
    ("half_close_before_status_line", half_close_before_status, "closed_early"),
    ("half_close_mid_body", half_close_mid_body, "closed_early"),
    ("half_close_ends_a_close_delimited_body", half_close_ends_body, None),
    ("server_never_answers", never_answers, "read_timeout"),
    ("server_drips_a_byte_a_second", drips, "read_timeout"),
    ("garbage_status_line", garbage_status, "protocol_error"),
    ("binary_garbage", binary_garbage, "protocol_error"),
    ("hundred_informational_responses", informational_100, None),
    ("endless_informational_responses", informational_forever, "protocol_error"),
    ("megabyte_of_headers", megabyte_of_headers, "protocol_error"),
    ("ten_thousand_headers", ten_thousand_headers, "protocol_error"),
    ("body_longer_than_content_length", body_longer_than_length, "protocol_error"),
    ("body_shorter_than_content_length_then_close", body_shorter_then_close, "closed_early"),
    ("body_shorter_than_content_length_then_silence", body_shorter_then_silence,
     "read_timeout"),
    ("chunk_size_near_2_63_then_close", chunk_near_2_63_then_close, "closed_early"),
    ("chunk_size_2_64_overflows", chunk_2_64_overflows, "protocol_error"),
    ("chunk_size_2_63_is_malformed", chunk_2_63_is_malformed, "protocol_error"),
    ("chunk_of_2_63_bytes_streamed", chunk_2_63_streamed, "read_timeout"),
]

SCENARIO = """
options = {{ users = 4, duration = "{duration}s", timeout = "{timeout}s", threads = 2 }}
users = {{
    Healthy = {{ weight = 1, wait = between(0.01, 0.02),
                tasks = {{ function(u) u:get("/ok") end }} }},
    Hostile = {{ weight = 1, wait = between(0.02, 0.04),
                tasks = {{ function(u)
                    u:get("/bad", {{ timeout = {bad_timeout} }})
                    local r = u:get("/ok", {{ name = "/ok-after" }})
                    assert(r.status == 200, "after /bad: " .. tostring(r.error))
                end }} }},
}}
"""


class Outcome:
    """One finished run: exit status, wall time, the result document."""

    def __init__(self, rc, elapsed, doc, stderr, server_requests):
        self.rc, self.elapsed, self.doc, self.stderr = rc, elapsed, doc, stderr
        self.server_requests = server_requests

    def endpoint(self, name):
        for e in self.doc["endpoints"]:
            if e["name"] == name:
                return e
        raise AssertionError(f"no endpoint {name} in {[e['name'] for e in self.doc['endpoints']]}")


def run_surge(args, server, limit_s):
    """surge run with --json; the wall time it took and its result."""
    d = tempfile.mkdtemp(prefix="surge-hostile-")
    try:
        path = os.path.join(d, "r.json")
        start = time.monotonic()
        p = subprocess.run([SURGE, "run", "-q", "--json", path, *args(d)], capture_output=True,
                           text=True, timeout=limit_s + 30)
        elapsed = time.monotonic() - start
        assert p.returncode >= 0, f"surge died of signal {-p.returncode}: {p.stderr[-2000:]}"
        assert os.path.exists(path), f"no result (exit {p.returncode}): {p.stderr[-2000:]}"
        with open(path) as f:
            doc = json.load(f)
        with server.lock:
            seen = len(server.requests)
        return Outcome(p.returncode, elapsed, doc, p.stderr, seen)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def timing(bad, kind):
    """The run's duration and /bad's timeout; the run may last their sum + MARGIN_S. A short
    timeout where the timeout is what is tested; elsewhere a long one, so that a Python
    server slow to misbehave on a busy host is not taken for a timeout."""
    if bad is drips:
        return DRIP_DURATION_S, DRIP_TIMEOUT_S
    return DURATION_S, TIMEOUT_S if kind == "read_timeout" else HEALTHY_TIMEOUT_S


def run_scenario(bad, kind):
    duration, bad_timeout = timing(bad, kind)
    with RawServer(two_faced(bad)) as srv:
        def args(d):
            f = os.path.join(d, "hostile.lua")
            with open(f, "w") as out:
                out.write(SCENARIO.format(duration=duration, timeout=HEALTHY_TIMEOUT_S,
                                          bad_timeout=bad_timeout))
            return ["--host", srv.url("").rstrip("/"), f]
        return run_surge(args, srv, duration + max(bad_timeout, HEALTHY_TIMEOUT_S) + MARGIN_S)


def check_common(o, limit_s, max_rss=MAX_RSS):
    """No hang, bounded memory, counts that add up. The run's length is the generator's own
    (`duration_s`: from its start until its last connection was done, graceful stop
    included): a hostile server that held the run past its timeouts shows there. The process's
    wall time adds its start-up and the result file, which a busy host stretches (13 s against
    a 7.5 s limit at load 11 once); a process that never ends is stopped by run_surge's own
    bound."""
    if os.environ.get("HOSTILE_VERBOSE"):
        print(f"    took {o.elapsed:.2f}s, ran {o.doc['duration_s']:.2f}s (limit {limit_s:.1f}s), "
              f"max RSS {o.doc['generator']['max_rss_bytes'] / 2**20:.1f} MiB, exit {o.rc}",
              flush=True)
    assert o.doc["duration_s"] <= limit_s, \
        f"the run lasted {o.doc['duration_s']:.1f}s, more than {limit_s:.1f}s"
    rss = o.doc["generator"]["max_rss_bytes"]
    assert 0 < rss <= max_rss, f"max RSS {rss / 2**20:.1f} MiB, more than {max_rss >> 20} MiB"
    t = o.doc["totals"]
    kinds = o.doc["errors_by_kind"]
    assert t["requests"] == t["responses"] + sum(kinds.get(k, 0) for k in KINDS), (t, kinds)


def check_scenario(o, kind, bad):
    duration, bad_timeout = timing(bad, kind)
    # a user's last request may be out when the run ends: the graceful stop waits for it
    check_common(o, duration + max(bad_timeout, HEALTHY_TIMEOUT_S) + MARGIN_S,
                 MAX_RSS_ENDLESS_BODY if bad is chunk_2_63_streamed else MAX_RSS)
    assert o.rc in (0, 4), (o.rc, o.stderr[-2000:])  # 4: a busy machine's self-check
    assert o.doc["errors_by_kind"].get("script_error", 0) == 0, o.doc["errors_by_kind"]
    # Healthy users keep going; a Hostile user gets its next request through on a new
    # connection after every kind of failure
    for name, least in (("/ok", 5), ("/ok-after", 1)):
        e = o.endpoint(name)
        assert e["requests"] >= least and e["errors"] == 0, (name, e["requests"], e["errors"],
                                                             e["errors_by_kind"])
    bad = o.endpoint("/bad")
    got = {k: v for k, v in bad["errors_by_kind"].items() if v and k in KINDS}
    if kind is None:
        assert not got and bad["errors"] == 0 and bad["requests"] >= 3, (bad, got)
    else:
        assert bad["requests"] >= 1 and set(got) == {kind}, \
            f"/bad expected only {kind}, got {got} of {bad['requests']} requests"


# ---- cases the server cannot tell apart by path: plain `surge run URL` ----

def early_answer(server, conn):
    """Two answers the moment the connection opens, before any request is read."""
    conn.sendall(OK + OK)
    read_request(server, conn)
    hold(server, conn, 2)


class TlsServer(RawServer):
    """RawServer with a self-signed certificate; handler(server, conn, n) gets the accepted
    TCP socket and its connection number (1, 2, ...) and wraps it when it wants TLS."""

    def __init__(self, handler):
        need("openssl")
        self.dir = tempfile.mkdtemp(prefix="surge-tls-")
        key, crt = os.path.join(self.dir, "key.pem"), os.path.join(self.dir, "crt.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", crt, "-days", "1", "-subj", "/CN=localhost", "-addext",
                        "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(crt, key)
        self.accepted = 0
        count_lock = threading.Lock()

        def numbered(server, conn):
            with count_lock:
                self.accepted += 1
                n = self.accepted
            handler(server, conn, n)
        super().__init__(numbered)

    def url(self, path="/"):
        return f"https://127.0.0.1:{self.port}{path}"

    def serve_tls(self, conn):
        tls = self.ctx.wrap_socket(conn, server_side=True)
        while read_request(self, tls):
            tls.sendall(OK)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        shutil.rmtree(self.dir, ignore_errors=True)


# the handshakes of the TLS cases are made by a Python thread: on a busy machine one may
# take longer than TIMEOUT_S, which would count as connect_timeout instead of what is tested
TLS_TIMEOUT_S = 3.0


def plain_run(server, *extra, timeout=TIMEOUT_S):
    def args(d):
        return ["-c", "4", "-t", "2", "-d", f"{DURATION_S}s", "--timeout", f"{timeout}s",
                *extra, server.url("/")]
    return run_surge(args, server, DURATION_S + timeout + MARGIN_S)


def case_early_answer():
    with RawServer(early_answer) as srv:
        return plain_run(srv, timeout=HEALTHY_TIMEOUT_S)


def case_tls_bad_certificate():
    with TlsServer(lambda server, conn, n: server.serve_tls(conn)) as srv:
        return plain_run(srv, timeout=TLS_TIMEOUT_S)


def case_tls_handshake_reset():
    def handler(server, conn, n):
        if n % 2:
            server.serve_tls(conn)
        else:
            conn.recv(4096)  # the ClientHello
            rst(conn)
    with TlsServer(handler) as srv:
        return plain_run(srv, "-k", timeout=TLS_TIMEOUT_S)


def case_plain_http_behind_https():
    def handler(server, conn):
        conn.recv(4096)  # a ClientHello, which an HTTP server reads as a bad request
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    with RawServer(handler) as srv:
        srv.url = lambda path="/": f"https://127.0.0.1:{srv.port}{path}"
        return plain_run(srv, "-k", timeout=TLS_TIMEOUT_S)


def case_plain_silence_behind_https():
    with RawServer(lambda server, conn: hold(server, conn)) as srv:
        srv.url = lambda path="/": f"https://127.0.0.1:{srv.port}{path}"
        return plain_run(srv, "-k")


def case_endless_body_plain():
    def handler(server, conn):
        if read_request(server, conn):
            chunk_2_63_streamed(server, conn)
    with RawServer(handler) as srv:
        return plain_run(srv)


def only_kind(o, kind):
    got = {k: v for k, v in o.doc["errors_by_kind"].items() if v and k in KINDS}
    assert set(got) == {kind}, f"expected only {kind}, got {got}"


# ---- every case starts at once (a few at a time); each test waits for its own ----

_pool = concurrent.futures.ThreadPoolExecutor(PARALLEL)
_started = {}


def start_all():
    for name, bad, kind in SCENARIO_CASES:
        _started[name] = _pool.submit(run_scenario, bad, kind)
    for fn in (case_early_answer, case_tls_bad_certificate, case_tls_handshake_reset,
               case_plain_http_behind_https, case_plain_silence_behind_https,
               case_endless_body_plain):
        _started[fn.__name__] = _pool.submit(fn)


def outcome(name):
    if not _started:
        start_all()
    return _started[name].result(timeout=300)


def scenario_test(name, bad, kind):
    def test():
        check_scenario(outcome(name), kind, bad)
    test.__name__ = f"test_{name}" + (f"_is_{kind}" if kind else "_is_a_response")
    return test


def test_answer_before_the_request_is_protocol_error():
    """The first answer is taken as the response; the second, which nobody asked for, makes the
    connection untrustworthy: the request counts as one protocol_error (not also a response)
    and the connection is closed."""
    o = outcome("case_early_answer")
    check_common(o, DURATION_S + HEALTHY_TIMEOUT_S + MARGIN_S)
    only_kind(o, "protocol_error")
    assert o.doc["totals"]["responses"] == 0, o.doc["totals"]


def test_tls_bad_certificate_without_k_is_tls_error():
    o = outcome("case_tls_bad_certificate")
    check_common(o, DURATION_S + TLS_TIMEOUT_S + MARGIN_S)
    only_kind(o, "tls_error")
    assert o.rc == 3 and o.doc["totals"]["responses"] == 0, (o.rc, o.doc["totals"])


def test_tls_handshake_reset_is_tls_error_and_other_connections_work():
    o = outcome("case_tls_handshake_reset")
    check_common(o, DURATION_S + TLS_TIMEOUT_S + MARGIN_S)
    only_kind(o, "tls_error")
    assert o.doc["totals"]["responses"] >= 3, o.doc["totals"]


def test_plain_http_behind_https_is_tls_error():
    o = outcome("case_plain_http_behind_https")
    check_common(o, DURATION_S + TLS_TIMEOUT_S + MARGIN_S)
    only_kind(o, "tls_error")
    assert o.rc == 3, o.rc


def test_silent_server_behind_https_is_connect_timeout():
    """The handshake never completes: it is part of connecting, so its timeout is one."""
    o = outcome("case_plain_silence_behind_https")
    check_common(o, DURATION_S + TIMEOUT_S + MARGIN_S)
    only_kind(o, "connect_timeout")


def test_endless_body_keeps_nothing_without_a_scenario():
    """`surge run URL` reads a body only to count it: four connections each fed a chunk of
    2^63 - 1 bytes at ~30 MB/s time out with memory at surge's usual footprint."""
    o = outcome("case_endless_body_plain")
    check_common(o, DURATION_S + TIMEOUT_S + MARGIN_S)
    only_kind(o, "read_timeout")


def test_no_request_counted_twice():
    """A response with bytes after it is one request that failed, not a response plus an
    error: surge's request count matches the requests the server saw."""
    def handler(server, conn):
        while read_request(server, conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok and then some")
    with RawServer(handler) as srv:
        o = run_surge(lambda d: ["-c", "1", "-n", "20", srv.url("/")], srv, 30)
    t = o.doc["totals"]
    assert t["requests"] == 20 == o.server_requests, (t, o.server_requests)
    assert t["responses"] == 0 and o.doc["errors_by_kind"]["protocol_error"] == 20, t


def test_max_rss_is_surges_own():
    """The memory bound above means something only if max_rss_bytes is surge's: started by a
    process holding 256 MiB, surge must not report those (ru_maxrss survives execve)."""
    ballast = bytearray(256 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    with RawServer(lambda server, conn: read_request(server, conn) and conn.sendall(OK)) as srv:
        o = run_surge(lambda d: ["-c", "1", "-n", "3", srv.url("/")], srv, 30)
    del ballast
    rss = o.doc["generator"]["max_rss_bytes"]
    assert 0 < rss < 128 << 20, f"max RSS {rss / 2**20:.1f} MiB: the parent's, not surge's"


def test_error_kinds_are_documented():
    out = subprocess.run([SURGE, "help", "run"], capture_output=True, text=True,
                         timeout=30).stdout
    for kind in KINDS:
        assert kind in out, kind
    with open(os.path.join(ROOT, "docs", "run.md")) as f:
        doc = f.read()
    for kind in KINDS:
        assert f"`{kind}`" in doc, kind


TESTS = [scenario_test(name, bad, kind) for name, bad, kind in SCENARIO_CASES] + [
    test_answer_before_the_request_is_protocol_error,
    test_tls_bad_certificate_without_k_is_tls_error,
    test_tls_handshake_reset_is_tls_error_and_other_connections_work,
    test_plain_http_behind_https_is_tls_error,
    test_silent_server_behind_https_is_connect_timeout,
    test_endless_body_keeps_nothing_without_a_scenario,
    test_no_request_counted_twice,
    test_max_rss_is_surges_own,
    test_error_kinds_are_documented,
]

if __name__ == "__main__":
    # every case runs at once, its servers in this process: all of them must get CPU within
    # the cases' timeouts, however busy the host is
    favour_self()
    main(TESTS)
