"""Distributed runs across network namespaces (issue 18 §6): what test_distributed.py checks on
loopback, with each shard in a network namespace of its own that this file makes, joined to
the coordinator's by a veth pair, as separate machines are joined by a network. A hub
namespace holds a bridge, the target (`surge serve`) and the coordinator, both bound only to
the bridge's address; shard namespace N has nothing but its loopback and one end of a veth
whose other end is on the bridge, so a shard reaches them only through its veth (and its
127.0.0.1 is not the hub's: checked). Under -n the counts are exact (the coordinator's total
is the shards' sum is one process's, with one verdict); under -R the arrivals are one
process's, second by second; a shard killed mid-run is reported lost within 3 s; a shard
without the token is refused. Nothing is routed out: the addresses are a private /24 no
interface of this machine has, inside namespaces that only this file's processes use.

Namespaces are named surge-t-<this pid>-<n> and deleted at the end, failure or not; those of
an earlier run that was killed (its pid gone) are deleted, and their processes killed, first.
Where namespaces cannot be made (not root, no `ip`, no permission) every test prints a SKIP
line naming why."""

import ctypes
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import harness
from harness import Proc, Skip, favoured
from test_distributed import OK_CODES, TOKEN, load

PREFIX = "surge-t-"
SHARDS = 3
CLONE_NEWNET = 0x40000000
# `ip netns exec NAME` mounts the files of ETC_NETNS/NAME over /etc's: a shard's hosts file
ETC_NETNS = "/etc/netns"
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args, timeout=15):
    """`ip ARGS`; the CompletedProcess (not checked)."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=timeout)


def ip_ok(*args):
    p = ip(*args)
    if p.returncode != 0:
        raise AssertionError(f"ip {' '.join(args)}: {p.stderr.strip()}")
    return p.stdout


def in_netns(name, fn, timeout=30):
    """fn() run in a thread that has joined network namespace name: a socket it makes stays
    in that namespace (setns moves only the calling thread, and this thread ends after)."""
    out = {}

    def body():
        try:
            fd = os.open(f"/run/netns/{name}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    err = ctypes.get_errno()
                    raise OSError(err, f"setns {name}: {os.strerror(err)}")
            finally:
                os.close(fd)
            out["value"] = fn()
        except BaseException as e:  # noqa: B902 - handed to the caller's thread
            out["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise AssertionError(f"in namespace {name}: nothing after {timeout}s")
    if "error" in out:
        raise out["error"]
    return out["value"]


def connects(name, addr, port, timeout=2.0):
    """Whether a TCP connection from namespace name to addr:port is accepted."""
    def attempt():
        with socket.socket() as s:
            s.settimeout(timeout)
            try:
                s.connect((addr, port))
                return True
            except OSError:
                return False
    return in_netns(name, attempt)


def netns_pids(name):
    p = ip("netns", "pids", name)
    return [int(x) for x in p.stdout.split()] if p.returncode == 0 else []


def delete_netns(name):
    """Kills what still runs in namespace name (by pid: only this file's processes are in
    it) and deletes it, which destroys its veth ends and bridge."""
    for pid in netns_pids(name):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while netns_pids(name) and time.monotonic() < deadline:
        time.sleep(0.05)
    ip("netns", "delete", name)
    shutil.rmtree(os.path.join(ETC_NETNS, name), ignore_errors=True)
    try:
        os.rmdir(ETC_NETNS)  # only when empty: no other namespace has files there
    except OSError:
        pass


def delete_stale():
    """Namespaces of an earlier run of this file whose process is gone (it was killed before
    its finally): a run still going (another worktree's) keeps its own."""
    for line in ip("netns", "list").stdout.splitlines():
        m = re.match(rf"({re.escape(PREFIX)}(\d+)-\d+)\b", line)
        if not m or int(m.group(2)) == os.getpid():
            continue
        try:
            with open(f"/proc/{m.group(2)}/cmdline", "rb") as f:
                alive = b"test_distributed_netns" in f.read()
        except OSError:
            alive = False
        if not alive:
            delete_netns(m.group(1))


def unused_subnet():
    """A private /24 that overlaps no address or route of this machine's own namespace."""
    used = []
    for cmd in (("-4", "-o", "addr"), ("-4", "route")):
        for word in ip_ok(*cmd).split():
            try:
                used.append(ipaddress.ip_network(word, strict=False))
            except ValueError:
                pass
    for third in range(213, 253):
        net = ipaddress.ip_network(f"10.{third}.0.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise AssertionError(f"no free 10.x.0.0/24 among 40 tried: {used}")


class Topology:
    """A hub namespace (a bridge at .1, the target and the coordinator) and one namespace per
    shard (its loopback and a veth at .1N whose peer is on the hub's bridge)."""

    def __init__(self):
        self.names = []
        self.hub = f"{PREFIX}{os.getpid()}-0"
        self.shards = [f"{PREFIX}{os.getpid()}-{i}" for i in range(1, SHARDS + 1)]
        self.net = None

    def make(self):
        if os.geteuid() != 0:
            raise Skip("not root: network namespaces and veth pairs need CAP_NET_ADMIN")
        if not shutil.which("ip"):
            raise Skip("no `ip` (iproute2) to make network namespaces")
        delete_stale()
        self.net = unused_subnet()
        self.hub_addr = str(self.net.network_address + 1)
        self.shard_addrs = [str(self.net.network_address + 10 + i) for i in range(1, SHARDS + 1)]
        p = ip("netns", "add", self.hub)
        if p.returncode != 0:
            raise Skip(f"network namespaces cannot be made here: {p.stderr.strip()[:200]}")
        self.names.append(self.hub)
        hub = ["-n", self.hub]
        ip_ok(*hub, "link", "set", "lo", "up")
        p = ip(*hub, "link", "add", "br0", "type", "bridge")
        if p.returncode != 0:
            raise Skip(f"no bridge can be made here: {p.stderr.strip()[:200]}")
        ip_ok(*hub, "addr", "add", f"{self.hub_addr}/{self.net.prefixlen}", "dev", "br0")
        ip_ok(*hub, "link", "set", "br0", "up")
        for i, (name, addr) in enumerate(zip(self.shards, self.shard_addrs), 1):
            ip_ok("netns", "add", name)
            self.names.append(name)
            # made in its two namespaces at once: the root namespace never holds an end
            p = ip("link", "add", "eth0", "netns", name, "type", "veth", "peer", "name",
                   f"v{i}", "netns", self.hub)
            if p.returncode != 0:
                raise Skip(f"no veth pair can be made here: {p.stderr.strip()[:200]}")
            ip_ok("-n", name, "link", "set", "lo", "up")
            ip_ok("-n", name, "addr", "add", f"{addr}/{self.net.prefixlen}", "dev", "eth0")
            ip_ok("-n", name, "link", "set", "eth0", "up")
            ip_ok(*hub, "link", "set", f"v{i}", "master", "br0", "up")
            # this machine's name is the hub's address there, as a network's DNS would say
            os.makedirs(os.path.join(ETC_NETNS, name), exist_ok=True)
            with open(os.path.join(ETC_NETNS, name, "hosts"), "w") as f:
                f.write(f"127.0.0.1 localhost\n{self.hub_addr} {socket.gethostname()}\n")
        # bounded: the bridge's ports forward at once (no STP), the addresses need no DAD
        self.wait_reachable()

    def wait_reachable(self, timeout=10):
        """Every shard namespace reaches a listener on the hub's address."""
        listener = in_netns(self.hub, lambda: socket.create_server((self.hub_addr, 0)))
        try:
            port = listener.getsockname()[1]
            deadline = time.monotonic() + timeout
            for name in self.shards:
                while not connects(name, self.hub_addr, port, timeout=1):
                    if time.monotonic() > deadline:
                        raise AssertionError(f"{name} cannot reach {self.hub_addr}:{port} "
                                             f"after {timeout}s")
                    time.sleep(0.1)
        finally:
            listener.close()

    def delete(self):
        for name in reversed(self.names):
            delete_netns(name)
        self.names = []

    @staticmethod
    def exec(name):
        return ["ip", "netns", "exec", name]


_topology = None
_skip = None
_ports = iter(range(18000, 18100))  # the hub namespace is this file's alone: any port is free


def topology():
    """The namespaces, made on the first test's call; every test skips for the same reason."""
    global _topology, _skip
    if _skip:
        raise Skip(_skip)
    if _topology is None:
        t = Topology()
        try:
            t.make()
        except Skip as e:
            _skip = str(e)
            t.delete()
            raise
        except BaseException:
            t.delete()
            raise
        _topology = t
    return _topology


class HubServe:
    """`surge serve` in the hub namespace, on the bridge's address only."""

    def __init__(self, topo, workers=1):
        self.topo = topo
        self.port = next(_ports)
        self.dir = tempfile.mkdtemp(prefix="surge-serve-")
        self.workers = workers

    def __enter__(self):
        self.log = open(os.path.join(self.dir, "stdout.log"), "w")
        self.proc = subprocess.Popen(
            [*Topology.exec(self.topo.hub), harness.SURGE, "serve", "--listen",
             f"{self.topo.hub_addr}:{self.port}", "--workers", str(self.workers),
             "--data-dir", self.dir, "--access-log", "off"],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=harness._favour)
        deadline = time.monotonic() + 10
        while not connects(self.topo.hub, self.topo.hub_addr, self.port, timeout=0.5):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"surge serve in {self.topo.hub} not listening: "
                                     f"{open(self.log.name).read()[-2000:]}")
            time.sleep(0.05)
        return self

    def url(self, path="/"):
        return f"http://{self.topo.hub_addr}:{self.port}{path}"

    def __exit__(self, *exc):
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
        finally:
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def coordinator(topo, port, shards, *args, lost_after="30s"):
    """A coordinator in the hub, bound to the bridge's address only (lost after 30 s of
    silence unless the test is about losing one, as in test_distributed)."""
    return Proc(["run", "--coordinator", f"{topo.hub_addr}:{port}", "--expect-shards",
                 str(shards), "--token", TOKEN, "--lost-after", lost_after, *args],
                prefix=Topology.exec(topo.hub))


def shard(topo, i, port, *args, token=TOKEN):
    """Shard i's process in namespace i, joining through its veth."""
    env = dict(os.environ)
    env.pop("JOB_COMPLETION_INDEX", None)
    env.pop("SURGE_TOKEN", None)
    extra = ["--token", token] if token else []
    return Proc(["run", "--join", f"http://{topo.hub_addr}:{port}", *extra, "-t", "1", *args],
                env=env, prefix=Topology.exec(topo.shards[i]))


def one_process(topo, *args, timeout=60):
    """The same test as one `surge run` in shard namespace 0: the same path to the target."""
    p = subprocess.run([*Topology.exec(topo.shards[0]), harness.SURGE, "run", "-q", "-t", "1",
                        *args], capture_output=True, text=True, timeout=timeout,
                       preexec_fn=harness._favour)
    return p


def veth_bytes(topo):
    """Bytes each shard's veth carried (received + sent, counted at its hub end)."""
    out = []
    for i in range(1, SHARDS + 1):
        link = json.loads(ip_ok("-n", topo.hub, "-j", "-s", "link", "show", f"v{i}"))[0]
        out.append(link["stats64"]["rx"]["bytes"] + link["stats64"]["tx"]["bytes"])
    return out


def run_distributed(topo, d, url, test_args):
    """The coordinator and a shard in each namespace, each with its own --json; returns
    (coordinator exit code, its document, shard exit codes, shard documents, coordinator)."""
    port = next(_ports)
    out = os.path.join(d, "coordinator.json")
    c = coordinator(topo, port, SHARDS, *test_args, "--json", out, url)
    shards = []
    try:
        c.wait_line("waiting for", timeout=20)
        paths = [os.path.join(d, f"shard{i}.json") for i in range(SHARDS)]
        shards = [shard(topo, i, port, "--json", p) for i, p in enumerate(paths)]
        rc = c.wait(60)
        codes = [s.wait(30) for s in shards]
    finally:
        c.kill()
        for s in shards:
            s.kill()
    return rc, load(out), codes, [load(p) for p in paths], c, shards


def test_each_shard_is_alone_in_its_namespace():
    """A shard's namespace has its loopback and its veth, nothing else; it reaches the hub's
    bridge address and not the hub's 127.0.0.1 (a listener there is refused to it, accepted
    from the hub): what it sends goes through its veth."""
    topo = topology()
    for name, addr in zip(topo.shards, topo.shard_addrs):
        links = json.loads(ip_ok("-n", name, "-j", "link", "show"))
        assert sorted(link["ifname"] for link in links) == ["eth0", "lo"], links
        assert [link.get("link_netnsid") is not None for link in links
                if link["ifname"] == "eth0"] == [True], links  # its peer is in another netns
        addrs = json.loads(ip_ok("-n", name, "-j", "-4", "addr", "show"))
        assert sorted(a["local"] for link in addrs for a in link["addr_info"]) == \
            sorted(["127.0.0.1", addr]), addrs
    loopback = in_netns(topo.hub, lambda: socket.create_server(("127.0.0.1", 0)))
    bridge = in_netns(topo.hub, lambda: socket.create_server((topo.hub_addr, 0)))
    try:
        lo_port, br_port = loopback.getsockname()[1], bridge.getsockname()[1]
        assert connects(topo.hub, "127.0.0.1", lo_port)
        for name in topo.shards:
            assert not connects(name, "127.0.0.1", lo_port), name
            assert connects(name, topo.hub_addr, br_port), name
    finally:
        loopback.close()
        bridge.close()


def test_requests_exact_over_veths_equal_to_one_process():
    """-n 3000 over 3 shards in their namespaces: the coordinator counts 3000, the sum of the
    shards' own 1000s, and one process (over a veth too) counts 3000; the verdicts are one
    process's (exit 1: max<1us fails); each shard's traffic went through its own veth."""
    topo = topology()
    args = ["-n", "3000", "-c", "6", "--threshold", "p99<10s", "--threshold", "max<1us"]
    with HubServe(topo) as srv, tempfile.TemporaryDirectory() as d:
        before = veth_bytes(topo)
        rc, doc, codes, parts, c, shards = run_distributed(topo, d, srv.url("/health"), args)
        carried = [b - a for a, b in zip(before, veth_bytes(topo))]
        one_path = os.path.join(d, "one.json")
        p = one_process(topo, *args, "--json", one_path, srv.url("/health"))
        one = load(one_path)
    # interrupted: a signal stopped the coordinator (else Stop or the end did)
    assert rc == 1, (rc, doc["interrupted"], c.stderr(), [s.stderr() for s in shards])
    assert p.returncode == 1, p.stderr
    assert all(code in (1, 4) for code in codes), codes
    assert [part["totals"]["requests"] for part in parts] == [1000, 1000, 1000]
    assert doc["totals"]["requests"] == sum(part["totals"]["requests"] for part in parts) == \
        one["totals"]["requests"] == 3000, (doc["totals"], one["totals"])
    assert doc["totals"]["responses"] == one["totals"]["responses"] == 3000
    assert doc["totals"]["errors"] == one["totals"]["errors"] == 0
    assert [(t["expr"], t["ok"]) for t in doc["thresholds"]] == \
        [(t["expr"], t["ok"]) for t in one["thresholds"]] == \
        [("p99<10s", True), ("max<1us", False)], (doc["thresholds"], one["thresholds"])
    assert doc["distributed"] == {"shards": 3, "complete": True, "lost": []}, doc["distributed"]
    # 1000 requests and their answers (~100 bytes each way) and a shard's batches at least
    assert all(b > 1000 * 150 for b in carried), carried


def test_open_model_arrivals_over_veths_are_one_process():
    """-R 300 -d 3s: the shards' arrivals, added up by the coordinator across the namespaces,
    are one process's second by second (as test_distributed's, with its saturation
    allowance)."""
    topo = topology()
    args = ["-R", "300", "-d", "3s", "-c", "20"]
    with HubServe(topo, workers=2) as srv, tempfile.TemporaryDirectory() as d:
        url = srv.url("/health")
        rc, doc, codes, _, c, _ = run_distributed(topo, d, url, args)
        one_path = os.path.join(d, "one.json")
        p = one_process(topo, *args, "--json", one_path, url)
        one = load(one_path)
    assert rc in OK_CODES, (rc, c.stderr())
    assert p.returncode in OK_CODES, p.stderr
    assert all(code in OK_CODES for code in codes), codes

    def per_second(document):
        out = {}
        # entry i is second i: a last second may end past i + 1 (a late end, under load)
        for second, point in enumerate(document["timeline"]):
            out[second] = out.get(second, 0) + point["due"]
        return {s: n for s, n in out.items() if n}

    for document in (doc, one):  # every arrival dispatched is accounted for
        t = document["totals"]
        assert t["requests"] + t["dropped"] + t["unfinished"] == sum(per_second(document).values())
    if doc["generator"]["saturated"] or one["generator"]["saturated"]:
        print("    note: a generator flagged saturated: a noisy machine", flush=True)
        return
    assert sum(per_second(one).values()) == 899, per_second(one)
    assert per_second(doc) == per_second(one), (per_second(doc), per_second(one))
    assert doc["config"]["rate"] == 300, doc["config"]


def test_killed_shard_is_lost_within_3s():
    """A shard killed mid-run in its namespace: the coordinator says it is lost within 3 s (and
    a busy host's tick), goes on with the others, and the run is incomplete (exit 6). Run
    favoured (as root) as in test_distributed: the others must not fall silent for 3 s."""
    topo = topology()
    with favoured(), HubServe(topo) as srv, tempfile.TemporaryDirectory() as d:
        port = next(_ports)
        out = os.path.join(d, "coordinator.json")
        c = coordinator(topo, port, SHARDS, "-d", "8s", "-R", "60", "-c", "6", "--json", out,
                        srv.url("/health"), lost_after="3s")
        shards = []
        try:
            c.wait_line("waiting for", timeout=20)
            shards = [shard(topo, i, port) for i in range(SHARDS)]
            victim = shards[1]
            victim.wait_line("surge run GET", timeout=20)
            # three seconds into the run by the start the coordinator set: the victim's
            # first seconds are with it whatever the host's pace (killed at the announce's
            # 5 s, a loaded host once had delivered none: lost from second 0)
            c.sleep_into_run(3, timeout=20)
            victim.p.send_signal(signal.SIGKILL)  # `ip netns exec` exec'd surge: its pid
            killed = time.monotonic()
            lost_at, line = c.wait_line("lost: nothing heard", timeout=15)
            rc = c.wait(30)
            codes = [s.wait(30) for s in shards]
        finally:
            c.kill()
            for s in shards:
                s.kill()
        doc = load(out)
    assert lost_at - killed <= 3.0 + 1.5, (lost_at - killed, line)
    assert rc == 6, (rc, c.stderr())
    assert "incomplete: 1 of 3 shards lost" in c.stderr(), c.stderr()
    assert codes[1] == -signal.SIGKILL, codes
    assert codes[0] in OK_CODES and codes[2] in OK_CODES, codes
    dist = doc["distributed"]
    assert dist["shards"] == 3 and dist["complete"] is False, dist
    assert len(dist["lost"]) == 1 and 1 <= dist["lost"][0]["from_s"] <= 6, dist
    assert f"shard {dist['lost'][0]['shard']}/3" in line, (dist, line)
    assert doc["totals"]["requests"] > 0


def test_wildcard_coordinator_prints_a_join_url_shards_use():
    """A coordinator on 0.0.0.0 (as in a cluster) prints the command a shard runs to join;
    shards on other machines (here: namespaces whose DNS names this machine by the hub's
    address) run it as printed and the test runs. A coordinator given only a port prints a
    URL with its host too. (Both printed http://0.0.0.0:PORT and http://PORT before.)"""
    topo = topology()
    with HubServe(topo) as srv:
        port = next(_ports)
        c = Proc(["run", "--coordinator", f"0.0.0.0:{port}", "--expect-shards", str(SHARDS),
                  "--token", TOKEN, "--lost-after", "30s", "-n", "300", "-c", "3",
                  srv.url("/health")], prefix=Topology.exec(topo.hub))
        shards = []
        try:
            _, line = c.wait_line("waiting for", timeout=20)
            m = re.search(r"surge run --join (\S+)", line)
            assert m and m.group(1) == f"http://{socket.gethostname()}:{port}", line
            env = dict(os.environ, SURGE_TOKEN=TOKEN)
            env.pop("JOB_COMPLETION_INDEX", None)
            shards = [Proc(["run", "--join", m.group(1), "-t", "1"], env=env,
                           prefix=Topology.exec(name)) for name in topo.shards]
            assert c.wait(60) in OK_CODES, c.stderr()
            assert all(s.wait(30) in OK_CODES for s in shards), [s.stderr() for s in shards]
            assert "3 shards joined" in c.stderr(), c.stderr()
        finally:
            c.kill()
            for s in shards:
                s.kill()
        bare_port = next(_ports)
        bare = Proc(["run", "--coordinator", str(bare_port), "--expect-shards", "1", "--token",
                     TOKEN, "-n", "10", srv.url("/health")], prefix=Topology.exec(topo.hub))
        try:
            _, line = bare.wait_line("waiting for", timeout=20)
        finally:
            bare.kill()
    assert f"surge run --join http://127.0.0.1:{bare_port} " in line, line


def test_shard_without_token_refused():
    """A shard in its namespace without the token (401) or with a wrong one (403) is refused
    and exits 2, and the coordinator logs it; one with the token then runs the test."""
    topo = topology()
    with HubServe(topo) as srv:
        port = next(_ports)
        c = coordinator(topo, port, 1, "--join-timeout", "20s", "-n", "100", srv.url("/health"))
        procs = []
        try:
            c.wait_line("waiting for", timeout=20)
            bad = shard(topo, 0, port, token=None)
            procs.append(bad)
            assert bad.wait(30) == 2, bad.stderr()
            assert "refused this shard (401)" in bad.stderr(), bad.stderr()
            wrong = shard(topo, 1, port, token="not-the-token-0123456789")
            procs.append(wrong)
            assert wrong.wait(30) == 2, wrong.stderr()
            assert "refused this shard (403)" in wrong.stderr(), wrong.stderr()
            c.wait_line("without the coordinator's token", timeout=10)
            good = shard(topo, 2, port)
            procs.append(good)
            assert c.wait(40) in OK_CODES, c.stderr()
            assert good.wait(20) in OK_CODES, good.stderr()
        finally:
            c.kill()
            for s in procs:
                s.kill()


def main():
    # a SIGTERM (a suite stopped) ends the tests through the finally below, as a failure does
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        harness.main([test_each_shard_is_alone_in_its_namespace,
                      test_requests_exact_over_veths_equal_to_one_process,
                      test_open_model_arrivals_over_veths_are_one_process,
                      test_killed_shard_is_lost_within_3s,
                      test_wildcard_coordinator_prints_a_join_url_shards_use,
                      test_shard_without_token_refused])
    finally:
        if _topology is not None:
            _topology.delete()


if __name__ == "__main__":
    main()
