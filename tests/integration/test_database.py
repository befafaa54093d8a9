"""The database and cache families for real: tasks and users CRUD on SQLite and on a real
PostgreSQL, the read-through cache in-process and in a real Redis, pool exhaustion and its
503, and the db/cache metrics (checked with promtool). Every wait has a bound."""

import json
import re
import subprocess
import threading
import time

from harness import Postgres, Redis, Serve, get_json, http, main, need

TASKS = "/api/tasks"


def metric(srv, name, labels=""):
    """The sum of a metric's samples whose labels contain `labels`."""
    _, _, body = http("GET", srv.url("/metrics"))
    total = 0.0
    for line in body.decode().splitlines():
        m = re.match(r"^([a-zA-Z_:]+)(\{[^}]*\})?\s+(\S+)$", line)
        if m and m.group(1) == name and labels in (m.group(2) or ""):
            total += float(m.group(3))
    return total


def post(srv, path, doc, expect):
    return get_json(srv.url(path), expect=expect, method="POST", body=json.dumps(doc),
                    headers={"Content-Type": "application/json"})[0]


def check_tasks(srv):
    t = post(srv, TASKS, {"title": "write tests", "priority": 2}, 201)
    assert t["title"] == "write tests" and t["priority"] == 2 and t["status"] == "pending", t
    for bad, field in [({}, "title"), ({"title": ""}, "title"), ({"title": "x", "priority": 9},
                       "priority"), ({"title": "x", "status": "nope"}, "status"),
                      ({"title": "x", "colour": 1}, "colour")]:
        err = post(srv, TASKS, bad, 400)
        assert f"'{field}'" in err["error"], (bad, err)
    got, hdrs = get_json(srv.url(f"{TASKS}/{t['id']}"))
    assert got == t and "db;dur=" in hdrs["server-timing"], (got, hdrs)
    post(srv, TASKS, {"title": "second"}, 201)
    listed, _ = get_json(srv.url(f"{TASKS}?limit=1"))
    assert listed["count"] == 1 and listed["tasks"][0]["title"] == "second", listed
    get_json(srv.url(f"{TASKS}/999999"), expect=404)
    get_json(srv.url(f"{TASKS}/abc"), expect=400)
    get_json(srv.url(f"{TASKS}/{t['id']}"), method="DELETE")
    get_json(srv.url(f"{TASKS}/{t['id']}"), expect=404)
    get_json(srv.url(f"{TASKS}/{t['id']}"), expect=404, method="DELETE")


def ratio(srv):
    hits, misses = metric(srv, "surge_cache_hits_total"), metric(srv, "surge_cache_misses_total")
    return hits / (hits + misses)


def check_users(srv, backend):
    u = post(srv, "/api/users", {"name": "ada", "email": "ada@example.com"}, 201)
    err = post(srv, "/api/users", {"name": "ada"}, 400)
    assert "'email'" in err["error"], err
    path = srv.url(f"/api/users/{u['id']}")
    got, h = get_json(path)
    assert got == u and h["x-cache"] == "MISS", (got, h)
    got, h = get_json(path)
    assert got == u and h["x-cache"] == "HIT", (got, h)
    before = ratio(srv)
    for _ in range(5):
        assert get_json(path)[1]["x-cache"] == "HIT"
    rising = ratio(srv)
    assert rising > before, (before, rising)
    assert metric(srv, "surge_cache_hits_total", f'cache_backend="{backend}"') >= 6
    upd, _ = get_json(path, method="PUT", body=json.dumps({"name": "lovelace"}))
    assert upd["name"] == "lovelace" and upd["email"] == "ada@example.com", upd
    got, h = get_json(path)
    assert got["name"] == "lovelace" and h["x-cache"] == "MISS", (got, h)
    assert ratio(srv) < rising, "a write must cost a miss"
    assert get_json(path)[1]["x-cache"] == "HIT"
    get_json(path, method="DELETE")
    get_json(path, expect=404)
    get_json(srv.url("/api/users/999999"), expect=404, method="PUT",
             body=json.dumps({"name": "x"}))
    bulk = post(srv, "/api/users/bulk", [{"name": f"u{i}", "email": f"u{i}@x.io"}
                                         for i in range(20)], 201)
    assert bulk["count"] == 20, bulk
    err = post(srv, "/api/users/bulk", [{"name": "ok", "email": "ok@x"}, {"name": "bad"}], 400)
    assert "item 1" in err["error"] and "'email'" in err["error"], err
    ids = ",".join(str(x["id"]) for x in bulk["users"][:5])
    got, _ = get_json(srv.url(f"/api/users?ids={ids}"))
    assert [x["id"] for x in got["users"]] == [x["id"] for x in bulk["users"][:5]], got
    got, _ = get_json(srv.url("/api/users?limit=3"))
    assert got["count"] == 3 and got["users"][0]["id"] == bulk["users"][-1]["id"], got


def check_expensive(srv):
    got, hdrs = get_json(srv.url("/api/expensive-query?iterations=700"))
    assert got["iterations"] == 700 and got["pairs"] > 0, got
    get_json(srv.url("/api/expensive-query?iterations=abc"), expect=400)


def check_exhaustion(srv):
    """Two connections held for 3 s; a task read waits --db-timeout (1 s) and gets 503, while
    /health on the same (only) worker keeps answering fast."""
    held = {}

    def exhaust():
        held["doc"] = get_json(srv.url("/api/db-pool-exhaust?concurrent_queries=2&duration=3"))[0]

    waits_before = metric(srv, "db_client_connection_wait_time_seconds_sum")
    t = threading.Thread(target=exhaust)
    t.start()
    deadline = time.monotonic() + 5
    while metric(srv, "db_client_connections_usage", 'state="used"') < 2:
        assert time.monotonic() < deadline, "the pool was never held"
        time.sleep(0.05)
    result = {}

    def blocked():
        t0 = time.monotonic()
        result["status"], _, result["body"] = http("GET", srv.url(TASKS))
        result["took"] = time.monotonic() - t0

    b = threading.Thread(target=blocked)
    b.start()
    for _ in range(5):
        t0 = time.monotonic()
        status, _, _ = http("GET", srv.url("/health"))
        assert status == 200 and time.monotonic() - t0 < 0.2, "health stalled"
        time.sleep(0.05)
    assert metric(srv, "db_client_connection_pending_requests") >= 1
    b.join(10)
    assert result["status"] == 503, result
    assert b"pool exhausted" in result["body"] and b"--db-timeout" in result["body"], result
    assert 0.9 < result["took"] < 2.5, result
    assert metric(srv, "db_client_connection_timeouts_total") >= 1
    assert metric(srv, "db_client_connection_wait_time_seconds_sum") > waits_before + 0.9
    t.join(10)
    assert held["doc"]["held"] == 2, held


def check_promtool(srv):
    promtool = need("promtool")
    _, _, body = http("GET", srv.url("/metrics"))
    p = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    text = body.decode()
    for name in ["db_client_connection_max", "db_client_operation_duration_seconds_bucket",
                 "surge_cache_hits_total", "surge_cache_misses_total"]:
        assert name in text, name


def scenario(serve_args, backend, exhaust=False):
    with Serve("--db-pool", "2", "--db-timeout", "1s", *serve_args) as srv:
        check_tasks(srv)
        check_users(srv, backend)
        check_expensive(srv)
        if exhaust:
            check_exhaustion(srv)
        check_promtool(srv)
        rc = srv.stop()
        assert rc == 0, open(srv.log_path).read()[-3000:]  # sanitizer reports land here


def test_sqlite_file_lru():
    scenario([], "lru", exhaust=True)


def test_sqlite_memory_lru():
    scenario(["--sqlite", ":memory:", "--cache-size", "100"], "lru")


def test_sqlite_redis():
    with Redis() as redis:
        scenario(["--redis-url", redis.url()], "redis")


def test_postgres_lru():
    with Postgres() as pg:
        scenario(["--database-url", pg.url("postgresql+asyncpg")], "lru", exhaust=True)


def test_postgres_redis():
    with Postgres() as pg, Redis() as redis:
        scenario(["--database-url", pg.url(), "--redis-url", redis.url()], "redis")


def test_bad_database_url_fails_start():
    port = __import__("harness").free_port()
    p = subprocess.run([__import__("harness").SURGE, "serve", "--listen", f"127.0.0.1:{port}",
                        "--database-url", "mysql://x"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0 and "database-url" in (p.stderr + p.stdout), p


if __name__ == "__main__":
    main([test_sqlite_file_lru, test_sqlite_memory_lru, test_sqlite_redis, test_postgres_lru,
          test_postgres_redis, test_bad_database_url_fails_start])
