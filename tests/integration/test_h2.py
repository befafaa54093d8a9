"""`surge run --h2` (HTTP/2 through nghttp2) against real servers on loopback: nginx with
http2, over TLS (ALPN h2, a self-signed certificate made by openssl) and in clear text (h2c,
prior knowledge), counted against nginx's own access log; and small HTTP/2 servers written
here on raw frames (no HTTP/2 library: HPACK's static table is enough to answer) that hold
their answers until N streams are open on one connection, reset streams or go away. The
result's invariant holds throughout: requests == responses + the sum of the error kinds."""

import os
import socket
import struct
import tempfile
import textwrap
import threading

from harness import Nginx, RawServer, Serve, main, run_json, surge
from test_balance import PATH, by_value, served
from test_serve_tls import Certs, metrics, sample

KINDS = ("connect_refused", "connect_timeout", "connect_error", "read_timeout", "reset",
         "closed_early", "protocol_error", "tls_error", "resource_error", "stream_reset",
         "goaway", "flow_control")
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
HEADERS, DATA, RST_STREAM, SETTINGS, PING, GOAWAY = 1, 0, 3, 4, 6, 7
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
CANCEL, FLOW_CONTROL_ERROR = 0x8, 0x3


def check_totals(doc):
    """Every request is one response or one error of one kind."""
    t, kinds = doc["totals"], doc["errors_by_kind"]
    assert t["requests"] == t["responses"] + sum(kinds[k] for k in KINDS), (t, kinds)
    return t, kinds


def access_lines(path):
    with open(path) as f:
        return [line for line in f.read().splitlines() if line]


def nginx_logging(tls):
    """nginx with HTTP/2 and an access log of the protocol and status of each request."""
    d = tempfile.mkdtemp(prefix="surge-h2-log-")
    log = os.path.join(d, "access.log")
    srv = Nginx(tls=tls, h2=True,
                http_extra="log_format h2 '$server_protocol $status $request_uri';",
                extra=f"access_log {log} h2;")
    return srv, log


def test_h2c_counts_match_nginx():
    """Prior knowledge over http://: every request nginx logged is one surge counted, each as
    HTTP/2.0, with its status (200, and 404 on another path)."""
    srv, log = nginx_logging(tls=False)
    with srv:
        p, doc = run_json("--h2", "--streams", "8", "-c", "2", "-t", "1", "-n", "2000",
                          srv.url("/"))
        # the summary counts TCP connections too, as the banner does, not the 16 streams
        assert ", 2 connections, closed model, HTTP/2 with 8 streams" in p.stdout, p.stdout
        t, kinds = check_totals(doc)
        assert t["responses"] == 2000 and t["errors"] == 0, (t, kinds)
        assert doc["status_codes"] == {"200": 2000}, doc["status_codes"]
        assert doc["config"]["protocol"] == "h2c" and doc["config"]["streams"] == 8
        assert doc["config"]["connections"] == 2, doc["config"]
        _, doc = run_json("--h2", "--streams", "3", "-c", "1", "-n", "30", srv.url("/status404"))
        assert doc["status_codes"] == {"404": 30}, doc["status_codes"]
        assert doc["totals"]["errors"] == 30  # a 404 is an error, as over HTTP/1.1
    lines = access_lines(log)
    assert len(lines) == 2030, len(lines)
    assert all(line.startswith("HTTP/2.0 ") for line in lines), lines[:3]
    assert sum(1 for line in lines if line == "HTTP/2.0 200 /") == 2000
    assert sum(1 for line in lines if line == "HTTP/2.0 404 /status404") == 30


def test_threads_deal_whole_connections_unevenly():
    """-c 3 -t 2 --streams 4 runs on the 2 threads asked for, carrying 2 connections and 1 (as
    HTTP/1.1 deals them), each with its 4 streams: nginx sees 3 connections, and every request
    is answered. With --users 10 the last connection carries 2 streams, the second thread's."""
    d = tempfile.mkdtemp(prefix="surge-h2-conns-")
    log = os.path.join(d, "access.log")
    with Nginx(h2=True, http_extra="log_format conn '$connection $status';",
               extra=f"access_log {log} conn;") as srv:
        p, doc = run_json("--h2", "--streams", "4", "-c", "3", "-t", "2", "-n", "1200",
                          srv.url("/"))
        assert ": 3 connections on 2 threads, " in p.stderr, p.stderr
        assert doc["generator"]["threads"] == 2, doc["generator"]
        t, kinds = check_totals(doc)
        assert t["responses"] == 1200 and t["errors"] == 0, (t, kinds)
        lines = access_lines(log)
        assert len(lines) == 1200 and all(line.endswith(" 200") for line in lines), lines[:3]
        assert len({line.split()[0] for line in lines}) == 3, sorted(set(lines))[:5]
        open(log, "w").close()
        p, doc = run_json("--h2", "--streams", "4", "--users", "10", "-t", "2", "-n", "600",
                          srv.url("/"))
        assert ": 3 connections on 2 threads, " in p.stderr, p.stderr
        t, kinds = check_totals(doc)
        assert t["responses"] == 600 and t["errors"] == 0, (t, kinds)
        assert doc["generator"]["threads"] == 2, doc["generator"]
        lines = access_lines(log)
        assert len(lines) == 600 and len({line.split()[0] for line in lines}) == 3, lines[:3]


def test_h2_over_tls_through_alpn():
    """https:// with --h2 offers h2 in ALPN; nginx logs HTTP/2.0 for every request. A TLS
    server that does not take h2 answers nothing: each request is a protocol_error."""
    srv, log = nginx_logging(tls=True)
    with srv:
        _, doc = run_json("--h2", "--streams", "4", "-c", "3", "-t", "2", "-k", "-n", "600",
                          srv.url("/big"))
        t, kinds = check_totals(doc)
        assert t["responses"] == 600 and t["errors"] == 0, (t, kinds)
        assert doc["config"]["protocol"] == "h2"
        assert t["bytes_in"] > 600 * 4000, t  # the body came, DATA frames counted
    lines = access_lines(log)
    assert len(lines) == 600 and all(line.startswith("HTTP/2.0 200") for line in lines)
    with Nginx(tls=True) as plain:  # HTTP/1.1 only
        p, doc = run_json("--h2", "-c", "1", "-k", "-n", "5", "--timeout", "5s", plain.url("/"),
                          check_rc=None)
        t, kinds = check_totals(doc)
        # nginx ends the handshake (no_application_protocol): tls_error, one per request
        assert t["responses"] == 0 and kinds["tls_error"] == 5, (t, kinds)
        assert p.returncode == 3, p.returncode  # not one valid response


def test_more_streams_than_the_server_allows_wait_for_one():
    """--streams 300 against nginx, whose limit is 128 streams per connection: no more than
    100 open before its SETTINGS say so, then 128; the rest wait for a stream. None is refused
    (before, 300 at once made nginx reset the extra ones and go away, connection after
    connection: thousands of stream_reset and goaway)."""
    with Nginx(h2=True) as srv:
        _, doc = run_json("--h2", "--streams", "300", "-c", "1", "-t", "1", "-n", "3000",
                          srv.url("/"))
    t, kinds = check_totals(doc)
    assert t["responses"] == 3000 and t["errors"] == 0, (t, kinds)


def test_open_model_over_h2c():
    """-R over HTTP/2: the arrivals of the rate (never more; a busy host may leave some
    unsent or out at the end), on 2 connections of 5 streams."""
    with Nginx(h2=True) as srv:
        _, doc = run_json("--h2", "--streams", "5", "-c", "2", "-t", "1", "-R", "200", "-d",
                          "2s", srv.url("/"))
    t, kinds = check_totals(doc)
    assert t["errors"] == 0 and t["responses"] >= 200, (t, kinds)
    assert t["responses"] + t["unfinished"] + t["dropped"] <= 400, t
    assert doc["config"]["model"] == "open" and doc["config"]["connections"] == 2


def test_open_model_latency_counts_from_the_intended_time():
    """surge serve over h2c, /api/slow?delay=100ms on one stream of one connection, at 20
    arrivals a second where that stream serves 10: arrival k waits for the k before it, so
    its latency (from its intended time) is about 100 + 50k ms while its service time stays
    100 ms. The open model over HTTP/2 shows the queue, as over HTTP/1.1."""
    with Serve() as srv:
        _, doc = run_json("--h2", "--streams", "1", "-c", "1", "-t", "1", "-R", "20", "-d",
                          "2s", "--max-queue", "100", srv.url("/api/slow?delay=100ms"),
                          check_rc=None)
    t, kinds = check_totals(doc)
    assert t["errors"] == 0 and 5 <= t["responses"] <= 21, (t, kinds)
    assert doc["service_ms"]["p50"] >= 100, doc["service_ms"]
    assert doc["latency_ms"]["p50"] >= 2 * doc["service_ms"]["p50"], \
        (doc["latency_ms"], doc["service_ms"])
    assert t["late"] > 0, t  # arrivals waited for the stream


# ---- HTTP/2 servers on raw frames ----

def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + \
        struct.pack(">I", stream) + payload


def answer(conn, stream, status=b"\x88"):
    """:status 200 (HPACK static index 8), then a body of two bytes."""
    conn.sendall(frame(HEADERS, END_HEADERS, stream, status) +
                 frame(DATA, END_STREAM, stream, b"ok"))


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def h2_server(on_request):
    """A server that reads the client's preface and frames, acknowledges SETTINGS and PING,
    records the streams the client reset, and calls on_request(server, conn, state, stream)
    for each request (a HEADERS frame); False from it closes the connection."""

    def handler(server, conn):
        if recv_exact(conn, len(PREFACE)) != PREFACE:
            return
        conn.sendall(frame(SETTINGS, 0, 0, server.handler_settings))
        state = {"open": []}
        with server.lock:
            server.connections += 1
        while True:
            head = recv_exact(conn, 9)
            if head is None:
                return
            length = int.from_bytes(head[:3], "big")
            kind, flags = head[3], head[4]
            stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
            payload = recv_exact(conn, length) if length else b""
            if payload is None:
                return
            if kind == SETTINGS and not flags & ACK:
                conn.sendall(frame(SETTINGS, ACK, 0))
            elif kind == PING and not flags & ACK:
                conn.sendall(frame(PING, ACK, 0, payload))
            elif kind == DATA:
                with server.lock:
                    server.data_frames += 1
            elif kind == RST_STREAM:
                with server.lock:
                    server.client_resets.append(stream)
            elif kind == HEADERS:
                with server.lock:
                    server.streams += 1
                if on_request(server, conn, state, stream) is False:
                    # an orderly close: what the client still sends is read, so that the
                    # kernel does not answer it with a reset that loses what was written
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(65536):
                        pass
                    return

    srv = RawServer(handler)
    srv.connections = srv.streams = srv.data_frames = 0
    srv.handler_settings = b""  # the SETTINGS it sends first (none: the defaults)
    srv.client_resets, srv.held = [], []
    return srv


def test_streams_are_concurrent():
    """-c 1 --streams 10: a server that answers only once ten streams are open on the
    connection sees ten each time, on one connection (a client one stream at a time would wait
    for ever: the run would end in timeouts)."""
    def hold_ten(server, conn, state, stream):
        state["open"].append(stream)
        if len(state["open"]) == 10:
            with server.lock:
                server.held.append(len(state["open"]))
            for s in state["open"]:
                answer(conn, s)
            state["open"] = []

    with h2_server(hold_ten) as srv:
        _, doc = run_json("--h2", "--streams", "10", "-c", "1", "-t", "1", "-n", "50",
                          "--timeout", "10s", srv.url())
    t, kinds = check_totals(doc)
    assert t["responses"] == 50 and t["errors"] == 0, (t, kinds)
    assert srv.held == [10] * 5 and srv.connections == 1, (srv.held, srv.connections)
    # the same with a server that allows fewer streams than asked: never more than it says
    def limited(server, conn, state, stream):
        if not state.get("said"):
            conn.sendall(frame(SETTINGS, 0, 0, struct.pack(">HI", 3, 2)))  # MAX_CONCURRENT 2
            state["said"] = True
        state["open"].append(stream)
        if len(state["open"]) >= 2:
            with server.lock:
                server.held.append(len(state["open"]))
            for s in state["open"]:
                answer(conn, s)
            state["open"] = []

    with h2_server(limited) as srv:
        _, doc = run_json("--h2", "--streams", "10", "-c", "1", "-t", "1", "-n", "40",
                          "--timeout", "10s", srv.url())
    t, kinds = check_totals(doc)
    assert t["responses"] == 40 and t["errors"] == 0, (t, kinds)
    assert max(srv.held) == 2, srv.held


def test_reset_streams_are_counted_by_kind():
    """The server resets every fourth stream (CANCEL) and every tenth for FLOW_CONTROL_ERROR:
    each is one error of its kind, the rest responses; the server saw every request once."""
    def resetting(server, conn, state, stream):
        n = state["n"] = state.get("n", 0) + 1
        if n % 10 == 0:
            conn.sendall(frame(RST_STREAM, 0, stream, struct.pack(">I", FLOW_CONTROL_ERROR)))
        elif n % 4 == 0:
            conn.sendall(frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL)))
        else:
            answer(conn, stream)

    with h2_server(resetting) as srv:
        _, doc = run_json("--h2", "--streams", "4", "-c", "1", "-t", "1", "-n", "100",
                          srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert srv.streams == 100 and srv.connections == 1, (srv.streams, srv.connections)
    # multiples of 4 but not of 10: 25 less the five of 20
    assert kinds["flow_control"] == 10 and kinds["stream_reset"] == 20, kinds
    assert t["responses"] == 70 and t["errors"] == 30, t


def test_goaway_is_counted():
    """A server that holds four streams, answers the first two, then says GOAWAY with the
    second as the last it will process and closes: the two others are goaway each (and so is
    a request the client started after the answers and before it read the GOAWAY: above the
    last stream, never processed), and the client goes on on a new connection."""
    def going_away(server, conn, state, stream):
        state["open"].append(stream)
        if len(state["open"]) < 4:
            return True
        first, second = state["open"][:2]
        answer(conn, first)
        answer(conn, second)
        conn.sendall(frame(GOAWAY, 0, 0, struct.pack(">II", second, 0)))
        return False

    with h2_server(going_away) as srv:
        _, doc = run_json("--h2", "--streams", "4", "-c", "1", "-t", "1", "-n", "40",
                          "--timeout", "10s", srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert t["responses"] == 2 * srv.connections and srv.streams == 4 * srv.connections, \
        (t, srv.connections, srv.streams)
    assert kinds["goaway"] == 40 - t["responses"] >= 2 * srv.connections, (t, kinds)


def test_a_silent_server_times_out_stream_by_stream():
    """Streams that are never answered: read_timeout each, and each stream reset (CANCEL)
    while the connection stays (one connection for all)."""
    with h2_server(lambda server, conn, state, stream: True) as srv:
        _, doc = run_json("--h2", "--streams", "4", "-c", "1", "-t", "1", "-n", "8",
                          "--timeout", "500ms", srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert kinds["read_timeout"] == 8 and t["responses"] == 0, (t, kinds)
    assert srv.connections == 1 and srv.streams == 8, (srv.connections, srv.streams)
    assert sorted(srv.client_resets)[:4] == [1, 3, 5, 7], srv.client_resets


def test_a_closed_window_is_a_flow_control_stall():
    """A server that opens no flow-control window (SETTINGS_INITIAL_WINDOW_SIZE 0) for POST
    bodies and never answers. The first three requests go with the connection's first write,
    before the server's SETTINGS are read (the default window: their bodies are sent), and
    time out as read_timeout; the next three find the window closed, their HEADERS go and
    their bodies cannot: at the timeout each is flow_control. Three DATA frames, no more."""
    def closed_window(server, conn, state, stream):
        return True  # it has what it needs to hold the bodies back: its SETTINGS

    srv = h2_server(closed_window)
    srv.handler_settings = struct.pack(">HI", 4, 0)  # INITIAL_WINDOW_SIZE 0
    with srv:
        _, doc = run_json("--h2", "--streams", "3", "-c", "1", "-t", "1", "-n", "6",
                          "--body", "x" * 100, "--timeout", "500ms", srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert kinds["read_timeout"] == 3 and kinds["flow_control"] == 3, (t, kinds)
    assert t["responses"] == 0 and t["requests"] == 6, t
    assert srv.streams == 6 and srv.data_frames == 3, (srv.streams, srv.data_frames)


def test_compare_says_when_protocol_or_streams_differ():
    """surge compare warns when the runs' config.protocol or config.streams differ (an HTTP/1.1
    document has neither: http/1.1, 1 stream), and not when they agree."""
    with Nginx(h2=True) as srv, tempfile.TemporaryDirectory() as d:
        paths = {}
        for name, args in [("m1", ["--streams", "1"]), ("m4", ["--streams", "4"]),
                           ("m4b", ["--streams", "4"])]:
            paths[name] = os.path.join(d, name + ".json")
            surge("run", "-q", "--h2", *args, "-c", "1", "-t", "1", "-n", "200", "--json",
                  paths[name], srv.url("/"), check_rc=0)
        p = surge("compare", paths["m1"], paths["m4"])
        assert "config.streams '1' vs '4'" in p.stderr, p.stderr
        p = surge("compare", paths["m4"], paths["m4b"])
        assert "measured different things" not in p.stderr, p.stderr
        with Nginx() as plain:
            h1 = os.path.join(d, "h1.json")
            surge("run", "-q", "-c", "1", "-t", "1", "-n", "200", "--json", h1, plain.url("/"),
                  check_rc=0)
        p = surge("compare", h1, paths["m1"])
        assert "config.protocol 'http/1.1' vs 'h2c'" in p.stderr, p.stderr


def test_an_http11_server_behind_h2c_is_a_protocol_error():
    """--h2 against a server that speaks HTTP/1.1 only (it answers the preface with a 400 and
    closes, as HTTP/1.1 servers do): each request is one protocol_error, on time."""
    def http11(server, conn):
        conn.recv(65536)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    with RawServer(http11) as srv:
        p, doc = run_json("--h2", "--streams", "2", "-c", "1", "-t", "1", "-n", "6",
                          srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert kinds["protocol_error"] == 6 and t["responses"] == 0, (t, kinds)
    assert p.returncode == 3, p.returncode


def hpack_int(v, prefix_bits):
    """An HPACK integer with an empty first byte above its prefix."""
    top = (1 << prefix_bits) - 1
    if v < top:
        return bytes([v])
    out, v = [top], v - top
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    return bytes(out + [v])


def test_a_header_field_over_64k_ends_the_connection():
    """A response with a 70,000-byte header field (in HEADERS and CONTINUATION frames):
    nghttp2's HPACK bound ends the connection, each request one protocol_error, and the next
    goes on a new connection; 60,000 bytes is a response."""
    def big_field(size):
        def handler(server, conn, state, stream):
            block = b"\x88\x00" + hpack_int(5, 7) + b"x-big" + hpack_int(size, 7) + b"a" * size
            chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
            out = b""
            for i, chunk in enumerate(chunks):
                flags = END_HEADERS if i == len(chunks) - 1 else 0
                out += frame(HEADERS if i == 0 else 9, flags, stream, chunk)  # 9: CONTINUATION
            conn.sendall(out + frame(DATA, END_STREAM, stream, b"ok"))
        return handler

    with h2_server(big_field(70000)) as srv:
        _, doc = run_json("--h2", "-c", "1", "-t", "1", "-n", "3", srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert kinds["protocol_error"] == 3 and t["responses"] == 0, (t, kinds)
    assert srv.connections == 3, srv.connections
    with h2_server(big_field(60000)) as srv:
        _, doc = run_json("--h2", "-c", "1", "-t", "1", "-n", "3", srv.url())
    assert doc["totals"]["responses"] == 3 and srv.connections == 1, (doc["totals"], srv.connections)


def run_json_busy(*args):
    """run_json accepting exit 4 (the generator short of CPU on a busy host: no count
    changes)."""
    p, doc = run_json(*args, timeout=90, check_rc=None)
    assert p.returncode in (0, 4), (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    return p, doc


def test_group_by_header_over_h2():
    """--group-by-header reads each response's HPACK-decoded header as HTTP/1.1 reads its line:
    three `surge serve` behind nginx (HTTP/2 over TLS in front, round robin), each instance's
    count of the run's requests (its /metrics) is its value's; `surge serve` answering h2c
    itself puts all under its name; the first of two fields counts, a value past 128 bytes is
    cut and counted truncated, a response without the header missing."""
    names = ("pod-a", "pod-b", "pod-c")
    with Serve("--instance-name", "pod-a", "--access-log", "off") as a, \
            Serve("--instance-name", "pod-b", "--access-log", "off") as b, \
            Serve("--instance-name", "pod-c", "--access-log", "off") as c:
        instances = dict(zip(names, (a, b, c)))
        upstream = " ".join(f"server 127.0.0.1:{s.port};" for s in instances.values())
        lb = Nginx(tls=True, h2=True,
                   http_extra=f"upstream pods {{ {upstream} keepalive 32; }}",
                   extra="location /api/ { proxy_pass http://pods; proxy_http_version 1.1; "
                         "proxy_set_header Connection \"\"; proxy_next_upstream off; }")
        with lb:
            before = {n: served(s) for n, s in instances.items()}
            p, doc = run_json_busy("--h2", "--streams", "4", "-c", "2", "-t", "1", "-k", "-n",
                                   "3000", "--group-by-header", "X-Served-By", "--threshold",
                                   "balance<1.2", lb.url(PATH))
        t, _ = check_totals(doc)
        assert t["responses"] == 3000 and t["errors"] == 0, t
        assert doc["config"]["protocol"] == "h2", doc["config"]
        g, values = doc["group_by"], by_value(doc)
        assert set(values) == set(names), values.keys()
        for n, s in instances.items():
            assert values[n]["requests"] == served(s) - before[n], (n, values[n])
        assert g["requests"] == 3000 and g["missing"] == g["overflow"] == g["truncated"] == 0, g
        assert g["spread"] < 1.05, g  # nginx's round robin: within a request or so of even
        assert "X-Served-By" in p.stdout and "spread" in p.stdout, p.stdout

        # surge serve answers h2c by prior knowledge itself: one value, its own count
        before = served(a)
        _, doc = run_json_busy("--h2", "--streams", "8", "-c", "1", "-t", "1", "-n", "500",
                               "--group-by-header", "x-served-by", a.url(PATH))
        assert doc["config"]["protocol"] == "h2c", doc["config"]
        g = doc["group_by"]
        assert [(v["value"], v["requests"]) for v in g["values"]] == [("pod-a", 500)], g
        assert served(a) - before == 500

    long_value = "v" * 200
    fields = ("location /two { add_header X-Which first; add_header X-Which second; "
              "return 200 ok; } "
              f"location /long {{ add_header X-Which {long_value}; return 200 ok; }}")
    with Nginx(h2=True, extra=fields) as srv:
        _, doc = run_json_busy("--h2", "--streams", "4", "-c", "1", "-n", "40",
                               "--group-by-header", "X-Which", srv.url("/two"))
        g = doc["group_by"]
        assert [(v["value"], v["requests"]) for v in g["values"]] == [("first", 40)], g
        _, doc = run_json_busy("--h2", "-c", "1", "-n", "20", "--group-by-header", "x-which",
                               srv.url("/long"))
        g = doc["group_by"]
        assert [(v["value"], v["requests"]) for v in g["values"]] == [("v" * 128, 20)], g
        assert g["truncated"] == 20, g
        _, doc = run_json_busy("--h2", "-c", "1", "-n", "20", "--group-by-header", "x-which",
                               srv.url("/"))
        g = doc["group_by"]
        assert g["values"] == [] and g["missing"] == 20, g


def scenario_file(text):
    d = tempfile.mkdtemp(prefix="surge-h2-scenario-")
    path = os.path.join(d, "scenario.lua")
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def endpoints(doc):
    return {(e["method"], e["name"]): e for e in doc["endpoints"]}


def checks(doc):
    return {c["name"]: (c["passes"], c["fails"]) for c in doc["checks"]}


FAT = "f" * 4000  # nginx takes a parameter of 4 KiB at most: five of them
NGINX_SCENARIO = """
options = { users = 4 }
tasks = { t = task(1, function(u)
  local r = u:get("/", { name = "home" })
  u:check(r.status == 200 and r.body == "hello, world\\n", "home body")
  r = u:get("/hdr?x=1", { name = "hdr", headers = { ["X-Req"] = "1" } })
  u:check(r.headers["x-token"] == "abc" and r.headers["x-echo"] == "1" and r.body == "body-abc",
          "header and body")
  r = u:post("/post", { body = string.rep("p", 1000), name = "post" })
  u:check(r.status == 200 and r.body == "1000", "post body sent")
  r = u:get("/status404", { name = "missing", expect = 404 })
  u:check(r.ok and r.status == 404, "expected 404")
  r = u:get("/status404", { name = "unexpected" })
  u:check(not r.ok and r.error == nil, "404 is an error")
  r = u:get("/fat", { name = "fat" })
  u:check(r.error == "protocol_error" and r.status == 0, "headers past 16 KiB")
  u:sleep(0.002)
end) }
"""


def test_a_scenario_over_h2c_counts_match_nginx():
    """A scenario's users speak HTTP/2 (--h2): 4 users on --streams 2 are 4 streams on 2 TCP
    connections; every request nginx logged (as HTTP/2.0, by method and path) is one the
    scenario counted under its name; the Lua reads statuses, HPACK-decoded headers and bodies;
    a POST's body arrives; expect, checks and a header block past the 16 KiB a scenario keeps
    (a protocol_error, as over HTTP/1.1) count as over HTTP/1.1; users sleep and wake."""
    d = tempfile.mkdtemp(prefix="surge-h2-scenario-log-")
    log = os.path.join(d, "access.log")
    extra = (f"access_log {log} h2s; "
             "location /hdr { add_header X-Token abc; add_header X-Echo $http_x_req; "
             "return 200 body-abc; } "
             "location /post { client_body_buffer_size 64k; return 200 $content_length; } "
             "location /fat { " + " ".join(f"add_header X-{i} {FAT};" for i in range(5)) +
             " return 200 ok; }")
    srv = Nginx(h2=True, extra=extra,
                http_extra="log_format h2s '$server_protocol $status $request_method $uri "
                           "$connection';")
    with srv:
        p, doc = run_json_busy("--h2", "--streams", "2", "-t", "1", "-n", "600", "--host",
                               srv.url("").rstrip("/"), scenario_file(NGINX_SCENARIO))
    t, kinds = check_totals(doc)
    e = endpoints(doc)
    lines = [line.split() for line in access_lines(log)]
    assert doc["config"]["protocol"] == "h2c" and doc["config"]["streams"] == 2, doc["config"]
    assert doc["script_errors"] == [], doc["script_errors"]
    assert t["requests"] == 600 == len(lines), (t, len(lines))
    assert all(line[0] == "HTTP/2.0" for line in lines), lines[:3]
    assert len({line[4] for line in lines}) == 2, {line[4] for line in lines}
    logged = {}
    for proto, status, method, uri, conn in lines:
        logged[(method, uri)] = logged.get((method, uri), 0) + 1
    assert logged[("GET", "/")] == e[("GET", "home")]["requests"] > 0, (logged, e)
    assert logged[("GET", "/hdr")] == e[("GET", "hdr")]["requests"] > 0
    assert logged[("POST", "/post")] == e[("POST", "post")]["requests"] > 0
    assert logged[("GET", "/status404")] == \
        e[("GET", "missing")]["requests"] + e[("GET", "unexpected")]["requests"]
    assert logged[("GET", "/fat")] == e[("GET", "fat")]["requests"] > 0
    # the fat responses are errors without a response; the unexpected 404s errors with one
    assert kinds["protocol_error"] == e[("GET", "fat")]["errors"] == \
        e[("GET", "fat")]["requests"], (kinds, e[("GET", "fat")])
    assert t["errors"] == kinds["protocol_error"] + e[("GET", "unexpected")]["requests"], t
    assert e[("GET", "missing")]["errors"] == 0
    c = checks(doc)
    for name, key in (("home body", "home"), ("header and body", "hdr"),
                      ("post body sent", "post"), ("expected 404", "missing"),
                      ("404 is an error", "unexpected"), ("headers past 16 KiB", "fat")):
        method = "POST" if key == "post" else "GET"
        assert c[name] == (e[(method, key)]["requests"], 0), (name, c[name], e[(method, key)])
    assert e[("POST", "post")]["bytes_out"] > 1000 * e[("POST", "post")]["requests"], e


SERVE_SCENARIO = """
options = { users = 3 }
flow = {
  function(u)
    local r = u:post("/api/users", { json = { name = "ada", email = "a@example.com" },
                                     name = "create" })
    u:check(r.status == 201, "create 201")
    u.id = r:json().id
  end,
  function(u)
    local r = u:get("/api/users/" .. u.id, { name = "read" })
    u:check(r.status == 200 and r:json().id == u.id, "read back by id")
    u:check(r.headers["x-served-by"] == "pod-h2", "x-served-by header")
  end,
  function(u)
    local r = u:delete("/api/users/" .. u.id, { name = "delete" })
    u:check(r.ok, "delete ok")
    r = u:head("/health")
    u:check(r.status == 200 and r.body == "", "head has no body")
    r = u:get("/api/slow?delay=2", { timeout = 0.2, name = "slow" })
    u:check(r.status == 0 and r.error == "read_timeout", "per-request timeout")
  end,
}
"""


def test_a_scenario_over_h2_tls_against_surge_serve():
    """Over https:// (ALPN h2) against `surge serve --tls-cert`: a scenario's correlation
    (an id from one response's JSON in the next request), headers, HEAD and a per-request
    timeout (its stream reset, the connection kept) work as over HTTP/1.1, and the server
    counted as HTTP/2 every request the scenario counted as answered."""
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key,
                                 "--instance-name", "pod-h2") as srv:
        before = sample(metrics(srv, certs), "http_server_request_duration_seconds_count",
                        network_protocol_version="2")
        p, doc = run_json_busy("--h2", "-k", "-t", "1", "-n", "300", "--host",
                               f"https://127.0.0.1:{srv.port}", scenario_file(SERVE_SCENARIO))
        text = metrics(srv, certs)
    t, kinds = check_totals(doc)
    # by default one user, one HTTP/2 connection (as k6's VUs)
    assert doc["config"]["protocol"] == "h2" and doc["config"]["connections"] == 3, doc["config"]
    assert doc["script_errors"] == [], doc["script_errors"]
    c = checks(doc)
    assert len(c) == 6, c
    for name, (passes, fails) in c.items():
        assert fails == 0 and passes > 0, (name, c)
    e = endpoints(doc)
    slow = e[("GET", "slow")]
    assert slow["errors"] == slow["requests"] == kinds["read_timeout"] > 0, (slow, kinds)
    assert t["errors"] == kinds["read_timeout"] and t["responses"] == 300 - t["errors"], t
    # the server saw every answered request as HTTP/2 (the timed-out ones are still slept on
    # when the stream is reset: counted once answered, or not at all)
    h2 = sample(text, "http_server_request_duration_seconds_count",
                network_protocol_version="2") - before
    assert t["responses"] <= h2 <= t["requests"], (t, h2)
    # over HTTP/1.1 only this test's scrapes of /metrics
    assert sample(text, "http_server_request_duration_seconds_count",
                  network_protocol_version="1.1") == \
        sample(text, "http_server_request_duration_seconds_count",
               network_protocol_version="1.1", http_route="/metrics"), "an HTTP/1.1 request"
    for route, key in (("/api/users", ("POST", "create")), ("/api/users/{id}", ("GET", "read")),
                       ("/health", ("HEAD", "/health"))):
        served_here = sample(text, "http_server_request_duration_seconds_count",
                             http_route=route, http_request_method=key[0])
        assert served_here == e[key]["requests"], (route, served_here, e[key])


def test_a_scenario_sees_each_stream_error_by_kind():
    """A scenario's request on a stream the server resets ends with r.error 'stream_reset'
    and counts once in errors_by_kind; the others are answered; the server saw every request
    the budget allowed, on one connection per two users (--streams 2)."""
    def resetting(server, conn, state, stream):
        with server.lock:  # every third stream of the server's, whichever connection
            server.n = getattr(server, "n", 0) + 1
            n = server.n
        if n % 3 == 0:
            conn.sendall(frame(RST_STREAM, 0, stream, struct.pack(">I", CANCEL)))
        else:
            answer(conn, stream)

    path = scenario_file("""
        options = { users = 4 }
        tasks = { t = task(1, function(u)
          local r = u:get("/x", { name = "x" })
          surge.counter(r.error or ("status " .. r.status)):add(1)
        end) }
        """)
    with h2_server(resetting) as srv:
        _, doc = run_json("--h2", "--streams", "2", "-t", "1", "-n", "90", "--host",
                          srv.url("").rstrip("/"), path, check_rc=None)
    t, kinds = check_totals(doc)
    counters = doc["metrics"]["counters"]
    assert srv.streams == 90 and srv.connections == 2, (srv.streams, srv.connections)
    assert kinds["stream_reset"] == counters["stream_reset"] == 30, (kinds, counters)
    assert t["responses"] == counters["status 200"] == 60, (t, counters)


def test_refused_combinations():
    cases = [
        (["--streams", "4", "http://127.0.0.1:1/"], "--streams"),
        (["--h2", "--pipeline", "2", "http://127.0.0.1:1/"], "--pipeline"),
        (["--h2", "--streams", "0", "http://127.0.0.1:1/"], "--streams"),
        (["--h2", "--streams", "1001", "http://127.0.0.1:1/"], "--streams"),
        (["--h2", "-H", "Connection: close", "-n", "1", "http://127.0.0.1:1/"], "Connection"),
        (["--h2", "-H", "Upgrade: h2c", "-n", "1", "http://127.0.0.1:1/"], "Upgrade"),
    ]
    for args, needle in cases:
        p = surge("run", *args, timeout=30)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        line = p.stderr.strip().splitlines()[0]
        assert line.startswith("surge run: ") and needle in line, (args, p.stderr)


if __name__ == "__main__":
    main([test_h2c_counts_match_nginx, test_threads_deal_whole_connections_unevenly,
          test_h2_over_tls_through_alpn, test_open_model_over_h2c,
          test_open_model_latency_counts_from_the_intended_time,
          test_more_streams_than_the_server_allows_wait_for_one,
          test_streams_are_concurrent, test_reset_streams_are_counted_by_kind,
          test_goaway_is_counted, test_a_silent_server_times_out_stream_by_stream,
          test_a_closed_window_is_a_flow_control_stall,
          test_compare_says_when_protocol_or_streams_differ,
          test_an_http11_server_behind_h2c_is_a_protocol_error,
          test_a_header_field_over_64k_ends_the_connection, test_group_by_header_over_h2,
          test_a_scenario_over_h2c_counts_match_nginx,
          test_a_scenario_over_h2_tls_against_surge_serve,
          test_a_scenario_sees_each_stream_error_by_kind, test_refused_combinations])
