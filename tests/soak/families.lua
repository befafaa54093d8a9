-- families.lua: every endpoint family of surge serve, over and over, with think time
-- (FAMILIES_WAIT seconds, default 0.01 to 0.05). Used by the soak test (tests/soak/run, a
-- long run that must stay flat) and by the allocation-failure test (tests/allocfail/run,
-- the server driven while its allocations fail). Errors are part of it: /api/status/503 and
-- a downstream that fails 30 % of its calls.
local think = tonumber(os.getenv("FAMILIES_WAIT") or "") or 0.03
wait = between(think / 3, think * 5 / 3)

options = {
	users = 6,
	duration = "4s",
}

tasks = {
	info = task(1, function(u)
		u:get("/", { name = "/" })
		u:get("/health", { name = "/health" })
		u:get("/ready", { name = "/ready" })
		u:get("/metrics", { name = "/metrics" })
	end),
	docs = task(1, function(u)
		u:get("/openapi.json", { name = "/openapi.json" })
		u:get("/apidocs", { name = "/apidocs" })
	end),
	cpu = task(2, function(u)
		u:get("/api/cpu?ms=2", { name = "/api/cpu" })
		u:get("/api/hash?iterations=200", { name = "/api/hash" })
		u:get("/api/json-processing?size=50", { name = "/api/json-processing" })
		u:get("/api/cpu-intensive?complexity=15", { name = "/api/cpu-intensive" })
	end),
	io = task(2, function(u)
		u:get("/api/slow?delay=0.02", { name = "/api/slow" })
		u:get("/api/random-delay?min=0.01&max=0.03", { name = "/api/random-delay" })
		u:get("/api/parallel-io?count=3&delay=0.01", { name = "/api/parallel-io" })
	end),
	network = task(2, function(u)
		u:get("/api/bytes?size=2048", { name = "/api/bytes" })
		u:get("/api/drip?size=256&duration=0.05", { name = "/api/drip" })
		u:post("/api/upload", { body = string.rep("x", 4096), name = "/api/upload" })
	end),
	disk = task(1, function(u)
		u:get("/api/disk-write?size_mb=1&fsync=0", { name = "/api/disk-write" })
		u:get("/api/disk-read?size_mb=1", { name = "/api/disk-read" })
	end),
	errors = task(1, function(u)
		u:get("/api/status/503", { name = "/api/status/{code}" })
		u:get("/api/nothing-here", { name = "404" })
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
		u:get("/api/db-pool-exhaust?concurrent_queries=2&duration=0.02", { name = "/api/db-pool-exhaust" })
	end),
	downstream = task(2, function(u)
		u:get("/api/call-downstream?endpoint=slow&delay=0.01&timeout=2", { name = "/api/call-downstream" })
		u:get("/api/cascade-failure?sequential=1&parallel=2&failure_rate=0.3", { name = "/api/cascade-failure" })
	end),
	memory = task(1, function(u)
		u:get("/api/memory-spike?size_mb=1&duration=0.05", { name = "/api/memory-spike" })
		u:get("/api/memory", { name = "/api/memory" })
	end),
	chaos = task(1, function(u)
		u:get("/admin/chaos", { name = "/admin/chaos" })
	end),
}
