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


if __name__ == "__main__":
    main([v for k, v in globals().items() if k.startswith("test_") and callable(v)])
