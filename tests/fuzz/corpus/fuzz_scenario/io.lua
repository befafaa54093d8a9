-- io.lua: the I/O family of `surge serve`: responses that wait (on a timer, not a CPU), the
-- way a service waits on a disk or another service. Checks that each answer took at least
-- what was asked, and records the server's overhead beyond the asked wait as a trend.
-- /api/blocking sleeps *in the worker thread*, stalling its other connections too: kept
-- rare and short here; raise its weight to watch every endpoint's latency follow it.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/io.lua                       (5 users, 15 s)
--       surge run --users 500 -d 1m scenarios/io.lua    (waits cost the server no thread)

options = {
	host = "http://127.0.0.1:8080",
	users = 5,
	duration = "15s",
	thresholds = { "p99<1s" },
}

wait = between(0.1, 0.3)

-- The answer came, and no sooner than `seconds`.
local function waited(u, r, seconds, what)
	u:check(r.status == 200 and r.time_ms >= seconds * 1000 * 0.95, what)
	surge.trend("overhead_ms"):add(r.time_ms - seconds * 1000)
end

tasks = {
	slow = task(4, function(u)
		local delay = surge.pick({ 0.05, 0.1, 0.2 })
		-- timeout: this one request gives up after 2 s (read_timeout) instead of --timeout
		local r = u:get("/api/slow", { query = { delay = delay }, name = "/api/slow", timeout = 2 })
		waited(u, r, delay, "slow answered after its delay")
	end),
	random_delay = task(2, function(u)
		local r = u:get("/api/random-delay?min=0.02&max=0.2", { name = "/api/random-delay" })
		if u:check(r.status == 200, "random delay answered") then
			surge.trend("random_delay_ms"):add(r:json().delay_s * 1000)
		end
	end),
	-- five waits of 0.5-1.5 x 50 ms at once: as long as the slowest, not their sum
	parallel = task(2, function(u)
		local r = u:get("/api/parallel-io?count=5&delay=0.05", { name = "/api/parallel-io" })
		if u:check(r.status == 200, "parallel io answered") then
			local doc, sum = r:json(), 0
			for _, s in ipairs(doc.operations_s) do
				sum = sum + s
			end
			u:check(#doc.operations_s == 5 and doc.total_s < sum * 0.8, "waits overlapped")
		end
	end),
	blocking = task(1, function(u)
		local r = u:get("/api/blocking?duration=0.005", { name = "/api/blocking" })
		waited(u, r, 0.005, "blocking answered after its sleep")
	end),
}
