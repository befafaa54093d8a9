-- seed003.lua: VCPMLUser, the "normal load" class of seed 003 (an ML prediction API), on
-- `surge serve`. A prediction is CPU work, so it maps onto /api/cpu, which burns exactly the
-- asked milliseconds of CPU on the server:
--
--   single prediction  70 %   GET /api/cpu?ms=4         one model evaluation (4 ms of CPU)
--   batch prediction   30 %   GET /api/cpu?ms=4*n       n = 3..8 evaluations in one call
--   health check       10 %   GET /health
--
-- (the seed's shares add up to 110 %, so they are used as weights 70:30:10), with the seed's
-- "realistic wait times" of 1-3 s and its targets: p95 < 200 ms, under 5 % errors.
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/seed003.lua                        (10 users over 5 s, 20 s)
--       surge run --users 500 --spawn-rate 1.7 -d 10m scenarios/seed003.lua
--                                                   (the seed's plan: 500 users over 300 s)
-- The other two classes of the seed are seed003-spike.lua and seed003-stress.lua.

options = {
	host = "http://127.0.0.1:8080",
	users = 10,
	spawn_rate = 2,
	duration = "20s",
	thresholds = { "p95<200ms", "error_rate<5%" },
}

local PREDICTION_MS = 4

users = {
	VCPMLUser = {
		wait = between(1, 3),
		tasks = {
			predict = task(70, function(u)
				local r = u:get("/api/cpu?ms=" .. PREDICTION_MS, { name = "predict" })
				u:check(r.status == 200 and r:json().cpu_ms >= PREDICTION_MS * 0.9,
					"prediction made")
			end),
			batch = task(30, function(u)
				local n = surge.random(3, 8)
				local ms = n * PREDICTION_MS
				local r = u:get("/api/cpu", { query = { ms = ms }, name = "batch predict" })
				u:check(r.status == 200 and r:json().cpu_ms >= ms * 0.9, "batch made")
				surge.trend("batch_size"):add(n)
			end),
			health = task(10, function(u)
				local r = u:get("/health")
				u:check(r.status == 200, "healthy")
			end),
		},
	},
}
