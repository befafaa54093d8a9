"""A locustfile for bench/coordinator-scale.sh's anchor: Locust's master absorbing N real Locust
workers, each counting the load bench/shard_sim.py's shards count (--rps requests a second, 20
endpoints, the same lognormal latencies, 0.5 % failures). The user sends no HTTP request: it
fires Locust's own request event, so each worker's statistics, their reports to the master
(every WORKER_REPORT_INTERVAL: Locust's 3 s, or LOCUST_FLEET_REPORT_S) and the master's work on
them are Locust's own, while the workers stay cheap enough for 50 of them on one CPU.
LOCUST_FLEET_RPS sets the rate per worker (one user per worker)."""

import math
import os
import random
import time

import gevent
import locust.runners
from locust import User, constant, task

# Debian's python3-locust 2.12.1-1 says its version is '' (locust/_version.py), which its
# workers send in their first message and its master then refuses as "an old (pre 2.0)
# worker": the version the package is, for both (this file is loaded before either starts).
if not locust.runners.__version__:
    locust.runners.__version__ = "2.12.1"

# A worker that misses 3 heartbeats (HEARTBEAT_LIVENESS, one a second) is "missing" to the
# master: 50 Python workers on one CPU of a host busy with other work miss that, and the run
# falls apart. 30, as the coordinator here gets --lost-after 10s: the master's work on each
# report is the same.
locust.runners.HEARTBEAT_LIVENESS = 30

RPS = int(os.environ.get("LOCUST_FLEET_RPS", "1000"))
# a worker's report to the master: every 3 s (Locust's WORKER_REPORT_INTERVAL) unless asked
if os.environ.get("LOCUST_FLEET_REPORT_S"):
    locust.runners.WORKER_REPORT_INTERVAL = float(os.environ["LOCUST_FLEET_REPORT_S"])
ENDPOINTS = 20
TICK = 0.1  # fired in slices of a tenth of a second


class Shard(User):
    wait_time = constant(0)

    @task
    def slice_of_a_second(self):
        began = time.monotonic()
        fire = self.environment.events.request.fire
        for i in range(int(RPS * TICK)):
            ep = i % ENDPOINTS
            svc = random.lognormvariate(math.log(2.0 * 1.15 ** ep), 0.6)  # ms
            lag = random.lognormvariate(math.log(0.08), 0.8)
            failed = random.random() < 0.005
            fire(request_type="GET" if ep % 4 else "POST", name=f"/api/v1/resource{ep:02d}",
                 response_time=svc + lag, response_length=420,
                 exception=RuntimeError("HTTP 500") if failed else None, context={})
        gevent.sleep(max(0.0, TICK - (time.monotonic() - began)))


# On the master only, when the driver asks: the time of each worker's report, written at the
# end, so the driver knows every worker reported through its window (a starved worker would
# report late, and the master's work with it).
REPORTS = os.environ.get("LOCUST_FLEET_REPORTS")
if REPORTS:
    import json

    from locust import events

    seen = []

    @events.worker_report.add_listener
    def _on_report(client_id, data):
        seen.append((time.time(), client_id))

    @events.quitting.add_listener
    def _on_quit(environment, **_):
        with open(REPORTS, "w") as f:
            json.dump(seen, f)
