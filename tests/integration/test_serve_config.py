"""`surge serve` start-up: the port is its own, values that could only fail later are refused
at once (exit 2, one line naming the flag or the environment variable), booleans read one
way everywhere, and the disk endpoints leave nothing behind on a full disk or at exit.
Real processes on loopback; every wait has a bound."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import SURGE, Serve, Skip, free_port, main, surge


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SURGE_") and k not in ("PORT", "DATABASE_URL", "REDIS_URL",
                                                       "DOWNSTREAM_SERVICE_URL")}
    env.update(extra)
    return env


def refused(*args, env=None, needle=None, absent=None):
    """Runs `surge serve ARGS`, which must refuse to start: exit 2, one line on stderr."""
    p = surge("serve", *args, timeout=20, env=env or clean_env())
    lines = p.stderr.splitlines()
    assert p.returncode == 2, (args, p.returncode, p.stderr)
    assert len(lines) == 1 and lines[0].startswith("surge serve: "), (args, p.stderr)
    if needle:
        assert needle in lines[0], (args, needle, lines[0])
    if absent:
        assert absent not in lines[0], (args, absent, lines[0])
    return lines[0]


def get(srv, path, method="GET"):
    req = urllib.request.Request(srv.url(path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def listen_args(port=None):
    return ["--listen", f"127.0.0.1:{port or free_port()}"]


# ---- the port ----

def test_a_second_serve_does_not_join_the_first():
    with Serve(workers=2) as first:
        for host in ("127.0.0.1", "0.0.0.0"):
            line = refused("--listen", f"{host}:{first.port}", "--workers", "2",
                           needle="address already in use")
            assert f":{first.port}" in line, line
        for _ in range(20):  # every connection still goes to the first
            assert get(first, "/health")[0] == 200
    # a foreign listener that allows port sharing is not joined either
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen(8)
        refused(*listen_args(other.getsockname()[1]), needle="address already in use")
    # one serve's own workers share the port
    with Serve(workers=4) as srv:
        assert json.loads(get(srv, "/")[1])["workers"] == 4


def test_listen_needs_address_and_port():
    for value, says in [("", "expected ADDR:PORT"), ("127.0.0.1", "expected ADDR:PORT"),
                        ("[::1]", "expected ADDR:PORT"), ("::1", "brackets"),
                        ("127.0.0.1:0", "port from 1 to 65535"),
                        ("127.0.0.1:http", "port from 1 to 65535")]:
        refused("--listen", value, needle="--listen")
        refused("--listen", value, needle=says)
    refused(env=clean_env(SURGE_LISTEN="127.0.0.1"), needle="$SURGE_LISTEN")


# ---- values that would fail only later ----

def test_timeouts_must_be_above_zero():
    for option in ("--idle-timeout", "--header-timeout"):
        for value in ("0", "0s", "0ms", "-1s"):
            refused(*listen_args(), option, value, needle=option)
    refused(*listen_args(), env=clean_env(SURGE_IDLE_TIMEOUT="0"), needle="$SURGE_IDLE_TIMEOUT")


def test_default_params_are_checked_at_start():
    for value, says in [("delay=lognormal(", "delay"), ("delay=10ms:60,20ms:50", "100%"),
                        ("status=700", "200-599"), ("status=normal(500,10)", "status"),
                        ("colour=red", "'colour'"), ("delay", "needs a value"),
                        ("size=%zz", "percent-encoding")]:
        line = refused(*listen_args(), "--default-params", value, needle="--default-params")
        assert says in line, (value, line)
    refused(*listen_args(), env=clean_env(SURGE_DEFAULT_PARAMS="delay=soon"),
            needle="$SURGE_DEFAULT_PARAMS")
    with Serve("--default-params", "status=503:100&delay=1ms") as srv:
        assert get(srv, "/api/cpu?ms=0")[0] == 503


def test_workers_have_an_upper_bound():
    for value in ("1025", "100000", "10000000"):
        refused(*listen_args(), "--workers", value, needle="1,024")
    refused(*listen_args(), env=clean_env(SURGE_WORKERS="5000"), needle="$SURGE_WORKERS")


# ---- booleans ----

def test_booleans_read_one_way_everywhere():
    for value, chaos in [("1", False), ("true", False), ("YES", False), ("On", False),
                         ("0", True), ("false", True), ("no", True), ("OFF", True)]:
        srv = Serve(env=clean_env(SURGE_NO_CHAOS=value))
        with srv:
            assert json.loads(get(srv, "/")[1])["chaos"] is chaos, (value, chaos)
    for value in ("maybe", "2", "y", "enabled"):
        refused(*listen_args(), env=clean_env(SURGE_NO_CHAOS=value), needle="$SURGE_NO_CHAOS")
        refused(*listen_args(), env=clean_env(SURGE_ALLOW_CRASH=value),
                needle="$SURGE_ALLOW_CRASH")
        refused(*listen_args(), "--access-log", value, needle="--access-log")
    for value in ("no", "FALSE", "0"):
        with Serve("--access-log", value) as srv:
            assert get(srv, "/api/cpu?ms=0")[0] == 200
            time.sleep(1.3)  # access lines are flushed once a second
            with open(srv.log_path) as f:
                assert '"msg":"request"' not in f.read(), value
    with Serve() as srv:
        for value, code in [("false", 503), ("yes", 200), ("OFF", 503), ("1", 200)]:
            assert get(srv, f"/admin/ready?state={value}", "POST")[0] == code, value
            assert get(srv, "/ready")[0] == code, value
        status, body = get(srv, "/admin/ready?state=maybe", "POST")
        assert status == 400 and b"not a boolean" in body, (status, body)


# ---- the environment ----

def test_environment_errors_name_the_variable_and_flags_win():
    for name, value in [("DATABASE_URL", "garbage"), ("REDIS_URL", "garbage"),
                        ("DOWNSTREAM_SERVICE_URL", "garbage"), ("SURGE_DATA_DIR", "/nonexistent/x"),
                        ("SURGE_DATABASE_URL", "garbage"), ("PORT", "abc")]:
        flag = "--" + name.lower().replace("surge_", "").replace("_", "-").replace(
            "service-", "")
        line = refused(env=clean_env(**{name: value}) if name == "PORT" else
                       clean_env(**{name: value}, SURGE_LISTEN=f"127.0.0.1:{free_port()}"),
                       needle="$" + name, absent=flag)
        assert "garbage" in line or "/nonexistent" in line or "abc" in line, line
    # the flag wins: what the environment says for it is never read
    with Serve(env=clean_env(PORT="abc", SURGE_PORT="abc", SURGE_LISTEN="nowhere",
                             SURGE_WORKERS="many"),
               workers=1) as srv:
        assert get(srv, "/health")[0] == 200
    with Serve("--database-url", "sqlite:///:memory:",
               env=clean_env(DATABASE_URL="garbage")) as srv:
        assert get(srv, "/health")[0] == 200
    # the flag's own errors name the flag
    refused(*listen_args(), "--database-url", "garbage", needle="--database-url")


def test_startup_errors_are_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        refused(*listen_args(taken.getsockname()[1]), needle="address already in use")
    closed = free_port()
    refused(*listen_args(), "--database-url", f"postgresql://nobody@127.0.0.1:{closed}/db",
            needle="PostgreSQL")
    refused(*listen_args(), "--redis-url", f"redis://127.0.0.1:{closed}/0", needle="Redis")
    refused(*listen_args(), "--no-such-option", needle="unknown option")
    refused(*listen_args(), "--workers", needle="needs a value")
    refused(*listen_args(), "--role", "x" * 5000, needle="…")


# ---- the disk endpoints ----

class Tmpfs:
    """A small tmpfs of our own (root only), unmounted and removed on exit."""

    def __init__(self, size="2m"):
        self.size = size
        self.dir = tempfile.mkdtemp(prefix="surge-tmpfs-")

    def __enter__(self):
        if os.geteuid() != 0 or not shutil.which("mount"):
            os.rmdir(self.dir)
            raise Skip("mounting a tmpfs needs root")
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs",
                            self.dir], capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            os.rmdir(self.dir)
            raise Skip(f"cannot mount a tmpfs: {p.stderr.strip()}")
        return self.dir

    def __exit__(self, *exc):
        subprocess.run(["umount", self.dir], capture_output=True, timeout=30)
        os.rmdir(self.dir)


def test_disk_endpoints_leave_nothing_behind():
    with Tmpfs("2m") as d:
        with Serve("--data-dir", d, "--sqlite", ":memory:") as srv:
            for path in ("/api/disk-read?size_mb=4", "/api/disk-write?size_mb=4"):
                status, body = get(srv, path)
                assert status == 507, (path, status, body)
                assert os.listdir(d) == [], (path, os.listdir(d))
            # a read that fits makes the scratch file; a bigger one that does not fit cuts
            # it back to what it was
            assert get(srv, "/api/disk-read?size_mb=0.5")[0] == 200
            files = os.listdir(d)
            assert len(files) == 1 and os.path.getsize(os.path.join(d, files[0])) == 512 * 1024
            assert get(srv, "/api/disk-read?size_mb=4")[0] == 507
            assert os.path.getsize(os.path.join(d, files[0])) == 512 * 1024
            assert get(srv, "/api/disk-read?size_mb=0.5")[0] == 200
            assert srv.stop() == 0
        assert os.listdir(d) == [], os.listdir(d)


if __name__ == "__main__":
    main([v for k, v in globals().items() if k.startswith("test_") and callable(v)])
