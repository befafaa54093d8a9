-- downstream.lua: the downstream family of `surge serve`: an API that calls another service
-- and passes its slowness and failures on. With no --downstream-url, surge serve is its own
-- downstream (/downstream/... in the same process), so this needs nothing else running;
-- start a second `surge serve --role downstream` and pass --downstream-url to split them.
--
--   /api/call-downstream   one call with a timeout            (502 on failure, 504 past it)
--   /api/cascade-failure   3 calls in sequence, then 3 in parallel: the cascade
--   /api/no-timeout        one call with no timeout of its own: waits as long as it takes
--
-- Every call here succeeds (failure_rate=0), so the run passes clean. To watch a cascade
-- fail, raise the downstream's failure rate: FAILURE_RATE=0.1 surge run ... (then 502s
-- are expected, and counted as errors).
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/downstream.lua               (4 users, 15 s)

options = {
	host = "http://127.0.0.1:8080",
	users = 4,
	duration = "15s",
	thresholds = { "p95<500ms" },
}

wait = between(0.1, 0.5)

local failure_rate = tonumber(os.getenv("FAILURE_RATE") or "0")

-- Server-Timing "downstream;dur=50.2": the time the server spent waiting on its downstream
local function downstream_ms(r)
	return tonumber((r.headers["server-timing"] or ""):match("downstream;dur=([%d%.]+)")) or 0
end

-- every call the server made, as its JSON lists them, answered 200
local function all_ok(calls)
	for _, c in ipairs(calls) do
		if c.status ~= 200 then
			return false
		end
	end
	return #calls > 0
end

tasks = {
	call = task(3, function(u)
		local r = u:get("/api/call-downstream?endpoint=slow&delay=0.05&timeout=2",
			{ name = "/api/call-downstream" })
		if u:check(r.status == 200, "downstream call ok") then
			local doc = r:json()
			-- the downstream's own answer, passed through as a string of JSON
			u:check(surge.json.decode(doc.downstream_body).endpoint == "slow", "downstream answered")
			surge.trend("downstream_ms"):add(downstream_ms(r))
		end
	end),
	cascade = task(2, function(u)
		local r = u:get("/api/cascade-failure", {
			query = { sequential = 3, parallel = 3, failure_rate = failure_rate },
			name = "/api/cascade-failure",
		})
		if u:check(r.status == 200, "cascade ok") then
			u:check(#r:json().calls == 6 and all_ok(r:json().calls), "six calls answered")
		else
			surge.counter("cascade_failed"):add() -- r:json().failed_call names the call
		end
	end),
	no_timeout = task(1, function(u)
		local r = u:get("/api/no-timeout?endpoint=slow&delay=0.1", { name = "/api/no-timeout" })
		u:check(r.status == 200 and r.time_ms >= 95, "waited for the downstream")
	end),
}
