#!/usr/bin/env python3
"""h2_seeds: writes the seed corpora of fuzz_serve_h2 (a client's bytes to `surge serve`) and
fuzz_gen_h2 (a server's bytes to `surge run --h2`) from
HTTP/2 frames built here (RFC 9113; header blocks in HPACK's literal and static-table forms,
RFC 7541), so each seed is a conversation a real client could have and is regenerated the
same way:

    python3 tests/fuzz/h2_seeds.py tests/fuzz/corpus

Each seed's first byte is the driver's. fuzz_serve_h2: bit 0 puts the client preface first,
bits 1-3 choose the size of the pieces the rest is written in (0: all at once, 1: byte by
byte, ...). fuzz_gen_h2: bit 0 makes the requests 100,000-byte POSTs, bit 1 writes in
7-byte pieces."""
import base64
import os
import struct
import sys

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST, SETTINGS, PUSH, PING, GOAWAY, WINDOW, CONT = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def settings(*pairs, ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def hlen(n, prefix_bits=7, first=0):
    """An HPACK integer with an N-bit prefix."""
    cap = (1 << prefix_bits) - 1
    if n < cap:
        return bytes([first | n])
    out = [first | cap]
    n -= cap
    while n >= 128:
        out.append(n % 128 | 128)
        n //= 128
    out.append(n)
    return bytes(out)


STATIC = {(":method", "GET"): 2, (":method", "POST"): 3, (":path", "/"): 4, (":scheme", "http"): 6,
          (":status", "200"): 8, (":status", "204"): 9, (":status", "404"): 13, (":status", "500"): 14}


def block(fields):
    """A header block: static-table entries indexed, the rest literal without indexing."""
    out = b""
    for name, value in fields:
        if (name, value) in STATIC:
            out += hlen(STATIC[(name, value)], 7, 0x80)
            continue
        n, v = name.encode(), value.encode()
        out += b"\x00" + hlen(len(n)) + n + hlen(len(v)) + v
    return out


def request(method="GET", path="/", extra=(), authority="127.0.0.1:8080"):
    return [(":method", method), (":scheme", "http"), (":authority", authority), (":path", path)] + list(extra)


def headers(stream, fields, end_stream=True, flags=0):
    return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0) | flags, stream, block(fields))


def start():
    """What every conversation opens with after the preface: our SETTINGS, theirs acked."""
    return settings((3, 100), (4, 65535)) + settings(ack=True)


def seeds():
    s = {}
    s["get"] = start() + headers(1, request())
    s["get-health-metrics"] = start() + headers(1, request(path="/health")) + headers(3, request(path="/metrics"))
    block_bytes = block(request(path="/slow?delay=1ms", extra=[("user-agent", "h2-seed"), ("accept", "*/*")]))
    s["continuation"] = start() + frame(HEADERS, END_STREAM, 1, block_bytes[:10]) + frame(
        CONT, 0, 1, block_bytes[10:25]) + frame(CONT, END_HEADERS, 1, block_bytes[25:])
    body = b'{"x": 1}'
    s["post-padded-data"] = start() + headers(1, request("POST", "/random?size=10", [("content-length", str(len(body) * 2))]),
                                              end_stream=False) + frame(DATA, PADDED, 1, b"\x05" + body + b"\0" * 5) + frame(
        DATA, PADDED | END_STREAM, 1, b"\x00" + body)
    s["rst-stream"] = start() + headers(1, request("POST", "/"), end_stream=False) + frame(RST, 0, 1, struct.pack(">I", 8)) + headers(
        3, request())
    s["ping-window-priority"] = start() + frame(PING, 0, 0, b"12345678") + frame(WINDOW, 0, 0, struct.pack(">I", 1 << 20)) + frame(
        PRIORITY, 0, 3, struct.pack(">IB", 0, 15)) + frame(
        HEADERS, END_HEADERS | END_STREAM | PRIO, 1, struct.pack(">IB", 0, 200) + block(request())) + frame(
        WINDOW, 0, 1, struct.pack(">I", 65535))
    s["goaway"] = start() + headers(1, request()) + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0) + b"bye")
    s["many-streams"] = start() + b"".join(headers(i, request(path="/random?size=100"), end_stream=(i % 3 != 0)) for i in range(1, 40, 2))
    s["header-list-too-big"] = start() + headers(1, request(extra=[("x-big", "a" * 1200)])) + headers(
        3, request(extra=[("x-huge-%d" % i, "b" * 500) for i in range(12)]))
    s["too-many-fields"] = start() + headers(1, request(extra=[("x-%d" % i, "v") for i in range(120)]))
    s["body-too-large"] = start() + headers(1, request("POST", "/", [("content-length", "100000")]), end_stream=False) + frame(
        DATA, END_STREAM, 1, b"z" * 100)
    s["body-over-limit"] = start() + headers(1, request("POST", "/"), end_stream=False) + frame(DATA, 0, 1, b"y" * 3000) + frame(
        DATA, END_STREAM, 1, b"y" * 3000)
    s["faults"] = start() + headers(1, request(path="/?fault=reset")) + headers(3, request(path="/?fault=hang")) + headers(
        5, request(path="/random?size=70000")) + headers(7, request(path="/?fault=close"))
    s["head-and-trailers"] = start() + headers(1, request("HEAD", "/random?size=10")) + headers(
        3, request("POST", "/"), end_stream=False) + frame(DATA, 0, 3, b"abc") + headers(3, [("x-trailer", "1")])
    s["small-window"] = settings((4, 10), (5, 16384)) + settings(ack=True) + headers(1, request(path="/random?size=5000")) + frame(
        WINDOW, 0, 1, struct.pack(">I", 100))
    s["push-promise-from-client"] = start() + frame(PUSH, END_HEADERS, 1, struct.pack(">I", 2) + block(request()))
    s["bad-pseudo-headers"] = start() + headers(1, [(":method", "GET"), (":path", "/"), (":status", "200")]) + headers(
        3, [("Upper", "x"), (":method", "GET"), (":scheme", "http"), (":path", "/")])
    up_settings = base64.urlsafe_b64encode(struct.pack(">HIHI", 3, 100, 4, 65535)).rstrip(b"=")
    upgrade = (b"GET /health HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nConnection: Upgrade, HTTP2-Settings\r\n"
               b"Upgrade: h2c\r\nHTTP2-Settings: " + up_settings + b"\r\n\r\n")
    upgrade_post = (b"POST /random?size=10 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                    b"Upgrade: h2c\r\nHTTP2-Settings: \r\nContent-Length: 5\r\n\r\nhello")
    out = {}
    for name, body in s.items():
        out[name] = b"\x01" + body
    out["get-byte-by-byte"] = b"\x03" + s["continuation"]
    out["get-pieces-7"] = b"\x05" + s["post-padded-data"]
    out["raw-preface"] = b"\x00" + PREFACE + s["get"]
    out["raw-upgrade"] = b"\x00" + upgrade + PREFACE + start() + headers(3, request())
    out["raw-upgrade-post"] = b"\x00" + upgrade_post + PREFACE + settings()
    out["raw-upgrade-pieces-9"] = b"\x06" + upgrade + PREFACE + start()
    out["raw-http1"] = b"\x00GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    return out


def response(stream, status="200", body=b"ok", end=True):
    fields = [(":status", status), ("content-type", "text/plain"), ("content-length", str(len(body)))]
    return headers(stream, fields, end_stream=not body and end) + (frame(DATA, END_STREAM if end else 0, stream, body) if body else b"")


def server_seeds():
    """A server's side: its SETTINGS, the client's acked, then answers to streams 1, 3, 5, 7."""
    hello = settings((3, 100), (4, 65535), (5, 16384)) + settings(ack=True)
    all4 = b"".join(response(i) for i in (1, 3, 5, 7))
    s = {}
    s["answers"] = hello + all4
    s["answers-twice"] = hello + all4 + b"".join(response(i) for i in (9, 11, 13, 15))
    s["statuses"] = hello + response(1, "204", b"") + response(3, "404", b"no") + response(5, "500", b"x" * 300) + response(7, "200", b"")
    s["interim-then-final"] = hello + headers(1, [(":status", "103"), ("link", "</a>")], end_stream=False) + response(1)
    block_bytes = block([(":status", "200"), ("content-type", "text/plain"), ("x-long", "v" * 40)])
    s["continuation"] = hello + frame(HEADERS, 0, 1, block_bytes[:5]) + frame(CONT, 0, 1, block_bytes[5:20]) + frame(
        CONT, END_HEADERS, 1, block_bytes[20:]) + frame(DATA, PADDED | END_STREAM, 1, b"\x03abc\0\0\0")
    s["trailers"] = hello + headers(1, [(":status", "200")], end_stream=False) + frame(DATA, 0, 1, b"abc") + headers(
        1, [("grpc-status", "0")])
    s["rst-stream"] = hello + frame(RST, 0, 1, struct.pack(">I", 2)) + frame(RST, 0, 3, struct.pack(">I", 8)) + response(5)
    s["rst-flow-control"] = hello + frame(RST, 0, 1, struct.pack(">I", 3)) + response(3)
    s["goaway"] = hello + response(1) + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0) + b"draining")
    s["goaway-error"] = hello + frame(GOAWAY, 0, 0, struct.pack(">II", 0, 1) + b"protocol")
    s["zero-window"] = settings((4, 0)) + settings(ack=True) + frame(WINDOW, 0, 1, struct.pack(">I", 1000)) + frame(
        WINDOW, 0, 0, struct.pack(">I", 1 << 20)) + response(3)
    s["window-overflow"] = hello + frame(WINDOW, 0, 0, struct.pack(">I", 0x7fffffff)) + frame(
        WINDOW, 0, 1, struct.pack(">I", 0x7fffffff)) + frame(WINDOW, 0, 1, struct.pack(">I", 0x7fffffff))
    s["max-streams-1"] = settings((3, 1)) + settings(ack=True) + response(1)
    s["ping-priority"] = hello + frame(PING, 0, 0, b"abcdefgh") + frame(PING, ACK, 0, b"abcdefgh") + frame(
        PRIORITY, 0, 1, struct.pack(">IB", 0, 10)) + response(1)
    s["push-promise"] = hello + frame(PUSH, END_HEADERS, 1, struct.pack(">I", 2) + block(request())) + response(1)
    s["data-on-idle-stream"] = hello + frame(DATA, END_STREAM, 9, b"zz") + response(1)
    s["http1-answer"] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    s["no-settings"] = response(1)
    out = {}
    for name, body in s.items():
        out[name] = b"\x00" + body
    out["answers-post"] = b"\x01" + s["answers"]
    out["zero-window-post"] = b"\x01" + s["zero-window"]
    out["continuation-pieces"] = b"\x02" + s["continuation"]
    return out


def main():
    where = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus"
    for driver, made in (("fuzz_serve_h2", seeds()), ("fuzz_gen_h2", server_seeds())):
        os.makedirs(os.path.join(where, driver), exist_ok=True)
        for name, data in made.items():
            with open(os.path.join(where, driver, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
