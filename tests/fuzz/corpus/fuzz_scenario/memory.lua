-- memory.lua: the memory family of `surge serve`, as a flow: every iteration allocates and
-- gives back, so the server's memory goes up and down but never grows run over run.
--
--   1. spike  8 MB, touched page by page, held 0.2 s, then given back
--   2. leak   2 MB, kept until cleared (RSS grows by that much)
--   3. read   leaked and spiking bytes now
--   4. clear  every leak: RSS falls again
--
-- Leaks are server-wide, so one user's clear also frees the others': the peak is about
-- users x (8 + 2) MB, and surge serve refuses (507) past --memory-cap (1 GiB by default).
-- A run that ends between 2 and 4 leaves at most users x 2 MB: POST /api/clear-memory.
-- Watch it: curl -s 127.0.0.1:8080/metrics | grep -E 'resident|leaked|spike'
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/memory.lua                   (3 users, 15 s)

options = {
	host = "http://127.0.0.1:8080",
	users = 3,
	duration = "15s",
}

wait = between(0.2, 0.5)

local MB = 1024 * 1024

flow = {
	function(u)
		local r = u:get("/api/memory-spike?size_mb=8&duration=0.2", { name = "/api/memory-spike" })
		u:check(r.status == 200 and r:json().allocated_bytes == 8 * MB, "spike allocated")
	end,
	function(u)
		local r = u:get("/api/memory-leak?size_mb=2", { name = "/api/memory-leak" })
		u:check(r.status == 200 and r:json().allocated_bytes == 2 * MB, "leak allocated")
	end,
	function(u)
		local r = u:get("/api/memory")
		if u:check(r.status == 200, "memory read") then
			surge.trend("leaked_mb"):add(r:json().leaked_bytes / MB)
		end
	end,
	function(u)
		local r = u:post("/api/clear-memory")
		if u:check(r.status == 200, "memory cleared") then
			surge.counter("freed_mb"):add(r:json().freed_bytes / MB)
		end
	end,
}
