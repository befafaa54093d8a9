-- cpu.lua: the CPU family of `surge serve`. Each endpoint does a known amount of real work,
-- and its Server-Timing header says how much CPU it paid; the scenario records that as a
-- custom trend beside the latency it measured, so queueing shows as the gap between them.
-- Also shows prepared requests: built once at load, sent as they are by every user.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/cpu.lua                      (4 users, 15 s)
--       surge run --users 40 -d 1m scenarios/cpu.lua   (enough to queue on a small server)

options = {
	host = "http://127.0.0.1:8080",
	users = 4,
	duration = "15s",
	thresholds = { "p95<250ms" },
}

wait = between(0.05, 0.2)

-- "cpu;dur=10.004, app;dur=10.1" -> 10.004
local function server_cpu_ms(r)
	local timing = r.headers["server-timing"] or ""
	return tonumber(timing:match("cpu;dur=([%d%.]+)"))
end

-- prepared once: the bytes of these requests never change
local fib = surge.request("GET", "/api/cpu-intensive?complexity=20", { name = "fibonacci(20)" })
local hash = surge.request("GET", "/api/hash?iterations=2000", { name = "sha256 x2000" })

tasks = {
	-- exactly 10 ms of this server thread's CPU
	burn = task(4, function(u)
		local r = u:get("/api/cpu?ms=10", { name = "burn 10ms" })
		if u:check(r.status == 200, "burn ok") then
			local cpu = server_cpu_ms(r)
			u:check(cpu and cpu >= 9.5, "server paid 10 ms of CPU")
			surge.trend("server_cpu_ms"):add(cpu or 0)
			surge.trend("queue_ms"):add(r.time_ms - (cpu or 0)) -- waiting, not working
		end
	end),
	fibonacci = task(2, function(u)
		local r = u:send(fib)
		u:check(r.status == 200 and r:json().fibonacci == 6765, "fibonacci(20) = 6765")
	end),
	hash = task(2, function(u)
		local r = u:send(hash)
		u:check(r.status == 200 and #r:json().sha256 == 64, "sha256 digest")
	end),
	-- build and serialize a document of `size` records
	json = task(1, function(u)
		local size = surge.pick({ 10, 100, 500 })
		local r = u:get("/api/json-processing", { query = { size = size }, name = "json-processing" })
		-- (read with a pattern: the body's 64-bit checksum is beyond what r:json() decodes)
		local records = tonumber(r.body:match('"records":(%d+)'))
		u:check(r.status == 200 and records == size, "records built")
	end),
}
