"""`surge run` (closed model) against real servers on loopback: nginx, and small servers that
misbehave on purpose. Proves the counts, the result document, the error classes, and that
nothing outlives --duration plus --timeout."""

import os
import signal
import socket
import struct
import subprocess
import tempfile
import time
import json

from harness import (Nginx, RawServer, SURGE, decode_histogram, main, read_request, run_json,
                     surge)

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def test_nginx_closed_model():
    with Nginx() as ngx:
        p, doc = run_json("-c", "8", "-t", "2", "-d", "2s", ngx.url())
    t = doc["totals"]
    assert doc["tool"] == "surge" and doc["version"]
    assert t["requests"] > 500, t
    assert t["errors"] == 0 and t["error_rate"] == 0, t
    assert doc["status_codes"] == {"200": t["requests"]}, doc["status_codes"]
    assert 1.9 <= doc["duration_s"] <= 2.5, doc["duration_s"]
    assert abs(t["rps"] - t["requests"] / doc["duration_s"]) / t["rps"] < 0.01
    lat = doc["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
    assert t["bytes_in"] > t["requests"] * 100 and t["bytes_out"] > t["requests"] * 30
    # one point per second, and together they hold every request
    assert 2 <= len(doc["timeline"]) <= 3, doc["timeline"]
    assert sum(p["requests"] for p in doc["timeline"]) == t["requests"]
    assert all(p["users"] == 8 for p in doc["timeline"][:-1]), doc["timeline"]
    h = decode_histogram(doc["histograms"]["all"])
    assert h["total"] == t["responses"] and h["sig_figs"] == 3 and h["highest"] == 3600000000, h
    gen = doc["generator"]
    assert gen["cpu_s"] > 0 and gen["max_rss_bytes"] > 0, gen
    assert "requests" in p.stdout and "p99.9" in p.stdout and "200: " in p.stdout


def test_request_count_is_exact():
    with Nginx() as ngx:
        _, doc = run_json("-c", "7", "-t", "2", "-n", "1001", ngx.url())
    assert doc["totals"]["requests"] == 1001, doc["totals"]
    assert doc["status_codes"]["200"] == 1001


def test_post_body_and_headers_arrive_as_given():
    def handler(server, conn):
        while read_request(server, conn):
            conn.sendall(OK_RESPONSE)

    with tempfile.NamedTemporaryFile("wb", delete=False) as f:
        f.write(b'{"name": "surge"}')
    try:
        with RawServer(handler) as srv:
            run_json("-c", "1", "-n", "3", "-H", "Content-Type: application/json",
                     "-H", "X-Trace: abc", "--body-file", f.name, srv.url("/api/tasks?x=1"))
            head, body = srv.requests[0]
    finally:
        os.unlink(f.name)
    lines = head.split("\r\n")
    assert lines[0] == "POST /api/tasks?x=1 HTTP/1.1", lines[0]
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    assert headers["host"] == f"127.0.0.1:{srv.port}", headers
    assert headers["content-type"] == "application/json"
    assert headers["x-trace"] == "abc"
    assert headers["content-length"] == "17"
    assert headers["user-agent"].startswith("surge/")
    assert body == b'{"name": "surge"}'
    assert len(srv.requests) == 3


def test_head_and_error_statuses():
    with Nginx() as ngx:
        _, doc = run_json("-c", "2", "-n", "50", "-m", "HEAD", ngx.url())
        assert doc["status_codes"] == {"200": 50} and doc["totals"]["errors"] == 0
        _, doc = run_json("-c", "2", "-n", "40", ngx.url("/status404"))
    assert doc["status_codes"] == {"404": 40}, doc["status_codes"]
    assert doc["totals"]["errors"] == 40 and doc["totals"]["error_rate"] == 1


def test_connection_close_and_chunked_responses():
    def handler(server, conn):
        if read_request(server, conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
                         b"\r\n5\r\nhello\r\n0\r\n\r\n")

    with RawServer(handler) as srv:
        _, doc = run_json("-c", "4", "-n", "200", srv.url())
    assert doc["status_codes"] == {"200": 200}, doc
    assert doc["totals"]["errors"] == 0


def test_refused_connections_exit_3_on_time():
    port = socket.socket()
    port.bind(("127.0.0.1", 0))
    addr = port.getsockname()[1]
    port.close()
    p, doc = run_json("-c", "4", "-d", "1s", f"http://127.0.0.1:{addr}/", check_rc=3)
    assert doc["errors_by_kind"]["connect_refused"] > 0, doc["errors_by_kind"]
    assert doc["totals"]["responses"] == 0
    assert p.elapsed < 5, p.elapsed
    assert "connect_refused" in p.stdout


def reset_handler(server, conn):
    if read_request(server, conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_reset_is_classified():
    with RawServer(reset_handler) as srv:
        p, doc = run_json("-c", "2", "-d", "1s", srv.url())
    assert doc["errors_by_kind"]["reset"] > 0, doc["errors_by_kind"]
    assert doc["totals"]["errors"] == doc["totals"]["requests"]
    assert p.elapsed < 5


def test_close_mid_body_is_closed_early():
    def handler(server, conn):
        if read_request(server, conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")

    with RawServer(handler) as srv:
        _, doc = run_json("-c", "2", "-n", "20", srv.url())
    assert doc["errors_by_kind"]["closed_early"] == 20, doc["errors_by_kind"]


def test_stalled_server_times_out_and_run_ends_on_time():
    def handler(server, conn):
        read_request(server, conn)
        server.stopping.wait(30)

    with RawServer(handler) as srv:
        p, doc = run_json("-c", "3", "-d", "2s", "--timeout", "500ms", srv.url(), check_rc=3)
    kinds = doc["errors_by_kind"]
    assert kinds["read_timeout"] >= 6, kinds  # 3 connections, about 4 timeouts each
    assert p.elapsed < 4, p.elapsed


def test_garbage_is_a_protocol_error():
    def handler(server, conn):
        if read_request(server, conn):
            conn.sendall(b"SMTP ready\r\n\r\n")

    with RawServer(handler) as srv:
        _, doc = run_json("-c", "2", "-n", "10", srv.url())
    assert doc["errors_by_kind"]["protocol_error"] == 10, doc["errors_by_kind"]


def test_server_dying_mid_run():
    with Nginx() as ngx:
        proc = subprocess.Popen([SURGE, "run", "-c", "4", "-d", "3s", "--timeout", "1s", "--json",
                                 "-", "-q", ngx.url()], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        ngx.stop()
        out, _ = proc.communicate(timeout=10)
    doc = json.loads(out)
    kinds = doc["errors_by_kind"]
    assert doc["totals"]["responses"] > 0
    assert kinds["connect_refused"] + kinds["reset"] + kinds["closed_early"] > 0, kinds
    assert doc["duration_s"] < 3.6


def test_ctrl_c_writes_a_complete_result():
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        proc = subprocess.Popen([SURGE, "run", "-c", "4", "-d", "30s", "--json", path,
                                 ngx.url()], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, (proc.returncode, err)
        with open(path) as f:
            doc = json.load(f)
    assert doc["interrupted"] is True
    assert 1.0 < doc["duration_s"] < 3, doc["duration_s"]
    assert doc["totals"]["requests"] > 0
    assert sum(p["requests"] for p in doc["timeline"]) == doc["totals"]["requests"]
    assert "interrupted" in out


def test_https_with_and_without_verification():
    with Nginx(tls=True) as ngx:
        _, doc = run_json("-k", "-c", "2", "-n", "100", ngx.url())
        assert doc["status_codes"] == {"200": 100}, doc
        _, doc = run_json("-c", "1", "-n", "3", ngx.url(), check_rc=3)
    assert doc["errors_by_kind"]["tls_error"] == 3, doc["errors_by_kind"]


def test_usage_errors_exit_2_with_a_message():
    cases = [
        (["run"], "missing URL"),
        (["run", "--bogus", "http://127.0.0.1:1/"], "--bogus"),
        (["run", "-d", "ten", "http://127.0.0.1:1/"], "--duration"),
        (["run", "-c", "0", "http://127.0.0.1:1/"], "--connections"),
        (["run", "ftp://127.0.0.1/"], "http://"),
        (["run", "http://127.0.0.1:99999/"], "port"),
        (["run", "-H", "NoColon", "http://127.0.0.1:1/"], "--header"),
        (["run", "--body-file", "/nonexistent", "http://127.0.0.1:1/"], "/nonexistent"),
        (["run", "-H", "Bad Name: x", "http://127.0.0.1:1/"], "header"),
        (["nosuch"], "unknown command"),
    ]
    for args, needle in cases:
        p = surge(*args, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert needle in p.stderr, (args, p.stderr)


def test_help_documents_every_option():
    p = surge("run", "--help", check_rc=0)
    for opt in ["--connections", "--threads", "--duration", "--requests", "--method", "--header",
                "--body", "--body-file", "--timeout", "--json", "--quiet", "--insecure"]:
        assert opt in p.stdout, opt
    assert "exit" in surge("help", "exit-codes", check_rc=0).stdout


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
