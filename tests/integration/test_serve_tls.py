"""`surge serve --tls-cert --tls-key`: HTTPS with ALPN (h2, http/1.1) against curl (verifying
the certificate), nghttp2's h2load and surge run itself — both protocols, pipelined requests
and bodies larger than a TLS record (which TLS holds decrypted where the loop does not look),
and the refusals of a configuration that cannot work. Real processes; bounded waits."""

import http.client
import json
import os
import ssl
import subprocess
import tempfile

from harness import Serve, main, need, run_json, surge
from harness import metric_sum as sample


class Certs:
    """A self-signed certificate for 127.0.0.1 and its key, in a temporary directory."""

    def __enter__(self):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.cert, self.key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        p = subprocess.run([need("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.key,
                            "-out", self.cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                            "-addext", "subjectAltName=IP:127.0.0.1"],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        return self

    def __exit__(self, *exc):
        self.dir.cleanup()


def https(srv, path):
    return f"https://127.0.0.1:{srv.port}{path}"


def get(srv, certs, path):
    """(status, body) over HTTPS/1.1 with Python's own TLS, verifying the certificate."""
    ctx = ssl.create_default_context(cafile=certs.cert)
    conn = http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=30)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def metrics(srv, certs):
    status, body = get(srv, certs, "/metrics")
    assert status == 200
    return body.decode()


def curl(certs, *args, timeout=60):
    p = subprocess.run([need("curl"), "-sS", "--cacert", certs.cert, "-o", "-", "-w",
                        "\n%{http_code} %{http_version}", *args], capture_output=True,
                       timeout=timeout)
    assert p.returncode == 0, f"curl {args}: rc {p.returncode}\n{p.stderr.decode()}"
    body, _, tail = p.stdout.rpartition(b"\n")
    status, version = tail.decode().split()
    return int(status), body, version


def test_alpn_chooses_h2_or_http11():
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key) as srv:
        status, body, version = curl(certs, "--http2", https(srv, "/health"))
        assert (status, version) == (200, "2"), (status, version, body)
        status, body, version = curl(certs, "--http1.1", https(srv, "/api/cpu?ms=1"))
        assert (status, version) == (200, "1.1"), (status, version, body)
        # h2c is for clear text: over TLS an Upgrade: h2c is not taken up
        status, body, version = curl(certs, "--http1.1", "-H", "Upgrade: h2c",
                                     "-H", "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA",
                                     "-H", "Connection: Upgrade, HTTP2-Settings",
                                     https(srv, "/health"))
        assert (status, version) == (200, "1.1"), (status, version, body)
        text = metrics(srv, certs)
        assert sample(text, "surge_http2_connections_total", start="alpn") == 1, text
        assert sample(text, "surge_tls_handshakes_total") == 4, text  # with this scrape
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/health",
                      network_protocol_version="2") == 1, text


def test_h2load_over_tls():
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key) as srv:
        p = subprocess.run([need("h2load"), "-n", "2000", "-c", "4", "-m", "10",
                            https(srv, "/health")], capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and "Application protocol: h2" in p.stdout, p.stdout
        assert "2000 succeeded" in p.stdout and "2000 2xx" in p.stdout, p.stdout
        text = metrics(srv, certs)
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/health",
                      network_protocol_version="2") == 2000, text


def test_surge_on_surge_over_https_h2():
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key) as srv:
        _, doc = run_json("-k", "--h2", "-c", "2", "--streams", "10", "-n", "2000",
                          https(srv, "/health"), timeout=120)
        assert doc["status_codes"] == {"200": 2000} and doc["totals"]["errors"] == 0, \
            (doc["status_codes"], doc["totals"])
        text = metrics(srv, certs)
        assert sample(text, "surge_http2_connections_total", start="alpn") == 2, text
        assert sample(text, "http_server_request_duration_seconds_count", http_route="/health",
                      network_protocol_version="2") == 2000, text


def test_pipelined_requests_and_big_bodies_over_tls():
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key) as srv, \
            tempfile.TemporaryDirectory() as d:
        # 8 requests in one TLS record: all but the first wait decrypted inside OpenSSL
        _, doc = run_json("-k", "-c", "2", "-n", "400", "--pipeline", "8", https(srv, "/health"))
        assert doc["status_codes"] == {"200": 400} and doc["totals"]["errors"] == 0, doc["totals"]
        big = os.path.join(d, "big")
        with open(big, "wb") as f:
            f.write(b"u" * (5 << 20))
        for proto in ["--http1.1", "--http2"]:
            status, body, _ = curl(certs, proto, "--data-binary", f"@{big}",
                                   https(srv, "/api/upload"))
            assert status == 200 and json.loads(body)["received_bytes"] == 5 << 20, body
            status, body, _ = curl(certs, proto, https(srv, "/api/bytes?size=3MiB"))
            assert status == 200 and len(body) == 3 << 20, (proto, status, len(body))


def test_requests_held_decrypted_by_tls_are_answered_without_more_from_the_client():
    """300 pipelined requests (9.9 KB) in one TLS record: serve reads 4 KiB of it at first and
    OpenSSL holds the rest decrypted, where the loop's poll does not see it. The client sends
    nothing more; every answer must come all the same (before the fix they stopped at the
    first read's worth until a timer happened to look)."""
    import socket
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key,
                                 "--idle-timeout", "300s", "--header-timeout", "300s",
                                 "--access-log", "off") as srv:
        ctx = ssl.create_default_context(cafile=certs.cert)
        raw = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.settimeout(30)
            s.sendall(b"GET /health HTTP/1.1\r\nHost: t\r\n\r\n" * 300)
            got = b""
            while got.count(b"HTTP/1.1 200 OK") < 300:
                chunk = s.recv(65536)  # a timeout here (30 s) is the failure
                assert chunk, f"closed after {got.count(b'HTTP/1.1 200 OK')} answers"
                got += chunk
        assert got.count(b"HTTP/1.1 200 OK") == 300


def test_plain_http_on_the_tls_port_fails_its_handshake_only():
    with Certs() as certs, Serve("--tls-cert", certs.cert, "--tls-key", certs.key) as srv:
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        try:
            c.request("GET", "/health")
            try:
                c.getresponse()
                answered = True
            except (http.client.HTTPException, ConnectionError, OSError):
                answered = False
        finally:
            c.close()
        assert not answered
        text = metrics(srv, certs)
        assert sample(text, "surge_tls_handshake_failures_total") == 1, text
        assert get(srv, certs, "/health")[0] == 200


def test_a_tls_configuration_that_cannot_work_is_refused():
    with Certs() as certs:
        p = surge("serve", "--listen", "127.0.0.1:1", "--tls-cert", certs.cert, check_rc=2)
        assert "--tls-cert needs --tls-key too" in p.stderr, p.stderr
        p = surge("serve", "--listen", "127.0.0.1:1", "--tls-cert", "/nonexistent/cert.pem",
                  "--tls-key", certs.key, check_rc=2)
        assert "--tls-cert /nonexistent/cert.pem:" in p.stderr, p.stderr
        other = Certs().__enter__()
        try:
            p = surge("serve", "--listen", "127.0.0.1:1", "--tls-cert", certs.cert,
                      "--tls-key", other.key, check_rc=2)
            assert "does not match the certificate" in p.stderr, p.stderr
        finally:
            other.__exit__()


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
