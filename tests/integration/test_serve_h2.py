"""`surge serve` over HTTP/2 (h2c), against nghttp2's own clients (h2load, nghttp) and curl:
prior knowledge and the HTTP/1.1 upgrade on the same port as HTTP/1.1, many streams on one
connection, uploads, limits, faults, metrics, and the drain's GOAWAY. Real processes only;
every wait has a bound; nothing is judged by wall-clock time."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import Serve, http, main, need, run_json
from harness import metric_sum as sample


def h2load(*args, timeout=120):
    p = subprocess.run([need("h2load"), *args], capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, f"h2load {args}: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def h2load_counts(out):
    """(succeeded, 2xx, 4xx, 5xx) from h2load's summary."""
    req = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded", out)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert req and codes, out
    return int(req.group(4)), int(codes.group(1)), int(codes.group(3)), int(codes.group(4))


def nghttp(*args, timeout=60):
    p = subprocess.run([need("nghttp"), *args], capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def curl(*args, timeout=60):
    """curl's (status, body, http_version) for one request."""
    p = subprocess.run([need("curl"), "-sS", "-o", "-", "-w", "\n%{http_code} %{http_version}",
                        *args], capture_output=True, timeout=timeout)
    assert p.returncode == 0, f"curl {args}: rc {p.returncode}\n{p.stderr.decode()}"
    body, _, tail = p.stdout.rpartition(b"\n")
    status, version = tail.decode().split()
    return int(status), body, version


def request_streams(out):
    """The stream ids nghttp opened for its requests, in order (it opens a few idle streams
    for priorities first, so the first request is not stream 1)."""
    return re.findall(r"send HEADERS frame <length=\d+, flags=0x\w+, stream_id=(\d+)>", out)


def metrics(srv):
    status, _, body = http("GET", srv.url("/metrics"))
    assert status == 200
    return body.decode()


def wait_for(pred, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached within {timeout}s")


# ---- a raw client: frames written by hand, for what the real clients will not do ----

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 7, 8


def frame(kind, flags, stream, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + \
        stream.to_bytes(4, "big") + payload


def field(name, value):
    """A literal header field, not indexed, no Huffman (RFC 7541 6.2.2); short strings."""
    assert len(name) < 127 and len(value) < 127
    return b"\x00" + bytes([len(name)]) + name + bytes([len(value)]) + value


def request(stream, path, method=b"GET", end_stream=True, extra=()):
    block = field(b":method", method) + field(b":scheme", b"http") + field(b":path", path) + \
        field(b":authority", b"t") + b"".join(field(n, v) for n, v in extra)
    return frame(HEADERS, 0x4 | (0x1 if end_stream else 0), stream, block)


class Raw:
    """One HTTP/2 connection spoken by hand: the preface, then frames; frames read back."""

    def __init__(self, srv, settings=b"", rcvbuf=None):
        import socket
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(30)
        self.sock.connect(("127.0.0.1", srv.port))
        self.buf = b""
        self.sock.sendall(PREFACE + frame(SETTINGS, 0, 0, settings))

    def send(self, data):
        self.sock.sendall(data)

    def frames(self, until, timeout=30):
        """Frames read until until(frames) holds or the server closes; [] parts as tuples
        (kind, flags, stream, payload). Fails after timeout."""
        got, closed = [], False
        self.sock.settimeout(timeout)
        while not until(got):
            while len(self.buf) >= 9 and len(self.buf) >= 9 + int.from_bytes(self.buf[:3], "big"):
                n = int.from_bytes(self.buf[:3], "big")
                got.append((self.buf[3], self.buf[4], int.from_bytes(self.buf[5:9], "big") &
                            0x7fffffff, self.buf[9:9 + n]))
                self.buf = self.buf[9 + n:]
                if until(got):
                    return got, False
            chunk = self.sock.recv(65536)
            if not chunk:
                return got, True
            self.buf += chunk
        return got, closed

    def close(self):
        self.sock.close()


def has(kind, stream=None):
    return lambda fs: any(f[0] == kind and (stream is None or f[2] == stream) for f in fs)


# ---- clients ----

def test_h2load_requests_all_answered_and_counted():
    with Serve() as srv:
        out = h2load("-n", "2000", "-c", "4", "-m", "10", srv.url("/health"))
        ok, s2xx, s4xx, s5xx = h2load_counts(out)
        assert (ok, s2xx, s4xx, s5xx) == (2000, 2000, 0, 0), out
        assert "Application protocol: h2c" in out, out
        text = metrics(srv)
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/health",
                      network_protocol_version="2") == 2000, text
        assert sample(text, "surge_http2_streams_total") == 2000
        assert sample(text, "surge_http2_connections_total", start="prior_knowledge") == 4
        # the podinfo form has no protocol label: HTTP/2 and HTTP/1.1 requests in one series
        assert sample(text, "http_requests_total", path="/health", status="200") == 2000
        # the scrape above, counted in the next one, over HTTP/1.1
        assert sample(metrics(srv), "http_server_request_duration_seconds_count",
                      http_route="/metrics", network_protocol_version="1.1") == 1


def test_surge_on_surge_over_h2c():
    """The whole loop in HTTP/2: surge run --h2 against surge serve, counted on both sides."""
    with Serve() as srv:
        _, doc = run_json("--h2", "-c", "2", "--streams", "10", "-n", "3000",
                          srv.url("/api/cpu?ms=0"), timeout=120)
        assert doc["status_codes"] == {"200": 3000} and doc["totals"]["errors"] == 0, \
            (doc["status_codes"], doc["totals"])
        text = metrics(srv)
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/api/cpu",
                      network_protocol_version="2") == 3000, text
        assert sample(text, "surge_http2_connections_total", start="prior_knowledge") == 2


def test_nghttp_frames_settings_headers_and_data():
    with Serve("--max-streams", "37") as srv:
        rc, out = nghttp("-nv", srv.url("/api/bytes?size=100000"))
        assert rc == 0, out
        # the server's SETTINGS, from its limits
        assert re.search(r"recv SETTINGS frame .*\n(.*\n)*?.*SETTINGS_MAX_CONCURRENT_STREAMS"
                         r"\(0x03\):37", out), out
        assert re.search(r"SETTINGS_MAX_HEADER_LIST_SIZE\(0x06\):16384", out), out
        sid, = request_streams(out)
        assert re.search(rf"recv \(stream_id={sid}\) :status: 200", out), out
        for field in ["x-served-by", "server-timing", "traceparent", "content-length: 100000"]:
            assert re.search(rf"recv \(stream_id={sid}\) {field}", out), (field, out)
        # the body ends with END_STREAM on a DATA frame; 100,000 bytes take several frames
        data = re.findall(rf"recv DATA frame <length=(\d+), flags=0x0(\d), stream_id={sid}>",
                          out)
        assert sum(int(n) for n, _ in data) == 100000 and data[-1][1] == "1", data


def test_curl_prior_knowledge_and_upgrade():
    with Serve() as srv:
        status, body, version = curl("--http2-prior-knowledge", srv.url("/api/cpu?ms=1"))
        assert (status, version) == (200, "2"), (status, version, body)
        assert json.loads(body)["cpu_ms"] >= 1
        # curl --http2 over http:// asks with Upgrade: h2c and goes on in HTTP/2
        status, body, version = curl("--http2", srv.url("/health"))
        assert (status, version) == (200, "2"), (status, version, body)
        status, body, version = curl("--http2", "-I", srv.url("/health"))
        assert (status, version) == (200, "2"), (status, version, body)
        assert b"content-length:" in body.lower(), body
        # the upgrade's request may carry a body: read over HTTP/1.1, answered as stream 1
        status, body, version = curl("--http2", "-H", "Content-Type: application/json",
                                     "-d", '{"title": "upgraded"}', srv.url("/api/tasks"))
        assert (status, version) == (201, "2") and json.loads(body)["title"] == "upgraded", body
        # a request whose Upgrade cannot be read stays HTTP/1.1
        st, _, data = http("GET", srv.url("/health"),
                              headers={"Upgrade": "h2c", "HTTP2-Settings": "!!!",
                                       "Connection": "Upgrade, HTTP2-Settings"})
        assert st == 200 and json.loads(data)["status"] == "ok", (st, data)
        text = metrics(srv)
        assert sample(text, "surge_http2_connections_total", start="upgrade") == 3, text
        assert sample(text, "surge_http2_connections_total", start="prior_knowledge") == 1, text


def test_many_slow_streams_on_one_connection_run_at_once():
    with Serve() as srv:
        p = subprocess.Popen([need("h2load"), "-n", "100", "-c", "1", "-m", "100",
                              srv.url("/api/slow?delay=2")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            peak = 0

            def busy():
                nonlocal peak
                active = sample(metrics(srv), "http_server_active_requests")
                peak = max(peak, active)
                return active >= 101 or p.poll() is not None

            # all 100 streams sleeping at once on one connection (one after another they
            # would take 200 s), plus this scrape
            wait_for(busy, timeout=60, what="100 streams in flight")
            out, _ = p.communicate(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert peak == 101, (peak, out)
        assert h2load_counts(out) == (100, 100, 0, 0), out
        text = metrics(srv)
        assert sample(text, "http_server_request_duration_seconds_count",
                      http_route="/api/slow", network_protocol_version="2") == 100
        assert sample(text, "surge_http2_connections_total", start="prior_knowledge") == 1
        assert sample(text, "surge_http2_resets_sent_total") == 0, text


def test_uploads_bodies_and_deferred_answers_over_h2():
    with Serve("--max-body", "64k") as srv, tempfile.TemporaryDirectory() as d:
        big = os.path.join(d, "big")
        with open(big, "wb") as f:
            f.write(b"u" * (5 << 20))
        # a sink counts every byte, however large, through the flow-control windows
        status, body, version = curl("--http2-prior-knowledge", "--data-binary", f"@{big}",
                                     srv.url("/api/upload"))
        assert (status, version) == (200, "2") and \
            json.loads(body)["received_bytes"] == 5 << 20, body
        # a buffered JSON body, answered by the database pool (a deferred handler)
        status, body, _ = curl("--http2-prior-knowledge", "-H", "Content-Type: application/json",
                               "-d", '{"title": "h2 task"}', srv.url("/api/tasks"))
        assert status == 201 and json.loads(body)["title"] == "h2 task", (status, body)
        status, body, _ = curl("--http2-prior-knowledge", srv.url("/api/tasks?limit=5"))
        assert status == 200 and "h2 task" in body.decode(), (status, body)
        # over --max-body: 413, said before the upload is read
        status, body, _ = curl("--http2-prior-knowledge", "--data-binary", f"@{big}",
                               srv.url("/api/tasks"))
        assert status == 413 and b"(--max-body)" in body, (status, body)
        # h2load posting to the sink with many streams at once
        small = os.path.join(d, "small")
        with open(small, "wb") as f:
            f.write(b"s" * 10000)
        out = h2load("-n", "200", "-c", "2", "-m", "20", "-d", small, srv.url("/api/upload"))
        assert h2load_counts(out) == (200, 200, 0, 0), out


def test_oversized_header_list_is_refused_with_431():
    with Serve("--max-header-bytes", "4k") as srv:
        status, body, version = curl("--http2-prior-knowledge", "-H", "X-Big: " + "b" * 6000,
                                     srv.url("/health"))
        assert (status, version) == (431, "2"), (status, body)
        assert b"larger than 4096 bytes (--max-header-bytes)" in body, body
        many = []
        for i in range(70):
            many += ["-H", f"X-H{i}: {i}"]
        status, body, _ = curl("--http2-prior-knowledge", *many, srv.url("/health"))
        assert status == 431 and b"more than 64 header fields" in body, (status, body)
        assert sample(metrics(srv), "surge_bad_requests_total") == 2


def test_fault_reset_resets_only_its_stream():
    with Serve() as srv:
        rc, out = nghttp("-nv", srv.url("/api/status/200?fault=reset"), srv.url("/health"))
        reset, healthy = request_streams(out)
        assert re.search(rf"recv RST_STREAM frame <length=4, flags=0x00, stream_id={reset}>\n"
                         r".*error_code=INTERNAL_ERROR", out), out
        assert re.search(rf"recv \(stream_id={healthy}\) :status: 200", out), out
        text = metrics(srv)
        assert sample(text, "surge_http2_resets_sent_total") == 1


def test_access_log_and_metrics_name_the_protocol():
    with Serve() as srv:
        curl("--http2-prior-knowledge", srv.url("/api/cpu?ms=0"))
        http("GET", srv.url("/api/cpu?ms=0"))
        text = metrics(srv)
        for version in ["1.1", "2"]:
            assert sample(text, "http_server_request_duration_seconds_count",
                          http_route="/api/cpu", network_protocol_version=version) == 1, text
        deadline = time.monotonic() + 5
        protocols = set()
        while time.monotonic() < deadline and len(protocols) < 2:
            with open(srv.log_path) as f:
                protocols = {json.loads(l).get("protocol") for l in f
                             if '"msg":"request"' in l and "/api/cpu" in l}
            time.sleep(0.1)
        assert protocols == {"HTTP/1.1", "HTTP/2"}, protocols
        promtool = None
        try:
            promtool = need("promtool")
        except Exception:
            pass
        if promtool:
            p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                               text=True, timeout=30)
            assert p.returncode == 0 and not p.stdout.strip(), p.stdout + p.stderr


def test_sigterm_drain_sends_goaway_and_finishes_the_stream():
    srv = Serve()
    with srv:
        p = subprocess.Popen([need("nghttp"), "-nv", srv.url("/api/slow?delay=2")],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_for(lambda: sample(metrics(srv), "http_server_active_requests") >= 2,
                     what="the slow stream in flight")
            srv.proc.send_signal(signal.SIGTERM)
            out, _ = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        assert srv.proc.wait(timeout=60) == 0
    sid, = request_streams(out)
    assert re.search(r"recv GOAWAY frame <length=8, flags=0x00, stream_id=0>\n"
                     rf".*\(last_stream_id={sid}, error_code=NO_ERROR\(0x00\)", out), out
    # the stream in flight was answered, after the GOAWAY
    assert out.index("recv GOAWAY") < out.index(":status: 200"), out


# ---- streams that end early, and the timers ----

def test_a_stream_reset_while_its_handler_waits_is_freed_when_it_answers():
    with Serve() as srv:
        c = Raw(srv)
        try:
            c.send(request(1, b"/api/call-downstream?delay=1"))
            wait_for(lambda: sample(metrics(srv), "surge_downstream_requests_in_flight") >= 1,
                     what="the downstream call out")
            c.send(frame(RST_STREAM, 0, 1, (8).to_bytes(4, "big")))  # CANCEL
            c.send(request(3, b"/health"))
            frames, closed = c.frames(has(HEADERS, 3))
            assert not closed and has(HEADERS, 3)(frames), frames
            # the handler answers after a second: nothing left in flight but this scrape
            wait_for(lambda: sample(metrics(srv), "surge_downstream_requests_in_flight") == 0
                     and sample(metrics(srv), "http_server_active_requests") == 1,
                     what="the cancelled stream's handler done")
        finally:
            c.close()
        text = metrics(srv)
        assert sample(text, "surge_http2_resets_received_total") == 1, text
        assert sample(text, "http_server_request_duration_seconds_count",
                      http_route="/api/call-downstream", network_protocol_version="2") == 0
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/health",
                      network_protocol_version="2") == 1


def test_a_connection_closed_while_its_handlers_wait_leaves_them_to_finish():
    with Serve() as srv:
        c = Raw(srv)
        c.send(request(1, b"/api/call-downstream?delay=1") +
               request(3, b"/api/call-downstream?delay=1"))
        wait_for(lambda: sample(metrics(srv), "surge_downstream_requests_in_flight") >= 2,
                 what="both downstream calls out")
        c.close()

        def done():
            # the calls answered (the downstream's side counts a call until its answer is in;
            # the serving side of it may not have begun yet when the handlers' streams went),
            # and nothing in flight but this scrape
            text = metrics(srv)
            return sample(text, "surge_downstream_requests_in_flight") == 0 and \
                sample(text, "http_server_active_requests") == 1

        wait_for(done, what="both handlers done")
        assert sample(metrics(srv), "surge_connections", state="active") == 0
        status, body, _ = curl("--http2-prior-knowledge", srv.url("/health"))
        assert status == 200


def test_streams_over_max_streams_are_refused():
    with Serve("--max-streams", "2") as srv:
        c = Raw(srv)
        try:
            # three at once, before this client acknowledged the SETTINGS that say 2
            c.send(b"".join(request(i, b"/api/slow?delay=0.5") for i in (1, 3, 5)))
            frames, closed = c.frames(lambda fs: has(HEADERS, 1)(fs) and has(HEADERS, 3)(fs))
            rst = [f for f in frames if f[0] == RST_STREAM]
            assert [(f[2], int.from_bytes(f[3], "big")) for f in rst] == [(5, 7)], frames
        finally:
            c.close()
        assert sample(metrics(srv), "surge_http2_resets_sent_total") == 1


def test_faults_hang_and_close_over_h2():
    with Serve("--max-delay", "1s") as srv:
        c = Raw(srv)
        try:
            c.send(request(1, b"/api/cpu?ms=0&fault=hang") + request(3, b"/health"))
            frames, closed = c.frames(has(RST_STREAM, 1))
            rst = [f for f in frames if f[0] == RST_STREAM and f[2] == 1]
            assert rst and int.from_bytes(rst[0][3], "big") == 2, frames  # INTERNAL_ERROR
            assert has(HEADERS, 3)(frames), frames  # answered while 1 hung
        finally:
            c.close()
        c = Raw(srv)
        try:
            c.send(request(1, b"/api/cpu?ms=0&fault=close"))
            frames, closed = c.frames(lambda fs: False)
            assert closed and not has(HEADERS, 1)(frames), frames
        finally:
            c.close()


def test_drip_over_h2_sends_every_byte():
    with Serve() as srv:
        status, body, version = curl("--http2-prior-knowledge",
                                     srv.url("/api/drip?size=3000&duration=300ms"))
        assert (status, version, len(body)) == (200, "2", 3000), (status, version, len(body))


def test_idle_connection_gets_goaway_and_a_slow_body_408():
    with Serve("--idle-timeout", "1s", "--header-timeout", "1s") as srv:
        c = Raw(srv)
        try:
            frames, closed = c.frames(has(GOAWAY))
            assert has(GOAWAY)(frames), frames
            frames, closed = c.frames(lambda fs: False)
            assert closed
        finally:
            c.close()
        c = Raw(srv)
        try:
            c.send(request(1, b"/api/tasks", b"POST", end_stream=False,
                           extra=[(b"content-length", b"10")]))
            frames, closed = c.frames(has(HEADERS, 1))
            assert has(HEADERS, 1)(frames), frames
        finally:
            c.close()
        text = metrics(srv)
        assert sample(text, "http_server_request_duration_seconds_count",
                      http_response_status_code="408", network_protocol_version="2") == 1, text
        assert sample(text, "surge_timeouts_total") == 2, text


def test_a_client_that_stops_reading_is_dropped_after_the_idle_timeout():
    """A client that opens its flow-control windows wide, asks for a large body and reads
    nothing: what the server sends waits in the socket, and after --idle-timeout without
    progress the connection goes (a timeout counted), on readiness and on a stream alike."""
    with Serve("--idle-timeout", "1s") as srv:
        # SETTINGS_INITIAL_WINDOW_SIZE and the connection's window at their largest
        c = Raw(srv, (4).to_bytes(2, "big") + (2**31 - 1).to_bytes(4, "big"), rcvbuf=4096)
        try:
            c.send(frame(WINDOW_UPDATE, 0, 0, (2**31 - 1 - 65535).to_bytes(4, "big")) +
                   request(1, b"/api/bytes?size=50MiB"))
            wait_for(lambda: sample(metrics(srv), "surge_timeouts_total") >= 1,
                     what="a timeout for the client that does not read")
            wait_for(lambda: sample(metrics(srv), "surge_connections") <= 1,
                     what="the connection closed")  # the scrape's own is left
        finally:
            c.close()


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
