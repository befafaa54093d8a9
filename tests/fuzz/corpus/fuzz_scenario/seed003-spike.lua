-- seed003-spike.lua: SpikeTestUser of seed 003: a sudden traffic surge and the recovery.
-- The same prediction mix as seed003.lua (single 70, batch 30, health 10) with short waits,
-- under a spike shape: 2 users for 5 s (the baseline), 20 at once for 10 s, 2 again for 5 s.
-- Compare the latency in the timeline (or the HTML report) during and after the spike with
-- the baseline: does the target absorb the burst, and does it recover?
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/seed003-spike.lua
--       surge run --stages 0s:10,30s:10,0s:1000,4m:1000,0s:10,30s:10 scenarios/seed003-spike.lua
--                                             (the seed's size: 1000 users)
--       surge run --html spike.html scenarios/seed003-spike.lua  (the timeline as a chart)

options = {
	host = "http://127.0.0.1:8080",
	stages = {
		{ "0s", 2 }, { "5s", 2 },   -- baseline
		{ "0s", 20 }, { "10s", 20 }, -- the spike: a step, held
		{ "0s", 2 }, { "5s", 2 },   -- recovery
	},
	-- the spike is judged by its shape (latency in and after it against the baseline, in
	-- the timeline) more than by one figure over the whole run; errors must stay rare
	thresholds = { "error_rate<5%" },
}

local PREDICTION_MS = 4

users = {
	SpikeTestUser = {
		wait = between(0.2, 1),
		tasks = {
			predict = task(70, function(u)
				local r = u:get("/api/cpu?ms=" .. PREDICTION_MS, { name = "predict" })
				u:check(r.status == 200, "prediction made")
			end),
			batch = task(30, function(u)
				local ms = surge.random(3, 8) * PREDICTION_MS
				local r = u:get("/api/cpu", { query = { ms = ms }, name = "batch predict" })
				u:check(r.status == 200, "batch made")
			end),
			health = task(10, function(u)
				u:check(u:get("/health").status == 200, "healthy")
			end),
		},
	},
}
