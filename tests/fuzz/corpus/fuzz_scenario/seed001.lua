-- seed001.lua: the three Locust user classes of seed 001 (a FastAPI "scaling system": user
-- CRUD behind a cache, health checks, admin bulk jobs), pointed at `surge serve`.
--
--   ScalingSystemUser  weight 3, waits 1-3 s    user CRUD with correlation (create -> read
--                                                back by the returned id -> update -> delete),
--                                                health probes, cached reads
--   HighVolumeUser     weight 2, waits 0.1-0.5 s rapid reads of one hot user (cache hits) and
--                                                of the newest users
--   AdminUser          weight 1, waits 1-3 s    bulk create -> bulk read back -> delete;
--                                                monitoring (/metrics, /api/memory)
--
-- Run:  surge serve --listen 127.0.0.1:8080 &
--       surge run scenarios/seed001.lua                                  (6 users, 20 s)
--       surge run --users 50 --spawn-rate 5 -d 5m scenarios/seed001.lua (load_test.sh stress)
-- The seed's gateway and app1..app3 health checks are surge serve's probes; it has one
-- process, so "load balancer distribution" has nothing to measure here.

options = {
	host = "http://127.0.0.1:8080",
	users = 6, -- 3 + 2 + 1: every class gets its share
	spawn_rate = 3,
	duration = "20s",
	thresholds = { "p95<200ms", "error_rate<1%" }, -- the seed's basic targets
}

-- A unique enough e-mail for user `u`'s n-th record.
local function email(u, tag)
	return string.format("%s-%d-%d@example.com", tag, u.id, u.iteration)
end

-- POST /api/users; the new user's id, or nil (the failed check says why).
local function create_user(u, tag)
	local r = u:post("/api/users", {
		json = { name = tag .. " " .. u.id, email = email(u, tag) },
		name = "/api/users [create]",
	})
	if u:check(r.status == 201, "user created") then
		return r:json().id
	end
end

local function read_user(u, id)
	local r = u:get("/api/users/" .. id, { name = "/api/users/{id}" })
	u:check(r.status == 200 and r:json().id == id, "user read back")
	-- the cache says whether it answered: count hits and misses to see the hit ratio
	surge.counter(r.headers["x-cache"] == "HIT" and "cache_hit" or "cache_miss"):add()
	return r
end

users = {
	ScalingSystemUser = {
		weight = 3,
		wait = between(1, 3),
		-- each user owns one record for its cached reads
		on_start = function(u)
			u.user_id = create_user(u, "scaling")
		end,
		-- when the user leaves: on a ramp-down, or at the end of the run (the graceful stop)
		on_stop = function(u)
			if u.user_id then
				u:delete("/api/users/" .. u.user_id, { name = "/api/users/{id} [delete]" })
			end
		end,
		tasks = {
			-- the whole life of a record: every step uses the id the first one returned
			crud = task(2, function(u)
				local id = create_user(u, "crud")
				if not id then
					return
				end
				read_user(u, id)
				local r = u:put("/api/users/" .. id, {
					json = { name = "renamed " .. u.id },
					name = "/api/users/{id} [update]",
				})
				u:check(r.status == 200 and r:json().name == "renamed " .. u.id, "user updated")
				-- the update invalidated the cache: this read must see the new name
				r = read_user(u, id)
				u:check(r.status == 200 and r:json().name == "renamed " .. u.id,
					"no stale read after update")
				r = u:delete("/api/users/" .. id, { name = "/api/users/{id} [delete]" })
				u:check(r.status == 200, "user deleted")
			end),
			-- the seed's health checks across gateway and app instances
			health = task(2, function(u)
				for _, probe in ipairs({ "/health", "/healthz", "/ready" }) do
					local r = u:get(probe)
					u:check(r.status == 200, "healthy")
				end
			end),
			-- repeat reads of one record: the second onwards should come from the cache
			cached_read = task(3, function(u)
				if not u.user_id then
					u.user_id = create_user(u, "scaling")
					return
				end
				read_user(u, u.user_id)
				read_user(u, u.user_id)
			end),
		},
	},

	HighVolumeUser = {
		weight = 2,
		wait = between(0.1, 0.5),
		on_start = function(u)
			u.user_id = create_user(u, "hot")
		end,
		tasks = {
			hot_read = task(5, function(u)
				if u.user_id then
					read_user(u, u.user_id)
				end
			end),
			newest = task(2, function(u)
				local r = u:get("/api/users?limit=10", { name = "/api/users?limit=" })
				u:check(r.status == 200 and r:json().count <= 10, "list read")
			end),
			health = task(1, function(u)
				u:get("/health")
			end),
		},
	},

	AdminUser = {
		weight = 1,
		wait = between(1, 3),
		tasks = {
			-- bulk create ten users in one transaction, read them back by id, then remove them
			bulk = task(2, function(u)
				local batch = {}
				for i = 1, 10 do
					batch[i] = { name = "bulk " .. i, email = email(u, "bulk" .. i) }
				end
				local r = u:post("/api/users/bulk", { json = batch })
				if not u:check(r.status == 201, "bulk created") then
					return
				end
				local ids = {}
				for i, user in ipairs(r:json().users) do
					ids[i] = user.id
				end
				r = u:get("/api/users", {
					query = { ids = table.concat(ids, ",") },
					name = "/api/users?ids=",
				})
				u:check(r.status == 200 and r:json().count == #ids, "bulk read back")
				for _, id in ipairs(ids) do
					u:delete("/api/users/" .. id, { name = "/api/users/{id} [delete]" })
				end
			end),
			-- system monitoring
			monitor = task(1, function(u)
				local r = u:get("/metrics")
				u:check(r.status == 200 and r.body:find("http_requests_total", 1, true) ~= nil,
					"metrics exported")
				r = u:get("/api/memory")
				u:check(r.status == 200 and r:json().leaked_bytes ~= nil, "memory reported")
			end),
		},
	},
}
