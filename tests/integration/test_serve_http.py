"""`surge serve` over raw sockets: requests that outgrow the first input buffer after clients
dropped their connections, the answers to requests over a limit or with an unsupported
feature (each names which), and request values the endpoints refuse. No mocks; every wait
has a bound."""

import json
import socket

from harness import Serve, main


def connect(srv, timeout=10):
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=timeout)
    s.settimeout(timeout)
    return s


class Reader:
    """Reads responses (Content-Length framed) off one socket, in order, keeping what
    follows each for the next."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"closed after {self.buf[:200]!r}")
        self.buf += chunk

    def response(self):
        """(status, headers, body); 1xx responses are returned like any other."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        length = int(hdrs.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, hdrs, body


def read_response(s):
    return Reader(s).response()


def exchange(srv, data):
    s = connect(srv)
    try:
        s.sendall(data)
        return read_response(s)
    finally:
        s.close()


def abandon_connections(srv, n=5):
    """What every `surge run -n`, Ctrl-C or client timeout does: a request sent on a
    keep-alive connection, the connection closed without reading the answer."""
    for _ in range(n):
        s = connect(srv)
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        s.close()


def bulk_users(count):
    return json.dumps([{"name": f"user {i}", "email": f"user{i}@example.com"}
                       for i in range(count)]).encode()


def test_large_requests_after_abandoned_connections():
    # a head parsed, then a body that outgrows the 4 KiB first buffer: the buffer moves, and
    # the head (Host, Content-Type) must move with it. The heap has free blocks to hand out
    # after dropped connections, so a head left pointing at the old buffer reads garbage.
    body = bulk_users(100)
    assert len(body) > 5000
    head = (b"POST /api/users/bulk HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    with Serve("--sqlite", ":memory:", "--access-log", "off") as srv:
        failures = []
        for attempt in range(24):
            abandon_connections(srv)
            s = connect(srv)
            try:
                # head and the start of the body first, the rest after: the head is parsed
                # before the body outgrows the buffer
                s.sendall(head + body[:1000])
                s.recv(0)
                s.sendall(body[1000:])
                status, _, data = read_response(s)
            finally:
                s.close()
            if status != 201:
                failures.append((attempt, status, data[:200]))
        assert not failures, failures
        # pipelined after a large one on the same connection, too
        s = connect(srv)
        try:
            s.sendall(head + body + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            r = Reader(s)
            assert r.response()[0] == 201
            assert r.response()[0] == 200
        finally:
            s.close()



def error_of(body):
    return json.loads(body)["error"]


def test_limits_and_unsupported_features_say_which():
    long_line = b"GET /health?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: t\r\n\r\n"
    many = b"GET /health HTTP/1.1\r\nHost: t\r\n" + b"".join(
        b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n"
    big = b"GET /health HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    cases = [
        (long_line, 414, "request line longer than 8192 bytes"),
        (many, 431, "more than 64 header lines"),
        (b"GET / HTTP/9.9\r\nHost: t\r\n\r\n", 505, "HTTP/1.0 and HTTP/1.1 only"),
        (b"POST /api/upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501,
         "only chunked"),
        (b"POST /api/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: banana\r\n\r\nx",
         417, "only 100-continue"),
        (b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400, "malformed request"),
    ]
    problems, errors = [], set()
    with Serve() as srv:
        for data, want, says in cases:
            status, hdrs, body = exchange(srv, data)
            message = error_of(body)
            errors.add(message)
            if status != want or says not in message or hdrs.get("connection") != "close":
                problems.append(f"{data[:40]!r}: {status} {message!r}, expected {want} "
                                f"saying {says!r}")
    with Serve("--max-header-bytes", "4k") as srv:
        status, _, body = exchange(srv, big)
        message = error_of(body)
        errors.add(message)
        if status != 431 or "larger than 4096 bytes (--max-header-bytes)" not in message:
            problems.append(f"5 KB head: {status} {message!r}")
    assert not problems, "\n".join(problems)
    assert len(errors) == len(cases) + 1, errors


def test_weights_over_100_percent_are_400_naming_the_parameter():
    with Serve() as srv:
        for query, name in [("delay=10ms:50,20ms:60", "delay"), ("status=503:150", "status"),
                            ("size=1:80,2:40,3", "size")]:
            status, _, body = exchange(srv, b"GET /api/status/200?%s HTTP/1.1\r\nHost: t\r\n"
                                       b"Connection: close\r\n\r\n" % query.encode())
            message = error_of(body)
            assert status == 400 and f"'{name}'" in message and "more than 100%" in message, \
                (query, status, message)
        # up to 100 % is fine
        status, _, _ = exchange(srv, b"GET /api/status/200?delay=1ms:50,2ms:50 HTTP/1.1\r\n"
                                b"Host: t\r\nConnection: close\r\n\r\n")
        assert status == 200


def post(srv, path, body):
    return exchange(srv, b"POST %s HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (path.encode(), len(body))
                    + body)


def test_json_bodies_say_what_is_wrong():
    with Serve("--sqlite", ":memory:") as srv:
        cases = [
            ("/api/tasks", b"[]", "expected a JSON object, got an array"),
            ("/api/tasks", b'"title"', "expected a JSON object, got a string"),
            ("/api/tasks", b"{", "not JSON"),
            ("/api/tasks", b"", "empty"),
            ("/admin/chaos", b"[1]", "expected a JSON object, got an array"),
            ("/api/users", b"5", "expected a JSON object, got a number"),
            ("/api/users/bulk", b"{}", "expected a JSON array, got an object"),
            ("/api/users/bulk", b"[]", "1 to 100 users, got 0"),
        ]
        problems = []
        for path, body, says in cases:
            status, _, data = post(srv, path, body)
            message = error_of(data)
            if status != 400 or says not in message or "-1" in message:
                problems.append(f"{path} {body!r}: {status} {message!r}, expected {says!r}")
        assert not problems, "\n".join(problems)
        status, _, data = post(srv, "/api/tasks", b"{\n  \"title\": }")
        assert status == 400 and "line 2" in error_of(data), data


if __name__ == "__main__":
    main([v for k, v in globals().items() if k.startswith("test_") and callable(v)])
