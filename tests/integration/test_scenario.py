#!/usr/bin/env python3
"""Lua scenarios against real processes: every API call against `surge serve`, the exact
bytes of scripted requests against a raw server, correlation, task and class weights, think
time, expected statuses and ending an iteration early, errors that do not stop a run, broken
files, the open model, on_stop on ramp-down and at the end of the run (the graceful stop),
options overridden by the command line, the memory of 10,000 idle users, and a generator
that stays flat while each request has a new path."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
from harness import (SANITIZED, SURGE, RawServer, Serve, favoured, main, read_request, run_json,  # noqa: E402
                     surge)


def scenario(text, name="scenario.lua", extra=None):
    """Writes a scenario (and extra files) into a fresh directory; returns its path."""
    d = tempfile.mkdtemp(prefix="surge-scenario-")
    for fname, content in (extra or {}).items():
        with open(os.path.join(d, fname), "w") as f:
            f.write(content)
    path = os.path.join(d, name)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text))
    return path


def checks(doc):
    return {c["name"]: (c["passes"], c["fails"]) for c in doc["checks"]}


def endpoint(doc, method, name):
    for e in doc["endpoints"]:
        if e["method"] == method and e["name"] == name:
            return e
    raise AssertionError(f"no endpoint {method} {name} in {[e['name'] for e in doc['endpoints']]}")


API = """
options = { users = 2, duration = "2s" }
local people = surge.csv("people.csv")
local hits = surge.counter("hits")
local sizes = surge.trend("body_bytes")

flow = {
  function(u)
    local who = people:next()
    local r = u:post("/api/users", { json = { name = who.name, email = who.email }, name = "create" })
    u:check(r.status == 201, "create 201")
    u.id = r:json().id
    u:check(type(u.id) == "number", "create returns an id")
  end,
  function(u)
    -- correlation: the id from the last response is in this request
    local r = u:get("/api/users/" .. u.id, { name = "read" })
    u:check(r.status == 200 and r:json().id == u.id, "read back by id")
    u:check(r.headers["x-cache"] == "MISS" or r.headers["x-cache"] == "HIT", "x-cache header")
    u:check(r.headers["content-type"]:find("json") ~= nil, "lowercased headers")
  end,
  function(u)
    local r = u:put("/api/users/" .. u.id, { json = { name = "renamed" }, name = "update" })
    u:check(r.status == 200, "update 200")
    r = u:request("GET", "/api/users/" .. u.id, { name = "read" })
    u:check(r:json().name == "renamed", "update seen")
  end,
  function(u)
    local r = u:delete("/api/users/" .. u.id, { name = "delete" })
    u:check(r.ok, "delete ok")
    r = u:get("/api/users/" .. u.id, { name = "read gone" })
    u:check(r.status == 404 and not r.ok, "gone after delete")
  end,
  function(u)
    local r = u:get("/api/bytes", { query = { size = 300 } })
    u:check(#r.body == 300, "query size")
    sizes:add(#r.body)
    hits:add(2)
    r = u:head("/health")
    u:check(r.status == 200 and r.body == "", "head has no body")
    r = u:get("/api/slow?delay=2", { timeout = 0.2, name = "slow" })
    u:check(r.status == 0 and r.error == "read_timeout", "per-request timeout")
    local id = surge.uuid()
    u:check(#id == 36 and id:sub(15, 15) == "4", "uuid v4")
    local j = surge.json.decode(surge.json.encode({ a = { 1, 2, 3 }, b = "x" }))
    u:check(j.a[3] == 3 and j.b == "x", "json round trip")
    local n = surge.random(5, 7)
    u:check(n >= 5 and n <= 7 and surge.pick({ "p" }) == "p", "random picks")
    u:sleep(0.01)
  end,
}
"""


def test_every_api_call_against_surge_serve():
    path = scenario(API, extra={"people.csv": 'name,email\n"Ada, L",ada@example.com\nBob,bob@example.com\n'})
    with Serve() as s:
        _, doc = run_json("--host", s.url(""), path, timeout=60)
    c = checks(doc)
    assert doc["script_errors"] == [], doc["script_errors"]
    for name, (passes, fails) in c.items():
        assert fails == 0 and passes > 0, (name, passes, fails, c)
    assert len(c) == 15, c
    for method, name in (("POST", "create"), ("GET", "read"), ("PUT", "update"),
                         ("DELETE", "delete"), ("GET", "/api/bytes"),
                         ("HEAD", "/health"), ("GET", "slow")):
        assert endpoint(doc, method, name)["requests"] > 0
    assert endpoint(doc, "GET", "slow")["errors"] == endpoint(doc, "GET", "slow")["requests"]
    assert doc["metrics"]["counters"]["hits"] > 0
    assert doc["metrics"]["trends"]["body_bytes"]["p50"] == 300
    assert doc["config"]["scenario"] == path


def test_request_bytes_are_what_the_script_asked():
    def handler(server, conn):
        while read_request(server, conn) is not None:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Token: t0k3n\r\n\r\nok")

    path = scenario("""
        flow = {
          function(u)
            local r = u:get("/a", { headers = { ["X-One"] = "1" }, query = { q = "a b&c", n = 2 } })
            u.token = r.headers["x-token"]
          end,
          function(u) u:post("/b", { json = { k = "v" }, headers = { Authorization = "Bearer " .. u.token } }) end,
          function(u) u:put("/c", { body = "raw", headers = { ["Content-Type"] = "text/plain" } }) end,
          function(u) u:patch("/d", { body = "" }) end,
          function(u) u:delete("/e") end,
        }
    """)
    with RawServer(handler) as srv:
        surge("run", "-q", "-t", "1", "-c", "1", "-n", "5", "--host", srv.url(""), path,
              check_rc=0)
        heads = [h for h, _ in srv.requests]
        bodies = [b for _, b in srv.requests]
    assert heads[0].startswith("GET /a?n=2&q=a%20b%26c HTTP/1.1"), heads[0]
    assert "X-One: 1" in heads[0]
    assert heads[1].startswith("POST /b HTTP/1.1") and "Authorization: Bearer t0k3n" in heads[1]
    assert "Content-Type: application/json" in heads[1] and bodies[1] == b'{"k":"v"}'
    assert heads[2].startswith("PUT /c") and bodies[2] == b"raw" and "Content-Type: text/plain" in heads[2]
    assert heads[2].count("Content-Type") == 1
    assert heads[3].startswith("PATCH /d") and "Content-Length: 0" in heads[3]
    assert heads[4].startswith("DELETE /e HTTP/1.1")


def test_task_and_class_weights():
    path = scenario("""
        options = { users = 8 }
        local started = surge.counter("started")
        users = {
          Light = { weight = 1, on_start = function(u) surge.counter("class " .. u.class):add() end,
                    tasks = { function(u) u:get("/health", { name = "light" }) end } },
          Heavy = { weight = 3, on_start = function(u) surge.counter("class " .. u.class):add() end,
                    tasks = { task(1, function(u) u:get("/health", { name = "a" }) end),
                              task(3, function(u) u:get("/health", { name = "b" }) end) } },
        }
    """)
    with Serve() as s:
        _, doc = run_json("-d", "2s", "-c", "8", "--host", s.url(""), path)
    counters = doc["metrics"]["counters"]
    assert counters == {"class Light": 2, "class Heavy": 6}, counters
    a, b = endpoint(doc, "GET", "a")["requests"], endpoint(doc, "GET", "b")["requests"]
    assert a + b > 2000, (a, b)
    share = b / (a + b)
    assert abs(share - 0.75) < 0.03, share  # ~20 standard deviations at this count


def test_think_time_is_respected():
    path = scenario("""
        users = {
          Constant = { wait = constant(0.2), tasks = { function(u) u:get("/health", { name = "constant" }) end } },
          Between = { wait = between(0.1, 0.3), tasks = { function(u) u:get("/health", { name = "between" }) end } },
          Paced = { wait = pacing(0.25), tasks = { function(u) u:get("/api/slow?delay=0.1", { name = "paced" }) end } },
          Sleeper = { tasks = { function(u) u:get("/health", { name = "sleeper" }); u:sleep(0.2) end } },
        }
    """)
    with Serve() as s:
        _, doc = run_json("-d", "2s", "-c", "4", "--host", s.url(""), path)
    # one user, 2 s: at most one iteration per wait, plus the first, plus the response out at
    # the end (the graceful stop counts it); never a flood. between(0.1, 0.3) averages 0.2 s:
    # 16 iterations would need 15 waits of 3 s in all to fit in 2 s, far beyond chance.
    for name, most in (("constant", 12), ("between", 16), ("paced", 10), ("sleeper", 12)):
        n = endpoint(doc, "GET", name)["requests"]
        assert 3 <= n <= most, (name, n)


def test_script_errors_and_runaway_loops_do_not_stop_the_run():
    path = scenario("""
        options = { users = 2 }
        tasks = {
          task(5, function(u) u:get("/health") end),
          task(1, function(u) local x = nil; return x.field end),
          task(1, function(u) while true do end end),
        }
    """, name="faulty.lua")
    with Serve() as s:
        p, doc = run_json("-d", "3s", "--host", s.url(""), path, timeout=60, check_rc=None)
    # a runaway burns the generator's CPU until stopped: exit 4 says so honestly
    assert p.returncode in (0, 4), (p.returncode, p.stderr)
    messages = {e["message"]: e["count"] for e in doc["script_errors"]}
    nil_index = [m for m in messages if "faulty.lua:5:" in m and "nil value" in m]
    runaway = [m for m in messages if "faulty.lua:6:" in m and "runaway" in m]
    assert nil_index and runaway, messages
    assert doc["errors_by_kind"]["script_error"] == sum(messages.values())
    assert endpoint(doc, "GET", "/health")["requests"] > 10
    assert "script err" in p.stdout
    # iterations that never send or sleep (failing at once, or empty) still let the run end
    for text in ("tasks = { function(u) error('boom') end }\n",
                 "on_stop = function(u) u:get('/health', { name = 'bye' }) end\n"
                 "tasks = { function(u) end }\n"):
        with Serve() as s:
            p, doc = run_json("-d", "1s", "-c", "2", "--host", s.url(""), scenario(text),
                              timeout=30, check_rc=None)
        boom = "boom" in str(doc["script_errors"])
        # every iteration failing before a request ended measured nothing: exit 5
        assert p.returncode in ((5,) if boom else (0, 4)), (p.returncode, p.stderr)
        assert doc["duration_s"] < 2, doc["duration_s"]
        assert boom != ("bye" in str(doc["endpoints"])), doc
        assert ("nothing was measured" in p.stderr) == boom, p.stderr


def test_broken_files_exit_2_with_file_and_line():
    cases = [
        ("tasks = { function(u) u:get('/') end\n", "syntax.lua:2:"),
        ("local x = nil\nprint(x.y)\ntasks = {}\n", "toplevel.lua:2:"),
        ("options = { bogus = 1 }\ntasks = { function(u) end }\n", "options.bogus: unknown option"),
        ("options = { users = 'many' }\ntasks = { function(u) end }\n", "options.users"),
        ("x = 1\n", "no user classes"),
        ("users = { A = { weight = -1, tasks = { function(u) end } } }\n", "user class 'A': weight"),
        ("tasks = { 42 }\n", "is not a function"),
    ]
    for i, (text, expect) in enumerate(cases):
        name = expect.split(":")[0] if expect.endswith(":") else f"case{i}.lua"
        path = scenario(text, name=name if name.endswith(".lua") else f"case{i}.lua")
        p = surge("run", "--host", "http://127.0.0.1:9", path, check_rc=2)
        assert expect in p.stderr, (text, p.stderr)
        assert "Traceback" not in p.stderr and "core dumped" not in p.stderr
    p = surge("run", scenario("tasks = { function(u) end }\n"), check_rc=2)
    assert "no host" in p.stderr, p.stderr
    p = surge("run", "/nonexistent/x.lua", check_rc=2)
    assert "/nonexistent/x.lua" in p.stderr


def test_open_model_runs_one_iteration_per_arrival():
    path = scenario("""
        options = { rate = 50, duration = "2s" }
        flow = { function(u) u:get("/health", { name = "first" }) end,
                 function(u) u:get("/health", { name = "second" }) end }
        wait = constant(10) -- no think time in the open model: arrivals pace it
    """)
    with Serve() as s:
        _, doc = run_json("--host", s.url(""), path)
    first, second = endpoint(doc, "GET", "first")["requests"], endpoint(doc, "GET", "second")["requests"]
    assert 95 <= first <= 100 and abs(first - second) <= 2, (first, second)
    assert doc["config"]["model"] == "open"


def test_ramp_down_runs_on_stop_and_command_line_overrides_options():
    path = scenario("""
        -- the peak is held a second: on a loaded host the ramp's tick may come late
        options = { duration = "6s", stages = "1s:4,1s:4,1s:0,1s:0" }
        wait = constant(0.05)
        on_start = function(u) surge.counter("started"):add() end
        on_stop = function(u) u:get("/health", { name = "goodbye" }); surge.counter("stopped"):add() end
        tasks = { function(u) u:get("/health") end }
    """)
    with Serve() as s:
        _, doc = run_json("--host", s.url(""), path, timeout=60)
        counters = doc["metrics"]["counters"]
        assert counters.get("started") == 4 and counters.get("stopped") == 4, counters
        assert endpoint(doc, "GET", "goodbye")["requests"] == 4
        # -d on the command line beats options.duration; stages from the file still apply
        _, doc = run_json("-d", "1s", "--stages", "1s:2", "--host", s.url(""), path)
        assert doc["duration_s"] < 3, doc["duration_s"]
        assert doc["metrics"]["counters"]["started"] == 2


def test_expected_statuses_and_ending_an_iteration_early():
    path = scenario("""
        options = { users = 1, duration = "1s" }
        wait = constant(0.05)
        flow = {
          function(u)
            local r = u:get("/api/users/999999999", { name = "missing", expect = 404 })
            u:check(r.ok and r.status == 404, "an expected 404 is ok")
            r = u:get("/health", { name = "strict", expect = { 201, 202 } })
            u:check(not r.ok and r.status == 200, "an unexpected 200 is not ok")
            pcall(function() u:end_iteration() end) -- not swallowed by the script's pcall
            u:get("/health", { name = "after end" })
          end,
          function(u) u:get("/health", { name = "next step" }) end,
        }
    """)
    # a user of each class (weights 1:1 deal 2 users one each), so each mistake is made at
    # least once however few iterations a busy host allows (one random task of two once
    # picked only the second in 500 ms)
    bad = scenario("""
        options = { users = 2, duration = "1s" }
        users = {
          A = { weight = 1, wait = constant(0.05), tasks = {
            function(u) u:get("/health", { expect = 99 }) end } },
          B = { weight = 1, wait = constant(0.05), tasks = {
            function(u) u:get("/health", { expects = 200 }) end } },
        }
    """, name="bad_opts.lua")
    with Serve() as s:
        _, doc = run_json("--host", s.url(""), path)
        missing, strict = endpoint(doc, "GET", "missing"), endpoint(doc, "GET", "strict")
        assert missing["requests"] > 3 and missing["errors"] == 0, missing
        assert strict["errors"] == strict["requests"] > 3, strict
        assert {"after end", "next step"}.isdisjoint(e["name"] for e in doc["endpoints"])
        assert all(fails == 0 for _, fails in checks(doc).values()), checks(doc)
        assert doc["script_errors"] == [], doc["script_errors"]
        assert doc["totals"]["errors"] == strict["requests"], doc["totals"]
        _, doc = run_json("--host", s.url(""), bad, check_rc=None)
    messages = " ".join(e["message"] for e in doc["script_errors"])
    assert "bad_opts.lua:5: u:get: expect: a status from 100 to 599" in messages, messages
    assert "prelude" not in messages, messages
    assert "bad_opts.lua:7: u:get: unknown request option 'expects' (did you mean 'expect'?)" \
        in messages, messages


JSON = r"""
-- checked where the file loads: a failed one is exit 2 with this file's line
local e, d = surge.json.encode, surge.json.decode
local function eq(a, b) if a ~= b then error(a .. " ~= " .. b, 2) end end
eq(e({}), "{}")
eq(e(surge.json.array()), "[]")
eq(e({ tags = surge.json.array({}) }), '{"tags":[]}')
eq(e(surge.json.array({ 1, 2 })), "[1,2]")
eq(e(d('{"a":[{},[]]}')), '{"a":[{},[]]}') -- decoded arrays stay arrays, even empty
eq(e(d("[1,[2,[]]]")), "[1,[2,[]]]")
local function fails(v, text)
  local ok, err = pcall(e, v)
  assert(not ok and err:find(text, 1, true), tostring(err))
end
local cycle = {}
cycle.self = cycle
options = { users = 1, duration = "500ms" }
tasks = { function(u)
  -- errors part-way through a value free what was built (LeakSanitizer in make asan)
  for _ = 1, 10 do
    fails({ 1, { f = print } }, "cannot encode a function")
    fails({ a = { [true] = 1 } }, "keys must be strings or numbers")
    fails(cycle, "nested deeper than")
    fails({ 0 / 0 }, "has no JSON form")
  end
  u:get("/health")
end }
"""


def test_json_arrays_round_trip_and_bad_values_are_errors():
    with Serve() as s:
        p, doc = run_json("--host", s.url(""), scenario(JSON), check_rc=None)
    # the task is all failing encodes, as fast as the CPU goes: exit 4 says so honestly
    assert p.returncode in (0, 4), (p.returncode, p.stderr)
    assert doc["script_errors"] == [] and doc["totals"]["requests"] > 0, doc["script_errors"]


def test_the_end_of_the_run_runs_on_stop():
    path = scenario("""
        options = { users = 3, duration = "2s" }
        wait = constant(30) -- thinking when the run ends: woken to leave
        on_start = function(u) u:post("/api/users", { json = { name = "x" }, name = "login" }) end
        on_stop = function(u)
          u:get("/health", { name = "logout" })
          surge.counter("stopped"):add()
        end
        tasks = { function(u) u:get("/health", { name = "work" }) end }
    """)
    busy = scenario("""
        options = { users = 3, duration = "2s" }
        on_stop = function(u) u:get("/health", { name = "logout" }) end
        tasks = { function(u) u:get("/api/slow?delay=0.8", { name = "work" }) end }
    """)
    with Serve() as s:
        p, doc = run_json("--host", s.url(""), path)
        assert endpoint(doc, "GET", "logout")["requests"] == 3, doc["endpoints"]
        assert doc["metrics"]["counters"]["stopped"] == 3
        assert endpoint(doc, "GET", "work")["requests"] == 3
        assert doc["duration_s"] < 4 and p.elapsed < 10, (doc["duration_s"], p.elapsed)
        # a request out when the run ends is answered and counted, then the user leaves
        _, doc = run_json("--host", s.url(""), busy)
        work = endpoint(doc, "GET", "work")
        assert work["errors"] == 0 and work["requests"] >= 6, work
        assert endpoint(doc, "GET", "logout")["requests"] == 3
        assert 2.2 <= doc["duration_s"] < 3.5, doc["duration_s"]
        # no grace: what is out is abandoned at once and on_stop does not run
        _, doc = run_json("--graceful-stop", "0", "--host", s.url(""), busy)
        assert "logout" not in [e["name"] for e in doc["endpoints"]], doc["endpoints"]
        assert doc["duration_s"] < 2.3, doc["duration_s"]
        # a grace shorter than on_stop: the user is stopped when it is up
        slow_stop = scenario("""
            options = { users = 2, duration = "1s", graceful_stop = "300ms" }
            on_stop = function(u) u:sleep(30) end
            tasks = { function(u) u:get("/health"); u:sleep(0.1) end }
        """)
        p, doc = run_json("--host", s.url(""), slow_stop)
        assert doc["duration_s"] < 1.8 and p.elapsed < 10, (doc["duration_s"], p.elapsed)
    p = surge("run", "--graceful-stop", "1s", "http://127.0.0.1:9/", check_rc=2)
    assert "--graceful-stop is for scenarios" in p.stderr, p.stderr


def test_a_command_line_shape_replaces_the_files():
    path = scenario("""
        options = { users = 40, spawn_rate = 2, duration = "30s", thresholds = { "p95<1us" } }
        tasks = { function(u) u:get("/health"); u:sleep(0.05) end }
    """)
    with Serve() as s:
        # 2 s: a whole second before the one the stop ends (a busy host's timers fire late)
        p, doc = run_json("-c", "2", "-d", "2s", "--threshold", "error_rate<0.5", "--host",
                          s.url(""), path)
        assert max(pt["users"] for pt in doc["timeline"]) == 2, doc["timeline"]
        assert [t["expr"] for t in doc["thresholds"]] == ["error_rate<0.5"], doc["thresholds"]
        # --stages brings its own length: the file's duration goes with its shape
        # (3 users held a second: the ramp's last tick may come late on a busy host)
        _, doc = run_json("--stages", "1s:3,1s:3", "--host", s.url(""), path, check_rc=None)
        assert doc["duration_s"] < 4, doc["duration_s"]
        assert max(pt["users"] for pt in doc["timeline"]) == 3, doc["timeline"]
        _, doc = run_json("-R", "20", "-d", "1s", "--host", s.url(""), path, check_rc=None)
        assert doc["config"]["model"] == "open" and 18 <= doc["totals"]["requests"] <= 20, doc["totals"]


def test_ten_thousand_idle_users_cost_kilobytes_each():
    path = scenario("""
        wait = constant(3600)
        tasks = { function(u) u:get("/health") end }
    """)
    rss = {}
    with Serve() as s:
        # every user makes its one request first: 10,000 of them take seconds on a busy host
        for n, secs in ((100, "4s"), (10000, "10s")):
            p, doc = run_json("-q", "-t", "1", "-c", str(n), "-d", secs, "--host", s.url(""), path,
                              timeout=120, check_rc=None)
            # starting 10,000 users can keep the one thread busy for seconds: exit 4 is honest
            assert p.returncode == 0 or (p.returncode == 4 and doc["generator"]["saturated"]), \
                (p.returncode, p.stderr)
            assert doc["totals"]["requests"] >= n * 0.99, doc["totals"]
            rss[n] = doc["generator"]["max_rss_bytes"]
    per_user = (rss[10000] - rss[100]) / 9900
    print(f"    idle user: {per_user / 1024:.2f} KiB ({rss[100]} -> {rss[10000]} bytes)")
    # the bar is the release build's; the sanitizers' shadow memory about doubles it
    assert per_user <= (24 if SANITIZED else 10) * 1024, per_user


class Started:
    """`surge run ... --json F` in the background, once its banner is out (its signals are
    handled from then on): signal it, then finish() for (exit code, seconds since the first
    signal, result document)."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="surge-started-")
        self.path = os.path.join(self.dir, "result.json")
        self.proc = subprocess.Popen([SURGE, "run", "--json", self.path, *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        banner = []
        reader = threading.Thread(target=lambda: banner.append(self.proc.stderr.readline()))
        reader.start()
        reader.join(timeout=20)
        assert banner and "surge run" in banner[0], banner
        time.sleep(0.5)  # the run's threads are started: the signals are the supervisor's
        self.signalled = None

    def signal(self, sig):
        if self.signalled is None:
            self.signalled = time.monotonic()
        self.proc.send_signal(sig)

    def finish(self, timeout=30):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            raise AssertionError(f"surge run still running {timeout}s after the signal")
        took = time.monotonic() - self.signalled
        with open(self.path) as f:
            doc = json.load(f)
        return self.proc.returncode, took, doc


RUNAWAY = "while true do local s = string.rep('x', 100000) end"


def test_a_runaway_task_stops_with_the_duration_and_the_signals():
    # the task never yields, and its C calls fill the time between instructions
    busy = scenario(f"""
        options = {{ users = 2, duration = "500ms" }}
        tasks = {{ function(u) {RUNAWAY} end }}
    """)
    spin = scenario("""
        options = { users = 1 }
        tasks = { function(u) while true do end end }
    """)
    with Serve() as s:
        p, doc = run_json("--host", s.url(""), busy, timeout=20, check_rc=None)
        assert p.elapsed < 10 and doc["duration_s"] < 1.5, (p.elapsed, doc["duration_s"])
        p, doc = run_json("-d", "300ms", "--host", s.url(""), spin, timeout=20, check_rc=None)
        assert doc["duration_s"] < 1.2, doc["duration_s"]
        # a signal ends it: the user leaves its task, and its on_stop (another runaway) gets
        # the grace, then is stopped
        leaving = scenario(f"""
            options = {{ users = 2, duration = "60s", graceful_stop = "1s" }}
            on_stop = function(u) {RUNAWAY} end
            tasks = {{ function(u) {RUNAWAY} end }}
        """)
        run = Started("--host", s.url(""), leaving)
        run.signal(signal.SIGTERM)
        rc, took, doc = run.finish()
        assert rc != -signal.SIGTERM and took < 8, (rc, took)
        assert doc["interrupted"] is True and doc["duration_s"] < 10, doc["duration_s"]
        # a second Ctrl-C does not wait for the grace
        run = Started("--graceful-stop", "60s", "--host", s.url(""), leaving)
        run.signal(signal.SIGINT)
        time.sleep(0.3)
        run.signal(signal.SIGINT)
        rc, took, doc = run.finish()
        assert took < 8, took
    # the runaway is what the user did wrong, not a script error of every stop
    assert all("runaway" in e["message"] or "the run" not in e["message"]
               for e in doc["script_errors"]), doc["script_errors"]


FILL = """
options = { users = 8, duration = "4s", script_memory = "4MiB" } -- time for every task, even on a busy host
tasks = {
  tables = function(u) local t = {} for i = 1, 1e7 do t[i] = { i, tostring(i) } end end,
  strings = function(u) local s = "x" for i = 1, 40 do s = s .. s end end,
  closures = function(u) local t = {} for i = 1, 1e7 do t[i] = function() return i end end end,
  threads = function(u)
    local t = {}
    for i = 1, 1e6 do t[i] = coroutine.create(function() coroutine.yield(i) end); coroutine.resume(t[i]) end
  end,
  json = function(u) local t = {} for i = 1, 1e6 do t[i] = surge.json.decode('{"a":[1,2,' .. i .. ']}') end end,
  swallowed = function(u) local t = {} while true do pcall(function() t[#t + 1] = tostring(#t) end) end end,
  giant = function(u) local s = string.rep("x", 1e9) end,
}
on_stop = function(u) local t = {} for i = 1, 1e7 do t[i] = { i } end end
"""


def test_the_lua_heap_is_bounded():
    grow = scenario("""
        options = { users = 1, duration = "2s", script_memory = "16MiB" }
        tasks = { grow = function(u)
          hoard = hoard or {} -- a global: what it holds outlives the task
          while true do hoard[#hoard + 1] = string.rep("x", 100000) .. #hoard end
        end }
    """, name="grow.lua")
    churn = scenario("""
        options = { users = 1, duration = "1s" }
        tasks = { function(u)
          for i = 1, 300 do local s = string.rep("x", 100000) .. i end -- garbage, 30 MB
          u:get("/health")
        end }
    """)
    # the growth must reach the limit within the 2 s a busy host may leave it little CPU of
    with Serve() as s:
        with favoured():
            p, doc = run_json("-t", "1", "--host", s.url(""), grow, timeout=30, check_rc=None)
        messages = [e["message"] for e in doc["script_errors"]]
        assert any(re.search(r"grow\.lua:\d+: task 'grow' of user class 'user': the Lua heap "
                             r"reached its limit of 16 MiB \(--script-memory\)$", m)
                   for m in messages), messages
        assert doc["duration_s"] < 4, doc["duration_s"]
        # the process: ~15 MB of its own, 16 MiB of Lua, and room for a sanitizer's shadow
        assert doc["generator"]["max_rss_bytes"] < (200 if SANITIZED else 64) * 2**20, \
            doc["generator"]["max_rss_bytes"]
        # the command line wins; garbage the collector keeps up with is not a breach
        # (the task is all CPU by design: exit 4, the generator had no slack, is honest)
        p, doc = run_json("-t", "1", "--script-memory", "8MiB", "--host", s.url(""), churn,
                          check_rc=None)
        assert p.returncode in (0, 4), (p.returncode, p.stderr)
        assert doc["script_errors"] == [] and doc["totals"]["requests"] > 0, doc["script_errors"]
        # growing without bound does not hold a signal off either
        run = Started("-d", "60s", "--host", s.url(""), grow)
        run.signal(signal.SIGTERM)
        _, took, doc = run.finish()
        assert took < 8 and doc["interrupted"] is True, took
        # every way to fill the heap, on several threads: an error naming the task, never a
        # crash (refusing allocations inside LuaJIT while its hook is set once crashed it)
        with favoured():  # every task must get to its limit within the run
            p, doc = run_json("-t", "2", "--host", s.url(""), scenario(FILL), timeout=60,
                              check_rc=None)
        assert p.returncode in (0, 4, 5), (p.returncode, p.stderr[-2000:])
        named = {re.search(r"(task '\w+'|on_stop) of user class", e["message"]).group(1)
                 for e in doc["script_errors"] if "the Lua heap reached its limit of 4 MiB" in e["message"]}
        others = [e for e in doc["script_errors"] if "the Lua heap" not in e["message"]]
        assert not others and len(named) >= 6, (named, others)
    p = surge("run", "--script-memory", "1k", "--host", "http://127.0.0.1:9", grow, check_rc=2)
    assert "--script-memory: '1k' is not from 4 MiB" in p.stderr, p.stderr
    p = surge("run", "--script-memory", "64MiB", "http://127.0.0.1:9/", check_rc=2)
    assert "--script-memory is for scenarios" in p.stderr, p.stderr


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_paths_used_once_do_not_grow_the_generator():
    # the families' cache task: a new id in each path ("/api/users/" .. id), each request
    # built from the static cache's path; padded to 4 KiB so a held request is visible. The
    # cache kept the first 10,000 paths per VM: this grew about 40 MiB in 8 s, and the soak's
    # scenario generator 18-29 % in 10 minutes (docs/testing.md, Long runs)
    path = scenario("""
        wait = constant(1)
        local pad = string.rep("p", 4000)
        tasks = { function(u)
          for i = 1, 2 do
            surge.request("GET", "/api/users/" .. u.id .. "-" .. u.iteration .. "-" .. i .. "?p=" .. pad,
                          { name = "/api/users/{id}" })
          end
          u:get("/health")
        end }
    """)
    out = os.path.join(tempfile.mkdtemp(prefix="surge-scenario-"), "r.json")
    seconds, warmup = 12, 4
    samples = []  # (seconds since start, RSS KiB)
    with Serve() as s:
        # under ASan the freed memory sits in its quarantine (256 MiB by default) and the RSS
        # grows with every allocation: a quarantine of none makes RSS mean what it means
        env = dict(os.environ)
        if SANITIZED:
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "quarantine_size_mb=0"]))
        p = subprocess.Popen([SURGE, "run", "-q", "-t", "1", "--users", "300", "--spawn-rate",
                              "1000", "-d", f"{seconds}s", "--json", out, "--host", s.url(""),
                              path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=env)
        start = time.monotonic()
        try:
            while p.poll() is None and time.monotonic() - start < seconds + 30:
                try:
                    samples.append((time.monotonic() - start, rss_kib(p.pid)))
                except OSError:
                    break  # it just ended
                time.sleep(0.25)
        finally:
            if p.poll() is None:
                p.kill()
            _, err = p.communicate(timeout=30)
    assert p.returncode in (0, 4), (p.returncode, err[-2000:])
    with open(out) as f:
        doc = json.load(f)
    assert doc["script_errors"] == [] and doc["totals"]["requests"] >= 300, \
        (doc["script_errors"], doc["totals"])
    after = [kib for t, kib in samples if warmup <= t < warmup + 1]
    end = [kib for t, kib in samples if seconds - 3 <= t < seconds]
    assert after and end, samples
    base, top = sorted(after)[len(after) // 2], max(end)
    print(f"    RSS after {warmup} s {base / 1024:.1f} MiB, most in the last 3 s {top / 1024:.1f} MiB,"
          f" {doc['totals']['requests']} requests")
    # requests held for paths used once grow it tens of MiB; what stays is the cache's two
    # generations of 256 requests (about 3 MiB here) and garbage the collector has not reached
    assert top - base < 8 * 1024, (base, top, samples)


def test_a_stalled_target_takes_no_memory_from_the_generator():
    # A stall puts every user's request out at once. Each request out held its capture
    # buffers (16 KiB for the headers, and the body's) from its send, so a stall grew the
    # threads' arenas by megabytes; blocks that lived on were left spread over them and
    # malloc_trim could not give those pages back: the soak's scenario generator stayed 1 MiB
    # higher after a host stall (+5.1 %, docs/testing.md, Long runs). Now a request holds its
    # buffers only from its response's first bytes until the script has its copy.
    path = scenario("""
        wait = constant(1)
        tasks = { function(u)
          u:get("/api/bytes?size=4096", { name = "bytes" })
          u:get("/health", { name = "/health" })
        end }
    """)
    out = os.path.join(tempfile.mkdtemp(prefix="surge-scenario-"), "r.json")
    users = 800
    samples = []  # (phase, RSS KiB)
    with Serve() as s:
        env = dict(os.environ)
        if SANITIZED:  # ASan's quarantine would keep what is freed (see the test above)
            env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"),
                                                         "quarantine_size_mb=0"]))
        # ended by SIGTERM once the samples are in: phases are counted in samples as well as
        # seconds, so a busy host makes the test longer, not wrong
        p = subprocess.Popen([SURGE, "run", "-q", "-t", "2", "--users", str(users),
                              "--spawn-rate", "1000", "-d", "120s", "--timeout", "60s",
                              "--json", out, "--host", s.url(""), path],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=env)

        def sample(phase, seconds, at_least=10):
            t0, n = time.monotonic(), 0
            while p.poll() is None and (time.monotonic() - t0 < seconds or n < at_least):
                samples.append((phase, rss_kib(p.pid)))
                n += 1
                time.sleep(0.2)
            assert p.poll() is None, (p.returncode, p.stderr.read()[-2000:])

        try:
            sample(None, 6)  # every user in, a few iterations each
            sample("before", 3)
            s.proc.send_signal(signal.SIGSTOP)
            try:
                sample(None, 3)  # three think times: every user has sent a request that waits
                sample("stalled", 2)
            finally:
                s.proc.send_signal(signal.SIGCONT)
            sample(None, 2)
            sample("after", 4)
            p.send_signal(signal.SIGTERM)
        except BaseException:
            p.kill()
            raise
        finally:
            _, err = p.communicate(timeout=60)
    assert p.returncode in (0, 4), (p.returncode, err[-2000:])
    with open(out) as f:
        doc = json.load(f)
    assert doc["interrupted"] and doc["script_errors"] == [] and \
        doc["totals"]["requests"] >= 2 * users, (doc["script_errors"], doc["totals"])

    def median(phase):
        v = sorted(kib for ph, kib in samples if ph == phase)
        assert v, (phase, samples)
        return v[len(v) // 2]

    before, stalled, after = median("before"), median("stalled"), median("after")
    print(f"    RSS before the stall {before / 1024:.1f} MiB, in it {stalled / 1024:.1f},"
          f" after it {after / 1024:.1f}; {doc['totals']['requests']} requests")
    # measured (800 users, 2 threads, 2026-12-04): before the fix the stall held 2.7 to 2.8
    # MiB more (a page or so of each request's 16 KiB, where malloc wrote its chunk headers),
    # after it +0.0 to +0.1 MiB, and +0.1 to +0.2 after the stall; the bound leaves room for
    # the garbage of up to 10 s between two malloc_trims of the supervisor. Under ASan its
    # own allocator holds what was freed (malloc_trim does nothing for it): after the stall
    # +0.9 to +1.2 MiB with the fix (3 runs), in the stall -0.3 to 0.0
    assert stalled - before < 1024, (before, stalled, samples)
    assert after - before < (3072 if SANITIZED else 1024), (before, after, samples)


def usage_error(text, name="f.lua"):
    """The stderr of `surge run` on a scenario it refuses (exit 2), the file's directory cut."""
    path = scenario(text, name=name)
    p = surge("run", "--host", "http://127.0.0.1:9", path, check_rc=2)
    assert "Traceback" not in p.stderr and "core dumped" not in p.stderr
    return p.stderr.strip().replace(os.path.dirname(path) + "/", "")


def test_misspelt_keys_and_contradictions_in_classes_are_errors():
    task = "tasks = { function(u) u:get('/') end }"
    cases = [
        (f"users = {{ Shop = {{ wiat = 5, {task} }} }}",
         "f.lua: user class 'Shop': unknown key 'wiat' (did you mean 'wait'?)"),
        (f"users = {{ Shop = {{ on_strat = function(u) end, {task} }} }}",
         "f.lua: user class 'Shop': unknown key 'on_strat' (did you mean 'on_start'?)"),
        (f"users = {{ Shop = {{ {task}, flow = {{ function(u) end }} }} }}",
         "f.lua: user class 'Shop': both tasks and flow"),
        (f"users = {{ Shop = {{ {task} }} }}\n{task}\n",
         "f.lua: both users and a file-level tasks"),
        (f"users = {{ Shop = {{ {task} }} }}\nwait = 1\n", "f.lua: both users and a file-level wait"),
        (f"{task}\nflow = {{ function(u) end }}\n", "f.lua: user class 'user': both tasks and flow"),
        # the one-class form: the key is a global of the file
        (f"wiat = 5\n{task}\n", "f.lua: global 'wiat' is not a scenario key: did you mean 'wait'?"),
        (f"on_strat = function(u) end\n{task}\n", "did you mean 'on_start'?"),
        ("tasks = { { wieght = 5, run = function(u) end } }\n",
         "f.lua: user class 'user': task 1: unknown key 'wieght' (did you mean 'weight'?)"),
    ]
    for text, expect in cases:
        line = usage_error(text)
        assert expect in line and "\n" not in line, (text, line)
    # a helper of the file's own, far from any key, is its business
    path = scenario(f"local function wait_for(u) end\nhelper = 1\n{task}\n")
    with Serve() as s:
        run_json("-d", "300ms", "-c", "1", "--host", s.url(""), path)


def test_bad_option_values_are_one_line_naming_the_file_and_key():
    task = "tasks = { function(u) u:get('/') end }"
    cases = [
        ("rate = 0", "surge run: f.lua: options.rate: must be above 0"),
        ("users = 'many'", "surge run: f.lua: options.users: 'many' is not a whole number"),
        ("duration = 'soon'", "surge run: f.lua: options.duration: 'soon' is not a duration"),
        ("stages = '1s:x'", "surge run: f.lua: options.stages: stage 1"),
        ("thresholds = { 'p95<' }", "surge run: f.lua: options.thresholds: threshold 'p95<'"),
        ("spawn_rate = 2", "surge run: f.lua: options.spawn_rate needs options.users"),
        ("users = 2, rate = 5", "surge run: f.lua: options.users is for the closed model"),
        ("script_memory = '1k'", "surge run: f.lua: options.script_memory: '1k' is not from"),
    ]
    for option, expect in cases:
        line = usage_error(f"options = {{ {option} }}\n{task}\n")
        assert line.startswith(expect) and "\n" not in line and "--" not in line, (option, line)
    # the command line's own mistakes are still the command line's
    path = scenario(f"options = {{ rate = 5 }}\n{task}\n")
    p = surge("run", "-R", "0", "--host", "http://127.0.0.1:9", path, check_rc=2)
    assert p.stderr.startswith("surge run: --rate: must be above 0"), p.stderr


def test_bad_arguments_to_the_api_name_the_call_and_line():
    for text, expect in (
        ("wait = between(3, 1)\n", "f.lua:1: between(3, 1): the lower bound is above the upper one"),
        ("wait = between(-1, -1)\n", "f.lua:1: between(-1, -1): seconds must be a number >= 0"),
        ("wait = constant(-2)\n", "f.lua:1: constant(-2): seconds must be a number >= 0"),
        ("wait = pacing('1s')\n", "f.lua:1: pacing(1s): seconds must be a number >= 0"),
    ):
        line = usage_error(text + "tasks = { function(u) u:get('/') end }\n")
        assert expect in line, (text, line)
    # each iteration picks one task at random: enough users and time that every task is
    # picked even on a busy host (one user for 500 ms ran a dozen iterations there)
    path = scenario("""
        options = { users = 4, duration = "2s" }
        wait = constant(0.01)
        tasks = {
          function(u) u:get("/health", { timeout = -1 }) end,
          function(u) u:post("/health", { timeout = "2s" }) end,
          function(u) u:request("GET", "/health", { timeout = 0 }) end,
          function(u) u:get("/health", { tiemout = 1 }) end,
          task(4, function(u) u:get("/health", { timeout = 1, name = "fine" }) end),
        }
    """, name="api.lua")
    with Serve() as s:
        _, doc = run_json("--host", s.url(""), path, check_rc=None)
    messages = " ".join(e["message"] for e in doc["script_errors"])
    for expect in ("api.lua:5: u:get: timeout must be a number of seconds above 0, got -1",
                   "api.lua:6: u:post: timeout must be a number of seconds above 0, got 2s",
                   "api.lua:7: u:request: timeout must be a number of seconds above 0, got 0",
                   "api.lua:8: u:get: unknown request option 'tiemout' (did you mean 'timeout'?)"):
        assert expect in messages, (expect, messages)
    assert endpoint(doc, "GET", "fine")["requests"] > 0


def test_a_scenario_that_measured_nothing_is_not_a_pass():
    with Serve() as s:
        for options in ('users = 2, duration = "500ms"', 'rate = 20, duration = "500ms"'):
            path = scenario(f"""
                options = {{ {options} }}
                tasks = {{ function(u) error("boom") end }}
            """)
            with favoured():  # its users must get to run (and fail) within the 500 ms
                p, doc = run_json("--host", s.url(""), path, check_rc=5)
            assert doc["totals"]["requests"] == 0 and doc["script_errors"], doc["totals"]
            assert "nan" not in p.stdout + p.stderr, p.stdout
            assert "nothing was measured" in p.stderr and "script error" in p.stderr, p.stderr
        # stopped by the end of the run before its first request: nothing measured either
        path = scenario(f"""
            options = {{ users = 1, duration = "300ms" }}
            tasks = {{ function(u) {RUNAWAY} u:get("/health") end }}
        """)
        run_json("--host", s.url(""), path, check_rc=5)


def test_a_directory_is_not_a_scenario():
    d = os.path.join(tempfile.mkdtemp(prefix="surge-scenario-"), "d.lua")
    os.mkdir(d)
    p = surge("run", "--host", "http://127.0.0.1:9", d, check_rc=2)
    assert p.stderr.strip() == f"surge run: {d}: is a directory, not a scenario file", p.stderr


if __name__ == "__main__":
    main([
        test_every_api_call_against_surge_serve,
        test_request_bytes_are_what_the_script_asked,
        test_task_and_class_weights,
        test_think_time_is_respected,
        test_script_errors_and_runaway_loops_do_not_stop_the_run,
        test_broken_files_exit_2_with_file_and_line,
        test_open_model_runs_one_iteration_per_arrival,
        test_ramp_down_runs_on_stop_and_command_line_overrides_options,
        test_expected_statuses_and_ending_an_iteration_early,
        test_json_arrays_round_trip_and_bad_values_are_errors,
        test_the_end_of_the_run_runs_on_stop,
        test_a_command_line_shape_replaces_the_files,
        test_ten_thousand_idle_users_cost_kilobytes_each,
        test_a_runaway_task_stops_with_the_duration_and_the_signals,
        test_the_lua_heap_is_bounded,
        test_paths_used_once_do_not_grow_the_generator,
        test_a_stalled_target_takes_no_memory_from_the_generator,
        test_misspelt_keys_and_contradictions_in_classes_are_errors,
        test_bad_option_values_are_one_line_naming_the_file_and_key,
        test_bad_arguments_to_the_api_name_the_call_and_line,
        test_a_scenario_that_measured_nothing_is_not_a_pass,
        test_a_directory_is_not_a_scenario,
    ])
