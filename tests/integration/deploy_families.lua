-- deploy_families.lua: one request of every endpoint family of surge serve, over and over,
-- so that every panel of deploy/grafana/surge-dashboard.json has data
-- (tests/integration/test_deploy_dashboard.py). Errors are part of it: /api/status/503 and a
-- downstream that fails 30 % of its calls feed the error panels.
options = {
	users = 6,
	duration = "4s",
}

wait = between(0.01, 0.05)

tasks = {
	cpu = task(2, function(u)
		u:get("/api/cpu?ms=2", { name = "/api/cpu" })
		u:get("/api/hash?iterations=500", { name = "/api/hash" })
	end),
	io = task(2, function(u)
		u:get("/api/slow?delay=0.02", { name = "/api/slow" })
		u:get("/api/bytes?size=2048", { name = "/api/bytes" })
	end),
	errors = task(1, function(u)
		u:get("/api/status/503", { name = "/api/status/{code}" })
	end),
	cache = task(2, function(u)
		local r = u:post("/api/users", {
			json = { name = "user " .. u.id, email = string.format("u%d-%d@example.com", u.id, u.iteration) },
			name = "/api/users [create]",
		})
		if r.status == 201 then
			local id = r:json().id
			u:get("/api/users/" .. id, { name = "/api/users/{id}" }) -- a miss, then a hit
			u:get("/api/users/" .. id, { name = "/api/users/{id}" })
		end
	end),
	database = task(2, function(u)
		u:post("/api/tasks", { json = { title = "task " .. u.id, priority = 1 }, name = "/api/tasks [create]" })
		u:get("/api/tasks?limit=5", { name = "/api/tasks" })
		u:get("/api/db-pool-exhaust?concurrent_queries=2&duration=0.05", { name = "/api/db-pool-exhaust" })
	end),
	downstream = task(2, function(u)
		u:get("/api/call-downstream?endpoint=slow&delay=0.01&timeout=2", { name = "/api/call-downstream" })
		u:get("/api/cascade-failure?sequential=1&parallel=2&failure_rate=0.3", { name = "/api/cascade-failure" })
	end),
	memory = task(1, function(u)
		u:get("/api/memory-spike?size_mb=1&duration=0.1", { name = "/api/memory-spike" })
	end),
}
