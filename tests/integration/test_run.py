"""`surge run` (closed model) against real servers on loopback: nginx, and small servers that
misbehave on purpose. Proves the counts, the result document, the error classes, and that
nothing outlives --duration plus --timeout."""

import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
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
    # no row of zero latencies, which would read as a very fast target
    assert "not one response was measured" in p.stdout and "0.00us" not in p.stdout, p.stdout


def reset_handler(server, conn):
    if read_request(server, conn):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_reset_is_classified():
    with RawServer(reset_handler) as srv:
        p, doc = run_json("-c", "2", "-d", "1s", srv.url(), check_rc=3)
    assert doc["errors_by_kind"]["reset"] > 0, doc["errors_by_kind"]
    assert doc["totals"]["errors"] == doc["totals"]["requests"]
    assert p.elapsed < 5


def test_close_mid_body_is_closed_early():
    def handler(server, conn):
        if read_request(server, conn):
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten..")

    with RawServer(handler) as srv:
        _, doc = run_json("-c", "2", "-n", "20", srv.url(), check_rc=3)
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


def test_garbage_is_a_protocol_error_and_only_garbage_exits_3():
    """A target that answers nothing but garbage never gave one valid response: exit 3, as
    for a target that cannot be reached, with a line saying so. One valid response among
    the garbage is a run that measured something: exit 0, the errors reported."""
    def handler(server, conn):
        if read_request(server, conn):
            conn.sendall(b"SMTP ready\r\n\r\n")

    with RawServer(handler) as srv:
        p, doc = run_json("-c", "2", "-n", "10", srv.url(), check_rc=3)
    assert doc["errors_by_kind"]["protocol_error"] == 10, doc["errors_by_kind"]
    assert doc["totals"]["responses"] == 0, doc["totals"]
    assert "not one valid response from the target" in p.stderr, p.stderr
    assert "protocol_error 10" in p.stderr, p.stderr

    answered = []

    def mostly_garbage(server, conn):
        while read_request(server, conn):
            with server.lock:
                first = not answered
                answered.append(1)
            conn.sendall(OK_RESPONSE if first else b"SMTP ready\r\n\r\n")
            if not first:
                return

    with RawServer(mostly_garbage) as srv:
        _, doc = run_json("-c", "1", "-n", "5", srv.url(), check_rc=0)
    assert doc["totals"]["responses"] == 1 and doc["errors_by_kind"]["protocol_error"] == 4, doc


def test_resource_errors_are_their_own_kind():
    """Descriptors the generator cannot get are its own shortage, not the target's fault:
    `resource_error`, never connect_error or protocol_error. surge runs here with a hard
    limit of 300 descriptors, 200 of them already taken (inherited), and 100 connections:
    some connect, the others find no descriptor. The run says the generator ran short
    (exit 4), and the connections that got one still measured the target."""
    import resource
    held = [os.open("/dev/null", os.O_RDONLY) for _ in range(200)]

    def limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))

    try:
        with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "r.json")
            p = subprocess.run([SURGE, "run", "-c", "100", "-t", "1", "-d", "1s", "--json", path,
                                ngx.url()], capture_output=True, text=True, timeout=30,
                               preexec_fn=limit, pass_fds=held)
            with open(path) as f:
                doc = json.load(f)
    finally:
        for fd in held:
            os.close(fd)
    kinds = doc["errors_by_kind"]
    assert kinds["resource_error"] > 0, kinds
    assert kinds["connect_error"] == 0 and kinds["protocol_error"] == 0, kinds
    assert doc["totals"]["responses"] > 0, doc["totals"]
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "resource_error" in p.stdout and "ran out of" in p.stderr, (p.stdout, p.stderr)
    assert "resource_error" in surge("help", "run", check_rc=0).stdout


def test_server_dying_mid_run():
    with Nginx() as ngx:
        proc = subprocess.Popen([SURGE, "run", "-c", "4", "-d", "3s", "--timeout", "1s", "--json",
                                 "-", ngx.url()], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        # a second after the run began (its banner: a busy host may take a while to start it)
        banner = []
        reader = threading.Thread(target=lambda: banner.append(proc.stderr.readline()))
        reader.start()
        reader.join(10)
        assert banner and banner[0].startswith("surge run"), banner
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
        # 1.5 s after the run began (its banner), not after the process began: a busy host
        # may take a second to start it
        banner = proc.stderr.readline()
        assert "connections on" in banner or "users" in banner, banner
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


def idle_states_entered():
    """How many times each CPU entered an idle state that takes time to leave (its exit
    latency above 0 µs: halt and deeper), from cpuidle's sysfs; {} where there is none."""
    entered = {}
    root = "/sys/devices/system/cpu"
    for cpu in sorted(os.listdir(root)):
        states = os.path.join(root, cpu, "cpuidle")
        if not re.fullmatch(r"cpu\d+", cpu) or not os.path.isdir(states):
            continue
        for state in os.listdir(states):
            with open(os.path.join(states, state, "latency")) as f:
                if int(f.read()) == 0:
                    continue  # polling: what the request leaves allowed
            with open(os.path.join(states, state, "usage")) as f:
                entered[(cpu, state)] = int(f.read())
    return entered


def test_idle_poll_holds_the_cpu_latency_request_while_the_run_lasts():
    if os.geteuid() == 0:
        idle_poll_held()
    # the device is root's: without the right, a warning and the run without it
    with Nginx() as ngx:
        with tempfile.TemporaryDirectory() as d:
            os.chmod(d, 0o777)
            path = os.path.join(d, "result.json")
            drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            p = subprocess.run([*(drop if os.geteuid() == 0 else []),
                                SURGE, "run", "-q", "--idle-poll", "-n", "20", "-c", "2",
                                "--json", path, ngx.url()],
                               capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, p.stderr
            assert "--idle-poll: cannot hold /dev/cpu_dma_latency" in p.stderr, p.stderr
            with open(path) as f:
                assert "idle_poll" not in json.load(f)["config"]


def idle_poll_held():
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "result.json")
        p = subprocess.Popen([SURGE, "run", "-q", "--idle-poll", "-R", "50", "-c", "2",
                              "-d", "3s", "--json", path, ngx.url()],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            held = False
            deadline = time.monotonic() + 10
            while not held and p.poll() is None and time.monotonic() < deadline:
                fds = os.path.join("/proc", str(p.pid), "fd")
                try:
                    held = any(os.readlink(os.path.join(fds, fd)) == "/dev/cpu_dma_latency"
                               for fd in os.listdir(fds))
                except (FileNotFoundError, ProcessLookupError):
                    pass
                if not held:
                    time.sleep(0.05)
            assert held, "surge run --idle-poll never held /dev/cpu_dma_latency open"
            # the kernel's witness: while it holds, no CPU enters a state it must wake from
            before = idle_states_entered()
            time.sleep(0.5)
            after = idle_states_entered()
            still = p.poll() is None
        finally:
            _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        if still:
            assert after == before, (before, after)
        with open(path) as f:
            assert json.load(f)["config"]["idle_poll"] is True


def test_usage_errors_exit_2_with_a_message():
    cases = [
        (["run"], "missing URL"),
        (["run", "--bogus", "http://127.0.0.1:1/"], "--bogus"),
        (["run", "-d", "ten", "http://127.0.0.1:1/"], "--duration"),
        (["run", "-c", "0", "http://127.0.0.1:1/"], "--connections"),
        (["run", "ftp://127.0.0.1/"], "http://"),
        (["run", "http://127.0.0.1:99999/"], "port"),
        (["run", "-H", "NoColon", "http://127.0.0.1:1/"], "--header"),
        (["run", "-x", "http://127.0.0.1:1/"], "unknown option '-x'"),
        (["run", "--body-file", "/nonexistent", "http://127.0.0.1:1/"], "/nonexistent"),
        (["run", "-H", "Bad Name: x", "http://127.0.0.1:1/"], "header"),
        (["nosuch"], "unknown command"),
    ]
    for args, needle in cases:
        p = surge(*args, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert needle in p.stderr, (args, p.stderr)


def no_banner(p):
    """The run never started: its banner ("N connections on M threads") was not printed."""
    return "connections on" not in p.stderr and "users on" not in p.stderr


def test_bad_headers_and_methods_are_usage_errors_before_the_run():
    """Each is rejected while parsing, naming the value and what is wrong with it."""
    url = "http://127.0.0.1:1/"
    cases = [
        (["-H", "X-A: b\r\nX-Evil: 1"], ["X-A: b\\r\\nX-Evil: 1", "line break"]),
        (["-H", "X-A: b\nX-Evil: 1"], ["line break"]),
        (["-H", "X-A: b\x01"], ["control character (0x01)"]),
        (["-H", "Bad Name: v"], ["'Bad Name: v'", "the name has a space"]),
        (["-H", ": v"], ["the name is empty"]),
        (["-m", "GE T"], ["--method 'GE T'", "the method has a space"]),
        (["-m", ""], ["--method ''", "the method is empty"]),
        (["-m", "GET\r\n"], ["control character"]),
        # framing is surge's: a length of the user's would not match the body on the wire
        (["-H", "Content-Length: 999", "--body", "x"], ["'Content-Length: 999'",
                                                        "surge frames the body itself"]),
        (["-H", "transfer-encoding: chunked", "--body", "x"], ["'transfer-encoding: chunked'",
                                                               "frames the body"]),
    ]
    for args, needles in cases:
        p = surge("run", "-n", "1", *args, url, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert no_banner(p), (args, p.stderr)
        for needle in needles:
            assert needle in p.stderr, (args, needle, p.stderr)
        assert len(p.stderr.splitlines()) == 2, p.stderr  # the error and "(see ...)"


def test_framing_headers_never_reach_the_target():
    def handler(server, conn):
        while read_request(server, conn):
            conn.sendall(OK_RESPONSE)

    with RawServer(handler) as srv:
        surge("run", "-n", "3", "-H", "Content-Length: 999", "--body", "x", srv.url(),
              check_rc=2)
        _, doc = run_json("-n", "3", "-H", "Content-Type: text/plain", "--body", "x", srv.url())
    assert len(srv.requests) == 3 and doc["status_codes"] == {"200": 3}, srv.requests
    head, body = srv.requests[0]
    assert head.lower().count("content-length") == 1 and body == b"x", srv.requests[0]


def test_zero_timeout_and_duration_are_rejected():
    for args, needle in [(["--timeout", "0"], "--timeout '0': must be above 0"),
                         (["--timeout", "0ms"], "--timeout '0ms': must be above 0"),
                         (["-d", "0"], "--duration '0': must be above 0"),
                         (["-d", "0s", "-n", "5"], "leave -d out")]:
        p = surge("run", *args, "http://127.0.0.1:1/", timeout=10)
        assert p.returncode == 2 and needle in p.stderr, (args, p.returncode, p.stderr)
        assert no_banner(p), p.stderr


def test_echoed_values_are_cut():
    """A 100,000-character URL (or header, or option value) is echoed as 200 characters
    and "…": the message stays one line a person can read."""
    long_url = "http://" + "a" * 100000 + "/"
    for args in (["run", long_url], ["run", "-H", "X" * 100000, "http://127.0.0.1:1/"],
                 ["run", "-c", "9" * 100000, "http://127.0.0.1:1/"],
                 ["run", "-d", "x" * 100000, "http://127.0.0.1:1/"],
                 ["run", "--profile", "p" * 100000, "http://127.0.0.1:1/"],
                 ["run", "http://127.0.0.1:1/", "y" * 100000],
                 ["run", "--model", "m" * 100000, "http://127.0.0.1:1/"],
                 ["run", "--cost-per-hour", "9" * 100000, "http://127.0.0.1:1/"],
                 ["run", "--scrape", "s" * 100000, "http://127.0.0.1:1/"],
                 ["run", "--json", "/nonexistent/" + "j" * 100000, "http://127.0.0.1:1/"],
                 ["c" * 100000]):
        p = surge(*args, timeout=10)
        assert p.returncode == 2, (args[:2], p.returncode)
        first = p.stderr.splitlines()[0]
        assert "…" in first and len(first) < 400, (args[:2], len(first), first[:300])


def test_conflicting_options_are_usage_errors():
    url = "http://127.0.0.1:1/"
    cases = [
        (["-R", "10", "--stages", "1s:5"], ["-R/--rate", "--stages", "give one"]),
        (["--users", "2", "--spawn-rate", "2", "-c", "3"], ["--users", "-c/--connections"]),
        (["--users", "2", "-c", "3"], ["--users", "-c/--connections"]),
        (["--stages", "1s:5", "-c", "3"], ["--stages", "-c/--connections"]),
        (["--body", "x", "--body-file", "/etc/hostname"], ["--body", "--body-file",
                                                           "give one"]),
        (["--body-file", "/etc/hostname", "--body", "x"], ["--body", "--body-file"]),
    ]
    for args, needles in cases:
        p = surge("run", *args, url, timeout=10)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert no_banner(p) and all(n in p.stderr for n in needles), (args, p.stderr)


def test_missing_values_are_named():
    url = "http://127.0.0.1:1/"
    for args, needle in [([url, "--json"], "--json needs FILE"),
                         ([url, "--csv"], "--csv needs PREFIX"),
                         ([url, "-c"], "-c/--connections needs N"),
                         ([url, "--timeout"], "--timeout needs DURATION"),
                         ([url, "-H"], "-H/--header needs 'NAME: VALUE'")]:
        p = surge("run", *args, timeout=10)
        assert p.returncode == 2 and needle in p.stderr, (args, p.stderr)


def test_options_after_the_url_and_attached_values():
    """GNU getopt: options may follow the URL (`surge run URL -c 10`); `-c=2` is read as
    `-c 2`, as `--connections=2` is."""
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        surge("run", ngx.url(), "-c", "3", "-t", "1", "-n", "30", "--json", path, "-q",
              check_rc=0)
        with open(path) as f:
            doc = json.load(f)
        assert doc["config"]["connections"] == 3 and doc["totals"]["requests"] == 30, doc["config"]
        surge("run", "-c=2", "-t=1", "-n=20", ngx.url(), "--json=" + path, "-q", check_rc=0)
        with open(path) as f:
            doc = json.load(f)
        assert doc["config"]["connections"] == 2 and doc["totals"]["requests"] == 20, doc["config"]
    p = surge("run", "http://127.0.0.1:1/", "http://127.0.0.1:2/", timeout=10, check_rc=2)
    assert "got 'http://127.0.0.1:2/' too" in p.stderr, p.stderr


def test_limits_in_messages_read_as_numbers():
    url = "http://127.0.0.1:1/"
    for args, needle in [(["-c", "0"], "from 1 to 1,000,000"),
                         (["-n", "0"], "from 1 to 1,000,000,000,000"),
                         (["--users", "2", "--spawn-rate", "0"], "from 0.001 to 1,000,000"),
                         (["--target-rps", "-1"], "from 0 to 1,000,000,000"),
                         (["--model", "open", "--stages", "1s:99999999"], "from 0 to 10,000,000"),
                         (["-d", "99999999h"], "at most 10,000 days")]:
        p = surge("run", *args, url, timeout=10)
        assert p.returncode == 2 and needle in p.stderr, (args, p.stderr)
        assert not re.search(r"\de[+-]?\d", p.stderr), p.stderr


def test_ignored_options_warn():
    """--max-queue means nothing in the closed model, -k nothing for http://: said, not
    silently dropped."""
    def handler(server, conn):
        while read_request(server, conn):
            conn.sendall(OK_RESPONSE)

    # the exit code is not what is tested (a busy host may make the self-check answer 4)
    with RawServer(handler) as srv:
        p, _ = run_json("-n", "2", "--max-queue", "5", srv.url(), check_rc=None)
        assert "warning: --max-queue is for the open model" in p.stderr, p.stderr
        p, _ = run_json("-n", "2", "-k", srv.url(), check_rc=None)
        assert "warning: -k/--insecure does nothing for an http:// URL" in p.stderr, p.stderr
        p, _ = run_json("-n", "2", "-R", "50", "--max-queue", "5", srv.url(), check_rc=None)
        assert "warning" not in p.stderr, p.stderr


def test_nothing_measured_is_never_a_pass():
    """Stages in which no user ever starts are a usage error; a run in which not one
    request ended (here: every request is still out when -d ends) exits 5 with a line
    saying so, and no figure anywhere reads "nan"."""
    for stages in ("0s:0", "1s:0", "1s:0,2s:0"):
        p = surge("run", "--stages", stages, "http://127.0.0.1:1/", timeout=10)
        assert p.returncode == 2 and "no user would ever start" in p.stderr, (stages, p.stderr)
        assert no_banner(p), p.stderr
    p = surge("run", "--model", "open", "--stages", "1s:0", "http://127.0.0.1:1/", timeout=10)
    assert p.returncode == 2 and "not one request would be sent" in p.stderr, p.stderr

    def stall(server, conn):
        read_request(server, conn)
        server.stopping.wait(30)

    with RawServer(stall) as srv, tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "r")
        p = surge("run", "-c", "2", "-d", "300ms", "--timeout", "20s", "--json", out + ".json",
                  "--markdown", out + ".md", "--junit", out + ".xml", "--csv", out,
                  "--html", out + ".html", "--hdr-log", out + ".hlog",
                  "--threshold", "p95<1s", srv.url(), timeout=30)
        assert p.returncode == 5, (p.returncode, p.stdout, p.stderr)
        assert "nothing was measured" in p.stderr, p.stderr
        assert "nan" not in p.stdout.lower(), p.stdout
        for name in os.listdir(d):
            if not name.endswith(".html"):  # the page's script has isNaN
                text = open(os.path.join(d, name)).read().lower()
                assert not re.search(r"\bnan\b", text), (name, text[:500])
    assert "5  nothing was measured" in surge("help", "exit-codes", check_rc=0).stdout


def run_env(**variables):
    """The environment of a `surge run` given only these SURGE_* variables (none inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SURGE_")}
    env.update(variables)
    return env


def test_environment_drives_the_run_and_flags_win():
    """SURGE_<NAME> is --NAME, as for surge serve: a generator pod is configured like a target
    pod. A flag wins over its variable, whose value is then never read."""
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        surge("run", "-q", ngx.url(), timeout=60, check_rc=0,
              env=run_env(SURGE_CONNECTIONS="3", SURGE_THREADS="1", SURGE_REQUESTS="300",
                          SURGE_JSON=path, SURGE_HEADER="X-From: env"))
        doc = json.load(open(path))
        assert doc["totals"]["requests"] == 300, doc["totals"]
        assert doc["config"]["connections"] == 3 and doc["config"]["threads"] == 1, doc["config"]
        assert doc["config"]["headers"] == ["X-From: env"], doc["config"]
        # the flags win; the bad SURGE_CONNECTIONS is never read
        os.unlink(path)
        surge("run", "-q", "-c", "2", "-n", "50", ngx.url(), timeout=60, check_rc=0,
              env=run_env(SURGE_CONNECTIONS="many", SURGE_REQUESTS="300", SURGE_JSON=path))
        doc = json.load(open(path))
        assert doc["totals"]["requests"] == 50, doc["totals"]
        assert doc["config"]["connections"] == 2, doc["config"]
        # a load shape on the command line replaces the environment's whole shape (as it
        # replaces a scenario file's): -c makes SURGE_RATE go unread, the run stays closed
        surge("run", "-q", "-c", "2", "-n", "20", ngx.url(), timeout=60, check_rc=0,
              env=run_env(SURGE_RATE="ten", SURGE_JSON=path))
        assert json.load(open(path))["config"]["model"] == "closed"
        # a switch takes a boolean: SURGE_QUIET=1 is -q (no summary), 0 is nothing
        p = surge("run", "-n", "5", "-c", "1", ngx.url(), timeout=60, check_rc=0,
                  env=run_env(SURGE_QUIET="1"))
        assert p.stdout == "" and no_banner(p), (p.stdout, p.stderr)
        p = surge("run", "-n", "5", "-c", "1", ngx.url(), timeout=60, check_rc=0,
                  env=run_env(SURGE_QUIET="off"))
        assert "requests" in p.stdout, p.stdout


def test_bad_environment_values_name_the_variable():
    """A bad value from the environment is a usage error naming the variable, never a flag the
    user did not type, before the run starts (exit 2)."""
    url = "http://127.0.0.1:1/"
    cases = [
        ({"SURGE_CONNECTIONS": "0"}, "$SURGE_CONNECTIONS: '0' is not a whole number"),
        ({"SURGE_DURATION": "ten"}, "$SURGE_DURATION"),
        ({"SURGE_RATE": "fast"}, "$SURGE_RATE"),
        ({"SURGE_QUIET": "maybe"}, "$SURGE_QUIET: 'maybe' is not a boolean"),
        ({"SURGE_HEADER": "NoColon"}, "$SURGE_HEADER 'NoColon'"),
        ({"SURGE_HOST": "http://127.0.0.1:1/"}, "$SURGE_HOST is for scenarios"),
        ({"SURGE_JSON": "/nonexistent/dir/r.json"}, "$SURGE_JSON"),
        # two variables that contradict each other are both named
        ({"SURGE_USERS": "3", "SURGE_RATE": "10"}, "$SURGE_USERS"),
    ]
    for variables, needle in cases:
        p = surge("run", "-n", "1", url, timeout=10, env=run_env(**variables))
        assert p.returncode == 2, (variables, p.returncode, p.stderr)
        assert needle in p.stderr and no_banner(p), (variables, p.stderr)
        assert "--" + next(iter(variables))[6:].lower() not in p.stderr, (variables, p.stderr)
    # the same value as a flag still names the flag
    p = surge("run", "-c", "0", url, timeout=10, env=run_env(SURGE_CONNECTIONS="0"))
    assert p.returncode == 2 and "--connections" in p.stderr, p.stderr
    assert "$SURGE_CONNECTIONS" not in p.stderr, p.stderr
    # a warning names the variable too
    p = surge("run", "-q", "-n", "1", url, timeout=10, env=run_env(SURGE_INSECURE="yes"))
    assert "warning: $SURGE_INSECURE does nothing for an http:// URL" in p.stderr, p.stderr


def test_environment_sits_between_a_scenario_file_and_the_command_line():
    """flags > SURGE_* > the file's options > defaults, as k6 orders them."""
    with Nginx() as ngx, tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "s.lua")
        with open(script, "w") as f:
            f.write('options = { host = "%s", users = 1, duration = "30s" }\n'
                    'tasks = { home = task(1, function(u) u:get("/") end) }\n'
                    % ngx.url().rstrip("/"))
        path = os.path.join(d, "r.json")
        surge("run", "-q", "--json", path, script, timeout=60, check_rc=0,
              env=run_env(SURGE_DURATION="1s", SURGE_USERS="2", SURGE_REQUESTS="40"))
        doc = json.load(open(path))
        assert doc["config"]["connections"] == 2 and doc["totals"]["requests"] == 40, doc["config"]
        surge("run", "-q", "--json", path, "-n", "10", script, timeout=60, check_rc=0,
              env=run_env(SURGE_DURATION="1s", SURGE_REQUESTS="40"))
        assert json.load(open(path))["totals"]["requests"] == 10


def test_help_documents_every_option():
    p = surge("run", "--help", check_rc=0)
    for opt in ["--connections", "--threads", "--duration", "--requests", "--method", "--header",
                "--body", "--body-file", "--timeout", "--json", "--quiet", "--insecure"]:
        assert opt in p.stdout, opt
    assert "exit" in surge("help", "exit-codes", check_rc=0).stdout


if __name__ == "__main__":
    main([v for k, v in sorted(globals().items()) if k.startswith("test_")])
