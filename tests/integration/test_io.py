"""The event loops' I/O backend (`--io`, $SURGE_IO): what `surge run` and `surge serve` use is
what they report (the run's summary and result document, serve's start-up line, GET / and
/metrics); under a seccomp filter that forbids io_uring_setup, as a container runtime's
profile does, `auto` falls back to epoll and says why, and `--io uring` stops with exit 2
naming the reason. No mocks: real processes on 127.0.0.1, a real seccomp filter."""

import ctypes
import json
import os
import subprocess
import tempfile
import urllib.request

from harness import SURGE, Serve, free_port, get_json, main, surge, wait_port

# ---- a seccomp filter, installed in the child before it execs surge ----

PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
NR_IO_URING_SETUP = 425  # the same number on every architecture (the unified table)
EPERM = 1


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


_LIBC = ctypes.CDLL(None, use_errno=True)
# load the syscall number; io_uring_setup: fail with EPERM; anything else: allow
_CODE = (SockFilter * 4)(SockFilter(0x20, 0, 0, 0), SockFilter(0x15, 0, 1, NR_IO_URING_SETUP),
                         SockFilter(0x06, 0, 0, 0x00050000 | EPERM),
                         SockFilter(0x06, 0, 0, 0x7FFF0000))
_PROG = SockFprog(4, _CODE)


def forbid_io_uring():
    if _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_NO_NEW_PRIVS")
    if _LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_PROG), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "PR_SET_SECCOMP")


def env_without_io():
    env = dict(os.environ)
    env.pop("SURGE_IO", None)
    return env


def run_doc(*args, preexec=None, env=None, check_rc=0):
    """`surge run ... --json F`: (process, document)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.json")
        p = subprocess.run([SURGE, "run", "--json", path, *args], capture_output=True, text=True,
                           timeout=60, env=env or env_without_io(), preexec_fn=preexec)
        assert p.returncode == check_rc, f"exit {p.returncode}\n{p.stderr}"
        with open(path) as f:
            return p, json.load(f)


def uring_usable():
    p = subprocess.run([SURGE, "run", "--io", "uring", "-n", "1", "http://127.0.0.1:1/"],
                       capture_output=True, text=True, timeout=30, env=env_without_io())
    return "io_uring cannot be used" not in p.stderr


def test_run_reports_the_backend_it_used():
    backends = ["epoll"] + (["io_uring"] if uring_usable() else [])
    with Serve() as srv:
        for backend in backends:
            p, doc = run_doc("--io", "uring" if backend == "io_uring" else "epoll", "-c", "4",
                             "-t", "2", "-n", "2000", srv.url("/health"))
            io = doc["generator"]["io"]
            assert io["backend"] == backend, io
            assert io["fallback"] is None, io
            assert io["fallback_loops"] == 0, io
            assert doc["totals"]["requests"] == 2000, doc["totals"]
            assert doc["totals"]["errors"] == 0, doc["errors_by_kind"]
            assert f"I/O {backend}\n" in p.stdout, p.stdout[-800:]
            assert "could not be used" not in p.stdout


def test_surge_io_in_the_environment_chooses_like_the_option():
    with Serve() as srv:
        env = dict(env_without_io(), SURGE_IO="epoll")
        _, doc = run_doc("-c", "2", "-n", "200", srv.url("/health"), env=env)
        assert doc["generator"]["io"]["backend"] == "epoll"


def test_serve_reports_the_backend_it_uses():
    for backend in ["epoll"] + (["io_uring"] if uring_usable() else []):
        with Serve("--io", "uring" if backend == "io_uring" else "epoll",
                   env=env_without_io()) as srv:
            info, _ = get_json(srv.url("/"))
            assert info["io"] == backend and info["io_fallback"] is None, info
            with urllib.request.urlopen(srv.url("/metrics"), timeout=30) as r:
                text = r.read().decode()
            assert f'surge_io_backend_info{{backend="{backend}"}} 1' in text
            # the bounds are there at 0, and the loops have turned (the scrape itself)
            for bound in ("sq_full", "cq_overflow", "epoll_fallback", "recv_no_buffer",
                          "send_queue", "input_paused", "input_overflow"):
                assert f'surge_io_bound_hits_total{{bound="{bound}"}} 0' in text, text[-3000:]
            turns = [float(line.split()[1]) for line in text.splitlines()
                     if line.startswith("surge_io_loop_turns_total ")]
            assert turns and turns[0] > 0, turns
            srv.stop()
            with open(srv.log_path) as f:
                log = f.read()
            assert f"I/O {backend}" in log, log[-2000:]


def test_a_bad_io_value_is_a_usage_error():
    p = surge("run", "--io", "kqueue", "-n", "1", "http://127.0.0.1:1/", env=env_without_io())
    assert p.returncode == 2, p.stderr
    assert "--io 'kqueue': expected auto, uring or epoll" in p.stderr, p.stderr
    p = surge("run", "-n", "1", "http://127.0.0.1:1/", env=dict(env_without_io(), SURGE_IO="x"))
    assert p.returncode == 2 and "$SURGE_IO 'x'" in p.stderr, p.stderr
    p = surge("serve", "--io", "poll", "--listen", f"127.0.0.1:{free_port()}",
              env=env_without_io())
    assert p.returncode == 2 and "--io 'poll': expected auto, uring or epoll" in p.stderr, \
        p.stderr


def test_seccomp_forbidding_io_uring_falls_back_to_epoll_and_says_why():
    with Serve() as srv:
        p, doc = run_doc("-c", "2", "-n", "500", srv.url("/health"), preexec=forbid_io_uring)
        io = doc["generator"]["io"]
        assert io["backend"] == "epoll", io
        assert "Operation not permitted" in io["fallback"], io
        assert doc["totals"]["requests"] == 500 and doc["totals"]["errors"] == 0
        assert "I/O epoll: io_uring could not be used (io_uring_setup: Operation not " \
               "permitted" in p.stdout, p.stdout[-800:]
        # asked for io_uring where it is forbidden: an error naming why, before any load
        p = subprocess.run([SURGE, "run", "--io", "uring", "-n", "10", srv.url("/health")],
                           capture_output=True, text=True, timeout=30, env=env_without_io(),
                           preexec_fn=forbid_io_uring)
        assert p.returncode == 2, p.stderr
        assert "--io uring: io_uring cannot be used here: io_uring_setup: Operation not " \
               "permitted" in p.stderr, p.stderr


def test_seccomp_forbidding_io_uring_leaves_serve_on_epoll_saying_why():
    port = free_port()
    with tempfile.TemporaryDirectory() as d:
        log = open(os.path.join(d, "out"), "w+")
        proc = subprocess.Popen([SURGE, "serve", "--listen", f"127.0.0.1:{port}", "--workers",
                                 "2", "--data-dir", d], stdout=log, stderr=subprocess.STDOUT,
                                env=env_without_io(), preexec_fn=forbid_io_uring)
        try:
            wait_port(port)
            info, _ = get_json(f"http://127.0.0.1:{port}/")
            assert info["io"] == "epoll", info
            assert "Operation not permitted" in info["io_fallback"], info
        finally:
            proc.terminate()
            assert proc.wait(timeout=30) == 0
        log.seek(0)
        text = log.read()
        assert "I/O epoll (io_uring: io_uring_setup: Operation not permitted" in text, text
        p = subprocess.run([SURGE, "serve", "--io", "uring", "--listen",
                            f"127.0.0.1:{free_port()}", "--data-dir", d],
                           capture_output=True, text=True, timeout=30, env=env_without_io(),
                           preexec_fn=forbid_io_uring)
        assert p.returncode == 2, p.stderr
        assert "io_uring cannot be used here" in p.stderr, p.stderr


if __name__ == "__main__":
    main([test_run_reports_the_backend_it_used,
          test_surge_io_in_the_environment_chooses_like_the_option,
          test_serve_reports_the_backend_it_uses,
          test_a_bad_io_value_is_a_usage_error,
          test_seccomp_forbidding_io_uring_falls_back_to_epoll_and_says_why,
          test_seccomp_forbidding_io_uring_leaves_serve_on_epoll_saying_why])
