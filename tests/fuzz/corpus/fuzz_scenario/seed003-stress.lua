-- seed003-stress.lua: StressTestUser of seed 003: sustained high load. The same prediction
-- mix as seed003.lua (single 70, batch 30, health 10) with short waits: 15 users ramped up
-- over 5 s, then held for 15 s, so queues and pools settle into their steady state.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/seed003-stress.lua
--       surge run --stages 100s:1000,30m:1000 scenarios/seed003-stress.lua
--                          (the seed's size: 1000 users at 10/s, held for half an hour)
-- Add --scrape http://127.0.0.1:8080/metrics to see the server's CPU and the replicas the
-- load would need.

options = {
	host = "http://127.0.0.1:8080",
	stages = "5s:15,15s:15",
	thresholds = { "p95<200ms", "error_rate<5%" },
}

local PREDICTION_MS = 4

users = {
	StressTestUser = {
		wait = between(0.3, 0.8),
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
