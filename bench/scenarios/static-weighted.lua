-- The scripted flow bench/scenario-vs-url.sh measures: three weighted tasks of static
-- requests and no think time, so its cost beside `surge run URL` is the cost of Lua.
tasks = {
	task(5, function(u) u:get("/") end),
	task(3, function(u) u:get("/items", { name = "items" }) end),
	task(2, function(u)
		local r = u:get("/health")
		u:check(r.status == 200, "health ok")
	end),
}
