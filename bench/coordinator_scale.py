"""How far one coordinator scales (issue 18 §7; run by bench/coordinator-scale.sh, which says how).
For each fleet size N: a real `surge run --coordinator` pinned to one CPU absorbs N simulated
shards (bench/shard_sim.py, in this process, pinned to the other CPU) that send a second of 20
endpoints each once a second; over a steady window of the run it measures the coordinator's CPU
(every thread's time on a CPU, /proc/PID/task/*/schedstat), its resident memory
(/proc/PID/status) and the bytes the shards sent and received (counted on their sockets, HTTP
heads included, and by the kernel); at the end it checks the coordinator's document: every shard
to its end and exactly the requests the shards' seconds count. From the figures: the
coordinator's CPU per shard and the largest fleet one core serves. The same for Locust's master
and real Locust workers (locust_fleet), the anchor. Everything on 127.0.0.1; every wait bounded."""

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import shard_sim  # noqa: E402

TOKEN = "coordinator-scale-bench-token-0123"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thread_cpu_s(pid):
    """{tid: seconds on a CPU} of each thread of pid (/proc/PID/task/TID/schedstat: the
    scheduler's count in ns, where /proc/PID/stat's utime + stime count 10 ms ticks)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:  # a process that ended
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0]) / 1e9
        except FileNotFoundError:  # a thread that ended
            continue
    return out


def cpu_s(pid):
    """Seconds pid's threads spent on a CPU (threads alive now: a steady run's all)."""
    return sum(thread_cpu_s(pid).values())


def socket_bytes(port):
    """(received, sent) summed over the established TCP connections on local port (the
    kernel's count for each, ss -ti): what a coordinator or master read from its shards or
    workers and wrote them, whatever its transport (HTTP, ZeroMQ)."""
    out = subprocess.run(["ss", "-tinH", "state", "established", f"( sport = :{port} )"],
                         capture_output=True, text=True, check=True).stdout
    received = sum(int(x) for x in re.findall(r"bytes_received:(\d+)", out))
    sent = sum(int(x) for x in re.findall(r"bytes_acked:(\d+)", out))
    return received, sent


def rss_mb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def sleep_until_wall(ns):
    await asyncio.sleep(max(0.0, (ns - time.time_ns()) / 1e9))


async def measure(sim, pid, port, start_ns, warmup, window, seconds):
    """Runs the shards; samples the coordinator and the shards' bytes at start + warmup and
    start + warmup + window (whole seconds of the run, all shards sending)."""
    run = asyncio.ensure_future(sim.run_all(seconds))
    marks = []
    for at in (warmup, warmup + window):
        await sleep_until_wall(start_ns + at * 1_000_000_000)
        if run.done():
            break
        st = sim.stats
        marks.append({"t": time.monotonic(), "cpu": cpu_s(pid), "threads": thread_cpu_s(pid),
                      "rss": rss_mb(pid), "sock": socket_bytes(port),
                      "out": st.bytes_out, "in": st.bytes_in, "posts": st.posts})
    await asyncio.wait_for(run, seconds + 120)
    if len(marks) != 2:
        raise RuntimeError("the run ended before the window did")
    a, b = marks
    busiest = max(b["threads"][t] - a["threads"].get(t, 0) for t in b["threads"])
    return {"wall_s": b["t"] - a["t"], "cpu_s": b["cpu"] - a["cpu"], "busiest_s": busiest,
            "rss_mb": b["rss"], "sock_in": b["sock"][0] - a["sock"][0],
            "sock_out": b["sock"][1] - a["sock"][1],
            "rss_growth_mb": b["rss"] - a["rss"], "shard_out": b["out"] - a["out"],
            "shard_in": b["in"] - a["in"], "posts": b["posts"] - a["posts"]}


def one_fleet(args, n, out_dir):
    port = free_port()
    doc_path = os.path.join(out_dir, f"coordinator-{n}.json")
    err_path = os.path.join(out_dir, f"coordinator-{n}.stderr")
    seconds = args.warmup + args.window + args.tail
    cmd = ["taskset", "-c", str(args.coordinator_cpu), args.surge, "run", "--coordinator",
           f"127.0.0.1:{port}", "--expect-shards", str(n), "--token", TOKEN, "-R",
           str(n * args.rps), "-c", str(2 * n), "-d", f"{seconds}s", "--lost-after",
           args.lost_after, "--json", doc_path,
           "http://127.0.0.1:9/"]
    err = open(err_path, "w")
    coord = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
    began_cpu = None
    try:
        version = subprocess.run([args.surge, "--version"], capture_output=True, text=True,
                                 check=True).stdout.split()[-1]
        sim = shard_sim.Simulator(f"127.0.0.1:{port}", TOKEN, n, rps=args.rps,
                                  endpoints=args.endpoints, version=version)
        began_cpu = cpu_s(coord.pid)

        async def go():
            start = await sim.join_all(timeout=120)
            joined_cpu = cpu_s(coord.pid)
            m = await measure(sim, coord.pid, port, start, args.warmup, args.window, seconds)
            m["join_cpu_s"] = joined_cpu - began_cpu
            return m

        try:
            m = asyncio.run(go())
        except Exception as e:
            st = sim.stats
            slow = sorted(st.answers)[-5:]
            raise RuntimeError(f"{n} shards: {e}; the latest send {st.late_max:.3f} s after its "
                               f"time, the slowest answers {slow}; the coordinator said:\n"
                               f"{open(err_path).read()[-1500:]}") from e
        rc = coord.wait(timeout=120)
    finally:
        if coord.poll() is None:
            coord.kill()
            coord.wait()
        err.close()
    with open(err_path) as f:
        stderr = f.read()
    if rc not in (0,):
        raise RuntimeError(f"{n} shards: the coordinator exited {rc}:\n{stderr[-2000:]}")
    with open(doc_path) as f:
        doc = json.load(f)
    dist = doc.get("distributed", {})
    if dist.get("shards") != n or dist.get("complete") is not True:
        raise RuntimeError(f"{n} shards: the coordinator's document says {dist}")
    if doc["totals"]["requests"] != sim.stats.requests or sim.stats.finished != n:
        raise RuntimeError(f"{n} shards: the document counts {doc['totals']['requests']} "
                           f"requests, the shards sent {sim.stats.requests} "
                           f"({sim.stats.finished} of {n} finished)")
    per = m["wall_s"] * n
    return {"shards": n, "core": m["cpu_s"] / m["wall_s"],
            "busiest_thread": m["busiest_s"] / m["wall_s"],
            "cpu_ms_per_shard": m["cpu_s"] / per * 1e3,
            "kb_in": m["shard_out"] / per / 1e3, "kb_socket_in": m["sock_in"] / per / 1e3,
            "kb_socket_out": m["sock_out"] / per / 1e3, "kb_out": m["shard_in"] / per / 1e3,
            "posts_per_shard_s": m["posts"] / per, "rss_mb": m["rss_mb"],
            "rss_growth_mb_s": m["rss_growth_mb"] / m["wall_s"],
            "hwm_mb": None, "second_kb": sim.second_bytes() / 1e3,
            "late_max_s": sim.stats.late_max, "answer_max_s": sim.stats.answer_max,
            "requests": doc["totals"]["requests"], "join_cpu_s": m["join_cpu_s"],
            "endpoints": len(doc.get("endpoints", []))}


def wait_line(path, needle, deadline, proc):
    """Waits for a line of the file holding needle (the process still running): its time."""
    while time.monotonic() < deadline:
        with open(path) as f:
            if needle in f.read():
                return time.monotonic()
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    with open(path) as f:
        raise RuntimeError(f"no '{needle}' in time:\n{f.read()[-2000:]}")


def locust_fleet(args, n, report_s, out_dir):
    """Locust's master (pinned as the coordinator is) and n real Locust workers (bench/
    locust_fleet.py: each counts what a simulated shard counts) on the other CPU: the
    master's CPU, memory and bytes read over the same window of the run."""
    port = free_port()
    here = os.path.dirname(os.path.abspath(__file__))
    locustfile = os.path.join(here, "locust_fleet.py")
    err_path = os.path.join(out_dir, f"locust-master-{n}.stderr")
    reports_path = os.path.join(out_dir, f"locust-reports-{n}.json")
    seconds = args.warmup + args.window + args.tail
    env = dict(os.environ, LOCUST_FLEET_RPS=str(args.rps), LOCUST_FLEET_REPORT_S=str(report_s))
    master_env = dict(env, LOCUST_FLEET_REPORTS=reports_path)
    cmd = ["taskset", "-c", str(args.coordinator_cpu), args.locust, "-f", locustfile, "--master",
           "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--headless",
           "--expect-workers", str(n), "-u", str(n), "-r", str(n), "-t", f"{seconds}s",
           "--only-summary", "--host", "http://127.0.0.1:9", "--loglevel", "INFO"]
    err = open(err_path, "w")
    master = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=master_env)
    workers = []
    try:
        for _ in range(n):
            workers.append(subprocess.Popen(
                ["taskset", "-c", str(args.sim_cpu), args.locust, "-f", locustfile, "--worker",
                 "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel",
                 "WARNING"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        # the spawn sent to every worker (with many workers on a busy CPU the master's "All
        # users spawned" may never come: their answers miss its wait); the warm-up follows,
        # and every worker must report in the window
        began = wait_line(err_path, "Sending spawn jobs", time.monotonic() + 60 + 2 * n, master)
        marks = []
        for at in (args.warmup, args.warmup + args.window):
            time.sleep(max(0.0, began + at - time.monotonic()))
            marks.append({"t": time.monotonic(), "cpu": cpu_s(master.pid),
                          "threads": thread_cpu_s(master.pid), "rss": rss_mb(master.pid),
                          "sock": socket_bytes(port),
                          "workers": sum(cpu_s(w.pid) for w in workers), "wall": time.time()})
        rc = master.wait(timeout=seconds + 60)
    finally:
        for p in [master, *workers]:
            if p.poll() is None:
                p.kill()
            p.wait()
        err.close()
    if rc not in (0, 1):  # 1: Locust's exit code when a request failed (0.5 % do)
        raise RuntimeError(f"{n} workers: Locust's master exited {rc}:\n"
                           f"{open(err_path).read()[-2000:]}")
    a, b = marks
    with open(reports_path) as f:
        reports = json.load(f)
    in_window = [c for t, c in reports if a["wall"] <= t < b["wall"]]
    if len(set(in_window)) != n:
        raise RuntimeError(f"{n} workers: {len(set(in_window))} reported in the window")
    wall = b["t"] - a["t"]
    per = wall * n
    busiest = max(b["threads"][t] - a["threads"].get(t, 0) for t in b["threads"])
    return {"workers": n, "report_s": report_s, "core": (b["cpu"] - a["cpu"]) / wall,
            "busiest_thread": busiest / wall,
            "cpu_ms_per_worker": (b["cpu"] - a["cpu"]) / per * 1e3,
            "kb_in": (b["sock"][0] - a["sock"][0]) / per / 1e3,
            "kb_out": (b["sock"][1] - a["sock"][1]) / per / 1e3, "rss_mb": b["rss"],
            "reports_per_worker_s": len(in_window) / per,
            "workers_core": (b["workers"] - a["workers"]) / wall}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--surge", default="build/surge")
    p.add_argument("--shards", default="10,50,200")
    p.add_argument("--rps", type=int, default=1000, help="requests a second each shard counts")
    p.add_argument("--endpoints", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--window", type=int, default=20)
    p.add_argument("--tail", type=int, default=3)
    p.add_argument("--lost-after", default="10s",
                   help="the coordinator's --lost-after: above its 3 s default, so that a host "
                   "busy with other work stalling the simulator loses no shard")
    p.add_argument("--coordinator-cpu", type=int, default=0)
    p.add_argument("--sim-cpu", type=int, default=1)
    p.add_argument("--locust-workers", default="10,50",
                   help="Locust's master with these many real workers ('' for none)")
    p.add_argument("--locust-report-s", default="3,1",
                   help="a worker's report interval: Locust's 3 s, and 1 s as a shard's")
    p.add_argument("--locust", default="locust")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args()
    os.sched_setaffinity(0, {args.sim_cpu})
    if args.locust_workers and not shutil.which(args.locust):
        print(f"  no {args.locust} (Debian's python3-locust): Locust's master not measured")
        args.locust_workers = ""
    shards = [int(x) for x in args.shards.split(",")]
    locust_runs = [(float(s), int(x)) for s in args.locust_report_s.split(",")
                   for x in args.locust_workers.split(",") if x]
    rows = {n: [] for n in shards}
    locust_rows = {run: [] for run in locust_runs}
    # rounds alternate the two, so that the host's load swings fall on both
    for round_ in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="surge-bench-coord.") as d:
            for n in shards:
                r = one_fleet(args, n, d)
                rows[n].append(r)
                print(f"  round {round_}, {n:4d} shards: coordinator {r['core'] * 100:5.1f} % of "
                      f"a core (its busiest thread {r['busiest_thread'] * 100:.1f} %), "
                      f"{r['cpu_ms_per_shard']:.3f} ms CPU per shard-second, "
                      f"{r['kb_in']:.1f} KB/s in and {r['kb_out']:.2f} KB/s out per shard (the "
                      f"kernel: {r['kb_socket_in']:.1f} and {r['kb_socket_out']:.2f}), "
                      f"RSS {r['rss_mb']:.1f} MB (+{r['rss_growth_mb_s'] * 1e3:.0f} KB/s); "
                      f"slowest answer {r['answer_max_s'] * 1e3:.0f} ms, latest send "
                      f"{r['late_max_s'] * 1e3:.0f} ms; {r['requests']} requests, all "
                      f"{n} shards complete", flush=True)
            for report_s, n in locust_runs:
                r = locust_fleet(args, n, report_s, d)
                locust_rows[(report_s, n)].append(r)
                print(f"  round {round_}, Locust's master, {n:3d} workers reporting every "
                      f"{report_s:g} s: {r['core'] * 100:5.1f} % of a core (its busiest thread "
                      f"{r['busiest_thread'] * 100:.1f} %), {r['cpu_ms_per_worker']:.3f} ms CPU "
                      f"per worker-second, {r['kb_in']:.1f} KB/s in and {r['kb_out']:.2f} KB/s "
                      f"out per worker, RSS {r['rss_mb']:.1f} MB; "
                      f"{r['reports_per_worker_s']:.2f} reports per worker-second; the workers "
                      f"used {r['workers_core'] * 100:.0f} % of their CPU", flush=True)
    summary = summarize(shards, rows, locust_runs, locust_rows)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rounds": {"surge": {n: rows[n] for n in shards},
                                  "locust": [[k, v] for k, v in locust_rows.items()]},
                       "summary": summary, "args": vars(args)}, f, indent=1)


def median_of(rows, key):
    return statistics.median(r[key] for r in rows)


def summarize(shards, rows, locust_runs, locust_rows):
    """The medians over the rounds, as docs/performance.md shows them; the largest fleet on
    one core from the two largest fleets."""
    print(f"\n  medians over {len(rows[shards[0]])} rounds:")
    print("  | | shards or workers | CPU per shard-second | % of a core | KB/s in per shard | "
          "KB/s out per shard | RSS MB |")
    print("  |---|---|---|---|---|---|---|")
    med = {}
    for n in shards:
        m = {k: median_of(rows[n], k) for k in ("cpu_ms_per_shard", "core", "kb_in", "kb_out",
                                                "rss_mb", "busiest_thread")}
        med[n] = m
        print(f"  | surge coordinator | {n} | {m['cpu_ms_per_shard']:.2f} ms | "
              f"{m['core'] * 100:.1f} % | {m['kb_in']:.1f} | {m['kb_out']:.2f} | "
              f"{m['rss_mb']:.1f} |")
    lmed = {}
    for report_s, n in locust_runs:
        m = {k: median_of(locust_rows[(report_s, n)], k)
             for k in ("cpu_ms_per_worker", "core", "kb_in", "kb_out", "rss_mb")}
        lmed[(report_s, n)] = m
        print(f"  | Locust master, reports every {report_s:g} s | {n} | "
              f"{m['cpu_ms_per_worker']:.2f} ms | {m['core'] * 100:.1f} % | {m['kb_in']:.1f} | "
              f"{m['kb_out']:.2f} | {m['rss_mb']:.1f} |")
    big = shards[-1]
    by_mean = big / med[big]["core"]
    fleet = by_mean
    if len(shards) >= 2:
        small = shards[-2]
        marginal = (med[big]["core"] - med[small]["core"]) / (big - small)
        if marginal > 0:
            fleet = min(by_mean, 1 / marginal)
            print(f"  one core: {1 / marginal:.0f} shards by the marginal cost from {small} to "
                  f"{big}, {by_mean:.0f} by the mean at {big}")
    print(f"  the largest fleet one coordinator serves on one core: about {fleet:.0f} shards")
    for report_s, n in locust_runs:
        if n == max(x for s_, x in locust_runs if s_ == report_s):
            print(f"  Locust's master on one core, reports every {report_s:g} s: about "
                  f"{n / lmed[(report_s, n)]['core']:.0f} workers by the mean at {n}")
    return {"surge": {str(n): med[n] for n in shards}, "fleet_one_core": fleet,
            "locust": [[list(k), v] for k, v in lmed.items()]}


if __name__ == "__main__":
    main()
