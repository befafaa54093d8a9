-- db-pool.lua: the database family of `surge serve` (SQLite by default, PostgreSQL with
-- --database-url) and its connection pool: 10 connections (--db-pool), each request waiting
-- at most 5 s (--db-timeout) for one before it gets a 503.
--
--   Holder (weight 1)  holds 2 of the pool's connections for 0.3 s at a time, as a slow
--                      report query would
--   Worker (weight 3)  task CRUD (create -> read back by id -> delete), listing, and an
--                      expensive query
--
-- The server says how long each request waited for a connection (Server-Timing db-wait),
-- recorded here as the trend db_wait_ms. At the defaults the pool always has room; raise
-- the users (surge run --users 40 ...) and the waits grow; let the server wait less
-- (surge serve --db-timeout 100ms) and the pool runs out: 503s, the failure the seeds'
-- pool-exhaustion tests look for.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/db-pool.lua                  (4 users, 15 s)

options = {
	host = "http://127.0.0.1:8080",
	users = 4,
	duration = "15s",
	thresholds = { "error_rate<1%" },
}

local function db_wait_ms(r)
	return tonumber((r.headers["server-timing"] or ""):match("db%-wait;dur=([%d%.]+)"))
end

local function record_wait(r)
	local ms = db_wait_ms(r)
	if ms then
		surge.trend("db_wait_ms"):add(ms)
	end
end

users = {
	Holder = {
		weight = 1,
		wait = between(0.5, 1),
		tasks = {
			function(u)
				local r = u:get("/api/db-pool-exhaust?concurrent_queries=2&duration=0.3",
					{ name = "/api/db-pool-exhaust" })
				if u:check(r.status == 200, "connections held") then
					local doc = r:json()
					u:check(doc.held == 2 and doc.timed_out == 0, "pool had room")
				end
			end,
		},
	},

	Worker = {
		weight = 3,
		wait = between(0.1, 0.3),
		tasks = {
			crud = task(3, function(u)
				local r = u:post("/api/tasks", {
					json = { title = "task of user " .. u.id, priority = surge.random(1, 5) },
					name = "/api/tasks [create]",
				})
				record_wait(r)
				if not u:check(r.status == 201, "task created") then
					return
				end
				local id = r:json().id
				r = u:get("/api/tasks/" .. id, { name = "/api/tasks/{id}" })
				u:check(r.status == 200 and r:json().id == id, "task read back")
				r = u:delete("/api/tasks/" .. id, { name = "/api/tasks/{id} [delete]" })
				u:check(r.status == 200, "task deleted")
			end),
			list = task(2, function(u)
				local r = u:get("/api/tasks?limit=20", { name = "/api/tasks?limit=" })
				record_wait(r)
				u:check(r.status == 200 and r:json().count <= 20, "tasks listed")
			end),
			-- real work in the database: a recursive CTE joined with itself
			expensive = task(1, function(u)
				local r = u:get("/api/expensive-query?iterations=300",
					{ name = "/api/expensive-query" })
				record_wait(r)
				u:check(r.status == 200 and r:json().iterations == 300, "query ran")
			end),
		},
	},
}
