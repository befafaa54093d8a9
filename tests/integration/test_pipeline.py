"""`surge run --pipeline N` (HTTP/1.1 pipelining, wrk's pipeline.lua) against real servers on
loopback: a raw-socket server that answers only once it holds N requests (a client that waited
for each answer would wait for ever), `surge serve` for the totals and the latency of a server
that answers pipelined requests one after the other, and servers that close, reset or fall
silent with requests out. The result's invariant holds throughout: requests == responses + the
sum of the error kinds, each request counted once."""

import os
import re
import socket
import struct
import tempfile
import time

from harness import Nginx, RawServer, Serve, Skip, main, run_json, surge

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
OK_CLOSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
KINDS = ("connect_refused", "connect_timeout", "connect_error", "read_timeout", "reset",
         "closed_early", "protocol_error", "tls_error", "resource_error")


def check_totals(doc):
    """Every request is one response or one error of one kind."""
    t, kinds = doc["totals"], doc["errors_by_kind"]
    assert t["requests"] == t["responses"] + sum(kinds[k] for k in KINDS), (t, kinds)
    return t, kinds


def holding(n, act):
    """A handler that reads until the connection holds n whole requests (GETs: heads only),
    records how many it held, then act(server, conn). With repeat, it does so again until the
    client closes."""

    def handler(server, conn):
        buf = b""
        while True:
            while buf.count(b"\r\n\r\n") < n:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            with server.lock:
                server.held.append(buf.count(b"\r\n\r\n"))
                server.requests.extend(buf.split(b"\r\n\r\n")[:-1])
            buf = b""
            if not act(server, conn):
                return

    return handler


def raw_server(handler):
    srv = RawServer(handler)
    srv.held = []
    return srv


def test_the_server_holds_n_requests_before_answering_any():
    """Four requests in flight on one connection, never more: the server answers only when
    it holds four, and sees four each time."""
    def answer_all(server, conn):
        conn.sendall(OK * 4)
        return True

    with raw_server(holding(4, answer_all)) as srv:
        _, doc = run_json("-t", "1", "-c", "1", "-n", "20", "--pipeline", "4", "--timeout", "10s",
                          srv.url())
    t, kinds = check_totals(doc)
    assert t["responses"] == 20 and t["errors"] == 0 and t["unfinished"] == 0, (t, kinds)
    assert srv.held == [4] * 5, srv.held
    assert len(srv.requests) == 20 and len(set(srv.requests)) == 1, srv.requests[:2]
    assert doc["config"]["pipeline"] == 4, doc["config"]
    # each request's bytes once: bytes_out is 20 requests, not 20 pipelines
    assert t["bytes_out"] == 20 * (len(srv.requests[0]) + 4), (t, len(srv.requests[0]))


def serve_requests(srv, route="/health"):
    """What surge serve counted for route (its request-duration histogram's count)."""
    from harness import http
    _, _, body = http("GET", srv.url("/metrics"))
    n = 0
    for line in body.decode().splitlines():
        if line.startswith("http_server_request_duration_seconds_count{") and \
                f'http_route="{route}"' in line:
            n += int(float(line.rsplit(" ", 1)[1]))
    return n


def test_totals_add_up_against_surge_serve():
    with Serve() as srv:
        # -n: exact, on the server's count too, with a pipeline the budget does not divide
        _, doc = run_json("-t", "2", "-c", "3", "-n", "1000", "--pipeline", "7", srv.url("/health"))
        t, _ = check_totals(doc)
        assert t["responses"] == 1000 and t["errors"] == 0 and t["unfinished"] == 0, t
        assert serve_requests(srv) == 1000
        # -d: what is out when the time is up is unfinished, at most N per connection
        _, doc = run_json("-t", "2", "-c", "8", "-d", "2s", "--pipeline", "16",
                          srv.url("/health"))
        t, _ = check_totals(doc)
        assert t["responses"] > 1000 and t["errors"] == 0, t
        assert 0 < t["unfinished"] <= 8 * 16, t
        assert serve_requests(srv) >= 1000 + t["responses"]
        assert doc["config"]["pipeline"] == 16
        assert sum(p["requests"] for p in doc["timeline"]) == t["requests"]
        # the default: one at a time, recorded as 1
        _, doc = run_json("-t", "1", "-c", "2", "-n", "50", srv.url("/health"))
        assert doc["config"]["pipeline"] == 1 and doc["totals"]["responses"] == 50


def test_users_that_leave_take_their_answers_first():
    """Closed-model stages: a user asked to leave sends no more and leaves once its requests
    out are answered (none abandoned, none counted twice); at the end only the one user
    left has requests out."""
    with Serve() as srv:
        _, doc = run_json("-t", "1", "--stages", "1s:6,1s:1,1s:1", "--pipeline", "8",
                          srv.url("/health"))
    t, _ = check_totals(doc)
    assert t["errors"] == 0 and 0 < t["unfinished"] <= 8, t
    assert doc["timeline"][-1]["users"] <= 1 and max(p["users"] for p in doc["timeline"]) >= 4, \
        doc["timeline"]


def test_nginx_plain_and_tls_with_bodies_both_ways():
    """Answers larger than a read (4 KB each, 8 out) and requests with a body, over TCP and
    over TLS: -n is exact and nothing fails."""
    for tls in (False, True):
        with Nginx(tls=tls) as ngx:
            args = ["-k"] if tls else ["--body", "x" * 3000]
            _, doc = run_json("-t", "2", "-c", "4", "-n", "3000", "--pipeline", "8", *args,
                              ngx.url("/big"))
        t, _ = check_totals(doc)
        assert t["responses"] == 3000 and t["errors"] == 0 and t["unfinished"] == 0, (tls, t)
        assert doc["status_codes"] == {"200": 3000}, doc["status_codes"]
        assert t["bytes_in"] > 3000 * 4000, t


def test_latency_counts_from_each_request_own_send():
    """surge serve answers a connection's pipelined requests one after the other: with a
    50 ms delay and N = 4 in flight, each request waits for the three before it, so its own
    latency is ~4 x 50 ms (what the client's user would see), while N = 1 sees 50 ms. The
    throughput per connection is the server's (one answer per 50 ms) either way."""
    delay_ms = 50
    with Serve() as srv:
        url = srv.url(f"/api/slow?delay={delay_ms}ms")
        _, one = run_json("-t", "1", "-c", "1", "-d", "3s", url)
        _, four = run_json("-t", "1", "-c", "1", "-d", "3s", "--pipeline", "4", url)
    for doc in (one, four):
        check_totals(doc)
        assert doc["totals"]["errors"] == 0, doc["totals"]
    l1, l4 = one["latency_ms"], four["latency_ms"]
    # the server cannot answer sooner than it was told; a busy host only adds
    assert l1["min"] >= delay_ms * 0.98 and l4["min"] >= delay_ms * 0.98, (l1, l4)
    # the first pipeline's answers come at 1, 2, 3 x the delay; every later request waits
    # behind three others: 4 x
    assert l4["p50"] >= 4 * delay_ms * 0.98, l4
    assert l4["p50"] > 2.5 * l1["p50"], (l1, l4)
    # closed model: the latency is the service time, each from its own request's send
    assert four["service_ms"]["p50"] == l4["p50"], (four["service_ms"], l4)


def test_a_connection_that_dies_counts_each_request_out_once():
    """The server holds the pipelined requests, then ends the connection in one way per
    case; each request out counts once: as an answer or as one error of the case's kind."""
    def close_header(server, conn):  # answers the first with Connection: close
        conn.sendall(OK_CLOSE)
        return False

    def fin_after_one(server, conn):  # answers the first, then closes (FIN)
        conn.sendall(OK)
        return False

    def half_then_close(server, conn):  # the first whole, the second cut short
        conn.sendall(OK + b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nok")
        return False

    def reset(server, conn):  # nothing answered: a reset
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False

    def silent_after_one(server, conn):  # answers the first, then nothing until closed
        conn.sendall(OK)
        while conn.recv(65536):
            pass
        return False

    # (act, -n, expected responses, expected errors by kind); -c 1, --pipeline 4: each
    # connection holds 4 requests (the server reads them all before it acts: closing with
    # unread requests would make the kernel send a reset instead of a FIN). With -n 4 the
    # budget is spent on the first four, so no request is sent after the first answer.
    cases = [
        (close_header, 8, 2, {"closed_early": 6}),  # two connections, 1 + 3 each
        (fin_after_one, 4, 1, {"closed_early": 3}),
        (half_then_close, 4, 1, {"closed_early": 3}),
        (reset, 8, 0, {"reset": 8}),
        (silent_after_one, 4, 1, {"read_timeout": 3}),
    ]
    for act, n, responses, errors in cases:
        with raw_server(holding(4, act)) as srv:
            p, doc = run_json("-t", "1", "-c", "1", "-n", str(n), "--pipeline", "4",
                              "--timeout", "1s", srv.url(), check_rc=None)
        assert p.returncode in (0, 3), (act.__name__, p.returncode, p.stderr)
        t, kinds = check_totals(doc)
        got = {k: kinds[k] for k in KINDS if kinds[k]}
        assert t["requests"] == n and t["responses"] == responses and got == errors, \
            (act.__name__, t, got)
        assert t["unfinished"] == 0 and srv.held == [4] * (n // 4), (act.__name__, t, srv.held)


def test_an_early_answer_ends_the_write():
    """A server may answer before it has read a request's body (RFC 9112 allows it: a 413, a
    401): here the four requests out are answered while surge still writes their 1 MB
    bodies into a server that reads nothing more. All count as answers; the rest of the write
    has no place on the connection, which is closed at once (before, it stayed writing with
    nothing out, and the server's close or the timeout counted one more request that was
    never sent)."""
    def answer_early(server, conn):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(4096)
            if not chunk:
                return
            buf += chunk
        with server.lock:
            server.requests.append(buf.split(b"\r\n\r\n")[0])
        conn.sendall(OK * 4)
        server.stopping.wait(3)  # reads nothing more; surge must not wait for it

    with RawServer(answer_early) as srv, tempfile.NamedTemporaryFile() as body:
        body.write(b"x" * 1000000)
        body.flush()
        # a small receive buffer (inherited by the accepted socket) and 4 MB in one write,
        # as much as the kernel's send buffer may grow to here (tcp_wmem): the write stalls
        srv.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        _, doc = run_json("-t", "1", "-c", "1", "-n", "4", "--pipeline", "4", "--timeout",
                          "2s", "--body-file", body.name, srv.url(), check_rc=None)
    t, kinds = check_totals(doc)
    assert t["requests"] == 4 and t["responses"] == 4 and t["errors"] == 0, (t, kinds)
    assert len(srv.requests) == 1, srv.requests  # one connection
    if t["bytes_out"]:  # counted when a write ends: this one ended, so nothing was early
        raise Skip("the 4 MB write did not stall on this host (its tcp_wmem took it all)")


def per_request(bad):
    """test_hostile's misbehaviour bad(server, conn) once per pipelined request, in order,
    until it returns False; then what the client sent since is read before the connection
    closes (closing with unread bytes would send a reset instead of what bad meant)."""
    def handler(server, conn):
        pending = b""
        while True:
            while b"\r\n\r\n" not in pending:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                pending += chunk
            head, _, pending = pending.partition(b"\r\n\r\n")
            with server.lock:
                server.requests.append(head)
            if not bad(server, conn):
                break
        try:
            conn.settimeout(0.1)
            while conn.recv(65536):
                pass
        except OSError:
            pass

    return handler


def hold_until_closed(server, conn, seconds=30):
    """test_hostile's hold(), over as soon as the client closes: a plain run reconnects at
    full speed, and a server thread per connection holding it for seconds would be
    thousands of threads (reading what the client sends meanwhile changes nothing: the
    server answers none of it)."""
    deadline = time.monotonic() + seconds
    conn.settimeout(0.05)
    while not server.stopping.is_set() and time.monotonic() < deadline:
        try:
            if not conn.recv(65536):
                return
        except socket.timeout:
            continue
        except OSError:
            return


def test_every_hostile_server_with_requests_out():
    """test_hostile's catalogue of misbehaving servers, each against a plain run with 4
    requests out per connection: no crash, no hang (duration + timeout + its margin),
    bounded memory, every request once — as an answer or as the case's one error kind
    (a body ended by the close is an answer; the requests behind it are closed_early)."""
    import concurrent.futures
    import test_hostile as h

    expected = {"half_close_ends_a_close_delimited_body": "closed_early"}

    def one(case):
        name, bad, kind = case
        # test_hostile's: a short timeout where the timeout is what is tested, else one a
        # Python server slow to misbehave on a busy host does not run into
        duration, timeout = h.timing(bad, kind)
        with RawServer(per_request(bad)) as srv:
            start = time.monotonic()
            p, doc = run_json("-t", "1", "-c", "2", "-d", f"{duration}s", "--timeout",
                              f"{timeout}s", "--pipeline", "4", srv.url(), check_rc=None,
                              timeout=60)
            limit = duration + timeout + h.MARGIN_S
            return name, expected.get(name, kind), p, doc, time.monotonic() - start, limit

    hold, h.hold = h.hold, hold_until_closed
    try:
        with concurrent.futures.ThreadPoolExecutor(h.PARALLEL) as pool:
            outcomes = list(pool.map(one, h.SCENARIO_CASES))
    finally:
        h.hold = hold
    failures = []
    for name, kind, p, doc, elapsed, limit in outcomes:
        t, kinds = check_totals(doc)
        got = {k for k in KINDS if kinds[k]}
        problems = [
            p.returncode not in (0, 3, 4) and f"exit {p.returncode}: {p.stderr[-500:]}",
            # the run's own length (test_hostile.check_common says why not the wall time)
            doc["duration_s"] > limit
            and f"lasted {doc['duration_s']:.1f}s, more than {limit:.1f}s",
            doc["generator"]["max_rss_bytes"] > h.MAX_RSS and "max RSS over bound",
            got != ({kind} if kind else set()) and f"kinds {got}, expected {kind}",
            t["unfinished"] > 2 * 4 and f"unfinished {t['unfinished']}",
        ]
        failures += [f"{name}: {x}" for x in problems if x]
    if os.environ.get("PIPELINE_VERBOSE"):
        for name, kind, p, doc, elapsed, _ in outcomes:
            print(f"    {name}: {doc['totals']['requests']} requests, "
                  f"{doc['totals']['responses']} answers, {kind}, {elapsed:.1f}s", flush=True)
    assert not failures, "\n".join(failures)


def test_compare_says_when_the_pipelines_differ():
    """Latency per request depends on N: compare warns that the runs measured different
    things, as for another URL, and not when they agree."""
    with Serve() as srv, tempfile.TemporaryDirectory() as d:
        paths = {}
        for n in ("1", "4"):
            paths[n] = os.path.join(d, f"p{n}.json")
            surge("run", "-q", "-t", "1", "-c", "2", "-n", "200", "--pipeline", n, "--json",
                  paths[n], srv.url("/health"), check_rc=0)
        p = surge("compare", "--tolerance", "1000000%", paths["1"], paths["4"], check_rc=0)
        assert "different things (config.pipeline '1' vs '4')" in p.stderr, p.stderr
        p = surge("compare", paths["4"], paths["4"], check_rc=0)
        assert "warning" not in p.stderr, p.stderr


def test_bad_values_and_other_models_are_usage_errors():
    url = "http://127.0.0.1:9/"
    for value in ("0", "257", "-1", "four", "", "4.5"):
        p = surge("run", "--pipeline", value, url, timeout=30)
        first = p.stderr.splitlines()[0] if p.stderr else ""
        assert p.returncode == 2 and first.startswith("surge run: --pipeline"), (value, p.stderr)
        assert "1 to 256" in first, first
    p = surge("run", url, timeout=30, env={**os.environ, "SURGE_PIPELINE": "1000"})
    assert p.returncode == 2 and p.stderr.startswith("surge run: $SURGE_PIPELINE: '1000'"), \
        p.stderr
    # the open model: an arrival is one request on a connection of its own
    for args in (("-R", "100"), ("--model", "open", "--stages", "1s:10")):
        p = surge("run", *args, "--pipeline", "4", url, timeout=30)
        assert p.returncode == 2 and p.stderr.startswith("surge run: --pipeline is for the "
                                                         "closed model"), (args, p.stderr)
    # a scenario's users are synchronous
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.lua")
        with open(path, "w") as f:
            f.write('options = { host = "http://127.0.0.1:9", users = 1, duration = "1s" }\n'
                    'tasks = { function(u) u:get("/") end }\n')
        p = surge("run", "--pipeline", "2", path, timeout=30)
        assert p.returncode == 2 and p.stderr.startswith("surge run: --pipeline is for a plain "
                                                         "run"), p.stderr
    # documented where users look
    p = surge("help", "run", timeout=30, check_rc=0)
    assert re.search(r"--pipeline N\s+HTTP/1.1 pipelining", p.stdout), p.stdout


if __name__ == "__main__":
    main([
        test_the_server_holds_n_requests_before_answering_any,
        test_totals_add_up_against_surge_serve,
        test_users_that_leave_take_their_answers_first,
        test_nginx_plain_and_tls_with_bodies_both_ways,
        test_latency_counts_from_each_request_own_send,
        test_a_connection_that_dies_counts_each_request_out_once,
        test_an_early_answer_ends_the_write,
        test_every_hostile_server_with_requests_out,
        test_compare_says_when_the_pipelines_differ,
        test_bad_values_and_other_models_are_usage_errors,
    ])
