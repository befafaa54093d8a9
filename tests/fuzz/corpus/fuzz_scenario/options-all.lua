options = { host = "http://127.0.0.1:8080", users = 10, spawn_rate = 2, duration = "30s",
            thresholds = { "p95<200ms", "error_rate<1%" }, timeout = 2, threads = 2,
            graceful_stop = "1s", script_memory = "64MiB" }
tasks = { function(u) u:get("/health") end }
