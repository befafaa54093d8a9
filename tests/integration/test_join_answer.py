"""What a shard (`surge run --join`) makes of a coordinator that answers wrongly: a stand-in
coordinator (a small HTTP server in this process) gives each test's answer to the join. An
index a cast would wrap is refused as a usage error naming the shard, not run as shard 0; a
refusal's message with escape sequences is printed with them shown, not obeyed."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import surge_wire
from harness import Proc, main, refused_url

TOKEN = "join-answer-test-token-0123456789"


class Coordinator:
    """Answers every POST /api/control/join with (status, body); anything else 404. Counts
    the joins it was asked."""

    def __init__(self, status, body):
        outer = self
        self.joins = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                self.rfile.read(length)
                if self.path == "/api/control/join":
                    outer.joins += 1
                    data = json.dumps(body).encode()
                    self.send_response(status)
                else:
                    data = b'{"error":"no such control"}'
                    self.send_response(404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def join(port):
    return Proc(["run", "--join", f"http://127.0.0.1:{port}", "--token", TOKEN, "-t", "1",
                 "--join-timeout", "20s"])


def test_an_index_a_cast_would_wrap_is_refused():
    """Shard 2^32 of 2 is no shard: refused (exit 2) naming it. Read as a uint32_t it was
    shard 0, and the shard ran shard 0's part of the test."""
    start_ns = time.time_ns() + 500_000_000
    answer = {"wire": surge_wire.WIRE, "version": "test", "index": 2**32, "count": 2,
              "start_ns": start_ns,
              "stop": False, "config": {"url": refused_url(), "options": [["requests", "1"]]}}
    with Coordinator(200, answer) as c:
        shard = join(c.port)
        rc = shard.wait(timeout=60)
    assert rc == 2, (rc, shard.stderr())
    assert "the coordinator gave shard 4294967297 of 2" in shard.stderr(), shard.stderr()


def test_a_refusals_escape_sequences_are_shown_not_obeyed():
    """The coordinator's 403 says why with bytes a terminal would obey (clear the screen, ring
    the bell): the shard prints them as \\xNN, on one line, and the whole sentence."""
    why = "\x1b[2J\x1b]0;owned\x07refused" + " because" * 40
    with Coordinator(403, {"error": why}) as c:
        shard = join(c.port)
        rc = shard.wait(timeout=60)
    err = shard.stderr()
    assert rc == 2, (rc, err)
    line = next(l for l in err.splitlines() if "refused this shard (403)" in l)
    assert "\x1b" not in err and "\x07" not in err, repr(err)
    assert "\\x1b[2J\\x1b]0;owned\\x07refused" in line, line
    assert line.endswith(" because" * 40), line  # the whole sentence, not cut


if __name__ == "__main__":
    main([test_an_index_a_cast_would_wrap_is_refused,
          test_a_refusals_escape_sequences_are_shown_not_obeyed])
