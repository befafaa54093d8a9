"""Integration-test harness: real processes on loopback, one PASS/FAIL line per test.

Fixtures: nginx (a real server, started in a temporary prefix), small purpose-built
misbehaving servers (reset, close mid-body, stall, garbage, ...), and `surge` itself.
Every process is started here and stopped here; every wait has a bound."""

import base64
import contextlib
import datetime
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SURGE = os.path.join(ROOT, os.environ.get("SURGE_BIN", "build/surge"))
# `make asan`: the sanitizers' redzones and shadow memory make every allocation bigger
SANITIZED = bool(os.environ.get("SURGE_SANITIZED"))
IN_CI = os.environ.get("CI", "") == "true"


class Skip(Exception):
    pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def refused_url(path="/"):
    """A loopback URL nothing listens on: a port just bound and freed. (Not a fixed port such
    as 1: on a shared host someone may be listening there.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"


def wait_port(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


def _listens_for_loopback(port):
    """Whether a socket in LISTEN state takes connections to 127.0.0.1:port: bound there or to
    every address (0.0.0.0, or :: taking IPv4 too), as the kernel lists them in /proc/net."""
    # the kernel prints an address as native-endian 32-bit words, in hex
    wanted = {"tcp": {socket.inet_aton("127.0.0.1"), bytes(4)},
              "tcp6": {bytes(16), socket.inet_pton(socket.AF_INET6, "::ffff:127.0.0.1")}}
    for table, addrs in wanted.items():
        try:
            with open(f"/proc/net/{table}") as f:
                lines = f.readlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            addr, _, hexport = fields[1].partition(":")
            if fields[3] != "0A" or int(hexport, 16) != port:
                continue
            raw = b"".join(struct.pack("=I", int(addr[i:i + 8], 16))
                           for i in range(0, len(addr), 8))
            if raw in addrs:
                return True
    return False


def wait_listening(port, proc=None, timeout=10.0):
    """Waits until something listens for 127.0.0.1:port, without connecting: a probe connection
    is one the server accepts and counts when its worker gets to it, which with several workers
    can be after a test's first scrape (another worker answers that), so connection counts read
    just after the start would or would not include it. Fails at once if proc exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listens_for_loopback(port):
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before it listened on port {port}")
        time.sleep(0.02)
    raise AssertionError(f"nothing listens on port {port} after {timeout}s")


@contextlib.contextmanager
def browser_lock():
    """One Chromium at a time across the suite's test files, which run three at a time: each
    is a heavy process tree on a 2-core machine, and two at once on a busy host once left a
    headless screenshot hanging past its 180 s bound."""
    import fcntl
    with open(os.path.join(tempfile.gettempdir(), "surge-tests-chromium.lock"), "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def npm_tools(source, dest, files):
    """npm ci of SOURCE's package-lock.json into DEST (again only when the lock file changes),
    with FILES copied from SOURCE beside the modules they import; returns node's path. Under
    a lock on DEST: the suite runs each file once per I/O backend, side by side, and two npm
    installs into one node_modules at once leave it half made; each file is put in place by
    a rename, as a script of the other pass may be importing it (ui.mjs once found a
    steps.mjs half copied: "does not provide an export named 'options'")."""
    import fcntl
    import hashlib
    npm = need("npm")
    os.makedirs(dest, exist_ok=True)
    with open(os.path.join(dest, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(os.path.join(source, "package-lock.json"), "rb") as f:
            lock_hash = hashlib.sha256(f.read()).hexdigest()
        marker = os.path.join(dest, ".installed")
        current = open(marker).read() if os.path.exists(marker) else ""
        if current != lock_hash:
            for name in ("package.json", "package-lock.json"):
                shutil.copy(os.path.join(source, name), dest)
            p = subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund",
                                "--loglevel=error"], cwd=dest, capture_output=True, text=True,
                               timeout=300)
            assert p.returncode == 0, f"npm ci in {dest}: {p.stderr[-2000:]}"
            with open(marker, "w") as f:
                f.write(lock_hash)
        for name in files:  # a copy and a rename: a script the other pass runs meanwhile
            tmp = os.path.join(dest, f".{name}.{os.getpid()}")  # imports a whole file
            shutil.copy(os.path.join(source, name), tmp)
            os.replace(tmp, os.path.join(dest, name))
    return need("node")


def need(binary):
    """The path of a fixture binary; a missing one is a SKIP outside CI and a FAIL in CI."""
    for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin", "/sbin"]:
        p = os.path.join(d, binary)
        if os.access(p, os.X_OK):
            return p
    if IN_CI:
        raise AssertionError(f"{binary} is not installed (scripts/deps.sh installs it)")
    raise Skip(f"{binary} not installed")


class Nginx:
    """nginx in a temporary prefix: `return 200` on /, a larger body on /big, TLS and HTTP/2
    optional.
    extra goes into the server block, http_extra into the http block (an upstream)."""

    def __init__(self, tls=False, extra="", http_extra="", h2=False):
        self.dir = tempfile.mkdtemp(prefix="surge-nginx-")
        self.port = free_port()
        self.tls = tls
        self.h2 = h2  # HTTP/2: with TLS through ALPN, without it prior knowledge only (h2c)
        self.extra = extra
        self.http_extra = http_extra
        self.proc = None

    def __enter__(self):
        nginx = need("nginx")
        listen = f"127.0.0.1:{self.port}"
        tls_conf = ""
        if self.tls:
            need("openssl")
            key, crt = os.path.join(self.dir, "key.pem"), os.path.join(self.dir, "crt.pem")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                            "-keyout", key, "-out", crt, "-days", "1", "-subj", "/CN=localhost",
                            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                           check=True, capture_output=True, timeout=60)
            listen += " ssl"
            tls_conf = f"ssl_certificate {crt}; ssl_certificate_key {key};"
        if self.h2:
            listen += " http2"
        user = "user root;" if os.geteuid() == 0 else ""
        d = self.dir
        conf = f"""
{user}
worker_processes 1;
daemon off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 20000; }}
http {{
    access_log off;
    client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;
    keepalive_requests 1000000;
    {self.http_extra}
    server {{
        listen {listen};
        {tls_conf}
        location / {{ return 200 "hello, world\\n"; }}
        location /big {{ return 200 "{'x' * 4000}"; }}
        location /status404 {{ return 404; }}
        {self.extra}
    }}
}}
"""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(conf)
        self.proc = subprocess.Popen([nginx, "-p", d, "-c", os.path.join(d, "nginx.conf"),
                                      "-e", os.path.join(d, "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=_favour)
        wait_port(self.port)
        return self

    def url(self, path="/"):
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class RawServer:
    """A threaded TCP server whose per-connection behaviour is a function(conn).
    The handler gets the socket after accept; the server stops on exit."""

    def __init__(self, handler):
        self.handler = handler
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1024)
        self.port = self.sock.getsockname()[1]
        self.stopping = threading.Event()
        self.conns = []
        self.lock = threading.Lock()
        self.requests = []  # raw request heads seen, for tests that inspect them

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self):
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def _accept(self):
        self.sock.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        try:
            conn.settimeout(30)
            self.handler(self, conn)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def __exit__(self, *exc):
        self.stopping.set()
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass


def read_request(server, conn):
    """Reads one request head (and a Content-Length body); None at EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    with server.lock:
        server.requests.append((head.decode("latin-1"), body))
    return head, body


def surge(*args, timeout=60, check_rc=None, env=None):
    """Runs build/surge; returns CompletedProcess. Fails the test when it outlives timeout."""
    start = time.monotonic()
    p = subprocess.run([SURGE, *args], capture_output=True, text=True, timeout=timeout, env=env,
                       preexec_fn=_favour)
    p.elapsed = time.monotonic() - start
    if check_rc is not None and p.returncode != check_rc:
        raise AssertionError(f"surge {' '.join(args)} exited {p.returncode}, expected {check_rc}\n"
                             f"stdout:\n{p.stdout}\nstderr:\n{p.stderr}")
    return p


class Proc:
    """A surge process whose stderr lines are kept with the monotonic time each arrived.
    prefix: the command it runs under (`ip netns exec NAME`, which execs it: same pid)."""

    def __init__(self, args, env=None, prefix=()):
        self.lines = []
        self.lock = threading.Lock()
        # inside favoured(), above the host's other work, as the harness starts its own
        self.p = subprocess.Popen([*prefix, SURGE, *args], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env, preexec_fn=_favour)
        self.out = []
        self.t_err = threading.Thread(target=self._read, daemon=True)
        self.t_out = threading.Thread(target=lambda: self.out.extend(self.p.stdout), daemon=True)
        self.t_err.start()
        self.t_out.start()

    def _read(self):
        for line in self.p.stderr:
            with self.lock:
                self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_line(self, needle, timeout=60):
        """The (time, line) of the first stderr line containing needle."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for t, line in self.lines:
                    if needle in line:
                        return t, line
            if self.p.poll() is not None and not self.t_err.is_alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"no line with {needle!r} within {timeout}s:\n{self.stderr()}")

    def sleep_into_run(self, seconds, timeout=60):
        """Sleeps until `seconds` after the start a coordinator announced ("the test starts at
        RFC3339"): a point in the run itself, whatever the host's pace before it."""
        _, line = self.wait_line("test starts at", timeout)
        start = datetime.datetime.fromisoformat(line.split("test starts at ")[1].strip())
        left = start.timestamp() + seconds - time.time()
        if left > 0:
            time.sleep(left)

    def wait(self, timeout=90):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError(f"still running after {timeout}s:\n{self.stderr()}")
        self.t_err.join(5)
        self.t_out.join(5)
        return self.p.returncode

    def stderr(self):
        with self.lock:
            return "\n".join(line for _, line in self.lines)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def run_json(*args, timeout=60, check_rc=0):
    """Runs `surge run ... --json F` and returns (process, result document)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "result.json")
        p = surge("run", "--json", path, *args, timeout=timeout, check_rc=check_rc)
        with open(path) as f:
            return p, json.load(f)


def decode_histogram(text):
    """Decodes HdrHistogram's V2 compressed encoding far enough to check it: cookie, layout
    and total count. Written independently of surge's C decoder on purpose."""
    raw = base64.b64decode(text)
    cookie = int.from_bytes(raw[0:4], "big")
    # V2 writers put word size 1 in the cookie's 0xf0 nibble: 0x1c849314, "HISTFAAA" in base64
    assert cookie == 0x1C849314, f"compressed cookie {cookie:#x}"
    assert text.startswith("HISTFAAA"), text[:8]
    length = int.from_bytes(raw[4:8], "big")
    payload = zlib.decompress(raw[8:8 + length])
    assert int.from_bytes(payload[0:4], "big") == 0x1C849313
    plen = int.from_bytes(payload[4:8], "big")
    counts, pos, end = [], 40, 40 + plen
    while pos < end:
        shift = value = 0
        while True:
            b = payload[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80 or shift >= 56:
                if shift >= 56 and b & 0x80:
                    value |= payload[pos] << 56
                    pos += 1
                break
        value = (value >> 1) ^ -(value & 1)
        if value < 0:
            counts.extend([0] * -value)
        else:
            counts.append(value)
    return {"sig_figs": int.from_bytes(payload[12:16], "big"),
            "lowest": int.from_bytes(payload[16:24], "big"),
            "highest": int.from_bytes(payload[24:32], "big"),
            "total": sum(counts), "counts": counts}



# A scenario with 1,000 request names, each as often as the others (the live UI's tables).
THOUSAND_ENDPOINTS = """
local n = 0
tasks = {
    one = task(1, function(u)
        n = n + 1
        u:get("/health", { name = string.format("/ep/%04d", n % 1000) })
    end),
}
"""


def read_events(url, seconds, last_id=None, until=None, token=None):
    """A live UI's event stream (surge run --ui, a coordinator's page: docs/ui.md) for up to
    `seconds` (or until until(event) is true): a list of (id, object). The connection's
    `history` event is returned with id None. token: sent as the page would."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port), timeout=1)
    head = f"GET /api/events HTTP/1.1\r\nHost: {u.netloc}\r\nAccept: text/event-stream\r\n"
    if last_id is not None:
        head += f"Last-Event-ID: {last_id}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    s.sendall((head + "\r\n").encode())
    events, buf, end = [], b"", time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                block, buf = buf.split(b"\n\n", 1)
                eid, data = None, []
                for line in block.decode().split("\n"):
                    if line.startswith("id:"):
                        eid = int(line[3:].strip())
                    elif line.startswith("data:"):
                        data.append(line[5:].lstrip())
                if data:
                    obj = json.loads("\n".join(data))
                    events.append((eid, obj))
                    if until and until(obj):
                        return events
    finally:
        s.close()
    return events


def main(tests):
    """Runs the given test functions (those named on the command line, or all)."""
    wanted = sys.argv[1:]
    failed = 0
    for fn in tests:
        name = fn.__name__
        if wanted and not any(w in name for w in wanted):
            continue
        module = os.path.splitext(os.path.basename(sys.modules[fn.__module__].__file__))[0]
        if os.environ.get("SURGE_IO"):  # tests/run's second pass on the other backend
            module += "@" + os.environ["SURGE_IO"]
        start = time.monotonic()
        try:
            fn()
            print(f"PASS {module}/{name} ({time.monotonic() - start:.1f}s)", flush=True)
        except Skip as e:
            print(f"SKIP {module}/{name}: {e}", flush=True)
        except Exception:
            failed += 1
            print(f"FAIL {module}/{name} ({time.monotonic() - start:.1f}s)", flush=True)
            for line in traceback.format_exc().rstrip().splitlines():
                print(f"    {line}", flush=True)
    sys.exit(1 if failed else 0)


class Serve:
    """`surge serve` started for real on a free loopback port; stopped (SIGTERM) on exit.
    Its stdout (JSON logs) is kept in self.log_path for tests that read it."""

    def __init__(self, *args, env=None, workers=None):
        # SURGE_SERVE_WORKERS: the default worker count, e.g. 4 for a ThreadSanitizer run
        workers = workers or int(os.environ.get("SURGE_SERVE_WORKERS", "1"))
        self.port = free_port()
        self.args = ["serve", "--listen", f"127.0.0.1:{self.port}", "--workers", str(workers),
                     *args]
        self.env = env
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="surge-serve-")
        # its own --data-dir: the default (/tmp, so /tmp/surge.db) is shared by every serve on
        # the machine, and tests running side by side would see each other's rows
        if "--data-dir" not in args and "SURGE_DATA_DIR" not in (env or os.environ):
            self.args += ["--data-dir", self.dir]
        self.log_path = os.path.join(self.dir, "stdout.log")

    def __enter__(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([SURGE, *self.args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=self.env, preexec_fn=_favour)
        wait_listening(self.port, self.proc)
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("surge serve did not stop within %ss of SIGTERM" % timeout)
        return self.proc.returncode

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def http(method, url, body=None, headers=None, timeout=30):
    """One HTTP request with the standard library; returns (status, headers, body bytes)."""
    import http.client
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        path = u.path + (("?" + u.query) if u.query else "")
        conn.request(method, path or "/", body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def get_json(url, expect=200, method="GET", body=None, headers=None):
    status, hdrs, data = http(method, url, body=body, headers=headers)
    assert status == expect, f"{method} {url}: {status}, expected {expect}: {data[:300]!r}"
    return json.loads(data), hdrs


def metric_sum(text, name, **labels):
    """The sum of the Prometheus samples of NAME in TEXT whose labels include the given ones."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def proc_stat(pid):
    """(cpu seconds, rss bytes) of a process, from /proc: the outside view of its cost."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


_favour = None  # inside favoured(): the preexec_fn of every surge the harness starts


def _favour_child(niceness):
    # its own session is its own autogroup (the scheduler shares CPU between autogroups
    # first, so a nice value alone does nothing against load from other sessions); then
    # that autogroup and the process are raised
    os.setsid()
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(niceness))
    except OSError:
        pass  # a kernel without autogroups: the nice value below is what counts
    os.setpriority(os.PRIO_PROCESS, 0, niceness)


def favour_preexec(niceness=-10):
    """A preexec_fn that runs a child above the host's other work, or None when not root."""
    if os.geteuid() != 0:
        return None
    return lambda: _favour_child(niceness)


def favour_self(niceness=-10):
    """The test process itself, and all it starts from now on, run favoured (root only): for
    a file whose own servers (RawServer threads) and clients must all get CPU on time. It
    leaves the terminal's session, so Ctrl-C no longer reaches it; it ends on its own bounds.
    False when not root."""
    if os.geteuid() != 0:
        return False
    try:
        _favour_child(niceness)
    except PermissionError:  # already a session leader: raise what can be raised
        os.setpriority(os.PRIO_PROCESS, 0, niceness)
    return True


@contextlib.contextmanager
def favoured(niceness=-10):
    """Inside, every process the harness starts (Serve, Nginx, surge(), run_json()) runs
    above the host's other work (root only): a test whose subjects must get their CPU in a
    bounded time gets it by priority, not by an idle host. Yields False when not root."""
    global _favour
    before = _favour
    _favour = favour_preexec(niceness)
    try:
        yield _favour is not None
    finally:
        _favour = before


def need_pg_bin(name):
    """A PostgreSQL server binary (initdb, pg_ctl live outside PATH on Debian)."""
    import glob
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else need(name)


class Postgres:
    """A real PostgreSQL in a temporary directory on a free loopback port (trust auth), run
    as the postgres user when we are root; stopped (immediate) and removed on exit."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="surge-pg-")
        self.port = free_port()
        self.data = os.path.join(self.dir, "data")

    def _run(self, *args):
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def __enter__(self):
        initdb, pg_ctl = need_pg_bin("initdb"), need_pg_bin("pg_ctl")
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run(initdb, "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._run(pg_ctl, "-D", self.data, "-w", "-t", "30", "-l",
                  os.path.join(self.dir, "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off",
                  "start")
        return self

    def url(self, scheme="postgresql"):
        return f"{scheme}://postgres@127.0.0.1:{self.port}/postgres"

    def __exit__(self, *exc):
        try:
            self._run(need_pg_bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "stop")
        except Exception:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """A real redis-server on a free loopback port, no persistence; stopped on exit."""

    def __init__(self):
        self.port = free_port()
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen([need("redis-server"), "--port", str(self.port), "--bind",
                                      "127.0.0.1", "--save", "", "--appendonly", "no",
                                      "--daemonize", "no"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
